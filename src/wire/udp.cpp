#include "wire/udp.hpp"

#include <cassert>

#include "wire/byte_order.hpp"
#include "wire/checksum.hpp"

namespace pollux::wire {

WireError UdpView::check() const noexcept {
    if (b_.size() < udp::header_len) return WireError::truncated;
    if (length() < udp::header_len) return WireError::malformed;
    if (length() > b_.size()) return WireError::truncated;  // length lies high
    return WireError::none;
}

Port UdpView::src_port() const noexcept { return Port(load_be16(&b_[udp::src_port_offset])); }
Port UdpView::dst_port() const noexcept { return Port(load_be16(&b_[udp::dst_port_offset])); }
std::uint16_t UdpView::length() const noexcept { return load_be16(&b_[udp::length_offset]); }
std::uint16_t UdpView::checksum() const noexcept { return load_be16(&b_[udp::checksum_offset]); }

std::span<const std::uint8_t> UdpView::payload() const noexcept {
    return b_.subspan(udp::header_len, length() - udp::header_len);
}

Result<UdpRepr> UdpRepr::parse(std::span<const std::uint8_t> datagram, Ipv4Address src, Ipv4Address dst,
                               ChecksumCheck checksum) noexcept {
    const UdpView v(datagram);
    if (const auto e = v.check(); e != WireError::none) return e;
    // RFC 768: an all-zero checksum means the sender computed none.
    if (checksum == ChecksumCheck::verify && v.checksum() != 0) {
        const auto covered = datagram.first(v.length());
        if (!checksum_verifies(covered, pseudo_header_sum(src, dst, IpProtocol::udp, v.length()))) {
            return WireError::bad_checksum;
        }
    }
    UdpRepr r;
    r.src_port = v.src_port();
    r.dst_port = v.dst_port();
    r.payload_len = static_cast<std::uint16_t>(v.length() - udp::header_len);
    return r;
}

void UdpRepr::emit(std::span<std::uint8_t> datagram, Ipv4Address src, Ipv4Address dst,
                   L4ChecksumFill fill) const noexcept {
    assert(datagram.size() >= buffer_len());
    const auto len = static_cast<std::uint16_t>(buffer_len());
    store_be16(&datagram[udp::src_port_offset], src_port.value());
    store_be16(&datagram[udp::dst_port_offset], dst_port.value());
    store_be16(&datagram[udp::length_offset], len);
    const std::uint32_t pseudo = pseudo_header_sum(src, dst, IpProtocol::udp, len);
    if (fill == L4ChecksumFill::offload) {
        store_be16(&datagram[udp::checksum_offset], fold(pseudo));
        return;
    }
    store_be16(&datagram[udp::checksum_offset], 0);
    std::uint16_t sum = internet_checksum(datagram.first(len), pseudo);
    if (sum == 0) sum = 0xffff;  // RFC 768: zero is reserved for "no checksum"
    store_be16(&datagram[udp::checksum_offset], sum);
}

void UdpRepr::emit_header(std::span<std::uint8_t> header, Ipv4Address src, Ipv4Address dst) const noexcept {
    assert(header.size() >= udp::header_len);
    const auto len = static_cast<std::uint16_t>(buffer_len());
    store_be16(&header[udp::src_port_offset], src_port.value());
    store_be16(&header[udp::dst_port_offset], dst_port.value());
    store_be16(&header[udp::length_offset], len);
    store_be16(&header[udp::checksum_offset], fold(pseudo_header_sum(src, dst, IpProtocol::udp, len)));
}

void UdpRepr::finish_checksum(std::span<std::uint8_t> header, std::uint32_t sum) noexcept {
    assert(header.size() >= udp::header_len);
    std::uint16_t c = static_cast<std::uint16_t>(~fold(sum));
    if (c == 0) c = 0xffff;  // RFC 768
    store_be16(&header[udp::checksum_offset], c);
}

}  // namespace pollux::wire
