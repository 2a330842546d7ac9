//! Base parse: start line and header index in one memchr pass (RFC 3261 §7).

use super::header::HeaderName;
use super::text::{all_token, find2, find_byte, is_lws, is_wsp, parse_u64};
use memchr::memchr;

/// A SIP method (RFC 3261 §7.1 and extensions). Methods are case-sensitive: `invite`
/// is an extension method, not INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// INFO (RFC 6086).
    Info,
    /// PRACK (RFC 3262).
    Prack,
    /// UPDATE (RFC 3311).
    Update,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// PUBLISH (RFC 3903).
    Publish,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// Any other extension method, as on the wire.
    Other(&'a [u8]),
}

impl<'a> Method<'a> {
    /// Classifies a method token (exact, case-sensitive match, §7.1).
    pub fn from_bytes(b: &'a [u8]) -> Method<'a> {
        match b {
            b"INVITE" => Method::Invite,
            b"ACK" => Method::Ack,
            b"BYE" => Method::Bye,
            b"CANCEL" => Method::Cancel,
            b"REGISTER" => Method::Register,
            b"OPTIONS" => Method::Options,
            b"INFO" => Method::Info,
            b"PRACK" => Method::Prack,
            b"UPDATE" => Method::Update,
            b"SUBSCRIBE" => Method::Subscribe,
            b"NOTIFY" => Method::Notify,
            b"PUBLISH" => Method::Publish,
            b"REFER" => Method::Refer,
            b"MESSAGE" => Method::Message,
            other => Method::Other(other),
        }
    }

    /// The method as bytes (as on the wire).
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Method::Other(b) => b,
            known => known.known_str().as_bytes(),
        }
    }

    /// The method name; extension methods that are not UTF-8 give `"?"`.
    pub fn as_str(&self) -> &'a str {
        match self {
            Method::Other(b) => std::str::from_utf8(b).unwrap_or("?"),
            known => known.known_str(),
        }
    }

    /// How many standard methods [`Method::known_index`] numbers.
    pub const KNOWN: usize = 14;

    /// A standard method's place among the [`Method::KNOWN`] (0 for INVITE, in the
    /// order of the variants); None for an extension method. Lets a caller keep a small
    /// table per standard method.
    pub fn known_index(&self) -> Option<usize> {
        Some(match self {
            Method::Invite => 0,
            Method::Ack => 1,
            Method::Bye => 2,
            Method::Cancel => 3,
            Method::Register => 4,
            Method::Options => 5,
            Method::Info => 6,
            Method::Prack => 7,
            Method::Update => 8,
            Method::Subscribe => 9,
            Method::Notify => 10,
            Method::Publish => 11,
            Method::Refer => 12,
            Method::Message => 13,
            Method::Other(_) => return None,
        })
    }

    /// The name of a standard method as a `'static` string (None for extensions), for
    /// owned records that must not copy it.
    pub fn static_name(&self) -> Option<&'static str> {
        match self {
            Method::Other(_) => None,
            known => Some(known.known_str()),
        }
    }

    fn known_str(&self) -> &'static str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Publish => "PUBLISH",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Other(_) => "",
        }
    }
}

impl std::fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// A response status code (RFC 3261 §7.2, §21). Parsed from exactly three digits, so
/// the value is 0..=999; [`StatusCode::is_valid`] tells whether it is in 100..=699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// The class digit (1 for 1xx, ... 6 for 6xx).
    pub fn class(self) -> u8 {
        // 0..=999 by construction; saturate anyway for hand-built values.
        u8::try_from(self.0 / 100).unwrap_or(u8::MAX)
    }
    /// 1xx.
    pub fn is_provisional(self) -> bool {
        (100..200).contains(&self.0)
    }
    /// 2xx..6xx.
    pub fn is_final(self) -> bool {
        (200..700).contains(&self.0)
    }
    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }
    /// 3xx.
    pub fn is_redirect(self) -> bool {
        (300..400).contains(&self.0)
    }
    /// 4xx, 5xx or 6xx.
    pub fn is_error(self) -> bool {
        (400..700).contains(&self.0)
    }
    /// In the range RFC 3261 §21 defines (100..=699).
    pub fn is_valid(self) -> bool {
        (100..700).contains(&self.0)
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// Request-Line or Status-Line (RFC 3261 §7.1, §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version`.
    Request {
        /// The method.
        method: Method<'a>,
        /// The Request-URI, raw (see [`super::Uri::parse`]).
        uri: &'a [u8],
        /// `SIP/x.y` as on the wire.
        version: &'a [u8],
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    Response {
        /// `SIP/x.y` as on the wire.
        version: &'a [u8],
        /// The status code.
        status: StatusCode,
        /// The reason phrase (may be empty or non-UTF-8, RFC 4475 §3.1.1.12/13).
        reason: &'a [u8],
    },
}

impl<'a> StartLine<'a> {
    /// The SIP-Version token.
    pub fn version(&self) -> &'a [u8] {
        match self {
            StartLine::Request { version, .. } | StartLine::Response { version, .. } => version,
        }
    }
}

/// One header field in wire order (duplicates kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name as on the wire (`v`, `VIA`, `C%6Fntact`, ...).
    pub name: &'a [u8],
    /// The classified name (compact forms folded, case-insensitive).
    pub kind: HeaderName,
    /// The raw value, trimmed; may contain folds (`CRLF 1*WSP`) that accessors read as
    /// one SP (§7.3.1).
    pub value: &'a [u8],
}

/// A deviation the base parse recovered from (RFC 4475 "liberal recovery"). Offsets
/// are byte positions in the input given to [`parse_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseWarning {
    /// More than one SP between start-line elements (RFC 4475 §3.1.2.9).
    #[error("extra whitespace between start-line elements at {offset}")]
    ExtraWhitespace {
        /// Position in the start line.
        offset: usize,
    },
    /// SP/HTAB after the SIP-Version (RFC 4475 §3.1.2.10).
    #[error("whitespace at end of request line at {offset}")]
    TrailingWhitespace {
        /// Position of the first trailing blank.
        offset: usize,
    },
    /// LWS inside the Request-URI (RFC 4475 §3.1.2.8).
    #[error("whitespace inside Request-URI at {offset}")]
    WhitespaceInRequestUri {
        /// Position of the URI.
        offset: usize,
    },
    /// A header line without `name:` (kept as a continuation of the previous header).
    #[error("header line without a valid `name:` at {offset}")]
    MalformedHeaderLine {
        /// Start of the line.
        offset: usize,
    },
    /// A folded continuation line before any header.
    #[error("continuation line before any header at {offset}")]
    ContinuationWithoutHeader {
        /// Start of the line.
        offset: usize,
    },
    /// The header section is not closed by an empty line.
    #[error("header section not terminated by an empty line")]
    MissingHeaderTerminator,
    /// Content-Length is larger than the octets present (RFC 4475 §3.1.2.2).
    #[error("Content-Length {declared} larger than the {available} body octets present")]
    BodyTruncated {
        /// The Content-Length value.
        declared: u64,
        /// Body octets present.
        available: usize,
    },
    /// Content-Length is not a decimal number (RFC 4475 §3.1.2.3); the body was taken
    /// to run to the end of the input.
    #[error("invalid Content-Length value at {offset}")]
    BadContentLength {
        /// Position of the value.
        offset: usize,
    },
    /// More than one Content-Length header (RFC 4475 §3.3.9); the first one framed.
    #[error("{count} Content-Length headers")]
    MultipleContentLength {
        /// How many were present.
        count: usize,
    },
}

impl ParseWarning {
    /// Stable short identifier.
    pub fn code(&self) -> &'static str {
        match self {
            ParseWarning::ExtraWhitespace { .. } => "start-line-extra-whitespace",
            ParseWarning::TrailingWhitespace { .. } => "start-line-trailing-whitespace",
            ParseWarning::WhitespaceInRequestUri { .. } => "request-uri-whitespace",
            ParseWarning::MalformedHeaderLine { .. } => "malformed-header-line",
            ParseWarning::ContinuationWithoutHeader { .. } => "orphan-continuation",
            ParseWarning::MissingHeaderTerminator => "missing-header-terminator",
            ParseWarning::BodyTruncated { .. } => "content-length-exceeds-data",
            ParseWarning::BadContentLength { .. } => "bad-content-length",
            ParseWarning::MultipleContentLength { .. } => "multiple-content-length",
        }
    }
}

/// Why a message could not be parsed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No bytes besides leading CR/LF (keep-alives, §7.5).
    #[error("empty message")]
    Empty,
    /// The first line is neither a SIP request line nor a SIP status line.
    #[error("not SIP: {reason}")]
    NotSip {
        /// What was wrong.
        reason: &'static str,
    },
    /// The start line looks like SIP but is malformed.
    #[error("bad start line at {offset}: {reason}")]
    BadStartLine {
        /// What was wrong.
        reason: &'static str,
        /// Byte offset.
        offset: usize,
    },
    /// `SIP/` not followed by `1*DIGIT "." 1*DIGIT` (§7.1).
    #[error("bad SIP-Version at {offset}")]
    BadVersion {
        /// Byte offset.
        offset: usize,
    },
    /// Status-Code is not three digits (§7.2; RFC 4475 §3.1.2.19).
    #[error("bad status code at {offset}")]
    BadStatusCode {
        /// Byte offset.
        offset: usize,
    },
}

/// A parsed SIP message: borrowed views into the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage<'a> {
    /// The start line.
    pub start: StartLine<'a>,
    /// Headers in wire order, duplicates kept.
    pub headers: Vec<Header<'a>>,
    /// The body: Content-Length octets when the header is valid and satisfiable,
    /// otherwise everything after the header section.
    pub body: &'a [u8],
    /// Bytes of the input this message used (leading CRLFs + headers + body). Octets
    /// beyond Content-Length are not part of the message (RFC 4475 §3.1.1.8).
    pub len: usize,
    /// At least one line ended in bare LF (tolerated, RFC 3261 §7.5 recommends CRLF).
    pub lf_only: bool,
    /// Recoveries made while parsing; [`super::validate`] reports them as problems.
    pub warnings: Vec<ParseWarning>,
}

/// `"SIP/" 1*DIGIT "." 1*DIGIT`, name case-insensitive (§7.1, §25 ABNF strings).
fn check_version(v: &[u8]) -> Result<(), ()> {
    // Nearly every message says exactly this; the general check below costs ~150
    // instructions.
    if v == b"SIP/2.0" {
        return Ok(());
    }
    let rest = match v.get(..4) {
        Some(p) if p.eq_ignore_ascii_case(b"SIP/") => v.get(4..).unwrap_or(&[]),
        _ => return Err(()),
    };
    let dot = memchr(b'.', rest).ok_or(())?;
    let (maj, min) = (
        rest.get(..dot).unwrap_or(&[]),
        rest.get(dot + 1..).unwrap_or(&[]),
    );
    if maj.is_empty() || min.is_empty() || !maj.iter().chain(min).all(u8::is_ascii_digit) {
        return Err(());
    }
    Ok(())
}

fn starts_with_sip_version(b: &[u8]) -> bool {
    b.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

fn parse_start_line<'a>(
    line: &'a [u8],
    off: usize,
    warnings: &mut Vec<ParseWarning>,
) -> Result<StartLine<'a>, ParseError> {
    if starts_with_sip_version(line) {
        return parse_status_line(line, off, warnings);
    }
    if line
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"HTTP/"))
    {
        return Err(ParseError::NotSip {
            reason: "HTTP status line",
        });
    }
    // Request-Line. Trailing blanks are tolerated with a warning (RFC 4475 §3.1.2.10).
    let trimmed_len = line.iter().rposition(|&b| !is_wsp(b)).map_or(0, |p| p + 1);
    if trimmed_len < line.len() {
        warnings.push(ParseWarning::TrailingWhitespace {
            offset: off + trimmed_len,
        });
    }
    let line = line.get(..trimmed_len).unwrap_or(&[]);
    let msp = find_byte(b' ', line).ok_or(ParseError::NotSip {
        reason: "no SP in start line",
    })?;
    let method = line.get(..msp).unwrap_or(&[]);
    if method.is_empty() || !all_token(method) {
        return Err(ParseError::NotSip {
            reason: "method is not a token",
        });
    }
    let rest = line.get(msp + 1..).unwrap_or(&[]);
    let rest_off = off + msp + 1;
    // `SIP/2.0` holds no SP, so a line ending in ` SIP/2.0` has its last SP right there
    // (the usual case, without a reverse search).
    let last_sp = if rest.ends_with(b" SIP/2.0") {
        Some(rest.len() - 8)
    } else {
        memchr::memrchr(b' ', rest)
    };
    let Some(vsp) = last_sp else {
        // `INVITE sip:x` (RFC 4475 test.dat): SIP-looking but without version.
        if memchr(b':', rest).is_some() {
            return Err(ParseError::BadStartLine {
                reason: "missing SIP-Version",
                offset: rest_off + rest.len(),
            });
        }
        return Err(ParseError::NotSip {
            reason: "no SIP-Version in request line",
        });
    };
    let version = rest.get(vsp + 1..).unwrap_or(&[]);
    if !starts_with_sip_version(version) {
        return Err(ParseError::NotSip {
            reason: "request line does not end in SIP-Version",
        });
    }
    if check_version(version).is_err() {
        return Err(ParseError::BadVersion {
            offset: rest_off + vsp + 1,
        });
    }
    let middle = rest.get(..vsp).unwrap_or(&[]);
    let uri = trim_lws_inline(middle);
    if uri.len() != middle.len() {
        warnings.push(ParseWarning::ExtraWhitespace { offset: rest_off });
    }
    if uri.is_empty() {
        return Err(ParseError::BadStartLine {
            reason: "missing Request-URI",
            offset: rest_off,
        });
    }
    if find2(b' ', b'\t', uri).is_some() {
        warnings.push(ParseWarning::WhitespaceInRequestUri { offset: rest_off });
    }
    Ok(StartLine::Request {
        method: Method::from_bytes(method),
        uri,
        version,
    })
}

fn parse_status_line<'a>(
    line: &'a [u8],
    off: usize,
    warnings: &mut Vec<ParseWarning>,
) -> Result<StartLine<'a>, ParseError> {
    // `SIP/2.0` holds no blank, so its first blank is the SP after it.
    let vend = if line.starts_with(b"SIP/2.0 ") {
        7
    } else {
        line.iter().position(|&b| is_wsp(b)).unwrap_or(line.len())
    };
    let version = line.get(..vend).unwrap_or(&[]);
    if check_version(version).is_err() {
        return Err(ParseError::BadVersion { offset: off });
    }
    let blanks = super::text::run(line, vend, is_wsp);
    if blanks > 1 {
        // RFC 3665 §3.9 prints `SIP/2.0  486 Busy Here`.
        warnings.push(ParseWarning::ExtraWhitespace { offset: off + vend });
    }
    let cstart = vend + blanks;
    let digits = super::text::run(line, cstart, |b| b.is_ascii_digit());
    let after = line.get(cstart + digits).copied();
    if digits != 3 || after.is_some_and(|b| !is_wsp(b)) {
        return Err(ParseError::BadStatusCode {
            offset: off + cstart,
        });
    }
    let code = line
        .get(cstart..cstart + 3)
        .and_then(parse_u64)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or(ParseError::BadStatusCode {
            offset: off + cstart,
        })?;
    // One SP separates code and reason; an absent SP (`SIP/2.0 100`) is tolerated.
    let reason = line.get(cstart + 4..).unwrap_or(&[]);
    Ok(StartLine::Response {
        version,
        status: StatusCode(code),
        reason,
    })
}

/// Strips LWS (folds included) from both ends; the same as [`trim_lws`], inlined for
/// the one or two blanks a header value usually has around it.
#[inline(always)]
fn trim_lws_inline(mut s: &[u8]) -> &[u8] {
    while let [b, rest @ ..] = s {
        if !is_lws(*b) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., b] = s {
        if !is_lws(*b) {
            break;
        }
        s = rest;
    }
    s
}

/// Bitmaps of the `\n` and `:` bytes of the 64 bytes of `input` from `base` (bit i is
/// byte `base + i`; bytes past the end of `input` read as 0, which is neither).
#[inline(always)]
fn block_masks(input: &[u8], base: usize) -> (u64, u64) {
    let rest = input.get(base..).unwrap_or(&[]);
    let mut pad = [0u8; 64];
    let block: &[u8; 64] = match rest.first_chunk::<64>() {
        Some(b) => b,
        None => {
            if let Some(d) = pad.get_mut(..rest.len()) {
                d.copy_from_slice(rest);
            }
            &pad
        }
    };
    let (nl_v, colon_v) = (wide::u8x16::splat(b'\n'), wide::u8x16::splat(b':'));
    let (mut nl, mut colon) = (0u64, 0u64);
    let mut shift = 0u32;
    for c in block.chunks_exact(16) {
        let Ok(arr) = <[u8; 16]>::try_from(c) else {
            break;
        };
        let v = wide::u8x16::new(arr);
        // move_mask sets the low 16 bits only (one per lane).
        nl |= u64::from(v.cmp_eq(nl_v).move_mask() as u16) << shift;
        colon |= u64::from(v.cmp_eq(colon_v).move_mask() as u16) << shift;
        shift += 16;
    }
    (nl, colon)
}

/// The header section scanner: finds line ends and colons 64 bytes at a time from two
/// bitmaps, instead of one search per line for each (header lines are 20 to 80 bytes,
/// so one block usually serves a line and the next).
struct LineScan<'a> {
    input: &'a [u8],
    /// Start of the block the bitmaps describe.
    base: usize,
    nl: u64,
    colon: u64,
}

impl<'a> LineScan<'a> {
    fn new(input: &'a [u8], base: usize) -> Self {
        let (nl, colon) = block_masks(input, base);
        LineScan {
            input,
            base,
            nl,
            colon,
        }
    }

    #[inline(always)]
    fn load(&mut self, base: usize) {
        self.base = base;
        (self.nl, self.colon) = block_masks(self.input, base);
    }

    /// Makes the current block hold `pos` (`pos >= self.base`); returns its offset.
    #[inline(always)]
    fn seek(&mut self, pos: usize) -> u32 {
        if pos - self.base >= 64 {
            self.load(pos);
        }
        (pos - self.base) as u32
    }

    /// Index of the first `\n` at or after `pos` (which must not precede the block).
    #[inline(always)]
    fn next_nl(&mut self, pos: usize) -> Option<usize> {
        let mut off = self.seek(pos);
        loop {
            let bits = self.nl & (u64::MAX << off);
            if bits != 0 {
                return Some(self.base + bits.trailing_zeros() as usize);
            }
            let next = self.base + 64;
            if next >= self.input.len() {
                return None;
            }
            self.load(next);
            off = 0;
        }
    }

    /// The line starting at `pos` (`pos < input.len()`), (end of content without CR, start
    /// of the next line, ended by bare LF), and
    /// the first `:` in it.
    #[inline(always)]
    fn line(&mut self, pos: usize) -> (usize, usize, bool, Option<usize>) {
        let off = self.seek(pos);
        let cbits = self.colon & (u64::MAX << off);
        // The first colon of this block, or where the block ends if it has none.
        let (colon, searched_to) = if cbits != 0 {
            (Some(self.base + cbits.trailing_zeros() as usize), 0)
        } else {
            (None, self.base + 64)
        };
        let (le, next, bare) = match self.next_nl(pos) {
            Some(nl) => {
                if nl > pos && self.input.get(nl - 1) == Some(&b'\r') {
                    (nl - 1, nl + 1, false)
                } else {
                    (nl, nl + 1, true)
                }
            }
            None => (self.input.len(), self.input.len(), false),
        };
        let colon = match colon {
            Some(c) => (c < le).then_some(c),
            // A line longer than the block: look for the colon in the rest of it.
            None if searched_to < le => self
                .input
                .get(searched_to..le)
                .and_then(|t| find_byte(b':', t))
                .map(|i| i + searched_to),
            None => None,
        };
        (le, next, bare, colon)
    }
}

/// Parses one SIP message from `input` (a UDP payload or one framed stream message).
///
/// Single pass: a bitmap scan finds each line end and colon; headers are indexed, not
/// interpreted, except Content-Length which frames the body. Leading CRLFs are skipped
/// (§7.5). Lenient by design: recoverable deviations go to [`SipMessage::warnings`].
pub fn parse_message(input: &[u8]) -> Result<SipMessage<'_>, ParseError> {
    parse_message_in(input, Vec::with_capacity(16))
}

/// [`parse_message`] into `headers`, a list given back by an earlier message through
/// [`recycle_headers`] (its contents are dropped): a caller parsing message after message
/// allocates the header list once instead of once per message.
pub fn parse_message_in<'a>(
    input: &'a [u8],
    mut headers: Vec<Header<'a>>,
) -> Result<SipMessage<'a>, ParseError> {
    headers.clear();
    let mut pos = input
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .ok_or(ParseError::Empty)?;
    let mut warnings = Vec::new();
    let mut scan = LineScan::new(input, pos);
    let (le, next, bare, _) = scan.line(pos);
    let mut lf_only = bare;
    let start = parse_start_line(input.get(pos..le).unwrap_or(&[]), pos, &mut warnings)?;
    pos = next;

    let mut value_start = 0usize;
    let mut body_start = None;
    let mut cl_count = 0usize;
    let mut cl_first = None;
    while pos < input.len() {
        let (le, next, bare, colon) = scan.line(pos);
        lf_only |= bare;
        if le == pos {
            body_start = Some(next);
            break;
        }
        // `le > pos` here: the line has a first byte.
        let first = input.get(pos).copied().unwrap_or(b' ');
        let mut header_line = None;
        if !is_wsp(first) {
            if let Some(c) = colon {
                let raw = input.get(pos..c).unwrap_or(&[]);
                // Usually `Name:` with no blank before the colon.
                let name = match raw.last() {
                    Some(&b) if !is_wsp(b) => raw,
                    _ => {
                        let name_len = raw.iter().rposition(|&b| !is_wsp(b)).map_or(0, |p| p + 1);
                        raw.get(..name_len).unwrap_or(&[])
                    }
                };
                if !name.is_empty() {
                    // Every name `from_bytes` knows is a token, so only the unknown
                    // ones need the byte-by-byte check.
                    let kind = HeaderName::from_bytes(name);
                    if kind != HeaderName::Other || all_token(name) {
                        header_line = Some((name, kind, c + 1));
                    }
                }
            }
            if header_line.is_none() {
                warnings.push(ParseWarning::MalformedHeaderLine { offset: pos });
            }
        }
        match header_line {
            Some((name, kind, vstart)) => {
                value_start = vstart;
                let raw = input.get(vstart..le).unwrap_or(&[]);
                // Usually `: value`: one SP, then no blank at either end.
                let value = match raw {
                    [b' ', v @ ..]
                        if v.first().is_some_and(|&b| !is_lws(b))
                            && v.last().is_some_and(|&b| !is_lws(b)) =>
                    {
                        v
                    }
                    _ => trim_lws_inline(raw),
                };
                if kind == HeaderName::ContentLength {
                    cl_count += 1;
                    if cl_first.is_none() {
                        cl_first = Some(headers.len());
                    }
                }
                headers.push(Header { name, kind, value });
            }
            // Fold (§7.3.1) or an unfolded stray line: extend the previous value.
            None => match headers.last_mut() {
                Some(h) => h.value = trim_lws_inline(input.get(value_start..le).unwrap_or(&[])),
                None => warnings.push(ParseWarning::ContinuationWithoutHeader { offset: pos }),
            },
        }
        pos = next;
    }
    let body_start = match body_start {
        Some(b) => b,
        None => {
            warnings.push(ParseWarning::MissingHeaderTerminator);
            input.len()
        }
    };

    let available = input.len().saturating_sub(body_start);
    if cl_count > 1 {
        warnings.push(ParseWarning::MultipleContentLength { count: cl_count });
    }
    let mut body_len = available;
    // The value is read after the loop: a fold may have extended it.
    if let Some(v) = cl_first.and_then(|i| headers.get(i)).map(|h| h.value) {
        match parse_u64(v) {
            Some(n) if n <= available as u64 => body_len = usize::try_from(n).unwrap_or(available),
            Some(n) => warnings.push(ParseWarning::BodyTruncated {
                declared: n,
                available,
            }),
            None => warnings.push(ParseWarning::BadContentLength {
                offset: offset_in(input, v),
            }),
        }
    }
    let body = input.get(body_start..body_start + body_len).unwrap_or(&[]);
    Ok(SipMessage {
        start,
        headers,
        body,
        len: body_start + body_len,
        lf_only,
        warnings,
    })
}

/// Empties a header list and gives it back for a message of another lifetime, keeping its
/// allocation (see [`parse_message_in`]).
pub fn recycle_headers<'b>(mut headers: Vec<Header<'_>>) -> Vec<Header<'b>> {
    headers.clear();
    // An empty list collected into a list of the same layout: std's in-place collection
    // reuses the allocation, so nothing is freed or allocated (pinned by a test). The
    // `filter_map` is what changes the lifetime (`filter` would keep the item type).
    #[allow(clippy::unnecessary_filter_map)]
    headers.into_iter().filter_map(|_| None).collect()
}

/// Offset of a sub-slice within `input` (0 if it is not one).
fn offset_in(input: &[u8], sub: &[u8]) -> usize {
    (sub.as_ptr() as usize)
        .checked_sub(input.as_ptr() as usize)
        .filter(|&o| o <= input.len())
        .unwrap_or(0)
}

/// The parser as it was before the bitmap line scan and the start-line fast paths, kept
/// verbatim as the reference the proptests compare [`parse_message`] with.
#[cfg(test)]
pub(crate) mod reference {
    #![allow(clippy::all, missing_docs)]
    use super::super::header::HeaderName;
    use super::super::text::{all_token, find_byte, is_wsp, parse_u64, trim_lws};
    use super::{
        offset_in, starts_with_sip_version, Header, Method, ParseError, ParseWarning, SipMessage,
        StartLine, StatusCode,
    };
    use crate::bytes::find_byte_near;
    use memchr::memchr;

    /// Finds the line starting at `pos`: (end of content without CR, start of next line,
    /// terminated by LF, ended by bare LF).
    #[inline]
    fn line_at(input: &[u8], pos: usize) -> (usize, usize, bool, bool) {
        let rest = input.get(pos..).unwrap_or(&[]);
        match find_byte_near(b'\n', rest) {
            Some(i) => {
                let nl = pos + i;
                if i > 0 && rest.get(i - 1) == Some(&b'\r') {
                    (nl - 1, nl + 1, true, false)
                } else {
                    (nl, nl + 1, true, true)
                }
            }
            None => (input.len(), input.len(), false, false),
        }
    }

    /// `"SIP/" 1*DIGIT "." 1*DIGIT`, name case-insensitive (§7.1, §25 ABNF strings).
    fn check_version(v: &[u8]) -> Result<(), ()> {
        let rest = match v.get(..4) {
            Some(p) if p.eq_ignore_ascii_case(b"SIP/") => v.get(4..).unwrap_or(&[]),
            _ => return Err(()),
        };
        let dot = memchr(b'.', rest).ok_or(())?;
        let (maj, min) = (
            rest.get(..dot).unwrap_or(&[]),
            rest.get(dot + 1..).unwrap_or(&[]),
        );
        if maj.is_empty() || min.is_empty() || !maj.iter().chain(min).all(u8::is_ascii_digit) {
            return Err(());
        }
        Ok(())
    }

    fn parse_start_line<'a>(
        line: &'a [u8],
        off: usize,
        warnings: &mut Vec<ParseWarning>,
    ) -> Result<StartLine<'a>, ParseError> {
        if starts_with_sip_version(line) {
            return parse_status_line(line, off, warnings);
        }
        if line
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"HTTP/"))
        {
            return Err(ParseError::NotSip {
                reason: "HTTP status line",
            });
        }
        // Request-Line. Trailing blanks are tolerated with a warning (RFC 4475 §3.1.2.10).
        let trimmed_len = line.iter().rposition(|&b| !is_wsp(b)).map_or(0, |p| p + 1);
        if trimmed_len < line.len() {
            warnings.push(ParseWarning::TrailingWhitespace {
                offset: off + trimmed_len,
            });
        }
        let line = line.get(..trimmed_len).unwrap_or(&[]);
        let msp = memchr(b' ', line).ok_or(ParseError::NotSip {
            reason: "no SP in start line",
        })?;
        let method = line.get(..msp).unwrap_or(&[]);
        if method.is_empty() || !all_token(method) {
            return Err(ParseError::NotSip {
                reason: "method is not a token",
            });
        }
        let rest = line.get(msp + 1..).unwrap_or(&[]);
        let rest_off = off + msp + 1;
        let Some(vsp) = memchr::memrchr(b' ', rest) else {
            // `INVITE sip:x` (RFC 4475 test.dat): SIP-looking but without version.
            if memchr(b':', rest).is_some() {
                return Err(ParseError::BadStartLine {
                    reason: "missing SIP-Version",
                    offset: rest_off + rest.len(),
                });
            }
            return Err(ParseError::NotSip {
                reason: "no SIP-Version in request line",
            });
        };
        let version = rest.get(vsp + 1..).unwrap_or(&[]);
        if !starts_with_sip_version(version) {
            return Err(ParseError::NotSip {
                reason: "request line does not end in SIP-Version",
            });
        }
        if check_version(version).is_err() {
            return Err(ParseError::BadVersion {
                offset: rest_off + vsp + 1,
            });
        }
        let middle = rest.get(..vsp).unwrap_or(&[]);
        let uri = trim_lws(middle);
        if uri.len() != middle.len() {
            warnings.push(ParseWarning::ExtraWhitespace { offset: rest_off });
        }
        if uri.is_empty() {
            return Err(ParseError::BadStartLine {
                reason: "missing Request-URI",
                offset: rest_off,
            });
        }
        if uri.iter().any(|&b| is_wsp(b)) {
            warnings.push(ParseWarning::WhitespaceInRequestUri { offset: rest_off });
        }
        Ok(StartLine::Request {
            method: Method::from_bytes(method),
            uri,
            version,
        })
    }

    fn parse_status_line<'a>(
        line: &'a [u8],
        off: usize,
        warnings: &mut Vec<ParseWarning>,
    ) -> Result<StartLine<'a>, ParseError> {
        let vend = line.iter().position(|&b| is_wsp(b)).unwrap_or(line.len());
        let version = line.get(..vend).unwrap_or(&[]);
        if check_version(version).is_err() {
            return Err(ParseError::BadVersion { offset: off });
        }
        let blanks = super::super::text::run(line, vend, is_wsp);
        if blanks > 1 {
            // RFC 3665 §3.9 prints `SIP/2.0  486 Busy Here`.
            warnings.push(ParseWarning::ExtraWhitespace { offset: off + vend });
        }
        let cstart = vend + blanks;
        let digits = super::super::text::run(line, cstart, |b| b.is_ascii_digit());
        let after = line.get(cstart + digits).copied();
        if digits != 3 || after.is_some_and(|b| !is_wsp(b)) {
            return Err(ParseError::BadStatusCode {
                offset: off + cstart,
            });
        }
        let code = line
            .get(cstart..cstart + 3)
            .and_then(parse_u64)
            .and_then(|v| u16::try_from(v).ok())
            .ok_or(ParseError::BadStatusCode {
                offset: off + cstart,
            })?;
        // One SP separates code and reason; an absent SP (`SIP/2.0 100`) is tolerated.
        let reason = line.get(cstart + 4..).unwrap_or(&[]);
        Ok(StartLine::Response {
            version,
            status: StatusCode(code),
            reason,
        })
    }

    /// Parses one SIP message from `input` (a UDP payload or one framed stream message).
    ///
    /// Single pass: memchr finds each line end; headers are indexed, not interpreted,
    /// except Content-Length which frames the body. Leading CRLFs are skipped (§7.5).
    /// Lenient by design: recoverable deviations go to [`SipMessage::warnings`].
    pub(crate) fn parse_message_reference(input: &[u8]) -> Result<SipMessage<'_>, ParseError> {
        let mut pos = input
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .ok_or(ParseError::Empty)?;
        let mut warnings = Vec::new();
        let (le, next, _, bare) = line_at(input, pos);
        let mut lf_only = bare;
        let start = parse_start_line(input.get(pos..le).unwrap_or(&[]), pos, &mut warnings)?;
        pos = next;

        let mut headers: Vec<Header<'_>> = Vec::with_capacity(16);
        let mut value_start = 0usize;
        let mut body_start = None;
        while pos < input.len() {
            let (le, next, _, bare) = line_at(input, pos);
            lf_only |= bare;
            if le == pos {
                body_start = Some(next);
                break;
            }
            let line = input.get(pos..le).unwrap_or(&[]);
            let first = line.first().copied().unwrap_or(b' ');
            let mut header_line = None;
            if !is_wsp(first) {
                if let Some(c) = find_byte(b':', line) {
                    let raw = line.get(..c).unwrap_or(&[]);
                    let name_len = raw.iter().rposition(|&b| !is_wsp(b)).map_or(0, |p| p + 1);
                    let name = raw.get(..name_len).unwrap_or(&[]);
                    if !name.is_empty() && all_token(name) {
                        header_line = Some((name, pos + c + 1));
                    }
                }
                if header_line.is_none() {
                    warnings.push(ParseWarning::MalformedHeaderLine { offset: pos });
                }
            }
            match header_line {
                Some((name, vstart)) => {
                    value_start = vstart;
                    headers.push(Header {
                        name,
                        kind: HeaderName::from_bytes(name),
                        value: trim_lws(input.get(vstart..le).unwrap_or(&[])),
                    });
                }
                // Fold (§7.3.1) or an unfolded stray line: extend the previous value.
                None => match headers.last_mut() {
                    Some(h) => h.value = trim_lws(input.get(value_start..le).unwrap_or(&[])),
                    None => warnings.push(ParseWarning::ContinuationWithoutHeader { offset: pos }),
                },
            }
            pos = next;
        }
        let body_start = match body_start {
            Some(b) => b,
            None => {
                warnings.push(ParseWarning::MissingHeaderTerminator);
                input.len()
            }
        };

        let available = input.len().saturating_sub(body_start);
        let mut cl_count = 0usize;
        let mut cl_first = None;
        for h in headers
            .iter()
            .filter(|h| h.kind == HeaderName::ContentLength)
        {
            cl_count += 1;
            if cl_first.is_none() {
                cl_first = Some(h.value);
            }
        }
        if cl_count > 1 {
            warnings.push(ParseWarning::MultipleContentLength { count: cl_count });
        }
        let mut body_len = available;
        if let Some(v) = cl_first {
            match parse_u64(v) {
                Some(n) if n <= available as u64 => {
                    body_len = usize::try_from(n).unwrap_or(available)
                }
                Some(n) => warnings.push(ParseWarning::BodyTruncated {
                    declared: n,
                    available,
                }),
                None => warnings.push(ParseWarning::BadContentLength {
                    offset: offset_in(input, v),
                }),
            }
        }
        let body = input.get(body_start..body_start + body_len).unwrap_or(&[]);
        Ok(SipMessage {
            start,
            headers,
            body,
            len: body_start + body_len,
            lf_only,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every standard method has its own index below `KNOWN`; extensions have none.
    #[test]
    fn known_indices_are_distinct_and_in_range() {
        let names = [
            "INVITE",
            "ACK",
            "BYE",
            "CANCEL",
            "REGISTER",
            "OPTIONS",
            "INFO",
            "PRACK",
            "UPDATE",
            "SUBSCRIBE",
            "NOTIFY",
            "PUBLISH",
            "REFER",
            "MESSAGE",
        ];
        assert_eq!(names.len(), Method::KNOWN);
        let mut seen = [false; Method::KNOWN];
        for n in names {
            let i = Method::from_bytes(n.as_bytes()).known_index().expect(n);
            assert!(
                !std::mem::replace(&mut seen[i], true),
                "{n}: index {i} taken"
            );
        }
        assert_eq!(Method::from_bytes(b"FOO").known_index(), None);
    }

    #[test]
    fn a_recycled_header_list_parses_the_same_and_keeps_its_allocation() {
        let a = b"INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nf: <sip:a@h>;tag=1\r\n\
t: <sip:b@h>\r\ni: c@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let b = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n v2\r\nCall-ID: c@h\r\n\r\nbody";
        let first = parse_message_in(a, Vec::new()).unwrap();
        assert_eq!(first, parse_message(a).unwrap());
        let (ptr, cap) = (first.headers.as_ptr() as usize, first.headers.capacity());
        let spare = recycle_headers(first.headers);
        assert!(spare.is_empty());
        // In-place collection: the allocation is the one of the first message.
        assert_eq!((spare.as_ptr() as usize, spare.capacity()), (ptr, cap));
        let second = parse_message_in(b, spare).unwrap();
        assert_eq!(second, parse_message(b).unwrap());
        assert_eq!(second.headers.as_ptr() as usize, ptr);
        // A list that still holds headers is emptied first.
        let stale = parse_message(a).unwrap().headers;
        assert_eq!(
            parse_message_in(b, stale).unwrap(),
            parse_message(b).unwrap()
        );
        assert_eq!(
            parse_message_in(b"\r\n", Vec::new()),
            Err(ParseError::Empty)
        );
    }

    #[test]
    fn request_basic() {
        let m = parse_message(
            b"\r\nINVITE sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nv: x\r\n\r\n",
        )
        .unwrap();
        let StartLine::Request {
            method,
            uri,
            version,
        } = m.start
        else {
            panic!("not a request")
        };
        assert_eq!(method, Method::Invite);
        assert_eq!(uri, b"sip:bob@b.example");
        assert_eq!(version, b"SIP/2.0");
        assert_eq!(m.headers.len(), 2);
        assert_eq!(m.headers[1].kind, HeaderName::Via);
        assert_eq!(m.headers[1].name, b"v");
        assert!(m.warnings.is_empty());
        assert!(!m.lf_only);
        assert_eq!(m.len, 64);
    }

    #[test]
    fn folding_and_lf() {
        let m =
            parse_message(b"OPTIONS sip:a SIP/2.0\nTO :\n sip:x ;\n\ttag=1\ns :\n\nbody").unwrap();
        assert!(m.lf_only);
        assert_eq!(m.headers.len(), 2);
        assert_eq!(m.headers[0].kind, HeaderName::To);
        assert_eq!(m.headers[0].value, b"sip:x ;\n\ttag=1");
        assert_eq!(m.headers[1].value, b"");
        assert_eq!(m.body, b"body");
    }

    #[test]
    fn content_length_frames_body() {
        let m = parse_message(b"BYE sip:a SIP/2.0\r\nl: 2\r\n\r\nabEXTRA").unwrap();
        assert_eq!(m.body, b"ab");
        assert_eq!(m.len, 29);
        let m = parse_message(b"BYE sip:a SIP/2.0\r\nl: 9\r\n\r\nab").unwrap();
        assert_eq!(m.body, b"ab");
        assert!(matches!(
            m.warnings[0],
            ParseWarning::BodyTruncated {
                declared: 9,
                available: 2
            }
        ));
        let m = parse_message(b"BYE sip:a SIP/2.0\r\nl: -9\r\n\r\nab").unwrap();
        assert_eq!(m.body, b"ab");
        assert_eq!(m.warnings[0].code(), "bad-content-length");
    }

    #[test]
    fn status_lines() {
        let m = parse_message(b"SIP/2.0 100 \r\n\r\n").unwrap();
        assert!(matches!(
            m.start,
            StartLine::Response {
                status: StatusCode(100),
                reason: b"",
                ..
            }
        ));
        let m = parse_message(b"SIP/2.0  486 Busy Here\r\n\r\n").unwrap();
        assert!(matches!(
            m.start,
            StartLine::Response {
                status: StatusCode(486),
                reason: b"Busy Here",
                ..
            }
        ));
        assert_eq!(m.warnings.len(), 1);
        assert!(matches!(
            parse_message(b"SIP/2.0 4294967301 big\r\n\r\n"),
            Err(ParseError::BadStatusCode { offset: 8 })
        ));
        assert!(matches!(
            parse_message(b"SIP/x 200 OK\r\n"),
            Err(ParseError::BadVersion { .. })
        ));
        assert!(parse_message(b"SIP/2.0 200").is_ok());
    }

    #[test]
    fn rejects_non_sip() {
        assert_eq!(parse_message(b"\r\n\r\n"), Err(ParseError::Empty));
        assert_eq!(parse_message(b""), Err(ParseError::Empty));
        assert!(matches!(
            parse_message(b"GET / HTTP/1.1\r\n\r\n"),
            Err(ParseError::NotSip { .. })
        ));
        assert!(matches!(
            parse_message(b"HTTP/1.1 200 OK\r\n\r\n"),
            Err(ParseError::NotSip { .. })
        ));
        assert!(matches!(
            parse_message(b"\x00\x01\x02\x03\x04"),
            Err(ParseError::NotSip { .. })
        ));
        assert!(matches!(
            parse_message(b"INVITE sip:alan@jasomi.com\r\n\r\n"),
            Err(ParseError::BadStartLine {
                reason: "missing SIP-Version",
                ..
            })
        ));
    }

    #[test]
    fn request_line_whitespace_recovery() {
        let m = parse_message(b"INVITE  sip:a  SIP/2.0\r\n\r\n").unwrap();
        assert!(matches!(m.start, StartLine::Request { uri: b"sip:a", .. }));
        assert_eq!(
            m.warnings,
            vec![ParseWarning::ExtraWhitespace { offset: 7 }]
        );
        let m = parse_message(b"OPTIONS sip:a SIP/2.0  \r\n\r\n").unwrap();
        assert_eq!(
            m.warnings,
            vec![ParseWarning::TrailingWhitespace { offset: 21 }]
        );
        let m = parse_message(b"INVITE sip:a; lr SIP/2.0\r\n\r\n").unwrap();
        assert_eq!(m.warnings[0].code(), "request-uri-whitespace");
    }

    #[test]
    fn stray_lines() {
        let m = parse_message(
            b"ACK sip:a SIP/2.0\r\n cont\r\nRecord-Route: <sip:a>,\r\n<sip:b;lr>\r\nFoo bar\r\n",
        )
        .unwrap();
        assert_eq!(m.headers.len(), 1);
        assert_eq!(m.headers[0].value, b"<sip:a>,\r\n<sip:b;lr>\r\nFoo bar");
        let codes: Vec<_> = m.warnings.iter().map(|w| w.code()).collect();
        assert_eq!(
            codes,
            [
                "orphan-continuation",
                "malformed-header-line",
                "malformed-header-line",
                "missing-header-terminator"
            ]
        );
    }

    #[test]
    fn methods() {
        assert_eq!(Method::from_bytes(b"INVITE").as_str(), "INVITE");
        assert_eq!(Method::from_bytes(b"invite"), Method::Other(b"invite"));
        assert_eq!(Method::Other(b"FOO").to_string(), "FOO");
        assert_eq!(StatusCode(486).class(), 4);
        assert!(StatusCode(180).is_provisional());
        assert!(!StatusCode(180).is_final());
        assert!(!StatusCode(99).is_valid());
    }

    /// Real-looking messages the mutation proptest starts from: long lines and names
    /// that straddle the 64-byte blocks of the line scan, folds, bare LF, compact names.
    const SEEDS: &[&[u8]] = &[
        b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\nMax-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\nFrom: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\nCall-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 314159 INVITE\r\nContact: <sip:alice@pc33.atlanta.example.com>\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n",
        b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: 1@h\r\nCSeq: 1 BYE\r\nl: 0\r\n\r\n",
        b"\r\n\r\nOPTIONS  sip:a;\tlr  SIP/2.0 \nTO :\n sip:x ;\n\ttag=1\nA-Very-Long-Extension-Header-Name-That-Crosses-The-Block-Boundary-Of-Sixty-Four : yes\n s :\n\nbody",
        b"REGISTER sip:r SIP/2.0\r\nRoute: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>,<sip:p3.example.com;lr>,<sip:p4.example.com;lr>\r\n  ,<sip:p5.example.com;lr>\r\nContent-Length: 2\r\ncontent-length: 3\r\nNoColonHere\r\n\r\nabc",
        b"SIP/2.0 486 Busy Here\r\nWarning: 399 h \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:yyyy\"\r\nl: x\r\n\r\n",
        b"ACK sip:a SIP/2.0\r\n cont\r\nRecord-Route: <sip:a>,\r\n<sip:b;lr>\r\nFoo bar\r\n",
    ];

    /// Bytes the mutations insert: the ones the grammar turns on, plus a plain letter.
    const SPECIAL: &[u8] = b"\r\n \t:;,<>\"aS/2.0l";

    proptest::proptest! {
        #[test]
        fn matches_reference_on_arbitrary_bytes(
            data in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(SPECIAL.to_vec()),
                    proptest::num::u8::ANY,
                ],
                0..300,
            ),
            prefix in proptest::sample::select(vec![&b""[..], b"SIP/2.0 200 OK\r\n", b"BYE sip:a SIP/2.0\n"]),
        ) {
            let mut input = prefix.to_vec();
            input.extend_from_slice(&data);
            proptest::prop_assert_eq!(
                parse_message(&input),
                reference::parse_message_reference(&input)
            );
        }

        #[test]
        fn matches_reference_on_mutated_messages(
            seed in 0..SEEDS.len(),
            edits in proptest::collection::vec(
                (0usize..400, 0u8..3, proptest::sample::select(SPECIAL.to_vec()), proptest::num::u8::ANY, proptest::bool::ANY),
                0..8,
            ),
            cut in proptest::option::of(0usize..400),
        ) {
            let mut input = SEEDS.get(seed).copied().unwrap_or_default().to_vec();
            for (at, op, special, any, use_any) in edits {
                let b = if use_any { any } else { special };
                let at = at % (input.len() + 1);
                match op {
                    0 => input.insert(at, b),
                    1 if at < input.len() => { input.remove(at); }
                    _ if at < input.len() => input[at] = b,
                    _ => input.push(b),
                }
            }
            if let Some(c) = cut {
                input.truncate(c);
            }
            proptest::prop_assert_eq!(
                parse_message(&input),
                reference::parse_message_reference(&input)
            );
        }
    }

    #[test]
    fn seeds_match_reference() {
        for s in SEEDS {
            assert_eq!(parse_message(s), reference::parse_message_reference(s));
        }
        // Lines and names across one and several 64-byte blocks, a colon only in the
        // second block, and a message whose last line has no end.
        let long_name = [b"X".repeat(70), b": v\r\n".to_vec()].concat();
        let long_value = [b"Subject: ".to_vec(), b"w".repeat(200), b"\r\n".to_vec()].concat();
        let no_colon = [b"Y".repeat(150), b"\r\n".to_vec()].concat();
        for body in [&long_name, &long_value, &no_colon] {
            let mut m = b"MESSAGE sip:a SIP/2.0\r\n".to_vec();
            m.extend_from_slice(body);
            m.extend_from_slice(b"l: 1\r\n\r\nxyz");
            let got = parse_message(&m);
            assert_eq!(got, reference::parse_message_reference(&m));
            m.truncate(m.len() - 8);
            assert_eq!(parse_message(&m), reference::parse_message_reference(&m));
        }
        let input = [b"SIP/2.0 200 OK\r\n".to_vec(), long_name].concat();
        let m = parse_message(&input).unwrap();
        assert_eq!(m.headers[0].name.len(), 70);
        assert_eq!(m.headers[0].value, b"v");
    }
}
