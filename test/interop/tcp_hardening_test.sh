#!/usr/bin/env bash
# Issue 6's scapy battery: hostile and malformed TCP segments at examples/echo over the tap
# (bad option lengths, SACK blocks outside the window, RSTs in and out of the window, SYN
# on ESTABLISHED, data offsets that lie, SYN+FIN, ICMP frag-needed quoting a wrong
# sequence number), from a hand-driven peer at 198.18.0.77 (tcp_hardening.py). pollux must
# answer as RFC 9293 / 5961 say, count every drop in /pollux/stats, and keep serving: a
# kernel client echoes 100 KB afterwards, and SIGINT stops it cleanly with every mbuf back.
# Usage: tcp_hardening_test.sh ECHO_BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
command -v dpdk-telemetry.py >/dev/null || { echo "SKIP: dpdk-telemetry.py (dpdk-dev) missing"; exit 77; }
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "SKIP: python3-scapy missing"; exit 77; }

ECHO_PORT=7
KERNEL_BYTES=100000
started=$SECONDS

pollux_netns_start "$1"
fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}

# pollux's MAC, from the kernel's neighbour table after one ping.
ip netns exec "$NS" ping -n -q -c 1 -W 2 "$PX_IP" >/dev/null
mac=$(ip netns exec "$NS" ip neigh show "$PX_IP" dev "$TAP" | awk '{print $3}')
battery=$(ip netns exec "$NS" timeout 90 /usr/bin/python3 "$here/tcp_hardening.py" --iface "$TAP" \
    --pollux-mac "$mac" --pollux-ip "$PX_IP" --prefix "$PREFIX")
battery_rc=$?
echo "$battery"
check "the scapy battery passes (exit $battery_rc)" test "$battery_rc" -eq 0
read -r accepted completed reset < <(sed -n 's/^connections: accepted \([0-9]*\) completed \([0-9]*\) reset \([0-9]*\)$/\1 \2 \3/p' <<<"$battery")

check "afterwards a kernel client still echoes $KERNEL_BYTES bytes on a fresh connection" \
    ip netns exec "$NS" timeout 60 "$PX_PYTHON" "$here/tcp_echo_peer.py" echo --server "$PX_IP" \
        --port "$ECHO_PORT" --connections 1 --bytes "$KERNEL_BYTES" --seed 6
check "pollux is still running" kill -0 "$PX_PID"

after=$(pollux_stats)
echo "tcp: InErrs $(pollux_stat tcp InErrs "$after") TCPSACKDiscard $(pollux_stat tcp TCPSACKDiscard "$after")" \
     "TCPChallengeACK $(pollux_stat tcp TCPChallengeACK "$after")" \
     "TCPACKSkippedChallenge $(pollux_stat tcp TCPACKSkippedChallenge "$after")" \
     "EstabResets $(pollux_stat tcp EstabResets "$after") OutRsts $(pollux_stat tcp OutRsts "$after")" \
     "PassiveOpens $(pollux_stat tcp PassiveOpens "$after")"
if [ $fail -ne 0 ]; then echo "--- stats"; echo "$after"; fi

# A clean stop: SIGINT ends px_run, echo closes its sockets and frees everything.
kill -INT "$PX_PID"
wait "$PX_PID"; rc=$?
PX_PID=
summary=$(grep "echo: stopped" "$PX_LOG")
echo "${summary:-no summary line}"
check "echo exits 0 on SIGINT" test "$rc" -eq 0
# The battery's connections that echo accepted, plus the kernel's: all completed by FIN
# both ways except the one reset at RCV.NXT (echo's recv sees ECONNRESET: a connection error).
clean_summary() {
  [ -n "${accepted:-}" ] &&
  grep -Eq "tcp $((accepted + 1)) connections \\($((completed + 1)) completed, 0 refused\\), [0-9]+ bytes echoed, errors: 0 accept, $reset connection, 0 close" <<<"$summary"
}
check "echo's summary: $((${accepted:-0} + 1)) connections, $((${completed:-0} + 1)) completed, ${reset:-?} reset" \
    clean_summary
check "every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"
check "no sanitizer report in echo's stderr" bash -c "! grep -Eq 'runtime error|Sanitizer' '$PX_LOG'"
echo "took $((SECONDS - started)) s"
if [ $fail -ne 0 ]; then echo "--- pollux log"; cat "$PX_LOG"; fi
exit $fail
