//! Bounded IPv4 / IPv6 fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5).
//!
//! Buffers are keyed by (source, destination, identification, protocol). Every table is
//! bounded by [`NetLimits`]: the oldest buffer is evicted when a bound is hit, and buffers
//! older than the timeout (in packet time) are dropped. Both are counted.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::ip::FragInfo;
use super::{NetLimits, NetStats};
use crate::capture::Timestamp;

/// Identifies the datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

/// One datagram being reassembled.
#[derive(Debug)]
struct FragBuf {
    /// Time of the first fragment seen: the timeout runs from it (RFC 791 style).
    first_ts: Timestamp,
    /// Arrival order, to evict the oldest deterministically.
    serial: u64,
    /// Datagram bytes received so far, at their offsets (holes are zero).
    data: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    have: Vec<(usize, usize)>,
    /// Total length, known once the last fragment (M = 0) arrived.
    total: Option<usize>,
}

/// Adds the byte range `start..end` to `have`, a sorted list of disjoint ranges, merging
/// it with those it overlaps or touches; returns whether it overlapped one. Shared by IP
/// fragments and DTLS handshake fragments (`media::dtls`), which both track what arrived.
pub(crate) fn add_range(have: &mut Vec<(usize, usize)>, start: usize, end: usize) -> bool {
    let overlap = have.iter().any(|&(s, e)| start < e && s < end);
    have.push((start, end));
    have.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(have.len());
    for &(s, e) in have.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *have = merged;
    overlap
}

impl FragBuf {
    fn add_range(&mut self, start: usize, end: usize) -> bool {
        add_range(&mut self.have, start, end)
    }

    fn complete(&self) -> bool {
        matches!((self.total, self.have.as_slice()), (Some(t), [(0, e)]) if *e >= t)
    }
}

/// The fragment reassembly table.
#[derive(Debug, Default)]
pub(crate) struct Defragmenter {
    bufs: BTreeMap<FragKey, FragBuf>,
    total_bytes: usize,
    serial: u64,
    last_sweep: Timestamp,
}

impl Defragmenter {
    /// Adds one fragment; returns the whole datagram payload when this fragment completes it.
    pub(crate) fn insert(
        &mut self,
        limits: &NetLimits,
        stats: &mut NetStats,
        ts: Timestamp,
        key: FragKey,
        frag: FragInfo,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        let (offset, more) = (frag.offset, frag.more);
        self.sweep(limits, stats, ts);
        let end = offset.saturating_add(data.len());
        if end > limits.max_datagram_bytes {
            stats.fragment_oversize += 1;
            self.remove(&key);
            return None;
        }
        if !self.bufs.contains_key(&key) {
            while self.bufs.len() >= limits.max_fragment_buffers.max(1) {
                if !self.evict_oldest(stats) {
                    break;
                }
            }
            self.serial += 1;
            self.bufs.insert(
                key,
                FragBuf {
                    first_ts: ts,
                    serial: self.serial,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                },
            );
        }
        // Memory bound over all buffers: evict other datagrams (oldest first) to make room.
        let grow = end.saturating_sub(self.bufs.get(&key).map_or(0, |b| b.data.len()));
        while self.total_bytes.saturating_add(grow) > limits.max_fragment_bytes {
            let Some(victim) = self.oldest_except(&key) else {
                stats.fragment_evictions += 1;
                self.remove(&key);
                return None;
            };
            stats.fragment_evictions += 1;
            self.remove(&victim);
        }
        let buf = self.bufs.get_mut(&key)?;
        if !more {
            match buf.total {
                Some(t) if t != end => stats.fragment_inconsistent += 1,
                _ => buf.total = Some(end),
            }
        }
        if let Some(t) = buf.total {
            if end > t {
                // Data past the end announced by the last fragment: ignore this piece.
                stats.fragment_inconsistent += 1;
                return None;
            }
        }
        if buf.data.len() < end {
            self.total_bytes += end - buf.data.len();
            buf.data.resize(end, 0);
        }
        if let Some(dst) = buf.data.get_mut(offset..end) {
            // Overlaps: the newest copy wins (the policy of Linux); counted, never fatal.
            dst.copy_from_slice(data);
        }
        if buf.add_range(offset, end) {
            stats.fragment_overlaps += 1;
        }
        if buf.complete() {
            let total = buf.total.unwrap_or(end);
            let mut whole = self.remove(&key)?.data;
            whole.truncate(total);
            stats.datagrams_reassembled += 1;
            return Some(whole);
        }
        None
    }

    fn remove(&mut self, key: &FragKey) -> Option<FragBuf> {
        let buf = self.bufs.remove(key)?;
        self.total_bytes = self.total_bytes.saturating_sub(buf.data.len());
        Some(buf)
    }

    fn oldest_except(&self, keep: &FragKey) -> Option<FragKey> {
        self.bufs
            .iter()
            .filter(|(k, _)| *k != keep)
            .min_by_key(|(_, b)| b.serial)
            .map(|(k, _)| *k)
    }

    fn evict_oldest(&mut self, stats: &mut NetStats) -> bool {
        let Some(key) = self
            .bufs
            .iter()
            .min_by_key(|(_, b)| b.serial)
            .map(|(k, _)| *k)
        else {
            return false;
        };
        self.remove(&key);
        stats.fragment_evictions += 1;
        true
    }

    /// Drops buffers older than the timeout. Runs at most once per second of packet time so
    /// that a full table is not scanned on every fragment.
    fn sweep(&mut self, limits: &NetLimits, stats: &mut NetStats, now: Timestamp) {
        if now.since(self.last_sweep) < 1_000_000_000 && now >= self.last_sweep {
            return;
        }
        self.last_sweep = now;
        let timeout = limits.fragment_timeout_ns;
        let expired: Vec<FragKey> = self
            .bufs
            .iter()
            .filter(|(_, b)| now.since(b.first_ts) > timeout)
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            self.remove(&key);
            stats.fragment_timeouts += 1;
        }
    }

    /// Number of datagrams in progress.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.bufs.len()
    }
}
