// Path MTU discovery in the TCB (RFC 1191, Linux tcp_v4_mtu_reduced / tcp_simple_retransmit)
// on a manual clock: what the connection sends after a "fragmentation needed", segment by
// segment. The layer's checks before it (RFC 5927 §4.1, the floor, next-hop MTU 0) are in
// tcp_limits_test.cpp.
#include <catch2/catch.hpp>

#include "tcb_fixture.hpp"

using namespace pollux;
using namespace pollux::test::tcb;
using pollux::test::Bytes;
using pollux::test::pattern;
using tcp::State;
using time::Duration;
using wire::SeqNum;
using wire::TcpFlags;

namespace {

// A Fixture whose handshake agrees on an MSS of 1460 both ways (the peer's SYN carries
// it), no timestamps: SND.MSS 1460, the path MTU 1500.
void establish_1460(Fixture& f, bool timestamps = false) {
    wire::TcpRepr syn = f.seg(TcpFlags::syn, SeqNum(kPeerIsn), SeqNum(0));
    syn.options.mss = 1460;
    if (timestamps) syn.options.timestamps = wire::TcpTimestamps{1, 0};
    f.tcb.accept_syn(syn, SeqNum(1000), f.now);
    f.out.pop();
    wire::TcpRepr ack = f.seg(TcpFlags::ack, kRcv, kSnd);
    if (timestamps) ack.options.timestamps = wire::TcpTimestamps{2, 0};
    f.feed(ack);
    REQUIRE(f.tcb.state() == State::established);
    REQUIRE(f.out.sent.empty());
}

tcp::TcbConfig mss_1460() {
    tcp::TcbConfig c;
    c.mss = 1460;
    return c;
}

}  // namespace

TEST_CASE("PMTU: frag needed lowers SND.MSS and resends what is in flight in the new size",
          "[tcp][tcb][pmtu]") {
    Fixture f(mss_1460());
    establish_1460(f);
    CHECK(f.tcb.effective_mss() == 1460);
    CHECK(f.tcb.path_mtu() == 1500);
    REQUIRE(f.send(pattern(4000, 1)) == 4000);
    REQUIRE(f.out.sent.size() == 3);  // 1460 + 1460 + 1080, all in the initial window
    f.out.drain();
    const std::uint32_t ssthresh = f.tcb.congestion().ssthresh();

    f.now += Duration::from_ms(5);
    CHECK(f.tcb.path_mtu_reduced(1200, f.now));
    CHECK(f.tcb.path_mtu() == 1200);
    CHECK(f.tcb.effective_mss() == 1160);  // 1200 - 20 (IPv4) - 20 (TCP)
    // Everything from SND.UNA again, at once, in 1160-byte segments: no timeout waited for.
    REQUIRE(f.out.sent.size() == 4);
    const std::uint32_t sizes[] = {1160, 1160, 1160, 520};
    SeqNum seq = kSnd;
    for (const std::uint32_t size : sizes) {
        const Sent s = f.out.pop();
        CHECK(s.h.seq == seq);
        CHECK(s.data.size() == size);
        seq = seq + size;
    }
    CHECK(f.tcb.retransmits() == 4);
    // tcp_simple_retransmit(): units changed, not the congestion: no ssthresh cut, no
    // recovery entered.
    CHECK(f.tcb.congestion().ssthresh() == ssthresh);
    CHECK_FALSE(f.tcb.in_fast_recovery());
    CHECK(f.tcb.state() == State::established);
    // The retransmission timer runs from the resend.
    CHECK(f.tcb.poll_at() == f.now + f.tcb.rtt().rto());

    // The peer takes it all; new data leaves in the new size too.
    f.feed(f.seg(TcpFlags::ack, kRcv, kSnd + 4000));
    REQUIRE(f.send(pattern(2000, 2)) == 2000);
    REQUIRE(f.out.sent.size() == 2);
    CHECK(f.out.pop().data.size() == 1160);
    CHECK(f.out.pop().data.size() == 840);
}

TEST_CASE("PMTU: an MTU not below the current path MTU is ignored", "[tcp][tcb][pmtu]") {
    Fixture f(mss_1460());
    establish_1460(f);
    REQUIRE(f.send(pattern(3000, 1)) == 3000);
    f.out.drain();
    CHECK_FALSE(f.tcb.path_mtu_reduced(1500, f.now));
    CHECK_FALSE(f.tcb.path_mtu_reduced(9000, f.now));
    CHECK(f.out.sent.empty());
    CHECK(f.tcb.effective_mss() == 1460);
    CHECK(f.tcb.path_mtu_reduced(1400, f.now));
    CHECK(f.tcb.effective_mss() == 1360);
    f.out.drain();
    // Never raised again by ICMP (RFC 1191 §6.3), and a repeat is no news.
    CHECK_FALSE(f.tcb.path_mtu_reduced(1450, f.now));
    CHECK_FALSE(f.tcb.path_mtu_reduced(1400, f.now));
    CHECK(f.tcb.effective_mss() == 1360);
    CHECK(f.out.sent.empty());
}

TEST_CASE("PMTU: SND.MSS never rises above what the handshake agreed", "[tcp][tcb][pmtu]") {
    Fixture f;  // our MSS 1460 by default; the peer announces none: 536
    f.establish();
    CHECK(f.tcb.effective_mss() == kMss);
    REQUIRE(f.send(pattern(1000, 1)) == 1000);
    f.out.drain();
    // 1000 - 40 = 960 is above 536: the path MTU drops, the MSS stays, nothing is resent.
    CHECK(f.tcb.path_mtu_reduced(1000, f.now));
    CHECK(f.tcb.path_mtu() == 1000);
    CHECK(f.tcb.effective_mss() == kMss);
    CHECK(f.out.sent.empty());
    // 552 - 40 = 512 is below it: that one counts.
    CHECK(f.tcb.path_mtu_reduced(552, f.now));
    CHECK(f.tcb.effective_mss() == 512);
    REQUIRE(f.out.sent.size() == 2);
    CHECK(f.out.pop().data.size() == 512);
    CHECK(f.out.pop().data.size() == 488);
}

TEST_CASE("PMTU: with timestamps the option's 12 bytes come off the new MSS too", "[tcp][tcb][pmtu]") {
    Fixture f(mss_1460());
    establish_1460(f, true);
    REQUIRE(f.tcb.timestamps_enabled());
    CHECK(f.tcb.effective_mss() == 1448);
    CHECK(f.tcb.path_mtu_reduced(1280, f.now));
    CHECK(f.tcb.effective_mss() == 1228);  // 1280 - 40 - 12
    REQUIRE(f.send(pattern(1300, 1)) == 1300);
    REQUIRE(f.out.sent.size() == 2);
    CHECK(f.out.pop().data.size() == 1228);
    CHECK(f.out.pop().data.size() == 72);
}

TEST_CASE("PMTU: frag needed during SYN-SENT caps the MSS the handshake then agrees", "[tcp][tcb][pmtu]") {
    Fixture f(mss_1460());
    f.tcb.connect(SeqNum(1000), f.now);
    f.out.drain();
    CHECK(f.tcb.path_mtu_reduced(1000, f.now));
    CHECK(f.out.sent.empty());  // the SYN is small: nothing to resend
    wire::TcpRepr synack = f.seg(TcpFlags::syn | TcpFlags::ack, SeqNum(kPeerIsn), SeqNum(1001));
    synack.options.mss = 1460;
    f.feed(synack);
    REQUIRE(f.tcb.state() == State::established);
    CHECK(f.tcb.effective_mss() == 960);
    CHECK(f.tcb.path_mtu() == 1000);
}

TEST_CASE("PMTU: a closed or TIME-WAIT connection ignores frag needed", "[tcp][tcb][pmtu]") {
    Fixture f;
    CHECK_FALSE(f.tcb.path_mtu_reduced(600, f.now));  // CLOSED
    f.establish();
    f.tcb.close(f.now);
    f.out.pop();  // FIN
    f.feed(f.seg(TcpFlags::ack | TcpFlags::fin, kRcv, kSnd + 1));
    REQUIRE(f.tcb.state() == State::time_wait);
    f.out.drain();
    CHECK_FALSE(f.tcb.path_mtu_reduced(600, f.now));
    CHECK(f.tcb.path_mtu() == 1500);
    CHECK(f.out.sent.empty());
}

TEST_CASE("PMTU: frag needed in a NewReno recovery deflates cwnd before the resend (no burst of the inflated window)",
          "[tcp][tcb][pmtu]") {
    tcp::TcbConfig c = mss_1460();
    c.congestion = "reno";
    c.nodelay = true;
    Fixture f(c);
    establish_1460(f);  // no SACK: NewReno
    REQUIRE(f.send(pattern(10 * 1460, 2)) == 10 * 1460);
    REQUIRE(f.out.sent.size() == 10);
    f.out.drain();
    // Segment 0 lost: eight duplicate ACKs. Recovery after the third; each further one
    // inflates cwnd by an MSS (RFC 6582 step 3).
    for (int i = 0; i < 8; ++i) f.feed(f.seg(TcpFlags::ack, kRcv, kSnd));
    REQUIRE(f.tcb.in_fast_recovery());
    const std::uint32_t ssthresh = f.tcb.congestion().ssthresh();
    REQUIRE(f.tcb.congestion().cwnd() > ssthresh);  // inflated
    f.out.drain();
    f.now += Duration::from_ms(1);
    CHECK(f.tcb.path_mtu_reduced(1200, f.now));
    CHECK_FALSE(f.tcb.in_fast_recovery());
    // The resend is bounded by the deflated window (ssthresh, at most flight + 1 MSS), not
    // by the inflated one.
    CHECK(f.tcb.congestion().cwnd() <= ssthresh);
    std::uint32_t bytes = 0;
    for (const auto& s : f.out.sent) bytes += static_cast<std::uint32_t>(s.data.size());
    CHECK(bytes <= ssthresh);
    CHECK(bytes > 0);
}
