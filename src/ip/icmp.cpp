#include "ip/icmp.hpp"

#include <algorithm>
#include <array>

#include "buf/checksum.hpp"
#include "ip/ipv4_layer.hpp"
#include "wire/checksum.hpp"

namespace pollux::ip {

using wire::IcmpRepr;
using wire::IcmpType;
using wire::Ipv4Repr;

void Icmp::input(buf::PacketBuf&& packet, const Ipv4Repr& ip, bool to_broadcast, time::Instant now) noexcept {
    counters_.in_msgs.add();
    const std::uint32_t len = ip.payload_len;
    if (len < wire::icmp::header_len || !packet.adjust(ip.header_len) ||
        packet.front().size() < wire::icmp::header_len) {
        counters_.in_errors.add();
        return;
    }
    // The checksum covers the whole message, which after reassembly spans segments.
    if (wire::fold(buf::partial_sum(packet)) != 0xffff) {
        counters_.in_csum_errors.add();
        return;
    }
    const wire::IcmpView v(packet.front());
    switch (static_cast<IcmpType>(v.type())) {
        case IcmpType::echo_request:
            counters_.in_echos.add();
            if (to_broadcast) {
                counters_.in_echo_broadcast_ignored.add();  // Linux: icmp_echo_ignore_broadcasts=1
                return;
            }
            echo_reply(std::move(packet), ip, now);
            return;
        case IcmpType::echo_reply:
            counters_.in_echo_reps.add();  // for raw sockets, once they exist
            return;
        case IcmpType::dest_unreachable:
            counters_.in_dest_unreachs.add();
            deliver_error(packet, len, now);
            return;
        case IcmpType::time_exceeded:
            counters_.in_time_excds.add();
            deliver_error(packet, len, now);
            return;
        case IcmpType::parameter_problem:
            counters_.in_parm_probs.add();
            deliver_error(packet, len, now);
            return;
    }
    counters_.in_unsupported.add();
}

void Icmp::echo_reply(buf::PacketBuf&& packet, const Ipv4Repr& ip, time::Instant now) noexcept {
    // The reply is the request turned around in place, so a 64 KiB reassembled echo is
    // answered without a copy - unless a raw socket holds a clone of the request, which
    // must keep reading the request: then the reply is built in a private copy.
    if (packet.is_shared()) {
        packet = packet.deep_copy(ip_.interface().pool());
        if (!packet) {
            counters_.out_errors.add();
            return;
        }
    }
    wire::echo_request_to_reply(packet.front().first(wire::icmp::header_len));
    packet.clear_offload_flags();

    Ipv4Repr reply;
    reply.src = ip.dst;
    reply.dst = ip.src;
    reply.protocol = wire::IpProtocol::icmp;
    reply.ttl = ip_.default_ttl();
    reply.tos = ip.tos;
    if (ip_.output(std::move(packet), reply, now) == OutputResult::ok) {
        counters_.out_msgs.add();
        counters_.out_echo_reps.add();
    } else {
        counters_.out_errors.add();
    }
}

void Icmp::deliver_error(const buf::PacketBuf& packet, std::uint32_t len, time::Instant now) noexcept {
    // Errors are small (<= 576 bytes by RFC 1812); a chained one is copied out to parse.
    std::array<std::uint8_t, wire::icmp::max_error_len> scratch;
    const std::uint32_t n = std::min<std::uint32_t>(len, scratch.size());
    const std::uint8_t* bytes = packet.read(0, n, scratch.data());
    if (bytes == nullptr) {
        counters_.in_errors.add();
        return;
    }
    const auto icmp = IcmpRepr::parse({bytes, n}, wire::ChecksumCheck::skip);  // verified above
    if (!icmp) {
        counters_.in_errors.add();
        return;
    }
    const auto quoted = icmp->quoted();
    if (!quoted) {
        counters_.in_errors.add();
        return;
    }
    if (TransportHandler* handler = ip_.transport(static_cast<std::uint8_t>(quoted->ip.protocol))) {
        handler->icmp_error(*icmp, *quoted, now);
    }
}

void Icmp::send_error(IcmpType type, std::uint8_t code, const buf::PacketBuf& offending, const Ipv4Repr& ip,
                      Arrival arrival, time::Instant now, std::uint16_t next_hop_mtu) noexcept {
    // RFC 1122 §3.2.2: never about an ICMP error, a non-initial fragment, a datagram sent to
    // a broadcast or multicast address, or one whose source is not a single host.
    if (arrival == Arrival::broadcast || ip.dst.is_multicast() || ip.frag_offset != 0) return;
    // Not a single host: zero, loopback, broadcast (limited or our subnet's), multicast, or
    // class E (240/4, which holds the limited broadcast too). A loopback source is this very
    // host when the datagram came over loopback (Linux never sees one from a wire: it is a
    // martian there, as in Ipv4Layer::ipv4_input).
    const bool class_e = (ip.src.value() >> 28) == 0xf;
    if (ip.src.is_unspecified() || class_e || ip.src.is_multicast() ||
        (ip.src.is_loopback() && arrival != Arrival::loopback) || ip_.interface().is_broadcast(ip.src)) {
        return;
    }
    if (ip.protocol == wire::IpProtocol::icmp) {
        std::array<std::uint8_t, 1> t{};
        if (!offending.copy_out(ip.header_len, t)) return;
        // Linux's icmp_pointers[].error: unreachable, source quench (4), redirect (5), time
        // exceeded and parameter problem are errors; echoes, timestamps and the rest are not.
        const std::uint8_t inner = t[0];
        const bool is_error = inner == 3 || inner == 4 || inner == 5 || inner == 11 || inner == 12;
        if (is_error) return;
    }
    // Linux exempts loopback from the limits: the global one when the datagram came in on
    // lo, the per-destination one when the error goes out on lo. The limiter here applies
    // both at once, so an error that loops back skips it; one about a looped datagram whose
    // source is another host (a raw socket's IP_HDRINCL) goes to the link and is limited.
    const bool loops_back = ip_.is_loopback_destination(ip.src);
    if (!loops_back && !limiter_.allow(ip.src, now)) {
        counters_.out_rate_limited.add();
        return;
    }
    buf::PacketBuf msg = buf::PacketBuf::alloc(ip_.interface().pool());
    // The quote: the offending IP header and as much of its data as keeps the error within
    // 576 bytes (RFC 1812 §4.3.2.3, what Linux sends).
    const std::uint32_t quote_len = std::min<std::uint32_t>(offending.length(), wire::icmp::max_error_len -
                                                                                     wire::icmp::header_len);
    std::uint8_t* p = msg ? msg.append(static_cast<std::uint16_t>(wire::icmp::header_len + quote_len)) : nullptr;
    if (p == nullptr || !offending.copy_out(0, {p + wire::icmp::header_len, quote_len})) {
        counters_.out_errors.add();
        return;
    }
    IcmpRepr repr;
    repr.type = type;
    repr.code = code;
    repr.next_hop_mtu = next_hop_mtu;
    repr.data = {p + wire::icmp::header_len, quote_len};
    repr.emit({p, wire::icmp::header_len + quote_len});

    Ipv4Repr out;
    out.dst = ip.src;
    out.protocol = wire::IpProtocol::icmp;
    out.ttl = ip_.default_ttl();
    // RFC 1812 §4.3.2.5: errors keep the offending datagram's precedence bits.
    out.tos = static_cast<std::uint8_t>(ip.tos & 0xe0);
    if (ip_.output(std::move(msg), out, now) != OutputResult::ok) {
        counters_.out_errors.add();
        return;
    }
    counters_.out_msgs.add();
    switch (type) {
        case IcmpType::time_exceeded: counters_.out_time_excds.add(); break;
        case IcmpType::parameter_problem: counters_.out_parm_probs.add(); break;
        default: counters_.out_dest_unreachs.add(); break;
    }
}

}  // namespace pollux::ip
