//! Byte-level helpers shared by the SIP accessors (RFC 3261 §25.1 basic rules).
//!
//! Every helper here treats CR and LF as linear white space so that header values
//! that still contain folding (`CRLF 1*WSP`, §7.3.1) read as if the fold were one SP,
//! without first copying the value.

use std::borrow::Cow;

/// SP or HTAB (`WSP`, RFC 5234).
#[inline]
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Linear white space including the CR/LF of a fold (`LWS`, RFC 3261 §25.1).
#[inline]
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `token` characters, RFC 3261 §25.1.
#[inline]
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// Strips LWS (folds included) from both ends.
pub(crate) fn trim_lws(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_lws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_lws(b)).map_or(start, |p| p + 1);
    s.get(start..end).unwrap_or(&[])
}

/// Index of the first non-LWS byte at or after `pos` (or `s.len()`).
pub(crate) fn skip_lws(s: &[u8], mut pos: usize) -> usize {
    while s.get(pos).is_some_and(|&b| is_lws(b)) {
        pos += 1;
    }
    pos
}

/// Length of the run of bytes satisfying `f` starting at `pos`.
pub(crate) fn run(s: &[u8], pos: usize, f: impl Fn(u8) -> bool) -> usize {
    s.get(pos..)
        .map_or(0, |t| t.iter().position(|&b| !f(b)).unwrap_or(t.len()))
}

/// True when `s` contains any LWS byte.
pub(crate) fn has_lws(s: &[u8]) -> bool {
    s.iter().any(|&b| is_lws(b))
}

/// Parses an all-digit decimal; `None` on empty input, other bytes or u64 overflow.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Splits a header value at top-level `sep` bytes: separators inside a quoted string
/// (with `\` quoted-pairs) or inside `<...>` do not count (RFC 3261 §7.3.1: a comma
/// inside a name-addr URI or a quoted display name does not separate values).
pub(crate) fn split_top(s: &[u8], sep: u8) -> SplitTop<'_> {
    SplitTop {
        s,
        pos: 0,
        sep,
        done: false,
    }
}

/// Iterator returned by [`split_top`]; yields untrimmed pieces.
pub(crate) struct SplitTop<'a> {
    s: &'a [u8],
    pos: usize,
    sep: u8,
    done: bool,
}

impl<'a> Iterator for SplitTop<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let mut i = start;
        let mut in_quote = false;
        let mut in_angle = false;
        while let Some(&b) = self.s.get(i) {
            if in_quote {
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == b'"' {
                    in_quote = false;
                }
            } else if b == b'"' {
                in_quote = true;
            } else if in_angle {
                if b == b'>' {
                    in_angle = false;
                }
            } else if b == b'<' {
                in_angle = true;
            } else if b == self.sep {
                self.pos = i + 1;
                return Some(self.s.get(start..i).unwrap_or(&[]));
            }
            i += 1;
        }
        self.done = true;
        Some(self.s.get(start..).unwrap_or(&[]))
    }
}

/// Reads a quoted-string starting at `pos` (which must hold `"`).
///
/// Returns the unescaped content (quoted-pairs resolved, folds read as one SP, §25.1),
/// the index just after the closing quote, and whether the closing quote was found.
/// An unterminated string runs to the end of `s` (the caller decides whether that is
/// acceptable).
pub(crate) fn read_quoted(s: &[u8], pos: usize) -> (Cow<'_, [u8]>, usize, bool) {
    let start = pos + 1;
    let mut i = start;
    let mut plain = true;
    let mut close = None;
    while let Some(&b) = s.get(i) {
        match b {
            b'\\' => {
                plain = false;
                i += 2;
                continue;
            }
            b'\r' | b'\n' => plain = false,
            b'"' => {
                close = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let end = close.unwrap_or(s.len());
    let raw = s.get(start..end).unwrap_or(&[]);
    let next = close.map_or(s.len(), |c| c + 1);
    if plain {
        return (Cow::Borrowed(raw), next, close.is_some());
    }
    (Cow::Owned(unescape(raw)), next, close.is_some())
}

/// Resolves quoted-pairs and replaces each fold (CR/LF plus following WSP) by one SP.
fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut it = raw.iter().copied().peekable();
    while let Some(b) = it.next() {
        match b {
            b'\\' => {
                if let Some(n) = it.next() {
                    out.push(n);
                }
            }
            b'\r' | b'\n' => {
                while it.peek().is_some_and(|&n| is_lws(n)) {
                    it.next();
                }
                out.push(b' ');
            }
            _ => out.push(b),
        }
    }
    out
}

/// Replaces folds by one SP; borrows when the value holds no CR/LF.
pub(crate) fn unfold(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter().copied().peekable();
    while let Some(b) = it.next() {
        if b == b'\r' || b == b'\n' {
            while it.peek().is_some_and(|&n| is_lws(n)) {
                it.next();
            }
            if !out.last().is_some_and(|&l: &u8| is_wsp(l)) {
                out.push(b' ');
            }
        } else {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

/// A generic parameter list `*( SEMI generic-param )` (RFC 3261 §25.1), as used after
/// name-addr, Via and media types. Names and values are trimmed of LWS; quoted values
/// keep their quotes (callers unquote when they need to).
pub(crate) fn parse_params(s: &[u8]) -> Vec<(&[u8], Option<&[u8]>)> {
    let mut out = Vec::new();
    for p in split_top(s, b';') {
        let p = trim_lws(p);
        if p.is_empty() {
            continue;
        }
        match memchr::memchr(b'=', p) {
            Some(eq) => out.push((
                trim_lws(p.get(..eq).unwrap_or(&[])),
                Some(trim_lws(p.get(eq + 1..).unwrap_or(&[]))),
            )),
            None => out.push((p, None)),
        }
    }
    out
}

/// True when a `;`-separated parameter list holds an empty element (e.g. `;;`),
/// which `generic-param` does not allow.
pub(crate) fn params_have_empty(s: &[u8]) -> bool {
    split_top(s, b';').skip(1).any(|p| trim_lws(p).is_empty())
}

/// Looks a parameter up by case-insensitive name.
pub(crate) fn find_param<'a>(
    params: &[(&'a [u8], Option<&'a [u8]>)],
    name: &str,
) -> Option<Option<&'a [u8]>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_folds() {
        assert_eq!(trim_lws(b" \r\n a b\t"), b"a b");
        assert_eq!(trim_lws(b" \r\n "), b"");
    }

    #[test]
    fn split_respects_quotes_and_angles() {
        let v: Vec<&[u8]> = split_top(b"\"a,b\" <sip:x;a=1,2>, c", b',').collect();
        assert_eq!(v, vec![&b"\"a,b\" <sip:x;a=1,2>"[..], &b" c"[..]]);
        let v: Vec<&[u8]> = split_top(b"\"a\\\",b\",c", b',').collect();
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn quoted_strings() {
        let (v, next, ok) = read_quoted(b"\"J R \\\\\\\"\" x", 0);
        assert_eq!(&*v, b"J R \\\"");
        assert_eq!(next, 10);
        assert!(ok);
        let (v, _, ok) = read_quoted(b"\"open", 0);
        assert_eq!(&*v, b"open");
        assert!(!ok);
        let (v, _, _) = read_quoted(b"\"a\r\n b\"", 0);
        assert_eq!(&*v, b"a b");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0068"), Some(68));
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"36893488147419103232"), None);
    }

    #[test]
    fn params() {
        let p = parse_params(b";tag = 1 ;\r\n lr; q=\"a;b\"");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], (&b"tag"[..], Some(&b"1"[..])));
        assert_eq!(p[1], (&b"lr"[..], None));
        assert_eq!(p[2].1, Some(&b"\"a;b\""[..]));
        assert!(params_have_empty(b"x;;"));
        assert!(!params_have_empty(b"x;a;b"));
        assert_eq!(unfold(b"a\r\n  b"), Cow::Borrowed(&b"a b"[..]));
    }
}
