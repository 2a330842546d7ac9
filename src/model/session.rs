//! SDP bodies and offer/answer exchanges as the engine keeps them (RFC 3264), owned and
//! interned: the NAT analysis, the rules and the outputs read them.

use serde::Serialize;

use super::addr::Addr;
use super::ice::IceCandidate;
use super::list::List;
use super::symbols::Sym;

/// One m= line of an SDP body, summarised. Names are interned: a busy server repeats
/// the same few codecs and profiles in every call; the addresses are packed ([`Addr`]):
/// 104 bytes, where two `SocketAddr`s made it 128 (a call keeps one per SDP body).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaLine {
    /// Media type: audio, video, image, application...
    pub media: Sym,
    /// Address and port where this party wants to receive (None when port 0 or no c=).
    pub addr: Option<Addr>,
    /// Where RTCP is expected (port+1, a=rtcp, or the RTP address with rtcp-mux).
    pub rtcp: Option<Addr>,
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
    /// ICE candidates (RFC 8839 `a=candidate`), at most [`MAX_CANDIDATES`](super::ice::MAX_CANDIDATES).
    pub candidates: Vec<IceCandidate>,
}

/// An SDP body seen in a dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct SdpRecord {
    /// Frame that carried it.
    pub frame: u64,
    /// True when sent by the party that started the dialog.
    pub from_caller: bool,
    /// Its media lines (in place when one, as most bodies have: a call keeps two bodies,
    /// and a list each was an allocation each).
    pub media: List<MediaLine>,
}

/// An SDP offer and its answer (RFC 3264).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaSession {
    /// Index into the dialog's SDP list of the offer.
    pub offer: usize,
    /// Index of the answer, when one was seen.
    pub answer: Option<usize>,
    /// CSeq number of the transaction that carried the offer: copies of the offer or
    /// answer relayed on another hop (a proxy between both parties) share it.
    #[serde(skip)]
    pub cseq: Option<u32>,
}
