// The network stack's own counters, as a JSON value, for httpd's GET /stats.
//
// pollux has no C function that returns its counters; it publishes them through DPDK
// telemetry as /pollux/stats (every counter of the shard, one object per layer). So the
// pollux build asks its own process's telemetry socket, as dpdk-telemetry.py would:
// <runtime dir>/dpdk_telemetry.v2, the runtime dir being /var/run/dpdk/<file-prefix> for
// root and $XDG_RUNTIME_DIR/dpdk/<file-prefix> (else /tmp/dpdk/<file-prefix>) otherwise,
// as DPDK's eal_create_runtime_dir() builds it. The kernel build reads /proc/net/snmp, the
// kernel's own per-protocol counters (of the network namespace), in the same shape:
// {"Tcp": {"ActiveOpens": n, ...}, ...}. Either returns "null" when the counters cannot
// be read.
#pragma once

#include <string>

namespace httpd {

// Remembers --file-prefix from the EAL arguments (before the first `--`), for the
// telemetry socket's path. Call before net_main, which reorders argv.
void stack_stats_init(int argc, char** argv);

std::string stack_stats_json();

}  // namespace httpd
