// Readiness masks against the values a Linux 6.x kernel reports for the same states
// (tcp_poll, datagram_poll), written as the numbers epoll_wait returns.
#include <catch2/catch.hpp>

#include <sys/epoll.h>

#include "event/poll_mask.hpp"

using pollux::event::datagram_poll_mask;
using pollux::event::StreamState;
using pollux::event::tcp_poll_mask;

TEST_CASE("tcp_poll: a fresh socket is writable and hung up (0x114)") {
    StreamState s;
    s.closed = true;
    s.send_space = true;
    CHECK(tcp_poll_mask(s) == 0x114u);
    CHECK(pollux::event::kUnconnectedStreamMask == 0x114u);
}

TEST_CASE("tcp_poll: an opening connection reports nothing") {
    StreamState s;
    s.opening = true;
    s.send_space = true;
    CHECK(tcp_poll_mask(s) == 0u);
}

TEST_CASE("tcp_poll: established, idle, with data, full") {
    StreamState s;
    s.send_space = true;
    CHECK(tcp_poll_mask(s) == (EPOLLOUT | EPOLLWRNORM));
    s.data = true;
    CHECK(tcp_poll_mask(s) == (EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM));
    s.send_space = false;
    CHECK(tcp_poll_mask(s) == (EPOLLIN | EPOLLRDNORM));
}

TEST_CASE("tcp_poll: the peer's FIN is RDHUP; with our SHUT_WR too it is HUP (0x2155)") {
    StreamState s;
    s.send_space = true;
    s.fin_received = true;
    CHECK(tcp_poll_mask(s) == (EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLOUT | EPOLLWRNORM));
    s.send_space = false;  // a queued FIN leaves no send space, SEND_SHUTDOWN still says OUT
    s.shutdown = pollux::event::kSendShutdown;
    CHECK(tcp_poll_mask(s) == 0x2155u);
}

TEST_CASE("tcp_poll: a reset connection with its error pending (0x215d), then read") {
    StreamState s;
    s.closed = true;
    s.connection_ended = true;
    s.error = true;
    CHECK(tcp_poll_mask(s) == 0x215du);
    s.error = false;
    CHECK(tcp_poll_mask(s) == 0x2155u);
}

TEST_CASE("datagram_poll: idle, queued, error, shut down") {
    CHECK(datagram_poll_mask(false, false, 0) == 0x304u);
    CHECK(datagram_poll_mask(true, false, 0) == 0x345u);
    CHECK(datagram_poll_mask(false, true, 0) == 0x30cu);
    CHECK(datagram_poll_mask(false, false, pollux::event::kRcvShutdown) == 0x2345u);
    CHECK(datagram_poll_mask(false, false, pollux::event::kShutdownMask) == 0x2355u);
    CHECK(datagram_poll_mask(false, false, pollux::event::kSendShutdown) == 0x304u);
}
