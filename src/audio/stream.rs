//! One RTP stream's audio timeline: packets put back in sequence order within a small
//! window, decoded, and placed by their RTP timestamp, with silence where packets were
//! lost or not sent (talkspurt gaps, comfort noise, RFC 4733 events), so the output keeps
//! the stream's timing (RFC 3550 §5.1: the timestamp is the sampling instant of the
//! payload's first octet).
//!
//! Pure logic over a [`PcmSink`]: the files are [`super::wav::WavWriter`]s, the tests and
//! the fuzz target use [`MemorySink`]. Bounded: at most [`REORDER_WINDOW`] packets of at
//! most [`MAX_PAYLOAD`] bytes are held.

use std::io;

use super::g711;
use super::g722::G722Decoder;

/// Packets held to put reordered ones back in place: a packet arriving more than this
/// many packets late (160 ms at 20 ms packets) is dropped and counted.
pub const REORDER_WINDOW: usize = 8;
/// Largest payload kept in the window (a 120 ms G.711 packet is 960 bytes); a larger
/// one is treated as lost and counted.
pub const MAX_PAYLOAD: usize = 2048;
/// A timestamp further than this from where the capture clock puts the packet (in
/// seconds of audio), or this far past the capture time elapsed since the stream's first
/// packet, is a discontinuity (a sender restarting its RTP clock without a new SSRC): the
/// packet is placed by capture time instead, and the jump counted. So a stream's output
/// never outlasts its capture span by more than this and one packet.
pub const MAX_CLOCK_SKEW_S: i64 = 1;

/// Comfort noise (RFC 3389), static payload type 13.
pub const PT_CN: u8 = 13;

/// A codec this module decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law (RFC 3551 §4.5.14, static PT 0).
    Pcmu,
    /// G.711 A-law (RFC 3551 §4.5.14, static PT 8).
    Pcma,
    /// G.722 64 kbit/s (RFC 3551 §4.5.2, static PT 9).
    G722,
}

impl Codec {
    /// The codec of an SDP encoding name (case-insensitive, RFC 4855 §3), when decodable.
    pub fn from_name(name: &str) -> Option<Codec> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else if name.eq_ignore_ascii_case("G722") {
            Some(Codec::G722)
        } else {
            None
        }
    }

    /// The codec of a static payload type (RFC 3551 Table 4), when decodable.
    pub fn from_static_pt(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            9 => Some(Codec::G722),
            _ => None,
        }
    }

    /// Its audio sample rate: 16 kHz for G.722, whose RTP clock is nonetheless 8000 Hz
    /// (RFC 3551 §4.5.2), 8 kHz for G.711.
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::G722 => 16_000,
            Codec::Pcmu | Codec::Pcma => 8000,
        }
    }

    /// Audio samples per RTP timestamp tick (all three use an 8000 Hz RTP clock).
    pub fn samples_per_tick(self) -> i64 {
        match self {
            Codec::G722 => 2,
            Codec::Pcmu | Codec::Pcma => 1,
        }
    }

    /// Its SDP name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
        }
    }
}

/// Where decoded samples go.
pub trait PcmSink {
    /// Appends `n` samples of silence.
    fn silence(&mut self, n: u64) -> io::Result<()>;
    /// Appends samples.
    fn samples(&mut self, s: &[i16]) -> io::Result<()>;
}

/// A sink in memory keeping at most `max` samples (it counts them all).
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    /// The samples kept.
    pub samples: Vec<i16>,
    /// How many were written in all.
    pub total: u64,
    /// The most kept.
    pub max: usize,
}

impl PcmSink for MemorySink {
    fn silence(&mut self, n: u64) -> io::Result<()> {
        let room = self.max.saturating_sub(self.samples.len());
        let k = usize::try_from(n).unwrap_or(usize::MAX).min(room);
        self.samples.resize(self.samples.len() + k, 0);
        self.total = self.total.saturating_add(n);
        Ok(())
    }

    fn samples(&mut self, s: &[i16]) -> io::Result<()> {
        let room = self.max.saturating_sub(self.samples.len());
        self.samples.extend(s.iter().take(room));
        self.total = self.total.saturating_add(s.len() as u64);
        Ok(())
    }
}

/// What happened to a stream's packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimelineStats {
    /// Packets given.
    pub packets: u64,
    /// Packets decoded into the output.
    pub decoded: u64,
    /// Comfort noise and telephone-event packets (skipped; the time they cover is
    /// silence).
    pub skipped_events: u64,
    /// Packets of a payload type that is neither the stream's codec nor one decodable at
    /// its rate (their time is silence).
    pub skipped_other: u64,
    /// Encrypted packets that were not decrypted (their time is silence).
    pub undecrypted: u64,
    /// Packets later than the reorder window, or copies of one already taken.
    pub late_or_duplicate: u64,
    /// Payloads over [`MAX_PAYLOAD`].
    pub oversize: u64,
    /// Samples of silence written for gaps.
    pub silence_samples: u64,
    /// Timestamp discontinuities placed by capture time instead.
    pub clock_jumps: u64,
}

#[derive(Debug, Clone)]
enum What {
    Audio(Codec, Vec<u8>),
    Event,
    Other,
    Undecrypted,
}

#[derive(Debug, Clone)]
struct Pending {
    seq: i64,
    rtp_ts: u32,
    capture_ns: u64,
    what: What,
}

/// The audio timeline of one stream, at its codec's rate.
#[derive(Debug, Clone)]
pub struct Timeline {
    codec: Codec,
    pt: u8,
    dtmf_pt: Option<u8>,
    g722: G722Decoder,
    window: Vec<Pending>,
    max_seq: Option<i64>,
    next_emit: Option<i64>,
    /// Extended timestamp of position 0.
    base_ts: Option<i64>,
    last_ext_ts: Option<i64>,
    /// Position (samples) of the last packet placed.
    last: Option<i64>,
    /// The latest capture time (ns) of the packets placed.
    max_ns: u64,
    /// Capture time of the packet at position 0.
    start_ns: Option<u64>,
    written: u64,
    buf: Vec<i16>,
    /// What happened to its packets.
    pub stats: TimelineStats,
}

impl Timeline {
    /// A timeline for a stream of `codec` under payload type `pt`, whose SDP gave
    /// `dtmf_pt` to telephone events.
    pub fn new(codec: Codec, pt: u8, dtmf_pt: Option<u8>) -> Timeline {
        Timeline {
            codec,
            pt,
            dtmf_pt,
            g722: G722Decoder::new(),
            window: Vec::with_capacity(REORDER_WINDOW + 1),
            max_seq: None,
            next_emit: None,
            base_ts: None,
            last_ext_ts: None,
            last: None,
            max_ns: 0,
            start_ns: None,
            written: 0,
            buf: Vec::new(),
            stats: TimelineStats::default(),
        }
    }

    /// Its codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Samples written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Capture time (ns) of the packet the output starts with.
    pub fn start_ns(&self) -> Option<u64> {
        self.start_ns
    }

    fn extend_seq(&mut self, seq: u16) -> i64 {
        match self.max_seq {
            None => {
                // Start one cycle up, so packets reordered before the first stay >= 0.
                let s = i64::from(seq) + (1 << 16);
                self.max_seq = Some(s);
                s
            }
            Some(max) => {
                let d = i64::from(seq.wrapping_sub(max as u16) as i16);
                let s = max + d;
                if s > max {
                    self.max_seq = Some(s);
                }
                s
            }
        }
    }

    /// One packet: payload type, sequence number, RTP timestamp, capture time, and the
    /// payload in clear (None: encrypted and not decrypted).
    pub fn push(
        &mut self,
        pt: u8,
        seq: u16,
        rtp_ts: u32,
        capture_ns: u64,
        payload: Option<&[u8]>,
        sink: &mut dyn PcmSink,
    ) -> io::Result<()> {
        self.stats.packets += 1;
        let seq = self.extend_seq(seq);
        if self.next_emit.is_some_and(|n| seq < n) || self.window.iter().any(|p| p.seq == seq) {
            self.stats.late_or_duplicate += 1;
            return Ok(());
        }
        let what = match payload {
            None => What::Undecrypted,
            Some(_) if pt == PT_CN || Some(pt) == self.dtmf_pt => What::Event,
            Some(p) if p.len() > MAX_PAYLOAD => {
                self.stats.oversize += 1;
                What::Other
            }
            Some(p) => {
                let c = if pt == self.pt {
                    Some(self.codec)
                } else {
                    // Another static type at the same rate (PCMU and PCMA alternate
                    // in some gateways); G.722 keeps state, so only the stream's own.
                    Codec::from_static_pt(pt).filter(|c| {
                        *c != Codec::G722 && c.sample_rate() == self.codec.sample_rate()
                    })
                };
                match c {
                    Some(c) => What::Audio(c, p.to_vec()),
                    None => What::Other,
                }
            }
        };
        let at = self.window.partition_point(|p| p.seq < seq);
        self.window.insert(
            at,
            Pending {
                seq,
                rtp_ts,
                capture_ns,
                what,
            },
        );
        if self.window.len() > REORDER_WINDOW {
            let p = self.window.remove(0);
            self.emit(p, sink)?;
        }
        Ok(())
    }

    /// Places every packet still in the window.
    pub fn finish(&mut self, sink: &mut dyn PcmSink) -> io::Result<()> {
        for p in std::mem::take(&mut self.window) {
            self.emit(p, sink)?;
        }
        Ok(())
    }

    fn emit(&mut self, p: Pending, sink: &mut dyn PcmSink) -> io::Result<()> {
        self.next_emit = Some(p.seq + 1);
        let ext_ts = match self.last_ext_ts {
            None => i64::from(p.rtp_ts),
            Some(last) => last + i64::from(p.rtp_ts.wrapping_sub(last as u32) as i32),
        };
        self.last_ext_ts = Some(ext_ts);
        let per_tick = self.codec.samples_per_tick();
        let rate = i64::from(self.codec.sample_rate());
        let base = *self.base_ts.get_or_insert(ext_ts);
        let start = *self.start_ns.get_or_insert(p.capture_ns);
        let samples_of = |ns: u64| {
            i64::try_from(u128::from(ns) * rate as u128 / 1_000_000_000).unwrap_or(i64::MAX / 4)
        };
        let mut pos = (ext_ts - base).saturating_mul(per_tick);
        if let Some(prev_pos) = self.last {
            // Where the capture clock puts it: the previous packet's place plus the
            // capture time since the latest packet placed (the latest, not the previous:
            // reordered packets must not count the same time twice).
            let expected =
                prev_pos.saturating_add(samples_of(p.capture_ns.saturating_sub(self.max_ns)));
            // And never past the capture clock (plus the skew allowed): no timestamp can
            // make a stream longer than the capture.
            let skew = MAX_CLOCK_SKEW_S * rate;
            let ceiling = samples_of(self.max_ns.max(p.capture_ns).saturating_sub(start)) + skew;
            if (pos - expected).abs() > skew || pos > ceiling {
                self.stats.clock_jumps += 1;
                let placed = expected.min(ceiling).max(prev_pos);
                self.base_ts = Some(ext_ts - placed / per_tick);
                pos = placed;
            }
        }
        self.last = Some(pos);
        self.max_ns = self.max_ns.max(p.capture_ns);
        let (codec, bytes) = match p.what {
            What::Audio(c, b) => (c, b),
            What::Event => {
                self.stats.skipped_events += 1;
                return Ok(());
            }
            What::Other => {
                self.stats.skipped_other += 1;
                return Ok(());
            }
            What::Undecrypted => {
                self.stats.undecrypted += 1;
                return Ok(());
            }
        };
        // A packet placed before the end of what is written (overlapping timestamps)
        // gives only its part past the end.
        let Ok(pos) = u64::try_from(pos) else {
            self.stats.late_or_duplicate += 1;
            return Ok(());
        };
        self.buf.clear();
        match codec {
            Codec::Pcmu => g711::decode_ulaw(&bytes, &mut self.buf),
            Codec::Pcma => g711::decode_alaw(&bytes, &mut self.buf),
            Codec::G722 => self.g722.decode(&bytes, &mut self.buf),
        }
        self.stats.decoded += 1;
        if pos > self.written {
            let gap = pos - self.written;
            sink.silence(gap)?;
            self.stats.silence_samples += gap;
            self.written = pos;
        }
        let skip = usize::try_from(self.written - pos).unwrap_or(usize::MAX);
        let fresh = self.buf.get(skip..).unwrap_or_default();
        sink.samples(fresh)?;
        self.written += fresh.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> MemorySink {
        MemorySink {
            max: 1 << 20,
            ..MemorySink::default()
        }
    }

    const MS: u64 = 1_000_000;

    /// Packets of 20 ms PCMU (160 bytes of 0x80 = +32124) numbered `seqs`, sent on time.
    fn feed(t: &mut Timeline, s: &mut MemorySink, seqs: &[u16]) {
        for &q in seqs {
            let n = u32::from(q.wrapping_sub(1000));
            t.push(
                0,
                q,
                5000 + 160 * n,
                u64::from(n) * 20 * MS,
                Some(&[0x80; 160]),
                s,
            )
            .unwrap();
        }
    }

    #[test]
    fn lost_packets_become_silence_of_their_length() {
        let mut t = Timeline::new(Codec::Pcmu, 0, None);
        let mut s = sink();
        feed(&mut t, &mut s, &[1000, 1001, 1004, 1005]);
        t.finish(&mut s).unwrap();
        assert_eq!(s.samples.len(), 6 * 160);
        assert!(s.samples[..320].iter().all(|&x| x == 32124));
        assert!(s.samples[320..640].iter().all(|&x| x == 0));
        assert!(s.samples[640..].iter().all(|&x| x == 32124));
        assert_eq!(t.stats.silence_samples, 320);
        assert_eq!(t.stats.decoded, 4);
    }

    #[test]
    fn reordered_duplicated_and_wrapping_sequences_keep_order() {
        let mut t = Timeline::new(Codec::Pcma, 8, None);
        let mut s = sink();
        // Across the 16-bit wrap, with one swap and one copy.
        let seqs = [65534u16, 65535, 1, 0, 1, 2, 3];
        for (i, &q) in seqs.iter().enumerate() {
            let n = u32::from(q.wrapping_sub(65534));
            let byte = if q == 0 { 0xaa } else { 0xd5 };
            t.push(
                8,
                q,
                160 * n,
                i as u64 * 20 * MS,
                Some(&[byte; 160]),
                &mut s,
            )
            .unwrap();
        }
        t.finish(&mut s).unwrap();
        assert_eq!(s.samples.len(), 6 * 160);
        // Packet 0 (the third in sequence) holds the loud code.
        assert!(s.samples[2 * 160..3 * 160].iter().all(|&x| x == 32256));
        assert!(s.samples[3 * 160..].iter().all(|&x| x == 8));
        assert_eq!(t.stats.late_or_duplicate, 1);
    }

    #[test]
    fn events_and_comfort_noise_keep_timing() {
        let mut t = Timeline::new(Codec::Pcmu, 0, Some(101));
        let mut s = sink();
        t.push(0, 1, 0, 0, Some(&[0x80; 160]), &mut s).unwrap();
        t.push(101, 2, 160, 20 * MS, Some(&[1, 0, 0, 160]), &mut s)
            .unwrap();
        t.push(13, 3, 320, 40 * MS, Some(&[40]), &mut s).unwrap();
        // A talkspurt after 1 s of nothing: the timestamp jumps (RFC 3551 §4.1).
        t.push(0, 4, 8000, 1000 * MS, Some(&[0x80; 160]), &mut s)
            .unwrap();
        t.finish(&mut s).unwrap();
        assert_eq!(s.samples.len(), 8160);
        assert_eq!(t.stats.skipped_events, 2);
        assert_eq!(t.stats.silence_samples, 8000 - 160);
    }

    #[test]
    fn a_timestamp_jump_is_placed_by_capture_time() {
        let mut t = Timeline::new(Codec::Pcmu, 0, None);
        let mut s = sink();
        t.push(0, 1, 0, 0, Some(&[0x80; 160]), &mut s).unwrap();
        // The sender restarts its clock 20 ms later: placed right after the first.
        t.push(0, 2, 3_000_000_000, 20 * MS, Some(&[0x80; 160]), &mut s)
            .unwrap();
        t.push(0, 3, 3_000_000_160, 40 * MS, Some(&[0x80; 160]), &mut s)
            .unwrap();
        t.finish(&mut s).unwrap();
        assert_eq!(s.samples.len(), 480);
        assert_eq!(t.stats.clock_jumps, 1);
    }

    #[test]
    fn timestamps_cannot_outrun_the_capture_clock() {
        // Each packet 20 ms after the last on the wire but 0.9 s later in RTP time (under
        // the per-packet skew), and reordered in pairs: the output stays within the
        // capture span (2 s) plus the skew and a packet.
        let mut t = Timeline::new(Codec::Pcmu, 0, None);
        let mut s = sink();
        for i in 0..100u32 {
            let q = i ^ 1;
            let ts = q * 7200;
            let at = u64::from(i) * 20 * MS + if i % 2 == 0 { 15 * MS } else { 0 };
            t.push(0, q as u16, ts, at, Some(&[0x80; 160]), &mut s)
                .unwrap();
        }
        t.finish(&mut s).unwrap();
        assert!(s.total <= 2 * 8000 + 8000 + 160, "{} samples", s.total);
        assert!(t.stats.clock_jumps > 0);
    }

    #[test]
    fn g722_writes_two_samples_per_tick() {
        let mut t = Timeline::new(Codec::G722, 9, None);
        let mut s = sink();
        t.push(9, 1, 0, 0, Some(&[0xfa; 160]), &mut s).unwrap();
        t.push(9, 3, 320, 40 * MS, Some(&[0xfa; 160]), &mut s)
            .unwrap();
        t.finish(&mut s).unwrap();
        assert_eq!(s.samples.len(), 3 * 320);
        assert_eq!(t.stats.silence_samples, 320);
    }

    #[test]
    fn undecrypted_packets_are_silence() {
        let mut t = Timeline::new(Codec::Pcmu, 0, None);
        let mut s = sink();
        t.push(0, 1, 0, 0, None, &mut s).unwrap();
        t.push(0, 2, 160, 20 * MS, Some(&[0x80; 160]), &mut s)
            .unwrap();
        t.finish(&mut s).unwrap();
        assert_eq!(s.samples.len(), 320);
        assert_eq!(t.stats.undecrypted, 1);
    }
}
