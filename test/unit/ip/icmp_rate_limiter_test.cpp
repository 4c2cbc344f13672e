#include <catch2/catch.hpp>

#include <cstdint>

#include "ip/icmp_rate_limiter.hpp"
#include "time/instant.hpp"
#include "wire/address.hpp"

using pollux::ip::IcmpRateConfig;
using pollux::ip::IcmpRateLimiter;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::wire::Ipv4Address;

namespace {

const Instant t0 = Instant::from_ns(1'000'000'000);

// Distinct destinations, 198.18.x.y.
Ipv4Address dest(std::uint32_t i) { return Ipv4Address(Ipv4Address(198, 18, 0, 0).value() + 1 + i); }

// How many of `n` errors to `dst` at `now` are allowed.
int allowed(IcmpRateLimiter& l, Ipv4Address dst, Instant now, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += l.allow(dst, now) ? 1 : 0;
    return ok;
}

}  // namespace

TEST_CASE("ICMP rate limit per destination: a burst of 6, then one a second", "[icmp]") {
    IcmpRateLimiter l;
    const Ipv4Address d = dest(0);
    CHECK(allowed(l, d, t0, 10) == 6);
    CHECK(allowed(l, d, t0 + Duration::from_ms(999), 5) == 0);
    CHECK(allowed(l, d, t0 + Duration::from_ms(1000), 5) == 1);
    CHECK(allowed(l, d, t0 + Duration::from_ms(1500), 5) == 0);
    CHECK(allowed(l, d, t0 + Duration::from_ms(2000), 5) == 1);
    // Quiet for a long time: the burst is back, but no more than 6.
    CHECK(allowed(l, d, t0 + Duration::from_s(60), 10) == 6);
    // Another destination has its own budget.
    CHECK(allowed(l, dest(1), t0 + Duration::from_s(60), 10) == 6);
}

TEST_CASE("ICMP rate limit global: a burst of 50, then 1000 a second", "[icmp]") {
    IcmpRateLimiter l;
    int ok = 0;
    for (std::uint32_t i = 0; i < 80; ++i) ok += l.allow(dest(i), t0) ? 1 : 0;
    CHECK(ok == 50);
    // 1 ms buys one more message, 10 ms ten.
    int later = 0;
    for (std::uint32_t i = 100; i < 110; ++i) later += l.allow(dest(i), t0 + Duration::from_ms(1)) ? 1 : 0;
    CHECK(later == 1);
    later = 0;
    for (std::uint32_t i = 200; i < 230; ++i) later += l.allow(dest(i), t0 + Duration::from_ms(11)) ? 1 : 0;
    CHECK(later == 10);
    // Over a steady second of 1 attempt per 500 us to fresh destinations, 1000 pass
    // (give or take the refill at the edges), not 2000.
    int steady = 0;
    for (std::uint32_t i = 0; i < 2000; ++i) {
        steady += l.allow(dest(1000 + i), t0 + Duration::from_ms(11) + Duration::from_us(500 * (i + 1))) ? 1 : 0;
    }
    CHECK(steady == 1000);
}

TEST_CASE("ICMP rate limit: a message refused by one limit costs nothing from the other", "[icmp]") {
    IcmpRateConfig c;
    c.msgs_burst = 10;
    IcmpRateLimiter l(c);
    // The destination's burst of 6 passes; its 4 refusals take no global tokens...
    CHECK(allowed(l, dest(0), t0, 10) == 6);
    // ...so 4 of the 10 global tokens are left for others.
    CHECK(allowed(l, dest(1), t0, 10) == 4);
    // And refusals by the empty global bucket take nothing from a destination's budget:
    // 2 ms later, dest(1) still has 2 of its 6.
    CHECK(allowed(l, dest(1), t0 + Duration::from_ms(2), 10) == 2);
    CHECK(allowed(l, dest(1), t0 + Duration::from_ms(4), 10) == 0);
}

TEST_CASE("ICMP rate limit honours its configuration", "[icmp]") {
    IcmpRateConfig c;
    c.msgs_per_sec = 10;
    c.msgs_burst = 2;
    c.per_dest_interval = Duration::from_ms(100);
    c.per_dest_burst = 1;
    IcmpRateLimiter l(c);
    CHECK(allowed(l, dest(0), t0, 3) == 1);  // per-destination burst 1
    CHECK(allowed(l, dest(1), t0, 3) == 1);  // global burst 2 now spent
    CHECK(allowed(l, dest(2), t0, 3) == 0);
    CHECK(allowed(l, dest(2), t0 + Duration::from_ms(99), 3) == 0);
    CHECK(allowed(l, dest(2), t0 + Duration::from_ms(100), 3) == 1);  // 100 ms = one global token
    CHECK(allowed(l, dest(0), t0 + Duration::from_ms(150), 3) == 0);  // global empty again
    CHECK(allowed(l, dest(0), t0 + Duration::from_ms(200), 3) == 1);
}
