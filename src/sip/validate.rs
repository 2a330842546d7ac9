//! Strict checks on a leniently parsed message (RFC 3261 §8.1.1, §8.2, §20; RFC 4475
//! §3.1.2 invalid messages). The base parse keeps going; this tells why a message is
//! malformed. A message the RFCs call valid yields no problem.

use super::access::{content_length_value, expires_value, max_forwards_value};
use super::addr::parse_name_addr;
use super::header::HeaderName;
use super::message::{ParseWarning, SipMessage, StartLine};
use super::text::{has_lws, is_lws, split_top, trim_lws};
use super::uri::{FieldError, Scheme, Uri};
use super::view::MessageView;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::sequence::tuple;

/// Why a message is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A recovery made by the base parse.
    #[error("{0}")]
    Lenient(ParseWarning),
    /// SIP-Version other than SIP/2.0 (RFC 4475 §3.1.2.16; a UAS answers 505).
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// Status code outside 100..=699 (§21).
    #[error("status code {0} out of range")]
    StatusOutOfRange(u16),
    /// A mandatory header is absent (§8.1.1: To, From, CSeq, Call-ID, Via).
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A single-valued header appears more than once (RFC 4475 §3.3.8).
    #[error("duplicate {0} header")]
    DuplicateHeader(&'static str),
    /// A header value violates its grammar.
    #[error("bad {header} header: {reason}")]
    BadHeader {
        /// Header name.
        header: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// CSeq method differs from the request method (RFC 4475 §3.1.2.17/18).
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
    /// The Request-URI is malformed (§19.1.1, RFC 4475 §3.1.2.7/8/11).
    #[error("bad Request-URI: {0}")]
    BadRequestUri(&'static str),
}

impl Problem {
    /// Stable short identifier.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Lenient(w) => w.code(),
            Problem::UnsupportedVersion => "unsupported-version",
            Problem::StatusOutOfRange(_) => "status-out-of-range",
            Problem::MissingHeader(_) => "missing-header",
            Problem::DuplicateHeader(_) => "duplicate-header",
            Problem::BadHeader { .. } => "bad-header",
            Problem::CSeqMismatch => "cseq-mismatch",
            Problem::BadRequestUri(_) => "bad-request-uri",
        }
    }
}

const MANDATORY: [HeaderName; 5] = [
    HeaderName::To,
    HeaderName::From,
    HeaderName::CSeq,
    HeaderName::CallId,
    HeaderName::Via,
];

const SINGLE: [HeaderName; 7] = [
    HeaderName::To,
    HeaderName::From,
    HeaderName::CSeq,
    HeaderName::CallId,
    HeaderName::MaxForwards,
    HeaderName::ContentLength,
    HeaderName::ContentType,
];

/// `rfc1123-date` (§25.1): `wkday "," SP date1 SP time SP "GMT"`.
fn check_date(s: &[u8]) -> bool {
    let d2 = |i| take_while_m_n(2, 2, |b: u8| b.is_ascii_digit())(i);
    let wkday = alt((
        tag("Mon"),
        tag("Tue"),
        tag("Wed"),
        tag("Thu"),
        tag("Fri"),
        tag("Sat"),
        tag("Sun"),
    ));
    let month = alt((
        tag("Jan"),
        tag("Feb"),
        tag("Mar"),
        tag("Apr"),
        tag("May"),
        tag("Jun"),
        tag("Jul"),
        tag("Aug"),
        tag("Sep"),
        tag("Oct"),
        tag("Nov"),
        tag("Dec"),
    ));
    let r: nom::IResult<&[u8], _> = tuple((
        wkday,
        tag(", "),
        d2,
        tag(" "),
        month,
        tag(" "),
        take_while_m_n(4, 4, |b: u8| b.is_ascii_digit()),
        tag(" "),
        d2,
        tag(":"),
        d2,
        tag(":"),
        d2,
        tag(" GMT"),
    ))(s);
    matches!(r, Ok((rest, _)) if rest.is_empty())
}

/// Header values already found valid, so that a value repeated in later messages (the
/// From, To, Contact, Request-URI and Via lines of one dialog are byte-identical in most of
/// its messages) is not parsed again. Only clean results are remembered: the same bytes
/// give the same verdict, so skipping them cannot hide a problem. Bounded.
#[derive(Debug, Clone, Default)]
pub struct ValueMemo {
    /// The first value's hash in place (0: none): a dialog's first message (all a flood's
    /// INVITE has) remembers one value, and a list for it was an allocation per dialog.
    first: u64,
    /// The others.
    more: Vec<u64>,
}

impl ValueMemo {
    /// Most values remembered; later ones are simply checked every time.
    pub const CAPACITY: usize = 24;

    fn key(kind: HeaderName, value: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one((kind as u8, value))
    }

    fn known(&self, key: u64) -> bool {
        key != 0 && (self.first == key || self.more.contains(&key))
    }

    fn remember(&mut self, key: u64) {
        // A hash of 0 is not remembered (it marks the empty slot): that value is checked
        // every time, as past the capacity.
        if key == 0 || self.known(key) {
            return;
        }
        if self.first == 0 {
            self.first = key;
        } else if self.more.len() + 1 < Self::CAPACITY {
            self.more.push(key);
        }
    }

    /// Runs `check` on `value` unless it was found clean before.
    fn check(
        &mut self,
        kind: HeaderName,
        value: &[u8],
        out: &mut Vec<Problem>,
        check: impl FnOnce(&mut Vec<Problem>),
    ) {
        let key = Self::key(kind, value);
        if self.known(key) {
            return;
        }
        let before = out.len();
        check(out);
        if out.len() == before {
            self.remember(key);
        }
    }
}

/// Returns every problem found; empty for a well-formed message.
pub fn validate(msg: &SipMessage<'_>) -> Vec<Problem> {
    validate_with(msg, &mut ValueMemo::default())
}

/// [`validate`], skipping header values `memo` has already seen clean (the engine keeps one
/// memo per dialog). The result is the same as [`validate`]'s.
pub fn validate_with(msg: &SipMessage<'_>, memo: &mut ValueMemo) -> Vec<Problem> {
    validate_view(&MessageView::new(msg.clone()), memo)
}

/// [`validate_with`] over a [`MessageView`]: the fields the view has parsed (or parses
/// now, once, for every later reader) carry the strict grammar's verdict, so From, To,
/// Via, Contact, CSeq and Content-Type are not parsed again here. `memo` still spares the
/// Request-URI, Route and Record-Route checks, which only the validator reads.
pub fn validate_view(view: &MessageView<'_>, memo: &mut ValueMemo) -> Vec<Problem> {
    let msg = view.message();
    let mut out: Vec<Problem> = msg.warnings.iter().copied().map(Problem::Lenient).collect();
    if !msg.start.version().eq_ignore_ascii_case(b"SIP/2.0") {
        out.push(Problem::UnsupportedVersion);
    }
    match &msg.start {
        StartLine::Response { status, .. } => {
            if !status.is_valid() {
                out.push(Problem::StatusOutOfRange(status.0));
            }
        }
        // The Request-URI is memoised under `Other`, which no checked header uses.
        StartLine::Request { uri, .. } => memo.check(HeaderName::Other, uri, &mut out, |o| {
            let host_checked = view.request_uri_host_checked();
            check_request_uri(uri, || view.request_uri_parsed(), host_checked, o)
        }),
    }
    let count_of = |name: HeaderName| view.header_count(name);
    for name in MANDATORY {
        if count_of(name) == 0 {
            out.push(Problem::MissingHeader(name.as_str()));
        }
    }
    for name in SINGLE {
        if count_of(name) > 1 {
            out.push(Problem::DuplicateHeader(name.as_str()));
        }
    }
    let bad = |out: &mut Vec<Problem>, header: HeaderName, reason: &'static str| {
        out.push(Problem::BadHeader {
            header: header.as_str(),
            reason,
        })
    };
    match view.cseq_result() {
        Some(Ok(c)) if c.seq >= 1 << 31 => {
            bad(&mut out, HeaderName::CSeq, "CSeq number not below 2**31")
        }
        Some(Ok(c)) => {
            if let StartLine::Request { method, .. } = &msg.start {
                if c.method != *method {
                    out.push(Problem::CSeqMismatch);
                }
            }
        }
        Some(Err(e)) => bad(&mut out, HeaderName::CSeq, e.reason),
        None => {}
    }
    if let Some(v) = view.header(HeaderName::CallId) {
        if v.is_empty() || has_lws(v) {
            bad(&mut out, HeaderName::CallId, "Call-ID must be one word");
        }
    }
    if let Some(reason) = view.field_from().problem {
        bad(&mut out, HeaderName::From, reason);
    }
    if let Some(reason) = view.field_to().problem {
        bad(&mut out, HeaderName::To, reason);
    }
    for reason in &view.contacts_listed().problems {
        bad(&mut out, HeaderName::Contact, reason);
    }
    for name in [HeaderName::Route, HeaderName::RecordRoute] {
        if count_of(name) == 0 {
            continue;
        }
        for v in msg.headers_named(name) {
            memo.check(name, v, &mut out, |o| {
                for el in split_top(v, b',') {
                    let el = trim_lws(el);
                    let r = if el.is_empty() {
                        Err("empty list element")
                    } else {
                        parse_name_addr(el, true).map(|_| ()).map_err(|e| e.reason)
                    };
                    if let Err(reason) = r {
                        bad(o, name, reason);
                    }
                }
            });
        }
    }
    for reason in &view.vias_listed().problems {
        bad(&mut out, HeaderName::Via, reason);
    }
    if let Some(Err(e)) = view
        .header(HeaderName::ContentLength)
        .map(content_length_value)
    {
        bad(&mut out, HeaderName::ContentLength, e.reason);
    }
    if let Some(Err(e)) = view.header(HeaderName::MaxForwards).map(max_forwards_value) {
        bad(&mut out, HeaderName::MaxForwards, e.reason);
    }
    if let Some(Err(e)) = view.header(HeaderName::Expires).map(expires_value) {
        bad(&mut out, HeaderName::Expires, e.reason);
    }
    if matches!(view.content_type_result(), Some(Err(_))) {
        bad(&mut out, HeaderName::ContentType, "bad media type");
    }
    if let Some(d) = view.header(HeaderName::Date) {
        if !check_date(&super::text::unfold(d)) {
            bad(&mut out, HeaderName::Date, "not an RFC 1123 GMT date");
        }
    }
    out
}

/// `parsed` gives [`Uri::parse`] of `uri` (the view's cell: parsed once for the validator
/// and every later reader); it is asked only when the grammar needs the parse.
/// `host_checked`: the same host passed [`Uri::check_host`] already (as the To URI).
fn check_request_uri<'v, 'a: 'v>(
    uri: &[u8],
    parsed: impl FnOnce() -> Option<&'v Result<Uri<'a>, FieldError>>,
    host_checked: bool,
    out: &mut Vec<Problem>,
) {
    if uri.first() == Some(&b'<') {
        out.push(Problem::BadRequestUri("Request-URI enclosed in <>"));
        return;
    }
    if uri.iter().any(|&b| is_lws(b)) {
        // Already reported as a lenient recovery by the base parse.
        return;
    }
    match parsed() {
        // Not reached: a request has a Request-URI.
        None => {}
        Some(Err(e)) => out.push(Problem::BadRequestUri(e.reason)),
        Some(Ok(u)) => {
            if matches!(u.scheme, Scheme::Sip | Scheme::Sips) {
                if !host_checked {
                    if let Err(e) = u.check_host() {
                        out.push(Problem::BadRequestUri(e.reason));
                    }
                }
                if !u.headers.is_empty() {
                    out.push(Problem::BadRequestUri("headers not allowed in Request-URI"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::parse_message;
    use super::*;

    fn codes(m: &[u8]) -> Vec<&'static str> {
        validate(&parse_message(m).unwrap())
            .iter()
            .map(Problem::code)
            .collect()
    }

    const HDRS: &str = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x@y\r\n";

    #[test]
    fn clean_message_has_no_problem() {
        let m = format!("OPTIONS sip:b@h SIP/2.0\r\n{HDRS}CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\nl: 0\r\n\r\n");
        assert_eq!(codes(m.as_bytes()), Vec::<&str>::new());
    }

    #[test]
    fn each_problem() {
        let m = format!("OPTIONS sip:b@h SIP/2.0\r\n{HDRS}CSeq: 1 INVITE\r\n\r\n");
        assert_eq!(codes(m.as_bytes()), ["cseq-mismatch"]);
        let m = format!("OPTIONS sip:b@h SIP/7.0\r\n{HDRS}CSeq: 1 OPTIONS\r\n\r\n");
        assert_eq!(codes(m.as_bytes()), ["unsupported-version"]);
        let m = format!("SIP/2.0 700 Huh\r\n{HDRS}CSeq: 1 OPTIONS\r\n\r\n");
        assert_eq!(codes(m.as_bytes()), ["status-out-of-range"]);
        let m = format!("OPTIONS <sip:b@h> SIP/2.0\r\n{HDRS}CSeq: 1 OPTIONS\r\n\r\n");
        assert_eq!(codes(m.as_bytes()), ["bad-request-uri"]);
        let m = format!("OPTIONS sip:b@h?Route=x SIP/2.0\r\n{HDRS}CSeq: 1 OPTIONS\r\n\r\n");
        assert_eq!(codes(m.as_bytes()), ["bad-request-uri"]);
        let m =
            format!("OPTIONS sip:b@h SIP/2.0\r\n{HDRS}CSeq: 1 OPTIONS\r\nCSeq: 2 OPTIONS\r\n\r\n");
        assert_eq!(codes(m.as_bytes()), ["duplicate-header"]);
        let m = format!("OPTIONS sip:b@h SIP/2.0\r\n{HDRS}CSeq: 4294967295 OPTIONS\r\nMax-Forwards: 300\r\nExpires: soon\r\nDate: Fri, 01 Jan 2010 16:00:00 EST\r\n\r\n");
        assert_eq!(codes(m.as_bytes()), ["bad-header"; 4]);
        assert_eq!(
            codes(b"OPTIONS sip:b@h SIP/2.0\r\n\r\n"),
            ["missing-header"; 5]
        );
    }

    #[test]
    fn request_uri_equal_to_the_to_uri_keeps_its_own_verdict() {
        let with = |ruri: &str, to: &str| {
            let m = format!(
                "OPTIONS {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: {to}\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n\r\n"
            );
            validate(&parse_message(m.as_bytes()).unwrap())
        };
        // Clean, and equal to the To URI: the To's host check stands for both.
        assert!(with("sip:b@h", "<sip:b@h>").is_empty());
        // A bad host in both: the To is rejected, so the Request-URI is checked itself.
        let bad = with("sip:b@bad_host", "<sip:b@bad_host>");
        let got: Vec<_> = bad.iter().map(Problem::code).collect();
        assert_eq!(got, ["bad-request-uri", "bad-header"], "{bad:?}");
        assert_eq!(
            bad.first(),
            with("sip:b@bad_host", "<sip:b@h>").first(),
            "same Request-URI verdict whatever the To"
        );
        // Equal to the To URI but with URI headers: still refused in a Request-URI.
        let hdrs = with("sip:b@h?subject=x", "<sip:b@h?subject=x>");
        assert!(hdrs.contains(&Problem::BadRequestUri(
            "headers not allowed in Request-URI"
        )));
    }

    #[test]
    fn memo_skips_only_values_seen_clean() {
        let good = format!("OPTIONS sip:b@h SIP/2.0\r\n{HDRS}CSeq: 1 OPTIONS\r\n\r\n");
        let bad_from = "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@h>\r\nFrom: \"unterminated <sip:a@h>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let mut memo = ValueMemo::default();
        for _ in 0..3 {
            let m = parse_message(good.as_bytes()).unwrap();
            assert!(validate_with(&m, &mut memo).is_empty());
            // A bad value is never remembered: reported every time.
            let m = parse_message(bad_from.as_bytes()).unwrap();
            let with = validate_with(&m, &mut memo);
            assert_eq!(with, validate(&m));
            assert!(!with.is_empty());
        }
        // The Request-URI of the good message was remembered (From, To and Via are
        // checked once per message by the view that parses them).
        assert!(memo.first != 0 && memo.more.len() < ValueMemo::CAPACITY);
    }

    #[test]
    fn memo_keeps_its_first_value_in_place_and_stays_bounded() {
        let mut memo = ValueMemo::default();
        memo.remember(7);
        assert!(
            memo.known(7) && memo.more.capacity() == 0,
            "first value allocated"
        );
        memo.remember(7);
        assert!(memo.more.is_empty(), "a known value remembered twice");
        for k in 8..100 {
            memo.remember(k);
        }
        assert_eq!(1 + memo.more.len(), ValueMemo::CAPACITY);
        assert!(memo.known(8 + ValueMemo::CAPACITY as u64 - 2));
        assert!(!memo.known(8 + ValueMemo::CAPACITY as u64 - 1));
        // 0 marks the empty slot: never known, never remembered.
        memo.remember(0);
        assert!(!memo.known(0));
    }

    #[test]
    fn dates() {
        assert!(check_date(b"Sat, 15 Oct 2005 04:44:56 GMT"));
        assert!(!check_date(b"Fri, 01 Jan 2010 16:00:00 EST"));
        assert!(!check_date(b"Sat, 15 Oct 2005 04:44:56 GMT x"));
    }
}
