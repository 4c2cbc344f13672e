#!/usr/bin/env bash
# pollux in two minutes: installs what is missing, builds, starts examples/httpd on pollux
# and shows the Linux kernel talking to it: curl fetches pages, ab and wrk put a short
# load on it, then the stack's counters are printed. Everything is removed on exit.
#
#   sudo scripts/demo.sh                 a TAP port (net_tap) inside a private network
#                                        namespace: httpd 198.18.0.2, kernel 198.18.0.1
#                                        (RFC 2544's benchmarking range); nothing leaves it
#   sudo scripts/demo.sh --vdev ARG --ip ADDR/LEN [--gw ADDR] [--client-ip ADDR]
#   sudo scripts/demo.sh 0000:01:00.0 --ip ADDR/LEN [--gw ADDR]
#                                        that DPDK port instead (a vdev, or a NIC already
#                                        bound to vfio-pci), with your address; the
#                                        clients run in this machine's own namespace and
#                                        reach httpd however your network routes ADDR
#
# Options: --build-dir DIR (default build-demo), --duration S (wrk's, default 5).
# Needs root (namespaces, DPDK), Debian 12 (apt-get for scripts/install-deps.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-demo"
duration=5
vdev=
pci=
ip_cidr=
gw=
while [ $# -gt 0 ]; do
  case $1 in
    --vdev) vdev=$2; shift 2 ;;
    --vdev=*) vdev=${1#--vdev=}; shift ;;
    --ip) ip_cidr=$2; shift 2 ;;
    --gw) gw=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]:*|[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F].*) pci=$1; shift ;;
    *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then echo "demo: run as root (network namespaces, DPDK)" >&2; exit 1; fi
if [ -n "$vdev$pci" ] && [ -z "$ip_cidr" ]; then
  echo "demo: with a port of your own, give its address: --ip ADDR/LEN [--gw ADDR]" >&2; exit 2
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "dependencies (scripts/install-deps.sh build interop)"
"$root/scripts/install-deps.sh" build interop

step "build ($build)"
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" --buildtype=release -Dtests=false >/dev/null
ninja -C "$build" examples/httpd

prefix="pxdemo$$"
ns=
px_pid=
log=$(mktemp)
cleanup() {
  set +e
  if [ -n "$px_pid" ] && kill -0 "$px_pid" 2>/dev/null; then
    kill -INT "$px_pid"
    for _ in $(seq 50); do kill -0 "$px_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$px_pid" 2>/dev/null
  fi
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
  rm -rf "/var/run/dpdk/$prefix" "$log"
  rm -f /dev/hugepages/"${prefix}"map_* 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # through the EXIT trap

# Where the clients run, and how httpd is started.
in_ns() { "$@"; }
eal=(--file-prefix="$prefix" -l 0 --log-level=lib.*:error)
if [ -z "$vdev$pci" ]; then
  ns="pxdemo-$$"
  tap="pxd$$"
  server_ip=198.18.0.2
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  in_ns() { ip netns exec "$ns" "$@"; }
  eal+=(--no-pci --no-huge -m 512 --vdev="net_tap0,iface=$tap")
  px_args=(--ip "$server_ip/24")
else
  server_ip=${ip_cidr%/*}
  # A real NIC wants hugepages; without any reserved, run from ordinary memory.
  if [ "$(cat /proc/sys/vm/nr_hugepages)" -eq 0 ]; then eal+=(--no-huge -m 512); fi
  if [ -n "$vdev" ]; then eal+=(--no-pci --vdev="$vdev"); else eal+=(-a "$pci"); fi
  px_args=(--ip "$ip_cidr")
  [ -n "$gw" ] && px_args+=(--gw "$gw")
fi

step "start httpd on pollux: ${eal[*]} -- ${px_args[*]}"
# Started directly (ip netns exec execs httpd), not through a shell function: $! must be
# httpd's pid, so that SIGINT reaches it.
launcher=()
[ -n "$ns" ] && launcher=(ip netns exec "$ns")
"${launcher[@]}" "$build/examples/httpd" "${eal[@]}" -- "${px_args[@]}" --http-port 80 >"$log" 2>&1 &
px_pid=$!
for _ in $(seq 100); do
  grep -q "running" "$log" && break
  kill -0 "$px_pid" 2>/dev/null || { cat "$log"; echo "demo: httpd did not start" >&2; exit 1; }
  sleep 0.1
done
grep -v "multiq\|rte flow" "$log" || true
if [ -n "$ns" ]; then
  # The kernel's side of the tap, in the namespace: the kernel is httpd's peer.
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"
  ip netns exec "$ns" ip link set "$tap" up
  ip netns exec "$ns" ip addr add 198.18.0.1/24 dev "$tap"
fi
url="http://$server_ip"

step "curl from the kernel side"
for _ in $(seq 30); do in_ns curl -s -o /dev/null --max-time 1 "$url/" && break; sleep 0.2; done
echo "\$ curl -i $url/"
in_ns curl -s -i --max-time 5 "$url/"
echo "\$ curl -s $url/bytes/1000000 | sha256sum    (byte i is i % 251)"
in_ns curl -s --max-time 10 "$url/bytes/1000000" | sha256sum
python3 -c "import hashlib; print(hashlib.sha256(bytes(i % 251 for i in range(1000000))).hexdigest(), ' expected')"
echo "\$ head -c 10000000 /dev/urandom | curl --data-binary @- $url/sink    (length, zlib CRC-32)"
body=$(mktemp)
head -c 10000000 /dev/urandom >"$body"
in_ns curl -s --max-time 30 -H 'Expect:' --data-binary @"$body" "$url/sink"
python3 -c "import sys, zlib; d = open(sys.argv[1], 'rb').read(); print(len(d), '%08x' % zlib.crc32(d), ' expected')" "$body"
rm -f "$body"

step "ab -k -n 20000 -c 50 $url/"
in_ns ab -k -n 20000 -c 50 -s 10 "$url/" 2>&1 |
  grep -E "^(Complete requests|Failed requests|Non-2xx|Requests per second|Time per request|Transfer rate)" || true

step "wrk -t2 -c50 -d${duration}s $url/"
in_ns wrk -t2 -c50 -d"${duration}s" --latency "$url/" 2>&1 | sed -n '/Thread Stats/,$p' || true

step "counters: GET /stats (httpd's own, and pollux's /pollux/stats through DPDK telemetry)"
in_ns curl -s --max-time 5 "$url/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("httpd:", json.dumps(s["httpd"]))
for layer, counters in (s.get("stack_counters") or {}).items():
    nonzero = {k: v for k, v in counters.items() if v}
    print(f"{layer}:", json.dumps(nonzero))
'
echo "(every counter: echo /pollux/stats | dpdk-telemetry.py -f $prefix, while httpd runs)"

step "stop"
kill -INT "$px_pid"
for _ in $(seq 100); do kill -0 "$px_pid" 2>/dev/null || break; sleep 0.1; done
wait "$px_pid" || true
px_pid=
grep -E "httpd: stopped|mbufs leaked" "$log" || true
echo "demo: done; the namespace and httpd are gone"
