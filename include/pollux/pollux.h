/* pollux: a user-space TCP/IP stack on DPDK. The runtime API.
 *
 * This header is C and C++. Every pollux function that can fail returns -1 (or NULL)
 * and sets errno as Linux would; see README.md for what is implemented today.
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

#ifdef __cplusplus
}
#endif

#endif /* POLLUX_POLLUX_H */
