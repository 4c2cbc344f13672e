// The C socket API (include/pollux/socket.h): argument checks in Linux's order, fd lookup,
// blocking, and errno. The checks that Linux makes in the generic socket layer
// (net/socket.c: move_addr_to_kernel, __sys_sendmsg, ...) and in inet_* are here; what
// depends on the protocol is in the socket classes.
#include "pollux/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "api/sockets.hpp"
#include "raw/raw_socket.hpp"
#include "tcp/tcp_socket.hpp"
#include "udp/udp_socket.hpp"

namespace pollux::api {
namespace {

constexpr int kMaxAddrLen = 128;  // sizeof(struct sockaddr_storage)
constexpr int kMaxIov = 1024;     // UIO_MAXIOV
constexpr int kSockTypeMask = 0xf;
constexpr int kSockMax = 11;
constexpr int kIpprotoMax = 263;  // IPPROTO_MAX (IPPROTO_MPTCP is 262)      // SOCK_MAX: types above it are EINVAL, below it unknown types ESOCKTNOSUPPORT

// move_addr_to_kernel(): a length outside [0, 128] is EINVAL, an unreadable address EFAULT.
int check_user_address(const sockaddr* addr, socklen_t len) noexcept {
    if (static_cast<int>(len) < 0 || static_cast<int>(len) > kMaxAddrLen) return -EINVAL;
    if (len > 0 && addr == nullptr) return -EFAULT;
    return 0;
}

sa_family_t family_of(const sockaddr* addr) noexcept {
    sa_family_t f;
    std::memcpy(&f, addr, sizeof f);
    return f;
}

wire::Endpoint endpoint_of(const sockaddr* addr) noexcept {
    sockaddr_in sa;
    std::memcpy(&sa, addr, sizeof sa);
    return wire::from_sockaddr_in(sa);
}

// A send's msg_name as udp_sendmsg()/raw_sendmsg() judge it: shorter than a sockaddr_in is
// EINVAL; a family other than AF_INET or AF_UNSPEC (read as AF_INET) is EAFNOSUPPORT.
socket::Destination destination_of(const sockaddr* addr, socklen_t len) noexcept {
    socket::Destination d;
    if (addr == nullptr) return d;
    d.present = true;
    if (len < sizeof(sockaddr_in)) {
        d.error = -EINVAL;
    } else if (family_of(addr) != AF_INET && family_of(addr) != AF_UNSPEC) {
        d.error = -EAFNOSUPPORT;
    } else {
        d.endpoint = endpoint_of(addr);
    }
    return d;
}

// move_addr_to_user(): copies at most *len bytes, then stores the full length.
int copy_address_out(const wire::Endpoint& e, sockaddr* addr, socklen_t* len) noexcept {
    if (len == nullptr) return -EFAULT;
    const int want = static_cast<int>(*len);
    if (want < 0) return -EINVAL;
    const sockaddr_in sa = wire::to_sockaddr_in(e);
    const auto n = std::min<std::size_t>(static_cast<std::size_t>(want), sizeof sa);
    if (n > 0) {
        if (addr == nullptr) return -EFAULT;
        std::memcpy(addr, &sa, n);
    }
    *len = sizeof sa;
    return 0;
}

time::Instant now() noexcept { return runtime::api_context().shard->clock().now(); }

bool may_block(const socket::Socket& s, int flags) noexcept { return !s.nonblocking() && (flags & MSG_DONTWAIT) == 0; }

// What is left of an iovec array as a call transfers it: the caller's array while nothing
// was transferred (no copy on the common path), a copy with its first entry trimmed after.
class IovRest {
public:
    explicit IovRest(std::span<const iovec> iov) noexcept : iov_(iov) {}
    std::span<const iovec> rest() const noexcept { return iov_; }
    std::size_t total() const noexcept {
        std::size_t n = 0;
        for (const iovec& v : iov_) n += v.iov_len;
        return n;
    }
    // Only after a partial transfer of a call that then waits: the copy is not on the
    // path of a call that completes at once.
    void advance(std::size_t n) {
        std::size_t first = 0;  // the first entry of copy_ still to transfer
        if (copy_.empty()) {
            copy_.assign(iov_.begin(), iov_.end());
        } else {
            first = static_cast<std::size_t>(iov_.data() - copy_.data());
        }
        while (n > 0 && first < copy_.size()) {
            const std::size_t step = std::min(n, copy_[first].iov_len);
            copy_[first].iov_base = static_cast<std::uint8_t*>(copy_[first].iov_base) + step;
            copy_[first].iov_len -= step;
            n -= step;
            if (copy_[first].iov_len == 0) ++first;
        }
        iov_ = std::span<const iovec>(copy_.data() + first, copy_.size() - first);
    }

private:
    std::span<const iovec> iov_;
    std::vector<iovec> copy_;
};

// The calls behind send/sendto/sendmsg/write/writev. A blocking send on a stream socket
// returns only when all of it is queued (tcp_sendmsg() waits for buffer space as often as
// needed), or with the count queued so far when the timeout, a signal or an error ends
// the wait.
long send_common(int fd, std::span<const iovec> iov, const sockaddr* name, socklen_t namelen, int flags) noexcept {
    int err = 0;
    socket::Socket* s = lookup_socket(fd, err);
    if (s == nullptr) return -err;
    const socket::Destination to = destination_of(name, namelen);
    const bool block = may_block(*s, flags);
    IovRest data(iov);
    std::optional<time::Instant> deadline;
    long sent = 0;
    long r = 0;
    while (true) {
        r = wait_for(*s, false, block, [&] { return s->sendmsg(data.rest(), to, flags, now()); }, &deadline);
        if (r < 0) break;
        sent += r;
        if (s->type() != SOCK_STREAM || !block) break;
        if (r == 0 || data.total() == static_cast<std::size_t>(r)) break;
        data.advance(static_cast<std::size_t>(r));
    }
    after_send();
    if (r >= 0 || sent > 0) return sent;
    // sk_stream_error(): EPIPE on a stream socket also raises SIGPIPE in the calling
    // thread, unless MSG_NOSIGNAL (write(2) and writev(2) have no way to ask for that).
    if (r == -EPIPE && s->type() == SOCK_STREAM && (flags & MSG_NOSIGNAL) == 0) pthread_kill(pthread_self(), SIGPIPE);
    return r;
}

// The calls behind recv/recvfrom/recvmsg/read/readv. MSG_WAITALL on a stream socket waits
// until the buffer is full, or returns what came before the end of the stream, an error,
// a signal or the timeout (tcp_recvmsg() with target = len).
long recv_common(int fd, std::span<const iovec> iov, int flags, socket::RecvMeta& meta) noexcept {
    int err = 0;
    socket::Socket* s = lookup_socket(fd, err);
    if (s == nullptr) return -err;
    const bool block = may_block(*s, flags);
    const bool wait_all = (flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0 && s->type() == SOCK_STREAM && block;
    IovRest data(iov);
    std::optional<time::Instant> deadline;
    long received = 0;
    while (true) {
        const long r = wait_for(*s, true, block, [&] { return s->recvmsg(data.rest(), flags, meta); }, &deadline);
        if (!wait_all) return r;
        if (r <= 0) return received > 0 ? received : r;
        received += r;
        if (data.total() == static_cast<std::size_t>(r)) return received;
        data.advance(static_cast<std::size_t>(r));
    }
}

// rw_copy_check_uvector() / __copy_msghdr(): the iovec array itself.
int check_iovecs(const iovec* iov, std::size_t count, int too_many) noexcept {
    if (count > static_cast<std::size_t>(kMaxIov)) return too_many;
    if (count > 0 && iov == nullptr) return -EFAULT;
    return 0;
}

// readv/writev before the socket is involved (vfs_readv, import_iovec): the fd, the count,
// the array. 0 when there is nothing to transfer (the call then returns 0 at once), 1 when
// `out` holds the vector to use, or -errno.
long vector_call(int fd, const iovec* iov, int iovcnt, std::span<const iovec>& out) noexcept {
    int err = 0;
    if (lookup_socket(fd, err) == nullptr) return -err;
    if (iovcnt < 0) return -EINVAL;
    const auto count = static_cast<std::size_t>(iovcnt);
    if (const int e = check_iovecs(iov, count, -EINVAL); e != 0) return e;
    out = {iov, count};
    return std::all_of(out.begin(), out.end(), [](const iovec& v) { return v.iov_len == 0; }) ? 0 : 1;
}

// Ancillary data: pollux implements no IPPROTO_IP control message (IP_PKTINFO, IP_TTL,
// ...), so one is refused rather than ignored; other levels are skipped as Linux skips them.
int check_control(const msghdr& msg) noexcept {
    if (msg.msg_control == nullptr || msg.msg_controllen == 0) return 0;
    for (const cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), const_cast<cmsghdr*>(c))) {
        if (c->cmsg_len < sizeof(cmsghdr)) return -EINVAL;
        if (c->cmsg_level == IPPROTO_IP) return -EOPNOTSUPP;
    }
    return 0;
}

long create_socket(int domain, int type, int protocol) noexcept {
    const int flags = type & ~kSockTypeMask;
    if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return -EINVAL;
    type &= kSockTypeMask;
    if (domain != AF_INET) return -EAFNOSUPPORT;  // pollux is IPv4 only
    if (type >= kSockMax) return -EINVAL;
    if (protocol < 0 || protocol >= kIpprotoMax) return -EINVAL;
    runtime::ApiContext& c = runtime::api_context();
    if (c.shard == nullptr) return -ENETDOWN;
    if (!runtime::may_call_here(c)) return -EOPNOTSUPP;
    // inet_create(): the (type, protocol) pairs of inetsw[]; protocol 0 picks the default.
    std::unique_ptr<socket::Socket> s;
    switch (type) {
        case SOCK_DGRAM:
            if (protocol != 0 && protocol != IPPROTO_UDP) return -EPROTONOSUPPORT;
            s = c.shard->udp().create_socket();
            break;
        case SOCK_RAW:
            // raw(7): a protocol is required; pollux takes the 8-bit IP protocol numbers
            // (Linux also accepts 256..262, pseudo-protocols such as IPPROTO_MPTCP). No
            // CAP_NET_RAW check: the process that owns the NIC is the only user.
            if (protocol == 0 || protocol > 255) return -EPROTONOSUPPORT;
            s = c.shard->raw().create_socket(protocol);
            break;
        case SOCK_STREAM:
            if (protocol != 0 && protocol != IPPROTO_TCP) return -EPROTONOSUPPORT;
            s = c.shard->tcp().create_socket();
            break;
        default:
            return -ESOCKTNOSUPPORT;
    }
    if ((flags & SOCK_NONBLOCK) != 0) s->set_nonblocking(true);
    if ((flags & SOCK_CLOEXEC) != 0) s->set_cloexec(true);
    return install(s);
}

}  // namespace
}  // namespace pollux::api

using namespace pollux;
using api::result;

extern "C" int px_is_fd(int fd) { return socket::is_pollux_fd(fd) ? 1 : 0; }

extern "C" int px_socket(int domain, int type, int protocol) {
    runtime::ApiLock lock;
    return static_cast<int>(result(api::create_socket(domain, type, protocol)));
}

extern "C" int px_close(int fd) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    api::fds().remove(fd);
    s->close();
    if (!s->orphaned_on_close()) delete s;  // else its protocol frees it when the close completes
    api::after_send();                       // the FIN or RST leaves now
    return 0;
}

extern "C" int px_listen(int fd, int backlog) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    return static_cast<int>(result(s->listen(backlog)));
}

// __sys_accept4(): the flags first, then the listener's queue (waiting when blocking),
// then the peer's address.
extern "C" int px_accept4(int fd, sockaddr* addr, socklen_t* addrlen, int flags) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return static_cast<int>(result(-EINVAL));
    socket::Socket* child = nullptr;
    wire::Endpoint peer;
    const long r = api::wait_for(*s, true, !s->nonblocking(), [&] { return static_cast<long>(s->accept(child, peer)); });
    if (r < 0) return static_cast<int>(result(r));
    std::unique_ptr<socket::Socket> owned(child);
    owned->set_nonblocking((flags & SOCK_NONBLOCK) != 0);
    owned->set_cloexec((flags & SOCK_CLOEXEC) != 0);
    if (addr != nullptr) {
        if (const int e = api::copy_address_out(peer, addr, addrlen); e != 0) {
            owned->close();
            if (owned->orphaned_on_close()) (void)owned.release();
            return static_cast<int>(result(e));
        }
    }
    const int newfd = api::install(owned);
    if (newfd < 0) {
        owned->close();  // no fd to give it: the connection is closed
        if (owned->orphaned_on_close()) (void)owned.release();
        return static_cast<int>(result(newfd));
    }
    return newfd;
}

extern "C" int px_accept(int fd, sockaddr* addr, socklen_t* addrlen) { return px_accept4(fd, addr, addrlen, 0); }

// inet_bind(): the address length, then the family (AF_UNSPEC passes only with
// INADDR_ANY, for old programs), then the socket's own checks.
extern "C" int px_bind(int fd, const sockaddr* addr, socklen_t addrlen) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    if (const int e = api::check_user_address(addr, addrlen); e != 0) return static_cast<int>(result(e));
    if (addrlen < sizeof(sockaddr_in)) return static_cast<int>(result(-EINVAL));
    const wire::Endpoint local = api::endpoint_of(addr);
    const sa_family_t family = api::family_of(addr);
    // raw_bind() does not look at the family at all.
    if (s->type() != SOCK_RAW && family != AF_INET && !(family == AF_UNSPEC && local.address.is_unspecified())) {
        return static_cast<int>(result(-EAFNOSUPPORT));
    }
    return static_cast<int>(result(s->bind(local)));
}

// inet_dgram_connect(): at least a family; AF_UNSPEC disconnects.
extern "C" int px_connect(int fd, const sockaddr* addr, socklen_t addrlen) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    if (const int e = api::check_user_address(addr, addrlen); e != 0) return static_cast<int>(result(e));
    if (addrlen < sizeof(sa_family_t)) return static_cast<int>(result(-EINVAL));
    socket::Destination to;
    if (api::family_of(addr) != AF_UNSPEC) to = api::destination_of(addr, addrlen);
    long r = s->connect(to, api::now());
    api::after_send();  // the SYN leaves now
    // A blocking connect waits for the handshake (SO_SNDTIMEO bounds it, as on Linux).
    if (r == -EINPROGRESS && !s->nonblocking()) {
        r = api::wait_for(*s, false, true, [&] { return static_cast<long>(s->finish_connect()); });
        if (r == -EAGAIN) r = -EINPROGRESS;  // timed out: still connecting (Linux)
    }
    return static_cast<int>(result(r));
}

extern "C" int px_shutdown(int fd, int how) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    const int r = s->shutdown(how);
    api::after_send();  // the FIN leaves within the call, as Linux sends it
    return static_cast<int>(result(r));
}

extern "C" ssize_t px_sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* dest_addr,
                             socklen_t addrlen) {
    runtime::ApiLock lock;
    if (dest_addr != nullptr) {
        if (const int e = api::check_user_address(dest_addr, addrlen); e != 0) {
            int err = 0;
            if (api::lookup_socket(fd, err) == nullptr) return result(-err);
            return result(e);
        }
    }
    const iovec v{const_cast<void*>(buf), len};
    return result(api::send_common(fd, {&v, 1}, dest_addr, addrlen, flags));
}

extern "C" ssize_t px_send(int fd, const void* buf, size_t len, int flags) {
    return px_sendto(fd, buf, len, flags, nullptr, 0);
}

extern "C" ssize_t px_write(int fd, const void* buf, size_t count) { return px_sendto(fd, buf, count, 0, nullptr, 0); }

extern "C" ssize_t px_writev(int fd, const iovec* iov, int iovcnt) {
    runtime::ApiLock lock;
    std::span<const iovec> vs;
    // vfs_writev(): nothing to write is nothing done; write(fd, buf, 0) by contrast sends
    // an empty datagram.
    if (const long r = api::vector_call(fd, iov, iovcnt, vs); r <= 0) return result(r);
    return result(api::send_common(fd, vs, nullptr, 0, 0));
}

extern "C" ssize_t px_sendmsg(int fd, const msghdr* msg, int flags) {
    runtime::ApiLock lock;
    int err = 0;
    if (api::lookup_socket(fd, err) == nullptr) return result(-err);
    if (msg == nullptr) return result(-EFAULT);
    if (const int e = api::check_iovecs(msg->msg_iov, msg->msg_iovlen, -EMSGSIZE); e != 0) return result(e);
    if (const int e = api::check_control(*msg); e != 0) return result(e);
    const auto* name = static_cast<const sockaddr*>(msg->msg_name);
    const socklen_t namelen = std::min<socklen_t>(msg->msg_namelen, api::kMaxAddrLen);
    return result(api::send_common(fd, {msg->msg_iov, msg->msg_iovlen}, name, namelen, flags));
}

extern "C" ssize_t px_recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* src_addr, socklen_t* addrlen) {
    runtime::ApiLock lock;
    const iovec v{buf, len};
    socket::RecvMeta meta;
    const long r = api::recv_common(fd, {&v, 1}, flags, meta);
    if (r >= 0 && src_addr != nullptr && meta.has_source) {
        if (const int e = api::copy_address_out(meta.source, src_addr, addrlen); e != 0) return result(e);
    }
    return result(r);
}

extern "C" ssize_t px_recv(int fd, void* buf, size_t len, int flags) {
    return px_recvfrom(fd, buf, len, flags, nullptr, nullptr);
}

// sock_read_iter(): a read of nothing returns 0 at once, unlike recv(len 0), which takes a
// datagram off the queue.
extern "C" ssize_t px_read(int fd, void* buf, size_t count) {
    runtime::ApiLock lock;
    int err = 0;
    if (api::lookup_socket(fd, err) == nullptr) return result(-err);
    if (count == 0) return 0;
    return px_recvfrom(fd, buf, count, 0, nullptr, nullptr);
}

extern "C" ssize_t px_readv(int fd, const iovec* iov, int iovcnt) {
    runtime::ApiLock lock;
    std::span<const iovec> vs;
    if (const long r = api::vector_call(fd, iov, iovcnt, vs); r <= 0) return result(r);
    socket::RecvMeta meta;
    return result(api::recv_common(fd, vs, 0, meta));
}

extern "C" ssize_t px_recvmsg(int fd, msghdr* msg, int flags) {
    runtime::ApiLock lock;
    int err = 0;
    if (api::lookup_socket(fd, err) == nullptr) return result(-err);
    if (msg == nullptr) return result(-EFAULT);
    if (const int e = api::check_iovecs(msg->msg_iov, msg->msg_iovlen, -EMSGSIZE); e != 0) return result(e);
    socket::RecvMeta meta;
    const long r = api::recv_common(fd, {msg->msg_iov, msg->msg_iovlen}, flags, meta);
    if (r < 0) return result(r);
    if (msg->msg_name != nullptr && meta.has_source) {
        if (const int e = api::copy_address_out(meta.source, static_cast<sockaddr*>(msg->msg_name), &msg->msg_namelen);
            e != 0) {
            return result(e);
        }
    }
    msg->msg_flags = meta.msg_flags;
    msg->msg_controllen = 0;  // no ancillary data
    return r;
}

extern "C" int px_getsockname(int fd, sockaddr* addr, socklen_t* addrlen) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    wire::Endpoint e;
    s->local_endpoint(e);
    return static_cast<int>(result(api::copy_address_out(e, addr, addrlen)));
}

extern "C" int px_getpeername(int fd, sockaddr* addr, socklen_t* addrlen) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    wire::Endpoint e;
    if (const int r = s->remote_endpoint(e); r != 0) return static_cast<int>(result(r));
    return static_cast<int>(result(api::copy_address_out(e, addr, addrlen)));
}

extern "C" int px_setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    if (static_cast<int>(optlen) < 0) return static_cast<int>(result(-EINVAL));
    if (optval == nullptr && optlen > 0) {
        // sock_setsockopt() checks the length before it reads the value.
        return static_cast<int>(result(level == SOL_SOCKET && optlen < sizeof(int) ? -EINVAL : -EFAULT));
    }
    std::array<std::uint8_t, 64> value{};  // every option pollux knows is smaller
    const std::size_t n = std::min<std::size_t>(optlen, value.size());
    if (n > 0) std::memcpy(value.data(), optval, n);
    return static_cast<int>(result(s->setsockopt(level, optname, {value.data(), n})));
}

extern "C" int px_getsockopt(int fd, int level, int optname, void* optval, socklen_t* optlen) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup_socket(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    if (optlen == nullptr) return static_cast<int>(result(-EFAULT));
    if (static_cast<int>(*optlen) < 0) return static_cast<int>(result(-EINVAL));
    std::array<std::uint8_t, 64> value{};
    std::size_t len = std::min<std::size_t>(*optlen, value.size());
    if (const int r = s->getsockopt(level, optname, value, len); r != 0) return static_cast<int>(result(r));
    if (len > 0) {
        if (optval == nullptr) return static_cast<int>(result(-EFAULT));
        std::memcpy(optval, value.data(), len);
    }
    *optlen = static_cast<socklen_t>(len);
    return 0;
}

extern "C" int px_fcntl(int fd, int cmd, ...) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    va_list ap;
    va_start(ap, cmd);
    const int arg = (cmd == F_SETFL || cmd == F_SETFD) ? va_arg(ap, int) : 0;
    va_end(ap);
    switch (cmd) {
        case F_GETFL:
            return O_RDWR | s->other_status_flags() | (s->nonblocking() ? O_NONBLOCK : 0);
        case F_SETFL:  // setfl(): only these flags change; the access mode stays
            s->set_nonblocking((arg & O_NONBLOCK) != 0);
            s->set_other_status_flags(arg & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME));
            return 0;
        case F_GETFD:
            return s->cloexec() ? FD_CLOEXEC : 0;
        case F_SETFD:
            s->set_cloexec((arg & FD_CLOEXEC) != 0);
            return 0;
        default:
            return static_cast<int>(result(-EINVAL));
    }
}

extern "C" int px_ioctl(int fd, unsigned long request, ...) {
    runtime::ApiLock lock;
    int err = 0;
    socket::Socket* s = api::lookup(fd, err);
    if (s == nullptr) return static_cast<int>(result(-err));
    va_list ap;
    va_start(ap, request);
    int* arg = va_arg(ap, int*);
    va_end(ap);
    switch (request) {
        case FIONBIO:
            if (arg == nullptr) return static_cast<int>(result(-EFAULT));
            s->set_nonblocking(*arg != 0);
            return 0;
        case FIONREAD:
            if (s->as_epoll() != nullptr) return static_cast<int>(result(-ENOTTY));  // not a socket
            if (arg == nullptr) return static_cast<int>(result(-EFAULT));
            *arg = s->bytes_readable();
            return 0;
        default:
            return static_cast<int>(result(-ENOTTY));
    }
}
