#!/usr/bin/python3
"""The kernel's side of tcp_bulk_test.sh: the mirror of tcp_bulk.c on a kernel socket.

  tcp_bulk_peer.py client --address IP --port P [stream options]
      Connects to pollux's listener (retrying while it refuses, until --timeout).
  tcp_bulk_peer.py server --address IP --port P [stream options]
      Listens (bound before pollux starts) and takes one connection from pollux.

  stream options: --send-bytes N --recv-bytes N --send-seed S --recv-seed S --timeout T

On the one connection, both at once: sends --send-bytes of the stream of --send-seed then
shuts its write side down (FIN), and reads until pollux's FIN. What arrived must be exactly
--recv-bytes long and hash (SHA-256) like the stream of --recv-seed. Prints one line:

  tcp_bulk_peer: ok: sent N bytes sha256 HEX, received M bytes sha256 HEX, T s, ...

(or "tcp_bulk_peer: FAIL: ...") and exits 0 only when all was right.

The stream of seed S (the same as tcp_bulk.c builds): little-endian 64-bit words, word
k = base[k mod 8192] XOR k, base[i] = splitmix64 output number i+1 from state S.
Standard library only.
"""
import argparse
import hashlib
import selectors
import socket
import struct
import sys
import time

WORDS = 8192
CHUNK = WORDS * 8
MASK = (1 << 64) - 1
READ_SIZE = 1 << 20


def splitmix64_base(seed):
    state, words = seed & MASK, []
    for _ in range(WORDS):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        words.append(z ^ (z >> 31))
    return int.from_bytes(struct.pack(f"<{WORDS}Q", *words), "little")


class Stream:
    """The stream of one seed, produced 64 KiB at a time."""

    def __init__(self, seed, total):
        self.base = splitmix64_base(seed)
        self.total = total

    def chunk(self, index):
        first = index * WORDS
        indices = int.from_bytes(struct.pack(f"<{WORDS}Q", *range(first, first + WORDS)), "little")
        data = (self.base ^ indices).to_bytes(CHUNK, "little")
        return data[: max(0, min(CHUNK, self.total - index * CHUNK))]

    def sha256(self):
        h = hashlib.sha256()
        for index in range((self.total + CHUNK - 1) // CHUNK):
            h.update(self.chunk(index))
        return h.hexdigest()


def open_connection(a, deadline):
    if a.mode == "server":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((a.address, a.port))
        listener.listen(1)
        print(f"tcp_bulk_peer: listening on {a.address}:{a.port}", flush=True)
        listener.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            sock, _ = listener.accept()
        finally:
            listener.close()
        return sock
    while True:
        try:
            return socket.create_connection((a.address, a.port), timeout=5)
        except (ConnectionRefusedError, socket.timeout):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def transfer(a, sock, deadline):
    out = Stream(a.send_seed, a.send_bytes)
    sent_hash, recv_hash = hashlib.sha256(), hashlib.sha256()
    sent = received = 0
    pending = b""
    next_chunk = 0
    shut = eof = False
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    start = time.monotonic()
    times = {}  # "sent": our FIN queued, "received": pollux's FIN arrived
    while not (eof and shut):
        if time.monotonic() > deadline:
            return "timeout", start, times, sent, sent_hash, received, recv_hash
        for _, mask in sel.select(timeout=0.5):
            if mask & selectors.EVENT_READ:
                try:
                    data = sock.recv(READ_SIZE)
                except BlockingIOError:
                    data = None
                if data is not None:
                    if not data:
                        eof = True
                        times["received"] = time.monotonic()
                        if shut:
                            break
                        sel.modify(sock, selectors.EVENT_WRITE)  # at EOF it would always be readable
                    received += len(data)
                    recv_hash.update(data)
            if mask & selectors.EVENT_WRITE and not shut:
                if not pending and sent < a.send_bytes:
                    pending = out.chunk(next_chunk)
                    next_chunk += 1
                if pending:
                    try:
                        n = sock.send(pending)
                    except BlockingIOError:
                        n = 0
                    sent_hash.update(pending[:n])
                    sent += n
                    pending = pending[n:]
                if not pending and sent == a.send_bytes:
                    sock.shutdown(socket.SHUT_WR)
                    shut = True
                    times["sent"] = time.monotonic()
                    if eof:
                        break
                    sel.modify(sock, selectors.EVENT_READ)
    return None, start, times, sent, sent_hash, received, recv_hash


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["client", "server"])
    ap.add_argument("--address", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--send-bytes", type=int, default=100_000_000)
    ap.add_argument("--recv-bytes", type=int, default=100_000_000)
    ap.add_argument("--send-seed", type=int, default=2)
    ap.add_argument("--recv-seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    deadline = time.monotonic() + a.timeout
    try:
        sock = open_connection(a, deadline)
        why, start, times, sent, sent_hash, received, recv_hash = transfer(a, sock, deadline)
    except OSError as e:
        print(f"tcp_bulk_peer: FAIL: {e}", flush=True)
        return 1
    end = time.monotonic()
    seconds = end - start

    def mbit(count, key):  # each way over its own time, as tcp_bulk.c counts it
        return count * 8 / max(times.get(key, end) - start, 1e-9) / 1e6
    sock.close()
    expected = Stream(a.recv_seed, a.recv_bytes).sha256()
    if why is None and received != a.recv_bytes:
        why = f"received {received} bytes, expected {a.recv_bytes}"
    elif why is None and recv_hash.hexdigest() != expected:
        why = f"received bytes differ from the stream (expected sha256 {expected})"
    print(f"tcp_bulk_peer: {'FAIL: ' + why if why else 'ok'}: sent {sent} bytes sha256 {sent_hash.hexdigest()}, "
          f"received {received} bytes sha256 {recv_hash.hexdigest()}, {seconds:.2f} s, "
          f"tx {mbit(sent, 'sent'):.1f} Mbit/s, rx {mbit(received, 'received'):.1f} Mbit/s", flush=True)
    return 1 if why else 0


if __name__ == "__main__":
    sys.exit(main())
