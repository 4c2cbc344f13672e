// Socket: what every pollux socket (UDP, raw, and TCP later) is to the C API, the
// equivalent of Linux's struct socket + the generic part of struct sock.
//
// Errors are returned kernel-style: 0 or a byte count on success, -errno on failure.
// Only src/api turns them into -1 + errno and only src/api knows fd numbers.
//
// The base class owns the state every socket has — the SOL_SOCKET and IPPROTO_IP options
// of socket(7) and ip(7), the pending error (SO_ERROR), the shutdown bits, O_NONBLOCK — and
// answers get/setsockopt for those options with Linux's rules (sock_setsockopt(),
// sock_getsockopt(), do_ip_setsockopt(), do_ip_getsockopt()). A protocol handles its own
// levels by overriding the protocol_*sockopt hooks and reacts to SO_REUSEADDR/REUSEPORT
// through options_changed().
//
// Contract: a socket is touched only by its shard's thread (the API enforces that).
#pragma once

#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>

#include "time/instant.hpp"
#include "wire/endpoint.hpp"
// ==== epoll readiness (src/event): includes ====
#include "event/poll_mask.hpp"
#include "event/watch_list.hpp"
// ==== end epoll readiness: includes ====

namespace pollux::socket {

// Linux's sysctl defaults that bound the buffer options (net.core.rmem_default etc.).
inline constexpr int kDefaultRcvbuf = 212'992;
inline constexpr int kDefaultSndbuf = 212'992;
inline constexpr int kMaxRcvbuf = 212'992;  // net.core.rmem_max
inline constexpr int kMaxSndbuf = 212'992;  // net.core.wmem_max
// SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF on x86-64 (2048 + an aligned struct sk_buff, twice for
// the send side): the floor of what setsockopt may set.
inline constexpr int kMinRcvbuf = 2'304;
inline constexpr int kMinSndbuf = 4'608;

// The destination of a send or connect as the caller gave it, parsed but not yet judged:
// Linux checks it only after the socket has been autobound, so the socket decides when
// an error here is reported.
struct Destination {
    bool present = false;  // msg_name given
    int error = 0;         // -EINVAL (short name), -EAFNOSUPPORT (family), or 0
    wire::Endpoint endpoint;
};

// What recvmsg learned besides the bytes.
struct RecvMeta {
    bool has_source = false;
    wire::Endpoint source;
    int msg_flags = 0;  // MSG_TRUNC when the datagram did not fit
};

struct SocketOptions {
    int rcvbuf = kDefaultRcvbuf;
    int sndbuf = kDefaultSndbuf;
    bool reuse_addr = false;
    bool reuse_port = false;
    bool broadcast = false;
    time::Duration rcvtimeo = time::Duration::zero();  // zero: wait forever
    time::Duration sndtimeo = time::Duration::zero();
    bool rcvtimeo_immediate = false;  // a negative SO_RCVTIMEO: never wait (Linux sets 0 jiffies)
    bool sndtimeo_immediate = false;
    int ttl = -1;  // IP_TTL; -1: the route's default (64)
    std::uint8_t tos = 0;
    bool hdrincl = false;  // IP_HDRINCL (raw sockets)
    bool keepalive = false;  // SO_KEEPALIVE
    bool linger = false;     // SO_LINGER's l_onoff
    int linger_seconds = 0;  // and its l_linger (0 with l_onoff: close() resets)
};

inline constexpr std::uint8_t kShutdownRead = 1;   // Linux RCV_SHUTDOWN
inline constexpr std::uint8_t kShutdownWrite = 2;  // Linux SEND_SHUTDOWN

class Socket {
public:
    Socket(int type, int protocol) noexcept : type_(type), protocol_(protocol) {}
    virtual ~Socket() = default;
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    int type() const noexcept { return type_; }          // SOCK_DGRAM, SOCK_RAW, SOCK_STREAM
    int protocol() const noexcept { return protocol_; }  // IPPROTO_UDP, the raw protocol, ...

    // ---- the calls (-errno on failure) ----
    virtual int bind(const wire::Endpoint& local) noexcept = 0;
    // `to.present` false: connect(AF_UNSPEC), i.e. disconnect. Otherwise `to.error` is
    // reported after the autobind, where Linux's ip4_datagram_connect() checks the address.
    virtual int connect(const Destination& to, time::Instant now) noexcept = 0;
    virtual long sendmsg(std::span<const iovec> data, const Destination& to, int flags, time::Instant now) noexcept = 0;
    // -EAGAIN when nothing is queued; the API decides whether to wait.
    virtual long recvmsg(std::span<const iovec> data, int flags, RecvMeta& meta) noexcept = 0;
    virtual int shutdown(int how) noexcept = 0;
    virtual int local_endpoint(wire::Endpoint& out) const noexcept = 0;
    virtual int remote_endpoint(wire::Endpoint& out) const noexcept = 0;  // -ENOTCONN
    // FIONREAD (Linux SIOCINQ): for a datagram socket the size of the next datagram.
    virtual int bytes_readable() const noexcept = 0;
    // close(2): releases the port and frees queued packets. The object is destroyed next,
    // unless `keep_alive` is set: a TCP connection that still has to finish its close
    // (FIN handshake, TIME-WAIT) lives on as an orphan its protocol layer owns and frees.
    virtual void close() noexcept = 0;
    virtual bool orphaned_on_close() const noexcept { return false; }

    // ---- connection-oriented calls; datagram sockets answer as Linux does for them ----
    virtual int listen(int backlog) noexcept {
        (void)backlog;
        return -EOPNOTSUPP;
    }
    // A connection from the accept queue, or -EAGAIN; `out` receives it.
    virtual int accept(Socket*& out, wire::Endpoint& peer) noexcept {
        (void)out;
        (void)peer;
        return -EOPNOTSUPP;
    }
    // After connect() said -EINPROGRESS: -EAGAIN while the handshake runs, then 0 or the
    // error that ended it (what a blocking connect returns, and SO_ERROR reports).
    virtual int finish_connect() noexcept { return 0; }
    // SO_ACCEPTCONN: listening.
    virtual bool accepting() const noexcept { return false; }

    // setsockopt(2) / getsockopt(2). `len` is in: the caller's buffer size, out: the bytes
    // written. The API has checked the pointers.
    int setsockopt(int level, int name, std::span<const std::uint8_t> value) noexcept;
    int getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept;

    // ---- state the API reads ----
    bool nonblocking() const noexcept { return nonblocking_; }
    void set_nonblocking(bool on) noexcept { nonblocking_ = on; }
    // The file status flags F_SETFL may change besides O_NONBLOCK (O_APPEND, O_ASYNC,
    // O_DIRECT, O_NOATIME): Linux records them on a socket's file and F_GETFL shows them,
    // though no socket call acts on them.
    int other_status_flags() const noexcept { return other_status_flags_; }
    void set_other_status_flags(int flags) noexcept { other_status_flags_ = flags; }
    bool cloexec() const noexcept { return cloexec_; }
    void set_cloexec(bool on) noexcept { cloexec_ = on; }
    std::uint8_t shutdown_state() const noexcept { return shutdown_; }
    const SocketOptions& options() const noexcept { return options_; }
    bool has_pending_error() const noexcept { return pending_error_ != 0; }

protected:
    // A protocol's own levels (IPPROTO_UDP, IPPROTO_TCP, SOL_RAW). By default a level
    // nobody knows is ENOPROTOOPT to set and EOPNOTSUPP to get, as Linux's ip_setsockopt()
    // and ip_getsockopt() answer for UDP and raw sockets.
    virtual int protocol_setsockopt(int level, int name, std::span<const std::uint8_t> value) noexcept;
    virtual int protocol_getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept;
    // Called after SO_REUSEADDR / SO_REUSEPORT change (a bound socket tells its port manager).
    virtual void options_changed() noexcept {}
    // Called after SO_KEEPALIVE changes (Linux's sk_prot->keepalive: TCP plans its probes).
    virtual void keepalive_changed() noexcept {}
    // SO_ERROR's second source: an error the protocol keeps itself (a TCP connection's
    // ECONNREFUSED, ECONNRESET, ETIMEDOUT), taken and cleared; 0 when there is none.
    virtual int take_protocol_error() noexcept { return 0; }
    // IP_MTU (Linux do_ip_getsockopt: the MTU of the socket's cached route): the path MTU
    // of a connection, -ENOTCONN without one; -ENOPROTOOPT where pollux keeps none.
    virtual int path_mtu() const noexcept { return -ENOPROTOOPT; }

    // sock_error(): the pending error, cleared; 0 when there is none. Returned negated.
    int take_pending_error() noexcept {
        const int e = pending_error_;
        pending_error_ = 0;
        return -e;
    }
    void set_pending_error(int errno_value) noexcept { pending_error_ = errno_value; }
    void add_shutdown(std::uint8_t bits) noexcept { shutdown_ |= bits; }
    // inet_shutdown() for a datagram socket: how is SHUT_RD..SHUT_RDWR (else EINVAL); an
    // unconnected socket answers ENOTCONN but the shutdown is recorded all the same (Linux
    // falls through to set it, so that pollers see EPOLLHUP).
    int shutdown_datagram(int how, bool connected) noexcept;
    SocketOptions& mutable_options() noexcept { return options_; }

private:
    int set_socket_option(int name, std::span<const std::uint8_t> value) noexcept;
    int get_socket_option(int name, std::span<std::uint8_t> out, std::size_t& len) noexcept;
    int set_ip_option(int name, std::span<const std::uint8_t> value) noexcept;
    int get_ip_option(int name, std::span<std::uint8_t> out, std::size_t& len) noexcept;

    int type_;
    int protocol_;
    SocketOptions options_;
    int pending_error_ = 0;  // a positive errno value, or 0
    std::uint8_t shutdown_ = 0;
    bool nonblocking_ = false;
    bool cloexec_ = false;
    int other_status_flags_ = 0;

    // ==== epoll readiness (src/event) ====
    // A socket is pollable: poll_mask() is Linux's f_op->poll (tcp_poll, udp_poll,
    // datagram_poll), and the watcher list holds the epoll items watching it. A protocol
    // reports changes either as events (readiness_event(key): "data arrived", "error set")
    // with poll_mask() computed on demand, or as snapshots (publish_readiness(mask, level))
    // that poll_mask() then returns by default. Removing the fd from the API's table
    // detaches the watchers (eventpoll_release); destroying the socket does too.
public:
    virtual std::uint32_t poll_mask() const noexcept { return watchers_.published_mask(); }
    event::WatchList& watchers() noexcept { return watchers_; }
    // Non-null for an epoll instance's table entry (src/api/epoll_file.hpp): epoll fds
    // share the socket fd space, as Linux's share the process's file table.
    virtual event::Epoll* as_epoll() noexcept { return nullptr; }

protected:
    void readiness_event(std::uint32_t key) noexcept { watchers_.wake(key); }
    void publish_readiness(std::uint32_t mask, std::size_t level) noexcept { watchers_.publish(mask, level); }

private:
    static std::uint32_t poll_thunk(const void* self) noexcept { return static_cast<const Socket*>(self)->poll_mask(); }
    static_assert(event::kRcvShutdown == kShutdownRead && event::kSendShutdown == kShutdownWrite);
    event::WatchList watchers_{this, &Socket::poll_thunk};
    // ==== end epoll readiness ====
};

}  // namespace pollux::socket
