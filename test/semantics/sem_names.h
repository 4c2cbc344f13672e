/* One name per socket call for udp_semantics.c: the kernel's (socket, bind, ...) or, with
 * PX_POLLUX defined, pollux's (px_socket, px_bind, ...). The test source spells every call
 * S(name), so the two builds run the same statements. */
#ifndef POLLUX_TEST_SEM_NAMES_H
#define POLLUX_TEST_SEM_NAMES_H

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef PX_POLLUX
#include <pollux/pollux.h>
#include <pollux/socket.h>
#define S(f) px_##f
#define SEM_BUILD "pollux"
#else
#define S(f) f
#define SEM_BUILD "kernel"
#endif

#endif /* POLLUX_TEST_SEM_NAMES_H */
