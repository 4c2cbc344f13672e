#!/usr/bin/env bash
# The kernel is a TCP client of examples/echo through a tap in a private namespace:
# one connection echoing 10 MB and 50 concurrent connections echoing 200 KB each must
# get back exactly what they sent (SHA-256) from 198.18.0.2:7; a connect to a closed port
# must be refused (RST: ECONNREFUSED); /pollux/stats must show the passive opens and no
# errors; SIGINT must stop pollux with every mbuf returned.
# Usage: tcp_echo_test.sh ECHO_BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
command -v dpdk-telemetry.py >/dev/null || { echo "SKIP: dpdk-telemetry.py (dpdk-dev) missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

ECHO_PORT=7
CLOSED_PORT=9
BIG_BYTES=$((10 * 1000 * 1000))
MANY=50
MANY_BYTES=$((200 * 1000))

pollux_netns_start "$1"
fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}
is_ge() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }
is_eq() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -eq "$2" ]; }
peer() { ip netns exec "$NS" timeout 400 python3 "$here/tcp_echo_peer.py" "$@" --server "$PX_IP"; }

check "one connection echoes $BIG_BYTES bytes, SHA-256 equal" \
    peer echo --port "$ECHO_PORT" --connections 1 --bytes "$BIG_BYTES" --seed 7
check "$MANY concurrent connections echo $MANY_BYTES bytes each, all equal" \
    peer echo --port "$ECHO_PORT" --connections "$MANY" --bytes "$MANY_BYTES" --seed 8
check "a connect to closed port $CLOSED_PORT gets ECONNREFUSED (RST)" \
    peer closed-port --port "$CLOSED_PORT"

after=$(pollux_stats)
active=$(pollux_stat tcp ActiveOpens "$after")
passive=$(pollux_stat tcp PassiveOpens "$after")
in_errs=$(pollux_stat tcp InErrs "$after")
echo "tcp: ActiveOpens $active PassiveOpens $passive InErrs $in_errs" \
     "InSegs $(pollux_stat tcp InSegs "$after") OutSegs $(pollux_stat tcp OutSegs "$after")" \
     "RetransSegs $(pollux_stat tcp RetransSegs "$after") OutRsts $(pollux_stat tcp OutRsts "$after")"
check "tcp.ActiveOpens == 0 (pollux only listens)" is_eq "$active" 0
check "tcp.PassiveOpens >= $((MANY + 1))" is_ge "$passive" "$((MANY + 1))"
check "tcp.InErrs == 0" is_eq "$in_errs" 0
check "tcp.OutRsts >= 1 (the closed port's answer)" is_ge "$(pollux_stat tcp OutRsts "$after")" 1
check "pollux is still running" kill -0 "$PX_PID"

if [ $fail -ne 0 ]; then
  echo "--- stats"; pollux_stats
  echo "--- kernel sockets"; ip netns exec "$NS" ss -tani
fi
# A clean stop: SIGINT ends px_run, echo closes its sockets and frees everything.
kill -INT "$PX_PID"
wait "$PX_PID"; rc=$?
PX_PID=
summary=$(grep "echo: stopped" "$PX_LOG")
echo "${summary:-no summary line}"
check "echo exits 0 on SIGINT" test "$rc" -eq 0
clean_summary() {
  grep -Eq "tcp $((MANY + 1)) connections \\($((MANY + 1)) completed, 0 refused\\), $((BIG_BYTES + MANY * MANY_BYTES)) bytes echoed, errors: 0 accept, 0 connection, 0 close" <<<"$summary"
}
check "echo's summary: $((MANY + 1)) connections completed, every byte echoed, no errors" clean_summary
check "every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"
# Under -Db_sanitize=address,undefined: UBSan reports without changing the exit status.
check "no sanitizer report in echo's stderr" bash -c "! grep -Eq 'runtime error|Sanitizer' '$PX_LOG'"
if [ $fail -ne 0 ]; then echo "--- pollux log"; cat "$PX_LOG"; fi
exit $fail
