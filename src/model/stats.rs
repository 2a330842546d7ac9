//! Counters the rule families keep about their own bounded tables, shown in the engine
//! statistics (`summary` of the report). Plain records, so that the engine can hold them
//! without knowing the rules.

use serde::Serialize;

/// Counters of what the attack trackers could not keep (shown in the engine stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AttackStats {
    /// Source records evicted because `Limits::rules.attack_sources` was reached.
    pub source_evictions: u64,
    /// Pending requests evicted because `Limits::rules.attack_pending` was reached (their answer, if it
    /// comes, is no longer paired).
    pub pending_evictions: u64,
    /// Targets, users or call attempts not recorded because a source's list was full.
    pub overflow: u64,
    /// Findings of evicted sources not kept because of `Limits::rules.attack_evicted_findings`.
    pub findings_dropped: u64,
}

/// What the STUN tracker could not keep (part of the engine statistics).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StunStats {
    /// Binding requests seen.
    pub binding_requests: u64,
    /// Binding success responses seen.
    pub binding_successes: u64,
    /// Binding error responses seen.
    pub binding_errors: u64,
    /// Responses whose request was not captured (or already evicted).
    pub unmatched_responses: u64,
    /// Pending requests dropped because `Limits::rules.stun_pending` was reached.
    pub pending_evictions: u64,
    /// New (client, server) pairs not recorded because `Limits::rules.stun_clients` was reached.
    pub client_overflow: u64,
}
