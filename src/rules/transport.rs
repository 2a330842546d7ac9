//! Transport rules: SIP carried in clear (`transport.cleartext-sip`, one finding per hop)
//! and `sips:` / TLS references seen on a cleartext hop (`transport.sips-downgrade`,
//! RFC 3261 §26.2.2, RFC 5630 §3.1: a SIPS URI requires TLS on every hop).

use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::engine::{Finding, RuleId, Severity};
use crate::net::Transport;
use crate::sip::{HeaderName, NameAddr, Scheme, SipMessage, Uri};

use super::media::{is_cleartext, Seen};

/// `transport.cleartext-sip`: a hop that carried SIP in clear (low).
pub const CLEARTEXT_SIP: RuleId = RuleId("transport.cleartext-sip");
/// `transport.sips-downgrade`: a `sips:` or TLS reference on a cleartext hop (high).
pub const SIPS_DOWNGRADE: RuleId = RuleId("transport.sips-downgrade");

/// Hops tracked at once by [`HopTable`]; messages on further hops are only counted.
pub const MAX_HOPS: usize = 4096;
/// Frames kept per hop as evidence.
const HOP_EVIDENCE: usize = 8;
/// TLS references kept per dialog.
pub const MAX_DOWNGRADES: usize = 8;

/// One `sips:` / TLS reference carried on a cleartext hop.
#[derive(Debug, Clone, PartialEq)]
pub struct Downgrade {
    /// The message that carried it.
    pub at: Seen,
    /// Header (`Request-URI`, `To`, `Via`...).
    pub header: &'static str,
    /// The URI or Via value, clipped.
    pub value: String,
}

/// Contains `needle` (lower-case ASCII) ignoring case; `first` are the two cases of its
/// first byte, so the scan jumps with memchr.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&f) = needle.first() else {
        return true;
    };
    memchr::memchr2_iter(f, f.to_ascii_uppercase(), hay).any(|i| {
        hay.get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

fn uri_is_secure(u: &Uri<'_>) -> bool {
    u.scheme == Scheme::Sips
        || u.transport()
            .is_some_and(|t| t.eq_ignore_ascii_case(b"tls"))
}

/// Via transports that mean the hop was secured: TLS (RFC 3261 §18), TLS-SCTP
/// (RFC 4168), WSS (RFC 7118).
fn secure_via_transport(t: &[u8]) -> bool {
    [&b"TLS"[..], b"TLS-SCTP", b"WSS"]
        .iter()
        .any(|s| t.eq_ignore_ascii_case(s))
}

/// The `sips:` URIs, `transport=tls` URIs and secure Vias of a message: Request-URI,
/// To, From, Contact, Route, Record-Route, Via (at most [`MAX_DOWNGRADES`]). `raw` is
/// the message text; a message that mentions neither `sips:` nor `tls`/`wss` is
/// skipped without parsing a header.
pub fn tls_references<'a>(msg: &SipMessage<'a>, raw: &[u8]) -> Vec<(&'static str, &'a [u8])> {
    let mut out = Vec::new();
    if !(contains_ci(raw, b"sips:") || contains_ci(raw, b"tls") || contains_ci(raw, b"wss")) {
        return out;
    }
    if let (Some(Ok(u)), Some(raw_uri)) = (msg.request_uri_parsed(), msg.request_uri()) {
        if uri_is_secure(&u) {
            out.push(("Request-URI", raw_uri));
        }
    }
    let mut push_addrs = |name: &'static str, addrs: Vec<NameAddr<'a>>| {
        for a in addrs.into_iter().filter(|a| uri_is_secure(&a.uri)) {
            out.push((name, a.uri_raw));
        }
    };
    push_addrs("From", msg.from().into_iter().collect());
    push_addrs("To", msg.to().into_iter().collect());
    push_addrs("Contact", msg.contacts());
    push_addrs("Route", msg.routes());
    push_addrs("Record-Route", msg.record_routes());
    for v in msg.list_values(HeaderName::Via) {
        if let Ok(via) = crate::sip::Via::parse(v) {
            if secure_via_transport(via.transport) {
                out.push(("Via", v));
            }
        }
    }
    out.truncate(MAX_DOWNGRADES);
    out
}

/// The `transport.sips-downgrade` finding of one dialog: every `sips:`/TLS reference
/// seen on a cleartext hop. `total` counts those past the per-dialog cap too.
pub fn downgrade_findings(call_id: &str, downgrades: &[Downgrade], total: u64) -> Option<Finding> {
    let first = downgrades.first()?;
    let mut evidence: Vec<u64> = Vec::new();
    let mut seen: Vec<(&str, u64)> = Vec::new();
    let mut parts = Vec::new();
    for d in downgrades {
        if !evidence.contains(&d.at.frame) {
            evidence.push(d.at.frame);
        }
        if seen.contains(&(d.header, d.at.frame)) {
            continue;
        }
        seen.push((d.header, d.at.frame));
        parts.push(format!(
            "{} {} in frame {} over {}",
            d.header,
            d.value,
            d.at.frame,
            d.at.transport.as_str()
        ));
    }
    Some(Finding {
        rule: SIPS_DOWNGRADE,
        severity: Severity::High,
        ts: first.at.ts,
        call_id: Some(call_id.to_string()),
        src: Some(first.at.src),
        dst: Some(first.at.dst),
        summary: format!(
            "secure SIP (sips:/TLS) carried on a cleartext hop {}→{}: {}{}",
            first.at.src,
            first.at.dst,
            parts.join("; "),
            if total > downgrades.len() as u64 {
                format!(" ({total} references in all)")
            } else {
                String::new()
            }
        ),
        evidence,
        advice: "A sips: URI or TLS Via promises TLS on every hop (RFC 3261 §26.2.2, \
                 RFC 5630 §3.1): find the proxy or SBC that forwarded it over UDP/TCP \
                 and make it use TLS, or reject the request rather than downgrade."
            .to_string(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct HopKey {
    a: IpAddr,
    b: IpAddr,
    transport: Transport,
}

#[derive(Debug, Clone)]
struct Hop {
    messages: u64,
    first_ts: Timestamp,
    src: SocketAddr,
    dst: SocketAddr,
    frames: Vec<u64>,
}

/// Cleartext SIP hops: unordered host pair + transport, bounded by [`MAX_HOPS`].
#[derive(Debug, Clone, Default)]
pub struct HopTable {
    hops: FxHashMap<HopKey, Hop>,
    /// Messages on hops that did not fit in the table.
    pub overflow_messages: u64,
}

impl HopTable {
    /// Counts one SIP message. Returns false when its hop is new and the table is full
    /// (the message is then only counted in [`HopTable::overflow_messages`]).
    pub fn record(&mut self, at: &Seen) -> bool {
        if !is_cleartext(at.transport) {
            return true;
        }
        let (a, b) = if at.src.ip() <= at.dst.ip() {
            (at.src.ip(), at.dst.ip())
        } else {
            (at.dst.ip(), at.src.ip())
        };
        let key = HopKey {
            a,
            b,
            transport: at.transport,
        };
        if let Some(h) = self.hops.get_mut(&key) {
            h.messages += 1;
            if h.frames.len() < HOP_EVIDENCE {
                h.frames.push(at.frame);
            }
            return true;
        }
        if self.hops.len() >= MAX_HOPS {
            self.overflow_messages += 1;
            return false;
        }
        self.hops.insert(
            key,
            Hop {
                messages: 1,
                first_ts: at.ts,
                src: at.src,
                dst: at.dst,
                frames: vec![at.frame],
            },
        );
        true
    }

    /// Hops tracked.
    pub fn len(&self) -> usize {
        self.hops.len()
    }

    /// True when no hop was recorded.
    pub fn is_empty(&self) -> bool {
        self.hops.is_empty()
    }

    /// One `transport.cleartext-sip` finding per hop, in host order, plus one for the
    /// messages on hops past [`MAX_HOPS`].
    pub fn findings(&self) -> Vec<Finding> {
        let mut hops: Vec<(&HopKey, &Hop)> = self.hops.iter().collect();
        hops.sort_by_key(|(k, _)| **k);
        let advice = "Use SIP over TLS (transport=tls, sips:, port 5061, RFC 3261 §26.3.1) \
                      on this hop: in clear, anyone on the path reads and can alter calls, \
                      numbers, credentials and SDP (including SRTP keys).";
        let mut out: Vec<Finding> = hops
            .into_iter()
            .map(|(k, h)| Finding {
                rule: CLEARTEXT_SIP,
                severity: Severity::Low,
                ts: h.first_ts,
                call_id: None,
                src: Some(h.src),
                dst: Some(h.dst),
                summary: format!(
                    "{} SIP message(s) in clear over {} between {} and {}",
                    h.messages,
                    k.transport.as_str(),
                    k.a,
                    k.b
                ),
                evidence: h.frames.clone(),
                advice: advice.to_string(),
            })
            .collect();
        if self.overflow_messages > 0 {
            out.push(Finding {
                rule: CLEARTEXT_SIP,
                severity: Severity::Low,
                ts: Timestamp::default(),
                call_id: None,
                src: None,
                dst: None,
                summary: format!(
                    "{} more SIP message(s) in clear on hops beyond the first {MAX_HOPS} \
                     (not listed one by one)",
                    self.overflow_messages
                ),
                evidence: Vec::new(),
                advice: advice.to_string(),
            });
        }
        out
    }
}
