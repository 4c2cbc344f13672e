#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "buf/packet_buf.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"
#include "tcp/out_of_order_queue.hpp"
#include "wire/seq_num.hpp"
#include "wire/tcp_options.hpp"

using pollux::buf::PacketBuf;
using pollux::tcp::OutOfOrderQueue;
using pollux::test::Bytes;
using pollux::test::chained;
using pollux::test::contents;
using pollux::test::mbuf_pool;
using pollux::test::pool_in_use;
using pollux::wire::SackBlock;
using pollux::wire::SeqNum;
using Outcome = OutOfOrderQueue::Insert::Outcome;

namespace {

// The buffer every test pool mbuf pins (RTE_MBUF_DEFAULT_BUF_SIZE).
constexpr std::size_t mbuf_buf_len = 2048 + 128;

// The byte a sender puts at `seq`, in `version` (retransmissions of the same bytes use
// the same version; tests that check which copy was kept use two).
std::uint8_t byte_at(SeqNum seq, std::uint8_t version) {
    return static_cast<std::uint8_t>(((seq.raw() * 2654435761u) >> 24) ^ (version * 0x5bu));
}

Bytes stream(SeqNum seq, std::size_t len, std::uint8_t version = 0) {
    Bytes b(len);
    for (std::size_t i = 0; i < len; ++i) b[i] = byte_at(seq + static_cast<std::uint32_t>(i), version);
    return b;
}

// The payload of a segment [seq, seq + len), cut into mbufs at `cuts`.
PacketBuf segment(SeqNum seq, std::size_t len, std::uint8_t version = 0, const std::vector<std::size_t>& cuts = {}) {
    return chained(stream(seq, len, version), cuts);
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

std::vector<SackBlock> blocks(const OutOfOrderQueue& q, std::size_t max = 64) {
    std::vector<SackBlock> out(max);
    out.resize(q.sack_blocks(out));
    return out;
}

// Everything pop_in_order gives from rcv_nxt on, moving rcv_nxt past it.
Bytes drain(OutOfOrderQueue& q, SeqNum& rcv_nxt) {
    Bytes out;
    while (PacketBuf p = q.pop_in_order(rcv_nxt)) {
        REQUIRE(p.length() > 0);
        const Bytes b = contents(p);
        REQUIRE(b.size() == p.length());
        out.insert(out.end(), b.begin(), b.end());
        rcv_nxt += p.length();
    }
    return out;
}

SackBlock block(std::uint32_t left, std::uint32_t right) { return {SeqNum(left), SeqNum(right)}; }

}  // namespace

TEST_CASE("OutOfOrderQueue holds a segment until RCV.NXT reaches it", "[tcp][ooo]") {
    const unsigned before = pool_in_use();
    {
        OutOfOrderQueue q(1 << 20, 64);
        CHECK(q.empty());
        CHECK(q.pop_in_order(SeqNum(1000)).get() == nullptr);

        const auto r = q.insert(SeqNum(1100), segment(SeqNum(1100), 100));
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 100);
        CHECK_FALSE(r.duplicate.has_value());
        CHECK(q.bytes() == 100);
        CHECK(q.segments() == 1);
        CHECK(q.ranges() == 1);
        CHECK(q.footprint() == mbuf_buf_len);
        CHECK(blocks(q) == std::vector<SackBlock>{block(1100, 1200)});
        CHECK(pool_in_use() == before + 1);

        // The hole [1000, 1100) is still open.
        CHECK_FALSE(q.pop_in_order(SeqNum(1000)));
        CHECK_FALSE(q.pop_in_order(SeqNum(1099)));
        CHECK(q.bytes() == 100);

        SeqNum rcv_nxt(1100);
        CHECK(drain(q, rcv_nxt) == stream(SeqNum(1100), 100));
        CHECK(rcv_nxt == SeqNum(1200));
        CHECK(q.empty());
        CHECK(q.bytes() == 0);
        CHECK(q.segments() == 0);
        CHECK(q.footprint() == 0);
        CHECK(blocks(q).empty());
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("OutOfOrderQueue: empty segments are refused", "[tcp][ooo]") {
    OutOfOrderQueue q(1 << 20, 8);
    CHECK(q.insert(SeqNum(5), PacketBuf()).outcome == Outcome::empty);
    PacketBuf none = PacketBuf::alloc(mbuf_pool());
    const unsigned before = pool_in_use();
    CHECK(q.insert(SeqNum(5), std::move(none)).outcome == Outcome::empty);
    CHECK(pool_in_use() == before - 1);  // freed
    CHECK(q.empty());
}

TEST_CASE("OutOfOrderQueue: overlaps keep the old bytes, covered ranges are replaced", "[tcp][ooo]") {
    const unsigned before = pool_in_use();
    // Old bytes are version 1, new ones version 2: the held contents show which was kept.
    SECTION("the new segment overlaps a range's end") {
        OutOfOrderQueue q(1 << 20, 8);
        REQUIRE(q.insert(SeqNum(100), segment(SeqNum(100), 100, 1)).outcome == Outcome::queued);
        const auto r = q.insert(SeqNum(150), segment(SeqNum(150), 100, 2));
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 50);
        CHECK(r.duplicate == block(150, 200));
        CHECK(q.ranges() == 1);
        CHECK(q.segments() == 2);
        CHECK(q.bytes() == 150);
        SeqNum nxt(100);
        CHECK(drain(q, nxt) == concat({stream(SeqNum(100), 100, 1), stream(SeqNum(200), 50, 2)}));
    }
    SECTION("the new segment overlaps a range's start") {
        OutOfOrderQueue q(1 << 20, 8);
        REQUIRE(q.insert(SeqNum(200), segment(SeqNum(200), 100, 1)).outcome == Outcome::queued);
        const auto r = q.insert(SeqNum(150), segment(SeqNum(150), 100, 2));
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 50);
        CHECK(r.duplicate == block(200, 250));
        CHECK(blocks(q) == std::vector<SackBlock>{block(150, 300)});
        SeqNum nxt(150);
        CHECK(drain(q, nxt) == concat({stream(SeqNum(150), 50, 2), stream(SeqNum(200), 100, 1)}));
        CHECK(nxt == SeqNum(300));
    }
    SECTION("a range wholly inside the new segment is replaced by it") {
        OutOfOrderQueue q(1 << 20, 8);
        REQUIRE(q.insert(SeqNum(200), segment(SeqNum(200), 50, 1)).outcome == Outcome::queued);
        const auto r = q.insert(SeqNum(150), segment(SeqNum(150), 150, 2));
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 100);
        CHECK(r.duplicate == block(200, 250));
        CHECK(q.segments() == 1);  // the replaced one no longer counts
        CHECK(q.footprint() == mbuf_buf_len);
        CHECK(pool_in_use() == before + 1);
        SeqNum nxt(150);
        CHECK(drain(q, nxt) == stream(SeqNum(150), 150, 2));
    }
    SECTION("a segment inside a range, or equal to it, is a duplicate") {
        OutOfOrderQueue q(1 << 20, 8);
        REQUIRE(q.insert(SeqNum(100), segment(SeqNum(100), 200, 1)).outcome == Outcome::queued);
        for (const auto& [s, e] : {std::pair{150u, 250u}, {100u, 300u}, {100u, 101u}, {299u, 300u}, {100u, 200u}}) {
            const unsigned held = pool_in_use();
            const auto r = q.insert(SeqNum(s), segment(SeqNum(s), e - s, 2));
            CHECK(r.outcome == Outcome::duplicate);
            CHECK(r.bytes_added == 0);
            CHECK(r.duplicate == block(s, e));
            CHECK(pool_in_use() == held);  // the duplicate was freed
        }
        CHECK(q.segments() == 1);
        CHECK(q.bytes() == 200);
        SeqNum nxt(100);
        CHECK(drain(q, nxt) == stream(SeqNum(100), 200, 1));
    }
    SECTION("a segment filling a hole joins two ranges into one") {
        OutOfOrderQueue q(1 << 20, 8);
        REQUIRE(q.insert(SeqNum(100), segment(SeqNum(100), 100, 1)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(300), segment(SeqNum(300), 100, 1)).outcome == Outcome::queued);
        CHECK(q.ranges() == 2);
        const auto r = q.insert(SeqNum(150), segment(SeqNum(150), 200, 2));
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 100);
        CHECK(r.duplicate == block(150, 200));
        CHECK(q.ranges() == 1);
        CHECK(q.segments() == 3);
        CHECK(q.bytes() == 300);
        CHECK(blocks(q) == std::vector<SackBlock>{block(100, 400)});
        SeqNum nxt(100);
        CHECK(drain(q, nxt) ==
              concat({stream(SeqNum(100), 100, 1), stream(SeqNum(200), 100, 2), stream(SeqNum(300), 100, 1)}));
    }
    SECTION("exactly adjacent segments coalesce, in either order") {
        OutOfOrderQueue q(1 << 20, 8);
        REQUIRE(q.insert(SeqNum(200), segment(SeqNum(200), 100)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(300), segment(SeqNum(300), 100)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(100), segment(SeqNum(100), 100)).outcome == Outcome::queued);
        CHECK(q.ranges() == 1);
        CHECK(q.segments() == 3);
        CHECK(blocks(q) == std::vector<SackBlock>{block(100, 400)});
        SeqNum nxt(100);
        PacketBuf all = q.pop_in_order(nxt);
        REQUIRE(all);
        CHECK(all.segment_count() == 3);  // one chain, no copy
        CHECK(contents(all) == stream(SeqNum(100), 300));
        CHECK(q.empty());
    }
    SECTION("one segment replaces several ranges and is cut by both neighbours") {
        OutOfOrderQueue q(1 << 20, 8);
        for (const auto& [s, e] : {std::pair{100u, 200u}, {250u, 260u}, {270u, 280u}, {350u, 450u}}) {
            REQUIRE(q.insert(SeqNum(s), segment(SeqNum(s), e - s, 1)).outcome == Outcome::queued);
        }
        CHECK(q.ranges() == 4);
        const auto r = q.insert(SeqNum(150), segment(SeqNum(150), 250, 2));  // [150, 400)
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 130);  // [200, 350) minus the 20 bytes held in it
        CHECK(r.duplicate == block(150, 200));
        CHECK(q.ranges() == 1);
        CHECK(q.segments() == 3);
        CHECK(q.bytes() == 350);
        CHECK(pool_in_use() == before + 3);
        SeqNum nxt(100);
        CHECK(drain(q, nxt) ==
              concat({stream(SeqNum(100), 100, 1), stream(SeqNum(200), 150, 2), stream(SeqNum(350), 100, 1)}));
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("OutOfOrderQueue cuts multi-segment packets across mbufs", "[tcp][ooo]") {
    const unsigned before = pool_in_use();
    {
        OutOfOrderQueue q(1 << 20, 8);
        REQUIRE(q.insert(SeqNum(500), segment(SeqNum(500), 350, 1)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(1000), segment(SeqNum(1000), 500, 1)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(2000), segment(SeqNum(2000), 500, 1)).outcome == Outcome::queued);
        // [700, 2200) in mbufs of 100, 250, 400, 10, 300 and 440 bytes. Its first 150
        // bytes (held in [500, 850)) are cut across the first two mbufs, its last 200
        // (held in [2000, 2500)) inside the last one; [1000, 1500) lies inside it and is
        // replaced.
        const auto r = q.insert(SeqNum(700), segment(SeqNum(700), 1500, 2, {100, 250, 400, 10, 300}));
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 1150 - 500);
        CHECK(r.duplicate == block(700, 850));
        CHECK(q.ranges() == 1);
        CHECK(q.segments() == 3);
        // 1 + 1 held, 5 of the new packet's 6 mbufs kept.
        CHECK(pool_in_use() == before + 7);
        CHECK(q.footprint() == 7 * mbuf_buf_len);
        SeqNum nxt(500);
        CHECK(drain(q, nxt) ==
              concat({stream(SeqNum(500), 350, 1), stream(SeqNum(850), 1150, 2), stream(SeqNum(2000), 500, 1)}));
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("OutOfOrderQueue pop_in_order trims bytes already received in order", "[tcp][ooo]") {
    const unsigned before = pool_in_use();
    OutOfOrderQueue q(1 << 20, 8);
    REQUIRE(q.insert(SeqNum(100), segment(SeqNum(100), 100, 0, {30, 30})).outcome == Outcome::queued);
    REQUIRE(q.insert(SeqNum(300), segment(SeqNum(300), 100)).outcome == Outcome::queued);
    REQUIRE(q.insert(SeqNum(500), segment(SeqNum(500), 100)).outcome == Outcome::queued);

    // An in-order segment carried RCV.NXT to 170: the range starting at 100 gives 170.. on.
    PacketBuf p = q.pop_in_order(SeqNum(170));
    REQUIRE(p);
    CHECK(contents(p) == stream(SeqNum(170), 30));
    CHECK(p.segment_count() == 1);  // the two first mbufs were freed
    CHECK(q.bytes() == 200);
    CHECK_FALSE(q.pop_in_order(SeqNum(200)));

    // RCV.NXT jumped past a whole range (the hole was filled by a bigger segment): it
    // is dropped and the next one is trimmed.
    p = q.pop_in_order(SeqNum(550));
    REQUIRE(p);
    CHECK(contents(p) == stream(SeqNum(550), 50));
    CHECK(q.empty());
    CHECK(q.bytes() == 0);
    CHECK(q.segments() == 0);
    CHECK(q.footprint() == 0);
    p.reset();
    CHECK(pool_in_use() == before);
}

TEST_CASE("OutOfOrderQueue: ranges across the 2^32 wrap", "[tcp][ooo]") {
    const unsigned before = pool_in_use();
    {
        OutOfOrderQueue q(1 << 20, 16);
        // C before the wrap, A straddling it, B after it.
        REQUIRE(q.insert(SeqNum(0xffff'ffc0u), segment(SeqNum(0xffff'ffc0u), 0x80)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(0x80u), segment(SeqNum(0x80u), 0x40)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(0xffff'ff40u), segment(SeqNum(0xffff'ff40u), 0x40)).outcome == Outcome::queued);
        CHECK(q.ranges() == 3);
        CHECK(q.bytes() == 0x100);
        // [ff60, a0): overlaps C's end, covers A (across 0), overlaps B's start.
        const auto r = q.insert(SeqNum(0xffff'ff60u), segment(SeqNum(0xffff'ff60u), 0x140, 3));
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 0x80);
        CHECK(r.duplicate == block(0xffff'ff60u, 0xffff'ff80u));
        CHECK(q.ranges() == 1);
        CHECK(q.segments() == 3);
        CHECK(blocks(q) == std::vector<SackBlock>{block(0xffff'ff40u, 0xc0)});

        CHECK_FALSE(q.pop_in_order(SeqNum(0xffff'ff00u)));
        SeqNum nxt(0xffff'ff40u);
        CHECK(drain(q, nxt) == concat({stream(SeqNum(0xffff'ff40u), 0x40), stream(SeqNum(0xffff'ff80u), 0x100, 3),
                                       stream(SeqNum(0x80), 0x40)}));
        CHECK(nxt == SeqNum(0xc0));
        CHECK(q.empty());

        // A range straddling 0 reached by RCV.NXT past the wrap: trimmed across it.
        REQUIRE(q.insert(SeqNum(0xffff'fff0u), segment(SeqNum(0xffff'fff0u), 0x30)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(0x100), segment(SeqNum(0x100), 0x10)).outcome == Outcome::queued);
        CHECK(blocks(q) == std::vector<SackBlock>{block(0x100, 0x110), block(0xffff'fff0u, 0x20)});
        nxt = SeqNum(0x10);
        CHECK(drain(q, nxt) == stream(SeqNum(0x10), 0x10));
        CHECK(nxt == SeqNum(0x20));
        CHECK(q.bytes() == 0x10);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("OutOfOrderQueue refuses data that would span 2^31 of sequence space", "[tcp][ooo]") {
    OutOfOrderQueue q(1 << 20, 16);
    REQUIRE(q.insert(SeqNum(0x1000), segment(SeqNum(0x1000), 100)).outcome == Outcome::queued);
    const unsigned held = pool_in_use();
    // 2^31 after the held data's start: no longer orderable against it.
    CHECK(q.insert(SeqNum(0x1000 + 0x8000'0000u), segment(SeqNum(0x1000 + 0x8000'0000u), 10)).outcome ==
          Outcome::out_of_range);
    CHECK(q.insert(SeqNum(0x1000 + 0x7fff'fff0u), segment(SeqNum(0x1000 + 0x7fff'fff0u), 100)).outcome ==
          Outcome::out_of_range);
    // Far before it, such that the span from it to the held end reaches 2^31.
    const SeqNum far_before(0x1000 + 100 - 0x8000'0000u);
    CHECK(q.insert(far_before, segment(far_before, 10)).outcome == Outcome::out_of_range);
    CHECK(pool_in_use() == held);
    // Just inside: 2^31 - 1 from the first held byte to the end.
    CHECK(q.insert(SeqNum(0x1000 + 0x7fff'fff0u), segment(SeqNum(0x1000 + 0x7fff'fff0u), 15)).outcome ==
          Outcome::queued);
    CHECK(q.ranges() == 2);
    CHECK(blocks(q, 1).front() == block(0x1000 + 0x7fff'fff0u, 0x1000 + 0x7fff'ffffu));
}

TEST_CASE("OutOfOrderQueue SACK blocks: most recently changed first (RFC 2018 4)", "[tcp][ooo]") {
    OutOfOrderQueue q(1 << 20, 16);
    REQUIRE(q.insert(SeqNum(1000), segment(SeqNum(1000), 100)).outcome == Outcome::queued);  // A
    REQUIRE(q.insert(SeqNum(3000), segment(SeqNum(3000), 100)).outcome == Outcome::queued);  // C
    REQUIRE(q.insert(SeqNum(2000), segment(SeqNum(2000), 100)).outcome == Outcome::queued);  // B
    CHECK(blocks(q) == std::vector<SackBlock>{block(2000, 2100), block(3000, 3100), block(1000, 1100)});

    // A duplicate inside A: the ACK it triggers reports A first.
    CHECK(q.insert(SeqNum(1010), segment(SeqNum(1010), 10)).outcome == Outcome::duplicate);
    CHECK(blocks(q) == std::vector<SackBlock>{block(1000, 1100), block(2000, 2100), block(3000, 3100)});

    // C grows.
    REQUIRE(q.insert(SeqNum(3100), segment(SeqNum(3100), 50)).outcome == Outcome::queued);
    CHECK(blocks(q) == std::vector<SackBlock>{block(3000, 3150), block(1000, 1100), block(2000, 2100)});

    // Only as many as asked (3 fit beside timestamps, RFC 2018 3).
    CHECK(blocks(q, 2) == std::vector<SackBlock>{block(3000, 3150), block(1000, 1100)});
    std::array<SackBlock, 4> none{};
    CHECK(q.sack_blocks(std::span<SackBlock>(none.data(), 0)) == 0);

    // B and C join through a new segment: one block, first.
    REQUIRE(q.insert(SeqNum(2100), segment(SeqNum(2100), 900)).outcome == Outcome::queued);
    CHECK(blocks(q) == std::vector<SackBlock>{block(2000, 3150), block(1000, 1100)});

    // A leaves by pop_in_order: the rest keep their order.
    SeqNum nxt(1000);
    CHECK(drain(q, nxt).size() == 100);
    CHECK(blocks(q) == std::vector<SackBlock>{block(2000, 3150)});
}

TEST_CASE("OutOfOrderQueue drops a segment past max_segments or max_bytes", "[tcp][ooo]") {
    const unsigned before = pool_in_use();
    SECTION("max_segments") {
        OutOfOrderQueue q(1 << 20, 3);
        for (std::uint32_t s : {100u, 300u, 500u}) {
            REQUIRE(q.insert(SeqNum(s), segment(SeqNum(s), 100)).outcome == Outcome::queued);
        }
        const unsigned held = pool_in_use();
        // A fourth segment, even adjacent to a range: refused, nothing changes.
        CHECK(q.insert(SeqNum(700), segment(SeqNum(700), 100)).outcome == Outcome::over_limit);
        CHECK(q.insert(SeqNum(200), segment(SeqNum(200), 50)).outcome == Outcome::over_limit);
        CHECK(pool_in_use() == held);
        CHECK(q.segments() == 3);
        CHECK(q.bytes() == 300);
        CHECK(blocks(q) == std::vector<SackBlock>{block(500, 600), block(300, 400), block(100, 200)});
        // Duplicates are still recognised (and reorder the blocks).
        CHECK(q.insert(SeqNum(100), segment(SeqNum(100), 100)).outcome == Outcome::duplicate);
        CHECK(blocks(q).front() == block(100, 200));
        // A segment replacing two held ones fits: 3 - 2 + 1 segments.
        const auto r = q.insert(SeqNum(250), segment(SeqNum(250), 400));
        CHECK(r.outcome == Outcome::queued);
        CHECK(q.segments() == 2);
        CHECK(q.ranges() == 2);
        // Now a third fits again.
        CHECK(q.insert(SeqNum(900), segment(SeqNum(900), 10)).outcome == Outcome::queued);
        CHECK(q.segments() == 3);
        CHECK(q.insert(SeqNum(1900), segment(SeqNum(1900), 10)).outcome == Outcome::over_limit);
    }
    SECTION("max_bytes counts mbuf buffers, not payload") {
        OutOfOrderQueue q(2 * mbuf_buf_len, 100);
        REQUIRE(q.insert(SeqNum(100), segment(SeqNum(100), 1)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(300), segment(SeqNum(300), 1)).outcome == Outcome::queued);
        CHECK(q.footprint() == 2 * mbuf_buf_len);
        CHECK(q.bytes() == 2);
        CHECK(q.insert(SeqNum(500), segment(SeqNum(500), 1)).outcome == Outcome::over_limit);
        // Two mbufs for the new one, only one freed by what it replaces: still too much.
        CHECK(q.insert(SeqNum(250), segment(SeqNum(250), 100, 0, {50})).outcome == Outcome::over_limit);
        // One mbuf replacing one mbuf fits.
        CHECK(q.insert(SeqNum(250), segment(SeqNum(250), 100)).outcome == Outcome::queued);
        CHECK(q.footprint() == 2 * mbuf_buf_len);
        CHECK(q.bytes() == 101);
        CHECK(q.ranges() == 2);
    }
    SECTION("the limit applies after cutting the overlaps off") {
        OutOfOrderQueue q(3 * mbuf_buf_len, 100);
        REQUIRE(q.insert(SeqNum(0), segment(SeqNum(0), 100)).outcome == Outcome::queued);
        REQUIRE(q.insert(SeqNum(300), segment(SeqNum(300), 100)).outcome == Outcome::queued);
        // [50, 350) in mbufs [50, 100) [100, 300) [300, 350): the first and last hold only
        // bytes already held and are freed by the cuts, so the one left fits.
        const auto r = q.insert(SeqNum(50), segment(SeqNum(50), 300, 0, {50, 200}));
        CHECK(r.outcome == Outcome::queued);
        CHECK(r.bytes_added == 200);
        CHECK(q.footprint() == 3 * mbuf_buf_len);
        CHECK(q.ranges() == 1);
        SeqNum nxt(0);
        CHECK(drain(q, nxt) == stream(SeqNum(0), 400));
    }
    SECTION("no segments at all") {
        OutOfOrderQueue q(1 << 20, 0);
        CHECK(q.insert(SeqNum(1), segment(SeqNum(1), 10)).outcome == Outcome::over_limit);
        CHECK(q.empty());
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("OutOfOrderQueue clear, destruction and move free every mbuf", "[tcp][ooo]") {
    const unsigned before = pool_in_use();
    {
        OutOfOrderQueue q(1 << 20, 32);
        for (std::uint32_t i = 0; i < 10; ++i) {
            REQUIRE(q.insert(SeqNum(i * 1000), segment(SeqNum(i * 1000), 500, 0, {200})).outcome == Outcome::queued);
        }
        CHECK(pool_in_use() == before + 20);
        q.clear();
        CHECK(pool_in_use() == before);
        CHECK(q.empty());
        CHECK(q.bytes() == 0);
        CHECK(q.segments() == 0);
        CHECK(q.footprint() == 0);
        // The node pool is whole again: 32 disjoint segments fit.
        for (std::uint32_t i = 0; i < 32; ++i) {
            REQUIRE(q.insert(SeqNum(i * 1000), segment(SeqNum(i * 1000), 10)).outcome == Outcome::queued);
        }
        CHECK(q.insert(SeqNum(99'000), segment(SeqNum(99'000), 10)).outcome == Outcome::over_limit);

        OutOfOrderQueue moved(std::move(q));
        CHECK(moved.ranges() == 32);
        CHECK(moved.bytes() == 320);
        CHECK(q.empty());  // NOLINT(bugprone-use-after-move): documented state
        CHECK(q.insert(SeqNum(1), segment(SeqNum(1), 10)).outcome == Outcome::over_limit);

        OutOfOrderQueue other(1 << 20, 4);
        REQUIRE(other.insert(SeqNum(5), segment(SeqNum(5), 5)).outcome == Outcome::queued);
        other = std::move(moved);
        CHECK(other.ranges() == 32);
        CHECK(other.max_segments() == 32);
        SeqNum nxt(0);
        CHECK(drain(other, nxt) == stream(SeqNum(0), 10));
        CHECK(pool_in_use() == before + 31);
    }
    CHECK(pool_in_use() == before);
}

namespace {

// The model: which sequence offsets (from `base`) are held.
struct Model {
    SeqNum base;
    std::map<std::uint32_t, std::uint32_t> ranges;  // offset start -> end, disjoint, not adjacent

    std::uint32_t held_in(std::uint32_t s, std::uint32_t e) const {
        std::uint32_t n = 0;
        for (const auto& [rs, re] : ranges) {
            const std::uint32_t lo = std::max(rs, s);
            const std::uint32_t hi = std::min(re, e);
            if (lo < hi) n += hi - lo;
        }
        return n;
    }
    void add(std::uint32_t s, std::uint32_t e) {
        auto it = ranges.lower_bound(s);
        if (it != ranges.begin() && std::prev(it)->second >= s) --it;
        while (it != ranges.end() && it->first <= e) {
            s = std::min(s, it->first);
            e = std::max(e, it->second);
            it = ranges.erase(it);
        }
        ranges.emplace(s, e);
    }
    std::size_t bytes() const {
        std::size_t n = 0;
        for (const auto& [s, e] : ranges) n += e - s;
        return n;
    }
};

}  // namespace

TEST_CASE("OutOfOrderQueue matches a byte-set model under random segments", "[tcp][ooo][random]") {
    struct Config {
        std::uint32_t seed;
        std::size_t max_bytes;
        std::size_t max_segments;
        bool segments_bind;  // which limit the run is expected to reach
    };
    // One run where the segment count binds first, one where the buffer bytes do.
    const Config config = GENERATE(Config{20240601, 200 * mbuf_buf_len, 24, true},
                                   Config{7, 60 * mbuf_buf_len, 400, false});
    const unsigned before = pool_in_use();
    {
        std::mt19937 rng(config.seed);
        constexpr std::uint32_t window = 60'000;
        const std::size_t max_bytes = config.max_bytes;
        const std::size_t max_segments = config.max_segments;
        OutOfOrderQueue q(max_bytes, max_segments);
        // Start just below the wrap so that the run crosses it many times over.
        SeqNum rcv_nxt(0xffff'0000u);
        Model model{rcv_nxt, {}};
        std::size_t over_limit = 0;
        std::size_t duplicates = 0;
        std::size_t delivered = 0;
        bool reached_segments = false;  // segments() == max_segments at some point
        bool reached_bytes = false;     // footprint() within 3 mbufs of max_bytes

        for (int op = 0; op < 6000; ++op) {
            const std::uint32_t kind = rng() % 10;
            if (kind < 7) {
                // A segment somewhere in the window beyond RCV.NXT, in mbufs of at most
                // 2,000 bytes, cut at random.
                const std::uint32_t off = 1 + rng() % (window - 1);
                const std::uint32_t len = 1 + rng() % std::min<std::uint32_t>(3000, window - off);
                std::vector<std::size_t> cuts;
                for (std::uint32_t left = len; left > 0;) {
                    const std::uint32_t piece = left > 2000 || rng() % 3 == 0 ? 1 + rng() % std::min(left, 2000u) : left;
                    cuts.push_back(piece);
                    left -= piece;
                }
                const SeqNum seq = rcv_nxt + off;
                const std::uint32_t s = static_cast<std::uint32_t>(seq - model.base);
                const std::uint32_t newly = len - model.held_in(s, s + len);
                const auto r = q.insert(seq, segment(seq, len, 0, cuts));
                if (r.outcome == Outcome::over_limit) {
                    ++over_limit;
                } else if (newly == 0) {
                    REQUIRE(r.outcome == Outcome::duplicate);
                    REQUIRE(r.duplicate == SackBlock{seq, seq + len});
                    ++duplicates;
                } else {
                    REQUIRE(r.outcome == Outcome::queued);
                    REQUIRE(r.bytes_added == newly);
                    model.add(s, s + len);
                }
                if (r.outcome != Outcome::over_limit) {
                    // RFC 2018 4: the first block holds the segment just received.
                    const auto first = blocks(q, 1);
                    REQUIRE(first.size() == 1);
                    REQUIRE(seq.in_window(first[0].left, first[0].right));
                    REQUIRE((seq + (len - 1)).in_window(first[0].left, first[0].right));
                }
            } else {
                // In-order data arrives: RCV.NXT moves by up to 4000 bytes, then the queue
                // gives what now follows it.
                const std::uint32_t adv = rng() % 4000;
                rcv_nxt += adv;
                const std::uint32_t at = static_cast<std::uint32_t>(rcv_nxt - model.base);
                SeqNum nxt = rcv_nxt;
                const Bytes got = drain(q, nxt);
                // The model: bytes before RCV.NXT go, then the run starting at it.
                std::map<std::uint32_t, std::uint32_t> rest;
                std::uint32_t run_end = at;
                for (const auto& [s, e] : model.ranges) {
                    if (e <= at) continue;
                    if (s <= run_end) {
                        run_end = std::max(run_end, e);
                    } else {
                        rest.emplace(s, e);
                    }
                }
                REQUIRE(got == stream(rcv_nxt, run_end - at));
                delivered += got.size();
                rcv_nxt = nxt;
                // Rebase the model on the new RCV.NXT.
                model.ranges.clear();
                const std::uint32_t shift = static_cast<std::uint32_t>(rcv_nxt - model.base);
                for (const auto& [s, e] : rest) model.ranges.emplace(s - shift, e - shift);
                model.base = rcv_nxt;
            }
            // Totals and blocks agree with the model; the bounds hold.
            REQUIRE(q.bytes() == model.bytes());
            REQUIRE(q.ranges() == model.ranges.size());
            REQUIRE(q.footprint() <= max_bytes);
            REQUIRE(pool_in_use() == before + q.footprint() / mbuf_buf_len);
            REQUIRE(q.segments() <= max_segments);
            REQUIRE(q.ranges() <= q.segments());
            reached_segments = reached_segments || q.segments() == max_segments;
            reached_bytes = reached_bytes || q.footprint() + 3 * mbuf_buf_len > max_bytes;
            auto got = blocks(q);
            std::sort(got.begin(), got.end(), [&](const SackBlock& a, const SackBlock& b) {
                return a.left - model.base < b.left - model.base;
            });
            std::vector<SackBlock> want;
            for (const auto& [s, e] : model.ranges) want.push_back({model.base + s, model.base + e});
            REQUIRE(got == want);
        }
        // The run exercised every path.
        CHECK(over_limit > 0);
        CHECK(reached_segments == config.segments_bind);
        CHECK(reached_bytes == !config.segments_bind);
        CHECK(duplicates > 0);
        CHECK(delivered > std::uint64_t{1} << 20);
        CHECK(rcv_nxt.raw() < 0xffff'0000u);  // went past 2^32
    }
    CHECK(pool_in_use() == before);
}
