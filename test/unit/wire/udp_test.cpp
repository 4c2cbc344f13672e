#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "wire/checksum.hpp"
#include "wire/udp.hpp"

using namespace pollux::wire;

namespace {
const Ipv4Address src(198, 18, 0, 1);
const Ipv4Address dst(198, 18, 0, 2);

// 198.18.0.1:5353 -> 198.18.0.2:53, payload "ping", checksum computed independently.
constexpr std::array<std::uint8_t, 12> golden = {0x14, 0xe9, 0x00, 0x35, 0x00, 0x0c, 0x7f, 0xbf,
                                                 'p',  'i',  'n',  'g'};
}  // namespace

TEST_CASE("UDP emit matches golden bytes and leaves the rest untouched", "[wire][udp]") {
    std::array<std::uint8_t, 16> buf;
    buf.fill(0xa5);
    std::copy(golden.begin() + 8, golden.end(), buf.begin() + 8);  // payload in place
    const UdpRepr r{Port(5353), Port(53), 4};
    REQUIRE(r.buffer_len() == 12);
    r.emit(buf, src, dst);
    CHECK(std::equal(golden.begin(), golden.end(), buf.begin()));
    for (std::size_t i = 12; i < buf.size(); ++i) CHECK(buf[i] == 0xa5);
}

TEST_CASE("UDP parse of golden bytes", "[wire][udp]") {
    const auto r = UdpRepr::parse(golden, src, dst);
    REQUIRE(r);
    CHECK(r->src_port == Port(5353));
    CHECK(r->dst_port == Port(53));
    CHECK(r->payload_len == 4);
    const UdpView v(golden);
    CHECK(v.payload().data() == golden.data() + 8);
    CHECK(v.payload().size() == 4);
}

TEST_CASE("UDP checksum is over the pseudo-header", "[wire][udp]") {
    // The same bytes sent between other addresses do not verify.
    CHECK(UdpRepr::parse(golden, src, Ipv4Address(198, 18, 0, 3)).error() == WireError::bad_checksum);
    CHECK(UdpRepr::parse(golden, src, Ipv4Address(198, 18, 0, 3), ChecksumCheck::skip));
    auto bad = golden;
    bad[11] ^= 0x01;
    CHECK(UdpRepr::parse(bad, src, dst).error() == WireError::bad_checksum);
}

TEST_CASE("UDP zero checksum means none (RFC 768)", "[wire][udp]") {
    auto none = golden;
    none[6] = 0;
    none[7] = 0;
    CHECK(UdpRepr::parse(none, src, dst));
}

TEST_CASE("UDP computed zero checksum is sent as 0xffff", "[wire][udp]") {
    // Payload 5e 94 makes the sum come out as zero for these ports and addresses.
    std::array<std::uint8_t, 10> buf = {0, 0, 0, 0, 0, 0, 0, 0, 0x5e, 0x94};
    const UdpRepr r{Port(5353), Port(53), 2};
    r.emit(buf, src, dst);
    CHECK(buf[6] == 0xff);
    CHECK(buf[7] == 0xff);
    CHECK(UdpRepr::parse(buf, src, dst));
}

TEST_CASE("UDP offload fill leaves the pseudo-header sum", "[wire][udp]") {
    std::array<std::uint8_t, 12> buf = golden;
    const UdpRepr r{Port(5353), Port(53), 4};
    r.emit(buf, src, dst, L4ChecksumFill::offload);
    // Pseudo-header: c612 + 0001 + c612 + 0002 + 0011 + 000c = 0x18c44, folded 0x8c45.
    CHECK(buf[6] == 0x8c);
    CHECK(buf[7] == 0x45);
}

TEST_CASE("UDP length field bounds the payload; trailing bytes are ignored", "[wire][udp]") {
    std::vector<std::uint8_t> padded(golden.begin(), golden.end());
    padded.insert(padded.end(), {0, 0, 0, 0, 0, 0});  // link padding
    const auto r = UdpRepr::parse(padded, src, dst);
    REQUIRE(r);
    CHECK(r->payload_len == 4);
    CHECK(UdpView(padded).payload().size() == 4);
}

TEST_CASE("UDP malformed input", "[wire][udp]") {
    for (std::size_t n = 0; n < udp::header_len; ++n) {
        INFO(n);
        CHECK(UdpRepr::parse(std::span(golden).first(n), src, dst).error() == WireError::truncated);
    }
    auto lie = golden;
    lie[5] = 0x0d;  // length 13 > 12 bytes
    CHECK(UdpRepr::parse(lie, src, dst, ChecksumCheck::skip).error() == WireError::truncated);
    lie[5] = 0x07;  // length 7 < header
    CHECK(UdpRepr::parse(lie, src, dst, ChecksumCheck::skip).error() == WireError::malformed);
    lie[5] = 0x00;
    CHECK(UdpRepr::parse(lie, src, dst, ChecksumCheck::skip).error() == WireError::malformed);
}

TEST_CASE("UDP round trip of a maximum-size datagram", "[wire][udp]") {
    std::vector<std::uint8_t> buf(udp::header_len + udp::max_payload_len);
    for (std::size_t i = 8; i < buf.size(); ++i) buf[i] = static_cast<std::uint8_t>(i);
    const UdpRepr r{Port(1), Port(65535), static_cast<std::uint16_t>(udp::max_payload_len)};
    CHECK(r.buffer_len() == 65515);
    r.emit(buf, src, dst);
    const auto back = UdpRepr::parse(buf, src, dst);
    REQUIRE(back);
    CHECK(*back == r);
}

TEST_CASE("UDP emit_header + finish_checksum equals a one-span emit", "[wire][udp]") {
    for (std::size_t n : {0u, 1u, 7u, 1000u, 1473u}) {
        std::vector<std::uint8_t> whole(8 + n);
        for (std::size_t i = 0; i < n; ++i) whole[8 + i] = static_cast<std::uint8_t>(i * 7 + 3);
        std::vector<std::uint8_t> split = whole;
        const UdpRepr r{Port(4000), Port(7), static_cast<std::uint16_t>(n)};
        r.emit(whole, src, dst);
        r.emit_header(split, src, dst);
        // Sum the header and the payload separately, as over two mbufs.
        const std::uint32_t sum = pollux::wire::partial_sum(std::span(split).subspan(8),
                                                            pollux::wire::partial_sum(std::span(split).first(8)));
        UdpRepr::finish_checksum(split, sum);
        CHECK(split == whole);
        CHECK(UdpRepr::parse(split, src, dst));
    }
}
