//! Link-layer decapsulation: from a frame's bytes to the network-layer packet.
//!
//! Hand-written rather than etherparse: etherparse knows neither SLL2, BSD NULL/LOOP nor VLAN
//! stacks deeper than two tags.

use crate::capture::LinkType;

/// Deepest stack of 802.1Q / 802.1ad tags followed; deeper stacks are counted as malformed.
pub(crate) const MAX_VLAN_DEPTH: usize = 8;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// What the link layer carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link<'a> {
    /// An IP packet (version from its first nibble).
    Ip(&'a [u8]),
    /// A well-formed frame that carries something else than IP (ARP, LLC, ...).
    NonIp,
    /// The link header is cut short or malformed.
    Truncated,
    /// A link type this decoder does not know.
    Unknown,
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at + 2)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn four(data: &[u8]) -> Option<[u8; 4]> {
    let b = data.get(..4)?;
    Some([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?])
}

/// Decapsulates one frame of the given link type.
pub(crate) fn decapsulate(link_type: LinkType, data: &[u8]) -> Link<'_> {
    match link_type {
        LinkType::ETHERNET => ethernet(data),
        LinkType::LINUX_SLL => linux_sll(data),
        LinkType::LINUX_SLL2 => linux_sll2(data),
        LinkType::RAW | LinkType::RAW_BSD12 | LinkType::RAW_BSD14 => Link::Ip(data),
        LinkType::IPV4 | LinkType::IPV6 => Link::Ip(data),
        LinkType::NULL => null(data, false),
        LinkType::LOOP => null(data, true),
        _ => Link::Unknown,
    }
}

/// Ethernet II: destination, source, EtherType (IEEE 802.3 §3.2.6).
fn ethernet(data: &[u8]) -> Link<'_> {
    match (be16(data, 12), data.get(14..)) {
        (Some(ethertype), Some(rest)) => ether_type(ethertype, rest),
        _ => Link::Truncated,
    }
}

/// Follows an EtherType through any VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8, and the
/// pre-standard QinQ 0x9100) up to [`MAX_VLAN_DEPTH`].
fn ether_type(mut ethertype: u16, mut rest: &[u8]) -> Link<'_> {
    for _ in 0..=MAX_VLAN_DEPTH {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Link::Ip(rest),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                // Tag: 2 bytes TCI, then the next EtherType.
                match (be16(rest, 2), rest.get(4..)) {
                    (Some(next), Some(tail)) => {
                        ethertype = next;
                        rest = tail;
                    }
                    _ => return Link::Truncated,
                }
            }
            _ => return Link::NonIp,
        }
    }
    Link::Truncated
}

/// Linux cooked capture v1: 16-byte header, protocol (EtherType) at offset 14.
fn linux_sll(data: &[u8]) -> Link<'_> {
    match (be16(data, 14), data.get(16..)) {
        (Some(protocol), Some(rest)) => ether_type(protocol, rest),
        _ => Link::Truncated,
    }
}

/// Linux cooked capture v2: 20-byte header, protocol (EtherType) at offset 0.
fn linux_sll2(data: &[u8]) -> Link<'_> {
    match (be16(data, 0), data.get(20..)) {
        (Some(protocol), Some(rest)) => ether_type(protocol, rest),
        _ => Link::Truncated,
    }
}

/// BSD loopback: a 4-byte address family, in the capturing host's byte order for NULL (so
/// either order is accepted) and big-endian for LOOP. AF_INET is 2 everywhere; AF_INET6 is 24
/// (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS).
fn null(data: &[u8], big_endian_only: bool) -> Link<'_> {
    let (Some(family), Some(rest)) = (four(data), data.get(4..)) else {
        return Link::Truncated;
    };
    let be = u32::from_be_bytes(family);
    let le = u32::from_le_bytes(family);
    let is = |v: u32| be == v || (!big_endian_only && le == v);
    if is(2) || is(24) || is(28) || is(30) {
        Link::Ip(rest)
    } else {
        Link::NonIp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_tags() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00, 0x45]);
        assert_eq!(decapsulate(LinkType::ETHERNET, &f), Link::Ip(&[0x45]));
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06, 1, 2]);
        assert_eq!(decapsulate(LinkType::ETHERNET, &f), Link::NonIp);
        assert_eq!(decapsulate(LinkType::ETHERNET, &[0; 13]), Link::Truncated);
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0]);
        assert_eq!(decapsulate(LinkType::ETHERNET, &f), Link::Truncated);
        let mut f = vec![0u8; 12];
        for _ in 0..=MAX_VLAN_DEPTH {
            f.extend_from_slice(&[0x81, 0x00, 0, 1]);
        }
        f.extend_from_slice(&[0x08, 0x00, 0x45]);
        assert_eq!(decapsulate(LinkType::ETHERNET, &f), Link::Truncated);
    }

    #[test]
    fn null_and_loop() {
        assert_eq!(
            decapsulate(LinkType::NULL, &[2, 0, 0, 0, 0x45]),
            Link::Ip(&[0x45])
        );
        assert_eq!(
            decapsulate(LinkType::NULL, &[0, 0, 0, 30, 0x60]),
            Link::Ip(&[0x60])
        );
        assert_eq!(
            decapsulate(LinkType::NULL, &[7, 0, 0, 0, 0x45]),
            Link::NonIp
        );
        assert_eq!(
            decapsulate(LinkType::LOOP, &[0, 0, 0, 2, 0x45]),
            Link::Ip(&[0x45])
        );
        assert_eq!(
            decapsulate(LinkType::LOOP, &[2, 0, 0, 0, 0x45]),
            Link::NonIp
        );
        assert_eq!(decapsulate(LinkType::LOOP, &[2, 0, 0]), Link::Truncated);
    }

    #[test]
    fn unknown() {
        assert_eq!(decapsulate(LinkType(147), &[1, 2, 3]), Link::Unknown);
    }
}
