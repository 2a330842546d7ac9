#!/usr/bin/env python3
"""Print a SIP Identity header value (RFC 8224, full form) holding a
STIR/SHAKEN PASSporT (RFC 8225/8588) signed ES256 with an EC P-256 PEM key:
header {"alg":"ES256","ppt":"shaken","typ":"passport","x5u":X5U}, claims
{"attest":"A","dest":{"tn":[DEST]},"iat":now,"orig":{"tn":ORIG},"origid":uuid}.
The signature is checked with the public key before printing.
usage: passport.py KEY.pem ORIG_TN DEST_TN X5U
"""
import base64
import json
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main(key_path, orig, dest, x5u):
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        sys.exit("passport: need an EC P-256 key")
    hdr = {"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": x5u}
    claims = {"attest": "A", "dest": {"tn": [dest]}, "iat": int(time.time()),
              "orig": {"tn": orig}, "origid": str(uuid.uuid4())}
    # RFC 8225 section 9: keys in lexicographic order, no whitespace
    enc = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":")).encode()
    signing_input = (b64u(enc(hdr)) + "." + b64u(enc(claims))).encode()
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS ES256: R || S (RFC 7518 3.4)
    key.public_key().verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    print("%s.%s;info=<%s>;alg=ES256;ppt=shaken" % (signing_input.decode(), b64u(sig), x5u))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
