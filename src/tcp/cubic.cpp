#include "tcp/cubic.hpp"

#include <algorithm>
#include <cmath>

namespace pollux::tcp {

double Cubic::w_cubic(double t) const noexcept {
    const double d = t - k_;
    return c * d * d * d + w_max_ / mss();
}

void Cubic::on_ack(std::uint32_t acked_bytes, std::uint32_t bytes_in_flight, time::Instant now,
                   std::optional<time::Duration> rtt) noexcept {
    if (rtt && *rtt >= time::Duration::zero()) {
        srtt_ = srtt_ ? (*srtt_ * 7 + *rtt) / 8 : *rtt;
    }
    if (acked_bytes == 0 || !cwnd_limited(bytes_in_flight)) return;
    std::uint32_t acked = acked_bytes;
    if (in_slow_start()) {
        acked = slow_start(acked);
        if (acked == 0) return;
    }
    if (!epoch_start_) start_epoch(now);
    congestion_avoidance(acked, now);
}

void Cubic::start_epoch(time::Instant now) noexcept {
    const double cwnd_epoch = cwnd();
    epoch_start_ = now;
    if (after_timeout_ || w_max_ <= cwnd_epoch) {
        // §4.8 (and the degenerate case, see the header): the curve starts here.
        w_max_ = cwnd_epoch;
        k_ = 0;
    } else {
        k_ = std::cbrt((w_max_ - cwnd_epoch) / mss() / c);  // §4.2 eq. 2
    }
    after_timeout_ = false;
    w_est_ = cwnd_epoch / mss();  // §4.3
    carry_ = 0;
}

void Cubic::congestion_avoidance(std::uint32_t acked_bytes, time::Instant now) noexcept {
    const double smss = mss();
    const double cwnd_bytes = cwnd();
    const double cwnd_seg = cwnd_bytes / smss;

    // §4.3 eq. 4: the window Reno would have reached in the same epoch.
    const double a = w_est_ >= cwnd_prior_ / smss ? 1.0 : alpha;
    w_est_ += a * (acked_bytes / smss) / cwnd_seg;

    const double t = (now - *epoch_start_).seconds();
    if (w_cubic(t) < w_est_) {
        // Reno-friendly region: follow W_est (never shrinking the window).
        set_cwnd(static_cast<std::uint64_t>(std::max(cwnd_bytes, w_est_ * smss)));
        carry_ = 0;
        return;
    }

    // Concave and convex regions (§4.4, §4.5): aim at where the curve will be one RTT
    // from now, at least the current window and at most 1.5 times it.
    const double rtt = srtt_ ? srtt_->seconds() : 0.0;
    const double target = std::clamp(w_cubic(t + rtt), cwnd_seg, 1.5 * cwnd_seg);
    const double growth = (target - cwnd_seg) / cwnd_seg * acked_bytes + carry_;
    const double whole = std::floor(growth);
    carry_ = growth - whole;
    set_cwnd(static_cast<std::uint64_t>(cwnd_bytes + whole));
}

std::uint32_t Cubic::on_congestion_event(std::uint32_t flight_size, time::Instant, bool timeout) noexcept {
    const double cwnd_bytes = cwnd();
    cwnd_prior_ = cwnd_bytes;
    // §4.7 fast convergence: a window that peaks below the last W_max means a new flow
    // is taking bandwidth; release some by remembering a lower W_max.
    w_max_ = fast_convergence_ && cwnd_bytes < w_max_ ? cwnd_bytes * (1.0 + beta) / 2.0 : cwnd_bytes;
    epoch_start_.reset();
    carry_ = 0;
    after_timeout_ = timeout;
    return static_cast<std::uint32_t>(flight_size * beta);  // §4.6
}

void Cubic::on_idle_restart(time::Duration idle, time::Duration rto) noexcept {
    CongestionControl::on_idle_restart(idle, rto);
    if (!epoch_start_) return;
    if (idle > rto) {
        epoch_start_.reset();
    } else if (idle > time::Duration::zero()) {
        *epoch_start_ += idle;
    }
}

void Cubic::set_mss(std::uint32_t mss) noexcept {
    CongestionControl::set_mss(mss);
    // The epoch's K and W_est are in segments of the old MSS: start a new one.
    epoch_start_.reset();
    carry_ = 0;
}

}  // namespace pollux::tcp
