// ARP (RFC 826) for one interface: answers requests for our address, resolves next hops
// with retries, keeps the neighbour cache fresh, and holds packets while resolving.
//
// Behaviour follows Linux's defaults (net.ipv4.neigh.default.*): an unresolved neighbour
// gets max_probes broadcast requests retrans_time apart (mcast_solicit=3,
// retrans_time=1 s), then its waiting packets are dropped; a confirmed entry is reachable
// for reachable_time (30 s), then stale: still used, and the next use re-probes it by
// unicast (ucast_solicit); stale entries unused for gc_stale_time (60 s) are removed.
// Packets queue per unresolved neighbour up to pending_bytes_per_neighbor of buffer
// footprint (Linux's unres_qlen_bytes), the oldest dropped first.
//
// Contract: only the owning shard calls in; on_timer() runs from the shard's timer at
// least every 100 ms.
#pragma once

#include <cstdint>

#include "buf/packet_buf.hpp"
#include "iface/counters.hpp"
#include "iface/neighbor_table.hpp"
#include "time/instant.hpp"
#include "wire/arp.hpp"

namespace pollux::iface {

class Interface;

struct ArpConfig {
    std::size_t capacity = 1024;
    // Linux's net.ipv4.neigh.default.unres_qlen_bytes: the bytes (truesize; for pollux,
    // PacketBuf::buffer_footprint()) that may wait per unresolved neighbour. Linux's
    // default, SK_WMEM_MAX = 212,992, is meant to let one maximal UDP datagram wait whole:
    // 65,507 bytes are 45 fragments at MTU 1500, a few KiB of truesize each. pollux's
    // fragments cost more, being zero-copy: each is a header mbuf chained to one or two
    // indirect mbufs, every one a whole pool element (2,176 bytes with the default mbuf
    // size), so the same 45 fragments have a footprint of 263,296 bytes (arp_resolver_test
    // measures it) and Linux's number would drop their tail. Twice it keeps Linux's intent:
    // the maximal datagram fits down to MTU 1280 (53 fragments, 298,112 bytes).
    std::size_t pending_bytes_per_neighbor = 2 * 212'992;
    time::Duration reachable_time = time::Duration::from_s(30);
    time::Duration retrans_time = time::Duration::from_s(1);
    std::uint8_t max_probes = 3;
    time::Duration gc_stale_time = time::Duration::from_s(60);
};

class ArpResolver {
public:
    ArpResolver(const ArpConfig& config, Interface& iface);

    // A parsed ARP packet received on the interface.
    void input(const wire::ArpRepr& arp, time::Instant now) noexcept;
    // Counts an ARP packet that did not parse.
    void reject(wire::WireError error) noexcept {
        (error == wire::WireError::unsupported ? counters_.rx_drop_unsupported : counters_.rx_drop_malformed).add();
    }
    // Sends `pkt` (starting at its IPv4 header) to the on-link `next_hop`, resolving it first
    // when needed (the packet then waits in the neighbour's queue).
    void send(buf::PacketBuf&& pkt, wire::Ipv4Address next_hop, time::Instant now) noexcept;
    // Retransmits requests, ages entries, collects garbage.
    void on_timer(time::Instant now) noexcept;
    // A gratuitous ARP request announcing our address (RFC 5227 §3 "announcement").
    void announce() noexcept;

    NeighborTable& table() noexcept { return table_; }
    const ArpCounters& counters() const noexcept { return counters_; }
    const ArpConfig& config() const noexcept { return config_; }

private:
    void send_request(wire::Ipv4Address target, const wire::MacAddress& dst_mac) noexcept;
    void confirm(Neighbor& n, const wire::MacAddress& mac, time::Instant now) noexcept;
    void fail(Neighbor& n) noexcept;
    // table_.create(), counting the packets of an entry it evicts as pending_dropped.
    Neighbor& create(wire::Ipv4Address ip, time::Instant now) noexcept;

    ArpConfig config_;
    Interface& iface_;
    NeighborTable table_;
    ArpCounters counters_;
};

}  // namespace pollux::iface
