#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "socket/port_manager.hpp"

using pollux::socket::BindOptions;
using pollux::socket::BindResult;
using pollux::socket::DisconnectResult;
using pollux::socket::Owner;
using pollux::socket::PortManager;
using pollux::socket::Transport;
using pollux::wire::Ipv4Address;
using pollux::wire::Port;
namespace detail = pollux::socket::detail;

namespace {

const Ipv4Address kAny = Ipv4Address::any();
const Ipv4Address kA1(10, 0, 0, 1);
const Ipv4Address kA2(10, 0, 0, 2);
const Ipv4Address kPeer(192, 0, 2, 7);
const Ipv4Address kPeer2(192, 0, 2, 8);

constexpr BindOptions kNone{};
constexpr BindOptions kReuseAddr{true, false};
constexpr BindOptions kReusePort{false, true};
constexpr BindOptions kBoth{true, true};

// Distinct owners: the addresses of the slots of an array.
struct Sockets {
    std::array<int, 2048> slots{};
    Owner operator[](std::size_t i) const { return &slots.at(i); }
};

// The index of `o` in `s`, or -1.
int index_of(const Sockets& s, Owner o) {
    for (std::size_t i = 0; i < s.slots.size(); ++i) {
        if (s[i] == o) return static_cast<int>(i);
    }
    return -1;
}

int error_of(const BindResult& r) { return r.error; }

// 1,000 flow hashes spread over the 32-bit space (Fibonacci multiples of 0..999).
std::vector<std::uint32_t> flow_hashes() {
    std::vector<std::uint32_t> h;
    for (std::uint32_t i = 0; i < 1000; ++i) h.push_back(i * 0x9e3779b1u);
    return h;
}

// How many of flow_hashes() reach each socket index for a datagram kAny:port <- peer.
std::map<int, int> spread(const PortManager& m, const Sockets& s, Ipv4Address dst, Port port) {
    std::map<int, int> counts;
    for (const std::uint32_t h : flow_hashes()) ++counts[index_of(s, m.lookup(dst, port, kPeer, Port(1000), h))];
    return counts;
}

}  // namespace

TEST_CASE("PortManager: a second bind of the same address and port is EADDRINUSE", "[socket]") {
    const Transport t = GENERATE(Transport::udp, Transport::tcp);
    CAPTURE(t == Transport::udp ? "udp" : "tcp");
    PortManager m(t, 1);
    Sockets s;
    const BindResult first = m.bind(s[0], kA1, Port(5000), kNone);
    CHECK(first.error == 0);
    CHECK(first.port == Port(5000));
    const BindResult second = m.bind(s[1], kA1, Port(5000), kNone);
    CHECK(second.error == EADDRINUSE);
    CHECK(second.port == Port(0));
    CHECK_FALSE(m.find(s[1]).has_value());
    // Two different specific addresses do not overlap.
    CHECK(error_of(m.bind(s[1], kA2, Port(5000), kNone)) == 0);
    // Two wildcards overlap.
    CHECK(error_of(m.bind(s[2], kAny, Port(6000), kNone)) == 0);
    CHECK(error_of(m.bind(s[3], kAny, Port(6000), kNone)) == EADDRINUSE);
    // Another port is independent.
    CHECK(error_of(m.bind(s[3], kAny, Port(6001), kNone)) == 0);
    CHECK(m.size() == 4);
}

TEST_CASE("PortManager: wildcard and specific addresses conflict in either order", "[socket]") {
    const Transport t = GENERATE(Transport::udp, Transport::tcp);
    PortManager m(t, 1);
    Sockets s;
    SECTION("specific first") {
        REQUIRE(error_of(m.bind(s[0], kA1, Port(7000), kNone)) == 0);
        CHECK(error_of(m.bind(s[1], kAny, Port(7000), kNone)) == EADDRINUSE);
    }
    SECTION("wildcard first") {
        REQUIRE(error_of(m.bind(s[0], kAny, Port(7000), kNone)) == 0);
        CHECK(error_of(m.bind(s[1], kA1, Port(7000), kNone)) == EADDRINUSE);
        CHECK(error_of(m.bind(s[1], kA2, Port(7000), kNone)) == EADDRINUSE);
    }
}

TEST_CASE("PortManager: SO_REUSEADDR shares a port only when both sides set it", "[socket]") {
    const Transport t = GENERATE(Transport::udp, Transport::tcp);
    PortManager m(t, 1);
    Sockets s;
    SECTION("only the first") {
        REQUIRE(error_of(m.bind(s[0], kA1, Port(8000), kReuseAddr)) == 0);
        CHECK(error_of(m.bind(s[1], kA1, Port(8000), kNone)) == EADDRINUSE);
        CHECK(error_of(m.bind(s[1], kAny, Port(8000), kNone)) == EADDRINUSE);
    }
    SECTION("only the second") {
        REQUIRE(error_of(m.bind(s[0], kA1, Port(8000), kNone)) == 0);
        CHECK(error_of(m.bind(s[1], kA1, Port(8000), kReuseAddr)) == EADDRINUSE);
        CHECK(error_of(m.bind(s[1], kAny, Port(8000), kReuseAddr)) == EADDRINUSE);
    }
    SECTION("both") {
        REQUIRE(error_of(m.bind(s[0], kA1, Port(8000), kReuseAddr)) == 0);
        CHECK(error_of(m.bind(s[1], kA1, Port(8000), kReuseAddr)) == 0);
        CHECK(error_of(m.bind(s[2], kAny, Port(8000), kReuseAddr)) == 0);
        // A third socket without the option conflicts with all of them.
        CHECK(error_of(m.bind(s[3], kA1, Port(8000), kNone)) == EADDRINUSE);
    }
}

TEST_CASE("PortManager: options changed after bind count for later binds", "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kAny, Port(8100), kNone)) == 0);
    CHECK(error_of(m.bind(s[1], kAny, Port(8100), kReuseAddr)) == EADDRINUSE);
    CHECK(m.set_options(s[0], kReuseAddr));
    CHECK(error_of(m.bind(s[1], kAny, Port(8100), kReuseAddr)) == 0);
    CHECK(m.find(s[0])->options.reuse_addr);
    CHECK_FALSE(m.set_options(s[5], kReuseAddr));
}

TEST_CASE("PortManager: TCP listen on a SO_REUSEADDR-shared port", "[socket]") {
    PortManager m(Transport::tcp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kAny, Port(80), kReuseAddr)) == 0);
    REQUIRE(error_of(m.bind(s[1], kAny, Port(80), kReuseAddr)) == 0);
    // Neither listens yet: either may.
    CHECK(m.can_listen(s[0]));
    CHECK(m.can_listen(s[1]));
    CHECK(m.listen(s[0]) == 0);
    CHECK(m.find(s[0])->listening);
    CHECK(m.listen(s[0]) == 0);  // again: still fine
    // The second may no longer listen, and nobody may bind over the listener.
    CHECK_FALSE(m.can_listen(s[1]));
    CHECK(m.listen(s[1]) == EADDRINUSE);
    CHECK_FALSE(m.find(s[1])->listening);
    CHECK(error_of(m.bind(s[2], kAny, Port(80), kReuseAddr)) == EADDRINUSE);
    CHECK(error_of(m.bind(s[2], kA1, Port(80), kReuseAddr)) == EADDRINUSE);
    // Once the listener is closed the second one may listen.
    CHECK(m.release(s[0]));
    CHECK(m.can_listen(s[1]));
    CHECK(m.listen(s[1]) == 0);
    CHECK(m.listen(s[9]) == EINVAL);  // not bound
    CHECK_FALSE(m.can_listen(s[9]));
}

TEST_CASE("PortManager: a TCP listener on one address leaves other addresses free", "[socket]") {
    PortManager m(Transport::tcp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kA1, Port(80), kReuseAddr)) == 0);
    REQUIRE(m.listen(s[0]) == 0);
    CHECK(error_of(m.bind(s[1], kA2, Port(80), kReuseAddr)) == 0);
    CHECK(m.listen(s[1]) == 0);
}

TEST_CASE("PortManager: listen is TCP only", "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kAny, Port(53), kNone)) == 0);
    CHECK(m.listen(s[0]) == EOPNOTSUPP);
    CHECK_FALSE(m.can_listen(s[0]));
}

TEST_CASE("PortManager: SO_REUSEPORT shares a port only when both sides set it", "[socket]") {
    const Transport t = GENERATE(Transport::udp, Transport::tcp);
    PortManager m(t, 1);
    Sockets s;
    SECTION("both") {
        REQUIRE(error_of(m.bind(s[0], kAny, Port(9000), kReusePort)) == 0);
        CHECK(error_of(m.bind(s[1], kAny, Port(9000), kReusePort)) == 0);
        CHECK(error_of(m.bind(s[2], kA1, Port(9000), kReusePort)) == 0);
    }
    SECTION("only the first") {
        REQUIRE(error_of(m.bind(s[0], kAny, Port(9000), kReusePort)) == 0);
        CHECK(error_of(m.bind(s[1], kAny, Port(9000), kNone)) == EADDRINUSE);
        CHECK(error_of(m.bind(s[1], kAny, Port(9000), kReuseAddr)) == EADDRINUSE);
    }
    SECTION("only the second") {
        REQUIRE(error_of(m.bind(s[0], kAny, Port(9000), kNone)) == 0);
        CHECK(error_of(m.bind(s[1], kAny, Port(9000), kReusePort)) == EADDRINUSE);
    }
}

TEST_CASE("PortManager: TCP SO_REUSEPORT listeners coexist, others are refused", "[socket]") {
    PortManager m(Transport::tcp, 1);
    Sockets s;
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(error_of(m.bind(s[i], kAny, Port(443), kReusePort)) == 0);
        CHECK(m.listen(s[i]) == 0);
    }
    CHECK(error_of(m.bind(s[3], kAny, Port(443), kReuseAddr)) == EADDRINUSE);
    CHECK(error_of(m.bind(s[3], kAny, Port(443), kBoth)) == 0);
    CHECK(m.listen(s[3]) == 0);
}

TEST_CASE("PortManager: SO_REUSEADDR alone cannot join a port a SO_REUSEPORT socket listens on",
          "[socket]") {
    PortManager m(Transport::tcp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kAny, Port(8443), kBoth)) == 0);
    // Shares through (a): both SO_REUSEADDR, the first not listening.
    REQUIRE(error_of(m.bind(s[1], kAny, Port(8443), kReuseAddr)) == 0);
    CHECK(m.listen(s[0]) == 0);
    // Now (a) fails (a listener) and (b) fails (s[1] has no SO_REUSEPORT).
    CHECK(m.listen(s[1]) == EADDRINUSE);
}

TEST_CASE("PortManager: release frees the port; a second release is a no-op", "[socket]") {
    const Transport t = GENERATE(Transport::udp, Transport::tcp);
    PortManager m(t, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kAny, Port(5555), kNone)) == 0);
    CHECK(error_of(m.bind(s[1], kAny, Port(5555), kNone)) == EADDRINUSE);
    CHECK(m.release(s[0]));
    CHECK(m.size() == 0);
    CHECK_FALSE(m.release(s[0]));
    CHECK_FALSE(m.release(s[7]));
    CHECK_FALSE(m.release(nullptr));
    CHECK(error_of(m.bind(s[1], kAny, Port(5555), kNone)) == 0);
    // The released owner may bind again too.
    CHECK(error_of(m.bind(s[0], kAny, Port(5556), kNone)) == 0);
    CHECK(m.size() == 2);
}

TEST_CASE("PortManager: bind of a bound or null owner is EINVAL", "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kAny, Port(5000), kNone)) == 0);
    CHECK(error_of(m.bind(s[0], kAny, Port(5001), kNone)) == EINVAL);
    CHECK(error_of(m.bind(s[0], kAny, Port(0), kNone)) == EINVAL);
    CHECK(m.find(s[0])->port == Port(5000));
    CHECK(error_of(m.bind(nullptr, kAny, Port(5002), kNone)) == EINVAL);
    CHECK(error_of(m.connect_port(s[0], kA1, kPeer, Port(53), kNone)) == EINVAL);
    CHECK(error_of(m.connect_port(nullptr, kA1, kPeer, Port(53), kNone)) == EINVAL);
}

TEST_CASE("PortManager: low ports need no privilege unless configured like Linux", "[socket]") {
    PortManager m(Transport::tcp, 1);
    Sockets s;
    CHECK(error_of(m.bind(s[0], kAny, Port(80), kNone)) == 0);
    CHECK(error_of(m.bind(s[1], kAny, Port(1), kNone)) == 0);
    REQUIRE(m.set_unprivileged_port_start(1024) == 0);
    CHECK(error_of(m.bind(s[2], kAny, Port(22), kNone)) == EACCES);
    CHECK(error_of(m.bind(s[2], kAny, Port(1023), kNone)) == EACCES);
    // Linux checks the privilege before "already bound".
    CHECK(error_of(m.bind(s[0], kAny, Port(22), kNone)) == EACCES);
    CHECK(error_of(m.bind(s[2], kAny, Port(1024), kNone)) == 0);
    const BindResult eph = m.bind(s[3], kAny, Port(0), kNone);
    CHECK(eph.error == 0);
    CHECK(eph.port.value() >= 32768);
    // The sysctls' cross-checks: the unprivileged start may not pass the range's low end.
    CHECK(m.set_unprivileged_port_start(32769) == EINVAL);
    CHECK(m.set_unprivileged_port_start(32768) == 0);
}

TEST_CASE("PortManager: the ephemeral range is validated like ip_local_port_range", "[socket]") {
    PortManager m(Transport::udp, 1);
    CHECK(m.ephemeral_low() == 32768);
    CHECK(m.ephemeral_high() == 60999);
    CHECK(m.set_ephemeral_range(0, 100) == EINVAL);
    CHECK(m.set_ephemeral_range(5000, 4999) == EINVAL);
    CHECK(m.ephemeral_low() == 32768);
    CHECK(m.set_ephemeral_range(4000, 4000) == 0);
    CHECK(m.ephemeral_low() == 4000);
    CHECK(m.ephemeral_high() == 4000);
    REQUIRE(m.set_unprivileged_port_start(1024) == 0);
    CHECK(m.set_ephemeral_range(1000, 2000) == EINVAL);
    CHECK(m.set_ephemeral_range(1024, 65535) == 0);
}

TEST_CASE("PortManager: ephemeral ports are in range, distinct while held, and random", "[socket]") {
    const Transport t = GENERATE(Transport::udp, Transport::tcp);
    PortManager m(t, 7);
    Sockets s;
    std::vector<std::uint16_t> ports;
    for (std::size_t i = 0; i < 1000; ++i) {
        const BindResult r = m.bind(s[i], kAny, Port(0), kNone);
        REQUIRE(r.error == 0);
        REQUIRE(r.port.value() >= 32768);
        REQUIRE(r.port.value() <= 60999);
        CHECK(m.find(s[i])->port == r.port);
        ports.push_back(r.port.value());
    }
    CHECK(std::set<std::uint16_t>(ports.begin(), ports.end()).size() == 1000);
    // Not a counter: successive choices are rarely neighbours, and they cover the range.
    int successive = 0;
    for (std::size_t i = 1; i < ports.size(); ++i) successive += ports[i] == ports[i - 1] + 1;
    CHECK(successive < 10);
    const auto [lo, hi] = std::minmax_element(ports.begin(), ports.end());
    CHECK(*lo < 32768 + 1000);
    CHECK(*hi > 60999 - 1000);
    // Both halves of the range are used about equally.
    const auto low_half = std::count_if(ports.begin(), ports.end(), [](std::uint16_t p) { return p < 46884; });
    CHECK(low_half > 400);
    CHECK(low_half < 600);
}

TEST_CASE("PortManager: ephemeral choices are deterministic for a seed", "[socket]") {
    PortManager a(Transport::udp, 42);
    PortManager b(Transport::udp, 42);
    PortManager c(Transport::udp, 43);
    Sockets s;
    int same_as_other_seed = 0;
    for (std::size_t i = 0; i < 50; ++i) {
        const Port pa = a.bind(s[i], kAny, Port(0), kNone).port;
        const Port pb = b.bind(s[i], kAny, Port(0), kNone).port;
        const Port pc = c.bind(s[i], kAny, Port(0), kNone).port;
        CHECK(pa == pb);
        same_as_other_seed += pa == pc;
    }
    CHECK(same_as_other_seed < 5);
}

TEST_CASE("PortManager: a small ephemeral range runs out with EADDRINUSE", "[socket]") {
    const Transport t = GENERATE(Transport::udp, Transport::tcp);
    PortManager m(t, 3);
    REQUIRE(m.set_ephemeral_range(40000, 40003) == 0);
    Sockets s;
    std::set<std::uint16_t> got;
    for (std::size_t i = 0; i < 4; ++i) {
        const BindResult r = m.bind(s[i], kA1, Port(0), kNone);
        REQUIRE(r.error == 0);
        got.insert(r.port.value());
    }
    CHECK(got == std::set<std::uint16_t>{40000, 40001, 40002, 40003});
    const BindResult full = m.bind(s[4], kA1, Port(0), kNone);
    CHECK(full.error == EADDRINUSE);
    CHECK(full.port == Port(0));
    CHECK(error_of(m.bind(s[4], kAny, Port(0), kNone)) == EADDRINUSE);  // overlaps all four
    // Another specific address does not overlap: the same ports are free for it.
    CHECK(error_of(m.bind(s[5], kA2, Port(0), kNone)) == 0);
    // Freeing one port makes exactly that one available.
    Owner holder = nullptr;
    for (std::size_t i = 0; i < 4; ++i) {
        if (m.find(s[i])->port == Port(40002)) holder = s[i];
    }
    REQUIRE(holder != nullptr);
    REQUIRE(m.release(holder));
    const BindResult again = m.bind(s[6], kA1, Port(0), kNone);
    CHECK(again.error == 0);
    CHECK(again.port == Port(40002));
}

TEST_CASE("PortManager: port 0 never shares a TCP port but may share a UDP one", "[socket]") {
    Sockets s;
    SECTION("tcp") {
        PortManager m(Transport::tcp, 1);
        REQUIRE(m.set_ephemeral_range(40000, 40000) == 0);
        REQUIRE(error_of(m.bind(s[0], kAny, Port(40000), kBoth)) == 0);
        // inet_csk_find_open_port(): no sharing, whatever the options.
        CHECK(error_of(m.bind(s[1], kAny, Port(0), kBoth)) == EADDRINUSE);
        // Naming the port explicitly is allowed by the reuse rules.
        CHECK(error_of(m.bind(s[1], kAny, Port(40000), kBoth)) == 0);
    }
    SECTION("udp") {
        PortManager m(Transport::udp, 1);
        REQUIRE(m.set_ephemeral_range(40000, 40000) == 0);
        REQUIRE(error_of(m.bind(s[0], kAny, Port(40000), kReuseAddr)) == 0);
        const BindResult shared = m.bind(s[1], kAny, Port(0), kReuseAddr);
        CHECK(shared.error == 0);
        CHECK(shared.port == Port(40000));
        CHECK(error_of(m.bind(s[2], kAny, Port(0), kNone)) == EADDRINUSE);
    }
}

TEST_CASE("PortManager: UDP lookup prefers connected, then specific, then wildcard", "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    const Owner wildcard = s[0];
    const Owner specific = s[1];
    const Owner connected = s[2];
    REQUIRE(error_of(m.bind(wildcard, kAny, Port(53), kReuseAddr)) == 0);
    REQUIRE(error_of(m.bind(specific, kA1, Port(53), kReuseAddr)) == 0);
    REQUIRE(error_of(m.bind(connected, kAny, Port(53), kReuseAddr)) == 0);
    // connect() fixes the wildcard address to the route's source (ip4_datagram_connect).
    REQUIRE(m.set_connected(connected, kA1, kPeer, Port(4000)));
    CHECK(m.find(connected)->local == kA1);
    CHECK(m.find(connected)->connected);

    CHECK(m.lookup(kA1, Port(53), kPeer, Port(4000), 0) == connected);
    CHECK(m.lookup(kA1, Port(53), kPeer, Port(4001), 0) == specific);
    CHECK(m.lookup(kA1, Port(53), kPeer2, Port(4000), 0) == specific);
    CHECK(m.lookup(kA2, Port(53), kPeer, Port(4000), 0) == wildcard);
    CHECK(m.lookup(kA1, Port(54), kPeer, Port(4000), 0) == nullptr);

    REQUIRE(m.release(specific));
    CHECK(m.lookup(kA1, Port(53), kPeer, Port(4001), 0) == wildcard);
    CHECK(m.lookup(kA1, Port(53), kPeer, Port(4000), 0) == connected);
    REQUIRE(m.release(wildcard));
    CHECK(m.lookup(kA1, Port(53), kPeer, Port(4001), 0) == nullptr);
    CHECK(m.lookup(kA1, Port(53), kPeer, Port(4000), 0) == connected);
}

TEST_CASE("PortManager: a specific address outranks a connected wildcard socket", "[socket]") {
    // __udp4_lib_lookup() searches the exact address first, then 0.0.0.0.
    PortManager m(Transport::udp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kAny, Port(53), kReuseAddr)) == 0);
    REQUIRE(m.set_connected(s[0], kAny, kPeer, Port(4000)));  // no source known: stays 0.0.0.0
    REQUIRE(error_of(m.bind(s[1], kA1, Port(53), kReuseAddr)) == 0);
    CHECK(m.lookup(kA1, Port(53), kPeer, Port(4000), 0) == s[1]);
    CHECK(m.lookup(kA2, Port(53), kPeer, Port(4000), 0) == s[0]);
    // A connected socket takes only its own peer's datagrams.
    CHECK(m.lookup(kA2, Port(53), kPeer, Port(4001), 0) == nullptr);
    REQUIRE(error_of(m.bind(s[2], kAny, Port(53), kReuseAddr)) == 0);
    CHECK(m.lookup(kA2, Port(53), kPeer, Port(4001), 0) == s[2]);
    CHECK(m.lookup(kA2, Port(53), kPeer, Port(4000), 0) == s[0]);
}

TEST_CASE("PortManager: of equal UDP candidates the newest bound wins", "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kA1, Port(5060), kReuseAddr)) == 0);
    REQUIRE(error_of(m.bind(s[1], kA1, Port(5060), kReuseAddr)) == 0);
    CHECK(m.lookup(kA1, Port(5060), kPeer, Port(1), 0) == s[1]);
    REQUIRE(error_of(m.bind(s[2], kA1, Port(5060), kReuseAddr)) == 0);
    CHECK(m.lookup(kA1, Port(5060), kPeer, Port(1), 0) == s[2]);
    REQUIRE(m.release(s[2]));
    CHECK(m.lookup(kA1, Port(5060), kPeer, Port(1), 0) == s[1]);
}

TEST_CASE("PortManager: a SO_REUSEPORT group spreads flows by hash", "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    for (std::size_t i = 0; i < 4; ++i) REQUIRE(error_of(m.bind(s[i], kAny, Port(5353), kReusePort)) == 0);

    const std::map<int, int> counts = spread(m, s, kA1, Port(5353));
    REQUIRE(counts.size() == 4);
    for (int i = 0; i < 4; ++i) {
        CAPTURE(i);
        CHECK(counts.at(i) > 150);
        CHECK(counts.at(i) < 350);
    }
    // One flow, one socket: the same hash always gives the same member.
    for (const std::uint32_t h : flow_hashes()) {
        const Owner first = m.lookup(kA1, Port(5353), kPeer, Port(1000), h);
        REQUIRE(m.lookup(kA1, Port(5353), kPeer, Port(1000), h) == first);
        REQUIRE(m.lookup(kA2, Port(5353), kPeer2, Port(7), h) == first);
    }
    // A member leaves: its flows go to the others, all of which still get some.
    REQUIRE(m.release(s[1]));
    const std::map<int, int> after = spread(m, s, kA1, Port(5353));
    CHECK(after.count(1) == 0);
    REQUIRE(after.size() == 3);
    for (const int i : {0, 2, 3}) {
        CAPTURE(i);
        CHECK(after.at(i) > 200);
    }
}

TEST_CASE("PortManager: a connected member leaves its SO_REUSEPORT group", "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    for (std::size_t i = 0; i < 3; ++i) REQUIRE(error_of(m.bind(s[i], kA1, Port(6000), kReusePort)) == 0);
    REQUIRE(m.set_connected(s[2], kA1, kPeer2, Port(9)));
    // Its own flow reaches it whatever the hash; no other flow does.
    for (const std::uint32_t h : flow_hashes()) REQUIRE(m.lookup(kA1, Port(6000), kPeer2, Port(9), h) == s[2]);
    const std::map<int, int> counts = spread(m, s, kA1, Port(6000));
    CHECK(counts.count(2) == 0);
    CHECK(counts.size() == 2);
    CHECK(counts.at(0) > 300);
    CHECK(counts.at(1) > 300);
}

TEST_CASE("PortManager: SO_REUSEPORT groups are per exact local address", "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kAny, Port(7000), kReusePort)) == 0);
    REQUIRE(error_of(m.bind(s[1], kAny, Port(7000), kReusePort)) == 0);
    REQUIRE(error_of(m.bind(s[2], kA1, Port(7000), kReusePort)) == 0);
    REQUIRE(error_of(m.bind(s[3], kA1, Port(7000), kReusePort)) == 0);
    const std::map<int, int> to_a1 = spread(m, s, kA1, Port(7000));
    CHECK(to_a1.size() == 2);
    CHECK(to_a1.count(2) == 1);
    CHECK(to_a1.count(3) == 1);
    const std::map<int, int> to_a2 = spread(m, s, kA2, Port(7000));
    CHECK(to_a2.size() == 2);
    CHECK(to_a2.count(0) == 1);
    CHECK(to_a2.count(1) == 1);
}

TEST_CASE("PortManager: disconnect restores the bound address or releases an automatic port",
          "[socket]") {
    PortManager m(Transport::udp, 1);
    Sockets s;
    SECTION("explicit port, wildcard address") {
        REQUIRE(error_of(m.bind(s[0], kAny, Port(7100), kNone)) == 0);
        REQUIRE(m.set_connected(s[0], kA1, kPeer, Port(9)));
        CHECK(m.find(s[0])->local == kA1);
        CHECK(m.lookup(kA1, Port(7100), kPeer2, Port(9), 0) == nullptr);
        CHECK(m.clear_connected(s[0]) == DisconnectResult::still_bound);
        const auto info = m.find(s[0]);
        REQUIRE(info.has_value());
        CHECK(info->local == kAny);
        CHECK_FALSE(info->connected);
        CHECK(info->remote == kAny);
        CHECK(info->remote_port == Port(0));
        CHECK(m.lookup(kA2, Port(7100), kPeer2, Port(9), 0) == s[0]);
    }
    SECTION("explicit address") {
        REQUIRE(error_of(m.bind(s[0], kA2, Port(7101), kNone)) == 0);
        REQUIRE(m.set_connected(s[0], kA1, kPeer, Port(9)));
        CHECK(m.find(s[0])->local == kA2);  // a bound address is kept
        CHECK(m.clear_connected(s[0]) == DisconnectResult::still_bound);
        CHECK(m.find(s[0])->local == kA2);
    }
    SECTION("automatic port") {
        const BindResult r = m.bind(s[0], kAny, Port(0), kNone);
        REQUIRE(r.error == 0);
        REQUIRE(m.set_connected(s[0], kA1, kPeer, Port(9)));
        CHECK(m.clear_connected(s[0]) == DisconnectResult::released);
        CHECK_FALSE(m.find(s[0]).has_value());
        CHECK(m.lookup(kA1, r.port, kPeer, Port(9), 0) == nullptr);
    }
    SECTION("unknown owner") {
        CHECK(m.clear_connected(s[0]) == DisconnectResult::not_bound);
        CHECK_FALSE(m.set_connected(s[0], kA1, kPeer, Port(9)));
    }
}

TEST_CASE("PortManager: connect_port follows RFC 6056 Algorithm 3", "[socket]") {
    PortManager a(Transport::tcp, 99);
    PortManager b(Transport::tcp, 99);
    Sockets s;
    const BindResult first = a.connect_port(s[0], kA1, kPeer, Port(80), kNone);
    REQUIRE(first.error == 0);
    CHECK(first.port.value() >= 32768);
    CHECK(first.port.value() <= 60999);
    const auto info = a.find(s[0]);
    REQUIRE(info.has_value());
    CHECK(info->local == kA1);
    CHECK(info->connected);
    CHECK(info->remote == kPeer);
    CHECK(info->remote_port == Port(80));
    // Same peer again: the same hash offset, the counter one further.
    const auto next = [](std::uint16_t p) { return static_cast<std::uint16_t>(p == 60999 ? 32768 : p + 1); };
    const BindResult second = a.connect_port(s[1], kA1, kPeer, Port(80), kNone);
    REQUIRE(second.error == 0);
    CHECK(second.port.value() == next(first.port.value()));

    // The same seed, with a predicate that rejects the first two candidates: the third is
    // taken, and the predicate saw exactly those three.
    std::vector<std::uint16_t> asked;
    const auto reject_two = [&](Port p) {
        asked.push_back(p.value());
        return asked.size() > 2;
    };
    const BindResult third = b.connect_port(s[0], kA1, kPeer, Port(80), kNone, reject_two);
    REQUIRE(third.error == 0);
    const std::uint16_t p0 = first.port.value();
    CHECK(asked == std::vector<std::uint16_t>{p0, next(p0), next(next(p0))});
    CHECK(third.port.value() == next(next(p0)));

    // A predicate that rejects everything exhausts the range: EADDRNOTAVAIL, as connect().
    const BindResult none = b.connect_port(s[1], kA1, kPeer, Port(80), kNone, [](Port) { return false; });
    CHECK(none.error == EADDRNOTAVAIL);
    CHECK(none.port == Port(0));
    CHECK_FALSE(b.find(s[1]).has_value());
}

TEST_CASE("PortManager: connect_port offsets differ per destination", "[socket]") {
    PortManager m(Transport::tcp, 5);
    Sockets s;
    std::set<std::uint16_t> ports;
    for (std::size_t i = 0; i < 20; ++i) {
        const Ipv4Address peer(198, 51, 100, static_cast<std::uint8_t>(i + 1));
        const BindResult r = m.connect_port(s[i], kA1, peer, Port(443), kNone);
        REQUIRE(r.error == 0);
        ports.insert(r.port.value());
    }
    // Twenty peers, twenty unrelated offsets: not a run of consecutive ports.
    CHECK(ports.size() == 20);
    CHECK(*ports.rbegin() - *ports.begin() > 1000);
}

TEST_CASE("PortManager: connect_port avoids bound ports and duplicate 4-tuples", "[socket]") {
    PortManager m(Transport::tcp, 11);
    REQUIRE(m.set_ephemeral_range(40000, 40001) == 0);
    Sockets s;
    // bind() holds 40000 on another address: connect() still never takes it.
    REQUIRE(error_of(m.bind(s[0], kA2, Port(40000), kNone)) == 0);
    const BindResult c1 = m.connect_port(s[1], kA1, kPeer, Port(80), kNone);
    REQUIRE(c1.error == 0);
    CHECK(c1.port == Port(40001));
    // The only candidate already carries (kA1, 40001, kPeer, 80).
    CHECK(error_of(m.connect_port(s[2], kA1, kPeer, Port(80), kNone)) == EADDRNOTAVAIL);
    // Another destination may share the port.
    const BindResult c2 = m.connect_port(s[2], kA1, kPeer, Port(81), kNone);
    CHECK(c2.error == 0);
    CHECK(c2.port == Port(40001));
    // An explicit bind over a connected socket's port obeys the ordinary rules.
    CHECK(error_of(m.bind(s[3], kA1, Port(40001), kNone)) == EADDRINUSE);
    CHECK(error_of(m.bind(s[3], kAny, Port(40001), kNone)) == EADDRINUSE);
    CHECK(error_of(m.bind(s[3], kA2, Port(40001), kNone)) == 0);
    // ...after which connect() may not use it either.
    CHECK(error_of(m.connect_port(s[4], kA1, kPeer2, Port(80), kNone)) == EADDRNOTAVAIL);
}

TEST_CASE("PortManager: connect_port's predicate decides 4-tuple reuse", "[socket]") {
    PortManager m(Transport::tcp, 11);
    REQUIRE(m.set_ephemeral_range(40000, 40000) == 0);
    Sockets s;
    // TCP may reuse a 4-tuple (a TIME_WAIT it recycles): the predicate overrides the
    // manager's own duplicate check.
    const auto always = [](Port) { return true; };
    CHECK(m.connect_port(s[0], kA1, kPeer, Port(80), kNone, always).port == Port(40000));
    CHECK(m.connect_port(s[1], kA1, kPeer, Port(80), kNone, always).port == Port(40000));
}

TEST_CASE("PortManager: connected sockets and port 0 binds", "[socket]") {
    PortManager m(Transport::tcp, 11);
    REQUIRE(m.set_ephemeral_range(40000, 40000) == 0);
    Sockets s;
    REQUIRE(m.connect_port(s[0], kA1, kPeer, Port(80), kReuseAddr).port == Port(40000));
    // A TCP port-0 bind shares with nothing that overlaps.
    CHECK(error_of(m.bind(s[1], kAny, Port(0), kReuseAddr)) == EADDRINUSE);
    CHECK(m.bind(s[1], kA2, Port(0), kReuseAddr).port == Port(40000));
    // All SO_REUSEADDR, nobody listening: an explicit bind may share.
    CHECK(error_of(m.bind(s[2], kAny, Port(40000), kReuseAddr)) == 0);
}

TEST_CASE("PortManager: accepted TCP connections hold the listener's port", "[socket]") {
    Sockets s;
    SECTION("without SO_REUSEADDR") {
        PortManager m(Transport::tcp, 1);
        REQUIRE(error_of(m.bind(s[0], kAny, Port(80), kNone)) == 0);
        REQUIRE(m.listen(s[0]) == 0);
        CHECK(m.inherit(s[1], s[0], kA1, kPeer, Port(5555)) == 0);
        const auto child = m.find(s[1]);
        REQUIRE(child.has_value());
        CHECK(child->port == Port(80));
        CHECK(child->connected);
        CHECK_FALSE(child->listening);
        // SYN lookups see the listener, never the child.
        CHECK(m.lookup(kA1, Port(80), kPeer, Port(5555), 0) == s[0]);
        REQUIRE(m.release(s[0]));
        CHECK(m.lookup(kA1, Port(80), kPeer, Port(5555), 0) == nullptr);
        // The server restarts while the old connection lingers (e.g. TIME_WAIT).
        CHECK(error_of(m.bind(s[2], kAny, Port(80), kNone)) == EADDRINUSE);
        CHECK(error_of(m.bind(s[2], kAny, Port(80), kReuseAddr)) == EADDRINUSE);
        REQUIRE(m.release(s[1]));
        CHECK(error_of(m.bind(s[2], kAny, Port(80), kNone)) == 0);
    }
    SECTION("with SO_REUSEADDR") {
        PortManager m(Transport::tcp, 1);
        REQUIRE(error_of(m.bind(s[0], kAny, Port(80), kReuseAddr)) == 0);
        REQUIRE(m.listen(s[0]) == 0);
        REQUIRE(m.inherit(s[1], s[0], kA1, kPeer, Port(5555)) == 0);
        REQUIRE(m.release(s[0]));
        CHECK(error_of(m.bind(s[2], kAny, Port(80), kNone)) == EADDRINUSE);
        CHECK(error_of(m.bind(s[2], kAny, Port(80), kReuseAddr)) == 0);
        CHECK(m.listen(s[2]) == 0);
    }
    SECTION("errors") {
        PortManager m(Transport::tcp, 1);
        REQUIRE(error_of(m.bind(s[0], kAny, Port(80), kNone)) == 0);
        CHECK(m.inherit(s[1], s[9], kA1, kPeer, Port(1)) == EINVAL);  // parent unbound
        CHECK(m.inherit(s[0], s[0], kA1, kPeer, Port(1)) == EINVAL);  // child bound
        PortManager u(Transport::udp, 1);
        REQUIRE(error_of(u.bind(s[0], kAny, Port(80), kNone)) == 0);
        CHECK(u.inherit(s[1], s[0], kA1, kPeer, Port(1)) == EOPNOTSUPP);
    }
}

TEST_CASE("PortManager: TCP lookup finds listeners and spreads SO_REUSEPORT ones", "[socket]") {
    PortManager m(Transport::tcp, 1);
    Sockets s;
    REQUIRE(error_of(m.bind(s[0], kA1, Port(8080), kNone)) == 0);
    CHECK(m.lookup(kA1, Port(8080), kPeer, Port(1), 0) == nullptr);  // bound, not listening
    REQUIRE(m.listen(s[0]) == 0);
    CHECK(m.lookup(kA1, Port(8080), kPeer, Port(1), 0) == s[0]);
    CHECK(m.lookup(kA2, Port(8080), kPeer, Port(1), 0) == nullptr);

    for (std::size_t i = 1; i <= 3; ++i) {
        REQUIRE(error_of(m.bind(s[i], kAny, Port(443), kReusePort)) == 0);
        REQUIRE(m.listen(s[i]) == 0);
    }
    const std::map<int, int> counts = spread(m, s, kA1, Port(443));
    REQUIRE(counts.size() == 3);
    for (const int i : {1, 2, 3}) {
        CAPTURE(i);
        CHECK(counts.at(i) > 200);
    }
}

// Reference vectors of SipHash-2-4: key 00 01 .. 0f, message 00 01 .. (n-1), for n = 0, 8
// and 16 (the words are the bytes read little-endian).
TEST_CASE("siphash24 matches the reference vectors", "[socket]") {
    const std::uint64_t k0 = 0x0706050403020100ull;
    const std::uint64_t k1 = 0x0f0e0d0c0b0a0908ull;
    CHECK(detail::siphash24(k0, k1, {}) == 0x726fdb47dd0e0e31ull);
    const std::uint64_t one[1] = {0x0706050403020100ull};
    CHECK(detail::siphash24(k0, k1, one) == 0x93f5f5799a932462ull);
    const std::uint64_t two[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    CHECK(detail::siphash24(k0, k1, two) == 0x3f2acc7f57c29bdbull);
}
