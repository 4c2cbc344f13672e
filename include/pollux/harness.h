/* pollux: the test harness. A pollux stack on virtual time, whose network is the program.
 *
 * A harness is a whole stack (ARP, IPv4, ICMP, UDP, TCP, the sockets of socket.h) on a
 * port with no wire behind it: the program injects the Ethernet frames the stack receives
 * and drains, in order, the frames it sends; time moves only when the program advances
 * the clock, and every timer due on the way (retransmission, delayed ACK, TIME_WAIT, ARP)
 * fires at its own instant. The same script of injections, socket calls and advances
 * gives the same frames, byte for byte, every run. It is how pollux's own TCP tests run,
 * how an application's tests can drive pollux deterministically, and where a
 * packetdrill-style tool (inject packets, make socket calls, check what leaves, on
 * virtual time) attaches: px_harness_inject_ip / px_harness_drain_ip deal in IPv4
 * datagrams only, the harness playing the peer's Ethernet and ARP side.
 *
 * No EAL arguments are needed: px_harness_create starts DPDK privately (no hugepages, no
 * PCI, no shared files, quiet logs, the calling thread's CPU affinity left as it was) if
 * it is not running yet. The EAL then stays up until the process exits, so harnesses can
 * be created and destroyed one after another; px_init cannot be used in that process.
 *
 * While a harness exists, the px_* calls of socket.h act on its stack, from the thread
 * that created it. One harness at a time: a second one, or one while px_init's runtime
 * runs, fails with EBUSY (and px_init fails with EBUSY while a harness exists).
 *
 * Blocking calls: on a manual clock nothing can happen while a call waits (no frame
 * arrives, no timer fires until the program itself says so), so a call that would block
 * returns at once as it would on a non-blocking socket: EAGAIN from recv/send/accept,
 * EINPROGRESS from connect (whose outcome SO_ERROR reports later, as on Linux). Sockets
 * need not be made non-blocking.
 *
 * The port offers no offloads: every checksum of every frame drained is computed, no
 * frame is larger than the MTU plus its Ethernet header, and injected frames are checked
 * by the stack as a NIC without checksum offload would leave them to it.
 *
 * Example (a UDP echo, checked by hand):
 *     struct px_harness_config c = {0};
 *     c.address = "198.18.0.2/24";
 *     struct px_harness *h = px_harness_create(&c);
 *     int fd = px_socket(AF_INET, SOCK_DGRAM, 0);
 *     ... px_bind(fd, 198.18.0.2:7) ...
 *     px_harness_inject_ip(h, datagram, len);           // from 198.18.0.1 to port 7
 *     n = px_recvfrom(fd, buf, sizeof buf, 0, &from, &fromlen);
 *     px_sendto(fd, buf, n, 0, &from, fromlen);
 *     n = px_harness_drain_ip(h, out, sizeof out);      // the reply, ARP answered for us
 *     px_harness_advance(h, 1000000000);                // one second of timers
 *     px_harness_destroy(h);
 */
#ifndef POLLUX_HARNESS_H
#define POLLUX_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct px_harness;

/* Zero-initialise it and set what you need: every zero field takes its default. */
struct px_harness_config {
    const char *address;  /* required: our address and subnet, "198.18.0.2/24" */
    const char *gateway;  /* the default route's next hop, or NULL for none */
    uint8_t mac[6];       /* the stack's MAC; all zero: 02:00:00:00:00:02 */
    uint8_t peer_mac[6];  /* the peer's MAC for the IP-level calls; all zero: 02:00:00:00:00:01 */
    uint16_t mtu;         /* IP MTU, 576..1500; 0: 1500 */
    uint32_t mbufs;       /* packet buffers of the stack and its port; 0: 8191 */
    uint64_t start_ns;    /* the virtual clock's first reading, below 2^63 */
    uint64_t seed;        /* keys ISNs, ephemeral ports and IP ids: same seed, same frames */
};

/* Creates a harness and attaches the socket API to it. The stack announces itself with a
 * gratuitous ARP request, which is the first frame to drain. NULL with errno: EINVAL (a
 * field is invalid), EBUSY (a harness or px_init's runtime exists), ENOMEM (no memory for
 * the packet buffers), EIO (DPDK could not start). */
struct px_harness *px_harness_create(const struct px_harness_config *config);

/* Closes every socket of socket.h (their fds become invalid), frees every queued frame
 * and the stack. The virtual network is gone: a close sends nothing anyone can drain.
 * NULL is ignored. */
void px_harness_destroy(struct px_harness *h);

/* An Ethernet frame arrives, and is processed at once at the current virtual time
 * through the stack's normal receive path; what the stack answers is ready to drain when
 * this returns. 0, or -1 with errno: EINVAL (len 0 or above 65549, frame NULL),
 * ENOBUFS (no packet buffer free). A frame the stack finds malformed is dropped and
 * counted, as on a real link: that is not an error of this call. */
int px_harness_inject(struct px_harness *h, const void *frame, size_t len);

/* The oldest frame the stack sent and the program has not drained, copied to buf: its
 * length, or -1 with errno EAGAIN (none), EMSGSIZE (cap is too small; the frame stays
 * queued, px_harness_pending_len tells its length). */
ssize_t px_harness_drain(struct px_harness *h, void *buf, size_t cap);

/* The length of the frame px_harness_drain would return next, or -1/EAGAIN. */
ssize_t px_harness_pending_len(const struct px_harness *h);

/* IP-level calls: the harness plays every other host of the link with one MAC
 * (config.peer_mac). inject_ip wraps an IPv4 datagram in an Ethernet header from the peer
 * to the stack and injects it (errors as px_harness_inject). drain_ip returns the next
 * IPv4 datagram the stack sent, without its Ethernet header: frames that are not IPv4 are
 * consumed and skipped, and an ARP request of the stack is answered at once with the
 * peer's MAC for whatever address it asks, which releases the datagrams that waited for
 * it. Errors as px_harness_drain (EMSGSIZE keeps the datagram queued). */
int px_harness_inject_ip(struct px_harness *h, const void *datagram, size_t len);
ssize_t px_harness_drain_ip(struct px_harness *h, void *buf, size_t cap);

/* Moves the virtual clock forward by ns, running every timer due on the way at its own
 * instant, in order (the stack's timers have a 100 us tick: a deadline fires at the
 * first tick at or after it). Frames the timers send are queued for draining. 0, or -1
 * with errno EINVAL when the clock would pass 2^63 - 1 ns. */
int px_harness_advance(struct px_harness *h, uint64_t ns);

/* The virtual clock, in ns. */
uint64_t px_harness_now(const struct px_harness *h);

/* The instant (ns) at which px_harness_advance would next run a timer: never before the
 * earliest deadline's tick, sometimes earlier than it would fire after a timer was
 * cancelled (advancing there then runs nothing, which is harmless). UINT64_MAX when no
 * timer is armed; the stack's own housekeeping (ARP, reassembly) runs every 100 ms, so
 * there is always one while a harness exists. */
uint64_t px_harness_next_event(const struct px_harness *h);

#ifdef __cplusplus
}
#endif

#endif /* POLLUX_HARNESS_H */
