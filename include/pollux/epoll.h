/* pollux: the epoll API.
 *
 * Linux's epoll(7) over pollux sockets, with Linux's types and constants (struct
 * epoll_event, EPOLLIN, EPOLL_CTL_ADD, ...): porting a program is renaming epoll_create1()
 * to px_epoll_create1() and so on. Every function returns -1 and sets errno where Linux
 * would, with the same value.
 *
 * An epoll fd is a pollux fd (the same numbering as sockets, >= 2^30); px_close closes it
 * and frees its registrations. Closing a socket removes it from every epoll instance.
 * The events are Linux's masks (tcp_poll, udp_poll): EPOLLIN/EPOLLRDNORM,
 * EPOLLOUT/EPOLLWRNORM, EPOLLRDHUP on the peer's FIN, EPOLLHUP when both directions are
 * shut or the connection is gone, EPOLLERR with a pending error; a listener is EPOLLIN
 * while a connection waits in its accept queue. Flags: EPOLLET (a report per new
 * arrival), EPOLLONESHOT (disarmed after one report, until EPOLL_CTL_MOD), EPOLLEXCLUSIVE
 * (accepted on ADD; with one waiting thread it changes nothing yet).
 *
 * Threads (this release): inline mode only — call from the thread that called px_init,
 * or from the function px_run calls; other threads get -1/EOPNOTSUPP. px_epoll_wait with
 * a timeout keeps the stack polling while it waits (so loopback and NIC traffic progress),
 * returns 0 when the timeout passes, and -1/EINTR after px_stop(). Outside px_run's
 * callback every call (a zero timeout too) first gives the stack one polling round, since
 * nothing else would. On a harness (pollux/harness.h) nothing moves while a call waits:
 * every timeout acts as 0, and the harness program runs the stack.
 *
 * Not yet: kernel fds (eventfd, pipes, kernel sockets) in a pollux epoll — EPOLL_CTL_ADD of
 * one answers EPERM; an epoll fd inside another epoll (EPERM, Linux nests them). */
#ifndef POLLUX_EPOLL_H
#define POLLUX_EPOLL_H

#include <sys/epoll.h>

#ifdef __cplusplus
extern "C" {
#endif

/* flags: EPOLL_CLOEXEC (others: EINVAL). */
int px_epoll_create1(int flags);
/* size must be > 0 (EINVAL), and is otherwise ignored, as on Linux. */
int px_epoll_create(int size);
/* op: EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL. */
int px_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
/* timeout in ms: -1 waits until an event or px_stop(), 0 does not wait. */
int px_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);

#ifdef __cplusplus
}
#endif

#endif /* POLLUX_EPOLL_H */
