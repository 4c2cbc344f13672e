#include <catch2/catch.hpp>

#include <chrono>

#include "time/clock.hpp"

using pollux::time::Duration;
using pollux::time::Instant;
using pollux::time::ManualClock;
using pollux::time::TscClock;

TEST_CASE("TscClock starts near zero and never goes backwards", "[time]") {
    const TscClock clock;
    Instant prev = clock.now();
    CHECK(prev >= Instant());
    CHECK(prev < Instant::from_ns(1'000'000'000));  // made a moment ago
    int backwards = 0;
    for (int i = 0; i < 100'000; ++i) {
        const Instant t = clock.now();
        if (t < prev) ++backwards;
        prev = t;
    }
    CHECK(backwards == 0);
}

TEST_CASE("TscClock tracks steady_clock over a 20 ms busy wait", "[time]") {
    using std::chrono::steady_clock;
    const TscClock clock;
    const Instant tsc_start = clock.now();
    const auto steady_start = steady_clock::now();
    while (steady_clock::now() - steady_start < std::chrono::milliseconds(20)) {
    }
    const Instant tsc_end = clock.now();
    const auto steady_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now() - steady_start).count();
    const std::int64_t tsc_ns = (tsc_end - tsc_start).ns();
    INFO("tsc " << tsc_ns << " ns, steady_clock " << steady_ns << " ns");
    // Loose on purpose (a VM may be descheduled between the two reads); a wrong unit or
    // an overflow would be off by orders of magnitude.
    CHECK(tsc_ns >= 20'000'000 / 2);
    CHECK(tsc_ns > steady_ns / 2);
    CHECK(tsc_ns < steady_ns * 3 / 2);
}

TEST_CASE("ManualClock moves only forwards, and only when told", "[time]") {
    ManualClock clock(Instant::from_ns(1'000));
    CHECK(clock.now() == Instant::from_ns(1'000));
    clock.advance(Duration::from_us(2));
    CHECK(clock.now() == Instant::from_ns(3'000));
    clock.advance(Duration::from_ns(-500));
    CHECK(clock.now() == Instant::from_ns(3'000));
    clock.set(Instant::from_ns(2'000));
    CHECK(clock.now() == Instant::from_ns(3'000));
    clock.set(Instant::from_ns(10'000));
    CHECK(clock.now() == Instant::from_ns(10'000));
}
