//! Via header values (RFC 3261 §20.42, §25.1 `via-parm`; RFC 3581 `rport`).

use super::text::{self, is_lws, is_token, run, scan_generic_params, skip_lws, trim_lws, Params};
use super::uri::{check_host, ferr, host_run, plain_port, FieldError};
use crate::bytes::find_any;

/// One `via-parm`: `sent-protocol LWS sent-by *( SEMI via-params )`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    /// Protocol name (`SIP`).
    pub protocol: &'a [u8],
    /// Protocol version (`2.0`).
    pub version: &'a [u8],
    /// Transport (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, ...), as on the wire.
    pub transport: &'a [u8],
    /// sent-by host (IPv6 references keep their brackets).
    pub host: &'a [u8],
    /// sent-by port.
    pub port: Option<u16>,
    /// `branch` parameter.
    pub branch: Option<&'a [u8]>,
    /// `received` parameter (an IPv6 address may come with or without brackets, RFC
    /// 5118 §4.5).
    pub received: Option<&'a [u8]>,
    /// `rport` (RFC 3581): `Some(None)` when present without a value.
    pub rport: Option<Option<u16>>,
    /// `maddr` parameter.
    pub maddr: Option<&'a [u8]>,
    /// `ttl` parameter (0..=255).
    pub ttl: Option<u8>,
    /// All parameters in order, trimmed (read lazily from the wire bytes).
    pub params: Params<'a>,
}

impl<'a> Via<'a> {
    /// Parses one via-parm (already split from the comma list). SWS is allowed around
    /// `/` in sent-protocol and around `;`/`=` (RFC 4475 §3.1.1.1).
    pub fn parse(s: &'a [u8]) -> Result<Via<'a>, FieldError> {
        parse_via(s, false)
    }

    /// Looks a parameter up by case-insensitive name; `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&'a [u8]>> {
        self.params.get(name)
    }

    /// The branch starts with the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    pub fn is_rfc3261_branch(&self) -> bool {
        self.branch.is_some_and(|b| b.starts_with(b"z9hG4bK"))
    }
}

fn token_at(s: &[u8], pos: usize) -> (&[u8], usize) {
    let n = run(s, pos, is_token);
    (s.get(pos..pos + n).unwrap_or(&[]), pos + n)
}

fn expect(s: &[u8], pos: usize, c: u8) -> Result<usize, FieldError> {
    let p = skip_lws(s, pos);
    if s.get(p) == Some(&c) {
        Ok(skip_lws(s, p + 1))
    } else {
        Err(ferr("bad Via sent-protocol"))
    }
}

/// Where an unbracketed sent-by host (with its `:port`) ends: the first `;`, `,` or LWS
/// byte, or the end.
#[inline]
fn sent_by_end(s: &[u8]) -> usize {
    find_any([b';', b',', b' ', b'\t', b'\r', b'\n'], s).unwrap_or(s.len())
}

/// The parts of a via-parm before its parameters: sent-protocol, sent-by, and the rest
/// (empty or starting with `;`).
struct Head<'a> {
    protocol: &'a [u8],
    version: &'a [u8],
    transport: &'a [u8],
    host: &'a [u8],
    port: Option<u16>,
    params_raw: &'a [u8],
}

/// Fast path of the head for the usual shape `SIP/2.0/transport SP host[:port]` followed
/// by `;` or the end, with a plain host (alphanumerics, `-`, `.`) and a port of at most
/// five digits: one scan, and exactly what [`head_general`] gives for it (its host passes
/// `check_host`, so the strict parse has nothing more to check). None: another shape.
#[inline(always)]
fn head_plain(s: &[u8]) -> Option<Head<'_>> {
    let tail = s.strip_prefix(b"SIP/2.0/")?;
    let (transport, p) = token_at(tail, 0);
    if transport.is_empty() || tail.get(p) != Some(&b' ') {
        return None;
    }
    let rest = tail.get(p + 1..)?;
    let h = host_run(rest, 0);
    if h == 0 {
        return None;
    }
    let (port, q) = match rest.get(h) {
        Some(&b':') => {
            let (port, n) = plain_port(rest, h + 1)?;
            (Some(port), h + 1 + n)
        }
        _ => (None, h),
    };
    let params_raw = rest.get(q..).unwrap_or(&[]);
    if !params_raw.is_empty() && params_raw.first() != Some(&b';') {
        return None;
    }
    Some(Head {
        protocol: s.get(..3).unwrap_or(&[]),
        version: s.get(4..7).unwrap_or(&[]),
        transport,
        host: rest.get(..h).unwrap_or(&[]),
        port,
        params_raw,
    })
}

pub(crate) fn parse_via(s: &[u8], strict: bool) -> Result<Via<'_>, FieldError> {
    let s = trim_lws(s);
    let head = match head_plain(s) {
        Some(h) => h,
        None => head_general(s, strict)?,
    };
    let Head {
        protocol,
        version,
        transport,
        host,
        port,
        params_raw,
    } = head;
    parse_via_params(protocol, version, transport, host, port, params_raw, strict)
}

/// The head of any via-parm (trimmed), with the general grammar: SWS around `/`, an
/// IPv6 reference, LWS around the `:` of the port (RFC 4475 §3.1.1.1).
fn head_general(s: &[u8], strict: bool) -> Result<Head<'_>, FieldError> {
    let (protocol, p) = token_at(s, 0);
    let p = expect(s, p, b'/')?;
    let (version, p) = token_at(s, p);
    let p = expect(s, p, b'/')?;
    let (transport, p) = token_at(s, p);
    if protocol.is_empty() || version.is_empty() || transport.is_empty() {
        return Err(ferr("bad Via sent-protocol"));
    }
    if !s.get(p).is_some_and(|&b| is_lws(b)) {
        return Err(ferr("missing Via sent-by"));
    }
    let p = skip_lws(s, p);
    let rest = s.get(p..).unwrap_or(&[]);
    let hlen = if rest.first() == Some(&b'[') {
        text::find_byte(b']', rest)
            .map(|i| i + 1)
            .ok_or(ferr("unterminated IPv6 reference"))?
    } else {
        // The first `;`, `,` or LWS (a word-at-a-time search: the per-byte test chain was
        // most of this parse's own cost).
        let tok = sent_by_end(rest);
        let t = rest.get(..tok).unwrap_or(&[]);
        // Unbracketed IPv6 sent-by: recovered as host without port (see Uri::parse).
        text::host_len(t)
    };
    let host = rest.get(..hlen).unwrap_or(&[]);
    if host.is_empty() {
        return Err(ferr("missing Via sent-by"));
    }
    if strict {
        check_host(host)?;
    }
    let mut q = skip_lws(rest, hlen);
    let mut port = None;
    if rest.get(q) == Some(&b':') {
        q = skip_lws(rest, q + 1);
        let n = run(rest, q, |b| b.is_ascii_digit());
        port = Some(
            rest.get(q..q + n)
                .and_then(text::parse_u64)
                .and_then(|v| u16::try_from(v).ok())
                .ok_or(ferr("bad Via port"))?,
        );
        q = skip_lws(rest, q + n);
    }
    let params_raw = rest.get(q..).unwrap_or(&[]);
    if !params_raw.is_empty() && params_raw.first() != Some(&b';') {
        return Err(ferr("unexpected text after Via sent-by"));
    }
    Ok(Head {
        protocol,
        version,
        transport,
        host,
        port,
        params_raw,
    })
}

/// The parameters of a via-parm and the result (shared by both heads).
#[inline(always)]
fn parse_via_params<'a>(
    protocol: &'a [u8],
    version: &'a [u8],
    transport: &'a [u8],
    host: &'a [u8],
    port: Option<u16>,
    params_raw: &'a [u8],
    strict: bool,
) -> Result<Via<'a>, FieldError> {
    // One pass picks the first occurrence of each known parameter (what a by-name
    // lookup per parameter would return) and gives the strict grammar's verdict.
    let (mut branch, mut received, mut rport, mut maddr, mut ttl) = (None, None, None, None, None);
    // The usual list `;branch=` token needs no scan: its elements are the empty text
    // before the `;` and `branch=V` with V all token characters (no `;`, `=`, quote, `<`
    // or LWS), which the scan would take as the one clean parameter `branch`, value V.
    let (empty, bad_name) = if let Some(v) = params_raw
        .strip_prefix(b";branch=")
        .filter(|v| text::all_token(v))
    {
        branch = Some(Some(v));
        (false, false)
    } else {
        scan_generic_params(params_raw, |n, v| {
            let slot = match n.len() {
                6 if n.eq_ignore_ascii_case(b"branch") => &mut branch,
                8 if n.eq_ignore_ascii_case(b"received") => &mut received,
                5 if n.eq_ignore_ascii_case(b"rport") => &mut rport,
                5 if n.eq_ignore_ascii_case(b"maddr") => &mut maddr,
                3 if n.eq_ignore_ascii_case(b"ttl") => &mut ttl,
                _ => return,
            };
            if slot.is_none() {
                *slot = Some(v);
            }
        })
    };
    if strict {
        if empty {
            return Err(ferr("empty Via parameter"));
        }
        if bad_name {
            return Err(ferr("bad Via parameter name"));
        }
    }
    let params = Params::generic(params_raw);
    if strict && branch.is_some_and(|b: Option<&[u8]>| b.is_none_or(<[u8]>::is_empty)) {
        return Err(ferr("empty Via branch"));
    }
    let branch = branch.flatten();
    let rport = match rport {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => Some(Some(
            text::parse_u64(v)
                .and_then(|v| u16::try_from(v).ok())
                .ok_or(ferr("bad Via rport"))?,
        )),
    };
    let ttl = match ttl.flatten() {
        None => None,
        Some(v) => Some(
            text::parse_u64(v)
                .and_then(|v| u8::try_from(v).ok())
                .ok_or(ferr("bad Via ttl"))?,
        ),
    };
    Ok(Via {
        protocol,
        version,
        transport,
        host,
        port,
        branch,
        received: received.flatten(),
        rport,
        maddr: maddr.flatten(),
        ttl,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::super::uri::tests::{mutate, pos};
    use super::*;

    #[test]
    fn plain() {
        let v = Via::parse(b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport;received=10.0.0.1;ttl=16;maddr=224.2.0.1").unwrap();
        assert_eq!(
            (v.protocol, v.version, v.transport),
            (&b"SIP"[..], &b"2.0"[..], &b"UDP"[..])
        );
        assert_eq!(v.host, b"192.0.2.1");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch, Some(&b"z9hG4bK776"[..]));
        assert!(v.is_rfc3261_branch());
        assert_eq!(v.rport, Some(None));
        assert_eq!(v.received, Some(&b"10.0.0.1"[..]));
        assert_eq!(v.ttl, Some(16));
        assert_eq!(v.maddr, Some(&b"224.2.0.1"[..]));
        let v = Via::parse(b"SIP/2.0/TCP h;rport=5066").unwrap();
        assert_eq!(v.rport, Some(Some(5066)));
    }

    #[test]
    fn tortuous_whitespace() {
        let v = Via::parse(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, b"UDP");
        assert_eq!(v.host, b"192.0.2.2");
        let v = Via::parse(b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239")
            .unwrap();
        assert_eq!(v.branch, Some(&b"z9hG4bK30239"[..]));
        assert!(parse_via(
            b"SIP  /  2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ",
            true
        )
        .is_ok());
    }

    #[test]
    fn ipv6() {
        let v = Via::parse(
            b"SIP/2.0/UDP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKas3",
        )
        .unwrap();
        assert_eq!(v.host, b"[2001:db8::9:1]");
        assert_eq!(v.port, Some(6050));
        assert_eq!(v.received, Some(&b"2001:db8::9:255"[..]));
    }

    #[test]
    fn errors() {
        assert!(Via::parse(b"").is_err());
        assert!(Via::parse(b"SIP/2.0/UDP").is_err());
        assert!(Via::parse(b"SIP/2.0 host").is_err());
        assert!(Via::parse(b"SIP/2.0/UDP h:x").is_err());
        assert!(Via::parse(b"SIP/2.0/UDP 192.0.2.15;;").is_ok());
        let v =
            Via::parse(b"SIP/2.0/UDP fe80:0:0:0:21a:a0ff:fe07:32e0:5060;branch=z9hG4bKk").unwrap();
        assert_eq!(
            (v.host, v.port),
            (&b"fe80:0:0:0:21a:a0ff:fe07:32e0:5060"[..], None)
        );
        assert_eq!(
            parse_via(b"SIP/2.0/UDP fe80::1;branch=z9hG4bKk", true)
                .unwrap_err()
                .reason,
            "IPv6 address not enclosed in []"
        );
        assert_eq!(
            parse_via(b"SIP/2.0/UDP 192.0.2.15;;", true)
                .unwrap_err()
                .reason,
            "empty Via parameter"
        );
    }

    /// The parse before the plain fast paths, kept as the oracle (over the general
    /// parameter scan).
    fn parse_via_reference(s: &[u8], strict: bool) -> Result<Via<'_>, FieldError> {
        let s = trim_lws(s);
        let (protocol, p) = token_at(s, 0);
        let p = expect(s, p, b'/')?;
        let (version, p) = token_at(s, p);
        let p = expect(s, p, b'/')?;
        let (transport, p) = token_at(s, p);
        if protocol.is_empty() || version.is_empty() || transport.is_empty() {
            return Err(ferr("bad Via sent-protocol"));
        }
        if !s.get(p).is_some_and(|&b| is_lws(b)) {
            return Err(ferr("missing Via sent-by"));
        }
        let p = skip_lws(s, p);
        let rest = s.get(p..).unwrap_or(&[]);
        let hlen = if rest.first() == Some(&b'[') {
            text::find_byte(b']', rest)
                .map(|i| i + 1)
                .ok_or(ferr("unterminated IPv6 reference"))?
        } else {
            // The first `;`, `,` or LWS (a word-at-a-time search: the per-byte test chain was
            // most of this parse's own cost).
            let tok = sent_by_end(rest);
            let t = rest.get(..tok).unwrap_or(&[]);
            // Unbracketed IPv6 sent-by: recovered as host without port (see Uri::parse).
            text::host_len(t)
        };
        let host = rest.get(..hlen).unwrap_or(&[]);
        if host.is_empty() {
            return Err(ferr("missing Via sent-by"));
        }
        if strict {
            check_host(host)?;
        }
        let mut q = skip_lws(rest, hlen);
        let mut port = None;
        if rest.get(q) == Some(&b':') {
            q = skip_lws(rest, q + 1);
            let n = run(rest, q, |b| b.is_ascii_digit());
            port = Some(
                rest.get(q..q + n)
                    .and_then(text::parse_u64)
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or(ferr("bad Via port"))?,
            );
            q = skip_lws(rest, q + n);
        }
        let params_raw = rest.get(q..).unwrap_or(&[]);
        if !params_raw.is_empty() && params_raw.first() != Some(&b';') {
            return Err(ferr("unexpected text after Via sent-by"));
        }
        // One pass picks the first occurrence of each known parameter (what a by-name
        // lookup per parameter would return) and gives the strict grammar's verdict.
        let (mut branch, mut received, mut rport, mut maddr, mut ttl) =
            (None, None, None, None, None);
        let (empty, bad_name) = text::scan_generic_params_general(params_raw, |n, v| {
            let slot = match n.len() {
                6 if n.eq_ignore_ascii_case(b"branch") => &mut branch,
                8 if n.eq_ignore_ascii_case(b"received") => &mut received,
                5 if n.eq_ignore_ascii_case(b"rport") => &mut rport,
                5 if n.eq_ignore_ascii_case(b"maddr") => &mut maddr,
                3 if n.eq_ignore_ascii_case(b"ttl") => &mut ttl,
                _ => return,
            };
            if slot.is_none() {
                *slot = Some(v);
            }
        });
        if strict {
            if empty {
                return Err(ferr("empty Via parameter"));
            }
            if bad_name {
                return Err(ferr("bad Via parameter name"));
            }
        }
        let params = Params::generic(params_raw);
        if strict && branch.is_some_and(|b: Option<&[u8]>| b.is_none_or(<[u8]>::is_empty)) {
            return Err(ferr("empty Via branch"));
        }
        let branch = branch.flatten();
        let rport = match rport {
            None => None,
            Some(None) => Some(None),
            Some(Some(v)) => Some(Some(
                text::parse_u64(v)
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or(ferr("bad Via rport"))?,
            )),
        };
        let ttl = match ttl.flatten() {
            None => None,
            Some(v) => Some(
                text::parse_u64(v)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or(ferr("bad Via ttl"))?,
            ),
        };
        Ok(Via {
            protocol,
            version,
            transport,
            host,
            port,
            branch,
            received: received.flatten(),
            rport,
            maddr: maddr.flatten(),
            ttl,
            params,
        })
    }

    /// Both parses of `v`, lenient and strict: same result, same slices of `v`.
    fn parse_both(v: &[u8]) {
        for strict in [false, true] {
            let got = parse_via(v, strict);
            let want = parse_via_reference(v, strict);
            match (&got, &want) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{:?}", String::from_utf8_lossy(v));
                    let o = |x: Option<&[u8]>| x.map(|x| pos(v, x));
                    for (x, y) in [
                        (a.protocol, b.protocol),
                        (a.version, b.version),
                        (a.transport, b.transport),
                        (a.host, b.host),
                        (a.params.raw(), b.params.raw()),
                    ] {
                        assert_eq!(pos(v, x), pos(v, y));
                    }
                    assert_eq!(o(a.branch), o(b.branch));
                    assert_eq!(o(a.received), o(b.received));
                    assert_eq!(o(a.maddr), o(b.maddr));
                }
                _ => assert_eq!(got, want, "{:?} {strict}", String::from_utf8_lossy(v)),
            }
        }
    }

    /// Real via-parms of the usual shape and near misses of the fast path.
    const SEEDS: &[&[u8]] = &[
        b"SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfl00000000",
        b"SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1-0-0",
        b"SIP/2.0/TCP h;rport=5066",
        b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport;received=10.0.0.1;ttl=16",
        b"SIP/2.0/UDP 192.0.2.15;;",
        b"SIP/2.0/UDP 192.0.2.15:5060 ;branch=x",
        b"SIP/2.0/UDP  192.0.2.15",
        b"SIP/2.0/UDP h:99999;branch=x",
        b"SIP/2.0/UDP h:0;branch=",
        b"SIP/2.0/UDP h;branch=x;branch=y",
        b"SIP/2.0/UDP h;branch==x",
        b"SIP/2.0/UDP h;BRANCH=x;rport=1",
        b"SIP/2.0/UDP h;branch=a<b",
        b"SIP/2.0/UDP h,SIP/2.0/UDP g",
        b"SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3",
        b"SIP/2.0/UDP fe80::1;branch=z9hG4bKk",
        b"SIP / 2.0 / UDP h;branch=x",
        b"sip/2.0/udp h_x;ttl=300",
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
                (0usize..64, proptest::sample::select(b"SIP/2.0 :;,=[]\t\r\n_x9".to_vec()), 0u8..3),
                0..4),
        ) {
            let v = mutate(SEEDS[seed], edits);
            parse_both(&v);
        }
    }

    /// The per-byte search `sent_by_end` replaced, kept as the oracle.
    fn sent_by_end_reference(s: &[u8]) -> usize {
        s.iter()
            .position(|&b| b == b';' || b == b',' || is_lws(b))
            .unwrap_or(s.len())
    }

    #[test]
    fn sent_by_ends() {
        assert_eq!(sent_by_end(b"10.0.0.1:5060;branch=z9hG4bK1"), 13);
        assert_eq!(sent_by_end(b"h , SIP/2.0/UDP g"), 1);
        assert_eq!(sent_by_end(b"h\r\n ;x"), 1);
        assert_eq!(sent_by_end(b"host.example.com"), 16);
        assert_eq!(sent_by_end(b""), 0);
    }

    proptest::proptest! {
        /// The word-at-a-time search against its oracle on arbitrary bytes and on
        /// mutated real sent-by values.
        #[test]
        fn sent_by_end_matches_reference(
            v in proptest::collection::vec(proptest::num::u8::ANY, 0..70),
            at in 0usize..64,
            byte in proptest::sample::select(b";, \t\r\n:[]a".to_vec()),
        ) {
            proptest::prop_assert_eq!(sent_by_end(&v), sent_by_end_reference(&v));
            let mut real = b"192.168.255.111:5060;branch=z9hG4bK30239;rport;received=10.0.0.1".to_vec();
            let i = at % real.len();
            real[i] = byte;
            proptest::prop_assert_eq!(sent_by_end(&real), sent_by_end_reference(&real));
        }
    }
}
