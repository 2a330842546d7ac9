//! IPv4 and IPv6 header decoding, down to the transport payload or a fragment.
//!
//! Hand-written: etherparse rejects some headers captures really contain (IPv4 total length 0
//! from TCP segmentation offload) and hides the IPv6 fragment header fields we key on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv6 extension headers followed before the transport header; more is treated as malformed.
const MAX_EXT_HEADERS: usize = 16;

/// IP protocol numbers used here (IANA "Assigned Internet Protocol Numbers").
pub(crate) mod proto {
    /// IPv6 hop-by-hop options (RFC 8200 §4.3).
    pub const HOP_BY_HOP: u8 = 0;
    /// ICMP for IPv4 (RFC 792).
    pub const ICMP: u8 = 1;
    /// ICMP for IPv6 (RFC 4443).
    pub const ICMPV6: u8 = 58;
    /// IPv4 encapsulated in IP (RFC 2003).
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 encapsulated in IP (RFC 2473 / RFC 4213).
    pub const IPV6: u8 = 41;
    /// Generic Routing Encapsulation (RFC 2784).
    pub const GRE: u8 = 47;
    /// IPv6 routing header (RFC 8200 §4.4).
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header (RFC 8200 §4.5).
    pub const FRAGMENT: u8 = 44;
    /// Authentication header (RFC 4302 §2.2): length in 4-byte units minus 2.
    pub const AUTH: u8 = 51;
    /// IPv6 destination options (RFC 8200 §4.6).
    pub const DEST_OPTS: u8 = 60;
    /// Stream Control Transmission Protocol (RFC 9260).
    pub const SCTP: u8 = 132;
    /// Mobility header (RFC 6275), shaped like the other extension headers.
    pub const MOBILITY: u8 = 135;
}

/// Fragment fields of a packet that is one piece of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FragInfo {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Offset of this piece in the datagram, in bytes.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
}

/// A decoded IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Protocol of `payload` (for a fragment: of the reassembled datagram).
    pub proto: u8,
    /// Payload after the IP headers (for a fragment: the fragment data).
    pub payload: &'a [u8],
    /// Offset of `payload` in the parsed data.
    pub start: usize,
    /// Fragment fields, if this packet is a fragment.
    pub frag: Option<FragInfo>,
    /// The capture holds fewer bytes than the header announces (snaplen cut).
    pub truncated: bool,
}

/// Outcome of decoding the IP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    /// An IPv4 packet.
    V4(IpPacket<'a>),
    /// An IPv6 packet.
    V6(IpPacket<'a>),
    /// The first nibble is neither 4 nor 6.
    NotIp,
    /// Header cut short or inconsistent.
    Malformed,
}

/// Decodes an IPv4 or IPv6 packet, choosing by the version nibble.
pub(crate) fn parse(data: &[u8]) -> Parsed<'_> {
    match data.first().map(|b| b >> 4) {
        Some(4) => ipv4(data),
        Some(6) => ipv6(data),
        _ => Parsed::NotIp,
    }
}

fn ipv4(data: &[u8]) -> Parsed<'_> {
    // A fixed-size array: the constant indexes below are checked at compile time.
    let Some(h) = data.get(..20).and_then(|h| <&[u8; 20]>::try_from(h).ok()) else {
        return Parsed::Malformed;
    };
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if ihl < 20 || data.len() < ihl {
        return Parsed::Malformed;
    }
    // Total length 0 is what TCP segmentation offload leaves in captures taken on the sender:
    // trust the captured length then, as Wireshark does.
    let end = if total_len == 0 {
        data.len()
    } else {
        total_len
    };
    if end < ihl {
        return Parsed::Malformed;
    }
    let truncated = end > data.len();
    // Frames may carry link padding after the datagram: cut at the announced length.
    let payload = data.get(ihl..end.min(data.len())).unwrap_or_default();
    let flags_frag = u16::from_be_bytes([h[6], h[7]]);
    let more = flags_frag & 0x2000 != 0;
    let offset = usize::from(flags_frag & 0x1fff) * 8;
    let frag = (more || offset != 0).then_some(FragInfo {
        id: u32::from(u16::from_be_bytes([h[4], h[5]])),
        offset,
        more,
    });
    Parsed::V4(IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        proto: h[9],
        payload,
        start: ihl,
        frag,
        truncated,
    })
}

fn addr16(b: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

fn ipv6(data: &[u8]) -> Parsed<'_> {
    let Some(h) = data.get(..40).and_then(|h| <&[u8; 40]>::try_from(h).ok()) else {
        return Parsed::Malformed;
    };
    let (Some(src), Some(dst)) = (
        addr16(h.get(8..).unwrap_or_default()),
        addr16(h.get(24..).unwrap_or_default()),
    ) else {
        return Parsed::Malformed;
    };
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let rest = data.get(40..).unwrap_or_default();
    // Payload length 0 means a jumbogram (RFC 2675) or offload: use what was captured.
    let end = if payload_len == 0 {
        rest.len()
    } else {
        payload_len
    };
    let truncated = end > rest.len();
    let body = rest.get(..end.min(rest.len())).unwrap_or_default();
    match walk_extensions(h[6], body) {
        Ok(Walk {
            proto,
            payload,
            frag,
        }) => Parsed::V6(IpPacket {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            proto,
            payload,
            // The chain's payload is a suffix of `body`, which starts at 40.
            start: 40 + body.len().saturating_sub(payload.len()),
            frag,
            truncated,
        }),
        Err(()) => Parsed::Malformed,
    }
}

/// Where an IPv6 extension header chain ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walk<'a> {
    /// Upper-layer protocol (or the fragment's next header).
    pub proto: u8,
    /// Bytes after the last header followed.
    pub payload: &'a [u8],
    /// Fragment fields when the chain hit a fragment header.
    pub frag: Option<FragInfo>,
}

/// Follows IPv6 extension headers (RFC 8200 §4) starting with `next`. Stops at a fragment
/// header (RFC 8200 §4.5: what follows is the fragmentable part, decoded after reassembly),
/// unless it is an atomic fragment (offset 0, M clear, RFC 6946), which is skipped.
pub(crate) fn walk_extensions(mut next: u8, mut data: &[u8]) -> Result<Walk<'_>, ()> {
    for _ in 0..MAX_EXT_HEADERS {
        match next {
            proto::HOP_BY_HOP | proto::ROUTING | proto::DEST_OPTS | proto::MOBILITY => {
                let (Some(&nh), Some(&len)) = (data.first(), data.get(1)) else {
                    return Err(());
                };
                let size = (usize::from(len) + 1) * 8;
                data = data.get(size..).ok_or(())?;
                next = nh;
            }
            proto::AUTH => {
                let (Some(&nh), Some(&len)) = (data.first(), data.get(1)) else {
                    return Err(());
                };
                let size = (usize::from(len) + 2) * 4;
                data = data.get(size..).ok_or(())?;
                next = nh;
            }
            proto::FRAGMENT => {
                let h = data
                    .get(..8)
                    .and_then(|h| <&[u8; 8]>::try_from(h).ok())
                    .ok_or(())?;
                let nh = h[0];
                let off_m = u16::from_be_bytes([h[2], h[3]]);
                let offset = usize::from(off_m >> 3) * 8;
                let more = off_m & 1 != 0;
                let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                data = data.get(8..).ok_or(())?;
                if offset == 0 && !more {
                    next = nh;
                    continue;
                }
                return Ok(Walk {
                    proto: nh,
                    payload: data,
                    frag: Some(FragInfo { id, offset, more }),
                });
            }
            _ => {
                return Ok(Walk {
                    proto: next,
                    payload: data,
                    frag: None,
                })
            }
        }
    }
    Err(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_fragment_fields_and_padding() {
        let mut p = vec![
            0x45, 0, 0, 24, 0x12, 0x34, 0x20, 0x02, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend_from_slice(&[1, 2, 3, 4, 0xee, 0xee]);
        let Parsed::V4(pkt) = parse(&p) else {
            panic!("not v4")
        };
        assert_eq!(pkt.payload, &[1, 2, 3, 4]);
        assert_eq!(
            pkt.frag,
            Some(FragInfo {
                id: 0x1234,
                offset: 16,
                more: true
            })
        );
        assert!(!pkt.truncated);
    }

    #[test]
    fn ipv4_malformed() {
        assert_eq!(parse(&[0x45, 0, 0]), Parsed::Malformed);
        let mut p = vec![0x44; 20];
        p[0] = 0x44;
        assert_eq!(parse(&p), Parsed::Malformed);
        assert_eq!(parse(&[0x15]), Parsed::NotIp);
        assert_eq!(parse(&[]), Parsed::NotIp);
    }

    #[test]
    fn ipv6_extension_chain() {
        // hop-by-hop (8) -> routing (8) -> dest opts (8) -> UDP
        let ext = [
            43, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 9,
        ];
        let w = walk_extensions(0, &ext).unwrap();
        assert_eq!(w.proto, 17);
        assert_eq!(w.payload, &[9]);
        assert!(walk_extensions(0, &ext[..5]).is_err());
        // atomic fragment is skipped
        let frag = [17, 0, 0, 0, 0, 0, 0, 7, 9];
        let w = walk_extensions(44, &frag).unwrap();
        assert_eq!((w.proto, w.frag), (17, None));
        let frag = [17, 0, 0, 9, 0, 0, 0, 7, 9];
        let w = walk_extensions(44, &frag).unwrap();
        assert_eq!(
            w.frag,
            Some(FragInfo {
                id: 7,
                offset: 8,
                more: true
            })
        );
    }
}
