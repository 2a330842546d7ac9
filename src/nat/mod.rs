//! NAT troubleshooting: what each party of a dialog advertised (top Via sent-by, Contact,
//! SDP `c=`/`m=`) against what the wire shows (packet source, where its RTP came from and
//! where RTP toward it went).
//!
//! The engine feeds [`DialogNat::observe`] every SIP message of a dialog (a few lines in
//! `update_dialog`) and [`KeepaliveTable::note`] every CRLF/STUN keepalive and OPTIONS ping;
//! [`assess`] turns the record and the dialog's RTP streams into per-party verdicts that
//! both the rules (`rules::nat`) and the report read. Everything here is bounded.

pub mod assess;
#[cfg(test)]
mod tests;

pub use assess::{assess, MediaFlow, MediaView, NatView, PartyView};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::capture::Timestamp;

/// Media rules only judge answered calls that lasted at least this long after the answer.
pub const MIN_TALK_NS: u64 = 2_000_000_000;
use crate::model::{Addr, List, MediaLine, Symbols};
use crate::net::Transport;
use crate::sip::{contains_ci, HeaderName, MessageView, Scheme, StartLine};

/// Parties (source address + role) kept per dialog: a UA, a proxy leg or two, an SBC.
pub const MAX_PARTIES: usize = 8;
/// SDP media addresses kept per party.
pub const MAX_SDP_ADDRS: usize = 4;
/// 2xx answers to INVITE tracked per dialog for the ACK check.
pub const MAX_OK_TRACKS: usize = 4;
/// Evidence frames kept per kind (BYEs, 408/481 answers, ACKs) per dialog.
pub const MAX_NAT_FRAMES: usize = 8;
/// Vias read per message when looking for `received`/`rport` filled by a later hop.
pub const MAX_VIAS_READ: usize = 8;
/// Host text kept per advertised address (a hostname can be long; the rest is cut).
pub const MAX_HOST_TEXT: usize = 96;
/// Source addresses remembered by the keepalive table.
pub const MAX_KEEPALIVE_SOURCES: usize = 65_536;

/// What kind of address an IP is, for NAT purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddrClass {
    /// Globally routable.
    Public,
    /// Documentation ranges (RFC 5737 TEST-NET-1/2/3, RFC 3849 2001:db8::/32): routable
    /// for NAT purposes (labs and examples use them as "public"), named apart.
    Documentation,
    /// RFC 1918: 10/8, 172.16/12, 192.168/16.
    Private,
    /// RFC 6598 shared address space 100.64/10 (carrier-grade NAT).
    Cgnat,
    /// 169.254/16 and fe80::/10.
    LinkLocal,
    /// 127/8 and ::1.
    Loopback,
    /// IPv6 unique local addresses fc00::/7 (RFC 4193).
    UniqueLocal,
    /// 0.0.0.0 or :: (in SDP: on hold, RFC 3264 §8.4 legacy).
    Unspecified,
    /// Multicast.
    Multicast,
}

impl AddrClass {
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            AddrClass::Public => "public",
            AddrClass::Documentation => "documentation",
            AddrClass::Private => "private",
            AddrClass::Cgnat => "cgnat",
            AddrClass::LinkLocal => "link-local",
            AddrClass::Loopback => "loopback",
            AddrClass::UniqueLocal => "unique-local",
            AddrClass::Unspecified => "unspecified",
            AddrClass::Multicast => "multicast",
        }
    }

    /// Addresses that exist only behind a NAT or inside one site: a host on the Internet
    /// cannot send to them (RFC 1918, RFC 6598, link-local, IPv6 ULA).
    pub fn is_internal(self) -> bool {
        matches!(
            self,
            AddrClass::Private | AddrClass::Cgnat | AddrClass::LinkLocal | AddrClass::UniqueLocal
        )
    }

    /// Routable on the Internet (public or documentation ranges).
    pub fn is_routable(self) -> bool {
        matches!(self, AddrClass::Public | AddrClass::Documentation)
    }
}

/// Classifies an address (RFC 1918, RFC 6598, RFC 3927, RFC 4193, RFC 4291, RFC 5737,
/// RFC 3849). IPv4-mapped IPv6 addresses are classified as their IPv4 address.
pub fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let o = ip.octets();
    if ip.is_unspecified() {
        AddrClass::Unspecified
    } else if ip.is_loopback() {
        AddrClass::Loopback
    } else if ip.is_private() {
        AddrClass::Private
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        AddrClass::Cgnat
    } else if ip.is_link_local() {
        AddrClass::LinkLocal
    } else if ip.is_multicast() {
        AddrClass::Multicast
    } else if matches!(
        (o[0], o[1], o[2]),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113)
    ) {
        AddrClass::Documentation
    } else {
        AddrClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    let s = ip.segments();
    if ip.is_unspecified() {
        AddrClass::Unspecified
    } else if ip.is_loopback() {
        AddrClass::Loopback
    } else if (s[0] & 0xfe00) == 0xfc00 {
        AddrClass::UniqueLocal
    } else if (s[0] & 0xffc0) == 0xfe80 {
        AddrClass::LinkLocal
    } else if ip.is_multicast() {
        AddrClass::Multicast
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        AddrClass::Documentation
    } else {
        AddrClass::Public
    }
}

/// Parses a SIP host (IPv4, bracketed or bare IPv6) as an IP; None for host names.
pub fn host_ip(host: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = crate::bytes::parse_ipv4(host) {
        return Some(IpAddr::V4(v4));
    }
    let h = std::str::from_utf8(host).ok()?;
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    h.parse().ok()
}

fn host_text(host: &[u8]) -> HostText {
    HostText::new(host)
}

/// Host texts up to this long are kept in place (an IPv4 address, most host names).
const HOST_INLINE: usize = 22;

/// A host as written in a Via or Contact (cut at [`MAX_HOST_TEXT`], lossy UTF-8): in
/// place when short, as nearly all are, so recording a party's Via and Contact allocates
/// nothing (a flood records both for every INVITE). Reads as a `str`.
#[derive(Clone, PartialEq, Eq)]
pub struct HostText(HostRepr);

#[derive(Clone, PartialEq, Eq)]
enum HostRepr {
    /// Length and bytes (valid UTF-8: copied from a `str`).
    Inline(u8, [u8; HOST_INLINE]),
    /// Longer texts.
    Heap(Box<str>),
}

impl HostText {
    /// The host text of `host` as written on the wire: at most [`MAX_HOST_TEXT`] bytes,
    /// invalid UTF-8 replaced.
    pub fn new(host: &[u8]) -> HostText {
        let cut = host.get(..MAX_HOST_TEXT).unwrap_or(host);
        let mut inline = [0u8; HOST_INLINE];
        // A short ASCII host (every IPv4 address, nearly every name) is its own text:
        // copied as is, without the UTF-8 validation the lossy conversion runs.
        if let Some(slot) = inline.get_mut(..cut.len()).filter(|_| cut.is_ascii()) {
            slot.copy_from_slice(cut);
            return HostText(HostRepr::Inline(cut.len() as u8, inline));
        }
        let text = crate::bytes::lossy(cut);
        let bytes = text.as_bytes();
        match inline.get_mut(..bytes.len()) {
            Some(slot) => {
                slot.copy_from_slice(bytes);
                HostText(HostRepr::Inline(bytes.len() as u8, inline))
            }
            None => HostText(HostRepr::Heap(text.into())),
        }
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            HostRepr::Inline(len, b) => b.get(..usize::from(*len)).unwrap_or_default(),
            HostRepr::Heap(s) => s.as_bytes(),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Copied from a `str` whole, so this holds (and only reports read it).
            HostRepr::Inline(..) => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            HostRepr::Heap(s) => s,
        }
    }
}

impl std::ops::Deref for HostText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for HostText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for HostText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for HostText {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for HostText {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Who a party is in the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The side that sent the initial request (the From of the dialog): caller, or the UA
    /// that registers.
    Caller,
    /// The side that answered it: callee, or the registrar.
    Callee,
}

impl Role {
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caller => "caller",
            Role::Callee => "callee",
        }
    }
}

/// The top Via of the requests a party sent (RFC 3261 §18.2.1, RFC 3581).
#[derive(Debug, Clone, PartialEq)]
pub struct ViaFacts {
    /// sent-by host as written (cut at [`MAX_HOST_TEXT`]).
    pub host: HostText,
    /// sent-by port, or the transport default (5060, 5061 for TLS) when absent.
    pub port: u16,
    /// The host as an IP (None for a host name).
    pub ip: Option<IpAddr>,
    /// `rport` present (RFC 3581 §3): the UA asks for responses to its source port.
    pub rport_requested: bool,
    /// Frame of the request.
    pub frame: u64,
    /// `received` a later hop wrote into this Via (RFC 3261 §18.2.1).
    pub received: Option<IpAddr>,
    /// `rport=N` a later hop wrote into this Via (RFC 3581 §4).
    pub rport_filled: Option<u16>,
    /// Frame where `received`/`rport` were seen filled in.
    pub filled_frame: Option<u64>,
    /// True when sent-by differs from the packet source (IP, or port over UDP).
    pub mismatch: bool,
}

/// An advertised contact address (Contact URI host:port).
#[derive(Debug, Clone, PartialEq)]
pub struct ContactFacts {
    /// Host as written.
    pub host: HostText,
    /// Port, or 5060/5061 (sips:, transport=tls) when absent.
    pub port: u16,
    /// The host as an IP.
    pub ip: Option<IpAddr>,
    /// Frame that carried it.
    pub frame: u64,
}

/// A REGISTER binding as requested and as granted by the registrar (RFC 3261 §10.2.1,
/// §10.3 step 8).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegisterFacts {
    /// Expiry the UA asked for (Contact `expires` param, else Expires header).
    pub requested: Option<u32>,
    /// Expiry the registrar granted in its 2xx.
    pub granted: Option<u32>,
    /// Frame of the first REGISTER.
    pub frame: u64,
    /// Frame of the registrar's 2xx.
    pub granted_frame: Option<u64>,
    /// REGISTERs sent (refreshes in the same Call-ID count).
    pub count: u32,
    /// Time of the latest 2xx grant.
    pub granted_ts: Option<Timestamp>,
    /// Longest time from a 2xx grant to the next REGISTER (the refresh interval; None
    /// until a refresh follows a grant). A REGISTER answering a 401 is not a refresh.
    pub max_refresh_gap_ns: Option<u64>,
    /// Time of the first and last REGISTER (refresh interval).
    pub first_ts: Timestamp,
    /// See `first_ts`.
    pub last_ts: Timestamp,
}

/// One party: an observed source address sending messages of the dialog in one role.
#[derive(Debug, Clone, PartialEq)]
pub struct Party {
    /// Caller or callee side.
    pub role: Role,
    /// Where its packets came from.
    pub source: Addr,
    /// Transport of its first message.
    pub transport: Transport,
    /// First frame it sent.
    pub first_frame: u64,
    /// First time it sent.
    pub first_ts: Timestamp,
    /// Messages it sent (first copies only).
    pub messages: u32,
    /// Top Via of its first request (boxed: a callee that sends no request has none).
    pub via: Option<Box<ViaFacts>>,
    /// First Contact it advertised.
    pub contact: Option<ContactFacts>,
    /// SDP media addresses it advertised (bounded by [`MAX_SDP_ADDRS`]).
    /// (In place when one, as most parties have: see [`List`].)
    pub sdp: List<Addr>,
    /// Frame of its first SDP.
    pub sdp_frame: Option<u64>,
    /// Its last SDP put a media line on hold or one-way (sendonly/recvonly/inactive).
    pub sdp_not_sendrecv: bool,
    /// REGISTER facts (registering UA only; boxed, as most parties have none and a
    /// dialog keeps a party per side).
    pub register: Option<Box<RegisterFacts>>,
}

/// A 2xx to INVITE and whether an ACK answered it (RFC 3261 §13.3.1.4).
#[derive(Debug, Clone, PartialEq)]
pub struct OkTrack {
    /// CSeq number.
    pub cseq: u32,
    /// The UAS that sent it first.
    pub src: Addr,
    /// Where it went.
    pub dst: Addr,
    /// First copy.
    pub frame: u64,
    /// First copy time.
    pub ts: Timestamp,
    /// Copies sent again by the UAS (retransmissions).
    pub retransmissions: u32,
    /// Last copy time.
    pub last_ts: Timestamp,
    /// An ACK with this CSeq reached the UAS.
    pub acked: bool,
}

/// A frame worth citing: time, addresses, and a short label.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Frame.
    pub frame: u64,
    /// Time.
    pub ts: Timestamp,
    /// Source.
    pub src: Addr,
    /// Destination.
    pub dst: Addr,
    /// Status code (responses) or 0.
    pub status: u16,
    /// CSeq method of a response, or the request method ("other" when not a standard one).
    pub method: &'static str,
}

/// Per-dialog NAT record, filled message by message. Bounded: [`MAX_PARTIES`],
/// [`MAX_OK_TRACKS`], [`MAX_NAT_FRAMES`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DialogNat {
    /// Parties seen.
    pub parties: Vec<Party>,
    /// A Record-Route header was seen (in-dialog requests go through the proxy).
    pub record_route: bool,
    /// A Path header was seen (RFC 3327: the registrar reaches the UA through the edge).
    pub path: bool,
    /// 2xx answers to INVITE.
    pub oks: Vec<OkTrack>,
    /// ACK requests seen (first copies).
    pub acks: Vec<Mark>,
    /// BYE requests seen.
    pub byes: Vec<Mark>,
    /// 408/481 answers to in-dialog requests.
    pub timeouts: Vec<Mark>,
    /// Facts not kept because a bound was reached.
    pub dropped: u64,
}

/// What the engine knows about one message when it calls [`DialogNat::observe`].
#[derive(Debug, Clone, Copy)]
pub struct MessageCtx<'a> {
    /// Frame.
    pub frame: u64,
    /// Time.
    pub ts: Timestamp,
    /// Packet source.
    pub src: SocketAddr,
    /// Packet destination.
    pub dst: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// A retransmission or duplicate of an earlier message.
    pub repeat: bool,
    /// The same packet captured twice (not a retransmission).
    pub duplicate: bool,
    /// The dialog's first source and From tag (role of messages without tags).
    pub dialog_src: SocketAddr,
    /// From tag of the dialog's initial request.
    pub dialog_from_tag: Option<&'a str>,
    /// CSeq number of the initial request, to tell in-dialog requests apart.
    pub initial_cseq: Option<u32>,
    /// The SDP media lines this message carried, when recorded.
    pub sdp: Option<&'a [MediaLine]>,
}

fn default_port(tls: bool) -> u16 {
    if tls {
        5061
    } else {
        5060
    }
}

fn push_bounded<T>(v: &mut Vec<T>, x: T, dropped: &mut u64) {
    if v.len() < MAX_NAT_FRAMES {
        push_small(v, x);
    } else {
        *dropped += 1;
    }
}

/// Pushes growing one slot at a time for the first few: every dialog keeps these lists
/// and most hold one or two entries, where `Vec`'s default growth would reserve four.
fn push_small<T>(v: &mut Vec<T>, x: T) {
    if v.len() == v.capacity() && v.len() < 4 {
        v.reserve_exact(1);
    }
    v.push(x);
}

/// The method as a static name (RFC 3261 and its extensions), so the per-dialog marks
/// allocate nothing; anything else is "other".
fn method_name(m: &str) -> &'static str {
    crate::sip::Method::from_bytes(m.as_bytes())
        .static_name()
        .unwrap_or("other")
}

impl DialogNat {
    /// Records one SIP message of the dialog. Returns the number of facts dropped for
    /// lack of room (to be counted in the engine's stats).
    pub fn observe(
        &mut self,
        msg: &MessageView<'_>,
        cx: &MessageCtx<'_>,
        symbols: &Symbols,
    ) -> u64 {
        let before = self.dropped;
        let (is_request, status, method) = match &msg.start {
            StartLine::Request { method, .. } => (true, 0u16, method.as_str()),
            StartLine::Response { status, .. } => (false, status.0, ""),
        };
        let cseq = msg.cseq();
        let cseq_num = cseq.as_ref().map(|c| c.seq);
        let cseq_method = cseq.as_ref().map(|c| c.method.as_str()).unwrap_or("");
        if cx.repeat {
            // Only 2xx retransmissions matter here: the UAS resends until an ACK comes.
            if !cx.duplicate
                && !is_request
                && (200..300).contains(&status)
                && cseq_method == "INVITE"
            {
                if let Some(ok) = self
                    .oks
                    .iter_mut()
                    .find(|o| Some(o.cseq) == cseq_num && o.src == cx.src)
                {
                    ok.retransmissions += 1;
                    ok.last_ts = cx.ts;
                }
            }
            return 0;
        }
        let role = role_of(msg, cx, is_request);
        let idx = self.party_index(role, cx);
        if msg.header(HeaderName::RecordRoute).is_some() {
            self.record_route = true;
        }
        // From the view's index: Path (RFC 3327) has no compact form, so its kind is
        // exactly a case-insensitive "Path" (a scan of every header name before).
        if msg.header_count(HeaderName::Path) > 0 {
            self.path = true;
        }
        self.note_filled_vias(msg, cx.frame);
        if let Some(p) = idx.and_then(|i| self.parties.get_mut(i)) {
            p.messages = p.messages.saturating_add(1);
            if is_request && p.via.is_none() {
                p.via = top_via(msg, cx).map(Box::new);
            }
            // A response's Contact is its sender's only in 1xx/2xx that set up a dialog;
            // a REGISTER 2xx lists the bindings and a 3xx the redirect targets.
            let own_contact =
                is_request || ((101..300).contains(&status) && cseq_method != "REGISTER");
            if p.contact.is_none() && own_contact {
                p.contact = contact_of(msg, cx.frame);
            }
            if let Some(lines) = cx.sdp {
                if p.sdp_frame.is_none() {
                    p.sdp_frame = Some(cx.frame);
                }
                p.sdp_not_sendrecv = false;
                for m in lines {
                    let dir = symbols.name(m.direction);
                    if matches!(dir, "sendonly" | "recvonly" | "inactive") {
                        p.sdp_not_sendrecv = true;
                    }
                    if let Some(a) = m.addr {
                        if !p.sdp.contains(&a) {
                            if p.sdp.len() < MAX_SDP_ADDRS {
                                p.sdp.push(a);
                            } else {
                                self.dropped += 1;
                            }
                        }
                    }
                }
            }
            if is_request && method == "REGISTER" {
                let requested = msg
                    .top_contact()
                    .and_then(|c| c.expires())
                    .map(|e| e.min(u32::MAX as u64) as u32)
                    .or_else(|| msg.expires().and_then(|e| e.ok()));
                let r = p.register.get_or_insert_with(|| {
                    Box::new(RegisterFacts {
                        frame: cx.frame,
                        first_ts: cx.ts,
                        ..RegisterFacts::default()
                    })
                });
                r.count = r.count.saturating_add(1);
                r.last_ts = cx.ts;
                if let Some(g) = r.granted_ts.take() {
                    let gap = cx.ts.since(g);
                    r.max_refresh_gap_ns = Some(r.max_refresh_gap_ns.unwrap_or(0).max(gap));
                }
                if requested.is_some() {
                    r.requested = requested;
                }
            }
        }
        if !is_request && (200..300).contains(&status) && cseq_method == "REGISTER" {
            // The registrar's answer lists the bindings with the expiry it granted.
            let granted = msg
                .contacts()
                .iter()
                .find_map(|c| c.expires())
                .map(|e| e.min(u32::MAX as u64) as u32)
                .or_else(|| msg.expires().and_then(|e| e.ok()));
            if let Some(r) = self
                .parties
                .iter_mut()
                .find(|p| p.role == Role::Caller && p.source == cx.dst)
                .and_then(|p| p.register.as_mut())
            {
                if granted.is_some() {
                    r.granted = granted;
                }
                r.granted_frame = Some(cx.frame);
                r.granted_ts = Some(cx.ts);
            }
        }
        let mark = || Mark {
            frame: cx.frame,
            ts: cx.ts,
            src: cx.src.into(),
            dst: cx.dst.into(),
            status,
            method: method_name(if is_request { method } else { cseq_method }),
        };
        if is_request {
            match method {
                "ACK" => {
                    for ok in self.oks.iter_mut().filter(|o| Some(o.cseq) == cseq_num) {
                        if ok.src == cx.dst || cx.dst.ip() == ok.src.ip() {
                            ok.acked = true;
                        }
                    }
                    push_bounded(&mut self.acks, mark(), &mut self.dropped);
                }
                "BYE" => push_bounded(&mut self.byes, mark(), &mut self.dropped),
                _ => {}
            }
        } else if (200..300).contains(&status) && cseq_method == "INVITE" {
            let known = self.oks.iter().any(|o| Some(o.cseq) == cseq_num);
            if !known {
                if self.oks.len() < MAX_OK_TRACKS {
                    push_small(
                        &mut self.oks,
                        OkTrack {
                            cseq: cseq_num.unwrap_or(0),
                            src: cx.src.into(),
                            dst: cx.dst.into(),
                            frame: cx.frame,
                            ts: cx.ts,
                            retransmissions: 0,
                            last_ts: cx.ts,
                            acked: false,
                        },
                    );
                } else {
                    self.dropped += 1;
                }
            }
        } else if matches!(status, 408 | 481) {
            // In-dialog only: after a 2xx to INVITE, to a request other than CANCEL and
            // other than that INVITE (a 408 to an unanswered INVITE is a plain timeout).
            let first_ok = self.oks.iter().map(|o| o.cseq).min();
            let in_dialog = first_ok.is_some_and(|ok| {
                let initial_invite = cseq_method == "INVITE" && cseq_num.is_none_or(|n| n <= ok);
                !(matches!(cseq_method, "CANCEL" | "ACK") || initial_invite)
            });
            if in_dialog {
                push_bounded(&mut self.timeouts, mark(), &mut self.dropped);
            }
        }
        self.dropped - before
    }

    fn party_index(&mut self, role: Role, cx: &MessageCtx<'_>) -> Option<usize> {
        if let Some(i) = self
            .parties
            .iter()
            .position(|p| p.role == role && p.source == cx.src)
        {
            return Some(i);
        }
        if self.parties.len() >= MAX_PARTIES {
            self.dropped += 1;
            return None;
        }
        if self.parties.is_empty() {
            // Caller and callee: most dialogs have exactly two.
            self.parties.reserve_exact(2);
        }
        self.parties.push(Party {
            role,
            source: cx.src.into(),
            transport: cx.transport,
            first_frame: cx.frame,
            first_ts: cx.ts,
            messages: 0,
            via: None,
            contact: None,
            sdp: List::default(),
            sdp_frame: None,
            sdp_not_sendrecv: false,
            register: None,
        });
        Some(self.parties.len() - 1)
    }

    /// `received`/`rport` filled in by a later hop, found in a response coming back or
    /// in the same request forwarded by a proxy (lower Vias), matched by sent-by.
    fn note_filled_vias(&mut self, msg: &MessageView<'_>, frame: u64) {
        // Runs on every message: nothing to learn once every party's Via is filled, and
        // only a Via carrying received= or rport= can fill one (no full parse otherwise).
        let open = |p: &Party| p.via.as_ref().is_some_and(|v| v.filled_frame.is_none());
        if !self.parties.iter().any(open) {
            return;
        }
        for (_, v) in msg
            .vias_with_text()
            .take(MAX_VIAS_READ)
            // The parsed fields first (already in the view, two loads): the text scans
            // only run for the rare Via that does carry received= or a valued rport.
            .filter(|(t, v)| {
                (v.received.is_some() || v.rport.flatten().is_some())
                    && (contains_ci(t, b"received") || contains_ci(t, b"rport="))
            })
        {
            let filled_rport = v.rport.flatten();
            let port = v
                .port
                .unwrap_or(default_port(v.transport.eq_ignore_ascii_case(b"TLS")));
            for p in self.parties.iter_mut() {
                let Some(pv) = p.via.as_mut() else { continue };
                if pv.filled_frame.is_some()
                    || pv.port != port
                    || !pv
                        .host
                        .as_bytes()
                        .eq_ignore_ascii_case(&v.host[..v.host.len().min(MAX_HOST_TEXT)])
                {
                    continue;
                }
                pv.received = v.received.and_then(host_ip);
                pv.rport_filled = filled_rport;
                pv.filled_frame = Some(frame);
            }
        }
    }
}

/// Caller side when a request carries the dialog's From tag, or a response does not
/// (RFC 3261 §12: the From tag names the side that sent the request).
fn role_of(msg: &MessageView<'_>, cx: &MessageCtx<'_>, is_request: bool) -> Role {
    let from_tag = msg.from().and_then(|f| f.tag());
    let same_tag = match (cx.dialog_from_tag, from_tag) {
        (Some(a), Some(b)) => Some(a.as_bytes() == b),
        _ => None,
    };
    // Some UAs change the From tag on every REGISTER of one Call-ID: the dialog's first
    // source speaks for the caller side whatever its tag.
    let caller = if is_request {
        same_tag == Some(true) || cx.src == cx.dialog_src
    } else {
        !(same_tag == Some(true) || cx.dst == cx.dialog_src)
    };
    if caller {
        Role::Caller
    } else {
        Role::Callee
    }
}

fn top_via(msg: &MessageView<'_>, cx: &MessageCtx<'_>) -> Option<ViaFacts> {
    let v = msg.top_via()?;
    let tls = v.transport.eq_ignore_ascii_case(b"TLS");
    let port = v.port.unwrap_or(default_port(tls));
    let ip = host_ip(v.host);
    let mismatch = match ip {
        // Over TCP/TLS (and WebSocket) the source port is ephemeral and sent-by names the
        // listening port (RFC 3261 §18.2.2): only the IP tells.
        Some(ip) => ip != cx.src.ip() || (cx.transport == Transport::Udp && port != cx.src.port()),
        // A host name says nothing about where the packets come from: in particular the
        // random `*.invalid` host WebSocket clients write (RFC 7118 §5.2) is no mismatch
        // (tests/websocket.rs); their SDP address still is compared.
        None => false,
    };
    Some(ViaFacts {
        host: host_text(v.host),
        port,
        ip,
        rport_requested: v.rport.is_some(),
        frame: cx.frame,
        received: None,
        rport_filled: None,
        filled_frame: None,
        mismatch,
    })
}

fn contact_of(msg: &MessageView<'_>, frame: u64) -> Option<ContactFacts> {
    let c = msg.top_contact()?;
    if !matches!(c.uri.scheme, Scheme::Sip | Scheme::Sips) || c.uri.host.is_empty() {
        return None;
    }
    let tls = c.uri.scheme == Scheme::Sips
        || c.uri
            .transport()
            .is_some_and(|t| t.eq_ignore_ascii_case(b"tls"));
    Some(ContactFacts {
        host: host_text(c.uri.host),
        port: c.uri.port.unwrap_or(default_port(tls)),
        ip: host_ip(c.uri.host),
        frame,
    })
}

/// Bounds of the NAT tables that grow with the traffic (part of the engine's `Limits`,
/// scaled by `--max-memory`). The per-dialog caps ([`MAX_PARTIES`] and the like) are
/// bounded by the dialog table and stay fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatLimits {
    /// Keepalive sources recorded ([`KeepaliveTable`]); default [`MAX_KEEPALIVE_SOURCES`].
    pub max_keepalive_sources: usize,
}

impl Default for NatLimits {
    fn default() -> Self {
        NatLimits {
            max_keepalive_sources: MAX_KEEPALIVE_SOURCES,
        }
    }
}

/// Sources that kept a NAT binding open: CRLF keepalives and STUN (RFC 5626 §4.4), and
/// OPTIONS pings to or from them. Bounded by [`NatLimits::max_keepalive_sources`].
#[derive(Debug, Clone)]
pub struct KeepaliveTable {
    seen: FxHashMap<SocketAddr, (u32, Timestamp)>,
    max: usize,
    /// Sources not recorded because the table was full.
    pub overflow: u64,
}

impl Default for KeepaliveTable {
    fn default() -> Self {
        KeepaliveTable::new(MAX_KEEPALIVE_SOURCES)
    }
}

impl KeepaliveTable {
    /// A table recording at most `max` sources (at least 1).
    pub fn new(max: usize) -> Self {
        KeepaliveTable {
            seen: FxHashMap::default(),
            max: max.max(1),
            overflow: 0,
        }
    }

    /// Notes one keepalive from or to `addr`.
    pub fn note(&mut self, addr: SocketAddr, ts: Timestamp) {
        if let Some(e) = self.seen.get_mut(&addr) {
            e.0 = e.0.saturating_add(1);
            e.1 = ts;
        } else if self.seen.len() < self.max {
            self.seen.insert(addr, (1, ts));
        } else {
            self.overflow += 1;
        }
    }

    /// Keepalives seen for `addr`.
    pub fn count(&self, addr: SocketAddr) -> u32 {
        self.seen.get(&addr).map(|e| e.0).unwrap_or(0)
    }
}

/// The class of a socket address's IP.
pub fn class_of(addr: SocketAddr) -> AddrClass {
    classify(addr.ip())
}

/// Plain advice lines for a NAT view, from the issues its parties show.
pub fn advice(v: &NatView) -> Vec<&'static str> {
    let has = |code: &str| v.parties.iter().any(|p| p.issues.contains(&code));
    let mut out = Vec::new();
    if has("rport-missing") {
        out.push(
            "enable rport on the UA (RFC 3581) or force_rport on the proxy, so responses go \
             back to the NAT's port",
        );
    }
    if has("contact-private") {
        out.push(
            "fix_nated_contact / set_contact_alias on the proxy (Asterisk: \
             rewrite_contact=yes), with Record-Route, so in-dialog requests reach the UA",
        );
    }
    if has("sdp-private") {
        out.push(
            "fix_nated_sdp on the proxy, symmetric RTP (comedia) on the far end, or an SBC / \
             media relay (rtpengine) that anchors the media",
        );
    }
    if v.parties.iter().any(|p| {
        p.register.is_some()
            && p.behind_nat
            && p.register.as_ref().is_some_and(|r| r.keepalives == 0)
    }) {
        out.push(
            "keep the NAT binding open: keepalives every 15-30 s (CRLF/STUN, RFC 5626, or \
             OPTIONS pings from the registrar), or a registration expiry under 120 s",
        );
    }
    if v.media_failed {
        out.push("open the RTP port range on firewalls and check where each side sends RTP");
    }
    if out.is_empty() && v.parties.iter().any(|p| p.behind_nat) {
        out.push("a party is behind NAT: make sure the proxy uses rport/received and keepalives");
    }
    out
}

/// Most flows gathered per dialog from other dialogs' streams (see [`FlowIndex`]).
pub const MAX_FOREIGN_FLOWS: usize = 32;

/// Every RTP stream by endpoint, so that a dialog sees the media sent to or from the
/// addresses its parties advertised even when the stream was bound to another Call-ID
/// (a B2BUA's two legs share the phones' addresses; the binding keeps the latest SDP).
#[derive(Debug, Clone, Default)]
pub struct FlowIndex {
    bound: FxHashMap<u64, Vec<(u64, MediaFlow)>>,
    by_addr: FxHashMap<SocketAddr, Vec<(u64, MediaFlow)>>,
}

impl FlowIndex {
    /// Adds one stream: its creation order, the dialog it is bound to, the flow.
    pub fn add(&mut self, order: u64, dialog: Option<u64>, f: MediaFlow) {
        if let Some(d) = dialog {
            self.bound.entry(d).or_default().push((order, f));
        }
        self.by_addr.entry(f.src).or_default().push((order, f));
        if f.dst != f.src {
            self.by_addr.entry(f.dst).or_default().push((order, f));
        }
    }

    /// The flows of dialog `id`: those bound to it, then (at most
    /// [`MAX_FOREIGN_FLOWS`]) those touching an SDP address of its parties, in stream order.
    pub fn flows(&self, id: u64, nat: &DialogNat) -> Vec<MediaFlow> {
        // Every flow is listed by its source address: none there, none at all (a capture
        // of signaling only, where every dialog is concluded without media).
        if self.by_addr.is_empty() {
            return Vec::new();
        }
        let mut v: Vec<(u64, MediaFlow)> = self.bound.get(&id).cloned().unwrap_or_default();
        let mut extra = 0usize;
        for a in nat.parties.iter().flat_map(|p| p.sdp.iter()) {
            for (o, f) in self.by_addr.get(&a.get()).into_iter().flatten() {
                if extra < MAX_FOREIGN_FLOWS && !v.iter().any(|(x, _)| x == o) {
                    v.push((*o, *f));
                    extra += 1;
                }
            }
        }
        v.sort_by_key(|(o, _)| *o);
        v.into_iter().map(|(_, f)| f).collect()
    }
}
