//! Hash helpers shared by the reference computation and the cracker.

use sha2::Digest;

use super::HashKind;

/// Lowercase hex digits of every byte value, so the hot loop writes hex without formatting.
pub(crate) const HEX: [[u8; 2]; 256] = {
    let digits = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [digits[i >> 4], digits[i & 15]];
        i += 1;
    }
    t
};

/// Writes the hex of `bytes` into the front of `out` (which holds at least twice as many
/// bytes; the caller sizes it from the digest length) and returns that prefix.
pub(crate) fn hex_into<'o>(bytes: &[u8], out: &'o mut [u8]) -> &'o [u8] {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX[usize::from(*b)]);
    }
    out.get(..bytes.len() * 2).unwrap_or(&[])
}

/// Digest length in bytes.
pub(crate) fn digest_len(kind: HashKind) -> usize {
    match kind {
        HashKind::Md5 => 16,
        HashKind::Sha256 | HashKind::Sha512_256 => 32,
    }
}

fn hex_generic<D: Digest>(parts: &[&[u8]]) -> String {
    let mut h = D::new();
    for p in parts {
        h.update(p);
    }
    let d = h.finalize();
    let mut buf = [0u8; 128];
    String::from_utf8_lossy(hex_into(&d, &mut buf)).into_owned()
}

/// Lowercase hex of the hash of the concatenated parts.
pub(crate) fn hex_of(kind: HashKind, parts: &[&[u8]]) -> String {
    match kind {
        HashKind::Md5 => hex_generic::<md5::Md5>(parts),
        HashKind::Sha256 => hex_generic::<sha2::Sha256>(parts),
        HashKind::Sha512_256 => hex_generic::<sha2::Sha512_256>(parts),
    }
}

/// Decodes lowercase or uppercase hex; `None` on an odd length or a non-hex digit.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    fn nib(c: u8) -> Option<u8> {
        (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| match p {
            [h, l] => Some(nib(*h)? << 4 | nib(*l)?),
            _ => None,
        })
        .collect()
}
