//! Per-stream RTP statistics: loss per RFC 3550 Appendix A.1, jitter per §6.4.1 / A.8.
//!
//! Deviations, all for a passive observer that sees a whole capture rather than one
//! reporting interval:
//! - `packets` / `bytes` count every packet, including those A.1 does not count as
//!   received (probation, packets after a big jump);
//! - on a sequence restart (A.1: two sequential packets after a jump) the expected and
//!   received counts so far are kept in running totals instead of being dropped;
//! - duplicates are detected in a 128-packet window and excluded from jitter.
//!
//! Besides the RFC 3550 figures, [`StreamStats`] keeps the per-stream figures of
//! Wireshark's RTP Stream Analysis (`tshark -z rtp,streams`, Telephony > RTP > RTP Stream
//! Analysis): min/mean/max delta and jitter and the count of wrong sequence numbers,
//! defined as Wireshark defines them (the private `Analysis` type says how) so that a
//! user comparing the two tools sees the same numbers.
//!
//! Stream identity (SSRC, flow) and the clock rates are the caller's business.

use crate::capture::Timestamp;

use super::rtp::RtpHeader;

const SEQ_MOD: u64 = 1 << 16;
/// A.1: a forward jump of at most this many is taken as loss, not a restart.
const MAX_DROPOUT: u16 = 3000;
/// A.1: a backward step of at most this many is a late (reordered or duplicate) packet.
const MAX_MISORDER: u16 = 100;
/// A.1: sequential packets needed before a source is valid.
const MIN_SEQUENTIAL: u32 = 2;
/// Width of the duplicate-detection window (bits of `history`).
const WINDOW: u16 = 128;

/// Statistics for one RTP stream (one SSRC on one flow). Time comes from packets only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStats {
    packets: u64,
    bytes: u64,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
    max_delta_ns: u64,
    duplicates: u64,
    out_of_order: u64,
    restarts: u64,
    payload_types: u128,
    started: bool,
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: u32,
    probation: u32,
    received: u64,
    acc_expected: u64,
    acc_received: u64,
    /// Bit i set: extended sequence `max - i` was received.
    history: u128,
    last_transit: Option<u32>,
    jitter: f64,
    analysis: Analysis,
    /// Loss, burst and jitter-buffer figures for the E-model (boxed: most of a capture's
    /// streams are short, and the record would double the stream's size inline).
    quality: Box<super::quality::QualityTracker>,
}

/// Wireshark's RTP Stream Analysis of one stream (`ui/tap-rtp-analysis.c`,
/// `rtppacket_analyse`, as Wireshark 4.0 computes it), re-derived from its definitions
/// and checked against `tshark -z rtp,streams` (tests/rtp_stats.rs):
///
/// - a packet is *in time* when its RTP timestamp is at or after the first packet's
///   (modulo 2^32, within 2^31: RFC 3550 §5.1 timestamps wrap); a packet from before the
///   first one is not: it moves no reference and counts as a wrong timestamp. A packet
///   reordered after the first one is in time;
/// - *delta*: arrival minus the arrival of the previous in-time packet;
/// - *nominal time*: (timestamp - first timestamp) / (clock rate / 1000), in ms. Wireshark
///   divides by the clock rate in whole kHz (integer division: 44100 Hz counts as 44 kHz);
///   so do we, so that the numbers agree;
/// - *diff*, D(i-1,i) of RFC 3550 §6.4.1 in ms: |delta - (nominal - previous nominal)|,
///   where the previous nominal is that of the last in-time packet *with a clock rate*:
///   a telephone-event run (RFC 4733 §2.2.1: its timestamp stands still during an event)
///   has none and is stepped over;
/// - *jitter*: the RFC 3550 estimator J += (D - J) / 16, in ms, updated by every in-time
///   packet with a clock rate (each packet's own payload type's);
/// - min/max/mean delta and jitter are taken over the *regular* packets only: in time,
///   not the first, not marked (M bit: a talk spurt begins after a silence, RFC 3551
///   §4.1), not comfort noise (PT 13, or the old 19) nor the packet after it. The jitter
///   figures also skip packets without a clock rate. The mean is Wireshark's running
///   mean `m = (m * (n - 1) + x) / n` where n counts *every* packet before this one, so a
///   skipped packet still weighs in the divisor: we keep that formula rather than a
///   plain average, since agreeing with Wireshark is the point;
/// - *sequence errors*: packets whose sequence number is not the previous one + 1: a gap
///   counts once (not per missing packet), as does each late, reordered or repeated
///   packet.
///
/// O(1) per packet and no allocation: a few counters and the previous packet's facts.
#[derive(Debug, Clone, Default, PartialEq)]
struct Analysis {
    /// Packets analysed (Wireshark `total_nr`).
    total: u64,
    /// RTP timestamp of the first packet: the origin of the nominal times.
    first_ts: u32,
    /// Arrival of the last in-time packet (Wireshark `time`).
    ref_arrival: Timestamp,
    /// Nominal time of the last in-time packet with a clock rate, ms.
    last_nominal: f64,
    /// Payload type of the last packet.
    last_pt: u8,
    /// Last sequence number taken as the running one.
    seq: u16,
    /// Running jitter estimate, ms.
    jitter: f64,
    delta_max: f64,
    delta_min: Option<f64>,
    delta_mean: f64,
    jitter_max: f64,
    jitter_min: Option<f64>,
    jitter_mean: f64,
    seq_errors: u64,
}

/// RFC 3551 Table 4/5: comfort noise, and the older PT 19 that Wireshark also takes as CN.
fn is_comfort_noise(pt: u8) -> bool {
    pt == 13 || pt == 19
}

/// Milliseconds from `from` to `to`, negative when `to` is earlier (captures are not
/// always in time order).
fn ms_between(from: Timestamp, to: Timestamp) -> f64 {
    if to.0 >= from.0 {
        (to.0 - from.0) as f64 / 1e6
    } else {
        -((from.0 - to.0) as f64 / 1e6)
    }
}

impl Analysis {
    /// Accounts one packet; `rate` is the clock rate of its payload type in Hz (0: unknown
    /// or telephone-event; below 1000 Hz counts as none, the rate being used in whole kHz).
    fn update(&mut self, hdr: &RtpHeader, arrival: Timestamp, rate: u32) {
        if self.total == 0 {
            self.total = 1;
            self.first_ts = hdr.timestamp;
            self.ref_arrival = arrival;
            self.last_pt = hdr.payload_type;
            self.seq = hdr.sequence;
            return;
        }
        let since_first = hdr.timestamp.wrapping_sub(self.first_ts);
        let in_time = since_first < 0x8000_0000;

        // Sequence errors: a gap moves the running number on, a late or repeated packet
        // does not. A packet from before the first timestamp is judged only as late.
        let (prev, seq) = (u32::from(self.seq), u32::from(hdr.sequence));
        if in_time && (prev + 1 == seq || (prev == 0xFFFF && seq == 0)) {
            self.seq = hdr.sequence;
        } else if in_time && (prev + 1 < seq || prev.saturating_sub(seq) > 0xFF00) {
            // Forward, or far back: taken as a wrap with the packets around 0 lost.
            self.seq = hdr.sequence;
            self.seq_errors += 1;
        } else if prev + 1 > seq {
            self.seq_errors += 1;
        }

        let delta = ms_between(self.ref_arrival, arrival);
        let khz = rate / 1000;
        if in_time && khz > 0 {
            let nominal = f64::from(since_first) / f64::from(khz);
            let diff = (delta - (nominal - self.last_nominal)).abs();
            self.jitter = (15.0 * self.jitter + diff) / 16.0;
            self.last_nominal = nominal;
        }
        let regular = in_time
            && !hdr.marker
            && !is_comfort_noise(hdr.payload_type)
            && !is_comfort_noise(self.last_pt);
        if regular {
            // n - 1 = packets before the previous one (see the type's doc on the mean).
            let n = self.total as f64;
            self.delta_max = self.delta_max.max(delta);
            self.delta_min = Some(self.delta_min.map_or(delta, |m| m.min(delta)));
            self.delta_mean = (self.delta_mean * (n - 1.0) + delta) / n;
            if khz > 0 {
                let j = self.jitter;
                self.jitter_max = self.jitter_max.max(j);
                self.jitter_min = Some(self.jitter_min.map_or(j, |m| m.min(j)));
                self.jitter_mean = (self.jitter_mean * (n - 1.0) + j) / n;
            }
        }
        if in_time {
            self.ref_arrival = arrival;
        }
        self.last_pt = hdr.payload_type;
        self.total += 1;
    }
}

/// The clock rate Wireshark's RTP analysis gives a packet of payload type `pt`, in Hz (0:
/// none, no jitter for the packet). `rtpmap` is the encoding name and rate an SDP
/// `a=rtpmap` (RFC 4566 §6) gave a dynamic type, when one did.
///
/// - static types (below 96): the RFC 3551 §6 table, with the retired types 1 (1016),
///   2 (G721) and 19 (old CN) at 8000 Hz as Wireshark keeps them; an SDP does not change
///   them, and an unassigned one has none;
/// - dynamic types: `telephone-event` (RFC 4733 §2.2.1: the timestamp stands still during
///   an event, so it says nothing of jitter) has none; any other takes the rtpmap rate;
///   without an SDP there is none (siplens' RFC 3550 figure guesses 8000 Hz instead).
pub fn analysis_clock_rate(pt: u8, rtpmap: Option<(&str, u32)>) -> u32 {
    if pt < 96 {
        return match pt {
            1 | 2 | 19 => 8000,
            _ => super::codec::static_payload_type(pt).map_or(0, |c| c.clock_rate),
        };
    }
    match rtpmap {
        Some((name, _))
            if name
                .get(..15)
                .is_some_and(|p| p.eq_ignore_ascii_case("telephone-event")) =>
        {
            0
        }
        Some((_, rate)) => rate,
        None => 0,
    }
}

/// What A.1 made of a sequence number.
#[derive(PartialEq)]
enum SeqVerdict {
    /// Counted as received.
    Valid,
    /// Counted as received, but a duplicate.
    Duplicate,
    /// Not counted yet: the source is on probation (A.1 `MIN_SEQUENTIAL`).
    Probation,
    /// Not counted: first packet after a big jump (maybe a restart, maybe garbage).
    Ignored,
}

impl StreamStats {
    /// A fresh, empty statistics record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accounts one RTP packet that arrived at `arrival`. `clock_rate` is the RTP clock of
    /// its payload type in Hz (0 disables jitter for this packet); it serves both the RFC
    /// 3550 estimate and Wireshark's analysis (see [`update_rates`](Self::update_rates)).
    pub fn update(&mut self, hdr: &RtpHeader, arrival: Timestamp, clock_rate: u32) {
        self.update_rates(hdr, arrival, clock_rate, clock_rate);
    }

    /// Accounts one RTP packet with two clock rates: `clock_rate`, the stream's, for the
    /// RFC 3550 §6.4.1 estimate ([`jitter`](Self::jitter)); `packet_rate`, the rate of
    /// this packet's own payload type as Wireshark would take it (0 when Wireshark knows
    /// none: a dynamic type without SDP, telephone-event), for the Wireshark figures
    /// ([`jitter_mean_ms`](Self::jitter_mean_ms) and the others).
    pub fn update_rates(
        &mut self,
        hdr: &RtpHeader,
        arrival: Timestamp,
        clock_rate: u32,
        packet_rate: u32,
    ) {
        self.analysis.update(hdr, arrival, packet_rate);
        self.packets += 1;
        self.bytes += hdr.packet_len as u64;
        self.payload_types |= 1u128 << (hdr.payload_type & 0x7f);
        if let Some(last) = self.last_seen {
            self.max_delta_ns = self.max_delta_ns.max(arrival.since(last));
        }
        self.first_seen.get_or_insert(arrival);
        self.last_seen = Some(arrival);

        let verdict = self.update_seq(hdr.sequence);
        // A.8 runs on every packet; we skip duplicates (same timestamp, later arrival: a
        // spurious delay) and unconfirmed jumps (likely another stream's timestamps).
        let timed = matches!(verdict, SeqVerdict::Valid | SeqVerdict::Probation);
        if timed && clock_rate > 0 {
            // §6.4.1: transit = arrival (in RTP units) - timestamp; wrapping arithmetic keeps
            // the difference right across 32-bit wraps of either clock.
            // Truncating to u32 is the RTP clock's own modulo 2^32.
            let units = rtp_units(arrival.0, clock_rate);
            let transit = units.wrapping_sub(hdr.timestamp);
            if let Some(last) = self.last_transit {
                let d = f64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
                self.jitter += (d - self.jitter) / 16.0;
            }
            self.last_transit = Some(transit);
        }
        let jitter_ms = self.jitter_ms(clock_rate);
        self.quality.update(hdr, arrival, clock_rate, jitter_ms);
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.bad_seq = (SEQ_MOD + 1) as u32;
        self.cycles = 0;
        self.received = 0;
        self.history = 1;
    }

    /// RFC 3550 A.1 `update_seq`, plus duplicate / reorder bookkeeping.
    fn update_seq(&mut self, seq: u16) -> SeqVerdict {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SeqVerdict::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SeqVerdict::Probation;
        }
        let mut verdict = SeqVerdict::Valid;
        if udelta < MAX_DROPOUT {
            if udelta == 0 {
                self.duplicates += 1;
                verdict = SeqVerdict::Duplicate;
            } else {
                if seq < self.max_seq {
                    self.cycles += SEQ_MOD;
                }
                self.history = if udelta >= WINDOW {
                    0
                } else {
                    self.history << udelta
                };
                self.history |= 1;
                self.max_seq = seq;
            }
        } else if u64::from(udelta) <= SEQ_MOD - u64::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets after a big jump: the source restarted.
                self.acc_expected += self.current_expected();
                self.acc_received += self.received;
                self.restarts += 1;
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & 0xFFFF;
                return SeqVerdict::Ignored;
            }
        } else {
            let back = self.max_seq.wrapping_sub(seq);
            let bit = if back < WINDOW { 1u128 << back } else { 0 };
            if self.history & bit != 0 {
                self.duplicates += 1;
                verdict = SeqVerdict::Duplicate;
            } else {
                self.history |= bit;
                self.out_of_order += 1;
            }
        }
        self.received += 1;
        verdict
    }

    fn current_expected(&self) -> u64 {
        if !self.started || self.probation > 0 {
            return 0;
        }
        (self.extended_max_seq() + 1).saturating_sub(self.base_seq)
    }

    /// Packets seen (every packet given to [`update`](Self::update)).
    pub fn packets(&self) -> u64 {
        self.packets
    }
    /// Bytes seen (whole RTP packets: header, payload and padding).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// Arrival of the first packet.
    pub fn first_seen(&self) -> Option<Timestamp> {
        self.first_seen
    }
    /// Arrival of the last packet.
    pub fn last_seen(&self) -> Option<Timestamp> {
        self.last_seen
    }
    /// Extended highest sequence number (cycles << 16 | max_seq) of the current run.
    pub fn extended_max_seq(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }
    /// Packets expected (A.3: extended max - base + 1, summed over restarts).
    pub fn expected(&self) -> u64 {
        self.acc_expected + self.current_expected()
    }
    /// Packets received per A.1 (includes late packets and duplicates, excludes packets
    /// during probation and ignored jumps).
    pub fn received(&self) -> u64 {
        self.acc_received + self.received
    }
    /// Cumulative packets lost, expected - received (A.3); negative with duplicates.
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received() as i64
    }
    /// Duplicate packets (same sequence number within the last 128).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
    /// Late packets (sequence number below the highest seen, not duplicates).
    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }
    /// Sequence restarts detected (A.1 big jump confirmed by a following packet).
    pub fn restarts(&self) -> u64 {
        self.restarts
    }
    /// Interarrival jitter estimate in RTP timestamp units (§6.4.1).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }
    /// Jitter in milliseconds for this clock rate (0 when the rate is 0).
    pub fn jitter_ms(&self, clock_rate: u32) -> f64 {
        if clock_rate == 0 {
            0.0
        } else {
            self.jitter * 1000.0 / f64::from(clock_rate)
        }
    }
    /// Largest gap between consecutive packet arrivals, in nanoseconds (every packet,
    /// marked or not: unlike [`delta_max_ms`](Self::delta_max_ms), a silence counts).
    pub fn max_delta_ns(&self) -> u64 {
        self.max_delta_ns
    }
    /// Wireshark's smallest delta over regular packets, ms (`None`: no regular packet).
    pub fn delta_min_ms(&self) -> Option<f64> {
        self.analysis.delta_min
    }
    /// Wireshark's running mean delta over regular packets, ms.
    pub fn delta_mean_ms(&self) -> f64 {
        self.analysis.delta_mean
    }
    /// Wireshark's largest delta over regular packets (not marked, not comfort noise),
    /// ms: the "Max Delta" of `tshark -z rtp,streams`.
    pub fn delta_max_ms(&self) -> f64 {
        self.analysis.delta_max
    }
    /// Wireshark's smallest running jitter (RFC 3550 §6.4.1 estimator in ms, per-packet
    /// clock rate) over regular packets (`None`: no regular packet with a clock rate).
    pub fn jitter_min_ms(&self) -> Option<f64> {
        self.analysis.jitter_min
    }
    /// Wireshark's "Mean Jitter": running mean over regular packets of the running jitter
    /// estimate, ms.
    pub fn jitter_mean_ms(&self) -> f64 {
        self.analysis.jitter_mean
    }
    /// Wireshark's "Max Jitter": the largest running jitter estimate over regular
    /// packets, ms.
    pub fn jitter_max_ms(&self) -> f64 {
        self.analysis.jitter_max
    }
    /// Wireshark's "Sequence errors": packets whose sequence number was not the previous
    /// one + 1 (gaps, late, reordered and duplicate packets).
    pub fn sequence_errors(&self) -> u64 {
        self.analysis.seq_errors
    }
    /// The E-model inputs: loss in sequence order with its bursts, jitter-buffer
    /// discards and the 5-second intervals ([`super::quality::QualityTracker`]).
    pub fn quality(&self) -> &super::quality::QualityTracker {
        &self.quality
    }
    /// Payload types seen, ascending.
    pub fn payload_types(&self) -> Vec<u8> {
        (0u8..128)
            .filter(|pt| self.payload_types & (1u128 << pt) != 0)
            .collect()
    }
}

/// `ns` nanoseconds in RTP units of `rate` Hz, modulo 2^32 (the RTP clock's own modulo,
/// RFC 3550 §5.1): whole seconds and the nanoseconds past them apart, so the products fit
/// in u64 (`ns × rate` needs u128, whose division was a library call per packet).
/// `secs × rate` may wrap u64, which keeps it right modulo 2^32.
fn rtp_units(ns: u64, rate: u32) -> u32 {
    let rate = u64::from(rate);
    let (secs, sub) = (ns / 1_000_000_000, ns % 1_000_000_000);
    secs.wrapping_mul(rate)
        .wrapping_add(sub * rate / 1_000_000_000) as u32
}

#[cfg(test)]
mod units_tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn rtp_units_equal_the_u128_product(ns in any::<u64>(), rate in any::<u32>()) {
            let wide = (u128::from(ns) * u128::from(rate) / 1_000_000_000) as u32;
            prop_assert_eq!(super::rtp_units(ns, rate), wide);
        }
    }
}
