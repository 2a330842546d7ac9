#!/usr/bin/env python3
"""A SIP over WebSocket client (RFC 7118) for the ws-call sample: registers
alice, calls sip:service@HOST (INVITE with SDP, ACK, BYE) and closes.

It writes what a browser client (SIP.js, JsSIP) writes: a "*.invalid" host in
Via and Contact (RFC 7118 §5.2), transport WS, one SIP message per WebSocket
message. For the parser it also sends the INVITE as a fragmented message
(three frames, RFC 6455 §5.4) with a ping control frame between the first two
fragments, and one ping on its own. Every wait is bounded.

Needs the Python websockets package (Debian python3-websockets).
usage: ws-sip-client.py ws://HOST:PORT/ [HOLD_SECONDS]
"""
import asyncio
import sys
import urllib.parse

import websockets

HOST = "df7jal23ls0d.invalid"  # the RFC 7118 §8 example host
TIMEOUT = 5


def request(method, uri, cseq, call_id, from_tag, to="", extra=(), body=""):
    to_uri = "sip:service@" + TARGET if method != "REGISTER" else "sip:alice@" + TARGET
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/WS {HOST};branch=z9hG4bK{method.lower()}{cseq}{from_tag};rport",
        "Max-Forwards: 70",
        f"From: <sip:alice@{TARGET}>;tag={from_tag}",
        f"To: <{to_uri}>{to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:alice@{HOST};transport=ws>",
        "User-Agent: siplens-samples ws-sip-client",
        *extra,
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def header(msg, name):
    for line in msg.split("\r\n"):
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def headers(msg, name):
    return [line.partition(":")[2].strip() for line in msg.split("\r\n")
            if line.partition(":")[0].strip().lower() == name.lower()]


async def expect(ws, code, method):
    """Reads messages until a final response `code` to `method`."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), TIMEOUT)
        first = msg.split("\r\n", 1)[0]
        if not first.startswith("SIP/2.0 "):
            continue
        status = int(first.split()[1])
        if header(msg, "CSeq").split()[1] != method or status < 200:
            continue
        if status != code:
            raise SystemExit(f"ws-sip-client: {method} got {first}")
        return msg


async def main(url, hold):
    global TARGET
    TARGET = urllib.parse.urlparse(url).hostname
    async with websockets.connect(url, subprotocols=["sip"], ping_interval=None,
                                  compression=None, open_timeout=TIMEOUT,
                                  close_timeout=TIMEOUT) as ws:
        reg = request("REGISTER", f"sip:{TARGET}", 1, "reg-ws-1", "a1reg",
                      extra=["Expires: 600"])
        await ws.send(reg)
        await expect(ws, 200, "REGISTER")
        # A keepalive on its own (RFC 6455 §5.5.2); the pong comes back.
        pong = await ws.ping(b"siplens")
        await asyncio.wait_for(pong, TIMEOUT)

        sdp = ("v=0\r\no=alice 2890844526 2890844526 IN IP4 127.0.0.1\r\ns=-\r\n"
               "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 17000 RTP/AVP 8 101\r\n"
               "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
               "a=sendrecv\r\n")
        call_id = "call-ws-1"
        invite = request("INVITE", f"sip:service@{TARGET}", 1, call_id, "a1call", body=sdp)

        async def fragments():
            # Three frames: a first text frame and two continuations, a ping
            # between the first two (control frames may come between fragments).
            third = len(invite) // 3
            yield invite[:third]
            await ws.ping(b"between fragments")
            yield invite[third:2 * third]
            yield invite[2 * third:]

        await ws.send(fragments())
        ok = await expect(ws, 200, "INVITE")
        to = header(ok, "To")
        tag = to[to.index(";tag="):] if ";tag=" in to else ""
        contact = header(ok, "Contact").strip("<>").split(">")[0]
        routes = []
        for rr in reversed(headers(ok, "Record-Route")):
            routes.extend(reversed([r.strip() for r in rr.split(",")]))
        route = [f"Route: {', '.join(routes)}"] if routes else []
        ack = request("ACK", contact, 1, call_id, "a1call", to=tag, extra=route)
        await ws.send(ack)
        await asyncio.sleep(hold)
        bye = request("BYE", contact, 2, call_id, "a1call", to=tag, extra=route)
        await ws.send(bye)
        await expect(ws, 200, "BYE")
    print("ws-sip-client: done")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    asyncio.run(asyncio.wait_for(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) == 3 else 2.0), 30))
