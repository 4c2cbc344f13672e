/* pollux: a user-space TCP/IP stack on DPDK. The runtime API.
 *
 * This header is C and C++. Every pollux function that can fail returns -1 and sets
 * errno as Linux would; see README.md for what is implemented today.
 *
 * A program's life:
 *     int n = px_init(argc, argv);      // EAL arguments, then --, then pollux's options
 *     if (n < 0) return 1;              // a one-line reason was printed to stderr
 *     argc -= n; argv += n;             // argv[0] is the program, then its own arguments
 *     px_run(NULL, NULL);               // polls until px_stop(), SIGINT or SIGTERM
 *     px_fini();
 */
#ifndef POLLUX_POLLUX_H
#define POLLUX_POLLUX_H

#ifdef __cplusplus
extern "C" {
#endif

#define PX_VERSION_MAJOR 0
#define PX_VERSION_MINOR 1
#define PX_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH", for comparing the header a program was
 * built with (PX_VERSION_*) with the library it runs against. Never NULL. */
const char *px_version(void);

/* The version of the DPDK libraries pollux runs on, e.g. "DPDK 22.11.11". Never NULL. */
const char *px_dpdk_version(void);

/* Starts DPDK (EAL arguments first), then reads pollux's options after `--`:
 *   --ip ADDR/LEN (required), --gw ADDR, --mtu N, --port N, --rx-desc N, --tx-desc N,
 *   --impair SPEC, --no-offload.
 * Arguments pollux does not know are moved to follow argv[n], so that after
 * `argc -= n; argv += n;` argv[0] is the program name and the rest are the program's.
 * Returns n >= 0, or -1 with errno: EINVAL (bad arguments), EALREADY (called twice, or
 * DPDK already started by a px_harness), EBUSY (a px_harness exists, pollux/harness.h),
 * ENODEV (no usable port), ENOMEM (no memory for mbufs), EIO (EAL or port failure). */
int px_init(int argc, char **argv);

/* Runs the poll loop on the calling thread until px_stop(), SIGINT or SIGTERM. When `fn`
 * is not NULL it is called once per loop iteration with `arg` (run-to-completion
 * applications do their work there). Returns 0, or -1 with errno EINVAL before px_init. */
int px_run(void (*fn)(void *arg), void *arg);

/* Makes px_run return after its current iteration. Async-signal-safe; any thread. In
 * threaded mode, as px_run returns, every call asleep in another thread returns -1 with
 * errno EINTR. */
void px_stop(void);

/* Threaded mode: from now on any thread may call any function of socket.h and epoll.h
 * (without it, a call from a thread other than px_init's fails with EOPNOTSUPP). Call it
 * on px_init's thread before px_run, which then polls on that thread; the others share
 * the stack through one lock, which each call holds while it runs and which px_run holds
 * for each poll round. A blocking call from another thread sleeps until its socket is
 * ready (woken by the stack, as Linux's wait queues wake), its timeout passes, px_stop()
 * is called (EINTR) or its fd is closed by another thread (EBADF; Linux would keep
 * waiting); a call made before px_run starts sleeps until px_run polls. Join the threads
 * before px_fini. Calls made from px_run's callback run as in
 * inline mode. Returns 0, or -1 with errno EINVAL before px_init, EBUSY inside px_run,
 * EOPNOTSUPP on another thread or on a harness's virtual clock (pollux/harness.h). */
int px_enable_threads(void);

/* Frees every packet and the port, and stops DPDK. px_init may not be called again in
 * the same process (DPDK cannot restart its EAL). */
void px_fini(void);

#ifdef __cplusplus
}
#endif

#endif /* POLLUX_POLLUX_H */
