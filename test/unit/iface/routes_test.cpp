#include <catch2/catch.hpp>

#include "iface/routes.hpp"
#include "wire/address.hpp"

using pollux::iface::Route;
using pollux::iface::RouteTable;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Cidr;

namespace {

Ipv4Address a(std::uint8_t b, std::uint8_t c, std::uint8_t d) { return Ipv4Address(198, b, c, d); }

}  // namespace

TEST_CASE("RouteTable: connected subnet is on-link, everything else goes to the default gateway", "[iface]") {
    RouteTable t;
    t.add(Route{Ipv4Cidr(a(18, 0, 0), 24), std::nullopt});
    t.add(Route{Ipv4Cidr(Ipv4Address::any(), 0), a(18, 0, 254)});
    REQUIRE(t.routes().size() == 2);
    CHECK(t.routes()[0].destination.prefix_len() == 24);  // most specific first

    CHECK(t.next_hop(a(18, 0, 7)) == a(18, 0, 7));
    CHECK(t.next_hop(a(18, 0, 255)) == a(18, 0, 255));
    CHECK(t.next_hop(a(18, 1, 7)) == a(18, 0, 254));
    CHECK(t.next_hop(a(19, 200, 1)) == a(18, 0, 254));
    const Route* r = t.lookup(a(19, 0, 1));
    REQUIRE(r != nullptr);
    CHECK(r->destination.prefix_len() == 0);
    CHECK(r->gateway == a(18, 0, 254));
}

TEST_CASE("RouteTable: the longest prefix wins whatever the order routes were added in", "[iface]") {
    RouteTable t;
    t.add(Route{Ipv4Cidr(Ipv4Address::any(), 0), a(18, 0, 1)});
    t.add(Route{Ipv4Cidr(a(19, 0, 0), 16), a(18, 0, 2)});
    t.add(Route{Ipv4Cidr(a(18, 0, 0), 24), std::nullopt});
    t.add(Route{Ipv4Cidr(a(19, 7, 0), 24), a(18, 0, 3)});
    t.add(Route{Ipv4Cidr(a(19, 7, 9), 32), a(18, 0, 4)});
    t.add(Route{Ipv4Cidr(a(18, 0, 0), 15), a(18, 0, 5)});

    CHECK(t.next_hop(a(19, 7, 9)) == a(18, 0, 4));
    CHECK(t.next_hop(a(19, 7, 10)) == a(18, 0, 3));
    CHECK(t.next_hop(a(19, 8, 10)) == a(18, 0, 2));
    CHECK(t.next_hop(a(18, 0, 77)) == a(18, 0, 77));
    CHECK(t.next_hop(a(18, 1, 77)) == a(18, 0, 5));
    CHECK(t.next_hop(Ipv4Address(198, 20, 0, 1)) == a(18, 0, 1));
    // Sorted by prefix length, longest first.
    std::uint8_t last = 33;
    for (const Route& r : t.routes()) {
        CHECK(r.destination.prefix_len() <= last);
        last = r.destination.prefix_len();
    }
}

TEST_CASE("RouteTable: adding the same network/prefix replaces the route", "[iface]") {
    RouteTable t;
    t.add(Route{Ipv4Cidr(a(19, 0, 0), 16), a(18, 0, 2)});
    // Same network written with host bits set: still the same destination.
    t.add(Route{Ipv4Cidr(a(19, 3, 4), 16), a(18, 0, 9)});
    REQUIRE(t.routes().size() == 1);
    CHECK(t.next_hop(a(19, 1, 1)) == a(18, 0, 9));
    // A different prefix length is a different route.
    t.add(Route{Ipv4Cidr(a(19, 0, 0), 17), std::nullopt});
    CHECK(t.routes().size() == 2);
    CHECK(t.next_hop(a(19, 1, 1)) == a(19, 1, 1));
    CHECK(t.next_hop(a(19, 128, 1)) == a(18, 0, 9));
}

TEST_CASE("RouteTable: remove takes exactly one route; no route means no next hop", "[iface]") {
    RouteTable t;
    CHECK(t.lookup(a(18, 0, 1)) == nullptr);
    CHECK_FALSE(t.next_hop(a(18, 0, 1)).has_value());

    t.add(Route{Ipv4Cidr(a(18, 0, 0), 24), std::nullopt});
    t.add(Route{Ipv4Cidr(Ipv4Address::any(), 0), a(18, 0, 254)});
    CHECK_FALSE(t.remove(Ipv4Cidr(a(18, 0, 0), 25)));
    CHECK_FALSE(t.remove(Ipv4Cidr(a(18, 1, 0), 24)));
    CHECK(t.routes().size() == 2);

    CHECK(t.remove(Ipv4Cidr(Ipv4Address::any(), 0)));
    CHECK(t.routes().size() == 1);
    CHECK_FALSE(t.next_hop(a(19, 0, 1)).has_value());
    CHECK(t.next_hop(a(18, 0, 1)) == a(18, 0, 1));

    CHECK(t.remove(Ipv4Cidr(a(18, 0, 0), 24)));
    CHECK(t.routes().empty());
    CHECK_FALSE(t.next_hop(a(18, 0, 1)).has_value());
    CHECK_FALSE(t.remove(Ipv4Cidr(a(18, 0, 0), 24)));
}
