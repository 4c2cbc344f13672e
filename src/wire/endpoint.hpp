// An IPv4 transport endpoint (address, port) and its conversion to and from the C API's
// struct sockaddr_in, whose fields are in network byte order. These two functions are the
// only place a sockaddr's bytes are interpreted (DESIGN.md rule 1).
#pragma once

#include <netinet/in.h>

#include "wire/address.hpp"

namespace pollux::wire {

struct Endpoint {
    Ipv4Address address;
    Port port;

    constexpr auto operator<=>(const Endpoint&) const noexcept = default;
};

// sin_family is the caller's business (it decides EAFNOSUPPORT); sin_zero is ignored, as
// Linux ignores it.
Endpoint from_sockaddr_in(const sockaddr_in& sa) noexcept;
// AF_INET, the endpoint's address and port, sin_zero cleared.
sockaddr_in to_sockaddr_in(const Endpoint& e) noexcept;

}  // namespace pollux::wire
