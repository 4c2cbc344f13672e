// The version calls of include/pollux/pollux.h.
#include "pollux/pollux.h"

#include "runtime/dpdk_version.hpp"

#define PX_STRINGIFY2(x) #x
#define PX_STRINGIFY(x) PX_STRINGIFY2(x)

extern "C" const char* px_version(void) {
    return PX_STRINGIFY(PX_VERSION_MAJOR) "." PX_STRINGIFY(PX_VERSION_MINOR) "." PX_STRINGIFY(PX_VERSION_PATCH);
}

extern "C" const char* px_dpdk_version(void) { return pollux::runtime::dpdk_version(); }
