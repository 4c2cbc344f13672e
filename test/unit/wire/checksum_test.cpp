#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "wire/checksum.hpp"

using namespace pollux::wire;

TEST_CASE("RFC 1071 §3 worked example", "[wire][checksum]") {
    // The example of RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded).
    const std::array<std::uint8_t, 8> data = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(fold(partial_sum(data)) == 0xddf2);
    CHECK(internet_checksum(data) == static_cast<std::uint16_t>(~0xddf2));
}

TEST_CASE("IPv4 header checksum of a known header", "[wire][checksum]") {
    // The widely used example header 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7:
    // its checksum field is b861.
    std::array<std::uint8_t, 20> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                      0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK(internet_checksum(h) == 0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    CHECK(checksum_verifies(h));
    h[19] ^= 1;
    CHECK_FALSE(checksum_verifies(h));
}

TEST_CASE("odd lengths pad with a zero byte", "[wire][checksum]") {
    const std::array<std::uint8_t, 3> odd = {0x12, 0x34, 0x56};
    const std::array<std::uint8_t, 4> padded = {0x12, 0x34, 0x56, 0x00};
    CHECK(partial_sum(odd) == partial_sum(padded));
}

TEST_CASE("partial sums chain across even-length pieces", "[wire][checksum]") {
    std::vector<std::uint8_t> data(1501);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
    const std::span<const std::uint8_t> all(data);
    const auto whole = internet_checksum(all);
    const auto chained = internet_checksum(all.subspan(600), partial_sum(all.first(600)));
    CHECK(whole == chained);
}

TEST_CASE("a large buffer of 0xff does not overflow the accumulator", "[wire][checksum]") {
    // Every word is 0xffff (one's-complement -0): the folded sum stays 0xffff.
    const std::vector<std::uint8_t> even(65536, 0xff);
    CHECK(fold(partial_sum(even)) == 0xffff);
    // An odd length pads the last 0xff to 0xff00, and -0 + 0xff00 = 0xff00.
    const std::vector<std::uint8_t> odd(65535, 0xff);
    CHECK(fold(partial_sum(odd)) == 0xff00);
}

TEST_CASE("pseudo-header sum matches the bytes it stands for", "[wire][checksum]") {
    const Ipv4Address src(198, 18, 0, 1), dst(198, 18, 0, 2);
    const std::array<std::uint8_t, 12> bytes = {198, 18, 0, 1, 198, 18, 0, 2, 0, 17, 0x01, 0x2c};
    CHECK(fold(pseudo_header_sum(src, dst, IpProtocol::udp, 300)) == fold(partial_sum(bytes)));
}

TEST_CASE("RFC 1624 incremental update equals recomputation", "[wire][checksum]") {
    std::array<std::uint8_t, 20> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                      0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    const std::uint16_t before = internet_checksum(h);
    // Decrement the TTL (a router's edit): word 4 goes from 0x4011 to 0x3f11.
    h[8] = 0x3f;
    CHECK(checksum_update16(before, 0x4011, 0x3f11) == internet_checksum(h));
    // Rewrite the destination address (a NAT's edit).
    const std::uint16_t mid = internet_checksum(h);
    h[16] = 198; h[17] = 18; h[18] = 0; h[19] = 2;
    CHECK(checksum_update32(mid, 0xc0a800c7u, 0xc6120002u) == internet_checksum(h));
}

TEST_CASE("RFC 1624 §4 example: no -0 result", "[wire][checksum]") {
    // RFC 1624 §4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000 with eqn. 3
    // (RFC 1141's eqn. 2 would give 0xffff).
    CHECK(checksum_update16(0xdd2f, 0x5555, 0x3285) == 0x0000);
}
