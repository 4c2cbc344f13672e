#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <utility>

#include "wire/arp.hpp"
#include "wire/ethernet.hpp"

using namespace pollux::wire;

namespace {

const MacAddress mac1({0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
const MacAddress mac2({0x02, 0x00, 0x00, 0x00, 0x00, 0x02});
const Ipv4Address ip1(198, 18, 0, 1);
const Ipv4Address ip2(198, 18, 0, 2);

// who-has 198.18.0.2 tell 198.18.0.1, as Linux sends it (target MAC all zero).
constexpr std::array<std::uint8_t, 28> request_bytes = {
    0x00, 0x01,                          // htype: Ethernet
    0x08, 0x00,                          // ptype: IPv4
    0x06, 0x04,                          // hlen, plen
    0x00, 0x01,                          // op: request
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // sha
    0xc6, 0x12, 0x00, 0x01,              // spa 198.18.0.1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // tha
    0xc6, 0x12, 0x00, 0x02,              // tpa 198.18.0.2
};

// 198.18.0.2 is-at 02:00:00:00:00:02, to 198.18.0.1.
constexpr std::array<std::uint8_t, 28> reply_bytes = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
    0x00, 0x02,                          // op: reply
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // sha
    0xc6, 0x12, 0x00, 0x02,              // spa 198.18.0.2
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // tha
    0xc6, 0x12, 0x00, 0x01,              // tpa 198.18.0.1
};

// The whole request frame as captured: Ethernet header, ARP, 18 bytes of padding to 60.
constexpr std::array<std::uint8_t, 60> request_frame = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
};

template <std::size_t N>
void check_emit(const ArpRepr& r, const std::array<std::uint8_t, N>& expected) {
    std::array<std::uint8_t, 40> buf;
    buf.fill(0xa5);
    r.emit(buf);
    for (std::size_t i = 0; i < N; ++i) {
        INFO("byte " << i);
        CHECK(int{buf[i]} == int{expected[i]});
    }
    for (std::size_t i = ArpRepr::buffer_len(); i < buf.size(); ++i) {
        INFO("byte " << i);
        CHECK(buf[i] == 0xa5);
    }
}

}  // namespace

TEST_CASE("ARP emit writes the exact bytes of a request", "[wire][arp]") {
    REQUIRE(ArpRepr::buffer_len() == 28);
    const ArpRepr r{ArpOperation::request, mac1, ip1, MacAddress(), ip2};
    check_emit(r, request_bytes);
}

TEST_CASE("ARP emit writes the exact bytes of a reply", "[wire][arp]") {
    const ArpRepr r{ArpOperation::reply, mac2, ip2, mac1, ip1};
    check_emit(r, reply_bytes);
}

TEST_CASE("ARP parses a captured who-has request frame", "[wire][arp]") {
    const auto eth = EthernetRepr::parse(request_frame);
    REQUIRE(eth.ok());
    REQUIRE(eth->ethertype == EtherType::arp);
    const auto payload = EthernetView(request_frame).payload();
    REQUIRE(payload.size() == 46);  // 28 bytes of ARP and 18 of padding

    const auto r = ArpRepr::parse(payload);
    REQUIRE(r.ok());
    CHECK(r->operation == ArpOperation::request);
    CHECK(r->sender_mac == mac1);
    CHECK(r->sender_ip == ip1);
    CHECK(r->target_mac.is_zero());
    CHECK(r->target_ip == ip2);
    CHECK(r->target_ip.to_string() == "198.18.0.2");
}

TEST_CASE("ARP parses a reply", "[wire][arp]") {
    const auto r = ArpRepr::parse(reply_bytes);
    REQUIRE(r.ok());
    CHECK(r->operation == ArpOperation::reply);
    CHECK(r->sender_mac == mac2);
    CHECK(r->sender_ip == ip2);
    CHECK(r->target_mac == mac1);
    CHECK(r->target_ip == ip1);
}

TEST_CASE("ARP view reads every field", "[wire][arp]") {
    const ArpView v(reply_bytes);
    REQUIRE(v.check() == WireError::none);
    CHECK(v.htype() == 1);
    CHECK(v.ptype() == 0x0800);
    CHECK(v.hlen() == 6);
    CHECK(v.plen() == 4);
    CHECK(v.operation() == 2);
    CHECK(v.sender_mac() == mac2);
    CHECK(v.sender_ip() == ip2);
    CHECK(v.target_mac() == mac1);
    CHECK(v.target_ip() == ip1);
}

TEST_CASE("ARP parse inverts emit", "[wire][arp]") {
    const std::array<ArpRepr, 4> reprs = {{
        {ArpOperation::request, mac1, ip1, MacAddress(), ip2},
        {ArpOperation::reply, mac2, ip2, mac1, ip1},
        // Gratuitous ARP: sender and target protocol addresses are the same.
        {ArpOperation::request, mac2, ip2, MacAddress(), ip2},
        {ArpOperation::reply, mac1, Ipv4Address(198, 19, 255, 254), MacAddress::broadcast(),
         Ipv4Address(198, 19, 255, 254)},
    }};
    for (const auto& r : reprs) {
        std::array<std::uint8_t, 28> buf;
        buf.fill(0xa5);
        r.emit(buf);
        const auto parsed = ArpRepr::parse(buf);
        INFO("sender " << r.sender_ip.to_string() << " target " << r.target_ip.to_string());
        REQUIRE(parsed.ok());
        CHECK(*parsed == r);
    }
}

TEST_CASE("ARP packets shorter than 28 bytes are truncated", "[wire][arp]") {
    for (std::size_t len = 0; len < 28; ++len) {
        INFO("length " << len);
        const std::span<const std::uint8_t> p(request_bytes.data(), len);
        CHECK(ArpView(p).check() == WireError::truncated);
        CHECK(ArpRepr::parse(p).error() == WireError::truncated);
    }
    CHECK(ArpRepr::parse(request_bytes).ok());
}

TEST_CASE("ARP for other hardware or protocol types is unsupported", "[wire][arp]") {
    SECTION("htype IEEE 802 (6)") {
        auto p = request_bytes;
        p[1] = 0x06;
        CHECK(ArpRepr::parse(p).error() == WireError::unsupported);
    }
    SECTION("htype 0") {
        auto p = request_bytes;
        p[1] = 0x00;
        CHECK(ArpRepr::parse(p).error() == WireError::unsupported);
    }
    SECTION("htype high byte set (0x0101)") {
        auto p = request_bytes;
        p[0] = 0x01;
        CHECK(ArpRepr::parse(p).error() == WireError::unsupported);
    }
    SECTION("ptype IPv6") {
        auto p = request_bytes;
        p[2] = 0x86;
        p[3] = 0xdd;
        CHECK(ArpRepr::parse(p).error() == WireError::unsupported);
    }
    SECTION("ptype ARP") {
        auto p = request_bytes;
        p[3] = 0x06;
        CHECK(ArpRepr::parse(p).error() == WireError::unsupported);
    }
}

TEST_CASE("ARP over Ethernet/IPv4 with the wrong address lengths is malformed", "[wire][arp]") {
    for (const auto& [hlen, plen] : std::array<std::pair<std::uint8_t, std::uint8_t>, 6>{{
             {0, 4}, {5, 4}, {8, 4}, {6, 0}, {6, 6}, {6, 16}}}) {
        INFO("hlen " << int{hlen} << " plen " << int{plen});
        auto p = request_bytes;
        p[4] = hlen;
        p[5] = plen;
        CHECK(ArpRepr::parse(p).error() == WireError::malformed);
    }
}

TEST_CASE("ARP operations other than request and reply are unsupported", "[wire][arp]") {
    // 0 is reserved; 3/4 are RARP (RFC 903); 8/9 are InARP (RFC 2390); 0x0101 has a high byte.
    for (const std::uint16_t op : {0x0000, 0x0003, 0x0004, 0x0008, 0x0009, 0x0101, 0xffff}) {
        INFO("op " << op);
        auto p = request_bytes;
        p[6] = static_cast<std::uint8_t>(op >> 8);
        p[7] = static_cast<std::uint8_t>(op);
        CHECK(ArpRepr::parse(p).error() == WireError::unsupported);
    }
}

TEST_CASE("ARP ignores trailing bytes after the packet", "[wire][arp]") {
    std::array<std::uint8_t, 46> padded;
    padded.fill(0xee);
    std::copy(reply_bytes.begin(), reply_bytes.end(), padded.begin());
    const auto r = ArpRepr::parse(padded);
    REQUIRE(r.ok());
    CHECK(r->target_ip == ip1);
    CHECK(r->operation == ArpOperation::reply);
}
