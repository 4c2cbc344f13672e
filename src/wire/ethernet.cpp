#include "wire/ethernet.hpp"

#include <cassert>

#include "wire/byte_order.hpp"

namespace pollux::wire {

namespace {
constexpr auto vlan_type = static_cast<std::uint16_t>(EtherType::vlan);
}

WireError EthernetView::check() const noexcept {
    if (b_.size() < ethernet::header_len) return WireError::truncated;
    if (has_vlan_tag() && b_.size() < ethernet::header_len + ethernet::vlan_tag_len) {
        return WireError::truncated;
    }
    return WireError::none;
}

MacAddress EthernetView::dst() const noexcept { return MacAddress::from_bytes(&b_[ethernet::dst_offset]); }
MacAddress EthernetView::src() const noexcept { return MacAddress::from_bytes(&b_[ethernet::src_offset]); }

std::uint16_t EthernetView::outer_ethertype() const noexcept {
    return load_be16(&b_[ethernet::ethertype_offset]);
}

std::uint16_t EthernetView::vlan_tci() const noexcept {
    return load_be16(&b_[ethernet::ethertype_offset + 2]);
}

std::uint16_t EthernetView::ethertype() const noexcept {
    return has_vlan_tag() ? load_be16(&b_[ethernet::ethertype_offset + 4]) : outer_ethertype();
}

std::size_t EthernetView::header_len() const noexcept {
    return ethernet::header_len + (has_vlan_tag() ? ethernet::vlan_tag_len : 0);
}

Result<EthernetRepr> EthernetRepr::parse(std::span<const std::uint8_t> frame) noexcept {
    const EthernetView v(frame);
    if (const auto e = v.check(); e != WireError::none) return e;
    const std::uint16_t type = v.ethertype();
    if (type < ethernet::min_ethertype) return WireError::unsupported;  // 802.3 length
    if (type == vlan_type || type == static_cast<std::uint16_t>(EtherType::qinq)) {
        return WireError::unsupported;  // stacked tags
    }
    EthernetRepr r;
    r.dst = v.dst();
    r.src = v.src();
    r.ethertype = static_cast<EtherType>(type);
    if (v.has_vlan_tag()) r.vlan_tci = v.vlan_tci();
    return r;
}

void EthernetRepr::emit(std::span<std::uint8_t> out) const noexcept {
    assert(out.size() >= buffer_len());
    assert(static_cast<std::uint16_t>(ethertype) >= ethernet::min_ethertype && ethertype != EtherType::vlan);
    dst.to_bytes(&out[ethernet::dst_offset]);
    src.to_bytes(&out[ethernet::src_offset]);
    std::size_t at = ethernet::ethertype_offset;
    if (vlan_tci) {
        store_be16(&out[at], vlan_type);
        store_be16(&out[at + 2], *vlan_tci);
        at += ethernet::vlan_tag_len;
    }
    store_be16(&out[at], static_cast<std::uint16_t>(ethertype));
}

}  // namespace pollux::wire
