#!/usr/bin/env bash
# 100 MB each way at once over one TCP connection between pollux (tcp_bulk) and the Linux
# kernel (tcp_bulk_peer.py), through a tap in a private namespace, six times: pollux as
# the server (passive open) and as the client (active open to a kernel listener), on a
# clean link, with 2 % random loss each way (iptables -m statistic, INPUT and OUTPUT),
# and behind a 50 Mbit/s token bucket (tc tbf on the kernel's side of the tap: it shapes
# kernel -> pollux; the other way is not shaped, the kernel has no ingress shaper here).
# In each: both sides get exactly the other's stream (length, and SHA-256 compared
# across the processes), pollux's counters show one open of the right kind and no
# errors or resets, the loss cells show retransmissions and iptables drops, the tbf
# cells a receive rate under the bucket's; SIGINT stops pollux with every mbuf back.
# Usage: tcp_bulk_test.sh TCP_BULK_BINARY   (TCP_BULK_BYTES=N overrides the 100 MB)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
command -v dpdk-telemetry.py >/dev/null || { echo "SKIP: dpdk-telemetry.py (dpdk-dev) missing"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "SKIP: /usr/bin/python3 missing"; exit 77; }
for tool in iptables tc; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool missing (scripts/install-deps.sh interop)"; exit 77; }
done

BULK=$1
BYTES=${TCP_BULK_BYTES:-$((100 * 1000 * 1000))}
PX_PORT=5001      # pollux listens here (pollux as server)
KERNEL_PORT=5002  # the kernel listens here (pollux as client)
CELL_TIMEOUT=240  # seconds for one transfer, both sides: a stall fails, it does not hang
LOSS=0.02
TBF_RATE_MBIT=50

fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}
is_ge() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }
is_eq() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -eq "$2" ]; }
is_below() { awk -v v="$1" -v max="$2" 'BEGIN { exit !(v != "" && v + 0 < max + 0) }'; }
field() {  # field LINE REGEX: the first capture group of REGEX in LINE
  [[ $1 =~ $2 ]] && printf '%s' "${BASH_REMATCH[1]}"
}

# Impairments: the iptables rules outlive the tap (they match its name), so they are set
# once for both cells; the qdisc belongs to the tap, so it is added after each start.
impair() {
  case $1 in
    loss)
      for chain in "INPUT -i" "OUTPUT -o"; do
        # shellcheck disable=SC2086
        ip netns exec "$NS" iptables -A $chain "$TAP" -p tcp \
            -m statistic --mode random --probability "$LOSS" -j DROP
      done ;;
    clean|tbf) ip netns exec "$NS" iptables -F ;;
  esac
}
shape() {
  [ "$1" = tbf ] && ip netns exec "$NS" tc qdisc add dev "$TAP" root tbf \
      rate "${TBF_RATE_MBIT}mbit" burst 32kbit latency 50ms
  return 0
}
iptables_drops() {  # packets the statistic rules dropped so far, both chains
  ip netns exec "$NS" iptables -L -v -n -x | awk '$3 == "DROP" { n += $1 } END { print n + 0 }'
}

declare -a summary
go_file=$(mktemp -u)
pollux_netns_create

run_cell() {  # run_cell clean|loss|tbf server|client
  local impairment=$1 role=$2 name="$1, pollux as $2" started peer_log peer_pid peer_rc
  local result="" peer_line stats
  echo "--- $name: $BYTES bytes each way"
  started=$(date +%s.%N)
  ip netns exec "$NS" iptables -Z  # drop counters per cell
  peer_log=$(mktemp)
  local peer_args=(--send-bytes "$BYTES" --recv-bytes "$BYTES" --timeout "$CELL_TIMEOUT")
  local bulk_args=(--send-bytes "$BYTES" --recv-bytes "$BYTES" --timeout "$CELL_TIMEOUT" --wait-signal)
  if [ "$role" = client ]; then
    # The kernel listens first; pollux connects once the kernel's side of the tap is up
    # (go_file), so that its SYN never waits for an ARP answer that cannot come yet.
    rm -f "$go_file"
    ip netns exec "$NS" timeout $((CELL_TIMEOUT + 30)) /usr/bin/python3 "$here/tcp_bulk_peer.py" server \
        --address 0.0.0.0 --port "$KERNEL_PORT" "${peer_args[@]}" >"$peer_log" 2>&1 &
    peer_pid=$!; PEER_PIDS+=("$peer_pid")
    for _ in $(seq 100); do grep -q listening "$peer_log" && break; sleep 0.1; done
    pollux_start "$BULK" --connect "$KERNEL_IP:$KERNEL_PORT" --connect-when "$go_file" "${bulk_args[@]}"
    shape "$impairment"
    touch "$go_file"
  else
    pollux_start "$BULK" --listen "$PX_PORT" "${bulk_args[@]}"
    shape "$impairment"
    ip netns exec "$NS" timeout $((CELL_TIMEOUT + 30)) /usr/bin/python3 "$here/tcp_bulk_peer.py" client \
        --address "$PX_IP" --port "$PX_PORT" "${peer_args[@]}" >"$peer_log" 2>&1 &
    peer_pid=$!; PEER_PIDS+=("$peer_pid")
  fi
  wait "$peer_pid"; peer_rc=$?
  for _ in $(seq $(((CELL_TIMEOUT + 30) * 10))); do
    result=$(grep -m1 -E "^tcp_bulk: (ok|FAIL)" "$PX_LOG")
    [ -n "$result" ] && break
    kill -0 "$PX_PID" 2>/dev/null || break
    sleep 0.1
  done
  peer_line=$(grep -m1 "^tcp_bulk_peer: .*\(ok\|FAIL\)" "$peer_log")
  echo "pollux: ${result:-no result line}"
  echo "kernel: ${peer_line:-no result line ($(tr '\n' ' ' <"$peer_log"))}"
  stats=$(pollux_stats)
  local hash='sha256 ([0-9a-f]{64})'
  local px_sent px_recv k_sent k_recv
  px_sent=$(field "$result" "sent [0-9]+ bytes $hash")
  px_recv=$(field "$result" "received [0-9]+ bytes $hash")
  k_sent=$(field "$peer_line" "sent [0-9]+ bytes $hash")
  k_recv=$(field "$peer_line" "received [0-9]+ bytes $hash")
  check "$name: pollux got the whole stream, every byte as expected" \
      grep -q "^tcp_bulk: ok: sent $BYTES bytes .* received $BYTES bytes" <<<"$result"
  check "$name: the kernel got the whole stream, every byte as expected" test "$peer_rc" -eq 0
  check "$name: SHA-256 pollux sent == kernel received" test -n "$px_sent" -a "$px_sent" = "$k_recv"
  check "$name: SHA-256 kernel sent == pollux received" test -n "$k_sent" -a "$k_sent" = "$px_recv"

  local -A stat=()
  local key value
  while read -r key value; do stat[$key]=$value; done < <(pollux_stat_table "$stats")
  tcp() { printf '%s' "${stat[tcp.$1]:-missing}"; }
  local active passive retrans
  active=$(tcp ActiveOpens); passive=$(tcp PassiveOpens); retrans=$(tcp RetransSegs)
  echo "tcp: ActiveOpens $active PassiveOpens $passive InSegs $(tcp InSegs) OutSegs $(tcp OutSegs)" \
       "RetransSegs $retrans InErrs $(tcp InErrs) EstabResets $(tcp EstabResets) OutRsts $(tcp OutRsts)" \
       "AttemptFails $(tcp AttemptFails)"
  if [ "$role" = server ]; then
    check "$name: tcp.PassiveOpens == 1, ActiveOpens == 0" bash -c "[ '$passive' = 1 ] && [ '$active' = 0 ]"
  else
    check "$name: tcp.ActiveOpens >= 1, PassiveOpens == 0" bash -c "[[ '$active' =~ ^[1-9] ]] && [ '$passive' = 0 ]"
  fi
  for counter in InErrs InCsumErrors EstabResets; do
    check "$name: tcp.$counter == 0" is_eq "$(tcp "$counter")" 0
  done
  # Each way as its receiver measured it (from the handshake to the sender's FIN).
  local rx_mbit tx_mbit
  rx_mbit=$(field "$result" "rx ([0-9.]+) Mbit/s")
  tx_mbit=$(field "$peer_line" "rx ([0-9.]+) Mbit/s")
  case $impairment in
    loss)
      check "$name: pollux retransmitted (tcp.RetransSegs > 0)" is_ge "$retrans" 1
      check "$name: iptables dropped packets" is_ge "$(iptables_drops)" 1 ;;
    tbf)
      check "$name: pollux received under the bucket's ${TBF_RATE_MBIT} Mbit/s" \
          is_below "$rx_mbit" $((TBF_RATE_MBIT + 1)) ;;
  esac

  pollux_stop 30
  check "$name: tcp_bulk exits 0 on SIGINT" test "$PX_RC" -eq 0
  check "$name: every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"
  # Under -Db_sanitize=address,undefined: UBSan reports without changing the exit status.
  check "$name: no sanitizer report" bash -c "! grep -Eq 'runtime error|Sanitizer' '$PX_LOG'"
  if [ $fail -ne 0 ]; then
    echo "--- pollux log"; cat "$PX_LOG"; echo "--- kernel log"; cat "$peer_log"; echo "--- stats"; echo "$stats"
  fi
  rm -f "$peer_log" "$go_file"
  local wall
  wall=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  summary+=("$(printf '%-26s pollux -> kernel %6s Mbit/s, kernel -> pollux %6s Mbit/s; cell %5s s; RetransSegs %s' \
      "$name" "${tx_mbit:-?}" "${rx_mbit:-?}" "$wall" "$retrans")")
}

test_started=$(date +%s)
for impairment in clean loss tbf; do
  impair "$impairment"
  for role in server client; do
    run_cell "$impairment" "$role"
  done
done
echo "--- summary ($BYTES bytes each way per cell, $(($(date +%s) - test_started)) s in all)"
printf '%s\n' "${summary[@]}"
exit $fail
