// The C API of include/pollux/harness.h: argument checks, a private EAL when none runs,
// and the socket API attached to the harness's shard.
//
// Contract: every call on the thread that created the harness (the socket API's owner);
// one harness at a time, never alongside px_init's runtime (api_context() has one shard).
#include "pollux/harness.h"

#include <pthread.h>
#include <sched.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "buf/packet_queue.hpp"
#include "runtime/api_context.hpp"
#include "runtime/harness.hpp"

struct px_harness {
    std::unique_ptr<pollux::runtime::Harness> impl;
};

namespace pollux::runtime {
namespace {

constexpr std::uint32_t default_mbufs = 8191;
constexpr std::uint32_t min_mbufs = 63;
constexpr std::uint16_t default_mtu = 1500;
constexpr std::uint16_t min_mtu = 576;   // as px_init's --mtu
constexpr std::uint16_t max_mtu = 9216;

// rte_config's lcore count is zero until rte_eal_init has run (it is set while the EAL
// detects the CPUs), which tells a harness whether the program or a test main already
// started DPDK.
bool eal_running() noexcept { return rte_lcore_count() > 0; }

// Starts an EAL that touches nothing outside the process: no hugepages, no PCI device, no
// shared runtime files (so parallel processes do not meet), no telemetry socket, logs
// only for errors. rte_eal_init pins the calling thread to its main lcore's CPU; the
// program did not ask for that, so its affinity is put back afterwards. 0 or -EIO.
int start_private_eal() noexcept {
    cpu_set_t affinity;
    CPU_ZERO(&affinity);
    const bool have_affinity = pthread_getaffinity_np(pthread_self(), sizeof affinity, &affinity) == 0;
    int cpu = 0;
    if (have_affinity) {
        while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &affinity)) ++cpu;
        if (cpu == CPU_SETSIZE) cpu = 0;
    }
    std::vector<std::string> args = {"pollux-harness", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
                                      "-m", "128", "--log-level=lib.*:error", "--lcores=0@" + std::to_string(cpu)};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int r = rte_eal_init(static_cast<int>(args.size()), argv.data());
    if (have_affinity) pthread_setaffinity_np(pthread_self(), sizeof affinity, &affinity);
    if (r < 0) {
        std::fprintf(stderr, "pollux: px_harness_create: DPDK EAL initialisation failed (%s)\n",
                     rte_strerror(rte_errno));
        return -EIO;
    }
    return 0;
}

// Reads the public config into a HarnessConfig; 0 or -EINVAL.
int read_config(const px_harness_config& in, HarnessConfig& out) noexcept {
    if (in.address == nullptr) return -EINVAL;
    const auto cidr = wire::Ipv4Cidr::parse(in.address);
    if (!cidr || cidr->prefix_len() == 0) return -EINVAL;
    const wire::Ipv4Address a = cidr->address();
    if (a.is_unspecified() || a.is_multicast() || a.is_loopback() || a.is_broadcast()) return -EINVAL;
    out.address = *cidr;
    if (in.gateway != nullptr) {
        out.gateway = wire::Ipv4Address::parse(in.gateway);
        if (!out.gateway || out.gateway->is_unspecified()) return -EINVAL;
    }
    const wire::MacAddress mac = wire::MacAddress::from_bytes(in.mac);
    const wire::MacAddress peer = wire::MacAddress::from_bytes(in.peer_mac);
    if (!mac.is_zero()) out.mac = mac;
    if (!peer.is_zero()) out.peer_mac = peer;
    if (out.mac.is_multicast() || out.peer_mac.is_multicast() || out.mac == out.peer_mac) return -EINVAL;
    out.mtu = in.mtu == 0 ? default_mtu : in.mtu;
    if (out.mtu < min_mtu || out.mtu > max_mtu) return -EINVAL;
    out.mbufs = in.mbufs == 0 ? default_mbufs : in.mbufs;
    if (out.mbufs < min_mbufs) return -EINVAL;
    if (in.start_ns > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return -EINVAL;
    out.start = time::Instant::from_ns(static_cast<std::int64_t>(in.start_ns));
    out.seed = in.seed;
    return 0;
}

template <typename T>
T fail(int err, T value) noexcept {
    errno = err;
    return value;
}

}  // namespace
}  // namespace pollux::runtime

using namespace pollux;
using namespace pollux::runtime;

extern "C" struct px_harness* px_harness_create(const struct px_harness_config* config) {
    if (config == nullptr) return fail<px_harness*>(EINVAL, nullptr);
    HarnessConfig hc;
    if (const int e = read_config(*config, hc); e != 0) return fail<px_harness*>(-e, nullptr);
    if (api_context().shard != nullptr) return fail<px_harness*>(EBUSY, nullptr);
    if (!eal_running()) {
        if (const int e = start_private_eal(); e != 0) return fail<px_harness*>(-e, nullptr);
    }
    try {
        buf::PacketQueue::register_link_field();  // as px_init does, before any socket queue
        auto h = std::make_unique<px_harness>();
        h->impl = std::make_unique<Harness>(hc);
        attach_api(h->impl->shard(), true);
        return h.release();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pollux: px_harness_create: %s\n", e.what());
        return fail<px_harness*>(ENOMEM, nullptr);
    }
}

extern "C" void px_harness_destroy(struct px_harness* h) {
    if (h == nullptr) return;
    if (api_context().shard == &h->impl->shard()) detach_api();  // closes every socket first
    delete h;
}

extern "C" int px_harness_inject(struct px_harness* h, const void* frame, size_t len) {
    if (h == nullptr || frame == nullptr) return fail(EINVAL, -1);
    const int r = h->impl->inject({static_cast<const std::uint8_t*>(frame), len});
    return r < 0 ? fail(-r, -1) : 0;
}

extern "C" ssize_t px_harness_drain(struct px_harness* h, void* buf, size_t cap) {
    if (h == nullptr || (buf == nullptr && cap > 0)) return fail<ssize_t>(EINVAL, -1);
    const long r = h->impl->drain({static_cast<std::uint8_t*>(buf), cap});
    return r < 0 ? fail<ssize_t>(static_cast<int>(-r), -1) : r;
}

extern "C" ssize_t px_harness_pending_len(const struct px_harness* h) {
    if (h == nullptr) return fail<ssize_t>(EINVAL, -1);
    const long r = h->impl->pending_len();
    return r < 0 ? fail<ssize_t>(static_cast<int>(-r), -1) : r;
}

extern "C" int px_harness_inject_ip(struct px_harness* h, const void* datagram, size_t len) {
    if (h == nullptr || datagram == nullptr) return fail(EINVAL, -1);
    const int r = h->impl->inject_ip({static_cast<const std::uint8_t*>(datagram), len});
    return r < 0 ? fail(-r, -1) : 0;
}

extern "C" ssize_t px_harness_drain_ip(struct px_harness* h, void* buf, size_t cap) {
    if (h == nullptr || (buf == nullptr && cap > 0)) return fail<ssize_t>(EINVAL, -1);
    const long r = h->impl->drain_ip({static_cast<std::uint8_t*>(buf), cap});
    return r < 0 ? fail<ssize_t>(static_cast<int>(-r), -1) : r;
}

extern "C" int px_harness_advance(struct px_harness* h, uint64_t ns) {
    if (h == nullptr) return fail(EINVAL, -1);
    const auto room = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() - h->impl->now().ns());
    if (ns > room) return fail(EINVAL, -1);
    h->impl->advance(time::Duration::from_ns(static_cast<std::int64_t>(ns)));
    return 0;
}

extern "C" uint64_t px_harness_now(const struct px_harness* h) {
    return h == nullptr ? 0 : static_cast<std::uint64_t>(h->impl->now().ns());
}

extern "C" uint64_t px_harness_next_event(const struct px_harness* h) {
    if (h == nullptr) return UINT64_MAX;
    const time::Instant t = h->impl->next_event();
    return t == time::Instant::max() ? UINT64_MAX : static_cast<std::uint64_t>(t.ns());
}
