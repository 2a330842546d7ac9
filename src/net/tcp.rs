//! TCP stream reassembly per direction. The in-order bytes go to the stream layer
//! ([`super::stream`]: SIP and HEP framing, WebSocket), or, for a direction that opened with
//! a TLS handshake record, to TLS record framing ([`tls_stream`]). When keys are at hand
//! ([`KeyLog`]), the records of a TLS connection are decrypted ([`tls_decrypt`]) and the
//! plaintext of each direction goes to a stream layer of its own, as SIP over TLS
//! ([`Transport::Tls`]) or WebSocket inside it (WSS).
//!
//! Each direction (source -> destination 4-tuple) tracks the next expected sequence number,
//! starting from the first segment seen (captures often start mid-stream). Out-of-order
//! segments are buffered up to a bound; when it overflows, or when FIN/RST closes the
//! direction with a hole, the hole is skipped and counted. Sequence numbers compare with u32
//! wrapping arithmetic (RFC 9293 §3.4).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use super::stream::{Fed, Sink, StreamFramer};
use super::tls_decrypt::{self, Dir, KeyLog, RecordResult};
use super::tls_stream::{self, TlsDir};
use super::{Bytes, Ctx, NetLimits, NetStats, Segment, Transport};
use crate::capture::Timestamp;

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
    /// What the in-order bytes carry while they are not TLS: SIP, HEP, WebSocket.
    stream: StreamFramer,
    /// TLS record framing, once the direction opened with a TLS handshake record.
    tls: Option<TlsDir>,
    /// A pending TLS record header or handshake-phase record ([`tls_stream::deliver`]);
    /// with keys, any pending record.
    tls_buf: Vec<u8>,
    /// Keys are at hand: TLS records are kept whole in `records` for decryption.
    decrypt: bool,
    /// Whole TLS records completed by the segment being processed, to decrypt: the
    /// reassembler's one buffer, lent for that segment (empty otherwise, so no direction
    /// keeps a segment's worth of capacity).
    records: Vec<u8>,
    /// SIP (or WebSocket) framing of the decrypted plaintext, once there is some.
    plain: Option<Box<StreamFramer>>,
    /// FIN or RST seen: later segments are ignored until a new SYN.
    closed: bool,
}

impl Direction {
    /// Bytes this direction holds in its buffers.
    fn held(&self) -> usize {
        self.buffered() + self.ooo_bytes
    }

    /// In-order bytes held for an unfinished message, record or frame.
    fn buffered(&self) -> usize {
        self.stream.held() + self.tls_buf.len() + self.plain.as_ref().map_or(0, |p| p.held())
    }

    fn new(next_seq: u32, ts: Timestamp, from_start: bool) -> Self {
        Direction {
            next_seq,
            last_ts: ts,
            ooo: Vec::new(),
            ooo_bytes: 0,
            stream: StreamFramer::new(from_start, true),
            tls: None,
            tls_buf: Vec::new(),
            decrypt: false,
            records: Vec::new(),
            plain: None,
            closed: false,
        }
    }
}

/// Decryption state of one TLS connection (both directions), kept while either direction
/// is tracked.
#[derive(Debug, Default)]
struct TlsConn {
    session: tls_decrypt::Session,
    /// Outcomes already counted in [`super::TlsDecryptStats`] for this connection.
    decrypted: bool,
    without_keys: bool,
    failed: bool,
    unsupported: bool,
}

/// The connection of a direction: the lower address first, so both directions share it;
/// [`Dir::A`] is the direction sent from the lower address.
fn conn_key(src: SocketAddr, dst: SocketAddr) -> ((SocketAddr, SocketAddr), Dir) {
    if src <= dst {
        ((src, dst), Dir::A)
    } else {
        ((dst, src), Dir::B)
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
    /// TLS connections seen, by [`conn_key`]; bounded by the directions (forgotten when
    /// neither of their directions is tracked any more).
    tls_conns: HashMap<(SocketAddr, SocketAddr), TlsConn>,
    /// Secrets to decrypt TLS with (key logs, RSA keys); empty by default.
    pub(crate) keys: KeyLog,
    /// The whole-records buffer lent to the direction being fed, and the plaintext of its
    /// records: one of each for all connections, their capacity reused segment after segment.
    records: Vec<u8>,
    plain: Vec<u8>,
    last_sweep: Timestamp,
    /// Sum of `held()` over all directions.
    pub(crate) total: usize,
}

/// Everything the per-direction helpers need besides the direction itself: the stream
/// layer's sink.
type Env<'s, 'o, 'a> = Sink<'s, 'o, 'a>;

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
        if self.tls_conns.len() > limits.max_tcp_streams {
            // Directions were evicted since: at most one connection per tracked direction.
            forget_tls_conns(&mut self.tls_conns, &self.dirs);
        }
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
        let app_before = env.stats.tls_app_records;
        dir.decrypt = !self.keys.is_empty();
        if dir.decrypt {
            std::mem::swap(&mut dir.records, &mut self.records);
        }
        if !payload.get().is_empty() {
            accept(dir, &mut env, data_seq, payload);
        }
        if dir.tls.is_some() {
            let (ck, side) = conn_key(src, dst);
            let conn = self.tls_conns.entry(ck).or_default();
            if !dir.records.is_empty() {
                decrypt_records(dir, conn, &self.keys, side, &mut self.plain, &mut env);
            } else if env.stats.tls_app_records > app_before && !conn.decrypted {
                // Application data and no key to try: say so once per connection.
                let st = &mut env.stats.tls_decrypt;
                count_once(&mut conn.without_keys, &mut st.sessions_without_keys);
            }
        }
        if dir.decrypt {
            dir.records.clear();
            std::mem::swap(&mut dir.records, &mut self.records);
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
            env.stats.tcp_incomplete_bytes += dir.buffered() as u64;
            dir.closed = true;
            dir.stream.drop_buffers(env.stats);
            if let Some(p) = dir.plain.as_mut() {
                p.drop_buffers(env.stats);
            }
            dir.tls_buf = Vec::new();
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
                stats.tcp_incomplete_bytes += d.buffered() as u64;
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
                    stats.tcp_incomplete_bytes += d.buffered() as u64;
                }
            }
            keep
        });
        self.total = self.total.saturating_sub(freed);
        forget_tls_conns(&mut self.tls_conns, &self.dirs);
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
    if dir.tls.is_none() && dir.stream.is_not_sip() {
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
        dir.stream.gap(env.stats);
        env.stats.tcp_incomplete_bytes += dir.tls_buf.len() as u64;
        dir.tls_buf.clear();
        if let Some(tls) = dir.tls.as_mut() {
            // Nothing tells where the next TLS record starts after a hole.
            tls.lose_sync(env.stats);
        }
    }
}

/// Appends in-order bytes: TLS records once the direction is TLS, the stream layer
/// otherwise (SIP, HEP, WebSocket).
fn deliver<'a>(dir: &mut Direction, env: &mut Env<'_, '_, 'a>, data: Bytes<'a, '_>) {
    let len = data.get().len();
    dir.next_seq = dir.next_seq.wrapping_add(len as u32);
    if dir.tls.is_none() {
        match dir.stream.feed(env, data, Transport::Tcp) {
            Fed::Taken => return,
            Fed::Tls(held) => {
                dir.tls = Some(TlsDir::default());
                env.stats.tls_streams += 1;
                tls_records(dir, env, &held);
            }
        }
    }
    tls_records(dir, env, data.get());
}

/// Frames TLS records out of in-order bytes of a TLS direction ([`tls_stream`]).
fn tls_records(dir: &mut Direction, env: &mut Env<'_, '_, '_>, part: &[u8]) {
    let Some(tls) = dir.tls.as_mut() else {
        return;
    };
    let proto = Segment {
        frame: env.ctx.frame,
        ts: env.ctx.ts,
        src: env.src,
        dst: env.dst,
        transport: Transport::TlsRecords,
        payload: Cow::Borrowed(&[]),
        hep: None,
        icmp: None,
    };
    let sink = tls_stream::Sink {
        stats: env.stats,
        out: env.out,
        proto,
    };
    let whole = dir.decrypt.then_some(&mut dir.records);
    tls_stream::deliver(tls, &mut dir.tls_buf, part, sink, whole);
}

/// Hands the TLS 1.3 handshake messages a record decrypted to the handshake audit, as
/// cleartext handshake records of the direction ([`Transport::TlsRecords`]): the server's
/// Certificate is encrypted in TLS 1.3 (RFC 8446 §2) and is read this way.
fn handshake_to_audit(session: &mut tls_decrypt::Session, env: &mut Env<'_, '_, '_>) {
    let plain = session.take_decrypted_handshake();
    if plain.is_empty() {
        return;
    }
    // Records of at most 2^14 bytes (RFC 8446 §5.1), as the audit frames them.
    let mut records = Vec::with_capacity(plain.len() + 5 * plain.len().div_ceil(16_384));
    for chunk in plain.chunks(16_384) {
        let [hi, lo] = (chunk.len() as u16).to_be_bytes();
        records.extend_from_slice(&[tls_stream::content_type::HANDSHAKE, 3, 3, hi, lo]);
        records.extend_from_slice(chunk);
    }
    env.out.push(Segment {
        frame: env.ctx.frame,
        ts: env.ctx.ts,
        src: env.src,
        dst: env.dst,
        transport: Transport::TlsRecords,
        payload: Cow::Owned(records),
        hep: None,
        icmp: None,
    });
}

/// Forgets the TLS connections neither of whose directions is tracked any more.
fn forget_tls_conns(
    conns: &mut HashMap<(SocketAddr, SocketAddr), TlsConn>,
    dirs: &BTreeMap<(SocketAddr, SocketAddr), Direction>,
) {
    conns.retain(|&(a, b), _| dirs.contains_key(&(a, b)) || dirs.contains_key(&(b, a)));
}

/// Decrypts the whole records a direction completed and frames the application data they
/// carried as SIP over TLS (or WebSocket inside TLS), through the direction's own
/// plaintext stream layer. Counts each connection's outcome once.
fn decrypt_records(
    dir: &mut Direction,
    conn: &mut TlsConn,
    keys: &KeyLog,
    side: Dir,
    plain: &mut Vec<u8>,
    env: &mut Env<'_, '_, '_>,
) {
    plain.clear();
    let mut rest = dir.records.as_slice();
    while let Some((_, len)) = tls_stream::record_header(rest) {
        let Some((rec, tail)) = rest.split_at_checked(tls_stream::RECORD_HEADER_LEN + len) else {
            break;
        };
        rest = tail;
        let result = conn.session.record(keys, side, rec, plain);
        if result
            == (RecordResult::Decrypted {
                content_type: tls_stream::content_type::HANDSHAKE,
            })
        {
            handshake_to_audit(&mut conn.session, env);
        }
        let st = &mut env.stats.tls_decrypt;
        match result {
            RecordResult::Cleartext => {}
            RecordResult::Decrypted { .. } => {
                st.records_decrypted += 1;
                count_once(&mut conn.decrypted, &mut st.sessions_decrypted);
            }
            RecordResult::Failed => {
                st.records_failed += 1;
                count_once(&mut conn.failed, &mut st.sessions_failed);
            }
            RecordResult::NoKeys => {
                st.records_undecrypted += 1;
                count_once(&mut conn.without_keys, &mut st.sessions_without_keys);
            }
            RecordResult::Unsupported => {
                st.records_undecrypted += 1;
                count_once(&mut conn.unsupported, &mut st.sessions_unsupported);
            }
        }
    }
    if plain.is_empty() {
        return;
    }
    env.stats.tls_decrypt.plaintext_bytes += plain.len() as u64;
    let framer = dir
        .plain
        .get_or_insert_with(|| Box::new(StreamFramer::new(true, false)));
    // A plaintext framer never sniffs TLS, so it takes every byte.
    let _ = framer.feed(env, Bytes::Local(plain), Transport::Tls);
}

/// Counts a connection in `counter` the first time `seen` is set: each outcome is counted
/// once per connection, however many records show it.
fn count_once(seen: &mut bool, counter: &mut u64) {
    if !*seen {
        *seen = true;
        *counter += 1;
    }
}
