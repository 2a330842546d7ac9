//! Secrets: NSS key log entries (the `SSLKEYLOGFILE` format browsers, curl, OpenSSL's
//! `-keylogfile` and Wireshark use) by client random, and RSA private keys for the TLS 1.2
//! RSA key exchange.

use std::collections::HashMap;
use std::fmt;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;

/// Most key log sessions kept: a key log is written by hand or by a TLS library, a million
/// sessions is far past any real one and bounds the memory a hostile file can take
/// (a pcapng decryption secrets block is attacker-controlled input).
pub const MAX_SESSIONS: usize = 1_000_000;

/// Most RSA keys kept; each costs a private-key operation per RSA key exchange seen.
pub const MAX_RSA_KEYS: usize = 64;

/// A secret of 32 or 48 bytes (SHA-256 or SHA-384 length; a TLS 1.2 master secret is
/// always 48), stored inline so a session's secrets are a fixed size.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Secret {
    bytes: [u8; 48],
    len: u8,
}

impl Secret {
    /// `b` must be at most 48 bytes (checked by the callers; longer is truncated).
    pub(crate) fn new(b: &[u8]) -> Self {
        let mut bytes = [0u8; 48];
        let n = b.len().min(48);
        if let (Some(dst), Some(src)) = (bytes.get_mut(..n), b.get(..n)) {
            dst.copy_from_slice(src);
        }
        Secret {
            bytes,
            len: n as u8,
        }
    }

    /// The secret's bytes.
    pub(crate) fn get(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

// Never print secrets (a debug log of a session must not leak them).
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

/// The secrets a key log gave for one client random.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Secrets {
    /// `CLIENT_RANDOM`: the TLS 1.2 master secret (RFC 5246 §8.1).
    pub(crate) master: Option<Secret>,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET` (RFC 8446 §7.1).
    pub(crate) client_hs: Option<Secret>,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub(crate) server_hs: Option<Secret>,
    /// `CLIENT_TRAFFIC_SECRET_0`.
    pub(crate) client_app: Option<Secret>,
    /// `SERVER_TRAFFIC_SECRET_0`.
    pub(crate) server_app: Option<Secret>,
}

/// An RSA private key whose debug output is its size only: `RsaPrivateKey`'s derived `Debug`
/// prints the private exponent and primes, which must not end up in a log.
#[derive(Clone)]
pub(crate) struct RsaKey(pub(crate) RsaPrivateKey);

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rsa::traits::PublicKeyParts;
        write!(f, "RsaKey({} bits)", self.0.n().bits())
    }
}

/// Secrets to decrypt TLS: NSS key log entries by client random, and RSA private keys.
/// Its `Debug` output shows no secret.
#[derive(Debug, Default, Clone)]
pub struct KeyLog {
    sessions: HashMap<[u8; 32], Secrets>,
    rsa: Vec<RsaKey>,
}

/// Why a key log line or an RSA key was refused. Every variant names the source (the file,
/// or "pcapng decryption secrets block") and, for key log lines, the 1-based line number, so
/// the message points at the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLogError {
    /// A field of a known label is not hexadecimal.
    BadHex {
        /// File (or block) the line came from.
        source: String,
        /// 1-based line number.
        line: usize,
        /// The line's label, e.g. `CLIENT_RANDOM`.
        label: &'static str,
    },
    /// A known label's line has the wrong number of fields, or a client random or secret of
    /// the wrong length (client random: 32 bytes; `CLIENT_RANDOM` secret: 48; TLS 1.3 traffic
    /// secrets: 32 or 48).
    BadLength {
        /// File (or block) the line came from.
        source: String,
        /// 1-based line number.
        line: usize,
        /// The line's label.
        label: &'static str,
        /// Decoded length found (bytes), or the number of fields for a malformed line.
        len: usize,
    },
    /// More than [`MAX_SESSIONS`] client randoms, or [`MAX_RSA_KEYS`] RSA keys.
    TooMany {
        /// File (or block) being read.
        source: String,
        /// 1-based line number where the bound was hit (0 for an RSA key).
        line: usize,
        /// The bound.
        max: usize,
    },
    /// The PEM text is no RSA private key (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`).
    RsaKey {
        /// File the key came from.
        source: String,
        /// The decoder's message.
        reason: String,
    },
}

impl fmt::Display for KeyLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyLogError::BadHex {
                source,
                line,
                label,
            } => write!(f, "{source}:{line}: {label}: field is not hexadecimal"),
            KeyLogError::BadLength {
                source,
                line,
                label,
                len,
            } => write!(f, "{source}:{line}: {label}: wrong length ({len})"),
            KeyLogError::TooMany { source, line, max } => {
                write!(f, "{source}:{line}: more than {max} entries")
            }
            KeyLogError::RsaKey { source, reason } => {
                write!(f, "{source}: not an RSA private key: {reason}")
            }
        }
    }
}

impl std::error::Error for KeyLogError {}

/// The labels read, and where their secret goes. Others (EXPORTER_SECRET, the early-data
/// secrets, `RSA` lines, which give a pre-master secret by encrypted prefix) are skipped:
/// nothing here decrypts with them.
const LABELS: &[&str] = &[
    "CLIENT_RANDOM",
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
];

/// Decodes hex into `out` (cleared first); false on an odd length or a non-hex digit.
fn unhex(s: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if s.len() % 2 != 0 {
        return false;
    }
    for pair in s.chunks_exact(2) {
        let (Some(h), Some(l)) = (
            pair.first().and_then(|&c| (c as char).to_digit(16)),
            pair.get(1).and_then(|&c| (c as char).to_digit(16)),
        ) else {
            return false;
        };
        out.push((h * 16 + l) as u8);
    }
    true
}

impl KeyLog {
    /// An empty key log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the lines of an NSS key log (SSLKEYLOGFILE format). `source` names the file (or
    /// "pcapng decryption secrets block") for errors. Returns the number of entries added.
    /// Labels used: CLIENT_RANDOM (TLS 1.2 master secret, 48 bytes),
    /// CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
    /// CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0 (TLS 1.3, 32 or 48 bytes).
    /// Other labels (EXPORTER_SECRET, EARLY_*, RSA ...) and `#` comments and blank lines
    /// are skipped. A line with a known label but bad hex/length is an error naming the
    /// source and 1-based line number ([`KeyLogError`]). CRLF accepted. Entries added before
    /// an error are kept.
    pub fn add_nss(&mut self, text: &[u8], source: &str) -> Result<usize, KeyLogError> {
        let mut added = 0;
        let mut buf = Vec::with_capacity(48);
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line_no = i + 1;
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = line.trim_ascii();
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            let mut fields = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty());
            let Some(label) = fields.next() else {
                continue;
            };
            let Some(&label) = LABELS.iter().find(|l| l.as_bytes() == label) else {
                continue;
            };
            let (Some(random), Some(secret), None) = (fields.next(), fields.next(), fields.next())
            else {
                let n = line
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|f| !f.is_empty())
                    .count();
                return Err(KeyLogError::BadLength {
                    source: source.to_string(),
                    line: line_no,
                    label,
                    len: n,
                });
            };
            let bad_hex = || KeyLogError::BadHex {
                source: source.to_string(),
                line: line_no,
                label,
            };
            let bad_len = |len| KeyLogError::BadLength {
                source: source.to_string(),
                line: line_no,
                label,
                len,
            };
            if !unhex(random, &mut buf) {
                return Err(bad_hex());
            }
            let random: [u8; 32] = buf.as_slice().try_into().map_err(|_| bad_len(buf.len()))?;
            if !unhex(secret, &mut buf) {
                return Err(bad_hex());
            }
            let ok_len = if label == "CLIENT_RANDOM" {
                buf.len() == 48
            } else {
                buf.len() == 32 || buf.len() == 48
            };
            if !ok_len {
                return Err(bad_len(buf.len()));
            }
            if !self.sessions.contains_key(&random) && self.sessions.len() >= MAX_SESSIONS {
                return Err(KeyLogError::TooMany {
                    source: source.to_string(),
                    line: line_no,
                    max: MAX_SESSIONS,
                });
            }
            let s = self.sessions.entry(random).or_default();
            let slot = match label {
                "CLIENT_RANDOM" => &mut s.master,
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut s.client_hs,
                "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut s.server_hs,
                "CLIENT_TRAFFIC_SECRET_0" => &mut s.client_app,
                _ => &mut s.server_app,
            };
            *slot = Some(Secret::new(&buf));
            added += 1;
        }
        Ok(added)
    }

    /// Adds an RSA private key (PEM, PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY").
    /// Used for TLS 1.2 sessions with RSA key exchange (RFC 5246 §7.4.7.1), the only ones a
    /// server key can decrypt.
    pub fn add_rsa_pem(&mut self, pem: &str, source: &str) -> Result<(), KeyLogError> {
        if self.rsa.len() >= MAX_RSA_KEYS {
            return Err(KeyLogError::TooMany {
                source: source.to_string(),
                line: 0,
                max: MAX_RSA_KEYS,
            });
        }
        let key = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
            RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())
        } else {
            RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())
        };
        let key = key.map_err(|reason| KeyLogError::RsaKey {
            source: source.to_string(),
            reason,
        })?;
        self.rsa.push(RsaKey(key));
        Ok(())
    }

    /// No secret of any kind.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.rsa.is_empty()
    }

    /// Number of client randoms with secrets (key log sessions).
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Number of RSA keys.
    pub fn rsa_keys(&self) -> usize {
        self.rsa.len()
    }

    /// The key log secrets of the session with this client random.
    pub(crate) fn lookup(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.sessions.get(client_random)
    }

    /// The RSA keys, to try in turn on an encrypted pre-master secret.
    pub(crate) fn rsa(&self) -> &[RsaKey] {
        &self.rsa
    }
}
