// The Internet checksum (RFC 1071) with the IPv4 pseudo-header used by UDP and TCP
// (RFC 768, RFC 9293 §3.1) and incremental update (RFC 1624).
//
// Sums are accumulated as 32-bit one's-complement partial sums in *network* order of the
// 16-bit words, then folded; the final value is the 16-bit checksum as a host-order
// number whose big-endian bytes go on the wire.
#pragma once

#include <cstdint>
#include <span>

#include "wire/address.hpp"

namespace pollux::wire {

// One's-complement sum of `data` as big-endian 16-bit words (an odd last byte is padded
// with zero, RFC 1071 §4.1) added to `initial`. Not folded, not complemented: partial sums
// of consecutive spans combine by passing one as the next's `initial`, as long as every
// span but the last has even length.
std::uint32_t partial_sum(std::span<const std::uint8_t> data, std::uint32_t initial = 0) noexcept;

// Folds carries into the low 16 bits.
constexpr std::uint16_t fold(std::uint64_t sum) noexcept {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

// The checksum field value for `data` (complement of the folded sum).
std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial = 0) noexcept;

// Partial sum of the IPv4 pseudo-header: source, destination, zero, protocol, and the
// transport length (header + payload).
std::uint32_t pseudo_header_sum(Ipv4Address src, Ipv4Address dst, IpProtocol protocol,
                                std::uint16_t transport_len) noexcept;

// True when `data` (with its checksum field in place) sums to 0xffff, i.e. verifies.
bool checksum_verifies(std::span<const std::uint8_t> data, std::uint32_t initial = 0) noexcept;

// RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changed
// from `old_word` to `new_word`: HC' = ~(~HC + ~m + m'). RFC 1624 §3 shows why this form,
// not RFC 1141's HC' = HC + m - m', matches a recomputation. One case differs: when every
// covered word is now zero, a recomputation gives 0xffff but this gives 0x0000, which does
// not verify. A protocol whose data can be all zeros (an ICMP echo) maps 0x0000 to 0xffff,
// which always verifies where 0x0000 does.
constexpr std::uint16_t checksum_update16(std::uint16_t checksum, std::uint16_t old_word,
                                          std::uint16_t new_word) noexcept {
    const std::uint32_t sum = std::uint32_t{static_cast<std::uint16_t>(~checksum)} +
                              std::uint32_t{static_cast<std::uint16_t>(~old_word)} + new_word;
    return static_cast<std::uint16_t>(~fold(sum));
}

// The same for a 32-bit field (an address, a sequence number): two 16-bit updates.
constexpr std::uint16_t checksum_update32(std::uint16_t checksum, std::uint32_t old_value,
                                          std::uint32_t new_value) noexcept {
    checksum = checksum_update16(checksum, static_cast<std::uint16_t>(old_value >> 16),
                                 static_cast<std::uint16_t>(new_value >> 16));
    return checksum_update16(checksum, static_cast<std::uint16_t>(old_value),
                             static_cast<std::uint16_t>(new_value));
}

}  // namespace pollux::wire
