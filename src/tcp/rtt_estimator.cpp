#include "tcp/rtt_estimator.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace pollux::tcp {

namespace {

using time::Duration;

// Saturating conversion for the tcp_info fields, which are 32-bit microseconds.
std::uint32_t to_us32(Duration d) noexcept {
    const std::int64_t us = d.us();
    if (us <= 0) return 0;
    if (us >= std::numeric_limits<std::uint32_t>::max()) return std::numeric_limits<std::uint32_t>::max();
    return static_cast<std::uint32_t>(us);
}

}  // namespace

RttEstimator::RttEstimator(Config config) noexcept : config_(config) {
    assert(config_.min_rto <= config_.max_rto);
    rto_ = clamp(config_.initial_rto);
}

Duration RttEstimator::clamp(Duration rto) const noexcept {
    return std::clamp(rto, config_.min_rto, config_.max_rto);
}

// RFC 6298 §2.2/§2.3: RTO = SRTT + max(G, K*RTTVAR) with K = 4; §2.1 before any sample.
Duration RttEstimator::computed_rto() const noexcept {
    if (!has_sample_) return clamp(config_.initial_rto);
    return clamp(srtt_ + std::max(config_.granularity, rttvar_ * 4));
}

bool RttEstimator::sample(Duration rtt) noexcept {
    if (rtt < Duration::zero()) return false;
    if (!has_sample_) {
        // §2.2: the first measurement.
        srtt_ = rtt;
        rttvar_ = rtt / 2;
        has_sample_ = true;
    } else {
        // §2.3: RTTVAR first, from the SRTT before this sample; then SRTT.
        const Duration err = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
        rttvar_ = (rttvar_ * 3 + err) / 4;
        srtt_ = (srtt_ * 7 + rtt) / 8;
    }
    latest_ = rtt;
    min_rtt_ = std::min(min_rtt_, rtt);
    // A valid sample ends any backoff (§5.5 ends with "until ... a new RTT sample").
    backoffs_ = 0;
    rto_ = computed_rto();
    return true;
}

void RttEstimator::backoff() noexcept {
    // §5.5: RTO <- RTO * 2, with the §2.5 ceiling. Compare before doubling so that a huge
    // configured max_rto cannot overflow the nanosecond count.
    rto_ = rto_ > config_.max_rto / 2 ? config_.max_rto : rto_ * 2;
    ++backoffs_;
}

void RttEstimator::reset_backoff() noexcept {
    backoffs_ = 0;
    rto_ = computed_rto();
}

std::uint32_t RttEstimator::tcpi_rtt_us() const noexcept { return to_us32(srtt_); }

std::uint32_t RttEstimator::tcpi_rttvar_us() const noexcept {
    return has_sample_ ? to_us32(rttvar_) : to_us32(config_.initial_rto / 4);
}

std::uint32_t RttEstimator::tcpi_rto_us() const noexcept { return to_us32(rto_); }

std::uint32_t RttEstimator::tcpi_min_rtt_us() const noexcept {
    return has_sample_ ? to_us32(min_rtt_) : std::numeric_limits<std::uint32_t>::max();
}

}  // namespace pollux::tcp
