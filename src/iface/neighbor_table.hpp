// The neighbour (ARP) cache of one interface: IPv4 address -> MAC, with the states Linux
// uses (incomplete while resolving, reachable after a confirmation, stale once that is
// old) and, per unresolved neighbour, a queue of packets waiting for the answer.
//
// The waiting queue is bounded in bytes, as Linux bounds its arp_queue by
// unres_qlen_bytes: the sum of the packets' buffer_footprint() (pollux's truesize) stays
// within pending_bytes_per_neighbor, the oldest packets dropped first. A byte bound, not a
// count of slots, because one large datagram leaves as many fragments (45 for 65,507
// bytes of UDP at MTU 1500) and must not lose its tail, while a flood of small packets
// must not pin an unbounded share of the mbuf pool.
//
// Storage is fixed at construction (capacity entries, each with a buf::PacketQueue that
// links its packets through their own mbufs), so nothing allocates on the data path; when
// full, the least recently used resolved entry is evicted. Only the owning shard touches it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "buf/packet_buf.hpp"
#include "buf/packet_queue.hpp"
#include "time/instant.hpp"
#include "wire/address.hpp"

namespace pollux::iface {

enum class NeighborState : std::uint8_t {
    incomplete,  // ARP request sent, no answer yet; packets wait in NeighborTable::pending()
    reachable,   // confirmed within reachable_time
    stale,       // usable, but the next use triggers a unicast re-probe
    probe,       // stale and re-probing; still usable until the probes run out
};

struct Neighbor {
    wire::Ipv4Address ip;
    wire::MacAddress mac;
    NeighborState state = NeighborState::incomplete;
    time::Instant confirmed_at;   // last reply or request from this neighbour
    time::Instant used_at;        // last packet sent to it (for LRU eviction)
    time::Instant next_probe_at;  // when the next ARP request is due (incomplete/probe)
    std::uint8_t probes_sent = 0;
    bool in_use = false;
};

class NeighborTable {
public:
    // `pending_bytes_per_neighbor` bounds each neighbour's waiting packets by the sum of
    // their buffer_footprint(). Allocates everything it will use (setup time), and
    // registers PacketQueue's mbuf link field if no one did yet: throws
    // std::runtime_error when DPDK refuses it (see buf/packet_queue.hpp).
    NeighborTable(std::size_t capacity, std::size_t pending_bytes_per_neighbor);
    NeighborTable(const NeighborTable&) = delete;
    NeighborTable& operator=(const NeighborTable&) = delete;

    Neighbor* find(wire::Ipv4Address ip) noexcept;
    // A new incomplete entry for `ip` (which must not be present), evicting the least
    // recently used entry when full. Evicted pending packets are freed and counted in
    // `evicted_pending`.
    Neighbor& create(wire::Ipv4Address ip, time::Instant now) noexcept;
    // Frees the entry and its pending packets; returns how many packets were dropped.
    std::size_t remove(Neighbor& n) noexcept;

    // Queues `pkt` (not empty) on an unresolved neighbour and returns how many older
    // packets were dropped to make room: the oldest go first, as long as the queue's bytes
    // plus `pkt`'s would exceed the limit (Linux's __neigh_event_send).
    std::size_t enqueue_pending(Neighbor& n, buf::PacketBuf&& pkt) noexcept;
    // Hands the pending packets to `fn(PacketBuf&&)` in arrival order and empties the queue.
    template <typename Fn>
    void drain_pending(Neighbor& n, Fn&& fn) noexcept {
        buf::PacketQueue& q = pending_[index_of(n)];
        while (!q.empty()) fn(q.pop_front());
    }
    // The packets waiting on `n` (size(), footprint()).
    const buf::PacketQueue& pending(const Neighbor& n) const noexcept { return pending_[index_of(n)]; }

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return entries_.size(); }
    std::size_t pending_bytes_per_neighbor() const noexcept { return pending_bytes_per_neighbor_; }
    std::uint64_t evicted_pending() const noexcept { return evicted_pending_; }

    // Visits every entry in use; `fn` may call remove() on the entry it is given.
    template <typename Fn>
    void for_each(Fn&& fn) noexcept {
        for (Neighbor& n : entries_) {
            if (n.in_use) fn(n);
        }
    }

private:
    std::size_t index_of(const Neighbor& n) const noexcept {
        return static_cast<std::size_t>(&n - entries_.data());
    }
    std::size_t bucket_of(wire::Ipv4Address ip) const noexcept;
    void index_insert(std::size_t entry) noexcept;
    void index_erase(std::size_t entry) noexcept;

    std::vector<Neighbor> entries_;
    // pending_[i] holds entry i's waiting packets. Built once at its final size, never
    // resized, so no PacketQueue is ever moved; each is empty while its entry is unused.
    std::vector<buf::PacketQueue> pending_;
    // Open-addressing index (linear probing, backward-shift deletion): entry index + 1,
    // 0 for an empty bucket. Twice the capacity, a power of two.
    std::vector<std::uint32_t> index_;
    std::size_t pending_bytes_per_neighbor_;
    std::size_t size_ = 0;
    std::uint64_t evicted_pending_ = 0;
};

}  // namespace pollux::iface
