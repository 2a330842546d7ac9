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
usage: tshark-stats.py CAPTURE
"""
import json
import subprocess
import sys


def tshark(path, *args):
    cmd = ["tshark", "-n", "-r", path, "--enable-heuristic", "rtp_udp", *args]
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
    rtp = len(tshark(path, "-Y", "rtp", "-T", "fields", "-e", "frame.number"))
    counts = {"frames": frames, "sip_messages": sip_messages,
              "call_ids": len(call_ids), "invite_call_ids": len(invite_call_ids),
              "rtp_packets": rtp}
    fragmented = len(tshark(path, "-Y", "websocket.opcode == 0 && websocket.fin == 1",
                            "-T", "fields", "-e", "frame.number"))
    if fragmented:
        counts["ws_fragmented_messages"] = fragmented
    print(json.dumps(counts))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
