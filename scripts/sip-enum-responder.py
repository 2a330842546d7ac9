#!/usr/bin/env python3
"""Minimal SIP registrar stand-in for the scanner-svwar sample (scripts/make-samples.sh).

Answers every request on UDP ADDR:PORT as a PBX that does not hide its users would:
401 with a Digest challenge for the extensions that exist, 404 for the others (this is
what SIPVicious svwar reads to tell them apart). Exits after IDLE seconds without traffic.

usage: sip-enum-responder.py ADDR PORT EXISTING[,EXISTING...] [IDLE]
"""
import re
import socket
import sys

addr, port, existing = sys.argv[1], int(sys.argv[2]), set(sys.argv[3].split(","))
idle = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((addr, port))
sock.settimeout(idle)
COPY = ("via:", "v:", "from:", "f:", "to:", "t:", "call-id:", "i:", "cseq:")
while True:
    try:
        data, peer = sock.recvfrom(65535)
    except socket.timeout:
        break
    text = data.decode("latin1")
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    if not head[0].endswith("SIP/2.0") or head[0].startswith("ACK "):
        continue
    m = re.search(r"^(?:to|t)\s*:[^\r\n]*?sips?:([^@>;]+)@", text, re.M | re.I)
    user = m.group(1) if m else ""
    out = []
    for line in head[1:]:
        low = line.lower().replace(" ", "")
        if low.startswith(COPY):
            if low.startswith(("to:", "t:")) and ";tag=" not in low:
                line += ";tag=enum1"
            out.append(line)
    if user in existing:
        status = "401 Unauthorized"
        out.append('WWW-Authenticate: Digest realm="pbx", nonce="5eed0001", algorithm=MD5')
    else:
        status = "404 Not Found"
    out += ["Server: enum-responder", "Content-Length: 0"]
    reply = "SIP/2.0 %s\r\n%s\r\n\r\n" % (status, "\r\n".join(out))
    sock.sendto(reply.encode("latin1"), peer)
