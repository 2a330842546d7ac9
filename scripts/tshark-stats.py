#!/usr/bin/env python3
"""Print the tshark reference counts of a capture as one JSON object:
{"frames", "sip_messages", "call_ids", "invite_call_ids", "rtp_packets"}.

SIP is counted per message as tshark dissects it: a message split over IP
fragments or TCP segments counts once (in the reassembled frame), a TCP
segment holding several messages counts each. RTP uses the heuristic
dissector (rtp_udp) besides SDP-set conversations.

WebSocket (RFC 6455): tshark 4.0 dissects each frame of a fragmented message
on its own and finds no SIP in the fragments, so the SIP message such a message
carries (one per WebSocket message, RFC 7118 §5) is not in sip_messages. The
fragmented messages tshark saw end (a continuation frame with FIN) are counted
as "ws_fragmented_messages", a key written only when there are some.
TLS: with --keylog FILE (NSS key log, tshark -o tls.keylog_file:FILE) or
--rsa-key FILE (PEM RSA private key of the TLS servers, tshark's rsa_keys
table: -o 'uat:rsa_keys:"FILE",""'), tshark decrypts TLS and counts the SIP
inside; without them the output is what it always was. Secrets in a pcapng
Decryption Secrets Block are used by tshark without any option.
usage: tshark-stats.py [--keylog FILE] [--rsa-key FILE] CAPTURE
"""
import argparse
import json
import subprocess
import sys

# extra tshark options (TLS keys), set from the command line
OPTS = []


def tshark(path, *args):
    cmd = ["tshark", "-n", "-r", path, "--enable-heuristic", "rtp_udp", *OPTS, *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out.stdout.splitlines()


def main(path):
    frames = len(tshark(path, "-T", "fields", "-e", "frame.number"))
    # SIP quoted inside an ICMP error (port unreachable) is not a message on the wire.
    rows = tshark(path, "-Y", "sip && !icmp && !icmpv6", "-T", "fields", "-E", "separator=\t",
                  "-E", "occurrence=a", "-E", "aggregator=\x1f",
                  "-e", "sip.CSeq.method", "-e", "sip.Call-ID", "-e", "sip.Method")
    sip_messages, call_ids, invite_call_ids = 0, set(), set()
    for row in rows:
        cols = (row.split("\t") + ["", "", ""])[:3]
        methods, cids, reqs = (c.split("\x1f") if c else [] for c in cols)
        sip_messages += len(methods)
        call_ids.update(cids)
        if "INVITE" in reqs:
            invite_call_ids.update(cids)
    # On a port an SDP set up for RTP, tshark's RTP dissector hands DTLS records to DTLS
    # (RFC 7983 demultiplexing) yet the frame still matches "rtp": those are not RTP.
    rtp = len(tshark(path, "-Y", "rtp && !dtls", "-T", "fields", "-e", "frame.number"))
    counts = {"frames": frames, "sip_messages": sip_messages,
              "call_ids": len(call_ids), "invite_call_ids": len(invite_call_ids),
              "rtp_packets": rtp}
    fragmented = len(tshark(path, "-Y", "websocket.opcode == 0 && websocket.fin == 1",
                            "-T", "fields", "-e", "frame.number"))
    if fragmented:
        counts["ws_fragmented_messages"] = fragmented
    print(json.dumps(counts))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(usage=__doc__.rsplit("usage: ", 1)[1].strip())
    ap.add_argument("--keylog", metavar="FILE", help="TLS key log (NSS SSLKEYLOGFILE format)")
    ap.add_argument("--rsa-key", metavar="FILE", help="PEM RSA private key of the TLS servers")
    ap.add_argument("capture")
    a = ap.parse_args()
    if a.keylog:
        OPTS += ["-o", "tls.keylog_file:" + a.keylog]
    if a.rsa_key:
        OPTS += ["-o", 'uat:rsa_keys:"%s",""' % a.rsa_key]
    main(a.capture)
