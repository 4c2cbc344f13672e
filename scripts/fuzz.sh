#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz/) in build-fuzz with clang 14 and runs each one
# for a bounded time on a copy of its seed corpus (test/corpus/<target>/).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 6: about a minute for all eight)
#
# Prints `fuzz <name>: ok (N runs)` or `fuzz <name>: FAILED` per target, writes
# "<passed> <failed>" to build-fuzz/fuzz.counts, and exits non-zero if any target crashed,
# leaked, timed out, ran out of memory or had a sanitizer report. Crashing inputs land in
# build-fuzz/artifacts/, full logs in build-fuzz/fuzz-logs/. Without clang++-14 it skips
# (exit 0); scripts/test.sh decides whether to install it.
set -euo pipefail

readonly targets=(
  fuzz_ethernet
  fuzz_arp
  fuzz_ipv4
  fuzz_icmp
  fuzz_udp
  fuzz_tcp
  fuzz_tcp_options
  fuzz_frame
)

seconds="${1:-6}"
if ! [[ "${seconds}" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS_PER_TARGET]  (a positive integer, default 6)" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build-fuzz"
artifacts="${build}/artifacts"
logs="${build}/fuzz-logs"
counts="${build}/fuzz.counts"

write_counts() {  # <passed> <failed>
  mkdir -p -- "${build}"
  printf '%s %s\n' "$1" "$2" >"${counts}"
}

if ! command -v clang++-14 >/dev/null 2>&1 || ! command -v clang-14 >/dev/null 2>&1; then
  echo "fuzz: clang++-14 not found, skipped"
  write_counts 0 0  # nothing ran: no stale counts from an earlier run
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/pollux-fuzz.XXXXXX")"
cleanup() { rm -rf -- "${work}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- configure and build --------------------------------------------------------------------
cd -- "${root}"
setup_args=(-Dfuzz=true -Dtests=false)
build_ok=1
if [[ -f "${build}/meson-private/coredata.dat" ]]; then
  # An existing tree keeps its compiler; if it is not clang (or the options no longer
  # apply) start it afresh.
  if ! meson setup --reconfigure "${build}" "${setup_args[@]}" >"${work}/setup.log" 2>&1; then
    CXX=clang++-14 CC=clang-14 meson setup --wipe "${build}" "${setup_args[@]}" >"${work}/setup.log" 2>&1 \
      || build_ok=0
  fi
else
  CXX=clang++-14 CC=clang-14 meson setup "${build}" "${setup_args[@]}" >"${work}/setup.log" 2>&1 \
    || build_ok=0
fi
# Only the fuzzers (the `fuzz` alias in test/fuzz/meson.build), not libpollux and DPDK.
if [[ "${build_ok}" -eq 1 ]] && ! meson compile -C "${build}" fuzz >"${work}/build.log" 2>&1; then
  build_ok=0
fi
if [[ "${build_ok}" -ne 1 ]]; then
  cat -- "${work}/setup.log" "${work}/build.log" 2>/dev/null | tail -n 40 >&2 || true
  echo "fuzz: build failed" >&2
  for name in "${targets[@]}"; do echo "fuzz ${name}: FAILED"; done
  write_counts 0 "${#targets[@]}"
  exit 1
fi

# --- run --------------------------------------------------------------------------------------
# Artifacts and logs describe the latest run only.
rm -rf -- "${artifacts}" "${logs}"
mkdir -p -- "${artifacts}" "${logs}"
# halt_on_error: any sanitizer report ends the run with an error, never just a warning.
export ASAN_OPTIONS="${ASAN_OPTIONS:+${ASAN_OPTIONS}:}halt_on_error=1:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+${UBSAN_OPTIONS}:}halt_on_error=1:print_stacktrace=1"

passed=0
failed=0
for name in "${targets[@]}"; do
  bin="${build}/test/fuzz/${name}"
  log="${logs}/${name}.log"
  corpus="${work}/corpus/${name}"
  mkdir -p -- "${corpus}"
  # A copy: libFuzzer adds the inputs it finds to the first corpus directory, and the
  # committed seeds stay as make_corpus.py wrote them.
  if [[ -d "${root}/test/corpus/${name}" ]]; then
    cp -R -- "${root}/test/corpus/${name}/." "${corpus}/"
  fi

  rc=0
  "${bin}" \
    -max_total_time="${seconds}" \
    -timeout=5 \
    -rss_limit_mb=2048 \
    -detect_leaks=1 \
    -print_final_stats=1 \
    -artifact_prefix="${artifacts}/${name}-" \
    "${corpus}" >"${log}" 2>&1 || rc=$?

  runs="$(sed -n 's/^Done \([0-9][0-9]*\) runs.*/\1/p' "${log}" | tail -n 1)"
  if [[ -z "${runs}" ]]; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "${log}" | tail -n 1)"
  fi
  # A clean run exits 0 and says "Done"; anything a sanitizer or libFuzzer reports
  # (crash, leak, timeout, OOM, UBSan "runtime error") fails the target even so.
  if [[ "${rc}" -eq 0 && -n "${runs}" ]] &&
     ! grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: |fuzz invariant failed|^ALARM: |ERROR: libFuzzer' "${log}"; then
    echo "fuzz ${name}: ok (${runs} runs)"
    passed=$((passed + 1))
  else
    echo "fuzz ${name}: FAILED"
    failed=$((failed + 1))
    {
      echo "---- ${name} (exit ${rc}), log ${log}:"
      # The report and the frames in pollux's own sources (not libFuzzer's or libc's).
      grep -E 'invariant failed|Assertion|runtime error|ERROR|^SUMMARY|Test unit written|^ALARM' "${log}" | head -n 8 || true
      grep -E '^ *#[0-9]+ 0x[0-9a-f]+ in .*[.][.]/(src|test)/' "${log}" | head -n 8 || true
    } >&2
  fi
done

write_counts "${passed}" "${failed}"
[[ "${failed}" -eq 0 ]]
