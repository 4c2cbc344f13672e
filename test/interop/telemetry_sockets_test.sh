#!/usr/bin/env bash
# /pollux/sockets over DPDK telemetry: a kernel client's connection to examples/echo is
# listed with its addresses, ESTABLISHED and ss -i's numbers, and leaves the list once
# closed (telemetry_sockets_check.py does the client's side and the checks).
# Usage: telemetry_sockets_test.sh ECHO_BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
command -v dpdk-telemetry.py >/dev/null || { echo "SKIP: dpdk-telemetry.py (dpdk-dev) missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

pollux_netns_start "$1"
ip netns exec "$NS" timeout 120 python3 "$here/telemetry_sockets_check.py" \
    --server "$PX_IP" --port 7 --prefix "$PREFIX"
rc=$?
if [ $rc -ne 0 ]; then echo "--- pollux log"; cat "$PX_LOG"; fi
exit $rc
