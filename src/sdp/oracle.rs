//! The parser as it was before the hand-written scans (nom sequences, `str::split_once`,
//! `str::trim`), kept as the oracle the proptests compare the fast paths against.
#![allow(dead_code)]

use std::net::IpAddr;

use nom::character::complete::{
    char, space0, u16 as dec_u16, u32 as dec_u32, u64 as dec_u64, u8 as dec_u8,
};
use nom::combinator::{opt, rest};
use nom::sequence::{preceded, tuple};
use nom::IResult;

use super::{
    Attribute, Bandwidth, Candidate, CandidateType, Connection, Crypto, Direction, Fingerprint,
    Fmtp, KeyParam, MediaDescription, MediaType, Mki, Origin, Proto, RtcpAttr, Rtpmap, Setup,
    Timing, ZrtpHash,
};

pub(super) fn ip_of(nettype: &str, addrtype: &str, address: &str) -> Option<IpAddr> {
    if !nettype.eq_ignore_ascii_case("IN") {
        return None;
    }
    let ip: IpAddr = address.parse().ok()?;
    match (addrtype.to_ascii_uppercase().as_str(), ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Some(ip),
        _ => None,
    }
}

type Res<'a, T> = IResult<&'a str, T>;

/// Runs a nom parser with the default error type, as an `Option` (we only need "did it
/// parse"; the caller turns failure into a typed problem with the line number).
fn run<'a, O>(mut p: impl FnMut(&'a str) -> Res<'a, O>, i: &'a str) -> Option<(&'a str, O)> {
    p(i).ok()
}

/// The longest non-empty run of bytes not `stop` at the start of `i`, as nom's
/// `take_till1` (`kind` is the error it reports on an empty run).
///
/// Scanned as bytes: nom's character parsers over `&str` decoded every character, and
/// `o=`, `c=`, `m=` and most attributes are read token by token. `stop` only ever
/// matches ASCII, so the split is on a character boundary.
fn till1(i: &str, stop: impl Fn(u8) -> bool, kind: nom::error::ErrorKind) -> Res<'_, &str> {
    let n = i.bytes().position(stop).unwrap_or(i.len());
    match (i.get(..n), i.get(n..)) {
        (Some(tok), Some(rest)) if n > 0 => Ok((rest, tok)),
        _ => Err(nom::Err::Error(nom::error::Error::new(i, kind))),
    }
}

/// A run of characters up to the next space or tab (nom's `take_till1`: at least one
/// character, the whole input when no blank follows).
fn token(i: &str) -> Res<'_, &str> {
    till1(
        i,
        |b| b == b' ' || b == b'\t',
        nom::error::ErrorKind::TakeTill1,
    )
}

/// One or more spaces or tabs (nom's `space1`).
fn space1(i: &str) -> Res<'_, &str> {
    till1(i, |b| b != b' ' && b != b'\t', nom::error::ErrorKind::Space)
}

/// A run of characters up to `/`, a space or a tab (the encoding name of `a=rtpmap`).
fn slash_free(i: &str) -> Res<'_, &str> {
    till1(
        i,
        |b| b == b'/' || b == b' ' || b == b'\t',
        nom::error::ErrorKind::TakeTill1,
    )
}

/// Succeeds only when nothing but blanks remain.
fn end(i: &str) -> Option<()> {
    i.trim().is_empty().then_some(())
}

/// Parses the text after `a=` into a typed attribute.
///
/// `Err(name)` means a known attribute whose value is malformed; the caller keeps it as
/// [`Attribute::Other`] and reports the name.
pub(super) fn parse_attribute(text: &str) -> Result<Attribute<'_>, &'static str> {
    let (name, value) = match text.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    let v = value.unwrap_or("").trim();
    // Attribute names are compared case-insensitively: RFC 8866 §9 says they are
    // case-sensitive, but real endpoints send `a=SendRecv` and we lose nothing by accepting.
    let lower = |s: &str| name.eq_ignore_ascii_case(s);
    let attr = if lower("rtpmap") {
        Attribute::Rtpmap(rtpmap(v).ok_or("rtpmap")?)
    } else if lower("fmtp") {
        let (params, format) = run(token, v).ok_or("fmtp")?;
        Attribute::Fmtp(Fmtp {
            format,
            params: params.trim(),
        })
    } else if lower("crypto") {
        Attribute::Crypto(Box::new(crypto(v).ok_or("crypto")?))
    } else if lower("fingerprint") {
        let (r, (hash_func, _, value)) =
            run(tuple((token, space1, token)), v).ok_or("fingerprint")?;
        end(r).ok_or("fingerprint")?;
        Attribute::Fingerprint(Fingerprint { hash_func, value })
    } else if lower("setup") {
        Attribute::Setup(match v {
            "" => return Err("setup"),
            s if s.eq_ignore_ascii_case("active") => Setup::Active,
            s if s.eq_ignore_ascii_case("passive") => Setup::Passive,
            s if s.eq_ignore_ascii_case("actpass") => Setup::Actpass,
            s if s.eq_ignore_ascii_case("holdconn") => Setup::Holdconn,
            s => Setup::Other(s),
        })
    } else if lower("candidate") {
        Attribute::Candidate(Box::new(candidate(v).ok_or("candidate")?))
    } else if lower("rtcp") {
        Attribute::Rtcp(rtcp(v).ok_or("rtcp")?)
    } else if lower("rtcp-mux") {
        Attribute::RtcpMux
    } else if lower("ptime") {
        Attribute::Ptime(millis(v).ok_or("ptime")?)
    } else if lower("maxptime") {
        Attribute::Maxptime(millis(v).ok_or("maxptime")?)
    } else if lower("sendrecv") {
        Attribute::Direction(Direction::SendRecv)
    } else if lower("sendonly") {
        Attribute::Direction(Direction::SendOnly)
    } else if lower("recvonly") {
        Attribute::Direction(Direction::RecvOnly)
    } else if lower("inactive") {
        Attribute::Direction(Direction::Inactive)
    } else if lower("zrtp-hash") {
        let (r, (version, _, hash)) = run(tuple((token, space1, token)), v).ok_or("zrtp-hash")?;
        end(r).ok_or("zrtp-hash")?;
        Attribute::ZrtpHash(ZrtpHash { version, hash })
    } else if lower("ice-ufrag") {
        Attribute::IceUfrag(non_empty(v).ok_or("ice-ufrag")?)
    } else if lower("ice-pwd") {
        Attribute::IcePwd(non_empty(v).ok_or("ice-pwd")?)
    } else if lower("mid") {
        Attribute::Mid(non_empty(v).ok_or("mid")?)
    } else {
        Attribute::Other { name, value }
    };
    Ok(attr)
}

fn non_empty(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

/// Milliseconds; RFC 8866 §6.4 allows a fraction for ptime, which we truncate.
fn millis(v: &str) -> Option<u32> {
    let int = v.split_once('.').map_or(v, |(i, _)| i);
    int.parse().ok()
}

fn rtpmap(v: &str) -> Option<Rtpmap<'_>> {
    let (r, (payload_type, _, encoding, _, clock_rate, params)) = run(
        tuple((
            dec_u8,
            space1,
            slash_free,
            char('/'),
            dec_u32,
            opt(preceded(char('/'), rest)),
        )),
        v,
    )?;
    end(r)?;
    if payload_type > 127 {
        return None;
    }
    let channels = params.and_then(|p: &str| p.trim().parse().ok());
    Some(Rtpmap {
        payload_type,
        encoding,
        clock_rate,
        channels,
    })
}

fn crypto(v: &str) -> Option<Crypto<'_>> {
    let (r, (tag, _, suite, _, keys)) = run(tuple((dec_u32, space1, token, space1, token)), v)?;
    let mut key_params = Vec::new();
    for kp in keys.split(';') {
        key_params.push(key_param(kp)?);
    }
    let session_params = r.split_ascii_whitespace().collect();
    Some(Crypto {
        tag,
        suite,
        key_params,
        session_params,
    })
}

fn key_param(kp: &str) -> Option<KeyParam<'_>> {
    let (method, info) = kp.split_once(':')?;
    let mut parts = info.split('|');
    let key_salt = parts.next().filter(|k| !k.is_empty())?;
    let mut lifetime = None;
    let mut mki = None;
    for part in parts {
        // RFC 4568 §9.2: the lifetime comes first and has no ':'; the MKI is `value:length`.
        match part.split_once(':') {
            Some((value, length)) if mki.is_none() => {
                mki = Some(Mki {
                    value: value.parse().ok()?,
                    length: length.parse().ok()?,
                });
            }
            None if lifetime.is_none() && mki.is_none() => lifetime = Some(part),
            _ => return None,
        }
    }
    Some(KeyParam {
        method,
        key_salt,
        lifetime,
        mki,
    })
}

fn candidate(v: &str) -> Option<Candidate<'_>> {
    let (r, (foundation, _, component, _, transport, _, priority, _, address, _, port)) = run(
        tuple((
            token, space1, dec_u16, space1, token, space1, dec_u32, space1, token, space1, dec_u16,
        )),
        v,
    )?;
    let mut words = r.split_ascii_whitespace();
    if !words.next()?.eq_ignore_ascii_case("typ") {
        return None;
    }
    let typ = match words.next()? {
        "host" => CandidateType::Host,
        "srflx" => CandidateType::Srflx,
        "prflx" => CandidateType::Prflx,
        "relay" => CandidateType::Relay,
        other => CandidateType::Other(other),
    };
    let mut c = Candidate {
        foundation,
        component,
        transport,
        priority,
        address,
        port,
        typ,
        raddr: None,
        rport: None,
        extensions: Vec::new(),
    };
    while let Some(name) = words.next() {
        let value = words.next()?;
        match name {
            "raddr" => c.raddr = Some(value),
            "rport" => c.rport = Some(value.parse().ok()?),
            _ => c.extensions.push((name, value)),
        }
    }
    Some(c)
}

fn rtcp(v: &str) -> Option<RtcpAttr<'_>> {
    let (r, port) = run(dec_u16, v)?;
    let (r, _) = run(space0, r)?;
    let mut words = r.split_ascii_whitespace();
    let a = RtcpAttr {
        port,
        nettype: words.next(),
        addrtype: words.next(),
        address: words.next(),
    };
    if a.nettype.is_some() && a.address.is_none() || words.next().is_some() {
        return None;
    }
    Some(a)
}

pub(super) fn origin(v: &str) -> Option<Origin<'_>> {
    let (r, (username, _, session_id, _, session_version, _, nettype, _, addrtype, _, address)) =
        run(
            tuple((
                token, space1, token, space1, token, space1, token, space1, token, space1, token,
            )),
            v,
        )?;
    r.trim().is_empty().then_some(Origin {
        username,
        session_id,
        session_version,
        nettype,
        addrtype,
        address,
    })
}

pub(super) fn connection(v: &str) -> Option<Connection<'_>> {
    let (r, (nettype, _, addrtype, _, full)) =
        run(tuple((token, space1, token, space1, token)), v)?;
    if !r.trim().is_empty() {
        return None;
    }
    let mut parts = full.split('/');
    let address = parts.next().filter(|a| !a.is_empty())?;
    let first = parts.next();
    let second = parts.next();
    if parts.next().is_some() {
        return None;
    }
    // §5.7: IPv4 multicast is addr/ttl[/count]; IPv6 has no TTL, only addr[/count].
    let (ttl, count) = if addrtype.eq_ignore_ascii_case("IP6") {
        if second.is_some() {
            return None;
        }
        (None, first.map(str::parse).transpose().ok()?)
    } else {
        (
            first.map(str::parse).transpose().ok()?,
            second.map(str::parse).transpose().ok()?,
        )
    };
    Some(Connection {
        nettype,
        addrtype,
        address,
        ttl,
        count,
    })
}

pub(super) fn timing(v: &str) -> Option<Timing> {
    let (r, (start, _, stop)) = run(tuple((dec_u64, space1, dec_u64)), v)?;
    r.trim().is_empty().then_some(Timing { start, stop })
}

pub(super) fn bandwidth(v: &str) -> Option<Bandwidth<'_>> {
    let (bwtype, value) = v.split_once(':')?;
    let value = value.trim().parse().ok()?;
    (!bwtype.is_empty()).then_some(Bandwidth { bwtype, value })
}

pub(super) fn media_line(n: usize, v: &str) -> Option<MediaDescription<'_>> {
    let (r, (media, _, port, count, _, proto)) = run(
        tuple((
            token,
            space1,
            dec_u16,
            opt(preceded(char('/'), dec_u32)),
            space1,
            token,
        )),
        v,
    )?;
    let port_count = match count {
        Some(c) => Some(u16::try_from(c).ok()?),
        None => None,
    };
    let mut m = MediaDescription::empty(n, MediaType::parse(media));
    m.port = port;
    m.port_count = port_count;
    m.proto = Proto::parse(proto);
    m.formats = super::Formats::of(r);
    Some(m)
}

mod agree {
    use proptest::prelude::*;

    /// Pieces SDP values are made of, and the edge cases of the hand-written scans:
    /// overflowing numbers, blanks of both kinds, slashes, colons, non-ASCII whitespace.
    const PIECES: &[&str] = &[
        "0",
        "8",
        "101",
        "127",
        "128",
        "255",
        "256",
        "65535",
        "65536",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "007",
        "PCMA",
        "opus",
        "telephone-event",
        "IN",
        "IP4",
        "IP6",
        "in",
        "ip4",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "224.2.1.1",
        "host.example",
        "RTP/AVP",
        "RTP/SAVP",
        "udptl",
        "audio",
        "video",
        "/",
        "//",
        ":",
        "::",
        " ",
        "  ",
        "\t",
        " \t",
        ".",
        "-",
        "+1",
        "x",
        "é",
        "\u{a0}",
        "\u{3000}",
        "\u{b}",
        "\u{c}",
        "typ",
        "host",
        "raddr",
        "rport",
        "generation",
        "inline:",
        "|",
        "2^20",
        "1:4",
        ";",
        "=",
    ];

    /// Attribute names with typed parsers, in several cases, plus unknown ones.
    const NAMES: &[&str] = &[
        "rtpmap",
        "RTPMAP",
        "RtpMap",
        "fmtp",
        "crypto",
        "fingerprint",
        "setup",
        "candidate",
        "rtcp",
        "rtcp-mux",
        "ptime",
        "maxptime",
        "sendrecv",
        "SendRecv",
        "sendonly",
        "recvonly",
        "inactive",
        "zrtp-hash",
        "ice-ufrag",
        "ice-pwd",
        "mid",
        "MID",
        "x-foo",
        "",
        "rtpma",
        "rtpmapx",
        "sendrec\u{e9}",
    ];

    /// The blanks of `v` as the line reader gives them (only below 62 bytes).
    fn blanks(v: &str) -> Option<u64> {
        (v.len() < 62).then(|| {
            v.bytes()
                .enumerate()
                .filter(|(_, c)| *c == b' ' || *c == b'\t')
                .fold(0u64, |m, (i, _)| m | 1 << i)
        })
    }

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(PIECES), 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn lines_parse_as_before(v in text(), n in 1usize..20) {
            prop_assert_eq!(super::super::origin(&v, None), super::origin(&v));
            prop_assert_eq!(super::super::origin(&v, blanks(&v)), super::origin(&v));
            prop_assert_eq!(super::super::connection(&v, None), super::connection(&v));
            prop_assert_eq!(super::super::connection(&v, blanks(&v)), super::connection(&v));
            prop_assert_eq!(super::super::timing(&v), super::timing(&v));
            prop_assert_eq!(super::super::bandwidth(&v), super::bandwidth(&v));
            prop_assert_eq!(super::super::media_line(n, &v, None), super::media_line(n, &v));
            prop_assert_eq!(super::super::media_line(n, &v, blanks(&v)), super::media_line(n, &v));
        }

        #[test]
        fn attributes_parse_as_before(
            name in proptest::sample::select(NAMES),
            colon in any::<bool>(),
            v in text(),
        ) {
            let line = if colon { format!("{name}:{v}") } else { format!("{name}{v}") };
            prop_assert_eq!(
                super::super::attr::parse_attribute(&line),
                super::parse_attribute(&line)
            );
        }

        #[test]
        fn addresses_parse_as_before(
            net in proptest::sample::select(&["IN", "in", "ATM", ""][..]),
            ty in proptest::sample::select(&["IP4", "ip4", "IP6", "Ip6", "IPX", ""][..]),
            addr in text(),
        ) {
            prop_assert_eq!(super::super::ip_of(net, ty, &addr), super::ip_of(net, ty, &addr));
        }

        #[test]
        fn arbitrary_text_parses_as_before(v in "\\PC{0,40}", n in 1usize..5) {
            prop_assert_eq!(super::super::origin(&v, None), super::origin(&v));
            prop_assert_eq!(super::super::origin(&v, blanks(&v)), super::origin(&v));
            prop_assert_eq!(super::super::connection(&v, None), super::connection(&v));
            prop_assert_eq!(super::super::connection(&v, blanks(&v)), super::connection(&v));
            prop_assert_eq!(super::super::timing(&v), super::timing(&v));
            prop_assert_eq!(super::super::media_line(n, &v, None), super::media_line(n, &v));
            prop_assert_eq!(super::super::media_line(n, &v, blanks(&v)), super::media_line(n, &v));
            prop_assert_eq!(
                super::super::attr::parse_attribute(&v),
                super::parse_attribute(&v)
            );
        }
    }
}
