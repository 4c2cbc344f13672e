#include "runtime/harness.hpp"

#include <rte_mbuf.h>
#include <rte_errno.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "wire/arp.hpp"
#include "wire/ethernet.hpp"
#include "wire/ipv4.hpp"

namespace pollux::runtime {

namespace {

// The largest frame either way: an IPv4 datagram of 65535 bytes, an Ethernet header and a
// VLAN tag.
constexpr std::size_t max_frame_len = 65535 + wire::ethernet::header_len + wire::ethernet::vlan_tag_len;

// A timer callback may arm a timer for `now` again (it then fires in the next wheel
// advance): this many rounds at one instant end such a chain instead of spinning forever
// (the clock then jumps to the advance's end, where the chain goes on). No timer of the
// stack does this; the bound is for a bug, not a behaviour.
constexpr int max_rounds_per_instant = 64;

// SplitMix64 (Steele, Lea, Flood 2014): well-spread values from one seed, one per key.
std::uint64_t derive(std::uint64_t seed, std::uint64_t key) noexcept {
    std::uint64_t z = seed + (key + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Every frame of `mtu` (and its Ethernet header and a VLAN tag) fits one mbuf, as on a NIC
// whose rx buffers are sized for its MTU.
rte_mempool* make_pool(std::uint32_t mbufs, std::uint16_t mtu) {
    static std::atomic<unsigned> serial{0};
    const std::string name = "pxh_" + std::to_string(serial.fetch_add(1));
    const std::size_t room = std::max<std::size_t>(RTE_MBUF_DEFAULT_BUF_SIZE,
        RTE_PKTMBUF_HEADROOM + mtu + wire::ethernet::header_len + wire::ethernet::vlan_tag_len);
    rte_mempool* p = rte_pktmbuf_pool_create(name.c_str(), mbufs, 0, 0, static_cast<std::uint16_t>(room),
                                             SOCKET_ID_ANY);
    if (p == nullptr) throw std::runtime_error(std::string("rte_pktmbuf_pool_create: ") + rte_strerror(rte_errno));
    return p;
}

}  // namespace

ShardConfig harness_shard_config(const HarnessConfig& config) {
    ShardConfig c;
    c.interface.mac = config.mac;
    c.interface.address = config.address;
    c.interface.gateway = config.gateway;
    c.interface.mtu = config.mtu;
    // The port offers no offload (phy/queue_port.hpp): every checksum is computed here.
    c.ipv4.offload_header_checksum = false;
    c.udp.tx_checksum_offload = false;
    c.tcp.tx_checksum_offload = false;
    c.ipv4.first_ident = static_cast<std::uint16_t>(derive(config.seed, 0));
    c.ipv4.reassembly_seed = derive(config.seed, 1);
    c.udp.port_seed = derive(config.seed, 2);
    c.tcp.port_seed = derive(config.seed, 3);
    c.tcp.isn_key[0] = derive(config.seed, 4);  // RFC 6528's secret, fixed by the seed
    c.tcp.isn_key[1] = derive(config.seed, 5);
    c.tcp.cookie_key[0] = derive(config.seed, 6);
    c.tcp.cookie_key[1] = derive(config.seed, 7);
    return c;
}

void Harness::PoolDeleter::operator()(rte_mempool* p) const noexcept { rte_mempool_free(p); }

Harness::Harness(const HarnessConfig& config)
    : config_(config),
      own_pool_(config.pool == nullptr ? make_pool(config.mbufs, config.mtu) : nullptr),
      pool_(config.pool != nullptr ? config.pool : own_pool_.get()),
      clock_(config.start),
      port_(phy::QueuePortConfig{config.mac, config.mtu, pool_}),
      shard_(std::make_unique<Shard>(port_, clock_, harness_shard_config(config))),
      scratch_(max_frame_len) {
    shard_->start();  // the gratuitous ARP: the first frame to drain
}

Harness::~Harness() {
    shard_.reset();  // its sockets, timers and queued packets go before the port's frames
}

int Harness::inject(std::span<const std::uint8_t> frame) noexcept {
    if (const int e = port_.inject(frame); e != 0) return e;
    // Through the normal receive path, at the current instant (the clock does not move).
    while (port_.rx_pending() > 0) shard_->poll_once();
    return 0;
}

int Harness::inject_ip(std::span<const std::uint8_t> datagram) noexcept {
    if (datagram.empty() || datagram.size() > 65535) return -EINVAL;
    const wire::EthernetRepr eth{config_.mac, config_.peer_mac, wire::EtherType::ipv4, std::nullopt};
    const std::size_t hl = eth.buffer_len();
    eth.emit(scratch_);
    std::memcpy(scratch_.data() + hl, datagram.data(), datagram.size());
    return inject(std::span<const std::uint8_t>(scratch_.data(), hl + datagram.size()));
}

long Harness::drain_ip(std::span<std::uint8_t> out) noexcept {
    shard_->flush();  // as drain()
    while (true) {
        if (const long len = port_.next_tx_len(); len < 0) return len;
        // Look at it without taking it: EMSGSIZE must leave it queued. (scratch_ holds any
        // frame: the port does no TSO, so none exceeds an IPv4 datagram plus its header.)
        const long copied = port_.copy_next(scratch_);
        if (copied < 0) {
            port_.discard();
            continue;
        }
        const std::span<const std::uint8_t> bytes(scratch_.data(), static_cast<std::size_t>(copied));
        const auto eth = wire::EthernetRepr::parse(bytes);
        if (!eth) {
            port_.discard();
            continue;
        }
        const std::span<const std::uint8_t> payload = bytes.subspan(eth->buffer_len());
        if (eth->ethertype == wire::EtherType::ipv4) {
            std::size_t n = payload.size();
            // The link may have padded a short datagram (a 60-byte minimum frame).
            const wire::Ipv4View ip(payload);
            if (n >= wire::ipv4::min_header_len && ip.total_len() >= wire::ipv4::min_header_len && ip.total_len() < n) {
                n = ip.total_len();
            }
            if (out.size() < n) return -EMSGSIZE;
            std::memcpy(out.data(), payload.data(), n);
            port_.discard();
            return static_cast<long>(n);
        }
        std::optional<wire::ArpRepr> request;
        if (eth->ethertype == wire::EtherType::arp) {
            const auto arp = wire::ArpRepr::parse(payload);
            // Answer every address but our own (a gratuitous ARP asks for that one, and an
            // answer would be a conflict, RFC 5227).
            if (arp && arp->operation == wire::ArpOperation::request &&
                arp->target_ip != config_.address.address()) {
                request = *arp;
            }
        }
        port_.discard();
        if (request) {
            const wire::ArpRepr reply{wire::ArpOperation::reply, config_.peer_mac, request->target_ip,
                                      request->sender_mac, request->sender_ip};
            const wire::EthernetRepr reply_eth{request->sender_mac, config_.peer_mac, wire::EtherType::arp,
                                               std::nullopt};
            std::array<std::uint8_t, wire::ethernet::header_len + wire::arp::packet_len> f{};
            reply_eth.emit(f);
            reply.emit(std::span<std::uint8_t>(f).subspan(reply_eth.buffer_len()));
            // The datagrams waiting for this neighbour are queued behind what is left.
            if (const int e = inject(f); e != 0) return e;
        }
    }
}

time::Instant Harness::next_event() const noexcept {
    const time::TimerWheel& wheel = shard_->timers();
    const time::Instant hint = wheel.next_deadline_hint();
    if (hint == time::Instant::max()) return hint;
    // The wheel fires a deadline at the first tick of its grid (start + k * tick) at or
    // after it (time/timer_wheel.hpp); the grid starts at the wheel's creation, config.start.
    const std::int64_t tick = wheel.tick().ns();
    const std::int64_t since = hint.ns() - config_.start.ns();
    const std::int64_t ticks = since <= 0 ? 0 : (since + tick - 1) / tick;
    const time::Instant due = config_.start + time::Duration::from_ns(ticks * tick);
    return due < clock_.now() ? clock_.now() : due;
}

void Harness::advance(time::Duration d) noexcept {
    if (d <= time::Duration::zero()) return;
    const time::Instant target = clock_.now() + d;
    int rounds_here = 0;
    while (rounds_here < max_rounds_per_instant) {
        const time::Instant due = next_event();
        if (due > target) break;
        if (due > clock_.now()) {
            clock_.set(due);
            rounds_here = 0;
        } else {
            ++rounds_here;
        }
        shard_->poll_once();
    }
    clock_.set(target);
    shard_->poll_once();
}

}  // namespace pollux::runtime
