//! DTLS 1.2 records and handshake messages on media flows, read far enough to key
//! DTLS-SRTP (RFC 5764): the ClientHello and ServerHello randoms, the negotiated cipher
//! suite (whose PRF the exporter uses) and the `use_srtp` extension's protection profile.
//!
//! Pure functions over `&[u8]`, plus a [`Handshake`] that follows one DTLS association:
//!
//! - records (RFC 6347 §4.1): 13-byte header (type, version, epoch, 48-bit sequence
//!   number, length); several per datagram; [`records`];
//! - handshake fragments (RFC 6347 §4.2.2): 12-byte header (type, length, message_seq,
//!   fragment_offset, fragment_length); [`handshake_fragments`]. A message may come in
//!   several fragments, in any order, and be retransmitted whole or re-fragmented
//!   (§4.2.4); [`Handshake`] reassembles the two hellos (bounded by [`MAX_HELLO`]);
//! - hellos (RFC 5246 §7.4.1.2/§7.4.1.3 with the DTLS cookie of RFC 6347 §4.2.1), the
//!   `use_srtp` extension (RFC 5764 §4.1.1) and `supported_versions` (RFC 8446 §4.2.1:
//!   DTLS 1.3, RFC 9147, is recognised and reported unsupported: its `use_srtp` answer
//!   travels in the encrypted EncryptedExtensions).
//!
//! Nothing is decrypted here; the keys come from the key log (see
//! [`crate::net::tls_decrypt::export_keying_material`]). Malformed input is reported by
//! the iterators' `malformed` flags and [`Handshake::malformed`], never a panic.

use crate::media::be::{be16, be24};
use crate::media::srtp::Suite;

/// DTLS record header length (RFC 6347 §4.1).
pub const RECORD_HEADER: usize = 13;
/// DTLS handshake header length (RFC 6347 §4.2.2).
pub const HANDSHAKE_HEADER: usize = 12;
/// Largest hello message reassembled: a DTLS 1.2 ClientHello is a few hundred bytes (WebRTC
/// stacks send 150 to 600); 4 KiB is far past any real one and bounds what a hostile
/// length field makes an association keep (a longer hello counts as malformed).
pub const MAX_HELLO: usize = 4096;
/// Fragment ranges kept per message while reassembling; past it the message is dropped
/// (counted as malformed): real senders use a handful.
pub const MAX_RANGES: usize = 32;
/// SRTP protection profiles kept from a `use_srtp` list (the ClientHello offers a few).
pub const MAX_PROFILES: usize = 16;

/// DTLS 1.0 version on the wire (RFC 4347).
pub const DTLS_1_0: u16 = 0xFEFF;
/// DTLS 1.2 version on the wire (RFC 6347 §4.1).
pub const DTLS_1_2: u16 = 0xFEFD;
/// DTLS 1.3 version in `supported_versions` (RFC 9147 §5.3).
pub const DTLS_1_3: u16 = 0xFEFC;

/// Content type `handshake` (RFC 5246 §6.2.1).
const HANDSHAKE: u8 = 22;
/// Handshake types (RFC 5246 §7.4).
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
/// Extension numbers: `use_srtp` (RFC 5764 §9), `supported_versions` (RFC 8446 §4.2).
const EXT_USE_SRTP: u16 = 14;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// The SRTP suite of a DTLS-SRTP protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2);
/// `None` for the NULL-cipher profiles and unknown numbers.
pub fn profile_suite(profile: u16) -> Option<Suite> {
    Some(match profile {
        0x0001 => Suite::AesCm128HmacSha1_80,
        0x0002 => Suite::AesCm128HmacSha1_32,
        0x0007 => Suite::AeadAes128Gcm,
        0x0008 => Suite::AeadAes256Gcm,
        _ => return None,
    })
}

/// The registered name of a protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2).
pub fn profile_name(profile: u16) -> &'static str {
    match profile {
        0x0001 => "SRTP_AES128_CM_HMAC_SHA1_80",
        0x0002 => "SRTP_AES128_CM_HMAC_SHA1_32",
        0x0005 => "SRTP_NULL_HMAC_SHA1_80",
        0x0006 => "SRTP_NULL_HMAC_SHA1_32",
        0x0007 => "SRTP_AEAD_AES_128_GCM",
        0x0008 => "SRTP_AEAD_AES_256_GCM",
        _ => "unknown",
    }
}

/// One DTLS record (RFC 6347 §4.1, DTLSPlaintext / DTLSCiphertext header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Content type: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data.
    pub content_type: u8,
    /// Record version (0xFEFF DTLS 1.0, 0xFEFD DTLS 1.2; DTLS 1.3 keeps 0xFEFD).
    pub version: u16,
    /// Epoch: 0 until the ChangeCipherSpec, encrypted after.
    pub epoch: u16,
    /// 48-bit sequence number.
    pub sequence: u64,
    /// The record body.
    pub fragment: &'a [u8],
}

/// The records of one datagram (RFC 6347 §4.1.1: several may share it). Stops at the
/// first record whose header does not fit or whose version is no DTLS version and sets
/// `malformed`.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
    /// A record was cut short or not DTLS: the rest of the datagram was skipped.
    pub malformed: bool,
}

/// Iterates the DTLS 1.0/1.2 plaintext-header records of a datagram.
pub fn records(datagram: &[u8]) -> Records<'_> {
    Records {
        rest: datagram,
        malformed: false,
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        if b.first().is_some_and(|&t| t & 0xE0 == 0x20) {
            // A DTLS 1.3 ciphertext record (unified header, RFC 9147 §4): not readable
            // without keys, and not malformed.
            self.rest = &[];
            return None;
        }
        let parsed = (|| {
            let content_type = *b.first()?;
            let version = be16(b, 1)?;
            let epoch = be16(b, 3)?;
            let seq = b.get(5..11)?;
            let len = usize::from(be16(b, 11)?);
            let fragment = b.get(RECORD_HEADER..RECORD_HEADER + len)?;
            if !(20..=25).contains(&content_type) || (version >> 8) != 0xFE {
                return None;
            }
            let mut s = [0u8; 8];
            s.get_mut(2..)?.copy_from_slice(seq);
            Some((
                Record {
                    content_type,
                    version,
                    epoch,
                    sequence: u64::from_be_bytes(s),
                    fragment,
                },
                RECORD_HEADER + len,
            ))
        })();
        match parsed {
            Some((r, used)) => {
                self.rest = b.get(used..).unwrap_or_default();
                Some(r)
            }
            None => {
                self.malformed = true;
                self.rest = &[];
                None
            }
        }
    }
}

/// One handshake message fragment (RFC 6347 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Handshake type (1 ClientHello, 2 ServerHello, 3 HelloVerifyRequest, 11
    /// Certificate...).
    pub msg_type: u8,
    /// The whole message's length.
    pub length: u32,
    /// Message sequence number (a retransmission repeats it).
    pub message_seq: u16,
    /// Where this fragment starts in the message.
    pub offset: u32,
    /// The fragment's bytes.
    pub body: &'a [u8],
}

/// The handshake fragments of one epoch-0 handshake record; stops at the first that does
/// not fit (or overruns its message) and sets `malformed`.
#[derive(Debug, Clone)]
pub struct Fragments<'a> {
    rest: &'a [u8],
    /// A fragment header was cut or inconsistent.
    pub malformed: bool,
}

/// Iterates the handshake fragments of a handshake record's body.
pub fn handshake_fragments(record_body: &[u8]) -> Fragments<'_> {
    Fragments {
        rest: record_body,
        malformed: false,
    }
}

impl<'a> Iterator for Fragments<'a> {
    type Item = Fragment<'a>;

    fn next(&mut self) -> Option<Fragment<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        let parsed = (|| {
            let msg_type = *b.first()?;
            let length = be24(b, 1)?;
            let message_seq = be16(b, 4)?;
            let offset = be24(b, 6)?;
            let flen = be24(b, 9)?;
            if u64::from(offset) + u64::from(flen) > u64::from(length) {
                return None;
            }
            let end = HANDSHAKE_HEADER.checked_add(usize::try_from(flen).ok()?)?;
            let body = b.get(HANDSHAKE_HEADER..end)?;
            Some((
                Fragment {
                    msg_type,
                    length,
                    message_seq,
                    offset,
                    body,
                },
                end,
            ))
        })();
        match parsed {
            Some((f, used)) => {
                self.rest = b.get(used..).unwrap_or_default();
                Some(f)
            }
            None => {
                self.malformed = true;
                self.rest = &[];
                None
            }
        }
    }
}

/// What a hello message says (the fields DTLS-SRTP keying needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The 32-byte random (RFC 5246 §7.4.1.2).
    pub random: [u8; 32],
    /// ServerHello: the chosen cipher suite. ClientHello: `None`.
    pub cipher_suite: Option<u16>,
    /// The `use_srtp` profiles: offered (ClientHello) or the one chosen (ServerHello,
    /// RFC 5764 §4.1.1: exactly one). Empty without the extension.
    pub srtp_profiles: Vec<u16>,
    /// The `use_srtp` extension was present (with any list).
    pub use_srtp: bool,
    /// ServerHello `supported_versions` (RFC 8446 §4.2.1): the version chosen.
    pub selected_version: Option<u16>,
}

/// A cursor over a hello body, each read bounds-checked.
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        be16(self.take(2)?, 0)
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
}

/// Reads the extensions block (absent is allowed: RFC 5246 §7.4.1.2) into `h`.
fn extensions(c: &mut Cur<'_>, h: &mut Hello, server: bool) -> Option<()> {
    if c.0.is_empty() {
        return Some(());
    }
    let mut exts = Cur(c.vec16()?);
    while !exts.0.is_empty() {
        let ty = exts.u16()?;
        let mut data = Cur(exts.vec16()?);
        match ty {
            EXT_USE_SRTP => {
                // UseSRTPData: SRTPProtectionProfiles (uint16 list), srtp_mki (RFC 5764 §4.1.1).
                h.use_srtp = true;
                let mut list = Cur(data.vec16()?);
                while !list.0.is_empty() {
                    let p = list.u16()?;
                    if h.srtp_profiles.len() < MAX_PROFILES {
                        h.srtp_profiles.push(p);
                    }
                }
            }
            EXT_SUPPORTED_VERSIONS if server => h.selected_version = Some(data.u16()?),
            _ => {}
        }
    }
    Some(())
}

/// Parses a ClientHello body (RFC 6347 §4.2.1: version, random, session id, cookie,
/// cipher suites, compression methods, extensions). `None` when malformed.
pub fn parse_client_hello(body: &[u8]) -> Option<Hello> {
    let mut c = Cur(body);
    c.u16()?; // client_version
    let random: [u8; 32] = c.take(32)?.try_into().ok()?;
    c.vec8()?; // session_id
    c.vec8()?; // cookie
    c.vec16()?; // cipher_suites
    c.vec8()?; // compression_methods
    let mut h = Hello {
        random,
        cipher_suite: None,
        srtp_profiles: Vec::new(),
        use_srtp: false,
        selected_version: None,
    };
    extensions(&mut c, &mut h, false)?;
    Some(h)
}

/// Parses a ServerHello body (RFC 5246 §7.4.1.3: version, random, session id, cipher
/// suite, compression method, extensions). `None` when malformed.
pub fn parse_server_hello(body: &[u8]) -> Option<Hello> {
    let mut c = Cur(body);
    c.u16()?; // server_version
    let random: [u8; 32] = c.take(32)?.try_into().ok()?;
    c.vec8()?; // session_id
    let suite = c.u16()?;
    c.u8()?; // compression_method
    let mut h = Hello {
        random,
        cipher_suite: Some(suite),
        srtp_profiles: Vec::new(),
        use_srtp: false,
        selected_version: None,
    };
    extensions(&mut c, &mut h, true)?;
    Some(h)
}

/// One hello message being reassembled from its fragments.
#[derive(Debug, Clone, Default)]
struct Pending {
    /// A fragment of it came (the fields below describe a message).
    started: bool,
    message_seq: u16,
    /// The message's length.
    len: usize,
    /// Its bytes while incomplete (freed once read).
    buf: Vec<u8>,
    /// Byte ranges received, [start, end), merged.
    have: Vec<(usize, usize)>,
    done: bool,
}

impl Pending {
    /// Adds a fragment; returns the whole message once every byte has come.
    fn add(&mut self, f: &Fragment<'_>) -> Result<Option<&mut Vec<u8>>, ()> {
        let len = usize::try_from(f.length).map_err(|_| ())?;
        if len > MAX_HELLO {
            return Err(());
        }
        if !self.started || f.message_seq != self.message_seq || self.len != len {
            // A new message (the ClientHello sent again with the cookie of a
            // HelloVerifyRequest, RFC 6347 §4.2.1, has the next message_seq): start over.
            *self = Pending {
                started: true,
                message_seq: f.message_seq,
                len,
                buf: vec![0; len],
                have: Vec::new(),
                done: false,
            };
        }
        if self.done {
            // A retransmission of a message already read (RFC 6347 §4.2.4).
            return Ok(None);
        }
        let start = usize::try_from(f.offset).map_err(|_| ())?;
        let end = start + f.body.len();
        self.buf
            .get_mut(start..end)
            .ok_or(())?
            .copy_from_slice(f.body);
        if self.have.len() >= MAX_RANGES {
            return Err(());
        }
        crate::net::defrag::add_range(&mut self.have, start, end);
        if self.have.first() == Some(&(0, len)) || len == 0 {
            self.done = true;
            self.have = Vec::new();
            return Ok(Some(&mut self.buf));
        }
        Ok(None)
    }
}

/// Which of the two addresses of a flow sent a datagram (the caller orders them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The lower address of the flow.
    Lo,
    /// The higher one.
    Hi,
}

/// One DTLS association followed in the clear: the hellos' randoms, suite, profile.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    client_hello: Pending,
    server_hello: Pending,
    /// The side that sent the ClientHello (the DTLS client).
    pub client: Option<Side>,
    /// The ClientHello's random.
    pub client_random: Option<[u8; 32]>,
    /// The ServerHello's random.
    pub server_random: Option<[u8; 32]>,
    /// The ServerHello's cipher suite.
    pub cipher_suite: Option<u16>,
    /// The ServerHello's version (record/hello 0xFEFD, or `supported_versions`).
    pub version: Option<u16>,
    /// The protection profile the server chose (`None`: no `use_srtp` in the ServerHello).
    pub profile: Option<u16>,
    /// The ServerHello carried `use_srtp`.
    pub use_srtp: bool,
    /// Records seen.
    pub records: u64,
    /// Records or handshake fragments that were malformed, or hellos over [`MAX_HELLO`].
    pub malformed: u64,
}

impl Handshake {
    /// A fresh association.
    pub fn new() -> Handshake {
        Handshake::default()
    }

    /// Both hellos read: the exporter's inputs are known (or will never be).
    pub fn hellos_seen(&self) -> bool {
        self.client_random.is_some() && self.server_random.is_some()
    }

    /// Feeds one datagram sent by `from`. Encrypted records (epoch > 0) are counted only.
    pub fn on_datagram(&mut self, from: Side, datagram: &[u8]) {
        let mut recs = records(datagram);
        for r in recs.by_ref() {
            self.records += 1;
            if r.content_type != HANDSHAKE || r.epoch != 0 {
                continue;
            }
            let mut frags = handshake_fragments(r.fragment);
            for f in frags.by_ref() {
                self.on_fragment(from, r.version, &f);
            }
            if frags.malformed {
                self.malformed += 1;
            }
        }
        if recs.malformed {
            self.malformed += 1;
        }
    }

    fn on_fragment(&mut self, from: Side, record_version: u16, f: &Fragment<'_>) {
        let slot = match f.msg_type {
            CLIENT_HELLO => &mut self.client_hello,
            SERVER_HELLO => &mut self.server_hello,
            _ => return,
        };
        let msg = match slot.add(f) {
            Ok(Some(m)) => std::mem::take(m),
            Ok(None) => return,
            Err(()) => {
                self.malformed += 1;
                return;
            }
        };
        let msg = msg.as_slice();
        if f.msg_type == CLIENT_HELLO {
            match parse_client_hello(msg) {
                Some(h) => {
                    self.client = Some(from);
                    self.client_random = Some(h.random);
                }
                None => self.malformed += 1,
            }
        } else {
            match parse_server_hello(msg) {
                Some(h) => {
                    self.client = Some(match from {
                        Side::Lo => Side::Hi,
                        Side::Hi => Side::Lo,
                    });
                    self.server_random = Some(h.random);
                    self.cipher_suite = h.cipher_suite;
                    let hello_version = be16(msg, 0).unwrap_or(record_version);
                    self.version = Some(h.selected_version.unwrap_or(hello_version));
                    self.use_srtp = h.use_srtp;
                    self.profile = h.srtp_profiles.first().copied();
                }
                None => self.malformed += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests;
