//! One TLS connection's decryption state: the handshake fields that select the keys, and
//! per direction the record keys and sequence number.

use std::fmt;

use rsa::Pkcs1v15Encrypt;
use sha2::{Digest, Sha256, Sha384};

use super::crypto::{hkdf_expand_label, prf, RecordCipher};
use super::handshake::{self, typ, Reassembler, ServerHello, HRR_RANDOM};
use super::keylog::{KeyLog, Secret};
use super::suite::{self, Bulk, Suite};
use super::{Dir, RecordResult, SessionInfo};

/// Largest record body accepted: 2^14 + 2048 (RFC 5246 §6.2.3, TLSCiphertext.length).
pub const MAX_RECORD_BODY: usize = (1 << 14) + 2048;

/// Consecutive failures after which a direction is no longer tried: a wrong key log (or a
/// missed record in a CBC/AEAD stream, whose sequence numbers then never line up again)
/// costs nothing more and yields no garbage.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 8;

/// Content types (RFC 5246 §6.2.1, RFC 8446 §5.1).
mod ct {
    pub(super) const CHANGE_CIPHER_SPEC: u8 = 20;
    pub(super) const HANDSHAKE: u8 = 22;
    pub(super) const APPLICATION_DATA: u8 = 23;
}

/// TLS 1.3 traffic key stage of a direction (RFC 8446 §7.1).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Handshake traffic keys (or TLS 1.2 before its ChangeCipherSpec).
    #[default]
    Handshake,
    /// Application traffic keys (TLS 1.2: after ChangeCipherSpec).
    Application,
}

/// One direction.
#[derive(Debug, Default)]
struct Half {
    /// Handshake messages split over records (cleartext, then decrypted).
    hs: Reassembler,
    /// Records of this direction are protected from now on.
    encrypted: bool,
    /// Current keys; `None` when protected but no secret is known.
    cipher: Option<RecordCipher>,
    /// Sequence number of the next record under `cipher` (RFC 5246 §6.1, RFC 8446 §5.3).
    seq: u64,
    stage: Stage,
    /// TLS 1.3: the traffic secret to switch to after this direction's Finished.
    next_app: Option<Secret>,
    /// TLS 1.3: the current application traffic secret (for KeyUpdate, RFC 8446 §7.2).
    app_secret: Option<Secret>,
    /// Consecutive failed records.
    fails: u32,
    /// TLS 1.2: keys to install at this direction's ChangeCipherSpec.
    pending: Option<RecordCipher>,
}

/// Running transcript hashes for the extended master secret's session_hash (RFC 7627 §3),
/// both SHA-256 and SHA-384 since the PRF hash is known only from the ServerHello.
#[derive(Default, Clone)]
struct Transcript {
    sha256: Sha256,
    sha384: Sha384,
    /// From the ClientHello until the ClientKeyExchange (inclusive).
    active: bool,
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transcript(active: {})", self.active)
    }
}

/// One TLS connection's decryption state (both directions).
#[derive(Debug, Default)]
pub struct Session {
    half: [Half; 2],
    client_dir: Option<Dir>,
    client_random: Option<[u8; 32]>,
    server_hello: Option<ServerHello>,
    suite: Option<&'static Suite>,
    transcript: Transcript,
    keys_found: bool,
    records_decrypted: u64,
    records_failed: u64,
    unsupported: Option<&'static str>,
    key_updates: u64,
    /// TLS 1.3 handshake plaintext decrypted and not yet taken
    /// ([`Session::take_decrypted_handshake`]).
    decrypted_handshake: Vec<u8>,
    /// Handshake plaintext kept so far, bounded by [`MAX_DECRYPTED_HANDSHAKE`].
    decrypted_handshake_total: usize,
}

/// Most TLS 1.3 handshake plaintext a session hands out for the handshake audit: the
/// server's EncryptedExtensions, Certificate chain, CertificateVerify and Finished fit in
/// a few KiB; 32 KiB leaves room for long chains (as the cleartext handshake's bound).
pub const MAX_DECRYPTED_HANDSHAKE: usize = 32 * 1024;

impl Dir {
    fn index(self) -> usize {
        match self {
            Dir::A => 0,
            Dir::B => 1,
        }
    }
}

impl Session {
    /// A connection before its first record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Facts for the report.
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            version: self.server_hello.map(|s| s.version),
            cipher_suite: self.server_hello.map(|s| s.cipher_suite),
            client_dir: self.client_dir,
            keys_found: self.keys_found,
            records_decrypted: self.records_decrypted,
            records_failed: self.records_failed,
            unsupported: self.unsupported,
        }
    }

    /// TLS 1.3 KeyUpdate messages followed (RFC 8446 §4.6.3).
    pub fn key_updates(&self) -> u64 {
        self.key_updates
    }

    /// The TLS 1.3 handshake plaintext decrypted since the last call (handshake messages
    /// or parts of them, in order, from the direction of the record just fed), for the
    /// handshake audit: TLS 1.3 encrypts the server's Certificate (RFC 8446 §2). Empty for
    /// TLS 1.2, whose encrypted handshake is its Finished (or a renegotiation).
    pub fn take_decrypted_handshake(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.decrypted_handshake)
    }

    /// Directions whose handshake stopped being parsed because a message announced more
    /// than 64 KiB (0, 1 or 2): their later handshake messages (and the keys they would
    /// have selected) are missed.
    pub fn handshake_overflows(&self) -> usize {
        self.half.iter().filter(|h| h.hs.overflow).count()
    }

    /// Feeds one complete record (5-byte header + body, body ≤ 2^14+2048) sent in direction
    /// `dir`. Appends decrypted application data to `out`. Never panics on any bytes.
    pub fn record(
        &mut self,
        keys: &KeyLog,
        dir: Dir,
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> RecordResult {
        let Some((hdr, body)) = record.split_at_checked(5) else {
            return self.failed_malformed();
        };
        let Ok(hdr) = <[u8; 5]>::try_from(hdr) else {
            return self.failed_malformed();
        };
        let len = usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        if len != body.len() || len > MAX_RECORD_BODY {
            return self.failed_malformed();
        }
        let content_type = hdr[0];
        let d = dir.index();
        if self.half.get(d).is_some_and(|h| h.encrypted) {
            // TLS 1.3 protects everything as application_data (RFC 8446 §5.2); a
            // change_cipher_spec is the middlebox compatibility one (§D.4) and an alert in
            // the clear may still come, both observed as cleartext.
            if self.is_tls13() && content_type != ct::APPLICATION_DATA {
                return RecordResult::Cleartext;
            }
            return self.protected(keys, dir, &hdr, body, out);
        }
        match content_type {
            ct::HANDSHAKE => {
                self.cleartext_handshake(keys, dir, body);
                RecordResult::Cleartext
            }
            ct::CHANGE_CIPHER_SPEC => {
                self.change_cipher_spec(d);
                RecordResult::Cleartext
            }
            // Application data before this direction's keys changed: a capture that started
            // mid-connection, or TLS 1.3 early data (whose secrets are not used).
            ct::APPLICATION_DATA => self.no_keys(),
            _ => RecordResult::Cleartext,
        }
    }

    fn is_tls13(&self) -> bool {
        self.server_hello.is_some_and(|s| s.version == 0x0304)
    }

    fn failed_malformed(&mut self) -> RecordResult {
        self.records_failed += 1;
        RecordResult::Failed
    }

    /// NoKeys, or Unsupported when the session was found undecryptable.
    fn no_keys(&self) -> RecordResult {
        if self.unsupported.is_some() {
            RecordResult::Unsupported
        } else {
            RecordResult::NoKeys
        }
    }

    /// TLS 1.2 ChangeCipherSpec (RFC 5246 §7.1): this direction's next record is the first
    /// under the new keys, sequence number 0.
    fn change_cipher_spec(&mut self, d: usize) {
        if self.is_tls13() {
            return;
        }
        if let Some(h) = self.half.get_mut(d) {
            h.encrypted = true;
            h.cipher = h.pending.take();
            h.seq = 0;
            h.stage = Stage::Application;
            h.hs.clear();
        }
    }

    fn protected(
        &mut self,
        keys: &KeyLog,
        dir: Dir,
        hdr: &[u8; 5],
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> RecordResult {
        let suite = self.suite;
        let unsupported = self.unsupported.is_some();
        let Some(h) = self.half.get_mut(dir.index()) else {
            return RecordResult::Failed;
        };
        let fallback = match (suite, h.stage, h.next_app) {
            (Some(s), Stage::Handshake, Some(secret)) if s.tls13 => Some((s, secret)),
            _ => None,
        };
        if h.cipher.is_none() && fallback.is_none() {
            return if unsupported {
                RecordResult::Unsupported
            } else {
                RecordResult::NoKeys
            };
        }
        if h.fails >= MAX_CONSECUTIVE_FAILURES {
            self.records_failed += 1;
            return RecordResult::Failed;
        }
        let mut plain = h.cipher.as_ref().and_then(|c| c.decrypt(h.seq, hdr, body));
        if plain.is_some() {
            h.seq += 1;
        } else if let Some((s, secret)) = fallback {
            // The handshake tail may be missing from the capture (or the handshake secrets
            // from the key log): try the application keys from their first record.
            if let Some(app) = RecordCipher::tls13(s, secret.get()) {
                plain = app.decrypt(0, hdr, body);
                if plain.is_some() {
                    h.cipher = Some(app);
                    h.seq = 1;
                    h.stage = Stage::Application;
                    h.app_secret = Some(secret);
                    h.hs.clear();
                }
            }
        }
        let Some(p) = plain else {
            // One record lost: the next one is tried with the next sequence number.
            h.seq = h.seq.wrapping_add(1);
            h.fails += 1;
            self.records_failed += 1;
            return RecordResult::Failed;
        };
        h.fails = 0;
        self.records_decrypted += 1;
        match p.content_type {
            ct::APPLICATION_DATA => out.extend_from_slice(&p.data),
            ct::HANDSHAKE => {
                if self.is_tls13() {
                    let room =
                        MAX_DECRYPTED_HANDSHAKE.saturating_sub(self.decrypted_handshake_total);
                    let take = p.data.get(..room.min(p.data.len())).unwrap_or_default();
                    self.decrypted_handshake.extend_from_slice(take);
                    self.decrypted_handshake_total += take.len();
                }
                self.protected_handshake(keys, dir, &p.data)
            }
            // TLS 1.2 renegotiation: the ChangeCipherSpec of the new handshake comes under
            // the old keys, and the new ones start after it (RFC 5246 §7.1).
            ct::CHANGE_CIPHER_SPEC => self.change_cipher_spec(dir.index()),
            _ => {} // alert (close_notify), or anything else: observed only
        }
        RecordResult::Decrypted {
            content_type: p.content_type,
        }
    }

    /// Decrypted handshake messages: in TLS 1.3 a direction's Finished switches it to its
    /// application keys (RFC 8446 §7.1), and a KeyUpdate to the next generation (§7.2). In
    /// TLS 1.2 they are a renegotiation (RFC 5746), followed like the first handshake.
    fn protected_handshake(&mut self, keys: &KeyLog, dir: Dir, data: &[u8]) {
        let suite = self.suite;
        let Some(h) = self.half.get_mut(dir.index()) else {
            return;
        };
        let msgs = h.hs.feed(data);
        let Some(suite) = suite.filter(|s| s.tls13) else {
            for m in msgs {
                self.handshake_message(keys, dir, &m, true);
            }
            return;
        };
        let Some(h) = self.half.get_mut(dir.index()) else {
            return;
        };
        for m in msgs {
            match m.first().copied() {
                Some(typ::FINISHED) if h.stage == Stage::Handshake => {
                    h.stage = Stage::Application;
                    h.app_secret = h.next_app;
                    h.cipher = h.next_app.and_then(|s| RecordCipher::tls13(suite, s.get()));
                    h.seq = 0;
                    h.hs.clear();
                }
                Some(typ::KEY_UPDATE) if h.stage == Stage::Application => {
                    self.key_updates += 1;
                    let next = h.app_secret.and_then(|s| {
                        hkdf_expand_label(suite.sha384, s.get(), b"traffic upd", suite.hash_len())
                    });
                    h.app_secret = next.as_deref().map(Secret::new);
                    h.cipher = next.and_then(|s| RecordCipher::tls13(suite, &s));
                    h.seq = 0;
                    h.hs.clear();
                }
                _ => {}
            }
        }
    }

    fn cleartext_handshake(&mut self, keys: &KeyLog, dir: Dir, body: &[u8]) {
        let Some(h) = self.half.get_mut(dir.index()) else {
            return;
        };
        for m in h.hs.feed(body) {
            self.handshake_message(keys, dir, &m, false);
        }
    }

    /// One handshake message (header included) sent in `dir`: in the clear, or decrypted
    /// in a TLS 1.2 `renegotiation`.
    fn handshake_message(&mut self, keys: &KeyLog, dir: Dir, m: &[u8], renegotiation: bool) {
        let (Some(&ty), Some(body)) = (m.first(), m.get(4..)) else {
            return;
        };
        if ty == typ::CLIENT_HELLO && (self.client_random.is_none() || renegotiation) {
            // A second ClientHello in the clear (after a HelloRetryRequest) keeps the first
            // random (RFC 8446 §4.1.2 requires the same one); a renegotiation starts anew.
            if let Some(r) = handshake::client_hello_random(body) {
                if renegotiation {
                    self.server_hello = None;
                }
                self.client_random = Some(r);
                self.client_dir = Some(dir);
                self.transcript = Transcript {
                    active: true,
                    ..Transcript::default()
                };
            }
        }
        if self.transcript.active {
            self.transcript.sha256.update(m);
            self.transcript.sha384.update(m);
        }
        match ty {
            typ::SERVER_HELLO if self.server_hello.is_none() => {
                let Some(sh) = handshake::server_hello(body) else {
                    return;
                };
                if sh.random == HRR_RANDOM {
                    return; // HelloRetryRequest: the real ServerHello follows
                }
                if self.client_dir.is_none() {
                    self.client_dir = Some(other(dir));
                }
                self.server_hello(keys, sh);
            }
            typ::CLIENT_KEY_EXCHANGE => {
                self.transcript.active = false;
                self.rsa_key_exchange(keys, body);
            }
            _ => {}
        }
    }

    /// The halves of the client and the server: (client, server) indexes.
    fn sides(&self) -> Option<(usize, usize)> {
        let c = self.client_dir?;
        Some((c.index(), other(c).index()))
    }

    fn server_hello(&mut self, keys: &KeyLog, sh: ServerHello) {
        self.server_hello = Some(sh);
        let found = suite::find(sh.cipher_suite);
        match sh.version {
            0x0304 => {
                // Both directions are protected from here on (RFC 8446 §2).
                for h in &mut self.half {
                    h.encrypted = true;
                    h.stage = Stage::Handshake;
                    h.seq = 0;
                    h.hs.clear();
                }
                let Some(suite) = found.filter(|s| s.tls13) else {
                    self.unsupported = Some("TLS 1.3 cipher suite not supported (AES-CCM)");
                    return;
                };
                self.suite = Some(suite);
                let (Some(cr), Some((c, s))) = (self.client_random, self.sides()) else {
                    return;
                };
                let Some(sec) = keys.lookup(&cr) else {
                    return;
                };
                self.keys_found = sec.client_hs.is_some()
                    || sec.server_hs.is_some()
                    || sec.client_app.is_some()
                    || sec.server_app.is_some();
                for (i, hs, app) in [
                    (c, sec.client_hs, sec.client_app),
                    (s, sec.server_hs, sec.server_app),
                ] {
                    if let Some(h) = self.half.get_mut(i) {
                        h.cipher = hs.and_then(|x| RecordCipher::tls13(suite, x.get()));
                        h.next_app = app;
                    }
                }
            }
            0x0303 => {
                let Some(suite) = found.filter(|s| !s.tls13) else {
                    self.unsupported = Some(
                        "TLS 1.2 cipher suite not supported (only AES-GCM, ChaCha20-Poly1305 and AES-CBC with SHA-1/SHA-256/SHA-384 are)",
                    );
                    return;
                };
                self.suite = Some(suite);
                let master = self
                    .client_random
                    .and_then(|cr| keys.lookup(&cr))
                    .and_then(|s| s.master);
                if let Some(m) = master {
                    self.install_tls12(m.get());
                }
                // Else: the RSA key exchange may give it (at the ClientKeyExchange).
            }
            0x0302 => self.unsupported = Some("TLS 1.1 (MD5/SHA-1 PRF)"),
            0x0301 => {
                self.unsupported = Some("TLS 1.0 (MD5/SHA-1 PRF, CBC IV chained across records)")
            }
            0x0300 => self.unsupported = Some("SSL 3.0"),
            v if v & 0xff00 == 0x7f00 => self.unsupported = Some("TLS 1.3 draft version"),
            _ => self.unsupported = Some("unknown TLS version"),
        }
    }

    /// TLS 1.2 record keys from the master secret (RFC 5246 §6.3): key_block =
    /// PRF(master, "key expansion", server_random ‖ client_random), cut into the client and
    /// server MAC keys, encryption keys and fixed IVs, ready for each ChangeCipherSpec.
    fn install_tls12(&mut self, master: &[u8]) {
        let (Some(suite), Some(sh), Some(cr), Some((c, s))) = (
            self.suite,
            self.server_hello,
            self.client_random,
            self.sides(),
        ) else {
            return;
        };
        let (mac_len, iv_len) = match suite.bulk {
            Bulk::Cbc { mac, .. } => (mac.len(), 0),
            Bulk::Aes128Gcm | Bulk::Aes256Gcm => (0, 4), // RFC 5288 §3: 4-byte salt
            Bulk::ChaCha20 => (0, 12),                   // RFC 7905 §2
        };
        let key_len = suite.key_len();
        let mut kb = vec![0u8; 2 * (mac_len + key_len + iv_len)];
        prf(
            suite.sha384,
            master,
            b"key expansion",
            &[&sh.random, &cr],
            &mut kb,
        );
        let parts = (|| {
            let (cmac, r) = kb.split_at_checked(mac_len)?;
            let (smac, r) = r.split_at_checked(mac_len)?;
            let (ckey, r) = r.split_at_checked(key_len)?;
            let (skey, r) = r.split_at_checked(key_len)?;
            let (civ, siv) = r.split_at_checked(iv_len)?;
            Some((
                RecordCipher::tls12(suite, cmac, ckey, civ, sh.etm),
                RecordCipher::tls12(suite, smac, skey, siv, sh.etm),
            ))
        })();
        let Some((client, server)) = parts else {
            return;
        };
        self.keys_found = true;
        if let Some(h) = self.half.get_mut(c) {
            h.pending = client;
        }
        if let Some(h) = self.half.get_mut(s) {
            h.pending = server;
        }
    }

    /// RSA key exchange (RFC 5246 §7.4.7.1, §8.1.1): the pre-master secret decrypted with
    /// one of the RSA keys gives the master secret, extended (RFC 7627 §4) when the
    /// ServerHello echoed extended_master_secret.
    fn rsa_key_exchange(&mut self, keys: &KeyLog, body: &[u8]) {
        let (Some(suite), Some(sh), Some(cr)) = (self.suite, self.server_hello, self.client_random)
        else {
            return;
        };
        // Keys already waiting for the ChangeCipherSpecs: the key log gave the master secret.
        let pending = self.half.iter().any(|h| h.pending.is_some());
        if pending || !suite.rsa_kex || keys.rsa().is_empty() {
            return;
        }
        let Some(enc) = handshake::rsa_encrypted_pms(body) else {
            return;
        };
        let Some(pms) = keys
            .rsa()
            .iter()
            .filter_map(|k| k.0.decrypt(Pkcs1v15Encrypt, enc).ok())
            .find(|p| p.len() == 48)
        else {
            return;
        };
        let mut master = [0u8; 48];
        if sh.ems {
            // session_hash = Hash(ClientHello .. ClientKeyExchange), RFC 7627 §3.
            let hash = if suite.sha384 {
                self.transcript.sha384.clone().finalize().to_vec()
            } else {
                self.transcript.sha256.clone().finalize().to_vec()
            };
            prf(
                suite.sha384,
                &pms,
                b"extended master secret",
                &[&hash],
                &mut master,
            );
        } else {
            prf(
                suite.sha384,
                &pms,
                b"master secret",
                &[&cr, &sh.random],
                &mut master,
            );
        }
        self.install_tls12(&master);
    }
}

fn other(d: Dir) -> Dir {
    match d {
        Dir::A => Dir::B,
        Dir::B => Dir::A,
    }
}
