// CUBIC congestion control, RFC 9438 (Linux's default, "cubic"). HyStart is not
// implemented: slow start is RFC 5681's, shared with NewReno. Fast recovery is the base
// class's RFC 6582 arithmetic (congestion_control.hpp) around CUBIC's own reduction.
//
// Units. cwnd and ssthresh are bytes, like every CongestionControl. CUBIC's curve is
// defined in segments and seconds (C = 0.4 segments/s^3), so the algorithm converts at
// the edges: W_max and cwnd_prior are kept in bytes, and the per-epoch quantities (the
// curve's W_max, K, W_est) are computed in segments of the current SMSS, in doubles.
// Fractions of a byte that a per-ACK increase produces are carried to the next ACK, so
// slow growth over many ACKs is not lost to rounding.
//
// The rules, with their RFC 9438 sections:
// - Congestion event (fast retransmit §4.6, timeout §4.8): cwnd_prior = cwnd;
//   W_max = cwnd, or with fast convergence (§4.7) W_max = cwnd * (1 + beta)/2 when cwnd
//   is below the previous W_max (the flow is losing ground to a new competitor);
//   ssthresh = FlightSize * beta_cubic, floored at 2*SMSS by the base class. The base
//   then sets cwnd (recovery: ssthresh + 3*SMSS; timeout: 1 SMSS). The epoch ends.
// - Epoch start: the first ACK in congestion avoidance after a reduction (or after slow
//   start) starts a new epoch: t = 0, cwnd_epoch = cwnd, W_est = cwnd_epoch (§4.3) and
//   K = cbrt((W_max - cwnd_epoch) / C) (§4.2 eq. 2). After a timeout (§4.8) K = 0 and
//   W_max = cwnd_epoch. When W_max <= cwnd_epoch for another reason (the 2*SMSS floor,
//   an MSS change), eq. 2 would take the cube root of a negative number; pollux does
//   what §4.8 and Linux's bictcp_update() do instead: K = 0, W_max = cwnd_epoch, so the
//   curve starts flat at the current window and turns convex.
// - Each ACK in congestion avoidance (only while cwnd-limited, see the base class):
//     W_est += alpha * segments_acked / cwnd                          (§4.3 eq. 4)
//       alpha = alpha_cubic = 3 (1 - beta)/(1 + beta) until W_est reaches cwnd_prior,
//       then 1 (Reno's own rate from there on, §4.3).
//     If W_cubic(t) < W_est, the Reno-friendly region: cwnd = W_est.
//     Else target = W_cubic(t + RTT) clamped into [cwnd, 1.5 cwnd]   (§4.4, §4.5)
//          cwnd += (target - cwnd) / cwnd per segment acknowledged.
//   W_cubic(t) = C (t - K)^3 + W_max (§4.2 eq. 1), t the time since the epoch start.
//   RTT is a smoothed RTT that CUBIC keeps from the samples on_ack() receives
//   (alpha 1/8, as RFC 6298's SRTT); zero until the first sample.
// - Idle (on_idle_restart): the base class applies RFC 5681's restart window when idle
//   exceeded the RTO, and the epoch then restarts from that window. A shorter idle
//   period is cut out of t (the epoch start moves forward by it, as Linux does on
//   CA_EVENT_TX_START), so time spent with nothing to send does not count as growth
//   time (RFC 9438 §5.8's application-limited concern).
#pragma once

#include <cstdint>
#include <optional>

#include "tcp/congestion_control.hpp"

namespace pollux::tcp {

class Cubic final : public CongestionControl {
public:
    static constexpr double c = 0.4;     // segments / s^3 (§5.1)
    static constexpr double beta = 0.7;  // beta_cubic (§4.6)
    static constexpr double alpha = 3.0 * (1.0 - beta) / (1.0 + beta);  // alpha_cubic (§4.3)

    explicit Cubic(std::uint32_t mss, bool fast_convergence = true) noexcept
        : CongestionControl(mss), fast_convergence_(fast_convergence) {}

    const char* name() const noexcept override { return "cubic"; }

    void on_ack(std::uint32_t acked_bytes, std::uint32_t bytes_in_flight, time::Instant now,
                std::optional<time::Duration> rtt) noexcept override;
    void on_idle_restart(time::Duration idle, time::Duration rto) noexcept override;
    void set_mss(std::uint32_t mss) noexcept override;

    // Introspection for tests and diagnostics; segments are of the current SMSS.
    double w_max_segments() const noexcept { return w_max_ / mss(); }
    double cwnd_prior_segments() const noexcept { return cwnd_prior_ / mss(); }
    double k_seconds() const noexcept { return k_; }
    double w_est_segments() const noexcept { return w_est_; }
    // W_cubic(t) of the current epoch (§4.2 eq. 1), t since the epoch start.
    double w_cubic_segments(time::Duration t) const noexcept { return w_cubic(t.seconds()); }
    std::optional<time::Instant> epoch_start() const noexcept { return epoch_start_; }
    std::optional<time::Duration> smoothed_rtt() const noexcept { return srtt_; }

protected:
    std::uint32_t on_congestion_event(std::uint32_t flight_size, time::Instant now,
                                      bool timeout) noexcept override;

private:
    void start_epoch(time::Instant now) noexcept;
    void congestion_avoidance(std::uint32_t acked_bytes, time::Instant now) noexcept;
    double w_cubic(double t_seconds) const noexcept;

    bool fast_convergence_;
    double w_max_ = 0;       // bytes; 0 until the first congestion event
    double cwnd_prior_ = 0;  // bytes: cwnd just before the last reduction
    std::optional<time::Instant> epoch_start_;
    double k_ = 0;           // seconds
    double w_est_ = 0;       // segments
    double carry_ = 0;       // bytes of growth not yet added to cwnd (always < 1)
    std::optional<time::Duration> srtt_;
    bool after_timeout_ = false;  // the next epoch is the first one after an RTO (§4.8)
};

}  // namespace pollux::tcp
