//! Tunnel headers followed to the packet inside: GRE (RFC 2784, key and sequence RFC 2890,
//! PPTP's enhanced GRE RFC 2637 §4.1 with PPP inside, ERSPAN types II and III) and VXLAN
//! (RFC 7348), GTP-U (3GPP TS 29.281, the user plane of GPRS, UMTS, LTE and 5G, where an
//! IMS phone's SIP travels). Pure functions over borrowed bytes: each returns where the inner packet starts
//! and what it is.

/// What a tunnel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inner {
    /// An IP packet starting at this offset.
    Ip(usize),
    /// An Ethernet frame starting at this offset.
    Ethernet(usize),
    /// Something else (or a header we do not follow).
    Other,
    /// The tunnel header is cut short.
    Truncated,
}

/// The IANA UDP port of VXLAN (RFC 7348 §5).
pub(crate) const VXLAN_PORT: u16 = 4789;

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// A GRE packet (IP protocol 47).
pub(crate) fn gre(d: &[u8]) -> Inner {
    let (Some(flags), Some(proto)) = (be16(d, 0), be16(d, 2)) else {
        return Inner::Truncated;
    };
    let version = flags & 0x7;
    // Routing present (RFC 1701's R bit) means a variable source route: not followed.
    if flags & 0x4000 != 0 || version > 1 {
        return Inner::Other;
    }
    let mut off = 4;
    for (bit, len) in [(0x8000u16, 4usize), (0x2000, 4), (0x1000, 4)] {
        if flags & bit != 0 {
            off += len;
        }
    }
    // Enhanced GRE (PPTP): acknowledgment number present (RFC 2637 §4.1).
    if version == 1 && flags & 0x0080 != 0 {
        off += 4;
    }
    if d.len() < off {
        return Inner::Truncated;
    }
    match proto {
        0x0800 | 0x86dd => Inner::Ip(off),
        0x6558 => Inner::Ethernet(off),
        // ERSPAN type II: 8-byte header (draft-foschiano-erspan §4.1).
        0x88be => erspan(d, off, 8),
        // ERSPAN type III: 12 bytes, plus an 8-byte platform subheader when O is set.
        0x22eb => match d.get(off + 11) {
            Some(b) if b & 0x01 != 0 => erspan(d, off, 20),
            Some(_) => erspan(d, off, 12),
            None => Inner::Truncated,
        },
        0x880b => ppp(d, off),
        _ => Inner::Other,
    }
}

fn erspan(d: &[u8], off: usize, len: usize) -> Inner {
    if d.len() < off + len {
        Inner::Truncated
    } else {
        Inner::Ethernet(off + len)
    }
}

/// PPP in HDLC-like framing (RFC 1662 §3.1: optional FF 03) with a 1- or 2-byte protocol
/// field (RFC 1661 §2: protocol-field compression makes it one odd byte).
fn ppp(d: &[u8], mut off: usize) -> Inner {
    if d.get(off) == Some(&0xff) && d.get(off + 1) == Some(&0x03) {
        off += 2;
    }
    let Some(&first) = d.get(off) else {
        return Inner::Truncated;
    };
    let (proto, len) = if first & 1 == 1 {
        (u16::from(first), 1)
    } else {
        match be16(d, off) {
            Some(p) => (p, 2),
            None => return Inner::Truncated,
        }
    };
    match proto {
        0x21 | 0x57 => Inner::Ip(off + len),
        _ => Inner::Other,
    }
}

/// A VXLAN header at the start of a UDP payload (RFC 7348 §5): flags with the I bit, 24
/// reserved bits, VNI, 8 reserved bits; an Ethernet frame follows. `None` when the bytes do
/// not look like VXLAN (the datagram is then ordinary UDP).
pub(crate) fn vxlan(d: &[u8]) -> Option<usize> {
    let h = d.get(..8)?;
    // I flag set, every other flag and reserved bit zero as §5 requires.
    let ok = h.first() == Some(&0x08)
        && h.get(1..4) == Some(&[0, 0, 0][..])
        && h.get(7) == Some(&0)
        && d.len() >= 8 + 14;
    ok.then_some(8)
}

/// The UDP port G-PDUs are sent to (3GPP TS 29.281 §4.4.2.3).
pub(crate) const GTPU_PORT: u16 = 2152;

/// What a GTP-U datagram carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gtpu {
    /// A G-PDU: the user's packet (IPv4 or IPv6) is at `start..end` of the UDP payload.
    Pdu {
        /// Where the inner packet starts.
        start: usize,
        /// Where it ends: the header's length field, or the bytes captured if fewer (the
        /// inner IP header then tells the cut).
        end: usize,
    },
    /// A GTP-U signalling message (echo, error indication, end marker...) or a G-PDU
    /// whose content is not IP (TS 29.281 also carries Ethernet and unstructured PDUs).
    Other,
    /// The header or its extension headers are cut short.
    Truncated,
}

/// A GTP-U header at the start of a UDP payload (3GPP TS 29.281 §5.1, version 1 with the
/// protocol type bit set). `None` when the bytes are not GTP-U (the datagram is then
/// ordinary UDP).
///
/// §5.1: flags, message type, length of what follows the 8 mandatory bytes, TEID; the
/// sequence number, N-PDU number and next extension header type follow (4 bytes) when
/// any of E, S or PN is set. §5.2: each extension header gives its length in 4-byte units
/// (length and next-type bytes included) in its first byte and the next type in its last;
/// type 0 ends the chain.
pub(crate) fn gtpu(d: &[u8]) -> Option<Gtpu> {
    let flags = *d.first()?;
    // Version 1 (top 3 bits 001) with PT = 1: GTP, not GTP' (charging).
    if flags & 0xf0 != 0x30 || d.len() < 8 {
        return None;
    }
    let message_type = *d.get(1)?;
    let length = usize::from(be16(d, 2)?);
    let declared_end = 8 + length;
    let mut off = 8;
    if flags & 0x07 != 0 {
        let Some(&first_next) = d.get(11) else {
            return Some(Gtpu::Truncated);
        };
        off = 12;
        let mut next = first_next;
        // Each extension header is at least 4 bytes; the 16-bit length bounds the chain.
        while next != 0 && flags & 0x04 != 0 {
            let Some(&units) = d.get(off) else {
                return Some(Gtpu::Truncated);
            };
            if units == 0 {
                // A zero length cannot end: the header is malformed.
                return Some(Gtpu::Truncated);
            }
            off += 4 * usize::from(units);
            let Some(&n) = d.get(off - 1) else {
                return Some(Gtpu::Truncated);
            };
            next = n;
        }
        if off > declared_end {
            return Some(Gtpu::Truncated);
        }
    }
    // Message type 255 is the G-PDU (TS 29.281 §6.1); IPv4 or IPv6 by the version nibble.
    if message_type != 0xff {
        return Some(Gtpu::Other);
    }
    let end = declared_end.min(d.len());
    match d.get(off).map(|b| b >> 4) {
        Some(4 | 6) if off < end => Some(Gtpu::Pdu { start: off, end }),
        None => Some(Gtpu::Truncated),
        _ => Some(Gtpu::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_variants() {
        assert_eq!(gre(&[0x00, 0x00, 0x08, 0x00, 0x45]), Inner::Ip(4));
        // Key and sequence present.
        let mut d = vec![0x30, 0x00, 0x65, 0x58];
        d.extend_from_slice(&[0; 8]);
        assert_eq!(gre(&d), Inner::Ethernet(12));
        // PPTP: version 1, key + sequence + ack, PPP with FF 03 and protocol 0x0021.
        let mut d = vec![0x30, 0x81, 0x88, 0x0b];
        d.extend_from_slice(&[0; 12]);
        d.extend_from_slice(&[0xff, 0x03, 0x00, 0x21, 0x45]);
        assert_eq!(gre(&d), Inner::Ip(20));
        // PPP with address/control and protocol compressed.
        let mut d = vec![0x30, 0x81, 0x88, 0x0b];
        d.extend_from_slice(&[0; 12]);
        d.extend_from_slice(&[0x21, 0x45]);
        assert_eq!(gre(&d), Inner::Ip(17));
        // ERSPAN II behind a sequence number.
        let mut d = vec![0x10, 0x00, 0x88, 0xbe];
        d.extend_from_slice(&[0; 12]);
        assert_eq!(gre(&d), Inner::Ethernet(16));
        assert_eq!(gre(&[0x30, 0x00, 0x08]), Inner::Truncated);
        assert_eq!(gre(&[0x30, 0x00, 0x08, 0x00, 0]), Inner::Truncated);
        assert_eq!(gre(&[0x40, 0x00, 0x08, 0x00]), Inner::Other);
        assert_eq!(gre(&[0x00, 0x00, 0x12, 0x34]), Inner::Other);
    }

    #[test]
    fn vxlan_header() {
        let mut d = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        d.extend_from_slice(&[0; 14]);
        assert_eq!(vxlan(&d), Some(8));
        d[0] = 0x80; // an RTCP-looking first byte is not VXLAN
        assert_eq!(vxlan(&d), None);
        assert_eq!(vxlan(&[0x08, 0, 0, 0]), None);
    }

    #[test]
    fn never_panics_on_short_input() {
        for len in 0..32 {
            for fill in [0u8, 0xff, 0x30, 0x81] {
                let d = vec![fill; len];
                let _ = gre(&d);
                let _ = vxlan(&d);
                let _ = gtpu(&d);
            }
        }
    }

    /// A GTP-U header: flags, type 255, length, TEID 0x01020304, then `rest`.
    fn gtp(flags: u8, rest: &[u8]) -> Vec<u8> {
        let mut d = vec![flags, 0xff];
        d.extend_from_slice(&(rest.len() as u16).to_be_bytes());
        d.extend_from_slice(&[1, 2, 3, 4]);
        d.extend_from_slice(rest);
        d
    }

    #[test]
    fn gtpu_g_pdu_with_and_without_optional_fields() {
        let ip6 = [0x60, 0, 0, 0];
        let d = gtp(0x30, &ip6);
        assert_eq!(gtpu(&d), Some(Gtpu::Pdu { start: 8, end: 12 }));
        // S flag: sequence number, N-PDU number, next type 0, then IPv4.
        let mut rest = vec![0, 7, 0, 0];
        rest.extend_from_slice(&[0x45, 0, 0, 20]);
        assert_eq!(
            gtpu(&gtp(0x32, &rest)),
            Some(Gtpu::Pdu { start: 12, end: 16 })
        );
        // E flag: a PDU Session Container (type 0x85, one 4-byte unit), as 5G sends.
        let mut rest = vec![0, 0, 0, 0x85, 1, 0x10, 0x09, 0];
        rest.extend_from_slice(&ip6);
        assert_eq!(
            gtpu(&gtp(0x34, &rest)),
            Some(Gtpu::Pdu { start: 16, end: 20 })
        );
        // Two extension headers, the first two units long.
        let mut rest = vec![0, 0, 0, 0x40, 2, 0, 0, 0, 0, 0, 0, 0x85, 1, 0, 0, 0];
        rest.extend_from_slice(&ip6);
        assert_eq!(
            gtpu(&gtp(0x34, &rest)),
            Some(Gtpu::Pdu { start: 24, end: 28 })
        );
    }

    #[test]
    fn gtpu_length_padding_cut_and_malformed() {
        // Bytes after the declared length (Ethernet padding) are not the inner packet's.
        let mut d = gtp(0x30, &[0x45, 0, 0, 20]);
        d.extend_from_slice(&[0; 6]);
        assert_eq!(gtpu(&d), Some(Gtpu::Pdu { start: 8, end: 12 }));
        // Cut by the snaplen: what was captured, flagged.
        let mut d = gtp(0x30, &[0x45, 0, 0, 20, 0, 0]);
        d.truncate(10);
        assert_eq!(gtpu(&d), Some(Gtpu::Pdu { start: 8, end: 10 }));
        // Echo request (type 1): GTP-U, but no user packet.
        let mut d = gtp(0x32, &[0, 1, 0, 0]);
        d[1] = 1;
        assert_eq!(gtpu(&d), Some(Gtpu::Other));
        // Not IP inside.
        assert_eq!(gtpu(&gtp(0x30, &[0x00, 1, 2])), Some(Gtpu::Other));
        // Optional fields missing, an extension header of length 0, a chain past the end.
        assert_eq!(gtpu(&gtp(0x32, &[0, 1])), Some(Gtpu::Truncated));
        assert_eq!(
            gtpu(&gtp(0x34, &[0, 0, 0, 0x85, 0, 0, 0, 0])),
            Some(Gtpu::Truncated)
        );
        assert_eq!(gtpu(&gtp(0x34, &[0, 0, 0, 0x85, 9])), Some(Gtpu::Truncated));
        // G-PDU with nothing inside.
        assert_eq!(gtpu(&gtp(0x30, &[])), Some(Gtpu::Truncated));
        // Not GTP-U: version 2 (GTP-C), GTP' (PT = 0), too short.
        assert_eq!(gtpu(&gtp(0x48, &[0x45])), None);
        assert_eq!(gtpu(&gtp(0x20, &[0x45])), None);
        assert_eq!(gtpu(&[0x30, 0xff, 0]), None);
    }
}
