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

#include <array>
#include <cstdint>

#include "time/instant.hpp"
#include "time/token_bucket.hpp"
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
    explicit IcmpRateLimiter(const IcmpRateConfig& config = {}) noexcept
        : config_(config), global_(time::TokenBucket::per_second(config.msgs_per_sec, config.msgs_burst)) {}

    // True when an error to `dst` may be sent now; takes a token from both limits if so,
    // from neither if one of them refuses.
    bool allow(wire::Ipv4Address dst, time::Instant now) noexcept {
        global_.refill(now);
        Peer& peer = peers_[slot(dst)];
        if (peer.dst != dst || !peer.used) {
            peer = Peer{dst, true, time::TokenBucket(config_.per_dest_interval, config_.per_dest_burst)};
        }
        peer.bucket.refill(now);
        if (!global_.available() || !peer.bucket.available()) return false;
        global_.take();
        peer.bucket.take();
        return true;
    }

private:
    struct Peer {
        wire::Ipv4Address dst;
        bool used = false;
        time::TokenBucket bucket{time::Duration::from_s(1), 0};
    };
    static constexpr std::size_t peer_slots = 256;

    static std::size_t slot(wire::Ipv4Address a) noexcept {
        return static_cast<std::size_t>((std::uint64_t{a.value()} * 0x9e3779b97f4a7c15ull) >> 56) % peer_slots;
    }

    IcmpRateConfig config_;
    time::TokenBucket global_;
    std::array<Peer, peer_slots> peers_{};
};

}  // namespace pollux::ip
