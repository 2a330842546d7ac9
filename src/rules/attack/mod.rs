//! Attack rules: scanner signatures in User-Agent headers (`scan.user-agent`), address
//! sweeps (`scan.sweep`), extension enumeration (`scan.enumeration`), request floods
//! (`dos.flood`) and toll-fraud attempts (`fraud.toll`).
//!
//! The engine feeds every request's User-Agent to a [`ScannerTracker`], and every
//! non-retransmitted request and response to an [`AttackTracker`]. Both keep small,
//! bounded per-source records; time only comes from packet timestamps, so a replay gives
//! the same findings.
//!
//! One file per concern: `scan.rs` (signatures, scanner User-Agents, sweeps),
//! `enumeration.rs`, `flood.rs`, `toll.rs`; this file holds the per-source tracker that
//! feeds them and the [`AttackRule`] the engine runs.

use std::borrow::Cow;
use std::collections::{hash_map::Entry, BTreeMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::capture::Timestamp;
use crate::config::{Config, ScannersConfig};
use crate::engine::{Finding, RuleId, Severity, MAX_EVIDENCE};
use crate::sip::{MessageView, Method, StartLine};

use super::list::List;

pub use crate::model::AttackStats;

mod enumeration;
mod flood;
mod scan;
mod toll;

pub use scan::{scanner, ScannerTracker, Signatures, MAX_SCANNERS, SIGNATURES};
pub use toll::{country_code, international_number};
use toll::{Number, TollAttempt};

/// `scan.user-agent`: a request from a known SIP scanner or attack tool (high).
pub const SCAN_USER_AGENT: RuleId = RuleId("scan.user-agent");
/// `scan.sweep`: one source probing many destinations (medium).
pub const SCAN_SWEEP: RuleId = RuleId("scan.sweep");
/// `scan.enumeration`: one source trying many user names that do not exist (high).
pub const SCAN_ENUMERATION: RuleId = RuleId("scan.enumeration");
/// `dos.flood`: request rate from one source above a threshold (medium).
pub const DOS_FLOOD: RuleId = RuleId("dos.flood");
/// `fraud.toll`: bursts of failing calls to international numbers from one source (medium).
pub const FRAUD_TOLL: RuleId = RuleId("fraud.toll");

// ---------------------------------------------------------------------------------------
// Behaviour rules: sweep, enumeration, flood, toll fraud.
// ---------------------------------------------------------------------------------------

/// Source addresses tracked at once; the least recently active are evicted first (their
/// findings are computed before they go, see [`MAX_EVICTED_FINDINGS`]).
pub const MAX_SOURCES: usize = 16_384;
/// Requests awaiting their final response (for enumeration and toll outcomes).
pub const MAX_PENDING: usize = 16_384;
/// Findings kept from evicted sources; later ones are counted in
/// [`AttackStats::findings_dropped`].
pub const MAX_EVICTED_FINDINGS: usize = 1024;
/// Distinct destinations remembered per source (sweep).
const MAX_TARGETS_PER_SOURCE: usize = 256;
/// Distinct user names remembered per source (enumeration).
const MAX_USERS_PER_SOURCE: usize = 512;
/// International call attempts remembered per source (toll).
const MAX_TOLL_PER_SOURCE: usize = 256;
/// User names and numbers are cut to this many bytes.
const MAX_NAME_LEN: usize = 64;
/// Distinct methods listed per source.
const MAX_METHODS: usize = 8;
/// Names listed in one summary.
const MAX_LISTED: usize = 8;
/// The flood window is counted in this many buckets (a ring: fixed memory per source).
const FLOOD_BUCKETS: u64 = 10;

/// Answers that say "this user does not exist or may not do that": what an enumeration
/// draws for the names it guesses (svwar reads 404 as "no such user", and 401/407/403 as
/// "exists" when most names draw 404).
const ENUM_FAIL: [u16; 6] = [401, 403, 404, 407, 480, 484];

/// Thresholds in nanoseconds and counts, from [`Config`].
#[derive(Debug, Clone, Copy)]
struct Thresholds {
    sweep_targets: usize,
    sweep_window: u64,
    enum_users: usize,
    enum_window: u64,
    flood_requests: u64,
    flood_window: u64,
    toll_attempts: usize,
    toll_window: u64,
}

impl Thresholds {
    fn from_config(c: &Config) -> Self {
        const S: u64 = 1_000_000_000;
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX).max(1);
        Thresholds {
            sweep_targets: n(c.sweep.targets),
            sweep_window: c.sweep.window_secs.saturating_mul(S),
            enum_users: n(c.enumeration.users),
            enum_window: c.enumeration.window_secs.saturating_mul(S),
            flood_requests: c.flood.requests.max(1),
            flood_window: c
                .flood
                .window_ms
                .saturating_mul(1_000_000)
                .max(FLOOD_BUCKETS),
            toll_attempts: n(c.toll.attempts),
            toll_window: c.toll.window_secs.saturating_mul(S),
        }
    }
}

#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    ts: Timestamp,
    frame: u64,
    /// The destination had sent a request to this source first (a registered phone, a
    /// peer proxy): not counted as swept.
    peer: bool,
}

#[derive(Debug, Clone)]
struct UserTry {
    ts: Timestamp,
    frame: u64,
    /// First final answer.
    first_final: Option<u16>,
    /// A 2xx was seen for this user.
    ok: bool,
    /// Every final answer was in [`ENUM_FAIL`].
    all_fail: bool,
}

#[derive(Debug, Clone, Default)]
struct Flood {
    ring: [u32; FLOOD_BUCKETS as usize],
    /// Bucket index of the newest bucket in the ring.
    head: u64,
    sum: u64,
    peak: u64,
    peak_ts: Timestamp,
    start: Option<Timestamp>,
    last: Timestamp,
    /// Requests sent while the rate was at or above the threshold.
    over: u64,
    frames: Vec<u64>,
}

#[derive(Debug, Clone)]
struct SourceState {
    first_src: SocketAddr,
    last_order: u64,
    requests: u64,
    user_agent: Option<Box<str>>,
    /// Borrowed when a method RFC 3261 and its extensions define (see [`method_name`]).
    methods: List<Cow<'static, str>>,
    targets: List<Target>,
    users: FxHashMap<Box<[u8]>, UserTry>,
    toll: List<TollAttempt>,
    flood: Flood,
    /// Densest episode per rule from before a prune (see [`SourceState::make_room`]).
    best: Vec<(usize, Finding)>,
    last_prune: Option<Timestamp>,
}

/// Least packet time between two prunes of one source's lists.
const PRUNE_INTERVAL_NS: u64 = 1_000_000_000;

impl SourceState {
    /// Makes room in full lists of a long-lived source (a trunk watched for days): keeps
    /// the densest finding of each rule so far, then forgets entries too old to share a
    /// window with new ones. At most once a second of packet time.
    fn make_room(&mut self, ip: IpAddr, now: Timestamp, th: &Thresholds) {
        if self
            .last_prune
            .is_some_and(|t| now.since(t) < PRUNE_INTERVAL_NS)
        {
            return;
        }
        self.last_prune = Some(now);
        for (n, f) in counted_findings(ip, self, th) {
            match self.best.iter_mut().find(|(_, b)| b.rule == f.rule) {
                Some(slot) if n > slot.0 => *slot = (n, f),
                Some(_) => {}
                None => self.best.push((n, f)),
            }
        }
        let recent = |ts: Timestamp, window: u64| now.since(ts) <= window;
        self.targets.retain(|t| recent(t.ts, th.sweep_window));
        self.users.retain(|_, u| recent(u.ts, th.enum_window));
        self.toll.retain(|t| recent(t.ts, th.toll_window));
    }
}

impl SourceState {
    /// The record of a source before its first request.
    fn new(first_src: SocketAddr, order: u64) -> Self {
        SourceState {
            first_src,
            last_order: order,
            requests: 0,
            user_agent: None,
            methods: List::default(),
            targets: List::default(),
            users: FxHashMap::default(),
            toll: List::default(),
            flood: Flood::default(),
            best: Vec::new(),
            last_prune: None,
        }
    }
}

/// What a source's one request asked for, besides reaching its destination: a user name
/// (enumeration) or an international number (toll), never both.
#[derive(Debug, Clone)]
enum Probe {
    /// Neither: nothing awaits an answer.
    Nothing,
    /// The user name tried, cut to [`MAX_NAME_LEN`].
    User(Box<[u8]>),
    /// The call (hash of its Call-ID) and the number it dialled.
    Toll { call: u64, number: Number },
}

/// A source that has sent one request: only what that request makes of a
/// [`SourceState`], which it becomes on the source's second request (see
/// [`FirstSight::promote`]). Nearly every source of a flood or a sweep of the Internet
/// sends one request, and the full record (lists, maps, flood ring, about 430 bytes)
/// cost a cold write per source; this one is under half of that and has nothing to free.
#[derive(Debug, Clone)]
struct FirstSight {
    /// The sender's port (its address is the table's key): a source whose address is not
    /// rebuilt from these two (an IPv6 flow label or scope) makes a full record at once.
    src_port: u16,
    dst: SocketAddr,
    ts: Timestamp,
    frame: u64,
    order: u64,
    /// Index in [`METHODS`]: a request with another method makes a full record at once.
    method: u8,
    /// The destination had sent a request to this source first (see [`Target::peer`]).
    peer: bool,
    user_agent: Option<Box<str>>,
    probe: Probe,
    /// The answer as the full record would keep it: the first final answer for a user
    /// ([`UserTry::first_final`]), the latest for a toll call ([`TollAttempt::status`]).
    status: Option<u16>,
    ok: bool,
    all_fail: bool,
}

impl FirstSight {
    /// The full record the source would have after this one request, as
    /// [`AttackTracker::request`] builds it for a source's later requests.
    /// Takes the heap parts (User-Agent, user name): the first sight is replaced by what
    /// this returns.
    fn promote(&mut self, ip: IpAddr, th: &Thresholds) -> SourceState {
        let mut s = SourceState::new(SocketAddr::new(ip, self.src_port), self.order);
        s.requests = 1;
        s.user_agent = self.user_agent.take();
        if let Some(m) = METHODS.get(usize::from(self.method)) {
            s.methods.push(Cow::Borrowed(m));
        }
        s.targets.push(Target {
            addr: self.dst,
            ts: self.ts,
            frame: self.frame,
            peer: self.peer,
        });
        s.flood.add(self.ts, self.frame, th);
        match std::mem::replace(&mut self.probe, Probe::Nothing) {
            Probe::Nothing => {}
            Probe::User(u) => {
                s.users.insert(
                    u,
                    UserTry {
                        ts: self.ts,
                        frame: self.frame,
                        first_final: self.status,
                        ok: self.ok,
                        all_fail: self.all_fail,
                    },
                );
            }
            Probe::Toll { call, number } => s.toll.push(TollAttempt {
                call,
                ts: self.ts,
                frame: self.frame,
                number,
                status: self.status,
                ok: self.ok,
            }),
        }
        s
    }

    /// Whether the full record could make a finding (the test [`counted_findings`] makes
    /// first, for one target, at most one user or toll call, and one request counted in
    /// the flood ring): only with thresholds of one, never with the defaults.
    fn may_fire(&self, th: &Thresholds) -> bool {
        th.sweep_targets <= 1
            || th.flood_requests <= 1
            || (matches!(self.probe, Probe::User(_)) && th.enum_users <= 1)
            || (matches!(self.probe, Probe::Toll { .. }) && th.toll_attempts <= 1)
    }

    /// Records a final answer to the request, as [`AttackTracker::response`] does in the
    /// full record.
    fn answer(&mut self, user: Option<&[u8]>, toll_call: Option<u64>, status: u16) {
        let ok = (200..300).contains(&status);
        match &self.probe {
            Probe::User(u) if user == Some(&**u) => {
                self.status.get_or_insert(status);
                self.ok |= ok;
                self.all_fail &= ENUM_FAIL.contains(&status);
            }
            // A 2xx sticks.
            Probe::Toll { call, .. } if toll_call == Some(*call) && !self.ok => {
                self.status = Some(status);
                self.ok = ok;
            }
            _ => {}
        }
    }
}

/// One tracked source.
#[derive(Debug, Clone)]
enum Source {
    /// One request so far: the compact record.
    First(FirstSight),
    /// Two or more (or a first one with a method outside [`METHODS`]); boxed, so that
    /// the table's slots are the size of a first sight.
    Full(Box<SourceState>),
}

impl Source {
    /// Order of the source's latest request.
    fn last_order(&self) -> u64 {
        match self {
            Source::First(f) => f.order,
            Source::Full(s) => s.last_order,
        }
    }

    /// Whether the source sent a request to `ip` (whose requests to it are then a peer's).
    fn targeted(&self, ip: IpAddr) -> bool {
        match self {
            Source::First(f) => f.dst.ip() == ip,
            Source::Full(s) => s.targets.iter().any(|t| t.addr.ip() == ip),
        }
    }

    /// The full record when there is one (tests look into it).
    #[cfg(test)]
    fn state(&self) -> Option<&SourceState> {
        match self {
            Source::Full(s) => Some(s),
            Source::First(_) => None,
        }
    }

    /// The findings the source deserves (see [`source_findings`]).
    fn findings(&self, ip: IpAddr, th: &Thresholds) -> Vec<Finding> {
        match self {
            Source::Full(s) => source_findings(ip, s, th),
            Source::First(f) if f.may_fire(th) => {
                source_findings(ip, &f.clone().promote(ip, th), th)
            }
            Source::First(_) => Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    src: IpAddr,
    user: Option<Box<[u8]>>,
    toll_call: Option<u64>,
    order: u64,
}

/// Per-source behaviour tracker for `scan.sweep`, `scan.enumeration`, `dos.flood` and
/// `fraud.toll`.
#[derive(Debug, Clone)]
pub struct AttackTracker {
    th: Thresholds,
    sources: FxHashMap<IpAddr, Source>,
    /// Sources in the order of their requests, as (address, the request's order): the
    /// least recently active come first, so eviction pops them instead of copying and
    /// partly sorting the whole table (a flood of one-request sources filled it every
    /// sixteenth of its size). Entries of sources that sent again since are stale,
    /// skipped when met and compacted away.
    source_queue: VecDeque<(IpAddr, u64)>,
    pending: FxHashMap<u64, Pending>,
    /// Pending requests in insertion order, as (key, order): the same for `pending`
    /// (entries of answered or replaced requests are stale).
    pending_queue: VecDeque<(u64, u64)>,
    order: u64,
    evicted: Vec<Finding>,
    limits: crate::engine::limits::RuleLimits,
    /// What could not be kept.
    pub stats: AttackStats,
}

impl Default for AttackTracker {
    fn default() -> Self {
        AttackTracker::new(&Config::default())
    }
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    // No random seed: deterministic across runs.
    FxBuildHasher.hash_one(t)
}

/// The standard methods of [`crate::sip::Method`], numbered for the one-byte method of a
/// first sight (`methods_are_the_sip_standard_methods` keeps the two lists equal).
const METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];

/// `method` borrowed when it is a standard one (nearly every request names one, so a
/// source's list holds no copy: a flood brings a new source per request), else a copy.
fn method_name(method: &str) -> Cow<'static, str> {
    match Method::from_bytes(method.as_bytes()).static_name() {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_string()),
    }
}

fn cut(b: &[u8]) -> &[u8] {
    b.get(..b.len().min(MAX_NAME_LEN)).unwrap_or(b)
}

/// The densest run of `ts` (sorted) within `window` ns: (count, first index, last index).
fn densest(ts: &[Timestamp], window: u64) -> (usize, usize, usize) {
    let mut best = (0, 0, 0);
    let mut i = 0;
    for (j, t) in ts.iter().enumerate() {
        while ts.get(i).is_some_and(|s| t.since(*s) > window) {
            i += 1;
        }
        let n = j + 1 - i;
        if n > best.0 {
            best = (n, i, j);
        }
    }
    best
}

/// "a ×3, b ×1" for the most frequent items first (ties in name order), at most
/// [`MAX_LISTED`].
fn tally<S: AsRef<str> + Ord>(items: impl Iterator<Item = S>) -> String {
    let mut m: BTreeMap<S, u64> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_insert(0) += 1;
    }
    let mut v: Vec<(S, u64)> = m.into_iter().collect();
    // Stable sort: equal counts stay in name order.
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    let more = v.len() > MAX_LISTED;
    let mut s = v
        .iter()
        .take(MAX_LISTED)
        .map(|(k, n)| format!("{} ×{n}", k.as_ref()))
        .collect::<Vec<_>>()
        .join(", ");
    if more {
        s.push_str(", ...");
    }
    s
}

impl AttackTracker {
    /// A tracker with the thresholds of `config`.
    pub fn new(config: &Config) -> Self {
        AttackTracker {
            th: Thresholds::from_config(config),
            sources: FxHashMap::default(),
            source_queue: VecDeque::new(),
            pending: FxHashMap::default(),
            pending_queue: VecDeque::new(),
            order: 0,
            evicted: Vec::new(),
            limits: crate::engine::limits::RuleLimits::default(),
            stats: AttackStats::default(),
        }
    }

    /// Bounds the tracker's tables by `limits` (sources, pending requests, findings of
    /// evicted sources) instead of the defaults ([`MAX_SOURCES`], [`MAX_PENDING`],
    /// [`MAX_EVICTED_FINDINGS`]).
    pub fn set_limits(&mut self, limits: &crate::engine::limits::RuleLimits) {
        self.limits = limits.clone();
    }

    /// Records one message that is not a retransmission or duplicate.
    pub fn on_message(
        &mut self,
        msg: &MessageView<'_>,
        frame: u64,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
    ) {
        match &msg.start {
            StartLine::Request { method, .. } => {
                let to_user = msg.to().and_then(|t| t.uri.user);
                let ruri_user = msg
                    .request_uri_parsed()
                    .and_then(|u| u.as_ref().ok())
                    .and_then(|u| u.user);
                let req = Request {
                    frame,
                    ts,
                    src,
                    dst,
                    method: method.as_str(),
                    call_id: msg.call_id().unwrap_or_default(),
                    cseq: msg.cseq().map(|c| c.seq),
                    user: to_user.or(ruri_user),
                    dialled: ruri_user.or(to_user),
                    user_agent: msg.user_agent(),
                };
                self.request(&req);
            }
            StartLine::Response { status, .. } => {
                if let Some(c) = msg.cseq() {
                    self.response(
                        msg.call_id().unwrap_or_default(),
                        c.seq,
                        c.method.as_str(),
                        status.0,
                        dst,
                    );
                }
            }
        }
    }

    /// Records one request.
    pub fn request(&mut self, r: &Request<'_>) {
        self.order += 1;
        let order = self.order;
        let th = self.th;
        // A destination that sent us a request first is a peer, not a sweep target (by
        // address only: a NATed phone's port differs; a host probing its own ports is no
        // peer of itself).
        let peer = r.dst.ip() != r.src.ip()
            && self
                .sources
                .get(&r.dst.ip())
                .is_some_and(|d| d.targeted(r.src.ip()));
        let ip = r.src.ip();
        self.compact_source_queue();
        // A new source in a full table evicts the oldest (below, once it is in): one
        // lookup per request where a presence test then an insertion were two.
        let before = self.sources.len();
        self.source_queue.push_back((ip, order));

        let probing = matches!(r.method, "REGISTER" | "OPTIONS" | "INVITE");
        let international = if r.method == "INVITE" {
            r.dialled.and_then(toll::international)
        } else {
            None
        };
        // Calls to international numbers are `fraud.toll`'s business: a burst of them
        // rejected 403 probes the dial plan, not the user directory.
        let user = r
            .user
            .filter(|u| probing && !u.is_empty() && international.is_none())
            .map(cut);
        let toll_call = international.map(|_| hash_of(&r.call_id));
        let toll = toll_call.zip(international);
        // The first sight keeps the method as an index and the sender as a port.
        let known = METHODS
            .iter()
            .position(|m| *m == r.method)
            .and_then(|i| u8::try_from(i).ok())
            .filter(|_| SocketAddr::new(ip, r.src.port()) == r.src);
        let inserted = match (self.sources.entry(ip), known) {
            (Entry::Vacant(v), Some(method)) => {
                // What the full record would hold after this request, held compactly.
                let probe = match (user, toll) {
                    (Some(u), _) => Probe::User(u.into()),
                    (None, Some((call, number))) => Probe::Toll { call, number },
                    (None, None) => Probe::Nothing,
                };
                v.insert(Source::First(FirstSight {
                    src_port: r.src.port(),
                    dst: r.dst,
                    ts: r.ts,
                    frame: r.frame,
                    order,
                    method,
                    peer,
                    user_agent: user_agent(r),
                    probe,
                    status: None,
                    ok: false,
                    all_fail: true,
                }));
                true
            }
            (e, _) => {
                let inserted = matches!(e, Entry::Vacant(_));
                let slot =
                    e.or_insert_with(|| Source::Full(Box::new(SourceState::new(r.src, order))));
                if let Source::First(f) = slot {
                    // The source's second request: the full record from here on.
                    *slot = Source::Full(Box::new(f.promote(ip, &th)));
                }
                if let Source::Full(s) = slot {
                    s.last_order = order;
                    record(s, r, peer, user, toll, &th, &mut self.stats);
                }
                inserted
            }
        };
        if inserted && before >= self.limits.attack_sources.max(1) {
            // As if evicted before the insertion: the count is of the sources that were
            // there, the new one is the newest in the queue and the record of this
            // request reads nothing the eviction changes.
            self.evict_sources(before);
        }
        if user.is_none() && toll_call.is_none() {
            return;
        }
        let Some(seq) = r.cseq else {
            return;
        };
        if self.pending.len() >= self.limits.attack_pending.max(1) {
            self.evict_pending();
        }
        let key = hash_of(&(r.call_id, seq, r.method, ip));
        self.pending.insert(
            key,
            Pending {
                src: ip,
                user: user.map(Into::into),
                toll_call,
                order,
            },
        );
        self.pending_queue.push_back((key, order));
        if self.pending_queue.len() > 2 * self.pending.len() + 64 {
            // Answered requests left stale entries: keep the queue within the table.
            let pending = &self.pending;
            self.pending_queue
                .retain(|(k, o)| pending.get(k).is_some_and(|p| p.order == *o));
        }
    }

    /// Drops the stale entries of `source_queue` once they outnumber the sources (a
    /// source sending many requests leaves one per request), so it stays within the table.
    fn compact_source_queue(&mut self) {
        if self.source_queue.len() > 2 * self.sources.len() + 64 {
            let sources = &self.sources;
            self.source_queue
                .retain(|(ip, o)| sources.get(ip).is_some_and(|s| s.last_order() == *o));
        }
    }

    /// Records one response; `to` is where it goes (the requester).
    pub fn response(
        &mut self,
        call_id: &[u8],
        seq: u32,
        method: &str,
        status: u16,
        to: SocketAddr,
    ) {
        if status < 200 {
            return;
        }
        let Some(p) = self
            .pending
            .remove(&hash_of(&(call_id, seq, method, to.ip())))
        else {
            return;
        };
        let s = match self.sources.get_mut(&p.src) {
            Some(Source::Full(s)) => s,
            Some(Source::First(f)) => {
                f.answer(p.user.as_deref(), p.toll_call, status);
                return;
            }
            None => return,
        };
        let ok = (200..300).contains(&status);
        if let Some(u) = p.user.as_deref().and_then(|u| s.users.get_mut(u)) {
            u.first_final.get_or_insert(status);
            u.ok |= ok;
            u.all_fail &= ENUM_FAIL.contains(&status);
        }
        if let Some(t) = p
            .toll_call
            .and_then(|c| s.toll.iter_mut().find(|t| t.call == c))
        {
            if !t.ok {
                t.status = Some(status);
                t.ok = ok;
            }
        }
    }

    /// Evicts the oldest sixteenth of the pending requests (at least one). Orders are
    /// unique and queued in increasing order, so the first live entries of the queue are
    /// the oldest requests.
    fn evict_pending(&mut self) {
        let mut n = (self.pending.len() / 16).max(1).min(self.pending.len());
        while n > 0 {
            let Some((k, order)) = self.pending_queue.pop_front() else {
                break;
            };
            // One lookup: the entry is removed through, not looked up again.
            if let Entry::Occupied(e) = self.pending.entry(k) {
                if e.get().order == order {
                    e.remove();
                    self.stats.pending_evictions += 1;
                    n -= 1;
                }
            }
        }
    }

    /// Evicts the least recently active sixteenth of the `full` sources a full table
    /// held (at least one), oldest first, concluding on each.
    fn evict_sources(&mut self, full: usize) {
        let mut n = (full / 16).max(1).min(full);
        while n > 0 {
            let Some((ip, order)) = self.source_queue.pop_front() else {
                break;
            };
            // A source's live entry is the one of its last request; findings come out in
            // the order of that request, as a fixed order whatever the hash map's.
            let Entry::Occupied(e) = self.sources.entry(ip) else {
                continue;
            };
            if e.get().last_order() != order {
                continue;
            }
            n -= 1;
            let s = e.remove();
            self.stats.source_evictions += 1;
            for f in s.findings(ip, &self.th) {
                if self.evicted.len() < self.limits.attack_evicted_findings {
                    self.evicted.push(f);
                } else {
                    self.stats.findings_dropped += 1;
                }
            }
        }
    }

    /// Every finding so far (sources in address order).
    pub fn findings(&self) -> Vec<Finding> {
        // In address order, of the sources that may make a finding: a flood of
        // one-request sources (none of which can, see `FirstSight::may_fire`) made
        // sorting them all most of this. The addresses are the table's keys, all
        // distinct, so an unstable sort on their numeric form orders them as sorting
        // the addresses did.
        let mut sources: Vec<((u8, u128), &IpAddr, &Source)> = self
            .sources
            .iter()
            .filter(|(_, s)| match s {
                Source::Full(_) => true,
                Source::First(f) => f.may_fire(&self.th),
            })
            .map(|(ip, s)| (crate::rules::ip_order(*ip), ip, s))
            .collect();
        sources.sort_unstable_by_key(|(k, _, _)| *k);
        let mut all = self.evicted.clone();
        for (_, ip, s) in sources {
            all.extend(s.findings(*ip, &self.th));
        }
        all
    }
}

/// The User-Agent a source's record keeps from `r`: its first 128 bytes as text.
fn user_agent(r: &Request<'_>) -> Option<Box<str>> {
    r.user_agent
        .map(|u| String::from_utf8_lossy(u.get(..u.len().min(128)).unwrap_or(u)).into())
}

/// Records request `r` in the full record `s` of its source: `peer` when its destination
/// had sent to the source first, `user` the user name it tries and `toll` the call and
/// international number it dials (see [`AttackTracker::request`]).
fn record(
    s: &mut SourceState,
    r: &Request<'_>,
    peer: bool,
    user: Option<&[u8]>,
    toll: Option<(u64, Number)>,
    th: &Thresholds,
    stats: &mut AttackStats,
) {
    let ip = r.src.ip();
    s.requests += 1;
    if s.user_agent.is_none() {
        s.user_agent = user_agent(r);
    }
    if s.methods.len() < MAX_METHODS && !s.methods.iter().any(|m| &**m == r.method) {
        s.methods.push(method_name(r.method));
    }
    if !s.targets.iter().any(|t| t.addr == r.dst) {
        if s.targets.len() >= MAX_TARGETS_PER_SOURCE {
            s.make_room(ip, r.ts, th);
        }
        if s.targets.len() < MAX_TARGETS_PER_SOURCE {
            s.targets.push(Target {
                addr: r.dst,
                ts: r.ts,
                frame: r.frame,
                peer,
            });
        } else {
            stats.overflow += 1;
        }
    }
    s.flood.add(r.ts, r.frame, th);
    if let Some(u) = user {
        if !s.users.contains_key(u) {
            if s.users.len() >= MAX_USERS_PER_SOURCE {
                s.make_room(ip, r.ts, th);
            }
            if s.users.len() < MAX_USERS_PER_SOURCE {
                s.users.insert(
                    u.into(),
                    UserTry {
                        ts: r.ts,
                        frame: r.frame,
                        first_final: None,
                        ok: false,
                        all_fail: true,
                    },
                );
            } else {
                stats.overflow += 1;
            }
        }
    }
    if let Some((call, number)) = toll {
        if !s.toll.iter().any(|t| t.call == call) {
            if s.toll.len() >= MAX_TOLL_PER_SOURCE {
                s.make_room(ip, r.ts, th);
            }
            if s.toll.len() < MAX_TOLL_PER_SOURCE {
                s.toll.push(TollAttempt {
                    call,
                    ts: r.ts,
                    frame: r.frame,
                    number,
                    status: None,
                    ok: false,
                });
            } else {
                stats.overflow += 1;
            }
        }
    }
}

/// One request as the tracker sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Frame number.
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Method name.
    pub method: &'a str,
    /// Call-ID (empty when missing).
    pub call_id: &'a [u8],
    /// CSeq number.
    pub cseq: Option<u32>,
    /// User tried: the To user, else the Request-URI user.
    pub user: Option<&'a [u8]>,
    /// Number dialled: the Request-URI user, else the To user.
    pub dialled: Option<&'a [u8]>,
    /// User-Agent header.
    pub user_agent: Option<&'a [u8]>,
}

fn secs(ns: u64) -> String {
    // Tools sweep in milliseconds; people read longer spans in seconds.
    if ns < 10_000_000_000 {
        format!("{:.3} s", ns as f64 / 1e9)
    } else {
        format!("{:.1} s", ns as f64 / 1e9)
    }
}

/// The findings one source deserves: the densest episode of each rule, whether still in
/// its lists or remembered when they were pruned.
fn source_findings(ip: IpAddr, s: &SourceState, th: &Thresholds) -> Vec<Finding> {
    let mut cur = counted_findings(ip, s, th);
    for (n, b) in &s.best {
        match cur.iter_mut().find(|(_, f)| f.rule == b.rule) {
            Some(c) if *n > c.0 => *c = (*n, b.clone()),
            Some(_) => {}
            None => cur.push((*n, b.clone())),
        }
    }
    cur.into_iter().map(|(_, f)| f).collect()
}

/// The findings the current lists of one source make, each with its count (targets,
/// users, peak rate, calls) so that episodes can be compared.
fn counted_findings(ip: IpAddr, s: &SourceState, th: &Thresholds) -> Vec<(usize, Finding)> {
    let mut out = Vec::new();
    // What each rule needs at the least (see the rules): a source below all of it, as
    // most are (a flood of one-request sources), makes no finding, and is told so
    // without writing the User-Agent and method texts the findings would quote.
    let may_fire = s.targets.len() >= th.sweep_targets
        || s.users.len() >= th.enum_users
        || s.flood.start.is_some()
        || s.toll.len() >= th.toll_attempts;
    if !may_fire {
        return out;
    }
    let ua = s
        .user_agent
        .as_deref()
        .map(|u| format!(", User-Agent '{u}'"))
        .unwrap_or_default();
    let methods = s.methods.join("/");
    out.extend(scan::sweep(ip, s, th, &methods, &ua));
    out.extend(enumeration::enumeration(ip, s, th, &methods, &ua));
    out.extend(flood::flood(ip, s, th, &methods, &ua));
    out.extend(toll::toll(ip, s, th, &methods, &ua));

    out
}

/// The attack rule family (`scan.*`, `dos.flood`, `fraud.toll`): scanner User-Agents and
/// the per-source sweep, enumeration, flood and toll trackers, fed every message a dialog
/// sees for the first time.
#[derive(Debug, Default)]
pub struct AttackRule {
    scanners: ScannerTracker,
    attack: AttackTracker,
    limits: crate::engine::limits::RuleLimits,
}

impl AttackRule {
    /// The attack rules with their tables bounded by `limits`.
    pub fn new(limits: &crate::engine::limits::RuleLimits) -> Self {
        let mut r = AttackRule {
            limits: limits.clone(),
            ..AttackRule::default()
        };
        r.scanners.set_limits(limits);
        r.attack.set_limits(limits);
        r
    }
}

impl crate::engine::Rule for AttackRule {
    fn name(&self) -> &'static str {
        "attack"
    }

    fn configure(&mut self, config: &Config) {
        self.scanners = ScannerTracker::new(Signatures::from_config(&config.scanners));
        self.attack = AttackTracker::new(config);
        self.scanners.set_limits(&self.limits);
        self.attack.set_limits(&self.limits);
    }

    fn on_message(
        &mut self,
        cx: &crate::engine::MessageCtx<'_, '_>,
        stats: &mut crate::engine::EngineStats,
    ) {
        if cx.dialog.is_none() || cx.repeat {
            return;
        }
        let s = cx.seen;
        if cx.is_request {
            if let Some(ua) = cx.msg.user_agent() {
                self.scanners
                    .request(ua, s.frame, s.ts, s.src.get(), s.dst.get());
                stats.scanner_overflow = self.scanners.dropped;
            }
        }
        self.attack
            .on_message(cx.msg, s.frame, s.ts, s.src.get(), s.dst.get());
        stats.attack = self.attack.stats;
    }

    fn finish(&self, _an: &crate::engine::Analyzer, out: &mut Vec<Finding>) {
        out.extend(self.scanners.findings());
        out.extend(self.attack.findings());
    }
}

#[cfg(test)]
mod tests;
