#!/usr/bin/env python3
"""Userspace 802.1Q trunk between two TAP devices, for make-samples.sh.

The sample kernel is built without CONFIG_VLAN_8021Q (and without bridge VLAN
filtering or act_vlan), so `ip link add ... type vlan` is not available. This
relay stands in for the two VLAN subinterfaces: each host namespace owns a TAP
device carrying its IP address (the "vethX.100" role); the relay reads the
untagged frames the kernel writes to a TAP, inserts an 802.1Q tag and sends
them on one end of a veth pair (the trunk, "vethX" role) with an AF_PACKET
socket; frames arriving at the other trunk end are untagged and written to the
peer TAP. tcpdump on a trunk end therefore sees real tagged frames on the wire.

usage: vlan-trunk.py VID SECONDS NS_A TAP_A TRUNK_NS TRUNK_A TRUNK_B NS_B TAP_B
Namespaces are names under /run/netns. Exits by itself after SECONDS.
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
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
TPID = 0x8100

libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns(%s): %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def open_trunk(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    return s


def tag(frame, vid):
    return frame[:12] + struct.pack("!HH", TPID, vid & 0x0FFF) + frame[12:]


def untag(frame):
    # The kernel normally moves a received tag into skb metadata before
    # AF_PACKET sees the frame; strip it here too in case it did not.
    if len(frame) >= 18 and struct.unpack("!H", frame[12:14])[0] == TPID:
        return frame[:12] + frame[16:]
    return frame


def main(argv):
    if len(argv) != 10:
        sys.exit(__doc__)
    vid, seconds = int(argv[1]), float(argv[2])
    ns_a, tap_a, ns_t, trunk_a, trunk_b, ns_b, tap_b = argv[3:10]
    enter_netns(ns_a)
    fa = open_tap(tap_a)
    enter_netns(ns_b)
    fb = open_tap(tap_b)
    enter_netns(ns_t)
    sa, sb = open_trunk(trunk_a), open_trunk(trunk_b)
    print("vlan-trunk: ready", flush=True)
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([fa, fb, sa, sb], [], [], left)
        for r in ready:
            if r is fa:
                sa.send(tag(os.read(fa, 65535), vid))
            elif r is fb:
                sb.send(tag(os.read(fb, 65535), vid))
            else:
                data, addr = r.recvfrom(65535)
                if addr[2] == PACKET_OUTGOING:
                    continue
                os.write(fb if r is sb else fa, untag(data))


if __name__ == "__main__":
    main(sys.argv)
