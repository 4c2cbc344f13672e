// SynCookies (syn_cookie.hpp): what a cookie encodes, how long it lives, what makes it
// fail, and the options carried in the timestamp.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

#include "tcp/syn_cookie.hpp"

using pollux::tcp::SynCookies;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::wire::Ipv4Address;
using pollux::wire::Port;
using pollux::wire::SeqNum;

namespace {

const Ipv4Address local(198, 18, 0, 2);
const Ipv4Address remote(198, 18, 0, 1);
constexpr Port local_port(80);
constexpr Port remote_port(40000);
const SeqNum peer_isn(0x12345678u);
// Mid-minute, so that +59 s is still within the next minute.
const Instant start = Instant::from_ns(1'000 * 60'000'000'000ll + 30'000'000'000ll);

SynCookies cookies() { return SynCookies(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull); }

}  // namespace

TEST_CASE("SYN cookie: the peer's MSS comes back rounded down to the table", "[tcp][syncookie]") {
    const SynCookies c = cookies();
    struct Case {
        std::uint16_t offered;
        std::uint16_t decoded;
    };
    for (const Case k : {Case{1460, 1460}, Case{9000, 1460}, Case{1459, 1440}, Case{1440, 1440}, Case{1400, 1300},
                         Case{1300, 1300}, Case{1299, 536}, Case{536, 536}, Case{100, 536}}) {
        INFO("offered MSS " << k.offered);
        const SeqNum cookie = c.make(local, local_port, remote, remote_port, peer_isn, k.offered, start);
        const auto d = c.check(local, local_port, remote, remote_port, peer_isn, cookie, start);
        REQUIRE(d.has_value());
        CHECK(d->mss == k.decoded);
    }
}

TEST_CASE("SYN cookie: valid in its minute and the next, not after", "[tcp][syncookie]") {
    const SynCookies c = cookies();
    const SeqNum cookie = c.make(local, local_port, remote, remote_port, peer_isn, 1460, start);
    CHECK(c.check(local, local_port, remote, remote_port, peer_isn, cookie, start + Duration::from_s(29)));
    CHECK(c.check(local, local_port, remote, remote_port, peer_isn, cookie, start + Duration::from_s(89)));
    CHECK_FALSE(c.check(local, local_port, remote, remote_port, peer_isn, cookie, start + Duration::from_s(90)));
    CHECK_FALSE(c.check(local, local_port, remote, remote_port, peer_isn, cookie, start + Duration::from_s(600)));
    // From the future (a clock that went back, or a forged count): refused too.
    CHECK_FALSE(c.check(local, local_port, remote, remote_port, peer_isn, cookie, start - Duration::from_s(31)));
    // 256 minutes later the 8-bit count matches again, but H2 was keyed with the full
    // counter: the low bits no longer decode to a table index.
    CHECK_FALSE(c.check(local, local_port, remote, remote_port, peer_isn, cookie, start + Duration::from_s(256 * 60)));
}

TEST_CASE("SYN cookie: bound to the 4-tuple, the peer's ISN and the key", "[tcp][syncookie]") {
    const SynCookies c = cookies();
    const SeqNum cookie = c.make(local, local_port, remote, remote_port, peer_isn, 1460, start);
    CHECK_FALSE(c.check(local, local_port, Ipv4Address(198, 18, 0, 3), remote_port, peer_isn, cookie, start));
    CHECK_FALSE(c.check(local, local_port, remote, Port(40001), peer_isn, cookie, start));
    CHECK_FALSE(c.check(local, Port(81), remote, remote_port, peer_isn, cookie, start));
    CHECK_FALSE(c.check(local, local_port, remote, remote_port, peer_isn + 1, cookie, start));
    CHECK_FALSE(c.check(local, local_port, remote, remote_port, peer_isn, cookie + 1, start));
    const SynCookies other(1, 2);
    CHECK_FALSE(other.check(local, local_port, remote, remote_port, peer_isn, cookie, start));
}

TEST_CASE("SYN cookie: blind guesses almost never pass (4 of 2^24 low values decode)", "[tcp][syncookie]") {
    const SynCookies c = cookies();
    std::mt19937 rng(20261207);
    int accepted = 0;
    constexpr int tries = 200'000;
    for (int i = 0; i < tries; ++i) {
        const SeqNum guess(static_cast<std::uint32_t>(rng()));
        if (c.check(local, local_port, remote, remote_port, peer_isn, guess, start)) ++accepted;
    }
    // Two minutes of counts accepted, 4 indexes each: P = 2 * (1/256) * 4 / 2^24 per guess,
    // about 4e-4 expected in 200,000 tries.
    CHECK(accepted == 0);
}

TEST_CASE("SYN cookie: different 4-tuples and minutes give unrelated cookies", "[tcp][syncookie]") {
    const SynCookies c = cookies();
    const SeqNum a = c.make(local, local_port, remote, remote_port, peer_isn, 1460, start);
    const SeqNum b = c.make(local, local_port, remote, Port(40001), peer_isn, 1460, start);
    const SeqNum later = c.make(local, local_port, remote, remote_port, peer_isn, 1460, start + Duration::from_s(60));
    CHECK(a != b);
    CHECK(a != later);
    // The minute is in the top 8 bits once H1 and the ISN are taken off: one minute later,
    // one more there.
    CHECK(SynCookies::minute(start + Duration::from_s(60)) == SynCookies::minute(start) + 1);
}

TEST_CASE("SYN cookie timestamp: window scale and SACK in the low 6 bits, never ahead of the clock",
          "[tcp][syncookie]") {
    const std::uint32_t now = 0x0001'0040u;  // low 6 bits 0: every encoding is <= now - 0
    for (const std::optional<std::uint8_t> ws : {std::optional<std::uint8_t>{}, std::optional<std::uint8_t>{0},
                                                 std::optional<std::uint8_t>{7}, std::optional<std::uint8_t>{14}}) {
        for (const bool sack : {false, true}) {
            for (const std::uint32_t clock : {now, now + 5, now + 63, 0xffff'ffc3u, 3u}) {
                const std::uint32_t ts = SynCookies::encode_timestamp(clock, {ws, sack});
                INFO("clock " << clock << " ts " << ts);
                CHECK(static_cast<std::int32_t>(clock - ts) >= 0);  // not ahead (mod 2^32)
                CHECK(clock - ts < 64);                           // and less than 64 ticks behind
                const auto back = SynCookies::decode_timestamp(ts);
                REQUIRE(back.has_value());
                CHECK(back->window_scale == ws);
                CHECK(back->sack_permitted == sack);
            }
        }
    }
    // A shift above 14 is kept as 14 (RFC 7323 §2.3).
    CHECK(SynCookies::decode_timestamp(SynCookies::encode_timestamp(now, {std::uint8_t{15}, false}))->window_scale ==
          std::uint8_t{14});
    // The ECN bit, which encode_timestamp() never writes: refused.
    CHECK_FALSE(SynCookies::decode_timestamp(now | 0x20u));
}
