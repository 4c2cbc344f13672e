// RetransmissionLog: the retransmissions of one SACK recovery, to notice when one of them
// is lost too. RFC 6675 never retransmits a byte twice in one recovery (HighRxt only
// grows), so a lost retransmission waits for the RTO — at 2 % loss, one recovery in fifty,
// each costing at least RTO.min and a collapse to one segment. Linux found the same
// (tcp_mark_lost_retrans(), since replaced by RACK, RFC 8985 §6.2's rule: a segment is
// lost when data sent sufficiently later was delivered). The rule here is that one: a
// retransmission is lost when more than (DupThresh - 1) * SMSS bytes of data first sent
// after it (above the SND.MAX it saw) have been SACKed while it still is not.
//
// Fixed capacity, no heap: when full, the oldest entry is forgotten (its loss, if any, is
// then the RTO's to find: the behaviour without this log).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tcp/sack_scoreboard.hpp"
#include "wire/seq_num.hpp"

namespace pollux::tcp {

class RetransmissionLog {
public:
    static constexpr std::size_t capacity = 16;

    struct Entry {
        wire::SeqNum start;
        wire::SeqNum end;        // exclusive
        wire::SeqNum snd_max;    // SND.MAX when it left: data above was sent after it
        bool lost = false;
    };

    void clear() noexcept { size_ = 0; }
    // A retransmission of [start, end) left while SND.MAX was `snd_max`.
    void record(wire::SeqNum start, wire::SeqNum end, wire::SeqNum snd_max) noexcept;
    // After an ACK: drops what is acknowledged or SACKed, marks what is lost. Returns the
    // number of entries newly marked lost.
    std::uint32_t update(const SackScoreboard& sacks, wire::SeqNum snd_una, wire::SeqNum snd_max,
                         std::uint32_t smss) noexcept;
    // The lowest entry marked lost, if any; resend() clears the mark with the new SND.MAX.
    std::optional<Entry> first_lost() const noexcept;
    void resent(wire::SeqNum start, wire::SeqNum snd_max) noexcept;
    // Un-SACKed bytes of [from, to) inside entries marked lost: not in the network.
    std::uint32_t lost_bytes(const SackScoreboard& sacks, wire::SeqNum from, wire::SeqNum to) const noexcept;
    std::size_t size() const noexcept { return size_; }

private:
    void erase(std::size_t k) noexcept;

    std::array<Entry, capacity> entries_{};  // in the order they were sent
    std::size_t size_ = 0;
};

}  // namespace pollux::tcp
