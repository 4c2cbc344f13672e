#!/usr/bin/env bash
# bench-icmp.sh: ICMP echo throughput and latency of pollux's echo example beside DPDK
# testpmd's icmpecho forwarding mode, on the same net_memif link, in one run.
#
# The responder (pollux `echo`, or `dpdk-testpmd --forward-mode=icmpecho`) is the memif
# server on lcore 0; bench/icmp_pps is the memif client on lcore 1 and keeps a window of
# echo requests in flight. The responders alternate (A B, B A, ...) so that drift in the
# machine's load touches both. Writes bench/results/icmp_pps.json (every run), prints a
# table, and draws bench/results/icmp_pps.png when matplotlib is there.
#
# Usage (as root): scripts/bench-icmp.sh
# Environment: BUILD=dir (default: the repo's build/), REPEATS=3, DURATION=5 (seconds
# measured per run), WARMUP=1, WINDOW=256, SIZE=56 (ICMP data bytes), HUGEPAGES=512,
# RESPONDERS="pollux testpmd" (a subset, to look at one of them alone).
#
# Addresses: 198.18.0.1 (generator) and 198.18.0.2 (responder), RFC 2544's benchmarking
# range; memif carries no kernel traffic. Both DPDK processes run with --no-pci, so eth0
# is never probed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
repeats=${REPEATS:-3}
duration=${DURATION:-5}
warmup=${WARMUP:-1}
window=${WINDOW:-256}
size=${SIZE:-56}
hugepages=${HUGEPAGES:-512}
results=$root/bench/results
gen_ip=198.18.0.1
resp_ip=198.18.0.2
read -ra responders <<<"${RESPONDERS:-pollux testpmd}"

die() { echo "bench-icmp: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) die "unknown argument $1 (see --help)" ;;
esac
[ "$(id -u)" -eq 0 ] || die "run as root (hugepages, hugetlbfs mount)"
for r in "${responders[@]}"; do
  [ "$r" = pollux ] || [ "$r" = testpmd ] || die "RESPONDERS: unknown responder '$r' (pollux, testpmd)"
done
[ ${#responders[@]} -ge 1 ] || die "RESPONDERS is empty"
[[ $repeats =~ ^[1-9][0-9]*$ ]] || die "REPEATS=$repeats: expected a whole number >= 1"
for v in repeats duration warmup window size hugepages; do
  [[ ${!v} =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v=${!v} is not a number"
done

# --- what this script starts, and how it cleans up -------------------------------------
tag=pxb$$
work=$(mktemp -d "/tmp/pollux-bench-icmp.XXXXXX")
hugedir=$work/hugetlbfs
mounted=0
resp_pid=""
gen_pid=""

stop_pid() {  # stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; only pids we started
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "bench-icmp: pid $pid ignored SIGTERM; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
  stop_pid "$resp_pid"
  stop_pid "$gen_pid"
  resp_pid=""
  rm -f /tmp/"$tag"-*.sock
  rm -rf /var/run/dpdk/"$tag"-*
  if [ "$mounted" = 1 ]; then
    rm -f "$hugedir"/*
    umount "$hugedir" 2>/dev/null || true
  fi
  # Keep the per-run logs only when something failed (the path is printed then).
  [ "${keep_logs:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ----------------------------------------------------------------------------
"$root/scripts/install-deps.sh" build interop || die "missing packages (scripts/install-deps.sh)"
command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found (Debian package dpdk-dev)"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null || die "meson setup $build failed"
fi
buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))' ||
  echo unknown)
[ "$buildtype" = release ] || echo "bench-icmp: warning: $build is a '$buildtype' build, not release" >&2
ninja -C "$build" examples/echo bench/icmp_pps >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; die "build failed"; }
echo_bin=$build/examples/echo
gen_bin=$build/bench/icmp_pps

# --- hugepages: memif's rings and buffers live in memory both processes map -------------
total=$(awk '/^HugePages_Total/ {print $2}' /proc/meminfo)
if [ "$total" -lt "$hugepages" ]; then
  echo "bench-icmp: reserving $hugepages hugepages (had $total)"
  echo "$hugepages" >/proc/sys/vm/nr_hugepages
fi
free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
[ "$free" -ge 256 ] || die "only $free free 2 MiB hugepages; need 256 (HUGEPAGES=... or free some)"
# A private hugetlbfs mount: our files cannot meet anyone else's, and go with the umount.
mkdir -p "$hugedir"
mount -t hugetlbfs -o pagesize=2M nodev "$hugedir" || die "cannot mount hugetlbfs on $hugedir"
mounted=1

# Two busy-polling processes on two cores: anything else running steals cycles from one.
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench-icmp: load average $load before the runs (numbers are noisy when it is above ~0.5)"

# --- one run --------------------------------------------------------------------------
# eal_common PREFIX: --single-file-segments is what lets memif run at full speed
# (TESTBED.md); each process has its own --file-prefix.
eal_common() { echo "--no-pci --huge-dir=$hugedir --single-file-segments --file-prefix=$1 --log-level=lib.eal:warning"; }

start_responder() {  # start_responder NAME PREFIX SOCKET LOG
  local vdev="net_memif0,role=server,socket=$3,socket-abstract=no"
  case "$1" in
    pollux)
      # shellcheck disable=SC2046
      "$echo_bin" -l 0 $(eal_common "$2") --vdev="$vdev" -- --ip "$resp_ip/24" >"$4" 2>&1 &
      ;;
    testpmd)
      # testpmd forwards on lcores other than its main one, so both of its lcores share
      # CPU 0 (the main one sleeps). Without -i it forwards until SIGTERM; the long stats
      # period keeps it from waiting on stdin. Ring sizes as pollux's.
      # shellcheck disable=SC2046
      dpdk-testpmd --lcores=0@0,1@0 $(eal_common "$2") --vdev="$vdev" -- \
        --forward-mode=icmpecho --auto-start --stats-period=86400 --port-topology=loop \
        --rxd=1024 --txd=1024 --total-num-mbufs=32768 </dev/null >"$4" 2>&1 &
      ;;
  esac
  resp_pid=$!
}

# run_one NAME REPEAT: appends one JSON line (the generator's, or an error) to runs.jsonl.
run_one() {
  local name=$1 rep=$2
  local run=$tag-$name-$rep
  local sock=/tmp/$run.sock
  local line="" error=""
  rm -f "$sock"
  start_responder "$name" "$run-resp" "$sock" "$work/$run-responder.log"
  for _ in $(seq 100); do
    [ -S "$sock" ] && break
    kill -0 "$resp_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -S "$sock" ]; then
    error="responder did not create $sock"
  else
    # The generator lingers with the link up after its report, until the responder is
    # gone: stopping the memif server before its client disconnects avoids a crash of
    # the DPDK 22.11 memif server at disconnect (see linger() in bench/icmp_pps.cpp).
    # zero-copy=yes: the client's mbufs are the shared buffers, so the generator copies
    # no packet; the responder (server) still copies each one in and out, whichever it
    # is. A cheaper generator is less often the bottleneck (see "gen idle").
    : >"$work/$run.out"
    # shellcheck disable=SC2046
    timeout 120 "$gen_bin" -l 1 $(eal_common "$run-gen") \
      --vdev="net_memif0,role=client,socket=$sock,socket-abstract=no,zero-copy=yes" -- \
      --ip "$gen_ip" --peer-ip "$resp_ip" --seconds "$duration" --warmup "$warmup" \
      --window "$window" --size "$size" --name "$name" --linger 30 \
      >"$work/$run.out" 2>"$work/$run-generator.log" &
    gen_pid=$!
    while kill -0 "$gen_pid" 2>/dev/null && ! grep -q '^{' "$work/$run.out"; do sleep 0.1; done
  fi
  # A responder that died before we stopped it crashed under load.
  if ! kill -0 "$resp_pid" 2>/dev/null; then
    local rc=0
    wait "$resp_pid" || rc=$?
    error="${error:+$error; }responder exited during the run (status $rc, log: $work/$run-responder.log)"
  fi
  stop_pid "$resp_pid"
  resp_pid=""
  if [ -n "$gen_pid" ]; then
    local gen_rc=0
    wait "$gen_pid" || gen_rc=$?
    gen_pid=""
    line=$(grep '^{' "$work/$run.out" | tail -1 || true)
    if [ "$gen_rc" -ne 0 ]; then
      error="${error:+$error; }generator exited with status $gen_rc (log: $work/$run-generator.log)"
    elif [ -z "$line" ]; then
      error="${error:+$error; }generator printed no JSON line (log: $work/$run-generator.log)"
    fi
  fi
  # The hugepage files and DPDK runtime directories of this run's two file prefixes.
  rm -f "$sock" "$hugedir"/"$run"-*
  rm -rf /var/run/dpdk/"$run"-resp /var/run/dpdk/"$run"-gen
  if [ -n "$error" ]; then
    keep_logs=1
    echo "bench-icmp: $name run $rep: $error" >&2
    printf '{"repeat": %d, "responder": "%s", "error": "%s"}\n' "$rep" "$name" "${error//\"/\'}" >>"$work/runs.jsonl"
    return 1
  fi
  echo "  $name run $rep: $line"
  # shellcheck disable=SC2001  # sed says it more plainly than ${line/#\{/...}
  sed "s/^{/{\"repeat\": $rep, /" <<<"$line" >>"$work/runs.jsonl"
}

echo "bench-icmp: $repeats x (${responders[*]}), ${duration}s each after ${warmup}s warmup, window $window, $size data bytes"
failed=0
for rep in $(seq "$repeats"); do
  order=("${responders[@]}")
  if [ $((rep % 2)) -eq 0 ] && [ ${#responders[@]} -eq 2 ]; then order=("${responders[1]}" "${responders[0]}"); fi
  for name in "${order[@]}"; do
    run_one "$name" "$rep" || failed=1
  done
done

# --- results --------------------------------------------------------------------------
mkdir -p "$results"
{
  printf '{"benchmark": "icmp_pps", "date": "%s", "host": "%s", "kernel": "%s", "cpus": %d, ' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(hostname)" "$(uname -r)" "$(nproc)"
  printf '"load_before": "%s", "link": "net_memif (--single-file-segments)", ' "$load"
  printf '"params": {"repeats": %s, "seconds": %s, "warmup": %s, "window": %s, "size": %s}, "runs": [\n' \
    "$repeats" "$duration" "$warmup" "$window" "$size"
  paste -sd, "$work/runs.jsonl"
  printf ']}\n'
} >"$results/icmp_pps.json"
echo "bench-icmp: wrote $results/icmp_pps.json"

py=/usr/bin/python3
[ -x "$py" ] || py=python3
plot_args=()
if "$py" -c 'import matplotlib' 2>/dev/null; then
  plot_args=(--png "$results/icmp_pps.png")
else
  echo "bench-icmp: matplotlib not available to $py; no plot (apt-get install python3-matplotlib)"
fi
"$py" "$root/bench/plot_icmp.py" "$results/icmp_pps.json" "${plot_args[@]}" || failed=1
[ "$failed" = 0 ] || echo "bench-icmp: some runs failed; logs kept in $work" >&2
exit "$failed"
