#!/usr/bin/env bash
# Socket semantics by difference: runs a *_semantics program (udp_semantics,
# epoll_semantics) built against the kernel and against pollux, and fails with the diff
# when their logs differ (the kernel's log is the reference).
# Usage: compare.sh KERNEL_BINARY [POLLUX_BINARY]
# Without POLLUX_BINARY only the kernel build runs (its log must reach "== end").
# Exit: 0 same logs, 1 a difference or a crash, 77 (skipped) when the kernel build cannot
# create what its script needs (a UDP socket, an epoll instance).
set -uo pipefail
kernel_bin=$1
pollux_bin=${2:-}
name=$(basename "$kernel_bin" _kernel)  # udp_semantics, epoll_semantics
# EAL arguments that need no hardware and share nothing with other DPDK processes.
pollux_args=(--no-pci --no-huge -m 256 --no-shconf -l 0 '--log-level=lib.*:error'
             --vdev=net_null0 -- --ip 198.18.0.2/24)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

run() {  # run NAME BINARY ARGS...: stdout to NAME.log, stderr to NAME.err; returns the exit code
  local name=$1; shift
  timeout -s KILL 120 "$@" >"$dir/$name.log" 2>"$dir/$name.err"
}

run kernel "$kernel_bin"; rc=$?
if [ $rc -eq 77 ]; then
  cat "$dir/kernel.err"
  echo "skipped: the kernel build of $name cannot run its script"
  exit 77
fi
if [ $rc -ne 0 ] || ! grep -qx '== end' "$dir/kernel.log"; then
  echo "FAIL: kernel build exited $rc before the end of its script"
  tail -20 "$dir/kernel.log"; cat "$dir/kernel.err"
  exit 1
fi
kernel_lines=$(wc -l <"$dir/kernel.log")
if [ -z "$pollux_bin" ]; then
  echo "kernel build: $kernel_lines lines (no pollux build to compare with)"
  exit 0
fi

run pollux "$pollux_bin" "${pollux_args[@]}"; rc=$?

# For scripts/count-tests.py: each "== section" of the kernel's log is one test case,
# passed when pollux printed the same lines for it.
section() {  # section NAME LOG: the lines from "== NAME" up to the next section
  awk -v h="== $1" '$0 == h { on = 1; next } /^== / { on = 0 } on' "$2"
}
if [ -n "${POLLUX_TEST_REPORT_DIR:-}" ]; then
  passed=0; failed=0
  while IFS= read -r name; do
    if grep -qxF "== $name" "$dir/pollux.log" &&
       [ "$(section "$name" "$dir/kernel.log")" = "$(section "$name" "$dir/pollux.log")" ]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
    fi
  done < <(sed -n 's/^== //p' "$dir/kernel.log")
  echo "$passed $failed" >"$POLLUX_TEST_REPORT_DIR/$name.counts"
fi
if diff -u --label kernel --label pollux "$dir/kernel.log" "$dir/pollux.log" >"$dir/diff"; then
  same=1
else
  same=0
fi
if [ $rc -eq 0 ] && [ $same -eq 1 ]; then
  echo "ok: pollux and the kernel agree on all $kernel_lines lines"
  exit 0
fi
echo "FAIL: pollux build exited $rc; $(tail -n +3 "$dir/diff" | grep -c '^-') of the kernel's $kernel_lines lines differ"
cat "$dir/diff"
if [ -s "$dir/pollux.err" ]; then echo "--- pollux stderr:"; tail -20 "$dir/pollux.err"; fi
exit 1
