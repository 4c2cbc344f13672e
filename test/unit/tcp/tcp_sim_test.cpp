// TCP between two shards over a SimLink on virtual time: handshake through the layers,
// bulk transfer both ways (bytes compared), loss, RST for closed ports, orphaned closes.
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <cerrno>
#include <memory>

#include "tcp/tcp_socket.hpp"
#include "unit/runtime/two_shards.hpp"

using namespace pollux::test::two_shards;
using pollux::socket::Destination;
using pollux::socket::RecvMeta;
using pollux::tcp::State;
using pollux::tcp::TcpSocket;
using pollux::wire::Endpoint;
using pollux::wire::Port;

namespace {

Destination to(Ipv4Address a, std::uint16_t port) {
    Destination d;
    d.present = true;
    d.endpoint = {a, Port(port)};
    return d;
}

std::unique_ptr<TcpSocket> listener(Shard& shard, std::uint16_t port) {
    auto s = shard.tcp().create_socket();
    REQUIRE(s->bind({Ipv4Address::any(), Port(port)}) == 0);
    REQUIRE(s->listen(16) == 0);
    return s;
}

// Pumps `total` bytes from `from` to `to` while running the link; returns what arrived.
Bytes transfer(Sim& sim, TcpSocket& from, TcpSocket& to_sock, const Bytes& data, Duration limit) {
    Bytes got;
    std::size_t sent = 0;
    Bytes buf(65536);
    const Instant end = sim.clock.now() + limit;
    while (got.size() < data.size() && sim.clock.now() < end) {
        if (sent < data.size()) {
            const iovec v{const_cast<std::uint8_t*>(data.data() + sent), data.size() - sent};
            const long n = from.sendmsg({&v, 1}, Destination{}, 0, sim.clock.now());
            if (n > 0) sent += static_cast<std::size_t>(n);
        }
        sim.a.flush();
        sim.b.flush();
        sim.run(Duration::from_ms(1));
        while (true) {
            const iovec v{buf.data(), buf.size()};
            RecvMeta meta;
            const long n = to_sock.recvmsg({&v, 1}, 0, meta);
            if (n <= 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + n);
        }
    }
    return got;
}

struct Pair {
    std::unique_ptr<TcpSocket> server_listener;
    std::unique_ptr<TcpSocket> client;
    std::unique_ptr<TcpSocket> server;
};

// B listens on 80, A connects; both ends established.
Pair connect_pair(Sim& sim) {
    Pair p;
    p.server_listener = listener(sim.b, 80);
    p.client = sim.a.tcp().create_socket();
    REQUIRE(p.client->connect(to(ip_b, 80), sim.clock.now()) == -EINPROGRESS);
    sim.a.flush();
    sim.run(Duration::from_ms(20));
    REQUIRE(p.client->finish_connect() == 0);
    pollux::socket::Socket* accepted = nullptr;
    Endpoint peer;
    REQUIRE(p.server_listener->accept(accepted, peer) == 0);
    p.server.reset(static_cast<TcpSocket*>(accepted));
    CHECK(peer.address == ip_a);
    CHECK(p.server->tcb()->state() == State::established);
    CHECK(p.client->tcb()->state() == State::established);
    return p;
}

}  // namespace

TEST_CASE("TCP over the sim link: connect, 1 MB each way, orderly close", "[tcp][sim]") {
    const unsigned before = pool_in_use();
    {
        Sim sim;
        sim.run(Duration::from_ms(10));
        Pair p = connect_pair(sim);
        const Bytes up = pattern(1 << 20, 1);
        const Bytes down = pattern(1 << 20, 2);
        CHECK(transfer(sim, *p.client, *p.server, up, Duration::from_s(30)) == up);
        CHECK(transfer(sim, *p.server, *p.client, down, Duration::from_s(30)) == down);
        CHECK(p.client->shutdown(SHUT_WR) == 0);
        sim.a.flush();
        sim.run(Duration::from_ms(20));
        CHECK(p.server->tcb()->state() == State::close_wait);
        CHECK(p.client->tcb()->state() == State::fin_wait_2);
        p.server->close();
        CHECK(p.server->orphaned_on_close());
        (void)p.server.release();  // the layer owns the orphan now
        sim.b.flush();
        sim.run(Duration::from_ms(20));
        CHECK(p.client->tcb()->state() == State::time_wait);
        CHECK(sim.b.tcp().connections() == 0);  // the orphan finished LAST-ACK and was freed
        sim.run(Duration::from_s(61));
        CHECK(p.client->tcb()->state() == State::closed);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("TCP to a closed port: RST, and connect reports ECONNREFUSED", "[tcp][sim]") {
    Sim sim;
    sim.run(Duration::from_ms(10));
    auto client = sim.a.tcp().create_socket();
    REQUIRE(client->connect(to(ip_b, 81), sim.clock.now()) == -EINPROGRESS);
    sim.a.flush();
    sim.run(Duration::from_ms(20));
    CHECK(client->finish_connect() == -ECONNREFUSED);
    CHECK(counters(sim.b).at("tcp.OutRsts") == 1);
}

TEST_CASE("TCP recovers from 5 % loss both ways (deterministic seed)", "[tcp][sim]") {
    const unsigned before = pool_in_use();
    {
        Sim sim(loss(0.05, 11), loss(0.05, 12));
        sim.run(Duration::from_ms(10));
        Pair p = connect_pair(sim);
        const Bytes up = pattern(256 * 1024, 3);
        CHECK(transfer(sim, *p.client, *p.server, up, Duration::from_s(120)) == up);
        CHECK(p.client->tcb()->retransmits() > 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("TCP EstabResets counts ESTABLISHED/CLOSE-WAIT -> CLOSED only (RFC 1213 tcpEstabResets)", "[tcp][sim]") {
    Sim sim;
    sim.run(Duration::from_ms(10));
    // An orderly close both ways: no reset.
    {
        Pair p = connect_pair(sim);
        p.client->close();
        (void)p.client.release();  // an orphan now
        p.server->close();
        (void)p.server.release();
        sim.a.flush();
        sim.b.flush();
        sim.run(Duration::from_s(70));
        CHECK(counters(sim.a).at("tcp.EstabResets") == 0);
        CHECK(counters(sim.b).at("tcp.EstabResets") == 0);
    }
    // SO_LINGER 0 on one side: that side sends a RST (its own reset, counted at close
    // with no later event), the other receives it.
    {
        Pair p = connect_pair(sim);
        const linger lg{1, 0};
        REQUIRE(p.client->setsockopt(SOL_SOCKET, SO_LINGER, {reinterpret_cast<const std::uint8_t*>(&lg), sizeof lg}) ==
                0);
        p.client->close();
        p.client.reset();
        CHECK(counters(sim.a).at("tcp.EstabResets") == 1);
        sim.a.flush();
        sim.run(Duration::from_ms(20));
        CHECK(p.server->tcb()->state() == State::closed);
        CHECK(counters(sim.b).at("tcp.EstabResets") == 1);
    }
}
