#include "tcp/tcp_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pollux::tcp {

namespace {
constexpr int kSomaxconn = 4096;  // net.core.somaxconn
constexpr wire::Ipv4Address kLoopback(127, 0, 0, 1);
}  // namespace

TcpSocket::TcpSocket(TcpLayer& layer)
    : Socket(SOCK_STREAM, IPPROTO_TCP), layer_(layer), timer_(&TcpSocket::on_timer, this) {}

TcpSocket::~TcpSocket() {
    timer_.cancel();
    if (hashed_) layer_.unhash(*this);
    if (bound_) layer_.ports().release(this);
}

void TcpSocket::make_tcb() {
    TcbConfig c = layer_.config().tcb;
    c.rcvbuf = static_cast<std::uint32_t>(options().rcvbuf);
    c.sndbuf = static_cast<std::uint32_t>(options().sndbuf);
    c.nodelay = nodelay_;
    tcb_ = std::make_unique<Tcb>(c, *this, layer_.ip().interface().pool(), local_, remote_);
}

// inet_bind(): as for UDP, an address of this host; the port manager decides the rest.
int TcpSocket::bind(const wire::Endpoint& local) noexcept {
    const wire::Ipv4Address a = local.address;
    if (!(a.is_unspecified() || a.is_loopback() || a.is_multicast() || layer_.ip().interface().is_local(a))) {
        return -EADDRNOTAVAIL;
    }
    if (tcb_ || listening_) return -EINVAL;
    const socket::BindResult r = layer_.ports().bind(this, a, local.port, {options().reuse_addr, options().reuse_port});
    if (r.error != 0) return -r.error;
    bound_ = true;
    local_ = {a, r.port};
    return 0;
}

// inet_listen(): only an unconnected stream socket; autobind; the backlog is clamped to
// somaxconn (a negative one too, read unsigned). Listening again only changes the backlog.
int TcpSocket::listen(int backlog) noexcept {
    if (tcb_) return -EINVAL;
    backlog_ = static_cast<int>(std::min(static_cast<unsigned>(backlog), static_cast<unsigned>(kSomaxconn)));
    if (listening_) return 0;
    if (!bound_) {
        const socket::BindResult r = layer_.ports().bind(this, wire::Ipv4Address::any(), wire::Port(0),
                                                          {options().reuse_addr, options().reuse_port});
        if (r.error != 0) return -EAGAIN;
        bound_ = true;
        local_ = {wire::Ipv4Address::any(), r.port};
    }
    if (const int e = layer_.ports().listen(this); e != 0) return -e;
    listening_ = true;
    return 0;
}

int TcpSocket::accept(socket::Socket*& out, wire::Endpoint& peer) noexcept {
    if (!listening_) return -EINVAL;
    if (accept_queue_.empty()) return -EAGAIN;
    std::unique_ptr<TcpSocket> child = std::move(accept_queue_.front());
    accept_queue_.pop_front();
    child->parent_ = nullptr;
    peer = child->remote_;
    out = child.release();
    return 0;
}

// __inet_stream_connect() + tcp_v4_connect(): state checks, the address, the route, the
// implicit bind with a 4-tuple nobody uses, then the SYN. The handshake completes later:
// -EINPROGRESS, and the API waits (blocking) or the caller polls.
int TcpSocket::connect(const socket::Destination& to, time::Instant now) noexcept {
    if (!to.present) {  // AF_UNSPEC: tcp_disconnect()
        if (tcb_) tcb_->abort(now);
        after_event(now);
        return 0;
    }
    if (connecting_) return -EALREADY;
    if (tcb_ || listening_) return -EISCONN;
    if (to.error != 0) return to.error;
    wire::Endpoint dst = to.endpoint;
    if (dst.address.is_unspecified()) dst.address = kLoopback;
    ip::Ipv4Layer& ip = layer_.ip();
    if (ip.interface().is_broadcast(dst.address) || dst.address.is_multicast()) return -ENETUNREACH;
    if (!ip.is_loopback_destination(dst.address) && ip.interface().routes().lookup(dst.address) == nullptr) {
        return -ENETUNREACH;
    }
    const wire::Ipv4Address src = bound_ && !local_.address.is_unspecified() ? local_.address : ip.source_for(dst.address);
    if (!bound_) {
        const socket::BindResult r = layer_.ports().connect_port(
            this, src, dst.address, dst.port, {options().reuse_addr, options().reuse_port},
            [&](wire::Port p) { return layer_.tuple_free({src, p}, dst); });
        if (r.error != 0) return -r.error;
        bound_ = true;
        local_ = {src, r.port};
    } else {
        if (!layer_.tuple_free({src, local_.port}, dst)) return -EADDRNOTAVAIL;
        layer_.ports().set_connected(this, src, dst.address, dst.port);
        local_.address = src;
    }
    remote_ = dst;
    make_tcb();
    layer_.hash(*this);
    hashed_ = true;
    connecting_ = true;
    layer_.counters().active_opens.add();
    tcb_->connect(layer_.isn(local_, remote_, now), now);
    after_event(now);
    return -EINPROGRESS;
}

int TcpSocket::finish_connect() noexcept {
    if (!connecting_) return 0;
    const State s = tcb_->state();
    if (s == State::syn_sent || s == State::syn_received) return -EAGAIN;
    connecting_ = false;
    if (s == State::closed) {
        const int e = tcb_->take_error();
        return e != 0 ? -e : -ECONNREFUSED;
    }
    return 0;
}

// tcp_sendmsg(): a connection that is not (or no longer) sending is EPIPE, as Linux's
// sk_stream_wait_connect() answers for CLOSE and LISTEN; a pending error first.
long TcpSocket::sendmsg(std::span<const iovec> data, const socket::Destination&, int flags,
                        time::Instant now) noexcept {
    if ((flags & MSG_OOB) != 0) return -EOPNOTSUPP;  // urgent data is not supported
    if (!tcb_) return -EPIPE;
    if (const int e = tcb_->take_error(); e != 0) return -e;
    if ((shutdown_state() & socket::kShutdownWrite) != 0) return -EPIPE;
    const State s = tcb_->state();
    if (s == State::syn_sent || s == State::syn_received) return -EAGAIN;  // wait for the handshake
    const long n = tcb_->send(data, now);
    after_event(now);
    return n;
}

long TcpSocket::recvmsg(std::span<const iovec> data, int flags, socket::RecvMeta& meta) noexcept {
    meta.has_source = false;
    if (!tcb_ || listening_) return -ENOTCONN;
    if ((flags & MSG_OOB) != 0) return -EINVAL;  // no urgent data: tcp_recv_urg()
    const time::Instant now = layer_.now();
    const State s = tcb_->state();
    if (s == State::syn_sent || s == State::syn_received) return -EAGAIN;
    const long n = tcb_->recv(data, (flags & MSG_PEEK) != 0, now);
    if (n == -ENOTCONN && (shutdown_state() & socket::kShutdownRead) != 0) return 0;
    after_event(now);
    return n;
}

// inet_shutdown() + tcp_shutdown(): SHUT_WR sends our FIN after the data; SHUT_RD only
// marks the socket (Linux neither discards queued data nor tells the peer).
int TcpSocket::shutdown(int how) noexcept {
    if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
    if (listening_) {  // a listener shut down stops listening (Linux: tcp_disconnect)
        add_shutdown(static_cast<std::uint8_t>(how + 1));
        return 0;
    }
    if (!tcb_ || tcb_->state() == State::closed || tcb_->state() == State::syn_sent) {
        add_shutdown(static_cast<std::uint8_t>(how + 1));
        return -ENOTCONN;
    }
    add_shutdown(static_cast<std::uint8_t>(how + 1));
    const time::Instant now = layer_.now();
    if (how != SHUT_RD) tcb_->shutdown_write(now);
    after_event(now);
    return 0;
}

int TcpSocket::local_endpoint(wire::Endpoint& out) const noexcept {
    out = bound_ ? local_ : wire::Endpoint{};
    return 0;
}

int TcpSocket::remote_endpoint(wire::Endpoint& out) const noexcept {
    if (!tcb_ || tcb_->state() == State::closed || tcb_->state() == State::syn_sent) return -ENOTCONN;
    out = remote_;
    return 0;
}

int TcpSocket::bytes_readable() const noexcept {
    return tcb_ ? static_cast<int>(std::min<std::size_t>(tcb_->readable_bytes(), 0x7fffffff)) : 0;
}

// tcp_close(): a listener drops its queues (RST to each queued connection, as Linux's
// inet_csk_listen_stop does); a connection closes gracefully and lives on as an orphan
// while its TCB finishes.
void TcpSocket::close() noexcept {
    const time::Instant now = layer_.now();
    embryos_.clear();
    for (auto& child : accept_queue_) child->tcb_->abort(now);
    accept_queue_.clear();
    if (listening_) {
        listening_ = false;
        return;  // the destructor releases the port
    }
    if (!tcb_ || tcb_->state() == State::closed) return;
    tcb_->close(now);
    if (tcb_->state() == State::closed) return;
    orphan_ = true;
    layer_.adopt_orphan(*this);
    after_event(now);
}

// do_tcp_setsockopt(): an int of at least 4 bytes (EINVAL), then the option.
int TcpSocket::protocol_setsockopt(int level, int name, std::span<const std::uint8_t> value) noexcept {
    if (level != IPPROTO_TCP) return -ENOPROTOOPT;
    if (value.size() < sizeof(int)) return -EINVAL;
    int v = 0;
    std::memcpy(&v, value.data(), sizeof v);
    switch (name) {
        case TCP_NODELAY:
            nodelay_ = v != 0;
            if (tcb_) {
                tcb_->set_nodelay(nodelay_, layer_.now());
                after_event(layer_.now());
            }
            return 0;
        default:
            return -ENOPROTOOPT;
    }
}

int TcpSocket::protocol_getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept {
    if (level != IPPROTO_TCP) return Socket::protocol_getsockopt(level, name, out, len);
    switch (name) {
        case TCP_NODELAY: {
            const int v = nodelay_ ? 1 : 0;
            len = std::min({len, sizeof v, out.size()});
            std::memcpy(out.data(), &v, len);
            return 0;
        }
        default:
            return -ENOPROTOOPT;
    }
}

void TcpSocket::transmit(const wire::TcpRepr& header, buf::PacketBuf&& payload) noexcept {
    layer_.send_segment(local_, remote_, header, std::move(payload), options().ttl, options().tos, layer_.now());
}

void TcpSocket::deliver(Segment&& segment, time::Instant now) noexcept {
    // A full accept queue drops the handshake's last ACK, as Linux does (the SYN-ACK is
    // retransmitted and the client's retransmitted ACK may then fit).
    if (parent_ != nullptr && tcb_->state() == State::syn_received && parent_->accept_queue_full() &&
        segment.header.has(wire::TcpFlags::ack)) {
        layer_.counters().listen_overflows.add();
        return;
    }
    layer_.counters().in_segs.add();
    tcb_->input(std::move(segment), now);
    after_event(now);
}

bool TcpSocket::accept_syn(const wire::TcpRepr& syn, const wire::Endpoint& local, const wire::Endpoint& remote,
                           time::Instant now) noexcept {
    // The SYN queue is bounded by the backlog too (Linux: inet_csk_reqsk_queue_is_full).
    if (embryos_.size() > static_cast<std::size_t>(backlog_) || accept_queue_full()) {
        layer_.counters().listen_drops.add();
        return false;
    }
    auto child = std::make_unique<TcpSocket>(layer_);
    child->local_ = local;
    child->remote_ = remote;
    child->parent_ = this;
    if (layer_.ports().inherit(child.get(), this, local.address, remote.address, remote.port) != 0) {
        layer_.counters().listen_drops.add();
        return false;
    }
    child->bound_ = true;
    child->mutable_options() = options();
    child->make_tcb();
    layer_.hash(*child);
    child->hashed_ = true;
    layer_.counters().passive_opens.add();
    child->tcb_->accept_syn(syn, layer_.isn(local, remote, now), now);
    TcpSocket& c = *child;
    embryos_.push_back(std::move(child));
    c.after_event(now);
    return true;
}

void TcpSocket::promote(TcpSocket& child) noexcept {
    const auto it = std::find_if(embryos_.begin(), embryos_.end(), [&](const auto& p) { return p.get() == &child; });
    if (it == embryos_.end()) return;
    accept_queue_.push_back(std::move(*it));
    embryos_.erase(it);
}

void TcpSocket::forget_embryo(TcpSocket& child) noexcept {
    const auto it = std::find_if(embryos_.begin(), embryos_.end(), [&](const auto& p) { return p.get() == &child; });
    if (it != embryos_.end()) embryos_.erase(it);  // destroys it: unhashed, port released
}

// After anything the TCB did: its timer follows poll_at(); a handshake that completed
// moves to the accept queue; a connection that reached CLOSED leaves the 4-tuple table
// (and, for an orphan or an embryo, is freed — last, since that destroys `this`).
void TcpSocket::after_event(time::Instant now) noexcept {
    (void)now;
    if (!tcb_) return;
    layer_.counters().retrans_segs.add(tcb_->retransmits() - retransmits_counted_);
    retransmits_counted_ = tcb_->retransmits();
    const time::Instant at = tcb_->poll_at();
    if (at == time::Instant::max()) {
        timer_.cancel();
    } else if (!timer_.armed() || timer_.deadline() != at) {
        layer_.wheel().arm(timer_, at);
    }
    if (parent_ != nullptr && tcb_->state() != State::syn_received && tcb_->state() != State::closed) {
        parent_->promote(*this);
        return;
    }
    if (tcb_->state() != State::closed) return;
    timer_.cancel();
    if (hashed_) {
        layer_.unhash(*this);
        hashed_ = false;
    }
    if (parent_ != nullptr) {
        parent_->forget_embryo(*this);  // destroys this
        return;
    }
    if (orphan_) layer_.reap(*this);  // destroys this
}

void TcpSocket::icmp_error(int error, bool hard, time::Instant now) noexcept {
    tcb_->icmp_error(error, hard);
    after_event(now);
}

void TcpSocket::on_timer(time::Timer&, time::Instant now, void* self) noexcept {
    auto* s = static_cast<TcpSocket*>(self);
    s->tcb_->on_timer(now);
    s->after_event(now);
}

}  // namespace pollux::tcp
