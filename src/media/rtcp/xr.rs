//! RTCP Extended Reports (XR, PT 207) report blocks (RFC 3611 §3, §4).
//!
//! An XR packet carries a sender SSRC and a list of report blocks, each with its own
//! 4-byte header (block type, a type-specific byte, length in 32-bit words minus one).
//! The blocks that say something about a stream's quality or about round-trip time are
//! decoded: Loss RLE (§4.1), Receiver Reference Time (§4.4), DLRR (§4.5), Statistics
//! Summary (§4.6) and VoIP Metrics (§4.7); the others are kept as opaque bodies.

use crate::media::be::{be16, be32};

/// The value RFC 3611 §4.7 puts in the 8-bit level, R and MOS fields when the endpoint
/// cannot tell ("unavailable").
pub const UNAVAILABLE: u8 = 127;

/// Why a report block could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrError {
    /// The block's stated length runs past the end of the XR packet (RFC 3611 §3).
    BlockOverrun,
    /// Fewer bytes than the header of a block (4).
    TruncatedHeader,
    /// A known block type shorter than its fixed layout (§4.4-§4.7).
    ShortBlock,
}

impl XrError {
    /// A short reason, as the report counts it.
    pub fn as_str(self) -> &'static str {
        match self {
            XrError::BlockOverrun => "xr block overruns packet",
            XrError::TruncatedHeader => "xr block header truncated",
            XrError::ShortBlock => "xr block shorter than its type",
        }
    }
}

/// Loss RLE report block, BT 1 (RFC 3611 §4.1): which packets of a sequence range
/// arrived, run-length coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossRle<'a> {
    /// SSRC of the source reported on.
    pub ssrc: u32,
    /// Thinning T: only every 2^T-th sequence number is reported.
    pub thinning: u8,
    /// First sequence number covered.
    pub begin_seq: u16,
    /// One past the last sequence number covered.
    pub end_seq: u16,
    /// The 16-bit chunks (§4.1.1-§4.1.3).
    pub chunks: &'a [u8],
}

impl LossRle<'_> {
    /// Packets the chunks mark lost (run-length chunks of zeros and zero bits of
    /// bit-vector chunks, §4.1.1-§4.1.2); never more than the range covers, so a forged
    /// run cannot claim more than 65,535.
    pub fn lost(&self) -> u32 {
        let span = u32::from(self.end_seq.wrapping_sub(self.begin_seq));
        let mut lost = 0u32;
        let mut covered = 0u32;
        for c in self.chunks.chunks_exact(2) {
            let &[hi, lo] = c else { continue };
            let w = u16::from_be_bytes([hi, lo]);
            if w == 0 {
                // Null chunk: padding (§4.1.3).
                continue;
            }
            if w & 0x8000 == 0 {
                // Run-length chunk: bit 1 is the run type (1: received), 14-bit length.
                let n = u32::from(w & 0x3fff);
                if w & 0x4000 == 0 {
                    lost += n;
                }
                covered += n;
            } else {
                // Bit-vector chunk: 15 bits, 1 = received.
                let bits = w & 0x7fff;
                lost += 15 - bits.count_ones();
                covered += 15;
            }
        }
        // Trailing bits of the last bit vector past the range are not losses.
        lost.saturating_sub(covered.saturating_sub(span)).min(span)
    }
}

/// One DLRR sub-block (RFC 3611 §4.5): the XR sender's answer to a receiver's RRTR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlrrItem {
    /// SSRC of the receiver whose RRTR this answers.
    pub ssrc: u32,
    /// Middle 32 bits of that RRTR's NTP timestamp (0: none received).
    pub lrr: u32,
    /// Delay since that RRTR, 1/65536 s.
    pub dlrr: u32,
}

/// Statistics Summary report block, BT 6 (RFC 3611 §4.6). Fields whose flag is clear
/// are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatisticsSummary {
    /// SSRC of the source reported on.
    pub ssrc: u32,
    /// First sequence number covered.
    pub begin_seq: u16,
    /// One past the last sequence number covered.
    pub end_seq: u16,
    /// Packets lost in the range (L flag).
    pub lost_packets: Option<u32>,
    /// Duplicated packets in the range (D flag).
    pub dup_packets: Option<u32>,
    /// Jitter min, max, mean and standard deviation, timestamp units (J flag).
    pub jitter: Option<[u32; 4]>,
}

/// VoIP Metrics report block, BT 7 (RFC 3611 §4.7): what the endpoint measured and
/// estimated for one stream it receives, its own R factor and MOS included. Raw wire
/// values; the accessors convert them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VoipMetrics {
    /// SSRC of the source reported on.
    pub ssrc: u32,
    /// Loss rate, fraction in 1/256 (§4.7.1).
    pub loss_rate: u8,
    /// Discard rate (late or early for the jitter buffer), 1/256.
    pub discard_rate: u8,
    /// Burst density, 1/256 (§4.7.2).
    pub burst_density: u8,
    /// Gap density, 1/256.
    pub gap_density: u8,
    /// Mean burst duration, ms.
    pub burst_duration: u16,
    /// Mean gap duration, ms.
    pub gap_duration: u16,
    /// Round trip delay, ms (§4.7.3; 0: unknown).
    pub round_trip_delay: u16,
    /// End system delay, ms (0: unknown).
    pub end_system_delay: u16,
    /// Signal level, dBm0, signed (127: unavailable, §4.7.4).
    pub signal_level: i8,
    /// Noise level, dBm0, signed (127: unavailable).
    pub noise_level: i8,
    /// Residual echo return loss, dB (127: unavailable).
    pub rerl: u8,
    /// Gap threshold Gmin (§4.7.2; 16 recommended).
    pub gmin: u8,
    /// R factor, 0-100 (127: unavailable, §4.7.5).
    pub r_factor: u8,
    /// External R factor (127: unavailable).
    pub ext_r_factor: u8,
    /// MOS-LQ times 10 (127: unavailable).
    pub mos_lq: u8,
    /// MOS-CQ times 10 (127: unavailable).
    pub mos_cq: u8,
    /// Receiver configuration byte: PLC (2 bits), JBA (2 bits), JB rate (4 bits) (§4.7.6).
    pub rx_config: u8,
    /// Jitter buffer nominal delay, ms (§4.7.7).
    pub jb_nominal: u16,
    /// Jitter buffer maximum delay, ms.
    pub jb_maximum: u16,
    /// Jitter buffer absolute maximum delay, ms.
    pub jb_abs_max: u16,
}

/// An 8-bit field or `None` when it holds [`UNAVAILABLE`].
fn available(v: u8) -> Option<u8> {
    (v != UNAVAILABLE).then_some(v)
}

impl VoipMetrics {
    /// Loss rate in percent.
    pub fn loss_pct(&self) -> f64 {
        f64::from(self.loss_rate) * 100.0 / 256.0
    }
    /// Discard rate in percent.
    pub fn discard_pct(&self) -> f64 {
        f64::from(self.discard_rate) * 100.0 / 256.0
    }
    /// Burst density in percent.
    pub fn burst_density_pct(&self) -> f64 {
        f64::from(self.burst_density) * 100.0 / 256.0
    }
    /// Gap density in percent.
    pub fn gap_density_pct(&self) -> f64 {
        f64::from(self.gap_density) * 100.0 / 256.0
    }
    /// R factor, `None` when unavailable.
    pub fn r(&self) -> Option<u8> {
        available(self.r_factor)
    }
    /// External R factor, `None` when unavailable.
    pub fn ext_r(&self) -> Option<u8> {
        available(self.ext_r_factor)
    }
    /// MOS-LQ (listening quality), `None` when unavailable.
    pub fn mos_lq(&self) -> Option<f64> {
        available(self.mos_lq).map(|v| f64::from(v) / 10.0)
    }
    /// MOS-CQ (conversational quality), `None` when unavailable.
    pub fn mos_cq(&self) -> Option<f64> {
        available(self.mos_cq).map(|v| f64::from(v) / 10.0)
    }
    /// Signal level, dBm0, `None` when unavailable.
    pub fn signal_dbm(&self) -> Option<i8> {
        (self.signal_level != 127).then_some(self.signal_level)
    }
    /// Noise level, dBm0, `None` when unavailable.
    pub fn noise_dbm(&self) -> Option<i8> {
        (self.noise_level != 127).then_some(self.noise_level)
    }
    /// Residual echo return loss, dB, `None` when unavailable.
    pub fn rerl_db(&self) -> Option<u8> {
        available(self.rerl)
    }
}

/// One XR report block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XrBlock<'a> {
    /// BT 1 (§4.1).
    LossRle(LossRle<'a>),
    /// BT 4 (§4.4): the XR sender's NTP time, for a DLRR to echo.
    ReceiverReferenceTime {
        /// NTP timestamp (64-bit fixed point).
        ntp: u64,
    },
    /// BT 5 (§4.5).
    Dlrr(Vec<DlrrItem>),
    /// BT 6 (§4.6).
    StatisticsSummary(StatisticsSummary),
    /// BT 7 (§4.7).
    VoipMetrics(VoipMetrics),
    /// Any other block type (duplicate RLE, receipt times, later RFCs), undecoded.
    Other {
        /// Block type.
        block_type: u8,
        /// Type-specific byte.
        type_specific: u8,
        /// Body after the 4-byte block header.
        body: &'a [u8],
    },
}

/// Reads the report blocks of an XR packet's body (after the sender SSRC). Stops at the
/// first block that cannot be read and returns it as the error beside the blocks before
/// it.
pub fn parse_blocks(mut data: &[u8]) -> (Vec<XrBlock<'_>>, Option<XrError>) {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (Some(&bt), Some(&ts), Some(words)) = (data.first(), data.get(1), be16(data, 2)) else {
            return (out, Some(XrError::TruncatedHeader));
        };
        let len = (usize::from(words) + 1) * 4;
        let Some(body) = data.get(4..len) else {
            return (out, Some(XrError::BlockOverrun));
        };
        match block(bt, ts, body) {
            Some(b) => out.push(b),
            None => return (out, Some(XrError::ShortBlock)),
        }
        data = data.get(len..).unwrap_or(&[]);
    }
    (out, None)
}

fn block(bt: u8, ts: u8, b: &[u8]) -> Option<XrBlock<'_>> {
    Some(match bt {
        1 => XrBlock::LossRle(LossRle {
            ssrc: be32(b, 0)?,
            thinning: ts & 0x0f,
            begin_seq: be16(b, 4)?,
            end_seq: be16(b, 6)?,
            chunks: b.get(8..)?,
        }),
        4 => {
            let ntp = (u64::from(be32(b, 0)?) << 32) | u64::from(be32(b, 4)?);
            XrBlock::ReceiverReferenceTime { ntp }
        }
        5 => XrBlock::Dlrr(
            b.chunks_exact(12)
                .filter_map(|s| {
                    Some(DlrrItem {
                        ssrc: be32(s, 0)?,
                        lrr: be32(s, 4)?,
                        dlrr: be32(s, 8)?,
                    })
                })
                .collect(),
        ),
        6 => {
            if b.len() < 36 {
                return None;
            }
            XrBlock::StatisticsSummary(StatisticsSummary {
                ssrc: be32(b, 0)?,
                begin_seq: be16(b, 4)?,
                end_seq: be16(b, 6)?,
                lost_packets: (ts & 0x80 != 0).then_some(be32(b, 8)?),
                dup_packets: (ts & 0x40 != 0).then_some(be32(b, 12)?),
                jitter: (ts & 0x20 != 0).then_some([
                    be32(b, 16)?,
                    be32(b, 20)?,
                    be32(b, 24)?,
                    be32(b, 28)?,
                ]),
            })
        }
        7 => {
            let f = b.get(..32)?;
            let u8_at = |i: usize| f.get(i).copied();
            XrBlock::VoipMetrics(VoipMetrics {
                ssrc: be32(f, 0)?,
                loss_rate: u8_at(4)?,
                discard_rate: u8_at(5)?,
                burst_density: u8_at(6)?,
                gap_density: u8_at(7)?,
                burst_duration: be16(f, 8)?,
                gap_duration: be16(f, 10)?,
                round_trip_delay: be16(f, 12)?,
                end_system_delay: be16(f, 14)?,
                signal_level: i8::from_be_bytes([u8_at(16)?]),
                noise_level: i8::from_be_bytes([u8_at(17)?]),
                rerl: u8_at(18)?,
                gmin: u8_at(19)?,
                r_factor: u8_at(20)?,
                ext_r_factor: u8_at(21)?,
                mos_lq: u8_at(22)?,
                mos_cq: u8_at(23)?,
                rx_config: u8_at(24)?,
                jb_nominal: be16(f, 26)?,
                jb_maximum: be16(f, 28)?,
                jb_abs_max: be16(f, 30)?,
            })
        }
        _ => XrBlock::Other {
            block_type: bt,
            type_specific: ts,
            body: b,
        },
    })
}
