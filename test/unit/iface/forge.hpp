// Test helpers for the data-path tests (iface, ip, runtime): frames forged from the wire
// Reprs into PacketBufs of the shared test pool, frames taken apart again, and capturing
// sinks for what a layer sends or delivers. Only test addresses: 198.18.0.0/15 and MACs
// 02:00:00:00:00:xx.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "buf/packet_buf.hpp"
#include "iface/frame_sink.hpp"
#include "iface/interface.hpp"
#include "ip/ipv4_layer.hpp"
#include "ip/transport.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"
#include "time/clock.hpp"
#include "time/instant.hpp"
#include "wire/arp.hpp"
#include "wire/byte_order.hpp"
#include "wire/checksum.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"

namespace pollux::test::forge {

using pollux::test::Bytes;
using pollux::test::chained;
using pollux::test::contents;
using pollux::test::packet;
using pollux::test::pattern;
using pollux::test::pool_in_use;

// 02:00:00:00:00:xx (locally administered, unicast).
inline wire::MacAddress mac(std::uint8_t last) { return wire::MacAddress({0x02, 0, 0, 0, 0, last}); }
// 198.18.<c>.<d>
inline wire::Ipv4Address ip(std::uint8_t c, std::uint8_t d) { return wire::Ipv4Address(198, 18, c, d); }

// ---- building ----

inline Bytes ethernet(const wire::MacAddress& dst, const wire::MacAddress& src, std::uint16_t ethertype,
                      std::span<const std::uint8_t> payload) {
    Bytes b(wire::ethernet::header_len);
    dst.to_bytes(&b[0]);
    src.to_bytes(&b[6]);
    wire::store_be16(&b[12], ethertype);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

inline Bytes ethernet(const wire::MacAddress& dst, const wire::MacAddress& src, wire::EtherType type,
                      std::span<const std::uint8_t> payload) {
    return ethernet(dst, src, static_cast<std::uint16_t>(type), payload);
}

// An ARP frame, padded to the 60-byte Ethernet minimum as a NIC receives it.
inline Bytes arp_frame(const wire::MacAddress& eth_dst, const wire::ArpRepr& arp) {
    Bytes body(wire::ArpRepr::buffer_len());
    arp.emit(body);
    Bytes f = ethernet(eth_dst, arp.sender_mac, wire::EtherType::arp, body);
    f.resize(60, 0);
    return f;
}

inline wire::ArpRepr arp_request(const wire::MacAddress& sender_mac, wire::Ipv4Address sender_ip,
                                 wire::Ipv4Address target_ip) {
    wire::ArpRepr r;
    r.operation = wire::ArpOperation::request;
    r.sender_mac = sender_mac;
    r.sender_ip = sender_ip;
    r.target_ip = target_ip;
    return r;
}

inline wire::ArpRepr arp_reply(const wire::MacAddress& sender_mac, wire::Ipv4Address sender_ip,
                               const wire::MacAddress& target_mac, wire::Ipv4Address target_ip) {
    wire::ArpRepr r;
    r.operation = wire::ArpOperation::reply;
    r.sender_mac = sender_mac;
    r.sender_ip = sender_ip;
    r.target_mac = target_mac;
    r.target_ip = target_ip;
    return r;
}

inline wire::Ipv4Repr ipv4_header(wire::Ipv4Address src, wire::Ipv4Address dst, std::uint8_t protocol,
                                  std::uint16_t ident = 0x1234) {
    wire::Ipv4Repr r;
    r.src = src;
    r.dst = dst;
    r.protocol = static_cast<wire::IpProtocol>(protocol);
    r.ident = ident;
    r.ttl = 64;
    return r;
}

// An IPv4 datagram (20-byte header, valid checksum) around `payload`; payload_len is set.
inline Bytes ipv4(wire::Ipv4Repr r, std::span<const std::uint8_t> payload) {
    r.payload_len = static_cast<std::uint16_t>(payload.size());
    Bytes b(wire::ipv4::min_header_len + payload.size());
    r.emit(b);
    std::copy(payload.begin(), payload.end(), b.begin() + wire::ipv4::min_header_len);
    return b;
}

// Rewrites the header checksum of the IPv4 header at the start of `b` (after a test
// changed a field), over IHL*4 bytes.
inline void fix_ipv4_checksum(Bytes& b, std::size_t at = 0) {
    const std::size_t hl = std::size_t{b[at] & 0x0fu} * 4;
    wire::store_be16(&b[at + wire::ipv4::checksum_offset], 0);
    wire::store_be16(&b[at + wire::ipv4::checksum_offset],
                     wire::internet_checksum(std::span(b).subspan(at, hl)));
}

inline Bytes icmp_echo(wire::IcmpType type, std::uint16_t ident, std::uint16_t seq, std::span<const std::uint8_t> data) {
    wire::IcmpRepr r;
    r.type = type;
    r.echo_ident = ident;
    r.echo_seq = seq;
    r.data = data;
    Bytes b(r.buffer_len());
    r.emit(b);
    return b;
}

// An ICMP error of `type`/`code` quoting `quoted` (an IPv4 datagram, or its first bytes).
inline Bytes icmp_error(wire::IcmpType type, std::uint8_t code, std::span<const std::uint8_t> quoted,
                        std::uint16_t mtu = 0) {
    wire::IcmpRepr r;
    r.type = type;
    r.code = code;
    r.next_hop_mtu = mtu;
    r.data = quoted;
    Bytes b(r.buffer_len());
    r.emit(b);
    return b;
}

// The IPv4 frame `dst_mac` <- `src_mac` carrying `datagram`, padded to 60 bytes.
inline Bytes ipv4_frame(const wire::MacAddress& dst_mac, const wire::MacAddress& src_mac,
                        std::span<const std::uint8_t> datagram) {
    Bytes f = ethernet(dst_mac, src_mac, wire::EtherType::ipv4, datagram);
    if (f.size() < 60) f.resize(60, 0);
    return f;
}

// The fragments of `payload` under `header` with `chunk` payload bytes each (a multiple
// of 8 but the last), as full IPv4 datagrams.
inline std::vector<Bytes> fragments(const wire::Ipv4Repr& header, std::span<const std::uint8_t> payload,
                                    std::size_t chunk) {
    std::vector<Bytes> out;
    for (std::size_t off = 0; off < payload.size(); off += chunk) {
        const std::size_t n = std::min(chunk, payload.size() - off);
        wire::Ipv4Repr r = header;
        r.frag_offset = static_cast<std::uint16_t>(off);
        r.more_fragments = off + n < payload.size();
        out.push_back(ipv4(r, payload.subspan(off, n)));
    }
    return out;
}

// ---- taking apart ----

struct Frame {
    wire::EthernetRepr eth;
    Bytes payload;  // after the Ethernet header, padding included
};

inline Frame parse_frame(const buf::PacketBuf& p) {
    const Bytes b = contents(p);
    const auto eth = wire::EthernetRepr::parse(b);
    REQUIRE(eth.ok());
    return Frame{*eth, Bytes(b.begin() + static_cast<std::ptrdiff_t>(eth->buffer_len()), b.end())};
}

inline wire::ArpRepr parse_arp(const Frame& f) {
    REQUIRE(f.eth.ethertype == wire::EtherType::arp);
    const auto arp = wire::ArpRepr::parse(f.payload);
    REQUIRE(arp.ok());
    return *arp;
}

// The IPv4 datagram of an IPv4 frame (checksum verified), and its bytes without padding.
struct Datagram {
    wire::Ipv4Repr ip;
    Bytes bytes;  // header and payload, total-length bytes
    std::span<const std::uint8_t> payload() const { return std::span(bytes).subspan(ip.header_len); }
};

inline Datagram parse_datagram(const Frame& f) {
    REQUIRE(f.eth.ethertype == wire::EtherType::ipv4);
    const auto ip = wire::Ipv4Repr::parse(f.payload);
    REQUIRE(ip.ok());
    return Datagram{*ip, Bytes(f.payload.begin(), f.payload.begin() + ip->header_len + ip->payload_len)};
}

// ---- capturing ends ----

class CaptureSink final : public iface::FrameSink {
public:
    void transmit(buf::PacketBuf&& frame) noexcept override { frames.push_back(std::move(frame)); }
    std::vector<Frame> take() {
        std::vector<Frame> out;
        for (auto& p : frames) out.push_back(parse_frame(p));
        frames.clear();
        return out;
    }
    std::vector<buf::PacketBuf> frames;
};

class CaptureReceiver final : public iface::Ipv4Receiver {
public:
    void ipv4_input(buf::PacketBuf&& packet, time::Instant, bool) noexcept override { packets.push_back(contents(packet)); }
    std::vector<Bytes> packets;
};

class CaptureTransport final : public ip::TransportHandler {
public:
    struct Error {
        wire::IcmpType type;
        std::uint8_t code;
        std::uint16_t mtu;
        wire::Ipv4Repr quoted_ip;
        Bytes quoted_transport;
    };
    void input(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, time::Instant) noexcept override {
        lengths.push_back(packet.length());
        headers.push_back(ip);
        packets.push_back(contents(packet));
    }
    void icmp_error(const wire::IcmpRepr& icmp, const wire::IcmpRepr::Quoted& quoted, time::Instant) noexcept override {
        errors.push_back(Error{icmp.type, icmp.code, icmp.next_hop_mtu, quoted.ip,
                               Bytes(quoted.transport.begin(), quoted.transport.end())});
    }
    std::vector<std::uint32_t> lengths;
    std::vector<wire::Ipv4Repr> headers;
    std::vector<Bytes> packets;
    std::vector<Error> errors;
};

// ---- an interface and its IPv4 layer on a manual clock ----

// We are 198.18.0.1/24 (02:..:01) with gateway 198.18.0.254; the peer 198.18.0.2 (02:..:02)
// is already in the ARP cache, so packets to it leave at once.
struct IpStack {
    static inline const wire::MacAddress our_mac = mac(0x01);
    static inline const wire::Ipv4Address our_ip = ip(0, 1);
    static inline const wire::MacAddress peer_mac = mac(0x02);
    static inline const wire::Ipv4Address peer_ip = ip(0, 2);
    static inline const wire::Ipv4Address gw_ip = ip(0, 254);

    static iface::InterfaceConfig iface_config(bool with_gateway) {
        iface::InterfaceConfig c;
        c.mac = our_mac;
        c.address = wire::Ipv4Cidr(our_ip, 24);
        if (with_gateway) c.gateway = gw_ip;
        return c;
    }

    explicit IpStack(const ip::Ipv4Config& config = {}, bool with_gateway = true)
        : iface(iface_config(with_gateway), sink, pollux::test::mbuf_pool()), ipv4(iface, config) {
        receive_frame(arp_frame(wire::MacAddress::broadcast(), arp_request(peer_mac, peer_ip, our_ip)));
        REQUIRE(sink.frames.size() == 1);  // our ARP reply
        sink.frames.clear();
    }

    void receive_frame(const Bytes& frame) { iface.ingress(packet(frame), clock.now()); }
    void receive_frame(buf::PacketBuf&& frame) { iface.ingress(std::move(frame), clock.now()); }
    // A datagram from the peer's MAC to ours (or `dst_mac`).
    void receive(const Bytes& datagram, const wire::MacAddress& dst_mac = our_mac) {
        receive_frame(ipv4_frame(dst_mac, peer_mac, datagram));
    }
    // The IPv4 datagrams sent since the last call (frames checked to be IPv4 to the peer's
    // MAC or broadcast, header checksums verified).
    std::vector<Datagram> sent() {
        std::vector<Datagram> out;
        for (const Frame& f : sink.take()) {
            CHECK(f.eth.src == our_mac);
            out.push_back(parse_datagram(f));
        }
        return out;
    }
    const ip::Ipv4Counters& c() const { return ipv4.counters(); }
    const ip::IcmpCounters& icmp() { return ipv4.icmp().counters(); }

    time::ManualClock clock{time::Instant::from_ns(1'000'000'000)};
    CaptureSink sink;
    iface::Interface iface;
    ip::Ipv4Layer ipv4;
};

}  // namespace pollux::test::forge
