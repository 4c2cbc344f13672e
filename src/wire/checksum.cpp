#include "wire/checksum.hpp"

#include "wire/byte_order.hpp"

namespace pollux::wire {

std::uint32_t partial_sum(std::span<const std::uint8_t> data, std::uint32_t initial) noexcept {
    // A 64-bit accumulator cannot overflow for any buffer we can hold, so carries are
    // folded once at the end (RFC 1071 §4.1 "deferred carries").
    std::uint64_t sum = initial;
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    while (n >= 8) {
        sum += load_be32(p);
        sum += load_be32(p + 4);
        p += 8;
        n -= 8;
    }
    while (n >= 2) {
        sum += load_be16(p);
        p += 2;
        n -= 2;
    }
    if (n == 1) sum += std::uint32_t{p[0]} << 8;
    // Fold to 32 bits keeping the value congruent modulo 0xffff.
    while (sum >> 32) sum = (sum & 0xffffffffu) + (sum >> 32);
    return static_cast<std::uint32_t>(sum);
}

std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial) noexcept {
    return static_cast<std::uint16_t>(~fold(partial_sum(data, initial)));
}

std::uint32_t pseudo_header_sum(Ipv4Address src, Ipv4Address dst, IpProtocol protocol,
                                std::uint16_t transport_len) noexcept {
    std::uint64_t sum = 0;
    sum += src.value() >> 16;
    sum += src.value() & 0xffff;
    sum += dst.value() >> 16;
    sum += dst.value() & 0xffff;
    sum += static_cast<std::uint8_t>(protocol);
    sum += transport_len;
    return static_cast<std::uint32_t>(sum);
}

bool checksum_verifies(std::span<const std::uint8_t> data, std::uint32_t initial) noexcept {
    return fold(partial_sum(data, initial)) == 0xffff;
}

}  // namespace pollux::wire
