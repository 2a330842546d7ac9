//! SCTP (RFC 9260) to SIP messages (RFC 4168).
//!
//! RFC 4168 §5 carries each SIP message as one SCTP user message, so there is no framing
//! to do: every complete user message of a DATA chunk (§3.3.1) is a SIP message. A packet
//! bundles several chunks (§3); a user message larger than the path MTU is split into
//! fragments flagged B (first) and E (last) with consecutive TSNs (§6.9), reassembled here.
//!
//! Deliberate simplifications of a passive reader, each counted in [`NetStats`]:
//! - Messages are delivered in capture order. An ordered message whose stream sequence
//!   number is not the next one is still delivered (counted as out of order): holding it
//!   back for a missing one would lose it when the capture ends first.
//! - Retransmitted DATA (a TSN seen before in that direction, §6.3.3) is dropped once; the
//!   last 64 TSNs below the highest are remembered, older ones count as duplicates.
//! - Fragments must arrive in TSN order; a missing fragment drops the partial message.
//! - I-DATA (RFC 8260) and control chunks are counted, not followed. The CRC32c checksum
//!   is not verified (capture offload often leaves it wrong).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::{Bytes, Ctx, NetLimits, NetStats, Segment, Transport};
use crate::capture::Timestamp;

/// Chunk type of DATA (RFC 9260 §3.3.1).
const DATA: u8 = 0;
/// DATA flags: unordered, beginning fragment, ending fragment.
const FLAG_U: u8 = 0x04;
const FLAG_B: u8 = 0x02;
const FLAG_E: u8 = 0x01;

/// A DATA chunk's header fields and its user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataChunk<'a> {
    /// U, B and E flags.
    pub flags: u8,
    /// Transmission sequence number.
    pub tsn: u32,
    /// Stream identifier.
    pub stream: u16,
    /// Stream sequence number (meaningless for unordered data).
    pub ssn: u16,
    /// Payload protocol identifier (RFC 4168 leaves it 0 for SIP).
    pub ppid: u32,
    /// The user data.
    pub data: &'a [u8],
}

/// One chunk of an SCTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk<'a> {
    /// A DATA chunk; `offset` is where its user data starts in the packet.
    Data(DataChunk<'a>, usize),
    /// Any other chunk (INIT, SACK, HEARTBEAT, I-DATA...), by type.
    Other(u8),
}

/// The parts of an SCTP packet: ports and chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The chunks that parsed, in order.
    pub chunks: Vec<Chunk<'a>>,
    /// Parsing stopped at a chunk cut short or with an impossible length.
    pub truncated: bool,
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
        *d.get(at + 2)?,
        *d.get(at + 3)?,
    ]))
}

/// Chunks kept per packet: a 64 KiB packet holds at most 4096 empty chunks; real ones
/// bundle a handful.
const MAX_CHUNKS: usize = 256;

/// Parses an SCTP packet (RFC 9260 §3: 12-byte common header, then chunks of type, flags,
/// length, value, each padded to 4 bytes). `None` when the common header is cut short.
pub(crate) fn parse(d: &[u8]) -> Option<Packet<'_>> {
    let src_port = be16(d, 0)?;
    let dst_port = be16(d, 2)?;
    d.get(..12)?;
    let mut chunks = Vec::new();
    let mut off = 12;
    let mut truncated = false;
    while off < d.len() && chunks.len() < MAX_CHUNKS {
        let (Some(&kind), Some(&flags), Some(len)) = (d.get(off), d.get(off + 1), be16(d, off + 2))
        else {
            truncated = true;
            break;
        };
        let len = usize::from(len);
        // §3.2: the length covers the 4-byte chunk header; it cannot be less.
        if len < 4 {
            truncated = true;
            break;
        }
        let Some(chunk) = d.get(off..off + len) else {
            truncated = true;
            break;
        };
        if kind == DATA {
            // §3.3.1: TSN, stream id, SSN, PPID, then at least... the user data.
            match (
                be32(chunk, 4),
                be16(chunk, 8),
                be16(chunk, 10),
                be32(chunk, 12),
            ) {
                (Some(tsn), Some(stream), Some(ssn), Some(ppid)) => chunks.push(Chunk::Data(
                    DataChunk {
                        flags,
                        tsn,
                        stream,
                        ssn,
                        ppid,
                        data: chunk.get(16..).unwrap_or_default(),
                    },
                    off + 16,
                )),
                _ => {
                    truncated = true;
                    break;
                }
            }
        } else {
            chunks.push(Chunk::Other(kind));
        }
        // Padding to a multiple of 4 follows every chunk but the last may omit it.
        off += len.div_ceil(4) * 4;
    }
    Some(Packet {
        src_port,
        dst_port,
        chunks,
        truncated,
    })
}

/// A user message being reassembled from fragments.
#[derive(Debug)]
struct Partial {
    unordered: bool,
    next_tsn: u32,
    data: Vec<u8>,
}

/// One direction of an association: (source, destination) transport addresses.
#[derive(Debug)]
struct Direction {
    last_ts: Timestamp,
    /// Highest TSN seen, and which of the 64 TSNs below it were seen (bit n: highest - 1 - n).
    highest: Option<u32>,
    seen_below: u64,
    /// Next expected stream sequence number per stream, for ordered data.
    next_ssn: BTreeMap<u16, u16>,
    /// Messages being reassembled, per stream.
    partial: BTreeMap<u16, Partial>,
}

impl Direction {
    fn held(&self) -> usize {
        self.partial.values().map(|p| p.data.len()).sum()
    }

    /// Records `tsn`; false when it was seen before (a retransmission).
    fn first_sight(&mut self, tsn: u32) -> bool {
        let Some(high) = self.highest else {
            self.highest = Some(tsn);
            return true;
        };
        // Serial number arithmetic (RFC 1982), as §1.6 asks for TSNs.
        let ahead = tsn.wrapping_sub(high) as i32;
        if ahead > 0 {
            let shift = ahead as u32;
            self.seen_below = if shift > 64 {
                0
            } else {
                // `high` itself becomes bit shift-1.
                let moved = self.seen_below.checked_shl(shift).unwrap_or(0);
                moved | 1u64.checked_shl(shift - 1).unwrap_or(0)
            };
            self.highest = Some(tsn);
            return true;
        }
        if ahead == 0 {
            return false;
        }
        let back = ahead.unsigned_abs();
        if back > 64 {
            return false;
        }
        let bit = 1u64 << (back - 1);
        let seen = self.seen_below & bit != 0;
        self.seen_below |= bit;
        !seen
    }
}

/// All SCTP directions being reassembled.
#[derive(Debug, Default)]
pub(crate) struct SctpReassembler {
    dirs: BTreeMap<(SocketAddr, SocketAddr), Direction>,
    /// Bytes held in partial messages across all directions.
    total: usize,
}

impl SctpReassembler {
    /// Feeds one SCTP packet from `src` to `dst` (ports taken from the packet).
    pub(crate) fn packet<'a>(
        &mut self,
        limits: &NetLimits,
        stats: &mut NetStats,
        ctx: Ctx,
        ips: (std::net::IpAddr, std::net::IpAddr),
        data: Bytes<'a, '_>,
        out: &mut Vec<Segment<'a>>,
    ) {
        let Some(p) = parse(data.get()) else {
            stats.truncated += 1;
            return;
        };
        stats.sctp += 1;
        if p.truncated {
            stats.truncated += 1;
        }
        let src = SocketAddr::new(ips.0, p.src_port);
        let dst = SocketAddr::new(ips.1, p.dst_port);
        for chunk in &p.chunks {
            match *chunk {
                Chunk::Data(c, at) => {
                    stats.sctp_data_chunks += 1;
                    let body = data.range(at, at + c.data.len());
                    self.data(limits, stats, ctx, (src, dst), c, body, out);
                }
                Chunk::Other(_) => stats.sctp_other_chunks += 1,
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // one chunk's context, passed down one level
    fn data<'a>(
        &mut self,
        limits: &NetLimits,
        stats: &mut NetStats,
        ctx: Ctx,
        key: (SocketAddr, SocketAddr),
        c: DataChunk<'_>,
        body: Bytes<'a, '_>,
        out: &mut Vec<Segment<'a>>,
    ) {
        if !self.dirs.contains_key(&key) {
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
                stats.sctp_evictions += 1;
            }
            self.dirs.insert(
                key,
                Direction {
                    last_ts: ctx.ts,
                    highest: None,
                    seen_below: 0,
                    next_ssn: BTreeMap::new(),
                    partial: BTreeMap::new(),
                },
            );
        }
        let Some(dir) = self.dirs.get_mut(&key) else {
            return;
        };
        dir.last_ts = ctx.ts;
        if !dir.first_sight(c.tsn) {
            stats.sctp_duplicates += 1;
            return;
        }
        let unordered = c.flags & FLAG_U != 0;
        let (begin, end) = (c.flags & FLAG_B != 0, c.flags & FLAG_E != 0);
        let whole: Bytes<'a, '_>;
        let owned: Vec<u8>;
        match (begin, end) {
            (true, true) => {
                if let Some(p) = dir.partial.remove(&c.stream) {
                    // A new message began before the last one ended.
                    self.total = self.total.saturating_sub(p.data.len());
                    stats.sctp_gaps += 1;
                }
                whole = body;
            }
            (true, false) => {
                if let Some(p) = dir.partial.remove(&c.stream) {
                    self.total = self.total.saturating_sub(p.data.len());
                    stats.sctp_gaps += 1;
                }
                stats.sctp_fragments += 1;
                if body.get().len() > limits.max_buffered_bytes {
                    stats.sctp_oversize_messages += 1;
                    return;
                }
                self.total += body.get().len();
                dir.partial.insert(
                    c.stream,
                    Partial {
                        unordered,
                        next_tsn: c.tsn.wrapping_add(1),
                        data: body.get().to_vec(),
                    },
                );
                return;
            }
            (false, last) => {
                stats.sctp_fragments += 1;
                let fits = dir
                    .partial
                    .get(&c.stream)
                    .is_some_and(|p| p.next_tsn == c.tsn && p.unordered == unordered);
                if !fits {
                    // The beginning (or a fragment in between) was not captured.
                    if let Some(p) = dir.partial.remove(&c.stream) {
                        self.total = self.total.saturating_sub(p.data.len());
                    }
                    stats.sctp_gaps += 1;
                    return;
                }
                let Some(p) = dir.partial.get_mut(&c.stream) else {
                    return;
                };
                if p.data.len() + body.get().len() > limits.max_buffered_bytes {
                    self.total = self.total.saturating_sub(p.data.len());
                    dir.partial.remove(&c.stream);
                    stats.sctp_oversize_messages += 1;
                    return;
                }
                p.data.extend_from_slice(body.get());
                p.next_tsn = c.tsn.wrapping_add(1);
                self.total += body.get().len();
                if !last {
                    return;
                }
                let Some(done) = dir.partial.remove(&c.stream) else {
                    return;
                };
                self.total = self.total.saturating_sub(done.data.len());
                stats.sctp_reassembled += 1;
                owned = done.data;
                whole = Bytes::Local(&owned);
            }
        }
        if !unordered {
            let expected = dir.next_ssn.get(&c.stream).copied();
            if expected.is_some_and(|e| e != c.ssn) {
                stats.sctp_out_of_order += 1;
            }
            dir.next_ssn.insert(c.stream, c.ssn.wrapping_add(1));
        }
        self.evict_over_total(limits, stats, key);
        if whole.get().is_empty() {
            return;
        }
        stats.sctp_messages += 1;
        out.push(Segment {
            frame: ctx.frame,
            ts: ctx.ts,
            src: key.0,
            dst: key.1,
            transport: Transport::Sctp,
            payload: whole.to_cow(),
            hep: None,
            icmp: None,
        });
    }

    /// Drops the least recently active directions' partial messages while all of them
    /// together hold more than the TCP total bound (`max_tcp_total_bytes`).
    fn evict_over_total(
        &mut self,
        limits: &NetLimits,
        stats: &mut NetStats,
        keep: (SocketAddr, SocketAddr),
    ) {
        while self.total > limits.max_tcp_total_bytes {
            let Some(victim) = self
                .dirs
                .iter()
                .filter(|(k, d)| **k != keep && d.held() > 0)
                .min_by_key(|(k, d)| (d.last_ts, **k))
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(d) = self.dirs.get_mut(&victim) {
                self.total = self.total.saturating_sub(d.held());
                d.partial.clear();
            }
            stats.sctp_evictions += 1;
        }
    }
}

/// Builders of SCTP bytes for tests.
#[cfg(test)]
pub(crate) mod build {
    /// DATA flags for an unfragmented message (B and E).
    pub(crate) const WHOLE: u8 = 0x03;

    /// An SCTP packet from port 5060 to 5060 with these chunks (type, flags, value).
    pub(crate) fn packet(chunks: &[(u8, u8, Vec<u8>)]) -> Vec<u8> {
        let mut d = vec![0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0];
        for (kind, flags, value) in chunks {
            d.push(*kind);
            d.push(*flags);
            d.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
            d.extend_from_slice(value);
            while d.len() % 4 != 0 {
                d.push(0);
            }
        }
        d
    }

    /// A DATA chunk value: TSN, stream, SSN, PPID 0, then `data`.
    pub(crate) fn data(tsn: u32, stream: u16, ssn: u16, body: &[u8]) -> Vec<u8> {
        let mut v = tsn.to_be_bytes().to_vec();
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(&ssn.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend_from_slice(body);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::build::{data, packet};
    use super::*;

    #[test]
    fn parses_bundled_chunks_with_padding() {
        let d = packet(&[
            (3, 0, vec![0; 12]), // SACK
            (DATA, 0x03, data(7, 1, 0, b"OPTIONS")),
            (DATA, 0x03, data(8, 1, 1, b"x")),
        ]);
        let p = parse(&d).expect("header");
        assert_eq!((p.src_port, p.dst_port, p.truncated), (5060, 5060, false));
        assert_eq!(p.chunks.len(), 3);
        assert_eq!(p.chunks[0], Chunk::Other(3));
        match p.chunks[1] {
            Chunk::Data(c, at) => {
                assert_eq!((c.tsn, c.stream, c.ssn, c.data), (7, 1, 0, &b"OPTIONS"[..]));
                assert_eq!(d.get(at..at + 7), Some(&b"OPTIONS"[..]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_lengths_stop_parsing_and_say_so() {
        assert_eq!(parse(&[0; 11]), None);
        let mut d = packet(&[(DATA, 3, data(1, 0, 0, b"abc"))]);
        d.truncate(d.len() - 4);
        let p = parse(&d).expect("header");
        assert!(p.truncated);
        assert!(p.chunks.is_empty());
        // A chunk length below 4 would loop forever.
        let mut d = packet(&[]);
        d.extend_from_slice(&[0, 0, 0, 2]);
        assert!(parse(&d).expect("header").truncated);
        // A DATA chunk too short for its fields.
        let d = packet(&[(DATA, 3, vec![0; 8])]);
        assert!(parse(&d).expect("header").truncated);
    }

    #[test]
    fn tsn_window_spots_retransmissions() {
        let mut d = Direction {
            last_ts: Timestamp(0),
            highest: None,
            seen_below: 0,
            next_ssn: BTreeMap::new(),
            partial: BTreeMap::new(),
        };
        assert!(d.first_sight(10));
        assert!(!d.first_sight(10));
        assert!(d.first_sight(12));
        assert!(d.first_sight(11)); // late, not seen
        assert!(!d.first_sight(11));
        assert!(!d.first_sight(10));
        // Wrapping around 2^32.
        let mut w = Direction {
            highest: Some(u32::MAX),
            ..d
        };
        w.seen_below = 0;
        assert!(w.first_sight(0));
        assert!(!w.first_sight(u32::MAX));
        assert!(w.first_sight(u32::MAX - 1));
        // Far behind the window: treated as already seen.
        assert!(!w.first_sight(0u32.wrapping_sub(1000)));
        // Far ahead: the window restarts.
        assert!(w.first_sight(2_000_000_000));
        assert!(w.first_sight(1_999_999_999));
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let d = packet(&[
            (DATA, 0x02, data(1, 0, 0, &[b'a'; 40])),
            (DATA, 0x01, data(2, 0, 0, &[b'b'; 9])),
            (1, 0, vec![0; 16]),
        ]);
        for n in 0..d.len() {
            let _ = parse(&d[..n]);
        }
    }
}
