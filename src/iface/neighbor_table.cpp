#include "iface/neighbor_table.hpp"

#include <bit>
#include <cassert>

namespace pollux::iface {

NeighborTable::NeighborTable(std::size_t capacity, std::size_t pending_bytes_per_neighbor)
    : entries_(capacity),
      pending_(capacity),
      index_(std::bit_ceil(capacity * 2)),
      pending_bytes_per_neighbor_(pending_bytes_per_neighbor) {
    assert(capacity > 0 && pending_bytes_per_neighbor > 0);
}

std::size_t NeighborTable::bucket_of(wire::Ipv4Address ip) const noexcept {
    // Fibonacci hashing spreads the low-entropy host part of on-link addresses.
    const std::uint64_t h = std::uint64_t{ip.value()} * 0x9e3779b97f4a7c15ull;
    return static_cast<std::size_t>(h >> 32) & (index_.size() - 1);
}

Neighbor* NeighborTable::find(wire::Ipv4Address ip) noexcept {
    for (std::size_t b = bucket_of(ip);; b = (b + 1) & (index_.size() - 1)) {
        const std::uint32_t e = index_[b];
        if (e == 0) return nullptr;
        if (entries_[e - 1].ip == ip) return &entries_[e - 1];
    }
}

void NeighborTable::index_insert(std::size_t entry) noexcept {
    std::size_t b = bucket_of(entries_[entry].ip);
    while (index_[b] != 0) b = (b + 1) & (index_.size() - 1);
    index_[b] = static_cast<std::uint32_t>(entry + 1);
}

void NeighborTable::index_erase(std::size_t entry) noexcept {
    const std::size_t mask = index_.size() - 1;
    std::size_t b = bucket_of(entries_[entry].ip);
    while (index_[b] != entry + 1) b = (b + 1) & mask;
    // Backward-shift deletion: pull later members of the probe run into the hole so
    // lookups never stop early, and no tombstones accumulate.
    std::size_t hole = b;
    for (std::size_t next = (hole + 1) & mask; index_[next] != 0; next = (next + 1) & mask) {
        const std::size_t home = bucket_of(entries_[index_[next] - 1].ip);
        // Move `next` into the hole unless its home lies cyclically in (hole, next].
        const bool home_after_hole = ((next - home) & mask) < ((next - hole) & mask);
        if (!home_after_hole) {
            index_[hole] = index_[next];
            hole = next;
        }
    }
    index_[hole] = 0;
}

Neighbor& NeighborTable::create(wire::Ipv4Address ip, time::Instant now) noexcept {
    assert(find(ip) == nullptr);
    Neighbor* target = nullptr;
    if (size_ < entries_.size()) {
        for (Neighbor& n : entries_) {
            if (!n.in_use) {
                target = &n;
                break;
            }
        }
    } else {
        // Full: evict the least recently used entry, preferring resolved ones (an
        // incomplete entry is a resolution in progress with packets waiting).
        for (Neighbor& n : entries_) {
            const bool better = target == nullptr ||
                                (target->state == NeighborState::incomplete && n.state != NeighborState::incomplete) ||
                                ((target->state == NeighborState::incomplete) == (n.state == NeighborState::incomplete) &&
                                 n.used_at < target->used_at);
            if (better) target = &n;
        }
        evicted_pending_ += remove(*target);
    }
    *target = Neighbor{};
    target->ip = ip;
    target->in_use = true;
    target->used_at = now;
    target->confirmed_at = now;
    target->next_probe_at = now;
    index_insert(index_of(*target));
    ++size_;
    return *target;
}

std::size_t NeighborTable::remove(Neighbor& n) noexcept {
    assert(n.in_use);
    buf::PacketQueue& q = pending_[index_of(n)];
    const std::size_t dropped = q.size();
    q.clear();
    index_erase(index_of(n));
    n = Neighbor{};
    --size_;
    return dropped;
}

std::size_t NeighborTable::enqueue_pending(Neighbor& n, buf::PacketBuf&& pkt) noexcept {
    buf::PacketQueue& q = pending_[index_of(n)];
    const std::size_t size = pkt.buffer_footprint();
    std::size_t dropped = 0;
    // Linux's __neigh_event_send: while the queued bytes plus the new packet's truesize
    // exceed unres_qlen_bytes, free the head. A packet larger than the limit on its own
    // empties the queue and is then queued all the same (the kernel's loop stops when the
    // queue is empty, and the tail insert is unconditional): the newest packet always
    // waits, and the queue overshoots the limit by at most that one packet.
    while (!q.empty() && q.footprint() + size > pending_bytes_per_neighbor_) {
        q.pop_front();  // freed here, at the end of the full expression
        ++dropped;
    }
    q.push_back(std::move(pkt), 0);  // the tag is unused: the queue is per neighbour
    return dropped;
}

}  // namespace pollux::iface
