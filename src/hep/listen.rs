//! HEP listener: receives HEP packets from capture agents over UDP or TCP and hands them to
//! the pipeline as frames.
//!
//! Each valid HEP packet becomes one synthesized [`Frame`] of [`LinkType::RAW`]: an IPv4
//! (or IPv6) and UDP header from the agent's address to the listening address, around the
//! HEP packet unchanged. The decoder then decapsulates it like HEP found in a capture file,
//! so the capture id and agent address reach every message by the same path. The
//! synthesized UDP destination port is always [`super::HEP_PORT`] (9060), whatever port
//! the listener uses, so the decoder's port rule for the magic-less HEPv1/v2 applies.
//!
//! TCP: connections are bounded in total and per agent address ([`ListenOptions`]). A
//! connection silent for the idle timeout is closed, and a new connection that finds a
//! bound reached evicts the longest-idle connection (of its own address first) rather than
//! being refused, so idle sockets can never lock a real agent out. UDP: the receive buffer
//! is enlarged for bursts, and the kernel's count of datagrams it dropped for this socket
//! is read back (Linux, from `/proc/net/udp`). Everything is counted in
//! [`HepListenerStats`], which stays readable through a [`StatsHandle`] once the listener
//! moved to its capture thread.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::capture::{
    CaptureError, CaptureErrorKind, Frame, FrameSource, LinkType, SourceCounters, Timestamp,
};

use super::send::split_spec;
use super::{parse, v3_frame_len, HEP_PORT};

/// How long a blocking read waits before looking at the stop flag.
pub const READ_TIMEOUT: Duration = Duration::from_millis(250);
/// Default of [`ListenOptions::max_conns`]: TCP connections served at once.
pub const DEFAULT_MAX_CONNS: usize = 64;
/// Default of [`ListenOptions::max_per_peer`]: TCP connections served at once from one
/// address (an agent needs one; a restarted agent's half-open old one is the second).
pub const DEFAULT_MAX_PER_PEER: usize = 4;
/// Default of [`ListenOptions::idle_timeout`]. Long, because closing the connection of a
/// quiet agent costs it the next message it writes (it only learns of the close from that
/// write); idle sockets no longer lock anyone out, they only hold a descriptor.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default of [`ListenOptions::rcvbuf`]: room for a burst of about 8,000 SIP messages
/// while the reading thread is descheduled (the usual kernel default holds ~200).
pub const DEFAULT_RCVBUF: usize = 8 << 20;
/// A connection silent for less than this is never evicted for a newcomer: only a sender
/// that stopped sending gives way, never one in the middle of a burst.
pub const EVICT_MIN_IDLE: Duration = Duration::from_secs(1);
/// How often the kernel's drop counter is read back.
const DROPS_POLL: Duration = Duration::from_secs(1);
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

/// Bounds and buffer sizes of a listener (`--hep-idle-timeout`, `--hep-max-per-peer`,
/// `--hep-max-conns`, `--hep-rcvbuf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenOptions {
    /// TCP: a connection that sent nothing for this long is closed; None never closes.
    pub idle_timeout: Option<Duration>,
    /// TCP: connections served at once from one IP address (at least 1).
    pub max_per_peer: usize,
    /// TCP: connections served at once (at least 1).
    pub max_conns: usize,
    /// UDP: receive buffer to ask the kernel for, in bytes; 0 keeps the system default.
    pub rcvbuf: usize,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_per_peer: DEFAULT_MAX_PER_PEER,
            max_conns: DEFAULT_MAX_CONNS,
            rcvbuf: DEFAULT_RCVBUF,
        }
    }
}

/// What a listener received, skipped and lost (`hep_listeners` in the JSON report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HepListenerStats {
    /// The address listened on, as `udp:ADDR:PORT` or `tcp:ADDR:PORT`.
    pub listen: String,
    /// HEP packets read from the socket: `packets` + `malformed`.
    pub received: u64,
    /// Valid HEP packets handed to the analysis.
    pub packets: u64,
    /// Packets that were not valid HEP (skipped), and TCP streams that lost HEP framing
    /// (closed): the count the "malformed HEP packets skipped" warning prints. Packets
    /// past this check that the decoder still cannot use (no addresses) are counted apart,
    /// in `summary.net.hep_malformed`, and malformed SIP inside HEP in `decode_errors`.
    pub malformed: u64,
    /// UDP: datagrams the kernel dropped because the receive buffer was full (Linux, read
    /// from `/proc/net/udp`; absent where the system keeps no such counter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_drops: Option<u64>,
    /// UDP: the receive buffer the kernel granted, as it reports it (Linux doubles the
    /// request to cover its bookkeeping, and caps it at `net.core.rmem_max` unless root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcvbuf_bytes: Option<u64>,
    /// TCP connection counters (absent for UDP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpStats>,
}

/// What became of the TCP connections of a listener. Every accepted connection is either
/// still `open` or counted once in a `closed_*` or `evicted` counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TcpStats {
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections refused (closed at once): their address had
    /// [`ListenOptions::max_per_peer`] open, none of them idle for [`EVICT_MIN_IDLE`].
    pub refused_per_peer: u64,
    /// Connections refused (closed at once): [`ListenOptions::max_conns`] were open, none
    /// of them idle for [`EVICT_MIN_IDLE`].
    pub refused_total: u64,
    /// Connections the agent closed (or that failed).
    pub closed_by_peer: u64,
    /// Connections closed after the idle timeout.
    pub closed_idle: u64,
    /// Connections closed because the stream stopped being HEPv3 (also in `malformed`).
    pub closed_malformed: u64,
    /// Connections closed to make room for a new one (the longest-idle first).
    pub evicted: u64,
    /// Connections open when the counters were read.
    pub open: u64,
}

/// The counters, shared between the listener (its capture thread) and [`StatsHandle`].
#[derive(Debug, Default)]
struct Counters {
    packets: AtomicU64,
    malformed: AtomicU64,
    /// Kernel drops; meaningful only when `drops_known`.
    kernel_drops: AtomicU64,
    drops_known: AtomicBool,
    accepted: AtomicU64,
    refused_per_peer: AtomicU64,
    refused_total: AtomicU64,
    closed_by_peer: AtomicU64,
    closed_idle: AtomicU64,
    closed_malformed: AtomicU64,
    evicted: AtomicU64,
    open: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Reads a listener's counters from any thread (see [`HepListener::stats_handle`]).
#[derive(Debug, Clone)]
pub struct StatsHandle {
    listen: String,
    tcp: bool,
    rcvbuf: Option<u64>,
    counters: Arc<Counters>,
}

impl StatsHandle {
    /// The counters now. The kernel drop count is the one the listener last read (about
    /// once a second, and when it stops).
    pub fn snapshot(&self) -> HepListenerStats {
        let c = &self.counters;
        let (packets, malformed) = (get(&c.packets), get(&c.malformed));
        HepListenerStats {
            listen: self.listen.clone(),
            received: packets + malformed,
            packets,
            malformed,
            kernel_drops: c
                .drops_known
                .load(Ordering::Relaxed)
                .then(|| get(&c.kernel_drops)),
            rcvbuf_bytes: self.rcvbuf,
            tcp: self.tcp.then(|| TcpStats {
                accepted: get(&c.accepted),
                refused_per_peer: get(&c.refused_per_peer),
                refused_total: get(&c.refused_total),
                closed_by_peer: get(&c.closed_by_peer),
                closed_idle: get(&c.closed_idle),
                closed_malformed: get(&c.closed_malformed),
                evicted: get(&c.evicted),
                open: get(&c.open),
            }),
        }
    }
}

enum Kind {
    Udp {
        sock: UdpSocket,
        /// The socket's inode, which names it in `/proc/net/udp`; None off Linux.
        inode: Option<u64>,
        /// When the drop counter was last read.
        drops_read: Option<Instant>,
    },
    Tcp {
        listener: TcpListener,
        conns: Vec<Conn>,
    },
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    /// The peer's address for the per-peer bound (a v4-mapped address as IPv4).
    ip: IpAddr,
    buf: Vec<u8>,
    /// When the last bytes arrived (or the connection was accepted).
    last_rx: Instant,
}

/// A HEP collector socket as a [`FrameSource`]; see the module documentation for the
/// frames it yields.
pub struct HepListener {
    name: String,
    kind: Kind,
    local: SocketAddr,
    opts: ListenOptions,
    stop: Arc<AtomicBool>,
    stats: StatsHandle,
    frames: u64,
    bytes: u64,
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
    /// address in brackets) with the default [`ListenOptions`]. Nothing else is bound:
    /// `udp:0.0.0.0:9060` is the way to listen everywhere.
    pub fn bind(spec: &str) -> Result<HepListener, HepListenError> {
        Self::bind_with(spec, ListenOptions::default())
    }

    /// [`Self::bind`] with these bounds and buffer size.
    pub fn bind_with(spec: &str, opts: ListenOptions) -> Result<HepListener, HepListenError> {
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
        let opts = ListenOptions {
            max_per_peer: opts.max_per_peer.max(1),
            max_conns: opts.max_conns.max(1),
            ..opts
        };
        let proto = proto.to_ascii_lowercase();
        let (kind, local, rcvbuf) = match proto.as_str() {
            "udp" => {
                let (s, rcvbuf) = bind_udp(addr, opts.rcvbuf).map_err(bind_err)?;
                s.set_read_timeout(Some(READ_TIMEOUT)).map_err(bind_err)?;
                let local = s.local_addr().map_err(bind_err)?;
                let inode = socket_inode(&s);
                let kind = Kind::Udp {
                    sock: s,
                    inode,
                    drops_read: None,
                };
                (kind, local, rcvbuf)
            }
            "tcp" => {
                let l = TcpListener::bind(addr).map_err(bind_err)?;
                // Accept and read without blocking: one thread serves the listener and all
                // its connections, and looks at the stop flag between polls.
                l.set_nonblocking(true).map_err(bind_err)?;
                let local = l.local_addr().map_err(bind_err)?;
                let kind = Kind::Tcp {
                    listener: l,
                    conns: Vec::new(),
                };
                (kind, local, None)
            }
            _ => return Err(bad()),
        };
        let stats = StatsHandle {
            listen: format!("{proto}:{local}"),
            tcp: proto == "tcp",
            rcvbuf,
            counters: Arc::new(Counters::default()),
        };
        let mut l = HepListener {
            name: format!("hep:{proto}:{local}"),
            kind,
            local,
            opts,
            stop: Arc::new(AtomicBool::new(false)),
            stats,
            frames: 0,
            bytes: 0,
            pending: VecDeque::new(),
            done: false,
            udp_buf: Vec::new(),
        };
        l.read_kernel_drops();
        Ok(l)
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

    /// The counters, readable after the listener moved to another thread.
    pub fn stats_handle(&self) -> StatsHandle {
        self.stats.clone()
    }

    /// The counters now (see [`StatsHandle::snapshot`]).
    pub fn stats(&self) -> HepListenerStats {
        self.stats.snapshot()
    }

    /// Packets received that were not valid HEP (skipped), and TCP streams that lost HEP
    /// framing (closed).
    pub fn malformed(&self) -> u64 {
        get(&self.stats.counters.malformed)
    }

    /// Reads the kernel's drop counter of a UDP socket into the stats (Linux).
    fn read_kernel_drops(&mut self) {
        let Kind::Udp {
            inode, drops_read, ..
        } = &mut self.kind
        else {
            return;
        };
        *drops_read = Some(Instant::now());
        if let Some(n) = inode.and_then(kernel_drops) {
            let c = &self.stats.counters;
            c.kernel_drops.store(n, Ordering::Relaxed);
            c.drops_known.store(true, Ordering::Relaxed);
        }
    }

    /// Queues a frame for `packet` from `agent` when it is valid HEP; counts it otherwise.
    fn accept_packet(&mut self, agent: SocketAddr, packet: &[u8]) {
        if packet.len() > MAX_HEP_PACKET || parse(packet).is_err() {
            bump(&self.stats.counters.malformed);
            return;
        }
        bump(&self.stats.counters.packets);
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
        let (got, drops_due) = match &self.kind {
            Kind::Udp {
                sock, drops_read, ..
            } => (
                sock.recv_from(&mut buf),
                drops_read.is_none_or(|t| t.elapsed() >= DROPS_POLL),
            ),
            Kind::Tcp { .. } => return Ok(()),
        };
        if drops_due {
            self.read_kernel_drops();
        }
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

    /// One round over the TCP connections and the listener; true when anything happened.
    fn poll_tcp(&mut self) -> bool {
        let Kind::Tcp { listener, conns } = &mut self.kind else {
            return false;
        };
        let c = &self.stats.counters;
        let now = Instant::now();
        let idle_timeout = self.opts.idle_timeout;
        let mut busy = false;
        let mut packets = Vec::new();
        // Read before accepting: a connection whose bytes wait in the kernel is not idle,
        // and must not be evicted for a newcomer.
        conns.retain_mut(|conn| {
            let mut chunk = [0u8; 16 * 1024];
            let open = loop {
                match conn.stream.read(&mut chunk) {
                    Ok(0) => break false,
                    Ok(n) => {
                        busy = true;
                        conn.last_rx = now;
                        conn.buf
                            .extend_from_slice(chunk.get(..n).unwrap_or_default());
                        if conn.buf.len() > 2 * 65_536 {
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
                if conn.buf.len() < 6 {
                    break;
                }
                match v3_frame_len(&conn.buf) {
                    Some(len) if len >= 6 => {
                        if conn.buf.len() < len {
                            break;
                        }
                        let rest = conn.buf.split_off(len);
                        packets.push((conn.peer, std::mem::replace(&mut conn.buf, rest)));
                    }
                    _ => {
                        bump(&c.malformed);
                        bump(&c.closed_malformed);
                        return false;
                    }
                }
            }
            if !open {
                bump(&c.closed_by_peer);
                return false;
            }
            if idle_timeout.is_some_and(|t| now.saturating_duration_since(conn.last_rx) >= t) {
                bump(&c.closed_idle);
                return false;
            }
            true
        });
        while let Ok((stream, peer)) = listener.accept() {
            busy = true;
            let ip = canonical(peer.ip());
            if conns.iter().filter(|k| k.ip == ip).count() >= self.opts.max_per_peer {
                if !evict_idlest(conns, now, |k| k.ip == ip) {
                    bump(&c.refused_per_peer);
                    continue; // dropped: closed
                }
                bump(&c.evicted);
            }
            if conns.len() >= self.opts.max_conns {
                if !evict_idlest(conns, now, |_| true) {
                    bump(&c.refused_total);
                    continue;
                }
                bump(&c.evicted);
            }
            bump(&c.accepted);
            if stream.set_nonblocking(true).is_err() {
                bump(&c.closed_by_peer); // a socket that fails at once is as good as closed
                continue;
            }
            conns.push(Conn {
                stream,
                peer,
                ip,
                buf: Vec::new(),
                last_rx: now,
            });
        }
        c.open.store(conns.len() as u64, Ordering::Relaxed);
        for (peer, p) in packets {
            self.accept_packet(peer, &p);
        }
        busy
    }
}

/// Closes the connection among those matching `which` that has been silent longest, when
/// it has been silent for [`EVICT_MIN_IDLE`] at least; false when none qualifies.
fn evict_idlest(conns: &mut Vec<Conn>, now: Instant, which: impl Fn(&Conn) -> bool) -> bool {
    let idlest = conns
        .iter()
        .enumerate()
        .filter(|(_, k)| which(k))
        .min_by_key(|(_, k)| k.last_rx)
        .filter(|(_, k)| now.saturating_duration_since(k.last_rx) >= EVICT_MIN_IDLE)
        .map(|(i, _)| i);
    match idlest {
        Some(i) => {
            conns.swap_remove(i);
            true
        }
        None => false,
    }
}

/// The address a peer is bounded by: a v4-mapped IPv6 address (dual-stack socket) as the
/// IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(a)),
        a => a,
    }
}

/// A UDP socket bound to `addr` whose receive buffer was sized (`set_rcvbuf`) before the
/// bind: a datagram that arrives as soon as the port is open already finds the buffer asked
/// for (sized after the bind, a burst in between met the system default).
#[cfg(unix)]
fn bind_udp(addr: SocketAddr, rcvbuf: usize) -> std::io::Result<(UdpSocket, Option<u64>)> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let fd = rustix::net::socket_with(family, SocketType::DGRAM, SocketFlags::CLOEXEC, None)?;
    let sock = UdpSocket::from(fd);
    let granted = set_rcvbuf(&sock, rcvbuf);
    rustix::net::bind(&sock, &addr)?;
    Ok((sock, granted))
}

/// Elsewhere the socket is bound first and its buffer left as the system sets it.
#[cfg(not(unix))]
fn bind_udp(addr: SocketAddr, rcvbuf: usize) -> std::io::Result<(UdpSocket, Option<u64>)> {
    let sock = UdpSocket::bind(addr)?;
    let granted = set_rcvbuf(&sock, rcvbuf);
    Ok((sock, granted))
}

/// Asks for a receive buffer of `bytes` (0: leave the system default) and returns the size
/// the kernel granted. As root the system cap (`net.core.rmem_max`) is passed over with
/// SO_RCVBUFFORCE: a collector must not lose a burst to a default sized for desktops.
#[cfg(unix)]
fn set_rcvbuf(sock: &UdpSocket, bytes: usize) -> Option<u64> {
    use rustix::net::sockopt;
    if bytes > 0 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let forced = sockopt::set_socket_recv_buffer_size_force(sock, bytes).is_ok();
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let forced = false;
        if !forced {
            // Refused or capped: what was granted is reported, which is what matters.
            let _ = sockopt::set_socket_recv_buffer_size(sock, bytes);
        }
    }
    sockopt::get_socket_recv_buffer_size(sock)
        .ok()
        .map(|n| n as u64)
}

/// Without a safe socket-option API here, the system default stays, and is not known.
#[cfg(not(unix))]
fn set_rcvbuf(_sock: &UdpSocket, _bytes: usize) -> Option<u64> {
    None
}

/// The inode of a socket, which names it in `/proc/net/udp`: the target of its
/// `/proc/self/fd` link reads `socket:[INODE]`.
#[cfg(target_os = "linux")]
fn socket_inode(sock: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", sock.as_raw_fd())).ok()?;
    link.to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// No `/proc/net/udp` off Linux: the drop counter stays unknown.
#[cfg(not(target_os = "linux"))]
fn socket_inode(_sock: &UdpSocket) -> Option<u64> {
    None
}

/// The kernel's drop count of the UDP socket with this inode, from `/proc/net/udp` or
/// `/proc/net/udp6`.
fn kernel_drops(inode: u64) -> Option<u64> {
    ["/proc/net/udp", "/proc/net/udp6"].iter().find_map(|p| {
        let table = std::fs::read_to_string(p).ok()?;
        udp_table_drops(&table, inode)
    })
}

/// The `drops` column (the last) of the row of `table` (the text of `/proc/net/udp` or
/// `udp6`) whose `inode` column (the tenth) is `inode`.
fn udp_table_drops(table: &str, inode: u64) -> Option<u64> {
    let want = inode.to_string();
    table.lines().skip(1).find_map(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        if cols.get(9) != Some(&want.as_str()) || cols.len() < 13 {
            return None;
        }
        cols.last()?.parse().ok()
    })
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
                // The last reading, while the socket (and its /proc row) still exists.
                self.read_kernel_drops();
                return Ok(None);
            }
            if matches!(self.kind, Kind::Udp { .. }) {
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

    /// A UDP listener's kernel drops, beside libpcap's in the capture counters; None where
    /// the kernel keeps no count for the socket (TCP, or not Linux).
    fn counters(&mut self) -> Option<SourceCounters> {
        self.read_kernel_drops();
        let s = self.stats.snapshot();
        Some(SourceCounters {
            received: s.received,
            dropped: s.kernel_drops?,
            if_dropped: 0,
        })
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

    /// `/proc/net/udp` as Linux 6.x prints it (the header, then one row per socket).
    const UDP_TABLE: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  245: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 18234 2 ffff8f0d8a2d4000 0
 1279: 0100007F:2384 00000000:0000 07 00000000:00005200 00:00000000 00000000     0        0 912345 2 ffff8f0d8a2d6c00 4242
";
    const UDP6_TABLE: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  12: 00000000000000000000000001000000:2384 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 55 2 ffff8f0d8a2d7000 17
";

    #[test]
    fn drops_column_by_inode() {
        assert_eq!(udp_table_drops(UDP_TABLE, 912345), Some(4242));
        assert_eq!(udp_table_drops(UDP_TABLE, 18234), Some(0));
        // Not a prefix match, and the header is no row.
        assert_eq!(udp_table_drops(UDP_TABLE, 91234), None);
        assert_eq!(udp_table_drops(UDP_TABLE, 0), None);
        assert_eq!(udp_table_drops(UDP6_TABLE, 55), Some(17));
        // A row cut short (an older kernel without the column) gives nothing, not a guess.
        assert_eq!(
            udp_table_drops(
                "h\n 1: 0100007F:2384 00000000:0000 07 0:0 0:0 0 0 0 77\n",
                77
            ),
            None
        );
    }

    /// A burst into a tiny buffer that nobody reads: the kernel drops, and the listener
    /// reports exactly what it dropped.
    #[cfg(target_os = "linux")]
    #[test]
    fn udp_kernel_drops_are_counted() {
        let opts = ListenOptions {
            rcvbuf: 4096,
            ..ListenOptions::default()
        };
        let mut l = HepListener::bind_with("udp:127.0.0.1:0", opts).unwrap();
        let granted = l.stats().rcvbuf_bytes.unwrap();
        assert!(granted < 64 * 1024, "granted {granted}");
        assert_eq!(l.stats().kernel_drops, Some(0));
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = hep(&[b'x'; 600]);
        let sent = 400u64;
        for _ in 0..sent {
            tx.send_to(&p, l.local_addr()).unwrap();
        }
        // Read what the buffer kept, then stop.
        let stop = l.stop_handle();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(600));
            stop.store(true, Ordering::Relaxed);
        });
        while l.next_frame().unwrap().is_some() {}
        t.join().unwrap();
        let s = l.stats();
        let drops = s.kernel_drops.unwrap();
        assert!(drops > 0 && s.packets > 0, "{s:?}");
        assert_eq!(s.packets + drops, sent, "{s:?}");
        assert_eq!(s.received, s.packets);
        let c = l.counters().unwrap();
        assert_eq!((c.received, c.dropped), (s.received, drops));
    }

    #[test]
    fn tcp_listener_has_no_kernel_drop_counter() {
        let mut l = HepListener::bind("tcp:127.0.0.1:0").unwrap();
        let s = l.stats();
        assert_eq!((s.kernel_drops, s.rcvbuf_bytes), (None, None));
        assert_eq!(s.tcp, Some(TcpStats::default()));
        assert!(l.counters().is_none());
    }

    /// Polls until `f` holds of the counters (at most 3 s).
    fn poll_until(l: &mut HepListener, f: impl Fn(&TcpStats) -> bool) -> TcpStats {
        let t0 = Instant::now();
        loop {
            l.poll_tcp();
            let t = l.stats().tcp.unwrap();
            if f(&t) || t0.elapsed() > Duration::from_secs(3) {
                return t;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the listener closed `c` (EOF or reset within 2 s).
    fn closed(c: &mut TcpStream) -> bool {
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut b = [0u8; 16];
        matches!(c.read(&mut b), Ok(0))
            || matches!(c.read(&mut b), Err(e) if e.kind() == ErrorKind::ConnectionReset)
    }

    /// Accounting holds: every accepted connection is open or closed once.
    fn balanced(t: &TcpStats) -> bool {
        t.accepted == t.open + t.closed_by_peer + t.closed_idle + t.closed_malformed + t.evicted
    }

    #[test]
    fn tcp_bounds_evict_the_idlest_before_refusing() {
        let opts = ListenOptions {
            idle_timeout: None,
            max_per_peer: 2,
            max_conns: 3,
            ..ListenOptions::default()
        };
        let mut l = HepListener::bind_with("tcp:127.0.0.1:0", opts).unwrap();
        let a = l.local_addr();
        let mut first = TcpStream::connect(a).unwrap();
        let t = poll_until(&mut l, |t| t.accepted == 1);
        assert_eq!(t.open, 1);
        let mut second = TcpStream::connect(a).unwrap();
        poll_until(&mut l, |t| t.accepted == 2);
        // Both still fresh: a third from the same address is refused, not let in.
        let mut third = TcpStream::connect(a).unwrap();
        let t = poll_until(&mut l, |t| t.refused_per_peer == 1);
        assert_eq!((t.refused_per_peer, t.evicted, t.open), (1, 0, 2), "{t:?}");
        assert!(closed(&mut third));
        // `second` keeps sending, `first` goes quiet: the newcomer replaces `first`.
        std::thread::sleep(EVICT_MIN_IDLE / 2);
        second
            .write_all(&hep(b"OPTIONS sip:a SIP/2.0\r\n\r\n"))
            .unwrap();
        let t0 = Instant::now();
        while l.stats().packets == 0 && t0.elapsed() < Duration::from_secs(3) {
            l.poll_tcp();
        }
        std::thread::sleep(EVICT_MIN_IDLE / 2 + Duration::from_millis(100));
        let _fourth = TcpStream::connect(a).unwrap();
        let t = poll_until(&mut l, |t| t.evicted == 1);
        assert_eq!((t.accepted, t.evicted, t.open), (3, 1, 2), "{t:?}");
        assert!(closed(&mut first), "the idlest goes");
        assert_eq!(l.stats().packets, 1);
        assert!(balanced(&t), "{t:?}");
    }

    #[test]
    fn tcp_total_bound_evicts_across_addresses() {
        let opts = ListenOptions {
            idle_timeout: None,
            max_per_peer: 8,
            max_conns: 2,
            ..ListenOptions::default()
        };
        let mut l = HepListener::bind_with("tcp:127.0.0.1:0", opts).unwrap();
        let a = l.local_addr();
        let mut idle = [
            TcpStream::connect(a).unwrap(),
            TcpStream::connect(a).unwrap(),
        ];
        poll_until(&mut l, |t| t.accepted == 2);
        let mut early = TcpStream::connect(a).unwrap();
        let t = poll_until(&mut l, |t| t.refused_total == 1);
        assert_eq!((t.refused_total, t.refused_per_peer), (1, 0), "{t:?}");
        assert!(closed(&mut early));
        std::thread::sleep(EVICT_MIN_IDLE + Duration::from_millis(100));
        let mut agent = TcpStream::connect(a).unwrap();
        let t = poll_until(&mut l, |t| t.evicted == 1);
        assert_eq!((t.accepted, t.open), (3, 2), "{t:?}");
        agent
            .write_all(&hep(b"OPTIONS sip:a SIP/2.0\r\n\r\n"))
            .unwrap();
        let f = l.next_frame().unwrap().unwrap();
        assert!(segments(&f)[0].payload.starts_with(b"OPTIONS"));
        assert!(closed(&mut idle[0]) || closed(&mut idle[1]));
    }

    #[test]
    fn tcp_idle_timeout_closes_silent_connections() {
        let opts = ListenOptions {
            idle_timeout: Some(Duration::from_millis(300)),
            ..ListenOptions::default()
        };
        let mut l = HepListener::bind_with("tcp:127.0.0.1:0", opts).unwrap();
        let a = l.local_addr();
        let mut quiet = TcpStream::connect(a).unwrap();
        let mut talker = TcpStream::connect(a).unwrap();
        poll_until(&mut l, |t| t.accepted == 2);
        let t0 = Instant::now();
        // The talker sends more often than the timeout and stays.
        while t0.elapsed() < Duration::from_millis(600) {
            talker
                .write_all(&hep(b"OPTIONS sip:a SIP/2.0\r\n\r\n"))
                .unwrap();
            poll_until(&mut l, |_| true);
            std::thread::sleep(Duration::from_millis(100));
        }
        let t = poll_until(&mut l, |t| t.closed_idle == 1);
        assert_eq!((t.closed_idle, t.open), (1, 1), "{t:?}");
        assert!(closed(&mut quiet));
        // The peer closing is told apart from the timeout.
        drop(talker);
        let t = poll_until(&mut l, |t| t.closed_by_peer == 1);
        assert_eq!(
            (t.closed_by_peer, t.closed_idle, t.open),
            (1, 1, 0),
            "{t:?}"
        );
        assert!(balanced(&t), "{t:?}");
    }

    #[test]
    fn tcp_desync_is_counted_as_malformed_and_closed() {
        let mut l = HepListener::bind("tcp:127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr()).unwrap();
        c.write_all(b"GARBAGE!").unwrap();
        let t = poll_until(&mut l, |t| t.closed_malformed == 1);
        assert_eq!(t.closed_malformed, 1);
        assert_eq!(l.stats().malformed, 1);
        assert!(balanced(&t));
    }
}
