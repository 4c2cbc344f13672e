#include <catch2/catch.hpp>

#include <vector>

#include "forge.hpp"
#include "iface/interface.hpp"
#include "time/clock.hpp"

using pollux::buf::PacketBuf;
using pollux::iface::Interface;
using pollux::iface::InterfaceConfig;
using pollux::iface::LinkCounters;
using pollux::iface::OutputStatus;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::time::ManualClock;
using pollux::wire::ArpOperation;
using pollux::wire::EtherType;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Cidr;
using pollux::wire::MacAddress;
using namespace pollux::test::forge;

namespace {

const MacAddress our_mac = mac(0x01);
const Ipv4Address our_ip = ip(0, 1);
const MacAddress peer_mac = mac(0x02);
const Ipv4Address peer_ip = ip(0, 2);
const Ipv4Address gw_ip = ip(0, 254);
const MacAddress gw_mac = mac(0xfe);

InterfaceConfig config(bool with_gateway = true) {
    InterfaceConfig c;
    c.mac = our_mac;
    c.address = Ipv4Cidr(our_ip, 24);
    if (with_gateway) c.gateway = gw_ip;
    return c;
}

struct Link {
    explicit Link(bool with_gateway = true) : iface(config(with_gateway), sink, pollux::test::mbuf_pool()) {
        iface.set_ipv4_receiver(&receiver);
    }
    void receive(const Bytes& frame) { iface.ingress(packet(frame), clock.now()); }
    const LinkCounters& c() const { return iface.counters(); }
    // The sum of every rx drop counter: each test checks exactly one moved.
    std::uint64_t rx_drops() const {
        return c().rx_drop_truncated.get() + c().rx_drop_not_for_us.get() + c().rx_drop_vlan.get() +
               c().rx_drop_unknown_ethertype.get();
    }

    ManualClock clock{Instant::from_ns(1'000'000'000)};
    CaptureSink sink;
    CaptureReceiver receiver;
    Interface iface;
};

Bytes some_datagram(Ipv4Address src = peer_ip, Ipv4Address dst = our_ip, std::size_t n = 40) {
    return ipv4(ipv4_header(src, dst, 17), pattern(n, 7));
}

}  // namespace

TEST_CASE("Interface ingress: IPv4 for our MAC or broadcast reaches the receiver without the Ethernet header",
          "[iface]") {
    Link l;
    const Bytes d = some_datagram();
    l.receive(ipv4_frame(our_mac, peer_mac, d));
    const Bytes small = some_datagram(peer_ip, our_ip, 4);  // 24 bytes: the frame is padded
    l.receive(ipv4_frame(MacAddress::broadcast(), peer_mac, small));
    REQUIRE(l.receiver.packets.size() == 2);
    CHECK(l.receiver.packets[0] == d);
    // Padding is the IP layer's to trim: the receiver sees all 46 bytes after the header.
    REQUIRE(l.receiver.packets[1].size() == 46);
    CHECK(Bytes(l.receiver.packets[1].begin(), l.receiver.packets[1].begin() + 24) == small);
    CHECK(l.c().rx_frames.get() == 2);
    CHECK(l.c().rx_bytes.get() == 14 + d.size() + 60);
    CHECK(l.rx_drops() == 0);
}

TEST_CASE("Interface ingress: each kind of unwanted frame lands in its own counter", "[iface]") {
    Link l;
    const Bytes d = some_datagram();
    SECTION("unicast to another MAC") {
        l.receive(ipv4_frame(mac(0x09), peer_mac, d));
        CHECK(l.c().rx_drop_not_for_us.get() == 1);
    }
    SECTION("multicast (pollux joins no group)") {
        l.receive(ipv4_frame(MacAddress({0x03, 0, 0, 0, 0, 0x01}), peer_mac, d));
        CHECK(l.c().rx_drop_not_for_us.get() == 1);
    }
    SECTION("802.1Q tagged") {
        Bytes f = ethernet(our_mac, peer_mac, EtherType::vlan, Bytes{0x00, 0x05, 0x08, 0x00});
        f.insert(f.end(), d.begin(), d.end());
        l.receive(f);
        CHECK(l.c().rx_drop_vlan.get() == 1);
    }
    SECTION("IPv6") {
        l.receive(ethernet(our_mac, peer_mac, EtherType::ipv6, pattern(46, 1)));
        CHECK(l.c().rx_drop_unknown_ethertype.get() == 1);
    }
    SECTION("an 802.3 length field instead of a type") {
        l.receive(ethernet(our_mac, peer_mac, std::uint16_t{46}, pattern(46, 1)));
        CHECK(l.c().rx_drop_unknown_ethertype.get() == 1);
    }
    SECTION("shorter than an Ethernet header") {
        l.receive(Bytes(13, 0x02));
        CHECK(l.c().rx_drop_truncated.get() == 1);
    }
    SECTION("a tag that is cut off") {
        Bytes f = ethernet(our_mac, peer_mac, EtherType::vlan, Bytes{0x00});
        l.receive(f);
        CHECK(l.c().rx_drop_truncated.get() == 1);
    }
    CHECK(l.rx_drops() == 1);
    CHECK(l.c().rx_frames.get() == 1);
    CHECK(l.receiver.packets.empty());
    CHECK(l.sink.frames.empty());
}

TEST_CASE("Interface output: broadcast destinations use ff:ff:ff:ff:ff:ff without ARP", "[iface]") {
    Link l;
    for (Ipv4Address dst : {Ipv4Address::broadcast(), ip(0, 255)}) {
        const Bytes d = some_datagram(our_ip, dst);
        CHECK(l.iface.output_ipv4(packet(d), dst, l.clock.now()) == OutputStatus::sent);
        const auto frames = l.sink.take();
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].eth.dst == MacAddress::broadcast());
        CHECK(frames[0].eth.src == our_mac);
        CHECK(frames[0].eth.ethertype == EtherType::ipv4);
        CHECK(frames[0].payload == d);
    }
    CHECK(l.iface.arp().counters().tx_requests.get() == 0);
    CHECK(l.c().tx_frames.get() == 2);
}

TEST_CASE("Interface output: off-link destinations go to the gateway's MAC", "[iface]") {
    const unsigned before = pool_in_use();
    {
        Link l;
        const Ipv4Address far = Ipv4Address(198, 19, 4, 5);
        const Bytes d = some_datagram(our_ip, far);
        CHECK(l.iface.output_ipv4(packet(d), far, l.clock.now()) == OutputStatus::sent);
        auto frames = l.sink.take();
        REQUIRE(frames.size() == 1);
        const auto req = parse_arp(frames[0]);
        CHECK(req.target_ip == gw_ip);  // ARP asks for the gateway, not the destination
        CHECK(l.iface.arp().table().find(far) == nullptr);

        l.receive(arp_frame(our_mac, arp_reply(gw_mac, gw_ip, our_mac, our_ip)));
        frames = l.sink.take();
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].eth.dst == gw_mac);
        CHECK(frames[0].payload == d);

        // On-link destinations still resolve themselves.
        CHECK(l.iface.output_ipv4(packet(some_datagram(our_ip, peer_ip)), peer_ip, l.clock.now()) ==
              OutputStatus::sent);
        frames = l.sink.take();
        REQUIRE(frames.size() == 1);
        CHECK(parse_arp(frames[0]).target_ip == peer_ip);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Interface output: no route without a gateway; the packet is freed", "[iface]") {
    const unsigned before = pool_in_use();
    {
        Link l(false);
        const Ipv4Address far = Ipv4Address(198, 19, 4, 5);
        CHECK(l.iface.output_ipv4(packet(some_datagram(our_ip, far)), far, l.clock.now()) == OutputStatus::no_route);
        CHECK(l.sink.frames.empty());
        CHECK(l.iface.arp().table().size() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Interface output: a packet without headroom for the Ethernet header is dropped and counted", "[iface]") {
    const unsigned before = pool_in_use();
    {
        Link l;
        PacketBuf p = PacketBuf::alloc(pollux::test::mbuf_pool());
        REQUIRE(p);
        REQUIRE(p.prepend(p.headroom()) != nullptr);  // data now starts at the buffer's start
        REQUIRE(p.headroom() == 0);
        CHECK(l.iface.output_ipv4(std::move(p), peer_ip, l.clock.now()) == OutputStatus::dropped);
        CHECK(l.c().tx_drop_no_headroom.get() == 1);
        CHECK(l.sink.frames.empty());
        CHECK(l.iface.arp().table().size() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Interface: ARP and IPv4 leave with the header lengths a NIC offload needs", "[iface]") {
    Link l;
    l.receive(arp_frame(MacAddress::broadcast(), arp_request(peer_mac, peer_ip, our_ip)));
    REQUIRE(l.sink.frames.size() == 1);
    CHECK(parse_arp(parse_frame(l.sink.frames[0])).operation == ArpOperation::reply);
    l.sink.frames.clear();
    PacketBuf p = packet(some_datagram(our_ip, peer_ip));
    p.set_header_lengths(0, 20, 8);
    CHECK(l.iface.output_ipv4(std::move(p), peer_ip, l.clock.now()) == OutputStatus::sent);
    REQUIRE(l.sink.frames.size() == 1);
    CHECK(l.sink.frames[0].l2_len() == 14);
    CHECK(l.sink.frames[0].l3_len() == 20);
    CHECK(l.sink.frames[0].l4_len() == 8);
}
