// The interface between IPv4 and the protocols above it (UDP, TCP, raw), the equivalent of
// Linux's struct net_protocol (handler + err_handler).
#pragma once

#include "buf/packet_buf.hpp"
#include "time/instant.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"

namespace pollux::ip {

class TransportHandler {
public:
    virtual ~TransportHandler() = default;
    // A datagram for this protocol, reassembled if it was fragmented. `packet` starts at the
    // IPv4 header (raw sockets want it) and is exactly ip.header_len + ip.payload_len long.
    virtual void input(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, time::Instant now) noexcept = 0;
    // An ICMP error (unreachable, time exceeded, parameter problem) quoting a datagram this
    // protocol sent; `icmp.next_hop_mtu` carries the RFC 1191 MTU for frag-needed.
    virtual void icmp_error(const wire::IcmpRepr& icmp, const wire::IcmpRepr::Quoted& quoted,
                            time::Instant now) noexcept = 0;
};

}  // namespace pollux::ip
