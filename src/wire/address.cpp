#include "wire/address.hpp"

#include <charconv>
#include <cstdio>

#include "wire/byte_order.hpp"

namespace pollux::wire {

namespace {

// Parses a decimal number in [0, max] that fills `text` exactly (no sign, no spaces).
std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
    if (text.empty() || text.size() > 3) return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v > max) return std::nullopt;
    return v;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

MacAddress MacAddress::from_bytes(const std::uint8_t* p) noexcept {
    std::array<std::uint8_t, size> o{};
    for (std::size_t i = 0; i < size; ++i) o[i] = p[i];
    return MacAddress(o);
}

void MacAddress::to_bytes(std::uint8_t* p) const noexcept {
    for (std::size_t i = 0; i < size; ++i) p[i] = octets_[i];
}

std::string MacAddress::to_string() const {
    char s[18];
    std::snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", octets_[0], octets_[1], octets_[2],
                  octets_[3], octets_[4], octets_[5]);
    return s;
}

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
    // Exactly six two-digit hex groups separated by ':'.
    if (text.size() != 17) return std::nullopt;
    std::array<std::uint8_t, size> o{};
    for (std::size_t i = 0; i < size; ++i) {
        const int hi = hex_digit(text[i * 3]);
        const int lo = hex_digit(text[i * 3 + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        if (i + 1 < size && text[i * 3 + 2] != ':') return std::nullopt;
        o[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return MacAddress(o);
}

Ipv4Address Ipv4Address::from_bytes(const std::uint8_t* p) noexcept {
    return Ipv4Address(load_be32(p));
}

void Ipv4Address::to_bytes(std::uint8_t* p) const noexcept { store_be32(p, value_); }

std::string Ipv4Address::to_string() const {
    char s[16];
    std::snprintf(s, sizeof s, "%u.%u.%u.%u", value_ >> 24, (value_ >> 16) & 0xff,
                  (value_ >> 8) & 0xff, value_ & 0xff);
    return s;
}

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        const auto dot = text.find('.');
        const bool last = i == 3;
        if (last != (dot == std::string_view::npos)) return std::nullopt;
        const auto octet = parse_decimal(text.substr(0, dot), 255);
        if (!octet) return std::nullopt;
        value = value << 8 | *octet;
        text = last ? std::string_view() : text.substr(dot + 1);
    }
    return Ipv4Address(value);
}

std::string Ipv4Cidr::to_string() const {
    return address_.to_string() + "/" + std::to_string(prefix_len_);
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const auto address = Ipv4Address::parse(text.substr(0, slash));
    const auto len = parse_decimal(text.substr(slash + 1), 32);
    if (!address || !len) return std::nullopt;
    return Ipv4Cidr(*address, static_cast<std::uint8_t>(*len));
}

}  // namespace pollux::wire
