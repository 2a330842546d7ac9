//! Byte scans for the short runs an SDP is made of (lines of 10 to 60 bytes, tokens of a
//! few bytes): a word at a time (SWAR), where memchr's per-call setup cost more than the
//! scan itself and a byte-at-a-time loop was the parser's largest self cost.

use memchr::memchr;

/// `0x01` in every byte of a word.
const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte of a word.
const HI: u64 = 0x8080_8080_8080_8080;

/// Marks (high bit set) the zero bytes of `v`. The lowest mark is always the first zero
/// byte; bytes above it may be marked falsely (a borrow), so only the lowest mark is read.
#[inline(always)]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// The byte `b` in every byte of a word.
#[inline(always)]
fn splat(b: u8) -> u64 {
    LO.wrapping_mul(u64::from(b))
}

/// Index of the first byte of `s` equal to one of `set`, eight bytes per step.
#[inline(always)]
fn find_any<const N: usize>(set: [u8; N], s: &[u8]) -> Option<usize> {
    let mut chunks = s.chunks_exact(8);
    let mut base = 0usize;
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
pub(crate) fn find_byte(a: u8, s: &[u8]) -> Option<usize> {
    find_any([a], s)
}

/// Index of the first `a` or `b` in `s`.
pub(crate) fn find2(a: u8, b: u8, s: &[u8]) -> Option<usize> {
    find_any([a, b], s)
}

/// How far the word scan of [`find_byte_near`] goes before handing over to memchr.
const NEAR: usize = 64;

/// Index of the first `a` in `s`, for a byte expected near the start of a long `s` (the
/// end of a line in the rest of a body): the first bytes word by word, then memchr.
pub(crate) fn find_byte_near(a: u8, s: &[u8]) -> Option<usize> {
    let head = s.get(..NEAR).unwrap_or(s);
    match find_any([a], head) {
        Some(i) => Some(i),
        None => s
            .get(head.len()..)
            .and_then(|t| memchr(a, t))
            .map(|i| i + head.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_in_every_position() {
        for len in 0..80 {
            let mut v = vec![b'x'; len];
            assert_eq!(find_byte(b'\n', &v), None);
            assert_eq!(find_byte_near(b'\n', &v), None);
            for i in 0..len {
                v[i] = b'\t';
                assert_eq!(find2(b' ', b'\t', &v), Some(i), "{len} {i}");
                v[i] = b'\n';
                assert_eq!(find_byte_near(b'\n', &v), Some(i), "{len} {i}");
                assert_eq!(find_byte(b'\n', &v), Some(i), "{len} {i}");
                v[i] = b'x';
            }
        }
        // Bytes just below and above the target (borrows in the word arithmetic).
        assert_eq!(find_byte(b'\n', b"\x09\x0b\x8a\xff\x0a"), Some(4));
        assert_eq!(find2(b' ', b'\t', b"\x1f\x21\x08\x0a\xa0\x89!  "), Some(7));
    }

    proptest! {
        #[test]
        fn agree_with_position(s in proptest::collection::vec(any::<u8>(), 0..200), a: u8, b: u8) {
            prop_assert_eq!(find_byte(a, &s), s.iter().position(|&x| x == a));
            prop_assert_eq!(find_byte_near(a, &s), s.iter().position(|&x| x == a));
            prop_assert_eq!(find2(a, b, &s), s.iter().position(|&x| x == a || x == b));
        }
    }
}
