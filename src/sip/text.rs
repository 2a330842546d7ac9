//! Byte-level helpers shared by the SIP accessors (RFC 3261 §25.1 basic rules).
//!
//! Every helper here treats CR and LF as linear white space so that header values
//! that still contain folding (`CRLF 1*WSP`, §7.3.1) read as if the fold were one SP,
//! without first copying the value.

use std::borrow::Cow;

pub(crate) use crate::bytes::{find2, find_byte, is_token};
use crate::bytes::{find3, splat, zero_bytes, HI};

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

/// True when every byte of `s` is a `token` character (true for an empty `s`).
#[inline]
pub(crate) fn all_token(s: &[u8]) -> bool {
    // No early exit: the inputs are short names that nearly always pass, and the
    // AND-fold over table loads compiles to a tight branch-free loop.
    s.iter().fold(true, |acc, &b| acc & is_token(b))
}

/// Contains `needle` (lower-case ASCII) ignoring ASCII case (parameter names and
/// transports are case-insensitive, RFC 3261 §7.3.1); the scan jumps between the two
/// cases of the first byte with memchr.
pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&f) = needle.first() else {
        return true;
    };
    memchr::memchr2_iter(f, f.to_ascii_uppercase(), hay).any(|i| {
        hay.get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// Length of the host in a `host[:port]` run: up to the first `:`, or all of `s`
/// when it holds two or more `:` (an unbracketed IPv6 address, recovered as a host
/// without port).
pub(crate) fn host_len(s: &[u8]) -> usize {
    match find_byte(b':', s) {
        Some(i) if !s.get(i + 1..).is_some_and(|r| r.contains(&b':')) => i,
        _ => s.len(),
    }
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
    // Eight bytes per step: every LWS byte is below 0x21, so a word holding no byte
    // below 0x21 (the usual case: URIs, Call-IDs) is cleared with a few operations, and
    // only a word that does is looked at byte by byte. (The previous per-byte OR-fold was
    // meant to vectorize but did not, and cost 8 instructions a byte.)
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(c) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        // Some byte below 0x21 ("has a byte less than n", exact for n <= 0x80: such a
        // byte borrows when n is subtracted from it and had its high bit clear).
        if w.wrapping_sub(splat(0x21)) & !w & HI != 0 && c.iter().any(|&b| is_lws(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| is_lws(b))
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
        plain: false,
        done: false,
    }
}

/// Like [`split_top`] but every `sep` splits (quotes and `<>` are not special).
pub(crate) fn split_plain(s: &[u8], sep: u8) -> SplitTop<'_> {
    SplitTop {
        s,
        pos: 0,
        sep,
        plain: true,
        done: false,
    }
}

/// Iterator returned by [`split_top`]; yields untrimmed pieces.
pub(crate) struct SplitTop<'a> {
    s: &'a [u8],
    pos: usize,
    sep: u8,
    plain: bool,
    done: bool,
}

impl<'a> Iterator for SplitTop<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let start = self.pos;
        if self.plain {
            let rest = self.s.get(start..).unwrap_or(&[]);
            return Some(match find_byte(self.sep, rest) {
                Some(i) => {
                    self.pos = start + i + 1;
                    rest.get(..i).unwrap_or(&[])
                }
                None => {
                    self.done = true;
                    rest
                }
            });
        }
        // No separator left at all: the rest is the last piece whatever its quotes and
        // angles (the usual one-element Via or Contact, the last parameter of a list).
        let rest = self.s.get(start..).unwrap_or(&[]);
        if find_byte(self.sep, rest).is_none() {
            self.done = true;
            return Some(rest);
        }
        // Jump between the bytes that change state with memchr (the values are mostly
        // plain text). A `"` opens a quoted string even inside `<>`; `\\` escapes
        // the next byte only inside quotes.
        let mut i = start;
        let mut in_quote = false;
        let mut in_angle = false;
        while let Some(rest) = self.s.get(i..) {
            if in_quote {
                let Some(j) = find2(b'\\', b'"', rest) else {
                    break;
                };
                if rest.get(j) == Some(&b'"') {
                    in_quote = false;
                    i += j + 1;
                } else {
                    i += j + 2;
                }
            } else if in_angle {
                let Some(j) = find2(b'"', b'>', rest) else {
                    break;
                };
                if rest.get(j) == Some(&b'"') {
                    in_quote = true;
                } else {
                    in_angle = false;
                }
                i += j + 1;
            } else {
                let Some(j) = find3(self.sep, b'"', b'<', rest) else {
                    break;
                };
                match rest.get(j) {
                    Some(&b'"') => in_quote = true,
                    Some(&b'<') => in_angle = true,
                    _ => {
                        self.pos = i + j + 1;
                        return Some(self.s.get(start..i + j).unwrap_or(&[]));
                    }
                }
                i += j + 1;
            }
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

/// A `;name[=value]` parameter list, kept as the raw bytes and read lazily: no
/// allocation per parse, and most callers only look one or two names up.
///
/// Two flavours share the type. Header parameters (`generic-param`, RFC 3261 §25.1,
/// after name-addr, Via): `;` inside quotes or `<>` does not split, names and values are
/// trimmed of LWS (folds included), quoted values keep their quotes. URI parameters
/// (`uri-parameters`, §19.1.1): split at every `;`, untrimmed (a URI holds no LWS).
/// Empty elements (`;;`) are skipped in both.
#[derive(Clone, Copy)]
pub struct Params<'a> {
    raw: &'a [u8],
    uri: bool,
}

impl<'a> Params<'a> {
    /// Header (`generic-param`) parameters over `raw` (normally starting with `;`).
    pub(crate) fn generic(raw: &'a [u8]) -> Params<'a> {
        Params { raw, uri: false }
    }

    /// URI parameters over `raw` (normally starting with `;`).
    pub(crate) fn uri(raw: &'a [u8]) -> Params<'a> {
        Params { raw, uri: true }
    }

    /// The parameter list as on the wire.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The parameters in wire order: `(name, Some(value))`, or `(name, None)` for a flag.
    pub fn iter(&self) -> ParamsIter<'a> {
        ParamsIter {
            split: if self.uri {
                split_plain(self.raw, b';')
            } else {
                split_top(self.raw, b';')
            },
            uri: self.uri,
        }
    }

    /// Looks a parameter up by case-insensitive name (first occurrence); `Some(None)`
    /// for a flag.
    pub fn get(&self, name: &str) -> Option<Option<&'a [u8]>> {
        // Most lists looked into are empty (a URI or name-addr without parameters).
        if self.raw.is_empty() {
            return None;
        }
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl<'a> IntoIterator for &Params<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);
    type IntoIter = ParamsIter<'a>;

    fn into_iter(self) -> ParamsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);
    type IntoIter = ParamsIter<'a>;

    fn into_iter(self) -> ParamsIter<'a> {
        self.iter()
    }
}

/// Two lists are equal when they hold the same parameters in the same order.
impl PartialEq for Params<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Params<'_> {}

impl std::fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over a [`Params`] list.
pub struct ParamsIter<'a> {
    split: SplitTop<'a>,
    uri: bool,
}

impl<'a> Iterator for ParamsIter<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let p = self.split.next()?;
            if self.uri {
                if p.is_empty() || p.iter().all(|&b| is_lws(b)) {
                    continue;
                }
                return Some(match find_byte(b'=', p) {
                    Some(eq) => (p.get(..eq).unwrap_or(&[]), p.get(eq + 1..)),
                    None => (p, None),
                });
            }
            let p = trim_lws(p);
            if p.is_empty() {
                continue;
            }
            return Some(match find_byte(b'=', p) {
                Some(eq) => (
                    trim_lws(p.get(..eq).unwrap_or(&[])),
                    Some(trim_lws(p.get(eq + 1..).unwrap_or(&[]))),
                ),
                None => (p, None),
            });
        }
    }
}

/// Strict `generic-param` syntax of a header parameter list, in one pass without
/// collecting: (holds an empty element such as `;;`, holds a name that is empty or not
/// a `token`). The text before the first `;` is not an element, so it may be empty.
#[cfg(test)]
pub(crate) fn check_generic_params(s: &[u8]) -> (bool, bool) {
    scan_generic_params(s, |_, _| {})
}

/// [`check_generic_params`] and [`Params::iter`] in one pass: `each` is given every
/// parameter as the iterator yields it, in wire order, and the strict verdict is returned.
/// The name-addr and Via parsers pick their well-known parameters (`tag`, `branch`, ...)
/// here instead of splitting the list a second and third time.
pub(crate) fn scan_generic_params<'a>(
    s: &'a [u8],
    mut each: impl FnMut(&'a [u8], Option<&'a [u8]>),
) -> (bool, bool) {
    // One pass with a table load a byte over the usual list (`;tag=...`,
    // `;branch=...;rport`): while no quote, `<` or LWS shows, every `;` splits and the
    // trims are no-ops, so an element ending at a `;` is complete as the general scan
    // would see it. At the first such byte the rest, from the start of the element it is
    // in, goes to the general scan: the state there is the same (outside quotes and
    // `<>`), so `each` sees every element once, in order, as the general scan gives them.
    let mut empty = false;
    let mut bad_name = false;
    let mut start = 0;
    let mut eq = None;
    let mut i = 0;
    loop {
        // Plain bytes eight a step (SWAR): the first byte of the word that is `;`, `=`,
        // `"`, `<` or below 0x21 (LWS and other controls: the byte step below tells
        // them apart) is the lowest mark of the OR of exact first-match masks.
        while let Some(c) = s.get(i..i + 8) {
            let Ok(word) = <[u8; 8]>::try_from(c) else {
                break;
            };
            let w = u64::from_le_bytes(word);
            let m = zero_bytes(w ^ splat(b';'))
                | zero_bytes(w ^ splat(b'='))
                | zero_bytes(w ^ splat(b'"'))
                | zero_bytes(w ^ splat(b'<'))
                | (w.wrapping_sub(splat(0x21)) & !w & HI);
            if m != 0 {
                i += (m.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        let class = s.get(i).map_or(P_SEMI, |&b| PARAM_CLASS[usize::from(b)]);
        if class == P_PLAIN {
            i += 1;
            continue;
        }
        if class == P_EQ {
            if eq.is_none() {
                eq = Some(i);
            }
            i += 1;
            continue;
        }
        if class == P_OTHER {
            let rest = s.get(start..).unwrap_or(&[]);
            let (e, b) = scan_general(rest, start > 0, each);
            return (empty | e, bad_name | b);
        }
        // `;` or the end: the element `start..i`.
        let p = s.get(start..i).unwrap_or(&[]);
        if p.is_empty() {
            empty |= start > 0;
        } else {
            let (name, value) = match eq {
                Some(eq) => (
                    s.get(start..eq).unwrap_or(&[]),
                    Some(s.get(eq + 1..i).unwrap_or(&[])),
                ),
                None => (p, None),
            };
            bad_name |= name.is_empty() || !all_token(name);
            each(name, value);
        }
        if i >= s.len() {
            return (empty, bad_name);
        }
        i += 1;
        start = i;
        eq = None;
    }
}

/// [`PARAM_CLASS`]: any byte that changes nothing in the plain scan.
const P_PLAIN: u8 = 0;
/// [`PARAM_CLASS`]: `;`.
const P_SEMI: u8 = 1;
/// [`PARAM_CLASS`]: `=`.
const P_EQ: u8 = 2;
/// [`PARAM_CLASS`]: a byte the plain scan leaves to the general one (`"`, `<`, LWS).
const P_OTHER: u8 = 3;

/// Byte classes of [`scan_generic_params`].
const PARAM_CLASS: [u8; 256] = {
    let mut t = [P_PLAIN; 256];
    t[b';' as usize] = P_SEMI;
    t[b'=' as usize] = P_EQ;
    t[b'"' as usize] = P_OTHER;
    t[b'<' as usize] = P_OTHER;
    t[b' ' as usize] = P_OTHER;
    t[b'\t' as usize] = P_OTHER;
    t[b'\r' as usize] = P_OTHER;
    t[b'\n' as usize] = P_OTHER;
    t
};

/// [`scan_generic_params`] for any list (the scan before the one-pass fast path, kept as
/// is, and the oracle of the tests).
#[cfg(test)]
pub(crate) fn scan_generic_params_general<'a>(
    s: &'a [u8],
    each: impl FnMut(&'a [u8], Option<&'a [u8]>),
) -> (bool, bool) {
    scan_general(s, false, each)
}

/// The general scan of `s`; `continued`: `s` starts after a `;` of a longer list (so its
/// first element is an element: empty, it counts as one).
fn scan_general<'a>(
    s: &'a [u8],
    continued: bool,
    mut each: impl FnMut(&'a [u8], Option<&'a [u8]>),
) -> (bool, bool) {
    let mut empty = false;
    let mut bad_name = false;
    for (i, p) in split_top(s, b';').enumerate() {
        let p = trim_lws(p);
        if p.is_empty() {
            empty |= i > 0 || continued;
            continue;
        }
        let (name, value) = match find_byte(b'=', p) {
            Some(eq) => (
                trim_lws(p.get(..eq).unwrap_or(&[])),
                Some(trim_lws(p.get(eq + 1..).unwrap_or(&[]))),
            ),
            None => (p, None),
        };
        bad_name |= name.is_empty() || !all_token(name);
        each(name, value);
    }
    (empty, bad_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::{find_any, find_byte_near};

    #[test]
    fn lws_bytes() {
        for b in 0..=255u8 {
            assert_eq!(has_lws(&[b'a', b, b'a']), is_lws(b), "{b}");
        }
        assert!(!has_lws(b""));
    }

    /// The SWAR scans against plain byte loops, at every length and alignment around the
    /// 8-byte steps, with the looked-for bytes (and their neighbours 0x80 and 0xA0,
    /// which differ from them by one bit) at every position.
    #[test]
    fn word_scans_match_byte_loops() {
        let fill = [b'a', 0x80, 0xa0, 0x21, 0xff, 0x00];
        for len in 0..40usize {
            for &f in &fill {
                for pos in 0..=len {
                    for &x in &[b' ', b'\t', b'\r', b'\n', b';', b'"', b'<', 0x20 | 0x80, f] {
                        let mut v = vec![f; len];
                        if let Some(b) = v.get_mut(pos) {
                            *b = x;
                        }
                        assert_eq!(has_lws(&v), v.iter().any(|&b| is_lws(b)), "{v:?}");
                        for set in [[b';', b';', b';'], [b';', b'"', b'<'], [b' ', 0x00, 0xff]] {
                            let want = v.iter().position(|b| set.contains(b));
                            assert_eq!(find_any(set, &v), want, "{v:?} {set:?}");
                            assert_eq!(find3(set[0], set[1], set[2], &v), want);
                            assert_eq!(
                                find2(set[0], set[1], &v),
                                v.iter().position(|&b| b == set[0] || b == set[1])
                            );
                            assert_eq!(find_byte(set[1], &v), v.iter().position(|&b| b == set[1]));
                            let long: Vec<u8> = v.iter().chain(&v).chain(&v).copied().collect();
                            assert_eq!(
                                find_byte_near(set[1], &long),
                                long.iter().position(|&b| b == set[1])
                            );
                        }
                    }
                }
            }
        }
        for b in 0..=255u8 {
            let ok = b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b);
            assert_eq!(is_token(b), ok, "{b}");
            assert_eq!(all_token(&[b'a', b]), ok);
        }
        assert!(all_token(b""));
    }

    #[test]
    fn host_lengths() {
        assert_eq!(host_len(b"h:5060"), 1);
        assert_eq!(host_len(b"h"), 1);
        assert_eq!(host_len(b"fe80::1"), 7);
        assert_eq!(host_len(b"a:b:c"), 5);
        assert_eq!(host_len(b""), 0);
    }

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
        let p = Params::generic(b";tag = 1 ;\r\n lr; q=\"a;b\"");
        assert_eq!(p.len(), 3);
        let v: Vec<_> = p.iter().collect();
        assert_eq!(v[0], (&b"tag"[..], Some(&b"1"[..])));
        assert_eq!(v[1], (&b"lr"[..], None));
        assert_eq!(v[2].1, Some(&b"\"a;b\""[..]));
        assert_eq!(p.get("TAG"), Some(Some(&b"1"[..])));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.get("x"), None);
        assert!(check_generic_params(b"x;;").0);
        assert!(!check_generic_params(b"x;a;b").0);
        assert_eq!(check_generic_params(b";a;b=1"), (false, false));
        assert_eq!(check_generic_params(b";a;=1"), (false, true));
        assert_eq!(check_generic_params(b";a@;;"), (true, true));
        assert_eq!(check_generic_params(b""), (false, false));
        let u = Params::uri(b";transport=tcp;;lr");
        assert_eq!(u.len(), 2);
        assert_eq!(u.get("lr"), Some(None));
        assert_eq!(u, Params::uri(b";transport=tcp;lr"));
        assert_eq!(Params::uri(b";a=\"x;b\"").len(), 2);
        assert_eq!(Params::generic(b";a=\"x;b\"").len(), 1);
        assert_eq!(unfold(b"a\r\n  b"), Cow::Borrowed(&b"a b"[..]));
    }

    /// The state machine `split_top` replaced by memchr jumps, kept as the oracle.
    fn split_top_reference(s: &[u8], sep: u8) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut i = 0;
        let (mut in_quote, mut in_angle) = (false, false);
        while let Some(&b) = s.get(i) {
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
            } else if b == sep {
                out.push(&s[start..i]);
                start = i + 1;
            }
            i += 1;
        }
        out.push(&s[start..]);
        out
    }

    /// The `Vec`-collecting parameter parser `Params` replaced, kept as the oracle.
    fn parse_params_reference(s: &[u8]) -> Vec<(&[u8], Option<&[u8]>)> {
        let mut out = Vec::new();
        for p in split_top_reference(s, b';') {
            let p = trim_lws(p);
            if p.is_empty() {
                continue;
            }
            match find_byte(b'=', p) {
                Some(eq) => out.push((trim_lws(&p[..eq]), Some(trim_lws(&p[eq + 1..])))),
                None => out.push((p, None)),
            }
        }
        out
    }

    /// The plain fast path against the general scan it short-cuts, on lists drawn mostly
    /// from its own bytes (with a few others, which send it to the general scan).
    fn scan_both(v: &[u8]) {
        let mut fast = Vec::new();
        let got = scan_generic_params(v, |n, val| fast.push((n, val)));
        let mut slow = Vec::new();
        let want = scan_generic_params_general(v, |n, val| slow.push((n, val)));
        assert_eq!(got, want, "{v:?}");
        assert_eq!(fast, slow, "{v:?}");
        // Same slices of `v`, not only equal bytes.
        let pos = |x: &[u8]| (x.as_ptr() as usize - v.as_ptr() as usize, x.len());
        for ((a, av), (b, bv)) in fast.iter().zip(&slow) {
            if !a.is_empty() {
                assert_eq!(pos(a), pos(b));
            }
            if let (Some(a), Some(b)) = (av, bv) {
                if !a.is_empty() {
                    assert_eq!(pos(a), pos(b));
                }
            }
        }
    }

    #[test]
    fn plain_params_table() {
        for v in [
            &b""[..],
            b";",
            b";;",
            b";tag=fl00000000",
            b";tag=",
            b";=x",
            b";tag=a=b;lr;;x",
            b"tag=1",
            b";branch=z9hG4bK776;rport;received=10.0.0.1;ttl=16",
            b";tag=a b",
            b";tag=\"a;b\"",
            b";tag=<a;b>",
            b";a@=1",
            b";branch=z9hG4bKfl00000000",
            b";branch=z9hG4bKfl000000;rport;received=10.0.0.1",
            b";branch=z9hG4bKfl00000\x010;x",
            b";branch=z9hG4bKfl0000000\xbb;x",
            b";branch=z9hG4bKfl0000 \t;x",
        ] {
            scan_both(v);
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_params_match_general(
            v in proptest::collection::vec(proptest::sample::select(
                b"ta=;;==gx1~`'%!.*_+-@ \"<\t\r\n\x01\x20\x21\xa1\xbb\xff".to_vec()), 0..48)
        ) {
            scan_both(&v);
        }

        #[test]
        fn split_and_params_match_reference(
            v in proptest::collection::vec(proptest::sample::select(
                b"ab=;,<>\"\\ \r\n".to_vec()), 0..160)
        ) {
            for sep in [b',', b';'] {
                let got: Vec<&[u8]> = split_top(&v, sep).collect();
                proptest::prop_assert_eq!(got, split_top_reference(&v, sep));
            }
            let p = Params::generic(&v);
            let got: Vec<_> = p.iter().collect();
            let want = parse_params_reference(&v);
            proptest::prop_assert_eq!(&got, &want);
            let mut scanned = Vec::new();
            let (empty, bad) = scan_generic_params(&v, |n, val| scanned.push((n, val)));
            proptest::prop_assert_eq!(&scanned, &want);
            proptest::prop_assert_eq!((empty, bad), check_generic_params(&v));
            proptest::prop_assert_eq!(
                empty,
                split_top_reference(&v, b';').iter().skip(1).any(|p| trim_lws(p).is_empty())
            );
            proptest::prop_assert_eq!(
                bad,
                want.iter().any(|(n, _)| n.is_empty() || !n.iter().all(|&b| is_token(b)))
            );
            let uri: Vec<_> = Params::uri(&v).iter().collect();
            let uri_want: Vec<_> = v
                .split(|&b| b == b';')
                .filter(|p| !p.is_empty() && !p.iter().all(|&b| is_lws(b)))
                .map(|p| match find_byte(b'=', p) {
                    Some(eq) => (&p[..eq], p.get(eq + 1..)),
                    None => (p, None),
                })
                .collect();
            proptest::prop_assert_eq!(uri, uri_want);
        }
    }
}
