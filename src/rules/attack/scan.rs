//! `scan.user-agent` (scanner tools by their User-Agent) and `scan.sweep` (one source
//! probing many destinations).

use super::*;

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
    limits: crate::engine::limits::RuleLimits,
    /// Sightings not recorded because the table was full.
    pub dropped: u64,
    /// The last User-Agent looked up and its signature: a capture repeats a handful of
    /// User-Agents, and matching one against the table (lower-casing, eleven searches)
    /// cost 2,900 instructions a request. Compared in full, so the answer is the table's.
    last: Option<(Vec<u8>, Option<usize>)>,
}

impl ScannerTracker {
    /// A tracker matching `signatures` (the default tracker uses the built-in table).
    pub fn new(signatures: Signatures) -> Self {
        ScannerTracker {
            signatures,
            seen: BTreeMap::new(),
            limits: crate::engine::limits::RuleLimits::default(),
            dropped: 0,
            last: None,
        }
    }

    /// Bounds the sightings kept by `limits.scanners` instead of [`MAX_SCANNERS`].
    pub fn set_limits(&mut self, limits: &crate::engine::limits::RuleLimits) {
        self.limits = limits.clone();
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
        let found = match &mut self.last {
            Some((ua, sig)) if ua.as_slice() == user_agent => *sig,
            last => {
                let sig = self.signatures.find(user_agent);
                match last {
                    // Reuse the buffer: no allocation per new User-Agent.
                    Some((ua, s)) => {
                        ua.clear();
                        ua.extend_from_slice(user_agent);
                        *s = sig;
                    }
                    None => *last = Some((user_agent.to_vec(), sig)),
                }
                sig
            }
        };
        let Some(sig) = found else {
            return;
        };
        let key = (src.ip(), sig);
        if !self.seen.contains_key(&key) && self.seen.len() >= self.limits.scanners.max(1) {
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

/// `scan.sweep`: the densest window of distinct destinations one source probed.
pub(super) fn sweep(
    ip: IpAddr,
    s: &SourceState,
    th: &Thresholds,
    methods: &str,
    ua: &str,
) -> Option<(usize, Finding)> {
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
        return Some((
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
    None
}
