// TCB transitions on a manual clock (DESIGN.md §6, the lwIP way): forge the peer's segment,
// feed it, and check exactly what the TCB sends back and which state it is in.
#include <catch2/catch.hpp>

#include <cerrno>
#include <algorithm>
#include <deque>

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


TEST_CASE("active open: SYN with options, SYN-ACK, ACK (RFC 9293 §3.5 figure 6)", "[tcp][tcb]") {
    Fixture f;
    f.tcb.connect(SeqNum(100), f.now);
    CHECK(f.tcb.state() == State::syn_sent);
    const Sent syn = f.out.pop();
    CHECK(syn.h.flags == TcpFlags::syn);
    CHECK(syn.h.seq == SeqNum(100));
    CHECK(syn.h.options.mss == std::optional<std::uint16_t>(1460));
    CHECK(syn.h.options.window_scale.has_value());
    CHECK(syn.h.options.sack_permitted);
    CHECK(syn.h.options.timestamps.has_value());

    auto synack = f.seg(TcpFlags::syn | TcpFlags::ack, SeqNum(kPeerIsn), SeqNum(101), 29200);
    synack.options.mss = 1400;
    f.feed(synack);
    CHECK(f.tcb.state() == State::established);
    const Sent ack = f.out.pop();
    CHECK(ack.h.flags == TcpFlags::ack);
    CHECK(ack.h.seq == SeqNum(101));
    CHECK(ack.h.ack == SeqNum(kPeerIsn + 1));
    CHECK(f.tcb.effective_mss() == 1400);  // the peer's smaller MSS, no timestamps agreed
    CHECK(f.tcb.snd_wnd() == 29200);
    CHECK(f.out.sent.empty());
}

TEST_CASE("passive open: SYN-ACK answers the SYN, the ACK establishes", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    CHECK(f.tcb.snd_una() == SeqNum(1001));
    CHECK(f.tcb.rcv_nxt() == SeqNum(kPeerIsn + 1));
}

TEST_CASE("SYN-RECEIVED: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>", "[tcp][tcb]") {
    Fixture f;
    f.tcb.accept_syn(f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0)), SeqNum(1000), f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(7777)));
    const Sent rst = f.out.pop();
    CHECK(rst.h.has(TcpFlags::rst));
    CHECK(rst.h.seq == SeqNum(7777));
    CHECK(f.tcb.state() == State::syn_received);
}

TEST_CASE("simultaneous open: SYN in SYN-SENT gives SYN-ACK and SYN-RECEIVED", "[tcp][tcb]") {
    Fixture f;
    f.tcb.connect(SeqNum(100), f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0)));
    CHECK(f.tcb.state() == State::syn_received);
    const Sent synack = f.out.pop();
    CHECK(synack.h.flags == (TcpFlags::syn | TcpFlags::ack));
    CHECK(synack.h.seq == SeqNum(100));
    CHECK(synack.h.ack == SeqNum(kPeerIsn + 1));
    f.feed(f.seg(TcpFlags::syn | TcpFlags::ack, SeqNum(kPeerIsn), SeqNum(101)));
    CHECK(f.tcb.state() == State::established);
}

TEST_CASE("SYN-SENT: RST with an acceptable ACK is ECONNREFUSED", "[tcp][tcb]") {
    Fixture f;
    f.tcb.connect(SeqNum(100), f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::rst | TcpFlags::ack, SeqNum(0), SeqNum(101)));
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.tcb.events().error == ECONNREFUSED);
}

TEST_CASE("SYN retransmission backs off 1, 2, 4 ... s and gives up with ETIMEDOUT", "[tcp][tcb]") {
    Fixture f;
    const Instant start = f.now;
    f.tcb.connect(SeqNum(100), f.now);
    f.out.pop();
    std::vector<std::int64_t> at_ms;
    while (f.tcb.state() == State::syn_sent && f.now - start < Duration::from_s(300)) {
        f.advance(Duration::from_ms(10));
        while (!f.out.sent.empty()) {
            CHECK(f.out.pop().h.flags == TcpFlags::syn);
            at_ms.push_back((f.now - start).ms() / 10 * 10);
        }
    }
    // tcp_syn_retries = 6: retransmissions at 1, 3, 7, 15, 31, 63 s, failure at 127 s.
    CHECK(at_ms == std::vector<std::int64_t>{1000, 3000, 7000, 15000, 31000, 63000});
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.tcb.events().error == ETIMEDOUT);
    CHECK((f.now - start).ms() / 1000 == 127);
}

TEST_CASE("data both ways: MSS-sized segments, ACKs free the send buffer, reads see the bytes", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    const Bytes out_data = pattern(3000, 1);
    REQUIRE(f.send(out_data) == 3000);
    const Sent s1 = f.out.pop();
    const Sent s2 = f.out.pop();
    const Sent s3 = f.out.pop();
    CHECK(s1.data.size() == 536);  // no MSS option from the peer: RFC 9293's default
    CHECK(s1.h.seq == SeqNum(1001));
    CHECK(s2.h.seq == SeqNum(1001 + 536));
    CHECK(s3.h.seq == SeqNum(1001 + 1072));
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001 + 1608)));
    CHECK(f.tcb.snd_una() == SeqNum(1001 + 1608));

    const Bytes in_data = pattern(100, 2);
    f.feed(f.seg(TcpFlags::ack | TcpFlags::psh, SeqNum(kPeerIsn + 1), SeqNum(1001 + 1608)), in_data);
    CHECK(f.recv() == in_data);
    CHECK(f.tcb.rcv_nxt() == SeqNum(kPeerIsn + 101));
}

TEST_CASE("delayed ACK: quick ACKs at start, then every second segment or after 40 ms", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    SeqNum seq(kPeerIsn + 1);
    const Bytes chunk = pattern(100, 3);
    for (int i = 0; i < 16; ++i) {  // Linux's quick-ack start: every segment answered
        f.feed(f.seg(TcpFlags::ack, seq, SeqNum(1001)), chunk);
        seq += 100;
        REQUIRE(f.out.sent.size() == 1);
        f.out.pop();
    }
    f.feed(f.seg(TcpFlags::ack, seq, SeqNum(1001)), chunk);
    seq += 100;
    CHECK(f.out.sent.empty());
    f.feed(f.seg(TcpFlags::ack, seq, SeqNum(1001)), chunk);
    seq += 100;
    REQUIRE(f.out.sent.size() == 1);  // the second segment is ACKed at once
    CHECK(f.out.pop().h.ack == seq);
    f.feed(f.seg(TcpFlags::ack, seq, SeqNum(1001)), chunk);
    seq += 100;
    f.advance(Duration::from_ms(39));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().h.ack == seq);
}

TEST_CASE("out-of-order data: an immediate ACK with a SACK block, then one ACK for all", "[tcp][tcb]") {
    tcp::TcbConfig cfg;
    Fixture f(cfg);
    auto syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
    syn.options.sack_permitted = true;
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001)));
    const Bytes a = pattern(100, 4);
    const Bytes b = pattern(100, 5);
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 101), SeqNum(1001)), b);
    const Sent dup = f.out.pop();
    CHECK(dup.h.ack == SeqNum(kPeerIsn + 1));
    REQUIRE(dup.h.options.sack_count == 1);
    CHECK(dup.h.options.sack_blocks[0].left == SeqNum(kPeerIsn + 101));
    CHECK(dup.h.options.sack_blocks[0].right == SeqNum(kPeerIsn + 201));
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001)), a);
    const Sent all = f.out.pop();
    CHECK(all.h.ack == SeqNum(kPeerIsn + 201));
    CHECK(all.h.options.sack_count == 0);
    Bytes both(a.size() + b.size());  // (not insert(): g++ 12 -O3 warns falsely on it)
    std::copy(a.begin(), a.end(), both.begin());
    std::copy(b.begin(), b.end(), both.begin() + static_cast<std::ptrdiff_t>(a.size()));
    CHECK(f.recv() == both);
}

TEST_CASE("active close: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT for 60 s, CLOSED", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    f.tcb.shutdown_write(f.now);
    CHECK(f.tcb.state() == State::fin_wait_1);
    const Sent fin = f.out.pop();
    CHECK(fin.h.flags == (TcpFlags::fin | TcpFlags::ack));
    CHECK(fin.h.seq == SeqNum(1001));
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1002)));
    CHECK(f.tcb.state() == State::fin_wait_2);
    f.feed(f.seg(TcpFlags::fin | TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1002)));
    CHECK(f.tcb.state() == State::time_wait);
    CHECK(f.out.pop().h.ack == SeqNum(kPeerIsn + 2));
    f.advance(Duration::from_s(59));
    CHECK(f.tcb.state() == State::time_wait);
    f.advance(Duration::from_s(1));
    CHECK(f.tcb.state() == State::closed);
}

TEST_CASE("passive close: CLOSE-WAIT, reads return 0, LAST-ACK, CLOSED", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::fin | TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001)));
    CHECK(f.tcb.state() == State::close_wait);
    CHECK(f.out.pop().h.ack == SeqNum(kPeerIsn + 2));
    CHECK(f.tcb.events().read_closed);
    CHECK(f.recv().empty());
    f.tcb.close(f.now);
    CHECK(f.tcb.state() == State::last_ack);
    CHECK(f.out.pop().h.has(TcpFlags::fin));
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 2), SeqNum(1002)));
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.tcb.events().error == 0);
}

TEST_CASE("simultaneous close: CLOSING, then TIME-WAIT", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    f.tcb.shutdown_write(f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::fin | TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001)));
    CHECK(f.tcb.state() == State::closing);
    f.out.pop();
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 2), SeqNum(1002)));
    CHECK(f.tcb.state() == State::time_wait);
}

TEST_CASE("FIN is retransmitted until acknowledged", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    f.tcb.shutdown_write(f.now);
    f.out.pop();
    f.advance(Duration::from_ms(1000));
    const Sent again = f.out.pop();
    CHECK(again.h.has(TcpFlags::fin));
    CHECK(again.h.seq == SeqNum(1001));
    f.advance(Duration::from_ms(2000));
    CHECK(f.out.pop().h.has(TcpFlags::fin));
}

TEST_CASE("RST: exact RCV.NXT resets (ECONNRESET), in-window gets a challenge ACK (RFC 5961)", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::rst, SeqNum(kPeerIsn + 10), SeqNum(0)));
    CHECK(f.tcb.state() == State::established);
    const Sent challenge = f.out.pop();
    CHECK(challenge.h.flags == TcpFlags::ack);
    CHECK(challenge.h.ack == SeqNum(kPeerIsn + 1));
    f.feed(f.seg(TcpFlags::rst, SeqNum(kPeerIsn + 1), SeqNum(0)));
    CHECK(f.tcb.state() == State::closed);
    CHECK(f.tcb.events().error == ECONNRESET);
}

TEST_CASE("RST outside the window is dropped silently; TIME-WAIT ignores RST (RFC 1337)", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::rst, SeqNum(kPeerIsn + 1 + 200'000), SeqNum(0)));
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.state() == State::established);
    f.tcb.shutdown_write(f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::fin | TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1002)));
    f.out.pop();
    REQUIRE(f.tcb.state() == State::time_wait);
    f.feed(f.seg(TcpFlags::rst, SeqNum(kPeerIsn + 2), SeqNum(0)));
    CHECK(f.tcb.state() == State::time_wait);
}

TEST_CASE("SYN on an established connection gets a challenge ACK (RFC 5961 §4)", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    f.feed(f.seg(TcpFlags::syn, SeqNum(kPeerIsn + 1), SeqNum(0)));
    CHECK(f.tcb.state() == State::established);
    CHECK(f.out.pop().h.flags == TcpFlags::ack);
}

TEST_CASE("RTO: the head is retransmitted after 1 s, then 2 s; an ACK without an RTT sample keeps the backoff", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(100, 6)) == 100);
    f.out.pop();
    f.advance(Duration::from_ms(999));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    CHECK(f.out.pop().h.seq == SeqNum(1001));
    f.advance(Duration::from_ms(1999));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    CHECK(f.out.pop().h.seq == SeqNum(1001));
    CHECK(f.tcb.retransmits() == 2);
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1101)));
    CHECK(f.tcb.poll_at() == Instant::max());
    CHECK(f.tcb.rtt().rto() == Duration::from_s(4));  // no valid sample (Karn): the backoff stays
}

TEST_CASE("sequence numbers wrap: ISS near 2^32", "[tcp][tcb]") {
    Fixture f;
    f.establish(0xffffff00u);
    const Bytes data = pattern(1000, 7);
    REQUIRE(f.send(data) == 1000);
    Bytes got;
    while (!f.out.sent.empty()) {  // Nagle releases the 464-byte tail when the first is ACKed
        const Sent s = f.out.pop();
        got.insert(got.end(), s.data.begin(), s.data.end());
        f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), s.h.seq + static_cast<std::uint32_t>(s.data.size())));
    }
    CHECK(got == data);
    CHECK(f.tcb.snd_una() == SeqNum(0xffffff01u + 1000u));
    CHECK(f.tcb.snd_una().raw() < 0x1000);
    CHECK(f.tcb.poll_at() == Instant::max());
}

TEST_CASE("zero window: the persist timer probes, and an opening window resumes sending", "[tcp][tcb]") {
    Fixture f;
    f.tcb.accept_syn(f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0)), SeqNum(1000), f.now);
    f.out.pop();
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001), 0));
    REQUIRE(f.send(pattern(100, 8)) == 100);
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_s(1));
    const Sent probe = f.out.pop();  // Linux's probe: no data, SEG.SEQ = SND.UNA - 1
    CHECK(probe.data.empty());
    CHECK(probe.h.seq == SeqNum(1000));
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001), 1000));
    const Sent data = f.out.pop();
    CHECK(data.data.size() == 100);
}

TEST_CASE("fast retransmit on the third duplicate ACK (RFC 5681 §3.2)", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    REQUIRE(f.send(pattern(536 * 6, 9)) == 536 * 6);
    while (!f.out.sent.empty()) f.out.pop();
    const auto dup = f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001));
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001 + 536)));
    while (!f.out.sent.empty()) f.out.pop();
    auto d = f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001 + 536));
    f.feed(d);
    f.feed(d);
    CHECK(f.out.sent.empty());
    f.feed(d);
    const Sent rexmit = f.out.pop();
    CHECK(rexmit.h.seq == SeqNum(1001 + 536));
    CHECK(rexmit.data.size() == 536);
    (void)dup;
}

TEST_CASE("Nagle holds a small segment while data is unacknowledged; TCP_NODELAY does not", "[tcp][tcb]") {
    for (bool nodelay : {false, true}) {
        tcp::TcbConfig cfg;
        cfg.nodelay = nodelay;
        Fixture f(cfg);
        f.establish();
        REQUIRE(f.send(pattern(10, 10)) == 10);
        f.out.pop();
        REQUIRE(f.send(pattern(10, 11)) == 10);
        CHECK(f.out.sent.size() == (nodelay ? 1u : 0u));
        if (!nodelay) {
            f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1011)));
            CHECK(f.out.pop().data.size() == 10);  // released by the ACK
        }
    }
}

TEST_CASE("Nagle with Minshall's rule: a write's short tail leaves with its full segments; the next short one waits",
          "[tcp][tcb]") {
    Fixture f;
    f.establish();
    // 2.5 segments in one write: all three leave (Linux tcp_minshall_check: no earlier
    // small segment is unacknowledged), so the peer's delayed ACK never holds the tail.
    REQUIRE(f.send(pattern(2 * 536 + 100, 14)) == 2 * 536 + 100);
    REQUIRE(f.out.sent.size() == 3);
    CHECK(f.out.pop().data.size() == 536);
    CHECK(f.out.pop().data.size() == 536);
    CHECK(f.out.pop().data.size() == 100);
    // Another short write waits while that 100-byte segment is unacknowledged, even after
    // the full ones are acknowledged.
    REQUIRE(f.send(pattern(50, 15)) == 50);
    CHECK(f.out.sent.empty());
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001 + 2 * 536)));
    CHECK(f.out.sent.empty());
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001 + 2 * 536 + 100)));
    CHECK(f.out.pop().data.size() == 50);
    // A short write after only full segments are in flight leaves at once.
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001 + 2 * 536 + 150)));
    REQUIRE(f.send(pattern(536, 16)) == 536);
    CHECK(f.out.pop().data.size() == 536);
    REQUIRE(f.send(pattern(20, 17)) == 20);
    CHECK(f.out.pop().data.size() == 20);
}

TEST_CASE("window scaling: the peer's shift applies to every window after the SYN", "[tcp][tcb]") {
    Fixture f;
    auto syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0), 1000);
    syn.options.window_scale = 7;
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    const Sent synack = f.out.pop();
    REQUIRE(synack.h.options.window_scale.has_value());
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001), 1000));
    CHECK(f.tcb.snd_wnd() == 1000u << 7);
    // Our own advertised window, scaled by the shift we announced.
    const std::uint8_t ours = *synack.h.options.window_scale;
    f.feed(f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001), 1000), pattern(10, 12));
    const Sent ack = f.out.pop();
    CHECK((std::uint32_t{ack.h.window} << ours) <= f.cfg.rcvbuf);
    CHECK((std::uint32_t{ack.h.window} << ours) + 10 + (1u << ours) > f.cfg.rcvbuf);
}

TEST_CASE("PAWS: a segment with an older timestamp is dropped and answered (RFC 7323 §5)", "[tcp][tcb]") {
    Fixture f;
    auto syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
    syn.options.timestamps = wire::TcpTimestamps{1000, 0};
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    f.out.pop();
    auto ack = f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001));
    ack.options.timestamps = wire::TcpTimestamps{1001, 0};
    f.feed(ack);
    REQUIRE(f.tcb.state() == State::established);
    auto old = f.seg(TcpFlags::ack, SeqNum(kPeerIsn + 1), SeqNum(1001));
    old.options.timestamps = wire::TcpTimestamps{900, 0};
    f.feed(old, pattern(50, 13));
    CHECK(f.out.pop().h.ack == SeqNum(kPeerIsn + 1));  // the data was not taken
    CHECK(f.tcb.readable_bytes() == 0);
}

TEST_CASE("Challenge ACKs are rate-limited per connection: one per 500 ms (RFC 5961 §7)", "[tcp][tcb]") {
    Fixture f;
    f.establish();
    const auto in_window_rst = [&](std::uint32_t off) {
        f.feed(f.seg(TcpFlags::rst, SeqNum(kPeerIsn + 1 + off), SeqNum(0)));
    };
    in_window_rst(10);
    CHECK(f.out.pop().h.flags == TcpFlags::ack);
    // A flood of in-window RSTs and SYNs right after: no ACK for any of them.
    for (std::uint32_t i = 0; i < 50; ++i) {
        in_window_rst(20 + i);
        f.feed(f.seg(TcpFlags::syn, SeqNum(kPeerIsn + 1), SeqNum(0)));
    }
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 5000));  // an ACK of data never sent
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.challenge_acks_sent() == 1);
    CHECK(f.tcb.challenge_acks_skipped() == 101);
    CHECK(f.tcb.state() == State::established);
    f.advance(Duration::from_ms(499));
    in_window_rst(30);
    CHECK(f.out.sent.empty());
    // 500 ms after the last challenge: the next one is answered.
    f.advance(Duration::from_ms(1));
    f.feed(f.seg(TcpFlags::syn, SeqNum(kPeerIsn + 1), SeqNum(0)));
    CHECK(f.out.pop().h.flags == TcpFlags::ack);
    CHECK(f.tcb.challenge_acks_sent() == 2);
    // The exact RST still resets, limit or not.
    in_window_rst(0);
    CHECK(f.tcb.state() == State::closed);
}

TEST_CASE("input drops are counted: outside the window, a SYN on a synchronized connection",
          "[tcp][tcb][rfc5961]") {
    Fixture f;
    f.establish();
    // A RST far outside the window: dropped silently, counted.
    f.feed(f.seg(TcpFlags::rst, kRcv + 0x40000000u, kSnd));
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.input_drops().out_of_window == 1);
    CHECK(f.tcb.state() == tcp::State::established);
    // A SYN outside the window: a challenge ACK as for one inside (RFC 5961 §4.2), both
    // counted as SYN challenges.
    f.feed(f.seg(TcpFlags::syn, kRcv + 0x50000000u, wire::SeqNum(0)));
    REQUIRE(f.out.sent.size() == 1);
    const Sent ack = f.out.pop();
    CHECK(ack.h.flags == TcpFlags::ack);
    CHECK(ack.h.ack == kRcv);
    CHECK(f.tcb.input_drops().out_of_window == 2);
    CHECK(f.tcb.input_drops().syn_challenges == 1);
    CHECK(f.tcb.challenge_acks_sent() == 1);
    f.advance(time::Duration::from_s(1));  // past the challenge-ACK rate limit
    f.feed(f.seg(TcpFlags::syn, kRcv, wire::SeqNum(0)));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().h.flags == TcpFlags::ack);
    CHECK(f.tcb.input_drops().syn_challenges == 2);
    CHECK(f.tcb.input_drops().out_of_window == 2);  // that one was in the window
    CHECK(f.tcb.state() == tcp::State::established);
}
