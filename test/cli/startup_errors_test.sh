#!/usr/bin/env bash
# px_init's common failures end in one clear line with the fix, and a non-zero exit.
# Usage: startup_errors_test.sh ECHO_BINARY
set -uo pipefail
echo_bin=$1
prefix="pxe$$"
trap 'rm -rf "/var/run/dpdk/$prefix"* "/tmp/dpdk/$prefix"*' EXIT
fail=0
eal=(--no-pci --no-huge -m 256 -l 0 --log-level=lib.*:error)

expect() {  # expect NAME PATTERN ARGS...: exits non-zero and prints PATTERN
  local name=$1 pattern=$2; shift 2
  local out rc
  out=$("$echo_bin" "$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && grep -q -- "$pattern" <<<"$out"; then
    echo "ok: $name"
  else
    echo "FAIL: $name (exit $rc)"; echo "$out" | tail -5; fail=1
  fi
}

expect "no --ip" "--ip ADDR/LEN is required" "${eal[@]}" --file-prefix="${prefix}a" --vdev=net_null0 --
expect "bad --ip" "--ip 300.1.1.1/24: expected ADDR/LEN" "${eal[@]}" --file-prefix="${prefix}b" --vdev=net_null0 -- --ip 300.1.1.1/24
expect "bad --mtu" "--mtu 70000: expected 576..9216" "${eal[@]}" --file-prefix="${prefix}c" --vdev=net_null0 -- --ip 198.18.0.2/24 --mtu 70000
expect "bad --impair" "--impair: " "${eal[@]}" --file-prefix="${prefix}d" --vdev=net_null0 -- --ip 198.18.0.2/24 --impair loss=2
expect "no port" "no DPDK port: name one with EAL arguments" "${eal[@]}" --file-prefix="${prefix}e" -- --ip 198.18.0.2/24
expect "unknown program argument" "echo: unknown argument --bogus" "${eal[@]}" --file-prefix="${prefix}f" --vdev=net_null0 -- --ip 198.18.0.2/24 --bogus
expect "EAL failure" "DPDK EAL initialisation failed" --no-pci --bogus-eal-flag -- --ip 198.18.0.2/24

# And the happy path on a null port: starts, prints its port line, stops cleanly on SIGTERM.
log=$(mktemp)
"$echo_bin" "${eal[@]}" --file-prefix="${prefix}g" --vdev=net_null0 -- --ip 198.18.0.2/24 >"$log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q running "$log" && break; sleep 0.1; done
kill -TERM "$pid"; wait "$pid"; rc=$?
if [ $rc -eq 0 ] && grep -q "pollux: port 0 (net_null" "$log" && ! grep -q "mbufs leaked" "$log"; then echo "ok: starts and stops on net_null"; else
  echo "FAIL: starts and stops on net_null (exit $rc)"; cat "$log"; fail=1; fi
rm -f "$log"
exit $fail
