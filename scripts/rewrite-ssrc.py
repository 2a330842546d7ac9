#!/usr/bin/env python3
"""Copy an Ethernet/IPv4/UDP/RTP pcap (such as sip-tester's g711a.pcap),
replacing the RTP SSRC, so the two directions of a SIPp call that both play
the same file carry different synchronization sources (RFC 3550 section 8).
The UDP checksum is zeroed (allowed over IPv4, RFC 768); SIPp rewrites the
addresses and ports on playback anyway.
usage: rewrite-ssrc.py IN.pcap OUT.pcap SSRC_HEX
"""
import struct
import sys


def main(src, dst, ssrc_hex):
    ssrc = struct.pack("!I", int(ssrc_hex, 16))
    data = bytearray(open(src, "rb").read())
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    if struct.unpack(endian + "I", data[20:24])[0] != 1:
        sys.exit("rewrite-ssrc: not an Ethernet pcap")
    off, n = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        pkt = off + 16
        if data[pkt + 12:pkt + 14] == b"\x08\x00":
            ip = pkt + 14
            udp = ip + (data[ip] & 0x0F) * 4
            if data[ip + 9] == 17 and udp + 20 <= pkt + incl and data[udp + 8] >> 6 == 2:
                data[udp + 6:udp + 8] = b"\x00\x00"
                data[udp + 16:udp + 20] = ssrc
                n += 1
        off = pkt + incl
    if n == 0:
        sys.exit("rewrite-ssrc: no RTP packet found")
    open(dst, "wb").write(data)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
