//! `nat.stun`: what STUN (RFC 8489) and ICE (RFC 8445, SDP per RFC 8839) tell about NAT.
//!
//! [`StunTracker`] pairs Binding requests with their responses by transaction id
//! (RFC 8489 §6.3) and keeps, per (client, server) pair, the reflexive address the server
//! saw (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS) and any ERROR-CODE. The engine keeps the
//! ICE candidates of each SDP media line ([`candidates_of`]); [`findings`] compares both
//! with the addresses media really used.
//!
//! Binding requests that carry PRIORITY or ICE-CONTROLLING/-CONTROLLED are ICE
//! connectivity checks between peers (RFC 8445 §7.1.1), not queries to a STUN server:
//! they are summarised per call, not reported one by one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::engine::{Dialog, Finding, RtpStream, RuleId, SdpRecord, Severity, MAX_EVIDENCE};
use crate::media::stun::{StunClass, StunMessage, StunMethod};

pub use crate::model::ice::{candidates_of, CandidateKind, IceCandidate, MAX_CANDIDATES};
use crate::model::Seen;
pub use crate::model::StunStats;

/// `nat.stun`: a client learned its public address from STUN, and how ICE used it (info).
pub const NAT_STUN: RuleId = RuleId("nat.stun");

/// Binding requests waiting for their response.
pub const MAX_PENDING: usize = 4096;
/// (client, server) pairs kept.
pub const MAX_CLIENTS: usize = 4096;
/// Frames kept per (client, server) pair as evidence.
const MAX_FRAMES: usize = 8;
/// A request unanswered this long is dropped: RFC 8489 §6.2.1 gives up after 39.5 s.
const PENDING_TIMEOUT_NS: u64 = 40_000_000_000;

/// PRIORITY (RFC 8445 §16.1).
const ATTR_PRIORITY: u16 = 0x0024;
/// USE-CANDIDATE (RFC 8445 §16.1).
const ATTR_USE_CANDIDATE: u16 = 0x0025;
/// ICE-CONTROLLED.
const ATTR_ICE_CONTROLLED: u16 = 0x8029;
/// ICE-CONTROLLING.
const ATTR_ICE_CONTROLLING: u16 = 0x802A;

/// What one client asked one server (or one ICE peer), and what it was told.
#[derive(Debug, Clone, PartialEq)]
pub struct StunBinding {
    /// Where the requests came from (the client's local transport address as seen on the
    /// capture point).
    pub client: SocketAddr,
    /// The STUN server, or the peer for ICE checks.
    pub server: SocketAddr,
    /// True for ICE connectivity checks (PRIORITY / ICE-CONTROLLING / -CONTROLLED).
    pub ice_check: bool,
    /// True when a request carried USE-CANDIDATE (the controlling agent nominated the pair).
    pub nominated: bool,
    /// Binding requests sent.
    pub requests: u64,
    /// Success responses received.
    pub successes: u64,
    /// Error responses received.
    pub errors: u64,
    /// The last ERROR-CODE (class * 100 + number).
    pub last_error: Option<u16>,
    /// The latest reflexive address (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS).
    pub mapped: Option<SocketAddr>,
    /// True when successive responses reported different reflexive addresses.
    pub mapping_changed: bool,
    /// Time of the first message.
    pub first_ts: Timestamp,
    /// First frames (request, response...), at most `MAX_FRAMES`.
    pub frames: Vec<u64>,
    /// Frame of the first success response.
    pub success_frame: Option<u64>,
    order: u64,
}

impl StunBinding {
    /// The client sits behind NAT: the server saw another address than it sent from.
    pub fn behind_nat(&self) -> Option<bool> {
        self.mapped.map(|m| m != self.client)
    }

    /// The NAT kept the client's source port (only meaningful behind NAT).
    pub fn port_preserved(&self) -> Option<bool> {
        self.mapped.map(|m| m.port() == self.client.port())
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    client: SocketAddr,
    server: SocketAddr,
    ts: Timestamp,
    order: u64,
}

/// Pairs STUN Binding transactions and keeps one [`StunBinding`] per (client, server),
/// both tables bounded ([`MAX_PENDING`], [`MAX_CLIENTS`]).
#[derive(Debug, Default)]
pub struct StunTracker {
    pending: FxHashMap<[u8; 12], Pending>,
    bindings: FxHashMap<(SocketAddr, SocketAddr), StunBinding>,
    next: u64,
    stats: StunStats,
    limits: crate::engine::limits::RuleLimits,
}

impl StunTracker {
    /// A tracker with its tables bounded by `limits` (`stun_pending`, `stun_clients`)
    /// instead of [`MAX_PENDING`] and [`MAX_CLIENTS`].
    pub fn new(limits: &crate::engine::limits::RuleLimits) -> Self {
        StunTracker {
            limits: limits.clone(),
            ..StunTracker::default()
        }
    }

    /// Counters (copied into the engine statistics).
    pub fn stats(&self) -> &StunStats {
        &self.stats
    }

    /// Every (client, server) pair, in order of first sighting.
    pub fn bindings(&self) -> Vec<&StunBinding> {
        let mut v: Vec<&StunBinding> = self.bindings.values().collect();
        v.sort_by_key(|b| b.order);
        v
    }

    /// Feeds one STUN message (any method; only Binding is tracked).
    pub fn observe(&mut self, msg: &StunMessage<'_>, at: &Seen) {
        if msg.method != StunMethod::BINDING {
            return;
        }
        match msg.class {
            StunClass::Request => {
                self.stats.binding_requests += 1;
                let ice = [ATTR_PRIORITY, ATTR_ICE_CONTROLLED, ATTR_ICE_CONTROLLING]
                    .iter()
                    .any(|k| msg.attribute(*k).is_some());
                let nominated = msg.attribute(ATTR_USE_CANDIDATE).is_some();
                // The same request captured again on the far side of a NAT (capture on
                // both interfaces): same transaction id, translated source. It is not a
                // second client; the response tells the mapping anyway.
                if self
                    .pending
                    .get(&msg.transaction_id)
                    .is_some_and(|p| at.src != p.client)
                {
                    return;
                }
                // A retransmission keeps its transaction id (RFC 8489 §6.2.1): count the
                // request, keep the first pending entry.
                if !self.pending.contains_key(&msg.transaction_id) {
                    self.make_room(at.ts);
                    let order = self.bump();
                    self.pending.insert(
                        msg.transaction_id,
                        Pending {
                            client: at.src.get(),
                            server: at.dst.get(),
                            ts: at.ts,
                            order,
                        },
                    );
                }
                if let Some(b) = self.binding(at.src.get(), at.dst.get(), at) {
                    b.requests += 1;
                    b.ice_check |= ice;
                    b.nominated |= nominated;
                    push_frame(&mut b.frames, at.frame);
                }
            }
            StunClass::SuccessResponse | StunClass::ErrorResponse => {
                let success = msg.class == StunClass::SuccessResponse;
                if success {
                    self.stats.binding_successes += 1;
                } else {
                    self.stats.binding_errors += 1;
                }
                // The response goes back to where the request came from (RFC 8489 §6.3.1.1);
                // without the request, the response's own addresses still tell the pair.
                let (client, server) = match self.pending.remove(&msg.transaction_id) {
                    Some(p) => (p.client, p.server),
                    None => {
                        self.stats.unmatched_responses += 1;
                        (at.dst.get(), at.src.get())
                    }
                };
                let mapped = msg.xor_mapped_address().or_else(|| msg.mapped_address());
                let code = msg.error_code();
                if let Some(b) = self.binding(client, server, at) {
                    push_frame(&mut b.frames, at.frame);
                    if success {
                        b.successes += 1;
                        b.success_frame.get_or_insert(at.frame);
                        if let Some(m) = mapped {
                            if b.mapped.is_some_and(|old| old != m) {
                                b.mapping_changed = true;
                            }
                            b.mapped = Some(m);
                        }
                    } else {
                        b.errors += 1;
                        b.last_error = code.or(b.last_error);
                    }
                }
            }
            StunClass::Indication => {}
        }
    }

    fn bump(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Drops expired requests; when still full, the oldest sixteenth (counted).
    fn make_room(&mut self, now: Timestamp) {
        let max = self.limits.stun_pending.max(1);
        if self.pending.len() < max {
            return;
        }
        self.pending
            .retain(|_, p| now.0.saturating_sub(p.ts.0) < PENDING_TIMEOUT_NS);
        if self.pending.len() < max {
            return;
        }
        let mut ages: Vec<(u64, [u8; 12])> =
            self.pending.iter().map(|(k, p)| (p.order, *k)).collect();
        let n = (ages.len() / 16).max(1).min(ages.len());
        ages.select_nth_unstable(n - 1);
        for (_, k) in ages.into_iter().take(n) {
            self.pending.remove(&k);
            self.stats.pending_evictions += 1;
        }
    }

    fn binding(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        at: &Seen,
    ) -> Option<&mut StunBinding> {
        let key = (client, server);
        if !self.bindings.contains_key(&key) {
            if self.bindings.len() >= self.limits.stun_clients.max(1) {
                self.stats.client_overflow += 1;
                return None;
            }
            let order = self.bump();
            self.bindings.insert(
                key,
                StunBinding {
                    client,
                    server,
                    ice_check: false,
                    nominated: false,
                    requests: 0,
                    successes: 0,
                    errors: 0,
                    last_error: None,
                    mapped: None,
                    mapping_changed: false,
                    first_ts: at.ts,
                    frames: Vec::new(),
                    success_frame: None,
                    order,
                },
            );
        }
        self.bindings.get_mut(&key)
    }
}

fn push_frame(v: &mut Vec<u64>, f: u64) {
    if v.len() < MAX_FRAMES && !v.contains(&f) {
        v.push(f);
    }
}

/// A media flow the engine bound to a dialog.
#[derive(Debug, Clone, Copy)]
struct Flow {
    src: SocketAddr,
    dst: SocketAddr,
    packets: u64,
    first_frame: u64,
}

const ADVICE: &str = "Informational: compare the mapped (public) address with what the UA puts \
in SDP c= and Contact. A UA behind NAT that learned its public address should advertise it (or \
ICE candidates); if it advertises the private address, enable its STUN/ICE setting or let the \
SBC latch media (RFC 7362). Port not preserved means a symmetric-style NAT: a STUN-learned \
address may not work towards other peers, so use ICE with a TURN relay or a media relay.";

/// `nat.stun` findings: one per STUN server binding (client, server), attached to the
/// dialog whose SDP named the client's address or its mapped address (`dialog_at`, the
/// engine's media bindings), and one ICE summary per dialog whose SDP had candidates.
pub fn findings<'d>(
    tracker: &StunTracker,
    dialogs: impl Iterator<Item = &'d Dialog>,
    streams: impl Iterator<Item = &'d RtpStream>,
    dialog_at: &dyn Fn(SocketAddr) -> Option<&'d Dialog>,
) -> Vec<Finding> {
    let all = tracker.bindings();
    let mut out = Vec::new();
    // Dialogs with ICE candidates, and the flows bound to them.
    let ice_dialogs: Vec<&Dialog> = dialogs
        .filter(|d| d.sdp.iter().any(has_candidates))
        .collect();
    let mut flows: BTreeMap<u64, Vec<Flow>> = BTreeMap::new();
    if !ice_dialogs.is_empty() {
        let ids: std::collections::BTreeSet<u64> = ice_dialogs.iter().map(|d| d.id).collect();
        for s in streams {
            if let Some(id) = s.dialog.filter(|id| ids.contains(id)) {
                flows.entry(id).or_default().push(Flow {
                    src: s.src,
                    dst: s.dst,
                    packets: s.stats.packets(),
                    first_frame: s.first_frame,
                });
            }
        }
    }
    for b in all.iter().filter(|b| !b.ice_check) {
        let dialog = dialog_at(b.client).or_else(|| b.mapped.and_then(dialog_at));
        out.push(binding_finding(b, dialog));
    }
    for d in &ice_dialogs {
        let f = flows.remove(&d.id).unwrap_or_default();
        if let Some(x) = ice_finding(d, &f, &all) {
            out.push(x);
        }
    }
    // ICE checks that no dialog's candidates explain: one capture-level summary.
    let explained = |b: &StunBinding| {
        ice_dialogs.iter().any(|d| {
            let c = dialog_candidates(d);
            c.iter()
                .any(|(_, x)| x.addr == b.client || x.addr == b.server)
        })
    };
    let loose: Vec<&&StunBinding> = all
        .iter()
        .filter(|b| b.ice_check && !explained(b))
        .collect();
    if let Some(first) = loose.first() {
        let requests: u64 = loose.iter().map(|b| b.requests).sum();
        let ok = loose.iter().filter(|b| b.successes > 0).count();
        let mut summary = format!(
            "{} ICE connectivity check pair(s) with no SDP candidates seen ({requests} request(s), \
             {ok} pair(s) answered)",
            loose.len()
        );
        if let Some(n) = loose.iter().find(|b| b.nominated && b.successes > 0) {
            let _ = write!(summary, "; nominated {} -> {}", n.client, n.server);
        }
        out.push(
            Finding::new(NAT_STUN, Severity::Info, first.first_ts)
                .flow(first.client, first.server)
                .summary(summary)
                .evidence(evidence(
                    loose.iter().flat_map(|b| b.frames.iter().copied()),
                ))
                .advice(ADVICE),
        );
    }
    out
}

fn evidence(frames: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut v: Vec<u64> = frames.collect();
    v.sort_unstable();
    v.dedup();
    v.truncate(MAX_EVIDENCE);
    v
}

fn binding_finding(b: &StunBinding, dialog: Option<&Dialog>) -> Finding {
    let mut s = String::new();
    let mut frames = b.frames.clone();
    match b.mapped {
        Some(m) => {
            let _ = write!(
                s,
                "{} learned its public address {m} from STUN server {} (",
                b.client, b.server
            );
            if m == b.client {
                s.push_str("no NAT: same as its source");
            } else if m.ip() == b.client.ip() {
                s.push_str("same IP, port translated");
            } else if b.port_preserved() == Some(true) {
                s.push_str("behind NAT, port preserved");
            } else {
                s.push_str("behind NAT, port not preserved");
            }
            if b.mapping_changed {
                s.push_str(", mapping changed between requests");
            }
            s.push(')');
        }
        None if b.errors > 0 => {
            let _ = write!(
                s,
                "{} asked STUN server {} for its public address: {} error response(s)",
                b.client, b.server, b.errors
            );
            if let Some(c) = b.last_error {
                let _ = write!(s, " (ERROR-CODE {c})");
            }
        }
        None if b.successes > 0 => {
            let _ = write!(
                s,
                "{} got {} STUN success response(s) from {} without a mapped address",
                b.client, b.successes, b.server
            );
        }
        None => {
            let _ = write!(
                s,
                "{} sent {} STUN Binding request(s) to {}: no answer captured \
                 (server down or UDP blocked)",
                b.client, b.requests, b.server
            );
        }
    }
    if b.errors > 0 && b.mapped.is_some() {
        let _ = write!(s, "; {} error response(s)", b.errors);
    }
    if let Some(d) = dialog {
        let lines = || {
            d.sdp
                .iter()
                .flat_map(|r| r.media.iter().map(move |m| (r, m)))
        };
        if let Some(m) = b.mapped.filter(|m| *m != b.client) {
            if let Some((r, _)) = lines().find(|(_, l)| l.addr.is_some_and(|a| a == m)) {
                let _ = write!(s, "; the SDP (frame {}) advertises it", r.frame);
                frames.push(r.frame);
            } else if let Some((r, _)) = lines().find(|(_, l)| {
                l.candidates
                    .iter()
                    .any(|c| c.addr == m && c.kind == CandidateKind::Srflx)
            }) {
                let _ = write!(
                    s,
                    "; the SDP (frame {}) offers it as a srflx ICE candidate",
                    r.frame
                );
                frames.push(r.frame);
            } else if let Some((r, l)) =
                lines().find(|(_, l)| l.addr.is_some_and(|a| a == b.client))
            {
                let _ = write!(
                    s,
                    "; but the SDP (frame {}) advertises {} instead: the UA did not use \
                     the address it learned",
                    r.frame,
                    l.addr.map(|a| a.to_string()).unwrap_or_default()
                );
                frames.push(r.frame);
            }
        }
    }
    Finding::new(NAT_STUN, Severity::Info, b.first_ts)
        .call_opt(dialog.map(|d| d.call_id.clone()))
        .flow(b.client, b.server)
        .summary(s)
        .evidence(evidence(frames.into_iter()))
        .advice(ADVICE)
}

/// The candidates of a dialog's latest SDP from each side: (from_caller, candidate).
fn dialog_candidates(d: &Dialog) -> Vec<(bool, IceCandidate)> {
    let mut out = Vec::new();
    for side in [true, false] {
        if let Some(r) = latest(d, side) {
            for m in &r.media {
                out.extend(m.candidates.iter().map(|c| (side, *c)));
            }
        }
    }
    out
}

fn latest(d: &Dialog, from_caller: bool) -> Option<&SdpRecord> {
    d.sdp
        .iter()
        .rev()
        .find(|r| r.from_caller == from_caller && r.media.iter().any(|m| !m.candidates.is_empty()))
}

fn side_name(caller: bool) -> &'static str {
    if caller {
        "caller"
    } else {
        "callee"
    }
}

fn count_kinds(c: &[(bool, IceCandidate)], side: bool) -> String {
    let mut n: BTreeMap<CandidateKind, usize> = BTreeMap::new();
    for (_, x) in c.iter().filter(|(s, _)| *s == side) {
        *n.entry(x.kind).or_insert(0) += 1;
    }
    if n.is_empty() {
        return "none".to_string();
    }
    n.iter()
        .map(|(k, v)| format!("{v} {}", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ice_finding(d: &Dialog, flows: &[Flow], stun: &[&StunBinding]) -> Option<Finding> {
    let cands = dialog_candidates(d);
    let addrs: Vec<SocketAddr> = cands.iter().map(|(_, c)| c.addr).collect();
    let checks: Vec<&&StunBinding> = stun
        .iter()
        .filter(|b| b.ice_check && (addrs.contains(&b.client) || addrs.contains(&b.server)))
        .collect();
    // RFC 8839 §4.2.1.4 / RFC 8445 §5.1.1: ICE runs only when both sides sent candidates;
    // candidates one side offered and nobody checked say nothing about NAT.
    let both = [true, false]
        .iter()
        .all(|side| cands.iter().any(|(s, _)| s == side));
    if cands.is_empty() || (!both && checks.is_empty()) {
        return None;
    }
    let mut frames: Vec<u64> = [true, false]
        .iter()
        .filter_map(|s| latest(d, *s).map(|r| r.frame))
        .collect();
    let mut s = format!(
        "ICE: caller offered {}, callee offered {}",
        count_kinds(&cands, true),
        count_kinds(&cands, false)
    );
    let find = |a: SocketAddr| cands.iter().find(|(_, c)| c.addr == a);
    let used = flows
        .iter()
        .max_by_key(|f| (f.packets, std::cmp::Reverse(f.first_frame)));
    let mut ts = d.start;
    if let Some(f) = used {
        frames.push(f.first_frame);
        let label = |a: SocketAddr| match find(a) {
            Some((side, c)) => format!("{a} ({} {})", side_name(*side), c.kind.as_str()),
            None => format!("{a} (no candidate)"),
        };
        let _ = write!(s, "; media used {} -> {}", label(f.src), label(f.dst));
        let relay = [f.src, f.dst]
            .iter()
            .any(|a| find(*a).is_some_and(|(_, c)| c.kind == CandidateKind::Relay));
        s.push_str(if relay {
            " (relay needed)"
        } else {
            " (no relay)"
        });
        // RFC 8839 §4.2.1.2: c=/m= carry the default candidate; media may move elsewhere.
        for (side, addr) in [(true, f.src), (true, f.dst), (false, f.src), (false, f.dst)] {
            let Some((cs, _)) = find(addr) else { continue };
            if *cs != side {
                continue;
            }
            let default = latest(d, side)
                .and_then(|r| r.media.iter().find(|m| !m.candidates.is_empty()))
                .and_then(|m| m.addr);
            if let Some(def) = default.filter(|x| *x != addr) {
                let _ = write!(
                    s,
                    "; {} default c= {def} differs from the used {addr}",
                    side_name(side)
                );
            }
        }
    } else {
        s.push_str("; no media bound to the call");
    }
    // srflx candidates confirmed by a STUN exchange in the capture.
    for (_, c) in cands.iter().filter(|(_, c)| c.kind == CandidateKind::Srflx) {
        if let Some(b) = stun
            .iter()
            .find(|b| !b.ice_check && b.mapped == Some(c.addr))
        {
            let _ = write!(
                s,
                "; srflx {} confirmed by STUN server {}",
                c.addr, b.server
            );
            if let Some(fr) = b.success_frame {
                frames.push(fr);
            }
        }
    }
    if !checks.is_empty() {
        let answered = checks.iter().filter(|b| b.successes > 0).count();
        let _ = write!(
            s,
            "; {} connectivity check pair(s), {answered} answered",
            checks.len()
        );
        if let Some(n) = checks.iter().find(|b| b.nominated && b.successes > 0) {
            let _ = write!(s, ", nominated {} -> {}", n.client, n.server);
            frames.extend(n.frames.iter().copied());
        }
    }
    if let Some(r) = d.sdp.iter().find(|r| frames.contains(&r.frame)) {
        ts = d
            .messages
            .iter()
            .find(|m| m.frame == r.frame)
            .map_or(ts, |m| m.ts);
    }
    Some(
        Finding::new(NAT_STUN, Severity::Info, ts)
            .call(d.call_id.clone())
            .flow_opt(used.map(|f| f.src), used.map(|f| f.dst))
            .summary(s)
            .evidence(evidence(frames.into_iter()))
            .advice(ADVICE),
    )
}

#[cfg(test)]
mod tests;

/// The STUN rule (`nat.stun`): pairs Binding transactions and, at the end, tells what
/// each client learned and how the ICE candidates of the dialogs used it.
#[derive(Debug, Default)]
pub struct StunRule {
    tracker: StunTracker,
    /// Ids of the dialogs held whose SDP had ICE candidates: the rule concludes over
    /// these alone, where walking every dialog held to find them was most of an NDJSON
    /// tick on a long capture. A dialog's SDP records are only ever appended, so a
    /// dialog joins when a message adds a record with candidates and leaves when it is
    /// evicted (bounded by the dialogs held).
    ice: std::collections::BTreeSet<u64>,
}

impl StunRule {
    /// The STUN rule with its tables bounded by `limits`.
    pub fn new(limits: &crate::engine::limits::RuleLimits) -> Self {
        StunRule {
            tracker: StunTracker::new(limits),
            ice: Default::default(),
        }
    }
}

/// True when an SDP record of the dialog had ICE candidates.
fn has_candidates(s: &crate::engine::SdpRecord) -> bool {
    s.media.iter().any(|m| !m.candidates.is_empty())
}

impl crate::engine::Rule for StunRule {
    fn name(&self) -> &'static str {
        "stun"
    }

    fn on_media(
        &mut self,
        ev: &crate::engine::MediaEvent<'_, '_>,
        stats: &mut crate::engine::EngineStats,
    ) {
        if let crate::engine::MediaEvent::Stun { msg, seen } = ev {
            self.tracker.observe(msg, seen);
            stats.stun = self.tracker.stats().clone();
        }
    }

    fn on_message(
        &mut self,
        cx: &crate::engine::MessageCtx<'_, '_>,
        _stats: &mut crate::engine::EngineStats,
    ) {
        // The message may have added a record (the last one); earlier ones were seen.
        if let Some(d) = cx.dialog {
            if d.sdp.last().is_some_and(has_candidates) {
                self.ice.insert(d.id);
            }
        }
    }

    fn on_dialog_evicted(
        &mut self,
        d: &Dialog,
        _an: &crate::engine::Analyzer,
        _out: &mut Vec<Finding>,
    ) {
        self.ice.remove(&d.id);
    }

    fn finish(&self, an: &crate::engine::Analyzer, out: &mut Vec<Finding>) {
        // In id order, the order of `an.dialogs()`.
        let ice = self.ice.iter().filter_map(|id| an.dialog(*id));
        out.extend(findings(&self.tracker, ice, an.all_streams(), &|a| {
            an.dialog_at(a)
        }));
    }
}
