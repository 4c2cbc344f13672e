#include <catch2/catch.hpp>

#include "time/token_bucket.hpp"

using pollux::time::Duration;
using pollux::time::Instant;
using pollux::time::TokenBucket;

namespace {

const Instant t0 = Instant::from_ns(5'000'000'000);

int taken(TokenBucket& b, Instant now, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += b.try_take(now) ? 1 : 0;
    return ok;
}

}  // namespace

TEST_CASE("TokenBucket: the burst at once, then one per interval", "[time][token_bucket]") {
    TokenBucket b(Duration::from_ms(100), 3);
    CHECK(taken(b, t0, 10) == 3);
    CHECK(taken(b, t0 + Duration::from_ms(99), 10) == 0);
    CHECK(taken(b, t0 + Duration::from_ms(100), 10) == 1);
    // Credit accrues in nanoseconds: 50 ms + 50 ms make a token.
    CHECK(taken(b, t0 + Duration::from_ms(150), 10) == 0);
    CHECK(taken(b, t0 + Duration::from_ms(200), 10) == 1);
    // A long silence refills no more than the burst.
    CHECK(taken(b, t0 + Duration::from_s(100), 10) == 3);
}

TEST_CASE("TokenBucket: per_second, and a rate of 0 treated as 1", "[time][token_bucket]") {
    TokenBucket b = TokenBucket::per_second(1000, 50);
    CHECK(taken(b, t0, 100) == 50);
    CHECK(taken(b, t0 + Duration::from_ms(10), 100) == 10);
    TokenBucket slow = TokenBucket::per_second(0, 1);
    CHECK(taken(slow, t0, 5) == 1);
    CHECK(taken(slow, t0 + Duration::from_ms(999), 5) == 0);
    CHECK(taken(slow, t0 + Duration::from_s(1), 5) == 1);
}

TEST_CASE("TokenBucket: time going back refills nothing; available/take split the decision",
          "[time][token_bucket]") {
    TokenBucket b(Duration::from_ms(10), 2);
    b.refill(t0);
    CHECK(b.tokens() == 2);
    CHECK(b.available());
    b.take();
    b.take();
    CHECK_FALSE(b.available());
    b.refill(t0 - Duration::from_s(1));
    CHECK_FALSE(b.available());
    b.refill(t0 + Duration::from_ms(10));
    CHECK(b.tokens() == 1);
    // An earlier instant afterwards takes nothing away either.
    b.refill(t0 + Duration::from_ms(5));
    CHECK(b.tokens() == 1);
}
