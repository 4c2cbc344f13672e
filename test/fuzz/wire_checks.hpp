// One checked parse per wire layer, shared by the single-layer targets and fuzz_frame.
//
// Each function parses untrusted bytes the way the receive path does and, when the parse
// succeeds, checks what the rest of the stack will rely on:
//   - every span a Repr or View hands out lies inside the input, at the offset the header
//     says, so no later layer can read out of bounds;
//   - lengths are within their protocol's bounds (header_len, payload_len, option sizes);
//   - the View and the Repr agree, and parse with ChecksumCheck::skip agrees with verify;
//   - re-emitting the Repr into a buffer of exactly buffer_len() bytes and parsing that
//     back gives the same Repr (field for field; where the format is lossless, the same
//     bytes as the input).
// Any violation calls FUZZ_REQUIRE, which traps.
#pragma once

#include <cstdint>
#include <span>

#include "fuzz_util.hpp"
#include "wire/arp.hpp"
#include "wire/byte_order.hpp"
#include "wire/checksum.hpp"
#include "wire/error.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"
#include "wire/tcp.hpp"
#include "wire/tcp_options.hpp"
#include "wire/udp.hpp"

namespace pollux::fuzz {

using namespace pollux::wire;

// The addresses the transport targets (fuzz_udp, fuzz_tcp) put in the pseudo-header. The
// seed corpus computes its checksums with the same two (test/corpus/make_corpus.py).
inline constexpr Ipv4Address transport_src{198, 18, 0, 1};
inline constexpr Ipv4Address transport_dst{198, 18, 0, 2};

// ---------------------------------------------------------------------------------------
// Ethernet

inline Result<EthernetRepr> check_ethernet(Bytes frame) {
    const auto r = EthernetRepr::parse(frame);
    const EthernetView v(frame);
    const WireError view_error = v.check();
    if (!r) {
        FUZZ_REQUIRE(r.error() != WireError::none);
        if (view_error != WireError::none) FUZZ_REQUIRE(r.error() == view_error);
        return r;
    }
    FUZZ_REQUIRE(view_error == WireError::none);
    const EthernetRepr& e = *r;
    const std::size_t hl = e.buffer_len();
    FUZZ_REQUIRE(hl == ethernet::header_len || hl == ethernet::header_len + ethernet::vlan_tag_len);
    FUZZ_REQUIRE(hl <= frame.size());
    FUZZ_REQUIRE(v.header_len() == hl);
    FUZZ_REQUIRE(is_subspan(v.payload(), frame, hl, frame.size() - hl));
    FUZZ_REQUIRE(e.vlan_tci.has_value() == v.has_vlan_tag());
    const auto type = static_cast<std::uint16_t>(e.ethertype);
    FUZZ_REQUIRE(type == v.ethertype());
    FUZZ_REQUIRE(type >= ethernet::min_ethertype);
    FUZZ_REQUIRE(e.ethertype != EtherType::vlan && e.ethertype != EtherType::qinq);
    FUZZ_REQUIRE(e.dst == v.dst() && e.src == v.src());

    auto out = out_buffer(hl);
    e.emit(out);
    // Ethernet II with at most one tag is lossless: the header comes back byte for byte.
    FUZZ_REQUIRE(same_bytes(out, frame.first(hl)));
    const auto back = EthernetRepr::parse(out);
    FUZZ_REQUIRE(back.ok());
    FUZZ_REQUIRE(*back == e);
    return r;
}

// ---------------------------------------------------------------------------------------
// ARP

inline Result<ArpRepr> check_arp(Bytes packet) {
    const auto r = ArpRepr::parse(packet);
    const ArpView v(packet);
    if (!r) {
        FUZZ_REQUIRE(r.error() != WireError::none);
        if (v.check() != WireError::none) FUZZ_REQUIRE(r.error() == v.check());
        return r;
    }
    FUZZ_REQUIRE(v.check() == WireError::none);
    FUZZ_REQUIRE(packet.size() >= ArpRepr::buffer_len());
    const ArpRepr& a = *r;
    FUZZ_REQUIRE(a.operation == ArpOperation::request || a.operation == ArpOperation::reply);
    FUZZ_REQUIRE(v.htype() == arp::htype_ethernet && v.ptype() == arp::ptype_ipv4);
    FUZZ_REQUIRE(v.hlen() == MacAddress::size && v.plen() == Ipv4Address::size);
    FUZZ_REQUIRE(a.sender_mac == v.sender_mac() && a.sender_ip == v.sender_ip());
    FUZZ_REQUIRE(a.target_mac == v.target_mac() && a.target_ip == v.target_ip());

    auto out = out_buffer(ArpRepr::buffer_len());
    a.emit(out);
    // Only Ethernet/IPv4 request and reply are accepted, and those are lossless.
    FUZZ_REQUIRE(same_bytes(out, packet.first(ArpRepr::buffer_len())));
    const auto back = ArpRepr::parse(out);
    FUZZ_REQUIRE(back.ok());
    FUZZ_REQUIRE(*back == a);
    return r;
}

// ---------------------------------------------------------------------------------------
// IPv4

// The receive path (Ipv4Layer::validate) checks the header in the first segment of an mbuf
// chain against the length of the whole chain: Ipv4View(head).check_header(length). Seen
// through a view of only the header bytes, a packet must get the same verdict as whole.
inline void check_ipv4_header_only(Bytes packet) {
    if (packet.size() < ipv4::min_header_len) return;
    const Ipv4View whole(packet);
    const std::size_t hl = whole.header_len();
    if (hl < ipv4::min_header_len || hl > packet.size()) return;
    const Ipv4View head(packet.first(hl));
    const WireError e = head.check_header(packet.size());
    FUZZ_REQUIRE(e == whole.check());
    if (e != WireError::none) return;
    FUZZ_REQUIRE(is_subspan(head.options(), packet, ipv4::min_header_len, hl - ipv4::min_header_len));
    FUZZ_REQUIRE(head.checksum_ok() == whole.checksum_ok());
    FUZZ_REQUIRE(Ipv4Repr::from_view(head) == Ipv4Repr::from_view(whole));
}

inline Result<Ipv4Repr> check_ipv4(Bytes packet, ChecksumCheck mode) {
    const auto skipped = Ipv4Repr::parse(packet, ChecksumCheck::skip);
    const auto verified = Ipv4Repr::parse(packet, ChecksumCheck::verify);
    const Ipv4View v(packet);
    check_ipv4_header_only(packet);
    if (!skipped) {
        // Structure is checked before the checksum: the same error either way.
        FUZZ_REQUIRE(!verified && verified.error() == skipped.error());
        FUZZ_REQUIRE(skipped.error() != WireError::bad_checksum);
        FUZZ_REQUIRE(v.check() == skipped.error());
        return skipped;
    }
    FUZZ_REQUIRE(v.check() == WireError::none);
    FUZZ_REQUIRE(verified.ok() == v.checksum_ok());
    if (verified) FUZZ_REQUIRE(*verified == *skipped);
    else FUZZ_REQUIRE(verified.error() == WireError::bad_checksum);

    const Ipv4Repr& ip = *skipped;
    const std::size_t hl = ip.header_len;
    FUZZ_REQUIRE(hl >= ipv4::min_header_len && hl <= ipv4::max_header_len && hl % 4 == 0);
    FUZZ_REQUIRE(hl == v.header_len());
    FUZZ_REQUIRE(hl + ip.payload_len <= packet.size());
    FUZZ_REQUIRE(hl + ip.payload_len == v.total_len());
    FUZZ_REQUIRE(is_subspan(v.options(), packet, ipv4::min_header_len, hl - ipv4::min_header_len));
    FUZZ_REQUIRE(is_subspan(v.payload(), packet, hl, ip.payload_len));
    FUZZ_REQUIRE(ip.frag_offset % 8 == 0);
    // RFC 791: no fragment may end past 65535 bytes.
    FUZZ_REQUIRE(std::size_t{ip.frag_offset} + ip.payload_len + ipv4::min_header_len <= ipv4::max_packet_len);
    FUZZ_REQUIRE(ip.src == v.src() && ip.dst == v.dst());
    FUZZ_REQUIRE(static_cast<std::uint8_t>(ip.protocol) == v.protocol());
    FUZZ_REQUIRE(ip.ttl == v.ttl() && ip.tos == v.tos() && ip.ident == v.ident());
    FUZZ_REQUIRE(Ipv4Repr::from_view(v) == ip);

    // Re-emit: a 20-byte header (options are not re-emitted) followed by the payload.
    const std::size_t total = ip.total_len();
    FUZZ_REQUIRE(total == ipv4::min_header_len + ip.payload_len);
    auto out = out_buffer(total);
    ip.emit(out);
    std::copy(v.payload().begin(), v.payload().end(), out.begin() + ipv4::min_header_len);
    const auto back = Ipv4Repr::parse(out, ChecksumCheck::verify);
    FUZZ_REQUIRE(back.ok());
    FUZZ_REQUIRE(back->header_len == ipv4::min_header_len);
    Ipv4Repr expect = ip;
    expect.header_len = ipv4::min_header_len;
    FUZZ_REQUIRE(*back == expect);
    FUZZ_REQUIRE(is_subspan(Ipv4View(out).payload(), out, ipv4::min_header_len, ip.payload_len));
    if (hl == ipv4::min_header_len) {
        // Without options the header comes back byte for byte, except the checksum (an
        // input may verify with either one's-complement zero) and the reserved flag, which
        // parse ignores and emit clears.
        for (std::size_t i = 0; i < ipv4::min_header_len; ++i) {
            if (i == ipv4::checksum_offset || i == ipv4::checksum_offset + 1) continue;
            std::uint8_t expect_byte = packet[i];
            if (i == ipv4::flags_frag_offset) expect_byte &= static_cast<std::uint8_t>(~(ipv4::flag_reserved >> 8));
            FUZZ_REQUIRE(out[i] == expect_byte);
        }
    }

    // The offload variant leaves the checksum to the port; everything else is the same.
    auto off = out_buffer(ipv4::min_header_len);
    ip.emit(off, Ipv4Repr::ChecksumFill::offload);
    FUZZ_REQUIRE(off[ipv4::checksum_offset] == 0 && off[ipv4::checksum_offset + 1] == 0);
    for (std::size_t i = 0; i < ipv4::min_header_len; ++i) {
        if (i != ipv4::checksum_offset && i != ipv4::checksum_offset + 1) FUZZ_REQUIRE(off[i] == out[i]);
    }

    return mode == ChecksumCheck::verify ? verified : skipped;
}

// ---------------------------------------------------------------------------------------
// ICMP

inline void check_icmp_quoted(const IcmpRepr& m) {
    const auto q = m.quoted();
    if (!m.is_error()) {
        FUZZ_REQUIRE(!q && q.error() == WireError::unsupported);
        return;
    }
    // parse() accepted an error only if its quote parses.
    FUZZ_REQUIRE(q.ok());
    const std::size_t hl = q->ip.header_len;
    FUZZ_REQUIRE(hl >= ipv4::min_header_len && hl <= ipv4::max_header_len && hl % 4 == 0);
    FUZZ_REQUIRE(q->transport.size() >= icmp::min_quoted_payload);
    FUZZ_REQUIRE(is_subspan(q->transport, m.data, hl, m.data.size() - hl));
    const Ipv4View v(m.data);
    FUZZ_REQUIRE(v.version() == 4);
    FUZZ_REQUIRE(q->ip.src == v.src() && q->ip.dst == v.dst());
    FUZZ_REQUIRE(static_cast<std::uint8_t>(q->ip.protocol) == v.protocol());
}

// The echo path (ip/icmp.cpp, Icmp::echo_reply) turns a request into its reply in place
// with wire::echo_request_to_reply (checksum updated incrementally, RFC 1624). A request
// that verified must give a reply that verifies, and parses as the same echo.
inline void check_icmp_echo_reply(Bytes request) {
    std::vector<std::uint8_t> reply(request.begin(), request.end());
    echo_request_to_reply(std::span(reply).first(icmp::header_len));
    FUZZ_REQUIRE(checksum_verifies(reply));
    const auto req = IcmpRepr::parse(request, ChecksumCheck::verify);
    const auto rep = IcmpRepr::parse(reply, ChecksumCheck::verify);
    FUZZ_REQUIRE(req.ok() && rep.ok());
    FUZZ_REQUIRE(rep->type == IcmpType::echo_reply && rep->code == req->code);
    FUZZ_REQUIRE(rep->echo_ident == req->echo_ident && rep->echo_seq == req->echo_seq);
    FUZZ_REQUIRE(same_bytes(rep->data, req->data));
}

inline Result<IcmpRepr> check_icmp(Bytes message, ChecksumCheck mode) {
    const auto skipped = IcmpRepr::parse(message, ChecksumCheck::skip);
    const auto verified = IcmpRepr::parse(message, ChecksumCheck::verify);
    const IcmpView v(message);
    if (!skipped) {
        FUZZ_REQUIRE(skipped.error() != WireError::none && skipped.error() != WireError::bad_checksum);
        FUZZ_REQUIRE(!verified);
        return skipped;
    }
    FUZZ_REQUIRE(v.check() == WireError::none);
    FUZZ_REQUIRE(verified.ok() == v.checksum_ok());
    if (!verified) FUZZ_REQUIRE(verified.error() == WireError::bad_checksum);

    const IcmpRepr& m = *skipped;
    FUZZ_REQUIRE(message.size() >= icmp::header_len);
    FUZZ_REQUIRE(is_subspan(m.data, message, icmp::header_len, message.size() - icmp::header_len));
    FUZZ_REQUIRE(m.buffer_len() == message.size());
    FUZZ_REQUIRE(static_cast<std::uint8_t>(m.type) == v.type() && m.code == v.code());
    const bool echo = m.type == IcmpType::echo_request || m.type == IcmpType::echo_reply;
    FUZZ_REQUIRE(echo || m.is_error());
    if (echo) {
        FUZZ_REQUIRE(m.echo_ident == v.echo_ident() && m.echo_seq == v.echo_seq());
    } else {
        FUZZ_REQUIRE(m.echo_ident == 0 && m.echo_seq == 0);
    }
    const bool frag_needed = m.type == IcmpType::dest_unreachable &&
                             m.code == static_cast<std::uint8_t>(UnreachableCode::frag_needed);
    FUZZ_REQUIRE(m.next_hop_mtu == (frag_needed ? v.next_hop_mtu() : 0));
    if (verified) {
        const IcmpRepr& w = *verified;
        FUZZ_REQUIRE(w.type == m.type && w.code == m.code && w.echo_ident == m.echo_ident &&
                     w.echo_seq == m.echo_seq && w.next_hop_mtu == m.next_hop_mtu &&
                     w.data.data() == m.data.data() && w.data.size() == m.data.size());
    }
    check_icmp_quoted(m);
    if (verified && m.type == IcmpType::echo_request) check_icmp_echo_reply(message);

    // Re-emit into a fresh buffer (data copied) and parse back with the checksum verified.
    auto out = out_buffer(m.buffer_len());
    m.emit(out);
    const auto back = IcmpRepr::parse(out, ChecksumCheck::verify);
    FUZZ_REQUIRE(back.ok());
    FUZZ_REQUIRE(back->type == m.type && back->code == m.code);
    FUZZ_REQUIRE(back->echo_ident == m.echo_ident && back->echo_seq == m.echo_seq);
    FUZZ_REQUIRE(back->next_hop_mtu == m.next_hop_mtu);
    FUZZ_REQUIRE(is_subspan(back->data, out, icmp::header_len, m.data.size()));
    FUZZ_REQUIRE(same_bytes(back->data, m.data));
    check_icmp_quoted(*back);

    // And in place: the data already at out[8..] (the reply path echoes this way).
    auto in_place = std::vector<std::uint8_t>(message.begin(), message.end());
    IcmpRepr moved = m;
    moved.data = std::span<const std::uint8_t>(in_place).subspan(icmp::header_len);
    moved.emit(in_place);
    FUZZ_REQUIRE(same_bytes(in_place, out));

    return mode == ChecksumCheck::verify ? verified : skipped;
}

// ---------------------------------------------------------------------------------------
// UDP

inline Result<UdpRepr> check_udp(Bytes datagram, Ipv4Address src, Ipv4Address dst, ChecksumCheck mode) {
    const auto skipped = UdpRepr::parse(datagram, src, dst, ChecksumCheck::skip);
    const auto verified = UdpRepr::parse(datagram, src, dst, ChecksumCheck::verify);
    const UdpView v(datagram);
    if (!skipped) {
        FUZZ_REQUIRE(skipped.error() != WireError::none && skipped.error() != WireError::bad_checksum);
        FUZZ_REQUIRE(!verified && verified.error() == skipped.error());
        FUZZ_REQUIRE(v.check() == skipped.error());
        return skipped;
    }
    FUZZ_REQUIRE(v.check() == WireError::none);
    if (verified) FUZZ_REQUIRE(*verified == *skipped);
    else FUZZ_REQUIRE(verified.error() == WireError::bad_checksum && v.checksum() != 0);

    const UdpRepr& u = *skipped;
    const std::size_t len = u.buffer_len();
    FUZZ_REQUIRE(len >= udp::header_len && len <= datagram.size() && len == v.length());
    FUZZ_REQUIRE(is_subspan(v.payload(), datagram, udp::header_len, u.payload_len));
    FUZZ_REQUIRE(u.src_port == v.src_port() && u.dst_port == v.dst_port());

    // Re-emit with the payload already in place, as the send path does.
    auto out = out_buffer(len);
    std::copy(v.payload().begin(), v.payload().end(), out.begin() + udp::header_len);
    u.emit(out, src, dst);
    const UdpView ov(out);
    FUZZ_REQUIRE(ov.checksum() != 0);  // RFC 768: a computed zero goes out as 0xffff
    const auto back = UdpRepr::parse(out, src, dst, ChecksumCheck::verify);
    FUZZ_REQUIRE(back.ok());
    FUZZ_REQUIRE(*back == u);
    FUZZ_REQUIRE(is_subspan(ov.payload(), out, udp::header_len, u.payload_len));
    // A nonzero checksum that verifies is the only one that does, so the bytes come back.
    if (verified && v.checksum() != 0) FUZZ_REQUIRE(same_bytes(out, datagram.first(len)));

    // Offload: only the pseudo-header sum goes in; the rest of the header is the same.
    auto off = out;
    u.emit(off, src, dst, L4ChecksumFill::offload);
    FUZZ_REQUIRE(UdpView(off).checksum() ==
                 fold(pseudo_header_sum(src, dst, IpProtocol::udp, static_cast<std::uint16_t>(len))));
    FUZZ_REQUIRE(std::equal(off.begin(), off.begin() + udp::checksum_offset, out.begin()));
    const auto back_off = UdpRepr::parse(off, src, dst, ChecksumCheck::skip);
    FUZZ_REQUIRE(back_off.ok() && *back_off == u);

    return mode == ChecksumCheck::verify ? verified : skipped;
}

// ---------------------------------------------------------------------------------------
// TCP options

inline Result<TcpOptions> check_tcp_options(Bytes options) {
    const auto r = TcpOptions::parse(options);
    if (!r) {
        // The only reason to refuse an option list is an unskippable option.
        FUZZ_REQUIRE(r.error() == WireError::malformed);
        return r;
    }
    const TcpOptions& o = *r;
    FUZZ_REQUIRE(o.sack_count <= tcp_option::max_sack_blocks);
    FUZZ_REQUIRE(o.sacks().size() == o.sack_count);
    if (o.window_scale) FUZZ_REQUIRE(options.size() >= tcp_option::window_scale_len);
    if (o.mss) FUZZ_REQUIRE(options.size() >= tcp_option::mss_len);
    if (o.timestamps) FUZZ_REQUIRE(options.size() >= tcp_option::timestamps_len);
    if (o.sack_count > 0) FUZZ_REQUIRE(options.size() >= 2u + o.sack_count * tcp_option::sack_block_len);

    const std::size_t fit = o.sack_blocks_that_fit();
    FUZZ_REQUIRE(fit <= o.sack_count);
    const std::size_t len = o.buffer_len();
    FUZZ_REQUIRE(len % 4 == 0 && len <= tcp_option::max_len);

    auto out = out_buffer(len);
    o.emit(out);
    const auto back = TcpOptions::parse(out);
    FUZZ_REQUIRE(back.ok());
    // Everything survives, except SACK blocks that do not fit beside the other options.
    TcpOptions expect = o;
    expect.sack_count = static_cast<std::uint8_t>(fit);
    FUZZ_REQUIRE(*back == expect);
    FUZZ_REQUIRE(back->buffer_len() == len);
    // Emitting what was parsed back gives the same bytes (emit is canonical).
    auto again = out_buffer(len);
    back->emit(again);
    FUZZ_REQUIRE(same_bytes(again, out));
    return r;
}

// ---------------------------------------------------------------------------------------
// TCP

inline Result<TcpRepr> check_tcp(Bytes segment, Ipv4Address src, Ipv4Address dst, ChecksumCheck mode) {
    const auto skipped = TcpRepr::parse(segment, src, dst, ChecksumCheck::skip);
    const auto verified = TcpRepr::parse(segment, src, dst, ChecksumCheck::verify);
    const TcpView v(segment);
    if (!skipped) {
        FUZZ_REQUIRE(skipped.error() != WireError::none && skipped.error() != WireError::bad_checksum);
        // The checksum is verified before the options are parsed, so a segment with bad
        // options may fail verification first.
        FUZZ_REQUIRE(!verified);
        FUZZ_REQUIRE(verified.error() == skipped.error() || verified.error() == WireError::bad_checksum);
        if (v.check() != WireError::none) {
            FUZZ_REQUIRE(skipped.error() == v.check() && verified.error() == v.check());
        } else if (segment.size() <= ipv4::max_packet_len) {
            // Header fine: only the options can have refused it.
            FUZZ_REQUIRE(!TcpOptions::parse(v.options()));
        }
        return skipped;
    }
    FUZZ_REQUIRE(v.check() == WireError::none);
    if (verified) FUZZ_REQUIRE(*verified == *skipped);
    else FUZZ_REQUIRE(verified.error() == WireError::bad_checksum);

    const TcpRepr& t = *skipped;
    const std::size_t hl = v.header_len();
    FUZZ_REQUIRE(hl >= tcp::min_header_len && hl <= tcp::max_header_len && hl % 4 == 0);
    FUZZ_REQUIRE(hl <= segment.size());
    FUZZ_REQUIRE(std::size_t{t.payload_len} == segment.size() - hl);
    FUZZ_REQUIRE(is_subspan(v.options(), segment, tcp::min_header_len, hl - tcp::min_header_len));
    FUZZ_REQUIRE(is_subspan(v.payload(), segment, hl, t.payload_len));
    FUZZ_REQUIRE(t.src_port == v.src_port() && t.dst_port == v.dst_port());
    FUZZ_REQUIRE(t.seq == v.seq() && t.ack == v.ack());
    FUZZ_REQUIRE(t.flags == v.flags() && t.window == v.window() && t.urgent == v.urgent());
    const auto opts = check_tcp_options(v.options());
    FUZZ_REQUIRE(opts.ok() && *opts == t.options);
    FUZZ_REQUIRE(t.segment_len() == t.payload_len + (t.has(TcpFlags::syn) ? 1u : 0u) +
                                        (t.has(TcpFlags::fin) ? 1u : 0u));

    // Re-emit with the payload already in place. The options come out in Linux's layout,
    // so the header may be longer or shorter than the input's; SACK blocks that do not
    // fit beside the other options are dropped (TcpOptions::sack_blocks_that_fit).
    const std::size_t out_hl = t.header_len();
    FUZZ_REQUIRE(out_hl >= tcp::min_header_len && out_hl <= tcp::max_header_len && out_hl % 4 == 0);
    const std::size_t len = t.buffer_len();
    FUZZ_REQUIRE(len == out_hl + t.payload_len);
    // A segment that fits in an IPv4 packet (which is what the stack ever parses) still
    // fits after re-emission, since options grow by at most 20 bytes.
    const auto result = mode == ChecksumCheck::verify ? verified : skipped;
    if (segment.size() > ipv4::max_packet_len - ipv4::min_header_len) return result;
    FUZZ_REQUIRE(len <= ipv4::max_packet_len);
    auto out = out_buffer(len);
    std::copy(v.payload().begin(), v.payload().end(), out.begin() + static_cast<std::ptrdiff_t>(out_hl));
    t.emit(out, src, dst);
    const TcpView ov(out);
    FUZZ_REQUIRE(ov.check() == WireError::none && ov.header_len() == out_hl);
    const auto back = TcpRepr::parse(out, src, dst, ChecksumCheck::verify);
    FUZZ_REQUIRE(back.ok());
    TcpRepr expect = t;
    expect.options.sack_count = static_cast<std::uint8_t>(t.options.sack_blocks_that_fit());
    FUZZ_REQUIRE(*back == expect);
    FUZZ_REQUIRE(is_subspan(ov.payload(), out, out_hl, t.payload_len));
    FUZZ_REQUIRE(same_bytes(ov.payload(), v.payload()));
    if (same_bytes(ov.options(), v.options())) {
        // Options already canonical: the header comes back byte for byte, except the
        // checksum (either one's-complement zero verifies) and the reserved bits of the
        // data-offset byte, which parse ignores and emit clears.
        for (std::size_t i = 0; i < len; ++i) {
            if (i == tcp::checksum_offset || i == tcp::checksum_offset + 1) continue;
            const std::uint8_t want = i == tcp::data_offset_offset ? segment[i] & 0xf0 : segment[i];
            FUZZ_REQUIRE(out[i] == want);
        }
    }

    // Offload: the pseudo-header sum in the checksum field, nothing else changed.
    auto off = out;
    t.emit(off, src, dst, L4ChecksumFill::offload);
    FUZZ_REQUIRE(TcpView(off).checksum() ==
                 fold(pseudo_header_sum(src, dst, IpProtocol::tcp, static_cast<std::uint16_t>(len))));
    for (std::size_t i = 0; i < len; ++i) {
        if (i != tcp::checksum_offset && i != tcp::checksum_offset + 1) FUZZ_REQUIRE(off[i] == out[i]);
    }
    const auto back_off = TcpRepr::parse(off, src, dst, ChecksumCheck::skip);
    FUZZ_REQUIRE(back_off.ok() && *back_off == expect);
    return result;
}

}  // namespace pollux::fuzz
