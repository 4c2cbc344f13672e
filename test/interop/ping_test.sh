#!/usr/bin/env bash
# The kernel pings pollux through a tap in a private namespace: 20 ordinary pings, then
# 8000-byte pings fragmented both ways, then malformed frames from scapy, after which
# pollux must still answer and /pollux/stats must show each drop counted.
# Usage: ping_test.sh ECHO_BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
command -v dpdk-telemetry.py >/dev/null || { echo "SKIP: dpdk-telemetry.py (dpdk-dev) missing"; exit 77; }
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "SKIP: python3-scapy missing"; exit 77; }

pollux_netns_start "$1"
fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}
received() {  # received COUNT ping-args... : true when exactly COUNT replies come back
  local want=$1; shift
  local out
  out=$(ip netns exec "$NS" ping -n -q "$@" "$PX_IP" 2>&1)
  echo "$out" | tail -2 | head -1
  echo "$out" | grep -q " $want received"
}

check "ping -c 20 gets 20 replies" received 20 -c 20 -i 0.05 -W 2
check "ping -s 8000 -c 5 (fragmented both ways) gets 5 replies" received 5 -s 8000 -c 5 -i 0.1 -W 2
check "ping -s 65507 -c 2 (largest datagram) gets 2 replies" received 2 -s 65507 -c 2 -i 0.2 -W 3

mac=$(ip netns exec "$NS" ip neigh show "$PX_IP" dev "$TAP" | awk '{print $3}')
ip netns exec "$NS" /usr/bin/python3 "$here/malformed.py" --iface "$TAP" --pollux-mac "$mac" \
    --pollux-ip "$PX_IP" --kernel-ip "$KERNEL_IP" --prefix "$PREFIX" || fail=1

check "ping -c 5 still gets 5 replies after the malformed frames" received 5 -c 5 -i 0.05 -W 2
check "pollux is still running" kill -0 "$PX_PID"

if [ $fail -ne 0 ]; then
  echo "--- pollux log"; cat "$PX_LOG"
  echo "--- stats"; pollux_stats
fi
# A clean stop: SIGTERM must end the loop and free everything (the ASan tree checks leaks).
kill -TERM "$PX_PID"
wait "$PX_PID"; rc=$?
check "pollux exits 0 on SIGTERM" test "$rc" -eq 0
check "every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"
grep "mbufs leaked" "$PX_LOG" || true
PX_PID=
exit $fail
