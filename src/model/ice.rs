//! ICE candidates as an SDP announces them (RFC 8839 `a=candidate`), owned and small:
//! the engine binds media to them and the STUN and NAT rules read them.

use std::net::{IpAddr, SocketAddr};

use crate::sdp;

/// ICE candidates kept per SDP media line.
pub const MAX_CANDIDATES: usize = 8;

/// ICE candidate type (RFC 8445 §5.1.1), owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateKind {
    /// A local interface address.
    Host,
    /// Server reflexive: the address a NAT mapped, learned from STUN.
    Srflx,
    /// Peer reflexive: learned from a connectivity check.
    Prflx,
    /// Relayed through a TURN server.
    Relay,
    /// Any other `typ` token.
    Other,
}

impl CandidateKind {
    /// The SDP token.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::Srflx => "srflx",
            CandidateKind::Prflx => "prflx",
            CandidateKind::Relay => "relay",
            CandidateKind::Other => "other",
        }
    }
}

/// One `a=candidate` line, owned and small (FQDN / mDNS candidates are not kept: they
/// name no address packets can be matched against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IceCandidate {
    /// Candidate type.
    pub kind: CandidateKind,
    /// Component (1 = RTP, 2 = RTCP).
    pub component: u16,
    /// True for UDP candidates.
    pub udp: bool,
    /// Transport address.
    pub addr: SocketAddr,
    /// Related address (`raddr`/`rport`: the host base of a srflx, RFC 8839 §5.1).
    pub related: Option<SocketAddr>,
}

/// The candidates of one media line, at most [`MAX_CANDIDATES`], RTP component first
/// in wire order (RTCP ones only while room is left).
pub fn candidates_of(m: &sdp::MediaDescription<'_>) -> Vec<IceCandidate> {
    let mut out: Vec<IceCandidate> = Vec::new();
    let all = || m.candidates().filter_map(owned_candidate);
    for c in all()
        .filter(|c| c.component == 1)
        .chain(all().filter(|c| c.component != 1))
    {
        if out.len() >= MAX_CANDIDATES {
            break;
        }
        out.push(c);
    }
    out
}

fn owned_candidate(c: &sdp::Candidate<'_>) -> Option<IceCandidate> {
    let kind = match c.typ {
        sdp::CandidateType::Host => CandidateKind::Host,
        sdp::CandidateType::Srflx => CandidateKind::Srflx,
        sdp::CandidateType::Prflx => CandidateKind::Prflx,
        sdp::CandidateType::Relay => CandidateKind::Relay,
        sdp::CandidateType::Other(_) => CandidateKind::Other,
    };
    let related = match (c.raddr.and_then(|a| a.parse::<IpAddr>().ok()), c.rport) {
        (Some(ip), Some(p)) => Some(SocketAddr::new(ip, p)),
        _ => None,
    };
    Some(IceCandidate {
        kind,
        component: c.component,
        udp: c.transport.eq_ignore_ascii_case("udp"),
        addr: SocketAddr::new(c.ip()?, c.port),
        related,
    })
}
