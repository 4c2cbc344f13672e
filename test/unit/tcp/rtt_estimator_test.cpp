#include <catch2/catch.hpp>

#include <cstdint>

#include "tcp/rtt_estimator.hpp"

using pollux::tcp::RttEstimator;
using pollux::time::Duration;

namespace {

constexpr Duration us(std::int64_t n) { return Duration::from_us(n); }
constexpr Duration ms(std::int64_t n) { return Duration::from_ms(n); }
constexpr Duration s(std::int64_t n) { return Duration::from_s(n); }

RttEstimator::Config no_floor() {
    RttEstimator::Config c;
    c.min_rto = Duration::zero();
    return c;
}

}  // namespace

TEST_CASE("RttEstimator starts with RFC 6298's 1 s RTO and no estimate", "[tcp][rtt]") {
    const RttEstimator rtt;
    CHECK_FALSE(rtt.has_sample());
    CHECK(rtt.rto() == s(1));
    CHECK(rtt.srtt() == Duration::zero());
    CHECK(rtt.rttvar() == Duration::zero());
    CHECK(rtt.min_rtt() == Duration::max());
    CHECK(rtt.backoffs() == 0);
    // Linux's tcp_info of a fresh socket: rtt 0, rttvar 250000 us, rto 1000000 us, min ~0.
    CHECK(rtt.tcpi_rtt_us() == 0);
    CHECK(rtt.tcpi_rttvar_us() == 250'000);
    CHECK(rtt.tcpi_rto_us() == 1'000'000);
    CHECK(rtt.tcpi_min_rtt_us() == 0xffffffffu);
}

TEST_CASE("RttEstimator: first sample sets SRTT = R, RTTVAR = R/2 (RFC 6298 2.2)", "[tcp][rtt]") {
    RttEstimator rtt;
    REQUIRE(rtt.sample(ms(100)));
    CHECK(rtt.has_sample());
    CHECK(rtt.srtt() == ms(100));
    CHECK(rtt.rttvar() == ms(50));
    // RTO = 100 + max(0.1, 4 * 50) = 300 ms, above the 200 ms floor.
    CHECK(rtt.rto() == ms(300));
    CHECK(rtt.min_rtt() == ms(100));
    CHECK(rtt.latest_rtt() == ms(100));
    CHECK(rtt.tcpi_rtt_us() == 100'000);
    CHECK(rtt.tcpi_rttvar_us() == 50'000);
    CHECK(rtt.tcpi_rto_us() == 300'000);
}

TEST_CASE("RttEstimator: later samples follow RFC 6298 2.3 with alpha 1/8, beta 1/4", "[tcp][rtt]") {
    RttEstimator rtt;
    rtt.sample(ms(100));
    rtt.sample(ms(200));
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms (from the old SRTT);
    // SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms; RTO = 112.5 + 4 * 62.5 = 362.5 ms.
    CHECK(rtt.rttvar() == us(62'500));
    CHECK(rtt.srtt() == us(112'500));
    CHECK(rtt.rto() == us(362'500));

    rtt.sample(ms(80));
    // RTTVAR = 3/4 * 62.5 + 1/4 * |112.5 - 80| = 46.875 + 8.125 = 55 ms;
    // SRTT = 7/8 * 112.5 + 1/8 * 80 = 98.4375 + 10 = 108.4375 ms; RTO = 108.4375 + 220.
    CHECK(rtt.rttvar() == ms(55));
    CHECK(rtt.srtt() == us(108'437) + Duration::from_ns(500));
    CHECK(rtt.rto() == us(328'437) + Duration::from_ns(500));
    CHECK(rtt.min_rtt() == ms(80));
    CHECK(rtt.latest_rtt() == ms(80));
    CHECK(rtt.tcpi_rtt_us() == 108'437);
}

TEST_CASE("RttEstimator clamps the RTO to the 200 ms floor, configurably", "[tcp][rtt]") {
    RttEstimator linux_like;
    linux_like.sample(ms(10));  // 10 + 4 * 5 = 30 ms
    CHECK(linux_like.srtt() == ms(10));
    CHECK(linux_like.rto() == ms(200));

    RttEstimator::Config c;
    c.min_rto = ms(1);
    RttEstimator low_floor(c);
    low_floor.sample(ms(10));
    CHECK(low_floor.rto() == ms(30));
}

TEST_CASE("RttEstimator uses the clock granularity when 4*RTTVAR is smaller", "[tcp][rtt]") {
    RttEstimator rtt(no_floor());
    // A constant RTT drives RTTVAR towards zero: 500, 375, 281.25, ... us.
    for (int i = 0; i < 60; ++i) rtt.sample(ms(1));
    CHECK(rtt.srtt() == ms(1));
    CHECK(rtt.rttvar() * 4 < us(100));
    CHECK(rtt.rto() == ms(1) + us(100));  // SRTT + G

    RttEstimator::Config coarse = no_floor();
    coarse.granularity = ms(10);
    RttEstimator coarse_rtt(coarse);
    coarse_rtt.sample(ms(1));  // 4 * RTTVAR = 2 ms < G = 10 ms
    CHECK(coarse_rtt.rto() == ms(11));
}

TEST_CASE("RttEstimator clamps the RTO to the 120 s ceiling", "[tcp][rtt]") {
    RttEstimator rtt;
    rtt.sample(s(100));  // 100 + 4 * 50 = 300 s
    CHECK(rtt.srtt() == s(100));
    CHECK(rtt.rto() == s(120));

    RttEstimator::Config c;
    c.max_rto = s(60);  // RFC 6298 2.5's minimum ceiling
    RttEstimator low_ceiling(c);
    low_ceiling.sample(s(30));
    CHECK(low_ceiling.rto() == s(60));
}

TEST_CASE("RttEstimator backoff doubles the RTO up to the ceiling (RFC 6298 5.5)", "[tcp][rtt]") {
    RttEstimator rtt;  // 1 s before any sample
    const Duration expected[] = {s(2), s(4), s(8), s(16), s(32), s(64), s(120), s(120)};
    std::uint32_t n = 0;
    for (const Duration e : expected) {
        rtt.backoff();
        ++n;
        CHECK(rtt.rto() == e);
        CHECK(rtt.backoffs() == n);
    }
    CHECK(rtt.tcpi_rto_us() == 120'000'000);

    // A new valid sample ends the backoff: the RTO is recomputed from the estimate.
    rtt.sample(ms(100));
    CHECK(rtt.backoffs() == 0);
    CHECK(rtt.rto() == ms(300));
    rtt.backoff();
    CHECK(rtt.rto() == ms(600));
}

TEST_CASE("RttEstimator reset_backoff returns to the computed RTO without a sample", "[tcp][rtt]") {
    RttEstimator fresh;
    fresh.backoff();
    fresh.backoff();
    CHECK(fresh.rto() == s(4));
    fresh.reset_backoff();
    CHECK(fresh.rto() == s(1));
    CHECK(fresh.backoffs() == 0);

    RttEstimator sampled;
    sampled.sample(ms(100));
    sampled.backoff();
    sampled.backoff();
    CHECK(sampled.rto() == ms(1200));
    sampled.reset_backoff();
    CHECK(sampled.rto() == ms(300));
    // The estimate itself was untouched by backoff.
    CHECK(sampled.srtt() == ms(100));
    CHECK(sampled.rttvar() == ms(50));
}

TEST_CASE("RttEstimator backoff near a huge ceiling does not overflow", "[tcp][rtt]") {
    RttEstimator::Config c;
    c.max_rto = Duration::max();
    RttEstimator rtt(c);
    for (int i = 0; i < 80; ++i) rtt.backoff();
    CHECK(rtt.rto() == Duration::max());
    CHECK(rtt.rto() > Duration::zero());
}

TEST_CASE("RttEstimator ignores negative samples and keeps the overall minimum", "[tcp][rtt]") {
    RttEstimator rtt;
    CHECK_FALSE(rtt.sample(ms(-1)));
    CHECK_FALSE(rtt.has_sample());
    CHECK(rtt.rto() == s(1));

    rtt.sample(ms(50));
    rtt.sample(ms(20));
    rtt.sample(ms(90));
    CHECK(rtt.min_rtt() == ms(20));
    CHECK(rtt.tcpi_min_rtt_us() == 20'000);
    CHECK(rtt.latest_rtt() == ms(90));

    // A zero RTT (same tick) is a valid sample.
    CHECK(rtt.sample(Duration::zero()));
    CHECK(rtt.min_rtt() == Duration::zero());
}

TEST_CASE("RttEstimator clamps the initial RTO into the configured range", "[tcp][rtt]") {
    RttEstimator::Config c;
    c.initial_rto = s(3);  // RFC 1122's older value
    c.max_rto = s(2);
    const RttEstimator rtt(c);
    CHECK(rtt.rto() == s(2));
}
