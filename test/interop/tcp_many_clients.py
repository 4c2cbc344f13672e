#!/usr/bin/python3
"""Many concurrent kernel TCP clients of an echo server, all open at once (tcp_many_test.sh).

  tcp_many_clients.py --server IP --port 7 [--connections 1000] [--bytes 4096] [--seed 9]
                      [--timeout 120]

Three phases, each finished by every connection before the next begins, so that all the
connections are open at the same time before any of them closes:
  1. connect: every connection's non-blocking connect() is issued at once (a burst of
     SYNs; the kernel retransmits those the server drops), then all must complete;
  2. echo: each sends --bytes pseudo-random bytes (its own, from --seed and its index)
     and reads them back; then every socket must still be ESTABLISHED (TCP_INFO);
  3. close: each shuts its side down (FIN) and must read the server's FIN, nothing more.
One epoll loop (selectors) drives them all. Prints one line per phase and a summary;
exits 1 if any connection failed, echoed wrong bytes, or the --timeout ran out.
Standard library only.
"""
import argparse
import errno
import random
import resource
import selectors
import socket
import sys
import time

TCP_ESTABLISHED = 1  # include/net/tcp_states.h
READ_SIZE = 65536


class Client:
    def __init__(self, index, payload):
        self.index = index
        self.payload = payload
        self.sent = 0
        self.echo = bytearray()
        self.error = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)

    def fail(self, why):
        if self.error is None:
            self.error = why


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard) if hard != resource.RLIM_INFINITY
                                                    else needed, hard))


def run_phase(name, clients, sel, step, done, deadline):
    """Drives `step(client, mask)` for registered clients until `done(client)` holds for
    all of them (or they failed) or the deadline passes. Returns the elapsed seconds."""
    start = time.monotonic()
    while True:
        pending = [c for c in clients if c.error is None and not done(c)]
        if not pending:
            break
        if time.monotonic() > deadline:
            for c in pending:
                c.fail(f"{name}: timeout")
            break
        for key, mask in sel.select(timeout=0.5):
            c = key.data
            if c.error is None and not done(c):
                step(c, mask)
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--bytes", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    raise_fd_limit(a.connections + 64)
    deadline = time.monotonic() + a.timeout
    server = (a.server, a.port)
    clients = [Client(i, random.Random(a.seed * 1_000_003 + i).randbytes(a.bytes)) for i in range(a.connections)]
    sel = selectors.DefaultSelector()

    # 1. connect, all at once.
    connected = set()
    for c in clients:
        rc = c.sock.connect_ex(server)
        if rc not in (0, errno.EINPROGRESS):
            c.fail(f"connect: {errno.errorcode.get(rc, rc)}")
            continue
        sel.register(c.sock, selectors.EVENT_WRITE, c)

    def connect_step(c, mask):
        rc = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if rc != 0:
            c.fail(f"connect: {errno.errorcode.get(rc, rc)}")
            sel.unregister(c.sock)
            return
        connected.add(c.index)
        sel.modify(c.sock, selectors.EVENT_READ, c)  # not writable: no busy loop while others connect

    t_connect = run_phase("connect", clients, sel, connect_step, lambda c: c.index in connected, deadline)
    print(f"tcp_many_clients: {len(connected)} of {a.connections} connected at once in {t_connect:.2f} s",
          flush=True)

    # 2. echo: send the payload, read it back.
    for c in clients:
        if c.error is None:
            sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)

    def echo_step(c, mask):
        if mask & selectors.EVENT_WRITE and c.sent < len(c.payload):
            try:
                c.sent += c.sock.send(c.payload[c.sent:])
            except BlockingIOError:
                pass
            except OSError as e:
                c.fail(f"send: {e.strerror}")
                return
            if c.sent == len(c.payload):
                sel.modify(c.sock, selectors.EVENT_READ, c)
        if mask & selectors.EVENT_READ:
            try:
                data = c.sock.recv(READ_SIZE)
            except BlockingIOError:
                return
            except OSError as e:
                c.fail(f"recv: {e.strerror} after {len(c.echo)} bytes")
                return
            if not data:
                c.fail(f"the server closed after {len(c.echo)} of {len(c.payload)} bytes")
                return
            c.echo += data
            if len(c.echo) > len(c.payload) or c.payload[:len(c.echo)] != c.echo:
                c.fail("the echo differs from what was sent")

    t_echo = run_phase("echo", clients, sel, echo_step, lambda c: len(c.echo) == len(c.payload), deadline)
    established = 0
    for c in clients:
        if c.error is None:
            info = c.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
            if info[0] == TCP_ESTABLISHED:
                established += 1
            else:
                c.fail(f"not ESTABLISHED after its echo (tcp state {info[0]})")
    echoed = sum(1 for c in clients if c.error is None)
    print(f"tcp_many_clients: {echoed} echoed {a.bytes} bytes each in {t_echo:.2f} s; "
          f"{established} ESTABLISHED at once", flush=True)

    # 3. close: our FIN, then the server's.
    closed = set()
    for c in clients:
        if c.error is None:
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                c.fail(f"shutdown: {e.strerror}")
                continue
            sel.modify(c.sock, selectors.EVENT_READ, c)

    def close_step(c, mask):
        try:
            data = c.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            c.fail(f"recv after FIN: {e.strerror}")
            return
        if data:
            c.fail(f"{len(data)} bytes more than the echo")
        else:
            closed.add(c.index)

    t_close = run_phase("close", clients, sel, close_step, lambda c: c.index in closed, deadline)
    for c in clients:
        c.sock.close()
    failures = [c for c in clients if c.error is not None]
    print(f"tcp_many_clients: {len(closed)} closed by the server after our FIN in {t_close:.2f} s; "
          f"{len(failures)} of {a.connections} failed", flush=True)
    for c in failures[:20]:
        print(f"FAIL: connection #{c.index}: {c.error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
