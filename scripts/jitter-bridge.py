#!/usr/bin/env python3
"""jitter-bridge.py: a two-port Ethernet bridge in user space that delays chosen UDP packets.

Usage: jitter-bridge.py IF_A IF_B --udp-dport PORT [--base-ms 20] [--jitter-ms 30]
                        [--spike-pct 6] [--spike-ms 90] [--seed 1] [--duration 20]

Every frame that arrives on one interface leaves by the other one unchanged (ARP, SIP, RTP
the other way). IPv4 UDP frames to PORT are held for base + U(0, jitter) ms, and SPIKE-PCT %
of them for base + U(0, spike) ms instead, then sent: what a congested access link does to
one direction of a call. Each frame's delay is drawn independently, so late frames can be
overtaken (as with `tc netem delay ... distribution`). The delays come from a PRNG seeded
with --seed, so two runs draw the same sequence of delays (the kernel's scheduling adds
well under a millisecond).

Why not netem: the kernels this project's samples are made on (Firecracker guests) have
no sch_netem, the same reason the loss samples drop with nftables instead. Run it in a
namespace of its own between the two hosts' namespaces (scripts/make-samples.sh,
quality-jitter): nothing else is bridged, and it stops after --duration seconds or at
SIGTERM. At most 4,096 frames wait at once (more are dropped and counted on stderr).
"""
import argparse
import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MAX_HELD = 4096


def wanted(frame, port):
    """True for an IPv4 UDP frame (no VLAN tag) whose destination port is PORT."""
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        return False
    ihl = (frame[14] & 0x0F) * 4
    if frame[14 + 9] != 17 or len(frame) < 14 + ihl + 8:
        return False
    (dport,) = struct.unpack_from("!H", frame, 14 + ihl + 2)
    return dport == port


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("if_a")
    ap.add_argument("if_b")
    ap.add_argument("--udp-dport", type=int, required=True)
    ap.add_argument("--base-ms", type=float, default=20.0)
    ap.add_argument("--jitter-ms", type=float, default=30.0)
    ap.add_argument("--spike-pct", type=float, default=6.0)
    ap.add_argument("--spike-ms", type=float, default=90.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=20.0)
    args = ap.parse_args()
    if not 0 < args.duration <= 120:
        sys.exit("jitter-bridge: --duration must be in (0, 120] seconds")

    rng = random.Random(args.seed)
    socks = {}
    for name in (args.if_a, args.if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        socks[name] = s
    other = {args.if_a: socks[args.if_b], args.if_b: socks[args.if_a]}
    by_fd = {s.fileno(): name for name, s in socks.items()}

    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    end = time.monotonic() + args.duration
    held = []  # (due, seq, out socket, frame)
    seq = delayed = dropped = 0
    print("jitter-bridge: ready", flush=True)
    while not stop[0] and time.monotonic() < end:
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, _, out, frame = heapq.heappop(held)
            out.send(frame)
        timeout = max(0.0, min(held[0][0] - now if held else 0.05, 0.05))
        ready, _, _ = select.select(list(socks.values()), [], [], timeout)
        for s in ready:
            name = by_fd[s.fileno()]
            while True:
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own send, seen again on the way out
                if wanted(frame, args.udp_dport):
                    if len(held) >= MAX_HELD:
                        dropped += 1
                        continue
                    spike = rng.random() * 100 < args.spike_pct
                    extra = rng.uniform(0, args.spike_ms if spike else args.jitter_ms)
                    due = time.monotonic() + (args.base_ms + extra) / 1000
                    seq += 1
                    delayed += 1
                    heapq.heappush(held, (due, seq, other[name], frame))
                else:
                    other[name].send(frame)
    for _, _, out, frame in sorted(held):
        out.send(frame)
    print(f"jitter-bridge: {delayed} frames delayed, {dropped} dropped (queue full)", file=sys.stderr)


if __name__ == "__main__":
    main()
