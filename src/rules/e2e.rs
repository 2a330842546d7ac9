//! End-to-end protection rules: S/MIME bodies (RFC 3261 §23, RFC 8551) and STIR/SHAKEN
//! `Identity` headers (RFC 8224, PASSporT RFC 8225, SHAKEN extension RFC 8588).
//!
//! Both are reported as facts (info): siplens shows what protection a call carried and
//! what the PASSporT claims, but verifies no signature (that needs the signer's
//! certificate, fetched from `x5u`, which a passive analyzer must not do).

use base64::Engine as _;
use serde_json::Value;

use crate::engine::{Finding, RuleId, Severity};
use crate::sip::{HeaderName, MediaType, MessageView};

use super::media::Seen;

/// `e2e.smime`: an S/MIME signed or enveloped body (info).
pub const SMIME: RuleId = RuleId("e2e.smime");
/// `e2e.identity`: a STIR/SHAKEN Identity header (info).
pub const IDENTITY: RuleId = RuleId("e2e.identity");

/// S/MIME bodies recorded per dialog.
pub const MAX_SMIME_PER_DIALOG: usize = 4;
/// Identity headers recorded per dialog.
pub const MAX_IDENTITY_PER_DIALOG: usize = 4;
/// Longest Identity value decoded; a real SHAKEN PASSporT is under 1 KiB.
pub const MAX_IDENTITY_LEN: usize = 8192;
/// Longest base64url header or claims part decoded (about 3 KiB of JSON).
const MAX_PART_LEN: usize = 4096;
/// Longest decoded text kept from a claim or header field.
const MAX_FIELD: usize = 128;
/// Destination numbers kept from `dest.tn` / `dest.uri`.
const MAX_DEST: usize = 4;
/// Multipart nesting followed when looking for S/MIME parts.
const MAX_MIME_DEPTH: usize = 3;

/// Which part of a PASSporT (RFC 8225 §4: JWS compact serialization) a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header.
    Header,
    /// The claims (payload).
    Claims,
    /// The signature.
    Signature,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Header => "JOSE header",
            Part::Claims => "claims",
            Part::Signature => "signature",
        })
    }
}

/// Why an Identity value did not decode completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The header value holds nothing before its parameters.
    #[error("empty Identity value")]
    Empty,
    /// The value is longer than [`MAX_IDENTITY_LEN`].
    #[error("Identity value longer than {MAX_IDENTITY_LEN} bytes")]
    TooLong,
    /// A quoted value: the RFC 4474 Identity (obsoleted by RFC 8224), not a PASSporT.
    #[error("quoted value: RFC 4474 Identity, not a PASSporT")]
    Rfc4474,
    /// Not `header.claims.signature` (RFC 8225 §4); the number of parts found.
    #[error("PASSporT has {0} dot-separated part(s), not 3")]
    Parts(usize),
    /// A part longer than the decoder accepts.
    #[error("{0} too long to decode")]
    PartTooLong(Part),
    /// A part that is not base64url (RFC 7515 §2).
    #[error("{0} is not base64url")]
    Base64(Part),
    /// A part that decoded but is not a JSON object (RFC 7515 §4, RFC 8225 §5).
    #[error("{0} is not a JSON object")]
    Json(Part),
    /// An empty signature.
    #[error("signature is empty")]
    NoSignature,
}

/// The JOSE header of a PASSporT (RFC 8225 §4.1, RFC 8588 §4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassportHeader {
    /// `alg` (ES256 for SHAKEN).
    pub alg: Option<String>,
    /// `ppt` extension (`shaken`, `div`, `rcd`...).
    pub ppt: Option<String>,
    /// `typ` (`passport`).
    pub typ: Option<String>,
    /// `x5u`: where the signer's certificate is published.
    pub x5u: Option<String>,
}

/// The claims of a PASSporT (RFC 8225 §5, RFC 8588 §4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassportClaims {
    /// `attest`: A (full), B (partial), C (gateway) attestation.
    pub attest: Option<String>,
    /// `orig.tn` (or `orig.uri`).
    pub orig: Option<String>,
    /// `dest.tn` / `dest.uri` entries (at most [`MAX_DEST`]).
    pub dest: Vec<String>,
    /// `iat`: issued-at, seconds since the Unix epoch.
    pub iat: Option<i64>,
    /// `origid`: the originating service provider's opaque id.
    pub origid: Option<String>,
}

/// One `Identity` header value (RFC 8224 §4.1):
/// `signed-identity-digest *(SEMI ident-info-params)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity<'a> {
    /// The PASSporT as written (without parameters).
    pub token: &'a [u8],
    /// Compact form (RFC 8224 §7.3 / RFC 8225 §7): header and claims left out.
    pub compact: bool,
    /// Decoded JOSE header, when it decoded.
    pub header: Option<PassportHeader>,
    /// Decoded claims, when they decoded.
    pub claims: Option<PassportClaims>,
    /// Decoded signature length in bytes (64 for ES256).
    pub signature_len: usize,
    /// `info` parameter (the certificate URI, without its `<>`).
    pub info: Option<&'a [u8]>,
    /// `alg` parameter.
    pub alg: Option<&'a [u8]>,
    /// `ppt` parameter.
    pub ppt: Option<&'a [u8]>,
    /// What failed to decode, in order.
    pub errors: Vec<IdentityError>,
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    s.get(start..end.max(start)).unwrap_or(&[])
}

fn short(s: &str) -> String {
    s.chars().take(MAX_FIELD).collect()
}

fn text(b: &[u8]) -> String {
    short(&String::from_utf8_lossy(b))
}

/// base64url without padding (RFC 7515 §2), tolerating padding and the standard
/// alphabet, which some implementations emit.
fn b64(part: &[u8]) -> Option<Vec<u8>> {
    let p = trim(part);
    let p = p.strip_suffix(b"==").or(p.strip_suffix(b"=")).unwrap_or(p);
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(p))
        .ok()
}

fn json_part(part: &[u8], which: Part, errors: &mut Vec<IdentityError>) -> Option<Value> {
    if part.len() > MAX_PART_LEN {
        errors.push(IdentityError::PartTooLong(which));
        return None;
    }
    let Some(bytes) = b64(part) else {
        errors.push(IdentityError::Base64(which));
        return None;
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => {
            errors.push(IdentityError::Json(which));
            None
        }
    }
}

fn string_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(short(s)),
        Value::Number(n) => Some(short(&n.to_string())),
        _ => None,
    }
}

/// `tn` or `uri` of an `orig`/`dest` object; `dest` values are arrays (RFC 8225 §5.2.1).
fn identities(v: Option<&Value>) -> Vec<String> {
    let Some(v) = v else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["tn", "uri"] {
        match v.get(key) {
            Some(Value::String(s)) => out.push(short(s)),
            Some(Value::Array(a)) => {
                out.extend(a.iter().filter_map(Value::as_str).take(MAX_DEST).map(short))
            }
            _ => {}
        }
    }
    out.truncate(MAX_DEST);
    out
}

fn header_of(v: &Value) -> PassportHeader {
    PassportHeader {
        alg: string_field(v, "alg"),
        ppt: string_field(v, "ppt"),
        typ: string_field(v, "typ"),
        x5u: string_field(v, "x5u"),
    }
}

fn claims_of(v: &Value) -> PassportClaims {
    PassportClaims {
        attest: string_field(v, "attest"),
        orig: identities(v.get("orig")).into_iter().next(),
        dest: identities(v.get("dest")),
        iat: v.get("iat").and_then(Value::as_i64),
        origid: string_field(v, "origid"),
    }
}

/// Parses one Identity header value. Lenient: every field that decodes is kept, and each
/// failure is listed in [`Identity::errors`]; never panics.
pub fn parse_identity(value: &[u8]) -> Identity<'_> {
    let value = trim(value);
    let mut id = Identity {
        token: &[],
        compact: false,
        header: None,
        claims: None,
        signature_len: 0,
        info: None,
        alg: None,
        ppt: None,
        errors: Vec::new(),
    };
    if value.len() > MAX_IDENTITY_LEN {
        id.errors.push(IdentityError::TooLong);
        return id;
    }
    // The digest is a token; ident-info-params follow after `;` (RFC 8224 §4.1).
    let end = value
        .iter()
        .position(|&b| b == b';' || b.is_ascii_whitespace())
        .unwrap_or(value.len());
    let (token, mut rest) = value.split_at(end);
    id.token = token;
    while let Some(p) = trim(rest).strip_prefix(b";") {
        let p = trim(p);
        let name_end = p
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(p.len());
        let (name, after) = p.split_at(name_end);
        let name = trim(name);
        let Some(v) = after.strip_prefix(b"=") else {
            rest = after;
            continue;
        };
        let v = trim(v);
        let (val, next) = if let Some(inner) = v.strip_prefix(b"<") {
            // The info URI is bracketed and may hold `;` itself.
            match inner.iter().position(|&b| b == b'>') {
                Some(i) => (
                    inner.get(..i).unwrap_or(&[]),
                    inner.get(i + 1..).unwrap_or(&[]),
                ),
                None => (inner, &[][..]),
            }
        } else {
            let e = v.iter().position(|&b| b == b';').unwrap_or(v.len());
            let (a, b) = v.split_at(e);
            let a = trim(a);
            // gen-value may be a quoted-string (RFC 3261 §25.1).
            let a = a
                .strip_prefix(b"\"")
                .and_then(|x| x.strip_suffix(b"\""))
                .unwrap_or(a);
            (a, b)
        };
        if name.eq_ignore_ascii_case(b"info") {
            id.info = Some(val);
        } else if name.eq_ignore_ascii_case(b"alg") {
            id.alg = Some(val);
        } else if name.eq_ignore_ascii_case(b"ppt") {
            id.ppt = Some(val);
        }
        rest = next;
    }
    if token.is_empty() {
        id.errors.push(IdentityError::Empty);
        return id;
    }
    if token.first() == Some(&b'"') {
        id.errors.push(IdentityError::Rfc4474);
        return id;
    }
    let parts: Vec<&[u8]> = token.splitn(4, |&b| b == b'.').collect();
    let [h, c, s] = parts.as_slice() else {
        id.errors
            .push(IdentityError::Parts(token.split(|&b| b == b'.').count()));
        return id;
    };
    if h.is_empty() && c.is_empty() {
        id.compact = true;
    } else {
        id.header = json_part(h, Part::Header, &mut id.errors).map(|v| header_of(&v));
        id.claims = json_part(c, Part::Claims, &mut id.errors).map(|v| claims_of(&v));
    }
    if s.is_empty() {
        id.errors.push(IdentityError::NoSignature);
    } else if s.len() > MAX_PART_LEN {
        id.errors.push(IdentityError::PartTooLong(Part::Signature));
    } else {
        match b64(s) {
            Some(sig) => id.signature_len = sig.len(),
            None => id.errors.push(IdentityError::Base64(Part::Signature)),
        }
    }
    id
}

/// What an S/MIME body does (RFC 8551 §3.2 `smime-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmimeKind {
    /// `multipart/signed` with a pkcs7-signature, or pkcs7-mime `signed-data`.
    Signed,
    /// pkcs7-mime `enveloped-data` (or no smime-type, as RFC 3261 §23.4 sends it).
    Enveloped,
}

impl SmimeKind {
    fn as_str(self) -> &'static str {
        match self {
            SmimeKind::Signed => "signed",
            SmimeKind::Enveloped => "enveloped (encrypted)",
        }
    }
}

fn is_pkcs7(ct: &MediaType<'_>, sub: &str) -> bool {
    ct.type_.eq_ignore_ascii_case(b"application")
        && (ct.subtype.eq_ignore_ascii_case(sub.as_bytes())
            || ct
                .subtype
                .strip_prefix(b"x-")
                .is_some_and(|s| s.eq_ignore_ascii_case(sub.as_bytes())))
}

fn smime_of(ct: &MediaType<'_>) -> Option<SmimeKind> {
    if ct.is("multipart", "signed") {
        let proto = ct.param("protocol").map(trim).unwrap_or(&[]);
        let signed = proto.eq_ignore_ascii_case(b"application/pkcs7-signature")
            || proto.eq_ignore_ascii_case(b"application/x-pkcs7-signature");
        return signed.then_some(SmimeKind::Signed);
    }
    if is_pkcs7(ct, "pkcs7-mime") {
        let t = ct.param("smime-type").map(trim).unwrap_or(&[]);
        return Some(if t.eq_ignore_ascii_case(b"signed-data") {
            SmimeKind::Signed
        } else {
            SmimeKind::Enveloped
        });
    }
    None
}

/// Finds S/MIME in a body with Content-Type `ct`: the body itself, or a part of a
/// multipart body (nested up to [`MAX_MIME_DEPTH`]). Returns the kind and the
/// Content-Type that carried it.
pub fn find_smime(ct: &MediaType<'_>, body: &[u8]) -> Option<(SmimeKind, String)> {
    find_smime_at(ct, body, 0)
}

fn find_smime_at(ct: &MediaType<'_>, body: &[u8], depth: usize) -> Option<(SmimeKind, String)> {
    if let Some(k) = smime_of(ct) {
        let name = format!(
            "{}/{}",
            String::from_utf8_lossy(ct.type_),
            String::from_utf8_lossy(ct.subtype)
        );
        return Some((k, name.to_ascii_lowercase()));
    }
    if depth >= MAX_MIME_DEPTH || !ct.type_.eq_ignore_ascii_case(b"multipart") {
        return None;
    }
    let boundary = ct.param("boundary")?;
    crate::sip::multipart_part_types(body, boundary)
        .into_iter()
        .find_map(|(pct, content)| find_smime_at(&pct, content, depth + 1))
}

/// An S/MIME body seen in a dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct SmimeRecord {
    /// Where it was seen.
    pub at: Seen,
    /// Request method or status line of the carrying message.
    pub message: String,
    /// Signed or enveloped.
    pub kind: SmimeKind,
    /// The Content-Type that carried it (`multipart/signed`, `application/pkcs7-mime`).
    pub content_type: String,
}

/// An Identity header seen in a dialog, decoded and owned.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityRecord {
    /// Where it was seen.
    pub at: Seen,
    /// Request method of the carrying message.
    pub message: String,
    /// Compact form.
    pub compact: bool,
    /// Decoded header.
    pub header: Option<PassportHeader>,
    /// Decoded claims.
    pub claims: Option<PassportClaims>,
    /// `info` parameter.
    pub info: Option<String>,
    /// `ppt` parameter (or the header's `ppt`).
    pub ppt: Option<String>,
    /// Decoded signature length.
    pub signature_len: usize,
    /// What failed to decode.
    pub errors: Vec<IdentityError>,
}

impl IdentityRecord {
    /// Decodes one header value into an owned record.
    pub fn from_value(value: &[u8], at: Seen, message: &str) -> IdentityRecord {
        let id = parse_identity(value);
        IdentityRecord {
            at,
            message: message.to_string(),
            compact: id.compact,
            ppt: id
                .ppt
                .map(text)
                .or_else(|| id.header.as_ref().and_then(|h| h.ppt.clone())),
            header: id.header,
            claims: id.claims,
            info: id.info.map(text),
            signature_len: id.signature_len,
            errors: id.errors,
        }
    }
}

/// End-to-end facts from one message, with what was dropped at the per-dialog caps.
pub(crate) fn observe(
    msg: &MessageView<'_>,
    at: Seen,
    message: &str,
    smime: &mut Vec<SmimeRecord>,
    identity: &mut Vec<IdentityRecord>,
) -> u64 {
    let mut dropped = 0;
    for v in msg.headers_named(HeaderName::Identity) {
        let r = IdentityRecord::from_value(v, at, message);
        // The same request relayed over several captured hops carries the same PASSporT.
        let same = |o: &IdentityRecord| {
            o.header == r.header && o.claims == r.claims && o.info == r.info && o.errors == r.errors
        };
        if identity.iter().any(same) {
            continue;
        }
        if identity.len() >= MAX_IDENTITY_PER_DIALOG {
            dropped += 1;
            continue;
        }
        identity.push(r);
    }
    if let Some(ct) = msg.content_type() {
        if let Some((kind, content_type)) = find_smime(ct, msg.body) {
            let same = |o: &SmimeRecord| {
                o.kind == kind && o.message == message && o.content_type == content_type
            };
            if smime.iter().any(same) {
                return dropped;
            }
            if smime.len() >= MAX_SMIME_PER_DIALOG {
                dropped += 1;
            } else {
                smime.push(SmimeRecord {
                    at,
                    message: message.to_string(),
                    kind,
                    content_type,
                });
            }
        }
    }
    dropped
}

fn finding(
    rule: RuleId,
    call_id: &str,
    at: &Seen,
    summary: String,
    advice: &'static str,
) -> Finding {
    Finding::new(rule, Severity::Info, at.ts)
        .call(call_id)
        .flow(at.src, at.dst)
        .summary(summary)
        .evidence(vec![at.frame])
        .advice(advice)
}

/// The `e2e.*` findings of one dialog: one per S/MIME body and per Identity header.
pub fn findings(call_id: &str, smime: &[SmimeRecord], identity: &[IdentityRecord]) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in smime {
        out.push(finding(
            SMIME,
            call_id,
            &s.at,
            format!(
                "S/MIME {} body ({}) in {} frame {} from {} to {}",
                s.kind.as_str(),
                s.content_type,
                s.message,
                s.at.frame,
                s.at.src,
                s.at.dst
            ),
            "S/MIME protects the body end to end (RFC 3261 §23, RFC 8551) but not the \
             headers: keep SIP over TLS as well. siplens does not verify signatures or \
             decrypt; check certificates at the endpoints.",
        ));
    }
    for r in identity {
        out.push(finding(
            IDENTITY,
            call_id,
            &r.at,
            identity_summary(r),
            "siplens does not verify PASSporT signatures: a verification service must \
             fetch the certificate at x5u/info, check it chains to a trusted STI-CA and \
             check iat freshness (RFC 8224 §6.2, RFC 8588). Attestation C means the \
             originating provider does not vouch for the caller.",
        ));
    }
    out
}

fn identity_summary(r: &IdentityRecord) -> String {
    let mut parts: Vec<String> = Vec::new();
    if r.compact {
        parts.push("compact form (claims rebuilt from SIP headers)".to_string());
    }
    if let Some(c) = &r.claims {
        parts.push(format!(
            "attestation {}",
            c.attest.as_deref().unwrap_or("none")
        ));
        parts.push(format!("orig {}", c.orig.as_deref().unwrap_or("?")));
        parts.push(format!(
            "dest {}",
            if c.dest.is_empty() {
                "?".to_string()
            } else {
                c.dest.join(",")
            }
        ));
        if let Some(iat) = c.iat {
            parts.push(format!("iat {iat}"));
        }
        if let Some(o) = &c.origid {
            parts.push(format!("origid {o}"));
        }
    }
    let x5u = r
        .header
        .as_ref()
        .and_then(|h| h.x5u.clone())
        .or_else(|| r.info.clone());
    if let Some(x) = x5u {
        parts.push(format!("x5u {x}"));
    }
    if let Some(a) = r.header.as_ref().and_then(|h| h.alg.as_deref()) {
        parts.push(format!("alg {a}"));
    }
    if let Some(p) = &r.ppt {
        parts.push(format!("ppt {p}"));
    }
    let failed = if r.errors.is_empty() {
        String::new()
    } else {
        format!(
            "; could not decode: {}",
            r.errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "STIR/SHAKEN Identity in {} frame {}: {}{failed}; signature not verified",
        r.message,
        r.at.frame,
        if parts.is_empty() {
            "nothing decoded".to_string()
        } else {
            parts.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The example PASSporT of RFC 8588 (its JOSE header and claims, base64url), with a
    /// 64-byte stand-in signature and a quoted `ppt` parameter.
    const RFC8588: &[u8] = b"eyJhbGciOiJFUzI1NiIsInR5cCI6InBhc3Nwb3J0IiwicHB0Ijoic2hha2VuIiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9.eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjE1NTU1MTIxMyJdfSwiaWF0IjoxNDQzMjA4MzQ1LCJvcmlnIjp7InRuIjoiMTIxNTU1NTEyMTIifSwib3JpZ2lkIjoiMTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjU1NDQwMDAwIn0.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw;info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=\"shaken\"";

    #[test]
    fn rfc8588_example_decodes() {
        let id = parse_identity(RFC8588);
        assert!(id.errors.is_empty(), "{:?}", id.errors);
        assert!(!id.compact);
        let h = id.header.expect("header");
        assert_eq!(h.alg.as_deref(), Some("ES256"));
        assert_eq!(h.typ.as_deref(), Some("passport"));
        assert_eq!(h.ppt.as_deref(), Some("shaken"));
        assert_eq!(
            h.x5u.as_deref(),
            Some("https://cert.example.org/passport.cer")
        );
        let c = id.claims.expect("claims");
        assert_eq!(c.attest.as_deref(), Some("A"));
        assert_eq!(c.orig.as_deref(), Some("12155551212"));
        assert_eq!(c.dest, vec!["12155551213".to_string()]);
        assert_eq!(c.iat, Some(1_443_208_345));
        assert_eq!(
            c.origid.as_deref(),
            Some("123e4567-e89b-12d3-a456-426655440000")
        );
        assert_eq!(id.signature_len, 64);
        assert_eq!(id.info, Some(&b"https://cert.example.org/passport.cer"[..]));
        assert_eq!(id.alg, Some(&b"ES256"[..]));
        assert_eq!(id.ppt, Some(&b"shaken"[..]));
    }

    #[test]
    fn compact_form_and_padding() {
        let id = parse_identity(
            b"..AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw;info=<https://x.example/c.pem>;alg=ES256;ppt=shaken",
        );
        assert!(id.compact && id.errors.is_empty(), "{:?}", id.errors);
        assert!(id.header.is_none() && id.claims.is_none());
        assert_eq!(id.signature_len, 64);
        // Padded base64url ("{}" is e30 / "e30=") still decodes.
        let id = parse_identity(b"e30=.e30=.AAAA");
        assert!(id.errors.is_empty(), "{:?}", id.errors);
        assert_eq!(id.header, Some(PassportHeader::default()));
        assert_eq!(id.claims, Some(PassportClaims::default()));
    }

    #[test]
    fn malformed_values_say_what_failed() {
        assert_eq!(parse_identity(b"abc").errors, vec![IdentityError::Parts(1)]);
        assert_eq!(
            parse_identity(b"a.b.c.d").errors,
            vec![IdentityError::Parts(4)]
        );
        assert_eq!(
            parse_identity(b";info=<x>").errors,
            vec![IdentityError::Empty]
        );
        assert_eq!(
            parse_identity(b"\"ZyJ\";info=<x>").errors,
            vec![IdentityError::Rfc4474]
        );
        let id = parse_identity(b"!!!.e30.");
        assert_eq!(
            id.errors,
            vec![
                IdentityError::Base64(Part::Header),
                IdentityError::NoSignature
            ]
        );
        assert_eq!(id.claims, Some(PassportClaims::default()));
        // "[1]" is JSON but not an object.
        let id = parse_identity(b"WzFd.e30.AAAA");
        assert_eq!(id.errors, vec![IdentityError::Json(Part::Header)]);
        let long = vec![b'a'; MAX_IDENTITY_LEN + 1];
        assert_eq!(parse_identity(&long).errors, vec![IdentityError::TooLong]);
    }

    fn mt(s: &[u8]) -> MediaType<'_> {
        MediaType::parse(s).expect("media type")
    }

    #[test]
    fn smime_bodies() {
        let signed = mt(
            b"multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha1; boundary=b",
        );
        assert_eq!(
            find_smime(&signed, b"").map(|x| x.0),
            Some(SmimeKind::Signed)
        );
        let env = mt(b"application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m");
        assert_eq!(
            find_smime(&env, b"").map(|x| x.0),
            Some(SmimeKind::Enveloped)
        );
        let opaque = mt(b"application/x-pkcs7-mime; smime-type=signed-data");
        assert_eq!(
            find_smime(&opaque, b"").map(|x| x.0),
            Some(SmimeKind::Signed)
        );
        let mixed = mt(b"multipart/mixed; boundary=xx");
        let body = b"--xx\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--xx\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nMIIB\r\n--xx--\r\n";
        assert_eq!(
            find_smime(&mixed, body),
            Some((SmimeKind::Enveloped, "application/pkcs7-mime".to_string()))
        );
        // Negative: SDP alone, and multipart/signed with a PGP signature.
        let body = b"--xx\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--xx--\r\n";
        assert_eq!(find_smime(&mixed, body), None);
        assert_eq!(find_smime(&mt(b"application/sdp"), b"v=0"), None);
        let pgp = mt(b"multipart/signed; protocol=\"application/pgp-signature\"; boundary=b");
        assert_eq!(find_smime(&pgp, b""), None);
    }

    proptest! {
        #[test]
        fn identity_parser_never_panics(b in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_identity(&b);
        }

        #[test]
        fn three_part_values_never_panic(
            h in "[A-Za-z0-9_=+/-]{0,64}",
            c in "[A-Za-z0-9_=+/-]{0,64}",
            s in "[A-Za-z0-9_=-]{0,64}",
            p in "(;[a-z]{1,5}=(<[^>]{0,10}>?|[a-z]{0,5})){0,3}",
        ) {
            let v = format!("{h}.{c}.{s}{p}");
            let id = parse_identity(v.as_bytes());
            prop_assert!(id.errors.iter().all(|e| !matches!(e, IdentityError::Parts(_))));
        }
    }
}
