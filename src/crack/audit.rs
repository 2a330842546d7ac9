//! From recorded attempts to targets, and from recovered passwords to findings.

use std::net::SocketAddr;

use super::{DigestTarget, Hit, Skip};
use crate::capture::Timestamp;
use crate::engine::{Finding, Severity, MAX_EVIDENCE};
use crate::rules::auth::{AuthAttempt, WEAK_PASSWORD};

/// A target with where it was seen. The same response seen on several hops (a proxy
/// relays the credentials) is one target with several frames.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditTarget {
    /// What to attack.
    pub target: DigestTarget,
    /// Call-ID of the dialog.
    pub call_id: String,
    /// Frames of the requests that carried it (at most [`MAX_EVIDENCE`]).
    pub frames: Vec<u64>,
    /// Time of the first one.
    pub ts: Timestamp,
    /// Client of the first one.
    pub src: SocketAddr,
    /// Server of the first one.
    pub dst: SocketAddr,
    /// Final status the server gave the request (the best one when several carried it).
    pub outcome: Option<u16>,
}

impl AuditTarget {
    /// True when the server refused these credentials (401/407 again, or 403): a
    /// password recovered from it is a guess that failed, not the account's password.
    pub fn rejected(&self) -> bool {
        matches!(self.outcome, Some(401 | 403 | 407))
    }
}

/// A Digest response left out of the audit: its frame, its user and why.
pub type Skipped = (u64, Option<String>, Skip);

/// An account: username and realm.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Account {
    /// Username.
    pub user: String,
    /// Realm.
    pub realm: String,
}

/// Builds the targets of `(call_id, attempt)` pairs, merging identical responses. The
/// second list names each Digest response that cannot be attacked (frame, user, why);
/// Basic and other schemes are left out silently.
pub fn targets_of<'a>(
    attempts: impl Iterator<Item = (&'a str, &'a AuthAttempt)>,
) -> (Vec<AuditTarget>, Vec<Skipped>) {
    let mut out: Vec<AuditTarget> = Vec::new();
    let mut index: std::collections::HashMap<DigestTarget, usize> = Default::default();
    let mut skipped = Vec::new();
    for (call_id, a) in attempts {
        match DigestTarget::from_attempt(a) {
            Ok(t) => match index.get(&t).and_then(|&i| out.get_mut(i)) {
                Some(known) => {
                    if known.frames.len() < MAX_EVIDENCE && !known.frames.contains(&a.frame) {
                        known.frames.push(a.frame);
                    }
                    // A relayed copy may show the answer the first hop's copy lacked.
                    if known.outcome.is_none() || known.rejected() {
                        known.outcome = a.outcome.map(|(s, _)| s).or(known.outcome);
                    }
                }
                None => {
                    index.insert(t.clone(), out.len());
                    out.push(AuditTarget {
                        target: t,
                        call_id: call_id.to_string(),
                        frames: vec![a.frame],
                        ts: a.ts,
                        src: a.src,
                        dst: a.dst,
                        outcome: a.outcome.map(|(s, _)| s),
                    });
                }
            },
            Err(Skip::NotDigest) => {}
            Err(why) => skipped.push((a.frame, a.user.clone(), why)),
        }
    }
    (out, skipped)
}

/// One `auth.weak-password` finding (critical) per account whose password the wordlist
/// held (responses the server refused do not count: they prove only a wrong guess), naming the account, realm, algorithm and frames; the password itself only with
/// `show_secrets`.
pub fn weak_password_findings(
    targets: &[AuditTarget],
    hits: &[Hit],
    show_secrets: bool,
) -> Vec<Finding> {
    let mut by_account: std::collections::BTreeMap<Account, Vec<(&AuditTarget, &[u8])>> =
        Default::default();
    for h in hits {
        // A refused response only shows what a client (often a password guesser) tried.
        if let Some(t) = targets.get(h.target).filter(|t| !t.rejected()) {
            let key = Account {
                user: t.target.user.clone(),
                realm: t.target.realm.clone(),
            };
            by_account
                .entry(key)
                .or_default()
                .push((t, h.password.as_slice()));
        }
    }
    let mut out = Vec::new();
    for (acct, found) in by_account {
        let Some(&(first, _)) = found.first() else {
            continue;
        };
        let mut algorithms: Vec<&str> = found
            .iter()
            .map(|(t, _)| t.target.algorithm.as_str())
            .collect();
        algorithms.dedup();
        let mut passwords: Vec<String> = found
            .iter()
            .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
            .collect();
        passwords.sort();
        passwords.dedup();
        let mut frames: Vec<u64> = found
            .iter()
            .flat_map(|(t, _)| t.frames.iter().copied())
            .collect();
        frames.sort_unstable();
        frames.dedup();
        frames.truncate(MAX_EVIDENCE);
        let secret = if show_secrets {
            let quoted: Vec<String> = passwords.iter().map(|p| format!("'{p}'")).collect();
            format!("password {}", quoted.join(", "))
        } else {
            "password hidden, --show-secrets prints it".to_string()
        };
        out.push(Finding::new(WEAK_PASSWORD, Severity::Critical, first.ts)
            .call(first.call_id.clone())
            .flow(first.src, first.dst)
            .summary(format!(
                "Password of user '{}' realm '{}' recovered from {} captured Digest response(s) ({}) with the wordlist ({secret})",
                acct.user,
                acct.realm,
                found.len(),
                algorithms.join(", ")
            ))
            .evidence(frames)
            .advice("Anyone who captured this exchange knows the password: change it now to a \
                     strong, unique one (long and random), block password guessing (fail2ban, \
                     pike) and carry SIP over TLS so responses cannot be captured."));
    }
    out
}
