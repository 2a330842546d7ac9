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

/// The bytes of a plain hostname or IPv4 address (`C_HOST` of `URI_CLASS`), as a table of
/// their own for [`check_host`]'s AND-fold: one load a byte where the range tests were a
/// dozen instructions.
const HOST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = URI_CLASS[i] & C_HOST != 0;
        i += 1;
    }
    t
};

/// Byte classes of the plain-URI fast path ([`Uri::parse_plain`]), one table load a byte.
/// `C_HOST`: `hostname` / `IPv4address` bytes (RFC 3261 §25.1: alphanumerics, `-`, `.`).
const C_HOST: u8 = 1;
/// `C_USER`: the `user` bytes the fast path takes (§25.1 `unreserved` and the
/// `user-unreserved` `& = + $`, plus `%` of an escape, not validated as in the general
/// parse): a superset of `C_HOST`, without `:` `@` `;` `?` `,` `/` `<` `>` `"` or LWS, whose
/// meaning the general parse has to work out.
const C_USER: u8 = 2;
/// `C_PARAM`: the bytes of `uri-parameters` the fast path takes: `token` characters, `;`
/// and `=` (no `@`, which would make the general parse take everything before it as a
/// user part, no `?` which starts headers, no `>` which ends a name-addr URI).
const C_PARAM: u8 = 4;

const URI_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut c = 0;
        if alnum || b == b'-' || b == b'.' {
            c |= C_HOST;
        }
        if alnum
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
                    | b'('
                    | b')'
                    | b'%'
                    | b'&'
                    | b'='
                    | b'+'
                    | b'$'
            )
        {
            c |= C_USER;
        }
        if alnum
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~' | b';' | b'='
            )
        {
            c |= C_PARAM;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Length of the run of bytes of class `class` starting at `pos`.
#[inline(always)]
fn class_run(s: &[u8], pos: usize, class: u8) -> usize {
    let mut i = pos;
    while s
        .get(i)
        .is_some_and(|&b| URI_CLASS[usize::from(b)] & class != 0)
    {
        i += 1;
    }
    i - pos
}

/// Length of the run of `hostname` / `IPv4address` bytes (alphanumerics, `-`, `.`) at
/// `pos`: a non-empty run is a host [`check_host`] accepts.
#[inline]
pub(crate) fn host_run(s: &[u8], pos: usize) -> usize {
    class_run(s, pos, C_HOST)
}

/// A port of one to five digits at `pos`, at most 65535: (port, digits). None for any
/// other port, which the general parse then reads (or rejects) itself.
#[inline(always)]
pub(crate) fn plain_port(s: &[u8], pos: usize) -> Option<(u16, usize)> {
    let mut v: u32 = 0;
    let mut n = 0;
    while let Some(&b) = s.get(pos + n) {
        if !b.is_ascii_digit() {
            break;
        }
        if n == 5 {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
        n += 1;
    }
    if n == 0 {
        return None;
    }
    Some((u16::try_from(v).ok()?, n))
}

impl<'a> Uri<'a> {
    /// Parses a URI. Lenient where it costs nothing (escapes are not validated, the
    /// user part may hold `?`, `;`, `,` as RFC 4475 §3.1.1.2 shows); fails on a missing
    /// scheme, LWS, an empty or unbracketed-IPv6 host, or a bad port (RFC 5118 §4.2).
    pub fn parse(s: &'a [u8]) -> Result<Uri<'a>, FieldError> {
        // The usual shape in one scan; anything else (or a plain prefix followed by more)
        // goes through the general parse below.
        if let Some((u, end)) = Uri::parse_plain(s) {
            if end == s.len() {
                return Ok(u);
            }
        }
        Uri::parse_general(s)
    }

    /// Fast path of [`Uri::parse`] for the usual shape `sip[s]:[user@]host[:port][;params]`
    /// with plain bytes only (see `URI_CLASS`): one scan with a table load a byte, where
    /// the general parse searches the same bytes for `:`, `@`, `;`, `?` and LWS in turn.
    ///
    /// Returns the URI over `s[..end]` and `end`, the first byte that is not part of that
    /// shape: the caller checks it is where its URI ends (the end of the value, or the `>`
    /// of a name-addr). When it is, the URI is exactly what the general parse of
    /// `s[..end]` gives, and its host passes [`check_host`]. None: not this shape.
    #[inline]
    pub(crate) fn parse_plain(s: &'a [u8]) -> Option<(Uri<'a>, usize)> {
        let (scheme, body) = if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"sip:")) {
            (Scheme::Sip, 4)
        } else if s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case(b"sips:")) {
            (Scheme::Sips, 5)
        } else {
            return None;
        };
        // User bytes (a superset of host bytes) up to the first other byte: an `@` there
        // is the first `@` of the URI, which ends the user part (§19.1.1).
        let mut i = body;
        let mut all_host = true;
        while let Some(&b) = s.get(i) {
            let c = URI_CLASS[usize::from(b)];
            if c & C_USER == 0 {
                break;
            }
            all_host &= c & C_HOST != 0;
            i += 1;
        }
        let (user, host_start, host_end) = if s.get(i) == Some(&b'@') {
            if i == body {
                return None;
            }
            (s.get(body..i), i + 1, i + 1 + host_run(s, i + 1))
        } else if all_host {
            (None, body, i)
        } else {
            return None;
        };
        if host_end == host_start {
            return None;
        }
        let mut end = host_end;
        let mut port = None;
        if s.get(end) == Some(&b':') {
            let (p, n) = plain_port(s, end + 1)?;
            port = Some(p);
            end += 1 + n;
        }
        let params_start = end;
        if s.get(end) == Some(&b';') {
            end += class_run(s, end, C_PARAM);
        }
        let params = Params::uri(s.get(params_start..end).unwrap_or(&[]));
        Some((
            Uri {
                scheme,
                user,
                password: None,
                host: s.get(host_start..host_end).unwrap_or(&[]),
                port,
                params,
                headers: Vec::new(),
                opaque: s.get(body..end).unwrap_or(&[]),
                // Most URIs have no parameters: no call to look into an empty list.
                transport: if end == params_start {
                    None
                } else {
                    params.get("transport").flatten()
                },
            },
            end,
        ))
    }

    /// The general parse (every shape [`Uri::parse_plain`] does not take).
    pub(crate) fn parse_general(s: &'a [u8]) -> Result<Uri<'a>, FieldError> {
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
pub(crate) mod tests {
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

    /// (offset in `base`, length) of a non-empty slice of `base`; empty slices compare as
    /// empty wherever they point (the shape memo stores them so).
    pub(crate) fn pos(base: &[u8], x: &[u8]) -> (usize, usize) {
        if x.is_empty() {
            return (0, 0);
        }
        (x.as_ptr() as usize - base.as_ptr() as usize, x.len())
    }

    /// Every field of two parses of `base`, as slices of it.
    pub(crate) fn same_uri(base: &[u8], a: &Uri<'_>, b: &Uri<'_>) {
        assert_eq!(a, b, "{:?}", String::from_utf8_lossy(base));
        let o = |x: Option<&[u8]>| x.map(|x| pos(base, x));
        if let (Scheme::Other(x), Scheme::Other(y)) = (a.scheme, b.scheme) {
            assert_eq!(pos(base, x), pos(base, y));
        }
        assert_eq!(o(a.user), o(b.user));
        assert_eq!(o(a.password), o(b.password));
        assert_eq!(pos(base, a.host), pos(base, b.host));
        assert_eq!(pos(base, a.params.raw()), pos(base, b.params.raw()));
        assert_eq!(pos(base, a.opaque), pos(base, b.opaque));
        assert_eq!(o(a.transport), o(b.transport));
    }

    /// The plain fast path against the general parse it short-cuts: same result, same
    /// slices, and a host the strict check accepts.
    pub(crate) fn parse_both(v: &[u8]) {
        let got = Uri::parse(v);
        let want = Uri::parse_general(v);
        match (&got, &want) {
            (Ok(a), Ok(b)) => same_uri(v, a, b),
            _ => assert_eq!(got, want, "{:?}", String::from_utf8_lossy(v)),
        }
        if let Some((u, end)) = Uri::parse_plain(v) {
            let want = Uri::parse_general(v.get(..end).unwrap_or(&[])).unwrap();
            same_uri(v, &u, &want);
            assert_eq!(u.check_host(), Ok(()));
        }
    }

    /// Real URIs of the usual shapes and their near misses, each mutated by the proptest.
    pub(crate) const URI_SEEDS: &[&[u8]] = &[
        b"sip:u0@10.0.0.1",
        b"sip:+15551000000@192.0.2.10",
        b"sip:u0@10.0.0.1:5060",
        b"sip:alice@127.0.0.1:5070;transport=UDP",
        b"SIPS:bob@biloxi.example.com;lr;transport=tls",
        b"sip:proxy.example.com:5060;lr",
        b"sip:h:65535",
        b"sip:h:65536",
        b"sip:h:05060",
        b"sip:a;b@h",
        b"sip:a:pw@h:1",
        b"sip:a@h;x=1@y",
        b"sip:user@[2001:db8::1]:5061",
        b"sip:2001:db8::10",
        b"sip:a@h?Subject=x",
        b"tel:+1-201-555-0123",
        b"sips:",
        b"sip:@h",
        b"sip:a@",
        b"sip:a@h:",
    ];

    #[test]
    fn plain_matches_general_table() {
        for v in URI_SEEDS {
            parse_both(v);
        }
    }

    /// `seed` with each `(at, byte, kind)` edit applied in turn: kind 0 replaces the byte at
    /// `at` (modulo the length), 1 removes it, anything else inserts `byte` there.
    pub(crate) fn mutate(seed: &[u8], edits: Vec<(usize, u8, u8)>) -> Vec<u8> {
        let mut v = seed.to_vec();
        for (at, b, kind) in edits {
            let i = at % (v.len() + 1);
            match kind {
                0 if i < v.len() => v[i] = b,
                1 if i < v.len() => {
                    v.remove(i);
                }
                _ => v.insert(i, b),
            }
        }
        v
    }

    /// Bytes the mutations insert: the ones that steer either parse.
    pub(crate) const NEAR_MISS: &[u8] = b"sipSIP:@;=?&,<>[]\" \t\r\n%_~.-+0959x\xff";

    proptest::proptest! {
        #[test]
        fn plain_matches_general(
            seed in 0..URI_SEEDS.len(),
            edits in proptest::collection::vec(
                (0usize..64, proptest::sample::select(NEAR_MISS.to_vec()), 0u8..3), 0..4),
            random in proptest::collection::vec(proptest::sample::select(NEAR_MISS.to_vec()), 0..30),
        ) {
            let v = mutate(URI_SEEDS[seed], edits);
            parse_both(&v);
            parse_both(&random);
            let mut prefixed = b"sip:".to_vec();
            prefixed.extend_from_slice(&random);
            parse_both(&prefixed);
        }
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
