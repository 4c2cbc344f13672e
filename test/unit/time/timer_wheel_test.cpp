#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <vector>

#include "time/clock.hpp"
#include "time/timer_wheel.hpp"

using pollux::time::Duration;
using pollux::time::Instant;
using pollux::time::ManualClock;
using pollux::time::Timer;
using pollux::time::TimerWheel;

namespace {

constexpr Duration us(std::int64_t n) { return Duration::from_us(n); }
constexpr Duration ns(std::int64_t n) { return Duration::from_ns(n); }

// Deliberately off the tick grid of a 100 us wheel only where a test says so.
const Instant t0 = Instant::from_ns(1'000'000'000);

struct Fired {
    int count = 0;
    Instant at = Instant::max();
};

void record(Timer&, Instant now, void* context) noexcept {
    auto* f = static_cast<Fired*>(context);
    ++f->count;
    f->at = now;
}

}  // namespace

TEST_CASE("TimerWheel fires at the first tick boundary at or after the deadline", "[time]") {
    ManualClock clock(t0);
    TimerWheel wheel(clock.now());  // 100 us ticks
    Fired f;
    Timer timer(record, &f);

    wheel.arm(timer, t0 + us(250));
    CHECK(timer.armed());
    CHECK(timer.deadline() == t0 + us(250));

    clock.advance(us(100));
    CHECK(wheel.advance(clock.now()) == 0);
    clock.set(t0 + us(250));  // at the deadline but inside tick (200, 300]: not yet
    CHECK(wheel.advance(clock.now()) == 0);
    clock.set(t0 + us(300) - ns(1));
    CHECK(wheel.advance(clock.now()) == 0);
    CHECK(f.count == 0);
    clock.set(t0 + us(300));
    CHECK(wheel.advance(clock.now()) == 1);
    CHECK(f.count == 1);
    CHECK(f.at == t0 + us(300));
    CHECK_FALSE(timer.armed());

    // A deadline on the grid fires exactly at it.
    wheel.arm(timer, t0 + us(500));
    clock.set(t0 + us(500) - ns(1));
    CHECK(wheel.advance(clock.now()) == 0);
    clock.set(t0 + us(500));
    CHECK(wheel.advance(clock.now()) == 1);
    CHECK(f.count == 2);
    CHECK(f.at == t0 + us(500));

    // Nothing fires twice.
    clock.advance(Duration::from_s(1));
    CHECK(wheel.advance(clock.now()) == 0);
    CHECK(f.count == 2);
}

TEST_CASE("TimerWheel fires deadlines in the past on the next advance", "[time]") {
    TimerWheel wheel(t0);
    CHECK(wheel.advance(t0 + Duration::from_ms(1)) == 0);
    CHECK(wheel.last_advance() == t0 + Duration::from_ms(1));

    Fired past, now, before_start;
    Timer a(record, &past), b(record, &now), c(record, &before_start);
    wheel.arm(a, t0 + us(200));
    wheel.arm(b, t0 + Duration::from_ms(1));  // equal to the last advance's now
    wheel.arm(c, t0 - Duration::from_s(5));   // before the wheel's start
    CHECK(wheel.size() == 3);
    // Same `now` again: nothing new is due by the grid, but these are already overdue.
    CHECK(wheel.advance(t0 + Duration::from_ms(1)) == 3);
    CHECK(past.count == 1);
    CHECK(now.count == 1);
    CHECK(before_start.count == 1);
    CHECK(past.at == t0 + Duration::from_ms(1));
    CHECK(wheel.empty());

    // A `now` that goes backwards counts as the last one: it neither fires nor rewinds.
    wheel.arm(a, t0 + Duration::from_ms(1) + us(50));
    CHECK(wheel.advance(t0) == 0);
    CHECK(wheel.last_advance() == t0 + Duration::from_ms(1));
    CHECK(wheel.advance(t0 + Duration::from_ms(1) + us(100)) == 1);
    CHECK(past.count == 2);
}

TEST_CASE("TimerWheel deadlines beyond one revolution wait their turn", "[time]") {
    TimerWheel wheel(t0, us(100), 16);  // span 1.6 ms
    const Duration span = us(1600);
    Fired f;
    Timer timer(record, &f);
    const Instant deadline = t0 + span * 3 + us(50);  // same slot as t0 + 100 us
    wheel.arm(timer, deadline);

    // Walk tick by tick: the slot comes round three times before the deadline.
    int fired_early = 0;
    for (Instant now = t0 + us(100); now < deadline + us(50); now += us(100)) {
        fired_early += static_cast<int>(wheel.advance(now));  // every tick here is before it
    }
    CHECK(fired_early == 0);
    CHECK(f.count == 0);
    CHECK(wheel.advance(deadline + us(50)) == 1);
    CHECK(f.at == deadline + us(50));
}

TEST_CASE("TimerWheel cancel before the deadline stops the timer", "[time]") {
    TimerWheel wheel(t0);
    Fired f, g;
    Timer a(record, &f), b(record, &g);
    wheel.arm(a, t0 + us(150));
    wheel.arm(b, t0 + us(180));  // same slot
    wheel.cancel(a);
    CHECK_FALSE(a.armed());
    CHECK(wheel.size() == 1);
    wheel.cancel(a);  // twice is harmless
    a.cancel();
    CHECK(wheel.size() == 1);
    CHECK(wheel.advance(t0 + Duration::from_ms(10)) == 1);
    CHECK(f.count == 0);
    CHECK(g.count == 1);

    // b cancels itself through its own handle.
    wheel.arm(b, t0 + Duration::from_ms(20));
    b.cancel();
    CHECK(wheel.empty());
    CHECK(wheel.advance(t0 + Duration::from_ms(30)) == 0);
    CHECK(g.count == 1);
}

TEST_CASE("TimerWheel re-arm moves a timer earlier or later", "[time]") {
    TimerWheel wheel(t0);
    Fired f;
    Timer timer(record, &f);

    SECTION("earlier") {
        wheel.arm(timer, t0 + Duration::from_ms(5));
        wheel.arm(timer, t0 + Duration::from_ms(1));
        CHECK(wheel.size() == 1);
        CHECK(timer.deadline() == t0 + Duration::from_ms(1));
        CHECK(wheel.advance(t0 + Duration::from_ms(1)) == 1);
        CHECK(f.at == t0 + Duration::from_ms(1));
        CHECK(wheel.advance(t0 + Duration::from_ms(6)) == 0);
        CHECK(f.count == 1);
    }
    SECTION("later, past a whole revolution") {
        wheel.arm(timer, t0 + Duration::from_ms(1));
        wheel.arm(timer, t0 + Duration::from_s(2));
        CHECK(wheel.size() == 1);
        CHECK(wheel.advance(t0 + Duration::from_ms(1)) == 0);
        CHECK(wheel.advance(t0 + Duration::from_s(2) - ns(1)) == 0);
        CHECK(f.count == 0);
        CHECK(wheel.advance(t0 + Duration::from_s(2)) == 1);
        CHECK(f.count == 1);
    }
    SECTION("onto another wheel") {
        TimerWheel other(t0);
        wheel.arm(timer, t0 + Duration::from_ms(1));
        other.arm(timer, t0 + Duration::from_ms(2));
        CHECK(wheel.empty());
        CHECK(other.size() == 1);
        CHECK(wheel.advance(t0 + Duration::from_ms(3)) == 0);
        CHECK(other.advance(t0 + Duration::from_ms(3)) == 1);
        CHECK(f.count == 1);
    }
}

namespace {

struct Periodic {
    TimerWheel* wheel;
    Duration period;
    std::vector<Instant> fired_at;
};

void periodic(Timer& self, Instant now, void* context) noexcept {
    auto* p = static_cast<Periodic*>(context);
    p->fired_at.push_back(now);
    p->wheel->arm(self, self.deadline() + p->period);
}

}  // namespace

TEST_CASE("TimerWheel callback re-arming itself makes a periodic timer", "[time]") {
    TimerWheel wheel(t0);
    Periodic p{&wheel, us(300), {}};
    p.fired_at.reserve(16);
    Timer timer(periodic, &p);
    wheel.arm(timer, t0 + us(300));
    for (Instant now = t0 + us(100); now <= t0 + us(3000); now += us(100)) wheel.advance(now);
    REQUIRE(p.fired_at.size() == 10);
    for (std::size_t i = 0; i < p.fired_at.size(); ++i) {
        CHECK(p.fired_at[i] == t0 + us(300) * static_cast<std::int64_t>(i + 1));
    }
    CHECK(timer.armed());
    CHECK(timer.deadline() == t0 + us(3300));
    CHECK(wheel.size() == 1);

    // One big step: it fires once (re-armed for a deadline already past), then once per
    // advance, never looping inside one advance.
    CHECK(wheel.advance(t0 + us(10'000)) == 1);
    CHECK(wheel.advance(t0 + us(10'000)) == 1);
    CHECK(p.fired_at.size() == 12);
}

namespace {

struct ZeroPeriod {
    TimerWheel* wheel;
    int count = 0;
};

void rearm_now(Timer& self, Instant now, void* context) noexcept {
    auto* z = static_cast<ZeroPeriod*>(context);
    ++z->count;
    z->wheel->arm(self, now);
}

}  // namespace

TEST_CASE("TimerWheel timer re-armed for now from its callback waits for the next advance", "[time]") {
    TimerWheel wheel(t0);
    ZeroPeriod z{&wheel};
    Timer timer(rearm_now, &z);
    wheel.arm(timer, t0 + us(100));
    CHECK(wheel.advance(t0 + us(100)) == 1);
    CHECK(wheel.advance(t0 + us(100)) == 1);
    CHECK(wheel.advance(t0 + us(150)) == 1);
    CHECK(z.count == 3);
    CHECK(timer.armed());
}

namespace {

// What a callback does to the other timers of its slot.
struct Meddler {
    TimerWheel* wheel = nullptr;
    Timer* cancel = nullptr;
    std::optional<Timer>* destroy = nullptr;
    Timer* postpone = nullptr;
    Instant postpone_to;
    int count = 0;
};

void meddle(Timer&, Instant, void* context) noexcept {
    auto* m = static_cast<Meddler*>(context);
    ++m->count;
    if (m->cancel != nullptr) m->wheel->cancel(*m->cancel);
    if (m->destroy != nullptr) m->destroy->reset();
    if (m->postpone != nullptr) m->wheel->arm(*m->postpone, m->postpone_to);
}

}  // namespace

TEST_CASE("TimerWheel callback may cancel, destroy or re-arm timers due in the same slot", "[time]") {
    TimerWheel wheel(t0);
    Fired fb, fc, fd, fe;
    Timer b(record, &fb);
    std::optional<Timer> c(std::in_place, record, &fc);
    Timer d(record, &fd);
    Timer e(record, &fe);  // same slot, left alone: must still fire
    Meddler m{&wheel, &b, &c, &d, t0 + Duration::from_ms(1)};
    Timer a(meddle, &m);

    // All in tick (100, 200]; a is armed first, so it fires first within the slot.
    wheel.arm(a, t0 + us(110));
    wheel.arm(b, t0 + us(120));
    wheel.arm(*c, t0 + us(130));
    wheel.arm(d, t0 + us(140));
    wheel.arm(e, t0 + us(150));
    CHECK(wheel.size() == 5);

    CHECK(wheel.advance(t0 + us(200)) == 2);  // a and e
    CHECK(m.count == 1);
    CHECK(fb.count == 0);
    CHECK_FALSE(b.armed());
    CHECK_FALSE(c.has_value());
    CHECK(fc.count == 0);
    CHECK(fd.count == 0);
    CHECK(d.armed());
    CHECK(d.deadline() == t0 + Duration::from_ms(1));
    CHECK(fe.count == 1);
    CHECK(wheel.size() == 1);

    CHECK(wheel.advance(t0 + Duration::from_ms(1)) == 1);
    CHECK(fd.count == 1);
    CHECK(wheel.empty());
}

TEST_CASE("TimerWheel destroying an armed timer unlinks it", "[time]") {
    TimerWheel wheel(t0);
    Fired f1, f2, f3;
    Timer before(record, &f1);
    std::optional<Timer> doomed(std::in_place, record, &f2);
    Timer after(record, &f3);
    wheel.arm(before, t0 + us(150));
    wheel.arm(*doomed, t0 + us(160));  // between two neighbours in the same slot
    wheel.arm(after, t0 + us(170));
    CHECK(wheel.size() == 3);
    doomed.reset();
    CHECK(wheel.size() == 2);
    CHECK(wheel.advance(t0 + us(200)) == 2);
    CHECK(f1.count == 1);
    CHECK(f2.count == 0);
    CHECK(f3.count == 1);

    SECTION("armed in the past") {
        wheel.arm(before, t0);
        std::optional<Timer> gone(std::in_place, record, &f2);
        wheel.arm(*gone, t0);
        gone.reset();
        CHECK(wheel.advance(t0 + us(200)) == 1);
        CHECK(f2.count == 0);
    }
    SECTION("the wheel goes first") {
        Timer survivor(record, &f1);
        {
            TimerWheel short_lived(t0);
            short_lived.arm(survivor, t0 + Duration::from_s(100));
            short_lived.arm(after, t0);
        }
        CHECK_FALSE(survivor.armed());
        CHECK_FALSE(after.armed());
        wheel.arm(survivor, t0 + Duration::from_ms(1));  // still usable
        CHECK(wheel.advance(t0 + Duration::from_ms(1)) == 1);
        CHECK(f1.count == 2);
    }
}

TEST_CASE("TimerWheel a jump of hours walks one revolution at most", "[time]") {
    TimerWheel wheel(t0);  // 4,096 slots of 100 us
    Fired near, hour, far;
    Timer a(record, &near), b(record, &hour), c(record, &far);
    const Duration hour_d = Duration::from_s(3600);
    wheel.arm(a, t0 + Duration::from_ms(1));
    wheel.arm(b, t0 + hour_d);
    wheel.arm(c, t0 + hour_d * 20);

    // Ten hours is 360 million ticks.
    CHECK(wheel.advance(t0 + hour_d * 10) == 2);
    CHECK(wheel.slots_walked() == 4096);
    CHECK(near.count == 1);
    CHECK(hour.count == 1);
    CHECK(far.count == 0);
    CHECK(c.armed());

    CHECK(wheel.advance(t0 + hour_d * 20 - ns(1)) == 0);
    CHECK(wheel.advance(t0 + hour_d * 20) == 1);
    CHECK(far.count == 1);
    CHECK(wheel.slots_walked() == 2 * 4096 + 1);
    // Ordinary steps walk only the ticks they pass.
    CHECK(wheel.advance(t0 + hour_d * 20 + us(350)) == 0);
    CHECK(wheel.slots_walked() == 2 * 4096 + 1 + 3);
}

TEST_CASE("TimerWheel size counts armed timers", "[time]") {
    TimerWheel wheel(t0);
    Fired f;
    Timer a(record, &f), b(record, &f);
    std::optional<Timer> c(std::in_place, record, &f);
    CHECK(wheel.size() == 0);
    CHECK(wheel.empty());
    wheel.arm(a, t0 + us(100));
    wheel.arm(b, t0 + Duration::from_s(10));
    wheel.arm(*c, t0 + Duration::from_ms(3));
    CHECK(wheel.size() == 3);
    wheel.arm(b, t0 + Duration::from_ms(2));  // re-arm
    CHECK(wheel.size() == 3);
    wheel.cancel(b);
    wheel.cancel(b);
    CHECK(wheel.size() == 2);
    CHECK(wheel.advance(t0 + us(100)) == 1);
    CHECK(wheel.size() == 1);
    c.reset();
    CHECK(wheel.size() == 0);
    CHECK(wheel.empty());
}

TEST_CASE("TimerWheel next_deadline_hint is never after the earliest deadline", "[time]") {
    TimerWheel wheel(t0, us(100), 64);  // span 6.4 ms
    Fired f;
    Timer a(record, &f), b(record, &f), c(record, &f);
    CHECK(wheel.next_deadline_hint() == Instant::max());

    wheel.arm(a, t0 + Duration::from_ms(5) + ns(7));
    wheel.arm(b, t0 + Duration::from_ms(2) + ns(3));
    CHECK(wheel.next_deadline_hint() == t0 + Duration::from_ms(2) + ns(3));

    // After a cancel the hint may be early, never late.
    wheel.cancel(b);
    CHECK(wheel.next_deadline_hint() <= t0 + Duration::from_ms(5) + ns(7));
    // Once the stale hint is in the past it is recomputed exactly.
    CHECK(wheel.advance(t0 + Duration::from_ms(3)) == 0);
    CHECK(wheel.next_deadline_hint() == t0 + Duration::from_ms(5) + ns(7));

    // Only timers beyond one revolution: still exact after recomputation.
    wheel.arm(c, t0 + Duration::from_ms(30) + ns(1));
    CHECK(wheel.advance(t0 + Duration::from_ms(6)) == 1);
    CHECK(wheel.next_deadline_hint() == t0 + Duration::from_ms(30) + ns(1));
    // Same slot, one revolution nearer: it is the earliest now.
    wheel.arm(a, t0 + Duration::from_ms(30) + ns(1) - us(6400));
    CHECK(wheel.next_deadline_hint() == t0 + Duration::from_ms(30) + ns(1) - us(6400));

    // An overdue timer waiting for the next advance.
    wheel.arm(b, t0 + Duration::from_ms(1));
    CHECK(wheel.next_deadline_hint() == t0 + Duration::from_ms(1));

    wheel.cancel(a);
    wheel.cancel(b);
    wheel.cancel(c);
    CHECK(wheel.next_deadline_hint() == Instant::max());
}

TEST_CASE("TimerWheel rejects a bad geometry", "[time]") {
    CHECK_THROWS_AS(TimerWheel(t0, us(100), 1000), std::invalid_argument);
    CHECK_THROWS_AS(TimerWheel(t0, us(100), 0), std::invalid_argument);
    CHECK_THROWS_AS(TimerWheel(t0, Duration::zero(), 64), std::invalid_argument);
    CHECK_NOTHROW(TimerWheel(t0, ns(1), 1));
}

TEST_CASE("TimerWheel handles a negative start and a deadline of Instant::max()", "[time]") {
    const Instant start = Instant::from_ns(-5'000'000'000);
    TimerWheel wheel(start, ns(3), 8);  // a tick that divides nothing round
    Fired never, soon;
    Timer a(record, &never), b(record, &soon);
    wheel.arm(a, Instant::max());
    wheel.arm(b, start + ns(10));  // tick (9, 12]
    CHECK(wheel.next_deadline_hint() == start + ns(10));
    CHECK(wheel.advance(start + ns(11)) == 0);
    CHECK(wheel.advance(start + ns(12)) == 1);
    CHECK(wheel.advance(Instant::from_ns(4'000'000'000'000'000'000)) == 0);
    CHECK(never.count == 0);
    CHECK(a.armed());
    CHECK(wheel.next_deadline_hint() == Instant::max());
    CHECK(wheel.size() == 1);
}

// ---------------------------------------------------------------------------------------
// Property: over thousands of timers with random deadlines, random advance steps and
// random cancels and re-arms, every armed timer fires exactly once, never before its
// deadline, and no later than the first advance at or past deadline + tick.

namespace {

struct Run;

struct Probe {
    Probe(Run* r, Timer::Callback cb) : run(r), timer(cb, this) {}
    Run* run;
    Timer timer;
    bool armed = false;                // the model's view
    Instant deadline;
    Instant now_at_arm;                // the wheel's last advance() when armed
    std::uint64_t advances_at_arm = 0;
};

struct Run {
    Duration tick;
    Instant now;
    Instant prev_now;
    std::uint64_t advances = 0;  // including the one in progress
    std::size_t model_armed = 0;
    std::size_t arms = 0;  // arms of a timer the model had unarmed
    std::size_t cancels = 0;
    std::size_t fired = 0;
    int early = 0;
    int late = 0;
    int unexpected = 0;     // fired while not armed in the model (twice, or after cancel)
    int still_armed = 0;    // the wheel said armed() inside the callback
};

void on_probe(Timer& timer, Instant now, void* context) noexcept {
    auto& p = *static_cast<Probe*>(context);
    Run& r = *p.run;
    if (!p.armed) ++r.unexpected;
    if (timer.armed()) ++r.still_armed;
    if (now < p.deadline) ++r.early;
    if (p.deadline <= p.now_at_arm) {
        // Overdue when armed: due at the very next advance.
        if (r.advances != p.advances_at_arm + 1) ++r.late;
    } else if (p.advances_at_arm + 1 < r.advances && r.prev_now >= p.deadline + r.tick) {
        // The previous advance already stood a tick past the deadline.
        ++r.late;
    }
    p.armed = false;
    --r.model_armed;
    ++r.fired;
}

void model_arm(Run& r, TimerWheel& wheel, Probe& p, Instant deadline) {
    wheel.arm(p.timer, deadline);
    if (!p.armed) {
        ++r.model_armed;
        ++r.arms;
    }
    p.armed = true;
    p.deadline = deadline;
    p.now_at_arm = r.now;
    p.advances_at_arm = r.advances;
}

Instant true_earliest(const std::vector<std::unique_ptr<Probe>>& probes) {
    Instant best = Instant::max();
    for (const auto& p : probes) {
        if (p->armed) best = std::min(best, p->deadline);
    }
    return best;
}

void run_property(std::uint32_t seed, Duration tick, std::size_t slots) {
    INFO("seed " << seed << ", tick " << tick.ns() << " ns, " << slots << " slots");
    std::mt19937 rng(seed);
    const Duration span = tick * static_cast<std::int64_t>(slots);
    const Instant start = Instant::from_ns(7'000'000'123);  // off any tick grid
    TimerWheel wheel(start, tick, slots);
    Run r{tick, start, start};

    auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };

    std::vector<std::unique_ptr<Probe>> probes;
    for (int i = 0; i < 10'000; ++i) {
        probes.push_back(std::make_unique<Probe>(&r, on_probe));
        model_arm(r, wheel, *probes.back(), start + ns(uniform(0, (span * 10).ns())));
    }
    CHECK(wheel.size() == 10'000);

    int count_mismatch = 0;
    int size_mismatch = 0;
    int hint_late = 0;
    int ops = 0;
    const Instant end = start + span * 11;
    while (r.now < end) {
        // Mostly sub-tick to a few ticks, sometimes a few hundredths of the span, rarely a
        // jump past a whole revolution.
        const std::int64_t roll = uniform(0, 999);
        const Duration step = roll < 500 ? ns(uniform(0, (tick * 2).ns()))
                              : roll < 999 ? ns(uniform(0, std::max(tick * 2, span / 180).ns()))
                                           : ns(uniform(0, (span * 3 / 2).ns()));
        r.prev_now = r.now;
        r.now += step;
        ++r.advances;
        const std::size_t fired_before = r.fired;
        if (wheel.advance(r.now) != r.fired - fired_before) ++count_mismatch;
        if (wheel.size() != r.model_armed) ++size_mismatch;

        // Cancel or (re-)arm a few timers between advances, some for deadlines already past.
        for (std::int64_t k = uniform(0, 3); k > 0; --k, ++ops) {
            Probe& p = *probes[static_cast<std::size_t>(uniform(0, 9'999))];
            if (p.armed && uniform(0, 1) == 0) {
                wheel.cancel(p.timer);
                p.armed = false;
                --r.model_armed;
                ++r.cancels;
            } else {
                model_arm(r, wheel, p, r.now + ns(uniform(-(tick * 3).ns(), (span * 3).ns())));
            }
        }
        if (r.advances % 16 == 0 && wheel.next_deadline_hint() > true_earliest(probes)) ++hint_late;
    }
    CHECK(r.advances > 150);
    CHECK(ops > 150);

    // Far past every deadline, then once more for anything that was overdue.
    r.prev_now = r.now;
    r.now += span * 20;
    ++r.advances;
    wheel.advance(r.now);
    CHECK(wheel.empty());
    CHECK(r.model_armed == 0);
    CHECK(r.fired + r.cancels == r.arms);  // each arm ended in exactly one fire or cancel
    CHECK(r.fired > 5'000);
    CHECK(count_mismatch == 0);
    CHECK(size_mismatch == 0);
    CHECK(hint_late == 0);
    CHECK(r.early == 0);
    CHECK(r.late == 0);
    CHECK(r.unexpected == 0);
    CHECK(r.still_armed == 0);
}

}  // namespace

TEST_CASE("TimerWheel property: every timer fires once, never early, at most a tick late", "[time]") {
    for (std::uint32_t seed : {1u, 2u, 3u}) {
        run_property(seed, us(100), 4096);  // the default geometry
        run_property(seed, Duration::from_ms(1), 64);  // many revolutions per deadline
        run_property(seed, ns(7), 16);  // crowded slots, odd tick
    }
}
