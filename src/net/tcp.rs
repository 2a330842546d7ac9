//! TCP stream reassembly per direction, and SIP message framing over the in-order bytes.
//!
//! Each direction (source -> destination 4-tuple) tracks the next expected sequence number,
//! starting from the first segment seen (captures often start mid-stream). Out-of-order
//! segments are buffered up to a bound; when it overflows, or when FIN/RST closes the
//! direction with a hole, the hole is skipped and counted. Sequence numbers compare with u32
//! wrapping arithmetic (RFC 9293 §3.4).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::sipframe::{frame_stream_bounded, StreamFrame};
use super::tls_stream::{self, TlsDir};
use super::{Bytes, Ctx, NetLimits, NetStats, Segment, Transport};
use crate::capture::Timestamp;

/// Whether a direction carries SIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No SIP message framed yet.
    Unknown,
    /// At least one SIP message framed.
    Sip,
    /// Proven not SIP: bytes are counted, never buffered.
    NotSip,
    /// Opened with a TLS handshake record: framed as TLS records ([`tls_stream`]).
    Tls,
}

/// A segment received ahead of the next expected sequence number.
#[derive(Debug)]
struct Pending {
    seq: u32,
    data: Vec<u8>,
}

/// One direction of a TCP connection.
#[derive(Debug)]
struct Direction {
    next_seq: u32,
    last_ts: Timestamp,
    ooo: Vec<Pending>,
    ooo_bytes: usize,
    /// In-order bytes not yet framed (the start of an incomplete message).
    buf: Vec<u8>,
    /// Bytes of an oversize message still to skip.
    skip: u64,
    kind: Kind,
    /// The SYN was seen, so the first data byte starts a message.
    from_start: bool,
    /// Bytes discarded as non-SIP before any SIP message was framed.
    junk: u64,
    /// FIN or RST seen: later segments are ignored until a new SYN.
    closed: bool,
    /// TLS record framing, when `kind` is [`Kind::Tls`].
    tls: TlsDir,
}

impl Direction {
    /// Bytes this direction holds in its buffers.
    fn held(&self) -> usize {
        self.buf.len() + self.ooo_bytes
    }

    fn new(next_seq: u32, ts: Timestamp, from_start: bool) -> Self {
        Direction {
            next_seq,
            last_ts: ts,
            ooo: Vec::new(),
            ooo_bytes: 0,
            buf: Vec::new(),
            skip: 0,
            kind: Kind::Unknown,
            from_start,
            junk: 0,
            closed: false,
            tls: TlsDir::default(),
        }
    }
}

/// Signed distance from `base` to `seq` in sequence space.
fn seq_diff(seq: u32, base: u32) -> i64 {
    i64::from(seq.wrapping_sub(base) as i32)
}

/// TCP flags that matter for reassembly.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
}

/// All TCP directions being reassembled.
#[derive(Debug, Default)]
pub(crate) struct TcpReassembler {
    dirs: BTreeMap<(SocketAddr, SocketAddr), Direction>,
    last_sweep: Timestamp,
    /// Sum of `held()` over all directions.
    pub(crate) total: usize,
}

/// Everything the per-direction helpers need besides the direction itself.
struct Env<'s, 'o, 'a> {
    limits: &'s NetLimits,
    stats: &'s mut NetStats,
    ctx: Ctx,
    src: SocketAddr,
    dst: SocketAddr,
    out: &'o mut Vec<Segment<'a>>,
}

impl TcpReassembler {
    /// Feeds one TCP segment.
    #[allow(clippy::too_many_arguments)] // the segment's fields; a struct would only rename them
    pub(crate) fn segment<'a>(
        &mut self,
        limits: &NetLimits,
        stats: &mut NetStats,
        ctx: Ctx,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        flags: Flags,
        payload: Bytes<'a, '_>,
        out: &mut Vec<Segment<'a>>,
    ) {
        self.sweep(limits, stats, ctx.ts);
        let key = (src, dst);
        let data_seq = seq.wrapping_add(u32::from(flags.syn));
        let mut env = Env {
            limits,
            stats,
            ctx,
            src,
            dst,
            out,
        };
        if let Some(dir) = self.dirs.get_mut(&key) {
            if flags.syn && (dir.closed || data_seq != dir.next_seq) {
                // A new connection reusing the 4-tuple.
                self.total = self.total.saturating_sub(dir.held());
                *dir = Direction::new(data_seq, ctx.ts, true);
                env.stats.tcp_streams += 1;
            }
        } else {
            // Pure ACKs and stray FIN/RST do not open a direction.
            if !flags.syn && payload.get().is_empty() {
                return;
            }
            while self.dirs.len() >= limits.max_tcp_streams.max(1) {
                let Some(victim) = self
                    .dirs
                    .iter()
                    .min_by_key(|(k, d)| (d.last_ts, **k))
                    .map(|(k, _)| *k)
                else {
                    break;
                };
                if let Some(d) = self.dirs.remove(&victim) {
                    self.total = self.total.saturating_sub(d.held());
                }
                env.stats.tcp_stream_evictions += 1;
            }
            self.dirs
                .insert(key, Direction::new(data_seq, ctx.ts, flags.syn));
            env.stats.tcp_streams += 1;
        }
        let Some(dir) = self.dirs.get_mut(&key) else {
            return;
        };
        dir.last_ts = ctx.ts;
        if dir.closed {
            return;
        }
        let before = dir.held();
        if !payload.get().is_empty() {
            accept(dir, &mut env, data_seq, payload);
        }
        if flags.fin || flags.rst {
            if flags.fin {
                // Data missing right before the FIN with nothing buffered after it.
                let fin_seq = data_seq.wrapping_add(payload.get().len() as u32);
                let missing = seq_diff(fin_seq, dir.next_seq);
                if dir.ooo.is_empty() && missing > 0 {
                    env.stats.tcp_gaps += 1;
                    env.stats.tcp_gap_bytes += missing as u64;
                }
            }
            while !dir.ooo.is_empty() {
                skip_gap(dir, &mut env);
                drain(dir, &mut env);
            }
            if !dir.buf.is_empty() {
                env.stats.tcp_incomplete_bytes += dir.buf.len() as u64;
            }
            dir.closed = true;
            dir.buf = Vec::new();
            dir.ooo = Vec::new();
            dir.ooo_bytes = 0;
        }
        let after = dir.held();
        self.total = self.total.saturating_sub(before) + after;
        if self.total > limits.max_tcp_total_bytes {
            self.shed(limits, env.stats, key);
        }
    }

    /// Evicts the least recently active directions other than `keep` until the buffers
    /// together fit `max_tcp_total_bytes` again.
    fn shed(&mut self, limits: &NetLimits, stats: &mut NetStats, keep: (SocketAddr, SocketAddr)) {
        let mut by_age: Vec<(Timestamp, (SocketAddr, SocketAddr))> = self
            .dirs
            .iter()
            .filter(|(k, d)| **k != keep && d.held() > 0)
            .map(|(k, d)| (d.last_ts, *k))
            .collect();
        by_age.sort_unstable();
        for (_, k) in by_age {
            if self.total <= limits.max_tcp_total_bytes {
                break;
            }
            if let Some(d) = self.dirs.remove(&k) {
                self.total = self.total.saturating_sub(d.held());
                stats.tcp_incomplete_bytes += d.buf.len() as u64;
                stats.tcp_memory_evictions += 1;
            }
        }
    }

    /// Drops directions idle for longer than the timeout, at most once per 10 s of packet time.
    fn sweep(&mut self, limits: &NetLimits, stats: &mut NetStats, now: Timestamp) {
        if now.since(self.last_sweep) < 10_000_000_000 && now >= self.last_sweep {
            return;
        }
        self.last_sweep = now;
        let timeout = limits.tcp_idle_timeout_ns;
        let mut freed = 0;
        self.dirs.retain(|_, d| {
            let keep = now.since(d.last_ts) <= timeout;
            if !keep {
                freed += d.held();
                if !d.closed {
                    stats.tcp_idle_timeouts += 1;
                    stats.tcp_incomplete_bytes += d.buf.len() as u64;
                }
            }
            keep
        });
        self.total = self.total.saturating_sub(freed);
    }

    /// Number of directions tracked (open or closed).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.dirs.len()
    }
}

/// Places the data of one segment: in order, retransmitted, or ahead of a hole.
fn accept<'a>(dir: &mut Direction, env: &mut Env<'_, '_, 'a>, seq: u32, data: Bytes<'a, '_>) {
    let len = data.get().len();
    let rel = seq_diff(seq, dir.next_seq);
    if dir.kind == Kind::NotSip {
        // Nothing of a non-SIP direction is kept, out-of-order data included: count the new
        // bytes and move the edge forward.
        let end = rel.saturating_add(len as i64);
        if end > 0 {
            env.stats.tcp_non_sip_bytes += end.min(len as i64) as u64;
            dir.next_seq = seq.wrapping_add(len as u32);
        }
        return;
    }
    if rel <= 0 {
        let old = rel.unsigned_abs() as usize;
        if old >= len {
            env.stats.tcp_retransmissions += 1;
            return;
        }
        if old > 0 {
            // Partly old: keep the new tail (RFC 9293 §3.10.7.4 trims the same way).
            env.stats.tcp_retransmissions += 1;
        }
        deliver(dir, env, data.sub(old));
        drain(dir, env);
        return;
    }
    if dir.ooo.iter().any(|p| p.seq == seq && p.data.len() >= len) {
        env.stats.tcp_retransmissions += 1;
        return;
    }
    env.stats.tcp_out_of_order += 1;
    dir.ooo.push(Pending {
        seq,
        data: data.get().to_vec(),
    });
    dir.ooo_bytes += len;
    while dir.ooo.len() > env.limits.max_out_of_order
        || dir.ooo_bytes > env.limits.max_buffered_bytes
    {
        env.stats.tcp_buffer_overflows += 1;
        skip_gap(dir, env);
        drain(dir, env);
    }
}

/// Delivers every pending segment that the in-order bytes have reached.
fn drain(dir: &mut Direction, env: &mut Env<'_, '_, '_>) {
    loop {
        let Some(i) = dir
            .ooo
            .iter()
            .position(|p| seq_diff(p.seq, dir.next_seq) <= 0)
        else {
            return;
        };
        let p = dir.ooo.swap_remove(i);
        dir.ooo_bytes = dir.ooo_bytes.saturating_sub(p.data.len());
        let old = seq_diff(p.seq, dir.next_seq).unsigned_abs() as usize;
        if old < p.data.len() {
            deliver(
                dir,
                env,
                Bytes::Local(p.data.get(old..).unwrap_or_default()),
            );
        }
    }
}

/// Jumps over the hole before the earliest pending segment. The partial message in the
/// buffer cannot be completed any more: it is dropped and framing resynchronises on the next
/// start line.
fn skip_gap(dir: &mut Direction, env: &mut Env<'_, '_, '_>) {
    let Some(first) = dir
        .ooo
        .iter()
        .map(|p| p.seq)
        .min_by_key(|&s| seq_diff(s, dir.next_seq))
    else {
        return;
    };
    let gap = seq_diff(first, dir.next_seq);
    if gap > 0 {
        env.stats.tcp_gaps += 1;
        env.stats.tcp_gap_bytes += gap as u64;
        dir.next_seq = first;
        env.stats.tcp_incomplete_bytes += dir.buf.len() as u64;
        dir.buf.clear();
        dir.skip = 0;
        // The bytes after the hole may start mid-message.
        dir.from_start = false;
        if dir.kind == Kind::Tls {
            // Nothing tells where the next TLS record starts after a hole.
            dir.tls.lose_sync(env.stats);
        }
    }
}

/// Appends in-order bytes and frames whatever SIP messages they complete.
fn deliver<'a>(dir: &mut Direction, env: &mut Env<'_, '_, 'a>, data: Bytes<'a, '_>) {
    let len = data.get().len();
    dir.next_seq = dir.next_seq.wrapping_add(len as u32);
    let mut data = data;
    if dir.skip > 0 {
        let n = usize::try_from(dir.skip).unwrap_or(usize::MAX).min(len);
        dir.skip -= n as u64;
        env.stats.tcp_oversize_bytes += n as u64;
        data = data.sub(n);
    }
    if data.get().is_empty() {
        return;
    }
    if dir.kind == Kind::NotSip {
        env.stats.tcp_non_sip_bytes += data.get().len() as u64;
        return;
    }
    let mut held = Vec::new();
    if dir.kind == Kind::Unknown && dir.junk == 0 && dir.buf.len() < tls_stream::RECORD_HEADER_LEN {
        // The record header may arrive split: judge the first 5 bytes of the stream.
        let mut head = [0u8; tls_stream::RECORD_HEADER_LEN];
        let n = dir.buf.len();
        let m = data.get().len().min(head.len() - n);
        let (h1, h2) = head.split_at_mut(n);
        h1.copy_from_slice(&dir.buf);
        if let (Some(d), Some(h)) = (data.get().get(..m), h2.get_mut(..m)) {
            h.copy_from_slice(d);
        }
        let head = head.get(..n + m).unwrap_or_default();
        if head.len() < tls_stream::RECORD_HEADER_LEN {
            if tls_stream::could_start_tls(head) {
                dir.buf.extend_from_slice(data.get());
                return;
            }
        } else if tls_stream::looks_like_tls_start(head) {
            dir.kind = Kind::Tls;
            env.stats.tls_streams += 1;
            held = std::mem::take(&mut dir.buf);
        }
    }
    if dir.kind == Kind::Tls {
        for part in [held.as_slice(), data.get()] {
            let proto = Segment {
                frame: env.ctx.frame,
                ts: env.ctx.ts,
                src: env.src,
                dst: env.dst,
                transport: Transport::Tls,
                payload: Cow::Borrowed(&[]),
                hep: None,
                icmp: None,
            };
            let sink = tls_stream::Sink {
                stats: env.stats,
                out: env.out,
                proto,
            };
            tls_stream::deliver(&mut dir.tls, &mut dir.buf, part, sink);
        }
        return;
    }
    if dir.buf.is_empty() {
        if let Bytes::Frame(s) = data {
            // Fast path: messages wholly inside this segment are borrowed from the frame.
            let used = frame_all(dir, env, s, |s, r| {
                Cow::Borrowed(s.get(r).unwrap_or_default())
            });
            dir.buf.extend_from_slice(s.get(used..).unwrap_or_default());
            check_overflow(dir, env);
            return;
        }
    }
    dir.buf.extend_from_slice(data.get());
    let buf = std::mem::take(&mut dir.buf);
    let used = frame_all(dir, env, &buf, |s, r| {
        Cow::Owned(s.get(r).unwrap_or_default().to_vec())
    });
    dir.buf = buf;
    dir.buf.drain(..used.min(dir.buf.len()));
    check_overflow(dir, env);
}

/// An incomplete message larger than the buffer bound is dropped, and framing resynchronises.
fn check_overflow(dir: &mut Direction, env: &mut Env<'_, '_, '_>) {
    if dir.buf.len() > env.limits.max_buffered_bytes {
        env.stats.tcp_buffer_overflows += 1;
        env.stats.tcp_incomplete_bytes += dir.buf.len() as u64;
        dir.buf = Vec::new();
        dir.from_start = false;
    }
}

/// Hands one framed message (SIP, or a HEPv3 packet) of this direction to the caller.
fn push_message<'a>(env: &mut Env<'_, '_, 'a>, payload: Cow<'a, [u8]>) {
    env.out.push(Segment {
        frame: env.ctx.frame,
        ts: env.ctx.ts,
        src: env.src,
        dst: env.dst,
        transport: Transport::Tcp,
        payload,
        hep: None,
        icmp: None,
    });
}

/// Frames messages from `s` until it needs more bytes; returns how many bytes were consumed.
fn frame_all<'s, 'a>(
    dir: &mut Direction,
    env: &mut Env<'_, '_, 'a>,
    s: &'s [u8],
    payload: impl Fn(&'s [u8], std::ops::Range<usize>) -> Cow<'a, [u8]>,
) -> usize {
    let mut pos = 0;
    while pos < s.len() {
        let rest = s.get(pos..).unwrap_or_default();
        // HEP over TCP (an agent feeding a collector): HEPv3 packets framed by their length,
        // decapsulated by `Decoder::tcp`. A SIP stream never starts with the magic.
        if crate::hep::is_v3(rest) {
            match crate::hep::v3_frame_len(rest) {
                None => break,
                Some(n) if n >= 6 && n <= rest.len() => {
                    push_message(env, payload(s, pos..pos + n));
                    dir.kind = Kind::Sip;
                    pos += n;
                    continue;
                }
                Some(n) if n >= 6 => break,
                // A length below its own header: not HEP, left to the SIP framing.
                Some(_) => {}
            }
        }
        match frame_stream_bounded(rest, env.limits.max_buffered_bytes) {
            StreamFrame::Message(n) => {
                push_message(env, payload(s, pos..pos + n));
                env.stats.tcp_sip_messages += 1;
                dir.kind = Kind::Sip;
                pos += n.max(1);
            }
            StreamFrame::Keepalive(n) => {
                env.stats.sip_keepalives += 1;
                pos += n.max(1);
            }
            StreamFrame::NeedMore => break,
            StreamFrame::NotSip(n) => {
                let n = n.max(1);
                env.stats.tcp_non_sip_bytes += n as u64;
                dir.junk += n as u64;
                pos += n;
                // A stream seen from its SYN that does not start with SIP is not SIP (HTTP,
                // TLS on 5060/5061); one seen mid-stream gets a buffer's worth of chances.
                let proven = dir.kind == Kind::Unknown
                    && (dir.from_start || dir.junk > env.limits.max_buffered_bytes as u64);
                if proven {
                    dir.kind = Kind::NotSip;
                    env.stats.tcp_non_sip_streams += 1;
                    env.stats.tcp_non_sip_bytes += (s.len() - pos.min(s.len())) as u64;
                    return s.len();
                }
            }
            StreamFrame::Oversize { total, .. } => {
                env.stats.tcp_oversize_messages += 1;
                let avail = (s.len() - pos) as u64;
                let now = total.min(avail);
                dir.skip = total - now;
                env.stats.tcp_oversize_bytes += now;
                pos += now as usize;
            }
        }
    }
    pos.min(s.len())
}
