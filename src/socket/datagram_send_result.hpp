// What a datagram socket's send (UDP, raw) returns once the IPv4 layer took the datagram:
// the length sent, or -errno, with Linux's counters (OutDatagrams; SndbufErrors when no
// buffer was free, as udp_sendmsg counts ENOBUFS).
#pragma once

#include <cstddef>

#include "ip/ipv4_layer.hpp"

namespace pollux::socket {

template <typename Counters>
long datagram_send_result(ip::OutputResult sent, std::size_t len, Counters& counters) noexcept {
    if (sent == ip::OutputResult::ok) {
        counters.out_datagrams.add();
        return static_cast<long>(len);
    }
    if (sent == ip::OutputResult::no_buffers) counters.sndbuf_errors.add();
    return ip::output_errno(sent);
}

}  // namespace pollux::socket
