#!/usr/bin/env python3
"""A SIP over WebSocket client (RFC 7118) for the ws-call sample: registers
alice, calls sip:service@HOST (INVITE with SDP, ACK, BYE) and closes. Also
the wss-call sample's client: with a wss:// URL it talks SIP over secure
WebSocket (transport WSS in Via and Contact, RFC 7118 §5.2) over TLS, does not
verify the server's (self-signed) certificate, and with --keylog FILE writes
the TLS session's secrets in the NSS key log format (Python's
ssl.SSLContext.keylog_filename); --tls13 allows TLS 1.3 only.

It writes what a browser client (SIP.js, JsSIP) writes: a "*.invalid" host in
Via and Contact (RFC 7118 §5.2), transport WS, one SIP message per WebSocket
message. For the parser it also sends the INVITE as a fragmented message
(three frames, RFC 6455 §5.4) with a ping control frame between the first two
fragments, and one ping on its own. Every wait is bounded.

Needs the Python websockets package (Debian python3-websockets).
usage: ws-sip-client.py ws://HOST:PORT/ [HOLD_SECONDS]
       ws-sip-client.py wss://HOST:PORT/ [HOLD_SECONDS] [--keylog FILE] [--tls13]
"""
import argparse
import asyncio
import ssl
import urllib.parse

import websockets

HOST = "df7jal23ls0d.invalid"  # the RFC 7118 §8 example host
TIMEOUT = 5
TRANSPORT = "WS"  # "WSS" for a wss:// URL


def request(method, uri, cseq, call_id, from_tag, to="", extra=(), body=""):
    to_uri = "sip:service@" + TARGET if method != "REGISTER" else "sip:alice@" + TARGET
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/{TRANSPORT} {HOST};branch=z9hG4bK{method.lower()}{cseq}{from_tag};rport",
        "Max-Forwards: 70",
        f"From: <sip:alice@{TARGET}>;tag={from_tag}",
        f"To: <{to_uri}>{to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:alice@{HOST};transport={TRANSPORT.lower()}>",
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


def tls_context(keylog, tls13):
    """A client context that accepts any certificate (the samples' are
    self-signed) and logs the session secrets to `keylog`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls13:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if keylog:
        ctx.keylog_filename = keylog
    return ctx


async def main(url, hold, keylog=None, tls13=False):
    global TARGET, TRANSPORT
    parsed = urllib.parse.urlparse(url)
    TARGET = parsed.hostname
    extra = {}
    if parsed.scheme == "wss":
        TRANSPORT = "WSS"
        extra["ssl"] = tls_context(keylog, tls13)
    async with websockets.connect(url, subprotocols=["sip"], ping_interval=None,
                                  compression=None, open_timeout=TIMEOUT,
                                  close_timeout=TIMEOUT, **extra) as ws:
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
    ap = argparse.ArgumentParser(usage=__doc__.rsplit("usage: ", 1)[1])
    ap.add_argument("url")
    ap.add_argument("hold", nargs="?", type=float, default=2.0)
    ap.add_argument("--keylog", help="NSS key log file for a wss:// URL")
    ap.add_argument("--tls13", action="store_true", help="TLS 1.3 only (wss://)")
    args = ap.parse_args()
    if not args.url.startswith(("ws://", "wss://")):
        ap.error("the URL must be ws:// or wss://")
    if (args.keylog or args.tls13) and not args.url.startswith("wss://"):
        ap.error("--keylog and --tls13 need a wss:// URL")
    asyncio.run(asyncio.wait_for(main(args.url, args.hold, args.keylog, args.tls13), 30))
