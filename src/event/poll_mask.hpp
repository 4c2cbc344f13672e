// Readiness masks: the EPOLL* bits a socket reports, computed as Linux's poll functions
// compute them (net/ipv4/tcp.c tcp_poll(), net/core/datagram.c datagram_poll(),
// net/ipv4/udp.c udp_poll(), inet_csk_listen_poll()), from plain state so that they can
// be checked without a stack. The protocols gather the state; this file only decides bits.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

namespace pollux::event {

// sk_shutdown's bits (Linux RCV_SHUTDOWN, SEND_SHUTDOWN; socket::kShutdownRead/Write).
inline constexpr std::uint8_t kRcvShutdown = 1;
inline constexpr std::uint8_t kSendShutdown = 2;
inline constexpr std::uint8_t kShutdownMask = kRcvShutdown | kSendShutdown;

// Wake-up keys (the `key` of Linux's wake_up_poll, which ep_poll_callback filters by):
// what kind of change happened. kWakeAll is Linux's key 0 (sk_state_change,
// sock_def_wakeup): every watcher is queued whatever it is interested in.
inline constexpr std::uint32_t kWakeAll = ~std::uint32_t{0};
// sock_def_readable(): data arrived.
inline constexpr std::uint32_t kWakeReadable = EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND;
// sk_stream_write_space() / sock_def_write_space(): send space came back.
inline constexpr std::uint32_t kWakeWritable = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
// sock_def_error_report(): a pending error was set.
inline constexpr std::uint32_t kWakeError = EPOLLERR;

// tcp_poll() of a socket in TCP_CLOSE that never connected and was never shut down: it
// is writable (an empty send queue) and hung up (state CLOSE).
inline constexpr std::uint32_t kUnconnectedStreamMask = EPOLLOUT | EPOLLWRNORM | EPOLLHUP;
// inet_csk_listen_poll(): a listener is readable while its accept queue is not empty,
// and reports nothing else (no EPOLLOUT, no EPOLLHUP).
inline constexpr std::uint32_t kListenerReadyMask = EPOLLIN | EPOLLRDNORM;

// What tcp_poll() reads of a connection (not a listener).
struct StreamState {
    bool opening = false;           // SYN-SENT or SYN-RECEIVED: neither readable nor writable
    bool closed = false;            // TCP_CLOSE: never connected, reset, refused or finished
    bool connection_ended = false;  // closed after a connection existed: tcp_done() set SHUTDOWN_MASK
    bool data = false;              // in-order bytes wait to be read
    bool fin_received = false;      // tcp_fin() set RCV_SHUTDOWN
    bool send_space = false;        // __sk_stream_is_writeable()
    bool error = false;             // sk_err is set
    std::uint8_t shutdown = 0;      // shutdown(2) bits of the socket itself
};

// tcp_poll(): EPOLLHUP when both directions are shut or the state is CLOSE; EPOLLIN |
// EPOLLRDNORM | EPOLLRDHUP once the read side is shut (peer FIN or SHUT_RD); then, past
// the handshake, EPOLLIN | EPOLLRDNORM for data and EPOLLOUT | EPOLLWRNORM for send space
// (or after SEND_SHUTDOWN, which Linux reports writable so that a writer sees EPIPE);
// EPOLLERR for a pending error.
std::uint32_t tcp_poll_mask(const StreamState& s) noexcept;

// datagram_poll() (UDP adds its reader queue, which pollux does not have apart from the
// receive queue): EPOLLERR for a pending error, EPOLLRDHUP | EPOLLIN | EPOLLRDNORM after
// SHUT_RD, EPOLLHUP when both directions are shut, EPOLLIN | EPOLLRDNORM with a datagram
// queued, and EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND while sock_writeable() (always, in
// pollux: a datagram leaves, or fails, within the send call).
std::uint32_t datagram_poll_mask(bool queued, bool error, std::uint8_t shutdown) noexcept;

// tcp_poll() for a TCB, whatever its type (pollux::tcp::Tcb): the adapter lives here as a
// template so that this layer needs no TCP header. Reads state(), events() and
// readable_bytes(); `shutdown` is the socket's shutdown(2) bits.
template <class Tcb>
std::uint32_t tcp_connection_mask(const Tcb& tcb, std::uint8_t shutdown) noexcept {
    using State = decltype(tcb.state());
    const State state = tcb.state();
    const auto events = tcb.events();
    StreamState s;
    s.opening = state == State::syn_sent || state == State::syn_received;
    s.closed = state == State::closed;
    s.connection_ended = s.closed;
    s.data = tcb.readable_bytes() > 0;
    s.fin_received = events.read_closed;
    s.send_space = events.writable;
    s.error = events.error != 0;
    s.shutdown = shutdown;
    return tcp_poll_mask(s);
}

}  // namespace pollux::event
