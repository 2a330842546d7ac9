//! One memory budget (`--max-memory`) mapped to every table bound the engine and the
//! network decoder keep, for live capture and files alike.

use super::Limits;

/// Default `--max-memory` for files, in MiB: a capture of any size stays within what a
/// laptop can spare. Past it the oldest finished dialogs are evicted (counted in
/// `summary.evictions`), so a file ten times larger does not need ten times the memory.
pub const DEFAULT_FILE_MAX_MEMORY_MB: u64 = 256;

/// Default `--max-memory` of a live run, in MiB.
pub const DEFAULT_LIVE_MAX_MEMORY_MB: u64 = 1024;

/// Measured peak memory one dialog costs, the report included: the SIPp signaling capture
/// (26,000 calls of 7 messages, 183 MB) and the 1M-INVITE flood (30,800 dialogs kept,
/// 210 MB) both come to about 6.5 KB per dialog in a JSON report run, less the fixed
/// tables (docs/benchmarks.md, "Memory").
pub const DIALOG_COST_BYTES: u64 = 6144;
/// Measured cost of one RTP stream (statistics, key, index entries), rounded up.
pub const STREAM_COST_BYTES: u64 = 1024;
/// Cost of one media binding entry (announced address -> dialog).
pub const BINDING_COST_BYTES: u64 = 64;
/// Smallest budget taken: below it the fixed costs (code, buffers, symbol table) dominate.
pub const MIN_BUDGET_MB: u64 = 16;

impl Limits {
    /// The limits for a memory budget of `mb` MiB (`--max-memory`), each capped by `self`
    /// (the explicit `--max-dialogs` / `--max-streams` or the defaults), so a budget only
    /// ever lowers them.
    ///
    /// The budget is split: a quarter for raw SIP text kept for the views (only when
    /// `keep_raw`, i.e. for the dashboard or a header filter; a report prints no message
    /// text), a tenth for the network decoder (TCP reassembly buffers at most a twentieth,
    /// fragment buffers a fortieth), and the rest for tables: 70% dialogs at
    /// [`DIALOG_COST_BYTES`] each, 25% streams at [`STREAM_COST_BYTES`], 5% media bindings at
    /// [`BINDING_COST_BYTES`]. When a table is full the engine evicts (the dialog that
    /// finished first, else the oldest; the least recently active stream; the oldest
    /// binding) and counts it (`summary.evictions`).
    pub fn for_memory(self, mb: u64, keep_raw: bool) -> Limits {
        let budget = mb.max(MIN_BUDGET_MB).saturating_mul(1 << 20);
        let raw = if keep_raw { budget / 4 } else { 0 };
        let tables = budget.saturating_sub(raw).saturating_sub(budget / 10);
        let cap =
            |n: u64, current: usize| usize::try_from(n).unwrap_or(usize::MAX).min(current).max(1);
        let mut net = self.net.clone();
        net.max_tcp_total_bytes = cap(budget / 20, net.max_tcp_total_bytes);
        net.max_fragment_bytes = cap(budget / 40, net.max_fragment_bytes);
        Limits {
            max_dialogs: cap(tables * 70 / 100 / DIALOG_COST_BYTES, self.max_dialogs),
            max_streams: cap(tables * 25 / 100 / STREAM_COST_BYTES, self.max_streams),
            max_media_bindings: cap(
                tables * 5 / 100 / BINDING_COST_BYTES,
                self.max_media_bindings,
            ),
            max_raw_bytes: usize::try_from(raw)
                .unwrap_or(usize::MAX)
                .min(self.max_raw_bytes),
            net,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_scales_every_table_and_only_lowers_limits() {
        let base = Limits::default();
        let small = base.clone().for_memory(64, false);
        assert!(small.max_dialogs < base.max_dialogs);
        assert!(small.max_dialogs > 1000);
        assert!(small.max_streams < base.max_streams);
        assert!(small.max_media_bindings < base.max_media_bindings);
        assert!(small.net.max_tcp_total_bytes < base.net.max_tcp_total_bytes);
        assert!(small.net.max_fragment_bytes < base.net.max_fragment_bytes);
        assert_eq!(small.max_raw_bytes, 0);
        let big = base.clone().for_memory(1 << 20, true);
        assert_eq!(big.max_dialogs, base.max_dialogs);
        assert_eq!(big.max_raw_bytes, base.max_raw_bytes);
        assert_eq!(big.net, base.net);
        let tui = base.clone().for_memory(256, true);
        assert_eq!(tui.max_raw_bytes, 64 << 20);
        // The file default fits a laptop: a flood cannot hold more dialogs than it pays for.
        let file = base.clone().for_memory(DEFAULT_FILE_MAX_MEMORY_MB, false);
        let per = DIALOG_COST_BYTES as usize;
        assert!(file.max_dialogs * per <= (DEFAULT_FILE_MAX_MEMORY_MB as usize) << 20);
        // Tiny budgets still leave working tables.
        let tiny = base.for_memory(0, false);
        assert!(tiny.max_dialogs >= 1 && tiny.max_streams >= 1);
    }
}
