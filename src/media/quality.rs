//! Call quality: the ITU-T G.107 E-model (R factor, MOS) and what a passive observer
//! feeds it from one RTP stream (loss, burstiness, a modelled jitter buffer, delay).
//!
//! The formulas are G.107 (06/2015) clause 7 with the default values of its Table 3 for
//! everything a capture cannot know (loudness ratings, room noise, echo loss), so that
//! a clean G.711 call scores R = 93.2, MOS 4.41, the figure G.107 gives for the
//! default connection:
//!
//! - `R = Ro − Is − Id − Ie,eff + A` (§7.1, eq. 7-1), with `A = 0` (wired access);
//! - `Ro = 94.77` and `Is = 1.43`: §7.2 and §7.3 evaluated with the Table 3 defaults
//!   (SLR 8, RLR 2, Nc −70 dBm0p, Ps = Pr = 35 dB(A), STMR 15, LSTR 18, Ds = Dr = 3,
//!   qdu 1, Nfor −64 dBmp); the noise sum No of those defaults is −61.18 dBm0p;
//! - `Id = Idte + Idle + Idd` (§7.4) with the one-way delay `T = Ta` and the round trip
//!   `Tr = 2T` (4-wire), TELR 65 dB and WEPL 110 dB (defaults): talker echo, listener
//!   echo, and the absolute delay term `Idd = 0` for `Ta ≤ 100 ms`, else
//!   `25·((1 + X⁶)^⅙ − 3·(1 + (X/3)⁶)^⅙ + 2)` with `X = log₂(Ta/100)` (mT = 100 ms,
//!   sT = 1);
//! - `Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)` (§7.5, eq. 7-29), Ppl the
//!   loss in percent, BurstR the burst ratio (1 for random loss);
//! - MOS from R per Annex B (eq. B-4): 1 below R = 0, 4.5 above 100, else
//!   `1 + 0.035R + R(R − 60)(100 − R)·7·10⁻⁶`.
//!
//! Codec values (Ie, Bpl) are in [`codec_impairment`]; the loss model (network loss,
//! Gilbert burst ratio, a fixed jitter buffer) in [`QualityTracker`].
//!
//! Everything here is a pure function of packet facts; time comes from packets only.

use crate::capture::Timestamp;

use super::rtp::RtpHeader;

/// G.107 §7.2 basic signal-to-noise ratio Ro with the Table 3 defaults.
pub const RO_DEFAULT: f64 = 94.77;
/// G.107 §7.3 simultaneous impairment factor Is with the Table 3 defaults.
pub const IS_DEFAULT: f64 = 1.43;
/// G.107 Table 3: talker echo loudness rating TELR, dB.
const TELR: f64 = 65.0;
/// G.107 Table 3: weighted echo path loss WEPL, dB.
const WEPL: f64 = 110.0;
/// G.107 Table 3: receive loudness rating RLR, dB.
const RLR: f64 = 2.0;
/// G.107 §7.2 noise floor No with the Table 3 defaults, dBm0p (used by Idte's Roe).
const NO_DEFAULT: f64 = -61.18;

/// Depth of the modelled fixed jitter buffer: a packet later than its playout point by
/// more than this is discarded, and counts as lost (see [`QualityTracker`]).
pub const JITTER_BUFFER_MS: f64 = 50.0;
/// Length of one quality interval, seconds of packet time.
pub const INTERVAL_SECS: u64 = 5;
/// Intervals kept per stream (720 × 5 s = one hour); later ones are counted, not kept.
pub const MAX_INTERVALS: usize = 720;
/// A forward sequence jump beyond this is a restart, not loss (RFC 3550 A.1 MAX_DROPOUT).
const MAX_DROPOUT: u16 = 3000;
/// A backward step of at most this is a late packet (RFC 3550 A.1 MAX_MISORDER).
const MAX_MISORDER: u16 = 100;

/// Delay impairment Id (G.107 §7.4) for a mouth-to-ear one-way delay of `ta_ms`, taking
/// the echo path delay T equal to it and the 4-wire round trip Tr as twice it.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    let t = ta_ms.max(0.0);
    idte(t) + idle(2.0 * t) + idd(t)
}

/// Talker echo impairment Idte (G.107 §7.4, eq. 7-18 to 7-21; STMR ≥ 9 so no
/// correction term), for the mean one-way echo path delay `t` in ms.
fn idte(t: f64) -> f64 {
    let terv =
        TELR - 40.0 * ((1.0 + t / 10.0) / (1.0 + t / 150.0)).log10() + 6.0 * (-0.3 * t * t).exp();
    let roe = -1.5 * (NO_DEFAULT - RLR);
    let re = 80.0 + 2.5 * (terv - 14.0);
    let half = (roe - re) / 2.0;
    (half + (half * half + 100.0).sqrt() - 1.0) * (1.0 - (-t).exp())
}

/// Listener echo impairment Idle (G.107 §7.4, eq. 7-25 and 7-26) for the round trip
/// `tr` in ms.
fn idle(tr: f64) -> f64 {
    let rle = 10.5 * (WEPL + 7.0) * (tr + 1.0).powf(-0.25);
    let half = (RO_DEFAULT - rle) / 2.0;
    half + (half * half + 169.0).sqrt()
}

/// Absolute delay impairment Idd (G.107 §7.4, eq. 7-27 and 7-28, mT = 100 ms, sT = 1).
fn idd(ta: f64) -> f64 {
    if ta <= 100.0 {
        return 0.0;
    }
    let x = (ta / 100.0).log2();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// Effective equipment impairment Ie,eff (G.107 §7.5, eq. 7-29): codec impairment `ie`,
/// packet-loss robustness `bpl`, loss `ppl` in percent, burst ratio `burst_r` (≥ 1 for
/// bursty loss; 1 for random loss).
pub fn ie_eff(ie: f64, bpl: f64, ppl: f64, burst_r: f64) -> f64 {
    let ppl = ppl.clamp(0.0, 100.0);
    if ppl == 0.0 {
        return ie;
    }
    // BurstR below 1 means loss more spread than random (G.107 allows it); guard only 0.
    let burst_r = if burst_r > 0.0 { burst_r } else { 1.0 };
    ie + (95.0 - ie) * ppl / (ppl / burst_r + bpl)
}

/// The transmission rating R (G.107 eq. 7-1) with the default Ro, Is and A = 0.
pub fn r_factor(id: f64, ie_eff: f64) -> f64 {
    RO_DEFAULT - IS_DEFAULT - id - ie_eff
}

/// MOS (conversational quality, estimated) from R, G.107 Annex B eq. B-4.
pub fn mos_from_r(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        // Below R ≈ 6.5 the cubic dips under 1, the bottom of the scale: clamp there.
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).max(1.0)
    }
}

/// E-model planning values of a codec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecImpairment {
    /// Equipment impairment factor Ie (narrowband R scale).
    pub ie: f64,
    /// Packet-loss robustness factor Bpl.
    pub bpl: f64,
    /// Algorithmic delay (frame plus look-ahead), ms, added to the one-way delay.
    pub codec_delay_ms: f64,
    /// False when the encoding name was not in the table and G.711's values stand in.
    pub known: bool,
}

/// Ie and Bpl for an SDP encoding name (case-insensitive), per ITU-T G.113 Appendix I
/// (Tables I.1 and I.3) where it gives them. Every figure is on the narrowband R scale
/// of G.107 (R ≤ 93.2): a wideband codec scores at best as G.711 there (G.107.1 would be
/// needed to credit its extra bandwidth).
///
/// | name | Ie | Bpl | source |
/// |---|---|---|---|
/// | PCMU, PCMA (G.711) | 0 | 25.1 | G.113 Table I.3, G.711 with its Appendix I PLC (4.3 without PLC; nearly every endpoint conceals loss) |
/// | G722 | 0 | 25.1 | no narrowband value in G.113 App. I: G.711's, the codec being at least as good and having PLC (G.722 App. III/IV) |
/// | G729 (and G.729A) | 11 | 19.0 | G.113 Table I.3, G.729A + VAD |
/// | G723 | 15 | 16.1 | G.113 Table I.3, G.723.1 6.3 kbit/s + VAD |
/// | GSM (06.10 FR) | 20 | 10.0 | Ie: G.113 Table I.1; Bpl: provisional (no G.113 value) |
/// | iLBC | 11 | 32.0 | provisional (not in G.113 App. I); its built-in PLC is robust |
/// | AMR (12.2 kbit/s mode) | 5 | 10.0 | Ie: G.113 Table I.1 (GSM-EFR = AMR 12.2); Bpl provisional |
/// | AMR-WB | 0 | 10.0 | narrowband scale; Bpl as AMR, provisional |
/// | opus | 0 | 25.1 | provisional: no G.113 App. I value; treated as G.711 with PLC |
///
/// Unknown names take G.711's values with `known = false`.
pub fn codec_impairment(name: &str) -> CodecImpairment {
    let n = name.to_ascii_lowercase();
    let (ie, bpl, delay, known) = match n.as_str() {
        "pcmu" | "pcma" => (0.0, 25.1, 0.125, true),
        "g722" => (0.0, 25.1, 1.5, true),
        "g729" | "g729a" => (11.0, 19.0, 15.0, true),
        "g723" => (15.0, 16.1, 37.5, true),
        "gsm" => (20.0, 10.0, 20.0, true),
        "ilbc" => (11.0, 32.0, 25.0, true),
        "amr" => (5.0, 10.0, 25.0, true),
        "amr-wb" => (0.0, 10.0, 25.9, true),
        "opus" => (0.0, 25.1, 26.5, true),
        _ => (0.0, 25.1, 0.0, false),
    };
    CodecImpairment {
        ie,
        bpl,
        codec_delay_ms: delay,
        known,
    }
}

/// The packetisation delay assumed for every stream, ms (RFC 3551 §4.5 default ptime
/// for the common codecs): a packet's first sample waits this long before it is sent.
pub const PACKETISATION_MS: f64 = 20.0;

/// The mouth-to-ear one-way delay of a stream, ms: network one way (half the RTCP round
/// trip when one is known, else 0), plus the jitter buffer, packetisation and the
/// codec's algorithmic delay.
pub fn one_way_delay_ms(rtt_ms: Option<f64>, codec: &CodecImpairment) -> f64 {
    rtt_ms.map_or(0.0, |r| r.max(0.0) / 2.0)
        + JITTER_BUFFER_MS
        + PACKETISATION_MS
        + codec.codec_delay_ms
}

/// Packet fates in sequence order, counted as Gilbert transitions (received → lost,
/// lost → received and so on) so that the burst ratio is O(1) per packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossCounts {
    /// Packets expected (fates: received or lost) in sequence order.
    pub expected: u32,
    /// Lost: never arrived, or arrived after their playout point.
    pub lost: u32,
    /// Of those, discarded by the jitter buffer (arrived too late); kept in the
    /// stream's totals only (0 in a closed interval).
    pub late: u32,
    /// Transitions received → received.
    pub rr: u32,
    /// Transitions received → lost.
    pub rl: u32,
    /// Transitions lost → received.
    pub lr: u32,
    /// Transitions lost → lost.
    pub ll: u32,
}

impl LossCounts {
    /// Loss in percent of expected.
    pub fn loss_pct(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            f64::from(self.lost) * 100.0 / f64::from(self.expected)
        }
    }

    /// G.107 BurstR from the Gilbert model fitted to the transitions: with
    /// p = P(lost | previous received) and q = P(received | previous lost),
    /// BurstR = 1 / (p + q) (G.107 §7.5 note). 1 when there is no loss or the counts
    /// cannot tell (no transition out of one state).
    pub fn burst_ratio(&self) -> f64 {
        let from_r = self.rr + self.rl;
        let from_l = self.lr + self.ll;
        if self.rl == 0 || from_r == 0 || from_l == 0 {
            return 1.0;
        }
        let p = f64::from(self.rl) / f64::from(from_r);
        let q = f64::from(self.lr) / f64::from(from_l);
        if p + q <= 0.0 {
            1.0
        } else {
            1.0 / (p + q)
        }
    }

    fn add(&mut self, o: &LossCounts) {
        self.expected = self.expected.saturating_add(o.expected);
        self.lost = self.lost.saturating_add(o.lost);
        self.late = self.late.saturating_add(o.late);
        self.rr = self.rr.saturating_add(o.rr);
        self.rl = self.rl.saturating_add(o.rl);
        self.lr = self.lr.saturating_add(o.lr);
        self.ll = self.ll.saturating_add(o.ll);
    }
}

/// One closed (or the open) quality interval of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Interval {
    /// Start, seconds after the stream's first packet (a multiple of [`INTERVAL_SECS`]).
    pub start_s: u32,
    /// Loss and transitions within the interval.
    pub counts: LossCounts,
    /// RFC 3550 jitter estimate after the interval's last packet, ms.
    pub jitter_ms: f32,
}

/// A closed interval as kept: counts in 16 bits (saturating: 65,535 packets in 5 s is
/// far beyond speech), without the late count, which only the totals report.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PackedInterval {
    start_s: u32,
    jitter_ms: f32,
    expected: u16,
    lost: u16,
    rr: u16,
    rl: u16,
    lr: u16,
    ll: u16,
}

impl PackedInterval {
    fn pack(i: &Interval) -> Self {
        let c = &i.counts;
        let n = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        PackedInterval {
            start_s: i.start_s,
            jitter_ms: i.jitter_ms,
            expected: n(c.expected),
            lost: n(c.lost),
            rr: n(c.rr),
            rl: n(c.rl),
            lr: n(c.lr),
            ll: n(c.ll),
        }
    }

    fn unpack(&self) -> Interval {
        Interval {
            start_s: self.start_s,
            jitter_ms: self.jitter_ms,
            counts: LossCounts {
                expected: u32::from(self.expected),
                lost: u32::from(self.lost),
                late: 0,
                rr: u32::from(self.rr),
                rl: u32::from(self.rl),
                lr: u32::from(self.lr),
                ll: u32::from(self.ll),
            },
        }
    }
}

/// Incremental quality figures of one RTP stream, O(1) per packet.
///
/// **Loss.** Packets are given fates in sequence order: a forward jump of k marks k − 1
/// packets lost, then the new one received, or lost if the jitter buffer discards it. A
/// late (reordered) packet that still makes its playout point takes one loss back, one
/// that misses it is a discard on top of the loss already counted; the
/// transitions already counted stay (a rare event; recounting them would need the
/// sequence history). Duplicates are ignored; a jump beyond 3000 or a big step back is a
/// restart (RFC 3550 A.1), which re-anchors the buffer.
///
/// **Jitter buffer.** A fixed buffer of [`JITTER_BUFFER_MS`]: packet i is due at
/// `A_a + (ts_i − ts_a)/clock + 50 ms`, where a is the anchor packet; it is lost if it
/// arrives later. The anchor is the first packet, moved to any packet that arrives
/// earlier than the anchor's schedule predicts (so the buffer is set against the
/// fastest path seen, not a delayed first packet) and to the first packet of each talk
/// spurt (marker bit, RFC 3551 §4.1), where real buffers resynchronise. An adaptive
/// buffer (growing with the jitter) is not modelled, nor clock drift between two talk
/// spurts: a sender whose clock runs slow against the capture's drifts into late loss.
///
/// **Intervals.** Every [`INTERVAL_SECS`] of packet time (from the first packet) a new
/// interval starts when a packet arrives past the boundary; empty intervals (silence,
/// hold) are not recorded. At most [`MAX_INTERVALS`] are kept, later ones counted in
/// [`intervals_dropped`](Self::intervals_dropped). The MOS of an interval is computed on
/// output, where the codec is known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QualityTracker {
    started: bool,
    max_seq: u16,
    /// Fate of the last packet in sequence order (true: lost).
    last_lost: bool,
    first: Timestamp,
    /// Anchor: arrival (ns) and RTP timestamp of the packet the playout is set against.
    anchor_ns: u64,
    anchor_ts: u32,
    total: LossCounts,
    current: Interval,
    current_index: u64,
    /// Closed intervals, packed (20 bytes each: an hour of them is 14 KiB).
    intervals: Vec<PackedInterval>,
    dropped: u64,
}

impl QualityTracker {
    /// Accounts one RTP packet arriving at `arrival`; `clock_rate` is the stream's RTP
    /// clock in Hz (0: no playout check), `jitter_ms` the stream's RFC 3550 jitter
    /// after this packet.
    pub fn update(&mut self, hdr: &RtpHeader, arrival: Timestamp, clock_rate: u32, jitter_ms: f64) {
        if !self.started {
            self.started = true;
            self.first = arrival;
            self.max_seq = hdr.sequence;
            self.set_anchor(hdr, arrival);
            self.fate(false, false);
            self.current.jitter_ms = jitter_ms as f32;
            return;
        }
        let index = arrival.since(self.first) / (INTERVAL_SECS * 1_000_000_000);
        if index > self.current_index {
            self.close_interval(index);
        }
        self.current.jitter_ms = jitter_ms as f32;

        let udelta = hdr.sequence.wrapping_sub(self.max_seq);
        if udelta == 0 {
            return; // duplicate
        }
        if hdr.marker {
            self.set_anchor(hdr, arrival);
        }
        if udelta < MAX_DROPOUT {
            for _ in 1..udelta {
                self.fate(true, false);
            }
            let late = !self.on_time(hdr, arrival, clock_rate);
            self.fate(late, late);
            self.max_seq = hdr.sequence;
        } else if udelta > u16::MAX - MAX_MISORDER {
            // Late packet: counted lost when the gap was seen; it may still be in time.
            // If not, the buffer discards it: the loss stands and it is a discard too,
            // as it would be had it come in order (overtaken packets are the usual late
            // ones under jitter).
            let in_time = self.on_time(hdr, arrival, clock_rate);
            for c in [&mut self.total, &mut self.current.counts] {
                if in_time {
                    c.lost = c.lost.saturating_sub(1);
                } else {
                    c.late = c.late.saturating_add(1);
                }
            }
        } else {
            // Restart: new sequence space, new playout anchor; not a loss.
            self.max_seq = hdr.sequence;
            self.set_anchor(hdr, arrival);
            self.fate(false, false);
        }
    }

    fn set_anchor(&mut self, hdr: &RtpHeader, arrival: Timestamp) {
        self.anchor_ns = arrival.0;
        self.anchor_ts = hdr.timestamp;
    }

    /// Whether the packet arrives by its playout point; moves the anchor to a packet
    /// that arrives ahead of the anchor's schedule.
    fn on_time(&mut self, hdr: &RtpHeader, arrival: Timestamp, clock_rate: u32) -> bool {
        if clock_rate == 0 {
            return true;
        }
        // Timestamps wrap (RFC 3550 §5.1): the signed difference is the distance.
        let units = hdr.timestamp.wrapping_sub(self.anchor_ts) as i32;
        let nominal_ns =
            self.anchor_ns as i128 + i128::from(units) * 1_000_000_000 / i128::from(clock_rate);
        let lateness_ns = i128::from(arrival.0) - nominal_ns;
        if lateness_ns < 0 {
            self.set_anchor(hdr, arrival);
            return true;
        }
        lateness_ns as f64 <= JITTER_BUFFER_MS * 1e6
    }

    /// Records the next fate in sequence order.
    fn fate(&mut self, lost: bool, late: bool) {
        let first = self.total.expected == 0;
        let prev = self.last_lost;
        for c in [&mut self.total, &mut self.current.counts] {
            c.expected = c.expected.saturating_add(1);
            if lost {
                c.lost = c.lost.saturating_add(1);
            }
            if late {
                c.late = c.late.saturating_add(1);
            }
            if !first {
                let t = match (prev, lost) {
                    (false, false) => &mut c.rr,
                    (false, true) => &mut c.rl,
                    (true, false) => &mut c.lr,
                    (true, true) => &mut c.ll,
                };
                *t = t.saturating_add(1);
            }
        }
        self.last_lost = lost;
    }

    fn close_interval(&mut self, index: u64) {
        let done = std::mem::take(&mut self.current);
        if self.intervals.len() < MAX_INTERVALS {
            self.intervals.push(PackedInterval::pack(&done));
        } else {
            self.dropped += 1;
        }
        self.current_index = index;
        self.current.start_s = u32::try_from(index * INTERVAL_SECS).unwrap_or(u32::MAX);
    }

    /// Loss counts over the whole stream.
    pub fn totals(&self) -> LossCounts {
        self.total
    }

    /// The intervals kept, the open one last (absent before the first packet).
    pub fn intervals(&self) -> impl Iterator<Item = Interval> + '_ {
        self.intervals
            .iter()
            .map(PackedInterval::unpack)
            .chain(std::iter::once(self.current).filter(|_| self.started))
    }

    /// Intervals not kept beyond [`MAX_INTERVALS`].
    pub fn intervals_dropped(&self) -> u64 {
        self.dropped
    }
}

/// The E-model verdict on a set of loss figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Transmission rating R.
    pub r: f64,
    /// MOS (Annex B).
    pub mos: f64,
    /// Loss used (network and jitter buffer), percent.
    pub ppl: f64,
    /// Burst ratio used.
    pub burst_r: f64,
    /// Delay impairment Id.
    pub id: f64,
    /// Effective equipment impairment Ie,eff.
    pub ie_eff: f64,
    /// Mouth-to-ear one-way delay assumed, ms.
    pub delay_ms: f64,
}

/// Scores loss figures `c` for a codec and an optional RTCP round trip.
pub fn score(c: &LossCounts, codec: &CodecImpairment, rtt_ms: Option<f64>) -> Score {
    let ppl = c.loss_pct();
    let burst_r = c.burst_ratio();
    let delay_ms = one_way_delay_ms(rtt_ms, codec);
    let id = delay_impairment(delay_ms);
    let ie = ie_eff(codec.ie, codec.bpl, ppl, burst_r);
    let r = r_factor(id, ie);
    Score {
        r,
        mos: mos_from_r(r),
        ppl,
        burst_r,
        id,
        ie_eff: ie,
        delay_ms,
    }
}

/// Sums the counts of several intervals (used by tests and merges).
pub fn sum_counts<'a>(it: impl IntoIterator<Item = &'a LossCounts>) -> LossCounts {
    let mut t = LossCounts::default();
    for c in it {
        t.add(c);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn defaults_give_93_2_and_4_41() {
        // G.107: with all defaults (T = Ta = 0) R = 93.2.
        let r = r_factor(delay_impairment(0.0), 0.0);
        assert!(close(r, 93.2, 0.01), "{r}");
        assert!(close(mos_from_r(r), 4.41, 0.005), "{}", mos_from_r(r));
    }

    #[test]
    fn annex_b_points() {
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(0.0), 1.0);
        assert_eq!(mos_from_r(100.0), 4.5);
        assert_eq!(mos_from_r(120.0), 4.5);
        // The G.109 category boundaries (R 90, 80, 70, 60, 50) through eq. B-4.
        assert!(close(mos_from_r(90.0), 4.34, 0.005));
        assert!(close(mos_from_r(80.0), 4.024, 0.0005));
        assert!(close(mos_from_r(70.0), 3.60, 0.005));
        assert!(close(mos_from_r(60.0), 3.10, 0.005));
        assert!(close(mos_from_r(50.0), 2.58, 0.005));
        // Monotonic over the range.
        let mut prev = 0.0;
        for r in 0..=100 {
            let m = mos_from_r(f64::from(r));
            assert!(m >= prev);
            prev = m;
        }
    }

    #[test]
    fn ie_eff_values() {
        // No loss: the codec's own Ie.
        assert_eq!(ie_eff(11.0, 19.0, 0.0, 1.0), 11.0);
        // G.711 with PLC, 2 % random loss: 95·2/(2 + 25.1) = 7.01.
        assert!(close(ie_eff(0.0, 25.1, 2.0, 1.0), 7.011, 0.001));
        // G.729A, 1 % random loss: 11 + 84·1/(1 + 19) = 15.2.
        assert!(close(ie_eff(11.0, 19.0, 1.0, 1.0), 15.2, 1e-9));
        // Bursty loss hurts more: BurstR 2 halves Ppl's weight in the denominator.
        assert!(ie_eff(0.0, 25.1, 5.0, 2.0) > ie_eff(0.0, 25.1, 5.0, 1.0));
        // 100 % loss with random loss: 95·100/(100 + Bpl), short of 95.
        assert!(ie_eff(0.0, 4.3, 100.0, 1.0) < 95.0);
    }

    #[test]
    fn delay_terms() {
        assert_eq!(idd(100.0), 0.0);
        assert!(idd(200.0) > 0.0);
        // Idd at Ta = 400 ms (X = 2): 25·(65^⅙ − 3·(1 + (2/3)⁶)^⅙ + 2) = 24.07.
        let v = idd(400.0);
        assert!(close(v, 24.07, 0.01), "{v}");
        // Id grows with delay.
        assert!(delay_impairment(300.0) > delay_impairment(150.0));
        assert!(delay_impairment(150.0) > delay_impairment(0.0));
    }

    #[test]
    fn burst_ratio_from_sequences() {
        // Build counts from a fate string: '.' received, 'x' lost.
        fn counts(s: &str) -> LossCounts {
            let mut t = QualityTracker {
                started: true,
                ..Default::default()
            };
            for ch in s.chars() {
                t.fate(ch == 'x', false);
            }
            t.total
        }
        // Isolated losses: every loss is followed by a received packet (q = 1).
        let c = counts("....x....x....");
        assert_eq!((c.rl, c.lr, c.ll), (2, 2, 0));
        // p = 2/11, q = 1 → BurstR = 1/(1 + 2/11) = 0.846.
        assert!(close(c.burst_ratio(), 11.0 / 13.0, 1e-9));
        // One burst of 4: p = 1/9, q = 1/4 → 1/(0.1111 + 0.25) = 2.769.
        let b = counts(".....xxxx.....");
        assert_eq!((b.rl, b.lr, b.ll, b.rr), (1, 1, 3, 8));
        assert!(close(b.burst_ratio(), 1.0 / (1.0 / 9.0 + 0.25), 1e-9));
        assert!(b.burst_ratio() > c.burst_ratio());
        // No loss: 1.
        assert_eq!(counts("......").burst_ratio(), 1.0);
        assert_eq!(b.loss_pct(), 4.0 * 100.0 / 14.0);
    }

    fn hdr(seq: u16, ts: u32, marker: bool) -> RtpHeader {
        RtpHeader {
            version: 2,
            padding: false,
            extension: false,
            csrc_count: 0,
            marker,
            payload_type: 0,
            sequence: seq,
            timestamp: ts,
            ssrc: 1,
            extension_profile: None,
            extension_words: 0,
            payload_offset: 12,
            payload_len: 160,
            padding_len: 0,
            packet_len: 172,
        }
    }

    #[test]
    fn tracker_loss_and_jitter_buffer() {
        let mut t = QualityTracker::default();
        let ms = |v: u64| Timestamp(1_000_000_000_000 + v * 1_000_000);
        // 20 ms G.711 packets; seq 3 missing; seq 6 arrives 80 ms late (discarded).
        for (seq, at) in [
            (0u16, 0u64),
            (1, 20),
            (2, 40),
            (4, 80),
            (5, 100),
            (6, 200),
            (7, 140),
        ] {
            t.update(&hdr(seq, u32::from(seq) * 160, false), ms(at), 8000, 0.0);
        }
        let c = t.totals();
        assert_eq!(c.expected, 8);
        assert_eq!(c.lost, 2);
        assert_eq!(c.late, 1);
        // 7 arrived at 140 ms, its due time is 140 ms: in time (behind 6 in arrival, but
        // 6 moved max_seq, so 7 is the next in sequence).
    }

    #[test]
    fn late_reordered_packet_in_time_is_not_lost() {
        let mut t = QualityTracker::default();
        let ms = |v: u64| Timestamp(1_000_000_000 + v * 1_000_000);
        for (seq, at) in [(0u16, 0u64), (1, 20), (3, 60), (2, 65), (4, 80)] {
            t.update(&hdr(seq, u32::from(seq) * 160, false), ms(at), 8000, 0.0);
        }
        assert_eq!(t.totals().expected, 5);
        assert_eq!(t.totals().lost, 0);
    }

    #[test]
    fn late_reordered_packet_past_its_playout_is_a_discard() {
        let mut t = QualityTracker::default();
        let ms = |v: u64| Timestamp(1_000_000_000 + v * 1_000_000);
        // 2 is overtaken by 3 and arrives 90 ms after its due time (40 ms): lost to the
        // buffer, so it is one loss and one discard, as if it had come in order.
        for (seq, at) in [(0u16, 0u64), (1, 20), (3, 60), (2, 130), (4, 100)] {
            t.update(&hdr(seq, u32::from(seq) * 160, false), ms(at), 8000, 0.0);
        }
        let c = t.totals();
        assert_eq!((c.expected, c.lost, c.late), (5, 1, 1));
    }

    #[test]
    fn intervals_are_bounded_and_close_on_boundaries() {
        let mut t = QualityTracker::default();
        // One packet every 5 s for 800 intervals: 800 intervals, 720 kept + the open one.
        for i in 0..801u32 {
            let at = Timestamp(u64::from(i) * 5_000_000_000 + 1);
            t.update(&hdr(i as u16, i * 40_000, false), at, 8000, 1.0);
        }
        assert_eq!(t.intervals().count(), MAX_INTERVALS + 1);
        assert_eq!(t.intervals_dropped(), 800 - MAX_INTERVALS as u64);
        let starts: Vec<u32> = t.intervals().take(3).map(|i| i.start_s).collect();
        assert_eq!(starts, vec![0, 5, 10]);
        // Packed, an hour of intervals stays under 15 KiB per stream.
        assert_eq!(std::mem::size_of::<PackedInterval>(), 20);
        let first = t.intervals().next().expect("first");
        assert_eq!((first.counts.expected, first.counts.lost), (1, 0));
    }

    #[test]
    fn codec_table() {
        assert_eq!(codec_impairment("PCMU").ie, 0.0);
        assert_eq!(codec_impairment("pcma").bpl, 25.1);
        assert_eq!(codec_impairment("G729").ie, 11.0);
        assert!(!codec_impairment("speex").known);
        // A clean G.711 call without RTCP: one-way 70 ms, Idd 0, MOS 4.41 or so.
        let s = score(&LossCounts::default(), &codec_impairment("PCMU"), None);
        assert!(s.mos > 4.3 && s.mos <= 4.41, "{s:?}");
        // 5 % random loss on G.711 with PLC: Ie,eff = 95·5/30.1 = 15.8.
        let c = LossCounts {
            expected: 100,
            lost: 5,
            rl: 5,
            lr: 5,
            rr: 89,
            ..Default::default()
        };
        let s5 = score(&c, &codec_impairment("PCMU"), None);
        assert!(s5.mos < s.mos && s5.mos > 3.6, "{s5:?}");
    }
}
