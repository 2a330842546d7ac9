#!/usr/bin/env python3
"""Userspace GTP-U tunnel between two namespaces, for make-samples.sh.

Stands in for an LTE/5G user plane: the phone side (eNodeB/gNodeB) and the core side
(P-GW/UPF) each own a TUN device carrying an inner IPv6 address, the way an IMS phone's
packets travel. Every IP packet the kernel writes to one TUN is wrapped in a GTP-U G-PDU
(3GPP TS 29.281 §5.1) and sent over a real UDP socket to port 2152 of the other side,
which unwraps it and writes it to its own TUN. tcpdump on the link between the two
therefore sees real GTP-U on the wire.

Uplink G-PDUs (phone to core) carry the E flag with a PDU Session Container extension
header (TS 38.415 §5.5.2, QFI 9), as a 5G N3 interface does; downlink ones carry the S flag
and a sequence number, as many LTE S1-U stacks do: both header layouts end up in the
capture.

usage: gtpu-tunnel.py SECONDS NS_A TUN_A ADDR_A NS_B TUN_B ADDR_B
NS_* are names under /run/netns, TUN_* existing TUN devices (ip tuntap add mode tun),
ADDR_* the IPv4 address each side's UDP socket binds (port 2152). Prints "ready" once both
sides are open; exits by itself after SECONDS.
"""
import ctypes
import fcntl
import os
import select
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
GTPU_PORT = 2152
G_PDU = 0xFF
TEID_UP = 0x00000101
TEID_DOWN = 0x00000202

libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns(%s): %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)


def open_side(ns, tun, addr):
    """TUN fd and UDP socket, both in namespace `ns` (a socket keeps the namespace it
    was created in)."""
    enter_netns(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tun.encode(), IFF_TUN | IFF_NO_PI))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, GTPU_PORT))
    return fd, s


def wrap_up(packet):
    # flags: version 1, PT 1, E; seq 0, N-PDU 0, next extension 0x85 (PDU Session
    # Container), then the container: length 1 unit, PDU type 1 (UL), QFI 9, next 0.
    ext = bytes([0x01, 0x10, 0x09, 0x00])
    rest = struct.pack("!HBB", 0, 0, 0x85) + ext + packet
    return struct.pack("!BBHI", 0x34, G_PDU, len(rest), TEID_UP) + rest


def wrap_down(packet, seq):
    # flags: version 1, PT 1, S; sequence number, N-PDU 0, no extension.
    rest = struct.pack("!HBB", seq & 0xFFFF, 0, 0) + packet
    return struct.pack("!BBHI", 0x32, G_PDU, len(rest), TEID_DOWN) + rest


def unwrap(datagram):
    """The inner packet of a G-PDU we sent, or None."""
    if len(datagram) < 8:
        return None
    flags, mtype, length = struct.unpack("!BBH", datagram[:4])
    if flags & 0xF0 != 0x30 or mtype != G_PDU:
        return None
    off = 8
    if flags & 0x07:
        off = 12
        nxt = datagram[11]
        while nxt and flags & 0x04:
            units = datagram[off]
            off += 4 * units
            nxt = datagram[off - 1]
    return datagram[off : 8 + length]


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    seconds = float(sys.argv[1])
    ns_a, tun_a, addr_a, ns_b, tun_b, addr_b = sys.argv[2:]
    fd_a, s_a = open_side(ns_a, tun_a, addr_a)
    fd_b, s_b = open_side(ns_b, tun_b, addr_b)
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    seq = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([fd_a, fd_b, s_a, s_b], [], [], left)
        for r in ready:
            if r == fd_a:  # phone -> core
                s_a.sendto(wrap_up(os.read(fd_a, 65535)), (addr_b, GTPU_PORT))
            elif r == fd_b:  # core -> phone
                seq += 1
                s_b.sendto(wrap_down(os.read(fd_b, 65535), seq), (addr_a, GTPU_PORT))
            else:
                inner = unwrap(r.recv(65535))
                if inner:
                    os.write(fd_b if r is s_b else fd_a, inner)


if __name__ == "__main__":
    main()
