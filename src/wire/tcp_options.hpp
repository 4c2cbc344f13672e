// TCP options (RFC 9293 §3.2): MSS (RFC 9293 §3.7.1), window scale and timestamps
// (RFC 7323), SACK-permitted and SACK blocks (RFC 2018).
//
// Parsing follows RFC 9293 §3.1 and Linux: EOL ends the list, NOP is one byte, every other
// kind carries a length byte that counts kind and length. A length of 0 or 1, a kind byte
// with no length byte, or a length past the end of the header cannot be skipped safely and
// rejects the segment (`malformed`), so a parser can never loop on it. A known option with
// the wrong length is ignored, as Linux does; unknown options are skipped by length.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/error.hpp"
#include "wire/seq_num.hpp"

namespace pollux::wire {

enum class TcpOptionKind : std::uint8_t {
    end = 0,
    nop = 1,
    mss = 2,
    window_scale = 3,
    sack_permitted = 4,
    sack = 5,
    timestamps = 8,
};

namespace tcp_option {
inline constexpr std::size_t max_len = 40;  // data offset 15 words minus the fixed 20 bytes
inline constexpr std::uint8_t mss_len = 4;
inline constexpr std::uint8_t window_scale_len = 3;
inline constexpr std::uint8_t sack_permitted_len = 2;
inline constexpr std::uint8_t timestamps_len = 10;
inline constexpr std::uint8_t sack_block_len = 8;
inline constexpr std::size_t max_sack_blocks = 4;  // 2 + 4*8 = 34 <= 40
}  // namespace tcp_option

// One SACK block: the bytes [left, right) were received (RFC 2018 §3).
struct SackBlock {
    SeqNum left;
    SeqNum right;
    bool operator==(const SackBlock&) const noexcept = default;
};

struct TcpTimestamps {
    std::uint32_t value = 0;  // TSval
    std::uint32_t echo = 0;   // TSecr
    bool operator==(const TcpTimestamps&) const noexcept = default;
};

struct TcpOptions {
    std::optional<std::uint16_t> mss;
    // The shift count as received; RFC 7323 §2.3 says to use 14 for larger values, which
    // is the TCB's decision, not the parser's.
    std::optional<std::uint8_t> window_scale;
    bool sack_permitted = false;
    std::optional<TcpTimestamps> timestamps;
    std::array<SackBlock, tcp_option::max_sack_blocks> sack_blocks{};
    std::uint8_t sack_count = 0;

    static Result<TcpOptions> parse(std::span<const std::uint8_t> options) noexcept;

    std::span<const SackBlock> sacks() const noexcept { return {sack_blocks.data(), sack_count}; }
    // SACK blocks that fit beside the other options in 40 bytes; emit() sends the first ones.
    std::size_t sack_blocks_that_fit() const noexcept;
    // Bytes emit() writes: a multiple of 4, at most 40.
    std::size_t buffer_len() const noexcept;
    // Writes buffer_len() bytes in Linux's layout (MSS; SACK-permitted with timestamps, or
    // NOP-padded; NOP + window scale; NOP NOP + SACK blocks).
    void emit(std::span<std::uint8_t> out) const noexcept;

    bool operator==(const TcpOptions& o) const noexcept;
};

}  // namespace pollux::wire
