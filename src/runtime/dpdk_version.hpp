// The DPDK release pollux runs on (rte_version()), for diagnostics; the API layer may
// not include rte_*.h itself (DESIGN.md §4).
#pragma once

namespace pollux::runtime {

const char* dpdk_version() noexcept;

}  // namespace pollux::runtime
