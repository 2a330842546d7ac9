//! MD5 over several messages at once (RFC 1321): each step of the compression works on
//! eight 32-bit lanes (`wide::u32x8`: two SSE2 registers on any x86-64, one AVX2 register
//! when enabled, plain arrays elsewhere). This is what makes the MD5 cracker several times
//! faster than a one-candidate-at-a-time loop; SHA-2 targets use the scalar `sha2` path.

use wide::u32x8;

/// Candidates hashed together.
pub(crate) const LANES: usize = 8;

/// One 32-bit word per lane.
pub(crate) type V = u32x8;

/// MD5 initial state (RFC 1321 §3.3).
pub(crate) const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

#[inline(always)]
fn ff(x: V, y: V, z: V) -> V {
    z ^ (x & (y ^ z))
}
#[inline(always)]
fn gg(x: V, y: V, z: V) -> V {
    y ^ (z & (x ^ y))
}
#[inline(always)]
fn hh(x: V, y: V, z: V) -> V {
    x ^ y ^ z
}
#[inline(always)]
fn ii(x: V, y: V, z: V) -> V {
    y ^ (x | !z)
}

macro_rules! step {
    ($f:ident, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        let t = $a + $f($b, $c, $d) + u32x8::splat($k) + $m;
        $a = $b + ((t << $s) | (t >> (32 - $s)));
    };
}

/// One MD5 compression per lane (RFC 1321 §3.4).
#[inline(always)]
pub(crate) fn compress(state: &mut [V; 4], m: &[V; 16]) {
    let [mut a, mut b, mut c, mut d] = *state;
    step!(ff, a, b, c, d, m[0], 0xd76aa478, 7);
    step!(ff, d, a, b, c, m[1], 0xe8c7b756, 12);
    step!(ff, c, d, a, b, m[2], 0x242070db, 17);
    step!(ff, b, c, d, a, m[3], 0xc1bdceee, 22);
    step!(ff, a, b, c, d, m[4], 0xf57c0faf, 7);
    step!(ff, d, a, b, c, m[5], 0x4787c62a, 12);
    step!(ff, c, d, a, b, m[6], 0xa8304613, 17);
    step!(ff, b, c, d, a, m[7], 0xfd469501, 22);
    step!(ff, a, b, c, d, m[8], 0x698098d8, 7);
    step!(ff, d, a, b, c, m[9], 0x8b44f7af, 12);
    step!(ff, c, d, a, b, m[10], 0xffff5bb1, 17);
    step!(ff, b, c, d, a, m[11], 0x895cd7be, 22);
    step!(ff, a, b, c, d, m[12], 0x6b901122, 7);
    step!(ff, d, a, b, c, m[13], 0xfd987193, 12);
    step!(ff, c, d, a, b, m[14], 0xa679438e, 17);
    step!(ff, b, c, d, a, m[15], 0x49b40821, 22);
    step!(gg, a, b, c, d, m[1], 0xf61e2562, 5);
    step!(gg, d, a, b, c, m[6], 0xc040b340, 9);
    step!(gg, c, d, a, b, m[11], 0x265e5a51, 14);
    step!(gg, b, c, d, a, m[0], 0xe9b6c7aa, 20);
    step!(gg, a, b, c, d, m[5], 0xd62f105d, 5);
    step!(gg, d, a, b, c, m[10], 0x02441453, 9);
    step!(gg, c, d, a, b, m[15], 0xd8a1e681, 14);
    step!(gg, b, c, d, a, m[4], 0xe7d3fbc8, 20);
    step!(gg, a, b, c, d, m[9], 0x21e1cde6, 5);
    step!(gg, d, a, b, c, m[14], 0xc33707d6, 9);
    step!(gg, c, d, a, b, m[3], 0xf4d50d87, 14);
    step!(gg, b, c, d, a, m[8], 0x455a14ed, 20);
    step!(gg, a, b, c, d, m[13], 0xa9e3e905, 5);
    step!(gg, d, a, b, c, m[2], 0xfcefa3f8, 9);
    step!(gg, c, d, a, b, m[7], 0x676f02d9, 14);
    step!(gg, b, c, d, a, m[12], 0x8d2a4c8a, 20);
    step!(hh, a, b, c, d, m[5], 0xfffa3942, 4);
    step!(hh, d, a, b, c, m[8], 0x8771f681, 11);
    step!(hh, c, d, a, b, m[11], 0x6d9d6122, 16);
    step!(hh, b, c, d, a, m[14], 0xfde5380c, 23);
    step!(hh, a, b, c, d, m[1], 0xa4beea44, 4);
    step!(hh, d, a, b, c, m[4], 0x4bdecfa9, 11);
    step!(hh, c, d, a, b, m[7], 0xf6bb4b60, 16);
    step!(hh, b, c, d, a, m[10], 0xbebfbc70, 23);
    step!(hh, a, b, c, d, m[13], 0x289b7ec6, 4);
    step!(hh, d, a, b, c, m[0], 0xeaa127fa, 11);
    step!(hh, c, d, a, b, m[3], 0xd4ef3085, 16);
    step!(hh, b, c, d, a, m[6], 0x04881d05, 23);
    step!(hh, a, b, c, d, m[9], 0xd9d4d039, 4);
    step!(hh, d, a, b, c, m[12], 0xe6db99e5, 11);
    step!(hh, c, d, a, b, m[15], 0x1fa27cf8, 16);
    step!(hh, b, c, d, a, m[2], 0xc4ac5665, 23);
    step!(ii, a, b, c, d, m[0], 0xf4292244, 6);
    step!(ii, d, a, b, c, m[7], 0x432aff97, 10);
    step!(ii, c, d, a, b, m[14], 0xab9423a7, 15);
    step!(ii, b, c, d, a, m[5], 0xfc93a039, 21);
    step!(ii, a, b, c, d, m[12], 0x655b59c3, 6);
    step!(ii, d, a, b, c, m[3], 0x8f0ccc92, 10);
    step!(ii, c, d, a, b, m[10], 0xffeff47d, 15);
    step!(ii, b, c, d, a, m[1], 0x85845dd1, 21);
    step!(ii, a, b, c, d, m[8], 0x6fa87e4f, 6);
    step!(ii, d, a, b, c, m[15], 0xfe2ce6e0, 10);
    step!(ii, c, d, a, b, m[6], 0xa3014314, 15);
    step!(ii, b, c, d, a, m[13], 0x4e0811a1, 21);
    step!(ii, a, b, c, d, m[4], 0xf7537e82, 6);
    step!(ii, d, a, b, c, m[11], 0xbd3af235, 10);
    step!(ii, c, d, a, b, m[2], 0x2ad7d2bb, 15);
    step!(ii, b, c, d, a, m[9], 0xeb86d391, 21);
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

macro_rules! step_k {
    ($f:ident, $a:ident, $b:ident, $c:ident, $d:ident, $mk:expr, $s:expr) => {
        let t = $a + $f($b, $c, $d) + u32x8::splat($mk);
        $a = $b + ((t << $s) | (t >> (32 - $s)));
    };
}

/// Step constants (RFC 1321 §3.4, T[i]).
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// Message word each step reads.
const G: [usize; 64] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1, 6, 11, 0, 5, 10, 15, 4, 9, 14, 3, 8,
    13, 2, 7, 12, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 0, 7, 14, 5, 12, 3, 10, 1,
    8, 15, 6, 13, 4, 11, 2, 9,
];

/// A constant block as the 64 sums `T[i] + X[g(i)]` the steps add, folded once.
pub(crate) fn fold_block(block: &[u32; 16]) -> [u32; 64] {
    let mut mk = [0u32; 64];
    for ((o, k), g) in mk.iter_mut().zip(K).zip(G) {
        *o = k.wrapping_add(block.get(g).copied().unwrap_or(0));
    }
    mk
}

/// [`compress`] of a block that is the same in every lane, folded by [`fold_block`]: one
/// vector addition fewer per step.
#[inline(always)]
pub(crate) fn compress_folded(state: &mut [V; 4], mk: &[u32; 64]) {
    let [mut a, mut b, mut c, mut d] = *state;
    step_k!(ff, a, b, c, d, mk[0], 7);
    step_k!(ff, d, a, b, c, mk[1], 12);
    step_k!(ff, c, d, a, b, mk[2], 17);
    step_k!(ff, b, c, d, a, mk[3], 22);
    step_k!(ff, a, b, c, d, mk[4], 7);
    step_k!(ff, d, a, b, c, mk[5], 12);
    step_k!(ff, c, d, a, b, mk[6], 17);
    step_k!(ff, b, c, d, a, mk[7], 22);
    step_k!(ff, a, b, c, d, mk[8], 7);
    step_k!(ff, d, a, b, c, mk[9], 12);
    step_k!(ff, c, d, a, b, mk[10], 17);
    step_k!(ff, b, c, d, a, mk[11], 22);
    step_k!(ff, a, b, c, d, mk[12], 7);
    step_k!(ff, d, a, b, c, mk[13], 12);
    step_k!(ff, c, d, a, b, mk[14], 17);
    step_k!(ff, b, c, d, a, mk[15], 22);
    step_k!(gg, a, b, c, d, mk[16], 5);
    step_k!(gg, d, a, b, c, mk[17], 9);
    step_k!(gg, c, d, a, b, mk[18], 14);
    step_k!(gg, b, c, d, a, mk[19], 20);
    step_k!(gg, a, b, c, d, mk[20], 5);
    step_k!(gg, d, a, b, c, mk[21], 9);
    step_k!(gg, c, d, a, b, mk[22], 14);
    step_k!(gg, b, c, d, a, mk[23], 20);
    step_k!(gg, a, b, c, d, mk[24], 5);
    step_k!(gg, d, a, b, c, mk[25], 9);
    step_k!(gg, c, d, a, b, mk[26], 14);
    step_k!(gg, b, c, d, a, mk[27], 20);
    step_k!(gg, a, b, c, d, mk[28], 5);
    step_k!(gg, d, a, b, c, mk[29], 9);
    step_k!(gg, c, d, a, b, mk[30], 14);
    step_k!(gg, b, c, d, a, mk[31], 20);
    step_k!(hh, a, b, c, d, mk[32], 4);
    step_k!(hh, d, a, b, c, mk[33], 11);
    step_k!(hh, c, d, a, b, mk[34], 16);
    step_k!(hh, b, c, d, a, mk[35], 23);
    step_k!(hh, a, b, c, d, mk[36], 4);
    step_k!(hh, d, a, b, c, mk[37], 11);
    step_k!(hh, c, d, a, b, mk[38], 16);
    step_k!(hh, b, c, d, a, mk[39], 23);
    step_k!(hh, a, b, c, d, mk[40], 4);
    step_k!(hh, d, a, b, c, mk[41], 11);
    step_k!(hh, c, d, a, b, mk[42], 16);
    step_k!(hh, b, c, d, a, mk[43], 23);
    step_k!(hh, a, b, c, d, mk[44], 4);
    step_k!(hh, d, a, b, c, mk[45], 11);
    step_k!(hh, c, d, a, b, mk[46], 16);
    step_k!(hh, b, c, d, a, mk[47], 23);
    step_k!(ii, a, b, c, d, mk[48], 6);
    step_k!(ii, d, a, b, c, mk[49], 10);
    step_k!(ii, c, d, a, b, mk[50], 15);
    step_k!(ii, b, c, d, a, mk[51], 21);
    step_k!(ii, a, b, c, d, mk[52], 6);
    step_k!(ii, d, a, b, c, mk[53], 10);
    step_k!(ii, c, d, a, b, mk[54], 15);
    step_k!(ii, b, c, d, a, mk[55], 21);
    step_k!(ii, a, b, c, d, mk[56], 6);
    step_k!(ii, d, a, b, c, mk[57], 10);
    step_k!(ii, c, d, a, b, mk[58], 15);
    step_k!(ii, b, c, d, a, mk[59], 21);
    step_k!(ii, a, b, c, d, mk[60], 6);
    step_k!(ii, d, a, b, c, mk[61], 10);
    step_k!(ii, c, d, a, b, mk[62], 15);
    step_k!(ii, b, c, d, a, mk[63], 21);
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

/// Every lane set to `w`.
#[inline(always)]
pub(crate) fn splat(w: u32) -> V {
    u32x8::splat(w)
}

/// The same state in every lane.
pub(crate) fn splat_state(s: [u32; 4]) -> [V; 4] {
    s.map(splat)
}

/// Pads `msg` as MD5 does (0x80, zeros, bit length) and returns its blocks as words.
pub(crate) fn padded_blocks(msg: &[u8]) -> Vec<[u32; 16]> {
    let mut b = msg.to_vec();
    b.push(0x80);
    while b.len() % 64 != 56 {
        b.push(0);
    }
    b.extend_from_slice(&((msg.len() as u64).wrapping_mul(8)).to_le_bytes());
    b.chunks_exact(64)
        .map(|blk| {
            let mut w = [0u32; 16];
            for (x, c) in w.iter_mut().zip(blk.chunks_exact(4)) {
                *x = u32::from_le_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                    c.get(2).copied().unwrap_or(0),
                    c.get(3).copied().unwrap_or(0),
                ]);
            }
            w
        })
        .collect()
}

/// Lowercase hex of the two low bytes of each lane, as the 4 ASCII bytes of one
/// little-endian message word: the high nibble of a byte comes first.
#[inline(always)]
fn hex2(w: V) -> V {
    let nib = u32x8::splat(0x0f);
    // Nibbles of byte 0 (high, low) and byte 1 (high, low) into the four bytes.
    let x = ((w >> 4) & nib)
        | ((w & nib) << 8)
        | ((w << 4) & u32x8::splat(0x000f_0000))
        | ((w << 16) & u32x8::splat(0x0f00_0000));
    // Bytes 10..15 get 'a' - '0' - 10 = 39 more than the digits.
    let letter = ((x + u32x8::splat(0x0606_0606)) >> 4) & u32x8::splat(0x0101_0101);
    let adjust = letter | (letter << 1) | (letter << 2) | (letter << 5);
    x + u32x8::splat(0x3030_3030) + adjust
}

/// The 32 hex digits of each lane's digest as the first 8 words of a message block.
#[inline(always)]
pub(crate) fn hex_words(state: &[V; 4], out: &mut [V; 16]) {
    for (pair, s) in out.chunks_exact_mut(2).zip(state) {
        if let [lo, hi] = pair {
            *lo = hex2(*s);
            *hi = hex2(*s >> 16);
        }
    }
}

/// `H(hex(digest) || tail)` for a constant tail: the hex takes the first 32 bytes of the
/// first block, everything after it is the same for every candidate and precomputed.
pub(crate) struct HexThenConst {
    /// Words 8..16 of the first block.
    first_tail: [u32; 8],
    /// The following blocks, padding included, folded ([`fold_block`]).
    rest: Vec<[u32; 64]>,
}

impl HexThenConst {
    pub(crate) fn new(tail: &[u8]) -> Self {
        let mut msg = vec![0u8; 32];
        msg.extend_from_slice(tail);
        let blocks = padded_blocks(&msg);
        let mut first_tail = [0u32; 8];
        if let Some(b) = blocks.first() {
            for (x, w) in first_tail.iter_mut().zip(b.iter().skip(8)) {
                *x = *w;
            }
        }
        HexThenConst {
            first_tail,
            rest: blocks.iter().skip(1).map(fold_block).collect(),
        }
    }

    /// Hashes hex(digest of each lane) || tail.
    #[inline(always)]
    pub(crate) fn hash(&self, digest: &[V; 4]) -> [V; 4] {
        let mut m = [u32x8::ZERO; 16];
        hex_words(digest, &mut m);
        for (w, c) in m.iter_mut().skip(8).zip(self.first_tail) {
            *w = splat(c);
        }
        let mut st = splat_state(INIT);
        compress(&mut st, &m);
        for b in &self.rest {
            compress_folded(&mut st, b);
        }
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn digest_of(msg: &[u8]) -> [u8; 16] {
        let mut st = splat_state(INIT);
        for (i, b) in padded_blocks(msg).iter().enumerate() {
            // Both forms of the compression, alternately.
            if i % 2 == 0 {
                compress(&mut st, &b.map(splat));
            } else {
                compress_folded(&mut st, &fold_block(b));
            }
        }
        let mut out = [0u8; 16];
        for (o, s) in out.chunks_exact_mut(4).zip(st) {
            o.copy_from_slice(&s.to_array()[3].to_le_bytes());
        }
        out
    }

    #[test]
    fn matches_the_md5_crate() {
        for len in [0usize, 1, 55, 56, 63, 64, 65, 119, 120, 200] {
            let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let want: [u8; 16] = md5::Md5::digest(&msg).into();
            assert_eq!(digest_of(&msg), want, "len {len}");
        }
    }

    #[test]
    fn hex_words_of_every_byte() {
        let mut st = [u32x8::ZERO; 4];
        for (i, w) in st.iter_mut().enumerate() {
            let mut lanes = [0u32; LANES];
            for (l, x) in lanes.iter_mut().enumerate() {
                let b = (i * 32 + l * 4) as u32;
                *x = u32::from_le_bytes([b as u8, (b + 1) as u8, (b + 2) as u8, (b + 3) as u8]);
            }
            *w = u32x8::new(lanes);
        }
        let mut m = [u32x8::ZERO; 16];
        hex_words(&st, &mut m);
        for l in 0..LANES {
            let mut want = String::new();
            let mut got = Vec::new();
            for (i, s) in st.iter().enumerate() {
                for b in s.to_array()[l].to_le_bytes() {
                    want.push_str(&format!("{b:02x}"));
                }
                got.extend_from_slice(&m[2 * i].to_array()[l].to_le_bytes());
                got.extend_from_slice(&m[2 * i + 1].to_array()[l].to_le_bytes());
            }
            assert_eq!(String::from_utf8(got).unwrap(), want);
        }
        // The bytes above are 0..128; the upper half, spot-checked:
        let hi = st.map(|w| w + u32x8::splat(0x8080_8080));
        hex_words(&hi, &mut m);
        let first = m[0].to_array()[0].to_le_bytes();
        assert_eq!(&first, b"8081");
    }

    #[test]
    fn hex_then_const_is_md5_of_the_hex() {
        let inner: [u8; 16] = md5::Md5::digest(b"abc").into();
        let mut st = [u32x8::ZERO; 4];
        for (i, c) in inner.chunks_exact(4).enumerate() {
            st[i] = splat(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        for tail in [&b""[..], b":x", &[b'z'; 40], &[b'q'; 100]] {
            let got = HexThenConst::new(tail).hash(&st);
            let mut msg = b"900150983cd24fb0d6963f7d28e17f72".to_vec();
            msg.extend_from_slice(tail);
            let want: [u8; 16] = md5::Md5::digest(&msg).into();
            let mut out = [0u8; 16];
            for (o, s) in out.chunks_exact_mut(4).zip(got) {
                o.copy_from_slice(&s.to_array()[5].to_le_bytes());
            }
            assert_eq!(out, want, "tail {}", tail.len());
        }
    }
}
