#include "tcp/congestion_control.hpp"

#include <algorithm>
#include <cassert>

#include "tcp/cubic.hpp"
#include "tcp/new_reno.hpp"

namespace pollux::tcp {

CongestionControl::CongestionControl(std::uint32_t mss) noexcept : mss_(mss), cwnd_(initial_window(mss)) {
    assert(mss > 0);
}

void CongestionControl::set_cwnd(std::uint64_t bytes) noexcept {
    cwnd_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(bytes, max_cwnd));
    touched_ = true;
}

bool CongestionControl::cwnd_limited(std::uint32_t bytes_in_flight) const noexcept {
    const std::uint64_t flight = bytes_in_flight;
    // Slow start doubles the window per RTT, so a flight of half the window already
    // shows the window was used (Linux: cwnd < 2 * max_packets_out).
    if (in_slow_start()) return cwnd_ < 2 * flight;
    return flight + mss_ >= cwnd_;
}

std::uint32_t CongestionControl::slow_start(std::uint32_t acked_bytes) noexcept {
    assert(in_slow_start());
    const std::uint32_t increase = std::min(acked_bytes, mss_);
    const std::uint32_t room = ssthresh_ - cwnd_;
    if (increase < room) {
        set_cwnd(std::uint64_t{cwnd_} + increase);
        return 0;
    }
    // This ACK takes cwnd to ssthresh: the acked bytes it did not need for that count
    // towards congestion avoidance, as Linux's tcp_slow_start() returns them.
    set_cwnd(ssthresh_);
    return acked_bytes - room;
}

void CongestionControl::on_enter_recovery(std::uint32_t flight_size, time::Instant now) noexcept {
    // RFC 5681 eq. 4 (with the algorithm's reduction) and RFC 6582 step 2.
    ssthresh_ = std::max(on_congestion_event(flight_size, now, false), 2 * mss_);
    set_cwnd(std::uint64_t{ssthresh_} + 3 * std::uint64_t{mss_});
}

void CongestionControl::on_enter_loss_recovery(std::uint32_t flight_size, time::Instant now) noexcept {
    // RFC 6675 §5 steps 4.1-4.2: ssthresh from the algorithm's reduction, cwnd = ssthresh;
    // the scoreboard's pipe, not window inflation, then paces what leaves.
    ssthresh_ = std::max(on_congestion_event(flight_size, now, false), 2 * mss_);
    set_cwnd(ssthresh_);
}

void CongestionControl::on_dupack_in_recovery() noexcept {
    // RFC 6582 step 3: each further duplicate ACK means one more segment left the network.
    set_cwnd(std::uint64_t{cwnd_} + mss_);
}

void CongestionControl::on_partial_ack(std::uint32_t acked_bytes) noexcept {
    // RFC 6582 step 5: deflate by what was acknowledged, add one SMSS back if at least one
    // SMSS was, so that about ssthresh bytes stay outstanding when recovery ends. Never
    // below one segment, or the retransmission of the next hole could not leave.
    std::uint64_t next = cwnd_ > acked_bytes ? cwnd_ - acked_bytes : 0;
    if (acked_bytes >= mss_) next += mss_;
    set_cwnd(std::max<std::uint64_t>(next, mss_));
}

void CongestionControl::on_exit_recovery(std::uint32_t flight_size) noexcept {
    // RFC 6582 step 6, option 1: no burst larger than one segment beyond FlightSize.
    const std::uint64_t limit = std::uint64_t{std::max(flight_size, mss_)} + mss_;
    set_cwnd(std::min<std::uint64_t>(ssthresh_, limit));
}

void CongestionControl::on_rto(std::uint32_t flight_size, time::Instant now) noexcept {
    // RFC 5681 §3.1: eq. 4 for ssthresh, then cwnd = LW = 1 SMSS.
    ssthresh_ = std::max(on_congestion_event(flight_size, now, true), 2 * mss_);
    set_cwnd(mss_);
}

void CongestionControl::on_idle_restart(time::Duration idle, time::Duration rto) noexcept {
    // RFC 5681 §4.1: after more than one RTO without sending, the ACK clock is gone;
    // restart from RW = min(IW, cwnd) instead of bursting a stale window.
    if (idle > rto) set_cwnd(std::min(cwnd_, initial_window(mss_)));
}

void CongestionControl::set_mss(std::uint32_t mss) noexcept {
    assert(mss > 0);
    mss_ = mss;
    if (!touched_) {
        cwnd_ = initial_window(mss_);
    } else if (cwnd_ < mss_) {
        cwnd_ = mss_;
    }
}

std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name, std::uint32_t mss) {
    // Linux matches TCP_CONGESTION names exactly (case-sensitive).
    if (name == "reno") return std::make_unique<NewReno>(mss);
    if (name == "cubic") return std::make_unique<Cubic>(mss);
    return nullptr;
}

}  // namespace pollux::tcp
