// The TCP header (RFC 9293 §3.1).
//
//   0        2        4                 8                 12     13     14       16       18       20
//   | src port | dst port | sequence number | ack number | doff | flags | window | checksum | urgent | options...
//
// The parser checks syntax only (lengths, checksum, options); which flag combinations a
// state accepts is the TCB's business.
#pragma once

#include <cstdint>
#include <span>

#include "wire/address.hpp"
#include "wire/error.hpp"
#include "wire/ipv4.hpp"
#include "wire/seq_num.hpp"
#include "wire/tcp_options.hpp"
#include "wire/udp.hpp"

namespace pollux::wire {

namespace tcp {
inline constexpr std::size_t src_port_offset = 0;
inline constexpr std::size_t dst_port_offset = 2;
inline constexpr std::size_t seq_offset = 4;
inline constexpr std::size_t ack_offset = 8;
inline constexpr std::size_t data_offset_offset = 12;
inline constexpr std::size_t flags_offset = 13;
inline constexpr std::size_t window_offset = 14;
inline constexpr std::size_t checksum_offset = 16;
inline constexpr std::size_t urgent_offset = 18;
inline constexpr std::size_t min_header_len = 20;
inline constexpr std::size_t max_header_len = 60;
}  // namespace tcp

// The control bits of byte 13 (RFC 9293 §3.1; ECE and CWR from RFC 3168).
struct TcpFlags {
    static constexpr std::uint8_t fin = 0x01;
    static constexpr std::uint8_t syn = 0x02;
    static constexpr std::uint8_t rst = 0x04;
    static constexpr std::uint8_t psh = 0x08;
    static constexpr std::uint8_t ack = 0x10;
    static constexpr std::uint8_t urg = 0x20;
    static constexpr std::uint8_t ece = 0x40;
    static constexpr std::uint8_t cwr = 0x80;
};

class TcpView {
public:
    explicit TcpView(std::span<const std::uint8_t> segment) noexcept : b_(segment) {}
    // 20 bytes present, data offset >= 5 and within the segment.
    WireError check() const noexcept;

    Port src_port() const noexcept;
    Port dst_port() const noexcept;
    SeqNum seq() const noexcept;
    SeqNum ack() const noexcept;
    std::size_t header_len() const noexcept { return static_cast<std::size_t>(b_[tcp::data_offset_offset] >> 4) * 4; }
    std::uint8_t flags() const noexcept { return b_[tcp::flags_offset]; }
    std::uint16_t window() const noexcept;
    std::uint16_t checksum() const noexcept;
    std::uint16_t urgent() const noexcept;
    // Valid after check().
    std::span<const std::uint8_t> options() const noexcept;
    std::span<const std::uint8_t> payload() const noexcept { return b_.subspan(header_len()); }

private:
    std::span<const std::uint8_t> b_;
};

struct TcpRepr {
    Port src_port;
    Port dst_port;
    SeqNum seq;
    SeqNum ack;
    std::uint8_t flags = 0;   // TcpFlags bits
    std::uint16_t window = 0;  // as on the wire, unscaled
    std::uint16_t urgent = 0;
    TcpOptions options;
    std::uint16_t payload_len = 0;

    // `segment` is the IPv4 payload (header, options, data).
    static Result<TcpRepr> parse(std::span<const std::uint8_t> segment, Ipv4Address src, Ipv4Address dst,
                                 ChecksumCheck checksum = ChecksumCheck::verify) noexcept;

    bool has(std::uint8_t flag) const noexcept { return (flags & flag) != 0; }
    // Sequence space the segment occupies: data plus one each for SYN and FIN.
    std::uint32_t segment_len() const noexcept {
        return payload_len + (has(TcpFlags::syn) ? 1u : 0u) + (has(TcpFlags::fin) ? 1u : 0u);
    }
    std::size_t header_len() const noexcept { return tcp::min_header_len + options.buffer_len(); }
    std::size_t buffer_len() const noexcept { return header_len() + payload_len; }

    // Writes header and options into `segment` (buffer_len() bytes, the payload already at
    // segment[header_len()..]) and fills the checksum.
    void emit(std::span<std::uint8_t> segment, Ipv4Address src, Ipv4Address dst,
              L4ChecksumFill fill = L4ChecksumFill::compute) const noexcept;

    // For a payload in other buffers (an mbuf chain): writes only the header (header_len()
    // bytes) with the pseudo-header sum in the checksum field, as a port offload wants it;
    // finish_checksum() completes it in software from the partial sum of the whole segment.
    void emit_header(std::span<std::uint8_t> header, Ipv4Address src, Ipv4Address dst) const noexcept;
    static void finish_checksum(std::span<std::uint8_t> header, std::uint32_t sum) noexcept;

    bool operator==(const TcpRepr&) const noexcept = default;
};

}  // namespace pollux::wire
