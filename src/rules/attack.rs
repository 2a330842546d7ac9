//! Attack rules: known scanner signatures in User-Agent headers (`scan.user-agent`).
//!
//! The engine feeds every request's User-Agent to a [`ScannerTracker`], which keeps one
//! small record per (source address, tool); [`ScannerTracker::findings`] reports them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use crate::capture::Timestamp;
use crate::engine::{Finding, RuleId, Severity, MAX_EVIDENCE};

/// `scan.user-agent`: a request from a known SIP scanner or attack tool (high).
pub const SCAN_USER_AGENT: RuleId = RuleId("scan.user-agent");

/// Scanner signatures: (case-insensitive substring of User-Agent, tool). Documented in the
/// README; every entry is a tool whose default User-Agent is seen in scans on the Internet.
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

/// The tool whose signature `user_agent` carries, if any.
pub fn scanner(user_agent: &[u8]) -> Option<&'static str> {
    // Runs on every request: lower-case into a stack buffer, no allocation.
    let mut buf = [0u8; 256];
    let n = user_agent.len().min(buf.len());
    let ua = buf.get_mut(..n)?;
    for (d, s) in ua.iter_mut().zip(user_agent) {
        *d = s.to_ascii_lowercase();
    }
    let ua: &[u8] = ua;
    SIGNATURES.iter().find_map(|(sig, tool)| {
        let sig = sig.as_bytes();
        let hit = if sig == b"smap" {
            // Short: only as a whole word, so "bismap" or "smapper" do not match.
            ua.split(|c| !c.is_ascii_alphanumeric()).any(|w| w == sig)
        } else {
            memchr::memmem::find(ua, sig).is_some()
        };
        hit.then_some(*tool)
    })
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

/// Scanner sightings, keyed by source address and tool.
#[derive(Debug, Clone, Default)]
pub struct ScannerTracker {
    seen: BTreeMap<(IpAddr, &'static str), ScanRecord>,
    /// Sightings not recorded because the table was full.
    pub dropped: u64,
}

impl ScannerTracker {
    /// Records one request; cheap when the User-Agent is not a scanner's.
    pub fn request(
        &mut self,
        user_agent: &[u8],
        frame: u64,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
    ) {
        let Some(tool) = scanner(user_agent) else {
            return;
        };
        let key = (src.ip(), tool);
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
            .map(|((ip, tool), r)| Finding {
                rule: SCAN_USER_AGENT,
                severity: Severity::High,
                ts: r.first,
                call_id: None,
                src: Some(SocketAddr::new(*ip, 0)),
                dst: Some(r.first_dst),
                summary: format!(
                    "{tool} from {ip}: {} request(s) to {}{} target(s), User-Agent '{}'",
                    r.requests,
                    r.targets.len(),
                    if r.targets.len() >= MAX_TARGETS {
                        "+"
                    } else {
                        ""
                    },
                    r.user_agent
                ),
                evidence: r.frames.clone(),
                advice: "A SIP scanner is probing for accounts and weak passwords: block the \
                         source, rate-limit unauthenticated requests (pike/fail2ban), and make \
                         sure every account has a strong password."
                    .to_string(),
            })
            .collect()
    }
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
