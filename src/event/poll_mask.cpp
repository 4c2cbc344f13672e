#include "event/poll_mask.hpp"

namespace pollux::event {

std::uint32_t tcp_poll_mask(const StreamState& s) noexcept {
    std::uint8_t shutdown = s.shutdown;
    if (s.fin_received) shutdown |= kRcvShutdown;
    if (s.connection_ended) shutdown |= kShutdownMask;
    std::uint32_t mask = 0;
    if (shutdown == kShutdownMask || s.closed) mask |= EPOLLHUP;
    if ((shutdown & kRcvShutdown) != 0) mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
    if (!s.opening) {
        if (s.data) mask |= EPOLLIN | EPOLLRDNORM;
        if ((shutdown & kSendShutdown) != 0 || s.send_space) mask |= EPOLLOUT | EPOLLWRNORM;
    }
    if (s.error) mask |= EPOLLERR;
    return mask;
}

std::uint32_t datagram_poll_mask(bool queued, bool error, std::uint8_t shutdown) noexcept {
    std::uint32_t mask = 0;
    if (error) mask |= EPOLLERR;
    if ((shutdown & kRcvShutdown) != 0) mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
    if (shutdown == kShutdownMask) mask |= EPOLLHUP;
    if (queued) mask |= EPOLLIN | EPOLLRDNORM;
    mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
    return mask;
}

}  // namespace pollux::event
