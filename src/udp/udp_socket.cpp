#include "udp/udp_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "buf/checksum.hpp"
#include "socket/datagram_read.hpp"
#include "socket/datagram_send_result.hpp"
#include "socket/iovec_copy.hpp"
#include "wire/udp.hpp"

namespace pollux::udp {

namespace {

constexpr wire::Ipv4Address kLoopback(127, 0, 0, 1);

// The sender of a queued datagram, packed into the queue's per-packet tag.
std::uint64_t tag_of(const wire::Endpoint& e) noexcept {
    return (std::uint64_t{e.address.value()} << 16) | e.port.value();
}
wire::Endpoint endpoint_of(std::uint64_t tag) noexcept {
    return {wire::Ipv4Address(static_cast<std::uint32_t>(tag >> 16)), wire::Port(static_cast<std::uint16_t>(tag))};
}

}  // namespace

UdpSocket::UdpSocket(UdpLayer& layer) : Socket(SOCK_DGRAM, IPPROTO_UDP), layer_(layer) {}

UdpSocket::~UdpSocket() { close(); }

void UdpSocket::close() noexcept {
    if (bound_) layer_.ports().release(this);
    bound_ = false;
    connected_ = false;
    rx_.clear();
}

// Linux inet_bind() accepts an address this host owns (ours, 127/8), a broadcast address
// or a multicast group; anything else is EADDRNOTAVAIL (no IP_FREEBIND in pollux).
int UdpSocket::bind(const wire::Endpoint& local) noexcept {
    const wire::Ipv4Address a = local.address;
    if (!(a.is_unspecified() || a.is_loopback() || a.is_multicast() || layer_.ip().interface().is_local(a))) {
        return -EADDRNOTAVAIL;
    }
    const auto& o = options();
    const socket::BindResult r = layer_.ports().bind(this, a, local.port, {o.reuse_addr, o.reuse_port});
    if (r.error != 0) return -r.error;
    bound_ = true;
    local_ = {a, r.port};
    return 0;
}

// inet_autobind(): an unbound socket that sends or connects takes an ephemeral port on the
// wildcard address; failure is EAGAIN.
int UdpSocket::autobind() noexcept {
    if (bound_) return 0;
    const auto& o = options();
    const socket::BindResult r =
        layer_.ports().bind(this, wire::Ipv4Address::any(), wire::Port(0), {o.reuse_addr, o.reuse_port});
    if (r.error != 0) return -EAGAIN;
    bound_ = true;
    local_ = {wire::Ipv4Address::any(), r.port};
    return 0;
}

int UdpSocket::protocol_getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept {
    if (level == IPPROTO_UDP) return -ENOPROTOOPT;
    return Socket::protocol_getsockopt(level, name, out, len);
}

void UdpSocket::options_changed() noexcept {
    if (bound_) layer_.ports().set_options(this, {options().reuse_addr, options().reuse_port});
}

// inet_dgram_connect() -> ip4_datagram_connect(): autobind, route (the broadcast check
// included), then the local address becomes the route's source if it was the wildcard.
int UdpSocket::connect(const socket::Destination& to, time::Instant) noexcept {
    if (!to.present) {  // AF_UNSPEC: __udp_disconnect()
        if (bound_ && layer_.ports().clear_connected(this) == socket::DisconnectResult::released) {
            bound_ = false;
            local_ = {};
        } else if (bound_) {
            local_.address = layer_.ports().find(this)->local;
        }
        connected_ = false;
        remote_ = {};
        return 0;
    }
    if (autobind() != 0) return -EAGAIN;  // inet_dgram_connect(), before the address checks
    if (to.error != 0) return to.error;
    wire::Endpoint dst = to.endpoint;
    if (dst.address.is_unspecified()) dst.address = kLoopback;  // Linux routes 0.0.0.0 to lo
    ip::Ipv4Layer& ip = layer_.ip();
    const bool broadcast = ip.interface().is_broadcast(dst.address);
    if (broadcast && !options().broadcast) return -EACCES;
    if (!broadcast && !ip.is_loopback_destination(dst.address) && ip.interface().routes().lookup(dst.address) == nullptr) {
        return -ENETUNREACH;
    }
    const wire::Ipv4Address source = local_.address.is_unspecified() ? ip.source_for(dst.address) : local_.address;
    if (!layer_.ports().set_connected(this, source, dst.address, dst.port)) return -EINVAL;
    local_.address = source;
    connected_ = true;
    remote_ = dst;
    return 0;
}

long UdpSocket::sendmsg(std::span<const iovec> data, const socket::Destination& to, int flags,
                        time::Instant now) noexcept {
    if (autobind() != 0) return -EAGAIN;  // inet_send_prepare(), before anything else
    const long total = socket::iovec_total(data);
    if (total < 0) return total;
    if (total > 0xffff) return -EMSGSIZE;
    if ((flags & MSG_OOB) != 0) return -EOPNOTSUPP;
    wire::Endpoint dst;
    if (to.present) {
        if (to.error != 0) return to.error;
        dst = to.endpoint;
        if (dst.port.is_zero()) return -EINVAL;
    } else {
        if (!connected_) return -EDESTADDRREQ;
        dst = remote_;
    }
    if (dst.address.is_unspecified()) dst.address = kLoopback;
    ip::Ipv4Layer& ip = layer_.ip();
    const bool broadcast = ip.interface().is_broadcast(dst.address);
    if (broadcast && !options().broadcast) return -EACCES;
    if (!broadcast && !ip.is_loopback_destination(dst.address) && ip.interface().routes().lookup(dst.address) == nullptr) {
        return -ENETUNREACH;
    }
    if (static_cast<std::size_t>(total) > wire::udp::max_payload_len) return -EMSGSIZE;  // __ip_append_data
    if (const int e = take_pending_error(); e != 0) return e;  // sock_alloc_send_pskb()
    if ((shutdown_state() & socket::kShutdownWrite) != 0) return -EPIPE;
    return send_datagram(data, static_cast<std::size_t>(total), dst, now);
}

long UdpSocket::send_datagram(std::span<const iovec> data, std::size_t len, const wire::Endpoint& dst,
                              time::Instant now) noexcept {
    ip::Ipv4Layer& ip = layer_.ip();
    rte_mempool* pool = ip.interface().pool();
    buf::PacketBuf packet = buf::PacketBuf::alloc(pool);
    if (!packet) {
        layer_.counters().sndbuf_errors.add();
        return -ENOBUFS;
    }
    if (const int e = socket::append_from_iovecs(packet, data, pool); e != 0) {
        if (e == -ENOBUFS) layer_.counters().sndbuf_errors.add();
        return e;
    }
    std::uint8_t* h = packet.prepend(wire::udp::header_len);
    if (h == nullptr) {
        layer_.counters().sndbuf_errors.add();
        return -ENOBUFS;
    }
    const wire::Ipv4Address src = local_.address.is_unspecified() ? ip.source_for(dst.address) : local_.address;
    const wire::UdpRepr udp{local_.port, dst.port, static_cast<std::uint16_t>(len)};
    const std::span<std::uint8_t> header(h, wire::udp::header_len);
    udp.emit_header(header, src, dst.address);
    // The port completes the checksum when it can and the datagram leaves whole; loopback
    // needs none (it is marked verified); otherwise it is summed here, across segments.
    const bool local = ip.is_loopback_destination(dst.address);
    const bool fits = wire::ipv4::min_header_len + udp.buffer_len() <= ip.interface().mtu();
    if (layer_.config().tx_checksum_offload && fits && !local) {
        packet.set_header_lengths(0, wire::ipv4::min_header_len, wire::udp::header_len);
        packet.request_udp_checksum();
    } else if (!local) {
        wire::UdpRepr::finish_checksum(header, buf::partial_sum(packet));
    }
    wire::Ipv4Repr hdr;
    hdr.src = src;
    hdr.dst = dst.address;
    hdr.protocol = wire::IpProtocol::udp;
    hdr.ttl = static_cast<std::uint8_t>(options().ttl == -1 ? ip.default_ttl() : options().ttl);
    hdr.tos = options().tos;
    return socket::datagram_send_result(ip.output(std::move(packet), hdr, now), len, layer_.counters());
}

// udp_recvmsg(): the pending error first, then one datagram; a short buffer truncates it
// (MSG_TRUNC in msg_flags, and the full length returned when the caller passed MSG_TRUNC).
long UdpSocket::recvmsg(std::span<const iovec> data, int flags, socket::RecvMeta& meta) noexcept {
    if ((flags & MSG_ERRQUEUE) != 0) return -EAGAIN;  // no error queue (IP_RECVERR) in pollux
    if (const int e = take_pending_error(); e != 0) return e;
    const socket::DatagramRead r = socket::read_datagram(rx_, data, flags, meta);
    if (r.outcome == socket::DatagramRead::Outcome::empty) return r.result;
    meta.has_source = true;
    meta.source = endpoint_of(r.tag);
    if (r.outcome == socket::DatagramRead::Outcome::read) layer_.counters().in_datagrams.add();
    if (r.outcome == socket::DatagramRead::Outcome::dropped) {  // Linux drops what it could not copy
        layer_.counters().in_copy_errors.add();
        layer_.counters().in_errors.add();
    }
    return r.result;
}

// inet_shutdown() ends with sk_state_change(): every watcher is woken.
int UdpSocket::shutdown(int how) noexcept {
    const int r = shutdown_datagram(how, connected_);
    if (r != -EINVAL) readiness_event(event::kWakeAll);
    return r;
}

std::uint32_t UdpSocket::poll_mask() const noexcept {
    return event::datagram_poll_mask(!rx_.empty(), has_pending_error(), shutdown_state());
}

int UdpSocket::local_endpoint(wire::Endpoint& out) const noexcept {
    out = bound_ ? local_ : wire::Endpoint{};
    return 0;
}

int UdpSocket::remote_endpoint(wire::Endpoint& out) const noexcept {
    if (!connected_) return -ENOTCONN;
    out = remote_;
    return 0;
}

int UdpSocket::bytes_readable() const noexcept {
    const auto front = rx_.front();
    return front ? static_cast<int>(front->length()) : 0;
}

// __udp_enqueue_schedule_skb(): refused when the memory already queued exceeds SO_RCVBUF,
// so one datagram may take the queue past the limit (a small SO_RCVBUF still admits one).
bool UdpSocket::enqueue(buf::PacketBuf&& payload, const wire::Endpoint& from) noexcept {
    if (rx_.footprint() > static_cast<std::size_t>(options().rcvbuf)) return false;
    rx_.push_back(std::move(payload), tag_of(from));
    readiness_event(event::kWakeReadable);  // sock_def_readable()
    return true;
}

void UdpSocket::icmp_error(int errno_value) noexcept {
    if (!connected_) return;
    set_pending_error(errno_value);
    readiness_event(event::kWakeError);  // sk_error_report()
}

}  // namespace pollux::udp
