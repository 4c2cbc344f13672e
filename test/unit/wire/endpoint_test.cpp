#include <catch2/catch.hpp>

#include <cstring>

#include "wire/endpoint.hpp"

using pollux::wire::Endpoint;
using pollux::wire::Ipv4Address;
using pollux::wire::Port;

TEST_CASE("sockaddr_in fields are read in network byte order", "[wire][endpoint]") {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    const unsigned char addr[4] = {198, 18, 0, 2};
    const unsigned char port[2] = {0x1f, 0x90};  // 8080
    std::memcpy(&sa.sin_addr.s_addr, addr, 4);
    std::memcpy(&sa.sin_port, port, 2);
    const Endpoint e = pollux::wire::from_sockaddr_in(sa);
    CHECK(e.address == Ipv4Address(198, 18, 0, 2));
    CHECK(e.port == Port(8080));
}

TEST_CASE("to_sockaddr_in writes AF_INET, network order and a zeroed sin_zero", "[wire][endpoint]") {
    const sockaddr_in sa = pollux::wire::to_sockaddr_in({Ipv4Address(127, 0, 0, 1), Port(7)});
    CHECK(sa.sin_family == AF_INET);
    unsigned char addr[4];
    unsigned char port[2];
    std::memcpy(addr, &sa.sin_addr.s_addr, 4);
    std::memcpy(port, &sa.sin_port, 2);
    CHECK(addr[0] == 127);
    CHECK(addr[3] == 1);
    CHECK(port[0] == 0);
    CHECK(port[1] == 7);
    for (unsigned char z : sa.sin_zero) CHECK(z == 0);
    CHECK(pollux::wire::from_sockaddr_in(sa) == Endpoint{Ipv4Address(127, 0, 0, 1), Port(7)});
}
