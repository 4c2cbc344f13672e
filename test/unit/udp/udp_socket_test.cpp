// UDP sockets between two shards over a SimLink, on virtual time: delivery, fragmentation,
// the receive bound, ICMP errors, broadcast, and every drop counted.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "udp/udp_socket.hpp"
#include "unit/runtime/two_shards.hpp"
#include "wire/udp.hpp"

using namespace pollux::test::two_shards;
using pollux::socket::Destination;
using pollux::socket::RecvMeta;
using pollux::udp::UdpSocket;
using pollux::wire::Endpoint;
using pollux::wire::Port;

namespace {

Destination to(Ipv4Address a, std::uint16_t port) {
    Destination d;
    d.present = true;
    d.endpoint = {a, Port(port)};
    return d;
}

long send(UdpSocket& s, const Bytes& data, const Destination& d, Instant now) {
    const iovec v{const_cast<std::uint8_t*>(data.data()), data.size()};
    return s.sendmsg({&v, 1}, d, 0, now);
}

struct Received {
    long n = 0;
    Bytes data;
    RecvMeta meta;
};

Received recv(UdpSocket& s, std::size_t capacity = 65536, int flags = 0) {
    Received r;
    r.data.resize(capacity);
    const iovec v{r.data.data(), r.data.size()};
    r.n = s.recvmsg({&v, 1}, flags, r.meta);
    if (r.n >= 0) r.data.resize(static_cast<std::size_t>(std::min<long>(r.n, static_cast<long>(capacity))));
    return r;
}

std::unique_ptr<UdpSocket> bound(Shard& shard, std::uint16_t port) {
    auto s = shard.udp().create_socket();
    REQUIRE(s->bind({Ipv4Address::any(), Port(port)}) == 0);
    return s;
}

}  // namespace

TEST_CASE("UDP datagrams of every size cross the link intact, fragmented when needed", "[udp]") {
    const unsigned before = pool_in_use();
    {
        Sim s;
        s.run(Duration::from_ms(10));
        auto server = bound(s.b, 7);
        auto client = bound(s.a, 5000);
        for (std::size_t len : {0u, 1u, 1472u, 1473u, 8192u, 65507u}) {
            const Bytes msg = pattern(len, static_cast<std::uint32_t>(len));
            REQUIRE(send(*client, msg, to(ip_b, 7), s.clock.now()) == static_cast<long>(len));
            s.a.flush();
            s.run(Duration::from_ms(5));
            const Received r = recv(*server);
            REQUIRE(r.n == static_cast<long>(len));
            CHECK(r.data == msg);
            CHECK(r.meta.source == Endpoint{ip_a, Port(5000)});
            CHECK(r.meta.msg_flags == 0);
        }
        const Counters cb = counters(s.b);
        CHECK(cb.at("udp.InDatagrams") == 6);
        CHECK(cb.at("udp.InErrors") == 0);
        CHECK(cb.at("reasm.ReasmOKs") == 3);  // 1473, 8192 and 65507 were fragmented
        CHECK(counters(s.a).at("udp.OutDatagrams") == 6);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("UDP receive queue is bounded by SO_RCVBUF; drops are counted and memory stays flat", "[udp]") {
    const unsigned before = pool_in_use();
    {
        Sim s;
        s.run(Duration::from_ms(10));
        auto sink = bound(s.b, 9);
        int small = 16384;
        REQUIRE(sink->setsockopt(SOL_SOCKET, SO_RCVBUF, {reinterpret_cast<const std::uint8_t*>(&small), sizeof small}) == 0);
        auto client = bound(s.a, 5000);
        const Bytes msg = pattern(100, 1);
        // Resolve B's address first, so that the flood meets the socket, not ARP's queue.
        REQUIRE(send(*client, msg, to(ip_b, 9), s.clock.now()) == 100);
        s.a.flush();
        s.run(Duration::from_ms(5));
        REQUIRE(recv(*sink).n == 100);
        const std::uint64_t read_before = counters(s.b).at("udp.InDatagrams");
        unsigned peak = 0;
        for (int i = 0; i < 1000; ++i) {
            REQUIRE(send(*client, msg, to(ip_b, 9), s.clock.now()) == 100);
            if (i % 16 == 15) {
                s.a.flush();
                s.run(Duration::from_ms(1));
                peak = std::max(peak, pool_in_use());
            }
        }
        s.a.flush();
        s.run(Duration::from_ms(5));
        const Counters cb = counters(s.b);
        // 2 x 16384 = 32768 bytes of buffer admit 16 mbufs of 2176 (queueing stops once the
        // queue holds more than the limit), the rest are dropped and counted.
        const std::size_t queued = sink->queued_datagrams();
        CHECK(queued >= 15);
        CHECK(queued <= 17);
        CHECK(sink->queued_bytes() <= 32768 + 2304);
        CHECK(cb.at("udp.RcvbufErrors") == 1000 - queued);
        CHECK(cb.at("udp.InErrors") == 1000 - queued);
        CHECK(cb.at("udp.InDatagrams") == read_before);  // counted when the application reads
        // No growth: what is held is the queue plus what is in flight, not 1000 datagrams.
        CHECK(peak <= before + 200);
        while (recv(*sink).n >= 0) {
        }
        CHECK(counters(s.b).at("udp.InDatagrams") == read_before + queued);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("UDP to a closed port: NoPorts, ICMP port unreachable, ECONNREFUSED on the connected sender", "[udp]") {
    Sim s;
    s.run(Duration::from_ms(10));
    auto client = s.a.udp().create_socket();
    Destination peer = to(ip_b, 4444);
    REQUIRE(client->connect(peer, s.clock.now()) == 0);
    REQUIRE(send(*client, pattern(10, 1), Destination{}, s.clock.now()) == 10);
    s.a.flush();
    s.run(Duration::from_ms(5));
    CHECK(counters(s.b).at("udp.NoPorts") == 1);
    CHECK(counters(s.b).at("icmp.OutDestUnreachs") == 1);
    CHECK(client->has_pending_error());
    // udp_recvmsg() reports the pending error first and clears it.
    CHECK(recv(*client).n == -ECONNREFUSED);
    CHECK(recv(*client).n == -EAGAIN);

    // The same error is reported by the next send instead, when that comes first.
    REQUIRE(send(*client, pattern(10, 2), Destination{}, s.clock.now()) == 10);
    s.a.flush();
    s.run(Duration::from_ms(5));
    CHECK(send(*client, pattern(10, 3), Destination{}, s.clock.now()) == -ECONNREFUSED);
    CHECK(!client->has_pending_error());

    // An unconnected socket does not hear about it (no IP_RECVERR), as on Linux.
    auto loose = bound(s.a, 6000);
    REQUIRE(send(*loose, pattern(10, 4), to(ip_b, 4444), s.clock.now()) == 10);
    s.a.flush();
    s.run(Duration::from_ms(5));
    CHECK(!loose->has_pending_error());
    CHECK(counters(s.b).at("udp.NoPorts") == 3);
}

TEST_CASE("UDP drops bad checksums and lying lengths, counting each reason", "[udp]") {
    Sim s;
    s.run(Duration::from_ms(10));
    auto server = bound(s.b, 7);
    const auto forge = [&](std::uint16_t length_field, bool corrupt) {
        Bytes udp(8 + 20);
        pollux::wire::UdpRepr{Port(5000), Port(7), 20}.emit(udp, ip_a, ip_b);
        udp[4] = static_cast<std::uint8_t>(length_field >> 8);
        udp[5] = static_cast<std::uint8_t>(length_field);
        if (corrupt) udp[10] ^= 0x40;
        Ipv4Repr h;
        h.dst = ip_b;
        h.protocol = IpProtocol::udp;
        REQUIRE(s.a.ipv4().output(packet(udp), h, s.clock.now()) == OutputResult::ok);
        s.a.flush();
        s.run(Duration::from_ms(2));
    };
    forge(28, true);   // checksum wrong
    forge(29, false);  // longer than the IP payload
    forge(7, false);   // shorter than the header
    forge(28, false);  // good
    const Counters cb = counters(s.b);
    CHECK(cb.at("udp.InCsumErrors") == 1);
    CHECK(cb.at("udp.InBadLength") == 2);
    CHECK(cb.at("udp.InErrors") == 3);
    CHECK(server->queued_datagrams() == 1);
}

TEST_CASE("UDP length field shorter than the IP payload trims the datagram (RFC 768)", "[udp]") {
    Sim s;
    s.run(Duration::from_ms(10));
    auto server = bound(s.b, 7);
    Bytes udp(8 + 20);
    for (std::size_t i = 8; i < udp.size(); ++i) udp[i] = static_cast<std::uint8_t>(i);
    // The header says 8 + 12; the checksum covers those 20 bytes only.
    pollux::wire::UdpRepr{Port(5000), Port(7), 12}.emit(udp, ip_a, ip_b);
    Ipv4Repr h;
    h.dst = ip_b;
    h.protocol = IpProtocol::udp;
    REQUIRE(s.a.ipv4().output(packet(udp), h, s.clock.now()) == OutputResult::ok);
    s.a.flush();
    s.run(Duration::from_ms(5));  // ARP first: request, reply, then the datagram
    const Received r = recv(*server);
    REQUIRE(r.n == 12);
    CHECK(r.data == Bytes(udp.begin() + 8, udp.begin() + 20));
}

TEST_CASE("UDP broadcast needs SO_BROADCAST and reaches every matching socket", "[udp]") {
    Sim s;
    s.run(Duration::from_ms(10));
    auto first = s.b.udp().create_socket();
    auto second = s.b.udp().create_socket();
    auto specific = s.b.udp().create_socket();
    const int on = 1;
    const std::span<const std::uint8_t> yes{reinterpret_cast<const std::uint8_t*>(&on), sizeof on};
    REQUIRE(first->setsockopt(SOL_SOCKET, SO_REUSEADDR, yes) == 0);
    REQUIRE(second->setsockopt(SOL_SOCKET, SO_REUSEADDR, yes) == 0);
    REQUIRE(specific->setsockopt(SOL_SOCKET, SO_REUSEADDR, yes) == 0);
    REQUIRE(first->bind({Ipv4Address::any(), Port(67)}) == 0);
    REQUIRE(second->bind({Ipv4Address::any(), Port(67)}) == 0);
    REQUIRE(specific->bind({ip_b, Port(67)}) == 0);  // a unicast-bound socket hears no broadcast

    auto client = bound(s.a, 68);
    const Ipv4Address subnet_broadcast = ip(0, 255);
    CHECK(send(*client, pattern(4, 1), to(subnet_broadcast, 67), s.clock.now()) == -EACCES);
    REQUIRE(client->setsockopt(SOL_SOCKET, SO_BROADCAST, yes) == 0);
    REQUIRE(send(*client, pattern(4, 1), to(subnet_broadcast, 67), s.clock.now()) == 4);
    REQUIRE(send(*client, pattern(4, 2), to(Ipv4Address::broadcast(), 99), s.clock.now()) == 4);
    s.a.flush();
    s.run(Duration::from_ms(5));
    CHECK(recv(*first).data == pattern(4, 1));
    CHECK(recv(*second).data == pattern(4, 1));
    CHECK(recv(*specific).n == -EAGAIN);
    const Counters cb = counters(s.b);
    CHECK(cb.at("udp.IgnoredMulti") == 1);  // port 99: nobody, and no ICMP for a broadcast
    CHECK(cb.at("udp.NoPorts") == 0);
    CHECK(cb.at("icmp.OutDestUnreachs") == 0);
}

TEST_CASE("UDP recvmsg: MSG_PEEK keeps the datagram, a short buffer truncates and discards the rest", "[udp]") {
    Sim s;
    s.run(Duration::from_ms(10));
    auto server = bound(s.b, 7);
    auto client = bound(s.a, 5000);
    REQUIRE(send(*client, pattern(100, 1), to(ip_b, 7), s.clock.now()) == 100);
    REQUIRE(send(*client, pattern(30, 2), to(ip_b, 7), s.clock.now()) == 30);
    s.a.flush();
    s.run(Duration::from_ms(5));
    CHECK(server->bytes_readable() == 100);
    const Received peek = recv(*server, 10, MSG_PEEK);
    CHECK(peek.n == 10);
    CHECK((peek.meta.msg_flags & MSG_TRUNC) != 0);
    CHECK(recv(*server, 10, MSG_PEEK | MSG_TRUNC).n == 100);
    const Received cut = recv(*server, 10);
    CHECK(cut.n == 10);
    const Bytes first = pattern(100, 1);
    CHECK(cut.data == Bytes(first.begin(), first.begin() + 10));
    CHECK(server->bytes_readable() == 30);  // the rest of the first datagram is gone
    CHECK(recv(*server).data == pattern(30, 2));
    CHECK(server->bytes_readable() == 0);
}

TEST_CASE("UDP send checks come in Linux's order", "[udp]") {
    Sim s;
    auto sock = s.a.udp().create_socket();
    const Bytes small = pattern(4, 1);
    CHECK(send(*sock, small, Destination{}, s.clock.now()) == -EDESTADDRREQ);
    Endpoint local;
    sock->local_endpoint(local);
    CHECK(local.port.value() >= 32768);  // inet_send_prepare() autobound it first
    CHECK(send(*sock, small, to(ip_b, 0), s.clock.now()) == -EINVAL);
    Destination bad_family;
    bad_family.present = true;
    bad_family.error = -EAFNOSUPPORT;
    CHECK(send(*sock, small, bad_family, s.clock.now()) == -EAFNOSUPPORT);
    CHECK(send(*sock, pattern(65508, 1), to(ip_b, 7), s.clock.now()) == -EMSGSIZE);
    CHECK(send(*sock, small, to(Ipv4Address(198, 19, 0, 1), 7), s.clock.now()) == -ENETUNREACH);
    CHECK(sock->shutdown(SHUT_WR) == -ENOTCONN);  // recorded all the same
    CHECK(send(*sock, small, to(ip_b, 7), s.clock.now()) == -EPIPE);
}
