//! Network decode: link layer, IP (with fragment reassembly), UDP and TCP (with stream
//! reassembly, then SIP framing and WebSocket in the stream layer). Output is a stream of
//! [`Segment`]s.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use crate::capture::{Frame, FrameRef, LinkType, Timestamp};

pub(crate) mod defrag;
pub mod icmp;
pub(crate) mod ip;
pub(crate) mod link;
mod sctp;
pub mod sipframe;
mod stream;
mod tcp;
pub mod tls_decrypt;
pub mod tls_stream;
mod tunnel;
pub mod websocket;

pub use sipframe::{frame_stream, frame_stream_bounded, looks_like_sip_start, StreamFrame};

/// Transport protocol a segment arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// UDP datagram (one segment per datagram, after IP reassembly).
    Udp,
    /// One SIP message framed out of a reassembled TCP stream.
    Tcp,
    /// One SIP message framed out of the decrypted application data of a TLS connection
    /// (SIP over TLS, RFC 3261 §26.2.1, RFC 5630), decrypted with a key log or an RSA key
    /// ([`tls_decrypt`]). Encrypted signaling on the wire.
    Tls,
    /// TLS records from one direction of a TCP stream that opened with a TLS handshake
    /// record, for the handshake audit (not SIP). The payload is whole records, in order:
    /// handshake, change_cipher_spec and alert records of the cleartext handshake phase
    /// with their bodies, and application_data records (content type 23) as their 5-byte
    /// header only, the encrypted body elided (its length stays in the header). See
    /// [`tls_stream`].
    TlsRecords,
    /// One SIP message carried as one SCTP user message (RFC 4168 §5), after fragment
    /// reassembly. See [`sctp`].
    Sctp,
    /// One SIP message carried in a WebSocket message (RFC 7118 §5) over a cleartext TCP
    /// connection that was upgraded with the RFC 6455 §4 handshake. See [`websocket`].
    Ws,
    /// One SIP message carried in a WebSocket message inside TLS (RFC 7118 §5, the `wss`
    /// scheme of RFC 6455 §3): produced when decrypted TLS plaintext is fed to the stream
    /// layer. Encrypted signaling.
    Wss,
}

impl Transport {
    /// Upper-case name as used in Via headers and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls | Transport::TlsRecords => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// The transport of SIP carried in WebSocket messages over this one (RFC 7118 §5):
    /// WSS over TLS (or WSS), WS otherwise.
    pub fn over_websocket(self) -> Transport {
        match self {
            Transport::Tls | Transport::TlsRecords | Transport::Wss => Transport::Wss,
            Transport::Udp | Transport::Tcp | Transport::Sctp | Transport::Ws => Transport::Ws,
        }
    }
}

/// One transport payload ready for the application layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Frame number (1-based) of the frame that completed this payload: the last fragment
    /// of a datagram or the last TCP segment of a message, as Wireshark reports it.
    pub frame: u64,
    /// Timestamp of that frame.
    pub ts: Timestamp,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Transport protocol.
    pub transport: Transport,
    /// The payload: borrowed from the frame for plain UDP, owned after reassembly.
    pub payload: Cow<'a, [u8]>,
    /// HEP (HOMER encapsulation): set when this payload was carried inside a HEP packet;
    /// `src`, `dst`, `ts` and `transport` are then the ones the HEP envelope gave.
    pub hep: Option<crate::hep::HepMeta>,
    /// Set when this payload is the quote inside an ICMP Destination Unreachable: the
    /// datagram `src` sent to `dst` never arrived (see [`icmp`]). Boxed: rare, and every
    /// segment carries the field.
    pub icmp: Option<Box<icmp::IcmpQuote>>,
}

/// Bounds on every table the decoder keeps, so that a capture of days cannot grow memory
/// without bound. Times are packet time (from [`Frame::ts`]), never wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetLimits {
    /// Datagrams reassembled at once (default 1024); the oldest is evicted beyond.
    pub max_fragment_buffers: usize,
    /// Largest reassembled IP payload in bytes (default 65535 + 8, the most an IPv4 fragment
    /// offset plus a full fragment can describe is larger, and is refused).
    pub max_datagram_bytes: usize,
    /// Bytes held by all fragment buffers together (default 16 MiB).
    pub max_fragment_bytes: usize,
    /// A datagram not completed this long after its first fragment is dropped (default 30 s,
    /// the upper bound RFC 8200 §4.5 gives for IPv6 reassembly).
    pub fragment_timeout_ns: u64,
    /// TCP directions tracked at once (default 4096); the least recently active is evicted.
    pub max_tcp_streams: usize,
    /// Bytes buffered per TCP direction for an incomplete SIP message, and per direction for
    /// out-of-order data (default 256 KiB). Also the largest SIP message framed over TCP.
    pub max_buffered_bytes: usize,
    /// Out-of-order segments buffered per direction (default 64).
    pub max_out_of_order: usize,
    /// Bytes buffered across all TCP directions (default 64 MiB): past it, the least
    /// recently active directions are evicted, so many half-sent messages cannot add up to
    /// `max_tcp_streams` × `max_buffered_bytes`.
    pub max_tcp_total_bytes: usize,
    /// A TCP direction idle this long is forgotten (default 300 s).
    pub tcp_idle_timeout_ns: u64,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_fragment_buffers: 1024,
            max_datagram_bytes: 65_535 + 8,
            max_fragment_bytes: 16 * 1024 * 1024,
            fragment_timeout_ns: 30_000_000_000,
            max_tcp_streams: 4096,
            max_buffered_bytes: 256 * 1024,
            max_out_of_order: 64,
            max_tcp_total_bytes: 64 * 1024 * 1024,
            tcp_idle_timeout_ns: 300_000_000_000,
        }
    }
}

/// Decode counters, for the report's "what was skipped and why".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetStats {
    /// Frames seen.
    pub frames: u64,
    /// Captured bytes seen.
    pub bytes: u64,
    /// Frames with no captured bytes.
    pub zero_length: u64,
    /// Frames or headers cut short by the snaplen, or malformed headers.
    pub truncated: u64,
    /// Frames per unknown link type number (the report names them with `LinkType::name`).
    pub unknown_link_types: BTreeMap<u32, u64>,
    /// Frames carrying something else than IP (ARP, LLC, ...).
    pub non_ip: u64,
    /// IPv4 headers decoded (tunnelled ones included).
    pub ipv4: u64,
    /// IPv6 headers decoded (tunnelled ones included).
    pub ipv6: u64,
    /// UDP datagrams (after reassembly).
    pub udp: u64,
    /// UDP datagrams with an empty payload (skipped).
    pub udp_empty: u64,
    /// TCP segments.
    pub tcp: u64,
    /// IP payloads of other protocols (ICMP, SCTP, ESP, ...), or tunnels nested too deep.
    pub other_ip_protocol: u64,
    /// IP-in-IP (IPv4 or IPv6 in IPv4 or IPv6) packets decapsulated.
    pub ip_in_ip: u64,
    /// GRE packets followed (RFC 2784/2890, PPTP, ERSPAN).
    pub gre: u64,
    /// VXLAN datagrams followed (RFC 7348, UDP port 4789).
    pub vxlan: u64,
    /// GTP-U G-PDUs decapsulated (3GPP TS 29.281, UDP port 2152): the IP packet a mobile
    /// phone sent or received, as captured on an operator's S1-U/N3 interface.
    pub gtpu: u64,
    /// GTP-U messages carrying no IP packet (echo, error indication, end marker; or a
    /// non-IP PDU), skipped.
    pub gtpu_other: u64,
    /// ICMP Destination Unreachable errors (ICMPv4 type 3, ICMPv6 type 1).
    pub icmp_unreachable: u64,
    /// Of those, errors quoting a UDP datagram with payload: handed up as a segment of
    /// that datagram, marked as never delivered.
    pub icmp_quoted_udp: u64,
    /// SCTP packets (RFC 9260) decoded.
    pub sctp: u64,
    /// SCTP DATA chunks.
    pub sctp_data_chunks: u64,
    /// SCTP chunks other than DATA (INIT, SACK, HEARTBEAT, I-DATA...), not followed.
    pub sctp_other_chunks: u64,
    /// SCTP user messages delivered (each one SIP message candidate, RFC 4168 §5).
    pub sctp_messages: u64,
    /// DATA chunks that were fragments of a larger user message.
    pub sctp_fragments: u64,
    /// User messages completed from fragments.
    pub sctp_reassembled: u64,
    /// DATA chunks whose TSN was seen before in that direction (retransmissions), dropped.
    pub sctp_duplicates: u64,
    /// Partial user messages dropped because a fragment was missing.
    pub sctp_gaps: u64,
    /// Ordered user messages whose stream sequence number was not the next one (delivered
    /// anyway, in capture order).
    pub sctp_out_of_order: u64,
    /// User messages larger than `max_buffered_bytes`, dropped.
    pub sctp_oversize_messages: u64,
    /// SCTP directions (or their partial messages) evicted by the TCP bounds, which SCTP
    /// shares (`max_tcp_streams`, `max_tcp_total_bytes`).
    pub sctp_evictions: u64,
    /// IP fragments seen.
    pub fragments: u64,
    /// Datagrams completed by reassembly.
    pub datagrams_reassembled: u64,
    /// Fragment buffers evicted because a table or memory bound was hit.
    pub fragment_evictions: u64,
    /// Fragment buffers dropped after the reassembly timeout.
    pub fragment_timeouts: u64,
    /// Fragments overlapping data already received (newest copy kept).
    pub fragment_overlaps: u64,
    /// Fragments contradicting the datagram length given by the last fragment (ignored).
    pub fragment_inconsistent: u64,
    /// Fragments reaching past the largest datagram allowed (datagram dropped).
    pub fragment_oversize: u64,
    /// TCP directions opened (first SYN or data seen).
    pub tcp_streams: u64,
    /// TCP directions evicted because the table was full.
    pub tcp_stream_evictions: u64,
    /// TCP directions evicted because all buffers together passed `max_tcp_total_bytes`.
    pub tcp_memory_evictions: u64,
    /// TCP directions forgotten after the idle timeout while still open.
    pub tcp_idle_timeouts: u64,
    /// TCP segments whose data had been received already (fully or partly).
    pub tcp_retransmissions: u64,
    /// TCP segments received ahead of a hole.
    pub tcp_out_of_order: u64,
    /// Holes in TCP streams skipped.
    pub tcp_gaps: u64,
    /// Bytes missing in those holes.
    pub tcp_gap_bytes: u64,
    /// Times a per-direction bound (out-of-order segments or buffered bytes) was hit.
    pub tcp_buffer_overflows: u64,
    /// Buffered bytes of unfinished messages dropped (gap, overflow, close, timeout).
    pub tcp_incomplete_bytes: u64,
    /// SIP messages framed from TCP streams.
    pub tcp_sip_messages: u64,
    /// TCP bytes discarded as not SIP.
    pub tcp_non_sip_bytes: u64,
    /// TCP directions proven not to carry SIP (no longer buffered).
    pub tcp_non_sip_streams: u64,
    /// SIP messages over TCP longer than the buffer bound (skipped).
    pub tcp_oversize_messages: u64,
    /// Bytes of those messages skipped.
    pub tcp_oversize_bytes: u64,
    /// CRLF keepalives over TCP (RFC 5626 §3.5.1 ping "\r\n\r\n" and pong "\r\n").
    pub sip_keepalives: u64,
    /// TCP directions that opened with a TLS handshake record (SIP over TLS is analysed
    /// from its handshake only; the messages inside are encrypted).
    pub tls_streams: u64,
    /// Cleartext handshake-phase TLS records passed up (handshake, change_cipher_spec,
    /// alert).
    pub tls_handshake_records: u64,
    /// TLS directions whose handshake passed [`tls_stream::MAX_HANDSHAKE_BYTES`] (the rest
    /// of it is dropped).
    pub tls_handshake_truncated: u64,
    /// Encrypted application_data records counted (bodies dropped).
    pub tls_app_records: u64,
    /// Bytes of those records (record bodies, headers excluded).
    pub tls_app_bytes: u64,
    /// TLS directions that lost record framing (a gap, or bytes that are no record header);
    /// their later bytes are dropped.
    pub tls_desyncs: u64,
    /// Bytes dropped after a TLS direction lost record framing.
    pub tls_unsynced_bytes: u64,
    /// HEP packets decapsulated (UDP payloads with HEPv3 magic, or a strict HEPv1/v2 header).
    pub hep_packets: u64,
    /// HEP packets refused as malformed (bad chunk, length, or no payload).
    pub hep_malformed: u64,
    /// HEP packets carrying something else than SIP, RTP or raw RTCP (logs, JSON reports).
    pub hep_other: u64,
    /// SIP over WebSocket (RFC 7118): left out of the JSON when no WebSocket was seen.
    #[serde(skip_serializing_if = "WsStats::is_empty")]
    pub websocket: WsStats,
    /// TLS decryption: left out of the JSON when no TLS connection carried application data.
    #[serde(skip_serializing_if = "TlsDecryptStats::is_empty")]
    pub tls_decrypt: TlsDecryptStats,
}

/// TLS decryption counters (`net.tls_decrypt` in the JSON report): what the key log or
/// RSA keys given opened, and what stayed encrypted and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsDecryptStats {
    /// Key log sessions (client randoms) and RSA keys loaded, from files and from pcapng
    /// Decryption Secrets Blocks.
    pub keylog_sessions: u64,
    /// RSA private keys loaded (`--tls-key`).
    pub rsa_keys: u64,
    /// TLS connections with at least one record decrypted.
    pub sessions_decrypted: u64,
    /// TLS connections that carried application data not decrypted for want of keys: no
    /// key given, the key log lacks the session, or the handshake was not captured.
    pub sessions_without_keys: u64,
    /// TLS connections whose records failed authentication with the keys given (keys
    /// that do not match, or a record lost): nothing of those records is parsed.
    pub sessions_failed: u64,
    /// TLS connections with a version or cipher suite siplens does not decrypt.
    pub sessions_unsupported: u64,
    /// Records decrypted (handshake and application data).
    pub records_decrypted: u64,
    /// Records that failed authentication (MAC, AEAD tag or padding).
    pub records_failed: u64,
    /// Encrypted records not attempted: no keys, or not supported.
    pub records_undecrypted: u64,
    /// Application data bytes decrypted and handed to SIP framing.
    pub plaintext_bytes: u64,
}

impl TlsDecryptStats {
    /// Nothing to report: no key loaded and no TLS application data seen.
    pub fn is_empty(&self) -> bool {
        *self == TlsDecryptStats::default()
    }
}

/// WebSocket counters (RFC 6455 framing, RFC 7118 SIP over WebSocket), `net.websocket` in
/// the JSON report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WsStats {
    /// Directions read as WebSocket: after an upgrade handshake, or found mid-stream by a
    /// frame carrying a SIP start line.
    pub streams: u64,
    /// Upgrade handshakes seen (`GET` with `Upgrade: websocket`, and the `101` answering
    /// it, RFC 6455 §4).
    pub handshakes: u64,
    /// Of those, handshakes whose `Sec-WebSocket-Protocol` does not name `sip` (RFC 7118
    /// §4.1); their frames are read all the same.
    pub other_protocols: u64,
    /// Frames decoded (RFC 6455 §5.2).
    pub frames: u64,
    /// Control frames: ping, pong, close (RFC 6455 §5.5).
    pub control_frames: u64,
    /// Data messages completed (one frame, or a first frame and its continuations).
    pub messages: u64,
    /// Of those, messages reassembled from several frames (RFC 6455 §5.4).
    pub fragmented_messages: u64,
    /// SIP messages framed out of WebSocket messages.
    pub sip_messages: u64,
    /// Of those, SIP messages cut short inside their WebSocket message (a
    /// `Content-Length` past the payload), handed up as they are.
    pub cut_sip_messages: u64,
    /// Bytes of WebSocket messages that are not SIP (another subprotocol's data).
    pub non_sip_bytes: u64,
    /// Frames breaking RFC 6455: reserved opcode, RSV bits without an extension (or
    /// compression, not decoded), fragmented or long control frame, a continuation with no
    /// message, a data frame inside an unfinished message, a 64-bit length with the top bit
    /// set.
    pub bad_frames: u64,
    /// Frames whose payload is larger than `max_buffered_bytes` (skipped, never buffered).
    pub oversize_frames: u64,
    /// Bytes of those frames skipped.
    pub oversize_bytes: u64,
    /// Messages larger than `max_buffered_bytes` once reassembled (dropped).
    pub oversize_messages: u64,
    /// Unfinished fragmented messages dropped (a hole, a bad frame, a new message started).
    pub dropped_messages: u64,
    /// Times frame boundaries were lost (a hole in the stream, a bad header, an overflow).
    pub desyncs: u64,
    /// Bytes dropped while frame boundaries were lost.
    pub unsynced_bytes: u64,
    /// Times a frame boundary was found by a data frame carrying a SIP start line: after
    /// a loss, or in a direction seen without its handshake.
    pub resyncs: u64,
}

impl WsStats {
    /// No WebSocket seen: every counter is zero.
    pub fn is_empty(&self) -> bool {
        *self == WsStats::default()
    }
}

impl NetStats {
    /// Frames or payloads the decoder could not use: snaplen-cut or malformed headers,
    /// inconsistent or oversize fragments, SIP messages over the stream buffer bound,
    /// malformed HEP packets, WebSocket frames breaking RFC 6455 or over the buffer bound.
    pub fn decode_errors(&self) -> u64 {
        self.truncated
            + self.fragment_inconsistent
            + self.fragment_oversize
            + self.tcp_oversize_messages
            + self.sctp_oversize_messages
            + self.hep_malformed
            + self.websocket.bad_frames
            + self.websocket.oversize_frames
            + self.websocket.oversize_messages
    }
}

/// Frame number and time of the frame being decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    frame: u64,
    ts: Timestamp,
}

/// Payload bytes either borrowed from the frame (`'a`) or from a reassembled buffer local to
/// the decode call (`'b`), which must be copied into an owned segment.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bytes<'a, 'b> {
    /// Borrowed from the frame.
    Frame(&'a [u8]),
    /// Borrowed from a temporary buffer.
    Local(&'b [u8]),
}

impl<'a, 'b> Bytes<'a, 'b> {
    fn get(&self) -> &[u8] {
        match *self {
            Bytes::Frame(s) => s,
            Bytes::Local(s) => s,
        }
    }
    /// The bytes from `from` on (empty past the end).
    fn sub(self, from: usize) -> Self {
        self.range(from, usize::MAX)
    }
    /// The bytes in `from..to`, clamped to the data.
    fn range(self, from: usize, to: usize) -> Self {
        let cut = |s: &[u8]| -> (usize, usize) {
            let to = to.min(s.len());
            (from.min(to), to)
        };
        match self {
            Bytes::Frame(s) => {
                let (f, t) = cut(s);
                Bytes::Frame(s.get(f..t).unwrap_or_default())
            }
            Bytes::Local(s) => {
                let (f, t) = cut(s);
                Bytes::Local(s.get(f..t).unwrap_or_default())
            }
        }
    }
    fn to_cow(self) -> Cow<'a, [u8]> {
        match self {
            Bytes::Frame(s) => Cow::Borrowed(s),
            Bytes::Local(s) => Cow::Owned(s.to_vec()),
        }
    }
}

/// Tunnel nesting followed (IP-in-IP, GRE, VXLAN, GTP-U); deeper tunnels are counted as other
/// protocols.
const MAX_TUNNEL_DEPTH: u8 = 1;

/// Decodes frames into [`Segment`]s: link layer, IP (with fragment reassembly), UDP, and TCP
/// (with stream reassembly and SIP framing).
///
/// Stateful (fragment and TCP tables), deterministic (packet time only), bounded by
/// [`NetLimits`], and it never panics on any input.
#[derive(Debug)]
pub struct Decoder {
    limits: NetLimits,
    stats: NetStats,
    defrag: defrag::Defragmenter,
    tcp: tcp::TcpReassembler,
    sctp: sctp::SctpReassembler,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(NetLimits::default())
    }
}

impl Decoder {
    /// A decoder with the given bounds.
    pub fn new(limits: NetLimits) -> Self {
        Decoder {
            limits,
            stats: NetStats::default(),
            defrag: defrag::Defragmenter::default(),
            tcp: tcp::TcpReassembler::default(),
            sctp: sctp::SctpReassembler::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// The bounds in use.
    pub fn limits(&self) -> &NetLimits {
        &self.limits
    }

    /// The TLS secrets in use.
    pub fn tls_keys(&self) -> &tls_decrypt::KeyLog {
        &self.tcp.keys
    }

    /// Decrypts TLS with these secrets, replacing any given before.
    pub fn set_tls_keys(&mut self, keys: tls_decrypt::KeyLog) {
        self.stats.tls_decrypt.keylog_sessions = keys.sessions() as u64;
        self.stats.tls_decrypt.rsa_keys = keys.rsa_keys() as u64;
        self.tcp.keys = keys;
    }

    /// Adds TLS secrets in the NSS key log format (`SSLKEYLOGFILE`, or the text of a pcapng
    /// Decryption Secrets Block); TLS connections whose handshake comes later are decrypted.
    /// Returns the number of entries added; `source` names the file in errors.
    pub fn add_tls_keylog(
        &mut self,
        text: &[u8],
        source: &str,
    ) -> Result<usize, tls_decrypt::KeyLogError> {
        let n = self.tcp.keys.add_nss(text, source)?;
        self.stats.tls_decrypt.keylog_sessions = self.tcp.keys.sessions() as u64;
        Ok(n)
    }

    /// Adds an RSA private key (PEM) for TLS 1.2 connections with RSA key exchange.
    pub fn add_tls_rsa_key(
        &mut self,
        pem: &str,
        source: &str,
    ) -> Result<(), tls_decrypt::KeyLogError> {
        self.tcp.keys.add_rsa_pem(pem, source)?;
        self.stats.tls_decrypt.rsa_keys = self.tcp.keys.rsa_keys() as u64;
        Ok(())
    }

    /// Decodes one frame; pushes zero or more segments: one per UDP datagram (borrowed from
    /// the frame, or owned after IP reassembly) and one per SIP message framed out of a TCP
    /// stream (borrowed when wholly inside this frame, owned when it spans segments).
    pub fn decode<'a>(&mut self, frame: &'a Frame, out: &mut Vec<Segment<'a>>) {
        self.decode_ref(frame.borrowed(), out);
    }

    /// [`Self::decode`] of a borrowed frame (its bytes perhaps still in the source's read
    /// buffer, [`crate::capture::FrameSource::lend_frame`]).
    pub fn decode_ref<'a>(&mut self, frame: FrameRef<'a>, out: &mut Vec<Segment<'a>>) {
        self.stats.frames += 1;
        self.stats.bytes += frame.data.len() as u64;
        if frame.data.is_empty() {
            self.stats.zero_length += 1;
            return;
        }
        let ctx = Ctx {
            frame: frame.number,
            ts: frame.ts,
        };
        match link::decapsulate(frame.link_type, frame.data) {
            link::Link::Ip(data) => self.ip(ctx, Bytes::Frame(data), 0, out),
            link::Link::NonIp => self.stats.non_ip += 1,
            link::Link::Truncated => self.stats.truncated += 1,
            link::Link::Unknown => {
                *self
                    .stats
                    .unknown_link_types
                    .entry(frame.link_type.0)
                    .or_insert(0) += 1;
            }
        }
    }

    fn ip<'a>(&mut self, ctx: Ctx, data: Bytes<'a, '_>, depth: u8, out: &mut Vec<Segment<'a>>) {
        let pkt = match ip::parse(data.get()) {
            ip::Parsed::V4(p) => {
                self.stats.ipv4 += 1;
                p
            }
            ip::Parsed::V6(p) => {
                self.stats.ipv6 += 1;
                p
            }
            ip::Parsed::NotIp => {
                self.stats.non_ip += 1;
                return;
            }
            ip::Parsed::Malformed => {
                self.stats.truncated += 1;
                return;
            }
        };
        // Re-borrow the payload with the frame lifetime when it came from the frame.
        let payload = data.range(pkt.start, pkt.start + pkt.payload.len());
        let (src, dst, proto, truncated) = (pkt.src, pkt.dst, pkt.proto, pkt.truncated);
        let Some(frag) = pkt.frag else {
            self.transport(ctx, src, dst, proto, payload, truncated, depth, out);
            return;
        };
        self.stats.fragments += 1;
        if truncated {
            // A fragment cut by the snaplen cannot complete its datagram.
            self.stats.truncated += 1;
            return;
        }
        let key = defrag::FragKey {
            src,
            dst,
            id: frag.id,
            proto,
        };
        let Some(whole) = self.defrag.insert(
            &self.limits,
            &mut self.stats,
            ctx.ts,
            key,
            frag,
            payload.get(),
        ) else {
            return;
        };
        // For IPv6 the reassembled part may start with more extension headers.
        let (proto, body) = if src.is_ipv6() {
            match ip::walk_extensions(proto, &whole) {
                Ok(w) => (w.proto, w.payload),
                Err(()) => {
                    self.stats.truncated += 1;
                    return;
                }
            }
        } else {
            (proto, whole.as_slice())
        };
        self.transport(ctx, src, dst, proto, Bytes::Local(body), false, depth, out);
    }

    #[allow(clippy::too_many_arguments)] // decoded header fields passed down one layer
    fn transport<'a>(
        &mut self,
        ctx: Ctx,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        data: Bytes<'a, '_>,
        truncated: bool,
        depth: u8,
        out: &mut Vec<Segment<'a>>,
    ) {
        match proto {
            ip::proto::UDP => self.udp(ctx, src, dst, data, truncated, depth, out),
            ip::proto::TCP => self.tcp(ctx, src, dst, data, truncated, out),
            ip::proto::ICMP if src.is_ipv4() => self.icmp(ctx, src, data, false, out),
            ip::proto::ICMPV6 if src.is_ipv6() => self.icmp(ctx, src, data, true, out),
            ip::proto::SCTP => {
                self.sctp
                    .packet(&self.limits, &mut self.stats, ctx, (src, dst), data, out)
            }
            ip::proto::IPIP | ip::proto::IPV6 if depth < MAX_TUNNEL_DEPTH => {
                self.stats.ip_in_ip += 1;
                self.ip(ctx, data, depth + 1, out);
            }
            ip::proto::GRE if depth < MAX_TUNNEL_DEPTH => {
                self.stats.gre += 1;
                match tunnel::gre(data.get()) {
                    tunnel::Inner::Ip(off) => self.ip(ctx, data.sub(off), depth + 1, out),
                    tunnel::Inner::Ethernet(off) => {
                        self.ethernet(ctx, data.sub(off), depth + 1, out)
                    }
                    tunnel::Inner::Truncated => self.stats.truncated += 1,
                    tunnel::Inner::Other => self.stats.other_ip_protocol += 1,
                }
            }
            _ => self.stats.other_ip_protocol += 1,
        }
    }

    /// An ICMP(v6) packet from `reporter`: a Destination Unreachable quoting a UDP
    /// datagram becomes a segment of that datagram marked with the error; every other
    /// ICMP message is counted as another protocol, as before.
    fn icmp<'a>(
        &mut self,
        ctx: Ctx,
        reporter: IpAddr,
        data: Bytes<'a, '_>,
        v6: bool,
        out: &mut Vec<Segment<'a>>,
    ) {
        let Some((reason, quoted)) = icmp::destination_unreachable(data.get(), v6) else {
            self.stats.other_ip_protocol += 1;
            return;
        };
        self.stats.icmp_unreachable += 1;
        let quoted_at = data.get().len() - quoted.len();
        let pkt = match ip::parse(quoted) {
            ip::Parsed::V4(p) | ip::Parsed::V6(p) => p,
            ip::Parsed::NotIp | ip::Parsed::Malformed => return,
        };
        // Only a first (or unfragmented) piece starts with the UDP header.
        if pkt.proto != ip::proto::UDP || pkt.frag.is_some_and(|f| f.offset != 0) {
            return;
        }
        let udp = pkt.payload;
        let (Some(sport), Some(dport)) = (
            udp.get(0..2).map(|b| u16::from_be_bytes([b[0], b[1]])),
            udp.get(2..4).map(|b| u16::from_be_bytes([b[0], b[1]])),
        ) else {
            return;
        };
        let start = quoted_at + pkt.start + 8;
        let body = data.range(start, quoted_at + pkt.start + udp.len());
        if body.get().is_empty() {
            return;
        }
        self.stats.icmp_quoted_udp += 1;
        out.push(Segment {
            frame: ctx.frame,
            ts: ctx.ts,
            src: SocketAddr::new(pkt.src, sport),
            dst: SocketAddr::new(pkt.dst, dport),
            transport: Transport::Udp,
            payload: body.to_cow(),
            hep: None,
            icmp: Some(Box::new(icmp::IcmpQuote { reporter, reason })),
        });
    }

    /// An Ethernet frame found inside a tunnel (GRE bridging, ERSPAN, VXLAN).
    fn ethernet<'a>(
        &mut self,
        ctx: Ctx,
        data: Bytes<'a, '_>,
        depth: u8,
        out: &mut Vec<Segment<'a>>,
    ) {
        let whole = data.get();
        match link::decapsulate(LinkType::ETHERNET, whole) {
            link::Link::Ip(inner) => {
                // `inner` is a tail of `whole`: its offset keeps the frame's lifetime.
                let off = whole.len().saturating_sub(inner.len());
                self.ip(ctx, data.sub(off), depth, out);
            }
            link::Link::NonIp => self.stats.non_ip += 1,
            link::Link::Truncated | link::Link::Unknown => self.stats.truncated += 1,
        }
    }

    #[allow(clippy::too_many_arguments)] // decoded header fields passed down one layer
    fn udp<'a>(
        &mut self,
        ctx: Ctx,
        src: IpAddr,
        dst: IpAddr,
        data: Bytes<'a, '_>,
        truncated: bool,
        depth: u8,
        out: &mut Vec<Segment<'a>>,
    ) {
        let Some(h) = data.get().get(..8) else {
            self.stats.truncated += 1;
            return;
        };
        let h: [u8; 8] = match h.try_into() {
            Ok(h) => h,
            Err(_) => return,
        };
        self.stats.udp += 1;
        let sport = u16::from_be_bytes([h[0], h[1]]);
        let dport = u16::from_be_bytes([h[2], h[3]]);
        let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
        let avail = data.get().len();
        // Length 0 appears with jumbograms (RFC 2675) and offload: use the IP payload length.
        let end = match len {
            0 => avail,
            1..=7 => {
                self.stats.truncated += 1;
                return;
            }
            n if n > avail => {
                // Cut by the snaplen: keep what was captured, a cut SIP message is still
                // worth showing.
                self.stats.truncated += 1;
                avail
            }
            n => n,
        };
        if truncated && len <= avail {
            self.stats.truncated += 1;
        }
        let payload = data.range(8, end);
        if payload.get().is_empty() {
            self.stats.udp_empty += 1;
            return;
        }
        if dport == tunnel::VXLAN_PORT && depth < MAX_TUNNEL_DEPTH {
            if let Some(off) = tunnel::vxlan(payload.get()) {
                self.stats.vxlan += 1;
                self.ethernet(ctx, payload.sub(off), depth + 1, out);
                return;
            }
        }
        if dport == tunnel::GTPU_PORT && depth < MAX_TUNNEL_DEPTH {
            match tunnel::gtpu(payload.get()) {
                Some(tunnel::Gtpu::Pdu { start, end }) => {
                    self.stats.gtpu += 1;
                    self.ip(ctx, payload.range(start, end), depth + 1, out);
                    return;
                }
                Some(tunnel::Gtpu::Other) => {
                    self.stats.gtpu_other += 1;
                    return;
                }
                Some(tunnel::Gtpu::Truncated) => {
                    self.stats.truncated += 1;
                    return;
                }
                // Not GTP-U after all: ordinary UDP on that port.
                None => {}
            }
        }
        let (src, dst) = (SocketAddr::new(src, sport), SocketAddr::new(dst, dport));
        if self.hep(ctx, src, dst, payload, out) {
            return;
        }
        out.push(Segment {
            frame: ctx.frame,
            ts: ctx.ts,
            src,
            dst,
            transport: Transport::Udp,
            payload: payload.to_cow(),
            hep: None,
            icmp: None,
        });
    }

    /// HEP decapsulation of a UDP payload from `agent`: true when the payload was HEP (and
    /// was decapsulated or counted as malformed). HEPv3 is recognised by its magic;
    /// HEPv1/v2 have none, so they need the HEP ports (9060, 9063) or, elsewhere, a header
    /// that checks out strictly around a SIP start line.
    fn hep<'a>(
        &mut self,
        ctx: Ctx,
        agent: SocketAddr,
        to: SocketAddr,
        data: Bytes<'a, '_>,
        out: &mut Vec<Segment<'a>>,
    ) -> bool {
        use crate::hep::{self, ProtoType};
        let p = data.get();
        let v3 = hep::is_v3(p);
        if !v3 && !matches!(p.first(), Some(1 | 2)) {
            return false;
        }
        let hep_port = [agent.port(), to.port()]
            .iter()
            .any(|&q| q == hep::HEP_PORT || q == hep::HEP_ALT_PORT);
        let pkt = match hep::parse(p) {
            Ok(pkt) => pkt,
            Err(_) if v3 || hep_port => {
                self.stats.hep_malformed += 1;
                return true;
            }
            Err(_) => return false,
        };
        let strict_v12 = matches!(pkt.ip_proto, Some(ip::proto::UDP | ip::proto::TCP))
            && sipframe::looks_like_sip_start(&pkt.payload);
        if !(v3 || hep_port || strict_v12) {
            return false;
        }
        self.stats.hep_packets += 1;
        let media = matches!(pkt.proto_type, Some(ProtoType::RTP | ProtoType::RTCP));
        let sip = matches!(pkt.proto_type, None | Some(ProtoType::SIP));
        // RTCP as JSON (captagent, heplify) is a report about RTCP, not a packet.
        if !(sip || media && !pkt.payload.starts_with(b"{")) {
            self.stats.hep_other += 1;
            return true;
        }
        let (Some(src), Some(dst)) = (pkt.src(), pkt.dst()) else {
            self.stats.hep_malformed += 1;
            return true;
        };
        let transport = if sip && pkt.ip_proto == Some(ip::proto::TCP) {
            // One whole SIP message per HEP packet: the agent framed the stream already.
            Transport::Tcp
        } else {
            Transport::Udp
        };
        if pkt.payload.is_empty() {
            self.stats.udp_empty += 1;
            return true;
        }
        let meta = hep::HepMeta {
            version: pkt.version,
            capture_id: pkt.capture_id,
            agent,
        };
        // The agent's capture time; its clock, not ours, dates the message.
        let ts = pkt.ts.filter(|t| t.0 != 0).unwrap_or(ctx.ts);
        // SIP over TCP: agents that capture segments (heplify) may put several messages, or
        // keepalives, in one HEP packet; split them as a stream would be.
        let whole = 0..pkt.payload.len();
        let parts = if transport == Transport::Tcp {
            split_sip_messages(&pkt.payload, self.limits.max_buffered_bytes)
        } else {
            vec![whole]
        };
        for r in parts {
            let payload = match pkt.payload_offset {
                Some(off) => data.range(off + r.start, off + r.end).to_cow(),
                None => Cow::Owned(pkt.payload.get(r).unwrap_or_default().to_vec()),
            };
            out.push(Segment {
                frame: ctx.frame,
                ts,
                src,
                dst,
                transport,
                payload,
                hep: Some(meta),
                icmp: None,
            });
        }
        true
    }

    fn tcp<'a>(
        &mut self,
        ctx: Ctx,
        src: IpAddr,
        dst: IpAddr,
        data: Bytes<'a, '_>,
        truncated: bool,
        out: &mut Vec<Segment<'a>>,
    ) {
        let Ok(h) = etherparse::TcpHeaderSlice::from_slice(data.get()) else {
            self.stats.truncated += 1;
            return;
        };
        self.stats.tcp += 1;
        if truncated {
            // The missing tail would corrupt the stream: drop the segment, the hole it leaves
            // is handled (and counted) like any lost segment.
            self.stats.truncated += 1;
            return;
        }
        let flags = tcp::Flags {
            syn: h.syn(),
            fin: h.fin(),
            rst: h.rst(),
        };
        let (sport, dport, seq) = (h.source_port(), h.destination_port(), h.sequence_number());
        let payload = data.sub(h.slice().len());
        let before = out.len();
        self.tcp.segment(
            &self.limits,
            &mut self.stats,
            ctx,
            SocketAddr::new(src, sport),
            SocketAddr::new(dst, dport),
            seq,
            flags,
            payload,
            out,
        );
        // HEPv3 packets framed out of the stream: decapsulated like HEP over UDP.
        let framed = out.get(before..).unwrap_or_default();
        if framed
            .iter()
            .any(|g| g.hep.is_none() && crate::hep::is_v3(&g.payload))
        {
            let framed: Vec<Segment<'a>> = out.drain(before..).collect();
            for g in framed {
                if g.hep.is_some() || !crate::hep::is_v3(&g.payload) {
                    out.push(g);
                    continue;
                }
                let c = Ctx {
                    frame: g.frame,
                    ts: g.ts,
                };
                match g.payload {
                    Cow::Borrowed(b) => {
                        self.hep(c, g.src, g.dst, Bytes::Frame(b), out);
                    }
                    Cow::Owned(v) => {
                        self.hep(c, g.src, g.dst, Bytes::Local(&v), out);
                    }
                }
            }
        }
    }
}

/// Ranges of the SIP messages in `p` (one TCP capture's worth); keepalives are dropped and
/// whatever does not frame is kept as one last range, for the engine to report.
fn split_sip_messages(p: &[u8], max: usize) -> Vec<std::ops::Range<usize>> {
    let mut parts = Vec::new();
    let mut pos = 0;
    while let Some(rest) = p.get(pos..).filter(|r| !r.is_empty()) {
        match frame_stream_bounded(rest, max) {
            StreamFrame::Message(n) => {
                parts.push(pos..pos + n.max(1));
                pos += n.max(1);
            }
            StreamFrame::Keepalive(n) => pos += n.max(1),
            _ => {
                parts.push(pos..p.len());
                break;
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests;
