#include "udp/udp_layer.hpp"

#include <cerrno>

#include "buf/checksum.hpp"
#include "udp/udp_socket.hpp"
#include "wire/checksum.hpp"
#include "wire/udp.hpp"

namespace pollux::udp {

namespace {

// Linux's icmp_err_convert[] for destination unreachable: the errno each code maps to and
// whether it is "hard" (reported to a connected socket without IP_RECVERR).
struct ErrnoOf {
    int value;
    bool hard;
};
constexpr ErrnoOf kUnreachable[16] = {
    {ENETUNREACH, false},   // net
    {EHOSTUNREACH, false},  // host
    {ENOPROTOOPT, true},    // protocol
    {ECONNREFUSED, true},   // port
    {EMSGSIZE, true},       // frag needed: hard for UDP, whose sockets default to PMTUDISC_WANT
    {EOPNOTSUPP, false},    // source route failed
    {ENETUNREACH, true},    // net unknown
    {EHOSTDOWN, true},      // host unknown
    {ENONET, true},         // host isolated
    {ENETUNREACH, true},    // net prohibited
    {EHOSTUNREACH, true},   // host prohibited
    {ENETUNREACH, false},   // net unreachable for TOS
    {EHOSTUNREACH, false},  // host unreachable for TOS
    {EHOSTUNREACH, true},   // administratively filtered
    {EHOSTUNREACH, true},   // precedence violation
    {EHOSTUNREACH, true},   // precedence cutoff
};

// Spreads flows over a SO_REUSEPORT group when the port gave no RSS hash.
std::uint32_t flow_hash(const buf::PacketBuf& packet, const wire::Ipv4Repr& ip, wire::Port sport) noexcept {
    if (packet.has_rss_hash()) return packet.rss_hash();
    std::uint64_t h = (std::uint64_t{ip.src.value()} << 16) ^ sport.value();
    h *= 0x9e3779b97f4a7c15ull;
    return static_cast<std::uint32_t>(h >> 32);
}

}  // namespace

UdpLayer::UdpLayer(ip::Ipv4Layer& ip, const UdpConfig& config)
    : ip_(ip), config_(config), ports_(socket::Transport::udp, config.port_seed) {
    ip_.set_transport(wire::IpProtocol::udp, this);
}

UdpLayer::~UdpLayer() { ip_.set_transport(wire::IpProtocol::udp, nullptr); }

std::unique_ptr<UdpSocket> UdpLayer::create_socket() { return std::make_unique<UdpSocket>(*this); }

bool UdpLayer::checksum_ok(const buf::PacketBuf& packet, const wire::Ipv4Repr& ip, std::uint16_t udp_len,
                           std::uint16_t checksum) const noexcept {
    if (checksum == 0) return true;  // RFC 768: no checksum was computed
    switch (packet.rx_l4_checksum()) {
        case buf::RxChecksum::good:
            return true;
        case buf::RxChecksum::bad:
            return false;
        default: {
            const std::uint32_t pseudo = wire::pseudo_header_sum(ip.src, ip.dst, wire::IpProtocol::udp, udp_len);
            return wire::fold(buf::partial_sum(packet, ip.header_len, pseudo)) == 0xffff;
        }
    }
}

// RFC 1122 §4.1.3.4 and Linux __udp4_lib_rcv(): length and checksum checks, then one
// socket (unicast) or every matching socket (broadcast), or port unreachable.
void UdpLayer::input(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, time::Instant now) noexcept {
    std::uint8_t scratch[wire::udp::header_len];
    const std::uint8_t* h = packet.read(ip.header_len, wire::udp::header_len, scratch);
    const wire::UdpView udp({h, h == nullptr ? 0 : wire::udp::header_len});
    if (h == nullptr || udp.length() < wire::udp::header_len || udp.length() > ip.payload_len) {
        counters_.in_bad_length.add();
        counters_.in_errors.add();
        return;
    }
    // RFC 768: the length field bounds the datagram; bytes past it are not covered by the
    // checksum and are dropped here (Linux's pskb_trim_rcsum).
    if (udp.length() < ip.payload_len) packet.truncate(ip.header_len + udp.length());
    if (!checksum_ok(packet, ip, udp.length(), udp.checksum())) {
        counters_.in_csum_errors.add();
        counters_.in_errors.add();
        return;
    }
    const wire::Port sport = udp.src_port();
    const wire::Port dport = udp.dst_port();
    const bool to_broadcast = ip.dst.is_multicast() || ip_.interface().is_broadcast(ip.dst);
    if (to_broadcast) {
        deliver_broadcast(std::move(packet), ip, sport, dport);
        return;
    }
    auto* socket = static_cast<UdpSocket*>(const_cast<void*>(
        ports_.lookup(ip.dst, dport, ip.src, sport, flow_hash(packet, ip, sport))));
    if (socket == nullptr) {
        counters_.no_ports.add();
        // RFC 1122 §4.1.3.1: port unreachable; Icmp applies the rules on when not to send.
        ip_.icmp().send_error(wire::IcmpType::dest_unreachable, static_cast<std::uint8_t>(wire::UnreachableCode::port),
                              packet, ip, ip_.arrival_of(ip), now);
        return;
    }
    if (!packet.adjust(static_cast<std::uint16_t>(ip.header_len + wire::udp::header_len))) {
        counters_.in_bad_length.add();  // headers split across segments: not a sane sender
        counters_.in_errors.add();
        return;
    }
    if (!socket->enqueue(std::move(packet), {ip.src, sport})) {
        counters_.rcvbuf_errors.add();
        counters_.in_errors.add();
    }
}

// Every socket that matches gets its own copy: a clone sharing the mbufs, as Linux clones
// the skb for all but the last receiver.
void UdpLayer::deliver_broadcast(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, wire::Port sport,
                                 wire::Port dport) noexcept {
    const std::uint32_t offset = ip.header_len + wire::udp::header_len;
    const std::uint32_t len = packet.length() - offset;
    bool delivered = false;
    ports_.for_each_match(ip.dst, dport, ip.src, sport, [&](socket::Owner owner) {
        auto* socket = static_cast<UdpSocket*>(const_cast<void*>(owner));
        delivered = true;
        buf::PacketBuf copy = len == 0 ? buf::PacketBuf::alloc(ip_.interface().pool())
                                       : packet.clone_range(offset, len, ip_.interface().pool());
        if (!copy) {
            counters_.in_errors.add();  // Linux counts a failed clone as a drop too
            return;
        }
        if (!socket->enqueue(std::move(copy), {ip.src, sport})) {
            counters_.rcvbuf_errors.add();
            counters_.in_errors.add();
        }
    });
    if (!delivered) counters_.ignored_multi.add();
}

// Linux __udp4_lib_err(): find the socket that sent the quoted datagram; only a connected
// socket hears about hard errors (no IP_RECVERR in pollux).
void UdpLayer::icmp_error(const wire::IcmpRepr& icmp, const wire::IcmpRepr::Quoted& quoted, time::Instant) noexcept {
    if (quoted.transport.size() < wire::udp::header_len) return;
    const wire::UdpView udp(quoted.transport.first(wire::udp::header_len));
    auto* socket = static_cast<UdpSocket*>(const_cast<void*>(
        ports_.lookup(quoted.ip.src, udp.src_port(), quoted.ip.dst, udp.dst_port(), 0)));
    if (socket == nullptr) return;
    ErrnoOf e{EHOSTUNREACH, false};
    switch (icmp.type) {
        case wire::IcmpType::dest_unreachable:
            if (icmp.code < 16) e = kUnreachable[icmp.code];
            break;
        case wire::IcmpType::time_exceeded:
            e = {EHOSTUNREACH, false};
            break;
        case wire::IcmpType::parameter_problem:
            e = {EPROTO, true};
            break;
        default:
            return;
    }
    if (e.hard) socket->icmp_error(e.value);
}

}  // namespace pollux::udp
