#!/usr/bin/python3
"""The kernel's side of telemetry_sockets_test.sh: holds a TCP connection to pollux's echo
server and checks that /pollux/sockets lists it as ss would, then that it leaves the list
once closed.

  telemetry_sockets_check.py --server IP --port 7 --prefix EAL_FILE_PREFIX

Runs inside the test's network namespace (the client) and asks DPDK telemetry through
dpdk-telemetry.py, whose socket is a file under /var/run/dpdk/PREFIX. Exits 1 on any
mismatch, printing what /pollux/sockets answered. Standard library only.
"""
import argparse
import json
import socket
import subprocess
import sys
import time

COMMAND = "/pollux/sockets"
MANY = 60


def ask(prefix):
    """One /pollux/sockets answer as a dict (dpdk-telemetry.py prints a hello line first)."""
    out = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input=COMMAND + "\n",
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])[COMMAND]


def rows(answer):
    return [v for v in answer.values() if isinstance(v, dict)]


def find(answer, local, remote):
    return [r for r in rows(answer) if r.get("local") == local and r.get("remote") == remote]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix", required=True)
    a = p.parse_args()

    failures = []

    def check(name, ok):
        print(("ok: " if ok else "FAIL: ") + name)
        if not ok:
            failures.append(name)

    c = socket.create_connection((a.server, a.port), timeout=10)
    c.sendall(b"x" * 1000)
    got = b""
    while len(got) < 1000:
        chunk = c.recv(4096)
        if not chunk:
            break
        got += chunk
    check("the echo came back (1000 bytes)", got == b"x" * 1000)
    client_ip, client_port = c.getsockname()
    local = f"{a.server}:{a.port}"
    remote = f"{client_ip}:{client_port}"

    answer = ask(a.prefix)
    found = find(answer, local, remote)
    check(f"/pollux/sockets lists {local} <- {remote} once", len(found) == 1)
    if found:
        r = found[0]
        check("its state is ESTABLISHED", r.get("state") == "ESTABLISHED")
        check("nothing is queued either way (recv_q 0, send_q 0)", r.get("recv_q") == 0 and r.get("send_q") == 0)
        check("the kernel agreed timestamps, SACK and window scaling",
              r.get("options", "").startswith("ts sack wscale:"))
        check("mss is the tap's 1500-byte MTU less headers and timestamps (1448)", r.get("mss") == 1448)
        # Before any sample Linux (and pollux) show rtt 0 and rttvar 250 ms. rtt_us itself may
        # be 0 on this sub-millisecond link: pollux samples from the echoed timestamp, whose
        # clock counts milliseconds.
        check("an RTT sample replaced the initial estimate (rttvar_us != 250000, rtt_us < 1 s)",
              r.get("rttvar_us") != 250_000 and 0 <= r.get("rtt_us", -1) < 1_000_000)
        check("rto_ms is in [200, 120000]", 200 <= r.get("rto_ms", 0) <= 120_000)
        check("cwnd is at least the initial window's 10 segments", r.get("cwnd", 0) >= 10)
        check("no retransmission", r.get("total_retrans") == 0)
    total = answer.get("total", -1)
    check("total counts every socket, listed + omitted == total",
          total >= 1 and answer.get("listed", -1) + answer.get("omitted", -1) == total)

    # More connections than 16 KiB of JSON can describe (a row is ~450 bytes): the answer
    # must stay whole JSON, list a prefix and count the rest as omitted.
    many = [socket.create_connection((a.server, a.port), timeout=10) for _ in range(MANY)]
    raw = subprocess.run(["dpdk-telemetry.py", "-f", a.prefix], input=COMMAND + "\n",
                         capture_output=True, text=True, timeout=30, check=True).stdout.strip().splitlines()[-1]
    try:
        big = json.loads(raw)[COMMAND]
    except (ValueError, KeyError, TypeError):
        big = None
    check(f"with {MANY + 1} connections the answer is still valid JSON", isinstance(big, dict))
    if isinstance(big, dict):
        print(f"   {len(raw)} bytes: total {big.get('total')}, listed {big.get('listed')}, omitted {big.get('omitted')}")
        check("it fits DPDK's 16 KiB", len(raw) <= 16384)
        check(f"total counts all {MANY + 1}", big.get("total", 0) >= MANY + 1)
        check("listed rows are all there, the rest counted as omitted",
              len(rows(big)) == big.get("listed") and big.get("omitted", 0) > 0 and
              big.get("listed", 0) + big.get("omitted", 0) == big.get("total"))
    for m in many:
        m.close()

    # Our FIN; echo closes its side, the connection passes LAST-ACK to CLOSED and leaves.
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    c.close()
    gone = False
    for _ in range(50):
        if not find(ask(a.prefix), local, remote):
            gone = True
            break
        time.sleep(0.1)
    check("once closed, the connection leaves /pollux/sockets", gone)

    if failures:
        print("--- /pollux/sockets")
        print(json.dumps(ask(a.prefix), indent=1))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
