#!/usr/bin/env python3
"""Writes the libFuzzer seed corpus: test/corpus/<target>/<name>.bin for each target in
test/fuzz/. Python standard library only, so the corpus can be regenerated anywhere:

    python3 test/corpus/make_corpus.py            # next to this script
    python3 test/corpus/make_corpus.py OUT_DIR    # somewhere else

Each target gets well-formed inputs with correct checksums (so the fuzzer starts past
every check) and a few malformed ones (each a single defect, named in the file name).
Files named crash_*.bin are inputs on which a fuzzer found a bug, added by hand as
regression seeds; this script leaves them alone.
Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking), MACs are locally administered.
The UDP and TCP targets take the transport bytes alone and compute their pseudo-header
from 198.18.0.1 -> 198.18.0.2 (pollux::fuzz::transport_src/dst in wire_checks.hpp).
"""

import os
import struct
import sys

MAC_A = bytes([0x02, 0, 0, 0, 0, 0x01])
MAC_B = bytes([0x02, 0, 0, 0, 0, 0x02])
BROADCAST = b"\xff" * 6
IP_A = bytes([198, 18, 0, 1])  # transport_src of the fuzz targets
IP_B = bytes([198, 18, 0, 2])  # transport_dst
IP_C = bytes([198, 19, 255, 254])

ETH_IPV4, ETH_ARP, ETH_VLAN, ETH_IPV6, ETH_QINQ = 0x0800, 0x0806, 0x8100, 0x86DD, 0x88A8
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80


# --- checksums (RFC 1071) ------------------------------------------------------------------

def csum(data: bytes, initial: int = 0) -> int:
    if len(data) % 2:
        data += b"\0"
    s = initial
    for (word,) in struct.iter_unpack("!H", data):
        s += word
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pseudo(src: bytes, dst: bytes, proto: int, length: int) -> int:
    s = 0
    for (word,) in struct.iter_unpack("!H", src + dst):
        s += word
    return s + proto + length


# --- builders ------------------------------------------------------------------------------

def ethernet(dst, src, ethertype, payload, vlan_tci=None, pad=True):
    hdr = dst + src
    if vlan_tci is not None:
        hdr += struct.pack("!HH", ETH_VLAN, vlan_tci)
    frame = hdr + struct.pack("!H", ethertype) + payload
    if pad and len(frame) < 60:  # minimum frame without FCS: the link pads, IP must ignore it
        frame += b"\0" * (60 - len(frame))
    return frame


def arp(op, sha, spa, tha, tpa, htype=1, ptype=ETH_IPV4, hlen=6, plen=4):
    return struct.pack("!HHBBH", htype, ptype, hlen, plen, op) + sha + spa + tha + tpa


def ipv4(src, dst, proto, payload, ttl=64, ident=0x1234, df=True, mf=False, frag=0,
         options=b"", tos=0, total_len=None, ihl=None, bad_csum=False, reserved=False):
    assert len(options) % 4 == 0
    hl = 20 + len(options)
    flags = (0x8000 if reserved else 0) | (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag // 8)
    tl = hl + len(payload) if total_len is None else total_len
    v_ihl = 0x40 | ((hl // 4) if ihl is None else ihl)
    hdr = struct.pack("!BBHHHBBH4s4s", v_ihl, tos, tl, ident, flags, ttl, proto, 0, src, dst) + options
    c = csum(hdr) ^ (0x0101 if bad_csum else 0)
    hdr = hdr[:10] + struct.pack("!H", c) + hdr[12:]
    return hdr + payload


def icmp(typ, code, rest, data, bad_csum=False):
    msg = struct.pack("!BBH", typ, code, 0) + rest + data
    c = csum(msg) ^ (0x0101 if bad_csum else 0)
    return msg[:2] + struct.pack("!H", c) + msg[4:]


def icmp_echo(typ, ident, seq, data):
    return icmp(typ, 0, struct.pack("!HH", ident, seq), data)


def udp(src, dst, sport, dport, payload, no_csum=False, bad_csum=False, length=None):
    ln = 8 + len(payload) if length is None else length
    d = struct.pack("!HHHH", sport, dport, ln, 0) + payload
    if no_csum:
        return d
    c = csum(d[:ln] if ln <= len(d) else d, pseudo(src, dst, PROTO_UDP, ln)) or 0xFFFF
    c ^= 0x0101 if bad_csum else 0
    return d[:6] + struct.pack("!H", c) + d[8:]


def tcp(src, dst, sport, dport, seq, ack, flags, window, options=b"", payload=b"",
        urgent=0, doff=None, bad_csum=False):
    assert len(options) % 4 == 0
    hl = 20 + len(options)
    off = (hl // 4) if doff is None else doff
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, urgent)
    seg += options + payload
    c = csum(seg, pseudo(src, dst, PROTO_TCP, len(seg))) ^ (0x0101 if bad_csum else 0)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


# TCP options, raw
def o_mss(v): return struct.pack("!BBH", 2, 4, v)
def o_ws(v): return struct.pack("!BBB", 3, 3, v)
def o_sack_ok(): return b"\x04\x02"
def o_ts(val, ecr): return struct.pack("!BBII", 8, 10, val, ecr)
def o_sack(*blocks): return struct.pack("!BB", 5, 2 + 8 * len(blocks)) + b"".join(struct.pack("!II", l, r) for l, r in blocks)
NOP, EOL = b"\x01", b"\x00"


def pad4(options: bytes) -> bytes:
    return options + EOL * (-len(options) % 4)


# --- the seeds -----------------------------------------------------------------------------

# Linux's SYN options: MSS, SACK-permitted, timestamps, NOP, window scale (20 bytes).
SYN_OPTS = o_mss(1460) + o_sack_ok() + o_ts(0x01020304, 0) + NOP + o_ws(7)
SYNACK_OPTS = o_mss(1460) + o_sack_ok() + o_ts(0x0a0b0c0d, 0x01020304) + NOP + o_ws(9)
TS_OPTS = NOP + NOP + o_ts(0x01020400, 0x0a0b0c10)
SACK_OPTS = NOP + NOP + o_ts(0x01020500, 0x0a0b0c20) + NOP + NOP + o_sack((1000, 2000), (3000, 4000))

tcp_options = {
    "linux_syn": SYN_OPTS,
    "linux_synack": SYNACK_OPTS,
    "timestamps": TS_OPTS,
    "sack_ts_2_blocks": SACK_OPTS,
    "sack_4_blocks": NOP + NOP + o_sack((1, 2), (3, 4), (5, 6), (0xfffffff0, 0x10)),
    "sack_3_blocks_with_ts": o_ts(7, 8) + o_sack((10, 20), (30, 40), (50, 60)),  # 36: fit drops one
    "mss_only": o_mss(536),
    "ws_sack_ok": NOP + o_ws(14) + o_sack_ok() + NOP,
    "ws_too_large": NOP + o_ws(15) + EOL * 4,
    "eol_then_garbage": o_mss(1400) + EOL + b"\x02\x00\xff\xff",
    "unknown_kind_skipped": bytes([30, 6, 0, 0, 0, 0]) + o_mss(1200) + NOP + NOP,  # MPTCP-like
    "mss_wrong_len_ignored": bytes([2, 6, 5, 0xb4, 0, 0]) + NOP + NOP,
    "all_nops_40": NOP * 40,
    "empty": b"",
    "bad_len_zero": bytes([2, 0, 5, 0xb4]),
    "bad_len_one": bytes([8, 1]) + b"\0" * 10,
    "bad_kind_without_len": NOP * 3 + bytes([3]),
    "bad_len_past_end": o_mss(1460) + bytes([8, 10, 0, 0, 0, 1]),
    "sack_odd_len_ignored": bytes([5, 7]) + b"\0" * 5 + EOL,
}

# UDP and TCP from IP_A to IP_B (the transport targets' fixed pseudo-header).
udp_seeds = {
    "dns_query": udp(IP_A, IP_B, 40000, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                     b"\x07example\x03com\x00\x00\x01\x00\x01"),
    "empty_payload": udp(IP_A, IP_B, 1, 9, b""),
    "checksum_zero_none": udp(IP_A, IP_B, 5000, 5001, b"no checksum", no_csum=True),
    "odd_length": udp(IP_A, IP_B, 7, 7, b"abc"),
    "trailing_bytes": udp(IP_A, IP_B, 1234, 4321, b"payload", length=15) + b"\xee" * 5,
    "bad_checksum": udp(IP_A, IP_B, 40000, 53, b"corrupted", bad_csum=True),
    "bad_length_short": udp(IP_A, IP_B, 1, 2, b"xyz", length=4),
    "bad_length_long": udp(IP_A, IP_B, 1, 2, b"xyz", length=200),
    "truncated_header": udp(IP_A, IP_B, 1, 2, b"")[:5],
}

ISN_A, ISN_B = 0x10000000, 0xF0000000  # the second wraps soon: SeqNum arithmetic
tcp_seeds = {
    "syn": tcp(IP_A, IP_B, 40000, 80, ISN_A, 0, SYN, 64240, SYN_OPTS),
    "syn_ecn": tcp(IP_A, IP_B, 40001, 80, ISN_A, 0, SYN | ECE | CWR, 64240, SYN_OPTS),
    "synack": tcp(IP_A, IP_B, 80, 40000, ISN_B, ISN_A + 1, SYN | ACK, 65160, SYNACK_OPTS),
    "ack_ts": tcp(IP_A, IP_B, 40000, 80, ISN_A + 1, ISN_B + 1, ACK, 502, TS_OPTS),
    "data_psh": tcp(IP_A, IP_B, 40000, 80, ISN_A + 1, ISN_B + 1, PSH | ACK, 502, TS_OPTS,
                    b"GET / HTTP/1.1\r\nHost: 198.18.0.2\r\n\r\n"),
    "ack_sack": tcp(IP_A, IP_B, 80, 40000, ISN_B + 1, ISN_A + 1000, ACK, 510, SACK_OPTS),
    "fin_ack": tcp(IP_A, IP_B, 40000, 80, ISN_A + 38, ISN_B + 1, FIN | ACK, 502, TS_OPTS),
    "rst": tcp(IP_A, IP_B, 80, 40000, 0, ISN_A + 1, RST | ACK, 0),
    "urgent": tcp(IP_A, IP_B, 40000, 80, 5, 6, URG | ACK | PSH, 1024, b"", b"!", urgent=1),
    "no_options_odd_payload": tcp(IP_A, IP_B, 1, 2, 3, 4, ACK, 5, b"", b"abcde"),
    "bad_checksum": tcp(IP_A, IP_B, 40000, 80, ISN_A, 0, SYN, 64240, SYN_OPTS, bad_csum=True),
    "bad_doff_low": tcp(IP_A, IP_B, 40000, 80, 1, 2, ACK, 100, doff=4),
    "bad_doff_past_end": tcp(IP_A, IP_B, 40000, 80, 1, 2, ACK, 100, doff=15),
    "bad_option_len": tcp(IP_A, IP_B, 40000, 80, 1, 2, SYN, 100, bytes([2, 1, 0, 0])),
    "truncated_header": tcp(IP_A, IP_B, 40000, 80, 1, 2, ACK, 100)[:19],
}

ICMP_ECHO_REQ, ICMP_ECHO_REPLY, ICMP_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAM_PROBLEM = 8, 0, 3, 11, 12
PING_DATA = bytes(range(0x10, 0x38))  # 40 bytes, like a Linux ping after its timestamp


def quote(datagram: bytes, n: int = 8) -> bytes:
    """What an ICMP error carries: the IP header and the first n bytes after it."""
    hl = (datagram[0] & 0x0F) * 4
    return datagram[:hl + n]


udp_from_b = ipv4(IP_B, IP_C, PROTO_UDP, udp(IP_B, IP_C, 33434, 33435, b"traceroute"), ttl=1)
tcp_from_b = ipv4(IP_B, IP_C, PROTO_TCP, tcp(IP_B, IP_C, 40000, 443, ISN_A, 0, SYN, 64240, SYN_OPTS))

icmp_seeds = {
    "echo_request": icmp_echo(ICMP_ECHO_REQ, 0x4242, 1, PING_DATA),
    "echo_reply": icmp_echo(ICMP_ECHO_REPLY, 0x4242, 1, PING_DATA),
    "echo_empty": icmp_echo(ICMP_ECHO_REQ, 1, 0xFFFF, b""),
    "unreach_port_udp": icmp(ICMP_UNREACH, 3, b"\0" * 4, quote(udp_from_b, 18)),
    "unreach_frag_needed": icmp(ICMP_UNREACH, 4, struct.pack("!HH", 0, 1400), quote(tcp_from_b)),
    "time_exceeded_tcp": icmp(ICMP_TIME_EXCEEDED, 0, b"\0" * 4, quote(tcp_from_b, 28)),
    "param_problem_udp": icmp(ICMP_PARAM_PROBLEM, 0, b"\x08\0\0\0", quote(udp_from_b)),  # pointer: TTL
    "unreach_quote_with_options": icmp(ICMP_UNREACH, 1, b"\0" * 4, quote(
        ipv4(IP_B, IP_C, PROTO_UDP, udp(IP_B, IP_C, 1, 2, b"x"), options=b"\x94\x04\x00\x00"))),
    "bad_checksum": icmp(ICMP_ECHO_REQ, 0, struct.pack("!HH", 7, 7), b"abcd", bad_csum=True),
    "bad_quote_short": icmp(ICMP_UNREACH, 3, b"\0" * 4, quote(udp_from_b, 4)),
    "bad_quote_not_ipv4": icmp(ICMP_TIME_EXCEEDED, 0, b"\0" * 4, b"\x60" + b"\0" * 39),
    "unsupported_timestamp": icmp(13, 0, struct.pack("!HH", 1, 1), b"\0" * 12),
    "truncated": icmp_echo(ICMP_ECHO_REQ, 1, 1, b"")[:6],
}

ip_udp = ipv4(IP_A, IP_B, PROTO_UDP, udp_seeds["dns_query"])
ipv4_seeds = {
    "udp": ip_udp,
    "tcp_syn": ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["syn"]),
    "icmp_echo": ipv4(IP_A, IP_B, PROTO_ICMP, icmp_seeds["echo_request"], df=False),
    "options_router_alert": ipv4(IP_A, IP_B, 2, b"\x11\x64\xee\x9b\x00\x00\x00\x00",
                                 options=b"\x94\x04\x00\x00", ttl=1, tos=0xc0),  # IGMP-like
    "options_max_ihl15": ipv4(IP_A, IP_B, PROTO_UDP, udp(IP_A, IP_B, 1, 2, b""),
                              options=b"\x01" * 39 + b"\x00"),
    "first_fragment": ipv4(IP_A, IP_B, PROTO_UDP, bytes(range(64)), df=False, mf=True, ident=7),
    "last_fragment": ipv4(IP_A, IP_B, PROTO_UDP, bytes(range(24)), df=False, frag=64, ident=7),
    "link_padding": ip_udp + b"\0" * 6,
    "reserved_flag_set": ipv4(IP_A, IP_B, PROTO_ICMP, icmp_seeds["echo_reply"], reserved=True),
    "unknown_protocol": ipv4(IP_A, IP_C, 253, b"experimental"),
    "bad_checksum": ipv4(IP_A, IP_B, PROTO_UDP, udp_seeds["empty_payload"], bad_csum=True),
    "bad_ihl_4": ipv4(IP_A, IP_B, PROTO_UDP, udp_seeds["empty_payload"], ihl=4),
    "bad_total_len_high": ipv4(IP_A, IP_B, PROTO_UDP, udp_seeds["empty_payload"], total_len=1500),
    "bad_total_len_below_ihl": ipv4(IP_A, IP_B, PROTO_UDP, udp_seeds["empty_payload"], total_len=16),
    "bad_ping_of_death": ipv4(IP_A, IP_B, PROTO_ICMP, b"\0" * 64, df=False, frag=65528),
    "bad_version_6": b"\x65" + ip_udp[1:],
    "truncated": ip_udp[:12],
}

arp_req = arp(1, MAC_A, IP_A, b"\0" * 6, IP_B)
arp_seeds = {
    "request": arp_req,
    "reply": arp(2, MAC_B, IP_B, MAC_A, IP_A),
    "gratuitous": arp(1, MAC_B, IP_B, BROADCAST, IP_B),
    "padded_to_46": arp_req + b"\0" * 18,
    "unsupported_ipv6": arp(1, MAC_A, IP_A, b"\0" * 6, IP_B, ptype=ETH_IPV6),
    "unsupported_rarp_op3": arp(3, MAC_A, IP_A, MAC_A, IP_A),
    "bad_hlen": arp(1, MAC_A, IP_A, b"\0" * 6, IP_B, hlen=8),
    "truncated": arp_req[:27],
}

ethernet_seeds = {
    "ipv4": ethernet(MAC_B, MAC_A, ETH_IPV4, ip_udp),
    "arp_broadcast": ethernet(BROADCAST, MAC_A, ETH_ARP, arp_req),
    "vlan_ipv4": ethernet(MAC_B, MAC_A, ETH_IPV4, ip_udp, vlan_tci=0x2064),
    "ipv6_type": ethernet(MAC_B, MAC_A, ETH_IPV6, b"\x60" + b"\0" * 39),
    "header_only": ethernet(MAC_B, MAC_A, ETH_IPV4, b"", pad=False),
    "unsupported_8023_length": ethernet(MAC_B, MAC_A, 46, b"\xaa\xaa\x03" + b"\0" * 43),
    "unsupported_qinq": MAC_B + MAC_A + struct.pack("!HHHH", ETH_QINQ, 10, ETH_VLAN, 20) + ip_udp,
    "unsupported_stacked_vlan": MAC_B + MAC_A + struct.pack("!HHHH", ETH_VLAN, 10, ETH_VLAN, 20) + ip_udp,
    "truncated": (MAC_B + MAC_A)[:10],
    "truncated_vlan": MAC_B + MAC_A + struct.pack("!HH", ETH_VLAN, 1),
}


def frame_ip(payload_ip: bytes, vlan=None) -> bytes:
    return ethernet(MAC_B, MAC_A, ETH_IPV4, payload_ip, vlan_tci=vlan)


frame_seeds = {
    "arp_request": ethernet(BROADCAST, MAC_A, ETH_ARP, arp_req),
    "arp_reply": ethernet(MAC_A, MAC_B, ETH_ARP, arp_seeds["reply"]),
    "icmp_echo_request": frame_ip(ipv4(IP_A, IP_B, PROTO_ICMP, icmp_seeds["echo_request"], df=False)),
    "icmp_echo_empty": frame_ip(ipv4(IP_A, IP_B, PROTO_ICMP, icmp_seeds["echo_empty"])),  # ping -s 0
    "icmp_echo_vlan": frame_ip(ipv4(IP_A, IP_B, PROTO_ICMP, icmp_seeds["echo_request"]), vlan=100),
    "icmp_unreach_udp": frame_ip(ipv4(IP_C, IP_B, PROTO_ICMP, icmp_seeds["unreach_port_udp"])),
    "icmp_param_problem": frame_ip(ipv4(IP_C, IP_B, PROTO_ICMP, icmp_seeds["param_problem_udp"])),
    "icmp_frag_needed_tcp": frame_ip(ipv4(IP_C, IP_B, PROTO_ICMP, icmp_seeds["unreach_frag_needed"])),
    "udp_dns": frame_ip(ip_udp),
    "udp_padded_min_frame": frame_ip(ipv4(IP_A, IP_B, PROTO_UDP, udp_seeds["empty_payload"])),
    "udp_full_mtu": frame_ip(ipv4(IP_A, IP_B, PROTO_UDP, udp(IP_A, IP_B, 9000, 9001, bytes(1472)))),
    "tcp_syn": frame_ip(ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["syn"])),
    "tcp_synack": frame_ip(ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["synack"])),
    "tcp_data": frame_ip(ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["data_psh"])),
    "tcp_sack": frame_ip(ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["ack_sack"])),
    "tcp_rst": frame_ip(ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["rst"])),
    "ip_options_tcp": frame_ip(ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["ack_ts"], options=b"\x01\x01\x01\x00")),
    "ip_fragment": frame_ip(ipv4_seeds["first_fragment"]),
    "bad_ip_checksum": frame_ip(ipv4_seeds["bad_checksum"]),
    "bad_tcp_checksum": frame_ip(ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["bad_checksum"])),
    "bad_tcp_option": frame_ip(ipv4(IP_A, IP_B, PROTO_TCP, tcp_seeds["bad_option_len"])),
    "bad_udp_length": frame_ip(ipv4(IP_A, IP_B, PROTO_UDP, udp_seeds["bad_length_long"])),
    "bad_ip_total_len": frame_ip(ipv4_seeds["bad_total_len_high"]),
    "truncated_ip": ethernet(MAC_B, MAC_A, ETH_IPV4, ip_udp[:30], pad=False),
}

CORPUS = {
    "fuzz_ethernet": ethernet_seeds,
    "fuzz_arp": arp_seeds,
    "fuzz_ipv4": ipv4_seeds,
    "fuzz_icmp": icmp_seeds,
    "fuzz_udp": udp_seeds,
    "fuzz_tcp": tcp_seeds,
    "fuzz_tcp_options": tcp_options,
    "fuzz_frame": frame_seeds,
}


def main() -> int:
    out_root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    total = 0
    for target, seeds in CORPUS.items():
        d = os.path.join(out_root, target)
        os.makedirs(d, exist_ok=True)
        # Only the seeds generated here; crash reproducers (crash_*.bin) are kept.
        for old in os.listdir(d):
            if old.endswith(".bin") and not old.startswith("crash_"):
                os.remove(os.path.join(d, old))
        for name, data in seeds.items():
            with open(os.path.join(d, name + ".bin"), "wb") as f:
                f.write(data)
            total += len(data)
        print(f"{target}: {len(seeds)} seeds")
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
