//! The context of one observed packet, as rule records keep it.

use crate::capture::Timestamp;
use crate::net::Transport;

use super::Addr;

/// Where and how a message was seen: the context every security record keeps (56 bytes,
/// the addresses packed: a call keeps one per SDP body in its security record).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    /// Frame number (1-based).
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Sender.
    pub src: Addr,
    /// Receiver.
    pub dst: Addr,
    /// Transport of the hop.
    pub transport: Transport,
}
