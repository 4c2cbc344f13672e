#!/usr/bin/env python3
"""The kernel as a client of examples/echo: TOTAL request/response messages over CONNECTIONS
TCP connections (one thread each). Every message has a seeded random size (1..MAX bytes)
and content; the client sends it whole, then reads until exactly that many bytes came back,
and compares them. Prints one line, "echo_messages: ok: ..." or "echo_messages: FAIL: ...",
and exits 0 only when every message came back intact."""
import argparse
import random
import socket
import sys
import threading
import time


def run_connection(index, args, count, results):
    rng = random.Random(args.seed * 1000 + index)
    try:
        with socket.create_connection((args.server, args.port), timeout=args.timeout) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for m in range(count):
                size = rng.randint(1, args.max_size)
                message = rng.randbytes(size)
                s.sendall(message)
                got = bytearray()
                while len(got) < size:
                    chunk = s.recv(size - len(got))
                    if not chunk:
                        raise RuntimeError(f"message {m}: the server closed after {len(got)} of {size} bytes")
                    got += chunk
                if got != message:
                    raise RuntimeError(f"message {m} ({size} bytes) came back different")
            s.shutdown(socket.SHUT_WR)
            if s.recv(1) != b"":
                raise RuntimeError("bytes after the last echo")
        results[index] = None
    except Exception as e:  # noqa: BLE001 - reported per connection
        results[index] = f"connection {index}: {e}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=7)
    p.add_argument("--messages", type=int, default=10000)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--max-size", type=int, default=4000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()
    per = [args.messages // args.connections + (1 if i < args.messages % args.connections else 0)
           for i in range(args.connections)]
    results = [f"connection {i}: did not finish" for i in range(args.connections)]
    started = time.monotonic()
    threads = [threading.Thread(target=run_connection, args=(i, args, per[i], results)) for i in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    errors = [r for r in results if r is not None]
    if errors:
        print("echo_messages: FAIL: " + "; ".join(errors))
        return 1
    print(f"echo_messages: ok: {args.messages} messages over {args.connections} connections echoed intact "
          f"in {elapsed:.2f} s ({args.messages / elapsed:.0f} round trips/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
