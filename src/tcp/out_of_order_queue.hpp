// OutOfOrderQueue: the segments a TCP receiver holds beyond RCV.NXT until the hole before
// them is filled (RFC 9293 §3.10.7.4: segments "beyond the expected" one are held for
// later processing), and the SACK blocks that describe them (RFC 2018).
//
// What it holds: disjoint ranges of sequence space, sorted, each a run of bytes with no
// hole, kept in the mbufs they arrived in (zero copy: a range is a buf::SegmentChain, and
// adjacent arrivals are linked into one range, so a range is also one SACK block).
//
// Overlaps. A new segment is cut to the bytes not held yet, keeping the old bytes where
// a range overlaps its start or its end, as Linux's tcp_data_queue_ofo keeps the queued
// skb's bytes over the new one's. Ranges that lie wholly inside the new segment are
// replaced by it (also as Linux does), so a segment is always kept as one piece and
// cutting it never needs a clone. The part of the segment that was already held is
// reported (Insert::duplicate) for a D-SACK block (RFC 2883 §4).
//
// Limits. max_bytes bounds the mbuf buffer held (footprint(): the sum of buf_len, as
// Linux counts truesize against sk_rcvbuf) and max_segments the segments held. A new
// segment that would pass either limit is dropped and nothing held changes
// (Outcome::over_limit). Linux prunes instead (tcp_prune_ofo_queue drops the highest
// ranges to make room for data nearer RCV.NXT); dropping the newcomer is simpler and
// still safe, since the sender retransmits whatever this receiver does not SACK.
// The limit is checked on what would be held after cutting overlaps and replacing
// covered ranges, so a retransmission that replaces held bytes is not refused.
//
// Sequence space. Comparisons are modulo 2^32 (wire::SeqNum), so ranges may straddle the
// wrap. They stay meaningful while all held data lies within 2^31 bytes; the receive
// window is at most 2^30 (RFC 7323 §2.3), and a segment that would stretch the held span
// to 2^31 or more is refused (Outcome::out_of_range) instead of corrupting the order.
//
// SACK order. sack_blocks() lists the range changed most recently first: the one holding
// the segment that triggered this ACK (RFC 2018 §4 "MUST"), then the others from the
// most recently changed to the least, which repeats the most recently reported blocks
// first, as RFC 2018 §4 asks. A duplicate segment counts as a change of the range that
// holds it (Linux's tcp_sack_new_ofo_skb does the same).
//
// Cost. insert() is O(log n) in the ranges held, plus O(1) per range it replaces and
// O(segments) of its own packet; pop_in_order() O(log n) plus O(1) when it hands a
// whole range over; sack_blocks() O(blocks asked). Memory: the constructor allocates a
// fixed pool of max_segments range nodes (each range holds at least one segment, so
// ranges never outnumber segments); nothing allocates afterwards. The ranges are linked
// by Boost.Intrusive: a red-black tree ordered by start, and a recency list for SACK.
//
// Threads: owned by one TCB, on its shard; no lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>

#include "buf/packet_buf.hpp"
#include "buf/segment_chain.hpp"
#include "wire/seq_num.hpp"
#include "wire/tcp_options.hpp"

namespace pollux::tcp {

class OutOfOrderQueue {
public:
    // What insert() did with a segment.
    struct Insert {
        enum class Outcome : std::uint8_t {
            queued,        // some of its bytes are held now (bytes_added > 0)
            duplicate,     // every byte of it was held already; it was freed
            over_limit,    // holding it would pass max_bytes or max_segments; freed
            out_of_range,  // held data would span 2^31 bytes of sequence space or more; freed
            empty,         // no payload
        };
        Outcome outcome = Outcome::empty;
        // Bytes of it held now that were not held before.
        std::uint32_t bytes_added = 0;
        // The first run of its bytes that was held already, for a D-SACK block (RFC 2883):
        // set with queued (partial overlap) and duplicate (the whole segment).
        std::optional<wire::SackBlock> duplicate;
    };

    // Allocates the node pool (max_segments nodes): construct at connection setup.
    OutOfOrderQueue(std::size_t max_bytes, std::size_t max_segments);
    ~OutOfOrderQueue() { clear(); }

    // The moved-from queue is empty and refuses every segment (over_limit) until it is
    // assigned a queue again: its node pool went with the move.
    OutOfOrderQueue(OutOfOrderQueue&& o) noexcept;
    OutOfOrderQueue& operator=(OutOfOrderQueue&& o) noexcept;
    OutOfOrderQueue(const OutOfOrderQueue&) = delete;
    OutOfOrderQueue& operator=(const OutOfOrderQueue&) = delete;

    // Takes the payload `data` of a segment whose first byte is `seq`, which the caller
    // found acceptable and beyond RCV.NXT. The bytes not held yet are kept (see the top
    // of this file for overlaps and limits); the rest of the packet is freed.
    Insert insert(wire::SeqNum seq, buf::PacketBuf&& data) noexcept;

    // The held bytes from `rcv_nxt` on, up to the next hole, as one packet (a prefix of
    // them when they span more than 65,535 mbuf segments: call again), removed from the
    // queue; empty when the first held byte is after `rcv_nxt` or nothing is held. Bytes
    // before `rcv_nxt` (already received in order meanwhile) are dropped on the way.
    // Call after each advance of RCV.NXT, repeatedly, until it returns empty.
    buf::PacketBuf pop_in_order(wire::SeqNum rcv_nxt) noexcept;

    // Writes up to out.size() held ranges as SACK blocks, most recently changed first
    // (RFC 2018 §4); returns how many it wrote.
    std::size_t sack_blocks(std::span<wire::SackBlock> out) const noexcept;

    // Bytes held.
    std::size_t bytes() const noexcept { return bytes_; }
    // Segments held (each kept insert() counts one, whatever was cut off it; replaced
    // ones no longer count).
    std::size_t segments() const noexcept { return segments_; }
    // Disjoint ranges held (= SACK blocks available).
    std::size_t ranges() const noexcept { return by_start_.size(); }
    // Bytes of mbuf buffer held (sum of buf_len), bounded by max_bytes.
    std::size_t footprint() const noexcept { return footprint_; }
    bool empty() const noexcept { return by_start_.empty(); }
    std::size_t max_bytes() const noexcept { return max_bytes_; }
    std::size_t max_segments() const noexcept { return max_segments_; }

    // Frees everything held.
    void clear() noexcept;

private:
    using NormalLink = boost::intrusive::link_mode<boost::intrusive::normal_link>;

    // One range: [start, start + data.size()), with no hole.
    struct Range : boost::intrusive::set_base_hook<NormalLink>, boost::intrusive::list_base_hook<NormalLink> {
        wire::SeqNum start;
        std::uint32_t segments = 0;  // inserted segments whose bytes it holds
        buf::SegmentChain data;

        wire::SeqNum end() const noexcept { return start + static_cast<std::uint32_t>(data.size()); }
    };
    // Orders by start, modulo 2^32: a strict weak order while held data spans < 2^31.
    struct StartLess {
        bool operator()(const Range& a, const Range& b) const noexcept { return a.start < b.start; }
        bool operator()(wire::SeqNum a, const Range& b) const noexcept { return a < b.start; }
        bool operator()(const Range& a, wire::SeqNum b) const noexcept { return a.start < b; }
    };
    using RangeSet = boost::intrusive::set<Range, boost::intrusive::compare<StartLess>,
                                           boost::intrusive::constant_time_size<true>>;
    using RangeList = boost::intrusive::list<Range, boost::intrusive::constant_time_size<false>>;

    // Whether held data would still span less than 2^31 bytes with [seq, seq + len).
    bool fits_span(wire::SeqNum seq, std::uint32_t len) const noexcept;
    // Takes a segment's kept bytes [keep_start, keep_end) as a range, merging with the
    // range ending at keep_start and the one starting at keep_end; `next` is the first
    // range starting at or after keep_end.
    Range& place(wire::SeqNum keep_start, buf::SegmentChain&& bytes, RangeSet::iterator next) noexcept;
    // Moves `r` to the front of the SACK order.
    void touch(Range& r) noexcept;
    // Unlinks `r`, frees its bytes, returns its node to the pool, updates the totals.
    void release(Range& r) noexcept;

    std::size_t max_bytes_;
    std::size_t max_segments_;
    std::unique_ptr<Range[]> nodes_;
    // Declared after nodes_: destroyed first (normal_link hooks: no unlinking on the way).
    RangeSet by_start_;
    RangeList by_recency_;  // most recently changed first
    RangeList free_;
    std::size_t bytes_ = 0;
    std::size_t segments_ = 0;
    std::size_t footprint_ = 0;
};

}  // namespace pollux::tcp
