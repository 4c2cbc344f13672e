#include "ip/ipv4_layer.hpp"

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
    if (!iface_.is_local(ip.dst)) {
        counters_.in_addr_errors.add();  // multicast too: pollux joins no groups
        return;
    }
    // RFC 1122 §3.2.1.3: a source that cannot be a host's address is a martian; so is our
    // own address arriving from the wire (Linux's fib_validate_source).
    if (ip.src.is_broadcast() || ip.src.is_multicast() || ip.src.is_unspecified() || ip.src.is_loopback() ||
        iface_.is_local(ip.src)) {
        counters_.in_martian_source.add();
        return;
    }
    if (ip.is_fragment()) {
        buf::PacketBuf whole = reassembler_.input(std::move(packet), ip, now);
        if (!whole) return;  // waiting for more, or dropped (counted by the reassembler)
        const Ipv4View v(whole.front());
        ip = Ipv4Repr::from_view(v);
        deliver(std::move(whole), ip, link_broadcast, now);
        return;
    }
    deliver(std::move(packet), ip, link_broadcast, now);
}

void Ipv4Layer::deliver(buf::PacketBuf&& packet, const Ipv4Repr& ip, bool link_broadcast,
                        time::Instant now) noexcept {
    const bool to_broadcast = link_broadcast || iface_.is_broadcast(ip.dst);
    const auto protocol = static_cast<std::uint8_t>(ip.protocol);
    if (ip.protocol == wire::IpProtocol::icmp) {
        counters_.in_delivers.add();
        icmp_.input(std::move(packet), ip, to_broadcast, now);
        return;
    }
    if (TransportHandler* handler = transports_[protocol]) {
        counters_.in_delivers.add();
        handler->input(std::move(packet), ip, now);
        return;
    }
    counters_.in_unknown_protos.add();
    // RFC 1122 §3.2.2.1: protocol unreachable, for unicast datagrams (IP and link) only.
    icmp_.send_error(wire::IcmpType::dest_unreachable, static_cast<std::uint8_t>(wire::UnreachableCode::protocol),
                     packet, ip, to_broadcast, now);
}

OutputResult Ipv4Layer::output(buf::PacketBuf&& payload, Ipv4Repr header, time::Instant now) noexcept {
    counters_.out_requests.add();
    if (header.src.is_unspecified()) header.src = iface_.address().address();
    if (!iface_.is_broadcast(header.dst) && iface_.routes().lookup(header.dst) == nullptr) {
        counters_.out_no_routes.add();
        return OutputResult::no_route;
    }
    header.ident = next_ident_++;
    header.more_fragments = false;
    header.frag_offset = 0;
    const std::size_t total = wire::ipv4::min_header_len + payload.length();
    if (total > iface_.mtu()) {
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
    const auto fill = config_.offload_header_checksum ? Ipv4Repr::ChecksumFill::offload
                                                      : Ipv4Repr::ChecksumFill::compute;
    header.emit({h, wire::ipv4::min_header_len}, fill);
    payload.set_header_lengths(0, wire::ipv4::min_header_len, payload.l4_len());
    if (config_.offload_header_checksum) payload.request_ipv4_checksum();
    switch (iface_.output_ipv4(std::move(payload), header.dst, now)) {
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
                         first, ip, iface_.is_broadcast(ip.dst), now);
    });
}

}  // namespace pollux::ip
