#include <catch2/catch.hpp>

#include <cstdint>
#include <set>

#include "tcp/isn.hpp"

using pollux::tcp::IsnGenerator;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::wire::Ipv4Address;
using pollux::wire::Port;
using pollux::wire::SeqNum;

namespace {

// The key of the SipHash paper's test vectors (bytes 00..0f, little-endian words).
constexpr std::uint64_t k0 = 0x0706050403020100ull;
constexpr std::uint64_t k1 = 0x0f0e0d0c0b0a0908ull;

const Ipv4Address local(198, 18, 0, 2);
const Ipv4Address remote(198, 18, 0, 1);
constexpr Port local_port(80);
constexpr Port remote_port(40000);

constexpr std::int64_t tick_ns = 4'000;
// 2^32 ticks of 4 us: where M wraps (about 4.77 hours).
constexpr std::int64_t wrap_ns = (std::int64_t{1} << 32) * tick_ns;

}  // namespace

TEST_CASE("ISN: F is SipHash-2-4 of the 4-tuple (golden value)", "[tcp][isn]") {
    const IsnGenerator gen(k0, k1);
    // Computed with an independent SipHash-2-4 (checked against the paper's vector
    // a129ca6149be45e5) over the words (local<<32 | remote), (lport<<16 | rport).
    CHECK(gen.hash_f(local, local_port, remote, remote_port) == 0x4cc0ecf1u);
    // At M = 0 the ISN is F itself.
    CHECK(gen.generate(local, local_port, remote, remote_port, Instant::from_ns(0)) == SeqNum(0x4cc0ecf1u));
}

TEST_CASE("ISN: same 4-tuple, key and time give the same ISN", "[tcp][isn]") {
    const IsnGenerator a(k0, k1);
    const IsnGenerator b(k0, k1);
    const Instant now = Instant::from_ns(123'456'789'012);
    const SeqNum isn = a.generate(local, local_port, remote, remote_port, now);
    CHECK(a.generate(local, local_port, remote, remote_port, now) == isn);
    CHECK(b.generate(local, local_port, remote, remote_port, now) == isn);
}

TEST_CASE("ISN: M is a 4-microsecond timer (RFC 6528 3)", "[tcp][isn]") {
    const IsnGenerator gen(k0, k1);
    const Instant now = Instant::from_ns(1'000 * tick_ns);  // on a tick boundary
    const SeqNum isn = gen.generate(local, local_port, remote, remote_port, now);

    CHECK(gen.generate(local, local_port, remote, remote_port, now + Duration::from_us(4)) == isn + 1);
    CHECK(gen.generate(local, local_port, remote, remote_port, now + Duration::from_ns(3'999)) == isn);
    CHECK(gen.generate(local, local_port, remote, remote_port, now + Duration::from_ms(4)) == isn + 1'000);
    CHECK(gen.generate(local, local_port, remote, remote_port, now + Duration::from_s(1)) == isn + 250'000);

    CHECK(IsnGenerator::timer_m(Instant::from_ns(0)) == 0);
    CHECK(IsnGenerator::timer_m(Instant::from_ns(3'999)) == 0);
    CHECK(IsnGenerator::timer_m(Instant::from_ns(4'000)) == 1);
    CHECK(IsnGenerator::timer_m(Instant::from_ns(1'000'000'000)) == 250'000);
    // A clock whose epoch leaves `now` negative still ticks one per 4 us (floor).
    CHECK(IsnGenerator::timer_m(Instant::from_ns(-1)) == 0xffffffffu);
    CHECK(IsnGenerator::timer_m(Instant::from_ns(-4'000)) == 0xffffffffu);
    CHECK(IsnGenerator::timer_m(Instant::from_ns(-4'001)) == 0xfffffffeu);
}

TEST_CASE("ISN: M wraps at 2^32 ticks and the ISN wraps with it", "[tcp][isn]") {
    const IsnGenerator gen(k0, k1);
    const std::uint32_t f = gen.hash_f(local, local_port, remote, remote_port);

    CHECK(IsnGenerator::timer_m(Instant::from_ns(wrap_ns - tick_ns)) == 0xffffffffu);
    CHECK(IsnGenerator::timer_m(Instant::from_ns(wrap_ns)) == 0);
    CHECK(IsnGenerator::timer_m(Instant::from_ns(wrap_ns + 5 * tick_ns)) == 5);

    const SeqNum before = gen.generate(local, local_port, remote, remote_port, Instant::from_ns(wrap_ns - tick_ns));
    const SeqNum at = gen.generate(local, local_port, remote, remote_port, Instant::from_ns(wrap_ns));
    CHECK(before.raw() == f - 1);  // F + 0xffffffff mod 2^32
    CHECK(at.raw() == f);
    CHECK(at - before == 1);  // still one tick apart in sequence space
    CHECK(before < at);
}

TEST_CASE("ISN: different 4-tuples and keys give unrelated ISNs", "[tcp][isn]") {
    const IsnGenerator gen(k0, k1);
    const Instant now = Instant::from_ns(77 * tick_ns);
    const SeqNum base = gen.generate(local, local_port, remote, remote_port, now);

    CHECK(gen.generate(local, local_port, remote, Port(40001), now) != base);
    CHECK(gen.generate(local, Port(81), remote, remote_port, now) != base);
    CHECK(gen.generate(local, local_port, Ipv4Address(198, 18, 0, 3), remote_port, now) != base);
    CHECK(gen.generate(Ipv4Address(198, 18, 0, 4), local_port, remote, remote_port, now) != base);
    // The two directions of one connection are different tuples.
    CHECK(gen.generate(remote, remote_port, local, local_port, now) != base);
    // Swapping the ports alone changes it too (their places are fixed).
    CHECK(gen.generate(local, remote_port, remote, local_port, now) != base);

    CHECK(IsnGenerator(k0 ^ 1, k1).generate(local, local_port, remote, remote_port, now) != base);
    CHECK(IsnGenerator(k0, k1 ^ (1ull << 63)).generate(local, local_port, remote, remote_port, now) != base);

    // Consecutive remote ports (an attacker's own connections) give ISNs that are not
    // consecutive: no offset learnt from one predicts another.
    std::set<std::uint32_t> seen;
    std::set<std::uint32_t> deltas;
    for (std::uint16_t p = 40000; p < 40064; ++p) {
        const SeqNum isn = gen.generate(local, local_port, remote, Port(p), now);
        seen.insert(isn.raw());
        deltas.insert(isn.raw() - base.raw());
    }
    CHECK(seen.size() == 64);
    CHECK(deltas.count(1) == 0);
}
