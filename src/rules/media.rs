//! Media confidentiality rules: cleartext RTP, SRTP keys exposed in cleartext SDP
//! (RFC 4568 §8.3), and the protection each call used (SDES-SRTP RFC 4568, DTLS-SRTP
//! RFC 5763/5764, ZRTP RFC 6189).
//!
//! The engine keeps one bounded [`DialogSecurity`] per dialog, filled from each new
//! message ([`DialogSecurity::observe_message`]) and SDP body
//! ([`DialogSecurity::observe_sdp`]); [`findings`] turns it, with the RTP streams bound
//! to the dialog, into `media.*` findings.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::capture::Timestamp;
use crate::engine::srtp::KeySource;
use crate::engine::{Finding, RuleId, Severity, MAX_EVIDENCE};
use crate::net::Transport;
use crate::sdp::{self, Attribute, Setup};
use crate::sip::MessageView;

pub use crate::model::Seen;

use super::e2e::{IdentityRecord, SmimeRecord};
use super::list::List;
use super::transport::Downgrade;

/// `media.cleartext-rtp`: a call whose media is plain RTP (medium).
pub const CLEARTEXT_RTP: RuleId = RuleId("media.cleartext-rtp");
/// `media.sdes-key-exposed`: SRTP master keys in SDP sent over a cleartext hop (high).
pub const SDES_KEY_EXPOSED: RuleId = RuleId("media.sdes-key-exposed");
/// `media.srtp`: SRTP keyed by SDES (or another in-SDP method) (info).
pub const SRTP: RuleId = RuleId("media.srtp");
/// `media.dtls-srtp`: SRTP keyed by DTLS (info).
pub const DTLS_SRTP: RuleId = RuleId("media.dtls-srtp");
/// `media.zrtp`: ZRTP offered or running (info).
pub const ZRTP: RuleId = RuleId("media.zrtp");

/// SDP bodies whose security facts are kept per dialog.
pub const MAX_SDP_FACTS: usize = 16;
/// Media lines kept per SDP body.
pub const MAX_LINES: usize = 8;
/// `a=crypto` lines kept per media line.
pub const MAX_CRYPTO: usize = 4;
/// ZRTP packet frames kept per dialog as evidence.
const MAX_ZRTP_FRAMES: usize = 4;
/// Longest protocol, suite or key text kept.
const MAX_TEXT: usize = 96;

/// True when a hop's transport shows its content to whoever captures it: SIP read from
/// decrypted TLS (or WSS) was encrypted on the wire, so what it carries (SDES keys,
/// Digest exchanges) was not exposed to a passive observer without the keys.
pub fn is_cleartext(t: Transport) -> bool {
    match t {
        // WebSocket over plain TCP (ws:, RFC 7118) is as readable as TCP.
        Transport::Udp | Transport::Tcp | Transport::Sctp | Transport::Ws => true,
        // SIP decrypted from TLS with keys, and WebSocket inside TLS (wss:).
        Transport::Tls | Transport::TlsRecords | Transport::Wss => false,
    }
}

/// How a media line protects its RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// RTP/AVP, RTP/AVPF (and TCP variants): no encryption.
    Clear,
    /// RTP/SAVP(F): SRTP keyed in the SDP (SDES, RFC 4568) or by MIKEY.
    Srtp,
    /// UDP/TLS/RTP/SAVP(F): SRTP keyed by DTLS (RFC 5764).
    DtlsSrtp,
    /// Not RTP (T.38 udptl, MSRP, data channels).
    NotRtp,
}

impl Protection {
    fn of(p: &sdp::Proto<'_>) -> Protection {
        if p.is_srtp() && p.is_dtls() {
            Protection::DtlsSrtp
        } else if p.is_srtp() {
            Protection::Srtp
        } else if p.is_rtp() {
            Protection::Clear
        } else {
            Protection::NotRtp
        }
    }
}

/// One `a=crypto` line (RFC 4568 §9.1), owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoLine {
    /// Tag.
    pub tag: u32,
    /// Crypto suite (`AES_CM_128_HMAC_SHA1_80`...).
    pub suite: String,
    /// Key method and key||salt of the first key parameter (`inline:...`): a secret.
    pub key: Option<String>,
}

/// Security facts of one m= line: 64 bytes, its keying attributes boxed apart since a
/// plain RTP/AVP line (most calls, each with an offer and an answer) has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSecurity {
    /// Media type (`audio`, `video`...): borrowed when a common one (see [`clip_known`]).
    pub media: Cow<'static, str>,
    /// Transport protocol as written: borrowed when a common one.
    pub proto: Cow<'static, str>,
    /// Port (0: rejected or disabled).
    pub port: u16,
    /// What the profile protects.
    pub protection: Protection,
    /// The keying attributes, None when the line has none.
    pub keys: Option<Box<LineKeys>>,
}

/// The keying attributes of one m= line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineKeys {
    /// `a=crypto` lines (at most [`MAX_CRYPTO`]).
    pub crypto: Vec<CryptoLine>,
    /// `a=fingerprint` hash function (media level, else session level).
    pub fingerprint: Option<String>,
    /// `a=setup` role.
    pub setup: Option<String>,
    /// `a=zrtp-hash` version, when present (RFC 6189 §8.1).
    pub zrtp_hash: Option<String>,
}

impl LineSecurity {
    /// `a=crypto` lines (at most [`MAX_CRYPTO`]).
    pub fn crypto(&self) -> &[CryptoLine] {
        self.keys.as_ref().map_or(&[], |k| &k.crypto)
    }

    /// `a=fingerprint` hash function (media level, else session level).
    pub fn fingerprint(&self) -> Option<&str> {
        self.keys.as_ref()?.fingerprint.as_deref()
    }

    /// `a=setup` role.
    pub fn setup(&self) -> Option<&str> {
        self.keys.as_ref()?.setup.as_deref()
    }

    /// `a=zrtp-hash` version, when present (RFC 6189 §8.1).
    pub fn zrtp_hash(&self) -> Option<&str> {
        self.keys.as_ref()?.zrtp_hash.as_deref()
    }
}

/// Security facts of one SDP body.
#[derive(Debug, Clone, PartialEq)]
pub struct SdpSecurity {
    /// The message that carried it.
    pub at: Seen,
    /// True when sent by the party that started the dialog.
    pub from_caller: bool,
    /// A relayed copy of the last offer or answer (see [`DialogSecurity::observe_sdp`]).
    pub copy: bool,
    /// Its media lines (at most [`MAX_LINES`]).
    /// (In place when one, as most bodies have: see [`List`].)
    pub lines: List<LineSecurity>,
}

/// A dialog's security facts, held in place in the rule's table (32 bytes, nothing
/// allocated before the first SDP body): a box of its own was one more allocation and
/// free per call, and a flood creates and evicts a call per INVITE.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DialogSecurity(SecurityFacts);

/// What [`DialogSecurity::facts`] returns before anything was recorded.
static NO_FACTS: SecurityFacts = SecurityFacts {
    sdp: Vec::new(),
    rare: None,
};

/// What [`SecurityFacts`] reads for a dialog without ZRTP, downgrades or e2e records.
static NO_RARE_FACTS: RareFacts = RareFacts {
    zrtp_packets: 0,
    zrtp_frames: Vec::new(),
    zrtp_first: None,
    downgrades: Vec::new(),
    downgrades_total: 0,
    smime: Vec::new(),
    identity: Vec::new(),
};

/// Everything the media, transport and end-to-end rules need from one dialog, bounded.
/// Every call has SDP bodies; what few have (ZRTP, downgrades, S/MIME, Identity) is
/// allocated with the first of it: 32 bytes here instead of 144 in every call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityFacts {
    /// SDP bodies (at most [`MAX_SDP_FACTS`]).
    pub sdp: Vec<SdpSecurity>,
    rare: Option<Box<RareFacts>>,
}

/// The rarely filled part of [`SecurityFacts`].
#[derive(Debug, Clone, Default, PartialEq)]
struct RareFacts {
    /// ZRTP packets to or from an address this dialog's SDP announced.
    zrtp_packets: u64,
    /// First ZRTP packet frames.
    zrtp_frames: Vec<u64>,
    /// The first ZRTP packet.
    zrtp_first: Option<Seen>,
    /// `sips:` / TLS references carried on a cleartext hop (rules::transport).
    downgrades: Vec<Downgrade>,
    /// All such references, including those past the cap.
    downgrades_total: u64,
    /// S/MIME bodies (rules::e2e).
    smime: Vec<SmimeRecord>,
    /// Identity headers (rules::e2e).
    identity: Vec<IdentityRecord>,
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

/// The media types and RTP profiles nearly every SDP uses (RFC 4566 §5.14, RFC 3551,
/// RFC 3711, RFC 5124, RFC 5764, T.38): kept as these, not as a copy, since every
/// media line of every call records both.
const KNOWN_TEXTS: [&str; 14] = [
    "audio",
    "video",
    "image",
    "application",
    "text",
    "message",
    "RTP/AVP",
    "RTP/AVPF",
    "RTP/SAVP",
    "RTP/SAVPF",
    "UDP/TLS/RTP/SAVP",
    "UDP/TLS/RTP/SAVPF",
    "udptl",
    "TCP/RTP/AVP",
];

/// [`clip`], borrowing one of [`KNOWN_TEXTS`] when `s` is exactly it (same text).
fn clip_known(s: &str) -> Cow<'static, str> {
    match KNOWN_TEXTS.iter().find(|k| **k == s) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(clip(s)),
    }
}

impl DialogSecurity {
    /// The facts recorded so far (empty ones before the first).
    pub fn facts(&self) -> &SecurityFacts {
        &self.0
    }

    fn facts_mut(&mut self) -> &mut SecurityFacts {
        &mut self.0
    }

    /// Records the facts of a new (not retransmitted) message: `sips:`/TLS references
    /// on a cleartext hop, S/MIME bodies, Identity headers. `message` names it
    /// (method or status line). Returns how many records the caps dropped.
    pub fn observe_message(&mut self, msg: &MessageView<'_>, at: Seen, message: &str) -> u64 {
        let mut dropped = 0;
        let refs = if is_cleartext(at.transport) {
            super::transport::tls_references(msg)
        } else {
            Vec::new()
        };
        if !refs.is_empty() {
            let f = self.facts_mut().rare_mut();
            for (header, value) in refs {
                f.downgrades_total += 1;
                if f.downgrades.len() >= super::transport::MAX_DOWNGRADES {
                    dropped += 1;
                    continue;
                }
                f.downgrades.push(Downgrade {
                    at,
                    header,
                    value: clip(&String::from_utf8_lossy(value)),
                });
            }
        }
        // Only an Identity header or a body other than SDP can carry e2e facts.
        let e2e = msg.header_count(crate::sip::HeaderName::Identity) > 0
            || msg
                .content_type()
                .is_some_and(|ct| !ct.is("application", "sdp"));
        if e2e {
            let f = self.facts_mut().rare_mut();
            dropped += super::e2e::observe(msg, at, message, &mut f.smime, &mut f.identity);
        }
        dropped
    }

    /// Records the security facts of an SDP body. Returns 1 when the cap dropped it.
    /// `copy` marks the offer or answer of the last exchange seen again on another hop
    /// ([`crate::engine::SdpAction::Copy`]): it still exposes keys on its hop but
    /// negotiates nothing new.
    pub fn observe_sdp(
        &mut self,
        s: &sdp::Sdp<'_>,
        from_caller: bool,
        copy: bool,
        at: Seen,
    ) -> u64 {
        let f = self.facts_mut();
        if f.sdp.len() >= MAX_SDP_FACTS {
            return 1;
        }
        let lines = s
            .media
            .iter()
            .take(MAX_LINES)
            .map(|m| {
                // Most lines (plain RTP/AVP) carry no keying attribute: one pass says so,
                // where building and comparing an empty LineKeys walked them four times.
                let session_keyed = s.attributes.iter().any(|a| {
                    matches!(
                        a,
                        Attribute::Fingerprint(_) | Attribute::Setup(_) | Attribute::ZrtpHash(_)
                    )
                });
                let keyed = session_keyed
                    || m.attributes.iter().any(|a| {
                        matches!(
                            a,
                            Attribute::Crypto(_)
                                | Attribute::Fingerprint(_)
                                | Attribute::Setup(_)
                                | Attribute::ZrtpHash(_)
                        )
                    });
                let media = clip_known(m.media.as_str());
                let proto = clip_known(m.proto.as_str());
                let protection = Protection::of(&m.proto);
                if !keyed {
                    return LineSecurity {
                        media,
                        proto,
                        port: m.port,
                        protection,
                        keys: None,
                    };
                }
                let keys = LineKeys {
                    crypto: m
                        .crypto()
                        .take(MAX_CRYPTO)
                        .map(|c| CryptoLine {
                            tag: c.tag,
                            suite: clip(c.suite),
                            key: c
                                .key_params
                                .first()
                                .map(|k| clip(&format!("{}:{}", k.method, k.key_salt))),
                        })
                        .collect(),
                    fingerprint: m.fingerprint(s).map(|f| clip(f.hash_func)),
                    setup: m.setup(s).map(|x| {
                        match x {
                            Setup::Active => "active",
                            Setup::Passive => "passive",
                            Setup::Actpass => "actpass",
                            Setup::Holdconn => "holdconn",
                            Setup::Other(o) => o,
                        }
                        .to_string()
                    }),
                    zrtp_hash: m.attributes.iter().chain(s.attributes.iter()).find_map(
                        |a| match a {
                            Attribute::ZrtpHash(z) => Some(clip(z.version)),
                            _ => None,
                        },
                    ),
                };
                LineSecurity {
                    media,
                    proto,
                    port: m.port,
                    protection,
                    keys: (keys != LineKeys::default()).then(|| Box::new(keys)),
                }
            })
            .collect();
        if f.sdp.is_empty() {
            // An offer and its answer: most dialogs need exactly two.
            f.sdp.reserve_exact(2);
        }
        f.sdp.push(SdpSecurity {
            at,
            from_caller,
            copy,
            lines,
        });
        0
    }

    /// Records a ZRTP packet (RFC 6189 §5) sent to or from this dialog's media address.
    pub fn observe_zrtp(&mut self, at: Seen) {
        let f = self.facts_mut().rare_mut();
        f.zrtp_packets += 1;
        if f.zrtp_first.is_none() {
            f.zrtp_first = Some(at);
        }
        if f.zrtp_frames.len() < MAX_ZRTP_FRAMES {
            f.zrtp_frames.push(at.frame);
        }
    }
}

/// The negotiated SDP bodies with the offer each answered, in order (see
/// [`SecurityFacts::negotiated`]): an offer is held back until the next body says whether
/// it answers it.
#[derive(Clone)]
struct Negotiated<'a> {
    records: std::slice::Iter<'a, SdpSecurity>,
    /// The last offer, not yet answered nor given out.
    pending: Option<&'a SdpSecurity>,
    /// Only the answers (a rejected call: an offer no answer followed set nothing up).
    answers_only: bool,
}

impl<'a> Negotiated<'a> {
    /// The next body with its offer, answers or not.
    fn next_any(&mut self) -> Option<(&'a SdpSecurity, Option<&'a SdpSecurity>)> {
        for r in self.records.by_ref() {
            if r.copy {
                continue;
            }
            match self.pending {
                // The answer replaces its offer.
                Some(o) if o.from_caller != r.from_caller => {
                    self.pending = None;
                    return Some((r, Some(o)));
                }
                before => {
                    self.pending = Some(r);
                    if let Some(p) = before {
                        return Some((p, None));
                    }
                }
            }
        }
        self.pending.take().map(|p| (p, None))
    }
}

impl<'a> Iterator for Negotiated<'a> {
    type Item = (&'a SdpSecurity, Option<&'a SdpSecurity>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let item = self.next_any()?;
            if !self.answers_only || item.1.is_some() {
                return Some(item);
            }
        }
    }
}

impl SecurityFacts {
    /// The SDP bodies that say what was negotiated: each answer, and each offer that
    /// no answer followed (the capture may miss it, or media may flow early). The pairing
    /// follows RFC 3264 §4 as the engine does: an SDP from the other side answers the
    /// pending offer. An iterator: each dialog's conclusion walks it (twice), and a
    /// list per walk was two allocations per evicted dialog in a flood.
    fn negotiated(&self) -> Negotiated<'_> {
        Negotiated {
            records: self.sdp.iter(),
            pending: None,
            answers_only: false,
        }
    }

    fn zrtp_seen(&self) -> bool {
        self.zrtp_packets() > 0
    }

    fn rare(&self) -> &RareFacts {
        self.rare.as_deref().unwrap_or(&NO_RARE_FACTS)
    }

    fn rare_mut(&mut self) -> &mut RareFacts {
        self.rare.get_or_insert_with(Box::default)
    }

    /// ZRTP packets to or from an address this dialog's SDP announced.
    pub fn zrtp_packets(&self) -> u64 {
        self.rare().zrtp_packets
    }

    /// First ZRTP packet frames.
    pub fn zrtp_frames(&self) -> &[u64] {
        &self.rare().zrtp_frames
    }

    /// The first ZRTP packet.
    pub fn zrtp_first(&self) -> Option<&Seen> {
        self.rare().zrtp_first.as_ref()
    }

    /// `sips:` / TLS references carried on a cleartext hop (rules::transport).
    pub fn downgrades(&self) -> &[Downgrade] {
        &self.rare().downgrades
    }

    /// All such references, including those past the cap.
    pub fn downgrades_total(&self) -> u64 {
        self.rare().downgrades_total
    }

    /// S/MIME bodies (rules::e2e).
    pub fn smime(&self) -> &[SmimeRecord] {
        &self.rare().smime
    }

    /// Identity headers (rules::e2e).
    pub fn identity(&self) -> &[IdentityRecord] {
        &self.rare().identity
    }
}

/// An RTP stream bound to a dialog, as the media rules need it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamFact {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Codec name, empty when unknown.
    pub codec: String,
    /// Payload type of the first packet.
    pub payload_type: u8,
    /// Packets seen.
    pub packets: u64,
    /// First frame.
    pub first_frame: u64,
    /// Its first packet's time.
    pub ts: Timestamp,
    /// True when its SDP line is SRTP or DTLS-SRTP.
    pub encrypted: bool,
    /// SRTP packets authenticated and decrypted with an SDES key of the dialog's SDP
    /// (None when no such key was applied to it; see [`crate::engine::srtp`]).
    pub srtp_decrypted: Option<u64>,
    /// Where the keys applied to it came from (SDES, DTLS-SRTP with the key log, user).
    pub srtp_source: crate::engine::srtp::KeySource,
}

fn push_evidence(v: &mut Vec<u64>, f: u64) {
    if v.len() < MAX_EVIDENCE && !v.contains(&f) {
        v.push(f);
    }
}

fn direction(r: &SdpSecurity) -> &'static str {
    if r.from_caller {
        "caller→callee"
    } else {
        "callee→caller"
    }
}

/// What the media rules need to know of the dialog itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallInfo {
    /// An INVITE was seen: its SDP negotiates media. SDP in OPTIONS answers only lists
    /// capabilities (RFC 3261 §11.2) and negotiates nothing.
    pub is_call: bool,
    /// The call ended with a final failure (3xx-6xx) to its INVITE, so an offer
    /// that no answer followed set nothing up.
    pub rejected: bool,
}

/// The `media.*` findings of one dialog. `streams` are the RTP streams bound to it;
/// `show_secrets` puts SDES keys in the summary (masked otherwise).
pub fn findings(
    call_id: &str,
    call: CallInfo,
    sec: &SecurityFacts,
    streams: &[StreamFact],
    show_secrets: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    findings_of(call_id, call, sec, streams, show_secrets, false, &mut out);
    out
}

/// [`findings`], with `counted_rtp`: a `media.cleartext-rtp` finding will only be counted
/// (see [`crate::engine::Analyzer::evicted_finding_counted`]), so it is made without its
/// texts and evidence; whether it is made, its rule and its severity are the same.
fn findings_of(
    call_id: &str,
    call: CallInfo,
    sec: &SecurityFacts,
    streams: &[StreamFact],
    show_secrets: bool,
    counted_rtp: bool,
    out: &mut Vec<Finding>,
) {
    cleartext_rtp(call_id, call, sec, streams, counted_rtp, out);
    // The other findings need an SRTP or DTLS-SRTP line, a line with keying attributes
    // (a=crypto, a=zrtp-hash) or ZRTP packets: most calls, plain RTP/AVP, have none,
    // and are not walked again for them (every dialog is concluded, a flood's too).
    let keyed = sec.zrtp_seen()
        || sec.sdp.iter().any(|r| {
            r.lines.iter().any(|l| {
                l.keys.is_some() || matches!(l.protection, Protection::Srtp | Protection::DtlsSrtp)
            })
        });
    if keyed {
        out.extend(sdes_exposed(call_id, sec, streams, show_secrets));
        protections(call_id, call, sec, streams, out);
    }
}

/// The negotiated SDP bodies of a call with the offer each answered (see
/// [`SecurityFacts::negotiated`]); none outside calls, and a rejected call keeps
/// only real answers.
fn negotiated_in(call: CallInfo, sec: &SecurityFacts) -> Negotiated<'_> {
    let mut v = sec.negotiated();
    if !call.is_call {
        v.records = [].iter();
    }
    v.answers_only = call.rejected;
    v
}

/// Appends the items, `each` writing one, separated by `sep`; an item whose text equals
/// the one before it is dropped, which is what collecting the texts, `Vec::dedup` and
/// `join` gave, without a `String` per item.
fn push_deduped<T>(
    out: &mut String,
    items: impl Iterator<Item = T>,
    sep: &str,
    mut each: impl FnMut(&mut String, T),
) {
    // Where the last kept item's text is in `out`.
    let mut prev: Option<std::ops::Range<usize>> = None;
    for item in items {
        let start = out.len();
        if prev.is_some() {
            out.push_str(sep);
        }
        let at = out.len();
        each(out, item);
        let repeated = prev
            .as_ref()
            .is_some_and(|p| out.get(p.clone()) == out.get(at..));
        if repeated {
            out.truncate(start);
        } else {
            prev = Some(at..out.len());
        }
    }
}

/// The evidence frames of a finding, gathered on the stack as [`push_evidence`] would
/// (in order, each once, at most [`MAX_EVIDENCE`]) and copied out once at their size.
struct Frames {
    frames: [u64; MAX_EVIDENCE],
    len: usize,
}

impl Frames {
    fn new() -> Frames {
        Frames {
            frames: [0; MAX_EVIDENCE],
            len: 0,
        }
    }

    fn kept(&self) -> &[u64] {
        self.frames.get(..self.len).unwrap_or_default()
    }

    fn push(&mut self, f: u64) {
        if self.len < MAX_EVIDENCE && !self.kept().contains(&f) {
            if let Some(slot) = self.frames.get_mut(self.len) {
                *slot = f;
                self.len += 1;
            }
        }
    }

    fn to_vec(&self) -> Vec<u64> {
        self.kept().to_vec()
    }
}

/// Appends `n` in decimal (what `write!(s, "{n}")` gives, without the formatter).
pub(super) fn push_u64(s: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    for &d in crate::bytes::decimal(n, &mut buf) {
        s.push(char::from(d));
    }
}

/// Appends `ip` as its `Display` writes it; an IPv4 address (nearly all) without the
/// formatter, which took some 900 instructions an address.
pub(super) fn push_ip(s: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_u64(s, u64::from(o));
            }
        }
        std::net::IpAddr::V6(_) => {
            let _ = write!(s, "{ip}");
        }
    }
}

thread_local! {
    /// Where summaries are written before being copied out at their size: a call's
    /// summary is made once per dialog, and a fresh buffer each was an allocation and a
    /// shrinking reallocation per call.
    static SUMMARY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// The text `write` puts in an empty buffer, as a `String` of exactly its size.
pub(super) fn summary_text(write: impl FnOnce(&mut String)) -> String {
    SUMMARY.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            write(&mut buf);
            String::from(buf.as_str())
        }
        Err(_) => {
            let mut s = String::new();
            write(&mut s);
            s
        }
    })
}

fn cleartext_rtp(
    call_id: &str,
    call: CallInfo,
    sec: &SecurityFacts,
    streams: &[StreamFact],
    counted: bool,
    out: &mut Vec<Finding>,
) {
    // ZRTP running on the call keys SRTP inside the RTP/AVP profile (RFC 6189 §12).
    if sec.zrtp_seen() {
        return;
    }
    // (SDP, line, the offer it answered). A call has one or two: they are gathered once
    // on the stack, and the walks below step through that array instead of pairing the
    // offers and answers again each time; more than fit are walked as they come.
    let sdp_hits = negotiated_in(call, sec).flat_map(|(r, offer)| {
        r.lines
            .iter()
            .filter(|l| l.protection == Protection::Clear && l.port != 0)
            .map(move |l| (r, l, offer))
    });
    let mut kept: [Option<Hit<'_>>; HITS_IN_PLACE] = [None; HITS_IN_PLACE];
    let mut n = 0;
    for hit in sdp_hits.clone() {
        let Some(slot) = kept.get_mut(n) else {
            return cleartext_rtp_of(call_id, sdp_hits, streams, counted, out);
        };
        *slot = Some(hit);
        n += 1;
    }
    let hits = kept.get(..n).unwrap_or_default().iter().flatten().copied();
    cleartext_rtp_of(call_id, hits, streams, counted, out);
}

/// An SDP media line in clear: (SDP, line, the offer it answered).
type Hit<'a> = (&'a SdpSecurity, &'a LineSecurity, Option<&'a SdpSecurity>);

/// Hits [`cleartext_rtp`] gathers on the stack.
const HITS_IN_PLACE: usize = 8;

/// `media.cleartext-rtp` from the call's [`Hit`]s (walked several times) and streams.
fn cleartext_rtp_of<'a>(
    call_id: &str,
    sdp_hits: impl Iterator<Item = Hit<'a>> + Clone,
    streams: &[StreamFact],
    counted: bool,
    out: &mut Vec<Finding>,
) {
    let clear_streams = streams.iter().filter(|s| !s.encrypted);
    // One walk of the hits gives the first, the evidence and which kinds there are.
    let mut first_hit = None;
    let mut any_negotiated = false;
    let mut any_offered = false;
    let mut evidence = Frames::new();
    for hit @ (r, _, offer) in sdp_hits.clone() {
        if first_hit.is_none() {
            first_hit = Some(hit);
            if counted {
                break;
            }
        }
        match offer {
            Some(o) => {
                any_negotiated = true;
                evidence.push(o.at.frame);
            }
            None => any_offered = true,
        }
        evidence.push(r.at.frame);
    }
    let first_stream = clear_streams.clone().next();
    let (ts, src, dst) = match (first_hit, first_stream) {
        (Some((r, _, o)), _) => {
            let first = o.unwrap_or(r);
            (first.at.ts, first.at.src.get(), first.at.dst.get())
        }
        (None, Some(s)) => (s.ts, s.src, s.dst),
        (None, None) => return,
    };
    if counted {
        // Only its rule and severity will be read (an evicted dialog's finding past the
        // bound on those kept): a flood evicts a dialog per INVITE, and writing each
        // summary was most of what its eviction cost.
        out.push(Finding::new(CLEARTEXT_RTP, Severity::Medium, Timestamp(0)));
        return;
    }
    let mut clear_count: usize = 0;
    for s in clear_streams.clone() {
        clear_count += 1;
        evidence.push(s.first_frame);
    }
    // The summary is written into one buffer: the finding is made once per call, and
    // the per-part lists, joins and formats it replaces were most of the report's rule
    // time on a big capture. The text is the same: parts joined by "; ", each list with
    // an item equal to the one before it dropped (as `Vec::dedup` did).
    // An offer no answer followed negotiated nothing the capture shows: it is "offered".
    let only_offered = !any_negotiated && clear_count == 0;
    let summary = summary_text(|summary| {
        summary.push_str(if only_offered {
            "call media offered in clear (anyone on the path could record it): "
        } else {
            "call media in clear (anyone on the path can record it): "
        });
        let mut first_part = true;
        let mut part = |summary: &mut String| {
            if !std::mem::take(&mut first_part) {
                summary.push_str("; ");
            }
        };
        if any_negotiated {
            part(summary);
            summary.push_str("SDP negotiated ");
            push_deduped(
                summary,
                sdp_hits
                    .clone()
                    .filter_map(|(r, l, offer)| offer.map(|o| (r, l, o))),
                ", ",
                |out, (r, l, o)| {
                    out.push_str(&l.media);
                    out.push(' ');
                    out.push_str(&l.proto);
                    out.push_str(" (offer frame ");
                    push_u64(out, o.at.frame);
                    out.push_str(", answer frame ");
                    push_u64(out, r.at.frame);
                    out.push(')');
                },
            );
        }
        if any_offered {
            part(summary);
            summary.push_str("SDP offered ");
            push_deduped(
                summary,
                sdp_hits.clone().filter(|(_, _, offer)| offer.is_none()),
                ", ",
                |out, (r, l, _)| {
                    out.push_str(&l.media);
                    out.push(' ');
                    out.push_str(&l.proto);
                    out.push_str(" (frame ");
                    push_u64(out, r.at.frame);
                    out.push(')');
                },
            );
            summary.push_str(", no SDP answer seen");
        }
        if clear_count > 0 {
            part(summary);
            let _ = write!(summary, "{clear_count} unencrypted RTP stream(s): ");
            for (i, s) in clear_streams.clone().take(4).enumerate() {
                if i > 0 {
                    summary.push_str("; ");
                }
                let _ = write!(summary, "{}→{} ", s.src, s.dst);
                if s.codec.is_empty() {
                    let _ = write!(summary, "PT {}", s.payload_type);
                } else {
                    summary.push_str(&s.codec);
                }
                let _ = write!(summary, ", {} pkts", s.packets);
            }
            let more = clear_count.saturating_sub(4);
            if more > 0 {
                let _ = write!(summary, "; {more} more");
            }
        }
    });
    // Made in place rather than by the builder: each of its steps moves the whole finding
    // (some 170 bytes) in and out, and this one is made for nearly every call. The same
    // fields: the summary and evidence are already at their size, the evidence bounded.
    out.push(Finding {
        rule: CLEARTEXT_RTP,
        severity: Severity::Medium,
        ts,
        call_id: Some(call_id.to_owned()),
        src: Some(crate::model::Addr::new(src)),
        dst: Some(crate::model::Addr::new(dst)),
        summary,
        evidence: evidence.to_vec(),
        advice: Cow::Borrowed(
            "Use SRTP: DTLS-SRTP (RFC 5763/5764, UDP/TLS/RTP/SAVP with a=fingerprint) or \
             SDES (RFC 4568, RTP/SAVP with a=crypto) only over SIP on TLS (sips:), and \
             refuse RTP/AVP offers on the endpoints or the SBC.",
        ),
    });
}

fn mask(key: &str, show: bool) -> String {
    if show {
        return key.to_string();
    }
    match key.split_once(':') {
        Some((m, _)) => format!("{m}:<hidden>"),
        None => "<hidden>".to_string(),
    }
}

/// `media.sdes-key-exposed`: the SDP bodies that carried SDES keys over a cleartext hop,
/// and, when the keys decrypted the call's SRTP, how many packets: the exposure proven.
fn sdes_exposed(
    call_id: &str,
    sec: &SecurityFacts,
    streams: &[StreamFact],
    show_secrets: bool,
) -> Option<Finding> {
    let exposed: Vec<&SdpSecurity> = sec
        .sdp
        .iter()
        .filter(|r| is_cleartext(r.at.transport) && r.lines.iter().any(|l| !l.crypto().is_empty()))
        .collect();
    let first = exposed.first()?;
    let mut evidence = Vec::new();
    let mut parts = Vec::new();
    for r in &exposed {
        push_evidence(&mut evidence, r.at.frame);
        let keys: Vec<String> = r
            .lines
            .iter()
            .flat_map(|l| {
                l.crypto().iter().map(move |c| {
                    let key = c
                        .key
                        .as_deref()
                        .map(|k| format!(" {}", mask(k, show_secrets)))
                        .unwrap_or_default();
                    format!("{} tag {} {}{key}", l.media, c.tag, c.suite)
                })
            })
            .collect();
        parts.push(format!(
            "frame {} over {} {}→{} ({}): {}",
            r.at.frame,
            r.at.transport.as_str(),
            r.at.src,
            r.at.dst,
            direction(r),
            keys.join(", ")
        ));
    }
    // Streams the SDP's keys were tried on: M packets, N of them authenticated and
    // decrypted (RFC 3711 §3.3). A single one proves the key real and in use.
    let tried: Vec<(&StreamFact, u64)> = streams
        .iter()
        .filter(|s| s.srtp_source == KeySource::Sdes)
        .filter_map(|s| s.srtp_decrypted.map(|n| (s, n)))
        .collect();
    let decrypted: u64 = tried.iter().map(|(_, n)| n).sum();
    let proof = if decrypted > 0 {
        let packets: u64 = tried.iter().map(|(s, _)| s.packets).sum();
        for (s, n) in &tried {
            if *n > 0 {
                push_evidence(&mut evidence, s.first_frame);
            }
        }
        format!(
            ", and it was: {decrypted} of {packets} SRTP packets decrypted and authenticated \
             with the key from the SDP ({} stream(s))",
            tried.iter().filter(|(_, n)| *n > 0).count()
        )
    } else {
        String::new()
    };
    Some(
        Finding::new(SDES_KEY_EXPOSED, Severity::High, first.at.ts)
            .call(call_id)
            .flow(first.at.src, first.at.dst)
            .summary(format!(
                "SRTP master keys (SDES a=crypto) sent in clear SIP in {} SDP body(ies), so the \
             media can be decrypted by anyone on the path{proof}: {}{}",
                exposed.len(),
                parts.join("; "),
                if show_secrets {
                    ""
                } else {
                    " (keys hidden; --show-secrets prints them)"
                }
            ))
            .evidence(evidence)
            .advice(
                "SDES keys are only as secret as the signaling (RFC 4568 §8.3): carry SIP over \
                 TLS on every hop (sips:, RFC 3261 §26.2), or key SRTP with DTLS-SRTP \
                 (RFC 5763) so no key travels in the SDP.",
            ),
    )
}

/// What the DTLS-SRTP keys derived from the key log decrypted on the call's streams
/// (RFC 5764 §4.2): ", and N of M SRTP packets decrypted and authenticated ...", or
/// nothing when no stream was keyed that way; the evidence gets the streams' first frames.
fn dtls_proof(streams: &[StreamFact], evidence: &mut Vec<u64>) -> String {
    let keyed: Vec<(&StreamFact, u64)> = streams
        .iter()
        .filter(|s| s.srtp_source == KeySource::Dtls)
        .filter_map(|s| s.srtp_decrypted.map(|n| (s, n)))
        .collect();
    if keyed.is_empty() {
        return String::new();
    }
    let decrypted: u64 = keyed.iter().map(|(_, n)| n).sum();
    let packets: u64 = keyed.iter().map(|(s, _)| s.packets).sum();
    for (s, n) in &keyed {
        if *n > 0 {
            push_evidence(evidence, s.first_frame);
        }
    }
    format!(
        "; {decrypted} of {packets} SRTP packets decrypted and authenticated with the keys \
         derived from the DTLS handshake and the key log ({} stream(s))",
        keyed.iter().filter(|(_, n)| *n > 0).count()
    )
}

fn protections(
    call_id: &str,
    call: CallInfo,
    sec: &SecurityFacts,
    streams: &[StreamFact],
    out: &mut Vec<Finding>,
) {
    // (SDP, line, offered only: an offer no SDP answer followed negotiated nothing)
    let mut srtp: Vec<(&SdpSecurity, &LineSecurity, bool)> = Vec::new();
    let mut dtls: Vec<(&SdpSecurity, &LineSecurity, bool)> = Vec::new();
    for (r, offer) in negotiated_in(call, sec) {
        for l in r.lines.iter().filter(|l| l.port != 0) {
            match l.protection {
                Protection::Srtp => srtp.push((r, l, offer.is_none())),
                Protection::DtlsSrtp => dtls.push((r, l, offer.is_none())),
                _ => {}
            }
        }
    }
    let frame = |r: &SdpSecurity, offered: bool| {
        if offered {
            format!("frame {}, offered, no SDP answer seen", r.at.frame)
        } else {
            format!("frame {}", r.at.frame)
        }
    };
    let verb = |hits: &[(&SdpSecurity, &LineSecurity, bool)]| {
        if hits.iter().all(|h| h.2) {
            "offered"
        } else {
            "encrypted"
        }
    };
    let base = |rule,
                hits: &[(&SdpSecurity, &LineSecurity, bool)],
                summary: String,
                advice: &'static str| {
        let mut evidence = Vec::new();
        for (r, _, _) in hits {
            push_evidence(&mut evidence, r.at.frame);
        }
        let at = hits.first().map(|(r, _, _)| r.at);
        at.map(|at| {
            Finding::new(rule, Severity::Info, at.ts)
                .call(call_id)
                .flow(at.src, at.dst)
                .summary(summary)
                .evidence(evidence)
                .advice(advice)
        })
    };
    if !srtp.is_empty() {
        let desc: Vec<String> = srtp
            .iter()
            .map(|(r, l, offered)| {
                let suites: Vec<&str> = l.crypto().iter().map(|c| c.suite.as_str()).collect();
                let keying = if suites.is_empty() {
                    "no a=crypto (keyed another way, e.g. MIKEY)".to_string()
                } else {
                    format!("SDES {}", suites.join("/"))
                };
                format!("{} {} {keying} ({})", l.media, l.proto, frame(r, *offered))
            })
            .collect();
        out.extend(base(
            SRTP,
            &srtp,
            format!("media {} with SRTP: {}", verb(&srtp), desc.join(", ")),
            "SRTP keyed by SDES is only as safe as the SIP hop that carried the keys: keep \
             SIP on TLS end to end, or prefer DTLS-SRTP (RFC 5763).",
        ));
    }
    if !dtls.is_empty() {
        let desc: Vec<String> = dtls
            .iter()
            .map(|(r, l, offered)| {
                format!(
                    "{} {} fingerprint {} setup {} ({})",
                    l.media,
                    l.proto,
                    l.fingerprint().unwrap_or("missing"),
                    l.setup().unwrap_or("unset"),
                    frame(r, *offered)
                )
            })
            .collect();
        let mut proof_frames = Vec::new();
        let proof = dtls_proof(streams, &mut proof_frames);
        let finding = base(
            DTLS_SRTP,
            &dtls,
            format!(
                "media {} with DTLS-SRTP: {}{proof}",
                verb(&dtls),
                desc.join(", ")
            ),
            "DTLS-SRTP keys never appear in signaling; the a=fingerprint binds them to the \
             SDP (RFC 5763 §5), so protect the SDP's integrity too (SIP over TLS, or \
             STIR/RFC 8224 identity).",
        );
        out.extend(finding.map(|mut f| {
            for frame in proof_frames {
                push_evidence(&mut f.evidence, frame);
            }
            f
        }));
    }
    let hash_sdp: Vec<&SdpSecurity> = sec
        .sdp
        .iter()
        .filter(|r| r.lines.iter().any(|l| l.zrtp_hash().is_some()))
        .collect();
    if !hash_sdp.is_empty() || sec.zrtp_seen() {
        let mut evidence = Vec::new();
        for r in &hash_sdp {
            push_evidence(&mut evidence, r.at.frame);
        }
        for f in sec.zrtp_frames() {
            push_evidence(&mut evidence, *f);
        }
        let mut what = Vec::new();
        if !hash_sdp.is_empty() {
            let frames: Vec<String> = hash_sdp.iter().map(|r| r.at.frame.to_string()).collect();
            what.push(format!("a=zrtp-hash in SDP (frame {})", frames.join(", ")));
        }
        if sec.zrtp_seen() {
            what.push(format!(
                "{} ZRTP packet(s) on the call's media addresses",
                sec.zrtp_packets()
            ));
        } else {
            what.push("no ZRTP packet seen (the peer may not support it)".to_string());
        }
        let first = hash_sdp.first().map(|r| r.at).or(sec.zrtp_first().copied());
        out.push(
            Finding::new(
                ZRTP,
                Severity::Info,
                first.map(|a| a.ts).unwrap_or_default(),
            )
            .call(call_id)
            .flow_opt(first.map(|a| a.src.get()), first.map(|a| a.dst.get()))
            .summary(format!("ZRTP key agreement: {}", what.join(", ")))
            .evidence(evidence)
            .advice(
                "ZRTP keys SRTP end to end (RFC 6189); its protection against a \
                     man in the middle rests on users comparing the short authentication \
                     string.",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pairing as it was written with a list (RFC 3264 §4): the reference the
    /// iterator must agree with.
    fn negotiated_reference(sec: &SecurityFacts) -> Vec<(u64, Option<u64>)> {
        let mut out: Vec<(&SdpSecurity, Option<&SdpSecurity>)> = Vec::new();
        let mut pending: Option<&SdpSecurity> = None;
        for r in sec.sdp.iter().filter(|r| !r.copy) {
            match pending {
                Some(o) if o.from_caller != r.from_caller => {
                    if let Some(last) = out.last_mut() {
                        *last = (r, Some(o));
                    }
                    pending = None;
                }
                _ => {
                    out.push((r, None));
                    pending = Some(r);
                }
            }
        }
        out.iter()
            .map(|(r, o)| (r.at.frame, o.map(|o| o.at.frame)))
            .collect()
    }

    proptest::proptest! {
        /// The negotiated bodies come out as the list-building pairing gave them, for
        /// any sequence of sides and relayed copies, rejected calls keeping the answers.
        #[test]
        fn negotiated_iterator_agrees_with_the_list(
            bodies in proptest::collection::vec((proptest::prelude::any::<bool>(), proptest::prelude::any::<bool>()), 0..12),
            rejected in proptest::prelude::any::<bool>(),
            is_call in proptest::prelude::any::<bool>(),
        ) {
            let sec = SecurityFacts {
                sdp: bodies
                    .iter()
                    .enumerate()
                    .map(|(i, (from_caller, copy))| SdpSecurity {
                        at: at(i as u64 + 1, Transport::Udp),
                        from_caller: *from_caller,
                        copy: *copy,
                        lines: List::default(),
                    })
                    .collect(),
                rare: None,
            };
            let got: Vec<(u64, Option<u64>)> = negotiated_in(CallInfo { is_call, rejected }, &sec)
                .map(|(r, o)| (r.at.frame, o.map(|o| o.at.frame)))
                .collect();
            let mut want = if is_call { negotiated_reference(&sec) } else { Vec::new() };
            if rejected {
                want.retain(|(_, o)| o.is_some());
            }
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn keying_attributes_are_recorded_at_either_level_and_absent_ones_leave_no_keys() {
        let plain_body = sdp_body(4000, "RTP/AVP", "");
        let plain = sdp::parse(plain_body.as_bytes());
        let mut d = DialogSecurity::default();
        d.observe_sdp(&plain, true, false, at(1, Transport::Udp));
        assert_eq!(d.facts().sdp[0].lines[0].keys, None);
        // A session-level fingerprint and setup apply to the line (RFC 8122 §5).
        let body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                    a=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n\
                    m=audio 4000 UDP/TLS/RTP/SAVP 0\r\n";
        let session = sdp::parse(body.as_bytes());
        d.observe_sdp(&session, false, false, at(2, Transport::Udp));
        let l = &d.facts().sdp[1].lines[0];
        assert_eq!(
            (l.fingerprint(), l.setup()),
            (Some("sha-256"), Some("actpass"))
        );
        assert!(l.crypto().is_empty() && l.zrtp_hash().is_none());
    }

    #[test]
    fn evidence_frames_are_kept_once_in_order_and_bounded() {
        let mut f = Frames::new();
        for x in [5, 3, 5, 9, 3] {
            f.push(x);
        }
        assert_eq!(f.to_vec(), vec![5, 3, 9]);
        let mut v = Vec::new();
        let mut g = Frames::new();
        for x in 0..100 {
            g.push(x);
            push_evidence(&mut v, x);
        }
        assert_eq!(g.to_vec(), v);
        assert_eq!(g.kept().len(), MAX_EVIDENCE);
    }

    #[test]
    fn summary_text_is_exactly_its_size_and_numbers_are_display() {
        let s = summary_text(|b| {
            b.push_str("frame ");
            push_u64(b, 1234567);
            // A nested summary (the buffer in use) still works.
            let inner = summary_text(|c| push_u64(c, 0));
            b.push_str(&inner);
        });
        assert_eq!(s, "frame 12345670");
        assert_eq!(s.capacity(), s.len());
        for n in [0, 9, 10, 99, 100, u64::MAX] {
            let mut b = String::new();
            push_u64(&mut b, n);
            assert_eq!(b, n.to_string());
        }
    }

    fn at(frame: u64, transport: Transport) -> Seen {
        Seen {
            frame,
            ts: Timestamp(frame),
            src: crate::model::Addr::new("192.0.2.1:5060".parse().unwrap()),
            dst: crate::model::Addr::new("192.0.2.2:5060".parse().unwrap()),
            transport,
        }
    }

    fn sdp_body(port: u16, proto: &str, extra: &str) -> String {
        format!(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
             m=audio {port} {proto} 0\r\n{extra}"
        )
    }

    fn dialog(bodies: &[(bool, String)], transport: Transport) -> DialogSecurity {
        let mut d = DialogSecurity::default();
        for (i, (from_caller, b)) in bodies.iter().enumerate() {
            let parsed = sdp::parse(b.as_bytes());
            assert_eq!(
                d.observe_sdp(&parsed, *from_caller, false, at(i as u64 + 1, transport)),
                0
            );
        }
        d
    }

    fn rules(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.rule.0).collect()
    }

    const CALL: CallInfo = CallInfo {
        is_call: true,
        rejected: false,
    };

    const CRYPTO: &str = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n";

    /// The hits gathered on the stack and those walked as they come (past
    /// [`HITS_IN_PLACE`]) make the same finding: pinned for every count of bodies up to
    /// the bound, offers and answers alternating, some ports disabled, with and without
    /// a stream.
    #[test]
    fn cleartext_hits_in_place_or_walked_agree() {
        let stream = StreamFact {
            src: "192.0.2.1:4000".parse().unwrap(),
            dst: "192.0.2.2:5000".parse().unwrap(),
            codec: "PCMU".into(),
            payload_type: 0,
            packets: 10,
            first_frame: 99,
            ts: Timestamp(5),
            encrypted: false,
            srtp_decrypted: None,
            srtp_source: KeySource::default(),
        };
        let mut most = 0;
        for n in 1..=MAX_SDP_FACTS {
            let bodies: Vec<(bool, String)> = (0..n)
                .map(|i| {
                    let port = if i % 5 == 3 { 0 } else { 4000 + i as u16 };
                    (i % 3 != 1, sdp_body(port, "RTP/AVP", ""))
                })
                .collect();
            let d = dialog(&bodies, Transport::Udp);
            for streams in [&[][..], std::slice::from_ref(&stream)] {
                for counted in [false, true] {
                    let mut got = Vec::new();
                    cleartext_rtp("c", CALL, d.facts(), streams, counted, &mut got);
                    let walked = negotiated_in(CALL, d.facts()).flat_map(|(r, offer)| {
                        r.lines
                            .iter()
                            .filter(|l| l.protection == Protection::Clear && l.port != 0)
                            .map(move |l| (r, l, offer))
                    });
                    most = most.max(walked.clone().count());
                    let mut want = Vec::new();
                    cleartext_rtp_of("c", walked, streams, counted, &mut want);
                    assert_eq!(got, want, "n={n}");
                    assert_eq!(got.len(), 1, "n={n}");
                }
            }
        }
        assert!(most > HITS_IN_PLACE, "{most}");
    }

    #[test]
    fn an_unanswered_srtp_offer_is_offered_not_encrypted() {
        let offer = (true, sdp_body(4000, "RTP/SAVP", CRYPTO));
        let d = dialog(std::slice::from_ref(&offer), Transport::Tls);
        let f = findings("c", CALL, d.facts(), &[], false);
        let srtp = f.iter().find(|f| f.rule == SRTP).expect("media.srtp");
        assert_eq!(
            srtp.summary,
            "media offered with SRTP: audio RTP/SAVP SDES AES_CM_128_HMAC_SHA1_80 \
             (frame 1, offered, no SDP answer seen)"
        );
        // Answered: encrypted, with the answer's frame.
        let d = dialog(
            &[offer, (false, sdp_body(5000, "RTP/SAVP", CRYPTO))],
            Transport::Tls,
        );
        let f = findings("c", CALL, d.facts(), &[], false);
        let srtp = f.iter().find(|f| f.rule == SRTP).expect("media.srtp");
        assert_eq!(
            srtp.summary,
            "media encrypted with SRTP: audio RTP/SAVP SDES AES_CM_128_HMAC_SHA1_80 (frame 2)"
        );
    }

    /// A finding made only to be counted (an evicted dialog's, past the bound) has the
    /// rule and severity the full one has, and is made exactly when it is.
    #[test]
    fn counted_findings_match_the_full_ones() {
        let clear = |port| sdp_body(port, "RTP/AVP", "");
        let cases = [
            vec![(true, clear(4000))],
            vec![(true, clear(4000)), (false, clear(5000))],
            vec![(true, clear(0))],
            vec![(true, sdp_body(4000, "RTP/SAVP", CRYPTO))],
            vec![],
        ];
        let stream = StreamFact {
            src: "192.0.2.1:4000".parse().unwrap(),
            dst: "192.0.2.2:5000".parse().unwrap(),
            codec: String::new(),
            payload_type: 0,
            packets: 3,
            first_frame: 9,
            ts: Timestamp(9),
            encrypted: false,
            srtp_decrypted: None,
            srtp_source: KeySource::Sdes,
        };
        for bodies in &cases {
            let d = dialog(bodies, Transport::Udp);
            for streams in [&[][..], std::slice::from_ref(&stream)] {
                for call in [
                    CALL,
                    CallInfo {
                        is_call: true,
                        rejected: true,
                    },
                ] {
                    let brief = |f: &[Finding]| -> Vec<(RuleId, Severity)> {
                        f.iter().map(|f| (f.rule, f.severity)).collect()
                    };
                    let full = findings("c", call, d.facts(), streams, false);
                    let mut counted = Vec::new();
                    findings_of("c", call, d.facts(), streams, false, true, &mut counted);
                    assert_eq!(brief(&full), brief(&counted), "{bodies:?} {streams:?}");
                }
            }
        }
    }

    #[test]
    fn cleartext_rtp_from_sdp_and_streams() {
        let d = dialog(
            &[
                (true, sdp_body(4000, "RTP/AVP", "")),
                (false, sdp_body(5000, "RTP/AVP", "")),
            ],
            Transport::Udp,
        );
        let f = findings("c", CALL, d.facts(), &[], false);
        assert_eq!(rules(&f), ["media.cleartext-rtp"]);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].evidence, vec![1, 2]);
        assert!(
            f[0].summary
                .contains("audio RTP/AVP (offer frame 1, answer frame 2)"),
            "{}",
            f[0].summary
        );
        // Answer rejects the stream (port 0): nothing negotiated in clear.
        let d = dialog(
            &[
                (true, sdp_body(4000, "RTP/AVP", "")),
                (false, sdp_body(0, "RTP/AVP", "")),
            ],
            Transport::Udp,
        );
        assert!(findings("c", CALL, d.facts(), &[], false).is_empty());
        // An offer alone counts (the answer may be outside the capture), unless the
        // call was rejected; SDP outside a call (OPTIONS answer) negotiates nothing.
        let d = dialog(&[(true, sdp_body(4000, "RTP/AVP", ""))], Transport::Udp);
        let f = findings("c", CALL, d.facts(), &[], false);
        assert_eq!(rules(&f), ["media.cleartext-rtp"]);
        // It was offered, not negotiated: the packets show no answer.
        assert_eq!(
            f[0].summary,
            "call media offered in clear (anyone on the path could record it): \
             SDP offered audio RTP/AVP (frame 1), no SDP answer seen"
        );
        let rejected = CallInfo {
            rejected: true,
            ..CALL
        };
        assert!(findings("c", rejected, d.facts(), &[], false).is_empty());
        let options = CallInfo {
            is_call: false,
            rejected: false,
        };
        assert!(findings("c", options, d.facts(), &[], false).is_empty());
        // A bound unencrypted stream fires on its own; an encrypted one does not.
        let mut s = StreamFact {
            src: "192.0.2.1:4000".parse().unwrap(),
            dst: "192.0.2.2:5000".parse().unwrap(),
            codec: "PCMU".into(),
            payload_type: 0,
            packets: 50,
            first_frame: 9,
            ts: Timestamp(9),
            encrypted: false,
            srtp_decrypted: None,
            srtp_source: KeySource::Sdes,
        };
        let f = findings("c", CALL, &SecurityFacts::default(), &[s.clone()], false);
        assert_eq!(rules(&f), ["media.cleartext-rtp"]);
        assert!(
            f[0].summary
                .contains("192.0.2.1:4000→192.0.2.2:5000 PCMU, 50 pkts"),
            "{}",
            f[0].summary
        );
        s.encrypted = true;
        assert!(findings("c", CALL, &SecurityFacts::default(), &[s], false).is_empty());
    }

    #[test]
    fn sdes_keys_masked_unless_asked() {
        let d = dialog(
            &[
                (true, sdp_body(4000, "RTP/SAVP", CRYPTO)),
                (false, sdp_body(5000, "RTP/SAVP", CRYPTO)),
            ],
            Transport::Udp,
        );
        let f = findings("c", CALL, d.facts(), &[], false);
        assert_eq!(rules(&f), ["media.sdes-key-exposed", "media.srtp"]);
        let k = &f[0];
        assert_eq!(k.severity, Severity::High);
        assert_eq!(k.evidence, vec![1, 2]);
        assert!(
            k.summary.contains("AES_CM_128_HMAC_SHA1_80"),
            "{}",
            k.summary
        );
        assert!(k.summary.contains("over UDP"), "{}", k.summary);
        assert!(k.summary.contains("caller→callee"), "{}", k.summary);
        assert!(k.summary.contains("inline:<hidden>"), "{}", k.summary);
        assert!(!k.summary.contains("WVNfX19"), "{}", k.summary);
        let shown = findings("c", CALL, d.facts(), &[], true);
        assert!(
            shown[0]
                .summary
                .contains("inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"),
            "{}",
            shown[0].summary
        );
        assert!(
            f[1].summary.contains("SDES AES_CM_128_HMAC_SHA1_80"),
            "{}",
            f[1].summary
        );
        // SAVP without a=crypto: SRTP but no key exposed.
        let d = dialog(&[(true, sdp_body(4000, "RTP/SAVP", ""))], Transport::Tcp);
        assert_eq!(
            rules(&findings("c", CALL, d.facts(), &[], false)),
            ["media.srtp"]
        );
    }

    #[test]
    fn dtls_srtp_and_zrtp() {
        let dtls = "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3A:73:E9:87:9A:60:3C:93:BA:AE:52:F6\r\na=setup:actpass\r\n";
        let d = dialog(
            &[(true, sdp_body(4000, "UDP/TLS/RTP/SAVPF", dtls))],
            Transport::Udp,
        );
        let f = findings("c", CALL, d.facts(), &[], false);
        assert_eq!(rules(&f), ["media.dtls-srtp"]);
        assert!(
            f[0].summary.contains("fingerprint sha-256 setup actpass"),
            "{}",
            f[0].summary
        );

        let z =
            "a=zrtp-hash:1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df\r\n";
        let mut d = dialog(&[(true, sdp_body(4000, "RTP/AVP", z))], Transport::Udp);
        let f = findings("c", CALL, d.facts(), &[], false);
        assert_eq!(rules(&f), ["media.cleartext-rtp", "media.zrtp"]);
        assert!(
            f[1].summary.contains("no ZRTP packet seen"),
            "{}",
            f[1].summary
        );
        // ZRTP packets on the call: SRTP keyed in-band, not cleartext.
        d.observe_zrtp(at(7, Transport::Udp));
        let f = findings("c", CALL, d.facts(), &[], false);
        assert_eq!(rules(&f), ["media.zrtp"]);
        assert_eq!(f[0].evidence, vec![1, 7]);
    }

    proptest::proptest! {
        /// Arbitrary SDP and SIP bytes: recording and reporting never panic.
        #[test]
        fn never_panics(
            sdp_bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            sip_tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let mut d = DialogSecurity::default();
            d.observe_sdp(&sdp::parse(&sdp_bytes), true, false, at(1, Transport::Udp));
            let mut msg = b"INVITE sips:b@x SIP/2.0\r\nIdentity: ".to_vec();
            msg.extend_from_slice(&sip_tail);
            if let Ok(m) = crate::sip::parse_message(&msg) {
                d.observe_message(&crate::sip::MessageView::new(m), at(2, Transport::Tcp), "INVITE");
            }
            let _ = findings("c", CALL, d.facts(), &[], true);
        }
    }

    #[test]
    fn per_dialog_records_are_bounded() {
        let body = sdp_body(4000, "RTP/AVP", CRYPTO);
        let parsed = sdp::parse(body.as_bytes());
        let mut d = DialogSecurity::default();
        let dropped: u64 = (0..MAX_SDP_FACTS as u64 + 3)
            .map(|i| d.observe_sdp(&parsed, true, false, at(i, Transport::Udp)))
            .sum();
        assert_eq!((d.facts().sdp.len(), dropped), (MAX_SDP_FACTS, 3));
    }
}

/// The call-security rule family (`media.*`, `transport.sips-downgrade` and the `e2e.*`
/// findings): keeps each dialog's [`DialogSecurity`] facts, keyed by dialog id, and
/// concludes on a dialog with the streams bound to it.
#[derive(Debug, Default)]
pub struct CallSecurityRule {
    dialogs: rustc_hash::FxHashMap<u64, DialogSecurity>,
}

impl CallSecurityRule {
    /// The facts recorded for dialog `id` (empty when none).
    pub fn facts(&self, id: u64) -> &SecurityFacts {
        self.dialogs.get(&id).map_or(&NO_FACTS, |s| s.facts())
    }

    /// The findings of dialog `d`; `evicting` when it is being evicted (its findings may
    /// then only be counted, see [`crate::engine::Analyzer::evicted_finding_counted`]).
    fn conclude(
        &self,
        d: &crate::engine::Dialog,
        an: &crate::engine::Analyzer,
        evicting: bool,
        out: &mut Vec<Finding>,
    ) {
        let symbols = an.symbols();
        let streams: Vec<StreamFact> = an
            .streams_of(d)
            .into_iter()
            .map(|s| StreamFact {
                src: s.src,
                dst: s.dst,
                codec: s
                    .codec
                    .map(|c| symbols.name(c).to_string())
                    .unwrap_or_default(),
                payload_type: s.payload_type,
                packets: s.stats.packets(),
                first_frame: s.first_frame,
                ts: s.stats.first_seen().unwrap_or_default(),
                encrypted: s.encrypted,
                srtp_decrypted: s.srtp().filter(|x| x.applied()).map(|x| x.decrypted),
                srtp_source: s.srtp().map(|x| x.source()).unwrap_or_default(),
            })
            .collect();
        let sec = self.facts(d.id);
        let call = CallInfo {
            is_call: d.invite_seen || d.is_call(),
            rejected: d.is_call() && d.final_status.is_some_and(|s| s >= 300),
        };
        let counted_rtp = evicting && an.evicted_finding_counted(CLEARTEXT_RTP);
        findings_of(
            &d.call_id,
            call,
            sec,
            &streams,
            an.show_secrets(),
            counted_rtp,
            out,
        );
        // Downgrades and S/MIME or Identity records are rare facts: without them (no
        // record allocated) neither family has anything to say.
        if sec.rare.is_some() {
            out.extend(super::transport::downgrade_findings(
                &d.call_id,
                sec.downgrades(),
                sec.downgrades_total(),
            ));
            out.extend(super::e2e::findings(
                &d.call_id,
                sec.smime(),
                sec.identity(),
            ));
        }
    }
}

impl crate::engine::Rule for CallSecurityRule {
    fn name(&self) -> &'static str {
        "media"
    }

    fn on_message(
        &mut self,
        cx: &crate::engine::MessageCtx<'_, '_>,
        stats: &mut crate::engine::EngineStats,
    ) {
        let Some(d) = cx.dialog else {
            return;
        };
        if cx.repeat {
            return;
        }
        let sec = self.dialogs.entry(d.id).or_default();
        stats.security_records_dropped += sec.observe_message(cx.msg, cx.seen, cx.label);
        if let Some(s) = &cx.sdp {
            stats.security_records_dropped +=
                sec.observe_sdp(s.sdp, s.from_caller, s.copy, cx.seen);
        }
    }

    fn on_media(
        &mut self,
        ev: &crate::engine::MediaEvent<'_, '_>,
        _stats: &mut crate::engine::EngineStats,
    ) {
        if let crate::engine::MediaEvent::Zrtp { dialog, seen } = ev {
            self.dialogs.entry(*dialog).or_default().observe_zrtp(*seen);
        }
    }

    fn on_dialog_evicted(
        &mut self,
        d: &crate::engine::Dialog,
        an: &crate::engine::Analyzer,
        out: &mut Vec<Finding>,
    ) {
        self.conclude(d, an, true, out);
        self.dialogs.remove(&d.id);
    }

    fn finish(&self, an: &crate::engine::Analyzer, out: &mut Vec<Finding>) {
        crate::engine::conclude_every_dialog(self, an, out);
    }

    fn conclude_dialogs<'a>(
        &self,
        an: &'a crate::engine::Analyzer,
        dialogs: &mut dyn Iterator<Item = &'a crate::engine::Dialog>,
        each: &mut dyn FnMut(u64, &mut Vec<Finding>),
    ) -> bool {
        let mut v = Vec::new();
        for d in dialogs {
            self.conclude(d, an, false, &mut v);
            each(d.id, &mut v);
        }
        true
    }
}
