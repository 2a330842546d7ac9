//! TLS handshake tracking for SIP over TLS (RFC 3261 §26.2.1, RFC 5630).
//!
//! The network layer passes the cleartext handshake records of every TCP direction that opens
//! with a TLS handshake record ([`Transport::TlsRecords`](crate::net::Transport) segments, see
//! [`net::tls_stream`](crate::net::tls_stream)). [`TlsTracker`] groups both directions into a
//! [`TlsSession`] per (client, server) address pair and keeps what the handshake says:
//! ClientHello (SNI, ALPN, offered versions and ciphers), ServerHello (negotiated version and
//! cipher suite) and, up to TLS 1.2, the server certificate (TLS 1.3 encrypts it, RFC 8446
//! §2). Records are parsed with `tls-parser`, certificates with `x509-parser`. SIP messages
//! inside the session are encrypted: only their record count and size are known.

use std::net::SocketAddr;

use rustc_hash::FxHashMap;
use tls_parser::{
    parse_tls_client_hello_extensions, parse_tls_message_handshake,
    parse_tls_server_hello_extensions, SNIType, TlsExtension, TlsMessage, TlsMessageHandshake,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::capture::Timestamp;
use crate::model::MAX_EVIDENCE;
use crate::net::tls_stream::MAX_HANDSHAKE_BYTES;
use crate::net::tls_stream::{content_type, record_header, RECORD_HEADER_LEN};
use crate::net::Segment;

/// Sessions tracked at once (default of [`TlsTracker::new`]); the least recently active is
/// evicted beyond, handed to the rules first ([`TlsTracker::take_ended`]).
pub const MAX_SESSIONS: usize = 65_536;

/// Ended sessions queued for [`TlsTracker::take_ended`]; the engine drains the queue after
/// every segment, so this only bounds a tracker used on its own.
pub const MAX_ENDED: usize = 65_536;

/// Server ports whose TLS sessions are SIP: 5061, the sips: default (RFC 3261 §19.1.2).
/// Sessions on other ports count when the client offers ALPN "sip".
pub const DEFAULT_SIP_TLS_PORTS: &[u16] = &[5061];

/// Bytes of partial handshake messages (spanning records) held by all sessions together;
/// past it the message being assembled is dropped and its session marked truncated.
pub const MAX_PENDING_TOTAL: usize = 16 * 1024 * 1024;

/// Bounds of the [`TlsTracker`] tables (part of the engine's `Limits`, scaled by
/// `--max-memory`). The defaults are [`MAX_SESSIONS`], [`MAX_ENDED`] and
/// [`MAX_PENDING_TOTAL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsLimits {
    /// Sessions tracked at once; the least recently active are evicted beyond.
    pub max_sessions: usize,
    /// Ended sessions queued for [`TlsTracker::take_ended`].
    pub max_ended: usize,
    /// Bytes of partial handshake messages held by all sessions together.
    pub max_pending_bytes: usize,
}

impl Default for TlsLimits {
    fn default() -> Self {
        TlsLimits {
            max_sessions: MAX_SESSIONS,
            max_ended: MAX_ENDED,
            max_pending_bytes: MAX_PENDING_TOTAL,
        }
    }
}

/// Most offered versions / ALPN names kept from one ClientHello.
const MAX_LIST: usize = 16;

/// Longest name (SNI, ALPN, certificate name) kept, in bytes.
const MAX_NAME: usize = 256;

/// TLS protocol version numbers (RFC 8446 §B.1 and predecessors).
pub mod version {
    /// SSL 3.0 (RFC 6101).
    pub const SSL3: u16 = 0x0300;
    /// TLS 1.0 (RFC 2246).
    pub const TLS10: u16 = 0x0301;
    /// TLS 1.1 (RFC 4346).
    pub const TLS11: u16 = 0x0302;
    /// TLS 1.2 (RFC 5246).
    pub const TLS12: u16 = 0x0303;
    /// TLS 1.3 (RFC 8446).
    pub const TLS13: u16 = 0x0304;
}

/// Human name of a TLS version number (`"TLS 1.2"`, or `"0x7f1c"` for an unknown one).
pub fn version_name(v: u16) -> String {
    match v {
        version::SSL3 => "SSL 3.0".into(),
        version::TLS10 => "TLS 1.0".into(),
        version::TLS11 => "TLS 1.1".into(),
        version::TLS12 => "TLS 1.2".into(),
        version::TLS13 => "TLS 1.3".into(),
        v => format!("0x{v:04x}"),
    }
}

/// GREASE values (RFC 8701 §2) are placeholders, not real offers.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// What the ClientHello offered (RFC 8446 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHelloInfo {
    /// Frame that completed it.
    pub frame: u64,
    /// `legacy_version` (the highest version offered, before TLS 1.3).
    pub legacy_version: u16,
    /// Versions listed in supported_versions (RFC 8446 §4.2.1), GREASE removed; empty when
    /// the extension is absent.
    pub offered_versions: Vec<u16>,
    /// Cipher suites offered (GREASE and the renegotiation SCSV included).
    pub cipher_count: usize,
    /// server_name host (RFC 6066 §3).
    pub sni: Option<String>,
    /// ALPN protocols offered (RFC 7301), e.g. `"sip"`.
    pub alpn: Vec<String>,
}

/// What the ServerHello chose (RFC 8446 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHelloInfo {
    /// Frame that completed it.
    pub frame: u64,
    /// Negotiated version: supported_versions when present (TLS 1.3), else `legacy_version`.
    pub version: u16,
    /// Cipher suite number (IANA registry).
    pub cipher: u16,
    /// ALPN protocol selected.
    pub alpn: Option<String>,
}

impl ServerHelloInfo {
    /// IANA name of the cipher suite, when `tls-parser` knows it.
    pub fn cipher_name(&self) -> Option<&'static str> {
        tls_parser::TlsCipherSuite::from_id(self.cipher).map(|c| c.name)
    }
}

/// The server's leaf certificate, as far as it parsed (RFC 5280 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Frame that completed the Certificate message.
    pub frame: u64,
    /// Capture time of that frame: validity is judged against it, never the wall clock.
    pub seen: Timestamp,
    /// Certificates in the chain sent.
    pub chain_len: usize,
    /// Subject DN (RFC 4514 string).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// notBefore, seconds since the epoch.
    pub not_before: i64,
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
    /// Issuer and subject are the same name (the signature is not verified).
    pub self_signed: bool,
    /// Public key type: `"RSA"`, `"EC"`, `"DSA"`, or the algorithm name or OID.
    pub key_type: String,
    /// Public key size in bits (0 when unknown).
    pub key_bits: u32,
    /// Signature algorithm name (e.g. `"sha256WithRSAEncryption"`) or OID.
    pub signature: String,
}

/// What is known of the server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CertState {
    /// No Certificate message seen (yet, or it was lost).
    #[default]
    NotSeen,
    /// TLS 1.3: the Certificate message is encrypted (RFC 8446 §2).
    Encrypted,
    /// An empty chain was sent (anonymous suites).
    Empty,
    /// The leaf certificate did not parse as X.509.
    Unparsable {
        /// Frame of the Certificate message.
        frame: u64,
    },
    /// The leaf certificate.
    Parsed(CertInfo),
}

/// One TLS session: both directions of one TCP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSession {
    /// The side that sent the ClientHello (or, without one, the side that did not send the
    /// ServerHello).
    pub client: SocketAddr,
    /// The other side.
    pub server: SocketAddr,
    /// Time of the first record seen.
    pub first_ts: Timestamp,
    /// Time of the latest record seen.
    pub last_ts: Timestamp,
    /// ClientHello, if seen.
    pub client_hello: Option<ClientHelloInfo>,
    /// ServerHello, if seen.
    pub server_hello: Option<ServerHelloInfo>,
    /// Server certificate.
    pub cert: CertState,
    /// Frames carrying handshake messages, first ones first (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<u64>,
    /// Cleartext alert (level, description) ending the handshake, if any (RFC 8446 §6).
    pub alert: Option<(u8, u8)>,
    /// Encrypted application-data records, client to server then server to client.
    pub app_records: [u64; 2],
    /// Bytes of those records (bodies).
    pub app_bytes: [u64; 2],
    /// Handshake messages (or records) that did not parse.
    pub parse_errors: u32,
    /// A handshake message larger than [`MAX_HANDSHAKE_BYTES`] was dropped.
    pub truncated: bool,
    /// SIP messages read from this session's decrypted records (0 without keys).
    pub sip_decrypted: u64,
    /// Partial handshake message per direction (client, server), when one spans records.
    pending: [Vec<u8>; 2],
}

impl TlsSession {
    fn new(client: SocketAddr, server: SocketAddr, ts: Timestamp) -> Self {
        TlsSession {
            client,
            server,
            first_ts: ts,
            last_ts: ts,
            client_hello: None,
            server_hello: None,
            cert: CertState::NotSeen,
            evidence: Vec::new(),
            alert: None,
            app_records: [0; 2],
            app_bytes: [0; 2],
            parse_errors: 0,
            truncated: false,
            sip_decrypted: 0,
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// Negotiated version, if the ServerHello was seen.
    pub fn version(&self) -> Option<u16> {
        self.server_hello.as_ref().map(|s| s.version)
    }

    /// The first frame of the session's evidence (0 if none).
    pub fn first_frame(&self) -> u64 {
        self.evidence.first().copied().unwrap_or(0)
    }

    fn pending_len(&self) -> usize {
        self.pending.iter().map(Vec::len).sum()
    }

    fn note_frame(&mut self, frame: u64) {
        if self.evidence.last() != Some(&frame) && self.evidence.len() < MAX_EVIDENCE {
            self.evidence.push(frame);
        }
    }

    /// Feeds the records of one segment; `dir` 0 is client to server.
    fn feed(&mut self, dir: usize, frame: u64, ts: Timestamp, payload: &[u8]) {
        self.last_ts = ts;
        let mut rest = payload;
        while let Some((ctype, len)) = record_header(rest) {
            let body_start = rest.get(RECORD_HEADER_LEN..).unwrap_or_default();
            if ctype == content_type::APPLICATION_DATA {
                // Header only: net elides the encrypted body.
                if let (Some(r), Some(b)) =
                    (self.app_records.get_mut(dir), self.app_bytes.get_mut(dir))
                {
                    *r += 1;
                    *b += len as u64;
                }
                rest = body_start;
                continue;
            }
            let Some(body) = body_start.get(..len) else {
                self.parse_errors += 1;
                return;
            };
            rest = body_start.get(len..).unwrap_or_default();
            match ctype {
                content_type::HANDSHAKE => self.handshake(dir, frame, ts, body),
                content_type::ALERT => {
                    if let [level, desc] = *body {
                        self.alert = Some((level, desc));
                        self.note_frame(frame);
                    }
                }
                _ => {}
            }
        }
        if !rest.is_empty() {
            self.parse_errors += 1;
        }
    }

    /// Appends a handshake record body and handles every message it completes (messages
    /// may span records, RFC 8446 §5.1).
    fn handshake(&mut self, dir: usize, frame: u64, ts: Timestamp, body: &[u8]) {
        let Some(pending) = self.pending.get_mut(dir) else {
            return;
        };
        let mut buf = std::mem::take(pending);
        if buf.len() + body.len() > MAX_HANDSHAKE_BYTES {
            self.truncated = true;
            return;
        }
        buf.extend_from_slice(body);
        let mut pos = 0;
        while let Some(head) = buf.get(pos..pos + 4) {
            let len = u32::from_be_bytes([0, head[1], head[2], head[3]]) as usize;
            let Some(msg) = buf.get(pos..pos + 4 + len) else {
                break;
            };
            self.message(frame, ts, msg);
            pos += 4 + len;
        }
        buf.drain(..pos.min(buf.len()));
        if let Some(p) = self.pending.get_mut(dir) {
            *p = buf;
        }
    }

    /// One whole handshake message (type, 24-bit length, body).
    fn message(&mut self, frame: u64, ts: Timestamp, msg: &[u8]) {
        self.note_frame(frame);
        if self.version() == Some(version::TLS13) && !matches!(msg.first(), Some(1 | 2)) {
            // After a TLS 1.3 ServerHello every handshake message is encrypted: these come
            // from decrypted records (net::tls_decrypt). Only the server's Certificate
            // matters to the audit, and its TLS 1.3 layout is not TLS 1.2's.
            if msg.first() == Some(&11) {
                self.cert = match tls13_certificate(msg) {
                    Some((0, _)) => CertState::Empty,
                    Some((chain_len, leaf)) => match cert_info(leaf, frame, ts, chain_len) {
                        Some(info) => CertState::Parsed(info),
                        None => {
                            self.parse_errors += 1;
                            CertState::Unparsable { frame }
                        }
                    },
                    None => {
                        self.parse_errors += 1;
                        CertState::Unparsable { frame }
                    }
                };
            }
            return;
        }
        let parsed = match parse_tls_message_handshake(msg) {
            Ok((_, TlsMessage::Handshake(h))) => h,
            _ => {
                self.parse_errors += 1;
                return;
            }
        };
        match parsed {
            TlsMessageHandshake::ClientHello(c) => {
                let mut info = ClientHelloInfo {
                    frame,
                    legacy_version: c.version.0,
                    offered_versions: Vec::new(),
                    cipher_count: c.ciphers.len(),
                    sni: None,
                    alpn: Vec::new(),
                };
                let exts = c
                    .ext
                    .map(parse_tls_client_hello_extensions)
                    .and_then(Result::ok)
                    .map(|(_, e)| e)
                    .unwrap_or_default();
                for e in exts {
                    match e {
                        TlsExtension::SNI(names) => {
                            info.sni = names
                                .iter()
                                .find(|(t, _)| *t == SNIType::HostName)
                                .map(|(_, n)| name(n));
                        }
                        TlsExtension::ALPN(p) => {
                            info.alpn = p.iter().take(MAX_LIST).map(|n| name(n)).collect();
                        }
                        TlsExtension::SupportedVersions(v) => {
                            info.offered_versions = v
                                .iter()
                                .map(|v| v.0)
                                .filter(|v| !is_grease(*v))
                                .take(MAX_LIST)
                                .collect();
                        }
                        _ => {}
                    }
                }
                self.client_hello = Some(info);
            }
            TlsMessageHandshake::ServerHello(s) => {
                let mut info = ServerHelloInfo {
                    frame,
                    version: s.version.0,
                    cipher: s.cipher.0,
                    alpn: None,
                };
                let exts = s
                    .ext
                    .map(parse_tls_server_hello_extensions)
                    .and_then(Result::ok)
                    .map(|(_, e)| e)
                    .unwrap_or_default();
                for e in exts {
                    match e {
                        TlsExtension::SupportedVersions(v) => {
                            if let Some(v) = v.first() {
                                info.version = v.0;
                            }
                        }
                        TlsExtension::ALPN(p) => info.alpn = p.first().map(|n| name(n)),
                        _ => {}
                    }
                }
                if info.version == version::TLS13 && self.cert == CertState::NotSeen {
                    self.cert = CertState::Encrypted;
                }
                self.server_hello = Some(info);
            }
            TlsMessageHandshake::Certificate(c) => {
                let chain_len = c.cert_chain.len();
                self.cert = match c.cert_chain.first() {
                    None => CertState::Empty,
                    Some(leaf) => match cert_info(leaf.data, frame, ts, chain_len) {
                        Some(info) => CertState::Parsed(info),
                        None => {
                            self.parse_errors += 1;
                            CertState::Unparsable { frame }
                        }
                    },
                };
            }
            _ => {}
        }
    }
}

/// The chain length and leaf certificate (DER) of a TLS 1.3 Certificate message (RFC 8446
/// §4.4.2): a request context, then a 24-bit-length list of entries, each a 24-bit-length
/// certificate followed by 16-bit-length extensions. None when the lengths do not fit.
fn tls13_certificate(msg: &[u8]) -> Option<(usize, &[u8])> {
    let u24 = |b: &[u8], at: usize| -> Option<usize> {
        let x = b.get(at..at + 3)?;
        Some(usize::from(x[0]) << 16 | usize::from(x[1]) << 8 | usize::from(x[2]))
    };
    let body = msg.get(4..4 + u24(msg, 1)?)?;
    let ctx_len = usize::from(*body.first()?);
    let list_at = 1 + ctx_len;
    let list = body.get(list_at + 3..list_at + 3 + u24(body, list_at)?)?;
    let mut pos = 0;
    let mut leaf = None;
    let mut n = 0;
    while pos < list.len() {
        let len = u24(list, pos)?;
        let cert = list.get(pos + 3..pos + 3 + len)?;
        leaf.get_or_insert(cert);
        pos += 3 + len;
        let ext = list.get(pos..pos + 2)?;
        pos += 2 + usize::from(u16::from_be_bytes([ext[0], ext[1]]));
        n += 1;
    }
    (pos == list.len()).then_some((n, leaf.unwrap_or_default()))
}

/// Lossy UTF-8, bounded.
fn name(b: &[u8]) -> String {
    String::from_utf8_lossy(b.get(..MAX_NAME).unwrap_or(b)).into_owned()
}

/// Bits of a big-endian unsigned integer (leading zero bytes and bits ignored).
fn int_bits(n: &[u8]) -> u32 {
    let mut it = n.iter().skip_while(|&&b| b == 0);
    match it.next() {
        None => 0,
        Some(&first) => (8 - first.leading_zeros()) + 8 * it.count() as u32,
    }
}

/// Parses a DER leaf certificate.
fn cert_info(der: &[u8], frame: u64, seen: Timestamp, chain_len: usize) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let registry = x509_parser::objects::oid_registry();
    let oid_name = |oid: &x509_parser::der_parser::oid::Oid<'_>| {
        x509_parser::objects::oid2sn(oid, registry)
            .map(str::to_string)
            .unwrap_or_else(|_| oid.to_id_string())
    };
    let spki = cert.public_key();
    let (key_type, key_bits) = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".to_string(), int_bits(rsa.modulus)),
        Ok(PublicKey::EC(ec)) => ("EC".to_string(), ec.key_size() as u32),
        Ok(PublicKey::DSA(y)) => ("DSA".to_string(), int_bits(y)),
        _ => (oid_name(&spki.algorithm.algorithm), 0),
    };
    let subject = cert.subject();
    let issuer = cert.issuer();
    let trunc = |s: String| -> String {
        if s.len() > MAX_NAME {
            s.chars().take(MAX_NAME).collect()
        } else {
            s
        }
    };
    Some(CertInfo {
        frame,
        seen,
        chain_len,
        subject: trunc(subject.to_string()),
        issuer: trunc(issuer.to_string()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        self_signed: subject.as_raw() == issuer.as_raw(),
        key_type,
        key_bits,
        signature: oid_name(&cert.signature_algorithm.algorithm),
    })
}

/// Direction-independent session key: (client, server).
type Key = (SocketAddr, SocketAddr);

/// All TLS sessions of a capture, bounded.
#[derive(Debug)]
pub struct TlsTracker {
    sessions: FxHashMap<Key, TlsSession>,
    limits: TlsLimits,
    sip_tls_ports: Vec<u16>,
    ended: Vec<TlsSession>,
    evictions: u64,
    ended_dropped: u64,
    created: u64,
    pending_total: usize,
}

impl Default for TlsTracker {
    fn default() -> Self {
        TlsTracker::new(MAX_SESSIONS)
    }
}

impl TlsTracker {
    /// A tracker keeping at most `max_sessions` sessions (at least 1), treating
    /// [`DEFAULT_SIP_TLS_PORTS`] as SIP over TLS.
    pub fn new(max_sessions: usize) -> Self {
        TlsTracker::with_limits(TlsLimits {
            max_sessions,
            ..TlsLimits::default()
        })
    }

    /// A tracker bounded by `limits` (each at least 1), treating [`DEFAULT_SIP_TLS_PORTS`]
    /// as SIP over TLS.
    pub fn with_limits(limits: TlsLimits) -> Self {
        TlsTracker {
            sessions: FxHashMap::default(),
            limits: TlsLimits {
                max_sessions: limits.max_sessions.max(1),
                max_ended: limits.max_ended.max(1),
                max_pending_bytes: limits.max_pending_bytes.max(1),
            },
            sip_tls_ports: DEFAULT_SIP_TLS_PORTS.to_vec(),
            ended: Vec::new(),
            evictions: 0,
            ended_dropped: 0,
            created: 0,
            pending_total: 0,
        }
    }

    /// Sets the server ports whose TLS sessions are SIP (besides ALPN "sip").
    pub fn set_sip_tls_ports(&mut self, ports: &[u16]) {
        self.sip_tls_ports = ports.to_vec();
    }

    /// The server ports whose TLS sessions are SIP.
    pub fn sip_tls_ports(&self) -> &[u16] {
        &self.sip_tls_ports
    }

    /// Feeds one [`Transport::TlsRecords`](crate::net::Transport) segment.
    pub fn on_segment(&mut self, seg: &Segment<'_>) {
        let p: &[u8] = &seg.payload;
        let (key, dir) = if self.sessions.contains_key(&(seg.src, seg.dst)) {
            ((seg.src, seg.dst), 0)
        } else if self.sessions.contains_key(&(seg.dst, seg.src)) {
            ((seg.dst, seg.src), 1)
        } else {
            // A new session: the ClientHello sender is the client; a ServerHello sender the
            // server; otherwise the side on a SIP-TLS port (or the lower port) is the server.
            let first_msg = (p.first() == Some(&content_type::HANDSHAKE))
                .then(|| p.get(RECORD_HEADER_LEN).copied())
                .flatten();
            let src_is_server = match first_msg {
                Some(1) => false,
                Some(2) => true,
                _ => {
                    let sp = self.sip_tls_ports.contains(&seg.src.port());
                    let dp = self.sip_tls_ports.contains(&seg.dst.port());
                    sp && !dp || (sp == dp && seg.src.port() < seg.dst.port())
                }
            };
            let key = if src_is_server {
                (seg.dst, seg.src)
            } else {
                (seg.src, seg.dst)
            };
            self.make_room();
            self.sessions
                .insert(key, TlsSession::new(key.0, key.1, seg.ts));
            self.created += 1;
            (key, usize::from(src_is_server))
        };
        let starts_client_hello = dir == 0
            && p.first() == Some(&content_type::HANDSHAKE)
            && p.get(RECORD_HEADER_LEN) == Some(&1);
        if starts_client_hello
            && self
                .sessions
                .get(&key)
                .is_some_and(|s| s.client_hello.is_some())
        {
            // A new connection on the same address pair: the old session is over.
            if let Some(old) = self.sessions.remove(&key) {
                self.pending_total = self.pending_total.saturating_sub(old.pending_len());
                self.retire(old);
            }
            self.sessions
                .insert(key, TlsSession::new(key.0, key.1, seg.ts));
            self.created += 1;
        }
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        let before = s.pending_len();
        s.feed(dir, seg.frame, seg.ts, p);
        let after = s.pending_len();
        self.pending_total = self.pending_total.saturating_sub(before) + after;
        if self.pending_total > self.limits.max_pending_bytes {
            self.pending_total -= after;
            s.pending = [Vec::new(), Vec::new()];
            s.truncated = true;
        }
    }

    /// Queues a session leaving the table for the rules (bounded by [`TlsLimits::max_ended`]).
    fn retire(&mut self, s: TlsSession) {
        if self.ended.len() < self.limits.max_ended {
            self.ended.push(s);
        } else {
            self.ended_dropped += 1;
        }
    }

    /// Sessions that left the table (a new connection on the same pair, or eviction)
    /// since the last call: the engine hands them to the rules, so that what they showed
    /// is not lost with them.
    pub fn take_ended(&mut self) -> Vec<TlsSession> {
        std::mem::take(&mut self.ended)
    }

    /// Sessions that left the table and are not yet taken by [`Self::take_ended`].
    pub fn ended(&self) -> &[TlsSession] {
        &self.ended
    }

    /// Evicts the least recently active sixteenth of the table when it is full; they are
    /// queued for [`Self::take_ended`].
    fn make_room(&mut self) {
        if self.sessions.len() < self.limits.max_sessions {
            return;
        }
        let mut by_age: Vec<(Timestamp, Key)> =
            self.sessions.iter().map(|(k, s)| (s.last_ts, *k)).collect();
        by_age.sort_unstable();
        let n = (self.sessions.len() / 16).max(1);
        for (_, k) in by_age.into_iter().take(n) {
            if let Some(s) = self.sessions.remove(&k) {
                self.evictions += 1;
                self.pending_total = self.pending_total.saturating_sub(s.pending_len());
                self.retire(s);
            }
        }
    }

    /// The session tracked between `a` and `b`, whichever is the client: the TLS session
    /// a dialog's decrypted SIP came over.
    pub fn session_between(&self, a: SocketAddr, b: SocketAddr) -> Option<&TlsSession> {
        self.sessions
            .get(&(a, b))
            .or_else(|| self.sessions.get(&(b, a)))
    }

    /// Counts a SIP message read from the decrypted records of the session between `a`
    /// and `b`, so its findings say the SIP was read, not hidden.
    pub fn note_decrypted_sip(&mut self, a: SocketAddr, b: SocketAddr) {
        let key = if self.sessions.contains_key(&(a, b)) {
            (a, b)
        } else {
            (b, a)
        };
        if let Some(s) = self.sessions.get_mut(&key) {
            s.sip_decrypted += 1;
        }
    }

    /// Sessions currently tracked, oldest first.
    pub fn sessions(&self) -> Vec<&TlsSession> {
        let mut v: Vec<&TlsSession> = self.sessions.values().collect();
        v.sort_by_key(|s| (s.first_ts, s.first_frame(), s.client, s.server));
        v
    }

    /// Sessions created so far.
    pub fn sessions_created(&self) -> u64 {
        self.created
    }

    /// Sessions evicted because the table was full.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Ended sessions not queued because [`TlsLimits::max_ended`] were waiting.
    pub fn ended_dropped(&self) -> u64 {
        self.ended_dropped
    }
}

#[cfg(test)]
mod tests;
