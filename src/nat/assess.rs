//! From a dialog's NAT record and RTP streams to per-party verdicts: computed once and
//! read by the rules (`rules::nat`) and by the report.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::{class_of, classify, AddrClass, DialogNat, KeepaliveTable, Party, Role};

/// Most media addresses listed per party and direction in a view.
pub const MAX_VIEW_ADDRS: usize = 4;

/// One RTP stream as the NAT analysis needs it (STUN is never a stream: the engine
/// classifies it apart, so connectivity checks do not count as media).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaFlow {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Packets.
    pub packets: u64,
    /// First frame.
    pub first_frame: u64,
}

impl MediaFlow {
    /// RTP sent from a routable or unknown host toward an internal address does not reach
    /// it: nothing on the Internet routes to RFC 1918 / RFC 6598 space.
    pub fn deliverable(&self) -> bool {
        !class_of(self.dst).is_internal() || class_of(self.src).is_internal()
    }

    /// [`Self::deliverable`], or seen inside the receiver's network: when the capture
    /// also holds packets the internal host sent with its own address as source, it was
    /// taken on that host's side of the NAT, so RTP seen arriving there did arrive.
    pub fn deliverable_in(&self, flows: &[MediaFlow]) -> bool {
        self.deliverable() || flows.iter().any(|f| f.src.ip() == self.dst.ip())
    }
}

/// An advertised address and its class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddrText {
    /// host:port as advertised.
    pub addr: String,
    /// Class of the host when it is an IP (null for a host name).
    pub class: Option<AddrClass>,
}

/// What a party advertised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advertised {
    /// Top Via sent-by of its requests.
    pub via: Option<AddrText>,
    /// Contact URI host:port.
    pub contact: Option<AddrText>,
    /// SDP media addresses.
    pub sdp: Vec<AddrText>,
}

/// What the wire showed for a party.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    /// Source of its SIP messages.
    pub signaling: SocketAddr,
    /// Class of that source.
    pub class: AddrClass,
    /// Sources its RTP came from.
    pub media_from: Vec<SocketAddr>,
    /// Destinations of RTP sent toward it.
    pub media_to: Vec<SocketAddr>,
    /// RTP packets it sent / RTP packets toward it that could reach it.
    pub packets_sent: u64,
    /// See `packets_sent`.
    pub packets_received: u64,
}

/// `rport` (RFC 3581) and `received` (RFC 3261 §18.2.1) for a party's requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RportView {
    /// The party put `rport` in its Via.
    pub requested: bool,
    /// `received` written by the next hop.
    pub received: Option<IpAddr>,
    /// `rport=N` written by the next hop.
    pub filled: Option<u16>,
}

/// A registration as seen from the NAT's point of view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterView {
    /// Expiry asked for, seconds.
    pub requested: Option<u32>,
    /// Expiry granted by the registrar, seconds.
    pub granted: Option<u32>,
    /// REGISTERs sent in this Call-ID.
    pub count: u32,
    /// Keepalives seen from or to the UA's source (CRLF, STUN, OPTIONS).
    pub keepalives: u32,
}

/// One party of a dialog, advertised against observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartyView {
    /// caller (sent the initial request) or callee (answered it).
    pub role: Role,
    /// Transport of its first message.
    pub transport: &'static str,
    /// Its first frame.
    pub first_frame: u64,
    /// Via, Contact, SDP.
    pub advertised: Advertised,
    /// Packet sources.
    pub observed: Observed,
    /// rport / received (null when it sent no request).
    pub rport: Option<RportView>,
    /// REGISTER binding.
    pub register: Option<RegisterView>,
    /// It advertises addresses other than the one its packets come from.
    pub behind_nat: bool,
    /// Short issue codes: via-mismatch, rport-missing, contact-private, sdp-private,
    /// relayed (it forwards what an earlier hop advertised).
    pub issues: Vec<&'static str>,
    /// Plain-words verdict.
    pub verdict: String,
}

/// Media of an answered call, by direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaView {
    /// RTP packets sent by the caller side.
    pub from_caller: u64,
    /// RTP packets sent by the callee side.
    pub from_callee: u64,
    /// Packets toward the caller that could reach it.
    pub to_caller_delivered: u64,
    /// Packets toward the callee that could reach it.
    pub to_callee_delivered: u64,
}

/// The NAT view of one dialog (`nat` in the JSON report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NatView {
    /// Some party is behind NAT or media fails.
    pub trouble: bool,
    /// A Record-Route was seen.
    pub record_route: bool,
    /// A Path header was seen.
    pub path: bool,
    /// Parties, in order of first message.
    pub parties: Vec<PartyView>,
    /// Media by direction (null when no RTP was bound).
    pub media: Option<MediaView>,
    /// An answered call expecting two-way RTP where a side received none.
    pub media_failed: bool,
    /// One sentence for the whole dialog.
    pub verdict: String,
}

fn ip_text(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

fn addr_text(host: &str, ip: Option<IpAddr>, port: u16) -> AddrText {
    AddrText {
        addr: match ip {
            Some(ip) => ip_text(ip, port),
            None => format!("{host}:{port}"),
        },
        class: ip.map(classify),
    }
}

/// An advertised internal address that a NAT explains: the packets come from another
/// address of another class (public, documentation, or CGNAT behind a home router).
/// Private advertised from another private source of the same class is more often a
/// proxy or B2BUA relaying, a multi-homed host or a spoofed header than a NAT between two
/// private networks: it is not counted (a documented limit). Packets from a loopback
/// source never crossed a NAT: whatever they advertise, the capture was taken on one host.
pub fn nat_suspect(ip: Option<IpAddr>, source: SocketAddr) -> bool {
    // The cheap test first: nearly every party advertises its own source address (each
    // party's Via, Contact and SDP address are checked at every dialog's conclusion).
    ip.is_some_and(|ip| {
        if ip == source.ip() {
            return false;
        }
        let c = classify(ip);
        if !c.is_internal() {
            return false;
        }
        let src = class_of(source);
        c != src && src != AddrClass::Loopback
    })
}

/// Facts a rule needs per party, beyond the view.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PartyFlags {
    /// Top Via sent-by ≠ source.
    pub via_mismatch: bool,
    /// Via host IP ≠ source IP.
    pub via_ip_differs: bool,
    /// Behind NAT and no rport (UDP).
    pub rport_missing: bool,
    /// Contact internal and ≠ source.
    pub contact_private: bool,
    /// An SDP address internal and ≠ source.
    pub sdp_private: bool,
    /// Its Contact was advertised earlier by another party (a proxy relays it).
    pub contact_relayed: bool,
    /// Its SDP was advertised earlier by another party.
    pub sdp_relayed: bool,
    /// The next hop wrote a routable `received` other than the packet source: the
    /// capture was taken inside the NAT (LAN side) and the NAT's public address shows here.
    pub seen_public: Option<IpAddr>,
}

/// Computes the flags of party `i` of `nat`.
pub fn flags(nat: &DialogNat, i: usize) -> PartyFlags {
    let Some(p) = nat.parties.get(i) else {
        return PartyFlags::default();
    };
    // Another party of the same side advertised it too, and is its origin: it sends from
    // that address, or advertised it first (a proxy forwards what the UA wrote).
    let other = |f: &dyn Fn(&Party) -> Option<(bool, u64)>, mine: u64| {
        nat.parties.iter().enumerate().any(|(j, q)| {
            j != i && q.role == p.role && f(q).is_some_and(|(origin, frame)| origin || frame < mine)
        })
    };
    let via_mismatch = p.via.as_ref().is_some_and(|v| v.mismatch);
    let seen_public = p.via.as_ref().and_then(|v| v.received).filter(|r| {
        classify(*r).is_routable()
            && *r != p.source.ip()
            && class_of(p.source.get()) != AddrClass::Loopback
    });
    // Behind NAT either way: what it advertises is not its source, or the next hop saw
    // it from another (public) address than the capture did.
    let suspect = |ip: Option<IpAddr>| {
        nat_suspect(ip, p.source.get())
            || (seen_public.is_some() && ip.is_some_and(|ip| classify(ip).is_internal()))
    };
    let via_ip_differs = p
        .via
        .as_ref()
        .is_some_and(|v| nat_suspect(v.ip, p.source.get()));
    let rport_missing = (via_ip_differs || seen_public.is_some())
        && p.transport == crate::net::Transport::Udp
        && p.via.as_ref().is_some_and(|v| !v.rport_requested);
    let contact_private = p.contact.as_ref().is_some_and(|c| suspect(c.ip));
    let sdp_private = p.sdp.iter().any(|a| suspect(Some(a.ip())));
    let contact_relayed = p.contact.as_ref().is_some_and(|c| {
        other(
            &|q: &Party| {
                q.contact
                    .as_ref()
                    .filter(|qc| qc.host == c.host && qc.port == c.port)
                    .map(|qc| (c.ip == Some(q.source.ip()), qc.frame))
            },
            c.frame,
        )
    });
    let sdp_relayed = !p.sdp.is_empty()
        && other(
            &|q: &Party| {
                (q.sdp == p.sdp).then(|| {
                    (
                        q.sdp.iter().any(|a| a.ip() == q.source.ip()),
                        q.sdp_frame.unwrap_or(u64::MAX),
                    )
                })
            },
            p.sdp_frame.unwrap_or(u64::MAX),
        );
    PartyFlags {
        via_mismatch,
        via_ip_differs,
        rport_missing,
        contact_private,
        sdp_private,
        contact_relayed,
        sdp_relayed,
        seen_public,
    }
}

/// Which side sent a stream: by SDP addresses first, then by signaling source IPs.
pub fn stream_side(nat: &DialogNat, s: &MediaFlow) -> Option<Role> {
    let sdp_of = |r: Role, a: SocketAddr| {
        nat.parties
            .iter()
            .any(|p| p.role == r && p.sdp.iter().any(|x| *x == a))
    };
    let ip_of = |r: Role, ip: IpAddr| {
        nat.parties
            .iter()
            .any(|p| p.role == r && p.source.ip() == ip)
    };
    if sdp_of(Role::Caller, s.src) || sdp_of(Role::Callee, s.dst) {
        Some(Role::Caller)
    } else if sdp_of(Role::Callee, s.src) || sdp_of(Role::Caller, s.dst) {
        Some(Role::Callee)
    } else if ip_of(Role::Caller, s.src.ip()) || ip_of(Role::Callee, s.dst.ip()) {
        Some(Role::Caller)
    } else if ip_of(Role::Callee, s.src.ip()) || ip_of(Role::Caller, s.dst.ip()) {
        Some(Role::Callee)
    } else {
        None
    }
}

fn push_addr(v: &mut Vec<SocketAddr>, a: SocketAddr) {
    if v.len() < MAX_VIEW_ADDRS && !v.contains(&a) {
        v.push(a);
    }
}

/// Computes the NAT view of a dialog; None when there is nothing to say (every party
/// advertises what it sends from and media, if any, flows both ways).
pub fn assess(
    nat: &DialogNat,
    flows: &[MediaFlow],
    keepalives: &KeepaliveTable,
    answered_call: bool,
    capture_has_rtp: bool,
) -> Option<NatView> {
    // Most dialogs have nothing to say (30k of 30k in a SIPp capture): decide that from
    // the flags before any address or verdict text is written, which was most of the
    // report's per-dialog time.
    let media = media_view(nat, flows);
    let failure = media_failure(nat, media.as_ref(), answered_call, capture_has_rtp);
    if failure.is_none() && !(0..nat.parties.len()).any(|i| behind_nat(&flags(nat, i))) {
        return None;
    }
    let mut parties = Vec::with_capacity(nat.parties.len());
    let mut trouble = false;
    let mut headline: Vec<String> = Vec::new();
    for (i, p) in nat.parties.iter().enumerate() {
        let f = flags(nat, i);
        let mut observed = Observed {
            signaling: p.source.get(),
            class: class_of(p.source.get()),
            media_from: Vec::new(),
            media_to: Vec::new(),
            packets_sent: 0,
            packets_received: 0,
        };
        for s in flows {
            let side = stream_side(nat, s);
            if side == Some(p.role)
                && (s.src.ip() == p.source.ip() || p.sdp.iter().any(|x| *x == s.src))
            {
                push_addr(&mut observed.media_from, s.src);
                observed.packets_sent += s.packets;
            }
            if side.is_some_and(|r| r != p.role)
                && (s.dst.ip() == p.source.ip() || p.sdp.iter().any(|x| *x == s.dst))
            {
                push_addr(&mut observed.media_to, s.dst);
                if s.deliverable_in(flows) {
                    observed.packets_received += s.packets;
                }
            }
        }
        let mut issues = Vec::new();
        let relayed = f.sdp_relayed || f.contact_relayed;
        if f.via_mismatch {
            issues.push("via-mismatch");
        }
        if f.rport_missing {
            issues.push("rport-missing");
        }
        if f.contact_private {
            issues.push("contact-private");
        }
        if f.sdp_private {
            issues.push("sdp-private");
        }
        if relayed {
            issues.push("relayed");
        }
        let behind_nat = behind_nat(&f);
        let verdict = party_verdict(p, &f, &observed, behind_nat);
        if behind_nat {
            trouble = true;
            headline.push(format!("{} {} is behind NAT", p.role.as_str(), p.source));
        }
        let register = p.register.as_ref().map(|r| RegisterView {
            requested: r.requested,
            granted: r.granted,
            count: r.count,
            keepalives: keepalives.count(p.source.get()),
        });
        parties.push(PartyView {
            role: p.role,
            transport: p.transport.as_str(),
            first_frame: p.first_frame,
            advertised: Advertised {
                via: p.via.as_ref().map(|v| addr_text(&v.host, v.ip, v.port)),
                contact: p.contact.as_ref().map(|c| addr_text(&c.host, c.ip, c.port)),
                sdp: p
                    .sdp
                    .iter()
                    .map(|a| addr_text("", Some(a.ip()), a.port()))
                    .collect(),
            },
            observed,
            rport: p.via.as_ref().map(|v| RportView {
                requested: v.rport_requested,
                received: v.received,
                filled: v.rport_filled,
            }),
            register,
            behind_nat,
            issues,
            verdict,
        });
    }
    let mut media_failed = false;
    if let Some(what) = failure {
        trouble = true;
        media_failed = true;
        headline.push(what.to_string());
    }
    if !trouble {
        return None;
    }
    Some(NatView {
        trouble,
        record_route: nat.record_route,
        path: nat.path,
        parties,
        media,
        media_failed,
        verdict: headline.join("; "),
    })
}

/// A party advertises addresses other than the one its packets come from.
fn behind_nat(f: &PartyFlags) -> bool {
    f.via_ip_differs
        || f.seen_public.is_some()
        || (f.contact_private && !f.contact_relayed)
        || (f.sdp_private && !f.sdp_relayed)
}

/// How an answered call expecting two-way RTP failed to get it, when it did.
fn media_failure(
    nat: &DialogNat,
    media: Option<&MediaView>,
    answered_call: bool,
    capture_has_rtp: bool,
) -> Option<&'static str> {
    if !(answered_call && capture_has_rtp && expects_two_way_media(nat)) {
        return None;
    }
    let (to_caller, to_callee) = media
        .map(|m| (m.to_caller_delivered, m.to_callee_delivered))
        .unwrap_or((0, 0));
    match (to_caller == 0, to_callee == 0) {
        (true, true) => Some("no RTP reached either side"),
        (true, false) => Some("one-way audio: nothing reached the caller"),
        (false, true) => Some("one-way audio: nothing reached the callee"),
        (false, false) => None,
    }
}

/// Both sides sent SDP and none put media on hold or one-way (sendonly, recvonly,
/// inactive): two-way RTP is expected once the call is answered.
pub fn expects_two_way_media(nat: &DialogNat) -> bool {
    let has = |r: Role| nat.parties.iter().any(|p| p.role == r && !p.sdp.is_empty());
    has(Role::Caller) && has(Role::Callee) && !nat.parties.iter().any(|p| p.sdp_not_sendrecv)
}

/// RTP by direction; None when no stream is bound to the dialog.
pub fn media_view(nat: &DialogNat, flows: &[MediaFlow]) -> Option<MediaView> {
    if flows.is_empty() {
        return None;
    }
    let mut m = MediaView {
        from_caller: 0,
        from_callee: 0,
        to_caller_delivered: 0,
        to_callee_delivered: 0,
    };
    for s in flows {
        match stream_side(nat, s) {
            Some(Role::Caller) => {
                m.from_caller += s.packets;
                if s.deliverable_in(flows) {
                    m.to_callee_delivered += s.packets;
                }
            }
            Some(Role::Callee) => {
                m.from_callee += s.packets;
                if s.deliverable_in(flows) {
                    m.to_caller_delivered += s.packets;
                }
            }
            None => {}
        }
    }
    Some(m)
}

fn party_verdict(p: &Party, f: &PartyFlags, o: &Observed, behind_nat: bool) -> String {
    let mut v: Vec<String> = Vec::new();
    if f.sdp_relayed || f.contact_relayed {
        v.push(format!(
            "relays what an earlier hop of the {} side advertised",
            p.role.as_str()
        ));
    }
    if let Some(pub_ip) = f.seen_public {
        v.push(format!(
            "the next hop saw it as {pub_ip} (received=): the capture was taken inside its NAT"
        ));
    }
    if !behind_nat {
        if o.class.is_internal() && v.is_empty() {
            v.push(format!(
                "sends from the internal address {} and advertises it: the capture was taken \
                 inside its network, so the NAT (if any) is not visible here",
                p.source
            ));
        } else if v.is_empty() {
            v.push(format!(
                "no NAT seen: it advertises the address it sends from ({})",
                p.source
            ));
        }
    } else {
        let mut what = Vec::new();
        if let Some(via) = p.via.as_ref().filter(|_| f.via_mismatch) {
            what.push(format!("Via {}:{}", via.host, via.port));
        }
        if let Some(c) = p.contact.as_ref().filter(|_| f.contact_private) {
            what.push(format!("Contact {}:{}", c.host, c.port));
        }
        if f.sdp_private {
            let s: Vec<String> = p.sdp.iter().map(|a| a.to_string()).collect();
            what.push(format!("SDP {}", s.join(", ")));
        }
        if what.is_empty() {
            v.push("behind NAT".to_string());
        } else {
            v.push(format!(
                "behind NAT: sends from {} but advertises {}",
                p.source,
                what.join(", ")
            ));
        }
    }
    if let Some(via) = p
        .via
        .as_ref()
        .filter(|_| f.via_ip_differs || f.seen_public.is_some())
    {
        if !via.rport_requested {
            if p.transport == crate::net::Transport::Udp {
                v.push(format!(
                    "no rport: responses go to the Via port {} instead of the NAT's port {} \
                     unless the proxy forces rport",
                    via.port,
                    p.source.port()
                ));
            }
        } else if via.received.is_some() || via.rport_filled.is_some() {
            v.push(format!(
                "rport requested and filled by the next hop (received={}, rport={})",
                via.received
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into()),
                via.rport_filled
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into())
            ));
        } else {
            v.push("rport requested; no hop seen filling it".to_string());
        }
    }
    if f.contact_private && !f.contact_relayed {
        v.push(
            "requests toward it (incoming calls, BYE, re-INVITE) target the private Contact \
             and cannot reach it unless a proxy fixes the Contact or routes through its NAT binding"
                .to_string(),
        );
    }
    if f.sdp_private && !f.sdp_relayed {
        if o.packets_received > 0 {
            v.push(format!(
                "media toward it still arrives ({} packets, to {}): the far end or a relay \
                 latches on its real address",
                o.packets_received,
                o.media_to
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            v.push("no RTP toward it reached a usable address: expect one-way or no audio".into());
        }
    }
    v.join("; ")
}
