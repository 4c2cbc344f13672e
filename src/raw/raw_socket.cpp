#include "raw/raw_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "raw/raw_layer.hpp"
#include "socket/datagram_read.hpp"
#include "socket/datagram_send_result.hpp"
#include "socket/iovec_copy.hpp"

namespace pollux::raw {

namespace {

// ICMP_FILTER of <linux/icmp.h>, the one SOL_RAW option of IPv4 raw sockets.
constexpr int kIcmpFilter = 1;

// The answer to a SOL_RAW option: Linux's do_raw_setsockopt/getsockopt refuse ICMP_FILTER
// on a socket of another protocol with EOPNOTSUPP; pollux lacks the filter itself.
int raw_option(int level, int name, int protocol) noexcept {
    if (level == SOL_RAW && name == kIcmpFilter && protocol != IPPROTO_ICMP) return -EOPNOTSUPP;
    return -ENOPROTOOPT;
}

}  // namespace

RawSocket::RawSocket(RawLayer& layer, int protocol) : Socket(SOCK_RAW, protocol), layer_(layer) {
    // inet_create(): "if (IPPROTO_RAW == protocol) inet->hdrincl = 1". The option stays
    // settable, as on Linux.
    if (protocol == IPPROTO_RAW) mutable_options().hdrincl = true;
    layer_.link(*this);
}

RawSocket::~RawSocket() { close(); }

void RawSocket::close() noexcept {
    if (hook_.is_linked()) layer_.unlink(*this);
    connected_ = false;
    rx_.clear();
}

int RawSocket::protocol_setsockopt(int level, int name, std::span<const std::uint8_t>) noexcept {
    return raw_option(level, name, protocol());
}

int RawSocket::protocol_getsockopt(int level, int name, std::span<std::uint8_t>, std::size_t&) noexcept {
    return raw_option(level, name, protocol());
}

// raw_bind(): refused while connected; the address must be one this host receives on
// (inet_addr_type: local, broadcast, multicast, or the wildcard), else EADDRNOTAVAIL. A
// second bind simply replaces the first. Broadcast and multicast addresses filter what is
// received but are no source: sends then take the route's ("use device").
int RawSocket::bind(const wire::Endpoint& local) noexcept {
    if (connected_) return -EINVAL;
    const wire::Ipv4Address a = local.address;
    const iface::Interface& iface = layer_.ip().interface();
    if (!(a.is_unspecified() || a.is_loopback() || a.is_multicast() || iface.is_local(a))) return -EADDRNOTAVAIL;
    rcv_address_ = a;
    source_ = a.is_multicast() || iface.is_broadcast(a) ? wire::Ipv4Address::any() : a;
    return 0;
}

// What Linux's route lookup (ip_route_output_flow) and the broadcast check after it
// answer for a datagram from this socket to `dst` (already mapped from 0.0.0.0).
int RawSocket::check_route(wire::Ipv4Address dst) const noexcept {
    ip::Ipv4Layer& ip = layer_.ip();
    const bool broadcast = ip.interface().is_broadcast(dst);
    const bool local = ip.is_loopback_destination(dst);
    if (!broadcast && !local && ip.interface().routes().lookup(dst) == nullptr) return -ENETUNREACH;
    // __mkroute_output(): a loopback source only reaches this host.
    if (source_.is_loopback() && !local) return -EINVAL;
    if (broadcast && !options().broadcast) return -EACCES;
    return 0;
}

// inet_dgram_connect() -> ip4_datagram_connect(): no autobind (a raw socket has its
// "port" from socket()), then the address checks; routed as a send would be; the route's
// source fills the addresses still unset; the peer is recorded with the port given (which
// only getpeername shows). Connecting again replaces the peer.
int RawSocket::connect(const socket::Destination& to, time::Instant) noexcept {
    if (!to.present) return disconnect();  // AF_UNSPEC
    if (to.error != 0) return to.error;
    wire::Endpoint dst = to.endpoint;
    if (dst.address.is_unspecified()) dst.address = ip::Ipv4Layer::loopback_address;  // Linux routes it to lo
    if (const int e = check_route(dst.address); e != 0) return e;
    if (source_.is_unspecified()) source_ = layer_.ip().source_for(dst.address);
    if (rcv_address_.is_unspecified()) rcv_address_ = source_;
    remote_ = dst;
    connected_ = true;
    return 0;
}

// __udp_disconnect(), which raw sockets share with UDP: since raw_bind() sets no bind
// locks, the addresses are forgotten and the socket leaves the raw table (Linux's
// unhash): it receives nothing more, whether or not it was connected.
int RawSocket::disconnect() noexcept {
    connected_ = false;
    remote_ = {};
    rcv_address_ = wire::Ipv4Address::any();
    source_ = wire::Ipv4Address::any();
    if (hook_.is_linked()) layer_.unlink(*this);
    return 0;
}

long RawSocket::sendmsg(std::span<const iovec> data, const socket::Destination& to, int flags,
                        time::Instant now) noexcept {
    const long total = socket::iovec_total(data);
    if (total < 0) return total;
    if (total > 0xffff) return -EMSGSIZE;  // raw_sendmsg's first check
    if ((flags & MSG_OOB) != 0) return -EOPNOTSUPP;
    wire::Ipv4Address dst;
    if (to.present) {
        if (to.error != 0) return to.error;
        dst = to.endpoint.address;  // sin_port is ignored (ANK's comment in raw_sendmsg)
    } else {
        if (!connected_) return -EDESTADDRREQ;
        dst = remote_.address;
    }
    if (dst.is_unspecified()) dst = ip::Ipv4Layer::loopback_address;
    if (const int e = check_route(dst); e != 0) return e;
    const auto len = static_cast<std::size_t>(total);
    return options().hdrincl ? send_hdrincl(data, len, dst, now) : send_payload(data, len, dst, now);
}

buf::PacketBuf RawSocket::copy_in(std::span<const iovec> data, int& error) noexcept {
    rte_mempool* pool = layer_.ip().interface().pool();
    buf::PacketBuf packet = buf::PacketBuf::alloc(pool);
    error = packet ? socket::append_from_iovecs(packet, data, pool) : -ENOBUFS;
    if (error == 0) return packet;
    if (error == -ENOBUFS) layer_.counters().sndbuf_errors.add();
    return {};
}

// raw_send_hdrinc(): the size checks, then the pending error and SHUT_WR (its
// sock_alloc_send_skb), then the header checks, which Ipv4Layer::output_raw makes.
long RawSocket::send_hdrincl(std::span<const iovec> data, std::size_t len, wire::Ipv4Address dst,
                             time::Instant now) noexcept {
    ip::Ipv4Layer& ip = layer_.ip();
    const std::size_t mtu = ip.is_loopback_destination(dst) ? ip::Ipv4Layer::loopback_mtu : ip.interface().mtu();
    if (len > mtu) return -EMSGSIZE;
    if (len < wire::ipv4::min_header_len) return -EINVAL;
    if (const int e = take_pending_error(); e != 0) return e;
    if ((shutdown_state() & socket::kShutdownWrite) != 0) return -EPIPE;
    int error = 0;
    buf::PacketBuf datagram = copy_in(data, error);
    if (!datagram) return error;
    // A zero source becomes the flow's source, which is the bound one when there is one
    // (output_raw would otherwise take the route's). The first segment holds the whole
    // header: a fresh mbuf's room is far more than 60 bytes.
    const std::span<std::uint8_t> head = datagram.front();
    if (!source_.is_unspecified() && head.size() >= wire::ipv4::min_header_len &&
        wire::Ipv4View(head).src().is_unspecified()) {
        source_.to_bytes(&head[wire::ipv4::src_offset]);
    }
    return socket::datagram_send_result(ip.output_raw(std::move(datagram), now), len, layer_.counters());
}

// raw_sendmsg() -> ip_append_data() with no transport header: the payload must fit one
// IPv4 datagram; neither the pending error nor SHUT_WR is looked at (see the header).
long RawSocket::send_payload(std::span<const iovec> data, std::size_t len, wire::Ipv4Address dst,
                             time::Instant now) noexcept {
    if (len > wire::ipv4::max_packet_len - wire::ipv4::min_header_len) return -EMSGSIZE;
    int error = 0;
    buf::PacketBuf payload = copy_in(data, error);
    if (!payload) return error;
    ip::Ipv4Layer& ip = layer_.ip();
    wire::Ipv4Repr hdr;
    hdr.src = source_;  // 0.0.0.0: output() takes source_for(dst)
    hdr.dst = dst;
    hdr.protocol = static_cast<wire::IpProtocol>(protocol());
    hdr.ttl = static_cast<std::uint8_t>(options().ttl == -1 ? ip.default_ttl() : options().ttl);
    hdr.tos = options().tos;
    // IP_PMTUDISC_WANT, Linux's default: DF on every datagram that fits the path's MTU
    // (__ip_make_skb); larger ones are fragmented and go without it.
    hdr.dont_fragment = ip.is_loopback_destination(dst) || wire::ipv4::min_header_len + len <= ip.interface().mtu();
    return socket::datagram_send_result(ip.output(std::move(payload), hdr, now), len, layer_.counters());
}

// raw_recvmsg(): MSG_OOB is refused, the error queue is empty (no IP_RECVERR), then
// skb_recv_datagram reports the pending error before any datagram. A short buffer
// truncates (MSG_TRUNC in msg_flags, the full length returned when the caller passed
// MSG_TRUNC); the source is named with port 0.
long RawSocket::recvmsg(std::span<const iovec> data, int flags, socket::RecvMeta& meta) noexcept {
    if ((flags & MSG_OOB) != 0) return -EOPNOTSUPP;
    if ((flags & MSG_ERRQUEUE) != 0) return -EAGAIN;
    if (const int e = take_pending_error(); e != 0) return e;
    const socket::DatagramRead r = socket::read_datagram(rx_, data, flags, meta);
    if (r.outcome == socket::DatagramRead::Outcome::empty) return r.result;
    meta.has_source = true;
    meta.source = {wire::Ipv4Address(static_cast<std::uint32_t>(r.tag)), wire::Port(0)};
    if (r.outcome == socket::DatagramRead::Outcome::read) layer_.counters().in_datagrams.add();
    if (r.outcome == socket::DatagramRead::Outcome::dropped) layer_.counters().in_copy_errors.add();
    return r.result;
}

// inet_shutdown() ends with sk_state_change(): every watcher is woken.
int RawSocket::shutdown(int how) noexcept {
    const int r = shutdown_datagram(how, connected_);
    if (r != -EINVAL) readiness_event(event::kWakeAll);
    return r;
}

std::uint32_t RawSocket::poll_mask() const noexcept {
    return event::datagram_poll_mask(!rx_.empty(), has_pending_error(), shutdown_state());
}

// inet_getname(): the receive address (else the source), and inet_sport, which is the
// protocol number from socket() until a disconnect unhashes the socket.
int RawSocket::local_endpoint(wire::Endpoint& out) const noexcept {
    out.address = rcv_address_.is_unspecified() ? source_ : rcv_address_;
    out.port = wire::Port(hook_.is_linked() ? static_cast<std::uint16_t>(protocol()) : 0);
    return 0;
}

// inet_getname(peer): ENOTCONN unless connected with a nonzero port.
int RawSocket::remote_endpoint(wire::Endpoint& out) const noexcept {
    if (!connected_ || remote_.port.is_zero()) return -ENOTCONN;
    out = remote_;
    return 0;
}

int RawSocket::bytes_readable() const noexcept {
    const auto front = rx_.front();
    return front ? static_cast<int>(front->length()) : 0;
}

// sock_queue_rcv_skb(): refused once the memory queued reaches SO_RCVBUF (">=", where UDP
// refuses only above it), so a small SO_RCVBUF still admits one datagram.
bool RawSocket::enqueue(buf::PacketBuf&& datagram, wire::Ipv4Address from) noexcept {
    if (rx_.footprint() >= static_cast<std::size_t>(options().rcvbuf)) return false;
    rx_.push_back(std::move(datagram), from.value());
    readiness_event(event::kWakeReadable);  // sock_def_readable()
    return true;
}

}  // namespace pollux::raw
