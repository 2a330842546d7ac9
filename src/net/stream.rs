//! The in-order byte stream layer: what one direction of a connection carries, once its
//! bytes are in order. TCP feeds it the reassembled plaintext of each direction
//! ([`super::tcp`]); decrypted TLS plaintext can be fed to a second instance the same way,
//! so SIP over TLS and WebSocket inside TLS (WSS) go through the same code.
//!
//! A [`StreamFramer`] classifies its direction (not known yet, SIP, WebSocket, not SIP),
//! frames SIP messages (RFC 3261 §18.3) and HEPv3 packets out of it, borrowing from the
//! frame when a message lies wholly inside one segment, and skips oversize messages
//! without buffering them. A direction that opens with the HTTP/1.1 Upgrade handshake of
//! RFC 6455 §4 (`GET` with `Upgrade: websocket`, or the `101` answering it) is WebSocket
//! from then on: its frames (RFC 6455 §5.2, [`websocket`]) are reassembled into messages,
//! and each message payload is framed as SIP (RFC 7118 §5). Every buffer is bounded by
//! [`NetLimits::max_buffered_bytes`].

use std::borrow::Cow;
use std::ops::Range;

use super::sipframe::{self, frame_stream_bounded, StreamFrame};
use super::tls_stream;
use super::websocket::{self, opcode, Found, FrameParse, HandshakeParse, Problem};
use super::{Bytes, Ctx, NetLimits, NetStats, Segment, Transport};

/// Where a stream's segments go and what they are stamped with.
pub(crate) struct Sink<'s, 'o, 'a> {
    /// The bounds (buffers: `max_buffered_bytes`).
    pub(crate) limits: &'s NetLimits,
    /// The counters.
    pub(crate) stats: &'s mut NetStats,
    /// Frame number and time stamped on what is produced.
    pub(crate) ctx: Ctx,
    /// The direction's source.
    pub(crate) src: std::net::SocketAddr,
    /// The direction's destination.
    pub(crate) dst: std::net::SocketAddr,
    /// Framed segments.
    pub(crate) out: &'o mut Vec<Segment<'a>>,
}

impl<'a> Sink<'_, '_, 'a> {
    /// Hands one framed message to the caller.
    fn push(&mut self, transport: Transport, payload: Cow<'a, [u8]>) {
        self.out.push(Segment {
            frame: self.ctx.frame,
            ts: self.ctx.ts,
            src: self.src,
            dst: self.dst,
            transport,
            payload,
            hep: None,
            icmp: None,
        });
    }
}

/// Whether a direction carries SIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No SIP message framed yet.
    Unknown,
    /// At least one SIP message framed.
    Sip,
    /// Proven not SIP: bytes are counted, never buffered.
    NotSip,
    /// WebSocket frames ([`WsState`]).
    Ws,
}

/// What [`StreamFramer::feed`] did with the bytes.
#[derive(Debug)]
pub(crate) enum Fed {
    /// The bytes were taken.
    Taken,
    /// The direction opens with a TLS handshake record (only when the framer was made
    /// with `sniff_tls`): nothing of these bytes was taken; the bytes held before them
    /// are returned, and the caller frames both as TLS records from now on.
    Tls(Vec<u8>),
}

/// WebSocket state of one direction.
#[derive(Debug, Default)]
struct WsState {
    /// Unmasked payload of the data message being reassembled from fragments.
    msg: Vec<u8>,
    /// A data message is open (its first frame had no FIN, RFC 6455 §5.4).
    open: bool,
    /// Frames up to the next FIN are dropped: their message could not be kept
    /// (oversize, RSV bits, a continuation without a start).
    discard: bool,
    /// Bytes of an oversize frame still to skip.
    skip: u64,
    /// Frame boundaries are lost (a hole, a bad header): look for one again.
    lost: bool,
    /// Frames of the open message so far.
    frames: u32,
}

/// The stream layer of one direction: classification, SIP/HEP framing, WebSocket.
#[derive(Debug)]
pub(crate) struct StreamFramer {
    /// In-order bytes not yet framed (the start of an incomplete message or frame).
    buf: Vec<u8>,
    /// Bytes of an oversize SIP message still to skip.
    skip: u64,
    kind: Kind,
    /// The stream was seen from its start, so the first byte starts a message.
    from_start: bool,
    /// Bytes discarded as non-SIP before any SIP message was framed.
    junk: u64,
    /// Look for a TLS handshake record at the start (TCP: yes; decrypted TLS: no).
    sniff_tls: bool,
    /// WebSocket state when `kind` is [`Kind::Ws`]; boxed, most streams never need it.
    ws: Option<Box<WsState>>,
}

impl StreamFramer {
    /// A direction seen from its first byte (`from_start`: the SYN, or the first
    /// decrypted byte) or not; `sniff_tls` makes [`StreamFramer::feed`] report a
    /// direction that opens with a TLS handshake record.
    pub(crate) fn new(from_start: bool, sniff_tls: bool) -> Self {
        StreamFramer {
            buf: Vec::new(),
            skip: 0,
            kind: Kind::Unknown,
            from_start,
            junk: 0,
            sniff_tls,
            ws: None,
        }
    }

    /// Bytes held in buffers (an incomplete message, frame or fragmented WebSocket
    /// message).
    pub(crate) fn held(&self) -> usize {
        self.buf.len() + self.ws.as_ref().map_or(0, |w| w.msg.len())
    }

    /// The direction was proven not to carry SIP: its bytes need not be buffered.
    pub(crate) fn is_not_sip(&self) -> bool {
        self.kind == Kind::NotSip
    }

    /// Drops what is buffered (the direction closed, or a hole) and returns how many
    /// bytes that was, for the caller to count in `tcp_incomplete_bytes`; an unfinished
    /// fragmented WebSocket message is counted as dropped.
    pub(crate) fn drop_buffers(&mut self, stats: &mut NetStats) -> usize {
        let n = self.held();
        self.buf = Vec::new();
        if let Some(w) = self.ws.as_mut() {
            if w.open {
                stats.websocket.dropped_messages += 1;
            }
            w.msg = Vec::new();
            w.open = false;
        }
        n
    }

    /// Bytes are missing before the next ones (a hole in the TCP stream): the partial
    /// message cannot be completed; SIP framing resynchronises on the next start line and
    /// WebSocket framing on the next frame carrying one.
    pub(crate) fn gap(&mut self, stats: &mut NetStats) {
        stats.tcp_incomplete_bytes += self.drop_buffers(stats) as u64;
        self.buf.clear();
        self.skip = 0;
        // The bytes after the hole may start mid-message.
        self.from_start = false;
        if let Some(w) = self.ws.as_mut() {
            w.skip = 0;
            w.discard = false;
            lose_ws_sync(w, stats);
        }
    }

    /// Feeds in-order bytes. SIP messages framed directly are stamped `transport`; those
    /// carried in WebSocket messages `transport.over_websocket()`.
    pub(crate) fn feed<'a>(
        &mut self,
        sink: &mut Sink<'_, '_, 'a>,
        data: Bytes<'a, '_>,
        transport: Transport,
    ) -> Fed {
        let len = data.get().len();
        let mut data = data;
        if self.skip > 0 {
            let n = usize::try_from(self.skip).unwrap_or(usize::MAX).min(len);
            self.skip -= n as u64;
            sink.stats.tcp_oversize_bytes += n as u64;
            data = data.sub(n);
        }
        if data.get().is_empty() {
            return Fed::Taken;
        }
        if self.kind == Kind::NotSip {
            sink.stats.tcp_non_sip_bytes += data.get().len() as u64;
            return Fed::Taken;
        }
        if self.sniff_tls
            && self.kind == Kind::Unknown
            && self.junk == 0
            && self.buf.len() < tls_stream::RECORD_HEADER_LEN
        {
            // The record header may arrive split: judge the first 5 bytes of the stream.
            let mut head = [0u8; tls_stream::RECORD_HEADER_LEN];
            let n = self.buf.len();
            let m = data.get().len().min(head.len() - n);
            let (h1, h2) = head.split_at_mut(n);
            h1.copy_from_slice(&self.buf);
            if let (Some(d), Some(h)) = (data.get().get(..m), h2.get_mut(..m)) {
                h.copy_from_slice(d);
            }
            let head = head.get(..n + m).unwrap_or_default();
            if head.len() < tls_stream::RECORD_HEADER_LEN {
                if tls_stream::could_start_tls(head) {
                    self.buf.extend_from_slice(data.get());
                    return Fed::Taken;
                }
            } else if tls_stream::looks_like_tls_start(head) {
                return Fed::Tls(std::mem::take(&mut self.buf));
            }
        }
        if self.buf.is_empty() {
            if let Bytes::Frame(s) = data {
                // Fast path: messages wholly inside this segment are borrowed from the frame.
                let used = self.process(sink, s, transport, |s, r| {
                    Cow::Borrowed(s.get(r).unwrap_or_default())
                });
                self.buf
                    .extend_from_slice(s.get(used..).unwrap_or_default());
                self.check_overflow(sink.limits, sink.stats);
                return Fed::Taken;
            }
        }
        self.buf.extend_from_slice(data.get());
        let buf = std::mem::take(&mut self.buf);
        let used = self.process(sink, &buf, transport, |s, r| {
            Cow::Owned(s.get(r).unwrap_or_default().to_vec())
        });
        self.buf = buf;
        self.buf.drain(..used.min(self.buf.len()));
        self.check_overflow(sink.limits, sink.stats);
        Fed::Taken
    }

    /// An incomplete message or frame larger than the buffer bound is dropped, and
    /// framing resynchronises.
    fn check_overflow(&mut self, limits: &NetLimits, stats: &mut NetStats) {
        if self.buf.len() > limits.max_buffered_bytes {
            stats.tcp_buffer_overflows += 1;
            stats.tcp_incomplete_bytes += self.buf.len() as u64;
            self.buf = Vec::new();
            self.from_start = false;
            if let Some(w) = self.ws.as_mut() {
                lose_ws_sync(w, stats);
            }
        }
    }

    /// Frames what `s` holds (SIP, HEP, the WebSocket handshake and frames) until it
    /// needs more bytes; returns how many bytes were consumed.
    fn process<'s, 'a>(
        &mut self,
        sink: &mut Sink<'_, '_, 'a>,
        s: &'s [u8],
        transport: Transport,
        payload: impl Fn(&'s [u8], Range<usize>) -> Cow<'a, [u8]>,
    ) -> usize {
        let mut pos = 0;
        loop {
            if self.kind == Kind::Ws {
                return pos + self.ws_frames(sink, s, pos, transport.over_websocket(), &payload);
            }
            let (used, to_ws) = self.frame_all(sink, s, pos, transport, &payload);
            pos = used;
            if !to_ws {
                return pos;
            }
        }
    }

    /// Switches the direction to WebSocket framing.
    fn start_ws(&mut self, stats: &mut NetStats, found_by_probe: bool) {
        self.kind = Kind::Ws;
        stats.websocket.streams += 1;
        let ws = self.ws.get_or_insert_with(Box::default);
        if found_by_probe {
            stats.websocket.resyncs += 1;
            ws.lost = false;
        }
    }

    /// Frames SIP messages and HEP packets from `s[pos..]` until it needs more bytes;
    /// returns the position reached and whether the direction turned out to be WebSocket
    /// there (the rest is WebSocket frames).
    fn frame_all<'s, 'a>(
        &mut self,
        sink: &mut Sink<'_, '_, 'a>,
        s: &'s [u8],
        mut pos: usize,
        transport: Transport,
        payload: &impl Fn(&'s [u8], Range<usize>) -> Cow<'a, [u8]>,
    ) -> (usize, bool) {
        let max = sink.limits.max_buffered_bytes;
        while pos < s.len() {
            let rest = s.get(pos..).unwrap_or_default();
            if self.kind == Kind::Unknown {
                // The WebSocket opening handshake (RFC 6455 §4): the client's GET or the
                // server's 101. Any port: WebSocket servers listen where they like.
                match websocket::handshake(rest) {
                    HandshakeParse::NeedMore => break,
                    HandshakeParse::Head(h) if h.upgrades() => {
                        sink.stats.websocket.handshakes += 1;
                        if !h.sip {
                            // Still read: a payload that frames as SIP is SIP (see
                            // docs/usage.md), the rest is counted as not SIP.
                            sink.stats.websocket.other_protocols += 1;
                        }
                        self.start_ws(sink.stats, false);
                        return (pos + h.len, true);
                    }
                    // Not an upgrade: left to the SIP framing, which calls it not SIP.
                    HandshakeParse::Head(_) | HandshakeParse::No => {}
                }
            }
            // HEP over TCP (an agent feeding a collector): HEPv3 packets framed by their
            // length, decapsulated by `Decoder::tcp`. A SIP stream never starts with the
            // magic.
            if crate::hep::is_v3(rest) {
                match crate::hep::v3_frame_len(rest) {
                    None => break,
                    Some(n) if n >= 6 && n <= rest.len() => {
                        sink.push(transport, payload(s, pos..pos + n));
                        self.kind = Kind::Sip;
                        pos += n;
                        continue;
                    }
                    Some(n) if n >= 6 => break,
                    // A length below its own header: not HEP, left to the SIP framing.
                    Some(_) => {}
                }
            }
            match frame_stream_bounded(rest, max) {
                StreamFrame::Message(n) => {
                    sink.push(transport, payload(s, pos..pos + n));
                    sink.stats.tcp_sip_messages += 1;
                    self.kind = Kind::Sip;
                    pos += n.max(1);
                }
                StreamFrame::Keepalive(n) => {
                    sink.stats.sip_keepalives += 1;
                    pos += n.max(1);
                }
                StreamFrame::NeedMore => break,
                StreamFrame::NotSip(n) => {
                    let mut n = n.max(1);
                    if self.kind == Kind::Unknown && !self.from_start {
                        // Seen mid-connection, the upgrade may have been missed: a
                        // WebSocket data frame carrying a SIP start line shows where
                        // frames start.
                        match websocket::find_sip_frame(rest, n, max) {
                            Found::At(k) => {
                                sink.stats.tcp_non_sip_bytes += k as u64;
                                self.junk += k as u64;
                                self.start_ws(sink.stats, true);
                                return (pos + k, true);
                            }
                            Found::Maybe(0) => break,
                            Found::Maybe(k) => n = k,
                            Found::None => {}
                        }
                    }
                    sink.stats.tcp_non_sip_bytes += n as u64;
                    self.junk += n as u64;
                    pos += n;
                    // A stream seen from its SYN that does not start with SIP is not SIP
                    // (HTTP, TLS on 5060/5061); one seen mid-stream gets a buffer's worth
                    // of chances.
                    let proven =
                        self.kind == Kind::Unknown && (self.from_start || self.junk > max as u64);
                    if proven {
                        self.kind = Kind::NotSip;
                        sink.stats.tcp_non_sip_streams += 1;
                        sink.stats.tcp_non_sip_bytes += (s.len() - pos.min(s.len())) as u64;
                        return (s.len(), false);
                    }
                }
                StreamFrame::Oversize { total, .. } => {
                    sink.stats.tcp_oversize_messages += 1;
                    let avail = (s.len() - pos) as u64;
                    let now = total.min(avail);
                    self.skip = total - now;
                    sink.stats.tcp_oversize_bytes += now;
                    pos += now as usize;
                }
            }
        }
        (pos.min(s.len()), false)
    }

    /// Reads WebSocket frames from `s[pos..]` until one is incomplete; returns the bytes
    /// consumed. Data messages, whole or reassembled from fragments, go through
    /// [`sip_in_message`]; control frames may come between fragments (RFC 6455 §5.4).
    fn ws_frames<'s, 'a>(
        &mut self,
        sink: &mut Sink<'_, '_, 'a>,
        s: &'s [u8],
        start: usize,
        transport: Transport,
        payload: &impl Fn(&'s [u8], Range<usize>) -> Cow<'a, [u8]>,
    ) -> usize {
        // A frame must fit the buffer with its header.
        let max = sink
            .limits
            .max_buffered_bytes
            .saturating_sub(websocket::MAX_HEADER_LEN);
        let Some(ws) = self.ws.as_mut() else {
            return 0;
        };
        let mut pos = start;
        while pos < s.len() {
            let rest = s.get(pos..).unwrap_or_default();
            if ws.skip > 0 {
                let n = usize::try_from(ws.skip)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                ws.skip -= n as u64;
                sink.stats.websocket.oversize_bytes += n as u64;
                pos += n;
                continue;
            }
            if ws.lost {
                match websocket::find_sip_frame(rest, rest.len(), max) {
                    Found::At(k) => {
                        sink.stats.websocket.unsynced_bytes += k as u64;
                        sink.stats.websocket.resyncs += 1;
                        ws.lost = false;
                        pos += k;
                        continue;
                    }
                    Found::Maybe(k) => {
                        sink.stats.websocket.unsynced_bytes += k as u64;
                        pos += k;
                        break;
                    }
                    Found::None => {
                        sink.stats.websocket.unsynced_bytes += rest.len() as u64;
                        pos = s.len();
                        break;
                    }
                }
            }
            let f = match websocket::parse_frame(rest, max) {
                FrameParse::NeedMore => break,
                FrameParse::Bad(_) => {
                    sink.stats.websocket.bad_frames += 1;
                    lose_ws_sync(ws, sink.stats);
                    continue;
                }
                FrameParse::Oversize(h) if h.problem() == Some(Problem::ReservedOpcode) => {
                    // Not a frame boundary after all: do not skip a forged length's worth.
                    sink.stats.websocket.bad_frames += 1;
                    lose_ws_sync(ws, sink.stats);
                    continue;
                }
                FrameParse::Oversize(h) => {
                    // Never buffered: skipped as it streams by, and its message with it.
                    sink.stats.websocket.frames += 1;
                    sink.stats.websocket.oversize_frames += 1;
                    drop_message(ws, sink.stats);
                    ws.discard = !h.fin && !h.is_control();
                    ws.skip = h.total_len();
                    continue;
                }
                FrameParse::Frame(f) => f,
            };
            let h = f.header;
            if h.problem() == Some(Problem::ReservedOpcode) {
                // No frame kind starts with this byte: the boundary is probably wrong.
                sink.stats.websocket.bad_frames += 1;
                lose_ws_sync(ws, sink.stats);
                continue;
            }
            let at = pos + h.header_len;
            pos += f.len();
            let stats = &mut sink.stats.websocket;
            stats.frames += 1;
            match h.problem() {
                Some(Problem::FragmentedControl | Problem::LongControl) => {
                    // Its length is still good: skip it, keep framing.
                    stats.bad_frames += 1;
                    continue;
                }
                Some(Problem::Reserved | Problem::LengthTooLarge | Problem::ReservedOpcode) => {
                    // An extension (compression) this reader does not decode.
                    stats.bad_frames += 1;
                    if !h.is_control() {
                        drop_message(ws, sink.stats);
                        ws.discard = !h.fin;
                    }
                    continue;
                }
                None => {}
            }
            if h.is_control() {
                // Ping, pong, close: allowed between fragments (RFC 6455 §5.4, §5.5).
                stats.control_frames += 1;
                continue;
            }
            if h.opcode == opcode::CONTINUATION {
                if ws.discard {
                    ws.discard = !h.fin;
                    continue;
                }
                if !ws.open {
                    // A continuation with no message to continue.
                    stats.bad_frames += 1;
                    ws.discard = !h.fin;
                    continue;
                }
                if ws.msg.len() + f.payload.len() > max {
                    stats.oversize_messages += 1;
                    drop_message(ws, sink.stats);
                    ws.discard = !h.fin;
                    continue;
                }
                websocket::payload_into(&f, &mut ws.msg);
                ws.frames += 1;
                if h.fin {
                    stats.messages += 1;
                    stats.fragmented_messages += 1;
                    let msg = std::mem::take(&mut ws.msg);
                    ws.open = false;
                    sip_in_message(sink, &msg, transport, |r| {
                        Cow::Owned(msg.get(r).unwrap_or_default().to_vec())
                    });
                    // Keep the allocation for the next fragmented message.
                    ws.msg = msg;
                    ws.msg.clear();
                }
                continue;
            }
            // Text or binary: a new message.
            if ws.open {
                // The previous one never got its FIN (RFC 6455 §5.4 forbids interleaving).
                sink.stats.websocket.bad_frames += 1;
                drop_message(ws, sink.stats);
            }
            ws.discard = false;
            if !h.fin {
                ws.open = true;
                ws.frames = 1;
                ws.msg.clear();
                websocket::payload_into(&f, &mut ws.msg);
                continue;
            }
            sink.stats.websocket.messages += 1;
            match h.mask {
                // Server to client: the payload is the message, borrowed when it can be.
                None => {
                    let base = at;
                    sip_in_message(sink, f.payload, transport, |r| {
                        payload(s, base + r.start..base + r.end)
                    })
                }
                Some(_) => {
                    let mut plain = Vec::new();
                    websocket::payload_into(&f, &mut plain);
                    sip_in_message(sink, &plain, transport, |r| {
                        Cow::Owned(plain.get(r).unwrap_or_default().to_vec())
                    });
                }
            }
        }
        pos.min(s.len()) - start.min(pos)
    }
}

/// Framing is lost: frames are looked for again with [`websocket::find_sip_frame`].
fn lose_ws_sync(ws: &mut WsState, stats: &mut NetStats) {
    if !ws.lost {
        ws.lost = true;
        stats.websocket.desyncs += 1;
    }
    drop_message(ws, stats);
}

/// The open fragmented message cannot be completed: its bytes are dropped and counted.
fn drop_message(ws: &mut WsState, stats: &mut NetStats) {
    if ws.open {
        stats.websocket.dropped_messages += 1;
        stats.tcp_incomplete_bytes += ws.msg.len() as u64;
    }
    ws.open = false;
    ws.msg.clear();
}

/// The SIP messages in one complete WebSocket message payload `p` (RFC 7118 §5: one per
/// message; several, or keepalives, are accepted too). The WebSocket message delimits the
/// SIP message, so one without `Content-Length` takes the rest of the payload as its body,
/// and one cut short (its `Content-Length` points past the payload) is handed up as it is,
/// for the SIP parser to report. `mk` turns a range of `p` into the segment payload.
fn sip_in_message<'a>(
    sink: &mut Sink<'_, '_, 'a>,
    p: &[u8],
    transport: Transport,
    mk: impl Fn(Range<usize>) -> Cow<'a, [u8]>,
) {
    let mut pos = 0;
    while let Some(rest) = p.get(pos..).filter(|r| !r.is_empty()) {
        match frame_stream_bounded(rest, p.len()) {
            StreamFrame::Message(n) => {
                let n = n.max(1);
                let mut end = pos + n;
                let after = p.get(end..).unwrap_or_default();
                let more_sip = after.is_empty()
                    || matches!(
                        frame_stream_bounded(after, p.len()),
                        StreamFrame::Message(_)
                            | StreamFrame::Keepalive(_)
                            | StreamFrame::NeedMore
                            | StreamFrame::Oversize { .. }
                    );
                if !more_sip && !sipframe::declares_length(rest) {
                    end = p.len();
                }
                sink.push(transport, mk(pos..end));
                sink.stats.websocket.sip_messages += 1;
                pos = end;
            }
            StreamFrame::Keepalive(n) => {
                sink.stats.sip_keepalives += 1;
                pos += n.max(1);
            }
            StreamFrame::NotSip(n) => {
                sink.stats.websocket.non_sip_bytes += n.max(1) as u64;
                pos += n.max(1);
            }
            StreamFrame::NeedMore | StreamFrame::Oversize { .. } => {
                if sipframe::looks_like_sip_start(rest) {
                    sink.push(transport, mk(pos..p.len()));
                    sink.stats.websocket.sip_messages += 1;
                    sink.stats.websocket.cut_sip_messages += 1;
                } else {
                    sink.stats.websocket.non_sip_bytes += rest.len() as u64;
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
