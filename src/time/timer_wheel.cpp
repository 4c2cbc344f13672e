#include "time/timer_wheel.hpp"

#include <algorithm>
#include <cassert>
#include <stdexcept>

namespace pollux::time {

Timer::~Timer() {
    // Keeps the wheel's count right; the auto_unlink hook would unlink us anyway.
    cancel();
}

void Timer::cancel() noexcept {
    if (wheel_ != nullptr) wheel_->cancel(*this);
}

TimerWheel::TimerWheel(Instant start, Duration tick, std::size_t slots)
    : start_(start), last_now_(start) {
    if (tick <= Duration::zero()) throw std::invalid_argument("TimerWheel: tick must be positive");
    if (slots == 0 || (slots & (slots - 1)) != 0) {
        throw std::invalid_argument("TimerWheel: slots must be a power of two");
    }
    tick_ns_ = static_cast<std::uint64_t>(tick.ns());
    mask_ = slots - 1;
    slots_ = std::vector<List>(slots);
}

TimerWheel::~TimerWheel() {
    for (List& slot : slots_) disarm_all(slot);
    disarm_all(expired_);
}

void TimerWheel::disarm_all(List& list) noexcept {
    while (!list.empty()) {
        Timer& t = list.front();
        list.pop_front();
        t.wheel_ = nullptr;
    }
}

// Differences are taken in unsigned arithmetic: t >= start_, so t - start_ fits in 64
// bits even when start_ is negative and t is Instant::max().
std::uint64_t TimerWheel::ticks_floor(Instant t) const noexcept {
    const std::uint64_t ns = static_cast<std::uint64_t>(t.ns()) - static_cast<std::uint64_t>(start_.ns());
    return ns / tick_ns_;
}

std::uint64_t TimerWheel::ticks_ceil(Instant t) const noexcept {
    const std::uint64_t ns = static_cast<std::uint64_t>(t.ns()) - static_cast<std::uint64_t>(start_.ns());
    return ns / tick_ns_ + (ns % tick_ns_ != 0 ? 1 : 0);
}

void TimerWheel::arm(Timer& timer, Instant deadline) noexcept {
    if (timer.wheel_ != nullptr) timer.wheel_->cancel(timer);
    timer.deadline_ = deadline;
    timer.wheel_ = this;
    ++size_;
    hint_ = std::min(hint_, deadline);
    if (deadline <= last_now_) {
        expired_.push_back(timer);
        return;
    }
    // deadline > last_now_ >= start_ + (next_tick_ - 1) * tick, so the rounded-up tick is
    // at least next_tick_: the slot has not been walked for this tick yet.
    timer.tick_ = ticks_ceil(deadline);
    assert(timer.tick_ >= next_tick_);
    slots_[timer.tick_ & mask_].push_back(timer);
}

void TimerWheel::cancel(Timer& timer) noexcept {
    if (timer.wheel_ == nullptr) return;
    assert(timer.wheel_ == this);
    timer.hook_.unlink();
    timer.wheel_ = nullptr;
    --size_;
    if (size_ == 0) hint_ = Instant::max();
}

std::size_t TimerWheel::advance(Instant now) noexcept {
    now = std::max(now, last_now_);
    last_now_ = now;
    std::size_t fired = fire_expired(now);

    const std::uint64_t now_tick = ticks_floor(now);
    if (now_tick < next_tick_) return fired;
    // Past one revolution every slot has been visited once, and each visit fires all it
    // holds up to now_tick, so a jump of hours costs one revolution, not millions of slots.
    const std::uint64_t walk = std::min<std::uint64_t>(now_tick - next_tick_ + 1, slots_.size());
    const std::uint64_t first = next_tick_;
    // Moved before any callback runs. A timer a callback arms for a deadline after `now`
    // rounds up to a tick after now_tick, so the walk below leaves it in its slot for a
    // later advance(); one armed for `now` or earlier goes to expired_ (next advance()).
    next_tick_ = now_tick + 1;
    for (std::uint64_t i = 0; i < walk; ++i) {
        fired += expire_slot(static_cast<std::size_t>((first + i) & mask_), now_tick, now);
    }
    slots_walked_ += walk;
    return fired;
}

std::size_t TimerWheel::fire_expired(Instant now) noexcept {
    // Detach the list first: what a callback arms for `now` or earlier goes to expired_
    // and waits for the next advance().
    List due;
    due.splice(due.end(), expired_);
    std::size_t fired = 0;
    while (!due.empty()) {
        Timer& t = due.front();
        due.pop_front();
        t.wheel_ = nullptr;
        --size_;
        ++fired;
        t.callback_(t, now, t.context_);  // may destroy t: not touched after this
    }
    return fired;
}

std::size_t TimerWheel::expire_slot(std::size_t slot, std::uint64_t now_tick, Instant now) noexcept {
    // The slot is moved to a local list so that callbacks can arm into this slot, or cancel
    // and destroy timers still waiting in `pending`, without disturbing the walk.
    List pending;
    pending.splice(pending.end(), slots_[slot]);
    std::size_t fired = 0;
    while (!pending.empty()) {
        Timer& t = pending.front();
        pending.pop_front();
        if (t.tick_ > now_tick) {  // due in a later revolution
            slots_[slot].push_back(t);
            continue;
        }
        t.wheel_ = nullptr;
        --size_;
        ++fired;
        t.callback_(t, now, t.context_);  // may destroy t: not touched after this
    }
    return fired;
}

Instant TimerWheel::next_deadline_hint() const noexcept {
    if (size_ == 0) {
        hint_ = Instant::max();
        return hint_;
    }
    // hint_ only ever moves down between recomputations (arm takes the min), so it stays a
    // lower bound; once it is in the past it is probably stale and worth recomputing.
    if (hint_ > last_now_) return hint_;
    hint_ = earliest_deadline();
    return hint_;
}

// The exact earliest armed deadline; size_ > 0.
Instant TimerWheel::earliest_deadline() const noexcept {
    Instant best = Instant::max();
    if (!expired_.empty()) {
        // Every expired deadline is <= last_now_ < every deadline in a slot.
        for (const Timer& t : expired_) best = std::min(best, t.deadline_);
        return best;
    }
    // Walk one revolution in tick order: the first tick holding a timer due in it holds the
    // earliest deadline (ticks partition time). A timer in that slot with a larger tick_
    // belongs to a later revolution.
    for (std::uint64_t k = next_tick_; k < next_tick_ + slots_.size(); ++k) {
        bool found = false;
        for (const Timer& t : slots_[k & mask_]) {
            if (t.tick_ == k) {
                best = std::min(best, t.deadline_);
                found = true;
            }
        }
        if (found) return best;
    }
    // Every armed timer is more than a revolution away.
    for (const List& slot : slots_) {
        for (const Timer& t : slot) best = std::min(best, t.deadline_);
    }
    return best;
}

}  // namespace pollux::time
