//! DTMF digits a call carried (RFC 4733 telephone-events in RTP, SIP INFO, KPML): the
//! engine records one [`DtmfEvent`] per digit in its dialog; the `media.dtmf-exposed`
//! rule and the reports read them.

use crate::capture::Timestamp;
use crate::net::Transport;

use super::Addr;

/// How a digit was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfVia {
    /// An RFC 4733 telephone-event in the RTP stream (payload type from the SDP rtpmap
    /// `telephone-event`).
    Rfc4733,
    /// A SIP INFO request (`application/dtmf-relay` or `application/dtmf`).
    Info,
    /// A KPML report (RFC 4730 §6.2) in a NOTIFY.
    Kpml,
}

impl DtmfVia {
    /// The name used in the reports: `rfc4733`, `info`, `kpml`.
    pub fn as_str(self) -> &'static str {
        match self {
            DtmfVia::Rfc4733 => "rfc4733",
            DtmfVia::Info => "info",
            DtmfVia::Kpml => "kpml",
        }
    }
}

/// One digit: what, when, for how long, by which means, and where it was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct DtmfEvent {
    /// The digit as ASCII: `0`-`9`, `*`, `#`, `A`-`D` (a secret: PINs, card numbers).
    pub digit: u8,
    /// Time of the first packet of the event (the RTP event's first packet, the INFO or
    /// NOTIFY request).
    pub ts: Timestamp,
    /// Duration in milliseconds: the RTP event's duration field over the clock rate
    /// (RFC 4733 §2.5.1.3; the end packet's when it was seen, else the longest so far), or
    /// the INFO `Duration=`; `None` when the message gives none (KPML, `application/dtmf`).
    pub duration_ms: Option<u32>,
    /// How it was sent.
    pub via: DtmfVia,
    /// Frame of the first packet or of the request.
    pub frame: u64,
    /// Sender.
    pub src: Addr,
    /// Receiver.
    pub dst: Addr,
    /// Transport of the packet: UDP for RTP (only cleartext RTP is decoded: an SRTP
    /// payload is encrypted), the SIP transport otherwise (TLS and WSS were read with keys
    /// and were not exposed on the wire).
    pub transport: Transport,
    /// The RFC 4733 end packet (E bit) was seen; true for signaling.
    pub ended: bool,
}
