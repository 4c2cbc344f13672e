// TCP_INFO: a connection's state as Linux's struct tcp_info reports it (getsockopt
// IPPROTO_TCP/TCP_INFO, `ss -ti`, /pollux/sockets), filled the way Linux's tcp_get_info()
// (net/ipv4/tcp.c) fills it, from what the Tcb knows.
//
// The struct is glibc's (<netinet/tcp.h>), which ends at tcpi_total_retrans: the kernel's
// is longer (pacing rates, bytes_acked, segs_in, ...), and Linux's getsockopt copies
// min(len, sizeof) bytes, so a caller with glibc's struct gets exactly these fields.
//
// Fields pollux cannot state truthfully stay 0 (see fill_tcp_info()).
#pragma once

#include <netinet/tcp.h>

#include <cstdint>

#include "tcp/tcb.hpp"

namespace pollux::tcp {

// Linux's TCP state numbers (include/net/tcp_states.h: TCP_ESTABLISHED = 1 ...
// TCP_CLOSING = 11), which tcpi_state and /proc/net/tcp use; our State enum is in RFC
// order instead.
std::uint8_t linux_tcp_state(State s) noexcept;
// The kernel's name of a Linux state number without the TCP_ prefix ("ESTABLISHED",
// "SYN_RECV", "LISTEN", ...); "UNKNOWN" for a number that is none.
const char* linux_tcp_state_name(std::uint8_t linux_state) noexcept;

// A connection (any state but LISTEN).
void fill_tcp_info(const Tcb& tcb, time::Instant now, struct tcp_info& out) noexcept;

// A listener: Linux reports only the state and, in tcpi_unacked / tcpi_sacked, the accept
// queue's length and the backlog (tcp_get_info(): sk_ack_backlog, sk_max_ack_backlog).
void fill_listener_tcp_info(std::uint32_t accept_queue, std::uint32_t backlog, struct tcp_info& out) noexcept;

// A socket without a connection (never connected, or not listening): TCP_CLOSE, all else 0.
void fill_closed_tcp_info(struct tcp_info& out) noexcept;

}  // namespace pollux::tcp
