#!/usr/bin/env python3
"""Write samples/rtcp-xr.pcap: one SIP call whose RTCP carries RTCP-XR, crafted byte by
byte because no program packaged in Debian sends XR VoIP metrics (baresip 1.0's libre
sends SR/RR/SDES/BYE/APP only; see samples/README.md).

usage: scripts/make-rtcp-xr.py OUT.pcap

Deterministic (fixed times, SSRCs and contents). What it holds, with the figures the
tests read back:
  * SIP over UDP: INVITE (SDP, a=rtcp-rsize), 200 OK (SDP), ACK, then BYE, 200 OK;
    caller 10.254.99.1 (RTP 20000, RTCP 20001), callee 10.254.99.2 (30000/30001).
  * 160 PCMU packets each way, 20 ms apart; the callee's packets 40, 41 and 90 are
    missing (3 lost, as the caller's report blocks say).
  * RTCP, each compound SR + SDES (RFC 3550 §6.1) unless said otherwise:
    t=1.500 caller: SR (block on the callee: 7/256 lost, 2 cumulative, jitter 24) +
            SDES (CNAME, NAME, TOOL) + XR RRTR (RFC 3611 §4.4);
    t=1.530 callee: SR (block on the caller: 0 lost, jitter 16, LSR of that SR, DLSR
            10 ms: RTT 20 ms at the capture point) + SDES + XR DLRR (§4.5, the same 20 ms);
    t=2.200 caller: reduced-size RTPFB generic NACK alone (RFC 5506, RFC 4585 §6.2.1);
    t=2.500 callee: an XR whose block overruns the packet (counted as malformed);
    t=3.000 caller: SR (block: 3/256 lost, 3 cumulative, jitter 32) + SDES + XR VoIP
            Metrics (§4.7: loss 5/256, R 88, MOS-LQ 4.2, MOS-CQ 4.1, ...) and
            (its block echoes the callee's SR with DLSR 1.45 s: RTT 20 ms)
            Statistics Summary (§4.6: 3 lost in 0..146, jitter 8/40/24/6);
    t=3.400 both: SR + SDES + BYE.
"""
import struct
import sys

T0 = 1767225600  # 2026-01-01T00:00:00Z
NTP_OFFSET = 2208988800
A, B = "10.254.99.1", "10.254.99.2"
SSRC_A, SSRC_B = 0xA11CE001, 0xB0B0B002
LOST_B = {40, 41, 90}


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(src, sport, dst, dport, payload, ident):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(udp))
    c = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64, 17, 0,
                      ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    mac_a, mac_b = bytes.fromhex("02000000a001"), bytes.fromhex("02000000b002")
    eth = (mac_b + mac_a if src == A else mac_a + mac_b) + b"\x08\x00"
    return eth + hdr + udp


def ntp(t):
    secs = T0 + t + NTP_OFFSET
    whole = int(secs)
    return (whole << 32) | int(round((secs - whole) * (1 << 32)))


def mid(n):
    return (n >> 16) & 0xFFFFFFFF


def rtcp(pt, count, body):
    assert len(body) % 4 == 0
    return struct.pack("!BBH", 0x80 | count, pt, len(body) // 4) + body


def block(ssrc, frac, cum, high, jitter, lsr, dlsr):
    return struct.pack("!IIIIII", ssrc, (frac << 24) | (cum & 0xFFFFFF), high, jitter, lsr, dlsr)


def sr(ssrc, t, rtp_ts, pkts, blocks):
    n = ntp(t)
    body = struct.pack("!IIIIII", ssrc, n >> 32, n & 0xFFFFFFFF, rtp_ts, pkts, pkts * 160)
    return rtcp(200, len(blocks), body + b"".join(blocks)), n


def sdes(ssrc, items):
    chunk = struct.pack("!I", ssrc)
    for kind, text in items:
        chunk += bytes([kind, len(text)]) + text
    chunk += b"\0"
    chunk += b"\0" * (-len(chunk) % 4)
    return rtcp(202, 1, chunk)


def xr(ssrc, blocks):
    return rtcp(207, 0, struct.pack("!I", ssrc) + b"".join(blocks))


def xr_block(bt, ts, body):
    return struct.pack("!BBH", bt, ts, len(body) // 4) + body


def sdp(ip, port, sess):
    return ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-rsize\r\na=sendrecv\r\n"
            % (sess, ip, ip, port))


def sip(start, hdrs, body=""):
    h = start + "\r\n" + "".join("%s: %s\r\n" % kv for kv in hdrs)
    if body:
        h += "Content-Type: application/sdp\r\n"
    h += "Content-Length: %d\r\n\r\n" % len(body.encode())
    return (h + body).encode()


def main():
    out = sys.argv[1]
    frames = []  # (t, src, sport, dst, dport, payload)
    cid = "rtcp-xr-1@10.254.99.1"
    common = lambda cseq: [("From", "<sip:alice@10.254.99.1>;tag=a1"), ("Call-ID", cid),
                           ("CSeq", cseq), ("Max-Forwards", "70")]
    via = ("Via", "SIP/2.0/UDP 10.254.99.1:5060;branch=z9hG4bK-xr-")
    to = ("To", "<sip:bob@10.254.99.2>")
    to_t = ("To", "<sip:bob@10.254.99.2>;tag=b1")
    sa = sdp(A, 20000, 1001)
    sb = sdp(B, 30000, 2002)
    frames.append((0.0, A, 5060, B, 5060, sip("INVITE sip:bob@10.254.99.2 SIP/2.0",
        [(via[0], via[1] + "1")] + common("1 INVITE")[:1] + [to] + common("1 INVITE")[1:]
        + [("Contact", "<sip:alice@10.254.99.1:5060>")], sa)))
    frames.append((0.05, B, 5060, A, 5060, sip("SIP/2.0 200 OK",
        [(via[0], via[1] + "1")] + common("1 INVITE")[:1] + [to_t] + common("1 INVITE")[1:3]
        + [("Contact", "<sip:bob@10.254.99.2:5060>")], sb)))
    frames.append((0.06, A, 5060, B, 5060, sip("ACK sip:bob@10.254.99.2:5060 SIP/2.0",
        [(via[0], via[1] + "2")] + common("1 ACK")[:1] + [to_t] + common("1 ACK")[1:])))
    for i in range(160):
        t = 0.1 + i * 0.02
        for src, sport, dst, dport, ssrc, off, pay in ((A, 20000, B, 30000, SSRC_A, 0, 0xFF),
                                                        (B, 30000, A, 20000, SSRC_B, 0.004, 0x7F)):
            if ssrc == SSRC_B and i in LOST_B:
                continue
            rtp = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0, 1000 + i, 8000 + i * 160,
                              ssrc) + bytes([pay]) * 160
            frames.append((t + off, src, sport, dst, dport, rtp))
    # t=1.5 caller: SR + SDES + XR RRTR
    c1, n_a1 = sr(SSRC_A, 1.5, 8000 + 70 * 160, 70, [block(SSRC_B, 7, 2, 1069, 24, 0, 0)])
    c1 += sdes(SSRC_A, [(1, b"alice@10.254.99.1"), (2, b"Alice"), (6, b"make-rtcp-xr.py")])
    c1 += xr(SSRC_A, [xr_block(4, 0, struct.pack("!Q", n_a1))])
    frames.append((1.5, A, 20001, B, 30001, c1))
    # t=1.53 callee: SR (block on caller echoing it, DLSR 10 ms) + SDES + XR DLRR
    dlsr = 655  # 10 ms in 1/65536 s
    c2, n_b1 = sr(SSRC_B, 1.53, 8000 + 71 * 160, 69,
                  [block(SSRC_A, 0, 0, 1071, 16, mid(n_a1), dlsr)])
    c2 += sdes(SSRC_B, [(1, b"bob@10.254.99.2"), (6, b"make-rtcp-xr.py")])
    c2 += xr(SSRC_B, [xr_block(5, 0, struct.pack("!III", SSRC_A, mid(n_a1), dlsr))])
    frames.append((1.53, B, 30001, A, 20001, c2))
    # t=2.2 caller: reduced-size generic NACK for packet 1041 (RFC 5506)
    frames.append((2.2, A, 20001, B, 30001,
                   rtcp(205, 1, struct.pack("!IIHH", SSRC_A, SSRC_B, 1041, 0))))
    # t=2.5 callee: XR whose VoIP block claims 8 words and carries 2: malformed
    bad = xr(SSRC_B, [struct.pack("!BBH", 7, 0, 8) + struct.pack("!II", SSRC_A, 0)])
    frames.append((2.5, B, 30001, A, 20001, bad))
    # t=3.0 caller: SR + SDES + XR VoIP Metrics and Statistics Summary on the callee
    c3, _ = sr(SSRC_A, 3.0, 8000 + 145 * 160, 145,
               [block(SSRC_B, 3, 3, 1145, 32, mid(n_b1), int(1.45 * 65536))])
    c3 += sdes(SSRC_A, [(1, b"alice@10.254.99.1")])
    voip = struct.pack("!IBBBBHHHHbbBBBBBBBBHHH", SSRC_B, 5, 0, 0, 5, 0, 2900, 20, 60,
                       -20, -70, 127, 16, 88, 127, 42, 41, 0xC0, 0, 40, 80, 200)
    summary = struct.pack("!IHHIIIIIIBBBB", SSRC_B, 1000, 1146, 3, 0, 8, 40, 24, 6, 0, 0, 0, 0)
    c3 += xr(SSRC_A, [xr_block(7, 0, voip), xr_block(6, 0xE0, summary)])
    frames.append((3.0, A, 20001, B, 30001, c3))
    # t=3.4: BYE (SIP) and RTCP BYE from both
    frames.append((3.4, A, 5060, B, 5060, sip("BYE sip:bob@10.254.99.2:5060 SIP/2.0",
        [(via[0], via[1] + "3")] + common("2 BYE")[:1] + [to_t] + common("2 BYE")[1:])))
    for src, sport, dst, dport, ssrc, name in ((A, 20001, B, 30001, SSRC_A, b"alice@10.254.99.1"),
                                               (B, 30001, A, 20001, SSRC_B, b"bob@10.254.99.2")):
        c, _ = sr(ssrc, 3.401, 8000 + 160 * 160, 160 if ssrc == SSRC_A else 157, [])
        c += sdes(ssrc, [(1, name)]) + rtcp(203, 1, struct.pack("!I", ssrc))
        frames.append((3.401 if ssrc == SSRC_A else 3.402, src, sport, dst, dport, c))
    frames.append((3.41, B, 5060, A, 5060, sip("SIP/2.0 200 OK",
        [(via[0], via[1] + "3")] + common("2 BYE")[:1] + [to_t] + common("2 BYE")[1:3])))
    frames.sort(key=lambda f: f[0])
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, (t, src, sport, dst, dport, payload) in enumerate(frames):
            data = udp_frame(src, sport, dst, dport, payload, n + 1)
            us = int(round(t * 1e6))
            f.write(struct.pack("<IIII", T0 + us // 1000000, us % 1000000, len(data), len(data)))
            f.write(data)


if __name__ == "__main__":
    main()
