// UDP (RFC 768) over IPv4.
//
//   0        2        4        6        8
//   | src port | dst port | length | checksum | payload...
//
// The length field covers header and payload. A checksum of zero means "none" over IPv4;
// a computed checksum of zero is sent as 0xffff (RFC 768).
#pragma once

#include <cstdint>
#include <span>

#include "wire/address.hpp"
#include "wire/error.hpp"
#include "wire/ipv4.hpp"

namespace pollux::wire {

namespace udp {
inline constexpr std::size_t src_port_offset = 0;
inline constexpr std::size_t dst_port_offset = 2;
inline constexpr std::size_t length_offset = 4;
inline constexpr std::size_t checksum_offset = 6;
inline constexpr std::size_t header_len = 8;
// The largest payload one IPv4 datagram can carry: 65535 - 20 (IP) - 8 (UDP).
inline constexpr std::size_t max_payload_len = ipv4::max_packet_len - ipv4::min_header_len - header_len;
}  // namespace udp

class UdpView {
public:
    explicit UdpView(std::span<const std::uint8_t> datagram) noexcept : b_(datagram) {}
    // Header present, 8 <= length field <= buffer.
    WireError check() const noexcept;

    Port src_port() const noexcept;
    Port dst_port() const noexcept;
    std::uint16_t length() const noexcept;
    std::uint16_t checksum() const noexcept;
    // The payload as the length field bounds it; valid after check().
    std::span<const std::uint8_t> payload() const noexcept;

private:
    std::span<const std::uint8_t> b_;
};

// How an emitted transport checksum is filled in.
enum class L4ChecksumFill : std::uint8_t {
    compute,  // the full checksum over pseudo-header, header and payload
    offload,  // only the pseudo-header sum, which the port completes (DPDK's convention)
};

struct UdpRepr {
    Port src_port;
    Port dst_port;
    std::uint16_t payload_len = 0;

    // `datagram` is the IPv4 payload. Bytes past the length field are ignored (Linux
    // trims them too); a nonzero checksum is verified unless `checksum` says skip.
    static Result<UdpRepr> parse(std::span<const std::uint8_t> datagram, Ipv4Address src,
                                 Ipv4Address dst, ChecksumCheck checksum = ChecksumCheck::verify) noexcept;
    static constexpr std::size_t header_len() noexcept { return udp::header_len; }
    std::size_t buffer_len() const noexcept { return udp::header_len + payload_len; }

    // Writes the header into `datagram` (buffer_len() bytes, payload already at
    // datagram[8..]) and fills the checksum over all of it.
    void emit(std::span<std::uint8_t> datagram, Ipv4Address src, Ipv4Address dst,
              L4ChecksumFill fill = L4ChecksumFill::compute) const noexcept;

    // For payloads that are not one contiguous span (mbuf chains): writes only the 8-byte
    // header, with the pseudo-header sum in the checksum field (the offload convention).
    // A port offload completes it, or finish_checksum() does in software.
    void emit_header(std::span<std::uint8_t> header, Ipv4Address src, Ipv4Address dst) const noexcept;
    // Completes emit_header()'s checksum: `sum` is the partial sum of the whole datagram as
    // it stands (header with the pseudo-header sum in place, then the payload).
    static void finish_checksum(std::span<std::uint8_t> header, std::uint32_t sum) noexcept;

    bool operator==(const UdpRepr&) const noexcept = default;
};

}  // namespace pollux::wire
