/* tcp_bulk: one TCP connection carrying a deterministic byte stream each way at once,
 * between pollux and a kernel peer (tcp_bulk_peer.py), for tcp_bulk_test.sh.
 *
 *   tcp_bulk [EAL args] -- --ip ADDR/LEN [--gw ADDR] [pollux options]
 *            (--listen PORT | --connect ADDR:PORT)
 *            [--send-bytes N] [--recv-bytes N] [--send-seed S] [--recv-seed S]
 *            [--timeout SECONDS] [--wait-signal] [--connect-when PATH]
 *
 * --listen accepts one connection (passive open); --connect opens one to a kernel
 * listener (active open; a refused or failed attempt is retried every 200 ms until the
 * timeout). --connect-when PATH holds the connect back until PATH exists, so that a test
 * can configure the kernel's side of the link first. Then, both at once: it sends
 * --send-bytes of the stream of --send-seed and shuts its write side down (FIN), and it
 * reads until the peer's FIN, checking every byte against the stream of --recv-seed and
 * hashing what arrived (SHA-256). It prints one line:
 *
 *   tcp_bulk: ok: sent N bytes sha256 HEX, received M bytes sha256 HEX, T s, tx X Mbit/s, rx Y Mbit/s
 *
 * (T from the handshake to both FINs; tx until our FIN was queued, rx until the peer's FIN)
 * or "tcp_bulk: FAIL: <why>: ..." with the same figures. --wait-signal keeps the stack
 * running afterwards until SIGINT/SIGTERM, so that the test can read /pollux/stats; the
 * exit status is 0 only when the transfer was whole and equal and every close succeeded.
 *
 * The stream of seed S: little-endian 64-bit words, word k = base[k mod 8192] XOR k, where
 * base[i] = splitmix64 output number i+1 from state S. Every word carries its own index,
 * so a segment delivered at a wrong offset never matches; tcp_bulk_peer.py builds the same.
 *
 * Run-to-completion like examples/echo: px_run calls bulk_poll once per iteration, and
 * bulk_poll uses non-blocking sockets only. Public headers only, as a user's program. */
#include <pollux/pollux.h>
#include <pollux/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_WORDS 8192 /* one chunk: 64 KiB */
#define PATTERN_CHUNK (PATTERN_WORDS * 8)
#define RECV_BUFFER_SIZE 65536
#define CONNECT_RETRY_NS 200000000LL
#define DEFAULT_BYTES (100LL * 1000 * 1000)
#define DEFAULT_TIMEOUT_S 120

/* ---- SHA-256 (FIPS 180-4) ---- */

struct sha256 {
    uint32_t h[8];
    uint64_t length; /* bytes hashed */
    unsigned char block[64];
    size_t used; /* bytes in block */
};

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr32(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(struct sha256 *s) {
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, initial, sizeof initial);
    s->length = 0;
    s->used = 0;
}

static void sha256_block(struct sha256 *s, const unsigned char *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    }
    for (int i = 16; i < 64; ++i) {
        uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; ++i) {
        uint32_t t1 = h + (rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
        uint32_t t2 = (rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

static void sha256_update(struct sha256 *s, const unsigned char *p, size_t n) {
    s->length += n;
    if (s->used > 0) {
        size_t take = 64 - s->used < n ? 64 - s->used : n;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        n -= take;
        if (s->used < 64) return;
        sha256_block(s, s->block);
        s->used = 0;
    }
    for (; n >= 64; p += 64, n -= 64) sha256_block(s, p);
    memcpy(s->block, p, n);
    s->used = n;
}

/* Writes the digest as 64 lowercase hex digits and a NUL. */
static void sha256_hex(const struct sha256 *state, char out[65]) {
    struct sha256 s = *state;
    const uint64_t bits = s.length * 8;
    const unsigned char one = 0x80, zero = 0;
    sha256_update(&s, &one, 1);
    while (s.used != 56) sha256_update(&s, &zero, 1);
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) length[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(&s, length, 8);
    for (int i = 0; i < 8; ++i) snprintf(out + 8 * i, 9, "%08" PRIx32, s.h[i]);
}

/* ---- the stream ---- */

/* Produces the stream of one seed chunk by chunk (64 KiB each). */
struct pattern {
    uint64_t base[PATTERN_WORDS];
    unsigned char chunk[PATTERN_CHUNK];
    uint64_t chunk_index; /* of the chunk in `chunk` */
};

static void pattern_init(struct pattern *p, uint64_t seed) {
    uint64_t state = seed;
    for (size_t i = 0; i < PATTERN_WORDS; ++i) {
        state += 0x9e3779b97f4a7c15ULL; /* splitmix64 */
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        p->base[i] = z ^ (z >> 31);
    }
    p->chunk_index = UINT64_MAX;
}

/* The stream's bytes [offset, offset + n) with n <= what is left in offset's chunk. */
static const unsigned char *pattern_at(struct pattern *p, uint64_t offset, size_t *n) {
    const uint64_t index = offset / PATTERN_CHUNK;
    if (index != p->chunk_index) {
        for (size_t i = 0; i < PATTERN_WORDS; ++i) {
            const uint64_t word = p->base[i] ^ (index * PATTERN_WORDS + i);
            for (int b = 0; b < 8; ++b) p->chunk[8 * i + b] = (unsigned char)(word >> (8 * b));
        }
        p->chunk_index = index;
    }
    const size_t at = (size_t)(offset % PATTERN_CHUNK);
    if (*n > PATTERN_CHUNK - at) *n = PATTERN_CHUNK - at;
    return p->chunk + at;
}

/* ---- the program ---- */

enum phase { CONNECTING, ACCEPTING, TRANSFERRING, FINISHED };

struct options {
    bool listen;
    struct sockaddr_in address; /* --listen: 0.0.0.0:PORT; --connect: the peer */
    uint64_t send_bytes;
    uint64_t recv_bytes;
    uint64_t send_seed;
    uint64_t recv_seed;
    long long timeout_s;
    bool wait_signal;
    const char *connect_when; /* NULL: connect at once */
};

struct bulk {
    struct options o;
    enum phase phase;
    int listen_fd;
    int fd;
    unsigned connect_attempts;
    int last_connect_error;
    long long next_connect_ns;
    long long start_ns;       /* program start: the timeout counts from here */
    long long established_ns; /* the transfer's clock starts here */
    long long finished_ns;
    long long sent_ns;     /* the last byte went into the send buffer (then our FIN) */
    long long received_ns; /* the peer's FIN arrived */
    uint64_t sent;
    uint64_t received;
    bool write_shut;
    bool eof;
    const char *failure; /* NULL while all is well */
    int failure_errno;
    uint64_t first_mismatch; /* offset of the first received byte that differs; UINT64_MAX: none */
    struct sha256 sent_hash;
    struct sha256 recv_hash;
    struct pattern send_pattern;
    struct pattern recv_pattern;
    unsigned char buffer[RECV_BUFFER_SIZE];
};

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int parse_u64(const char *text, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-') return -1;
    *out = v;
    return 0;
}

static int parse_port(const char *text, unsigned short *port) {
    uint64_t v = 0;
    if (parse_u64(text, &v) < 0 || v < 1 || v > 65535) return -1;
    *port = (unsigned short)v;
    return 0;
}

/* Returns 0 to run, 1 after --help, -1 on a bad argument (reported on stderr). */
static int parse_args(int argc, char **argv, struct options *o) {
    bool have_mode = false;
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0) {
            printf("usage: tcp_bulk [EAL args] -- --ip ADDR/LEN [pollux options] (--listen PORT | --connect "
                   "ADDR:PORT) [--send-bytes N] [--recv-bytes N] [--send-seed S] [--recv-seed S] "
                   "[--timeout SECONDS] [--wait-signal] [--connect-when PATH]\n");
            return 1;
        }
        if (strcmp(arg, "--wait-signal") == 0) {
            o->wait_signal = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tcp_bulk: %s: unknown, or needs a value\n", arg);
            return -1;
        }
        const char *value = argv[++i];
        uint64_t v = 0;
        if (strcmp(arg, "--listen") == 0) {
            unsigned short port = 0;
            if (parse_port(value, &port) < 0) goto bad;
            o->listen = true;
            o->address.sin_addr.s_addr = INADDR_ANY;
            o->address.sin_port = htons(port);
            have_mode = true;
        } else if (strcmp(arg, "--connect") == 0) {
            char host[64];
            const char *colon = strrchr(value, ':');
            unsigned short port = 0;
            if (colon == NULL || (size_t)(colon - value) >= sizeof host || parse_port(colon + 1, &port) < 0) goto bad;
            memcpy(host, value, (size_t)(colon - value));
            host[colon - value] = '\0';
            if (inet_pton(AF_INET, host, &o->address.sin_addr) != 1) goto bad;
            o->listen = false;
            o->address.sin_port = htons(port);
            have_mode = true;
        } else if (strcmp(arg, "--send-bytes") == 0) {
            if (parse_u64(value, &o->send_bytes) < 0) goto bad;
        } else if (strcmp(arg, "--recv-bytes") == 0) {
            if (parse_u64(value, &o->recv_bytes) < 0) goto bad;
        } else if (strcmp(arg, "--send-seed") == 0) {
            if (parse_u64(value, &o->send_seed) < 0) goto bad;
        } else if (strcmp(arg, "--recv-seed") == 0) {
            if (parse_u64(value, &o->recv_seed) < 0) goto bad;
        } else if (strcmp(arg, "--connect-when") == 0) {
            o->connect_when = value;
        } else if (strcmp(arg, "--timeout") == 0) {
            if (parse_u64(value, &v) < 0 || v < 1 || v > 86400) goto bad;
            o->timeout_s = (long long)v;
        } else {
            fprintf(stderr, "tcp_bulk: unknown argument %s\n", arg);
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "tcp_bulk: %s %s: not a valid value\n", arg, value);
        return -1;
    }
    if (!have_mode) {
        fprintf(stderr, "tcp_bulk: --listen PORT or --connect ADDR:PORT is required\n");
        return -1;
    }
    return 0;
}

static void fail(struct bulk *b, const char *why, int error) {
    if (b->failure == NULL) {
        b->failure = why;
        b->failure_errno = error;
    }
    b->phase = FINISHED;
    b->finished_ns = now_ns();
}

static void print_result(const struct bulk *b) {
    char sent_hex[65], recv_hex[65];
    sha256_hex(&b->sent_hash, sent_hex);
    sha256_hex(&b->recv_hash, recv_hex);
    const long long start = b->established_ns != 0 ? b->established_ns : b->start_ns;
    const double seconds = (double)(b->finished_ns - start) / 1e9;
    /* Each way over its own time: until our FIN was queued, until the peer's arrived. */
    const double tx_seconds = (double)((b->sent_ns != 0 ? b->sent_ns : b->finished_ns) - start) / 1e9;
    const double rx_seconds = (double)((b->received_ns != 0 ? b->received_ns : b->finished_ns) - start) / 1e9;
    const double tx_mbit = tx_seconds > 0 ? (double)b->sent * 8 / tx_seconds / 1e6 : 0;
    const double rx_mbit = rx_seconds > 0 ? (double)b->received * 8 / rx_seconds / 1e6 : 0;
    char why[160] = "ok";
    if (b->failure != NULL) {
        snprintf(why, sizeof why, "FAIL: %s%s%s", b->failure, b->failure_errno != 0 ? ": " : "",
                 b->failure_errno != 0 ? strerror(b->failure_errno) : "");
    }
    char mismatch[64] = "";
    if (b->first_mismatch != UINT64_MAX) {
        snprintf(mismatch, sizeof mismatch, ", first wrong byte at %" PRIu64, b->first_mismatch);
    }
    printf("tcp_bulk: %s: sent %" PRIu64 " bytes sha256 %s, received %" PRIu64 " bytes sha256 %s%s, "
           "%.2f s, tx %.1f Mbit/s, rx %.1f Mbit/s, %u connect attempt(s)\n",
           why, b->sent, sent_hex, b->received, recv_hex, mismatch, seconds, tx_mbit, rx_mbit, b->connect_attempts);
    fflush(stdout);
}

static void start_transfer(struct bulk *b, int fd) {
    b->fd = fd;
    b->phase = TRANSFERRING;
    b->established_ns = now_ns();
    if (b->o.send_bytes == 0 && px_shutdown(fd, SHUT_WR) == 0) b->write_shut = true;
}

/* Active open: a non-blocking connect, polled through SO_ERROR (the outcome) and
 * getpeername (ENOTCONN until the handshake is done), retried on failure. */
static void poll_connect(struct bulk *b, long long now) {
    if (b->fd < 0) {
        if (now < b->next_connect_ns) return;
        if (b->o.connect_when != NULL && access(b->o.connect_when, F_OK) != 0) {
            b->next_connect_ns = now + CONNECT_RETRY_NS / 20; /* look again in 10 ms */
            return;
        }
        b->fd = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (b->fd < 0) {
            fail(b, "px_socket", errno);
            return;
        }
        b->connect_attempts++;
        if (px_connect(b->fd, (const struct sockaddr *)&b->o.address, sizeof b->o.address) < 0 &&
            errno != EINPROGRESS) {
            b->last_connect_error = errno;
            px_close(b->fd);
            b->fd = -1;
            b->next_connect_ns = now + CONNECT_RETRY_NS;
        }
        return;
    }
    int error = 0;
    socklen_t len = sizeof error;
    if (px_getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) {
        fail(b, "px_getsockopt(SO_ERROR)", errno);
        return;
    }
    if (error != 0) { /* refused or timed out: the kernel side may not have been up yet */
        b->last_connect_error = error;
        px_close(b->fd);
        b->fd = -1;
        b->next_connect_ns = now + CONNECT_RETRY_NS;
        return;
    }
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    if (px_getpeername(b->fd, (struct sockaddr *)&peer, &peer_len) == 0) {
        int fd = b->fd;
        b->fd = -1;
        start_transfer(b, fd);
    } else if (errno != ENOTCONN) {
        fail(b, "px_getpeername", errno);
    }
}

static void poll_accept(struct bulk *b) {
    int fd = px_accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK);
    if (fd >= 0) {
        start_transfer(b, fd);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        fail(b, "px_accept4", errno);
    }
}

/* Sends until the send buffer is full or the stream has all gone, then the FIN. */
static void poll_send(struct bulk *b) {
    while (!b->write_shut) {
        if (b->sent == b->o.send_bytes) {
            if (px_shutdown(b->fd, SHUT_WR) < 0) {
                fail(b, "px_shutdown(SHUT_WR)", errno);
                return;
            }
            b->write_shut = true;
            b->sent_ns = now_ns();
            return;
        }
        const uint64_t left = b->o.send_bytes - b->sent;
        size_t n = left < PATTERN_CHUNK ? (size_t)left : PATTERN_CHUNK;
        const unsigned char *p = pattern_at(&b->send_pattern, b->sent, &n);
        ssize_t r = px_send(b->fd, p, n, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            fail(b, "px_send", errno);
            return;
        }
        sha256_update(&b->sent_hash, p, (size_t)r);
        b->sent += (uint64_t)r;
    }
}

/* Compares received bytes with the expected stream, remembering the first difference. */
static void check_received(struct bulk *b, const unsigned char *data, size_t n) {
    uint64_t offset = b->received;
    while (n > 0 && b->first_mismatch == UINT64_MAX && offset < b->o.recv_bytes) {
        size_t take = n;
        if (take > b->o.recv_bytes - offset) take = (size_t)(b->o.recv_bytes - offset);
        const unsigned char *expected = pattern_at(&b->recv_pattern, offset, &take);
        if (memcmp(expected, data, take) != 0) {
            size_t i = 0;
            while (expected[i] == data[i]) ++i;
            b->first_mismatch = offset + i;
        }
        offset += take;
        data += take;
        n -= take;
    }
}

/* Reads until the receive queue is empty or the peer's FIN. */
static void poll_recv(struct bulk *b) {
    while (!b->eof) {
        ssize_t r = px_recv(b->fd, b->buffer, sizeof b->buffer, 0);
        if (r > 0) {
            check_received(b, b->buffer, (size_t)r);
            sha256_update(&b->recv_hash, b->buffer, (size_t)r);
            b->received += (uint64_t)r;
            if (b->received > b->o.recv_bytes) {
                fail(b, "more bytes than expected", 0);
                return;
            }
            continue;
        }
        if (r == 0) {
            b->eof = true;
            b->received_ns = now_ns();
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        fail(b, "px_recv", errno);
        return;
    }
}

static void finish_transfer(struct bulk *b) {
    b->phase = FINISHED;
    b->finished_ns = now_ns();
    if (b->received != b->o.recv_bytes) {
        fail(b, "the peer's FIN came early", 0);
    } else if (b->first_mismatch != UINT64_MAX) {
        fail(b, "received bytes differ from the stream", 0);
    }
}

static void close_all(struct bulk *b) {
    if (b->fd >= 0 && px_close(b->fd) < 0) fail(b, "px_close", errno);
    b->fd = -1;
    if (b->listen_fd >= 0 && px_close(b->listen_fd) < 0) fail(b, "px_close(listener)", errno);
    b->listen_fd = -1;
}

/* Called by px_run once per loop iteration. */
static void bulk_poll(void *arg) {
    struct bulk *b = arg;
    if (b->phase == FINISHED) return;
    const long long now = now_ns();
    if (now - b->start_ns > b->o.timeout_s * 1000000000LL) {
        fail(b, b->phase == CONNECTING ? "timeout while connecting" : "timeout", b->last_connect_error);
    } else if (b->phase == CONNECTING) {
        poll_connect(b, now);
    } else if (b->phase == ACCEPTING) {
        poll_accept(b);
    }
    if (b->phase == TRANSFERRING) {
        poll_recv(b);
        if (b->phase == TRANSFERRING) poll_send(b);
        if (b->phase == TRANSFERRING && b->write_shut && b->eof) finish_transfer(b);
    }
    if (b->phase == FINISHED) {
        close_all(b);
        print_result(b);
        if (!b->o.wait_signal) px_stop();
    }
}

static int open_listener(struct bulk *b) {
    int fd = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "tcp_bulk: px_socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    if (px_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        px_bind(fd, (const struct sockaddr *)&b->o.address, sizeof b->o.address) < 0 || px_listen(fd, 1) < 0) {
        fprintf(stderr, "tcp_bulk: listener on port %d: %s\n", ntohs(b->o.address.sin_port), strerror(errno));
        px_close(fd);
        return -1;
    }
    b->listen_fd = fd;
    return 0;
}

int main(int argc, char **argv) {
    int n = px_init(argc, argv);
    if (n < 0) return 1;
    argc -= n;
    argv += n;
    /* Static: 1 MiB of pattern state, and it must outlive px_run's calls. */
    static struct bulk b;
    b.o.address.sin_family = AF_INET;
    b.o.send_bytes = DEFAULT_BYTES;
    b.o.recv_bytes = DEFAULT_BYTES;
    b.o.send_seed = 1;
    b.o.recv_seed = 2;
    b.o.timeout_s = DEFAULT_TIMEOUT_S;
    int parsed = parse_args(argc, argv, &b.o);
    if (parsed != 0) {
        px_fini();
        return parsed > 0 ? 0 : 2;
    }
    b.fd = -1;
    b.listen_fd = -1;
    b.first_mismatch = UINT64_MAX;
    sha256_init(&b.sent_hash);
    sha256_init(&b.recv_hash);
    pattern_init(&b.send_pattern, b.o.send_seed);
    pattern_init(&b.recv_pattern, b.o.recv_seed);
    b.phase = b.o.listen ? ACCEPTING : CONNECTING;
    if (b.o.listen && open_listener(&b) < 0) {
        px_fini();
        return 1;
    }
    char peer[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &b.o.address.sin_addr, peer, sizeof peer);
    fprintf(stderr, "tcp_bulk: running (pollux %s), %s %s:%d, %" PRIu64 " bytes out, %" PRIu64 " bytes in\n",
            px_version(), b.o.listen ? "listening on" : "connecting to", peer, ntohs(b.o.address.sin_port),
            b.o.send_bytes, b.o.recv_bytes);
    b.start_ns = now_ns();
    int rc = 0;
    if (px_run(bulk_poll, &b) < 0) {
        fprintf(stderr, "tcp_bulk: px_run: %s\n", strerror(errno));
        rc = 1;
    }
    if (b.phase != FINISHED) { /* stopped by a signal before the end */
        fail(&b, "stopped before the transfer ended", 0);
        close_all(&b);
        print_result(&b);
    }
    px_fini();
    return rc != 0 || b.failure != NULL ? 1 : 0;
}
