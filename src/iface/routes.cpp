#include "iface/routes.hpp"

#include <algorithm>

namespace pollux::iface {

namespace {
bool same_destination(const Route& r, wire::Ipv4Cidr d) {
    return r.destination.prefix_len() == d.prefix_len() && r.destination.network() == d.network();
}
}  // namespace

void RouteTable::add(const Route& route) {
    remove(route.destination);
    // Keep longest prefixes first so the first match is the most specific.
    const auto at = std::find_if(routes_.begin(), routes_.end(), [&](const Route& r) {
        return r.destination.prefix_len() < route.destination.prefix_len();
    });
    routes_.insert(at, route);
}

bool RouteTable::remove(wire::Ipv4Cidr destination) {
    const auto it = std::find_if(routes_.begin(), routes_.end(),
                                 [&](const Route& r) { return same_destination(r, destination); });
    if (it == routes_.end()) return false;
    routes_.erase(it);
    return true;
}

const Route* RouteTable::lookup(wire::Ipv4Address dst) const noexcept {
    for (const Route& r : routes_) {
        if (r.destination.contains(dst)) return &r;
    }
    return nullptr;
}

std::optional<wire::Ipv4Address> RouteTable::next_hop(wire::Ipv4Address dst) const noexcept {
    const Route* r = lookup(dst);
    if (r == nullptr) return std::nullopt;
    return r->gateway ? *r->gateway : dst;
}

}  // namespace pollux::iface
