#include <catch2/catch.hpp>

#include <array>
#include <numeric>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "buf/packet_buf.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"

using pollux::buf::PacketBuf;
using pollux::buf::RxChecksum;
using pollux::test::contents;
using pollux::test::mbuf_pool;
using pollux::test::pool_in_use;

namespace {

std::vector<std::uint8_t> iota_bytes(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    std::iota(v.begin(), v.end(), std::uint8_t{0});
    return v;
}

}  // namespace

TEST_CASE("PacketBuf frees its chain on destruction and on move-assign", "[buf]") {
    const unsigned before = pool_in_use();
    {
        PacketBuf a = PacketBuf::alloc(mbuf_pool());
        REQUIRE(a);
        CHECK(pool_in_use() == before + 1);
        PacketBuf b = std::move(a);
        CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
        CHECK(b);
        b = PacketBuf::alloc(mbuf_pool());  // frees the first
        CHECK(pool_in_use() == before + 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketBuf release hands ownership out", "[buf]") {
    const unsigned before = pool_in_use();
    PacketBuf a = PacketBuf::alloc(mbuf_pool());
    rte_mbuf* raw = a.release();
    CHECK_FALSE(a);
    CHECK(pool_in_use() == before + 1);
    rte_pktmbuf_free(raw);
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketBuf prepend, append, adjust and trim", "[buf]") {
    PacketBuf p = PacketBuf::alloc(mbuf_pool());
    REQUIRE(p);
    CHECK(p.length() == 0);
    CHECK(p.headroom() == RTE_PKTMBUF_HEADROOM);

    std::uint8_t* body = p.append(4);
    REQUIRE(body != nullptr);
    std::memcpy(body, "data", 4);
    std::uint8_t* hdr = p.prepend(2);
    REQUIRE(hdr != nullptr);
    hdr[0] = 'h';
    hdr[1] = ':';
    CHECK(p.length() == 6);
    CHECK(p.headroom() == RTE_PKTMBUF_HEADROOM - 2);
    const auto front = p.front();
    CHECK(std::string(front.begin(), front.end()) == "h:data");

    CHECK(p.adjust(2));
    CHECK(p.trim(1));
    CHECK(p.length() == 3);
    CHECK(std::string(p.front().begin(), p.front().end()) == "dat");

    // Failures leave the packet unchanged.
    CHECK_FALSE(p.adjust(4));
    CHECK_FALSE(p.trim(4));
    CHECK(p.prepend(static_cast<std::uint16_t>(p.headroom() + 1)) == nullptr);
    CHECK(p.append(static_cast<std::uint16_t>(p.tailroom() + 1)) == nullptr);
    CHECK(p.length() == 3);
}

TEST_CASE("PacketBuf append_copy spills into new segments and reads back", "[buf]") {
    const unsigned before = pool_in_use();
    {
        PacketBuf p = PacketBuf::alloc(mbuf_pool());
        const auto data = iota_bytes(5000);  // more than two default data rooms
        REQUIRE(p.append_copy(data, mbuf_pool()));
        CHECK(p.length() == 5000);
        CHECK(p.segment_count() == 3);
        CHECK_FALSE(p.is_contiguous());
        CHECK(contents(p) == data);

        // copy_out across a segment boundary.
        std::array<std::uint8_t, 100> out{};
        const std::uint32_t first_len = p.front().size();
        REQUIRE(p.copy_out(first_len - 50, out));
        CHECK(std::equal(out.begin(), out.end(), data.begin() + (first_len - 50)));
        CHECK_FALSE(p.copy_out(4950, out));  // past the end

        // read() returns a pointer into the packet when contiguous, else the scratch copy.
        std::array<std::uint8_t, 16> scratch{};
        const std::uint8_t* in_place = p.read(10, 16, scratch.data());
        CHECK(in_place == p.front().data() + 10);
        const std::uint8_t* copied = p.read(first_len - 8, 16, scratch.data());
        CHECK(copied == scratch.data());
        CHECK(std::equal(scratch.begin(), scratch.end(), data.begin() + (first_len - 8)));
        CHECK(p.read(4990, 16, scratch.data()) == nullptr);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketBuf truncate frees segments past the new end", "[buf]") {
    const unsigned before = pool_in_use();
    {
        PacketBuf p = PacketBuf::alloc(mbuf_pool());
        const auto data = iota_bytes(5000);
        REQUIRE(p.append_copy(data, mbuf_pool()));
        REQUIRE(pool_in_use() == before + 3);
        CHECK_FALSE(p.truncate(5001));
        REQUIRE(p.truncate(100));
        CHECK(p.length() == 100);
        CHECK(p.segment_count() == 1);
        CHECK(pool_in_use() == before + 1);
        CHECK(contents(p) == std::vector<std::uint8_t>(data.begin(), data.begin() + 100));
        REQUIRE(p.truncate(0));
        CHECK(p.length() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketBuf chain joins two packets", "[buf]") {
    const unsigned before = pool_in_use();
    {
        PacketBuf head = PacketBuf::alloc(mbuf_pool());
        PacketBuf tail = PacketBuf::alloc(mbuf_pool());
        std::memcpy(head.append(3), "abc", 3);
        std::memcpy(tail.append(2), "de", 2);
        REQUIRE(head.chain(std::move(tail)));
        CHECK_FALSE(tail);  // NOLINT(bugprone-use-after-move)
        CHECK(head.length() == 5);
        CHECK(head.segment_count() == 2);
        const auto all = contents(head);
        CHECK(std::string(all.begin(), all.end()) == "abcde");
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketBuf offload metadata", "[buf]") {
    PacketBuf p = PacketBuf::alloc(mbuf_pool());
    p.set_header_lengths(14, 20, 32);
    CHECK(p.l2_len() == 14);
    CHECK(p.l3_len() == 20);
    CHECK(p.l4_len() == 32);
    p.request_ipv4_checksum();
    p.request_tcp_checksum();
    CHECK((p.offload_flags() & RTE_MBUF_F_TX_IP_CKSUM) != 0);
    CHECK((p.offload_flags() & RTE_MBUF_F_TX_TCP_CKSUM) == RTE_MBUF_F_TX_TCP_CKSUM);
    p.request_tso(1448);
    CHECK((p.offload_flags() & RTE_MBUF_F_TX_TCP_SEG) != 0);
    CHECK(p.tso_segment_size() == 1448);
    p.clear_offload_flags();
    CHECK(p.offload_flags() == 0);

    // Receive status as a PMD reports it.
    CHECK(p.rx_ip_checksum() == RxChecksum::unknown);
    p.get()->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD;
    CHECK(p.rx_ip_checksum() == RxChecksum::good);
    CHECK(p.rx_l4_checksum() == RxChecksum::bad);
    p.get()->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
    CHECK(p.rx_l4_checksum() == RxChecksum::none);
    CHECK_FALSE(p.has_rss_hash());
}

TEST_CASE("PacketBuf append_copy rolls back when the pool runs dry", "[buf]") {
    // A pool of 4 mbufs: the copy needs more, so it must fail and leave the packet as it was.
    rte_mempool* tiny = rte_pktmbuf_pool_create("tiny_pool", 4, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    REQUIRE(tiny != nullptr);
    {
        PacketBuf p = PacketBuf::alloc(tiny);
        std::memcpy(p.append(3), "xyz", 3);
        const auto big = iota_bytes(4 * RTE_MBUF_DEFAULT_DATAROOM + 10);
        CHECK_FALSE(p.append_copy(big, tiny));
        CHECK(p.length() == 3);
        CHECK(p.segment_count() == 1);
        CHECK(rte_mempool_in_use_count(tiny) == 1);
        CHECK(std::string(p.front().begin(), p.front().end()) == "xyz");
    }
    CHECK(rte_mempool_in_use_count(tiny) == 0);
    rte_mempool_free(tiny);
}

TEST_CASE("PacketBuf buffer_footprint sums the segments' buffers", "[buf]") {
    PacketBuf p = PacketBuf::alloc(mbuf_pool());
    std::memcpy(p.append(1), "x", 1);
    // One byte of data still pins a whole mbuf buffer (headroom + data room).
    CHECK(p.buffer_footprint() == RTE_MBUF_DEFAULT_BUF_SIZE);
    REQUIRE(p.append_copy(iota_bytes(3000), mbuf_pool()));
    REQUIRE(p.segment_count() == 2);
    CHECK(p.buffer_footprint() == 2 * RTE_MBUF_DEFAULT_BUF_SIZE);
}

TEST_CASE("PacketBuf clone_range shares bytes across segments without copying", "[buf]") {
    const unsigned before = pool_in_use();
    {
        PacketBuf src = PacketBuf::alloc(mbuf_pool());
        const auto data = iota_bytes(5000);  // segments of 2048, 2048 and 904 bytes
        REQUIRE(src.append_copy(data, mbuf_pool()));
        REQUIRE(src.segment_count() == 3);
        const std::uint32_t first_len = src.front().size();

        // Within one segment: one indirect mbuf.
        PacketBuf a = src.clone_range(100, 50, mbuf_pool());
        REQUIRE(a);
        CHECK(a.length() == 50);
        CHECK(a.segment_count() == 1);
        CHECK(contents(a) == std::vector<std::uint8_t>(data.begin() + 100, data.begin() + 150));
        CHECK(RTE_MBUF_CLONED(a.get()));

        // Across all three segments.
        PacketBuf b = src.clone_range(first_len - 10, 2100, mbuf_pool());
        REQUIRE(b);
        CHECK(b.length() == 2100);
        CHECK(b.segment_count() == 3);
        CHECK(contents(b) == std::vector<std::uint8_t>(data.begin() + (first_len - 10),
                                                       data.begin() + (first_len - 10 + 2100)));
        CHECK(pool_in_use() == before + 3 + 1 + 3);

        // Shared, not copied: a write to the source shows through the clone.
        src.front()[100] = 0xee;
        CHECK(a.front()[0] == 0xee);

        // The clone outlives the source: the buffers stay pinned until the clone goes.
        src.reset();
        CHECK(pool_in_use() == before + 3 + 1 + 3);
        CHECK(b.length() == 2100);
        CHECK(contents(b).back() == data[first_len - 10 + 2099]);
        a.reset();
        b.reset();
        CHECK(pool_in_use() == before);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("PacketBuf clone_range refuses bad ranges and frees on pool exhaustion", "[buf]") {
    PacketBuf src = PacketBuf::alloc(mbuf_pool());
    REQUIRE(src.append_copy(iota_bytes(5000), mbuf_pool()));
    CHECK_FALSE(src.clone_range(0, 0, mbuf_pool()));
    CHECK_FALSE(src.clone_range(4000, 1001, mbuf_pool()));
    CHECK_FALSE(src.clone_range(0xffffffffu, 2, mbuf_pool()));  // offset + len wraps
    CHECK(src.clone_range(4000, 1000, mbuf_pool()).length() == 1000);

    // Two mbufs in the pool, three segments needed: nothing may stay attached.
    rte_mempool* tiny = rte_pktmbuf_pool_create("tiny_clone", 2, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    REQUIRE(tiny != nullptr);
    const unsigned before = pool_in_use();
    CHECK_FALSE(src.clone_range(0, 5000, tiny));
    CHECK(rte_mempool_in_use_count(tiny) == 0);
    CHECK(rte_mbuf_refcnt_read(src.get()) == 1);  // the attach was undone
    CHECK(pool_in_use() == before);
    rte_mempool_free(tiny);
}

TEST_CASE("PacketBuf clear_rx_l4_checksum forgets only the L4 verdict", "[buf]") {
    PacketBuf p = PacketBuf::alloc(mbuf_pool());
    p.get()->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    REQUIRE(p.rx_l4_checksum() == RxChecksum::good);
    p.clear_rx_l4_checksum();
    CHECK(p.rx_l4_checksum() == RxChecksum::unknown);
    CHECK(p.rx_ip_checksum() == RxChecksum::good);
}
