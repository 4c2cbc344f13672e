// TimerWheel: the hashed timing wheel of one shard (DESIGN.md rule 4: timers are data;
// each TCB holds its deadlines as Timer members and one wheel per shard indexes them).
//
// Contract
// - Who: a wheel and every Timer armed on it belong to one shard. Only that shard's thread
//   arms, cancels, destroys an armed Timer or calls advance()/next_deadline_hint(); there
//   is no lock. A thread of another shard must ask the owner (a command ring) instead.
// - Cost: arm, re-arm and cancel are O(1). advance(now) costs O(slots passed, at most one
//   revolution) + O(timers fired) + one look at each timer that is due more than a
//   revolution (slots * tick) ahead each time its slot comes round. Nothing allocates
//   after the constructor: Timers are intrusive (a Boost.Intrusive list hook inside each).
// - When: a timer never fires early. It fires in the first advance() whose `now` is at or
//   past its deadline rounded up to the tick grid (start + k * tick), so at most one tick
//   late relative to that call; a timer armed with a deadline at or before the wheel's
//   last advance() `now` fires in the next advance(). How late a timer is in wall time is
//   also bounded by how often the shard calls advance().
// - Callbacks run inside advance(), with the timer already disarmed. A callback may arm,
//   re-arm, cancel or destroy any Timer of this wheel (itself, others due in the same
//   slot); a timer it arms for a deadline at or before `now` fires in the next advance(),
//   never in the current one, so a zero-period timer cannot starve the loop. A callback
//   must not destroy the wheel.
// - Within a slot, timers fire in the order they were armed, not in deadline order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/intrusive/list.hpp>

#include "time/instant.hpp"

namespace pollux::time {

class TimerWheel;

// A deadline and what to do when it passes. Usually a member of the object it serves (a
// TCB's RTO timer), with `context` pointing back at that object. Neither copyable nor
// movable: the wheel links it by address. Destroying an armed Timer cancels it.
class Timer {
public:
    // Runs on the shard's thread inside TimerWheel::advance(); `now` is advance()'s
    // argument. noexcept because it runs in the middle of the wheel's walk.
    using Callback = void (*)(Timer& timer, Instant now, void* context) noexcept;

    Timer(Callback callback, void* context) noexcept : callback_(callback), context_(context) {}
    ~Timer();

    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    bool armed() const noexcept { return wheel_ != nullptr; }
    // The deadline it was last armed for (meaningful while armed, and in its callback).
    Instant deadline() const noexcept { return deadline_; }
    void* context() const noexcept { return context_; }
    // Cancels it on the wheel it is armed on; nothing if it is not armed.
    void cancel() noexcept;

private:
    friend class TimerWheel;

    // auto_unlink: unlinking needs no reference to the list (a slot, the expired list or
    // advance()'s local list), so cancel is O(1) wherever the timer sits.
    using Hook = boost::intrusive::list_member_hook<
        boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

    Hook hook_;
    TimerWheel* wheel_ = nullptr;  // set while armed
    Instant deadline_;
    std::uint64_t tick_ = 0;       // the tick (since the wheel's start) it is due in
    Callback callback_;
    void* context_;
};

class TimerWheel {
public:
    // `slots` must be a power of two and `tick` positive (std::invalid_argument otherwise).
    // The wheel spans slots * tick (409.6 ms by default); farther deadlines wait in their
    // slot for as many revolutions as they need.
    explicit TimerWheel(Instant start, Duration tick = Duration::from_us(100),
                        std::size_t slots = 4096);
    // Disarms every timer still armed (they stay valid and may be armed elsewhere).
    ~TimerWheel();

    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // Arms `timer` for `deadline`, first cancelling it if it is armed (here or elsewhere).
    void arm(Timer& timer, Instant deadline) noexcept;
    // Disarms `timer`; nothing if it is not armed. It must not be armed on another wheel.
    void cancel(Timer& timer) noexcept;
    // Fires every timer that is due at `now` (see the contract above) and returns how many
    // fired. A `now` earlier than the last one counts as the last one.
    std::size_t advance(Instant now) noexcept;

    // An instant at or before the earliest armed deadline (Instant::max() when none is
    // armed), for a thread deciding how long it may sleep. Usually exact; after a cancel it
    // may be the cancelled deadline (early, never late). Cheap when the last answer is
    // still in the future; otherwise it scans up to one revolution of slots. Note that
    // advance() fires at tick boundaries, so a thread that wakes at the hint may have to
    // call advance() again up to one tick later.
    Instant next_deadline_hint() const noexcept;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    Duration tick() const noexcept { return Duration::from_ns(static_cast<std::int64_t>(tick_ns_)); }
    std::size_t slot_count() const noexcept { return slots_.size(); }
    // The `now` of the last advance() (the start until the first).
    Instant last_advance() const noexcept { return last_now_; }
    // Slots walked by advance() so far: telemetry, and proof that a jump is bounded.
    std::uint64_t slots_walked() const noexcept { return slots_walked_; }

private:
    using List = boost::intrusive::list<
        Timer, boost::intrusive::member_hook<Timer, Timer::Hook, &Timer::hook_>,
        boost::intrusive::constant_time_size<false>>;

    // Ticks since start_, for an instant at or after start_.
    std::uint64_t ticks_floor(Instant t) const noexcept;
    std::uint64_t ticks_ceil(Instant t) const noexcept;
    std::size_t fire_expired(Instant now) noexcept;
    std::size_t expire_slot(std::size_t slot, std::uint64_t now_tick, Instant now) noexcept;
    Instant earliest_deadline() const noexcept;
    static void disarm_all(List& list) noexcept;

    Instant start_;
    std::uint64_t tick_ns_;
    std::uint64_t mask_;
    std::vector<List> slots_;
    // Timers armed for a deadline at or before last_now_: due at the next advance().
    List expired_;
    Instant last_now_;
    // Every tick before this one has been walked; every timer in a slot has tick_ >= it.
    std::uint64_t next_tick_ = 1;
    std::size_t size_ = 0;
    std::uint64_t slots_walked_ = 0;
    // A lower bound of every armed deadline; recomputed lazily once it is in the past.
    mutable Instant hint_ = Instant::max();
};

}  // namespace pollux::time
