#!/usr/bin/python3
"""Sends malformed IPv4/ICMP/ARP frames at pollux from the kernel side of its tap and
checks, through /pollux/stats, that each was dropped and counted under its reason.

Run inside the test namespace (ping_test.sh does it). Exits 1 on any mismatch.
"""
import argparse
import json
import struct
import subprocess
import sys
import time

from scapy.all import ARP, ICMP, IP, Ether, Raw, conf, sendp  # noqa: E402

conf.verb = 0


def stats(prefix):
    out = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input="/pollux/stats\n",
                         capture_output=True, text=True, timeout=20).stdout
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            nested = json.loads(line)["/pollux/stats"]
            return {f"{layer}.{name}": v for layer, counters in nested.items() for name, v in counters.items()}
    raise RuntimeError("no stats from dpdk-telemetry.py: " + out)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_header(src, dst, payload_len, ident=1, frag=0, proto=1, ihl=5, version=4, total=None, csum=None):
    total = 20 + payload_len if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", version << 4 | ihl, 0, total, ident, frag, 64, proto, 0,
                    bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    c = checksum(h) if csum is None else csum
    return h[:10] + struct.pack("!H", c) + h[12:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--pollux-mac", required=True)
    ap.add_argument("--pollux-ip", required=True)
    ap.add_argument("--kernel-ip", required=True)
    ap.add_argument("--prefix", required=True)
    a = ap.parse_args()
    eth = Ether(dst=a.pollux_mac, type=0x0800)
    src, dst = a.kernel_ip, a.pollux_ip
    echo = bytes(ICMP(type=8, id=0x77, seq=1) / Raw(b"x" * 32))

    cases = []  # (description, frames, {counter: expected increase})

    cases.append(("bad IPv4 header checksum",
                  [eth / Raw(ipv4_header(src, dst, len(echo), csum=0x1234) + echo)],
                  {"ip.InCsumErrors": 1}))
    cases.append(("IHL < 5",
                  [eth / Raw(ipv4_header(src, dst, len(echo), ihl=4) + echo)],
                  {"ip.InHdrErrors": 1}))
    cases.append(("version 6 in an IPv4 frame",
                  [eth / Raw(ipv4_header(src, dst, len(echo), version=6) + echo)],
                  {"ip.InHdrErrors": 1}))
    cases.append(("total length lies high",
                  [eth / Raw(ipv4_header(src, dst, len(echo), total=1000) + echo)],
                  {"ip.InTruncatedPkts": 1}))
    cases.append(("total length lies below the header",
                  [eth / Raw(ipv4_header(src, dst, len(echo), total=12) + echo)],
                  {"ip.InHdrErrors": 1}))
    cases.append(("truncated IPv4 header",
                  [eth / Raw(ipv4_header(src, dst, 0)[:12])],
                  {"ip.InHdrErrors": 1}))
    bad_icmp = bytearray(echo)
    bad_icmp[2] ^= 0xFF
    cases.append(("bad ICMP checksum",
                  [eth / Raw(ipv4_header(src, dst, len(bad_icmp)) + bytes(bad_icmp))],
                  {"icmp.InCsumErrors": 1}))
    # Overlapping fragments: [0,16) then [8,24) of one datagram: the whole datagram goes.
    body = bytes(ICMP(type=8, id=0x78, seq=1) / Raw(b"y" * 40))
    cases.append(("overlapping fragments",
                  [eth / Raw(ipv4_header(src, dst, 16, ident=0x4242, frag=0x2000) + body[:16]),
                   eth / Raw(ipv4_header(src, dst, 16, ident=0x4242, frag=0x2000 | 1) + body[8:24])],
                  {"reasm.ReasmOverlaps": 1}))
    # A datagram claiming more than 65535 bytes: 1480-byte fragments at every offset up to
    # the largest the 13-bit field can say (65528), so it would end at 67,008 bytes. (A
    # 1500-byte link cannot express more: an offset past 65528 does not exist.) Fragments
    # that would end past 65535 are refused on arrival (RFC 791's limit), so it never
    # completes; the rest wait in reassembly until the timeout.
    frags, refused = [], 0
    offsets = list(range(0, 65528, 1480)) + [65528]
    for i, off in enumerate(offsets):
        more = 0x2000 if i + 1 < len(offsets) else 0
        frags.append(eth / Raw(ipv4_header(src, dst, 1480, ident=0x5151, frag=more | off // 8) + b"z" * 1480))
        if off + 1480 + 20 > 65535:
            refused += 1
    cases.append(("datagram over 65535 bytes", frags, {"ip.InHdrErrors": refused, "reasm.ReasmOKs": 0}))
    # The kernel pads an AF_PACKET frame shorter than 14 bytes to 14 with zeros
    # (dev_validate_header), so the shortest frame it can send is a header with EtherType 0.
    cases.append(("runt frame (padded by the kernel to a zero EtherType)",
                  [Raw(bytes.fromhex(a.pollux_mac.replace(":", "")) + b"\x02\x00\x00")],
                  {"link.rx_drop_unknown_ethertype": 1}))
    arp_ok = bytes(ARP(op=1, hwsrc="02:00:00:00:00:99", psrc=src, pdst=dst))
    bad_hlen = arp_ok[:4] + b"\x07" + arp_ok[5:]
    arp_eth = Ether(dst="ff:ff:ff:ff:ff:ff", type=0x0806)
    cases.append(("ARP with hardware length 7", [arp_eth / Raw(bad_hlen)], {"arp.rx_drop_malformed": 1}))
    cases.append(("truncated ARP", [arp_eth / Raw(arp_ok[:20])], {"arp.rx_drop_malformed": 1}))
    cases.append(("ARP for IPv6 addresses (ptype 0x86dd)",
                  [arp_eth / Raw(arp_ok[:2] + b"\x86\xdd" + arp_ok[4:])], {"arp.rx_drop_unsupported": 1}))
    cases.append(("unknown EtherType", [Ether(dst=a.pollux_mac, type=0x88b5) / Raw(b"\0" * 46)],
                  {"link.rx_drop_unknown_ethertype": 1}))

    failures = 0
    for name, frames, expect in cases:
        before = stats(a.prefix)
        sendp(frames, iface=a.iface)
        time.sleep(0.3)
        after = stats(a.prefix)
        for key, want in expect.items():
            got = after.get(key, 0) - before.get(key, 0)
            ok = got == want
            failures += not ok
            print(("ok: " if ok else "FAIL: ") + f"{name}: {key} +{got} (want +{want})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
