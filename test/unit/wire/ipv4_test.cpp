#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "wire/ethernet.hpp"
#include "wire/ipv4.hpp"

using namespace pollux::wire;

namespace {

const Ipv4Address ip1(198, 18, 0, 1);
const Ipv4Address ip2(198, 18, 0, 2);

// The IPv4 header of an echo request as Linux ping sends it: DF set, TTL 64, 84 bytes
// (20 + 8 + 56), from 198.18.0.1 to 198.18.0.2. Followed by the ICMP message.
constexpr std::array<std::uint8_t, 84> ping_packet = {
    0x45, 0x00, 0x00, 0x54, 0x4d, 0x2e, 0x40, 0x00, 0x40, 0x01, 0x61, 0x53, 0xc6, 0x12, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x02,
    // ICMP echo request, id 0x0b7a, seq 1, 16-byte timeval then 0x10..0x37.
    0x08, 0x00, 0x42, 0x95, 0x0b, 0x7a, 0x00, 0x01, 0xa3, 0xf1, 0x60, 0x65, 0x00, 0x00, 0x00, 0x00,
    0xe2, 0xc5, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

// IHL 6: a Router Alert option (RFC 2113: 94 04 00 00), TTL 1, UDP, then an 8-byte UDP
// header (ports 40000 -> 33434, length 8, no checksum).
constexpr std::array<std::uint8_t, 32> router_alert_packet = {
    0x46, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x01, 0x11, 0x98, 0xa0,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0x94, 0x04, 0x00, 0x00,                          // Router Alert
    0x9c, 0x40, 0x82, 0x9a, 0x00, 0x08, 0x00, 0x00,  // UDP header
};

// IHL 8: a Record Route option with room for two addresses (07 0b 04 + 8 zero bytes),
// an End of Options byte, then an 8-byte ICMP echo request with no data.
constexpr std::array<std::uint8_t, 40> record_route_packet = {
    0x48, 0x00, 0x00, 0x28, 0xab, 0xcd, 0x00, 0x00, 0x40, 0x01, 0x34, 0xd5,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0x07, 0x0b, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // RR + EOL
    0x08, 0x00, 0xf7, 0xfd, 0x00, 0x01, 0x00, 0x01,                          // ICMP echo
};

// IHL 15, the largest header: 39 NOPs and an EOL; total length 60, no payload.
std::array<std::uint8_t, 60> max_options_header() {
    std::array<std::uint8_t, 60> h{};
    const std::array<std::uint8_t, 20> fixed = {0x4f, 0x00, 0x00, 0x3c, 0x00, 0x03, 0x00, 0x00, 0x40, 0x01,
                                                0xd0, 0x83, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02};
    std::copy(fixed.begin(), fixed.end(), h.begin());
    std::fill(h.begin() + 20, h.end() - 1, 0x01);
    h[59] = 0x00;
    return h;
}

template <std::size_t N>
void check_emitted(const std::array<std::uint8_t, 40>& buf, const std::array<std::uint8_t, N>& expected) {
    for (std::size_t i = 0; i < N; ++i) {
        INFO("byte " << i);
        CHECK(int{buf[i]} == int{expected[i]});
    }
    for (std::size_t i = N; i < buf.size(); ++i) {
        INFO("byte " << i << " past the header");
        CHECK(buf[i] == 0xa5);
    }
}

// Rewrites the header checksum so that only the field under test is wrong.
void refresh_checksum(std::span<std::uint8_t> p, std::size_t header_len) {
    p[10] = 0;
    p[11] = 0;
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < header_len; i += 2) sum += (std::uint32_t{p[i]} << 8) | p[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    const auto c = static_cast<std::uint16_t>(~sum);
    p[10] = static_cast<std::uint8_t>(c >> 8);
    p[11] = static_cast<std::uint8_t>(c);
}

}  // namespace

TEST_CASE("IPv4 emit writes the exact header with its checksum", "[wire][ipv4]") {
    const Ipv4Repr r{.src = ip1, .dst = ip2, .protocol = IpProtocol::udp, .payload_len = 12, .ttl = 64,
                     .tos = 0, .ident = 0x1234, .dont_fragment = true};
    REQUIRE(Ipv4Repr::buffer_len() == 20);
    CHECK(r.total_len() == 32);
    CHECK_FALSE(r.is_fragment());

    std::array<std::uint8_t, 40> buf;
    buf.fill(0xa5);
    r.emit(buf);
    const std::array<std::uint8_t, 20> expected = {
        0x45, 0x00, 0x00, 0x20,  // version 4, IHL 5, tos 0, total length 32
        0x12, 0x34, 0x40, 0x00,  // ident, DF
        0x40, 0x11, 0x9c, 0x71,  // TTL 64, UDP, checksum
        0xc6, 0x12, 0x00, 0x01,  // 198.18.0.1
        0xc6, 0x12, 0x00, 0x02,  // 198.18.0.2
    };
    check_emitted(buf, expected);
}

TEST_CASE("IPv4 emit with checksum offload leaves the field zero", "[wire][ipv4]") {
    const Ipv4Repr r{.src = ip1, .dst = ip2, .protocol = IpProtocol::udp, .payload_len = 12, .ttl = 64,
                     .tos = 0, .ident = 0x1234, .dont_fragment = true};
    std::array<std::uint8_t, 40> buf;
    buf.fill(0xa5);
    r.emit(buf, Ipv4Repr::ChecksumFill::offload);
    const std::array<std::uint8_t, 20> expected = {
        0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
        0x00, 0x00, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    };
    check_emitted(buf, expected);
}

TEST_CASE("IPv4 emit writes fragment fields and the TOS byte", "[wire][ipv4]") {
    // The second fragment of a 3000-byte UDP datagram at a 1500-byte MTU, DSCP EF.
    const Ipv4Repr r{.src = ip1, .dst = Ipv4Address(198, 19, 255, 254), .protocol = IpProtocol::udp,
                     .payload_len = 1480, .ttl = 64, .tos = 0xb8, .ident = 0xbeef, .dont_fragment = false,
                     .more_fragments = true, .frag_offset = 1480};
    CHECK(r.is_fragment());
    CHECK(r.total_len() == 1500);
    std::array<std::uint8_t, 40> buf;
    buf.fill(0xa5);
    r.emit(buf);
    const std::array<std::uint8_t, 20> expected = {
        0x45, 0xb8, 0x05, 0xdc,  // tos 0xb8, total length 1500
        0xbe, 0xef, 0x20, 0xb9,  // ident, MF + offset 185 (1480 / 8)
        0x40, 0x11, 0x08, 0x8b,  // TTL 64, UDP, checksum
        0xc6, 0x12, 0x00, 0x01,  // 198.18.0.1
        0xc6, 0x13, 0xff, 0xfe,  // 198.19.255.254
    };
    check_emitted(buf, expected);
}

TEST_CASE("IPv4 parses the header of a Linux ping", "[wire][ipv4]") {
    const auto r = Ipv4Repr::parse(ping_packet);
    REQUIRE(r.ok());
    CHECK(r->src == ip1);
    CHECK(r->dst == ip2);
    CHECK(r->protocol == IpProtocol::icmp);
    CHECK(r->payload_len == 64);
    CHECK(r->ttl == 64);
    CHECK(r->tos == 0);
    CHECK(r->ident == 0x4d2e);
    CHECK(r->dont_fragment);
    CHECK_FALSE(r->more_fragments);
    CHECK(r->frag_offset == 0);
    CHECK(r->header_len == 20);
    CHECK(r->total_len() == 84);

    const Ipv4View v(ping_packet);
    REQUIRE(v.check() == WireError::none);
    CHECK(v.version() == 4);
    CHECK(v.header_len() == 20);
    CHECK(v.total_len() == 84);
    CHECK(v.checksum() == 0x6153);
    CHECK(v.checksum_ok());
    CHECK(v.options().empty());
    CHECK(v.payload().data() == ping_packet.data() + 20);
    CHECK(v.payload().size() == 64);
    CHECK(v.payload()[0] == 0x08);  // ICMP echo request
}

TEST_CASE("IPv4 parses a header with a Router Alert option (IHL 6)", "[wire][ipv4]") {
    const auto r = Ipv4Repr::parse(router_alert_packet);
    REQUIRE(r.ok());
    CHECK(r->header_len == 24);
    CHECK(r->payload_len == 8);
    CHECK(r->ttl == 1);
    CHECK(r->protocol == IpProtocol::udp);
    CHECK(r->ident == 1);
    CHECK_FALSE(r->dont_fragment);

    const Ipv4View v(router_alert_packet);
    REQUIRE(v.check() == WireError::none);
    const auto opts = v.options();
    CHECK(opts.data() == router_alert_packet.data() + 20);
    REQUIRE(opts.size() == 4);
    CHECK(opts[0] == 0x94);
    CHECK(opts[1] == 0x04);
    CHECK(opts[2] == 0x00);
    CHECK(opts[3] == 0x00);
    const auto payload = v.payload();
    CHECK(payload.data() == router_alert_packet.data() + 24);
    REQUIRE(payload.size() == 8);
    CHECK(payload[0] == 0x9c);
    CHECK(payload[1] == 0x40);
}

TEST_CASE("IPv4 parses a header with Record Route (IHL 8)", "[wire][ipv4]") {
    const auto r = Ipv4Repr::parse(record_route_packet);
    REQUIRE(r.ok());
    CHECK(r->header_len == 32);
    CHECK(r->payload_len == 8);
    CHECK(r->ident == 0xabcd);
    CHECK(r->protocol == IpProtocol::icmp);

    const Ipv4View v(record_route_packet);
    const auto opts = v.options();
    CHECK(opts.data() == record_route_packet.data() + 20);
    REQUIRE(opts.size() == 12);
    CHECK(opts[0] == 0x07);
    CHECK(opts[1] == 0x0b);
    CHECK(opts[2] == 0x04);
    CHECK(opts[11] == 0x00);
    CHECK(v.payload().data() == record_route_packet.data() + 32);
    CHECK(v.payload().size() == 8);
}

TEST_CASE("IPv4 parses the largest header (IHL 15)", "[wire][ipv4]") {
    const auto h = max_options_header();
    const auto r = Ipv4Repr::parse(h);
    REQUIRE(r.ok());
    CHECK(r->header_len == 60);
    CHECK(r->payload_len == 0);
    const Ipv4View v(h);
    CHECK(v.options().size() == 40);
    CHECK(v.payload().empty());
}

TEST_CASE("IPv4 options are covered by the header checksum", "[wire][ipv4]") {
    auto p = router_alert_packet;
    p[22] = 0x01;  // Router Alert value 0x0100: the sum changes inside the options
    CHECK(Ipv4Repr::parse(p).error() == WireError::bad_checksum);
    // The payload is not covered.
    auto q = router_alert_packet;
    q[30] = 0x12;
    CHECK(Ipv4Repr::parse(q).ok());
}

TEST_CASE("IPv4 parse inverts emit", "[wire][ipv4]") {
    const std::vector<Ipv4Repr> reprs = {
        {.src = ip1, .dst = ip2, .protocol = IpProtocol::tcp, .payload_len = 40},
        {.src = ip2, .dst = ip1, .protocol = IpProtocol::icmp, .payload_len = 64, .ttl = 255, .tos = 0x03,
         .ident = 0xffff, .dont_fragment = true},
        {.src = ip1, .dst = Ipv4Address(198, 19, 0, 10), .protocol = IpProtocol::udp, .payload_len = 8,
         .ttl = 1, .ident = 7, .more_fragments = true, .frag_offset = 0},
        {.src = ip1, .dst = ip2, .protocol = IpProtocol::udp, .payload_len = 3, .ttl = 0, .ident = 7,
         .frag_offset = 65512},  // the last fragment that still fits in 65535 bytes
        {.src = ip1, .dst = ip2, .protocol = static_cast<IpProtocol>(132), .payload_len = 0},  // SCTP
    };
    for (const auto& r : reprs) {
        std::vector<std::uint8_t> buf(r.total_len(), 0xa5);
        r.emit(buf);
        const auto parsed = Ipv4Repr::parse(buf);
        INFO("ident " << r.ident << " offset " << r.frag_offset);
        REQUIRE(parsed.ok());
        CHECK(*parsed == r);
    }
}

TEST_CASE("IPv4 shorter than 20 bytes is truncated", "[wire][ipv4]") {
    for (std::size_t len = 0; len < 20; ++len) {
        INFO("length " << len);
        const std::span<const std::uint8_t> p(ping_packet.data(), len);
        CHECK(Ipv4View(p).check() == WireError::truncated);
        CHECK(Ipv4Repr::parse(p).error() == WireError::truncated);
        CHECK(Ipv4Repr::parse(p, ChecksumCheck::skip).error() == WireError::truncated);
    }
}

TEST_CASE("IPv4 shorter than its total length is truncated", "[wire][ipv4]") {
    for (std::size_t len = 20; len < ping_packet.size(); ++len) {
        INFO("length " << len);
        const std::span<const std::uint8_t> p(ping_packet.data(), len);
        CHECK(Ipv4Repr::parse(p).error() == WireError::truncated);
    }
    // Total length lies high: 0x0055 = 85 on an 84-byte buffer.
    auto p = ping_packet;
    p[3] = 0x55;
    refresh_checksum(p, 20);
    CHECK(Ipv4Repr::parse(p).error() == WireError::truncated);
    p[2] = 0xff;
    p[3] = 0xff;
    refresh_checksum(p, 20);
    CHECK(Ipv4Repr::parse(p).error() == WireError::truncated);
}

TEST_CASE("IPv4 shorter than its IHL is truncated", "[wire][ipv4]") {
    for (std::size_t len = 20; len < 24; ++len) {
        INFO("length " << len);
        const std::span<const std::uint8_t> p(router_alert_packet.data(), len);
        CHECK(Ipv4Repr::parse(p).error() == WireError::truncated);
    }
    const auto h = max_options_header();
    for (std::size_t len = 20; len < 60; ++len) {
        INFO("length " << len);
        const std::span<const std::uint8_t> p(h.data(), len);
        CHECK(Ipv4View(p).check() == WireError::truncated);
    }
    // IHL 15 (60 bytes) on a 32-byte buffer whose total length (32) also lies below the
    // IHL: the header does not fit, and that is reported before the length mismatch.
    auto p = router_alert_packet;
    p[0] = 0x4f;
    CHECK(Ipv4View(p).check() == WireError::truncated);
    CHECK(Ipv4Repr::parse(p).error() == WireError::truncated);
    CHECK(Ipv4Repr::parse(p, ChecksumCheck::skip).error() == WireError::truncated);
}

TEST_CASE("IPv4 version other than 4 is malformed", "[wire][ipv4]") {
    for (const std::uint8_t version : {0, 1, 5, 6, 15}) {
        INFO("version " << int{version});
        auto p = ping_packet;
        p[0] = static_cast<std::uint8_t>(version << 4 | 5);
        refresh_checksum(p, 20);
        CHECK(Ipv4View(p).check() == WireError::malformed);
        CHECK(Ipv4Repr::parse(p).error() == WireError::malformed);
    }
}

TEST_CASE("IPv4 IHL below 5 is malformed", "[wire][ipv4]") {
    for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
        INFO("IHL " << int{ihl});
        auto p = ping_packet;
        p[0] = static_cast<std::uint8_t>(0x40 | ihl);
        CHECK(Ipv4View(p).check() == WireError::malformed);
        CHECK(Ipv4Repr::parse(p, ChecksumCheck::skip).error() == WireError::malformed);
    }
}

TEST_CASE("IPv4 total length below the header length is malformed", "[wire][ipv4]") {
    SECTION("no options") {
        for (const std::uint16_t total : {0, 1, 19}) {
            INFO("total length " << total);
            auto p = ping_packet;
            p[2] = static_cast<std::uint8_t>(total >> 8);
            p[3] = static_cast<std::uint8_t>(total);
            refresh_checksum(p, 20);
            CHECK(Ipv4Repr::parse(p).error() == WireError::malformed);
        }
    }
    SECTION("IHL 6, total length 20") {
        auto p = router_alert_packet;
        p[3] = 20;
        refresh_checksum(p, 24);
        CHECK(Ipv4View(p).check() == WireError::malformed);
        CHECK(Ipv4Repr::parse(p).error() == WireError::malformed);
    }
    SECTION("total length equal to the header length is an empty payload") {
        auto p = router_alert_packet;
        p[3] = 24;
        refresh_checksum(p, 24);
        const auto r = Ipv4Repr::parse(p);
        REQUIRE(r.ok());
        CHECK(r->payload_len == 0);
        CHECK(Ipv4View(p).payload().empty());
    }
}

TEST_CASE("IPv4 header checksum errors are reported unless skipped", "[wire][ipv4]") {
    for (std::size_t i = 0; i < 20; ++i) {
        if (i == 0 || i == 2 || i == 3) continue;  // IHL and total length: other errors
        INFO("flipped a bit in byte " << i);
        auto p = ping_packet;
        p[i] ^= 0x01;
        CHECK(Ipv4Repr::parse(p).error() == WireError::bad_checksum);
        CHECK_FALSE(Ipv4View(p).checksum_ok());
    }
    auto p = ping_packet;
    p[10] = 0x00;
    p[11] = 0x00;
    CHECK(Ipv4Repr::parse(p).error() == WireError::bad_checksum);
    const auto skipped = Ipv4Repr::parse(p, ChecksumCheck::skip);
    REQUIRE(skipped.ok());
    CHECK(skipped->src == ip1);
    CHECK(skipped->payload_len == 64);
}

TEST_CASE("IPv4 fragments that would end past 65535 bytes are malformed", "[wire][ipv4]") {
    // Offset 65512 (8189 units) with 3 bytes of payload ends at 20 + 65515 = 65535: legal.
    const std::array<std::uint8_t, 23> at_limit = {
        0x45, 0x00, 0x00, 0x17, 0x00, 0x01, 0x1f, 0xfd, 0x40, 0x11, 0xce, 0xb0,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0xaa, 0xbb, 0xcc,
    };
    const auto ok = Ipv4Repr::parse(at_limit);
    REQUIRE(ok.ok());
    CHECK(ok->frag_offset == 65512);
    CHECK(ok->payload_len == 3);
    CHECK(ok->is_fragment());

    // One more byte ends at 65536.
    const std::array<std::uint8_t, 24> one_past = {
        0x45, 0x00, 0x00, 0x18, 0x00, 0x01, 0x1f, 0xfd, 0x40, 0x11, 0xce, 0xaf,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0xaa, 0xbb, 0xcc, 0xdd,
    };
    CHECK(Ipv4View(one_past).check() == WireError::malformed);
    CHECK(Ipv4Repr::parse(one_past).error() == WireError::malformed);
    CHECK(Ipv4Repr::parse(one_past, ChecksumCheck::skip).error() == WireError::malformed);

    // The largest offset (8191 units, MF set) with 8 bytes of payload.
    const std::array<std::uint8_t, 28> max_offset = {
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x3f, 0xff, 0x40, 0x11, 0xae, 0xa8,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    const Ipv4View v(max_offset);
    CHECK(v.frag_offset() == 65528);
    CHECK(v.more_fragments());
    CHECK(v.checksum_ok());
    CHECK(Ipv4Repr::parse(max_offset).error() == WireError::malformed);
}

TEST_CASE("IPv4 fragment limit counts a 20-byte first header, not this fragment's options",
          "[wire][ipv4]") {
    // The reassembled datagram takes its header from the first fragment, which may have
    // no options, so a later fragment's own options do not count towards 65535: IHL 6,
    // offset 65512 and 3 bytes of payload can still end exactly at 65535.
    std::array<std::uint8_t, 27> p = {
        0x46, 0x00, 0x00, 0x1b, 0x00, 0x01, 0x1f, 0xfd, 0x40, 0x11, 0x00, 0x00,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0x01, 0x01, 0x01, 0x00, 0xaa, 0xbb, 0xcc,
    };
    CHECK(Ipv4Repr::parse(p, ChecksumCheck::skip).ok());
    // A fourth payload byte would end at 65536.
    std::array<std::uint8_t, 28> q = {
        0x46, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x1f, 0xfd, 0x40, 0x11, 0x00, 0x00,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0x01, 0x01, 0x01, 0x00, 0xaa, 0xbb, 0xcc, 0xdd,
    };
    CHECK(Ipv4Repr::parse(q, ChecksumCheck::skip).error() == WireError::malformed);
}

TEST_CASE("IPv4 payload excludes Ethernet padding", "[wire][ipv4]") {
    // A minimum-size Ethernet frame (60 bytes) carrying a 28-byte IPv4/UDP packet: the
    // last 18 bytes are link padding, not payload.
    const std::array<std::uint8_t, 60> frame = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x07, 0x00, 0x00, 0x40, 0x11, 0xee, 0xa2,
        0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
        0x9c, 0x40, 0x82, 0x9a, 0x00, 0x08, 0x00, 0x00,  // UDP header, no data
        0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
        0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
    };
    const auto eth = EthernetView(frame);
    REQUIRE(eth.check() == WireError::none);
    const auto ip_bytes = eth.payload();
    REQUIRE(ip_bytes.size() == 46);

    const auto r = Ipv4Repr::parse(ip_bytes);
    REQUIRE(r.ok());
    CHECK(r->payload_len == 8);
    CHECK(r->src == ip2);
    CHECK(r->dst == ip1);

    const Ipv4View v(ip_bytes);
    const auto payload = v.payload();
    CHECK(payload.data() == frame.data() + 34);
    REQUIRE(payload.size() == 8);
    CHECK(payload[7] == 0x00);
    CHECK(payload.data() + payload.size() == frame.data() + 42);
}

TEST_CASE("IPv4 view reads flags and fragment offset", "[wire][ipv4]") {
    auto p = ping_packet;
    // Reserved flag and MF set, offset 3 units, DF clear.
    p[6] = 0xa0;
    p[7] = 0x03;
    const Ipv4View v(p);
    CHECK_FALSE(v.dont_fragment());
    CHECK(v.more_fragments());
    CHECK(v.frag_offset() == 24);
    CHECK(v.ident() == 0x4d2e);
    CHECK(v.ttl() == 64);
    CHECK(v.protocol() == 1);
    CHECK(v.tos() == 0);
    CHECK(v.src() == ip1);
    CHECK(v.dst() == ip2);
}

TEST_CASE("IPv4 fill_hdrincl_header completes a user's header, options included", "[wire][ipv4]") {
    // The Router Alert header with total length, ident, source and checksum blanked, as a
    // raw socket's user may leave them; a canary byte after the header.
    std::array<std::uint8_t, 25> buf{};
    std::copy_n(router_alert_packet.begin(), 24, buf.begin());
    for (const std::size_t i : {2, 3, 4, 5, 10, 11, 12, 13, 14, 15}) buf[i] = 0;
    buf[24] = 0xa5;
    fill_hdrincl_header(std::span(buf).first(24), 32, 0x0001, ip1);
    for (std::size_t i = 0; i < 24; ++i) {
        INFO("byte " << i);
        CHECK(int{buf[i]} == int{router_alert_packet[i]});
    }
    CHECK(buf[24] == 0xa5);

    // A stale checksum is replaced, the other fields are left alone.
    std::array<std::uint8_t, 20> h{};
    std::copy_n(ping_packet.begin(), 20, h.begin());
    h[10] = 0x12;
    h[11] = 0x34;
    fill_hdrincl_header(h, 0x0054, 0x4d2e, ip1);
    CHECK(std::equal(h.begin(), h.end(), ping_packet.begin()));
    fill_hdrincl_header(h, 1500, 0xbeef, Ipv4Address(127, 0, 0, 1));
    const Ipv4View v(h);  // the header alone, of a 1500-byte datagram
    CHECK(v.check_header(1500) == WireError::none);
    CHECK(v.checksum_ok());
    CHECK(v.total_len() == 1500);
    CHECK(v.ident() == 0xbeef);
    CHECK(v.src() == Ipv4Address(127, 0, 0, 1));
    CHECK(v.dst() == ip2);
    CHECK(v.ttl() == 64);
    CHECK(v.dont_fragment());
}
