//! Reports: serde DTOs built from the engine's public model, and renderers (text, JSON).
//!
//! Renderers only see these DTOs, never engine internals, so the JSON contract
//! (`schema_version`) changes only when these types do.

pub mod csv;
pub mod events;
pub mod json;
pub mod text;
pub use crate::model::time;

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use std::io::{self, Write};
use std::net::SocketAddr;

use serde::Serializer;

use crate::engine::{
    Analyzer, Dialog, EngineStats, Finding, InputInfo, MediaLine, RtpStream, Severity, Sym,
};
use crate::net::NetStats;

pub use crate::capture::CaptureStats;
pub use crate::hep::HepListenerStats;

/// Version of the JSON report contract. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report. It borrows the engine's strings, so building it costs little memory
/// even for captures with hundreds of thousands of messages. Serialised as if derived
/// (field order and omissions below), with the dialogs of [`Report::build_streaming`]
/// rendered one at a time.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// Contract version.
    pub schema_version: u32,
    /// Producer.
    pub tool: ToolInfo,
    /// Inputs in the order read.
    pub inputs: Vec<InputInfo>,
    /// Live capture counters per interface (omitted for files, so that file reports keep
    /// their shape).
    pub capture: Vec<CaptureStats>,
    /// HEP listeners (`--hep-listen`): what each received, skipped and lost (omitted for
    /// files). [`Report::build`] sees only the analyzer: whoever ran the listeners fills it.
    pub hep_listeners: Vec<HepListenerStats>,
    /// Totals.
    pub summary: Summary,
    /// One entry per Call-ID.
    pub dialogs: Vec<DialogDto<'a>>,
    /// RTP streams.
    pub streams: Vec<StreamDto<'a>>,
    /// Findings, most severe first.
    pub findings: Vec<FindingDto>,
    /// What a filter (`--nat`, `-Y`) kept, out of how much; absent when nothing was
    /// filtered, so unfiltered reports keep their shape.
    pub filter: Option<FilterInfo>,
    /// Set by [`Report::build_streaming`]: `dialogs` and `findings` are left empty, and
    /// each dialog's and finding's DTO is built while the JSON is written, then dropped.
    streamed: Option<Streamed<'a>>,
}

/// What a streaming report renders on the fly: the engine's dialogs, and its findings
/// (sorted, as [`Analyzer::findings`] gives them).
#[derive(Clone)]
struct Streamed<'a>(&'a Analyzer, Vec<Finding>);

impl std::fmt::Debug for Streamed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streamed")
    }
}

impl Serialize for Report<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // What `#[derive(Serialize)]` wrote, field for field (the JSON contract).
        let mut st = s.serialize_struct("Report", 10)?;
        st.serialize_field("schema_version", &self.schema_version)?;
        st.serialize_field("tool", &self.tool)?;
        st.serialize_field("inputs", &self.inputs)?;
        if self.capture.is_empty() {
            st.skip_field("capture")?;
        } else {
            st.serialize_field("capture", &self.capture)?;
        }
        if self.hep_listeners.is_empty() {
            st.skip_field("hep_listeners")?;
        } else {
            st.serialize_field("hep_listeners", &self.hep_listeners)?;
        }
        st.serialize_field("summary", &self.summary)?;
        match &self.streamed {
            Some(Streamed(an, findings)) => {
                st.serialize_field("dialogs", &StreamedDialogs { an, findings })?;
                st.serialize_field("streams", &self.streams)?;
                st.serialize_field("findings", &StreamedFindings(findings))?;
            }
            None => {
                st.serialize_field("dialogs", &self.dialogs)?;
                st.serialize_field("streams", &self.streams)?;
                st.serialize_field("findings", &self.findings)?;
            }
        }
        match &self.filter {
            Some(f) => st.serialize_field("filter", f)?,
            None => st.skip_field("filter")?,
        }
        st.end()
    }
}

/// Every dialog of an engine as [`Report::build`] would list them, each DTO built while
/// it is written: a capture of 100,000 calls never holds 100,000 DTOs (with their media
/// lists, finding ids and NAT views) at once.
struct StreamedDialogs<'a, 'r> {
    an: &'a Analyzer,
    findings: &'r [Finding],
}

impl Serialize for StreamedDialogs<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let an = self.an;
        let ids = DialogIds::new(
            an,
            self.findings
                .iter()
                .enumerate()
                .map(|(i, f)| (i + 1, f.call_id.as_deref())),
        );
        let nat_index = an.nat_flow_index();
        s.collect_seq(
            an.dialogs()
                .enumerate()
                .map(|(i, d)| ids.fill(dialog_dto(an, d, i + 1, &nat_index), d)),
        )
    }
}

/// The findings of a streaming report, each written as its [`FindingDto`] would be
/// (a big capture has one per call: their DTOs and address texts are not all kept).
struct StreamedFindings<'r>(&'r [Finding]);

impl Serialize for StreamedFindings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The sequence of findings; the compact writer takes the whole array's text at
        // once (one lent buffer, no generic call per field).
        s.serialize_newtype_struct(json::DIRECT, &FindingSeq(self.0))
    }
}

/// A [`StreamedFindings`] inside its [`json::DIRECT`] newtype.
struct FindingSeq<'r>(&'r [Finding]);

impl Serialize for FindingSeq<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let direct = json::write_direct(|out| {
            out.push(b'[');
            for (i, f) in self.0.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                FindingRef { id: i + 1, f }.write_compact(out)?;
            }
            out.push(b']');
            Ok(())
        });
        if let Some(r) = direct {
            r.map_err(S::Error::custom)?;
            return s.serialize_unit_struct(json::DIRECT);
        }
        s.collect_seq(
            self.0
                .iter()
                .enumerate()
                .map(|(i, f)| FindingRef { id: i + 1, f }),
        )
    }
}

/// A finding at 1-based `id`, serialised field for field as [`FindingDto`].
struct FindingRef<'r> {
    id: usize,
    f: &'r Finding,
}

impl Serialize for FindingRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let f = self.f;
        let mut st = s.serialize_struct("FindingDto", 10)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("rule", f.rule.as_str())?;
        st.serialize_field("severity", &f.severity)?;
        st.serialize_field("ts", &f.ts.as_secs_f64())?;
        st.serialize_field("call_id", &f.call_id)?;
        // `Display` text, as `finding_dto` writes it (serde's own form for addresses).
        st.serialize_field("src", &f.src.map(|a| AddrText(a.get())))?;
        st.serialize_field("dst", &f.dst.map(|a| AddrText(a.get())))?;
        st.serialize_field("summary", &f.summary)?;
        st.serialize_field("evidence", &f.evidence)?;
        st.serialize_field("advice", &f.advice)?;
        st.end()
    }
}

impl FindingRef<'_> {
    /// Appends the finding as compact JSON: the bytes its `Serialize` (the fields of
    /// [`FindingDto`]) gives, without a generic call per field.
    fn write_compact(&self, out: &mut Vec<u8>) -> Result<(), json::Error> {
        let f = self.f;
        out.extend_from_slice(b"{\"id\":");
        json::write_u64(out, self.id as u64);
        out.extend_from_slice(b",\"rule\":");
        json::write_str(out, f.rule.as_str());
        out.extend_from_slice(b",\"severity\":");
        json::write_str(out, f.severity.as_str());
        out.extend_from_slice(b",\"ts\":");
        json::write_f64(out, f.ts.as_secs_f64())?;
        out.extend_from_slice(b",\"call_id\":");
        match &f.call_id {
            Some(c) => json::write_str(out, c),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"src\":");
        write_opt_addr(out, &f.src.map(|a| a.get()))?;
        out.extend_from_slice(b",\"dst\":");
        write_opt_addr(out, &f.dst.map(|a| a.get()))?;
        out.extend_from_slice(b",\"summary\":");
        json::write_str(out, &f.summary);
        out.extend_from_slice(b",\"evidence\":[");
        for (i, &n) in f.evidence.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_u64(out, n);
        }
        out.extend_from_slice(b"],\"advice\":");
        json::write_str(out, &f.advice);
        out.push(b'}');
        Ok(())
    }
}

/// An address serialised as its `Display` text through [`ser_addr`]: IPv4 written digit by
/// digit, where `collect_str` went through `SocketAddrV4`'s formatter (~1,600 instructions,
/// two per finding).
struct AddrText(SocketAddr);

impl Serialize for AddrText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_addr(&self.0, s)
    }
}

/// Finding and stream ids per dialog, indexed once: a capture may hold 100k dialogs and
/// as many streams. Findings by Call-ID are one sorted list (24 bytes a finding; a map
/// of lists cost four times that with a finding per call); streams by dialog id a map
/// (Fx: the keys are the capture's own dialog ids).
struct DialogIds<'r> {
    findings_of: Vec<(&'r str, usize)>,
    streams_of: rustc_hash::FxHashMap<u64, Vec<usize>>,
}

impl<'r> DialogIds<'r> {
    /// From the findings as (id, Call-ID) and the engine's streams.
    fn new(an: &Analyzer, findings: impl Iterator<Item = (usize, Option<&'r str>)>) -> Self {
        let mut findings_of: Vec<(&str, usize)> = findings
            .filter_map(|(id, call_id)| Some((call_id?, id)))
            .collect();
        // Stable: a call's ids stay in ascending order.
        findings_of.sort_by(|a, b| a.0.cmp(b.0));
        let mut streams_of: rustc_hash::FxHashMap<u64, Vec<usize>> =
            rustc_hash::FxHashMap::default();
        for (i, s) in an.streams().iter().enumerate() {
            if let Some(d) = s.dialog {
                streams_of.entry(d).or_default().push(i + 1);
            }
        }
        DialogIds {
            findings_of,
            streams_of,
        }
    }

    /// `dto` with the finding and stream ids of dialog `d` (copied: a Call-ID may name
    /// several dialogs, and a streaming report may be written more than once).
    fn fill<'a>(&self, mut dto: DialogDto<'a>, d: &Dialog) -> DialogDto<'a> {
        let (findings, streams) = self.of(d);
        dto.finding_ids = findings.iter().map(|(_, id)| *id).collect();
        dto.stream_ids = streams.to_vec();
        dto
    }

    /// The (Call-ID, finding id) entries and the stream ids of dialog `d`, borrowed.
    fn of(&self, d: &Dialog) -> RowIds<'_, 'r> {
        let c = d.call_id.as_str();
        let from = self.findings_of.partition_point(|(k, _)| *k < c);
        let rest = self.findings_of.get(from..).unwrap_or_default();
        let n = rest.iter().take_while(|(k, _)| *k == c).count();
        let streams = self.streams_of.get(&d.id).map_or(&[][..], Vec::as_slice);
        (rest.get(..n).unwrap_or_default(), streams)
    }
}

/// A dialog's (Call-ID, finding id) entries and stream ids, borrowed from [`DialogIds`].
type RowIds<'i, 'r> = (&'i [(&'r str, usize)], &'i [usize]);

/// The filter a report was narrowed by and what it left out of what.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FilterInfo {
    /// The display filter expression (`-Y`), as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Whether `--nat` kept only the calls with NAT trouble.
    pub nat: bool,
    /// Dialogs shown.
    pub dialogs_shown: u64,
    /// Dialogs in the capture.
    pub dialogs_total: u64,
    /// Findings shown.
    pub findings_shown: u64,
    /// Findings in the capture.
    pub findings_total: u64,
}

/// Finding counts per severity. Serialised as an object whose keys run from `critical` down
/// to `info`, the order people read severities in (a map sorted by name would put `medium`
/// before `high`).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct SeverityCounts {
    /// Critical findings.
    pub critical: u64,
    /// High findings.
    pub high: u64,
    /// Medium findings.
    pub medium: u64,
    /// Low findings.
    pub low: u64,
    /// Info findings.
    pub info: u64,
}

impl SeverityCounts {
    /// Counts the severities of `findings`.
    pub fn of<'f>(findings: impl IntoIterator<Item = &'f FindingDto>) -> SeverityCounts {
        let mut c = SeverityCounts::default();
        for f in findings {
            *c.slot(f.severity) += 1;
        }
        c
    }

    /// Counts one finding of severity `s`.
    pub fn add(&mut self, s: Severity) {
        *self.slot(s) += 1;
    }

    fn slot(&mut self, s: Severity) -> &mut u64 {
        match s {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }

    /// The count of one severity.
    pub fn get(&self, s: Severity) -> u64 {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    /// Every severity with its count, most severe first.
    pub fn iter(&self) -> impl Iterator<Item = (Severity, u64)> + '_ {
        Severity::ALL.iter().rev().map(|&s| (s, self.get(s)))
    }

    /// All findings counted.
    pub fn total(&self) -> u64 {
        self.iter().map(|(_, n)| n).sum()
    }
}

/// Name and version of the producer.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// "siplens".
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// Capture-wide totals.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Frames read.
    pub packets: u64,
    /// Captured bytes.
    pub bytes: u64,
    /// SIP messages parsed.
    pub sip_messages: u64,
    /// Dialogs (distinct Call-IDs) in the report.
    pub dialogs: u64,
    /// Calls: dialogs in which an INVITE request was seen.
    pub calls: u64,
    /// RTP streams in the report.
    pub rtp_streams: u64,
    /// RTP packets seen.
    pub rtp_packets: u64,
    /// RTCP packets seen.
    pub rtcp_packets: u64,
    /// Findings per severity, most severe first (every severity present, zero included).
    /// With a filter (`--nat`, `-Y`) it counts the findings shown, not the capture's.
    pub findings_by_severity: SeverityCounts,
    /// Frames or messages that failed to decode (network errors + malformed SIP).
    pub decode_errors: u64,
    /// Time of the first frame (seconds since the epoch).
    pub first_ts: Option<f64>,
    /// Time of the last frame.
    pub last_ts: Option<f64>,
    /// Capture duration in seconds.
    pub duration_s: f64,
    /// Wall time spent analysing, in milliseconds (varies run to run).
    pub elapsed_ms: u64,
    /// Frames per link type; unknown ones are named `linktype-N`.
    pub link_types: BTreeMap<String, u64>,
    /// Table evictions (non-zero means limits were hit and the report is partial).
    pub evictions: Evictions,
    /// Engine counters.
    pub engine: EngineStats,
    /// Network decode counters.
    pub net: NetStats,
}

/// Everything dropped because a bounded table was full.
#[derive(Debug, Clone, Serialize)]
pub struct Evictions {
    /// Dialogs.
    pub dialogs: u64,
    /// RTP streams.
    pub streams: u64,
    /// Media address bindings.
    pub media_bindings: u64,
    /// IP fragment buffers.
    pub fragments: u64,
    /// TCP directions (table full or buffer budget spent).
    pub tcp_streams: u64,
    /// TLS sessions (`Limits::tls.max_sessions`; their findings are kept). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub tls_sessions: u64,
    /// Findings of ended TLS sessions not kept (`Limits::rules.tls_retired_findings`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub tls_findings: u64,
    /// Attack sources (`Limits::rules.attack_sources`; their findings are kept while `attack_evicted_findings` lasts). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub attack_sources: u64,
    /// Attack requests waiting for an answer (`Limits::rules.attack_pending`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub attack_pending: u64,
    /// Findings of evicted attack sources not kept (`Limits::rules.attack_evicted_findings`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub attack_findings: u64,
    /// Scanner sightings not recorded (`Limits::rules.scanners`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub scanners: u64,
    /// STUN requests waiting for their response (`Limits::rules.stun_pending`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub stun_pending: u64,
    /// STUN (client, server) pairs not recorded (`Limits::rules.stun_clients`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub stun_clients: u64,
    /// SIP messages on cleartext hops not listed (`Limits::rules.cleartext_hops`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub cleartext_hops: u64,
    /// Authentication attempts of evicted dialogs not kept (`Limits::rules.auth_evicted_attempts`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub auth_attempts: u64,
    /// NAT keepalive sources not recorded (`Limits::nat.max_keepalive_sources`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub keepalive_sources: u64,
    /// Undelivered SIP messages not listed (`Limits::rules.undelivered`). Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub undelivered: u64,
    /// DTMF digits not recorded because a dialog held `Limits::max_dtmf_per_dialog`. Absent while zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub dtmf_events: u64,
}

impl Evictions {
    /// The bounded tables that dropped something, as (name, count), in JSON field order.
    pub fn nonzero(&self) -> Vec<(&'static str, u64)> {
        [
            ("dialogs", self.dialogs),
            ("streams", self.streams),
            ("media bindings", self.media_bindings),
            ("fragment buffers", self.fragments),
            ("TCP streams", self.tcp_streams),
            ("tls sessions", self.tls_sessions),
            ("tls findings", self.tls_findings),
            ("attack sources", self.attack_sources),
            ("attack pending", self.attack_pending),
            ("attack findings", self.attack_findings),
            ("scanners", self.scanners),
            ("stun pending", self.stun_pending),
            ("stun clients", self.stun_clients),
            ("cleartext hops", self.cleartext_hops),
            ("auth attempts", self.auth_attempts),
            ("keepalive sources", self.keepalive_sources),
            ("undelivered messages", self.undelivered),
            ("dtmf digits", self.dtmf_events),
        ]
        .into_iter()
        .filter(|e| e.1 > 0)
        .collect()
    }
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// A CSeq rendered as "1 INVITE" without building a string.
#[derive(Debug, Clone, Copy)]
pub struct CSeqText<'a>(pub u32, pub &'a str);

impl Serialize for CSeqText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One string written whole, the number without the formatter: `collect_str`
        // escapes each piece the formatter hands over, and a flow entry per message made
        // it 1% of a JSON run.
        let mut buf = StackText::<48>::new();
        buf.push_digits(u64::from(self.0));
        buf.push(" ");
        buf.push(self.1);
        match buf.as_str() {
            Some(t) => s.serialize_str(t),
            None => s.collect_str(&format_args!("{} {}", self.0, self.1)),
        }
    }
}

/// A short text formatted on the stack (`fmt::Write` fails when it does not fit).
struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
    /// Something did not fit: `as_str` gives nothing.
    overflow: bool,
}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        StackText {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }

    /// The text, unless something did not fit.
    fn as_str(&self) -> Option<&str> {
        if self.overflow {
            return None;
        }
        std::str::from_utf8(self.buf.get(..self.len)?).ok()
    }

    /// Appends `t` (or marks the text as overflowed).
    fn push(&mut self, t: &str) {
        let end = self.len.saturating_add(t.len());
        match self.buf.get_mut(self.len..end) {
            Some(slot) => {
                slot.copy_from_slice(t.as_bytes());
                self.len = end;
            }
            None => self.overflow = true,
        }
    }

    /// Appends `n` in decimal, without the formatter (`Display` of an integer goes
    /// through `pad_integral`, several times the work for the few digits of a port).
    fn push_digits(&mut self, n: u64) {
        let mut buf = [0u8; 20];
        let digits = crate::bytes::decimal(n, &mut buf);
        self.push(std::str::from_utf8(digits).unwrap_or("0"));
    }
}

impl<const N: usize> std::fmt::Write for StackText<N> {
    fn write_str(&mut self, t: &str) -> std::fmt::Result {
        self.push(t);
        if self.overflow {
            Err(std::fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// `a` as `Display` writes it (`ip:port`, `[ip6]:port`), IPv4 with its digits written
/// directly: `Display` goes through the formatter once per octet and for the port, and
/// two addresses per message in the flow were 2% of a JSON run. False for IPv6 (the
/// caller formats it).
fn v4_text(a: &SocketAddr, buf: &mut StackText<24>) -> bool {
    let SocketAddr::V4(v4) = a else {
        return false;
    };
    let mut b = [0u8; V4_BLOCK];
    let n = v4_into(v4, &mut b, 0);
    match (buf.buf.get_mut(..n), b.get(..n)) {
        (Some(slot), Some(text)) => {
            slot.copy_from_slice(text);
            buf.len = n;
            buf.overflow = false;
            true
        }
        _ => false,
    }
}

/// Serializes an address as serde does (`ip:port`, `[ip6]:port`), see [`v4_text`].
fn ser_addr<S: Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = StackText::<24>::new();
    if v4_text(a, &mut buf) {
        if let Some(t) = buf.as_str() {
            return s.serialize_str(t);
        }
    }
    a.serialize(s)
}

/// [`ser_addr`] for an optional address (`null` when absent, as serde writes `None`).
fn ser_opt_addr<S: Serializer>(a: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => ser_addr(a, s),
        None => s.serialize_none(),
    }
}

/// `a.to_string()`, IPv4 without the formatter (see [`v4_text`]).
pub(crate) fn addr_string(a: SocketAddr) -> String {
    let mut buf = StackText::<24>::new();
    match v4_text(&a, &mut buf).then(|| buf.as_str()).flatten() {
        Some(t) => t.to_owned(),
        None => a.to_string(),
    }
}

/// One message in a dialog's flow.
///
/// Serialized as if derived (the fields in order, `hep` skipped when absent), through a
/// [`json::DIRECT`] newtype: the compact writer has each entry write its own text (see
/// [`FlowEntry::write_compact`]), every other serializer sees the derived form.
#[derive(Debug, Clone)]
pub struct FlowEntry<'a> {
    /// Frame number.
    pub frame: u64,
    /// Time (seconds since the epoch).
    pub ts: f64,
    /// Source ip:port.
    pub src: SocketAddr,
    /// Destination ip:port.
    pub dst: SocketAddr,
    /// Transport.
    pub transport: &'static str,
    /// "INVITE" or "200 OK".
    pub label: &'a str,
    /// CSeq "1 INVITE".
    pub cseq: Option<CSeqText<'a>>,
    /// Retransmission of an earlier message.
    pub retransmission: bool,
    /// The same packet captured again within 10 ms (not a retransmission).
    pub duplicate: bool,
    /// Carries an SDP body.
    pub sdp: bool,
    /// HEP: the capture agent (`agent`, `capture_id`, `version`) when the message arrived
    /// HEP-encapsulated; absent otherwise.
    pub hep: Option<crate::hep::HepMeta>,
}

impl Serialize for FlowEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(json::DIRECT, &FlowFields(self))
    }
}

/// A [`FlowEntry`] inside its [`json::DIRECT`] newtype.
struct FlowFields<'e, 'a>(&'e FlowEntry<'a>);

/// An address serialized through [`ser_addr`].
struct Addr<'e>(&'e SocketAddr);

impl Serialize for Addr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_addr(self.0, s)
    }
}

impl Serialize for FlowFields<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeStruct};
        let e = self.0;
        if let Some(r) = json::write_direct(|out| e.write_compact(out)) {
            r.map_err(S::Error::custom)?;
            return s.serialize_unit_struct(json::DIRECT);
        }
        // What `#[derive(Serialize)]` writes (the same names, order and skip rule).
        let len = 10 + usize::from(e.hep.is_some());
        let mut st = s.serialize_struct("FlowEntry", len)?;
        st.serialize_field("frame", &e.frame)?;
        st.serialize_field("ts", &e.ts)?;
        st.serialize_field("src", &Addr(&e.src))?;
        st.serialize_field("dst", &Addr(&e.dst))?;
        st.serialize_field("transport", e.transport)?;
        st.serialize_field("label", e.label)?;
        st.serialize_field("cseq", &e.cseq)?;
        st.serialize_field("retransmission", &e.retransmission)?;
        st.serialize_field("duplicate", &e.duplicate)?;
        st.serialize_field("sdp", &e.sdp)?;
        match &e.hep {
            Some(h) => st.serialize_field("hep", h)?,
            None => st.skip_field("hep")?,
        }
        st.end()
    }
}

/// Each octet's decimal digits followed by a dot, left-aligned, and the count of those
/// bytes in the last slot (`7.`, `10.`, `255.`).
const OCTET_DOT: [[u8; 5]; 256] = {
    let mut t = [[0u8; 5]; 256];
    let mut i = 0;
    while i < 256 {
        let o = i as u8;
        let e = &mut t[i];
        if o >= 100 {
            *e = [b'0' + o / 100, b'0' + o / 10 % 10, b'0' + o % 10, b'.', 4];
        } else if o >= 10 {
            *e = [b'0' + o / 10, b'0' + o % 10, b'.', 0, 3];
        } else {
            *e = [b'0' + o, b'.', 0, 0, 2];
        }
        i += 1;
    }
    t
};

/// Bytes of the block [`v4_into`] writes in: '"' + "255.255.255.255" + ':' + "65535" +
/// '"' is 23, plus 4 spare for the last four-byte store of an octet.
const V4_BLOCK: usize = 28;

/// Writes `ip:port` into `b` from `n` and gives the end: each octet's digits and dot from a
/// table (four bytes stored at once), the last dot turned into the colon, the port's
/// digits from the right. At most 21 bytes, so any `n` up to 2 fits.
fn v4_into(v4: &std::net::SocketAddrV4, b: &mut [u8; V4_BLOCK], mut n: usize) -> usize {
    for o in v4.ip().octets() {
        // A u8 index into a 256-entry table: always in bounds.
        let [d0, d1, d2, d3, len] = OCTET_DOT[usize::from(o)];
        if let Some(slot) = b.get_mut(n..n + 4) {
            slot.copy_from_slice(&[d0, d1, d2, d3]);
        }
        n += usize::from(len);
    }
    // The last octet's dot becomes the colon.
    if let Some(c) = b.get_mut(n - 1) {
        *c = b':';
    }
    let p = v4.port();
    let len = match p {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    let mut m = p;
    if let Some(digits) = b.get_mut(n..n + len) {
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (m % 10) as u8;
            m /= 10;
        }
    }
    n + len
}

/// Appends `a` as a JSON string (`ip:port`, `[ip6]:port`, as [`ser_addr`] writes it).
/// IPv4 is put together in a fixed block ([`v4_into`]) copied whole and cut back: no
/// `memcpy` call, no UTF-8 check.
fn write_addr(out: &mut Vec<u8>, a: &SocketAddr) -> Result<(), json::Error> {
    let SocketAddr::V4(v4) = a else {
        return json::append(out, &Addr(a));
    };
    let (b, n) = v4_quoted(v4);
    push_block(out, &b, n);
    Ok(())
}

/// `v4` as a quoted JSON string in a fixed block, and its length.
fn v4_quoted(v4: &std::net::SocketAddrV4) -> ([u8; V4_BLOCK], usize) {
    let mut b = [0u8; V4_BLOCK];
    if let Some(q) = b.first_mut() {
        *q = b'"';
    }
    let n = v4_into(v4, &mut b, 1);
    if let Some(q) = b.get_mut(n) {
        *q = b'"';
    }
    (b, n + 1)
}

/// Appends the first `n` bytes of `b`: the whole block is copied (a fixed-size copy, no
/// `memcpy` call) and the rest cut off.
#[inline]
fn push_block(out: &mut Vec<u8>, b: &[u8; V4_BLOCK], n: usize) {
    let start = out.len();
    out.extend_from_slice(b);
    out.truncate(start + n);
}

/// The JSON texts of the last two IPv4 addresses written: a dialog's rows name the same
/// two parties over and over (its `src` and `dst`, then each message's), and a text
/// copied from here is a fifth of the work of writing it again.
#[derive(Default)]
struct AddrTexts {
    slots: [Option<(std::net::SocketAddrV4, [u8; V4_BLOCK], usize)>; 2],
    /// The slot the next new address replaces.
    next: usize,
}

impl AddrTexts {
    /// Appends `a` as [`write_addr`] does.
    fn write(&mut self, out: &mut Vec<u8>, a: &SocketAddr) -> Result<(), json::Error> {
        let SocketAddr::V4(v4) = a else {
            return write_addr(out, a);
        };
        for (k, b, n) in self.slots.iter().flatten() {
            if k == v4 {
                push_block(out, b, *n);
                return Ok(());
            }
        }
        let (b, n) = v4_quoted(v4);
        push_block(out, &b, n);
        if let Some(slot) = self.slots.get_mut(self.next) {
            *slot = Some((*v4, b, n));
        }
        self.next = (self.next + 1) % 2;
        Ok(())
    }
}

impl FlowEntry<'_> {
    /// Appends the entry as compact JSON: the bytes the serializers write for it, without
    /// a generic call per field or a UTF-8 check of the texts built here.
    fn write_compact(&self, out: &mut Vec<u8>) -> Result<(), json::Error> {
        self.write_compact_with(out, &mut AddrTexts::default())
    }

    /// [`FlowEntry::write_compact`] with the address texts of the entries before.
    fn write_compact_with(
        &self,
        out: &mut Vec<u8>,
        addrs: &mut AddrTexts,
    ) -> Result<(), json::Error> {
        out.extend_from_slice(b"{\"frame\":");
        json::write_u64(out, self.frame);
        out.extend_from_slice(b",\"ts\":");
        json::write_f64(out, self.ts)?;
        out.extend_from_slice(b",\"src\":");
        addrs.write(out, &self.src)?;
        out.extend_from_slice(b",\"dst\":");
        addrs.write(out, &self.dst)?;
        out.extend_from_slice(b",\"transport\":");
        json::write_str(out, self.transport);
        out.extend_from_slice(b",\"label\":");
        json::write_str(out, self.label);
        out.extend_from_slice(b",\"cseq\":");
        match self.cseq {
            Some(CSeqText(n, m)) => {
                out.push(b'"');
                json::write_u64(out, u64::from(n));
                out.push(b' ');
                json::write_str_contents(out, m);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(if self.retransmission {
            b",\"retransmission\":true"
        } else {
            b",\"retransmission\":false"
        });
        out.extend_from_slice(if self.duplicate {
            b",\"duplicate\":true"
        } else {
            b",\"duplicate\":false"
        });
        out.extend_from_slice(if self.sdp {
            b",\"sdp\":true"
        } else {
            b",\"sdp\":false"
        });
        if let Some(h) = &self.hep {
            out.extend_from_slice(b",\"hep\":");
            json::append(out, h)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// One negotiated media line pair.
#[derive(Debug, Clone, Serialize)]
pub struct MediaDto<'a> {
    /// audio, video, image...
    pub media: &'a str,
    /// Offer: where the offerer receives.
    #[serde(serialize_with = "ser_opt_addr")]
    pub offer: Option<SocketAddr>,
    /// Answer: where the answerer receives.
    #[serde(serialize_with = "ser_opt_addr")]
    pub answer: Option<SocketAddr>,
    /// Transport profile of the offer (RTP/AVP...).
    pub proto: &'a str,
    /// Codecs the answer accepted (or those offered when no answer was seen).
    pub codecs: Vec<CodecText<'a>>,
    /// SRTP or DTLS-SRTP profile.
    pub encrypted: bool,
    /// Frame of the offer.
    pub offer_frame: u64,
    /// Frame of the answer.
    pub answer_frame: Option<u64>,
}

/// One dialog (Call-ID).
///
/// Serialized as if derived (the fields in order, `tls` and `dtmf` skipped when absent),
/// through a [`json::DIRECT`] newtype: the compact writer has the row write its own text
/// (see [`DialogDto::write_compact`]), every other serializer sees the derived form.
#[derive(Debug, Clone)]
pub struct DialogDto<'a> {
    /// 1-based row number.
    pub index: usize,
    /// Call-ID.
    pub call_id: &'a str,
    /// From URI.
    pub from: &'a str,
    /// To URI.
    pub to: &'a str,
    /// Initial method.
    pub method: &'a str,
    /// State.
    pub state: &'static str,
    /// Final status of the initial transaction.
    pub final_status: Option<u16>,
    /// First message (seconds since the epoch).
    pub start: f64,
    /// Last message.
    pub end: f64,
    /// end - start, seconds.
    pub duration_s: f64,
    /// Seconds from the 2xx answer to the last message, for answered calls.
    pub talk_s: Option<f64>,
    /// Messages (including retransmissions).
    pub messages: u64,
    /// Retransmissions.
    pub retransmissions: u64,
    /// Duplicate captures of the same message (two interfaces, SPAN copies).
    pub duplicates: u64,
    /// Transport of the first message.
    pub transport: &'static str,
    /// Source of the first message.
    pub src: SocketAddr,
    /// Destination of the first message.
    pub dst: SocketAddr,
    /// From tag.
    pub from_tag: Option<&'a str>,
    /// Distinct To tags (forks / legs).
    pub to_tags: &'a [String],
    /// User agents seen.
    pub user_agents: &'a [std::sync::Arc<str>],
    /// Negotiated media.
    pub media: Vec<MediaDto<'a>>,
    /// Indexes (1-based) of this dialog's streams in `streams`.
    pub stream_ids: Vec<usize>,
    /// RTCP packets to or from the addresses its SDP announced.
    pub rtcp_packets: u64,
    /// Estimated MOS of the call: its worse speech stream's (`streams[].mos`); `null`
    /// without one.
    pub mos: Option<f64>,
    /// Ids of findings about this dialog.
    pub finding_ids: Vec<usize>,
    /// First frame.
    pub first_frame: u64,
    /// NAT troubleshooting: what each party advertised against what the wire showed,
    /// with verdicts (null when there is nothing to say; see `crate::nat::NatView`).
    pub nat: Option<crate::nat::NatView>,
    /// The TLS session the first message was decrypted from (SIP over TLS or WSS read
    /// with keys); absent for other transports.
    pub tls: Option<TlsLinkDto>,
    /// DTMF digits keyed in (RFC 4733 telephone-events, SIP INFO, KPML), in the order they
    /// started; each digit masked (`•`) unless `--show-secrets`. Absent when none.
    pub dtmf: Vec<DtmfDto>,
    /// The messages.
    pub flow: Flow<'a>,
}

impl Serialize for DialogDto<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(json::DIRECT, &DialogFields(self))
    }
}

/// A [`DialogDto`] inside its [`json::DIRECT`] newtype.
struct DialogFields<'r, 'a>(&'r DialogDto<'a>);

impl Serialize for DialogFields<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let d = self.0;
        if let Some(r) = json::write_direct(|out| d.write_compact(out)) {
            r.map_err(S::Error::custom)?;
            return s.serialize_unit_struct(json::DIRECT);
        }
        DialogDerived::of(d).serialize(s)
    }
}

/// Serializes shared strings as the strings they hold (serde's `rc` feature is off).
fn ser_shared_strs<S: serde::Serializer>(
    v: &&[std::sync::Arc<str>],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|t| &**t))
}

/// The derived form of a [`DialogDto`] (what `#[derive(Serialize)]` on it wrote, for
/// `serde_json` and `--pretty`), borrowing its fields.
#[derive(Serialize)]
#[serde(rename = "DialogDto")]
struct DialogDerived<'r, 'a> {
    index: usize,
    call_id: &'a str,
    from: &'a str,
    to: &'a str,
    method: &'a str,
    state: &'static str,
    final_status: Option<u16>,
    start: f64,
    end: f64,
    duration_s: f64,
    talk_s: Option<f64>,
    messages: u64,
    retransmissions: u64,
    duplicates: u64,
    transport: &'static str,
    src: Addr<'r>,
    dst: Addr<'r>,
    from_tag: Option<&'a str>,
    to_tags: &'a [String],
    #[serde(serialize_with = "ser_shared_strs")]
    user_agents: &'a [std::sync::Arc<str>],
    media: &'r [MediaDto<'a>],
    stream_ids: &'r [usize],
    rtcp_packets: u64,
    mos: Option<f64>,
    finding_ids: &'r [usize],
    first_frame: u64,
    nat: &'r Option<crate::nat::NatView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<&'r TlsLinkDto>,
    #[serde(skip_serializing_if = "is_empty_slice")]
    dtmf: &'r [DtmfDto],
    flow: &'r Flow<'a>,
}

fn is_empty_slice<T>(v: &&[T]) -> bool {
    v.is_empty()
}

impl<'r, 'a> DialogDerived<'r, 'a> {
    fn of(d: &'r DialogDto<'a>) -> Self {
        DialogDerived {
            index: d.index,
            call_id: d.call_id,
            from: d.from,
            to: d.to,
            method: d.method,
            state: d.state,
            final_status: d.final_status,
            start: d.start,
            end: d.end,
            duration_s: d.duration_s,
            talk_s: d.talk_s,
            messages: d.messages,
            retransmissions: d.retransmissions,
            duplicates: d.duplicates,
            transport: d.transport,
            src: Addr(&d.src),
            dst: Addr(&d.dst),
            from_tag: d.from_tag,
            to_tags: d.to_tags,
            user_agents: d.user_agents,
            media: &d.media,
            stream_ids: &d.stream_ids,
            rtcp_packets: d.rtcp_packets,
            mos: d.mos,
            finding_ids: &d.finding_ids,
            first_frame: d.first_frame,
            nat: &d.nat,
            tls: d.tls.as_ref(),
            dtmf: &d.dtmf,
            flow: &d.flow,
        }
    }
}

/// Appends `v` or `null`.
fn write_opt_f64(out: &mut Vec<u8>, v: Option<f64>) -> Result<(), json::Error> {
    match v {
        Some(v) => json::write_f64(out, v),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// Appends a JSON array of strings.
fn write_strs<S: AsRef<str>>(out: &mut Vec<u8>, v: &[S]) {
    out.push(b'[');
    for (i, t) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::write_str(out, t.as_ref());
    }
    out.push(b']');
}

/// Appends a JSON array of integers.
fn write_ids(out: &mut Vec<u8>, v: &[usize]) {
    out.push(b'[');
    for (i, &n) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::write_u64(out, n as u64);
    }
    out.push(b']');
}

/// Appends an optional address (`null` when absent), as [`ser_opt_addr`] writes it.
fn write_opt_addr(out: &mut Vec<u8>, a: &Option<SocketAddr>) -> Result<(), json::Error> {
    match a {
        Some(a) => write_addr(out, a),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

impl DialogDto<'_> {
    /// Appends the row as compact JSON: the bytes the serializers write for its derived
    /// form, without a generic call per field (the rows are most of a report).
    pub(crate) fn write_compact(&self, out: &mut Vec<u8>) -> Result<(), json::Error> {
        self.write_row(out, None)
    }

    /// [`DialogDto::write_compact`], the finding and stream ids taken from `ids` (the
    /// [`DialogIds::of`] of the dialog, when given) rather than from the row: a streaming
    /// report's rows then hold no lists of their own.
    fn write_row(&self, out: &mut Vec<u8>, ids: Option<RowIds<'_, '_>>) -> Result<(), json::Error> {
        out.extend_from_slice(b"{\"index\":");
        json::write_u64(out, self.index as u64);
        out.extend_from_slice(b",\"call_id\":");
        json::write_str(out, self.call_id);
        out.extend_from_slice(b",\"from\":");
        json::write_str(out, self.from);
        out.extend_from_slice(b",\"to\":");
        json::write_str(out, self.to);
        out.extend_from_slice(b",\"method\":");
        json::write_str(out, self.method);
        out.extend_from_slice(b",\"state\":");
        json::write_str(out, self.state);
        out.extend_from_slice(b",\"final_status\":");
        match self.final_status {
            Some(n) => json::write_u64(out, u64::from(n)),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"start\":");
        json::write_f64(out, self.start)?;
        out.extend_from_slice(b",\"end\":");
        json::write_f64(out, self.end)?;
        out.extend_from_slice(b",\"duration_s\":");
        json::write_f64(out, self.duration_s)?;
        out.extend_from_slice(b",\"talk_s\":");
        write_opt_f64(out, self.talk_s)?;
        out.extend_from_slice(b",\"messages\":");
        json::write_u64(out, self.messages);
        out.extend_from_slice(b",\"retransmissions\":");
        json::write_u64(out, self.retransmissions);
        out.extend_from_slice(b",\"duplicates\":");
        json::write_u64(out, self.duplicates);
        out.extend_from_slice(b",\"transport\":");
        json::write_str(out, self.transport);
        let mut addrs = AddrTexts::default();
        out.extend_from_slice(b",\"src\":");
        addrs.write(out, &self.src)?;
        out.extend_from_slice(b",\"dst\":");
        addrs.write(out, &self.dst)?;
        out.extend_from_slice(b",\"from_tag\":");
        match self.from_tag {
            Some(t) => json::write_str(out, t),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"to_tags\":");
        write_strs(out, self.to_tags);
        out.extend_from_slice(b",\"user_agents\":");
        write_strs(out, self.user_agents);
        out.extend_from_slice(b",\"media\":[");
        for (i, m) in self.media.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            m.write_compact(out)?;
        }
        out.extend_from_slice(b"],\"stream_ids\":");
        write_ids(out, ids.map_or(&self.stream_ids[..], |i| i.1));
        out.extend_from_slice(b",\"rtcp_packets\":");
        json::write_u64(out, self.rtcp_packets);
        out.extend_from_slice(b",\"mos\":");
        write_opt_f64(out, self.mos)?;
        out.extend_from_slice(b",\"finding_ids\":");
        match ids {
            Some((findings, _)) => {
                out.push(b'[');
                for (i, (_, id)) in findings.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json::write_u64(out, *id as u64);
                }
                out.push(b']');
            }
            None => write_ids(out, &self.finding_ids),
        }
        out.extend_from_slice(b",\"first_frame\":");
        json::write_u64(out, self.first_frame);
        out.extend_from_slice(b",\"nat\":");
        match &self.nat {
            Some(n) => json::append(out, n)?,
            None => out.extend_from_slice(b"null"),
        }
        if let Some(t) = &self.tls {
            out.extend_from_slice(b",\"tls\":");
            json::append(out, t)?;
        }
        if !self.dtmf.is_empty() {
            out.extend_from_slice(b",\"dtmf\":");
            json::append(out, &self.dtmf)?;
        }
        out.extend_from_slice(b",\"flow\":");
        self.flow.write_compact_with(out, &mut addrs)?;
        out.push(b'}');
        Ok(())
    }
}

impl MediaDto<'_> {
    /// Appends the media line as compact JSON (the bytes of its derived form).
    fn write_compact(&self, out: &mut Vec<u8>) -> Result<(), json::Error> {
        out.extend_from_slice(b"{\"media\":");
        json::write_str(out, self.media);
        out.extend_from_slice(b",\"offer\":");
        write_opt_addr(out, &self.offer)?;
        out.extend_from_slice(b",\"answer\":");
        write_opt_addr(out, &self.answer)?;
        out.extend_from_slice(b",\"proto\":");
        json::write_str(out, self.proto);
        out.extend_from_slice(b",\"codecs\":[");
        for (i, c) in self.codecs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            c.write_compact(out);
        }
        out.extend_from_slice(if self.encrypted {
            b"],\"encrypted\":true,\"offer_frame\":"
        } else {
            b"],\"encrypted\":false,\"offer_frame\":"
        });
        json::write_u64(out, self.offer_frame);
        out.extend_from_slice(b",\"answer_frame\":");
        match self.answer_frame {
            Some(n) => json::write_u64(out, n),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        Ok(())
    }
}

/// One DTMF digit of a dialog (`dialogs[].dtmf[]` in the JSON report).
#[derive(Debug, Clone, Serialize)]
pub struct DtmfDto {
    /// `0`-`9`, `*`, `#`, `A`-`D`; `•` unless `--show-secrets` (digits are PINs and card
    /// numbers).
    pub digit: &'static str,
    /// Time of its first packet or of the request (seconds since the epoch).
    pub ts: f64,
    /// Duration in milliseconds (RFC 4733: the end packet's duration over the clock
    /// rate; INFO: `Duration=`); null when not given (KPML, `application/dtmf`).
    pub duration_ms: Option<u32>,
    /// `rfc4733`, `info` or `kpml`.
    pub via: &'static str,
    /// Frame of its first packet or of the request.
    pub frame: u64,
    /// Sender.
    #[serde(serialize_with = "ser_addr")]
    pub src: SocketAddr,
    /// Receiver.
    #[serde(serialize_with = "ser_addr")]
    pub dst: SocketAddr,
    /// Readable on the wire (cleartext RTP or SIP; false for SIP read from TLS or WSS):
    /// these are the digits `media.dtmf-exposed` counts.
    pub cleartext: bool,
}

/// The text of DTMF digit `d` (ASCII), or the mask unless `show`.
pub fn dtmf_digit(d: u8, show: bool) -> &'static str {
    const DIGITS: [&str; 16] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D",
    ];
    if !show {
        return crate::rules::dtmf::MASK;
    }
    let i = match d {
        b'0'..=b'9' => usize::from(d - b'0'),
        b'*' => 10,
        b'#' => 11,
        b'A'..=b'D' => usize::from(d - b'A') + 12,
        _ => return "?",
    };
    DIGITS.get(i).copied().unwrap_or("?")
}

fn dtmf_dtos(an: &Analyzer, d: &Dialog) -> Vec<DtmfDto> {
    let show = an.show_secrets();
    d.dtmf()
        .iter()
        .map(|e| DtmfDto {
            digit: dtmf_digit(e.digit, show),
            ts: e.ts.as_secs_f64(),
            duration_ms: e.duration_ms,
            via: e.via.as_str(),
            frame: e.frame,
            src: e.src.get(),
            dst: e.dst.get(),
            cleartext: crate::rules::dtmf::is_exposed(e),
        })
        .collect()
}

/// The TLS session a decrypted dialog came over (`dialogs[].tls` in the JSON report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsLinkDto {
    /// Client side of the connection (sent the ClientHello).
    #[serde(serialize_with = "ser_addr")]
    pub client: SocketAddr,
    /// Server side.
    #[serde(serialize_with = "ser_addr")]
    pub server: SocketAddr,
    /// Negotiated version, e.g. "TLS 1.3" (null without a ServerHello).
    pub version: Option<String>,
    /// Negotiated cipher suite, IANA name (or its number in hex).
    pub cipher: Option<String>,
    /// Server name the client asked for (SNI).
    pub sni: Option<String>,
    /// Server certificate subject, when the certificate was read (TLS 1.2 sends it in
    /// the clear; TLS 1.3 encrypts it).
    pub certificate: Option<String>,
    /// First frame of the handshake.
    pub first_frame: u64,
}

/// The TLS session dialog `d` was decrypted from, if its first message came over TLS.
fn tls_link(an: &Analyzer, d: &Dialog) -> Option<TlsLinkDto> {
    if !matches!(
        d.transport,
        crate::net::Transport::Tls | crate::net::Transport::Wss
    ) {
        return None;
    }
    let s = an.tls().session_between(d.src.get(), d.dst.get())?;
    let sh = s.server_hello.as_ref();
    Some(TlsLinkDto {
        client: s.client,
        server: s.server,
        version: s.version().map(crate::tls::version_name),
        cipher: sh.map(|h| {
            h.cipher_name()
                .map_or_else(|| format!("0x{:04x}", h.cipher), str::to_string)
        }),
        sni: s.client_hello.as_ref().and_then(|c| c.sni.clone()),
        certificate: match &s.cert {
            crate::tls::CertState::Parsed(c) => Some(c.subject.clone()),
            _ => None,
        },
        first_frame: s.first_frame(),
    })
}

/// A dialog's messages, rendered one by one when serialised (a capture can hold millions
/// of messages; they are never all copied into DTOs at once).
#[derive(Clone, Copy)]
pub struct Flow<'a> {
    an: &'a Analyzer,
    dialog: &'a Dialog,
}

impl std::fmt::Debug for Flow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries()).finish()
    }
}

impl<'a> Flow<'a> {
    /// The entries, in capture order.
    pub fn entries(&self) -> impl Iterator<Item = FlowEntry<'a>> + 'a {
        let (an, d) = (self.an, self.dialog);
        d.messages
            .iter()
            .enumerate()
            .map(move |(i, m)| flow_entry(an, d, i, m))
    }
}

/// The entry of message `m`, the `i`th of dialog `d` (inlined where the compact writer
/// writes it: the entry is then never moved whole).
#[inline(always)]
fn flow_entry<'a>(
    an: &'a Analyzer,
    d: &'a Dialog,
    i: usize,
    m: &'a crate::engine::MessageRecord,
) -> FlowEntry<'a> {
    FlowEntry {
        frame: m.frame,
        ts: m.ts.as_secs_f64(),
        src: d.src_of(m),
        dst: d.dst_of(m),
        transport: m.transport.as_str(),
        label: an.name(m.label),
        cseq: m.cseq.map(|(n, me)| CSeqText(n, an.name(me))),
        retransmission: m.retransmission,
        duplicate: m.duplicate,
        sdp: m.sdp().is_some(),
        hep: d.hep_of(i).copied(),
    }
}

impl Serialize for Flow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The sequence of entries; the compact writer takes the whole array's text at
        // once (one lent buffer per dialog, no generic call per entry).
        s.serialize_newtype_struct(json::DIRECT, &FlowSeq(self))
    }
}

impl Flow<'_> {
    /// Appends the array of entries as compact JSON.
    fn write_compact(&self, out: &mut Vec<u8>) -> Result<(), json::Error> {
        self.write_compact_with(out, &mut AddrTexts::default())
    }

    /// [`Flow::write_compact`] with the address texts written before.
    fn write_compact_with(
        &self,
        out: &mut Vec<u8>,
        addrs: &mut AddrTexts,
    ) -> Result<(), json::Error> {
        out.push(b'[');
        let (an, d) = (self.an, self.dialog);
        for (i, m) in d.messages.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            flow_entry(an, d, i, m).write_compact_with(out, addrs)?;
        }
        out.push(b']');
        Ok(())
    }
}

/// A [`Flow`] inside its [`json::DIRECT`] newtype.
struct FlowSeq<'f, 'a>(&'f Flow<'a>);

impl Serialize for FlowSeq<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let direct = json::write_direct(|out| self.0.write_compact(out));
        if let Some(r) = direct {
            r.map_err(S::Error::custom)?;
            return s.serialize_unit_struct(json::DIRECT);
        }
        s.collect_seq(self.0.entries())
    }
}

/// One RTP stream.
#[derive(Debug, Clone, Serialize)]
pub struct StreamDto<'a> {
    /// 1-based row number.
    pub index: usize,
    /// SSRC.
    pub ssrc: u32,
    /// SSRC as 0x-hex, as Wireshark shows it.
    pub ssrc_hex: String,
    /// Source ip:port.
    pub src: SocketAddr,
    /// Destination ip:port.
    pub dst: SocketAddr,
    /// Payload type of the first packet.
    pub payload_type: u8,
    /// Codec name.
    pub codec: Option<&'a str>,
    /// Packets received.
    pub packets: u64,
    /// Packets expected from the sequence numbers.
    pub expected: u64,
    /// Lost packets (expected - received, never negative).
    pub lost: u64,
    /// Loss in percent of expected.
    pub lost_pct: f64,
    /// Interarrival jitter (RFC 3550 §6.4.1), milliseconds: the running estimate after
    /// the last packet, with the stream's clock rate.
    pub jitter_ms: f64,
    /// Largest gap between consecutive packets, milliseconds (every packet, silences
    /// included; Wireshark's Max Delta is [`delta_max_ms`](Self::delta_max_ms)).
    pub max_delta_ms: f64,
    /// Wireshark's Min Delta: smallest arrival gap over regular packets (not the first,
    /// not marked, not comfort noise or just after it, not back in timestamp), ms;
    /// `null` without a regular packet.
    pub delta_min_ms: Option<f64>,
    /// Wireshark's Mean Delta over regular packets (its running mean), ms.
    pub delta_mean_ms: f64,
    /// Wireshark's Max Delta over regular packets, ms.
    pub delta_max_ms: f64,
    /// Wireshark's Min Jitter: smallest running jitter (RFC 3550 §6.4.1 in ms, each
    /// packet's payload type clock) over regular packets; `null` without one.
    pub jitter_min_ms: Option<f64>,
    /// Wireshark's Mean Jitter: mean of the running jitter over regular packets, ms.
    pub jitter_mean_ms: f64,
    /// Wireshark's Max Jitter: largest running jitter over regular packets, ms.
    pub jitter_max_ms: f64,
    /// Wireshark's sequence errors: packets whose sequence number was not the previous
    /// one + 1 (a gap counts once; late, reordered and duplicate packets each once).
    pub sequence_errors: u64,
    /// Packets repeating a sequence number among the last 128 (RFC 3550 A.1 window).
    pub duplicates: u64,
    /// Late packets: below the highest sequence number seen, not duplicates.
    pub out_of_order: u64,
    /// First packet time.
    pub start: f64,
    /// Last packet time.
    pub end: f64,
    /// Call it belongs to.
    pub call_id: Option<&'a str>,
    /// SRTP / DTLS-SRTP negotiated.
    pub encrypted: bool,
    /// An SDP announced this address (false: found by the RTP heuristic).
    pub announced: bool,
    /// RTCP packets from this SSRC.
    pub rtcp_packets: u64,
    /// First frame.
    pub first_frame: u64,
    /// Estimated MOS (ITU-T G.107 E-model, Annex B), 2 decimals; `null` for a stream
    /// that is not speech (video, telephone events alone).
    pub mos: Option<f64>,
    /// E-model transmission rating R, 2 decimals (93.2 for a clean G.711 call).
    pub r_factor: Option<f64>,
    /// Loss the E-model was given, percent: packets never seen plus those the modelled
    /// 50 ms jitter buffer discards, over the packets expected.
    pub quality_loss_pct: Option<f64>,
    /// Packets the modelled jitter buffer discards (arrived after their playout point).
    pub jitter_buffer_discards: u64,
    /// Burst ratio (G.107 BurstR, Gilbert model of the loss pattern; 1: random loss).
    pub burst_ratio: Option<f64>,
    /// Round trip measured from RTCP SR/RR (LSR/DLSR), ms, when one was; the stream's
    /// own or another of its call's.
    pub rtt_ms: Option<f64>,
    /// Mouth-to-ear one-way delay the E-model assumed, ms.
    pub delay_ms: Option<f64>,
    /// The score every 5 s of packet time (at most 720 intervals).
    pub quality: Vec<QualityPointDto>,
    /// Intervals beyond the 720 kept.
    pub quality_intervals_dropped: u64,
    /// SRTP packets authenticated and decrypted (RFC 3711) with the keys of
    /// `srtp_keys`; absent unless keys were applied to the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp_decrypted: Option<u64>,
    /// Where the keys tried on the stream came from when not from its SDP: `"dtls"`
    /// (derived from the flow's DTLS handshake and the key log, RFC 5764 §4.2) or
    /// `"user"` (`--srtp-key`). Absent for SDES keys of the call's SDP (RFC 4568) and
    /// when no key was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp_keys: Option<&'static str>,
    /// SRTP packets tried that no key authenticated (absent as above).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp_auth_failed: Option<u64>,
    /// SRTCP packets of this SSRC authenticated and decrypted (absent unless SRTCP
    /// was tried).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtcp_decrypted: Option<u64>,
    /// SRTCP packets of this SSRC that no key authenticated (absent as above).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtcp_auth_failed: Option<u64>,
    /// What the endpoints reported about this stream in RTCP (absent unless some RTCP
    /// named its SSRC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtcp: Option<RtcpDto<'a>>,
}

/// `streams[].rtcp`: the endpoints' own view of a stream, from their RTCP (RFC 3550
/// §6.4, §6.5; RFC 3611 §4.4-§4.7), beside the figures siplens measured itself. `null`
/// where no packet carried the figure.
#[derive(Debug, Clone, Serialize)]
pub struct RtcpDto<'a> {
    /// Report blocks (in SRs or RRs from the receiver) about this stream.
    pub reports: u64,
    /// Fraction lost of the last report block, percent.
    pub fraction_lost_pct: Option<f64>,
    /// Largest fraction lost of any report block, percent.
    pub fraction_lost_max_pct: Option<f64>,
    /// Cumulative packets lost, last report block.
    pub cumulative_lost: Option<i32>,
    /// Interarrival jitter of the last report block, ms at the stream's clock rate.
    pub jitter_ms: Option<f64>,
    /// Largest interarrival jitter reported, ms.
    pub jitter_max_ms: Option<f64>,
    /// SRs the stream's sender sent.
    pub sender_reports: u64,
    /// Sender's packet count, last SR.
    pub sender_packets: Option<u32>,
    /// Sender's octet count, last SR.
    pub sender_octets: Option<u32>,
    /// SDES CNAME of the SSRC.
    pub cname: Option<&'a str>,
    /// SDES NAME.
    pub name: Option<&'a str>,
    /// SDES TOOL.
    pub tool: Option<&'a str>,
    /// Reduced-size RTCP datagrams from the stream's sender (RFC 5506).
    pub reduced_size: u64,
    /// Round trip measured at the capture point from SR/RR (LSR/DLSR) or XR
    /// RRTR/DLRR, ms: this stream's own, where `streams[].rtt_ms` may borrow another
    /// stream's.
    pub rtt_ms: Option<f64>,
    /// Round trip from XR RRTR/DLRR alone (RFC 3611 §4.4-§4.5), ms.
    pub xr_rtt_ms: Option<f64>,
    /// The last XR VoIP Metrics block about the stream (RFC 3611 §4.7).
    pub voip_metrics: Option<VoipMetricsDto>,
    /// XR VoIP Metrics blocks seen.
    pub voip_metrics_reports: u64,
    /// The last XR Statistics Summary block about the stream (RFC 3611 §4.6).
    pub statistics_summary: Option<StatisticsSummaryDto>,
}

/// RFC 3611 §4.7 VoIP Metrics, converted: rates in percent, times in ms; the 8-bit
/// fields holding 127 ("unavailable") are `null`.
#[derive(Debug, Clone, Serialize)]
pub struct VoipMetricsDto {
    /// Loss rate, percent.
    pub loss_pct: f64,
    /// Discard rate, percent.
    pub discard_pct: f64,
    /// Burst density, percent.
    pub burst_density_pct: f64,
    /// Gap density, percent.
    pub gap_density_pct: f64,
    /// Mean burst duration, ms.
    pub burst_duration_ms: u16,
    /// Mean gap duration, ms.
    pub gap_duration_ms: u16,
    /// Round trip delay the endpoint measured, ms.
    pub round_trip_delay_ms: u16,
    /// End system delay, ms.
    pub end_system_delay_ms: u16,
    /// Signal level, dBm0.
    pub signal_level_dbm: Option<i8>,
    /// Noise level, dBm0.
    pub noise_level_dbm: Option<i8>,
    /// Residual echo return loss, dB.
    pub rerl_db: Option<u8>,
    /// Gap threshold Gmin.
    pub gmin: u8,
    /// The endpoint's own R factor.
    pub r_factor: Option<u8>,
    /// External R factor.
    pub ext_r_factor: Option<u8>,
    /// The endpoint's MOS-LQ (listening quality).
    pub mos_lq: Option<f64>,
    /// The endpoint's MOS-CQ (conversational quality).
    pub mos_cq: Option<f64>,
    /// Receiver configuration byte (PLC, jitter buffer adaptive, rate; §4.7.6).
    pub rx_config: u8,
    /// Jitter buffer nominal delay, ms.
    pub jb_nominal_ms: u16,
    /// Jitter buffer maximum delay, ms.
    pub jb_max_ms: u16,
    /// Jitter buffer absolute maximum delay, ms.
    pub jb_abs_max_ms: u16,
}

/// RFC 3611 §4.6 Statistics Summary, jitter in ms at the stream's clock rate.
#[derive(Debug, Clone, Serialize)]
pub struct StatisticsSummaryDto {
    /// First sequence number covered.
    pub begin_seq: u16,
    /// One past the last sequence number covered.
    pub end_seq: u16,
    /// Packets lost in the range.
    pub lost_packets: Option<u32>,
    /// Duplicate packets in the range.
    pub dup_packets: Option<u32>,
    /// Jitter minimum, ms.
    pub jitter_min_ms: Option<f64>,
    /// Jitter maximum, ms.
    pub jitter_max_ms: Option<f64>,
    /// Jitter mean, ms.
    pub jitter_mean_ms: Option<f64>,
    /// Jitter standard deviation, ms.
    pub jitter_dev_ms: Option<f64>,
}

/// The `rtcp` object of a stream whose SSRC some RTCP named.
fn rtcp_dto(s: &RtpStream) -> Option<RtcpDto<'_>> {
    use crate::media::rtcp::endpoint::units_to_ms;
    let r = s.rtcp.as_deref()?;
    let ms = |u: u32| units_to_ms(u, s.clock_rate).map(round3);
    Some(RtcpDto {
        reports: r.reports,
        fraction_lost_pct: r.fraction_lost_pct().map(round3),
        fraction_lost_max_pct: r.fraction_lost_max_pct().map(round3),
        cumulative_lost: r.cumulative_lost,
        jitter_ms: r.jitter_last.and_then(ms),
        jitter_max_ms: r.jitter_max.and_then(ms),
        sender_reports: r.sender_reports,
        sender_packets: r.sender_packets,
        sender_octets: r.sender_octets,
        cname: r.cname.as_deref(),
        name: r.name.as_deref(),
        tool: r.tool.as_deref(),
        reduced_size: r.reduced_size,
        rtt_ms: s.rtt_ms.map(round3),
        xr_rtt_ms: r.xr_rtt_ms.map(round3),
        voip_metrics: r.xr_voip.map(|m| VoipMetricsDto {
            loss_pct: round3(m.loss_pct()),
            discard_pct: round3(m.discard_pct()),
            burst_density_pct: round3(m.burst_density_pct()),
            gap_density_pct: round3(m.gap_density_pct()),
            burst_duration_ms: m.burst_duration,
            gap_duration_ms: m.gap_duration,
            round_trip_delay_ms: m.round_trip_delay,
            end_system_delay_ms: m.end_system_delay,
            signal_level_dbm: m.signal_dbm(),
            noise_level_dbm: m.noise_dbm(),
            rerl_db: m.rerl_db(),
            gmin: m.gmin,
            r_factor: m.r(),
            ext_r_factor: m.ext_r(),
            mos_lq: m.mos_lq(),
            mos_cq: m.mos_cq(),
            rx_config: m.rx_config,
            jb_nominal_ms: m.jb_nominal,
            jb_max_ms: m.jb_maximum,
            jb_abs_max_ms: m.jb_abs_max,
        }),
        voip_metrics_reports: r.xr_voip_reports,
        statistics_summary: r.xr_summary.map(|x| {
            let j = |i: usize| x.jitter.and_then(|j| j.get(i).copied()).and_then(ms);
            StatisticsSummaryDto {
                begin_seq: x.begin_seq,
                end_seq: x.end_seq,
                lost_packets: x.lost_packets,
                dup_packets: x.dup_packets,
                jitter_min_ms: j(0),
                jitter_max_ms: j(1),
                jitter_mean_ms: j(2),
                jitter_dev_ms: j(3),
            }
        }),
    })
}

/// One 5-second interval of a stream's quality (`streams[].quality[]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QualityPointDto {
    /// Start, seconds after the stream's first packet.
    pub t: u32,
    /// MOS over the interval, 2 decimals.
    pub mos: f64,
    /// Loss over the interval (network and jitter buffer), percent, 2 decimals.
    pub loss_pct: f64,
    /// RFC 3550 jitter at the end of the interval, ms, 2 decimals.
    pub jitter_ms: f64,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct FindingDto {
    /// 1-based id, referenced by `dialogs[].finding_ids`.
    pub id: usize,
    /// Rule id.
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Time of the first evidence.
    pub ts: f64,
    /// Call concerned.
    pub call_id: Option<String>,
    /// Source ip:port.
    pub src: Option<String>,
    /// Destination ip:port.
    pub dst: Option<String>,
    /// One line.
    pub summary: String,
    /// Frame numbers (1-based).
    pub evidence: Vec<u64>,
    /// What to do.
    pub advice: std::borrow::Cow<'static, str>,
}

/// A codec rendered as "PCMU/8000" (or the bare payload type when unknown) on output.
#[derive(Debug, Clone, Copy)]
pub struct CodecText<'a> {
    /// Payload type.
    pub pt: u8,
    /// Encoding name, empty when unknown.
    pub name: &'a str,
    /// Clock rate.
    pub rate: u32,
}

impl std::fmt::Display for CodecText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name.is_empty() {
            write!(f, "{}", self.pt)
        } else {
            write!(f, "{}/{}", self.name, self.rate)
        }
    }
}

impl Serialize for CodecText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The `Display` text built on the stack: `collect_str` formatted it into a new
        // `String` through the formatter, ~850 instructions per media line.
        let mut t = StackText::<48>::new();
        if self.name.is_empty() {
            t.push_digits(u64::from(self.pt));
        } else {
            t.push(self.name);
            t.push("/");
            t.push_digits(u64::from(self.rate));
        }
        match t.as_str() {
            Some(text) => s.serialize_str(text),
            None => s.collect_str(self),
        }
    }
}

impl CodecText<'_> {
    /// Appends the `Display` text as a JSON string (digits and `/` need no escape, so the
    /// name's escapes are the whole text's).
    fn write_compact(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        if self.name.is_empty() {
            json::write_u64(out, u64::from(self.pt));
        } else {
            json::write_str_contents(out, self.name);
            out.push(b'/');
            json::write_u64(out, u64::from(self.rate));
        }
        out.push(b'"');
    }
}

fn codec_list<'a>(an: &'a Analyzer, m: &MediaLine) -> Vec<CodecText<'a>> {
    m.formats
        .iter()
        .map(|(pt, name, rate)| CodecText {
            pt: *pt,
            name: if *name == Sym::EMPTY {
                ""
            } else {
                an.name(*name)
            },
            rate: *rate,
        })
        .collect()
}

fn media_dtos<'a>(an: &'a Analyzer, d: &Dialog) -> Vec<MediaDto<'a>> {
    // Sized exactly: a report of 100,000 calls holds one of these per call, and a
    // growing Vec would leave most of its capacity unused.
    let lines = d
        .sessions
        .iter()
        .filter_map(|s| d.sdp.get(s.offer))
        .map(|o| o.media.len())
        .sum();
    let mut out = Vec::with_capacity(lines);
    for s in &d.sessions {
        let Some(offer) = d.sdp.get(s.offer) else {
            continue;
        };
        let answer = s.answer.and_then(|a| d.sdp.get(a));
        for (i, o) in offer.media.iter().enumerate() {
            let a: Option<&MediaLine> = answer.and_then(|a| a.media.get(i));
            out.push(MediaDto {
                media: an.name(o.media),
                offer: o.addr.map(|x| x.get()),
                answer: a.and_then(|a| a.addr).map(|x| x.get()),
                proto: an.name(o.proto),
                codecs: codec_list(an, a.unwrap_or(o)),
                encrypted: o.encrypted && a.is_none_or(|a| a.encrypted),
                offer_frame: offer.frame,
                answer_frame: answer.map(|a| a.frame),
            });
        }
    }
    out
}

/// One stream's DTO at 1-based row `index` (its position in [`Analyzer::streams`]).
pub fn stream_dto<'a>(an: &'a Analyzer, index: usize, s: &'a RtpStream) -> StreamDto<'a> {
    let st = &s.stats;
    let expected = st.expected();
    let lost = st.lost().max(0) as u64;
    let qt = st.quality();
    let inputs = an.quality_inputs(s);
    let score = inputs.map(|(codec, rtt)| crate::media::quality::score(&qt.totals(), &codec, rtt));
    let srtp = s.srtp().filter(|x| x.applied());
    let srtcp = srtp.filter(|x| x.rtcp_decrypted + x.rtcp_auth_failed > 0);
    StreamDto {
        index,
        ssrc: s.ssrc,
        ssrc_hex: format!("0x{:08x}", s.ssrc),
        src: s.src,
        dst: s.dst,
        payload_type: s.payload_type,
        codec: s.codec.map(|c| an.name(c)),
        packets: st.packets(),
        expected,
        lost,
        lost_pct: if expected > 0 {
            round3(lost as f64 * 100.0 / expected as f64)
        } else {
            0.0
        },
        jitter_ms: round3(st.jitter_ms(s.clock_rate)),
        max_delta_ms: round3(st.max_delta_ns() as f64 / 1e6),
        delta_min_ms: st.delta_min_ms().map(round3),
        delta_mean_ms: round3(st.delta_mean_ms()),
        delta_max_ms: round3(st.delta_max_ms()),
        jitter_min_ms: st.jitter_min_ms().map(round3),
        jitter_mean_ms: round3(st.jitter_mean_ms()),
        jitter_max_ms: round3(st.jitter_max_ms()),
        sequence_errors: st.sequence_errors(),
        duplicates: st.duplicates(),
        out_of_order: st.out_of_order(),
        start: st.first_seen().map(|t| t.as_secs_f64()).unwrap_or(0.0),
        end: st.last_seen().map(|t| t.as_secs_f64()).unwrap_or(0.0),
        call_id: s.call_id.as_deref(),
        encrypted: s.encrypted,
        announced: s.announced,
        rtcp_packets: s.rtcp_packets,
        first_frame: s.first_frame,
        mos: score.map(|q| round2(q.mos)),
        r_factor: score.map(|q| round2(q.r)),
        quality_loss_pct: score.map(|q| round2(q.ppl)),
        jitter_buffer_discards: u64::from(qt.totals().late),
        burst_ratio: score.map(|q| round2(q.burst_r)),
        rtt_ms: inputs.and_then(|(_, r)| r).map(round3),
        delay_ms: score.map(|q| round2(q.delay_ms)),
        quality: match inputs {
            Some((codec, rtt)) => qt
                .intervals()
                .map(|i| QualityPointDto {
                    t: i.start_s,
                    mos: round2(crate::media::quality::score(&i.counts, &codec, rtt).mos),
                    loss_pct: round2(i.counts.loss_pct()),
                    jitter_ms: round2(f64::from(i.jitter_ms)),
                })
                .collect(),
            None => Vec::new(),
        },
        quality_intervals_dropped: qt.intervals_dropped(),
        srtp_decrypted: srtp.map(|x| x.decrypted),
        srtp_keys: srtp
            .map(|x| x.source())
            .filter(|k| *k != crate::engine::srtp::KeySource::Sdes)
            .map(|k| k.as_str()),
        srtp_auth_failed: srtp.map(|x| x.auth_failed),
        srtcp_decrypted: srtcp.map(|x| x.rtcp_decrypted),
        srtcp_auth_failed: srtcp.map(|x| x.rtcp_auth_failed),
        rtcp: rtcp_dto(s),
    }
}

/// The worse direction's MOS of dialog `d` (2 decimals), over its speech streams.
pub fn dialog_mos(an: &Analyzer, d: &Dialog) -> Option<f64> {
    an.streams_of(d)
        .iter()
        .filter_map(|s| an.stream_score(s))
        .map(|q| q.mos)
        .min_by(f64::total_cmp)
        .map(round2)
}

/// One dialog's DTO at 1-based row `index`, without its finding and stream ids (those
/// need the whole capture's lists; [`Report::build`] fills them). The live dashboard
/// builds the rows of the dialogs that changed with it, not the whole report.
pub fn dialog_dto<'a>(
    an: &'a Analyzer,
    d: &'a Dialog,
    index: usize,
    nat_index: &crate::nat::FlowIndex,
) -> DialogDto<'a> {
    DialogDto {
        index,
        call_id: &d.call_id,
        from: &d.from,
        to: &d.to,
        method: an.name(d.method),
        state: d.state.as_str(),
        final_status: d.final_status,
        start: d.start.as_secs_f64(),
        end: d.end.as_secs_f64(),
        duration_s: round3(d.end.since(d.start) as f64 / 1e9),
        talk_s: d.answered.map(|a| round3(d.end.since(a) as f64 / 1e9)),
        messages: d.message_count,
        retransmissions: d.retransmissions,
        duplicates: d.duplicates,
        transport: d.transport.as_str(),
        src: d.src.get(),
        dst: d.dst.get(),
        from_tag: d.from_tag.as_deref(),
        to_tags: &d.to_tags,
        user_agents: &d.user_agents,
        media: media_dtos(an, d),
        stream_ids: Vec::new(),
        rtcp_packets: d.rtcp_packets,
        mos: dialog_mos(an, d),
        finding_ids: Vec::new(),
        first_frame: d.messages.first().map(|m| m.frame).unwrap_or(0),
        nat: an.nat_view(d, nat_index),
        tls: tls_link(an, d),
        dtmf: dtmf_dtos(an, d),
        flow: Flow { an, dialog: d },
    }
}

impl<'a> Report<'a> {
    /// Builds the report from the engine's public model.
    pub fn build(an: &'a Analyzer, elapsed_ms: u64) -> Report<'a> {
        Self::build_with(an, elapsed_ms, false)
    }

    /// [`Report::build`] for writing JSON once: [`Report::dialogs`] and
    /// [`Report::findings`] stay empty and each dialog's and finding's DTO is built while
    /// [`Report::write_json`] writes it, then dropped (the DTOs of every dialog at once
    /// were a third of a report's memory). The counts in [`Report::summary`] are the
    /// same. Renderers and filters that read the lists need [`Report::build`] (or
    /// [`Report::materialize`]).
    pub fn build_streaming(an: &'a Analyzer, elapsed_ms: u64) -> Report<'a> {
        Self::build_with(an, elapsed_ms, true)
    }

    fn build_with(an: &'a Analyzer, elapsed_ms: u64, streamed: bool) -> Report<'a> {
        let findings = an.findings();
        let streams = an.streams();
        let stats = an.stats();
        let net = an.net_stats();

        // Moved, not cloned: a big capture has a finding per call. A streaming report
        // keeps them as they are and writes their DTOs one at a time.
        let mut by_sev = SeverityCounts::default();
        for f in &findings {
            by_sev.add(f.severity);
        }
        let (finding_dtos, kept): (Vec<FindingDto>, Vec<Finding>) = if streamed {
            (Vec::new(), findings)
        } else {
            let dtos = findings
                .into_iter()
                .enumerate()
                .map(|(i, f)| finding_dto(i + 1, f))
                .collect();
            (dtos, Vec::new())
        };

        let stream_dtos: Vec<StreamDto> = streams
            .iter()
            .enumerate()
            .map(|(i, s)| stream_dto(an, i + 1, s))
            .collect();

        let dialogs: Vec<DialogDto<'a>> = if streamed {
            Vec::new()
        } else {
            let ids = DialogIds::new(
                an,
                finding_dtos.iter().map(|f| (f.id, f.call_id.as_deref())),
            );
            let nat_index = an.nat_flow_index();
            an.dialogs()
                .enumerate()
                .map(|(i, d)| ids.fill(dialog_dto(an, d, i + 1, &nat_index), d))
                .collect()
        };
        let dialog_count = if streamed {
            an.dialogs().count()
        } else {
            dialogs.len()
        };

        let span = an.time_span();
        let mut link_types = stats.link_types.clone();
        for (lt, n) in &net.unknown_link_types {
            link_types
                .entry(crate::capture::LinkType(*lt).name())
                .or_insert(*n);
        }
        Report {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "siplens",
                version: env!("CARGO_PKG_VERSION"),
            },
            inputs: an.inputs().to_vec(),
            capture: an.capture_stats().to_vec(),
            hep_listeners: Vec::new(),
            summary: Summary {
                packets: stats.packets,
                bytes: stats.bytes,
                sip_messages: stats.sip_messages,
                dialogs: dialog_count as u64,
                calls: an.dialogs().filter(|d| d.invite_seen).count() as u64,
                rtp_streams: stream_dtos.len() as u64,
                rtp_packets: stats.rtp_packets,
                rtcp_packets: stats.rtcp_packets,
                findings_by_severity: by_sev,
                decode_errors: net.decode_errors() + stats.sip_malformed,
                first_ts: span.map(|s| s.0.as_secs_f64()),
                last_ts: span.map(|s| s.1.as_secs_f64()),
                duration_s: span
                    .map(|s| round3(s.1.since(s.0) as f64 / 1e9))
                    .unwrap_or(0.0),
                elapsed_ms,
                link_types,
                evictions: Evictions {
                    dialogs: stats.dialog_evictions,
                    streams: stats.stream_evictions,
                    media_bindings: stats.binding_evictions,
                    fragments: net.fragment_evictions,
                    tcp_streams: net.tcp_stream_evictions + net.tcp_memory_evictions,
                    tls_sessions: stats.tls_session_evictions,
                    tls_findings: stats.tls_findings_dropped,
                    attack_sources: stats.attack.source_evictions,
                    attack_pending: stats.attack.pending_evictions,
                    attack_findings: stats.attack.findings_dropped,
                    scanners: stats.scanner_overflow,
                    stun_pending: stats.stun.pending_evictions,
                    stun_clients: stats.stun.client_overflow,
                    cleartext_hops: stats.cleartext_hop_overflow,
                    auth_attempts: stats.auth_evicted_attempts_dropped,
                    keepalive_sources: stats.nat_keepalive_overflow,
                    undelivered: stats.undelivered_overflow,
                    dtmf_events: stats.dtmf_events_dropped,
                },
                engine: stats.clone(),
                net: net.clone(),
            },
            dialogs,
            streams: stream_dtos,
            findings: finding_dtos,
            filter: None,
            streamed: streamed.then_some(Streamed(an, kept)),
        }
    }

    /// Keeps only the calls with NAT trouble (`report --nat`): dialogs with a `nat.*`,
    /// `media.one-way` or `media.no-rtp` finding above info, their findings of those
    /// families and their streams. Capture counters stay those of the whole capture; the
    /// per-severity counts and [`Report::filter`] describe what is left.
    pub fn retain_nat(&mut self) {
        self.materialize();
        let is_nat = |f: &FindingDto| {
            f.severity > Severity::Info
                && (f.rule.starts_with("nat.")
                    || f.rule == "media.one-way"
                    || f.rule == "media.no-rtp")
        };
        let calls: HashSet<String> = self
            .findings
            .iter()
            .filter(|f| is_nat(f))
            .filter_map(|f| f.call_id.clone())
            .collect();
        self.retain(
            |d| calls.contains(d.call_id),
            |f| f.rule.starts_with("nat.") || f.rule.starts_with("media."),
        );
        self.filter_info().nat = true;
    }

    /// Keeps only the dialogs at `keep` (positions in [`Report::dialogs`], as a display
    /// filter selected them), their streams and their findings (`report -Y EXPR`).
    /// Findings of no call (a scanner, a cleartext hop) are left out: the filter picks calls.
    pub fn retain_dialogs(&mut self, keep: &[usize], expression: &str) {
        self.materialize();
        let ids: HashSet<String> = keep
            .iter()
            .filter_map(|&i| self.dialogs.get(i))
            .map(|d| d.call_id.to_string())
            .collect();
        self.retain(|d| ids.contains(d.call_id), |_| true);
        self.filter_info().expression = Some(expression.to_string());
    }

    /// Builds the dialog and finding DTOs a streaming report left to the writer
    /// ([`Report::dialogs`] and [`Report::findings`] are then what [`Report::build`] makes).
    pub fn materialize(&mut self) {
        if let Some(Streamed(an, findings)) = self.streamed.take() {
            self.findings = findings
                .into_iter()
                .enumerate()
                .map(|(i, f)| finding_dto(i + 1, f))
                .collect();
            let ids = DialogIds::new(
                an,
                self.findings.iter().map(|f| (f.id, f.call_id.as_deref())),
            );
            let nat_index = an.nat_flow_index();
            self.dialogs = an
                .dialogs()
                .enumerate()
                .map(|(i, d)| ids.fill(dialog_dto(an, d, i + 1, &nat_index), d))
                .collect();
        }
    }

    /// The filter record, made on the first filter with the capture's totals.
    fn filter_info(&mut self) -> &mut FilterInfo {
        let totals = (self.dialogs.len() as u64, self.findings.len() as u64);
        let info = self.filter.get_or_insert(FilterInfo {
            expression: None,
            nat: false,
            dialogs_shown: 0,
            dialogs_total: totals.0,
            findings_shown: 0,
            findings_total: totals.1,
        });
        info.dialogs_shown = self.dialogs.len() as u64;
        info.findings_shown = self.findings.len() as u64;
        info
    }

    /// Keeps the dialogs `keep_dialog` accepts, their streams, and those of their findings
    /// `keep_finding` accepts; recounts findings per severity over what is left.
    fn retain(
        &mut self,
        keep_dialog: impl Fn(&DialogDto<'a>) -> bool,
        keep_finding: impl Fn(&FindingDto) -> bool,
    ) {
        // A streaming report's dialogs are built now: the filters read them.
        self.materialize();
        // The capture's totals before anything goes, for the filter record.
        let _ = self.filter_info();
        self.dialogs.retain(|d| keep_dialog(d));
        let calls: HashSet<&str> = self.dialogs.iter().map(|d| d.call_id).collect();
        let streams: HashSet<usize> = self
            .dialogs
            .iter()
            .flat_map(|d| d.stream_ids.iter().copied())
            .collect();
        self.streams.retain(|s| streams.contains(&s.index));
        self.findings
            .retain(|f| keep_finding(f) && f.call_id.as_deref().is_some_and(|c| calls.contains(c)));
        self.summary.findings_by_severity = SeverityCounts::of(&self.findings);
    }

    /// Writes the JSON document following the contract in DESIGN.md, streaming (the
    /// document of a large capture is never held in memory whole). `pretty` indents it for
    /// people; compact output is a third of the size for scripts.
    ///
    /// Compact output of a large capture is written on two threads: the dialogs (most of
    /// the document) are serialised in blocks, alternately here and on a helper, and
    /// written in order, so the bytes are those of one thread and at most a few blocks are
    /// held at a time.
    pub fn write_json<W: Write>(&self, w: W, pretty: bool) -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(1 << 16, w);
        if pretty {
            serde_json::to_writer_pretty(&mut w, self).map_err(io::Error::from)?;
        } else if self.dialog_rows() >= crate::engine::PARALLEL_MIN_DIALOGS
            && crate::engine::parallelism() > 1
        {
            self.write_compact_parallel(&mut w, DIALOG_BLOCK)?;
        } else {
            json::to_writer(&mut w, self).map_err(io::Error::from)?;
        }
        w.write_all(b"\n")?;
        w.flush()
    }

    /// Dialog rows the JSON will hold (built while writing, for a streaming report).
    fn dialog_rows(&self) -> usize {
        match &self.streamed {
            Some(Streamed(an, _)) => an.dialog_count(),
            None => self.dialogs.len(),
        }
    }

    /// The compact document as `serde_json::to_writer` writes it (same keys, order and
    /// omissions as the derived `Serialize`; `compact_parallel_matches_serde` pins it),
    /// the `dialogs` array made by [`write_dialogs_parallel`].
    fn write_compact_parallel<W: Write>(&self, w: &mut W, block_len: usize) -> io::Result<()> {
        fn field<W: Write, T: Serialize + ?Sized>(
            w: &mut W,
            first: bool,
            key: &str,
            v: &T,
        ) -> io::Result<()> {
            if !first {
                w.write_all(b",")?;
            }
            json::to_writer(&mut *w, key).map_err(io::Error::from)?;
            w.write_all(b":")?;
            json::to_writer(&mut *w, v).map_err(io::Error::from)
        }
        w.write_all(b"{")?;
        field(w, true, "schema_version", &self.schema_version)?;
        field(w, false, "tool", &self.tool)?;
        field(w, false, "inputs", &self.inputs)?;
        if !self.capture.is_empty() {
            field(w, false, "capture", &self.capture)?;
        }
        if !self.hep_listeners.is_empty() {
            field(w, false, "hep_listeners", &self.hep_listeners)?;
        }
        field(w, false, "summary", &self.summary)?;
        w.write_all(b",\"dialogs\":")?;
        match &self.streamed {
            // Each block's rows are built where they are written, as `StreamedDialogs`
            // builds them one at a time.
            Some(Streamed(an, findings)) => {
                let ids = DialogIds::new(
                    an,
                    findings
                        .iter()
                        .enumerate()
                        .map(|(i, f)| (i + 1, f.call_id.as_deref())),
                );
                let nat_index = an.nat_flow_index();
                let dialogs: Vec<&Dialog> = an.dialogs().collect();
                write_seq_parallel(w, &dialogs, block_len, |buf, i, d| {
                    // The ids written from the index: the row holds no lists of them.
                    dialog_dto(an, d, i + 1, &nat_index)
                        .write_row(buf, Some(ids.of(d)))
                        .map_err(io::Error::from)
                })?;
                field(w, false, "streams", &self.streams)?;
                // A big capture has a finding per call: written on both threads too, in
                // blocks of about the size of a dialog block (~450 bytes a finding).
                let finding_block = block_len.saturating_mul(FINDINGS_PER_DIALOG_BLOCK);
                if findings.len() >= 2 * finding_block {
                    w.write_all(b",\"findings\":")?;
                    write_seq_parallel(w, findings, finding_block, |buf, i, f| {
                        FindingRef { id: i + 1, f }
                            .write_compact(buf)
                            .map_err(io::Error::from)
                    })?;
                } else {
                    field(w, false, "findings", &StreamedFindings(findings))?;
                }
            }
            None => {
                write_dialogs_parallel(w, &self.dialogs, block_len)?;
                field(w, false, "streams", &self.streams)?;
                field(w, false, "findings", &self.findings)?;
            }
        }
        if let Some(f) = &self.filter {
            field(w, false, "filter", f)?;
        }
        w.write_all(b"}")
    }
}

/// Dialogs per block of [`write_dialogs_parallel`]: about 330 KB of JSON for SIPp calls,
/// still large enough that handing a block over costs nothing (a few hundred hand-overs
/// for 26,000 calls). The blocks in flight are held at the report's peak, on top of
/// every dialog and finding: at 512 they were two buffers of 2 MB each (grown by
/// doubling), now about half a megabyte each.
const DIALOG_BLOCK: usize = 128;

/// Findings per dialog of a block when a streaming report's findings are written on two
/// threads (a finding is about a quarter of the JSON of a SIPp call).
const FINDINGS_PER_DIALOG_BLOCK: usize = 4;

/// Writes `dialogs` as one compact JSON array: the bytes of
/// `serde_json::to_writer(dialogs)`, made on two threads (see [`write_seq_parallel`]).
fn write_dialogs_parallel<W: Write>(
    w: &mut W,
    dialogs: &[DialogDto<'_>],
    block_len: usize,
) -> io::Result<()> {
    write_seq_parallel(w, dialogs, block_len, |buf, _, d| {
        d.write_compact(buf).map_err(io::Error::from)
    })
}

/// Writes `items` as one compact JSON array, `one(buf, index, item)` appending the
/// compact JSON of one item. Blocks of `block_len` items are serialised in pairs, the
/// first here and the second on a helper thread, and written in order, so the bytes are
/// those of one thread and at most three blocks are held at a time.
fn write_seq_parallel<W: Write, T: Sync>(
    w: &mut W,
    items: &[T],
    block_len: usize,
    one: impl Fn(&mut Vec<u8>, usize, &T) -> io::Result<()> + Sync,
) -> io::Result<()> {
    use std::sync::mpsc::sync_channel;
    let block_len = block_len.max(1);
    // Appends block `b`'s items to `buf`, each after a comma but the array's first.
    let block = |buf: &mut Vec<u8>, b: usize| -> io::Result<()> {
        let start = b.saturating_mul(block_len);
        let items = items.iter().enumerate().skip(start).take(block_len);
        for (i, item) in items {
            if i > 0 {
                buf.push(b',');
            }
            one(buf, i, item)?;
        }
        Ok(())
    };
    let blocks = items.len().div_ceil(block_len);
    w.write_all(b"[")?;
    std::thread::scope(|s| -> io::Result<()> {
        // Jobs are block numbers with a spare buffer; results come back in job order.
        let (job_tx, job_rx) = sync_channel::<(usize, Vec<u8>)>(1);
        let (done_tx, done_rx) = sync_channel::<io::Result<Vec<u8>>>(1);
        let block = &block;
        s.spawn(move || {
            for (b, mut buf) in job_rx {
                buf.clear();
                if done_tx.send(block(&mut buf, b).map(|()| buf)).is_err() {
                    break;
                }
            }
        });
        let mut mine = Vec::new();
        let mut spare = Vec::new();
        for pair in (0..blocks).step_by(2) {
            let theirs = pair + 1 < blocks;
            if theirs && job_tx.send((pair + 1, std::mem::take(&mut spare))).is_err() {
                return Err(io::Error::other("JSON writer thread stopped"));
            }
            mine.clear();
            block(&mut mine, pair)?;
            w.write_all(&mine)?;
            if theirs {
                let buf = done_rx
                    .recv()
                    .map_err(|_| io::Error::other("JSON writer thread stopped"))??;
                w.write_all(&buf)?;
                spare = buf;
            }
        }
        // Dropping the job sender ends the helper's loop; the scope joins it.
        drop(job_tx);
        Ok(())
    })?;
    w.write_all(b"]")
}

pub(crate) fn finding_dto(id: usize, f: Finding) -> FindingDto {
    FindingDto {
        id,
        rule: f.rule.as_str(),
        severity: f.severity,
        ts: f.ts.as_secs_f64(),
        call_id: f.call_id,
        src: f.src.map(|a| addr_string(a.into())),
        dst: f.dst.map(|a| addr_string(a.into())),
        summary: f.summary,
        evidence: f.evidence,
        advice: f.advice,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codec and address texts written without the formatter are their `Display` texts
    /// (a JSON string each), including the long-name fallback and IPv6.
    #[test]
    fn stack_texts_are_display_texts() {
        let long = "x".repeat(60);
        for c in [
            CodecText {
                pt: 0,
                name: "PCMU",
                rate: 8000,
            },
            CodecText {
                pt: 96,
                name: "",
                rate: 0,
            },
            CodecText {
                pt: 255,
                name: "",
                rate: 90000,
            },
            CodecText {
                pt: 101,
                name: "telephone-event",
                rate: u32::MAX,
            },
            CodecText {
                pt: 97,
                name: &long,
                rate: 48000,
            },
        ] {
            let want = serde_json::to_string(&c.to_string()).unwrap();
            assert_eq!(serde_json::to_string(&c).unwrap(), want);
        }
        let mut addrs = vec![
            "10.0.0.1:5060".to_string(),
            "255.255.255.255:65535".to_string(),
            "0.0.0.0:0".to_string(),
            "[2001:db8::1]:5060".to_string(),
        ];
        for port in [1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 10001, 65534] {
            addrs.push(format!("1.20.100.255:{port}"));
        }
        for a in &addrs {
            let a: SocketAddr = a.parse().unwrap();
            let want = serde_json::to_string(&a.to_string()).unwrap();
            assert_eq!(serde_json::to_string(&AddrText(a)).unwrap(), want);
        }
    }

    /// The two-thread compact writer gives the bytes of the derived `Serialize`, with any
    /// block size (one block, blocks of one dialog, a last block cut short) and with the
    /// optional fields present and absent.
    #[test]
    fn compact_parallel_matches_serde() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut an = crate::rules::analyzer(crate::engine::Limits::default());
        for name in [
            "scanner-svwar.pcap",
            "basic-call-rtp.pcap",
            "sdes-call-udp.pcap",
        ] {
            let mut src = crate::capture::open_path(&dir.join(name)).unwrap();
            an.run_source(&mut src, &mut |_, _| {});
        }
        let mut report = Report::build(&an, 7);
        assert!(
            report.dialogs.len() > 10,
            "{} dialogs",
            report.dialogs.len()
        );
        let check = |report: &Report<'_>| {
            let want = serde_json::to_vec(report).unwrap();
            for block in [1, 2, 3, 7, report.dialog_rows(), 100_000] {
                let mut got = Vec::new();
                report.write_compact_parallel(&mut got, block).unwrap();
                assert!(got == want, "block {block}: output differs");
            }
        };
        check(&report);
        // A streaming report builds its rows while writing: the same bytes again.
        let streamed = Report::build_streaming(&an, 7);
        check(&streamed);
        assert!(serde_json::to_vec(&streamed).unwrap() == serde_json::to_vec(&report).unwrap());
        report.hep_listeners = vec![HepListenerStats::default()];
        report.capture = vec![CaptureStats::default()];
        report.retain_nat();
        assert!(report.filter.is_some());
        check(&report);
        report.dialogs.clear();
        check(&report);
    }

    /// A dialog's flow (one lent buffer for the whole array under the compact writer) is
    /// the array of its entries for every serializer: ours, `serde_json` compact and pretty.
    #[test]
    fn flow_matches_its_entries() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut an = crate::rules::analyzer(crate::engine::Limits::default());
        for name in [
            "basic-call-rtp.pcap",
            "sdes-call-udp.pcap",
            "scanner-svwar.pcap",
        ] {
            let mut src = crate::capture::open_path(&dir.join(name)).unwrap();
            an.run_source(&mut src, &mut |_, _| {});
        }
        let report = Report::build(&an, 7);
        assert!(!report.dialogs.is_empty());
        for d in &report.dialogs {
            let entries: Vec<FlowEntry<'_>> = d.flow.entries().collect();
            let want = serde_json::to_string(&entries).unwrap();
            assert_eq!(serde_json::to_string(&d.flow).unwrap(), want);
            let mut ours = Vec::new();
            json::to_writer(&mut ours, &d.flow).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), want);
            assert_eq!(
                serde_json::to_string_pretty(&d.flow).unwrap(),
                serde_json::to_string_pretty(&entries).unwrap()
            );
        }
    }

    proptest::proptest! {
        /// The table-built address text of a flow entry is serde's, for any IPv4 address
        /// and port (and IPv6 through the fallback).
        #[test]
        fn flow_addr_is_serde_text(ip: u32, port: u16, v6: u128) {
            for a in [
                SocketAddr::from((std::net::Ipv4Addr::from(ip), port)),
                SocketAddr::from((std::net::Ipv4Addr::from(ip % 256), port % 100)),
                SocketAddr::from((std::net::Ipv6Addr::from(v6), port)),
            ] {
                let mut out = b"[".to_vec();
                write_addr(&mut out, &a).unwrap();
                let want = format!("[{}", serde_json::to_string(&a).unwrap());
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), want);
            }
        }
    }

    /// A flow entry is written as `#[derive(Serialize)]` wrote it: by the compact writer
    /// (which takes the entry's own text through the DIRECT newtype), by `serde_json`
    /// compact and pretty (which see the derived form), alone and inside a sequence.
    #[test]
    fn flow_entry_matches_derived() {
        #[derive(Serialize)]
        #[serde(rename = "FlowEntry")]
        struct Derived<'a> {
            frame: u64,
            ts: f64,
            #[serde(serialize_with = "ser_addr")]
            src: SocketAddr,
            #[serde(serialize_with = "ser_addr")]
            dst: SocketAddr,
            transport: &'static str,
            label: &'a str,
            cseq: Option<CSeqText<'a>>,
            retransmission: bool,
            duplicate: bool,
            sdp: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            hep: Option<crate::hep::HepMeta>,
        }
        fn derived<'a>(e: &FlowEntry<'a>) -> Derived<'a> {
            Derived {
                frame: e.frame,
                ts: e.ts,
                src: e.src,
                dst: e.dst,
                transport: e.transport,
                label: e.label,
                cseq: e.cseq,
                retransmission: e.retransmission,
                duplicate: e.duplicate,
                sdp: e.sdp,
                hep: e.hep,
            }
        }
        let v4: SocketAddr = "10.0.0.1:5060".parse().unwrap();
        let v4b: SocketAddr = "255.255.255.255:0".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:5061".parse().unwrap();
        let long = "L".repeat(70);
        let mut entries = Vec::new();
        for (i, (src, dst)) in [(v4, v4b), (v6, v4), (v4b, v6)].into_iter().enumerate() {
            for (j, label) in ["INVITE", "200 OK", "4\"0\\0\n\u{1}", "", &long, "é ü"]
                .into_iter()
                .enumerate()
            {
                let k = i * 6 + j;
                entries.push(FlowEntry {
                    frame: [0, 1, 9, 10, u64::MAX, 45_500][k % 6],
                    ts: [
                        1.7e9 + 0.123456,
                        0.0,
                        -1.5,
                        1e-7,
                        f64::NAN,
                        1_733_500_000.000001,
                    ][(k / 2) % 6],
                    src,
                    dst,
                    transport: ["udp", "tcp", "tls", "w\"s"][k % 4],
                    label,
                    cseq: match k % 3 {
                        0 => None,
                        1 => Some(CSeqText(k as u32, "INVITE")),
                        _ => Some(CSeqText(u32::MAX, "M\"e\\t\r")),
                    },
                    retransmission: k % 2 == 0,
                    duplicate: k % 3 == 0,
                    sdp: k % 5 == 0,
                    hep: (k % 4 == 1).then_some(crate::hep::HepMeta {
                        version: 3,
                        capture_id: (k % 8 == 1).then_some(2001),
                        agent: [v4, v6][k % 2],
                    }),
                });
            }
        }
        for e in &entries {
            let want = serde_json::to_string(&derived(e)).unwrap();
            assert_eq!(serde_json::to_string(e).unwrap(), want);
            let mut ours = Vec::new();
            json::to_writer(&mut ours, e).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), want);
            let mut appended = b"x".to_vec();
            json::append(&mut appended, e).unwrap();
            assert_eq!(appended, [&b"x"[..], want.as_bytes()].concat());
            assert_eq!(
                serde_json::to_string_pretty(e).unwrap(),
                serde_json::to_string_pretty(&derived(e)).unwrap()
            );
        }
        let all: Vec<Derived<'_>> = entries.iter().map(derived).collect();
        let want = serde_json::to_string(&all).unwrap();
        let mut ours = Vec::new();
        json::to_writer(&mut ours, &entries).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), want);
        assert_eq!(serde_json::to_string(&entries).unwrap(), want);
        assert_eq!(
            serde_json::to_string_pretty(&entries).unwrap(),
            serde_json::to_string_pretty(&all).unwrap()
        );
    }

    /// Every serializer's bytes for a dialog row: ours compact (the DIRECT newtype, alone
    /// and in a sequence), the row's own writer, and `serde_json` compact and pretty of the
    /// derived form.
    fn row_is_derived(d: &DialogDto<'_>) {
        let want = serde_json::to_string(&DialogDerived::of(d)).unwrap();
        assert_eq!(serde_json::to_string(d).unwrap(), want);
        let mut ours = Vec::new();
        json::to_writer(&mut ours, d).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), want);
        let mut direct = b"x".to_vec();
        d.write_compact(&mut direct).unwrap();
        assert_eq!(direct, [&b"x"[..], want.as_bytes()].concat());
        let mut seq = Vec::new();
        json::to_writer(&mut seq, &[d, d][..]).unwrap();
        assert_eq!(String::from_utf8(seq).unwrap(), format!("[{want},{want}]"));
        assert_eq!(
            serde_json::to_string_pretty(d).unwrap(),
            serde_json::to_string_pretty(&DialogDerived::of(d)).unwrap()
        );
    }

    /// The analyzer of samples with every optional part of a dialog row: media with and
    /// without answers, NAT views, TLS links, DTMF, IPv6, HEP, findings and streams.
    fn sample_analyzer() -> Analyzer {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut an = crate::rules::analyzer(crate::engine::Limits::default());
        for name in [
            "basic-call-rtp.pcap",
            "sdes-call-udp.pcap",
            "scanner-svwar.pcap",
            "dtmf-info.pcap",
            "dtmf-rfc4733.pcap",
            "ipv6-call.pcap",
            "nat-one-way-wan.pcap",
            "nat-latching-wan.pcap",
            "clean-tls-srtp.pcap",
            "invite-407.pcap",
            "rtcp-call.pcap",
        ] {
            let mut src = crate::capture::open_path(&dir.join(name)).unwrap();
            an.run_source(&mut src, &mut |_, _| {});
        }
        an
    }

    /// Real dialog rows (with media, NAT views, DTMF, IPv6, finding and stream ids) are
    /// written by the compact writer as their derived form is.
    #[test]
    fn dialog_rows_match_derived() {
        let an = sample_analyzer();
        let report = Report::build(&an, 7);
        assert!(report.dialogs.len() > 10);
        assert!(report.dialogs.iter().any(|d| d.nat.is_some()));
        assert!(report.dialogs.iter().any(|d| !d.dtmf.is_empty()));
        assert!(report.dialogs.iter().any(|d| !d.media.is_empty()));
        assert!(report.dialogs.iter().any(|d| d.src.is_ipv6()));
        assert!(report.dialogs.iter().any(|d| !d.finding_ids.is_empty()));
        for d in &report.dialogs {
            row_is_derived(d);
        }
    }

    /// Edge values in every field of a row: escapes, non-ASCII, NaN and infinities,
    /// the largest integers, empty lists, absent optional fields and present rare ones.
    #[test]
    fn dialog_row_edge_values_match_derived() {
        let an = sample_analyzer();
        let report = Report::build(&an, 7);
        let base = report
            .dialogs
            .iter()
            .find(|d| !d.media.is_empty())
            .unwrap()
            .clone();
        let tricky = "a\"b\\c\r\n\t\u{1}\u{1f}\u{7f} é\u{2028}😀";
        let tags = vec![String::new(), tricky.to_string(), "t".repeat(70)];
        let agents: Vec<std::sync::Arc<str>> = tags.iter().map(|t| t.as_str().into()).collect();
        let v6: SocketAddr = "[2001:db8::1]:5060".parse().unwrap();
        let v4: SocketAddr = "255.255.255.255:65535".parse().unwrap();
        let mut rows = Vec::new();
        for k in 0..6 {
            let mut d = base.clone();
            let f = [
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.0,
                1e300,
                1.5e-7,
            ][k];
            d.index = [0, 1, 9, 10, usize::MAX, 123][k];
            d.call_id = ["", tricky, "plain@host", "x\"", "é", "0123456789abcdef"][k];
            d.from = [tricky, "", "sip:a@b", "\\", "😀", "1234567"][k];
            d.to = d.from;
            d.method = ["INVITE", "", tricky, "M", "Ü", "OPTIONS"][k];
            d.final_status = [None, Some(0), Some(u16::MAX), Some(200), None, Some(9)][k];
            d.start = f;
            d.end = [0.0, f, 1_796_596_054.455_817, f, 2.0, f64::MIN_POSITIVE][k];
            d.duration_s = f;
            d.talk_s = [None, Some(f), Some(0.003), None, Some(f64::NAN), Some(1.0)][k];
            d.mos = [
                Some(f),
                None,
                Some(4.41),
                Some(f64::INFINITY),
                None,
                Some(1.0),
            ][k];
            d.messages = [0, u64::MAX, 7, 10, 99, 100][k];
            d.retransmissions = u64::MAX - k as u64;
            d.duplicates = k as u64;
            d.rtcp_packets = [u64::MAX, 0, 1, 2, 3, 4][k];
            d.first_frame = [0, u64::MAX, 1, 10, 100, 1000][k];
            d.src = [v4, v6, v4, v6, base.src, base.dst][k];
            d.dst = [v6, v4, v4, base.src, base.dst, v6][k];
            d.from_tag = [None, Some(""), Some(tricky), Some("tag"), None, Some("😀")][k];
            d.to_tags = tags.get(..k % 4).unwrap_or(&tags);
            d.user_agents = agents.get(k % 3..).unwrap_or_default();
            d.stream_ids = [vec![], vec![1], vec![usize::MAX, 0, 10]][k % 3].clone();
            d.finding_ids = [vec![3, 4], vec![], vec![usize::MAX]][k % 3].clone();
            d.state = ["completed", "", "a\"b", "x", "y", "z"][k];
            d.transport = ["UDP", "TCP", "", "T\\LS", "WSS", "SCTP"][k];
            for (j, m) in d.media.iter_mut().enumerate() {
                m.media = [tricky, "audio", ""][(j + k) % 3];
                m.proto = ["RTP/AVP", "", tricky][(j + k) % 3];
                m.offer = [None, Some(v6), Some(v4)][k % 3];
                m.answer = [Some(v4), None, Some(v6)][k % 3];
                m.encrypted = k % 2 == 0;
                m.offer_frame = [0, u64::MAX][k % 2];
                m.answer_frame = [None, Some(u64::MAX), Some(0)][k % 3];
                m.codecs = vec![
                    CodecText {
                        pt: 255,
                        name: "",
                        rate: 0,
                    },
                    CodecText {
                        pt: 0,
                        name: tricky,
                        rate: u32::MAX,
                    },
                    CodecText {
                        pt: 8,
                        name: &tags[2],
                        rate: 8000,
                    },
                ]
                .into_iter()
                .take(k % 4)
                .collect();
            }
            if k == 4 {
                d.media.clear();
            }
            if k % 2 == 1 {
                d.tls = Some(TlsLinkDto {
                    client: v4,
                    server: v6,
                    version: [None, Some(tricky.to_string())][k / 2 % 2].clone(),
                    cipher: Some("TLS_AES_128_GCM_SHA256".into()),
                    sni: None,
                    certificate: Some(String::new()),
                    first_frame: u64::MAX,
                });
                d.dtmf = vec![DtmfDto {
                    digit: "•",
                    ts: f,
                    duration_ms: [None, Some(u32::MAX)][k / 2 % 2],
                    via: "info",
                    frame: u64::MAX,
                    src: v6,
                    dst: v4,
                    cleartext: true,
                }];
            } else {
                d.tls = None;
                d.dtmf.clear();
            }
            rows.push(d);
        }
        for d in &rows {
            row_is_derived(d);
        }
        // In a sequence, as the report holds them.
        let want = serde_json::to_string(&rows).unwrap();
        let mut ours = Vec::new();
        json::to_writer(&mut ours, &rows).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), want);
    }

    /// A streamed report's findings (written by their own writer, alone or on two
    /// threads) are the bytes of their [`FindingDto`]s, with escapes, non-ASCII, absent
    /// and IPv6 addresses, empty and huge evidence.
    #[test]
    fn streamed_findings_match_dtos() {
        use crate::model::finding::RuleId;
        let tricky = "q\"b\\s\r\n\u{1} é😀\u{2028}";
        let v6: SocketAddr = "[::ffff:192.0.2.1]:0".parse().unwrap();
        let v4: SocketAddr = "10.0.0.1:5060".parse().unwrap();
        let mut all = Vec::new();
        for k in 0..8 {
            let mut f = Finding::new(
                [RuleId("media.cleartext-rtp"), RuleId("x\"y")][k % 2],
                Severity::ALL[k % 5],
                crate::capture::Timestamp([0, u64::MAX, 1_796_596_054_455_817_000][k % 3]),
            );
            if k % 3 != 0 {
                f = f.call([tricky, "", "1-8616@127.0.0.1"][k % 3]);
            }
            f.src = [None, Some(v4.into()), Some(v6.into())][k % 3];
            f.dst = [Some(v6.into()), None, Some(v4.into())][k % 3];
            f.summary = [tricky.to_string(), String::new(), "s".repeat(300)][k % 3].clone();
            f.evidence = [vec![], vec![u64::MAX, 0, 1], (0..32).collect()][k % 3].clone();
            f.advice = [
                std::borrow::Cow::Borrowed(""),
                std::borrow::Cow::Owned(tricky.to_string()),
                std::borrow::Cow::Borrowed("Use SRTP."),
            ][k % 3]
                .clone();
            all.push(f);
        }
        let dtos: Vec<FindingDto> = all
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, f)| finding_dto(i + 1, f))
            .collect();
        let want = serde_json::to_string(&dtos).unwrap();
        let streamed = StreamedFindings(&all);
        assert_eq!(serde_json::to_string(&streamed).unwrap(), want);
        let mut ours = Vec::new();
        json::to_writer(&mut ours, &streamed).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), want);
        for block in [1, 3, 100] {
            let mut got = Vec::new();
            write_seq_parallel(&mut got, &all, block, |buf, i, f| {
                FindingRef { id: i + 1, f }
                    .write_compact(buf)
                    .map_err(io::Error::from)
            })
            .unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want);
        }
        assert_eq!(
            serde_json::to_string_pretty(&streamed).unwrap(),
            serde_json::to_string_pretty(&dtos).unwrap()
        );
    }

    proptest::proptest! {
        /// Addresses written through a dialog's address texts are those written one by
        /// one, in any order of repeats (IPv6 passing through).
        #[test]
        fn addr_texts_are_addr_texts(picks in proptest::collection::vec(0usize..5, 0..20), ip: u32, port: u16) {
            let addrs = [
                SocketAddr::from((std::net::Ipv4Addr::from(ip), port)),
                SocketAddr::from((std::net::Ipv4Addr::from(ip), port.wrapping_add(1))),
                SocketAddr::from((std::net::Ipv4Addr::from(ip ^ 1), port)),
                "[2001:db8::1]:5060".parse().unwrap(),
                "0.0.0.0:0".parse().unwrap(),
            ];
            let mut cache = AddrTexts::default();
            let (mut got, mut want) = (Vec::new(), Vec::new());
            for &p in &picks {
                cache.write(&mut got, &addrs[p]).unwrap();
                write_addr(&mut want, &addrs[p]).unwrap();
            }
            proptest::prop_assert_eq!(got, want);
        }
    }

    /// The hand-written address and CSeq texts are byte for byte what serde and
    /// `Display` wrote before (the JSON goldens depend on it).
    #[test]
    fn fast_texts_match_serde() {
        #[derive(Serialize)]
        struct A(#[serde(serialize_with = "ser_addr")] SocketAddr);
        #[derive(Serialize)]
        struct O(#[serde(serialize_with = "ser_opt_addr")] Option<SocketAddr>);
        assert_eq!(serde_json::to_string(&O(None)).unwrap(), "null");
        for a in [
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.0.0.1:5060",
            "192.168.100.7:10",
            "1.22.133.4:9",
            "[2001:db8::1]:5060",
            "[::ffff:192.0.2.1]:0",
        ] {
            let a: SocketAddr = a.parse().unwrap();
            assert_eq!(
                serde_json::to_string(&A(a)).unwrap(),
                serde_json::to_string(&a).unwrap()
            );
            assert_eq!(
                serde_json::to_string(&O(Some(a))).unwrap(),
                serde_json::to_string(&a).unwrap()
            );
            assert_eq!(addr_string(a), a.to_string());
        }
        for (n, m) in [
            (0, "INVITE"),
            (4_294_967_295, "BYE"),
            (7, "A\"quoted\\method"),
            (1, &"X".repeat(100)[..]),
        ] {
            assert_eq!(
                serde_json::to_string(&CSeqText(n, m)).unwrap(),
                serde_json::to_string(&format!("{n} {m}")).unwrap()
            );
        }
    }
}
