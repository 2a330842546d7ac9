#!/usr/bin/env python3
"""Check every Digest Authorization / Proxy-Authorization header in a capture
against a password (RFC 2617 section 3.2.2, MD5, qop=auth or none), and that
its uri equals the Request-URI (RFC 3261 section 22.4). Exits 1 on mismatch or
when no credentials are found.
usage: check-digest.py CAPTURE PASSWORD
"""
import hashlib
import re
import subprocess
import sys


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def main(path, password):
    out = subprocess.run(
        ["tshark", "-n", "-r", path, "-Y", "sip.Authorization || sip.Proxy-Authorization",
         "-T", "fields", "-E", "separator=\t", "-e", "sip.Method", "-e", "sip.r-uri",
         "-e", "sip.Authorization", "-e", "sip.Proxy-Authorization"],
        check=True, capture_output=True, text=True).stdout.splitlines()
    if not out:
        sys.exit("check-digest: no credentials in %s" % path)
    for line in out:
        method, ruri, auth, pauth = (line.split("\t") + [""] * 4)[:4]
        cred = auth or pauth
        p = dict((k, v1 or v2) for k, v1, v2 in
                 re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', cred.split(None, 1)[1]))
        ha1 = md5("%s:%s:%s" % (p["username"], p["realm"], password))
        ha2 = md5("%s:%s" % (method, p["uri"]))
        if p.get("qop"):
            want = md5(":".join([ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], ha2]))
        else:
            want = md5("%s:%s:%s" % (ha1, p["nonce"], ha2))
        if want != p["response"]:
            sys.exit("check-digest: %s response %s, expected %s" % (method, p["response"], want))
        if p["uri"] != ruri:
            sys.exit("check-digest: %s digest uri %s != Request-URI %s" % (method, p["uri"], ruri))
        print("check-digest: %s %s ok" % (method, "Authorization" if auth else "Proxy-Authorization"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
