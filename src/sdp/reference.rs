//! The whole-body parser as it was before the single-pass reader (line split by
//! `find_byte_near`, one `&str` cut per line, the line parsers of [`super::oracle`]), kept
//! as the reference the proptests compare [`super::parse`] against: every field, every
//! problem and every raw line must come out the same.
#![allow(dead_code)]

use super::oracle;
use super::{Attribute, MediaDescription, MediaType, Problem, ProblemKind, RawLine, Sdp};
use crate::bytes::find_byte_near;

/// [`super::parse`] as it was.
pub(super) fn parse(input: &[u8]) -> Sdp<'_> {
    let mut sdp = Sdp::default();
    let whole = std::str::from_utf8(input).ok();
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < input.len() {
        line_no += 1;
        let rest = input.get(start..).unwrap_or(&[]);
        let (len, next) = match find_byte_near(b'\n', rest) {
            Some(i) => (i, start + i + 1),
            None => (rest.len(), input.len()),
        };
        let line = trim_end(rest.get(..len).unwrap_or(&[]));
        if !line.is_empty() {
            let text = whole.and_then(|w| w.get(start..start + line.len()));
            parse_line(&mut sdp, line_no, line, text);
        }
        start = next;
    }
    if sdp.version.is_none() {
        problem(&mut sdp, 0, ProblemKind::Missing("v="));
    }
    if sdp.origin.is_none() {
        problem(&mut sdp, 0, ProblemKind::Missing("o="));
    }
    if sdp.session_name.is_none() {
        problem(&mut sdp, 0, ProblemKind::Missing("s="));
    }
    sdp
}

fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [head @ .., last] = line {
        if matches!(last, b'\r' | b' ' | b'\t') {
            line = head;
        } else {
            break;
        }
    }
    line
}

fn problem(sdp: &mut Sdp<'_>, line: usize, kind: ProblemKind) {
    sdp.problems.push(Problem { line, kind });
}

fn keep_raw<'a>(sdp: &mut Sdp<'a>, line: usize, raw: &'a [u8]) {
    let r = RawLine { line, raw };
    match sdp.media.last_mut() {
        Some(m) => m.other_lines.push(r),
        None => sdp.other_lines.push(r),
    }
}

fn malformed<'a>(sdp: &mut Sdp<'a>, n: usize, what: &'static str, raw: &'a [u8]) {
    problem(sdp, n, ProblemKind::Malformed(what));
    keep_raw(sdp, n, raw);
}

fn duplicate<'a>(sdp: &mut Sdp<'a>, n: usize, what: &'static str, raw: &'a [u8]) {
    problem(sdp, n, ProblemKind::Duplicate(what));
    keep_raw(sdp, n, raw);
}

fn parse_line<'a>(sdp: &mut Sdp<'a>, n: usize, raw: &'a [u8], checked: Option<&'a str>) {
    let text = match checked {
        Some(t) => t,
        None => match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(_) => {
                problem(sdp, n, ProblemKind::InvalidUtf8);
                return keep_raw(sdp, n, raw);
            }
        },
    };
    let mut chars = text.chars();
    let (Some(kind), Some('=')) = (chars.next(), chars.next()) else {
        problem(sdp, n, ProblemKind::NotTypeValue);
        return keep_raw(sdp, n, raw);
    };
    let value = chars.as_str();
    let in_media = !sdp.media.is_empty();
    match kind {
        'v' | 'o' | 's' | 't' if in_media => {
            let name = match kind {
                'v' => "v=",
                'o' => "o=",
                's' => "s=",
                _ => "t=",
            };
            problem(sdp, n, ProblemKind::SessionLineInMedia(name));
            keep_raw(sdp, n, raw);
        }
        'v' => match value.trim().parse() {
            Ok(v) if sdp.version.is_none() => sdp.version = Some(v),
            Ok(_) => duplicate(sdp, n, "v=", raw),
            Err(_) => malformed(sdp, n, "v=", raw),
        },
        'o' => match oracle::origin(value) {
            Some(o) if sdp.origin.is_none() => sdp.origin = Some(o),
            Some(_) => duplicate(sdp, n, "o=", raw),
            None => malformed(sdp, n, "o=", raw),
        },
        's' if sdp.session_name.is_none() => sdp.session_name = Some(value),
        's' => duplicate(sdp, n, "s=", raw),
        't' => match oracle::timing(value) {
            Some(t) => sdp.timing.push(t),
            None => malformed(sdp, n, "t=", raw),
        },
        'c' => match oracle::connection(value) {
            Some(c) => match sdp.media.last_mut() {
                Some(m) => m.connections.push(c),
                None if sdp.connection.is_none() => sdp.connection = Some(c),
                None => duplicate(sdp, n, "c=", raw),
            },
            None => malformed(sdp, n, "c=", raw),
        },
        'b' => match oracle::bandwidth(value) {
            Some(b) => match sdp.media.last_mut() {
                Some(m) => m.bandwidths.push(b),
                None => sdp.bandwidths.push(b),
            },
            None => malformed(sdp, n, "b=", raw),
        },
        'a' => {
            let a = match oracle::parse_attribute(value) {
                Ok(a) => a,
                Err(name) => {
                    problem(sdp, n, ProblemKind::MalformedAttribute(name));
                    let (name, value) = match value.split_once(':') {
                        Some((k, v)) => (k, Some(v)),
                        None => (value, None),
                    };
                    Attribute::Other { name, value }
                }
            };
            match sdp.media.last_mut() {
                Some(m) => m.attributes.push(a),
                None => sdp.attributes.push(a),
            }
        }
        'm' => match oracle::media_line(n, value) {
            Some(m) => sdp.media.push(m),
            None => {
                let media = value.split_ascii_whitespace().next().unwrap_or("");
                sdp.media
                    .push(MediaDescription::empty(n, MediaType::parse(media)));
                malformed(sdp, n, "m=", raw);
            }
        },
        'i' | 'u' | 'e' | 'p' | 'r' | 'z' | 'k' => keep_raw(sdp, n, raw),
        other => {
            problem(sdp, n, ProblemKind::UnknownLineType(other));
            keep_raw(sdp, n, raw);
        }
    }
}

mod agree {
    use proptest::prelude::*;

    /// Whole lines: the common ones, their near misses (a blank too many or too few, a
    /// wrong type letter, a field cut short), long ones (past the 64 bytes a line mask
    /// holds), non-ASCII text and lines that are not `<type>=<value>`.
    const LINES: &[&str] = &[
        "v=0",
        "v= 0 ",
        "v=+0",
        "v=x",
        "v=4294967296",
        "o=- 0 0 IN IP4 10.0.0.1",
        "o=alice 53655765 2353687637 IN IP4 127.0.0.1",
        "o=- 0 0 IN IP4",
        "o=- 0 0 IN IP4 10.0.0.1 extra",
        "o=-  0\t0 IN  IP4 \t10.0.0.1",
        "o= - 0 0 IN IP4 10.0.0.1",
        "o=a\u{a0}b 0 0 IN IP4 h",
        "o=- 0 0 IN IP6 ::1",
        "o=verylongusername-verylongusername 123456789012345678901234567890 1 IN IP4 host.example.com",
        "s=-",
        "s=",
        "s= session with blanks ",
        "s=\u{e9}t\u{e9}",
        "c=IN IP4 10.0.0.1",
        "c=IN IP4 224.2.1.1/127",
        "c=IN IP4 224.2.1.1/127/3",
        "c=IN IP4 224.2.1.1/256",
        "c=IN IP4 224.2.1.1//",
        "c=IN IP6 ff15::101/3",
        "c=IN IP6 ff15::101/3/2",
        "c=IN IP4",
        "c=IN  IP4\t10.0.0.1",
        "c=IN IP4 /5",
        "c=IN IP4 10.0.0.1 x",
        "c=IN IP4 a-very-long-host-name.with.many.labels.example.com.and.more.labels.here",
        "t=0 0",
        "t=3034423619 3042462419",
        "t=0",
        "t=0 0 0",
        "t=18446744073709551616 0",
        "t=0\t 0",
        "b=AS:64",
        "b=AS: 64",
        "b=:64",
        "b=AS",
        "b=TIAS:x",
        "m=audio 10000 RTP/AVP 0",
        "m=audio 40012 RTP/AVP 8 101",
        "m=audio 49170/2 RTP/AVP 0 8 97",
        "m=audio 49170/70000 RTP/AVP 0",
        "m=audio 65536 RTP/AVP 0",
        "m=video 0 RTP/SAVPF 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112",
        "m=image 6000 udptl t38",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "m=audio 10000 RTP/AVP",
        "m=audio",
        "m=AUDIO 1 rtp/avp 0",
        "m= audio 1 RTP/AVP 0",
        "m=audio 1  RTP/AVP\t0  8",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:128 X/8000",
        "a=rtpmap:0 PCMU",
        "a=rtpmap:0  PCMU/8000 ",
        "a=RTPMAP:8 PCMA/8000",
        "a=fmtp:101 0-15",
        "a=fmtp:101",
        "a=fmtp:",
        "a=sendrecv",
        "a=SendOnly",
        "a=recvonly",
        "a=inactive",
        "a=rtcp-mux",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=rtcp:9 IN",
        "a=ptime:20",
        "a=ptime:20.5",
        "a=maxptime:x",
        "a=setup:actpass",
        "a=setup:",
        "a=mid:0",
        "a=mid:",
        "a=ice-ufrag:F7gI",
        "a=ice-pwd:x9cml/YzichV2+XlhiMu8g",
        "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF",
        "a=fingerprint:sha-256",
        "a=candidate:1 1 UDP 2130706431 10.0.1.1 8998 typ host",
        "a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998",
        "a=candidate:1 1 UDP 2130706431 10.0.1.1 8998 typ",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80",
        "a=zrtp-hash:1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df",
        "a=x-custom:value:with:colons",
        "a=",
        "a=:",
        "a=\u{e9}",
        "i=info",
        "u=http://example.com",
        "e=a@b",
        "p=+1",
        "r=7d 1h 0 25h",
        "z=0 -1h",
        "k=clear:x",
        "x=unknown",
        "\u{e9}=x",
        "a\u{e9}",
        "=",
        "m",
        "v",
        "vv=0",
        " v=0",
        "",
        " ",
        "\t",
    ];

    /// Line endings, with the trailing blanks and CRs a line may carry.
    const ENDS: &[&str] = &["\r\n", "\n", "\r\n", " \r\n", "\t\n", "\r\r\n", "", "\n\n"];

    fn body() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            (
                proptest::sample::select(LINES),
                proptest::sample::select(ENDS),
                // Now and then a byte of invalid UTF-8 inside the line.
                proptest::option::weighted(0.03, (any::<proptest::sample::Index>(), 0x80u8..)),
            ),
            0..24,
        )
        .prop_map(|lines| {
            let mut out = Vec::new();
            for (line, end, bad) in lines {
                let mut l = line.as_bytes().to_vec();
                if let Some((at, b)) = bad {
                    l.insert(at.index(l.len() + 1), b);
                }
                out.extend_from_slice(&l);
                out.extend_from_slice(end.as_bytes());
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn bodies_parse_as_before(b in body()) {
            let new = super::super::parse(&b);
            let old = super::parse(&b);
            prop_assert_eq!(&new, &old);
            // The debug form shows every field (the formats as the list they read as).
            prop_assert_eq!(format!("{new:?}"), format!("{old:?}"));
        }

        #[test]
        fn sdp_like_text_parses_as_before(
            lines in proptest::collection::vec(("[vosctbamix ]", "[ -~\t\u{e9}\u{a0}]{0,90}"), 0..16),
            lf in any::<bool>(),
        ) {
            let eol = if lf { "\n" } else { "\r\n" };
            let text: String = lines.iter().map(|(t, v)| format!("{t}={v}{eol}")).collect();
            prop_assert_eq!(super::super::parse(text.as_bytes()), super::parse(text.as_bytes()));
        }

        #[test]
        fn masked_tokens_cut_as_the_byte_loop(v in "[ \t a-z0-9\u{e9}\u{a0}/]{0,40}") {
            // The line reader gives masks to lines below 64 bytes, values below 62.
            prop_assume!(v.len() < 62);
            let blanks = v
                .bytes()
                .enumerate()
                .filter(|(_, c)| *c == b' ' || *c == b'\t')
                .fold(0u64, |m, (i, _)| m | 1 << i);
            use super::super::attr::{tokens, tokens_in};
            prop_assert_eq!(tokens_in::<1>(&v, blanks), tokens::<1>(&v));
            prop_assert_eq!(tokens_in::<3>(&v, blanks), tokens::<3>(&v));
            prop_assert_eq!(tokens_in::<6>(&v, blanks), tokens::<6>(&v));
        }

        #[test]
        fn arbitrary_bytes_parse_as_before(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(super::super::parse(&data), super::parse(&data));
        }
    }
}
