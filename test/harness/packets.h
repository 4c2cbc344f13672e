/* Frame forging and parsing for the harness tests: what a test program (or a tool) that
 * drives pollux through pollux/harness.h writes for itself. Ethernet II, ARP, IPv4 without
 * options, TCP, UDP and ICMP echo, with real checksums, big-endian by hand so that the
 * helpers show the wire format rather than hide it. */
#ifndef PX_TEST_HARNESS_PACKETS_H
#define PX_TEST_HARNESS_PACKETS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { ETH_LEN = 14, IP_LEN = 20, TCP_LEN = 20, UDP_LEN = 8, ARP_LEN = 28 };
enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10 };
enum { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17 };

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* RFC 1071: the one's complement sum of 16-bit words, unfolded. */
static inline uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
    for (size_t i = 0; i + 1 < n; i += 2) s += get16(p + i);
    if (n & 1) s += (uint32_t)p[n - 1] << 8;
    return s;
}
static inline uint16_t fold(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}
/* The TCP/UDP pseudo-header (RFC 9293 §3.1, RFC 768) plus the segment. */
static inline uint16_t l4_checksum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4, size_t len) {
    uint8_t ph[12];
    put32(ph, src); put32(ph + 4, dst); ph[8] = 0; ph[9] = proto; put16(ph + 10, (uint16_t)len);
    return fold(sum16(l4, len, sum16(ph, sizeof ph, 0)));
}

static inline size_t put_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type) {
    memcpy(f, dst, 6); memcpy(f + 6, src, 6); put16(f + 12, type);
    return ETH_LEN;
}

/* An IPv4 header (no options, DF, TTL 64) in front of `l4_len` bytes already at ip + 20. */
static inline size_t put_ip(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, size_t l4_len, uint16_t id) {
    ip[0] = 0x45; ip[1] = 0; put16(ip + 2, (uint16_t)(IP_LEN + l4_len)); put16(ip + 4, id);
    put16(ip + 6, 0x4000); ip[8] = 64; ip[9] = proto; put16(ip + 10, 0);
    put32(ip + 12, src); put32(ip + 16, dst);
    put16(ip + 10, fold(sum16(ip, IP_LEN, 0)));
    return IP_LEN + l4_len;
}

struct tcp_spec {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
    const uint8_t *options; size_t options_len; /* a multiple of 4 */
    const void *payload; size_t payload_len;
};

/* IPv4 + TCP at `ip`; the datagram's length. */
static inline size_t put_ip_tcp(uint8_t *ip, const struct tcp_spec *s) {
    uint8_t *t = ip + IP_LEN;
    const size_t hl = TCP_LEN + s->options_len;
    memset(t, 0, TCP_LEN);
    put16(t, s->sport); put16(t + 2, s->dport); put32(t + 4, s->seq); put32(t + 8, s->ack);
    t[12] = (uint8_t)((hl / 4) << 4); t[13] = s->flags; put16(t + 14, s->window);
    if (s->options_len) memcpy(t + TCP_LEN, s->options, s->options_len);
    if (s->payload_len) memcpy(t + hl, s->payload, s->payload_len);
    put16(t + 16, l4_checksum(s->src, s->dst, PROTO_TCP, t, hl + s->payload_len));
    return put_ip(ip, s->src, s->dst, PROTO_TCP, hl + s->payload_len, 1);
}

/* IPv4 + UDP at `ip`; the datagram's length. */
static inline size_t put_ip_udp(uint8_t *ip, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                                const void *payload, size_t len) {
    uint8_t *u = ip + IP_LEN;
    put16(u, sport); put16(u + 2, dport); put16(u + 4, (uint16_t)(UDP_LEN + len)); put16(u + 6, 0);
    memcpy(u + UDP_LEN, payload, len);
    uint16_t c = l4_checksum(src, dst, PROTO_UDP, u, UDP_LEN + len);
    put16(u + 6, c == 0 ? 0xffff : c);
    return put_ip(ip, src, dst, PROTO_UDP, UDP_LEN + len, 2);
}

/* IPv4 + ICMP echo request at `ip`. */
static inline size_t put_ip_echo(uint8_t *ip, uint32_t src, uint32_t dst, uint16_t ident, uint16_t seq,
                                 const void *data, size_t len) {
    uint8_t *m = ip + IP_LEN;
    m[0] = 8; m[1] = 0; put16(m + 2, 0); put16(m + 4, ident); put16(m + 6, seq);
    memcpy(m + 8, data, len);
    put16(m + 2, fold(sum16(m, 8 + len, 0)));
    return put_ip(ip, src, dst, PROTO_ICMP, 8 + len, 3);
}

static inline size_t put_arp(uint8_t *a, uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
                             uint32_t tpa) {
    put16(a, 1); put16(a + 2, 0x0800); a[4] = 6; a[5] = 4; put16(a + 6, op);
    memcpy(a + 8, sha, 6); put32(a + 14, spa); memcpy(a + 18, tha, 6); put32(a + 24, tpa);
    return ARP_LEN;
}

/* What a test reads from an IPv4 datagram the stack sent. */
struct parsed {
    uint32_t src, dst;
    uint8_t proto, ttl;
    int ip_checksum_ok, l4_checksum_ok;
    uint16_t sport, dport;               /* TCP, UDP */
    uint32_t seq, ack;                   /* TCP */
    uint8_t flags;                       /* TCP */
    uint16_t window;                     /* TCP */
    const uint8_t *options; size_t options_len;  /* TCP */
    uint8_t icmp_type;                   /* ICMP */
    const uint8_t *payload; size_t payload_len;
};

/* 0, or -1 when it is not a whole IPv4 datagram without options. */
static inline int parse_ip(const uint8_t *ip, size_t len, struct parsed *p) {
    memset(p, 0, sizeof *p);
    if (len < IP_LEN || ip[0] != 0x45 || get16(ip + 2) != len) return -1;
    p->src = get32(ip + 12); p->dst = get32(ip + 16); p->proto = ip[9]; p->ttl = ip[8];
    p->ip_checksum_ok = fold(sum16(ip, IP_LEN, 0)) == 0;
    const uint8_t *l4 = ip + IP_LEN;
    const size_t l4_len = len - IP_LEN;
    if (p->proto == PROTO_TCP) {
        if (l4_len < TCP_LEN) return -1;
        const size_t hl = (size_t)(l4[12] >> 4) * 4;
        if (hl < TCP_LEN || hl > l4_len) return -1;
        p->sport = get16(l4); p->dport = get16(l4 + 2); p->seq = get32(l4 + 4); p->ack = get32(l4 + 8);
        p->flags = l4[13]; p->window = get16(l4 + 14);
        p->options = l4 + TCP_LEN; p->options_len = hl - TCP_LEN;
        p->payload = l4 + hl; p->payload_len = l4_len - hl;
        p->l4_checksum_ok = l4_checksum(p->src, p->dst, PROTO_TCP, l4, l4_len) == 0;
    } else if (p->proto == PROTO_UDP) {
        if (l4_len < UDP_LEN || get16(l4 + 4) != l4_len) return -1;
        p->sport = get16(l4); p->dport = get16(l4 + 2);
        p->payload = l4 + UDP_LEN; p->payload_len = l4_len - UDP_LEN;
        p->l4_checksum_ok = get16(l4 + 6) != 0 && l4_checksum(p->src, p->dst, PROTO_UDP, l4, l4_len) == 0;
    } else if (p->proto == PROTO_ICMP) {
        if (l4_len < 8) return -1;
        p->icmp_type = l4[0];
        p->payload = l4 + 8; p->payload_len = l4_len - 8;
        p->l4_checksum_ok = fold(sum16(l4, l4_len, 0)) == 0;
    }
    return 0;
}

/* The value of TCP option `kind` (its bytes after kind and length), or NULL. */
static inline const uint8_t *tcp_option(const struct parsed *p, uint8_t kind, uint8_t *len_out) {
    size_t i = 0;
    while (i < p->options_len) {
        const uint8_t k = p->options[i];
        if (k == 0) break;
        if (k == 1) { ++i; continue; }
        if (i + 1 >= p->options_len) break;
        const uint8_t l = p->options[i + 1];
        if (l < 2 || i + l > p->options_len) break;
        if (k == kind) { *len_out = (uint8_t)(l - 2); return p->options + i + 2; }
        i += l;
    }
    return NULL;
}

#endif
