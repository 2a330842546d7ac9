//! One memory budget (`--max-memory`) mapped to every table bound the engine and the
//! network decoder keep, for live capture and files alike.

use super::Limits;

/// Bounds on the tables the rule families keep (`crate::rules`). Each defaults to the
/// constant of its family (`rules::attack::MAX_SOURCES` and so on) and is scaled by
/// [`Limits::for_memory`]. Per-dialog and per-message caps (media facts per dialog,
/// targets per source) are not here: they are bounded by the dialog and source tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLimits {
    /// Attack sources (per source IP state) kept; the least recently active are evicted
    /// (`summary.evictions.attack_sources`).
    pub attack_sources: usize,
    /// Requests waiting for their answer in the attack tracker; the oldest are evicted
    /// (`summary.evictions.attack_pending`).
    pub attack_pending: usize,
    /// Findings of evicted attack sources kept (past it counted in
    /// `engine.attack.findings_dropped`).
    pub attack_evicted_findings: usize,
    /// Scanner sightings (source, signature) kept (`summary.evictions.scanners`).
    pub scanners: usize,
    /// STUN Binding requests waiting for their response (`summary.evictions.stun_pending`).
    pub stun_pending: usize,
    /// STUN (client, server) pairs kept (`summary.evictions.stun_clients`).
    pub stun_clients: usize,
    /// Cleartext SIP hops listed (`summary.evictions.cleartext_hops`).
    pub cleartext_hops: usize,
    /// Authentication attempts of evicted dialogs kept (`summary.evictions.auth_attempts`).
    pub auth_evicted_attempts: usize,
    /// Findings of ended TLS sessions kept (`summary.evictions.tls_findings`).
    pub tls_retired_findings: usize,
    /// Undelivered SIP messages listed, one record per (sender, destination, Call-ID,
    /// message) (`summary.evictions.undelivered`).
    pub undelivered: usize,
}

impl Default for RuleLimits {
    fn default() -> Self {
        RuleLimits {
            attack_sources: 16_384,
            attack_pending: 16_384,
            attack_evicted_findings: 1024,
            scanners: 4096,
            stun_pending: 4096,
            stun_clients: 4096,
            cleartext_hops: 4096,
            auth_evicted_attempts: 8192,
            tls_retired_findings: 65_536,
            undelivered: 4096,
        }
    }
}

/// Bounds on tables kept for the front ends: the NDJSON event tracker and the live change
/// feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLimits {
    /// Open dialogs the event stream tracks (`report::events`); past it dialogs get no
    /// events and are counted in its `untracked` counter. Never needs more than
    /// [`Limits::max_dialogs`].
    pub max_tracked_dialogs: usize,
    /// Evicted dialog ids kept between two takes of the change feed
    /// (`engine::changes`); past it the feed says it overflowed and the reader rebuilds.
    pub max_evicted_ids: usize,
    /// RTP streams `siplens audio` writes (`crate::audio`); past it a stream is refused
    /// and named. Each holds a reorder window of at most 8 payloads of 2 KiB, a decode
    /// buffer and an 8 KiB file buffer, about 30 KiB: 1024 streams stay under 32 MiB.
    pub max_audio_streams: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        ReportLimits {
            max_tracked_dialogs: 1 << 20,
            max_evicted_ids: 1 << 20,
            max_audio_streams: 1024,
        }
    }
}

/// Estimated cost of one attack source: the `SourceState` struct (`size_of` about 200
/// bytes, checked by a test in `rules::attack`) with its hash-map slot, plus a few entries
/// of its lists (methods, targets, users, toll calls) as a typical scanner source fills
/// them. A source that fills every list costs more (up to tens of KiB), but few do.
pub const ATTACK_SOURCE_COST_BYTES: u64 = 1024;
/// Cost of one pending attack request (timestamp, source, method, hash-map slot).
pub const ATTACK_PENDING_COST_BYTES: u64 = 96;
/// Cost of one kept finding (struct, summary text, evidence frames), rounded up.
pub const FINDING_COST_BYTES: u64 = 1024;
/// Cost of one scanner sighting (record, first frames and targets, B-tree slot).
pub const SCANNER_COST_BYTES: u64 = 1024;
/// Cost of one pending STUN request (12-byte transaction id key, addresses, time).
pub const STUN_PENDING_COST_BYTES: u64 = 128;
/// Cost of one STUN (client, server) binding (`StunBinding`, its frames and mapped
/// addresses).
pub const STUN_CLIENT_COST_BYTES: u64 = 512;
/// Cost of one cleartext hop record (addresses, counts, first frames).
pub const HOP_COST_BYTES: u64 = 256;
/// Cost of one undelivered-message record (addresses, label, Call-ID, first frames).
pub const UNDELIVERED_COST_BYTES: u64 = 512;
/// Cost of one authentication attempt of an evicted dialog (user, realm, result).
pub const AUTH_ATTEMPT_COST_BYTES: u64 = 256;
/// Cost of one TLS session tracked: `TlsSession` (about 600 bytes) plus the parsed
/// ClientHello, ServerHello and certificate names, rounded up.
pub const TLS_SESSION_COST_BYTES: u64 = 2048;
/// Cost of one NAT keepalive source (address, count, time, hash-map slot).
pub const KEEPALIVE_COST_BYTES: u64 = 64;
/// Cost of one evicted id in the change feed.
pub const EVICTED_ID_COST_BYTES: u64 = 8;
/// Estimated cost of one stream `siplens audio` writes: its reorder window (8 payloads
/// of at most 2 KiB), decode buffer and 8 KiB file buffer.
pub const AUDIO_STREAM_COST_BYTES: u64 = 32 * 1024;

/// Default `--max-memory` for files, in MiB: a capture of any size stays within what a
/// laptop can spare. Past it the oldest finished dialogs are evicted (counted in
/// `summary.evictions`), so a file ten times larger does not need ten times the memory.
pub const DEFAULT_FILE_MAX_MEMORY_MB: u64 = 256;

/// Default `--max-memory` of a live run, in MiB.
pub const DEFAULT_LIVE_MAX_MEMORY_MB: u64 = 1024;

/// Peak memory one kept dialog costs over a long run, the report included, rounded up.
/// A single capture measures less (the SIPp signaling capture 4.2 KiB more per dialog
/// than its first quarter, the flood 3.3 KiB), but a file past the budget also keeps the
/// findings of evicted dialogs and the allocator's slack of constant eviction: the
/// signaling capture ten times over, at 4.5 KiB a dialog (36,700 kept), peaked at 199 MB,
/// 5.4 KB per dialog and 1.7× the single capture. At 6 KiB (27,525 kept) it takes 148 MB,
/// 1.3× (docs/benchmarks.md, "Memory per dialog" and "Report on the second core").
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
    ///
    /// The other tables (TLS sessions, NAT keepalive sources, the rule tables, the event
    /// tracker) get a share of the network tenth and of the table budget too, each at its
    /// documented per-entry cost (`*_COST_BYTES` in this module): a twentieth of the budget
    /// for TLS sessions and a fortieth for their partial handshakes, and for each rule
    /// table a hundredth (a two-hundredth for the small ones); the event stream tracks as
    /// many open dialogs as the engine keeps. Every one is capped by its current value and
    /// kept at one entry at least.
    pub fn for_memory(self, mb: u64, keep_raw: bool) -> Limits {
        let budget = mb.max(MIN_BUDGET_MB).saturating_mul(1 << 20);
        let raw = if keep_raw { budget / 4 } else { 0 };
        let tables = budget.saturating_sub(raw).saturating_sub(budget / 10);
        let cap =
            |n: u64, current: usize| usize::try_from(n).unwrap_or(usize::MAX).min(current).max(1);
        let mut net = self.net.clone();
        net.max_tcp_total_bytes = cap(budget / 20, net.max_tcp_total_bytes);
        net.max_fragment_bytes = cap(budget / 40, net.max_fragment_bytes);
        let max_dialogs = cap(tables * 70 / 100 / DIALOG_COST_BYTES, self.max_dialogs);
        Limits {
            max_dialogs,
            max_streams: cap(tables * 25 / 100 / STREAM_COST_BYTES, self.max_streams),
            max_media_bindings: cap(
                tables * 5 / 100 / BINDING_COST_BYTES,
                self.max_media_bindings,
            ),
            max_dtls_sessions: cap(
                budget / 200 / super::dtls::DTLS_SESSION_COST_BYTES,
                self.max_dtls_sessions,
            ),
            max_raw_bytes: usize::try_from(raw)
                .unwrap_or(usize::MAX)
                .min(self.max_raw_bytes),
            tls: crate::tls::TlsLimits {
                max_sessions: cap(budget / 20 / TLS_SESSION_COST_BYTES, self.tls.max_sessions),
                max_ended: cap(budget / 20 / TLS_SESSION_COST_BYTES, self.tls.max_ended),
                max_pending_bytes: cap(budget / 40, self.tls.max_pending_bytes),
            },
            nat: crate::nat::NatLimits {
                max_keepalive_sources: cap(
                    budget / 100 / KEEPALIVE_COST_BYTES,
                    self.nat.max_keepalive_sources,
                ),
            },
            rules: RuleLimits {
                // A sixteenth: the file default (256 MiB) keeps the 16,384 sources scans
                // and distributed brute force were judged on before the budget applied.
                attack_sources: cap(
                    budget / 16 / ATTACK_SOURCE_COST_BYTES,
                    self.rules.attack_sources,
                ),
                attack_pending: cap(
                    budget / 200 / ATTACK_PENDING_COST_BYTES,
                    self.rules.attack_pending,
                ),
                attack_evicted_findings: cap(
                    budget / 200 / FINDING_COST_BYTES,
                    self.rules.attack_evicted_findings,
                ),
                scanners: cap(budget / 200 / SCANNER_COST_BYTES, self.rules.scanners),
                stun_pending: cap(
                    budget / 200 / STUN_PENDING_COST_BYTES,
                    self.rules.stun_pending,
                ),
                stun_clients: cap(
                    budget / 200 / STUN_CLIENT_COST_BYTES,
                    self.rules.stun_clients,
                ),
                cleartext_hops: cap(budget / 200 / HOP_COST_BYTES, self.rules.cleartext_hops),
                auth_evicted_attempts: cap(
                    budget / 200 / AUTH_ATTEMPT_COST_BYTES,
                    self.rules.auth_evicted_attempts,
                ),
                tls_retired_findings: cap(
                    budget / 100 / FINDING_COST_BYTES,
                    self.rules.tls_retired_findings,
                ),
                undelivered: cap(
                    budget / 200 / UNDELIVERED_COST_BYTES,
                    self.rules.undelivered,
                ),
            },
            report: ReportLimits {
                // The open dialogs of the event stream are the engine's: as many as it
                // keeps (each costs far less than the dialog it mirrors).
                max_tracked_dialogs: cap(max_dialogs as u64, self.report.max_tracked_dialogs),
                max_evicted_ids: cap(
                    budget / 200 / EVICTED_ID_COST_BYTES,
                    self.report.max_evicted_ids,
                ),
                max_audio_streams: cap(
                    budget / 8 / AUDIO_STREAM_COST_BYTES,
                    self.report.max_audio_streams,
                ),
            },
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
        // At 6 KiB a dialog (docs/benchmarks.md) the file default keeps 27,525 dialogs,
        // the live default 110,100 (docs/usage.md, "Every bound").
        assert_eq!(file.max_dialogs, 27_525);
        let live = base.clone().for_memory(DEFAULT_LIVE_MAX_MEMORY_MB, false);
        assert_eq!(live.max_dialogs, 110_100);
        // Tiny budgets still leave working tables.
        let tiny = base.clone().for_memory(0, false);
        assert!(tiny.max_dialogs >= 1 && tiny.max_streams >= 1);
        let r = &tiny.rules;
        for n in [
            r.attack_sources,
            r.attack_pending,
            r.attack_evicted_findings,
            r.scanners,
            r.stun_pending,
            r.stun_clients,
            r.cleartext_hops,
            r.auth_evicted_attempts,
            r.tls_retired_findings,
            r.undelivered,
            tiny.tls.max_sessions,
            tiny.tls.max_ended,
            tiny.tls.max_pending_bytes,
            tiny.nat.max_keepalive_sources,
            tiny.report.max_tracked_dialogs,
            tiny.report.max_evicted_ids,
        ] {
            assert!(n >= 1);
        }
    }

    #[test]
    fn the_limits_tree_defaults_to_the_old_constants_and_a_budget_scales_it() {
        let base = Limits::default();
        assert_eq!(base.tls.max_sessions, crate::tls::MAX_SESSIONS);
        assert_eq!(base.tls.max_ended, crate::tls::MAX_ENDED);
        assert_eq!(base.tls.max_pending_bytes, crate::tls::MAX_PENDING_TOTAL);
        assert_eq!(
            base.nat.max_keepalive_sources,
            crate::nat::MAX_KEEPALIVE_SOURCES
        );
        assert_eq!(
            base.report.max_evicted_ids,
            super::super::changes::MAX_EVICTED_IDS
        );
        // Per-dialog input-sanity caps are fixed: the scaled dialog table bounds them.
        assert_eq!(base.max_dtmf_per_dialog, 256);
        assert_eq!(
            base.clone()
                .for_memory(MIN_BUDGET_MB, false)
                .max_dtmf_per_dialog,
            base.max_dtmf_per_dialog
        );
        // A huge budget leaves every default as it is.
        let big = base.clone().for_memory(1 << 30, false);
        assert_eq!(big.tls, base.tls);
        assert_eq!(big.nat, base.nat);
        assert_eq!(big.rules, base.rules);
        assert_eq!(big.report.max_evicted_ids, base.report.max_evicted_ids);
        // The event stream tracks as many open dialogs as the engine keeps.
        assert_eq!(big.report.max_tracked_dialogs, big.max_dialogs);
        // The 16 MiB floor lowers the large tables below their defaults, within budget.
        let small = base.clone().for_memory(MIN_BUDGET_MB, false);
        assert!(small.tls.max_sessions < base.tls.max_sessions);
        assert!(small.rules.attack_sources < base.rules.attack_sources);
        assert!(small.rules.tls_retired_findings < base.rules.tls_retired_findings);
        assert!(small.nat.max_keepalive_sources < base.nat.max_keepalive_sources);
        let budget = (MIN_BUDGET_MB as usize) << 20;
        let r = &small.rules;
        let spent = small.tls.max_sessions * TLS_SESSION_COST_BYTES as usize
            + small.tls.max_pending_bytes
            + r.attack_sources * ATTACK_SOURCE_COST_BYTES as usize
            + r.attack_pending * ATTACK_PENDING_COST_BYTES as usize
            + r.scanners * SCANNER_COST_BYTES as usize
            + r.stun_pending * STUN_PENDING_COST_BYTES as usize
            + r.stun_clients * STUN_CLIENT_COST_BYTES as usize
            + r.cleartext_hops * HOP_COST_BYTES as usize
            + r.undelivered * UNDELIVERED_COST_BYTES as usize
            + small.nat.max_keepalive_sources * KEEPALIVE_COST_BYTES as usize;
        assert!(spent <= budget / 4, "{spent}");
    }
}
