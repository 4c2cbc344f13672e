// Ethernet II frames (IEEE 802.3 with an EtherType), with one optional IEEE 802.1Q tag.
//
//   0      6      12          14
//   | dst  | src  | ethertype | payload...
//   with a tag:   | 0x8100 | TCI (PCP:3 DEI:1 VID:12) | ethertype | payload...
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "wire/address.hpp"
#include "wire/error.hpp"

namespace pollux::wire {

enum class EtherType : std::uint16_t {
    ipv4 = 0x0800,
    arp = 0x0806,
    vlan = 0x8100,  // IEEE 802.1Q customer tag
    ipv6 = 0x86dd,
    qinq = 0x88a8,  // IEEE 802.1ad service tag (not handled: unsupported)
};

namespace ethernet {
inline constexpr std::size_t dst_offset = 0;
inline constexpr std::size_t src_offset = 6;
inline constexpr std::size_t ethertype_offset = 12;
inline constexpr std::size_t header_len = 14;
inline constexpr std::size_t vlan_tag_len = 4;
// EtherType values below this are IEEE 802.3 length fields, not types.
inline constexpr std::uint16_t min_ethertype = 0x0600;
}  // namespace ethernet

// Read-only view of an Ethernet header at the start of a frame.
class EthernetView {
public:
    explicit EthernetView(std::span<const std::uint8_t> frame) noexcept : b_(frame) {}

    // Long enough for the untagged header (and the tag, when the type says there is one).
    WireError check() const noexcept;

    MacAddress dst() const noexcept;
    MacAddress src() const noexcept;
    // The first EtherType field (0x8100 when tagged).
    std::uint16_t outer_ethertype() const noexcept;
    bool has_vlan_tag() const noexcept { return outer_ethertype() == static_cast<std::uint16_t>(EtherType::vlan); }
    // Only valid after check() when has_vlan_tag().
    std::uint16_t vlan_tci() const noexcept;
    // The EtherType of the payload, after any tag.
    std::uint16_t ethertype() const noexcept;
    std::size_t header_len() const noexcept;
    std::span<const std::uint8_t> payload() const noexcept { return b_.subspan(header_len()); }

private:
    std::span<const std::uint8_t> b_;
};

struct EthernetRepr {
    MacAddress dst;
    MacAddress src;
    EtherType ethertype = EtherType::ipv4;  // of the payload
    std::optional<std::uint16_t> vlan_tci;  // present: one 802.1Q tag

    // Accepts Ethernet II with at most one 802.1Q tag. IEEE 802.3 length frames, 802.1ad
    // and stacked tags are `unsupported`.
    static Result<EthernetRepr> parse(std::span<const std::uint8_t> frame) noexcept;
    std::size_t buffer_len() const noexcept {
        return ethernet::header_len + (vlan_tci ? ethernet::vlan_tag_len : 0);
    }
    // Writes buffer_len() bytes at the start of `out` (which must hold them).
    void emit(std::span<std::uint8_t> out) const noexcept;

    bool operator==(const EthernetRepr&) const noexcept = default;
};

}  // namespace pollux::wire
