//! Offline password audit of captured Digest responses: recompute a response for a
//! candidate password (RFC 2617 §3.2.2, RFC 7616 §3.4.1-3.4.3), test a wordlist against
//! many responses in parallel ([`Cracker`]), and export the responses for hashcat
//! (mode 11400) and John the Ripper (`sip` format) ([`export`]).
//!
//! Pure and engine-independent: the input is [`DigestTarget`]s (built from recorded
//! [`AuthAttempt`]s) and a wordlist in memory.

mod audit;
mod cracker;
pub mod export;
mod hash;
mod md5x;

pub use audit::{targets_of, weak_password_findings, Account, AuditTarget, Skipped};
pub use cracker::{CrackOutcome, Cracker, Hit};

pub use crate::model::auth::Algorithm;
pub(crate) use crate::model::auth::HashKind;
use crate::model::auth::{AuthAttempt, Scheme};

/// Quality of protection of one response (RFC 7616 §3.4.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Qop {
    /// No qop: the RFC 2069 form `H(HA1:nonce:HA2)`.
    None,
    /// `auth`.
    Auth,
    /// `auth-int`: HA2 covers H(entity-body).
    AuthInt,
}

impl Qop {
    /// The parameter text (`""` for none).
    pub fn as_str(&self) -> &'static str {
        match self {
            Qop::None => "",
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

/// Why a recorded attempt cannot be attacked offline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// Basic or another scheme: nothing to crack (a Basic password is already in clear).
    #[error("not a Digest response")]
    NotDigest,
    /// A parameter the response depends on is missing.
    #[error("no {0} parameter")]
    Missing(&'static str),
    /// `userhash=true`: the real username is not on the wire (RFC 7616 §3.4.4).
    #[error("userhash=true hides the username (RFC 7616 §3.4.4)")]
    UserHash,
    /// An algorithm this module does not implement.
    #[error("unknown algorithm {0}")]
    UnknownAlgorithm(String),
    /// A qop value other than auth and auth-int.
    #[error("unknown qop {0}")]
    UnknownQop(String),
    /// The response is not hex of the algorithm's digest length.
    #[error("response is not a {0}-digit hex digest")]
    BadResponse(usize),
}

/// One Digest response to attack, owned (RFC 7616 §3.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestTarget {
    /// Username.
    pub user: String,
    /// Realm.
    pub realm: String,
    /// Request method (HA2 input).
    pub method: String,
    /// Digest-uri as sent.
    pub uri: String,
    /// Server nonce.
    pub nonce: String,
    /// Client nonce (qop or -sess only).
    pub cnonce: String,
    /// Nonce count text as sent (qop only).
    pub nc: String,
    /// Quality of protection.
    pub qop: Qop,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Expected response, lowercase hex.
    pub response: String,
    /// Hex H(entity-body) for qop=auth-int.
    pub body_hash: String,
}

impl DigestTarget {
    /// Builds a target from a recorded attempt, or says why it cannot be attacked.
    pub fn from_attempt(a: &AuthAttempt) -> Result<DigestTarget, Skip> {
        if a.scheme != Scheme::Digest {
            return Err(Skip::NotDigest);
        }
        if a.userhash {
            return Err(Skip::UserHash);
        }
        let algorithm = Algorithm::parse(a.algorithm.as_deref());
        let Some(kind) = algorithm.kind() else {
            return Err(Skip::UnknownAlgorithm(algorithm.as_str().to_string()));
        };
        let qop = match a.qop.as_deref() {
            None => Qop::None,
            Some(q) if q.eq_ignore_ascii_case("auth") => Qop::Auth,
            Some(q) if q.eq_ignore_ascii_case("auth-int") => Qop::AuthInt,
            Some(q) => return Err(Skip::UnknownQop(q.to_string())),
        };
        let need = |v: &Option<String>, name: &'static str| v.clone().ok_or(Skip::Missing(name));
        let response = need(&a.response, "response")?.to_ascii_lowercase();
        let hex_len = 2 * hash::digest_len(kind);
        if response.len() != hex_len || !response.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Skip::BadResponse(hex_len));
        }
        let with_cnonce = qop != Qop::None || algorithm.is_sess();
        Ok(DigestTarget {
            user: need(&a.user, "username")?,
            realm: need(&a.realm, "realm")?,
            method: a.method.clone(),
            uri: need(&a.uri, "uri")?,
            nonce: need(&a.nonce, "nonce")?,
            cnonce: if with_cnonce {
                need(&a.cnonce, "cnonce")?
            } else {
                String::new()
            },
            nc: if qop == Qop::None {
                String::new()
            } else {
                need(&a.nc_text, "nc")?
            },
            body_hash: if qop == Qop::AuthInt {
                need(&a.body_hash, "entity-body hash")?
            } else {
                String::new()
            },
            qop,
            algorithm,
            response,
        })
    }

    /// The `:nonce:nc:cnonce:qop:HA2` (or RFC 2069 `:nonce:HA2`) text that follows HA1
    /// in the response hash (RFC 7616 §3.4.1); independent of the password.
    pub(crate) fn response_suffix(&self, kind: HashKind) -> Vec<u8> {
        let ha2 = match self.qop {
            Qop::AuthInt => hash::hex_of(
                kind,
                &[
                    self.method.as_bytes(),
                    b":",
                    self.uri.as_bytes(),
                    b":",
                    self.body_hash.as_bytes(),
                ],
            ),
            _ => hash::hex_of(kind, &[self.method.as_bytes(), b":", self.uri.as_bytes()]),
        };
        let mut s = Vec::with_capacity(self.nonce.len() + self.cnonce.len() + 96);
        s.push(b':');
        s.extend_from_slice(self.nonce.as_bytes());
        if self.qop != Qop::None {
            for part in [&self.nc, &self.cnonce, self.qop.as_str()] {
                s.push(b':');
                s.extend_from_slice(part.as_bytes());
            }
        }
        s.push(b':');
        s.extend_from_slice(ha2.as_bytes());
        s
    }

    /// The `:nonce:cnonce` text a -sess HA1 appends to H(user:realm:password) (RFC 7616
    /// §3.4.2).
    pub(crate) fn sess_suffix(&self) -> Vec<u8> {
        format!(":{}:{}", self.nonce, self.cnonce).into_bytes()
    }
}

/// The response a client knowing `password` would send for `target`, lowercase hex
/// (RFC 2617 §3.2.2, RFC 7616 §3.4.1-3.4.3; no qop is the RFC 2069 form). Empty for an
/// unknown algorithm.
pub fn response_for(target: &DigestTarget, password: &[u8]) -> String {
    let Some(kind) = target.algorithm.kind() else {
        return String::new();
    };
    let mut ha1 = hash::hex_of(
        kind,
        &[
            target.user.as_bytes(),
            b":",
            target.realm.as_bytes(),
            b":",
            password,
        ],
    );
    if target.algorithm.is_sess() {
        ha1 = hash::hex_of(kind, &[ha1.as_bytes(), &target.sess_suffix()]);
    }
    hash::hex_of(kind, &[ha1.as_bytes(), &target.response_suffix(kind)])
}

#[cfg(test)]
mod tests;
