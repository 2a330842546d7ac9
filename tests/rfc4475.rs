//! RFC 4475 / RFC 5118 torture messages and RFC 3261/3665 call-flow messages run
//! through `siplens::sip`.
//!
//! The expectation table below was written by reading each corpus file (header counts
//! are header lines that do not start with SP/HTAB, counted outside the code under
//! test) and from the MANIFEST category of each file (RFC 4475 §3.1.2 = invalid; the
//! §3.3 ones whose expected answer is a 400 for a syntax reason are invalid too:
//! insuf, multi01, mcl01; RFC 5118 §4.2 and §4.10 are invalid).

use siplens::sip::{parse_message, validate, ParseError, Problem, Scheme, SipMessage, StartLine};
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    [local, PathBuf::from("/work/shared/corpus")]
        .into_iter()
        .find(|p| p.join("torture/rfc4475").is_dir())
}

/// A well-formed message: start line, Call-ID, CSeq and header count as in the file.
struct Valid {
    /// Request method, or `""` for a response.
    method: &'static str,
    /// Request-URI, or the status code for a response (as text).
    target: &'static [u8],
    call_id: &'static [u8],
    cseq: u32,
    cseq_method: &'static str,
    headers: usize,
}

enum Expect {
    Valid(Valid),
    /// parse_message fails.
    ParseErr,
    /// validate reports (at least) a problem with this code.
    Problem(&'static str),
}

use Expect::{ParseErr, Problem as Bad};

const fn v(
    method: &'static str,
    target: &'static [u8],
    call_id: &'static [u8],
    cseq: u32,
    cseq_method: &'static str,
    headers: usize,
) -> Expect {
    Expect::Valid(Valid {
        method,
        target,
        call_id,
        cseq,
        cseq_method,
        headers,
    })
}

const RFC4475: &[(&str, Expect)] = &[
    // §3.1.1 valid
    ("wsinv.dat", v("INVITE", b"sip:vivekg@chair-dnrc.example.com;unknownparam", b"wsinv.ndaksdj@192.0.2.1", 9, "INVITE", 14)),
    ("intmeth.dat", v("!interesting-Method0123456789_*+`.%indeed'~", b"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com", b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", 139122385, "!interesting-Method0123456789_*+`.%indeed'~", 8)),
    ("esc01.dat", v("INVITE", b"sip:sips%3Auser%40example.com@example.net", b"esc01.239409asdfakjkn23onasd0-3234", 234234, "INVITE", 9)),
    ("escnull.dat", v("REGISTER", b"sip:example.com", b"escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd", 14398234, "REGISTER", 9)),
    ("esc02.dat", v("RE%47IST%45R", b"sip:registrar.example.com", b"esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf", 29344, "RE%47IST%45R", 10)),
    ("lwsdisp.dat", v("OPTIONS", b"sip:user@example.com", b"lwsdisp.1234abcd@funky.example.com", 60, "OPTIONS", 7)),
    ("longreq.dat", v("INVITE", b"sip:user@example.com", b"longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallylongcallid", 3882340, "INVITE", 43)),
    ("dblreq.dat", v("REGISTER", b"sip:example.com", b"dblreq.0ha0isndaksdj99sdfafnl3lk233412", 8, "REGISTER", 8)),
    ("semiuri.dat", v("OPTIONS", b"sip:user;par=u%40example.net@example.com", b"semiuri.0ha0isndaksdj", 8, "OPTIONS", 8)),
    ("transports.dat", v("OPTIONS", b"sip:user@example.com", b"transports.kijh4akdnaqjkwendsasfdj", 60, "OPTIONS", 12)),
    ("mpart01.dat", v("MESSAGE", b"sip:kumiko@example.org", b"3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..", 1, "MESSAGE", 14)),
    ("unreason.dat", v("", b"200", b"unreason.1234ksdfak3j2erwedfsASdf", 35, "INVITE", 8)),
    ("noreason.dat", v("", b"100", b"noreason.asndj203insdf99223ndf", 35, "INVITE", 7)),
    // §3.1.2 invalid
    ("badinv01.dat", Bad("bad-header")),
    ("clerr.dat", Bad("content-length-exceeds-data")),
    ("ncl.dat", Bad("bad-content-length")),
    ("scalar02.dat", Bad("bad-header")),
    ("scalarlg.dat", Bad("bad-header")),
    ("quotbal.dat", Bad("bad-header")),
    ("ltgtruri.dat", Bad("bad-request-uri")),
    ("lwsruri.dat", Bad("request-uri-whitespace")),
    ("lwsstart.dat", Bad("start-line-extra-whitespace")),
    ("trws.dat", Bad("start-line-trailing-whitespace")),
    ("escruri.dat", Bad("bad-request-uri")),
    ("baddate.dat", Bad("bad-header")),
    ("regbadct.dat", Bad("bad-header")),
    ("badaspec.dat", Bad("bad-header")),
    ("baddn.dat", Bad("bad-header")),
    ("badvers.dat", Bad("unsupported-version")),
    ("mismatch01.dat", Bad("cseq-mismatch")),
    ("mismatch02.dat", Bad("cseq-mismatch")),
    ("bigcode.dat", ParseErr),
    // §3.2 transaction layer: parses
    ("badbranch.dat", v("OPTIONS", b"sip:user@example.com", b"badbranch.sadonfo23i420jv0as0derf3j3n", 8, "OPTIONS", 8)),
    // §3.3 application layer: well-formed unless the expected 400 is for syntax
    ("insuf.dat", Bad("missing-header")),
    ("unkscm.dat", v("OPTIONS", b"nobodyKnowsThisScheme:totallyopaquecontent", b"unkscm.nasdfasser0q239nwsdfasdkl34", 3923423, "OPTIONS", 7)),
    ("novelsc.dat", v("OPTIONS", b"soap.beep://192.0.2.103:3002", b"novelsc.asdfasser0q239nwsdfasdkl34", 3923423, "OPTIONS", 7)),
    ("unksm2.dat", v("REGISTER", b"sip:example.com", b"unksm2.daksdj@hyphenated-host.example.com", 234902, "REGISTER", 8)),
    ("bext01.dat", v("OPTIONS", b"sip:user@example.com", b"bext01.0ha0isndaksdj", 8, "OPTIONS", 9)),
    ("invut.dat", v("INVITE", b"sip:user@example.com", b"invut.0ha0isndaksdjadsfij34n23d", 235448, "INVITE", 9)),
    ("regaut01.dat", v("REGISTER", b"sip:example.com", b"regaut01.0ha0isndaksdj", 9338, "REGISTER", 8)),
    ("multi01.dat", Bad("duplicate-header")),
    ("mcl01.dat", Bad("multiple-content-length")),
    ("bcast.dat", v("", b"200", b"bcast.0384840201234ksdfak3j2erwedfsASdf", 35, "INVITE", 9)),
    ("zeromf.dat", v("OPTIONS", b"sip:user@example.com", b"zeromf.jfasdlfnm2o2l43r5u0asdfas", 39234321, "OPTIONS", 7)),
    ("cparam01.dat", v("REGISTER", b"sip:example.com", b"cparam01.70710@saturn.example.com", 2, "REGISTER", 8)),
    ("cparam02.dat", v("REGISTER", b"sip:example.com", b"cparam02.70710@saturn.example.com", 3, "REGISTER", 8)),
    ("regescrt.dat", v("REGISTER", b"sip:example.com", b"regescrt.k345asrl3fdbv@192.0.2.1", 14398234, "REGISTER", 8)),
    ("sdp01.dat", v("INVITE", b"sip:user@example.com", b"sdp01.ndaksdj9342dasdd", 8, "INVITE", 10)),
    // §3.4 backward compatibility
    ("inv2543.dat", v("INVITE", b"sip:UserB@example.com", b"inv2543.1717@ift.client.example.com", 56, "INVITE", 7)),
    // Archive extra, no SIP-Version on the request line
    ("test.dat", ParseErr),
];

const VARIANTS: &[(&str, Expect)] = &[("baddn.crlf-terminated.dat", Bad("bad-header"))];

const RFC5118: &[(&str, Expect)] = &[
    (
        "ipv4-mapped-ipv6.dat",
        v(
            "INVITE",
            b"sip:user@example.com",
            b"SSG9559905523997077@hlau_4100",
            612,
            "INVITE",
            10,
        ),
    ),
    ("ipv6-bad.dat", Bad("bad-request-uri")),
    ("ipv6-bug-abnf-3-colons.dat", Bad("bad-request-uri")),
    (
        "ipv6-correct-abnf-2-colons.dat",
        v(
            "OPTIONS",
            b"sip:user@[2001:db8::192.0.2.1]",
            b"G9559905523997077@hlau_4100",
            689,
            "OPTIONS",
            7,
        ),
    ),
    (
        "ipv6-good.dat",
        v(
            "REGISTER",
            b"sip:[2001:db8::10]",
            b"SSG9559905523997077@hlau_4100",
            98176,
            "REGISTER",
            8,
        ),
    ),
    (
        "ipv6-in-sdp.dat",
        v(
            "INVITE",
            b"sip:user@[2001:db8::10]",
            b"SSG9559905523997077@hlau_4100",
            8612,
            "INVITE",
            9,
        ),
    ),
    (
        "mult-ip-in-header.dat",
        v(
            "BYE",
            b"sip:user@host.example.net",
            b"997077@lau_4100",
            89187,
            "BYE",
            9,
        ),
    ),
    (
        "mult-ip-in-sdp.dat",
        v(
            "INVITE",
            b"sip:user@[2001:db8::10]",
            b"SSG9559905523997077@hlau_4100",
            8912,
            "INVITE",
            9,
        ),
    ),
    (
        "port-ambiguous.dat",
        v(
            "REGISTER",
            b"sip:[2001:db8::10:5070]",
            b"SSG9559905523997077@hlau_4100",
            98176,
            "REGISTER",
            8,
        ),
    ),
    (
        "port-unambiguous.dat",
        v(
            "REGISTER",
            b"sip:[2001:db8::10]:5070",
            b"SSG9559905523997077@hlau_4100",
            98176,
            "REGISTER",
            8,
        ),
    ),
    (
        "via-received-param-no-delim.dat",
        v(
            "OPTIONS",
            b"sip:[2001:db8::10]",
            b"SSG95523997077@hlau_4100",
            921,
            "OPTIONS",
            8,
        ),
    ),
    (
        "via-received-param-with-delim.dat",
        v(
            "BYE",
            b"sip:[2001:db8::10]",
            b"SSG9559905523997077@hlau_4100",
            321,
            "BYE",
            7,
        ),
    ),
];

fn read(dir: &str, name: &str) -> Option<Vec<u8>> {
    let root = corpus()?;
    Some(std::fs::read(root.join(dir).join(name)).unwrap_or_else(|e| panic!("{dir}/{name}: {e}")))
}

fn check_table(dir: &str, table: &[(&str, Expect)]) {
    let Some(root) = corpus() else {
        eprintln!("corpus not found; skipping {dir}");
        return;
    };
    // Every file of the folder is in the table, and the other way round.
    let mut on_disk: Vec<String> = std::fs::read_dir(root.join(dir))
        .expect("corpus folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = table.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "table of {dir} out of date");

    for (name, expect) in table {
        let bytes = read(dir, name).expect("corpus");
        let parsed = parse_message(&bytes);
        match expect {
            ParseErr => {
                let e = parsed.expect_err(name);
                assert!(!e.to_string().is_empty());
            }
            Bad(code) => {
                let m = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
                let problems = validate(&m);
                assert!(
                    problems.iter().any(|p| p.code() == *code),
                    "{name}: expected {code}, got {problems:?}"
                );
            }
            Expect::Valid(want) => {
                let m = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
                let problems = validate(&m);
                assert_eq!(problems, Vec::<Problem>::new(), "{name}");
                check_valid(name, &m, want);
            }
        }
    }
}

fn check_valid(name: &str, m: &SipMessage<'_>, want: &Valid) {
    match &m.start {
        StartLine::Request { method, uri, .. } => {
            assert_eq!(method.as_bytes(), want.method.as_bytes(), "{name} method");
            assert_eq!(*uri, want.target, "{name} Request-URI");
        }
        StartLine::Response { status, .. } => {
            assert_eq!(want.method, "", "{name} is a response");
            assert_eq!(status.to_string().as_bytes(), want.target, "{name} status");
        }
    }
    assert_eq!(m.call_id(), Some(want.call_id), "{name} Call-ID");
    let cseq = m.cseq().unwrap_or_else(|| panic!("{name} CSeq"));
    assert_eq!(cseq.seq, want.cseq, "{name} CSeq number");
    assert_eq!(
        cseq.method.as_bytes(),
        want.cseq_method.as_bytes(),
        "{name} CSeq method"
    );
    assert_eq!(m.headers.len(), want.headers, "{name} header count");
    assert!(m.from().is_some() && m.to().is_some(), "{name} From/To");
    assert!(!m.vias().is_empty(), "{name} Via");
}

#[test]
fn rfc4475_table() {
    check_table("torture/rfc4475", RFC4475);
}

#[test]
fn rfc4475_variants_table() {
    check_table("torture/rfc4475-variants", VARIANTS);
}

#[test]
fn rfc5118_table() {
    check_table("torture/rfc5118", RFC5118);
}

#[test]
fn wsinv_details() {
    let Some(b) = read("torture/rfc4475", "wsinv.dat") else {
        return;
    };
    let m = parse_message(&b).expect("wsinv");
    let to = m.to().expect("To");
    assert_eq!(to.tag(), Some(&b"1918181833n"[..]));
    let from = m.from().expect("From");
    assert_eq!(from.display_name.as_deref(), Some(&b"J Rosenberg \\\""[..]));
    assert_eq!(from.tag(), Some(&b"98asjd8"[..]));
    let vias = m.vias();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].branch, Some(&b"390skdjuw"[..]));
    assert_eq!(vias[1].transport, b"TCP");
    assert_eq!(vias[1].host, b"spindle.example.com");
    assert_eq!(vias[2].host, b"192.168.255.111");
    assert_eq!(vias[2].branch, Some(&b"z9hG4bK30239"[..]));
    let c = m.contacts();
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].display_name.as_deref(),
        Some(&b"Quoted string \"\""[..])
    );
    assert_eq!(c[0].param("newparam"), Some(Some(&b"newvalue"[..])));
    assert_eq!(c[0].param("secondparam"), Some(None));
    assert_eq!(c[0].param("q"), Some(Some(&b"0.33"[..])));
    assert_eq!(m.max_forwards(), Some(Ok(68)));
    assert_eq!(m.content_length(), Some(Ok(150)));
    assert_eq!(m.sdp_body().map(<[u8]>::len), Some(150));
    assert_eq!(m.routes().len(), 1);
    let subject = m.headers.iter().find(|h| h.name == b"s").expect("s");
    assert_eq!(subject.value, b"");
}

#[test]
fn dblreq_ignores_trailing_request() {
    let Some(b) = read("torture/rfc4475", "dblreq.dat") else {
        return;
    };
    let m = parse_message(&b).expect("dblreq");
    let first_end = b
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("blank line")
        + 4;
    assert_eq!(m.len, first_end);
    assert!(m.body.is_empty());
    let rest = b.get(m.len..).expect("rest");
    let second = parse_message(rest).expect("second message");
    assert!(matches!(
        second.start,
        StartLine::Request {
            uri: b"sip:joe@example.com",
            ..
        }
    ));
}

#[test]
fn uri_and_param_details() {
    let Some(b) = read("torture/rfc4475", "esc01.dat") else {
        return;
    };
    let m = parse_message(&b).expect("esc01");
    let ruri = m.request_uri_parsed().expect("request").expect("uri");
    assert_eq!(ruri.user, Some(&b"sips%3Auser%40example.com"[..]));
    assert_eq!(ruri.host, b"example.net");
    assert_eq!(m.contacts()[0].uri.params.len(), 2);

    let Some(b) = read("torture/rfc4475", "regaut01.dat") else {
        return;
    };
    let m = parse_message(&b).expect("regaut01");
    let a = m.authorization();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].param("opaque-data"), Some(&b"here"[..]));

    let Some(b) = read("torture/rfc5118", "port-ambiguous.dat") else {
        return;
    };
    let u = parse_message(&b)
        .expect("port-ambiguous")
        .request_uri_parsed()
        .expect("r")
        .expect("u");
    assert_eq!((u.host, u.port), (&b"[2001:db8::10:5070]"[..], None));
    let Some(b) = read("torture/rfc5118", "port-unambiguous.dat") else {
        return;
    };
    let u = parse_message(&b)
        .expect("port-unambiguous")
        .request_uri_parsed()
        .expect("r")
        .expect("u");
    assert_eq!(
        (u.host, u.port, u.scheme),
        (&b"[2001:db8::10]"[..], Some(5070), Scheme::Sip)
    );

    let Some(b) = read("torture/rfc5118", "mult-ip-in-header.dat") else {
        return;
    };
    let m = parse_message(&b).expect("mult-ip");
    let vias = m.vias();
    assert_eq!(vias[0].port, Some(6050));
    assert_eq!(vias[2].received, Some(&b"192.0.2.200"[..]));
    let Some(b) = read("torture/rfc5118", "via-received-param-with-delim.dat") else {
        return;
    };
    let m = parse_message(&b).expect("via-received");
    assert_eq!(m.vias()[0].received, Some(&b"[2001:db8::9:255]"[..]));

    // RFC 5118 §4.6: Content-Length counts LF-only lines; the trailing octets are
    // ignored, so the SDP stops at the declared length.
    let Some(b) = read("torture/rfc5118", "ipv6-in-sdp.dat") else {
        return;
    };
    let m = parse_message(&b).expect("ipv6-in-sdp");
    assert_eq!(m.sdp_body().map(<[u8]>::len), Some(241));
}

#[test]
fn mpart01_has_no_sdp_but_parts() {
    let Some(b) = read("torture/rfc4475", "mpart01.dat") else {
        return;
    };
    let m = parse_message(&b).expect("mpart01");
    assert!(m.content_type().expect("ct").is("multipart", "mixed"));
    assert_eq!(m.body.len(), 553);
    assert_eq!(m.sdp_body(), None);
}

#[test]
fn bigcode_reports_position() {
    let Some(b) = read("torture/rfc4475", "bigcode.dat") else {
        return;
    };
    assert_eq!(
        parse_message(&b),
        Err(ParseError::BadStatusCode { offset: 8 })
    );
}

/// RFC 3261 §24 and RFC 3665 messages all parse; only the printed typos listed in the
/// MANIFEST (§3.1) may raise problems.
#[test]
fn callflows_parse() {
    let Some(root) = corpus() else {
        eprintln!("corpus not found; skipping call flows");
        return;
    };
    let mut count = 0;
    for sub in ["rfc3261", "rfc3665"] {
        let dir = root.join("vectors/callflows").join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let b = std::fs::read(e.path()).expect("read");
            let m = parse_message(&b).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(m.call_id().is_some(), "{name}");
            assert!(m.cseq().is_some(), "{name}");
            assert!(!m.vias().is_empty(), "{name}");
            count += 1;
            let problems = validate(&m);
            let typo = name.starts_with("rfc3261_s24_2_")
                || name.starts_with("rfc3665_s3_9_F6")
                || name.starts_with("rfc3665_s3_9_F8")
                || name.starts_with("rfc3665_s3_9_F10")
                || name.starts_with("rfc3665_s3_10_F4");
            if !typo {
                assert_eq!(problems, Vec::<Problem>::new(), "{name}");
            }
        }
    }
    assert_eq!(count, 16 + 181);
}

/// The per-message view (fields parsed once, strict grammar first) reads every torture
/// message as the uncached accessors do, and validates it as `validate` does.
#[test]
fn message_view_agrees_with_the_accessors_on_every_torture_message() {
    use siplens::sip::{validate_view, HeaderName, MessageView, ValueMemo, Via};
    let Some(root) = corpus() else {
        eprintln!("corpus not found; skipping the view check");
        return;
    };
    let mut checked = 0;
    for dir in [
        "torture/rfc4475",
        "torture/rfc4475-variants",
        "torture/rfc5118",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let bytes = std::fs::read(e.path()).unwrap();
            let Ok(m) = parse_message(&bytes) else {
                continue;
            };
            let name = e.path().display().to_string();
            let v = MessageView::new(m.clone());
            assert_eq!(v.cseq(), m.cseq(), "{name}");
            assert_eq!(v.from(), m.from().as_ref(), "{name}");
            assert_eq!(v.to(), m.to().as_ref(), "{name}");
            assert_eq!(v.vias(), m.vias().as_slice(), "{name}");
            let top = m
                .list_values(HeaderName::Via)
                .next()
                .and_then(|s| Via::parse(s).ok());
            assert_eq!(v.top_via(), top.as_ref(), "{name}");
            assert_eq!(v.contacts(), m.contacts().as_slice(), "{name}");
            assert_eq!(
                v.request_uri_parsed(),
                m.request_uri_parsed().as_ref(),
                "{name}"
            );
            assert_eq!(v.content_type(), m.content_type().as_ref(), "{name}");
            assert_eq!(v.authorization(), m.authorization().as_slice(), "{name}");
            assert_eq!(v.sdp_body(), m.sdp_body(), "{name}");
            assert_eq!(
                validate_view(&v, &mut ValueMemo::default()),
                validate(&m),
                "{name}"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} torture messages parsed");
}
