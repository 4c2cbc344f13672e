// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 §3.4). a < b means
// "a comes before b", which holds while the two are less than 2^31 apart; windows are
// far smaller than that, so every comparison the TCB makes is well defined.
#pragma once

#include <cstdint>

namespace pollux::wire {

class SeqNum {
public:
    constexpr SeqNum() noexcept = default;
    constexpr explicit SeqNum(std::uint32_t raw) noexcept : raw_(raw) {}

    constexpr std::uint32_t raw() const noexcept { return raw_; }

    // Distance from `other` to this, as a signed number: positive when this is after other.
    constexpr std::int32_t operator-(SeqNum other) const noexcept {
        return static_cast<std::int32_t>(raw_ - other.raw_);
    }
    constexpr SeqNum operator+(std::uint32_t n) const noexcept { return SeqNum(raw_ + n); }
    constexpr SeqNum operator-(std::uint32_t n) const noexcept { return SeqNum(raw_ - n); }
    constexpr SeqNum& operator+=(std::uint32_t n) noexcept { raw_ += n; return *this; }
    constexpr SeqNum& operator-=(std::uint32_t n) noexcept { raw_ -= n; return *this; }

    constexpr bool operator==(const SeqNum&) const noexcept = default;
    constexpr bool operator<(SeqNum o) const noexcept { return (*this - o) < 0; }
    constexpr bool operator>(SeqNum o) const noexcept { return (*this - o) > 0; }
    constexpr bool operator<=(SeqNum o) const noexcept { return (*this - o) <= 0; }
    constexpr bool operator>=(SeqNum o) const noexcept { return (*this - o) >= 0; }

    // lo <= this < hi, modulo 2^32: the RFC 9293 acceptability tests are written this way.
    constexpr bool in_window(SeqNum lo, SeqNum hi) const noexcept {
        return raw_ - lo.raw_ < hi.raw_ - lo.raw_;
    }

    static constexpr SeqNum max(SeqNum a, SeqNum b) noexcept { return a < b ? b : a; }
    static constexpr SeqNum min(SeqNum a, SeqNum b) noexcept { return a < b ? a : b; }

private:
    std::uint32_t raw_ = 0;
};

}  // namespace pollux::wire
