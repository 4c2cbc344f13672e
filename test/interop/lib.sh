# Shared by the kernel-peer tests: a private network namespace holding a pollux program
# on net_tap and the kernel's side of the tap, removed on exit whatever happens
# (TESTBED.md). Addresses come from 198.18.0.0/15 only.
#
#   source lib.sh; pollux_netns_start PROGRAM [program options...]
# sets NS (namespace), PREFIX (EAL file prefix, for dpdk-telemetry.py -f), TAP, PX_IP,
# KERNEL_IP, PX_PID, PX_LOG; the kernel side of the tap is up with KERNEL_IP/24.
# A test that runs several pollux programs one after the other in one namespace calls
# pollux_netns_create once, then pollux_start / pollux_stop for each (the tap lives as long
# as the program, so pollux_start configures its kernel side every time).

NS="pxt-$$"
PREFIX="pxt$$"
TAP="pxt$$"
PX_IP=198.18.0.2
KERNEL_IP=198.18.0.1
PX_PID=
PX_LOG=$(mktemp)
# Debian's interpreter when there is one: a python3 on PATH may be a slow shim (pyenv:
# about a second per start), and the tests read many counters.
PX_PYTHON=python3
[ -x /usr/bin/python3 ] && PX_PYTHON=/usr/bin/python3
# Kernel-side helpers a test starts in the background (pids): killed on exit too.
PEER_PIDS=()

pollux_netns_cleanup() {
  local pid
  for pid in "${PEER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
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

# The namespace, with loopback up; removed on exit with everything in it.
pollux_netns_create() {
  trap pollux_netns_cleanup EXIT
  ip netns add "$NS"
  ip netns exec "$NS" ip link set lo up
}

# Starts PROGRAM on the tap inside the namespace (output in PX_LOG, emptied first) and
# waits until it runs, then brings the kernel side of the tap up with KERNEL_IP/24.
pollux_start() {
  local program=$1; shift
  : >"$PX_LOG"
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

pollux_netns_start() {
  pollux_netns_create
  pollux_start "$@"
}

# Stops the program started last with SIGINT (a clean stop: it frees everything and
# reports leaked mbufs) and waits for it, at most SECONDS (default 30), then SIGKILL.
# Sets PX_RC to its exit status (137 when it had to be killed).
pollux_stop() {
  local seconds=${1:-30}
  kill -INT "$PX_PID" 2>/dev/null
  for _ in $(seq $((seconds * 10))); do kill -0 "$PX_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PX_PID" 2>/dev/null
  wait "$PX_PID"; PX_RC=$?
  PX_PID=
}

# Prints /pollux/stats as one JSON object.
pollux_stats() {
  echo /pollux/stats | "$PX_PYTHON" "$(command -v dpdk-telemetry.py)" -f "$PREFIX" 2>/dev/null | tail -n 1
}

# Prints one counter: `pollux_stat udp InDatagrams` asks pollux now; with a third argument,
# a line pollux_stats printed earlier, reads it from there (one snapshot, several counters).
# Prints "missing" when the layer or the counter is absent, so comparisons fail visibly.
pollux_stat() {
  local snapshot=${3:-$(pollux_stats)}
  printf '%s\n' "$snapshot" | "$PX_PYTHON" -c '
import json, sys
try:
    print(json.load(sys.stdin)["/pollux/stats"][sys.argv[1]][sys.argv[2]])
except (ValueError, KeyError, TypeError):
    print("missing")' "$1" "$2"
}

# Prints every counter of a pollux_stats snapshot as "layer.Counter value", one a line:
#   declare -A stat; while read -r k v; do stat[$k]=$v; done < <(pollux_stat_table "$snapshot")
pollux_stat_table() {
  printf '%s\n' "$1" | "$PX_PYTHON" -c '
import json, sys
try:
    layers = json.load(sys.stdin)["/pollux/stats"]
except (ValueError, KeyError, TypeError):
    sys.exit(0)
for layer, counters in layers.items():
    for name, value in counters.items():
        print(f"{layer}.{name} {value}")'
}
