#include "ip/ipv4_layer.hpp"

#include <span>

#include "ip/fragmentation.hpp"
#include "wire/checksum.hpp"

namespace pollux::ip {

using wire::Ipv4Address;
using wire::Ipv4Repr;
using wire::Ipv4View;
using wire::WireError;

Ipv4Layer::Ipv4Layer(iface::Interface& iface, const Ipv4Config& config)
    : iface_(iface),
      config_(config),
      icmp_(*this, config.icmp_rate),
      reassembler_(config.reassembly, config.reassembly_seed),
      loopback_(config.loopback_backlog),
      next_ident_(config.first_ident) {
    iface_.set_ipv4_receiver(this);
}

// RFC 1122 §3.2.1: checks on every received datagram; on success `repr` describes it and
// `packet` is trimmed to its total length (link padding removed).
bool Ipv4Layer::validate(buf::PacketBuf& packet, Ipv4Repr& repr) noexcept {
    const auto head = packet.front();
    const Ipv4View v(head);
    switch (v.check_header(packet.length())) {
        case WireError::none:
            break;
        case WireError::truncated:
            // A header that is not even there is a header error; a total length past the
            // frame is a truncated packet (Linux's InTruncatedPkts).
            (head.size() >= wire::ipv4::min_header_len && v.version() == 4 &&
                     v.header_len() >= wire::ipv4::min_header_len && v.header_len() <= head.size()
                 ? counters_.in_truncated_pkts
                 : counters_.in_hdr_errors)
                .add();
            return false;
        default:
            counters_.in_hdr_errors.add();
            return false;
    }
    switch (packet.rx_ip_checksum()) {
        case buf::RxChecksum::good:
            break;
        case buf::RxChecksum::bad:
            counters_.in_csum_errors.add();
            return false;
        default:
            if (!v.checksum_ok()) {
                counters_.in_csum_errors.add();
                return false;
            }
    }
    repr = Ipv4Repr::from_view(v);
    if (packet.length() > v.total_len()) packet.truncate(v.total_len());
    return true;
}

void Ipv4Layer::ipv4_input(buf::PacketBuf&& packet, time::Instant now, bool link_broadcast) noexcept {
    counters_.in_receives.add();
    Ipv4Repr ip;
    if (!validate(packet, ip)) return;
    // Not ours: another host's, multicast (pollux joins no groups), and 127/8, which only
    // loopback may carry (RFC 1122 §3.2.1.3 (g): "MUST NOT appear outside a host").
    if (!iface_.is_local(ip.dst)) {
        counters_.in_addr_errors.add();
        return;
    }
    // RFC 1122 §3.2.1.3: a source that cannot be a host's address is a martian; so is our
    // own address arriving from the wire (Linux's fib_validate_source).
    if (ip.src.is_broadcast() || ip.src.is_multicast() || ip.src.is_unspecified() || ip.src.is_loopback() ||
        iface_.is_local(ip.src)) {
        counters_.in_martian_source.add();
        return;
    }
    const Arrival arrival = link_broadcast || iface_.is_broadcast(ip.dst) ? Arrival::broadcast : Arrival::unicast;
    reassemble_and_deliver(std::move(packet), ip, arrival, now);
}

std::size_t Ipv4Layer::process_loopback(time::Instant now) noexcept {
    // Only what is queued now: delivering may queue answers, which wait for the next call
    // (as a softirq leaves what netif_rx adds during its run to the next one).
    const std::size_t n = loopback_.size();
    for (std::size_t i = 0; i < n; ++i) loopback_input(loopback_.pop(), now);
    return n;
}

// Linux's ip_rcv for a packet from lo: the same checks as from a link but the martian
// source filter, since 127/8 and our own address are exactly the sources loopback carries.
// The checksum is not verified: output_loopback() marked it good.
void Ipv4Layer::loopback_input(buf::PacketBuf&& packet, time::Instant now) noexcept {
    counters_.in_receives.add();
    Ipv4Repr ip;
    if (!validate(packet, ip)) return;
    // Only datagrams to this host are queued, by their header's own destination; a guard.
    if (!is_loopback_destination(ip.dst)) {
        counters_.in_addr_errors.add();
        return;
    }
    reassemble_and_deliver(std::move(packet), ip, Arrival::loopback, now);
}

void Ipv4Layer::reassemble_and_deliver(buf::PacketBuf&& packet, Ipv4Repr ip, Arrival arrival,
                                       time::Instant now) noexcept {
    if (ip.is_fragment()) {
        buf::PacketBuf whole = reassembler_.input(std::move(packet), ip, now);
        if (!whole) return;  // waiting for more, or dropped (counted by the reassembler)
        const Ipv4View v(whole.front());
        ip = Ipv4Repr::from_view(v);
        deliver(std::move(whole), ip, arrival, now);
        return;
    }
    deliver(std::move(packet), ip, arrival, now);
}

void Ipv4Layer::deliver(buf::PacketBuf&& packet, const Ipv4Repr& ip, Arrival arrival, time::Instant now) noexcept {
    // Raw sockets first, for every protocol (Linux's raw_local_deliver): they see the echo
    // requests ICMP still answers, and the protocols no handler serves.
    const bool raw_took = raw_ != nullptr && raw_->raw_input(packet, ip, now);
    const auto protocol = static_cast<std::uint8_t>(ip.protocol);
    if (ip.protocol == wire::IpProtocol::icmp) {
        counters_.in_delivers.add();
        icmp_.input(std::move(packet), ip, arrival == Arrival::broadcast, now);
        return;
    }
    if (TransportHandler* handler = transports_[protocol]) {
        counters_.in_delivers.add();
        handler->input(std::move(packet), ip, now);
        return;
    }
    if (raw_took) {
        counters_.in_delivers.add();  // a raw socket's protocol: delivered, no error
        return;
    }
    counters_.in_unknown_protos.add();
    // RFC 1122 §3.2.2.1: protocol unreachable, for unicast datagrams (IP and link) only.
    icmp_.send_error(wire::IcmpType::dest_unreachable, static_cast<std::uint8_t>(wire::UnreachableCode::protocol),
                     packet, ip, arrival, now);
}

OutputResult Ipv4Layer::output(buf::PacketBuf&& payload, Ipv4Repr header, time::Instant now) noexcept {
    counters_.out_requests.add();
    // Our own address and 127/8 loop back. Broadcasts go to the link only: Linux also
    // loops a copy of each back to the sender's host, which pollux does not yet do.
    const bool local = is_loopback_destination(header.dst);
    if (header.src.is_unspecified()) header.src = source_for(header.dst);
    // RFC 1122 §3.2.1.3 (g): 127/8 "MUST NOT appear outside a host"; Linux's route lookup
    // refuses a loopback source to any destination but a local one (EINVAL).
    if (header.src.is_loopback() && !local) {
        counters_.out_no_routes.add();
        return OutputResult::invalid;
    }
    const std::size_t total = wire::ipv4::min_header_len + payload.length();
    if (total > wire::ipv4::max_packet_len) {
        counters_.out_discards.add();  // no IPv4 datagram can hold it (Linux: EMSGSIZE)
        return OutputResult::too_big;
    }
    if (!local && !iface_.is_broadcast(header.dst) && iface_.routes().lookup(header.dst) == nullptr) {
        counters_.out_no_routes.add();
        return OutputResult::no_route;
    }
    header.ident = next_ident_++;
    header.more_fragments = false;
    header.frag_offset = 0;
    // Loopback's MTU (65536) holds any datagram: only the link fragments.
    if (!local && total > iface_.mtu()) {
        if (header.dont_fragment) {
            counters_.frag_fails.add();
            return OutputResult::too_big;
        }
        return send_fragments(std::move(payload), header, now);
    }
    std::uint8_t* h = payload.prepend(wire::ipv4::min_header_len);
    if (h == nullptr) {
        counters_.out_discards.add();
        return OutputResult::no_buffers;
    }
    header.payload_len = static_cast<std::uint16_t>(total - wire::ipv4::min_header_len);
    payload.set_header_lengths(0, wire::ipv4::min_header_len, payload.l4_len());
    if (local) {
        // No port computes this checksum: the packet never reaches one.
        header.emit({h, wire::ipv4::min_header_len}, Ipv4Repr::ChecksumFill::compute);
        output_loopback(std::move(payload));
        return OutputResult::ok;
    }
    const auto fill = config_.offload_header_checksum ? Ipv4Repr::ChecksumFill::offload
                                                      : Ipv4Repr::ChecksumFill::compute;
    header.emit({h, wire::ipv4::min_header_len}, fill);
    if (config_.offload_header_checksum) payload.request_ipv4_checksum();
    return transmit(std::move(payload), header.dst, now);
}

OutputResult Ipv4Layer::output_raw(buf::PacketBuf&& datagram, time::Instant now) noexcept {
    counters_.out_requests.add();
    const std::span<std::uint8_t> head = datagram.front();
    const Ipv4View v(head);
    // The header is filled in place, so all of it must sit in the first segment (a
    // socket copies the user's bytes into one mbuf of 2 KiB first, which holds any header).
    if (head.size() < wire::ipv4::min_header_len || v.version() != 4 ||
        v.header_len() < wire::ipv4::min_header_len || v.header_len() > head.size()) {
        counters_.out_discards.add();  // Linux's raw_send_hdrinc counts EINVAL so
        return OutputResult::invalid;
    }
    const Ipv4Address dst = v.dst();
    const bool local = is_loopback_destination(dst);
    // IP_HDRINCL datagrams are never fragmented (Linux: EMSGSIZE above the device MTU).
    const std::size_t mtu = local ? wire::ipv4::max_packet_len : iface_.mtu();
    if (datagram.length() > mtu) {
        counters_.frag_fails.add();
        return OutputResult::too_big;
    }
    if (!local && !iface_.is_broadcast(dst) && iface_.routes().lookup(dst) == nullptr) {
        counters_.out_no_routes.add();
        return OutputResult::no_route;
    }
    const std::uint16_t ident = v.ident() != 0 ? v.ident() : next_ident_++;
    const Ipv4Address src = v.src().is_unspecified() ? source_for(dst) : v.src();
    wire::fill_hdrincl_header(head.first(v.header_len()), static_cast<std::uint16_t>(datagram.length()), ident, src);
    datagram.set_header_lengths(0, static_cast<std::uint16_t>(v.header_len()), 0);
    if (local) {
        output_loopback(std::move(datagram));
        return OutputResult::ok;
    }
    datagram.clear_offload_flags();  // the checksum is computed: nothing for the port to do
    return transmit(std::move(datagram), dst, now);
}

// Linux's loopback_xmit: the tx offload requests are void (no port will see the packet)
// and the receiver is told not to verify checksums (CHECKSUM_UNNECESSARY), since a
// transport that asked for L4 checksum offload left only the pseudo-header sum.
void Ipv4Layer::output_loopback(buf::PacketBuf&& datagram) noexcept {
    datagram.clear_offload_flags();
    datagram.mark_rx_checksums_good();
    if (!loopback_.push(std::move(datagram))) counters_.loopback_drops.add();
}

OutputResult Ipv4Layer::transmit(buf::PacketBuf&& datagram, Ipv4Address dst, time::Instant now) noexcept {
    switch (iface_.output_ipv4(std::move(datagram), dst, now)) {
        case iface::OutputStatus::sent:
            return OutputResult::ok;
        case iface::OutputStatus::no_route:
            counters_.out_no_routes.add();
            return OutputResult::no_route;
        case iface::OutputStatus::dropped:
            counters_.out_discards.add();
            return OutputResult::no_buffers;
    }
    return OutputResult::ok;
}

OutputResult Ipv4Layer::send_fragments(buf::PacketBuf&& payload, const Ipv4Repr& header, time::Instant now) noexcept {
    std::uint32_t created = 0;
    const bool ok = fragment(std::move(payload), header, iface_.mtu(), iface_.pool(), [&](buf::PacketBuf&& frag) {
        ++created;
        iface_.output_ipv4(std::move(frag), header.dst, now);
    });
    if (!ok) {
        counters_.frag_fails.add();
        return OutputResult::no_buffers;
    }
    counters_.frag_oks.add();
    counters_.frag_creates.add(created);
    return OutputResult::ok;
}

void Ipv4Layer::on_timer(time::Instant now) noexcept {
    // RFC 792 / RFC 1122 §3.2.1.4: a datagram that timed out in reassembly earns its source
    // a time-exceeded (code 1) when we had its first fragment.
    reassembler_.expire(now, [&](const buf::PacketBuf& first) {
        const Ipv4View v(first.front());
        if (v.check_header(first.length()) != WireError::none) return;
        const Ipv4Repr ip = Ipv4Repr::from_view(v);
        icmp_.send_error(wire::IcmpType::time_exceeded, static_cast<std::uint8_t>(wire::TimeExceededCode::reassembly),
                         first, ip, arrival_of(ip), now);
    });
}

}  // namespace pollux::ip
