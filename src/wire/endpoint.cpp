#include "wire/endpoint.hpp"

#include <cstring>

#include "wire/byte_order.hpp"

namespace pollux::wire {

Endpoint from_sockaddr_in(const sockaddr_in& sa) noexcept {
    std::uint8_t addr[4];
    std::uint8_t port[2];
    std::memcpy(addr, &sa.sin_addr.s_addr, sizeof addr);
    std::memcpy(port, &sa.sin_port, sizeof port);
    return {Ipv4Address(load_be32(addr)), Port(load_be16(port))};
}

sockaddr_in to_sockaddr_in(const Endpoint& e) noexcept {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    std::uint8_t addr[4];
    std::uint8_t port[2];
    store_be32(addr, e.address.value());
    store_be16(port, e.port.value());
    std::memcpy(&sa.sin_addr.s_addr, addr, sizeof addr);
    std::memcpy(&sa.sin_port, port, sizeof port);
    return sa;
}

}  // namespace pollux::wire
