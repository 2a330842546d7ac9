//! Authentication rules (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760): what each Digest or
//! Basic exchange reveals to whoever sees the traffic.
//!
//! The engine records one [`AuthAttempt`] per request that carried credentials, with the
//! challenge it answered and the final response it got; [`findings`] turns a dialog's
//! attempts into `auth.*` findings.

use crate::engine::{Finding, RuleId, Severity};

pub use crate::model::auth::{AuthAttempt, Scheme, MAX_ATTEMPTS};

/// `auth.digest`: every Digest exchange (info).
pub const DIGEST: RuleId = RuleId("auth.digest");
/// `auth.basic`: Basic credentials sent (high).
pub const BASIC: RuleId = RuleId("auth.basic");
/// `auth.digest-md5`: MD5 or MD5-sess where SHA-256 exists (low).
pub const DIGEST_MD5: RuleId = RuleId("auth.digest-md5");
/// `auth.digest-no-qop`: a response computed without qop (medium).
pub const DIGEST_NO_QOP: RuleId = RuleId("auth.digest-no-qop");
/// `auth.cleartext-transport`: a Digest exchange over a cleartext transport: UDP, TCP,
/// SCTP or WebSocket without TLS (medium). A Digest read from decrypted TLS is not one; it
/// is still an `auth.digest` finding and its hash is still exported for the offline audit.
pub const CLEARTEXT_TRANSPORT: RuleId = RuleId("auth.cleartext-transport");
/// `auth.weak-password`: a Digest response whose password is in the audit wordlist
/// (critical); built by `crate::crack::weak_password_findings`.
pub const WEAK_PASSWORD: RuleId = RuleId("auth.weak-password");

impl AuthAttempt {
    fn is_md5(&self) -> bool {
        match &self.algorithm {
            None => true,
            Some(a) => a.eq_ignore_ascii_case("MD5") || a.eq_ignore_ascii_case("MD5-sess"),
        }
    }

    fn outcome_text(&self) -> String {
        match self.outcome {
            Some((code @ 200..=299, _)) => format!("accepted ({code})"),
            Some((code @ (401 | 407), _)) => format!("rejected: challenged again ({code})"),
            Some((403, _)) => "rejected (403)".to_string(),
            // Other failures (404, 488...) come after authentication, or say nothing of it.
            Some((code, _)) => format!("answered {code}"),
            None => "no answer seen".to_string(),
        }
    }

    fn evidence(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.challenge_frame.into_iter().collect();
        v.push(self.frame);
        v.extend(self.outcome.map(|(_, f)| f));
        v
    }

    fn who(&self) -> String {
        format!(
            "user '{}'{}",
            self.user.as_deref().unwrap_or("?"),
            self.realm
                .as_deref()
                .map(|r| format!(" realm '{r}'"))
                .unwrap_or_default()
        )
    }
}

fn finding(
    rule: RuleId,
    severity: Severity,
    a: &AuthAttempt,
    call_id: &str,
    summary: String,
    advice: &'static str,
) -> Finding {
    Finding::new(rule, severity, a.ts)
        .call(call_id)
        .flow(a.src, a.dst)
        .summary(summary)
        .evidence(a.evidence())
        .advice(advice)
}

/// The `auth.*` findings for one dialog's attempts. `show_secrets` puts Basic passwords in
/// the summary; otherwise the report only says that one was sent.
pub fn findings(call_id: &str, attempts: &[AuthAttempt], show_secrets: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for a in attempts {
        match a.scheme {
            Scheme::Digest => {
                out.push(finding(
                    DIGEST,
                    Severity::Info,
                    a,
                    call_id,
                    format!(
                        "Digest authentication of {} for {} {}: algorithm {}, qop {}, {} over {}",
                        a.who(),
                        a.method,
                        a.uri.as_deref().unwrap_or("?"),
                        a.algorithm.as_deref().unwrap_or("MD5 (default)"),
                        a.qop.as_deref().unwrap_or("none"),
                        a.outcome_text(),
                        a.transport.as_str()
                    ),
                    "Digest proves knowledge of the password without sending it, but a captured \
                     exchange can be attacked offline: use strong passwords, SHA-256 (RFC 8760) and TLS.",
                ));
                if a.qop.is_none() {
                    out.push(finding(
                        DIGEST_NO_QOP,
                        Severity::Medium,
                        a,
                        call_id,
                        format!(
                            "Digest response of {} computed without qop (RFC 2069 mode): no client nonce or counter",
                            a.who()
                        ),
                        "Offer qop=auth in the challenge (RFC 2617 §3.2.1) so that each response \
                         carries a client nonce and counter; refuse responses without qop.",
                    ));
                }
            }
            Scheme::Basic => {
                let secret = match (&a.basic_password, show_secrets) {
                    (Some(p), true) => format!("password '{p}'"),
                    (Some(_), false) => "password hidden, --show-secrets prints it".to_string(),
                    (None, _) => "credentials not decodable".to_string(),
                };
                out.push(finding(
                    BASIC,
                    Severity::High,
                    a,
                    call_id,
                    format!(
                        "Basic credentials of user '{}' sent in {} {} over {} ({secret})",
                        a.user.as_deref().unwrap_or("?"),
                        a.method,
                        a.uri.as_deref().unwrap_or(""),
                        a.transport.as_str()
                    )
                    .replace("  ", " "),
                    "RFC 3261 §22.1 forbids Basic authentication in SIP: the password travels in \
                     the clear. Switch the client to Digest and change the exposed password.",
                ));
            }
            Scheme::Other(_) => {}
        }
    }
    // One per dialog: the same weakness repeated by every retry is one problem.
    let digest: Vec<&AuthAttempt> = attempts
        .iter()
        .filter(|a| a.scheme == Scheme::Digest)
        .collect();
    if let Some(a) = digest.iter().find(|a| a.is_md5()) {
        out.push(finding(
            DIGEST_MD5,
            Severity::Low,
            a,
            call_id,
            format!(
                "Digest of {} uses {}: RFC 8760 defines SHA-256 and SHA-512/256",
                a.who(),
                a.algorithm.as_deref().unwrap_or("MD5 (no algorithm given)")
            ),
            "Offer SHA-256 challenges (RFC 8760) first and keep MD5 only for clients that need it.",
        ));
    }
    if let Some(a) = digest
        .iter()
        .find(|a| super::media::is_cleartext(a.transport))
    {
        out.push(finding(
            CLEARTEXT_TRANSPORT,
            Severity::Medium,
            a,
            call_id,
            format!(
                "Digest exchange of {} over {}: anyone on the path can run an offline dictionary attack",
                a.who(),
                a.transport.as_str()
            ),
            "Carry SIP authentication over TLS (sips:, transport=tls) so the challenge and \
             response cannot be captured.",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::AuthValue;

    fn attempt(header: &[u8]) -> AuthAttempt {
        let v = AuthValue::parse_all(header);
        let mut a = AuthAttempt::from_credentials(&v[0], false);
        a.frame = 4;
        a.challenge_frame = Some(2);
        a.outcome = Some((200, 5));
        a.method = "REGISTER".into();
        a
    }

    #[test]
    fn digest_md5_no_qop_over_udp() {
        let a = attempt(
            br#"Digest username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="0123456789abcdef0123456789abcdef""#,
        );
        let f = findings("c1", &[a], false);
        let rules: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "auth.digest",
                "auth.digest-no-qop",
                "auth.digest-md5",
                "auth.cleartext-transport"
            ]
        );
        assert!(
            f[0].summary.contains("user 'alice' realm 'example.com'"),
            "{}",
            f[0].summary
        );
        assert!(f[0].summary.contains("accepted (200)"), "{}", f[0].summary);
        assert_eq!(f[0].evidence, vec![2, 4, 5]);
    }

    #[test]
    fn sha256_with_qop_only_flags_the_cleartext_hop() {
        let a = attempt(
            br#"Digest username="bob", realm="r", nonce="n", uri="sip:r", response="x", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c""#,
        );
        let f = findings("c2", &[a], false);
        let rules: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["auth.digest", "auth.cleartext-transport"]);
    }

    #[test]
    fn basic_decodes_the_user_and_hides_the_password() {
        // "alice:s3cret"
        let a = attempt(b"Basic YWxpY2U6czNjcmV0");
        assert_eq!(a.user.as_deref(), Some("alice"));
        let f = findings("c3", std::slice::from_ref(&a), false);
        assert_eq!(f[0].rule.as_str(), "auth.basic");
        assert_eq!(f[0].severity, Severity::High);
        assert!(!f[0].summary.contains("s3cret"), "{}", f[0].summary);
        let f = findings("c3", &[a], true);
        assert!(
            f[0].summary.contains("password 's3cret'"),
            "{}",
            f[0].summary
        );
        // Garbage token: no panic, no user.
        let a = attempt(b"Basic %%%");
        assert!(a.user.is_none());
        assert_eq!(findings("c4", &[a], false).len(), 1);
    }
}

/// `auth.bruteforce`: one source with many failed attempts (high).
pub const BRUTEFORCE: RuleId = RuleId("auth.bruteforce");

/// Default number of failed credential attempts from one source that makes a brute force
/// (defined with the other defaults in [`crate::config`]).
pub const DEFAULT_BRUTEFORCE_THRESHOLD: u64 = crate::config::DEFAULT_BRUTEFORCE_THRESHOLD;

/// Users named in a brute-force summary (the count of all of them is given too).
const MAX_USERS_LISTED: usize = 16;

fn failed(a: &AuthAttempt) -> bool {
    matches!(a.outcome, Some((401 | 407 | 403, _)))
}

/// `auth.bruteforce` findings: every source address whose credentials were refused
/// (401/407 again, or 403) at least `threshold` times across all dialogs.
pub fn bruteforce<'a>(
    attempts: impl Iterator<Item = (&'a str, &'a AuthAttempt)>,
    threshold: u64,
) -> Vec<Finding> {
    struct Source<'a> {
        failures: u64,
        users: Vec<&'a str>,
        more_users: bool,
        first: &'a AuthAttempt,
        call_id: &'a str,
        frames: Vec<u64>,
    }
    let mut by_src: std::collections::BTreeMap<std::net::IpAddr, Source<'a>> =
        std::collections::BTreeMap::new();
    for (call_id, a) in attempts.filter(|(_, a)| failed(a)) {
        let s = by_src.entry(a.src.ip()).or_insert_with(|| Source {
            failures: 0,
            users: Vec::new(),
            more_users: false,
            first: a,
            call_id,
            frames: Vec::new(),
        });
        s.failures += 1;
        let user = a.user.as_deref().unwrap_or("?");
        if !s.users.contains(&user) {
            if s.users.len() < MAX_USERS_LISTED {
                s.users.push(user);
            } else {
                s.more_users = true;
            }
        }
        if s.frames.len() < crate::engine::MAX_EVIDENCE {
            s.frames.push(a.frame);
        }
    }
    by_src
        .into_iter()
        .filter(|(_, s)| s.failures >= threshold.max(1))
        .map(|(ip, s)| {
            Finding::new(BRUTEFORCE, Severity::High, s.first.ts)
                .call(s.call_id)
                .flow(s.first.src, s.first.dst)
                .summary(format!(
                    "{} failed authentication attempts from {ip} for user(s) {}{}",
                    s.failures,
                    s.users
                        .iter()
                        .map(|u| format!("'{u}'"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if s.more_users { " and more" } else { "" }
                ))
                .evidence(s.frames)
                .advice(
                    "Someone is guessing passwords: block the source (fail2ban, pike), lock or \
                     rate-limit accounts after repeated failures, and check that the users \
                     tried have strong passwords.",
                )
        })
        .collect()
}

#[cfg(test)]
mod bruteforce_tests {
    use super::*;
    use crate::sip::AuthValue;

    #[test]
    fn threshold_and_users() {
        let mut attempts = Vec::new();
        for i in 0..12u64 {
            let v = AuthValue::parse_all(
                br#"Digest username="u", realm="r", nonce="n", uri="sip:r", response="x""#,
            );
            let mut a = AuthAttempt::from_credentials(&v[0], false);
            a.user = Some(format!("user{}", i % 3));
            a.frame = i + 1;
            a.src = "198.51.100.7:5060".parse().unwrap();
            a.outcome = Some((if i == 11 { 200 } else { 403 }, i + 100));
            attempts.push(a);
        }
        let f = bruteforce(attempts.iter().map(|a| ("c", a)), 10);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].summary
                .starts_with("11 failed authentication attempts from 198.51.100.7"),
            "{}",
            f[0].summary
        );
        assert!(
            f[0].summary.contains("'user0', 'user1', 'user2'"),
            "{}",
            f[0].summary
        );
        assert!(bruteforce(attempts.iter().map(|a| ("c", a)), 12).is_empty());
    }
}

/// `auth.nonce-reuse`: one nonce answered for several requests without the nonce count
/// increasing, or by several clients (medium).
pub const NONCE_REUSE: RuleId = RuleId("auth.nonce-reuse");

/// `auth.nonce-reuse` findings over every Digest attempt of the capture. A server should
/// issue a fresh nonce per challenge, and accept a nonce again only with a higher `nc`
/// (RFC 7616 §3.4): a nonce reused without it, or by another client, lets a captured
/// response be replayed.
pub fn nonce_reuse<'a>(attempts: impl Iterator<Item = (&'a str, &'a AuthAttempt)>) -> Vec<Finding> {
    let mut by_nonce: std::collections::BTreeMap<&'a str, Vec<(&'a str, &'a AuthAttempt)>> =
        std::collections::BTreeMap::new();
    for (cid, a) in attempts.filter(|(_, a)| a.scheme == Scheme::Digest) {
        if let Some(n) = a.nonce.as_deref().filter(|n| !n.is_empty()) {
            let v = by_nonce.entry(n).or_default();
            // The same request seen again on another hop (a proxy relays the credentials)
            // is one use, not two.
            let relayed = v
                .iter()
                .any(|(c, b)| *c == cid && b.cseq == a.cseq && b.method == a.method);
            // Bounded: the evidence list needs no more.
            if !relayed && v.len() < crate::engine::MAX_EVIDENCE {
                v.push((cid, a));
            }
        }
    }
    let mut out = Vec::new();
    for (nonce, uses) in by_nonce {
        let Some(&(cid, first)) = uses.first() else {
            continue;
        };
        if uses.len() < 2 {
            continue;
        }
        let clients: std::collections::BTreeSet<std::net::SocketAddr> =
            uses.iter().map(|(_, a)| a.src).collect();
        // Within each client, nc must grow strictly from one use to the next.
        let stale_nc = clients.iter().any(|c| {
            let ncs: Vec<Option<u32>> = uses
                .iter()
                .filter(|(_, a)| a.src == *c)
                .map(|(_, a)| a.nc)
                .collect();
            ncs.windows(2).any(|w| match (w.first(), w.get(1)) {
                (Some(Some(x)), Some(Some(y))) => y <= x,
                (Some(_), Some(_)) => true,
                _ => false,
            })
        });
        if clients.len() < 2 && !stale_nc {
            continue;
        }
        let short: String = nonce.chars().take(24).collect();
        let why = if clients.len() >= 2 {
            format!("by {} different clients", clients.len())
        } else {
            "without the nonce count increasing".to_string()
        };
        out.push(Finding::new(NONCE_REUSE, Severity::Medium, first.ts)
            .call(cid)
            .flow(first.src, first.dst)
            .summary(format!(
                "Digest nonce '{short}{}' answered {} times {why} (realm {})",
                if nonce.chars().count() > 24 { "…" } else { "" },
                uses.len(),
                first.realm.as_deref().unwrap_or("?")
            ))
            .evidence(uses.iter().map(|(_, a)| a.frame).collect())
            .advice("Issue a fresh nonce with every challenge and accept a nonce again only with qop and a higher nc (RFC 7616 §3.4, §5.5), so a captured response cannot be replayed."));
    }
    out
}

#[cfg(test)]
mod nonce_tests {
    use super::*;
    use crate::sip::AuthValue;

    fn digest(nonce: &str, nc: Option<&str>, src: &str, frame: u64) -> AuthAttempt {
        let h = match nc {
            Some(nc) => format!(
                r#"Digest username="u", realm="r", nonce="{nonce}", uri="sip:r", response="x", qop=auth, nc={nc}, cnonce="c""#
            ),
            None => format!(
                r#"Digest username="u", realm="r", nonce="{nonce}", uri="sip:r", response="x""#
            ),
        };
        let v = AuthValue::parse_all(h.as_bytes());
        let mut a = AuthAttempt::from_credentials(&v[0], false);
        a.src = src.parse().unwrap();
        a.frame = frame;
        // Distinct requests unless a test says otherwise.
        a.cseq = frame as u32;
        a
    }

    #[test]
    fn reuse_rules() {
        let c1 = "192.0.2.1:5060";
        let c2 = "192.0.2.9:5060";
        // Growing nc from one client: fine.
        let ok = [
            digest("n1", Some("00000001"), c1, 1),
            digest("n1", Some("00000002"), c1, 2),
        ];
        assert!(nonce_reuse(ok.iter().map(|a| ("c", a))).is_empty());
        // Same nc twice: replay.
        let same = [
            digest("n2", Some("00000001"), c1, 3),
            digest("n2", Some("00000001"), c1, 4),
        ];
        let f = nonce_reuse(same.iter().map(|a| ("c", a)));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].summary.contains("without the nonce count increasing"),
            "{}",
            f[0].summary
        );
        assert_eq!(f[0].evidence, vec![3, 4]);
        // No qop at all, nonce used twice.
        let noqop = [digest("n3", None, c1, 5), digest("n3", None, c1, 6)];
        assert_eq!(nonce_reuse(noqop.iter().map(|a| ("c", a))).len(), 1);
        // One request relayed by a proxy (same Call-ID, CSeq and method): one use.
        let mut relayed = [digest("n5", None, c1, 9), digest("n5", None, c2, 10)];
        for a in &mut relayed {
            a.cseq = 7;
            a.method = "REGISTER".into();
        }
        assert!(nonce_reuse(relayed.iter().map(|a| ("same-call", a))).is_empty());
        // Two clients, one nonce.
        let two = [
            digest("n4", Some("00000001"), c1, 7),
            digest("n4", Some("00000001"), c2, 8),
        ];
        let f = nonce_reuse(two.iter().map(|a| ("c", a)));
        assert!(
            f[0].summary.contains("by 2 different clients"),
            "{}",
            f[0].summary
        );
    }
}

/// Credential attempts of evicted dialogs kept for the cross-dialog rules (nonce reuse,
/// brute force): a brute force spread over more Call-IDs than the engine holds is still
/// counted.
pub const MAX_EVICTED_ATTEMPTS: usize = 8192;

/// The `auth.*` rule family. The attempts themselves are facts the engine records per
/// dialog ([`crate::engine::Dialog::auth`]); this rule keeps those of evicted dialogs
/// (bounded) so that the cross-dialog findings survive eviction.
#[derive(Debug)]
pub struct AuthRule {
    threshold: u64,
    evicted: Vec<(String, AuthAttempt)>,
    max_evicted: usize,
    dropped: u64,
}

impl Default for AuthRule {
    fn default() -> Self {
        AuthRule {
            threshold: DEFAULT_BRUTEFORCE_THRESHOLD,
            evicted: Vec::new(),
            max_evicted: MAX_EVICTED_ATTEMPTS,
            dropped: 0,
        }
    }
}

impl AuthRule {
    /// The auth rules keeping at most `limits.auth_evicted_attempts` attempts of evicted
    /// dialogs.
    pub fn new(limits: &crate::engine::limits::RuleLimits) -> Self {
        AuthRule {
            max_evicted: limits.auth_evicted_attempts,
            ..AuthRule::default()
        }
    }
}

impl crate::engine::Rule for AuthRule {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn configure(&mut self, config: &crate::config::Config) {
        self.threshold = config.bruteforce.threshold.max(1);
    }

    fn on_message(
        &mut self,
        _cx: &crate::engine::MessageCtx<'_, '_>,
        stats: &mut crate::engine::EngineStats,
    ) {
        // Evictions happen while a message makes room for its dialog: the count is
        // current by the time that message reaches the rules.
        stats.auth_evicted_attempts_dropped = self.dropped;
    }

    fn on_dialog_evicted(
        &mut self,
        d: &crate::engine::Dialog,
        an: &crate::engine::Analyzer,
        out: &mut Vec<Finding>,
    ) {
        out.extend(findings(&d.call_id, d.auth(), an.show_secrets()));
        for a in d.auth() {
            if self.evicted.len() < self.max_evicted {
                self.evicted.push((d.call_id.clone(), a.clone()));
            } else {
                self.dropped += 1;
            }
        }
    }

    fn finish(&self, an: &crate::engine::Analyzer, out: &mut Vec<Finding>) {
        // Only dialogs with credentials make findings: found in one walk of the table,
        // where each of the three uses below walked it (a flood holds tens of thousands
        // of dialogs, few or none with credentials). Same dialogs, same order.
        let with_auth: Vec<&crate::engine::Dialog> =
            an.dialogs().filter(|d| !d.auth().is_empty()).collect();
        let all = || {
            self.evicted.iter().map(|(c, a)| (c.as_str(), a)).chain(
                with_auth
                    .iter()
                    .flat_map(|d| d.auth().iter().map(move |a| (d.call_id.as_str(), a))),
            )
        };
        out.extend(nonce_reuse(all()));
        out.extend(bruteforce(all(), self.threshold));
        for d in &with_auth {
            out.extend(findings(&d.call_id, d.auth(), an.show_secrets()));
        }
    }
}
