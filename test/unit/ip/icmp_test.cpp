#include <catch2/catch.hpp>

#include <map>
#include <vector>

#include "ip/ipv4_layer.hpp"
#include "unit/iface/forge.hpp"

using pollux::buf::PacketBuf;
using pollux::ip::Ipv4Config;
using pollux::time::Duration;
using pollux::wire::IcmpRepr;
using pollux::wire::IcmpType;
using pollux::wire::IpProtocol;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Repr;
using pollux::wire::MacAddress;
using pollux::wire::UnreachableCode;
using namespace pollux::test::forge;

namespace {

constexpr std::uint8_t icmp_proto = 1;
constexpr std::uint8_t udp = 17;
constexpr std::uint8_t unassigned_proto = 253;

const Ipv4Address our_ip = IpStack::our_ip;
const Ipv4Address peer_ip = IpStack::peer_ip;

Bytes echo_request(std::uint16_t ident, std::uint16_t seq, const Bytes& data, Ipv4Address dst = our_ip) {
    return ipv4(ipv4_header(peer_ip, dst, icmp_proto), icmp_echo(IcmpType::echo_request, ident, seq, data));
}

// Checks that `d` is the echo reply to (ident, seq, data) from us to the peer.
void check_echo_reply(const Datagram& d, std::uint16_t ident, std::uint16_t seq, const Bytes& data) {
    CHECK(d.ip.src == our_ip);
    CHECK(d.ip.dst == peer_ip);
    CHECK(d.ip.protocol == IpProtocol::icmp);
    CHECK(pollux::wire::checksum_verifies(d.payload()));
    const auto r = IcmpRepr::parse(d.payload());
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::echo_reply);
    CHECK(r->code == 0);
    CHECK(r->echo_ident == ident);
    CHECK(r->echo_seq == seq);
    CHECK(Bytes(r->data.begin(), r->data.end()) == data);
}

// A UDP-like datagram we sent to the peer (the quote of an error about it).
Bytes our_udp_datagram(std::size_t len = 40) {
    Bytes body = pattern(len, 11);
    return ipv4(ipv4_header(our_ip, peer_ip, udp, 0x5151), body);
}

std::uint64_t sent_errors(IpStack& s) {
    return s.icmp().out_dest_unreachs.get() + s.icmp().out_time_excds.get();
}

}  // namespace

TEST_CASE("ICMP: an echo request gets an echo reply with the same identifier, sequence and data", "[icmp]") {
    const unsigned before = pool_in_use();
    {
        IpStack s;
        const Bytes data = pattern(56, 1);
        Bytes req = echo_request(0x1d2c, 7, data);
        req[1] = 0x20;  // TOS, carried over to the reply
        fix_ipv4_checksum(req);
        s.receive(req);
        const auto out = s.sent();
        REQUIRE(out.size() == 1);
        check_echo_reply(out[0], 0x1d2c, 7, data);
        CHECK(out[0].ip.tos == 0x20);
        CHECK(out[0].ip.ttl == 64);
        // Golden ICMP header: type 0, code 0, then a checksum equal to a fresh computation.
        const Bytes expect = icmp_echo(IcmpType::echo_reply, 0x1d2c, 7, data);
        CHECK(Bytes(out[0].payload().begin(), out[0].payload().end()) == expect);
        CHECK(s.icmp().in_msgs.get() == 1);
        CHECK(s.icmp().in_echos.get() == 1);
        CHECK(s.icmp().out_echo_reps.get() == 1);
        CHECK(s.icmp().out_msgs.get() == 1);
        CHECK(s.c().out_requests.get() == 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ICMP: the incremental checksum update agrees with a fresh computation", "[icmp]") {
    IpStack s;
    // Answers (ident, seq, data) and checks the reply against one built from scratch: the
    // same bytes, except that a checksum a fresh computation writes as 0x0000 may come as
    // 0xffff (the same one's-complement zero, and it verifies too).
    const auto check = [&](std::uint16_t ident, std::uint16_t seq, const Bytes& data) {
        s.receive(echo_request(ident, seq, data));
        const auto out = s.sent();
        REQUIRE(out.size() == 1);
        Bytes got(out[0].payload().begin(), out[0].payload().end());
        const Bytes fresh = icmp_echo(IcmpType::echo_reply, ident, seq, data);
        REQUIRE(pollux::wire::checksum_verifies(got));
        const std::uint16_t sum = pollux::wire::load_be16(&got[2]);
        const std::uint16_t fresh_sum = pollux::wire::load_be16(&fresh[2]);
        CHECK((sum == fresh_sum || (fresh_sum == 0 && sum == 0xffff)));
        got[2] = fresh[2];
        got[3] = fresh[3];
        REQUIRE(got == fresh);
        return sum;
    };
    // 600 requests whose checksums spread over the 16-bit range, so the +0x0800 of the type
    // change (8 -> 0) wraps around for some and not for others.
    for (std::uint16_t ident = 0; ident < 600; ++ident) {
        const Bytes data = {static_cast<std::uint8_t>(ident * 7), static_cast<std::uint8_t>(ident >> 1)};
        check(ident, static_cast<std::uint16_t>(0xf7ff - ident * 97), data);
    }
    // An all-zero reply (identifier, sequence and data 0): its checksum must be 0xffff, the
    // only value that verifies (RFC 1624's eqn. 3 alone would give 0x0000).
    CHECK(check(0, 0, Bytes(16, 0)) == 0xffff);
    // A reply whose words sum to 0xffff: a fresh computation writes 0x0000.
    check(0x1234, 0xedcb, Bytes{});
    CHECK(s.icmp().out_echo_reps.get() == 602);
}

TEST_CASE("ICMP: a chained echo request with odd-length segments is answered correctly", "[icmp]") {
    const unsigned before = pool_in_use();
    {
        IpStack s;
        const Bytes data = pattern(1001, 2);
        const Bytes frame = ipv4_frame(IpStack::our_mac, IpStack::peer_mac, echo_request(0x0101, 99, data));
        // Ethernet + IP + ICMP header + 3 data bytes in the first segment, then odd pieces.
        s.receive_frame(chained(frame, {14 + 20 + 8 + 3, 333, 7, 1, 250}));
        const auto out = s.sent();
        REQUIRE(out.size() == 1);
        check_echo_reply(out[0], 0x0101, 99, data);
        CHECK(s.icmp().in_csum_errors.get() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ICMP: an 8000-byte echo arrives in fragments and is answered in fragments", "[icmp]") {
    const unsigned before = pool_in_use();
    {
        IpStack s;
        const Bytes data = pattern(8000, 3);
        const Bytes msg = icmp_echo(IcmpType::echo_request, 0xbeef, 3, data);
        auto frags = fragments(ipv4_header(peer_ip, our_ip, icmp_proto, 0x0c0c), msg, 1480);
        REQUIRE(frags.size() == 6);
        for (std::size_t i : {5u, 1u, 0u, 4u, 2u, 3u}) s.receive(frags[i]);
        const auto out = s.sent();
        REQUIRE(out.size() == 6);
        std::map<std::uint16_t, const Datagram*> by_offset;
        for (const Datagram& d : out) {
            CHECK(d.ip.src == our_ip);
            CHECK(d.ip.dst == peer_ip);
            CHECK(d.ip.protocol == IpProtocol::icmp);
            CHECK(d.ip.ident == out[0].ip.ident);
            CHECK(d.bytes.size() <= 1500);
            by_offset[d.ip.frag_offset] = &d;
        }
        Bytes reply;
        for (const auto& [off, d] : by_offset) {
            REQUIRE(off == reply.size());
            CHECK(d->ip.more_fragments == (off + d->ip.payload_len < msg.size()));
            reply.insert(reply.end(), d->payload().begin(), d->payload().end());
        }
        REQUIRE(reply.size() == msg.size());
        CHECK(pollux::wire::checksum_verifies(reply));
        const auto r = IcmpRepr::parse(reply);
        REQUIRE(r.ok());
        CHECK(r->type == IcmpType::echo_reply);
        CHECK(r->echo_ident == 0xbeef);
        CHECK(r->echo_seq == 3);
        CHECK(Bytes(r->data.begin(), r->data.end()) == data);
        CHECK(s.c().frag_creates.get() == 6);
        CHECK(s.ipv4.reassembly_counters().oks.get() == 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ICMP: echoes to a broadcast address are ignored and counted", "[icmp]") {
    IpStack s;
    s.receive(echo_request(1, 1, pattern(8, 1), Ipv4Address::broadcast()), MacAddress::broadcast());
    s.receive(echo_request(1, 2, pattern(8, 1), ip(0, 255)), MacAddress::broadcast());
    CHECK(s.sink.frames.empty());
    CHECK(s.icmp().in_echos.get() == 2);
    CHECK(s.icmp().in_echo_broadcast_ignored.get() == 2);
    CHECK(s.icmp().out_echo_reps.get() == 0);
}

TEST_CASE("ICMP: bad checksums, truncated messages and unknown types are counted, not answered", "[icmp]") {
    IpStack s;
    Bytes bad = echo_request(1, 1, pattern(20, 1));
    bad[20 + 8] ^= 0x40;  // a data byte: the ICMP checksum no longer verifies
    s.receive(bad);
    CHECK(s.icmp().in_csum_errors.get() == 1);

    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), Bytes{8, 0, 0xf7, 0xff}));  // 4 bytes
    CHECK(s.icmp().in_errors.get() == 1);

    // Timestamp request (type 13): not handled.
    Bytes ts(20, 0);
    ts[0] = 13;
    pollux::wire::store_be16(&ts[2], pollux::wire::internet_checksum(ts));
    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), ts));
    CHECK(s.icmp().in_unsupported.get() == 1);

    CHECK(s.icmp().in_msgs.get() == 3);
    CHECK(s.icmp().in_echos.get() == 0);
    CHECK(s.sink.frames.empty());
}

TEST_CASE("ICMP: an echo reply is counted and goes nowhere", "[icmp]") {
    IpStack s;
    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), icmp_echo(IcmpType::echo_reply, 5, 6, pattern(8, 1))));
    CHECK(s.icmp().in_echo_reps.get() == 1);
    CHECK(s.sink.frames.empty());
}

TEST_CASE("ICMP: errors reach the transport that sent the quoted datagram", "[icmp]") {
    IpStack s;
    CaptureTransport udp_handler;
    CaptureTransport tcp_handler;
    s.ipv4.set_transport(IpProtocol::udp, &udp_handler);
    s.ipv4.set_transport(IpProtocol::tcp, &tcp_handler);
    const Bytes quoted = our_udp_datagram();

    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto),
                   icmp_error(IcmpType::dest_unreachable, 4, quoted, 1400)));
    REQUIRE(udp_handler.errors.size() == 1);
    const auto& e = udp_handler.errors[0];
    CHECK(e.type == IcmpType::dest_unreachable);
    CHECK(e.code == 4);
    CHECK(e.mtu == 1400);
    CHECK(e.quoted_ip.src == our_ip);
    CHECK(e.quoted_ip.dst == peer_ip);
    CHECK(e.quoted_ip.ident == 0x5151);
    CHECK(e.quoted_transport == Bytes(quoted.begin() + 20, quoted.end()));
    CHECK(s.icmp().in_dest_unreachs.get() == 1);

    // Port unreachable: no MTU; time exceeded and parameter problem too.
    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), icmp_error(IcmpType::dest_unreachable, 3, quoted)));
    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), icmp_error(IcmpType::time_exceeded, 0, quoted)));
    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), icmp_error(IcmpType::parameter_problem, 0, quoted)));
    REQUIRE(udp_handler.errors.size() == 4);
    CHECK(udp_handler.errors[1].code == 3);
    CHECK(udp_handler.errors[1].mtu == 0);
    CHECK(udp_handler.errors[2].type == IcmpType::time_exceeded);
    CHECK(udp_handler.errors[3].type == IcmpType::parameter_problem);
    CHECK(s.icmp().in_time_excds.get() == 1);
    CHECK(s.icmp().in_parm_probs.get() == 1);
    CHECK(tcp_handler.errors.empty());

    // An error quoting only 4 bytes past the header cannot be matched: counted.
    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto),
                   icmp_error(IcmpType::dest_unreachable, 3, std::span(quoted).first(24))));
    CHECK(s.icmp().in_errors.get() == 1);
    CHECK(udp_handler.errors.size() == 4);
    // Quoting a protocol nobody registered: dropped quietly.
    s.receive(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto),
                   icmp_error(IcmpType::dest_unreachable, 3, ipv4(ipv4_header(our_ip, peer_ip, unassigned_proto),
                                                                     pattern(8, 1)))));
    CHECK(udp_handler.errors.size() == 4);
    CHECK(tcp_handler.errors.empty());
    CHECK(s.sink.frames.empty());  // never an error about an error
}

TEST_CASE("ICMP send_error: quotes at most 576 bytes of datagram and carries the MTU", "[icmp]") {
    IpStack s;
    const Bytes big = ipv4(ipv4_header(peer_ip, our_ip, udp), pattern(1000, 8));
    const auto ip = Ipv4Repr::parse(big);
    REQUIRE(ip.ok());
    s.ipv4.icmp().send_error(IcmpType::dest_unreachable, static_cast<std::uint8_t>(UnreachableCode::frag_needed),
                             packet(big), *ip, false, s.clock.now(), 1280);
    const auto out = s.sent();
    REQUIRE(out.size() == 1);
    CHECK(out[0].bytes.size() == 576);  // RFC 1812 §4.3.2.3: the whole error datagram
    CHECK(out[0].ip.dst == peer_ip);
    CHECK(out[0].ip.src == our_ip);
    const auto r = IcmpRepr::parse(out[0].payload());
    REQUIRE(r.ok());
    CHECK(r->type == IcmpType::dest_unreachable);
    CHECK(r->code == 4);
    CHECK(r->next_hop_mtu == 1280);
    REQUIRE(r->data.size() == 576 - 20 - 8);
    CHECK(Bytes(r->data.begin(), r->data.end()) == Bytes(big.begin(), big.begin() + 548));
    CHECK(s.icmp().out_dest_unreachs.get() == 1);
}

TEST_CASE("ICMP send_error: the RFC 1122 §3.2.2 cases that must not be answered", "[icmp]") {
    IpStack s;
    const auto send_about = [&](const Bytes& d, bool to_broadcast = false) {
        const auto ip = Ipv4Repr::parse(d);
        REQUIRE(ip.ok());
        s.ipv4.icmp().send_error(IcmpType::dest_unreachable, 3, packet(d), *ip, to_broadcast, s.clock.now());
    };
    const Bytes about_error =
        ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), icmp_error(IcmpType::dest_unreachable, 3, our_udp_datagram()));
    send_about(about_error);
    CHECK(s.sink.frames.empty());

    Ipv4Repr frag = ipv4_header(peer_ip, our_ip, udp);
    frag.frag_offset = 1480;
    send_about(ipv4(frag, pattern(40, 1)));
    CHECK(s.sink.frames.empty());

    send_about(ipv4(ipv4_header(peer_ip, ip(0, 255), udp), pattern(40, 1)), true);
    send_about(ipv4(ipv4_header(peer_ip, Ipv4Address(224, 0, 0, 9), udp), pattern(40, 1)));
    CHECK(s.sink.frames.empty());

    // Sources that are not one host: zero, limited broadcast, multicast, loopback, class E,
    // the subnet's broadcast.
    for (const Ipv4Address src : {Ipv4Address::any(), Ipv4Address::broadcast(), Ipv4Address(224, 0, 0, 1),
                                  Ipv4Address(127, 0, 0, 1), Ipv4Address(240, 0, 0, 5), ip(0, 255)}) {
        send_about(ipv4(ipv4_header(src, our_ip, udp), pattern(40, 1)));
    }
    CHECK(s.sink.frames.empty());
    CHECK(sent_errors(s) == 0);
    CHECK(s.icmp().out_rate_limited.get() == 0);

    // What may be answered: an echo request (ICMP, but not an error), a first fragment.
    send_about(ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), icmp_echo(IcmpType::echo_request, 1, 1, pattern(8, 1))));
    frag.frag_offset = 0;
    frag.more_fragments = true;
    send_about(ipv4(frag, pattern(40, 1)));
    CHECK(s.sent().size() == 2);
    CHECK(sent_errors(s) == 2);
}

TEST_CASE("ICMP send_error: a burst to one destination is cut to 6, then 1 a second", "[icmp]") {
    IpStack s;
    const Bytes d = ipv4(ipv4_header(peer_ip, our_ip, unassigned_proto), pattern(20, 1));
    for (int i = 0; i < 20; ++i) s.receive(d);
    CHECK(s.sent().size() == 6);
    CHECK(s.icmp().out_rate_limited.get() == 14);
    CHECK(s.c().in_unknown_protos.get() == 20);
    s.clock.advance(Duration::from_ms(999));
    s.receive(d);
    CHECK(s.sent().empty());
    s.clock.advance(Duration::from_ms(1));
    s.receive(d);
    s.receive(d);
    CHECK(s.sent().size() == 1);
    CHECK(s.icmp().out_rate_limited.get() == 16);
}
