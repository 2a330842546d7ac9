//! Attack rules: scanner signatures in User-Agent headers (`scan.user-agent`), address
//! sweeps (`scan.sweep`), extension enumeration (`scan.enumeration`), request floods
//! (`dos.flood`) and toll-fraud attempts (`fraud.toll`).
//!
//! The engine feeds every request's User-Agent to a [`ScannerTracker`], and every
//! non-retransmitted request and response to an [`AttackTracker`]. Both keep small,
//! bounded per-source records; time only comes from packet timestamps, so a replay gives
//! the same findings.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::capture::Timestamp;
use crate::config::{Config, ScannersConfig};
use crate::engine::{Finding, RuleId, Severity, MAX_EVIDENCE};
use crate::sip::{MessageView, StartLine};

pub use crate::model::AttackStats;

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

/// Scanner signatures: (case-insensitive substring of User-Agent, tool). Documented in the
/// docs/report-format.md; every entry is a tool whose default User-Agent is seen in scans on the Internet.
pub const SIGNATURES: &[(&str, &str)] = &[
    ("friendly-scanner", "SIPVicious (svmap/svwar/svcrack)"),
    ("sipvicious", "SIPVicious"),
    ("sipcli", "sipcli"),
    ("vaxsipuseragent", "VaxSIP-based scanner"),
    ("pplsip", "pplsip"),
    ("sundayddr", "sundayddr scanner"),
    ("sip-scan", "sip-scan"),
    ("iwar", "iWar war dialer"),
    ("sivus", "SIVuS"),
    ("smap", "smap"),
    ("sipscan", "SIPScan"),
];

/// Patterns of this many bytes or fewer match whole words only ("smap" must not match
/// "bismapper").
const WHOLE_WORD_MAX: usize = 4;

/// Lower-cases `ua` into `buf` (no allocation: this runs on every request).
fn lower<'b>(ua: &[u8], buf: &'b mut [u8; 256]) -> &'b [u8] {
    let n = ua.len().min(buf.len());
    let out = buf.get_mut(..n).unwrap_or(&mut []);
    for (d, s) in out.iter_mut().zip(ua) {
        *d = s.to_ascii_lowercase();
    }
    out
}

/// True when lower-cased `ua` carries lower-cased `sig`.
fn carries(ua: &[u8], sig: &[u8]) -> bool {
    if sig.len() <= WHOLE_WORD_MAX {
        ua.split(|c| !c.is_ascii_alphanumeric()).any(|w| w == sig)
    } else {
        memchr::memmem::find(ua, sig).is_some()
    }
}

/// The tool whose built-in signature `user_agent` carries, if any.
pub fn scanner(user_agent: &[u8]) -> Option<&'static str> {
    let mut buf = [0u8; 256];
    let ua = lower(user_agent, &mut buf);
    SIGNATURES
        .iter()
        .find_map(|(sig, tool)| carries(ua, sig.as_bytes()).then_some(*tool))
}

/// A signature table: the built-in one, plus or instead of configured entries.
#[derive(Debug, Clone)]
pub struct Signatures {
    /// (lower-cased pattern, tool), checked in order.
    list: Vec<(Box<[u8]>, Box<str>)>,
}

impl Default for Signatures {
    fn default() -> Self {
        Signatures::builtin()
    }
}

impl Signatures {
    /// The built-in table, [`SIGNATURES`].
    pub fn builtin() -> Self {
        Signatures {
            list: SIGNATURES
                .iter()
                .map(|(p, t)| (p.as_bytes().into(), (*t).into()))
                .collect(),
        }
    }

    /// The table `[scanners]` asks for: configured signatures after the built-in ones,
    /// or alone with `replace_builtin = true`.
    pub fn from_config(c: &ScannersConfig) -> Self {
        let mut s = if c.replace_builtin {
            Signatures { list: Vec::new() }
        } else {
            Signatures::builtin()
        };
        for sig in &c.signatures {
            // Longer patterns could never match inside the 256-byte buffer anyway.
            let p = sig.pattern.as_bytes();
            let p = p.get(..p.len().min(256)).unwrap_or(p).to_ascii_lowercase();
            if !p.is_empty() {
                s.list.push((p.into(), sig.tool.as_str().into()));
            }
        }
        s
    }

    /// Index of the first signature `user_agent` carries.
    pub fn find(&self, user_agent: &[u8]) -> Option<usize> {
        let mut buf = [0u8; 256];
        let ua = lower(user_agent, &mut buf);
        self.list.iter().position(|(sig, _)| carries(ua, sig))
    }

    /// Tool name of signature `i` ("?" when out of range).
    pub fn tool(&self, i: usize) -> &str {
        self.list.get(i).map_or("?", |(_, t)| t)
    }

    /// Number of signatures.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there is none (`replace_builtin` with no signatures).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// What one source did with one tool.
#[derive(Debug, Clone)]
struct ScanRecord {
    user_agent: String,
    requests: u64,
    first: Timestamp,
    first_dst: SocketAddr,
    frames: Vec<u64>,
    targets: Vec<SocketAddr>,
}

/// Most (source, tool) pairs tracked; later ones are counted in `dropped`.
pub const MAX_SCANNERS: usize = 4096;
/// Distinct targets remembered per scanner.
const MAX_TARGETS: usize = 64;

/// Scanner sightings, keyed by source address and signature.
#[derive(Debug, Clone, Default)]
pub struct ScannerTracker {
    signatures: Signatures,
    seen: BTreeMap<(IpAddr, usize), ScanRecord>,
    /// Sightings not recorded because the table was full.
    pub dropped: u64,
}

impl ScannerTracker {
    /// A tracker matching `signatures` (the default tracker uses the built-in table).
    pub fn new(signatures: Signatures) -> Self {
        ScannerTracker {
            signatures,
            seen: BTreeMap::new(),
            dropped: 0,
        }
    }

    /// Records one request; cheap when the User-Agent is not a scanner's.
    pub fn request(
        &mut self,
        user_agent: &[u8],
        frame: u64,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
    ) {
        let Some(sig) = self.signatures.find(user_agent) else {
            return;
        };
        let key = (src.ip(), sig);
        if !self.seen.contains_key(&key) && self.seen.len() >= MAX_SCANNERS {
            self.dropped += 1;
            return;
        }
        let r = self.seen.entry(key).or_insert_with(|| ScanRecord {
            user_agent: String::from_utf8_lossy(user_agent).into_owned(),
            requests: 0,
            first: ts,
            first_dst: dst,
            frames: Vec::new(),
            targets: Vec::new(),
        });
        r.requests += 1;
        if r.frames.len() < MAX_EVIDENCE {
            r.frames.push(frame);
        }
        if r.targets.len() < MAX_TARGETS && !r.targets.contains(&dst) {
            r.targets.push(dst);
        }
    }

    /// One finding per (source, tool).
    pub fn findings(&self) -> Vec<Finding> {
        self.seen
            .iter()
            .map(|((ip, sig), r)| {
                Finding::new(SCAN_USER_AGENT, Severity::High, r.first)
                    .flow(SocketAddr::new(*ip, 0), r.first_dst)
                    .summary(format!(
                        "{} from {ip}: {} request(s) to {}{} target(s), User-Agent '{}'",
                        self.signatures.tool(*sig),
                        r.requests,
                        r.targets.len(),
                        if r.targets.len() >= MAX_TARGETS {
                            "+"
                        } else {
                            ""
                        },
                        r.user_agent
                    ))
                    .evidence(r.frames.clone())
                    .advice(
                        "A SIP scanner is probing for accounts and weak passwords: block the \
                         source, rate-limit unauthenticated requests (pike/fail2ban), and make \
                         sure every account has a strong password.",
                    )
            })
            .collect()
    }
}

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

#[derive(Debug, Clone)]
struct TollAttempt {
    call: u64,
    ts: Timestamp,
    frame: u64,
    /// "+" and the digits after the international prefix.
    number: Box<str>,
    /// Latest final answer (a 2xx sticks).
    status: Option<u16>,
    ok: bool,
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
    methods: Vec<Box<str>>,
    targets: Vec<Target>,
    users: FxHashMap<Box<[u8]>, UserTry>,
    toll: Vec<TollAttempt>,
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
    sources: FxHashMap<IpAddr, SourceState>,
    pending: FxHashMap<u64, Pending>,
    order: u64,
    evicted: Vec<Finding>,
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

/// E.164 country codes of one and two digits (ITU-T E.164 assignments); all others have
/// three. Only used to group destinations in a summary.
const CC2: &[&[u8; 2]] = &[
    b"20", b"27", b"30", b"31", b"32", b"33", b"34", b"36", b"39", b"40", b"41", b"43", b"44",
    b"45", b"46", b"47", b"48", b"49", b"51", b"52", b"53", b"54", b"55", b"56", b"57", b"58",
    b"60", b"61", b"62", b"63", b"64", b"65", b"66", b"81", b"82", b"84", b"86", b"90", b"91",
    b"92", b"93", b"94", b"95", b"98",
];

/// The country code of an international number ("+" and digits): "+972".
pub fn country_code(number: &str) -> &str {
    let digits = number.strip_prefix('+').unwrap_or(number).as_bytes();
    let len = match digits {
        [b'1' | b'7', ..] => 1,
        [a, b, ..] if CC2.contains(&&[*a, *b]) => 2,
        _ => 3,
    };
    let end = (len + usize::from(number.starts_with('+'))).min(number.len());
    number.get(..end).unwrap_or(number)
}

/// The international number a dialled user part names, as "+" and digits, or None.
///
/// Heuristic (documented in docs/report-format.md): visual separators `-.()` are dropped and the
/// user part must then be digits only, after either
/// - `+` and at least 8 digits, or
/// - an international prefix `00` (ITU-T E.164 / most of the world) or `011` (NANP)
///   followed by at least 7 digits, optionally after one outside-line digit (PBXs dial
///   `9` or `0` first: `9011...`, `000...`).
///
/// The country code must not start with 0. `011` also begins some national numbers (UK
/// 0114 Sheffield): a deliberate false-positive risk, as toll fraud mostly dials NANP-style.
pub fn international_number(user: &[u8]) -> Option<String> {
    let mut buf = [0u8; 32];
    let mut n = 0;
    let user = user.split(|&c| c == b';').next().unwrap_or(user);
    for &c in user {
        if matches!(c, b'-' | b'.' | b'(' | b')') {
            continue;
        }
        if !(c.is_ascii_digit() || (c == b'+' && n == 0)) {
            return None;
        }
        *buf.get_mut(n)? = c;
        n += 1;
    }
    let s = buf.get(..n)?;
    let plus = |rest: &[u8]| -> Option<String> {
        (rest.first() != Some(&b'0')).then(|| format!("+{}", String::from_utf8_lossy(rest)))
    };
    if let Some(rest) = s.strip_prefix(b"+") {
        return if rest.len() >= 8 { plus(rest) } else { None };
    }
    for skip in 0..=1 {
        let t = s.get(skip..)?;
        for prefix in [&b"011"[..], &b"00"[..]] {
            if let Some(rest) = t.strip_prefix(prefix) {
                if rest.len() >= 7 {
                    if let Some(n) = plus(rest) {
                        return Some(n);
                    }
                }
            }
        }
    }
    None
}

impl AttackTracker {
    /// A tracker with the thresholds of `config`.
    pub fn new(config: &Config) -> Self {
        AttackTracker {
            th: Thresholds::from_config(config),
            sources: FxHashMap::default(),
            pending: FxHashMap::default(),
            order: 0,
            evicted: Vec::new(),
            stats: AttackStats::default(),
        }
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
                .is_some_and(|d| d.targets.iter().any(|t| t.addr.ip() == r.src.ip()));
        let ip = r.src.ip();
        if !self.sources.contains_key(&ip) && self.sources.len() >= MAX_SOURCES {
            self.evict_sources();
        }
        let s = self.sources.entry(ip).or_insert_with(|| SourceState {
            first_src: r.src,
            last_order: order,
            requests: 0,
            user_agent: None,
            methods: Vec::new(),
            targets: Vec::new(),
            users: FxHashMap::default(),
            toll: Vec::new(),
            flood: Flood::default(),
            best: Vec::new(),
            last_prune: None,
        });
        s.last_order = order;
        s.requests += 1;
        if s.user_agent.is_none() {
            s.user_agent = r
                .user_agent
                .map(|u| String::from_utf8_lossy(u.get(..u.len().min(128)).unwrap_or(u)).into());
        }
        if s.methods.len() < MAX_METHODS && !s.methods.iter().any(|m| &**m == r.method) {
            s.methods.push(r.method.into());
        }
        if !s.targets.iter().any(|t| t.addr == r.dst) {
            if s.targets.len() >= MAX_TARGETS_PER_SOURCE {
                s.make_room(ip, r.ts, &th);
            }
            if s.targets.len() < MAX_TARGETS_PER_SOURCE {
                s.targets.push(Target {
                    addr: r.dst,
                    ts: r.ts,
                    frame: r.frame,
                    peer,
                });
            } else {
                self.stats.overflow += 1;
            }
        }
        s.flood.add(r.ts, r.frame, &th);

        let probing = matches!(r.method, "REGISTER" | "OPTIONS" | "INVITE");
        let international = if r.method == "INVITE" {
            r.dialled.and_then(international_number)
        } else {
            None
        };
        // Calls to international numbers are `fraud.toll`'s business: a burst of them
        // rejected 403 probes the dial plan, not the user directory.
        let user = r
            .user
            .filter(|u| probing && !u.is_empty() && international.is_none())
            .map(cut);
        if let Some(u) = user {
            if !s.users.contains_key(u) {
                if s.users.len() >= MAX_USERS_PER_SOURCE {
                    s.make_room(ip, r.ts, &th);
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
                    self.stats.overflow += 1;
                }
            }
        }
        let mut toll_call = None;
        {
            if let Some(number) = international {
                let call = hash_of(&r.call_id);
                toll_call = Some(call);
                if !s.toll.iter().any(|t| t.call == call) {
                    if s.toll.len() >= MAX_TOLL_PER_SOURCE {
                        s.make_room(ip, r.ts, &th);
                    }
                    if s.toll.len() < MAX_TOLL_PER_SOURCE {
                        s.toll.push(TollAttempt {
                            call,
                            ts: r.ts,
                            frame: r.frame,
                            number: number.into(),
                            status: None,
                            ok: false,
                        });
                    } else {
                        self.stats.overflow += 1;
                    }
                }
            }
        }
        if user.is_none() && toll_call.is_none() {
            return;
        }
        let Some(seq) = r.cseq else {
            return;
        };
        if self.pending.len() >= MAX_PENDING {
            self.evict_pending();
        }
        self.pending.insert(
            hash_of(&(r.call_id, seq, r.method, ip)),
            Pending {
                src: ip,
                user: user.map(Into::into),
                toll_call,
                order,
            },
        );
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
        let Some(s) = self.sources.get_mut(&p.src) else {
            return;
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

    fn evict_pending(&mut self) {
        let mut ages: Vec<(u64, u64)> = self.pending.iter().map(|(k, p)| (p.order, *k)).collect();
        let n = (ages.len() / 16).max(1).min(ages.len());
        if n == 0 {
            return;
        }
        ages.select_nth_unstable(n - 1);
        for (_, k) in ages.into_iter().take(n) {
            self.pending.remove(&k);
            self.stats.pending_evictions += 1;
        }
    }

    fn evict_sources(&mut self) {
        let mut ages: Vec<(u64, IpAddr)> = self
            .sources
            .iter()
            .map(|(ip, s)| (s.last_order, *ip))
            .collect();
        let n = (ages.len() / 16).max(1).min(ages.len());
        if n == 0 {
            return;
        }
        ages.select_nth_unstable(n - 1);
        ages.truncate(n);
        // Findings in a fixed order whatever the hash map's.
        ages.sort();
        for (_, ip) in ages {
            if let Some(s) = self.sources.remove(&ip) {
                self.stats.source_evictions += 1;
                for f in source_findings(ip, &s, &self.th) {
                    if self.evicted.len() < MAX_EVICTED_FINDINGS {
                        self.evicted.push(f);
                    } else {
                        self.stats.findings_dropped += 1;
                    }
                }
            }
        }
    }

    /// Every finding so far (sources in address order).
    pub fn findings(&self) -> Vec<Finding> {
        let mut ips: Vec<&IpAddr> = self.sources.keys().collect();
        ips.sort();
        let mut all = self.evicted.clone();
        for ip in ips {
            if let Some(s) = self.sources.get(ip) {
                all.extend(source_findings(*ip, s, &self.th));
            }
        }
        all
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

impl Flood {
    fn add(&mut self, ts: Timestamp, frame: u64, th: &Thresholds) {
        let bucket_ns = (th.flood_window / FLOOD_BUCKETS).max(1);
        let b = ts.0 / bucket_ns;
        if self.sum == 0 || b > self.head {
            // Clear the buckets that slid out of the window (all of them after a gap).
            let gap = if self.sum == 0 {
                FLOOD_BUCKETS
            } else {
                (b - self.head).min(FLOOD_BUCKETS)
            };
            for k in 1..=gap {
                let i = ((self.head + k) % FLOOD_BUCKETS) as usize;
                if let Some(c) = self.ring.get_mut(i) {
                    self.sum -= u64::from(*c);
                    *c = 0;
                }
            }
            self.head = b;
        } else if self.head - b >= FLOOD_BUCKETS {
            // Older than the window (out-of-order capture): not counted.
            return;
        }
        if let Some(c) = self.ring.get_mut((b % FLOOD_BUCKETS) as usize) {
            *c = c.saturating_add(1);
            self.sum += 1;
        }
        if self.sum >= th.flood_requests {
            self.start.get_or_insert(ts);
            self.last = self.last.max(ts);
            self.over += 1;
            if self.sum > self.peak {
                self.peak = self.sum;
                self.peak_ts = ts;
            }
            if self.frames.len() < MAX_EVIDENCE {
                self.frames.push(frame);
            }
        }
    }
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
    let ua = s
        .user_agent
        .as_deref()
        .map(|u| format!(", User-Agent '{u}'"))
        .unwrap_or_default();
    let methods = s.methods.join("/");

    // scan.sweep
    let mut swept: Vec<&Target> = s.targets.iter().filter(|t| !t.peer).collect();
    swept.sort_by_key(|t| (t.ts, t.frame));
    let times: Vec<Timestamp> = swept.iter().map(|t| t.ts).collect();
    let (n, i, j) = densest(&times, th.sweep_window);
    if n >= th.sweep_targets {
        let win = swept.get(i..=j).unwrap_or_default();
        let mut addrs: Vec<SocketAddr> = win.iter().map(|t| t.addr).collect();
        addrs.sort();
        let range = match (addrs.first(), addrs.last()) {
            (Some(a), Some(b)) => format!("{a} .. {b}"),
            _ => String::new(),
        };
        let first = win.first();
        let span = match (win.first(), win.last()) {
            (Some(a), Some(b)) => b.ts.since(a.ts),
            _ => 0,
        };
        out.push((
            n,
            Finding::new(
                SCAN_SWEEP,
                Severity::Medium,
                first.map_or(Timestamp(0), |t| t.ts),
            )
            .flow_opt(Some(s.first_src), first.map(|t| t.addr))
            .summary(format!(
                "{ip} sent {methods} to {n} distinct destinations in {} ({range}){ua}",
                secs(span)
            ))
            .evidence(win.iter().map(|t| t.frame).take(MAX_EVIDENCE).collect())
            .advice(
                "One address probing many SIP destinations is a scanner mapping the network \
                     (svmap style): block it at the edge, and do not expose SIP ports that need \
                     not be public.",
            ),
        ));
    }

    // scan.enumeration
    let mut users: Vec<(&[u8], &UserTry)> = s
        .users
        .iter()
        .filter(|(_, u)| u.first_final.is_some())
        .map(|(k, u)| (&**k, u))
        .collect();
    users.sort_by_key(|(k, u)| (u.ts, u.frame, *k));
    let probed: Vec<&(&[u8], &UserTry)> =
        users.iter().filter(|(_, u)| !u.ok && u.all_fail).collect();
    let times: Vec<Timestamp> = probed.iter().map(|(_, u)| u.ts).collect();
    let (n, i, j) = densest(&times, th.enum_window);
    let win = probed.get(i..=j).unwrap_or_default();
    let answered_in_window = match (win.first(), win.last()) {
        (Some(a), Some(b)) => users
            .iter()
            .filter(|(_, u)| u.ts >= a.1.ts && u.ts <= b.1.ts)
            .count(),
        _ => 0,
    };
    // A trunk whose calls mostly succeed is not guessing names, even if some fail.
    if n >= th.enum_users && n * 2 >= answered_in_window {
        let status = |u: &UserTry| {
            if u.ok {
                200
            } else {
                u.first_final.unwrap_or(0)
            }
        };
        let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
        for (_, u) in &users {
            *counts.entry(status(u)).or_insert(0) += 1;
        }
        let majority = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(0, |(k, _)| *k);
        let name = |k: &[u8]| format!("'{}'", String::from_utf8_lossy(k));
        let tried = win
            .iter()
            .take(MAX_LISTED)
            .map(|(k, _)| name(k))
            .collect::<Vec<_>>()
            .join(", ");
        let exist: Vec<String> = users
            .iter()
            .filter(|(_, u)| status(u) != majority)
            .take(MAX_LISTED)
            .map(|(k, u)| format!("{} ({})", name(k), status(u)))
            .collect();
        let exist = if exist.is_empty() {
            "none stands out".to_string()
        } else {
            exist.join(", ")
        };
        let first = win.first();
        out.push((
            n,
            Finding::new(
                SCAN_ENUMERATION,
                Severity::High,
                first.map_or(Timestamp(0), |(_, u)| u.ts),
            )
            .flow_opt(Some(s.first_src), s.targets.first().map(|t| t.addr))
            .summary(format!(
                "{ip} tried {n} user names that drew {}, e.g. {tried}{}; \
                 likely existing (answer differs from the usual {majority}): {exist}; \
                 methods {methods}{ua}",
                tally(
                    win.iter()
                        .map(|(_, u)| u.first_final.map_or("?".to_string(), |c| c.to_string()))
                ),
                if n > MAX_LISTED { ", ..." } else { "" },
            ))
            .evidence(
                win.iter()
                    .map(|(_, u)| u.frame)
                    .take(MAX_EVIDENCE)
                    .collect(),
            )
            .advice(
                "Someone is enumerating extensions (svwar style) to find accounts to attack: \
                     block the source, answer unknown users exactly like known ones (Asterisk \
                     alwaysauthreject=yes, Kamailio: same 401 for all), and use extension names \
                     that are not short numbers.",
            ),
        ));
    }

    // dos.flood
    let f = &s.flood;
    if let Some(start) = f.start {
        let targets = s.targets.len();
        out.push((
            usize::try_from(f.peak).unwrap_or(usize::MAX),
            Finding::new(DOS_FLOOD, Severity::Medium, start)
                .flow_opt(Some(s.first_src), s.targets.first().map(|t| t.addr))
                .summary(format!(
                "{ip} sent up to {} requests per {} ms (threshold {}) for {}: {} requests \
                 above the threshold, {} in all, methods {methods}, to {targets}{} destination(s){ua}",
                f.peak,
                th.flood_window / 1_000_000,
                th.flood_requests,
                secs(f.last.since(start)),
                f.over,
                s.requests,
                if targets >= MAX_TARGETS_PER_SOURCE { "+" } else { "" },
            ))
                .evidence(f.frames.clone())
                .advice("A request flood can exhaust a SIP server or hide an attack: rate-limit per \
                     source (Kamailio pike, Asterisk/fail2ban, SBC policies) and block the \
                     address if it is not a known trunk."),
        ));
    }

    // fraud.toll: only calls the packets show failing (a final non-2xx answer). An INVITE
    // with no final answer seen did not fail as far as the capture knows (a flood of
    // unanswered INVITEs is dos.flood's business).
    let mut failed: Vec<&TollAttempt> = s
        .toll
        .iter()
        .filter(|t| !t.ok && t.status.is_some())
        .collect();
    failed.sort_by_key(|t| (t.ts, t.frame));
    let times: Vec<Timestamp> = failed.iter().map(|t| t.ts).collect();
    let (n, i, j) = densest(&times, th.toll_window);
    if n >= th.toll_attempts {
        let win = failed.get(i..=j).unwrap_or_default();
        let first = win.first();
        let examples = {
            let mut v: Vec<&str> = win.iter().map(|t| &*t.number).collect();
            v.dedup();
            v.truncate(4);
            v.join(", ")
        };
        let span = match (win.first(), win.last()) {
            (Some(a), Some(b)) => b.ts.since(a.ts),
            _ => 0,
        };
        out.push((
            n,
            Finding::new(FRAUD_TOLL, Severity::Medium, first.map_or(Timestamp(0), |t| t.ts))
                .flow_opt(Some(s.first_src), s.targets.first().map(|t| t.addr))
                .summary(format!(
                "{ip} made {n} failed call(s) to international numbers in {}: {} (e.g. {examples}); \
                 answers {}{ua}",
                secs(span),
                tally(win.iter().map(|t| country_code(&t.number))),
                tally(win.iter().map(|t| t.status.map_or("none".to_string(), |c| c.to_string()))),
            ))
                .evidence(win.iter().map(|t| t.frame).take(MAX_EVIDENCE).collect())
                .advice("Bursts of failing international calls are how toll fraud looks for a dial \
                     plan that lets calls out: require authentication for every INVITE, \
                     restrict international destinations per account, and alert on spend."),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        assert_eq!(
            scanner(b"friendly-scanner"),
            Some("SIPVicious (svmap/svwar/svcrack)")
        );
        assert_eq!(scanner(b"SIPVicious 0.3.4"), Some("SIPVicious"));
        assert_eq!(
            scanner(b"VaxSIPUserAgent/3.1"),
            Some("VaxSIP-based scanner")
        );
        assert_eq!(scanner(b"smap 0.6.0"), Some("smap"));
        assert_eq!(scanner(b"bismapper/1.0"), None);
        assert_eq!(scanner(b"Linphone/3.6.1 (belle-sip/1.2.4)"), None);
        assert_eq!(scanner(b"\xff\xfe"), None);
    }

    #[test]
    fn one_finding_per_source_and_tool() {
        let mut t = ScannerTracker::default();
        let src: SocketAddr = "203.0.113.5:5070".parse().unwrap();
        for i in 0..50u64 {
            let dst = SocketAddr::from(([192, 0, 2, (i % 10) as u8], 5060));
            t.request(b"friendly-scanner", i + 1, Timestamp(i), src, dst);
        }
        t.request(b"Asterisk PBX", 99, Timestamp(99), src, src);
        let f = t.findings();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule.as_str(), "scan.user-agent");
        assert!(
            f[0].summary.contains("50 request(s) to 10 target(s)"),
            "{}",
            f[0].summary
        );
        assert_eq!(f[0].evidence.len(), MAX_EVIDENCE);
        assert_eq!(f[0].evidence[0], 1);
    }
}

#[cfg(test)]
mod behaviour_tests {
    use super::*;
    use crate::config::{ScannersConfig, SignatureConfig};

    const S: u64 = 1_000_000_000;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    struct Feed {
        t: AttackTracker,
        frame: u64,
    }

    impl Feed {
        fn new() -> Self {
            Feed::with(&Config::default())
        }
        fn with(c: &Config) -> Self {
            Feed {
                t: AttackTracker::new(c),
                frame: 0,
            }
        }
        #[allow(clippy::too_many_arguments)]
        fn req(
            &mut self,
            ns: u64,
            src: SocketAddr,
            dst: SocketAddr,
            method: &str,
            call_id: &str,
            cseq: u32,
            user: Option<&str>,
        ) {
            self.frame += 1;
            self.t.request(&Request {
                frame: self.frame,
                ts: Timestamp(ns),
                src,
                dst,
                method,
                call_id: call_id.as_bytes(),
                cseq: Some(cseq),
                user: user.map(str::as_bytes),
                dialled: user.map(str::as_bytes),
                user_agent: Some(b"test-ua"),
            });
        }
        fn resp(&mut self, src: SocketAddr, call_id: &str, cseq: u32, method: &str, status: u16) {
            self.frame += 1;
            self.t
                .response(call_id.as_bytes(), cseq, method, status, src);
        }
        fn rules(&self) -> Vec<&'static str> {
            self.t.findings().iter().map(|f| f.rule.as_str()).collect()
        }
        fn find(&self, rule: RuleId) -> Option<Finding> {
            self.t.findings().into_iter().find(|f| f.rule == rule)
        }
    }

    fn host(i: u32) -> SocketAddr {
        SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 5060))
    }

    #[test]
    fn sweep_fires_at_threshold_within_window() {
        let scanner = addr("203.0.113.9:5070");
        let mut f = Feed::new();
        for i in 0..10 {
            f.req(
                i as u64 * S,
                scanner,
                host(i),
                "OPTIONS",
                &format!("c{i}"),
                1,
                None,
            );
        }
        let x = f.find(SCAN_SWEEP).expect("sweep");
        assert_eq!(x.severity, Severity::Medium);
        assert!(
            x.summary
                .contains("203.0.113.9 sent OPTIONS to 10 distinct destinations in 9.000 s"),
            "{}",
            x.summary
        );
        assert!(
            x.summary.contains("10.0.0.0:5060 .. 10.0.0.9:5060"),
            "{}",
            x.summary
        );
        assert!(x.summary.contains("User-Agent 'test-ua'"), "{}", x.summary);
        assert_eq!(x.evidence.first(), Some(&1));
        assert_eq!(x.evidence.len(), 10);
        assert_eq!(x.src, Some(scanner));
    }

    #[test]
    fn sweep_needs_n_targets_inside_the_window() {
        let scanner = addr("203.0.113.9:5070");
        let mut f = Feed::new();
        for i in 0..9 {
            f.req(i as u64 * S, scanner, host(i), "OPTIONS", "c", 1, None);
        }
        assert!(f.find(SCAN_SWEEP).is_none());
        // Ten targets, but one every 70 s: never ten within 60 s.
        let mut f = Feed::new();
        for i in 0..10 {
            f.req(i as u64 * 70 * S, scanner, host(i), "OPTIONS", "c", 1, None);
        }
        assert!(f.find(SCAN_SWEEP).is_none());
    }

    #[test]
    fn busy_trunk_to_one_destination_fires_nothing() {
        // 5 calls/s for 100 s from a proxy to one carrier, 20% to unknown numbers.
        let proxy = addr("192.0.2.10:5060");
        let carrier = addr("198.51.100.1:5060");
        let mut f = Feed::new();
        for i in 0..500u32 {
            let cid = format!("call{i}");
            let user = format!("49301234{i:04}");
            let ns = u64::from(i) * S / 5;
            f.req(ns, proxy, carrier, "INVITE", &cid, 1, Some(&user));
            let status = if i % 5 == 0 { 404 } else { 200 };
            f.resp(proxy, &cid, 1, "INVITE", status);
        }
        assert_eq!(f.rules(), Vec::<&str>::new());
    }

    #[test]
    fn registrar_pinging_its_phones_is_not_a_sweep() {
        let registrar = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for i in 0..30 {
            let phone = SocketAddr::from(([198, 51, 100, i as u8], 40000 + i as u16));
            let cid = format!("reg{i}");
            let user = format!("{}", 100 + i);
            f.req(
                i as u64 * S,
                phone,
                registrar,
                "REGISTER",
                &cid,
                1,
                Some(&user),
            );
            f.resp(phone, &cid, 1, "REGISTER", 401);
            f.req(
                i as u64 * S + 1000,
                phone,
                registrar,
                "REGISTER",
                &cid,
                2,
                Some(&user),
            );
            f.resp(phone, &cid, 2, "REGISTER", 200);
        }
        for i in 0..30 {
            let phone = SocketAddr::from(([198, 51, 100, i as u8], 40000 + i as u16));
            f.req(40 * S + i as u64, registrar, phone, "OPTIONS", "q", 1, None);
        }
        assert_eq!(f.rules(), Vec::<&str>::new());
    }

    fn svwar(users: u32, exists: &[u32]) -> Feed {
        let scanner = addr("203.0.113.7:5061");
        let pbx = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for u in 0..users {
            let cid = format!("svwar{u}");
            let user = format!("{}", 100 + u);
            f.req(
                u64::from(u) * S / 10,
                scanner,
                pbx,
                "REGISTER",
                &cid,
                1,
                Some(&user),
            );
            let status = if exists.contains(&(100 + u)) {
                401
            } else {
                404
            };
            f.resp(scanner, &cid, 1, "REGISTER", status);
        }
        f
    }

    #[test]
    fn enumeration_fires_and_names_existing_users() {
        let f = svwar(30, &[105, 120]);
        let x = f.find(SCAN_ENUMERATION).expect("enumeration");
        assert_eq!(x.severity, Severity::High);
        assert!(x.summary.contains("tried 30 user names"), "{}", x.summary);
        assert!(x.summary.contains("404 ×28, 401 ×2"), "{}", x.summary);
        assert!(x.summary.contains("e.g. '100', '101'"), "{}", x.summary);
        assert!(
            x.summary.contains(
                "likely existing (answer differs from the usual 404): '105' (401), '120' (401)"
            ),
            "{}",
            x.summary
        );
        assert_eq!(x.evidence.len(), 30);
        assert_eq!(x.evidence.first(), Some(&1));
        // One source, one destination: not a sweep.
        assert!(f.find(SCAN_SWEEP).is_none());
    }

    #[test]
    fn nine_users_do_not_make_an_enumeration() {
        assert!(svwar(9, &[]).find(SCAN_ENUMERATION).is_none());
        assert!(svwar(10, &[]).find(SCAN_ENUMERATION).is_some());
    }

    #[test]
    fn users_that_register_after_a_challenge_are_not_probes() {
        // A proxy registering 50 users on behalf of phones: 401, then 200.
        let proxy = addr("192.0.2.10:5060");
        let registrar = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for u in 0..50u64 {
            let cid = format!("r{u}");
            let user = format!("user{u}");
            f.req(
                u * S / 10,
                proxy,
                registrar,
                "REGISTER",
                &cid,
                1,
                Some(&user),
            );
            f.resp(proxy, &cid, 1, "REGISTER", 401);
            f.req(
                u * S / 10 + 5,
                proxy,
                registrar,
                "REGISTER",
                &cid,
                2,
                Some(&user),
            );
            f.resp(proxy, &cid, 2, "REGISTER", 200);
        }
        assert_eq!(f.rules(), Vec::<&str>::new());
    }

    #[test]
    fn flood_fires_above_rate_and_not_at_normal_rate() {
        let src = addr("203.0.113.66:5060");
        let dst = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        // 300 requests in one second.
        for i in 0..300u64 {
            f.req(
                10 * S + i * S / 300,
                src,
                dst,
                "INVITE",
                &format!("f{i}"),
                1,
                None,
            );
        }
        let x = f.find(DOS_FLOOD).expect("flood");
        assert!(
            x.summary.contains("per 1000 ms (threshold 200)"),
            "{}",
            x.summary
        );
        assert!(x.summary.contains("methods INVITE"), "{}", x.summary);
        assert_eq!(x.evidence.len(), MAX_EVIDENCE);
        // 10 requests per second for 100 s.
        let mut f = Feed::new();
        for i in 0..1000u64 {
            f.req(i * S / 10, src, dst, "OPTIONS", &format!("n{i}"), 1, None);
        }
        assert!(f.find(DOS_FLOOD).is_none());
        // 199 per second, for a minute: still under.
        let mut f = Feed::new();
        for i in 0..(199 * 60u64) {
            f.req(i * S / 199, src, dst, "OPTIONS", "x", 1, None);
        }
        assert!(f.find(DOS_FLOOD).is_none());
    }

    #[test]
    fn flood_threshold_is_configurable() {
        let mut c = Config::default();
        c.flood.requests = 20;
        let src = addr("203.0.113.66:5060");
        let dst = addr("192.0.2.1:5060");
        let mut f = Feed::with(&c);
        for i in 0..25u64 {
            f.req(i * S / 100, src, dst, "OPTIONS", "x", 1, None);
        }
        assert!(f.find(DOS_FLOOD).is_some());
    }

    fn toll(numbers: &[&str], status: Option<u16>) -> Feed {
        let src = addr("203.0.113.50:5060");
        let pbx = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for (i, n) in numbers.iter().enumerate() {
            let cid = format!("t{i}");
            f.req(i as u64 * 5 * S, src, pbx, "INVITE", &cid, 1, Some(n));
            if let Some(s) = status {
                f.resp(src, &cid, 1, "INVITE", s);
            }
        }
        f
    }

    const INTL: [&str; 6] = [
        "00972599123456",
        "+441632960123",
        "011972599123457",
        "9011447700900123",
        "000972599123458",
        "00537123456",
    ];

    #[test]
    fn toll_fires_on_failing_international_bursts() {
        let f = toll(&INTL, Some(404));
        let x = f.find(FRAUD_TOLL).expect("toll");
        assert_eq!(x.severity, Severity::Medium);
        assert!(
            x.summary
                .contains("made 6 failed call(s) to international numbers in 25.0 s"),
            "{}",
            x.summary
        );
        assert!(
            x.summary.contains("+972 ×3, +44 ×2, +53 ×1"),
            "{}",
            x.summary
        );
        assert!(x.summary.contains("answers 404 ×6"), "{}", x.summary);
        assert!(x.summary.contains("e.g. +972599123456"), "{}", x.summary);
        // Unanswered calls did not fail as far as the packets show: no finding.
        assert!(toll(&INTL, None).find(FRAUD_TOLL).is_none());
    }

    #[test]
    fn toll_needs_failures_international_numbers_and_a_burst() {
        assert!(toll(&INTL, Some(200)).find(FRAUD_TOLL).is_none());
        assert!(toll(&INTL[..4], Some(404)).find(FRAUD_TOLL).is_none());
        let national = ["0301234567", "030123456", "5551234", "1001", "0114960000"];
        assert!(toll(&national, Some(404)).find(FRAUD_TOLL).is_none());
        // Same numbers, one every 20 s: never 5 within 60 s.
        let src = addr("203.0.113.50:5060");
        let pbx = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for (i, n) in INTL.iter().enumerate() {
            let cid = format!("t{i}");
            f.req(i as u64 * 20 * S, src, pbx, "INVITE", &cid, 1, Some(n));
            f.resp(src, &cid, 1, "INVITE", 403);
        }
        assert!(f.find(FRAUD_TOLL).is_none());
    }

    #[test]
    fn a_toll_burst_is_not_also_an_enumeration() {
        // Twelve international numbers refused 403 within a minute: a dial-plan probe,
        // reported once as fraud.toll, not again as a user-name enumeration.
        let numbers: Vec<String> = (0..12).map(|i| format!("0044163296{i:04}")).collect();
        let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let f = toll(&numbers, Some(403));
        assert!(f.find(FRAUD_TOLL).is_some());
        assert!(f.find(SCAN_ENUMERATION).is_none());
    }

    #[test]
    fn toll_challenge_then_success_is_not_a_failure() {
        let src = addr("192.0.2.20:5060");
        let pbx = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for (i, n) in INTL.iter().enumerate() {
            let cid = format!("t{i}");
            f.req(i as u64 * S, src, pbx, "INVITE", &cid, 1, Some(n));
            f.resp(src, &cid, 1, "INVITE", 407);
            f.req(i as u64 * S + 10, src, pbx, "INVITE", &cid, 2, Some(n));
            f.resp(src, &cid, 2, "INVITE", 200);
            // A later re-INVITE refused does not turn the answered call into a failure.
            f.req(i as u64 * S + 20, src, pbx, "INVITE", &cid, 3, Some(n));
            f.resp(src, &cid, 3, "INVITE", 491);
        }
        assert_eq!(f.rules(), Vec::<&str>::new());
    }

    #[test]
    fn international_heuristic() {
        let i = |s: &str| international_number(s.as_bytes());
        assert_eq!(i("+4930123456").as_deref(), Some("+4930123456"));
        assert_eq!(i("+49-30-123456").as_deref(), Some("+4930123456"));
        assert_eq!(i("+4930123"), None); // 7 digits after '+'
        assert_eq!(i("0049301234").as_deref(), Some("+49301234"));
        assert_eq!(i("00493012"), None); // 6 digits after 00
        assert_eq!(i("01197259912").as_deref(), Some("+97259912"));
        assert_eq!(i("9011972599123").as_deref(), Some("+972599123"));
        assert_eq!(i("000972599123").as_deref(), Some("+972599123"));
        assert_eq!(i("0301234567"), None);
        assert_eq!(i("+0123456789"), None);
        assert_eq!(i("00abc12345678"), None);
        assert_eq!(i("alice"), None);
        assert_eq!(
            i("+4930123456;phone-context=x").as_deref(),
            Some("+4930123456")
        );
        assert_eq!(i(&"0".repeat(100)), None);
        assert_eq!(country_code("+12125550100"), "+1");
        assert_eq!(country_code("+4930123"), "+49");
        assert_eq!(country_code("+972599"), "+972");
        assert_eq!(country_code("+"), "+");
    }

    #[test]
    fn configured_signatures() {
        let c = ScannersConfig {
            signatures: vec![
                SignatureConfig {
                    pattern: "EvilDialer".into(),
                    tool: "Evil".into(),
                },
                SignatureConfig {
                    pattern: "zap".into(),
                    tool: "Zap".into(),
                },
            ],
            replace_builtin: false,
        };
        let s = Signatures::from_config(&c);
        assert_eq!(s.len(), SIGNATURES.len() + 2);
        assert_eq!(s.find(b"x evildialer/2").map(|i| s.tool(i)), Some("Evil"));
        assert_eq!(s.find(b"zap 1.0").map(|i| s.tool(i)), Some("Zap"));
        assert_eq!(s.find(b"zapper"), None); // short pattern: whole words only
        assert_eq!(
            s.find(b"friendly-scanner").map(|i| s.tool(i)),
            Some("SIPVicious (svmap/svwar/svcrack)")
        );
        let s = Signatures::from_config(&ScannersConfig {
            replace_builtin: true,
            ..c
        });
        assert_eq!(s.len(), 2);
        assert_eq!(s.find(b"friendly-scanner"), None);
        let mut t = ScannerTracker::new(s);
        let a = addr("203.0.113.1:5060");
        t.request(b"EvilDialer", 1, Timestamp(1), a, a);
        assert!(t.findings()[0].summary.starts_with("Evil from 203.0.113.1"));
    }

    #[test]
    fn tables_are_bounded_and_evictions_counted() {
        let flooder = addr("203.0.113.66:5060");
        let dst = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for i in 0..250u64 {
            f.req(i * S / 1000, flooder, dst, "OPTIONS", "x", 1, Some("u"));
        }
        // Then many one-off sources push the flooder out of the table.
        for i in 0..(MAX_SOURCES as u32 + 10) {
            let src = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 5060));
            f.req(S, src, dst, "REGISTER", &format!("r{i}"), 1, Some("u"));
        }
        assert!(f.t.sources.len() <= MAX_SOURCES);
        assert!(f.t.stats.source_evictions > 0);
        assert!(f.t.pending.len() <= MAX_PENDING);
        assert!(f.t.stats.pending_evictions > 0);
        // Its finding was kept when it was evicted.
        let x = f.find(DOS_FLOOD).expect("flood kept");
        assert_eq!(x.src, Some(flooder));
        // Per-source lists are bounded too.
        let mut f = Feed::new();
        // All within a microsecond: nothing is old enough to be pruned.
        for i in 0..(MAX_USERS_PER_SOURCE as u32 + 5) {
            f.req(
                u64::from(i),
                flooder,
                host(i),
                "REGISTER",
                "c",
                i,
                Some(&i.to_string()),
            );
        }
        let s = f.t.sources.get(&flooder.ip()).expect("source");
        assert_eq!(s.users.len(), MAX_USERS_PER_SOURCE);
        assert_eq!(s.targets.len(), MAX_TARGETS_PER_SOURCE);
        assert!(f.t.stats.overflow > 0);
    }

    #[test]
    fn on_message_reads_users_from_sip() {
        let mut t = AttackTracker::default();
        let src = addr("203.0.113.7:5061");
        let pbx = addr("192.0.2.1:5060");
        for u in 0..12 {
            let req = format!(
                "REGISTER sip:192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.7:5061;branch=z9hG4bK{u}\r\n\
                 From: <sip:{u}@192.0.2.1>;tag=a\r\nTo: <sip:{u}@192.0.2.1>\r\nCall-ID: e{u}\r\n\
                 CSeq: 1 REGISTER\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n"
            );
            let m = crate::sip::MessageView::new(
                crate::sip::parse_message(req.as_bytes()).expect("parses"),
            );
            t.on_message(&m, 2 * u + 1, Timestamp(u), src, pbx);
            let resp = format!(
                "SIP/2.0 404 Not Found\r\nVia: SIP/2.0/UDP 203.0.113.7:5061;branch=z9hG4bK{u}\r\n\
                 From: <sip:{u}@192.0.2.1>;tag=a\r\nTo: <sip:{u}@192.0.2.1>;tag=b\r\nCall-ID: e{u}\r\n\
                 CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
            );
            let m = crate::sip::MessageView::new(
                crate::sip::parse_message(resp.as_bytes()).expect("parses"),
            );
            t.on_message(&m, 2 * u + 2, Timestamp(u + 1), pbx, src);
        }
        let f = t.findings();
        let e = f
            .iter()
            .find(|f| f.rule == SCAN_ENUMERATION)
            .expect("enumeration");
        assert!(
            e.summary
                .contains("tried 12 user names that drew 404 ×12, e.g. '0', '1', '2'"),
            "{}",
            e.summary
        );
        assert!(
            e.summary.contains("User-Agent 'friendly-scanner'"),
            "{}",
            e.summary
        );
    }

    #[test]
    fn long_lived_sources_keep_detecting_and_remember_episodes() {
        let pbx = addr("192.0.2.30:5060");
        let carrier = addr("198.51.100.1:5060");
        let mut f = Feed::new();
        // Hours of answered international calls fill the toll list...
        for i in 0..400u64 {
            let cid = format!("ok{i}");
            f.req(
                i * 30 * S,
                pbx,
                carrier,
                "INVITE",
                &cid,
                1,
                Some("+441632960123"),
            );
            f.resp(pbx, &cid, 1, "INVITE", 200);
        }
        assert!(f.find(FRAUD_TOLL).is_none());
        // ...and a burst of failing ones afterwards is still seen.
        for i in 0..6u64 {
            let cid = format!("bad{i}");
            f.req(
                13_000 * S + i * S,
                pbx,
                carrier,
                "INVITE",
                &cid,
                1,
                Some("00972599123456"),
            );
            f.resp(pbx, &cid, 1, "INVITE", 403);
        }
        let x = f.find(FRAUD_TOLL).expect("toll after hours");
        assert!(x.summary.contains("made 6 failed"), "{}", x.summary);
        // An enumeration burst, then hours of other names: the burst is remembered.
        let mut f = svwar(20, &[]);
        let scanner = addr("203.0.113.7:5061");
        let pbx = addr("192.0.2.1:5060");
        for u in 0..(MAX_USERS_PER_SOURCE as u64 + 10) {
            let cid = format!("later{u}");
            f.req(
                100 * S + u * 10 * S,
                scanner,
                pbx,
                "REGISTER",
                &cid,
                1,
                Some(&format!("x{u}")),
            );
            f.resp(scanner, &cid, 1, "REGISTER", 200);
        }
        let s = f.t.sources.get(&scanner.ip()).expect("source");
        assert!(s.users.len() < MAX_USERS_PER_SOURCE);
        let x = f.find(SCAN_ENUMERATION).expect("remembered");
        assert!(x.summary.contains("tried 20 user names"), "{}", x.summary);
        assert_eq!(
            f.rules()
                .iter()
                .filter(|r| **r == "scan.enumeration")
                .count(),
            1
        );
    }

    proptest::proptest! {
        #[test]
        fn international_number_is_total(user in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            if let Some(n) = international_number(&user) {
                proptest::prop_assert!(n.starts_with('+'));
                proptest::prop_assert!(n.len() >= 8);
                proptest::prop_assert!(n[1..].bytes().all(|b| b.is_ascii_digit()));
                proptest::prop_assert!(!n[1..].starts_with('0'));
                proptest::prop_assert!(country_code(&n).len() <= 4);
            }
        }

        #[test]
        fn any_message_order_keeps_tables_bounded(
            events in proptest::collection::vec(
                (0u8..4, 0u64..5_000_000_000, 0u8..6, 0u8..6, 0u16..700), 0..300)
        ) {
            // Out-of-order times, unknown answers, answers without requests: never a panic.
            let mut f = Feed::new();
            for (kind, ns, a, b, status) in events {
                let src = SocketAddr::from(([10, 0, 0, a], 5060));
                let dst = SocketAddr::from(([10, 0, 1, b], 5060));
                let cid = format!("c{b}");
                match kind {
                    0 => f.req(ns, src, dst, "INVITE", &cid, 1, Some("0097259912345")),
                    1 => f.req(ns, src, dst, "REGISTER", &cid, 1, Some(&format!("u{status}"))),
                    2 => f.req(ns, src, dst, "OPTIONS", &cid, 1, None),
                    _ => {
                        let m = if status % 2 == 0 { "INVITE" } else { "REGISTER" };
                        f.resp(src, &cid, 1, m, status);
                    }
                }
            }
            for x in f.t.findings() {
                proptest::prop_assert!(x.evidence.len() <= MAX_EVIDENCE);
            }
            proptest::prop_assert!(f.t.pending.len() <= MAX_PENDING);
        }
    }
}

/// The attack rule family (`scan.*`, `dos.flood`, `fraud.toll`): scanner User-Agents and
/// the per-source sweep, enumeration, flood and toll trackers, fed every message a dialog
/// sees for the first time.
#[derive(Debug, Default)]
pub struct AttackRule {
    scanners: ScannerTracker,
    attack: AttackTracker,
}

impl crate::engine::Rule for AttackRule {
    fn name(&self) -> &'static str {
        "attack"
    }

    fn configure(&mut self, config: &Config) {
        self.scanners = ScannerTracker::new(Signatures::from_config(&config.scanners));
        self.attack = AttackTracker::new(config);
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
                self.scanners.request(ua, s.frame, s.ts, s.src, s.dst);
                stats.scanner_overflow = self.scanners.dropped;
            }
        }
        self.attack.on_message(cx.msg, s.frame, s.ts, s.src, s.dst);
        stats.attack = self.attack.stats;
    }

    fn finish(&self, _an: &crate::engine::Analyzer, out: &mut Vec<Finding>) {
        out.extend(self.scanners.findings());
        out.extend(self.attack.findings());
    }
}
