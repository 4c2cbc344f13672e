#!/usr/bin/env bash
# examples/echo on pollux, 10,000 TCP request/response messages from the kernel through a
# tap in a private namespace: 4 connections, each message a seeded random size of 1 to
# 4,000 bytes, sent whole and read back whole before the next, every byte compared
# (echo_messages_peer.py). Then again with echo --threads 2 (threaded mode), and the same
# 10,000 messages against echo-kernel on the namespace's loopback, when that binary is
# given, so both builds of the one source pass the same check. SIGINT must stop echo with
# the connections completed and no errors.
# Usage: echo_messages_test.sh ECHO_BINARY [ECHO_KERNEL_BINARY]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
[ -x /usr/bin/python3 ] || { echo "SKIP: /usr/bin/python3 missing"; exit 77; }

ECHO_PORT=7
MESSAGES=10000
CONNECTIONS=4
fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}
peer() {  # peer SERVER_IP
  ip netns exec "$NS" timeout 300 /usr/bin/python3 "$here/echo_messages_peer.py" --server "$1" --port "$ECHO_PORT" \
      --messages "$MESSAGES" --connections "$CONNECTIONS" --seed 11
}

pollux_netns_start "$1"
out=$(peer "$PX_IP"); echo "pollux: $out"
check "pollux echo: $MESSAGES messages echoed intact" grep -q "^echo_messages: ok: $MESSAGES messages" <<<"$out"
check "pollux is still running" kill -0 "$PX_PID"
pollux_stop
check "echo exits 0 on SIGINT" [ "$PX_RC" = 0 ]
summary=$(grep "echo: stopped" "$PX_LOG")
check "echo's summary: $CONNECTIONS connections completed, no errors" \
    grep -Eq "tcp $CONNECTIONS connections \\($CONNECTIONS completed, 0 refused\\), [0-9]+ bytes echoed, errors: 0 accept, 0 connection, 0 close" <<<"$summary"
check "every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"

# The same with --threads 2: two application threads share the server sockets
# (EPOLLEXCLUSIVE) while the main thread polls (pollux's threaded mode).
pollux_start "$1" --threads 2
out=$(peer "$PX_IP"); echo "pollux --threads 2: $out"
check "pollux echo --threads 2: $MESSAGES messages echoed intact" grep -q "^echo_messages: ok: $MESSAGES messages" <<<"$out"
pollux_stop
check "echo --threads 2 exits 0 on SIGINT" [ "$PX_RC" = 0 ]
check "echo --threads 2's summary: $CONNECTIONS connections completed, no errors" \
    grep -Eq "tcp $CONNECTIONS connections \\($CONNECTIONS completed, 0 refused\\), [0-9]+ bytes echoed, errors: 0 accept, 0 connection, 0 close" "$PX_LOG"
check "echo --threads 2: every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"

if [ $# -ge 2 ]; then
  # The kernel build of the same source, on the namespace's loopback.
  ip netns exec "$NS" "$2" -- --ip 127.0.0.1/8 --echo-port "$ECHO_PORT" >"$PX_LOG" 2>&1 &
  PX_PID=$!
  for _ in $(seq 50); do grep -q running "$PX_LOG" && break; sleep 0.1; done
  out=$(peer 127.0.0.1); echo "kernel: $out"
  check "echo-kernel: $MESSAGES messages echoed intact" grep -q "^echo_messages: ok: $MESSAGES messages" <<<"$out"
  pollux_stop
  check "echo-kernel exits 0 on SIGINT" [ "$PX_RC" = 0 ]
  check "echo-kernel's summary: no errors" grep -q "errors: 0 accept, 0 connection, 0 close" "$PX_LOG"
fi
exit $fail
