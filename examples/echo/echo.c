/* echo: a TCP and UDP echo server (RFC 862) on one port, on pollux or on the kernel.
 *
 *   build/examples/echo --no-pci --vdev=net_tap0,iface=pxt0 -- --ip 198.18.0.2/24 [--echo-port 7]
 *                       [--inline | --threads N]
 *   build/examples/echo-kernel -- --ip 127.0.0.1/8 --echo-port 7007     (the same source on Linux sockets)
 *
 * On pollux the stack answers ARP and ping by itself; on top of it this program echoes on
 * port 7 unless --echo-port says otherwise (--port is pollux's: the DPDK port id). Every
 * datagram goes back to its sender unchanged; every byte a TCP connection sends comes
 * back on it, and the connection closes once the peer has closed its side and everything
 * it sent went back.
 *
 * One epoll loop (examples/common/app_net.h), level-triggered: a socket that still has
 * work after its turn is reported again by the next wait, so each turn can be bounded
 * (ECHO_TURN_ROUNDS) and one busy peer cannot starve the others. A connection with
 * unsent echo waits for EPOLLOUT only and reads nothing more until it is sent, so a peer
 * that sends without reading is held back by TCP's flow control, not by our memory.
 *
 * Modes: --inline (the default) runs the loop on the polling lcore, between pollux's poll
 * rounds. --threads N runs N loops on N application threads (pollux's threaded mode: the
 * main thread polls, the threads call the stack): the UDP socket and the listener are
 * opened once and every thread's epoll watches both with EPOLLEXCLUSIVE, so a datagram or
 * a connection wakes one thread; a connection stays with the thread that accepted it.
 * Written in C against the public headers only, as a user's program would be. */
#include "app_net.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_DEFAULT_PORT 7 /* RFC 862 */
/* Larger than any UDP payload (65,535 - 20 - 8 = 65,507), so no datagram is truncated. */
#define ECHO_BUFFER_SIZE 65536
#define TCP_BACKLOG 128
/* Connections served at once; more are accepted and closed at once (and counted). */
#define TCP_MAX_CONNECTIONS 1024
/* What one connection may have in flight through the server. 1024 x 16 KiB = 16 MiB. */
#define TCP_CONNECTION_BUFFER_SIZE 16384
/* Receive/send rounds (or datagrams) one socket gets per readiness report. */
#define ECHO_TURN_ROUNDS 16
#define ECHO_EVENTS 64
/* epoll_event.data.u64 of the two server sockets; a connection's is its slot index. */
#define TAG_UDP ((uint64_t)1 << 32)
#define TAG_LISTENER (((uint64_t)1 << 32) + 1)

struct udp_echo_stats {
    unsigned long long echoed;       /* datagrams sent back whole */
    unsigned long long bytes;        /* their payload bytes */
    unsigned long long recv_errors;  /* recvfrom failed other than EAGAIN */
    unsigned long long send_dropped; /* sendto: EAGAIN/ENOBUFS, a full queue: the echo is lost */
    unsigned long long send_errors;  /* sendto: any other failure, or a short send */
    unsigned long long close_errors; /* close failed */
};

struct tcp_echo_stats {
    unsigned long long accepted;      /* connections taken into the table */
    unsigned long long refused;       /* accepted while the table was full, closed at once */
    unsigned long long completed;     /* closed after the peer's FIN, every byte echoed */
    unsigned long long bytes;         /* bytes sent back */
    unsigned long long accept_errors; /* accept4 failed other than EAGAIN */
    unsigned long long conn_errors;   /* recv/send/epoll_ctl failed (ECONNRESET, ETIMEDOUT, ...) */
    unsigned long long close_errors;  /* close failed */
};

/* One accepted connection. buffer[sent..length) is what was received and not yet sent
 * back; while it is not empty, nothing more is read. */
struct tcp_connection {
    int fd; /* -1: a free slot */
    bool waiting_out; /* registered for EPOLLOUT (unsent echo) rather than EPOLLIN */
    size_t length;
    size_t sent;
    unsigned char buffer[TCP_CONNECTION_BUFFER_SIZE];
};

struct echo_server {
    int port;
    bool shared_sockets; /* --threads: udp_fd and tcp_fd belong to every thread */
    int epoll_fd;
    int udp_fd;
    int tcp_fd; /* the listener */
    struct udp_echo_stats udp;
    struct tcp_echo_stats tcp;
    size_t tcp_open;           /* slots in use in tcp_connections */
    size_t free_slots[TCP_MAX_CONNECTIONS]; /* a stack of the free slots' indices */
    size_t free_count;
    unsigned char buffer[ECHO_BUFFER_SIZE];
    struct tcp_connection tcp_connections[TCP_MAX_CONNECTIONS];
};

static int parse_port(const char *text, int *port) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 65535) return -1;
    *port = (int)value;
    return 0;
}

/* Parses the program's own arguments (those left after pollux's options). Returns 0 to
 * run, 1 after --help, -1 on a bad argument (reported on stderr). */
static int parse_args(int argc, char **argv, int *port, int *threads) {
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: echo [EAL args] -- --ip ADDR/LEN [pollux options] [--echo-port N] [--inline | --threads N]\n");
            return 1;
        }
        if (strcmp(argv[i], "--inline") == 0) {
            *threads = 0;
            continue;
        }
        if (strcmp(argv[i], "--threads") == 0) {
            char *end = NULL;
            long n = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || end == argv[i + 1] || *end != '\0' || n < 1 || n > 64) {
                fprintf(stderr, "echo: --threads needs a count in 1..64\n");
                return -1;
            }
            *threads = (int)n;
            ++i;
            continue;
        }
        if (strcmp(argv[i], "--echo-port") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "echo: --echo-port needs a value\n");
                return -1;
            }
            if (parse_port(argv[++i], port) < 0) {
                fprintf(stderr, "echo: --echo-port %s: not a port in 1..65535\n", argv[i]);
                return -1;
            }
            continue;
        }
        fprintf(stderr, "echo: unknown argument %s\n", argv[i]);
        return -1;
    }
    return 0;
}

static int watch(struct echo_server *s, int op, int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = tag;
    return net_epoll_ctl(s->epoll_fd, op, fd, &ev);
}

static struct sockaddr_in bind_address(int port) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = net_local_address();
    addr.sin_port = htons((unsigned short)port);
    return addr;
}

/* A non-blocking UDP socket bound to the port, or -1 (reported on stderr). */
static int udp_echo_open(int port) {
    int fd = net_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "echo: socket(SOCK_DGRAM): %s\n", strerror(errno));
        return -1;
    }
    struct sockaddr_in addr = bind_address(port);
    if (net_bind(fd, (const struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "echo: bind(udp port %d): %s\n", port, strerror(errno));
        net_close(fd);
        return -1;
    }
    return fd;
}

/* Echoes the datagrams queued on the UDP socket, up to a turn's worth. */
static void udp_echo_turn(struct echo_server *s) {
    for (int round = 0; round < ECHO_TURN_ROUNDS; ++round) {
        struct sockaddr_in from;
        socklen_t from_len = sizeof from;
        ssize_t n = net_recvfrom(s->udp_fd, s->buffer, sizeof s->buffer, 0, (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            /* Other errors are not expected on an unconnected socket (Linux reports ICMP
             * errors only to connected ones or with IP_RECVERR): count them. */
            if (errno != EAGAIN && errno != EWOULDBLOCK) s->udp.recv_errors++;
            return;
        }
        ssize_t sent = net_sendto(s->udp_fd, s->buffer, (size_t)n, 0, (const struct sockaddr *)&from, from_len);
        if (sent == n) {
            s->udp.echoed++;
            s->udp.bytes += (unsigned long long)n;
        } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            s->udp.send_dropped++; /* UDP has no retransmission: the client resends if it cares */
        } else {
            s->udp.send_errors++;
        }
    }
}

/* A non-blocking TCP listener on the port, or -1 (reported on stderr). SO_REUSEADDR so a
 * restarted server can bind while connections of the last run are in TIME-WAIT. */
static int tcp_echo_open(int port) {
    int fd = net_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "echo: socket(SOCK_STREAM): %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    if (net_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        fprintf(stderr, "echo: setsockopt(SO_REUSEADDR): %s\n", strerror(errno));
        net_close(fd);
        return -1;
    }
    struct sockaddr_in addr = bind_address(port);
    if (net_bind(fd, (const struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "echo: bind(tcp port %d): %s\n", port, strerror(errno));
        net_close(fd);
        return -1;
    }
    if (net_listen(fd, TCP_BACKLOG) < 0) {
        fprintf(stderr, "echo: listen(tcp port %d): %s\n", port, strerror(errno));
        net_close(fd);
        return -1;
    }
    return fd;
}

/* Closes a connection (which removes it from the epoll set) and frees its slot. */
static void tcp_connection_close(struct echo_server *s, struct tcp_connection *c) {
    if (net_close(c->fd) < 0) s->tcp.close_errors++;
    c->fd = -1;
    c->length = 0;
    c->sent = 0;
    s->tcp_open--;
    s->free_slots[s->free_count++] = (size_t)(c - s->tcp_connections);
}

/* Accepts the connections the listener has queued, until it would block. */
static void tcp_echo_accept(struct echo_server *s) {
    for (;;) {
        int fd = net_accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            /* ECONNABORTED and the like concern one connection, not the listener. */
            if (errno != EAGAIN && errno != EWOULDBLOCK) s->tcp.accept_errors++;
            return;
        }
        if (s->free_count == 0) {
            s->tcp.refused++;
            if (net_close(fd) < 0) s->tcp.close_errors++;
            continue;
        }
        size_t slot = s->free_slots[--s->free_count];
        struct tcp_connection *c = &s->tcp_connections[slot];
        c->fd = fd;
        c->waiting_out = false;
        c->length = 0;
        c->sent = 0;
        s->tcp_open++;
        s->tcp.accepted++;
        /* An echo answers requests: its last partial segment must leave at once, not wait
         * for the ACK of the previous one (Nagle, RFC 896) that a delayed-ACK peer holds
         * back for up to 40 ms (Linux tcp_delack_max). */
        int one = 1;
        if (net_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) s->tcp.conn_errors++;
        if (watch(s, EPOLL_CTL_ADD, fd, EPOLLIN, slot) < 0) {
            s->tcp.conn_errors++;
            tcp_connection_close(s, c);
        }
    }
}

/* Switches the connection's interest between EPOLLIN (nothing pending) and EPOLLOUT
 * (echo waiting for room in the send buffer). Returns -1 when epoll_ctl failed. */
static int tcp_connection_wait_for(struct echo_server *s, struct tcp_connection *c, bool out) {
    if (c->waiting_out == out) return 0;
    c->waiting_out = out;
    return watch(s, EPOLL_CTL_MOD, c->fd, out ? EPOLLOUT : EPOLLIN, (uint64_t)(c - s->tcp_connections));
}

/* One bounded turn of a connection: sends back what is pending and reads more. Returns 1
 * while it stays open (waiting for EPOLLIN, or EPOLLOUT while echo is pending), 0 when
 * the peer's FIN came after everything was echoed, -1 on an error (ECONNRESET, ...). */
static int tcp_connection_step(struct echo_server *s, struct tcp_connection *c) {
    for (int round = 0; round < ECHO_TURN_ROUNDS; ++round) {
        if (c->sent < c->length) {
            ssize_t n = net_send(c->fd, c->buffer + c->sent, c->length - c->sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
            if (n > 0) {
                c->sent += (size_t)n;
                s->tcp.bytes += (unsigned long long)n;
            }
            if (c->sent < c->length) return tcp_connection_wait_for(s, c, true) < 0 ? -1 : 1; /* buffer full */
            c->sent = 0;
            c->length = 0;
            if (tcp_connection_wait_for(s, c, false) < 0) return -1;
        }
        ssize_t n = net_recv(c->fd, c->buffer, sizeof c->buffer, 0);
        if (n > 0) {
            c->length = (size_t)n;
            continue;
        }
        if (n == 0) return 0; /* the peer's FIN, and nothing left to send: our FIN follows */
        return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
    }
    /* The turn ran out. Received bytes not yet echoed must be announced by EPOLLOUT:
     * EPOLLIN may never come again if the peer waits for them. */
    if (c->sent < c->length && tcp_connection_wait_for(s, c, true) < 0) return -1;
    return 1;
}

static void tcp_connection_turn(struct echo_server *s, struct tcp_connection *c) {
    int state = tcp_connection_step(s, c);
    if (state > 0) return;
    if (state == 0) {
        s->tcp.completed++;
    } else {
        s->tcp.conn_errors++;
    }
    tcp_connection_close(s, c);
}

static int echo_open(struct echo_server *s) {
    s->free_count = 0;
    for (size_t i = TCP_MAX_CONNECTIONS; i-- > 0;) {
        s->tcp_connections[i].fd = -1;
        s->free_slots[s->free_count++] = i;
    }
    s->epoll_fd = net_epoll_create1(0);
    if (s->epoll_fd < 0) {
        fprintf(stderr, "echo: epoll_create1: %s\n", strerror(errno));
        return -1;
    }
    if (!s->shared_sockets) {
        s->udp_fd = udp_echo_open(s->port);
        if (s->udp_fd < 0) return -1;
        s->tcp_fd = tcp_echo_open(s->port);
        if (s->tcp_fd < 0) return -1;
    }
    /* Threads share the two server sockets: each event wakes one of them. */
    uint32_t exclusive = s->shared_sockets ? EPOLLEXCLUSIVE : 0;
    if (watch(s, EPOLL_CTL_ADD, s->udp_fd, EPOLLIN | exclusive, TAG_UDP) < 0 ||
        watch(s, EPOLL_CTL_ADD, s->tcp_fd, EPOLLIN | exclusive, TAG_LISTENER) < 0) {
        fprintf(stderr, "echo: epoll_ctl(ADD): %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Closes every socket; returns how many close calls failed in all. */
static unsigned long long echo_close(struct echo_server *s) {
    if (s->shared_sockets) s->udp_fd = s->tcp_fd = -1; /* closed once, by echo_threads_teardown */
    if (s->udp_fd >= 0 && net_close(s->udp_fd) < 0) {
        fprintf(stderr, "echo: close(udp): %s\n", strerror(errno));
        s->udp.close_errors++;
    }
    s->udp_fd = -1;
    for (size_t i = 0; i < TCP_MAX_CONNECTIONS; ++i) {
        if (s->tcp_connections[i].fd >= 0) tcp_connection_close(s, &s->tcp_connections[i]);
    }
    if (s->tcp_fd >= 0 && net_close(s->tcp_fd) < 0) {
        fprintf(stderr, "echo: close(tcp listener): %s\n", strerror(errno));
        s->tcp.close_errors++;
    }
    s->tcp_fd = -1;
    if (s->epoll_fd >= 0 && net_close(s->epoll_fd) < 0) s->tcp.close_errors++;
    s->epoll_fd = -1;
    return s->udp.close_errors + s->tcp.close_errors;
}

/* The epoll loop, until SIGINT, SIGTERM or a failing wait. Returns 0 on a stop. */
static int echo_loop(struct echo_server *s) {
    struct epoll_event events[ECHO_EVENTS];
    for (;;) {
        int n = net_epoll_wait(s->epoll_fd, events, ECHO_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) return 0;
            fprintf(stderr, "echo: epoll_wait: %s\n", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n; ++i) {
            uint64_t tag = events[i].data.u64;
            if (tag == TAG_UDP) {
                udp_echo_turn(s);
            } else if (tag == TAG_LISTENER) {
                tcp_echo_accept(s);
            } else {
                struct tcp_connection *c = &s->tcp_connections[tag];
                /* A connection closed earlier in this batch cannot be reported later in it
                 * (close removes it from the set before the next wait), but its slot may
                 * already hold a new one: that one is simply served early. */
                if (c->fd >= 0) tcp_connection_turn(s, c);
            }
        }
    }
}

/* The summary line the tests read, for one server or the sum of the threads'. */
static void echo_report(const struct udp_echo_stats *u, const struct tcp_echo_stats *t) {
    fprintf(stderr,
            "echo: stopped: udp %llu datagrams echoed (%llu bytes), %llu dropped (send queue full), "
            "errors: %llu recv, %llu send, %llu close; "
            "tcp %llu connections (%llu completed, %llu refused), %llu bytes echoed, "
            "errors: %llu accept, %llu connection, %llu close\n",
            u->echoed, u->bytes, u->send_dropped, u->recv_errors, u->send_errors, u->close_errors, t->accepted,
            t->completed, t->refused, t->bytes, t->accept_errors, t->conn_errors, t->close_errors);
}

/* Runs one server's loop to the stop; 0, or 1 if it could not open or failed. */
static int echo_serve(struct echo_server *s, const char *mode) {
    int rc = 0;
    if (echo_open(s) < 0) {
        rc = 1;
    } else {
        fprintf(stderr, "echo: running on %s, udp and tcp echo on port %d (%s, epoll); Ctrl-C stops\n",
                net_stack_name(), s->port, mode);
        if (echo_loop(s) < 0) rc = 1;
    }
    /* Per-datagram errors are in the summary; the status says whether the server ran
     * and stopped cleanly. */
    if (echo_close(s) != 0) rc = 1;
    return rc;
}

static int echo_app(int argc, char **argv, void *ctx) {
    struct echo_server *s = ctx;
    s->epoll_fd = s->udp_fd = s->tcp_fd = -1;
    s->port = ECHO_DEFAULT_PORT;
    int threads = 0;
    int parsed = parse_args(argc, argv, &s->port, &threads);
    if (parsed != 0) return parsed > 0 ? 0 : 2;
    int rc = echo_serve(s, "inline");
    echo_report(&s->udp, &s->tcp);
    return rc;
}

/* --threads N: one echo_server per thread, the two server sockets shared. */
struct echo_threads {
    int count;
    int port;
    int udp_fd, tcp_fd;
    struct echo_server *servers;
};

static int echo_threads_setup(int argc, char **argv, void *shared) {
    struct echo_threads *e = shared;
    e->udp_fd = e->tcp_fd = -1;
    e->port = ECHO_DEFAULT_PORT;
    int threads = e->count;
    if (parse_args(argc, argv, &e->port, &threads) != 0) return 2;
    e->servers = calloc((size_t)e->count, sizeof *e->servers);
    if (e->servers == NULL) return 1;
    e->udp_fd = udp_echo_open(e->port);
    e->tcp_fd = e->udp_fd < 0 ? -1 : tcp_echo_open(e->port);
    return e->tcp_fd < 0 ? 1 : 0;
}

static int echo_threads_worker(int argc, char **argv, void *shared, int index) {
    (void)argc;
    (void)argv;
    struct echo_threads *e = shared;
    struct echo_server *s = &e->servers[index];
    s->port = e->port;
    s->shared_sockets = true;
    s->udp_fd = e->udp_fd;
    s->tcp_fd = e->tcp_fd;
    s->epoll_fd = -1;
    return echo_serve(s, "threads");
}

static void echo_threads_teardown(void *shared) {
    struct echo_threads *e = shared;
    struct udp_echo_stats u;
    struct tcp_echo_stats t;
    memset(&u, 0, sizeof u);
    memset(&t, 0, sizeof t);
    if (e->udp_fd >= 0 && net_close(e->udp_fd) < 0) u.close_errors++;
    if (e->tcp_fd >= 0 && net_close(e->tcp_fd) < 0) t.close_errors++;
    for (int i = 0; e->servers != NULL && i < e->count; ++i) {
        const struct echo_server *s = &e->servers[i];
        u.echoed += s->udp.echoed;
        u.bytes += s->udp.bytes;
        u.send_dropped += s->udp.send_dropped;
        u.recv_errors += s->udp.recv_errors;
        u.send_errors += s->udp.send_errors;
        u.close_errors += s->udp.close_errors;
        t.accepted += s->tcp.accepted;
        t.completed += s->tcp.completed;
        t.refused += s->tcp.refused;
        t.bytes += s->tcp.bytes;
        t.accept_errors += s->tcp.accept_errors;
        t.conn_errors += s->tcp.conn_errors;
        t.close_errors += s->tcp.close_errors;
    }
    echo_report(&u, &t);
    free(e->servers);
}

/* The thread count of --threads N among the program's arguments (after the first `--`),
 * or 0: the mode must be known before the stack starts. */
static int threads_requested(int argc, char **argv) {
    int threads = 0;
    bool after_dashes = false;
    for (int i = 1; i < argc; ++i) {
        if (!after_dashes) {
            after_dashes = strcmp(argv[i], "--") == 0;
            continue;
        }
        if (strcmp(argv[i], "--inline") == 0) threads = 0;
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[i + 1]);
    }
    return threads;
}

int main(int argc, char **argv) {
    int threads = threads_requested(argc, argv);
    if (threads > 0) {
        static struct echo_threads e;
        e.count = threads;
        struct net_threads t = {threads, echo_threads_setup, echo_threads_worker, echo_threads_teardown, &e};
        return net_main_threads(argc, argv, &t);
    }
    /* Static and zero-initialized (so in .bss, not in the file): 16 MiB of buffers. */
    static struct echo_server server;
    return net_main(argc, argv, echo_app, &server);
}
