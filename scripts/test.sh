#!/usr/bin/env bash
# The project's test command: on a fresh Debian 12 machine (as root) it installs what is
# missing, builds two trees (release, and ASan+UBSan), runs every test in both, runs the
# threaded-mode test under ThreadSanitizer, fuzzes the wire parsers for about a minute when
# clang is there, and ends with the line
# "N passed, N failed" (test cases). Exit status is non-zero on any failure.
#
# Options (environment): POLLUX_FUZZ_SECONDS=N per fuzz target (default 6, 0 skips),
# POLLUX_JOBS=N build jobs (default: cores).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh build fuzz interop || { echo "0 passed, 1 failed"; exit 1; }

jobs=${POLLUX_JOBS:-$(nproc)}
# Sanitizer reports are failures, with a stack.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export LSAN_OPTIONS="suppressions=$root/test/lsan.supp:print_suppressions=0"

trees=()
status=0

# configure_and_test NAME MESON_ARGS...
configure_and_test() {
  local name=$1; shift
  local dir="$root/build-$name"
  local reports="$dir/test-reports"
  echo "== $name: configure and build"
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" >/dev/null || return 1
  else
    meson setup "$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" -j "$jobs" >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; return 1; }
  rm -rf "$reports" && mkdir -p "$reports"
  echo "== $name: test"
  POLLUX_TEST_REPORT_DIR="$reports" meson test -C "$dir" --num-processes "$jobs" --print-errorlogs \
    | grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):' 
  trees+=("$dir:$reports")
  return 0
}

configure_and_test release --buildtype=release || status=1
configure_and_test asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false || status=1

extra=()
fuzz_seconds=${POLLUX_FUZZ_SECONDS:-6}
if [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzz: ${fuzz_seconds}s per target"
  rm -f "$root/build-fuzz/fuzz.counts"
  scripts/fuzz.sh "$fuzz_seconds" || status=1
  if [ -f "$root/build-fuzz/fuzz.counts" ]; then
    read -r fp ff <"$root/build-fuzz/fuzz.counts"
    extra+=(--extra "$fp" "$ff")
  elif command -v clang++-14 >/dev/null; then
    extra+=(--extra 0 1)  # the fuzz build itself failed
  fi
fi

# ThreadSanitizer (issue 7): the threaded-mode test — 8 application threads on one shard,
# every blocking call — in a TSan build of the library and that one program (a whole TSan
# tree would add as much again as the ASan one). Each check line counts as a test case; a
# data race report, a crash or a non-zero exit is one failure more.
run_tsan() {
  local dir="$root/build-tsan"
  echo "== tsan: configure and build the threaded test"
  rm -f "$dir/threaded_test.log"
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --buildtype=debugoptimized -Db_sanitize=thread >/dev/null || return 1
  fi
  ninja -C "$dir" -j "$jobs" test/threads/threaded_test >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; return 1; }
  echo "== tsan: test"
  local log="$dir/threaded_test.log" rc=0
  TSAN_OPTIONS="halt_on_error=1 exitcode=66" timeout 600 "$dir/test/threads/threaded_test" \
    --no-pci --no-huge -m 256 --no-shconf -l 0 '--log-level=lib.*:error' --vdev=net_null0,no-rx=1 \
    -- --ip 198.18.0.2/24 >"$log" 2>&1 || rc=$?
  local passed failed
  passed=$(grep -c '^ok  :' "$log")
  failed=$(grep -c '^FAIL:' "$log")
  if [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
    echo "tsan: threaded_test exited with $rc (66: a ThreadSanitizer report):"
    grep -E '^FAIL:|WARNING: ThreadSanitizer|^ +#[0-9]' "$log" | head -40
  fi
  echo "tsan: $passed passed, $failed failed"
  extra+=(--extra "$passed" "$failed")
  [ "$rc" -eq 0 ]
}
run_tsan || { status=1; [ -f "$root/build-tsan/threaded_test.log" ] || extra+=(--extra 0 1); }

[ ${#trees[@]} -eq 2 ] || extra+=(--extra 0 $((2 - ${#trees[@]})))  # a tree did not build
python3 scripts/count-tests.py "${trees[@]}" "${extra[@]}" || status=1
exit $status
