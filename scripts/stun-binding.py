#!/usr/bin/env python3
"""Send one STUN Binding request (RFC 8489 section 6, no attributes) from a
given local address, the way a UA asks for its public address from its RTP
socket before a call, and print the XOR-MAPPED-ADDRESS of the answer.
Used by scripts/make-samples.sh (stun-binding sample): turnutils_stunclient
cannot choose its local port, and the point is that the STUN client address
is the media address the SDP then announces.
usage: stun-binding.py LOCAL_IP:PORT SERVER_IP:PORT
"""
import os
import socket
import struct
import sys

COOKIE = 0x2112A442


def main(local, server):
    lip, lport = local.rsplit(":", 1)
    sip, sport = server.rsplit(":", 1)
    tid = os.urandom(12)
    req = struct.pack("!HHI", 0x0001, 0, COOKIE) + tid
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((lip, int(lport)))
    s.settimeout(0.5)
    for _ in range(5):  # RFC 8489 section 6.2.1 retransmits; same transaction id
        s.sendto(req, (sip, int(sport)))
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        if data[8:20] != tid:
            continue
        off = 20
        while off + 4 <= len(data):
            kind, length = struct.unpack("!HH", data[off:off + 4])
            value = data[off + 4:off + 4 + length]
            if kind == 0x0020 and value[1] == 1:
                port = struct.unpack("!H", value[2:4])[0] ^ (COOKIE >> 16)
                ip = struct.unpack("!I", value[4:8])[0] ^ COOKIE
                print("mapped %s:%d" % (socket.inet_ntoa(struct.pack("!I", ip)), port))
                return 0
            off += 4 + (length + 3) // 4 * 4
        sys.exit("stun-binding: answer without XOR-MAPPED-ADDRESS")
    sys.exit("stun-binding: no answer")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
