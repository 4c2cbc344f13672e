#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "buf/packet_buf.hpp"
#include "buf/packet_queue.hpp"
#include "buf/packet_ref.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"

using pollux::buf::PacketBuf;
using pollux::buf::PacketQueue;
using pollux::buf::PacketRef;
using pollux::test::Bytes;
using pollux::test::chained;
using pollux::test::contents;
using pollux::test::mbuf_pool;
using pollux::test::packet;
using pollux::test::pattern;
using pollux::test::pool_in_use;

namespace {

// The bytes a view gives through copy_out.
Bytes ref_bytes(PacketRef r) {
    Bytes out(r.length());
    REQUIRE(r.copy_out(0, out));
    return out;
}

// The segments' data_len, in order.
std::vector<std::uint16_t> segment_lengths(const PacketBuf& p) {
    std::vector<std::uint16_t> v;
    for (const rte_mbuf* s = p.get(); s != nullptr; s = s->next) v.push_back(s->data_len);
    return v;
}

}  // namespace

TEST_CASE("PacketQueue pops packets in push order with their tags", "[buf][queue]") {
    const unsigned before = pool_in_use();
    PacketQueue q;
    CHECK(q.empty());
    CHECK(q.size() == 0);

    // Tags use all 64 bits: an address and port pair packed by the UDP layer, the extremes.
    const std::array<std::uint64_t, 4> tags = {0x0000'c0a8'0102'1f90ULL, 0, ~std::uint64_t{0},
                                               0x8000'0000'0000'0001ULL};
    std::vector<Bytes> payloads;
    for (std::size_t i = 0; i < tags.size(); ++i) {
        payloads.push_back(pattern(10 + i * 100, static_cast<std::uint32_t>(i + 1)));
        q.push_back(packet(payloads.back()), tags[i]);
        CHECK(q.size() == i + 1);
        CHECK(q.front_tag() == tags[0]);  // the front does not move on push
    }
    CHECK_FALSE(q.empty());
    CHECK(pool_in_use() == before + 4);

    for (std::size_t i = 0; i < tags.size(); ++i) {
        auto f = q.front();
        REQUIRE(f.has_value());
        CHECK(f->length() == payloads[i].size());
        CHECK(q.front_tag() == tags[i]);
        PacketBuf p = q.pop_front();
        REQUIRE(p);
        CHECK(contents(p) == payloads[i]);
        CHECK(PacketQueue::tag(p) == tags[i]);
        CHECK(q.size() == tags.size() - i - 1);
    }
    CHECK(q.empty());
    CHECK_FALSE(q.front().has_value());
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketQueue keeps multi-segment chains whole", "[buf][queue]") {
    const unsigned before = pool_in_use();
    const Bytes a = pattern(3000, 11);
    const Bytes b = pattern(5000, 12);  // three segments by append_copy
    PacketBuf pa = chained(a, {100, 7, 1500});
    PacketBuf pb = packet(b);
    const std::vector<std::uint16_t> a_segs = segment_lengths(pa);
    const std::vector<std::uint16_t> b_segs = segment_lengths(pb);
    REQUIRE(a_segs == std::vector<std::uint16_t>{100, 7, 1500, 1393});
    REQUIRE(b_segs.size() == 3);
    const unsigned held = pool_in_use();
    REQUIRE(held == before + 7);

    PacketQueue q;
    q.push_back(std::move(pa), 1);
    q.push_back(std::move(pb), 2);
    CHECK(pool_in_use() == held);

    // Read through the view while queued: the exact bytes, the chain intact.
    auto f = q.front();
    REQUIRE(f.has_value());
    CHECK(f->segment_count() == 4);
    CHECK(ref_bytes(*f) == a);

    PacketBuf out_a = q.pop_front();
    CHECK(segment_lengths(out_a) == a_segs);
    CHECK(out_a.segment_count() == 4);
    CHECK(contents(out_a) == a);

    f = q.front();
    REQUIRE(f.has_value());
    CHECK(ref_bytes(*f) == b);
    PacketBuf out_b = q.pop_front();
    CHECK(segment_lengths(out_b) == b_segs);
    CHECK(contents(out_b) == b);
    CHECK(PacketQueue::tag(out_a) == 1);
    CHECK(PacketQueue::tag(out_b) == 2);

    CHECK(pool_in_use() == held);
    out_a.reset();
    out_b.reset();
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketQueue footprint is the sum of the queued packets' buffer footprints", "[buf][queue]") {
    PacketQueue q;
    CHECK(q.footprint() == 0);
    std::vector<std::size_t> fps;
    // One-segment, three-segment and a shared (indirect) packet.
    PacketBuf one = packet(pattern(60, 1));
    PacketBuf three = chained(pattern(2000, 2), {500, 500});
    PacketBuf original = packet(pattern(3000, 3));
    PacketBuf shared = original.clone_range(1000, 1500, mbuf_pool());
    REQUIRE(shared);
    for (PacketBuf* p : {&one, &three, &shared}) fps.push_back(p->buffer_footprint());
    const std::size_t seg = one.buffer_footprint();  // one mbuf's buf_len
    REQUIRE(seg > 0);
    CHECK(fps[1] == 3 * seg);

    q.push_back(std::move(one), 0);
    CHECK(q.footprint() == fps[0]);
    q.push_back(std::move(three), 0);
    q.push_back(std::move(shared), 0);
    CHECK(q.footprint() == fps[0] + fps[1] + fps[2]);
    CHECK(PacketRef(*q.front()).buffer_footprint() == fps[0]);

    PacketBuf p = q.pop_front();
    CHECK(q.footprint() == fps[1] + fps[2]);
    // Growing a popped packet does not change what the queue holds.
    REQUIRE(p.append_copy(pattern(5000, 4), mbuf_pool()));
    CHECK(q.footprint() == fps[1] + fps[2]);
    q.push_back(std::move(p), 0);
    const std::size_t grown = fps[0] + 2 * seg;  // 60 + 5000 bytes need three mbufs of 2,048-byte data room
    CHECK(q.footprint() == fps[1] + fps[2] + grown);

    q.pop_front();
    q.pop_front();
    CHECK(q.footprint() == grown);
    q.pop_front();
    CHECK(q.footprint() == 0);
    CHECK(q.empty());
}

TEST_CASE("PacketQueue clear and destructor return every mbuf to the pool", "[buf][queue]") {
    const unsigned before = pool_in_use();
    {
        PacketQueue q;
        for (std::uint32_t i = 0; i < 10; ++i) q.push_back(packet(pattern(2500, i)), i);  // 2 mbufs each
        CHECK(pool_in_use() == before + 20);
        q.clear();
        CHECK(pool_in_use() == before);
        CHECK(q.empty());
        CHECK(q.size() == 0);
        CHECK(q.footprint() == 0);
        CHECK_FALSE(q.front().has_value());

        // Usable again after clear; the destructor frees what is left.
        q.push_back(chained(pattern(900, 7), {300, 300}), 70);
        q.push_back(packet(pattern(50, 8)), 80);
        CHECK(q.front_tag() == 70);
        CHECK(pool_in_use() == before + 4);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketQueue moves transfer ownership", "[buf][queue]") {
    const unsigned before = pool_in_use();
    const Bytes x = pattern(100, 21);
    const Bytes y = pattern(200, 22);
    const Bytes z = pattern(300, 23);

    SECTION("move construction") {
        PacketQueue a;
        a.push_back(packet(x), 1);
        a.push_back(packet(y), 2);
        const std::size_t fp = a.footprint();
        PacketQueue b(std::move(a));
        CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
        CHECK(a.size() == 0);
        CHECK(a.footprint() == 0);
        CHECK(a.pop_front().get() == nullptr);
        CHECK(b.size() == 2);
        CHECK(b.footprint() == fp);
        CHECK(pool_in_use() == before + 2);

        // The moved-from queue works on its own.
        a.push_back(packet(z), 3);
        CHECK(contents(b.pop_front()) == x);
        CHECK(contents(a.pop_front()) == z);
        CHECK(b.front_tag() == 2);
    }
    SECTION("move assignment frees the target's packets") {
        PacketQueue a;
        PacketQueue b;
        a.push_back(packet(x), 1);
        b.push_back(packet(y), 2);
        b.push_back(packet(z), 3);
        CHECK(pool_in_use() == before + 3);
        b = std::move(a);
        CHECK(pool_in_use() == before + 1);  // y and z are gone
        CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
        REQUIRE(b.size() == 1);
        CHECK(b.front_tag() == 1);
        CHECK(ref_bytes(*b.front()) == x);

        // Self-move leaves the queue as it was.
        PacketQueue& self = b;
        b = std::move(self);
        CHECK(b.size() == 1);
        CHECK(pool_in_use() == before + 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketQueue pop on an empty queue gives an empty PacketBuf", "[buf][queue]") {
    PacketQueue q;
    PacketBuf p = q.pop_front();
    CHECK_FALSE(p);
    q.push_back(packet(pattern(10, 5)), 9);
    CHECK(q.pop_front());
    CHECK_FALSE(q.pop_front());
    CHECK(q.empty());
    CHECK(q.footprint() == 0);
    // Still a working FIFO after popping past the end.
    q.push_back(packet(pattern(20, 6)), 10);
    q.push_back(packet(pattern(30, 7)), 11);
    CHECK(q.front_tag() == 10);
    CHECK(q.pop_front().length() == 20);
    CHECK(q.pop_front().length() == 30);
}

TEST_CASE("PacketQueue holds 1,500 packets and drains to the pool's baseline", "[buf][queue]") {
    const unsigned before = pool_in_use();
    PacketQueue q;
    std::size_t expected_fp = 0;
    for (std::uint32_t i = 0; i < 1500; ++i) {
        PacketBuf p = packet(pattern(64 + i % 1400, i));
        expected_fp += p.buffer_footprint();
        q.push_back(std::move(p), std::uint64_t{i} << 20 | i);
    }
    CHECK(q.size() == 1500);
    CHECK(q.footprint() == expected_fp);
    CHECK(pool_in_use() == before + 1500);

    std::uint32_t i = 0;
    bool order_ok = true;
    for (PacketBuf p = q.pop_front(); p; p = q.pop_front(), ++i) {
        order_ok = order_ok && PacketQueue::tag(p) == (std::uint64_t{i} << 20 | i) &&
                   p.length() == 64 + i % 1400;
    }
    CHECK(order_ok);
    CHECK(i == 1500);
    CHECK(q.empty());
    CHECK(q.footprint() == 0);
    CHECK(pool_in_use() == before);
}

TEST_CASE("A popped packet can be queued again with a new tag", "[buf][queue]") {
    PacketQueue a;
    PacketQueue b;
    a.push_back(packet(pattern(40, 1)), 100);
    a.push_back(packet(pattern(50, 2)), 200);
    b.push_back(a.pop_front(), 300);
    b.push_back(packet(pattern(60, 3)), 400);
    CHECK(a.size() == 1);
    CHECK(a.front_tag() == 200);
    CHECK(b.front_tag() == 300);
    CHECK(b.pop_front().length() == 40);
    CHECK(b.front_tag() == 400);
    CHECK(a.pop_front().length() == 50);
    CHECK(b.pop_front().length() == 60);
}

TEST_CASE("PacketRef reads across segment boundaries", "[buf][queue]") {
    const Bytes bytes = pattern(1000, 31);
    PacketBuf p = chained(bytes, {300, 200});  // segments [0,300) [300,500) [500,1000)
    const PacketRef r(p);
    CHECK(r.length() == 1000);
    CHECK(r.segment_count() == 3);
    CHECK(r.get() == p.get());
    REQUIRE(r.front().size() == 300);
    CHECK(Bytes(r.front().begin(), r.front().end()) == Bytes(bytes.begin(), bytes.begin() + 300));
    CHECK(r.buffer_footprint() == p.buffer_footprint());

    std::array<std::uint8_t, 64> scratch{};
    SECTION("within a segment: a pointer into the packet") {
        const std::uint8_t* q = r.read(310, 50, scratch.data());
        REQUIRE(q != nullptr);
        CHECK(q == rte_pktmbuf_mtod_offset(p.get()->next, const std::uint8_t*, 10));
        CHECK(Bytes(q, q + 50) == Bytes(bytes.begin() + 310, bytes.begin() + 360));
    }
    SECTION("across a boundary: copied into scratch") {
        const std::uint8_t* q = r.read(280, 40, scratch.data());  // 20 bytes each side
        CHECK(q == scratch.data());
        CHECK(Bytes(scratch.begin(), scratch.begin() + 40) == Bytes(bytes.begin() + 280, bytes.begin() + 320));
        // Spanning all three segments.
        q = r.read(290, 64, scratch.data());
        REQUIRE(q != nullptr);
        CHECK(Bytes(q, q + 64) == Bytes(bytes.begin() + 290, bytes.begin() + 354));
        Bytes big(400);
        REQUIRE(r.copy_out(250, big));  // 50 + 200 + 150
        CHECK(big == Bytes(bytes.begin() + 250, bytes.begin() + 650));
    }
    SECTION("past the end") {
        CHECK(r.read(990, 11, scratch.data()) == nullptr);
        CHECK(r.read(990, 10, scratch.data()) != nullptr);
        std::array<std::uint8_t, 2> two{};
        CHECK_FALSE(r.copy_out(999, two));
        CHECK(r.copy_out(998, two));
        CHECK(two[0] == bytes[998]);
        CHECK(two[1] == bytes[999]);
        CHECK(r.copy_out(1000, {}));
        CHECK_FALSE(r.copy_out(1001, {}));
    }
}

TEST_CASE("The link field fits beside the rx timestamp and rte_flow metadata fields", "[buf][queue]") {
    PacketQueue q;  // registers the link field if no test did yet
    rte_mbuf_dynfield params{};
    const int link_off = rte_mbuf_dynfield_lookup(PacketQueue::link_field_name, &params);
    REQUIRE(link_off >= 0);
    CHECK(params.size == 24);
    CHECK(params.align == 8);
    CHECK(link_off % 8 == 0);
    // Inside DPDK 22.11's dynamic area, rte_mbuf::dynfield1 (36 bytes).
    const auto area = static_cast<int>(offsetof(rte_mbuf, dynfield1));
    CHECK(link_off >= area);
    CHECK(link_off + 24 <= area + static_cast<int>(sizeof(rte_mbuf::dynfield1)));

    // What a PMD registers for RTE_ETH_RX_OFFLOAD_TIMESTAMP and for rte_flow metadata
    // (names and layouts from rte_mbuf_dyn.h and rte_flow.h).
    rte_mbuf_dynfield ts{};
    std::strcpy(ts.name, "rte_dynfield_timestamp");
    ts.size = sizeof(std::uint64_t);
    ts.align = alignof(std::uint64_t);
    rte_mbuf_dynfield meta{};
    std::strcpy(meta.name, "rte_flow_dynfield_metadata");
    meta.size = sizeof(std::uint32_t);
    meta.align = alignof(std::uint32_t);
    const int ts_off = rte_mbuf_dynfield_register(&ts);
    const int meta_off = rte_mbuf_dynfield_register(&meta);
    REQUIRE(ts_off >= 0);
    REQUIRE(meta_off >= 0);

    // Their values survive a trip through the queue: no byte of the link overlaps them.
    PacketBuf p = packet(pattern(100, 41));
    *RTE_MBUF_DYNFIELD(p.get(), ts_off, std::uint64_t*) = 0x1122'3344'5566'7788ULL;
    *RTE_MBUF_DYNFIELD(p.get(), meta_off, std::uint32_t*) = 0xdead'beefU;
    q.push_back(std::move(p), ~std::uint64_t{0});
    q.push_back(packet(pattern(10, 42)), ~std::uint64_t{0});  // writes the first's next link
    p = q.pop_front();
    CHECK(*RTE_MBUF_DYNFIELD(p.get(), ts_off, std::uint64_t*) == 0x1122'3344'5566'7788ULL);
    CHECK(*RTE_MBUF_DYNFIELD(p.get(), meta_off, std::uint32_t*) == 0xdead'beefU);
}
