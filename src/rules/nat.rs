//! NAT troubleshooting rules: `nat.*`, `media.one-way`, `media.no-rtp`.
//!
//! They read a dialog's [`DialogNat`] record (what each party advertised against where its
//! packets came from, see [`crate::nat`]) and the RTP streams bound to the dialog. Every
//! threshold is a `pub const` here; docs/report-format.md's finding table documents each id.

use std::net::SocketAddr;

use crate::capture::Timestamp;
use crate::engine::{Finding, RuleId, Severity, MAX_EVIDENCE};
use crate::nat::assess::{flags, stream_side};
use crate::nat::{classify, DialogNat, KeepaliveTable, MediaFlow, OkTrack, Party, Role};

/// `nat.via-mismatch` (info): top Via sent-by differs from the packet source.
pub const VIA_MISMATCH: RuleId = RuleId("nat.via-mismatch");
/// `nat.rport-missing` (low): behind NAT without `rport` (RFC 3581).
pub const RPORT_MISSING: RuleId = RuleId("nat.rport-missing");
/// `nat.contact-private` (medium): Contact is an internal address other than the source.
pub const CONTACT_PRIVATE: RuleId = RuleId("nat.contact-private");
/// `nat.sdp-private` (high/medium): SDP advertises an internal address other than the source.
pub const SDP_PRIVATE: RuleId = RuleId("nat.sdp-private");
/// `nat.media-latching` (info): RTP from/to an address the SDP did not name.
pub const MEDIA_LATCHING: RuleId = RuleId("nat.media-latching");
/// `nat.register-expiry` (medium): registration behind NAT outliving the NAT binding.
pub const REGISTER_EXPIRY: RuleId = RuleId("nat.register-expiry");
/// `nat.ack-timeout` (high): 2xx never ACKed, or in-dialog requests timing out.
pub const ACK_TIMEOUT: RuleId = RuleId("nat.ack-timeout");
/// `media.one-way` (high): answered call with RTP reaching only one side.
pub const ONE_WAY: RuleId = RuleId("media.one-way");
/// `media.no-rtp` (medium; low when the capture holds no RTP at all): answered call
/// without RTP reaching either side.
pub const NO_RTP: RuleId = RuleId("media.no-rtp");

/// Typical UDP NAT binding lifetime, seconds: many home routers drop idle UDP mappings
/// after 30–180 s (RFC 4787 REQ-5 asks for at least 120 s).
pub const NAT_BINDING_TIMEOUT_S: u32 = 120;
pub use crate::nat::MIN_TALK_NS;
/// Retransmissions of a 2xx (without an ACK) that make `nat.ack-timeout`.
pub const ACK_TIMEOUT_MIN_RETRANSMISSIONS: u32 = 2;
/// 64*T1: how long a UAS retransmits a 2xx before giving up (RFC 3261 §13.3.1.4).
pub const ACK_TIMEOUT_NS: u64 = 32_000_000_000;
/// Slack around [`ACK_TIMEOUT_NS`] when matching the BYE that tears the call down.
pub const ACK_TIMEOUT_SLACK_NS: u64 = 6_000_000_000;

/// What the rules need to know about the dialog besides its NAT record.
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    /// Call-ID.
    pub call_id: &'a str,
    /// An INVITE dialog.
    pub is_call: bool,
    /// Time of the 2xx to the INVITE.
    pub answered: Option<Timestamp>,
    /// Last message of the dialog.
    pub end: Timestamp,
    /// First message of the dialog.
    pub start: Timestamp,
    /// The capture holds RTP somewhere (else it is probably filtered to signaling).
    pub capture_has_rtp: bool,
}

fn list<A: std::fmt::Display>(v: &[A]) -> String {
    v.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn evidence(frames: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut v: Vec<u64> = Vec::new();
    for f in frames {
        if f != 0 && v.len() < MAX_EVIDENCE && !v.contains(&f) {
            v.push(f);
        }
    }
    v
}

fn finding(
    rule: RuleId,
    severity: Severity,
    c: &CallFacts<'_>,
    p: Option<&Party>,
    summary: String,
    frames: Vec<u64>,
    advice: &str,
) -> Finding {
    Finding::new(rule, severity, p.map(|p| p.first_ts).unwrap_or(c.start))
        .call(c.call_id)
        .flow_opt(p.map(|p| p.source.get()), None)
        .summary(summary)
        .evidence(frames)
        .advice(advice.to_string())
}

/// All NAT findings of one dialog.
pub fn findings(
    c: &CallFacts<'_>,
    nat: &DialogNat,
    flows: &[MediaFlow],
    keepalives: &KeepaliveTable,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let answered_long = c.is_call && c.answered.is_some_and(|a| c.end.since(a) >= MIN_TALK_NS);
    for (i, p) in nat.parties.iter().enumerate() {
        let f = flags(nat, i);
        let role = p.role.as_str();
        // A Via naming another host that no NAT explains (a scanner's forged 127.0.0.1,
        // a multi-homed host) says nothing about NAT: only NAT and port mismatches count.
        let port_only = p.via.as_ref().is_some_and(|v| v.ip == Some(p.source.ip()));
        if let Some(via) = p
            .via
            .as_ref()
            .filter(|v| v.mismatch && (f.via_ip_differs || port_only))
        {
            let what = if f.via_ip_differs {
                "behind NAT"
            } else {
                "the port differs: a NAT rewrote the source port, or it does not send from the port it listens on"
            };
            out.push(finding(
                VIA_MISMATCH,
                Severity::Info,
                c,
                Some(p),
                format!(
                    "{role} sends from {} but its top Via says {}:{} ({what})",
                    p.source, via.host, via.port
                ),
                evidence([via.frame]),
                "Nothing to fix by itself: the next hop must answer to the packet source \
                 (received/rport, RFC 3261 §18.2.1, RFC 3581).",
            ));
        }
        if f.rport_missing {
            let via = p.via.as_ref();
            out.push(finding(
                RPORT_MISSING,
                Severity::Low,
                c,
                Some(p),
                format!(
                    "{role} behind NAT ({} sends, Via {}:{}) without rport: responses go to port {} \
                     instead of the NAT's port {}",
                    p.source,
                    via.map(|v| v.host.as_str()).unwrap_or("-"),
                    via.map(|v| v.port).unwrap_or(0),
                    via.map(|v| v.port).unwrap_or(0),
                    p.source.port()
                ),
                evidence(via.map(|v| v.frame)),
                "Enable rport on the UA (RFC 3581), or force_rport / nat=force_rport on the \
                 proxy so responses go back to the source port.",
            ));
        }
        if f.contact_private && !f.contact_relayed {
            let Some(contact) = p.contact.as_ref() else {
                continue;
            };
            let mut fixed = Vec::new();
            // Any other hop of the same side, before or after it in the capture: a proxy
            // may send its 100 Trying before relaying the UA's (fixed) 200.
            let others = nat
                .parties
                .iter()
                .enumerate()
                .filter(|(j, q)| *j != i && q.role == p.role)
                .map(|(_, q)| q);
            for q in others {
                if let Some(qc) = q.contact.as_ref() {
                    if qc.host != contact.host || qc.port != contact.port {
                        fixed.push(format!(
                            "the next hop {} advertises Contact {}:{} instead",
                            q.source, qc.host, qc.port
                        ));
                        break;
                    }
                }
            }
            let rewritten = !fixed.is_empty();
            if nat.record_route {
                fixed.push(
                    "Record-Route present: in-dialog requests go via the proxy, which must \
                     also send them to the NAT address"
                        .into(),
                );
            }
            if nat.path {
                fixed.push("Path present: the edge proxy relays requests to it".into());
            }
            if let Some(r) = p.via.as_ref().and_then(|v| v.received) {
                fixed.push(format!("the next hop noted received={r}"));
            }
            let tail = if fixed.is_empty() {
                "no hop seen rewriting it".to_string()
            } else {
                fixed.join("; ")
            };
            out.push(finding(
                CONTACT_PRIVATE,
                // A hop that already rewrote it has handled the problem for this dialog.
                if rewritten {
                    Severity::Low
                } else {
                    Severity::Medium
                },
                c,
                Some(p),
                format!(
                    "{role} advertises Contact {}:{} ({}) but {}: requests toward that Contact \
                     (incoming calls, BYE, re-INVITE) cannot reach it; {tail}",
                    contact.host,
                    contact.port,
                    contact
                        .ip
                        .map(|ip| classify(ip).as_str())
                        .unwrap_or("host name"),
                    seen_as(p, &f)
                ),
                evidence([contact.frame]),
                "Have the proxy fix it (Kamailio/OpenSIPS fix_nated_contact or \
                 set_contact_alias, Asterisk nat=force_rport,comedia / rewrite_contact=yes), \
                 or enable STUN/ICE or an SBC on the UA side; keep the binding open with \
                 keepalives.",
            ));
        }
        if f.sdp_private && !f.sdp_relayed {
            let private: Vec<SocketAddr> = p
                .sdp
                .iter()
                .map(|a| a.get())
                .filter(|a| {
                    crate::nat::assess::nat_suspect(Some(a.ip()), p.source.get())
                        || (f.seen_public.is_some() && classify(a.ip()).is_internal())
                })
                .collect();
            let view = crate::nat::assess(nat, flows, keepalives, answered_long, c.capture_has_rtp);
            let received = view
                .as_ref()
                .and_then(|v| v.parties.get(i))
                .map(|pv| (pv.observed.packets_received, pv.observed.media_to.clone()))
                .unwrap_or((0, Vec::new()));
            let high = answered_long && c.capture_has_rtp && received.0 == 0;
            let tail = if received.0 > 0 {
                format!(
                    "media toward it still arrives at {} ({} packets): latching or a relay saves the call",
                    list(&received.1),
                    received.0
                )
            } else if !c.capture_has_rtp {
                "the capture holds no RTP to confirm whether media reached it".to_string()
            } else if answered_long {
                "no RTP toward it reached a usable address: expect one-way or no audio".to_string()
            } else {
                "the call was not answered long enough to judge media".to_string()
            };
            out.push(finding(
                SDP_PRIVATE,
                if high {
                    Severity::High
                } else {
                    Severity::Medium
                },
                c,
                Some(p),
                format!(
                    "{role} SDP advertises {} but {}: {tail}",
                    list(&private),
                    seen_as(p, &f)
                ),
                evidence(p.sdp_frame),
                "Let the proxy rewrite the SDP (fix_nated_sdp, Asterisk directmedia=no with \
                 nat=comedia), anchor media in an SBC or media relay (rtpengine, rtpproxy), \
                 enable symmetric RTP on the far end, or STUN/ICE on the UA.",
            ));
        }
        if let Some(r) = p.register.as_ref() {
            let behind = f.via_ip_differs || f.seen_public.is_some() || f.contact_private;
            let kept = keepalives.count(p.source.get());
            // Re-REGISTERs at least as often as the binding timeout keep it open too.
            let refresh_ok = r
                .max_refresh_gap_ns
                .is_some_and(|g| g <= u64::from(NAT_BINDING_TIMEOUT_S) * 1_000_000_000);
            if let Some(g) = r.granted.filter(|g| *g > NAT_BINDING_TIMEOUT_S) {
                if behind && kept == 0 && !refresh_ok {
                    out.push(finding(
                        REGISTER_EXPIRY,
                        Severity::Medium,
                        c,
                        Some(p),
                        format!(
                            "UA {} registers from behind NAT for {g} s (asked {}), but no \
                             keepalive (CRLF, STUN, OPTIONS) to or from it was seen: a UDP NAT \
                             binding typically expires after {} s, after which incoming calls \
                             cannot reach it",
                            p.source,
                            r.requested
                                .map(|x| format!("{x} s"))
                                .unwrap_or_else(|| "nothing".into()),
                            NAT_BINDING_TIMEOUT_S
                        ),
                        evidence([r.frame, r.granted_frame.unwrap_or(0)]),
                        "Send keepalives every 15–30 s (RFC 5626 CRLF or STUN, or OPTIONS \
                         pings from the registrar: Kamailio nathelper, Asterisk qualify=yes), \
                         or grant a short expiry (60–120 s) to UAs behind NAT, or use TCP/TLS.",
                    ));
                }
            }
        }
    }
    if let Some(f) = latching(c, nat, flows) {
        out.push(f);
    }
    if answered_long {
        out.extend(media_direction(c, nat, flows));
    }
    out.extend(ack_timeout(c, nat));
    out
}

/// Where the party's packets really come from, for a summary.
fn seen_as(p: &Party, f: &crate::nat::assess::PartyFlags) -> String {
    match f.seen_public {
        Some(ip) => format!(
            "the next hop sees it as {ip} (received=; the capture is inside its NAT, source {})",
            p.source
        ),
        None => format!("sends from {}", p.source),
    }
}

fn first_sdp(nat: &DialogNat, role: Role) -> Option<&Party> {
    nat.parties
        .iter()
        .filter(|p| p.role == role && !p.sdp.is_empty())
        .min_by_key(|p| p.first_frame)
}

fn latching(c: &CallFacts<'_>, nat: &DialogNat, flows: &[MediaFlow]) -> Option<Finding> {
    let announced = |a: SocketAddr| nat.parties.iter().any(|p| p.sdp.iter().any(|x| *x == a));
    let mut parts = Vec::new();
    let mut frames = Vec::new();
    for s in flows {
        let Some(side) = stream_side(nat, s) else {
            continue;
        };
        let sender = first_sdp(nat, side);
        let other = first_sdp(
            nat,
            if side == Role::Caller {
                Role::Callee
            } else {
                Role::Caller
            },
        );
        // Latching proper: the far end sends back to the address this RTP came from,
        // not to the SDP address. A translated source nobody answers is only NAT.
        if !announced(s.src) && announced(s.dst) && flows.iter().any(|t| t.dst == s.src) {
            parts.push(format!(
                "{} RTP comes from {} (SDP said {})",
                side.as_str(),
                s.src,
                sender
                    .map(|p| list(&p.sdp))
                    .unwrap_or_else(|| "no SDP seen from it".into())
            ));
            frames.push(s.first_frame);
        } else if announced(s.src) && !announced(s.dst) {
            parts.push(format!(
                "{} sends RTP to {} instead of the SDP address {} (latched on where the other side's RTP came from)",
                side.as_str(),
                s.dst,
                other
                    .map(|p| list(&p.sdp))
                    .unwrap_or_else(|| "(no SDP seen from that side)".into())
            ));
            frames.push(s.first_frame);
        }
    }
    if parts.is_empty() {
        return None;
    }
    parts.truncate(4);
    Some(finding(
        MEDIA_LATCHING,
        Severity::Info,
        c,
        None,
        format!("media latching: {}", parts.join("; ")),
        evidence(frames),
        "Nothing to fix when audio works both ways: symmetric RTP (RFC 4961) or an SBC \
         latched on the real source. If audio fails, enable symmetric RTP/comedia on the \
         far end or a media relay.",
    ))
}

fn media_direction(c: &CallFacts<'_>, nat: &DialogNat, flows: &[MediaFlow]) -> Option<Finding> {
    // Hold, one-way offers and calls without an SDP on both sides expect no two-way media.
    if !crate::nat::assess::expects_two_way_media(nat) {
        return None;
    }
    let m = crate::nat::assess::media_view(nat, flows);
    let (to_caller, to_callee) = m
        .as_ref()
        .map(|m| (m.to_caller_delivered, m.to_callee_delivered))
        .unwrap_or((0, 0));
    let talk = c
        .answered
        .map(|a| c.end.since(a) as f64 / 1e9)
        .unwrap_or(0.0);
    if to_caller == 0 && to_callee == 0 {
        let sent: Vec<String> = flows
            .iter()
            .take(4)
            .map(|s| {
                format!(
                    "{} → {} ({} packets, undeliverable)",
                    s.src, s.dst, s.packets
                )
            })
            .collect();
        let (sev, why) = if !c.capture_has_rtp {
            (
                Severity::Info,
                "the capture holds no RTP at all: probably filtered to signaling".to_string(),
            )
        } else if sent.is_empty() {
            (
                Severity::Medium,
                "no RTP bound to the call: media took another path (relay, other interface) or \
                 a firewall blocked both directions"
                    .to_string(),
            )
        } else {
            (
                Severity::Medium,
                format!(
                    "RTP went only to addresses it cannot reach: {}",
                    sent.join(", ")
                ),
            )
        };
        return Some(finding(
            NO_RTP,
            sev,
            c,
            None,
            format!(
                "answered call ({talk:.1} s after answer) without RTP reaching either side: {why}"
            ),
            evidence(
                nat.parties
                    .iter()
                    .filter_map(|p| p.sdp_frame)
                    .chain(nat.oks.iter().map(|o| o.frame))
                    .chain(flows.iter().map(|s| s.first_frame)),
            ),
            "Check that RTP ports are open on both firewalls, that SDP addresses are \
             reachable (no private c= across NAT) and whether an SBC or relay anchors media.",
        ));
    }
    if to_caller > 0 && to_callee > 0 {
        return None;
    }
    // The silent direction: who does not hear, who should have sent.
    let (deaf, talker) = if to_caller == 0 {
        (Role::Caller, Role::Callee)
    } else {
        (Role::Callee, Role::Caller)
    };
    let deaf_party = first_sdp(nat, deaf);
    let toward: Vec<&MediaFlow> = flows
        .iter()
        .filter(|s| stream_side(nat, s) == Some(talker))
        .collect();
    let should = deaf_party
        .map(|p| list(&p.sdp))
        .unwrap_or_else(|| "-".into());
    let went = if toward.is_empty() {
        format!("the {} sent no RTP at all", talker.as_str())
    } else {
        format!(
            "the {}'s RTP went to {}",
            talker.as_str(),
            toward
                .iter()
                .take(4)
                .map(|s| format!("{} ({} packets)", s.dst, s.packets))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let deaf_idx = deaf_party.and_then(|p| nat.parties.iter().position(|q| q == p));
    let talker_idx = first_sdp(nat, talker).and_then(|p| nat.parties.iter().position(|q| q == p));
    let cause = if deaf_idx.is_some_and(|i| flags(nat, i).sdp_private) {
        format!(
            "likely cause: the {}'s SDP advertises a private address the other side cannot reach",
            deaf.as_str()
        )
    } else if talker_idx.is_some_and(|i| flags(nat, i).sdp_private) && toward.is_empty() {
        format!(
            "likely cause: the {} is behind NAT and its RTP never left its network (firewall or \
             NAT), or the far end sent to its private address",
            talker.as_str()
        )
    } else if toward.is_empty() {
        format!(
            "likely cause: a firewall drops the {}'s RTP, or it is muted/sending to a wrong port",
            talker.as_str()
        )
    } else {
        "likely cause: the destination port or address is wrong or filtered".to_string()
    };
    let from_deaf: u64 = flows
        .iter()
        .filter(|s| stream_side(nat, s) == Some(deaf))
        .map(|s| s.packets)
        .sum();
    Some(finding(
        ONE_WAY,
        Severity::High,
        c,
        deaf_party,
        format!(
            "one-way audio: the {} hears nothing ({} → {} RTP: {} packets sent, none came back); \
             its SDP asked for RTP at {should}; {went}; {cause}",
            deaf.as_str(),
            deaf.as_str(),
            talker.as_str(),
            from_deaf
        ),
        evidence(flows.iter().map(|s| s.first_frame)),
        "Make media reachable: fix_nated_sdp or an SBC/media relay (rtpengine) for the NATed \
         side, symmetric RTP (comedia) on the far end, open the RTP port range on firewalls.",
    ))
}

fn ack_timeout(c: &CallFacts<'_>, nat: &DialogNat) -> Vec<Finding> {
    let mut out = Vec::new();
    // A private Contact on the UAS side is where the ACK/BYE would be sent.
    let private_contact = |role: Role| -> Option<(String, Option<std::net::IpAddr>)> {
        nat.parties.iter().enumerate().find_map(|(i, p)| {
            let f = flags(nat, i);
            (p.role == role && f.contact_private && !f.contact_relayed).then(|| {
                let ct = p.contact.as_ref();
                (
                    ct.map(|x| format!("{}:{}", x.host, x.port))
                        .unwrap_or_default(),
                    ct.and_then(|x| x.ip),
                )
            })
        })
    };
    for ok in nat
        .oks
        .iter()
        .filter(|o| !o.acked && o.retransmissions >= ACK_TIMEOUT_MIN_RETRANSMISSIONS)
    {
        out.push(ack_finding(c, nat, ok, private_contact(Role::Callee)));
    }
    if !nat.timeouts.is_empty() {
        let t = &nat.timeouts;
        let first = &t[0];
        let descr: Vec<String> = t
            .iter()
            .take(4)
            .map(|m| format!("{} to {} (frame {})", m.status, m.method, m.frame))
            .collect();
        // The request went toward the side that answered 408/481 on its behalf.
        let reason = [Role::Caller, Role::Callee]
            .iter()
            .find_map(|r| private_contact(*r).map(|x| (*r, x)))
            .map(|(r, (ct, _))| {
                format!(
                    ": the {} advertised the private Contact {ct}, so in-dialog requests are \
                     routed to an address that cannot be reached through its NAT",
                    r.as_str()
                )
            })
            .unwrap_or_default();
        out.push(
            Finding::new(ACK_TIMEOUT, Severity::High, first.ts)
                .call(c.call_id)
                .flow(first.src, first.dst)
                .summary(format!(
                    "in-dialog requests failed: {}{reason}",
                    descr.join(", ")
                ))
                .evidence(evidence(t.iter().map(|m| m.frame)))
                .advice(ACK_ADVICE),
        );
    }
    out
}

const ACK_ADVICE: &str = "Make in-dialog requests reach NATed UAs: Record-Route on the \
                          proxy with fix_nated_contact (or an SBC), rport/force_rport, and \
                          keepalives so the NAT binding stays open.";

fn ack_finding(
    c: &CallFacts<'_>,
    nat: &DialogNat,
    ok: &OkTrack,
    private: Option<(String, Option<std::net::IpAddr>)>,
) -> Finding {
    let bye = nat
        .byes
        .iter()
        .find(|b| (b.src == ok.src || b.src.ip() == ok.src.ip()) && b.ts >= ok.ts);
    let torn = bye.filter(|b| {
        let dt = b.ts.since(ok.ts);
        dt + ACK_TIMEOUT_SLACK_NS >= ACK_TIMEOUT_NS && dt <= ACK_TIMEOUT_NS + ACK_TIMEOUT_SLACK_NS
    });
    let mut s = format!(
        "200 OK to INVITE from {} retransmitted {} times over {:.1} s and no ACK reached it",
        ok.src,
        ok.retransmissions,
        ok.last_ts.since(ok.ts) as f64 / 1e9
    );
    if let Some(b) = torn {
        s.push_str(&format!(
            "; the call was torn down by BYE {:.1} s later (64*T1, RFC 3261 §13.3.1.4)",
            b.ts.since(ok.ts) as f64 / 1e9
        ));
    }
    let mut frames = vec![ok.frame];
    if let Some((ct, ip)) = private {
        let sent_there = nat
            .acks
            .iter()
            .find(|a| ip.is_some_and(|ip| a.dst.ip() == ip));
        match sent_there {
            Some(a) => {
                s.push_str(&format!(
                    "; NAT: the callee's Contact is the private {ct} and the ACK was sent there (frame {})",
                    a.frame
                ));
                frames.push(a.frame);
            }
            None => s.push_str(&format!(
                "; NAT: the callee's Contact is the private {ct}, where the caller sends the ACK \
                 (RFC 3261 §12.1.2 remote target): it cannot arrive"
            )),
        }
    } else if let Some(a) = nat.acks.iter().find(|a| a.dst.ip() != ok.src.ip()) {
        s.push_str(&format!(
            "; an ACK went to {} instead (frame {})",
            a.dst, a.frame
        ));
        frames.push(a.frame);
    }
    if let Some(b) = torn {
        frames.push(b.frame);
    }
    Finding::new(ACK_TIMEOUT, Severity::High, ok.ts)
        .call(c.call_id)
        .flow(ok.src, ok.dst)
        .summary(s)
        .evidence(evidence(frames))
        .advice(ACK_ADVICE)
}

/// The NAT rule family (`nat.*` but `nat.stun`): per dialog, what its parties advertised
/// against where their packets came from, with the media flows bound to it.
#[derive(Debug, Default)]
pub struct NatRule;

impl NatRule {
    fn conclude(
        d: &crate::engine::Dialog,
        an: &crate::engine::Analyzer,
        ix: &crate::nat::FlowIndex,
        out: &mut Vec<Finding>,
    ) {
        let flows = an.nat_flows(d, ix);
        let facts = CallFacts {
            call_id: &d.call_id,
            is_call: d.is_call(),
            answered: d.answered,
            end: d.end,
            start: d.start,
            capture_has_rtp: an.stats().rtp_packets > 0,
        };
        out.extend(findings(&facts, &d.nat, &flows, an.nat_keepalives()));
    }
}

impl crate::engine::Rule for NatRule {
    fn name(&self) -> &'static str {
        "nat"
    }

    fn on_dialog_evicted(
        &mut self,
        d: &crate::engine::Dialog,
        an: &crate::engine::Analyzer,
        out: &mut Vec<Finding>,
    ) {
        // Only the streams bound to the dialog: indexing every stream per eviction would
        // cost a scan of the stream table each time.
        let ix = an.nat_flow_index_of(d);
        Self::conclude(d, an, &ix, out);
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
        // Built lazily: a tick that touched no dialog does not index every stream.
        let mut ix = None;
        let mut v = Vec::new();
        for d in dialogs {
            let ix = ix.get_or_insert_with(|| an.nat_flow_index());
            Self::conclude(d, an, ix, &mut v);
            each(d.id, &mut v);
        }
        true
    }
}
