// IPv4 for one interface: input checks and delivery (the kernel's ip_rcv ->
// ip_local_deliver), reassembly, output with fragmentation (ip_queue_xmit ->
// ip_fragment), and ICMP. pollux is a host stack: packets not for us are dropped, never
// forwarded.
//
// Contract: only the owning shard calls in. on_timer() runs from the shard's timer.
#pragma once

#include <array>
#include <cstdint>

#include "buf/packet_buf.hpp"
#include "iface/interface.hpp"
#include "ip/counters.hpp"
#include "ip/icmp.hpp"
#include "ip/reassembly.hpp"
#include "ip/transport.hpp"
#include "time/instant.hpp"
#include "wire/ipv4.hpp"

namespace pollux::ip {

struct Ipv4Config {
    std::uint8_t default_ttl = wire::ipv4::default_ttl;
    bool offload_header_checksum = false;  // the port computes IPv4 header checksums
    ReassemblyLimits reassembly;
    IcmpRateConfig icmp_rate;
    std::uint16_t first_ident = 0;       // first IP identification (randomised by the runtime)
    std::uint64_t reassembly_seed = 0;   // keys the reassembly hash (random: no forced collisions)
};

enum class OutputResult : std::uint8_t {
    ok,
    no_route,    // ENETUNREACH
    too_big,     // DF set and larger than the MTU: EMSGSIZE
    no_buffers,  // ENOBUFS
};

class Ipv4Layer final : public iface::Ipv4Receiver {
public:
    Ipv4Layer(iface::Interface& iface, const Ipv4Config& config);

    // Registers the handler of an IP protocol number (UDP, TCP); null unregisters.
    void set_transport(wire::IpProtocol protocol, TransportHandler* handler) noexcept {
        transports_[static_cast<std::uint8_t>(protocol)] = handler;
    }

    void ipv4_input(buf::PacketBuf&& packet, time::Instant now, bool link_broadcast) noexcept override;

    // Sends `payload` (the transport header and data) in one IPv4 datagram described by
    // `header` (dst, protocol, ttl, tos, dont_fragment; src 0.0.0.0 means ours), fragmenting
    // it when it exceeds the MTU and DF is clear.
    OutputResult output(buf::PacketBuf&& payload, wire::Ipv4Repr header, time::Instant now) noexcept;

    // Reassembly timeouts.
    void on_timer(time::Instant now) noexcept;

    iface::Interface& interface() noexcept { return iface_; }
    Icmp& icmp() noexcept { return icmp_; }
    const Icmp& icmp() const noexcept { return icmp_; }
    TransportHandler* transport(std::uint8_t protocol) const noexcept { return transports_[protocol]; }
    const Ipv4Counters& counters() const noexcept { return counters_; }
    const ReassemblyCounters& reassembly_counters() const noexcept { return reassembler_.counters(); }
    std::uint8_t default_ttl() const noexcept { return config_.default_ttl; }

private:
    bool validate(buf::PacketBuf& packet, wire::Ipv4Repr& repr) noexcept;
    void deliver(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, bool link_broadcast, time::Instant now) noexcept;
    OutputResult send_fragments(buf::PacketBuf&& payload, const wire::Ipv4Repr& header, time::Instant now) noexcept;

    iface::Interface& iface_;
    Ipv4Config config_;
    Icmp icmp_;
    Reassembler reassembler_;
    std::array<TransportHandler*, 256> transports_{};
    std::uint16_t next_ident_;
    Ipv4Counters counters_;
};

}  // namespace pollux::ip
