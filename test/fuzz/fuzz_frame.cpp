// libFuzzer target: a whole Ethernet frame, walked down the layers the way the receive path
// does (iface/interface.cpp Interface::ingress, ip/ipv4_layer.cpp, ip/icmp.cpp):
//
//   Ethernet: EthernetView::check; 802.1Q-tagged frames are dropped; ARP goes to
//     ArpRepr::parse, IPv4 on; any other type is dropped.
//   IPv4: the header checked against the frame length and parsed (check_ipv4 also checks
//     the header-only view of a chained mbuf); the payload is bounded by the total length,
//     so link padding is cut; fragments go to reassembly and stop here.
//   ICMP: the checksum over the whole message is always verified (no offload); echo
//     requests are answered in place (check_icmp_echo_reply); errors are parsed again from
//     a copy of at most icmp::max_error_len bytes, as Icmp::deliver_error does, and the
//     transport reads the quoted ports (and TCP sequence number) to find its socket.
//   UDP, TCP: parsed with the addresses of the IPv4 header for the pseudo-header.
//
// Address filters (destination MAC, local IP, martian sources) are not applied: they pick
// frames, they do not parse them. The walk uses ChecksumCheck::skip for IPv4, UDP and TCP,
// as on a port that verified those checksums in hardware, so corrupted checksums do not
// stop the descent; every check_* function also parses with ChecksumCheck::verify and
// requires the two to agree, which covers the software path.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wire_checks.hpp"

namespace {

using namespace pollux::fuzz;
using namespace pollux::wire;

volatile std::uint32_t sink;  // keeps the quoted-header reads from being optimised away

// RFC 792 promises the IP header and 8 bytes of the offending datagram: enough for the
// UDP and TCP ports and the TCP sequence number (RFC 5927 §4.1), and no more.
void quoted_transport(const IcmpRepr::Quoted& q) {
    FUZZ_REQUIRE(q.transport.size() >= icmp::min_quoted_payload);
    switch (q.ip.protocol) {
        case IpProtocol::udp: {
            const UdpView u(q.transport);
            sink = std::uint32_t{u.src_port().value()} << 16 | u.dst_port().value();
            break;
        }
        case IpProtocol::tcp: {
            const TcpView t(q.transport);
            sink = std::uint32_t{t.src_port().value()} << 16 | t.dst_port().value();
            sink = t.seq().raw();
            break;
        }
        default:
            break;
    }
}

void icmp_input(Bytes message) {
    const auto full = check_icmp(message, ChecksumCheck::skip);
    if (message.size() < icmp::header_len || !checksum_verifies(message)) return;  // in_csum_errors
    const IcmpView v(message);
    const auto type = static_cast<IcmpType>(v.type());
    if (type != IcmpType::dest_unreachable && type != IcmpType::time_exceeded &&
        type != IcmpType::parameter_problem) {
        return;  // echo requests: check_icmp has built and checked the reply
    }
    // Icmp::deliver_error: errors are small; at most max_error_len bytes are copied out.
    const std::size_t n = std::min(message.size(), icmp::max_error_len);
    const std::vector<std::uint8_t> copy(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(n));
    const auto m = IcmpRepr::parse(copy, ChecksumCheck::skip);
    // The copy keeps at least 548 bytes of quote, more than any header plus 8 needs.
    if (full) FUZZ_REQUIRE(m.ok());
    if (!m) return;
    FUZZ_REQUIRE(m->is_error() && within(m->data, copy));
    const auto q = m->quoted();
    FUZZ_REQUIRE(q.ok() && within(q->transport, copy));
    quoted_transport(*q);
}

void walk(Bytes frame) {
    const EthernetView eth(frame);
    const auto repr = check_ethernet(frame);
    if (eth.check() != WireError::none) return;
    if (eth.has_vlan_tag()) return;  // rx_drop_vlan
    const Bytes payload = eth.payload();
    switch (static_cast<EtherType>(eth.ethertype())) {
        case EtherType::arp:
            check_arp(payload);
            return;
        case EtherType::ipv4:
            FUZZ_REQUIRE(repr.ok());
            break;
        default:
            return;  // rx_drop_unknown_ethertype
    }

    const auto ip = check_ipv4(payload, ChecksumCheck::skip);
    if (!ip) return;
    if (ip->is_fragment()) return;  // to the reassembler
    const Bytes l4 = Ipv4View(payload).payload();
    FUZZ_REQUIRE(l4.size() == ip->payload_len && within(l4, frame));

    switch (ip->protocol) {
        case IpProtocol::icmp:
            icmp_input(l4);
            return;
        case IpProtocol::udp:
            check_udp(l4, ip->src, ip->dst, ChecksumCheck::skip);
            return;
        case IpProtocol::tcp:
            check_tcp(l4, ip->src, ip->dst, ChecksumCheck::skip);
            return;
        default:
            return;  // protocol unreachable
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    walk({data, size});
    return 0;
}
