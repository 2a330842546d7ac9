//! `sip.undelivered`: SIP messages that never reached their destination, as ICMP
//! Destination Unreachable errors quoting them show (RFC 792, RFC 4443 §3.1).
//!
//! One record per (sender, destination, Call-ID, message): a request retransmitted seven
//! times into a closed port is one finding that counts seven errors. Severity follows
//! what was lost: a response that never reached the requester breaks a call or a
//! registration already under way (typically an expired NAT binding or a closed firewall
//! pinhole), a request inside a dialog breaks that dialog, a probe (OPTIONS, REGISTER,
//! a new INVITE) only says nothing listens there.

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::engine::limits::RuleLimits;
use crate::engine::{Analyzer, EngineStats, Rule, Undelivered};
use crate::model::{Finding, RuleId, Severity};
use crate::net::icmp::Unreachable;
use crate::sip::StartLine;

/// The rule id.
pub const UNDELIVERED: RuleId = RuleId("sip.undelivered");

/// ICMP error frames kept as evidence per record.
const MAX_FRAMES: usize = 8;

/// Longest start-line text kept.
const MAX_LABEL: usize = 120;

/// What one undelivered message was, and every error that reported it.
#[derive(Debug, Clone)]
struct Record {
    first: Timestamp,
    src: SocketAddr,
    dst: SocketAddr,
    reporter: std::net::IpAddr,
    reason: Unreachable,
    /// "OPTIONS sip:100@10.0.0.7" or "200 OK (INVITE)"; the quote's first bytes when it
    /// does not parse.
    label: String,
    call_id: Option<String>,
    kind: Kind,
    errors: u64,
    frames: Vec<u64>,
}

/// What was lost, which sets the severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A response: the transaction it answers fails.
    Response,
    /// A request inside a dialog (a To tag), or an ACK/BYE/CANCEL.
    InDialog,
    /// A request starting something (OPTIONS, REGISTER, a new INVITE...).
    Probe,
    /// The quote did not parse.
    Unknown,
}

/// The undelivered-message rule, listing at most `limits.undelivered` records.
#[derive(Debug)]
pub struct DeliveryRule {
    max: usize,
    records: Vec<Record>,
    index: FxHashMap<(SocketAddr, SocketAddr, String, String), usize>,
}

impl DeliveryRule {
    /// The rule with the bound of `limits`.
    pub fn new(limits: &RuleLimits) -> Self {
        DeliveryRule {
            max: limits.undelivered.max(1),
            records: Vec::new(),
            index: FxHashMap::default(),
        }
    }
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_LABEL) {
        Some((at, _)) => format!("{}…", s.get(..at).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// Label and kind of the quoted message.
fn describe(u: &Undelivered<'_, '_>, quote_start: &str) -> (String, Kind) {
    let Some(m) = u.msg else {
        return (cut(quote_start), Kind::Unknown);
    };
    match &m.start {
        StartLine::Request { method, uri, .. } => {
            let name = method.as_str();
            let in_dialog = m.to().and_then(|t| t.tag()).is_some()
                || matches!(name, "ACK" | "BYE" | "CANCEL" | "PRACK" | "UPDATE" | "INFO");
            let label = cut(&format!("{name} {}", String::from_utf8_lossy(uri)));
            (
                label,
                if in_dialog {
                    Kind::InDialog
                } else {
                    Kind::Probe
                },
            )
        }
        StartLine::Response { status, reason, .. } => {
            let of = m
                .cseq()
                .map(|c| format!(" ({})", c.method.as_str()))
                .unwrap_or_default();
            let label = cut(&format!(
                "{} {}{of}",
                status.0,
                String::from_utf8_lossy(reason)
            ));
            (label, Kind::Response)
        }
    }
}

impl Rule for DeliveryRule {
    fn name(&self) -> &'static str {
        "sip.undelivered"
    }

    fn on_undelivered(&mut self, u: &Undelivered<'_, '_>, stats: &mut EngineStats) {
        let first_line = u
            .quote
            .split(|&b| b == b'\r' || b == b'\n')
            .next()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default();
        let (label, kind) = describe(u, &first_line);
        let call_id = u
            .msg
            .and_then(|m| m.call_id())
            .map(|c| cut(&String::from_utf8_lossy(c)));
        let key = (
            SocketAddr::from(u.seen.src),
            SocketAddr::from(u.seen.dst),
            call_id.clone().unwrap_or_default(),
            label.clone(),
        );
        if let Some(&i) = self.index.get(&key) {
            if let Some(r) = self.records.get_mut(i) {
                r.errors += 1;
                if r.frames.len() < MAX_FRAMES {
                    r.frames.push(u.seen.frame);
                }
            }
            return;
        }
        if self.records.len() >= self.max {
            stats.undelivered_overflow += 1;
            return;
        }
        self.index.insert(key, self.records.len());
        self.records.push(Record {
            first: u.seen.ts,
            src: u.seen.src.into(),
            dst: u.seen.dst.into(),
            reporter: u.reporter,
            reason: u.reason,
            label,
            call_id,
            kind,
            errors: 1,
            frames: vec![u.seen.frame],
        });
    }

    fn finish(&self, _an: &Analyzer, out: &mut Vec<Finding>) {
        out.extend(self.records.iter().map(finding));
    }
}

fn finding(r: &Record) -> Finding {
    let (severity, what, advice) = match r.kind {
        Kind::Response => (
            Severity::Medium,
            "response",
            "The requester is not reachable where it sent the request from: a NAT binding or \
             firewall pinhole that expired (keepalives too rare, RFC 5626), or a reply sent to \
             the Via address instead of the source (rport, RFC 3581). The transaction fails.",
        ),
        Kind::InDialog => (
            Severity::Low,
            "in-dialog request",
            "The peer is gone from the address its Contact gave (moved, restarted, NAT \
             binding lost): the dialog cannot continue. Check the Contact and Record-Route \
             and the NAT keepalives.",
        ),
        Kind::Probe | Kind::Unknown => (
            Severity::Info,
            "request",
            "Nothing accepts SIP at that address and port (or a firewall rejects it). \
             Expected for a scanner's probes; otherwise check the target's registration, DNS \
             and the route to it.",
        ),
    };
    let who = if r.reporter == r.dst.ip() {
        "the destination itself".to_owned()
    } else {
        r.reporter.to_string()
    };
    let times = if r.errors > 1 {
        format!(" ({} errors)", r.errors)
    } else {
        String::new()
    };
    Finding::new(UNDELIVERED, severity, r.first)
        .call_opt(r.call_id.clone())
        .flow(r.src, r.dst)
        .summary(format!(
            "{what} {} from {} to {} never arrived: ICMP {} from {who}{times}",
            r.label,
            r.src,
            r.dst,
            r.reason.describe()
        ))
        .evidence(r.frames.clone())
        .advice(advice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Frame, LinkType};
    use etherparse::PacketBuilder;

    const CALLER: [u8; 4] = [192, 0, 2, 10];
    const PROXY: [u8; 4] = [198, 51, 100, 1];
    const NAT: [u8; 4] = [203, 0, 113, 9];

    fn frame(number: u64, data: Vec<u8>) -> Frame {
        Frame {
            number,
            ts: Timestamp::from_parts(number, 0),
            link_type: LinkType::RAW,
            orig_len: data.len() as u32,
            data,
            interface: 0,
        }
    }

    fn udp(src: [u8; 4], dst: [u8; 4], msg: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ipv4(src, dst, 64)
            .udp(5060, 5060)
            .write(&mut v, msg)
            .unwrap();
        v
    }

    /// ICMPv4 Destination Unreachable (`code`) from `reporter` to the quoted packet's
    /// sender, quoting `quoted` whole.
    fn unreachable(reporter: [u8; 4], code: u8, quoted: &[u8]) -> Vec<u8> {
        let mut icmp = vec![3, code, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(quoted);
        let to = [quoted[12], quoted[13], quoted[14], quoted[15]];
        let mut v = Vec::new();
        PacketBuilder::ipv4(reporter, to, 64)
            .write(&mut v, etherparse::IpNumber(1), &icmp)
            .unwrap();
        v
    }

    const INVITE: &[u8] = b"INVITE sip:bob@198.51.100.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\n\
From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n\
Call-ID: lost-200@example.com\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

    const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\n\
From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>;tag=b\r\n\
Call-ID: lost-200@example.com\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

    fn findings(frames: &[Frame]) -> (Vec<Finding>, EngineStats) {
        let mut an = crate::rules::analyzer(crate::engine::Limits::default());
        for f in frames {
            an.process(f);
        }
        let f = an
            .findings()
            .into_iter()
            .filter(|f| f.rule == UNDELIVERED)
            .collect();
        (f, an.stats().clone())
    }

    #[test]
    fn a_response_refused_by_the_nat_is_medium_and_tied_to_its_call() {
        // The caller's NAT dropped its binding: the 200 OK comes back as port unreachable,
        // twice (retransmitted), from the NAT, not from the caller.
        let ok = udp(PROXY, CALLER, OK);
        let frames = [
            frame(1, udp(CALLER, PROXY, INVITE)),
            frame(2, ok.clone()),
            frame(3, unreachable(NAT, 3, &ok)),
            frame(4, ok.clone()),
            frame(5, unreachable(NAT, 3, &ok)),
        ];
        let (f, stats) = findings(&frames);
        assert_eq!(f.len(), 1, "{f:?}");
        let f = &f[0];
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(f.call_id.as_deref(), Some("lost-200@example.com"));
        assert_eq!(f.evidence, vec![3, 5]);
        assert_eq!(
            f.summary,
            "response 200 OK (INVITE) from 198.51.100.1:5060 to 192.0.2.10:5060 never \
             arrived: ICMP port unreachable from 203.0.113.9 (2 errors)"
        );
        // The quotes are not messages: three were on the wire.
        assert_eq!((stats.sip_messages, stats.sip_undelivered), (3, 2));
    }

    #[test]
    fn probes_are_info_and_a_cut_quote_still_names_what_it_was() {
        let invite = udp(CALLER, PROXY, INVITE);
        // A router quoting only 40 bytes of SIP: the start line survives, no Call-ID.
        let cut = &invite[..28 + 40];
        let frames = [
            frame(1, invite.clone()),
            frame(2, unreachable(PROXY, 3, &invite)),
            frame(3, unreachable([10, 0, 0, 1], 1, cut)),
        ];
        let (f, _) = findings(&frames);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|f| f.severity == Severity::Info));
        assert!(
            f[0].summary
                .ends_with("ICMP port unreachable from the destination itself"),
            "{}",
            f[0].summary
        );
        assert_eq!(
            f[1].summary,
            "request INVITE sip:bob@198.51.100.1 from 192.0.2.10:5060 to 198.51.100.1:5060 \
             never arrived: ICMP host unreachable from 10.0.0.1"
        );
        assert_eq!(f[1].call_id, None);
    }

    #[test]
    fn records_are_bounded_and_the_rest_counted() {
        let limits = RuleLimits {
            undelivered: 2,
            ..RuleLimits::default()
        };
        let mut rule = DeliveryRule::new(&limits);
        let mut stats = EngineStats::default();
        for i in 0..5u8 {
            let seen = crate::model::Seen {
                frame: u64::from(i),
                ts: Timestamp::from_parts(u64::from(i), 0),
                src: SocketAddr::from((CALLER, 5060)).into(),
                dst: SocketAddr::from(([10, 0, 0, i], 5060)).into(),
                transport: crate::net::Transport::Udp,
            };
            rule.on_undelivered(
                &Undelivered {
                    seen,
                    reporter: seen.dst.ip(),
                    reason: Unreachable::Port,
                    quote: b"OPTIONS sip:x SIP/2.0",
                    msg: None,
                    dialog: None,
                },
                &mut stats,
            );
        }
        assert_eq!(rule.records.len(), 2);
        assert_eq!(stats.undelivered_overflow, 3);
    }
}
