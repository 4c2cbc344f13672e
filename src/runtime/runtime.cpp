// px_init / px_run / px_stop / px_fini: the process's pollux runtime.
//
// DPDK's EAL is process-wide and cannot restart, so the runtime is too: one Runtime object
// behind g_runtime, created by px_init and destroyed by px_fini. Everything that handles
// packets lives in the Shard, which has no globals.
//
// Threads: px_init, px_run and px_fini are called from the main lcore. px_stop may be
// called from any thread or a signal handler (it only sets an atomic flag). The DPDK
// telemetry thread reads counters under g_telemetry_mutex, which px_fini also takes
// before tearing the shard down; the poll loop never takes it. /pollux/sockets asks the
// shard for a snapshot instead of reading its tables (runtime/telemetry_sockets.hpp).
#include "pollux/pollux.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_random.h>
#include <rte_telemetry.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "buf/packet_queue.hpp"
#include "phy/dpdk_port.hpp"
#include "runtime/api_context.hpp"
#include "runtime/options.hpp"
#include "runtime/shard.hpp"
#include "runtime/telemetry_sockets.hpp"
#include "time/clock.hpp"

namespace pollux::runtime {
namespace {

struct Runtime {
    std::unique_ptr<phy::DpdkPort> port;
    time::TscClock clock;
    std::unique_ptr<Shard> shard;
    std::unique_ptr<SocketsTelemetry> sockets;  // before the shard goes: its timer is on the wheel
};

Runtime* g_runtime = nullptr;
bool g_eal_started = false;
std::atomic<bool> g_stop{false};  // read by stop_requested() below
std::mutex g_telemetry_mutex;

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

int fail(int err, const std::string& message) {
    std::fprintf(stderr, "pollux: %s\n", message.c_str());
    errno = err;
    return -1;
}

// /pollux/stats: every counter of the shard, one dictionary per layer:
// {"ip": {"InReceives": n, ...}, "icmp": {...}, ...}. (DPDK 22.11 allows only
// [A-Za-z0-9_/] in names, hence nesting rather than "ip.InReceives" keys.)
int telemetry_stats(const char*, const char*, rte_tel_data* d) {
    std::lock_guard lock(g_telemetry_mutex);
    rte_tel_data_start_dict(d);
    if (g_runtime == nullptr || !g_runtime->shard) return 0;
    rte_tel_data* layer = nullptr;
    std::string layer_name;
    const auto close_layer = [&] {
        if (layer != nullptr) rte_tel_data_add_dict_container(d, layer_name.c_str(), layer, 0);
        layer = nullptr;
    };
    g_runtime->shard->visit_counters([&](const char* prefix, const char* name, std::uint64_t value) {
        if (layer == nullptr || layer_name != prefix) {
            close_layer();
            layer = rte_tel_data_alloc();
            if (layer == nullptr) return;
            rte_tel_data_start_dict(layer);
            layer_name = prefix;
        }
        rte_tel_data_add_dict_u64(layer, name, value);
    });
    close_layer();
    return 0;
}

// /pollux/sockets: every TCP socket, as `ss -tin` shows them (telemetry_sockets.hpp).
int telemetry_sockets(const char*, const char*, rte_tel_data* d) {
    std::lock_guard lock(g_telemetry_mutex);  // keeps the runtime alive while the shard answers
    if (g_runtime == nullptr || !g_runtime->sockets) {
        rte_tel_data_start_dict(d);
        return 0;
    }
    g_runtime->sockets->answer(d);
    return 0;
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

std::string describe(const phy::DpdkPort& port, const Options& o) {
    const auto& c = port.capabilities();
    std::string s = "port " + std::to_string(port.port_id()) + " (" + port.driver_name() + ") " +
                    port.mac().to_string() + " mtu " + std::to_string(port.mtu()) + ", " + o.ip->to_string();
    if (o.gateway) s += " gw " + o.gateway->to_string();
    s += ", offloads:";
    if (c.rx_ipv4_checksum) s += " rx-ip";
    if (c.rx_l4_checksum) s += " rx-l4";
    if (c.tx_ipv4_checksum) s += " tx-ip";
    if (c.tx_tcp_checksum) s += " tx-tcp";
    if (c.tx_udp_checksum) s += " tx-udp";
    if (c.tso) s += " tso";
    if (!(c.rx_ipv4_checksum || c.rx_l4_checksum || c.tx_ipv4_checksum || c.tx_tcp_checksum || c.tx_udp_checksum)) {
        s += " none";
    }
    if (o.impair) s += ", impair " + phy::to_string(*o.impair);
    return s;
}

}  // namespace

bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }

}  // namespace pollux::runtime

using namespace pollux;
using namespace pollux::runtime;

extern "C" int px_init(int argc, char** argv) {
    if (g_eal_started) return fail(EALREADY, "px_init called twice (DPDK's EAL starts once per process)");
    if (api_context().shard != nullptr) return fail(EBUSY, "a px_harness is active (pollux/harness.h)");
    if (rte_lcore_count() > 0) return fail(EALREADY, "DPDK's EAL already runs in this process (a px_harness started it)");
    if (argc < 1 || argv == nullptr) return fail(EINVAL, "px_init needs argc/argv");
    const int eal_args = rte_eal_init(argc, argv);
    if (eal_args < 0) {
        return fail(EIO, std::string("DPDK EAL initialisation failed (") + rte_strerror(rte_errno) +
                             "): reserve hugepages (echo 512 > /proc/sys/vm/nr_hugepages) or pass --no-huge -m 512; "
                             "use --no-pci unless you name a device with -a");
    }
    g_eal_started = true;
    // Socket queues link mbufs through a dynamic field; claim it before the port's driver
    // registers its own, so that it always fits (see buf/packet_queue.hpp).
    try {
        buf::PacketQueue::register_link_field();
    } catch (const std::exception& e) {
        return fail(EIO, e.what());
    }

    // After rte_eal_init, argv[eal_args] is the program name and what follows is ours.
    std::vector<std::string> args(argv + eal_args + 1, argv + argc);
    const OptionsParse parsed = parse_options(args);
    if (!parsed) return fail(EINVAL, parsed.error + "\n" + options_usage());
    const Options& o = parsed.options;

    phy::DpdkPortConfig pc;
    pc.port_id = o.port_id;
    pc.rx_desc = o.rx_desc;
    pc.tx_desc = o.tx_desc;
    pc.mtu = o.mtu;
    pc.offloads = o.offloads;
    std::string error;
    auto runtime = std::make_unique<Runtime>();
    runtime->port = phy::DpdkPort::open(pc, error);
    if (!runtime->port) return fail(error.find("pool") != std::string::npos ? ENOMEM : ENODEV, error);

    ShardConfig sc;
    sc.interface.mac = runtime->port->mac();
    sc.interface.address = *o.ip;
    sc.interface.gateway = o.gateway;
    sc.interface.mtu = runtime->port->mtu();
    sc.ipv4.offload_header_checksum = runtime->port->capabilities().tx_ipv4_checksum;
    sc.ipv4.first_ident = static_cast<std::uint16_t>(rte_rand());
    sc.ipv4.reassembly_seed = rte_rand();
    sc.udp.tx_checksum_offload = runtime->port->capabilities().tx_udp_checksum;
    sc.udp.port_seed = rte_rand();
    sc.tcp.tx_checksum_offload = runtime->port->capabilities().tx_tcp_checksum;
    sc.tcp.tx_checksum_offload_chained = runtime->port->driver_name() != "net_tap";
    sc.tcp.port_seed = rte_rand();
    sc.tcp.isn_key[0] = rte_rand();  // RFC 6528: a secret chosen at start
    sc.tcp.isn_key[1] = rte_rand();
    sc.tcp.cookie_key[0] = rte_rand();  // RFC 4987 §3.6: so is the SYN cookies' one
    sc.tcp.cookie_key[1] = rte_rand();
    sc.tcp.syn_cookies = o.syn_cookies;
    sc.impair = o.impair;
    runtime->shard = std::make_unique<Shard>(*runtime->port, runtime->clock, sc);
    runtime->shard->start();
    runtime->sockets = std::make_unique<SocketsTelemetry>(*runtime->shard);
    attach_api(*runtime->shard);
    std::fprintf(stderr, "pollux: %s\n", describe(*runtime->port, o).c_str());

    {
        std::lock_guard lock(g_telemetry_mutex);
        g_runtime = runtime.release();
    }
    static bool registered = false;
    if (!registered) {
        rte_telemetry_register_cmd("/pollux/stats", telemetry_stats,
                                   "Every pollux counter of the shard (link, arp, ip, reasm, icmp). No parameters");
        // DPDK refuses (-EINVAL) a help text of RTE_TEL_MAX_STRING_LEN (128) bytes or more.
        if (rte_telemetry_register_cmd(SocketsTelemetry::command, telemetry_sockets,
                                       "Every TCP socket of the shard, as ss -tin lists them. No parameters") != 0) {
            std::fprintf(stderr, "pollux: telemetry command %s not registered\n", SocketsTelemetry::command);
        }
        registered = true;
    }
    install_signal_handlers();

    // Hand the program its arguments: the program name, then the ones pollux did not take,
    // in order, at the end of argv, so that `argv += n` lands on them.
    std::vector<char*> program_args{argv[eal_args]};
    for (std::size_t i : parsed.rest) program_args.push_back(argv[eal_args + 1 + static_cast<int>(i)]);
    const int n = argc - static_cast<int>(program_args.size());
    for (std::size_t i = 0; i < program_args.size(); ++i) argv[n + static_cast<int>(i)] = program_args[i];
    return n;
}

namespace {

// px_run in threaded mode: each round holds the shard lock (api_context.hpp's contract),
// and between rounds the threads waiting for it get it. A round that woke a sleeping
// thread gives up the CPU once: a woken thread on the polling core would otherwise wait
// for the poller's time slice to end (measured: 172 instead of ~2,700 echoes/s with one
// application thread on the polling core). At the end every thread asleep in a blocking
// call wakes with EINTR.
void run_threaded(Shard& shard, void (*fn)(void* arg), void* arg) {
    ApiContext& api = api_context();
    std::uint64_t wakeups_seen = 0;
    while (!g_stop.load(std::memory_order_relaxed)) {
        bool woke = false;
        {
            ApiLock lock;
            shard.poll_once();
            if (fn != nullptr) {
                api.in_run_callback = true;
                fn(arg);
                api.in_run_callback = false;
            }
            woke = event::g_wakeups_issued != wakeups_seen;
            wakeups_seen = event::g_wakeups_issued;
        }
        if (woke) std::this_thread::yield();
        yield_to_waiting_callers();
    }
    ApiLock lock;
    wake_sleepers_for_stop();
}

bool g_in_run = false;  // px_run's loop is on the stack (px_enable_threads refuses then)

}  // namespace

extern "C" int px_enable_threads(void) {
    ApiContext& api = api_context();
    int err = 0;
    if (api.shard == nullptr) err = EINVAL;
    else if (api.owner != std::this_thread::get_id() || api.manual_clock) err = EOPNOTSUPP;
    else if (g_in_run) err = EBUSY;
    if (err != 0) {
        errno = err;
        return -1;
    }
    api.threaded.store(true, std::memory_order_relaxed);
    return 0;
}

extern "C" int px_run(void (*fn)(void* arg), void* arg) {
    if (g_runtime == nullptr) {
        errno = EINVAL;
        return -1;
    }
    Shard& shard = *g_runtime->shard;
    ApiContext& api = api_context();
    g_in_run = true;
    if (api.threaded.load(std::memory_order_relaxed)) {
        run_threaded(shard, fn, arg);
        g_in_run = false;
        g_stop.store(false, std::memory_order_relaxed);
        return 0;
    }
    while (!g_stop.load(std::memory_order_relaxed)) {
        shard.poll_once();
        if (fn != nullptr) {
            api.in_run_callback = true;
            fn(arg);
            api.in_run_callback = false;
        }
    }
    g_in_run = false;
    g_stop.store(false, std::memory_order_relaxed);
    return 0;
}

extern "C" void px_stop(void) { g_stop.store(true, std::memory_order_relaxed); }

extern "C" void px_fini(void) {
    Runtime* r = nullptr;
    {
        std::lock_guard lock(g_telemetry_mutex);
        r = g_runtime;
        g_runtime = nullptr;
    }
    if (r != nullptr) {
        detach_api();      // closes every socket while the shard's layers still exist
        r->sockets.reset();
        r->shard.reset();  // frees every queued packet before the port's pool goes
        r->port.reset();
        delete r;
    }
    if (g_eal_started) rte_eal_cleanup();
}
