#include "tcp/sack_scoreboard.hpp"

#include <algorithm>

namespace pollux::tcp {

using wire::SeqNum;

std::uint32_t SackScoreboard::add(SeqNum start, SeqNum end) noexcept {
    if (!(start < end)) return 0;
    // The first range that ends at or after `start`: it touches the new one or lies above.
    std::size_t i = 0;
    while (i < size_ && ranges_[i].end < start) ++i;
    // Every range from i that starts at or before `end` merges with it (adjacent included).
    std::size_t j = i;
    SeqNum lo = start;
    SeqNum hi = end;
    std::uint32_t covered = 0;
    while (j < size_ && ranges_[j].start <= end) {
        const SeqNum os = SeqNum::max(ranges_[j].start, start);
        const SeqNum oe = SeqNum::min(ranges_[j].end, end);
        if (os < oe) covered += static_cast<std::uint32_t>(oe - os);
        lo = SeqNum::min(lo, ranges_[j].start);
        hi = SeqNum::max(hi, ranges_[j].end);
        ++j;
    }
    const std::uint32_t fresh = static_cast<std::uint32_t>(end - start) - covered;
    if (j > i) {
        ranges_[i] = {lo, hi};
        std::copy(ranges_.begin() + static_cast<std::ptrdiff_t>(j), ranges_.begin() + static_cast<std::ptrdiff_t>(size_),
                  ranges_.begin() + static_cast<std::ptrdiff_t>(i + 1));
        size_ -= j - i - 1;
        return fresh;
    }
    // A new disjoint range at position i.
    if (size_ == capacity) {
        ++overflows_;
        if (i == size_) return 0;  // it would be the highest: it is the one forgotten
        --size_;                   // else the highest range makes room
    }
    std::copy_backward(ranges_.begin() + static_cast<std::ptrdiff_t>(i), ranges_.begin() + static_cast<std::ptrdiff_t>(size_),
                       ranges_.begin() + static_cast<std::ptrdiff_t>(size_ + 1));
    ranges_[i] = {lo, hi};
    ++size_;
    return fresh;
}

void SackScoreboard::advance(SeqNum una) noexcept {
    std::size_t gone = 0;
    while (gone < size_ && ranges_[gone].end <= una) ++gone;
    if (gone > 0) {
        std::copy(ranges_.begin() + static_cast<std::ptrdiff_t>(gone), ranges_.begin() + static_cast<std::ptrdiff_t>(size_),
                  ranges_.begin());
        size_ -= gone;
    }
    if (size_ > 0 && ranges_[0].start < una) ranges_[0].start = una;
}

bool SackScoreboard::is_sacked(SeqNum seq) const noexcept {
    for (std::size_t k = 0; k < size_; ++k) {
        if (seq < ranges_[k].start) return false;
        if (seq < ranges_[k].end) return true;
    }
    return false;
}

std::uint32_t SackScoreboard::sacked_between(SeqNum from, SeqNum to) const noexcept {
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < size_; ++k) {
        const SeqNum os = SeqNum::max(ranges_[k].start, from);
        const SeqNum oe = SeqNum::min(ranges_[k].end, to);
        if (os < oe) n += static_cast<std::uint32_t>(oe - os);
    }
    return n;
}

std::optional<SeqNum> SackScoreboard::highest_sacked_end() const noexcept {
    if (size_ == 0) return std::nullopt;
    return ranges_[size_ - 1].end;
}

SeqNum SackScoreboard::lost_boundary(SeqNum una, std::uint32_t smss) const noexcept {
    // Walk down from the highest range, counting what lies above each candidate hole.
    std::uint64_t bytes = 0;
    std::uint32_t count = 0;
    const std::uint64_t byte_threshold = std::uint64_t{dup_thresh - 1} * smss;
    for (std::size_t k = size_; k-- > 0;) {
        bytes += ranges_[k].length();
        ++count;
        if (count >= dup_thresh || bytes > byte_threshold) return SeqNum::max(ranges_[k].start, una);
    }
    return una;
}

std::optional<SackScoreboard::Hole> SackScoreboard::first_hole(SeqNum from, SeqNum to) const noexcept {
    SeqNum pos = from;
    for (std::size_t k = 0; k < size_ && pos < to; ++k) {
        if (ranges_[k].end <= pos) continue;
        if (pos < ranges_[k].start) return Hole{pos, SeqNum::min(ranges_[k].start, to)};
        pos = ranges_[k].end;
    }
    if (pos < to) return Hole{pos, to};
    return std::nullopt;
}

std::optional<SeqNum> SackScoreboard::highest_unsacked(SeqNum from, SeqNum to) const noexcept {
    SeqNum pos = to;  // everything at or above pos is SACKed or out of range
    for (std::size_t k = size_; k-- > 0 && from < pos;) {
        if (pos <= ranges_[k].start) continue;
        if (ranges_[k].end < pos) return pos - 1;
        pos = ranges_[k].start;
    }
    if (from < pos) return pos - 1;
    return std::nullopt;
}

}  // namespace pollux::tcp
