//! Transport rules: SIP carried in clear (`transport.cleartext-sip`, one finding per hop)
//! and `sips:` / TLS references seen on a cleartext hop (`transport.sips-downgrade`,
//! RFC 3261 §26.2.2, RFC 5630 §3.1: a SIPS URI requires TLS on every hop).

use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::engine::{Finding, RuleId, Severity};
use crate::net::Transport;
use crate::sip::{contains_ci, HeaderName, MessageView, NameAddr, Scheme, Uri};

use super::ip_order;
use super::media::{is_cleartext, push_ip, push_u64, summary_text, Seen};

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
    /// Header (`Request-URI`, `To`, `Contact`...).
    pub header: &'static str,
    /// The URI, clipped.
    pub value: String,
}

fn uri_is_secure(u: &Uri<'_>) -> bool {
    u.scheme == Scheme::Sips
        || u.transport()
            .is_some_and(|t| t.eq_ignore_ascii_case(b"tls"))
}

/// The `sips:` URIs and `transport=tls` URIs of a message: Request-URI, To, From,
/// Contact, Route, Record-Route (at most [`MAX_DOWNGRADES`]).
///
/// Vias are not read: a `SIP/2.0/TLS` or `WSS` Via records how an earlier hop travelled
/// (RFC 3261 §18.2.1), it promises nothing about the next one; only a `sips:` URI asks
/// for TLS on every hop (RFC 3261 §26.2.2, RFC 5630 §3.1). A WebRTC gateway forwarding a
/// WSS client's request over UDP keeps the client's WSS Via below its own, by design.
///
/// Reads the view's parsed fields (validation parsed them already), not the text: three
/// case-insensitive scans of the whole message for `sips:`/`tls`/`wss` stopped at every
/// `s` and `t` and were 4% of a signaling run. Only Route and Record-Route, which nothing
/// else parses, are first looked for those words in their own values.
pub fn tls_references<'a>(msg: &MessageView<'a>) -> Vec<(&'static str, &'a [u8])> {
    let mut out = Vec::new();
    if let (Some(Ok(u)), Some(raw_uri)) = (msg.request_uri_parsed(), msg.request_uri()) {
        if uri_is_secure(u) {
            out.push(("Request-URI", raw_uri));
        }
    }
    let mut push_addrs = |name: &'static str, addrs: &[NameAddr<'a>]| {
        for a in addrs.iter().filter(|a| uri_is_secure(&a.uri)) {
            out.push((name, a.uri_raw));
        }
    };
    push_addrs(
        "From",
        msg.from().map(std::slice::from_ref).unwrap_or_default(),
    );
    push_addrs("To", msg.to().map(std::slice::from_ref).unwrap_or_default());
    push_addrs("Contact", msg.contacts());
    // A secure URI spells `sips:` or `transport=tls` (any case): values without either
    // are not parsed.
    let mentions_tls = |name: HeaderName| {
        msg.headers_named(name)
            .any(|v| contains_ci(v, b"sips:") || contains_ci(v, b"tls"))
    };
    if mentions_tls(HeaderName::Route) {
        push_addrs("Route", &msg.routes());
    }
    if mentions_tls(HeaderName::RecordRoute) {
        push_addrs("Record-Route", &msg.record_routes());
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
    Some(
        Finding::new(SIPS_DOWNGRADE, Severity::High, first.at.ts)
            .call(call_id)
            .flow(first.at.src, first.at.dst)
            .summary(format!(
                "secure SIP (sips:/TLS) carried on a cleartext hop {}→{}: {}{}",
                first.at.src,
                first.at.dst,
                parts.join("; "),
                if total > downgrades.len() as u64 {
                    format!(" ({total} references in all)")
                } else {
                    String::new()
                }
            ))
            .evidence(evidence)
            .advice(
                "A sips: URI promises TLS on every hop (RFC 3261 §26.2.2, \
                 RFC 5630 §3.1): find the proxy or SBC that forwarded it over UDP/TCP \
                 and make it use TLS, or reject the request rather than downgrade.",
            ),
    )
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
#[derive(Debug, Clone)]
pub struct HopTable {
    /// Hops in first-seen order.
    hops: Vec<(HopKey, Hop)>,
    /// Position of each hop in `hops`.
    index: FxHashMap<HopKey, usize>,
    /// Position of the previous message's hop: consecutive messages nearly always share
    /// one, found then without hashing the key.
    last: usize,
    max: usize,
    /// Messages on hops that did not fit in the table.
    pub overflow_messages: u64,
}

impl Default for HopTable {
    fn default() -> Self {
        HopTable::new(MAX_HOPS)
    }
}

impl HopTable {
    /// A table listing at most `max` hops (at least 1).
    pub fn new(max: usize) -> Self {
        HopTable {
            hops: Vec::new(),
            index: FxHashMap::default(),
            last: 0,
            max: max.max(1),
            overflow_messages: 0,
        }
    }

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
        let at_last = matches!(self.hops.get(self.last), Some((k, _)) if *k == key);
        let found = if at_last {
            Some(self.last)
        } else {
            self.index.get(&key).copied()
        };
        if let Some((i, (_, h))) = found.and_then(|i| Some((i, self.hops.get_mut(i)?))) {
            self.last = i;
            h.messages += 1;
            if h.frames.len() < HOP_EVIDENCE {
                h.frames.push(at.frame);
            }
            return true;
        }
        if self.hops.len() >= self.max {
            self.overflow_messages += 1;
            return false;
        }
        self.last = self.hops.len();
        self.index.insert(key, self.hops.len());
        self.hops.push((
            key,
            Hop {
                messages: 1,
                first_ts: at.ts,
                src: at.src.get(),
                dst: at.dst.get(),
                frames: vec![at.frame],
            },
        ));
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
        // In key order; the keys are distinct (the table's index), so an unstable sort
        // on their numeric form gives the order sorting the keys did.
        let mut hops: Vec<(_, &HopKey, &Hop)> = self
            .hops
            .iter()
            .map(|(k, h)| ((ip_order(k.a), ip_order(k.b), k.transport), k, h))
            .collect();
        hops.sort_unstable_by_key(|(o, _, _)| *o);
        let advice = "Use SIP over TLS (transport=tls, sips:, port 5061, RFC 3261 §26.3.1) \
                      on this hop: in clear, anyone on the path reads and can alter calls, \
                      numbers, credentials and SDP (including SRTP keys).";
        let mut out: Vec<Finding> = hops
            .into_iter()
            .map(|(_, k, h)| {
                // "{messages} SIP message(s) in clear over {transport} between {a} and {b}",
                // written without the formatter (a finding per hop, up to MAX_HOPS).
                let summary = summary_text(|s| {
                    push_u64(s, h.messages);
                    s.push_str(" SIP message(s) in clear over ");
                    s.push_str(k.transport.as_str());
                    s.push_str(" between ");
                    push_ip(s, k.a);
                    s.push_str(" and ");
                    push_ip(s, k.b);
                });
                // Made in place: each builder step moves the whole finding. The same
                // fields (the summary is at its size; the frames are bounded by
                // HOP_EVIDENCE, below MAX_EVIDENCE, and copied at their size).
                Finding {
                    rule: CLEARTEXT_SIP,
                    severity: Severity::Low,
                    ts: h.first_ts,
                    call_id: None,
                    src: Some(crate::model::Addr::new(h.src)),
                    dst: Some(crate::model::Addr::new(h.dst)),
                    summary,
                    evidence: h.frames.clone(),
                    advice: std::borrow::Cow::Borrowed(advice),
                }
            })
            .collect();
        if self.overflow_messages > 0 {
            out.push(
                Finding::new(CLEARTEXT_SIP, Severity::Low, Timestamp::default())
                    .summary(format!(
                        "{} more SIP message(s) in clear on hops beyond the first {} \
                     (not listed one by one)",
                        self.overflow_messages, self.max
                    ))
                    .evidence(Vec::new())
                    .advice(advice),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::parse_message;

    fn at(frame: u64, src: &str, dst: &str, transport: Transport) -> Seen {
        Seen {
            frame,
            ts: Timestamp(frame),
            src: crate::model::Addr::new(src.parse().unwrap()),
            dst: crate::model::Addr::new(dst.parse().unwrap()),
            transport,
        }
    }

    fn refs(m: &[u8]) -> Vec<(&'static str, String)> {
        let msg = crate::sip::MessageView::new(parse_message(m).unwrap());
        tls_references(&msg)
            .into_iter()
            .map(|(h, v)| (h, String::from_utf8_lossy(v).into_owned()))
            .collect()
    }

    #[test]
    fn sips_and_tls_references() {
        let m = b"INVITE sips:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
Via: SIP/2.0/TLS edge.example.com;branch=z9hG4bK0\r\n\
From: <sip:alice@example.com>;tag=1\r\nTo: <sips:bob@example.com>\r\n\
Contact: <sip:alice@192.0.2.1;transport=TLS>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n";
        assert_eq!(
            refs(m),
            vec![
                ("Request-URI", "sips:bob@example.com".to_string()),
                ("To", "sips:bob@example.com".to_string()),
                ("Contact", "sip:alice@192.0.2.1;transport=TLS".to_string()),
            ]
        );
        // A WSS or TLS Via below the top one is how an earlier hop travelled: a gateway
        // forwarding a WebSocket client's request over UDP is no downgrade.
        let gateway = b"INVITE sip:service@192.0.2.2:5070 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK0;rport=50000\r\n\
Via: SIP/2.0/TLS edge.example.com;branch=z9hG4bK00\r\n\
From: <sip:alice@example.com>;tag=1\r\nTo: <sip:service@example.com>\r\n\
Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        assert!(refs(gateway).is_empty(), "{:?}", refs(gateway));
        // Negative: plain sip:, and "tls" only inside the SDP body.
        let plain = b"INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\n\
To: <sip:bob@example.com>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\
Content-Length: 26\r\n\r\nm=audio 9 UDP/TLS/RTP/SAVP";
        assert!(refs(plain).is_empty());
    }

    #[test]
    fn route_references_are_found_and_plain_routes_skipped() {
        let m = b"BYE sip:bob@192.0.2.2 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
Route: <sip:p1.example.com;lr>, <SIPS:p2.example.com;lr>\r\n\
Route: <sip:p3.example.com;lr;transport=Tls>\r\n\
Record-Route: <sip:rr.example.com;lr>\r\n\
From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\n\
Call-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            refs(m),
            vec![
                ("Route", "SIPS:p2.example.com;lr".to_string()),
                ("Route", "sip:p3.example.com;lr;transport=Tls".to_string()),
            ]
        );
    }

    #[test]
    fn downgrade_finding_names_header_and_frame() {
        let d = Downgrade {
            at: at(3, "192.0.2.1:5060", "192.0.2.2:5060", Transport::Udp),
            header: "Request-URI",
            value: "sips:bob@example.com".into(),
        };
        let f = downgrade_findings("c1", &[d.clone(), d], 5).expect("finding");
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.evidence, vec![3]);
        assert!(
            f.summary
                .contains("Request-URI sips:bob@example.com in frame 3 over UDP"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("(5 references in all)"), "{}", f.summary);
        assert!(downgrade_findings("c1", &[], 0).is_none());
    }

    #[test]
    fn hops_interleaved_count_on_their_own_hop() {
        // The previous message's hop is tried first: alternating hops and a hop coming
        // back after others must still count where they belong.
        let mut t = HopTable::new(3);
        let a = ("192.0.2.1:5060", "192.0.2.2:5060");
        let b = ("192.0.2.3:5060", "192.0.2.2:5060");
        let c = ("192.0.2.4:5060", "192.0.2.2:5060");
        for (frame, (s, d)) in [a, b, a, a, c, b, a, (a.1, a.0)].into_iter().enumerate() {
            assert!(t.record(&at(frame as u64, s, d, Transport::Udp)));
        }
        assert!(!t.record(&at(9, "192.0.2.5:5060", "192.0.2.2:5060", Transport::Udp)));
        assert!(t.record(&at(10, c.0, c.1, Transport::Udp)));
        assert_eq!((t.len(), t.overflow_messages), (3, 1));
        let f = t.findings();
        let evidence: Vec<(&str, &[u64])> = f
            .iter()
            .map(|f| {
                (
                    f.summary.split(" SIP").next().unwrap_or(""),
                    &f.evidence[..],
                )
            })
            .collect();
        assert_eq!(
            evidence[..3],
            [
                ("5", &[0, 2, 3, 6, 7][..]),
                ("2", &[1, 5][..]),
                ("2", &[4, 10][..])
            ]
        );
    }

    #[test]
    fn hops_are_unordered_pairs_per_transport_and_bounded() {
        let mut t = HopTable::default();
        assert!(t.record(&at(1, "192.0.2.1:5060", "192.0.2.2:5060", Transport::Udp)));
        assert!(t.record(&at(2, "192.0.2.2:5060", "192.0.2.1:5070", Transport::Udp)));
        assert!(t.record(&at(3, "192.0.2.1:5060", "192.0.2.2:5060", Transport::Tcp)));
        assert_eq!(t.len(), 2);
        let f = t.findings();
        assert_eq!(f.len(), 2);
        assert!(f
            .iter()
            .all(|f| f.call_id.is_none() && f.rule == CLEARTEXT_SIP));
        let udp = f.iter().find(|f| f.summary.contains("UDP")).unwrap();
        assert_eq!(udp.evidence, vec![1, 2]);
        assert!(
            udp.summary
                .starts_with("2 SIP message(s) in clear over UDP between 192.0.2.1 and 192.0.2.2"),
            "{}",
            udp.summary
        );
        for i in 0..MAX_HOPS as u32 {
            let src = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            t.record(&Seen {
                src: SocketAddr::new(src.into(), 5060).into(),
                ..at(10, "192.0.2.1:5060", "192.0.2.9:5060", Transport::Udp)
            });
        }
        assert_eq!(t.len(), MAX_HOPS);
        assert_eq!(t.overflow_messages, 2);
        let f = t.findings();
        assert_eq!(f.len(), MAX_HOPS + 1);
        assert!(f
            .last()
            .unwrap()
            .summary
            .starts_with("2 more SIP message(s)"));
    }
}

/// The cleartext-hop rule (`transport.cleartext-sip`): every parsed SIP message, per hop.
#[derive(Debug, Default)]
pub struct CleartextHopRule {
    hops: HopTable,
}

impl CleartextHopRule {
    /// The cleartext-hop rule listing at most `limits.cleartext_hops` hops.
    pub fn new(limits: &crate::engine::limits::RuleLimits) -> Self {
        CleartextHopRule {
            hops: HopTable::new(limits.cleartext_hops),
        }
    }
}

impl crate::engine::Rule for CleartextHopRule {
    fn name(&self) -> &'static str {
        "transport"
    }

    fn on_message(
        &mut self,
        cx: &crate::engine::MessageCtx<'_, '_>,
        stats: &mut crate::engine::EngineStats,
    ) {
        if !self.hops.record(&cx.seen) {
            stats.cleartext_hop_overflow += 1;
        }
    }

    fn finish(&self, _an: &crate::engine::Analyzer, out: &mut Vec<Finding>) {
        out.extend(self.hops.findings());
    }
}
