// The hook through which IPv4 hands every datagram it delivers to the raw sockets, before
// the transport sees it: Linux's raw_local_deliver() in ip_local_deliver_finish(). Raw
// sockets get copies; the protocol's own handler (ICMP, UDP, TCP) still runs.
#pragma once

#include "buf/packet_buf.hpp"
#include "time/instant.hpp"
#include "wire/ipv4.hpp"

namespace pollux::ip {

class RawHandler {
public:
    virtual ~RawHandler() = default;
    // A datagram for us: `packet` starts at the IPv4 header and is the whole datagram
    // (reassembled if it was fragmented, exactly ip.header_len + ip.payload_len bytes).
    // The handler clones what it keeps and must not change the packet. True when at least
    // one raw socket took a copy: IPv4 then sends no protocol unreachable for a protocol
    // that has no handler of its own (Linux: `if (!raw) icmp_send(... PROT_UNREACH)`).
    virtual bool raw_input(const buf::PacketBuf& packet, const wire::Ipv4Repr& ip, time::Instant now) noexcept = 0;
};

}  // namespace pollux::ip
