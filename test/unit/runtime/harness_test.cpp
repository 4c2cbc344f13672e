// The harness engine from C++ (runtime/harness.hpp) and its port (phy/queue_port.hpp):
// what the C test of test/harness cannot see — mbuf chains, pool accounting, the timer
// tick grid. The public API's behaviour is test/harness/harness_test.c.
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <rte_mbuf.h>

#include "phy/queue_port.hpp"
#include "pollux/socket.h"
#include "runtime/api_context.hpp"
#include "runtime/harness.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"
#include "unit/iface/forge.hpp"

using namespace pollux;
using pollux::test::Bytes;
using pollux::test::pattern;
using pollux::test::pool_in_use;
using namespace pollux::test::forge;

namespace {

// 198.18.0.<d> (forge's ip(), which `using namespace pollux` would make ambiguous).
wire::Ipv4Address host(std::uint8_t d) { return pollux::test::forge::ip(0, d); }

runtime::HarnessConfig config_on_test_pool(time::Instant start = time::Instant()) {
    runtime::HarnessConfig c;
    c.address = wire::Ipv4Cidr(host(2), 24);
    c.start = start;
    c.pool = pollux::test::mbuf_pool();
    return c;
}

Bytes drain_one(phy::QueuePort& port) {
    Bytes out(70000);
    const long n = port.drain(out);
    REQUIRE(n >= 0);
    out.resize(static_cast<std::size_t>(n));
    return out;
}

sockaddr_in in4(wire::Ipv4Address a, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    std::uint8_t b[4];
    a.to_bytes(b);
    std::memcpy(&sa.sin_addr.s_addr, b, 4);
    sa.sin_port = static_cast<in_port_t>((port >> 8) | ((port & 0xff) << 8));  // test-side byte swap
    return sa;
}

}  // namespace

TEST_CASE("QueuePort: frames in, in order, chained past one mbuf; frames out linearised", "[harness]") {
    const unsigned before = pool_in_use();
    {
        phy::QueuePort port({mac(2), 1500, pollux::test::mbuf_pool()});
        const Bytes small = pattern(60, 1);
        const Bytes big = pattern(5000, 2);  // more than one mbuf's data room
        REQUIRE(port.inject(small) == 0);
        REQUIRE(port.inject(big) == 0);
        CHECK(port.inject({}) == -EINVAL);
        CHECK(port.rx_pending() == 2);

        rte_mbuf* got[4] = {};
        REQUIRE(port.rx_burst(0, got, 4) == 2);
        CHECK(got[0]->pkt_len == 60);
        CHECK(got[1]->pkt_len == 5000);
        CHECK(got[1]->nb_segs >= 3);
        CHECK(pollux::test::contents(buf::PacketBuf(got[0])) == small);
        const buf::PacketBuf big_rx(got[1]);
        CHECK(pollux::test::contents(big_rx) == big);
        CHECK(port.rx_burst(0, got, 4) == 0);

        // Out: a chain and a plain frame, drained in the order sent, the chain as one buffer.
        const Bytes want = pattern(1007, 3);
        buf::PacketBuf chain = pollux::test::chained(want, {100, 900});
        REQUIRE(chain.segment_count() == 3);
        buf::PacketBuf plain = pollux::test::packet(pattern(64, 6));
        rte_mbuf* out[2] = {chain.release(), plain.release()};
        REQUIRE(port.tx_burst(0, out, 2) == 2);
        CHECK(port.tx_pending() == 2);
        CHECK(port.next_tx_len() == 1007);
        std::vector<std::uint8_t> tight(1006);
        CHECK(port.drain(tight) == -EMSGSIZE);
        CHECK(port.tx_pending() == 2);  // kept
        CHECK(drain_one(port) == want);
        // Left queued: the destructor frees it.
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Harness: a deadline between ticks fires at the next tick, not before", "[harness]") {
    // A start that is not a multiple of the tick: the grid starts there.
    const time::Instant start = time::Instant::from_ns(12'345);
    runtime::Harness h(config_on_test_pool(start));
    CHECK(h.next_event() == start + runtime::Shard::housekeeping_period);

    bool fired = false;
    time::Instant fired_at;
    struct Ctx {
        bool* fired;
        time::Instant* at;
    } ctx{&fired, &fired_at};
    time::Timer timer(
        [](time::Timer&, time::Instant now, void* c) noexcept {
            *static_cast<Ctx*>(c)->fired = true;
            *static_cast<Ctx*>(c)->at = now;
        },
        &ctx);
    h.shard().timers().arm(timer, start + time::Duration::from_us(150) + time::Duration::from_ns(1));
    CHECK(h.next_event() == start + time::Duration::from_us(200));
    h.advance(time::Duration::from_us(200) - time::Duration::from_ns(1));
    CHECK_FALSE(fired);
    h.advance(time::Duration::from_ns(1));
    CHECK(fired);
    CHECK(fired_at == start + time::Duration::from_us(200));
    CHECK(h.next_event() == start + runtime::Shard::housekeeping_period);

    // One long advance stops at every housekeeping instant on the way.
    const std::uint64_t fired_before = [&] {
        std::uint64_t n = 0;
        h.shard().visit_counters([&](const char* p, const char* name, std::uint64_t v) {
            if (std::strcmp(p, "shard") == 0 && std::strcmp(name, "timers_fired") == 0) n = v;
        });
        return n;
    }();
    h.advance(time::Duration::from_ms(1000));
    std::uint64_t fired_after = 0;
    h.shard().visit_counters([&](const char* p, const char* name, std::uint64_t v) {
        if (std::strcmp(p, "shard") == 0 && std::strcmp(name, "timers_fired") == 0) fired_after = v;
    });
    CHECK(fired_after - fired_before == 10);  // housekeeping at 100, 200, ..., 1000 ms
}

TEST_CASE("Harness: every mbuf is back in the pool after destruction, whatever was left", "[harness]") {
    const unsigned before = pool_in_use();
    {
        runtime::Harness h(config_on_test_pool());
        runtime::attach_api(h.shard(), true);
        // A UDP datagram waiting for ARP, a SYN being retransmitted, frames never drained.
        const int u = px_socket(AF_INET, SOCK_DGRAM, 0);
        const sockaddr_in to = in4(host(1), 9);
        CHECK(px_sendto(u, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 1);
        const int t = px_socket(AF_INET, SOCK_STREAM, 0);
        errno = 0;
        CHECK(px_connect(t, reinterpret_cast<const sockaddr*>(&to), sizeof to) == -1);
        CHECK(errno == EINPROGRESS);
        // The peer answers ARP: the SYN and the datagram leave, and stay undrained.
        REQUIRE(h.inject(arp_frame(mac(2), arp_reply(mac(1), host(1), mac(2), host(2)))) == 0);
        h.advance(time::Duration::from_ms(1500));
        CHECK(h.port().tx_pending() >= 4);  // gratuitous ARP, ARP request, datagram, SYN, SYN again
        CHECK(pool_in_use() > before);
        runtime::detach_api();
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Harness: drain_ip skips what is not IPv4 and answers ARP for any address but ours", "[harness]") {
    runtime::Harness h(config_on_test_pool());
    runtime::attach_api(h.shard(), true);
    const int u = px_socket(AF_INET, SOCK_DGRAM, 0);
    // Off-link through a gateway would need one; on-link 198.18.0.77 is resolved by the harness.
    const sockaddr_in to = in4(host(77), 9);
    CHECK(px_sendto(u, "abc", 3, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 3);
    std::vector<std::uint8_t> d(2048);
    const long n = h.drain_ip(d);
    REQUIRE(n == 20 + 8 + 3);  // padding to 60 bytes trimmed
    d.resize(static_cast<std::size_t>(n));
    const auto ip4 = wire::Ipv4Repr::parse(d);
    REQUIRE(ip4.ok());
    CHECK(ip4->dst == host(77));
    CHECK(h.pending_len() == -EAGAIN);
    // The stack now holds the peer MAC for .77, as the harness answered.
    CHECK(px_sendto(u, "d", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 1);
    Bytes f = drain_one(h.port());
    const auto eth = wire::EthernetRepr::parse(f);
    REQUIRE(eth.ok());
    CHECK(eth->dst == h.config().peer_mac);
    CHECK(px_close(u) == 0);
    runtime::detach_api();
}
