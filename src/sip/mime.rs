//! Content-Type media types (RFC 3261 §20.15, §25.1 `media-type`) and multipart
//! bodies (RFC 2046 §5.1).

use super::text::{is_lws, is_token, read_quoted, split_top, trim_lws};
use super::uri::{ferr, FieldError};
use memchr::memmem;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::sequence::tuple;
use nom::IResult;
use std::borrow::Cow;

/// `m-type SLASH m-subtype *( SEMI m-parameter )`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// Top-level type (`application`).
    pub type_: &'a [u8],
    /// Subtype (`sdp`).
    pub subtype: &'a [u8],
    /// Parameters; quoted values are unquoted.
    pub params: Vec<(&'a [u8], Cow<'a, [u8]>)>,
}

fn type_slash_sub(s: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let lws = |i| take_while(is_lws)(i);
    let (rest, (t, _, _, _, sub)) = tuple((
        take_while1(is_token),
        lws,
        tag("/"),
        lws,
        take_while1(is_token),
    ))(s)?;
    Ok((rest, (t, sub)))
}

impl<'a> MediaType<'a> {
    /// Parses a Content-Type value.
    pub fn parse(s: &'a [u8]) -> Result<MediaType<'a>, FieldError> {
        let s = trim_lws(s);
        // Fast path for the one type nearly every body has; same result as the grammar.
        if s.eq_ignore_ascii_case(b"application/sdp") {
            return Ok(MediaType {
                type_: s.get(..11).unwrap_or(&[]),
                subtype: s.get(12..).unwrap_or(&[]),
                params: Vec::new(),
            });
        }
        let (rest, (type_, subtype)) = type_slash_sub(s).map_err(|_| ferr("bad media type"))?;
        let rest = trim_lws(rest);
        if !rest.is_empty() && rest.first() != Some(&b';') {
            return Err(ferr("unexpected text after media type"));
        }
        let mut params = Vec::new();
        for p in split_top(rest, b';') {
            let p = trim_lws(p);
            let Some(eq) = memchr::memchr(b'=', p) else {
                continue;
            };
            let name = trim_lws(p.get(..eq).unwrap_or(&[]));
            let v = trim_lws(p.get(eq + 1..).unwrap_or(&[]));
            let v = if v.first() == Some(&b'"') {
                read_quoted(v, 0).0
            } else {
                Cow::Borrowed(v)
            };
            params.push((name, v));
        }
        Ok(MediaType {
            type_,
            subtype,
            params,
        })
    }

    /// Case-insensitive `type/subtype` comparison.
    pub fn is(&self, type_: &str, subtype: &str) -> bool {
        // The spelling asked for (lower case) is nearly always the wire's: one exact
        // compare before the byte-by-byte folding one (~100 instructions for
        // "application").
        let eq = |a: &[u8], b: &str| a == b.as_bytes() || a.eq_ignore_ascii_case(b.as_bytes());
        eq(self.type_, type_) && eq(self.subtype, subtype)
    }

    /// Looks a parameter up by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &**v)
    }
}

/// Maximum multipart nesting followed when looking for SDP (bounded recursion).
const MAX_DEPTH: usize = 4;

/// Returns the first `application/sdp` body inside a multipart body (RFC 2046
/// §5.1.1 boundary delimiters; nested multiparts followed up to [`MAX_DEPTH`]).
pub(crate) fn find_sdp_in_multipart<'a>(
    body: &'a [u8],
    boundary: &[u8],
    depth: usize,
) -> Option<&'a [u8]> {
    if depth > MAX_DEPTH || boundary.is_empty() {
        return None;
    }
    for part in multipart_parts(body, boundary) {
        let (ct, content) = split_part(part);
        let Some(ct) = ct.and_then(|c| MediaType::parse(c).ok()) else {
            continue;
        };
        if ct.is("application", "sdp") {
            return Some(content);
        }
        if ct.type_.eq_ignore_ascii_case(b"multipart") {
            if let Some(b) = ct.param("boundary") {
                if let Some(sdp) = find_sdp_in_multipart(content, b, depth + 1) {
                    return Some(sdp);
                }
            }
        }
    }
    None
}

/// Splits a multipart body into its parts (headers + content of each, the CRLF
/// before each delimiter belonging to the delimiter, RFC 2046 §5.1.1).
pub(crate) fn multipart_parts<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&delim);
    // Delimiter positions: at the start of the body or right after LF.
    let mut starts = Vec::new();
    let mut from = 0;
    while let Some(i) = body.get(from..).and_then(|r| finder.find(r)) {
        let at = from + i;
        if at == 0 || body.get(at - 1) == Some(&b'\n') {
            starts.push(at);
        }
        from = at + delim.len();
    }
    let mut parts = Vec::new();
    for w in starts.windows(2) {
        let (Some(&a), Some(&b)) = (w.first(), w.get(1)) else {
            continue;
        };
        let after = a + delim.len();
        if body.get(after..after + 2) == Some(b"--") {
            break; // close-delimiter
        }
        // Skip transport padding and the line end after the delimiter.
        let content_start = body
            .get(after..b)
            .and_then(|r| memchr::memchr(b'\n', r))
            .map_or(b, |i| after + i + 1);
        // The CRLF (or LF) preceding the next delimiter is not content.
        let mut end = b;
        if end > content_start && body.get(end - 1) == Some(&b'\n') {
            end -= 1;
            if end > content_start && body.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
        }
        if let Some(p) = body.get(content_start..end.max(content_start)) {
            parts.push(p);
        }
    }
    parts
}

/// Most parts returned by [`multipart_part_types`].
const MAX_TYPED_PARTS: usize = 16;

/// The parts of a multipart body with their parsed Content-Type (parts without one, or
/// with an unparsable one, are skipped), at most 16. Used to look for S/MIME parts
/// (RFC 3261 §23.2, RFC 8551 §3.5).
pub fn multipart_part_types<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<(MediaType<'a>, &'a [u8])> {
    if boundary.is_empty() {
        return Vec::new();
    }
    multipart_parts(body, boundary)
        .into_iter()
        .filter_map(|part| {
            let (ct, content) = split_part(part);
            Some((MediaType::parse(ct?).ok()?, content))
        })
        .take(MAX_TYPED_PARTS)
        .collect()
}

/// Splits a body part into its Content-Type value (if any) and its content.
fn split_part(part: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let mut pos = 0;
    let mut ct = None;
    loop {
        let Some(i) = part.get(pos..).and_then(|r| memchr::memchr(b'\n', r)) else {
            // No empty line: a part without headers/body separator is all headers.
            return (ct, &[]);
        };
        let line = part.get(pos..pos + i).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += i + 1;
        if line.is_empty() {
            return (ct, part.get(pos..).unwrap_or(&[]));
        }
        if let Some(c) = memchr::memchr(b':', line) {
            let name = trim_lws(line.get(..c).unwrap_or(&[]));
            if name.eq_ignore_ascii_case(b"content-type") || name.eq_ignore_ascii_case(b"c") {
                ct = Some(trim_lws(line.get(c + 1..).unwrap_or(&[])));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        let m = MediaType::parse(b"multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(m.is("Multipart", "MIXED"));
        assert_eq!(m.param("boundary"), Some(&b"7a9cbec02ceef655"[..]));
        let m =
            MediaType::parse(b"multipart/related ; type=\"application/sdp\" ; boundary=\"a;b\"")
                .unwrap();
        assert_eq!(m.param("boundary"), Some(&b"a;b"[..]));
        assert_eq!(m.param("type"), Some(&b"application/sdp"[..]));
        assert!(MediaType::parse(b"application").is_err());
        assert!(MediaType::parse(b"application/sdp x").is_err());
        assert!(MediaType::parse(b"application / sdp")
            .unwrap()
            .is("application", "sdp"));
    }

    #[test]
    fn multipart_sdp() {
        let body = b"preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1\r\ncontent-type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: application/sdp\r\n\r\nv=0\r\no=x\r\n--b2--\r\n--b1--\r\nepilogue";
        assert_eq!(
            find_sdp_in_multipart(body, b"b1", 0),
            Some(&b"v=0\r\no=x"[..])
        );
        assert_eq!(find_sdp_in_multipart(body, b"nope", 0), None);
        assert_eq!(
            multipart_parts(b"--x\r\n\r\nA\r\n--x--", b"x"),
            vec![&b"\r\nA"[..]]
        );
        assert_eq!(find_sdp_in_multipart(b"--x", b"x", 0), None);
    }
}
