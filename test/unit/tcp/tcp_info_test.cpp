// fill_tcp_info() against a Tcb driven by forged segments on a manual clock: what
// getsockopt(TCP_INFO) and /pollux/sockets report, compared with Linux's tcp_get_info().
#include <catch2/catch.hpp>

#include <deque>
#include <string>

#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

#include "support/eal.hpp"
#include "support/packets.hpp"
#include "tcb_fixture.hpp"
#include "tcp/tcp_info.hpp"
#include "tcp/tcp_socket.hpp"
#include "unit/runtime/two_shards.hpp"

using namespace pollux;
using tcp::State;
using tcp::Tcb;
using time::Duration;
using time::Instant;
using wire::SeqNum;
using wire::TcpFlags;

namespace {

struct Discard final : tcp::SegmentOutput {
    void transmit(const wire::TcpRepr& header, buf::PacketBuf&&) noexcept override { sent.push_back(header); }
    std::deque<wire::TcpRepr> sent;
};

const wire::Endpoint kLocal{wire::Ipv4Address(198, 18, 0, 2), wire::Port(80)};
const wire::Endpoint kRemote{wire::Ipv4Address(198, 18, 0, 1), wire::Port(40000)};
constexpr std::uint32_t kPeerIsn = 5000;
constexpr std::uint32_t kIss = 1000;

struct Fixture {
    Fixture() : tcb(cfg, out, test::mbuf_pool(), kLocal, kRemote) {}

    wire::TcpRepr seg(std::uint8_t flags, SeqNum seq, SeqNum ack) const {
        wire::TcpRepr h;
        h.src_port = kRemote.port;
        h.dst_port = kLocal.port;
        h.seq = seq;
        h.ack = ack;
        h.flags = flags;
        h.window = 65535;
        return h;
    }
    void feed(const wire::TcpRepr& h) {
        tcp::Segment s;
        s.header = h;
        tcb.input(std::move(s), now);
    }
    void advance(Duration d) {
        const Instant end = now + d;
        while (tcb.poll_at() <= end) {
            now = tcb.poll_at();
            tcb.on_timer(now);
        }
        now = end;
    }
    long send(std::size_t n) {
        const test::Bytes b = test::pattern(n, 1);
        const iovec v{const_cast<std::uint8_t*>(b.data()), b.size()};
        return tcb.send({&v, 1}, now);
    }
    struct tcp_info info() const {
        struct tcp_info i;
        tcp::fill_tcp_info(tcb, now, i);
        return i;
    }
    // A passive open without options: no scaling, timestamps or SACK; the peer's MSS is
    // RFC 9293's default 536.
    void establish_plain() {
        tcb.accept_syn(seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0)), SeqNum(kIss), now);
        feed(seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(kIss + 1)));
        REQUIRE(tcb.state() == State::established);
    }

    tcp::TcbConfig cfg;
    Discard out;
    Instant now = Instant::from_ns(1'000'000'000'000);
    Tcb tcb;
};

}  // namespace

TEST_CASE("tcpi_state uses Linux's numbering, not pollux's enum order", "[tcp][tcp_info]") {
    // include/net/tcp_states.h
    CHECK(tcp::linux_tcp_state(State::established) == 1);
    CHECK(tcp::linux_tcp_state(State::syn_sent) == 2);
    CHECK(tcp::linux_tcp_state(State::syn_received) == 3);
    CHECK(tcp::linux_tcp_state(State::fin_wait_1) == 4);
    CHECK(tcp::linux_tcp_state(State::fin_wait_2) == 5);
    CHECK(tcp::linux_tcp_state(State::time_wait) == 6);
    CHECK(tcp::linux_tcp_state(State::closed) == 7);
    CHECK(tcp::linux_tcp_state(State::close_wait) == 8);
    CHECK(tcp::linux_tcp_state(State::last_ack) == 9);
    CHECK(tcp::linux_tcp_state(State::listen) == 10);
    CHECK(tcp::linux_tcp_state(State::closing) == 11);
    CHECK(std::string(tcp::linux_tcp_state_name(1)) == "ESTABLISHED");
    CHECK(std::string(tcp::linux_tcp_state_name(3)) == "SYN_RECV");
    CHECK(std::string(tcp::linux_tcp_state_name(10)) == "LISTEN");
    CHECK(std::string(tcp::linux_tcp_state_name(0)) == "UNKNOWN");
}

TEST_CASE("tcp_info of an active open: options, wscale, MSS, the handshake's RTT, cwnd in segments",
          "[tcp][tcp_info]") {
    Fixture f;
    f.tcb.connect(SeqNum(kIss), f.now);
    REQUIRE(f.out.sent.size() == 1);
    const std::uint8_t our_wscale = f.out.sent.front().options.window_scale.value();
    CHECK(our_wscale == 2);  // 131072-byte receive buffer: 131072 >> 2 fits 16 bits

    struct tcp_info i = f.info();
    CHECK(i.tcpi_state == TCP_SYN_SENT);
    CHECK(i.tcpi_options == 0);  // nothing agreed before the SYN-ACK
    CHECK(i.tcpi_unacked == 1);  // the SYN
    CHECK(i.tcpi_rtt == 0);      // Linux before a sample: 0 and 250 ms
    CHECK(i.tcpi_rttvar == 250'000);
    CHECK(i.tcpi_rto == 1'000'000);

    f.now += Duration::from_ms(50);
    auto synack = f.seg(TcpFlags::syn | TcpFlags::ack, SeqNum(kPeerIsn), SeqNum(kIss + 1));
    synack.options.mss = 1400;
    synack.options.window_scale = 7;
    synack.options.sack_permitted = true;
    synack.options.timestamps = wire::TcpTimestamps{77, 0};
    f.feed(synack);
    REQUIRE(f.tcb.state() == State::established);

    i = f.info();
    CHECK(i.tcpi_state == TCP_ESTABLISHED);
    CHECK(i.tcpi_ca_state == TCP_CA_Open);
    CHECK(i.tcpi_options == (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE));
    CHECK(i.tcpi_snd_wscale == 7);
    CHECK(i.tcpi_rcv_wscale == our_wscale);
    CHECK(i.tcpi_snd_mss == 1400 - 12);  // the peer's MSS less the timestamp option
    CHECK(i.tcpi_advmss == 1460 - 12);
    CHECK(i.tcpi_pmtu == 1500);
    CHECK(i.tcpi_rtt == 50'000);    // SRTT = R
    CHECK(i.tcpi_rttvar == 25'000); // RTTVAR = R/2 (RFC 6298 §2.2)
    CHECK(i.tcpi_rto == 200'000);   // 50 + 4*25 ms, raised to the 200 ms floor
    CHECK(i.tcpi_ato == 40'000);
    CHECK(i.tcpi_snd_cwnd == 10);   // RFC 6928 IW: min(10*1388, max(2*1388, 14600)) bytes
    CHECK(i.tcpi_snd_ssthresh == 0x7fffffffu);  // TCP_INFINITE_SSTHRESH, as Linux shows it
    CHECK(i.tcpi_rcv_ssthresh == 131'072);
    CHECK(i.tcpi_reordering == 3);
    CHECK(i.tcpi_unacked == 0);
    CHECK(i.tcpi_retransmits == 0);
    CHECK(i.tcpi_total_retrans == 0);
}

TEST_CASE("tcp_info of a passive open without options", "[tcp][tcp_info]") {
    Fixture f;
    f.tcb.accept_syn(f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0)), SeqNum(kIss), f.now);
    CHECK(f.info().tcpi_state == TCP_SYN_RECV);
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(kIss + 1)));
    const struct tcp_info i = f.info();
    CHECK(i.tcpi_state == TCP_ESTABLISHED);
    CHECK(i.tcpi_options == 0);
    CHECK(i.tcpi_snd_wscale == 0);
    CHECK(i.tcpi_rcv_wscale == 0);
    CHECK(i.tcpi_snd_mss == 536);   // no MSS option: RFC 9293 §3.7.1's default
    CHECK(i.tcpi_advmss == 1460);   // no timestamps: nothing taken off
    CHECK(i.tcpi_rcv_ssthresh == 65'535);  // unscaled: the 16-bit field bounds the window
    CHECK(i.tcpi_snd_cwnd == 10);   // IW = min(10*536, max(2*536, 14600)) = 5360 bytes
}

TEST_CASE("tcp_info after an RTO: retransmits, backoff, Loss, cwnd one segment; an ACK clears them",
          "[tcp][tcp_info]") {
    Fixture f;
    f.establish_plain();
    REQUIRE(f.send(3 * 536) == 3 * 536);
    struct tcp_info i = f.info();
    CHECK(i.tcpi_unacked == 3);
    const std::uint32_t rto = i.tcpi_rto;
    f.out.sent.clear();

    f.advance(Duration::from_us(rto));  // the RTO fires once
    REQUIRE(!f.out.sent.empty());
    i = f.info();
    CHECK(i.tcpi_ca_state == TCP_CA_Loss);
    CHECK(i.tcpi_retransmits == 1);
    CHECK(i.tcpi_total_retrans == 1);
    CHECK(i.tcpi_backoff == 1);
    CHECK(i.tcpi_rto == 2 * rto);
    CHECK(i.tcpi_snd_cwnd == 1);  // RFC 5681 §3.1's loss window
    CHECK(i.tcpi_snd_ssthresh == 2);  // max(FlightSize/2, 2*SMSS) = 2 segments
    CHECK(i.tcpi_unacked == 3);   // still outstanding

    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(kIss + 1 + 3 * 536)));
    i = f.info();
    CHECK(i.tcpi_ca_state == TCP_CA_Open);
    CHECK(i.tcpi_retransmits == 0);
    CHECK(i.tcpi_total_retrans == 1);  // the total stays
    CHECK(i.tcpi_unacked == 0);
}

TEST_CASE("tcp_info of a listener and of a socket without a connection", "[tcp][tcp_info]") {
    struct tcp_info i;
    tcp::fill_listener_tcp_info(3, 128, i);
    CHECK(i.tcpi_state == TCP_LISTEN);
    CHECK(i.tcpi_unacked == 3);   // Linux: sk_ack_backlog
    CHECK(i.tcpi_sacked == 128);  // Linux: sk_max_ack_backlog
    CHECK(i.tcpi_rto == 0);
    tcp::fill_closed_tcp_info(i);
    CHECK(i.tcpi_state == TCP_CLOSE);
    CHECK(i.tcpi_unacked == 0);
    CHECK(i.tcpi_sacked == 0);
}

// TcpLayer::visit_sockets over two shards joined by the sim link: what /pollux/sockets
// walks. The listener is registered by hand here, as TcpSocket::listen() is to do.
TEST_CASE("visit_sockets: a listener with its queues, then each connection with its addresses",
          "[tcp][tcp_info][sim]") {
    using namespace pollux::test::two_shards;
    Sim sim;
    sim.run(Duration::from_ms(10));
    auto server = sim.b.tcp().create_socket();
    REQUIRE(server->bind({wire::Ipv4Address::any(), wire::Port(80)}) == 0);
    REQUIRE(server->listen(16) == 0);
    sim.b.tcp().note_listener(*server, 16);
    socket::Destination to;
    to.present = true;
    to.endpoint = {ip_b, wire::Port(80)};
    auto c1 = sim.a.tcp().create_socket();
    auto c2 = sim.a.tcp().create_socket();
    REQUIRE(c1->connect(to, sim.clock.now()) == -EINPROGRESS);
    REQUIRE(c2->connect(to, sim.clock.now()) == -EINPROGRESS);
    sim.a.flush();
    sim.run(Duration::from_ms(50));
    REQUIRE(c1->tcb()->state() == State::established);
    REQUIRE(c2->tcb()->state() == State::established);

    struct Seen {
        std::vector<tcp::TcpLayer::ListenerQueues> listeners;
        std::vector<std::pair<wire::Endpoint, wire::Endpoint>> connections;
        std::vector<std::uint8_t> states;
    };
    const auto walk = [&] {
        Seen s;
        sim.b.tcp().visit_sockets(
            [&](const tcp::TcpSocket& l, const tcp::TcpLayer::ListenerQueues& q) {
                CHECK(&l == server.get());
                s.listeners.push_back(q);
            },
            [&](const tcp::TcpSocket& c) {
                s.connections.emplace_back(c.local(), c.remote());
                struct tcp_info i;
                tcp::fill_tcp_info(*c.tcb(), sim.clock.now(), i);
                s.states.push_back(i.tcpi_state);
            });
        return s;
    };
    Seen s = walk();
    REQUIRE(s.listeners.size() == 1);
    CHECK(s.listeners[0].accept_queue == 2);
    CHECK(s.listeners[0].syn_queue == 0);
    CHECK(s.listeners[0].backlog == 16);
    REQUIRE(s.connections.size() == 2);
    for (const auto& [local, remote] : s.connections) {
        CHECK(local == wire::Endpoint{ip_b, wire::Port(80)});
        CHECK(remote.address == ip_a);
        CHECK((remote.port == c1->local().port || remote.port == c2->local().port));
    }
    CHECK(s.connections[0].second.port != s.connections[1].second.port);
    CHECK(s.states == std::vector<std::uint8_t>{TCP_ESTABLISHED, TCP_ESTABLISHED});

    socket::Socket* accepted = nullptr;
    wire::Endpoint peer;
    REQUIRE(server->accept(accepted, peer) == 0);
    std::unique_ptr<tcp::TcpSocket> conn(static_cast<tcp::TcpSocket*>(accepted));
    s = walk();
    REQUIRE(s.listeners.size() == 1);
    CHECK(s.listeners[0].accept_queue == 1);  // accepted connections leave the queue...
    CHECK(s.connections.size() == 2);         // ... not the table

    sim.b.tcp().forget_listener(*server);
    server->close();
    server.reset();
    s = walk();
    CHECK(s.listeners.empty());
    CHECK(s.connections.size() == 1);  // the queued one was reset with its listener (Linux too)
}

TEST_CASE("tcp_info: the last data sent and received, the last ACK, rcv_mss and probes", "[tcp][tcp_info]") {
    namespace tt = pollux::test::tcb;
    tt::Fixture f;
    f.establish();
    const auto info = [&f] {
        struct tcp_info i;
        tcp::fill_tcp_info(f.tcb, f.now, i);
        return i;
    };
    f.feed(f.seg(TcpFlags::ack, tt::kRcv, tt::kSnd), test::pattern(300, 1));
    f.feed(f.seg(TcpFlags::ack, tt::kRcv + 300, tt::kSnd), test::pattern(120, 2));
    f.now += Duration::from_ms(40);
    REQUIRE(f.send(test::pattern(100, 3)) == 100);
    f.now += Duration::from_ms(25);
    struct tcp_info i = info();
    CHECK(i.tcpi_rcv_mss == 300);
    CHECK(i.tcpi_last_data_recv == 65);
    CHECK(i.tcpi_last_ack_recv == 65);
    CHECK(i.tcpi_last_data_sent == 25);
    f.feed(f.seg(TcpFlags::ack, tt::kRcv + 420, tt::kSnd + 100, 0));  // acknowledged; window closed
    f.now += Duration::from_ms(5);
    i = info();
    CHECK(i.tcpi_last_ack_recv == 5);
    CHECK(i.tcpi_last_data_recv == 70);
    CHECK(i.tcpi_probes == 0);
    REQUIRE(f.send(test::pattern(50, 4)) == 50);
    f.out.drain();
    f.advance(Duration::from_s(4));  // zero-window probes, backing off
    i = info();
    CHECK(i.tcpi_probes >= 2);
    CHECK(static_cast<int>(i.tcpi_probes) == f.tcb.probes_out());
    f.feed(f.seg(TcpFlags::ack, tt::kRcv + 420, tt::kSnd + 100, 1000));  // the window opens
    CHECK(info().tcpi_probes == 0);
}
