#include "wire/arp.hpp"

#include <cassert>

#include "wire/byte_order.hpp"

namespace pollux::wire {

WireError ArpView::check() const noexcept {
    // Frames are padded to 60 bytes on the wire, so extra bytes after the packet are normal.
    return b_.size() < arp::packet_len ? WireError::truncated : WireError::none;
}

std::uint16_t ArpView::htype() const noexcept { return load_be16(&b_[arp::htype_offset]); }
std::uint16_t ArpView::ptype() const noexcept { return load_be16(&b_[arp::ptype_offset]); }
std::uint16_t ArpView::operation() const noexcept { return load_be16(&b_[arp::oper_offset]); }

Result<ArpRepr> ArpRepr::parse(std::span<const std::uint8_t> packet) noexcept {
    const ArpView v(packet);
    if (const auto e = v.check(); e != WireError::none) return e;
    if (v.htype() != arp::htype_ethernet || v.ptype() != arp::ptype_ipv4) return WireError::unsupported;
    // With Ethernet/IPv4 types the lengths are fixed; anything else is a lie.
    if (v.hlen() != MacAddress::size || v.plen() != Ipv4Address::size) return WireError::malformed;
    const std::uint16_t op = v.operation();
    if (op != static_cast<std::uint16_t>(ArpOperation::request) &&
        op != static_cast<std::uint16_t>(ArpOperation::reply)) {
        return WireError::unsupported;  // RARP, InARP, ...
    }
    ArpRepr r;
    r.operation = static_cast<ArpOperation>(op);
    r.sender_mac = v.sender_mac();
    r.sender_ip = v.sender_ip();
    r.target_mac = v.target_mac();
    r.target_ip = v.target_ip();
    return r;
}

void ArpRepr::emit(std::span<std::uint8_t> out) const noexcept {
    assert(out.size() >= buffer_len());
    store_be16(&out[arp::htype_offset], arp::htype_ethernet);
    store_be16(&out[arp::ptype_offset], arp::ptype_ipv4);
    out[arp::hlen_offset] = MacAddress::size;
    out[arp::plen_offset] = Ipv4Address::size;
    store_be16(&out[arp::oper_offset], static_cast<std::uint16_t>(operation));
    sender_mac.to_bytes(&out[arp::sha_offset]);
    sender_ip.to_bytes(&out[arp::spa_offset]);
    target_mac.to_bytes(&out[arp::tha_offset]);
    target_ip.to_bytes(&out[arp::tpa_offset]);
}

}  // namespace pollux::wire
