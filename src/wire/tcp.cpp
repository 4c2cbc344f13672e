#include "wire/tcp.hpp"

#include <cassert>

#include "wire/byte_order.hpp"
#include "wire/checksum.hpp"

namespace pollux::wire {

WireError TcpView::check() const noexcept {
    if (b_.size() < tcp::min_header_len) return WireError::truncated;
    const std::size_t hl = header_len();
    if (hl < tcp::min_header_len) return WireError::malformed;  // data offset < 5
    if (hl > b_.size()) return WireError::truncated;            // data offset lies high
    return WireError::none;
}

Port TcpView::src_port() const noexcept { return Port(load_be16(&b_[tcp::src_port_offset])); }
Port TcpView::dst_port() const noexcept { return Port(load_be16(&b_[tcp::dst_port_offset])); }
SeqNum TcpView::seq() const noexcept { return SeqNum(load_be32(&b_[tcp::seq_offset])); }
SeqNum TcpView::ack() const noexcept { return SeqNum(load_be32(&b_[tcp::ack_offset])); }
std::uint16_t TcpView::window() const noexcept { return load_be16(&b_[tcp::window_offset]); }
std::uint16_t TcpView::checksum() const noexcept { return load_be16(&b_[tcp::checksum_offset]); }
std::uint16_t TcpView::urgent() const noexcept { return load_be16(&b_[tcp::urgent_offset]); }

std::span<const std::uint8_t> TcpView::options() const noexcept {
    return b_.subspan(tcp::min_header_len, header_len() - tcp::min_header_len);
}

Result<TcpRepr> TcpRepr::parse(std::span<const std::uint8_t> segment, Ipv4Address src, Ipv4Address dst,
                               ChecksumCheck checksum) noexcept {
    const TcpView v(segment);
    if (const auto e = v.check(); e != WireError::none) return e;
    if (segment.size() > ipv4::max_packet_len) return WireError::malformed;
    if (checksum == ChecksumCheck::verify) {
        const auto len = static_cast<std::uint16_t>(segment.size());
        if (!checksum_verifies(segment, pseudo_header_sum(src, dst, IpProtocol::tcp, len))) {
            return WireError::bad_checksum;
        }
    }
    const auto options = TcpOptions::parse(v.options());
    if (!options) return options.error();
    TcpRepr r;
    r.src_port = v.src_port();
    r.dst_port = v.dst_port();
    r.seq = v.seq();
    r.ack = v.ack();
    r.flags = v.flags();
    r.window = v.window();
    r.urgent = v.urgent();
    r.options = *options;
    r.payload_len = static_cast<std::uint16_t>(segment.size() - v.header_len());
    return r;
}

void TcpRepr::emit(std::span<std::uint8_t> segment, Ipv4Address src, Ipv4Address dst,
                   L4ChecksumFill fill) const noexcept {
    const std::size_t hl = header_len();
    const std::size_t len = buffer_len();
    assert(segment.size() >= len);
    store_be16(&segment[tcp::src_port_offset], src_port.value());
    store_be16(&segment[tcp::dst_port_offset], dst_port.value());
    store_be32(&segment[tcp::seq_offset], seq.raw());
    store_be32(&segment[tcp::ack_offset], ack.raw());
    segment[tcp::data_offset_offset] = static_cast<std::uint8_t>((hl / 4) << 4);
    segment[tcp::flags_offset] = flags;
    store_be16(&segment[tcp::window_offset], window);
    store_be16(&segment[tcp::checksum_offset], 0);
    store_be16(&segment[tcp::urgent_offset], urgent);
    options.emit(segment.subspan(tcp::min_header_len, hl - tcp::min_header_len));
    const std::uint32_t pseudo = pseudo_header_sum(src, dst, IpProtocol::tcp, static_cast<std::uint16_t>(len));
    const std::uint16_t sum = fill == L4ChecksumFill::offload ? fold(pseudo)
                                                              : internet_checksum(segment.first(len), pseudo);
    store_be16(&segment[tcp::checksum_offset], sum);
}

void TcpRepr::emit_header(std::span<std::uint8_t> header, Ipv4Address src, Ipv4Address dst) const noexcept {
    const std::size_t hl = header_len();
    assert(header.size() >= hl);
    store_be16(&header[tcp::src_port_offset], src_port.value());
    store_be16(&header[tcp::dst_port_offset], dst_port.value());
    store_be32(&header[tcp::seq_offset], seq.raw());
    store_be32(&header[tcp::ack_offset], ack.raw());
    header[tcp::data_offset_offset] = static_cast<std::uint8_t>((hl / 4) << 4);
    header[tcp::flags_offset] = flags;
    store_be16(&header[tcp::window_offset], window);
    store_be16(&header[tcp::urgent_offset], urgent);
    options.emit(header.subspan(tcp::min_header_len, hl - tcp::min_header_len));
    const auto len = static_cast<std::uint16_t>(buffer_len());
    store_be16(&header[tcp::checksum_offset], fold(pseudo_header_sum(src, dst, IpProtocol::tcp, len)));
}

void TcpRepr::finish_checksum(std::span<std::uint8_t> header, std::uint32_t sum) noexcept {
    assert(header.size() >= tcp::min_header_len);
    store_be16(&header[tcp::checksum_offset], static_cast<std::uint16_t>(~fold(sum)));
}

}  // namespace pollux::wire
