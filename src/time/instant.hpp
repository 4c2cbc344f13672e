// Strong time types (DESIGN.md rule 2): an Instant on one shard's clock and a Duration,
// both in nanoseconds. The stack never reads a clock inside protocol code: every input
// and timer callback is handed `now`.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>

namespace pollux::time {

class Duration {
public:
    constexpr Duration() noexcept = default;
    static constexpr Duration from_ns(std::int64_t ns) noexcept { return Duration(ns); }
    static constexpr Duration from_us(std::int64_t us) noexcept { return Duration(us * 1'000); }
    static constexpr Duration from_ms(std::int64_t ms) noexcept { return Duration(ms * 1'000'000); }
    static constexpr Duration from_s(std::int64_t s) noexcept { return Duration(s * 1'000'000'000); }
    static constexpr Duration zero() noexcept { return Duration(0); }
    static constexpr Duration max() noexcept { return Duration(std::numeric_limits<std::int64_t>::max()); }

    constexpr std::int64_t ns() const noexcept { return ns_; }
    constexpr std::int64_t us() const noexcept { return ns_ / 1'000; }
    constexpr std::int64_t ms() const noexcept { return ns_ / 1'000'000; }
    constexpr double seconds() const noexcept { return static_cast<double>(ns_) / 1e9; }

    constexpr Duration operator+(Duration o) const noexcept { return Duration(ns_ + o.ns_); }
    constexpr Duration operator-(Duration o) const noexcept { return Duration(ns_ - o.ns_); }
    constexpr Duration operator*(std::int64_t k) const noexcept { return Duration(ns_ * k); }
    constexpr Duration operator/(std::int64_t k) const noexcept { return Duration(ns_ / k); }
    constexpr Duration& operator+=(Duration o) noexcept { ns_ += o.ns_; return *this; }
    constexpr Duration& operator-=(Duration o) noexcept { ns_ -= o.ns_; return *this; }
    constexpr auto operator<=>(const Duration&) const noexcept = default;

private:
    constexpr explicit Duration(std::int64_t ns) noexcept : ns_(ns) {}
    std::int64_t ns_ = 0;
};

// A point in time on a shard's monotonic clock; the epoch is the clock's own (the TSC's
// start, or zero for a manual clock), so Instants of different clocks do not compare.
class Instant {
public:
    constexpr Instant() noexcept = default;
    static constexpr Instant from_ns(std::int64_t ns) noexcept { return Instant(ns); }
    static constexpr Instant max() noexcept { return Instant(std::numeric_limits<std::int64_t>::max()); }

    constexpr std::int64_t ns() const noexcept { return ns_; }

    constexpr Instant operator+(Duration d) const noexcept { return Instant(ns_ + d.ns()); }
    constexpr Instant operator-(Duration d) const noexcept { return Instant(ns_ - d.ns()); }
    constexpr Duration operator-(Instant o) const noexcept { return Duration::from_ns(ns_ - o.ns_); }
    constexpr Instant& operator+=(Duration d) noexcept { ns_ += d.ns(); return *this; }
    constexpr auto operator<=>(const Instant&) const noexcept = default;

private:
    constexpr explicit Instant(std::int64_t ns) noexcept : ns_(ns) {}
    std::int64_t ns_ = 0;
};

}  // namespace pollux::time
