//! Capture-side counters: what a source saw and what was lost before the engine.

use serde::Serialize;

/// Counters a live source keeps about itself (libpcap's `pcap_stats`), cumulative since
/// the source was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SourceCounters {
    /// Packets that passed the filter (`ps_recv`; on Linux it also counts the kernel drops).
    pub received: u64,
    /// Packets dropped because the kernel buffer was full (`ps_drop`): siplens read too
    /// slowly; raise `--buffer`.
    pub dropped: u64,
    /// Packets dropped by the interface or its driver (`ps_ifdrop`; 0 where unsupported).
    pub if_dropped: u64,
}

/// Capture statistics of one input of a live run, as the report shows them (`capture` in
/// the JSON report, omitted for files).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaptureStats {
    /// Interface (or listener) name.
    pub interface: String,
    /// Packets libpcap received after filtering (0 for sources without such a counter).
    pub received: u64,
    /// Dropped by the kernel: the capture buffer was full (libpcap `ps_drop`).
    pub dropped_by_kernel: u64,
    /// Dropped by the interface or driver (libpcap `ps_ifdrop`).
    pub dropped_by_interface: u64,
    /// Dropped by siplens: the analysis fell behind and the queue between the capture
    /// thread and the engine was full.
    pub dropped_by_siplens: u64,
    /// Frames handed to the engine.
    pub frames: u64,
}
