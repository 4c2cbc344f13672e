#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "buf/checksum.hpp"
#include "buf/packet_buf.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"
#include "wire/checksum.hpp"

using pollux::buf::PacketBuf;
using pollux::test::mbuf_pool;
using pollux::test::Bytes;

namespace {

// `bytes` as a chain with the given segment lengths (which sum to bytes.size()); a
// segment of length 0 is an empty mbuf inside the chain.
PacketBuf chain_of(const Bytes& bytes, const std::vector<std::size_t>& lens) {
    PacketBuf head;
    std::size_t at = 0;
    for (std::size_t n : lens) {
        PacketBuf seg = PacketBuf::alloc(mbuf_pool());
        REQUIRE(seg);
        if (n > 0) {
            std::uint8_t* p = seg.append(static_cast<std::uint16_t>(n));
            REQUIRE(p != nullptr);
            std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at), n, p);
        }
        at += n;
        if (!head) {
            head = std::move(seg);
        } else {
            REQUIRE(head.chain(std::move(seg)));
        }
    }
    REQUIRE(at == bytes.size());
    return head;
}

std::uint16_t folded(std::uint32_t s) { return pollux::wire::fold(s); }

// The reference: wire::partial_sum over the contiguous bytes from `offset`.
std::uint16_t reference(const Bytes& b, std::size_t offset, std::uint32_t initial = 0) {
    return folded(pollux::wire::partial_sum(std::span(b).subspan(offset), initial));
}

}  // namespace

TEST_CASE("buf::partial_sum of a single segment equals the span sum", "[buf][checksum]") {
    const Bytes b = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
                     0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    const PacketBuf p = chain_of(b, {b.size()});
    CHECK(folded(pollux::buf::partial_sum(p)) == reference(b, 0));
    // RFC 1071's example header sums to 0x479e before the complement (checksum 0xb861).
    CHECK(static_cast<std::uint16_t>(~folded(pollux::buf::partial_sum(p))) == 0xb861);
}

TEST_CASE("buf::partial_sum across odd-length segments: a worked example", "[buf][checksum]") {
    // Words 0x0102 0x0304 0x0500: split as [01] [02 03] [04 05] the middle segment starts at
    // an odd position, so its bytes pair with its neighbours' across the boundary.
    const Bytes b = {0x01, 0x02, 0x03, 0x04, 0x05};
    const PacketBuf p = chain_of(b, {1, 2, 2});
    CHECK(folded(pollux::buf::partial_sum(p)) == 0x0102 + 0x0304 + 0x0500);
    const PacketBuf q = chain_of(b, {3, 1, 1});
    CHECK(folded(pollux::buf::partial_sum(q)) == 0x0102 + 0x0304 + 0x0500);
}

TEST_CASE("buf::partial_sum over random chains equals wire::partial_sum over the bytes", "[buf][checksum]") {
    const unsigned before = pollux::test::pool_in_use();
    std::mt19937 rng(0x5eed1234);
    for (int round = 0; round < 2000; ++round) {
        // 1 to 8 segments of random lengths up to a segment's data room: often odd, a
        // quarter of them tiny (0-3 bytes), some empty.
        std::vector<std::size_t> lens(1 + rng() % 8);
        for (auto& n : lens) n = rng() % 4 == 0 ? rng() % 4 : rng() % 2049;
        std::size_t len = 0;
        for (std::size_t n : lens) len += n;
        Bytes b(len);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        const PacketBuf p = chain_of(b, lens);
        REQUIRE(p.length() == len);
        const std::uint32_t initial = rng() % 3 == 0 ? static_cast<std::uint32_t>(rng()) : 0;
        const std::size_t offset = len == 0 ? 0 : rng() % (len + 1);
        INFO("round " << round << " len " << len << " offset " << offset << " segments " << lens.size());
        // Exactly equal, not just modulo 0xffff: callers compare the folded sum with 0xffff.
        REQUIRE(folded(pollux::buf::partial_sum(p, static_cast<std::uint32_t>(offset), initial)) ==
                reference(b, offset, initial));
    }
    CHECK(pollux::test::pool_in_use() == before);
}

TEST_CASE("buf::partial_sum verifies a message whose checksum field sits in a later segment", "[buf][checksum]") {
    Bytes b(301);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 13 + 1);
    b[100] = 0;
    b[101] = 0;
    const std::uint16_t c = pollux::wire::internet_checksum(b);
    b[100] = static_cast<std::uint8_t>(c >> 8);
    b[101] = static_cast<std::uint8_t>(c);
    const PacketBuf p = chain_of(b, {7, 93, 1, 99, 101});
    CHECK(folded(pollux::buf::partial_sum(p)) == 0xffff);
    // From an offset: the sum of what follows, words counted from the offset.
    CHECK(folded(pollux::buf::partial_sum(p, 101)) == reference(b, 101));
    CHECK(folded(pollux::buf::partial_sum(p, 301)) == 0);
}
