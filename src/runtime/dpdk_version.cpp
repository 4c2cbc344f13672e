#include "runtime/dpdk_version.hpp"

#include <rte_version.h>

namespace pollux::runtime {

const char* dpdk_version() noexcept { return rte_version(); }

}  // namespace pollux::runtime
