//! TLS record decryption for SIP over TLS (RFC 5630), from secrets the user gives: an NSS
//! key log (`SSLKEYLOGFILE`, or a pcapng decryption secrets block) or the server's RSA
//! private key (TLS 1.2 RSA key exchange only).
//!
//! Pure and self-contained: the caller (the TCP reassembler) hands whole records of each
//! direction of a connection to a [`Session`], which follows the handshake in the clear
//! (ClientHello, ServerHello, ClientKeyExchange), derives the record keys, and returns the
//! decrypted application data.
//!
//! - TLS 1.2 (RFC 5246): master secret from the key log's `CLIENT_RANDOM`, or from the RSA
//!   pre-master secret (§8.1, extended master secret of RFC 7627 when negotiated); key block
//!   by the PRF (§5, §6.3); AES-GCM (RFC 5288), ChaCha20-Poly1305 (RFC 7905), AES-CBC with
//!   HMAC-SHA1/SHA256/SHA384, MAC-then-encrypt (§6.2.3.2) or encrypt-then-MAC (RFC 7366); a
//!   renegotiation (RFC 5746) is followed inside the encrypted stream.
//! - TLS 1.3 (RFC 8446): handshake and application traffic secrets from the key log, record
//!   keys by HKDF-Expand-Label (§7.1, §7.3), record protection per §5.2/§5.3, KeyUpdate
//!   (§7.2).
//!
//! Not decrypted (reported through [`SessionInfo::unsupported`]): SSL 3.0, TLS 1.0 and 1.1,
//! AES-CCM, NULL, export, RC4, 3DES and the other old suites; TLS 1.3 early data.
//!
//! ```
//! use siplens::net::tls_decrypt::{Dir, KeyLog, RecordResult, Session};
//!
//! let mut keys = KeyLog::new();
//! let added = keys.add_nss(b"# SSL/TLS secrets log file\n", "keys.log")?;
//! assert_eq!(added, 0);
//! let mut session = Session::new(); // one per TCP connection
//! let mut plaintext = Vec::new();
//! // Application data of a connection whose handshake was not seen.
//! let record = [23, 3, 3, 0, 2, 0xab, 0xcd];
//! let r = session.record(&keys, Dir::A, &record, &mut plaintext);
//! assert_eq!(r, RecordResult::NoKeys);
//! assert!(plaintext.is_empty());
//! # Ok::<(), siplens::net::tls_decrypt::KeyLogError>(())
//! ```
//!
//! The cryptography is RustCrypto's (aes-gcm, chacha20poly1305, aes/cbc, hmac, hkdf, sha1,
//! sha2, rsa); this module only frames it. Nothing here indexes wire data unchecked, and a
//! session's memory is bounded (one record, plus a 64 KiB handshake message buffer per
//! direction).

mod crypto;
mod exporter;
mod handshake;
mod keylog;
mod session;
mod suite;

pub use exporter::{export_keying_material, ExportError, DTLS_SRTP_LABEL};
pub use keylog::{KeyLog, KeyLogError, MAX_RSA_KEYS, MAX_SESSIONS};
pub use session::{Session, MAX_CONSECUTIVE_FAILURES, MAX_RECORD_BODY};
pub use suite::suite_name;

/// Which of the two TCP directions of a connection a record came from. The caller does not
/// know which side is the client: the session learns it from the ClientHello/ServerHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// One direction (say, the first seen).
    A,
    /// The other one.
    B,
}

/// What one record gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordResult {
    /// A cleartext record (handshake, CCS, alert before encryption): observed, nothing appended.
    Cleartext,
    /// Decrypted; if `content_type` is 23 (application_data) the plaintext was appended to `out`
    /// (handshake/alert plaintext is consumed by the session, not appended).
    Decrypted {
        /// The record's content type (TLS 1.3: the inner one, RFC 8446 §5.2).
        content_type: u8,
    },
    /// Encrypted but no secret for this session (key log lacks its client random, or no RSA key
    /// fits, or the ClientHello/ServerHello was not seen).
    NoKeys,
    /// Keys exist but authentication/MAC/padding failed (wrong keys, missed record, corrupt data).
    /// A malformed record (length field not matching, body over 2^14+2048) counts here too.
    Failed,
    /// Version/cipher suite not supported (e.g. SSLv3/TLS 1.0/1.1 CBC, CCM, NULL, export):
    /// [`SessionInfo::unsupported`] says which.
    Unsupported,
}

/// Facts about one session, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionInfo {
    /// Negotiated version: 0x0303 TLS 1.2, 0x0304 TLS 1.3 (from supported_versions,
    /// RFC 8446 §4.2.1); from the ServerHello.
    pub version: Option<u16>,
    /// Negotiated cipher suite (see [`suite_name`]).
    pub cipher_suite: Option<u16>,
    /// The client's direction (sender of the ClientHello, or the peer of the ServerHello's
    /// sender).
    pub client_dir: Option<Dir>,
    /// Secrets for this session were found (key log entry, or an RSA key that decrypted the
    /// pre-master secret).
    pub keys_found: bool,
    /// Records decrypted (all content types).
    pub records_decrypted: u64,
    /// Records that failed to decrypt (or were malformed).
    pub records_failed: u64,
    /// Why the session cannot be decrypted, e.g. "TLS 1.0 (MD5/SHA-1 PRF, ...)".
    pub unsupported: Option<&'static str>,
}

#[cfg(test)]
mod tests;
