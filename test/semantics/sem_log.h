/* The logging half of the *_semantics programs (DESIGN.md 6.5): one line per call with
 * its return value and errno name, notes, sections, and addresses printed so that what
 * legitimately differs between the kernel and the pollux build (ephemeral ports) does not.
 * Included by one .c file per program: every definition is static. */
#ifndef POLLUX_TEST_SEM_LOG_H
#define POLLUX_TEST_SEM_LOG_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- logging ---------------------------------------------------------------------- */

struct errno_name {
    int value;
    const char *name;
};

static const struct errno_name errno_names[] = {
    {EPERM, "EPERM"},
    {ENOENT, "ENOENT"},
    {EINTR, "EINTR"},
    {EIO, "EIO"},
    {ENXIO, "ENXIO"},
    {EBADF, "EBADF"},
    {EAGAIN, "EAGAIN"},
    {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},
    {EFAULT, "EFAULT"},
    {EEXIST, "EEXIST"},
    {ENODEV, "ENODEV"},
    {EINVAL, "EINVAL"},
    {ENFILE, "ENFILE"},
    {EMFILE, "EMFILE"},
    {ENOTTY, "ENOTTY"},
    {EPIPE, "EPIPE"},
    {EDOM, "EDOM"},
    {ERANGE, "ERANGE"},
    {ENOSYS, "ENOSYS"},
    {ELOOP, "ELOOP"},
    {ENOTSOCK, "ENOTSOCK"},
    {EDESTADDRREQ, "EDESTADDRREQ"},
    {EMSGSIZE, "EMSGSIZE"},
    {EPROTOTYPE, "EPROTOTYPE"},
    {ENOPROTOOPT, "ENOPROTOOPT"},
    {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
    {ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT"},
    {EOPNOTSUPP, "EOPNOTSUPP"},
    {EPFNOSUPPORT, "EPFNOSUPPORT"},
    {EAFNOSUPPORT, "EAFNOSUPPORT"},
    {EADDRINUSE, "EADDRINUSE"},
    {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
    {ENETDOWN, "ENETDOWN"},
    {ENETUNREACH, "ENETUNREACH"},
    {ECONNABORTED, "ECONNABORTED"},
    {ECONNRESET, "ECONNRESET"},
    {ENOBUFS, "ENOBUFS"},
    {EISCONN, "EISCONN"},
    {ENOTCONN, "ENOTCONN"},
    {ETIMEDOUT, "ETIMEDOUT"},
    {ECONNREFUSED, "ECONNREFUSED"},
    {EHOSTDOWN, "EHOSTDOWN"},
    {EHOSTUNREACH, "EHOSTUNREACH"},
    {EALREADY, "EALREADY"},
    {EINPROGRESS, "EINPROGRESS"},
};

static inline const char *errname(int e) {
    static char other[32];
    if (e == 0) return "0";
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; ++i)
        if (errno_names[i].value == e) return errno_names[i].name;
    snprintf(other, sizeof other, "errno=%d", e);
    return other;
}

/* CALL(expr, fmt, ...) runs expr with errno cleared, then logs "<fmt> -> <ret> <errno>"
 * and yields the return value. The comma operator orders the steps: errno is read right
 * after the call, before the format arguments are evaluated. */
static long g_ret;
static int g_err;
static int g_is_fd;

static inline long report(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (g_is_fd && g_ret >= 0)
        printf(" -> fd %s\n", errname(0));
    else
        printf(" -> %ld %s\n", g_ret, g_ret < 0 ? errname(g_err) : errname(0));
    g_is_fd = 0;
    return g_ret;
}

#define CALL(expr, ...) (errno = 0, g_ret = (long)(expr), g_err = errno, report(__VA_ARGS__))
/* For calls that return a new fd: the number differs between builds, so it prints "fd". */
#define OPEN(expr, ...) (g_is_fd = 1, CALL(expr, __VA_ARGS__))

static inline void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("    ");
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static inline void section(const char *name) { printf("== %s\n", name); }

static inline const char *yes(int cond) { return cond ? "yes" : "no"; }

static inline struct sockaddr_in in4(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

/* "127.0.0.1:20001", with an ephemeral port as "<eph>" (the numbers differ by build). */
static inline const char *addr_str(const struct sockaddr_in *a) {
    static char bufs[4][64];
    static int next;
    char *out = bufs[next++ % 4];
    char ip[INET_ADDRSTRLEN];
    unsigned port = ntohs(a->sin_port);
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    if (a->sin_family != AF_INET)
        snprintf(out, 64, "family=%d %s:%u", a->sin_family, ip, port);
    else if (port >= 32768 && port <= 60999)
        snprintf(out, 64, "%s:<eph>", ip);
    else
        snprintf(out, 64, "%s:%u", ip, port);
    return out;
}

#endif /* POLLUX_TEST_SEM_LOG_H */
