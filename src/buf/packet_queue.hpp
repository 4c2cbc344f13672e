// PacketQueue: a FIFO of whole packets, linked through their own head mbufs; the receive
// queue of datagram and raw sockets.
//
// Why the links live in the mbuf (a DPDK dynamic field) and not in a side container:
// - no allocation per packet: a std::deque or a ring of PacketBufs allocates as it grows,
//   and a fixed ring either wastes memory on every idle socket or caps the queue; here
//   the head mbuf the packet already owns carries its own link;
// - no capacity: the queue is bounded in bytes by its user (SO_RCVBUF against
//   footprint()), never by a count of slots;
// - zero copy: the packet's chain moves in and out whole, rte_mbuf::next (the segment
//   chain of a reassembled datagram or of an append_copy chain) is left untouched.
// This is the kernel's way too: an sk_buff carries its own next/prev for the socket's
// sk_receive_queue.
//
// The link field. One process-wide dynamic field named "pollux_packet_queue_link",
// 24 bytes aligned 8 (struct Link below): the next packet's head, the 64-bit tag the
// user attaches (UDP: sender address and port; raw: source address) and the footprint
// recorded at push, so pop subtracts exactly what push added.
// Why it fits: DPDK 22.11 keeps 36 bytes of rte_mbuf for dynamic fields (dynfield1[9],
// offsets 92..127, measured with rte_mbuf_dyn_dump): 4 bytes at 92 and four 8-aligned
// slots from 96. Registered first, the link takes 96..119 and leaves 120..127 (8 bytes,
// aligned 8) and 92..95 (4 bytes): room for the two fields a PMD we run on may want, the
// rx timestamp (8, aligned 8) and rte_flow metadata (4, aligned 4); test/unit/buf checks
// that both still register and stay intact through a push and pop. Registered after two
// 8-byte fields (rx + tx timestamp, or timestamp + rte_security) the 24 bytes no longer
// fit and registration fails with ENOENT: so the runtime registers the field with
// register_link_field() right after rte_eal_init, before any port is configured, and
// pollux requests no offload that needs two more 8-byte fields.
//
// Ownership and threads: the queue owns every queued chain and frees them when cleared or
// destroyed. A head mbuf can be in one queue at a time (a PacketBuf owns its head
// uniquely, so this holds unless someone shares a head mbuf by bumping its refcount). A
// queue is not synchronised: its owner (the shard, or whoever holds the socket's lock)
// serialises access. The inline members run per packet; nothing here allocates.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "buf/packet_buf.hpp"
#include "buf/packet_ref.hpp"

namespace pollux::buf {

class PacketQueue {
public:
    // The dynamic field's name, as rte_mbuf_dynfield_lookup knows it.
    static constexpr const char* link_field_name = "pollux_packet_queue_link";

    // Registers the link field once per process (thread-safe; later calls return at once).
    // Needs the EAL up. Throws std::runtime_error naming rte_errno when DPDK refuses (a
    // later call then tries again).
    static void register_link_field();

    // Registers the link field on first use (see above); not on the data path.
    PacketQueue();
    ~PacketQueue() { clear(); }

    // The moved-from queue is empty and usable.
    PacketQueue(PacketQueue&& o) noexcept
        : head_(std::exchange(o.head_, nullptr)),
          tail_(std::exchange(o.tail_, nullptr)),
          size_(std::exchange(o.size_, 0)),
          footprint_(std::exchange(o.footprint_, 0)) {}
    PacketQueue& operator=(PacketQueue&& o) noexcept {
        if (this != &o) {
            clear();
            head_ = std::exchange(o.head_, nullptr);
            tail_ = std::exchange(o.tail_, nullptr);
            size_ = std::exchange(o.size_, 0);
            footprint_ = std::exchange(o.footprint_, 0);
        }
        return *this;
    }
    PacketQueue(const PacketQueue&) = delete;
    PacketQueue& operator=(const PacketQueue&) = delete;

    // Takes `p` (not empty) to the back of the queue with `tag`.
    void push_back(PacketBuf&& p, std::uint64_t tag) noexcept {
        assert(p);
        // A footprint is a sum of at most 65,535 (nb_segs) buf_len values of at most
        // 65,535 bytes each: below 2^32, so uint32 holds it exactly.
        const auto fp = static_cast<std::uint32_t>(p.buffer_footprint());
        rte_mbuf* m = p.release();
        Link& l = link(m);
        l.next = nullptr;
        l.tag = tag;
        l.footprint = fp;
        if (tail_ != nullptr) {
            link(tail_).next = m;
        } else {
            head_ = m;
        }
        tail_ = m;
        ++size_;
        footprint_ += fp;
    }

    // The packet at the front, now owned by the caller (its tag stays readable with
    // tag()); an empty PacketBuf when the queue is empty. Discarding the result drops
    // (frees) the packet.
    PacketBuf pop_front() noexcept {
        if (head_ == nullptr) return {};
        rte_mbuf* m = head_;
        Link& l = link(m);
        head_ = l.next;
        if (head_ == nullptr) tail_ = nullptr;
        l.next = nullptr;
        --size_;
        footprint_ -= l.footprint;
        return PacketBuf(m);
    }

    // A view of the front packet, which stays queued (MSG_PEEK); nullopt when empty.
    std::optional<PacketRef> front() const noexcept {
        if (head_ == nullptr) return std::nullopt;
        return PacketRef(head_);
    }
    // The front packet's tag. Precondition: not empty.
    std::uint64_t front_tag() const noexcept {
        assert(head_ != nullptr);
        return link(head_).tag;
    }
    // The tag a packet was pushed with, read back after pop_front. Valid until the
    // packet is pushed again (to any queue); `p` must not be empty.
    static std::uint64_t tag(const PacketBuf& p) noexcept {
        assert(p);
        return link(p.get()).tag;
    }

    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    // The sum of buffer_footprint() of the queued packets: what SO_RCVBUF bounds.
    std::size_t footprint() const noexcept { return footprint_; }

    // Frees every queued packet.
    void clear() noexcept;

private:
    // The dynamic field's layout (sizeof 24: 4 bytes of tail padding).
    struct Link {
        rte_mbuf* next;           // the next packet's head; null at the tail
        std::uint64_t tag;        // the user's, given to push_back
        std::uint32_t footprint;  // buffer_footprint() at push
    };
    static_assert(sizeof(Link) == 24 && alignof(Link) == 8);

    // DPDK's own idiom (RTE_MBUF_DYNFIELD): the field is a typed object at a fixed offset
    // from the mbuf. link_offset_ is written once, inside register_link_field()'s guarded
    // initialisation, which every constructor goes through before any packet is pushed.
    static Link& link(rte_mbuf* m) noexcept { return *RTE_MBUF_DYNFIELD(m, link_offset_, Link*); }
    static const Link& link(const rte_mbuf* m) noexcept {
        return *RTE_MBUF_DYNFIELD(m, link_offset_, const Link*);
    }

    static inline int link_offset_ = -1;

    rte_mbuf* head_ = nullptr;
    rte_mbuf* tail_ = nullptr;
    std::size_t size_ = 0;
    std::size_t footprint_ = 0;
};

}  // namespace pollux::buf
