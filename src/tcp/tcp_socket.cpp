#include "tcp/tcp_socket.hpp"

#include "tcp/tcp_info.hpp"

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
// include/net/tcp.h bounds of the per-socket options.
constexpr int kMaxKeepIdle = 32767;   // MAX_TCP_KEEPIDLE
constexpr int kMaxKeepIntvl = 32767;  // MAX_TCP_KEEPINTVL
constexpr int kMaxKeepCnt = 127;      // MAX_TCP_KEEPCNT
constexpr int kMaxSynCnt = 127;       // MAX_TCP_SYNCNT
constexpr std::size_t kCongestionNameMax = 16;  // TCP_CA_NAME_MAX
}  // namespace

TcpSocket::TcpSocket(TcpLayer& layer)
    : Socket(SOCK_STREAM, IPPROTO_TCP),
      layer_(layer),
      tcb_config_(layer.config().tcb),
      timer_(&TcpSocket::on_timer, this) {
    publish_readiness(event::kUnconnectedStreamMask, 0);
}

TcpSocket::~TcpSocket() {
    if (tcb_) count_tcb_events();
    if (in_syn_queue_) layer_.syn_backlog_add(-1);
    layer_.forget_listener(*this);
    timer_.cancel();
    if (time_wait_counted_) layer_.leave_time_wait(orphan_);
    if (hashed_) layer_.unhash(*this);
    if (bound_) layer_.ports().release(this);
}

TcbConfig TcpSocket::effective_tcb_config() const noexcept {
    TcbConfig c = tcb_config_;
    c.rcvbuf = static_cast<std::uint32_t>(options().rcvbuf);
    c.sndbuf = static_cast<std::uint32_t>(options().sndbuf);
    c.keepalive = options().keepalive;
    if (user_mss_ != 0) c.mss = static_cast<std::uint16_t>(std::min<int>(c.mss, user_mss_));
    return c;
}

void TcpSocket::make_tcb() {
    tcb_ = std::make_unique<Tcb>(effective_tcb_config(), *this, layer_.ip().interface().pool(), local_, remote_);
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
    if (listening_) {
        layer_.note_listener(*this, backlog_);
        return 0;
    }
    if (!bound_) {
        const socket::BindResult r = layer_.ports().bind(this, wire::Ipv4Address::any(), wire::Port(0),
                                                          {options().reuse_addr, options().reuse_port});
        if (r.error != 0) return -EAGAIN;
        bound_ = true;
        local_ = {wire::Ipv4Address::any(), r.port};
    }
    if (const int e = layer_.ports().listen(this); e != 0) return -e;
    listening_ = true;
    layer_.note_listener(*this, backlog_);
    publish_readiness(0, 0);  // epoll: inet_csk_listen_poll() of an empty accept queue
    return 0;
}

int TcpSocket::accept(socket::Socket*& out, wire::Endpoint& peer) noexcept {
    if (!listening_) return -EINVAL;
    if (accept_queue_.empty()) return -EAGAIN;
    std::unique_ptr<TcpSocket> child = std::move(accept_queue_.front());
    accept_queue_.pop_front();
    publish_readiness(accept_queue_.empty() ? 0 : event::kListenerReadyMask, accept_queue_.size());  // epoll
    child->parent_ = nullptr;
    peer = child->remote_;
    out = child.release();
    return 0;
}

// __inet_stream_connect() + tcp_v4_connect(): state checks, the address, the route, the
// implicit bind with a 4-tuple nobody uses, then the SYN. The handshake completes later:
// -EINPROGRESS, and the API waits (blocking) or the caller polls.
int TcpSocket::connect(const socket::Destination& to, time::Instant now) noexcept {
    if (!to.present) {  // AF_UNSPEC: tcp_disconnect() — RST if synchronized, then unconnected
        if (tcb_) {
            // tcp_disconnect(): a connection that had to be reset leaves ECONNRESET behind.
            const State was = tcb_->state();
            tcb_->abort(now);
            drop_tcb();
            if (was != State::closed && was != State::time_wait && was != State::closing && was != State::last_ack) {
                set_pending_error(ECONNRESET);
            }
        }
        return 0;
    }
    // __inet_stream_connect() on a socket still SS_CONNECTING: EALREADY while the handshake
    // runs, then its outcome once (0, or the error that ended it).
    if (connecting_) {
        const int r = finish_connect();
        return r == -EAGAIN ? -EALREADY : r;
    }
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

// The end of __inet_stream_connect(): a handshake that failed reports its error (or
// ECONNABORTED when SO_ERROR took it already) and leaves the socket unconnected, so that
// connect() may be called again (sock_error: tcp_disconnect()).
int TcpSocket::finish_connect() noexcept {
    if (!connecting_) return 0;
    const State s = tcb_->state();
    if (s == State::syn_sent || s == State::syn_received) return -EAGAIN;
    connecting_ = false;
    if (s == State::closed) {
        const int e = tcb_->take_error();
        drop_tcb();
        return e != 0 ? -e : -ECONNABORTED;
    }
    return 0;
}

void TcpSocket::drop_tcb() noexcept {
    if (tcb_) count_tcb_events();
    timer_.cancel();
    if (time_wait_counted_) {  // connect(AF_UNSPEC) in TIME-WAIT
        layer_.leave_time_wait(orphan_);
        time_wait_counted_ = false;
    }
    if (hashed_) {
        layer_.unhash(*this);
        hashed_ = false;
    }
    tcb_.reset();
    counted_ = {};
    connecting_ = false;
    publish_readiness(event::kUnconnectedStreamMask, 0);
}

std::uint32_t TcpSocket::poll_mask() const noexcept {
    if (listening_) return accept_queue_.empty() ? 0u : event::kListenerReadyMask;
    return tcb_ ? event::tcp_connection_mask(*tcb_, shutdown_state()) : event::kUnconnectedStreamMask;
}

// tcp_sendmsg(): a connection that is not (or no longer) sending is EPIPE, as Linux's
// sk_stream_wait_connect() answers for CLOSE and LISTEN; a pending error first.
long TcpSocket::sendmsg(std::span<const iovec> data, const socket::Destination&, int flags,
                        time::Instant now) noexcept {
    if ((flags & MSG_OOB) != 0) return -EOPNOTSUPP;  // urgent data is not supported
    if (!tcb_) {
        const int e = take_pending_error();  // connect(AF_UNSPEC)'s ECONNRESET
        return e != 0 ? e : -EPIPE;
    }
    if (const int e = tcb_->take_error(); e != 0) return -e;
    if ((shutdown_state() & socket::kShutdownWrite) != 0) return -EPIPE;
    const State s = tcb_->state();
    if (s == State::syn_sent || s == State::syn_received) return -EAGAIN;  // wait for the handshake
    const long n = tcb_->send(data, now, (flags & MSG_MORE) != 0);
    after_event(now);
    return n;
}

long TcpSocket::recvmsg(std::span<const iovec> data, int flags, socket::RecvMeta& meta) noexcept {
    meta.has_source = false;
    if (!tcb_ || listening_) {
        const int e = take_pending_error();
        return e != 0 ? e : -ENOTCONN;
    }
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
        layer_.forget_listener(*this);
        listening_ = false;
        return;  // the destructor releases the port
    }
    if (!tcb_ || tcb_->state() == State::closed) return;
    if (options().linger && options().linger_seconds == 0) {
        // SO_LINGER with a zero time: tcp_close() -> tcp_disconnect(), a RST and no
        // TIME-WAIT.
        tcb_->abort(now);
        return;
    }
    tcb_->close(now);
    if (tcb_->state() == State::closed) return;
    // Linux tcp_close() -> tcp_check_oom(): beyond tcp_max_orphans a connection is reset
    // rather than left to finish its close ("too many orphaned sockets").
    if (tcb_->state() != State::time_wait && layer_.orphans_full()) {
        layer_.counters().aborts_on_memory.add();
        tcb_->abort(now);
        after_event(now);  // out of the 4-tuple table at once
        return;
    }
    orphan_ = true;
    layer_.adopt_orphan(*this);
    after_event(now);
}

// do_tcp_setsockopt(): TCP_CONGESTION takes a string; every other option an int of at
// least 4 bytes (EINVAL), then its range (EINVAL), then it acts.
int TcpSocket::protocol_setsockopt(int level, int name, std::span<const std::uint8_t> value) noexcept {
    if (level != IPPROTO_TCP) return -ENOPROTOOPT;
    if (name == TCP_CONGESTION) return set_congestion(value);
    if (value.size() < sizeof(int)) return -EINVAL;
    int v = 0;
    std::memcpy(&v, value.data(), sizeof v);
    const time::Instant now = layer_.now();
    switch (name) {
        case TCP_NODELAY:
            tcb_config_.nodelay = v != 0;
            if (tcb_) tcb_->set_nodelay(tcb_config_.nodelay, now);
            break;
        case TCP_CORK:
            tcb_config_.cork = v != 0;
            if (tcb_) tcb_->set_cork(tcb_config_.cork, now);
            break;
        case TCP_MAXSEG:
            // TCP_MIN_MSS (88) .. MAX_TCP_WINDOW (32767); 0 clears it. It shapes the next
            // handshake: Linux applies it to the SYN's MSS and to mss_cache then.
            if (v != 0 && (v < 88 || v > 32767)) return -EINVAL;
            user_mss_ = v;
            return 0;
        case TCP_KEEPIDLE:
            if (v < 1 || v > kMaxKeepIdle) return -EINVAL;
            tcb_config_.keepalive_idle = time::Duration::from_s(v);
            keepalive_changed();
            return 0;
        case TCP_KEEPINTVL:
            if (v < 1 || v > kMaxKeepIntvl) return -EINVAL;
            tcb_config_.keepalive_interval = time::Duration::from_s(v);
            keepalive_changed();
            return 0;
        case TCP_KEEPCNT:
            if (v < 1 || v > kMaxKeepCnt) return -EINVAL;
            tcb_config_.keepalive_probes = v;
            keepalive_changed();
            return 0;
        case TCP_SYNCNT:
            // Read when the connection is opened (Linux reads it at each SYN retransmission;
            // setting it during the handshake is the one difference).
            if (v < 1 || v > kMaxSynCnt) return -EINVAL;
            tcb_config_.syn_retries = v;
            return 0;
        default:
            return -ENOPROTOOPT;
    }
    after_event(now);
    return 0;
}

// tcp_set_congestion_control(): the name, at most TCP_CA_NAME_MAX - 1 bytes, NUL-terminated
// or not; an unknown one is ENOENT. A connection switches at once, the new algorithm
// starting afresh from the current window as Linux's tcp_reinit_congestion_control() does.
int TcpSocket::set_congestion(std::span<const std::uint8_t> value) noexcept {
    if (value.empty()) return -EINVAL;
    char name[kCongestionNameMax] = {};
    std::memcpy(name, value.data(), std::min(value.size(), sizeof name - 1));
    const std::string_view wanted(name);
    for (const std::string_view known : {std::string_view("reno"), std::string_view("cubic")}) {
        if (wanted != known) continue;
        tcb_config_.congestion = known;
        if (tcb_) tcb_->set_congestion(known);
        return 0;
    }
    return -ENOENT;
}

// sock_setsockopt(SO_KEEPALIVE) -> tcp_set_keepalive(), and the TCP_KEEP* options: the TCB
// plans its next probe from the new parameters.
void TcpSocket::keepalive_changed() noexcept {
    if (!tcb_) return;
    tcb_->set_keepalive(options().keepalive, tcb_config_.keepalive_idle, tcb_config_.keepalive_interval,
                        tcb_config_.keepalive_probes);
    after_event(layer_.now());
}

// do_tcp_getsockopt(): an int option writes min(len, 4) bytes.
int TcpSocket::protocol_getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept {
    if (level != IPPROTO_TCP) return Socket::protocol_getsockopt(level, name, out, len);
    int v = 0;
    switch (name) {
        case TCP_NODELAY:
            v = tcb_config_.nodelay ? 1 : 0;
            break;
        case TCP_CORK:
            v = tcb_config_.cork ? 1 : 0;
            break;
        case TCP_MAXSEG: {
            // tp->mss_cache (TCP_MSS_DEFAULT, 536, until a handshake sets it); user_mss in
            // CLOSE and LISTEN.
            const bool synchronized = tcb_ && tcb_->state() != State::closed && tcb_->state() != State::syn_sent;
            v = synchronized ? tcb_->effective_mss() : (user_mss_ != 0 ? user_mss_ : 536);
            break;
        }
        case TCP_KEEPIDLE:
            v = static_cast<int>(tcb_config_.keepalive_idle.ns() / 1'000'000'000);
            break;
        case TCP_KEEPINTVL:
            v = static_cast<int>(tcb_config_.keepalive_interval.ns() / 1'000'000'000);
            break;
        case TCP_KEEPCNT:
            v = tcb_config_.keepalive_probes;
            break;
        case TCP_SYNCNT:
            v = tcb_config_.syn_retries;
            break;
        case TCP_INFO: {
            tcp_info info;
            if (listening_) {
                fill_listener_tcp_info(static_cast<std::uint32_t>(accept_queue_.size()),
                                       static_cast<std::uint32_t>(backlog_), info);
            } else if (tcb_) {
                fill_tcp_info(*tcb_, layer_.now(), info);
            } else {
                fill_closed_tcp_info(info);
            }
            len = std::min({len, sizeof info, out.size()});
            std::memcpy(out.data(), &info, len);
            return 0;
        }
        case TCP_CONGESTION: {
            char name_out[kCongestionNameMax] = {};
            const std::string_view n = tcb_config_.congestion;
            std::memcpy(name_out, n.data(), std::min(n.size(), sizeof name_out - 1));
            len = std::min({len, sizeof name_out, out.size()});
            std::memcpy(out.data(), name_out, len);
            return 0;
        }
        default:
            return -ENOPROTOOPT;
    }
    len = std::min({len, sizeof v, out.size()});
    std::memcpy(out.data(), &v, len);
    return 0;
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

// Linux tcp_conn_request(). A full accept queue drops the SYN, cookies or not (the
// connection could not be queued anyway). A full SYN queue — this listener's backlog
// (inet_csk_reqsk_queue_is_full: at least `backlog` in SYN-RECEIVED) or the shard's
// max_syn_backlog — answers with a SYN cookie instead of a new embryo (RFC 4987 §3.6), or
// drops the SYN when cookies are off.
bool TcpSocket::accept_syn(const wire::TcpRepr& syn, const wire::Endpoint& local, const wire::Endpoint& remote,
                           time::Instant now) noexcept {
    TcpCounters& counters = layer_.counters();
    if (accept_queue_full()) {
        counters.listen_overflows.add();
        counters.listen_drops.add();
        return false;
    }
    const int cookies = layer_.config().syn_cookies;
    const bool syn_queue_full = embryos_.size() >= static_cast<std::size_t>(backlog_) || layer_.syn_backlog_full();
    if (syn_queue_full && cookies == 0) {
        counters.req_queue_full_drops.add();
        counters.listen_drops.add();
        return false;
    }
    if (syn_queue_full || cookies >= 2) {
        if (syn_queue_full) {
            counters.req_queue_full_cookies.add();
            last_syn_queue_overflow_ = now;
        }
        send_cookie_syn_ack(syn, local, remote, now);
        return true;
    }
    std::unique_ptr<TcpSocket> child = make_child(local, remote);
    if (!child) return false;
    child->tcb_->accept_syn(syn, layer_.isn(local, remote, now), now);
    TcpSocket& c = *child;
    embryos_.push_back(std::move(child));
    c.in_syn_queue_ = true;
    layer_.syn_backlog_add(1);
    c.after_event(now);
    return true;
}

std::unique_ptr<TcpSocket> TcpSocket::make_child(const wire::Endpoint& local, const wire::Endpoint& remote) noexcept {
    auto child = std::make_unique<TcpSocket>(layer_);
    child->local_ = local;
    child->remote_ = remote;
    child->parent_ = this;
    if (layer_.ports().inherit(child.get(), this, local.address, remote.address, remote.port) != 0) {
        layer_.counters().listen_drops.add();
        return nullptr;
    }
    child->bound_ = true;
    child->mutable_options() = options();
    child->tcb_config_ = tcb_config_;
    child->user_mss_ = user_mss_;
    child->make_tcb();
    layer_.hash(*child);
    child->hashed_ = true;
    layer_.counters().passive_opens.add();
    return child;
}

// The stateless SYN-ACK (syn_cookie.hpp): what Tcb::accept_syn() would send, with the
// cookie as our ISN and, with timestamps, the peer's window scale and SACK-permitted in
// our TSval. Without timestamps it offers neither window scaling nor SACK (Linux
// tcp_conn_request(): tcp_clear_options() when a cookie has no timestamp to ride in).
void TcpSocket::send_cookie_syn_ack(const wire::TcpRepr& syn, const wire::Endpoint& local,
                                    const wire::Endpoint& remote, time::Instant now) noexcept {
    const TcbConfig c = effective_tcb_config();
    wire::TcpRepr h;
    h.src_port = local.port;
    h.dst_port = remote.port;
    h.seq = layer_.syn_cookies().make(local.address, local.port, remote.address, remote.port, syn.seq,
                                      syn.options.mss.value_or(536), now);
    h.ack = syn.seq + 1;
    h.flags = wire::TcpFlags::syn | wire::TcpFlags::ack;
    h.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(c.rcvbuf, 0xffff));  // never scaled in a SYN
    h.options.mss = c.mss;
    if (c.timestamps && syn.options.timestamps) {
        SynCookies::TimestampOptions carried;
        if (c.window_scaling && syn.options.window_scale) {
            carried.window_scale = syn.options.window_scale;
            h.options.window_scale = window_scale_for(c.rcvbuf);
        }
        carried.sack_permitted = c.sack && syn.options.sack_permitted;
        h.options.sack_permitted = carried.sack_permitted;
        h.options.timestamps =
            wire::TcpTimestamps{SynCookies::encode_timestamp(ts_clock(now), carried), syn.options.timestamps->value};
    }
    layer_.counters().syncookies_sent.add();
    layer_.send_segment(local, remote, h, {}, options().ttl, options().tos, now);
}

// Linux cookie_v4_check(): an ACK for this listener from no connection. Cookies are
// checked only while they may be out there — within two minutes of the last SYN queue
// overflow, or always in mode 2 (tcp_synq_no_recent_overflow()) — so that a blind ACK
// at other times cannot open a connection even with a lucky guess. A valid cookie
// rebuilds the SYN, makes the connection and delivers the ACK to it.
TcpSocket::CookieResult TcpSocket::accept_cookie(Segment&& ack, const wire::Endpoint& local,
                                                 const wire::Endpoint& remote, time::Instant now) noexcept {
    const wire::TcpRepr& h = ack.header;
    const int cookies = layer_.config().syn_cookies;
    const bool recent_overflow =
        last_syn_queue_overflow_ && now - *last_syn_queue_overflow_ < time::Duration::from_s(60 * SynCookies::kMaxAgeMinutes);
    if (cookies == 0 || (cookies == 1 && !recent_overflow)) return CookieResult::not_checked;
    TcpCounters& counters = layer_.counters();
    const auto decoded = layer_.syn_cookies().check(local.address, local.port, remote.address, remote.port,
                                                    h.seq - 1, h.ack - 1, now);
    std::optional<SynCookies::TimestampOptions> carried;
    if (decoded && h.options.timestamps) {
        carried = SynCookies::decode_timestamp(h.options.timestamps->echo);
    } else if (decoded) {
        carried = SynCookies::TimestampOptions{};
    }
    if (!carried) {
        counters.syncookies_failed.add();
        return CookieResult::invalid;
    }
    counters.syncookies_recv.add();
    if (accept_queue_full()) {  // Linux tcp_v4_syn_recv_sock(): ListenOverflows, dropped
        counters.listen_overflows.add();
        counters.listen_drops.add();
        return CookieResult::dropped;
    }
    // The SYN as the cookie remembers it: its sequence number, the MSS rounded down to the
    // table, and the options the timestamp carried (timestamps themselves if the ACK has them).
    wire::TcpRepr syn;
    syn.src_port = h.src_port;
    syn.dst_port = h.dst_port;
    syn.seq = h.seq - 1;
    syn.flags = wire::TcpFlags::syn;
    syn.window = h.window;  // unscaled; the ACK's window replaces it at once
    syn.options.mss = decoded->mss;
    syn.options.window_scale = carried->window_scale;
    syn.options.sack_permitted = carried->sack_permitted;
    if (h.options.timestamps) syn.options.timestamps = wire::TcpTimestamps{h.options.timestamps->value, 0};
    std::unique_ptr<TcpSocket> child = make_child(local, remote);
    if (!child) return CookieResult::dropped;
    child->tcb_->accept_cookie(syn, h.ack - 1, now);
    TcpSocket& c = *child;
    embryos_.push_back(std::move(child));
    // The echo is the cookie's clock with option bits in it, up to 63 ms off: no RTT
    // sample from it (an echo of 0 is never sampled), as Linux takes none for a cookie.
    if (ack.header.options.timestamps) ack.header.options.timestamps->echo = 0;
    const TcpSocket* made = &c;
    c.deliver(std::move(ack), now);  // ESTABLISHED: into the accept queue (or destroyed, if it closed)
    // The cookie matched, so SEG.SEQ and SEG.ACK are the ones SYN-RECEIVED expects; should
    // the ACK still not complete the handshake, no embryo without a timer may stay behind.
    const auto left = std::find_if(embryos_.begin(), embryos_.end(), [&](const auto& p) { return p.get() == made; });
    if (left != embryos_.end()) {
        embryos_.erase(left);
        return CookieResult::dropped;
    }
    return CookieResult::accepted;
}

void TcpSocket::promote(TcpSocket& child) noexcept {
    const auto it = std::find_if(embryos_.begin(), embryos_.end(), [&](const auto& p) { return p.get() == &child; });
    if (it == embryos_.end()) return;
    leave_syn_queue(child);
    accept_queue_.push_back(std::move(*it));
    publish_readiness(event::kListenerReadyMask, accept_queue_.size());  // epoll: a new connection to accept
    embryos_.erase(it);
}

void TcpSocket::leave_syn_queue(TcpSocket& child) noexcept {
    if (!child.in_syn_queue_) return;
    child.in_syn_queue_ = false;
    layer_.syn_backlog_add(-1);
}

void TcpSocket::forget_embryo(TcpSocket& child) noexcept {
    const auto it = std::find_if(embryos_.begin(), embryos_.end(), [&](const auto& p) { return p.get() == &child; });
    if (it != embryos_.end()) embryos_.erase(it);  // destroys it: unhashed, port released
}

// What the TCB counted since the last call, added to the layer's counters. Called after
// every TCB event, and before the TCB goes (drop_tcb, the destructor) so that a close
// with SO_LINGER 0, which ends in no event, is counted too.
void TcpSocket::count_tcb_events() noexcept {
    TcpCounters& c = layer_.counters();
    c.retrans_segs.add(tcb_->retransmits() - counted_.retransmits);
    const SackStats& sack = tcb_->sack_stats();
    c.sack_blocks_ignored.add(sack.blocks_ignored - counted_.sack.blocks_ignored);
    c.dsacks_received.add(sack.dsacks - counted_.sack.dsacks);
    c.sack_recoveries.add(sack.recoveries - counted_.sack.recoveries);
    c.sack_retransmits.add(sack.retransmits - counted_.sack.retransmits);
    c.sack_renegings.add(sack.renegings - counted_.sack.renegings);
    c.lost_retransmits.add(sack.lost_retransmits - counted_.sack.lost_retransmits);
    c.loss_probes.add(sack.loss_probes - counted_.sack.loss_probes);
    c.loss_probe_recoveries.add(sack.loss_probe_recoveries - counted_.sack.loss_probe_recoveries);
    c.timeouts.add(sack.timeouts - counted_.sack.timeouts);
    c.challenge_acks.add(tcb_->challenge_acks_sent() - counted_.challenge_acks);
    c.challenge_acks_skipped.add(tcb_->challenge_acks_skipped() - counted_.challenge_acks_skipped);
    const InputDrops& drops = tcb_->input_drops();
    c.syn_challenges.add(drops.syn_challenges - counted_.drops.syn_challenges);
    // Linux counts a SYN on a synchronized connection in InErrs too (tcp_validate_incoming).
    c.in_errs.add(drops.syn_challenges - counted_.drops.syn_challenges);
    c.paws_rejected.add(drops.paws - counted_.drops.paws);
    c.out_of_window.add(drops.out_of_window - counted_.drops.out_of_window);
    c.dsacks_sent_old.add(tcb_->dsacks_sent_old() - counted_.dsacks_sent_old);
    c.dsacks_sent_ofo.add(tcb_->dsacks_sent_ofo() - counted_.dsacks_sent_ofo);
    if (tcb_->reset_when_synchronized() && !counted_.estab_reset) c.estab_resets.add();
    counted_ = {tcb_->retransmits(), sack, tcb_->challenge_acks_sent(), tcb_->challenge_acks_skipped(),
                drops, tcb_->dsacks_sent_old(), tcb_->dsacks_sent_ofo(), tcb_->reset_when_synchronized()};
}

// After anything the TCB did: its timer follows poll_at(); a handshake that completed
// moves to the accept queue; a connection that reached CLOSED leaves the 4-tuple table
// (and, for an orphan or an embryo, is freed — last, since that destroys `this`).
void TcpSocket::after_event(time::Instant now) noexcept {
    if (!tcb_) return;
    track_time_wait(now);
    count_tcb_events();
    publish_readiness(event::tcp_connection_mask(*tcb_, shutdown_state()), tcb_->readable_bytes());  // epoll: tcp_poll()
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

// A connection entering TIME-WAIT takes one of the layer's places, or, with none left
// (tcp_max_tw_buckets), is closed at once: Linux's tcp_time_wait() then calls tcp_done()
// without a timewait socket — no RST, the peer already has our last ACK.
void TcpSocket::track_time_wait(time::Instant now) noexcept {
    const bool in_time_wait = tcb_->state() == State::time_wait;
    if (in_time_wait == time_wait_counted_) return;
    if (!in_time_wait) {
        layer_.leave_time_wait(orphan_);
        time_wait_counted_ = false;
        return;
    }
    if (!layer_.admit_time_wait(orphan_)) {
        tcb_->abort(now);  // TIME-WAIT aborts quietly (RFC 9293 §3.10.5)
        return;
    }
    time_wait_counted_ = true;
}

bool TcpSocket::path_mtu_reduced(std::uint32_t mtu, time::Instant now) noexcept {
    const bool lowered = tcb_->path_mtu_reduced(mtu, now);
    after_event(now);
    return lowered;
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
