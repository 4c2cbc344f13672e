#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "buf/packet_buf.hpp"
#include "buf/segment_chain.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"

using pollux::buf::PacketBuf;
using pollux::buf::SegmentChain;
using pollux::test::Bytes;
using pollux::test::chained;
using pollux::test::contents;
using pollux::test::mbuf_pool;
using pollux::test::packet;
using pollux::test::pattern;
using pollux::test::pool_in_use;

namespace {

constexpr std::size_t seg_len = RTE_MBUF_DEFAULT_BUF_SIZE;

Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes held(const SegmentChain& c) {
    Bytes out(c.size());
    REQUIRE(c.copy_out(0, out));
    return out;
}

}  // namespace

TEST_CASE("SegmentChain takes packets' segments and hands a prefix back as a packet", "[buf][chain]") {
    const unsigned before = pool_in_use();
    {
        SegmentChain c;
        CHECK(c.empty());
        CHECK_FALSE(c.take_front());
        c.append(chained(str("abcdefgh"), {3, 0, 2}));  // "abc" "" "de" "fgh"
        c.append(PacketBuf());
        c.append(packet(str("ij")));
        CHECK(c.size() == 10);
        CHECK(c.segment_count() == 4);  // the empty mbuf was freed
        CHECK(c.footprint() == 4 * seg_len);
        CHECK(pool_in_use() == before + 4);
        CHECK(held(c) == str("abcdefghij"));

        Bytes mid(4);
        CHECK(c.copy_out(2, mid));
        CHECK(mid == str("cdef"));
        CHECK_FALSE(c.copy_out(7, mid));  // one short
        CHECK(c.copy_out(10, {}));
        CHECK_FALSE(c.copy_out(11, {}));

        c.consume(4);  // "abc" freed, "de" -> "e"
        CHECK(c.front_position() == 4);
        CHECK(c.segment_count() == 3);
        CHECK(c.footprint() == 3 * seg_len);
        CHECK(held(c) == str("efghij"));

        PacketBuf p = c.take_front();
        REQUIRE(p);
        CHECK(p.length() == 6);
        CHECK(p.segment_count() == 3);
        CHECK(contents(p) == str("efghij"));
        CHECK(c.empty());
        CHECK(c.size() == 0);
        CHECK(c.footprint() == 0);
        CHECK(c.front_position() == 10);
        // The packet is a normal chain: PacketBuf operations work on it.
        CHECK(p.truncate(2));
        CHECK(contents(p) == str("ef"));
        CHECK(p.segment_count() == 2);  // "e" and "f" of "fgh"
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SegmentChain append(SegmentChain&&) splices in O(1) and clear frees", "[buf][chain]") {
    const unsigned before = pool_in_use();
    SegmentChain a, b;
    a.append(packet(str("one")));
    b.append(packet(str("two")));
    b.append(packet(str("three")));
    a.append(std::move(b));
    CHECK(b.empty());
    CHECK(b.footprint() == 0);
    CHECK(b.front_position() == 8);  // its bytes left it by the front
    CHECK(held(a) == str("onetwothree"));
    CHECK(a.segment_count() == 3);
    CHECK(a.front_position() == 0);
    b.append(std::move(a));  // into an empty chain
    CHECK(held(b) == str("onetwothree"));
    CHECK(a.empty());
    CHECK(a.front_position() == 11);
    CHECK(b.front_position() == 8);
    a = std::move(b);  // the position moves with the bytes
    CHECK(held(a) == str("onetwothree"));
    CHECK(a.front_position() == 8);
    a.consume(100);  // more than held
    CHECK(a.empty());
    CHECK(a.front_position() == 19);
    CHECK(pool_in_use() == before);
    a.append(packet(str("x")));
    a.clear();
    CHECK(pool_in_use() == before);
    CHECK(a.front_position() == 20);
}

TEST_CASE("SegmentChain holds more than 65,535 segments; take_front returns at most that many", "[buf][chain]") {
    // Small mbufs so that 70,000 fit in the EAL's memory.
    rte_mempool* pool = rte_pktmbuf_pool_create("chain_many", 70'000, 0, 0, RTE_PKTMBUF_HEADROOM + 16, SOCKET_ID_ANY);
    REQUIRE(pool != nullptr);
    {
        SegmentChain c;
        constexpr std::size_t n = 65'535 + 3;
        for (std::size_t i = 0; i < n; ++i) {
            rte_mbuf* m = rte_pktmbuf_alloc(pool);
            REQUIRE(m != nullptr);
            *rte_pktmbuf_mtod(m, std::uint8_t*) = static_cast<std::uint8_t>(i);
            m->data_len = 1;
            c.push_back(m);
        }
        CHECK(c.segment_count() == n);
        CHECK(c.size() == n);
        PacketBuf first = c.take_front();
        REQUIRE(first);
        CHECK(first.segment_count() == 65'535);
        CHECK(first.length() == 65'535);
        CHECK(c.segment_count() == 3);
        CHECK(c.size() == 3);
        CHECK(c.front_position() == 65'535);
        Bytes rest(3);
        CHECK(c.copy_out(0, rest));
        CHECK(rest == Bytes{static_cast<std::uint8_t>(65'535), 0, 1});
        std::uint8_t last = 0;
        CHECK(first.copy_out(65'534, {&last, 1}));
        CHECK(last == static_cast<std::uint8_t>(65'534));
        PacketBuf second = c.take_front();
        CHECK(second.segment_count() == 3);
        CHECK(c.empty());
    }
    CHECK(rte_mempool_in_use_count(pool) == 0);
    rte_mempool_free(pool);
}

TEST_CASE("SegmentChain consume keeps clones' windows", "[buf][chain]") {
    const unsigned before = pool_in_use();
    const Bytes data = pattern(3000, 9);
    PacketBuf original = packet(data);
    PacketBuf clone = original.clone_range(100, 2000, mbuf_pool());
    REQUIRE(clone);
    {
        SegmentChain c;
        c.append(std::move(original));
        c.consume(1500);  // moves the first segment's start; the clone keeps its own
        CHECK(held(c) == Bytes(data.begin() + 1500, data.end()));
        CHECK(contents(clone) == Bytes(data.begin() + 100, data.begin() + 2100));
        c.clear();
    }
    CHECK(contents(clone) == Bytes(data.begin() + 100, data.begin() + 2100));
    clone.reset();
    CHECK(pool_in_use() == before);
}
