/* app_net.h: one application source, two network stacks.
 *
 * Built as is, every net_* call is the pollux call of the same name (px_socket, ...), and
 * net_main brings pollux up. Built with -DAPP_STACK_KERNEL, the same calls are Linux's
 * own (socket, ...) and no pollux header or library is needed. The examples and the load
 * generator are each built both ways from one source, so that a comparison between the
 * two builds compares stacks, not programs. C and C++.
 *
 * Both stacks take the same command line (the option contract of every pollux program):
 *     PROG [EAL args] -- --ip ADDR/LEN [--gw ADDR] [--port N] [pollux options] [app options]
 * On the kernel, everything up to and including the first `--` is skipped (there is no
 * EAL; without a `--` nothing is skipped), and pollux's options (--ip, --gw, --mtu,
 * --port, --rx-desc, --tx-desc, --impair take a value; --no-offload does not) are accepted
 * and ignored, except that --ip's address becomes net_local_address(): the address a
 * server binds and a client binds its sockets to, so that on a machine with several
 * addresses the kernel build uses the one the pollux build would own.
 *
 * The application is written as a blocking epoll loop:
 *     static int app(int argc, char **argv, void *ctx) {   // argv[0]: the program
 *         ... net_socket / net_bind / net_listen / net_epoll_ctl ...
 *         for (;;) {
 *             int n = net_epoll_wait(ep, events, 64, -1);
 *             if (n < 0 && errno == EINTR) break;          // SIGINT, SIGTERM, net_stop()
 *             ...
 *         }
 *         return 0;                                        // net_main's exit status
 *     }
 *     int main(int argc, char **argv) { return net_main(argc, argv, app, NULL); }
 *
 * The stop contract: after SIGINT, SIGTERM or net_stop(), every net_epoll_wait returns
 * -1 with errno EINTR (on pollux px_epoll_wait does so after px_stop(); on the kernel the
 * handlers set a flag that net_epoll_wait checks, and the signals are blocked except
 * inside epoll_pwait, so one arriving between two waits is not lost). Other blocking
 * calls are not interrupted: an epoll application keeps its sockets non-blocking.
 *
 * On pollux the application runs once inside px_run's callback (inline mode), so every
 * net_* call must come from the thread that called net_main.
 *
 * net_main_threads runs the application on N threads at once instead (pollux's threaded
 * mode, px_enable_threads): a setup function on the main thread opens what the threads
 * share, then each thread runs its own loop while the main thread polls (pollux) or waits
 * for the stop signal (kernel). At the stop every net_epoll_wait returns EINTR within
 * 100 ms (a waiting thread re-checks the stop at least that often). */
#ifndef APP_NET_H
#define APP_NET_H

/* accept4, SOCK_NONBLOCK, epoll_pwait and sigaction are GNU/POSIX, not ISO C: include
 * this header first, or compile with -D_GNU_SOURCE (examples/meson.build does). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef APP_STACK_KERNEL
#include <arpa/inet.h>
#include <unistd.h>
#define APP_NET_CALL(name) name
#else
#include <pollux/epoll.h>
#include <pollux/pollux.h>
#include <pollux/socket.h>
#define APP_NET_CALL(name) px_##name
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* "pollux" or "kernel": which stack this build runs on. */
static inline const char *net_stack_name(void) {
#ifdef APP_STACK_KERNEL
    return "kernel";
#else
    return "pollux";
#endif
}

static inline int net_socket(int domain, int type, int protocol) { return APP_NET_CALL(socket)(domain, type, protocol); }
static inline int net_bind(int fd, const struct sockaddr *addr, socklen_t len) { return APP_NET_CALL(bind)(fd, addr, len); }
static inline int net_listen(int fd, int backlog) { return APP_NET_CALL(listen)(fd, backlog); }
static inline int net_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return APP_NET_CALL(accept4)(fd, addr, len, flags);
}
static inline int net_connect(int fd, const struct sockaddr *addr, socklen_t len) {
    return APP_NET_CALL(connect)(fd, addr, len);
}
static inline ssize_t net_recv(int fd, void *buf, size_t len, int flags) { return APP_NET_CALL(recv)(fd, buf, len, flags); }
static inline ssize_t net_send(int fd, const void *buf, size_t len, int flags) {
    return APP_NET_CALL(send)(fd, buf, len, flags);
}
static inline ssize_t net_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *from_len) {
    return APP_NET_CALL(recvfrom)(fd, buf, len, flags, from, from_len);
}
static inline ssize_t net_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t to_len) {
    return APP_NET_CALL(sendto)(fd, buf, len, flags, to, to_len);
}
static inline ssize_t net_writev(int fd, const struct iovec *iov, int iovcnt) { return APP_NET_CALL(writev)(fd, iov, iovcnt); }
static inline int net_shutdown(int fd, int how) { return APP_NET_CALL(shutdown)(fd, how); }
static inline int net_close(int fd) { return APP_NET_CALL(close)(fd); }
static inline int net_setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
    return APP_NET_CALL(setsockopt)(fd, level, name, value, len);
}
static inline int net_getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
    return APP_NET_CALL(getsockopt)(fd, level, name, value, len);
}
static inline int net_getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
    return APP_NET_CALL(getsockname)(fd, addr, len);
}
static inline int net_getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
    return APP_NET_CALL(getpeername)(fd, addr, len);
}
static inline int net_epoll_create1(int flags) { return APP_NET_CALL(epoll_create1)(flags); }
static inline int net_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) {
    return APP_NET_CALL(epoll_ctl)(epfd, op, fd, event);
}

/* The state net_main keeps for the whole process (one per program, as the stack is). */
struct net_process {
    int (*app)(int argc, char **argv, void *ctx);
    void *ctx;
    int argc;
    char **argv;
    int status;   /* app's return value */
    int app_done; /* on pollux: the app has run inside px_run's callback */
    uint32_t local_address; /* network byte order; INADDR_ANY unless the kernel build got --ip */
    int threads;            /* net_main_threads: application threads running; 0 inline */
#ifndef APP_STACK_KERNEL
    cpu_set_t app_cpus;     /* the CPUs before DPDK pinned this thread to its lcore */
#endif
    volatile sig_atomic_t stopping; /* threads: the stop was seen (kernel: any mode) */
#ifdef APP_STACK_KERNEL
    sigset_t wait_mask; /* the signal mask epoll_pwait waits with: SIGINT/SIGTERM open */
#endif
};

/* One per translation unit: include this header from one source file of a program (the
 * one that calls net_main and makes the net_* calls). */
static struct net_process net_process_state;

/* The address to bind to: --ip's address on the kernel build, INADDR_ANY on pollux (the
 * stack owns exactly one address, so the wildcard is the same thing). Network byte order. */
static inline uint32_t net_local_address(void) { return net_process_state.local_address; }

/* Makes every net_epoll_wait return -1/EINTR from now on. From the application's thread
 * or a signal handler. */
static inline void net_stop(void) {
#ifdef APP_STACK_KERNEL
    net_process_state.stopping = 1;
#else
    px_stop();
#endif
}

/* net_main_threads: a wait in slices of at most 100 ms, checking the stop between them
 * (one thread's signal handler cannot interrupt another thread's wait). */
static inline int net_epoll_wait_threaded(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    for (;;) {
        if (__atomic_load_n(&net_process_state.stopping, __ATOMIC_ACQUIRE)) {
            errno = EINTR;
            return -1;
        }
        int slice = timeout < 0 || timeout > 100 ? 100 : timeout;
        int n = APP_NET_CALL(epoll_wait)(epfd, events, maxevents, slice);
        if (n != 0 || slice == timeout) return n;
        if (timeout > 0) timeout -= slice;
    }
}

static inline int net_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    if (net_process_state.threads > 0) return net_epoll_wait_threaded(epfd, events, maxevents, timeout);
#ifdef APP_STACK_KERNEL
    if (net_process_state.stopping) {
        errno = EINTR;
        return -1;
    }
    int n = epoll_pwait(epfd, events, maxevents, timeout, &net_process_state.wait_mask);
    if (n >= 0 && net_process_state.stopping) { /* a signal raced the return: stop anyway */
        errno = EINTR;
        return -1;
    }
    return n;
#else
    return px_epoll_wait(epfd, events, maxevents, timeout);
#endif
}

#ifdef APP_STACK_KERNEL

static inline void net_on_stop_signal(int sig) {
    (void)sig;
    net_process_state.stopping = 1;
}

/* pollux's options and whether each takes a value (src/runtime/options.cpp). Returns 2
 * for an option with a value, 1 for a flag, 0 for anything else. */
static inline int net_pollux_option(const char *arg) {
    static const char *const with_value[] = {"--ip", "--gw", "--mtu", "--port", "--rx-desc", "--tx-desc", "--impair"};
    for (size_t i = 0; i < sizeof with_value / sizeof with_value[0]; ++i) {
        if (strcmp(arg, with_value[i]) == 0) return 2;
    }
    return strcmp(arg, "--no-offload") == 0 ? 1 : 0;
}

/* --ip ADDR/LEN: the address part, in network byte order, or -1 (reported). */
static inline int net_parse_ip_option(const char *value, uint32_t *address) {
    char text[INET_ADDRSTRLEN];
    const char *slash = strchr(value, '/');
    size_t length = slash != NULL ? (size_t)(slash - value) : strlen(value);
    struct in_addr a;
    if (slash != NULL && length < sizeof text) {
        memcpy(text, value, length);
        text[length] = '\0';
        if (inet_pton(AF_INET, text, &a) == 1) {
            *address = a.s_addr;
            return 0;
        }
    }
    fprintf(stderr, "%s: --ip %s: expected ADDR/LEN, e.g. 127.0.0.1/8\n", net_stack_name(), value);
    return -1;
}

#else

static inline void net_run_app_once(void *arg) {
    struct net_process *p = (struct net_process *)arg;
    if (p->app_done) return;
    p->app_done = 1;
    p->status = p->app(p->argc, p->argv, p->ctx);
    px_stop(); /* px_run returns after this iteration */
}

#endif

/* Brings the stack up, runs app(argc', argv', ctx) with the program's own arguments
 * (argv'[0] is the program), tears the stack down and returns app's value, or 1 when the
 * stack could not start (the reason is on stderr), or 2 on a bad pollux option (kernel). */
static inline int net_main(int argc, char **argv, int (*app)(int argc, char **argv, void *ctx), void *ctx) {
    struct net_process *p = &net_process_state;
    /* A send or writev to a reset peer answers EPIPE on both stacks instead of killing the
     * process (pollux raises SIGPIPE as Linux does, without MSG_NOSIGNAL). */
    signal(SIGPIPE, SIG_IGN);
    p->app = app;
    p->ctx = ctx;
    p->local_address = INADDR_ANY;
#ifdef APP_STACK_KERNEL
    int first = 1;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--") == 0) {
            first = i + 1;
            break;
        }
    }
    /* The program's arguments, compacted in place after argv[0]. */
    int kept = 1;
    for (int i = first; i < argc; ++i) {
        int kind = net_pollux_option(argv[i]);
        if (kind == 0) {
            argv[kept++] = argv[i];
            continue;
        }
        if (kind == 2) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs a value\n", net_stack_name(), argv[i]);
                return 2;
            }
            if (strcmp(argv[i], "--ip") == 0 && net_parse_ip_option(argv[i + 1], &p->local_address) < 0) return 2;
            ++i;
        }
    }
    argv[kept] = NULL;
    /* SIGINT/SIGTERM blocked except inside epoll_pwait: a stop that arrives while the
     * application works is seen at its next wait, never lost. No SA_RESTART: the wait
     * returns EINTR. */
    sigset_t stop_signals, previous;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, &previous);
    p->wait_mask = previous;
    sigdelset(&p->wait_mask, SIGINT);
    sigdelset(&p->wait_mask, SIGTERM);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = net_on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    p->argc = kept;
    p->argv = argv;
    p->status = app(p->argc, p->argv, ctx);
    sigprocmask(SIG_SETMASK, &previous, NULL);
    return p->status;
#else
    int n = px_init(argc, argv);
    if (n < 0) return 1;
    p->argc = argc - n;
    p->argv = argv + n;
    p->status = 0;
    p->app_done = 0;
    if (px_run(net_run_app_once, p) < 0) {
        fprintf(stderr, "pollux: px_run: %s\n", strerror(errno));
        p->status = 1;
    }
    px_fini();
    return p->status;
#endif
}

/* ---- threaded mode ---- */

/* The application as N threads: setup(argc', argv', shared) once on the main thread after
 * the stack is up (non-zero: nothing runs and that is the status), then worker(argc',
 * argv', shared, i) on threads i = 0..count-1 at once until the stop, then teardown. */
struct net_threads {
    int count;
    int (*setup)(int argc, char **argv, void *shared);
    int (*worker)(int argc, char **argv, void *shared, int index);
    void (*teardown)(void *shared);
    void *shared;
};

struct net_thread_start {
    const struct net_threads *t;
    int index;
    int status;
    pthread_t thread;
};

static inline void *net_thread_main(void *arg) {
    struct net_thread_start *s = (struct net_thread_start *)arg;
    struct net_process *p = &net_process_state;
    s->status = s->t->worker(p->argc, p->argv, s->t->shared, s->index);
    return NULL;
}

static inline int net_stopping(void) { return __atomic_load_n(&net_process_state.stopping, __ATOMIC_ACQUIRE); }

/* Starts the workers; the main thread then polls (pollux: px_run) or waits for SIGINT or
 * SIGTERM (kernel) and joins them. The first non-zero status, 0, or 1 when the stack or a
 * thread could not start. */
static inline int net_run_threads(const struct net_threads *t) {
    struct net_process *p = &net_process_state;
    int status = t->setup(p->argc, p->argv, t->shared);
    if (status != 0) return status;
    struct net_thread_start *starts = (struct net_thread_start *)calloc((size_t)t->count, sizeof *starts);
    if (starts == NULL) return 1;
    p->threads = t->count;
    int started = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
#ifndef APP_STACK_KERNEL
    /* Threads created here would inherit the polling lcore's CPU; they run where the
     * program could run before DPDK pinned its main thread. */
    pthread_attr_setaffinity_np(&attr, sizeof p->app_cpus, &p->app_cpus);
#endif
    for (; started < t->count; ++started) {
        starts[started].t = t;
        starts[started].index = started;
        if (pthread_create(&starts[started].thread, &attr, net_thread_main, &starts[started]) != 0) break;
    }
    pthread_attr_destroy(&attr);
    if (started == t->count) {
#ifdef APP_STACK_KERNEL
        while (!net_stopping()) sigsuspend(&p->wait_mask);
#else
        if (px_run(NULL, NULL) < 0) status = 1;
#endif
    }
    __atomic_store_n(&p->stopping, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < started; ++i) {
        pthread_join(starts[i].thread, NULL);
        if (status == 0) status = starts[i].status;
    }
    if (started != t->count && status == 0) status = 1;
    t->teardown(t->shared);
    free(starts);
    p->threads = 0;
    return status;
}

static inline int net_run_threads_app(int argc, char **argv, void *ctx) {
    (void)argc;
    (void)argv;
    return net_run_threads((const struct net_threads *)ctx);
}

/* net_main with the application on t->count threads (see struct net_threads). */
static inline int net_main_threads(int argc, char **argv, const struct net_threads *t) {
#ifdef APP_STACK_KERNEL
    /* net_main's set-up (arguments, signals blocked in every thread but while the main
     * one waits in sigsuspend), with the threads as its application. */
    return net_main(argc, argv, net_run_threads_app, (void *)t);
#else
    struct net_process *p = &net_process_state;
    signal(SIGPIPE, SIG_IGN);
    p->local_address = INADDR_ANY;
    if (sched_getaffinity(0, sizeof p->app_cpus, &p->app_cpus) != 0) CPU_ZERO(&p->app_cpus);
    int n = px_init(argc, argv);
    if (n < 0) return 1;
    p->argc = argc - n;
    p->argv = argv + n;
    /* The threads call the stack while this thread polls in px_run. */
    int status;
    if (px_enable_threads() != 0) {
        fprintf(stderr, "pollux: px_enable_threads: %s\n", strerror(errno));
        status = 1;
    } else {
        status = net_run_threads(t);
    }
    px_fini();
    return status;
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* APP_NET_H */
