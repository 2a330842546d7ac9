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
//! Stream identity (SSRC, flow) and the clock rate are the caller's business.

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
    /// its payload type in Hz (0 disables jitter for this packet).
    pub fn update(&mut self, hdr: &RtpHeader, arrival: Timestamp, clock_rate: u32) {
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
            let units = (u128::from(arrival.0) * u128::from(clock_rate) / 1_000_000_000) as u32;
            let transit = units.wrapping_sub(hdr.timestamp);
            if let Some(last) = self.last_transit {
                let d = f64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
                self.jitter += (d - self.jitter) / 16.0;
            }
            self.last_transit = Some(transit);
        }
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
    /// Largest gap between consecutive packet arrivals, in nanoseconds.
    pub fn max_delta_ns(&self) -> u64 {
        self.max_delta_ns
    }
    /// Payload types seen, ascending.
    pub fn payload_types(&self) -> Vec<u8> {
        (0u8..128)
            .filter(|pt| self.payload_types & (1u128 << pt) != 0)
            .collect()
    }
}
