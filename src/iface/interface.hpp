// Interface: one Ethernet port's IPv4 identity and its link layer. Ingress demultiplexes
// frames (ours, broadcast, ARP, IPv4; everything else is dropped and counted), egress
// prepends Ethernet headers after ARP resolution, and the route table picks next hops.
//
// It replaces the kernel's netif_receive_skb -> ip_rcv / arp_rcv step, and on output
// neigh_output -> dev_queue_xmit. Only the owning shard touches it.
#pragma once

#include <cstdint>
#include <optional>

#include "buf/packet_buf.hpp"
#include "iface/arp_resolver.hpp"
#include "iface/counters.hpp"
#include "iface/frame_sink.hpp"
#include "iface/routes.hpp"
#include "time/instant.hpp"
#include "wire/address.hpp"
#include "wire/arp.hpp"

namespace pollux::iface {

struct InterfaceConfig {
    wire::MacAddress mac;
    wire::Ipv4Cidr address;                    // our address and the connected subnet
    std::optional<wire::Ipv4Address> gateway;  // default route
    std::uint16_t mtu = 1500;                  // IP MTU
    ArpConfig arp;
};

// The layer above: receives every IPv4 packet addressed to this link (starting at the IPv4
// header, link padding still attached: the IP layer trims it by total length).
// `link_broadcast` says the frame went to ff:ff:ff:ff:ff:ff, which RFC 1122 §3.2.2 forbids
// answering with an ICMP error whatever its IP destination.
class Ipv4Receiver {
public:
    virtual ~Ipv4Receiver() = default;
    virtual void ipv4_input(buf::PacketBuf&& packet, time::Instant now, bool link_broadcast) noexcept = 0;
};

enum class OutputStatus : std::uint8_t {
    sent,      // handed to the sink, or waiting for ARP
    no_route,  // no route to the destination (ENETUNREACH)
    dropped,   // no headroom for the link header
};

class Interface {
public:
    Interface(const InterfaceConfig& config, FrameSink& sink, rte_mempool* pool);
    Interface(const Interface&) = delete;
    Interface& operator=(const Interface&) = delete;

    void set_ipv4_receiver(Ipv4Receiver* receiver) noexcept { receiver_ = receiver; }

    // One received frame, starting at the Ethernet header.
    void ingress(buf::PacketBuf&& frame, time::Instant now) noexcept;

    // Sends an IPv4 packet (starting at its header) to `dst`: broadcast addresses go to the
    // Ethernet broadcast address, others through the route table and ARP.
    OutputStatus output_ipv4(buf::PacketBuf&& packet, wire::Ipv4Address dst, time::Instant now) noexcept;

    // Prepends the Ethernet header and hands the frame to the sink (ARP's exit).
    void transmit_ipv4(buf::PacketBuf&& packet, const wire::MacAddress& dst) noexcept;
    // Builds and sends an ARP packet; false when no mbuf was available.
    bool transmit_arp(const wire::ArpRepr& arp, const wire::MacAddress& dst) noexcept;

    // Periodic work (ARP retries and aging); call at least every 100 ms.
    void on_timer(time::Instant now) noexcept { arp_.on_timer(now); }
    // Link up: announce our address (gratuitous ARP).
    void start() noexcept { arp_.announce(); }

    // True for our address and for the broadcast addresses we accept (255.255.255.255 and
    // the subnet's directed broadcast).
    bool is_local(wire::Ipv4Address a) const noexcept { return a == address().address() || is_broadcast(a); }
    bool is_broadcast(wire::Ipv4Address a) const noexcept {
        return a.is_broadcast() || (config_.address.prefix_len() < 31 && a == config_.address.subnet_broadcast());
    }

    const wire::MacAddress& mac() const noexcept { return config_.mac; }
    const wire::Ipv4Cidr& address() const noexcept { return config_.address; }
    std::uint16_t mtu() const noexcept { return config_.mtu; }
    rte_mempool* pool() const noexcept { return pool_; }
    RouteTable& routes() noexcept { return routes_; }
    ArpResolver& arp() noexcept { return arp_; }
    const ArpResolver& arp() const noexcept { return arp_; }
    const LinkCounters& counters() const noexcept { return counters_; }

private:
    InterfaceConfig config_;
    FrameSink& sink_;
    rte_mempool* pool_;
    Ipv4Receiver* receiver_ = nullptr;
    RouteTable routes_;
    ArpResolver arp_;
    LinkCounters counters_;
};

}  // namespace pollux::iface
