#!/usr/bin/python3
"""The kernel's side of udp_echo_test.sh: a UDP client of pollux's echo server.

  udp_echo_peer.py echo --server IP --port 7 [--count 1000] [--seed N]
      Sends --count datagrams one at a time, sizes from 1 to 65,507 bytes (the largest
      UDP payload in IPv4), each with a pseudo-random payload from --seed, and waits for
      each echo (2 s, up to 3 resends). Every echo must be byte-identical and come from
      IP:port. Exits 1 on any mismatch or on a datagram still unanswered after the resends.

  udp_echo_peer.py closed-port --server IP --port 9
      Sends one datagram from a connected socket to a port nothing listens on and expects
      the next receive to fail with ECONNREFUSED: the ICMP port unreachable that RFC 1122
      4.1.3.1 requires of the server's stack, reported by Linux on connected sockets.

Standard library only. Deterministic: the same seed gives the same sizes and bytes.
"""
import argparse
import random
import socket
import sys

MAX_PAYLOAD = 65507        # 65,535 - 20 (IPv4 header) - 8 (UDP header)
FIRST_FRAGMENTED = 1473    # 1473 + 8 + 20 = 1501 > MTU 1500
BUFFER_BYTES = 4 << 20     # the kernel socket's SO_RCVBUF / SO_SNDBUF
TIMEOUT_S = 2.0
MAX_RESENDS = 3
GIVE_UP_AFTER_LOST = 10    # consecutive datagrams lost: the server is gone, stop waiting
# Linux's values; Python's socket module does not name them.
SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def sizes(count, rng):
    """`count` sizes in 1..MAX_PAYLOAD: the edges, then half uniform (mostly fragmented,
    up to 45 fragments) and half log-uniform (many small and single-frame ones)."""
    fixed = [1, 2, 1471, 1472, FIRST_FRAGMENTED, 2952, 2953, 8192, MAX_PAYLOAD - 1, MAX_PAYLOAD]
    out = fixed[:count]
    while len(out) < count:
        if len(out) % 2:
            out.append(rng.randint(1, MAX_PAYLOAD))
        else:
            out.append(min(MAX_PAYLOAD, int(2 ** rng.uniform(0, 16))))
    rng.shuffle(out)
    return out


def big_buffers(sock):
    """4 MiB each way: SO_*BUFFORCE (root) passes net.core.[rw]mem_max, plain SO_*BUF
    otherwise. Linux reports twice what was set (its bookkeeping overhead)."""
    for force, plain in ((SO_RCVBUFFORCE, socket.SO_RCVBUF), (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, BUFFER_BYTES)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, plain, BUFFER_BYTES)
    rcv = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    snd = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    if rcv < BUFFER_BYTES or snd < BUFFER_BYTES:
        print(f"FAIL: socket buffers rcv {rcv} snd {snd}, wanted >= {BUFFER_BYTES}")
        return False
    return True


def echo(a):
    rng = random.Random(a.seed)
    server = (a.server, a.port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if not big_buffers(sock):
        return 1
    # Not connected: the kernel would then drop echoes from any other address, and the
    # source of each echo is one of the things checked.
    sock.settimeout(TIMEOUT_S)
    resent_payloads = set()  # a late echo of one of these is a duplicate, not corruption
    sent = echoed = resends = late_duplicates = total_bytes = 0
    lost, bad = [], []
    for index, size in enumerate(sizes(a.count, rng)):
        if len(lost) >= GIVE_UP_AFTER_LOST and lost[-1][0] == index - 1 and \
                lost[-GIVE_UP_AFTER_LOST][0] == index - GIVE_UP_AFTER_LOST:
            print(f"FAIL: {GIVE_UP_AFTER_LOST} datagrams in a row lost: giving up at #{index}")
            break
        payload = rng.randbytes(size)
        sent += 1
        tries = 0
        sock.sendto(payload, server)
        while True:
            try:
                data, source = sock.recvfrom(MAX_PAYLOAD + 1)
            except socket.timeout:
                if tries == MAX_RESENDS:
                    lost.append((index, size))
                    break
                tries += 1
                resends += 1
                resent_payloads.add(payload)
                sock.sendto(payload, server)
                continue
            if data == payload and source == server:
                echoed += 1
                total_bytes += size
                break
            if source == server and data in resent_payloads:
                late_duplicates += 1
                continue
            bad.append((index, size, len(data), source, payload[:8].hex(), data[:8].hex()))
            break
    print(f"udp echo: sent {sent}, echoed {echoed}, resends {resends}, late duplicates "
          f"{late_duplicates}, bytes {total_bytes} each way, lost {len(lost)}, mismatched {len(bad)}")
    for index, size in lost[:20]:
        print(f"FAIL: datagram #{index} ({size} bytes): no echo after {MAX_RESENDS} resends")
    for index, size, got, source, want_head, got_head in bad[:20]:
        print(f"FAIL: datagram #{index} ({size} bytes): got {got} bytes from {source[0]}:{source[1]}, "
              f"head {got_head}, expected {want_head} from {a.server}:{a.port}")
    return 0 if not lost and not bad and echoed == sent == a.count else 1


def closed_port(a):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(TIMEOUT_S)
    sock.connect((a.server, a.port))
    sock.send(b"is anyone there?")
    try:
        data = sock.recv(MAX_PAYLOAD + 1)
    except ConnectionRefusedError:
        print(f"ok: datagram to closed port {a.port}: ECONNREFUSED")
        return 0
    except socket.timeout:
        print(f"FAIL: datagram to closed port {a.port}: no error within {TIMEOUT_S} s "
              "(no ICMP port unreachable?)")
        return 1
    except OSError as e:  # another ICMP error, e.g. ENOPROTOOPT for protocol unreachable
        print(f"FAIL: datagram to closed port {a.port}: {e.strerror} (errno {e.errno}) "
              "instead of ECONNREFUSED")
        return 1
    print(f"FAIL: datagram to closed port {a.port}: got {len(data)} bytes back instead of ECONNREFUSED")
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["echo", "closed-port"])
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    return echo(a) if a.mode == "echo" else closed_port(a)


if __name__ == "__main__":
    sys.exit(main())
