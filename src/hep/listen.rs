//! HEP listener: receives HEP packets from capture agents over UDP or TCP and hands them to
//! the pipeline as frames.
//!
//! Each valid HEP packet becomes one synthesized [`Frame`] of [`LinkType::RAW`]: an IPv4
//! (or IPv6) and UDP header from the agent's address to the listening address, around the
//! HEP packet unchanged. The decoder then decapsulates it like HEP found in a capture file,
//! so the capture id and agent address reach every message by the same path. The
//! synthesized UDP destination port is always [`super::HEP_PORT`] (9060), whatever port
//! the listener uses, so the decoder's port rule for the magic-less HEPv1/v2 applies.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::capture::{CaptureError, CaptureErrorKind, Frame, FrameSource, LinkType, Timestamp};

use super::send::split_spec;
use super::{parse, v3_frame_len, HEP_PORT};

/// How long a blocking read waits before looking at the stop flag.
pub const READ_TIMEOUT: Duration = Duration::from_millis(250);
/// TCP connections served at once; more are refused (closed) and counted.
pub const MAX_TCP_CONNECTIONS: usize = 16;
/// Largest HEP packet accepted: the most a HEPv3 length can say, less the IPv4 and UDP
/// headers the synthesized frame adds, so its length fields still fit in 16 bits (the
/// largest UDP payload over IPv4, too).
pub const MAX_HEP_PACKET: usize = 65_535 - 28;

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum HepListenError {
    /// The spec is not `udp:ADDR:PORT` or `tcp:ADDR:PORT`.
    #[error("HEP listen spec {spec:?}: expected udp:ADDR:PORT or tcp:ADDR:PORT")]
    BadSpec {
        /// The spec given.
        spec: String,
    },
    /// The address could not be bound.
    #[error("HEP listen {spec:?}: {source}")]
    Bind {
        /// The spec given.
        spec: String,
        /// The socket error.
        source: std::io::Error,
    },
}

enum Kind {
    Udp(UdpSocket),
    Tcp {
        listener: TcpListener,
        conns: Vec<Conn>,
    },
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
}

/// A HEP collector socket as a [`FrameSource`]; see the module documentation for the
/// frames it yields.
pub struct HepListener {
    name: String,
    kind: Kind,
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    frames: u64,
    bytes: u64,
    malformed: Arc<AtomicU64>,
    refused_connections: u64,
    pending: VecDeque<Frame>,
    done: bool,
    /// Receive buffer for UDP, allocated once.
    udp_buf: Vec<u8>,
}

impl std::fmt::Debug for HepListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HepListener")
            .field("name", &self.name)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl HepListener {
    /// Binds exactly the address of `spec` (`udp:ADDR:PORT` or `tcp:ADDR:PORT`; an IPv6
    /// address in brackets). Nothing else is bound: `udp:0.0.0.0:9060` is the way to listen
    /// everywhere.
    pub fn bind(spec: &str) -> Result<HepListener, HepListenError> {
        let bad = || HepListenError::BadSpec {
            spec: spec.to_string(),
        };
        let (proto, hostport) = split_spec(spec).ok_or_else(bad)?;
        let addr = hostport
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(bad)?;
        let bind_err = |source| HepListenError::Bind {
            spec: spec.to_string(),
            source,
        };
        let (kind, local) = match proto.to_ascii_lowercase().as_str() {
            "udp" => {
                let s = UdpSocket::bind(addr).map_err(bind_err)?;
                s.set_read_timeout(Some(READ_TIMEOUT)).map_err(bind_err)?;
                let local = s.local_addr().map_err(bind_err)?;
                (Kind::Udp(s), local)
            }
            "tcp" => {
                let l = TcpListener::bind(addr).map_err(bind_err)?;
                // Accept and read without blocking: one thread serves the listener and all
                // its connections, and looks at the stop flag between polls.
                l.set_nonblocking(true).map_err(bind_err)?;
                let local = l.local_addr().map_err(bind_err)?;
                (
                    Kind::Tcp {
                        listener: l,
                        conns: Vec::new(),
                    },
                    local,
                )
            }
            _ => return Err(bad()),
        };
        Ok(HepListener {
            name: format!("hep:{}:{local}", proto.to_ascii_lowercase()),
            kind,
            local,
            stop: Arc::new(AtomicBool::new(false)),
            frames: 0,
            bytes: 0,
            malformed: Arc::new(AtomicU64::new(0)),
            refused_connections: 0,
            pending: VecDeque::new(),
            done: false,
            udp_buf: Vec::new(),
        })
    }

    /// Setting this flag ends [`FrameSource::next_frame`] (with `Ok(None)`) within
    /// [`READ_TIMEOUT`].
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The address bound (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Packets received that were not valid HEP (skipped), and TCP streams that lost HEP
    /// framing (closed).
    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// The counter behind [`Self::malformed`], readable after the listener moved to
    /// another thread.
    pub fn malformed_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.malformed)
    }

    /// TCP connections refused because [`MAX_TCP_CONNECTIONS`] were open.
    pub fn refused_connections(&self) -> u64 {
        self.refused_connections
    }

    /// Queues a frame for `packet` from `agent` when it is valid HEP; counts it otherwise.
    fn accept_packet(&mut self, agent: SocketAddr, packet: &[u8]) {
        if packet.len() > MAX_HEP_PACKET || parse(packet).is_err() {
            self.malformed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.frames += 1;
        self.bytes += packet.len() as u64;
        let data = synthesize(agent, self.local.ip(), packet);
        let orig_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.pending.push_back(Frame {
            number: self.frames,
            ts: now(),
            link_type: LinkType::RAW,
            data,
            orig_len,
            interface: 0,
        });
    }

    fn poll_udp(&mut self) -> Result<(), std::io::Error> {
        let mut buf = std::mem::take(&mut self.udp_buf);
        buf.resize(65_536, 0);
        let got = match &self.kind {
            Kind::Udp(sock) => sock.recv_from(&mut buf),
            Kind::Tcp { .. } => return Ok(()),
        };
        let r = match got {
            Ok((n, agent)) => {
                self.accept_packet(agent, buf.get(..n).unwrap_or_default());
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Ok(())
            }
            // An ICMP error for something this socket sent never applies here; anything
            // else is a real failure.
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(()),
            Err(e) => Err(e),
        };
        self.udp_buf = buf;
        r
    }

    /// One round over the TCP listener and its connections; true when anything happened.
    fn poll_tcp(&mut self) -> bool {
        let Kind::Tcp { listener, conns } = &mut self.kind else {
            return false;
        };
        let mut busy = false;
        while let Ok((stream, peer)) = listener.accept() {
            busy = true;
            if conns.len() >= MAX_TCP_CONNECTIONS || stream.set_nonblocking(true).is_err() {
                self.refused_connections += 1;
                continue; // dropped: closed
            }
            conns.push(Conn {
                stream,
                peer,
                buf: Vec::new(),
            });
        }
        let mut packets = Vec::new();
        let mut lost = 0u64;
        conns.retain_mut(|c| {
            let mut chunk = [0u8; 16 * 1024];
            let open = loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => break false,
                    Ok(n) => {
                        busy = true;
                        c.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                        if c.buf.len() > 2 * 65_536 {
                            break true; // frame what is there first
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break true,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => break false,
                }
            };
            // Frame by the HEP3 length; a stream that stops being HEP3 cannot be resynced.
            loop {
                if c.buf.len() < 6 {
                    break;
                }
                match v3_frame_len(&c.buf) {
                    Some(len) if len >= 6 => {
                        if c.buf.len() < len {
                            break;
                        }
                        let rest = c.buf.split_off(len);
                        packets.push((c.peer, std::mem::replace(&mut c.buf, rest)));
                    }
                    _ => {
                        lost += 1;
                        return false;
                    }
                }
            }
            open
        });
        self.malformed.fetch_add(lost, Ordering::Relaxed);
        for (peer, p) in packets {
            self.accept_packet(peer, &p);
        }
        busy
    }
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(d.as_secs(), d.subsec_nanos())
}

/// An IP + UDP packet from `agent` to `local`:9060 carrying `payload` (at most
/// [`MAX_HEP_PACKET`] bytes). IPv4 when the agent is IPv4 (a v4-mapped agent on a dual-stack
/// socket included), IPv6 otherwise.
fn synthesize(agent: SocketAddr, local: IpAddr, payload: &[u8]) -> Vec<u8> {
    let udp_len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let agent_ip = match agent.ip() {
        IpAddr::V6(a) => a.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(a)),
        a => a,
    };
    let mut d = Vec::with_capacity(48 + payload.len());
    match agent_ip {
        IpAddr::V4(src) => {
            let dst = match local {
                IpAddr::V4(l) => l,
                IpAddr::V6(l) => l.to_ipv4_mapped().unwrap_or(Ipv4Addr::LOCALHOST),
            };
            let total = udp_len.saturating_add(20);
            let mut h = [0u8; 20];
            h[0] = 0x45;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[6] = 0x40; // don't fragment
            h[8] = 64;
            h[9] = 17;
            h[12..16].copy_from_slice(&src.octets());
            h[16..20].copy_from_slice(&dst.octets());
            let sum = checksum(&h);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            d.extend_from_slice(&h);
        }
        IpAddr::V6(src) => {
            let dst = match local {
                IpAddr::V6(l) => l,
                IpAddr::V4(l) => l.to_ipv6_mapped(),
            };
            d.extend_from_slice(&[0x60, 0, 0, 0]);
            d.extend_from_slice(&udp_len.to_be_bytes());
            d.extend_from_slice(&[17, 64]);
            d.extend_from_slice(&src.octets());
            d.extend_from_slice(&dst.octets());
        }
    }
    d.extend_from_slice(&agent.port().to_be_bytes());
    d.extend_from_slice(&HEP_PORT.to_be_bytes());
    d.extend_from_slice(&udp_len.to_be_bytes());
    d.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4; ignored by the decoder)
    d.extend_from_slice(payload);
    d
}

/// RFC 1071 Internet checksum of an IPv4 header.
fn checksum(h: &[u8; 20]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|w| {
            u32::from(u16::from_be_bytes([
                w.first().copied().unwrap_or(0),
                w.get(1).copied().unwrap_or(0),
            ]))
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl FrameSource for HepListener {
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Ok(Some(f));
            }
            if self.done || self.stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if matches!(self.kind, Kind::Udp(_)) {
                if let Err(source) = self.poll_udp() {
                    self.done = true;
                    return Err(CaptureError {
                        input: self.name.clone(),
                        offset: self.bytes,
                        kind: CaptureErrorKind::Io {
                            record: self.frames + 1,
                            source,
                        },
                    });
                }
            } else if !self.poll_tcp() {
                // Nothing to read: a short nap keeps the poll loop cheap, far below the
                // stop-flag latency.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.bytes, None)
    }

    fn link_types(&self) -> Vec<LinkType> {
        vec![LinkType::RAW]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hep::{encode_v3, HepOut, ProtoType};
    use std::io::Write;

    fn hep(payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        encode_v3(
            &HepOut {
                src: "10.1.1.1:5060".parse().unwrap(),
                dst: "10.1.1.2:5060".parse().unwrap(),
                ip_proto: 17,
                ts: Timestamp::from_parts(100, 0),
                proto_type: ProtoType::SIP,
                capture_id: Some(42),
                auth_key: None,
                correlation_id: None,
                payload,
            },
            &mut v,
        )
        .unwrap();
        v
    }

    fn segments(frame: &Frame) -> Vec<crate::net::Segment<'_>> {
        let mut d = crate::net::Decoder::default();
        let mut out = Vec::new();
        d.decode(frame, &mut out);
        out
    }

    #[test]
    fn udp_frames_decode_to_the_inner_message() {
        let mut l = HepListener::bind("udp:127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"not hep at all", l.local_addr()).unwrap();
        tx.send_to(&hep(b"OPTIONS sip:a SIP/2.0\r\n\r\n"), l.local_addr())
            .unwrap();
        let f = l.next_frame().unwrap().unwrap();
        assert_eq!(l.malformed(), 1);
        assert_eq!((f.number, f.link_type), (1, LinkType::RAW));
        let segs = segments(&f);
        assert_eq!(segs.len(), 1);
        let s = &segs[0];
        assert_eq!(s.src, "10.1.1.1:5060".parse().unwrap());
        assert_eq!(s.ts, Timestamp::from_parts(100, 0));
        let m = s.hep.unwrap();
        assert_eq!(m.capture_id, Some(42));
        assert_eq!(m.agent, tx.local_addr().unwrap());
        // Stop: the next call returns within the read timeout.
        l.stop_handle().store(true, Ordering::Relaxed);
        assert!(l.next_frame().unwrap().is_none());
    }

    #[test]
    fn tcp_frames_by_hep3_length_and_drops_desynced_streams() {
        let mut l = HepListener::bind("tcp:127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr()).unwrap();
        let (a, b) = (
            hep(b"INVITE sip:a SIP/2.0\r\n\r\n"),
            hep(b"BYE sip:a SIP/2.0\r\n\r\n"),
        );
        let mut both = a.clone();
        both.extend_from_slice(&b);
        // Split mid-packet: framing must wait for the rest.
        c.write_all(both.get(..a.len() + 3).unwrap()).unwrap();
        let f1 = l.next_frame().unwrap().unwrap();
        c.write_all(both.get(a.len() + 3..).unwrap()).unwrap();
        let f2 = l.next_frame().unwrap().unwrap();
        assert!(segments(&f1)[0].payload.starts_with(b"INVITE"));
        assert!(segments(&f2)[0].payload.starts_with(b"BYE"));
        c.write_all(b"GARBAGE!").unwrap();
        let stop = l.stop_handle();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, Ordering::Relaxed);
        });
        assert!(l.next_frame().unwrap().is_none());
        t.join().unwrap();
        assert_eq!(l.malformed(), 1);
    }

    #[test]
    fn bind_is_exact_and_specs_are_checked() {
        let l = HepListener::bind("udp:127.0.0.1:0").unwrap();
        assert_eq!(l.local_addr().ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        for s in [
            "sctp:127.0.0.1:9060",
            "udp:",
            "127.0.0.1:9060",
            "udp:127.0.0.1",
        ] {
            assert!(
                matches!(HepListener::bind(s), Err(HepListenError::BadSpec { .. })),
                "{s}"
            );
        }
        // The same port again: a bind error, not a silent second socket.
        let spec = format!("udp:{}", l.local_addr());
        assert!(matches!(
            HepListener::bind(&spec),
            Err(HepListenError::Bind { .. })
        ));
    }

    #[test]
    fn ipv4_header_checksum() {
        let d = synthesize(
            "192.0.2.1:1000".parse().unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            b"x",
        );
        let h: [u8; 20] = d.get(..20).unwrap().try_into().unwrap();
        assert_eq!(checksum(&h), 0, "a header with its checksum sums to 0xffff");
    }
}
