// SackScoreboard: which bytes of [SND.UNA, SND.MAX) the peer has SACKed (RFC 2018, the
// "scoreboard" of RFC 6675 §3), for the sender's SACK-based loss recovery.
//
// Representation: a sorted array of disjoint, non-adjacent ranges [start, end), held
// inline (no heap, a fixed capacity). Every operation walks it once: O(capacity) per ACK,
// and capacity is small. The TCB validates blocks before they come here (tcb_input.cpp:
// D-SACK and blocks outside the window are refused there); the scoreboard itself only
// relies on start < end.
//
// Capacity overflow: more disjoint ranges than fit means more holes than the capacity in
// one window. The scoreboard then forgets the highest range (the new one if it would be
// the highest). Forgetting is always safe: data believed un-SACKed is at worst
// retransmitted needlessly and counted in `pipe`, which only makes the sender more
// conservative. Merging two ranges across a hole would be unsafe (the hole would never be
// retransmitted before an RTO), so it is never done. overflows() counts the forgotten ranges.
//
// RFC 6675's IsLost(seq) is monotone in seq (fewer SACKed bytes lie above a higher
// seq), so the scoreboard answers it as one boundary: every un-SACKed byte below
// lost_boundary() is lost, none at or above it is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/seq_num.hpp"

namespace pollux::tcp {

class SackScoreboard {
public:
    // Up to this many disjoint SACKed ranges (holes + 1) are remembered.
    static constexpr std::size_t capacity = 32;
    // RFC 6675 §2 DupThresh.
    static constexpr std::uint32_t dup_thresh = 3;

    struct Range {
        wire::SeqNum start;
        wire::SeqNum end;  // exclusive
        std::uint32_t length() const noexcept { return static_cast<std::uint32_t>(end - start); }
        bool operator==(const Range&) const noexcept = default;
    };
    // An un-SACKed stretch of sequence space.
    struct Hole {
        wire::SeqNum start;
        wire::SeqNum end;  // exclusive
    };

    // Records that [start, end) was SACKed (start < end); merges with what touches it.
    // Returns the number of bytes that were not SACKed before.
    std::uint32_t add(wire::SeqNum start, wire::SeqNum end) noexcept;
    // The cumulative ACK reached `una`: everything below it is forgotten.
    void advance(wire::SeqNum una) noexcept;
    void clear() noexcept { size_ = 0; }

    bool empty() const noexcept { return size_ == 0; }
    std::span<const Range> ranges() const noexcept { return {ranges_.data(), size_}; }
    bool is_sacked(wire::SeqNum seq) const noexcept;
    // SACKed bytes in [from, to).
    std::uint32_t sacked_between(wire::SeqNum from, wire::SeqNum to) const noexcept;
    // The end of the highest SACKed range (RFC 6675 "the highest octet covered by any
    // received SACK", plus one); nullopt when nothing is SACKed.
    std::optional<wire::SeqNum> highest_sacked_end() const noexcept;
    // RFC 6675 §4 IsLost(): un-SACKed bytes below the returned sequence number are lost
    // (DupThresh discontiguous SACKed ranges, or more than (DupThresh - 1) * SMSS SACKed
    // bytes, lie above them). Returns `una` when nothing is lost.
    wire::SeqNum lost_boundary(wire::SeqNum una, std::uint32_t smss) const noexcept;
    bool is_lost(wire::SeqNum seq, wire::SeqNum una, std::uint32_t smss) const noexcept {
        return !is_sacked(seq) && seq < lost_boundary(una, smss);
    }
    // The first un-SACKed stretch of [from, to), if any.
    std::optional<Hole> first_hole(wire::SeqNum from, wire::SeqNum to) const noexcept;
    // The highest un-SACKed byte below `to` and at or above `from`, if any.
    std::optional<wire::SeqNum> highest_unsacked(wire::SeqNum from, wire::SeqNum to) const noexcept;

    std::uint64_t overflows() const noexcept { return overflows_; }

private:
    std::array<Range, capacity> ranges_{};
    std::size_t size_ = 0;
    std::uint64_t overflows_ = 0;
};

}  // namespace pollux::tcp
