/* echo: brings a pollux stack up on a DPDK port and echoes until SIGINT/SIGTERM.
 *
 *   build/examples/echo --no-pci --vdev=net_tap0,iface=pxt0 -- --ip 198.18.0.2/24 [--echo-port 7]
 *
 * The stack answers ARP and ping (ICMP echo, fragmented or not) by itself; on top of it
 * this program is a UDP echo server (RFC 862) on port 7 unless --echo-port says otherwise
 * (--port is pollux's: the DPDK port id). Every datagram received goes back to its sender
 * unchanged. It is a TCP echo server on the same port too: every byte a connection sends
 * comes back on it, and the connection closes once the peer has closed its side and
 * everything it sent went back.
 *
 * Run-to-completion: px_run calls echo_poll once per iteration of its loop, and echo_poll
 * uses non-blocking sockets only, each until it would block, so it never stalls the
 * stack. There is no epoll yet: every iteration accepts what the listener has queued and
 * then visits every open connection.
 * Written in C against the public headers only, as a user's program would be. */
#include <pollux/pollux.h>
#include <pollux/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_DEFAULT_PORT 7 /* RFC 862 */
/* Larger than any UDP payload (65,535 - 20 - 8 = 65,507), so no datagram is truncated. */
#define ECHO_BUFFER_SIZE 65536
#define TCP_BACKLOG 128
/* Connections served at once; more are accepted and closed at once (and counted). */
#define TCP_MAX_CONNECTIONS 1024
/* What one connection may have in flight through the server: a connection does not read
 * again until all of it went back, so a peer that sends but does not read is held back by
 * TCP's flow control instead of by this program's memory. 1024 x 16 KiB = 16 MiB. */
#define TCP_CONNECTION_BUFFER_SIZE 16384

struct udp_echo_stats {
    unsigned long long echoed;       /* datagrams sent back whole */
    unsigned long long bytes;        /* their payload bytes */
    unsigned long long recv_errors;  /* px_recvfrom failed other than EAGAIN */
    unsigned long long send_dropped; /* px_sendto: EAGAIN/ENOBUFS, a full queue: the echo is lost */
    unsigned long long send_errors;  /* px_sendto: any other failure, or a short send */
    unsigned long long close_errors; /* px_close failed */
};

struct tcp_echo_stats {
    unsigned long long accepted;      /* connections taken into the table */
    unsigned long long refused;       /* accepted while the table was full, closed at once */
    unsigned long long completed;     /* closed after the peer's FIN, every byte echoed */
    unsigned long long bytes;         /* bytes sent back */
    unsigned long long accept_errors; /* px_accept4 failed other than EAGAIN */
    unsigned long long conn_errors;   /* px_recv/px_send failed (ECONNRESET, ETIMEDOUT, ...) */
    unsigned long long close_errors;  /* px_close failed */
};

/* One accepted connection. buffer[sent..length) is what was received and not yet sent
 * back; while it is not empty, nothing more is read. */
struct tcp_connection {
    int fd; /* -1: a free slot */
    size_t length;
    size_t sent;
    unsigned char buffer[TCP_CONNECTION_BUFFER_SIZE];
};

struct echo_server {
    int udp_fd;
    int tcp_fd; /* the listener */
    struct udp_echo_stats udp;
    struct tcp_echo_stats tcp;
    size_t tcp_open; /* slots in use in tcp_connections */
    unsigned char buffer[ECHO_BUFFER_SIZE];
    struct tcp_connection tcp_connections[TCP_MAX_CONNECTIONS];
};

/* Parses the program's own arguments (those pollux left after `--`). Returns 0 to run,
 * 1 after --help, -1 on a bad argument (reported on stderr). */
static int parse_args(int argc, char **argv, int *port) {
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: echo [EAL args] -- --ip ADDR/LEN [pollux options] [--echo-port N]\n");
            return 1;
        }
        if (strcmp(argv[i], "--echo-port") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "echo: --echo-port needs a value\n");
                return -1;
            }
            char *end = NULL;
            errno = 0;
            long value = strtol(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || value < 1 || value > 65535) {
                fprintf(stderr, "echo: --echo-port %s: not a port in 1..65535\n", argv[i]);
                return -1;
            }
            *port = (int)value;
            continue;
        }
        fprintf(stderr, "echo: unknown argument %s\n", argv[i]);
        return -1;
    }
    return 0;
}

/* A non-blocking UDP socket bound to 0.0.0.0:port, or -1 (reported on stderr). */
static int udp_echo_open(int port) {
    int fd = px_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "echo: px_socket(SOCK_DGRAM): %s\n", strerror(errno));
        return -1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = INADDR_ANY; /* 0.0.0.0: the same in either byte order */
    addr.sin_port = htons((unsigned short)port);
    if (px_bind(fd, (const struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "echo: px_bind(udp 0.0.0.0:%d): %s\n", port, strerror(errno));
        px_close(fd);
        return -1;
    }
    return fd;
}

/* Echoes every datagram queued on the UDP socket, until it would block. */
static void udp_echo_poll(struct echo_server *s) {
    for (;;) {
        struct sockaddr_in from;
        socklen_t from_len = sizeof from;
        ssize_t n = px_recvfrom(s->udp_fd, s->buffer, sizeof s->buffer, 0, (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            /* Not expected on an unconnected socket (Linux reports ICMP errors only to
             * connected ones or with IP_RECVERR): count it, try again next iteration. */
            s->udp.recv_errors++;
            return;
        }
        ssize_t sent = px_sendto(s->udp_fd, s->buffer, (size_t)n, 0, (const struct sockaddr *)&from, from_len);
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

/* A non-blocking TCP listener on 0.0.0.0:port, or -1 (reported on stderr). SO_REUSEADDR
 * so a restarted server can bind while connections of the last run are in TIME-WAIT. */
static int tcp_echo_open(int port) {
    int fd = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "echo: px_socket(SOCK_STREAM): %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    if (px_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        fprintf(stderr, "echo: px_setsockopt(SO_REUSEADDR): %s\n", strerror(errno));
        px_close(fd);
        return -1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = INADDR_ANY;
    addr.sin_port = htons((unsigned short)port);
    if (px_bind(fd, (const struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "echo: px_bind(tcp 0.0.0.0:%d): %s\n", port, strerror(errno));
        px_close(fd);
        return -1;
    }
    if (px_listen(fd, TCP_BACKLOG) < 0) {
        fprintf(stderr, "echo: px_listen(tcp 0.0.0.0:%d): %s\n", port, strerror(errno));
        px_close(fd);
        return -1;
    }
    return fd;
}

/* Closes a connection and frees its slot. */
static void tcp_connection_close(struct echo_server *s, struct tcp_connection *c) {
    if (px_close(c->fd) < 0) s->tcp.close_errors++;
    c->fd = -1;
    c->length = 0;
    c->sent = 0;
    s->tcp_open--;
}

/* Accepts every connection the listener has queued, until it would block. */
static void tcp_echo_accept(struct echo_server *s) {
    for (;;) {
        int fd = px_accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            /* ECONNABORTED and the like concern one connection, not the listener: count
             * them and try again next iteration. */
            if (errno != EAGAIN && errno != EWOULDBLOCK) s->tcp.accept_errors++;
            return;
        }
        if (s->tcp_open == TCP_MAX_CONNECTIONS) {
            s->tcp.refused++;
            if (px_close(fd) < 0) s->tcp.close_errors++;
            continue;
        }
        size_t slot = 0;
        while (s->tcp_connections[slot].fd >= 0) slot++; /* a free one exists: tcp_open < max */
        struct tcp_connection *c = &s->tcp_connections[slot];
        c->fd = fd;
        c->length = 0;
        c->sent = 0;
        s->tcp_open++;
        s->tcp.accepted++;
    }
}

/* Sends back what is pending and reads more, until the connection would block (it stays
 * open) or is done (closed: the peer's FIN after everything was echoed, or an error). */
static void tcp_connection_poll(struct echo_server *s, struct tcp_connection *c) {
    for (;;) {
        if (c->sent < c->length) {
            /* MSG_NOSIGNAL: a peer that reset must not kill the server with SIGPIPE (pollux raises it as Linux does). */
            ssize_t n = px_send(c->fd, c->buffer + c->sent, c->length - c->sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return; /* send buffer full */
                s->tcp.conn_errors++;
                tcp_connection_close(s, c);
                return;
            }
            c->sent += (size_t)n;
            s->tcp.bytes += (unsigned long long)n;
            if (c->sent < c->length) return; /* short: the send buffer is full */
            c->sent = 0;
            c->length = 0;
        }
        ssize_t n = px_recv(c->fd, c->buffer, sizeof c->buffer, 0);
        if (n > 0) {
            c->length = (size_t)n;
            continue;
        }
        if (n == 0) { /* the peer's FIN, and nothing left to send: our FIN follows */
            s->tcp.completed++;
            tcp_connection_close(s, c);
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        s->tcp.conn_errors++;
        tcp_connection_close(s, c);
        return;
    }
}

static void tcp_echo_poll(struct echo_server *s) {
    tcp_echo_accept(s);
    /* Counted before the visits: a visit may close its connection (tcp_open drops). */
    const size_t open = s->tcp_open;
    size_t visited = 0;
    for (size_t i = 0; i < TCP_MAX_CONNECTIONS && visited < open; ++i) {
        struct tcp_connection *c = &s->tcp_connections[i];
        if (c->fd < 0) continue;
        visited++;
        tcp_connection_poll(s, c);
    }
}

static int echo_open(struct echo_server *s, int port) {
    for (size_t i = 0; i < TCP_MAX_CONNECTIONS; ++i) s->tcp_connections[i].fd = -1;
    s->udp_fd = udp_echo_open(port);
    if (s->udp_fd < 0) return -1;
    s->tcp_fd = tcp_echo_open(port);
    return s->tcp_fd < 0 ? -1 : 0;
}

/* Called by px_run once per loop iteration. */
static void echo_poll(void *arg) {
    struct echo_server *s = arg;
    udp_echo_poll(s);
    tcp_echo_poll(s);
}

/* Closes every socket; returns how many px_close calls failed in all (each one is in
 * s->udp.close_errors or s->tcp.close_errors too). */
static unsigned long long echo_close(struct echo_server *s) {
    if (s->udp_fd >= 0 && px_close(s->udp_fd) < 0) {
        fprintf(stderr, "echo: px_close(udp): %s\n", strerror(errno));
        s->udp.close_errors++;
    }
    s->udp_fd = -1;
    for (size_t i = 0; i < TCP_MAX_CONNECTIONS; ++i) {
        if (s->tcp_connections[i].fd >= 0) tcp_connection_close(s, &s->tcp_connections[i]);
    }
    if (s->tcp_fd >= 0 && px_close(s->tcp_fd) < 0) {
        fprintf(stderr, "echo: px_close(tcp listener): %s\n", strerror(errno));
        s->tcp.close_errors++;
    }
    s->tcp_fd = -1;
    return s->udp.close_errors + s->tcp.close_errors;
}

int main(int argc, char **argv) {
    int n = px_init(argc, argv);
    if (n < 0) return 1;
    argc -= n;
    argv += n;
    int port = ECHO_DEFAULT_PORT;
    int parsed = parse_args(argc, argv, &port);
    if (parsed != 0) {
        px_fini();
        return parsed > 0 ? 0 : 2;
    }
    /* Static: 16 MiB of buffers, and it must outlive px_run's calls. */
    static struct echo_server server = {.udp_fd = -1, .tcp_fd = -1};
    if (echo_open(&server, port) < 0) {
        echo_close(&server);
        px_fini();
        return 1;
    }
    fprintf(stderr, "echo: running (pollux %s on %s), udp and tcp echo on port %d; Ctrl-C stops\n",
            px_version(), px_dpdk_version(), port);
    int rc = 0;
    if (px_run(echo_poll, &server) < 0) {
        fprintf(stderr, "echo: px_run: %s\n", strerror(errno));
        rc = 1;
    }
    unsigned long long close_errors = echo_close(&server);
    const struct udp_echo_stats *u = &server.udp;
    const struct tcp_echo_stats *t = &server.tcp;
    fprintf(stderr,
            "echo: stopped: udp %llu datagrams echoed (%llu bytes), %llu dropped (send queue full), "
            "errors: %llu recv, %llu send, %llu close; "
            "tcp %llu connections (%llu completed, %llu refused), %llu bytes echoed, "
            "errors: %llu accept, %llu connection, %llu close\n",
            u->echoed, u->bytes, u->send_dropped, u->recv_errors, u->send_errors, u->close_errors, t->accepted,
            t->completed, t->refused, t->bytes, t->accept_errors, t->conn_errors, t->close_errors);
    px_fini();
    /* Per-datagram errors are in the summary; the exit status says whether the server
     * ran and stopped cleanly. */
    if (close_errors != 0) rc = 1;
    return rc;
}
