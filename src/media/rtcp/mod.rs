//! RTCP packets (RFC 3550 §6.4-§6.7), feedback (RFC 4585 §6.1) and XR (RFC 3611 §2),
//! compound (RFC 3550 §6.1) or reduced-size (RFC 5506 §3); [`xr`] reads the XR report
//! blocks and [`endpoint`] keeps what the endpoints reported about a stream.

use crate::media::be::be32;

pub mod endpoint;
pub mod xr;

#[cfg(test)]
mod tests;

/// Why a packet of a known RTCP type could not be read: it is counted as malformed
/// with this reason instead of being dropped silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpError {
    /// SR/RR shorter than its fixed part plus the report blocks its count announces
    /// (RFC 3550 §6.4.1-§6.4.2).
    ReportsTruncated,
    /// An SDES chunk or item runs past the packet (RFC 3550 §6.5).
    SdesTruncated,
    /// BYE shorter than its SSRC count, or its reason runs past the packet (§6.6).
    ByeTruncated,
    /// APP shorter than its SSRC and name (§6.7).
    AppTruncated,
    /// RTPFB/PSFB shorter than its two SSRCs (RFC 4585 §6.1).
    FeedbackTruncated,
    /// XR shorter than its sender SSRC (RFC 3611 §2).
    XrTruncated,
    /// An XR report block that could not be read (RFC 3611 §3).
    XrBlock(xr::XrError),
}

impl RtcpError {
    /// A short reason, as the report counts it (`summary.engine.rtcp_malformed`).
    pub fn as_str(self) -> &'static str {
        match self {
            RtcpError::ReportsTruncated => "report blocks truncated",
            RtcpError::SdesTruncated => "sdes truncated",
            RtcpError::ByeTruncated => "bye truncated",
            RtcpError::AppTruncated => "app truncated",
            RtcpError::FeedbackTruncated => "feedback truncated",
            RtcpError::XrTruncated => "xr truncated",
            RtcpError::XrBlock(e) => e.as_str(),
        }
    }
}

/// One report block of an SR or RR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// SSRC the block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed: duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Last SR timestamp (middle 32 bits of its NTP time).
    pub lsr: u32,
    /// Delay since last SR in 1/65536 s.
    pub dlsr: u32,
}

/// Sender report, PT 200 (RFC 3550 §6.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReport {
    /// Sender SSRC.
    pub ssrc: u32,
    /// NTP timestamp (64-bit fixed point).
    pub ntp_timestamp: u64,
    /// RTP timestamp matching the NTP timestamp.
    pub rtp_timestamp: u32,
    /// Sender's packet count.
    pub packet_count: u32,
    /// Sender's payload octet count.
    pub octet_count: u32,
    /// Report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
}

/// Receiver report, PT 201 (RFC 3550 §6.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReport {
    /// Sender SSRC of the report.
    pub ssrc: u32,
    /// Report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
}

/// One SDES item (RFC 3550 §6.5): type 1 CNAME, 2 NAME, ... 8 PRIV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// Item type.
    pub kind: u8,
    /// Item text (UTF-8 by RFC, kept as bytes).
    pub value: &'a [u8],
}

impl<'a> SdesItem<'a> {
    /// The text without the trailing NUL bytes some endpoints count in the item length
    /// (a C string's terminator; RFC 3550 §6.5 has none), as Wireshark shows it.
    pub fn text(&self) -> &'a [u8] {
        let end = self
            .value
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        self.value.get(..end).unwrap_or(self.value)
    }
}

/// One SDES chunk: an SSRC/CSRC and its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// SSRC or CSRC described.
    pub ssrc: u32,
    /// Items in order (the terminating null item is not included).
    pub items: Vec<SdesItem<'a>>,
}

impl<'a> SdesChunk<'a> {
    /// The CNAME item (type 1), if present.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items.iter().find(|i| i.kind == 1).map(|i| i.value)
    }
}

/// A BYE packet, PT 203 (RFC 3550 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bye<'a> {
    /// Sources leaving.
    pub ssrcs: Vec<u32>,
    /// Reason for leaving, if given.
    pub reason: Option<&'a [u8]>,
}

/// An APP packet, PT 204 (RFC 3550 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App<'a> {
    /// Subtype (the count field).
    pub subtype: u8,
    /// Sender SSRC.
    pub ssrc: u32,
    /// Four ASCII characters.
    pub name: [u8; 4],
    /// Application data.
    pub data: &'a [u8],
}

/// RTPFB (205) / PSFB (206) feedback message (RFC 4585 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feedback<'a> {
    /// FMT (1 = Generic NACK for RTPFB, 1 = PLI / 4 = FIR / 15 = AFB for PSFB).
    pub fmt: u8,
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source.
    pub media_ssrc: u32,
    /// Feedback control information.
    pub fci: &'a [u8],
}

/// Extended report, PT 207 (RFC 3611 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedReport<'a> {
    /// Sender SSRC.
    pub ssrc: u32,
    /// Report blocks, unparsed ([`Self::report_blocks`] reads them).
    pub blocks: &'a [u8],
}

impl<'a> ExtendedReport<'a> {
    /// The report blocks (RFC 3611 §3, §4), and the error that stopped the walk, if any.
    pub fn report_blocks(&self) -> (Vec<xr::XrBlock<'a>>, Option<xr::XrError>) {
        xr::parse_blocks(self.blocks)
    }
}

/// One RTCP packet of a compound packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// SR (200).
    SenderReport(SenderReport),
    /// RR (201).
    ReceiverReport(ReceiverReport),
    /// SDES (202).
    SourceDescription(Vec<SdesChunk<'a>>),
    /// BYE (203).
    Bye(Bye<'a>),
    /// APP (204).
    App(App<'a>),
    /// RTPFB (205).
    TransportFeedback(Feedback<'a>),
    /// PSFB (206).
    PayloadFeedback(Feedback<'a>),
    /// XR (207).
    ExtendedReport(ExtendedReport<'a>),
    /// A known type (200..=207) whose body did not parse.
    Malformed {
        /// Packet type.
        packet_type: u8,
        /// What was wrong.
        error: RtcpError,
    },
    /// Any other packet type (RFC 5761 §4 reserves 192..=223 for RTCP).
    Other {
        /// Packet type.
        packet_type: u8,
        /// The count / subtype / FMT field.
        count: u8,
        /// Body after the 4-byte common header.
        body: &'a [u8],
    },
}

impl RtcpPacket<'_> {
    /// The sender SSRC, for the types that carry one.
    pub fn sender_ssrc(&self) -> Option<u32> {
        match self {
            RtcpPacket::SenderReport(s) => Some(s.ssrc),
            RtcpPacket::ReceiverReport(r) => Some(r.ssrc),
            RtcpPacket::App(a) => Some(a.ssrc),
            RtcpPacket::TransportFeedback(f) | RtcpPacket::PayloadFeedback(f) => {
                Some(f.sender_ssrc)
            }
            RtcpPacket::ExtendedReport(x) => Some(x.ssrc),
            RtcpPacket::Bye(b) => b.ssrcs.first().copied(),
            RtcpPacket::SourceDescription(c) => c.first().map(|c| c.ssrc),
            RtcpPacket::Other { .. } | RtcpPacket::Malformed { .. } => None,
        }
    }

    /// True for SR and RR: RFC 3550 §6.1 starts every compound packet with one; a packet
    /// that starts otherwise is reduced-size RTCP (RFC 5506 §3.1).
    pub fn is_report(&self) -> bool {
        matches!(
            self,
            RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_)
        )
    }
    /// Report blocks of an SR or RR (empty for other types).
    pub fn report_blocks(&self) -> &[ReportBlock] {
        match self {
            RtcpPacket::SenderReport(s) => &s.reports,
            RtcpPacket::ReceiverReport(r) => &r.reports,
            _ => &[],
        }
    }
}

/// The middle 32 bits of an NTP timestamp: what a report block's LSR echoes (RFC 3550
/// §6.4.1).
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Round trip measured at the capture point, in nanoseconds, from an SR seen at
/// `sr_seen` and a report block echoing it (LSR equal to the SR's middle NTP bits) seen
/// at `rr_seen` with delay-since-last-SR `dlsr` (1/65536 s): RFC 3550 §6.4.1's
/// `A − LSR − DLSR`, with both times read from the capture clock instead of the SR
/// sender's, so it is the round trip between the capture point and the reporter (the
/// whole one when the capture runs beside the SR's sender). `None` when the report came
/// back before the SR plus its stated delay (clock trouble, or a stale echo).
pub fn round_trip_ns(sr_seen: u64, rr_seen: u64, dlsr: u32) -> Option<u64> {
    let dlsr_ns = u64::from(dlsr) * 1_000_000_000 / 65_536;
    rr_seen.checked_sub(sr_seen)?.checked_sub(dlsr_ns)
}

/// Cheap check used by the classifier: version 2, PT 200..=207, and the first packet's
/// length fits. The compound may be longer than the walk covers (SRTCP appends an index
/// and tag, RFC 3711 §3.4), so only "fits" is required, plus every complete packet in the
/// walk being version 2.
pub(crate) fn looks_like_rtcp(p: &[u8]) -> bool {
    let (Some(&b0), Some(&pt)) = (p.first(), p.get(1)) else {
        return false;
    };
    if b0 >> 6 != 2 || !(200..=207).contains(&pt) || p.len() < 8 {
        return false;
    }
    match packet_len(p) {
        Some(len) => len <= p.len(),
        None => false,
    }
}

fn packet_len(p: &[u8]) -> Option<usize> {
    let words = u16::from_be_bytes([*p.get(2)?, *p.get(3)?]);
    Some((usize::from(words) + 1) * 4)
}

/// Parses a compound RTCP packet (RFC 3550 §6.1). Returns `None` when the first packet is
/// not RTCP (version 2 and a length that fits); otherwise the packets parsed until the
/// data ends or stops being RTCP (version 2, type 192..=223, length fits); trailing bytes,
/// e.g. an SRTCP index and tag, are ignored.
pub fn parse_compound(data: &[u8]) -> Option<Vec<RtcpPacket<'_>>> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((pkt, len)) = parse_packet(rest) {
        out.push(pkt);
        rest = rest.get(len..).unwrap_or(&[]);
        // An SRTCP trailer starts with the E flag (0x80: looks like version 2), so later
        // packets must also carry a type in the RTCP range 192..=223 (RFC 5761 §4).
        if !rest.get(1).is_some_and(|pt| (192..=223).contains(pt)) {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Parses one RTCP packet at the start of `data`; returns it and its length in bytes.
pub fn parse_packet(data: &[u8]) -> Option<(RtcpPacket<'_>, usize)> {
    let b0 = *data.first()?;
    let pt = *data.get(1)?;
    if b0 >> 6 != 2 {
        return None;
    }
    let len = packet_len(data)?;
    let whole = data.get(..len)?;
    let count = b0 & 0x1f;
    let mut body = whole.get(4..)?;
    if b0 & 0x20 != 0 {
        // Padding: the last byte counts padding bytes, itself included (§6.4.1).
        // An impossible count is ignored rather than fatal: the body is still readable.
        let pad = usize::from(*whole.last()?);
        if let Some(unpadded) = body.len().checked_sub(pad).and_then(|n| body.get(..n)) {
            body = unpadded;
        }
    }
    let parsed = match pt {
        200 => sender_report(body, count).ok_or(RtcpError::ReportsTruncated),
        201 => receiver_report(body, count).ok_or(RtcpError::ReportsTruncated),
        202 => sdes(body, count).ok_or(RtcpError::SdesTruncated),
        203 => bye(body, count).ok_or(RtcpError::ByeTruncated),
        204 => app(body, count).ok_or(RtcpError::AppTruncated),
        205 => feedback(body, count)
            .map(RtcpPacket::TransportFeedback)
            .ok_or(RtcpError::FeedbackTruncated),
        206 => feedback(body, count)
            .map(RtcpPacket::PayloadFeedback)
            .ok_or(RtcpError::FeedbackTruncated),
        207 => extended_report(body),
        _ => {
            return Some((
                RtcpPacket::Other {
                    packet_type: pt,
                    count,
                    body,
                },
                len,
            ))
        }
    };
    let pkt = parsed.unwrap_or_else(|error| RtcpPacket::Malformed {
        packet_type: pt,
        error,
    });
    Some((pkt, len))
}

/// An XR packet whose blocks all read; a block that does not makes the packet malformed
/// (its blocks are then not used: a misframed block shifts every one after it).
fn extended_report(body: &[u8]) -> Result<RtcpPacket<'_>, RtcpError> {
    let x = ExtendedReport {
        ssrc: be32(body, 0).ok_or(RtcpError::XrTruncated)?,
        blocks: body.get(4..).ok_or(RtcpError::XrTruncated)?,
    };
    match xr::parse_blocks(x.blocks).1 {
        Some(e) => Err(RtcpError::XrBlock(e)),
        None => Ok(RtcpPacket::ExtendedReport(x)),
    }
}

/// The first malformed packet's error in a parsed compound, if any.
pub fn first_error(packets: &[RtcpPacket<'_>]) -> Option<RtcpError> {
    packets.iter().find_map(|p| match p {
        RtcpPacket::Malformed { error, .. } => Some(*error),
        _ => None,
    })
}

fn report_blocks(data: &[u8], count: u8) -> Option<Vec<ReportBlock>> {
    let mut v = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        let b = data.get(i * 24..i * 24 + 24)?;
        let lost = be32(b, 4)?;
        // 24-bit two's complement, sign-extended.
        let cumulative = ((lost << 8) as i32) >> 8;
        v.push(ReportBlock {
            ssrc: be32(b, 0)?,
            fraction_lost: (lost >> 24) as u8,
            cumulative_lost: cumulative,
            highest_seq: be32(b, 8)?,
            jitter: be32(b, 12)?,
            lsr: be32(b, 16)?,
            dlsr: be32(b, 20)?,
        });
    }
    Some(v)
}

fn sender_report(b: &[u8], count: u8) -> Option<RtcpPacket<'_>> {
    let ntp = (u64::from(be32(b, 4)?) << 32) | u64::from(be32(b, 8)?);
    Some(RtcpPacket::SenderReport(SenderReport {
        ssrc: be32(b, 0)?,
        ntp_timestamp: ntp,
        rtp_timestamp: be32(b, 12)?,
        packet_count: be32(b, 16)?,
        octet_count: be32(b, 20)?,
        reports: report_blocks(b.get(24..)?, count)?,
    }))
}

fn receiver_report(b: &[u8], count: u8) -> Option<RtcpPacket<'_>> {
    Some(RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: be32(b, 0)?,
        reports: report_blocks(b.get(4..)?, count)?,
    }))
}

fn sdes(mut b: &[u8], count: u8) -> Option<RtcpPacket<'_>> {
    let mut chunks = Vec::new();
    for _ in 0..count {
        let ssrc = be32(b, 0)?;
        let mut pos = 4;
        let mut items = Vec::new();
        loop {
            let kind = *b.get(pos)?;
            if kind == 0 {
                // End of list, then pad to the next 32-bit boundary (§6.5).
                pos += 1;
                pos = pos.div_ceil(4) * 4;
                break;
            }
            let len = usize::from(*b.get(pos + 1)?);
            let value = b.get(pos + 2..pos + 2 + len)?;
            items.push(SdesItem { kind, value });
            pos += 2 + len;
        }
        chunks.push(SdesChunk { ssrc, items });
        b = b.get(pos..).unwrap_or(&[]);
    }
    Some(RtcpPacket::SourceDescription(chunks))
}

fn bye(b: &[u8], count: u8) -> Option<RtcpPacket<'_>> {
    let mut ssrcs = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        ssrcs.push(be32(b, i * 4)?);
    }
    let after = b.get(usize::from(count) * 4..).unwrap_or(&[]);
    let reason = match after.split_first() {
        Some((&len, text)) => Some(text.get(..usize::from(len))?),
        None => None,
    };
    Some(RtcpPacket::Bye(Bye { ssrcs, reason }))
}

fn app(b: &[u8], subtype: u8) -> Option<RtcpPacket<'_>> {
    let n = b.get(4..8)?;
    Some(RtcpPacket::App(App {
        subtype,
        ssrc: be32(b, 0)?,
        name: [*n.first()?, *n.get(1)?, *n.get(2)?, *n.get(3)?],
        data: b.get(8..)?,
    }))
}

fn feedback(b: &[u8], fmt: u8) -> Option<Feedback<'_>> {
    Some(Feedback {
        fmt,
        sender_ssrc: be32(b, 0)?,
        media_ssrc: be32(b, 4)?,
        fci: b.get(8..)?,
    })
}
