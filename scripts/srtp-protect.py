#!/usr/bin/env python3
"""Turn an Ethernet/IPv4/UDP/RTP pcap (such as the SIPp audio file) into
real SRTP (RFC 3711, AES_CM_128_HMAC_SHA1_80: AES counter mode payload
encryption, 80-bit HMAC-SHA1 tag, ROC 0, key derivation rate 0) with the
master key and salt of an SDES a=crypto inline: value (RFC 4568), so the
sample's media can be decrypted with the key its SDP carries. IP and UDP
lengths and the IP checksum are fixed; the UDP checksum is zeroed (allowed
over IPv4, RFC 768); SIPp rewrites addresses and ports on playback.
usage: srtp-protect.py IN.pcap OUT.pcap INLINE_KEY_BASE64
"""
import base64
import hashlib
import hmac
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def aes_cm(key, iv16, n):
    enc = Cipher(algorithms.AES(key), modes.CTR(iv16)).encryptor()
    return enc.update(b"\x00" * n) + enc.finalize()


def derive(master_key, master_salt, label, n):
    """RFC 3711 section 4.3.1 with kdr = 0: x = key_id XOR master_salt."""
    key_id = bytes([label]) + b"\x00" * 6
    x = bytearray(master_salt)
    for i in range(7):
        x[7 + i] ^= key_id[i]
    return aes_cm(master_key, bytes(x) + b"\x00\x00", n)


def session_keys(master_key, master_salt):
    return (derive(master_key, master_salt, 0, 16), derive(master_key, master_salt, 1, 20),
            derive(master_key, master_salt, 2, 14))


def self_test():
    """RFC 3711 appendix B.3 key derivation test vectors."""
    mk = bytes.fromhex("E1F97A0D3E018BE0D64FA32C06DE4139")
    ms = bytes.fromhex("0EC675AD498AFEEBB6960B3AABE6")
    ck, ak, sk = session_keys(mk, ms)
    assert ck == bytes.fromhex("C61E7A93744F39EE10734AFE3FF7A087"), ck.hex()
    assert sk == bytes.fromhex("30CBBC08863D8C85D49DB34A9AE1"), sk.hex()
    assert ak.hex().upper().startswith("CEBE321F6FF7716B6FD4AB49AF256A15"), ak.hex()


def protect(rtp, ck, ak, sk):
    cc = rtp[0] & 0x0F
    hlen = 12 + 4 * cc
    if rtp[0] & 0x10 and len(rtp) >= hlen + 4:
        hlen += 4 + 4 * struct.unpack("!H", rtp[hlen + 2:hlen + 4])[0]
    seq, ssrc = struct.unpack("!H", rtp[2:4])[0], rtp[8:12]
    iv = bytearray(sk + b"\x00\x00")
    for i in range(4):
        iv[4 + i] ^= ssrc[i]
    idx = struct.pack("!Q", seq)[2:]  # ROC 0: index = SEQ (48 bits)
    for i in range(6):
        iv[8 + i] ^= idx[i]
    payload = rtp[hlen:]
    ks = aes_cm(ck, bytes(iv), len(payload))
    out = rtp[:hlen] + bytes(a ^ b for a, b in zip(payload, ks))
    tag = hmac.new(ak, out + b"\x00\x00\x00\x00", hashlib.sha1).digest()[:10]
    return out + tag


def ip_checksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def main(src, dst, inline):
    self_test()
    raw = base64.b64decode(inline)
    if len(raw) != 30:
        sys.exit("srtp-protect: inline key must be 30 bytes (16 key + 14 salt)")
    ck, ak, sk = session_keys(raw[:16], raw[16:])
    data = open(src, "rb").read()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    if struct.unpack(endian + "I", data[20:24])[0] != 1:
        sys.exit("srtp-protect: not an Ethernet pcap")
    out, off, n = bytearray(data[:24]), 24, 0
    while off + 16 <= len(data):
        ts_s, ts_u, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = bytearray(data[off + 16:off + 16 + incl])
        off += 16 + incl
        if pkt[12:14] == b"\x08\x00" and pkt[14 + 9] == 17:
            ip = 14
            udp = ip + (pkt[ip] & 0x0F) * 4
            if udp + 20 <= len(pkt) and pkt[udp + 8] >> 6 == 2:
                srtp = protect(bytes(pkt[udp + 8:]), ck, ak, sk)
                pkt = pkt[:udp + 8] + srtp
                struct.pack_into("!H", pkt, ip + 2, len(pkt) - ip)
                struct.pack_into("!H", pkt, ip + 10, 0)
                struct.pack_into("!H", pkt, ip + 10, ip_checksum(bytes(pkt[ip:udp])))
                struct.pack_into("!HH", pkt, udp + 4, 8 + len(srtp), 0)
                n += 1
        out += struct.pack(endian + "IIII", ts_s, ts_u, len(pkt), len(pkt)) + pkt
    if n == 0:
        sys.exit("srtp-protect: no RTP packet found")
    open(dst, "wb").write(out)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
