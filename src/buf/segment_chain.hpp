// SegmentChain: a byte stream held in rte_mbuf segments, linked through rte_mbuf::next
// without a packet header; the storage of TCP's send buffer, receive buffer and
// out-of-order ranges.
//
// Why not one PacketBuf chain: a packet's head counts its segments in nb_segs, a uint16,
// so a PacketBuf holds at most 65,535 segments, and rte_pktmbuf_chain refuses beyond.
// A 4 MiB socket buffer is ~2,000 segments of 2 KiB, but one of 1-byte received
// segments (each in its own mbuf) or an SO_SNDBUF raised past 128 MiB is not. And a
// packet's head keeps pkt_len/nb_segs for the whole chain, which every change at the
// front (an ACK freeing the first segment) would have to move to the new head.
// Why not a PacketQueue of packets: reading across packets (MSG_PEEK of more than one
// packet, a send slice that starts in one packet and ends in the next) needs to walk
// past the front packet, which a PacketQueue only shows through front().
// So the chain here is just segments and a head/tail pair: this object keeps the byte
// and buffer totals, and the segments' own pkt_len/nb_segs say "one segment" (set on
// the way in) until take_front() turns a prefix back into a packet. Nothing allocates:
// pushing a packet relinks its segments, consuming frees them.
//
// Positions: front_position() counts every byte that has left the front (consume,
// take_front, clear) since construction, so "front_position() + offset" names a byte
// for as long as it is held, whatever is consumed meanwhile. SendBuffer caches lookups
// by such positions.
//
// Ownership: the chain holds one reference to each segment (rte_pktmbuf_free_seg when it
// leaves). Segments may be shared (indirect mbufs, or buffers other clones point into):
// the chain never writes into a segment's data; only SendBuffer writes into the tailroom
// of segments it allocated itself (see send_buffer.hpp). Not synchronised: one owner.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include <rte_mbuf.h>

#include "buf/packet_buf.hpp"

namespace pollux::buf {

class SegmentChain {
public:
    SegmentChain() noexcept = default;
    ~SegmentChain() { clear(); }

    // The moved-from chain is empty and usable.
    SegmentChain(SegmentChain&& o) noexcept
        : head_(std::exchange(o.head_, nullptr)),
          tail_(std::exchange(o.tail_, nullptr)),
          size_(std::exchange(o.size_, 0)),
          footprint_(std::exchange(o.footprint_, 0)),
          segments_(std::exchange(o.segments_, 0)),
          front_position_(o.front_position_) {}
    SegmentChain& operator=(SegmentChain&& o) noexcept;
    SegmentChain(const SegmentChain&) = delete;
    SegmentChain& operator=(const SegmentChain&) = delete;

    // Takes every segment of `p` to the back, in order; frees the empty ones (a segment
    // whose bytes were all header). `p` may be empty.
    void append(PacketBuf&& p) noexcept;
    // Moves every segment of `other` to the back in O(1); `other` is left empty.
    void append(SegmentChain&& other) noexcept;
    // Takes one unlinked segment (next == null) holding at least one byte to the back.
    void push_back(rte_mbuf* seg) noexcept {
        assert(seg != nullptr && seg->next == nullptr && seg->data_len > 0);
        seg->nb_segs = 1;
        seg->pkt_len = seg->data_len;
        if (tail_ != nullptr) {
            tail_->next = seg;
        } else {
            head_ = seg;
        }
        tail_ = seg;
        size_ += seg->data_len;
        footprint_ += seg->buf_len;
        ++segments_;
    }
    // Counts `n` bytes the caller has just written into the last segment's tailroom.
    void grow_back(std::uint16_t n) noexcept {
        assert(tail_ != nullptr && n <= rte_pktmbuf_tailroom(tail_));
        tail_->data_len = static_cast<std::uint16_t>(tail_->data_len + n);
        tail_->pkt_len = tail_->data_len;
        size_ += n;
    }

    // Drops the first `n` bytes (all of them when n > size()): frees the segments left
    // empty and moves the new first segment's start past the dropped part.
    void consume(std::size_t n) noexcept;
    // The leading segments as one packet (head pkt_len/nb_segs set): the whole chain, or
    // its first 65,535 segments (RTE_MBUF_MAX_NB_SEGS) when it has more. Empty when the
    // chain is. O(1) when the whole chain goes.
    PacketBuf take_front() noexcept;
    // Frees every segment.
    void clear() noexcept;

    // Copies `out.size()` bytes from `offset` (0 = the first byte held) into `out`; false
    // (and `out` unspecified) when fewer are held. Walks from the front: O(offset).
    bool copy_out(std::size_t offset, std::span<std::uint8_t> out) const noexcept;

    bool empty() const noexcept { return head_ == nullptr; }
    // Bytes held.
    std::size_t size() const noexcept { return size_; }
    // Bytes of buffer the segments pin (their buf_len summed, as PacketBuf::
    // buffer_footprint): what a socket buffer limit counts.
    std::size_t footprint() const noexcept { return footprint_; }
    std::size_t segment_count() const noexcept { return segments_; }
    // Bytes that have left the front since construction.
    std::uint64_t front_position() const noexcept { return front_position_; }

    // The raw segments, for the containers of src/buf/ that walk them.
    rte_mbuf* head() const noexcept { return head_; }
    rte_mbuf* tail() const noexcept { return tail_; }

private:
    // Unlinks and frees the first segment.
    void free_head() noexcept;

    rte_mbuf* head_ = nullptr;
    rte_mbuf* tail_ = nullptr;
    std::size_t size_ = 0;
    std::size_t footprint_ = 0;
    std::size_t segments_ = 0;
    std::uint64_t front_position_ = 0;
};

}  // namespace pollux::buf
