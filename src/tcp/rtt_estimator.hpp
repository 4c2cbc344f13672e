// RttEstimator: the round-trip time estimate and retransmission timeout of one TCP
// connection, RFC 6298.
//
// Pure arithmetic: no clock reads. The TCB measures an RTT (the time between sending a
// segment and the ACK that covers it, or now minus the echoed timestamp, RFC 7323 §4)
// and hands it to sample().
//
// Karn's rule (RFC 6298 §3) is the caller's: never take a sample from a segment that was
// retransmitted, because its ACK cannot tell which transmission it answers. With
// timestamps (RFC 7323 §4.1) the echoed TSval names the transmission, so such ACKs may
// be sampled. The TCB also keeps the backed-off RTO for the next segment (§5.5's "keep
// the backed-off value until a new sample") simply by not calling reset_backoff() before
// a valid sample arrives; sample() itself clears the backoff, as Linux's
// tcp_ack_update_rtt() does.
//
// Estimator (§2.2, §2.3), with alpha = 1/8 and beta = 1/4 and G the clock granularity:
//   first sample R:   SRTT = R, RTTVAR = R/2
//   later samples R': RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|   (with the old SRTT)
//                     SRTT   = 7/8 SRTT + 1/8 R'
//   RTO = SRTT + max(G, 4 * RTTVAR), clamped into [min_rto, max_rto].
// All arithmetic is in integer nanoseconds; the truncation is below a nanosecond per step.
//
// Bounds. §2.4 asks for a 1 s floor; like Linux (TCP_RTO_MIN) pollux uses 200 ms, which
// is configurable. §2.5 allows a ceiling of at least 60 s; Linux's TCP_RTO_MAX is 120 s.
// Before the first sample the RTO is 1 s (§2.1). pollux's timer wheel ticks every 100 us,
// the default G.
#pragma once

#include <cstdint>

#include "time/instant.hpp"

namespace pollux::tcp {

class RttEstimator {
public:
    struct Config {
        time::Duration granularity = time::Duration::from_us(100);  // G: the timer tick
        time::Duration initial_rto = time::Duration::from_s(1);     // RFC 6298 §2.1
        time::Duration min_rto = time::Duration::from_ms(200);      // Linux TCP_RTO_MIN
        time::Duration max_rto = time::Duration::from_s(120);       // Linux TCP_RTO_MAX
    };

    // The config must satisfy min_rto <= max_rto; initial_rto is clamped into that range.
    explicit RttEstimator(Config config) noexcept;
    RttEstimator() noexcept : RttEstimator(Config{}) {}

    // Feed one RTT measurement (Karn's rule applied by the caller, see above). Updates
    // SRTT/RTTVAR, recomputes the RTO and clears any backoff. A negative measurement (a
    // caller bug or a timestamp from the future) is ignored and returns false.
    bool sample(time::Duration rtt) noexcept;

    // The retransmission timer expired (RFC 6298 §5.5): double the RTO, up to max_rto.
    void backoff() noexcept;
    // Forget the backoff: the RTO returns to the value computed from SRTT/RTTVAR (or the
    // initial RTO before any sample).
    void reset_backoff() noexcept;

    // The current RTO, backoff included: what the TCB arms the retransmission timer with.
    time::Duration rto() const noexcept { return rto_; }
    // SRTT and RTTVAR; both zero before the first sample.
    time::Duration srtt() const noexcept { return srtt_; }
    time::Duration rttvar() const noexcept { return rttvar_; }
    bool has_sample() const noexcept { return has_sample_; }
    // The smallest RTT ever sampled (not windowed); Duration::max() before any sample.
    time::Duration min_rtt() const noexcept { return min_rtt_; }
    // The latest sample; zero before any.
    time::Duration latest_rtt() const noexcept { return latest_; }
    // How many times backoff() ran since the last sample or reset (tcpi_backoff).
    std::uint32_t backoffs() const noexcept { return backoffs_; }
    const Config& config() const noexcept { return config_; }

    // What Linux's struct tcp_info reports, in microseconds. Before the first sample Linux
    // shows tcpi_rtt = 0 and tcpi_rttvar = 250000 (its mdev starts at the 1 s initial
    // RTO, and tcpi_rttvar is mdev/4); pollux reports the same, derived from initial_rto.
    std::uint32_t tcpi_rtt_us() const noexcept;
    std::uint32_t tcpi_rttvar_us() const noexcept;
    std::uint32_t tcpi_rto_us() const noexcept;
    std::uint32_t tcpi_min_rtt_us() const noexcept;  // 0xffffffff before any sample, as Linux's ~0U

private:
    time::Duration clamp(time::Duration rto) const noexcept;
    time::Duration computed_rto() const noexcept;

    Config config_;
    time::Duration srtt_;
    time::Duration rttvar_;
    time::Duration rto_;
    time::Duration min_rtt_ = time::Duration::max();
    time::Duration latest_;
    std::uint32_t backoffs_ = 0;
    bool has_sample_ = false;
};

}  // namespace pollux::tcp
