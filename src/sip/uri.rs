//! SIP/SIPS/tel URIs (RFC 3261 §19.1, §25.1; RFC 3966; IPv6 references RFC 5118).

use super::text::{self, has_lws, parse_u64, Params};

/// A field that could not be parsed: a fixed reason (RFC grammar rule that failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct FieldError {
    /// What was wrong.
    pub reason: &'static str,
}

pub(crate) const fn ferr(reason: &'static str) -> FieldError {
    FieldError { reason }
}

/// URI scheme (case-insensitive, RFC 3986 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme<'a> {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
    /// Any other absoluteURI scheme, as on the wire.
    Other(&'a [u8]),
}

/// A parsed URI. For `sip`/`sips` every field is filled per RFC 3261 §19.1.1; for `tel`
/// the number is in `user` and `host` is empty; other schemes keep only `opaque`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri<'a> {
    /// The scheme.
    pub scheme: Scheme<'a>,
    /// Userinfo user part (still %-escaped), or the tel number.
    pub user: Option<&'a [u8]>,
    /// Password after `user:` (deprecated, §19.1.1).
    pub password: Option<&'a [u8]>,
    /// Host name, IPv4 address or IPv6 reference with its brackets.
    pub host: &'a [u8],
    /// Port, if present.
    pub port: Option<u16>,
    /// `;name[=value]` URI parameters, in order (read lazily from the wire bytes).
    pub params: Params<'a>,
    /// `?name=value&...` headers (still %-escaped), in order.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// Everything after `scheme:`.
    pub opaque: &'a [u8],
    /// The first `transport` parameter's value, looked up once by the parse: the TLS check
    /// asks it of every URI of every message, and a remembered parse
    /// ([`super::shape`]) gives it back without splitting the parameters again.
    pub(super) transport: Option<&'a [u8]>,
}

fn is_scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

/// The bytes of a plain hostname or IPv4 address (RFC 3261 §25.1 `hostname`, `IPv4address`:
/// alphanumerics, `-`, `.`), as a table built at compile time: one load a byte where the
/// range tests were a dozen instructions.
const HOST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
        i += 1;
    }
    t
};

impl<'a> Uri<'a> {
    /// Parses a URI. Lenient where it costs nothing (escapes are not validated, the
    /// user part may hold `?`, `;`, `,` as RFC 4475 §3.1.1.2 shows); fails on a missing
    /// scheme, LWS, an empty or unbracketed-IPv6 host, or a bad port (RFC 5118 §4.2).
    pub fn parse(s: &'a [u8]) -> Result<Uri<'a>, FieldError> {
        let colon = text::find_byte(b':', s).ok_or(ferr("URI without scheme"))?;
        let scheme_b = s.get(..colon).unwrap_or(&[]);
        if !scheme_b.first().is_some_and(u8::is_ascii_alphabetic)
            || !scheme_b.iter().all(|&b| is_scheme_char(b))
        {
            return Err(ferr("bad URI scheme"));
        }
        if has_lws(s) {
            return Err(ferr("whitespace in URI"));
        }
        let opaque = s.get(colon + 1..).unwrap_or(&[]);
        let scheme = if scheme_b.eq_ignore_ascii_case(b"sip") {
            Scheme::Sip
        } else if scheme_b.eq_ignore_ascii_case(b"sips") {
            Scheme::Sips
        } else if scheme_b.eq_ignore_ascii_case(b"tel") {
            Scheme::Tel
        } else {
            Scheme::Other(scheme_b)
        };
        let mut uri = Uri {
            scheme,
            user: None,
            password: None,
            host: &[],
            port: None,
            params: Params::uri(&[]),
            headers: Vec::new(),
            opaque,
            transport: None,
        };
        match scheme {
            Scheme::Sip | Scheme::Sips => uri.parse_sip(opaque)?,
            Scheme::Tel => {
                let end = text::find_byte(b';', opaque).unwrap_or(opaque.len());
                let number = opaque.get(..end).unwrap_or(&[]);
                if number.is_empty() {
                    return Err(ferr("empty tel number"));
                }
                uri.user = Some(number);
                uri.params = Params::uri(opaque.get(end..).unwrap_or(&[]));
            }
            Scheme::Other(_) => {
                if opaque.is_empty() {
                    return Err(ferr("empty URI"));
                }
            }
        }
        uri.transport = uri.params.get("transport").flatten();
        Ok(uri)
    }

    fn parse_sip(&mut self, rest: &'a [u8]) -> Result<(), FieldError> {
        // The user part may contain `;`, `?`, `,` (RFC 4475 §3.1.1.2, §3.1.1.9), and
        // neither params nor headers may contain an unescaped `@`: the first `@` ends it.
        let hostpart = match text::find_byte(b'@', rest) {
            Some(at) => {
                let userinfo = rest.get(..at).unwrap_or(&[]);
                match text::find_byte(b':', userinfo) {
                    Some(c) => {
                        self.user = userinfo.get(..c);
                        self.password = userinfo.get(c + 1..);
                    }
                    None => self.user = Some(userinfo),
                }
                if self.user.is_some_and(<[u8]>::is_empty) {
                    return Err(ferr("empty user part"));
                }
                rest.get(at + 1..).unwrap_or(&[])
            }
            None => rest,
        };
        let (host, after) = if hostpart.first() == Some(&b'[') {
            let close =
                text::find_byte(b']', hostpart).ok_or(ferr("unterminated IPv6 reference"))?;
            (
                hostpart.get(..=close).unwrap_or(&[]),
                hostpart.get(close + 1..).unwrap_or(&[]),
            )
        } else {
            let hp_end = text::find2(b';', b'?', hostpart).unwrap_or(hostpart.len());
            let hp = hostpart.get(..hp_end).unwrap_or(&[]);
            // Liberal recovery: an IPv6 address without brackets (RFC 5118 §4.2 calls
            // it invalid; real stacks send it). Take it all as the host, no port;
            // `check_host` still rejects it.
            let end = text::host_len(hp);
            (
                hostpart.get(..end).unwrap_or(&[]),
                hostpart.get(end..).unwrap_or(&[]),
            )
        };
        if host.is_empty() {
            return Err(ferr("empty host"));
        }
        self.host = host;
        let mut after = after;
        if let Some(p) = after.strip_prefix(b":") {
            let end = text::find2(b';', b'?', p).unwrap_or(p.len());
            let port = p.get(..end).unwrap_or(&[]);
            self.port = Some(
                parse_u64(port)
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or(ferr("bad port"))?,
            );
            after = p.get(end..).unwrap_or(&[]);
        }
        let qpos = text::find_byte(b'?', after).unwrap_or(after.len());
        self.params = Params::uri(after.get(..qpos).unwrap_or(&[]));
        if let Some(h) = after.get(qpos + 1..) {
            self.headers = h
                .split(|&b| b == b'&')
                .filter(|p| !p.is_empty())
                .map(|p| match text::find_byte(b'=', p) {
                    Some(eq) => (p.get(..eq).unwrap_or(&[]), p.get(eq + 1..).unwrap_or(&[])),
                    None => (p, &[][..]),
                })
                .collect();
        }
        Ok(())
    }

    /// Looks a URI parameter up by case-insensitive name; `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&'a [u8]>> {
        self.params.get(name)
    }

    /// `transport=` parameter.
    pub fn transport(&self) -> Option<&'a [u8]> {
        self.transport
    }

    /// The host without IPv6 brackets.
    pub fn host_unbracketed(&self) -> &'a [u8] {
        self.host
            .strip_prefix(b"[")
            .and_then(|h| h.strip_suffix(b"]"))
            .unwrap_or(self.host)
    }

    /// Strict host check (RFC 3261 §25.1 `host`, RFC 5118 §4.10): a hostname, an IPv4
    /// address, or an IPv6 reference whose content is a valid IPv6 address.
    pub(crate) fn check_host(&self) -> Result<(), FieldError> {
        check_host(self.host)
    }
}

/// Strict `host` check shared by URIs and Via sent-by.
pub(crate) fn check_host(host: &[u8]) -> Result<(), FieldError> {
    if let Some(inner) = host.strip_prefix(b"[") {
        let inner = inner
            .strip_suffix(b"]")
            .ok_or(ferr("unterminated IPv6 reference"))?;
        return std::str::from_utf8(inner)
            .ok()
            .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok())
            .map(|_| ())
            .ok_or(ferr("invalid IPv6 reference"));
    }
    // Fast path: a plain hostname or IPv4 address (the usual case) passes in one scan,
    // an AND-fold over table loads (no early exit: hosts are short and nearly always
    // pass).
    if !host.is_empty() && host.iter().fold(true, |acc, &b| acc & HOST[usize::from(b)]) {
        return Ok(());
    }
    if host.contains(&b':') {
        return Err(ferr("IPv6 address not enclosed in []"));
    }
    Err(ferr("invalid host"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uri_full() {
        let u = Uri::parse(
            b"sips:alice:pw@[2001:db8::1]:5061;transport=tls;lr?Subject=x&Priority=urgent",
        )
        .unwrap();
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user, Some(&b"alice"[..]));
        assert_eq!(u.password, Some(&b"pw"[..]));
        assert_eq!(u.host, b"[2001:db8::1]");
        assert_eq!(u.host_unbracketed(), b"2001:db8::1");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some(&b"tls"[..]));
        assert_eq!(u.param("LR"), Some(None));
        assert_eq!(
            u.headers,
            vec![
                (&b"Subject"[..], &b"x"[..]),
                (&b"Priority"[..], &b"urgent"[..])
            ]
        );
        assert!(u.check_host().is_ok());
    }

    #[test]
    fn user_part_with_reserved_chars() {
        let u = Uri::parse(b"sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(u.user, Some(&b"user;par=u%40example.net"[..]));
        assert_eq!(u.host, b"example.com");
        let u = Uri::parse(b"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com").unwrap();
        assert_eq!(u.host, b"example.com");
        assert_eq!(
            u.password,
            Some(&b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"[..])
        );
    }

    #[test]
    fn failures() {
        let u = Uri::parse(b"sip:2001:db8::10").unwrap();
        assert_eq!((u.host, u.port), (&b"2001:db8::10"[..], None));
        assert_eq!(
            u.check_host().unwrap_err().reason,
            "IPv6 address not enclosed in []"
        );
        assert_eq!(Uri::parse(b"sip:h:5x").unwrap_err().reason, "bad port");
        assert!(Uri::parse(b"<sip:a@b>").is_err());
        assert!(Uri::parse(b"sip:a@b; lr").is_err());
        assert!(Uri::parse(b"sip:@b").is_err());
        assert!(Uri::parse(b"sip:").is_err());
        assert!(Uri::parse(b"sip:a@[::1").is_err());
        assert!(Uri::parse(b"sip:a@b:99999").is_err());
        let u = Uri::parse(b"sip:user@[2001:db8:::192.0.2.1]").unwrap();
        assert!(u.check_host().is_err());
        assert!(Uri::parse(b"sip:[2001:db8::10:5070]")
            .unwrap()
            .check_host()
            .is_ok());
    }

    #[test]
    fn host_bytes() {
        for b in 0..=255u8 {
            let ok = b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
            assert_eq!(check_host(&[b, b'a']).is_ok(), ok, "{b}");
            assert_eq!(check_host(&[b'a', b]).is_ok(), ok, "{b}");
            assert_eq!(HOST[usize::from(b)], ok, "{b}");
        }
        assert_eq!(check_host(b"10.0.0.1"), Ok(()));
        assert!(check_host(b"").is_err());
        assert_eq!(
            check_host(b"fe80::1").unwrap_err().reason,
            "IPv6 address not enclosed in []"
        );
    }

    #[test]
    fn tel_and_other() {
        let u = Uri::parse(b"tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.user, Some(&b"+1-201-555-0123"[..]));
        assert_eq!(u.params.len(), 1);
        let u = Uri::parse(b"nobodyKnowsThisScheme:totallyopaquecontent").unwrap();
        assert_eq!(u.scheme, Scheme::Other(b"nobodyKnowsThisScheme"));
        assert_eq!(u.opaque, b"totallyopaquecontent");
        assert!(Uri::parse(b"soap.beep://192.0.2.103:3002").is_ok());
    }
}
