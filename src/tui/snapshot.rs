//! The dashboard's model: an owned copy of what the screens show, built once from the
//! report DTOs (and the raw message text the engine kept) after the inputs are read.
//!
//! Render functions only see this type, so a screen never reaches into engine internals
//! and drawing never re-derives anything per frame.

use std::collections::HashMap;

use crate::engine::{Analyzer, Severity};
use crate::report::time::format_time_of_day;
use crate::report::Report;

/// Everything the dashboard draws.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// One row per dialog (Call-ID), in report order.
    pub calls: Vec<CallRow>,
    /// Findings, most severe first.
    pub findings: Vec<FindingRow>,
    /// RTP streams.
    pub streams: Vec<StreamRow>,
    /// One-line capture summary for the header.
    pub summary: String,
}

/// One dialog in the call list.
#[derive(Debug, Clone, Default)]
pub struct CallRow {
    /// 1-based number, as in the report.
    pub index: usize,
    /// Start time of day, `HH:MM:SS.mmm` UTC.
    pub start: String,
    /// Call-ID.
    pub call_id: String,
    /// Initial method.
    pub method: String,
    /// From URI.
    pub from: String,
    /// To URI.
    pub to: String,
    /// Source of the first message.
    pub src: String,
    /// Destination of the first message.
    pub dst: String,
    /// Messages, retransmissions included.
    pub msgs: u64,
    /// Dialog state (`in_call`, `completed`...).
    pub state: String,
    /// Final status of the initial transaction.
    pub status: Option<u16>,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Transport of the first message.
    pub transport: &'static str,
    /// Highest severity among this call's findings and how many there are.
    pub badge: Option<(Severity, usize)>,
    /// The messages, in capture order.
    pub messages: Vec<MsgRow>,
    /// The NAT section of the text report for this call (None: no NAT trouble seen).
    pub nat: Option<String>,
}

/// One message of a dialog's flow.
#[derive(Debug, Clone, Default)]
pub struct MsgRow {
    /// Frame number.
    pub frame: u64,
    /// Time of day, `HH:MM:SS.mmm` UTC.
    pub time: String,
    /// Seconds since the previous message of the dialog (0 for the first).
    pub delta_s: f64,
    /// Source ip:port.
    pub src: String,
    /// Destination ip:port.
    pub dst: String,
    /// "INVITE" or "200 OK".
    pub label: String,
    /// SDP summary ("audio 10.0.0.1:4000 PCMU/8000"), when the message carried SDP.
    pub sdp: Option<String>,
    /// Retransmission of an earlier message.
    pub retransmission: bool,
    /// Duplicate capture of the same packet.
    pub duplicate: bool,
    /// The message text (lossy UTF-8); empty when the engine kept no raw bytes.
    pub raw: String,
}

/// One finding.
#[derive(Debug, Clone)]
pub struct FindingRow {
    /// Severity.
    pub severity: Severity,
    /// Rule id.
    pub rule: &'static str,
    /// One line.
    pub summary: String,
    /// Position in [`Snapshot::calls`] of the call concerned.
    pub call: Option<usize>,
    /// First evidence frame.
    pub frame: Option<u64>,
}

/// One RTP stream.
#[derive(Debug, Clone, Default)]
pub struct StreamRow {
    /// 1-based number.
    pub index: usize,
    /// SSRC as 0x-hex.
    pub ssrc: String,
    /// Source ip:port.
    pub src: String,
    /// Destination ip:port.
    pub dst: String,
    /// Codec name ("-" when unknown).
    pub codec: String,
    /// Packets received.
    pub packets: u64,
    /// Loss in percent of expected.
    pub lost_pct: f64,
    /// RFC 3550 jitter, ms.
    pub jitter_ms: f64,
    /// Largest gap, ms.
    pub max_delta_ms: f64,
    /// SRTP negotiated.
    pub encrypted: bool,
    /// Position in [`Snapshot::calls`] of its call.
    pub call: Option<usize>,
}

/// Most bytes of one message's raw text kept in the snapshot: a SIP message with a huge
/// body (a multipart MESSAGE) would otherwise be copied whole for a pane that shows a
/// screenful.
pub const MAX_RAW_TEXT: usize = 64 * 1024;

impl Snapshot {
    /// Builds the snapshot from the analyzer's public model (the report DTOs, plus each
    /// message's raw bytes and SDP lines, which the report leaves out).
    pub fn build(an: &Analyzer) -> Snapshot {
        let report = Report::build(an, 0);
        let mut call_pos: HashMap<&str, usize> = HashMap::new();
        for (i, d) in report.dialogs.iter().enumerate() {
            call_pos.entry(d.call_id).or_insert(i);
        }
        let findings: Vec<FindingRow> = report
            .findings
            .iter()
            .map(|f| FindingRow {
                severity: f.severity,
                rule: f.rule,
                summary: f.summary.clone(),
                call: f.call_id.as_deref().and_then(|c| call_pos.get(c).copied()),
                frame: f.evidence.first().copied(),
            })
            .collect();
        let mut badges: HashMap<usize, (Severity, usize)> = HashMap::new();
        for f in &findings {
            if let Some(c) = f.call {
                let e = badges.entry(c).or_insert((f.severity, 0));
                e.0 = e.0.max(f.severity);
                e.1 += 1;
            }
        }
        // Report dialogs come from `an.dialogs()` in the same order: zip them to reach the
        // raw bytes and SDP records the DTOs do not carry.
        let calls = report
            .dialogs
            .iter()
            .zip(an.dialogs())
            .enumerate()
            .map(|(i, (d, dialog))| {
                let mut prev: Option<f64> = None;
                let messages = d
                    .flow
                    .entries()
                    .zip(dialog.messages.iter())
                    .map(|(e, m)| {
                        let delta_s = prev.map(|p| (e.ts - p).max(0.0)).unwrap_or(0.0);
                        prev = Some(e.ts);
                        let sdp = m
                            .sdp
                            .and_then(|ix| dialog.sdp.get(ix as usize))
                            .map(|s| sdp_summary(an, s));
                        let raw = m
                            .raw
                            .as_deref()
                            .map(|r| {
                                let cut = r.get(..MAX_RAW_TEXT).unwrap_or(r);
                                String::from_utf8_lossy(cut).into_owned()
                            })
                            .unwrap_or_default();
                        MsgRow {
                            frame: e.frame,
                            time: format_time_of_day(e.ts),
                            delta_s,
                            src: e.src.to_string(),
                            dst: e.dst.to_string(),
                            label: e.label.to_string(),
                            sdp,
                            retransmission: e.retransmission,
                            duplicate: e.duplicate,
                            raw,
                        }
                    })
                    .collect();
                CallRow {
                    index: d.index,
                    start: format_time_of_day(d.start),
                    call_id: d.call_id.to_string(),
                    method: d.method.to_string(),
                    from: d.from.to_string(),
                    to: d.to.to_string(),
                    src: d.src.to_string(),
                    dst: d.dst.to_string(),
                    msgs: d.messages,
                    state: d.state.to_string(),
                    status: d.final_status,
                    duration_s: d.duration_s,
                    transport: d.transport,
                    badge: badges.get(&i).copied(),
                    messages,
                    nat: d
                        .nat
                        .as_ref()
                        .map(|n| crate::report::text::nat_section(d, n)),
                }
            })
            .collect();
        let streams = report
            .streams
            .iter()
            .map(|s| StreamRow {
                index: s.index,
                ssrc: s.ssrc_hex.clone(),
                src: s.src.to_string(),
                dst: s.dst.to_string(),
                codec: s.codec.unwrap_or("-").to_string(),
                packets: s.packets,
                lost_pct: s.lost_pct,
                jitter_ms: s.jitter_ms,
                max_delta_ms: s.max_delta_ms,
                encrypted: s.encrypted,
                call: s.call_id.and_then(|c| call_pos.get(c).copied()),
            })
            .collect();
        let sm = &report.summary;
        let summary = format!(
            "{} packets, {} SIP messages, {} dialogs ({} calls), {} RTP streams, {} findings",
            sm.packets,
            sm.sip_messages,
            sm.dialogs,
            sm.calls,
            sm.rtp_streams,
            report.findings.len()
        );
        Snapshot {
            calls,
            findings,
            streams,
            summary,
        }
    }
}

/// "audio 10.0.0.1:4000 PCMU/8000; video -" for one SDP body.
fn sdp_summary(an: &Analyzer, s: &crate::engine::SdpRecord) -> String {
    let parts: Vec<String> = s
        .media
        .iter()
        .map(|m| {
            let addr = m
                .addr
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".to_string());
            let codec = m
                .formats
                .first()
                .map(|(pt, name, rate)| {
                    let name = an.name(*name);
                    if name.is_empty() {
                        pt.to_string()
                    } else {
                        format!("{name}/{rate}")
                    }
                })
                .unwrap_or_default();
            format!("{} {addr} {codec}", an.name(m.media))
                .trim_end()
                .to_string()
        })
        .collect();
    parts.join("; ")
}
