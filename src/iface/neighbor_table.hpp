// The neighbour (ARP) cache of one interface: IPv4 address -> MAC, with the states Linux
// uses (incomplete while resolving, reachable after a confirmation, stale once that is
// old) and, per unresolved neighbour, a bounded queue of packets waiting for the answer.
//
// Storage is fixed at construction (capacity entries, pending_per_neighbor packets each),
// so nothing allocates on the data path; when full, the least recently used resolved
// entry is evicted. Only the owning shard touches it.
#pragma once

#include <cstdint>
#include <vector>

#include "buf/packet_buf.hpp"
#include "time/instant.hpp"
#include "wire/address.hpp"

namespace pollux::iface {

enum class NeighborState : std::uint8_t {
    incomplete,  // ARP request sent, no answer yet; packets wait in `pending`
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
    // Ring of waiting packets, a slice of the table's pending storage.
    std::uint16_t pending_head = 0;
    std::uint16_t pending_count = 0;
};

class NeighborTable {
public:
    NeighborTable(std::size_t capacity, std::size_t pending_per_neighbor);
    NeighborTable(const NeighborTable&) = delete;
    NeighborTable& operator=(const NeighborTable&) = delete;

    Neighbor* find(wire::Ipv4Address ip) noexcept;
    // A new incomplete entry for `ip` (which must not be present), evicting the least
    // recently used entry when full. Evicted pending packets are freed and counted in
    // `evicted_pending`.
    Neighbor& create(wire::Ipv4Address ip, time::Instant now) noexcept;
    // Frees the entry and its pending packets; returns how many packets were dropped.
    std::size_t remove(Neighbor& n) noexcept;

    // Queues `pkt` on an unresolved neighbour. When the queue is full the OLDEST packet is
    // dropped (as Linux's unres queue does) and true is returned for "one was dropped".
    bool enqueue_pending(Neighbor& n, buf::PacketBuf&& pkt) noexcept;
    // Hands the pending packets to `fn(PacketBuf&&)` in arrival order and empties the queue.
    template <typename Fn>
    void drain_pending(Neighbor& n, Fn&& fn) noexcept {
        while (n.pending_count > 0) {
            buf::PacketBuf p = std::move(slot(n, n.pending_head));
            n.pending_head = static_cast<std::uint16_t>((n.pending_head + 1) % pending_per_neighbor_);
            --n.pending_count;
            fn(std::move(p));
        }
    }

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return entries_.size(); }
    std::size_t pending_per_neighbor() const noexcept { return pending_per_neighbor_; }
    std::uint64_t evicted_pending() const noexcept { return evicted_pending_; }

    // Visits every entry in use; `fn` may call remove() on the entry it is given.
    template <typename Fn>
    void for_each(Fn&& fn) noexcept {
        for (Neighbor& n : entries_) {
            if (n.in_use) fn(n);
        }
    }

private:
    buf::PacketBuf& slot(const Neighbor& n, std::size_t i) noexcept;
    std::size_t index_of(const Neighbor& n) const noexcept {
        return static_cast<std::size_t>(&n - entries_.data());
    }
    std::size_t bucket_of(wire::Ipv4Address ip) const noexcept;
    void index_insert(std::size_t entry) noexcept;
    void index_erase(std::size_t entry) noexcept;

    std::vector<Neighbor> entries_;
    std::vector<buf::PacketBuf> pending_;  // entries_.size() * pending_per_neighbor_
    // Open-addressing index (linear probing, backward-shift deletion): entry index + 1,
    // 0 for an empty bucket. Twice the capacity, a power of two.
    std::vector<std::uint32_t> index_;
    std::size_t pending_per_neighbor_;
    std::size_t size_ = 0;
    std::uint64_t evicted_pending_ = 0;
};

}  // namespace pollux::iface
