//! SDP parser (RFC 8866, which obsoletes RFC 4566), lenient.
//!
//! [`parse`] never fails: it keeps every line that parsed, keeps the others raw, and lists
//! typed [`Problem`]s with 1-based line numbers. Deliberate deviations from RFC 8866 §5:
//! - line order is not enforced (real endpoints put `t=` after `c=` and worse);
//! - LF-only line endings are accepted (§5 requires CRLF but tells parsers to accept LF);
//! - trailing blanks on a line are ignored, empty lines are skipped;
//! - attribute names and `proto` compare case-insensitively.
//!
//! Text fields are `&str`: SDP is UTF-8 (§5); a line that is not valid UTF-8 is kept raw
//! with a problem.

mod attr;
mod few;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::bytes::find_byte_near;
use crate::media::codec::{self, Codec};

use attr::{
    after_blanks, dec, dec_u16, dec_u32, end, field_end, gap_end, parse_attribute, split_colon,
    tokens, tokens_in, trim, word,
};
pub use few::{Few, Vacant};

pub use attr::{
    Attribute, Candidate, CandidateType, Crypto, Direction, Fingerprint, Fmtp, KeyParam, Mki,
    RtcpAttr, Rtpmap, Setup, ZrtpHash,
};

/// What went wrong on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    /// The line is not valid UTF-8 (RFC 8866 §5 mandates UTF-8).
    #[error("line is not valid UTF-8")]
    InvalidUtf8,
    /// The line is not `<type>=<value>` with a single-letter type (RFC 8866 §5).
    #[error("line is not of the form <type>=<value>")]
    NotTypeValue,
    /// A type letter RFC 8866 does not define.
    #[error("unknown line type '{0}'")]
    UnknownLineType(char),
    /// A known line whose value did not parse (the `&str` names the line, e.g. `"o="`).
    #[error("malformed {0} line")]
    Malformed(&'static str),
    /// A known attribute whose value did not parse; kept as [`Attribute::Other`].
    #[error("malformed a={0} attribute")]
    MalformedAttribute(&'static str),
    /// A session-only line (`v=`, `o=`, `s=`, `t=`) inside a media section.
    #[error("{0} line inside a media section")]
    SessionLineInMedia(&'static str),
    /// A line that may appear once appeared again; the first one is kept.
    #[error("duplicate {0} line")]
    Duplicate(&'static str),
    /// A mandatory line is absent (reported on line 0).
    #[error("missing mandatory {0} line")]
    Missing(&'static str),
}

/// A problem found while parsing, with its 1-based line number (0 = whole description).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("SDP line {line}: {kind}")]
pub struct Problem {
    /// 1-based line number, 0 for the description as a whole.
    pub line: usize,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// A line kept verbatim: untyped lines (`i=`, `u=`, `e=`, `p=`, `r=`, `z=`, `k=`), unknown
/// ones and malformed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLine<'a> {
    /// 1-based line number.
    pub line: usize,
    /// The line without its line ending.
    pub raw: &'a [u8],
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// User name (`-` when none).
    pub username: &'a str,
    /// Session id (numeric by RFC, kept as text because endpoints do not always comply).
    pub session_id: &'a str,
    /// Session version (numeric by RFC, kept as text).
    pub session_version: &'a str,
    /// Network type (`IN`).
    pub nettype: &'a str,
    /// Address type (`IP4`, `IP6`).
    pub addrtype: &'a str,
    /// Address or host name.
    pub address: &'a str,
}

impl Origin<'_> {
    /// The address parsed as IP when the types are `IN IP4` / `IN IP6`.
    pub fn ip(&self) -> Option<IpAddr> {
        ip_of(self.nettype, self.addrtype, self.address)
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (§5.7), multicast suffixes split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// Network type (`IN`).
    pub nettype: &'a str,
    /// Address type (`IP4`, `IP6`).
    pub addrtype: &'a str,
    /// The address without `/ttl/count`.
    pub address: &'a str,
    /// IPv4 multicast TTL (the first `/` suffix for `IP4`).
    pub ttl: Option<u8>,
    /// Number of addresses (second suffix for IP4, the only one for IP6).
    pub count: Option<u32>,
}

impl Connection<'_> {
    /// The address parsed as IP when the types are `IN IP4` / `IN IP6`; None for names.
    pub fn ip(&self) -> Option<IpAddr> {
        ip_of(self.nettype, self.addrtype, self.address)
    }
}

fn ip_of(nettype: &str, addrtype: &str, address: &str) -> Option<IpAddr> {
    // The exact spellings first (one compare each), the case folding for the rest.
    if nettype != "IN" && !nettype.eq_ignore_ascii_case("IN") {
        return None;
    }
    // The address type picks the one family that may match (no upper-cased copy, no
    // second parse): text that parses as IPv4 never parses as IPv6 and vice versa.
    if addrtype == "IP4" || addrtype.eq_ignore_ascii_case("IP4") {
        crate::bytes::parse_ipv4(address.as_bytes())
            .or_else(|| address.parse::<Ipv4Addr>().ok())
            .map(IpAddr::V4)
    } else if addrtype.eq_ignore_ascii_case("IP6") {
        address.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        None
    }
}

/// `t=<start-time> <stop-time>` (§5.9), NTP seconds; 0 means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Start time.
    pub start: u64,
    /// Stop time.
    pub stop: u64,
}

/// `b=<bwtype>:<bandwidth>` (§5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth<'a> {
    /// Type (`AS`, `CT`, `TIAS`, ...).
    pub bwtype: &'a str,
    /// Value (kbit/s for AS and CT, bit/s for TIAS).
    pub value: u64,
}

/// Media type of an `m=` line (§5.14), open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType<'a> {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `text`.
    Text,
    /// `application`.
    Application,
    /// `message` (MSRP).
    Message,
    /// `image` (T.38 fax).
    Image,
    /// Any other token.
    Other(&'a str),
}

impl<'a> MediaType<'a> {
    fn parse(s: &'a str) -> Self {
        if <[u8; 5]>::try_from(s.as_bytes()).is_ok_and(|b| &b == b"audio") {
            return MediaType::Audio;
        }
        // Compared in place: a lower-cased copy was an allocation per media line.
        const KNOWN: [(&str, MediaType<'static>); 6] = [
            ("audio", MediaType::Audio),
            ("video", MediaType::Video),
            ("text", MediaType::Text),
            ("application", MediaType::Application),
            ("message", MediaType::Message),
            ("image", MediaType::Image),
        ];
        // The exact spelling first (one byte compare), the case folding for the rest.
        KNOWN
            .iter()
            .find(|(name, _)| *name == s || name.eq_ignore_ascii_case(s))
            .map_or(MediaType::Other(s), |(_, m)| *m)
    }
    /// The token as written on the wire (lower case for known types).
    pub fn as_str(&self) -> &'a str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
            MediaType::Text => "text",
            MediaType::Application => "application",
            MediaType::Message => "message",
            MediaType::Image => "image",
            MediaType::Other(s) => s,
        }
    }
}

/// Transport protocol of an `m=` line (§5.14 and the IANA "proto" registry), open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto<'a> {
    /// `RTP/AVP` (RFC 3551).
    RtpAvp,
    /// `RTP/SAVP` (RFC 3711).
    RtpSavp,
    /// `RTP/AVPF` (RFC 4585).
    RtpAvpf,
    /// `RTP/SAVPF` (RFC 5124).
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP` (DTLS-SRTP, RFC 5764 §8).
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF` (DTLS-SRTP with feedback, RFC 5764 §8).
    UdpTlsRtpSavpf,
    /// `TCP/RTP/AVP` (RFC 4571).
    TcpRtpAvp,
    /// `TCP/RTP/AVPF` (RFC 7850).
    TcpRtpAvpf,
    /// `TCP/RTP/SAVP` (RFC 7850).
    TcpRtpSavp,
    /// `TCP/RTP/SAVPF` (RFC 7850).
    TcpRtpSavpf,
    /// `TCP/TLS/RTP/AVP` (RFC 7850).
    TcpTlsRtpAvp,
    /// `TCP/TLS/RTP/AVPF` (RFC 7850).
    TcpTlsRtpAvpf,
    /// `TCP/TLS/RTP/SAVP` (seen in the wild: SDES-SRTP over TLS).
    TcpTlsRtpSavp,
    /// `TCP/TLS/RTP/SAVPF`.
    TcpTlsRtpSavpf,
    /// `TCP/DTLS/RTP/SAVP` (RFC 7850).
    TcpDtlsRtpSavp,
    /// `TCP/DTLS/RTP/SAVPF` (RFC 7850).
    TcpDtlsRtpSavpf,
    /// `udptl` (T.38, ITU-T T.38 Annex D).
    Udptl,
    /// `TCP/MSRP` (RFC 4975).
    TcpMsrp,
    /// `TCP/TLS/MSRP` (RFC 4975).
    TcpTlsMsrp,
    /// `UDP/DTLS/SCTP` (WebRTC data channel, RFC 8841).
    UdpDtlsSctp,
    /// `TCP/DTLS/SCTP` (RFC 8841).
    TcpDtlsSctp,
    /// `udp`.
    Udp,
    /// `tcp`.
    Tcp,
    /// Anything else, as written.
    Other(&'a str),
}

const PROTOS: &[(&str, Proto<'static>)] = &[
    ("RTP/AVP", Proto::RtpAvp),
    ("RTP/SAVP", Proto::RtpSavp),
    ("RTP/AVPF", Proto::RtpAvpf),
    ("RTP/SAVPF", Proto::RtpSavpf),
    ("UDP/TLS/RTP/SAVP", Proto::UdpTlsRtpSavp),
    ("UDP/TLS/RTP/SAVPF", Proto::UdpTlsRtpSavpf),
    ("TCP/RTP/AVP", Proto::TcpRtpAvp),
    ("TCP/RTP/AVPF", Proto::TcpRtpAvpf),
    ("TCP/RTP/SAVP", Proto::TcpRtpSavp),
    ("TCP/RTP/SAVPF", Proto::TcpRtpSavpf),
    ("TCP/TLS/RTP/AVP", Proto::TcpTlsRtpAvp),
    ("TCP/TLS/RTP/AVPF", Proto::TcpTlsRtpAvpf),
    ("TCP/TLS/RTP/SAVP", Proto::TcpTlsRtpSavp),
    ("TCP/TLS/RTP/SAVPF", Proto::TcpTlsRtpSavpf),
    ("TCP/DTLS/RTP/SAVP", Proto::TcpDtlsRtpSavp),
    ("TCP/DTLS/RTP/SAVPF", Proto::TcpDtlsRtpSavpf),
    ("udptl", Proto::Udptl),
    ("TCP/MSRP", Proto::TcpMsrp),
    ("TCP/TLS/MSRP", Proto::TcpTlsMsrp),
    ("UDP/DTLS/SCTP", Proto::UdpDtlsSctp),
    ("TCP/DTLS/SCTP", Proto::TcpDtlsSctp),
    ("udp", Proto::Udp),
    ("tcp", Proto::Tcp),
];

impl<'a> Proto<'a> {
    /// Classifies a proto token (case-insensitively).
    pub fn parse(s: &'a str) -> Self {
        // Nearly every offer: a fixed-size compare (no call, no walk down the table).
        if <[u8; 7]>::try_from(s.as_bytes()).is_ok_and(|b| &b == b"RTP/AVP") {
            return Proto::RtpAvp;
        }
        // The exact spelling first (one byte compare), the case folding for the rest.
        PROTOS
            .iter()
            .find(|(name, _)| *name == s || name.eq_ignore_ascii_case(s))
            .map_or(Proto::Other(s), |(_, p)| *p)
    }
    /// The canonical spelling (the text as written for [`Proto::Other`]).
    pub fn as_str(&self) -> &'a str {
        match self {
            Proto::Other(s) => s,
            p => PROTOS
                .iter()
                .find(|(_, q)| q == p)
                .map_or("", |(name, _)| name),
        }
    }
    /// Carries RTP (any profile, any lower transport).
    pub fn is_rtp(&self) -> bool {
        // The rules ask this of every media line of every SDP: the registered protos
        // answer from the variant (the `known_protos_answer_as_their_text` test keeps the
        // two equal), only `Other` reads its text.
        match self {
            Proto::Other(s) => text_is_rtp(s),
            Proto::Udptl
            | Proto::TcpMsrp
            | Proto::TcpTlsMsrp
            | Proto::UdpDtlsSctp
            | Proto::TcpDtlsSctp
            | Proto::Udp
            | Proto::Tcp => false,
            _ => true,
        }
    }
    /// Uses a secure RTP profile (SAVP / SAVPF): SRTP keyed by SDES, DTLS or ZRTP.
    pub fn is_srtp(&self) -> bool {
        match self {
            Proto::Other(s) => text_is_srtp(s),
            Proto::RtpSavp
            | Proto::RtpSavpf
            | Proto::UdpTlsRtpSavp
            | Proto::UdpTlsRtpSavpf
            | Proto::TcpRtpSavp
            | Proto::TcpRtpSavpf
            | Proto::TcpTlsRtpSavp
            | Proto::TcpTlsRtpSavpf
            | Proto::TcpDtlsRtpSavp
            | Proto::TcpDtlsRtpSavpf => true,
            _ => false,
        }
    }
    /// Negotiates keys over DTLS: `UDP/TLS/...` (RFC 5764 names DTLS "TLS" over UDP) or any
    /// proto with a `DTLS` component.
    pub fn is_dtls(&self) -> bool {
        match self {
            Proto::Other(s) => text_is_dtls(s),
            Proto::UdpTlsRtpSavp
            | Proto::UdpTlsRtpSavpf
            | Proto::TcpDtlsRtpSavp
            | Proto::TcpDtlsRtpSavpf
            | Proto::UdpDtlsSctp
            | Proto::TcpDtlsSctp => true,
            _ => false,
        }
    }
}

/// [`Proto::is_rtp`] of a proto's text: an `RTP` component.
fn text_is_rtp(s: &str) -> bool {
    s.split('/').any(|p| p.eq_ignore_ascii_case("RTP"))
}

/// [`Proto::is_srtp`] of a proto's text: RTP with a last component `SAVP` or `SAVPF`.
fn text_is_srtp(s: &str) -> bool {
    text_is_rtp(s)
        && s.split('/')
            .next_back()
            .is_some_and(|p| p.eq_ignore_ascii_case("SAVP") || p.eq_ignore_ascii_case("SAVPF"))
}

/// [`Proto::is_dtls`] of a proto's text: `UDP/TLS/...` or a `DTLS` component.
fn text_is_dtls(s: &str) -> bool {
    let mut parts = s.split('/');
    let first = parts.next().unwrap_or("");
    let second = parts.next().unwrap_or("");
    (first.eq_ignore_ascii_case("UDP") && second.eq_ignore_ascii_case("TLS"))
        || s.split('/').any(|p| p.eq_ignore_ascii_case("DTLS"))
}

/// The formats of an `m=` line (§5.14: `<fmt> ...` after the proto), kept as the text
/// they are written in and split when read: a `Vec` of them was an allocation per media
/// line, and only [`MediaDescription::payload_types`] reads them, once.
#[derive(Clone, Copy, Default)]
pub struct Formats<'a>(&'a str);

impl<'a> Formats<'a> {
    /// The formats of `text` (the rest of an `m=` line after its proto).
    fn of(text: &'a str) -> Self {
        Formats(text)
    }

    /// The formats in wire order, as written (split on ASCII whitespace).
    pub fn iter(&self) -> std::str::SplitAsciiWhitespace<'a> {
        self.0.split_ascii_whitespace()
    }

    /// Number of formats.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// No format at all.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The first format.
    pub fn first(&self) -> Option<&'a str> {
        self.iter().next()
    }
}

impl<'a> IntoIterator for &Formats<'a> {
    type Item = &'a str;
    type IntoIter = std::str::SplitAsciiWhitespace<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl std::fmt::Debug for Formats<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Equal when the formats are (blanks between them do not count).
impl PartialEq for Formats<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Formats<'_> {}

impl<'a> PartialEq<Vec<&'a str>> for Formats<'_> {
    fn eq(&self, other: &Vec<&'a str>) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

/// One media description: the `m=` line and the lines after it (§5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription<'a> {
    /// 1-based line number of the `m=` line.
    pub line: usize,
    /// Media type.
    pub media: MediaType<'a>,
    /// Transport port (0 = stream rejected or disabled).
    pub port: u16,
    /// Number of ports (`port/count`), when given.
    pub port_count: Option<u16>,
    /// Transport protocol.
    pub proto: Proto<'a>,
    /// Media formats (payload types for RTP), as written.
    pub formats: Formats<'a>,
    /// Media-level `c=` lines (several are legal for multicast).
    pub connections: Vec<Connection<'a>>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth<'a>>,
    /// Media-level attributes in wire order.
    pub attributes: Vec<Attribute<'a>>,
    /// Media-level lines kept raw (`i=`, `k=`, unknown, malformed).
    pub other_lines: Vec<RawLine<'a>>,
}

impl Vacant for Timing {
    const VACANT: Self = Timing { start: 0, stop: 0 };
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdp<'a> {
    /// `v=` (always 0 in practice).
    pub version: Option<u32>,
    /// `o=`.
    pub origin: Option<Origin<'a>>,
    /// `s=`.
    pub session_name: Option<&'a str>,
    /// Session-level `c=`.
    pub connection: Option<Connection<'a>>,
    /// `t=` lines.
    pub timing: Few<Timing, 1>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth<'a>>,
    /// Session-level attributes in wire order.
    pub attributes: Vec<Attribute<'a>>,
    /// Media descriptions in order.
    pub media: Vec<MediaDescription<'a>>,
    /// Session-level lines kept raw (`i=`, `u=`, `e=`, `p=`, `r=`, `z=`, `k=`, unknown,
    /// malformed).
    pub other_lines: Vec<RawLine<'a>>,
    /// Problems found, in line order.
    pub problems: Vec<Problem>,
}

/// Parses a session description; never fails (see the module documentation).
///
/// Inlined, so that the description is built where the caller keeps it: the reading
/// runs on a reference to it, and no finished value is copied out.
#[inline]
pub fn parse(input: &[u8]) -> Sdp<'_> {
    let mut sdp = Sdp::default();
    sdp.read(input);
    sdp
}

impl<'a> Sdp<'a> {
    /// Reads `input` into this (empty) description.
    fn read(&mut self, input: &'a [u8]) {
        let sdp = self;
        // One UTF-8 check of the whole description (nearly always valid) instead of one per
        // line: lines are then cut from the checked text. Lines end at LF and lose trailing
        // CR and blanks, all ASCII, so every line of valid text is a valid `&str` slice.
        match std::str::from_utf8(input) {
            Ok(text) => sdp.read_text(text),
            Err(_) => sdp.read_bytes(input),
        }
        if sdp.version.is_none() {
            sdp.problem(0, ProblemKind::Missing("v="));
        }
        if sdp.origin.is_none() {
            sdp.problem(0, ProblemKind::Missing("o="));
        }
        if sdp.session_name.is_none() {
            sdp.problem(0, ProblemKind::Missing("s="));
        }
    }
}

/// The bits below bit `n` (all 64 from `n = 64` on).
#[inline(always)]
fn low_bits(n: usize) -> u64 {
    1u64.checked_shl(u32::try_from(n).unwrap_or(u32::MAX))
        .map_or(u64::MAX, |b| b.wrapping_sub(1))
}

/// The line starting at `start` of `b`: its length without the LF, where the next line
/// starts, and, for a line shorter than 64 bytes, its blanks as bits (bit i set when byte
/// i is a space or a tab; bits at and past the length are garbage, for the caller to
/// clear).
///
/// One pass of 16-byte SSE2 compares (`wide`, safe) finds the LF and the blanks together:
/// the `o=` and `c=` fields are then cut by bit arithmetic instead of a byte loop per
/// field, and no second search runs per line.
#[inline(always)]
fn scan_line(b: &[u8], start: usize) -> (usize, usize, Option<u64>) {
    let (lf, sp, tab) = (
        wide::u8x16::splat(b'\n'),
        wide::u8x16::splat(b' '),
        wide::u8x16::splat(b'\t'),
    );
    let mut blanks = 0u64;
    let mut off = 0usize;
    while off < 64 {
        let Some(Ok(block)) = b
            .get(start + off..start + off + 16)
            .map(<[u8; 16]>::try_from)
        else {
            break;
        };
        let v = wide::u8x16::new(block);
        // `move_mask` sets bit i for lane i; the low 16 bits are all it sets.
        let nl = u64::from(v.cmp_eq(lf).move_mask() as u16);
        let bl = u64::from((v.cmp_eq(sp) | v.cmp_eq(tab)).move_mask() as u16);
        blanks |= bl << off;
        if nl != 0 {
            let len = off + nl.trailing_zeros() as usize;
            return (len, start + len + 1, Some(blanks));
        }
        off += 16;
    }
    if off < 64 {
        // Fewer than 16 bytes left in the body: the line ends within them, short.
        let mut i = start + off;
        while let Some(&c) = b.get(i) {
            let at = i - start;
            if c == b'\n' {
                return (at, i + 1, Some(blanks));
            }
            if c == b' ' || c == b'\t' {
                blanks |= 1u64 << (at & 63);
            }
            i += 1;
        }
        return (b.len() - start, b.len(), Some(blanks));
    }
    // A long line (a fingerprint, a candidate, a key): no mask, memchr for the rest.
    let rest = b.get(start + 64..).unwrap_or_default();
    match memchr::memchr(b'\n', rest) {
        Some(i) => (64 + i, start + 64 + i + 1, None),
        None => (b.len() - start, b.len(), None),
    }
}

/// `v.push(x)`, the first allocation made directly with the capacity (4) the first
/// growth would give: `grow_one`'s general path cost more than the allocation.
#[inline(always)]
fn push<T>(v: &mut Vec<T>, x: T) {
    if v.capacity() == 0 {
        // The empty list it replaces holds no allocation: forgetting it leaks nothing and
        // skips the call that would drop it.
        std::mem::forget(std::mem::replace(v, Vec::with_capacity(4)));
    }
    v.push(x);
}

fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [head @ .., last] = line {
        if matches!(last, b'\r' | b' ' | b'\t') {
            line = head;
        } else {
            break;
        }
    }
    line
}

impl<'a> Sdp<'a> {
    /// Reads the lines of valid UTF-8 text.
    fn read_text(&mut self, text: &'a str) {
        let b = text.as_bytes();
        let mut start = 0usize;
        let mut line_no = 0usize;
        while start < b.len() {
            line_no += 1;
            let (len, next, blanks) = scan_line(b, start);
            // Trailing CR and blanks go (all ASCII: `end` stays on a char boundary).
            let mut end = start + len;
            if end > start + 1
                && b.get(end - 1) == Some(&b'\r')
                && !matches!(b.get(end - 2), Some(b'\r' | b' ' | b'\t'))
            {
                // Nearly every line: one CR after a visible byte, one step.
                end -= 1;
            } else {
                while end > start && matches!(b.get(end - 1), Some(b'\r' | b' ' | b'\t')) {
                    end -= 1;
                }
            }
            if end > start {
                if let Some(line) = text.get(start..end) {
                    let blanks = blanks.map(|m| m & low_bits(end - start));
                    self.parse_line(line_no, line.as_bytes(), Some(line), blanks);
                }
            }
            start = next;
        }
    }

    /// Reads the lines of a body that is not valid UTF-8, checking each line.
    fn read_bytes(&mut self, input: &'a [u8]) {
        let mut start = 0usize;
        let mut line_no = 0usize;
        while start < input.len() {
            line_no += 1;
            let rest = input.get(start..).unwrap_or(&[]);
            let (len, next) = match find_byte_near(b'\n', rest) {
                Some(i) => (i, start + i + 1),
                None => (rest.len(), input.len()),
            };
            let line = trim_end(rest.get(..len).unwrap_or(&[]));
            if !line.is_empty() {
                self.parse_line(line_no, line, None, None);
            }
            start = next;
        }
    }

    fn problem(&mut self, line: usize, kind: ProblemKind) {
        self.problems.push(Problem { line, kind });
    }

    fn keep_raw(&mut self, line: usize, raw: &'a [u8]) {
        let r = RawLine { line, raw };
        match self.media.last_mut() {
            Some(m) => m.other_lines.push(r),
            None => self.other_lines.push(r),
        }
    }

    /// Parses line `n`; `checked` is `raw` as text when the caller already knows it is
    /// UTF-8, `blanks` the line's blanks as bits (see [`scan_line`]) when it has them.
    /// Inlined into the two readers: a call per line was a tenth of a short line's cost.
    #[inline(always)]
    fn parse_line(
        &mut self,
        n: usize,
        raw: &'a [u8],
        checked: Option<&'a str>,
        blanks: Option<u64>,
    ) {
        let text = match checked {
            Some(t) => t,
            None => match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(_) => {
                    self.problem(n, ProblemKind::InvalidUtf8);
                    return self.keep_raw(n, raw);
                }
            },
        };
        // `<ASCII letter>=` on nearly every line: read as bytes, without decoding chars.
        let fast = match (raw.first(), raw.get(1), text.get(2..)) {
            (Some(&k), Some(b'='), Some(v)) if k.is_ascii() => Some((char::from(k), v)),
            _ => None,
        };
        let (kind, value) = match fast {
            Some(kv) => kv,
            None => {
                let mut chars = text.chars();
                let (Some(kind), Some('=')) = (chars.next(), chars.next()) else {
                    self.problem(n, ProblemKind::NotTypeValue);
                    return self.keep_raw(n, raw);
                };
                (kind, chars.as_str())
            }
        };
        let in_media = !self.media.is_empty();
        match kind {
            'v' | 'o' | 's' | 't' if in_media => {
                let name = match kind {
                    'v' => "v=",
                    'o' => "o=",
                    's' => "s=",
                    _ => "t=",
                };
                self.problem(n, ProblemKind::SessionLineInMedia(name));
                self.keep_raw(n, raw);
            }
            // `v=0` nearly always: answered without the trim and the generic parse (which
            // read "0" as 0 too).
            'v' if value.as_bytes() == b"0" && self.version.is_none() => self.version = Some(0),
            'v' => match trim(value).parse() {
                Ok(v) if self.version.is_none() => self.version = Some(v),
                Ok(_) => self.duplicate(n, "v=", raw),
                Err(_) => self.malformed(n, "v=", raw),
            },
            'o' => match origin(value, blanks.map(|m| m >> 2)) {
                Some(o) if self.origin.is_none() => self.origin = Some(o),
                Some(_) => self.duplicate(n, "o=", raw),
                None => self.malformed(n, "o=", raw),
            },
            's' if self.session_name.is_none() => self.session_name = Some(value),
            's' => self.duplicate(n, "s=", raw),
            't' => match timing(value) {
                Some(t) => self.timing.push(t),
                None => self.malformed(n, "t=", raw),
            },
            'c' => match connection(value, blanks.map(|m| m >> 2)) {
                Some(c) => match self.media.last_mut() {
                    Some(m) => m.connections.push(c),
                    None if self.connection.is_none() => self.connection = Some(c),
                    None => self.duplicate(n, "c=", raw),
                },
                None => self.malformed(n, "c=", raw),
            },
            'b' => match bandwidth(value) {
                Some(b) => match self.media.last_mut() {
                    Some(m) => m.bandwidths.push(b),
                    None => self.bandwidths.push(b),
                },
                None => self.malformed(n, "b=", raw),
            },
            'a' => {
                let a = match parse_attribute(value) {
                    Ok(a) => a,
                    Err(name) => {
                        self.problem(n, ProblemKind::MalformedAttribute(name));
                        let (name, value) = match split_colon(value) {
                            Some((k, v)) => (k, Some(v)),
                            None => (value, None),
                        };
                        Attribute::Other { name, value }
                    }
                };
                match self.media.last_mut() {
                    Some(m) => push(&mut m.attributes, a),
                    None => push(&mut self.attributes, a),
                }
            }
            'm' => match media_fields(value, blanks.map(|m| m >> 2)) {
                // Built in its place in the list: a parsed section returned by value was
                // one more copy of the whole description.
                Some(f) => push(
                    &mut self.media,
                    MediaDescription {
                        line: n,
                        media: f.media,
                        port: f.port,
                        port_count: f.port_count,
                        proto: f.proto,
                        formats: f.formats,
                        connections: Vec::new(),
                        bandwidths: Vec::new(),
                        attributes: Vec::new(),
                        other_lines: Vec::new(),
                    },
                ),
                None => {
                    // Keep a section anyway so that the lines below stay media-level.
                    let media = value.split_ascii_whitespace().next().unwrap_or("");
                    self.media
                        .push(MediaDescription::empty(n, MediaType::parse(media)));
                    self.malformed(n, "m=", raw);
                }
            },
            'i' | 'u' | 'e' | 'p' | 'r' | 'z' | 'k' => self.keep_raw(n, raw),
            other => {
                self.problem(n, ProblemKind::UnknownLineType(other));
                self.keep_raw(n, raw);
            }
        }
    }

    fn malformed(&mut self, n: usize, what: &'static str, raw: &'a [u8]) {
        self.problem(n, ProblemKind::Malformed(what));
        self.keep_raw(n, raw);
    }

    fn duplicate(&mut self, n: usize, what: &'static str, raw: &'a [u8]) {
        self.problem(n, ProblemKind::Duplicate(what));
        self.keep_raw(n, raw);
    }

    /// Session-level direction attribute, if any (the last one wins).
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.attributes)
    }

    /// Session-level attributes with this name (case-insensitive).
    pub fn attributes_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Attribute<'a>> + 's {
        named(&self.attributes, name)
    }
}

fn direction_of(attrs: &[Attribute<'_>]) -> Option<Direction> {
    attrs.iter().rev().find_map(|a| match a {
        Attribute::Direction(d) => Some(*d),
        _ => None,
    })
}

impl<'a> MediaDescription<'a> {
    fn empty(line: usize, media: MediaType<'a>) -> Self {
        MediaDescription {
            line,
            media,
            port: 0,
            port_count: None,
            proto: Proto::Other(""),
            formats: Formats::default(),
            connections: Vec::new(),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
            other_lines: Vec::new(),
        }
    }

    /// The media connection address: the first media-level `c=`, else the session `c=`,
    /// parsed as IP when `IN IP4` / `IN IP6` (None for host names or other types).
    pub fn connection_address(&self, session: &Sdp<'_>) -> Option<IpAddr> {
        match self.connections.first() {
            Some(c) => c.ip(),
            None => session.connection.as_ref()?.ip(),
        }
    }

    /// RTP port (the `m=` port).
    pub fn rtp_port(&self) -> u16 {
        self.port
    }

    /// Whether `a=rtcp-mux` is present (RFC 5761 §5.1.1).
    pub fn rtcp_mux(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| matches!(a, Attribute::RtcpMux))
    }

    /// RTCP port: `a=rtcp` (RFC 3605), else the RTP port under `a=rtcp-mux`, else port + 1
    /// (RFC 3550 §11). None when the port is 0 or 65535 without either attribute.
    pub fn rtcp_port(&self) -> Option<u16> {
        if let Some(r) = self.attributes.iter().find_map(|a| match a {
            Attribute::Rtcp(r) => Some(r),
            _ => None,
        }) {
            return Some(r.port);
        }
        if self.port == 0 {
            return None;
        }
        if self.rtcp_mux() {
            return Some(self.port);
        }
        self.port.checked_add(1)
    }

    /// Direction: the media attribute, else the session attribute, else `sendrecv`
    /// (RFC 8866 §6.7).
    pub fn direction(&self, session: &Sdp<'_>) -> Direction {
        direction_of(&self.attributes)
            .or_else(|| session.direction())
            .unwrap_or_default()
    }

    /// Numeric formats (RTP payload types 0..=127) in `m=` order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt < 128)
    }

    /// Codec for a payload type: the `a=rtpmap`, else the RFC 3551 static assignment.
    pub fn codec_for(&self, pt: u8) -> Option<Codec<'a>> {
        self.rtpmaps()
            .find(|r| r.payload_type == pt)
            .map(|r| Codec {
                name: r.encoding,
                clock_rate: r.clock_rate,
                channels: r.channels.unwrap_or(1),
            })
            .or_else(|| codec::static_payload_type(pt))
    }

    /// All `a=rtpmap` attributes.
    pub fn rtpmaps(&self) -> impl Iterator<Item = &Rtpmap<'a>> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Rtpmap(r) => Some(r),
            _ => None,
        })
    }

    /// All `a=crypto` attributes.
    pub fn crypto(&self) -> impl Iterator<Item = &Crypto<'a>> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Crypto(c) => Some(&**c),
            _ => None,
        })
    }

    /// All `a=candidate` attributes.
    pub fn candidates(&self) -> impl Iterator<Item = &Candidate<'a>> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Candidate(c) => Some(&**c),
            _ => None,
        })
    }

    /// `a=fingerprint`: media level, else session level (RFC 8122 §5).
    pub fn fingerprint<'s>(&'s self, session: &'s Sdp<'a>) -> Option<&'s Fingerprint<'a>> {
        let find = |attrs: &'s [Attribute<'a>]| {
            attrs.iter().find_map(|a| match a {
                Attribute::Fingerprint(f) => Some(f),
                _ => None,
            })
        };
        find(&self.attributes).or_else(|| find(&session.attributes))
    }

    /// `a=setup`: media level, else session level (RFC 4145 §4).
    pub fn setup(&self, session: &Sdp<'a>) -> Option<Setup<'a>> {
        let find = |attrs: &[Attribute<'a>]| {
            attrs.iter().find_map(|a| match a {
                Attribute::Setup(s) => Some(*s),
                _ => None,
            })
        };
        find(&self.attributes).or_else(|| find(&session.attributes))
    }

    /// Media-level attributes with this name (case-insensitive).
    pub fn attributes_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Attribute<'a>> + 's {
        named(&self.attributes, name)
    }
}

/// `o=` (§5.2); `blanks` are the value's blanks as bits, when the line had a mask.
fn origin(v: &str, blanks: Option<u64>) -> Option<Origin<'_>> {
    let (r, [username, session_id, session_version, nettype, addrtype, address]) = match blanks {
        Some(m) => tokens_in(v, m)?,
        None => tokens(v)?,
    };
    end(r)?;
    Some(Origin {
        username,
        session_id,
        session_version,
        nettype,
        addrtype,
        address,
    })
}

/// `c=` (§5.7); `blanks` as for [`origin`].
fn connection(v: &str, blanks: Option<u64>) -> Option<Connection<'_>> {
    let (r, [nettype, addrtype, full]) = match blanks {
        Some(m) => tokens_in(v, m)?,
        None => tokens(v)?,
    };
    end(r)?;
    if !full.bytes().any(|b| b == b'/') {
        // Unicast, nearly always: no multicast suffixes to split off.
        return Some(Connection {
            nettype,
            addrtype,
            address: full,
            ttl: None,
            count: None,
        });
    }
    let mut parts = full.split('/');
    let address = parts.next().filter(|a| !a.is_empty())?;
    let first = parts.next();
    let second = parts.next();
    if parts.next().is_some() {
        return None;
    }
    // §5.7: IPv4 multicast is addr/ttl[/count]; IPv6 has no TTL, only addr[/count].
    let (ttl, count) = if addrtype.eq_ignore_ascii_case("IP6") {
        if second.is_some() {
            return None;
        }
        (None, first.map(str::parse).transpose().ok()?)
    } else {
        (
            first.map(str::parse).transpose().ok()?,
            second.map(str::parse).transpose().ok()?,
        )
    };
    Some(Connection {
        nettype,
        addrtype,
        address,
        ttl,
        count,
    })
}

fn timing(v: &str) -> Option<Timing> {
    let (r, start) = dec(v, u64::MAX)?;
    let (r, stop) = dec(after_blanks(r)?, u64::MAX)?;
    end(r)?;
    Some(Timing { start, stop })
}

fn bandwidth(v: &str) -> Option<Bandwidth<'_>> {
    let (bwtype, value) = split_colon(v)?;
    let value = trim(value).parse().ok()?;
    (!bwtype.is_empty()).then_some(Bandwidth { bwtype, value })
}

/// The fields of an `m=` line (the section is built where it is stored).
struct MediaFields<'a> {
    media: MediaType<'a>,
    port: u16,
    port_count: Option<u16>,
    proto: Proto<'a>,
    formats: Formats<'a>,
}

/// An `m=` line as a section without lines under it (what the tests compare).
#[cfg(test)]
fn media_line(n: usize, v: &str, blanks: Option<u64>) -> Option<MediaDescription<'_>> {
    let f = media_fields(v, blanks)?;
    let mut m = MediaDescription::empty(n, f.media);
    m.port = f.port;
    m.port_count = f.port_count;
    m.proto = f.proto;
    m.formats = f.formats;
    Some(m)
}

/// The fields of an `m=` line; `blanks` as for [`origin`].
fn media_fields(v: &str, blanks: Option<u64>) -> Option<MediaFields<'_>> {
    match blanks {
        Some(m) => media_fields_in(v, m),
        None => media_fields_scan(v),
    }
}

/// [`media_fields`] with the blanks as bits: the fields and the runs of blanks between
/// them are counts of trailing zeros; only the numbers are read byte by byte.
fn media_fields_in(v: &str, m: u64) -> Option<MediaFields<'_>> {
    let media_end = field_end(v.len(), m, 0)?;
    let r = v.get(gap_end(m, media_end)?..)?;
    let (r, port) = dec_u16(r)?;
    // A `/` must start a count: without one the blanks below are missing anyway.
    let (r, count) = match r.strip_prefix('/') {
        Some(c) => {
            let (r, c) = dec_u32(c)?;
            (r, Some(c))
        }
        None => (r, None),
    };
    // `r` is a suffix of `v`: where it starts is the length difference.
    let proto_start = gap_end(m, v.len().checked_sub(r.len())?)?;
    let proto_end = field_end(v.len(), m, proto_start)?;
    let port_count = match count {
        Some(c) => Some(u16::try_from(c).ok()?),
        None => None,
    };
    Some(MediaFields {
        media: MediaType::parse(v.get(..media_end)?),
        port,
        port_count,
        proto: Proto::parse(v.get(proto_start..proto_end)?),
        formats: Formats::of(v.get(proto_end..)?),
    })
}

/// [`media_fields`] by byte scans (lines of 64 bytes and more).
fn media_fields_scan(v: &str) -> Option<MediaFields<'_>> {
    // `<media> <port>[/<number of ports>] <proto> <fmt> ...` (§5.14).
    let (media, r) = word(v)?;
    let (r, port) = dec_u16(after_blanks(r)?)?;
    // A `/` must start a count: without one the blanks below are missing anyway.
    let (r, count) = match r.strip_prefix('/') {
        Some(c) => {
            let (r, c) = dec_u32(c)?;
            (r, Some(c))
        }
        None => (r, None),
    };
    let (proto, r) = word(after_blanks(r)?)?;
    let port_count = match count {
        Some(c) => Some(u16::try_from(c).ok()?),
        None => None,
    };
    Some(MediaFields {
        media: MediaType::parse(media),
        port,
        port_count,
        proto: Proto::parse(proto),
        formats: Formats::of(r),
    })
}

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

/// The attributes of one level with this name (case-insensitive, RFC 8866 §5.13).
fn named<'s, 'a>(
    attributes: &'s [Attribute<'a>],
    name: &'s str,
) -> impl Iterator<Item = &'s Attribute<'a>> + 's {
    attributes
        .iter()
        .filter(move |a| a.name().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod proto_tests {
    use super::*;

    #[test]
    fn token_is_take_till1() {
        let reference = |i| {
            nom::bytes::complete::take_till1::<_, _, nom::error::Error<&str>>(|c: char| {
                c == ' ' || c == '\t'
            })(i)
        };
        for i in [
            "",
            " ",
            "\t",
            "a",
            "ab cd",
            "ab\tcd",
            " ab",
            "é ü",
            "日本\t語",
            "x\u{a0}y z",
            "  \t x",
            "\u{a0} x",
            " \u{3000}",
        ] {
            assert_eq!(attr::token(i), reference(i), "{i:?}");
            // The byte loops read the same fields as options: (field, rest) and the rest
            // after the blanks.
            assert_eq!(
                attr::word(i),
                reference(i).ok().map(|(rest, w)| (w, rest)),
                "{i:?}"
            );
            assert_eq!(
                attr::after_blanks(i),
                nom::character::complete::space1::<_, nom::error::Error<&str>>(i)
                    .ok()
                    .map(|(rest, _)| rest),
                "{i:?}"
            );
            assert_eq!(
                attr::space1(i),
                nom::character::complete::space1::<_, nom::error::Error<&str>>(i),
                "{i:?}"
            );
        }
    }

    #[test]
    fn known_protos_answer_as_their_text() {
        for (name, p) in PROTOS {
            assert_eq!(p.is_rtp(), text_is_rtp(name), "{name}");
            assert_eq!(p.is_srtp(), text_is_srtp(name), "{name}");
            assert_eq!(p.is_dtls(), text_is_dtls(name), "{name}");
            let other = Proto::Other(name);
            assert_eq!(other.is_rtp(), p.is_rtp(), "{name}");
            assert_eq!(other.is_srtp(), p.is_srtp(), "{name}");
            assert_eq!(other.is_dtls(), p.is_dtls(), "{name}");
        }
    }
}
