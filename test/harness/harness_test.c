/* The public test harness (pollux/harness.h), driven as a user's program or a conformance
 * tool would: public headers only, frames forged and checked byte by byte, virtual time.
 *
 *   tcp_passive:   ARP from the peer, SYN -> SYN-ACK (flags, ack, MSS), handshake, accept,
 *                  send, the data segment, its retransmissions at the exact RTO instants,
 *                  the ACK, close -> FIN; a blocking call on the manual clock is EAGAIN.
 *   udp_and_arp:   a datagram in, recvfrom, sendto to an unknown neighbour: the ARP
 *                  request drains, the reply releases the queued datagram.
 *   ip_level:      inject_ip/drain_ip only: ICMP echo, an active open whose SYN is
 *                  retransmitted at the initial 1 s RTO, the handshake, data.
 *   determinism:   one script twice gives byte-identical frames; another seed, another ISN.
 *   errors:        EBUSY, EINVAL, EMSGSIZE (frame kept), EAGAIN.
 * Exit status 0 when every check held. */
#include <pollux/harness.h>
#include <pollux/pollux.h>
#include <pollux/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packets.h"

static int failures;
#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);       \
            ++failures;                                                                 \
        }                                                                               \
    } while (0)
#define REQUIRE(c)                                                                      \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: REQUIRE(%s) failed (errno %d)\n", __FILE__, __LINE__, #c, errno); \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

#define MS 1000000ull
#define US 1000ull

static const uint8_t STACK_MAC[6] = {0x02, 0, 0, 0, 0, 0x02};  /* the harness defaults */
static const uint8_t PEER_MAC[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t BROADCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t ZERO_MAC[6] = {0};
#define STACK_IP 0xc6120002u /* 198.18.0.2 */
#define PEER_IP 0xc6120001u  /* 198.18.0.1 */

static struct px_harness *make(uint64_t seed, uint64_t start_ns) {
    struct px_harness_config c;
    memset(&c, 0, sizeof c);
    c.address = "198.18.0.2/24";
    c.seed = seed;
    c.start_ns = start_ns;
    struct px_harness *h = px_harness_create(&c);
    REQUIRE(h != NULL);
    return h;
}

static struct sockaddr_in in4(uint32_t addr, uint16_t port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    uint8_t a[4], p[2];
    put32(a, addr);
    put16(p, port);
    memcpy(&sa.sin_addr.s_addr, a, 4);
    memcpy(&sa.sin_port, p, 2);
    return sa;
}

/* Drains one frame that must be IPv4 from the stack to the peer's MAC, and parses it. */
static int drain_ipv4(struct px_harness *h, uint8_t *frame, size_t cap, struct parsed *p) {
    const ssize_t n = px_harness_drain(h, frame, cap);
    if (n < 0) return -1;
    if (n < ETH_LEN + IP_LEN || get16(frame + 12) != 0x0800) return -2;
    if (memcmp(frame, PEER_MAC, 6) != 0 || memcmp(frame + 6, STACK_MAC, 6) != 0) return -3;
    const size_t ip_len = get16(frame + ETH_LEN + 2);
    if (ip_len > (size_t)n - ETH_LEN) return -4;
    return parse_ip(frame + ETH_LEN, ip_len, p) == 0 ? 0 : -5;
}

/* The stack's announcement at creation: a gratuitous ARP request for its own address. */
static void check_gratuitous_arp(struct px_harness *h) {
    uint8_t f[128];
    const ssize_t n = px_harness_drain(h, f, sizeof f);
    REQUIRE(n >= ETH_LEN + ARP_LEN);
    CHECK(memcmp(f, BROADCAST, 6) == 0);
    CHECK(memcmp(f + 6, STACK_MAC, 6) == 0);
    CHECK(get16(f + 12) == 0x0806);
    CHECK(get16(f + ETH_LEN + 6) == 1);                   /* request */
    CHECK(get32(f + ETH_LEN + 14) == STACK_IP);           /* spa */
    CHECK(get32(f + ETH_LEN + 24) == STACK_IP);           /* tpa: gratuitous */
    CHECK(px_harness_drain(h, f, sizeof f) == -1 && errno == EAGAIN);
}

static void inject_tcp(struct px_harness *h, const struct tcp_spec *s) {
    uint8_t f[2048];
    const size_t eth = put_eth(f, STACK_MAC, PEER_MAC, 0x0800);
    const size_t n = put_ip_tcp(f + eth, s);
    REQUIRE(px_harness_inject(h, f, eth + n) == 0);
}

static void expect_nothing(struct px_harness *h) {
    uint8_t f[2048];
    errno = 0;
    CHECK(px_harness_drain(h, f, sizeof f) == -1);
    CHECK(errno == EAGAIN);
}

static void test_tcp_passive(void) {
    struct px_harness *h = make(1, 0);
    check_gratuitous_arp(h);

    /* The peer asks for our MAC: we answer, and learn its address from the request
     * (RFC 826's merge step), so the SYN-ACK below needs no ARP of its own. */
    uint8_t f[2048];
    size_t n = put_eth(f, BROADCAST, PEER_MAC, 0x0806);
    n += put_arp(f + n, 1, PEER_MAC, PEER_IP, ZERO_MAC, STACK_IP);
    REQUIRE(px_harness_inject(h, f, n) == 0);
    ssize_t got = px_harness_drain(h, f, sizeof f);
    REQUIRE(got >= ETH_LEN + ARP_LEN);
    CHECK(get16(f + 12) == 0x0806 && memcmp(f, PEER_MAC, 6) == 0);
    CHECK(get16(f + ETH_LEN + 6) == 2);
    CHECK(memcmp(f + ETH_LEN + 8, STACK_MAC, 6) == 0 && get32(f + ETH_LEN + 14) == STACK_IP);
    CHECK(memcmp(f + ETH_LEN + 18, PEER_MAC, 6) == 0 && get32(f + ETH_LEN + 24) == PEER_IP);

    const int lfd = px_socket(AF_INET, SOCK_STREAM, 0);  /* blocking, on purpose */
    REQUIRE(lfd >= 0);
    const struct sockaddr_in any = in4(0, 80);
    REQUIRE(px_bind(lfd, (const struct sockaddr *)&any, sizeof any) == 0);
    REQUIRE(px_listen(lfd, 8) == 0);
    /* Nothing queued: a blocking accept on the manual clock returns EAGAIN (harness.h). */
    errno = 0;
    CHECK(px_accept(lfd, NULL, NULL) == -1 && errno == EAGAIN);

    /* SYN with MSS 1000 and window scaling (shift 7), no timestamps, no SACK. */
    const uint8_t syn_opts[8] = {2, 4, 0x03, 0xe8, 1, 3, 3, 7};
    struct tcp_spec syn = {PEER_IP, STACK_IP, 40000, 80, 1000, 0, TH_SYN, 65535, syn_opts, 8, NULL, 0};
    inject_tcp(h, &syn);
    struct parsed p;
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.ip_checksum_ok && p.l4_checksum_ok);
    CHECK(p.proto == PROTO_TCP && p.src == STACK_IP && p.dst == PEER_IP);
    CHECK(p.sport == 80 && p.dport == 40000);
    CHECK(p.flags == (TH_SYN | TH_ACK));
    CHECK(p.ack == 1001);
    uint8_t olen = 0;
    const uint8_t *mss = tcp_option(&p, 2, &olen);
    CHECK(mss != NULL && olen == 2 && get16(mss) == 1460);  /* MTU 1500 - 40 */
    CHECK(tcp_option(&p, 3, &olen) != NULL && olen == 1);    /* window scaling: offered, so answered */
    /* The peer offered neither timestamps nor SACK: neither comes back (RFC 7323, 2018). */
    CHECK(tcp_option(&p, 8, &olen) == NULL && tcp_option(&p, 4, &olen) == NULL);
    CHECK(p.payload_len == 0);
    const uint32_t iss = p.seq;
    expect_nothing(h);

    /* The handshake's ACK 10 ms later. */
    CHECK(px_harness_advance(h, 10 * MS) == 0);
    expect_nothing(h);
    struct tcp_spec ack = {PEER_IP, STACK_IP, 40000, 80, 1001, iss + 1, TH_ACK, 512, NULL, 0, NULL, 0};
    inject_tcp(h, &ack);
    expect_nothing(h);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    const int cfd = px_accept(lfd, (struct sockaddr *)&peer, &plen);
    REQUIRE(cfd >= 0);
    const struct sockaddr_in want_peer = in4(PEER_IP, 40000);
    CHECK(plen == sizeof peer && memcmp(&peer.sin_addr, &want_peer.sin_addr, 4) == 0 &&
          peer.sin_port == want_peer.sin_port);
    char rbuf[64];
    errno = 0;
    CHECK(px_recv(cfd, rbuf, sizeof rbuf, 0) == -1 && errno == EAGAIN);  /* blocking socket */

    /* Data from the peer: delivered, and ACKed at once (Linux's quick-ACK mode at the
     * start of a connection). */
    struct tcp_spec data_in = {PEER_IP, STACK_IP, 40000, 80, 1001, iss + 1, TH_ACK | TH_PSH, 512, NULL, 0,
                               "hello", 5};
    inject_tcp(h, &data_in);
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.flags == TH_ACK && p.seq == iss + 1 && p.ack == 1006 && p.payload_len == 0);
    CHECK(px_recv(cfd, rbuf, sizeof rbuf, 0) == 5 && memcmp(rbuf, "hello", 5) == 0);
    expect_nothing(h);  /* 5 bytes read open no window worth announcing */

    /* Our data: 100 bytes, one segment at once; the peer ACKs it 10 ms later, which gives
     * the connection an RTT sample of 10 ms. */
    char out[200];
    for (int i = 0; i < 200; ++i) out[i] = (char)('a' + i % 26);
    CHECK(px_send(cfd, out, 100, 0) == 100);
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.ip_checksum_ok && p.l4_checksum_ok);
    CHECK(p.seq == iss + 1 && p.ack == 1006);
    CHECK((p.flags & (TH_ACK | TH_SYN | TH_FIN | TH_RST)) == TH_ACK);
    CHECK(p.payload_len == 100 && memcmp(p.payload, out, 100) == 0);
    expect_nothing(h);
    CHECK(px_harness_advance(h, 10 * MS) == 0);
    struct tcp_spec ack1 = {PEER_IP, STACK_IP, 40000, 80, 1006, iss + 101, TH_ACK, 512, NULL, 0, NULL, 0};
    inject_tcp(h, &ack1);
    expect_nothing(h);

    /* 100 more bytes, lost. RFC 6298 with the 10 ms sample: SRTT 10, RTTVAR 5, RTO = 10 +
     * max(G, 4 * 5) = 30 ms, raised to the 200 ms minimum (Linux's TCP_RTO_MIN). So
     * nothing until t_send + 200 ms, the retransmission exactly then, and the next after
     * the doubled RTO, 400 ms later (RFC 6298 §5.5). */
    const uint64_t t_send = px_harness_now(h);
    CHECK(px_send(cfd, out + 100, 100, 0) == 100);
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.seq == iss + 101 && p.payload_len == 100 && memcmp(p.payload, out + 100, 100) == 0);
    CHECK(px_harness_advance(h, 200 * MS - 100 * US) == 0);
    expect_nothing(h);
    CHECK(px_harness_next_event(h) == t_send + 200 * MS);
    CHECK(px_harness_advance(h, 100 * US) == 0);
    CHECK(px_harness_now(h) == t_send + 200 * MS);
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.seq == iss + 101 && p.payload_len == 100 && memcmp(p.payload, out + 100, 100) == 0);
    CHECK(p.l4_checksum_ok);
    expect_nothing(h);
    CHECK(px_harness_advance(h, 400 * MS - 100 * US) == 0);
    expect_nothing(h);
    CHECK(px_harness_advance(h, 100 * US) == 0);
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.seq == iss + 101 && p.payload_len == 100);
    expect_nothing(h);

    /* The peer ACKs it: no more retransmissions, however long we wait. */
    struct tcp_spec ack_data = {PEER_IP, STACK_IP, 40000, 80, 1006, iss + 201, TH_ACK, 512, NULL, 0, NULL, 0};
    inject_tcp(h, &ack_data);
    expect_nothing(h);
    CHECK(px_harness_advance(h, 3000 * MS) == 0);
    expect_nothing(h);

    /* close: FIN|ACK with the next sequence number. */
    CHECK(px_close(cfd) == 0);
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.l4_checksum_ok);
    CHECK(p.flags == (TH_FIN | TH_ACK));
    CHECK(p.seq == iss + 201 && p.ack == 1006);
    CHECK(px_close(lfd) == 0);
    px_harness_destroy(h);
}

static void test_udp_and_arp(void) {
    struct px_harness *h = make(2, 5 * MS);
    check_gratuitous_arp(h);
    CHECK(px_harness_now(h) == 5 * MS);
    const int fd = px_socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    const struct sockaddr_in local = in4(STACK_IP, 7);
    REQUIRE(px_bind(fd, (const struct sockaddr *)&local, sizeof local) == 0);

    uint8_t f[2048];
    size_t n = put_eth(f, STACK_MAC, PEER_MAC, 0x0800);
    n += put_ip_udp(f + n, PEER_IP, STACK_IP, 5000, 7, "ping", 4);
    REQUIRE(px_harness_inject(h, f, n) == 0);
    char buf[64];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    const ssize_t r = px_recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    CHECK(r == 4 && memcmp(buf, "ping", 4) == 0);
    const struct sockaddr_in want = in4(PEER_IP, 5000);
    CHECK(memcmp(&from.sin_addr, &want.sin_addr, 4) == 0 && from.sin_port == want.sin_port);
    /* A corrupted datagram is dropped by the stack (bad UDP checksum), not delivered. */
    f[n - 1] ^= 0x40;
    REQUIRE(px_harness_inject(h, f, n) == 0);
    errno = 0;
    CHECK(px_recvfrom(fd, buf, sizeof buf, 0, NULL, NULL) == -1 && errno == EAGAIN);

    /* The reply goes to a neighbour the stack has not resolved: an ARP request first. */
    CHECK(px_sendto(fd, "pong", 4, 0, (const struct sockaddr *)&from, flen) == 4);
    ssize_t got = px_harness_drain(h, f, sizeof f);
    REQUIRE(got >= ETH_LEN + ARP_LEN);
    CHECK(memcmp(f, BROADCAST, 6) == 0 && get16(f + 12) == 0x0806);
    CHECK(get16(f + ETH_LEN + 6) == 1);
    CHECK(memcmp(f + ETH_LEN + 8, STACK_MAC, 6) == 0 && get32(f + ETH_LEN + 14) == STACK_IP);
    CHECK(get32(f + ETH_LEN + 24) == PEER_IP);
    expect_nothing(h);  /* the datagram waits for the answer */

    n = put_eth(f, STACK_MAC, PEER_MAC, 0x0806);
    n += put_arp(f + n, 2, PEER_MAC, PEER_IP, STACK_MAC, STACK_IP);
    REQUIRE(px_harness_inject(h, f, n) == 0);
    struct parsed p;
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.ip_checksum_ok && p.l4_checksum_ok);
    CHECK(p.proto == PROTO_UDP && p.src == STACK_IP && p.dst == PEER_IP);
    CHECK(p.sport == 7 && p.dport == 5000);
    CHECK(p.payload_len == 4 && memcmp(p.payload, "pong", 4) == 0);
    expect_nothing(h);

    /* Resolved now: the next datagram leaves at once. */
    CHECK(px_sendto(fd, "again", 5, 0, (const struct sockaddr *)&from, flen) == 5);
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    CHECK(p.payload_len == 5 && memcmp(p.payload, "again", 5) == 0);
    CHECK(px_close(fd) == 0);
    px_harness_destroy(h);
}

static void test_ip_level(void) {
    struct px_harness *h = make(3, 0);
    uint8_t d[2048];

    /* ICMP echo: the reply's ARP is answered by the harness, unseen. */
    size_t n = put_ip_echo(d, PEER_IP, STACK_IP, 0x1234, 1, "abcdefgh", 8);
    REQUIRE(px_harness_inject_ip(h, d, n) == 0);
    struct parsed p;
    ssize_t got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0);
    REQUIRE(parse_ip(d, (size_t)got, &p) == 0);
    CHECK(p.proto == PROTO_ICMP && p.icmp_type == 0 && p.src == STACK_IP && p.dst == PEER_IP);
    CHECK(p.ip_checksum_ok && p.l4_checksum_ok);
    CHECK(p.payload_len == 8 && memcmp(p.payload, "abcdefgh", 8) == 0);
    errno = 0;
    CHECK(px_harness_drain_ip(h, d, sizeof d) == -1 && errno == EAGAIN);
    CHECK(px_harness_pending_len(h) == -1 && errno == EAGAIN);  /* the ARP request was consumed */

    /* An active open: a blocking connect on the manual clock is EINPROGRESS. */
    const int fd = px_socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    const struct sockaddr_in to = in4(PEER_IP, 9);
    errno = 0;
    CHECK(px_connect(fd, (const struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
    const uint64_t t_syn = px_harness_now(h);
    got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0 && parse_ip(d, (size_t)got, &p) == 0);
    CHECK(p.proto == PROTO_TCP && p.flags == TH_SYN && p.dport == 9 && p.l4_checksum_ok);
    uint8_t olen = 0;
    const uint8_t *mss = tcp_option(&p, 2, &olen);
    CHECK(mss != NULL && get16(mss) == 1460);
    const uint32_t iss = p.seq;
    const uint16_t sport = p.sport;
    CHECK(sport >= 32768 && sport <= 60999);  /* Linux's ip_local_port_range */

    /* No answer: the SYN again after the initial RTO of 1 s (RFC 6298 §2.1), exactly. */
    CHECK(px_harness_advance(h, 1000 * MS - 100 * US) == 0);
    CHECK(px_harness_drain_ip(h, d, sizeof d) == -1 && errno == EAGAIN);
    CHECK(px_harness_advance(h, 100 * US) == 0);
    got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0 && parse_ip(d, (size_t)got, &p) == 0);
    CHECK(p.flags == TH_SYN && p.seq == iss && p.sport == sport);
    CHECK(px_harness_now(h) == t_syn + 1000 * MS);
    /* One advance over two more timeouts (backoff: 2 s, then 4 s): each SYN leaves at its
     * own instant, which its timestamp (TSval, the clock in ms here) shows. */
    const uint8_t *ts = tcp_option(&p, 8, &olen);
    REQUIRE(ts != NULL && olen == 8);
    const uint32_t tsval_1s = get32(ts);
    CHECK(tsval_1s == (uint32_t)((t_syn + 1000 * MS) / MS));
    CHECK(px_harness_advance(h, 6500 * MS) == 0);
    got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0 && parse_ip(d, (size_t)got, &p) == 0);
    ts = tcp_option(&p, 8, &olen);
    CHECK(p.flags == TH_SYN && ts != NULL && get32(ts) == tsval_1s + 2000);
    got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0 && parse_ip(d, (size_t)got, &p) == 0);
    ts = tcp_option(&p, 8, &olen);
    CHECK(p.flags == TH_SYN && ts != NULL && get32(ts) == tsval_1s + 6000);
    CHECK(px_harness_drain_ip(h, d, sizeof d) == -1 && errno == EAGAIN);

    /* SYN-ACK: the connection is established, SO_ERROR 0, the ACK leaves. */
    const uint8_t mss_opt[4] = {2, 4, 0x05, 0xb4};
    struct tcp_spec synack = {PEER_IP, STACK_IP, 9, sport, 7000, iss + 1, TH_SYN | TH_ACK, 65535, mss_opt, 4,
                              NULL, 0};
    n = put_ip_tcp(d, &synack);
    REQUIRE(px_harness_inject_ip(h, d, n) == 0);
    got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0 && parse_ip(d, (size_t)got, &p) == 0);
    CHECK(p.flags == TH_ACK && p.seq == iss + 1 && p.ack == 7001 && p.payload_len == 0);
    int soerr = -1;
    socklen_t sl = sizeof soerr;
    CHECK(px_getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0);
    CHECK(px_send(fd, "xyz", 3, 0) == 3);
    got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0 && parse_ip(d, (size_t)got, &p) == 0);
    CHECK(p.seq == iss + 1 && p.payload_len == 3 && memcmp(p.payload, "xyz", 3) == 0);

    /* EMSGSIZE keeps the datagram; a large enough buffer then gets it. */
    CHECK(px_send(fd, "more", 4, 0) == 4);
    /* Nagle holds "more" while "xyz" is unacknowledged; the peer's ACK releases it. */
    struct tcp_spec ack = {PEER_IP, STACK_IP, 9, sport, 7001, iss + 4, TH_ACK, 65535, NULL, 0, NULL, 0};
    n = put_ip_tcp(d, &ack);
    REQUIRE(px_harness_inject_ip(h, d, n) == 0);
    uint8_t small[8];
    errno = 0;
    CHECK(px_harness_drain_ip(h, small, sizeof small) == -1 && errno == EMSGSIZE);
    got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0 && parse_ip(d, (size_t)got, &p) == 0);
    CHECK(p.seq == iss + 4 && p.payload_len == 4 && memcmp(p.payload, "more", 4) == 0);
    /* shutdown sends its FIN from a call that sends no data: drain still sees it. */
    CHECK(px_shutdown(fd, SHUT_WR) == 0);
    got = px_harness_drain_ip(h, d, sizeof d);
    REQUIRE(got > 0 && parse_ip(d, (size_t)got, &p) == 0);
    CHECK((p.flags & TH_FIN) != 0 && p.seq == iss + 8);
    CHECK(px_close(fd) == 0);
    px_harness_destroy(h);
}

/* One script: an active open with timestamps (TSval comes from the clock), data, a loss,
 * a retransmission, the close. Every frame drained is appended to `log` as length+bytes. */
static size_t scripted_run(uint64_t seed, uint8_t *log, size_t cap, uint32_t *iss_out) {
    struct px_harness *h = make(seed, 123 * MS);
    size_t used = 0;
    uint8_t f[2048];
#define LOG_ALL()                                                                       \
    for (ssize_t m; (m = px_harness_drain(h, f, sizeof f)) > 0;) {                      \
        REQUIRE(used + 2 + (size_t)m <= cap);                                           \
        put16(log + used, (uint16_t)m);                                                 \
        memcpy(log + used + 2, f, (size_t)m);                                           \
        used += 2 + (size_t)m;                                                          \
    }
    LOG_ALL();
    size_t n = put_eth(f, BROADCAST, PEER_MAC, 0x0806);
    n += put_arp(f + n, 1, PEER_MAC, PEER_IP, ZERO_MAC, STACK_IP);
    REQUIRE(px_harness_inject(h, f, n) == 0);
    LOG_ALL();
    const int fd = px_socket(AF_INET, SOCK_STREAM, 0);
    const struct sockaddr_in to = in4(PEER_IP, 80);
    px_connect(fd, (const struct sockaddr *)&to, sizeof to);
    struct parsed p;
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0);
    *iss_out = p.seq;
    /* Back in the log, as drained. */
    const size_t syn_len = ETH_LEN + IP_LEN + TCP_LEN + p.options_len;
    put16(log + used, (uint16_t)syn_len);
    memcpy(log + used + 2, f, syn_len);
    used += 2 + syn_len;
    CHECK(px_harness_advance(h, 7 * MS) == 0);
    const uint8_t opts[4] = {2, 4, 0x05, 0xb4};
    struct tcp_spec synack = {PEER_IP, STACK_IP, 80, p.sport, 50000, p.seq + 1, TH_SYN | TH_ACK, 29200, opts, 4,
                              NULL, 0};
    inject_tcp(h, &synack);
    LOG_ALL();
    char data[300];
    for (int i = 0; i < 300; ++i) data[i] = (char)i;
    px_send(fd, data, sizeof data, 0);
    LOG_ALL();
    CHECK(px_harness_advance(h, 450 * MS) == 0);  /* the segment is lost: retransmitted */
    LOG_ALL();
    struct tcp_spec ack = {PEER_IP, STACK_IP, 80, synack.dport, 50001, synack.ack + 300, TH_ACK, 29200, NULL, 0,
                           NULL, 0};
    inject_tcp(h, &ack);
    px_close(fd);
    LOG_ALL();
    CHECK(px_harness_advance(h, 2000 * MS) == 0);
    LOG_ALL();
#undef LOG_ALL
    px_harness_destroy(h);
    return used;
}

/* The ISS of a passive open with a fixed 4-tuple at a fixed instant: only the seed
 * (the RFC 6528 secret) can change it. */
static uint32_t passive_iss(uint64_t seed) {
    struct px_harness *h = make(seed, 0);
    const int lfd = px_socket(AF_INET, SOCK_STREAM, 0);
    const struct sockaddr_in any = in4(0, 80);
    REQUIRE(px_bind(lfd, (const struct sockaddr *)&any, sizeof any) == 0 && px_listen(lfd, 1) == 0);
    uint8_t f[2048];
    size_t n = put_eth(f, BROADCAST, PEER_MAC, 0x0806);
    n += put_arp(f + n, 1, PEER_MAC, PEER_IP, ZERO_MAC, STACK_IP);
    REQUIRE(px_harness_inject(h, f, n) == 0);
    while (px_harness_drain(h, f, sizeof f) > 0) {
    }
    struct tcp_spec syn = {PEER_IP, STACK_IP, 40000, 80, 1000, 0, TH_SYN, 65535, NULL, 0, NULL, 0};
    inject_tcp(h, &syn);
    struct parsed p;
    REQUIRE(drain_ipv4(h, f, sizeof f, &p) == 0 && p.flags == (TH_SYN | TH_ACK));
    px_harness_destroy(h);
    return p.seq;
}

static void test_determinism(void) {
    static uint8_t a[1 << 16], b[1 << 16], c[1 << 16];
    uint32_t iss_a = 0, iss_b = 0, iss_c = 0;
    const size_t na = scripted_run(42, a, sizeof a, &iss_a);
    const size_t nb = scripted_run(42, b, sizeof b, &iss_b);
    const size_t nc = scripted_run(43, c, sizeof c, &iss_c);
    /* gratuitous ARP, ARP reply, SYN, ACK, data, >= 1 retransmission, FIN, at least */
    CHECK(na > 7 * 42);
    CHECK(na == nb && memcmp(a, b, na) == 0);
    CHECK(iss_a == iss_b);
    CHECK(iss_a != iss_c);
    CHECK(passive_iss(42) == passive_iss(42));
    CHECK(passive_iss(42) != passive_iss(43));  /* the seed keys the ISN (RFC 6528) */
    (void)nc;
    uint64_t fnv = 0xcbf29ce484222325ull;  /* FNV-1a: to compare runs of separate processes */
    for (size_t i = 0; i < na; ++i) fnv = (fnv ^ a[i]) * 0x100000001b3ull;
    fprintf(stderr, "determinism: %zu bytes of frames, identical twice, fnv1a %016llx\n", na,
            (unsigned long long)fnv);
}

static void test_errors(void) {
    struct px_harness_config c;
    memset(&c, 0, sizeof c);
    errno = 0;
    CHECK(px_harness_create(&c) == NULL && errno == EINVAL);  /* no address */
    c.address = "198.18.0.2";
    CHECK(px_harness_create(&c) == NULL && errno == EINVAL);  /* no prefix */
    c.address = "198.18.0.2/24";
    c.mtu = 100;
    CHECK(px_harness_create(&c) == NULL && errno == EINVAL);
    c.mtu = 0;
    struct px_harness *h = px_harness_create(&c);
    REQUIRE(h != NULL);
    errno = 0;
    CHECK(px_harness_create(&c) == NULL && errno == EBUSY);  /* one at a time */
    char *argv[] = {"x", NULL};
    errno = 0;
    CHECK(px_init(1, argv) == -1 && errno == EBUSY);
    uint8_t tiny[10];
    errno = 0;
    CHECK(px_harness_pending_len(h) > 0);  /* the gratuitous ARP */
    CHECK(px_harness_drain(h, tiny, sizeof tiny) == -1 && errno == EMSGSIZE);
    uint8_t f[128];
    CHECK(px_harness_drain(h, f, sizeof f) == 60);  /* still there (padded to 60 bytes) */
    CHECK(px_harness_inject(h, f, 0) == -1 && errno == EINVAL);
    CHECK(px_harness_advance(h, UINT64_MAX) == -1 && errno == EINVAL);
    /* Housekeeping (ARP, reassembly) runs every 100 ms from creation. */
    CHECK(px_harness_next_event(h) == 100 * MS);
    const int fd = px_socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    px_harness_destroy(h);
    errno = 0;
    CHECK(px_close(fd) == -1 && errno == EBADF);  /* destroy closed it */
}

int main(void) {
    test_errors();
    test_tcp_passive();
    test_udp_and_arp();
    test_ip_level();
    test_determinism();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    fprintf(stderr, "harness test: all checks passed\n");
    return 0;
}
