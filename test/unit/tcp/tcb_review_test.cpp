// TCB review: transitions the first tcb_test.cpp leaves open, each pinned to the RFC clause
// that fixes the answer (RFC 9293, 5961, 7323, 6298, 5681, 6582, 1122, 2525). Same method:
// forge the peer's segments on a manual clock and check exactly what the TCB sends back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <vector>

#include "tcb_fixture.hpp"

using namespace pollux;
using namespace pollux::test::tcb;
using pollux::test::Bytes;
using pollux::test::contents;
using pollux::test::pattern;
using tcp::State;
using tcp::Tcb;
using time::Duration;
using time::Instant;
using wire::SeqNum;
using wire::TcpFlags;

namespace {

std::uint32_t ts_ms(Instant t) { return static_cast<std::uint32_t>(t.ns() / 1'000'000); }

}  // namespace

// ---------------------------------------------------------------- retransmission

TEST_CASE("review: RTO resends from SND.UNA with cwnd = 1 MSS, then go-back-N resumes (RFC 5681 §3.1, RFC 6298 §5.4)",
          "[tcp][tcb][review]") {
    tcp::TcbConfig reno;  // RFC 5681 eq. 4's FlightSize / 2 (CUBIC, the default, keeps 0.7)
    reno.congestion = "reno";
    Fixture f(reno);
    f.establish();
    REQUIRE(f.send(pattern(4 * kMss, 20)) == 4 * kMss);
    REQUIRE(f.out.sent.size() == 4);
    f.out.drain();
    f.advance(Duration::from_s(1));
    REQUIRE(f.out.sent.size() == 1);  // the loss window: one segment
    const Sent head = f.out.pop();
    CHECK(head.h.seq == kSnd);
    CHECK(head.data.size() == kMss);
    CHECK(f.tcb.congestion().cwnd() == kMss);
    // RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS) = max(1072, 1072).
    CHECK(f.tcb.congestion().ssthresh() == 2 * kMss);
    // The head is acknowledged: cwnd 2 MSS, and the next two segments go from there.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + kMss));
    REQUIRE(f.out.sent.size() == 2);
    const Sent a = f.out.pop();
    const Sent b = f.out.pop();
    CHECK(a.h.seq == kSnd + kMss);
    CHECK(b.h.seq == kSnd + 2 * kMss);
    CHECK(a.data.size() == kMss);
    CHECK(b.data.size() == kMss);
    // A cumulative ACK of everything ever sent moves SND.UNA past the rewound SND.NXT.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 4 * kMss));
    CHECK(f.tcb.snd_una() == kSnd + 4 * kMss);
    CHECK(f.tcb.snd_nxt() == kSnd + 4 * kMss);
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.poll_at() == Instant::max());
}

TEST_CASE("review: retries2 exhausted on an established connection gives ETIMEDOUT (RFC 1122 §4.2.3.5)",
          "[tcp][tcb][review]") {
    tcp::TcbConfig cfg;
    cfg.retries2 = 3;
    Fixture f(cfg);
    f.establish();
    const Instant start = f.now;
    REQUIRE(f.send(pattern(100, 21)) == 100);
    f.out.pop();
    std::vector<std::int64_t> at_ms;
    while (f.tcb.state() == State::established && f.now - start < Duration::from_s(100)) {
        f.advance(Duration::from_ms(10));
        while (!f.out.sent.empty()) {
            const Sent s = f.out.pop();
            CHECK(s.h.seq == kSnd);
            CHECK(s.data.size() == 100);
            at_ms.push_back((f.now - start).ms() / 10 * 10);
        }
    }
    CHECK(at_ms == std::vector<std::int64_t>{1000, 3000, 7000});
    CHECK(f.tcb.state() == State::closed);
    CHECK((f.now - start).ms() / 1000 == 15);
    CHECK(f.tcb.events().error == ETIMEDOUT);
    CHECK(f.tcb.events().hang_up);
    CHECK(f.send(pattern(10, 22)) == -ETIMEDOUT);
    // Once the error is reported the connection is over: Linux's tcp_sendmsg() then fails
    // with EPIPE (tcp_done() shut both directions), not ENOTCONN.
    CHECK(f.send(pattern(10, 22)) == -EPIPE);
    CHECK(f.tcb.poll_at() == Instant::max());
}

TEST_CASE("review: RTT from echoed timestamps, also for a retransmitted segment (RFC 7323 §4.1, RFC 6298 §3)",
          "[tcp][tcb][review]") {
    Fixture f;
    auto syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
    syn.options.timestamps = wire::TcpTimestamps{100, 0};
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    const Sent synack = f.out.pop();
    REQUIRE(synack.h.options.timestamps.has_value());
    auto ack = f.seg(TcpFlags::ack, kRcv, kSnd);
    ack.options.timestamps = wire::TcpTimestamps{101, 0};  // no echo: no sample
    f.feed(ack);
    REQUIRE(f.tcb.state() == State::established);
    CHECK(f.tcb.rtt().srtt() == Duration{});

    REQUIRE(f.send(pattern(100, 23)) == 100);
    const Sent data = f.out.pop();
    REQUIRE(data.h.options.timestamps.has_value());
    CHECK(data.h.options.timestamps->value == ts_ms(f.now));
    CHECK(data.h.options.timestamps->echo == 101);  // TS.Recent
    CHECK(data.data.size() == 100 - 0);
    f.advance(Duration::from_ms(50));
    auto ack1 = f.seg(TcpFlags::ack, kRcv, kSnd + 100);
    ack1.options.timestamps = wire::TcpTimestamps{102, data.h.options.timestamps->value};
    f.feed(ack1);
    CHECK(f.tcb.rtt().srtt() == Duration::from_ms(50));  // the first sample: SRTT = R
    CHECK(f.tcb.rtt().rto() == Duration::from_ms(200));  // 50 + 4 * 25 = 150, Linux floor 200

    // Retransmitted by the timer: the echo names the retransmission, so it is a valid
    // sample although Karn's rule forbids timing it by the clock alone.
    REQUIRE(f.send(pattern(100, 24)) == 100);
    f.out.pop();
    f.advance(Duration::from_ms(200));
    const Sent rexmit = f.out.pop();
    REQUIRE(rexmit.h.options.timestamps.has_value());
    CHECK(rexmit.h.seq == kSnd + 100);
    f.advance(Duration::from_ms(30));
    auto ack2 = f.seg(TcpFlags::ack, kRcv, kSnd + 200);
    ack2.options.timestamps = wire::TcpTimestamps{103, rexmit.h.options.timestamps->value};
    f.feed(ack2);
    // SRTT = 7/8 * 50 + 1/8 * 30 = 47.5 ms.
    CHECK(f.tcb.rtt().srtt() >= Duration::from_us(47'000));
    CHECK(f.tcb.rtt().srtt() <= Duration::from_us(48'000));
}

// ---------------------------------------------------------------- send window

TEST_CASE("review: SND.WL1/WL2 keep an old segment from changing the send window (RFC 9293 §3.10.7.4)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(100, 25)) == 100);
    f.out.pop();
    // The peer's newer ACK: SEG.ACK moved on, window 8000.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 100, 8000));
    CHECK(f.tcb.snd_wnd() == 8000);
    // An older ACK delayed in the network (same SEG.SEQ, smaller SEG.ACK): no update.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd, 100));
    CHECK(f.tcb.snd_wnd() == 8000);
    // A segment with a newer SEG.SEQ updates even a smaller window.
    f.feed(f.seg(TcpFlags::ack, kRcv + 10, kSnd + 100, 3000));
    CHECK(f.tcb.snd_wnd() == 3000);
    // ... and one with an older SEG.SEQ does not.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 100, 60000));
    CHECK(f.tcb.snd_wnd() == 3000);
}

TEST_CASE("review: ACK of something not yet sent is answered with an ACK and dropped (RFC 9293 §3.10.7.4)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 5000), pattern(50, 26));
    REQUIRE(f.out.sent.size() == 1);
    const Sent ack = f.out.pop();
    CHECK(ack.h.flags == TcpFlags::ack);
    CHECK(ack.h.seq == kSnd);
    CHECK(ack.h.ack == kRcv);  // the data was not taken
    CHECK(f.tcb.readable_bytes() == 0);
    CHECK(f.tcb.snd_una() == kSnd);
    CHECK(f.tcb.state() == State::established);
}

TEST_CASE("review: ACK below SND.UNA - MAX.SND.WND gets a challenge ACK and is dropped (RFC 5961 §5.2)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd - 70'000), pattern(50, 27));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().h.ack == kRcv);
    CHECK(f.tcb.readable_bytes() == 0);
    CHECK(f.tcb.state() == State::established);
    // An old ACK still inside [SND.UNA - MAX.SND.WND, SND.UNA] is ignored, its data kept.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd - 100), pattern(50, 28));
    CHECK(f.tcb.readable_bytes() == 50);
    CHECK(f.out.pop().h.ack == kRcv + 50);
}

// ---------------------------------------------------------------- receiving

TEST_CASE("review: data beyond the receive window is trimmed to it (RFC 9293 §3.10.7.4 seventh)",
          "[tcp][tcb][review]") {
    tcp::TcbConfig cfg;
    cfg.rcvbuf = 1000;
    Fixture f(cfg);
    f.establish();
    const Bytes data = pattern(1500, 29);
    f.feed(f.seg(TcpFlags::ack | TcpFlags::psh, kRcv, kSnd), data);
    CHECK(f.tcb.rcv_nxt() == kRcv + 1000);
    const Sent ack = f.out.pop();
    CHECK(ack.h.ack == kRcv + 1000);
    CHECK(ack.h.window == 0);
    CHECK(f.recv() == Bytes(data.begin(), data.begin() + 1000));
}

TEST_CASE("review: a duplicate segment below RCV.NXT is answered with an ACK (RFC 9293 §3.10.7.4 first)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    const Bytes data = pattern(100, 30);
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), data);
    CHECK(f.out.pop().h.ack == kRcv + 100);
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), data);
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().h.ack == kRcv + 100);
    CHECK(f.tcb.readable_bytes() == 100);
    // Partly new: only the new half is taken.
    const Bytes more = pattern(100, 31);
    f.feed(f.seg(TcpFlags::ack, kRcv + 50, kSnd), more);
    CHECK(f.tcb.rcv_nxt() == kRcv + 150);
    const Bytes got = f.recv();
    REQUIRE(got.size() == 150);
    CHECK(Bytes(got.begin() + 100, got.end()) == Bytes(more.begin() + 50, more.end()));
}

TEST_CASE("review: data and FIN in one segment: text delivered, CLOSE-WAIT, FIN acknowledged (RFC 9293 §3.10.7.4)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    const Bytes data = pattern(100, 32);
    f.feed(f.seg(TcpFlags::ack | TcpFlags::fin, kRcv, kSnd), data);
    CHECK(f.tcb.state() == State::close_wait);
    REQUIRE(!f.out.sent.empty());
    CHECK(f.out.sent.back().h.ack == kRcv + 101);
    CHECK(f.recv() == data);
    CHECK(f.recv().empty());  // end of stream
    CHECK(f.tcb.events().read_closed);
}

TEST_CASE("review: a FIN beyond a hole waits for the hole to fill (RFC 9293 §3.10.7.4 eighth)", "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    const Bytes a = pattern(100, 33);
    const Bytes b = pattern(100, 34);
    f.feed(f.seg(TcpFlags::ack | TcpFlags::fin, kRcv + 100, kSnd), b);
    CHECK(f.tcb.state() == State::established);
    CHECK(f.out.pop().h.ack == kRcv);  // a duplicate ACK for the hole
    CHECK(!f.tcb.events().read_closed);
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), a);
    CHECK(f.tcb.state() == State::close_wait);
    CHECK(f.tcb.rcv_nxt() == kRcv + 201);
    REQUIRE(!f.out.sent.empty());
    CHECK(f.out.sent.back().h.ack == kRcv + 201);
    CHECK(f.recv().size() == 200);
    CHECK(f.recv().empty());
}

TEST_CASE("review: an out-of-order bare FIN is answered at once with a duplicate ACK (RFC 5681 §4.2)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::ack | TcpFlags::fin, kRcv + 100, kSnd));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().h.ack == kRcv);
    CHECK(f.tcb.state() == State::established);
}

TEST_CASE("review: the offered right edge never moves left, scaled window included (RFC 1122 §4.2.2.16, RFC 7323 §2.4)",
          "[tcp][tcb][review]") {
    tcp::TcbConfig cfg;
    cfg.rcvbuf = 70'000;  // needs window scale 1
    Fixture f(cfg);
    auto syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
    syn.options.window_scale = 0;
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    const Sent synack = f.out.pop();
    REQUIRE(synack.h.options.window_scale == std::optional<std::uint8_t>(1));
    SeqNum edge = synack.h.ack + synack.h.window;  // a SYN's window is not scaled
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd));
    SeqNum seq = kRcv;
    for (int i = 0; i < 40; ++i) {  // odd-sized segments, nothing read
        f.feed(f.seg(TcpFlags::ack, seq, kSnd), pattern(999, 35));
        seq += 999;
        while (!f.out.sent.empty()) {
            const Sent ack = f.out.pop();
            const SeqNum right = ack.h.ack + (std::uint32_t{ack.h.window} << 1);
            INFO("segment " << i << " right edge " << right.raw() << " previous " << edge.raw());
            CHECK(right >= edge);
            edge = SeqNum::max(edge, right);
        }
    }
}

// ---------------------------------------------------------------- RST and closing

TEST_CASE("review: RST in SYN-RECEIVED of a passive open ends it quietly (RFC 9293 §3.10.7.4 second)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.tcb.accept_syn(f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0)), SeqNum(1000), f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::rst, kRcv, SeqNum(0)));
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.tcb.events().error == 0);
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_s(10));  // no SYN-ACK retransmission after it
    CHECK(f.out.sent.empty());
}

TEST_CASE("review: RST in SYN-RECEIVED of an active (simultaneous) open is 'connection refused'",
          "[tcp][tcb][review]") {
    Fixture f;
    f.tcb.connect(SeqNum(100), f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0)));
    REQUIRE(f.tcb.state() == State::syn_received);
    f.out.pop();
    f.feed(f.seg(TcpFlags::rst, kRcv, SeqNum(0)));
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.tcb.events().error == ECONNREFUSED);
}

TEST_CASE("review: close() with unread data sends RST, not FIN (RFC 2525 §2.17, RFC 9293 §3.10.4)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), pattern(100, 36));
    f.out.pop();
    f.tcb.close(f.now);
    REQUIRE(f.out.sent.size() == 1);
    const Sent rst = f.out.pop();
    CHECK(rst.h.has(TcpFlags::rst));
    CHECK(!rst.h.has(TcpFlags::fin));
    CHECK(rst.h.seq == kSnd);
    CHECK(f.tcb.state() == State::closed);
    f.advance(Duration::from_s(5));
    CHECK(f.out.sent.empty());
}

TEST_CASE("review: close/shutdown in SYN-SENT deletes the TCB, no SYN follows (RFC 9293 §3.10.4)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.tcb.connect(SeqNum(100), f.now);
    f.out.pop();
    f.tcb.shutdown_write(f.now);
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_s(10));
    CHECK(f.out.sent.empty());
    // A late SYN-ACK finds no connection in the TCB.
    f.feed(f.seg(TcpFlags::syn | TcpFlags::ack, SeqNum(kPeerIsn), SeqNum(101)));
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.out.sent.empty());
}

TEST_CASE("review: a TCB deleted in SYN-SENT keeps no timer (RFC 9293 §3.10.4)", "[tcp][tcb][review]") {
    Fixture f;
    f.tcb.connect(SeqNum(100), f.now);
    f.out.pop();
    f.tcb.shutdown_write(f.now);
    REQUIRE(f.tcb.state() == State::closed);
    CHECK(f.tcb.poll_at() == Instant::max());
}

TEST_CASE("review: ABORT after an RTO rewound SND.NXT sends RST at the highest sequence sent (RFC 9293 §3.10.5)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(3 * kMss, 37)) == 3 * kMss);
    f.out.drain();
    f.advance(Duration::from_s(1));
    f.out.drain();  // the head, resent
    // The peer holds all three segments (its ACKs were lost): RCV.NXT = 1001 + 1608. A RST
    // below that fails its RFC 5961 §3.2 check and is dropped.
    f.tcb.abort(f.now);
    const Sent rst = f.out.pop();
    CHECK(rst.h.has(TcpFlags::rst));
    CHECK(rst.h.seq == kSnd + 3 * kMss);
}

TEST_CASE("review: sequence numbers wrap inside the FIN exchange, both directions (RFC 9293 §3.4)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish(0xfffffffeu, 0xfffffffdu);
    const SeqNum snd(0xffffffffu);  // our first data byte; the FIN takes 0
    const SeqNum rcv(0xfffffffeu);
    REQUIRE(f.send(pattern(1, 38)) == 1);
    const Sent d = f.out.pop();
    CHECK(d.h.seq == snd);
    f.tcb.shutdown_write(f.now);
    CHECK(f.tcb.state() == State::fin_wait_1);
    const Sent fin = f.out.pop();
    CHECK(fin.h.has(TcpFlags::fin));
    CHECK(fin.h.seq == SeqNum(0));
    // Only the data byte acknowledged: still FIN-WAIT-1.
    f.feed(f.seg(TcpFlags::ack, rcv, SeqNum(0)));
    CHECK(f.tcb.state() == State::fin_wait_1);
    f.feed(f.seg(TcpFlags::ack, rcv, SeqNum(1)));
    CHECK(f.tcb.state() == State::fin_wait_2);
    CHECK(f.tcb.snd_una() == SeqNum(1));
    // The peer's two bytes take 0xfffffffe and 0xffffffff, its FIN 0.
    f.feed(f.seg(TcpFlags::ack | TcpFlags::fin, rcv, SeqNum(1)), pattern(2, 39));
    CHECK(f.tcb.state() == State::time_wait);
    CHECK(f.tcb.rcv_nxt() == SeqNum(1));
    REQUIRE(!f.out.sent.empty());
    CHECK(f.out.sent.back().h.ack == SeqNum(1));
    CHECK(f.recv().size() == 2);
}

// ---------------------------------------------------------------- persist

TEST_CASE("review: zero-window probes back off 1, 2, 4 s (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish(1000, kPeerIsn, 0);
    const Instant start = f.now;
    REQUIRE(f.send(pattern(100, 40)) == 100);
    CHECK(f.out.sent.empty());
    std::vector<std::int64_t> at_ms;
    while (f.now - start < Duration::from_s(8)) {
        f.advance(Duration::from_ms(10));
        while (!f.out.sent.empty()) {
            const Sent probe = f.out.pop();
            CHECK(probe.h.seq == kSnd - 1);  // Linux's tcp_xmit_probe_skb: old sequence, no data
            CHECK(probe.data.empty());
            at_ms.push_back((f.now - start).ms() / 10 * 10);
            // The peer still has no room: it answers with the old ACK and window 0.
            f.feed(f.seg(TcpFlags::ack, kRcv, kSnd, 0));
            CHECK(f.out.sent.empty());
        }
    }
    CHECK(at_ms == std::vector<std::int64_t>{1000, 3000, 7000});
    CHECK(f.tcb.state() == State::established);
}

// RFC 9293 §3.8.6.1 lets the probe carry a byte of new data; Linux's probe into a zero window
// carries none (tcp_write_wakeup() -> tcp_xmit_probe_skb(): SND.UNA - 1, no data), and the
// test "zero-window probes back off" pins that. What matters either way: the peer's answer
// that opens the window lets the data leave at once, from SND.UNA.
TEST_CASE("review: the peer's answer to a zero-window probe opens the window; sending resumes (RFC 9293 §3.8.6.1)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish(1000, kPeerIsn, 0);
    REQUIRE(f.send(pattern(100, 41)) == 100);
    f.advance(Duration::from_s(1));
    const Sent probe = f.out.pop();
    CHECK(probe.h.seq == kSnd - 1);
    CHECK(probe.data.empty());
    // The window had opened (its update was lost): the answer carries it.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd, 4000));
    CHECK(f.tcb.snd_una() == kSnd);
    CHECK(f.tcb.snd_wnd() == 4000);
    REQUIRE(!f.out.sent.empty());
    const Sent rest = f.out.pop();
    CHECK(rest.h.seq == kSnd);
    CHECK(rest.data == pattern(100, 41));
    CHECK(f.tcb.poll_at() != Instant::max());  // the data is timed: the persist timer gave way to the RTO
}

// ---------------------------------------------------------------- NewReno

TEST_CASE("review: NewReno partial ACK retransmits the next hole at once (RFC 6582 §3.2 step 5)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(6 * kMss, 42)) == 6 * kMss);
    REQUIRE(f.out.sent.size() == 6);
    f.out.drain();
    // Segments 1 and 3 lost: three duplicate ACKs for SND.UNA.
    const auto dup = f.seg(TcpFlags::ack, kRcv, kSnd);
    f.feed(dup);
    f.feed(dup);
    CHECK(f.out.sent.empty());
    f.feed(dup);
    REQUIRE(!f.out.sent.empty());
    const Sent first = f.out.pop();
    CHECK(first.h.seq == kSnd);
    CHECK(first.data.size() == kMss);
    f.out.drain();
    // The retransmission fills hole 1; the ACK stops at hole 3: a partial ACK.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 2 * kMss));
    REQUIRE(!f.out.sent.empty());
    const Sent second = f.out.pop();
    CHECK(second.h.seq == kSnd + 2 * kMss);
    CHECK(second.data.size() == kMss);
    // The full ACK ends recovery: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    f.out.drain();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 6 * kMss));
    CHECK(f.tcb.snd_una() == kSnd + 6 * kMss);
    CHECK(f.tcb.congestion().cwnd() == std::min(f.tcb.congestion().ssthresh(), 2 * kMss));
    CHECK(f.tcb.poll_at() == Instant::max());
}

TEST_CASE("review: fast retransmit works whatever the ISS: 'recover' starts at ISS (RFC 6582 §3.2 step 1)",
          "[tcp][tcb][review]") {
    Fixture f;
    const std::uint32_t iss = 0xf0000000u;
    f.establish(iss);
    REQUIRE(f.send(pattern(6 * kMss, 43)) == 6 * kMss);
    f.out.drain();
    const auto dup = f.seg(TcpFlags::ack, kRcv, SeqNum(iss + 1));
    f.feed(dup);
    f.feed(dup);
    f.feed(dup);
    REQUIRE(!f.out.sent.empty());
    const Sent rexmit = f.out.pop();
    CHECK(rexmit.h.seq == SeqNum(iss + 1));
}

TEST_CASE("review: limited transmit: the first and second duplicate ACK each send one new segment (RFC 3042 §2)",
          "[tcp][tcb][review]") {
    tcp::TcbConfig reno;  // NewReno's arithmetic below (CUBIC is the default)
    reno.congestion = "reno";
    Fixture f(reno);
    f.establish();
    REQUIRE(f.send(pattern(14 * kMss, 54)) == 14 * kMss);
    REQUIRE(f.out.sent.size() == 10);  // IW: cwnd holds the other four
    f.out.drain();
    const auto dup = f.seg(TcpFlags::ack, kRcv, kSnd);
    f.feed(dup);
    REQUIRE(f.out.sent.size() == 1);
    Sent s = f.out.pop();
    CHECK(s.h.seq == kSnd + 10 * kMss);
    CHECK(s.data.size() == kMss);
    f.feed(dup);
    REQUIRE(f.out.sent.size() == 1);
    s = f.out.pop();
    CHECK(s.h.seq == kSnd + 11 * kMss);
    CHECK(s.data.size() == kMss);
    // The third: fast retransmit of SND.UNA. FlightSize leaves out the two limited-transmit
    // segments (RFC 5681 §3.2 step 2): ssthresh = 10/2 segments, cwnd = ssthresh + 3 = 8,
    // below the 12 outstanding, so nothing new leaves with it.
    f.feed(dup);
    REQUIRE(f.out.sent.size() == 1);
    s = f.out.pop();
    CHECK(s.h.seq == kSnd);
    CHECK(f.tcb.congestion().ssthresh() == 5 * kMss);
    CHECK(f.tcb.congestion().cwnd() == 8 * kMss);
}

TEST_CASE("review: limited transmit respects the receiver's window (RFC 3042 §2)", "[tcp][tcb][review]") {
    Fixture f;
    f.establish(1000, kPeerIsn, static_cast<std::uint16_t>(10 * kMss));
    REQUIRE(f.send(pattern(14 * kMss, 55)) == 14 * kMss);
    REQUIRE(f.out.sent.size() == 10);
    f.out.drain();
    const auto dup = f.seg(TcpFlags::ack, kRcv, kSnd, static_cast<std::uint16_t>(10 * kMss));
    f.feed(dup);
    f.feed(dup);
    CHECK(f.out.sent.empty());
}

// Found by the simulation matrix (tcp_matrix_test.cpp): with timestamps and SACK agreed, a
// data segment sent while we hold out-of-order data carries SACK blocks; sized to the plain
// SND.MSS it was 12+ bytes over the MTU, IPv4 refused it (DF: FragFails) and its
// retransmissions too, and the connection stalled.
TEST_CASE("review: a data segment that carries SACK blocks shrinks its payload to fit the MSS (Linux tcp_current_mss)",
          "[tcp][tcb][review]") {
    Fixture f;
    auto syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
    syn.options.mss = 1460;
    syn.options.sack_permitted = true;
    syn.options.timestamps = wire::TcpTimestamps{100, 0};
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    f.out.pop();
    auto hs = f.seg(TcpFlags::ack, kRcv, kSnd);
    hs.options.timestamps = wire::TcpTimestamps{101, 0};
    f.feed(hs);
    REQUIRE(f.tcb.state() == State::established);
    REQUIRE(f.tcb.effective_mss() == 1448);  // 1460 less the timestamp option
    // Out-of-order data: a hole at RCV.NXT, so our segments carry a SACK block.
    auto ooo = f.seg(TcpFlags::ack, kRcv + 100, kSnd);
    ooo.options.timestamps = wire::TcpTimestamps{102, 0};
    f.feed(ooo, pattern(100, 56));
    const Sent dupack = f.out.pop();
    REQUIRE(dupack.h.options.sack_count == 1);
    REQUIRE(f.send(pattern(3000, 57)) == 3000);
    // Two full segments of 1460 - 12 (timestamps) - 12 (one SACK block) = 1436 bytes, and
    // the last 128 with them: no earlier small segment is unacknowledged (Minshall).
    REQUIRE(f.out.sent.size() == 3);
    for (const std::size_t size : {1436u, 1436u, 128u}) {
        const Sent s = f.out.pop();
        CHECK(s.h.options.sack_count == 1);
        CHECK(s.h.options.buffer_len() == 24);
        CHECK(s.data.size() == size);
    }
    CHECK(f.tcb.snd_nxt() == kSnd + 3000);
}

// ---------------------------------------------------------------- more timers and states

TEST_CASE("review: an ACK of new data restarts the retransmission timer (RFC 6298 §5.3)", "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(2 * kMss, 44)) == 2 * kMss);
    f.out.drain();
    f.advance(Duration::from_ms(900));
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + kMss));
    CHECK(f.tcb.poll_at() == f.now + f.tcb.rtt().rto());
    f.advance(Duration::from_ms(200));  // past the first timer's 1 s
    CHECK(f.out.sent.empty());
    f.advance(f.tcb.rtt().rto());
    REQUIRE(!f.out.sent.empty());
    CHECK(f.out.pop().h.seq == kSnd + kMss);
}

TEST_CASE("review: FIN-WAIT-2 still takes the peer's data (RFC 9293 §3.10.7.4 seventh)", "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    f.tcb.shutdown_write(f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 1));
    REQUIRE(f.tcb.state() == State::fin_wait_2);
    const Bytes data = pattern(100, 45);
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 1), data);
    CHECK(f.out.pop().h.ack == kRcv + 100);
    CHECK(f.recv() == data);
    CHECK(f.tcb.state() == State::fin_wait_2);
}

TEST_CASE("review: the handshake's ACK may carry data and FIN: ESTABLISHED then CLOSE-WAIT (RFC 9293 §3.10.7.4)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.tcb.accept_syn(f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0)), SeqNum(1000), f.now);
    f.out.pop();
    const Bytes data = pattern(100, 46);
    f.feed(f.seg(TcpFlags::ack | TcpFlags::fin, kRcv, kSnd), data);
    CHECK(f.tcb.state() == State::close_wait);
    CHECK(f.tcb.snd_una() == kSnd);
    REQUIRE(!f.out.sent.empty());
    CHECK(f.out.sent.back().h.ack == kRcv + 101);
    CHECK(f.recv() == data);
    CHECK(f.tcb.poll_at() == Instant::max());  // the SYN-ACK timer is gone
}

namespace {
// Active close up to TIME-WAIT; returns with the last ACK popped.
void to_time_wait(Fixture& f) {
    f.establish();
    f.tcb.shutdown_write(f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 1));
    f.feed(f.seg(TcpFlags::fin | TcpFlags::ack, kRcv, kSnd + 1));
    REQUIRE(f.tcb.state() == State::time_wait);
    f.out.pop();
}
}  // namespace

TEST_CASE("review: TIME-WAIT acknowledges a retransmitted FIN (RFC 9293 §3.10.7.4)", "[tcp][tcb][review]") {
    Fixture f;
    to_time_wait(f);
    f.advance(Duration::from_s(30));
    f.feed(f.seg(TcpFlags::fin | TcpFlags::ack, kRcv, kSnd + 1));
    REQUIRE(f.out.sent.size() == 1);
    const Sent ack = f.out.pop();
    CHECK(ack.h.flags == TcpFlags::ack);
    CHECK(ack.h.ack == kRcv + 1);
    CHECK(ack.h.seq == kSnd + 1);
    CHECK(f.tcb.state() == State::time_wait);
}

TEST_CASE("review: a retransmitted FIN restarts the 2 MSL TIME-WAIT timer (RFC 9293 §3.10.7.4)",
          "[tcp][tcb][review]") {
    Fixture f;
    to_time_wait(f);
    f.advance(Duration::from_s(30));
    f.feed(f.seg(TcpFlags::fin | TcpFlags::ack, kRcv, kSnd + 1));
    f.advance(Duration::from_s(59));
    CHECK(f.tcb.state() == State::time_wait);
    f.advance(Duration::from_s(1));
    CHECK(f.tcb.state() == State::closed);
}

TEST_CASE("review: with a zero receive window the ACK of an in-sequence probe is still taken (RFC 9293 §3.10.7.4)",
          "[tcp][tcb][review]") {
    tcp::TcbConfig cfg;
    cfg.rcvbuf = 1000;
    Fixture f(cfg);
    f.establish();
    REQUIRE(f.send(pattern(100, 47)) == 100);
    f.out.pop();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), pattern(1000, 48));  // fills our window
    const Sent closed = f.out.pop();
    REQUIRE(closed.h.window == 0);
    // The peer's window probe: one byte at RCV.NXT, acknowledging our 100 bytes.
    f.feed(f.seg(TcpFlags::ack, kRcv + 1000, kSnd + 100), pattern(1, 49));
    CHECK(f.tcb.snd_una() == kSnd + 100);   // "special allowance ... to accept valid ACKs"
    CHECK(f.tcb.readable_bytes() == 1000);  // the byte itself is not taken
    REQUIRE(!f.out.sent.empty());
    CHECK(f.out.sent.back().h.ack == kRcv + 1000);
}

TEST_CASE("review: TS.Recent only from a segment at or below Last.ACK.sent: delayed ACK echoes the earliest (RFC 7323 §4.3)",
          "[tcp][tcb][review]") {
    Fixture f;
    auto syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
    syn.options.timestamps = wire::TcpTimestamps{100, 0};
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    f.out.pop();
    auto hs = f.seg(TcpFlags::ack, kRcv, kSnd);
    hs.options.timestamps = wire::TcpTimestamps{101, 0};
    f.feed(hs);
    SeqNum seq = kRcv;
    std::uint32_t tsval = 110;
    const Bytes chunk = pattern(100, 50);
    for (int i = 0; i < 16; ++i) {  // the quick-ack start
        auto d = f.seg(TcpFlags::ack, seq, kSnd);
        d.options.timestamps = wire::TcpTimestamps{tsval++, 0};
        f.feed(d, chunk);
        seq += 100;
        f.out.pop();
    }
    auto a = f.seg(TcpFlags::ack, seq, kSnd);
    a.options.timestamps = wire::TcpTimestamps{200, 0};
    f.feed(a, chunk);
    seq += 100;
    REQUIRE(f.out.sent.empty());  // delayed
    auto b = f.seg(TcpFlags::ack, seq, kSnd);
    b.options.timestamps = wire::TcpTimestamps{210, 0};
    f.feed(b, chunk);
    const Sent ack = f.out.pop();
    REQUIRE(ack.h.options.timestamps.has_value());
    CHECK(ack.h.options.timestamps->echo == 200);
}

TEST_CASE("review: after an idle period longer than the RTO cwnd restarts from min(IW, cwnd) (RFC 5681 §4.1)",
          "[tcp][tcb][review]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(10 * kMss, 51)) == 10 * kMss);
    REQUIRE(f.out.sent.size() == 10);  // IW = 10 segments of 536 (RFC 6928)
    f.out.drain();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 10 * kMss));
    REQUIRE(f.tcb.congestion().cwnd() > 10 * kMss);
    f.advance(Duration::from_s(5));
    REQUIRE(f.send(pattern(20 * kMss, 52)) == 20 * kMss);
    CHECK(f.out.sent.size() == 10);
}

// RFC 7323 §3.2 says such a segment SHOULD be dropped; Linux (tcp_validate_incoming, which
// checks PAWS only when the segment has a timestamp) accepts it, and DESIGN.md takes Linux's
// wire behaviour as the reference. So does pollux.
TEST_CASE("review: with timestamps agreed, a segment without TSopt is still accepted, as Linux does",
          "[tcp][tcb][review]") {
    Fixture f;
    auto syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
    syn.options.timestamps = wire::TcpTimestamps{100, 0};
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    f.out.pop();
    auto hs = f.seg(TcpFlags::ack, kRcv, kSnd);
    hs.options.timestamps = wire::TcpTimestamps{101, 0};
    f.feed(hs);
    REQUIRE(f.tcb.state() == State::established);
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), pattern(50, 53));
    CHECK(f.tcb.readable_bytes() == 50);
    CHECK(f.tcb.rcv_nxt() == kRcv + 50);
}
