//! WWW-Authenticate / Proxy-Authenticate challenges and Authorization /
//! Proxy-Authorization credentials (RFC 3261 §20.7, §20.27, §20.28, §20.44, §25.1;
//! RFC 7616 Digest, RFC 7617 Basic token68).

use super::text::{is_lws, is_token, read_quoted, run, skip_lws};
use std::borrow::Cow;

/// The authentication scheme (case-insensitive, RFC 7235 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthScheme<'a> {
    /// `Digest` (RFC 7616).
    Digest,
    /// `Basic` (RFC 7617).
    Basic,
    /// Any other scheme, as on the wire (RFC 4475 §3.3.7).
    Other(&'a [u8]),
}

/// One challenge or credentials value: a scheme with auth-params or a token68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthValue<'a> {
    /// The scheme.
    pub scheme: AuthScheme<'a>,
    /// `name=value` pairs in order; quoted values are unquoted and unescaped
    /// (quoted-pair, §25.1).
    pub params: Vec<(&'a [u8], Cow<'a, [u8]>)>,
    /// The token68 form (`Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`).
    pub token68: Option<&'a [u8]>,
}

/// A WWW-Authenticate / Proxy-Authenticate value.
pub type Challenge<'a> = AuthValue<'a>;
/// An Authorization / Proxy-Authorization value.
pub type Credentials<'a> = AuthValue<'a>;

fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// A new challenge starts at `token LWS token-or-quote` where the first token is not
/// followed by `=` (RFC 7235 §4.1 lists several challenges comma-separated).
fn starts_new_scheme(s: &[u8], pos: usize) -> bool {
    let n = run(s, pos, is_token);
    if n == 0 || !s.get(pos + n).is_some_and(|&b| is_lws(b)) {
        return false;
    }
    let q = skip_lws(s, pos + n);
    s.get(q).is_some_and(|&b| b != b'=' && b != b',')
}

impl<'a> AuthValue<'a> {
    /// Parses every challenge/credentials in a header value (several challenges may
    /// share one header, separated by commas). Lenient: a missing comma between
    /// params (RFC 3665 §2.1 F3 as printed) is accepted.
    pub fn parse_all(s: &'a [u8]) -> Vec<AuthValue<'a>> {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            pos = skip_lws(s, pos);
            while s.get(pos) == Some(&b',') {
                pos = skip_lws(s, pos + 1);
            }
            let n = run(s, pos, is_token);
            if n == 0 {
                break;
            }
            let name = s.get(pos..pos + n).unwrap_or(&[]);
            let scheme = if name.eq_ignore_ascii_case(b"digest") {
                AuthScheme::Digest
            } else if name.eq_ignore_ascii_case(b"basic") {
                AuthScheme::Basic
            } else {
                AuthScheme::Other(name)
            };
            pos = skip_lws(s, pos + n);
            let mut v = AuthValue {
                scheme,
                params: Vec::new(),
                token68: None,
            };
            // token68: a run of token68 chars plus `=` padding ending the value.
            let t = run(s, pos, is_token68);
            let pad = run(s, pos + t, |b| b == b'=');
            let after = skip_lws(s, pos + t + pad);
            if t > 0 && matches!(s.get(after), None | Some(b',')) {
                v.token68 = s.get(pos..pos + t + pad);
                pos = after;
            } else {
                pos = parse_params(s, pos, &mut v.params);
            }
            out.push(v);
            if pos >= s.len() {
                break;
            }
        }
        out
    }

    /// Looks an auth-param up by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &**v)
    }
    /// `username`.
    pub fn username(&self) -> Option<&[u8]> {
        self.param("username")
    }
    /// `realm`.
    pub fn realm(&self) -> Option<&[u8]> {
        self.param("realm")
    }
    /// `nonce`.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.param("nonce")
    }
    /// `uri` (digest-uri).
    pub fn uri(&self) -> Option<&[u8]> {
        self.param("uri")
    }
    /// `response`.
    pub fn response(&self) -> Option<&[u8]> {
        self.param("response")
    }
    /// `algorithm` (absent means MD5, RFC 7616 §3.3).
    pub fn algorithm(&self) -> Option<&[u8]> {
        self.param("algorithm")
    }
    /// `qop` (a list in challenges, one value in credentials).
    pub fn qop(&self) -> Option<&[u8]> {
        self.param("qop")
    }
    /// `nc`.
    pub fn nc(&self) -> Option<&[u8]> {
        self.param("nc")
    }
    /// `cnonce`.
    pub fn cnonce(&self) -> Option<&[u8]> {
        self.param("cnonce")
    }
    /// `opaque`.
    pub fn opaque(&self) -> Option<&[u8]> {
        self.param("opaque")
    }
    /// `stale`.
    pub fn stale(&self) -> Option<&[u8]> {
        self.param("stale")
    }
}

/// Reads `name = value` pairs until the end or the start of the next challenge.
fn parse_params<'a>(
    s: &'a [u8],
    mut pos: usize,
    out: &mut Vec<(&'a [u8], Cow<'a, [u8]>)>,
) -> usize {
    loop {
        pos = skip_lws(s, pos);
        while s.get(pos) == Some(&b',') {
            pos = skip_lws(s, pos + 1);
        }
        if pos >= s.len() || (!out.is_empty() && starts_new_scheme(s, pos)) {
            return pos;
        }
        let n = run(s, pos, is_token);
        let name = s.get(pos..pos + n).unwrap_or(&[]);
        let eq = skip_lws(s, pos + n);
        if n == 0 || s.get(eq) != Some(&b'=') {
            // Not a param: skip past the next comma so parsing always advances.
            match s.get(pos..).and_then(|r| memchr::memchr(b',', r)) {
                Some(i) => {
                    pos += i + 1;
                    continue;
                }
                None => return s.len(),
            }
        }
        let vpos = skip_lws(s, eq + 1);
        if s.get(vpos) == Some(&b'"') {
            let (v, next, _) = read_quoted(s, vpos);
            out.push((name, v));
            pos = next;
        } else {
            let end = s
                .get(vpos..)
                .and_then(|r| r.iter().position(|&b| b == b',' || is_lws(b)))
                .map_or(s.len(), |i| vpos + i);
            out.push((name, Cow::Borrowed(s.get(vpos..end).unwrap_or(&[]))));
            pos = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_credentials() {
        let v = AuthValue::parse_all(
            b"Digest username=\"bob\", realm=\"biloxi.com\",\r\n nonce=\"dcd98b\", uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae4\", opaque=\"5ccc\\\"x\"",
        );
        assert_eq!(v.len(), 1);
        let c = &v[0];
        assert_eq!(c.scheme, AuthScheme::Digest);
        assert_eq!(c.username(), Some(&b"bob"[..]));
        assert_eq!(c.realm(), Some(&b"biloxi.com"[..]));
        assert_eq!(c.nonce(), Some(&b"dcd98b"[..]));
        assert_eq!(c.uri(), Some(&b"sip:bob@biloxi.com"[..]));
        assert_eq!(c.qop(), Some(&b"auth"[..]));
        assert_eq!(c.nc(), Some(&b"00000001"[..]));
        assert_eq!(c.cnonce(), Some(&b"0a4f113b"[..]));
        assert_eq!(c.response(), Some(&b"6629fae4"[..]));
        assert_eq!(c.opaque(), Some(&b"5ccc\"x"[..]));
        assert_eq!(c.algorithm(), None);
    }

    #[test]
    fn missing_comma_and_multiple_challenges() {
        let v = AuthValue::parse_all(
            b"Digest realm=\"a.com\" nonce=\"n1\", algorithm=MD5, Basic realm=\"b\"",
        );
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].realm(), Some(&b"a.com"[..]));
        assert_eq!(v[0].nonce(), Some(&b"n1"[..]));
        assert_eq!(v[0].algorithm(), Some(&b"MD5"[..]));
        assert_eq!(v[1].scheme, AuthScheme::Basic);
        assert_eq!(v[1].realm(), Some(&b"b"[..]));
    }

    #[test]
    fn basic_token68_and_unknown() {
        let v = AuthValue::parse_all(b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(v[0].scheme, AuthScheme::Basic);
        assert_eq!(v[0].token68, Some(&b"QWxhZGRpbjpvcGVuIHNlc2FtZQ=="[..]));
        let v = AuthValue::parse_all(b"NoOneKnowsThisScheme opaque-data=here");
        assert_eq!(v[0].scheme, AuthScheme::Other(b"NoOneKnowsThisScheme"));
        assert_eq!(v[0].param("opaque-data"), Some(&b"here"[..]));
        assert!(AuthValue::parse_all(b"").is_empty());
        let v = AuthValue::parse_all(b"Digest ,,junk, realm=x");
        assert_eq!(v[0].realm(), Some(&b"x"[..]));
    }
}
