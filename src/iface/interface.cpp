#include "iface/interface.hpp"

#include <algorithm>
#include <cstring>

#include "wire/ethernet.hpp"

namespace pollux::iface {

using wire::EtherType;
using wire::MacAddress;

namespace {
// IEEE 802.3 minimum frame without FCS; NICs pad IP frames themselves, ARP we pad here.
constexpr std::uint16_t min_frame_len = 60;
}  // namespace

Interface::Interface(const InterfaceConfig& config, FrameSink& sink, rte_mempool* pool)
    : config_(config), sink_(sink), pool_(pool), arp_(config.arp, *this) {
    routes_.add(Route{wire::Ipv4Cidr(config.address.network(), config.address.prefix_len()), std::nullopt});
    if (config.gateway) routes_.add(Route{wire::Ipv4Cidr(wire::Ipv4Address::any(), 0), config.gateway});
}

void Interface::ingress(buf::PacketBuf&& frame, time::Instant now) noexcept {
    counters_.rx_frames.add();
    counters_.rx_bytes.add(frame.length());
    const auto head = frame.front();
    const wire::EthernetView eth(head);
    if (eth.check() != wire::WireError::none) {
        counters_.rx_drop_truncated.add();
        return;
    }
    const MacAddress dst = eth.dst();
    if (dst != config_.mac && !dst.is_broadcast()) {
        counters_.rx_drop_not_for_us.add();  // other hosts' unicast, and multicast
        return;
    }
    if (eth.has_vlan_tag()) {
        counters_.rx_drop_vlan.add();
        return;
    }
    const auto type = static_cast<EtherType>(eth.ethertype());
    if (type == EtherType::ipv4) {
        if (!frame.adjust(static_cast<std::uint16_t>(eth.header_len()))) {
            counters_.rx_drop_truncated.add();
            return;
        }
        if (receiver_ != nullptr) receiver_->ipv4_input(std::move(frame), now, dst.is_broadcast());
        return;
    }
    if (type == EtherType::arp) {
        const auto arp = wire::ArpRepr::parse(eth.payload());
        if (!arp) {
            arp_.reject(arp.error());
            return;
        }
        arp_.input(*arp, now);
        return;
    }
    counters_.rx_drop_unknown_ethertype.add();
}

OutputStatus Interface::output_ipv4(buf::PacketBuf&& packet, wire::Ipv4Address dst, time::Instant now) noexcept {
    if (is_broadcast(dst)) {
        transmit_ipv4(std::move(packet), MacAddress::broadcast());
        return OutputStatus::sent;
    }
    const auto next_hop = routes_.next_hop(dst);
    if (!next_hop) return OutputStatus::no_route;
    if (packet.headroom() < wire::ethernet::header_len) {
        counters_.tx_drop_no_headroom.add();
        return OutputStatus::dropped;
    }
    arp_.send(std::move(packet), *next_hop, now);
    return OutputStatus::sent;
}

void Interface::transmit_ipv4(buf::PacketBuf&& packet, const MacAddress& dst) noexcept {
    std::uint8_t* h = packet.prepend(wire::ethernet::header_len);
    if (h == nullptr) {
        counters_.tx_drop_no_headroom.add();
        return;
    }
    const wire::EthernetRepr eth{dst, config_.mac, EtherType::ipv4, std::nullopt};
    eth.emit({h, wire::ethernet::header_len});
    packet.set_header_lengths(wire::ethernet::header_len, packet.l3_len(), packet.l4_len());
    counters_.tx_frames.add();
    counters_.tx_bytes.add(packet.length());
    sink_.transmit(std::move(packet));
}

bool Interface::transmit_arp(const wire::ArpRepr& arp, const MacAddress& dst) noexcept {
    buf::PacketBuf frame = buf::PacketBuf::alloc(pool_);
    if (!frame) return false;
    std::uint8_t* p = frame.append(min_frame_len);
    if (p == nullptr) return false;
    std::memset(p, 0, min_frame_len);
    const wire::EthernetRepr eth{dst, config_.mac, EtherType::arp, std::nullopt};
    eth.emit({p, min_frame_len});
    arp.emit({p + wire::ethernet::header_len, wire::ArpRepr::buffer_len()});
    counters_.tx_frames.add();
    counters_.tx_bytes.add(frame.length());
    sink_.transmit(std::move(frame));
    return true;
}

}  // namespace pollux::iface
