#include "tcp/retransmission_log.hpp"

#include <algorithm>

namespace pollux::tcp {

using wire::SeqNum;

void RetransmissionLog::erase(std::size_t k) noexcept {
    std::copy(entries_.begin() + static_cast<std::ptrdiff_t>(k + 1), entries_.begin() + static_cast<std::ptrdiff_t>(size_),
              entries_.begin() + static_cast<std::ptrdiff_t>(k));
    --size_;
}

void RetransmissionLog::record(SeqNum start, SeqNum end, SeqNum snd_max) noexcept {
    if (!(start < end)) return;
    if (size_ == capacity) erase(0);
    entries_[size_++] = Entry{start, end, snd_max, false};
}

std::uint32_t RetransmissionLog::update(const SackScoreboard& sacks, SeqNum snd_una, SeqNum snd_max,
                                        std::uint32_t smss) noexcept {
    std::uint32_t marked = 0;
    const std::uint64_t threshold = std::uint64_t{SackScoreboard::dup_thresh - 1} * smss;
    for (std::size_t k = 0; k < size_;) {
        Entry& e = entries_[k];
        const SeqNum from = SeqNum::max(e.start, snd_una);
        const bool delivered = !(from < e.end) || sacks.sacked_between(from, e.end) == static_cast<std::uint32_t>(e.end - from);
        if (delivered) {
            erase(k);
            continue;
        }
        if (!e.lost && e.snd_max < snd_max && sacks.sacked_between(e.snd_max, snd_max) > threshold) {
            e.lost = true;
            ++marked;
        }
        ++k;
    }
    return marked;
}

std::optional<RetransmissionLog::Entry> RetransmissionLog::first_lost() const noexcept {
    std::optional<Entry> best;
    for (std::size_t k = 0; k < size_; ++k) {
        if (entries_[k].lost && (!best || entries_[k].start < best->start)) best = entries_[k];
    }
    return best;
}

void RetransmissionLog::resent(SeqNum start, SeqNum snd_max) noexcept {
    for (std::size_t k = 0; k < size_; ++k) {
        if (entries_[k].lost && entries_[k].start == start) {
            entries_[k].lost = false;
            entries_[k].snd_max = snd_max;
            return;
        }
    }
}

std::uint32_t RetransmissionLog::lost_bytes(const SackScoreboard& sacks, SeqNum from, SeqNum to) const noexcept {
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < size_; ++k) {
        if (!entries_[k].lost) continue;
        const SeqNum s = SeqNum::max(entries_[k].start, from);
        const SeqNum e = SeqNum::min(entries_[k].end, to);
        if (s < e) n += static_cast<std::uint32_t>(e - s) - sacks.sacked_between(s, e);
    }
    return n;
}

}  // namespace pollux::tcp
