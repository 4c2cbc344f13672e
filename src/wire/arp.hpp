// ARP for IPv4 over Ethernet (RFC 826). Other hardware or protocol types are
// `unsupported`: pollux resolves IPv4 addresses on Ethernet only.
//
//   0     2     4    5    6    8          14         18         24         28
//   | htype | ptype | hlen | plen | op | sha | spa | tha | tpa |
#pragma once

#include <cstdint>
#include <span>

#include "wire/address.hpp"
#include "wire/error.hpp"

namespace pollux::wire {

enum class ArpOperation : std::uint16_t {
    request = 1,
    reply = 2,
};

namespace arp {
inline constexpr std::size_t htype_offset = 0;
inline constexpr std::size_t ptype_offset = 2;
inline constexpr std::size_t hlen_offset = 4;
inline constexpr std::size_t plen_offset = 5;
inline constexpr std::size_t oper_offset = 6;
inline constexpr std::size_t sha_offset = 8;
inline constexpr std::size_t spa_offset = 14;
inline constexpr std::size_t tha_offset = 18;
inline constexpr std::size_t tpa_offset = 24;
inline constexpr std::size_t packet_len = 28;
inline constexpr std::uint16_t htype_ethernet = 1;
inline constexpr std::uint16_t ptype_ipv4 = 0x0800;
}  // namespace arp

class ArpView {
public:
    explicit ArpView(std::span<const std::uint8_t> packet) noexcept : b_(packet) {}
    WireError check() const noexcept;

    std::uint16_t htype() const noexcept;
    std::uint16_t ptype() const noexcept;
    std::uint8_t hlen() const noexcept { return b_[arp::hlen_offset]; }
    std::uint8_t plen() const noexcept { return b_[arp::plen_offset]; }
    std::uint16_t operation() const noexcept;
    MacAddress sender_mac() const noexcept { return MacAddress::from_bytes(&b_[arp::sha_offset]); }
    Ipv4Address sender_ip() const noexcept { return Ipv4Address::from_bytes(&b_[arp::spa_offset]); }
    MacAddress target_mac() const noexcept { return MacAddress::from_bytes(&b_[arp::tha_offset]); }
    Ipv4Address target_ip() const noexcept { return Ipv4Address::from_bytes(&b_[arp::tpa_offset]); }

private:
    std::span<const std::uint8_t> b_;
};

struct ArpRepr {
    ArpOperation operation = ArpOperation::request;
    MacAddress sender_mac;
    Ipv4Address sender_ip;
    MacAddress target_mac;
    Ipv4Address target_ip;

    static Result<ArpRepr> parse(std::span<const std::uint8_t> packet) noexcept;
    static constexpr std::size_t buffer_len() noexcept { return arp::packet_len; }
    void emit(std::span<std::uint8_t> out) const noexcept;

    bool operator==(const ArpRepr&) const noexcept = default;
};

}  // namespace pollux::wire
