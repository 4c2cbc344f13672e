#include "wire/ipv4.hpp"

#include <cassert>

#include "wire/byte_order.hpp"
#include "wire/checksum.hpp"

namespace pollux::wire {

WireError Ipv4View::check_header(std::size_t datagram_len) const noexcept {
    if (b_.size() < ipv4::min_header_len) return WireError::truncated;
    if (version() != 4) return WireError::malformed;
    const std::size_t hl = header_len();
    if (hl < ipv4::min_header_len) return WireError::malformed;  // IHL < 5
    if (b_.size() < hl) return WireError::truncated;
    const std::size_t total = total_len();
    if (total < hl) return WireError::malformed;                // length lies low
    if (datagram_len < total) return WireError::truncated;      // length lies high
    // RFC 791: a datagram is at most 65535 bytes, so no fragment may end past that
    // ("ping of death"). total - hl is the fragment's payload.
    if (std::size_t{frag_offset()} + (total - hl) + ipv4::min_header_len > ipv4::max_packet_len) {
        return WireError::malformed;
    }
    return WireError::none;
}

std::uint16_t Ipv4View::total_len() const noexcept { return load_be16(&b_[ipv4::total_len_offset]); }
std::uint16_t Ipv4View::ident() const noexcept { return load_be16(&b_[ipv4::ident_offset]); }
bool Ipv4View::dont_fragment() const noexcept {
    return (load_be16(&b_[ipv4::flags_frag_offset]) & ipv4::flag_dont_fragment) != 0;
}
bool Ipv4View::more_fragments() const noexcept {
    return (load_be16(&b_[ipv4::flags_frag_offset]) & ipv4::flag_more_fragments) != 0;
}
std::uint16_t Ipv4View::frag_offset() const noexcept {
    return static_cast<std::uint16_t>((load_be16(&b_[ipv4::flags_frag_offset]) & ipv4::frag_offset_mask) * 8);
}
std::uint16_t Ipv4View::checksum() const noexcept { return load_be16(&b_[ipv4::checksum_offset]); }

bool Ipv4View::checksum_ok() const noexcept { return checksum_verifies(b_.first(header_len())); }

std::span<const std::uint8_t> Ipv4View::options() const noexcept {
    return b_.subspan(ipv4::min_header_len, header_len() - ipv4::min_header_len);
}

std::span<const std::uint8_t> Ipv4View::payload() const noexcept {
    return b_.subspan(header_len(), total_len() - header_len());
}

Result<Ipv4Repr> Ipv4Repr::parse(std::span<const std::uint8_t> packet, ChecksumCheck checksum) noexcept {
    const Ipv4View v(packet);
    if (const auto e = v.check(); e != WireError::none) return e;
    if (checksum == ChecksumCheck::verify && !v.checksum_ok()) return WireError::bad_checksum;
    return from_view(v);
}

Ipv4Repr Ipv4Repr::from_view(const Ipv4View& v) noexcept {
    Ipv4Repr r;
    r.src = v.src();
    r.dst = v.dst();
    r.protocol = static_cast<IpProtocol>(v.protocol());
    r.payload_len = static_cast<std::uint16_t>(v.total_len() - v.header_len());
    r.ttl = v.ttl();
    r.tos = v.tos();
    r.ident = v.ident();
    r.dont_fragment = v.dont_fragment();
    r.more_fragments = v.more_fragments();
    r.frag_offset = v.frag_offset();
    r.header_len = static_cast<std::uint8_t>(v.header_len());
    return r;
}

void Ipv4Repr::emit(std::span<std::uint8_t> out, ChecksumFill fill) const noexcept {
    assert(out.size() >= buffer_len());
    assert(frag_offset % 8 == 0);
    assert(total_len() <= ipv4::max_packet_len);
    out[ipv4::ver_ihl_offset] = 0x45;  // version 4, IHL 5
    out[ipv4::tos_offset] = tos;
    store_be16(&out[ipv4::total_len_offset], static_cast<std::uint16_t>(total_len()));
    store_be16(&out[ipv4::ident_offset], ident);
    std::uint16_t flags_frag = static_cast<std::uint16_t>((frag_offset / 8) & ipv4::frag_offset_mask);
    if (dont_fragment) flags_frag |= ipv4::flag_dont_fragment;
    if (more_fragments) flags_frag |= ipv4::flag_more_fragments;
    store_be16(&out[ipv4::flags_frag_offset], flags_frag);
    out[ipv4::ttl_offset] = ttl;
    out[ipv4::protocol_offset] = static_cast<std::uint8_t>(protocol);
    store_be16(&out[ipv4::checksum_offset], 0);
    src.to_bytes(&out[ipv4::src_offset]);
    dst.to_bytes(&out[ipv4::dst_offset]);
    if (fill == ChecksumFill::compute) {
        store_be16(&out[ipv4::checksum_offset], internet_checksum(out.first(ipv4::min_header_len)));
    }
}

void rewrite_reassembled_header(std::span<std::uint8_t> header, std::uint16_t total_len) noexcept {
    assert(header.size() >= ipv4::min_header_len);
    store_be16(&header[ipv4::total_len_offset], total_len);
    const std::uint16_t flags = load_be16(&header[ipv4::flags_frag_offset]);
    store_be16(&header[ipv4::flags_frag_offset], static_cast<std::uint16_t>(flags & ipv4::flag_dont_fragment));
    store_be16(&header[ipv4::checksum_offset], 0);
    store_be16(&header[ipv4::checksum_offset], internet_checksum(header));
}

void fill_hdrincl_header(std::span<std::uint8_t> header, std::uint16_t total_len, std::uint16_t ident,
                         Ipv4Address src) noexcept {
    assert(header.size() >= ipv4::min_header_len);
    store_be16(&header[ipv4::total_len_offset], total_len);
    store_be16(&header[ipv4::ident_offset], ident);
    src.to_bytes(&header[ipv4::src_offset]);
    store_be16(&header[ipv4::checksum_offset], 0);
    store_be16(&header[ipv4::checksum_offset], internet_checksum(header));
}

}  // namespace pollux::wire
