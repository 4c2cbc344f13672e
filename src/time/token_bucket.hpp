// TokenBucket: a rate limit of `burst` events at once and one more per `interval`, as
// Linux's ICMP limits (icmp_global_allow, inet_peer_xrlim_allow) keep it. The credit is
// held in nanoseconds (an event costs `interval`), so any rate refills exactly, without
// rounding a per-second rate to whole tokens per tick.
//
// Deterministic: time is the `now` each call passes (DESIGN.md rule 3); no clock reads, no
// allocation. A `now` earlier than the last one refills nothing (the credit never shrinks
// with time).
#pragma once

#include <algorithm>
#include <cstdint>

#include "time/instant.hpp"

namespace pollux::time {

class TokenBucket {
public:
    // Starts full: the first `burst` events pass at once.
    constexpr TokenBucket(Duration interval, std::uint32_t burst) noexcept
        : interval_ns_(std::max<std::int64_t>(interval.ns(), 1)),
          capacity_ns_(std::int64_t{burst} * interval_ns_),
          credit_ns_(capacity_ns_) {}
    // `per_second` events a second (at least one), bursts of `burst`.
    static constexpr TokenBucket per_second(std::uint32_t per_second, std::uint32_t burst) noexcept {
        return TokenBucket(Duration::from_ns(1'000'000'000 / std::max<std::uint32_t>(per_second, 1)), burst);
    }

    // Adds the credit earned since the last call (at most the burst).
    constexpr void refill(Instant now) noexcept {
        if (!started_) {
            started_ = true;
            last_ = now;
            return;
        }
        if (now <= last_) return;
        credit_ns_ = std::min(capacity_ns_, credit_ns_ + (now - last_).ns());
        last_ = now;
    }
    // After refill(): whether one event may pass, and taking it. Split so that an event
    // under two limits takes from neither when one of them says no.
    constexpr bool available() const noexcept { return credit_ns_ >= interval_ns_; }
    constexpr void take() noexcept { credit_ns_ -= interval_ns_; }
    // refill(), then take one event if there is one: true when it may pass.
    constexpr bool try_take(Instant now) noexcept {
        refill(now);
        if (!available()) return false;
        take();
        return true;
    }
    // Whole events that may pass now (as of the last refill).
    constexpr std::uint32_t tokens() const noexcept { return static_cast<std::uint32_t>(credit_ns_ / interval_ns_); }

private:
    std::int64_t interval_ns_;
    std::int64_t capacity_ns_;
    std::int64_t credit_ns_;
    Instant last_;
    bool started_ = false;
};

}  // namespace pollux::time
