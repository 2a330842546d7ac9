#!/usr/bin/env python3
"""Symmetric RTP with latching, as a media server or SBC behind a public
address does it for NATed callers: bind BIND_IP:PORT, wait for the first
packet from the far end, then send the RTP of AUDIO.pcap (Ethernet/IPv4/UDP,
such as audio-uas.pcap) from that same socket to wherever the far end's RTP
comes from (re-latching if that source changes), at the pace of the pcap's
timestamps. The SDP address the far end advertised is never used.
Prints "ready" once bound and "latched IP:PORT" when it latches.
usage: rtp-latch.py BIND_IP PORT AUDIO.pcap WAIT_SECONDS
"""
import select
import socket
import struct
import sys
import time


def rtp_payloads(path):
    """(relative time, UDP payload) of every IPv4/UDP packet of an Ethernet pcap."""
    data = open(path, "rb").read()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    off, out, t0 = 24, [], None
    while off + 16 <= len(data):
        sec, frac, incl = struct.unpack(endian + "III", data[off:off + 12])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        if len(pkt) < 42 or pkt[12:14] != b"\x08\x00" or pkt[23] != 17:
            continue
        udp = 14 + (pkt[14] & 0x0F) * 4
        if t0 is None:
            t0 = t
        out.append((t - t0, pkt[udp + 8:]))
    return out


def main(ip, port, audio, wait):
    packets = rtp_payloads(audio)
    if not packets:
        sys.exit("rtp-latch: no UDP packet in " + audio)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    print("ready", flush=True)
    deadline = time.monotonic() + float(wait)
    peer = None
    while peer is None:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            sys.exit("rtp-latch: no packet to latch on")
        _, peer = s.recvfrom(2048)
    print("latched %s:%d" % peer, flush=True)
    start = time.monotonic()
    for t, payload in packets:
        while True:
            left = start + t - time.monotonic()
            if left <= 0:
                break
            if select.select([s], [], [], left)[0]:
                _, src = s.recvfrom(2048)
                if src != peer:
                    peer = src
                    print("re-latched %s:%d" % peer, flush=True)
        s.sendto(payload, peer)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
