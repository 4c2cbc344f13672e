#!/usr/bin/env bash
# examples/httpd on pollux, the kernel as its HTTP client through a tap in a private
# namespace: curl GET / and GET /bytes/N (SHA-256 against the documented pattern, byte i
# = i % 251), HEAD, 404/405/400, pipelined requests answered in order, Connection: close
# honoured; POST /sink of 50 MB (Content-Length and chunked) answered with the length and
# the CRC-32 python's zlib computes; `ab -k -n 10000 -c 50` and `wrk -t2 -c50 -d5s` with
# no failed and no non-2xx response; GET /stats carries the stack's counters; SIGINT stops
# httpd with every mbuf returned.
# Usage: httpd_test.sh HTTPD_BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
pollux_netns_require
for tool in curl ab wrk; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool missing (scripts/install-deps.sh interop)"; exit 77; }
done
[ -x /usr/bin/python3 ] || { echo "SKIP: /usr/bin/python3 missing"; exit 77; }

HTTP_PORT=80
SINK_BYTES=$((50 * 1000 * 1000))
BYTES_N=1000003   # not a multiple of the pattern's period nor of any buffer size

pollux_netns_start "$1" --http-port "$HTTP_PORT"
URL="http://$PX_IP:$HTTP_PORT"
fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}
in_ns() { ip netns exec "$NS" "$@"; }
py() { /usr/bin/python3 "$@"; }
work=$(mktemp -d)
trap 'pollux_netns_cleanup; rm -rf "$work"' EXIT

# --- curl: pages, bytes, status codes
in_ns curl -s -o "$work/index" -w '%{http_code} %{content_type}\n' "$URL/" >"$work/index.status"
check "GET / is 200 text/html" grep -q '^200 text/html' "$work/index.status"
check "GET / is the page" grep -q '<h1>pollux httpd</h1>' "$work/index"

in_ns curl -s -o "$work/bytes" "$URL/bytes/$BYTES_N"
want=$(py -c "import hashlib,sys; n=int(sys.argv[1]); print(hashlib.sha256(bytes(i % 251 for i in range(n))).hexdigest())" "$BYTES_N")
got=$(sha256sum <"$work/bytes" | cut -d' ' -f1)
check "GET /bytes/$BYTES_N: $BYTES_N bytes, SHA-256 of the i % 251 pattern" [ "$got" = "$want" ]
check "GET /bytes/0 is an empty 200" [ "$(in_ns curl -s -o /dev/null -w '%{http_code} %{size_download}' "$URL/bytes/0")" = "200 0" ]

status() { in_ns curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "HEAD /bytes/10 is 200 with Content-Length 10 and no body" \
    bash -c "ip netns exec '$NS' curl -s -I '$URL/bytes/10' | grep -qi '^Content-Length: 10'"
check "GET /nowhere is 404" [ "$(status "$URL/nowhere")" = 404 ]
check "POST / is 405" [ "$(status -X POST -d x "$URL/")" = 405 ]
check "GET /sink is 405" [ "$(status "$URL/sink")" = 405 ]
check "GET /bytes/12x is 400" [ "$(status "$URL/bytes/12x")" = 400 ]

# --- raw HTTP: pipelining, Connection: close, a malformed request
raw() {  # raw REQUEST_BYTES: sends them on one connection, prints the whole answer
  in_ns /usr/bin/python3 - "$PX_IP" "$HTTP_PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(sys.argv[3].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:  # until httpd closes: the last request says Connection: close
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode("latin-1"))
EOF
}
pipelined=$(raw 'GET /bytes/3 HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\nGET /bytes/5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')
# Not anchored at line starts: a body has no newline of its own.
order=$(grep -ao 'HTTP/1.1 [0-9]*' <<<"$pipelined" | tr '\n' ' ')
check "3 pipelined requests answered in order (200 404 200), none after Connection: close" \
    [ "$order" = "HTTP/1.1 200 HTTP/1.1 404 HTTP/1.1 200 " ]
check "the Connection: close request's answer says Connection: close" grep -q '^Connection: close' <<<"$pipelined"
bad=$(raw 'GARBAGE\r\n\r\n')
check "a malformed request gets 400 and the connection closes" grep -q '^HTTP/1.1 400' <<<"$bad"

# --- POST /sink, 50 MB, checked against python's zlib.crc32
head -c "$SINK_BYTES" /dev/urandom >"$work/body"
want=$(py -c "import zlib,sys; d=open(sys.argv[1],'rb').read(); print(len(d), '%08x' % zlib.crc32(d))" "$work/body")
got=$(in_ns curl -s --max-time 120 -H 'Expect:' --data-binary @"$work/body" "$URL/sink")
check "POST /sink of $SINK_BYTES bytes: \"$got\" is length and zlib CRC-32 \"$want\"" [ "$got" = "$want" ]
got=$(in_ns curl -s --max-time 120 -H 'Transfer-Encoding: chunked' --data-binary @"$work/body" "$URL/sink")
check "POST /sink of $SINK_BYTES bytes chunked: \"$got\"" [ "$got" = "$want" ]

# --- load: ab -k and wrk, no failure, no non-2xx
in_ns ab -k -n 10000 -c 50 -s 30 "$URL/" >"$work/ab" 2>&1
complete=$(awk '/^Complete requests:/ {print $3}' "$work/ab")
failed=$(awk '/^Failed requests:/ {print $3}' "$work/ab")
non2xx=$(awk '/^Non-2xx responses:/ {print $3}' "$work/ab")
echo "ab -k -n 10000 -c 50: $(grep -E '^Requests per second' "$work/ab")"
check "ab -k: 10000 complete, 0 failed, no non-2xx" [ "${complete:-}" = 10000 -a "${failed:-}" = 0 -a -z "${non2xx:-}" ]
[ "${complete:-}" = 10000 ] || tail -20 "$work/ab"

in_ns wrk -t2 -c50 -d5s "$URL/" >"$work/wrk" 2>&1
requests=$(awk '/requests in/ {print $1}' "$work/wrk")
echo "wrk -t2 -c50 -d5s: $(grep -E '^Requests/sec' "$work/wrk")"
check "wrk: some requests, no socket errors, no non-2xx" \
    bash -c "[ '${requests:-0}' -gt 0 ] && ! grep -qE 'Socket errors|Non-2xx' '$work/wrk'"
grep -E 'Socket errors|Non-2xx' "$work/wrk" || true

# --- /stats: httpd's counters and the stack's (from pollux's telemetry)
stats=$(in_ns curl -s "$URL/stats")
check "GET /stats: valid JSON with stack pollux, the requests and tcp.PassiveOpens" py -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["stack"] == "pollux", s["stack"]
assert s["httpd"]["requests"] >= 10000, s["httpd"]
assert s["stack_counters"]["tcp"]["PassiveOpens"] >= 50, s["stack_counters"]
' "$stats"

check "pollux is still running" kill -0 "$PX_PID"
pollux_stop
check "httpd exits 0 on SIGINT" [ "$PX_RC" = 0 ]
summary=$(grep "httpd: stopped" "$PX_LOG")
echo "$summary"
check "httpd's summary: no connection or accept errors (resets by the load tools aside)" \
    grep -q '"connection_errors": 0, "accept_errors": 0' <<<"$summary"
check "every mbuf returned to the pool at exit" bash -c "! grep -q 'mbufs leaked' '$PX_LOG'"
check "no sanitizer report in httpd's stderr" bash -c "! grep -Eq 'runtime error|Sanitizer' '$PX_LOG'"
[ $fail -ne 0 ] && { echo "--- httpd log"; tail -20 "$PX_LOG"; }
exit $fail
