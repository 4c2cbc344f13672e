// The listener under RFC 4987's SYN flood: bounded SYN queues (per listener and per
// shard), SYN cookies when they are full (what the cookie brings back, when it is
// checked, what fails), and a simulated flood of spoofed SYNs at link rate while 1,000
// legitimate clients connect. Two shards on a SimLink and a manual clock; spoofed frames
// are put on the link from A's end, as a host on A's side of the wire would send them.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <memory>
#include <random>
#include <vector>

#include "support/packets.hpp"
#include "tcp/tcp_socket.hpp"
#include "unit/runtime/two_shards.hpp"

using namespace pollux::test::two_shards;
using pollux::socket::Destination;
using pollux::socket::RecvMeta;
using pollux::tcp::State;
using pollux::tcp::TcpSocket;
using pollux::wire::Endpoint;
using pollux::wire::Port;
using pollux::wire::SeqNum;
using pollux::wire::TcpFlags;
using pollux::wire::TcpRepr;

namespace {

Destination to(Ipv4Address a, std::uint16_t port) {
    Destination d;
    d.present = true;
    d.endpoint = {a, Port(port)};
    return d;
}

// A and B as in two_shards.hpp, with B's TCP configured by the test and a default route
// through A, so that B's answers to spoofed off-link sources leave towards A (which drops
// them, as the Internet would lose them).
struct FloodSim {
    explicit FloodSim(int syn_cookies, std::uint32_t max_syn_backlog = 4096, bool client_timestamps = true)
        : link(clock, link_config()),
          a(link.a(), clock, config_a(client_timestamps)),
          b(link.b(), clock, config_b(syn_cookies, max_syn_backlog)) {
        a.start();
        b.start();
    }

    ShardConfig config_a(bool timestamps) {
        ShardConfig c = shard_config(link.a(), ip_a, std::nullopt);
        c.tcp.tcb.timestamps = timestamps;
        return c;
    }
    ShardConfig config_b(int syn_cookies, std::uint32_t max_syn_backlog) {
        ShardConfig c = shard_config(link.b(), ip_b, std::nullopt);
        c.interface.gateway = ip_a;
        c.tcp.syn_cookies = syn_cookies;
        c.tcp.max_syn_backlog = max_syn_backlog;
        return c;
    }

    // Both shards poll until neither has anything left, then time moves by `d`.
    void step(Duration d = Duration::from_ms(1)) {
        for (int i = 0; i < 100'000; ++i) {
            const unsigned n = a.poll_once() + b.poll_once();
            a.flush();
            b.flush();
            if (n == 0) break;
        }
        clock.advance(d);
    }
    void run(Duration d) {
        const Instant end = clock.now() + d;
        while (clock.now() < end) step();
    }

    // Puts a TCP segment from `src` on the wire towards B, as if sent from A's side;
    // false when the link's queue refused it.
    bool inject(const Endpoint& src, const Endpoint& dst, const TcpRepr& h) {
        Bytes segment(h.buffer_len());
        h.emit(segment, src.address, dst.address);
        const Bytes frame = ipv4_frame(link.config().mac_b, link.config().mac_a,
                                       ipv4(ipv4_header(src.address, dst.address, 6), segment));
        rte_mbuf* m = pollux::test::packet(frame).release();
        if (link.a().tx_burst(0, &m, 1) == 1) return true;
        rte_pktmbuf_free(m);
        return false;
    }

    ManualClock clock{Instant::from_ns(1'000'000'000)};
    SimLink link;
    Shard a;
    Shard b;
};

std::unique_ptr<TcpSocket> listener(Shard& shard, std::uint16_t port, int backlog) {
    auto s = shard.tcp().create_socket();
    REQUIRE(s->bind({Ipv4Address::any(), Port(port)}) == 0);
    REQUIRE(s->listen(backlog) == 0);
    return s;
}

std::unique_ptr<TcpSocket> accept_one(TcpSocket& l) {
    pollux::socket::Socket* s = nullptr;
    Endpoint peer;
    if (l.accept(s, peer) != 0) return nullptr;
    return std::unique_ptr<TcpSocket>(static_cast<TcpSocket*>(s));
}

// A SYN from a spoofed source, with the options a client usually sends.
TcpRepr spoofed_syn(std::uint16_t dst_port, std::uint32_t seq, bool with_timestamps) {
    TcpRepr h;
    h.src_port = Port(0);  // set by the caller
    h.dst_port = Port(dst_port);
    h.seq = SeqNum(seq);
    h.flags = TcpFlags::syn;
    h.window = 64240;
    h.options.mss = 1460;
    h.options.window_scale = 7;
    h.options.sack_permitted = true;
    if (with_timestamps) h.options.timestamps = pollux::wire::TcpTimestamps{seq ^ 0x5a5a5a5au, 0};
    return h;
}

Endpoint spoofed_source(std::uint32_t i) {
    // 198.19.0.0/16 (in 198.18.0.0/15): off B's link, so its answers go to the gateway.
    return {Ipv4Address(198, 19, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)),
            Port(static_cast<std::uint16_t>(1024 + (i * 7919u) % 60000))};
}

// Fills B's SYN queue for `port` with `n` embryos that will never complete.
void fill_syn_queue(FloodSim& sim, std::uint16_t port, std::uint32_t n, std::uint32_t first = 0) {
    for (std::uint32_t i = first; i < first + n; ++i) {
        TcpRepr h = spoofed_syn(port, 1000 + i, true);
        const Endpoint src = spoofed_source(i);
        h.src_port = src.port;
        REQUIRE(sim.inject(src, {ip_b, Port(port)}, h));
    }
    sim.run(Duration::from_ms(3));  // the link's latency, B's SYN-ACKs, A dropping them
}

Bytes pump(FloodSim& sim, TcpSocket& from, TcpSocket& to_sock, const Bytes& data) {
    Bytes got;
    std::size_t sent = 0;
    Bytes buf(65536);
    const Instant end = sim.clock.now() + Duration::from_s(30);
    while (got.size() < data.size() && sim.clock.now() < end) {
        if (sent < data.size()) {
            const iovec v{const_cast<std::uint8_t*>(data.data() + sent), data.size() - sent};
            const long n = from.sendmsg({&v, 1}, Destination{}, 0, sim.clock.now());
            if (n > 0) sent += static_cast<std::size_t>(n);
        }
        sim.step();
        while (true) {
            const iovec v{buf.data(), buf.size()};
            RecvMeta meta;
            const long n = to_sock.recvmsg({&v, 1}, 0, meta);
            if (n <= 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + n);
        }
    }
    return got;
}

struct Connected {
    std::unique_ptr<TcpSocket> client;
    std::unique_ptr<TcpSocket> server;
};

Connected connect_to(FloodSim& sim, TcpSocket& l, std::uint16_t port) {
    Connected c;
    c.client = sim.a.tcp().create_socket();
    REQUIRE(c.client->connect(to(ip_b, port), sim.clock.now()) == -EINPROGRESS);
    sim.run(Duration::from_ms(20));
    REQUIRE(c.client->finish_connect() == 0);
    c.server = accept_one(l);
    REQUIRE(c.server != nullptr);
    REQUIRE(c.server->tcb()->state() == State::established);
    return c;
}

}  // namespace

TEST_CASE("SYN cookies: the cookie's ACK makes the connection, with MSS, window scale and SACK recovered",
          "[tcp][syncookie][sim]") {
    const unsigned before = pollux::test::pool_in_use();
    {
        FloodSim sim(2);  // tcp_syncookies 2: every SYN gets a cookie
        sim.run(Duration::from_ms(10));
        auto l = listener(sim.b, 80, 16);
        Connected c = connect_to(sim, *l, 80);
        const Counters k = counters(sim.b);
        CHECK(k.at("tcp.SyncookiesSent") == 1);
        CHECK(k.at("tcp.SyncookiesRecv") == 1);
        CHECK(k.at("tcp.SyncookiesFailed") == 0);
        CHECK(k.at("tcp.TCPReqQFullDoCookies") == 0);  // not because a queue was full
        CHECK(k.at("tcp.PassiveOpens") == 1);
        CHECK(sim.b.tcp().syn_backlog() == 0);  // nothing was held between SYN and ACK
        const auto* server = c.server->tcb();
        const auto* client = c.client->tcb();
        // The client offered 1460, a table value: kept; less the timestamp option.
        CHECK(server->effective_mss() == 1460 - 12);
        CHECK(server->timestamps_enabled());
        CHECK(client->timestamps_enabled());
        CHECK(server->sack_enabled());
        CHECK(client->sack_enabled());
        // Each side's send scale is what the other side's receive scale is.
        CHECK(server->snd_wscale() == client->rcv_wscale());
        CHECK(client->snd_wscale() == server->rcv_wscale());
        CHECK(server->rcv_wscale() > 0);
        const Bytes up = pattern(300'000, 1);
        const Bytes down = pattern(300'000, 2);
        CHECK(pump(sim, *c.client, *c.server, up) == up);
        CHECK(pump(sim, *c.server, *c.client, down) == down);
        // No RTT sample came from the cookie's echo (off by up to 63 ms): the smoothed RTT
        // is the link's (0.1 ms round trip plus a millisecond of polling), not tens of ms.
        CHECK(server->rtt().srtt() < Duration::from_ms(10));
    }
    CHECK(pollux::test::pool_in_use() == before);
}

TEST_CASE("SYN cookies without timestamps: only the MSS survives; no window scaling, no SACK",
          "[tcp][syncookie][sim]") {
    FloodSim sim(2, 4096, false);
    sim.run(Duration::from_ms(10));
    auto l = listener(sim.b, 80, 16);
    auto client = sim.a.tcp().create_socket();
    const int mss = 1400;  // rounded down to 1300 by the cookie's table
    REQUIRE(client->setsockopt(IPPROTO_TCP, TCP_MAXSEG, {reinterpret_cast<const std::uint8_t*>(&mss), sizeof mss}) ==
            0);
    REQUIRE(client->connect(to(ip_b, 80), sim.clock.now()) == -EINPROGRESS);
    sim.run(Duration::from_ms(20));
    REQUIRE(client->finish_connect() == 0);
    auto server = accept_one(*l);
    REQUIRE(server != nullptr);
    CHECK(server->tcb()->effective_mss() == 1300);
    CHECK_FALSE(server->tcb()->timestamps_enabled());
    CHECK_FALSE(server->tcb()->sack_enabled());
    CHECK_FALSE(client->tcb()->sack_enabled());
    CHECK(server->tcb()->snd_wscale() == 0);
    CHECK(client->tcb()->snd_wscale() == 0);
    CHECK(server->tcb()->rcv_wscale() == 0);
    const Bytes up = pattern(100'000, 3);
    CHECK(pump(sim, *client, *server, up) == up);
}

TEST_CASE("SYN queue: a listener's backlog of embryos, then cookies (TCPReqQFullDoCookies)", "[tcp][syncookie][sim]") {
    FloodSim sim(1);
    sim.run(Duration::from_ms(10));
    auto l = listener(sim.b, 80, 8);
    fill_syn_queue(sim, 80, 8);
    CHECK(sim.b.tcp().syn_backlog() == 8);
    CHECK(counters(sim.b).at("tcp.SyncookiesSent") == 0);
    fill_syn_queue(sim, 80, 5, 100);
    CHECK(sim.b.tcp().syn_backlog() == 8);  // bounded: the 5 got cookies, no state
    Counters k = counters(sim.b);
    CHECK(k.at("tcp.SyncookiesSent") == 5);
    CHECK(k.at("tcp.TCPReqQFullDoCookies") == 5);
    CHECK(k.at("tcp.PassiveOpens") == 8);
    // A real client still gets in, through a cookie.
    Connected c = connect_to(sim, *l, 80);
    k = counters(sim.b);
    CHECK(k.at("tcp.SyncookiesSent") == 6);
    CHECK(k.at("tcp.SyncookiesRecv") == 1);
    // The embryos time out after their SYN-ACK retransmissions (tcp_synack_retries 5:
    // 1+2+4+8+16+32 s) and the queue is empty again; later SYNs make embryos again.
    sim.run(Duration::from_s(64));
    CHECK(sim.b.tcp().syn_backlog() == 0);
    CHECK(sim.b.tcp().connections() == 1);
    fill_syn_queue(sim, 80, 1, 200);
    CHECK(sim.b.tcp().syn_backlog() == 1);
    CHECK(counters(sim.b).at("tcp.SyncookiesSent") == 6);
}

TEST_CASE("SYN queue: the shard's max_syn_backlog bounds all listeners together", "[tcp][syncookie][sim]") {
    FloodSim sim(1, 4);
    sim.run(Duration::from_ms(10));
    auto l80 = listener(sim.b, 80, 100);
    auto l81 = listener(sim.b, 81, 100);
    fill_syn_queue(sim, 80, 4);
    CHECK(sim.b.tcp().syn_backlog() == 4);
    fill_syn_queue(sim, 81, 3, 50);
    CHECK(sim.b.tcp().syn_backlog() == 4);
    CHECK(counters(sim.b).at("tcp.TCPReqQFullDoCookies") == 3);
    Connected c = connect_to(sim, *l81, 81);  // through a cookie
    CHECK(counters(sim.b).at("tcp.SyncookiesRecv") == 1);
    // Closing listener 80 frees its embryos, and the shard's count with them.
    l80->close();
    CHECK(sim.b.tcp().syn_backlog() == 0);
}

TEST_CASE("SYN queue full without cookies (tcp_syncookies 0): SYNs dropped and counted", "[tcp][syncookie][sim]") {
    FloodSim sim(0);
    sim.run(Duration::from_ms(10));
    auto l = listener(sim.b, 80, 4);
    fill_syn_queue(sim, 80, 4);
    fill_syn_queue(sim, 80, 3, 100);
    Counters k = counters(sim.b);
    CHECK(sim.b.tcp().syn_backlog() == 4);
    CHECK(k.at("tcp.TCPReqQFullDrop") == 3);
    CHECK(k.at("tcp.ListenDrops") == 3);
    CHECK(k.at("tcp.SyncookiesSent") == 0);
    // A real client's SYN is dropped too: it is still connecting after a while.
    auto client = sim.a.tcp().create_socket();
    REQUIRE(client->connect(to(ip_b, 80), sim.clock.now()) == -EINPROGRESS);
    sim.run(Duration::from_ms(500));
    CHECK(client->finish_connect() == -EAGAIN);  // still in SYN-SENT
    CHECK(counters(sim.b).at("tcp.TCPReqQFullDrop") == 4);
}

TEST_CASE("SYN cookies: a forged or stale cookie ACK is answered by RST and counted; none checked without overflow",
          "[tcp][syncookie][sim]") {
    FloodSim sim(1);
    sim.run(Duration::from_ms(10));
    auto l = listener(sim.b, 80, 2);
    const Endpoint src{ip_a, Port(5555)};
    TcpRepr ack;
    ack.src_port = src.port;
    ack.dst_port = Port(80);
    ack.seq = SeqNum(777);
    ack.ack = SeqNum(0x31337);
    ack.flags = TcpFlags::ack;
    ack.window = 1000;

    // No SYN queue overflow yet: the ACK is not even checked as a cookie (LISTEN: RST).
    REQUIRE(sim.inject(src, {ip_b, Port(80)}, ack));
    sim.run(Duration::from_ms(3));
    Counters k = counters(sim.b);
    CHECK(k.at("tcp.OutRsts") == 1);
    CHECK(k.at("tcp.SyncookiesFailed") == 0);

    // After an overflow it is checked, fails, is counted, and still gets its RST.
    fill_syn_queue(sim, 80, 3);
    REQUIRE(counters(sim.b).at("tcp.TCPReqQFullDoCookies") == 1);
    REQUIRE(sim.inject(src, {ip_b, Port(80)}, ack));
    sim.run(Duration::from_ms(3));
    k = counters(sim.b);
    CHECK(k.at("tcp.SyncookiesFailed") == 1);
    CHECK(k.at("tcp.OutRsts") == 2);
    CHECK(k.at("tcp.PassiveOpens") == 2);  // the two embryos only
    CHECK(sim.b.tcp().connections() == 2);

    // A cookie B made (as the client would echo it), returned in time: accepted. The same
    // kind of ACK three minutes later, with no overflow since: not checked, RST.
    const auto ack_for = [&](std::uint16_t port) {
        TcpRepr h = ack;
        h.src_port = Port(port);
        h.seq = SeqNum(42);
        h.ack = sim.b.tcp().syn_cookies().make(ip_b, Port(80), ip_a, h.src_port, SeqNum(41), 1460,
                                               sim.clock.now()) + 1;
        return h;
    };
    const TcpRepr fresh = ack_for(6667);
    REQUIRE(sim.inject({ip_a, fresh.src_port}, {ip_b, Port(80)}, fresh));
    sim.run(Duration::from_ms(3));
    CHECK(counters(sim.b).at("tcp.SyncookiesRecv") == 1);
    auto made = accept_one(*l);
    REQUIRE(made != nullptr);
    CHECK(made->tcb()->state() == State::established);
    CHECK(made->tcb()->effective_mss() == 1460);  // no timestamps in that ACK: the full table MSS
    sim.run(Duration::from_s(180));
    const std::uint64_t rsts = counters(sim.b).at("tcp.OutRsts");
    const TcpRepr late = ack_for(6668);
    REQUIRE(sim.inject({ip_a, late.src_port}, {ip_b, Port(80)}, late));
    sim.run(Duration::from_ms(3));
    k = counters(sim.b);
    CHECK(k.at("tcp.SyncookiesRecv") == 1);
    CHECK(k.at("tcp.SyncookiesFailed") == 1);  // not checked at all: no overflow for 3 minutes
    CHECK(k.at("tcp.OutRsts") == rsts + 1);
    CHECK(accept_one(*l) == nullptr);
}

namespace {

struct FloodResult {
    int connected = 0;        // clients whose connect() completed
    int accepted = 0;         // ... and that B's application accepted
    std::uint64_t spoofed = 0;  // SYNs the attacker put on the link
    std::uint32_t max_syn_backlog_seen = 0;
    std::size_t max_unaccepted_seen = 0;  // B's table minus the accepted connections
};

// 1,000 clients on A connect to B's listener (backlog 128), one every 0.5 ms, while an
// attacker on A's side of the link sends spoofed SYNs (random sources in 198.19.0.0/16,
// options like a real client's) at the rate of a 1 Gbit/s link: 74-byte frames plus 20
// bytes of preamble and gap, 1,329,787 per second, 1,330 per millisecond, for a second.
// B's application accepts whatever is queued every millisecond. A client that has not
// connected after 2 s (its SYN retransmitted once, at 1 s) counts as failed.
FloodResult syn_flood(int syn_cookies) {
    constexpr int clients = 1000;
    constexpr int backlog = 128;
    constexpr std::uint32_t max_syn_backlog = 1024;
    constexpr int spoofed_per_ms = 1330;
    FloodSim sim(syn_cookies, max_syn_backlog);
    sim.run(Duration::from_ms(10));
    auto l = listener(sim.b, 80, backlog);
    std::mt19937 rng(4987);
    std::vector<std::unique_ptr<TcpSocket>> socks;
    std::vector<std::unique_ptr<TcpSocket>> accepted;
    FloodResult r;
    const Instant flood_end = sim.clock.now() + Duration::from_s(1);
    const Instant end = sim.clock.now() + Duration::from_s(2);
    while (sim.clock.now() < end) {
        for (int i = 0; i < 2 && static_cast<int>(socks.size()) < clients; ++i) {
            socks.push_back(sim.a.tcp().create_socket());
            REQUIRE(socks.back()->connect(to(ip_b, 80), sim.clock.now()) == -EINPROGRESS);
        }
        // The millisecond in ten slices of 100 us (the link's latency is 50 us), so that the
        // frames in flight stay within the test's mbuf pool.
        for (int slice = 0; slice < 10; ++slice) {
            for (int i = 0; i < spoofed_per_ms / 10 && sim.clock.now() < flood_end; ++i) {
                const std::uint32_t x = static_cast<std::uint32_t>(rng());
                TcpRepr h = spoofed_syn(80, static_cast<std::uint32_t>(rng()), (x & 1) != 0);
                const Endpoint src = spoofed_source(x >> 8);
                h.src_port = src.port;
                if (sim.inject(src, {ip_b, Port(80)}, h)) ++r.spoofed;
            }
            sim.step(Duration::from_us(100));
        }
        while (auto s = accept_one(*l)) accepted.push_back(std::move(s));
        r.max_syn_backlog_seen = std::max(r.max_syn_backlog_seen, sim.b.tcp().syn_backlog());
        r.max_unaccepted_seen = std::max(r.max_unaccepted_seen, sim.b.tcp().connections() - accepted.size());
    }
    for (const auto& s : socks) {
        if (s->finish_connect() == 0) ++r.connected;
    }
    for (const auto& s : accepted) {
        if (s->tcb()->state() == State::established && s->remote().address == ip_a) ++r.accepted;
    }
    return r;
}

}  // namespace

TEST_CASE("SYN flood at link rate: 1,000 clients still connect through cookies, memory stays bounded",
          "[tcp][syncookie][sim][flood]") {
    const unsigned before = pollux::test::pool_in_use();
    const FloodResult with = syn_flood(1);
    const FloodResult without = syn_flood(0);
    WARN("SYN flood, " << with.spoofed << " spoofed SYNs in 1 s: with cookies " << with.connected
                       << " of 1000 clients connected (" << with.accepted << " accepted), SYN queue peak "
                       << with.max_syn_backlog_seen << ", unaccepted connections peak " << with.max_unaccepted_seen
                       << "; without cookies " << without.connected << " connected, SYN queue peak "
                       << without.max_syn_backlog_seen);
    CHECK(with.spoofed == 1'330'000);  // the flood really was at the link's rate
    CHECK(with.connected >= 990);      // at least 99 %
    CHECK(with.accepted == with.connected);
    // Memory: the SYN queue never passes the listener's backlog, and the connections B
    // holds that its application has not accepted are only those embryos (plus at most a
    // millisecond's worth of completed handshakes waiting for accept()).
    CHECK(with.max_syn_backlog_seen <= 128);
    CHECK(with.max_unaccepted_seen <= 128 + 10);
    // The same flood without cookies locks the clients out: the defence is what made the
    // difference.
    CHECK(without.connected < 100);
    CHECK(without.max_syn_backlog_seen == 128);
    CHECK(pollux::test::pool_in_use() == before);
}

TEST_CASE("Listener: SYN+FIN is discarded and counted, no SYN-ACK and no embryo (Linux tcp_rcv_state_process)",
          "[tcp][syncookie][sim]") {
    FloodSim sim(1);
    sim.run(Duration::from_ms(10));
    auto l = listener(sim.b, 80, 8);
    const Counters before = counters(sim.b);
    TcpRepr h = spoofed_syn(80, 1234, true);
    h.src_port = Port(4444);
    h.flags = TcpFlags::syn | TcpFlags::fin;
    REQUIRE(sim.inject({ip_a, h.src_port}, {ip_b, Port(80)}, h));
    sim.run(Duration::from_ms(3));
    const Counters after = counters(sim.b);
    CHECK(after.at("tcp.InErrs") == before.at("tcp.InErrs") + 1);
    CHECK(after.at("tcp.OutSegs") == before.at("tcp.OutSegs"));
    CHECK(after.at("tcp.PassiveOpens") == before.at("tcp.PassiveOpens"));
    CHECK(sim.b.tcp().connections() == 0);
    // The same SYN without FIN is a connection attempt as usual.
    h.flags = TcpFlags::syn;
    REQUIRE(sim.inject({ip_a, h.src_port}, {ip_b, Port(80)}, h));
    sim.run(Duration::from_ms(3));
    CHECK(counters(sim.b).at("tcp.PassiveOpens") == before.at("tcp.PassiveOpens") + 1);
}

TEST_CASE("SYN cookies: data whose cookie fails (its handshake ACK and first segment lost) gets no RST; "
          "its retransmission from ISN + 1 makes the connection",
          "[tcp][syncookie][sim]") {
    FloodSim sim(1);
    sim.run(Duration::from_ms(10));
    auto l = listener(sim.b, 80, 1);
    fill_syn_queue(sim, 80, 2);  // one embryo, one cookie: an overflow, so cookies are checked
    REQUIRE(counters(sim.b).at("tcp.TCPReqQFullDoCookies") == 1);
    const Port port(7000);
    const SeqNum isn(90000);
    const SeqNum cookie = sim.b.tcp().syn_cookies().make(ip_b, Port(80), ip_a, port, isn, 1460, sim.clock.now());
    TcpRepr second;  // the second data segment: SEG.SEQ = ISN + 1 + 100
    second.src_port = port;
    second.dst_port = Port(80);
    second.seq = isn + 101;
    second.ack = cookie + 1;
    second.flags = TcpFlags::ack | TcpFlags::psh;
    second.window = 1000;
    second.payload_len = 100;
    const std::uint64_t rsts = counters(sim.b).at("tcp.OutRsts");
    REQUIRE(sim.inject({ip_a, port}, {ip_b, Port(80)}, second));
    sim.run(Duration::from_ms(3));
    Counters k = counters(sim.b);
    CHECK(k.at("tcp.SyncookiesFailed") == 1);
    CHECK(k.at("tcp.OutRsts") == rsts);  // no RST: the client keeps its connection
    // The same without data (a blind ACK) is still reset, as RFC 9293 §3.10.7.2 says.
    TcpRepr blind = second;
    blind.payload_len = 0;
    REQUIRE(sim.inject({ip_a, port}, {ip_b, Port(80)}, blind));
    sim.run(Duration::from_ms(3));
    CHECK(counters(sim.b).at("tcp.OutRsts") == rsts + 1);
    // The client's retransmission from SND.UNA = ISN + 1: the cookie passes.
    TcpRepr first = second;
    first.seq = isn + 1;
    REQUIRE(sim.inject({ip_a, port}, {ip_b, Port(80)}, first));
    sim.run(Duration::from_ms(3));
    CHECK(counters(sim.b).at("tcp.SyncookiesRecv") == 1);
    auto made = accept_one(*l);
    REQUIRE(made != nullptr);
    CHECK(made->tcb()->state() == State::established);
    CHECK(made->tcb()->readable_bytes() == 100);
}
