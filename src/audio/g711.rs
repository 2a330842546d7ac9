//! G.711 µ-law and A-law decoding (ITU-T G.711 (11/88), Tables 1a and 2a): one byte is
//! one 8 kHz sample. Both laws are eight segments of sixteen steps; the tables below
//! expand every code once, at compile time, to the 16-bit linear value of its decision
//! interval's midpoint (scaled to 16 bits: 14-bit µ-law and 13-bit A-law values shifted
//! left by 2 and 3, as the usual `ulaw2linear`/`alaw2linear` do).

/// The linear value of a µ-law code (G.711 §2, Table 2a). Bits are inverted on the
/// wire (G.711 §4.2 footnote: "all bits inverted"), then segment (3 bits) and step (4
/// bits), with the bias of 0x84 (33 × 4) the law adds before segmenting.
const fn ulaw(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0f) as i32) << 3) + 0x84;
    t <<= ((u & 0x70) >> 4) as i32;
    if u & 0x80 != 0 {
        (0x84 - t) as i16
    } else {
        (t - 0x84) as i16
    }
}

/// The linear value of an A-law code (G.711 §3, Table 1a). Even bits are inverted on the
/// wire (the 0x55 mask, G.711 §4.2); segment 0 has no implied leading one.
const fn alaw(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0f) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    if seg == 0 {
        t += 8;
    } else {
        t += 0x108;
        t <<= seg - 1;
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn table(alaw_law: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw_law {
            alaw(i as u8)
        } else {
            ulaw(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW: [i16; 256] = table(false);
static ALAW: [i16; 256] = table(true);

/// Appends the samples of a µ-law (PCMU) payload to `out`.
pub fn decode_ulaw(payload: &[u8], out: &mut Vec<i16>) {
    out.extend(payload.iter().map(|&b| ULAW[usize::from(b)]));
}

/// Appends the samples of an A-law (PCMA) payload to `out`.
pub fn decode_alaw(payload: &[u8], out: &mut Vec<i16>) {
    out.extend(payload.iter().map(|&b| ALAW[usize::from(b)]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        // G.711 Table 2a: code 0xFF and 0x7F are the two zeros; 0x80/0x00 the largest
        // magnitudes (8031 in 14-bit units, ×4 = 32124).
        let mut v = Vec::new();
        decode_ulaw(&[0xff, 0x7f, 0x80, 0x00, 0xfe, 0x7e, 0xf0, 0xe0], &mut v);
        assert_eq!(v, [0, 0, 32124, -32124, 8, -8, 120, 372]);
    }

    #[test]
    fn alaw_known_values() {
        // G.711 Table 1a: 0xD5/0x55 are the smallest magnitudes (1 in 13-bit units,
        // ×8 = 8), 0xAA/0x2A the largest (4032 ×8 = 32256).
        let mut v = Vec::new();
        decode_alaw(&[0xd5, 0x55, 0xaa, 0x2a, 0xd4, 0xc5], &mut v);
        assert_eq!(v, [8, -8, 32256, -32256, 24, 264]);
    }

    #[test]
    fn both_laws_are_odd_symmetric_and_monotonic() {
        // The sign bit only flips the sign; within a sign, larger codes are larger
        // magnitudes (µ-law inverted, A-law after the even-bit mask).
        for c in 0u8..128 {
            assert_eq!(ULAW[usize::from(c)], -ULAW[usize::from(c | 0x80)]);
            assert_eq!(
                ALAW[usize::from(c ^ 0x55)],
                -ALAW[usize::from((c | 0x80) ^ 0x55)]
            );
        }
        let mags: Vec<i16> = (0u8..128).map(|c| ULAW[usize::from(0xff - c)]).collect();
        assert!(mags.windows(2).all(|w| w[0] < w[1]), "{mags:?}");
        let mags: Vec<i16> = (0u8..128)
            .map(|c| ALAW[usize::from((c | 0x80) ^ 0x55)])
            .collect();
        assert!(mags.windows(2).all(|w| w[0] < w[1]), "{mags:?}");
    }
}
