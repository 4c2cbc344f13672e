// TCB transitions of the per-connection options: keepalive (RFC 1122 §4.2.3.6, Linux
// tcp_keepalive_timer), an orphan's FIN-WAIT-2 bound (tcp_fin_timeout), TCP_CORK and
// MSG_MORE (tcp(7)), TCP_CONGESTION, and what reads and writes return once a connection
// has ended (Linux tcp_recvmsg / tcp_sendmsg).
#include <catch2/catch.hpp>

#include <cerrno>
#include <string_view>

#include "tcb_fixture.hpp"
#include "tcp/cubic.hpp"

using namespace pollux;
using namespace pollux::test::tcb;
using pollux::test::pattern;
using tcp::State;
using time::Duration;
using wire::SeqNum;
using wire::TcpFlags;

namespace {

tcp::TcbConfig keepalive_config() {
    tcp::TcbConfig c;
    c.keepalive = true;
    c.keepalive_idle = Duration::from_s(10);
    c.keepalive_interval = Duration::from_s(2);
    c.keepalive_probes = 3;
    return c;
}

void require_keepalive_probe(const Sent& s) {
    CHECK(s.h.flags == TcpFlags::ack);
    CHECK(s.h.seq == kSnd - 1);  // SND.UNA - 1: the peer must answer it
    CHECK(s.h.ack == kRcv);
    CHECK(s.data.empty());
}

}  // namespace

TEST_CASE("keepalive: first probe after the idle time, then one per interval, reset after the count",
          "[tcp][tcb][keepalive]") {
    Fixture f(keepalive_config());
    f.establish();
    f.advance(Duration::from_ms(9'999));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    REQUIRE(f.out.sent.size() == 1);
    require_keepalive_probe(f.out.pop());
    CHECK(f.tcb.keepalive_probes_sent() == 1);
    f.advance(Duration::from_ms(1'999));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    require_keepalive_probe(f.out.pop());
    f.advance(Duration::from_s(2));
    require_keepalive_probe(f.out.pop());
    CHECK(f.tcb.keepalive_probes_sent() == 3);
    CHECK(f.tcb.state() == State::established);
    // TCP_KEEPCNT probes unanswered: at the next interval a RST, and ETIMEDOUT.
    f.advance(Duration::from_s(2));
    REQUIRE(f.out.sent.size() == 1);
    const Sent rst = f.out.pop();
    CHECK(rst.h.has(TcpFlags::rst));
    CHECK(rst.h.seq == kSnd);
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.recv_result() == -ETIMEDOUT);
    CHECK(f.recv_result() == 0);
    CHECK(f.tcb.poll_at() == time::Instant::max());
}

TEST_CASE("keepalive: an answer ends the probing and the idle time starts again from it", "[tcp][tcb][keepalive]") {
    Fixture f(keepalive_config());
    f.establish();
    f.advance(Duration::from_s(10));
    require_keepalive_probe(f.out.pop());
    f.advance(Duration::from_s(1));
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd));  // the peer's answer: its window, our SND.UNA
    CHECK(f.tcb.keepalive_probes_sent() == 0);
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(9'999));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    require_keepalive_probe(f.out.pop());
    // Data from the peer counts as much as an answer.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), pattern(10, 1));
    f.out.drain();  // its ACK
    f.advance(Duration::from_s(9));
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.state() == State::established);
}

TEST_CASE("keepalive: off by default, and silent while data is unacknowledged (the RTO watches it)",
          "[tcp][tcb][keepalive]") {
    Fixture off;
    off.establish();
    off.advance(Duration::from_s(3 * 3600));
    CHECK(off.out.sent.empty());
    CHECK(off.tcb.poll_at() == time::Instant::max());

    Fixture f(keepalive_config());
    f.establish();
    REQUIRE(f.send(pattern(100, 2)) == 100);
    f.out.pop();
    f.advance(Duration::from_s(12));
    // Only retransmissions of the data (1 s, 2 s, 4 s backoff), no probe at SND.UNA - 1.
    REQUIRE(!f.out.sent.empty());
    for (const Sent& s : f.out.sent) {
        CHECK(s.h.seq == kSnd);
        CHECK(s.data.size() == 100);
    }
}

TEST_CASE("keepalive: turned on later (SO_KEEPALIVE on an open connection) plans from the last segment",
          "[tcp][tcb][keepalive]") {
    Fixture f;
    f.establish();
    f.advance(Duration::from_s(30));
    const tcp::TcbConfig k = keepalive_config();
    f.tcb.set_keepalive(true, k.keepalive_idle, k.keepalive_interval, k.keepalive_probes);
    // Silent for 30 s already, longer than the idle time: the first probe is due at once.
    CHECK(f.tcb.poll_at() <= f.now);
    f.advance(Duration::zero());
    require_keepalive_probe(f.out.pop());
    f.tcb.set_keepalive(false, k.keepalive_idle, k.keepalive_interval, k.keepalive_probes);
    f.advance(Duration::from_s(100));
    CHECK(f.out.sent.empty());
}

TEST_CASE("FIN-WAIT-2: an orphan waits tcp_fin_timeout for the peer's FIN, then goes quietly",
          "[tcp][tcb][close]") {
    Fixture f;
    f.establish();
    f.tcb.close(f.now);
    const Sent fin = f.out.pop();
    REQUIRE(fin.h.has(TcpFlags::fin));
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 1));
    REQUIRE(f.tcb.state() == State::fin_wait_2);
    f.advance(Duration::from_ms(59'999));
    CHECK(f.tcb.state() == State::fin_wait_2);
    f.advance(Duration::from_ms(1));
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.poll_at() == time::Instant::max());
}

TEST_CASE("FIN-WAIT-2: after shutdown(SHUT_WR) the application still reads, so no bound applies",
          "[tcp][tcb][close]") {
    Fixture f;
    f.establish();
    f.tcb.shutdown_write(f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 1));
    REQUIRE(f.tcb.state() == State::fin_wait_2);
    f.advance(Duration::from_s(600));
    CHECK(f.tcb.state() == State::fin_wait_2);
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 1), pattern(20, 3));
    CHECK(f.recv().size() == 20);
}

TEST_CASE("TCP_CORK: only full segments leave; uncorking pushes the rest past Nagle", "[tcp][tcb][cork]") {
    Fixture f;
    f.establish();
    f.tcb.set_cork(true, f.now);
    REQUIRE(f.send(pattern(100, 4)) == 100);
    CHECK(f.out.sent.empty());
    REQUIRE(f.send(pattern(500, 5)) == 500);
    REQUIRE(f.out.sent.size() == 1);
    const Sent full = f.out.pop();
    CHECK(full.data.size() == kMss);
    CHECK(full.h.seq == kSnd);
    // 64 bytes left, the full segment unacknowledged: uncorking sends them at once.
    f.tcb.set_cork(false, f.now);
    REQUIRE(f.out.sent.size() == 1);
    const Sent rest = f.out.pop();
    CHECK(rest.h.seq == kSnd + kMss);
    CHECK(rest.data.size() == 64);
    CHECK(rest.h.has(TcpFlags::psh));
}

TEST_CASE("TCP_CORK: a held partial segment leaves after 200 ms (tcp(7))", "[tcp][tcb][cork]") {
    Fixture f;
    f.establish();
    f.tcb.set_cork(true, f.now);
    REQUIRE(f.send(pattern(100, 6)) == 100);
    f.advance(Duration::from_ms(199));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().data.size() == 100);
}

TEST_CASE("TCP_CORK: the FIN is not held behind a partial segment", "[tcp][tcb][cork]") {
    Fixture f;
    f.establish();
    f.tcb.set_cork(true, f.now);
    REQUIRE(f.send(pattern(100, 7)) == 100);
    CHECK(f.out.sent.empty());
    f.tcb.shutdown_write(f.now);
    REQUIRE(f.out.sent.size() == 1);
    const Sent s = f.out.pop();
    CHECK(s.data.size() == 100);
    CHECK(s.h.has(TcpFlags::fin));
}

TEST_CASE("MSG_MORE: the tail waits for the next send without it", "[tcp][tcb][cork]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(100, 8), true) == 100);
    CHECK(f.out.sent.empty());
    REQUIRE(f.send(pattern(50, 9)) == 50);
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().data == [] {
        test::Bytes b = pattern(100, 8);
        const test::Bytes c = pattern(50, 9);
        b.insert(b.end(), c.begin(), c.end());
        return b;
    }());
}

TEST_CASE("MSG_MORE: full segments leave; a held tail leaves on the next ACK or one RTO later",
          "[tcp][tcb][cork]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(kMss + 64, 10), true) == kMss + 64);
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().data.size() == kMss);
    // The ACK releases it: MSG_MORE held only that call's push (Linux tcp_push()).
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + kMss));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().data.size() == 64);

    Fixture g;
    g.establish();
    REQUIRE(g.send(pattern(30, 11), true) == 30);
    CHECK(g.out.sent.empty());
    g.advance(g.tcb.rtt().rto() - Duration::from_ms(1));
    CHECK(g.out.sent.empty());
    g.advance(Duration::from_ms(1));
    REQUIRE(g.out.sent.size() == 1);
    CHECK(g.out.pop().data.size() == 30);
}

TEST_CASE("after a reset: the error once, then reads return 0 and writes EPIPE (tcp_recvmsg, tcp_sendmsg)",
          "[tcp][tcb][close]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::rst, kRcv, SeqNum(0)));
    REQUIRE(f.tcb.state() == State::closed);
    CHECK(f.tcb.events().error == ECONNRESET);
    CHECK(f.recv_result() == -ECONNRESET);
    CHECK(f.recv_result() == 0);
    CHECK(f.send(pattern(10, 12)) == -EPIPE);
}

TEST_CASE("TCP_CONGESTION: a connection switches algorithm", "[tcp][tcb]") {
    tcp::TcbConfig c;
    c.congestion = "cubic";
    Fixture f(c);
    CHECK(std::string_view(f.tcb.congestion().name()) == "cubic");
    f.establish();
    f.tcb.set_congestion("reno");
    CHECK(std::string_view(f.tcb.congestion().name()) == "reno");
    f.tcb.set_congestion("vegas");  // unknown: nothing changes (the socket answered ENOENT)
    CHECK(std::string_view(f.tcb.congestion().name()) == "reno");
}

TEST_CASE("CUBIC is the default and receives the TCB's RTT samples (its target is W_cubic(t + RTT))",
          "[tcp][tcb][cubic]") {
    Fixture f;
    CHECK(std::string_view(f.tcb.congestion().name()) == "cubic");
    f.establish();
    const auto* cubic = dynamic_cast<const tcp::Cubic*>(&f.tcb.congestion());
    REQUIRE(cubic != nullptr);
    CHECK_FALSE(cubic->smoothed_rtt().has_value());
    REQUIRE(f.send(pattern(kMss, 3)) == kMss);
    f.out.drain();
    f.advance(time::Duration::from_ms(30));
    f.feed(f.seg(wire::TcpFlags::ack, kRcv, kSnd + kMss));
    // Before the fix the TCB handed CUBIC no sample at all, and it aimed at W_cubic(t).
    REQUIRE(cubic->smoothed_rtt().has_value());
    CHECK(*cubic->smoothed_rtt() == time::Duration::from_ms(30));
}
