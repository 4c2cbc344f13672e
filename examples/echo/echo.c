/* echo: brings a pollux stack up on a DPDK port and echoes until SIGINT/SIGTERM.
 *
 *   build/examples/echo --no-pci --vdev=net_tap0,iface=pxt0 -- --ip 198.18.0.2/24 [--echo-port 7]
 *
 * The stack answers ARP and ping (ICMP echo, fragmented or not) by itself; on top of it
 * this program is a UDP echo server (RFC 862) on port 7 unless --echo-port says otherwise
 * (--port is pollux's: the DPDK port id). Every datagram received goes back to its sender
 * unchanged. TCP echo on the same port comes with TCP: it becomes another member of
 * struct echo_server, opened in echo_open and drained in echo_poll.
 *
 * Run-to-completion: px_run calls echo_poll once per iteration of its loop, and echo_poll
 * reads the non-blocking socket until it would block, so it never stalls the stack.
 * Written in C against the public headers only, as a user's program would be. */
#include <pollux/pollux.h>
#include <pollux/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_DEFAULT_PORT 7 /* RFC 862 */
/* Larger than any UDP payload (65,535 - 20 - 8 = 65,507), so no datagram is truncated. */
#define ECHO_BUFFER_SIZE 65536

struct udp_echo_stats {
    unsigned long long echoed;       /* datagrams sent back whole */
    unsigned long long bytes;        /* their payload bytes */
    unsigned long long recv_errors;  /* px_recvfrom failed other than EAGAIN */
    unsigned long long send_dropped; /* px_sendto: EAGAIN/ENOBUFS, a full queue: the echo is lost */
    unsigned long long send_errors;  /* px_sendto: any other failure, or a short send */
};

struct echo_server {
    int udp_fd;
    struct udp_echo_stats udp;
    unsigned char buffer[ECHO_BUFFER_SIZE];
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

static int echo_open(struct echo_server *s, int port) {
    s->udp_fd = udp_echo_open(port);
    return s->udp_fd < 0 ? -1 : 0;
}

/* Called by px_run once per loop iteration. */
static void echo_poll(void *arg) {
    struct echo_server *s = arg;
    udp_echo_poll(s);
}

static unsigned long long echo_close(struct echo_server *s) {
    unsigned long long close_errors = 0;
    if (s->udp_fd >= 0 && px_close(s->udp_fd) < 0) {
        fprintf(stderr, "echo: px_close(udp): %s\n", strerror(errno));
        close_errors++;
    }
    s->udp_fd = -1;
    return close_errors;
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
    /* Static: 64 KiB buffer, and it must outlive px_run's calls. */
    static struct echo_server server = {.udp_fd = -1};
    if (echo_open(&server, port) < 0) {
        px_fini();
        return 1;
    }
    fprintf(stderr, "echo: running (pollux %s on %s), udp echo on port %d; Ctrl-C stops\n", px_version(),
            px_dpdk_version(), port);
    int rc = 0;
    if (px_run(echo_poll, &server) < 0) {
        fprintf(stderr, "echo: px_run: %s\n", strerror(errno));
        rc = 1;
    }
    unsigned long long close_errors = echo_close(&server);
    const struct udp_echo_stats *u = &server.udp;
    fprintf(stderr,
            "echo: stopped: udp %llu datagrams echoed (%llu bytes), %llu dropped (send queue full), "
            "errors: %llu recv, %llu send, %llu close\n",
            u->echoed, u->bytes, u->send_dropped, u->recv_errors, u->send_errors, close_errors);
    px_fini();
    /* Per-datagram errors are in the summary; the exit status says whether the server
     * ran and stopped cleanly. */
    if (close_errors != 0) rc = 1;
    return rc;
}
