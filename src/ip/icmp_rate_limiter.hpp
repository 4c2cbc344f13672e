// Rate limits for ICMP errors as Linux applies them (net.ipv4.icmp_* sysctls):
// - a global token bucket: icmp_msgs_per_sec (1000) with icmp_msgs_burst (50);
// - per destination: icmp_ratelimit (1000 ms) per message, bursts of up to 6 messages
//   (XRLIM_BURST_FACTOR), so a single peer sees at most one error a second after a burst.
// Echo replies are not limited (they are not in Linux's default icmp_ratemask).
//
// The per-destination state lives in a fixed direct-mapped table: a collision replaces
// the older destination, which can only make the limit more generous to one peer, never
// allocate.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "time/instant.hpp"
#include "wire/address.hpp"

namespace pollux::ip {

struct IcmpRateConfig {
    std::uint32_t msgs_per_sec = 1000;
    std::uint32_t msgs_burst = 50;
    time::Duration per_dest_interval = time::Duration::from_ms(1000);
    std::uint32_t per_dest_burst = 6;
};

class IcmpRateLimiter {
public:
    explicit IcmpRateLimiter(const IcmpRateConfig& config = {}) noexcept : config_(config) {
        global_tokens_ns_ = burst_ns();
    }

    // True when an error to `dst` may be sent now; consumes the tokens if so.
    bool allow(wire::Ipv4Address dst, time::Instant now) noexcept {
        // Global bucket, in nanoseconds of credit: each message costs 1 s / msgs_per_sec.
        refill(global_tokens_ns_, global_last_, now, burst_ns());
        const std::int64_t global_cost = 1'000'000'000 / std::max<std::uint32_t>(config_.msgs_per_sec, 1);
        Peer& peer = peers_[slot(dst)];
        if (peer.dst != dst || !peer.used) {
            peer = Peer{dst, true, now, peer_burst_ns()};
        }
        refill(peer.tokens_ns, peer.last, now, peer_burst_ns());
        const std::int64_t peer_cost = config_.per_dest_interval.ns();
        if (global_tokens_ns_ < global_cost || peer.tokens_ns < peer_cost) return false;
        global_tokens_ns_ -= global_cost;
        peer.tokens_ns -= peer_cost;
        return true;
    }

private:
    struct Peer {
        wire::Ipv4Address dst;
        bool used = false;
        time::Instant last;
        std::int64_t tokens_ns = 0;
    };
    static constexpr std::size_t peer_slots = 256;

    std::int64_t burst_ns() const noexcept {
        return std::int64_t{config_.msgs_burst} * (1'000'000'000 / std::max<std::uint32_t>(config_.msgs_per_sec, 1));
    }
    std::int64_t peer_burst_ns() const noexcept {
        return std::int64_t{config_.per_dest_burst} * config_.per_dest_interval.ns();
    }
    static void refill(std::int64_t& tokens, time::Instant& last, time::Instant now, std::int64_t cap) noexcept {
        if (now > last) {
            tokens = std::min(cap, tokens + (now - last).ns());
            last = now;
        }
    }
    static std::size_t slot(wire::Ipv4Address a) noexcept {
        return static_cast<std::size_t>((std::uint64_t{a.value()} * 0x9e3779b97f4a7c15ull) >> 56) % peer_slots;
    }

    IcmpRateConfig config_;
    std::int64_t global_tokens_ns_ = 0;
    time::Instant global_last_;
    std::array<Peer, peer_slots> peers_{};
};

}  // namespace pollux::ip
