//! The dashboard's model: an owned copy of what the screens show, built once from the
//! report DTOs (and the raw message text the engine kept) after the inputs are read.
//!
//! Render functions only see this type, so a screen never reaches into engine internals
//! and drawing never re-derives anything per frame.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::engine::{Analyzer, Dialog, Severity};
use crate::report::time::format_time_of_day;
use crate::report::{DialogDto, Report, SeverityCounts};

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
    /// Names for addresses in the ladder's columns (`ip` or `ip:port` → name), as
    /// sngrep's aliases.
    pub aliases: Vec<(String, String)>,
    /// The stats view: counters by section (methods, responses, states, decoding, limits).
    pub stats: Vec<StatSection>,
}

/// One titled block of the stats view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatSection {
    /// Title ("Requests by method").
    pub title: String,
    /// (label, value) rows.
    pub rows: Vec<(String, String)>,
}

/// One dialog in the call list.
#[derive(Debug, Clone, Default)]
pub struct CallRow {
    /// 1-based number, as in the report.
    pub index: usize,
    /// The engine's [`crate::engine::Dialog::id`]: the key of live updates (rows are
    /// kept in its order, which is the report's).
    pub id: u64,
    /// Start time of day, `HH:MM:SS.mmm` UTC.
    pub start: String,
    /// Start time, seconds since the epoch (sort key).
    pub start_ts: f64,
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
    /// The TLS session a decrypted call came over: version, cipher suite, server name.
    pub tls: Option<String>,
    /// Highest severity among this call's findings and how many there are.
    pub badge: Option<(Severity, usize)>,
    /// Positions in [`Snapshot::findings`] of this call's findings, most severe first.
    pub findings: Vec<usize>,
    /// User-Agent and Server values seen.
    pub user_agents: Vec<String>,
    /// Positions in [`Snapshot::streams`] of this call's RTP streams.
    pub streams: Vec<usize>,
    /// DTMF digits keyed in (masked unless `--show-secrets`), in the order they started.
    pub dtmf: Vec<DtmfRow>,
    /// Estimated MOS of the call, its worse direction ([`crate::report::DialogDto::mos`]).
    pub mos: Option<f64>,
    /// The messages, in capture order.
    pub messages: Vec<MsgRow>,
    /// The NAT section of the text report for this call (None: no NAT trouble seen).
    pub nat: Option<String>,
}

/// One message of a dialog's flow. Kept small: a live dashboard holds one per message
/// of every dialog the engine keeps, so addresses and labels are shared ([`Names`]) and
/// the time of day is formatted when drawn.
#[derive(Debug, Clone, Default)]
pub struct MsgRow {
    /// Frame number.
    pub frame: u64,
    /// Seconds since the epoch (orders the messages of several calls in one ladder).
    pub ts: f64,
    /// Seconds since the previous message of the dialog (0 for the first).
    pub delta_s: f64,
    /// Source ip:port.
    pub src: SharedText,
    /// Destination ip:port.
    pub dst: SharedText,
    /// "INVITE" or "200 OK".
    pub label: SharedText,
    /// SDP summary ("audio 10.0.0.1:4000 PCMU/8000"), when the message carried SDP.
    pub sdp: Option<String>,
    /// Retransmission of an earlier message.
    pub retransmission: bool,
    /// Duplicate capture of the same packet.
    pub duplicate: bool,
    /// The message bytes: shared with the engine, or read again from the capture file the
    /// first time a view asks (empty when the engine kept no text).
    pub raw: crate::engine::LazyRaw,
}

impl MsgRow {
    /// Time of day, `HH:MM:SS.mmm` UTC.
    pub fn time(&self) -> String {
        format_time_of_day(self.ts)
    }

    /// The message as text (lossy UTF-8, at most [`MAX_RAW_TEXT`] bytes), "" when the
    /// engine kept none. Converted when drawn: only the messages on screen pay for it.
    pub fn text(&self) -> Cow<'_, str> {
        match self.raw.bytes() {
            Some(r) => String::from_utf8_lossy(r.get(..MAX_RAW_TEXT).unwrap_or(r)),
            None => Cow::Borrowed(""),
        }
    }

    /// Values of header `name` in this message (case-insensitive, compact forms folded as
    /// RFC 3261 §7.3.3 allows), pushed to `out`. Values that are not UTF-8 are skipped.
    ///
    /// A line scan of the header section, not a full parse: a filter on a header reads
    /// every message of every call (700,000 messages for 100,000 calls). A folded value
    /// (RFC 3261 §7.3.1) gives its first line only.
    pub fn header_values<'s>(&'s self, name: &str, out: &mut Vec<&'s str>) {
        use crate::sip::HeaderName;
        let Some(raw) = self.raw.bytes() else {
            return;
        };
        let kind = HeaderName::from_bytes(name.as_bytes());
        let known = !matches!(kind, HeaderName::Other);
        // The start line is not a header.
        for line in raw.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            let Some(colon) = memchr::memchr(b':', line) else {
                continue;
            };
            let (n, v) = line.split_at(colon);
            let n = n.trim_ascii_end();
            let hit = if known {
                HeaderName::from_bytes(n) == kind
            } else {
                n.eq_ignore_ascii_case(name.as_bytes())
            };
            if hit {
                if let Ok(v) = std::str::from_utf8(v.get(1..).unwrap_or_default()) {
                    out.push(v.trim());
                }
            }
        }
    }
}

impl CallRow {
    /// Values of header `name` across the call's messages, in order, duplicates removed.
    pub fn header_values<'s>(&'s self, name: &str, out: &mut Vec<&'s str>) {
        let start = out.len();
        for m in &self.messages {
            m.header_values(name, out);
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut i = start;
        while i < out.len() {
            if seen.contains(&out[i]) {
                out.remove(i);
            } else {
                seen.push(out[i]);
                i += 1;
            }
        }
    }
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

/// One DTMF digit of a call (a row of its ladder).
#[derive(Debug, Clone, Default)]
pub struct DtmfRow {
    /// Frame of its first packet or of the INFO/NOTIFY request (places it in the ladder).
    pub frame: u64,
    /// Time of day, `HH:MM:SS.mmm` UTC.
    pub start: String,
    /// The digit, or `•` unless `--show-secrets`.
    pub digit: &'static str,
    /// Duration in milliseconds, when known.
    pub duration_ms: Option<u32>,
    /// `rfc4733`, `info` or `kpml`.
    pub via: &'static str,
    /// Sender ip:port.
    pub src: String,
    /// Receiver ip:port.
    pub dst: String,
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
    /// RFC 3550 jitter, ms (the running estimate after the last packet).
    pub jitter_ms: f64,
    /// Wireshark's Mean Jitter, ms ([`crate::report::StreamDto::jitter_mean_ms`]).
    pub jitter_mean_ms: f64,
    /// Wireshark's Max Jitter, ms ([`crate::report::StreamDto::jitter_max_ms`]).
    pub jitter_max_ms: f64,
    /// Largest gap, ms.
    pub max_delta_ms: f64,
    /// SRTP negotiated.
    pub encrypted: bool,
    /// Position in [`Snapshot::calls`] of its call.
    pub call: Option<usize>,
    /// Lost packets.
    pub lost: u64,
    /// Frame of the first packet (places the stream in its call's ladder).
    pub first_frame: u64,
    /// Time of day of the first packet, `HH:MM:SS.mmm` UTC.
    pub start: String,
    /// Seconds from the first to the last packet.
    pub duration_s: f64,
    /// Estimated MOS ([`crate::report::StreamDto::mos`]; None: not speech).
    pub mos: Option<f64>,
    /// MOS of each 5-second interval, in order ([`crate::report::StreamDto::quality`]).
    pub quality: Vec<f64>,
    /// What the endpoints reported about it in RTCP, one line
    /// ([`crate::report::text::endpoint_summary`]; None: no RTCP named it).
    pub rtcp: Option<String>,
}

/// Most bytes of one message's raw text kept in the snapshot: a SIP message with a huge
/// body (a multipart MESSAGE) would otherwise be copied whole for a pane that shows a
/// screenful.
pub const MAX_RAW_TEXT: usize = 64 * 1024;

impl Snapshot {
    /// The alias of an address ("ip:port" first, then its ip), if one was given.
    pub fn alias(&self, addr: &str) -> Option<&str> {
        let ip = addr.rsplit_once(':').map_or(addr, |(ip, _)| ip);
        self.aliases
            .iter()
            .find(|(a, _)| a == addr)
            .or_else(|| self.aliases.iter().find(|(a, _)| a == ip))
            .map(|(_, name)| name.as_str())
    }

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
        let mut by_call: HashMap<usize, Vec<usize>> = HashMap::new();
        for (fi, f) in findings.iter().enumerate() {
            if let Some(c) = f.call {
                let e = badges.entry(c).or_insert((f.severity, 0));
                e.0 = e.0.max(f.severity);
                e.1 += 1;
                by_call.entry(c).or_default().push(fi);
            }
        }
        let mut names = Names::default();
        // Report dialogs come from `an.dialogs()` in the same order: zip them to reach the
        // raw bytes and SDP records the DTOs do not carry.
        let mut calls: Vec<CallRow> = report
            .dialogs
            .iter()
            .zip(an.dialogs())
            .enumerate()
            .map(|(i, (d, dialog))| {
                let mut row = call_row(an, d, dialog, &mut names);
                row.badge = badges.get(&i).copied();
                row.findings = by_call.remove(&i).unwrap_or_default();
                row
            })
            .collect();
        let streams = report
            .streams
            .iter()
            .map(|s| stream_row(s, s.call_id.and_then(|c| call_pos.get(c).copied())))
            .collect::<Vec<_>>();
        for (si, s) in streams.iter().enumerate() {
            if let Some(c) = s.call.and_then(|c| calls.get_mut(c)) {
                c.streams.push(si);
            }
        }
        let sm = &report.summary;
        let mut states: BTreeMap<&str, u64> = BTreeMap::new();
        for d in &report.dialogs {
            *states.entry(d.state).or_insert(0) += 1;
        }
        let totals = Totals {
            dialogs: sm.dialogs,
            calls: sm.calls,
            rtp_streams: sm.rtp_streams,
            findings_by_severity: sm.findings_by_severity,
            states,
        };
        let summary = summary_line(an, &totals);
        let stats = stats_sections(an, &totals);
        Snapshot {
            calls,
            findings,
            streams,
            summary,
            aliases: Vec::new(),
            stats,
        }
    }
}

/// One call's row from its dialog and report DTO, without what needs the whole capture's
/// lists (badge, findings, streams). The live feed builds the changed dialogs' rows with
/// it, [`Snapshot::build`] every row.
pub(crate) fn call_row(
    an: &Analyzer,
    d: &DialogDto<'_>,
    dialog: &Dialog,
    names: &mut Names,
) -> CallRow {
    let mut prev: Option<f64> = None;
    let messages = d
        .flow
        .entries()
        .zip(dialog.messages.iter())
        .map(|(e, m)| {
            let delta_s = prev.map(|p| (e.ts - p).max(0.0)).unwrap_or(0.0);
            prev = Some(e.ts);
            let sdp = m
                .sdp()
                .and_then(|ix| dialog.sdp.get(ix as usize))
                .map(|s| sdp_summary(an, s));
            MsgRow {
                frame: e.frame,
                ts: e.ts,
                delta_s,
                src: names.addr(e.src),
                dst: names.addr(e.dst),
                label: names.label(e.label),
                sdp,
                retransmission: e.retransmission,
                duplicate: e.duplicate,
                raw: crate::engine::LazyRaw::new(m.raw.clone(), an.raw_files()),
            }
        })
        .collect();
    CallRow {
        index: d.index,
        id: dialog.id,
        start: format_time_of_day(d.start),
        start_ts: d.start,
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
        tls: d.tls.as_ref().map(|t| {
            [t.version.as_deref(), t.cipher.as_deref(), t.sni.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        }),
        badge: None,
        findings: Vec::new(),
        user_agents: d.user_agents.iter().map(|u| u.to_string()).collect(),
        streams: Vec::new(),
        dtmf: d
            .dtmf
            .iter()
            .map(|e| DtmfRow {
                frame: e.frame,
                start: format_time_of_day(e.ts),
                digit: e.digit,
                duration_ms: e.duration_ms,
                via: e.via,
                src: e.src.to_string(),
                dst: e.dst.to_string(),
            })
            .collect(),
        mos: d.mos,
        messages,
        nat: d
            .nat
            .as_ref()
            .map(|n| crate::report::text::nat_section(d, n)),
    }
}

/// Shared texts of message rows: the same few addresses and labels recur in every call,
/// so each is allocated once (bounded: past [`Names::MAX`] entries it starts over, which
/// only costs sharing).
#[derive(Debug, Default)]
pub struct Names {
    addrs: HashMap<std::net::SocketAddr, Arc<str>>,
    labels: HashMap<Box<str>, Arc<str>>,
}

impl Names {
    /// Most addresses (and labels) remembered.
    pub const MAX: usize = 4096;

    /// `addr` as `ip:port` text.
    pub fn addr(&mut self, addr: std::net::SocketAddr) -> SharedText {
        if self.addrs.len() >= Self::MAX {
            self.addrs.clear();
        }
        SharedText(Arc::clone(
            self.addrs
                .entry(addr)
                .or_insert_with(|| Arc::from(addr.to_string())),
        ))
    }

    /// A start-line label ("INVITE", "200 OK").
    pub fn label(&mut self, label: &str) -> SharedText {
        if let Some(l) = self.labels.get(label) {
            return SharedText(Arc::clone(l));
        }
        if self.labels.len() >= Self::MAX {
            self.labels.clear();
        }
        let l: Arc<str> = Arc::from(label);
        self.labels.insert(Box::from(label), Arc::clone(&l));
        SharedText(l)
    }
}

/// A text shared between rows (an address, a label): reads as a `&str`, compares with
/// one, and costs a pointer per row instead of a copy.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedText(Arc<str>);

impl SharedText {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for SharedText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SharedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for SharedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for SharedText {
    fn from(s: &str) -> Self {
        SharedText(Arc::from(s))
    }
}

impl From<String> for SharedText {
    fn from(s: String) -> Self {
        SharedText(Arc::from(s))
    }
}

impl PartialEq<str> for SharedText {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedText {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// One stream's row; `call` is its call's position in [`Snapshot::calls`].
pub(crate) fn stream_row(s: &crate::report::StreamDto<'_>, call: Option<usize>) -> StreamRow {
    StreamRow {
        index: s.index,
        ssrc: s.ssrc_hex.clone(),
        src: s.src.to_string(),
        dst: s.dst.to_string(),
        codec: s.codec.unwrap_or("-").to_string(),
        packets: s.packets,
        lost_pct: s.lost_pct,
        jitter_ms: s.jitter_ms,
        jitter_mean_ms: s.jitter_mean_ms,
        jitter_max_ms: s.jitter_max_ms,
        max_delta_ms: s.max_delta_ms,
        encrypted: s.encrypted,
        call,
        lost: s.lost,
        first_frame: s.first_frame,
        start: format_time_of_day(s.start),
        duration_s: (s.end - s.start).max(0.0),
        mos: s.mos,
        quality: s.quality.iter().map(|q| q.mos).collect(),
        rtcp: s.rtcp.as_ref().map(crate::report::text::endpoint_summary),
    }
}

/// What the stats view needs beyond the engine's counters: totals over the dialogs,
/// streams and findings shown.
pub(crate) struct Totals<'a> {
    pub(crate) dialogs: u64,
    pub(crate) calls: u64,
    pub(crate) rtp_streams: u64,
    pub(crate) findings_by_severity: SeverityCounts,
    /// Dialogs per state name.
    pub(crate) states: BTreeMap<&'a str, u64>,
}

/// The one-line capture summary of the header.
pub(crate) fn summary_line(an: &Analyzer, t: &Totals<'_>) -> String {
    let st = an.stats();
    format!(
        "{} packets, {} SIP messages, {} dialogs ({} calls), {} RTP streams, {} findings",
        st.packets,
        st.sip_messages,
        t.dialogs,
        t.calls,
        t.rtp_streams,
        t.findings_by_severity.total()
    )
}

/// The stats view's sections, from the engine's counters (as the report shows them) and
/// the totals.
pub(crate) fn stats_sections(an: &Analyzer, t: &Totals<'_>) -> Vec<StatSection> {
    let e = an.stats();
    let n = an.net_stats();
    let kv = |rows: Vec<(&str, u64)>| -> Vec<(String, String)> {
        rows.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let mut sections = vec![
        StatSection {
            title: "Capture".into(),
            rows: kv(vec![
                ("packets", e.packets),
                ("bytes", e.bytes),
                ("SIP messages", e.sip_messages),
                ("requests", e.sip_requests),
                ("responses", e.sip_responses),
                ("retransmissions", e.sip_retransmissions),
                ("duplicates", e.sip_duplicates),
                ("dialogs", t.dialogs),
                ("calls", t.calls),
                ("RTP streams", t.rtp_streams),
                ("RTP packets", e.rtp_packets),
                ("RTCP packets", e.rtcp_packets),
            ]),
        },
        StatSection {
            title: "Requests by method".into(),
            rows: e
                .methods
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        },
        StatSection {
            title: "Responses by code".into(),
            rows: e
                .status_codes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        StatSection {
            title: "Dialogs by state".into(),
            rows: t
                .states
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        StatSection {
            title: "Decode errors".into(),
            rows: kv(vec![
                ("total", n.decode_errors() + e.sip_malformed),
                ("malformed SIP", e.sip_malformed),
                ("SIP without Call-ID", e.sip_without_call_id),
                ("bare-LF SIP", e.sip_lf_only),
                ("truncated frames", n.truncated),
                ("non-IP frames", n.non_ip),
                // Not in the total, which is the report's `decode_errors` (SIP and frames).
                ("malformed RTCP", e.rtcp_malformed.values().sum()),
            ]),
        },
        StatSection {
            title: "Limits (evictions)".into(),
            rows: kv(vec![
                ("dialogs", e.dialog_evictions),
                ("RTP streams", e.stream_evictions),
                ("media bindings", e.binding_evictions),
                ("IP fragments", n.fragment_evictions),
                (
                    "TCP streams",
                    n.tcp_stream_evictions + n.tcp_memory_evictions,
                ),
                ("raw bytes not kept", e.raw_bytes_dropped),
            ]),
        },
    ];
    let w = &n.websocket;
    if w.streams > 0 {
        // Only for captures with WebSocket (RFC 7118): the others keep their sections.
        sections.push(StatSection {
            title: "WebSocket".into(),
            rows: kv(vec![
                ("streams", w.streams),
                ("upgrades", w.handshakes),
                ("frames", w.frames),
                ("control frames", w.control_frames),
                ("messages", w.messages),
                ("fragmented messages", w.fragmented_messages),
                ("SIP messages", w.sip_messages),
                ("bad frames", w.bad_frames),
                ("desyncs", w.desyncs),
                ("resyncs", w.resyncs),
            ]),
        });
    }
    let td = &n.tls_decrypt;
    if !td.is_empty() {
        // Only when TLS carried application data or keys were given.
        sections.push(StatSection {
            title: "TLS decryption".into(),
            rows: kv(vec![
                ("sessions decrypted", td.sessions_decrypted),
                ("sessions without keys", td.sessions_without_keys),
                ("sessions failed (keys)", td.sessions_failed),
                ("sessions unsupported", td.sessions_unsupported),
                ("records decrypted", td.records_decrypted),
                ("records failed", td.records_failed),
                ("SIP bytes decrypted", td.plaintext_bytes),
                ("key log sessions", td.keylog_sessions),
                ("RSA keys", td.rsa_keys),
            ]),
        });
    }
    for c in an.capture_stats() {
        sections.push(StatSection {
            title: format!("Capture {}", c.interface),
            rows: kv(vec![
                ("frames analysed", c.frames),
                ("received (libpcap)", c.received),
                ("dropped by the kernel", c.dropped_by_kernel),
                ("dropped by the interface", c.dropped_by_interface),
                ("dropped by siplens", c.dropped_by_siplens),
            ]),
        });
    }
    sections.push(StatSection {
        title: "Findings by severity".into(),
        rows: t
            .findings_by_severity
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_string()))
            .collect(),
    });
    sections
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
            // The security of the offer at a glance: SRTP profile and SDES keys.
            let mut sec = String::new();
            if m.encrypted {
                sec.push_str(&format!(" {}", an.name(m.proto)));
            }
            if m.crypto > 0 {
                sec.push_str(&format!(" crypto×{}", m.crypto));
            }
            if an.name(m.direction) != "sendrecv" && !an.name(m.direction).is_empty() {
                sec.push_str(&format!(" {}", an.name(m.direction)));
            }
            format!("{} {addr} {codec}{sec}", an.name(m.media))
                .trim_end()
                .to_string()
        })
        .collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections_of(sample: &str) -> Vec<StatSection> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(sample);
        let mut src = crate::capture::open_path(&path).expect("sample opens");
        let mut an = crate::rules::analyzer(crate::engine::Limits::default());
        an.run_source(&mut src, &mut |_, _| {});
        let t = Totals {
            dialogs: 0,
            calls: 0,
            rtp_streams: 0,
            findings_by_severity: SeverityCounts::default(),
            states: BTreeMap::new(),
        };
        stats_sections(&an, &t)
    }

    #[test]
    fn websocket_section_only_for_websocket_captures() {
        let ws = sections_of("samples/ws-call.pcap");
        let w = ws.iter().find(|s| s.title == "WebSocket").expect("section");
        let row = |k: &str| w.rows.iter().find(|r| r.0 == k).map(|r| r.1.as_str());
        assert_eq!(row("fragmented messages"), Some("1"));
        assert_eq!(row("SIP messages"), Some("9"));
        let tcp = sections_of("samples/tcp-call.pcap");
        assert!(tcp.iter().all(|s| s.title != "WebSocket"));
    }

    #[test]
    fn header_values_scan_the_header_section_only() {
        let raw = "INVITE sip:b@x SIP/2.0\r\ni: abc@host\r\nX-Account-ID :  42 \r\n\
                   x-account-id: 43\r\nContent-Type: application/sdp\r\n\r\n\
                   X-Account-ID: body\r\n";
        let m = MsgRow {
            raw: crate::engine::LazyRaw::copied(std::sync::Arc::from(raw.as_bytes())),
            ..MsgRow::default()
        };
        let mut v = Vec::new();
        m.header_values("X-ACCOUNT-ID", &mut v);
        assert_eq!(v, vec!["42", "43"]);
        v.clear();
        m.header_values("Call-ID", &mut v);
        assert_eq!(v, vec!["abc@host"], "compact form i");
        v.clear();
        m.header_values("INVITE sip", &mut v);
        assert!(v.is_empty(), "the start line is not a header");
        let none = MsgRow::default();
        none.header_values("Call-ID", &mut v);
        assert!(v.is_empty());
    }
}
