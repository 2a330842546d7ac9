#!/usr/bin/env python3
"""Write a capture repeated K times back to back, each copy with its own Call-IDs.

The "signaling x10" workload of benches/workloads.sh. `editcap -t` + `mergecap -a` would
repeat the file too, but every copy would carry the same Call-IDs, so an analyzer would
see each call ten times over instead of ten times as many calls. Here copy k (k >= 1) has
every Call-ID header (`Call-ID:` or compact `i:`) of its SIP datagrams prefixed with
`rK-`, and its timestamps shifted by k times (the input's span + --gap seconds).

Classic pcap in (either byte order, microsecond or nanosecond timestamps; tcpdump -w
writes it); Ethernet (LINKTYPE 1) or Linux cooked (113) framing of IPv4/UDP datagrams is
rewritten (IP total length and header checksum, UDP length; the UDP checksum is set to 0,
"none" in RFC 768); every other frame is copied as it is. Standard library only; the
input is read once per copy, so memory stays flat. K is bounded by --max.
"""

import argparse
import re
import struct
import sys

CALL_ID = re.compile(rb"(?im)^(call-id|i)([ \t]*:[ \t]*)")
ETHERTYPE_IPV4 = 0x0800
VLAN_TAGS = (0x8100, 0x88A8)


def ip_checksum(header: bytes) -> int:
    s = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def read_records(path):
    """Yields (endian, header bytes) first, then (ts_sec, ts_frac, orig_len, data)."""
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24:
            raise SystemExit(f"repeat.py: {path}: not a pcap file")
        magic = gh[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = ">"
        else:
            raise SystemExit(f"repeat.py: {path}: not a classic pcap file (pcapng? use editcap -F pcap)")
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        yield e, nano, gh
        rh = struct.Struct(e + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            s, frac, incl, orig = rh.unpack(h)
            data = f.read(incl)
            if len(data) < incl:
                return
            yield s, frac, orig, data


def ipv4_offset(linktype: int, data: bytes):
    """Offset of the IPv4 header in a frame, or None."""
    if linktype == 1:
        off, et = 14, int.from_bytes(data[12:14], "big") if len(data) >= 14 else 0
        while et in VLAN_TAGS and len(data) >= off + 4:
            et = int.from_bytes(data[off + 2 : off + 4], "big")
            off += 4
    elif linktype == 113:
        off, et = 16, int.from_bytes(data[14:16], "big") if len(data) >= 16 else 0
    else:
        return None
    return off if et == ETHERTYPE_IPV4 else None


def rewrite(linktype: int, data: bytes, prefix: bytes):
    """The frame with its SIP Call-IDs prefixed, or None when it has none to rewrite."""
    off = ipv4_offset(linktype, data)
    if off is None or len(data) < off + 20:
        return None
    ihl = (data[off] & 0x0F) * 4
    if data[off] >> 4 != 4 or data[off + 9] != 17 or ihl < 20 or len(data) < off + ihl + 8:
        return None
    if int.from_bytes(data[off + 6 : off + 8], "big") & 0x3FFF:
        return None  # a fragment: left as it is
    udp = off + ihl
    payload = data[udp + 8 :]
    # The headers end at the first empty line; only they are rewritten, never the body.
    end = payload.find(b"\r\n\r\n")
    head = payload if end < 0 else payload[:end]
    if b"SIP/2.0" not in head[:256]:
        return None
    new_head, n = CALL_ID.subn(lambda m: m.group(1) + m.group(2) + prefix, head)
    if n == 0:
        return None
    new_payload = new_head + (b"" if end < 0 else payload[end:])
    ip = bytearray(data[off : off + ihl])
    struct.pack_into("!H", ip, 2, ihl + 8 + len(new_payload))
    struct.pack_into("!H", ip, 10, 0)
    struct.pack_into("!H", ip, 10, ip_checksum(bytes(ip)))
    udph = bytearray(data[udp : udp + 8])
    struct.pack_into("!HH", udph, 4, 8 + len(new_payload), 0)
    return data[:off] + bytes(ip) + bytes(udph) + new_payload


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="classic pcap file")
    ap.add_argument("output", help="pcap file to write")
    ap.add_argument("-k", "--copies", type=int, default=10, help="copies (default 10)")
    ap.add_argument("--gap", type=float, default=1.0, help="seconds between copies (default 1)")
    ap.add_argument("--max", type=int, default=100, help="refuse more copies than this (default 100)")
    args = ap.parse_args()
    if not 1 <= args.copies <= args.max:
        ap.error(f"--copies must be 1..{args.max}")

    # First pass: the span of the input, to shift each copy past the previous one.
    it = read_records(args.input)
    e, nano, gh = next(it)
    unit = 1_000_000_000 if nano else 1_000_000
    first = last = None
    for s, frac, _, _ in it:
        t = s * unit + frac
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
    if first is None:
        raise SystemExit(f"repeat.py: {args.input}: no packets")
    shift = last - first + int(args.gap * unit)
    linktype = struct.unpack(e + "I", gh[20:24])[0]
    if linktype not in (1, 113):
        print(f"repeat.py: link type {linktype}: frames copied without new Call-IDs", file=sys.stderr)

    rh = struct.Struct(e + "IIII")
    frames = rewritten = 0
    with open(args.output, "wb") as out:
        out.write(gh)
        for k in range(args.copies):
            prefix = b"r%d-" % k
            it = read_records(args.input)
            next(it)
            buf = []
            for s, frac, orig, data in it:
                t = s * unit + frac + k * shift
                if k > 0:
                    new = rewrite(linktype, data, prefix)
                    if new is not None:
                        orig += len(new) - len(data)
                        data = new
                        rewritten += 1
                buf.append(rh.pack(t // unit, t % unit, len(data), orig))
                buf.append(data)
                frames += 1
                if len(buf) >= 8192:
                    out.write(b"".join(buf))
                    buf.clear()
            out.write(b"".join(buf))
    print(
        f"repeat.py: {args.copies} copies, {frames} frames ({rewritten} with new Call-IDs) -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
