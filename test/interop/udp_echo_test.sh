#!/usr/bin/env bash
# The kernel is a UDP client of examples/echo through a tap in a private namespace:
# 1,000 datagrams of 1..65,507 bytes (fragmented both ways above 1,472) must come back
# byte-identical from 198.18.0.2:7; a datagram to a closed port must earn an ICMP port
# unreachable (ECONNREFUSED on the kernel's connected socket, NoPorts + 1); /pollux/stats
# must show the traffic with no errors; SIGINT must stop pollux with every mbuf returned.
# Usage: udp_echo_test.sh ECHO_BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
command -v dpdk-telemetry.py >/dev/null || { echo "SKIP: dpdk-telemetry.py (dpdk-dev) missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

ECHO_PORT=7
CLOSED_PORT=9
COUNT=1000

pollux_netns_start "$1"
fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}
is_ge() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }
is_eq() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -eq "$2" ]; }
peer() { ip netns exec "$NS" timeout 600 python3 "$here/udp_echo_peer.py" "$@" --server "$PX_IP"; }

check "$COUNT datagrams of 1..65507 bytes echoed byte-identical from $PX_IP:$ECHO_PORT" \
    peer echo --port "$ECHO_PORT" --count "$COUNT" --seed 7
after=$(pollux_stats)
in_datagrams=$(pollux_stat udp InDatagrams "$after")
out_datagrams=$(pollux_stat udp OutDatagrams "$after")
reasm_oks=$(pollux_stat reasm ReasmOKs "$after")
frag_oks=$(pollux_stat ip FragOKs "$after")
echo "udp: InDatagrams $in_datagrams OutDatagrams $out_datagrams; reasm: ReasmOKs $reasm_oks; ip: FragOKs $frag_oks"
check "udp.InDatagrams >= $COUNT" is_ge "$in_datagrams" "$COUNT"
check "udp.OutDatagrams >= $COUNT" is_ge "$out_datagrams" "$COUNT"
for counter in InErrors RcvbufErrors SndbufErrors InCsumErrors; do
  check "udp.$counter == 0" is_eq "$(pollux_stat udp "$counter" "$after")" 0
done
check "reasm.ReasmOKs > 0 (datagrams over 1472 bytes arrive fragmented)" is_ge "$reasm_oks" 1
check "reasm.ReasmFails == 0" is_eq "$(pollux_stat reasm ReasmFails "$after")" 0
check "ip.FragOKs > 0 (their echoes leave fragmented)" is_ge "$frag_oks" 1

no_ports_before=$(pollux_stat udp NoPorts)
unreach_before=$(pollux_stat icmp OutDestUnreachs)
check "a datagram to closed port $CLOSED_PORT gets ECONNREFUSED (ICMP port unreachable)" \
    peer closed-port --port "$CLOSED_PORT"
no_ports_after=$(pollux_stat udp NoPorts)
unreach_after=$(pollux_stat icmp OutDestUnreachs)
echo "udp.NoPorts $no_ports_before -> $no_ports_after; icmp.OutDestUnreachs $unreach_before -> $unreach_after"
check "udp.NoPorts grows by 1" is_eq "$no_ports_after" "$((${no_ports_before//[!0-9]/} + 1))"
check "icmp.OutDestUnreachs grows by 1" is_eq "$unreach_after" "$((${unreach_before//[!0-9]/} + 1))"
check "pollux is still running" kill -0 "$PX_PID"

if [ $fail -ne 0 ]; then
  echo "--- stats"; pollux_stats
fi
# A clean stop: SIGINT ends px_run, echo closes its socket and frees everything.
kill -INT "$PX_PID"
wait "$PX_PID"; rc=$?
PX_PID=
summary=$(grep "echo: stopped" "$PX_LOG")
echo "${summary:-no summary line}"
check "echo exits 0 on SIGINT" test "$rc" -eq 0
clean_summary() { grep -Eq 'udp [0-9]{4,} datagrams echoed .* errors: 0 recv, 0 send, 0 close' <<<"$summary"; }
check "echo's summary: >= $COUNT echoed, no errors" clean_summary
check "every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"
# Under -Db_sanitize=address,undefined: UBSan reports without changing the exit status.
check "no sanitizer report in echo's stderr" bash -c "! grep -Eq 'runtime error|Sanitizer' '$PX_LOG'"
if [ $fail -ne 0 ]; then echo "--- pollux log"; cat "$PX_LOG"; fi
exit $fail
