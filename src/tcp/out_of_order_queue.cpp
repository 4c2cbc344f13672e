#include "tcp/out_of_order_queue.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <utility>

namespace pollux::tcp {

using wire::SackBlock;
using wire::SeqNum;
using Outcome = OutOfOrderQueue::Insert::Outcome;

namespace {
constexpr std::int64_t max_span = std::int64_t{1} << 31;
}  // namespace

OutOfOrderQueue::OutOfOrderQueue(std::size_t max_bytes, std::size_t max_segments)
    : max_bytes_(max_bytes), max_segments_(max_segments), nodes_(std::make_unique<Range[]>(max_segments)) {
    for (std::size_t i = 0; i < max_segments; ++i) free_.push_back(nodes_[i]);
}

OutOfOrderQueue::OutOfOrderQueue(OutOfOrderQueue&& o) noexcept
    : max_bytes_(o.max_bytes_),
      max_segments_(std::exchange(o.max_segments_, 0)),
      nodes_(std::move(o.nodes_)),
      by_start_(std::move(o.by_start_)),
      by_recency_(std::move(o.by_recency_)),
      free_(std::move(o.free_)),
      bytes_(std::exchange(o.bytes_, 0)),
      segments_(std::exchange(o.segments_, 0)),
      footprint_(std::exchange(o.footprint_, 0)) {}

OutOfOrderQueue& OutOfOrderQueue::operator=(OutOfOrderQueue&& o) noexcept {
    if (this != &o) {
        clear();
        // The containers first: they must stop referring to our nodes before those go.
        by_start_ = std::move(o.by_start_);
        by_recency_ = std::move(o.by_recency_);
        free_ = std::move(o.free_);
        nodes_ = std::move(o.nodes_);
        max_bytes_ = o.max_bytes_;
        max_segments_ = std::exchange(o.max_segments_, 0);
        bytes_ = std::exchange(o.bytes_, 0);
        segments_ = std::exchange(o.segments_, 0);
        footprint_ = std::exchange(o.footprint_, 0);
    }
    return *this;
}

bool OutOfOrderQueue::fits_span(SeqNum seq, std::uint32_t len) const noexcept {
    if (by_start_.empty()) return len < max_span;
    // Unwrapped coordinates with the first held byte at 0: the held data is
    // [0, held_end) and the segment [at, at + len), `at` read as the nearest distance.
    const SeqNum first = by_start_.begin()->start;
    const std::int64_t held_end = by_start_.rbegin()->end() - first;
    const std::int64_t at = seq - first;
    const std::int64_t lo = std::min<std::int64_t>(at, 0);
    const std::int64_t hi = std::max<std::int64_t>(at + len, held_end);
    return hi - lo < max_span;
}

OutOfOrderQueue::Insert OutOfOrderQueue::insert(SeqNum seq, buf::PacketBuf&& data) noexcept {
    buf::PacketBuf packet = std::move(data);  // freed on every path that does not keep it
    if (!packet || packet.length() == 0) return {};
    const std::uint32_t len = packet.length();
    const SeqNum end = seq + len;
    if (!fits_span(seq, len)) return {Outcome::out_of_range, 0, std::nullopt};

    Insert result{Outcome::queued, 0, std::nullopt};
    // The range starting last before seq: it keeps any bytes it shares with the segment.
    const auto first_after = by_start_.lower_bound(seq, StartLess{});
    SeqNum keep_start = seq;
    if (first_after != by_start_.begin()) {
        Range& prev = *std::prev(first_after);
        if (prev.end() >= end) {
            touch(prev);  // holds all of it: the block the ACK reports first
            return {Outcome::duplicate, 0, SackBlock{seq, end}};
        }
        if (prev.end() > seq) {
            keep_start = prev.end();
            result.duplicate = SackBlock{seq, keep_start};
        }
    }
    // The ranges starting inside the segment: replaced when they end inside it too; the
    // one that reaches past its end keeps the bytes they share.
    SeqNum keep_end = end;
    std::size_t replaced_bytes = 0;
    std::size_t replaced_footprint = 0;
    std::size_t replaced_segments = 0;
    auto next = first_after;
    for (; next != by_start_.end() && next->start < end; ++next) {
        if (next->end() > end) {
            keep_end = next->start;
            if (keep_end == keep_start) {  // starts at seq and holds all of it
                touch(*next);
                return {Outcome::duplicate, 0, SackBlock{seq, end}};
            }
            if (!result.duplicate) result.duplicate = SackBlock{keep_end, end};
            break;
        }
        replaced_bytes += next->data.size();
        replaced_footprint += next->data.footprint();
        replaced_segments += next->segments;
        if (!result.duplicate) result.duplicate = SackBlock{next->start, next->end()};
    }

    const auto keep_len = static_cast<std::uint32_t>(keep_end - keep_start);
    if (replaced_bytes == keep_len) {
        // One range is exactly the bytes left to keep (ranges are never adjacent, so
        // several would leave holes): nothing is new; keep the old bytes.
        touch(*first_after);
        return {Outcome::duplicate, 0, SackBlock{seq, end}};
    }

    // Cut the packet to [keep_start, keep_end): the tail first (PacketBuf::truncate frees
    // the segments past it), then the head as a chain (consume frees across segments).
    packet.truncate(static_cast<std::uint32_t>(keep_end - seq));
    buf::SegmentChain kept;
    kept.append(std::move(packet));
    kept.consume(static_cast<std::uint32_t>(keep_start - seq));

    if (footprint_ - replaced_footprint + kept.footprint() > max_bytes_ ||
        segments_ - replaced_segments + 1 > max_segments_) {
        return {Outcome::over_limit, 0, std::nullopt};  // `kept` frees the bytes
    }
    for (auto it = first_after; it != next;) release(*it++);

    bytes_ += keep_len;
    footprint_ += kept.footprint();
    segments_ += 1;
    touch(place(keep_start, std::move(kept), next));
    result.bytes_added = static_cast<std::uint32_t>(keep_len - replaced_bytes);
    return result;
}

OutOfOrderQueue::Range& OutOfOrderQueue::place(SeqNum keep_start, buf::SegmentChain&& bytes,
                                               RangeSet::iterator next) noexcept {
    const SeqNum keep_end = keep_start + static_cast<std::uint32_t>(bytes.size());
    const bool joins_next = next != by_start_.end() && next->start == keep_end;
    if (next != by_start_.begin()) {
        Range& prev = *std::prev(next);
        if (prev.end() == keep_start) {
            prev.data.append(std::move(bytes));
            prev.segments += 1;
            if (joins_next) {
                // The segment filled the hole between two ranges: they become one.
                Range& after = *next;
                prev.data.append(std::move(after.data));
                prev.segments += std::exchange(after.segments, 0);
                by_start_.erase(by_start_.iterator_to(after));
                by_recency_.erase(by_recency_.iterator_to(after));
                free_.push_front(after);
            }
            return prev;
        }
    }
    if (joins_next) {
        // Its start moves back to keep_start: still after every range before it (the
        // ones the segment covered are gone), so the tree's order holds.
        Range& after = *next;
        bytes.append(std::move(after.data));
        after.data = std::move(bytes);
        after.start = keep_start;
        after.segments += 1;
        return after;
    }
    assert(!free_.empty());  // ranges <= segments <= max_segments = nodes
    Range& r = free_.front();
    free_.pop_front();
    r.start = keep_start;
    r.segments = 1;
    r.data = std::move(bytes);
    by_start_.insert_before(next, r);
    by_recency_.push_front(r);
    return r;
}

void OutOfOrderQueue::touch(Range& r) noexcept {
    by_recency_.erase(by_recency_.iterator_to(r));
    by_recency_.push_front(r);
}

void OutOfOrderQueue::release(Range& r) noexcept {
    bytes_ -= r.data.size();
    footprint_ -= r.data.footprint();
    segments_ -= r.segments;
    r.segments = 0;
    r.data.clear();
    by_start_.erase(by_start_.iterator_to(r));
    by_recency_.erase(by_recency_.iterator_to(r));
    free_.push_front(r);
}

buf::PacketBuf OutOfOrderQueue::pop_in_order(SeqNum rcv_nxt) noexcept {
    while (!by_start_.empty()) {
        Range& r = *by_start_.begin();
        if (r.start > rcv_nxt) return {};  // a hole before it
        if (r.end() <= rcv_nxt) {          // all of it arrived in order meanwhile
            release(r);
            continue;
        }
        const std::size_t footprint_before = r.data.footprint();
        const auto skip = static_cast<std::uint32_t>(rcv_nxt - r.start);
        r.data.consume(skip);
        buf::PacketBuf out = r.data.take_front();
        bytes_ -= skip + out.length();
        footprint_ -= footprint_before - r.data.footprint();
        r.start = rcv_nxt + out.length();
        if (r.data.empty()) release(r);
        return out;
    }
    return {};
}

std::size_t OutOfOrderQueue::sack_blocks(std::span<SackBlock> out) const noexcept {
    std::size_t n = 0;
    for (auto it = by_recency_.begin(); it != by_recency_.end() && n < out.size(); ++it) {
        out[n++] = SackBlock{it->start, it->end()};
    }
    return n;
}

void OutOfOrderQueue::clear() noexcept {
    while (!by_start_.empty()) release(*by_start_.begin());
}

}  // namespace pollux::tcp
