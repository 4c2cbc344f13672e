#include "iface/arp_resolver.hpp"

#include "iface/interface.hpp"

namespace pollux::iface {

using wire::ArpOperation;
using wire::ArpRepr;
using wire::Ipv4Address;
using wire::MacAddress;

ArpResolver::ArpResolver(const ArpConfig& config, Interface& iface)
    : config_(config), iface_(iface), table_(config.capacity, config.pending_bytes_per_neighbor) {}

void ArpResolver::send_request(Ipv4Address target, const MacAddress& dst_mac) noexcept {
    ArpRepr req;
    req.operation = ArpOperation::request;
    req.sender_mac = iface_.mac();
    req.sender_ip = iface_.address().address();
    req.target_mac = MacAddress();  // unknown: zero (RFC 826 leaves it unspecified)
    req.target_ip = target;
    if (iface_.transmit_arp(req, dst_mac)) {
        counters_.tx_requests.add();
    } else {
        counters_.alloc_failed.add();
    }
}

void ArpResolver::announce() noexcept {
    // RFC 5227 §3: an announcement is a request with sender and target IP both ours.
    ArpRepr req;
    req.operation = ArpOperation::request;
    req.sender_mac = iface_.mac();
    req.sender_ip = iface_.address().address();
    req.target_ip = iface_.address().address();
    if (iface_.transmit_arp(req, MacAddress::broadcast())) {
        counters_.tx_requests.add();
    } else {
        counters_.alloc_failed.add();
    }
}

void ArpResolver::confirm(Neighbor& n, const MacAddress& mac, time::Instant now) noexcept {
    n.mac = mac;
    n.state = NeighborState::reachable;
    n.confirmed_at = now;
    n.probes_sent = 0;
    table_.drain_pending(n, [&](buf::PacketBuf&& p) { iface_.transmit_ipv4(std::move(p), n.mac); });
}

Neighbor& ArpResolver::create(Ipv4Address ip, time::Instant now) noexcept {
    const std::uint64_t evicted_before = table_.evicted_pending();
    Neighbor& n = table_.create(ip, now);
    counters_.pending_dropped.add(table_.evicted_pending() - evicted_before);
    return n;
}

void ArpResolver::fail(Neighbor& n) noexcept {
    counters_.resolve_failed.add();
    counters_.pending_dropped.add(table_.remove(n));
}

void ArpResolver::input(const ArpRepr& arp, time::Instant now) noexcept {
    const Ipv4Address ours = iface_.address().address();
    if (arp.operation == ArpOperation::request) {
        counters_.rx_requests.add();
    } else {
        counters_.rx_replies.add();
    }
    // A sender that claims a group MAC or a non-unicast IP is bogus (RFC 1812 §3.3.2,
    // Linux's arp_process); our own IP from another MAC is an address conflict.
    if (!arp.sender_mac.is_unicast() || arp.sender_mac.is_zero() || arp.sender_ip.is_broadcast() ||
        arp.sender_ip.is_multicast() || arp.sender_ip == ours) {
        if (arp.sender_mac != iface_.mac()) counters_.rx_drop_bogus_sender.add();
        return;
    }
    const bool for_us = arp.target_ip == ours;
    // RFC 826 merge: update an entry we have; create one only when the packet is for us
    // (the sender will talk to us next) and the sender is on our subnet. A sender IP of
    // 0.0.0.0 is an RFC 5227 probe: answer, but learn nothing.
    Neighbor* n = arp.sender_ip.is_unspecified() ? nullptr : table_.find(arp.sender_ip);
    if (n != nullptr) {
        confirm(*n, arp.sender_mac, now);
    } else if (for_us && !arp.sender_ip.is_unspecified() && iface_.address().contains(arp.sender_ip)) {
        Neighbor& fresh = create(arp.sender_ip, now);
        confirm(fresh, arp.sender_mac, now);
    }
    if (!for_us) {
        if (n == nullptr) counters_.rx_ignored.add();
        return;
    }
    if (arp.operation == ArpOperation::request) {
        ArpRepr reply;
        reply.operation = ArpOperation::reply;
        reply.sender_mac = iface_.mac();
        reply.sender_ip = ours;
        reply.target_mac = arp.sender_mac;
        reply.target_ip = arp.sender_ip;
        if (iface_.transmit_arp(reply, arp.sender_mac)) {
            counters_.tx_replies.add();
        } else {
            counters_.alloc_failed.add();
        }
    }
}

void ArpResolver::send(buf::PacketBuf&& pkt, Ipv4Address next_hop, time::Instant now) noexcept {
    Neighbor* n = table_.find(next_hop);
    if (n == nullptr) {
        Neighbor& fresh = create(next_hop, now);
        counters_.pending_dropped.add(table_.enqueue_pending(fresh, std::move(pkt)));
        fresh.probes_sent = 1;
        fresh.next_probe_at = now + config_.retrans_time;
        send_request(next_hop, MacAddress::broadcast());
        return;
    }
    n->used_at = now;
    switch (n->state) {
        case NeighborState::incomplete:
            counters_.pending_dropped.add(table_.enqueue_pending(*n, std::move(pkt)));
            return;
        case NeighborState::stale:
            // Linux's DELAY/PROBE: keep using the old address, and ask the neighbour
            // directly whether it is still there.
            n->state = NeighborState::probe;
            n->probes_sent = 1;
            n->next_probe_at = now + config_.retrans_time;
            send_request(next_hop, n->mac);
            break;
        case NeighborState::reachable:
        case NeighborState::probe:
            break;
    }
    iface_.transmit_ipv4(std::move(pkt), n->mac);
}

void ArpResolver::on_timer(time::Instant now) noexcept {
    table_.for_each([&](Neighbor& n) {
        switch (n.state) {
            case NeighborState::incomplete:
            case NeighborState::probe:
                if (now < n.next_probe_at) return;
                if (n.probes_sent >= config_.max_probes) {
                    fail(n);
                    return;
                }
                ++n.probes_sent;
                n.next_probe_at = now + config_.retrans_time;
                send_request(n.ip, n.state == NeighborState::probe ? n.mac : MacAddress::broadcast());
                return;
            case NeighborState::reachable:
                if (now - n.confirmed_at >= config_.reachable_time) n.state = NeighborState::stale;
                return;
            case NeighborState::stale:
                if (now - n.used_at >= config_.gc_stale_time && now - n.confirmed_at >= config_.gc_stale_time) {
                    counters_.entries_expired.add();
                    table_.remove(n);
                }
                return;
        }
    });
}

}  // namespace pollux::iface
