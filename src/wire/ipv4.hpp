// IPv4 headers (RFC 791). Options are measured (IHL) and skipped, never interpreted:
// pollux neither honours source routes nor emits options.
//
//   0        1        2        3
//   |ver|ihl |  tos   |   total length  |
//   |  identification |flags| frag off  |
//   |  ttl   | proto  | header checksum |
//   |          source address           |
//   |        destination address        |
//   |   options (IHL*4 - 20 bytes)  ... |
#pragma once

#include <cstdint>
#include <span>

#include "wire/address.hpp"
#include "wire/error.hpp"

namespace pollux::wire {

namespace ipv4 {
inline constexpr std::size_t ver_ihl_offset = 0;
inline constexpr std::size_t tos_offset = 1;
inline constexpr std::size_t total_len_offset = 2;
inline constexpr std::size_t ident_offset = 4;
inline constexpr std::size_t flags_frag_offset = 6;
inline constexpr std::size_t ttl_offset = 8;
inline constexpr std::size_t protocol_offset = 9;
inline constexpr std::size_t checksum_offset = 10;
inline constexpr std::size_t src_offset = 12;
inline constexpr std::size_t dst_offset = 16;
inline constexpr std::size_t min_header_len = 20;
inline constexpr std::size_t max_header_len = 60;
inline constexpr std::size_t max_packet_len = 65535;
inline constexpr std::uint16_t flag_reserved = 0x8000;
inline constexpr std::uint16_t flag_dont_fragment = 0x4000;
inline constexpr std::uint16_t flag_more_fragments = 0x2000;
inline constexpr std::uint16_t frag_offset_mask = 0x1fff;  // in units of 8 bytes
inline constexpr std::uint8_t default_ttl = 64;            // Linux's net.ipv4.ip_default_ttl
}  // namespace ipv4

class Ipv4View {
public:
    explicit Ipv4View(std::span<const std::uint8_t> packet) noexcept : b_(packet) {}

    // Version 4, IHL >= 5, header and total length within the buffer, total length >= IHL,
    // and a fragment that would end past 65535 bytes (RFC 791 limit) is malformed. Does not
    // verify the checksum (see checksum_ok()).
    WireError check() const noexcept { return check_header(b_.size()); }
    // The same checks when the view holds only the header (the first segment of an mbuf
    // chain) and the whole datagram, link padding included, is `datagram_len` bytes.
    WireError check_header(std::size_t datagram_len) const noexcept;

    std::uint8_t version() const noexcept { return b_[ipv4::ver_ihl_offset] >> 4; }
    std::size_t header_len() const noexcept { return std::size_t{b_[ipv4::ver_ihl_offset] & 0x0fu} * 4; }
    std::uint8_t tos() const noexcept { return b_[ipv4::tos_offset]; }
    std::uint16_t total_len() const noexcept;
    std::uint16_t ident() const noexcept;
    bool dont_fragment() const noexcept;
    bool more_fragments() const noexcept;
    std::uint16_t frag_offset() const noexcept;  // in bytes
    std::uint8_t ttl() const noexcept { return b_[ipv4::ttl_offset]; }
    std::uint8_t protocol() const noexcept { return b_[ipv4::protocol_offset]; }
    std::uint16_t checksum() const noexcept;
    Ipv4Address src() const noexcept { return Ipv4Address::from_bytes(&b_[ipv4::src_offset]); }
    Ipv4Address dst() const noexcept { return Ipv4Address::from_bytes(&b_[ipv4::dst_offset]); }
    bool checksum_ok() const noexcept;
    // The options bytes (possibly empty); valid after check() or check_header().
    std::span<const std::uint8_t> options() const noexcept;
    // The payload, bounded by total length (link padding excluded); valid after check().
    std::span<const std::uint8_t> payload() const noexcept;

private:
    std::span<const std::uint8_t> b_;
};

enum class ChecksumCheck : std::uint8_t {
    verify,  // compute and compare
    skip,    // the port verified it (RTE_MBUF_F_RX_*_CKSUM_GOOD)
};

struct Ipv4Repr {
    Ipv4Address src;
    Ipv4Address dst;
    IpProtocol protocol = IpProtocol::tcp;  // any value 0-255 may be held
    std::uint16_t payload_len = 0;
    std::uint8_t ttl = ipv4::default_ttl;
    std::uint8_t tos = 0;  // DSCP and ECN
    std::uint16_t ident = 0;
    bool dont_fragment = false;
    bool more_fragments = false;
    std::uint16_t frag_offset = 0;  // in bytes, a multiple of 8
    // Parsed packets: IHL*4 as received (options skipped). Emitted packets: always 20.
    std::uint8_t header_len = ipv4::min_header_len;

    static Result<Ipv4Repr> parse(std::span<const std::uint8_t> packet,
                                  ChecksumCheck checksum = ChecksumCheck::verify) noexcept;
    // The fields of a view that passed check() or check_header(); no checks of its own.
    static Ipv4Repr from_view(const Ipv4View& v) noexcept;
    static constexpr std::size_t buffer_len() noexcept { return ipv4::min_header_len; }
    // Of the packet emit() writes (20-byte header); not of a parsed packet with options.
    std::size_t total_len() const noexcept { return ipv4::min_header_len + payload_len; }
    bool is_fragment() const noexcept { return more_fragments || frag_offset != 0; }

    enum class ChecksumFill : std::uint8_t {
        compute,  // write the header checksum
        offload,  // leave zero: the port computes it (RTE_MBUF_F_TX_IP_CKSUM)
    };
    // Writes a 20-byte header (no options) at the start of `out`.
    void emit(std::span<std::uint8_t> out, ChecksumFill fill = ChecksumFill::compute) const noexcept;

    bool operator==(const Ipv4Repr&) const noexcept = default;
};

// Rewrites, in place, the header of a first fragment (options and all) into the header of
// the reassembled datagram: total length `total_len`, MF and offset cleared (DF kept),
// checksum recomputed over the whole header (RFC 791 §3.2, reassembly).
void rewrite_reassembled_header(std::span<std::uint8_t> header, std::uint16_t total_len) noexcept;

// Completes, in place, a header that a raw socket's user wrote (IP_HDRINCL): writes the
// total length, identification and source given (the caller keeps the user's values where
// Linux's raw_send_hdrinc does) and recomputes the checksum over the whole header, options
// included. `header` is exactly the header: IHL*4 bytes, at least 20.
void fill_hdrincl_header(std::span<std::uint8_t> header, std::uint16_t total_len, std::uint16_t ident,
                         Ipv4Address src) noexcept;

}  // namespace pollux::wire
