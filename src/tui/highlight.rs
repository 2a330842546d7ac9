//! Syntax colouring of a SIP message's text for the raw pane: start line, header names and
//! values, folded lines, and an SDP body, each in its [`Theme`] role.
//!
//! The text is what the engine kept of the wire bytes, so it may be anything: every line
//! goes through [`sanitize`] (tabs expanded, control characters replaced) before it reaches
//! the terminal, and nothing here indexes without a bound.

use std::borrow::Cow;
use std::ops::Range;

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::theme::Theme;

/// Tab stops every 8 columns, like a terminal.
const TAB_WIDTH: usize = 8;

/// One line made safe to draw: the trailing `\r`s of CRLF removed, tabs expanded to the next
/// tab stop, and every other control character (ESC above all: message text is attacker
/// controlled and must not drive the terminal) replaced by U+FFFD. Borrows when nothing
/// changes, which is the common case.
pub fn sanitize(line: &str) -> Cow<'_, str> {
    let line = line.trim_end_matches('\r');
    if !line.contains(char::is_control) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + TAB_WIDTH);
    let mut col = 0usize;
    for c in line.chars() {
        match c {
            '\t' => {
                let n = TAB_WIDTH - col % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c if c.is_control() => {
                out.push(char::REPLACEMENT_CHARACTER);
                col += 1;
            }
            c => {
                out.push(c);
                col += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// Where the scanner is in the message (RFC 3261 §7: start line, headers, blank line, body).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Start,
    Headers,
    Body { sdp: bool },
}

/// What the headers said about the body.
#[derive(Default)]
struct BodyHints {
    /// The last header seen was Content-Type (so a folded line continues it).
    in_content_type: bool,
    sdp: bool,
    multipart: bool,
}

impl BodyHints {
    fn note_content_type(&mut self, value: &str) {
        let lower = value.to_ascii_lowercase();
        self.sdp |= lower.contains("application/sdp");
        self.multipart |= lower.contains("multipart/");
    }
}

/// Colours a SIP message (request or response, with or without a body), one [`Line`] per
/// line of `text` as [`str::lines`] splits it. Spans borrow from `text` unless [`sanitize`]
/// had to rewrite the line.
///
/// The body is coloured as SDP (RFC 8866 §5) when Content-Type (or its compact form `c`)
/// names `application/sdp`, when it is multipart (only the `x=` lines of its parts are
/// coloured), or when every non-empty body line looks like `x=`; any other body is plain.
pub fn sip_lines<'a>(text: &'a str, theme: &Theme) -> Vec<Line<'a>> {
    let raw: Vec<&'a str> = text.lines().collect();
    let mut out = Vec::with_capacity(raw.len());
    let mut part = Part::Start;
    let mut hints = BodyHints::default();
    for (i, line) in raw.iter().enumerate() {
        let line = sanitize(line);
        let parts: Vec<(Range<usize>, Style)> = match part {
            // RFC 3261 §7.5: empty lines before the start line are ignored (keep-alives).
            Part::Start if line.is_empty() => Vec::new(),
            Part::Start => {
                part = Part::Headers;
                start_line(&line, theme)
            }
            Part::Headers if line.is_empty() => {
                let body = raw.get(i + 1..).unwrap_or_default();
                let sdp = hints.sdp || hints.multipart || looks_like_sdp(body);
                part = Part::Body { sdp };
                Vec::new()
            }
            Part::Headers => header_line(&line, theme, &mut hints),
            Part::Body { sdp: true } if is_sdp_line(&line) => sdp_line(&line, theme),
            Part::Body { .. } => vec![(0..line.len(), theme.text)],
        };
        out.push(materialize(line, &parts));
    }
    out
}

/// Builds the spans of one line from byte ranges, borrowing when the line is borrowed.
fn materialize<'a>(line: Cow<'a, str>, parts: &[(Range<usize>, Style)]) -> Line<'a> {
    let spans: Vec<Span<'a>> = match line {
        Cow::Borrowed(s) => parts
            .iter()
            .filter(|(r, _)| !r.is_empty())
            .map(|(r, st)| Span::styled(s.get(r.clone()).unwrap_or_default(), *st))
            .collect(),
        Cow::Owned(s) => parts
            .iter()
            .filter(|(r, _)| !r.is_empty())
            .map(|(r, st)| Span::styled(s.get(r.clone()).unwrap_or_default().to_owned(), *st))
            .collect(),
    };
    Line::from(spans)
}

/// Request line (RFC 3261 §7.1): the method in `request`; status line (§7.2): code and
/// reason in `response_ok` (1xx/2xx) or `response_err` (anything else, garbage included).
/// Both over `start_line`.
fn start_line(line: &str, theme: &Theme) -> Vec<(Range<usize>, Style)> {
    let first_sp = line.find(' ').unwrap_or(line.len());
    let is_status = line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    let rest = first_sp..line.len();
    if is_status {
        let code = line.get(first_sp..).unwrap_or_default().trim_start();
        // Garbage where the code should be counts as an error (code 0).
        let code: u16 = code.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        let class = theme.status(code);
        vec![
            (0..first_sp, theme.start_line),
            (rest, theme.start_line.patch(class)),
        ]
    } else {
        vec![
            (0..first_sp, theme.start_line.patch(theme.request)),
            (rest, theme.start_line),
        ]
    }
}

/// `name: value` (RFC 3261 §7.3.1, compact forms §7.3.3 included), or a folded continuation
/// line starting with whitespace, which is all value. A line without a colon is malformed
/// and drawn as plain text.
fn header_line(line: &str, theme: &Theme, hints: &mut BodyHints) -> Vec<(Range<usize>, Style)> {
    if line.starts_with(' ') {
        if hints.in_content_type {
            hints.note_content_type(line);
        }
        return vec![(0..line.len(), theme.header_value)];
    }
    let Some(colon) = line.find(':') else {
        hints.in_content_type = false;
        return vec![(0..line.len(), theme.text)];
    };
    let name = line.get(..colon).unwrap_or_default().trim_end();
    hints.in_content_type =
        name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("c");
    if hints.in_content_type {
        hints.note_content_type(line.get(colon + 1..).unwrap_or_default());
    }
    vec![
        (0..colon + 1, theme.header_name),
        (colon + 1..line.len(), theme.header_value),
    ]
}

/// `x=` with a letter type (RFC 8866 §5).
fn is_sdp_line(line: &str) -> bool {
    let b = line.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphabetic) && b.get(1) == Some(&b'=')
}

/// A body whose non-empty lines are all `x=` lines (and there is at least one).
fn looks_like_sdp(body: &[&str]) -> bool {
    let mut lines = body
        .iter()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
        .peekable();
    lines.peek().is_some() && lines.all(is_sdp_line)
}

/// `x=` in `sdp_type`; for `a=`, the attribute name up to and including its colon (or the
/// whole flag attribute, e.g. `a=sendrecv`) in `sdp_attr` (RFC 8866 §5.13). The value after
/// the first colon stays a value: a `crypto` line's `inline:` key is not an attribute name.
fn sdp_line(line: &str, theme: &Theme) -> Vec<(Range<usize>, Style)> {
    let mut parts = vec![(0..2, theme.sdp_type)];
    if line.starts_with("a=") {
        let rest = line.get(2..).unwrap_or_default();
        let name_end = rest.find(':').map_or(line.len(), |c| 2 + c + 1);
        parts.push((2..name_end, theme.sdp_attr));
        parts.push((name_end..line.len(), theme.header_value));
    } else {
        parts.push((2..line.len(), theme.header_value));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
        Max-Forwards: 70\r\n\
        To: Bob <sip:bob@biloxi.example.com>\r\n\
        f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
        CSeq: 314159 INVITE\r\n\
        Subject: a long\r\n \
        folded subject\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 240\r\n\
        \r\n\
        v=0\r\n\
        o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n\
        c=IN IP4 192.0.2.101\r\n\
        m=audio 49172 RTP/SAVP 0\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n\
        a=sendrecv\r\n";

    fn spans(line: &Line<'_>) -> Vec<(String, Style)> {
        line.spans
            .iter()
            .map(|s| (s.content.to_string(), s.style))
            .collect()
    }

    fn span(text: &str, style: Style) -> (String, Style) {
        (text.to_string(), style)
    }

    #[test]
    fn invite_with_sdp_is_coloured_by_role() {
        let t = Theme::dark();
        let lines = sip_lines(INVITE, &t);
        assert_eq!(lines.len(), INVITE.lines().count());
        assert_eq!(
            spans(&lines[0]),
            vec![
                span("INVITE", t.start_line.patch(t.request)),
                span(" sip:bob@biloxi.example.com SIP/2.0", t.start_line),
            ]
        );
        assert_eq!(
            spans(&lines[1]),
            vec![
                span("Via:", t.header_name),
                span(
                    " SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
                    t.header_value
                ),
            ]
        );
        // Compact form of From (RFC 3261 §7.3.3).
        assert_eq!(spans(&lines[4])[0], span("f:", t.header_name));
        // The folded Subject continuation is all value.
        assert_eq!(
            spans(&lines[8]),
            vec![span(" folded subject", t.header_value)]
        );
        // Blank separator.
        assert!(lines[11].spans.is_empty());
        assert_eq!(
            spans(&lines[12]),
            vec![span("v=", t.sdp_type), span("0", t.header_value)]
        );
        assert_eq!(
            spans(&lines[16]),
            vec![
                span("a=", t.sdp_type),
                span("rtpmap:", t.sdp_attr),
                span("0 PCMU/8000", t.header_value),
            ]
        );
        // The crypto key stays in the value: `inline:` is not an attribute name.
        assert_eq!(
            spans(&lines[17]),
            vec![
                span("a=", t.sdp_type),
                span("crypto:", t.sdp_attr),
                span(
                    "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
                    t.header_value
                ),
            ]
        );
        assert_eq!(
            spans(&lines[18]),
            vec![span("a=", t.sdp_type), span("sendrecv", t.sdp_attr)]
        );
        // No \r survives anywhere.
        assert!(lines
            .iter()
            .flat_map(|l| &l.spans)
            .all(|s| !s.content.contains('\r')));
    }

    #[test]
    fn status_line_colour_follows_the_class() {
        let t = Theme::dark();
        for (msg, class) in [
            ("SIP/2.0 100 Trying\r\n", t.response_ok),
            ("SIP/2.0 200 OK\r\n", t.response_ok),
            ("SIP/2.0 302 Moved\r\n", t.response_err),
            ("SIP/2.0 486 Busy Here\r\n", t.response_err),
            ("SIP/2.0 603 Decline\r\n", t.response_err),
            ("SIP/2.0 2xx Odd\r\n", t.response_err),
            ("SIP/2.0 1\r\n", t.response_err),
        ] {
            let lines = sip_lines(msg, &t);
            let s = spans(&lines[0]);
            assert_eq!(s[0], span("SIP/2.0", t.start_line), "{msg}");
            assert_eq!(s[1].1, t.start_line.patch(class), "{msg}");
            assert_eq!(s[1].0, msg.trim_end()[7..].to_string());
        }
    }

    #[test]
    fn compact_content_type_makes_the_body_sdp() {
        let t = Theme::light();
        let msg = "SIP/2.0 200 OK\r\nc: Application/SDP\r\n\r\nv=0\r\nhello\r\n";
        let lines = sip_lines(msg, &t);
        assert_eq!(spans(&lines[3])[0], span("v=", t.sdp_type));
        // A non-`x=` line in an SDP body is left plain.
        assert_eq!(spans(&lines[4]), vec![span("hello", t.text)]);
    }

    #[test]
    fn body_shape_alone_makes_it_sdp_and_other_bodies_stay_plain() {
        let t = Theme::dark();
        let sdp = sip_lines("INVITE sip:x SIP/2.0\n\nv=0\ns=-\n", &t);
        assert_eq!(spans(&sdp[2])[0], span("v=", t.sdp_type));
        let plain = sip_lines(
            "MESSAGE sip:x SIP/2.0\nContent-Type: text/plain\n\nv=0 here\nhi\n",
            &t,
        );
        assert_eq!(spans(&plain[3]), vec![span("v=0 here", t.text)]);
        assert_eq!(spans(&plain[4]), vec![span("hi", t.text)]);
    }

    #[test]
    fn tabs_expand_and_control_characters_are_replaced() {
        let t = Theme::dark();
        let lines = sip_lines("OPTIONS sip:x SIP/2.0\r\nVia:\tSIP/2.0\x1b[2J\r\r\n", &t);
        let s = spans(&lines[1]);
        assert_eq!(s[0], span("Via:", t.header_name));
        assert_eq!(s[1], span("    SIP/2.0\u{fffd}[2J", t.header_value));
        assert_eq!(sanitize("a\tb"), "a       b");
        assert!(matches!(sanitize("plain\r"), Cow::Borrowed("plain")));
    }

    #[test]
    fn multipart_body_colours_only_its_sdp_lines() {
        let t = Theme::dark();
        let msg = "INVITE sip:x SIP/2.0\r\nContent-Type: multipart/mixed;\r\n boundary=b\r\n\r\n\
            --b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--\r\n";
        let lines = sip_lines(msg, &t);
        assert_eq!(spans(&lines[4]), vec![span("--b", t.text)]);
        assert_eq!(spans(&lines[7])[0], span("v=", t.sdp_type));
    }

    #[test]
    fn header_without_colon_is_plain_text() {
        let t = Theme::dark();
        let lines = sip_lines("BYE sip:x SIP/2.0\r\nnonsense line\r\n", &t);
        assert_eq!(spans(&lines[1]), vec![span("nonsense line", t.text)]);
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_the_text(text in "(?s).{0,300}") {
            let t = Theme::dark();
            let lines = sip_lines(&text, &t);
            prop_assert_eq!(lines.len(), text.lines().count());
            for (line, src) in lines.iter().zip(text.lines()) {
                let joined: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
                let clean = sanitize(src);
                prop_assert_eq!(joined.as_str(), clean.as_ref());
                prop_assert!(!joined.contains(char::is_control));
            }
        }

        #[test]
        fn never_panics_on_sip_shaped_text(
            text in "(INVITE|SIP/2\\.0|[a-z]=|[A-Za-z-]{1,12}:|\\r\\n|\\n| |\\t|c: application/sdp|\\x1b|é|[0-9]{1,3}){0,60}"
        ) {
            let lines = sip_lines(&text, &Theme::mono());
            prop_assert_eq!(lines.len(), text.lines().count());
        }
    }
}
