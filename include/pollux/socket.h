/* pollux: the socket API.
 *
 * The calls, types, constants and errno values are Linux's: porting a program is renaming
 * socket() to px_socket(), recvfrom() to px_recvfrom(), and so on. Every function returns
 * -1 and sets errno where Linux would, with the same value. README.md lists the few
 * places where pollux differs.
 *
 * File descriptors: a pollux fd is never a number a kernel fd of this process can have
 * (they start at 2^30), so a program may hold both kinds and tell them apart by value.
 * Pass pollux fds only to px_* functions.
 *
 * Threads (until threaded mode lands): call these from the thread that called px_init,
 * before px_run or from the function px_run calls. Other threads get -1/EOPNOTSUPP.
 * A blocking call (a socket without O_NONBLOCK, no MSG_DONTWAIT) keeps the stack polling
 * while it waits, so it makes progress in a run-to-completion program; SO_RCVTIMEO and
 * SO_SNDTIMEO bound the wait (EAGAIN), and px_stop() ends it (EINTR).
 *
 * AF_INET with SOCK_STREAM (TCP), SOCK_DGRAM (UDP) and SOCK_RAW. A non-blocking connect()
 * returns EINPROGRESS and reports its outcome through SO_ERROR, as on Linux. */
#ifndef POLLUX_SOCKET_H
#define POLLUX_SOCKET_H

#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

int px_socket(int domain, int type, int protocol);
int px_bind(int fd, const struct sockaddr *addr, socklen_t addrlen);
int px_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);
int px_close(int fd);
int px_listen(int fd, int backlog);
/* flags: SOCK_NONBLOCK, SOCK_CLOEXEC (others: EINVAL). */
int px_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
int px_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
int px_shutdown(int fd, int how);

ssize_t px_read(int fd, void *buf, size_t count);
ssize_t px_write(int fd, const void *buf, size_t count);
ssize_t px_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t px_writev(int fd, const struct iovec *iov, int iovcnt);

ssize_t px_send(int fd, const void *buf, size_t len, int flags);
ssize_t px_recv(int fd, void *buf, size_t len, int flags);
ssize_t px_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *dest_addr,
                  socklen_t addrlen);
ssize_t px_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *src_addr, socklen_t *addrlen);
ssize_t px_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t px_recvmsg(int fd, struct msghdr *msg, int flags);

int px_getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen);
int px_getpeername(int fd, struct sockaddr *addr, socklen_t *addrlen);
int px_setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen);
int px_getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen);

/* F_GETFL / F_SETFL (O_NONBLOCK; the other status flags are accepted and ignored, as
 * sockets ignore them), F_GETFD / F_SETFD (FD_CLOEXEC is recorded: pollux fds do not
 * survive exec anyway). Other commands: EINVAL. */
int px_fcntl(int fd, int cmd, ... /* int arg */);
/* FIONBIO (int *: nonzero sets O_NONBLOCK) and FIONREAD (int *: the bytes of the next
 * datagram, or of the queue for TCP). Other requests: ENOTTY. */
int px_ioctl(int fd, unsigned long request, ... /* int *argp */);

/* True when `fd` is in pollux's fd range (open or not), decided by the value alone. */
int px_is_fd(int fd);

#ifdef __cplusplus
}
#endif

#endif /* POLLUX_SOCKET_H */
