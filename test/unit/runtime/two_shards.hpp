// Two Shards joined by a SimLink on one ManualClock: the simulation fixture of the runtime,
// UDP and socket API tests (DESIGN.md §6.3).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "phy/impairment.hpp"
#include "phy/sim_link.hpp"
#include "runtime/shard.hpp"
#include "time/clock.hpp"
#include "unit/iface/forge.hpp"

namespace pollux::test::two_shards {

using pollux::iface::NeighborState;
using pollux::ip::OutputResult;
using pollux::phy::ImpairmentConfig;
using pollux::phy::SimLink;
using pollux::phy::SimLinkConfig;
using pollux::runtime::Shard;
using pollux::runtime::ShardConfig;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::time::ManualClock;
using pollux::wire::IcmpType;
using pollux::wire::IpProtocol;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Cidr;
using pollux::wire::Ipv4Repr;
using namespace pollux::test::forge;

inline const Ipv4Address ip_a = ip(0, 1);
inline const Ipv4Address ip_b = ip(0, 2);

using Counters = std::map<std::string, std::uint64_t>;

inline Counters counters(const Shard& s) {
    Counters c;
    s.visit_counters([&](const char* prefix, const char* name, std::uint64_t v) {
        c[std::string(prefix) + "." + name] = v;
    });
    return c;
}

inline SimLinkConfig link_config() {
    SimLinkConfig c;
    c.pool = pollux::test::mbuf_pool();
    c.latency = Duration::from_us(50);
    return c;
}

inline ShardConfig shard_config(const pollux::phy::Port& port, Ipv4Address addr, std::optional<ImpairmentConfig> impair) {
    ShardConfig c;
    c.interface.mac = port.mac();
    c.interface.address = Ipv4Cidr(addr, 24);
    c.impair = impair;
    return c;
}

inline std::optional<ImpairmentConfig> loss(double p, std::uint64_t seed) {
    ImpairmentConfig c;
    c.loss = p;
    c.seed = seed;
    return c;
}

// Two shards, A (198.18.0.1) on the link's a() end and B (198.18.0.2) on b(), driven by one
// manual clock.
struct Sim {
    explicit Sim(std::optional<ImpairmentConfig> impair_a = std::nullopt,
                 std::optional<ImpairmentConfig> impair_b = std::nullopt)
        : link(clock, link_config()),
          a(link.a(), clock, shard_config(link.a(), ip_a, impair_a)),
          b(link.b(), clock, shard_config(link.b(), ip_b, impair_b)) {
        a.start();
        b.start();
    }

    // A sends an echo request of `len` data bytes to B through its IPv4 layer.
    OutputResult ping(std::uint16_t seq, std::size_t len = 56) {
        const Bytes msg = icmp_echo(IcmpType::echo_request, 0x0a0a, seq, pattern(len, seq));
        Ipv4Repr h;
        h.dst = ip_b;
        h.protocol = IpProtocol::icmp;
        return a.ipv4().output(packet(msg), h, clock.now());
    }

    // Polls both shards alternately, 1 ms of virtual time per round, for `d`.
    void run(Duration d) {
        const Instant end = clock.now() + d;
        while (clock.now() < end) {
            a.poll_once();
            b.poll_once();
            clock.advance(Duration::from_ms(1));
        }
    }
    // Runs until A has `n` echo replies, or `limit` has passed; true when it got them.
    bool run_until_replies(std::uint64_t n, Duration limit) {
        const Instant end = clock.now() + limit;
        while (clock.now() < end) {
            if (a.ipv4().icmp().counters().in_echo_reps.get() >= n) return true;
            run(Duration::from_ms(1));
        }
        return a.ipv4().icmp().counters().in_echo_reps.get() >= n;
    }

    ManualClock clock{Instant::from_ns(1'000'000'000)};
    SimLink link;
    Shard a;
    Shard b;
};

}  // namespace pollux::test::two_shards
