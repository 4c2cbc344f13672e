// Link-layer and ARP statistics of one interface (like `ip -s link` and Linux's ARP/neigh
// statistics). Every dropped frame lands in exactly one drop counter.
#pragma once

#include "stats/counter.hpp"

namespace pollux::iface {

struct LinkCounters {
    stats::Counter rx_frames;
    stats::Counter rx_bytes;
    stats::Counter tx_frames;
    stats::Counter tx_bytes;
    stats::Counter rx_drop_truncated;         // shorter than an Ethernet header
    stats::Counter rx_drop_not_for_us;        // unicast to another MAC, or multicast
    stats::Counter rx_drop_vlan;              // 802.1Q tagged: no VLAN configured
    stats::Counter rx_drop_unknown_ethertype; // IPv6, LLDP, 802.3 length frames, ...
    stats::Counter tx_drop_no_headroom;       // no room to prepend the Ethernet header

    template <typename F>
    void visit(F&& f) const {
        f("rx_frames", rx_frames);
        f("rx_bytes", rx_bytes);
        f("tx_frames", tx_frames);
        f("tx_bytes", tx_bytes);
        f("rx_drop_truncated", rx_drop_truncated);
        f("rx_drop_not_for_us", rx_drop_not_for_us);
        f("rx_drop_vlan", rx_drop_vlan);
        f("rx_drop_unknown_ethertype", rx_drop_unknown_ethertype);
        f("tx_drop_no_headroom", tx_drop_no_headroom);
    }
};

struct ArpCounters {
    stats::Counter rx_requests;
    stats::Counter rx_replies;
    stats::Counter tx_requests;
    stats::Counter tx_replies;
    stats::Counter rx_drop_malformed;    // truncated, lying lengths
    stats::Counter rx_drop_unsupported;  // not Ethernet/IPv4, or not request/reply
    stats::Counter rx_drop_bogus_sender; // sender is broadcast/multicast, or our own IP from another MAC
    stats::Counter rx_ignored;           // well-formed, not about us, no entry to update
    stats::Counter resolve_failed;       // probes ran out with no answer
    stats::Counter pending_dropped;      // packets dropped while waiting (queue full, failure, eviction)
    stats::Counter entries_expired;      // stale entries garbage-collected
    stats::Counter alloc_failed;         // no mbuf for a request or reply

    template <typename F>
    void visit(F&& f) const {
        f("rx_requests", rx_requests);
        f("rx_replies", rx_replies);
        f("tx_requests", tx_requests);
        f("tx_replies", tx_replies);
        f("rx_drop_malformed", rx_drop_malformed);
        f("rx_drop_unsupported", rx_drop_unsupported);
        f("rx_drop_bogus_sender", rx_drop_bogus_sender);
        f("rx_ignored", rx_ignored);
        f("resolve_failed", resolve_failed);
        f("pending_dropped", pending_dropped);
        f("entries_expired", entries_expired);
        f("alloc_failed", alloc_failed);
    }
};

}  // namespace pollux::iface
