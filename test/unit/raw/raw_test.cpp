// Raw IPv4 sockets (src/raw/): delivery of whole datagrams next to the protocols, the
// match rules, SO_RCVBUF, sends with and without IP_HDRINCL, loopback, and the errno and
// address semantics of Linux's net/ipv4/raw.c (several measured on a 6.x kernel; the
// header of raw_socket.hpp lists them).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "raw/raw_layer.hpp"
#include "raw/raw_socket.hpp"
#include "unit/iface/forge.hpp"
#include "wire/byte_order.hpp"

using pollux::buf::PacketBuf;
using pollux::ip::Ipv4Config;
using pollux::ip::Ipv4Layer;
using pollux::raw::RawLayer;
using pollux::raw::RawSocket;
using pollux::socket::Destination;
using pollux::socket::RecvMeta;
using pollux::wire::Endpoint;
using pollux::wire::IcmpType;
using pollux::wire::IpProtocol;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Repr;
using pollux::wire::Port;
using namespace pollux::test::forge;

namespace {

constexpr int icmp_proto = IPPROTO_ICMP;
constexpr int udp_proto = IPPROTO_UDP;
constexpr int unassigned_proto = 253;  // RFC 3692 experimentation: no handler in the stack
constexpr int icmp_filter = 1;         // ICMP_FILTER, <linux/icmp.h>

const Ipv4Address our_ip = IpStack::our_ip;
const Ipv4Address peer_ip = IpStack::peer_ip;
const Ipv4Address other_ip = ip(0, 3);  // another host on our subnet
const Ipv4Address lo1(127, 0, 0, 1);
const Ipv4Address subnet_broadcast(198, 18, 0, 255);

// An IpStack with raw sockets. The first IP identification is nonzero so that a test can
// tell a filled-in identification from a zero one.
struct RawStack : IpStack {
    static Ipv4Config config() {
        Ipv4Config c;
        c.first_ident = 0x4242;
        return c;
    }
    explicit RawStack(bool with_gateway = true) : IpStack(config(), with_gateway), raw(ipv4) {}

    std::unique_ptr<RawSocket> open(int protocol) { return raw.create_socket(protocol); }

    RawLayer raw;
};

// ---- calls, the way the API makes them ----

Destination dest(Ipv4Address a, std::uint16_t port = 0) { return Destination{true, 0, Endpoint{a, Port(port)}}; }

long send_to(RawSocket& s, const Bytes& data, const Destination& to, int flags = 0, pollux::time::Instant now = {}) {
    const iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
    return s.sendmsg({&iov, 1}, to, flags, now);
}
long send_to(RawSocket& s, const Bytes& data, Ipv4Address dst, int flags = 0) { return send_to(s, data, dest(dst), flags); }
long send(RawSocket& s, const Bytes& data, int flags = 0) { return send_to(s, data, Destination{}, flags); }

struct Received {
    long result = 0;
    Bytes bytes;
    RecvMeta meta;
};

Received recv(RawSocket& s, std::size_t capacity = 65536, int flags = 0) {
    Received r;
    r.bytes.resize(capacity);
    const iovec iov{r.bytes.data(), capacity};
    r.result = s.recvmsg({&iov, 1}, flags, r.meta);
    r.bytes.resize(r.result > 0 ? std::min<std::size_t>(static_cast<std::size_t>(r.result), capacity) : 0);
    return r;
}

int set_int(RawSocket& s, int level, int name, int v) {
    return s.setsockopt(level, name, {reinterpret_cast<const std::uint8_t*>(&v), sizeof v});
}
int get_int(RawSocket& s, int level, int name, int& v) {
    std::size_t len = sizeof v;
    return s.getsockopt(level, name, {reinterpret_cast<std::uint8_t*>(&v), sizeof v}, len);
}

int connect_to(RawSocket& s, Ipv4Address a, std::uint16_t port = 0) { return s.connect(dest(a, port), {}); }

Endpoint sockname(const RawSocket& s) {
    Endpoint e{Ipv4Address(9, 9, 9, 9), Port(9)};
    REQUIRE(s.local_endpoint(e) == 0);
    return e;
}

// ---- datagrams ----

Bytes datagram_from(Ipv4Address src, Ipv4Address dst, int protocol, std::size_t payload_len, std::uint32_t seed = 1) {
    return ipv4(ipv4_header(src, dst, static_cast<std::uint8_t>(protocol)), pattern(payload_len, seed));
}

Bytes echo_request_from_peer(std::size_t data_len = 56) {
    return ipv4(ipv4_header(peer_ip, our_ip, icmp_proto), icmp_echo(IcmpType::echo_request, 0x77, 1, pattern(data_len, 5)));
}

// A UDP datagram with a correct checksum, from the peer's port 4000 to our port `dport`.
Bytes udp_from_peer(std::uint16_t dport, std::size_t payload_len) {
    Bytes u(8 + payload_len);
    pollux::wire::store_be16(&u[0], 4000);
    pollux::wire::store_be16(&u[2], dport);
    pollux::wire::store_be16(&u[4], static_cast<std::uint16_t>(u.size()));
    const Bytes p = pattern(payload_len, 9);
    std::copy(p.begin(), p.end(), u.begin() + 8);
    const std::uint32_t pseudo = pollux::wire::pseudo_header_sum(peer_ip, our_ip, IpProtocol::udp,
                                                                 static_cast<std::uint16_t>(u.size()));
    pollux::wire::store_be16(&u[6], pollux::wire::internet_checksum(u, pseudo));
    return ipv4(ipv4_header(peer_ip, our_ip, udp_proto), u);
}

// A 20-byte header the way an IP_HDRINCL user writes it, the fields Linux fills left 0.
Bytes user_header(Ipv4Address src, Ipv4Address dst, int protocol, std::uint8_t ttl, std::uint16_t ident,
                  const Bytes& payload) {
    Bytes d(20, 0);
    d[0] = 0x45;
    d[1] = 0x28;  // TOS
    pollux::wire::store_be16(&d[4], ident);
    d[8] = ttl;
    d[9] = static_cast<std::uint8_t>(protocol);
    src.to_bytes(&d[12]);
    dst.to_bytes(&d[16]);
    d.insert(d.end(), payload.begin(), payload.end());
    return d;
}

bool is_protocol_unreachable(const Datagram& d) {
    return d.ip.protocol == IpProtocol::icmp && d.payload().size() >= 8 &&
           d.payload()[0] == static_cast<std::uint8_t>(IcmpType::dest_unreachable) && d.payload()[1] == 2;
}

}  // namespace

// ---- receive ----

TEST_CASE("raw: an echo request reaches an ICMP socket byte for byte, and the stack still answers it", "[raw]") {
    RawStack s;
    const auto sock = s.open(icmp_proto);
    const Bytes request = echo_request_from_peer();
    s.receive(request);

    // The stack answered (the reply was built in the request's own buffer)...
    const auto sent = s.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].ip.dst == peer_ip);
    CHECK(sent[0].payload()[0] == static_cast<std::uint8_t>(IcmpType::echo_reply));
    CHECK(s.icmp().out_echo_reps.get() == 1);
    // ...and the raw socket holds the request as it arrived, IPv4 header included.
    CHECK(sock->bytes_readable() == static_cast<int>(request.size()));
    const Received r = recv(*sock);
    REQUIRE(r.result == static_cast<long>(request.size()));
    CHECK(r.bytes == request);
    CHECK(r.meta.has_source);
    CHECK(r.meta.source == Endpoint{peer_ip, Port(0)});
    CHECK(r.meta.msg_flags == 0);
    CHECK(s.raw.counters().in_delivers.get() == 1);
    CHECK(s.raw.counters().in_datagrams.get() == 1);
    CHECK(recv(*sock).result == -EAGAIN);
}

TEST_CASE("raw: an echo reply is delivered as a zero-copy clone", "[raw]") {
    RawStack s;
    const auto sock = s.open(icmp_proto);
    const Bytes reply = ipv4(ipv4_header(peer_ip, our_ip, icmp_proto),
                             icmp_echo(IcmpType::echo_reply, 0x77, 1, pattern(1400, 6)));
    const unsigned before = pollux::test::pool_in_use();
    s.receive(reply);
    // The frame's mbuf lives on, pinned by one indirect mbuf: two in use, not a copy's more.
    CHECK(pollux::test::pool_in_use() == before + 2);
    CHECK(sock->queued_datagrams() == 1);
    CHECK(recv(*sock).bytes == reply);
    CHECK(pollux::test::pool_in_use() == before);
    CHECK(s.sent().empty());
}

TEST_CASE("raw: a UDP datagram reaches an IPPROTO_UDP socket and UDP alike", "[raw]") {
    RawStack s;
    CaptureTransport udp;
    s.ipv4.set_transport(IpProtocol::udp, &udp);
    const auto sock = s.open(udp_proto);
    const Bytes d = udp_from_peer(53, 30);
    s.receive(d);
    REQUIRE(udp.packets.size() == 1);
    CHECK(udp.packets[0] == d);
    const Received r = recv(*sock);
    CHECK(r.bytes == d);
    CHECK(r.meta.source == Endpoint{peer_ip, Port(0)});
}

TEST_CASE("raw: a fragmented datagram is delivered once, reassembled", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    const Bytes payload = pattern(3000, 11);
    for (const Bytes& f : fragments(ipv4_header(peer_ip, our_ip, unassigned_proto, 0x5151), payload, 1480)) {
        s.receive(f);
    }
    REQUIRE(sock->queued_datagrams() == 1);
    const Received r = recv(*sock);
    REQUIRE(r.result == 3020);
    const auto h = Ipv4Repr::parse(r.bytes);
    REQUIRE(h.ok());
    CHECK(h->payload_len == 3000);
    CHECK(!h->is_fragment());
    CHECK(h->ident == 0x5151);
    CHECK(Bytes(r.bytes.begin() + 20, r.bytes.end()) == payload);
}

TEST_CASE("raw: only sockets of the datagram's protocol, address and peer get it", "[raw]") {
    RawStack s;
    const auto udp_sock = s.open(udp_proto);
    const auto bound_lo = s.open(unassigned_proto);
    REQUIRE(bound_lo->bind({lo1, Port(0)}) == 0);
    const auto bound_ours = s.open(unassigned_proto);
    REQUIRE(bound_ours->bind({our_ip, Port(0)}) == 0);
    const auto to_other = s.open(unassigned_proto);
    REQUIRE(connect_to(*to_other, other_ip) == 0);
    const auto to_peer = s.open(unassigned_proto);
    REQUIRE(connect_to(*to_peer, peer_ip) == 0);

    s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 40));
    CHECK(udp_sock->queued_datagrams() == 0);    // protocol mismatch
    CHECK(bound_lo->queued_datagrams() == 0);    // bound address is not the destination
    CHECK(bound_ours->queued_datagrams() == 1);
    CHECK(to_other->queued_datagrams() == 0);    // peer is not the source
    CHECK(to_peer->queued_datagrams() == 1);

    s.receive(datagram_from(other_ip, our_ip, unassigned_proto, 40));
    CHECK(to_other->queued_datagrams() == 1);
    CHECK(to_peer->queued_datagrams() == 1);
    CHECK(bound_ours->queued_datagrams() == 2);
    CHECK(s.raw.counters().in_delivers.get() == 4);
    CHECK(s.sent().empty());
}

TEST_CASE("raw: a broadcast reaches sockets bound to it or to nothing, not to our address", "[raw]") {
    RawStack s;
    const auto any = s.open(unassigned_proto);
    const auto bcast = s.open(unassigned_proto);
    REQUIRE(bcast->bind({subnet_broadcast, Port(0)}) == 0);
    const auto ours = s.open(unassigned_proto);
    REQUIRE(ours->bind({our_ip, Port(0)}) == 0);
    s.receive(datagram_from(peer_ip, subnet_broadcast, unassigned_proto, 10), pollux::wire::MacAddress::broadcast());
    CHECK(any->queued_datagrams() == 1);
    CHECK(bcast->queued_datagrams() == 1);
    CHECK(ours->queued_datagrams() == 0);
}

TEST_CASE("raw: a protocol with no handler is delivered to raw sockets without protocol unreachable", "[raw]") {
    SECTION("no raw socket: protocol unreachable") {
        RawStack s;
        s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 20));
        const auto sent = s.sent();
        REQUIRE(sent.size() == 1);
        CHECK(is_protocol_unreachable(sent[0]));
        CHECK(s.c().in_unknown_protos.get() == 1);
    }
    SECTION("a raw socket of another address: still unreachable") {
        RawStack s;
        const auto sock = s.open(unassigned_proto);
        REQUIRE(sock->bind({lo1, Port(0)}) == 0);
        s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 20));
        const auto sent = s.sent();
        REQUIRE(sent.size() == 1);
        CHECK(is_protocol_unreachable(sent[0]));
    }
    SECTION("a raw socket of the protocol: delivered, nothing sent") {
        RawStack s;
        const auto sock = s.open(unassigned_proto);
        const Bytes d = datagram_from(peer_ip, our_ip, unassigned_proto, 20);
        s.receive(d);
        CHECK(s.sent().empty());
        CHECK(s.c().in_unknown_protos.get() == 0);
        CHECK(s.c().in_delivers.get() == 1);
        CHECK(recv(*sock).bytes == d);
    }
    SECTION("a match whose copy is dropped still counts as delivered") {
        RawStack s;
        const auto sock = s.open(unassigned_proto);
        REQUIRE(set_int(*sock, SOL_SOCKET, SO_RCVBUF, 0) == 0);
        s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 20));
        s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 20));
        s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 20));
        CHECK(sock->queued_datagrams() == 2);
        CHECK(s.raw.counters().rcvbuf_errors.get() == 1);
        CHECK(s.sent().empty());
    }
}

TEST_CASE("raw: every matching socket gets its own copy", "[raw]") {
    RawStack s;
    const auto a = s.open(icmp_proto);
    const auto b = s.open(icmp_proto);
    const auto c = s.open(unassigned_proto);
    const Bytes request = echo_request_from_peer(100);
    s.receive(request);
    CHECK(recv(*a).bytes == request);
    CHECK(recv(*b).bytes == request);
    CHECK(c->queued_datagrams() == 0);
    CHECK(s.raw.counters().in_delivers.get() == 2);
    CHECK(s.sent().size() == 1);  // and one echo reply
}

TEST_CASE("raw: SO_RCVBUF bounds the queue; drops are counted and every mbuf comes back", "[raw]") {
    const unsigned baseline = pollux::test::pool_in_use();
    {
        RawStack s;
        const auto sock = s.open(unassigned_proto);
        REQUIRE(set_int(*sock, SOL_SOCKET, SO_RCVBUF, 0) == 0);  // the floor: 2304 bytes
        int rcvbuf = 0;
        REQUIRE(get_int(*sock, SOL_SOCKET, SO_RCVBUF, rcvbuf) == 0);
        REQUIRE(rcvbuf == pollux::socket::kMinRcvbuf);
        for (int i = 0; i < 5; ++i) s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 100));
        // Each copy pins one 2176-byte mbuf buffer; the queue takes copies while it holds
        // less than SO_RCVBUF (sock_queue_rcv_skb), so two fit and three are dropped.
        const std::size_t per_copy = sock->queued_bytes() / std::max<std::size_t>(sock->queued_datagrams(), 1);
        CHECK(sock->queued_datagrams() == 2);
        CHECK(sock->queued_bytes() >= static_cast<std::size_t>(rcvbuf));
        CHECK(sock->queued_bytes() - per_copy < static_cast<std::size_t>(rcvbuf));
        CHECK(s.raw.counters().rcvbuf_errors.get() == 3);
        CHECK(s.raw.counters().in_delivers.get() == 2);
        CHECK(s.sent().empty());
        // Reading makes room again.
        CHECK(recv(*sock).result == 120);
        s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 100));
        CHECK(sock->queued_datagrams() == 2);
        sock->close();
        CHECK(sock->queued_datagrams() == 0);
        CHECK(s.raw.socket_count() == 0);
        s.sink.frames.clear();
        CHECK(pollux::test::pool_in_use() == baseline);
    }
    CHECK(pollux::test::pool_in_use() == baseline);
}

TEST_CASE("raw: a queue holding exactly SO_RCVBUF bytes is full", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 10));
    const std::size_t per_copy = sock->queued_bytes();
    REQUIRE(per_copy > 0);
    // SO_RCVBUF is doubled: the limit becomes exactly two copies.
    REQUIRE(set_int(*sock, SOL_SOCKET, SO_RCVBUF, static_cast<int>(per_copy)) == 0);
    int rcvbuf = 0;
    REQUIRE(get_int(*sock, SOL_SOCKET, SO_RCVBUF, rcvbuf) == 0);
    REQUIRE(static_cast<std::size_t>(rcvbuf) == 2 * per_copy);
    s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 10));
    s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 10));
    // sock_queue_rcv_skb refuses at rmem >= rcvbuf (UDP's rule, rmem > rcvbuf, would take it).
    CHECK(sock->queued_datagrams() == 2);
    CHECK(s.raw.counters().rcvbuf_errors.get() == 1);
}

TEST_CASE("raw: a copy that finds no mbuf is dropped and counted", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    PacketBuf frame = packet(ipv4_frame(IpStack::our_mac, IpStack::peer_mac,
                                        datagram_from(peer_ip, our_ip, unassigned_proto, 64)));
    std::vector<PacketBuf> hoard;  // the rest of the pool
    for (PacketBuf p = PacketBuf::alloc(pollux::test::mbuf_pool()); p; p = PacketBuf::alloc(pollux::test::mbuf_pool())) {
        hoard.push_back(std::move(p));
    }
    s.receive_frame(std::move(frame));
    hoard.clear();
    CHECK(s.raw.counters().clone_errors.get() == 1);
    CHECK(sock->queued_datagrams() == 0);
    CHECK(s.sent().empty());  // the match still suppressed protocol unreachable
}

// ---- send ----

TEST_CASE("raw: without IP_HDRINCL the stack builds the header from the socket", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    REQUIRE(set_int(*sock, IPPROTO_IP, IP_TTL, 7) == 0);
    REQUIRE(set_int(*sock, IPPROTO_IP, IP_TOS, 0x10) == 0);
    const Bytes payload = pattern(100, 21);
    REQUIRE(send_to(*sock, payload, dest(peer_ip, 9999)) == 100);  // the port is ignored
    const auto sent = s.sent();
    REQUIRE(sent.size() == 1);
    const Ipv4Repr& h = sent[0].ip;
    CHECK(static_cast<int>(h.protocol) == unassigned_proto);
    CHECK(h.ttl == 7);
    CHECK(h.tos == 0x10);
    CHECK(h.src == our_ip);
    CHECK(h.dst == peer_ip);
    CHECK(h.dont_fragment);  // Linux's IP_PMTUDISC_WANT on a datagram that fits
    CHECK(h.ident == 0x4242);
    CHECK(h.payload_len == 100);
    CHECK(Bytes(sent[0].payload().begin(), sent[0].payload().end()) == payload);
    CHECK(s.raw.counters().out_datagrams.get() == 1);

    SECTION("the default TTL, and an empty payload") {
        const auto plain = s.open(icmp_proto);
        REQUIRE(send_to(*plain, Bytes{}, peer_ip) == 0);
        const auto more = s.sent();
        REQUIRE(more.size() == 1);
        CHECK(more[0].ip.ttl == 64);
        CHECK(more[0].ip.protocol == IpProtocol::icmp);
        CHECK(more[0].ip.payload_len == 0);
    }
    SECTION("larger than the MTU: fragmented, without DF") {
        const Bytes big = pattern(3000, 22);
        REQUIRE(send_to(*sock, big, peer_ip) == 3000);
        const auto frags = s.sent();
        REQUIRE(frags.size() == 3);
        Bytes joined;
        for (const auto& f : frags) {
            CHECK(!f.ip.dont_fragment);
            CHECK(f.ip.ttl == 7);
            joined.insert(joined.end(), f.payload().begin(), f.payload().end());
        }
        CHECK(joined == big);
    }
    SECTION("connected: send() goes to the peer") {
        REQUIRE(connect_to(*sock, peer_ip, 80) == 0);
        REQUIRE(send(*sock, payload) == 100);
        const auto more = s.sent();
        REQUIRE(more.size() == 1);
        CHECK(more[0].ip.dst == peer_ip);
        CHECK(Bytes(more[0].payload().begin(), more[0].payload().end()) == payload);
    }
}

TEST_CASE("raw: with IP_HDRINCL the user's header goes out, completed", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    REQUIRE(set_int(*sock, IPPROTO_IP, IP_HDRINCL, 1) == 0);
    const Bytes payload = pattern(50, 31);

    SECTION("length, checksum, identification and source filled in") {
        const Bytes d = user_header(Ipv4Address::any(), peer_ip, 99, 33, 0, payload);
        REQUIRE(send_to(*sock, d, peer_ip) == 70);
        const auto sent = s.sent();  // parse_datagram verified the checksum
        REQUIRE(sent.size() == 1);
        const Ipv4Repr& h = sent[0].ip;
        CHECK(h.payload_len == 50);
        CHECK(h.ident == 0x4242);
        CHECK(h.src == our_ip);
        CHECK(h.dst == peer_ip);
        CHECK(static_cast<int>(h.protocol) == 99);  // the user's, not the socket's
        CHECK(h.ttl == 33);
        CHECK(h.tos == 0x28);
        CHECK(Bytes(sent[0].payload().begin(), sent[0].payload().end()) == payload);
    }
    SECTION("a nonzero identification and source are the user's") {
        const Ipv4Address spoofed = ip(0, 77);
        const Bytes d = user_header(spoofed, peer_ip, unassigned_proto, 5, 0x1111, payload);
        REQUIRE(send_to(*sock, d, peer_ip) == 70);
        const auto sent = s.sent();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].ip.ident == 0x1111);
        CHECK(sent[0].ip.src == spoofed);
    }
    SECTION("a zero source is the bound address, where there is one") {
        REQUIRE(sock->bind({our_ip, Port(0)}) == 0);
        const Bytes d = user_header(Ipv4Address::any(), lo1, unassigned_proto, 5, 0, payload);
        REQUIRE(send_to(*sock, d, lo1) == 70);
        s.ipv4.process_loopback({});
        CHECK(s.sent().empty());
        // The sender does not hear itself: 127.0.0.1 is not the address it is bound to.
        CHECK(recv(*sock).result == -EAGAIN);
        const auto listener = s.open(unassigned_proto);
        REQUIRE(send_to(*sock, d, lo1) == 70);
        s.ipv4.process_loopback({});
        const Received l = recv(*listener);
        REQUIRE(l.result == 70);
        CHECK(l.meta.source == Endpoint{our_ip, Port(0)});  // not 127.0.0.1, the route's choice
    }
    SECTION("larger than the MTU: EMSGSIZE, never fragmented") {
        const Bytes d = user_header(our_ip, peer_ip, unassigned_proto, 5, 0, pattern(1481, 1));
        CHECK(send_to(*sock, d, peer_ip) == -EMSGSIZE);
        CHECK(s.sent().empty());
    }
    SECTION("malformed headers: EINVAL") {
        CHECK(send_to(*sock, pattern(19, 1), peer_ip) == -EINVAL);  // shorter than a header
        Bytes ihl4 = user_header(our_ip, peer_ip, unassigned_proto, 5, 0, payload);
        ihl4[0] = 0x44;
        CHECK(send_to(*sock, ihl4, peer_ip) == -EINVAL);
        Bytes past_end = user_header(our_ip, peer_ip, unassigned_proto, 5, 0, Bytes(4, 0));
        past_end[0] = 0x46;  // 24-byte header in a 24-byte datagram: fine
        CHECK(send_to(*sock, past_end, peer_ip) == 24);
        past_end[0] = 0x47;  // 28 bytes of header in 24
        CHECK(send_to(*sock, past_end, peer_ip) == -EINVAL);
        CHECK(s.sent().size() == 1);
    }
    SECTION("after shutdown(SHUT_WR): EPIPE, but size errors first") {
        CHECK(sock->shutdown(SHUT_WR) == -ENOTCONN);
        CHECK(send_to(*sock, pattern(10, 1), peer_ip) == -EINVAL);
        CHECK(send_to(*sock, user_header(our_ip, peer_ip, 1, 5, 0, payload), peer_ip) == -EPIPE);
        CHECK(s.sent().empty());
    }
}

TEST_CASE("raw: IPPROTO_RAW implies IP_HDRINCL and gets only protocol 255", "[raw]") {
    RawStack s;
    CaptureTransport udp;
    s.ipv4.set_transport(IpProtocol::udp, &udp);
    const auto sock = s.open(IPPROTO_RAW);
    int hdrincl = 0;
    REQUIRE(get_int(*sock, IPPROTO_IP, IP_HDRINCL, hdrincl) == 0);
    CHECK(hdrincl == 1);
    CHECK(sockname(*sock) == Endpoint{Ipv4Address::any(), Port(255)});

    const Bytes d = user_header(Ipv4Address::any(), peer_ip, icmp_proto, 64, 0,
                                icmp_echo(IcmpType::echo_request, 1, 2, pattern(8, 1)));
    REQUIRE(send_to(*sock, d, peer_ip) == static_cast<long>(d.size()));
    const auto sent = s.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].ip.protocol == IpProtocol::icmp);

    s.receive(echo_request_from_peer());
    s.receive(udp_from_peer(53, 10));
    s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 10));
    CHECK(sock->queued_datagrams() == 0);
    CHECK(s.sent().size() == 2);  // the echo reply and protocol unreachable for 253
    // Linux matches raw sockets on the protocol number alone: protocol 255 does arrive.
    const Bytes p255 = datagram_from(peer_ip, our_ip, IPPROTO_RAW, 10);
    s.receive(p255);
    CHECK(recv(*sock).bytes == p255);
    CHECK(s.sent().empty());
}

TEST_CASE("raw: a send to our own address loops back into raw sockets", "[raw]") {
    RawStack s;
    const auto sender = s.open(unassigned_proto);
    const auto listener = s.open(unassigned_proto);
    const Bytes payload = pattern(200, 41);
    REQUIRE(send_to(*sender, payload, our_ip) == 200);
    CHECK(s.sink.frames.empty());
    CHECK(listener->queued_datagrams() == 0);  // not before the loopback runs
    CHECK(s.ipv4.process_loopback({}) == 1);
    const Received r = recv(*listener);
    REQUIRE(r.result == 220);
    CHECK(r.meta.source == Endpoint{our_ip, Port(0)});
    const auto h = Ipv4Repr::parse(r.bytes);
    REQUIRE(h.ok());
    CHECK(h->src == our_ip);
    CHECK(h->dst == our_ip);
    CHECK(static_cast<int>(h->protocol) == unassigned_proto);
    CHECK(Bytes(r.bytes.begin() + 20, r.bytes.end()) == payload);
    CHECK(sender->queued_datagrams() == 1);  // a raw sender hears itself too, as on Linux
    CHECK(s.sent().empty());                  // a raw socket took it: no unreachable
    CHECK(s.ipv4.loopback_pending() == 0);

    SECTION("to 127.0.0.1, from 127.0.0.1") {
        REQUIRE(send_to(*sender, payload, lo1) == 200);
        s.ipv4.process_loopback({});
        const Received l = recv(*listener);
        REQUIRE(l.result == 220);
        CHECK(l.meta.source == Endpoint{lo1, Port(0)});
    }
    SECTION("to 0.0.0.0, which Linux routes to 127.0.0.1") {
        REQUIRE(send_to(*sender, payload, Ipv4Address::any()) == 200);
        s.ipv4.process_loopback({});
        const Received l = recv(*listener);
        REQUIRE(l.result == 220);
        CHECK(l.meta.source == Endpoint{lo1, Port(0)});
    }
}

TEST_CASE("raw: a looped echo request is seen intact, then its reply", "[raw]") {
    RawStack s;
    const auto sock = s.open(icmp_proto);
    const Bytes echo = icmp_echo(IcmpType::echo_request, 0x99, 3, pattern(32, 51));
    REQUIRE(send_to(*sock, echo, our_ip) == static_cast<long>(echo.size()));
    s.ipv4.process_loopback({});  // the request: to the raw socket and to ICMP, which answers
    s.ipv4.process_loopback({});  // the reply
    const Received req = recv(*sock);
    REQUIRE(req.result == 20 + static_cast<long>(echo.size()));
    CHECK(Bytes(req.bytes.begin() + 20, req.bytes.end()) == echo);
    const Received rep = recv(*sock);
    REQUIRE(rep.result == req.result);
    CHECK(rep.bytes[20] == static_cast<std::uint8_t>(IcmpType::echo_reply));
    CHECK(Bytes(rep.bytes.begin() + 28, rep.bytes.end()) == Bytes(echo.begin() + 8, echo.end()));
    CHECK(s.sent().empty());
}

TEST_CASE("raw: send errors, in Linux's order", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    const Bytes small = pattern(10, 1);

    CHECK(send(*sock, small) == -EDESTADDRREQ);
    CHECK(send(*sock, small, MSG_OOB) == -EOPNOTSUPP);  // flags before the destination
    CHECK(send_to(*sock, Bytes(0x10000, 0), Destination{}, MSG_OOB) == -EMSGSIZE);  // size first of all
    CHECK(send_to(*sock, small, Destination{true, -EAFNOSUPPORT, {}}) == -EAFNOSUPPORT);
    CHECK(send_to(*sock, small, Destination{true, -EINVAL, {}}) == -EINVAL);

    // The payload must fit one IPv4 datagram with its 20-byte header.
    CHECK(send_to(*sock, Bytes(65516, 0), peer_ip) == -EMSGSIZE);

    // Broadcasts need SO_BROADCAST.
    CHECK(send_to(*sock, small, Ipv4Address::broadcast()) == -EACCES);
    CHECK(send_to(*sock, small, subnet_broadcast) == -EACCES);
    REQUIRE(set_int(*sock, SOL_SOCKET, SO_BROADCAST, 1) == 0);
    CHECK(send_to(*sock, small, subnet_broadcast) == 10);
    const auto sent = s.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].ip.dst == subnet_broadcast);

    // A 127/8 source never leaves the host (Linux's route lookup: EINVAL).
    REQUIRE(sock->bind({lo1, Port(0)}) == 0);
    CHECK(send_to(*sock, small, peer_ip) == -EINVAL);
    CHECK(send_to(*sock, small, lo1) == 10);

    // Without IP_HDRINCL, SHUT_WR does not stop a send (Linux's ip_append_data never looks).
    CHECK(sock->shutdown(SHUT_WR) == -ENOTCONN);
    CHECK(send_to(*sock, small, lo1) == 10);
    CHECK(s.sent().empty());
}

TEST_CASE("raw: no route is ENETUNREACH", "[raw]") {
    RawStack s(false);  // no gateway: only our subnet is reachable
    const auto sock = s.open(unassigned_proto);
    const Ipv4Address far(198, 19, 0, 1);
    CHECK(send_to(*sock, pattern(10, 1), far) == -ENETUNREACH);
    CHECK(connect_to(*sock, far) == -ENETUNREACH);
    REQUIRE(set_int(*sock, IPPROTO_IP, IP_HDRINCL, 1) == 0);
    CHECK(send_to(*sock, user_header(our_ip, far, 1, 5, 0, {}), far) == -ENETUNREACH);
    CHECK(send_to(*sock, pattern(10, 1), peer_ip) == -EINVAL);  // routable: the header check speaks
    CHECK(s.sent().empty());
}

// ---- addresses ----

TEST_CASE("raw: bind sets the address only; getsockname shows the protocol as the port", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    CHECK(sockname(*sock) == Endpoint{Ipv4Address::any(), Port(253)});
    CHECK(sock->bind({ip(0, 9), Port(0)}) == -EADDRNOTAVAIL);  // not ours
    CHECK(sock->bind({our_ip, Port(1234)}) == 0);              // the port is ignored
    CHECK(sockname(*sock) == Endpoint{our_ip, Port(253)});
    CHECK(sock->bind({lo1, Port(0)}) == 0);  // again: Linux's raw_bind allows it
    CHECK(sockname(*sock) == Endpoint{lo1, Port(253)});
    CHECK(sock->bind({Ipv4Address(224, 0, 0, 1), Port(0)}) == 0);
    CHECK(sockname(*sock) == Endpoint{Ipv4Address(224, 0, 0, 1), Port(253)});
    CHECK(sock->bind({Ipv4Address::any(), Port(0)}) == 0);
    Endpoint peer;
    CHECK(sock->remote_endpoint(peer) == -ENOTCONN);
}

TEST_CASE("raw: a broadcast-bound socket sends from the route's source", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    REQUIRE(sock->bind({subnet_broadcast, Port(0)}) == 0);
    REQUIRE(send_to(*sock, pattern(10, 1), peer_ip) == 10);
    const auto sent = s.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].ip.src == our_ip);
}

TEST_CASE("raw: connect records the peer and takes the route's source", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    CHECK(connect_to(*sock, subnet_broadcast) == -EACCES);
    CHECK(!sock->connected());

    REQUIRE(connect_to(*sock, peer_ip) == 0);
    CHECK(sock->connected());
    CHECK(sockname(*sock) == Endpoint{our_ip, Port(253)});  // the route's source, now a filter
    Endpoint peer;
    CHECK(sock->remote_endpoint(peer) == -ENOTCONN);  // connected with port 0: Linux says so
    CHECK(sock->bind({our_ip, Port(0)}) == -EINVAL);   // raw_bind refuses a connected socket
    CHECK(sock->shutdown(SHUT_RD) == 0);
    CHECK(sock->shutdown(7) == -EINVAL);

    REQUIRE(connect_to(*sock, other_ip, 7) == 0);  // again: the peer changes
    REQUIRE(sock->remote_endpoint(peer) == 0);
    CHECK(peer == Endpoint{other_ip, Port(7)});

    const auto to_any = s.open(unassigned_proto);
    REQUIRE(connect_to(*to_any, Ipv4Address::any(), 1) == 0);
    REQUIRE(to_any->remote_endpoint(peer) == 0);
    CHECK(peer == Endpoint{lo1, Port(1)});
    CHECK(sockname(*to_any) == Endpoint{lo1, Port(253)});
}

TEST_CASE("raw: connect(AF_UNSPEC) forgets the addresses and, as on Linux, stops delivery", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    REQUIRE(sock->bind({our_ip, Port(0)}) == 0);
    REQUIRE(connect_to(*sock, peer_ip) == 0);
    REQUIRE(sock->connect(Destination{}, {}) == 0);  // AF_UNSPEC
    CHECK(!sock->connected());
    CHECK(!sock->receiving());
    CHECK(sockname(*sock) == Endpoint{Ipv4Address::any(), Port(0)});
    CHECK(s.raw.socket_count() == 0);
    s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 10));
    CHECK(sock->queued_datagrams() == 0);
    CHECK(s.sent().size() == 1);  // protocol unreachable: nobody listens any more
    CHECK(send(*sock, pattern(4, 1)) == -EDESTADDRREQ);
    CHECK(send_to(*sock, pattern(4, 1), peer_ip) == 4);  // it still sends
}

// ---- recvmsg ----

TEST_CASE("raw: recvmsg peeks, truncates and reports like a datagram socket", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    const Bytes first = datagram_from(peer_ip, our_ip, unassigned_proto, 80, 1);
    const Bytes second = datagram_from(other_ip, our_ip, unassigned_proto, 30, 2);
    s.receive(first);
    s.receive(second);
    CHECK(sock->bytes_readable() == 100);

    const Received peek = recv(*sock, 65536, MSG_PEEK);
    CHECK(peek.bytes == first);
    CHECK(sock->queued_datagrams() == 2);
    CHECK(s.raw.counters().in_datagrams.get() == 0);

    const Received cut = recv(*sock, 25, MSG_PEEK);
    CHECK(cut.result == 25);
    CHECK(cut.meta.msg_flags == MSG_TRUNC);
    CHECK(cut.bytes == Bytes(first.begin(), first.begin() + 25));

    const Received full_len = recv(*sock, 25, MSG_TRUNC);  // the real length, then gone
    CHECK(full_len.result == 100);
    CHECK(full_len.meta.msg_flags == MSG_TRUNC);
    CHECK(sock->bytes_readable() == 50);

    CHECK(recv(*sock, 65536, MSG_OOB).result == -EOPNOTSUPP);
    CHECK(recv(*sock, 65536, MSG_ERRQUEUE).result == -EAGAIN);

    const Received r = recv(*sock);
    CHECK(r.bytes == second);
    CHECK(r.meta.source == Endpoint{other_ip, Port(0)});
    CHECK(sock->bytes_readable() == 0);
    CHECK(recv(*sock).result == -EAGAIN);
    CHECK(s.raw.counters().in_datagrams.get() == 2);
}

TEST_CASE("raw: a bad buffer loses the datagram with EFAULT", "[raw]") {
    RawStack s;
    const auto sock = s.open(unassigned_proto);
    s.receive(datagram_from(peer_ip, our_ip, unassigned_proto, 10));
    const iovec bad{nullptr, 100};
    RecvMeta meta;
    CHECK(sock->recvmsg({&bad, 1}, MSG_PEEK, meta) == -EFAULT);
    CHECK(sock->queued_datagrams() == 1);
    CHECK(sock->recvmsg({&bad, 1}, 0, meta) == -EFAULT);
    CHECK(sock->queued_datagrams() == 0);
    CHECK(s.raw.counters().in_copy_errors.get() == 1);
}

// ---- options ----

TEST_CASE("raw: socket options", "[raw]") {
    RawStack s;
    const auto icmp = s.open(icmp_proto);
    const auto other = s.open(unassigned_proto);
    int v = 0;
    REQUIRE(get_int(*icmp, SOL_SOCKET, SO_TYPE, v) == 0);
    CHECK(v == SOCK_RAW);
    REQUIRE(get_int(*other, SOL_SOCKET, SO_PROTOCOL, v) == 0);
    CHECK(v == unassigned_proto);
    REQUIRE(get_int(*other, IPPROTO_IP, IP_HDRINCL, v) == 0);
    CHECK(v == 0);
    // ICMP_FILTER: not implemented (ENOPROTOOPT); Linux refuses it on other protocols.
    CHECK(set_int(*icmp, SOL_RAW, icmp_filter, 0) == -ENOPROTOOPT);
    CHECK(get_int(*icmp, SOL_RAW, icmp_filter, v) == -ENOPROTOOPT);
    CHECK(set_int(*other, SOL_RAW, icmp_filter, 0) == -EOPNOTSUPP);
    CHECK(get_int(*other, SOL_RAW, icmp_filter, v) == -EOPNOTSUPP);
    CHECK(set_int(*other, SOL_RAW, 2, 0) == -ENOPROTOOPT);
    CHECK(set_int(*other, IPPROTO_UDP, 1, 0) == -ENOPROTOOPT);
    // IPPROTO_RAW's IP_HDRINCL can be turned off, as on Linux.
    const auto raw = s.open(IPPROTO_RAW);
    REQUIRE(set_int(*raw, IPPROTO_IP, IP_HDRINCL, 0) == 0);
    REQUIRE(get_int(*raw, IPPROTO_IP, IP_HDRINCL, v) == 0);
    CHECK(v == 0);
}

TEST_CASE("raw: sockets join and leave the layer at creation and close", "[raw]") {
    RawStack s;
    auto a = s.open(icmp_proto);
    auto b = s.open(icmp_proto);
    CHECK(s.raw.socket_count() == 2);
    b->close();
    CHECK(s.raw.socket_count() == 1);
    b.reset();  // closing twice (close, then the destructor) is harmless
    a.reset();
    CHECK(s.raw.socket_count() == 0);
    s.receive(echo_request_from_peer());
    CHECK(s.raw.counters().in_delivers.get() == 0);
    CHECK(s.sent().size() == 1);
}
