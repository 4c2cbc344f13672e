// SackScoreboard (sack_scoreboard.hpp): merging, trimming at the cumulative ACK, the
// IsLost() boundary of RFC 6675 §4, holes, and what happens when the ranges exceed the
// fixed capacity (the highest range is forgotten; nothing un-SACKed is ever marked).
#include <catch2/catch.hpp>

#include "tcp/retransmission_log.hpp"
#include "tcp/sack_scoreboard.hpp"

using pollux::tcp::SackScoreboard;
using pollux::wire::SeqNum;

namespace {
SeqNum s(std::uint32_t v) { return SeqNum(v); }
using R = SackScoreboard::Range;
}  // namespace

TEST_CASE("SACK scoreboard merges overlapping and adjacent ranges and counts new bytes", "[tcp][sack]") {
    SackScoreboard b;
    CHECK(b.add(s(2000), s(3000)) == 1000);
    CHECK(b.add(s(5000), s(6000)) == 1000);
    CHECK(b.ranges().size() == 2);
    CHECK(b.add(s(2500), s(3000)) == 0);  // already there
    CHECK(b.add(s(3000), s(3500)) == 500);  // adjacent: one range
    CHECK(b.ranges().size() == 2);
    CHECK(b.ranges()[0] == R{s(2000), s(3500)});
    // One block across the hole and both ranges: only the hole is new.
    CHECK(b.add(s(1500), s(6500)) == 500 + 1500 + 500);
    REQUIRE(b.ranges().size() == 1);
    CHECK(b.ranges()[0] == R{s(1500), s(6500)});
    CHECK(b.add(s(100), s(100)) == 0);  // empty
    CHECK(b.add(s(200), s(100)) == 0);  // reversed
    CHECK(b.ranges().size() == 1);
}

TEST_CASE("SACK scoreboard keeps ranges sorted across sequence wrap", "[tcp][sack]") {
    SackScoreboard b;
    b.add(s(0xffffff00u), s(0xffffff80u));
    b.add(s(0x100), s(0x200));
    b.add(s(0xfffffff0u), s(0x10));
    REQUIRE(b.ranges().size() == 3);
    CHECK(b.ranges()[0].start == s(0xffffff00u));
    CHECK(b.ranges()[1] == R{s(0xfffffff0u), s(0x10)});
    CHECK(b.sacked_between(s(0xffffff00u), s(0x1000)) == 0x80 + 0x20 + 0x100);
    b.advance(s(0xfffffff8u));
    REQUIRE(b.ranges().size() == 2);
    CHECK(b.ranges()[0] == R{s(0xfffffff8u), s(0x10)});
}

TEST_CASE("SACK scoreboard forgets what the cumulative ACK covers", "[tcp][sack]") {
    SackScoreboard b;
    b.add(s(2000), s(3000));
    b.add(s(4000), s(5000));
    b.advance(s(2500));
    REQUIRE(b.ranges().size() == 2);
    CHECK(b.ranges()[0] == R{s(2500), s(3000)});
    b.advance(s(4000));
    REQUIRE(b.ranges().size() == 1);
    CHECK(b.ranges()[0] == R{s(4000), s(5000)});
    b.advance(s(6000));
    CHECK(b.empty());
}

TEST_CASE("SACK scoreboard: holes, the highest un-SACKed byte and SACKed bytes between", "[tcp][sack]") {
    SackScoreboard b;
    b.add(s(2000), s(3000));
    b.add(s(4000), s(5000));
    const auto h1 = b.first_hole(s(1000), s(6000));
    REQUIRE(h1);
    CHECK(h1->start == s(1000));
    CHECK(h1->end == s(2000));
    const auto h2 = b.first_hole(s(2000), s(6000));
    REQUIRE(h2);
    CHECK(h2->start == s(3000));
    CHECK(h2->end == s(4000));
    const auto h3 = b.first_hole(s(4500), s(6000));
    REQUIRE(h3);
    CHECK(h3->start == s(5000));
    CHECK(h3->end == s(6000));
    CHECK_FALSE(b.first_hole(s(4000), s(5000)));
    CHECK(b.highest_unsacked(s(1000), s(6000)) == s(5999));
    CHECK(b.highest_unsacked(s(1000), s(5000)) == s(3999));
    CHECK_FALSE(b.highest_unsacked(s(4000), s(5000)));
    CHECK(b.sacked_between(s(2500), s(4500)) == 1000);
    CHECK(b.is_sacked(s(2000)));
    CHECK_FALSE(b.is_sacked(s(3000)));
    CHECK(b.highest_sacked_end() == s(5000));
}

TEST_CASE("SACK scoreboard IsLost: DupThresh ranges or more than (DupThresh-1)*SMSS bytes above", "[tcp][sack]") {
    constexpr std::uint32_t mss = 1000;
    SackScoreboard b;
    const SeqNum una = s(1000);
    CHECK(b.lost_boundary(una, mss) == una);  // nothing SACKed, nothing lost
    b.add(s(2000), s(3000));                    // one segment above the first hole
    CHECK(b.lost_boundary(una, mss) == una);
    CHECK_FALSE(b.is_lost(s(1000), una, mss));
    b.add(s(3000), s(4000));  // two segments, 2000 bytes: not more than 2*SMSS
    CHECK_FALSE(b.is_lost(s(1000), una, mss));
    b.add(s(4000), s(4001));  // 2001 bytes above: lost
    CHECK(b.is_lost(s(1000), una, mss));
    CHECK(b.is_lost(s(1999), una, mss));
    CHECK_FALSE(b.is_lost(s(2000), una, mss));  // SACKed is not lost
    CHECK_FALSE(b.is_lost(s(4001), una, mss));  // nothing above it

    // Three discontiguous SACKed ranges above, however small.
    SackScoreboard c;
    c.add(s(2000), s(2010));
    c.add(s(3000), s(3010));
    CHECK_FALSE(c.is_lost(s(1000), una, mss));
    c.add(s(4000), s(4010));
    CHECK(c.is_lost(s(1000), una, mss));
    CHECK_FALSE(c.is_lost(s(2500), una, mss));  // only two ranges above it
    CHECK(c.lost_boundary(una, mss) == s(2000));
}

TEST_CASE("SACK scoreboard overflow forgets the highest range and never invents SACKed bytes", "[tcp][sack]") {
    SackScoreboard b;
    // capacity disjoint ranges: [10k, 10k+100) for k = 1..capacity
    for (std::uint32_t k = 1; k <= SackScoreboard::capacity; ++k) b.add(s(k * 1000), s(k * 1000 + 100));
    REQUIRE(b.ranges().size() == SackScoreboard::capacity);
    CHECK(b.overflows() == 0);
    const SeqNum top_start = s(SackScoreboard::capacity * 1000);
    // A new highest range: it is the one forgotten.
    CHECK(b.add(s(100'000), s(100'100)) == 0);
    CHECK(b.overflows() == 1);
    CHECK(b.ranges().size() == SackScoreboard::capacity);
    CHECK_FALSE(b.is_sacked(s(100'000)));
    CHECK(b.is_sacked(top_start));
    // A new range below: the highest existing range makes room.
    CHECK(b.add(s(500), s(600)) == 100);
    CHECK(b.overflows() == 2);
    CHECK(b.ranges().size() == SackScoreboard::capacity);
    CHECK(b.is_sacked(s(500)));
    CHECK_FALSE(b.is_sacked(top_start));
    // Never a byte in a hole marked SACKed, and still sorted and disjoint.
    for (std::uint32_t k = 1; k < SackScoreboard::capacity; ++k) CHECK_FALSE(b.is_sacked(s(k * 1000 + 500)));
    for (std::size_t k = 1; k < b.ranges().size(); ++k) CHECK(b.ranges()[k - 1].end < b.ranges()[k].start);
    // A merge needs no room even when full.
    CHECK(b.add(s(1100), s(1200)) == 100);
    CHECK(b.overflows() == 2);
    CHECK(b.ranges().size() == SackScoreboard::capacity);
}

TEST_CASE("Retransmission log: lost when data sent after it is SACKed, dropped when delivered, bounded", "[tcp][sack]") {
    using pollux::tcp::RetransmissionLog;
    constexpr std::uint32_t mss = 1000;
    SackScoreboard sacks;
    RetransmissionLog log;
    // Retransmission of [1000, 2000) while SND.MAX was 10000; [2000, 10000) SACKed.
    sacks.add(s(2000), s(10000));
    log.record(s(1000), s(2000), s(10000));
    CHECK(log.update(sacks, s(1000), s(10000), mss) == 0);  // nothing sent after it yet
    // 2000 bytes of later data SACKed: not more than (DupThresh - 1) * SMSS.
    sacks.add(s(10000), s(12000));
    CHECK(log.update(sacks, s(1000), s(13000), mss) == 0);
    sacks.add(s(12000), s(12001));
    CHECK(log.update(sacks, s(1000), s(13000), mss) == 1);
    REQUIRE(log.first_lost());
    CHECK(log.first_lost()->start == s(1000));
    CHECK(log.lost_bytes(sacks, s(1000), s(2000)) == 1000);
    CHECK(log.update(sacks, s(1000), s(13000), mss) == 0);  // marked once
    log.resent(s(1000), s(13000));
    CHECK_FALSE(log.first_lost());
    CHECK(log.lost_bytes(sacks, s(1000), s(2000)) == 0);
    // Acknowledged: gone.
    CHECK(log.update(sacks, s(2000), s(13000), mss) == 0);
    CHECK(log.size() == 0);
    // Bounded: the oldest entries are forgotten.
    for (std::uint32_t k = 0; k < RetransmissionLog::capacity + 5; ++k) {
        log.record(s(20000 + k * 100), s(20000 + k * 100 + 50), s(40000));
    }
    CHECK(log.size() == RetransmissionLog::capacity);
}
