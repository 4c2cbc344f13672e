// Strong types for link and network addresses and transport ports (DESIGN.md rule 2).
// Values are held in host order; only the wire views convert.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pollux::wire {

class MacAddress {
public:
    static constexpr std::size_t size = 6;

    constexpr MacAddress() noexcept = default;
    constexpr explicit MacAddress(std::array<std::uint8_t, size> octets) noexcept : octets_(octets) {}

    static constexpr MacAddress broadcast() noexcept {
        return MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    }
    static MacAddress from_bytes(const std::uint8_t* p) noexcept;
    void to_bytes(std::uint8_t* p) const noexcept;

    constexpr const std::array<std::uint8_t, size>& octets() const noexcept { return octets_; }
    constexpr bool is_broadcast() const noexcept { return *this == broadcast(); }
    // IEEE 802: the group bit is the least significant bit of the first octet.
    constexpr bool is_multicast() const noexcept { return (octets_[0] & 0x01) != 0; }
    constexpr bool is_unicast() const noexcept { return !is_multicast(); }
    constexpr bool is_zero() const noexcept { return *this == MacAddress(); }

    // "aa:bb:cc:dd:ee:ff"
    std::string to_string() const;
    static std::optional<MacAddress> parse(std::string_view text);

    constexpr auto operator<=>(const MacAddress&) const noexcept = default;

private:
    std::array<std::uint8_t, size> octets_{};
};

class Ipv4Address {
public:
    static constexpr std::size_t size = 4;

    constexpr Ipv4Address() noexcept = default;
    constexpr explicit Ipv4Address(std::uint32_t host_order) noexcept : value_(host_order) {}
    constexpr Ipv4Address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
        : value_((std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d) {}

    static constexpr Ipv4Address any() noexcept { return Ipv4Address(); }
    static constexpr Ipv4Address broadcast() noexcept { return Ipv4Address(0xffffffffu); }
    static Ipv4Address from_bytes(const std::uint8_t* p) noexcept;
    void to_bytes(std::uint8_t* p) const noexcept;

    constexpr std::uint32_t value() const noexcept { return value_; }
    constexpr bool is_unspecified() const noexcept { return value_ == 0; }
    constexpr bool is_broadcast() const noexcept { return value_ == 0xffffffffu; }
    constexpr bool is_loopback() const noexcept { return (value_ >> 24) == 127; }
    constexpr bool is_multicast() const noexcept { return (value_ >> 28) == 0xe; }  // 224/4
    constexpr bool is_link_local() const noexcept { return (value_ >> 16) == 0xa9fe; }  // 169.254/16

    // Dotted quad "198.18.0.1"; parse accepts exactly four decimal octets.
    std::string to_string() const;
    static std::optional<Ipv4Address> parse(std::string_view text);

    constexpr auto operator<=>(const Ipv4Address&) const noexcept = default;

private:
    std::uint32_t value_ = 0;
};

// An address with a prefix length: an interface address and its connected subnet.
class Ipv4Cidr {
public:
    constexpr Ipv4Cidr() noexcept = default;
    // The prefix length is clamped to 32 by parse(); the constructor trusts its caller.
    constexpr Ipv4Cidr(Ipv4Address address, std::uint8_t prefix_len) noexcept
        : address_(address), prefix_len_(prefix_len) {}

    constexpr Ipv4Address address() const noexcept { return address_; }
    constexpr std::uint8_t prefix_len() const noexcept { return prefix_len_; }
    constexpr std::uint32_t netmask() const noexcept {
        return prefix_len_ == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_len_);
    }
    constexpr Ipv4Address network() const noexcept { return Ipv4Address(address_.value() & netmask()); }
    constexpr Ipv4Address subnet_broadcast() const noexcept {
        return Ipv4Address(address_.value() | ~netmask());
    }
    constexpr bool contains(Ipv4Address a) const noexcept {
        return (a.value() & netmask()) == (address_.value() & netmask());
    }

    // "198.18.0.2/24"
    std::string to_string() const;
    static std::optional<Ipv4Cidr> parse(std::string_view text);

    constexpr auto operator<=>(const Ipv4Cidr&) const noexcept = default;

private:
    Ipv4Address address_{};
    std::uint8_t prefix_len_ = 0;
};

// A transport port (UDP/TCP), host order.
class Port {
public:
    constexpr Port() noexcept = default;
    constexpr explicit Port(std::uint16_t host_order) noexcept : value_(host_order) {}
    constexpr std::uint16_t value() const noexcept { return value_; }
    constexpr bool is_zero() const noexcept { return value_ == 0; }
    constexpr auto operator<=>(const Port&) const noexcept = default;

private:
    std::uint16_t value_ = 0;
};

// IP protocol numbers (IANA) that pollux names.
enum class IpProtocol : std::uint8_t {
    icmp = 1,
    tcp = 6,
    udp = 17,
};

}  // namespace pollux::wire
