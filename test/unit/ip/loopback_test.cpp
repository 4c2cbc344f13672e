// Loopback (datagrams to our own address and to 127.0.0.0/8, as Linux's lo carries them),
// the raw-socket delivery hook, and IP_HDRINCL output.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "ip/ipv4_layer.hpp"
#include "unit/iface/forge.hpp"

using pollux::buf::PacketBuf;
using pollux::buf::RxChecksum;
using pollux::ip::Arrival;
using pollux::ip::Ipv4Config;
using pollux::ip::Ipv4Layer;
using pollux::ip::OutputResult;
using pollux::time::Instant;
using pollux::wire::IcmpRepr;
using pollux::wire::IcmpType;
using pollux::wire::IpProtocol;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Repr;
using pollux::wire::UnreachableCode;
using namespace pollux::test::forge;

namespace {

constexpr std::uint8_t icmp_proto = 1;
constexpr std::uint8_t udp = 17;
constexpr std::uint8_t unassigned_proto = 253;  // RFC 3692 experimentation: no handler

const Ipv4Address our_ip = IpStack::our_ip;
const Ipv4Address peer_ip = IpStack::peer_ip;
const Ipv4Address lo1(127, 0, 0, 1);
const Ipv4Address lo5(127, 0, 0, 5);

Ipv4Repr to(Ipv4Address dst, std::uint8_t protocol = udp) {
    Ipv4Repr h;
    h.dst = dst;
    h.protocol = static_cast<IpProtocol>(protocol);
    return h;
}

std::uint64_t input_drops(const pollux::ip::Ipv4Counters& c) {
    return c.in_hdr_errors.get() + c.in_truncated_pkts.get() + c.in_csum_errors.get() + c.in_addr_errors.get() +
           c.in_martian_source.get() + c.in_unknown_protos.get() + c.in_discards.get();
}

// The bytes after a 20-byte header.
Bytes after_header(const Bytes& datagram) { return Bytes(datagram.begin() + 20, datagram.end()); }

// A packet of `bytes` in as many mbufs as they need, built in the tests' thread only.
PacketBuf chain_of(const Bytes& bytes) {
    PacketBuf p = PacketBuf::alloc(pollux::test::mbuf_pool());
    REQUIRE(p);
    REQUIRE(p.append_copy(bytes, pollux::test::mbuf_pool()));
    return p;
}

// Records what a transport would see, offload metadata included.
class VerdictTransport final : public pollux::ip::TransportHandler {
public:
    void input(PacketBuf&& packet, const Ipv4Repr& ip, Instant) noexcept override {
        headers.push_back(ip);
        ip_verdicts.push_back(packet.rx_ip_checksum());
        l4_verdicts.push_back(packet.rx_l4_checksum());
        flags.push_back(packet.offload_flags());
        packets.push_back(contents(packet));
    }
    void icmp_error(const IcmpRepr&, const IcmpRepr::Quoted&, Instant) noexcept override {}
    std::vector<Ipv4Repr> headers;
    std::vector<RxChecksum> ip_verdicts;
    std::vector<RxChecksum> l4_verdicts;
    std::vector<std::uint64_t> flags;
    std::vector<Bytes> packets;
};

// Sends a datagram back to the source of each one it receives while `replies` lasts: an
// answer queued while process_loopback() runs.
class Echoer final : public pollux::ip::TransportHandler {
public:
    explicit Echoer(Ipv4Layer& ip) : ip_(ip) {}
    void input(PacketBuf&& packet, const Ipv4Repr& ip, Instant now) noexcept override {
        sources.push_back(ip.src);
        packets.push_back(contents(packet));
        if (replies == 0) return;
        --replies;
        PacketBuf reply = PacketBuf::alloc(pollux::test::mbuf_pool());
        const Bytes body = pattern(12, static_cast<std::uint32_t>(sources.size()));
        if (!reply || !reply.append_copy(body, pollux::test::mbuf_pool())) return;
        results.push_back(ip_.output(std::move(reply), to(ip.src), now));
    }
    void icmp_error(const IcmpRepr&, const IcmpRepr::Quoted&, Instant) noexcept override {}
    int replies = 0;
    std::vector<Ipv4Address> sources;
    std::vector<Bytes> packets;
    std::vector<OutputResult> results;

private:
    Ipv4Layer& ip_;
};

// What the UDP layer does for a port no socket holds (RFC 1122 §4.1.3.1): a port
// unreachable about the datagram. It records the ICMP errors that come back to it.
class NoSocketHere final : public pollux::ip::TransportHandler {
public:
    explicit NoSocketHere(Ipv4Layer& ip) : ip_(ip) {}
    void input(PacketBuf&& packet, const Ipv4Repr& ip, Instant now) noexcept override {
        ++inputs;
        arrivals.push_back(ip_.arrival_of(ip));
        ip_.icmp().send_error(IcmpType::dest_unreachable, static_cast<std::uint8_t>(UnreachableCode::port), packet,
                              ip, ip_.arrival_of(ip), now);
    }
    void icmp_error(const IcmpRepr& icmp, const IcmpRepr::Quoted& quoted, Instant) noexcept override {
        errors.push_back(CaptureTransport::Error{icmp.type, icmp.code, icmp.next_hop_mtu, quoted.ip,
                                                 Bytes(quoted.transport.begin(), quoted.transport.end())});
    }
    int inputs = 0;
    std::vector<Arrival> arrivals;
    std::vector<CaptureTransport::Error> errors;

private:
    Ipv4Layer& ip_;
};

// A raw socket table: records every datagram and says whether a socket took it.
class RawTap final : public pollux::ip::RawHandler {
public:
    bool raw_input(const PacketBuf& packet, const Ipv4Repr& ip, Instant) noexcept override {
        headers.push_back(ip);
        packets.push_back(contents(packet));
        return take;
    }
    bool take = true;
    std::vector<Ipv4Repr> headers;
    std::vector<Bytes> packets;
};

}  // namespace

TEST_CASE("loopback: datagrams to our address and to 127/8 arrive after process_loopback, not on the wire",
          "[ip][loopback]") {
    Ipv4Config cfg;
    cfg.first_ident = 0x7000;
    IpStack s(cfg, false);  // no gateway: loopback needs no route
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    const Bytes to_us = pattern(100, 7);
    const Bytes to_lo = pattern(33, 8);
    REQUIRE(s.ipv4.output(packet(to_us), to(our_ip), s.clock.now()) == OutputResult::ok);
    Ipv4Repr h = to(lo5);
    h.ttl = 9;
    h.tos = 0x10;
    REQUIRE(s.ipv4.output(packet(to_lo), h, s.clock.now()) == OutputResult::ok);
    CHECK(t.packets.empty());
    CHECK(s.ipv4.loopback_pending() == 2);
    CHECK(s.c().in_receives.get() == 0);

    CHECK(s.ipv4.process_loopback(s.clock.now()) == 2);
    REQUIRE(t.packets.size() == 2);
    // Linux: our address answers from itself; 127/8 from lo's 127.0.0.1.
    CHECK(t.headers[0].src == our_ip);
    CHECK(t.headers[0].dst == our_ip);
    CHECK(t.headers[0].ttl == 64);
    CHECK(t.headers[0].ident == 0x7000);
    CHECK(t.headers[0].payload_len == 100);
    CHECK(t.headers[1].src == lo1);
    CHECK(t.headers[1].dst == lo5);
    CHECK(t.headers[1].ttl == 9);
    CHECK(t.headers[1].tos == 0x10);
    CHECK(t.headers[1].ident == 0x7001);
    CHECK(t.lengths[1] == 53);
    // Complete headers whose checksum verifies, then the payload untouched.
    for (std::size_t i = 0; i < 2; ++i) {
        const auto parsed = Ipv4Repr::parse(t.packets[i]);
        REQUIRE(parsed.ok());
        CHECK(*parsed == t.headers[i]);
    }
    CHECK(after_header(t.packets[0]) == to_us);
    CHECK(after_header(t.packets[1]) == to_lo);

    CHECK(s.sink.frames.empty());
    CHECK(s.c().out_requests.get() == 2);
    CHECK(s.c().in_receives.get() == 2);
    CHECK(s.c().in_delivers.get() == 2);
    CHECK(s.c().out_no_routes.get() == 0);
    CHECK(s.c().loopback_drops.get() == 0);
    CHECK(input_drops(s.c()) == 0);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 0);
    CHECK(t.packets.size() == 2);
}

TEST_CASE("loopback: a 65535-byte datagram loops back whole over chained mbufs", "[ip][loopback]") {
    const unsigned before = pool_in_use();
    {
        IpStack s;
        CaptureTransport t;
        s.ipv4.set_transport(IpProtocol::udp, &t);
        const Bytes body = pattern(65535 - 20, 21);
        PacketBuf p = chain_of(body);
        REQUIRE(p.segment_count() > 1);
        REQUIRE(s.ipv4.output(std::move(p), to(lo1), s.clock.now()) == OutputResult::ok);
        CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
        REQUIRE(t.packets.size() == 1);
        CHECK(t.lengths[0] == 65535);
        CHECK(t.headers[0].payload_len == 65515);
        CHECK_FALSE(t.headers[0].is_fragment());
        CHECK(after_header(t.packets[0]) == body);
        CHECK(s.c().frag_oks.get() == 0);
        CHECK(s.c().frag_creates.get() == 0);
        CHECK(s.ipv4.reassembly_counters().reqds.get() == 0);

        // DF over the link MTU is no matter on loopback (MTU 65536).
        Ipv4Repr df = to(our_ip);
        df.dont_fragment = true;
        CHECK(s.ipv4.output(chain_of(pattern(3000, 2)), df, s.clock.now()) == OutputResult::ok);
        CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
        REQUIRE(t.packets.size() == 2);
        CHECK(t.headers[1].dont_fragment);
        CHECK(t.lengths[1] == 3020);

        // One byte more than any IPv4 datagram holds.
        CHECK(s.ipv4.output(chain_of(pattern(65516, 3)), to(lo1), s.clock.now()) == OutputResult::too_big);
        CHECK(s.c().out_discards.get() == 1);
        CHECK(s.ipv4.loopback_pending() == 0);
        CHECK(s.c().frag_fails.get() == 0);
        CHECK(s.sink.frames.empty());
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("loopback: a transport's checksum offload request becomes a good checksum verdict", "[ip][loopback]") {
    Ipv4Config cfg;
    cfg.offload_header_checksum = true;  // the port would do it, but no port sees loopback
    IpStack s(cfg);
    VerdictTransport v;
    s.ipv4.set_transport(IpProtocol::udp, &v);
    // A UDP header as a transport leaves it for the port: the checksum field holds only
    // the pseudo-header sum (DPDK's convention), which no receiver could verify.
    Bytes segment = pattern(40, 5);
    pollux::wire::store_be16(&segment[0], 40000);
    pollux::wire::store_be16(&segment[2], 9);
    pollux::wire::store_be16(&segment[4], 40);
    const std::uint16_t pseudo = pollux::wire::fold(pollux::wire::pseudo_header_sum(lo1, lo1, IpProtocol::udp, 40));
    pollux::wire::store_be16(&segment[6], pseudo);
    PacketBuf p = packet(segment);
    p.set_header_lengths(0, 20, 8);
    p.request_udp_checksum();
    REQUIRE(s.ipv4.output(std::move(p), to(lo1), s.clock.now()) == OutputResult::ok);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    REQUIRE(v.packets.size() == 1);
    CHECK(v.ip_verdicts[0] == RxChecksum::good);
    CHECK(v.l4_verdicts[0] == RxChecksum::good);
    CHECK((v.flags[0] & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM)) == 0);
    CHECK(after_header(v.packets[0]) == segment);
    CHECK_FALSE(pollux::wire::checksum_verifies(segment, pollux::wire::pseudo_header_sum(lo1, lo1, IpProtocol::udp, 40)));
    // The IPv4 header checksum was computed in software despite the offload setting.
    CHECK(Ipv4Repr::parse(v.packets[0]).ok());
    CHECK(s.c().in_csum_errors.get() == 0);
    CHECK(s.c().in_delivers.get() == 1);
}

TEST_CASE("loopback: the backlog holds 1000 datagrams; the 1001st is dropped and counted", "[ip][loopback]") {
    const unsigned before = pool_in_use();
    SECTION("delivered") {
        IpStack s;
        CaptureTransport t;
        s.ipv4.set_transport(IpProtocol::udp, &t);
        int ok = 0;
        for (std::uint32_t i = 0; i < 1001; ++i) {
            // Linux's loopback_xmit drops a packet the backlog refuses and reports success.
            if (s.ipv4.output(packet(pattern(16, i)), to(lo1), s.clock.now()) == OutputResult::ok) ++ok;
        }
        CHECK(ok == 1001);
        CHECK(s.c().loopback_drops.get() == 1);
        CHECK(s.ipv4.loopback_pending() == 1000);
        CHECK(pool_in_use() == before + 1000);  // the dropped one is freed at once
        int seen = 0;
        std::uint64_t reported = 0;
        s.c().visit([&](const char* name, const pollux::stats::Counter& c) {
            if (std::string(name) == "LoopbackDrops") {
                ++seen;
                reported = c.get();
            }
        });
        CHECK(seen == 1);
        CHECK(reported == 1);

        CHECK(s.ipv4.process_loopback(s.clock.now()) == 1000);
        REQUIRE(t.packets.size() == 1000);
        CHECK(after_header(t.packets.front()) == pattern(16, 0));
        CHECK(after_header(t.packets.back()) == pattern(16, 999));  // FIFO; the 1001st is gone
        CHECK(s.c().in_receives.get() == 1000);
        CHECK(pool_in_use() == before);
        // Room again.
        CHECK(s.ipv4.output(packet(pattern(16, 5)), to(lo1), s.clock.now()) == OutputResult::ok);
        CHECK(s.ipv4.loopback_pending() == 1);
        CHECK(s.c().loopback_drops.get() == 1);
    }
    SECTION("still queued when the stack goes away") {
        IpStack s;
        for (std::uint32_t i = 0; i < 1001; ++i) s.ipv4.output(packet(pattern(16, i)), to(our_ip), s.clock.now());
        CHECK(s.ipv4.loopback_pending() == 1000);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("loopback: the backlog bound is the configured one", "[ip][loopback]") {
    Ipv4Config cfg;
    cfg.loopback_backlog = 3;
    IpStack s(cfg);
    for (std::uint32_t i = 0; i < 5; ++i) s.ipv4.output(packet(pattern(8, i)), to(lo1), s.clock.now());
    CHECK(s.ipv4.loopback_pending() == 3);
    CHECK(s.c().loopback_drops.get() == 2);
}

TEST_CASE("loopback: what is queued while process_loopback runs waits for the next call", "[ip][loopback]") {
    IpStack s;
    Echoer e(s.ipv4);
    e.replies = 2;
    s.ipv4.set_transport(IpProtocol::udp, &e);
    REQUIRE(s.ipv4.output(packet(pattern(8, 1)), to(lo5), s.clock.now()) == OutputResult::ok);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    REQUIRE(e.sources.size() == 1);
    CHECK(e.sources[0] == lo1);
    REQUIRE(e.results.size() == 1);
    CHECK(e.results[0] == OutputResult::ok);
    CHECK(s.ipv4.loopback_pending() == 1);  // the answer, not yet delivered
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    REQUIRE(e.sources.size() == 2);
    CHECK(e.sources[1] == lo1);  // the answer to 127.0.0.1 comes from 127.0.0.1
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    CHECK(e.sources.size() == 3);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 0);  // replies used up
    CHECK(s.sink.frames.empty());
}

TEST_CASE("loopback: ping 127.0.0.1 is answered on the next round, seen by raw sockets", "[ip][loopback][icmp]") {
    IpStack s;
    RawTap tap;
    s.ipv4.set_raw_handler(&tap);
    const Bytes data = pattern(56, 4);
    const Bytes echo = icmp_echo(IcmpType::echo_request, 0x0b7a, 1, data);
    REQUIRE(s.ipv4.output(packet(echo), to(lo1, icmp_proto), s.clock.now()) == OutputResult::ok);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    CHECK(s.icmp().in_echos.get() == 1);
    CHECK(s.icmp().out_echo_reps.get() == 1);
    CHECK(s.icmp().in_echo_reps.get() == 0);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    CHECK(s.icmp().in_echo_reps.get() == 1);
    REQUIRE(tap.packets.size() == 2);  // the request and the reply
    CHECK(tap.headers[1].src == lo1);
    CHECK(tap.headers[1].dst == lo1);
    const Bytes message = after_header(tap.packets[1]);
    const auto reply = IcmpRepr::parse(message);  // checksum verified
    REQUIRE(reply.ok());
    CHECK(reply->type == IcmpType::echo_reply);
    CHECK(reply->echo_ident == 0x0b7a);
    CHECK(Bytes(reply->data.begin(), reply->data.end()) == data);
    CHECK(s.sink.frames.empty());
}

TEST_CASE("loopback: from the wire, 127/8 is still not ours", "[ip][loopback]") {
    IpStack s;
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    s.receive(ipv4(ipv4_header(peer_ip, lo1, udp), pattern(8, 1)));
    CHECK(s.c().in_addr_errors.get() == 1);
    s.receive(ipv4(ipv4_header(lo1, our_ip, udp), pattern(8, 1)));
    s.receive(ipv4(ipv4_header(our_ip, our_ip, udp), pattern(8, 1)));
    CHECK(s.c().in_martian_source.get() == 2);
    CHECK(input_drops(s.c()) == 3);
    CHECK(t.packets.empty());
    CHECK(s.ipv4.loopback_pending() == 0);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 0);
    CHECK(s.sink.frames.empty());
}

TEST_CASE("loopback: source selection and what counts as a loopback destination", "[ip][loopback]") {
    IpStack s;
    CHECK(s.ipv4.source_for(lo1) == lo1);
    CHECK(s.ipv4.source_for(lo5) == lo1);
    CHECK(s.ipv4.source_for(Ipv4Address(127, 255, 255, 254)) == lo1);
    CHECK(s.ipv4.source_for(our_ip) == our_ip);
    CHECK(s.ipv4.source_for(peer_ip) == our_ip);
    CHECK(s.ipv4.source_for(Ipv4Address(198, 19, 0, 1)) == our_ip);

    CHECK(s.ipv4.is_loopback_destination(our_ip));
    CHECK(s.ipv4.is_loopback_destination(lo1));
    CHECK(s.ipv4.is_loopback_destination(Ipv4Address(127, 255, 255, 255)));
    CHECK_FALSE(s.ipv4.is_loopback_destination(peer_ip));
    CHECK_FALSE(s.ipv4.is_loopback_destination(Ipv4Address::broadcast()));
    CHECK_FALSE(s.ipv4.is_loopback_destination(ip(0, 255)));
    CHECK_FALSE(s.ipv4.is_loopback_destination(Ipv4Address(128, 0, 0, 1)));

    // Broadcasts go to the wire only (Linux would also loop a copy back).
    REQUIRE(s.ipv4.output(packet(pattern(8, 1)), to(Ipv4Address::broadcast()), s.clock.now()) == OutputResult::ok);
    CHECK(s.sent().size() == 1);
    CHECK(s.ipv4.loopback_pending() == 0);

    // RFC 1122 §3.2.1.3 (g): a 127/8 source never leaves the host (Linux: EINVAL).
    Ipv4Repr h = to(peer_ip);
    h.src = lo1;
    CHECK(s.ipv4.output(packet(pattern(8, 1)), h, s.clock.now()) == OutputResult::invalid);
    CHECK(s.sink.frames.empty());
    // ... but may reach our own address.
    h.dst = our_ip;
    CHECK(s.ipv4.output(packet(pattern(8, 1)), h, s.clock.now()) == OutputResult::ok);
    CHECK(s.ipv4.loopback_pending() == 1);
}

TEST_CASE("loopback: protocol unreachable loops back to the sender's ICMP error path", "[ip][loopback][icmp]") {
    IpStack s;
    const Bytes body = pattern(30, 6);
    REQUIRE(s.ipv4.output(packet(body), to(lo1, unassigned_proto), s.clock.now()) == OutputResult::ok);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    CHECK(s.c().in_unknown_protos.get() == 1);
    CHECK(s.icmp().out_dest_unreachs.get() == 1);
    CHECK(s.ipv4.loopback_pending() == 1);  // the error, to 127.0.0.1
    // The sender registers in between, so that the error finds a handler of the quoted
    // protocol.
    CaptureTransport sender;
    s.ipv4.set_transport(static_cast<IpProtocol>(unassigned_proto), &sender);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    CHECK(s.icmp().in_dest_unreachs.get() == 1);
    REQUIRE(sender.errors.size() == 1);
    CHECK(sender.errors[0].type == IcmpType::dest_unreachable);
    CHECK(sender.errors[0].code == 2);
    CHECK(sender.errors[0].quoted_ip.src == lo1);
    CHECK(sender.errors[0].quoted_ip.dst == lo1);
    CHECK(sender.errors[0].quoted_transport == body);  // all 30 bytes fit in the quote
    CHECK(sender.packets.empty());
    CHECK(s.sink.frames.empty());
}

TEST_CASE("loopback: port unreachable to 127.0.0.1 comes back every time, never rate limited",
          "[ip][loopback][icmp]") {
    IpStack s;
    NoSocketHere u(s.ipv4);
    s.ipv4.set_transport(IpProtocol::udp, &u);
    Bytes segment = pattern(16, 2);
    pollux::wire::store_be16(&segment[0], 40000);
    pollux::wire::store_be16(&segment[2], 9);
    for (int i = 0; i < 100; ++i) {
        REQUIRE(s.ipv4.output(packet(segment), to(lo1), s.clock.now()) == OutputResult::ok);
    }
    // One from our own address too: it loops back the same way.
    Ipv4Repr from_us = to(our_ip);
    REQUIRE(s.ipv4.output(packet(segment), from_us, s.clock.now()) == OutputResult::ok);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 101);
    CHECK(u.inputs == 101);
    REQUIRE(u.arrivals.size() == 101);
    CHECK(u.arrivals[0] == Arrival::loopback);
    CHECK(u.arrivals[100] == Arrival::loopback);
    CHECK(s.icmp().out_rate_limited.get() == 0);
    CHECK(s.icmp().out_dest_unreachs.get() == 101);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 101);
    REQUIRE(u.errors.size() == 101);
    CHECK(u.errors[0].type == IcmpType::dest_unreachable);
    CHECK(u.errors[0].code == 3);
    CHECK(u.errors[0].quoted_ip.src == lo1);
    CHECK(u.errors[0].quoted_ip.dst == lo1);
    CHECK(u.errors[0].quoted_transport == segment);  // the ports: what finds the socket
    CHECK(u.errors[100].quoted_ip.src == our_ip);
    CHECK(u.errors[100].quoted_ip.dst == our_ip);
    CHECK(s.icmp().in_dest_unreachs.get() == 101);
    CHECK(s.sink.frames.empty());

    // The same source said to come from the link is still not a single host.
    const Bytes d = ipv4(ipv4_header(lo1, lo1, udp), segment);
    const auto ip = Ipv4Repr::parse(d);
    REQUIRE(ip.ok());
    s.ipv4.icmp().send_error(IcmpType::dest_unreachable, 3, packet(d), *ip, Arrival::unicast, s.clock.now());
    CHECK(s.ipv4.loopback_pending() == 0);
    CHECK(s.icmp().out_dest_unreachs.get() == 101);
    // Errors to the link are still limited: a burst of 6 to one peer.
    for (int i = 0; i < 10; ++i) s.receive(ipv4(ipv4_header(peer_ip, our_ip, udp), segment));
    CHECK(s.sent().size() == 6);
    CHECK(s.icmp().out_rate_limited.get() == 4);
}

TEST_CASE("raw hook: every delivered datagram, ICMP included, before its transport", "[ip][raw]") {
    IpStack s;
    RawTap tap;
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    s.ipv4.set_raw_handler(&tap);

    const Bytes d = ipv4(ipv4_header(peer_ip, our_ip, udp), pattern(20, 1));
    s.receive(d);  // 40 bytes in a 60-byte frame: the tap sees it trimmed
    REQUIRE(tap.packets.size() == 1);
    CHECK(tap.packets[0] == d);
    CHECK(tap.headers[0].protocol == IpProtocol::udp);
    CHECK(t.packets.size() == 1);  // the transport still gets it

    // An echo request: raw ICMP sockets see it, and ICMP still answers.
    const Bytes echo = ipv4(ipv4_header(peer_ip, our_ip, icmp_proto),
                            icmp_echo(IcmpType::echo_request, 7, 1, pattern(24, 2)));
    s.receive(echo);
    REQUIRE(tap.packets.size() == 2);
    CHECK(tap.packets[1] == echo);
    CHECK(s.sent().size() == 1);  // the reply
    CHECK(s.icmp().out_echo_reps.get() == 1);

    // A fragmented datagram: once, whole.
    const Bytes body = pattern(3000, 9);
    const auto frags = fragments(ipv4_header(peer_ip, our_ip, udp, 0x4242), body, 1480);
    for (const Bytes& f : frags) s.receive(f);
    REQUIRE(tap.packets.size() == 3);
    CHECK(tap.packets[2].size() == 3020);
    CHECK_FALSE(tap.headers[2].is_fragment());
    CHECK(after_header(tap.packets[2]) == body);

    // Over loopback too.
    REQUIRE(s.ipv4.output(packet(pattern(8, 3)), to(lo1), s.clock.now()) == OutputResult::ok);
    s.ipv4.process_loopback(s.clock.now());
    REQUIRE(tap.packets.size() == 4);
    CHECK(tap.headers[3].src == lo1);

    s.ipv4.set_raw_handler(nullptr);
    s.receive(d);
    CHECK(tap.packets.size() == 4);
    CHECK(t.packets.size() == 4);
}

TEST_CASE("raw hook: a protocol a raw socket took earns no protocol unreachable", "[ip][raw][icmp]") {
    IpStack s;
    RawTap tap;
    s.ipv4.set_raw_handler(&tap);
    const Bytes d = ipv4(ipv4_header(peer_ip, our_ip, unassigned_proto), pattern(30, 1));
    s.receive(d);
    CHECK(tap.packets.size() == 1);
    CHECK(s.sink.frames.empty());
    CHECK(s.c().in_unknown_protos.get() == 0);
    CHECK(s.c().in_delivers.get() == 1);
    CHECK(s.icmp().out_dest_unreachs.get() == 0);

    tap.take = false;  // no raw socket of that protocol
    s.receive(d);
    CHECK(tap.packets.size() == 2);
    CHECK(s.c().in_unknown_protos.get() == 1);
    CHECK(s.c().in_delivers.get() == 1);
    const auto out = s.sent();
    REQUIRE(out.size() == 1);
    const auto icmp = IcmpRepr::parse(out[0].payload());
    REQUIRE(icmp.ok());
    CHECK(icmp->type == IcmpType::dest_unreachable);
    CHECK(icmp->code == 2);
}

TEST_CASE("output_raw: length, checksum, ident and source are filled in; the rest is the user's", "[ip][raw]") {
    Ipv4Config cfg;
    cfg.first_ident = 0x4000;
    IpStack s(cfg);
    // A user's header with total length and checksum left wrong, ident 0, source 0.0.0.0.
    Ipv4Repr r = ipv4_header(Ipv4Address::any(), peer_ip, unassigned_proto, 0);
    r.ttl = 3;
    r.tos = 0x20;
    r.dont_fragment = true;
    const Bytes body = pattern(40, 3);
    Bytes user = ipv4(r, body);
    pollux::wire::store_be16(&user[2], 0);
    pollux::wire::store_be16(&user[10], 0xbeef);
    REQUIRE(s.ipv4.output_raw(packet(user), s.clock.now()) == OutputResult::ok);

    // A spoofed source and an ident of its own are kept (and the ident counter not used).
    Bytes spoofed = ipv4(ipv4_header(ip(0, 7), peer_ip, udp, 0x9999), body);
    REQUIRE(s.ipv4.output_raw(packet(spoofed), s.clock.now()) == OutputResult::ok);

    // IHL 6 (a Router Alert option): the checksum covers the option.
    Bytes opt(24 + 8);
    const Bytes plain = ipv4(ipv4_header(Ipv4Address::any(), peer_ip, udp, 0), pattern(8, 4));
    std::copy(plain.begin(), plain.begin() + 20, opt.begin());
    opt[0] = 0x46;
    opt[20] = 0x94;
    opt[21] = 0x04;
    std::copy(plain.begin() + 20, plain.end(), opt.begin() + 24);
    REQUIRE(s.ipv4.output_raw(packet(opt), s.clock.now()) == OutputResult::ok);

    const auto out = s.sent();  // header checksums verified over IHL*4 bytes
    REQUIRE(out.size() == 3);
    CHECK(out[0].ip.src == our_ip);
    CHECK(out[0].ip.dst == peer_ip);
    CHECK(out[0].ip.total_len() == 60);
    CHECK(out[0].ip.ident == 0x4000);
    CHECK(out[0].ip.ttl == 3);
    CHECK(out[0].ip.tos == 0x20);
    CHECK(out[0].ip.dont_fragment);
    CHECK(static_cast<int>(out[0].ip.protocol) == unassigned_proto);
    CHECK(Bytes(out[0].payload().begin(), out[0].payload().end()) == body);

    CHECK(out[1].ip.src == ip(0, 7));
    CHECK(out[1].ip.ident == 0x9999);
    CHECK(out[1].bytes == spoofed);  // nothing to fill in: the user's datagram as is

    CHECK(out[2].ip.header_len == 24);
    CHECK(out[2].ip.payload_len == 8);
    CHECK(out[2].ip.ident == 0x4001);
    CHECK(out[2].ip.src == our_ip);
    CHECK(out[2].bytes[20] == 0x94);
    CHECK(s.c().out_requests.get() == 3);
}

TEST_CASE("output_raw: never fragmented, and bad headers are refused", "[ip][raw]") {
    const unsigned before = pool_in_use();
    {
        IpStack s;
        CaptureTransport t;
        s.ipv4.set_transport(IpProtocol::udp, &t);
        const auto datagram = [](Ipv4Address dst, std::size_t total) {
            return ipv4(ipv4_header(Ipv4Address::any(), dst, udp, 0), pattern(total - 20, 6));
        };
        CHECK(s.ipv4.output_raw(packet(datagram(peer_ip, 1501)), s.clock.now()) == OutputResult::too_big);
        CHECK(s.c().frag_fails.get() == 1);
        CHECK(s.sink.frames.empty());
        CHECK(s.ipv4.output_raw(packet(datagram(peer_ip, 1500)), s.clock.now()) == OutputResult::ok);
        CHECK(s.sent().size() == 1);

        // Loopback: up to 65535 bytes, whole.
        Bytes huge = datagram(lo1, 65535);
        huge.push_back(0);  // 65536 bytes: no IPv4 total length can say so
        CHECK(s.ipv4.output_raw(chain_of(huge), s.clock.now()) == OutputResult::too_big);
        CHECK(s.c().frag_fails.get() == 2);
        huge.pop_back();
        CHECK(s.ipv4.output_raw(chain_of(huge), s.clock.now()) == OutputResult::ok);
        CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
        REQUIRE(t.packets.size() == 1);
        CHECK(t.lengths[0] == 65535);
        CHECK(t.headers[0].src == lo1);

        const Bytes good = datagram(peer_ip, 60);
        SECTION("shorter than a header") {
            CHECK(s.ipv4.output_raw(packet(Bytes(good.begin(), good.begin() + 19)), s.clock.now()) ==
                  OutputResult::invalid);
        }
        SECTION("version 6") {
            Bytes b = good;
            b[0] = 0x65;
            CHECK(s.ipv4.output_raw(packet(b), s.clock.now()) == OutputResult::invalid);
        }
        SECTION("IHL 4") {
            Bytes b = good;
            b[0] = 0x44;
            CHECK(s.ipv4.output_raw(packet(b), s.clock.now()) == OutputResult::invalid);
        }
        SECTION("IHL 15 in a 40-byte datagram") {
            Bytes b(good.begin(), good.begin() + 40);
            b[0] = 0x4f;
            CHECK(s.ipv4.output_raw(packet(b), s.clock.now()) == OutputResult::invalid);
        }
        SECTION("the header split across segments") {
            CHECK(s.ipv4.output_raw(chained(good, {12}), s.clock.now()) == OutputResult::invalid);
        }
        CHECK(s.c().out_discards.get() == 1);
        CHECK(s.sink.frames.empty());
        CHECK(s.ipv4.loopback_pending() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("output_raw: no route, and through loopback like output()", "[ip][raw][loopback]") {
    IpStack s(Ipv4Config{}, false);
    CaptureTransport t;
    s.ipv4.set_transport(IpProtocol::udp, &t);
    const Bytes far = ipv4(ipv4_header(Ipv4Address::any(), Ipv4Address(198, 19, 0, 1), udp, 0), pattern(8, 1));
    CHECK(s.ipv4.output_raw(packet(far), s.clock.now()) == OutputResult::no_route);
    CHECK(s.c().out_no_routes.get() == 1);

    const Bytes body = pattern(64, 2);
    const Bytes lo = ipv4(ipv4_header(Ipv4Address::any(), lo5, udp, 0), body);
    REQUIRE(s.ipv4.output_raw(packet(lo), s.clock.now()) == OutputResult::ok);
    CHECK(t.packets.empty());
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 1);
    REQUIRE(t.packets.size() == 1);
    CHECK(t.headers[0].src == lo1);
    CHECK(t.headers[0].dst == lo5);
    CHECK(t.headers[0].payload_len == 64);
    CHECK(Ipv4Repr::parse(t.packets[0]).ok());
    CHECK(after_header(t.packets[0]) == body);

    // Fragments a user built go through reassembly on the way in.
    const Bytes big = pattern(2000, 3);
    const auto frags = fragments(ipv4_header(lo1, our_ip, udp, 0x3131), big, 800);
    REQUIRE(frags.size() == 3);
    for (const Bytes& f : frags) REQUIRE(s.ipv4.output_raw(packet(f), s.clock.now()) == OutputResult::ok);
    CHECK(s.ipv4.process_loopback(s.clock.now()) == 3);
    REQUIRE(t.packets.size() == 2);
    CHECK(t.lengths[1] == 2020);
    CHECK(t.headers[1].src == lo1);
    CHECK(after_header(t.packets[1]) == big);
    CHECK(s.ipv4.reassembly_counters().oks.get() == 1);
    CHECK(s.c().in_receives.get() == 4);
    CHECK(s.sink.frames.empty());
}
