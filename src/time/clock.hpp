// Clocks behind one interface: the TSC for real runs, a manual clock for tests and
// simulations (virtual time). The runtime reads a clock once per loop iteration and
// hands `now` down; protocol code never reads one.
#pragma once

#include <cstdint>

#include "time/instant.hpp"

namespace pollux::time {

class Clock {
public:
    virtual ~Clock() = default;
    virtual Instant now() const noexcept = 0;
};

// Reads the CPU's invariant TSC (rte_get_tsc_cycles) and converts to nanoseconds since the
// clock was made, without overflow for centuries of uptime.
class TscClock final : public Clock {
public:
    TscClock() noexcept;
    Instant now() const noexcept override;

private:
    std::uint64_t start_cycles_;
    std::uint64_t hz_;
};

// Time moves only when told to. Never goes backwards.
class ManualClock final : public Clock {
public:
    explicit ManualClock(Instant start = Instant()) noexcept : now_(start) {}
    Instant now() const noexcept override { return now_; }
    void advance(Duration d) noexcept {
        if (d > Duration::zero()) now_ += d;
    }
    void set(Instant t) noexcept {
        if (t > now_) now_ = t;
    }

private:
    Instant now_;
};

}  // namespace pollux::time
