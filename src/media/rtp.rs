//! RTP fixed header (RFC 3550 §5.1) and header extension (§5.3.1).

use crate::media::be::{be16, be32};

/// A parsed RTP header. Plain data (`Copy`), so classification can return it by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Version (always 2 here: [`parse`] rejects others).
    pub version: u8,
    /// P bit: padding present at the end of the packet.
    pub padding: bool,
    /// X bit: a header extension follows the CSRC list.
    pub extension: bool,
    /// CC: number of CSRC identifiers (0..=15).
    pub csrc_count: u8,
    /// M bit.
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    /// Header extension profile (`0xBEDE` for RFC 8285 one-byte headers), when X is set.
    pub extension_profile: Option<u16>,
    /// Header extension length in 32-bit words (excluding its 4-byte header).
    pub extension_words: u16,
    /// Offset of the payload from the start of the packet.
    pub payload_offset: usize,
    /// Payload length, excluding padding when the padding count is plausible.
    pub payload_len: usize,
    /// Padding bytes (the last byte of the packet when P is set and the value fits; 0
    /// otherwise: with SRTP the last byte is part of the auth tag, so an implausible value
    /// is not an error).
    pub padding_len: u8,
    /// Total packet length in bytes.
    pub packet_len: usize,
}

impl RtpHeader {
    /// The CSRC identifiers, read from `packet` (the one this header was parsed from):
    /// the list is not copied into the header, which every RTP packet makes and moves
    /// (15 slots were 60 of its bytes, for a list that is nearly always empty).
    pub fn csrcs<'p>(&self, packet: &'p [u8]) -> impl Iterator<Item = u32> + 'p {
        let end = 12 + 4 * usize::from(self.csrc_count);
        packet
            .get(12..end)
            .unwrap_or_default()
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Parses the RTP header; `None` unless version is 2 and the fixed header, CSRC list and
/// extension all fit in `packet`.
pub fn parse(packet: &[u8]) -> Option<RtpHeader> {
    let b0 = *packet.first()?;
    let b1 = *packet.get(1)?;
    if b0 >> 6 != 2 || packet.len() < 12 {
        return None;
    }
    let csrc_count = b0 & 0x0f;
    let mut h = RtpHeader {
        version: 2,
        padding: b0 & 0x20 != 0,
        extension: b0 & 0x10 != 0,
        csrc_count,
        marker: b1 & 0x80 != 0,
        payload_type: b1 & 0x7f,
        sequence: be16(packet, 2)?,
        timestamp: be32(packet, 4)?,
        ssrc: be32(packet, 8)?,
        extension_profile: None,
        extension_words: 0,
        payload_offset: 0,
        payload_len: 0,
        padding_len: 0,
        packet_len: packet.len(),
    };
    let mut off = 12 + 4 * usize::from(csrc_count);
    if off > packet.len() {
        return None;
    }
    if h.extension {
        h.extension_profile = Some(be16(packet, off)?);
        h.extension_words = be16(packet, off + 2)?;
        off += 4 + 4 * usize::from(h.extension_words);
        if off > packet.len() {
            return None;
        }
    }
    h.payload_offset = off;
    let mut payload_len = packet.len() - off;
    if h.padding {
        let pad = packet.last().copied().unwrap_or(0);
        if pad != 0 && usize::from(pad) <= payload_len {
            h.padding_len = pad;
            payload_len -= usize::from(pad);
        }
    }
    h.payload_len = payload_len;
    Some(h)
}
