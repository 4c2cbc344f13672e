# Shared by the kernel-peer tests: a private network namespace holding a pollux program
# on net_tap and the kernel's side of the tap, removed on exit whatever happens
# (TESTBED.md). Addresses come from 198.18.0.0/15 only.
#
#   source lib.sh; pollux_netns_start PROGRAM [program options...]
# sets NS (namespace), PREFIX (EAL file prefix, for dpdk-telemetry.py -f), TAP, PX_IP,
# KERNEL_IP, PX_PID, PX_LOG; the kernel side of the tap is up with KERNEL_IP/24.

NS="pxt-$$"
PREFIX="pxt$$"
TAP="pxt$$"
PX_IP=198.18.0.2
KERNEL_IP=198.18.0.1
PX_PID=
PX_LOG=$(mktemp)

pollux_netns_cleanup() {
  if [ -n "$PX_PID" ] && kill -0 "$PX_PID" 2>/dev/null; then
    kill -TERM "$PX_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$PX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PX_PID" 2>/dev/null
  fi
  ip netns del "$NS" 2>/dev/null
  rm -rf "/var/run/dpdk/$PREFIX" "$PX_LOG"
  rm -f /dev/hugepages/"${PREFIX}"map_* 2>/dev/null
}

# Skips (exit 77, meson's "skipped") when the machine cannot run kernel-peer tests.
pollux_netns_require() {
  if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root for network namespaces"; exit 77; fi
  for tool in ip ping; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
  done
}

pollux_netns_start() {
  local program=$1; shift
  trap pollux_netns_cleanup EXIT
  ip netns add "$NS"
  ip netns exec "$NS" ip link set lo up
  ip netns exec "$NS" "$program" --no-pci --no-huge -m 512 --file-prefix="$PREFIX" -l 0 \
      --log-level=lib.*:error --vdev="net_tap0,iface=$TAP" -- --ip "$PX_IP/24" "$@" >"$PX_LOG" 2>&1 &
  PX_PID=$!
  for _ in $(seq 100); do
    ip netns exec "$NS" ip link show "$TAP" >/dev/null 2>&1 && grep -q "running" "$PX_LOG" && break
    kill -0 "$PX_PID" 2>/dev/null || { echo "FAIL: $program exited:"; cat "$PX_LOG"; exit 1; }
    sleep 0.1
  done
  # No IPv6 chatter (router solicitations, MLD) on the test link: it would blur counters.
  ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
  ip netns exec "$NS" ip link set "$TAP" up
  ip netns exec "$NS" ip addr add "$KERNEL_IP/24" dev "$TAP"
}

# Prints /pollux/stats as one JSON object.
pollux_stats() {
  echo /pollux/stats | dpdk-telemetry.py -f "$PREFIX" 2>/dev/null | tail -n 1
}

# Prints one counter: `pollux_stat udp InDatagrams` asks pollux now; with a third argument,
# a line pollux_stats printed earlier, reads it from there (one snapshot, several counters).
# Prints "missing" when the layer or the counter is absent, so comparisons fail visibly.
pollux_stat() {
  local snapshot=${3:-$(pollux_stats)}
  printf '%s\n' "$snapshot" | python3 -c '
import json, sys
try:
    print(json.load(sys.stdin)["/pollux/stats"][sys.argv[1]][sys.argv[2]])
except (ValueError, KeyError, TypeError):
    print("missing")' "$1" "$2"
}
