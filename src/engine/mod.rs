//! The analysis engine: turns decoded segments into dialogs, media sessions, RTP streams
//! and findings.
//!
//! One [`Analyzer`] serves every front end (report, dashboard, live). It is deterministic:
//! time only comes from packet timestamps, tables are bounded by [`Limits`] and every
//! eviction is counted.

pub mod changes;
pub mod finding;
pub mod state;
pub mod symbols;

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash};

use rustc_hash::{FxBuildHasher, FxHashMap};
use std::net::SocketAddr;

use serde::Serialize;

use crate::capture::{Frame, FrameSource, LinkType, Timestamp};
use crate::media::{self, MediaKind};
use crate::net::{self, Decoder, NetLimits, NetStats, Segment, Transport};
use crate::rules::{self, auth::AuthAttempt};
use crate::sdp;
use crate::sip::{self, HeaderName, SipMessage, StartLine};

pub use finding::{Finding, RuleId, Severity, MAX_EVIDENCE};
pub use state::{DialogState, Event};
pub use symbols::{Sym, Symbols};

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
    /// Total bytes of raw SIP text kept for the raw view and export (0: keep none, as the
    /// `report` command does since it prints no message text).
    pub max_raw_bytes: usize,
    /// Findings kept for the malformed-message rule (the count goes on past it).
    pub max_malformed_findings: usize,
    /// Distinct method names and start-line labels kept (reason phrases are free text).
    pub max_symbols: usize,
    /// Network decode limits (fragments, TCP streams).
    pub net: NetLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_dialogs: 200_000,
            max_streams: 100_000,
            max_media_bindings: 400_000,
            max_messages_per_dialog: 2_000,
            max_raw_bytes: 512 << 20,
            max_malformed_findings: 1_000,
            max_symbols: 65_536,
            net: NetLimits::default(),
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

/// Transaction keys remembered per dialog before the ones past the retransmission horizon
/// are pruned.
const SEEN_PRUNE_AT: usize = 256;

/// How long a message can be retransmitted: 64*T1 (RFC 3261 §17.1.1.2), with margin.
const RETRANSMISSION_HORIZON_NS: u64 = 64_000_000_000;

/// Distinct To tags kept per dialog (a forking storm must not grow a dialog without bound).
pub const MAX_TO_TAGS: usize = 16;

/// Copies of a message closer together than this are duplicate captures, not retransmissions.
pub const DUPLICATE_WINDOW_NS: u64 = 10_000_000;

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
    /// RTCP packets (compound datagrams count once).
    pub rtcp_packets: u64,
    /// STUN messages.
    pub stun_packets: u64,
    /// DTLS records.
    pub dtls_packets: u64,
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
    /// TLS sessions (SIP over TLS or not) whose handshake was tracked.
    pub tls_sessions: u64,
    /// TLS sessions evicted by [`crate::tls::MAX_SESSIONS`] (their findings are kept).
    pub tls_session_evictions: u64,
    // Media, transport and end-to-end security (rules::media, rules::transport, rules::e2e).
    /// ZRTP packets (RFC 6189).
    pub zrtp_packets: u64,
    /// SIP messages on cleartext hops past `rules::transport::MAX_HOPS` (counted, not listed).
    pub cleartext_hop_overflow: u64,
    /// Security records (SDP facts, sips:/TLS references, S/MIME bodies, Identity
    /// headers) not kept because a dialog reached its caps.
    pub security_records_dropped: u64,
    /// Attack rules (scan.sweep, scan.enumeration, dos.flood, fraud.toll): what their
    /// bounded per-source tables could not keep.
    pub attack: rules::attack::AttackStats,
    /// Scanner sightings not recorded because `rules::attack::MAX_SCANNERS` was reached.
    pub scanner_overflow: u64,
    /// STUN Binding transactions and what their bounded tables could not keep (nat.stun).
    pub stun: rules::stun::StunStats,
    // NAT troubleshooting (crate::nat, rules::nat).
    /// NAT facts (parties, SDP addresses, ACK/BYE marks) not kept because a dialog's
    /// `nat` record reached its caps.
    pub nat_records_dropped: u64,
    /// Keepalive sources not recorded because `nat::MAX_KEEPALIVE_SOURCES` was reached.
    pub nat_keepalive_overflow: u64,
}

/// One input file and what happened while reading it.
#[derive(Debug, Clone, Serialize)]
pub struct InputInfo {
    /// Name as given on the command line.
    pub name: String,
    /// Frames read.
    pub frames: u64,
    /// Link types of its interfaces.
    pub link_types: Vec<String>,
    /// A warning when the input stopped early (truncated or corrupt).
    pub warning: Option<String>,
}

/// One SIP message as the engine keeps it: small, owned.
#[derive(Debug, Clone)]
pub struct MessageRecord {
    /// Frame number (1-based, across all inputs).
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Source address.
    pub src: SocketAddr,
    /// Destination address.
    pub dst: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// "INVITE" or "200 OK" style summary of the start line.
    pub label: Sym,
    /// CSeq number and method.
    pub cseq: Option<(u32, Sym)>,
    /// True when this is a retransmission of an earlier message.
    pub retransmission: bool,
    /// True when this is the same packet captured again (not a retransmission).
    pub duplicate: bool,
    /// Index into [`Dialog::sdp`] when the message carried SDP.
    pub sdp: Option<u32>,
    /// The raw message (None once the raw budget is spent). Shared, not copied, with the
    /// dashboard's snapshots: a live dashboard takes a snapshot every second.
    pub raw: Option<std::sync::Arc<[u8]>>,
    /// HEP: capture agent and capture id when the message arrived HEP-encapsulated (boxed:
    /// most messages have none, and this record is kept per message).
    pub hep: Option<Box<crate::hep::HepMeta>>,
}

/// One m= line of an SDP body, summarised. Names are interned: a busy server repeats
/// the same few codecs and profiles in every call.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaLine {
    /// Media type: audio, video, image, application...
    pub media: Sym,
    /// Address and port where this party wants to receive (None when port 0 or no c=).
    pub addr: Option<SocketAddr>,
    /// Where RTCP is expected (port+1, a=rtcp, or the RTP address with rtcp-mux).
    pub rtcp: Option<SocketAddr>,
    /// Transport protocol as written (RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, udptl...).
    pub proto: Sym,
    /// True for SRTP or DTLS-SRTP profiles.
    pub encrypted: bool,
    /// Payload types in preference order, with codec name and clock rate when known
    /// (`a=rtpmap`, else the RFC 3551 static table; [`Sym::EMPTY`] and 0 when unknown).
    pub formats: Vec<(u8, Sym, u32)>,
    /// sendrecv, sendonly, recvonly or inactive.
    pub direction: Sym,
    /// Number of a=crypto lines (SDES keys).
    pub crypto: u16,
    /// ICE candidates (RFC 8839 `a=candidate`), at most `rules::stun::MAX_CANDIDATES`.
    pub candidates: Vec<rules::stun::IceCandidate>,
}

/// An SDP body seen in a dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct SdpRecord {
    /// Frame that carried it.
    pub frame: u64,
    /// True when sent by the party that started the dialog.
    pub from_caller: bool,
    /// Its media lines.
    pub media: Vec<MediaLine>,
}

/// An SDP offer and its answer (RFC 3264).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaSession {
    /// Index into [`Dialog::sdp`] of the offer.
    pub offer: usize,
    /// Index of the answer, when one was seen.
    pub answer: Option<usize>,
    /// CSeq number of the transaction that carried the offer: copies of the offer or
    /// answer relayed on another hop (a proxy between both parties) share it.
    #[serde(skip)]
    pub cseq: Option<u32>,
}

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
    /// From URI of the first message.
    pub from: String,
    /// To URI of the first message.
    pub to: String,
    /// From tag of the initial request.
    pub from_tag: Option<String>,
    /// Distinct To tags seen in responses (forks and legs).
    pub to_tags: Vec<String>,
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
    /// Source of the first message.
    pub src: SocketAddr,
    /// Destination of the first message.
    pub dst: SocketAddr,
    /// User-Agent of the caller, Server/User-Agent of the callee.
    pub user_agents: Vec<String>,
    /// Message records (bounded).
    pub messages: Vec<MessageRecord>,
    /// SDP bodies.
    pub sdp: Vec<SdpRecord>,
    /// Offer/answer pairs.
    pub sessions: Vec<MediaSession>,
    /// Malformed messages in this dialog (frames).
    pub malformed_frames: Vec<u64>,
    /// Frames of retransmitted messages (bounded by [`MAX_EVIDENCE`]).
    pub retransmission_frames: Vec<u64>,
    /// Labels of retransmitted messages with counts.
    pub retransmitted: BTreeMap<Sym, u64>,
    /// RTCP packets sent to or from an address this dialog's SDP announced.
    pub rtcp_packets: u64,
    /// Requests that carried credentials (bounded by [`rules::auth::MAX_ATTEMPTS`]).
    pub auth: Vec<AuthAttempt>,
    /// Frame of the latest 401/407 challenge.
    last_challenge: Option<u64>,
    /// True once an INVITE request was seen (a call, as tshark and sngrep count them).
    pub invite_seen: bool,
    /// Messages that were exact copies captured again within a few milliseconds.
    pub duplicates: u64,
    seen: FxHashMap<u64, Timestamp>,
    initial_cseq: Option<u32>,
    memo: sip::ValueMemo,
    /// Media, transport and end-to-end security facts (rules::media, rules::transport,
    /// rules::e2e), bounded.
    pub security: rules::media::DialogSecurity,
    /// NAT troubleshooting (crate::nat): per-party advertised vs observed addresses.
    pub nat: crate::nat::DialogNat,
}

impl Dialog {
    /// True for INVITE dialogs: the initial method (or CSeq method) is INVITE.
    pub fn is_call(&self) -> bool {
        self.method == Sym::INVITE
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
    /// Clock rate used for jitter.
    pub clock_rate: u32,
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
    order: u64,
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

/// The analysis engine.
pub struct Analyzer {
    limits: Limits,
    decoder: Decoder,
    stats: EngineStats,
    inputs: Vec<InputInfo>,
    frame_base: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    dialogs: BTreeMap<u64, Dialog>,
    by_call_id: FxHashMap<Box<[u8]>, u64>,
    symbols: Symbols,
    next_dialog: u64,
    bindings: FxHashMap<SocketAddr, Binding>,
    next_binding: u64,
    streams: FxHashMap<StreamKey, RtpStream>,
    next_stream: u64,
    ssrc_index: FxHashMap<u32, StreamKey>,
    raw_bytes: usize,
    findings: Vec<Finding>,
    label_buf: String,
    show_secrets: bool,
    scanners: rules::attack::ScannerTracker,
    /// SIP over TLS: handshake tracker (rules::tls).
    tls: crate::tls::TlsTracker,
    // Attack rules (sweep, enumeration, flood, toll): fed every non-repeated message.
    attack: rules::attack::AttackTracker,
    bruteforce_threshold: u64,
    spare: Vec<Segment<'static>>,
    /// Cleartext SIP hops (rules::transport).
    hops: rules::transport::HopTable,
    /// STUN Binding transactions (rules::stun, nat.stun).
    stun: rules::stun::StunTracker,
    /// NAT troubleshooting: CRLF/STUN/OPTIONS keepalives per address (crate::nat).
    nat_keepalives: crate::nat::KeepaliveTable,
    /// HEP sending (crate::hep::send): sees every SIP message and RTCP packet.
    tap: Option<Tap>,
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
pub type Tap = Box<dyn FnMut(TapKind, &Segment<'_>) + Send>;

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new(Limits::default())
    }
}

/// An emptied segment buffer with another lifetime. Nothing is kept but the allocation:
/// the standard library collects an empty `Vec` of a same-layout type in place.
// `filter` cannot change the item type, which is the point here.
#[allow(clippy::unnecessary_filter_map)]
fn recycle<'b>(mut v: Vec<Segment<'_>>) -> Vec<Segment<'b>> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// How many entries to evict from a full table of `len` entries: a sixteenth, at least one.
fn evict_batch(len: usize) -> usize {
    (len / 16).max(1).min(len)
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    // FxHash has no random seed, so the engine stays deterministic.
    FxBuildHasher.hash_one(t)
}

/// The context security records keep (rules::media::Seen).
fn seen(seg: &Segment<'_>) -> rules::media::Seen {
    rules::media::Seen {
        frame: seg.frame,
        ts: seg.ts,
        src: seg.src,
        dst: seg.dst,
        transport: seg.transport,
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Analyzer {
    /// A new engine with the given limits.
    pub fn new(limits: Limits) -> Self {
        let symbols = Symbols::new(limits.max_symbols);
        Analyzer {
            decoder: Decoder::new(limits.net.clone()),
            limits,
            stats: EngineStats::default(),
            inputs: Vec::new(),
            frame_base: 0,
            first_ts: None,
            last_ts: None,
            dialogs: BTreeMap::new(),
            by_call_id: FxHashMap::default(),
            symbols,
            next_dialog: 1,
            bindings: FxHashMap::default(),
            next_binding: 0,
            streams: FxHashMap::default(),
            next_stream: 0,
            ssrc_index: FxHashMap::default(),
            raw_bytes: 0,
            findings: Vec::new(),
            label_buf: String::new(),
            show_secrets: false,
            scanners: rules::attack::ScannerTracker::default(),
            tls: crate::tls::TlsTracker::default(),
            attack: rules::attack::AttackTracker::default(),
            bruteforce_threshold: rules::auth::DEFAULT_BRUTEFORCE_THRESHOLD,
            spare: Vec::new(),
            hops: rules::transport::HopTable::default(),
            stun: rules::stun::StunTracker::default(),
            nat_keepalives: crate::nat::KeepaliveTable::default(),
            tap: None,
            capture_stats: Vec::new(),
            changes: changes::ChangeLog::default(),
        }
    }

    /// Calls `tap` with every SIP message and RTCP packet, as they are processed (used to
    /// forward them as HEP, see `crate::hep::HepSender`).
    pub fn set_tap(&mut self, tap: Tap) {
        self.tap = Some(tap);
    }

    /// Reads every frame of `source`, numbering frames after those of earlier inputs.
    ///
    /// A truncated or corrupt input keeps everything read before the fault; the problem
    /// is returned as a warning in [`InputInfo::warning`]. `tick` is called every 4096
    /// frames with the source's progress so a caller can draw a progress bar.
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
        before: &mut dyn FnMut(&Analyzer, &Frame) -> bool,
    ) -> &InputInfo {
        let mut frames = 0u64;
        let mut warning = None;
        let base = self.frame_base;
        loop {
            match source.next_frame() {
                Ok(Some(mut frame)) => {
                    frames += 1;
                    frame.number += base;
                    if !before(self, &frame) {
                        break;
                    }
                    self.process(&frame);
                    if frames % 4096 == 0 {
                        let (done, total) = source.progress();
                        tick(done, total);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    warning = Some(e.to_string());
                    break;
                }
            }
        }
        let (done, total) = source.progress();
        tick(done, total);
        self.frame_base = base + frames;
        self.inputs.push(InputInfo {
            name: source.name().to_string(),
            frames,
            link_types: source.link_types().iter().map(|l| l.name()).collect(),
            warning,
        });
        &self.inputs[self.inputs.len() - 1]
    }

    /// Processes one frame. `frame.number` must already be global (see [`Self::run_source`]).
    pub fn process(&mut self, frame: &Frame) {
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
        // Reuse one buffer across frames: an allocation per packet costs more than the
        // RTP path itself. The segments borrow this frame, so the empty buffer is carried
        // over as `Segment<'static>` (the in-place collect keeps its allocation).
        let mut segments: Vec<Segment<'_>> = recycle(std::mem::take(&mut self.spare));
        self.decoder.decode(frame, &mut segments);
        for seg in segments.drain(..) {
            self.on_segment(seg);
        }
        self.spare = recycle(segments);
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

    fn on_segment(&mut self, seg: Segment<'_>) {
        match seg.transport {
            Transport::Tcp => self.on_sip(&seg),
            // SIP over TLS: handshake records only (see net::tls_stream).
            Transport::Tls => {
                self.tls.on_segment(&seg);
                self.stats.tls_sessions = self.tls.sessions_created();
                self.stats.tls_session_evictions = self.tls.evictions();
            }
            Transport::Udp => {
                let p: &[u8] = &seg.payload;
                if net::sipframe::looks_like_sip_start(p) {
                    self.on_sip(&seg);
                } else if !p.is_empty() && p.iter().all(|&b| b == b'\r' || b == b'\n') {
                    self.stats.udp_keepalives += 1;
                    self.note_keepalive(seg.src, seg.ts);
                } else {
                    self.on_udp_other(&seg);
                }
            }
        }
    }

    fn on_udp_other(&mut self, seg: &Segment<'_>) {
        match media::classify_udp(&seg.payload) {
            MediaKind::Rtp(h) => self.on_rtp(seg, &h),
            MediaKind::Rtcp => {
                self.stats.rtcp_packets += 1;
                self.changes.media();
                if let Some(tap) = self.tap.as_mut() {
                    tap(TapKind::Rtcp, seg);
                }
                let first = media::rtcp::parse_packet(&seg.payload);
                if let Some(ssrc) = first.and_then(|(p, _)| p.sender_ssrc()) {
                    if let Some(key) = self.ssrc_index.get(&ssrc) {
                        if let Some(s) = self.streams.get_mut(key) {
                            s.rtcp_packets += 1;
                        }
                    }
                }
                // The call whose SDP announced this address (RTCP port, or the RTP port
                // under rtcp-mux), as for RTP: destination first, then symmetric source.
                let dialog = [seg.dst, seg.src]
                    .iter()
                    .find_map(|a| self.bindings.get(a))
                    .map(|b| b.dialog);
                if let Some(d) = dialog.and_then(|id| self.dialogs.get_mut(&id)) {
                    d.rtcp_packets += 1;
                }
            }
            MediaKind::Stun => {
                self.stats.stun_packets += 1;
                if let Some(m) = media::stun::parse(&seg.payload) {
                    self.stun.observe(&m, &seen(seg));
                    self.stats.stun = self.stun.stats().clone();
                }
                // STUN keeps NAT bindings open (RFC 5626 §4.4.2); it never counts as media.
                self.note_keepalive(seg.src, seg.ts);
            }
            MediaKind::Dtls => self.stats.dtls_packets += 1,
            MediaKind::Zrtp => {
                // ZRTP runs on the media ports the SDP announced (RFC 6189 §5).
                self.stats.zrtp_packets += 1;
                let dialog = [seg.dst, seg.src]
                    .iter()
                    .find_map(|a| self.bindings.get(a))
                    .map(|b| b.dialog);
                if let Some(d) = dialog.and_then(|id| self.dialogs.get_mut(&id)) {
                    d.security.observe_zrtp(seen(seg));
                }
            }
            _ => self.stats.other_udp += 1,
        }
    }

    fn on_rtp(&mut self, seg: &Segment<'_>, h: &media::RtpHeader) {
        self.stats.rtp_packets += 1;
        self.changes.media();
        let key = StreamKey {
            src: seg.src,
            dst: seg.dst,
            ssrc: h.ssrc,
        };
        if !self.streams.contains_key(&key) {
            if self.streams.len() >= self.limits.max_streams {
                self.evict_stream();
            }
            let stream = self.new_stream(seg, h);
            self.ssrc_index.insert(h.ssrc, key);
            self.streams.insert(key, stream);
        }
        let unbound = self.streams.get(&key).is_some_and(|s| s.dialog.is_none());
        if unbound {
            // SDP may arrive after the first packets (early media, re-INVITE): retry.
            if let Some((dialog, line)) = self.lookup_binding(seg.src, seg.dst, h.payload_type) {
                if let Some(s) = self.streams.get_mut(&key) {
                    s.dialog = Some(dialog.0);
                    s.call_id = Some(dialog.1);
                    s.announced = true;
                    s.encrypted = line.encrypted;
                    if let Some((codec, rate)) = line.codec {
                        s.codec = Some(codec);
                        s.clock_rate = rate;
                    }
                }
            }
        }
        if let Some(s) = self.streams.get_mut(&key) {
            let rate = s.clock_rate;
            s.stats.update(h, seg.ts, rate);
        }
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
            dialog: None,
            call_id: None,
            encrypted: false,
            announced: false,
            first_frame: seg.frame,
            rtcp_packets: 0,
            stats: media::StreamStats::default(),
            order,
        };
        if let Some(c) = media::codec::static_payload_type(h.payload_type) {
            stream.codec = Some(self.symbols.intern(c.name));
            stream.clock_rate = c.clock_rate;
        }
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
            let line = d
                .sdp
                .iter()
                .rev()
                .flat_map(|s| s.media.iter())
                .find(|m| m.addr == Some(addr) || m.candidates.iter().any(|c| c.addr == addr));
            let bound = match line {
                Some(m) => BoundLine {
                    encrypted: m.encrypted,
                    codec: m
                        .formats
                        .iter()
                        .find(|(p, n, _)| *p == pt && *n != Sym::EMPTY)
                        .map(|(_, n, r)| (*n, *r)),
                },
                None => BoundLine {
                    encrypted: false,
                    codec: None,
                },
            };
            return Some(((d.id, d.call_id.clone()), bound));
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
            self.streams.remove(&key);
            if self.ssrc_index.get(&key.ssrc) == Some(&key) {
                self.ssrc_index.remove(&key.ssrc);
            }
            self.stats.stream_evictions += 1;
        }
    }

    fn on_sip(&mut self, seg: &Segment<'_>) {
        if let Some(tap) = self.tap.as_mut() {
            tap(TapKind::Sip, seg);
        }
        let payload: &[u8] = &seg.payload;
        let msg = match sip::parse_message(payload) {
            Ok(m) => m,
            Err(e) => {
                self.stats.sip_malformed += 1;
                self.add_malformed(seg, None, e.to_string());
                return;
            }
        };
        self.stats.sip_messages += 1;
        if !self.hops.record(&seen(seg)) {
            self.stats.cleartext_hop_overflow += 1;
        }
        if msg.lf_only {
            self.stats.sip_lf_only += 1;
        }
        // Borrowed from the segment, not from `self`: no copy per message.
        let call_id = msg.call_id();
        // The dialog first: its memo spares re-validating the header values its earlier
        // messages already carried (same verdict, a fraction of the cost).
        let id = call_id.map(|c| self.dialog_for(c, &msg, seg));
        let problems = match id.and_then(|id| self.dialogs.get_mut(&id)) {
            Some(d) => sip::validate_with(&msg, &mut d.memo),
            None => sip::validate(&msg),
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
        let Some(id) = id else {
            self.stats.sip_without_call_id += 1;
            return;
        };
        self.changes.dialog(id);
        self.update_dialog(id, &msg, seg, &payload[..msg.len.min(payload.len())]);
        self.stats.symbol_overflow = self.symbols.overflow;
    }

    fn add_malformed(&mut self, seg: &Segment<'_>, call_id: Option<&[u8]>, reason: String) {
        if let Some(cid) = call_id {
            if let Some(d) = self
                .by_call_id
                .get(cid)
                .and_then(|id| self.dialogs.get_mut(id))
            {
                if d.malformed_frames.len() < MAX_EVIDENCE {
                    d.malformed_frames.push(seg.frame);
                }
            }
        }
        let kept = self
            .findings
            .iter()
            .filter(|f| f.rule == RuleId::SIP_MALFORMED)
            .count();
        if kept >= self.limits.max_malformed_findings {
            self.stats.malformed_findings_dropped += 1;
            return;
        }
        self.findings.push(Finding {
            rule: RuleId::SIP_MALFORMED,
            severity: Severity::Low,
            ts: seg.ts,
            call_id: call_id.map(lossy),
            src: Some(seg.src),
            dst: Some(seg.dst),
            summary: format!("malformed SIP message in frame {}: {reason}", seg.frame),
            evidence: vec![seg.frame],
            advice: "Check the sending implementation against RFC 3261 §7 and §20; \
                     strict peers answer such messages with 400 Bad Request or drop them."
                .to_string(),
        });
    }

    fn dialog_for(&mut self, call_id: &[u8], msg: &SipMessage<'_>, seg: &Segment<'_>) -> u64 {
        if let Some(id) = self.by_call_id.get(call_id) {
            if self.dialogs.contains_key(id) {
                return *id;
            }
        }
        if self.dialogs.len() >= self.limits.max_dialogs {
            self.evict_dialog();
        }
        let id = self.next_dialog;
        self.next_dialog += 1;
        self.stats.dialogs_created += 1;
        let method = match &msg.start {
            StartLine::Request { method, .. } => self.symbols.intern(method.as_str()),
            StartLine::Response { .. } => msg
                .cseq()
                .map(|c| self.symbols.intern(c.method.as_str()))
                .unwrap_or(Sym::EMPTY),
        };
        let from = msg.from();
        let dialog = Dialog {
            id,
            call_id: lossy(call_id),
            from: from.as_ref().map(|n| lossy(n.uri_raw)).unwrap_or_default(),
            to: msg.to().map(|n| lossy(n.uri_raw)).unwrap_or_default(),
            from_tag: from.as_ref().and_then(|n| n.tag().map(lossy)),
            to_tags: Vec::new(),
            method,
            state: DialogState::Trying,
            final_status: None,
            start: seg.ts,
            end: seg.ts,
            answered: None,
            message_count: 0,
            retransmissions: 0,
            transport: seg.transport,
            src: seg.src,
            dst: seg.dst,
            user_agents: Vec::new(),
            messages: Vec::new(),
            sdp: Vec::new(),
            sessions: Vec::new(),
            malformed_frames: Vec::new(),
            retransmission_frames: Vec::new(),
            retransmitted: BTreeMap::new(),
            rtcp_packets: 0,
            auth: Vec::new(),
            last_challenge: None,
            invite_seen: false,
            duplicates: 0,
            seen: FxHashMap::default(),
            initial_cseq: None,
            memo: sip::ValueMemo::default(),
            security: rules::media::DialogSecurity::default(),
            nat: crate::nat::DialogNat::default(),
        };
        self.dialogs.insert(id, dialog);
        self.by_call_id.insert(call_id.into(), id);
        id
    }

    fn evict_dialog(&mut self) {
        // Oldest finished dialog among the oldest few hundred; else the oldest of all.
        let victim = self
            .dialogs
            .values()
            .take(256)
            .find(|d| d.state.is_finished())
            .or_else(|| self.dialogs.values().next())
            .map(|d| d.id);
        if let Some(id) = victim {
            if let Some(d) = self.dialogs.remove(&id) {
                self.by_call_id.remove(d.call_id.as_bytes());
                for m in &d.messages {
                    if let Some(r) = &m.raw {
                        self.raw_bytes = self.raw_bytes.saturating_sub(r.len());
                    }
                }
                self.stats.dialog_evictions += 1;
                self.changes.evicted(id);
            }
        }
    }

    fn update_dialog(&mut self, id: u64, msg: &SipMessage<'_>, seg: &Segment<'_>, raw: &[u8]) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        d.message_count += 1;
        d.end = d.end.max(seg.ts);
        let cseq = msg
            .cseq()
            .map(|c| (c.seq, self.symbols.intern(c.method.as_str())));
        // Only the top Via identifies the transaction; the others are not parsed here.
        let top_via = msg
            .list_values(HeaderName::Via)
            .next()
            .and_then(|v| sip::Via::parse(v).ok());
        let branch = top_via.as_ref().and_then(|v| v.branch);
        let (label, is_request, status) = match &msg.start {
            StartLine::Request { method, .. } => (self.symbols.intern(method.as_str()), true, 0u16),
            StartLine::Response { status, reason, .. } => {
                use std::fmt::Write as _;
                self.label_buf.clear();
                let _ = write!(
                    self.label_buf,
                    "{} {}",
                    status.0,
                    String::from_utf8_lossy(reason)
                );
                let sym = match self.symbols.intern(&self.label_buf) {
                    // Past the bound, keep at least the status code.
                    Sym::OTHER => self.symbols.intern(&status.0.to_string()),
                    s => s,
                };
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
        // A copy within DUPLICATE_WINDOW_NS cannot be a SIP retransmission (the first timer
        // fires after T1 = 500 ms, RFC 3261 §17.1.1.2): it is the same packet captured twice
        // (two interfaces, a SPAN port seeing both directions). Count it apart.
        let first_seen = d.seen.get(&key).copied();
        if first_seen.is_none() {
            if d.seen.len() >= SEEN_PRUNE_AT {
                // A transaction is retransmitted for 64*T1 = 32 s at most (RFC 3261 §17.1.1.2,
                // Timer B/F): older keys can go, so a days-long dialog stays small.
                d.seen
                    .retain(|_, t| seg.ts.since(*t) <= RETRANSMISSION_HORIZON_NS);
            }
            d.seen.insert(key, seg.ts);
        }
        let duplicate = first_seen.is_some_and(|t| seg.ts.since(t) < DUPLICATE_WINDOW_NS);
        let retrans = first_seen.is_some() && !duplicate;
        if duplicate {
            d.duplicates += 1;
            self.stats.sip_duplicates += 1;
        }
        if retrans {
            d.retransmissions += 1;
            self.stats.sip_retransmissions += 1;
            if d.retransmission_frames.len() < MAX_EVIDENCE {
                d.retransmission_frames.push(seg.frame);
            }
            *d.retransmitted.entry(label).or_insert(0) += 1;
        }
        let repeat = first_seen.is_some();
        if let Some(t) = to_tag {
            if !is_request
                && d.to_tags.len() < MAX_TO_TAGS
                && !d.to_tags.iter().any(|x| x.as_bytes() == t)
            {
                d.to_tags.push(lossy(t));
            }
        }
        if !repeat {
            let label = self.symbols.name(label);
            self.stats.security_records_dropped +=
                d.security.observe_message(msg, raw, seen(seg), label);
        }
        if !repeat && is_request {
            if let Some(ua) = msg.user_agent() {
                self.scanners
                    .request(ua, seg.frame, seg.ts, seg.src, seg.dst);
                self.stats.scanner_overflow = self.scanners.dropped;
            }
        }
        if !repeat {
            self.attack
                .on_message(msg, seg.frame, seg.ts, seg.src, seg.dst);
            self.stats.attack = self.attack.stats;
        }
        if !repeat {
            if is_request {
                let creds = msg
                    .authorization()
                    .into_iter()
                    .map(|c| (c, false))
                    .chain(msg.proxy_authorization().into_iter().map(|c| (c, true)));
                for (c, proxy) in creds {
                    if d.auth.len() >= rules::auth::MAX_ATTEMPTS {
                        self.stats.auth_attempts_dropped += 1;
                        continue;
                    }
                    let mut a = AuthAttempt::from_credentials(&c, proxy);
                    a.frame = seg.frame;
                    a.ts = seg.ts;
                    a.src = seg.src;
                    a.dst = seg.dst;
                    a.transport = seg.transport;
                    a.method = self.symbols.name(label).to_string();
                    a.cseq = cseq.map(|c| c.0).unwrap_or(0);
                    a.challenge_frame = d.last_challenge;
                    a.set_body(msg.body);
                    d.auth.push(a);
                }
            } else if status >= 200 {
                if status == 401 || status == 407 {
                    d.last_challenge = Some(seg.frame);
                }
                // The final answer to a request that carried credentials is its outcome.
                if let Some((num, method)) = cseq {
                    let method = self.symbols.name(method);
                    for a in d
                        .auth
                        .iter_mut()
                        .filter(|a| a.outcome.is_none() && a.cseq == num && a.method == method)
                    {
                        a.outcome = Some((status, seg.frame));
                    }
                }
            }
        }
        let ua = if is_request {
            msg.user_agent()
        } else {
            msg.server().or_else(|| msg.user_agent())
        };
        if let Some(ua) = ua {
            if d.user_agents.len() < 4 && !d.user_agents.iter().any(|u| u.as_bytes() == ua) {
                d.user_agents.push(lossy(ua));
            }
        }

        if !repeat {
            let invite = d.is_call();
            let cseq_method = cseq.map(|c| c.1).unwrap_or(Sym::EMPTY);
            let cseq_num = cseq.map(|c| c.0);
            let initial_method = d.method;
            if is_request {
                if label == Sym::INVITE {
                    d.invite_seen = true;
                }
                // An INVITE in a Call-ID that began with another method (REGISTER then
                // INVITE, as some UAs do) turns the dialog into a call.
                if label == Sym::INVITE && !invite && d.state.is_finished() {
                    d.method = label;
                    d.state = DialogState::Trying;
                    d.initial_cseq = cseq_num;
                } else if label == initial_method && label != Sym::ACK && label != Sym::CANCEL {
                    let before_answer =
                        !matches!(d.state, DialogState::InCall | DialogState::Completed);
                    if before_answer || !invite {
                        d.initial_cseq = cseq_num;
                        d.state = state::next_state(d.state, invite, Event::NewAttempt);
                    }
                } else if label == Sym::BYE {
                    d.state = state::next_state(d.state, invite, Event::Bye);
                } else if label == Sym::CANCEL {
                    d.state = state::next_state(d.state, invite, Event::Cancel);
                }
            } else {
                let initial = cseq_method == initial_method
                    && (d.initial_cseq.is_none() || d.initial_cseq == cseq_num);
                let ev = if initial {
                    if status >= 200 {
                        d.final_status = Some(status);
                    }
                    if (200..300).contains(&status) && invite && d.answered.is_none() {
                        d.answered = Some(seg.ts);
                    }
                    Event::InitialResponse(status)
                } else {
                    Event::LaterResponse {
                        bye: cseq_method == Sym::BYE,
                        cancel: cseq_method == Sym::CANCEL,
                        status,
                    }
                };
                d.state = state::next_state(d.state, invite, ev);
            }
        }

        let mut sdp_index = None;
        let mut announced: Vec<(Option<SocketAddr>, Option<SocketAddr>)> = Vec::new();
        if !repeat {
            if let Some(body) = msg.sdp_body() {
                self.stats.sdp_bodies += 1;
                // The side comes from the From tag, not the address: a proxy relaying the
                // caller's INVITE to the callee sends it from its own address. Requests
                // carry their sender's tag in From, responses their recipient's.
                let from_caller = match (msg.from().and_then(|n| n.tag()), d.from_tag.as_deref()) {
                    (Some(t), Some(caller)) => (t == caller.as_bytes()) == is_request,
                    _ => seg.src == d.src,
                };
                let cseq_num = cseq.map(|c| c.0);
                let action = sdp_action(&d.sessions, &d.sdp, from_caller, cseq_num);
                let parsed = sdp::parse(body);
                self.stats.security_records_dropped += d.security.observe_sdp(
                    &parsed,
                    from_caller,
                    action == SdpAction::Copy,
                    seen(seg),
                );
                let media = summarize_sdp(&parsed, &mut self.symbols);
                announced = media.iter().map(|m| (m.addr, m.rtcp)).collect();
                // ICE candidates are where media may really flow (rules::stun).
                announced.extend(media.iter().flat_map(|m| {
                    m.candidates.iter().map(|c| match c.component {
                        1 => (Some(c.addr), None),
                        _ => (None, Some(c.addr)),
                    })
                }));
                let idx = d.sdp.len();
                if idx >= MAX_SDP_PER_DIALOG {
                    // Days of session-timer re-INVITEs: keep binding media, stop recording.
                    self.stats.sdp_records_dropped += 1;
                } else {
                    d.sdp.push(SdpRecord {
                        frame: seg.frame,
                        from_caller,
                        media,
                    });
                    sdp_index = Some(idx as u32);
                    match (action, d.sessions.last_mut()) {
                        (SdpAction::Answer, Some(s)) => s.answer = Some(idx),
                        (SdpAction::Copy, _) => {}
                        _ => d.sessions.push(MediaSession {
                            offer: idx,
                            answer: None,
                            cseq: cseq_num,
                        }),
                    }
                }
            }
        }

        // NAT troubleshooting (crate::nat): advertised vs observed, per party.
        let cx = crate::nat::MessageCtx {
            frame: seg.frame,
            ts: seg.ts,
            src: seg.src,
            dst: seg.dst,
            transport: seg.transport,
            repeat,
            duplicate,
            dialog_src: d.src,
            dialog_from_tag: d.from_tag.as_deref(),
            initial_cseq: d.initial_cseq,
            sdp: sdp_index
                .and_then(|i| d.sdp.get(i as usize))
                .map(|s| s.media.as_slice()),
        };
        self.stats.nat_records_dropped += d.nat.observe(msg, &cx, &self.symbols);
        if !repeat && is_request && self.symbols.name(label) == "OPTIONS" {
            // OPTIONS pings keep the NAT binding of either end open.
            self.nat_keepalives.note(seg.src, seg.ts);
            self.nat_keepalives.note(seg.dst, seg.ts);
            self.stats.nat_keepalive_overflow = self.nat_keepalives.overflow;
        }

        let keep_raw = self.raw_bytes + raw.len() <= self.limits.max_raw_bytes;
        if d.messages.len() < self.limits.max_messages_per_dialog {
            let raw_box = if keep_raw {
                self.raw_bytes += raw.len();
                Some(std::sync::Arc::from(raw))
            } else {
                // A zero budget means "do not keep text" (report mode), not a shortage.
                if self.limits.max_raw_bytes > 0 {
                    self.stats.raw_bytes_dropped += raw.len() as u64;
                }
                None
            };
            d.messages.push(MessageRecord {
                frame: seg.frame,
                ts: seg.ts,
                src: seg.src,
                dst: seg.dst,
                transport: seg.transport,
                label,
                cseq,
                retransmission: retrans,
                duplicate,
                sdp: sdp_index,
                raw: raw_box,
                hep: seg.hep.map(Box::new),
            });
        } else {
            self.stats.message_records_dropped += 1;
        }

        for (rtp, rtcp) in announced {
            if let Some(a) = rtp {
                self.bind(a, id, false);
            }
            if let Some(a) = rtcp.filter(|r| Some(*r) != rtp) {
                self.bind(a, id, true);
            }
        }
    }

    fn note_keepalive(&mut self, addr: SocketAddr, ts: Timestamp) {
        self.nat_keepalives.note(addr, ts);
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
                .is_some_and(|a| d.end.since(a) >= rules::nat::MIN_TALK_NS);
        crate::nat::assess(
            &d.nat,
            &flows,
            &self.nat_keepalives,
            answered,
            self.stats.rtp_packets > 0,
        )
    }

    fn bind(&mut self, addr: SocketAddr, dialog: u64, rtcp: bool) {
        if !self.bindings.contains_key(&addr)
            && self.bindings.len() >= self.limits.max_media_bindings
        {
            // Oldest announcements first, in batches (see `evict_stream`).
            let mut ages: Vec<(u64, SocketAddr)> =
                self.bindings.iter().map(|(a, b)| (b.order, *a)).collect();
            let n = evict_batch(ages.len());
            if n > 0 {
                ages.select_nth_unstable(n - 1);
                for (_, a) in ages.into_iter().take(n) {
                    self.bindings.remove(&a);
                    self.stats.binding_evictions += 1;
                }
            }
        }
        let order = self.next_binding;
        self.next_binding += 1;
        self.bindings.insert(
            addr,
            Binding {
                dialog,
                rtcp,
                order,
            },
        );
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

    /// Appends findings computed outside the engine (the offline password audit,
    /// `crate::crack`); [`Analyzer::findings`] sorts them with the rest.
    pub fn add_findings(&mut self, v: Vec<Finding>) {
        self.findings.extend(v);
    }

    /// Put recovered secrets (Basic passwords) in finding summaries. Off by default: a
    /// report names that a secret was exposed without printing it.
    pub fn set_show_secrets(&mut self, show: bool) {
        self.show_secrets = show;
    }

    /// Failed credential attempts from one source that make an `auth.bruteforce` finding
    /// (default [`rules::auth::DEFAULT_BRUTEFORCE_THRESHOLD`]).
    pub fn set_bruteforce_threshold(&mut self, failures: u64) {
        self.bruteforce_threshold = failures.max(1);
    }

    /// Applies a configuration: rule thresholds and scanner signatures. Call it before
    /// the first frame (state kept by the attack rules is reset).
    pub fn set_config(&mut self, config: &crate::config::Config) {
        self.bruteforce_threshold = config.bruteforce.threshold.max(1);
        self.scanners = rules::attack::ScannerTracker::new(rules::attack::Signatures::from_config(
            &config.scanners,
        ));
        self.attack = rules::attack::AttackTracker::new(config);
        self.tls.set_sip_tls_ports(&config.tls.sip_ports);
    }

    /// The text of an interned method or label.
    pub fn name(&self, s: Sym) -> &str {
        self.symbols.name(s)
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
        self.by_call_id
            .get(call_id.as_bytes())
            .copied()
            .filter(|id| self.dialogs.contains_key(id))
    }

    /// Starts (or stops) recording what changes, for [`Self::take_changes`]: the live
    /// dashboard redoes only what moved (see [`changes`]).
    pub fn track_changes(&mut self, on: bool) {
        self.changes.set_enabled(on);
    }

    /// What changed since the last call (empty when tracking is off).
    pub fn take_changes(&self) -> changes::Changes {
        self.changes.take()
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

    /// All findings, most severe first, then by time.
    pub fn findings(&self) -> Vec<Finding> {
        let mut all = self.findings.clone();
        all.extend(self.scanners.findings());
        all.extend(self.tls.findings());
        all.extend(self.attack.findings());
        all.extend(rules::auth::nonce_reuse(
            self.dialogs
                .values()
                .flat_map(|d| d.auth.iter().map(move |a| (d.call_id.as_str(), a))),
        ));
        all.extend(rules::auth::bruteforce(
            self.dialogs
                .values()
                .flat_map(|d| d.auth.iter().map(move |a| (d.call_id.as_str(), a))),
            self.bruteforce_threshold,
        ));
        for d in self.dialogs.values() {
            all.extend(rules::auth::findings(
                &d.call_id,
                &d.auth,
                self.show_secrets,
            ));
        }
        // Media, transport and end-to-end security (rules::media, transport, e2e).
        let mut bound: FxHashMap<u64, Vec<(u64, rules::media::StreamFact)>> = FxHashMap::default();
        for s in self.streams.values() {
            if let Some(id) = s.dialog {
                bound.entry(id).or_default().push((
                    s.order,
                    rules::media::StreamFact {
                        src: s.src,
                        dst: s.dst,
                        codec: s
                            .codec
                            .map(|c| self.symbols.name(c).to_string())
                            .unwrap_or_default(),
                        payload_type: s.payload_type,
                        packets: s.stats.packets(),
                        first_frame: s.first_frame,
                        ts: s.stats.first_seen().unwrap_or_default(),
                        encrypted: s.encrypted,
                    },
                ));
            }
        }
        for d in self.dialogs.values() {
            let mut streams = bound.remove(&d.id).unwrap_or_default();
            streams.sort_by_key(|(o, _)| *o);
            let streams: Vec<rules::media::StreamFact> =
                streams.into_iter().map(|(_, s)| s).collect();
            let sec = d.security.facts();
            let call = rules::media::CallInfo {
                is_call: d.invite_seen || d.is_call(),
                rejected: d.is_call() && d.final_status.is_some_and(|s| s >= 300),
            };
            all.extend(rules::media::findings(
                &d.call_id,
                call,
                sec,
                &streams,
                self.show_secrets,
            ));
            all.extend(rules::transport::downgrade_findings(
                &d.call_id,
                &sec.downgrades,
                sec.downgrades_total,
            ));
            all.extend(rules::e2e::findings(&d.call_id, &sec.smime, &sec.identity));
        }
        all.extend(self.hops.findings());
        all.extend(rules::stun::findings(
            &self.stun,
            self.dialogs.values(),
            self.streams.values(),
            &|a| {
                self.bindings
                    .get(&a)
                    .and_then(|b| self.dialogs.get(&b.dialog))
            },
        ));
        // NAT troubleshooting (rules::nat): per dialog, with the streams bound to it.
        let ix = self.nat_flow_index();
        let capture_has_rtp = self.stats.rtp_packets > 0;
        for d in self.dialogs.values() {
            let f = ix.flows(d.id, &d.nat);
            let facts = rules::nat::CallFacts {
                call_id: &d.call_id,
                is_call: d.is_call(),
                answered: d.answered,
                end: d.end,
                start: d.start,
                capture_has_rtp,
            };
            all.extend(rules::nat::findings(
                &facts,
                &d.nat,
                &f,
                &self.nat_keepalives,
            ));
        }
        for d in self.dialogs.values() {
            if d.retransmissions == 0 {
                continue;
            }
            let what = d
                .retransmitted
                .iter()
                .map(|(l, n)| format!("{} ×{n}", self.symbols.name(*l)))
                .collect::<Vec<_>>()
                .join(", ");
            let first = d.retransmission_frames.first().copied().unwrap_or(0);
            let rec = d.messages.iter().find(|m| m.frame == first);
            all.push(Finding {
                rule: RuleId::SIP_RETRANSMISSION,
                severity: Severity::Info,
                ts: rec.map(|m| m.ts).unwrap_or(d.start),
                call_id: Some(d.call_id.clone()),
                src: rec.map(|m| m.src),
                dst: rec.map(|m| m.dst),
                summary: format!(
                    "{} retransmission(s) in {} dialog: {what}",
                    d.retransmissions,
                    self.symbols.name(d.method)
                ),
                evidence: d.retransmission_frames.clone(),
                advice: "Retransmissions mean a message or its answer was lost or late \
                         (RFC 3261 §17 timers): check packet loss, firewalls and NAT bindings \
                         on the path, or a peer that is slow to answer."
                    .to_string(),
            });
        }
        all.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.ts.cmp(&b.ts))
                .then(a.evidence.first().cmp(&b.evidence.first()))
        });
        all
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

struct BoundLine {
    encrypted: bool,
    codec: Option<(Sym, u32)>,
}

/// Summarises an SDP body into owned media lines, interning names in `symbols`.
pub fn summarize_sdp(s: &sdp::Sdp<'_>, symbols: &mut Symbols) -> Vec<MediaLine> {
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
            let formats = m
                .payload_types()
                .take(MAX_FORMATS)
                .map(|pt| match m.codec_for(pt) {
                    Some(c) => (pt, symbols.intern(c.name), c.clock_rate),
                    None => (pt, Sym::EMPTY, 0),
                })
                .collect();
            MediaLine {
                media: symbols.intern(m.media.as_str()),
                addr,
                rtcp,
                proto: symbols.intern(m.proto.as_str()),
                encrypted: m.proto.is_srtp() || m.proto.is_dtls(),
                formats,
                direction: symbols.intern(m.direction(s).as_str()),
                crypto: m.crypto().count().min(u16::MAX as usize) as u16,
                candidates: rules::stun::candidates_of(m),
            }
        })
        .take(MAX_MEDIA_LINES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(from_caller: bool) -> SdpRecord {
        SdpRecord {
            frame: 0,
            from_caller,
            media: Vec::new(),
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
