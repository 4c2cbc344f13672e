#!/usr/bin/env bash
# bench.sh: pollux beside the Linux kernel on the same programs, in one run.
#
# Every workload runs on both stacks with the same two programs, each built twice from
# one source (examples/common/app_net.h): a server (examples/echo or examples/httpd) and
# the load generator (bench/loadgen), each pinned to one core (server: CPU 0, client: CPU 1).
#   kernel: echo-kernel/httpd-kernel and loadgen-kernel over loopback (127.0.0.1), inside
#           a network namespace this script creates, so no other program's traffic or
#           ports meet ours;
#   pollux: echo/httpd and loadgen as two DPDK processes over net_memif (the server is the
#           memif server), 198.18.0.2 and 198.18.0.1 (RFC 2544's benchmarking range).
# The link's own limit: dpdk-testpmd answering ICMP echoes (--forward-mode=icmpecho) to
# bench/icmp_pps over the same kind of memif link: round trips per second with nothing
# above the PMD, to put pollux's packet rate beside.
#
# Workloads (loadgen options in brackets):
#   echo1  1-byte echo ping-pong on one connection [--connections 1 --depth 1 --size 1]:
#          req/s and p50 round trip
#   echoN  small-message echo on many connections [--connections 64 --size 64]
#   http   HTTP/1.1 keep-alive GET / [--workload http --connections 32]
#   short  one GET per connection, Connection: close [--workload short --connections 16]
#   bulk   one stream as fast as it goes [--workload bulk --bulk-to sink]: a chunked POST
#          /sink to httpd (BULK_TO=echo: to the echo server, counting the echoed bytes)
# Repeats alternate the order of the stacks (A B, B A, ...) so drift in the machine's
# load touches both. The table gives medians and, for ratios, the spread over repeats
# (pollux min / kernel max .. pollux max / kernel min).
#
# Writes bench/results/<UTC timestamp>.json (every run's loadgen output and the summary)
# and bench/results/<timestamp>-<workload>.png (matplotlib, when /usr/bin/python3 has it).
#
# Usage (as root): scripts/bench.sh
# Environment: BUILD=dir (default: the repo's build/), REPEATS=3, DURATION=3 (measured
# seconds per run), WARMUP=1, WORKLOADS="echo1 echoN http short bulk", STACKS="kernel
# pollux", LINK=1 (0 skips the testpmd run), BULK_TO=sink|echo, HUGEPAGES=512,
# KEEP_LOGS=1 (keep every program's output; they are kept anyway when a run fails),
# NO_BUILD=1 (run the binaries already in BUILD, e.g. while the tree is mid-edit),
# ECHO_MODE="--threads N" (pollux's echo in threaded mode: N application threads on the
# server's core beside the polling thread; default: inline),
# PRIORITY=none|nice: nice runs the benchmarked programs at nice -15. On a loaded machine
# the scheduler takes a busy-polling process's CPU away for whole time slices
# (milliseconds): the means and tails then measure the load, not the stacks. nice only
# shrinks that (measured: no clear gain at load average 8); SCHED_FIFO is not offered:
# it starves DPDK's control threads on the same CPU, and memif's link never comes up.
# A benchmark, never a test: nothing runs it in CI. About 3 minutes with the defaults
# (2 min 53 s measured: 30 runs of 1 + 3 s, and 3 testpmd runs).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
repeats=${REPEATS:-3}
duration=${DURATION:-3}
warmup=${WARMUP:-1}
hugepages=${HUGEPAGES:-512}
link_run=${LINK:-1}
bulk_to=${BULK_TO:-sink}
read -ra workloads <<<"${WORKLOADS:-echo1 echoN http short bulk}"
read -ra stacks <<<"${STACKS:-kernel pollux}"
results=$root/bench/results
client_ip=198.18.0.1
server_ip=198.18.0.2
server_cpu=0
client_cpu=1

priority=${PRIORITY:-none}

die() { echo "bench: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) die "unknown argument $1 (see --help)" ;;
esac
[ "$(id -u)" -eq 0 ] || die "run as root (network namespace, hugepages, hugetlbfs mount)"
[[ $repeats =~ ^[1-9][0-9]*$ ]] || die "REPEATS=$repeats: expected a whole number >= 1"
for v in duration warmup hugepages; do
  [[ ${!v} =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v=${!v} is not a number"
done
for w in "${workloads[@]}"; do
  case $w in echo1|echoN|http|short|bulk) ;; *) die "WORKLOADS: unknown workload '$w'" ;; esac
done
for s in "${stacks[@]}"; do
  case $s in kernel|pollux) ;; *) die "STACKS: unknown stack '$s' (kernel, pollux)" ;; esac
done
case $bulk_to in sink|echo) ;; *) die "BULK_TO=$bulk_to: sink or echo" ;; esac
case $priority in
  none) prio_cmd=() ;;
  nice) prio_cmd=(nice -n -15) ;;
  *) die "PRIORITY=$priority: none or nice" ;;
esac
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (server and client each on its own)"

# --- what this script starts, and how it cleans up -------------------------------------
tag=pxbench$$
ns=$tag
work=$(mktemp -d "/tmp/pollux-bench.XXXXXX")
hugedir=$work/hugetlbfs
mounted=0
ns_made=0
server_pid=""
client_pid=""
keep_logs=${KEEP_LOGS:-0}

stopped_status=0
stop_pid() {  # stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; only pids we started.
  # Sets stopped_status: the exit status (143 = ended by our SIGTERM, 139 = segfault).
  local pid=$1
  stopped_status=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    # Where it hangs, for whoever looks into it: every thread's stack, when gdb is there.
    # The pid may be timeout(1)'s: its child is the program, and is killed with it.
    local dump=$work/stuck-$pid.txt p children
    children=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
    if command -v gdb >/dev/null; then
      for p in "$pid" $children; do
        timeout 30 gdb -p "$p" -batch -ex 'thread apply all bt' >>"$dump" 2>&1 || true
      done
    fi
    echo "bench: pid $pid ignored SIGTERM; SIGKILL (thread stacks, if gdb could attach: $dump)" >&2
    keep_logs=1
    # shellcheck disable=SC2086  # a list of pids
    kill -KILL "$pid" $children 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || stopped_status=$?
}

# A program that crashed while being stopped, after its results were in: worth a line
# (DPDK 22.11's memif PMD is known to), not a failed run.
note_stop() {  # note_stop WHAT LOG
  case $stopped_status in
    0|143) ;;
    *) echo "  note: $1 ended with status $stopped_status when stopped (log: $2)" >&2; keep_logs=1 ;;
  esac
}

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
  stop_pid "$server_pid"
  stop_pid "$client_pid"
  server_pid=""
  client_pid=""
  rm -f /tmp/"$tag"-*.sock
  rm -rf /var/run/dpdk/"$tag"-*
  if [ "$mounted" = 1 ]; then
    rm -f "$hugedir"/*
    umount "$hugedir" 2>/dev/null || true
  fi
  [ "$ns_made" = 1 ] && ip netns del "$ns" 2>/dev/null
  [ "$keep_logs" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ----------------------------------------------------------------------------
"$root/scripts/install-deps.sh" build interop bench || die "missing packages (scripts/install-deps.sh)"
py=/usr/bin/python3   # Debian's interpreter: the one that sees python3-matplotlib
[ -x "$py" ] || die "/usr/bin/python3 not found (Debian package python3)"
have_plots=1
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
  have_plots=0
  echo "bench: matplotlib is missing: no plots (apt-get install python3-matplotlib)" >&2
fi
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release -Dtests=false >/dev/null || die "meson setup $build failed"
fi
buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null |
  "$py" -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))' ||
  echo unknown)
[ "$buildtype" = release ] || echo "bench: warning: $build is a '$buildtype' build, not release" >&2

need_http=0
need_echo=0
for w in "${workloads[@]}"; do
  case $w in
    echo1|echoN) need_echo=1 ;;
    http|short) need_http=1 ;;
    bulk) if [ "$bulk_to" = sink ]; then need_http=1; else need_echo=1; fi ;;
  esac
done
targets=(bench/loadgen bench/loadgen-kernel)
[ "$need_echo" = 1 ] && targets+=(examples/echo examples/echo-kernel)
[ "$need_http" = 1 ] && targets+=(examples/httpd examples/httpd-kernel)
[ "$link_run" = 1 ] && targets+=(bench/icmp_pps)
if [ "${NO_BUILD:-0}" = 1 ]; then
  for t in "${targets[@]}"; do [ -x "$build/$t" ] || die "NO_BUILD=1 but $build/$t is missing"; done
else
  echo "bench: building ${targets[*]} in $build"
  ninja -C "$build" "${targets[@]}" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; die "build failed"; }
fi

# --- where the kernel runs: loopback in a private namespace ------------------------------
if [[ " ${stacks[*]} " == *" kernel "* ]]; then
  ip netns add "$ns" || die "cannot create network namespace $ns"
  ns_made=1
  ip netns exec "$ns" ip link set lo up
fi

# --- where pollux runs: hugepages shared by two DPDK processes ----------------------------
if [[ " ${stacks[*]} " == *" pollux "* ]] || [ "$link_run" = 1 ]; then
  command -v dpdk-testpmd >/dev/null || [ "$link_run" = 0 ] || die "dpdk-testpmd not found (Debian package dpdk-dev)"
  total=$(awk '/^HugePages_Total/ {print $2}' /proc/meminfo)
  if [ "$total" -lt "$hugepages" ]; then
    echo "bench: reserving $hugepages hugepages (had $total)"
    echo "$hugepages" >/proc/sys/vm/nr_hugepages
  fi
  free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
  [ "$free" -ge 256 ] || die "only $free free 2 MiB hugepages; need 256 (HUGEPAGES=... or free some)"
  # A private hugetlbfs mount: our files cannot meet anyone else's, and go with the umount.
  mkdir -p "$hugedir"
  mount -t hugetlbfs -o pagesize=2M nodev "$hugedir" || die "cannot mount hugetlbfs on $hugedir"
  mounted=1
fi

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: load average $load before the runs (both CPUs busy-poll: numbers are noisy when it is above ~0.5;" \
  "PRIORITY=$priority)"

# --- one run --------------------------------------------------------------------------
# Command prefixes: the server's and the client's CPU, at the PRIORITY asked for. Each
# of them execs the next, so $! of a background command is the program's own pid.
pin_server=("${prio_cmd[@]}" taskset -c "$server_cpu")
pin_client=("${prio_cmd[@]}" taskset -c "$client_cpu")

# --single-file-segments lets memif run at full speed (TESTBED.md); a --file-prefix each.
eal_common() { echo "--no-pci --huge-dir=$hugedir --single-file-segments --file-prefix=$1 --log-level=lib.eal:warning"; }

server_kind() {  # server_kind WORKLOAD: echo or httpd
  case $1 in
    echo1|echoN) echo echo ;;
    http|short) echo httpd ;;
    bulk) if [ "$bulk_to" = sink ]; then echo httpd; else echo echo; fi ;;
  esac
}

loadgen_args() {  # loadgen_args WORKLOAD SERVER_ADDR
  local common=(--server "$2" --duration "$duration" --warmup "$warmup")
  case $1 in
    echo1) echo "${common[*]} --workload echo --connections 1 --depth 1 --size 1" ;;
    echoN) echo "${common[*]} --workload echo --connections 64 --depth 1 --size 64" ;;
    http) echo "${common[*]} --workload http --connections 32 --depth 1 --path /" ;;
    short) echo "${common[*]} --workload short --connections 16" ;;
    bulk) echo "${common[*]} --workload bulk --bulk-to $bulk_to" ;;
  esac
}

wait_listening() {  # wait_listening PORT: up to 5 s for a listener on 127.0.0.1:PORT in $ns
  for _ in $(seq 50); do
    ip netns exec "$ns" ss -Hltn "sport = :$1" | grep -q . && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# run_one STACK WORKLOAD REPEAT: appends one JSON line to runs.jsonl.
wait_socket() {  # wait_socket SOCK PID: up to 10 s for the memif server PID to create SOCK
  for _ in $(seq 100); do
    [ -S "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  [ -S "$1" ]
}

run_one() {
  local stack=$1 workload=$2 rep=$3
  local run=$tag-$stack-$workload-$rep
  local kind port json=$work/$run.json error=""
  kind=$(server_kind "$workload")
  if [ "$kind" = echo ]; then port=7; else port=80; fi
  rm -f "$json"
  if [ "$stack" = kernel ]; then
    # shellcheck disable=SC2046
    "${pin_server[@]}" ip netns exec "$ns" "$build/examples/$kind-kernel" -- --ip 127.0.0.1/8 \
      >"$work/$run-server.log" 2>&1 &
    server_pid=$!
    if ! wait_listening "$port"; then
      error="$kind-kernel is not listening on port $port (log: $work/$run-server.log)"
    else
      # shellcheck disable=SC2046
      timeout 120 "${pin_client[@]}" ip netns exec "$ns" "$build/bench/loadgen-kernel" -- --ip 127.0.0.1/8 \
        $(loadgen_args "$workload" 127.0.0.1) --json "$json" >"$work/$run-client.log" 2>&1 || true
    fi
  else
    local sock=/tmp/$run.sock
    rm -f "$sock"
    local mode_args=()
    [ "$kind" = echo ] && read -ra mode_args <<<"${ECHO_MODE:-}"
    # shellcheck disable=SC2046
    "${pin_server[@]}" "$build/examples/$kind" -l "$server_cpu" $(eal_common "$run-srv") \
      --vdev="net_memif0,role=server,socket=$sock,socket-abstract=no" -- --ip "$server_ip/24" \
      "${mode_args[@]}" >"$work/$run-server.log" 2>&1 &
    server_pid=$!
    if ! wait_socket "$sock" "$server_pid"; then
      error="$kind did not create $sock (log: $work/$run-server.log)"
    else
      # The client lingers after its report until the server is gone: DPDK 22.11's memif
      # server may crash when its client disconnects while it polls (bench-icmp.sh).
      # shellcheck disable=SC2046
      timeout 120 "${pin_client[@]}" "$build/bench/loadgen" -l "$client_cpu" $(eal_common "$run-cli") \
        --vdev="net_memif0,role=client,socket=$sock,socket-abstract=no" -- --ip "$client_ip/24" \
        $(loadgen_args "$workload" "$server_ip") --json "$json" --linger 30 >"$work/$run-client.log" 2>&1 &
      client_pid=$!
      while kill -0 "$client_pid" 2>/dev/null && [ ! -f "$json" ]; do sleep 0.1; done
    fi
  fi
  # A server that died before we stopped it crashed under load.
  if ! kill -0 "$server_pid" 2>/dev/null; then
    local rc=0
    wait "$server_pid" || rc=$?
    server_pid=""
    error="${error:+$error; }$kind server exited during the run (status $rc, log: $work/$run-server.log)"
  fi
  stop_pid "$server_pid"
  note_stop "$stack $kind" "$work/$run-server.log"
  server_pid=""
  stop_pid "$client_pid"
  note_stop "$stack loadgen" "$work/$run-client.log"
  client_pid=""
  rm -f "/tmp/$run.sock" "$hugedir/$run"-*
  rm -rf "/var/run/dpdk/$run-srv" "/var/run/dpdk/$run-cli"
  if [ ! -s "$json" ]; then
    error="${error:+$error; }loadgen wrote no result (log: $work/$run-client.log)"
  fi
  if [ -n "$error" ]; then
    keep_logs=1
    echo "  $stack $workload run $rep: FAILED: $error" >&2
    printf '{"stack": "%s", "workload": "%s", "repeat": %d, "error": "%s"}\n' "$stack" "$workload" "$rep" \
      "${error//\"/\'}" >>"$work/runs.jsonl"
    return 1
  fi
  grep 'loadgen: result' "$work/$run-client.log" | sed "s/^loadgen: result /  run $rep: /" || true
  printf '{"stack": "%s", "workload": "%s", "repeat": %d, "result": %s}\n' "$stack" "$workload" "$rep" \
    "$(tr -d '\n' <"$json")" >>"$work/runs.jsonl"
}

# link_one REPEAT: testpmd answers ICMP echoes to icmp_pps over memif; one JSON line.
link_one() {
  local rep=$1 run=$tag-link-$1
  local sock=/tmp/$run.sock line="" error=""
  rm -f "$sock"
  # testpmd forwards on lcores other than its main one: both of its lcores share CPU 0.
  # shellcheck disable=SC2046
  "${pin_server[@]}" dpdk-testpmd --lcores="0@$server_cpu,1@$server_cpu" $(eal_common "$run-srv") \
    --vdev="net_memif0,role=server,socket=$sock,socket-abstract=no" -- \
    --forward-mode=icmpecho --auto-start --stats-period=86400 --port-topology=loop \
    --rxd=1024 --txd=1024 --total-num-mbufs=32768 </dev/null >"$work/$run-server.log" 2>&1 &
  server_pid=$!
  if ! wait_socket "$sock" "$server_pid"; then
    error="testpmd did not create $sock (log: $work/$run-server.log)"
  else
    : >"$work/$run.out"
    # shellcheck disable=SC2046
    timeout 120 "${pin_client[@]}" "$build/bench/icmp_pps" -l "$client_cpu" $(eal_common "$run-cli") \
      --vdev="net_memif0,role=client,socket=$sock,socket-abstract=no,zero-copy=yes" -- \
      --ip "$client_ip" --peer-ip "$server_ip" --seconds "$duration" --warmup "$warmup" \
      --window 256 --size 56 --name testpmd --linger 30 >"$work/$run.out" 2>"$work/$run-client.log" &
    client_pid=$!
    while kill -0 "$client_pid" 2>/dev/null && ! grep -q '^{' "$work/$run.out"; do sleep 0.1; done
  fi
  stop_pid "$server_pid"
  server_pid=""
  stop_pid "$client_pid"
  client_pid=""
  line=$(grep '^{' "$work/$run.out" 2>/dev/null | tail -1 || true)
  rm -f "$sock" "$hugedir/$run"-*
  rm -rf "/var/run/dpdk/$run-srv" "/var/run/dpdk/$run-cli"
  if [ -z "$line" ]; then
    keep_logs=1
    error="${error:-icmp_pps printed no result (log: $work/$run-client.log)}"
    echo "  link run $rep: FAILED: $error" >&2
    printf '{"stack": "testpmd", "workload": "link", "repeat": %d, "error": "%s"}\n' "$rep" "${error//\"/\'}" \
      >>"$work/runs.jsonl"
    return 1
  fi
  echo "  run $rep: $line"
  printf '{"stack": "testpmd", "workload": "link", "repeat": %d, "result": %s}\n' "$rep" "$line" >>"$work/runs.jsonl"
}

started=$(date +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
echo "bench: ${workloads[*]} on ${stacks[*]}, $repeats repeat(s), ${duration}s measured after ${warmup}s warmup"
: >"$work/runs.jsonl"
failed=0
for workload in "${workloads[@]}"; do
  echo "bench: $workload"
  for rep in $(seq "$repeats"); do
    order=("${stacks[@]}")
    if [ $((rep % 2)) -eq 0 ] && [ ${#stacks[@]} -eq 2 ]; then order=("${stacks[1]}" "${stacks[0]}"); fi
    for stack in "${order[@]}"; do
      run_one "$stack" "$workload" "$rep" || failed=1
    done
  done
done
if [ "$link_run" = 1 ]; then
  echo "bench: link limit (dpdk-testpmd icmpecho <- icmp_pps, window 256, over net_memif)"
  for rep in $(seq "$repeats"); do link_one "$rep" || failed=1; done
fi
elapsed=$(($(date +%s) - started))

# --- results --------------------------------------------------------------------------
mkdir -p "$results"
out=$results/$stamp.json
{
  printf '{"benchmark": "bench.sh", "date": "%s", "host": "%s", "kernel": "%s", "cpus": %d, ' \
    "$stamp" "$(hostname)" "$(uname -r)" "$(nproc)"
  printf '"load_before": "%s", "elapsed_s": %d, "commit": "%s", ' "$load" "$elapsed" \
    "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf '"params": {"repeats": %s, "duration": %s, "warmup": %s, "bulk_to": "%s", "priority": "%s", ' \
    "$repeats" "$duration" "$warmup" "$bulk_to" "$priority"
  printf '"kernel_link": "loopback in a network namespace", "pollux_link": "net_memif (--single-file-segments)"}, "runs": [\n'
  paste -sd, "$work/runs.jsonl"
  printf ']}\n'
} >"$out.tmp"
plot_args=()
[ "$have_plots" = 1 ] && plot_args=(--png-prefix "$results/$stamp")
"$py" "$root/bench/bench_report.py" "$out.tmp" --write "$out" "${plot_args[@]}" || failed=1
rm -f "$out.tmp"
echo "bench: wrote $out (in ${elapsed}s of runs)"
[ "$keep_logs" = 1 ] && echo "bench: logs in $work"
[ "$failed" = 0 ] || echo "bench: some runs failed; logs kept in $work" >&2
exit "$failed"
