#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "wire/checksum.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"

using namespace pollux::wire;

namespace {

const Ipv4Address ip1(198, 18, 0, 1);
const Ipv4Address ip2(198, 18, 0, 2);

using Bytes = std::vector<std::uint8_t>;

// An echo request as Linux ping sends it: id 0x0b7a, seq 1, 56 bytes of data (a 16-byte
// struct timeval, then the bytes 0x10..0x37).
constexpr std::array<std::uint8_t, 64> echo_request = {
    0x08, 0x00, 0x42, 0x95, 0x0b, 0x7a, 0x00, 0x01,
    0xa3, 0xf1, 0x60, 0x65, 0x00, 0x00, 0x00, 0x00, 0xe2, 0xc5, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

// The reply to it: type 0, the same id, seq and data; the checksum moves by 0x0800.
constexpr std::array<std::uint8_t, 64> echo_reply = {
    0x00, 0x00, 0x4a, 0x95, 0x0b, 0x7a, 0x00, 0x01,
    0xa3, 0xf1, 0x60, 0x65, 0x00, 0x00, 0x00, 0x00, 0xe2, 0xc5, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

// Port unreachable from 198.18.0.2 for a UDP datagram 198.18.0.1:40000 -> 198.18.0.2:33434
// carrying "ping"; the whole 32-byte datagram is quoted.
constexpr std::array<std::uint8_t, 40> port_unreachable = {
    0x03, 0x03, 0x89, 0x42, 0x00, 0x00, 0x00, 0x00,
    // quoted IPv4 header: total length 32, ident 0x1234, DF, TTL 64, UDP
    0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x9c, 0x71,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    // quoted UDP header and data
    0x9c, 0x40, 0x82, 0x9a, 0x00, 0x0c, 0x76, 0x02, 0x70, 0x69, 0x6e, 0x67,
};

// Fragmentation needed (next-hop MTU 1400) for a 1500-byte DF TCP segment
// 198.18.0.1:45678 -> 198.19.0.10:80; only the IPv4 header and 8 bytes are quoted.
constexpr std::array<std::uint8_t, 36> frag_needed = {
    0x03, 0x04, 0xee, 0x4c, 0x00, 0x00, 0x05, 0x78,
    0x45, 0x00, 0x05, 0xdc, 0x7a, 0x10, 0x40, 0x00, 0x40, 0x06, 0x2e, 0xdb,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x0a,
    0xb2, 0x6e, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4d,  // ports, sequence number
};

// TTL exceeded in transit for a UDP probe sent with TTL 1 and a Router Alert option
// (quoted IHL 6); the quote holds the header and the 8-byte UDP header only.
constexpr std::array<std::uint8_t, 40> time_exceeded = {
    0x0b, 0x00, 0xce, 0x43, 0x00, 0x00, 0x00, 0x00,
    0x46, 0x00, 0x00, 0x24, 0x55, 0x55, 0x00, 0x00, 0x01, 0x11, 0x43, 0x48,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x01, 0x94, 0x04, 0x00, 0x00,
    0xa4, 0x10, 0x82, 0x9b, 0x00, 0x10, 0x00, 0x00,
};

template <std::size_t N>
std::span<const std::uint8_t> after_header(const std::array<std::uint8_t, N>& m) {
    return std::span<const std::uint8_t>(m).subspan(8);
}

Bytes to_bytes(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }

// Emits `r` into a buffer of 0xa5 and checks every byte against `expected` and that
// nothing after buffer_len() was written.
template <std::size_t N>
void check_golden(const IcmpRepr& r, const std::array<std::uint8_t, N>& expected) {
    REQUIRE(r.buffer_len() == N);
    std::array<std::uint8_t, N + 16> buf;
    buf.fill(0xa5);
    r.emit(std::span<std::uint8_t>(buf).first(N));
    for (std::size_t i = 0; i < N; ++i) {
        INFO("byte " << i);
        CHECK(int{buf[i]} == int{expected[i]});
    }
    for (std::size_t i = N; i < buf.size(); ++i) {
        INFO("byte " << i << " past the message");
        CHECK(buf[i] == 0xa5);
    }
}

void check_same(const IcmpRepr& a, const IcmpRepr& b) {
    CHECK(a.type == b.type);
    CHECK(a.code == b.code);
    CHECK(a.echo_ident == b.echo_ident);
    CHECK(a.echo_seq == b.echo_seq);
    CHECK(a.next_hop_mtu == b.next_hop_mtu);
    CHECK(to_bytes(a.data) == to_bytes(b.data));
}

// Recomputes the ICMP checksum in place (bytes 2-3) so a test can isolate another field.
void refresh_checksum(Bytes& m) {
    m[2] = 0;
    m[3] = 0;
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < m.size(); i += 2) {
        sum += std::uint32_t{m[i]} << 8;
        if (i + 1 < m.size()) sum += m[i + 1];
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    const auto c = static_cast<std::uint16_t>(~sum);
    m[2] = static_cast<std::uint8_t>(c >> 8);
    m[3] = static_cast<std::uint8_t>(c);
}

}  // namespace

TEST_CASE("ICMP emit writes a Linux ping echo request byte for byte", "[wire][icmp]") {
    IcmpRepr r;
    r.type = IcmpType::echo_request;
    r.code = 0;
    r.echo_ident = 0x0b7a;
    r.echo_seq = 1;
    r.data = after_header(echo_request);
    check_golden(r, echo_request);
}

TEST_CASE("ICMP emit writes an echo reply", "[wire][icmp]") {
    IcmpRepr r;
    r.type = IcmpType::echo_reply;
    r.echo_ident = 0x0b7a;
    r.echo_seq = 1;
    r.data = after_header(echo_request);
    check_golden(r, echo_reply);
}

TEST_CASE("ICMP emit handles an odd-length echo payload", "[wire][icmp]") {
    const std::array<std::uint8_t, 3> abc = {'a', 'b', 'c'};
    IcmpRepr r;
    r.type = IcmpType::echo_request;
    r.echo_ident = 1;
    r.echo_seq = 2;
    r.data = abc;
    const std::array<std::uint8_t, 11> expected = {0x08, 0x00, 0x33, 0x9a, 0x00, 0x01, 0x00, 0x02, 'a', 'b', 'c'};
    check_golden(r, expected);
}

TEST_CASE("ICMP emit writes a port unreachable quoting the datagram", "[wire][icmp]") {
    IcmpRepr r;
    r.type = IcmpType::dest_unreachable;
    r.code = static_cast<std::uint8_t>(UnreachableCode::port);
    r.data = after_header(port_unreachable);
    check_golden(r, port_unreachable);
}

TEST_CASE("ICMP emit writes the next-hop MTU of fragmentation needed", "[wire][icmp]") {
    IcmpRepr r;
    r.type = IcmpType::dest_unreachable;
    r.code = static_cast<std::uint8_t>(UnreachableCode::frag_needed);
    r.next_hop_mtu = 1400;
    r.data = after_header(frag_needed);
    check_golden(r, frag_needed);
}

TEST_CASE("ICMP emit writes a time exceeded with zero unused bytes", "[wire][icmp]") {
    IcmpRepr r;
    r.type = IcmpType::time_exceeded;
    r.code = static_cast<std::uint8_t>(TimeExceededCode::ttl);
    r.echo_ident = 0x1111;  // not part of this type: must not reach the wire
    r.echo_seq = 0x2222;
    r.next_hop_mtu = 1400;  // only for dest_unreachable
    r.data = after_header(time_exceeded);
    check_golden(r, time_exceeded);
}

TEST_CASE("ICMP emit works when the data already sits at out[8..]", "[wire][icmp]") {
    SECTION("echo request") {
        std::array<std::uint8_t, 80> buf;
        buf.fill(0xa5);
        std::copy(echo_request.begin() + 8, echo_request.end(), buf.begin() + 8);
        IcmpRepr r;
        r.type = IcmpType::echo_request;
        r.echo_ident = 0x0b7a;
        r.echo_seq = 1;
        r.data = std::span<const std::uint8_t>(buf).subspan(8, 56);
        r.emit(buf);
        CHECK(std::equal(echo_request.begin(), echo_request.end(), buf.begin()));
        for (std::size_t i = 64; i < buf.size(); ++i) {
            INFO("byte " << i);
            CHECK(buf[i] == 0xa5);
        }
    }
    SECTION("port unreachable") {
        std::array<std::uint8_t, 48> buf;
        buf.fill(0xa5);
        std::copy(port_unreachable.begin() + 8, port_unreachable.end(), buf.begin() + 8);
        IcmpRepr r;
        r.type = IcmpType::dest_unreachable;
        r.code = 3;
        r.data = std::span<const std::uint8_t>(buf).subspan(8, 32);
        r.emit(buf);
        CHECK(std::equal(port_unreachable.begin(), port_unreachable.end(), buf.begin()));
        for (std::size_t i = 40; i < buf.size(); ++i) {
            INFO("byte " << i);
            CHECK(buf[i] == 0xa5);
        }
    }
    SECTION("data further along in the same buffer is moved back") {
        // The quote sits at out[12..]: copying it to out[8..] overlaps its own source.
        std::array<std::uint8_t, 48> buf;
        buf.fill(0xa5);
        std::copy(port_unreachable.begin() + 8, port_unreachable.end(), buf.begin() + 12);
        IcmpRepr r;
        r.type = IcmpType::dest_unreachable;
        r.code = 3;
        r.data = std::span<const std::uint8_t>(buf).subspan(12, 32);
        r.emit(buf);
        CHECK(std::equal(port_unreachable.begin(), port_unreachable.end(), buf.begin()));
    }
}

TEST_CASE("ICMP parses a Linux ping from the wire", "[wire][icmp]") {
    // Ethernet, IPv4 (DF, TTL 64) and ICMP echo request, 98 bytes as captured.
    const std::array<std::uint8_t, 98> frame = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x54, 0x4d, 0x2e, 0x40, 0x00, 0x40, 0x01, 0x61, 0x53,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
        0x08, 0x00, 0x42, 0x95, 0x0b, 0x7a, 0x00, 0x01,
        0xa3, 0xf1, 0x60, 0x65, 0x00, 0x00, 0x00, 0x00, 0xe2, 0xc5, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
        0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    };
    const auto eth = EthernetRepr::parse(frame);
    REQUIRE(eth.ok());
    REQUIRE(eth->ethertype == EtherType::ipv4);
    const auto ip_bytes = EthernetView(frame).payload();
    const auto ip = Ipv4Repr::parse(ip_bytes);
    REQUIRE(ip.ok());
    REQUIRE(ip->protocol == IpProtocol::icmp);
    const auto icmp_bytes = Ipv4View(ip_bytes).payload();
    REQUIRE(icmp_bytes.size() == 64);

    const auto r = IcmpRepr::parse(icmp_bytes);
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::echo_request);
    CHECK(r->code == 0);
    CHECK(r->echo_ident == 0x0b7a);
    CHECK(r->echo_seq == 1);
    CHECK(r->next_hop_mtu == 0);
    CHECK_FALSE(r->is_error());
    CHECK(r->data.data() == frame.data() + 42);
    REQUIRE(r->data.size() == 56);
    CHECK(r->data[0] == 0xa3);
    CHECK(r->data[16] == 0x10);
    CHECK(r->data[55] == 0x37);
    CHECK(r->quoted().error() == WireError::unsupported);

    const IcmpView v(icmp_bytes);
    REQUIRE(v.check() == WireError::none);
    CHECK(v.type() == 8);
    CHECK(v.code() == 0);
    CHECK(v.checksum() == 0x4295);
    CHECK(v.echo_ident() == 0x0b7a);
    CHECK(v.echo_seq() == 1);
    CHECK(v.checksum_ok());
    CHECK(v.data().size() == 56);
}

TEST_CASE("ICMP in a padded Ethernet frame: the padding is not part of the message", "[wire][icmp]") {
    // An echo request with no data (28 bytes of IPv4) padded to 60 bytes with 0xee: the
    // checksum only verifies if the padding is excluded.
    const std::array<std::uint8_t, 60> frame = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x09, 0x00, 0x00, 0x40, 0x01, 0xee, 0xb0,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
        0x08, 0x00, 0xf7, 0xfd, 0x00, 0x01, 0x00, 0x01,
        0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
        0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
    };
    const auto ip_bytes = EthernetView(frame).payload();
    REQUIRE(Ipv4Repr::parse(ip_bytes).ok());
    const auto icmp_bytes = Ipv4View(ip_bytes).payload();
    REQUIRE(icmp_bytes.size() == 8);
    const auto r = IcmpRepr::parse(icmp_bytes);
    REQUIRE(r.ok());
    CHECK(r->echo_ident == 1);
    CHECK(r->echo_seq == 1);
    CHECK(r->data.empty());
    // The same bytes with the padding wrongly included do not verify.
    CHECK(IcmpRepr::parse(ip_bytes.subspan(20)).error() == WireError::bad_checksum);
}

TEST_CASE("ICMP parses a port unreachable and its quoted datagram", "[wire][icmp]") {
    const auto r = IcmpRepr::parse(port_unreachable);
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::dest_unreachable);
    CHECK(r->code == static_cast<std::uint8_t>(UnreachableCode::port));
    CHECK(r->next_hop_mtu == 0);
    CHECK(r->is_error());
    CHECK(r->data.data() == port_unreachable.data() + 8);
    CHECK(r->data.size() == 32);

    const auto q = r->quoted();
    REQUIRE(q.ok());
    CHECK(q->ip.src == ip1);
    CHECK(q->ip.dst == ip2);
    CHECK(q->ip.protocol == IpProtocol::udp);
    CHECK(q->ip.payload_len == 12);
    CHECK(q->ip.ttl == 64);
    CHECK(q->ip.tos == 0);
    CHECK(q->ip.ident == 0x1234);
    CHECK(q->ip.dont_fragment);
    CHECK_FALSE(q->ip.more_fragments);
    CHECK(q->ip.frag_offset == 0);
    CHECK(q->ip.header_len == 20);
    CHECK(q->transport.data() == port_unreachable.data() + 28);
    REQUIRE(q->transport.size() == 12);
    // The 8 transport bytes: source port 40000, destination port 33434, length 12, checksum.
    const Bytes udp_header = {0x9c, 0x40, 0x82, 0x9a, 0x00, 0x0c, 0x76, 0x02};
    CHECK(to_bytes(q->transport.first(8)) == udp_header);
}

TEST_CASE("ICMP parses fragmentation needed with its next-hop MTU", "[wire][icmp]") {
    const auto r = IcmpRepr::parse(frag_needed);
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::dest_unreachable);
    CHECK(r->code == 4);
    CHECK(r->next_hop_mtu == 1400);
    CHECK(IcmpView(frag_needed).next_hop_mtu() == 1400);

    const auto q = r->quoted();
    REQUIRE(q.ok());
    CHECK(q->ip.src == ip1);
    CHECK(q->ip.dst == Ipv4Address(198, 19, 0, 10));
    CHECK(q->ip.protocol == IpProtocol::tcp);
    // Total length 1500 although only 28 bytes are quoted: the quote is truncated by design.
    CHECK(q->ip.payload_len == 1480);
    CHECK(q->ip.dont_fragment);
    CHECK(q->ip.ident == 0x7a10);
    const Bytes tcp8 = {0xb2, 0x6e, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4d};
    CHECK(to_bytes(q->transport) == tcp8);
}

TEST_CASE("ICMP fragmentation needed from a pre-RFC 1191 router has MTU 0", "[wire][icmp]") {
    auto m = to_bytes(frag_needed);
    m[6] = 0x00;
    m[7] = 0x00;
    m[2] = 0xf3;  // checksum for the zero MTU
    m[3] = 0xc4;
    const auto r = IcmpRepr::parse(m);
    REQUIRE(r.ok());
    CHECK(r->next_hop_mtu == 0);
}

TEST_CASE("ICMP next-hop MTU is only read for fragmentation needed", "[wire][icmp]") {
    // A port unreachable whose unused bytes 6-7 hold 0x0578.
    auto m = to_bytes(port_unreachable);
    m[6] = 0x05;
    m[7] = 0x78;
    m[2] = 0x83;
    m[3] = 0xca;
    const auto r = IcmpRepr::parse(m);
    REQUIRE(r.ok());
    CHECK(r->code == 3);
    CHECK(r->next_hop_mtu == 0);
}

TEST_CASE("ICMP parses time exceeded quoting a header with options", "[wire][icmp]") {
    const auto r = IcmpRepr::parse(time_exceeded);
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::time_exceeded);
    CHECK(r->code == static_cast<std::uint8_t>(TimeExceededCode::ttl));
    CHECK(r->is_error());
    const auto q = r->quoted();
    REQUIRE(q.ok());
    CHECK(q->ip.header_len == 24);
    CHECK(q->ip.ttl == 1);
    CHECK(q->ip.ident == 0x5555);
    CHECK(q->ip.dst == Ipv4Address(198, 19, 0, 1));
    CHECK(q->ip.payload_len == 12);  // 36 - 24, although only 8 bytes are quoted
    CHECK(q->transport.data() == time_exceeded.data() + 32);
    const Bytes udp_header = {0xa4, 0x10, 0x82, 0x9b, 0x00, 0x10, 0x00, 0x00};
    CHECK(to_bytes(q->transport) == udp_header);
}

TEST_CASE("ICMP reassembly time exceeded quotes a first fragment", "[wire][icmp]") {
    // 198.18.0.2 gave up reassembling a 3000-byte UDP datagram from 198.18.0.1 and quotes
    // its first fragment (MF set, offset 0).
    const std::array<std::uint8_t, 36> m = {
        0x0b, 0x01, 0xca, 0x63, 0x00, 0x00, 0x00, 0x00,
        0x45, 0x00, 0x05, 0xdc, 0x33, 0x33, 0x20, 0x00, 0x40, 0x11, 0x95, 0xb6,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
        0x9c, 0x40, 0x82, 0x9a, 0x0b, 0xc0, 0x00, 0x00,
    };
    const auto r = IcmpRepr::parse(m);
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::time_exceeded);
    CHECK(r->code == static_cast<std::uint8_t>(TimeExceededCode::reassembly));
    const auto q = r->quoted();
    REQUIRE(q.ok());
    CHECK(q->ip.more_fragments);
    CHECK_FALSE(q->ip.dont_fragment);
    CHECK(q->ip.frag_offset == 0);
    CHECK(q->ip.is_fragment());
    CHECK(q->ip.ident == 0x3333);
    CHECK(q->ip.payload_len == 1480);
    CHECK(q->transport.size() == 8);
    CHECK(q->transport[4] == 0x0b);  // UDP length 3008
    CHECK(q->transport[5] == 0xc0);
}

TEST_CASE("ICMP parse inverts emit", "[wire][icmp]") {
    const std::array<std::uint8_t, 5> small = {1, 2, 3, 4, 5};
    std::vector<IcmpRepr> reprs(6);
    reprs[0].type = IcmpType::echo_request;
    reprs[0].echo_ident = 0xbeef;
    reprs[0].echo_seq = 0xffff;
    reprs[0].data = small;
    reprs[1].type = IcmpType::echo_reply;
    reprs[1].echo_ident = 7;
    reprs[1].echo_seq = 0;
    reprs[2].type = IcmpType::dest_unreachable;
    reprs[2].code = static_cast<std::uint8_t>(UnreachableCode::port);
    reprs[2].data = after_header(port_unreachable);
    reprs[3].type = IcmpType::dest_unreachable;
    reprs[3].code = static_cast<std::uint8_t>(UnreachableCode::frag_needed);
    reprs[3].next_hop_mtu = 576;
    reprs[3].data = after_header(frag_needed);
    reprs[4].type = IcmpType::time_exceeded;
    reprs[4].code = static_cast<std::uint8_t>(TimeExceededCode::reassembly);
    reprs[4].data = after_header(time_exceeded);
    reprs[5].type = IcmpType::dest_unreachable;
    reprs[5].code = static_cast<std::uint8_t>(UnreachableCode::admin_prohibited);
    reprs[5].data = after_header(frag_needed);
    for (const auto& r : reprs) {
        INFO("type " << int{static_cast<std::uint8_t>(r.type)} << " code " << int{r.code});
        Bytes buf(r.buffer_len(), 0xa5);
        r.emit(buf);
        const auto parsed = IcmpRepr::parse(buf);
        REQUIRE(parsed.ok());
        check_same(*parsed, r);
    }
}

TEST_CASE("ICMP echo with a nonzero code is accepted", "[wire][icmp]") {
    // RFC 792 says code 0; Linux answers any code, so pollux parses it.
    auto m = to_bytes(echo_request);
    m[1] = 0x01;
    m[2] = 0x42;
    m[3] = 0x94;
    const auto r = IcmpRepr::parse(m);
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::echo_request);
    CHECK(r->code == 1);
    CHECK(r->echo_ident == 0x0b7a);
    CHECK(r->data.size() == 56);
}

TEST_CASE("ICMP shorter than 8 bytes is truncated", "[wire][icmp]") {
    for (std::size_t len = 0; len < 8; ++len) {
        INFO("length " << len);
        const std::span<const std::uint8_t> m(echo_request.data(), len);
        CHECK(IcmpView(m).check() == WireError::truncated);
        CHECK(IcmpRepr::parse(m).error() == WireError::truncated);
        CHECK(IcmpRepr::parse(m, ChecksumCheck::skip).error() == WireError::truncated);
    }
}

TEST_CASE("ICMP checksum errors are reported unless skipped", "[wire][icmp]") {
    for (const std::size_t i : {std::size_t{0}, std::size_t{2}, std::size_t{5}, std::size_t{8}, std::size_t{63}}) {
        INFO("flipped byte " << i);
        auto m = to_bytes(echo_request);
        m[i] ^= 0x40;
        CHECK_FALSE(IcmpView(m).checksum_ok());
        CHECK(IcmpRepr::parse(m).error() == WireError::bad_checksum);
    }
    auto m = to_bytes(echo_request);
    m[2] = 0;
    m[3] = 0;
    CHECK(IcmpRepr::parse(m).error() == WireError::bad_checksum);
    const auto skipped = IcmpRepr::parse(m, ChecksumCheck::skip);
    REQUIRE(skipped.ok());
    CHECK(skipped->echo_ident == 0x0b7a);
    CHECK(skipped->data.size() == 56);

    auto e = to_bytes(port_unreachable);
    e[39] ^= 0xff;
    CHECK(IcmpRepr::parse(e).error() == WireError::bad_checksum);
    CHECK(IcmpRepr::parse(e, ChecksumCheck::skip).ok());
}

TEST_CASE("ICMP types pollux does not handle are unsupported", "[wire][icmp]") {
    // Source quench, redirect, router advertisement/solicitation, timestamp
    // request/reply, address mask request, extended echo, and an unassigned type.
    for (const std::uint8_t type : {1, 2, 4, 5, 9, 10, 13, 14, 17, 42, 255}) {
        INFO("type " << int{type});
        auto m = to_bytes(port_unreachable);
        m[0] = type;
        refresh_checksum(m);
        CHECK(IcmpRepr::parse(m).error() == WireError::unsupported);
        CHECK(IcmpRepr::parse(m, ChecksumCheck::skip).error() == WireError::unsupported);
    }
}

TEST_CASE("ICMP parameter problem is an error carrying its quote (RFC 1122 3.2.2.5)", "[wire][icmp]") {
    auto m = to_bytes(port_unreachable);
    m[0] = 12;
    m[1] = 0;
    m[4] = 9;  // pointer: the offending octet (protocol)
    refresh_checksum(m);
    const auto r = IcmpRepr::parse(m);
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::parameter_problem);
    CHECK(r->is_error());
    const auto q = r->quoted();
    REQUIRE(q.ok());
    CHECK(q->ip.protocol == IpProtocol::udp);
}

TEST_CASE("ICMP emit writes the next-hop MTU only for fragmentation needed", "[wire][icmp]") {
    IcmpRepr r;
    r.type = IcmpType::dest_unreachable;
    r.code = static_cast<std::uint8_t>(UnreachableCode::port);
    r.next_hop_mtu = 1400;
    std::array<std::uint8_t, 8> out{};
    r.emit(out);
    CHECK(out[6] == 0);
    CHECK(out[7] == 0);
    r.code = static_cast<std::uint8_t>(UnreachableCode::frag_needed);
    r.emit(out);
    CHECK(out[6] == 0x05);
    CHECK(out[7] == 0x78);
}

TEST_CASE("ICMP errors quoting less than an IPv4 header and 8 bytes are malformed", "[wire][icmp]") {
    SECTION("every quote length below 28 bytes") {
        for (std::size_t quoted = 0; quoted < 28; ++quoted) {
            INFO("quoted " << quoted << " bytes");
            Bytes m(port_unreachable.begin(), port_unreachable.begin() + 8 + static_cast<std::ptrdiff_t>(quoted));
            refresh_checksum(m);
            CHECK(IcmpRepr::parse(m).error() == WireError::malformed);
            Bytes f(frag_needed.begin(), frag_needed.begin() + 8 + static_cast<std::ptrdiff_t>(quoted));
            refresh_checksum(f);
            CHECK(IcmpRepr::parse(f).error() == WireError::malformed);
        }
        // 28 bytes is enough.
        Bytes m(port_unreachable.begin(), port_unreachable.begin() + 36);
        refresh_checksum(m);
        CHECK(IcmpRepr::parse(m).ok());
    }
    SECTION("quoted IHL 6 needs 32 bytes") {
        for (std::size_t quoted = 28; quoted < 32; ++quoted) {
            INFO("quoted " << quoted << " bytes");
            Bytes m(time_exceeded.begin(), time_exceeded.begin() + 8 + static_cast<std::ptrdiff_t>(quoted));
            refresh_checksum(m);
            CHECK(IcmpRepr::parse(m).error() == WireError::malformed);
        }
    }
}

TEST_CASE("ICMP errors quoting something other than IPv4 are malformed", "[wire][icmp]") {
    SECTION("version 6") {
        auto m = to_bytes(port_unreachable);
        m[8] = 0x65;
        refresh_checksum(m);
        CHECK(IcmpRepr::parse(m).error() == WireError::malformed);
    }
    SECTION("version 0") {
        auto m = to_bytes(time_exceeded);
        m[8] = 0x06;
        refresh_checksum(m);
        CHECK(IcmpRepr::parse(m).error() == WireError::malformed);
    }
    SECTION("IHL below 5") {
        for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
            INFO("IHL " << int{ihl});
            auto m = to_bytes(port_unreachable);
            m[8] = static_cast<std::uint8_t>(0x40 | ihl);
            refresh_checksum(m);
            CHECK(IcmpRepr::parse(m).error() == WireError::malformed);
        }
    }
    SECTION("IHL beyond the quote") {
        auto m = to_bytes(port_unreachable);
        m[8] = 0x4f;  // 60-byte header, only 32 bytes quoted
        refresh_checksum(m);
        CHECK(IcmpRepr::parse(m).error() == WireError::malformed);
    }
}

TEST_CASE("ICMP quoted() is only for error messages", "[wire][icmp]") {
    const auto echo = IcmpRepr::parse(echo_request);
    REQUIRE(echo.ok());
    CHECK(echo->quoted().error() == WireError::unsupported);

    IcmpRepr err;
    err.type = IcmpType::dest_unreachable;
    err.code = 1;
    const std::array<std::uint8_t, 27> short_quote{};
    err.data = short_quote;
    CHECK(err.quoted().error() == WireError::malformed);
}

TEST_CASE("ICMP quoted datagram ignores the quoted header checksum", "[wire][icmp]") {
    // Routers may rewrite the quoted header (TTL, NAT): its checksum is not checked.
    auto m = to_bytes(port_unreachable);
    m[18] = 0x00;
    m[19] = 0x00;
    refresh_checksum(m);
    const auto r = IcmpRepr::parse(m);
    REQUIRE(r.ok());
    const auto q = r->quoted();
    REQUIRE(q.ok());
    CHECK(q->ip.ident == 0x1234);
    CHECK(q->ip.dst == ip2);
}

TEST_CASE("echo_request_to_reply keeps the checksum valid, all-zero data included", "[wire][icmp]") {
    // A request whose reply is all zeros: 08 00 f7 ff 00 00 00 00. RFC 1624 eqn. 3 alone
    // would give 0x0000, which does not verify; the reply must carry 0xffff.
    std::array<std::uint8_t, 12> zero = {0x08, 0x00, 0xf7, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    REQUIRE(checksum_verifies(zero));
    echo_request_to_reply(std::span(zero).first(8));
    CHECK(zero[0] == 0);
    CHECK(zero[2] == 0xff);
    CHECK(zero[3] == 0xff);
    CHECK(checksum_verifies(zero));

    auto ping = to_bytes(echo_request);
    echo_request_to_reply(std::span(ping).first(8));
    const auto r = IcmpRepr::parse(ping);
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::echo_reply);
    CHECK(std::equal(ping.begin() + 4, ping.end(), echo_request.begin() + 4));
    CHECK(ping == to_bytes(echo_reply));  // the capture's own reply, byte for byte
}
