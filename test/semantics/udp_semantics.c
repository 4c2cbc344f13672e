/* udp_semantics: socket semantics by difference (DESIGN.md 6.5).
 *
 * This one file is built twice: against the kernel's sockets (udp_semantics_kernel) and,
 * with PX_POLLUX, against pollux, every call renamed px_* through S() in sem_names.h
 * (udp_semantics_pollux). Each build runs the same script of AF_INET/SOCK_DGRAM calls
 * on loopback (127.0.0.1: pollux delivers 127/8 internally as Linux's lo does) and prints
 * one line per call: the call, the arguments that matter, the return value and the errno
 * name ("0" when the call succeeded), plus indented lines for what a call returned through
 * pointers. compare.sh runs both and diffs the logs: the kernel's log is the reference, and
 * any difference is a pollux bug (or a kernel behaviour worth a README line).
 *
 *   udp_semantics_kernel
 *   udp_semantics_pollux --no-pci --no-huge -m 256 --no-shconf -l 0 \
 *       --log-level=lib.*:error --vdev=net_null0 -- --ip 198.18.0.2/24
 *
 * Rules that keep the two logs comparable:
 * - Nothing that legitimately differs is printed: fd numbers print as "fd", ephemeral ports
 *   as "<eph>" when they are in Linux's default range 32768..60999 (the number otherwise).
 * - Fixed ports are 20000..20099 (below the ephemeral range, so autobind never takes them);
 *   addresses are in 127/8 (local in both builds) or 198.19.255.1 (local in neither).
 * - Data sent on loopback is queued at the receiver before sendto returns, in Linux and in
 *   pollux; the kernel build still polls up to 1 s before a receive that expects data
 *   (settle()), so a busy machine cannot make it flaky. The pollux build does not wait.
 * - Left out on purpose: a kernel fd (say /dev/null) given to a px_* call is EBADF in pollux
 *   but ENOTSOCK in the kernel; AF_INET6 and SOCK_STREAM (pollux has neither yet); defaults
 *   that follow sysctls (SO_RCVBUF/SO_SNDBUF defaults); broadcast sends with SO_BROADCAST
 *   on (they would leave the machine in the kernel build).
 * - Calls that pass bad pointers come last, so that a crash there loses only the tail.
 *
 * Exit: 0 after the script, 1 if px_init fails, 77 (skipped) when the kernel build cannot
 * create a UDP socket at all. */
#define _GNU_SOURCE
#include "sem_names.h"
#include "sem_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define SA(x) ((struct sockaddr *)&(x))
#define CSA(x) ((const struct sockaddr *)&(x))
#define LEN16 ((socklen_t)sizeof(struct sockaddr_in))
#define PORT(n) (20000 + (n))

/* ---- payloads ------------------------------------------------------------------- */

static int zero_pad(const struct sockaddr_in *a) {
    for (size_t i = 0; i < sizeof a->sin_zero; ++i)
        if (a->sin_zero[i] != 0) return 0;
    return 1;
}

static unsigned char tx[65536 + 16];
static unsigned char rx[65536 + 16];

static void fill(size_t n, unsigned seed) {
    for (size_t i = 0; i < n; ++i) tx[i] = (unsigned char)(i * 7u + seed);
}

static const char *matches(size_t n) { return memcmp(tx, rx, n) == 0 ? "match" : "MISMATCH"; }

/* Kernel build: waits until `fd` has something to report (data or an error), at most 1 s.
 * pollux queues loopback data before sendto returns, so its build does not wait. */
static void settle(int fd) {
#ifdef PX_POLLUX
    (void)fd;
#else
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, 1000);
#endif
}

static long elapsed_ms(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- socket helpers ------------------------------------------------------------------ */

static int udp(void) { return (int)OPEN(S(socket)(AF_INET, SOCK_DGRAM, 0), "socket(AF_INET, SOCK_DGRAM, 0)"); }

static int bound(const char *ip, int port) {
    int fd = udp();
    struct sockaddr_in a = in4(ip, port);
    CALL(S(bind)(fd, CSA(a), LEN16), "bind(%s)", addr_str(&a));
    return fd;
}

static void show_name(int fd) {
    struct sockaddr_in a;
    socklen_t len = LEN16;
    memset(&a, 0xa5, sizeof a);
    if (CALL(S(getsockname)(fd, SA(a), &len), "getsockname") == 0)
        note("name %s len %u sin_zero zeroed: %s", addr_str(&a), (unsigned)len, yes(zero_pad(&a)));
}

static void show_peer(int fd) {
    struct sockaddr_in a;
    socklen_t len = LEN16;
    memset(&a, 0xa5, sizeof a);
    if (CALL(S(getpeername)(fd, SA(a), &len), "getpeername") == 0)
        note("peer %s len %u", addr_str(&a), (unsigned)len);
}

static void send_to(int fd, size_t n, const char *ip, int port) {
    struct sockaddr_in a = in4(ip, port);
    fill(n, (unsigned)n);
    CALL(S(sendto)(fd, tx, n, 0, CSA(a), LEN16), "sendto(%zu bytes, %s)", n, addr_str(&a));
}

/* Receives one datagram with MSG_DONTWAIT and checks it is the last one fill() made. */
static void recv_check(int fd, size_t sent) {
    struct sockaddr_in from;
    socklen_t len = LEN16;
    settle(fd);
    memset(&from, 0, sizeof from);
    memset(rx, 0, sizeof rx);
    long n = CALL(S(recvfrom)(fd, rx, sizeof rx, MSG_DONTWAIT, SA(from), &len),
                  "recvfrom(%zu-byte buffer, MSG_DONTWAIT)", sizeof rx);
    fill(sent, (unsigned)sent); /* send_to()'s pattern, also when others were sent since */
    if (n >= 0) note("from %s len %u payload %s", addr_str(&from), (unsigned)len, matches(sent));
}

static void recv_none(int fd) {
    CALL(S(recv)(fd, rx, sizeof rx, MSG_DONTWAIT), "recv(MSG_DONTWAIT) on an empty queue");
}

static void close_fd(int fd) { CALL(S(close)(fd), "close"); }

static int get_int(int fd, int level, int name, const char *what) {
    int v = -12345;
    socklen_t len = sizeof v;
    if (CALL(S(getsockopt)(fd, level, name, &v, &len), "getsockopt(%s)", what) == 0)
        note("%s = %d (optlen %u)", what, v, (unsigned)len);
    return v;
}

static void set_int(int fd, int level, int name, const char *what, int v) {
    CALL(S(setsockopt)(fd, level, name, &v, sizeof v), "setsockopt(%s, %d)", what, v);
}

/* ---- the script ------------------------------------------------------------------------ */

static void test_socket(void) {
    section("socket");
    int fd;
    OPEN(S(socket)(12345, SOCK_DGRAM, 0), "socket(domain 12345, SOCK_DGRAM, 0)");
    OPEN(S(socket)(AF_UNSPEC, SOCK_DGRAM, 0), "socket(AF_UNSPEC, SOCK_DGRAM, 0)");
    OPEN(S(socket)(AF_INET, SOCK_SEQPACKET, 0), "socket(AF_INET, SOCK_SEQPACKET, 0)");
    OPEN(S(socket)(AF_INET, 0, 0), "socket(AF_INET, type 0, 0)");
    OPEN(S(socket)(AF_INET, 11, 0), "socket(AF_INET, type 11, 0)");
    OPEN(S(socket)(AF_INET, SOCK_DGRAM, IPPROTO_TCP), "socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)");
    OPEN(S(socket)(AF_INET, SOCK_DGRAM, 200), "socket(AF_INET, SOCK_DGRAM, 200)");
    OPEN(S(socket)(AF_INET, SOCK_DGRAM, 9999), "socket(AF_INET, SOCK_DGRAM, 9999)");
    OPEN(S(socket)(AF_INET, SOCK_DGRAM, -1), "socket(AF_INET, SOCK_DGRAM, -1)");
    OPEN(S(socket)(AF_INET, SOCK_DGRAM | 0x40000000, 0), "socket(AF_INET, SOCK_DGRAM|0x40000000, 0)");
    fd = (int)OPEN(S(socket)(AF_INET, SOCK_DGRAM, IPPROTO_UDP), "socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)");
    if (fd >= 0) close_fd(fd);
    fd = (int)OPEN(S(socket)(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
                   "socket(AF_INET, SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0)");
    if (fd >= 0) {
        CALL(S(fcntl)(fd, F_GETFL), "fcntl(F_GETFL)");
        note("O_NONBLOCK set: %s", yes(g_ret >= 0 && (g_ret & O_NONBLOCK)));
        CALL(S(fcntl)(fd, F_GETFD), "fcntl(F_GETFD)");
        close_fd(fd);
    }
    /* Raw sockets need CAP_NET_RAW in the kernel build: the line is there only for root,
     * in both builds. */
    if (geteuid() == 0) {
        OPEN(S(socket)(AF_INET, SOCK_RAW, 0), "socket(AF_INET, SOCK_RAW, 0)");
    }
}

static void test_bind_conflicts(void) {
    section("bind: conflicts");
    int a = bound("127.0.0.1", PORT(1));
    show_name(a);
    struct sockaddr_in other = in4("127.0.0.1", PORT(2));
    CALL(S(bind)(a, CSA(other), LEN16), "bind again (%s)", addr_str(&other));
    int b = bound("127.0.0.1", PORT(1));
    int c = bound("0.0.0.0", PORT(1));
    int d = bound("127.0.0.2", PORT(1));
    int e = bound("0.0.0.0", PORT(5));
    int f = bound("127.0.0.1", PORT(5));
    int fds[] = {a, b, c, d, e, f};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; ++i) close_fd(fds[i]);

    section("bind: SO_REUSEADDR and SO_REUSEPORT");
    int r1 = udp(), r2 = udp(), r3 = udp();
    struct sockaddr_in p3 = in4("127.0.0.1", PORT(3));
    set_int(r1, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1);
    set_int(r2, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1);
    CALL(S(bind)(r1, CSA(p3), LEN16), "bind(%s) with SO_REUSEADDR", addr_str(&p3));
    CALL(S(bind)(r2, CSA(p3), LEN16), "bind(%s) with SO_REUSEADDR", addr_str(&p3));
    CALL(S(bind)(r3, CSA(p3), LEN16), "bind(%s) without SO_REUSEADDR", addr_str(&p3));
    int q1 = udp(), q2 = udp(), q3 = udp();
    struct sockaddr_in p4 = in4("127.0.0.1", PORT(4));
    set_int(q1, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 1);
    set_int(q2, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 1);
    CALL(S(bind)(q1, CSA(p4), LEN16), "bind(%s) with SO_REUSEPORT", addr_str(&p4));
    CALL(S(bind)(q2, CSA(p4), LEN16), "bind(%s) with SO_REUSEPORT", addr_str(&p4));
    CALL(S(bind)(q3, CSA(p4), LEN16), "bind(%s) without SO_REUSEPORT", addr_str(&p4));
    int more[] = {r1, r2, r3, q1, q2, q3};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; ++i) close_fd(more[i]);
}

static void test_bind_args(void) {
    section("bind: arguments");
    struct sockaddr_in a = in4("127.0.0.1", PORT(6));
    struct sockaddr_storage big;
    int fd = udp();
    CALL(S(bind)(fd, CSA(a), 15), "bind(%s, addrlen 15)", addr_str(&a));
    CALL(S(bind)(fd, CSA(a), 0), "bind(%s, addrlen 0)", addr_str(&a));
    a.sin_family = AF_INET6;
    CALL(S(bind)(fd, CSA(a), LEN16), "bind(sin_family AF_INET6 in a sockaddr_in)");
    a.sin_family = AF_UNSPEC;
    CALL(S(bind)(fd, CSA(a), LEN16), "bind(AF_UNSPEC 127.0.0.1:%d)", PORT(6));
    struct sockaddr_in nonlocal = in4("198.19.255.1", PORT(6));
    CALL(S(bind)(fd, CSA(nonlocal), LEN16), "bind(%s)", addr_str(&nonlocal));
    CALL(S(bind)(fd, NULL, LEN16), "bind(NULL, addrlen 16)");
    memset(&big, 0, sizeof big);
    memcpy(&big, &a, sizeof a);
    ((struct sockaddr_in *)&big)->sin_family = AF_INET;
    CALL(S(bind)(fd, (struct sockaddr *)&big, sizeof big + 1), "bind(127.0.0.1:%d, addrlen 129)", PORT(6));
    CALL(S(bind)(fd, (struct sockaddr *)&big, 32), "bind(127.0.0.1:%d, addrlen 32)", PORT(6));
    show_name(fd);
    close_fd(fd);
    CALL(S(bind)(fd, CSA(a), LEN16), "bind after close");

    /* Linux accepts AF_UNSPEC with INADDR_ANY as AF_INET (old programs rely on it). */
    fd = udp();
    struct sockaddr_in any = in4("0.0.0.0", PORT(7));
    any.sin_family = AF_UNSPEC;
    CALL(S(bind)(fd, CSA(any), LEN16), "bind(AF_UNSPEC 0.0.0.0:%d)", PORT(7));
    show_name(fd);
    close_fd(fd);

    fd = udp();
    struct sockaddr_in zero = in4("127.0.0.1", 0);
    CALL(S(bind)(fd, CSA(zero), LEN16), "bind(127.0.0.1:0)");
    show_name(fd);
    close_fd(fd);
}

static void test_names(void) {
    section("getsockname / getpeername");
    int fd = udp();
    show_name(fd);
    show_peer(fd);
    struct sockaddr_in a;
    socklen_t len;
    unsigned char *raw = (unsigned char *)&a;
    len = 8;
    memset(&a, 0xa5, sizeof a);
    CALL(S(getsockname)(fd, SA(a), &len), "getsockname(addrlen 8)");
    note("len %u, family copied: %s, bytes past 8 untouched: %s", (unsigned)len, yes(a.sin_family == AF_INET),
         yes(raw[8] == 0xa5 && raw[15] == 0xa5));
    len = 0;
    CALL(S(getsockname)(fd, SA(a), &len), "getsockname(addrlen 0)");
    note("len %u", (unsigned)len);
    len = (socklen_t)-1;
    CALL(S(getsockname)(fd, SA(a), &len), "getsockname(addrlen -1)");
    CALL(S(getsockname)(fd, SA(a), NULL), "getsockname(addrlen NULL)");
    CALL(S(getpeername)(fd, SA(a), NULL), "getpeername(addrlen NULL) unconnected");

    send_to(fd, 1, "127.0.0.1", PORT(9));
    show_name(fd);
    close_fd(fd);
}

static void test_sizes(void) {
    section("sendto / recvfrom sizes");
    int r = bound("127.0.0.1", PORT(10));
    int s = bound("127.0.0.1", PORT(11));
    static const size_t sizes[] = {0, 1, 1472, 1473, 65507};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
        send_to(s, sizes[i], "127.0.0.1", PORT(10));
        recv_check(r, sizes[i]);
    }
    send_to(s, 65508, "127.0.0.1", PORT(10));
    recv_none(r);

    section("sendto: bad destinations");
    struct sockaddr_in d = in4("127.0.0.1", PORT(10));
    CALL(S(sendto)(s, tx, 4, 0, CSA(d), 15), "sendto(addrlen 15)");
    CALL(S(sendto)(s, tx, 4, 0, CSA(d), 0), "sendto(addrlen 0) unconnected");
    CALL(S(sendto)(s, tx, 4, 0, NULL, 0), "sendto(NULL, 0) unconnected");
    d.sin_family = AF_INET6;
    CALL(S(sendto)(s, tx, 4, 0, CSA(d), LEN16), "sendto(sin_family AF_INET6)");
    struct sockaddr_in port0 = in4("127.0.0.1", 0);
    CALL(S(sendto)(s, tx, 4, 0, CSA(port0), LEN16), "sendto(127.0.0.1:0)");
    struct sockaddr_in bcast = in4("255.255.255.255", PORT(10));
    CALL(S(sendto)(s, tx, 4, 0, CSA(bcast), LEN16), "sendto(255.255.255.255) without SO_BROADCAST");
    recv_none(r);
    close_fd(r);
    close_fd(s);
}

static void test_peek_trunc(void) {
    section("MSG_PEEK / MSG_TRUNC / short reads");
    int r = bound("127.0.0.1", PORT(12));
    int s = bound("127.0.0.1", PORT(13));
    send_to(s, 100, "127.0.0.1", PORT(12));
    settle(r);
    CALL(S(recv)(r, rx, 1000, MSG_PEEK | MSG_DONTWAIT), "recv(1000, MSG_PEEK)");
    CALL(S(recv)(r, rx, 10, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT), "recv(10, MSG_PEEK|MSG_TRUNC)");
    recv_check(r, 100);
    recv_none(r);

    send_to(s, 100, "127.0.0.1", PORT(12));
    settle(r);
    CALL(S(recv)(r, rx, 10, MSG_TRUNC | MSG_DONTWAIT), "recv(10, MSG_TRUNC)");
    note("payload %s", matches(10));
    recv_none(r);

    send_to(s, 100, "127.0.0.1", PORT(12));
    settle(r);
    struct iovec iov = {.iov_base = rx, .iov_len = 10};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    CALL(S(recvmsg)(r, &m, MSG_DONTWAIT), "recvmsg(10-byte iov)");
    note("msg_flags MSG_TRUNC: %s, other flags: %s", yes(m.msg_flags & MSG_TRUNC), yes(m.msg_flags & ~MSG_TRUNC));
    recv_none(r);

    send_to(s, 100, "127.0.0.1", PORT(12));
    settle(r);
    CALL(S(recv)(r, rx, 10, MSG_DONTWAIT), "recv(10) of a 100-byte datagram");
    note("payload %s", matches(10));
    recv_none(r);

    send_to(s, 5, "127.0.0.1", PORT(12));
    settle(r);
    CALL(S(recv)(r, rx, 0, MSG_DONTWAIT), "recv(len 0) of a 5-byte datagram");
    recv_none(r);

    send_to(s, 5, "127.0.0.1", PORT(12));
    settle(r);
    iov.iov_len = sizeof rx;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_flags = -1;
    CALL(S(recvmsg)(r, &m, MSG_DONTWAIT), "recvmsg(full iov, msg_flags preset to -1)");
    note("msg_flags %#x", (unsigned)m.msg_flags);
    close_fd(r);
    close_fd(s);
}

static void test_ioctl(void) {
    section("FIONREAD / FIONBIO / SO_RCVTIMEO");
    int r = bound("127.0.0.1", PORT(14));
    int s = bound("127.0.0.1", PORT(15));
    int v = -1;
    CALL(S(ioctl)(r, FIONREAD, &v), "ioctl(FIONREAD) empty");
    note("FIONREAD = %d", v);
    send_to(s, 30, "127.0.0.1", PORT(14));
    send_to(s, 70, "127.0.0.1", PORT(14));
    settle(r);
    CALL(S(ioctl)(r, FIONREAD, &v), "ioctl(FIONREAD) with 30 and 70 queued");
    note("FIONREAD = %d", v);
    recv_check(r, 30);
    CALL(S(ioctl)(r, FIONREAD, &v), "ioctl(FIONREAD)");
    note("FIONREAD = %d", v);
    recv_check(r, 70);
    send_to(s, 0, "127.0.0.1", PORT(14));
    settle(r);
    v = -1;
    CALL(S(ioctl)(r, FIONREAD, &v), "ioctl(FIONREAD) with a 0-byte datagram queued");
    note("FIONREAD = %d", v);
    recv_check(r, 0);
    CALL(S(ioctl)(r, 0x12345, &v), "ioctl(0x12345)");

    int on = 1, off = 0;
    CALL(S(ioctl)(r, FIONBIO, &on), "ioctl(FIONBIO, 1)");
    CALL(S(fcntl)(r, F_GETFL), "fcntl(F_GETFL)");
    note("O_NONBLOCK set: %s", yes(g_ret >= 0 && (g_ret & O_NONBLOCK)));
    CALL(S(recv)(r, rx, sizeof rx, 0), "recv(flags 0) non-blocking, empty");
    CALL(S(ioctl)(r, FIONBIO, &off), "ioctl(FIONBIO, 0)");
    CALL(S(fcntl)(r, F_GETFL), "fcntl(F_GETFL)");
    note("O_NONBLOCK set: %s", yes(g_ret >= 0 && (g_ret & O_NONBLOCK)));
    struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
    CALL(S(setsockopt)(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt(SO_RCVTIMEO, 50 ms)");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CALL(S(recv)(r, rx, sizeof rx, 0), "recv(flags 0) blocking, empty, 50 ms timeout");
    note("waited at least 40 ms: %s", yes(elapsed_ms(&t0) >= 40));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CALL(S(recv)(r, rx, sizeof rx, MSG_DONTWAIT), "recv(MSG_DONTWAIT) blocking socket, empty");
    note("returned within 40 ms: %s", yes(elapsed_ms(&t0) < 40));
    close_fd(r);
    close_fd(s);
}

static void test_fcntl(void) {
    section("fcntl");
    int fd = udp();
    CALL(S(fcntl)(fd, F_GETFL), "fcntl(F_GETFL)");
    note("flags %#lx", g_ret);
    CALL(S(fcntl)(fd, F_SETFL, O_NONBLOCK), "fcntl(F_SETFL, O_NONBLOCK)");
    CALL(S(fcntl)(fd, F_GETFL), "fcntl(F_GETFL)");
    note("flags %#lx", g_ret);
    recv_none(fd);
    CALL(S(recv)(fd, rx, sizeof rx, 0), "recv(flags 0) after F_SETFL O_NONBLOCK");
    CALL(S(fcntl)(fd, F_SETFL, 0), "fcntl(F_SETFL, 0)");
    CALL(S(fcntl)(fd, F_GETFL), "fcntl(F_GETFL)");
    note("flags %#lx", g_ret);
    CALL(S(fcntl)(fd, F_GETFD), "fcntl(F_GETFD)");
    CALL(S(fcntl)(fd, F_SETFD, FD_CLOEXEC), "fcntl(F_SETFD, FD_CLOEXEC)");
    CALL(S(fcntl)(fd, F_GETFD), "fcntl(F_GETFD)");
    CALL(S(fcntl)(fd, F_SETFD, 0), "fcntl(F_SETFD, 0)");
    CALL(S(fcntl)(fd, F_GETFD), "fcntl(F_GETFD)");
    CALL(S(fcntl)(fd, 9999), "fcntl(cmd 9999)");
    CALL(S(fcntl)(fd, F_SETFL, O_APPEND), "fcntl(F_SETFL, O_APPEND)");
    CALL(S(fcntl)(fd, F_GETFL), "fcntl(F_GETFL)");
    note("flags %#lx", g_ret);
    close_fd(fd);
    CALL(S(fcntl)(fd, F_GETFL), "fcntl(F_GETFL) after close");
}

static void test_connect_basic(void) {
    section("connect / send");
    int a = bound("127.0.0.1", PORT(20));
    int b = bound("127.0.0.1", PORT(21));
    int c = bound("127.0.0.1", PORT(22));
    struct sockaddr_in pb = in4("127.0.0.1", PORT(21));
    CALL(S(send)(a, tx, 4, 0), "send() unconnected");
    CALL(S(write)(a, tx, 4), "write() unconnected");
    CALL(S(connect)(a, CSA(pb), 15), "connect(%s, addrlen 15)", addr_str(&pb));
    pb.sin_family = AF_INET6;
    CALL(S(connect)(a, CSA(pb), LEN16), "connect(sin_family AF_INET6)");
    pb.sin_family = AF_INET;
    CALL(S(connect)(a, CSA(pb), LEN16), "connect(%s)", addr_str(&pb));
    show_peer(a);
    show_name(a);
    fill(4, 4);
    CALL(S(send)(a, tx, 4, 0), "send(4) connected");
    recv_check(b, 4);
    fill(6, 6);
    CALL(S(write)(a, tx, 6), "write(6) connected");
    recv_check(b, 6);
    send_to(a, 8, "127.0.0.1", PORT(22));
    recv_check(c, 8);
    send_to(b, 9, "127.0.0.1", PORT(20));
    recv_check(a, 9);
    /* A connected socket takes datagrams from its peer only. */
    send_to(c, 10, "127.0.0.1", PORT(20));
    recv_none(a);
    struct sockaddr_in pc = in4("127.0.0.1", PORT(22));
    CALL(S(connect)(a, CSA(pc), LEN16), "connect again (%s)", addr_str(&pc));
    show_peer(a);
    send_to(c, 11, "127.0.0.1", PORT(20));
    recv_check(a, 11);
    struct sockaddr_in unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sin_family = AF_UNSPEC;
    CALL(S(connect)(a, CSA(unspec), sizeof(sa_family_t)), "connect(AF_UNSPEC, addrlen 2)");
    show_peer(a);
    show_name(a);
    CALL(S(send)(a, tx, 4, 0), "send() after disconnect");
    CALL(S(connect)(a, CSA(unspec), LEN16), "connect(AF_UNSPEC) unconnected");
    close_fd(a);
    close_fd(b);
    close_fd(c);
}

static void test_connect_names(void) {
    section("connect: local names");
    struct sockaddr_in peer = in4("127.0.0.1", PORT(21));
    struct sockaddr_in unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sin_family = AF_UNSPEC;
    int u = udp();
    CALL(S(connect)(u, CSA(peer), LEN16), "connect(%s) unbound", addr_str(&peer));
    show_name(u);
    CALL(S(connect)(u, CSA(unspec), LEN16), "connect(AF_UNSPEC)");
    show_name(u);
    close_fd(u);
    int w = bound("0.0.0.0", PORT(24));
    CALL(S(connect)(w, CSA(peer), LEN16), "connect(%s) bound to 0.0.0.0", addr_str(&peer));
    show_name(w);
    CALL(S(connect)(w, CSA(unspec), LEN16), "connect(AF_UNSPEC)");
    show_name(w);
    close_fd(w);
}

static void test_refused(void) {
    section("ICMP port unreachable: ECONNREFUSED and SO_ERROR");
    struct sockaddr_in dead = in4("127.0.0.1", PORT(29));
    int d = udp();
    CALL(S(connect)(d, CSA(dead), LEN16), "connect(%s) nobody there", addr_str(&dead));
    CALL(S(send)(d, tx, 4, 0), "send #1");
    settle(d);
    CALL(S(send)(d, tx, 4, 0), "send #2 with the error pending");
    CALL(S(send)(d, tx, 4, 0), "send #3");
    settle(d);
    int v = get_int(d, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    note("SO_ERROR is %s", errname(v));
    v = get_int(d, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    note("SO_ERROR is %s", errname(v));
    CALL(S(send)(d, tx, 4, 0), "send #4");
    settle(d);
    CALL(S(recv)(d, rx, sizeof rx, MSG_DONTWAIT), "recv(MSG_DONTWAIT)");
    CALL(S(recv)(d, rx, sizeof rx, MSG_DONTWAIT), "recv(MSG_DONTWAIT)");
    close_fd(d);

    /* An unconnected socket is not told (no IP_RECVERR). */
    int n = udp();
    send_to(n, 4, "127.0.0.1", PORT(29));
    send_to(n, 4, "127.0.0.1", PORT(29));
    v = get_int(n, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    note("SO_ERROR is %s", errname(v));
    recv_none(n);
    close_fd(n);
}

static void test_sockopt_errors(void) {
    section("setsockopt / getsockopt: errors");
    int fd = udp();
    int one = 1, v = 0;
    socklen_t len;
    CALL(S(setsockopt)(fd, SOL_SOCKET, SO_ACCEPTCONN, &one, sizeof one), "setsockopt(SO_ACCEPTCONN)");
    get_int(fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
    CALL(S(setsockopt)(fd, SOL_SOCKET, 9999, &one, sizeof one), "setsockopt(SOL_SOCKET, 9999)");
    len = sizeof v;
    CALL(S(getsockopt)(fd, SOL_SOCKET, 9999, &v, &len), "getsockopt(SOL_SOCKET, 9999)");
    CALL(S(setsockopt)(fd, 9999, 1, &one, sizeof one), "setsockopt(level 9999)");
    len = sizeof v;
    CALL(S(getsockopt)(fd, 9999, 1, &v, &len), "getsockopt(level 9999)");
    CALL(S(setsockopt)(fd, IPPROTO_IP, 9999, &one, sizeof one), "setsockopt(IPPROTO_IP, 9999)");
    CALL(S(setsockopt)(fd, SOL_SOCKET, SO_REUSEADDR, &one, 1), "setsockopt(SO_REUSEADDR, optlen 1)");
    CALL(S(setsockopt)(fd, SOL_SOCKET, SO_REUSEADDR, &one, 0), "setsockopt(SO_REUSEADDR, optlen 0)");
    CALL(S(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &v, NULL), "getsockopt(SO_TYPE, optlen NULL)");
    len = (socklen_t)-1;
    CALL(S(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &v, &len), "getsockopt(SO_TYPE, optlen -1)");
    len = 2;
    v = 0x5a5a5a5a;
    CALL(S(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &v, &len), "getsockopt(SO_TYPE, optlen 2)");
    note("optlen %u, value bytes %#x", (unsigned)len, (unsigned)v);
    len = 8;
    long long big = 0x5a5a5a5a5a5a5a5aLL;
    CALL(S(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &big, &len), "getsockopt(SO_TYPE, optlen 8)");
    note("optlen %u", (unsigned)len);

    struct timeval tv = {.tv_sec = 0, .tv_usec = 1000000};
    CALL(S(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt(SO_RCVTIMEO, tv_usec 1000000)");
    CALL(S(setsockopt)(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), "setsockopt(SO_SNDTIMEO, tv_usec 1000000)");
    tv.tv_usec = -1;
    CALL(S(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt(SO_RCVTIMEO, tv_usec -1)");
    tv.tv_usec = 0;
    CALL(S(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv - 1), "setsockopt(SO_RCVTIMEO, optlen 15)");
    tv.tv_sec = 1;
    tv.tv_usec = 500000;
    CALL(S(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt(SO_RCVTIMEO, 1.5 s)");
    memset(&tv, 0, sizeof tv);
    len = sizeof tv;
    CALL(S(getsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len), "getsockopt(SO_RCVTIMEO)");
    note("%ld s %ld us (optlen %u)", (long)tv.tv_sec, (long)tv.tv_usec, (unsigned)len);
    len = sizeof tv;
    CALL(S(getsockopt)(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len), "getsockopt(SO_SNDTIMEO)");
    note("%ld s %ld us (optlen %u)", (long)tv.tv_sec, (long)tv.tv_usec, (unsigned)len);
    close_fd(fd);
}

static void test_sockopt_values(void) {
    section("setsockopt / getsockopt: values");
    int fd = udp();
    get_int(fd, SOL_SOCKET, SO_TYPE, "SO_TYPE");
    get_int(fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
    get_int(fd, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
    get_int(fd, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    get_int(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
    set_int(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 5);
    get_int(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
    get_int(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT");
    get_int(fd, SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST");
    static const int bufs[] = {4096, 0, 1};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i) {
        set_int(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", bufs[i]);
        get_int(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
        set_int(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", bufs[i]);
        get_int(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
    }

    get_int(fd, IPPROTO_IP, IP_TTL, "IP_TTL");
    static const int ttls[] = {1, 255, 0, 256, -1, -2};
    for (size_t i = 0; i < sizeof ttls / sizeof ttls[0]; ++i) {
        set_int(fd, IPPROTO_IP, IP_TTL, "IP_TTL", ttls[i]);
        get_int(fd, IPPROTO_IP, IP_TTL, "IP_TTL");
    }
    unsigned char small = 7;
    CALL(S(setsockopt)(fd, IPPROTO_IP, IP_TTL, &small, 1), "setsockopt(IP_TTL, 7 as one byte)");
    get_int(fd, IPPROTO_IP, IP_TTL, "IP_TTL");
    socklen_t len = 1;
    small = 0;
    CALL(S(getsockopt)(fd, IPPROTO_IP, IP_TTL, &small, &len), "getsockopt(IP_TTL, optlen 1)");
    note("byte %u optlen %u", small, (unsigned)len);

    get_int(fd, IPPROTO_IP, IP_TOS, "IP_TOS");
    set_int(fd, IPPROTO_IP, IP_TOS, "IP_TOS", 0x28);
    get_int(fd, IPPROTO_IP, IP_TOS, "IP_TOS");
    set_int(fd, IPPROTO_IP, IP_TOS, "IP_TOS", 0x2b);
    get_int(fd, IPPROTO_IP, IP_TOS, "IP_TOS");
    close_fd(fd);
}

static void test_bad_fds(void) {
    section("bad fds");
    /* -1, a number no process has open, a number in pollux's range (2^30 up) never opened. */
    static const int bad[] = {-1, 12345678, (1 << 30) + 4321};
    struct sockaddr_in a = in4("127.0.0.1", PORT(30));
    int v = 0;
    socklen_t len = sizeof v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        int fd = bad[i];
        printf("-- fd %d\n", fd);
        CALL(S(send)(fd, tx, 1, 0), "send");
        CALL(S(sendto)(fd, tx, 1, 0, CSA(a), LEN16), "sendto");
        CALL(S(recv)(fd, rx, 1, MSG_DONTWAIT), "recv");
        CALL(S(read)(fd, rx, 1), "read");
        CALL(S(write)(fd, tx, 1), "write");
        CALL(S(bind)(fd, CSA(a), LEN16), "bind");
        CALL(S(connect)(fd, CSA(a), LEN16), "connect");
        CALL(S(getsockname)(fd, SA(a), &len), "getsockname");
        CALL(S(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &v, &len), "getsockopt");
        CALL(S(setsockopt)(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), "setsockopt");
        CALL(S(shutdown)(fd, SHUT_RDWR), "shutdown");
        CALL(S(fcntl)(fd, F_GETFL), "fcntl(F_GETFL)");
        CALL(S(ioctl)(fd, FIONREAD, &v), "ioctl(FIONREAD)");
        CALL(S(close)(fd), "close");
    }
    int fd = udp();
    close_fd(fd);
    CALL(S(close)(fd), "close again");
    CALL(S(send)(fd, tx, 1, 0), "send after close");
}

static void test_shutdown(void) {
    section("shutdown");
    int a = bound("127.0.0.1", PORT(31));
    int b = bound("127.0.0.1", PORT(32));
    CALL(S(shutdown)(a, 7), "shutdown(how 7)");
    CALL(S(shutdown)(a, -1), "shutdown(how -1)");
    CALL(S(shutdown)(a, SHUT_RD), "shutdown(SHUT_RD) unconnected");
    struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
    CALL(S(setsockopt)(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt(SO_RCVTIMEO, 50 ms)");
    CALL(S(recv)(a, rx, sizeof rx, 0), "recv(flags 0) after SHUT_RD, empty");
    CALL(S(recv)(a, rx, sizeof rx, MSG_DONTWAIT), "recv(MSG_DONTWAIT) after SHUT_RD, empty");
    send_to(b, 12, "127.0.0.1", PORT(31));
    recv_check(a, 12);
    CALL(S(shutdown)(a, SHUT_WR), "shutdown(SHUT_WR) unconnected");
    send_to(a, 13, "127.0.0.1", PORT(32));
    recv_none(b);
    close_fd(a);

    int c = bound("127.0.0.1", PORT(33));
    struct sockaddr_in pb = in4("127.0.0.1", PORT(32));
    CALL(S(connect)(c, CSA(pb), LEN16), "connect(%s)", addr_str(&pb));
    CALL(S(shutdown)(c, SHUT_WR), "shutdown(SHUT_WR) connected");
    CALL(S(send)(c, tx, 4, MSG_NOSIGNAL), "send(MSG_NOSIGNAL) after SHUT_WR");
    CALL(S(write)(c, tx, 4), "write() after SHUT_WR (SIGPIPE ignored)");
    send_to(c, 4, "127.0.0.1", PORT(32));
    send_to(b, 14, "127.0.0.1", PORT(33));
    recv_check(c, 14);
    CALL(S(setsockopt)(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt(SO_RCVTIMEO, 50 ms)");
    CALL(S(shutdown)(c, SHUT_RD), "shutdown(SHUT_RD) connected");
    send_to(b, 15, "127.0.0.1", PORT(33));
    recv_check(c, 15);
    CALL(S(recv)(c, rx, sizeof rx, MSG_DONTWAIT), "recv(MSG_DONTWAIT) after SHUT_RD, empty");
    CALL(S(recv)(c, rx, sizeof rx, 0), "recv(flags 0) after SHUT_RD, empty");
    CALL(S(shutdown)(c, SHUT_RDWR), "shutdown(SHUT_RDWR) again");
    CALL(S(connect)(c, CSA(pb), LEN16), "connect(%s) after shutdown", addr_str(&pb));
    CALL(S(send)(c, tx, 4, MSG_NOSIGNAL), "send(MSG_NOSIGNAL) after reconnect");
    close_fd(b);
    close_fd(c);
}

static void test_vectors(void) {
    section("readv / writev / sendmsg / recvmsg");
    int r = bound("127.0.0.1", PORT(40));
    int s = bound("127.0.0.1", PORT(41));
    struct sockaddr_in pr = in4("127.0.0.1", PORT(40));
    CALL(S(connect)(s, CSA(pr), LEN16), "connect(%s)", addr_str(&pr));
    fill(15, 15);
    struct iovec out[3] = {{tx, 3}, {tx + 3, 5}, {tx + 8, 7}};
    CALL(S(writev)(s, out, 3), "writev(3 + 5 + 7)");
    settle(r);
    memset(rx, 0, sizeof rx);
    struct iovec in[3] = {{rx, 4}, {rx + 4, 4}, {rx + 8, 10}};
    CALL(S(readv)(r, in, 3), "readv(4 + 4 + 10)");
    note("payload %s", matches(15));
    /* Out-of-range counts: a large zeroed array and a count the compiler cannot see, so
     * that glibc's access attributes do not flag the deliberate misuse. */
    static struct iovec many[1025];
    volatile int minus_one = -1;
    CALL(S(writev)(s, many, minus_one), "writev(iovcnt -1)");
    CALL(S(writev)(s, many, 1025), "writev(iovcnt 1025)");
    CALL(S(writev)(s, out, 0), "writev(iovcnt 0)");
    settle(r);
    CALL(S(readv)(r, in, 0), "readv(iovcnt 0) of a 0-byte datagram");
    recv_none(r);

    struct sockaddr_in to = in4("127.0.0.1", PORT(42));
    int t = bound("127.0.0.1", PORT(42));
    struct msghdr m;
    memset(&m, 0, sizeof m);
    fill(15, 16);
    m.msg_name = &to;
    m.msg_namelen = LEN16;
    m.msg_iov = out;
    m.msg_iovlen = 2;
    CALL(S(sendmsg)(s, &m, 0), "sendmsg(to %s, 3 + 5) connected elsewhere", addr_str(&to));
    m.msg_namelen = 15;
    CALL(S(sendmsg)(s, &m, 0), "sendmsg(msg_namelen 15)");
    int u = udp();
    m.msg_name = NULL;
    m.msg_namelen = 0;
    CALL(S(sendmsg)(u, &m, 0), "sendmsg(no name) unconnected");
    close_fd(u);

    struct sockaddr_in from;
    settle(t);
    memset(&from, 0xa5, sizeof from);
    memset(rx, 0, sizeof rx);
    struct iovec one = {rx, sizeof rx};
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = LEN16;
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    CALL(S(recvmsg)(t, &m, MSG_DONTWAIT), "recvmsg(msg_namelen 16)");
    note("from %s namelen %u flags %#x payload %s", addr_str(&from), (unsigned)m.msg_namelen,
         (unsigned)m.msg_flags, matches(8));

    fill(15, 17);
    CALL(S(send)(s, tx, 9, 0), "send(9)");
    settle(r);
    memset(&from, 0xa5, sizeof from);
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = 4;
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    CALL(S(recvmsg)(r, &m, MSG_DONTWAIT), "recvmsg(msg_namelen 4)");
    note("namelen %u family copied: %s, port bytes untouched: %s", (unsigned)m.msg_namelen,
         yes(from.sin_family == AF_INET), yes(((unsigned char *)&from)[4] == 0xa5));

    CALL(S(send)(s, tx, 9, 0), "send(9)");
    settle(r);
    memset(&m, 0, sizeof m);
    m.msg_namelen = 99;
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    m.msg_controllen = 0;
    CALL(S(recvmsg)(r, &m, MSG_DONTWAIT), "recvmsg(msg_name NULL, msg_namelen 99)");
    note("namelen %u controllen %zu", (unsigned)m.msg_namelen, (size_t)m.msg_controllen);

    memset(&m, 0, sizeof m);
    m.msg_iov = out;
    m.msg_iovlen = 0;
    CALL(S(sendmsg)(s, &m, 0), "sendmsg(msg_iovlen 0)");
    settle(r);
    CALL(S(recv)(r, rx, sizeof rx, MSG_DONTWAIT), "recv");
    close_fd(r);
    close_fd(s);
    close_fd(t);
}

static void test_bad_pointers(void) {
    section("bad pointers");
    int r = bound("127.0.0.1", PORT(50));
    int s = bound("127.0.0.1", PORT(51));
    struct sockaddr_in pr = in4("127.0.0.1", PORT(50));
    CALL(S(sendto)(s, NULL, 10, 0, CSA(pr), LEN16), "sendto(NULL buffer, 10)");
    CALL(S(sendto)(s, NULL, 0, 0, CSA(pr), LEN16), "sendto(NULL buffer, 0)");
    recv_check(r, 0);
    struct iovec bad[2] = {{tx, 3}, {NULL, 5}};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &pr;
    m.msg_namelen = LEN16;
    m.msg_iov = bad;
    m.msg_iovlen = 2;
    CALL(S(sendmsg)(s, &m, 0), "sendmsg(second iov_base NULL)");
    recv_none(r);

    send_to(s, 10, "127.0.0.1", PORT(50));
    settle(r);
    CALL(S(recv)(r, NULL, 10, MSG_DONTWAIT), "recv(NULL buffer, 10) with 10 bytes queued");
    recv_none(r);
    send_to(s, 10, "127.0.0.1", PORT(50));
    settle(r);
    struct sockaddr_in from;
    CALL(S(recvfrom)(r, rx, sizeof rx, MSG_DONTWAIT, SA(from), NULL), "recvfrom(addr, addrlen NULL)");
    recv_none(r);
    send_to(s, 10, "127.0.0.1", PORT(50));
    settle(r);
    socklen_t len = LEN16;
    CALL(S(recvfrom)(r, rx, sizeof rx, MSG_DONTWAIT, NULL, &len), "recvfrom(addr NULL, addrlen 16)");
    note("len %u", (unsigned)len);

    socklen_t four = 4;
    CALL(S(getsockopt)(r, SOL_SOCKET, SO_TYPE, NULL, &four), "getsockopt(SO_TYPE, optval NULL)");
    CALL(S(setsockopt)(r, SOL_SOCKET, SO_REUSEADDR, NULL, 4), "setsockopt(SO_REUSEADDR, optval NULL)");
    CALL(S(getsockname)(r, NULL, &four), "getsockname(addr NULL)");
    CALL(S(ioctl)(r, FIONREAD, NULL), "ioctl(FIONREAD, NULL)");
    close_fd(r);
    close_fd(s);
}

int main(int argc, char **argv) {
#ifdef PX_POLLUX
    if (S(init)(argc, argv) < 0) return 1;
#else
    (void)argc;
    (void)argv;
    int probe = socket(AF_INET, SOCK_DGRAM, 0);
    if (probe < 0) {
        perror("udp_semantics: socket(AF_INET, SOCK_DGRAM)");
        return 77;
    }
    close(probe);
#endif
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_socket();
    test_bind_conflicts();
    test_bind_args();
    test_names();
    test_sizes();
    test_peek_trunc();
    test_ioctl();
    test_fcntl();
    test_connect_basic();
    test_connect_names();
    test_refused();
    test_sockopt_errors();
    test_sockopt_values();
    test_bad_fds();
    test_shutdown();
    test_vectors();
    test_bad_pointers();
    printf("== end\n");

#ifdef PX_POLLUX
    S(fini)();
#endif
    return 0;
}
