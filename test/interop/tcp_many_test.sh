#!/usr/bin/env bash
# 1,000 kernel TCP clients of examples/echo at once, through a tap in a private namespace:
# all connect in one burst (1,000 SYNs against a listener with backlog 128: the ones
# pollux drops are retransmitted by the kernel), all echo 4 KB and are ESTABLISHED at the
# same time before any closes, then all close; every one must succeed. /pollux/stats must
# show 1,000 passive opens and no errors; what the burst cost (pollux's ListenDrops and
# ListenOverflows, the kernel's SYN retransmissions) is printed; SIGINT must stop pollux
# with every connection completed and every mbuf returned.
# Usage: tcp_many_test.sh ECHO_BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
command -v dpdk-telemetry.py >/dev/null || { echo "SKIP: dpdk-telemetry.py (dpdk-dev) missing"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "SKIP: /usr/bin/python3 missing"; exit 77; }

ECHO_PORT=7
CLIENTS=${TCP_MANY_CLIENTS:-1000}
BYTES=4096

pollux_netns_start "$1"
fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}
is_ge() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }
is_eq() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -eq "$2" ]; }
kernel_stat() {  # the namespace's own kernel counter (nstat names), 0 when absent
  ip netns exec "$NS" nstat -az "$1" 2>/dev/null | awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }'
}

# The kernel must not stop retrying a dropped SYN before the burst is served (default 6
# retries: about 127 s, more than enough; set explicitly so the test does not depend on it).
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_syn_retries=6
started=$(date +%s)
check "$CLIENTS concurrent connections echo $BYTES bytes each, all open at once, all succeed" \
    ip netns exec "$NS" timeout 300 /usr/bin/python3 "$here/tcp_many_clients.py" \
        --server "$PX_IP" --port "$ECHO_PORT" --connections "$CLIENTS" --bytes "$BYTES" --timeout 240
echo "clients done in $(($(date +%s) - started)) s"

after=$(pollux_stats)
passive=$(pollux_stat tcp PassiveOpens "$after")
echo "pollux tcp: PassiveOpens $passive ListenDrops $(pollux_stat tcp ListenDrops "$after")" \
     "ListenOverflows $(pollux_stat tcp ListenOverflows "$after") InSegs $(pollux_stat tcp InSegs "$after")" \
     "OutSegs $(pollux_stat tcp OutSegs "$after") RetransSegs $(pollux_stat tcp RetransSegs "$after")" \
     "OutRsts $(pollux_stat tcp OutRsts "$after") EstabResets $(pollux_stat tcp EstabResets "$after")"
echo "kernel: TcpExtTCPSynRetrans $(kernel_stat TcpExtTCPSynRetrans) TcpRetransSegs $(kernel_stat TcpRetransSegs)" \
     "TcpAttemptFails $(kernel_stat TcpAttemptFails) TcpEstabResets $(kernel_stat TcpEstabResets)"
check "tcp.PassiveOpens >= $CLIENTS" is_ge "$passive" "$CLIENTS"
for counter in InErrs InCsumErrors EstabResets; do
  check "tcp.$counter == 0" is_eq "$(pollux_stat tcp "$counter" "$after")" 0
done
check "pollux is still running" kill -0 "$PX_PID"

if [ $fail -ne 0 ]; then
  echo "--- stats"; pollux_stats
  echo "--- kernel sockets"; ip netns exec "$NS" ss -tan | awk 'NR > 1 { n[$1]++ } END { for (s in n) print s, n[s] }'
fi
pollux_stop 30
summary=$(grep "echo: stopped" "$PX_LOG")
echo "${summary:-no summary line}"
check "echo exits 0 on SIGINT" test "$PX_RC" -eq 0
clean_summary() {
  grep -Eq "tcp $CLIENTS connections \\($CLIENTS completed, 0 refused\\), $((CLIENTS * BYTES)) bytes echoed, errors: 0 accept, 0 connection, 0 close" <<<"$summary"
}
check "echo's summary: $CLIENTS connections completed, every byte echoed, no errors" clean_summary
check "every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"
# Under -Db_sanitize=address,undefined: UBSan reports without changing the exit status.
check "no sanitizer report in echo's stderr" bash -c "! grep -Eq 'runtime error|Sanitizer' '$PX_LOG'"
if [ $fail -ne 0 ]; then echo "--- pollux log"; cat "$PX_LOG"; fi
exit $fail
