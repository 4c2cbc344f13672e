/* tcp_semantics: TCP socket semantics by difference (DESIGN.md 6.5), built and compared
 * like udp_semantics.c (read its header for the rules): the same script of AF_INET /
 * SOCK_STREAM calls over loopback, against the kernel and against pollux, one line per
 * call; compare.sh diffs the logs, the kernel's being the reference.
 *
 * What it covers: the IPPROTO_TCP and SOL_SOCKET options a TCP socket has (defaults,
 * ranges, lengths), the calls out of order (send, recv, accept, listen, connect,
 * shutdown on sockets in the wrong state), a connection's life (data, MSG_PEEK,
 * MSG_WAITALL, half-close, orderly close), a refused connect and connecting again, an
 * abortive close with SO_LINGER 0 and what the peer's calls return after the RST, and
 * connect(AF_UNSPEC).
 *
 * Left out on purpose: values that follow the loopback MTU (TCP_MAXSEG once connected:
 * Linux's lo has a 64 KiB MTU, pollux's loopback the port's) and the default congestion
 * control (a sysctl). Every call that waits is a blocking call bounded by SO_RCVTIMEO, so
 * both builds see the peer's segments before they print (Linux delivers loopback
 * segments inside the sender's call; pollux's blocking calls run the stack until then).
 * Ports are 20200..20299 (udp_semantics and epoll_semantics take lower ones).
 *
 * Exit: 0 after the script, 1 if px_init fails, 77 (skipped) when the kernel build cannot
 * create a TCP socket. */
#define _GNU_SOURCE
#include "sem_names.h"
#include "sem_log.h"

#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>

#define SA(x) ((struct sockaddr *)&(x))
#define CSA(x) ((const struct sockaddr *)&(x))
#define LEN16 ((socklen_t)sizeof(struct sockaddr_in))
#define PORT(n) (20200 + (n))

static char buf[4096];

static void close_fd(int fd) { CALL(S(close)(fd), "close"); }

static int tcp_socket(void) { return (int)OPEN(S(socket)(AF_INET, SOCK_STREAM, 0), "socket(AF_INET, SOCK_STREAM)"); }

/* Every wait in the script is bounded: a receive that should find something finds it at
 * once in both builds, and a mistake costs a second instead of a hang. */
static void bound_waits(int fd) {
    struct timeval tv = {1, 0};
    S(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    S(setsockopt)(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int listener(int port) {
    int l = tcp_socket();
    int one = 1;
    S(setsockopt)(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = in4("127.0.0.1", port);
    CALL(S(bind)(l, CSA(a), LEN16), "bind(%s)", addr_str(&a));
    CALL(S(listen)(l, 8), "listen(8)");
    bound_waits(l);
    return l;
}

/* A connected pair through `l`: *client, *server. */
static void connect_pair(int l, int port, int *client, int *server) {
    int c = tcp_socket();
    bound_waits(c);
    struct sockaddr_in a = in4("127.0.0.1", port);
    CALL(S(connect)(c, CSA(a), LEN16), "connect(%s)", addr_str(&a));
    struct sockaddr_in peer;
    socklen_t len = LEN16;
    int s = (int)OPEN(S(accept)(l, SA(peer), &len), "accept");
    if (s >= 0) note("peer %s len %u", addr_str(&peer), (unsigned)len);
    bound_waits(s);
    *client = c;
    *server = s;
}

static void get_int(int fd, int level, int name, const char *what) {
    int v = -12345;
    socklen_t len = sizeof v;
    if (CALL(S(getsockopt)(fd, level, name, &v, &len), "getsockopt(%s)", what) == 0) note("value %d len %u", v, (unsigned)len);
}

static void set_int(int fd, int level, int name, int v, const char *what) {
    CALL(S(setsockopt)(fd, level, name, &v, sizeof v), "setsockopt(%s, %d)", what, v);
}

static void get_congestion(int fd) {
    char name[32];
    memset(name, 'x', sizeof name);
    socklen_t len = sizeof name;
    if (CALL(S(getsockopt)(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), "getsockopt(TCP_CONGESTION, 32)") == 0) {
        name[sizeof name - 1] = 0;
        note("name \"%s\" len %u", name, (unsigned)len);
    }
}

static void get_linger(int fd) {
    struct linger l = {-1, -1};
    socklen_t len = sizeof l;
    if (CALL(S(getsockopt)(fd, SOL_SOCKET, SO_LINGER, &l, &len), "getsockopt(SO_LINGER)") == 0)
        note("l_onoff %d l_linger %d len %u", l.l_onoff, l.l_linger, (unsigned)len);
}

static void test_options(void) {
    section("IPPROTO_TCP and SOL_SOCKET options of a new socket");
    int s = tcp_socket();
    get_int(s, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
    get_int(s, IPPROTO_TCP, TCP_CORK, "TCP_CORK");
    get_int(s, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
    get_int(s, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
    get_int(s, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL");
    get_int(s, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
    get_int(s, IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT");
    get_int(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
    get_int(s, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
    get_int(s, SOL_SOCKET, SO_TYPE, "SO_TYPE");
    get_int(s, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
    get_linger(s);

    section("option ranges and lengths");
    set_int(s, IPPROTO_TCP, TCP_NODELAY, 7, "TCP_NODELAY");
    get_int(s, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
    set_int(s, IPPROTO_TCP, TCP_CORK, 1, "TCP_CORK");
    get_int(s, IPPROTO_TCP, TCP_CORK, "TCP_CORK");
    set_int(s, IPPROTO_TCP, TCP_CORK, 0, "TCP_CORK");
    set_int(s, IPPROTO_TCP, TCP_MAXSEG, 87, "TCP_MAXSEG");
    set_int(s, IPPROTO_TCP, TCP_MAXSEG, 88, "TCP_MAXSEG");
    get_int(s, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
    set_int(s, IPPROTO_TCP, TCP_MAXSEG, 32768, "TCP_MAXSEG");
    set_int(s, IPPROTO_TCP, TCP_MAXSEG, 1200, "TCP_MAXSEG");
    get_int(s, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
    set_int(s, IPPROTO_TCP, TCP_MAXSEG, 0, "TCP_MAXSEG");
    get_int(s, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
    set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 0, "TCP_KEEPIDLE");
    set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 32768, "TCP_KEEPIDLE");
    set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 32767, "TCP_KEEPIDLE");
    get_int(s, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
    set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, 0, "TCP_KEEPINTVL");
    set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, 5, "TCP_KEEPINTVL");
    get_int(s, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL");
    set_int(s, IPPROTO_TCP, TCP_KEEPCNT, 128, "TCP_KEEPCNT");
    set_int(s, IPPROTO_TCP, TCP_KEEPCNT, 127, "TCP_KEEPCNT");
    get_int(s, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
    set_int(s, IPPROTO_TCP, TCP_SYNCNT, 0, "TCP_SYNCNT");
    set_int(s, IPPROTO_TCP, TCP_SYNCNT, 128, "TCP_SYNCNT");
    set_int(s, IPPROTO_TCP, TCP_SYNCNT, 3, "TCP_SYNCNT");
    get_int(s, IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT");
    set_int(s, SOL_SOCKET, SO_KEEPALIVE, 9, "SO_KEEPALIVE");
    get_int(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
    short two = 1;
    CALL(S(setsockopt)(s, IPPROTO_TCP, TCP_NODELAY, &two, sizeof two), "setsockopt(TCP_NODELAY, optlen 2)");
    CALL(S(setsockopt)(s, IPPROTO_TCP, TCP_KEEPIDLE, &two, sizeof two), "setsockopt(TCP_KEEPIDLE, optlen 2)");
    int v = -1;
    socklen_t len = 2;
    if (CALL(S(getsockopt)(s, IPPROTO_TCP, TCP_KEEPCNT, &v, &len), "getsockopt(TCP_KEEPCNT, optlen 2)") == 0)
        note("value %d len %u", v & 0xffff, (unsigned)len);
    CALL(S(setsockopt)(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), "setsockopt(TCP_CONGESTION, \"reno\" unterminated)");
    get_congestion(s);
    CALL(S(setsockopt)(s, IPPROTO_TCP, TCP_CONGESTION, "cubic", 6), "setsockopt(TCP_CONGESTION, \"cubic\")");
    get_congestion(s);
    CALL(S(setsockopt)(s, IPPROTO_TCP, TCP_CONGESTION, "no-such-cc", 11), "setsockopt(TCP_CONGESTION, \"no-such-cc\")");
    CALL(S(setsockopt)(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 0), "setsockopt(TCP_CONGESTION, optlen 0)");
    get_congestion(s);
    struct linger l = {1, 5};
    CALL(S(setsockopt)(s, SOL_SOCKET, SO_LINGER, &l, 4), "setsockopt(SO_LINGER, optlen 4)");
    CALL(S(setsockopt)(s, SOL_SOCKET, SO_LINGER, &l, sizeof l), "setsockopt(SO_LINGER, {1, 5})");
    get_linger(s);
    l.l_onoff = 0;
    l.l_linger = 7;
    CALL(S(setsockopt)(s, SOL_SOCKET, SO_LINGER, &l, sizeof l), "setsockopt(SO_LINGER, {0, 7})");
    get_linger(s);
    close_fd(s);
}

static void test_out_of_order(void) {
    section("calls on a socket in the wrong state");
    int s = tcp_socket();
    bound_waits(s);
    char c = 'x';
    CALL(S(send)(s, &c, 1, MSG_NOSIGNAL), "send on a new socket");
    CALL(S(recv)(s, buf, sizeof buf, 0), "recv on a new socket");
    CALL(S(shutdown)(s, SHUT_WR), "shutdown(SHUT_WR) on a new socket");
    struct sockaddr_in a;
    socklen_t len = LEN16;
    CALL(S(getpeername)(s, SA(a), &len), "getpeername on a new socket");
    CALL(S(accept)(s, NULL, NULL), "accept on a socket that does not listen");
    close_fd(s);

    int l = listener(PORT(1));
    struct sockaddr_in to = in4("127.0.0.1", PORT(1));
    CALL(S(connect)(l, CSA(to), LEN16), "connect on a listener");
    CALL(S(send)(l, &c, 1, MSG_NOSIGNAL), "send on a listener");
    CALL(S(recv)(l, buf, sizeof buf, 0), "recv on a listener");
    get_int(l, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
    int client, server;
    connect_pair(l, PORT(1), &client, &server);
    CALL(S(connect)(client, CSA(to), LEN16), "connect again when connected");
    CALL(S(listen)(client, 8), "listen on a connected socket");
    CALL(S(recv)(client, buf, sizeof buf, MSG_DONTWAIT), "recv(MSG_DONTWAIT) with nothing there");
    CALL(S(shutdown)(client, 7), "shutdown(7)");
    close_fd(server);
    close_fd(client);
    close_fd(l);
}

static void test_conversation(void) {
    section("a connection: data, peek, half-close, orderly close");
    int l = listener(PORT(2));
    int c, s;
    connect_pair(l, PORT(2), &c, &s);
    struct sockaddr_in a;
    socklen_t len = LEN16;
    if (CALL(S(getpeername)(s, SA(a), &len), "getpeername(server side)") == 0) note("%s", addr_str(&a));
    len = LEN16;
    if (CALL(S(getsockname)(c, SA(a), &len), "getsockname(client side)") == 0) note("%s", addr_str(&a));
    CALL(S(send)(c, "hello, ", 7, 0), "send 7");
    CALL(S(send)(c, "world", 5, 0), "send 5");
    int n = 0;
    CALL(S(ioctl)(s, FIONREAD, &n), "ioctl(FIONREAD)");
    note("%d bytes", n);
    memset(buf, 0, sizeof buf);
    CALL(S(recv)(s, buf, 5, MSG_PEEK), "recv(5, MSG_PEEK)");
    note("\"%.5s\"", buf);
    memset(buf, 0, sizeof buf);
    CALL(S(recv)(s, buf, sizeof buf, 0), "recv(4096)");
    note("\"%s\"", buf);
    CALL(S(shutdown)(c, SHUT_WR), "shutdown(client, SHUT_WR)");
    CALL(S(send)(c, "x", 1, MSG_NOSIGNAL), "send after SHUT_WR");
    CALL(S(recv)(s, buf, sizeof buf, 0), "recv at end of stream");
    CALL(S(recv)(s, buf, sizeof buf, 0), "recv at end of stream, again");
    CALL(S(send)(s, "reply", 5, 0), "send from the half-closed server side");
    memset(buf, 0, sizeof buf);
    CALL(S(recv)(c, buf, sizeof buf, 0), "recv on the client after its SHUT_WR");
    note("\"%s\"", buf);
    CALL(S(shutdown)(s, SHUT_WR), "shutdown(server, SHUT_WR)");
    CALL(S(recv)(c, buf, sizeof buf, 0), "recv at end of stream (client)");
    close_fd(s);
    close_fd(c);

    section("MSG_WAITALL ends at end of stream with what came");
    connect_pair(l, PORT(2), &c, &s);
    CALL(S(send)(c, "0123456789", 10, 0), "send 10");
    CALL(S(shutdown)(c, SHUT_WR), "shutdown(client, SHUT_WR)");
    memset(buf, 0, sizeof buf);
    CALL(S(recv)(s, buf, 20, MSG_WAITALL), "recv(20, MSG_WAITALL)");
    note("\"%s\"", buf);
    close_fd(s);
    close_fd(c);
    close_fd(l);
}

/* Kernel build: waits until `fd` polls for `events` (at most 1 s); pollux completes loopback
 * exchanges within the call that starts them, so its build does not wait. */
static void settle(int fd, short events) {
#ifdef PX_POLLUX
    (void)fd;
    (void)events;
#else
    struct pollfd p = {.fd = fd, .events = events};
    poll(&p, 1, 1000);
#endif
}

static void test_nonblocking_connect(void) {
    section("a non-blocking connect, then connect again");
    int l = listener(PORT(5));
    int c = (int)OPEN(S(socket)(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), "socket(SOCK_STREAM | SOCK_NONBLOCK)");
    struct sockaddr_in a = in4("127.0.0.1", PORT(5));
    CALL(S(connect)(c, CSA(a), LEN16), "connect(%s)", addr_str(&a));
    settle(c, POLLOUT);
    CALL(S(connect)(c, CSA(a), LEN16), "connect again once connected");
    CALL(S(connect)(c, CSA(a), LEN16), "and again");
    get_int(c, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    int s = (int)OPEN(S(accept)(l, NULL, NULL), "accept");
    close_fd(s);
    close_fd(c);
    close_fd(l);

    c = (int)OPEN(S(socket)(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), "socket(SOCK_STREAM | SOCK_NONBLOCK)");
    struct sockaddr_in nobody = in4("127.0.0.1", PORT(6));
    CALL(S(connect)(c, CSA(nobody), LEN16), "connect(%s) with no listener", addr_str(&nobody));
    settle(c, POLLOUT);
    get_int(c, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    get_int(c, SOL_SOCKET, SO_ERROR, "SO_ERROR again");
    CALL(S(recv)(c, buf, sizeof buf, 0), "recv after the refusal");
    close_fd(c);
}

static void test_refused(void) {
    section("a refused connect, and connecting again");
    int c = tcp_socket();
    bound_waits(c);
    struct sockaddr_in nobody = in4("127.0.0.1", PORT(3));
    CALL(S(connect)(c, CSA(nobody), LEN16), "connect(%s) with no listener", addr_str(&nobody));
    get_int(c, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    CALL(S(recv)(c, buf, sizeof buf, 0), "recv after the refusal");
    CALL(S(send)(c, "x", 1, MSG_NOSIGNAL), "send after the refusal");
    socklen_t len = LEN16;
    struct sockaddr_in a;
    CALL(S(getpeername)(c, SA(a), &len), "getpeername after the refusal");
    int l = listener(PORT(3));
    CALL(S(connect)(c, CSA(nobody), LEN16), "connect again, now to a listener");
    int s = (int)OPEN(S(accept)(l, NULL, NULL), "accept");
    close_fd(s);
    close_fd(c);
    close_fd(l);
}

static void test_abort(void) {
    section("SO_LINGER 0: close resets, and what the peer sees");
    int l = listener(PORT(4));
    int c, s;
    connect_pair(l, PORT(4), &c, &s);
    struct linger zero = {1, 0};
    CALL(S(setsockopt)(s, SOL_SOCKET, SO_LINGER, &zero, sizeof zero), "setsockopt(SO_LINGER, {1, 0})");
    close_fd(s);
    CALL(S(recv)(c, buf, sizeof buf, 0), "recv after the peer's RST");
    CALL(S(recv)(c, buf, sizeof buf, 0), "recv again");
    get_int(c, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    CALL(S(send)(c, "x", 1, MSG_NOSIGNAL), "send after the RST");
    socklen_t len = LEN16;
    struct sockaddr_in a;
    CALL(S(getpeername)(c, SA(a), &len), "getpeername after the RST");
    CALL(S(shutdown)(c, SHUT_RDWR), "shutdown(SHUT_RDWR) after the RST");
    close_fd(c);

    section("connect(AF_UNSPEC) resets the connection and leaves the socket unconnected");
    connect_pair(l, PORT(4), &c, &s);
    struct sockaddr unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sa_family = AF_UNSPEC;
    CALL(S(connect)(c, &unspec, sizeof unspec), "connect(AF_UNSPEC)");
    CALL(S(recv)(s, buf, sizeof buf, 0), "recv on the peer");
    len = LEN16;
    CALL(S(getpeername)(c, SA(a), &len), "getpeername after the disconnect");
    CALL(S(send)(c, "x", 1, MSG_NOSIGNAL), "send after the disconnect");
    close_fd(s);
    close_fd(c);
    close_fd(l);
}

int main(int argc, char **argv) {
#ifdef PX_POLLUX
    if (S(init)(argc, argv) < 0) return 1;
#else
    (void)argc;
    (void)argv;
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    if (probe < 0) {
        perror("tcp_semantics: socket(AF_INET, SOCK_STREAM)");
        return 77;
    }
    close(probe);
#endif
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_options();
    test_out_of_order();
    test_conversation();
    test_refused();
    test_nonblocking_connect();
    test_abort();
    printf("== end\n");

#ifdef PX_POLLUX
    S(fini)();
#endif
    return 0;
}
