//! HEPv3 sender: forwards SIP messages and RTCP packets to a HOMER server (or any HEP
//! collector), so siplens can act as a capture agent.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};

use crate::capture::Timestamp;

use super::{encode_v3, HepOut, ProtoType};

/// Why a sender could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HepSendError {
    /// The spec is not `udp:HOST:PORT`.
    #[error("HEP destination {spec:?}: expected udp:HOST:PORT")]
    BadSpec {
        /// The spec given.
        spec: String,
    },
    /// The host did not resolve.
    #[error("HEP destination {spec:?}: {source}")]
    Resolve {
        /// The spec given.
        spec: String,
        /// The resolver error.
        source: std::io::Error,
    },
    /// The socket could not be opened or connected.
    #[error("HEP destination {addr}: {source}")]
    Socket {
        /// The resolved destination.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
}

/// One packet to forward: the facts of a decoded segment a HEP header carries (kept apart
/// from `net::Segment` so that HEP, below the network decoder, does not depend on it).
#[derive(Debug, Clone, Copy)]
pub struct TapPacket<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Source address.
    pub src: SocketAddr,
    /// Destination address.
    pub dst: SocketAddr,
    /// True when it came over TCP (or TLS), false for UDP.
    pub tcp: bool,
    /// The SIP message or RTCP packet.
    pub payload: &'a [u8],
}

/// Sends HEPv3 packets over UDP to one collector.
#[derive(Debug)]
pub struct HepSender {
    sock: UdpSocket,
    dest: SocketAddr,
    capture_id: u32,
    password: Option<String>,
    buf: Vec<u8>,
    sent: u64,
    errors: u64,
}

/// Splits `proto:HOST:PORT` (HOST may be a bracketed IPv6 address) into its parts.
pub(crate) fn split_spec(spec: &str) -> Option<(&str, &str)> {
    let (proto, rest) = spec.split_once(':')?;
    if rest.is_empty() {
        return None;
    }
    Some((proto, rest))
}

impl HepSender {
    /// Opens a UDP socket towards `spec` (`udp:HOST:PORT`), sending with this capture
    /// agent id and, when given, this password (auth key chunk).
    pub fn connect(
        spec: &str,
        capture_id: u32,
        password: Option<String>,
    ) -> Result<HepSender, HepSendError> {
        let bad = || HepSendError::BadSpec {
            spec: spec.to_string(),
        };
        let (proto, hostport) = split_spec(spec).ok_or_else(bad)?;
        if !proto.eq_ignore_ascii_case("udp") {
            return Err(bad());
        }
        let dest = hostport
            .to_socket_addrs()
            .map_err(|source| HepSendError::Resolve {
                spec: spec.to_string(),
                source,
            })?
            .next()
            .ok_or_else(bad)?;
        let local: SocketAddr = if dest.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(local)
            .and_then(|s| s.connect(dest).map(|()| s))
            .map_err(|source| HepSendError::Socket { addr: dest, source })?;
        Ok(HepSender {
            sock,
            dest,
            capture_id,
            password,
            buf: Vec::with_capacity(2048),
            sent: 0,
            errors: 0,
        })
    }

    /// Sends one SIP message (a segment the engine recognised as SIP).
    pub fn send_sip(&mut self, seg: &TapPacket<'_>) {
        self.send(seg, ProtoType::SIP);
    }

    /// Sends one RTCP packet as received (raw, proto type 5). HOMER's heplify-server
    /// expects the JSON that captagent/heplify make of RTCP under this type and may not
    /// show raw reports; sngrep and Wireshark's HEP dissector take them as they are.
    pub fn send_rtcp(&mut self, seg: &TapPacket<'_>) {
        self.send(seg, ProtoType::RTCP);
    }

    fn send(&mut self, seg: &TapPacket<'_>, proto_type: ProtoType) {
        let out = HepOut {
            src: seg.src,
            dst: seg.dst,
            ip_proto: if seg.tcp { 6 } else { 17 },
            ts: seg.ts,
            proto_type,
            capture_id: Some(self.capture_id),
            auth_key: self.password.as_deref().map(str::as_bytes),
            correlation_id: None,
            payload: seg.payload,
        };
        self.buf.clear();
        if encode_v3(&out, &mut self.buf).is_err() {
            self.errors += 1;
            return;
        }
        match self.sock.send(&self.buf) {
            Ok(_) => self.sent += 1,
            // A connected UDP socket reports an ICMP "port unreachable" of an earlier
            // datagram on a later send: counted, the next one goes out.
            Err(_) => self.errors += 1,
        }
    }

    /// HEP packets sent.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Packets not sent (too large, or a socket error).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Where packets go.
    pub fn destination(&self) -> SocketAddr {
        self.dest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sends_parseable_hep3() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let spec = format!("udp:{}", rx.local_addr().unwrap());
        let mut tx = HepSender::connect(&spec, 7, Some("secret".into())).unwrap();
        let seg = TapPacket {
            ts: Timestamp::from_parts(10, 5000),
            src: "10.0.0.1:5060".parse().unwrap(),
            dst: "10.0.0.2:5060".parse().unwrap(),
            tcp: true,
            payload: b"OPTIONS sip:x SIP/2.0\r\n\r\n",
        };
        tx.send_sip(&seg);
        let mut buf = [0u8; 2048];
        let n = rx.recv(&mut buf).unwrap();
        let p = super::super::parse(buf.get(..n).unwrap()).unwrap();
        assert_eq!(p.capture_id, Some(7));
        assert_eq!(p.auth_key, Some(&b"secret"[..]));
        assert_eq!(p.ip_proto, Some(6));
        assert_eq!(p.src(), Some(seg.src));
        assert_eq!(p.ts, Some(seg.ts));
        assert_eq!(&*p.payload, seg.payload);
        assert_eq!((tx.sent(), tx.errors()), (1, 0));
    }

    #[test]
    fn bad_specs() {
        for s in ["tcp:127.0.0.1:9060", "127.0.0.1", "udp:", "udp:nohostport"] {
            assert!(HepSender::connect(s, 1, None).is_err(), "{s}");
        }
    }
}
