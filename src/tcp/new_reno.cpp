#include "tcp/new_reno.hpp"

#include <algorithm>

namespace pollux::tcp {

void NewReno::on_ack(std::uint32_t acked_bytes, std::uint32_t bytes_in_flight, time::Instant,
                     std::optional<time::Duration>) noexcept {
    if (acked_bytes == 0 || !cwnd_limited(bytes_in_flight)) return;
    std::uint32_t acked = acked_bytes;
    if (in_slow_start()) {
        acked = slow_start(acked);
        if (acked == 0) return;
    }
    // RFC 3465 §2.1. One ACK adds at most one window to the counter, so a huge stretch
    // ACK earns one SMSS and cannot bank growth for many later ACKs.
    bytes_acked_ += std::min(acked, cwnd());
    if (bytes_acked_ >= cwnd()) {
        bytes_acked_ -= cwnd();
        set_cwnd(std::uint64_t{cwnd()} + mss());
    }
}

std::uint32_t NewReno::on_congestion_event(std::uint32_t flight_size, time::Instant, bool) noexcept {
    // A new congestion avoidance phase starts from an empty counter.
    bytes_acked_ = 0;
    return flight_size / 2;  // RFC 5681 eq. 4; the base applies the 2*SMSS floor
}

}  // namespace pollux::tcp
