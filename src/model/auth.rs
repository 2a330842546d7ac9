//! Credentials as a request carried them (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760):
//! the engine records one [`AuthAttempt`] per request; the auth rules and the offline
//! password audit read them.

use std::fmt;
use std::net::SocketAddr;

use base64::Engine as _;
use sha2::Digest;

use crate::capture::Timestamp;
use crate::net::Transport;
use crate::sip::{AuthScheme, AuthValue};

/// Most attempts recorded per dialog (a brute force in one Call-ID must stay bounded).
pub const MAX_ATTEMPTS: usize = 32;

/// Which credentials scheme a request used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP Digest (RFC 2617 / RFC 7616 / RFC 8760).
    Digest,
    /// HTTP Basic (RFC 7617; forbidden in SIP by RFC 3261 §22.1).
    Basic,
    /// Anything else, by name.
    Other(String),
}

/// One request that carried credentials, owned and small.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthAttempt {
    /// Frame of the request.
    pub frame: u64,
    /// Its time.
    pub ts: Timestamp,
    /// Sender (the client).
    pub src: SocketAddr,
    /// Receiver (registrar or proxy).
    pub dst: SocketAddr,
    /// Transport of the request.
    pub transport: Transport,
    /// Request method.
    pub method: String,
    /// CSeq number, to pair the final response.
    pub cseq: u32,
    /// `Proxy-Authorization` (407 flow) rather than `Authorization` (401 flow).
    pub proxy: bool,
    /// Scheme.
    pub scheme: Scheme,
    /// Digest username, or the Basic user.
    pub user: Option<String>,
    /// Digest realm.
    pub realm: Option<String>,
    /// Digest algorithm as sent (absent means MD5, RFC 2617 §3.2.2).
    pub algorithm: Option<String>,
    /// Digest qop (absent: RFC 2069 compatibility mode).
    pub qop: Option<String>,
    /// Digest-uri.
    pub uri: Option<String>,
    /// Basic password (kept for `--show-secrets`).
    pub basic_password: Option<String>,
    /// Digest server nonce.
    pub nonce: Option<String>,
    /// Digest nonce count (`nc`, 8 hex digits, RFC 2617 §3.2.2).
    pub nc: Option<u32>,
    /// Frame of the 401/407 that this attempt answered, when seen.
    pub challenge_frame: Option<u64>,
    // Offline password audit (crate::crack): what recomputing the response needs.
    /// Digest `response` as sent (hex).
    pub response: Option<String>,
    /// Digest client nonce.
    pub cnonce: Option<String>,
    /// Digest `nc` exactly as sent: the response hashes this text, not the number.
    pub nc_text: Option<String>,
    /// Digest `opaque` (echoed from the challenge).
    pub opaque: Option<String>,
    /// `userhash=true` (RFC 7616 §3.4.4): `user` is H(username:realm), not the name.
    pub userhash: bool,
    /// For qop=auth-int: hex H(entity-body) of the request with the attempt's algorithm
    /// (RFC 7616 §3.4.3), computed when the request is recorded.
    pub body_hash: Option<String>,
    /// Final status and frame of the answer, when seen.
    pub outcome: Option<(u16, u64)>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl AuthAttempt {
    /// Builds an attempt from one credentials header value; the caller fills the context.
    pub fn from_credentials(c: &AuthValue<'_>, proxy: bool) -> AuthAttempt {
        let (scheme, user, basic_password) = match &c.scheme {
            AuthScheme::Digest => (Scheme::Digest, c.username().map(text), None),
            AuthScheme::Basic => {
                // RFC 7617 §2: base64 of "user-id:password".
                let decoded = c
                    .token68
                    .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
                    .map(|b| text(&b));
                match decoded.as_deref().and_then(|d| d.split_once(':')) {
                    Some((u, p)) => (Scheme::Basic, Some(u.to_string()), Some(p.to_string())),
                    None => (Scheme::Basic, decoded, None),
                }
            }
            AuthScheme::Other(name) => (Scheme::Other(text(name)), None, None),
        };
        AuthAttempt {
            frame: 0,
            ts: Timestamp::default(),
            src: SocketAddr::from(([0, 0, 0, 0], 0)),
            dst: SocketAddr::from(([0, 0, 0, 0], 0)),
            transport: Transport::Udp,
            method: String::new(),
            cseq: 0,
            proxy,
            scheme,
            user,
            realm: c.realm().map(text),
            algorithm: c.algorithm().map(text),
            qop: c.qop().map(text),
            uri: c.uri().map(text),
            basic_password,
            nonce: c.nonce().map(text),
            nc: c
                .nc()
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| u32::from_str_radix(n, 16).ok()),
            challenge_frame: None,
            outcome: None,
            response: c.response().map(text),
            cnonce: c.cnonce().map(text),
            nc_text: c.nc().map(text),
            opaque: c.opaque().map(text),
            userhash: c
                .param("userhash")
                .is_some_and(|v| v.eq_ignore_ascii_case(b"true")),
            body_hash: None,
        }
    }

    /// Records H(entity-body) when the attempt used qop=auth-int (RFC 7616 §3.4.3); the
    /// body is gone once the message is dropped, so the engine calls this at record time.
    pub fn set_body(&mut self, body: &[u8]) {
        if self
            .qop
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case("auth-int"))
        {
            let alg = Algorithm::parse(self.algorithm.as_deref());
            self.body_hash = alg.hash_hex(&[body]);
        }
    }
}

/// Digest algorithm (RFC 7616 §3.3, §6.1 registry); open: anything else is kept by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (also the meaning of an absent `algorithm`, RFC 2617 §3.2.2).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256` (SHA-512/256, FIPS 180-4).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
    /// Any other token, as sent.
    Other(String),
}

/// The hash function under an [`Algorithm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashKind {
    /// MD5.
    Md5,
    /// SHA-256.
    Sha256,
    /// SHA-512/256.
    Sha512_256,
}

impl Algorithm {
    /// Parses the `algorithm` parameter, case-insensitively; `None` means MD5.
    pub fn parse(name: Option<&str>) -> Algorithm {
        let Some(n) = name else {
            return Algorithm::Md5;
        };
        let known = [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
            ("SHA-512-256", Algorithm::Sha512_256),
            ("SHA-512-256-sess", Algorithm::Sha512_256Sess),
        ];
        known
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, a)| a)
            .unwrap_or_else(|| Algorithm::Other(n.to_string()))
    }

    /// The RFC 7616 name.
    pub fn as_str(&self) -> &str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
            Algorithm::Other(n) => n,
        }
    }

    /// `-sess` variant: HA1 is rehashed with the nonce and client nonce (RFC 7616 §3.4.2).
    pub fn is_sess(&self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }

    /// The hash function, `None` for an algorithm known only by name.
    pub fn kind(&self) -> Option<HashKind> {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => Some(HashKind::Md5),
            Algorithm::Sha256 | Algorithm::Sha256Sess => Some(HashKind::Sha256),
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => Some(HashKind::Sha512_256),
            Algorithm::Other(_) => None,
        }
    }

    /// Lowercase hex hash of the concatenated parts, or `None` for an unknown algorithm.
    pub fn hash_hex(&self, parts: &[&[u8]]) -> Option<String> {
        self.kind().map(|k| hex_of(k, parts))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lowercase hex of the hash of the concatenated parts.
fn hex_of(kind: HashKind, parts: &[&[u8]]) -> String {
    fn hex<D: Digest>(parts: &[&[u8]]) -> String {
        use fmt::Write as _;
        let mut h = D::new();
        for p in parts {
            h.update(p);
        }
        let mut s = String::with_capacity(64);
        for b in h.finalize() {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
    match kind {
        HashKind::Md5 => hex::<md5::Md5>(parts),
        HashKind::Sha256 => hex::<sha2::Sha256>(parts),
        HashKind::Sha512_256 => hex::<sha2::Sha512_256>(parts),
    }
}
