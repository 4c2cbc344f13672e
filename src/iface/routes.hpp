// The routing table of an interface: the connected subnet plus static routes and a
// default gateway, chosen by longest prefix (RFC 1812 §5.2.4.3). Small by design: a host
// stack has a handful of routes, so a sorted vector beats a trie here.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "wire/address.hpp"

namespace pollux::iface {

struct Route {
    wire::Ipv4Cidr destination;  // network and prefix length
    // Where to send: the gateway, or unset for on-link (connected) destinations.
    std::optional<wire::Ipv4Address> gateway;
};

class RouteTable {
public:
    // Adds or replaces the route for `route.destination` (same network and prefix).
    void add(const Route& route);
    // Removes the route for exactly this network/prefix; false when there is none.
    bool remove(wire::Ipv4Cidr destination);

    // The most specific route covering `dst`, or none (the caller answers ENETUNREACH).
    const Route* lookup(wire::Ipv4Address dst) const noexcept;
    // The link-layer next hop for `dst`: the gateway of its route, or `dst` itself on-link.
    std::optional<wire::Ipv4Address> next_hop(wire::Ipv4Address dst) const noexcept;

    const std::vector<Route>& routes() const noexcept { return routes_; }

private:
    std::vector<Route> routes_;  // longest prefix first
};

}  // namespace pollux::iface
