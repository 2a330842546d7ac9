#!/usr/bin/env python3
"""Write a pcap of an INVITE flood: N unanswered INVITEs, each with its own Call-ID, its
own source address and an SDP offer (G.711, plain RTP), to one server.

The P7 flood workload of benches/workloads.sh (1,000,000 INVITEs, about 520 MB). Standard
library only; the file is written as it is generated (memory stays flat whatever N), and N
is bounded by --max. Deterministic: the same arguments give the same bytes.

Frames are Ethernet/IPv4/UDP (like a tcpdump capture on Linux lo), from 10.a.b.c:5060
(a distinct address per INVITE, 16.7M at most) to 192.0.2.10:5060, at --rate INVITEs a
second of capture time. The Request-URI dials +1555NNNNNNN (NANP, a different number each
time). The UDP checksum is 0 ("none", RFC 768), the IPv4 header checksum is computed.
"""

import argparse
import struct
import sys

LINKTYPE_ETHERNET = 1
SERVER = "192.0.2.10"
MAX_SOURCES = (1 << 24) - 2  # 10.0.0.1 to 10.255.255.254


def ip_checksum(header: bytes) -> int:
    s = sum(struct.unpack("!10H", header))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def invite(i: int, src: str) -> bytes:
    user = 1_000_000 + i % 9_000_000
    body = (
        "v=0\r\n"
        f"o=- {i} {i} IN IP4 {src}\r\n"
        "s=-\r\n"
        f"c=IN IP4 {src}\r\n"
        "t=0 0\r\n"
        f"m=audio {10000 + 2 * (i % 25000)} RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
    )
    head = (
        f"INVITE sip:+1555{user:07d}@{SERVER} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bKfl{i:08x}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:u{i}@{src}>;tag=fl{i:08x}\r\n"
        f"To: <sip:+1555{user:07d}@{SERVER}>\r\n"
        f"Call-ID: flood-{i:08x}@{src}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:u{i}@{src}:5060>\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return (head + body).encode("ascii")


def frame(i: int) -> bytes:
    # 10.0.0.1 upwards: host 10.0.0.0 would be a network address
    a, b, c = ((i + 1) >> 16) & 0xFF, ((i + 1) >> 8) & 0xFF, (i + 1) & 0xFF
    src = f"10.{a}.{b}.{c}"
    payload = invite(i, src)
    udp = struct.pack("!HHHH", 5060, 5060, 8 + len(payload), 0)
    ip = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp) + len(payload),
            i & 0xFFFF,
            0x4000,  # DF: never fragmented
            64,
            17,
            0,
            bytes((10, a, b, c)),
            bytes((192, 0, 2, 10)),
        )
    )
    struct.pack_into("!H", ip, 10, ip_checksum(bytes(ip)))
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + bytes(ip) + udp + payload


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1_000_000, help="INVITEs (default 1000000)")
    ap.add_argument("--rate", type=float, default=10_000.0, help="INVITEs per second (default 10000)")
    ap.add_argument("--start", type=float, default=1_767_225_600.0, help="first timestamp, Unix s")
    ap.add_argument("--max", type=int, default=MAX_SOURCES, help="refuse a --count above this")
    ap.add_argument("-o", "--out", required=True, help="pcap file to write ('-' = stdout)")
    args = ap.parse_args()
    if not 0 < args.count <= min(args.max, MAX_SOURCES):
        ap.error(f"--count must be 1..{min(args.max, MAX_SOURCES)}")
    if args.rate <= 0:
        ap.error("--rate must be positive")
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    # pcap global header: microseconds, snaplen 65535, Ethernet
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
    step_us = 1e6 / args.rate
    start_us = int(args.start * 1e6)
    buf = []
    size = 24
    for i in range(args.count):
        f = frame(i)
        t = start_us + int(i * step_us)
        buf.append(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(f), len(f)))
        buf.append(f)
        size += 16 + len(f)
        if len(buf) >= 8192:
            out.write(b"".join(buf))
            buf.clear()
    out.write(b"".join(buf))
    if out is not sys.stdout.buffer:
        out.close()
    print(f"flood.py: {args.count} INVITEs, {size} bytes -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
