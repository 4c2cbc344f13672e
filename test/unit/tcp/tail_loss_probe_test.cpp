// RFC 8985 §7 tail loss probe in the sender, on the manual clock: the PTO (2 * SRTT, plus
// the worst-case delayed ACK for one segment in flight, never after the RTO), the probe
// (new data when the windows allow, else the last segment again), one probe at a time and
// the RTO after it, none without SACK or during a recovery, and the episode's end (§7.4):
// a loss the probe repaired reduces the window once, a probe that was not needed does not.
#include <initializer_list>

#include "unit/tcp/tcb_fixture.hpp"

using namespace pollux;
using namespace pollux::test;
using namespace pollux::test::tcb;
using time::Duration;
using wire::SeqNum;
using wire::TcpFlags;

namespace {

constexpr std::uint32_t M = kMss;  // 536: no MSS option
constexpr Duration kRtt = Duration::from_ms(10);

SeqNum seg(std::uint32_t i) { return kSnd + i * M; }

tcp::TcbConfig tlp_config(bool sack, Duration rto_min, bool timestamps) {
    tcp::TcbConfig c;
    c.timestamps = timestamps;
    c.congestion = "reno";
    c.nodelay = true;
    c.sack = sack;
    c.rto_min = rto_min;
    return c;
}

// A passive open (SACK offered by the peer when `sack`, RFC 7323 timestamps when
// `timestamps`), then one segment (segment 0) answered after 10 ms: SRTT = 10 ms,
// RTTVAR = 5 ms, RTO = RTO.min.
struct TlpFixture : Fixture {
    explicit TlpFixture(bool sack = true, Duration rto_min = Duration::from_ms(200), bool timestamps = false)
        : Fixture(tlp_config(sack, rto_min, timestamps)), ts(timestamps) {
        wire::TcpRepr syn = Fixture::seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
        syn.options.sack_permitted = sack;
        if (ts) syn.options.timestamps = wire::TcpTimestamps{peer_ts++, 0};
        tcb.accept_syn(syn, SeqNum(1000), now);
        out.pop();
        feed(Fixture::seg(TcpFlags::ack, kRcv, kSnd));
        REQUIRE(tcb.state() == tcp::State::established);
        REQUIRE(tcb.sack_enabled() == sack);
        REQUIRE(tcb.timestamps_enabled() == ts);
        send_segments(1);
        advance(kRtt);
        ack(kSnd + tcb.effective_mss());  // 536, less the timestamp option's 12 with timestamps
        REQUIRE(tcb.rtt().srtt() == kRtt);
        REQUIRE(tcb.loss_probe_deadline() == time::Instant::max());
    }
    using Fixture::seg;
    void ack(SeqNum ackno, std::initializer_list<std::pair<SeqNum, SeqNum>> blocks = {}) {
        wire::TcpRepr h = Fixture::seg(TcpFlags::ack, kRcv, ackno);
        if (ts) h.options.timestamps = wire::TcpTimestamps{peer_ts++, echo};
        for (const auto& [l, r] : blocks) h.options.sack_blocks[h.options.sack_count++] = {l, r};
        feed(h);
    }
    // Queues `n` full-sized segments; everything that left is drained (with timestamps, the
    // next ACK echoes the last one's TSval).
    void send_segments(std::uint32_t n) {
        const std::uint32_t m = tcb.effective_mss();  // M, or M - 12 with timestamps
        REQUIRE(send(Bytes(n * m, 0x5a)) == static_cast<long>(n * m));
        if (ts && !out.sent.empty()) echo = out.sent.back().h.options.timestamps->value;
        out.drain();
    }
    bool ts;
    std::uint32_t peer_ts = 7;  // the peer's TSval, one more each segment
    std::uint32_t echo = 0;     // the TSecr of the next ACK
    std::pair<SeqNum, std::size_t> next() {
        const Sent s = out.pop();
        return {s.h.seq, s.data.size()};
    }
};

using Seg = std::pair<SeqNum, std::size_t>;

}  // namespace

TEST_CASE("TLP: PTO = 2 SRTT (+ 2 ms) after new data; with one segment in flight + 200 ms, capped at the RTO",
          "[tcp][tlp]") {
    SECTION("several segments in flight: 2 * 10 ms + 2 ms") {
        TlpFixture f;
        f.send_segments(4);
        CHECK(f.tcb.loss_probe_deadline() == f.now + Duration::from_ms(22));
        CHECK(f.tcb.poll_at() == f.now + Duration::from_ms(22));
    }
    SECTION("one segment: 2 * 10 ms + WCDelAckT (200 ms), below an RTO of 1 s") {
        TlpFixture f(true, Duration::from_s(1));
        REQUIRE(f.tcb.rtt().rto() == Duration::from_s(1));
        f.send_segments(1);
        CHECK(f.tcb.loss_probe_deadline() == f.now + Duration::from_ms(220));
    }
    SECTION("one segment with RTO = 200 ms: the PTO is the RTO's instant") {
        TlpFixture f;
        f.send_segments(1);
        CHECK(f.tcb.loss_probe_deadline() == f.now + Duration::from_ms(200));
    }
    SECTION("an ACK of new data restarts it; the last ACK stops it") {
        TlpFixture f;
        f.send_segments(4);
        f.advance(Duration::from_ms(5));
        f.ack(seg(3));  // also an RTT sample of 5 ms
        CHECK(f.tcb.rtt().srtt() < kRtt);
        CHECK(f.tcb.loss_probe_deadline() == f.now + f.tcb.rtt().srtt() * 2 + Duration::from_ms(2));
        f.ack(seg(5));
        CHECK(f.tcb.loss_probe_deadline() == time::Instant::max());
        CHECK(f.tcb.poll_at() == time::Instant::max());
    }
}

TEST_CASE("TLP: the probe is new data when the receive window allows, beyond cwnd", "[tcp][tlp]") {
    TlpFixture f;
    const std::uint32_t cwnd_segments = f.tcb.congestion().cwnd() / M;
    REQUIRE(f.send(Bytes((cwnd_segments + 2) * M, 1)) == static_cast<long>((cwnd_segments + 2) * M));
    CHECK(f.out.sent.size() == cwnd_segments);
    f.out.drain();
    const SeqNum first_unsent = seg(1 + cwnd_segments);
    f.advance(Duration::from_ms(22));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.next() == Seg{first_unsent, M});
    CHECK(f.tcb.sack_stats().loss_probes == 1);
    CHECK(f.tcb.retransmits() == 0);
    REQUIRE(f.tcb.loss_probe_end());
    CHECK(*f.tcb.loss_probe_end() == first_unsent + M);
    CHECK(f.tcb.snd_max() == first_unsent + M);
    // §7.3: the RTO, not the PTO, is armed after the probe.
    CHECK(f.tcb.loss_probe_deadline() == time::Instant::max());
    CHECK(f.tcb.poll_at() == f.now + f.tcb.rtt().rto());
}

TEST_CASE("TLP: with nothing new to send the probe is the last segment again; a lost probe ends in the RTO",
          "[tcp][tlp]") {
    TlpFixture f;
    f.send_segments(4);  // segments 1-4
    f.advance(Duration::from_ms(22));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.next() == Seg{seg(4), M});
    CHECK(f.tcb.sack_stats().loss_probes == 1);
    CHECK(f.tcb.retransmits() == 1);
    CHECK(f.tcb.sack_stats().retransmits == 0);  // not a NextSeg() retransmission
    REQUIRE(f.tcb.loss_probe_end());
    CHECK(*f.tcb.loss_probe_end() == seg(5));
    // No answer: one probe at a time, so nothing until the RTO, an RTO after the probe.
    f.advance(Duration::from_ms(199));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    REQUIRE(!f.out.sent.empty());
    CHECK(f.next() == Seg{seg(1), M});
    CHECK(f.tcb.sack_stats().timeouts == 1);
    CHECK(f.tcb.consecutive_timeouts() == 1);
    CHECK_FALSE(f.tcb.loss_probe_end());  // the RTO ends the episode
    CHECK(f.tcb.loss_probe_deadline() == time::Instant::max());
}

TEST_CASE("TLP: the last segment the probe resends is the highest one not SACKed", "[tcp][tlp]") {
    TlpFixture f;
    f.send_segments(4);  // segments 1-4
    // Segment 1 lost, 4 SACKed: a duplicate ACK, no recovery (one segment SACKed).
    f.ack(seg(1), {{seg(4), seg(5)}});
    REQUIRE_FALSE(f.tcb.in_fast_recovery());
    f.advance(Duration::from_ms(22));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.next() == Seg{seg(3), M});
}

TEST_CASE("TLP: no probe without SACK: the RTO repairs the tail", "[tcp][tlp]") {
    TlpFixture f(false);
    f.send_segments(4);
    CHECK(f.tcb.loss_probe_deadline() == time::Instant::max());
    f.advance(Duration::from_ms(199));
    CHECK(f.out.sent.empty());
    f.advance(Duration::from_ms(1));
    REQUIRE(!f.out.sent.empty());
    CHECK(f.next() == Seg{seg(1), M});
    CHECK(f.tcb.sack_stats().loss_probes == 0);
    CHECK(f.tcb.sack_stats().timeouts == 1);
}

TEST_CASE("TLP: no probe during SACK recovery", "[tcp][tlp]") {
    TlpFixture f;
    f.send_segments(8);  // segments 1-8
    f.ack(seg(1), {{seg(2), seg(5)}});
    REQUIRE(f.tcb.in_sack_recovery());
    CHECK(f.next() == Seg{seg(1), M});
    CHECK(f.tcb.loss_probe_deadline() == time::Instant::max());
    f.out.drain();
    f.advance(Duration::from_ms(100));
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.sack_stats().loss_probes == 0);
}

TEST_CASE("TLP episode: a probe that repaired the tail reduces the window once (TCPLossProbeRecovery)",
          "[tcp][tlp]") {
    TlpFixture f;
    f.send_segments(4);        // segments 1-4
    f.ack(seg(4));             // segment 4 is lost
    const std::uint32_t cwnd_before = f.tcb.congestion().cwnd();
    // One segment in flight: the PTO is capped at the RTO's instant, and the probe goes
    // instead of the RTO (no timeout, no collapse of cwnd).
    f.advance(Duration::from_ms(200));
    REQUIRE(f.out.sent.size() == 1);
    CHECK(f.next() == Seg{seg(4), M});
    CHECK(f.tcb.sack_stats().timeouts == 0);
    // The probe arrives: an ACK at TLP.end_seq. Without timestamps or a D-SACK it cannot
    // tell the probe from a late original yet (Linux tcp_process_tlp_ack waits).
    f.ack(seg(5));
    REQUIRE(f.tcb.loss_probe_end());
    CHECK(f.tcb.congestion().cwnd() >= cwnd_before);
    // The next ACK beyond it, with no D-SACK in between: the original was lost.
    f.send_segments(1);
    f.ack(seg(6));
    CHECK_FALSE(f.tcb.loss_probe_end());
    CHECK(f.tcb.sack_stats().loss_probe_recoveries == 1);
    // Reno halves FlightSize at the probe (one segment), floored at 2 * SMSS; cwnd = ssthresh.
    CHECK(f.tcb.congestion().ssthresh() == 2 * M);
    CHECK(f.tcb.congestion().cwnd() == 2 * M);
}

TEST_CASE("TLP episode: a duplicate ACK at TLP.end_seq says the probe was not needed", "[tcp][tlp]") {
    TlpFixture f;
    f.send_segments(4);
    f.ack(seg(4));
    f.advance(Duration::from_ms(200));
    REQUIRE(f.out.sent.size() == 1);
    f.out.drain();
    f.ack(seg(5));  // the original (its ACK was late)
    f.ack(seg(5));  // the probe, a duplicate: a pure duplicate ACK
    CHECK_FALSE(f.tcb.loss_probe_end());
    const std::uint32_t ssthresh = f.tcb.congestion().ssthresh();
    f.send_segments(1);
    f.ack(seg(6));
    CHECK(f.tcb.sack_stats().loss_probe_recoveries == 0);
    CHECK(f.tcb.congestion().ssthresh() == ssthresh);
}

TEST_CASE("TLP episode: a D-SACK for the probe says it was not needed", "[tcp][tlp]") {
    TlpFixture f;
    f.send_segments(4);
    f.ack(seg(4));
    f.advance(Duration::from_ms(200));
    f.out.drain();
    f.ack(seg(5), {{seg(4), seg(5)}});  // RFC 2883: the first block below the cumulative ACK
    CHECK(f.tcb.sack_stats().dsacks == 1);
    CHECK_FALSE(f.tcb.loss_probe_end());
    f.send_segments(1);
    f.ack(seg(6));
    CHECK(f.tcb.sack_stats().loss_probe_recoveries == 0);
}

TEST_CASE("TLP episode: a probe of new data is no repair", "[tcp][tlp]") {
    TlpFixture f;
    const std::uint32_t cwnd_segments = f.tcb.congestion().cwnd() / M;
    REQUIRE(f.send(Bytes((cwnd_segments + 1) * M, 1)) == static_cast<long>((cwnd_segments + 1) * M));
    f.out.drain();
    f.advance(Duration::from_ms(22));
    REQUIRE(f.out.sent.size() == 1);
    const SeqNum end = *f.tcb.loss_probe_end();
    f.ack(end);
    CHECK_FALSE(f.tcb.loss_probe_end());
    CHECK(f.tcb.sack_stats().loss_probe_recoveries == 0);
}

// With timestamps the first ACK at TLP.end_seq decides (pollux's receiver sends no
// D-SACK): its TSecr is the TSval of the transmission that completed the tail.
TEST_CASE("TLP episode with timestamps: the ACK's TSecr tells the probe from the original", "[tcp][tlp]") {
    TlpFixture f(true, Duration::from_ms(200), true);
    REQUIRE(f.tcb.rtt().srtt() == kRtt);  // the timestamp sample
    const std::uint32_t m = f.tcb.effective_mss();
    REQUIRE(m == M - 12);
    const auto seg = [&](std::uint32_t i) { return kSnd + i * m; };
    f.send_segments(4);  // segments 1-4
    const std::uint32_t original_ts = f.echo;
    f.ack(seg(4));
    f.advance(Duration::from_ms(200));
    REQUIRE(f.out.sent.size() == 1);
    const Sent probe = f.out.pop();
    CHECK(probe.h.seq == seg(4));
    REQUIRE(probe.h.options.timestamps);
    const std::uint32_t probe_ts = probe.h.options.timestamps->value;
    REQUIRE(probe_ts > original_ts);
    SECTION("TSecr of the probe: the original was lost, the probe repaired it") {
        f.echo = probe_ts;
        f.ack(seg(5));
        CHECK_FALSE(f.tcb.loss_probe_end());
        CHECK(f.tcb.sack_stats().loss_probe_recoveries == 1);
        CHECK(f.tcb.congestion().cwnd() == 2 * m);
    }
    SECTION("TSecr of the original: it arrived, its ACK was late; no loss") {
        f.echo = original_ts;
        const std::uint32_t ssthresh = f.tcb.congestion().ssthresh();
        f.ack(seg(5));
        CHECK_FALSE(f.tcb.loss_probe_end());
        CHECK(f.tcb.sack_stats().loss_probe_recoveries == 0);
        CHECK(f.tcb.congestion().ssthresh() == ssthresh);
    }
}

TEST_CASE("TLP: the ACK that ends an episode arms the PTO for data sent after the probe", "[tcp][tlp]") {
    TlpFixture f;
    f.send_segments(2);  // segments 1-2
    f.advance(Duration::from_ms(22));
    REQUIRE(f.out.sent.size() == 1);  // the probe: segment 2 again
    f.out.drain();
    REQUIRE(f.tcb.loss_probe_end());
    // More data leaves while the probe is out: no PTO for it yet (one episode at a time).
    f.send_segments(2);  // segments 3-4
    CHECK(f.tcb.loss_probe_deadline() == time::Instant::max());
    // An ACK beyond TLP.end_seq (segments 1-3) ends the episode; segment 4 is still out
    // and must have a PTO again, not only the RTO.
    f.ack(seg(4));
    CHECK_FALSE(f.tcb.loss_probe_end());
    CHECK(f.tcb.loss_probe_deadline() != time::Instant::max());
    CHECK(f.tcb.loss_probe_deadline() <= f.now + Duration::from_ms(220));
}
