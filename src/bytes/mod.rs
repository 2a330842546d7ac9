//! Byte-scanning primitives shared by the wire parsers (SIP framing in `net`, the SIP
//! parser): the RFC 3261 §25.1 `token` table and searches for one to three bytes that beat
//! memchr on the short slices those parsers scan. Pure functions over `&[u8]`; this module
//! imports nothing else from the crate, so every layer may use it.

/// `token` characters, RFC 3261 §25.1: `alphanum / "-" / "." / "!" / "%" / "*" / "_" /
/// "+" / "`" / "'" / "~"`, as a table built at compile time. Every header name of every
/// message is checked byte by byte; a table load is one instruction where the chain of
/// range and equality tests was a dozen.
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

/// `token` characters, RFC 3261 §25.1.
#[inline]
pub fn is_token(b: u8) -> bool {
    // A u8 index into a 256-entry table: always in bounds.
    TOKEN[usize::from(b)]
}

/// Below this length a plain scan beats memchr, whose per-call dispatch and setup
/// dominate on the short slices (URIs, parameters, header values) parsed here.
pub const SHORT: usize = 64;

/// `0x01` in every byte of a word (SWAR constants, see [`zero_bytes`]).
pub const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte of a word.
pub const HI: u64 = 0x8080_8080_8080_8080;

/// Marks (high bit set) the zero bytes of `v`. The lowest marked byte is always the first
/// zero byte; bytes above it may be marked falsely (a borrow), which the scans below never
/// read: they only take the lowest mark of a word.
#[inline(always)]
pub fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// The byte `b` in every byte of a word.
#[inline(always)]
pub fn splat(b: u8) -> u64 {
    LO.wrapping_mul(u64::from(b))
}

/// Index of the first byte of `s` equal to one of `set`, eight bytes per step (SWAR): the
/// values scanned here (URIs, parameters, list elements) are 10 to 60 bytes, too short for
/// memchr's setup to pay and long enough that a byte-at-a-time loop with `N` compares per
/// byte was the parsers' largest self cost.
///
/// Sixteen bytes at a time first with SSE2 compares (`wide`, safe; every x86-64 has
/// SSE2, other targets get `wide`'s portable fallback), then one SWAR word, then bytes.
#[inline(always)]
pub fn find_any<const N: usize>(set: [u8; N], s: &[u8]) -> Option<usize> {
    let mut wide_chunks = s.chunks_exact(16);
    let mut base = 0usize;
    for c in &mut wide_chunks {
        let Ok(block) = <[u8; 16]>::try_from(c) else {
            break;
        };
        let v = wide::u8x16::new(block);
        let mut m = wide::u8x16::default();
        for b in set {
            m |= v.cmp_eq(wide::u8x16::splat(b));
        }
        let bits = m.move_mask();
        if bits != 0 {
            // Lane i is bit i: the lowest set bit is the first match.
            return Some(base + bits.trailing_zeros() as usize);
        }
        base += 16;
    }
    let mut chunks = wide_chunks.remainder().chunks_exact(8);
    for c in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(c) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let mut m = 0u64;
        for b in set {
            m |= zero_bytes(w ^ splat(b));
        }
        if m != 0 {
            // Little-endian load: the lowest set bit is in the first matching byte.
            return Some(base + (m.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|x| set.contains(x))
        .map(|p| base + p)
}

/// Index of the first `a` in `s`.
#[inline]
pub fn find_byte(a: u8, s: &[u8]) -> Option<usize> {
    if s.len() < SHORT {
        find_any([a], s)
    } else {
        memchr::memchr(a, s)
    }
}

/// Index of the first `a` in `s`, for a byte expected near the start of a long `s` (the
/// end of a header line in the rest of a message): the first 64 bytes word by word, then
/// memchr, whose per-call setup costs more than the short scan that usually ends it.
#[inline]
pub fn find_byte_near(a: u8, s: &[u8]) -> Option<usize> {
    let head = s.get(..SHORT).unwrap_or(s);
    match find_any([a], head) {
        Some(i) => Some(i),
        None => s
            .get(head.len()..)
            .and_then(|t| memchr::memchr(a, t))
            .map(|i| i + head.len()),
    }
}

/// Index of the first `a` or `b` in `s`.
#[inline]
pub fn find2(a: u8, b: u8, s: &[u8]) -> Option<usize> {
    if s.len() < SHORT {
        find_any([a, b], s)
    } else {
        memchr::memchr2(a, b, s)
    }
}

/// Index of the first `a`, `b` or `c` in `s`.
#[inline]
pub fn find3(a: u8, b: u8, c: u8, s: &[u8]) -> Option<usize> {
    if s.len() < SHORT {
        find_any([a, b, c], s)
    } else {
        memchr::memchr3(a, b, c, s)
    }
}

/// Index of the first byte of `s` that is SP or a control (below 0x21, or DEL): where a
/// Request-URI ends (RFC 3261 §25.1 allows neither inside it). Sixteen bytes a step with
/// SSE2 compares (`wide`, safe), then bytes.
pub fn find_sp_or_ctl(s: &[u8]) -> Option<usize> {
    let is_stop = |b: u8| b < 0x21 || b == 0x7f;
    let mut chunks = s.chunks_exact(16);
    let mut base = 0usize;
    let (sp, del) = (wide::u8x16::splat(0x20), wide::u8x16::splat(0x7f));
    for c in &mut chunks {
        let Ok(block) = <[u8; 16]>::try_from(c) else {
            break;
        };
        let v = wide::u8x16::new(block);
        // min(v, 0x20) == v exactly when v <= 0x20.
        let bits = (v.min(sp).cmp_eq(v) | v.cmp_eq(del)).move_mask();
        if bits != 0 {
            return Some(base + bits.trailing_zeros() as usize);
        }
        base += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| is_stop(b))
        .map(|p| base + p)
}

/// A dotted-quad IPv4 address, accepting exactly what `Ipv4Addr::from_str` accepts (four
/// decimal octets of one to three digits, no leading zero, at most 255; nothing else):
/// the standard parser's generic machinery costs ~190 instructions an address, and the
/// NAT model and the SDP reader parse two per message. None when `s` is anything else
/// (callers that need IPv6 or host names try the standard parser next).
#[inline]
pub fn parse_ipv4(s: &[u8]) -> Option<std::net::Ipv4Addr> {
    if s.len() < 7 || s.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut rest = s;
    for (k, slot) in octets.iter_mut().enumerate() {
        let mut value: u16 = 0;
        let mut digits = 0usize;
        while let Some((&b, tail)) = rest.split_first() {
            if !b.is_ascii_digit() {
                break;
            }
            if digits == 1 && value == 0 {
                // "01": a leading zero (the standard parser refuses octal-looking octets).
                return None;
            }
            value = value * 10 + u16::from(b - b'0');
            digits += 1;
            if digits > 3 {
                return None;
            }
            rest = tail;
        }
        if digits == 0 {
            return None;
        }
        *slot = u8::try_from(value).ok()?;
        if k < 3 {
            rest = rest.strip_prefix(b".")?;
        }
    }
    rest.is_empty().then(|| std::net::Ipv4Addr::from(octets))
}

/// `n` in decimal, as `Display` writes it: the digits are written from the right into
/// `buf` and the used tail is returned (the formatter's `pad_integral` is several times the
/// work for the few digits of a port, a frame number or a status code).
#[inline]
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    while i > 0 {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// `String::from_utf8_lossy(b)`, with valid UTF-8 (nearly every header value) checked by
/// `str::from_utf8`, whose ASCII fast path reads a word at a time where the lossy
/// decoder's chunk iterator goes byte by byte (~150 instructions for a 40-byte URI).
#[inline]
pub fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_display() {
        let mut buf = [0u8; 20];
        for n in [0, 1, 9, 10, 99, 100, 65535, 1 << 40, u64::MAX] {
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    #[test]
    fn lossy_is_from_utf8_lossy() {
        for b in [
            &b"sip:alice@example.com"[..],
            b"",
            b"\xff\xfe",
            b"caf\xc3\xa9",
            b"a\xc3",
        ] {
            assert_eq!(lossy(b), String::from_utf8_lossy(b));
        }
    }

    #[test]
    fn ipv4_examples() {
        for (s, want) in [
            ("10.0.0.1", true),
            ("255.255.255.255", true),
            ("0.0.0.0", true),
            ("1.2.3.04", false),
            ("1.2.3.256", false),
            ("1.2.3", false),
            ("1.2.3.4.5", false),
            ("1..2.3", false),
            (" 1.2.3.4", false),
            ("1.2.3.4 ", false),
            ("1.2.3.+4", false),
            ("1000.2.3.4", false),
        ] {
            assert_eq!(parse_ipv4(s.as_bytes()).is_some(), want, "{s}");
            assert_eq!(parse_ipv4(s.as_bytes()), s.parse().ok(), "{s}");
        }
    }

    proptest::proptest! {
        /// Never accepts what the standard parser refuses, never reads another address,
        /// and accepts every dotted quad the standard parser accepts.
        #[test]
        fn ipv4_is_std(
            s in "[0-9.]{0,16}|[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}",
            a in proptest::num::u32::ANY,
        ) {
            proptest::prop_assert_eq!(parse_ipv4(s.as_bytes()), s.parse().ok());
            let text = std::net::Ipv4Addr::from(a).to_string();
            proptest::prop_assert_eq!(parse_ipv4(text.as_bytes()), Some(std::net::Ipv4Addr::from(a)));
        }
    }
}
