//! The few handshake fields decryption needs, parsed with small checked readers over
//! `&[u8]` (RFC 5246 §7.4, RFC 8446 §4). Nothing here trusts a length field: every read is
//! a `get`.

/// Handshake message types used (RFC 8446 §4, RFC 5246 §7.4).
pub(crate) mod typ {
    pub(crate) const CLIENT_HELLO: u8 = 1;
    pub(crate) const SERVER_HELLO: u8 = 2;
    pub(crate) const CLIENT_KEY_EXCHANGE: u8 = 16;
    pub(crate) const FINISHED: u8 = 20;
    pub(crate) const KEY_UPDATE: u8 = 24;
}

/// The ServerHello random of a HelloRetryRequest: SHA-256("HelloRetryRequest")
/// (RFC 8446 §4.1.3).
pub(crate) const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A cursor over a byte slice whose reads fail (None) past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = self.0.split_at_checked(n)?;
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes(b.try_into().ok()?))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// The random of a ClientHello body (after the 4-byte handshake header).
pub(crate) fn client_hello_random(body: &[u8]) -> Option<[u8; 32]> {
    let mut r = Reader(body);
    r.u16()?; // legacy_version
    r.take(32)?.try_into().ok()
}

/// What a ServerHello says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerHello {
    pub(crate) random: [u8; 32],
    /// The negotiated version: supported_versions (43) if present (TLS 1.3, RFC 8446
    /// §4.2.1), else legacy_version.
    pub(crate) version: u16,
    pub(crate) cipher_suite: u16,
    /// encrypt_then_mac (22) echoed (RFC 7366 §2).
    pub(crate) etm: bool,
    /// extended_master_secret (23) echoed (RFC 7627 §5.1).
    pub(crate) ems: bool,
}

/// Parses a ServerHello body (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3).
pub(crate) fn server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader(body);
    let legacy = r.u16()?;
    let random: [u8; 32] = r.take(32)?.try_into().ok()?;
    r.vec8()?; // session id
    let cipher_suite = r.u16()?;
    r.u8()?; // compression
    let mut sh = ServerHello {
        random,
        version: legacy,
        cipher_suite,
        etm: false,
        ems: false,
    };
    // Extensions are optional in TLS 1.2 (absent: nothing more).
    let Some(exts) = r.vec16() else {
        return Some(sh);
    };
    let mut e = Reader(exts);
    while let (Some(ty), Some(data)) = (e.u16(), e.vec16()) {
        match ty {
            43 => {
                if let Some(v) = Reader(data).u16() {
                    sh.version = v;
                }
            }
            22 => sh.etm = true,
            23 => sh.ems = true,
            _ => {}
        }
    }
    Some(sh)
}

/// The encrypted pre-master secret of an RSA ClientKeyExchange body (RFC 5246 §7.4.7.1:
/// TLS 1.0 and later prefix it with its 2-byte length).
pub(crate) fn rsa_encrypted_pms(body: &[u8]) -> Option<&[u8]> {
    Reader(body).vec16()
}

/// Splits complete handshake messages (4-byte header: type, 24-bit length) off a per
/// direction buffer, which holds a message split over records until it is whole.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    buf: Vec<u8>,
    /// A message longer than the bound was announced: this direction is no longer parsed.
    pub(crate) overflow: bool,
}

/// Largest handshake message buffered (a certificate chain fits easily).
pub(crate) const MAX_MESSAGE: usize = 64 * 1024;

impl Reassembler {
    /// Appends `data` and returns each message it completes (header included).
    pub(crate) fn feed(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.overflow {
            return out;
        }
        self.buf.extend_from_slice(data);
        let mut pos = 0;
        while let Some(h) = self.buf.get(pos..pos + 4) {
            let len = match *h {
                [_, a, b, c] => usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c),
                _ => break,
            };
            if len + 4 > MAX_MESSAGE {
                self.overflow = true;
                self.buf = Vec::new();
                return out;
            }
            let Some(msg) = self.buf.get(pos..pos + 4 + len) else {
                break;
            };
            out.push(msg.to_vec());
            pos += 4 + len;
        }
        self.buf.drain(..pos.min(self.buf.len()));
        out
    }

    /// Forgets a partial message (at a key change, where it cannot continue).
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
    }
}
