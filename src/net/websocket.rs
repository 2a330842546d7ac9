//! WebSocket wire format for SIP over WebSocket (RFC 7118): the frame header of RFC 6455
//! §5.2, payload unmasking (RFC 6455 §5.3) and the HTTP/1.1 Upgrade handshake (RFC 6455
//! §4.1, §4.2.2) that turns a TCP direction into a WebSocket one.
//!
//! Pure functions over byte slices: they never allocate, never panic, and never trust a
//! length from the wire beyond the bound the caller gives. What to do with the frames
//! (messages, fragments, SIP framing) is the stream layer's job ([`super::stream`]).

use memchr::memchr_iter;

use super::sipframe;

/// Frame opcodes (RFC 6455 §5.2, §11.8).
pub mod opcode {
    /// Continuation of a fragmented message (RFC 6455 §5.4).
    pub const CONTINUATION: u8 = 0x0;
    /// Text data (UTF-8).
    pub const TEXT: u8 = 0x1;
    /// Binary data.
    pub const BINARY: u8 = 0x2;
    /// Connection close (control, RFC 6455 §5.5.1).
    pub const CLOSE: u8 = 0x8;
    /// Ping (control, RFC 6455 §5.5.2).
    pub const PING: u8 = 0x9;
    /// Pong (control, RFC 6455 §5.5.3).
    pub const PONG: u8 = 0xA;
}

/// Longest frame header: 2 fixed bytes, a 64-bit extended length and a masking key
/// (RFC 6455 §5.2).
pub const MAX_HEADER_LEN: usize = 14;

/// Largest control frame payload (RFC 6455 §5.5: 125 bytes or less).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;

/// Longest HTTP handshake head (request or response line and headers) waited for. Real
/// upgrade requests are well under 1 KiB; browsers with many cookies reach a few KiB.
pub const MAX_HANDSHAKE_LEN: usize = 16 * 1024;

/// A decoded frame header (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits; non-zero only with a negotiated extension
    /// (permessage-deflate sets RSV1, RFC 7692 §6), which leaves the payload unreadable here.
    pub rsv: u8,
    /// The opcode (see [`opcode`]).
    pub opcode: u8,
    /// The masking key when the MASK bit is set (client to server frames, RFC 6455 §5.3).
    pub mask: Option<[u8; 4]>,
    /// Bytes of the header: 2 to [`MAX_HEADER_LEN`].
    pub header_len: usize,
    /// Payload length as declared (7, 16 or 63 bits).
    pub payload_len: u64,
}

impl FrameHeader {
    /// Control frames have the high opcode bit set (RFC 6455 §5.5).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }

    /// Header plus declared payload, saturating.
    pub fn total_len(&self) -> u64 {
        (self.header_len as u64).saturating_add(self.payload_len)
    }

    /// What is wrong with a header that decodes, if anything: a reserved opcode (framing
    /// is probably lost), a fragmented or long control frame (RFC 6455 §5.5), RSV bits
    /// without an extension this reader knows (RFC 6455 §5.2).
    pub fn problem(&self) -> Option<Problem> {
        if !matches!(
            self.opcode,
            opcode::CONTINUATION
                | opcode::TEXT
                | opcode::BINARY
                | opcode::CLOSE
                | opcode::PING
                | opcode::PONG
        ) {
            return Some(Problem::ReservedOpcode);
        }
        if self.is_control() && !self.fin {
            return Some(Problem::FragmentedControl);
        }
        if self.is_control() && self.payload_len > MAX_CONTROL_PAYLOAD {
            return Some(Problem::LongControl);
        }
        if self.rsv != 0 {
            return Some(Problem::Reserved);
        }
        None
    }
}

/// A protocol violation in a frame header (RFC 6455 §5.2, §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Opcode 0x3-0x7 or 0xB-0xF: no frame of a known kind starts here.
    ReservedOpcode,
    /// A control frame without FIN (control frames are never fragmented, §5.5).
    FragmentedControl,
    /// A control frame with a payload over 125 bytes (§5.5).
    LongControl,
    /// RSV bits set: an extension (compression) this reader does not decode.
    Reserved,
    /// A 64-bit length with its most significant bit set (§5.2 forbids it).
    LengthTooLarge,
}

/// What [`parse_header`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// A whole header.
    Header(FrameHeader),
    /// The buffer ends inside the header.
    NeedMore,
    /// The header cannot be decoded ([`Problem::LengthTooLarge`]).
    Bad(Problem),
}

/// Decodes the frame header at the start of `b` (RFC 6455 §5.2): FIN, RSV1-3, opcode,
/// MASK, payload length in 7 bits, or 126 + 16 bits, or 127 + 64 bits, and the masking
/// key. A non-minimal length encoding is accepted (lenient; RFC 6455 §5.2 asks senders for
/// the minimal one).
pub fn parse_header(b: &[u8]) -> Header {
    let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
        return Header::NeedMore;
    };
    let (len7, masked) = (b1 & 0x7f, b1 & 0x80 != 0);
    let (payload_len, mut at) = match len7 {
        126 => match b.get(2..4) {
            Some(&[hi, lo]) => (u64::from(u16::from_be_bytes([hi, lo])), 4),
            _ => return Header::NeedMore,
        },
        127 => match b.get(2..10).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
            Some(x) => {
                let n = u64::from_be_bytes(x);
                if n >> 63 != 0 {
                    return Header::Bad(Problem::LengthTooLarge);
                }
                (n, 10)
            }
            None => return Header::NeedMore,
        },
        n => (u64::from(n), 2),
    };
    let mask = if masked {
        match b.get(at..at + 4).and_then(|s| <[u8; 4]>::try_from(s).ok()) {
            Some(k) => {
                at += 4;
                Some(k)
            }
            None => return Header::NeedMore,
        }
    } else {
        None
    };
    Header::Header(FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x7,
        opcode: b0 & 0x0f,
        mask,
        header_len: at,
        payload_len,
    })
}

/// One whole frame at the start of a buffer: its header and its payload as it is on the
/// wire (still masked when `header.mask` is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: FrameHeader,
    /// The payload bytes, borrowed from the buffer.
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Bytes of the frame, header included.
    pub fn len(&self) -> usize {
        self.header.header_len + self.payload.len()
    }

    /// Whether the frame is empty (never: a header has at least 2 bytes). For clippy's
    /// `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What [`parse_frame`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameParse<'a> {
    /// A whole frame.
    Frame(Frame<'a>),
    /// The buffer ends inside the frame, whose payload fits the bound: wait for more.
    NeedMore,
    /// A frame whose payload is larger than the caller's bound: `header.total_len()` bytes
    /// should be skipped, never buffered.
    Oversize(FrameHeader),
    /// No frame can be decoded here.
    Bad(Problem),
}

/// Decodes the frame at the start of `b` (RFC 6455 §5.2) whose payload is at most
/// `max_payload` bytes; the length on the wire is compared with the bound before any
/// slicing, so a forged 2^63 length costs nothing.
pub fn parse_frame(b: &[u8], max_payload: usize) -> FrameParse<'_> {
    let header = match parse_header(b) {
        Header::Header(h) => h,
        Header::NeedMore => return FrameParse::NeedMore,
        Header::Bad(p) => return FrameParse::Bad(p),
    };
    if header.payload_len > max_payload as u64 {
        return FrameParse::Oversize(header);
    }
    // Fits `max_payload`, itself a usize.
    let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
    match b.get(header.header_len..).and_then(|p| p.get(..len)) {
        Some(payload) => FrameParse::Frame(Frame { header, payload }),
        None => FrameParse::NeedMore,
    }
}

/// Appends `payload` unmasked with `key` to `out` (RFC 6455 §5.3: octet i is XORed with
/// key octet i mod 4). Unmasking is its own inverse, so this also masks.
pub fn unmask_into(payload: &[u8], key: [u8; 4], out: &mut Vec<u8>) {
    out.reserve(payload.len());
    let mut chunks = payload.chunks_exact(4);
    for c in &mut chunks {
        if let [a, b, c2, d] = *c {
            out.extend_from_slice(&[a ^ key[0], b ^ key[1], c2 ^ key[2], d ^ key[3]]);
        }
    }
    out.extend(
        chunks
            .remainder()
            .iter()
            .zip(key.iter())
            .map(|(b, k)| b ^ k),
    );
}

/// Appends the payload of `f` to `out`, unmasked when it is masked.
pub fn payload_into(f: &Frame<'_>, out: &mut Vec<u8>) {
    match f.header.mask {
        Some(k) => unmask_into(f.payload, k, out),
        None => out.extend_from_slice(f.payload),
    }
}

/// Whether a frame header is a plausible start of a data message carrying SIP: text or
/// binary (FIN set or not), no RSV bit.
fn data_start(b0: u8) -> bool {
    b0 & 0x70 == 0 && matches!(b0 & 0x0f, opcode::TEXT | opcode::BINARY)
}

/// Most payload bytes unmasked to look for a SIP start line in [`probe_sip_frame`].
const PROBE_BYTES: usize = 256;

/// What [`probe_sip_frame`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// A data frame whose payload starts with a SIP start line.
    Sip,
    /// Not one.
    No,
    /// Maybe: the buffer ends before it can tell.
    NeedMore,
}

/// Whether `b` starts with a WebSocket data frame (text or binary, RFC 6455 §5.6) whose
/// payload, unmasked, begins with a SIP start line (RFC 7118 §5: one SIP message per
/// WebSocket message). Used to find frame boundaries again where the handshake was not
/// seen (a capture that starts mid-connection) or after a hole in the stream.
pub fn probe_sip_frame(b: &[u8], max_payload: usize) -> Probe {
    match b.first() {
        None => return Probe::NeedMore,
        Some(&b0) if !data_start(b0) => return Probe::No,
        Some(_) => {}
    }
    let h = match parse_header(b) {
        Header::Header(h) => h,
        Header::NeedMore => return Probe::NeedMore,
        Header::Bad(_) => return Probe::No,
    };
    if h.payload_len > max_payload as u64 || h.payload_len == 0 {
        return Probe::No;
    }
    let want = usize::try_from(h.payload_len)
        .unwrap_or(usize::MAX)
        .min(PROBE_BYTES);
    let have = b.get(h.header_len..).unwrap_or_default();
    let have = have.get(..want).unwrap_or(have);
    let mut head = [0u8; PROBE_BYTES];
    for (i, (d, &s)) in head.iter_mut().zip(have).enumerate() {
        *d = match h.mask {
            Some(k) => s ^ k[i & 3],
            None => s,
        };
    }
    let head = head.get(..have.len()).unwrap_or_default();
    if sipframe::looks_like_sip_start(head) {
        Probe::Sip
    } else if have.len() < want && sipframe::could_start_sip(head) {
        Probe::NeedMore
    } else {
        Probe::No
    }
}

/// Where [`find_sip_frame`] found a frame boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A data frame carrying a SIP start line begins at this offset.
    At(usize),
    /// One may begin at this offset, but the buffer ends before it can tell.
    Maybe(usize),
    /// None begins before `limit`.
    None,
}

/// The first offset below `limit` where [`probe_sip_frame`] says yes or maybe.
pub fn find_sip_frame(b: &[u8], limit: usize, max_payload: usize) -> Found {
    let limit = limit.min(b.len());
    for (i, &b0) in b.iter().enumerate().take(limit) {
        if !data_start(b0) {
            continue;
        }
        match probe_sip_frame(b.get(i..).unwrap_or_default(), max_payload) {
            Probe::Sip => return Found::At(i),
            Probe::NeedMore => return Found::Maybe(i),
            Probe::No => {}
        }
    }
    Found::None
}

/// Which side of the handshake a head is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeKind {
    /// The client's `GET` (RFC 6455 §4.1).
    Request,
    /// The server's response with its status code (101 accepts, RFC 6455 §4.2.2).
    Response(u16),
}

/// An HTTP/1.1 head (request or status line and headers, RFC 9112 §2.1) at the start of a
/// direction, read for the WebSocket upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// Request or response.
    pub kind: HandshakeKind,
    /// Bytes of the head, up to and including the empty line.
    pub len: usize,
    /// `Upgrade: websocket` is present (RFC 6455 §4.1 item 5, §4.2.2).
    pub websocket: bool,
    /// `Sec-WebSocket-Protocol` lists `sip` (RFC 7118 §4.1: the request offers it, the
    /// response selects it).
    pub sip: bool,
}

impl Handshake {
    /// The direction carries WebSocket frames after this head: an upgrade request, or a
    /// 101 response that accepts one.
    pub fn upgrades(&self) -> bool {
        self.websocket
            && match self.kind {
                HandshakeKind::Request => true,
                HandshakeKind::Response(code) => code == 101,
            }
    }
}

/// What [`handshake`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeParse {
    /// A whole head.
    Head(Handshake),
    /// The buffer could still become a head: wait for more bytes.
    NeedMore,
    /// Not an HTTP `GET` request or an HTTP/1.x response, or a head longer than
    /// [`MAX_HANDSHAKE_LEN`].
    No,
}

/// Checks `data` against `expected` case-sensitively; a short `data` matching so far is
/// `Some(false)`, a full match `Some(true)`.
fn prefix(data: &[u8], expected: &[u8]) -> Option<bool> {
    let n = data.len().min(expected.len());
    (data.get(..n)? == expected.get(..n)?).then_some(n == expected.len())
}

/// Reads the HTTP/1.1 head at the start of `b` for the WebSocket opening handshake
/// (RFC 6455 §4.1 request: `GET` with `Upgrade: websocket`; §4.2.2 response: `101` with
/// `Upgrade: websocket`), and whether `Sec-WebSocket-Protocol` names `sip` (RFC 7118 §4.1).
/// Header names and the `websocket` and `sip` tokens compare case-insensitively.
pub fn handshake(b: &[u8]) -> HandshakeParse {
    let kind = match (prefix(b, b"GET "), prefix(b, b"HTTP/1.")) {
        (Some(true), _) => HandshakeKind::Request,
        (_, Some(true)) => {
            // "HTTP/1.x SP 3DIGIT"
            let code = b.get(9..12);
            match (b.get(7), b.get(8), code) {
                (Some(_), Some(b' '), Some(c)) if c.iter().all(u8::is_ascii_digit) => {
                    let n = c
                        .iter()
                        .fold(0u16, |n, d| n * 10 + u16::from(d.saturating_sub(b'0')));
                    HandshakeKind::Response(n)
                }
                (_, _, Some(_)) => return HandshakeParse::No,
                (_, Some(x), _) if *x != b' ' => return HandshakeParse::No,
                _ => return HandshakeParse::NeedMore,
            }
        }
        (Some(false), _) | (_, Some(false)) => return HandshakeParse::NeedMore,
        (None, None) => return HandshakeParse::No,
    };
    let Some(len) = head_end(b) else {
        return if b.len() >= MAX_HANDSHAKE_LEN {
            HandshakeParse::No
        } else {
            HandshakeParse::NeedMore
        };
    };
    if len > MAX_HANDSHAKE_LEN {
        return HandshakeParse::No;
    }
    let head = b.get(..len).unwrap_or_default();
    let mut websocket = false;
    let mut sip = false;
    // Header lines after the start line; obsolete line folding (RFC 9112 §5.2) is not
    // followed: no browser or SIP stack folds these headers.
    for line in head.split(|&c| c == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = trim(line.get(..colon).unwrap_or_default());
        let value = line.get(colon + 1..).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"upgrade") {
            websocket |= has_token(value, b"websocket");
        } else if name.eq_ignore_ascii_case(b"sec-websocket-protocol") {
            sip |= has_token(value, b"sip");
        }
    }
    HandshakeParse::Head(Handshake {
        kind,
        len,
        websocket,
        sip,
    })
}

/// Length of an HTTP head through its empty line (CRLF CRLF, or LF LF leniently).
fn head_end(b: &[u8]) -> Option<usize> {
    for lf in memchr_iter(b'\n', b) {
        if lf > MAX_HANDSHAKE_LEN {
            return None;
        }
        match (b.get(lf + 1), b.get(lf + 2)) {
            (Some(b'\n'), _) => return Some(lf + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(lf + 3),
            _ => {}
        }
    }
    None
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&c| c == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

/// Trims SP, HT and CR on both sides.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', tail @ ..] = s {
        s = tail;
    }
    while let [head @ .., b' ' | b'\t' | b'\r'] = s {
        s = head;
    }
    s
}

#[cfg(test)]
mod tests;
