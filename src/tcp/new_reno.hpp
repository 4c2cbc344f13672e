// NewReno: RFC 5681's slow start and congestion avoidance with RFC 6582's fast recovery
// (the recovery arithmetic is the base class's, congestion_control.hpp). Linux calls this
// algorithm "reno": its tcp_reno_* functions are the growth rule, and the NewReno
// recovery lives in the TCP core.
//
// Growth per ACK that acknowledges new data (only while cwnd-limited):
// - slow start (cwnd < ssthresh): cwnd += min(acked, SMSS), RFC 5681 §3.1 with RFC 3465's
//   limit L = 1 SMSS, so a stretch ACK cannot burst.
// - congestion avoidance (cwnd >= ssthresh): appropriate byte counting (RFC 3465 §2.1,
//   named by RFC 5681 §3.1 as the alternative to cwnd += SMSS*SMSS/cwnd): acknowledged
//   bytes accumulate in bytes_acked; when bytes_acked >= cwnd, cwnd += SMSS and
//   bytes_acked -= cwnd. That is exactly one SMSS per window of acknowledged data,
//   whatever the ACK pattern (delayed ACKs included), with no per-ACK rounding loss.
//   Linux's tcp_cong_avoid_ai() does the same with a segment count.
// Multiplicative decrease: ssthresh = max(FlightSize / 2, 2*SMSS) (RFC 5681 eq. 4).
#pragma once

#include <cstdint>
#include <optional>

#include "tcp/congestion_control.hpp"

namespace pollux::tcp {

class NewReno final : public CongestionControl {
public:
    explicit NewReno(std::uint32_t mss) noexcept : CongestionControl(mss) {}

    const char* name() const noexcept override { return "reno"; }

    void on_ack(std::uint32_t acked_bytes, std::uint32_t bytes_in_flight, time::Instant now,
                std::optional<time::Duration> rtt) noexcept override;

    // The congestion-avoidance byte counter (RFC 3465's bytes_acked).
    std::uint32_t bytes_acked() const noexcept { return bytes_acked_; }

protected:
    std::uint32_t on_congestion_event(std::uint32_t flight_size, time::Instant now,
                                      bool timeout) noexcept override;

private:
    std::uint32_t bytes_acked_ = 0;
};

}  // namespace pollux::tcp
