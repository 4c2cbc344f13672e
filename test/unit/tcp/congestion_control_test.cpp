#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>

#include "tcp/congestion_control.hpp"
#include "tcp/cubic.hpp"
#include "tcp/new_reno.hpp"

using pollux::tcp::CongestionControl;
using pollux::tcp::Cubic;
using pollux::tcp::NewReno;
using pollux::tcp::make_congestion_control;
using pollux::time::Duration;
using pollux::time::Instant;

namespace {

constexpr std::uint32_t mss = 1000;  // round numbers; 1460 where the IW matters
const Instant t0 = Instant::from_ns(5'000'000'000);

constexpr Duration ms(std::int64_t n) { return Duration::from_ms(n); }

// One round trip of a sender that always fills its window: the window at the start of
// the round is acknowledged by ACKs of `per_ack` bytes (the last one takes the rest),
// evenly spread over `rtt`, each arriving with the whole current window in flight.
void ack_round(CongestionControl& cc, Instant& now, Duration rtt, std::uint32_t per_ack = mss) {
    std::uint32_t remaining = cc.cwnd();
    const std::uint32_t acks = (remaining + per_ack - 1) / per_ack;
    const Duration gap = rtt / acks;
    while (remaining > 0) {
        const std::uint32_t acked = remaining < per_ack ? remaining : per_ack;
        remaining -= acked;
        now += gap;
        cc.on_ack(acked, cc.cwnd(), now, rtt);
    }
}

// Slow start from the IW to `segments` full segments, one MSS-sized ACK at a time.
void grow_to(CongestionControl& cc, std::uint32_t segments, Instant now) {
    while (cc.cwnd() < segments * cc.mss()) cc.on_ack(cc.mss(), cc.cwnd(), now, std::nullopt);
    REQUIRE(cc.cwnd() == segments * cc.mss());
}

// A fast recovery at a full window of `segments` that ends with SND.UNA at `recover`.
void loss_at(CongestionControl& cc, std::uint32_t segments, Instant now) {
    grow_to(cc, segments, now);
    cc.on_enter_recovery(segments * cc.mss(), now);
    cc.on_exit_recovery(cc.ssthresh());
    REQUIRE(cc.cwnd() == cc.ssthresh());
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Common: initial window, factory.

TEST_CASE("Initial window follows RFC 6928: min(10*MSS, max(2*MSS, 14600))", "[tcp][cc]") {
    CHECK(CongestionControl::initial_window(1460) == 14600);
    CHECK(CongestionControl::initial_window(536) == 5360);
    CHECK(CongestionControl::initial_window(1000) == 10000);
    CHECK(CongestionControl::initial_window(9000) == 18000);  // 2*MSS beats 14600
    CHECK(CongestionControl::initial_window(100) == 1000);

    const NewReno reno(1460);
    CHECK(reno.cwnd() == 14600);
    CHECK(reno.ssthresh() == 0x7fffffffu);
    CHECK(reno.in_slow_start());
    const Cubic cubic(1460);
    CHECK(cubic.cwnd() == 14600);
    CHECK(cubic.ssthresh() == 0x7fffffffu);
}

TEST_CASE("make_congestion_control knows Linux's names and nothing else", "[tcp][cc]") {
    const auto reno = make_congestion_control("reno", 1460);
    REQUIRE(reno != nullptr);
    CHECK(std::string_view(reno->name()) == "reno");
    CHECK(dynamic_cast<NewReno*>(reno.get()) != nullptr);
    CHECK(reno->cwnd() == 14600);

    const auto cubic = make_congestion_control("cubic", 536);
    REQUIRE(cubic != nullptr);
    CHECK(std::string_view(cubic->name()) == "cubic");
    CHECK(dynamic_cast<Cubic*>(cubic.get()) != nullptr);
    CHECK(cubic->mss() == 536);

    CHECK(make_congestion_control("bbr", 1460) == nullptr);
    CHECK(make_congestion_control("CUBIC", 1460) == nullptr);
    CHECK(make_congestion_control("", 1460) == nullptr);
    CHECK(make_congestion_control("reno ", 1460) == nullptr);
}

TEST_CASE("set_mss re-derives the IW until the window has moved", "[tcp][cc]") {
    NewReno reno(536);
    CHECK(reno.cwnd() == 5360);
    reno.set_mss(1460);  // the handshake's MSS arrives before any data
    CHECK(reno.mss() == 1460);
    CHECK(reno.cwnd() == 14600);

    reno.on_ack(1460, 14600, t0, std::nullopt);
    CHECK(reno.cwnd() == 16060);
    reno.set_mss(1200);  // PMTU drop: the byte window stays
    CHECK(reno.cwnd() == 16060);
    reno.on_rto(16060, t0);
    CHECK(reno.cwnd() == 1200);
    reno.set_mss(1400);  // a larger MSS never leaves cwnd below one segment
    CHECK(reno.cwnd() == 1400);
}

// ---------------------------------------------------------------------------------------
// NewReno.

TEST_CASE("NewReno slow start adds min(acked, SMSS) per ACK (RFC 5681 3.1, RFC 3465 L=1)", "[tcp][cc][reno]") {
    NewReno reno(mss);
    REQUIRE(reno.cwnd() == 10000);
    reno.on_ack(1000, 10000, t0, std::nullopt);
    CHECK(reno.cwnd() == 11000);
    reno.on_ack(3000, 11000, t0, std::nullopt);  // stretch ACK: still one SMSS
    CHECK(reno.cwnd() == 12000);
    reno.on_ack(300, 12000, t0, std::nullopt);  // a small segment: its own size
    CHECK(reno.cwnd() == 12300);
    reno.on_ack(0, 12300, t0, std::nullopt);
    CHECK(reno.cwnd() == 12300);

    // One window of ACKs per RTT doubles the window.
    NewReno doubling(mss);
    Instant now = t0;
    ack_round(doubling, now, ms(50));
    CHECK(doubling.cwnd() == 20000);
    ack_round(doubling, now, ms(50));
    CHECK(doubling.cwnd() == 40000);
}

TEST_CASE("NewReno grows only while cwnd-limited", "[tcp][cc][reno]") {
    NewReno reno(mss);
    // Slow start: a flight of half the window or less does not show the window was used.
    reno.on_ack(1000, 5000, t0, std::nullopt);
    CHECK(reno.cwnd() == 10000);
    reno.on_ack(1000, 5001, t0, std::nullopt);
    CHECK(reno.cwnd() == 11000);

    // Congestion avoidance: the flight must fill the window to within one segment.
    loss_at(reno, 40, t0);  // ssthresh = cwnd = 20000
    for (int i = 0; i < 40; ++i) reno.on_ack(1000, 18999, t0, std::nullopt);
    CHECK(reno.cwnd() == 20000);
    CHECK(reno.bytes_acked() == 0);
    for (int i = 0; i < 20; ++i) reno.on_ack(1000, 19000, t0, std::nullopt);
    CHECK(reno.cwnd() == 21000);
}

TEST_CASE("NewReno hands the rest of the ACK that reaches ssthresh to congestion avoidance", "[tcp][cc][reno]") {
    NewReno reno(mss);
    reno.on_rto(20000, t0);
    REQUIRE(reno.ssthresh() == 10000);
    REQUIRE(reno.cwnd() == 1000);
    for (int i = 0; i < 8; ++i) reno.on_ack(1000, reno.cwnd(), t0, std::nullopt);
    CHECK(reno.cwnd() == 9000);
    reno.on_ack(500, 9000, t0, std::nullopt);
    CHECK(reno.cwnd() == 9500);
    reno.on_ack(1000, 9500, t0, std::nullopt);  // 500 bytes to reach ssthresh, 500 left over
    CHECK(reno.cwnd() == 10000);
    CHECK_FALSE(reno.in_slow_start());
    CHECK(reno.bytes_acked() == 500);
}

TEST_CASE("NewReno congestion avoidance adds one SMSS per RTT", "[tcp][cc][reno]") {
    NewReno reno(mss);
    loss_at(reno, 40, t0);
    REQUIRE(reno.cwnd() == 20000);
    REQUIRE_FALSE(reno.in_slow_start());

    Instant now = t0;
    for (std::uint32_t round = 1; round <= 10; ++round) {
        ack_round(reno, now, ms(100));
        CHECK(reno.cwnd() == 20000 + round * mss);
    }
    // Delayed ACKs (one per two segments) grow it just as fast: bytes are counted.
    for (std::uint32_t round = 1; round <= 10; ++round) {
        ack_round(reno, now, ms(100), 2 * mss);
        CHECK(reno.cwnd() == 30000 + round * mss);
    }
    // Within a round the growth waits for a whole window of bytes.
    const std::uint32_t before = reno.cwnd();
    for (std::uint32_t i = 0; i + 1 < before / mss; ++i) reno.on_ack(mss, reno.cwnd(), now, std::nullopt);
    CHECK(reno.cwnd() == before);
    reno.on_ack(mss, reno.cwnd(), now, std::nullopt);
    CHECK(reno.cwnd() == before + mss);
}

TEST_CASE("NewReno fast recovery: entry, inflation, partial and full ACKs (RFC 6582)", "[tcp][cc][reno]") {
    NewReno reno(mss);
    grow_to(reno, 20, t0);

    // Step 2: ssthresh = max(FlightSize/2, 2*SMSS) = 10000, cwnd = ssthresh + 3*SMSS.
    reno.on_enter_recovery(20000, t0);
    CHECK(reno.ssthresh() == 10000);
    CHECK(reno.cwnd() == 13000);
    // Step 3: each further duplicate ACK inflates by one SMSS.
    reno.on_dupack_in_recovery();
    reno.on_dupack_in_recovery();
    CHECK(reno.cwnd() == 15000);
    // Step 5: a partial ACK of 3000 deflates by 3000 and adds one SMSS back.
    reno.on_partial_ack(3000);
    CHECK(reno.cwnd() == 13000);
    // ... of less than one SMSS: no SMSS back.
    reno.on_partial_ack(500);
    CHECK(reno.cwnd() == 12500);
    // ... never below one segment.
    reno.on_partial_ack(40000);
    CHECK(reno.cwnd() == 1000);
    CHECK(reno.ssthresh() == 10000);

    // Step 6, option 1: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    NewReno a(mss);
    a.on_enter_recovery(20000, t0);
    a.on_exit_recovery(15000);
    CHECK(a.cwnd() == 10000);
    NewReno b(mss);
    b.on_enter_recovery(20000, t0);
    b.on_exit_recovery(4000);
    CHECK(b.cwnd() == 5000);
    NewReno c(mss);
    c.on_enter_recovery(20000, t0);
    c.on_exit_recovery(0);
    CHECK(c.cwnd() == 2000);

    // The 2*SMSS floor of eq. 4.
    NewReno small(mss);
    small.on_enter_recovery(3000, t0);
    CHECK(small.ssthresh() == 2000);
    CHECK(small.cwnd() == 5000);
}

TEST_CASE("NewReno RTO collapses cwnd to one segment (RFC 5681 3.1)", "[tcp][cc][reno]") {
    NewReno reno(mss);
    grow_to(reno, 30, t0);
    reno.on_rto(24000, t0);
    CHECK(reno.ssthresh() == 12000);
    CHECK(reno.cwnd() == 1000);
    CHECK(reno.in_slow_start());

    NewReno small(mss);
    small.on_rto(3000, t0);
    CHECK(small.ssthresh() == 2000);
    CHECK(small.cwnd() == 1000);

    // The congestion-avoidance counter starts over after a loss.
    NewReno ca(mss);
    loss_at(ca, 40, t0);
    ca.on_ack(7000, ca.cwnd(), t0, std::nullopt);
    REQUIRE(ca.bytes_acked() == 7000);
    ca.on_rto(ca.cwnd(), t0);
    CHECK(ca.bytes_acked() == 0);
}

TEST_CASE("Restart after idle uses min(cwnd, IW) once idle exceeds the RTO (RFC 5681 4.1)", "[tcp][cc]") {
    NewReno reno(mss);
    grow_to(reno, 50, t0);
    reno.on_idle_restart(ms(500), ms(1000));
    CHECK(reno.cwnd() == 50000);
    reno.on_idle_restart(ms(1000), ms(1000));  // "more than" the RTO
    CHECK(reno.cwnd() == 50000);
    reno.on_idle_restart(ms(1001), ms(1000));
    CHECK(reno.cwnd() == 10000);

    NewReno after_loss(mss);
    after_loss.on_rto(20000, t0);
    after_loss.on_idle_restart(ms(5000), ms(1000));
    CHECK(after_loss.cwnd() == 1000);  // already below the restart window
}

// ---------------------------------------------------------------------------------------
// CUBIC.

TEST_CASE("CUBIC constants are RFC 9438's", "[tcp][cc][cubic]") {
    CHECK(Cubic::c == 0.4);
    CHECK(Cubic::beta == 0.7);
    CHECK(Cubic::alpha == Approx(0.9 / 1.7));
    CHECK(Cubic::alpha == Approx(0.5294).epsilon(1e-4));
}

TEST_CASE("CUBIC slow start is RFC 5681's", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    Instant now = t0;
    ack_round(cubic, now, ms(50));
    CHECK(cubic.cwnd() == 20000);
    cubic.on_ack(3000, 20000, now, ms(50));
    CHECK(cubic.cwnd() == 21000);
    CHECK_FALSE(cubic.epoch_start().has_value());
}

TEST_CASE("CUBIC multiplicative decrease by beta = 0.7 (RFC 9438 4.6)", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    grow_to(cubic, 100, t0);
    cubic.on_enter_recovery(100000, t0);
    CHECK(cubic.ssthresh() == 70000);
    CHECK(cubic.cwnd() == 73000);  // + 3*SMSS, RFC 6582 step 2
    CHECK(cubic.w_max_segments() == Approx(100.0));
    CHECK(cubic.cwnd_prior_segments() == Approx(100.0));
    cubic.on_exit_recovery(69000);
    CHECK(cubic.cwnd() == 70000);

    // ssthresh comes from FlightSize, W_max from cwnd.
    Cubic limited(mss);
    grow_to(limited, 100, t0);
    limited.on_enter_recovery(50000, t0);
    CHECK(limited.ssthresh() == 35000);
    CHECK(limited.w_max_segments() == Approx(100.0));

    // Timeout (4.8): the same ssthresh, cwnd = 1 SMSS.
    Cubic rto(mss);
    grow_to(rto, 100, t0);
    rto.on_rto(100000, t0);
    CHECK(rto.ssthresh() == 70000);
    CHECK(rto.cwnd() == 1000);

    // 2*SMSS floor.
    Cubic tiny(mss);
    tiny.on_enter_recovery(2000, t0);
    CHECK(tiny.ssthresh() == 2000);
}

TEST_CASE("CUBIC K follows RFC 9438 eq. 2 at the first ACK after a reduction", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    loss_at(cubic, 100, t0);  // W_max = 100, cwnd_epoch = 70 segments
    CHECK_FALSE(cubic.epoch_start().has_value());

    const Instant first_ack = t0 + ms(30);
    cubic.on_ack(mss, cubic.cwnd(), first_ack, ms(100));
    REQUIRE(cubic.epoch_start().has_value());
    CHECK(*cubic.epoch_start() == first_ack);
    // K = cbrt((W_max - cwnd_epoch) / C) = cbrt(30 / 0.4) = cbrt(75) = 4.2172 s.
    CHECK(cubic.k_seconds() == Approx(std::cbrt(75.0)).epsilon(1e-12));
    CHECK(cubic.k_seconds() == Approx(4.2172).epsilon(1e-4));
    // W_cubic(0) = cwnd_epoch and W_cubic(K) = W_max.
    CHECK(cubic.w_cubic_segments(Duration::zero()) == Approx(70.0).epsilon(1e-9));
    CHECK(cubic.w_cubic_segments(Duration::from_ns(static_cast<std::int64_t>(cubic.k_seconds() * 1e9))) ==
          Approx(100.0).epsilon(1e-6));
    // W_est starts at cwnd_epoch and took this ACK's alpha/cwnd.
    CHECK(cubic.w_est_segments() == Approx(70.0 + Cubic::alpha / 70.0).epsilon(1e-12));

    // A larger W_max gives a larger K: W_max 1000, cwnd_epoch 700 -> cbrt(750).
    Cubic big(mss);
    loss_at(big, 1000, t0);
    big.on_ack(mss, big.cwnd(), t0, ms(100));
    CHECK(big.k_seconds() == Approx(std::cbrt(750.0)).epsilon(1e-12));
}

TEST_CASE("CUBIC's one-ACK step is (target - cwnd)/cwnd per segment with target = W_cubic(t+RTT)", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    loss_at(cubic, 1000, t0);  // cwnd 700 segments
    cubic.on_ack(mss, cubic.cwnd(), t0, ms(100));  // starts the epoch at t0
    const std::uint32_t start = cubic.cwnd();

    const Instant at = t0 + ms(2000);
    const double cwnd_seg = start / 1000.0;
    const double target = cubic.w_cubic_segments(ms(2100));  // t + RTT
    REQUIRE(target > cwnd_seg);
    REQUIRE(target < 1.5 * cwnd_seg);
    // 20 ACKs of one segment: each adds (target - cwnd)/cwnd segments; fractions carry.
    double expected = start;
    for (int i = 0; i < 20; ++i) {
        const double w = cubic.cwnd() / 1000.0;
        expected += (cubic.w_cubic_segments(ms(2100)) - w) / w * 1000.0;
        cubic.on_ack(mss, cubic.cwnd(), at, ms(100));
    }
    CHECK(static_cast<double>(cubic.cwnd()) == Approx(expected).margin(1.0));
    // About 230 bytes per ACK here, where Reno would add 1000 * 1000 / cwnd = 1.4.
    CHECK(cubic.cwnd() > start + 20 * 200);
}

TEST_CASE("CUBIC caps the per-RTT target at 1.5 * cwnd (RFC 9438 4.4)", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    loss_at(cubic, 100, t0);
    cubic.on_ack(mss, cubic.cwnd(), t0, ms(100));
    const std::uint32_t start = cubic.cwnd();
    // 100 s later the curve is far above the window: growth is (1.5 - 1) per segment.
    cubic.on_ack(mss, cubic.cwnd(), t0 + Duration::from_s(100), ms(100));
    CHECK(cubic.cwnd() == start + 500);
}

TEST_CASE("CUBIC's window follows RFC 9438's curve W_cubic(t) = C(t-K)^3 + W_max", "[tcp][cc][cubic]") {
    // W_max = 1000 segments, cwnd_epoch = 700, K = cbrt(750) = 9.09 s, RTT 100 ms: the
    // window must trace the concave approach to W_max, the plateau and the convex probe.
    Cubic cubic(mss);
    loss_at(cubic, 1000, t0);
    const Duration rtt = ms(100);
    Instant now = t0;
    cubic.on_ack(mss, cubic.cwnd(), now, rtt);  // epoch start
    const Instant epoch = *cubic.epoch_start();
    const double k = cubic.k_seconds();
    REQUIRE(k == Approx(std::cbrt(750.0)));

    const auto curve = [&](double t) { return Cubic::c * std::pow(t - k, 3.0) + 1000.0; };
    const double checkpoints[] = {1.0, 3.0, 6.0, 9.0, 12.0, 15.0, 17.0};
    std::size_t next = 0;
    while (next < std::size(checkpoints)) {
        ack_round(cubic, now, rtt);
        const double t = (now - epoch).seconds();
        if (t < checkpoints[next]) continue;
        ++next;
        const double w = cubic.cwnd() / 1000.0;
        INFO("t = " << t << " s: cwnd " << w << " segments, W_cubic(t) " << curve(t));
        // The window reaches each point of the curve within about one RTT of it: the
        // target is W_cubic(t + RTT) and a window of ACKs closes the gap.
        CHECK(w >= curve(t - rtt.seconds()) - 0.5);
        CHECK(w <= curve(t + rtt.seconds()) + 0.5);
        CHECK(std::abs(w - curve(t)) <= 0.001 * curve(t));
        // Still the cubic region: Reno's estimate is far below.
        CHECK(cubic.w_est_segments() < curve(t));
    }
    // Convex past K: beyond W_max at the end.
    CHECK(cubic.cwnd() > 1100 * mss);
}

TEST_CASE("CUBIC fast convergence lowers W_max when the window peaks below it (RFC 9438 4.7)", "[tcp][cc][cubic]") {
    Cubic fast(mss);
    loss_at(fast, 100, t0);
    REQUIRE(fast.w_max_segments() == Approx(100.0));
    // A second loss at cwnd 70 < W_max 100: W_max = 70 * (1 + 0.7) / 2 = 59.5.
    fast.on_enter_recovery(70000, t0);
    CHECK(fast.w_max_segments() == Approx(59.5));
    CHECK(fast.cwnd_prior_segments() == Approx(70.0));
    CHECK(fast.ssthresh() == 49000);

    Cubic plain(mss, /*fast_convergence=*/false);
    loss_at(plain, 100, t0);
    plain.on_enter_recovery(70000, t0);
    CHECK(plain.w_max_segments() == Approx(70.0));

    // A loss at or above the old W_max just records the window.
    Cubic growing(mss);
    loss_at(growing, 100, t0);
    Instant now = t0;
    while (growing.cwnd() < 120 * mss) ack_round(growing, now, ms(100));
    const double peak = growing.cwnd() / 1000.0;
    growing.on_enter_recovery(growing.cwnd(), now);
    CHECK(growing.w_max_segments() == Approx(peak));
}

TEST_CASE("CUBIC's Reno-friendly region dominates at a small RTT (RFC 9438 4.3)", "[tcp][cc][cubic]") {
    // RTT 1 ms, W_max 100: K = 4.2 s is 4,200 RTTs away, while Reno's AIMD(alpha, beta)
    // estimate adds alpha = 0.53 segments every RTT.
    Cubic cubic(mss);
    loss_at(cubic, 100, t0);
    const Duration rtt = ms(1);
    Instant now = t0;
    cubic.on_ack(mss, cubic.cwnd(), now, rtt);
    const Instant epoch = *cubic.epoch_start();

    for (int round = 0; round < 40; ++round) ack_round(cubic, now, rtt);
    const double t = (now - epoch).seconds();
    const double w = cubic.cwnd() / 1000.0;
    CHECK(cubic.w_cubic_segments(now - epoch) < 71.0);  // the curve has barely moved
    CHECK(cubic.w_est_segments() > 90.0);
    CHECK(w == Approx(cubic.w_est_segments()).margin(0.001));
    CHECK(w == Approx(70.0 + 40 * Cubic::alpha).margin(1.0));
    INFO("t = " << t);

    // Once W_est reaches cwnd_prior (100 segments), alpha becomes 1: Reno's own rate.
    while (cubic.w_est_segments() < 100.0) ack_round(cubic, now, rtt);
    const double at_prior = cubic.cwnd() / 1000.0;
    for (int round = 0; round < 20; ++round) ack_round(cubic, now, rtt);
    CHECK(cubic.cwnd() / 1000.0 - at_prior == Approx(20.0).margin(1.0));
}

TEST_CASE("CUBIC after a timeout starts the curve at the window with K = 0 (RFC 9438 4.8)", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    grow_to(cubic, 100, t0);
    cubic.on_rto(100000, t0);
    REQUIRE(cubic.cwnd() == 1000);
    REQUIRE(cubic.ssthresh() == 70000);

    Instant now = t0;
    while (cubic.in_slow_start()) cubic.on_ack(mss, cubic.cwnd(), now, ms(100));
    CHECK(cubic.cwnd() == 70000);
    CHECK_FALSE(cubic.epoch_start().has_value());  // the last slow-start ACK had nothing left
    now += ms(1);
    cubic.on_ack(mss, cubic.cwnd(), now, ms(100));
    REQUIRE(cubic.epoch_start().has_value());
    CHECK(cubic.k_seconds() == 0.0);
    CHECK(cubic.w_max_segments() == Approx(70.0));
    CHECK(cubic.w_cubic_segments(Duration::zero()) == Approx(70.0));
    CHECK(cubic.w_cubic_segments(Duration::from_s(2)) == Approx(70.0 + 0.4 * 8));
}

TEST_CASE("CUBIC does not grow or start an epoch while not cwnd-limited", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    loss_at(cubic, 100, t0);
    const std::uint32_t before = cubic.cwnd();
    for (int i = 0; i < 100; ++i) cubic.on_ack(mss, 30000, t0 + ms(i), ms(100));
    CHECK(cubic.cwnd() == before);
    CHECK_FALSE(cubic.epoch_start().has_value());
    // The RTT samples still count.
    REQUIRE(cubic.smoothed_rtt().has_value());
    CHECK(*cubic.smoothed_rtt() == ms(100));
}

TEST_CASE("CUBIC idle: short idle is cut out of t, long idle restarts from the IW", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    loss_at(cubic, 100, t0);
    cubic.on_ack(mss, cubic.cwnd(), t0, ms(100));
    REQUIRE(cubic.epoch_start() == t0);

    cubic.on_idle_restart(ms(50), ms(300));
    CHECK(cubic.epoch_start() == t0 + ms(50));
    CHECK(cubic.cwnd() > 70000);

    cubic.on_idle_restart(ms(400), ms(300));
    CHECK(cubic.cwnd() == 10000);
    CHECK_FALSE(cubic.epoch_start().has_value());
    CHECK(cubic.w_max_segments() == Approx(100.0));  // the curve still aims at the old peak
}

TEST_CASE("CUBIC smooths its RTT with gain 1/8", "[tcp][cc][cubic]") {
    Cubic cubic(mss);
    cubic.on_ack(mss, cubic.cwnd(), t0, ms(80));
    CHECK(*cubic.smoothed_rtt() == ms(80));
    cubic.on_ack(mss, cubic.cwnd(), t0, ms(160));
    CHECK(*cubic.smoothed_rtt() == ms(90));
    cubic.on_ack(mss, cubic.cwnd(), t0, std::nullopt);
    CHECK(*cubic.smoothed_rtt() == ms(90));
}

TEST_CASE("CUBIC after an RFC 6675 reduction follows max(W_cubic(t), W_est(t)) (RFC 9438 4.2-4.6)",
          "[tcp][cc][cubic]") {
    // SACK recovery sets cwnd = ssthresh = beta * FlightSize (no +3 inflation). W_max = 200,
    // cwnd_epoch = 140 segments, C = 0.4: K = cbrt(60 / 0.4) = 5.31 s. RTT 50 ms, so Reno's
    // estimate (alpha = 0.53 per RTT until cwnd_prior = 200, then 1 per RTT) overtakes the
    // flat part of the curve: both regions are crossed. Tolerance: 1.5 % of the expected
    // window (the target is W_cubic(t + RTT), and one round of ACKs moves it).
    Cubic cubic(mss);
    grow_to(cubic, 200, t0);
    cubic.on_enter_loss_recovery(200 * mss, t0);
    CHECK(cubic.cwnd() == cubic.ssthresh());
    CHECK(cubic.ssthresh() == Approx(140 * mss).margin(1));
    cubic.on_exit_recovery(cubic.ssthresh() + 10 * mss);
    REQUIRE(cubic.cwnd() == cubic.ssthresh());
    const Duration rtt = ms(50);
    Instant now = t0;
    cubic.on_ack(mss, cubic.cwnd(), now, rtt);  // the epoch starts
    const Instant epoch = *cubic.epoch_start();
    const double k = std::cbrt((200.0 - 140.0) / 0.4);
    CHECK(cubic.k_seconds() == Approx(k).epsilon(1e-3));
    const auto curve = [&](double t) { return 0.4 * std::pow(t - k, 3.0) + 200.0; };
    const auto reno = [&](double t) {
        const double rounds = t / rtt.seconds();
        const double to_prior = (200.0 - 140.0) / Cubic::alpha;  // rounds at alpha_cubic
        return rounds <= to_prior ? 140.0 + Cubic::alpha * rounds : 200.0 + (rounds - to_prior);
    };
    const double checkpoints[] = {1.0, 2.5, 4.0, 5.3, 6.5, 8.0};
    bool saw_cubic_region = false;
    bool saw_reno_region = false;
    std::size_t next = 0;
    while (next < std::size(checkpoints)) {
        ack_round(cubic, now, rtt);
        const double t = (now - epoch).seconds();
        if (t < checkpoints[next]) continue;
        ++next;
        const double w = cubic.cwnd() / 1000.0;
        const double expected = std::max(curve(t), reno(t));
        INFO("t = " << t << " s: cwnd " << w << ", W_cubic " << curve(t) << ", W_est model " << reno(t)
                    << ", W_est " << cubic.w_est_segments());
        CHECK(std::abs(w - expected) <= 0.015 * expected);
        CHECK(cubic.w_est_segments() == Approx(reno(t)).epsilon(0.015));
        (curve(t) >= reno(t) ? saw_cubic_region : saw_reno_region) = true;
    }
    CHECK(saw_cubic_region);
    CHECK(saw_reno_region);
}
