/* loadgen: a TCP load generator for pollux's examples, built twice from this one source:
 * `loadgen` on pollux and `loadgen-kernel` on the kernel's sockets (examples/common/app_net.h
 * picks the stack), so a comparison is between stacks, never between programs.
 *
 *   loadgen --no-pci -l 1 --vdev=net_memif0,role=client,socket=/tmp/m.sock \
 *       -- --ip 198.18.0.1/24 --server 198.18.0.2 --workload echo [options]
 *   loadgen-kernel -- --server 127.0.0.1 --workload http --connections 64
 *
 * Options (after `--`; the kernel build ignores the EAL arguments and pollux's --ip...):
 *   --server ADDR        the server's IPv4 address (required)
 *   --server-port N      its TCP port (default: 7 for echo and bulk-to-echo, 80 for http,
 *                        short and bulk-to-sink). Not --port: that is pollux's option (the
 *                        DPDK port id), which every program shares.
 *   --workload W         echo | http | short | bulk (default echo)
 *   --connections N      connections open at once (default 1; bulk is one stream)
 *   --depth D            requests in flight per connection (default 1); for http this is
 *                        HTTP/1.1 pipelining; short has one request per connection
 *   --size BYTES         echo message size (default 1)
 *   --path P             http and short: the path to GET (default /)
 *   --bulk-to T          bulk: echo (stream to the echo server, read the echo back; Gb/s
 *                        counts bytes that made the round trip) or sink (one chunked
 *                        POST /sink to httpd; Gb/s counts payload written in the
 *                        measured window, and the server's answer must confirm every
 *                        byte of the run, or it counts a protocol error)
 *   --duration S         measured seconds (default 5)
 *   --warmup S           seconds run before measuring (default 1)
 *   --rate R             open loop: R requests per second in all, at fixed intervals,
 *                        latency counted from each request's intended send time, so time
 *                        spent queued behind a slow server is not hidden (coordinated
 *                        omission). Without it: closed loop, a new request as soon as
 *                        one completes.
 *   --json FILE          also write the results as one JSON object to FILE
 *   --linger S           after the report, stay for S seconds or until SIGTERM, so a
 *                        benchmark script can stop the server first: DPDK 22.11's memif
 *                        PMD may crash in whichever process still polls when the other
 *                        side disconnects (see bench/icmp_pps.cpp). On pollux the stack
 *                        is polled for 0.2 s more (the FINs go out), then not at all.
 *
 * Output: a line per second (rate, p50/p99/p99.9 latency, errors) and a final summary.
 * Latency is kept in a log-bucketed histogram (HDR-like: 64 linear sub-buckets per power
 * of two, under 1.6 % error, 30 KB, fixed), so recording a sample allocates nothing.
 *
 * Everything runs on one thread in one epoll loop over non-blocking sockets. On pollux the
 * loop runs inside px_run's callback and net_epoll_wait keeps the stack polling; it
 * answers -1/EINTR when the stack is stopped (SIGINT/SIGTERM), which ends the run early
 * with a report of what was measured.
 *
 * The HTTP responses are framed by a minimal parser (status line, Content-Length,
 * Connection: close) instead of Boost.Beast: this client only ever reads its own
 * server's replies (examples/httpd), and the cost of a full parser would be charged to
 * the client, which must not be the bottleneck. A response it cannot frame (no
 * Content-Length on a keep-alive connection, chunked encoding) is counted as an error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "app_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#define LOADGEN_STACK net_stack_name()

#define MAX_CONNECTIONS 65536
#define MAX_DEPTH 4096
#define MAX_SIZE (16u << 20)
#define MAX_EVENTS 256
/* One receive buffer for every connection: received bytes are counted or framed, never kept. */
#define RECV_BUFFER_SIZE (256u << 10)
/* The longest response header the HTTP framer accepts. */
#define HTTP_HEADER_MAX 2048
/* How long connecting every connection may take before the run starts anyway. */
#define CONNECT_TIMEOUT_NS (5ull * 1000000000ull)
/* bulk-to-sink: the payload of one chunk (chunked transfer coding, RFC 9112 section 7.1). */
#define SINK_CHUNK 65536u

/* --- time ------------------------------------------------------------------------------- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- latency histogram ---------------------------------------------------------------- */

/* Values below 2 * HIST_SUB ns are exact; above, each power of two [2^k, 2^(k+1)) is split
 * into HIST_SUB equal buckets, so a bucket is at most 1/HIST_SUB of its value wide: the
 * same idea as HdrHistogram's, with a fixed range (any uint64_t) and fixed memory. */
#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64u - HIST_SUB_BITS + 1u) * HIST_SUB)

struct histogram {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t sum_ns;
    uint64_t max_ns;
};

static unsigned hist_index(uint64_t v) {
    if (v < 2u * HIST_SUB) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HIST_SUB_BITS;
    return shift * HIST_SUB + (unsigned)(v >> shift);
}

/* The middle of bucket `i`, in ns. */
static double hist_value(unsigned i) {
    if (i < 2u * HIST_SUB) return (double)i;
    unsigned shift = i / HIST_SUB - 1u;
    uint64_t mantissa = i - (uint64_t)shift * HIST_SUB;
    return (double)(mantissa << shift) + (double)(1ull << shift) / 2.0;
}

static void hist_record(struct histogram *h, uint64_t v) {
    h->counts[hist_index(v)]++;
    h->total++;
    h->sum_ns += v;
    if (v > h->max_ns) h->max_ns = v;
}

static void hist_clear(struct histogram *h) { memset(h, 0, sizeof *h); }

/* The value at quantile q (0..1] in ns, or 0 without samples; never above the maximum seen. */
static double hist_quantile(const struct histogram *h, double q) {
    if (h->total == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)h->total + 0.999999);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; ++i) {
        seen += h->counts[i];
        if (seen >= rank) {
            double v = hist_value(i);
            return v > (double)h->max_ns ? (double)h->max_ns : v;
        }
    }
    return (double)h->max_ns;
}

/* --- options -------------------------------------------------------------------------- */

enum workload { WL_ECHO, WL_HTTP, WL_SHORT, WL_BULK };
static const char *const workload_names[] = {"echo", "http", "short", "bulk"};

struct options {
    struct sockaddr_in server;
    const char *server_text;
    int port; /* 0: the workload's default */
    enum workload workload;
    unsigned connections;
    unsigned depth;
    size_t size;
    const char *path;
    bool bulk_to_sink;
    double duration;
    double warmup;
    double rate; /* 0: closed loop */
    const char *json;
    double linger;
};

static void usage(FILE *out) {
    fprintf(out,
            "usage: loadgen [EAL args] -- --ip ADDR/LEN [pollux options] --server ADDR [--server-port N]\n"
            "         [--workload echo|http|short|bulk] [--connections N] [--depth D] [--size BYTES]\n"
            "         [--path P] [--bulk-to echo|sink] [--duration S] [--warmup S] [--rate R]\n"
            "         [--json FILE] [--linger S]\n"
            "       loadgen-kernel takes the same options (EAL and pollux options are ignored)\n");
}

static bool parse_number(const char *s, double min, double max, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) return false;
    *out = v;
    return true;
}

/* Returns 0 to run, 1 after --help, -1 on a bad argument (reported on stderr). */
static int parse_options(int argc, char **argv, struct options *o) {
    memset(o, 0, sizeof *o);
    o->workload = WL_ECHO;
    o->connections = 1;
    o->depth = 1;
    o->size = 1;
    o->path = "/";
    o->duration = 5;
    o->warmup = 1;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "loadgen: %s: unknown option, or it needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        double n = 0;
        bool ok = true;
        if (strcmp(a, "--server") == 0) {
            o->server_text = v;
            o->server.sin_family = AF_INET;
            ok = inet_pton(AF_INET, v, &o->server.sin_addr) == 1;
        } else if (strcmp(a, "--server-port") == 0) {
            ok = parse_number(v, 1, 65535, &n) && n == (int)n;
            o->port = (int)n;
        } else if (strcmp(a, "--workload") == 0) {
            ok = false;
            for (unsigned w = 0; w < sizeof workload_names / sizeof workload_names[0]; ++w) {
                if (strcmp(v, workload_names[w]) == 0) {
                    o->workload = (enum workload)w;
                    ok = true;
                }
            }
        } else if (strcmp(a, "--connections") == 0) {
            ok = parse_number(v, 1, MAX_CONNECTIONS, &n) && n == (unsigned)n;
            o->connections = (unsigned)n;
        } else if (strcmp(a, "--depth") == 0) {
            ok = parse_number(v, 1, MAX_DEPTH, &n) && n == (unsigned)n;
            o->depth = (unsigned)n;
        } else if (strcmp(a, "--size") == 0) {
            ok = parse_number(v, 1, MAX_SIZE, &n) && n == (size_t)n;
            o->size = (size_t)n;
        } else if (strcmp(a, "--path") == 0) {
            /* It goes into a request line: no spaces or control characters. */
            ok = v[0] == '/' && strlen(v) < 512;
            for (const char *p = v; ok && *p; ++p) ok = *p > ' ' && *p < 127 && *p != '"' && *p != '\\';
            o->path = v;
        } else if (strcmp(a, "--bulk-to") == 0) {
            ok = strcmp(v, "echo") == 0 || strcmp(v, "sink") == 0;
            o->bulk_to_sink = strcmp(v, "sink") == 0;
        } else if (strcmp(a, "--duration") == 0) {
            ok = parse_number(v, 0.1, 3600, &o->duration);
        } else if (strcmp(a, "--warmup") == 0) {
            ok = parse_number(v, 0, 3600, &o->warmup);
        } else if (strcmp(a, "--rate") == 0) {
            ok = parse_number(v, 1, 1e9, &o->rate);
        } else if (strcmp(a, "--json") == 0) {
            o->json = v;
        } else if (strcmp(a, "--linger") == 0) {
            ok = parse_number(v, 0, 3600, &o->linger);
        } else {
            fprintf(stderr, "loadgen: unknown option %s\n", a);
            usage(stderr);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "loadgen: bad value for %s: %s\n", a, v);
            return -1;
        }
    }
    if (o->server_text == NULL) {
        fprintf(stderr, "loadgen: --server ADDR is required\n");
        usage(stderr);
        return -1;
    }
    if (o->port == 0) {
        bool http = o->workload == WL_HTTP || o->workload == WL_SHORT || (o->workload == WL_BULK && o->bulk_to_sink);
        o->port = http ? 80 : 7;
    }
    o->server.sin_port = htons((uint16_t)o->port);
    if (o->workload == WL_SHORT) o->depth = 1; /* one request per connection */
    if (o->workload == WL_BULK) {
        o->depth = 1;
        o->connections = 1; /* one stream */
        if (o->rate > 0) {
            fprintf(stderr, "loadgen: --rate does not apply to bulk (it sends as fast as it can)\n");
            return -1;
        }
    }
    return 0;
}

/* --- state ------------------------------------------------------------------------------ */

enum conn_state { CONN_CLOSED, CONN_CONNECTING, CONN_OPEN, CONN_DONE };

/* What the HTTP framer is reading. */
enum http_part { HTTP_HEADER, HTTP_BODY, HTTP_BODY_TO_EOF };

struct conn {
    int fd;
    uint32_t generation; /* tells an event for this slot's previous fd from the current one */
    enum conn_state state;
    uint32_t armed;      /* the epoll events registered */
    /* Requests written or queued for writing, whose reply has not completed: their start
     * times, oldest first, in a ring of `depth` entries. */
    uint64_t *starts;
    unsigned head;
    unsigned in_flight;
    bool in_ready;       /* open loop: queued in ready[] (it has a free slot) */
    bool in_reopen;      /* queued in reopen[] */
    uint64_t send_pending; /* bytes of queued requests not written yet */
    uint64_t reply_bytes;  /* echo: bytes of the current reply received so far */
    /* HTTP framer */
    enum http_part part;
    unsigned header_len;
    uint64_t body_left;
    bool response_close;   /* the response said Connection: close */
    bool response_done;    /* short: the response is complete, waiting for EOF */
    char header[HTTP_HEADER_MAX];
};

struct errors {
    uint64_t connect;  /* connect() failed, or SO_ERROR said so */
    uint64_t reset;    /* recv/send failed on an open connection (ECONNRESET, ETIMEDOUT, ...) */
    uint64_t eof;      /* the server closed a connection it should have kept open */
    uint64_t status;   /* an HTTP status other than 2xx */
    uint64_t protocol; /* a response the framer could not read, or a wrong sink count */
    uint64_t overflow; /* open loop: intended requests dropped because the backlog was full */
    uint64_t lost;     /* requests in flight on a connection that failed */
};

static uint64_t errors_total(const struct errors *e) {
    return e->connect + e->reset + e->eof + e->status + e->protocol + e->overflow;
}

struct second {
    double t;
    double rate;
    double p50_us, p99_us, p999_us;
    uint64_t errors;
};

struct loadgen {
    struct options opt;
    int epfd;
    struct conn *conns;
    uint64_t *start_storage;
    /* The bytes of `depth` back-to-back requests: pending bytes are always a suffix of
     * whole requests, so one send() can write many of them from here. */
    unsigned char *block;
    size_t request_len;
    size_t block_len;
    /* Open loop: intended start times not yet given to a connection (a ring). */
    uint64_t *backlog;
    uint64_t backlog_cap, backlog_head, backlog_count;
    uint64_t next_due_ns, interval_ns;
    /* Open loop: connections with a free slot, FIFO. */
    unsigned *ready;
    unsigned ready_head, ready_count;
    /* Closed connections to open again (a stack): failed persistent ones, and in closed
     * loop the finished ones of short. */
    unsigned *reopen;
    unsigned reopen_count;
    /* Phases: connect, then warmup until measure_ns, then measure until end_ns. */
    uint64_t measure_ns, end_ns;
    bool measuring;
    struct histogram total, interval;
    uint64_t completed;          /* in the measured window */
    uint64_t interval_completed; /* since the last progress line */
    uint64_t bytes_rx, bytes_tx; /* in the measured window */
    uint64_t bytes_tx_all;       /* in the whole run */
    uint64_t interval_bytes;
    uint64_t connects;           /* connections established (short: its request count) */
    struct errors err;
    uint64_t warmup_errors;
    int last_connect_errno;
    uint64_t interval_errors_base;
    bool stopped; /* the stack was stopped (SIGINT/SIGTERM) before the end */
    /* bulk-to-sink */
    uint64_t sink_payload;   /* payload bytes written */
    uint64_t sink_measured;  /* payload bytes written in the measured window */
    uint64_t sink_confirmed; /* what the server's answer said it received */
    bool sink_finishing, sink_answered;
    /* progress lines */
    struct second *seconds;
    unsigned seconds_count, seconds_cap;
    uint64_t last_progress_ns, next_progress_ns, start_ns;
};

static unsigned char recv_buffer[RECV_BUFFER_SIZE];

/* --- epoll ------------------------------------------------------------------------------ */

static uint64_t conn_token(const struct loadgen *g, const struct conn *c) {
    return ((uint64_t)c->generation << 32) | (uint64_t)(c - g->conns);
}

static void conn_arm(struct loadgen *g, struct conn *c, uint32_t events) {
    if (c->armed == events) return;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = conn_token(g, c);
    if (net_epoll_ctl(g->epfd, c->armed == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        fprintf(stderr, "loadgen: epoll_ctl: %s\n", strerror(errno));
        return;
    }
    c->armed = events;
}

/* --- requests ---------------------------------------------------------------------------- */

static void ready_push(struct loadgen *g, struct conn *c) {
    if (g->opt.rate <= 0 || c->in_ready) return;
    g->ready[(g->ready_head + g->ready_count) % g->opt.connections] = (unsigned)(c - g->conns);
    g->ready_count++;
    c->in_ready = true;
}

/* Queues one request started (or intended to start) at `start` on `c`. */
static void conn_push(struct loadgen *g, struct conn *c, uint64_t start) {
    c->starts[(c->head + c->in_flight) % g->opt.depth] = start;
    c->in_flight++;
    if (g->opt.workload != WL_SHORT) c->send_pending += g->request_len;
}

/* Counts a completed request and, in closed loop, starts the next one. */
static void complete_one(struct loadgen *g, struct conn *c, uint64_t now) {
    if (c->in_flight == 0) {
        g->err.protocol++; /* a reply to nothing: the server sent more than asked */
        return;
    }
    uint64_t start = c->starts[c->head];
    c->head = (c->head + 1) % g->opt.depth;
    c->in_flight--;
    /* Progress lines count the warmup too (marked so); the result counts only the
     * measured window. */
    uint64_t latency = now > start ? now - start : 0;
    hist_record(&g->interval, latency);
    g->interval_completed++;
    if (g->measuring) {
        hist_record(&g->total, latency);
        g->completed++;
    }
    if (now >= g->end_ns) return;
    if (g->opt.rate <= 0) {
        if (g->opt.workload != WL_SHORT) conn_push(g, c, now);
    } else if (g->backlog_count > 0 && g->opt.workload != WL_SHORT) {
        conn_push(g, c, g->backlog[g->backlog_head]);
        g->backlog_head = (g->backlog_head + 1) % g->backlog_cap;
        g->backlog_count--;
    } else if (g->opt.workload != WL_SHORT) {
        ready_push(g, c);
    }
}

/* Writes what `c` has pending until done or the socket is full; arms EPOLLOUT if full. */
static int conn_flush(struct loadgen *g, struct conn *c) {
    uint32_t want = EPOLLIN | EPOLLRDHUP;
    /* A bulk stream always has more to write: writability is its clock. */
    if (g->opt.workload == WL_BULK && !g->sink_finishing) want |= EPOLLOUT;
    while (c->send_pending > 0) {
        size_t offset = (size_t)((g->request_len - c->send_pending % g->request_len) % g->request_len);
        size_t len = g->block_len - offset;
        if (len > c->send_pending) len = (size_t)c->send_pending;
        ssize_t n = net_send(c->fd, g->block + offset, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                want |= EPOLLOUT;
                break;
            }
            if (errno == EINTR) continue;
            return -1;
        }
        c->send_pending -= (uint64_t)n;
        g->bytes_tx_all += (uint64_t)n;
        if (g->measuring) g->bytes_tx += (uint64_t)n;
        if (g->opt.bulk_to_sink) g->interval_bytes += (uint64_t)n; /* a sink answers nothing until the end */
    }
    conn_arm(g, c, want);
    return 0;
}

/* --- connections --------------------------------------------------------------------- */

static void conn_close(struct loadgen *g, struct conn *c) {
    if (c->fd >= 0) net_close(c->fd);
    c->fd = -1;
    c->generation++;
    c->state = CONN_CLOSED;
    c->armed = 0;
    c->head = 0;
    c->in_flight = 0;
    c->send_pending = 0;
    c->reply_bytes = 0;
    c->part = HTTP_HEADER;
    c->header_len = 0;
    c->body_left = 0;
    c->response_close = false;
    c->response_done = false;
    /* Who opens it again: ready[] in open-loop short, reopen[] otherwise; a sink stream
     * is one POST and is not restarted once the run started. */
    bool sink = g->opt.workload == WL_BULK && g->opt.bulk_to_sink && g->measure_ns != 0;
    if (g->opt.workload == WL_SHORT && g->opt.rate > 0) {
        ready_push(g, c);
    } else if (!sink && !c->in_reopen) {
        g->reopen[g->reopen_count++] = (unsigned)(c - g->conns);
        c->in_reopen = true;
    }
}

/* A connection failed or closed under us: what it had in flight is lost. */
static void conn_fail(struct loadgen *g, struct conn *c) {
    g->err.lost += c->in_flight;
    conn_close(g, c);
}

static int conn_open(struct loadgen *g, struct conn *c) {
    int fd = net_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
        g->err.connect++;
        return -1;
    }
    c->fd = fd;
    c->state = CONN_CONNECTING;
    if (g->opt.workload != WL_BULK) {
        /* Small requests go out at once, as a latency benchmark wants (and as every
         * RPC client of this kind sets). */
        int one = 1;
        net_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (net_connect(fd, (const struct sockaddr *)&g->opt.server, sizeof g->opt.server) < 0 && errno != EINPROGRESS) {
        g->err.connect++;
        g->last_connect_errno = errno;
        conn_close(g, c);
        return -1;
    }
    /* Connected or not yet: writability says which, and SO_ERROR why not. */
    conn_arm(g, c, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
    return 0;
}

/* Keeps a bulk stream's queue from running dry: a block more whenever less than a block
 * is pending (a whole number of chunks, so the framing stays aligned). */
static void bulk_fill(struct loadgen *g, struct conn *c) {
    if (c->send_pending < g->block_len) c->send_pending += g->block_len;
}

/* The connection just became writable after connect(). */
static void conn_established(struct loadgen *g, struct conn *c, uint64_t now) {
    int error = 0;
    socklen_t len = sizeof error;
    if (net_getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) error = errno;
    if (error != 0) {
        g->err.connect++;
        g->last_connect_errno = error;
        conn_fail(g, c);
        return;
    }
    c->state = CONN_OPEN;
    g->connects++;
    switch (g->opt.workload) {
    case WL_ECHO:
    case WL_HTTP:
        /* The first connections start together when the clock starts (run()); one that
         * reconnects later starts at once: in closed loop with its depth of requests, in
         * open loop by offering its slots to the dispatcher. */
        if (g->measure_ns == 0) break;
        if (g->opt.rate <= 0) {
            while (c->in_flight < g->opt.depth) conn_push(g, c, now);
        } else {
            ready_push(g, c);
        }
        break;
    case WL_SHORT:
        c->send_pending = g->request_len; /* its one request; its start is in starts[] */
        break;
    case WL_BULK:
        if (g->opt.bulk_to_sink) {
            static const char head_fmt[] = "POST /sink HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n";
            char head[256];
            int n = snprintf(head, sizeof head, head_fmt, g->opt.server_text);
            if (net_send(c->fd, head, (size_t)n, MSG_NOSIGNAL) != n) { /* an empty socket takes it whole */
                g->err.reset++;
                conn_fail(g, c);
                return;
            }
        }
        bulk_fill(g, c);
        break;
    }
    if (conn_flush(g, c) < 0) {
        g->err.reset++;
        conn_fail(g, c);
    }
}

/* --- the HTTP response framer ------------------------------------------------------- */

/* Reads a header block ending in CRLF CRLF. Returns 0, or -1 if it is not a response
 * this client can frame. */
static int http_parse_header(struct loadgen *g, struct conn *c) {
    c->header[c->header_len] = '\0';
    int status = 0;
    /* RFC 9112 section 4: HTTP-version SP status-code SP [reason-phrase] */
    if (sscanf(c->header, "HTTP/1.%*d %3d", &status) != 1) return -1;
    if (status < 200 || status > 299) g->err.status++;
    bool have_length = false;
    c->response_close = false;
    for (char *line = strstr(c->header, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            c->body_left = strtoull(line + 15, NULL, 10);
            have_length = true;
        } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            return -1; /* chunked responses: not from our httpd, not framed here */
        } else if (strncasecmp(line, "Connection:", 11) == 0) {
            const char *v = line + 11;
            while (*v == ' ' || *v == '\t') ++v;
            if (strncasecmp(v, "close", 5) == 0) c->response_close = true;
        }
    }
    if (have_length) {
        c->part = HTTP_BODY;
    } else if (c->response_close || g->opt.workload == WL_SHORT) {
        c->part = HTTP_BODY_TO_EOF; /* RFC 9112 section 6.3, rule 8 */
    } else {
        return -1;
    }
    return 0;
}

/* Called when a response ends. */
static void http_response_done(struct loadgen *g, struct conn *c, uint64_t now) {
    c->part = HTTP_HEADER;
    c->header_len = 0;
    if (g->opt.workload == WL_SHORT) {
        c->response_done = true; /* completes at EOF */
    } else if (g->opt.workload == WL_BULK) {
        g->sink_answered = true;
    } else {
        complete_one(g, c, now);
    }
}

/* Frames `len` received bytes. Returns 0, or -1 on a response it cannot read. */
static int http_consume(struct loadgen *g, struct conn *c, const unsigned char *p, size_t len, uint64_t now) {
    while (len > 0) {
        if (c->part == HTTP_HEADER) {
            /* Copy up to and including the blank line that ends the header block. */
            while (len > 0) {
                if (c->header_len + 1 >= HTTP_HEADER_MAX) return -1;
                c->header[c->header_len++] = (char)*p++;
                len--;
                if (c->header_len >= 4 && memcmp(c->header + c->header_len - 4, "\r\n\r\n", 4) == 0) {
                    if (http_parse_header(g, c) < 0) return -1;
                    c->header_len = 0; /* the buffer now holds the sink's answer, if any */
                    if (c->part == HTTP_BODY && c->body_left == 0) http_response_done(g, c, now);
                    break;
                }
            }
        } else if (c->part == HTTP_BODY) {
            size_t take = len < c->body_left ? len : (size_t)c->body_left;
            if (g->opt.workload == WL_BULK && take > 0) {
                /* The sink's answer: "LENGTH CRC32\n"; header_len is free meanwhile. */
                size_t room = HTTP_HEADER_MAX - 1 - c->header_len;
                size_t copy = take < room ? take : room;
                memcpy(c->header + c->header_len, p, copy);
                c->header_len += (unsigned)copy;
                c->header[c->header_len] = '\0';
                if (c->body_left == take) g->sink_confirmed = strtoull(c->header, NULL, 10);
            }
            p += take;
            len -= take;
            c->body_left -= take;
            if (c->body_left == 0) http_response_done(g, c, now);
        } else { /* HTTP_BODY_TO_EOF */
            return 0;
        }
    }
    return 0;
}

/* --- reading ---------------------------------------------------------------------------- */

static void conn_readable(struct loadgen *g, struct conn *c, uint64_t now) {
    for (;;) {
        ssize_t n = net_recv(c->fd, recv_buffer, sizeof recv_buffer, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            g->err.reset++;
            conn_fail(g, c);
            return;
        }
        if (n == 0) {
            if (g->opt.workload == WL_SHORT && (c->response_done || c->part == HTTP_BODY_TO_EOF)) {
                complete_one(g, c, now);
                conn_close(g, c); /* its slot goes to ready[] or reopen[] */
            } else if (g->opt.workload == WL_HTTP && c->response_close && c->in_flight == 0) {
                conn_close(g, c); /* the server ended keep-alive after a complete answer */
            } else {
                g->err.eof++;
                conn_fail(g, c);
            }
            return;
        }
        if (!g->opt.bulk_to_sink) g->interval_bytes += (uint64_t)n;
        if (g->measuring) g->bytes_rx += (uint64_t)n;
        switch (g->opt.workload) {
        case WL_ECHO:
            /* Replies come back in order and are as long as the requests. */
            c->reply_bytes += (uint64_t)n;
            while (c->reply_bytes >= g->opt.size) {
                c->reply_bytes -= g->opt.size;
                complete_one(g, c, now);
            }
            break;
        case WL_HTTP:
        case WL_SHORT:
            if (http_consume(g, c, recv_buffer, (size_t)n, now) < 0) {
                g->err.protocol++;
                conn_fail(g, c);
                return;
            }
            break;
        case WL_BULK:
            if (g->opt.bulk_to_sink && http_consume(g, c, recv_buffer, (size_t)n, now) < 0) {
                g->err.protocol++;
                conn_fail(g, c);
                return;
            }
            break;
        }
        if ((size_t)n < sizeof recv_buffer) return; /* drained: no need to ask for EAGAIN */
    }
}

/* --- the dispatcher (open loop) ------------------------------------------------------ */

static void short_start(struct loadgen *g, struct conn *c, uint64_t start) {
    if (conn_open(g, c) < 0) return; /* counted; conn_close gave the slot back */
    c->starts[0] = start;
    c->head = 0;
    c->in_flight = 1;
}

static void dispatch(struct loadgen *g, uint64_t now) {
    while (g->next_due_ns <= now && g->next_due_ns < g->end_ns) {
        if (g->backlog_count == g->backlog_cap) {
            g->err.overflow++;
        } else {
            g->backlog[(g->backlog_head + g->backlog_count) % g->backlog_cap] = g->next_due_ns;
            g->backlog_count++;
        }
        g->next_due_ns += g->interval_ns;
    }
    while (g->backlog_count > 0 && g->ready_count > 0) {
        struct conn *c = &g->conns[g->ready[g->ready_head]];
        bool usable = g->opt.workload == WL_SHORT ? c->state == CONN_CLOSED : c->state == CONN_OPEN;
        if (!usable) { /* it failed since it was queued; it rejoins once reconnected */
            g->ready_head = (g->ready_head + 1) % g->opt.connections;
            g->ready_count--;
            c->in_ready = false;
            continue;
        }
        uint64_t start = g->backlog[g->backlog_head];
        g->backlog_head = (g->backlog_head + 1) % g->backlog_cap;
        g->backlog_count--;
        if (g->opt.workload == WL_SHORT) {
            g->ready_head = (g->ready_head + 1) % g->opt.connections;
            g->ready_count--;
            c->in_ready = false;
            short_start(g, c, start);
            continue;
        }
        conn_push(g, c, start);
        if (c->in_flight == g->opt.depth) {
            g->ready_head = (g->ready_head + 1) % g->opt.connections;
            g->ready_count--;
            c->in_ready = false;
        }
        if (conn_flush(g, c) < 0) {
            g->err.reset++;
            conn_fail(g, c); /* reopened from reopen[]; dropped from ready[] when next met */
        }
    }
}

/* --- events ----------------------------------------------------------------------------- */

static void conn_event(struct loadgen *g, struct conn *c, uint32_t events, uint64_t now) {
    if (c->state == CONN_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        conn_established(g, c, now);
        if (c->state != CONN_OPEN) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        conn_readable(g, c, now);
        if (c->state != CONN_OPEN) return;
        if ((events & EPOLLERR) && !(events & EPOLLIN)) {
            g->err.reset++;
            conn_fail(g, c);
            return;
        }
    }
    if (g->opt.workload == WL_BULK && !g->sink_finishing) bulk_fill(g, c);
    if (c->send_pending > 0 && conn_flush(g, c) < 0) {
        g->err.reset++;
        conn_fail(g, c);
    }
}

/* Opens again what reopen[] holds: persistent connections that failed, and in closed
 * loop the slots of short whose connection finished (each starts its next request). A
 * slot that fails again at once waits for the next round, so a refusing server costs a
 * connect per slot per round, not a spin. */
static void reopen_closed(struct loadgen *g, uint64_t now) {
    if (now >= g->end_ns) return;
    unsigned n = g->reopen_count;
    g->reopen_count = 0;
    for (unsigned i = 0; i < n; ++i) {
        struct conn *c = &g->conns[g->reopen[i]];
        c->in_reopen = false;
        if (c->state != CONN_CLOSED) continue;
        if (g->opt.workload == WL_SHORT) {
            short_start(g, c, now);
        } else {
            conn_open(g, c);
        }
    }
}

/* --- reporting ------------------------------------------------------------------------ */

static bool is_bulk(const struct loadgen *g) { return g->opt.workload == WL_BULK; }

static void progress(struct loadgen *g, uint64_t now) {
    double dt = (double)(now - g->last_progress_ns) / 1e9;
    if (dt <= 0) return;
    double t = (double)(now - g->start_ns) / 1e9;
    uint64_t errs = errors_total(&g->err);
    struct second s = {t, 0, 0, 0, 0, errs - g->interval_errors_base};
    if (is_bulk(g)) {
        s.rate = (double)g->interval_bytes * 8 / dt / 1e9;
        printf("loadgen: %6.1fs %8.3f Gb/s%s errors %" PRIu64 "\n", t, s.rate, g->measuring ? "" : " (warmup)",
               s.errors);
    } else {
        s.rate = (double)g->interval_completed / dt;
        s.p50_us = hist_quantile(&g->interval, 0.5) / 1e3;
        s.p99_us = hist_quantile(&g->interval, 0.99) / 1e3;
        s.p999_us = hist_quantile(&g->interval, 0.999) / 1e3;
        printf("loadgen: %6.1fs %10.0f req/s  p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  errors %" PRIu64 "%s\n", t,
               s.rate, s.p50_us, s.p99_us, s.p999_us, s.errors, g->measuring ? "" : " (warmup)");
    }
    fflush(stdout);
    if (g->measuring && g->seconds_count < g->seconds_cap) g->seconds[g->seconds_count++] = s;
    hist_clear(&g->interval);
    g->interval_completed = 0;
    g->interval_bytes = 0;
    g->interval_errors_base = errs;
    g->last_progress_ns = now;
}

/* Writes FILE.tmp, then renames it to FILE: a script waiting for FILE never reads half
 * of it. */
/* Requests still unanswered when the run ends, and how long the oldest has waited: a
 * request that never completes records no latency, so a hang would otherwise hide. */
struct unanswered {
    uint64_t count;
    uint64_t oldest_ns;
};

static struct unanswered count_unanswered(const struct loadgen *g, uint64_t now) {
    struct unanswered u = {0, 0};
    for (unsigned i = 0; i < g->opt.connections; ++i) {
        const struct conn *c = &g->conns[i];
        if (c->in_flight == 0) continue;
        u.count += c->in_flight;
        uint64_t start = c->starts[c->head];
        if (now > start && now - start > u.oldest_ns) u.oldest_ns = now - start;
    }
    /* Open loop: intended requests no connection could take yet. */
    if (g->backlog_count > 0) {
        u.count += g->backlog_count;
        uint64_t start = g->backlog[g->backlog_head];
        if (now > start && now - start > u.oldest_ns) u.oldest_ns = now - start;
    }
    return u;
}

static int write_json(const struct loadgen *g, double seconds, double rate, double gbps, struct unanswered u) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", g->opt.json) >= (int)sizeof tmp) {
        fprintf(stderr, "loadgen: --json path too long\n");
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "loadgen: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    const struct options *o = &g->opt;
    const struct histogram *h = &g->total;
    fprintf(f,
            "{\"stack\": \"%s\", \"workload\": \"%s\", \"server\": \"%s\", \"port\": %d, \"connections\": %u, "
            "\"depth\": %u, \"size\": %zu, \"path\": \"%s\", \"bulk_to\": \"%s\", \"mode\": \"%s\", \"rate_target\": %.0f, "
            "\"duration\": %.3f, \"warmup\": %.3f, \"seconds\": %.6f, \"stopped_early\": %s,\n",
            LOADGEN_STACK, workload_names[o->workload], o->server_text, o->port, o->connections, o->depth, o->size,
            o->path, o->bulk_to_sink ? "sink" : "echo", o->rate > 0 ? "open" : "closed", o->rate, o->duration,
            o->warmup, seconds, g->stopped ? "true" : "false");
    fprintf(f,
            " \"requests\": %" PRIu64 ", \"req_per_s\": %.1f, \"gbps\": %.4f, \"bytes_tx\": %" PRIu64
            ", \"bytes_rx\": %" PRIu64 ", \"connects\": %" PRIu64 ",\n",
            g->completed, rate, gbps, g->bytes_tx, g->bytes_rx, g->connects);
    fprintf(f,
            " \"latency_us\": {\"samples\": %" PRIu64 ", \"mean\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
            "\"p999\": %.3f, \"max\": %.3f},\n",
            h->total, h->total ? (double)h->sum_ns / (double)h->total / 1e3 : 0.0, hist_quantile(h, 0.5) / 1e3,
            hist_quantile(h, 0.9) / 1e3, hist_quantile(h, 0.99) / 1e3, hist_quantile(h, 0.999) / 1e3,
            (double)h->max_ns / 1e3);
    const struct errors *e = &g->err;
    fprintf(f,
            " \"errors\": {\"total\": %" PRIu64 ", \"connect\": %" PRIu64 ", \"reset\": %" PRIu64 ", \"eof\": %" PRIu64
            ", \"status\": %" PRIu64 ", \"protocol\": %" PRIu64 ", \"overflow\": %" PRIu64 ", \"lost\": %" PRIu64 "},\n",
            errors_total(e), e->connect, e->reset, e->eof, e->status, e->protocol, e->overflow, e->lost);
    fprintf(f, " \"warmup_errors\": %" PRIu64 ",\n", g->warmup_errors);
    fprintf(f, " \"unanswered_at_end\": {\"count\": %" PRIu64 ", \"oldest_us\": %.3f},\n", u.count,
            (double)u.oldest_ns / 1e3);
    if (o->workload == WL_BULK && o->bulk_to_sink)
        fprintf(f, " \"sink\": {\"sent\": %" PRIu64 ", \"confirmed\": %" PRIu64 ", \"answered\": %s},\n",
                g->sink_payload, g->sink_confirmed, g->sink_answered ? "true" : "false");
    fprintf(f, " \"per_second\": [");
    for (unsigned i = 0; i < g->seconds_count; ++i) {
        const struct second *s = &g->seconds[i];
        fprintf(f, "%s{\"t\": %.2f, \"rate\": %.3f, \"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, \"errors\": %" PRIu64 "}",
                i ? ", " : "", s->t, s->rate, s->p50_us, s->p99_us, s->p999_us, s->errors);
    }
    fprintf(f, "]}\n");
    if (fclose(f) != 0 || rename(tmp, g->opt.json) != 0) {
        fprintf(stderr, "loadgen: writing %s: %s\n", g->opt.json, strerror(errno));
        return -1;
    }
    return 0;
}

/* A bulk stream's TCP state at the end (TCP_INFO, Linux's struct tcp_info): what the
 * congestion and flow control had come to, to tell what limited the rate. */
static void print_tcp_info(int fd) {
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (net_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) {
        printf("loadgen: TCP_INFO: %s\n", strerror(errno));
        return;
    }
    printf("loadgen: tcp_info: rtt %u us (var %u), rto %u us, snd_mss %u, snd_cwnd %u, snd_ssthresh %u, "
           "rcv_space %u, retransmits total %u, lost %u, unacked %u\n",
           info.tcpi_rtt, info.tcpi_rttvar, info.tcpi_rto, info.tcpi_snd_mss, info.tcpi_snd_cwnd, info.tcpi_snd_ssthresh,
           info.tcpi_rcv_space, info.tcpi_total_retrans, info.tcpi_lost, info.tcpi_unacked);
}

/* --- the run ---------------------------------------------------------------------------- */

static int setup(struct loadgen *g) {
    const struct options *o = &g->opt;
    switch (o->workload) {
    case WL_ECHO:
        g->request_len = o->size;
        break;
    case WL_HTTP:
    case WL_SHORT: {
        char req[1024];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pollux-loadgen\r\n%s\r\n", o->path,
                         o->server_text, o->workload == WL_SHORT ? "Connection: close\r\n" : "");
        g->request_len = (size_t)n;
        break;
    }
    case WL_BULK:
        g->request_len = o->bulk_to_sink ? SINK_CHUNK + 9 : 65536;
        break;
    }
    size_t copies = o->depth;
    if (o->workload == WL_BULK) copies = 4;
    while (copies > 1 && copies * g->request_len > (256u << 10)) copies--;
    g->block_len = copies * g->request_len;
    g->block = malloc(g->block_len);
    g->conns = calloc(o->connections, sizeof *g->conns);
    g->start_storage = calloc((size_t)o->connections * o->depth, sizeof *g->start_storage);
    g->seconds_cap = (unsigned)(o->duration + 2);
    g->seconds = calloc(g->seconds_cap, sizeof *g->seconds);
    if (!g->block || !g->conns || !g->start_storage || !g->seconds) return -1;
    for (size_t i = 0; i < copies; ++i) {
        unsigned char *r = g->block + i * g->request_len;
        if (o->workload == WL_ECHO) {
            for (size_t k = 0; k < g->request_len; ++k) r[k] = (unsigned char)('a' + k % 26);
        } else if (o->workload == WL_BULK && o->bulk_to_sink) {
            /* "10000\r\n" + 64 KiB + "\r\n": one chunk of the chunked coding. */
            memcpy(r, "10000\r\n", 7);
            for (size_t k = 0; k < SINK_CHUNK; ++k) r[7 + k] = (unsigned char)(k * 131u >> 3);
            memcpy(r + 7 + SINK_CHUNK, "\r\n", 2);
        } else if (o->workload == WL_BULK) {
            for (size_t k = 0; k < g->request_len; ++k) r[k] = (unsigned char)(k * 131u >> 3);
        } else {
            snprintf((char *)r, g->request_len + 1, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pollux-loadgen\r\n%s\r\n",
                     o->path, o->server_text, o->workload == WL_SHORT ? "Connection: close\r\n" : "");
        }
    }
    for (unsigned i = 0; i < o->connections; ++i) {
        g->conns[i].fd = -1;
        g->conns[i].starts = g->start_storage + (size_t)i * o->depth;
    }
    if (o->rate > 0) {
        g->ready = calloc(o->connections, sizeof *g->ready);
        g->backlog_cap = (uint64_t)(o->rate * 2);
        if (g->backlog_cap < 1024) g->backlog_cap = 1024;
        if (g->backlog_cap > (1u << 24)) g->backlog_cap = 1u << 24;
        g->backlog = calloc(g->backlog_cap, sizeof *g->backlog);
        if (!g->ready || !g->backlog) return -1;
        g->interval_ns = (uint64_t)(1e9 / o->rate);
        if (g->interval_ns == 0) g->interval_ns = 1;
    }
    g->reopen = calloc(o->connections, sizeof *g->reopen);
    return g->reopen ? 0 : -1;
}

/* One epoll round: waits at most `timeout_ms`, handles what is ready. Returns -1 when the
 * stack was stopped. */
static int poll_once(struct loadgen *g, int timeout_ms) {
    struct epoll_event events[MAX_EVENTS];
#ifndef APP_STACK_KERNEL
    /* On pollux this loop runs inside px_run's callback (net_main), where
     * px_epoll_wait(..., 0) only collects what is queued and does not poll the stack
     * (src/api/epoll_api.cpp assumes the callback returns to px_run's loop, which this
     * one never does): a zero timeout would starve the stack. 1 ms polls until the first
     * event, so it costs nothing while replies flow; an open-loop send due sooner may
     * leave up to 1 ms late when nothing arrives meanwhile (and that lateness is counted
     * in its latency, never hidden). */
    if (timeout_ms == 0) timeout_ms = 1;
#endif
    int n = net_epoll_wait(g->epfd, events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) {
            g->stopped = true;
            return -1;
        }
        fprintf(stderr, "loadgen: epoll_wait: %s\n", strerror(errno));
        g->stopped = true;
        return -1;
    }
    uint64_t now = now_ns();
    for (int i = 0; i < n; ++i) {
        uint64_t token = events[i].data.u64;
        struct conn *c = &g->conns[(uint32_t)token];
        if ((uint32_t)(token >> 32) != c->generation || c->fd < 0) continue; /* a closed fd's event */
        conn_event(g, c, events[i].events, now);
    }
    return 0;
}

static int ms_until(uint64_t now, uint64_t when) {
    if (when <= now) return 0;
    uint64_t ms = (when - now) / 1000000u;
    return ms > 1000 ? 1000 : (int)ms;
}

static void bulk_sink_finish(struct loadgen *g) {
    /* The last chunk (RFC 9112 section 7.1): after what is pending, "0" CRLF CRLF. */
    struct conn *c = &g->conns[0];
    g->sink_finishing = true;
    if (c->state != CONN_OPEN) return;
    uint64_t deadline = now_ns() + 10ull * 1000000000ull;
    /* Finish the chunk being written, then no more. */
    c->send_pending %= g->request_len;
    while (c->send_pending > 0 && c->state == CONN_OPEN && now_ns() < deadline) {
        if (conn_flush(g, c) < 0) {
            g->err.reset++;
            conn_fail(g, c);
            return;
        }
        if (c->send_pending > 0 && poll_once(g, 10) < 0) return;
    }
    static const char last[] = "0\r\n\r\n";
    size_t off = 0;
    while (off < sizeof last - 1 && c->state == CONN_OPEN && now_ns() < deadline) {
        ssize_t n = net_send(c->fd, last + off, sizeof last - 1 - off, MSG_NOSIGNAL);
        if (n > 0) off += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            g->err.reset++;
            conn_fail(g, c);
            return;
        } else if (poll_once(g, 10) < 0) {
            return;
        }
    }
    while (!g->sink_answered && c->state == CONN_OPEN && now_ns() < deadline)
        if (poll_once(g, 10) < 0) return;
    if (!g->sink_answered) g->err.protocol++;
}

/* --linger: see the option. The JSON file is written between the two parts, so a script
 * that stops the server once the file appears finds this process asleep.
 * linger_settle: on pollux, 0.2 s of polling for the connections' FIN exchange. On the
 * kernel nothing: its stack needs no polling.
 * linger_rest: on pollux, polling while the memif peer goes away is what crashes
 * (librte_net_memif was seen to segfault in the client's rx path when the server
 * stopped), so the stack is left alone and the process sleeps; SIGTERM, caught by
 * pollux, cuts the sleep short (nanosleep is never restarted after a handler,
 * signal(7)). On the kernel, SIGTERM reaches us only inside epoll_pwait (app_net.h), so
 * it waits there. */
static void linger_settle(struct loadgen *g) {
#ifdef APP_STACK_KERNEL
    (void)g;
#else
    uint64_t until = now_ns() + 200000000ull;
    while (now_ns() < until && poll_once(g, 10) == 0) {
    }
#endif
}

static void linger_rest(struct loadgen *g, double seconds) {
    uint64_t until = now_ns() + (uint64_t)(seconds * 1e9);
#ifdef APP_STACK_KERNEL
    while (now_ns() < until && poll_once(g, 100) == 0) {
    }
#else
    while (!g->stopped && now_ns() < until) {
        struct timespec nap = {0, 50000000};
        if (nanosleep(&nap, NULL) < 0 && errno == EINTR) break;
    }
#endif
}

static int run(int argc, char **argv, void *ctx) {
    (void)ctx;
    static struct loadgen gen;
    struct loadgen *g = &gen;
    int rc = parse_options(argc, argv, &g->opt);
    if (rc != 0) return rc > 0 ? 0 : 2;
    const struct options *o = &g->opt;
    if (setup(g) < 0) {
        fprintf(stderr, "loadgen: out of memory for %u connections x depth %u\n", o->connections, o->depth);
        return 1;
    }
    g->epfd = net_epoll_create1(0);
    if (g->epfd < 0) {
        fprintf(stderr, "loadgen: epoll_create1: %s\n", strerror(errno));
        return 1;
    }
    printf("loadgen (%s): %s to %s:%d, %u connection(s), depth %u, %s loop, %.1f s measured after %.1f s warmup\n",
           LOADGEN_STACK, workload_names[o->workload], o->server_text, o->port, o->connections, o->depth,
           o->rate > 0 ? "open" : "closed", o->duration, o->warmup);
    if (o->workload == WL_ECHO) printf("loadgen: %zu-byte messages\n", o->size);
    if (o->rate > 0) printf("loadgen: %.0f requests/s in all\n", o->rate);
    fflush(stdout);

    /* Connect every persistent connection first: the clock starts when they are up. */
    uint64_t now = now_ns();
    g->start_ns = now;
    g->end_ns = UINT64_MAX;
    if (o->workload != WL_SHORT) {
        /* Until every connection is up or the timeout: one that fails is tried again
         * (reopen[]), as the link may still be coming up (a memif peer, ARP). */
        unsigned opened = o->workload == WL_BULK ? 1 : o->connections;
        for (unsigned i = 0; i < opened; ++i) conn_open(g, &g->conns[i]);
        uint64_t deadline = now + CONNECT_TIMEOUT_NS;
        unsigned open = 0;
        for (;;) {
            open = 0;
            for (unsigned i = 0; i < opened; ++i) open += g->conns[i].state == CONN_OPEN;
            if (open == opened || now_ns() >= deadline) break;
            if (poll_once(g, 10) < 0) break;
            reopen_closed(g, now_ns());
        }
        printf("loadgen: %u of %u connections open after %.3f s", open, opened, (double)(now_ns() - now) / 1e9);
        if (g->err.connect > 0)
            printf(" (%" PRIu64 " failed attempts, the last: %s)", g->err.connect, strerror(g->last_connect_errno));
        printf("\n");
        if (open == 0) {
            fprintf(stderr, "loadgen: no connection to %s:%d could be opened\n", o->server_text, o->port);
            return 1;
        }
        /* Closed now, or still connecting: they join when they are up. */
        memset(&g->err, 0, sizeof g->err);
    }
    now = now_ns();
    g->start_ns = now;
    g->measure_ns = now + (uint64_t)(o->warmup * 1e9);
    if (g->measure_ns == 0) g->measure_ns = 1;
    g->end_ns = g->measure_ns + (uint64_t)(o->duration * 1e9);
    g->measuring = o->warmup <= 0;
    g->last_progress_ns = now;
    g->next_progress_ns = now + 1000000000ull;
    g->next_due_ns = now;
    /* Start the requests of the connections that are up. */
    for (unsigned i = 0; i < o->connections; ++i) {
        struct conn *c = &g->conns[i];
        if (c->state == CONN_OPEN && (o->workload == WL_ECHO || o->workload == WL_HTTP)) {
            if (o->rate <= 0) {
                while (c->in_flight < o->depth) conn_push(g, c, now);
                if (conn_flush(g, c) < 0) {
                    g->err.reset++;
                    conn_fail(g, c);
                }
            } else {
                ready_push(g, c);
            }
        } else if (o->workload == WL_SHORT) {
            conn_close(g, c); /* a free slot: into ready[] (open loop) or reopen[] */
        }
    }

    while (!g->stopped) {
        now = now_ns();
        if (!g->measuring && now >= g->measure_ns) {
            /* The last warmup line ends here, so the first measured line is clean. Errors
             * count from here too (short has no connect phase: its first connections may
             * meet a link still coming up); the warmup's are kept apart. */
            progress(g, now);
            g->measuring = true;
            g->warmup_errors = errors_total(&g->err);
            memset(&g->err, 0, sizeof g->err);
            g->interval_errors_base = 0;
            g->next_progress_ns = now + 1000000000ull;
            g->bytes_rx = g->bytes_tx = 0;
            g->interval_bytes = 0;
        }
        if (now >= g->end_ns) break;
        if (now >= g->next_progress_ns) {
            progress(g, now);
            g->next_progress_ns += 1000000000ull;
        }
        if (o->rate > 0) dispatch(g, now);
        reopen_closed(g, now);
        uint64_t wake = g->next_progress_ns < g->end_ns ? g->next_progress_ns : g->end_ns;
        if (!g->measuring && g->measure_ns < wake) wake = g->measure_ns;
        if (o->rate > 0 && g->next_due_ns < wake) wake = g->next_due_ns;
        poll_once(g, ms_until(now, wake));
    }
    uint64_t end = now_ns();
    if (end > g->end_ns) end = g->end_ns;
    if (end > g->last_progress_ns + 100000000ull) progress(g, end);
    double seconds = g->measuring ? (double)(end - g->measure_ns) / 1e9 : 0;

    double rate = 0, gbps = 0;
    if (o->workload == WL_BULK && o->bulk_to_sink) {
        /* The rate counts payload written in the measured window (chunk framing, 9 of
         * every SINK_CHUNK + 9 bytes, left out); the server's answer must then confirm
         * every payload byte of the whole run, or the run counts a protocol error. */
        gbps = seconds > 0 ? (double)(g->bytes_tx / g->request_len * SINK_CHUNK) * 8 / seconds / 1e9 : 0;
        if (!g->stopped) bulk_sink_finish(g);
        g->sink_payload = g->bytes_tx_all / g->request_len * SINK_CHUNK;
        if (g->sink_answered && g->sink_confirmed != g->sink_payload) g->err.protocol++;
        printf("loadgen: sink: %" PRIu64 " payload bytes sent, %" PRIu64 " confirmed by the server\n", g->sink_payload,
               g->sink_confirmed);
    } else if (o->workload == WL_BULK) {
        gbps = seconds > 0 ? (double)g->bytes_rx * 8 / seconds / 1e9 : 0;
    } else {
        rate = seconds > 0 ? (double)g->completed / seconds : 0;
    }
    const struct histogram *h = &g->total;
    if (o->workload == WL_BULK) {
        printf("loadgen: result %s bulk: %.3f Gb/s over %.2f s, errors %" PRIu64 "\n", LOADGEN_STACK, gbps, seconds,
               errors_total(&g->err));
    } else {
        printf("loadgen: result %s %s: %.0f req/s over %.2f s, latency p50 %.1f us p99 %.1f us p99.9 %.1f us max %.1f us,"
               " errors %" PRIu64 "\n",
               LOADGEN_STACK, workload_names[o->workload], rate, seconds, hist_quantile(h, 0.5) / 1e3,
               hist_quantile(h, 0.99) / 1e3, hist_quantile(h, 0.999) / 1e3, (double)h->max_ns / 1e3,
               errors_total(&g->err));
    }
    const struct errors *e = &g->err;
    if (errors_total(e) || e->lost)
        printf("loadgen: errors: connect %" PRIu64 ", reset %" PRIu64 ", eof %" PRIu64 ", status %" PRIu64
               ", protocol %" PRIu64 ", overflow %" PRIu64 ", lost in flight %" PRIu64 "\n",
               e->connect, e->reset, e->eof, e->status, e->protocol, e->overflow, e->lost);
    if (e->connect > 0) printf("loadgen: the last connect error: %s\n", strerror(g->last_connect_errno));
    if (g->warmup_errors > 0)
        printf("loadgen: %" PRIu64 " error(s) during the warmup, not counted above\n", g->warmup_errors);
    struct unanswered u = {0, 0};
    if (o->workload != WL_BULK) {
        u = count_unanswered(g, end);
        printf("loadgen: %" PRIu64 " request(s) unanswered at the end, the oldest sent %.1f us before\n", u.count,
               (double)u.oldest_ns / 1e3);
    }
    if (g->stopped) printf("loadgen: stopped early\n");
    fflush(stdout);
    if (o->workload == WL_BULK && g->conns[0].state == CONN_OPEN) print_tcp_info(g->conns[0].fd);
    for (unsigned i = 0; i < o->connections; ++i)
        if (g->conns[i].fd >= 0) conn_close(g, &g->conns[i]);
    bool lingering = o->linger > 0 && !g->stopped;
    if (lingering) linger_settle(g);
    int status = 0;
    if (o->json && write_json(g, seconds, rate, gbps, u) < 0) status = 1;
    if (lingering) linger_rest(g, o->linger);
    net_close(g->epfd);
    return status;
}

int main(int argc, char **argv) { return net_main(argc, argv, run, NULL); }
