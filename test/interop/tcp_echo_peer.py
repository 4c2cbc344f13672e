#!/usr/bin/python3
"""The kernel's side of tcp_echo_test.sh: TCP clients of pollux's echo server.

  tcp_echo_peer.py echo --server IP --port 7 [--connections 1] [--bytes N] [--seed N]
      Opens --connections connections at once; each sends --bytes pseudo-random bytes
      (its own stream, derived from --seed and its index) in chunks of varied size while
      it reads the echo, then shuts its side down (FIN) and reads until the server's FIN.
      One select() loop drives them all, so sending and reading overlap and neither side
      can deadlock on full buffers. Every connection must get back exactly what it sent
      (SHA-256 of each direction compared, and the length) before --timeout seconds.
      Exits 1 on any mismatch, reset, or timeout.

  tcp_echo_peer.py closed-port --server IP --port 9
      Connects to a port nothing listens on and expects ECONNREFUSED: the RST that
      RFC 9293 3.10.7.1 has a CLOSED port send to a SYN.

Standard library only. Deterministic: the same seed gives the same bytes and chunk sizes.
"""
import argparse
import errno
import hashlib
import random
import select
import socket
import sys
import time

MAX_CHUNK = 65536
READ_SIZE = 1 << 20
CONNECT_TIMEOUT_S = 10.0


class Connection:
    """One client connection: what is left to send, and running hashes of both ways."""

    def __init__(self, index, server, total, seed):
        self.index = index
        self.rng = random.Random(seed * 1_000_003 + index)
        self.left = total
        self.total = total
        self.received = 0
        self.sent_hash = hashlib.sha256()
        self.recv_hash = hashlib.sha256()
        self.chunk = b""  # generated, not yet (wholly) accepted by the kernel
        self.shut = False
        self.eof = False
        self.error = None
        self.sock = socket.create_connection(server, timeout=CONNECT_TIMEOUT_S)
        self.sock.setblocking(False)

    def wants_write(self):
        return not self.shut and self.error is None

    def wants_read(self):
        return not self.eof and self.error is None

    def on_writable(self):
        if not self.chunk and self.left > 0:
            size = min(self.left, self.rng.randint(1, MAX_CHUNK))
            self.chunk = self.rng.randbytes(size)
            self.sent_hash.update(self.chunk)
            self.left -= size
        if self.chunk:
            try:
                n = self.sock.send(self.chunk)
            except BlockingIOError:
                return
            except OSError as e:
                self.error = f"send: {e.strerror} (errno {e.errno})"
                return
            self.chunk = self.chunk[n:]
        if not self.chunk and self.left == 0:
            try:
                self.sock.shutdown(socket.SHUT_WR)  # the server closes after echoing it all
            except OSError as e:
                self.error = f"shutdown: {e.strerror} (errno {e.errno})"
            self.shut = True

    def on_readable(self):
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            self.error = f"recv: {e.strerror} (errno {e.errno}) after {self.received} bytes"
            return
        if not data:
            self.eof = True
            return
        self.received += len(data)
        self.recv_hash.update(data)
        if self.received > self.total:
            self.error = f"{self.received} bytes echoed, more than the {self.total} sent"

    def verdict(self):
        """None when the echo was whole and equal, else what went wrong."""
        if self.error:
            return self.error
        if not self.eof:
            return f"no FIN from the server: {self.received} of {self.total} bytes echoed"
        if self.received != self.total:
            return f"{self.received} bytes echoed of {self.total}"
        if self.recv_hash.digest() != self.sent_hash.digest():
            return (f"echo differs: sha256 sent {self.sent_hash.hexdigest()[:16]}, "
                    f"echoed {self.recv_hash.hexdigest()[:16]}")
        return None


def echo(a):
    server = (a.server, a.port)
    conns = []
    try:
        for i in range(a.connections):
            conns.append(Connection(i, server, a.bytes, a.seed))
    except OSError as e:
        print(f"FAIL: connect #{len(conns)} to {a.server}:{a.port}: {e}")
        return 1
    start = time.monotonic()
    deadline = start + a.timeout
    while any(c.wants_read() for c in conns):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        readers = [c.sock for c in conns if c.wants_read()]
        writers = [c.sock for c in conns if c.wants_write()]
        r, w, _ = select.select(readers, writers, [], min(remaining, 1.0))
        by_sock = {c.sock: c for c in conns}
        for s in w:
            by_sock[s].on_writable()
        for s in r:
            by_sock[s].on_readable()
    elapsed = time.monotonic() - start
    failures = [(c.index, c.verdict()) for c in conns if c.verdict() is not None]
    for c in conns:
        c.sock.close()
    total = sum(c.received for c in conns)
    print(f"tcp echo: {a.connections} connection(s) x {a.bytes} bytes, {total} bytes echoed "
          f"in {elapsed:.2f} s, {len(failures)} failed")
    if a.connections == 1 and not failures:
        print(f"sha256 sent == echoed: {conns[0].sent_hash.hexdigest()}")
    for index, why in failures[:20]:
        print(f"FAIL: connection #{index}: {why}")
    return 1 if failures else 0


def closed_port(a):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT_S)
    try:
        sock.connect((a.server, a.port))
    except ConnectionRefusedError:
        print(f"ok: connect to closed port {a.port}: ECONNREFUSED")
        return 0
    except socket.timeout:
        print(f"FAIL: connect to closed port {a.port}: no answer within {CONNECT_TIMEOUT_S} s (no RST?)")
        return 1
    except OSError as e:
        print(f"FAIL: connect to closed port {a.port}: {e.strerror} (errno {e.errno}, "
              f"{errno.errorcode.get(e.errno, '?')}) instead of ECONNREFUSED")
        return 1
    print(f"FAIL: connect to closed port {a.port} succeeded")
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["echo", "closed-port"])
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--bytes", type=int, default=10 << 20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=300.0)
    a = ap.parse_args()
    return echo(a) if a.mode == "echo" else closed_port(a)


if __name__ == "__main__":
    sys.exit(main())
