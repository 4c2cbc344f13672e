// ICMPv4 (RFC 792, RFC 1122 §3.2.2): answers echo requests, sends rate-limited errors, and
// hands received errors to the transport that sent the quoted datagram (the hook for
// PMTU discovery and for ECONNREFUSED on connected UDP sockets).
#pragma once

#include <cstdint>

#include "buf/packet_buf.hpp"
#include "ip/counters.hpp"
#include "ip/icmp_rate_limiter.hpp"
#include "time/instant.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"

namespace pollux::ip {

class Ipv4Layer;

// How the datagram an ICMP error is about reached us (Linux: skb->pkt_type and the input
// device), for the RFC 1122 §3.2.2 checks and the rate limit.
enum class Arrival : std::uint8_t {
    unicast,    // from the link, addressed to us
    broadcast,  // from the link as an IP or a link-layer broadcast: never answered
    // Over loopback: its source (127/8, or our address) is this host, which is a single
    // host here; the error loops back and, as in Linux, is not rate limited.
    loopback,
};

class Icmp {
public:
    Icmp(Ipv4Layer& ip, const IcmpRateConfig& rate) noexcept : ip_(ip), limiter_(rate) {}

    // An ICMP datagram for us; `packet` starts at the IPv4 header.
    void input(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, bool to_broadcast, time::Instant now) noexcept;

    // Sends an error about `offending` (starting at its IPv4 header, described by `ip`),
    // unless RFC 1122 §3.2.2 forbids it (about an ICMP error, a non-first fragment, a
    // broadcast or multicast datagram, a source that is not a host) or the rate limit says
    // no. Quotes the IP header and as much of the datagram as fits in 576 bytes.
    // A transport learns `arrival` from Ipv4Layer::arrival_of(ip). An error addressed to
    // this host (the offending source is 127/8 or ours) loops back and is never limited:
    // Linux's icmpv4_xrlim_allow passes everything routed over a loopback device.
    void send_error(wire::IcmpType type, std::uint8_t code, const buf::PacketBuf& offending,
                    const wire::Ipv4Repr& ip, Arrival arrival, time::Instant now,
                    std::uint16_t next_hop_mtu = 0) noexcept;
    // The same for a datagram from the link: broadcast or unicast.
    void send_error(wire::IcmpType type, std::uint8_t code, const buf::PacketBuf& offending,
                    const wire::Ipv4Repr& ip, bool to_broadcast, time::Instant now,
                    std::uint16_t next_hop_mtu = 0) noexcept {
        send_error(type, code, offending, ip, to_broadcast ? Arrival::broadcast : Arrival::unicast, now,
                   next_hop_mtu);
    }

    const IcmpCounters& counters() const noexcept { return counters_; }

private:
    void echo_reply(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, time::Instant now) noexcept;
    void deliver_error(const buf::PacketBuf& packet, std::uint32_t len, time::Instant now) noexcept;

    Ipv4Layer& ip_;
    IcmpRateLimiter limiter_;
    IcmpCounters counters_;
};

}  // namespace pollux::ip
