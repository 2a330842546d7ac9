//! name-addr / addr-spec with header parameters: From, To, Contact, Route,
//! Record-Route, Refer-To... (RFC 3261 §20.10, §20.20, §20.39, §25.1).

use super::text::{
    self, is_lws, is_token, read_quoted, scan_generic_params, skip_lws, trim_lws, Params,
};
use super::uri::{ferr, FieldError, Uri};
use std::borrow::Cow;

/// `( name-addr / addr-spec ) *( SEMI param )`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Display name: quoted-string content unescaped (quoted-pairs resolved, folds
    /// read as SP) or the token sequence, trimmed.
    pub display_name: Option<Cow<'a, [u8]>>,
    /// The URI as written (between `<>` for name-addr).
    pub uri_raw: &'a [u8],
    /// The parsed URI.
    pub uri: Uri<'a>,
    /// Header parameters (`tag`, `expires`, `q`, ...), trimmed; quoted values keep
    /// their quotes. Read lazily from the wire bytes.
    pub params: Params<'a>,
    /// The first `tag` parameter's value, picked while the parse checked the parameters:
    /// the engine, the NAT model and the rules ask for the tags of every message.
    pub(super) tag: Option<&'a [u8]>,
}

impl<'a> NameAddr<'a> {
    /// Lenient parse of one value (already split from a comma list).
    pub fn parse(s: &'a [u8]) -> Result<NameAddr<'a>, FieldError> {
        parse_name_addr(s, false)
    }

    /// The `tag` parameter (§19.3).
    pub fn tag(&self) -> Option<&'a [u8]> {
        self.tag
    }

    /// Looks a header parameter up by case-insensitive name; `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&'a [u8]>> {
        self.params.get(name)
    }

    /// Contact `expires` parameter (§20.10).
    pub fn expires(&self) -> Option<u64> {
        self.param("expires").flatten().and_then(text::parse_u64)
    }
}

/// Parses a name-addr or addr-spec with params. `strict` turns RFC 3261 grammar
/// violations that the lenient mode recovers from into errors (used by
/// [`super::validate`]): unterminated quotes (RFC 4475 §3.1.2.6), non-token display
/// names (§3.1.2.15), LWS inside `<>` (§3.1.2.14), `?`/`,` in a bare addr-spec
/// (§3.1.2.13), empty parameters (§3.1.2.1).
pub(crate) fn parse_name_addr(s: &[u8], strict: bool) -> Result<NameAddr<'_>, FieldError> {
    let s = trim_lws(s);
    if let Some(n) = parse_plain(s) {
        return Ok(n);
    }
    if s.is_empty() {
        return Err(ferr("empty address"));
    }
    let mut display_name = None;
    // The URI when the fast path read it with the `<...>` (see `angle_or_plain`).
    let mut plain = None;
    let (uri_raw, rest) = if s.first() == Some(&b'"') {
        let (dn, next, closed) = read_quoted(s, 0);
        if !closed {
            if strict {
                return Err(ferr("unterminated quoted string"));
            }
            // Careful inference (RFC 4475 §3.1.2.6): the URI is the last <...>.
            let lt = memchr::memrchr(b'<', s).ok_or(ferr("unterminated quoted string"))?;
            let dn_end = lt;
            display_name = Some(Cow::Owned(
                trim_lws(s.get(1..dn_end).unwrap_or(&[])).to_vec(),
            ));
            angle(s, lt, strict)?
        } else {
            display_name = Some(dn);
            let lt = skip_lws(s, next);
            if s.get(lt) != Some(&b'<') {
                return Err(ferr("quoted display name not followed by <"));
            }
            angle_or_plain(s, lt, strict, &mut plain)?
        }
    } else {
        match text::find_byte(b'<', s) {
            Some(lt) => {
                let dn = trim_lws(s.get(..lt).unwrap_or(&[]));
                if strict && !dn.iter().all(|&b| is_token(b) || is_lws(b)) {
                    return Err(ferr("display name is neither tokens nor a quoted string"));
                }
                if !dn.is_empty() {
                    display_name = Some(text::unfold(dn));
                }
                angle_or_plain(s, lt, strict, &mut plain)?
            }
            None => {
                // addr-spec: header params start at the first `;` (§20.10).
                let end = text::find_byte(b';', s).unwrap_or(s.len());
                let spec = trim_lws(s.get(..end).unwrap_or(&[]));
                if strict && spec.iter().any(|&b| b == b'?' || b == b',') {
                    return Err(ferr("URI with ? or , must be enclosed in <>"));
                }
                (spec, s.get(end..).unwrap_or(&[]))
            }
        }
    };
    let rest = trim_lws(rest);
    if !rest.is_empty() && rest.first() != Some(&b';') {
        return Err(ferr("unexpected text after address"));
    }
    // One pass for both strict parameter checks (reported in grammar order below) and
    // the `tag` lookup: the first occurrence, as `param("tag")` would find it.
    let mut tag = None;
    let (empty_param, bad_name) = scan_generic_params(rest, |n, v| {
        if tag.is_none() && n.eq_ignore_ascii_case(b"tag") {
            tag = Some(v);
        }
    });
    if strict && empty_param {
        return Err(ferr("empty parameter"));
    }
    let (uri, host_checked) = match plain {
        Some(u) => (u, true),
        None => (Uri::parse(uri_raw)?, false),
    };
    if strict {
        if !host_checked
            && matches!(
                uri.scheme,
                super::uri::Scheme::Sip | super::uri::Scheme::Sips
            )
        {
            uri.check_host()?;
        }
        if bad_name {
            return Err(ferr("bad parameter name"));
        }
    }
    let params = Params::generic(rest);
    let tag = tag.flatten();
    debug_assert_eq!(tag, params.get("tag").flatten());
    Ok(NameAddr {
        display_name,
        uri_raw,
        uri,
        params,
        tag,
    })
}

/// Fast path of [`parse_name_addr`] (`s` trimmed) for the usual shape: `<` a plain URI
/// ([`Uri::parse_plain`]) `>`, then nothing or a parameter list that passes the strict
/// checks. Built in place, where the general path moves the URI through its steps. It
/// is what the general path gives, lenient or strict: no display name, the split of
/// `angle` (the plain bytes hold no `>` and no LWS), the same parameter scan, a URI equal
/// to `Uri::parse` of the same bytes whose host passes `check_host`. None: another shape
/// (or a parameter list with an empty element or a bad name, which only the general
/// path reports or forgives).
#[inline(always)]
fn parse_plain(s: &[u8]) -> Option<NameAddr<'_>> {
    let body = s.strip_prefix(b"<")?;
    let (uri, end) = Uri::parse_plain(body)?;
    if body.get(end) != Some(&b'>') {
        return None;
    }
    let rest = trim_lws(body.get(end + 1..).unwrap_or(&[]));
    if !rest.is_empty() && rest.first() != Some(&b';') {
        return None;
    }
    let mut tag = None;
    // No call for the empty list (To, Contact: half the values).
    if !rest.is_empty() {
        let (empty_param, bad_name) = scan_generic_params(rest, |n, v| {
            if tag.is_none() && n.eq_ignore_ascii_case(b"tag") {
                tag = Some(v);
            }
        });
        if empty_param || bad_name {
            return None;
        }
    }
    Some(NameAddr {
        display_name: None,
        uri_raw: body.get(..end).unwrap_or(&[]),
        uri,
        params: Params::generic(rest),
        tag: tag.flatten(),
    })
}

/// [`angle`], and the parse of the URI when it has the usual plain shape
/// ([`Uri::parse_plain`]) and ends at the first `>`: then `plain` is set to what
/// `Uri::parse` would give for the same bytes, whose host passes `check_host`, and the
/// split is the one `angle` makes (the plain bytes hold no `>` and no LWS).
#[inline(always)]
fn angle_or_plain<'a>(
    s: &'a [u8],
    lt: usize,
    strict: bool,
    plain: &mut Option<Uri<'a>>,
) -> Result<(&'a [u8], &'a [u8]), FieldError> {
    if let Some(body) = s.get(lt + 1..) {
        if let Some((u, end)) = Uri::parse_plain(body) {
            if body.get(end) == Some(&b'>') {
                *plain = Some(u);
                return Ok((
                    body.get(..end).unwrap_or(&[]),
                    body.get(end + 1..).unwrap_or(&[]),
                ));
            }
        }
    }
    angle(s, lt, strict)
}

/// Splits `<uri>` at `lt` into (uri, rest after `>`).
fn angle(s: &[u8], lt: usize, strict: bool) -> Result<(&[u8], &[u8]), FieldError> {
    let inner_start = lt + 1;
    let gt = s
        .get(inner_start..)
        .and_then(|r| text::find_byte(b'>', r))
        .map(|i| inner_start + i)
        .ok_or(ferr("unterminated <"))?;
    let inner = s.get(inner_start..gt).unwrap_or(&[]);
    let uri = trim_lws(inner);
    if strict && uri.len() != inner.len() {
        return Err(ferr("whitespace inside <>"));
    }
    Ok((uri, s.get(gt + 1..).unwrap_or(&[])))
}

#[cfg(test)]
mod tests {
    use super::super::uri::tests::{mutate, pos, same_uri, NEAR_MISS};
    use super::*;

    /// The parse before the plain fast path, kept as the oracle (over the general URI
    /// parse and parameter scan).
    fn parse_name_addr_reference(s: &[u8], strict: bool) -> Result<NameAddr<'_>, FieldError> {
        let s = trim_lws(s);
        if s.is_empty() {
            return Err(ferr("empty address"));
        }
        let mut display_name = None;
        let (uri_raw, rest) = if s.first() == Some(&b'"') {
            let (dn, next, closed) = read_quoted(s, 0);
            if !closed {
                if strict {
                    return Err(ferr("unterminated quoted string"));
                }
                // Careful inference (RFC 4475 §3.1.2.6): the URI is the last <...>.
                let lt = memchr::memrchr(b'<', s).ok_or(ferr("unterminated quoted string"))?;
                let dn_end = lt;
                display_name = Some(Cow::Owned(
                    trim_lws(s.get(1..dn_end).unwrap_or(&[])).to_vec(),
                ));
                angle(s, lt, strict)?
            } else {
                display_name = Some(dn);
                let lt = skip_lws(s, next);
                if s.get(lt) != Some(&b'<') {
                    return Err(ferr("quoted display name not followed by <"));
                }
                angle(s, lt, strict)?
            }
        } else {
            match text::find_byte(b'<', s) {
                Some(lt) => {
                    let dn = trim_lws(s.get(..lt).unwrap_or(&[]));
                    if strict && !dn.iter().all(|&b| is_token(b) || is_lws(b)) {
                        return Err(ferr("display name is neither tokens nor a quoted string"));
                    }
                    if !dn.is_empty() {
                        display_name = Some(text::unfold(dn));
                    }
                    angle(s, lt, strict)?
                }
                None => {
                    // addr-spec: header params start at the first `;` (§20.10).
                    let end = text::find_byte(b';', s).unwrap_or(s.len());
                    let spec = trim_lws(s.get(..end).unwrap_or(&[]));
                    if strict && spec.iter().any(|&b| b == b'?' || b == b',') {
                        return Err(ferr("URI with ? or , must be enclosed in <>"));
                    }
                    (spec, s.get(end..).unwrap_or(&[]))
                }
            }
        };
        let rest = trim_lws(rest);
        if !rest.is_empty() && rest.first() != Some(&b';') {
            return Err(ferr("unexpected text after address"));
        }
        // One pass for both strict parameter checks (reported in grammar order below) and
        // the `tag` lookup: the first occurrence, as `param("tag")` would find it.
        let mut tag = None;
        let (empty_param, bad_name) = text::scan_generic_params_general(rest, |n, v| {
            if tag.is_none() && n.eq_ignore_ascii_case(b"tag") {
                tag = Some(v);
            }
        });
        if strict && empty_param {
            return Err(ferr("empty parameter"));
        }
        let uri = Uri::parse_general(uri_raw)?;
        if strict {
            if matches!(
                uri.scheme,
                super::super::uri::Scheme::Sip | super::super::uri::Scheme::Sips
            ) {
                uri.check_host()?;
            }
            if bad_name {
                return Err(ferr("bad parameter name"));
            }
        }
        let params = Params::generic(rest);
        let tag = tag.flatten();
        Ok(NameAddr {
            display_name,
            uri_raw,
            uri,
            params,
            tag,
        })
    }

    /// Both parses of `v`, lenient and strict: same result, same slices of `v`.
    fn parse_both(v: &[u8]) {
        for strict in [false, true] {
            let got = parse_name_addr(v, strict);
            let want = parse_name_addr_reference(v, strict);
            match (&got, &want) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{:?}", String::from_utf8_lossy(v));
                    if let (Some(Cow::Borrowed(x)), Some(Cow::Borrowed(y))) =
                        (&a.display_name, &b.display_name)
                    {
                        assert_eq!(pos(v, x), pos(v, y));
                    }
                    assert_eq!(pos(v, a.uri_raw), pos(v, b.uri_raw));
                    same_uri(v, &a.uri, &b.uri);
                    assert_eq!(pos(v, a.params.raw()), pos(v, b.params.raw()));
                    assert_eq!(a.tag.map(|t| pos(v, t)), b.tag.map(|t| pos(v, t)));
                }
                _ => assert_eq!(got, want, "{:?} {strict}", String::from_utf8_lossy(v)),
            }
        }
    }

    /// Real addresses of the usual shapes (the flood's and the signaling slice's) and near
    /// misses of the fast path, each mutated by the proptest.
    const SEEDS: &[&[u8]] = &[
        b"<sip:u0@10.0.0.1>;tag=fl00000000",
        b"<sip:+15551000000@192.0.2.10>",
        b"<sip:u0@10.0.0.1:5060>",
        b"\"Alice\" <sip:alice@127.0.0.1:5070>;tag=7281SIPpTag001",
        b"<sip:service@127.0.0.1:5060>;tag=1SIPpTag01",
        b"<sip:alice@127.0.0.1:5070;transport=UDP>",
        b"Bob <sips:bob@biloxi.example.com;lr>;expires=60;q=0.5",
        b"caller<sip:caller@example.com>;tag=323",
        b"sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        b"<sip:a@h>;tag=",
        b"<sip:a@h>;;tag=1",
        b"<sip:a@h> ;tag=1",
        b"<sip:a@h>x",
        b"< sip:a@h>",
        b"<sip:a@h:99999>",
        b"<sip:a@[::1]:5060>",
        b"<sip:2001:db8::1>",
        b"<sip:a@h;x=1?y=2>",
        b"<tel:+15551000000>;tag=x",
        b"\"Mr. J. User <sip:j.user@example.com>",
    ];

    #[test]
    fn fast_path_matches_reference_table() {
        for v in SEEDS {
            parse_both(v);
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_matches_reference(
            seed in 0..SEEDS.len(),
            edits in proptest::collection::vec(
                (0usize..64, proptest::sample::select(NEAR_MISS.to_vec()), 0u8..3), 0..4),
            random in proptest::collection::vec(proptest::sample::select(NEAR_MISS.to_vec()), 0..30),
        ) {
            let v = mutate(SEEDS[seed], edits);
            parse_both(&v);
            parse_both(&random);
            let mut angled = b"<sip:".to_vec();
            angled.extend_from_slice(&random);
            parse_both(&angled);
        }
    }

    #[test]
    fn quoted_display_name() {
        let a = NameAddr::parse(
            b"\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        )
        .unwrap();
        assert_eq!(a.display_name.as_deref(), Some(&b"J Rosenberg \\\""[..]));
        assert_eq!(a.uri.host, b"example.com");
        assert_eq!(a.tag(), Some(&b"98asjd8"[..]));
        assert!(parse_name_addr(
            b"\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
            true
        )
        .is_ok());
    }

    #[test]
    fn addr_spec_with_params() {
        let a =
            NameAddr::parse(b"sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(a.display_name, None);
        assert_eq!(a.uri_raw, b"sip:vivekg@chair-dnrc.example.com");
        assert_eq!(a.tag(), Some(&b"1918181833n"[..]));
        let a = NameAddr::parse(b"caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name.as_deref(), Some(&b"caller"[..]));
        let a = NameAddr::parse(b"<sip:u@h>;expires=60;q=0.5").unwrap();
        assert_eq!(a.expires(), Some(60));
    }

    #[test]
    fn strict_rejections() {
        let s = |v: &[u8]| parse_name_addr(v, true).map(|_| ()).map_err(|e| e.reason);
        assert_eq!(
            s(b"\"Watson, Thomas\" < sip:t.watson@example.org >"),
            Err("whitespace inside <>")
        );
        assert!(NameAddr::parse(b"\"Watson, Thomas\" < sip:t.watson@example.org >").is_ok());
        assert_eq!(
            s(b"Bell, Alexander <sip:a.g.bell@example.com>;tag=43"),
            Err("display name is neither tokens nor a quoted string")
        );
        assert_eq!(
            s(b"\"Mr. J. User <sip:j.user@example.com>"),
            Err("unterminated quoted string")
        );
        let a = NameAddr::parse(b"\"Mr. J. User <sip:j.user@example.com>").unwrap();
        assert_eq!(a.uri.host, b"example.com");
        assert_eq!(
            s(b"sip:user@example.com?Route=%3Csip:sip.example.com%3E"),
            Err("URI with ? or , must be enclosed in <>")
        );
        assert_eq!(
            s(b"\"Joe\" <sip:joe@example.org>;;;;"),
            Err("empty parameter")
        );
        assert_eq!(
            s(b"<sip:user@example.com?Route=%3Csip:sip.example.com%3E>"),
            Ok(())
        );
        assert_eq!(
            s(b"token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=_token~1'+`*%!-."),
            Ok(())
        );
        assert_eq!(s(b"isbn:2983792873"), Ok(()));
        assert_eq!(
            s(b"sip:user@[2001:db8:::192.0.2.1]"),
            Err("invalid IPv6 reference")
        );
    }
}
