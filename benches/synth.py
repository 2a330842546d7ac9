#!/usr/bin/env python3
"""Synthetic captures shaped like the ones benches/bench.sh records with SIPp, written
without SIPp, tcpdump, root or a network namespace (used by benches/profiles.sh to compare
build profiles, where only the same input for every binary matters).

    benches/synth.py rtp OUT.pcap [CALLS [RTP_SECONDS]]   # default 2000 calls, 5 s: ~1.0M packets
    benches/synth.py sig OUT.pcap [CALLS]                 # default 25000 calls: 175,000 SIP messages

rtp: calls start at 40 calls/s; each is INVITE (SDP), 100, 180, 200 (SDP), ACK, then
G.711 A-law RTP both ways every 20 ms, then BYE and 200, so about 200 calls overlap.
sig: media-less calls (the same 7 messages) at 700 calls/s.
All on 127.0.0.1 (SIP 5070 -> 5060), Ethernet, classic pcap, microsecond timestamps.
The sizes are bounded by the arguments (at most 20,000 RTP calls of 60 s).
"""

import heapq
import struct
import sys

ETH = b"\x00" * 12 + b"\x08\x00"
LO = bytes([127, 0, 0, 1])


def ip_checksum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp_frame(sport, dport, payload, ident):
    # UDP checksum 0 (none) is valid over IPv4; the IP header checksum is right.
    ulen = 8 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ident & 0xFFFF, 0x4000, 64, 17, 0, LO, LO)
    hdr = hdr[:10] + struct.pack("!H", ip_checksum(hdr)) + hdr[12:]
    return ETH + hdr + struct.pack("!HHHH", sport, dport, ulen, 0) + payload


def sdp(sess, port):
    body = (
        "v=0\r\n"
        f"o=user1 {sess} {sess} IN IP4 127.0.0.1\r\n"
        "s=-\r\n"
        "c=IN IP4 127.0.0.1\r\n"
        "t=0 0\r\n"
        f"m=audio {port} RTP/AVP 8 101\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
    )
    return body


def sip(first, call, cseq, method, branch, from_tag, to_tag, body=""):
    lines = [
        first,
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{branch}",
        f"From: sipp <sip:sipp@127.0.0.1:5070>;tag={from_tag}",
        "To: service <sip:service@127.0.0.1:5060>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call}",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:sipp@127.0.0.1:5070;transport=UDP>",
        "Max-Forwards: 70",
        "User-Agent: siplens-synth",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def call_messages(i, t0, talk_us, uac_port, uas_port):
    """(time_us, sport, dport, payload) of one call's SIP messages."""
    call = f"{i + 1}-synth@127.0.0.1"
    ft, tt = f"{i + 1}SIPpTag00", f"{i + 1}SIPpTag01"
    inv = "INVITE sip:service@127.0.0.1:5060 SIP/2.0"
    uac_sdp = sdp(1000 + i, uac_port) if uac_port else ""
    uas_sdp = sdp(2000 + i, uas_port) if uas_port else ""
    out = [
        (t0, 5070, 5060, sip(inv, call, 1, "INVITE", f"{i}-0", ft, "", uac_sdp)),
        (t0 + 300, 5060, 5070, sip("SIP/2.0 100 Trying", call, 1, "INVITE", f"{i}-0", ft, "")),
        (t0 + 1400, 5060, 5070, sip("SIP/2.0 180 Ringing", call, 1, "INVITE", f"{i}-0", ft, tt)),
        (t0 + 2600, 5060, 5070, sip("SIP/2.0 200 OK", call, 1, "INVITE", f"{i}-0", ft, tt, uas_sdp)),
        (t0 + 2700, 5070, 5060, sip("ACK sip:service@127.0.0.1:5060 SIP/2.0", call, 1, "ACK", f"{i}-1", ft, tt)),
    ]
    bye = t0 + 2800 + talk_us
    out.append((bye, 5070, 5060, sip("BYE sip:service@127.0.0.1:5060 SIP/2.0", call, 2, "BYE", f"{i}-2", ft, tt)))
    out.append((bye + 100, 5060, 5070, sip("SIP/2.0 200 OK", call, 2, "BYE", f"{i}-2", ft, tt)))
    return out


def rtp_stream(t0, count, sport, dport, ssrc):
    payload = b"\xd5" * 160
    for k in range(count):
        hdr = struct.pack("!BBHII", 0x80, 8 | (0x80 if k == 0 else 0), k & 0xFFFF, (k * 160) & 0xFFFFFFFF, ssrc)
        yield (t0 + k * 20_000, sport, dport, hdr + payload)


def write(path, events):
    """Writes (time_us, sport, dport, payload) events, already in time order."""
    n = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        base = 1_700_000_000 * 1_000_000
        for t, sp, dp, payload in events:
            frame = udp_frame(sp, dp, payload, n)
            ts = base + t
            f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)))
            f.write(frame)
            n += 1
    return n


def rtp_capture(path, calls, secs):
    per_dir = secs * 50
    streams = []
    for i in range(calls):
        t0 = i * 25_000  # 40 calls/s
        # Media ports unique among the ~200 calls that overlap.
        uac, uas = 10000 + 2 * (i % 4000), 20000 + 2 * (i % 4000)
        streams.append(iter(call_messages(i, t0, per_dir * 20_000, uac, uas)))
        streams.append(rtp_stream(t0 + 2800, per_dir, uac, uas, 0x10000000 + i))
        streams.append(rtp_stream(t0 + 2900, per_dir, uas, uac, 0x20000000 + i))
    return write(path, heapq.merge(*streams, key=lambda e: e[0]))


def sig_capture(path, calls):
    streams = [iter(call_messages(i, i * 1_000_000 // 700, 2_000_000, 0, 0)) for i in range(calls)]
    return write(path, heapq.merge(*streams, key=lambda e: e[0]))


def main(argv):
    if len(argv) < 3 or argv[1] not in ("rtp", "sig"):
        sys.exit(__doc__)
    kind, path = argv[1], argv[2]
    if kind == "rtp":
        calls = min(int(argv[3]) if len(argv) > 3 else 2000, 20000)
        secs = min(int(argv[4]) if len(argv) > 4 else 5, 60)
        n = rtp_capture(path, calls, secs)
    else:
        calls = min(int(argv[3]) if len(argv) > 3 else 25000, 200000)
        n = sig_capture(path, calls)
    print(f"{path}: {n} packets", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
