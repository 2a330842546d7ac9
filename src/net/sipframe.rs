//! SIP message framing over byte streams (RFC 3261 §18.3) and a cheap SIP start-line test.
//!
//! Pure functions over byte slices: they never allocate and never panic, whatever the input.

use memchr::{memchr, memchr_iter};

/// Longest start line we wait for before deciding a stream is not SIP. Request-URIs can be
/// long (RFC 3261 sets no bound) but a start line beyond 16 KiB is not worth buffering.
const MAX_START_LINE: usize = 16 * 1024;

/// Longest method token accepted in a request line. RFC 3261 §25.1 sets no bound; real
/// methods are short, and the bound keeps the check cheap on binary payloads.
const MAX_METHOD: usize = 32;

/// What [`frame_stream`] found at the start of a stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFrame {
    /// One whole SIP message of that many bytes: headers, empty line, and the
    /// `Content-Length` body (RFC 3261 §18.3).
    Message(usize),
    /// That many leading keepalive bytes: `"\r\n\r\n"` ping (4) or `"\r\n"` pong (2), RFC 5626
    /// §3.5.1; a lone CR or LF (1) is also skipped, as RFC 3261 §7.5 asks.
    Keepalive(usize),
    /// The buffer holds the beginning of a message (or nothing): wait for more bytes.
    NeedMore,
    /// That many bytes are not SIP: discard them. The count stops at the next line that could
    /// be a SIP start line, or covers the whole buffer.
    NotSip(usize),
    /// A SIP message whose `Content-Length` makes it longer than the caller's bound
    /// ([`frame_stream_bounded`]): `total` bytes (headers + declared body) should be skipped.
    Oversize {
        /// Length of the header part (start line through the empty line).
        header_len: usize,
        /// Declared total length of the message (saturating).
        total: u64,
    },
}

/// Result of checking a prefix of data against the SIP start-line grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartLine {
    /// A complete, well-formed start line.
    Yes,
    /// Definitely not a start line.
    No,
    /// Consistent so far, but the data ends before the line does.
    Incomplete,
}

/// `token` characters of RFC 3261 §25.1 (the SIP parser's table: one load a byte).
#[inline]
fn is_token_char(b: u8) -> bool {
    crate::bytes::is_token(b)
}

/// Checks `data` against `expected`, case-insensitively (SIP-Version literals are
/// case-insensitive, RFC 3261 §25.1 and RFC 2234 §2.3). A short `data` that matches so far is
/// `Incomplete`.
fn literal(data: &[u8], expected: &[u8]) -> StartLine {
    // The upper-case spelling nearly always: one exact compare, no per-byte folding.
    if data.starts_with(expected) {
        return StartLine::Yes;
    }
    let n = data.len().min(expected.len());
    match (data.get(..n), expected.get(..n)) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {
            if n == expected.len() {
                StartLine::Yes
            } else {
                StartLine::Incomplete
            }
        }
        _ => StartLine::No,
    }
}

/// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (RFC 3261 §7.2).
/// Accepts a missing reason phrase (some stacks omit the second SP).
fn status_line(data: &[u8]) -> StartLine {
    match literal(data, b"SIP/2.0 ") {
        StartLine::Yes => {}
        other => return other,
    }
    let rest = data.get(8..).unwrap_or_default();
    for i in 0..3 {
        match rest.get(i) {
            None => return StartLine::Incomplete,
            Some(b) if b.is_ascii_digit() => {}
            Some(_) => return StartLine::No,
        }
    }
    match rest.get(3) {
        None => StartLine::Incomplete,
        Some(b' ' | b'\r' | b'\n') => StartLine::Yes,
        Some(_) => StartLine::No,
    }
}

/// Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1).
fn request_line(data: &[u8]) -> StartLine {
    // Method: 1*token
    let method_len = data
        .iter()
        .take(MAX_METHOD + 1)
        .position(|&b| !is_token_char(b));
    let method_len = match method_len {
        Some(0) => return StartLine::No,
        Some(n) if n > MAX_METHOD => return StartLine::No,
        Some(n) => n,
        None if data.len() > MAX_METHOD => return StartLine::No,
        None => return StartLine::Incomplete,
    };
    if data.get(method_len) != Some(&b' ') {
        return StartLine::No;
    }
    // Request-URI: any visible characters up to the next SP (no SP or CTL inside, §25.1).
    let uri_start = method_len + 1;
    let rest = data.get(uri_start..).unwrap_or_default();
    // Only the bytes up to MAX_START_LINE are looked at; the first SP or control ends
    // the URI (a control, or running past the bound, is not SIP).
    let limit = (MAX_START_LINE + 1).saturating_sub(uri_start);
    let head = rest.get(..limit).unwrap_or(rest);
    let uri_len = match crate::bytes::find_sp_or_ctl(head) {
        Some(0) => return StartLine::No,
        Some(n) if head.get(n) == Some(&b' ') => n,
        Some(_) => return StartLine::No,
        None if rest.len() > head.len() => return StartLine::No,
        None => return StartLine::Incomplete,
    };
    let version = rest.get(uri_len + 1..).unwrap_or_default();
    match literal(version, b"SIP/2.0") {
        StartLine::Yes => {}
        other => return other,
    }
    match version.get(7) {
        None => StartLine::Incomplete,
        Some(b'\r' | b'\n') => StartLine::Yes,
        Some(_) => StartLine::No,
    }
}

/// Classifies the start of `data` as a SIP start line.
fn start_line(data: &[u8]) -> StartLine {
    // Both forms start with a token character ('S' for the status line), so one byte rejects
    // RTP, STUN, DTLS, TLS and most binary payloads.
    match data.first() {
        None => return StartLine::Incomplete,
        Some(&b) if !is_token_char(b) => return StartLine::No,
        Some(_) => {}
    }
    match status_line(data) {
        StartLine::No => request_line(data),
        other => other,
    }
}

/// Whether `data` begins with a complete SIP start line: a request line
/// `Method SP Request-URI SP SIP/2.0 CRLF` with a token method, or a status line
/// `SIP/2.0 SP 3DIGIT SP ...` (RFC 3261 §7.1, §7.2).
///
/// Cheap: rejects most non-SIP payloads on the first byte and never scans past the first line.
pub fn looks_like_sip_start(data: &[u8]) -> bool {
    start_line(data) == StartLine::Yes
}

/// Whether `data` could still be the beginning of a SIP start line (RFC 3261 §7.1, §7.2):
/// a complete one, or a prefix that more bytes could complete.
pub fn could_start_sip(data: &[u8]) -> bool {
    start_line(data) != StartLine::No
}

/// Whether the header part of the SIP message at the start of `buf` (which must be whole,
/// through its empty line) has a `Content-Length` (or compact `l`) header with a number.
pub(crate) fn declares_length(buf: &[u8]) -> bool {
    header_end(buf)
        .and_then(|n| buf.get(..n))
        .and_then(content_length)
        .is_some()
}

/// Frames the next SIP message at the start of a stream buffer (RFC 3261 §18.3), without a
/// bound on the message size. See [`frame_stream_bounded`].
pub fn frame_stream(buf: &[u8]) -> StreamFrame {
    frame_stream_bounded(buf, usize::MAX)
}

/// Frames the next SIP message at the start of a stream buffer (RFC 3261 §18.3).
///
/// - Leading CR/LF are keepalives (RFC 5626 §3.5.1) and are reported as such.
/// - The header part ends at the first empty line: CRLF CRLF, or, tolerated, LF LF.
/// - The body length is the first `Content-Length` (or compact `l`, RFC 3261 §7.3.3) header,
///   matched case-insensitively with optional whitespace around the colon. A missing or
///   unparsable value means 0: §18.3 makes the header mandatory on streams, so its absence
///   leaves no better guess.
/// - A message longer than `max_message` bytes is reported as [`StreamFrame::Oversize`] so the
///   caller can skip it without buffering it.
/// - Data that does not start with a SIP start line is [`StreamFrame::NotSip`] up to the next
///   line that might start one.
pub fn frame_stream_bounded(buf: &[u8], max_message: usize) -> StreamFrame {
    match buf.first() {
        None => return StreamFrame::NeedMore,
        Some(b'\r' | b'\n') => {
            let n = if buf.starts_with(b"\r\n\r\n") {
                4
            } else if buf.starts_with(b"\r\n") {
                2
            } else {
                1
            };
            return StreamFrame::Keepalive(n);
        }
        Some(_) => {}
    }
    match start_line(buf) {
        StartLine::Yes => {}
        StartLine::Incomplete => return StreamFrame::NeedMore,
        StartLine::No => return StreamFrame::NotSip(resync_point(buf)),
    }
    let header_len = match header_end(buf) {
        Some(n) => n,
        None => return StreamFrame::NeedMore,
    };
    let headers = buf.get(..header_len).unwrap_or_default();
    let body_len = content_length(headers).unwrap_or(0);
    let total = (header_len as u64).saturating_add(body_len);
    if total > max_message as u64 {
        return StreamFrame::Oversize { header_len, total };
    }
    match usize::try_from(total) {
        Ok(total) if total <= buf.len() => StreamFrame::Message(total),
        _ => StreamFrame::NeedMore,
    }
}

/// Offset of the first line start after position 0 that may begin a SIP message, or
/// `buf.len()`.
fn resync_point(buf: &[u8]) -> usize {
    for lf in memchr_iter(b'\n', buf) {
        let candidate = lf + 1;
        let rest = buf.get(candidate..).unwrap_or_default();
        if start_line(rest) != StartLine::No {
            return candidate;
        }
    }
    buf.len()
}

/// Length of the header part including the empty line, if complete.
fn header_end(buf: &[u8]) -> Option<usize> {
    for lf in memchr_iter(b'\n', buf) {
        match (buf.get(lf + 1), buf.get(lf + 2)) {
            (Some(b'\n'), _) => return Some(lf + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(lf + 3),
            _ => {}
        }
    }
    None
}

/// Value of the first Content-Length header in a header block (start line included).
fn content_length(headers: &[u8]) -> Option<u64> {
    // Skip the start line.
    let first_lf = memchr(b'\n', headers)?;
    let mut rest = headers.get(first_lf + 1..)?;
    while !rest.is_empty() {
        let line_end = crate::bytes::find_byte_near(b'\n', rest).unwrap_or(rest.len());
        let line = rest.get(..line_end).unwrap_or_default();
        rest = rest.get(line_end + 1..).unwrap_or_default();
        let Some(colon) = memchr(b':', line) else {
            continue;
        };
        let name = trim(line.get(..colon).unwrap_or_default());
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let value = trim(line.get(colon + 1..).unwrap_or_default());
            let digits = value.iter().take_while(|b| b.is_ascii_digit());
            let mut n: u64 = 0;
            let mut any = false;
            for &d in digits {
                any = true;
                n = n.saturating_mul(10).saturating_add(u64::from(d - b'0'));
            }
            return any.then_some(n);
        }
    }
    None
}

/// Trims SP, HT and CR on both sides (RFC 3261 §7.3.1 allows whitespace around the colon).
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', tail @ ..] = s {
        s = tail;
    }
    while let [head @ .., b' ' | b'\t' | b'\r'] = s {
        s = head;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_lines() {
        assert!(looks_like_sip_start(
            b"INVITE sip:bob@example.com SIP/2.0\r\n"
        ));
        assert!(looks_like_sip_start(b"OPTIONS sip:x SIP/2.0\n"));
        assert!(looks_like_sip_start(b"SIP/2.0 200 OK\r\n"));
        assert!(looks_like_sip_start(b"sip/2.0 180\r\n"));
        assert!(looks_like_sip_start(b"ACK sip:x sip/2.0\r\n"));
        assert!(could_start_sip(b"SIP/2."));
        assert!(could_start_sip(b"sip/2"));
        assert!(!looks_like_sip_start(b"SIP/2.1 200 OK\r\n"));
        assert!(!looks_like_sip_start(b"INVITE sip:x\x7f SIP/2.0\r\n"));
        assert!(!looks_like_sip_start(b"INVITE sip:x\tSIP/2.0\r\n"));
        assert!(looks_like_sip_start(b"NEWMETHOD sip:a SIP/2.0\r\n"));
        assert!(!looks_like_sip_start(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_sip_start(b"HTTP/1.1 200 OK\r\n"));
        assert!(!looks_like_sip_start(b"SIP/2.0 20 OK\r\n"));
        assert!(!looks_like_sip_start(b"INVITE  sip:x SIP/2.0\r\n"));
        assert!(!looks_like_sip_start(b"INVITE sip:x SIP/2.0 \r\n"));
        assert!(!looks_like_sip_start(b"INV\x01TE sip:x SIP/2.0\r\n"));
        assert!(!looks_like_sip_start(b"\x80\x00\x01\x02"));
        assert!(!looks_like_sip_start(b"\x16\x03\x01\x02\x00"));
        assert!(!looks_like_sip_start(b""));
        assert!(!looks_like_sip_start(b"INVITE sip:x SIP/2.0"));
    }

    #[test]
    fn uri_end_scan() {
        use crate::bytes::find_sp_or_ctl as f;
        assert_eq!(f(b""), None);
        assert_eq!(f(b"sip:a"), None);
        assert_eq!(f(b"sip:a SIP/2.0"), Some(5));
        let long = [b"sip:".repeat(10), b"\x7f".to_vec()].concat();
        assert_eq!(f(&long), Some(40));
        let long = [b"x".repeat(33), b"\t".to_vec()].concat();
        assert_eq!(f(&long), Some(33));
        assert_eq!(f(&b"x".repeat(48)), None);
        assert_eq!(f(b"\x00"), Some(0));
        assert_eq!(f(&[b'x', 0x80, 0xff, b'!']), None);
        // The URI bound of the stream test: past it, not SIP; short of it, wait.
        let mut long_uri = b"INVITE sip:".to_vec();
        long_uri.extend(std::iter::repeat_n(b'a', MAX_START_LINE));
        assert!(!could_start_sip(&long_uri));
        assert!(could_start_sip(long_uri.get(..1000).unwrap_or_default()));
    }

    #[test]
    fn frames_message_with_body() {
        let msg = b"INVITE sip:b SIP/2.0\r\nVia: x\r\nContent-Length: 4\r\n\r\nbodyNEXT";
        assert_eq!(frame_stream(msg), StreamFrame::Message(msg.len() - 4));
        assert_eq!(frame_stream(&msg[..msg.len() - 6]), StreamFrame::NeedMore);
    }

    #[test]
    fn content_length_forms() {
        let msg = b"SIP/2.0 200 OK\r\nl :  3\r\n\r\nabc";
        assert_eq!(frame_stream(msg), StreamFrame::Message(msg.len()));
        let msg = b"SIP/2.0 200 OK\r\ncOnTeNt-LeNgTh\t:2\r\n\r\nab";
        assert_eq!(frame_stream(msg), StreamFrame::Message(msg.len()));
        // Missing Content-Length on a stream: 0.
        let msg = b"SIP/2.0 200 OK\r\nVia: x\r\n\r\nextra";
        assert_eq!(frame_stream(msg), StreamFrame::Message(msg.len() - 5));
        // LF-only line endings.
        let msg = b"SIP/2.0 200 OK\nContent-Length: 1\n\nx";
        assert_eq!(frame_stream(msg), StreamFrame::Message(msg.len()));
        // Header names containing "l" must not match the compact form.
        let msg = b"SIP/2.0 200 OK\r\nAllow: 5\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(frame_stream(msg), StreamFrame::Message(msg.len()));
    }

    #[test]
    fn oversize_and_absurd_lengths() {
        let msg = b"SIP/2.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert_eq!(frame_stream(msg), StreamFrame::NeedMore);
        assert_eq!(
            frame_stream_bounded(msg, 1000),
            StreamFrame::Oversize {
                header_len: msg.len(),
                total: u64::MAX
            }
        );
    }

    #[test]
    fn keepalives() {
        assert_eq!(frame_stream(b"\r\n\r\nINVITE"), StreamFrame::Keepalive(4));
        assert_eq!(frame_stream(b"\r\n"), StreamFrame::Keepalive(2));
        assert_eq!(frame_stream(b"\n"), StreamFrame::Keepalive(1));
        assert_eq!(frame_stream(b""), StreamFrame::NeedMore);
    }

    #[test]
    fn not_sip_resynchronises() {
        let data = b"garbage line\r\nmore junk\r\nSIP/2.0 200 OK\r\n\r\n";
        assert_eq!(frame_stream(data), StreamFrame::NotSip(25));
        assert_eq!(frame_stream(b"\x16\x03\x01\x00"), StreamFrame::NotSip(4));
        // A partial line after the junk might still become a start line.
        assert_eq!(frame_stream(b"junk\nINV"), StreamFrame::NotSip(5));
        assert_eq!(frame_stream(b"INV"), StreamFrame::NeedMore);
        assert_eq!(
            frame_stream(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            StreamFrame::NotSip(27)
        );
    }
}
