#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <vector>

#include <rte_mbuf.h>

#include "ip/ipv4_layer.hpp"
#include "unit/iface/forge.hpp"

using pollux::buf::PacketBuf;
using pollux::ip::Ipv4Config;
using pollux::ip::OutputResult;
using pollux::time::Duration;
using pollux::wire::IcmpType;
using pollux::wire::IpProtocol;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Repr;
using pollux::wire::MacAddress;
using namespace pollux::test::forge;

namespace {

constexpr std::uint8_t udp = 17;
constexpr std::uint8_t unassigned_proto = 253;  // RFC 3692 experimentation: no handler

const Ipv4Address our_ip = IpStack::our_ip;
const Ipv4Address peer_ip = IpStack::peer_ip;

Bytes from_peer(std::size_t payload_len, std::uint8_t protocol = udp, std::uint32_t seed = 1) {
    return ipv4(ipv4_header(peer_ip, our_ip, protocol), pattern(payload_len, seed));
}

// The sum of the IPv4 input drop counters: each check must move exactly one.
std::uint64_t input_drops(const pollux::ip::Ipv4Counters& c) {
    return c.in_hdr_errors.get() + c.in_truncated_pkts.get() + c.in_csum_errors.get() + c.in_addr_errors.get() +
           c.in_martian_source.get() + c.in_unknown_protos.get() + c.in_discards.get();
}

// A payload packet with room in front for the IPv4 and Ethernet headers.
PacketBuf payload(std::size_t n, std::uint32_t seed = 3) { return packet(pattern(n, seed)); }

// Puts fragments (any order) back together: the payload bytes by offset.
Bytes reassemble(const std::vector<Datagram>& frags) {
    std::map<std::uint16_t, const Datagram*> by_offset;
    for (const Datagram& d : frags) by_offset[d.ip.frag_offset] = &d;
    Bytes out;
    for (const auto& [off, d] : by_offset) {
        REQUIRE(off == out.size());
        out.insert(out.end(), d->payload().begin(), d->payload().end());
    }
    return out;
}

}  // namespace

TEST_CASE("IPv4 input: a datagram for us reaches its transport with its exact length", "[ip]") {
    IpStack s;
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    const Bytes d = from_peer(100);
    s.receive(d);
    REQUIRE(t.packets.size() == 1);
    CHECK(t.packets[0] == d);  // from the IPv4 header on, nothing more
    CHECK(t.headers[0].src == peer_ip);
    CHECK(t.headers[0].dst == our_ip);
    CHECK(t.headers[0].payload_len == 100);
    CHECK(s.c().in_receives.get() == 1);
    CHECK(s.c().in_delivers.get() == 1);
    CHECK(input_drops(s.c()) == 0);
    CHECK(s.sink.frames.empty());
}

TEST_CASE("IPv4 input: link padding is trimmed before delivery", "[ip]") {
    IpStack s;
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    const Bytes d = from_peer(6);  // 26 bytes in a 60-byte frame: 20 bytes of padding
    s.receive(d);
    REQUIRE(t.packets.size() == 1);
    CHECK(t.lengths[0] == 26);
    CHECK(t.packets[0] == d);
}

TEST_CASE("IPv4 input: broadcast destinations are delivered, other hosts' are not", "[ip]") {
    IpStack s;
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    s.receive(ipv4(ipv4_header(peer_ip, Ipv4Address::broadcast(), udp), pattern(8, 1)), MacAddress::broadcast());
    s.receive(ipv4(ipv4_header(peer_ip, ip(0, 255), udp), pattern(8, 1)), MacAddress::broadcast());
    CHECK(t.packets.size() == 2);
    // Unicast to a neighbour's IP (a frame sent to our MAC anyway), and to a group.
    s.receive(ipv4(ipv4_header(peer_ip, ip(0, 3), udp), pattern(8, 1)));
    s.receive(ipv4(ipv4_header(peer_ip, Ipv4Address(224, 0, 0, 1), udp), pattern(8, 1)), MacAddress::broadcast());
    CHECK(t.packets.size() == 2);
    CHECK(s.c().in_addr_errors.get() == 2);
    CHECK(input_drops(s.c()) == 2);
    CHECK(s.sink.frames.empty());  // never an ICMP error for these
}

TEST_CASE("IPv4 input: each malformed header is dropped and counted", "[ip]") {
    IpStack s;
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    Bytes d = from_peer(40);
    SECTION("version 6") {
        d[0] = 0x65;
        fix_ipv4_checksum(d);
        s.receive(d);
        CHECK(s.c().in_hdr_errors.get() == 1);
    }
    SECTION("IHL 4") {
        d[0] = 0x44;
        pollux::wire::store_be16(&d[10], 0);
        pollux::wire::store_be16(&d[10], pollux::wire::internet_checksum(std::span(d).first(20)));
        s.receive(d);
        CHECK(s.c().in_hdr_errors.get() == 1);
    }
    SECTION("IHL 15 (60 bytes) and a total length of 40") {
        d[0] = 0x4f;
        pollux::wire::store_be16(&d[2], 40);
        d.resize(40);
        d.resize(60, 0);  // what the header claims as options, zero
        fix_ipv4_checksum(d);
        s.receive(d);
        CHECK(s.c().in_hdr_errors.get() == 1);
    }
    SECTION("total length below the header length") {
        pollux::wire::store_be16(&d[2], 19);
        fix_ipv4_checksum(d);
        s.receive(d);
        CHECK(s.c().in_hdr_errors.get() == 1);
    }
    SECTION("total length beyond the frame") {
        pollux::wire::store_be16(&d[2], static_cast<std::uint16_t>(d.size() + 100));
        fix_ipv4_checksum(d);
        s.receive(d);
        CHECK(s.c().in_truncated_pkts.get() == 1);
    }
    SECTION("a frame too short for any header") {
        s.receive_frame(ethernet(IpStack::our_mac, IpStack::peer_mac, pollux::wire::EtherType::ipv4, Bytes(10, 0x45)));
        CHECK(s.c().in_hdr_errors.get() == 1);
    }
    SECTION("bad header checksum") {
        d[8] ^= 0x01;  // TTL changed, checksum not
        s.receive(d);
        CHECK(s.c().in_csum_errors.get() == 1);
    }
    CHECK(s.c().in_receives.get() == 1);
    CHECK(input_drops(s.c()) == 1);
    CHECK(t.packets.empty());
    CHECK(s.sink.frames.empty());
}

TEST_CASE("IPv4 input: the port's checksum verdict is trusted both ways", "[ip]") {
    IpStack s;
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    Bytes broken = from_peer(40);
    broken[8] ^= 0x01;  // a wrong checksum the port said was fine: not re-verified
    PacketBuf f = packet(ipv4_frame(IpStack::our_mac, IpStack::peer_mac, broken));
    f.get()->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    s.receive_frame(std::move(f));
    CHECK(t.packets.size() == 1);
    CHECK(s.c().in_csum_errors.get() == 0);

    PacketBuf g = packet(ipv4_frame(IpStack::our_mac, IpStack::peer_mac, from_peer(40)));
    g.get()->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;  // the port found it bad: dropped
    s.receive_frame(std::move(g));
    CHECK(t.packets.size() == 1);
    CHECK(s.c().in_csum_errors.get() == 1);

    Bytes also_broken = from_peer(40);
    also_broken[8] ^= 0x01;
    PacketBuf h = packet(ipv4_frame(IpStack::our_mac, IpStack::peer_mac, also_broken));
    h.get()->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_NONE;  // not checked by the port: software verifies
    s.receive_frame(std::move(h));
    CHECK(t.packets.size() == 1);
    CHECK(s.c().in_csum_errors.get() == 2);
}

TEST_CASE("IPv4 input: martian sources are dropped", "[ip]") {
    IpStack s;
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    const Ipv4Address martians[] = {
        Ipv4Address::any(), Ipv4Address::broadcast(), Ipv4Address(224, 0, 0, 1), Ipv4Address(127, 0, 0, 1),
        our_ip,             ip(0, 255),
    };
    for (const Ipv4Address src : martians) {
        s.receive(ipv4(ipv4_header(src, our_ip, udp), pattern(8, 1)));
    }
    CHECK(s.c().in_martian_source.get() == std::size(martians));
    CHECK(input_drops(s.c()) == std::size(martians));
    CHECK(t.packets.empty());
    CHECK(s.sink.frames.empty());
}

TEST_CASE("IPv4 input: an unknown protocol earns a protocol unreachable, unless broadcast", "[ip][icmp]") {
    IpStack s;
    const Bytes d = from_peer(30, unassigned_proto);
    s.receive(d);
    CHECK(s.c().in_unknown_protos.get() == 1);
    CHECK(s.c().in_delivers.get() == 0);
    auto out = s.sent();
    REQUIRE(out.size() == 1);
    const Datagram& e = out[0];
    CHECK(e.ip.src == our_ip);
    CHECK(e.ip.dst == peer_ip);
    CHECK(e.ip.protocol == IpProtocol::icmp);
    const auto icmp = pollux::wire::IcmpRepr::parse(e.payload());  // checksum verified
    REQUIRE(icmp.ok());
    CHECK(icmp->type == IcmpType::dest_unreachable);
    CHECK(icmp->code == 2);
    CHECK(Bytes(icmp->data.begin(), icmp->data.end()) == d);  // the whole datagram quoted
    CHECK(s.icmp().out_dest_unreachs.get() == 1);

    s.receive(ipv4(ipv4_header(peer_ip, Ipv4Address::broadcast(), unassigned_proto), pattern(30, 1)),
              MacAddress::broadcast());
    s.receive(ipv4(ipv4_header(peer_ip, ip(0, 255), unassigned_proto), pattern(30, 1)), MacAddress::broadcast());
    CHECK(s.c().in_unknown_protos.get() == 3);
    CHECK(s.sent().empty());

    // A unicast datagram in a link-layer broadcast frame earns no error either (RFC 1122
    // §3.2.2: "a datagram sent as a link-layer broadcast").
    s.receive(from_peer(30, unassigned_proto), MacAddress::broadcast());
    CHECK(s.c().in_unknown_protos.get() == 4);
    CHECK(s.sent().empty());
}

TEST_CASE("IPv4 input: fragments are reassembled and delivered once, whole", "[ip]") {
    const unsigned before = pool_in_use();
    {
        IpStack s;
        CaptureTransport t;
        s.ipv4.set_transport(IpProtocol::udp, &t);
        const Bytes body = pattern(3000, 9);
        Ipv4Repr h = ipv4_header(peer_ip, our_ip, udp, 0x4242);
        auto frags = fragments(h, body, 1480);
        REQUIRE(frags.size() == 3);
        s.receive(frags[2]);
        s.receive(frags[0]);
        CHECK(t.packets.empty());
        s.receive(frags[1]);
        REQUIRE(t.packets.size() == 1);
        CHECK(t.lengths[0] == 3020);
        CHECK(t.headers[0].payload_len == 3000);
        CHECK_FALSE(t.headers[0].is_fragment());
        CHECK(Bytes(t.packets[0].begin() + 20, t.packets[0].end()) == body);
        CHECK(s.c().in_receives.get() == 3);
        CHECK(s.c().in_delivers.get() == 1);
        CHECK(s.ipv4.reassembly_counters().oks.get() == 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("IPv4 output: the header says what was asked, with a fresh ident each time", "[ip]") {
    Ipv4Config cfg;
    cfg.first_ident = 0xfffe;
    IpStack s(cfg);
    Ipv4Repr h;
    h.dst = peer_ip;
    h.protocol = IpProtocol::udp;
    h.ttl = 33;
    h.tos = 0x10;
    const Bytes body = pattern(100, 3);
    REQUIRE(s.ipv4.output(payload(100), h, s.clock.now()) == OutputResult::ok);
    REQUIRE(s.ipv4.output(payload(100), h, s.clock.now()) == OutputResult::ok);
    REQUIRE(s.ipv4.output(payload(100), h, s.clock.now()) == OutputResult::ok);
    const auto out = s.sent();
    REQUIRE(out.size() == 3);
    const Datagram& d = out[0];
    CHECK(d.ip.src == our_ip);
    CHECK(d.ip.dst == peer_ip);
    CHECK(d.ip.protocol == IpProtocol::udp);
    CHECK(d.ip.ttl == 33);
    CHECK(d.ip.tos == 0x10);
    CHECK(d.ip.header_len == 20);
    CHECK(d.ip.payload_len == 100);
    CHECK_FALSE(d.ip.dont_fragment);
    CHECK_FALSE(d.ip.is_fragment());
    CHECK(Bytes(d.payload().begin(), d.payload().end()) == body);
    CHECK(out[0].ip.ident == 0xfffe);
    CHECK(out[1].ip.ident == 0xffff);
    CHECK(out[2].ip.ident == 0x0000);
    CHECK(s.c().out_requests.get() == 3);
    CHECK(s.sink.frames.empty());

    // An explicit source is kept, and DF is carried.
    h.src = ip(0, 1);
    h.dont_fragment = true;
    REQUIRE(s.ipv4.output(payload(10), h, s.clock.now()) == OutputResult::ok);
    const auto df = s.sent();
    REQUIRE(df.size() == 1);
    CHECK(df[0].ip.dont_fragment);
    CHECK(df[0].ip.ident == 0x0001);
}

TEST_CASE("IPv4 output: with header checksum offload the field is left for the port", "[ip]") {
    Ipv4Config cfg;
    cfg.offload_header_checksum = true;
    IpStack s(cfg);
    Ipv4Repr h;
    h.dst = peer_ip;
    h.protocol = IpProtocol::udp;
    REQUIRE(s.ipv4.output(payload(50), h, s.clock.now()) == OutputResult::ok);
    REQUIRE(s.sink.frames.size() == 1);
    const PacketBuf& f = s.sink.frames[0];
    CHECK((f.offload_flags() & RTE_MBUF_F_TX_IP_CKSUM) != 0);
    CHECK((f.offload_flags() & RTE_MBUF_F_TX_IPV4) != 0);
    CHECK(f.l2_len() == 14);
    CHECK(f.l3_len() == 20);
    const Bytes b = contents(f);
    CHECK(b[14 + 10] == 0);
    CHECK(b[14 + 11] == 0);
}

TEST_CASE("IPv4 output: too big with DF set is refused; without DF it is fragmented", "[ip]") {
    const unsigned before = pool_in_use();
    {
        IpStack s;
        Ipv4Repr h;
        h.dst = peer_ip;
        h.protocol = IpProtocol::udp;
        h.dont_fragment = true;
        CHECK(s.ipv4.output(payload(1481), h, s.clock.now()) == OutputResult::too_big);
        CHECK(s.c().frag_fails.get() == 1);
        CHECK(s.sink.frames.empty());
        // Exactly the MTU still goes out whole.
        CHECK(s.ipv4.output(payload(1480), h, s.clock.now()) == OutputResult::ok);
        auto out = s.sent();
        REQUIRE(out.size() == 1);
        CHECK(out[0].ip.total_len() == 1500);

        h.dont_fragment = false;
        const Bytes body = pattern(3000, 5);
        CHECK(s.ipv4.output(payload(3000, 5), h, s.clock.now()) == OutputResult::ok);
        out = s.sent();
        REQUIRE(out.size() == 3);
        CHECK(out[0].bytes.size() == 1500);
        CHECK(out[1].bytes.size() == 1500);
        CHECK(out[2].bytes.size() == 60);
        CHECK(out[0].ip.frag_offset == 0);
        CHECK(out[1].ip.frag_offset == 1480);
        CHECK(out[2].ip.frag_offset == 2960);
        CHECK(out[0].ip.more_fragments);
        CHECK(out[1].ip.more_fragments);
        CHECK_FALSE(out[2].ip.more_fragments);
        CHECK(out[0].ip.ident == out[2].ip.ident);
        CHECK(out[0].ip.dst == peer_ip);
        CHECK(reassemble(out) == body);
        CHECK(s.c().frag_oks.get() == 1);
        CHECK(s.c().frag_creates.get() == 3);
        CHECK(s.c().frag_fails.get() == 1);
        s.sink.frames.clear();
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("IPv4 output: no route, and the packet is freed", "[ip]") {
    const unsigned before = pool_in_use();
    {
        IpStack s(Ipv4Config{}, false);
        Ipv4Repr h;
        h.dst = Ipv4Address(198, 19, 0, 1);
        h.protocol = IpProtocol::udp;
        CHECK(s.ipv4.output(payload(10), h, s.clock.now()) == OutputResult::no_route);
        CHECK(s.c().out_no_routes.get() == 1);
        CHECK(s.sink.frames.empty());
        // Broadcast needs no route.
        h.dst = Ipv4Address::broadcast();
        CHECK(s.ipv4.output(payload(10), h, s.clock.now()) == OutputResult::ok);
        const auto out = s.sent();
        REQUIRE(out.size() == 1);
        CHECK(out[0].ip.dst == Ipv4Address::broadcast());
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("IPv4: a datagram whose reassembly times out earns a time exceeded, once", "[ip][icmp]") {
    const unsigned before = pool_in_use();
    {
        IpStack s;
        const Bytes body = pattern(2000, 4);
        auto frags = fragments(ipv4_header(peer_ip, our_ip, udp, 0x0707), body, 1480);
        s.receive(frags[0]);  // the last never comes
        // Another datagram of which only a later fragment came: no error (RFC 792).
        auto other = fragments(ipv4_header(peer_ip, our_ip, udp, 0x0808), body, 1480);
        s.receive(other[1]);
        s.clock.advance(Duration::from_s(29));
        s.ipv4.on_timer(s.clock.now());
        CHECK(s.sink.frames.empty());
        s.clock.advance(Duration::from_s(1));
        s.ipv4.on_timer(s.clock.now());
        const auto out = s.sent();
        REQUIRE(out.size() == 1);
        const auto icmp = pollux::wire::IcmpRepr::parse(out[0].payload());
        REQUIRE(icmp.ok());
        CHECK(icmp->type == IcmpType::time_exceeded);
        CHECK(icmp->code == 1);
        const auto q = icmp->quoted();
        REQUIRE(q.ok());
        CHECK(q->ip.ident == 0x0707);
        CHECK(q->ip.more_fragments);
        CHECK(s.icmp().out_time_excds.get() == 1);
        CHECK(s.ipv4.reassembly_counters().timeouts.get() == 2);
    }
    CHECK(pool_in_use() == before);
}
