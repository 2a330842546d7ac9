//! The analysis engine: turns decoded segments into dialogs, media sessions, RTP streams
//! and findings.
//!
//! One [`Analyzer`] serves every front end (report, dashboard, live). It is deterministic:
//! time only comes from packet timestamps, tables are bounded by [`Limits`] and every
//! eviction is counted.

pub mod changes;
mod dialog;
pub mod dtls;
pub mod limits;
pub mod pipeline;
pub mod raw;
pub mod rule;
pub mod srtp;
pub mod state;
mod table;

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash};

use rustc_hash::{FxBuildHasher, FxHashMap};
use std::net::SocketAddr;

use serde::Serialize;

use crate::capture::{Frame, FrameRef, FrameSource, Lent, LinkType, Timestamp};
use crate::config::Config;
use crate::media::{self, MediaKind};
use crate::model::{AttackStats, AuthAttempt, DtmfEvent, DtmfVia, Seen, StunStats};
use crate::net::{self, Decoder, NetLimits, NetStats, Segment, Transport};
use crate::sdp;
use crate::sip::{self, MessageView, StartLine};

pub use crate::model::{
    Finding, MediaLine, MediaSession, RuleId, SdpRecord, Severity, Sym, Symbols, MAX_EVIDENCE,
};
pub use raw::{LazyRaw, RawAt, RawFiles, RawText};
pub use rule::{
    conclude_every_dialog, ConclusionCache, FindingsDelta, Malformed, MediaEvent, MessageCtx, Rule,
    SdpCtx, Undelivered,
};
pub use state::{DialogState, Event};

/// Bounds on every table the engine keeps. Defaults suit a laptop and days of traffic.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Dialogs (Call-IDs) kept at once; the oldest finished ones are evicted first.
    pub max_dialogs: usize,
    /// RTP streams kept at once.
    pub max_streams: usize,
    /// Announced media addresses remembered for binding RTP to calls.
    pub max_media_bindings: usize,
    /// Message records kept per dialog (the count goes on past it).
    pub max_messages_per_dialog: usize,
    /// DTMF digits kept per dialog (RFC 4733 events, SIP INFO, KPML); past it they are
    /// counted in [`EngineStats::dtmf_events_dropped`] (`summary.evictions.dtmf_events`).
    /// A fixed input-sanity cap: a call keys in a PIN or a card number, not thousands.
    pub max_dtmf_per_dialog: usize,
    /// Total bytes of raw SIP text copied for the raw view and filters (0: copy none, as
    /// the `report` command does since it prints no message text). Messages of a file that
    /// can be re-read keep a locator instead ([`RawText::At`]), which this does not count.
    pub max_raw_bytes: usize,
    /// Findings kept for the malformed-message rule (the count goes on past it).
    pub max_malformed_findings: usize,
    /// Distinct method names and start-line labels kept (reason phrases are free text).
    pub max_symbols: usize,
    /// Findings of evicted dialogs kept one by one; past it they are counted per rule and
    /// summarised in one finding each (their conclusion is kept, not every instance).
    pub max_evicted_findings: usize,
    /// DTLS associations on media flows followed for DTLS-SRTP keying ([`dtls`]); past
    /// it the least recently active is evicted (`engine.dtls.evictions`).
    pub max_dtls_sessions: usize,
    /// Network decode limits (fragments, TCP streams).
    pub net: NetLimits,
    /// TLS handshake tracker limits (sessions, ended queue, partial handshake bytes).
    pub tls: crate::tls::TlsLimits,
    /// NAT troubleshooting tables (keepalive sources).
    pub nat: crate::nat::NatLimits,
    /// Per-family rule tables (attack sources, STUN transactions, cleartext hops...).
    pub rules: limits::RuleLimits,
    /// Report-side tables (dialog event tracker, eviction ids of the change feed).
    pub report: limits::ReportLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_dialogs: 200_000,
            max_streams: 100_000,
            max_media_bindings: 400_000,
            max_messages_per_dialog: 2_000,
            max_dtmf_per_dialog: 256,
            max_raw_bytes: 512 << 20,
            max_malformed_findings: 1_000,
            max_symbols: 65_536,
            max_evicted_findings: 10_000,
            max_dtls_sessions: 4096,
            net: NetLimits::default(),
            tls: crate::tls::TlsLimits::default(),
            nat: crate::nat::NatLimits::default(),
            rules: limits::RuleLimits::default(),
            report: limits::ReportLimits::default(),
        }
    }
}

/// Media lines kept per SDP body, and payload types kept per media line: real offers
/// stay far below these, hostile ones must not grow a dialog without bound.
pub const MAX_MEDIA_LINES: usize = 16;
/// See [`MAX_MEDIA_LINES`].
pub const MAX_FORMATS: usize = 32;

/// SDP bodies recorded per dialog; later ones still bind media but are not stored.
pub const MAX_SDP_PER_DIALOG: usize = 64;
// A message record keeps the SDP index plus one in a byte.
const _: () = assert!(MAX_SDP_PER_DIALOG < u8::MAX as usize);

/// Transaction keys remembered per dialog before the ones past the retransmission horizon
/// are pruned.
const SEEN_PRUNE_AT: usize = 256;

/// How long a message can be retransmitted: 64*T1 (RFC 3261 §17.1.1.2), with margin.
const RETRANSMISSION_HORIZON_NS: u64 = 64_000_000_000;

/// Distinct To tags kept per dialog (a forking storm must not grow a dialog without bound).
pub const MAX_TO_TAGS: usize = 16;

/// Copies of a message closer together than this are duplicate captures, not retransmissions.
pub const DUPLICATE_WINDOW_NS: u64 = 10_000_000;

/// Streams remembered per dialog for [`Analyzer::streams_of`] (the rules read a dialog's
/// streams when it is evicted).
pub const MAX_STREAMS_PER_DIALOG: usize = 64;

/// Unannounced RTP (no SDP named its address) is listed only after this many packets, so
/// that random UDP that happens to look like an RTP header is not reported as a stream.
pub const MIN_HEURISTIC_RTP_PACKETS: u64 = 8;

/// Engine-level counters (network counters live in [`NetStats`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct EngineStats {
    /// Frames handed to the engine.
    pub packets: u64,
    /// Bytes captured in those frames.
    pub bytes: u64,
    /// Frames per link type.
    pub link_types: BTreeMap<String, u64>,
    /// SIP messages parsed (including malformed ones that still had a start line).
    pub sip_messages: u64,
    /// SIP requests.
    pub sip_requests: u64,
    /// SIP responses.
    pub sip_responses: u64,
    /// Messages that failed to parse or broke RFC 3261 rules.
    pub sip_malformed: u64,
    /// Messages without a Call-ID (cannot be grouped).
    pub sip_without_call_id: u64,
    /// Requests and responses sent again (RFC 3261 §17 timers).
    pub sip_retransmissions: u64,
    /// Messages captured twice within a few milliseconds (two interfaces, SPAN copies).
    pub sip_duplicates: u64,
    /// Messages with bare LF line endings.
    pub sip_lf_only: u64,
    /// Requests by method.
    pub methods: BTreeMap<String, u64>,
    /// Responses by status code.
    pub status_codes: BTreeMap<u16, u64>,
    /// SDP bodies parsed.
    pub sdp_bodies: u64,
    /// SDP bodies not recorded because a dialog reached [`MAX_SDP_PER_DIALOG`].
    pub sdp_records_dropped: u64,
    /// Credentials not recorded because a dialog reached `rules::auth::MAX_ATTEMPTS`.
    pub auth_attempts_dropped: u64,
    /// RTP packets.
    pub rtp_packets: u64,
    /// DTMF digits recorded (RFC 4733 events, SIP INFO, KPML; absent from the JSON while
    /// zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub dtmf_events: u64,
    /// DTMF digits not recorded because a dialog reached [`Limits::max_dtmf_per_dialog`]
    /// (absent from the JSON while zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub dtmf_events_dropped: u64,
    /// RTCP packets (compound datagrams count once).
    pub rtcp_packets: u64,
    /// RTCP datagrams holding a packet of a known type that could not be read, by
    /// reason ([`media::rtcp::RtcpError::as_str`]); absent from the JSON while empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub rtcp_malformed: BTreeMap<&'static str, u64>,
    /// STUN messages.
    pub stun_packets: u64,
    /// DTLS records.
    pub dtls_packets: u64,
    /// DTLS associations on media flows and their DTLS-SRTP keys ([`dtls::DtlsStats`];
    /// absent from the JSON while no DTLS was seen).
    #[serde(skip_serializing_if = "dtls::DtlsStats::is_empty")]
    pub dtls: dtls::DtlsStats,
    /// UDP datagrams that are neither SIP nor recognised media.
    pub other_udp: u64,
    /// CRLF keepalives over UDP (RFC 5626 §4.4.1).
    pub udp_keepalives: u64,
    /// Dialogs created.
    pub dialogs_created: u64,
    /// Dialogs evicted by [`Limits::max_dialogs`].
    pub dialog_evictions: u64,
    /// Streams evicted by [`Limits::max_streams`].
    pub stream_evictions: u64,
    /// Media bindings evicted by [`Limits::max_media_bindings`].
    pub binding_evictions: u64,
    /// Message records not kept because a dialog reached its record limit.
    pub message_records_dropped: u64,
    /// Raw SIP bytes not kept because of [`Limits::max_raw_bytes`].
    pub raw_bytes_dropped: u64,
    /// Malformed-message findings not kept because of [`Limits::max_malformed_findings`].
    pub malformed_findings_dropped: u64,
    /// Labels (start lines) not interned because of [`Limits::max_symbols`].
    pub symbol_overflow: u64,
    /// Findings of evicted dialogs summarised per rule instead of listed, because of
    /// [`Limits::max_evicted_findings`] (absent from the JSON while zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub evicted_findings_summarised: u64,
    /// TLS sessions (SIP over TLS or not) whose handshake was tracked.
    pub tls_sessions: u64,
    /// TLS sessions evicted by `Limits::tls.max_sessions` (their findings are kept).
    pub tls_session_evictions: u64,
    /// Findings of ended TLS sessions not kept because of
    /// `Limits::rules.tls_retired_findings` (absent from the JSON while zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub tls_findings_dropped: u64,
    /// Authentication attempts of evicted dialogs not kept for the cross-dialog auth rules
    /// because of `Limits::rules.auth_evicted_attempts` (absent from the JSON while zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub auth_evicted_attempts_dropped: u64,
    // Media, transport and end-to-end security (rules::media, rules::transport, rules::e2e).
    /// ZRTP packets (RFC 6189).
    pub zrtp_packets: u64,
    /// SIP messages on cleartext hops past `Limits::rules.cleartext_hops` (counted, not listed).
    pub cleartext_hop_overflow: u64,
    /// SIP messages quoted in ICMP Destination Unreachable errors: sent, never delivered
    /// (`sip.undelivered`). Not counted in `sip_messages`.
    pub sip_undelivered: u64,
    /// ICMP errors quoting a UDP datagram that is not SIP (RTP to a closed port...).
    pub undelivered_other: u64,
    /// Undelivered SIP messages past `Limits::rules.undelivered` (counted, not listed).
    pub undelivered_overflow: u64,
    /// Security records (SDP facts, sips:/TLS references, S/MIME bodies, Identity
    /// headers) not kept because a dialog reached its caps.
    pub security_records_dropped: u64,
    /// Attack rules (scan.sweep, scan.enumeration, dos.flood, fraud.toll): what their
    /// bounded per-source tables could not keep.
    pub attack: AttackStats,
    /// Scanner sightings not recorded because `Limits::rules.scanners` was reached.
    pub scanner_overflow: u64,
    /// STUN Binding transactions and what their bounded tables could not keep (nat.stun).
    pub stun: StunStats,
    // NAT troubleshooting (crate::nat, rules::nat).
    /// NAT facts (parties, SDP addresses, ACK/BYE marks) not kept because a dialog's
    /// `nat` record reached its caps.
    pub nat_records_dropped: u64,
    /// Keepalive sources not recorded because `Limits::nat.max_keepalive_sources` was reached.
    pub nat_keepalive_overflow: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where a run over batches stands: what the engine thread of a file run keeps between
/// batches ([`Analyzer::analyze_batch`]).
struct BatchRun {
    /// Where key logs of secrets blocks come from, for their errors.
    name: String,
    /// Index of the input in [`Analyzer::inputs`].
    input: u32,
    /// True once the input's file was noted for re-reading raw messages.
    located: bool,
    /// Frames analysed so far.
    frames: u64,
    /// The first bad key log's error.
    warning: Option<String>,
    /// True when the per-frame hook stopped the run.
    stopped: bool,
}

impl BatchRun {
    /// A run over the batches of input number `input`, whose secrets blocks come from
    /// `name`.
    fn new(name: String, input: usize) -> BatchRun {
        BatchRun {
            name,
            input: u32::try_from(input).unwrap_or(u32::MAX),
            located: false,
            frames: 0,
            warning: None,
            stopped: false,
        }
    }
}

/// Where the key logs of secrets blocks in frames given to [`Analyzer::prepare`] come
/// from, for their errors.
const PREPARED_SECRETS: &str = "prepared frames: decryption secrets block";

/// One input file and what happened while reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputInfo {
    /// Name as given on the command line.
    pub name: String,
    /// Frames read.
    pub frames: u64,
    /// Link types of its interfaces.
    pub link_types: Vec<String>,
    /// A warning when the input stopped early (truncated or corrupt), or when a pcapng
    /// Decryption Secrets Block held a key log that could not be read.
    pub warning: Option<String>,
}

/// One SIP message as the engine keeps it: small, owned. A capture holds one per message
/// (millions), so it is packed to 64 bytes: the addresses are indexes into the dialog's
/// endpoints (most messages of a dialog go between its first two; read them with
/// [`Dialog::src_of`] and [`Dialog::dst_of`]), the SDP index one byte
/// ([`MAX_SDP_PER_DIALOG`] fits), and the HEP envelope most messages lack is kept by the
/// dialog ([`Dialog::hep_of`]).
#[derive(Debug, Clone)]
pub struct MessageRecord {
    /// Frame number (1-based, across all inputs).
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// The raw message: where it is in the input file when that can be re-read, else a
    /// copy (shared, not copied again, with the dashboard's snapshots) while the raw budget
    /// lasts. Read it with [`Analyzer::raw_files`].
    pub raw: RawText,
    /// CSeq number and method.
    pub cseq: Option<(u32, Sym)>,
    /// "INVITE" or "200 OK" style summary of the start line.
    pub label: Sym,
    /// Source and destination as endpoint indexes of the dialog ([`Dialog::endpoint`]).
    ends: [u16; 2],
    /// Index into [`Dialog::sdp`] plus one, 0 when the message carried none.
    sdp: u8,
    /// Transport.
    pub transport: Transport,
    /// True when this is a retransmission of an earlier message.
    pub retransmission: bool,
    /// True when this is the same packet captured again (not a retransmission).
    pub duplicate: bool,
}

impl MessageRecord {
    /// Index into [`Dialog::sdp`] when the message carried SDP.
    pub fn sdp(&self) -> Option<u32> {
        self.sdp.checked_sub(1).map(u32::from)
    }
}

/// Endpoints a dialog keeps beyond its first two, for its message records: past it (a
/// hostile dialog hopping addresses) messages from new addresses are counted in
/// [`EngineStats::message_records_dropped`] instead of recorded.
pub const MAX_EXTRA_ENDPOINTS: usize = 1024;

/// What a new SDP body does to the dialog's offer/answer state (RFC 3264 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpAction {
    /// It answers the pending offer (it comes from the other side).
    Answer,
    /// It is the offer or answer of the last exchange again, seen on another hop (same
    /// transaction, same side): a proxy relayed it. Recorded, but no new exchange.
    Copy,
    /// It starts a new offer/answer exchange.
    Offer,
}

/// Classifies an SDP body from `from_caller`'s side in transaction `cseq`, given the
/// exchanges so far. Pure, so the pairing reads as a table.
pub fn sdp_action(
    sessions: &[MediaSession],
    sdp: &[SdpRecord],
    from_caller: bool,
    cseq: Option<u32>,
) -> SdpAction {
    let Some(last) = sessions.last() else {
        return SdpAction::Offer;
    };
    let offer_side = sdp.get(last.offer).map(|o| o.from_caller);
    if last.answer.is_none() && offer_side.is_some_and(|side| side != from_caller) {
        return SdpAction::Answer;
    }
    // Same transaction (a 183 and the 200 repeating the answer, or a relayed copy): the
    // exchange is already known. A new transaction from either side is a new offer.
    if cseq.is_some() && last.cseq == cseq {
        return SdpAction::Copy;
    }
    SdpAction::Offer
}

/// One dialog: everything with the same Call-ID.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// Creation order (stable id inside one run).
    pub id: u64,
    /// Call-ID header value.
    pub call_id: String,
    /// From URI of the first message (one allocation with `to` and `from_tag`).
    pub from: crate::model::Text,
    /// To URI of the first message.
    pub to: crate::model::Text,
    /// From tag of the initial request.
    pub from_tag: Option<crate::model::Text>,
    /// Distinct To tags seen in responses (forks and legs): in place when one, as a
    /// dialog without forking has (the dialog stays in the same allocator class).
    pub to_tags: crate::model::List<String>,
    /// Method of the first request (or of the CSeq when the capture starts mid-dialog).
    pub method: Sym,
    /// Current state.
    pub state: DialogState,
    /// Final status of the initial transaction, if any.
    pub final_status: Option<u16>,
    /// First message time.
    pub start: Timestamp,
    /// Last message time.
    pub end: Timestamp,
    /// Time the call was answered (2xx to the INVITE).
    pub answered: Option<Timestamp>,
    /// Messages seen (including retransmissions).
    pub message_count: u64,
    /// Retransmissions seen.
    pub retransmissions: u64,
    /// Transport of the first message.
    pub transport: Transport,
    /// Source of the first message (packed, as every dialog keeps it).
    pub src: crate::model::Addr,
    /// Destination of the first message.
    pub dst: crate::model::Addr,
    /// User-Agent of the caller, Server/User-Agent of the callee (shared between the
    /// dialogs naming the same product).
    pub user_agents: std::sync::Arc<[std::sync::Arc<str>]>,
    /// Message records (bounded).
    pub messages: Vec<MessageRecord>,
    /// SDP bodies.
    pub sdp: Vec<SdpRecord>,
    /// Offer/answer pairs: the first in place (most dialogs with SDP have one).
    pub sessions: crate::model::List<MediaSession>,
    /// RTCP packets sent to or from an address this dialog's SDP announced.
    pub rtcp_packets: u64,
    /// True once an INVITE request was seen (a call, as tshark and sngrep count them).
    pub invite_seen: bool,
    /// Messages that were exact copies captured again within a few milliseconds.
    pub duplicates: u64,
    /// Transaction keys with their first time: a short list (a call has a handful of
    /// transactions), searched linearly, cheaper than a hash table's smallest allocation;
    /// the first in place (most dialogs have one).
    seen: crate::model::List<(u64, Timestamp)>,
    initial_cseq: Option<u32>,
    memo: sip::ValueMemo,
    /// The streams bound to this dialog (at most [`MAX_STREAMS_PER_DIALOG`]; past it,
    /// [`Analyzer::streams_of`] scans the stream table).
    stream_keys: Vec<StreamKey>,
    stream_keys_overflow: bool,
    /// The `finished` queue entry that stands for this dialog (0: none).
    finished_seq: u64,
    /// NAT troubleshooting (crate::nat): per-party advertised vs observed addresses.
    pub nat: crate::nat::DialogNat,
    /// What few dialogs have (malformed messages, retransmissions, challenges and
    /// credentials, more than two endpoints, HEP envelopes), allocated with the first: 8
    /// bytes in every dialog.
    rare: Option<Box<DialogRare>>,
}

/// The rarely filled part of a [`Dialog`].
#[derive(Debug, Clone, Default)]
struct DialogRare {
    /// Malformed messages in this dialog (frames).
    malformed_frames: Vec<u64>,
    /// Frames of retransmitted messages (bounded by [`MAX_EVIDENCE`]).
    retransmission_frames: Vec<u64>,
    /// Labels of retransmitted messages with counts.
    retransmitted: BTreeMap<Sym, u64>,
    /// Frame of the latest 401/407 challenge.
    last_challenge: Option<u64>,
    /// Addresses of the message records besides [`Dialog::src`] and [`Dialog::dst`]
    /// (endpoint indexes 2 and up).
    endpoints: Vec<SocketAddr>,
    /// Requests that carried credentials (bounded by [`crate::model::auth::MAX_ATTEMPTS`]).
    auth: Vec<AuthAttempt>,
    /// HEP envelopes of the message records that arrived HEP-encapsulated, by index in
    /// [`Dialog::messages`] (ascending; at most one per record, so bounded as they are).
    hep: Vec<(u32, crate::hep::HepMeta)>,
    /// DTMF digits, in the order their first packet was seen (bounded by
    /// [`Limits::max_dtmf_per_dialog`]).
    dtmf: Vec<DtmfEvent>,
    /// SDES master keys of its SDP bodies (at most [`srtp::MAX_SDES_KEYS`]), to decrypt
    /// the SRTP streams bound to it.
    sdes: Vec<srtp::SdesKey>,
}

/// What [`Dialog::retransmitted`] returns for a dialog without retransmissions.
static NO_RETRANSMISSIONS: BTreeMap<Sym, u64> = BTreeMap::new();

impl Dialog {
    /// True for INVITE dialogs: the initial method (or CSeq method) is INVITE.
    pub fn is_call(&self) -> bool {
        self.method == Sym::INVITE
    }

    /// Malformed messages in this dialog (frames).
    pub fn malformed_frames(&self) -> &[u64] {
        self.rare.as_ref().map_or(&[], |r| &r.malformed_frames)
    }

    /// Frames of retransmitted messages (bounded by [`MAX_EVIDENCE`]).
    pub fn retransmission_frames(&self) -> &[u64] {
        self.rare.as_ref().map_or(&[], |r| &r.retransmission_frames)
    }

    /// Labels of retransmitted messages with counts.
    pub fn retransmitted(&self) -> &BTreeMap<Sym, u64> {
        self.rare
            .as_ref()
            .map_or(&NO_RETRANSMISSIONS, |r| &r.retransmitted)
    }

    /// HEP: capture agent and capture id of message record `index` (in
    /// [`Dialog::messages`]) when it arrived HEP-encapsulated.
    pub fn hep_of(&self, index: usize) -> Option<&crate::hep::HepMeta> {
        let hep = &self.rare.as_ref()?.hep;
        let i = u32::try_from(index).ok()?;
        let at = hep.binary_search_by_key(&i, |(k, _)| *k).ok()?;
        hep.get(at).map(|(_, h)| h)
    }

    /// Requests that carried credentials (bounded by [`crate::model::auth::MAX_ATTEMPTS`]):
    /// kept with the rare part, as challenges are (most calls carry none).
    pub fn auth(&self) -> &[AuthAttempt] {
        self.rare.as_ref().map_or(&[], |r| &r.auth)
    }

    /// DTMF digits (RFC 4733 events, SIP INFO, KPML), in the order they started; kept
    /// with the rare part, as most calls key in none.
    pub fn dtmf(&self) -> &[DtmfEvent] {
        self.rare.as_ref().map_or(&[], |r| &r.dtmf)
    }

    /// Records one digit, unless the dialog holds `max` already (then counted in
    /// `stats`). Returns its index in [`Self::dtmf`], to update its duration later.
    fn note_dtmf(&mut self, ev: DtmfEvent, max: usize, stats: &mut EngineStats) -> Option<u32> {
        let list = &mut self.rare_mut().dtmf;
        if list.len() >= max {
            stats.dtmf_events_dropped += 1;
            return None;
        }
        stats.dtmf_events += 1;
        push_small(list, ev);
        u32::try_from(list.len() - 1).ok()
    }

    /// SDES master keys of its SDP bodies (RFC 4568), oldest first.
    pub fn sdes_keys(&self) -> &[srtp::SdesKey] {
        self.rare.as_ref().map_or(&[], |r| &r.sdes)
    }

    /// Frame of the latest 401/407 challenge.
    fn last_challenge(&self) -> Option<u64> {
        self.rare.as_ref().and_then(|r| r.last_challenge)
    }

    /// The rare part, allocated now if it was not.
    fn rare_mut(&mut self) -> &mut DialogRare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The address of endpoint index `i` of this dialog's message records: 0 and 1 are
    /// [`Self::src`] and [`Self::dst`], the others kept aside.
    pub fn endpoint(&self, i: u16) -> SocketAddr {
        match i {
            0 => self.src.get(),
            1 => self.dst.get(),
            _ => self
                .rare
                .as_ref()
                .and_then(|r| r.endpoints.get(usize::from(i) - 2))
                .copied()
                .unwrap_or(self.src.get()),
        }
    }

    /// Source address of one of this dialog's message records.
    pub fn src_of(&self, m: &MessageRecord) -> SocketAddr {
        self.endpoint(m.ends[0])
    }

    /// Destination address of one of this dialog's message records.
    pub fn dst_of(&self, m: &MessageRecord) -> SocketAddr {
        self.endpoint(m.ends[1])
    }

    /// The endpoint index of `a`, added to the dialog's endpoints when new (None once
    /// [`MAX_EXTRA_ENDPOINTS`] are kept).
    fn endpoint_index(&mut self, a: SocketAddr) -> Option<u16> {
        if self.src == a {
            return Some(0);
        }
        if self.dst == a {
            return Some(1);
        }
        let endpoints = &mut self.rare_mut().endpoints;
        if let Some(i) = endpoints.iter().position(|e| *e == a) {
            return u16::try_from(i + 2).ok();
        }
        if endpoints.len() >= MAX_EXTRA_ENDPOINTS {
            return None;
        }
        push_small(endpoints, a);
        u16::try_from(endpoints.len() + 1).ok()
    }
}

/// Per-stream record.
#[derive(Debug, Clone)]
pub struct RtpStream {
    /// Synchronisation source.
    pub ssrc: u32,
    /// Source address.
    pub src: SocketAddr,
    /// Destination address.
    pub dst: SocketAddr,
    /// Payload type of the first packet.
    pub payload_type: u8,
    /// Codec name when known from SDP or the static table.
    pub codec: Option<Sym>,
    /// Clock rate used for the RFC 3550 jitter (8000 Hz when nothing names one).
    pub clock_rate: u32,
    /// Clock rate Wireshark's RTP analysis takes for [`payload_type`](Self::payload_type)
    /// ([`media::analysis_clock_rate`]; 0: none).
    pub packet_rate: u32,
    /// Dialog it belongs to.
    pub dialog: Option<u64>,
    /// Call-ID of that dialog (kept so the stream outlives an evicted dialog).
    pub call_id: Option<String>,
    /// True when its SDP profile is SRTP/DTLS-SRTP.
    pub encrypted: bool,
    /// True when an SDP announced its address.
    pub announced: bool,
    /// First frame.
    pub first_frame: u64,
    /// RTCP packets whose sender SSRC is this stream's.
    pub rtcp_packets: u64,
    /// Sequence, loss and jitter statistics.
    pub stats: media::StreamStats,
    /// Round trip between the capture point and this stream's receiver, ms, from the
    /// last report block that echoed one of this stream's SRs (RFC 3550 §6.4.1; see
    /// [`media::rtcp::round_trip_ns`]).
    pub rtt_ms: Option<f64>,
    /// The last SR this stream's source sent: middle NTP bits, and when it was seen.
    last_sr: Option<(u32, Timestamp)>,
    /// The last XR Receiver Reference Time this stream's source sent (RFC 3611 §4.4),
    /// as [`last_sr`](Self::last_sr): for a DLRR to echo.
    last_rrtr: Option<(u32, Timestamp)>,
    /// What the endpoints reported about this stream in RTCP (None until some did).
    pub rtcp: Option<Box<media::rtcp::endpoint::EndpointReports>>,
    /// SRTP decryption with the SDES keys of its dialog's SDP (None: no key applied).
    srtp: Option<Box<srtp::SrtpState>>,
    /// The last payload type other than [`payload_type`](Self::payload_type) seen (DTMF
    /// events, comfort noise) with its analysis clock rate, so that a stream alternating
    /// between two types looks the SDP up once, not per packet.
    alt_rate: Option<(u8, u32)>,
    /// The telephone-event payload type and its clock rate (RFC 4733 §7.1.1), from the
    /// SDP that bound the stream (PT 101 at 8000 Hz when the binding SDP line is unknown).
    pub dtmf_pt: Option<(u8, u32)>,
    /// The RFC 4733 event being received, to merge its packets into one digit.
    dtmf_track: Option<DtmfTrack>,
    order: u64,
}

/// The RFC 4733 event a stream is sending: every packet of one event carries the same RTP
/// timestamp (the event's start, §2.5.1.2), with a growing duration, and the end packet
/// (E bit) is sent three times (§2.5.1.4).
#[derive(Debug, Clone, Copy)]
struct DtmfTrack {
    rtp_ts: u32,
    event: u8,
    ended: bool,
    /// Time of its last packet.
    last: Timestamp,
    /// Its index in the dialog's [`Dialog::dtmf`] (None: the dialog's list was full).
    index: Option<u32>,
}

/// A packet of an ended event's RTP timestamp and code arriving this long after its last
/// packet, without the E bit, starts a new event: RFC 4733 gives every event a new
/// timestamp, but a replayed recording (SIPp's `play_pcap_audio` sending the same digit
/// twice) repeats it; a late, reordered packet of the same event comes much sooner.
const DTMF_RESTART_NS: u64 = 100_000_000;

impl RtpStream {
    /// What decrypting it with its dialog's SDES keys gave (None when no key applied:
    /// plain RTP, DTLS-SRTP, or SRTP keyed out of the capture's sight).
    pub fn srtp(&self) -> Option<&srtp::SrtpState> {
        self.srtp.as_deref()
    }

    /// The analysis clock rate already known for payload type `pt` (`None`: look it up).
    fn rate_of(&self, pt: u8) -> Option<u32> {
        if pt == self.payload_type {
            return Some(self.packet_rate);
        }
        self.alt_rate.filter(|(p, _)| *p == pt).map(|(_, r)| r)
    }
}

/// Where an RTCP datagram went, to find the streams it speaks of.
struct RtcpFlow {
    src: SocketAddr,
    dst: SocketAddr,
    /// The call whose SDP announced one of its addresses.
    dialog: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct StreamKey {
    src: SocketAddr,
    dst: SocketAddr,
    ssrc: u32,
}

#[derive(Debug, Clone, Copy)]
struct Binding {
    dialog: u64,
    rtcp: bool,
    order: u64,
}

/// Media bindings by address. IPv4 addresses (nearly all) are keyed by address and port
/// packed in a `u64`: an entry is 32 bytes instead of 56 with a `SocketAddr` key, so the
/// table (hundreds of thousands of announcements, two per call) takes fewer cache lines,
/// and comparing keys is one instruction. A flood binds two new addresses per INVITE,
/// each evicting the oldest: misses in this table were a tenth of its run.
#[derive(Default)]
struct Bindings {
    v4: FxHashMap<u64, Binding>,
    v6: FxHashMap<std::net::SocketAddrV6, Binding>,
}

fn v4_key(a: &std::net::SocketAddrV4) -> u64 {
    (u64::from(u32::from(*a.ip())) << 16) | u64::from(a.port())
}

impl Bindings {
    fn get(&self, a: &SocketAddr) -> Option<&Binding> {
        match a {
            SocketAddr::V4(a) => self.v4.get(&v4_key(a)),
            SocketAddr::V6(a) => self.v6.get(a),
        }
    }

    /// Binds `a`; true when it was not bound before.
    fn insert(&mut self, a: SocketAddr, b: Binding) -> bool {
        match a {
            SocketAddr::V4(a) => self.v4.insert(v4_key(&a), b).is_none(),
            SocketAddr::V6(a) => self.v6.insert(a, b).is_none(),
        }
    }

    /// Unbinds `a` if its binding is the one made `order`-th (not a later re-binding);
    /// true when it did. One probe, where a look-up then a removal were two.
    fn remove_made(&mut self, a: &SocketAddr, order: u64) -> bool {
        use std::collections::hash_map::Entry;
        fn take<K>(e: Entry<'_, K, Binding>, order: u64) -> bool {
            match e {
                Entry::Occupied(e) if e.get().order == order => {
                    e.remove();
                    true
                }
                _ => false,
            }
        }
        match a {
            SocketAddr::V4(a) => take(self.v4.entry(v4_key(a)), order),
            SocketAddr::V6(a) => take(self.v6.entry(*a), order),
        }
    }

    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

/// The analysis engine.
pub struct Analyzer {
    limits: Limits,
    decoder: Decoder,
    stats: EngineStats,
    inputs: Vec<InputInfo>,
    frame_base: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    dialogs: table::DialogTable,
    /// Dialogs in the order they finished, as (id, the dialog's `finished_seq` then): the
    /// eviction victims, oldest first. Stale entries (evicted, reopened or finished again
    /// later) are skipped when met and compacted away, so a victim costs O(1) amortised.
    finished: std::collections::VecDeque<(u64, u64)>,
    /// Numbers the entries of `finished`.
    finished_seq: u64,
    by_call_id: CallIds,
    symbols: Symbols,
    next_dialog: u64,
    bindings: Bindings,
    /// Bindings in the order they were made, as (address, order): the oldest is evicted
    /// first without a scan; entries of re-bound addresses are skipped when met.
    binding_queue: std::collections::VecDeque<(SocketAddr, u64)>,
    next_binding: u64,
    streams: FxHashMap<StreamKey, RtpStream>,
    next_stream: u64,
    ssrc_index: FxHashMap<u32, StreamKey>,
    raw_bytes: usize,
    /// Input files message locators point into.
    raw_files: std::sync::Arc<RawFiles>,
    /// The frame being processed: its input and the file offset of its data (when the
    /// input can be re-read), and where its bytes are in memory, to tell which payloads
    /// are slices of it.
    origin: Option<(u32, u64)>,
    frame_data: (usize, usize),
    /// Findings added from outside (the password audit) and those of evicted dialogs
    /// (up to [`Limits::max_evicted_findings`]).
    findings: Vec<Finding>,
    /// What the evicted dialogs' findings past the bound said, per rule.
    evicted: EvictedFindings,
    label_buf: String,
    /// The last label of each status code's slot (`response_label`).
    labels: [Option<Label>; LABEL_SLOTS],
    /// User-Agent and Server values shared by the dialogs.
    agents: dialog::Agents,
    /// The header list of the last SIP message, emptied: the next one is parsed into it
    /// ([`sip::parse_message_in`]), one allocation for the run instead of one a message.
    header_buf: Vec<sip::Header<'static>>,
    /// Header lists of messages the reader thread parsed, emptied, going back to it with
    /// their batch ([`pipeline`]).
    header_pool: Vec<Vec<sip::Header<'static>>>,
    /// The symbol of each standard method, once interned (`method_sym`).
    method_syms: [Option<Sym>; sip::Method::KNOWN],
    show_secrets: bool,
    /// SIP over TLS: handshake tracker (its sessions go to the rules).
    tls: crate::tls::TlsTracker,
    /// The rule families, in registration order ([`Self::add_rule`]).
    rules: Vec<Box<dyn Rule>>,
    /// The configuration the rules were given (kept to re-apply a changed threshold).
    config: Config,
    spare: Vec<Segment<'static>>,
    /// Decrypted SRTP/SRTCP packets are written here, one buffer for all streams.
    srtp_buf: Vec<u8>,
    /// DTLS associations of media flows and the SRTP keys derived for them.
    dtls: dtls::DtlsTable,
    /// SRTP master keys the user gave (`--srtp-key`).
    user_srtp_keys: Vec<srtp::UserKey>,
    /// NAT troubleshooting: CRLF/STUN/OPTIONS keepalives per address (crate::nat).
    nat_keepalives: crate::nat::KeepaliveTable,
    /// HEP sending (crate::hep::send): sees every SIP message and RTCP packet.
    tap: Option<Tap>,
    /// Audio export (crate::audio): sees every RTP packet of a bound stream.
    media_tap: Option<MediaTap>,
    /// Live capture (crate::live): per-interface capture and drop counters.
    capture_stats: Vec<crate::capture::CaptureStats>,
    /// What changed since the live dashboard last asked (off unless tracked).
    changes: changes::ChangeLog,
}

/// What a tap ([`Analyzer::set_tap`]) is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapKind {
    /// A SIP message (well-formed or not).
    Sip,
    /// An RTCP packet.
    Rtcp,
}

/// A callback seeing segments as the engine classifies them.
pub type Tap = Box<dyn FnMut(TapKind, &Segment<'_>) + Send + Sync>;

/// One RTP packet of a stream bound to a dialog, as a media tap
/// ([`Analyzer::set_media_tap`]) sees it: its header, and its payload in clear when it
/// has one (plain RTP, or SRTP the stream's SDES keys authenticated and decrypted).
#[derive(Debug, Clone, Copy)]
pub struct MediaPacket<'a> {
    /// Frame number (1-based, across inputs).
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Source address.
    pub src: SocketAddr,
    /// Destination address.
    pub dst: SocketAddr,
    /// The dialog the stream is bound to.
    pub dialog: u64,
    /// Its Call-ID.
    pub call_id: &'a str,
    /// The RTP header (sequence, timestamp, payload type, SSRC).
    pub header: &'a media::RtpHeader,
    /// The stream's payload type (its first packet's; [`Self::header`] has this one's).
    pub stream_pt: u8,
    /// Codec name of [`Self::stream_pt`] from the SDP that bound the stream (None when
    /// it names none: the RFC 3551 static table applies).
    pub codec: Option<&'a str>,
    /// RTP clock rate of [`Self::stream_pt`].
    pub clock_rate: u32,
    /// The telephone-event payload type of the stream's SDP (RFC 4733 §7.1.1).
    pub dtmf_pt: Option<u8>,
    /// The SDP profile is SRTP or DTLS-SRTP.
    pub encrypted: bool,
    /// The payload in clear (padding excluded); None when the packet is encrypted and
    /// was not decrypted (no key, a key that did not authenticate it, DTLS-SRTP).
    pub payload: Option<&'a [u8]>,
}

/// A callback seeing every RTP packet of a bound stream ([`MediaPacket`]).
pub type MediaTap = Box<dyn FnMut(&MediaPacket<'_>) + Send + Sync>;

/// An emptied segment buffer with another lifetime ([`pipeline::relifetime`]).
fn recycle<'b>(v: Vec<Segment<'_>>) -> Vec<Segment<'b>> {
    pipeline::relifetime(v)
}

/// Pushes onto a per-dialog list growing 1, 2, 4, 8...: `Vec` starts at 4 (or 8) slots,
/// and most dialogs keep one or a few records of each kind (a flood INVITE keeps one
/// message, one SDP, one offer), so the spare slots were most of their cost.
pub(super) fn push_small<T>(v: &mut Vec<T>, x: T) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len().max(1));
    }
    v.push(x);
}

/// Pushes onto a per-dialog list sized to its contents when the dialog finished
/// ([`Analyzer::note_finished`]): growing by an eighth (at least one) keeps the 200 OK to
/// a BYE, or a retransmission after it, from doubling the list again (a call finished by
/// its BYE held 6 records in 12 slots), and stays amortised if a dialog goes on long after.
pub(super) fn push_tight<T>(v: &mut Vec<T>, x: T, finished: bool) {
    if finished && v.len() == v.capacity() {
        v.reserve_exact((v.len() / 8).max(1));
    }
    push_small(v, x);
}

/// Messages of a plain call: INVITE, 100, 180, 200, ACK, BYE and its 200.
pub(super) const CALL_MESSAGES: usize = 7;

/// Pushes a message record: one slot for the first (a flood's INVITE keeps one), then
/// room for a whole call at the second, so a call's list is allocated twice instead of
/// growing at its 2nd, 3rd and 5th message and again after the BYE (a reallocation per
/// message of a signaling capture, on average). Past that, [`push_tight`].
fn push_message(v: &mut Vec<MessageRecord>, x: MessageRecord, finished: bool) {
    if v.len() == 1 && v.capacity() == 1 {
        v.reserve_exact(CALL_MESSAGES - 1);
    }
    push_tight(v, x, finished);
}

/// How many entries to evict from a full table of `len` entries: a sixteenth, at least one.
fn evict_batch(len: usize) -> usize {
    (len / 16).max(1).min(len)
}

/// Slots of the response label memo: calls answer with a handful of status codes. A code
/// goes to slot `code % 61` (61 is prime): 100, 180, 183, 200, 401, 404, 407, 486 and 487
/// each get their own.
const LABEL_SLOTS: usize = 61;

/// Longest reason phrase a label slot remembers: the standard ones are shorter, and a
/// slot's buffer stays small whatever a peer sends.
const MAX_LABEL_REASON: usize = 64;

/// A response label as interned: its status code, reason phrase bytes and symbol.
#[derive(Debug)]
struct Label {
    status: u16,
    reason: Vec<u8>,
    sym: Sym,
}

/// The symbol of the label `"<status> <reason>"` of a response ("200 OK"). The label of
/// the same status and reason bytes as the last one in its slot is that one's symbol
/// (interning the same text gives the same symbol, and the table never drops a name);
/// otherwise it is built in `buf`, without the formatter (a `write!` per response was
/// ~400 instructions of `fmt` machinery), and interned.
fn response_label(
    symbols: &mut Symbols,
    memo: &mut [Option<Label>; LABEL_SLOTS],
    buf: &mut String,
    status: u16,
    reason: &[u8],
) -> Sym {
    let slot = memo.get_mut(usize::from(status) % LABEL_SLOTS);
    if let Some(Some(l)) = slot.as_deref() {
        if l.status == status && *l.reason == *reason {
            return l.sym;
        }
    }
    buf.clear();
    push_decimal(buf, status);
    buf.push(' ');
    buf.push_str(&crate::bytes::lossy(reason));
    match symbols.intern(buf) {
        // Past the bound, keep at least the status code (not remembered).
        Sym::OTHER => symbols.intern(&status.to_string()),
        sym => {
            // A slot's buffer is reused: reasons alternating on one status code cost no
            // allocation per response.
            match slot {
                _ if reason.len() > MAX_LABEL_REASON => {}
                Some(Some(l)) => {
                    l.status = status;
                    l.reason.clear();
                    l.reason.extend_from_slice(reason);
                    l.sym = sym;
                }
                Some(empty) => {
                    *empty = Some(Label {
                        status,
                        reason: reason.to_vec(),
                        sym,
                    })
                }
                None => {}
            }
            sym
        }
    }
}

/// The symbol of a method's name. A standard method's is interned once and then read from
/// `cache`: interning it again would give the same symbol (the table never drops a name),
/// at the cost of hashing and comparing the name, twice a message. Extension methods, and
/// a name the full table refused, are interned each time, as before.
fn method_sym(
    symbols: &mut Symbols,
    cache: &mut [Option<Sym>; sip::Method::KNOWN],
    m: &sip::Method<'_>,
) -> Sym {
    let slot = m.known_index().and_then(|i| cache.get_mut(i));
    if let Some(Some(sym)) = slot.as_deref() {
        return *sym;
    }
    let sym = symbols.intern(m.as_str());
    if let Some(slot) = slot {
        if sym != Sym::OTHER {
            *slot = Some(sym);
        }
    }
    sym
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    // FxHash has no random seed, so the engine stays deterministic.
    FxBuildHasher.hash_one(t)
}

/// Where a segment was seen, as rule records keep it.
fn seen(seg: &Segment<'_>) -> Seen {
    Seen {
        frame: seg.frame,
        ts: seg.ts,
        src: seg.src.into(),
        dst: seg.dst.into(),
        transport: seg.transport,
    }
}

/// Appends `n` in decimal, as `Display` writes it.
fn push_decimal(out: &mut String, n: u16) {
    for &d in crate::bytes::decimal(u64::from(n), &mut [0u8; 20]) {
        out.push(char::from(d));
    }
}

fn lossy(b: &[u8]) -> String {
    crate::bytes::lossy(b).into_owned()
}

impl Analyzer {
    /// A new engine with the given limits and no rule: register rule families with
    /// [`Self::add_rule`] (`rules::analyzer` builds an engine with the default set).
    pub fn new(limits: Limits) -> Self {
        let symbols = Symbols::new(limits.max_symbols);
        let tls = crate::tls::TlsTracker::with_limits(limits.tls.clone());
        let nat_keepalives = crate::nat::KeepaliveTable::new(limits.nat.max_keepalive_sources);
        let changes = changes::ChangeLog::new(limits.report.max_evicted_ids);
        let dtls = dtls::DtlsTable::new(limits.max_dtls_sessions);
        Analyzer {
            decoder: Decoder::new(limits.net.clone()),
            limits,
            stats: EngineStats::default(),
            inputs: Vec::new(),
            frame_base: 0,
            first_ts: None,
            last_ts: None,
            dialogs: table::DialogTable::default(),
            finished: std::collections::VecDeque::new(),
            finished_seq: 0,
            by_call_id: CallIds::default(),
            symbols,
            next_dialog: 1,
            bindings: Bindings::default(),
            binding_queue: std::collections::VecDeque::new(),
            next_binding: 0,
            streams: FxHashMap::default(),
            next_stream: 0,
            ssrc_index: FxHashMap::default(),
            raw_bytes: 0,
            raw_files: std::sync::Arc::default(),
            origin: None,
            frame_data: (0, 0),
            findings: Vec::new(),
            evicted: EvictedFindings::default(),
            label_buf: String::new(),
            labels: std::array::from_fn(|_| None),
            agents: dialog::Agents::default(),
            header_buf: Vec::new(),
            header_pool: Vec::new(),
            method_syms: [None; sip::Method::KNOWN],
            show_secrets: false,
            tls,
            rules: Vec::new(),
            config: Config::default(),
            spare: Vec::new(),
            srtp_buf: Vec::new(),
            dtls,
            user_srtp_keys: Vec::new(),
            nat_keepalives,
            tap: None,
            media_tap: None,
            capture_stats: Vec::new(),
            changes,
        }
    }

    /// The limits this engine runs with (after `--max-memory` scaling).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Registers a rule family: it sees every later message, media event, TLS session and
    /// eviction, and its findings join [`Self::findings`]. Register before the first frame.
    pub fn add_rule(&mut self, mut rule: Box<dyn Rule>) {
        rule.configure(&self.config);
        self.rules.push(rule);
    }

    /// Names of the registered rule families, in order.
    pub fn rule_names(&self) -> Vec<&'static str> {
        self.rules.iter().map(|r| r.name()).collect()
    }

    /// Calls `tap` with every SIP message and RTCP packet, as they are processed (used to
    /// forward them as HEP, see `crate::hep::HepSender`).
    pub fn set_tap(&mut self, tap: Tap) {
        self.tap = Some(tap);
    }

    /// Calls `tap` with every RTP packet of a stream bound to a dialog, its payload
    /// decrypted when the stream is SRTP keyed by its SDP (used by `crate::audio`).
    pub fn set_media_tap(&mut self, tap: MediaTap) {
        self.media_tap = Some(tap);
    }

    /// Decrypts TLS with these secrets (`--tls-keylog`, `--tls-key`), replacing any given
    /// before; pcapng Decryption Secrets Blocks add to them as they are read.
    pub fn set_tls_keys(&mut self, keys: net::tls_decrypt::KeyLog) {
        self.decoder.set_tls_keys(keys);
    }

    /// SRTP master keys given by the user (`--srtp-key`, at most
    /// [`srtp::MAX_USER_KEYS`]), tried on streams that have no key from their SDP or a
    /// DTLS handshake: a key with an address selector on the streams from or to that
    /// address (even a stream no SDP announced), one without on every SRTP stream lacking
    /// keys and every stream no SDP announced.
    pub fn set_srtp_keys(&mut self, mut keys: Vec<srtp::UserKey>) {
        keys.truncate(srtp::MAX_USER_KEYS);
        self.user_srtp_keys = keys;
    }

    /// The TLS secrets in use: those given and those read from pcapng Decryption Secrets
    /// Blocks so far.
    pub fn tls_keys(&self) -> &net::tls_decrypt::KeyLog {
        self.decoder.tls_keys()
    }

    /// Adds TLS secrets in the NSS key log format (`--tls-keylog`): TLS connections whose
    /// handshake comes later are decrypted and their SIP analysed like cleartext SIP.
    /// Returns the entries added.
    pub fn add_tls_keylog(
        &mut self,
        text: &[u8],
        source: &str,
    ) -> Result<usize, net::tls_decrypt::KeyLogError> {
        self.decoder.add_tls_keylog(text, source)
    }

    /// Adds an RSA private key in PEM (`--tls-key`) for TLS 1.2 RSA key exchange.
    pub fn add_tls_rsa_key(
        &mut self,
        pem: &str,
        source: &str,
    ) -> Result<(), net::tls_decrypt::KeyLogError> {
        self.decoder.add_tls_rsa_key(pem, source)
    }

    /// Reads every frame of `source`, numbering frames after those of earlier inputs.
    ///
    /// A truncated or corrupt input keeps everything read before the fault; the problem
    /// is returned as a warning in [`InputInfo::warning`]. `tick` is called every 4096
    /// frames with the source's progress so a caller can draw a progress bar.
    ///
    /// A source that can move to another thread (a file, [`FrameSource::as_send`]) is
    /// read, decoded and its SIP parsed there, ahead of the analysis ([`pipeline`]); the
    /// report is the same.
    pub fn run_source(
        &mut self,
        source: &mut dyn FrameSource,
        tick: &mut dyn FnMut(u64, Option<u64>),
    ) -> &InputInfo {
        self.run_source_with(source, tick, &mut |_, _| true)
    }

    /// [`Self::run_source`], calling `before` with each frame (its number already global)
    /// before the engine processes it: the NDJSON event stream ticks there in packet time.
    /// `before` returning false stops reading (e.g. the event consumer went away).
    pub fn run_source_with(
        &mut self,
        source: &mut dyn FrameSource,
        tick: &mut dyn FnMut(u64, Option<u64>),
        before: &mut dyn FnMut(&Analyzer, &FrameRef<'_>) -> bool,
    ) -> &InputInfo {
        match source.as_send() {
            Some(source) => self.run_pipelined(source, tick, before, pipeline::BATCH_BYTES),
            None => self.run_serial(source, tick, before),
        }
    }

    /// [`Self::run_source_with`] over a source read on a second thread, in batches of
    /// `batch_bytes` of frame data (tests use tiny ones). When `before` stops it, the
    /// reader thread has decoded up to two batches further (its decoder's counters include
    /// them); the frames past the stop are neither counted nor analysed.
    fn run_pipelined(
        &mut self,
        source: &mut (dyn FrameSource + Send),
        tick: &mut dyn FnMut(u64, Option<u64>),
        before: &mut dyn FnMut(&Analyzer, &FrameRef<'_>) -> bool,
        batch_bytes: usize,
    ) -> &InputInfo {
        let base = self.frame_base;
        let mut run = BatchRun::new(
            format!("{}: decryption secrets block", source.name()),
            self.inputs.len(),
        );
        // The decoder goes to the reader thread; the engine keeps a copy of its keys for
        // DTLS, which it reads while analysing (and the secrets blocks' key logs, below).
        let mut decoder = std::mem::replace(&mut self.decoder, Decoder::new(NetLimits::default()));
        self.decoder.set_tls_keys(decoder.tls_keys().clone());
        let (filled_tx, filled) = std::sync::mpsc::sync_channel(pipeline::DEPTH);
        let (done_tx, done) = std::sync::mpsc::channel();
        let end = std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("siplens-decode".into())
                .spawn_scoped(scope, || {
                    pipeline::stage(source, &mut decoder, base, batch_bytes, filled_tx, done)
                });
            let reader = match reader {
                Ok(r) => r,
                // No second thread: the channel's sender was dropped with the closure.
                Err(e) => return Err(e),
            };
            let mut end = None;
            for msg in filled.iter() {
                let mut batch = match msg {
                    pipeline::Msg::Batch(b) => b,
                    pipeline::Msg::End(e) => {
                        end = e;
                        break;
                    }
                };
                let progress = self.analyze_batch(&mut batch, &mut run, before);
                if run.stopped {
                    break;
                }
                tick(progress.0, progress.1);
                let headers = std::mem::take(&mut self.header_pool);
                // The reader may have ended (on an error) without waiting for it.
                let _ = done_tx.send(pipeline::Done { batch, headers });
            }
            drop(filled);
            if let Err(panic) = reader.join() {
                std::panic::resume_unwind(panic);
            }
            Ok(end)
        });
        self.decoder = decoder;
        let warning = match end {
            Ok(end) => end.map(|e| e.to_string()).or(run.warning),
            // The system refused the thread: read on this one.
            Err(_) => return self.run_serial(source, tick, before),
        };
        self.end_input(source, tick, run.frames, warning)
    }

    /// Analyses the frames of a batch the reader decoded and parsed, in order, until
    /// `before` stops the run ([`BatchRun::stopped`]); returns the source's progress after
    /// the batch.
    fn analyze_batch(
        &mut self,
        batch: &mut pipeline::Batch,
        run: &mut BatchRun,
        before: &mut dyn FnMut(&Analyzer, &FrameRef<'_>) -> bool,
    ) -> (u64, Option<u64>) {
        batch.with_dependent_mut(|owner, d| {
            let mut segs = d.segs.iter().zip(&d.sips);
            for (m, f) in owner.metas.iter().zip(&d.frames) {
                run.frames += 1;
                for text in &m.secrets {
                    if let Err(e) = self.decoder.add_tls_keylog(text, &run.name) {
                        run.warning.get_or_insert_with(|| e.to_string());
                    }
                }
                let at = owner.path.as_deref().zip(m.origin);
                let origin = self.origin_of(run.input, &mut run.located, at);
                if !before(self, &f.frame) {
                    run.stopped = true;
                    break;
                }
                self.origin = origin;
                self.count_frame(&f.frame);
                // By reference: a parsed message is ~2 KB, and moving it through the
                // calls cost more than the analysis saved.
                for _ in 0..f.segments {
                    if let Some((seg, sip)) = segs.next() {
                        let view = sip.and_then(|i| d.views.get_mut(i as usize));
                        self.on_segment(seg, view);
                    }
                }
                self.origin = None;
            }
            owner.progress
        })
    }

    /// Decodes `frames` and parses their SIP messages with this engine's decoder, as the
    /// reader thread of a file run does ([`Self::run_source`]), without analysing them:
    /// [`Self::analyze`] does that. The two halves apart let a bench time the analysis
    /// alone (`benches/pipeline.rs`, `engine_stage/`); analysing every prepared batch in
    /// order gives the report [`Self::process`] gives over the same frames. Frames are
    /// numbered as given.
    pub fn prepare(&mut self, frames: &[crate::capture::Frame]) -> pipeline::Prepared {
        let mut pool = std::mem::take(&mut self.header_pool);
        let batch = pipeline::decode_batch(
            pipeline::Owner::of_frames(frames),
            pipeline::Lists::default(),
            &mut self.decoder,
            &mut pool,
            PREPARED_SECRETS,
        );
        self.header_pool = pool;
        pipeline::Prepared(batch)
    }

    /// Analyses frames [`Self::prepare`] decoded and parsed, in order; each prepared
    /// batch once (a second time counts its frames again). The batch stays the caller's
    /// to drop, as a file run's engine thread hands each batch back to the reader thread
    /// to be emptied there.
    pub fn analyze(&mut self, prepared: &mut pipeline::Prepared) {
        let batch = &mut prepared.0;
        let mut run = BatchRun::new(PREPARED_SECRETS.to_string(), self.inputs.len());
        self.analyze_batch(batch, &mut run, &mut |_, _| true);
        // The header lists come back for the next batch prepared, bounded as the reader
        // thread bounds its pool.
        self.header_pool.truncate(pipeline::MAX_POOLED_HEADERS);
    }

    /// Records an input read to its end (or to the error in `warning`): its last progress
    /// tick, the frame numbering of the next input, and its account.
    fn end_input(
        &mut self,
        source: &dyn FrameSource,
        tick: &mut dyn FnMut(u64, Option<u64>),
        frames: u64,
        warning: Option<String>,
    ) -> &InputInfo {
        let (done, total) = source.progress();
        tick(done, total);
        self.frame_base += frames;
        self.inputs.push(InputInfo {
            name: source.name().to_string(),
            frames,
            link_types: source.link_types().iter().map(|l| l.name()).collect(),
            warning,
        });
        &self.inputs[self.inputs.len() - 1]
    }

    /// [`Self::run_source_with`] on this thread: frame by frame, each decoded and parsed
    /// here (a source that cannot move to a thread; the tests' reference).
    pub(crate) fn run_serial(
        &mut self,
        source: &mut dyn FrameSource,
        tick: &mut dyn FnMut(u64, Option<u64>),
        before: &mut dyn FnMut(&Analyzer, &FrameRef<'_>) -> bool,
    ) -> &InputInfo {
        let mut frames = 0u64;
        let mut warning = None;
        let base = self.frame_base;
        let input = u32::try_from(self.inputs.len()).unwrap_or(u32::MAX);
        let mut located = false;
        loop {
            let go_on = match source.lend_frame() {
                // Analysed where it lies in the source's buffer: no copy per frame.
                Ok(Some(Lent::Borrowed { mut frame, origin })) => {
                    frames += 1;
                    frame.number += base;
                    let origin = self.origin_of(input, &mut located, origin);
                    self.process_located(frame, origin, before)
                }
                Ok(Some(Lent::Owned(mut frame))) => {
                    frames += 1;
                    frame.number += base;
                    // Key logs of pcapng Decryption Secrets Blocks read before this frame.
                    for text in source.take_secrets() {
                        let name = format!("{}: decryption secrets block", source.name());
                        if let Err(e) = self.decoder.add_tls_keylog(&text, &name) {
                            warning.get_or_insert_with(|| e.to_string());
                        }
                    }
                    let origin = self.origin_of(input, &mut located, source.frame_origin());
                    let go_on = self.process_located(frame.borrowed(), origin, before);
                    source.recycle(std::mem::take(&mut frame.data));
                    go_on
                }
                Ok(None) => break,
                Err(e) => {
                    warning = Some(e.to_string());
                    break;
                }
            };
            if !go_on {
                break;
            }
            if frames % 4096 == 0 {
                let (done, total) = source.progress();
                tick(done, total);
            }
        }
        self.end_input(source, tick, frames, warning)
    }

    /// Where a frame of input `input` lies (`origin`: the file and the offset of its data)
    /// as the engine records it; the file is noted for the input the first time
    /// (`located`).
    fn origin_of(
        &mut self,
        input: u32,
        located: &mut bool,
        origin: Option<(&std::path::Path, u64)>,
    ) -> Option<(u32, u64)> {
        let (path, offset) = origin?;
        if !*located {
            std::sync::Arc::make_mut(&mut self.raw_files).set(input, path);
            *located = true;
        }
        Some((input, offset))
    }

    /// Asks `before`, then processes `frame` from `origin` (input and offset, when the
    /// input can be re-read); false when `before` stopped the run.
    fn process_located(
        &mut self,
        frame: FrameRef<'_>,
        origin: Option<(u32, u64)>,
        before: &mut dyn FnMut(&Analyzer, &FrameRef<'_>) -> bool,
    ) -> bool {
        if !before(self, &frame) {
            return false;
        }
        self.origin = origin;
        self.process_ref(frame);
        self.origin = None;
        true
    }

    /// Processes one frame. `frame.number` must already be global (see [`Self::run_source`]).
    pub fn process(&mut self, frame: &Frame) {
        self.process_ref(frame.borrowed());
    }

    /// [`Self::process`] of a borrowed frame (its bytes perhaps still in the source's read
    /// buffer, [`FrameSource::lend_frame`]).
    pub fn process_ref(&mut self, frame: FrameRef<'_>) {
        self.count_frame(&frame);
        // Reuse one buffer across frames: an allocation per packet costs more than the
        // RTP path itself. The segments borrow this frame, so the empty buffer is carried
        // over as `Segment<'static>` (the in-place collect keeps its allocation).
        let mut segments: Vec<Segment<'_>> = recycle(std::mem::take(&mut self.spare));
        self.decoder.decode_ref(frame, &mut segments);
        for seg in segments.drain(..) {
            self.on_segment(&seg, None);
        }
        self.spare = recycle(segments);
    }

    /// What every frame counts before its segments are analysed.
    fn count_frame(&mut self, frame: &FrameRef<'_>) {
        self.stats.packets += 1;
        self.changes.frame();
        self.stats.bytes += frame.data.len() as u64;
        self.count_link_type(frame.link_type);
        if self.first_ts.is_none_or(|t| frame.ts < t) {
            self.first_ts = Some(frame.ts);
        }
        if self.last_ts.is_none_or(|t| frame.ts > t) {
            self.last_ts = Some(frame.ts);
        }
        // Where the frame's bytes are, to tell which payloads are slices of it (`locate`).
        self.frame_data = (frame.data.as_ptr() as usize, frame.data.len());
    }

    fn count_link_type(&mut self, lt: LinkType) {
        // Known link types are counted without allocating a name per frame.
        match lt
            .known_name()
            .and_then(|k| self.stats.link_types.get_mut(k))
        {
            Some(c) => *c += 1,
            None => *self.stats.link_types.entry(lt.name()).or_insert(0) += 1,
        }
    }

    /// Analyses one segment; `pre` is its SIP message when the reader thread parsed it
    /// already ([`pipeline`]).
    fn on_segment(
        &mut self,
        seg: &Segment<'_>,
        pre: Option<&mut Result<MessageView<'_>, sip::ParseError>>,
    ) {
        if let Some(q) = seg.icmp.as_deref() {
            self.on_undelivered(seg, q);
            return;
        }
        match seg.transport {
            // One SIP message per segment: framed out of the stream, one SCTP user message,
            // or one out of a WebSocket message (RFC 7118 §5).
            Transport::Tcp | Transport::Sctp | Transport::Ws => self.on_sip(seg, pre),
            // SIP read from decrypted TLS: its TLS session's audit says so.
            Transport::Tls | Transport::Wss => {
                self.tls.note_decrypted_sip(seg.src, seg.dst);
                self.on_sip(seg, pre)
            }
            // TLS records of the handshake, for the TLS audit (see net::tls_stream).
            Transport::TlsRecords => {
                self.changes.other();
                self.tls.on_segment(seg);
                self.stats.tls_sessions = self.tls.sessions_created();
                self.stats.tls_session_evictions = self.tls.evictions();
                for s in self.tls.take_ended() {
                    for r in &mut self.rules {
                        r.on_tls_session_end(&s, &mut self.stats);
                    }
                }
            }
            Transport::Udp => {
                let p: &[u8] = &seg.payload;
                if net::sipframe::looks_like_sip_start(p) {
                    self.on_sip(seg, pre);
                } else if !p.is_empty() && p.iter().all(|&b| b == b'\r' || b == b'\n') {
                    self.stats.udp_keepalives += 1;
                    self.note_keepalive(seg.src, seg.ts);
                } else {
                    self.on_udp_other(seg);
                }
            }
        }
    }

    fn on_udp_other(&mut self, seg: &Segment<'_>) {
        // RTP and RTCP name the streams and dialogs they move; STUN, DTLS and ZRTP feed
        // state of their own (`Changes::other`), and other datagrams are only counted.
        match media::classify_udp(&seg.payload) {
            MediaKind::Rtp(h) => self.on_rtp(seg, &h),
            MediaKind::Rtcp => {
                self.stats.rtcp_packets += 1;
                self.changes.media();
                if let Some(tap) = self.tap.as_mut() {
                    tap(TapKind::Rtcp, seg);
                }
                // The call whose SDP announced this address (RTCP port, or the RTP port
                // under rtcp-mux), as for RTP: destination first, then symmetric source.
                let dialog = [seg.dst, seg.src]
                    .iter()
                    .find_map(|a| self.bindings.get(a))
                    .map(|b| b.dialog);
                let flow = RtcpFlow {
                    src: seg.src,
                    dst: seg.dst,
                    dialog,
                };
                let packets = media::rtcp::parse_compound(&seg.payload).unwrap_or_default();
                let sender = packets.first().and_then(|p| p.sender_ssrc());
                let mut decrypted = false;
                let mut opaque = false;
                if let Some(id) = dialog {
                    self.changes.media_dialog(id);
                }
                if let Some(key) = sender.and_then(|x| self.rtcp_stream(x, &flow)) {
                    self.changes.media_stream(key.src, key.dst, key.ssrc);
                    if let Some(s) = self.streams.get_mut(&key) {
                        s.rtcp_packets += 1;
                        // SRTCP keeps the header and sender SSRC in clear (RFC 3711
                        // §3.4): the SRTP stream of that SSRC holds its keys.
                        if let Some(st) = s.srtp.as_deref_mut() {
                            decrypted = st.on_rtcp(&seg.payload, &mut self.srtp_buf);
                        }
                        // SRTCP we could not decrypt: past the sender SSRC it is
                        // ciphertext, whose "report blocks" would be noise.
                        opaque = s.encrypted && !decrypted;
                    }
                }
                if decrypted {
                    let buf = std::mem::take(&mut self.srtp_buf);
                    let plain = media::rtcp::parse_compound(&buf).unwrap_or_default();
                    self.on_rtcp_packets(&plain, seg.ts, &flow);
                    self.srtp_buf = buf;
                } else if !opaque {
                    self.on_rtcp_packets(&packets, seg.ts, &flow);
                }
                if let Some(d) = dialog.and_then(|id| self.dialogs.get_mut(&id)) {
                    d.rtcp_packets += 1;
                }
            }
            MediaKind::Stun => {
                self.changes.other();
                self.stats.stun_packets += 1;
                if let Some(msg) = media::stun::parse(&seg.payload) {
                    let ev = MediaEvent::Stun {
                        msg: &msg,
                        seen: seen(seg),
                    };
                    for r in &mut self.rules {
                        r.on_media(&ev, &mut self.stats);
                    }
                }
                // STUN keeps NAT bindings open (RFC 5626 §4.4.2); it never counts as media.
                self.note_keepalive(seg.src, seg.ts);
            }
            MediaKind::Dtls => {
                self.changes.other();
                self.stats.dtls_packets += 1;
                self.dtls
                    .on_datagram(seg.src, seg.dst, &seg.payload, self.decoder.tls_keys());
                self.stats.dtls = self.dtls.stats;
            }
            MediaKind::Zrtp => {
                self.changes.other();
                // ZRTP runs on the media ports the SDP announced (RFC 6189 §5).
                self.stats.zrtp_packets += 1;
                let dialog = [seg.dst, seg.src]
                    .iter()
                    .find_map(|a| self.bindings.get(a))
                    .map(|b| b.dialog);
                if let Some(id) = dialog.filter(|id| self.dialogs.contains_key(id)) {
                    let ev = MediaEvent::Zrtp {
                        dialog: id,
                        seen: seen(seg),
                    };
                    for r in &mut self.rules {
                        r.on_media(&ev, &mut self.stats);
                    }
                }
            }
            _ => self.stats.other_udp += 1,
        }
    }

    /// The stream of `ssrc` an RTCP datagram on `flow` speaks of. SSRCs are only unique
    /// within an RTP session (RFC 3550 §8), and a relay forwarding a stream keeps its SSRC
    /// on both legs, so the stream on the datagram's own path comes first: RTP one port
    /// below each RTCP port (RFC 3550 §11), or on the same ports (rtcp-mux, RFC 5761),
    /// either direction: four lookups. Else the SSRC's latest stream, unless it belongs
    /// to another call.
    fn rtcp_stream(&self, ssrc: u32, flow: &RtcpFlow) -> Option<StreamKey> {
        let below = |a: SocketAddr| a.port().checked_sub(1).map(|p| SocketAddr::new(a.ip(), p));
        let (a, b) = (flow.src, flow.dst);
        let paths = [
            below(a).zip(below(b)),
            Some((a, b)),
            below(b).zip(below(a)),
            Some((b, a)),
        ];
        for (src, dst) in paths.into_iter().flatten() {
            let key = StreamKey { src, dst, ssrc };
            if self.streams.contains_key(&key) {
                return Some(key);
            }
        }
        let key = *self.ssrc_index.get(&ssrc)?;
        let s = self.streams.get(&key)?;
        match (flow.dialog, s.dialog) {
            (Some(x), Some(y)) if x != y => None,
            _ => Some(key),
        }
    }

    /// The endpoint reports of the stream of `ssrc` (see [`Self::rtcp_stream`]),
    /// allocated on first use.
    fn reports_of(
        &mut self,
        ssrc: u32,
        flow: &RtcpFlow,
    ) -> Option<&mut media::rtcp::endpoint::EndpointReports> {
        let key = self.rtcp_stream(ssrc, flow)?;
        let s = self.streams.get_mut(&key)?;
        Some(s.rtcp.get_or_insert_with(Default::default))
    }

    /// Reads what one RTCP datagram says about the streams it names: SR counts and
    /// report blocks (RFC 3550 §6.4), SDES items (§6.5), XR blocks (RFC 3611 §4), the
    /// round trips SR/RR and RRTR/DLRR pairs measure at the capture point, and counts
    /// a datagram holding a packet that could not be read.
    fn on_rtcp_packets(
        &mut self,
        packets: &[media::rtcp::RtcpPacket<'_>],
        ts: Timestamp,
        flow: &RtcpFlow,
    ) {
        use media::rtcp::{xr::XrBlock, RtcpPacket};
        if let Some(e) = media::rtcp::first_error(packets) {
            *self.stats.rtcp_malformed.entry(e.as_str()).or_insert(0) += 1;
        }
        // RFC 5506 §3.1: a datagram not starting with SR/RR is reduced-size RTCP.
        if let Some(first) = packets.first().filter(|p| !p.is_report()) {
            if let Some(r) = first.sender_ssrc().and_then(|x| self.reports_of(x, flow)) {
                r.reduced_size += 1;
            }
        }
        for p in packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    if let Some(k) = self.rtcp_stream(sr.ssrc, flow) {
                        if let Some(s) = self.streams.get_mut(&k) {
                            s.last_sr = Some((media::rtcp::ntp_middle(sr.ntp_timestamp), ts));
                            s.rtcp.get_or_insert_with(Default::default).on_sender(sr);
                        }
                    }
                }
                RtcpPacket::SourceDescription(chunks) => {
                    for c in chunks {
                        if let Some(r) = self.reports_of(c.ssrc, flow) {
                            r.on_sdes(c);
                        }
                    }
                }
                RtcpPacket::ExtendedReport(x) => {
                    for b in x.report_blocks().0 {
                        match b {
                            XrBlock::VoipMetrics(m) => {
                                if let Some(r) = self.reports_of(m.ssrc, flow) {
                                    r.on_voip_metrics(&m);
                                }
                            }
                            XrBlock::StatisticsSummary(m) => {
                                if let Some(r) = self.reports_of(m.ssrc, flow) {
                                    r.on_summary(&m);
                                }
                            }
                            XrBlock::ReceiverReferenceTime { ntp } => {
                                if let Some(k) = self.rtcp_stream(x.ssrc, flow) {
                                    if let Some(s) = self.streams.get_mut(&k) {
                                        s.last_rrtr = Some((media::rtcp::ntp_middle(ntp), ts));
                                    }
                                }
                            }
                            XrBlock::Dlrr(items) => {
                                for i in items.iter().filter(|i| i.lrr != 0) {
                                    let Some(k) = self.rtcp_stream(i.ssrc, flow) else {
                                        continue;
                                    };
                                    let Some(s) = self.streams.get_mut(&k) else {
                                        continue;
                                    };
                                    let echoed = s.last_rrtr.filter(|(l, _)| *l == i.lrr);
                                    if let Some(ns) = echoed.and_then(|(_, seen)| {
                                        media::rtcp::round_trip_ns(seen.0, ts.0, i.dlrr)
                                    }) {
                                        let ms = ns as f64 / 1e6;
                                        s.rtt_ms = Some(ms);
                                        s.rtcp.get_or_insert_with(Default::default).xr_rtt_ms =
                                            Some(ms);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            for b in p.report_blocks() {
                let Some(k) = self.rtcp_stream(b.ssrc, flow) else {
                    continue;
                };
                let Some(s) = self.streams.get_mut(&k) else {
                    continue;
                };
                s.rtcp.get_or_insert_with(Default::default).on_block(b);
                // LSR 0: no SR received yet (§6.4.1), nothing to measure.
                if b.lsr == 0 {
                    continue;
                }
                if let Some((_, seen)) = s.last_sr.filter(|(l, _)| *l == b.lsr) {
                    if let Some(ns) = media::rtcp::round_trip_ns(seen.0, ts.0, b.dlsr) {
                        s.rtt_ms = Some(ns as f64 / 1e6);
                    }
                }
            }
        }
    }

    fn on_rtp(&mut self, seg: &Segment<'_>, h: &media::RtpHeader) {
        self.stats.rtp_packets += 1;
        self.changes.media();
        self.changes.media_stream(seg.src, seg.dst, h.ssrc);
        let key = StreamKey {
            src: seg.src,
            dst: seg.dst,
            ssrc: h.ssrc,
        };
        // Nearly every packet belongs to a known stream already bound to its call: one
        // lookup for those (the path below looks the stream up three times).
        // The packet went through its stream's SRTP state already (not again below).
        let mut srtp_done = false;
        // The media tap saw the packet already (on the fast path).
        let mut tapped = false;
        let other_keys = self.dtls.has_keys() || !self.user_srtp_keys.is_empty();
        if let Some(s) = self.streams.get_mut(&key) {
            // A stream without a working key while DTLS or user keys exist takes the
            // path below, which looks for them.
            let wants_keys = other_keys && s.srtp.as_deref().is_none_or(|st| !st.applied());
            if s.dialog.is_some() && !wants_keys {
                let decrypted = match s.srtp.as_deref_mut() {
                    Some(st) => {
                        srtp_done = true;
                        srtp_packet(st, s.dialog, seg, &self.dialogs, &mut self.srtp_buf)
                    }
                    None => false,
                };
                tapped = true;
                if let Some(tap) = self.media_tap.as_mut() {
                    media_packet(tap, s, seg, h, decrypted, &self.srtp_buf, &self.symbols);
                }
                if let Some(rate) = s.rate_of(h.payload_type) {
                    s.stats.update_rates(h, seg.ts, s.clock_rate, rate);
                    if s.dtmf_pt.is_some_and(|(pt, _)| pt == h.payload_type) {
                        self.on_dtmf(key, seg, h);
                    }
                    return;
                }
            }
        }
        if !self.streams.contains_key(&key) {
            if self.streams.len() >= self.limits.max_streams {
                self.evict_stream();
            }
            let stream = self.new_stream(seg, h);
            self.ssrc_index.insert(h.ssrc, key);
            self.streams.insert(key, stream);
        }
        let unbound = self.streams.get(&key).is_some_and(|s| s.dialog.is_none());
        // Bound by this packet (Some: whether it decrypted): the media tap sees it.
        let mut bound_decrypted: Option<bool> = None;
        if unbound {
            // SDP may arrive after the first packets (early media, re-INVITE): retry.
            if let Some((dialog, line)) = self.lookup_binding(seg.src, seg.dst, h.payload_type) {
                if let Some(d) = self.dialogs.get_mut(&dialog.0) {
                    if d.stream_keys.contains(&key) {
                    } else if d.stream_keys.len() < MAX_STREAMS_PER_DIALOG {
                        d.stream_keys.push(key);
                    } else {
                        d.stream_keys_overflow = true;
                    }
                }
                if let Some(s) = self.streams.get_mut(&key) {
                    s.dialog = Some(dialog.0);
                    s.call_id = Some(dialog.1);
                    s.announced = true;
                    s.encrypted = line.encrypted;
                    if let Some((codec, rate)) = line.codec {
                        s.codec = Some(codec);
                        s.clock_rate = rate;
                    }
                    // The SDP now names the dynamic types: forget what was taken before.
                    s.alt_rate = None;
                    s.dtmf_pt = line.dtmf;
                    // SRTP keyed in the SDP (SDES): try its keys on this stream.
                    // The state is made even before a key is known (the answer's SDP may
                    // come later): it then waits, stalled, for the dialog's keys.
                    if line.encrypted && line.sdes {
                        let keys = self
                            .dialogs
                            .get(&dialog.0)
                            .map_or(&[][..], |d| d.sdes_keys());
                        let mut st = srtp::SrtpState::new(keys, seg.src, seg.dst);
                        let decrypted = srtp_packet(
                            &mut st,
                            Some(dialog.0),
                            seg,
                            &self.dialogs,
                            &mut self.srtp_buf,
                        );
                        srtp_done = true;
                        s.srtp = Some(Box::new(st));
                        bound_decrypted = Some(decrypted);
                    } else {
                        bound_decrypted = Some(false);
                    }
                    if h.payload_type == s.payload_type {
                        s.packet_rate = media::analysis_clock_rate(
                            h.payload_type,
                            line.codec.map(|(n, r)| (self.symbols.name(n), r)),
                        );
                    }
                }
            }
        }
        let known = self
            .streams
            .get(&key)
            .and_then(|s| s.rate_of(h.payload_type));
        let rate = match known {
            Some(r) => r,
            None => {
                let r = self.analysis_rate(seg.src, seg.dst, h.payload_type);
                if let Some(s) = self.streams.get_mut(&key) {
                    s.alt_rate = Some((h.payload_type, r));
                }
                r
            }
        };
        let mut other_decrypted = None;
        if !srtp_done && other_keys {
            other_decrypted = self.other_srtp_keys(key, seg);
        }
        if let Some(s) = self.streams.get_mut(&key) {
            s.stats.update_rates(h, seg.ts, s.clock_rate, rate);
            // A packet of a call's stream the fast path did not hand over: the one that
            // bound the stream, or one that looked for DTLS or user keys.
            if !tapped && s.dialog.is_some() {
                if let Some(tap) = self.media_tap.as_mut() {
                    let d = other_decrypted.or(bound_decrypted).unwrap_or(false);
                    media_packet(tap, s, seg, h, d, &self.srtp_buf, &self.symbols);
                }
            }
        }
        self.on_dtmf(key, seg, h);
    }

    /// SRTP keys from outside the SDP for a stream that has none: the DTLS-SRTP keys of
    /// its flow (RFC 5764 §4.2), else the user's (`--srtp-key`); then the packet is tried.
    /// A stream keeps the keys that applied (DTLS keys come before the SRTP they protect).
    /// Returns whether the packet decrypted, when the stream has an SRTP state to try.
    fn other_srtp_keys(&mut self, key: StreamKey, seg: &Segment<'_>) -> Option<bool> {
        let s = self.streams.get_mut(&key)?;
        if s.srtp.as_deref().is_none_or(|st| !st.applied()) {
            let state = if let Some(k) = self.dtls.key_for(seg.src, seg.dst) {
                Some(srtp::SrtpState::with_keys(
                    std::iter::once(k),
                    srtp::KeySource::Dtls,
                ))
            } else {
                // Without a selector, only streams that should be SRTP and have no key
                // (SDP said SRTP) or that no SDP described at all.
                let lacking = s.encrypted || s.dialog.is_none();
                let mut keys = self
                    .user_srtp_keys
                    .iter()
                    .filter(|u| {
                        if u.addr.is_some() {
                            u.selects(seg.src, seg.dst)
                        } else {
                            lacking
                        }
                    })
                    .map(|u| &u.key)
                    .peekable();
                keys.peek()
                    .is_some()
                    .then(|| srtp::SrtpState::with_keys(keys, srtp::KeySource::User))
            };
            if let Some(st) = state {
                s.srtp = Some(Box::new(st));
            }
        }
        // Not tried yet: the new state, or the stream's SDES state still waiting for keys.
        let st = s.srtp.as_deref_mut()?;
        Some(srtp_packet(
            st,
            s.dialog,
            seg,
            &self.dialogs,
            &mut self.srtp_buf,
        ))
    }

    /// An RTP packet of stream `key`: when it is a telephone-event (RFC 4733) of a
    /// cleartext stream bound to a call, records the digit in the call or merges the
    /// packet into the event it continues (same RTP timestamp and code). SRTP payloads
    /// are encrypted, so their events are not read.
    fn on_dtmf(&mut self, key: StreamKey, seg: &Segment<'_>, h: &media::RtpHeader) {
        let Some(s) = self.streams.get_mut(&key) else {
            return;
        };
        let (Some(dialog), Some((pt, clock))) = (s.dialog, s.dtmf_pt) else {
            return;
        };
        if pt != h.payload_type || s.encrypted {
            return;
        }
        let end = h.payload_offset.saturating_add(h.payload_len);
        let Some(ev) = seg
            .payload
            .get(h.payload_offset..end)
            .and_then(media::dtmf::parse_event)
        else {
            return;
        };
        // Other events (flash, fax tones: RFC 4734) are no digits.
        let Some(digit) = media::dtmf::digit_of(ev.event) else {
            return;
        };
        let ms = u32::try_from(u64::from(ev.duration) * 1000 / u64::from(clock.max(1)))
            .unwrap_or(u32::MAX);
        let Some(d) = self.dialogs.get_mut(&dialog) else {
            return;
        };
        let same = s.dtmf_track.as_ref().is_some_and(|t| {
            t.rtp_ts == h.timestamp
                && t.event == ev.event
                && !(t.ended && !ev.end && seg.ts.since(t.last) > DTMF_RESTART_NS)
        });
        match s.dtmf_track.as_mut() {
            Some(t) if same => {
                t.last = seg.ts;
                t.ended |= ev.end;
                let rec = t
                    .index
                    .and_then(|i| d.rare.as_mut()?.dtmf.get_mut(i as usize));
                if let Some(rec) = rec {
                    // The duration is cumulative (§2.5.1.3): the longest is the latest.
                    rec.duration_ms = rec.duration_ms.max(Some(ms));
                    rec.ended |= ev.end;
                }
            }
            _ => {
                let rec = DtmfEvent {
                    digit,
                    ts: seg.ts,
                    duration_ms: Some(ms),
                    via: DtmfVia::Rfc4733,
                    frame: seg.frame,
                    src: seg.src.into(),
                    dst: seg.dst.into(),
                    transport: seg.transport,
                    ended: ev.end,
                };
                let index = d.note_dtmf(rec, self.limits.max_dtmf_per_dialog, &mut self.stats);
                s.dtmf_track = Some(DtmfTrack {
                    rtp_ts: h.timestamp,
                    event: ev.event,
                    ended: ev.end,
                    last: seg.ts,
                    index,
                });
                self.changes.dialog(dialog);
            }
        }
    }

    /// The analysis clock rate of payload type `pt` on the flow `src` -> `dst`: the static
    /// table, or the rtpmap of the SDP that announced the flow (see
    /// [`media::analysis_clock_rate`]).
    fn analysis_rate(&self, src: SocketAddr, dst: SocketAddr, pt: u8) -> u32 {
        if pt < 96 {
            return media::analysis_clock_rate(pt, None);
        }
        let codec = self.bound_line(src, dst, pt).and_then(|(_, l)| l.codec);
        media::analysis_clock_rate(pt, codec.map(|(n, r)| (self.symbols.name(n), r)))
    }

    fn new_stream(&mut self, seg: &Segment<'_>, h: &media::RtpHeader) -> RtpStream {
        let order = self.next_stream;
        self.next_stream += 1;
        let mut stream = RtpStream {
            ssrc: h.ssrc,
            src: seg.src,
            dst: seg.dst,
            payload_type: h.payload_type,
            codec: None,
            clock_rate: 8000,
            packet_rate: 0,
            dialog: None,
            call_id: None,
            encrypted: false,
            announced: false,
            first_frame: seg.frame,
            rtcp_packets: 0,
            stats: media::StreamStats::default(),
            rtt_ms: None,
            last_sr: None,
            last_rrtr: None,
            rtcp: None,
            srtp: None,
            alt_rate: None,
            dtmf_pt: None,
            dtmf_track: None,
            order,
        };
        if let Some(c) = media::codec::static_payload_type(h.payload_type) {
            stream.codec = Some(self.symbols.intern(c.name));
            stream.clock_rate = c.clock_rate;
        }
        // A dynamic type has no rate until an SDP binds the stream (Wireshark's way).
        stream.packet_rate = media::analysis_clock_rate(h.payload_type, None);
        stream
    }

    /// Finds the dialog whose SDP announced `dst` (where the packet goes) or `src`
    /// (symmetric RTP, RFC 4961: a party sends from where it receives).
    fn lookup_binding(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        pt: u8,
    ) -> Option<((u64, String), BoundLine)> {
        self.bound_line(src, dst, pt)
            .map(|(d, bound)| ((d.id, d.call_id.clone()), bound))
    }

    /// [`lookup_binding`](Self::lookup_binding) without the Call-ID copy: the dialog and
    /// the media line bound to the flow.
    fn bound_line(&self, src: SocketAddr, dst: SocketAddr, pt: u8) -> Option<(&Dialog, BoundLine)> {
        for addr in [dst, src] {
            let Some(b) = self.bindings.get(&addr) else {
                continue;
            };
            if b.rtcp {
                continue;
            }
            let Some(d) = self.dialogs.get(&b.dialog) else {
                continue;
            };
            // The most recent SDP naming this address wins (re-INVITEs move media).
            let line = d.sdp.iter().rev().flat_map(|s| s.media.iter()).find(|m| {
                m.addr.is_some_and(|a| a == addr) || m.candidates.iter().any(|c| c.addr == addr)
            });
            let bound = match line {
                Some(m) => BoundLine {
                    encrypted: m.encrypted,
                    sdes: m.crypto > 0,
                    codec: m
                        .formats
                        .iter()
                        .find(|(p, n, _)| *p == pt && *n != Sym::EMPTY)
                        .map(|(_, n, r)| (*n, *r)),
                    // RFC 4733 §7.1.1: `a=rtpmap:<pt> telephone-event/<rate>`.
                    dtmf: m
                        .formats
                        .iter()
                        .find(|(_, n, _)| {
                            self.symbols
                                .name(*n)
                                .eq_ignore_ascii_case("telephone-event")
                        })
                        .map(|(p, _, r)| (*p, (*r).max(1))),
                },
                // No SDP line names the address (its body was past the per-dialog cap):
                // PT 101 at 8000 Hz, the value most equipment uses (and Wireshark's
                // default), is taken as telephone-event.
                None => BoundLine {
                    encrypted: false,
                    sdes: false,
                    codec: None,
                    dtmf: Some((101, 8000)),
                },
            };
            return Some((d, bound));
        }
        None
    }

    fn evict_stream(&mut self) {
        // Least recently active first, a sixteenth of the table at a time so that a full
        // table costs O(1) amortised per new stream instead of a scan each time.
        let mut ages: Vec<(Timestamp, u64, StreamKey)> = self
            .streams
            .iter()
            .map(|(k, s)| (s.stats.last_seen().unwrap_or_default(), s.order, *k))
            .collect();
        let n = evict_batch(ages.len());
        if n == 0 {
            return;
        }
        // (time, creation order) is unique per stream, so the key never decides.
        ages.select_nth_unstable_by_key(n - 1, |(t, o, _)| (*t, *o));
        for (_, _, key) in ages.into_iter().take(n) {
            if let Some(s) = self.streams.remove(&key) {
                if let Some(id) = s.dialog {
                    self.changes.media_dialog(id);
                }
                self.changes.media_addr(s.src);
                self.changes.media_addr(s.dst);
            }
            if self.ssrc_index.get(&key.ssrc) == Some(&key) {
                self.ssrc_index.remove(&key.ssrc);
            }
            self.stats.stream_evictions += 1;
        }
    }

    /// A datagram quoted in an ICMP error. Not a message seen on the wire (it is not
    /// counted as one, nor added to a dialog): the rules hear that it never arrived.
    fn on_undelivered(&mut self, seg: &Segment<'_>, q: &net::icmp::IcmpQuote) {
        self.changes.other();
        let payload: &[u8] = &seg.payload;
        if !net::sipframe::looks_like_sip_start(payload) {
            self.stats.undelivered_other += 1;
            return;
        }
        self.stats.sip_undelivered += 1;
        // The quote is often cut mid-message (RFC 1812 §4.3.2.3 keeps 576 bytes in all):
        // what of it parses is still worth naming.
        let msg = sip::parse_message(payload).ok().map(MessageView::new);
        let dialog = msg
            .as_ref()
            .and_then(|m| m.call_id())
            .and_then(|c| self.by_call_id.get(c, &self.dialogs))
            .and_then(|id| self.dialogs.get(&id));
        let u = Undelivered {
            seen: seen(seg),
            reporter: q.reporter,
            reason: q.reason,
            quote: payload,
            msg: msg.as_ref(),
            dialog,
        };
        for r in &mut self.rules {
            r.on_undelivered(&u, &mut self.stats);
        }
    }

    /// A SIP message: `pre` when the reader thread parsed it already, else parsed here.
    fn on_sip(
        &mut self,
        seg: &Segment<'_>,
        pre: Option<&mut Result<MessageView<'_>, sip::ParseError>>,
    ) {
        if let Some(tap) = self.tap.as_mut() {
            tap(TapKind::Sip, seg);
        }
        // Every message is validated, so its common fields are parsed in any case: in
        // place, here or on the reader thread. Its emptied header list is kept for the
        // next message parsed where this one was.
        match pre {
            Some(parsed) => {
                if let Some(headers) = self.on_parsed(seg, parsed) {
                    self.header_pool.push(headers);
                }
            }
            None => {
                let headers = sip::recycle_headers(std::mem::take(&mut self.header_buf));
                // Fields parsed where the view stays: returning a parsed view moved it
                // whole (about 250 instructions a message).
                let mut parsed = sip::parse_message_in(&seg.payload, headers).map(MessageView::new);
                if let Ok(v) = &mut parsed {
                    v.parse_fields();
                }
                if let Some(headers) = self.on_parsed(seg, &mut parsed) {
                    self.header_buf = headers;
                }
            }
        }
    }

    /// Analyses a parsed SIP message (or counts why it did not parse); gives back its
    /// emptied header list.
    fn on_parsed(
        &mut self,
        seg: &Segment<'_>,
        parsed: &mut Result<MessageView<'_>, sip::ParseError>,
    ) -> Option<Vec<sip::Header<'static>>> {
        let payload: &[u8] = &seg.payload;
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.stats.sip_malformed += 1;
                self.add_malformed(seg, None, e.to_string());
                return None;
            }
        };
        self.stats.sip_messages += 1;
        if msg.lf_only {
            self.stats.sip_lf_only += 1;
        }
        // Borrowed from the segment, not from `self`: no copy per message.
        let call_id = msg.call_id();
        // The dialog first: its memo spares re-validating the header values its earlier
        // messages already carried (same verdict, a fraction of the cost).
        let id = call_id.map(|c| self.dialog_for(c, msg, seg));
        let problems = match id.and_then(|id| self.dialogs.get_mut(&id)) {
            Some(d) => sip::validate_view(msg, &mut d.memo),
            None => sip::validate_view(msg, &mut sip::ValueMemo::default()),
        };
        if !problems.is_empty() {
            self.stats.sip_malformed += 1;
            let reason = problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            self.add_malformed(seg, call_id, reason);
        }
        match &msg.start {
            StartLine::Request { method, .. } => {
                self.stats.sip_requests += 1;
                match self.stats.methods.get_mut(method.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        self.stats.methods.insert(method.as_str().to_string(), 1);
                    }
                }
            }
            StartLine::Response { status, .. } => {
                self.stats.sip_responses += 1;
                *self.stats.status_codes.entry(status.0).or_insert(0) += 1;
            }
        }
        let raw = &payload[..msg.len.min(payload.len())];
        let at = self.locate(seg, raw);
        // The parsed SDP body is written here by the dialog update, not returned inside
        // the facts: a parsed body is ~330 bytes, and moving an `Option` of it up through
        // two returns cost three copies per message, with or without a body.
        let mut sdp_seen = None;
        let facts = match id {
            Some(id) => self.update_dialog(id, msg, seg, raw, at, &mut sdp_seen),
            None => {
                self.stats.sip_without_call_id += 1;
                None
            }
        };
        if let Some(id) = id {
            self.changes.dialog(id);
        }
        let is_request = matches!(msg.start, StartLine::Request { .. });
        let cx = MessageCtx {
            msg,
            raw,
            seen: seen(seg),
            dialog: id.and_then(|id| self.dialogs.get(&id)),
            label: facts.as_ref().map_or("", |f| self.symbols.name(f.label)),
            is_request,
            repeat: facts.as_ref().is_some_and(|f| f.repeat),
            sdp: sdp_seen.as_ref().map(|(sdp, from_caller, copy)| SdpCtx {
                sdp,
                from_caller: *from_caller,
                copy: *copy,
            }),
        };
        for r in &mut self.rules {
            r.on_message(&cx, &mut self.stats);
        }
        self.stats.symbol_overflow = self.symbols.overflow;
        if let Some((sdp, _, _)) = sdp_seen {
            msg.give_back_sdp(sdp);
        }
        Some(sip::recycle_headers(msg.take_headers()))
    }

    /// Where `raw` is in the input file, when the frame being processed can be read again
    /// and `raw` is a slice of it (plain UDP, one TCP segment, HEP). Messages rebuilt from
    /// several packets are owned by the decoder and get None (they keep a copy).
    fn locate(&self, seg: &Segment<'_>, raw: &[u8]) -> Option<RawAt> {
        let (input, data_at) = self.origin?;
        if !matches!(seg.payload, std::borrow::Cow::Borrowed(_)) {
            return None;
        }
        // Addresses only, compared: no pointer is dereferenced.
        let (base, len) = self.frame_data;
        let start = (raw.as_ptr() as usize).checked_sub(base)?;
        if start.checked_add(raw.len())? > len {
            return None;
        }
        Some(RawAt {
            input,
            len: u32::try_from(raw.len()).ok()?,
            offset: data_at.checked_add(u64::try_from(start).ok()?)?,
        })
    }

    fn add_malformed(&mut self, seg: &Segment<'_>, call_id: Option<&[u8]>, reason: String) {
        self.changes.other();
        if let Some(cid) = call_id {
            if let Some(d) = self
                .by_call_id
                .get(cid, &self.dialogs)
                .and_then(|id| self.dialogs.get_mut(&id))
            {
                let frames = &mut d.rare_mut().malformed_frames;
                if frames.len() < MAX_EVIDENCE {
                    frames.push(seg.frame);
                }
            }
        }
        let m = Malformed {
            seen: seen(seg),
            call_id,
            reason: &reason,
        };
        for r in &mut self.rules {
            r.on_malformed(&m, &mut self.stats);
        }
    }

    fn dialog_for(&mut self, call_id: &[u8], msg: &MessageView<'_>, seg: &Segment<'_>) -> u64 {
        if let Some(id) = self.by_call_id.get(call_id, &self.dialogs) {
            return id;
        }
        if self.dialogs.len() >= self.limits.max_dialogs {
            self.evict_dialog();
        }
        let id = self.next_dialog;
        self.next_dialog += 1;
        self.stats.dialogs_created += 1;
        let method = match &msg.start {
            StartLine::Request { method, .. } => {
                method_sym(&mut self.symbols, &mut self.method_syms, method)
            }
            StartLine::Response { .. } => msg
                .cseq()
                .map(|c| method_sym(&mut self.symbols, &mut self.method_syms, &c.method))
                .unwrap_or(Sym::EMPTY),
        };
        let from = msg.from();
        let from_uri = from.as_ref().map(|n| crate::bytes::lossy(n.uri_raw));
        let to_uri = msg.to().map(|n| crate::bytes::lossy(n.uri_raw));
        let from_tag = from.as_ref().and_then(|n| n.tag().map(crate::bytes::lossy));
        // One allocation for the three (a scratch buffer builds it: the label's, which
        // is rebuilt for every response).
        let [from_text, to_text, tag_text] = crate::model::Text::shared(
            [
                from_uri.as_deref().unwrap_or_default(),
                to_uri.as_deref().unwrap_or_default(),
                from_tag.as_deref().unwrap_or_default(),
            ],
            &mut self.label_buf,
        );
        let dialog = Dialog {
            id,
            call_id: lossy(call_id),
            from: from_text,
            to: to_text,
            from_tag: from_tag.is_some().then_some(tag_text),
            to_tags: crate::model::List::default(),
            method,
            state: DialogState::Trying,
            final_status: None,
            start: seg.ts,
            end: seg.ts,
            answered: None,
            message_count: 0,
            retransmissions: 0,
            transport: seg.transport,
            src: seg.src.into(),
            dst: seg.dst.into(),
            user_agents: self.agents.empty(),
            messages: Vec::new(),
            sdp: Vec::new(),
            sessions: crate::model::List::default(),
            rtcp_packets: 0,
            invite_seen: false,
            duplicates: 0,
            seen: crate::model::List::default(),
            initial_cseq: None,
            memo: sip::ValueMemo::default(),
            stream_keys: Vec::new(),
            stream_keys_overflow: false,
            finished_seq: 0,
            nat: crate::nat::DialogNat::default(),
            rare: None,
        };
        self.dialogs.insert(id, Box::new(dialog));
        self.by_call_id.insert(call_id, id, &self.dialogs);
        id
    }

    /// Evicts one dialog: the one that finished first, else the oldest of all (a flood of
    /// unanswered INVITEs finishes none). O(1) amortised: no scan of the table.
    fn evict_dialog(&mut self) {
        let victim = self.pop_finished().or_else(|| self.dialogs.first_id());
        if let Some(id) = victim {
            if let Some(d) = self.dialogs.remove(&id) {
                self.conclude_evicted(&d);
                self.by_call_id.remove(&d);
                for m in &d.messages {
                    self.raw_bytes = self.raw_bytes.saturating_sub(m.raw.copied_len());
                }
                self.stats.dialog_evictions += 1;
                self.changes.evicted(id, &d.call_id);
            }
        }
    }

    /// The first dialog in `finished` that is still there and still finished.
    fn pop_finished(&mut self) -> Option<u64> {
        while let Some((id, seq)) = self.finished.pop_front() {
            if self
                .dialogs
                .get(&id)
                .is_some_and(|d| d.finished_seq == seq && d.state.is_finished())
            {
                return Some(id);
            }
        }
        None
    }

    /// Queues a dialog that just finished as an eviction candidate, and frees what only
    /// an open dialog needs.
    fn note_finished(&mut self, id: u64) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        self.finished_seq += 1;
        d.finished_seq = self.finished_seq;
        // The memo only spares re-validating values; a finished dialog rarely sees more.
        d.memo = sip::ValueMemo::default();
        // Lists with more than one spare slot are sized to what they hold: a finished
        // dialog rarely grows again, and a later message grows them again. One spare slot
        // stays: a call finished by its BYE is sized for seven messages and transaction
        // keys and has one to come, the BYE's 200 OK (shrinking, then growing again for
        // it, were two reallocations per list).
        if d.messages.capacity() > d.messages.len() + 1 {
            d.messages.shrink_to_fit();
        }
        d.seen.shrink_keeping(1);
        self.finished.push_back((id, self.finished_seq));
        // Entries of dialogs that reopened or finished twice stay until met: drop them
        // when they outnumber the dialogs, so the queue stays bounded by the table.
        if self.finished.len() > 2 * self.dialogs.len() + 64 {
            let dialogs = &self.dialogs;
            self.finished.retain(|(id, seq)| {
                dialogs
                    .get(id)
                    .is_some_and(|d| d.finished_seq == *seq && d.state.is_finished())
            });
        }
    }

    /// Asks every rule for the findings of dialog `d` before it goes, and keeps them
    /// (bounded by [`Limits::max_evicted_findings`], then summarised per rule).
    fn conclude_evicted(&mut self, d: &Dialog) {
        if self.rules.is_empty() {
            return;
        }
        // The rules need `&self` (streams, symbols, trackers) while they change their own
        // state: take the list out for the call; a `Vec` move costs nothing.
        let mut rules = std::mem::take(&mut self.rules);
        let mut out = Vec::new();
        for r in &mut rules {
            r.on_dialog_evicted(d, self, &mut out);
        }
        self.rules = rules;
        for f in out {
            if self.evicted.kept < self.limits.max_evicted_findings {
                self.evicted.kept += 1;
                self.findings.push(f);
            } else {
                self.stats.evicted_findings_summarised += 1;
                self.evicted.note(f);
            }
        }
    }

    /// True when a finding of `rule` that a rule makes for the dialog being evicted now
    /// ([`Rule::on_dialog_evicted`]) will only be counted: the bound on findings kept from
    /// evicted dialogs was reached and one of that rule is already kept as the example of
    /// the summary. Only its rule and severity are then read, so a rule may skip writing
    /// its texts (a flood evicts a dialog per new call).
    pub fn evicted_finding_counted(&self, rule: RuleId) -> bool {
        self.evicted.kept >= self.limits.max_evicted_findings
            && self.evicted.over.contains_key(&rule)
    }

    /// Updates a dialog with one message, and queues it as an eviction candidate when
    /// this message finished it.
    fn update_dialog<'m>(
        &mut self,
        id: u64,
        msg: &MessageView<'m>,
        seg: &Segment<'_>,
        raw: &[u8],
        at: Option<RawAt>,
        sdp_seen: &mut Option<(sdp::Sdp<'m>, bool, bool)>,
    ) -> Option<MsgFacts> {
        let facts = self.update_dialog_inner(id, msg, seg, raw, at, sdp_seen)?;
        if facts.finished {
            self.note_finished(id);
        }
        Some(facts)
    }

    fn update_dialog_inner<'m>(
        &mut self,
        id: u64,
        msg: &MessageView<'m>,
        seg: &Segment<'_>,
        raw: &[u8],
        at: Option<RawAt>,
        sdp_seen: &mut Option<(sdp::Sdp<'m>, bool, bool)>,
    ) -> Option<MsgFacts> {
        let d = self.dialogs.get_mut(&id)?;
        // Read here and below instead of looking the dialog up again around the update.
        let was_finished = d.state.is_finished();
        d.message_count += 1;
        d.end = d.end.max(seg.ts);
        let cseq = msg.cseq().map(|c| {
            (
                c.seq,
                method_sym(&mut self.symbols, &mut self.method_syms, &c.method),
            )
        });
        // Only the top Via identifies the transaction.
        let branch = msg.top_via().and_then(|v| v.branch);
        let (label, is_request, status) = match &msg.start {
            StartLine::Request { method, .. } => (
                method_sym(&mut self.symbols, &mut self.method_syms, method),
                true,
                0u16,
            ),
            StartLine::Response { status, reason, .. } => {
                let sym = response_label(
                    &mut self.symbols,
                    &mut self.labels,
                    &mut self.label_buf,
                    status.0,
                    reason,
                );
                (sym, false, status.0)
            }
        };
        // Transaction identity (RFC 3261 §17.1.3 / §17.2.3): top Via branch + CSeq method,
        // falling back to CSeq and From tag for RFC 2543 peers; with the direction, so a
        // proxy forwarding the same request is not a retransmission.
        let to_tag = msg.to().and_then(|n| n.tag());
        let key = hash_of(&(
            branch,
            cseq,
            is_request,
            status,
            if is_request { None } else { to_tag },
            seg.src,
            seg.dst,
        ));
        let rep = d.note_transaction(key, seg, label, &mut self.stats);
        let (duplicate, retrans, repeat) = (rep.duplicate, rep.retransmission, rep.any());
        d.note_to_tag(to_tag, is_request);
        if !repeat {
            let cseq_text = cseq.map(|(n, m)| (n, self.symbols.name(m)));
            d.note_auth(
                msg,
                seg,
                self.symbols.name(label),
                cseq_text,
                status,
                &mut self.stats,
            );
        }
        if !repeat && is_request {
            d.note_dtmf_signal(msg, seg, self.limits.max_dtmf_per_dialog, &mut self.stats);
        }
        d.note_user_agent(msg, is_request, &mut self.agents);
        if !repeat {
            d.advance_state(label, status, cseq, seg.ts);
        }
        let sdp = if repeat {
            None
        } else {
            d.note_sdp(
                msg,
                seg,
                is_request,
                cseq.map(|c| c.0),
                &mut self.symbols,
                &mut self.stats,
            )
        };
        let (sdp_index, announced) = match sdp {
            Some(s) => {
                *sdp_seen = Some(s.parsed);
                (s.index, s.announced)
            }
            None => (None, Default::default()),
        };

        // NAT troubleshooting (crate::nat): advertised vs observed, per party.
        let cx = crate::nat::MessageCtx {
            frame: seg.frame,
            ts: seg.ts,
            src: seg.src,
            dst: seg.dst,
            transport: seg.transport,
            repeat,
            duplicate,
            dialog_src: d.src.get(),
            dialog_from_tag: d.from_tag.as_deref(),
            initial_cseq: d.initial_cseq,
            sdp: sdp_index
                .and_then(|i| d.sdp.get(i as usize))
                .map(|s| &s.media[..]),
        };
        self.stats.nat_records_dropped += d.nat.observe(msg, &cx, &self.symbols);
        if !repeat && is_request && self.symbols.name(label) == "OPTIONS" {
            // OPTIONS pings keep the NAT binding of either end open.
            self.nat_keepalives.note(seg.src, seg.ts);
            self.nat_keepalives.note(seg.dst, seg.ts);
            self.changes.keepalive(seg.src);
            self.changes.keepalive(seg.dst);
            self.stats.nat_keepalive_overflow = self.nat_keepalives.overflow;
        }

        let keep_raw = self.raw_bytes + raw.len() <= self.limits.max_raw_bytes;
        let ends = if d.messages.len() < self.limits.max_messages_per_dialog {
            d.endpoint_index(seg.src).zip(d.endpoint_index(seg.dst))
        } else {
            None
        };
        if let Some((src, dst)) = ends {
            let raw_box = if let Some(at) = at {
                // The file can be read again: 16 bytes instead of the text.
                RawText::At(at)
            } else if keep_raw {
                self.raw_bytes += raw.len();
                RawText::Copy(std::sync::Arc::from(raw))
            } else {
                // A zero budget means "do not keep text" (report mode), not a shortage.
                if self.limits.max_raw_bytes > 0 {
                    self.stats.raw_bytes_dropped += raw.len() as u64;
                }
                RawText::None
            };
            let finished = d.finished_seq != 0;
            if let Some(h) = seg.hep {
                let index = u32::try_from(d.messages.len()).unwrap_or(u32::MAX);
                d.rare_mut().hep.push((index, h));
            }
            push_message(
                &mut d.messages,
                MessageRecord {
                    frame: seg.frame,
                    ts: seg.ts,
                    raw: raw_box,
                    cseq,
                    label,
                    ends: [src, dst],
                    // MAX_SDP_PER_DIALOG keeps the index below 255.
                    sdp: sdp_index
                        .and_then(|i| u8::try_from(i + 1).ok())
                        .unwrap_or(0),
                    transport: seg.transport,
                    retransmission: retrans,
                    duplicate,
                },
                finished,
            );
        } else {
            self.stats.message_records_dropped += 1;
        }
        let finished = !was_finished && d.state.is_finished();

        for (rtp, rtcp) in announced {
            if let Some(a) = rtp {
                self.bind(a, id, false);
            }
            if let Some(a) = rtcp.filter(|r| Some(*r) != rtp) {
                self.bind(a, id, true);
            }
        }
        Some(MsgFacts {
            label,
            repeat,
            finished,
        })
    }

    fn note_keepalive(&mut self, addr: SocketAddr, ts: Timestamp) {
        self.nat_keepalives.note(addr, ts);
        self.changes.keepalive(addr);
        self.stats.nat_keepalive_overflow = self.nat_keepalives.overflow;
    }

    /// Keepalives seen per address (NAT troubleshooting, crate::nat).
    pub fn nat_keepalives(&self) -> &crate::nat::KeepaliveTable {
        &self.nat_keepalives
    }

    /// Every RTP stream indexed for the NAT analysis (build once, then ask per dialog).
    pub fn nat_flow_index(&self) -> crate::nat::FlowIndex {
        let mut ix = crate::nat::FlowIndex::default();
        for s in self.streams.values() {
            ix.add(s.order, s.dialog, nat_flow(s));
        }
        ix
    }

    /// The NAT view of a dialog (None when there is nothing to say), as the report shows it.
    pub fn nat_view(&self, d: &Dialog, ix: &crate::nat::FlowIndex) -> Option<crate::nat::NatView> {
        let flows = ix.flows(d.id, &d.nat);
        let answered = d.is_call()
            && d.answered
                .is_some_and(|a| d.end.since(a) >= crate::nat::MIN_TALK_NS);
        crate::nat::assess(
            &d.nat,
            &flows,
            &self.nat_keepalives,
            answered,
            self.stats.rtp_packets > 0,
        )
    }

    fn bind(&mut self, addr: SocketAddr, dialog: u64, rtcp: bool) {
        let order = self.next_binding;
        self.next_binding += 1;
        self.binding_queue.push_back((addr, order));
        let new = self.bindings.insert(
            addr,
            Binding {
                dialog,
                rtcp,
                order,
            },
        );
        // A new address in a full table: the oldest announcement goes, O(1) amortised,
        // where a batch eviction copied and partly sorted the whole table (a flood
        // announces a new address per INVITE). Inserted first, so the address is looked
        // up once: the one just made is at the back of the queue, behind every other
        // live binding, so it is never the one evicted.
        if new && self.bindings.len() > self.limits.max_media_bindings.max(1) {
            while let Some((a, order)) = self.binding_queue.pop_front() {
                if self.bindings.remove_made(&a, order) {
                    self.stats.binding_evictions += 1;
                    break;
                }
            }
        }
        if self.binding_queue.len() > 2 * self.bindings.len() + 64 {
            // Re-announced addresses left stale entries: keep the queue within the table.
            let bindings = &self.bindings;
            self.binding_queue
                .retain(|(a, o)| bindings.get(a).is_some_and(|b| b.order == *o));
        }
    }

    /// Frames numbered so far: a caller that feeds [`Self::process`] itself (live capture)
    /// numbers its frames from `frame_base() + 1` and then calls [`Self::push_input`].
    pub fn frame_base(&self) -> u64 {
        self.frame_base
    }

    /// Records an input fed through [`Self::process`] by the caller and advances the frame
    /// numbering past its `info.frames` frames (what [`Self::run_source`] does itself).
    pub fn push_input(&mut self, info: InputInfo) {
        self.frame_base += info.frames;
        self.inputs.push(info);
    }

    /// Replaces the live capture counters (one entry per interface or listener), shown by
    /// the report (`capture`) and the dashboard.
    pub fn set_capture_stats(&mut self, stats: Vec<crate::capture::CaptureStats>) {
        self.capture_stats = stats;
    }

    /// Live capture counters (empty for files).
    pub fn capture_stats(&self) -> &[crate::capture::CaptureStats] {
        &self.capture_stats
    }

    /// A number that changes whenever what the engine holds may have changed: a frame
    /// was processed or findings were added. Equal values mean the dialogs, streams and
    /// findings are as they were, so a reader polling the engine (the NDJSON stream's
    /// ticks, live) may skip its diff.
    pub fn generation(&self) -> u64 {
        self.stats.packets.wrapping_add(self.findings.len() as u64)
    }

    /// Appends findings computed outside the engine (the offline password audit,
    /// `crate::crack`); [`Analyzer::findings`] sorts them with the rest.
    pub fn add_findings(&mut self, v: Vec<Finding>) {
        self.findings.extend(v);
    }

    /// Put recovered secrets (Basic passwords) in finding summaries. Off by default: a
    /// report names that a secret was exposed without printing it.
    pub fn set_show_secrets(&mut self, show: bool) {
        self.changes.other();
        self.show_secrets = show;
    }

    /// Failed credential attempts from one source that make an `auth.bruteforce` finding
    /// (default [`crate::config::DEFAULT_BRUTEFORCE_THRESHOLD`]): the configuration's
    /// `[bruteforce] threshold`, changed and applied again to every rule.
    pub fn set_bruteforce_threshold(&mut self, failures: u64) {
        let mut c = self.config.clone();
        c.bruteforce.threshold = failures.max(1);
        self.set_config(&c);
    }

    /// Applies a configuration to the engine and every registered rule (thresholds,
    /// scanner signatures, SIP-over-TLS ports). Call it before the first frame (state the
    /// rules kept is reset).
    pub fn set_config(&mut self, config: &Config) {
        self.changes.other();
        self.config = config.clone();
        self.tls.set_sip_tls_ports(&config.tls.sip_ports);
        for r in &mut self.rules {
            r.configure(config);
        }
    }

    /// The input files message locators ([`RawText::At`]) point into: read a message's
    /// text with [`RawFiles::bytes`], or hand it to a view with [`LazyRaw::new`].
    pub fn raw_files(&self) -> &std::sync::Arc<RawFiles> {
        &self.raw_files
    }

    /// The bytes of a message record: its copy, or its input read again (None when the
    /// engine kept neither, or the file cannot be read any more).
    pub fn message_bytes(&self, m: &MessageRecord) -> Option<std::sync::Arc<[u8]>> {
        self.raw_files.bytes(&m.raw)
    }

    /// The text of an interned method or label.
    pub fn name(&self, s: Sym) -> &str {
        self.symbols.name(s)
    }

    /// True when recovered secrets may be printed (see [`Self::set_show_secrets`]).
    pub fn show_secrets(&self) -> bool {
        self.show_secrets
    }

    /// The interned strings (methods, labels, codec names).
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// The TLS handshake tracker (sessions still held).
    pub fn tls(&self) -> &crate::tls::TlsTracker {
        &self.tls
    }

    /// Every RTP stream held, in no particular order (see [`Self::streams`] for the
    /// listed ones in order).
    pub fn all_streams(&self) -> impl Iterator<Item = &RtpStream> {
        self.streams.values()
    }

    /// The streams bound to dialog `d`, in order of creation (the dialog may already be
    /// evicted: its streams outlive it).
    pub fn streams_of(&self, d: &Dialog) -> Vec<&RtpStream> {
        // A dialog without media (a signaling capture's, a flood's) has nothing to look
        // up: every rule concluding on it asks.
        if !d.stream_keys_overflow && d.stream_keys.is_empty() {
            return Vec::new();
        }
        let mut v: Vec<&RtpStream> = if d.stream_keys_overflow {
            self.streams
                .values()
                .filter(|s| s.dialog == Some(d.id))
                .collect()
        } else {
            d.stream_keys
                .iter()
                .filter_map(|k| self.streams.get(k))
                .filter(|s| s.dialog == Some(d.id))
                .collect()
        };
        v.sort_by_key(|s| s.order);
        v
    }

    /// What the E-model needs beyond a stream's own loss figures: its codec's planning
    /// values ([`media::quality::codec_impairment`]) and a round trip, the stream's own
    /// or, failing that, one measured on another stream of its dialog (the path is the
    /// same both ways). `None` for a stream that is not speech: video (90 kHz clock),
    /// telephone events or comfort noise alone.
    pub fn quality_inputs(
        &self,
        s: &RtpStream,
    ) -> Option<(media::quality::CodecImpairment, Option<f64>)> {
        let name = s.codec.map_or("", |c| self.name(c));
        if s.clock_rate == 90_000
            || name.eq_ignore_ascii_case("telephone-event")
            || name.eq_ignore_ascii_case("CN")
            || s.stats.packets() == 0
        {
            return None;
        }
        let codec = media::quality::codec_impairment(name);
        let rtt = s.rtt_ms.or_else(|| {
            let d = self.dialogs.get(&s.dialog?)?;
            self.streams_of(d).iter().find_map(|o| o.rtt_ms)
        });
        Some((codec, rtt))
    }

    /// The E-model score of a stream over its whole length (see
    /// [`quality_inputs`](Self::quality_inputs); `None` when it is not speech).
    pub fn stream_score(&self, s: &RtpStream) -> Option<media::quality::Score> {
        let (codec, rtt) = self.quality_inputs(s)?;
        Some(media::quality::score(
            &s.stats.quality().totals(),
            &codec,
            rtt,
        ))
    }

    /// The dialog whose SDP announced `addr` (RTP or RTCP), if it is still held.
    pub fn dialog_at(&self, addr: SocketAddr) -> Option<&Dialog> {
        self.bindings
            .get(&addr)
            .and_then(|b| self.dialogs.get(&b.dialog))
    }

    /// The NAT view's inputs for one dialog: the flows of its streams (those bound to it,
    /// and those touching its SDP addresses, from `ix`).
    pub fn nat_flows(&self, d: &Dialog, ix: &crate::nat::FlowIndex) -> Vec<crate::nat::MediaFlow> {
        ix.flows(d.id, &d.nat)
    }

    /// A flow index of only the streams bound to `d`: what is left to judge a dialog that
    /// is being evicted without indexing every stream.
    pub fn nat_flow_index_of(&self, d: &Dialog) -> crate::nat::FlowIndex {
        let mut ix = crate::nat::FlowIndex::default();
        for s in self.streams_of(d) {
            ix.add(s.order, s.dialog, nat_flow(s));
        }
        ix
    }

    /// Engine counters.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Network decode counters.
    pub fn net_stats(&self) -> &NetStats {
        self.decoder.stats()
    }

    /// Inputs read so far.
    pub fn inputs(&self) -> &[InputInfo] {
        &self.inputs
    }

    /// Time of the earliest and latest frame.
    pub fn time_span(&self) -> Option<(Timestamp, Timestamp)> {
        Some((self.first_ts?, self.last_ts?))
    }

    /// Dialogs in creation order.
    pub fn dialogs(&self) -> impl Iterator<Item = &Dialog> {
        self.dialogs.values()
    }

    /// Dialogs kept.
    pub fn dialog_count(&self) -> usize {
        self.dialogs.len()
    }

    /// The dialog with this [`Dialog::id`], if still kept.
    pub fn dialog(&self, id: u64) -> Option<&Dialog> {
        self.dialogs.get(&id)
    }

    /// The [`Dialog::id`] of the dialog with this Call-ID, if still kept.
    pub fn dialog_id(&self, call_id: &str) -> Option<u64> {
        self.by_call_id.get(call_id.as_bytes(), &self.dialogs)
    }

    /// Starts (or stops) recording what changes, for [`Self::take_changes`]: the live
    /// dashboard redoes only what moved (see [`changes`]).
    pub fn track_changes(&mut self, on: bool) {
        self.changes.set_enabled(changes::Reader::Dashboard, on);
    }

    /// Starts (or stops) recording which dialogs changed for [`Self::findings_changed`],
    /// apart from the dashboard's record: the NDJSON stream concludes again only on the
    /// dialogs that moved since its last tick.
    pub fn track_conclusions(&mut self, on: bool) {
        self.changes.set_enabled(changes::Reader::Conclusions, on);
    }

    /// What changed since the last call, for [`Self::findings_changed`] and the NDJSON
    /// stream's dialog events (None when [`Self::track_conclusions`] is off).
    pub fn take_conclusion_changes(&self) -> Option<changes::Changes> {
        self.changes
            .enabled(changes::Reader::Conclusions)
            .then(|| self.changes.take(changes::Reader::Conclusions))
    }

    /// What changed since the last call (empty when tracking is off).
    pub fn take_changes(&self) -> changes::Changes {
        self.changes.take(changes::Reader::Dashboard)
    }

    /// Streams worth listing, in order of first packet: every stream an SDP announced,
    /// and unannounced ones with at least [`MIN_HEURISTIC_RTP_PACKETS`] packets.
    pub fn streams(&self) -> Vec<&RtpStream> {
        let mut v: Vec<&RtpStream> = self
            .streams
            .values()
            .filter(|s| s.announced || s.stats.packets() >= MIN_HEURISTIC_RTP_PACKETS)
            .collect();
        v.sort_by_key(|s| s.order);
        v
    }

    /// All findings, most severe first, then by time: what every registered rule
    /// concludes over the dialogs, streams and sessions still held, the findings of
    /// evicted dialogs, and those added from outside ([`Self::add_findings`]).
    ///
    /// With more than one core and a large capture, the rules conclude on two threads
    /// (each rule reads only the finished state): their lists are joined in registration
    /// order, so the result is the same as on one thread.
    pub fn findings(&self) -> Vec<Finding> {
        let all = if self.dialog_count() >= PARALLEL_MIN_DIALOGS && parallelism() > 1 {
            self.rule_findings_parallel()
        } else {
            let mut all = Vec::new();
            for r in &self.rules {
                r.finish(self, &mut all);
            }
            all
        };
        self.complete_findings(all)
    }

    /// What changed in [`Self::findings`] since the last call with `cache`, for the
    /// NDJSON stream, which asks at every tick while a long capture holds far more
    /// finished dialogs than a tick touches.
    ///
    /// `changes` is what [`Self::take_conclusion_changes`] gave since that call (None:
    /// everything). The answer is the whole list ([`FindingsDelta::calls`] None), or,
    /// when only SIP messages on dialogs happened in between (see
    /// [`changes::Changes::other`]), the findings of some Call-IDs and every finding tied
    /// to no call, in report order; every other call's findings are then those of the
    /// last answer, unchanged. The calls named are those whose dialog moved or was
    /// evicted, those the rules that conclude over everything speak of now or spoke of
    /// last time, and those of the engine's own findings added since (the engine only
    /// ever appends to them). The rules that conclude one dialog
    /// at a time ([`Rule::conclude_dialogs`]) conclude only on the named calls' dialogs.
    /// Anything else in between (media, keepalives, ICMP errors, TLS records, a
    /// malformed message), and every rule concludes over everything, as for the report.
    pub fn findings_changed(
        &self,
        cache: &mut ConclusionCache,
        changes: Option<&changes::Changes>,
    ) -> FindingsDelta {
        let rtp_seen = self.stats.rtp_packets > 0;
        let whole = |cache: &mut ConclusionCache| {
            cache.global_calls = None;
            cache.engine_seen = self.findings.len();
            cache.rtp_seen = rtp_seen;
            FindingsDelta {
                findings: self.findings(),
                calls: None,
            }
        };
        // The first RTP packet changes every call's NAT verdict (media seen or not).
        let Some(ch) =
            changes.filter(|ch| !ch.other && !ch.overflowed && cache.rtp_seen == rtp_seen)
        else {
            return whole(cache);
        };
        // The findings of the rules that conclude over everything (None for the others,
        // which conclude below on the dialogs named), and the calls they speak of.
        let mut global_calls = rustc_hash::FxHashSet::default();
        let parts: Vec<Option<Vec<Finding>>> = self
            .rules
            .iter()
            .map(|r| {
                let per_dialog = r.conclude_dialogs(self, &mut std::iter::empty(), &mut |_, _| {});
                (!per_dialog).then(|| {
                    let mut out = Vec::new();
                    r.finish(self, &mut out);
                    global_calls.extend(out.iter().filter_map(|f| f.call_id.clone()));
                    out
                })
            })
            .collect();
        // The engine's own findings (evicted dialogs', added ones) are only ever
        // appended: those appended since the last answer name their calls.
        let seen = std::mem::replace(&mut cache.engine_seen, self.findings.len());
        let before = cache.global_calls.replace(global_calls.clone());
        // A per-dialog finding must be about its dialog's call, or a call's findings
        // would not all be found through its dialog: a rule that breaks this gets the
        // whole list.
        let mut stray = false;
        let Some(mut calls) = before else {
            // No answer to build on: this one is whole (and checks every dialog's
            // findings), and the next can be partial.
            let mut all = Vec::new();
            for (r, part) in self.rules.iter().zip(parts) {
                match part {
                    Some(part) => all.extend(part),
                    None => all.extend(self.conclude_checked(
                        r.as_ref(),
                        &mut self.dialogs(),
                        &mut stray,
                    )),
                }
            }
            if stray {
                return whole(cache);
            }
            return FindingsDelta {
                findings: self.complete_findings(all),
                calls: None,
            };
        };
        calls.extend(global_calls);
        calls.extend(
            self.findings
                .iter()
                .skip(seen)
                .filter_map(|f| f.call_id.clone()),
        );
        calls.extend(ch.evicted_calls.iter().cloned());
        calls.extend(
            ch.dialogs
                .iter()
                .chain(&self.media_moved(ch))
                .filter_map(|id| self.dialogs.get(id))
                .map(|d| d.call_id.clone()),
        );
        // Their dialogs in id order, the order of `dialogs()`: each rule's list is then
        // the part of the one it gives over every dialog that concerns these calls.
        let mut ids: Vec<u64> = calls.iter().filter_map(|c| self.dialog_id(c)).collect();
        ids.sort_unstable();
        let mut all = Vec::new();
        for (r, part) in self.rules.iter().zip(parts) {
            match part {
                Some(part) => all.extend(part),
                None => {
                    let mut named = ids.iter().filter_map(|id| self.dialogs.get(id));
                    all.extend(self.conclude_checked(r.as_ref(), &mut named, &mut stray));
                }
            }
        }
        if stray {
            return whole(cache);
        }
        let named = |f: &&Finding| f.call_id.as_ref().is_none_or(|c| calls.contains(c));
        all.extend(self.findings.iter().filter(named).cloned());
        FindingsDelta {
            findings: self.sort_findings(all),
            calls: Some(calls),
        }
    }

    /// The dialogs whose per-dialog conclusions media or keepalives may have moved: those
    /// the moved streams are bound to, and (the NAT view counts every flow touching an
    /// address a party's SDP named, and the keepalives of each party's source) those
    /// with a party at an address a moved or evicted flow touched, or at a keepalive's.
    fn media_moved(&self, ch: &changes::Changes) -> Vec<u64> {
        let mut ids: Vec<u64> = ch.media_dialogs.iter().copied().collect();
        let mut addrs: rustc_hash::FxHashSet<SocketAddr> = ch.media_addrs.clone();
        for &(src, dst, ssrc) in &ch.media_streams {
            if let Some(s) = self.streams.get(&StreamKey { src, dst, ssrc }) {
                ids.extend(s.dialog);
                addrs.insert(s.src);
                addrs.insert(s.dst);
            }
        }
        if !addrs.is_empty() || !ch.keepalives.is_empty() {
            ids.extend(
                self.dialogs()
                    .filter(|d| {
                        d.nat.parties.iter().any(|p| {
                            ch.keepalives.contains(&p.source.get())
                                || p.sdp.iter().any(|a| addrs.contains(&a.get()))
                        })
                    })
                    .map(|d| d.id),
            );
        }
        ids
    }

    /// A per-dialog rule's findings over `dialogs`; `stray` set when one of them is not
    /// about its dialog's call.
    fn conclude_checked<'a>(
        &'a self,
        r: &dyn Rule,
        dialogs: &mut dyn Iterator<Item = &'a Dialog>,
        stray: &mut bool,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        r.conclude_dialogs(self, dialogs, &mut |id, v| {
            let call = self.dialogs.get(&id).map(|d| d.call_id.as_str());
            *stray |= v.iter().any(|f| f.call_id.as_deref() != call);
            out.append(v);
        });
        out
    }

    /// The rules' findings `all` joined with the engine's own and the eviction summaries,
    /// in report order.
    fn complete_findings(&self, mut all: Vec<Finding>) -> Vec<Finding> {
        all.extend(self.findings.iter().cloned());
        self.sort_findings(all)
    }

    /// `all` (the rules' findings, then the engine's own) with the eviction summaries, in
    /// report order.
    fn sort_findings(&self, mut all: Vec<Finding>) -> Vec<Finding> {
        self.evicted.summarise(&mut all);
        // A big capture has a finding per call: the doubling left up to half the list
        // unused, and a stable sort of the findings themselves borrowed as much again in
        // scratch space. Their positions are sorted instead (4 bytes each, stable, so
        // the order is the one sorting them gave) and the findings moved into place.
        all.shrink_to_fit();
        let n = u32::try_from(all.len()).unwrap_or(u32::MAX);
        // The order is severity (most severe first), time, first evidence frame, then
        // position (what the stable sort gave). Severity and time are packed into one
        // word computed once per finding: the comparator reading both findings through
        // their positions was most of the sort. Times of 2^61 ns and more (past 2043)
        // would not fit beside the severity: the whole key is compared then.
        const SEV_SHIFT: u32 = 61;
        let packed = all.iter().all(|f| f.ts.0 < 1 << SEV_SHIFT);
        let mut order: Vec<u32> = if packed {
            let sev = |f: &Finding| Severity::Critical as u64 - f.severity as u64;
            let mut keys: Vec<(u64, u32)> = all
                .iter()
                .zip(0..n)
                .map(|(f, i)| (sev(f) << SEV_SHIFT | f.ts.0, i))
                .collect();
            let first = |i: u32| all.get(i as usize).and_then(|f| f.evidence.first());
            // Stable, as before: the lists come in long sorted runs, which it merges.
            keys.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| first(a.1).cmp(&first(b.1))));
            keys.into_iter().map(|(_, i)| i).collect()
        } else {
            let mut order: Vec<u32> = (0..n).collect();
            let key = |i: &u32| all.get(*i as usize);
            order.sort_by(|a, b| match (key(a), key(b)) {
                (Some(a), Some(b)) => b
                    .severity
                    .cmp(&a.severity)
                    .then(a.ts.cmp(&b.ts))
                    .then(a.evidence.first().cmp(&b.evidence.first())),
                _ => std::cmp::Ordering::Equal,
            });
            order
        };
        permute(&mut all, &mut order);
        all
    }
}

/// Below this many dialogs the rules conclude, and the report is written, on the calling
/// thread: a thread costs more than what it would share.
pub(crate) const PARALLEL_MIN_DIALOGS: usize = 2048;

/// Cores this process may use (1 when unknown).
pub(crate) fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Analyzer {
    /// Every rule's [`Rule::finish`], the rules shared out between this thread and one
    /// helper (whichever is free takes the next rule), each rule's findings kept apart and
    /// joined in registration order.
    fn rule_findings_parallel(&self) -> Vec<Finding> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done: Vec<(usize, Vec<Finding>)> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(r) = self.rules.get(i) else {
                    return done;
                };
                let mut out = Vec::new();
                r.finish(self, &mut out);
                done.push((i, out));
            }
        };
        let (mut mine, theirs) = std::thread::scope(|s| {
            let helper = s.spawn(work);
            let mine = work();
            (mine, helper.join())
        });
        // A rule that panicked on the helper panics here, as it would on one thread.
        mine.extend(theirs.unwrap_or_else(|p| std::panic::resume_unwind(p)));
        mine.sort_by_key(|(i, _)| *i);
        join_in_largest(mine.into_iter().map(|(_, v)| v).collect())
    }
}

/// Concatenates `lists` in order inside the largest of them. A big capture has one rule
/// with a finding per call: collecting into a new list kept that rule's list and the
/// growing copy alive together (11 MB of the 26,000-call capture's peak, about 5 more than
/// the list alone); the others are moved in around it instead.
fn join_in_largest<T>(mut lists: Vec<Vec<T>>) -> Vec<T> {
    let Some(big) = (0..lists.len()).max_by_key(|&i| lists.get(i).map_or(0, Vec::len)) else {
        return Vec::new();
    };
    let mut out = lists.get_mut(big).map(std::mem::take).unwrap_or_default();
    let mut before = Vec::new();
    let mut after = Vec::new();
    for (i, v) in lists.into_iter().enumerate() {
        if i < big {
            before.extend(v);
        } else if i > big {
            after.extend(v);
        }
    }
    out.reserve_exact(before.len() + after.len());
    out.splice(0..0, before);
    out.extend(after);
    out
}

/// Reorders `v` so that position `k` holds the element that was at `order[k]`, in place
/// (following each cycle of the permutation with swaps); `order` is left as the identity.
/// Positions past `v` (more than `u32::MAX` elements) stay where they are.
fn permute<T>(v: &mut [T], order: &mut [u32]) {
    for i in 0..order.len() {
        let mut j = i;
        while let Some(slot) = order.get_mut(j) {
            let k = *slot as usize;
            *slot = j as u32;
            if k == i || k >= v.len() || j >= v.len() {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

fn nat_flow(s: &RtpStream) -> crate::nat::MediaFlow {
    crate::nat::MediaFlow {
        src: s.src,
        dst: s.dst,
        packets: s.stats.packets(),
        first_frame: s.first_frame,
    }
}

/// Dialog ids by Call-ID.
///
/// A Call-ID that is UTF-8 (nearly all) is found by its hash, and told apart from another
/// with the same hash by the dialog's own copy ([`Dialog::call_id`], the same bytes): a
/// map keyed by the text kept a second copy per dialog, allocated for each new dialog and
/// freed (cold) at its eviction, a flood's per-message cost.
#[derive(Default)]
struct CallIds {
    /// Hash of the Call-ID to the dialog id (the dialog may be gone: checked when read).
    by_hash: FxHashMap<u64, u64>,
    /// The others, by their bytes: not UTF-8 (the dialog keeps a lossy copy), or whose
    /// hash a kept dialog with another Call-ID holds.
    other: FxHashMap<Box<[u8]>, u64>,
}

impl CallIds {
    /// The kept dialog with this Call-ID.
    fn get(&self, call_id: &[u8], dialogs: &table::DialogTable) -> Option<u64> {
        let named = |id: &u64| {
            dialogs
                .get(id)
                .is_some_and(|d| d.call_id.as_bytes() == call_id)
        };
        if let Some(id) = self.by_hash.get(&hash_of(&call_id)).filter(|id| named(id)) {
            return Some(*id);
        }
        if self.other.is_empty() {
            return None;
        }
        // Not checked by name: a lossy copy differs from the bytes.
        self.other
            .get(call_id)
            .copied()
            .filter(|id| dialogs.contains_key(id))
    }

    /// Files new dialog `id` under `call_id` (no kept dialog has that Call-ID).
    fn insert(&mut self, call_id: &[u8], id: u64, dialogs: &table::DialogTable) {
        if std::str::from_utf8(call_id).is_ok() {
            let slot = self.by_hash.entry(hash_of(&call_id)).or_insert(id);
            // The hash was free, or its dialog is gone: this one takes it.
            if *slot == id || !dialogs.contains_key(slot) {
                *slot = id;
                return;
            }
        }
        self.other.insert(call_id.into(), id);
    }

    /// Forgets dialog `d`, being evicted.
    fn remove(&mut self, d: &Dialog) {
        let key = hash_of(&d.call_id.as_bytes());
        if self.by_hash.get(&key) == Some(&d.id) {
            self.by_hash.remove(&key);
        } else if self.other.get(d.call_id.as_bytes()) == Some(&d.id) {
            // A Call-ID that is not UTF-8 is not found by its lossy copy and stays (as it
            // did in a map by text): a stale entry, never returned (the dialog is gone).
            self.other.remove(d.call_id.as_bytes());
        }
    }
}

/// Findings of evicted dialogs past [`Limits::max_evicted_findings`], per rule.
#[derive(Debug, Default)]
struct EvictedFindings {
    /// Findings of evicted dialogs kept one by one so far.
    kept: usize,
    /// Per rule: how many were summarised, the highest severity, the first of them.
    over: BTreeMap<RuleId, (u64, Severity, Finding)>,
}

impl EvictedFindings {
    fn note(&mut self, f: Finding) {
        match self.over.get_mut(&f.rule) {
            Some((n, sev, _)) => {
                *n += 1;
                *sev = (*sev).max(f.severity);
            }
            None => {
                self.over.insert(f.rule, (1, f.severity, f));
            }
        }
    }

    /// One finding per rule saying how many evicted dialogs it concerned.
    fn summarise(&self, out: &mut Vec<Finding>) {
        for (rule, (n, sev, first)) in &self.over {
            out.push(
                Finding::new(*rule, *sev, first.ts)
                    .flow_opt(first.src.map(|a| a.get()), first.dst.map(|a| a.get()))
                    .summary(format!(
                        "{n} more finding(s) of {rule} in evicted dialogs, not listed one by \
                         one (the bound on findings kept from evicted dialogs was reached); \
                         the first of them: {}",
                        first.summary
                    ))
                    .evidence(first.evidence.clone())
                    .advice(first.advice.clone()),
            );
        }
    }
}

/// What [`Analyzer::update_dialog`] learned that the rules are shown (the parsed SDP
/// body goes to the caller's slot instead: see [`Analyzer::on_sip`]).
struct MsgFacts {
    label: Sym,
    repeat: bool,
    /// The message finished the dialog (it was open before).
    finished: bool,
}

struct BoundLine {
    encrypted: bool,
    /// The line carries `a=crypto` (SDES) keys.
    sdes: bool,
    codec: Option<(Sym, u32)>,
    /// The telephone-event payload type and clock rate of the line.
    dtmf: Option<(u8, u32)>,
}

/// One SRTP packet of a stream bound to `dialog` (see [`srtp`]): a stalled state (no
/// key yet, or its keys failed) looks again at the dialog's keys, on its first stalled
/// packet and every 64th after (a re-INVITE may bring new ones), then the packet is
/// tried. The decrypted packet lands in `buf`; true when it did.
fn srtp_packet(
    st: &mut srtp::SrtpState,
    dialog: Option<u64>,
    seg: &Segment<'_>,
    dialogs: &table::DialogTable,
    buf: &mut Vec<u8>,
) -> bool {
    if st.stalled() {
        if st.note_stalled_packet() % 64 == 0 {
            if let Some(d) = dialog.and_then(|id| dialogs.get(&id)) {
                if st.wants_keys(d.sdes_keys().len()) {
                    st.refresh(d.sdes_keys(), seg.src, seg.dst);
                }
            }
        }
        if st.stalled() {
            return false;
        }
    }
    st.on_rtp(&seg.payload, buf)
}

/// Hands one RTP packet of the bound stream `s` to the media tap: the payload of the
/// decrypted packet in `buf` when `decrypted`, the wire payload when the stream is not
/// encrypted, none otherwise.
fn media_packet(
    tap: &mut MediaTap,
    s: &RtpStream,
    seg: &Segment<'_>,
    h: &media::RtpHeader,
    decrypted: bool,
    buf: &[u8],
    symbols: &Symbols,
) {
    let Some(dialog) = s.dialog else {
        return;
    };
    let payload = if decrypted {
        // The decrypted packet is the RTP packet without its tag and MKI: parse it
        // again for the payload's place (its padding is readable only now).
        media::rtp::parse(buf)
            .and_then(|d| buf.get(d.payload_offset..d.payload_offset + d.payload_len))
    } else if s.encrypted {
        None
    } else {
        seg.payload
            .get(h.payload_offset..h.payload_offset + h.payload_len)
    };
    let p = MediaPacket {
        frame: seg.frame,
        ts: seg.ts,
        src: seg.src,
        dst: seg.dst,
        dialog,
        call_id: s.call_id.as_deref().unwrap_or_default(),
        header: h,
        stream_pt: s.payload_type,
        codec: s.codec.map(|c| symbols.name(c)),
        clock_rate: s.clock_rate,
        dtmf_pt: s.dtmf_pt.map(|(pt, _)| pt),
        encrypted: s.encrypted,
        payload,
    };
    tap(&p);
}

/// Summarises an SDP body into owned media lines, interning names in `symbols`.
pub fn summarize_sdp(s: &sdp::Sdp<'_>, symbols: &mut Symbols) -> crate::model::List<MediaLine> {
    s.media
        .iter()
        .map(|m| {
            let ip = m.connection_address(s);
            let port = m.rtp_port();
            let addr = match (ip, port) {
                (Some(ip), p) if p != 0 => Some(SocketAddr::new(ip, p)),
                _ => None,
            };
            // RFC 3605: a=rtcp may name another address; else RTCP goes beside RTP.
            let rtcp_ip: Option<std::net::IpAddr> = m.attributes.iter().find_map(|a| match a {
                sdp::Attribute::Rtcp(r) => r.address.and_then(|x| x.parse().ok()),
                _ => None,
            });
            let rtcp = match (addr, m.rtcp_port()) {
                (Some(a), Some(p)) => Some(SocketAddr::new(rtcp_ip.unwrap_or(a.ip()), p)),
                _ => None,
            };
            // Kept per media line of every SDP, so allocated at its exact size: collected
            // from the iterator (of unknown length) it had room for 4 formats where calls
            // offer one or two, and shrinking it was a reallocation per media line.
            // The first few on the stack, then copied (cheaper than counting them first);
            // a longer list is counted.
            const FEW: usize = 8;
            let mut format = |pt: u8| match m.codec_for(pt) {
                Some(c) => (pt, symbols.intern(c.name), c.clock_rate),
                None => (pt, Sym::EMPTY, 0),
            };
            let mut pts = m.payload_types().take(MAX_FORMATS);
            let mut head = [(0u8, Sym::EMPTY, 0u32); FEW];
            let mut n = 0;
            for (slot, pt) in head.iter_mut().zip(pts.by_ref()) {
                *slot = format(pt);
                n += 1;
            }
            let head = head.get(..n).unwrap_or_default();
            let formats: Vec<(u8, Sym, u32)> = if n < FEW {
                head.to_vec()
            } else {
                let rest = m.payload_types().take(MAX_FORMATS).skip(FEW).count();
                let mut v = Vec::with_capacity(FEW + rest);
                v.extend_from_slice(head);
                v.extend(pts.map(format));
                v
            };
            MediaLine {
                media: symbols.intern(m.media.as_str()),
                addr: addr.map(crate::model::Addr::new),
                rtcp: rtcp.map(crate::model::Addr::new),
                proto: symbols.intern(m.proto.as_str()),
                encrypted: m.proto.is_srtp() || m.proto.is_dtls(),
                formats,
                direction: symbols.intern(m.direction(s).as_str()),
                crypto: m.crypto().count().min(u16::MAX as usize) as u16,
                candidates: crate::model::ice::candidates_of(m),
            }
        })
        .take(MAX_MEDIA_LINES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generation moves with every frame, ignored ones too, and with added findings;
    /// reading the engine leaves it where it was.
    #[test]
    fn generation_moves_with_frames_and_added_findings() {
        let mut an = Analyzer::new(Limits::default());
        let g0 = an.generation();
        let junk = Frame {
            number: 1,
            ts: Timestamp(1),
            link_type: crate::capture::LinkType::ETHERNET,
            orig_len: 3,
            data: vec![1, 2, 3],
            interface: 0,
        };
        an.process(&junk);
        let g1 = an.generation();
        assert_ne!(g1, g0);
        let _ = an.findings();
        let _ = an.dialogs().count();
        assert_eq!(an.generation(), g1);
        an.add_findings(vec![Finding::new(
            crate::model::RuleId("test.toy"),
            crate::model::Severity::Info,
            Timestamp(1),
        )]);
        assert_ne!(an.generation(), g1);
    }

    /// A remembered response label or method is the symbol interning its text gives,
    /// also once the table is full (then a label falls back to its status code).
    #[test]
    fn remembered_labels_and_methods_are_the_interned_symbols() {
        let mut symbols = Symbols::new(12);
        let mut reference = Symbols::new(12);
        let mut labels: [Option<Label>; LABEL_SLOTS] = std::array::from_fn(|_| None);
        let mut methods = [None; sip::Method::KNOWN];
        let mut buf = String::new();
        let responses: [(u16, &[u8]); 14] = [
            (200, b"OK"),
            (200, b"OK"),
            (200, b"Okay"),
            (216, b"OK"),
            (200, b"OK"),
            (180, b"Ringing"),
            (404, b"Not \xffFound"),
            (404, b"Not \xffFound"),
            (486, b"Busy Here"),
            (487, b"Request Terminated"),
            (503, b"Service Unavailable"),
            (603, b"Decline"),
            (500, b"Server Internal Error"),
            (200, b"OK"),
        ];
        let methods_seen: [&[u8]; 6] = [b"INVITE", b"ACK", b"INVITE", b"FOO", b"BYE", b"FOO"];
        for round in 0..3 {
            for (status, reason) in responses {
                let got = response_label(&mut symbols, &mut labels, &mut buf, status, reason);
                let text = format!("{status} {}", String::from_utf8_lossy(reason));
                let want = match reference.intern(&text) {
                    Sym::OTHER => reference.intern(&status.to_string()),
                    s => s,
                };
                assert_eq!(got, want, "round {round}: {text}");
            }
            for m in methods_seen {
                let m = sip::Method::from_bytes(m);
                let got = method_sym(&mut symbols, &mut methods, &m);
                assert_eq!(got, reference.intern(m.as_str()), "round {round}: {m:?}");
            }
        }
        assert!(
            reference.intern("one more") == Sym::OTHER,
            "the table filled up"
        );
    }

    /// `push_decimal` writes what `Display` writes, for every status code and beyond.
    #[test]
    fn push_decimal_is_display() {
        for n in (0..=u16::MAX)
            .step_by(7)
            .chain([0, 9, 10, 99, 100, 999, u16::MAX])
        {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    /// `permute` puts at each position the element `order` names, as indexing a copy would.
    #[test]
    fn join_in_largest_keeps_the_order() {
        let lists = vec![vec![1, 2], vec![], vec![3, 4, 5, 6], vec![7], vec![8, 9]];
        assert_eq!(join_in_largest(lists), (1..=9).collect::<Vec<_>>());
        assert_eq!(join_in_largest(Vec::<Vec<u8>>::new()), Vec::<u8>::new());
        assert_eq!(join_in_largest(vec![vec![1u8]]), vec![1]);
    }

    #[test]
    fn permute_moves_elements_where_order_says() {
        let mut seed = 7u64;
        for n in [0usize, 1, 2, 5, 64, 300] {
            let v: Vec<u64> = (0..n as u64).map(|x| x * 10).collect();
            let mut order: Vec<u32> = (0..n as u32).collect();
            // A deterministic shuffle (Fisher-Yates with an LCG).
            for i in (1..n).rev() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                order.swap(i, (seed >> 33) as usize % (i + 1));
            }
            let want: Vec<u64> = order.iter().map(|&i| v[i as usize]).collect();
            let mut got = v.clone();
            permute(&mut got, &mut order);
            assert_eq!(got, want, "n={n}");
            assert!(order.iter().enumerate().all(|(i, &o)| o as usize == i));
        }
    }

    /// `bind` keeps the bindings that binding the same sequence into a plain map would:
    /// a new address in a full table evicts the oldest live announcement (a re-bound
    /// address counts from its latest announcement), whatever the cap and the sequence.
    #[test]
    fn bind_evicts_the_oldest_live_announcement() {
        let mut seed = 11u64;
        for max in [0usize, 1, 2, 3, 5] {
            for round in 0..40 {
                let mut an = Analyzer::new(Limits {
                    max_media_bindings: max,
                    ..Limits::default()
                });
                // The model: address -> (dialog, order), evicting the smallest order.
                let mut model: std::collections::HashMap<SocketAddr, (u64, u64)> =
                    std::collections::HashMap::new();
                let mut evictions = 0u64;
                for i in 0..(20 + round) as u64 {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let port = 4000 + (seed >> 40) % 8 * 2;
                    let addr = if (seed >> 20) % 5 == 0 {
                        SocketAddr::from(([0xfe80, 0, 0, 0, 0, 0, 0, 1], port as u16))
                    } else {
                        SocketAddr::from(([10, 0, 0, 1], port as u16))
                    };
                    if !model.contains_key(&addr) && model.len() >= max.max(1) {
                        let oldest = model.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| *k);
                        if let Some(k) = oldest {
                            model.remove(&k);
                            evictions += 1;
                        }
                    }
                    model.insert(addr, (i, i));
                    an.bind(addr, i, false);
                }
                let mut got: Vec<(SocketAddr, u64, u64)> = an
                    .bindings
                    .v4
                    .iter()
                    .map(|(k, b)| {
                        let ip = std::net::Ipv4Addr::from((k >> 16) as u32);
                        (SocketAddr::from((ip, *k as u16)), b.dialog, b.order)
                    })
                    .chain(
                        an.bindings
                            .v6
                            .iter()
                            .map(|(k, b)| (SocketAddr::V6(*k), b.dialog, b.order)),
                    )
                    .collect();
                got.sort();
                let mut want: Vec<(SocketAddr, u64, u64)> =
                    model.iter().map(|(k, v)| (*k, v.0, v.1)).collect();
                want.sort();
                assert_eq!(got, want, "max {max}, round {round}");
                assert_eq!(an.stats.binding_evictions, evictions, "max {max}");
            }
        }
    }

    fn rec(from_caller: bool) -> SdpRecord {
        SdpRecord {
            frame: 0,
            from_caller,
            media: crate::model::List::default(),
        }
    }

    /// Feeds (side, CSeq) SDP bodies through `sdp_action` as the engine does and returns
    /// the exchanges as (offer index, answer index).
    fn pair(bodies: &[(bool, u32)]) -> Vec<(usize, Option<usize>)> {
        let mut sessions: Vec<MediaSession> = Vec::new();
        let mut sdp = Vec::new();
        for (i, &(caller, cseq)) in bodies.iter().enumerate() {
            let action = sdp_action(&sessions, &sdp, caller, Some(cseq));
            sdp.push(rec(caller));
            match (action, sessions.last_mut()) {
                (SdpAction::Answer, Some(s)) => s.answer = Some(i),
                (SdpAction::Copy, _) => {}
                _ => sessions.push(MediaSession {
                    offer: i,
                    answer: None,
                    cseq: Some(cseq),
                }),
            }
        }
        sessions.iter().map(|s| (s.offer, s.answer)).collect()
    }

    #[test]
    fn offer_answer_pairing_table() {
        // INVITE offer, 200 answer.
        assert_eq!(pair(&[(true, 1), (false, 1)]), [(0, Some(1))]);
        // Through a proxy, both legs captured: INVITE, relayed INVITE, 200, relayed 200.
        assert_eq!(
            pair(&[(true, 1), (true, 1), (false, 1), (false, 1)]),
            [(0, Some(2))]
        );
        // 183 with the answer, then the 200 repeating it (RFC 3262 / RFC 3264).
        assert_eq!(pair(&[(true, 1), (false, 1), (false, 1)]), [(0, Some(1))]);
        // Late offer: INVITE without SDP, offer in the 200, answer in the ACK (same CSeq).
        assert_eq!(pair(&[(false, 1), (true, 1)]), [(0, Some(1))]);
        // A re-INVITE from the callee after the first exchange is a new offer.
        assert_eq!(
            pair(&[(true, 1), (false, 1), (false, 7), (true, 7)]),
            [(0, Some(1)), (2, Some(3))]
        );
        // Two offers in a row from one side in different transactions (the first unanswered).
        assert_eq!(pair(&[(true, 1), (true, 2)]), [(0, None), (1, None)]);
    }
}

#[cfg(test)]
mod sync_tests {
    /// The report stage reads the analyzer from two threads (findings beside the dialog
    /// rows, the JSON of the dialogs in halves): it must stay `Sync`.
    #[test]
    fn analyzer_is_sync() {
        fn is_sync<T: Sync + Send>() {}
        is_sync::<super::Analyzer>();
    }
}
