/* epoll_semantics: epoll semantics by difference (DESIGN.md 6.5, issue 7).
 *
 * Built twice, like udp_semantics.c: against the kernel's epoll and sockets
 * (epoll_semantics_kernel) and, with PX_POLLUX, against pollux (every call renamed px_*
 * through S() in sem_names.h). The script runs UDP and TCP over loopback (127.0.0.1:
 * pollux delivers 127/8 internally as Linux's lo does) and prints one line per call with
 * its return value and errno name, and the events each epoll_wait reported as names and
 * the registration's tag. compare.sh diffs the two logs; the kernel's is the reference.
 *
 * Rules that keep the logs comparable: fd numbers print as "fd"; byte counts that depend
 * on buffer sizes (how much a full send buffer took) are not printed; every socket is
 * non-blocking; a wait that expects an event uses a 1000 ms timeout (the kernel may
 * deliver loopback data a little later than the send returns; pollux polls its stack
 * while it waits), one that expects none uses 0.
 *
 * Left out on purpose: kernel fds (stdin, pipes) in an epoll — pollux answers EPERM
 * until kernel fds are supported; an epoll fd inside an epoll (pollux: EPERM).
 *
 * Exit: 0 after the script, 1 if px_init fails, 77 (skipped) when the kernel build
 * cannot create an epoll instance or a socket. */
#define _GNU_SOURCE
#include "sem_names.h"
#include "sem_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifdef PX_POLLUX
#include <pollux/epoll.h>
#endif

#define CSA(x) ((const struct sockaddr *)&(x))
#define LEN16 ((socklen_t)sizeof(struct sockaddr_in))
#define PORT(n) (20100 + (n))

/* ---- logging (sem_log.h) and event masks ------------------------------------------ */

/* "IN|OUT|RDHUP": the bits of an event mask by name, unknown bits in hex. */
static const char *mask_str(unsigned m) {
    static char buf[256];
    static const struct { unsigned bit; const char *name; } names[] = {
        {EPOLLIN, "IN"},       {EPOLLPRI, "PRI"},       {EPOLLOUT, "OUT"},       {EPOLLERR, "ERR"},
        {EPOLLHUP, "HUP"},     {EPOLLRDNORM, "RDNORM"}, {EPOLLRDBAND, "RDBAND"}, {EPOLLWRNORM, "WRNORM"},
        {EPOLLWRBAND, "WRBAND"}, {EPOLLMSG, "MSG"},     {EPOLLRDHUP, "RDHUP"},
    };
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        if ((m & names[i].bit) == 0) continue;
        if (buf[0] != '\0') strcat(buf, "|");
        strcat(buf, names[i].name);
        m &= ~names[i].bit;
    }
    if (m != 0) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s0x%x", buf[0] ? "|" : "", m);
    if (buf[0] == '\0') strcpy(buf, "0");
    return buf;
}

/* ---- helpers ----------------------------------------------------------------------- */

/* 127.0.0.1:port */
static struct sockaddr_in lo4(int port) { return in4("127.0.0.1", port); }

static char buf[1 << 16];

static int ep_new(void) { return (int)OPEN(S(epoll_create1)(0), "epoll_create1(0)"); }

static long ctl(int ep, int op, int fd, unsigned events, unsigned tag, const char *what) {
    struct epoll_event e;
    memset(&e, 0, sizeof e);
    e.events = events;
    e.data.u64 = tag;
    const char *opname = op == EPOLL_CTL_ADD ? "ADD" : op == EPOLL_CTL_MOD ? "MOD" : op == EPOLL_CTL_DEL ? "DEL" : "op?";
    return CALL(S(epoll_ctl)(ep, op, fd, &e), "epoll_ctl(%s %s, %s%s%s, tag %u)", opname, what, mask_str(events & ~(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE)),
                (events & EPOLLET) ? " ET" : "", (events & EPOLLONESHOT) ? " ONESHOT" : "", tag);
}

/* epoll_wait and one indented line per event: "tag 3: IN|OUT". */
static long wait_ev(int ep, int maxevents, int timeout, const char *why) {
    struct epoll_event ev[8];
    memset(ev, 0, sizeof ev);
    long n = CALL(S(epoll_wait)(ep, ev, maxevents, timeout), "epoll_wait(max %d, timeout %d) %s", maxevents, timeout, why);
    for (long i = 0; i < n; ++i) note("tag %llu: %s", (unsigned long long)ev[i].data.u64, mask_str(ev[i].events));
    return n;
}

static void close_fd(int fd) { CALL(S(close)(fd), "close"); }

static int udp_bound(int port) {
    int fd = (int)OPEN(S(socket)(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), "socket(UDP)");
    struct sockaddr_in a = lo4(port);
    CALL(S(bind)(fd, CSA(a), LEN16), "bind(127.0.0.1:%d)", port);
    return fd;
}

static void udp_send(int s, int port, size_t n) {
    struct sockaddr_in a = lo4(port);
    memset(buf, 'u', n);
    CALL(S(sendto)(s, buf, n, 0, CSA(a), LEN16), "sendto(%zu bytes, :%d)", n, port);
}

/* Kernel build: waits (at most 1 s) until `fd` is readable, so that a loopback datagram
 * or segment sent a moment ago has arrived. pollux delivers loopback within the send. */
static void settle(int fd) {
#ifdef PX_POLLUX
    (void)fd;
#else
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, 1000);
#endif
}

static int tcp_socket(void) { return (int)OPEN(S(socket)(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), "socket(TCP)"); }

static int tcp_listener(int port) {
    int l = tcp_socket();
    int one = 1;
    CALL(S(setsockopt)(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), "setsockopt(SO_REUSEADDR)");
    struct sockaddr_in a = lo4(port);
    CALL(S(bind)(l, CSA(a), LEN16), "bind(127.0.0.1:%d)", port);
    CALL(S(listen)(l, 8), "listen(8)");
    return l;
}

/* A connected pair through listener `l`: *c the client, returns the accepted side. The
 * accept waits for the listener through a private epoll, so both builds agree. */
static int tcp_pair(int l, int port, int *c) {
    *c = tcp_socket();
    struct sockaddr_in a = lo4(port);
    CALL(S(connect)(*c, CSA(a), LEN16), "connect(127.0.0.1:%d)", port);
    int ep = ep_new();
    ctl(ep, EPOLL_CTL_ADD, l, EPOLLIN, 99, "listener");
    wait_ev(ep, 8, 1000, "for the connection");
    close_fd(ep);
    return (int)OPEN(S(accept4)(l, NULL, NULL, SOCK_NONBLOCK), "accept4(SOCK_NONBLOCK)");
}

static long elapsed_ms(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- the script -------------------------------------------------------------------- */

static void test_create(void) {
    section("create");
    int a = ep_new();
    int b = (int)OPEN(S(epoll_create1)(EPOLL_CLOEXEC), "epoll_create1(EPOLL_CLOEXEC)");
    CALL(S(fcntl)(b, F_GETFD), "fcntl(F_GETFD) of the EPOLL_CLOEXEC one");
    CALL(S(fcntl)(a, F_GETFD), "fcntl(F_GETFD) of the other");
    OPEN(S(epoll_create1)(1), "epoll_create1(1)");
    OPEN(S(epoll_create1)(EPOLL_CLOEXEC | 1), "epoll_create1(EPOLL_CLOEXEC | 1)");
    OPEN(S(epoll_create)(0), "epoll_create(0)");
    OPEN(S(epoll_create)(-1), "epoll_create(-1)");
    int c = (int)OPEN(S(epoll_create)(1), "epoll_create(1)");
    close_fd(a);
    close_fd(b);
    close_fd(c);
    CALL(S(close)(c), "close again");
}

static void test_ctl_errors(void) {
    section("ctl errors");
    int ep = ep_new();
    int other = ep_new();
    int u = udp_bound(PORT(0));
    struct epoll_event e;
    memset(&e, 0, sizeof e);
    e.events = EPOLLIN;
    CALL(S(epoll_ctl)(-1, EPOLL_CTL_ADD, u, &e), "epoll_ctl(epfd -1)");
    CALL(S(epoll_ctl)(ep, EPOLL_CTL_ADD, -1, &e), "epoll_ctl(fd -1)");
    CALL(S(epoll_ctl)(u, EPOLL_CTL_ADD, u, &e), "epoll_ctl(epfd a socket)");
    CALL(S(epoll_ctl)(ep, EPOLL_CTL_ADD, ep, &e), "epoll_ctl(ADD itself)");
    CALL(S(epoll_ctl)(ep, 99, u, &e), "epoll_ctl(op 99)");
    CALL(S(epoll_ctl)(ep, EPOLL_CTL_ADD, u, NULL), "epoll_ctl(ADD, NULL event)");
    CALL(S(epoll_ctl)(ep, EPOLL_CTL_MOD, u, NULL), "epoll_ctl(MOD, NULL event)");
    CALL(S(epoll_ctl)(ep, EPOLL_CTL_DEL, u, NULL), "epoll_ctl(DEL not added, NULL event)");
    ctl(ep, EPOLL_CTL_MOD, u, EPOLLIN, 1, "not added");
    ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN, 1, "udp");
    ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN, 1, "udp again");
    ctl(ep, EPOLL_CTL_MOD, u, EPOLLIN | EPOLLEXCLUSIVE, 1, "udp with EXCLUSIVE");
    ctl(ep, EPOLL_CTL_DEL, u, 0, 1, "udp");
    ctl(ep, EPOLL_CTL_DEL, u, 0, 1, "udp again");
    ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN | EPOLLRDHUP | EPOLLEXCLUSIVE, 1, "udp EXCLUSIVE with RDHUP");
    ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN | EPOLLEXCLUSIVE, 1, "udp EXCLUSIVE");
    ctl(ep, EPOLL_CTL_MOD, u, EPOLLIN, 2, "of an EXCLUSIVE item");
    ctl(ep, EPOLL_CTL_DEL, u, 0, 1, "udp");
    ctl(other, EPOLL_CTL_ADD, u, EPOLLIN, 1, "udp in another instance");
    struct epoll_event ev[1];
    CALL(S(epoll_wait)(ep, ev, 0, 0), "epoll_wait(maxevents 0)");
    volatile int negative = -1; /* a variable: the compiler would warn of a literal */
    CALL(S(epoll_wait)(ep, ev, negative, 0), "epoll_wait(maxevents -1)");
    CALL(S(epoll_wait)(-1, ev, 1, 0), "epoll_wait(epfd -1)");
    CALL(S(epoll_wait)(u, ev, 1, 0), "epoll_wait(epfd a socket)");
    int gone = udp_bound(PORT(1));
    close_fd(gone);
    ctl(ep, EPOLL_CTL_ADD, gone, EPOLLIN, 1, "a closed fd");
    close_fd(u);
    close_fd(other);
    close_fd(ep);
    ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN, 1, "on a closed epoll");
}

static void test_udp_lt_et(void) {
    section("udp level and edge triggered, partial reads");
    int r = udp_bound(PORT(2));
    int s = udp_bound(PORT(3));
    int lt = ep_new();
    int et = ep_new();
    ctl(lt, EPOLL_CTL_ADD, r, EPOLLIN, 1, "receiver");
    ctl(et, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLET, 2, "receiver");
    wait_ev(lt, 8, 0, "nothing queued");
    wait_ev(et, 8, 0, "nothing queued");
    udp_send(s, PORT(2), 100);
    udp_send(s, PORT(2), 200);
    settle(r);
    wait_ev(lt, 8, 1000, "two datagrams");
    wait_ev(lt, 8, 0, "again: level-triggered reports again");
    wait_ev(et, 8, 1000, "two datagrams");
    wait_ev(et, 8, 0, "again: edge-triggered does not");
    CALL(S(recv)(r, buf, sizeof buf, 0), "recv one of two");
    wait_ev(lt, 8, 0, "one left");
    wait_ev(et, 8, 0, "one left, nothing new");
    udp_send(s, PORT(2), 300);
    settle(r);
    wait_ev(et, 8, 1000, "a new arrival");
    CALL(S(recv)(r, buf, sizeof buf, 0), "recv");
    CALL(S(recv)(r, buf, sizeof buf, 0), "recv");
    CALL(S(recv)(r, buf, sizeof buf, 0), "recv (empty)");
    wait_ev(lt, 8, 0, "all read");
    wait_ev(et, 8, 0, "all read");
    ctl(lt, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLOUT, 3, "receiver, also OUT");
    wait_ev(lt, 8, 0, "an idle UDP socket is writable");
    ctl(lt, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM | EPOLLWRBAND | EPOLLRDHUP, 4, "all bits");
    wait_ev(lt, 8, 0, "idle, every bit asked");
    CALL(S(shutdown)(r, SHUT_RD), "shutdown(SHUT_RD)");
    wait_ev(lt, 8, 0, "after SHUT_RD");
    CALL(S(shutdown)(r, SHUT_WR), "shutdown(SHUT_WR)");
    wait_ev(lt, 8, 0, "after SHUT_RD and SHUT_WR");
    close_fd(lt);
    close_fd(et);
    close_fd(r);
    close_fd(s);
}

static void test_oneshot(void) {
    section("oneshot and re-arm by MOD");
    int r = udp_bound(PORT(4));
    int s = udp_bound(PORT(5));
    int ep = ep_new();
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLONESHOT, 1, "receiver");
    udp_send(s, PORT(4), 10);
    settle(r);
    wait_ev(ep, 8, 1000, "one datagram");
    wait_ev(ep, 8, 0, "disarmed");
    udp_send(s, PORT(4), 20);
    settle(r);
    wait_ev(ep, 8, 0, "disarmed, another arrival");
    ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLONESHOT, 2, "re-arm");
    wait_ev(ep, 8, 0, "re-armed while readable");
    wait_ev(ep, 8, 0, "disarmed again");
    ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLONESHOT | EPOLLET, 3, "re-arm, edge-triggered");
    wait_ev(ep, 8, 0, "re-armed while readable");
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 4, "while disarmed");
    close_fd(ep);
    close_fd(r);
    close_fd(s);
}

static void test_maxevents(void) {
    section("maxevents and the order of reports");
    int s = udp_bound(PORT(6));
    int r[3];
    int ep = ep_new();
    for (int i = 0; i < 3; ++i) {
        r[i] = udp_bound(PORT(7 + i));
        ctl(ep, EPOLL_CTL_ADD, r[i], EPOLLIN, 10 + (unsigned)i, "receiver");
    }
    for (int i = 0; i < 3; ++i) {
        udp_send(s, PORT(7 + i), 10);
        settle(r[i]);
    }
    wait_ev(ep, 2, 1000, "three ready, two asked");
    wait_ev(ep, 2, 0, "the third first, then round robin");
    wait_ev(ep, 8, 0, "all of them");
    CALL(S(recv)(r[1], buf, sizeof buf, 0), "recv the middle one");
    wait_ev(ep, 8, 0, "two left");
    close_fd(r[0]);
    wait_ev(ep, 8, 0, "one closed: it leaves the instance");
    ctl(ep, EPOLL_CTL_DEL, r[0], 0, 10, "the closed one");
    close_fd(r[1]);
    close_fd(r[2]);
    close_fd(s);
    close_fd(ep);
}

static void test_timeouts(void) {
    section("timeouts");
    int ep = ep_new();
    int r = udp_bound(PORT(11));
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 1, "idle receiver");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wait_ev(ep, 8, 0, "nothing");
    note("returned within 20 ms: %s", elapsed_ms(&t0) < 20 ? "yes" : "no");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wait_ev(ep, 8, 50, "nothing");
    long ms = elapsed_ms(&t0);
    note("waited 50..500 ms: %s", ms >= 49 && ms < 500 ? "yes" : "no");
    int empty = ep_new();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wait_ev(empty, 8, 30, "an instance with no items");
    ms = elapsed_ms(&t0);
    note("waited 30..500 ms: %s", ms >= 29 && ms < 500 ? "yes" : "no");
    close_fd(empty);
    close_fd(r);
    close_fd(ep);
}

static void test_listener(void) {
    section("tcp listener and connect");
    int fresh = tcp_socket();
    int ep = ep_new();
    ctl(ep, EPOLL_CTL_ADD, fresh, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 1, "a fresh TCP socket");
    wait_ev(ep, 8, 0, "unconnected: OUT and HUP, as Linux");
    close_fd(fresh);
    int l = tcp_listener(PORT(20));
    ctl(ep, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLOUT, 2, "listener");
    wait_ev(ep, 8, 0, "no connection yet");
    int c = tcp_socket();
    struct sockaddr_in a = lo4(PORT(20));
    CALL(S(connect)(c, CSA(a), LEN16), "connect");
    ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 3, "client");
    wait_ev(ep, 8, 1000, "the connection: listener readable, client writable");
    int c2 = tcp_socket();
    CALL(S(connect)(c2, CSA(a), LEN16), "a second connect");
    settle(l);
    wait_ev(ep, 8, 1000, "two waiting to be accepted");
    int s1 = (int)OPEN(S(accept4)(l, NULL, NULL, SOCK_NONBLOCK), "accept4");
    wait_ev(ep, 8, 0, "one still waiting");
    int s2 = (int)OPEN(S(accept4)(l, NULL, NULL, SOCK_NONBLOCK), "accept4");
    wait_ev(ep, 8, 0, "none waiting");
    ctl(ep, EPOLL_CTL_ADD, s1, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 4, "accepted");
    wait_ev(ep, 8, 0, "the accepted one is writable");
    int refused = tcp_socket();
    struct sockaddr_in nobody = lo4(PORT(21));
    CALL(S(connect)(refused, CSA(nobody), LEN16), "connect to a port nobody listens on");
    ctl(ep, EPOLL_CTL_DEL, c, 0, 3, "client");
    ctl(ep, EPOLL_CTL_DEL, s1, 0, 4, "accepted");
    ctl(ep, EPOLL_CTL_ADD, refused, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 5, "refused");
    wait_ev(ep, 8, 1000, "refused: ERR, HUP, and all the rest");
    CALL(S(recv)(refused, buf, sizeof buf, 0), "recv: the error");
    wait_ev(ep, 8, 0, "the error read: no ERR");
    close_fd(refused);
    close_fd(s1);
    close_fd(s2);
    close_fd(c);
    close_fd(c2);
    close_fd(l);
    close_fd(ep);
}

static void test_tcp_lt_et(void) {
    section("tcp level and edge triggered, partial reads");
    int l = tcp_listener(PORT(30));
    int c;
    int s = tcp_pair(l, PORT(30), &c);
    int lt = ep_new();
    int et = ep_new();
    ctl(lt, EPOLL_CTL_ADD, s, EPOLLIN, 1, "server side");
    ctl(et, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLET, 2, "server side");
    wait_ev(lt, 8, 0, "nothing sent");
    wait_ev(et, 8, 0, "nothing sent");
    memset(buf, 't', 100);
    CALL(S(send)(c, buf, 100, 0), "send 100");
    settle(s);
    wait_ev(lt, 8, 1000, "100 bytes");
    wait_ev(et, 8, 1000, "100 bytes");
    CALL(S(recv)(s, buf, 10, 0), "recv 10 of 100");
    wait_ev(lt, 8, 0, "90 left");
    wait_ev(et, 8, 0, "90 left, nothing new");
    CALL(S(send)(c, buf, 50, 0), "send 50 more");
    settle(s);
    wait_ev(et, 8, 1000, "a new arrival while readable");
    wait_ev(et, 8, 0, "again");
    CALL(S(recv)(s, buf, sizeof buf, 0), "recv all");
    wait_ev(lt, 8, 0, "all read");
    wait_ev(et, 8, 0, "all read");
    close_fd(lt);
    close_fd(et);

    section("tcp half-close: RDHUP, then HUP");
    int ep = ep_new();
    ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 1, "server side");
    ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 2, "client side");
    wait_ev(ep, 8, 0, "both writable");
    CALL(S(shutdown)(c, SHUT_WR), "client shutdown(SHUT_WR)");
    settle(s);
    wait_ev(ep, 8, 1000, "server sees the FIN");
    CALL(S(recv)(s, buf, sizeof buf, 0), "server recv: end of stream");
    CALL(S(shutdown)(s, SHUT_WR), "server shutdown(SHUT_WR)");
    settle(c);
    wait_ev(ep, 8, 1000, "both directions closed");
    close_fd(ep);
    close_fd(s);
    close_fd(c);
    close_fd(l);
}

static void test_reset(void) {
    section("tcp reset: ERR and HUP");
    int l = tcp_listener(PORT(40));
    int c;
    int s = tcp_pair(l, PORT(40), &c);
    int ep = ep_new();
    ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 1, "client");
    wait_ev(ep, 8, 0, "connected");
    memset(buf, 'r', 10);
    CALL(S(send)(c, buf, 10, 0), "client sends 10");
    settle(s);
    CALL(S(close)(s), "server closes with the 10 bytes unread: RST");
    settle(c);
    wait_ev(ep, 8, 1000, "the reset");
    CALL(S(recv)(c, buf, sizeof buf, 0), "client recv");
    ctl(ep, EPOLL_CTL_MOD, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 2, "client, level-triggered");
    wait_ev(ep, 8, 0, "after the error was read");
    close_fd(ep);
    close_fd(c);
    close_fd(l);
}

static void test_write_space(void) {
    section("tcp EPOLLOUT after a full send buffer drains");
    int l = tcp_listener(PORT(50));
    int c;
    int s = tcp_pair(l, PORT(50), &c);
    int et = ep_new();
    int lt = ep_new();
    int rd = ep_new();
    ctl(et, EPOLL_CTL_ADD, c, EPOLLOUT | EPOLLET, 1, "client");
    ctl(lt, EPOLL_CTL_ADD, c, EPOLLOUT, 2, "client");
    ctl(rd, EPOLL_CTL_ADD, s, EPOLLIN, 3, "server");
    wait_ev(et, 8, 0, "writable");
    memset(buf, 'w', sizeof buf);
    long sent = 0;
    int full = 0;
    for (int i = 0; i < 100000 && !full; ++i) {
        long n = S(send)(c, buf, sizeof buf, 0);
        if (n > 0) sent += n;
        else full = n < 0 && errno == EAGAIN;
    }
    note("send until EAGAIN: %s", full ? "full" : "NOT FULL");
    wait_ev(et, 8, 0, "full");
    wait_ev(lt, 8, 0, "full");
    long got = 0;
    for (int i = 0; i < 100000 && got < sent; ++i) {
        struct epoll_event ev;
        if (S(epoll_wait)(rd, &ev, 1, 1000) <= 0) break;
        long n;
        while ((n = S(recv)(s, buf, sizeof buf, 0)) > 0) got += n;
    }
    note("the server read everything: %s", got == sent ? "yes" : "no");
    wait_ev(et, 8, 1000, "drained");
    wait_ev(lt, 8, 1000, "drained");
    close_fd(et);
    close_fd(lt);
    close_fd(rd);
    close_fd(s);
    close_fd(c);
    close_fd(l);
}

/* A wait without a timeout ends with EINTR when a signal arrives (the kernel never
 * restarts epoll_wait); pollux's equivalent is px_stop(), which the handler calls (it is
 * async-signal-safe). Last in the script: pollux's stop request stays set afterwards. */
/* wait_ev with the events listed by tag: where kernel files and sockets are ready at
 * once, pollux reports the two sides in turns, not in the kernel's ready-list order. */
static long wait_sorted(int ep, int timeout, const char *why) {
    struct epoll_event ev[8];
    memset(ev, 0, sizeof ev);
    long n = CALL(S(epoll_wait)(ep, ev, 8, timeout), "epoll_wait(max 8, timeout %d) %s", timeout, why);
    for (long i = 1; i < n; ++i) {
        for (long j = i; j > 0 && ev[j].data.u64 < ev[j - 1].data.u64; --j) {
            struct epoll_event t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
    }
    for (long i = 0; i < n; ++i) note("tag %llu: %s", (unsigned long long)ev[i].data.u64, mask_str(ev[i].events));
    return n;
}

/* Kernel files in the same instance as sockets (pollux: kept in an internal kernel epoll
 * instance): eventfd, pipe, timerfd, their errors, ET and ONESHOT, together with a socket.
 * The kernel's fds are made with the kernel's calls in both builds. */
static void test_kernel_fds(void) {
    section("kernel fds beside sockets");
    int ep = ep_new();
    int efd = eventfd(0, EFD_NONBLOCK);
    int p[2];
    if (efd < 0 || pipe2(p, O_NONBLOCK) != 0) {
        note("eventfd/pipe failed");
        return;
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    int mem = memfd_create("sem", 0); /* not pollable: EPERM */
    ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN, 10, "eventfd");
    ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN, 10, "eventfd again");
    ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 11, "pipe not added");
    ctl(ep, EPOLL_CTL_DEL, p[0], 0, 11, "pipe not added");
    ctl(ep, EPOLL_CTL_ADD, mem, EPOLLIN, 12, "memfd");
    int closed = eventfd(0, 0);
    close(closed);
    ctl(ep, EPOLL_CTL_ADD, closed, EPOLLIN, 13, "a closed kernel fd");
    ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLET, 11, "pipe read end");
    ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLONESHOT, 14, "pipe write end");
    ctl(ep, EPOLL_CTL_ADD, tfd, EPOLLIN, 15, "timerfd");
    int u = udp_bound(PORT(70));
    ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN, 16, "udp");
    wait_ev(ep, 8, 0, "only the pipe's write end");
    wait_ev(ep, 8, 0, "ONESHOT fired");
    CALL(eventfd_write(efd, 3), "eventfd_write(3)");
    CALL(write(p[1], "ab", 2), "write(pipe, 2)");
    udp_send(u, PORT(70), 5);
    settle(u);
    wait_sorted(ep, 0, "eventfd, pipe and udp");
    wait_sorted(ep, 0, "ET pipe not again, LT eventfd and udp again");
    char b[8];
    CALL(read(p[0], b, 1), "read(pipe, 1)");
    wait_ev(ep, 8, 0, "ET pipe: nothing new");
    CALL(write(p[1], "c", 1), "write(pipe, 1)");
    eventfd_t v;
    CALL(eventfd_read(efd, &v), "eventfd_read");
    CALL(S(recv)(u, buf, sizeof buf, 0), "recv(udp)");
    wait_sorted(ep, 0, "ET pipe again, the rest drained");
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 30 * 1000000;
    CALL(timerfd_settime(tfd, 0, &its, NULL), "timerfd_settime(30 ms)");
    wait_ev(ep, 8, 1000, "the timer, sleeping");
    ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 14, "re-arm the write end");
    ctl(ep, EPOLL_CTL_DEL, p[0], 0, 11, "pipe read end");
    ctl(ep, EPOLL_CTL_DEL, tfd, 0, 15, "timerfd");
    wait_ev(ep, 8, 0, "the write end again");
    close(p[1]);
    wait_ev(ep, 8, 0, "closed write end left by itself");
    close_fd(u);
    close_fd(ep);
    close(efd);
    close(p[0]);
    close(tfd);
    close(mem);
}

/* An epoll instance watched by another: readable while it has something to report, ET
 * and LT on it, loops and the nesting depth (ELOOP). */
static void test_nested(void) {
    section("epoll instances in epoll instances");
    int outer = ep_new();
    int inner = ep_new();
    int u = udp_bound(PORT(90));
    int s = udp_bound(PORT(91));
    ctl(inner, EPOLL_CTL_ADD, u, EPOLLIN, 1, "udp");
    ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 2, "inner instance");
    ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 2, "inner instance again");
    ctl(inner, EPOLL_CTL_ADD, outer, EPOLLIN, 3, "outer into inner: a loop");
    ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLEXCLUSIVE, 2, "inner instance EXCLUSIVE");
    wait_ev(outer, 8, 0, "nothing yet");
    udp_send(s, PORT(90), 3);
    settle(u);
    wait_ev(outer, 8, 0, "the inner instance is readable");
    wait_ev(outer, 8, 0, "LT: again");
    ctl(outer, EPOLL_CTL_MOD, inner, EPOLLIN | EPOLLET, 2, "inner instance");
    wait_ev(outer, 8, 0, "ET after MOD: reported once");
    wait_ev(outer, 8, 0, "ET: not again");
    wait_ev(inner, 8, 0, "the inner instance reports the socket");
    udp_send(s, PORT(90), 4);
    settle(u);
    wait_ev(outer, 8, 0, "ET: a new datagram is a new event");
    CALL(S(recv)(u, buf, sizeof buf, 0), "recv");
    CALL(S(recv)(u, buf, sizeof buf, 0), "recv");
    wait_ev(outer, 8, 0, "drained: nothing");
    close_fd(inner);
    wait_ev(outer, 8, 0, "inner closed: gone from outer");
    close_fd(outer);
    close_fd(u);
    close_fd(s);

    int chain[7];
    chain[0] = ep_new();
    for (int i = 1; i < 7; ++i) {
        chain[i] = ep_new();
        ctl(chain[i], EPOLL_CTL_ADD, chain[i - 1], EPOLLIN, (unsigned)i, "the previous instance, a chain");
    }
    int top = ep_new();
    ctl(chain[3], EPOLL_CTL_ADD, top, EPOLLIN, 9, "a fresh instance under the chain's middle");
    ctl(top, EPOLL_CTL_ADD, chain[2], EPOLLIN, 9, "the chain's lower part under a fresh instance");
    close_fd(top);
    for (int i = 0; i < 7; ++i) close_fd(chain[i]);
}

/* EPOLLEXCLUSIVE with several waiters: four threads, each asleep in epoll_wait on its own
 * instance, watch one listener. Exclusively, a connection wakes one thread; each further
 * connection wakes one more. Without EPOLLEXCLUSIVE one connection wakes all four. In the
 * pollux build this runs in threaded mode (px_enable_threads) while main polls in px_run. */
#define WAITERS 4

struct waiter {
    int ep;
    long n;
    pthread_t thread;
};

static void *waiter_main(void *arg) {
    struct waiter *w = arg;
    struct epoll_event ev;
    w->n = S(epoll_wait)(w->ep, &ev, 1, 3000);
    return NULL;
}

static int count_returned(struct waiter *w, int *returned) {
    int n = 0;
    for (int i = 0; i < WAITERS; ++i) {
        if (!returned[i] && pthread_tryjoin_np(w[i].thread, NULL) == 0) returned[i] = 1;
        n += returned[i];
    }
    return n;
}

static void exclusive_round(int exclusive, int port) {
    int l = tcp_listener(port);
    struct waiter w[WAITERS];
    int returned[WAITERS] = {0};
    for (int i = 0; i < WAITERS; ++i) {
        w[i].ep = (int)S(epoll_create1)(0);
        w[i].n = -2;
        ctl(w[i].ep, EPOLL_CTL_ADD, l, EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0), (unsigned)i + 1, "listener");
    }
    for (int i = 0; i < WAITERS; ++i) pthread_create(&w[i].thread, NULL, waiter_main, &w[i]);
    struct timespec settle_time = {0, 200 * 1000000};
    nanosleep(&settle_time, NULL); /* every waiter asleep */
    int clients[WAITERS];
    for (int c = 0; c < WAITERS; ++c) {
        clients[c] = tcp_socket();
        struct sockaddr_in a = lo4(port);
        S(connect)(clients[c], CSA(a), LEN16);
        nanosleep(&settle_time, NULL);
        note("after %d connection(s): %d of %d waiters returned", c + 1, count_returned(w, returned), WAITERS);
        if (count_returned(w, returned) == WAITERS) {
            for (int d = 0; d <= c; ++d) close_fd(clients[d]);
            break;
        }
        if (c == WAITERS - 1) {
            for (int d = 0; d <= c; ++d) close_fd(clients[d]);
        }
    }
    for (int i = 0; i < WAITERS; ++i) {
        if (!returned[i]) pthread_join(w[i].thread, NULL);
        note("waiter %d: epoll_wait -> %ld", i + 1, w[i].n);
        close_fd(w[i].ep);
    }
    close_fd(l);
}

static void test_exclusive(void) {
    section("EPOLLEXCLUSIVE with several waiters");
    exclusive_round(1, PORT(80));
    section("the same without EPOLLEXCLUSIVE");
    exclusive_round(0, PORT(81));
}

#ifdef PX_POLLUX
static void *exclusive_then_stop(void *arg) {
    (void)arg;
    test_exclusive();
    px_stop();
    return NULL;
}
#endif

static void on_alarm(int sig) {
    (void)sig;
#ifdef PX_POLLUX
    px_stop();
#endif
}

static void test_interrupted(void) {
    section("a wait ended by a signal / px_stop: EINTR");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    int ep = ep_new();
    int r = udp_bound(PORT(60));
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 1, "idle receiver");
    struct itimerval t;
    memset(&t, 0, sizeof t);
    t.it_value.tv_usec = 50000;
    setitimer(ITIMER_REAL, &t, NULL);
    wait_ev(ep, 8, -1, "no timeout, a signal after 50 ms");
    close_fd(r);
    close_fd(ep);
}

int main(int argc, char **argv) {
#ifdef PX_POLLUX
    if (S(init)(argc, argv) < 0) return 1;
#else
    (void)argc;
    (void)argv;
    int probe = epoll_create1(0);
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (probe < 0 || sock < 0) {
        perror("epoll_semantics: epoll_create1 / socket");
        return 77;
    }
    close(probe);
    close(sock);
#endif
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_create();
    test_ctl_errors();
    test_udp_lt_et();
    test_oneshot();
    test_maxevents();
    test_timeouts();
    test_listener();
    test_tcp_lt_et();
    test_reset();
    test_write_space();
    test_kernel_fds();
    test_nested();
    test_interrupted();
#ifdef PX_POLLUX
    /* Threads need px_run polling on this thread (threaded mode). */
    if (px_enable_threads() != 0) {
        perror("px_enable_threads");
        return 1;
    }
    pthread_t driver;
    pthread_create(&driver, NULL, exclusive_then_stop, NULL);
    px_run(NULL, NULL);
    pthread_join(driver, NULL);
#else
    test_exclusive();
#endif
    printf("== end\n");

#ifdef PX_POLLUX
    S(fini)();
#endif
    return 0;
}
