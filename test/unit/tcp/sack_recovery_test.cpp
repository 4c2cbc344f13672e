// RFC 6675 SACK-based loss recovery in the sender, on the manual clock: entry by IsLost()
// before three duplicate ACKs, NextSeg() rules 1-4 (the lost hole, new data, un-SACKed
// holes, the rescue retransmission), pipe, the exit at RecoveryPoint, an RTO during
// recovery (the go-back-N skips SACKed data), D-SACK and invalid blocks ignored.
#include <initializer_list>
#include <string_view>

#include "unit/tcp/tcb_fixture.hpp"

using namespace pollux;
using namespace pollux::test;
using namespace pollux::test::tcb;
using wire::SeqNum;
using wire::TcpFlags;

namespace {

constexpr std::uint32_t M = kMss;  // 536: no MSS option, no timestamps

// seg(i): the first byte of our i-th data segment (0-based).
SeqNum seg(std::uint32_t i) { return kSnd + i * M; }

struct SackFixture : Fixture {
    explicit SackFixture(std::string_view congestion = "reno") : Fixture(config(congestion)) {
        // A passive open whose SYN offers SACK (nothing else: plain arithmetic).
        wire::TcpRepr syn = seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
        syn.options.sack_permitted = true;
        tcb.accept_syn(syn, SeqNum(1000), now);
        out.pop();
        feed(Fixture::seg(TcpFlags::ack, kRcv, kSnd));
        REQUIRE(tcb.state() == tcp::State::established);
        REQUIRE(tcb.sack_enabled());
    }
    static tcp::TcbConfig config(std::string_view congestion) {
        tcp::TcbConfig c;
        c.congestion = congestion;
        c.nodelay = true;
        return c;
    }
    using Fixture::seg;
    // An ACK from the peer with SACK blocks (no data, the same window).
    void ack(SeqNum ackno, std::initializer_list<std::pair<SeqNum, SeqNum>> blocks = {}) {
        wire::TcpRepr h = seg(TcpFlags::ack, kRcv, ackno);
        for (const auto& [l, r] : blocks) h.options.sack_blocks[h.options.sack_count++] = {l, r};
        feed(h);
    }
    // Queues `segments` full segments and collects what left (the initial window: 10).
    void send_segments(std::uint32_t segments, std::uint32_t expect_sent) {
        REQUIRE(send(Bytes(segments * M, 0x5a)) == static_cast<long>(segments * M));
        REQUIRE(out.sent.size() == expect_sent);
        for (std::uint32_t i = 0; i < expect_sent; ++i) {
            const Sent s = out.pop();
            REQUIRE(s.h.seq == ::seg(i));
            REQUIRE(s.data.size() == M);
        }
    }
    // The next segment we sent: its sequence number and length.
    std::pair<SeqNum, std::size_t> next() {
        const Sent s = out.pop();
        return {s.h.seq, s.data.size()};
    }
};

using Seg = std::pair<SeqNum, std::size_t>;

}  // namespace

TEST_CASE("SACK recovery starts on one ACK whose SACK blocks make SND.UNA lost, before three dupACKs",
          "[tcp][sack][recovery]") {
    const std::string_view cc = GENERATE(std::string_view("reno"), std::string_view("cubic"));
    SackFixture f(cc);
    f.send_segments(10, 10);
    // Segment 0 is lost; segments 1 and 2 arrived: 1072 bytes SACKed, not more than 2*SMSS.
    f.ack(seg(0), {{seg(1), seg(3)}});
    CHECK(f.tcb.duplicate_acks() == 1);
    CHECK_FALSE(f.tcb.in_fast_recovery());
    CHECK(f.out.sent.empty());  // pipe-based limited transmit: nothing left to send
    // One more segment SACKed: IsLost(SND.UNA) on the second duplicate ACK.
    f.ack(seg(0), {{seg(1), seg(4)}});
    CHECK(f.tcb.duplicate_acks() == 2);
    REQUIRE(f.tcb.in_sack_recovery());
    CHECK(f.tcb.in_fast_recovery());
    CHECK(f.tcb.recovery_point() == seg(10));
    CHECK(f.tcb.sack_stats().recoveries == 1);
    // ssthresh from FlightSize (10 segments), cwnd = ssthresh (RFC 6675 step 4.2).
    const std::uint32_t ssthresh = cc == "reno" ? 5 * M : static_cast<std::uint32_t>(10 * M * 0.7);
    CHECK(f.tcb.congestion().ssthresh() == ssthresh);
    CHECK(f.tcb.congestion().cwnd() == ssthresh);
    // The first segment presumed lost leaves at once (step 4.3).
    REQUIRE(!f.out.sent.empty());
    CHECK(f.next() == Seg{seg(0), M});
    CHECK(f.tcb.high_rxt() == seg(1));
    // pipe: segments 4..9 (not lost, not SACKed) + the retransmission = 7 segments, above
    // cwnd: nothing else may leave.
    CHECK(f.tcb.pipe() == 7 * M);
    CHECK(f.out.sent.empty());
}

TEST_CASE("SACK recovery without SACK negotiated stays NewReno: three dupACKs, window inflation",
          "[tcp][sack][recovery]") {
    Fixture f([] {
        tcp::TcbConfig c;
        c.congestion = "reno";
        c.nodelay = true;
        return c;
    }());
    f.establish();
    REQUIRE_FALSE(f.tcb.sack_enabled());
    REQUIRE(f.send(Bytes(10 * M, 1)) == 10 * M);
    f.out.drain();
    for (int i = 0; i < 3; ++i) f.feed(f.seg(TcpFlags::ack, kRcv, seg(0)));
    CHECK(f.tcb.in_fast_recovery());
    CHECK_FALSE(f.tcb.in_sack_recovery());
    CHECK(f.tcb.congestion().cwnd() == 5 * M + 3 * M);  // RFC 6582 step 2
    CHECK(f.tcb.sack_stats().recoveries == 0);
}

TEST_CASE("SACK recovery NextSeg: lost holes first (rule 1), then new data (rule 2), paced by pipe",
          "[tcp][sack][recovery]") {
    SackFixture f;
    f.send_segments(20, 10);  // 10 more segments wait in the send buffer
    // Segments 0 and 3 lost; 1-2 and 4-9 SACKed (one ACK: it is also a duplicate).
    f.ack(seg(0), {{seg(4), seg(10)}, {seg(1), seg(3)}});
    REQUIRE(f.tcb.in_sack_recovery());
    CHECK(f.tcb.congestion().cwnd() == 5 * M);
    // Entry: segment 0. Rule 1: the next lost hole, segment 3 (6 segments SACKed above it).
    CHECK(f.next() == Seg{seg(0), M});
    CHECK(f.next() == Seg{seg(3), M});
    CHECK(f.tcb.high_rxt() == seg(4));
    // Rule 2: new data while cwnd - pipe >= SMSS: pipe was 2 segments, cwnd 5.
    CHECK(f.next() == Seg{seg(10), M});
    CHECK(f.next() == Seg{seg(11), M});
    CHECK(f.next() == Seg{seg(12), M});
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.pipe() == 5 * M);
    CHECK(f.tcb.sack_stats().retransmits == 2);
    // A partial ACK for segments 0-2: pipe drops by the retransmission of 0, one more
    // segment of new data leaves (cwnd does not change in RFC 6675 recovery).
    f.ack(seg(3), {{seg(4), seg(10)}});
    CHECK(f.tcb.in_sack_recovery());
    CHECK(f.tcb.congestion().cwnd() == 5 * M);
    CHECK(f.tcb.pipe() == 5 * M);
    CHECK(f.next() == Seg{seg(13), M});
    CHECK(f.out.sent.empty());
    // The ACK covering RecoveryPoint (segment 10's start) ends recovery.
    f.ack(seg(10));
    CHECK_FALSE(f.tcb.in_sack_recovery());
    CHECK_FALSE(f.tcb.in_fast_recovery());
    CHECK(f.tcb.sack_scoreboard().empty());
}

TEST_CASE("SACK recovery NextSeg rule 3: an un-SACKed hole that is not yet lost goes when nothing else can",
          "[tcp][sack][recovery]") {
    SackFixture f;
    f.send_segments(10, 10);
    // Segment 0 lost, 1-7 SACKed, 8 missing (only one segment SACKed above it: not lost), 9 SACKed.
    f.ack(seg(0), {{seg(1), seg(8)}, {seg(9), seg(10)}});
    REQUIRE(f.tcb.in_sack_recovery());
    CHECK(f.next() == Seg{seg(0), M});
    // pipe = segment 8 (not lost) + the retransmission = 2; cwnd 5: rule 1 has nothing,
    // rule 2 nothing (all data sent), rule 3 sends segment 8 (below the highest SACK).
    CHECK(f.next() == Seg{seg(8), M});
    CHECK(f.tcb.high_rxt() == seg(9));
    // Rule 4 is not allowed yet (HighACK has not passed RescueRxt): nothing else.
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.pipe() == 3 * M);  // segment 8 counts twice: once sent, once resent
}

TEST_CASE("SACK recovery rescue retransmission (rule 4) repairs a lost tail without the RTO, once",
          "[tcp][sack][recovery]") {
    SackFixture f;
    f.send_segments(10, 10);
    // Segment 0 and the last one, 9, lost.
    f.ack(seg(0), {{seg(1), seg(9)}});
    REQUIRE(f.tcb.in_sack_recovery());
    CHECK(f.next() == Seg{seg(0), M});
    CHECK(f.out.sent.empty());  // segment 9 is not lost: nothing SACKed above it
    // The retransmission arrives: a partial ACK up to segment 9. HighACK is now past
    // RescueRxt: rule 4 resends the segment that holds the highest un-SACKed byte.
    f.ack(seg(9));
    REQUIRE(f.tcb.in_sack_recovery());
    REQUIRE(!f.out.sent.empty());
    CHECK(f.next() == Seg{seg(9), M});
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.sack_stats().retransmits == 2);
    // Once per recovery: a duplicate ACK now sends nothing more.
    f.ack(seg(9));
    CHECK(f.out.sent.empty());
    // Its ACK reaches RecoveryPoint: recovery over, before any RTO.
    f.ack(seg(10));
    CHECK_FALSE(f.tcb.in_fast_recovery());
    CHECK(f.tcb.consecutive_timeouts() == 0);
}

TEST_CASE("SACK recovery: an RTO ends it, keeps the scoreboard, and the go-back-N skips SACKed data",
          "[tcp][sack][recovery]") {
    SackFixture f;
    f.send_segments(10, 10);
    f.ack(seg(0), {{seg(4), seg(10)}, {seg(1), seg(3)}});
    REQUIRE(f.tcb.in_sack_recovery());
    f.out.drain();  // segments 0 and 3 resent, both lost again
    f.advance(f.tcb.rtt().rto());
    CHECK(f.tcb.consecutive_timeouts() == 1);
    CHECK_FALSE(f.tcb.in_sack_recovery());
    CHECK_FALSE(f.tcb.in_fast_recovery());
    CHECK(f.tcb.recovery_point() == seg(10));  // RFC 6675 §5.1: RecoveryPoint = HighData
    CHECK(f.tcb.congestion().cwnd() == M);
    CHECK(f.tcb.sack_scoreboard().ranges().size() == 2);
    CHECK(f.next() == Seg{seg(0), M});
    CHECK(f.out.sent.empty());
    // Segment 0 arrives: the cumulative ACK jumps over the SACKed 1-2; the go-back-N resends
    // segment 3 and nothing of 4-9.
    f.ack(seg(3), {{seg(4), seg(10)}});
    CHECK(f.next() == Seg{seg(3), M});
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.snd_nxt() == seg(10));
    f.ack(seg(10));
    CHECK(f.tcb.snd_una() == seg(10));
    CHECK(f.tcb.sack_scoreboard().empty());
}

TEST_CASE("SACK recovery: a second RTO without progress forgets the scoreboard (reneging)", "[tcp][sack][recovery]") {
    SackFixture f;
    f.send_segments(10, 10);
    f.ack(seg(0), {{seg(1), seg(10)}});
    REQUIRE(f.tcb.in_sack_recovery());
    f.out.drain();
    f.advance(f.tcb.rtt().rto());
    CHECK(f.tcb.sack_scoreboard().ranges().size() == 1);
    f.out.drain();
    f.advance(f.tcb.rtt().rto());
    CHECK(f.tcb.consecutive_timeouts() == 2);
    CHECK(f.tcb.sack_scoreboard().empty());
}

TEST_CASE("SACK: a cumulative ACK that stops at a SACKed byte is reneging: the scoreboard is cleared",
          "[tcp][sack]") {
    SackFixture f;
    f.send_segments(10, 10);
    f.ack(seg(0), {{seg(2), seg(3)}});
    CHECK(f.tcb.sack_scoreboard().ranges().size() == 1);
    f.ack(seg(2));  // the peer had SACKed segment 2 but acknowledges only up to it
    CHECK(f.tcb.sack_scoreboard().empty());
    CHECK(f.tcb.sack_stats().renegings == 1);
}

TEST_CASE("SACK: D-SACK blocks and blocks outside [SND.UNA, SND.MAX] are ignored and counted", "[tcp][sack]") {
    SackFixture f;
    f.send_segments(10, 10);
    f.ack(seg(2));  // segments 0-1 acknowledged
    // D-SACK below the cumulative ACK (RFC 2883 §4.1), then a valid block.
    f.ack(seg(2), {{seg(0), seg(1)}, {seg(4), seg(5)}});
    CHECK(f.tcb.sack_stats().dsacks == 1);
    CHECK(f.tcb.sack_stats().blocks_ignored == 0);
    REQUIRE(f.tcb.sack_scoreboard().ranges().size() == 1);
    // D-SACK inside the second block (RFC 2883 §4.2: a duplicate above the cumulative ACK).
    f.ack(seg(2), {{seg(6), seg(7)}, {seg(6), seg(8)}});
    CHECK(f.tcb.sack_stats().dsacks == 2);
    REQUIRE(f.tcb.sack_scoreboard().ranges().size() == 2);
    CHECK(f.tcb.sack_scoreboard().ranges()[1].start == seg(6));
    // Beyond SND.MAX, straddling SND.UNA (not first), empty, reversed: all ignored.
    f.ack(seg(2), {{seg(8), seg(9)}, {seg(9), seg(11)}, {seg(1), seg(3)}, {seg(5), seg(5)}});
    CHECK(f.tcb.sack_stats().blocks_ignored == 3);
    f.ack(seg(2), {{seg(9), seg(8)}});
    CHECK(f.tcb.sack_stats().blocks_ignored == 4);
    // Only the valid [8, 9) was added: 4, 6-7, 8 -> 6-8 merged.
    const auto r = f.tcb.sack_scoreboard().ranges();
    REQUIRE(r.size() == 2);
    CHECK(r[0].start == seg(4));
    CHECK(r[1].start == seg(6));
    CHECK(r[1].end == seg(9));
    CHECK(f.tcb.duplicate_acks() == 4);  // each newly SACKed something or was a pure duplicate
    // A count above the 4 blocks an option can hold (a forged repr): the extra ones are
    // ignored and counted, the 4 that exist are read.
    wire::TcpRepr h = f.seg(TcpFlags::ack, kRcv, seg(2));
    h.options.sack_blocks[0] = {seg(5), seg(6)};
    h.options.sack_count = 6;
    f.feed(h);
    CHECK(f.tcb.sack_stats().blocks_ignored == 4 + 2 + 3);  // 2 beyond the array, 3 empty blocks
    CHECK(f.tcb.sack_scoreboard().ranges().size() == 1);    // [4, 9) now one range
}

TEST_CASE("SACK recovery resends a retransmission that is lost too once later data is SACKed (no RTO)",
          "[tcp][sack][recovery]") {
    SackFixture f;
    f.send_segments(20, 10);
    f.ack(seg(0), {{seg(1), seg(4)}});
    REQUIRE(f.tcb.in_sack_recovery());
    CHECK(f.next() == Seg{seg(0), M});  // left while SND.MAX was segment 10
    CHECK(f.out.sent.empty());          // pipe 7 segments > cwnd 5
    // Everything else of the first flight arrives: pipe is the retransmission alone, and
    // four segments of new data leave (rule 2).
    f.ack(seg(0), {{seg(1), seg(10)}});
    CHECK(f.next() == Seg{seg(10), M});
    CHECK(f.next() == Seg{seg(11), M});
    CHECK(f.next() == Seg{seg(12), M});
    CHECK(f.next() == Seg{seg(13), M});
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.sack_stats().lost_retransmits == 0);
    // Three of those, sent after the retransmission, are SACKed; segment 0 still is not:
    // its retransmission is lost. It goes again at once, and pipe no longer counts it.
    f.ack(seg(0), {{seg(1), seg(13)}});
    CHECK(f.tcb.sack_stats().lost_retransmits == 1);
    CHECK(f.next() == Seg{seg(0), M});
    CHECK(f.next() == Seg{seg(14), M});
    CHECK(f.next() == Seg{seg(15), M});
    CHECK(f.next() == Seg{seg(16), M});
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.pipe() == 5 * M);
    CHECK(f.tcb.sack_stats().retransmits == 2);
    CHECK(f.tcb.consecutive_timeouts() == 0);
    // A further SACK of new data does not mark the new retransmission lost: it left after
    // segment 16, and nothing sent after it is SACKed yet.
    f.ack(seg(0), {{seg(1), seg(14)}});
    CHECK(f.tcb.sack_stats().lost_retransmits == 1);
    f.ack(seg(14));
    CHECK_FALSE(f.tcb.in_fast_recovery());
}

// RecoveryPoint is HighData, the last octet sent; pollux keeps recover_ one past it (the
// SND.MAX at entry). A new recovery may start once HighACK > RecoveryPoint, i.e. as soon as
// SND.UNA reaches that SND.MAX. (It used to wait for SND.UNA to pass it, so a loss of the
// first segment sent after the recovery began was repaired only by the RTO, whatever was
// SACKed above it: at 1 % loss most of the SACK transfer's time in the matrix.)
TEST_CASE("SACK recovery: the segment at the old RecoveryPoint lost starts a new recovery, not the RTO",
          "[tcp][sack][recovery]") {
    SackFixture f;
    f.send_segments(20, 10);
    f.ack(seg(0), {{seg(4), seg(10)}, {seg(1), seg(3)}});
    REQUIRE(f.tcb.in_sack_recovery());
    REQUIRE(f.tcb.recovery_point() == seg(10));
    f.out.drain();  // 0 and 3 resent, 10-12 new
    f.ack(seg(3), {{seg(4), seg(10)}});
    f.out.drain();  // 13 new
    // The recovery ends with an ACK exactly at the old SND.MAX; segment 10 is lost, 11-13
    // arrived: this very ACK makes SND.UNA lost (three segments SACKed above it).
    f.ack(seg(10), {{seg(11), seg(14)}});
    CHECK(f.tcb.sack_stats().recoveries == 2);
    REQUIRE(f.tcb.in_sack_recovery());
    CHECK(f.tcb.recovery_point() == seg(14));
    CHECK(f.next() == Seg{seg(10), M});
    CHECK(f.tcb.consecutive_timeouts() == 0);
}

// ---- the receiver's D-SACK blocks (RFC 2883 §4) ----

TEST_CASE("D-SACK: data received twice below RCV.NXT is reported once, as the first SACK block", "[tcp][sack][dsack]") {
    SackFixture f;
    const Bytes data(1000, 0x11);
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), data);
    f.out.drain();
    CHECK(f.tcb.rcv_nxt() == kRcv + 1000);
    // The same segment again (the peer's spurious retransmission or tail loss probe):
    // outside the window, answered at once with the duplicate's range as a D-SACK block.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), data);
    REQUIRE(f.out.sent.size() == 1);
    Sent ack = f.out.pop();
    CHECK(ack.h.ack == kRcv + 1000);
    REQUIRE(ack.h.options.sack_count == 1);
    CHECK(ack.h.options.sack_blocks[0] == wire::SackBlock{kRcv, kRcv + 1000});
    CHECK(f.tcb.dsacks_sent_old() == 1);
    CHECK(f.tcb.dsacks_sent_ofo() == 0);
    // A segment that overlaps RCV.NXT: its old front is the duplicate; its new tail is taken.
    f.feed(f.seg(TcpFlags::ack, kRcv + 500, kSnd), Bytes(1000, 0x22));
    CHECK(f.tcb.rcv_nxt() == kRcv + 1500);
    f.advance(time::Duration::from_ms(200));  // the delayed ACK, if the segment did not force one
    REQUIRE_FALSE(f.out.sent.empty());
    ack = f.out.pop();
    REQUIRE(ack.h.options.sack_count == 1);
    CHECK(ack.h.options.sack_blocks[0] == wire::SackBlock{kRcv + 500, kRcv + 1000});
    // Reported once: the next ACK carries no D-SACK.
    f.feed(f.seg(TcpFlags::ack, kRcv + 1500, kSnd), Bytes(10, 0x33));
    f.advance(time::Duration::from_ms(200));
    REQUIRE_FALSE(f.out.sent.empty());
    ack = f.out.sent.back();
    CHECK(ack.h.options.sack_count == 0);
    CHECK(f.tcb.dsacks_sent_old() == 2);
}

TEST_CASE("D-SACK: a duplicate above RCV.NXT comes first, then the block holding it (RFC 2883 §4)",
          "[tcp][sack][dsack]") {
    SackFixture f;
    // A hole at kRcv; two ranges held out of order.
    f.feed(f.seg(TcpFlags::ack, kRcv + 1000, kSnd), Bytes(500, 1));
    f.feed(f.seg(TcpFlags::ack, kRcv + 3000, kSnd), Bytes(500, 2));
    f.out.drain();
    // The first range's data again.
    f.feed(f.seg(TcpFlags::ack, kRcv + 1000, kSnd), Bytes(500, 1));
    REQUIRE(f.out.sent.size() == 1);
    const Sent ack = f.out.pop();
    CHECK(ack.h.ack == kRcv);
    REQUIRE(ack.h.options.sack_count == 3);
    CHECK(ack.h.options.sack_blocks[0] == wire::SackBlock{kRcv + 1000, kRcv + 1500});  // D-SACK
    CHECK(ack.h.options.sack_blocks[1] == wire::SackBlock{kRcv + 1000, kRcv + 1500});  // the range holding it
    CHECK(ack.h.options.sack_blocks[2] == wire::SackBlock{kRcv + 3000, kRcv + 3500});
    CHECK(f.tcb.dsacks_sent_ofo() == 1);
}

TEST_CASE("D-SACK: none without SACK agreed", "[tcp][sack][dsack]") {
    Fixture f;
    f.establish();
    const Bytes data(300, 0x44);
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), data);
    f.out.drain();
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd), data);
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.out.pop().h.options.sack_count == 0);
    CHECK(f.tcb.dsacks_sent_old() == 0);
}
