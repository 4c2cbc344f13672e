// icmp_pps: an ICMP echo load generator on a DPDK port, for comparing echo responders
// (pollux's examples/echo, testpmd's icmpecho mode) on the same link.
//
//   icmp_pps --no-pci -l 1 --vdev=net_memif0,role=client,socket=/tmp/x.sock
//       -- --ip 198.18.0.1 --peer-ip 198.18.0.2 [--seconds 5] [--warmup 1] [--window 256]
//       [--size 56] [--name NAME] [--linger 0]
//
// It answers ARP for its own address (so the responder can resolve it), resolves the
// responder's MAC with ARP, then keeps `window` echo requests outstanding for warmup +
// seconds, and prints one JSON line with the replies per second and round-trip latency.
//
// Why a window: an open-loop sender at a fixed rate would measure its own rate, or, above
// the responder's capacity, fill the rings and measure drops. A closed loop with a fixed
// number of requests in flight keeps the responder busy without overrunning it, so the
// reply rate is the responder's throughput (as long as this generator is not the
// bottleneck: gen_idle_pct in the output says how often it had nothing to do).
//
// Why TSC timestamps in the payload: both ends of a round trip happen on this lcore, so
// its TSC needs no synchronisation, costs one instruction to read, and carrying the send
// time in the packet needs no per-request state beyond the 64 Ki-entry seq table.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/address.hpp"
#include "wire/arp.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"

namespace {

using namespace pollux;

constexpr std::uint16_t port_id = 0;
constexpr std::uint16_t burst_size = 32;
constexpr std::uint16_t ring_desc = 1024;
constexpr std::uint32_t pool_mbufs = 16383;  // window (<= 8192) + rx ring + tx ring + caches
constexpr std::size_t min_frame_len = 60;    // Ethernet minimum without FCS; shorter frames are padded
constexpr std::size_t timestamp_len = sizeof(std::uint64_t);
constexpr std::uint32_t max_window = 8192;
constexpr std::size_t max_payload = 1500 - wire::ipv4::min_header_len - wire::icmp::header_len;
constexpr std::size_t seq_space = 65536;  // the ICMP sequence number is 16 bits

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
    wire::Ipv4Address ip;
    wire::Ipv4Address peer;
    double seconds = 5.0;
    double warmup = 1.0;
    std::uint32_t window = 256;
    std::size_t size = 56;  // ICMP data bytes, as ping -s
    std::string name = "responder";
    double linger = 0;  // seconds to keep the link up after the report (see linger())
};

bool parse_double(std::string_view s, double min, double max, double& out) {
    const std::string copy(s);
    char* end = nullptr;
    const double v = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size() || !(v >= min && v <= max)) return false;
    out = v;
    return true;
}

template <typename T>
bool parse_uint(std::string_view s, T min, T max, T& out) {
    T v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return false;
    out = v;
    return true;
}

// An address, with an optional /LEN (ignored: the peer is always on the link).
std::optional<wire::Ipv4Address> parse_address(std::string_view s) {
    return wire::Ipv4Address::parse(s.substr(0, s.find('/')));
}

// The name goes into JSON unescaped, so it is kept to characters that need no escaping.
bool valid_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
    });
}

std::optional<Options> parse_options(int argc, char** argv) {
    Options o;
    bool have_ip = false;
    bool have_peer = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 == argc) {
            std::fprintf(stderr, "icmp_pps: %s needs a value\n", argv[i]);
            return std::nullopt;
        }
        const std::string_view v = argv[++i];
        bool ok = true;
        if (a == "--ip" || a == "--peer-ip") {
            const auto addr = parse_address(v);
            ok = addr && !addr->is_unspecified();
            if (ok) (a == "--ip" ? o.ip : o.peer) = *addr;
            (a == "--ip" ? have_ip : have_peer) = ok;
        } else if (a == "--seconds") {
            ok = parse_double(v, 0.1, 3600, o.seconds);
        } else if (a == "--warmup") {
            ok = parse_double(v, 0, 600, o.warmup);
        } else if (a == "--window") {
            ok = parse_uint<std::uint32_t>(v, 1, max_window, o.window);
        } else if (a == "--size") {
            ok = parse_uint<std::size_t>(v, timestamp_len, max_payload, o.size);
        } else if (a == "--linger") {
            ok = parse_double(v, 0, 600, o.linger);
        } else if (a == "--name") {
            ok = valid_name(v);
            o.name = std::string(v);
        } else {
            std::fprintf(stderr, "icmp_pps: unknown option %s\n", argv[i - 1]);
            return std::nullopt;
        }
        if (!ok) {
            std::fprintf(stderr, "icmp_pps: bad value for %s: %s\n", argv[i - 1], argv[i]);
            return std::nullopt;
        }
    }
    if (!have_ip || !have_peer) {
        std::fprintf(stderr,
                     "usage: icmp_pps [EAL args] -- --ip ADDR --peer-ip ADDR [--seconds 5] [--warmup 1]\n"
                     "                [--window 1..%u (256)] [--size %zu..%zu (56)] [--name NAME] [--linger S]\n",
                     max_window, timestamp_len, max_payload);
        return std::nullopt;
    }
    return o;
}

// Round-trip times in fixed 100 ns buckets up to 100 ms (8 MB, allocated once): recording
// a sample is a division and an increment, with no allocation on the reply path. Longer
// round trips land in a last bucket reported as 100 ms.
class LatencyHistogram {
public:
    static constexpr double bucket_ns = 100.0;
    static constexpr std::size_t buckets = 1000000;

    explicit LatencyHistogram(std::uint64_t tsc_hz)
        : cycles_per_bucket_(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(tsc_hz * bucket_ns / 1e9))),
          counts_(buckets + 1, 0) {}

    void add(std::uint64_t cycles) noexcept {
        counts_[std::min<std::uint64_t>(cycles / cycles_per_bucket_, buckets)] += 1;
        ++total_;
    }

    // The upper edge of the bucket holding quantile q, in microseconds; -1 without samples.
    double quantile_us(double q) const noexcept {
        if (total_ == 0) return -1;
        const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return static_cast<double>(i + 1) * bucket_ns / 1000.0;
        }
        return static_cast<double>(buckets) * bucket_ns / 1000.0;
    }

private:
    std::uint64_t cycles_per_bucket_;
    std::vector<std::uint64_t> counts_;
    std::uint64_t total_ = 0;
};

struct Counters {
    std::uint64_t sent_total = 0;      // requests handed to the port, warmup and drain included
    std::uint64_t replies_total = 0;   // replies matched to an outstanding request
    std::uint64_t sent = 0;            // within the measurement interval
    std::uint64_t replies = 0;         // within the measurement interval
    std::uint64_t unexpected = 0;      // echo replies with our id but no outstanding request (late, duplicate)
    std::uint64_t bad = 0;             // replies from the peer that failed a checksum or had the wrong size
    std::uint64_t reclaimed = 0;       // requests given up as lost to free the window
    std::uint64_t stalls = 0;          // times no reply came for stall_timeout with requests outstanding
    std::uint64_t tx_full = 0;         // requests the port refused (ring full), freed and not counted as sent
    std::uint64_t idle_cycles = 0;     // measurement time spent with nothing received and a full window
    std::uint64_t arp_answered = 0;
};

// The port, its pool and what the generator knows about both ends.
struct Link {
    rte_mempool* pool = nullptr;
    bool started = false;
    wire::MacAddress mac;
    wire::MacAddress peer_mac;
    Options opt;

    ~Link() {
        if (started) {
            rte_eth_dev_stop(port_id);
            rte_eth_dev_close(port_id);
        }
        if (pool != nullptr) rte_mempool_free(pool);
    }
};

bool link_up() {
    rte_eth_link l{};
    return rte_eth_link_get_nowait(port_id, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

bool open_port(Link& link) {
    if (rte_eth_dev_count_avail() == 0) {
        std::fprintf(stderr, "icmp_pps: no DPDK port (pass --vdev=net_memif0,role=client,socket=PATH)\n");
        return false;
    }
    link.pool = rte_pktmbuf_pool_create("icmp_pps", pool_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                        static_cast<int>(rte_socket_id()));
    if (link.pool == nullptr) {
        std::fprintf(stderr, "icmp_pps: mbuf pool: %s\n", rte_strerror(rte_errno));
        return false;
    }
    rte_eth_conf conf{};
    std::uint16_t rxd = ring_desc;
    std::uint16_t txd = ring_desc;
    int rc = rte_eth_dev_configure(port_id, 1, 1, &conf);
    if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd);
    if (rc == 0) rc = rte_eth_rx_queue_setup(port_id, 0, rxd, rte_eth_dev_socket_id(port_id), nullptr, link.pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(port_id, 0, txd, rte_eth_dev_socket_id(port_id), nullptr);
    if (rc == 0) rc = rte_eth_dev_start(port_id);
    if (rc != 0) {
        std::fprintf(stderr, "icmp_pps: port %u setup: %s\n", port_id, std::strerror(rc < 0 ? -rc : rc));
        return false;
    }
    link.started = true;
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port_id, &mac);
    link.mac = wire::MacAddress::from_bytes(mac.addr_bytes);

    // memif's link comes up when the server accepts this client's connection.
    const std::uint64_t deadline = rte_get_tsc_cycles() + 10 * rte_get_tsc_hz();
    while (rte_get_tsc_cycles() < deadline && !g_stop) {
        if (link_up()) return true;
        rte_delay_ms(10);
    }
    std::fprintf(stderr, "icmp_pps: port %u link still down after 10 s (is the responder running?)\n", port_id);
    return false;
}

// Sends one ARP message in a minimum-size frame. Rare (setup, and the responder's refreshes),
// so a lost frame is only reported.
void send_arp(const Link& link, const wire::MacAddress& eth_dst, const wire::ArpRepr& arp) {
    rte_mbuf* m = rte_pktmbuf_alloc(link.pool);
    if (m == nullptr) return;
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, min_frame_len));
    std::memset(p, 0, min_frame_len);
    const std::span<std::uint8_t> frame(p, min_frame_len);
    wire::EthernetRepr{eth_dst, link.mac, wire::EtherType::arp, std::nullopt}.emit(frame);
    arp.emit(frame.subspan(wire::ethernet::header_len));
    if (rte_eth_tx_burst(port_id, 0, &m, 1) == 0) {
        rte_pktmbuf_free(m);
        std::fprintf(stderr, "icmp_pps: ARP frame not sent (tx ring full)\n");
    }
}

// Handles an ARP frame: answers requests for our address (RFC 826), and returns true when
// it is a reply from the peer, whose MAC is then learned.
bool handle_arp(Link& link, std::span<const std::uint8_t> arp_bytes, Counters& c) {
    const auto arp = wire::ArpRepr::parse(arp_bytes);
    if (!arp) return false;
    if (arp->operation == wire::ArpOperation::request && arp->target_ip == link.opt.ip) {
        send_arp(link, arp->sender_mac,
                 wire::ArpRepr{wire::ArpOperation::reply, link.mac, link.opt.ip, arp->sender_mac, arp->sender_ip});
        ++c.arp_answered;
        return false;
    }
    if (arp->operation == wire::ArpOperation::reply && arp->sender_ip == link.opt.peer) {
        link.peer_mac = arp->sender_mac;
        return true;
    }
    return false;
}

// Resolves the responder's MAC: one request every 100 ms until a reply, for at most 5 s.
bool resolve_peer(Link& link, Counters& c) {
    const std::uint64_t hz = rte_get_tsc_hz();
    const std::uint64_t deadline = rte_get_tsc_cycles() + 5 * hz;
    std::uint64_t next_request = 0;
    std::array<rte_mbuf*, burst_size> rx{};
    while (rte_get_tsc_cycles() < deadline && !g_stop) {
        const std::uint64_t now = rte_get_tsc_cycles();
        if (now >= next_request) {
            send_arp(link, wire::MacAddress::broadcast(),
                     wire::ArpRepr{wire::ArpOperation::request, link.mac, link.opt.ip, wire::MacAddress(),
                                   link.opt.peer});
            next_request = now + hz / 10;
        }
        const std::uint16_t n = rte_eth_rx_burst(port_id, 0, rx.data(), burst_size);
        bool resolved = false;
        for (std::uint16_t i = 0; i < n; ++i) {
            const std::span<const std::uint8_t> frame(rte_pktmbuf_mtod(rx[i], const std::uint8_t*), rx[i]->data_len);
            const wire::EthernetView eth(frame);
            if (eth.check() == wire::WireError::none &&
                eth.ethertype() == static_cast<std::uint16_t>(wire::EtherType::arp)) {
                resolved = handle_arp(link, eth.payload(), c) || resolved;
            }
        }
        rte_pktmbuf_free_bulk(rx.data(), n);
        if (resolved) return true;
    }
    std::fprintf(stderr, "icmp_pps: no ARP reply for %s within 5 s\n", link.opt.peer.to_string().c_str());
    return false;
}

// The echo request every packet is copied from: Ethernet, IPv4 (checksum final, since no
// field of it changes), ICMP header and data; only the sequence number, the timestamp in the
// first 8 data bytes and the ICMP checksum differ per packet.
struct Template {
    std::vector<std::uint8_t> frame;
    std::size_t icmp_offset = 0;
    std::size_t icmp_len = 0;
    std::uint16_t ident = 0;
};

Template build_template(const Link& link) {
    Template t;
    t.ident = static_cast<std::uint16_t>(rte_rand());
    t.icmp_offset = wire::ethernet::header_len + wire::ipv4::min_header_len;
    t.icmp_len = wire::icmp::header_len + link.opt.size;
    t.frame.assign(std::max(min_frame_len, t.icmp_offset + t.icmp_len), 0);
    const std::span<std::uint8_t> f(t.frame);
    wire::EthernetRepr{link.peer_mac, link.mac, wire::EtherType::ipv4, std::nullopt}.emit(f);
    wire::Ipv4Repr ip;
    ip.src = link.opt.ip;
    ip.dst = link.opt.peer;
    ip.protocol = wire::IpProtocol::icmp;
    ip.payload_len = static_cast<std::uint16_t>(t.icmp_len);
    ip.dont_fragment = true;  // an atomic datagram: its identification may stay constant (RFC 6864)
    ip.emit(f.subspan(wire::ethernet::header_len));
    // Data after the timestamp: a byte pattern, as ping sends, so a responder that mangles
    // the payload fails the checksum.
    for (std::size_t i = timestamp_len; i < link.opt.size; ++i) {
        t.frame[t.icmp_offset + wire::icmp::header_len + i] = static_cast<std::uint8_t>(i);
    }
    return t;
}

// The generator's state during the timed run: the outstanding requests by sequence number,
// each holding its send timestamp (0: none outstanding).
struct Flight {
    std::vector<std::uint64_t> sent_tsc = std::vector<std::uint64_t>(seq_space, 0);
    std::uint32_t outstanding = 0;
    std::uint16_t next_seq = 0;
    std::uint64_t last_reply_tsc = 0;
};

// Fills `n` requests from the template and sends them; returns how many the port took.
std::uint16_t send_requests(const Link& link, const Template& t, Flight& fl, Counters& c, std::uint16_t n) {
    std::array<rte_mbuf*, burst_size> bufs;
    if (rte_pktmbuf_alloc_bulk(link.pool, bufs.data(), n) != 0) return 0;
    // One timestamp per burst: the requests of a burst leave together.
    std::uint64_t tsc = rte_rdtsc();
    if (tsc == 0) tsc = 1;  // 0 marks a free sequence slot
    wire::IcmpRepr echo;
    echo.type = wire::IcmpType::echo_request;
    echo.echo_ident = t.ident;
    for (std::uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = bufs[i];
        auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(t.frame.size())));
        std::memcpy(p, t.frame.data(), t.frame.size());
        std::uint8_t* icmp = p + t.icmp_offset;
        // The timestamp is opaque data that only this process reads back: host order.
        std::memcpy(icmp + wire::icmp::header_len, &tsc, timestamp_len);
        echo.echo_seq = static_cast<std::uint16_t>(fl.next_seq + i);
        echo.data = std::span<const std::uint8_t>(icmp + wire::icmp::header_len, t.icmp_len - wire::icmp::header_len);
        echo.emit(std::span<std::uint8_t>(icmp, t.icmp_len));  // data in place: only the checksum is summed
    }
    const std::uint16_t sent = rte_eth_tx_burst(port_id, 0, bufs.data(), n);
    if (sent < n) {
        rte_pktmbuf_free_bulk(bufs.data() + sent, n - sent);
        c.tx_full += n - sent;
    }
    for (std::uint16_t i = 0; i < sent; ++i) {
        std::uint64_t& slot = fl.sent_tsc[fl.next_seq];
        if (slot != 0) {
            // Still outstanding 64 Ki requests later: lost. Its slot is reused.
            ++c.reclaimed;
            --fl.outstanding;
        }
        slot = tsc;
        ++fl.next_seq;
        ++fl.outstanding;
    }
    c.sent_total += sent;
    return sent;
}

// Accounts one received frame: an echo reply to us, an ARP message, or noise.
void receive(Link& link, const Template& t, Flight& fl, Counters& c, LatencyHistogram& hist, rte_mbuf* m,
             std::uint64_t now, bool measuring) {
    const std::span<const std::uint8_t> frame(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
    const wire::EthernetView eth(frame);
    if (eth.check() != wire::WireError::none) return;
    if (eth.ethertype() == static_cast<std::uint16_t>(wire::EtherType::arp)) {
        handle_arp(link, eth.payload(), c);
        return;
    }
    if (eth.ethertype() != static_cast<std::uint16_t>(wire::EtherType::ipv4)) return;
    const wire::Ipv4View ip(eth.payload());
    if (ip.check() != wire::WireError::none || ip.protocol() != static_cast<std::uint8_t>(wire::IpProtocol::icmp) ||
        ip.src() != link.opt.peer || ip.dst() != link.opt.ip) {
        return;
    }
    const wire::IcmpView icmp(ip.payload());
    if (icmp.check() != wire::WireError::none || icmp.type() != static_cast<std::uint8_t>(wire::IcmpType::echo_reply) ||
        icmp.echo_ident() != t.ident) {
        return;
    }
    if (!ip.checksum_ok() || !icmp.checksum_ok() || icmp.data().size() != link.opt.size) {
        ++c.bad;
        return;
    }
    std::uint64_t tsc = 0;
    std::memcpy(&tsc, icmp.data().data(), timestamp_len);
    std::uint64_t& slot = fl.sent_tsc[icmp.echo_seq()];
    if (slot == 0 || slot != tsc) {
        ++c.unexpected;
        return;
    }
    slot = 0;
    --fl.outstanding;
    ++c.replies_total;
    fl.last_reply_tsc = now;
    if (measuring) {
        ++c.replies;
        hist.add(now - tsc);
    }
}

// Gives up every outstanding request as lost, so that a responder that dropped a whole
// window does not stop the run. Rare: it scans the sequence table.
void reclaim_all(Flight& fl, Counters& c) {
    for (std::uint64_t& slot : fl.sent_tsc) {
        if (slot != 0) {
            slot = 0;
            ++c.reclaimed;
        }
    }
    fl.outstanding = 0;
    ++c.stalls;
}

// The timed run: warmup, measurement, then a drain without sending so that every reply
// still in flight is counted before `lost` is computed.
double run(Link& link, const Template& t, Counters& c, LatencyHistogram& hist) {
    const std::uint64_t hz = rte_get_tsc_hz();
    const std::uint64_t start = rte_rdtsc();
    const std::uint64_t measure_from = start + static_cast<std::uint64_t>(link.opt.warmup * static_cast<double>(hz));
    std::uint64_t measure_to = measure_from + static_cast<std::uint64_t>(link.opt.seconds * static_cast<double>(hz));
    const std::uint64_t stall_timeout = hz / 10;
    const std::uint64_t drain_time = hz / 5;
    Flight fl;
    fl.last_reply_tsc = start;
    std::array<rte_mbuf*, burst_size> rx;
    std::uint64_t drain_until = 0;
    for (;;) {
        const std::uint64_t now = rte_rdtsc();
        if (g_stop && drain_until == 0) measure_to = std::min(measure_to, std::max(now, measure_from));
        const bool measuring = now >= measure_from && now < measure_to;
        const bool sending = now < measure_to;
        if (!sending && drain_until == 0) drain_until = now + drain_time;
        if (drain_until != 0 && (now >= drain_until || fl.outstanding == 0)) break;

        const std::uint16_t n = rte_eth_rx_burst(port_id, 0, rx.data(), burst_size);
        for (std::uint16_t i = 0; i < n; ++i) {
            if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void*));
            receive(link, t, fl, c, hist, rx[i], now, measuring);
        }
        rte_pktmbuf_free_bulk(rx.data(), n);

        std::uint16_t sent = 0;
        if (sending && fl.outstanding < link.opt.window) {
            const std::uint32_t room = std::min<std::uint32_t>(burst_size, link.opt.window - fl.outstanding);
            sent = send_requests(link, t, fl, c, static_cast<std::uint16_t>(room));
            if (measuring) c.sent += sent;
        }
        if (measuring && n == 0 && sent == 0) c.idle_cycles += rte_rdtsc() - now;
        if (sending && fl.outstanding > 0 && now - fl.last_reply_tsc > stall_timeout) {
            reclaim_all(fl, c);
            fl.last_reply_tsc = now;
        }
    }
    // Whatever is still outstanding after the drain is lost; the table goes with `fl`.
    return static_cast<double>(measure_to - std::min(measure_to, measure_from)) / static_cast<double>(hz);
}

void print_json(const Options& o, const Counters& c, const LatencyHistogram& hist, double seconds) {
    const double pps = seconds > 0 ? static_cast<double>(c.replies) / seconds : 0;
    const double measured_cycles = seconds * static_cast<double>(rte_get_tsc_hz());
    const double idle_pct = measured_cycles > 0 ? 100.0 * static_cast<double>(c.idle_cycles) / measured_cycles : 0;
    std::printf("{\"responder\": \"%s\", \"seconds\": %.3f, \"window\": %" PRIu32 ", \"size\": %zu, "
                "\"sent\": %" PRIu64 ", \"replies\": %" PRIu64 ", \"pps\": %.0f, \"lost\": %" PRIu64 ", "
                "\"p50_us\": %.2f, \"p99_us\": %.2f, ",
                o.name.c_str(), seconds, o.window, o.size, c.sent, c.replies, pps, c.sent_total - c.replies_total,
                hist.quantile_us(0.50), hist.quantile_us(0.99));
    std::printf("\"sent_total\": %" PRIu64 ", \"replies_total\": %" PRIu64 ", \"unexpected\": %" PRIu64
                ", \"bad\": %" PRIu64 ", \"stalls\": %" PRIu64 ", \"reclaimed\": %" PRIu64 ", \"tx_full\": %" PRIu64
                ", \"arp_answered\": %" PRIu64 ", \"gen_idle_pct\": %.1f}\n",
                c.sent_total, c.replies_total, c.unexpected, c.bad, c.stalls, c.reclaimed, c.tx_full, c.arp_answered,
                idle_pct);
    std::fflush(stdout);
}

// Keeps the port open, without polling it, until the responder goes away (the link drops),
// a signal, or `seconds`. Why: when a memif client disconnects, DPDK 22.11's memif server
// unmaps the shared regions from its control thread while the server's lcore may be inside
// rx_burst on them; testpmd was seen to segfault there (in librte_net_memif) after a run.
// Lingering lets the caller stop the responder first, so no responder polls a ring that
// goes away.
void linger(double seconds) {
    const std::uint64_t deadline =
        rte_get_tsc_cycles() + static_cast<std::uint64_t>(seconds * static_cast<double>(rte_get_tsc_hz()));
    while (!g_stop && rte_get_tsc_cycles() < deadline && link_up()) rte_delay_us_sleep(10000);
}

// Everything after EAL init, so that the Link's destructor (port, pool) runs before
// rte_eal_cleanup.
int bench(const Options& opt) {
    Link link;
    link.opt = opt;
    if (!open_port(link)) return 1;
    Counters c;
    if (!resolve_peer(link, c)) return 1;
    std::fprintf(stderr, "icmp_pps: %s is at %s; %s for %.1f s after %.1f s warmup, window %u, %zu data bytes\n",
                 opt.peer.to_string().c_str(), link.peer_mac.to_string().c_str(), opt.name.c_str(), opt.seconds,
                 opt.warmup, opt.window, opt.size);
    const Template t = build_template(link);
    LatencyHistogram hist(rte_get_tsc_hz());
    const double seconds = run(link, t, c, hist);
    print_json(opt, c, hist, seconds);
    if (opt.linger > 0) linger(opt.linger);
    if (c.replies_total == 0) {
        std::fprintf(stderr, "icmp_pps: no echo reply at all from %s\n", opt.peer.to_string().c_str());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const int eal_args = rte_eal_init(argc, argv);
    if (eal_args < 0) {
        std::fprintf(stderr, "icmp_pps: EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    // After rte_eal_init, argv[eal_args] is the program name and our options follow.
    const auto opt = parse_options(argc - eal_args, argv + eal_args);
    const int rc = opt ? bench(*opt) : 2;
    rte_eal_cleanup();
    return rc;
}
