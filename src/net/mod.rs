//! Network decode: link layer, IP (with fragment reassembly), UDP and TCP (with stream
//! reassembly and SIP framing). Output is a stream of [`Segment`]s.

use std::borrow::Cow;
use std::net::SocketAddr;

use crate::capture::Timestamp;

/// Transport protocol a segment arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// UDP datagram (one segment per datagram, after IP reassembly).
    Udp,
    /// One SIP message framed out of a reassembled TCP stream.
    Tcp,
}

impl Transport {
    /// Upper-case name as used in Via headers and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// One transport payload ready for the application layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Frame number (1-based) of the frame that completed this payload: the last fragment
    /// of a datagram or the last TCP segment of a message, as Wireshark reports it.
    pub frame: u64,
    /// Timestamp of that frame.
    pub ts: Timestamp,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Transport protocol.
    pub transport: Transport,
    /// The payload: borrowed from the frame for plain UDP, owned after reassembly.
    pub payload: Cow<'a, [u8]>,
}
