// libFuzzer target: a whole Ethernet frame, walked down the layers the way the receive path
// does: Ethernet (one optional 802.1Q tag) -> ARP, or IPv4 -> ICMP / UDP / TCP, with the
// transport given the IPv4 payload bounded by the total length (link padding excluded)
// and the addresses of the IPv4 header for its pseudo-header. ICMP errors go on to the
// quoted datagram and read the quoted ports (and TCP sequence number), as the error path
// does to find the socket.
//
// The walk uses ChecksumCheck::skip, as on a port that verified the checksums in hardware,
// so corrupted checksums do not stop the descent; every check_* function also parses with
// ChecksumCheck::verify and requires the two to agree, which covers the software path.
#include <cstddef>
#include <cstdint>

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

void walk(Bytes frame, ChecksumCheck mode) {
    const auto eth = check_ethernet(frame);
    if (!eth) return;
    const Bytes payload = frame.subspan(eth->buffer_len());
    switch (eth->ethertype) {
        case EtherType::arp:
            check_arp(payload);
            return;
        case EtherType::ipv4:
            break;
        default:
            return;  // IPv6 and the rest: dropped and counted by the interface
    }

    const auto ip = check_ipv4(payload, mode);
    if (!ip) return;
    // Fragments go to reassembly; the transport parses the reassembled datagram.
    if (ip->is_fragment()) return;
    const Bytes l4 = Ipv4View(payload).payload();
    FUZZ_REQUIRE(l4.size() == ip->payload_len && within(l4, frame));

    switch (ip->protocol) {
        case IpProtocol::icmp: {
            const auto m = check_icmp(l4, mode);
            if (m && m->is_error()) {
                const auto q = m->quoted();
                FUZZ_REQUIRE(q.ok() && within(q->transport, l4));
                quoted_transport(*q);
            }
            return;
        }
        case IpProtocol::udp:
            check_udp(l4, ip->src, ip->dst, mode);
            return;
        case IpProtocol::tcp:
            check_tcp(l4, ip->src, ip->dst, mode);
            return;
        default:
            return;  // answered with protocol unreachable by the IP layer
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    walk({data, size}, ChecksumCheck::skip);
    return 0;
}
