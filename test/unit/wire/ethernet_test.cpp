#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "wire/ethernet.hpp"

using namespace pollux::wire;

namespace {

const MacAddress mac1({0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
const MacAddress mac2({0x02, 0x00, 0x00, 0x00, 0x00, 0x02});

std::vector<std::uint8_t> to_vector(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }

// Every byte of `expected` at the start of `buf`, and 0xa5 (untouched) after it.
template <std::size_t N, std::size_t M>
void check_emitted(const std::array<std::uint8_t, M>& buf, const std::array<std::uint8_t, N>& expected) {
    static_assert(N <= M);
    for (std::size_t i = 0; i < N; ++i) {
        INFO("byte " << i);
        CHECK(int{buf[i]} == int{expected[i]});
    }
    for (std::size_t i = N; i < M; ++i) {
        INFO("byte " << i << " past the header");
        CHECK(buf[i] == 0xa5);
    }
}

// A 60-byte frame (the minimum without FCS) as Linux sends an ARP request: broadcast
// who-has 198.18.0.2 tell 198.18.0.1, with 18 bytes of zero padding.
constexpr std::array<std::uint8_t, 60> arp_request_frame = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // dst: broadcast
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // src
    0x08, 0x06,                          // ARP
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

// An 802.1Q-tagged frame (PCP 5, DEI 0, VID 100) carrying the first bytes of an IPv4
// header from 198.18.0.1 to 198.18.0.2.
constexpr std::array<std::uint8_t, 38> tagged_ipv4_frame = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // dst
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // src
    0x81, 0x00,                          // TPID 802.1Q
    0xa0, 0x64,                          // TCI: PCP 5, DEI 0, VID 100
    0x08, 0x00,                          // IPv4
    0x45, 0x00, 0x00, 0x54, 0x4d, 0x2e, 0x40, 0x00, 0x40, 0x01,
    0x61, 0x53, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
};

}  // namespace

TEST_CASE("Ethernet emit writes the exact untagged header and nothing past it", "[wire][ethernet]") {
    const EthernetRepr r{mac2, mac1, EtherType::ipv4, std::nullopt};
    REQUIRE(r.buffer_len() == 14);

    std::array<std::uint8_t, 32> buf;
    buf.fill(0xa5);
    r.emit(buf);

    const std::array<std::uint8_t, 14> expected = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // dst
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // src
        0x08, 0x00,                          // IPv4
    };
    check_emitted(buf, expected);
}

TEST_CASE("Ethernet emit writes an 802.1Q tag before the EtherType", "[wire][ethernet]") {
    const EthernetRepr r{MacAddress::broadcast(), mac1, EtherType::arp, std::uint16_t{0x3ffe}};
    REQUIRE(r.buffer_len() == 18);

    std::array<std::uint8_t, 32> buf;
    buf.fill(0xa5);
    r.emit(buf);

    const std::array<std::uint8_t, 18> expected = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // dst
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // src
        0x81, 0x00,                          // TPID
        0x3f, 0xfe,                          // TCI: PCP 1, DEI 1, VID 4094
        0x08, 0x06,                          // ARP
    };
    check_emitted(buf, expected);
}

TEST_CASE("Ethernet parses a broadcast ARP request frame", "[wire][ethernet]") {
    const auto r = EthernetRepr::parse(arp_request_frame);
    REQUIRE(r.ok());
    CHECK(r->dst == MacAddress::broadcast());
    CHECK(r->src == mac1);
    CHECK(r->ethertype == EtherType::arp);
    CHECK_FALSE(r->vlan_tci.has_value());

    const EthernetView v(arp_request_frame);
    REQUIRE(v.check() == WireError::none);
    CHECK_FALSE(v.has_vlan_tag());
    CHECK(v.outer_ethertype() == 0x0806);
    CHECK(v.ethertype() == 0x0806);
    CHECK(v.header_len() == 14);
    // The payload is everything after the header, link padding included: trimming it is
    // the job of the layer that knows its own length.
    const auto payload = v.payload();
    CHECK(payload.data() == arp_request_frame.data() + 14);
    CHECK(payload.size() == 46);
    CHECK(payload[0] == 0x00);
    CHECK(payload[1] == 0x01);
    CHECK(payload[27] == 0x02);
}

TEST_CASE("Ethernet parses an 802.1Q-tagged IPv4 frame", "[wire][ethernet]") {
    const auto r = EthernetRepr::parse(tagged_ipv4_frame);
    REQUIRE(r.ok());
    CHECK(r->dst == mac2);
    CHECK(r->src == mac1);
    CHECK(r->ethertype == EtherType::ipv4);
    REQUIRE(r->vlan_tci.has_value());
    CHECK(*r->vlan_tci == 0xa064);
    CHECK((*r->vlan_tci & 0x0fff) == 100);  // VID
    CHECK((*r->vlan_tci >> 13) == 5);       // PCP

    const EthernetView v(tagged_ipv4_frame);
    REQUIRE(v.check() == WireError::none);
    CHECK(v.has_vlan_tag());
    CHECK(v.outer_ethertype() == 0x8100);
    CHECK(v.vlan_tci() == 0xa064);
    CHECK(v.ethertype() == 0x0800);
    CHECK(v.header_len() == 18);
    const auto payload = v.payload();
    CHECK(payload.data() == tagged_ipv4_frame.data() + 18);
    REQUIRE(payload.size() == 20);
    CHECK(payload[0] == 0x45);
    CHECK(payload[19] == 0x02);
}

TEST_CASE("Ethernet parse inverts emit", "[wire][ethernet]") {
    const std::vector<EthernetRepr> reprs = {
        {mac2, mac1, EtherType::ipv4, std::nullopt},
        {MacAddress::broadcast(), mac2, EtherType::arp, std::nullopt},
        {mac1, mac2, EtherType::ipv6, std::nullopt},
        {mac1, mac2, EtherType::ipv4, std::uint16_t{0x0001}},
        {mac2, mac1, EtherType::arp, std::uint16_t{0xffff}},
        {mac2, mac1, EtherType::ipv4, std::uint16_t{0x0000}},  // priority tag (VID 0)
    };
    for (const auto& r : reprs) {
        std::array<std::uint8_t, 18> buf;
        buf.fill(0xa5);
        r.emit(buf);
        const auto parsed = EthernetRepr::parse(std::span<const std::uint8_t>(buf).first(r.buffer_len()));
        INFO("tci " << (r.vlan_tci ? *r.vlan_tci : -1) << " type " << static_cast<int>(r.ethertype));
        REQUIRE(parsed.ok());
        CHECK(*parsed == r);
    }
}

TEST_CASE("Ethernet frames shorter than the header are truncated", "[wire][ethernet]") {
    for (std::size_t len = 0; len < 14; ++len) {
        INFO("length " << len);
        const std::span<const std::uint8_t> frame(arp_request_frame.data(), len);
        CHECK(EthernetView(frame).check() == WireError::truncated);
        CHECK(EthernetRepr::parse(frame).error() == WireError::truncated);
    }
    // Exactly a header with nothing after it is a valid (empty) frame.
    const std::span<const std::uint8_t> header_only(arp_request_frame.data(), 14);
    const auto r = EthernetRepr::parse(header_only);
    REQUIRE(r.ok());
    CHECK(EthernetView(header_only).payload().empty());
}

TEST_CASE("Ethernet frames cut inside the VLAN tag are truncated", "[wire][ethernet]") {
    for (std::size_t len = 0; len < 18; ++len) {
        INFO("length " << len);
        const std::span<const std::uint8_t> frame(tagged_ipv4_frame.data(), len);
        CHECK(EthernetView(frame).check() == WireError::truncated);
        CHECK(EthernetRepr::parse(frame).error() == WireError::truncated);
    }
    const std::span<const std::uint8_t> tag_only(tagged_ipv4_frame.data(), 18);
    const auto r = EthernetRepr::parse(tag_only);
    REQUIRE(r.ok());
    CHECK(r->vlan_tci == std::uint16_t{0xa064});
    CHECK(EthernetView(tag_only).payload().empty());
}

TEST_CASE("Ethernet IEEE 802.3 length fields are unsupported", "[wire][ethernet]") {
    for (const std::uint16_t length : {0x0000, 0x002e, 0x05dc, 0x05dd, 0x05ff}) {
        INFO("type/length " << length);
        auto frame = arp_request_frame;
        frame[12] = static_cast<std::uint8_t>(length >> 8);
        frame[13] = static_cast<std::uint8_t>(length);
        CHECK(EthernetView(frame).check() == WireError::none);
        CHECK(EthernetRepr::parse(frame).error() == WireError::unsupported);
    }
    // 0x0600 is the first EtherType.
    auto frame = arp_request_frame;
    frame[12] = 0x06;
    frame[13] = 0x00;
    const auto r = EthernetRepr::parse(frame);
    REQUIRE(r.ok());
    CHECK(static_cast<std::uint16_t>(r->ethertype) == 0x0600);
}

TEST_CASE("Ethernet 802.3 length inside a VLAN tag is unsupported", "[wire][ethernet]") {
    auto frame = tagged_ipv4_frame;
    frame[16] = 0x00;
    frame[17] = 0x26;
    CHECK(EthernetRepr::parse(frame).error() == WireError::unsupported);
}

TEST_CASE("Ethernet stacked tags and 802.1ad are unsupported", "[wire][ethernet]") {
    SECTION("802.1Q inside 802.1Q") {
        auto frame = tagged_ipv4_frame;
        frame[16] = 0x81;
        frame[17] = 0x00;
        CHECK(EthernetRepr::parse(frame).error() == WireError::unsupported);
    }
    SECTION("802.1ad inside 802.1Q") {
        auto frame = tagged_ipv4_frame;
        frame[16] = 0x88;
        frame[17] = 0xa8;
        CHECK(EthernetRepr::parse(frame).error() == WireError::unsupported);
    }
    SECTION("802.1ad outer tag") {
        auto frame = tagged_ipv4_frame;
        frame[12] = 0x88;
        frame[13] = 0xa8;
        CHECK(EthernetRepr::parse(frame).error() == WireError::unsupported);
        // Not a tag pollux understands, so a 14-byte S-tagged stub is not "truncated".
        CHECK(EthernetRepr::parse(std::span<const std::uint8_t>(frame).first(14)).error() ==
              WireError::unsupported);
    }
}

TEST_CASE("Ethernet passes unnamed EtherTypes through", "[wire][ethernet]") {
    auto frame = arp_request_frame;
    frame[12] = 0x88;
    frame[13] = 0xcc;  // LLDP
    const auto r = EthernetRepr::parse(frame);
    REQUIRE(r.ok());
    CHECK(static_cast<std::uint16_t>(r->ethertype) == 0x88cc);
}

TEST_CASE("Ethernet view reads addresses in wire order", "[wire][ethernet]") {
    const std::array<std::uint8_t, 14> frame = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x02, 0x66, 0x77,
                                                0x88, 0x99, 0xaa, 0x86, 0xdd};
    const EthernetView v(frame);
    REQUIRE(v.check() == WireError::none);
    CHECK(v.dst().to_string() == "02:11:22:33:44:55");
    CHECK(v.src().to_string() == "02:66:77:88:99:aa");
    CHECK(v.ethertype() == 0x86dd);
    CHECK(to_vector(v.payload()).empty());
}
