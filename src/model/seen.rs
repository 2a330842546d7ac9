//! The context of one observed packet, as rule records keep it.

use std::net::SocketAddr;

use crate::capture::Timestamp;
use crate::net::Transport;

/// Where and how a message was seen: the context every security record keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    /// Frame number (1-based).
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Transport of the hop.
    pub transport: Transport,
}
