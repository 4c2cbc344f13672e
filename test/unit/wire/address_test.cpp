#include <catch2/catch.hpp>

#include "wire/address.hpp"

using namespace pollux::wire;

TEST_CASE("Ipv4Address parses and prints dotted quads", "[wire][address]") {
    const auto a = Ipv4Address::parse("198.18.0.2");
    REQUIRE(a);
    CHECK(a->value() == 0xc6120002u);
    CHECK(a->to_string() == "198.18.0.2");
    CHECK(*a == Ipv4Address(198, 18, 0, 2));
    CHECK(Ipv4Address::parse("0.0.0.0")->is_unspecified());
    CHECK(Ipv4Address::parse("255.255.255.255")->is_broadcast());
    CHECK(Ipv4Address::parse("127.0.0.1")->is_loopback());
    CHECK(Ipv4Address::parse("224.0.0.1")->is_multicast());
    CHECK(Ipv4Address::parse("169.254.1.1")->is_link_local());
}

TEST_CASE("Ipv4Address rejects malformed text", "[wire][address]") {
    for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "1..3.4", "1.2.3.4 ",
                            " 1.2.3.4", "a.b.c.d", "1.2.3.4/24", "1.2.3.0004", "1.2.3."}) {
        INFO(bad);
        CHECK_FALSE(Ipv4Address::parse(bad));
    }
}

TEST_CASE("Ipv4Address bytes are network order", "[wire][address]") {
    std::uint8_t b[4] = {};
    Ipv4Address(198, 18, 0, 1).to_bytes(b);
    CHECK(b[0] == 198);
    CHECK(b[1] == 18);
    CHECK(b[2] == 0);
    CHECK(b[3] == 1);
    CHECK(Ipv4Address::from_bytes(b) == Ipv4Address(198, 18, 0, 1));
}

TEST_CASE("Ipv4Cidr subnets", "[wire][address]") {
    const auto c = Ipv4Cidr::parse("198.18.0.2/24");
    REQUIRE(c);
    CHECK(c->prefix_len() == 24);
    CHECK(c->netmask() == 0xffffff00u);
    CHECK(c->network() == Ipv4Address(198, 18, 0, 0));
    CHECK(c->subnet_broadcast() == Ipv4Address(198, 18, 0, 255));
    CHECK(c->contains(Ipv4Address(198, 18, 0, 200)));
    CHECK_FALSE(c->contains(Ipv4Address(198, 18, 1, 1)));
    CHECK(c->to_string() == "198.18.0.2/24");
    CHECK(Ipv4Cidr::parse("0.0.0.0/0")->contains(Ipv4Address(8, 8, 8, 8)));
    CHECK(Ipv4Cidr::parse("198.18.0.1/32")->netmask() == 0xffffffffu);
    CHECK_FALSE(Ipv4Cidr::parse("198.18.0.1/33"));
    CHECK_FALSE(Ipv4Cidr::parse("198.18.0.1"));
    CHECK_FALSE(Ipv4Cidr::parse("198.18.0.1/"));
}

TEST_CASE("MacAddress parses, prints and classifies", "[wire][address]") {
    const auto m = MacAddress::parse("02:00:5e:10:00:01");
    REQUIRE(m);
    CHECK(m->to_string() == "02:00:5e:10:00:01");
    CHECK(m->is_unicast());
    CHECK(MacAddress::broadcast().is_broadcast());
    CHECK(MacAddress::broadcast().is_multicast());
    CHECK(MacAddress::parse("01:00:5E:00:00:01")->is_multicast());
    CHECK(MacAddress().is_zero());
    CHECK_FALSE(MacAddress::parse("02:00:5e:10:00"));
    CHECK_FALSE(MacAddress::parse("02-00-5e-10-00-01"));
    CHECK_FALSE(MacAddress::parse("02:00:5e:10:00:0g"));
}
