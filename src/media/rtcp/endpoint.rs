//! What the endpoints say about one RTP stream in their RTCP: the receiver's report
//! blocks (RFC 3550 §6.4.1), the sender's SR counts, SDES items (§6.5) and the XR
//! blocks (RFC 3611 §4.6, §4.7). Kept beside our own measurement of the same stream, so
//! a report can show "what the phone saw" next to "what the capture saw".
//!
//! Fixed size but for three SDES strings, each at most 255 bytes (the SDES item length
//! is one byte), so a stream's record is bounded by the wire format itself.

use super::xr::{StatisticsSummary, VoipMetrics};
use super::{ReportBlock, SdesChunk, SenderReport};

/// The endpoint-reported figures of one stream. Every field stays `None` (or 0) until a
/// packet carrying it is seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointReports {
    /// Report blocks (SR or RR) whose SSRC is this stream's.
    pub reports: u64,
    /// Fraction lost of the last block, in 1/256.
    pub fraction_lost_last: Option<u8>,
    /// Largest fraction lost of any block, in 1/256.
    pub fraction_lost_max: Option<u8>,
    /// Cumulative packets lost, from the last block (may be negative, §6.4.1).
    pub cumulative_lost: Option<i32>,
    /// Interarrival jitter of the last block, timestamp units.
    pub jitter_last: Option<u32>,
    /// Largest interarrival jitter of any block, timestamp units.
    pub jitter_max: Option<u32>,
    /// SRs sent by this stream's source.
    pub sender_reports: u64,
    /// Sender's packet count from its last SR.
    pub sender_packets: Option<u32>,
    /// Sender's payload octet count from its last SR.
    pub sender_octets: Option<u32>,
    /// SDES CNAME of this SSRC (lossy UTF-8, trailing NULs removed).
    pub cname: Option<String>,
    /// SDES NAME.
    pub name: Option<String>,
    /// SDES TOOL.
    pub tool: Option<String>,
    /// RTCP datagrams from this source that did not start with SR/RR (RFC 5506).
    pub reduced_size: u64,
    /// XR VoIP Metrics blocks about this stream (RFC 3611 §4.7).
    pub xr_voip_reports: u64,
    /// The last of them.
    pub xr_voip: Option<VoipMetrics>,
    /// The last XR Statistics Summary about this stream (RFC 3611 §4.6).
    pub xr_summary: Option<StatisticsSummary>,
    /// Round trip from an XR DLRR echoing one of this source's RRTRs (RFC 3611 §4.5), ms.
    pub xr_rtt_ms: Option<f64>,
}

impl EndpointReports {
    /// A report block about this stream, from whoever receives it.
    pub fn on_block(&mut self, b: &ReportBlock) {
        self.reports += 1;
        self.fraction_lost_last = Some(b.fraction_lost);
        self.fraction_lost_max = Some(self.fraction_lost_max.unwrap_or(0).max(b.fraction_lost));
        self.cumulative_lost = Some(b.cumulative_lost);
        self.jitter_last = Some(b.jitter);
        self.jitter_max = Some(self.jitter_max.unwrap_or(0).max(b.jitter));
    }

    /// An SR sent by this stream's source.
    pub fn on_sender(&mut self, sr: &SenderReport) {
        self.sender_reports += 1;
        self.sender_packets = Some(sr.packet_count);
        self.sender_octets = Some(sr.octet_count);
    }

    /// An SDES chunk describing this stream's SSRC: CNAME (1), NAME (2), TOOL (6). A
    /// repeated item replaces the stored one only when it differs, so the steady stream
    /// of identical CNAMEs allocates once.
    pub fn on_sdes(&mut self, c: &SdesChunk<'_>) {
        for i in &c.items {
            let slot = match i.kind {
                1 => &mut self.cname,
                2 => &mut self.name,
                6 => &mut self.tool,
                _ => continue,
            };
            let text = i.text();
            if slot.as_deref().map(str::as_bytes) != Some(text) {
                *slot = Some(String::from_utf8_lossy(text).into_owned());
            }
        }
    }

    /// An XR VoIP Metrics block about this stream.
    pub fn on_voip_metrics(&mut self, m: &VoipMetrics) {
        self.xr_voip_reports += 1;
        self.xr_voip = Some(*m);
    }

    /// An XR Statistics Summary block about this stream.
    pub fn on_summary(&mut self, s: &StatisticsSummary) {
        self.xr_summary = Some(*s);
    }

    /// Last fraction lost in percent.
    pub fn fraction_lost_pct(&self) -> Option<f64> {
        self.fraction_lost_last
            .map(|f| f64::from(f) * 100.0 / 256.0)
    }

    /// Largest fraction lost in percent.
    pub fn fraction_lost_max_pct(&self) -> Option<f64> {
        self.fraction_lost_max.map(|f| f64::from(f) * 100.0 / 256.0)
    }
}

/// Timestamp units to milliseconds at `clock_rate` Hz (`None` without a rate).
pub fn units_to_ms(units: u32, clock_rate: u32) -> Option<f64> {
    (clock_rate > 0).then(|| f64::from(units) * 1000.0 / f64::from(clock_rate))
}
