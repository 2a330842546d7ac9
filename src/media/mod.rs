//! Media plane: pure parsers for RTP, RTCP, STUN, DTLS hellos (DTLS-SRTP keying,
//! [`dtls`]) and DTMF (RFC 4733 events, SIP INFO and KPML bodies), a cheap classifier for non-SIP UDP datagrams, the RFC 3551 static
//! payload table, per-stream statistics (RFC 3550), call quality (ITU-T G.107), and
//! SRTP/SRTCP decryption with a known key (RFC 3711, [`srtp`]).
//!
//! Nothing here keeps global state or reads a clock: statistics take time from packet
//! timestamps only.

mod be;
pub mod codec;
pub mod dtls;
pub mod dtmf;
pub mod quality;
pub mod rtcp;
pub mod rtp;
pub mod srtp;
pub mod stats;
pub mod stun;

pub use codec::Codec;
pub use rtp::RtpHeader;
pub use stats::{analysis_clock_rate, StreamStats};

/// What a UDP datagram carries, as far as cheap header checks can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// RTP (RFC 3550 §5.1), with its parsed header.
    Rtp(RtpHeader),
    /// RTCP (RFC 3550 §6), first packet type 200..=207 with a consistent length.
    Rtcp,
    /// STUN (RFC 8489 §5) with the magic cookie.
    Stun,
    /// DTLS record (RFC 7983 §7: first byte 20..=63).
    Dtls,
    /// ZRTP (RFC 6189 §5: first byte 0x10, magic cookie `ZRTP`).
    Zrtp,
    /// None of the above.
    Unknown,
}

/// Classifies a UDP payload; cheap enough to run on every non-SIP datagram.
///
/// Order follows the RFC 7983 §7 demultiplexing tree (first byte: 0..=3 STUN, 16..=19 ZRTP,
/// 20..=63 DTLS, 128..=191 RTP/RTCP) with extra consistency checks, because a passive
/// analyzer sees arbitrary UDP traffic, not only one negotiated 5-tuple.
pub fn classify_udp(payload: &[u8]) -> MediaKind {
    let Some(&first) = payload.first() else {
        return MediaKind::Unknown;
    };
    match first {
        0..=3 if stun::looks_like_stun(payload) => MediaKind::Stun,
        16..=19 if payload.get(4..8) == Some(b"ZRTP") => MediaKind::Zrtp,
        20..=63 if looks_like_dtls(payload) => MediaKind::Dtls,
        128..=191 => {
            // RFC 5761 §4: with RTP/RTCP mux, PT 64..=95 (second byte & 0x7f) is RTCP's
            // 192..=223; we accept the RTCP types in use today (200..=207).
            let pt = payload.get(1).copied().unwrap_or(0);
            if (200..=207).contains(&pt) {
                if rtcp::looks_like_rtcp(payload) {
                    MediaKind::Rtcp
                } else {
                    MediaKind::Unknown
                }
            } else if (72..=76).contains(&(pt & 0x7f)) {
                // RFC 5761 §4: these RTP payload types collide with RTCP SR..APP.
                MediaKind::Unknown
            } else {
                rtp::parse(payload).map_or(MediaKind::Unknown, MediaKind::Rtp)
            }
        }
        _ => MediaKind::Unknown,
    }
}

/// DTLS record header: 13 bytes; DTLSPlaintext (content type 20..=25) carries version
/// 0xFEFF / 0xFEFD (RFC 6347 §4.1) and a record length that fits in the datagram.
/// DTLS 1.3 ciphertext records start 001xxxxx (RFC 9147 §4) and carry at least a 1-byte
/// sequence number and a 16-byte AEAD tag, which is all we can check without keys.
fn looks_like_dtls(p: &[u8]) -> bool {
    match p.first() {
        Some(20..=25) => {
            let (Some(&major), Some(&hi), Some(&lo)) = (p.get(1), p.get(11), p.get(12)) else {
                return false;
            };
            major == 0xFE && usize::from(u16::from_be_bytes([hi, lo])) + 13 <= p.len()
        }
        Some(32..=63) => p.len() >= 18,
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests;
