//! A socket address packed for records kept per dialog ([`Addr`]).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A socket address in 19 bytes, aligned on one, where `std::net::SocketAddr` takes 32
/// (aligned on four): the IP as 16 bytes (an IPv4 address in the first four), the port,
/// and which family. A call keeps a score of addresses in its NAT and security records
/// (`nat::Mark`, `nat::OkTrack`, [`super::Seen`]...), and the engine tens of thousands of
/// calls; packed, each of those records fits a smaller allocator size class.
///
/// It holds what packets and SDP bodies give: an IPv6 address's flow label and scope id
/// (always 0 on the wire) are not kept. It reads, compares, orders, hashes and prints as
/// the `SocketAddr` it was made from, and compares equal to it (`addr == sock`; not
/// `sock == addr`, which would leave `sock == "..".parse().unwrap()` ambiguous).
#[derive(Clone, Copy)]
pub struct Addr {
    ip: [u8; 16],
    port: [u8; 2],
    v6: bool,
}

impl Addr {
    /// Packs `a` (an IPv6 address's flow label and scope id are dropped).
    pub fn new(a: SocketAddr) -> Addr {
        let mut ip = [0u8; 16];
        let v6 = match a.ip() {
            IpAddr::V4(v4) => {
                if let Some(head) = ip.get_mut(..4) {
                    head.copy_from_slice(&v4.octets());
                }
                false
            }
            IpAddr::V6(v6) => {
                ip = v6.octets();
                true
            }
        };
        Addr {
            ip,
            port: a.port().to_be_bytes(),
            v6,
        }
    }

    /// The IP address.
    pub fn ip(self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(self.ip))
        } else {
            let [a, b, c, d, ..] = self.ip;
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        }
    }

    /// The port.
    pub fn port(self) -> u16 {
        u16::from_be_bytes(self.port)
    }

    /// The address as a `SocketAddr`.
    pub fn get(self) -> SocketAddr {
        SocketAddr::new(self.ip(), self.port())
    }
}

impl From<SocketAddr> for Addr {
    fn from(a: SocketAddr) -> Addr {
        Addr::new(a)
    }
}

impl From<Addr> for SocketAddr {
    fn from(a: Addr) -> SocketAddr {
        a.get()
    }
}

impl PartialEq for Addr {
    fn eq(&self, other: &Addr) -> bool {
        self.v6 == other.v6 && self.port == other.port && self.ip == other.ip
    }
}

impl Eq for Addr {}

impl PartialEq<SocketAddr> for Addr {
    fn eq(&self, other: &SocketAddr) -> bool {
        self.get() == *other
    }
}

impl Ord for Addr {
    fn cmp(&self, other: &Addr) -> Ordering {
        self.get().cmp(&other.get())
    }
}

impl PartialOrd for Addr {
    fn partial_cmp(&self, other: &Addr) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Addr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.get().hash(state);
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.get(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_addr_reads_orders_and_prints_as_its_socket_addr() {
        let all: Vec<SocketAddr> = [
            "10.0.0.1:5060",
            "10.0.0.1:5061",
            "192.168.1.20:0",
            "[2001:db8::1]:5060",
            "[::ffff:10.0.0.1]:5060",
            "[::]:65535",
            "0.0.0.0:1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        for a in &all {
            let p = Addr::new(*a);
            assert_eq!(p.get(), *a);
            assert_eq!((p.ip(), p.port()), (a.ip(), a.port()));
            assert_eq!(p, *a);
            assert_eq!(p.to_string(), a.to_string());
            assert_eq!(format!("{p:?}"), format!("{a:?}"));
            for b in &all {
                let q = Addr::new(*b);
                assert_eq!(p.cmp(&q), a.cmp(b), "{a} {b}");
                assert_eq!(p == q, a == b, "{a} {b}");
            }
        }
        // An IPv4 address and its IPv4-mapped IPv6 form stay apart, as in SocketAddr.
        assert_ne!(Addr::new(all[0]), Addr::new(all[4]));
    }

    #[test]
    fn an_addr_is_packed() {
        assert_eq!(std::mem::size_of::<Addr>(), 19);
        assert_eq!(std::mem::size_of::<Option<Addr>>(), 19);
    }
}
