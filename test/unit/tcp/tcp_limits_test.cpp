// TCP hardening through the layer, two shards over a SimLink on virtual time (issue #6):
// ICMP "fragmentation needed" checked against the connection (RFC 5927 §4.1) and made safe
// (floor, next-hop MTU 0); the TIME-WAIT and orphan caps; an orphan's FIN-WAIT-2 timeout;
// the rate limit of RSTs to segments for no connection. Each rule: the transition, then
// the counter.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "tcp/tcp_socket.hpp"
#include "unit/runtime/two_shards.hpp"

using namespace pollux::test::two_shards;
using pollux::socket::Destination;
using pollux::socket::RecvMeta;
using pollux::tcp::State;
using pollux::tcp::TcpLayerConfig;
using pollux::tcp::TcpSocket;
using pollux::wire::Endpoint;
using pollux::wire::Port;
using pollux::wire::SeqNum;

namespace {

// Two shards as two_shards::Sim has them, with each TCP layer's configuration given.
struct LimitSim {
    explicit LimitSim(const TcpLayerConfig& tcp_a = {}, const TcpLayerConfig& tcp_b = {})
        : link(clock, link_config()),
          a(link.a(), clock, config(link.a(), ip_a, tcp_a)),
          b(link.b(), clock, config(link.b(), ip_b, tcp_b)) {
        a.start();
        b.start();
        run(Duration::from_ms(10));
    }
    static ShardConfig config(const pollux::phy::Port& port, Ipv4Address addr, const TcpLayerConfig& tcp) {
        ShardConfig c = shard_config(port, addr, std::nullopt);
        c.tcp = tcp;
        return c;
    }
    void run(Duration d) {
        a.flush();
        b.flush();
        const Instant end = clock.now() + d;
        while (clock.now() < end) {
            a.poll_once();
            b.poll_once();
            clock.advance(Duration::from_ms(1));
        }
    }

    ManualClock clock{Instant::from_ns(1'000'000'000)};
    SimLink link;
    Shard a;
    Shard b;
};

Destination to(Ipv4Address a, std::uint16_t port) {
    Destination d;
    d.present = true;
    d.endpoint = {a, Port(port)};
    return d;
}

struct Pair {
    std::unique_ptr<TcpSocket> client;  // on A
    std::unique_ptr<TcpSocket> server;  // on B
};

std::unique_ptr<TcpSocket> listen_on(Shard& shard, std::uint16_t port) {
    auto s = shard.tcp().create_socket();
    REQUIRE(s->bind({Ipv4Address::any(), Port(port)}) == 0);
    REQUIRE(s->listen(16) == 0);
    return s;
}

// A connects to B's `listener`; both ends established.
Pair open_pair(LimitSim& sim, TcpSocket& listener) {
    Pair p;
    p.client = sim.a.tcp().create_socket();
    REQUIRE(p.client->connect(to(ip_b, 80), sim.clock.now()) == -EINPROGRESS);
    sim.run(Duration::from_ms(20));
    REQUIRE(p.client->finish_connect() == 0);
    pollux::socket::Socket* accepted = nullptr;
    Endpoint peer;
    REQUIRE(listener.accept(accepted, peer) == 0);
    p.server.reset(static_cast<TcpSocket*>(accepted));
    REQUIRE(p.server->tcb()->state() == State::established);
    return p;
}

long send_all(TcpSocket& s, const Bytes& data, Instant now) {
    const iovec v{const_cast<std::uint8_t*>(data.data()), data.size()};
    return s.sendmsg({&v, 1}, Destination{}, 0, now);
}

Bytes recv_all(TcpSocket& s) {
    Bytes got;
    Bytes buf(65536);
    while (true) {
        const iovec v{buf.data(), buf.size()};
        RecvMeta meta;
        const long n = s.recvmsg({&v, 1}, 0, meta);
        if (n <= 0) break;
        got.insert(got.end(), buf.begin(), buf.begin() + n);
    }
    return got;
}

// A destination unreachable of `code` from a router on the path, about a segment that
// `client` (on A) sent with sequence number `seq`: the quoted datagram's total length is
// `quoted_len`, its first 20 bytes of TCP are the header. B's IP layer delivers it to A,
// the way any host on the path could.
void unreachable(LimitSim& sim, const TcpSocket& client, SeqNum seq, std::uint8_t code, std::uint16_t mtu = 0,
                 std::uint16_t quoted_len = 1500) {
    pollux::wire::Ipv4Repr quoted_ip =
        ipv4_header(ip_a, client.remote().address, static_cast<std::uint8_t>(IpProtocol::tcp));
    quoted_ip.payload_len = static_cast<std::uint16_t>(quoted_len - 20);
    quoted_ip.dont_fragment = true;
    pollux::wire::TcpRepr tcp;
    tcp.src_port = client.local().port;
    tcp.dst_port = client.remote().port;
    tcp.seq = seq;
    tcp.flags = pollux::wire::TcpFlags::ack;
    Bytes quoted(40);
    quoted_ip.emit(std::span(quoted).first(20));
    tcp.emit_header(std::span(quoted).subspan(20, 20), ip_a, client.remote().address);
    const Bytes msg = icmp_error(IcmpType::dest_unreachable, code, quoted, mtu);
    Ipv4Repr h;
    h.dst = ip_a;
    h.protocol = IpProtocol::icmp;
    REQUIRE(sim.b.ipv4().output(packet(msg), h, sim.clock.now()) == OutputResult::ok);
}

// "Fragmentation needed" (type 3 code 4, RFC 1191) with next-hop MTU `mtu`.
void frag_needed(LimitSim& sim, const TcpSocket& client, SeqNum seq, std::uint16_t mtu,
                 std::uint16_t quoted_len = 1500) {
    unreachable(sim, client, seq, 4, mtu, quoted_len);
}

std::uint64_t counter(const Shard& s, const char* name) { return counters(s).at(name); }

tcp_info info_of(TcpSocket& s) {
    tcp_info info{};
    std::size_t len = sizeof info;
    REQUIRE(s.getsockopt(IPPROTO_TCP, TCP_INFO, {reinterpret_cast<std::uint8_t*>(&info), sizeof info}, len) == 0);
    return info;
}

// getsockopt(IPPROTO_IP, IP_MTU): the MTU, or -errno.
int ip_mtu(TcpSocket& s) {
    int v = 0;
    std::size_t len = sizeof v;
    const int r = s.getsockopt(IPPROTO_IP, IP_MTU, {reinterpret_cast<std::uint8_t*>(&v), sizeof v}, len);
    return r < 0 ? r : v;
}

}  // namespace

TEST_CASE("PMTU: frag needed in window lowers the MSS; segments on the wire shrink to it", "[tcp][sim][pmtu]") {
    const unsigned before = pool_in_use();
    {
        LimitSim sim;
        auto listener = listen_on(sim.b, 80);
        Pair p = open_pair(sim, *listener);
        const pollux::tcp::Tcb& c = *p.client->tcb();
        REQUIRE(c.timestamps_enabled());
        CHECK(c.effective_mss() == 1448);
        CHECK(info_of(*p.client).tcpi_pmtu == 1500);
        CHECK(ip_mtu(*p.client) == 1500);
        CHECK(ip_mtu(*listener) == -ENOTCONN);  // Linux: a listener has no route cached
        // Nothing in flight: SND.UNA = SND.NXT is the only sequence number in the window.
        frag_needed(sim, *p.client, c.snd_una(), 1280);
        sim.run(Duration::from_ms(5));
        CHECK(counter(sim.a, "tcp.PMTUReductions") == 1);
        CHECK(counter(sim.a, "tcp.OutOfWindowIcmps") == 0);
        CHECK(c.path_mtu() == 1280);
        CHECK(c.effective_mss() == 1228);  // 1280 - 40 - 12 (timestamps)
        CHECK(info_of(*p.client).tcpi_pmtu == 1280);
        CHECK(info_of(*p.client).tcpi_snd_mss == 1228);
        CHECK(ip_mtu(*p.client) == 1280);
        // On the wire: B never receives a segment larger than the new MSS, and full ones
        // are exactly that size.
        const Bytes data = pattern(100'000, 7);
        Bytes got;
        std::size_t sent = 0;
        for (int i = 0; i < 2000 && got.size() < data.size(); ++i) {
            if (sent < data.size()) {
                const Bytes rest(data.begin() + static_cast<std::ptrdiff_t>(sent), data.end());
                const long n = send_all(*p.client, rest, sim.clock.now());
                if (n > 0) sent += static_cast<std::size_t>(n);
            }
            sim.run(Duration::from_ms(1));
            const Bytes more = recv_all(*p.server);
            got.insert(got.end(), more.begin(), more.end());
        }
        CHECK(got == data);
        CHECK(p.server->tcb()->largest_segment_received() == 1228);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("PMTU: frag needed about data in flight resends it at once in the new size", "[tcp][sim][pmtu]") {
    LimitSim sim;
    auto listener = listen_on(sim.b, 80);
    Pair p = open_pair(sim, *listener);
    const pollux::tcp::Tcb& c = *p.client->tcb();
    const std::uint64_t retrans = counter(sim.a, "tcp.RetransSegs");
    // 8000 bytes leave A (all in the initial window) while the ICMP message is on its way
    // to A: it arrives before B's ACK, quoting the first segment.
    const Bytes data = pattern(8000, 3);
    REQUIRE(send_all(*p.client, data, sim.clock.now()) == 8000);
    const SeqNum first = c.snd_una();
    frag_needed(sim, *p.client, first, 1280);
    sim.run(Duration::from_ms(1));
    REQUIRE(c.snd_max() == first + 8000);
    sim.run(Duration::from_ms(1));
    CHECK(counter(sim.a, "tcp.PMTUReductions") == 1);
    CHECK(c.effective_mss() == 1228);
    // ceil(8000 / 1228) = 7 segments resent, without waiting for a timeout.
    CHECK(counter(sim.a, "tcp.RetransSegs") - retrans == 7);
    sim.run(Duration::from_ms(20));
    CHECK(recv_all(*p.server) == data);
    CHECK(c.snd_una() == first + 8000);
}

TEST_CASE("PMTU: frag needed quoting a sequence number outside [SND.UNA, SND.NXT] is ignored and counted",
          "[tcp][sim][pmtu]") {
    LimitSim sim;
    auto listener = listen_on(sim.b, 80);
    Pair p = open_pair(sim, *listener);
    const pollux::tcp::Tcb& c = *p.client->tcb();
    const SeqNum una = c.snd_una();
    frag_needed(sim, *p.client, una + 1, 600);          // beyond SND.NXT (nothing in flight)
    frag_needed(sim, *p.client, una - 1, 600);          // already acknowledged
    frag_needed(sim, *p.client, una + 0x40000000, 600);  // a blind guess
    sim.run(Duration::from_ms(5));
    CHECK(counter(sim.a, "tcp.OutOfWindowIcmps") == 3);
    CHECK(counter(sim.a, "tcp.PMTUReductions") == 0);
    CHECK(c.path_mtu() == 1500);
    CHECK(c.effective_mss() == 1448);
    CHECK(c.state() == State::established);
}

TEST_CASE("ICMP errors: a port unreachable that quotes a sequence number not sent does not abort a connect",
          "[tcp][sim][pmtu]") {
    LimitSim sim;
    auto client = sim.a.tcp().create_socket();
    // 198.18.0.3 does not answer ARP: the connection stays in SYN-SENT.
    REQUIRE(client->connect(to(ip(0, 3), 80), sim.clock.now()) == -EINPROGRESS);
    sim.run(Duration::from_ms(5));
    REQUIRE(client->tcb()->state() == State::syn_sent);
    const SeqNum iss = client->tcb()->snd_una();
    unreachable(sim, *client, iss + 1000, 3);
    unreachable(sim, *client, iss - 1, 3);
    sim.run(Duration::from_ms(5));
    CHECK(counter(sim.a, "tcp.OutOfWindowIcmps") == 2);
    CHECK(client->finish_connect() == -EAGAIN);
    // Quoting our SYN: a hard error for a connection still opening (Linux tcp_v4_err).
    unreachable(sim, *client, iss, 3);
    sim.run(Duration::from_ms(5));
    CHECK(client->finish_connect() == -ECONNREFUSED);
}

TEST_CASE("PMTU: an MTU below 552 is clamped to it; next-hop MTU 0 takes the RFC 1191 plateau", "[tcp][sim][pmtu]") {
    LimitSim sim;
    auto listener = listen_on(sim.b, 80);
    Pair p = open_pair(sim, *listener);
    const pollux::tcp::Tcb& c = *p.client->tcb();
    // A pre-RFC 1191 router: no MTU, a 1500-byte datagram did not fit: plateau 1492.
    frag_needed(sim, *p.client, c.snd_una(), 0, 1500);
    sim.run(Duration::from_ms(5));
    CHECK(c.path_mtu() == 1492);
    CHECK(c.effective_mss() == 1440);
    // 68 is RFC 1191's floor; pollux (as Linux's min_pmtu) holds at 552.
    frag_needed(sim, *p.client, c.snd_una(), 68);
    sim.run(Duration::from_ms(5));
    CHECK(c.path_mtu() == 552);
    CHECK(c.effective_mss() == 500);  // 552 - 40 - 12
    // Lower again: still 552, no change.
    frag_needed(sim, *p.client, c.snd_una(), 300);
    sim.run(Duration::from_ms(5));
    CHECK(c.path_mtu() == 552);
    CHECK(counter(sim.a, "tcp.PMTUReductions") == 2);
    // A larger MTU does not raise it (RFC 1191 §6.3).
    frag_needed(sim, *p.client, c.snd_una(), 1400);
    sim.run(Duration::from_ms(5));
    CHECK(c.path_mtu() == 552);
    CHECK(counter(sim.a, "tcp.PMTUReductions") == 2);
}

TEST_CASE("TIME-WAIT cap: beyond tcp_max_tw_buckets a connection closes instead, counted", "[tcp][sim][limits]") {
    const unsigned before = pool_in_use();
    {
        TcpLayerConfig tcp_a;
        tcp_a.max_time_wait = 1;
        LimitSim sim(tcp_a);
        auto listener = listen_on(sim.b, 80);
        Pair p1 = open_pair(sim, *listener);
        Pair p2 = open_pair(sim, *listener);
        // The first: closed by the application (an orphan), reaches TIME-WAIT.
        p1.client->close();
        REQUIRE(p1.client->orphaned_on_close());
        TcpSocket& orphan = *p1.client.release();
        sim.run(Duration::from_ms(20));
        p1.server->close();
        (void)p1.server.release();
        sim.run(Duration::from_ms(20));
        REQUIRE(orphan.tcb()->state() == State::time_wait);
        CHECK(sim.a.tcp().time_wait_connections() == 1);
        CHECK(sim.a.tcp().orphans() == 0);  // TIME-WAIT is no orphan (Linux tcp_orphan_count)
        // The second: still held by the application; the cap is reached: no TIME-WAIT.
        REQUIRE(p2.client->shutdown(SHUT_WR) == 0);
        sim.run(Duration::from_ms(20));
        REQUIRE(p2.client->tcb()->state() == State::fin_wait_2);
        p2.server->close();
        (void)p2.server.release();
        sim.run(Duration::from_ms(20));
        CHECK(p2.client->tcb()->state() == State::closed);
        CHECK(counter(sim.a, "tcp.TCPTimeWaitOverflow") == 1);
        CHECK(sim.a.tcp().time_wait_connections() == 1);
        CHECK(sim.a.tcp().connections() == 1);
        CHECK(counter(sim.a, "tcp.OutRsts") == 0);  // closed quietly: the peer had our last ACK
        CHECK(sim.b.tcp().connections() == 0);      // both servers finished LAST-ACK
        // The first leaves TIME-WAIT after 60 s: its place is free again.
        sim.run(Duration::from_s(61));
        CHECK(sim.a.tcp().time_wait_connections() == 0);
        CHECK(sim.a.tcp().connections() == 0);
        Pair p3 = open_pair(sim, *listener);
        REQUIRE(p3.client->shutdown(SHUT_WR) == 0);
        sim.run(Duration::from_ms(20));
        p3.server->close();
        (void)p3.server.release();
        sim.run(Duration::from_ms(20));
        CHECK(p3.client->tcb()->state() == State::time_wait);
        CHECK(sim.a.tcp().time_wait_connections() == 1);
        CHECK(counter(sim.a, "tcp.TCPTimeWaitOverflow") == 1);
        // connect(AF_UNSPEC) drops the connection: the place is given back, once.
        REQUIRE(p3.client->connect(Destination{}, sim.clock.now()) == 0);
        CHECK(sim.a.tcp().time_wait_connections() == 0);
        p3.client.reset();
        CHECK(sim.a.tcp().time_wait_connections() == 0);
        // A socket freed in TIME-WAIT gives its place back too.
        Pair p4 = open_pair(sim, *listener);
        REQUIRE(p4.client->shutdown(SHUT_WR) == 0);
        sim.run(Duration::from_ms(20));
        p4.server->close();
        (void)p4.server.release();
        sim.run(Duration::from_ms(20));
        REQUIRE(p4.client->tcb()->state() == State::time_wait);
        CHECK(sim.a.tcp().time_wait_connections() == 1);
        p4.client.reset();
        CHECK(sim.a.tcp().time_wait_connections() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("orphan cap: beyond tcp_max_orphans a closed connection is reset, counted", "[tcp][sim][limits]") {
    TcpLayerConfig tcp_a;
    tcp_a.max_orphans = 1;
    LimitSim sim(tcp_a);
    auto listener = listen_on(sim.b, 80);
    Pair p1 = open_pair(sim, *listener);
    Pair p2 = open_pair(sim, *listener);
    p1.client->close();
    REQUIRE(p1.client->orphaned_on_close());
    (void)p1.client.release();
    sim.run(Duration::from_ms(20));
    CHECK(sim.a.tcp().orphans() == 1);  // FIN-WAIT-2, the peer has not closed
    p2.client->close();
    REQUIRE_FALSE(p2.client->orphaned_on_close());  // else the layer owns it
    CHECK(p2.client->tcb()->state() == State::closed);
    CHECK(counter(sim.a, "tcp.TCPAbortOnMemory") == 1);
    CHECK(counter(sim.a, "tcp.OutRsts") == 1);
    CHECK(sim.a.tcp().orphans() == 1);
    p2.client.reset();
    sim.run(Duration::from_ms(20));
    // The peer learns of it by the RST.
    CHECK(p2.server->tcb()->state() == State::closed);
    Bytes b(16);
    const iovec v{b.data(), b.size()};
    RecvMeta meta;
    CHECK(p2.server->recvmsg({&v, 1}, 0, meta) == -ECONNRESET);
    CHECK(p1.server->tcb()->state() == State::close_wait);
}

TEST_CASE("FIN-WAIT-2: an orphan the peer never closes is freed after tcp_fin_timeout", "[tcp][sim][limits]") {
    TcpLayerConfig tcp_a;
    tcp_a.tcb.fin_timeout = Duration::from_s(5);
    LimitSim sim(tcp_a);
    auto listener = listen_on(sim.b, 80);
    Pair p = open_pair(sim, *listener);
    p.client->close();
    TcpSocket& orphan = *p.client.release();
    sim.run(Duration::from_ms(20));
    REQUIRE(orphan.tcb()->state() == State::fin_wait_2);
    CHECK(sim.a.tcp().orphans() == 1);
    const std::uint64_t b_in = counter(sim.b, "tcp.InSegs");
    sim.run(Duration::from_ms(4900));
    CHECK(sim.a.tcp().orphans() == 1);
    CHECK(sim.a.tcp().connections() == 1);
    sim.run(Duration::from_ms(200));
    CHECK(sim.a.tcp().orphans() == 0);
    CHECK(sim.a.tcp().connections() == 0);
    CHECK(counter(sim.b, "tcp.InSegs") == b_in);  // gone quietly: no RST, no FIN
    CHECK(p.server->tcb()->state() == State::close_wait);
}

TEST_CASE("RST rate limit: a burst to closed ports, then suppression, then refill", "[tcp][sim][limits]") {
    TcpLayerConfig tcp_b;
    tcp_b.rst_per_sec = 10;  // one per 100 ms
    tcp_b.rst_burst = 3;
    LimitSim sim({}, tcp_b);
    std::vector<std::unique_ptr<TcpSocket>> clients;
    const auto connect_n = [&](int n) {
        for (int i = 0; i < n; ++i) {
            clients.push_back(sim.a.tcp().create_socket());
            REQUIRE(clients.back()->connect(to(ip_b, 81), sim.clock.now()) == -EINPROGRESS);
        }
        sim.run(Duration::from_ms(10));
    };
    const auto refused = [&]() {
        int n = 0;
        for (auto& c : clients) n += c->tcb() == nullptr || c->tcb()->state() == State::closed ? 1 : 0;
        return n;
    };
    connect_n(5);  // the burst of 3 is answered, 2 are not
    CHECK(counter(sim.b, "tcp.OutRsts") == 3);
    CHECK(counter(sim.b, "tcp.OutRstRateLimited") == 2);
    CHECK(refused() == 3);
    sim.run(Duration::from_ms(140));  // ~150 ms since the burst: one token back
    connect_n(2);
    CHECK(counter(sim.b, "tcp.OutRsts") == 4);
    CHECK(counter(sim.b, "tcp.OutRstRateLimited") == 3);
    sim.run(Duration::from_ms(500));  // far more than the burst's worth: the bucket holds 3
    connect_n(4);
    CHECK(counter(sim.b, "tcp.OutRsts") == 7);
    CHECK(counter(sim.b, "tcp.OutRstRateLimited") == 4);
    CHECK(refused() == 7);
}

TEST_CASE("RST rate limit: loopback is never limited", "[tcp][sim][limits]") {
    TcpLayerConfig tcp_a;
    tcp_a.rst_per_sec = 1;
    tcp_a.rst_burst = 1;
    LimitSim sim(tcp_a);
    for (int i = 0; i < 4; ++i) {
        auto c = sim.a.tcp().create_socket();
        REQUIRE(c->connect(to(ip_a, 81), sim.clock.now()) == -EINPROGRESS);
        sim.run(Duration::from_ms(5));
        CHECK(c->finish_connect() == -ECONNREFUSED);
    }
    CHECK(counter(sim.a, "tcp.OutRstRateLimited") == 0);
    CHECK(counter(sim.a, "tcp.OutRsts") == 4);
}
