//! ICMP errors that quote a datagram: Destination Unreachable (ICMPv4 type 3, RFC 792;
//! ICMPv6 type 1, RFC 4443 §3.1).
//!
//! When a SIP request reaches a host where nothing listens on the port (a scanner's probe,
//! a phone that moved, a NAT binding that expired), the host or a router answers with an
//! unreachable error quoting the start of the datagram: its IP header, its UDP header, and
//! as much of the SIP message as fits (RFC 1812 §4.3.2.3: up to 576 bytes in all for IPv4;
//! RFC 4443 §2.4(c): up to the minimum IPv6 MTU). The quote tells which message never
//! arrived; the decoder hands it up as a segment marked with the error.

use std::net::IpAddr;

use serde::Serialize;

/// Why a datagram was not delivered (the ICMP code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unreachable {
    /// No route to the network (v4 codes 0, 6, 11; v6 code 0 "no route").
    Network,
    /// The host did not answer address resolution (v4 codes 1, 7, 12; v6 code 3).
    Host,
    /// Nothing listens on the port (v4 code 3; v6 code 4).
    Port,
    /// The host does not speak the transport protocol (v4 code 2).
    Protocol,
    /// A firewall refused it (v4 codes 9, 10, 13; v6 codes 1, 5, 6).
    Prohibited,
    /// Too big for the next hop with Don't Fragment set (v4 code 4).
    FragmentationNeeded,
    /// Any other code, kept as is.
    Other(u8),
}

impl Unreachable {
    /// The code of an ICMPv4 Destination Unreachable (RFC 792, RFC 1122 §3.2.2.1,
    /// RFC 1812 §5.2.7.1).
    pub fn from_v4(code: u8) -> Unreachable {
        match code {
            0 | 6 | 11 => Unreachable::Network,
            1 | 7 | 12 => Unreachable::Host,
            2 => Unreachable::Protocol,
            3 => Unreachable::Port,
            4 => Unreachable::FragmentationNeeded,
            9 | 10 | 13 => Unreachable::Prohibited,
            c => Unreachable::Other(c),
        }
    }

    /// The code of an ICMPv6 Destination Unreachable (RFC 4443 §3.1).
    pub fn from_v6(code: u8) -> Unreachable {
        match code {
            0 => Unreachable::Network,
            1 | 5 | 6 => Unreachable::Prohibited,
            3 => Unreachable::Host,
            4 => Unreachable::Port,
            c => Unreachable::Other(c),
        }
    }

    /// Words for a report: "port unreachable" and so on.
    pub fn describe(self) -> String {
        match self {
            Unreachable::Network => "network unreachable".into(),
            Unreachable::Host => "host unreachable".into(),
            Unreachable::Port => "port unreachable".into(),
            Unreachable::Protocol => "protocol unreachable".into(),
            Unreachable::Prohibited => "administratively prohibited".into(),
            Unreachable::FragmentationNeeded => "fragmentation needed".into(),
            Unreachable::Other(c) => format!("destination unreachable (code {c})"),
        }
    }
}

/// The error a segment's payload was quoted in: set on segments the decoder took out of an
/// ICMP error rather than off the wire. The segment's addresses are the quoted datagram's
/// (its sender and the destination it never reached), its frame and time the error's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpQuote {
    /// Who sent the error: the unreachable host itself, or a router or firewall on the way.
    pub reporter: IpAddr,
    /// Why the datagram was not delivered.
    pub reason: Unreachable,
}

/// An ICMP(v6) message that is a Destination Unreachable: the reason and the quoted
/// datagram (its IP header first). `None` for every other message type or when the 8-byte
/// ICMP header is cut short.
pub(crate) fn destination_unreachable(icmp: &[u8], v6: bool) -> Option<(Unreachable, &[u8])> {
    let (&kind, &code) = (icmp.first()?, icmp.get(1)?);
    let quoted = icmp.get(8..)?;
    match (v6, kind) {
        (false, 3) => Some((Unreachable::from_v4(code), quoted)),
        (true, 1) => Some((Unreachable::from_v6(code), quoted)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_codes() {
        let q = [3, 3, 0, 0, 0, 0, 0, 0, 0x45];
        assert_eq!(
            destination_unreachable(&q, false),
            Some((Unreachable::Port, &[0x45][..]))
        );
        assert_eq!(destination_unreachable(&q, true), None); // type 3 is not v6's
        let q6 = [1, 4, 0, 0, 0, 0, 0, 0, 0x60];
        assert_eq!(
            destination_unreachable(&q6, true),
            Some((Unreachable::Port, &[0x60][..]))
        );
        // Echo request, time exceeded, a header cut short.
        assert_eq!(
            destination_unreachable(&[8, 0, 0, 0, 0, 0, 0, 0], false),
            None
        );
        assert_eq!(
            destination_unreachable(&[11, 0, 0, 0, 0, 0, 0, 0], false),
            None
        );
        assert_eq!(destination_unreachable(&[3, 3, 0], false), None);
        assert_eq!(Unreachable::from_v4(13), Unreachable::Prohibited);
        assert_eq!(Unreachable::from_v6(1), Unreachable::Prohibited);
        assert_eq!(Unreachable::from_v4(1).describe(), "host unreachable");
        assert_eq!(
            Unreachable::from_v4(15).describe(),
            "destination unreachable (code 15)"
        );
    }
}
