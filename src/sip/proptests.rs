//! Property tests: no input panics; generated messages read back their header values.

use super::*;
use proptest::prelude::*;

use super::exercise;
use super::view::tests::assert_view_agrees;

/// (wire name, expected kind) pairs; long, compact and odd-case spellings.
const NAMES: &[(&str, HeaderName)] = &[
    ("Via", HeaderName::Via),
    ("v", HeaderName::Via),
    ("VIA", HeaderName::Via),
    ("From", HeaderName::From),
    ("f", HeaderName::From),
    ("To", HeaderName::To),
    ("T", HeaderName::To),
    ("Call-ID", HeaderName::CallId),
    ("i", HeaderName::CallId),
    ("CSeq", HeaderName::CSeq),
    ("Contact", HeaderName::Contact),
    ("m", HeaderName::Contact),
    ("Subject", HeaderName::Subject),
    ("s", HeaderName::Subject),
    ("k", HeaderName::Supported),
    ("Event", HeaderName::Event),
    ("o", HeaderName::Event),
    ("X-Custom-Header", HeaderName::Other),
    ("User-Agent", HeaderName::UserAgent),
    ("e", HeaderName::ContentEncoding),
    ("r", HeaderName::ReferTo),
    ("b", HeaderName::ReferredBy),
    ("y", HeaderName::Identity),
    ("u", HeaderName::AllowEvents),
];

fn arb_header() -> impl Strategy<Value = (usize, Vec<String>, Vec<u8>, bool, usize)> {
    (
        0..NAMES.len(),
        prop::collection::vec("[A-Za-z0-9.;=@:<>\",_+-]{1,12}", 1..5),
        prop::collection::vec(0u8..4, 4),
        any::<bool>(),
        0usize..3,
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(m) = parse_message(&bytes) {
            prop_assert!(m.len <= bytes.len());
            exercise(&m);
        }
        assert_view_agrees(&bytes);
    }

    /// The per-message view reads every field as the uncached accessors do, and validates
    /// as `validate` does, on headers built to hit the strict/lenient split.
    #[test]
    fn view_agrees_with_the_accessors(
        method in "(INVITE|OPTIONS|REGISTER|SIP/2.0 200 OK|SIP/2.0 401 x)",
        lines in prop::collection::vec((
            "(Via|v|From|f|To|t|Contact|m|CSeq|Content-Type|c|Authorization|Proxy-Authorization|Route|Call-ID|User-Agent|Server)",
            "[ a-zA-Z0-9<>\";=:@,/.\\[\\]*?&%-]{0,48}",
        ), 0..10),
    ) {
        let start = if method.starts_with("SIP/") { method } else { format!("{method} sip:b@h SIP/2.0") };
        let mut s = start;
        for (name, value) in &lines {
            s.push_str("\r\n");
            s.push_str(name);
            s.push_str(": ");
            s.push_str(value);
        }
        s.push_str("\r\n\r\n");
        assert_view_agrees(s.as_bytes());
    }

    #[test]
    fn sip_shaped_bytes_never_panic(
        head in "(INVITE|SIP/2.0|ACK|OPTIONS) [ -~]{0,40}",
        lines in prop::collection::vec("[ -~\t]{0,60}", 0..12),
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut s = head;
        for l in &lines {
            s.push_str(eol);
            s.push_str(l);
        }
        s.push_str(eol);
        s.push_str(eol);
        if let Ok(m) = parse_message(s.as_bytes()) {
            exercise(&m);
        }
    }

    #[test]
    fn generated_message_round_trips(headers in prop::collection::vec(arb_header(), 0..12), crlf_start in any::<bool>()) {
        let mut msg = String::from("OPTIONS sip:bob@example.com SIP/2.0");
        msg.push_str(if crlf_start { "\r\n" } else { "\n" });
        let mut expected = Vec::new();
        for (ni, words, folds, crlf, pad) in &headers {
            let (name, kind) = NAMES[*ni];
            let eol = if *crlf { "\r\n" } else { "\n" };
            msg.push_str(name);
            msg.push_str(&" ".repeat(*pad));
            msg.push(':');
            msg.push_str(&" ".repeat(*pad));
            for (i, w) in words.iter().enumerate() {
                if i > 0 {
                    // A separator is either one SP or a fold (§7.3.1).
                    match folds.get(i % folds.len()).copied().unwrap_or(0) {
                        1 => { msg.push_str(eol); msg.push(' '); }
                        2 => { msg.push_str(eol); msg.push('\t'); }
                        _ => msg.push(' '),
                    }
                }
                msg.push_str(w);
            }
            msg.push_str(eol);
            expected.push((name, kind, words.join(" ")));
        }
        msg.push_str("\r\nBODY");
        let m = parse_message(msg.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        prop_assert_eq!(m.headers.len(), expected.len());
        for (h, (name, kind, value)) in m.headers.iter().zip(&expected) {
            prop_assert_eq!(h.name, name.as_bytes());
            prop_assert_eq!(h.kind, *kind);
            prop_assert_eq!(&*text::unfold(h.value), value.as_bytes());
        }
        prop_assert_eq!(m.body, b"BODY");
        exercise(&m);
    }
}
