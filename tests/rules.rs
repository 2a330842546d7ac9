//! One golden check per finding id: a bundled capture made by real programs that must fire
//! it, and one that must not. The full reports are pinned by `tests/golden.rs`; this table
//! says which sample proves which rule, so a rule that silently stops firing (or starts
//! firing on clean traffic) fails with its own name.

use std::collections::BTreeMap;
use std::path::Path;

use siplens::capture;
use siplens::engine::Severity;

/// (rule, sample that fires it, sample that must not).
const RULES: &[(&str, &str, &str)] = &[
    ("auth.digest", "kamailio-auth.pcap", "basic-call-rtp.pcap"),
    ("auth.basic", "register-basic.pcap", "kamailio-auth.pcap"),
    (
        "auth.digest-md5",
        "kamailio-auth.pcap",
        "register-basic.pcap",
    ),
    (
        "auth.digest-no-qop",
        "register-digest-noqop.pcap",
        "register-digest.pcap",
    ),
    (
        "auth.cleartext-transport",
        "kamailio-auth.pcap",
        "clean-tls-srtp.pcap",
    ),
    (
        "auth.bruteforce",
        "sipvicious-attack.pcap",
        "kamailio-auth.pcap",
    ),
    (
        "media.cleartext-rtp",
        "basic-call-rtp.pcap",
        "sdes-call-udp.pcap",
    ),
    (
        "media.dtmf-exposed",
        "dtmf-rfc4733.pcap",
        "basic-call-rtp.pcap",
    ),
    (
        "media.dtmf-exposed",
        "dtmf-info.pcap",
        "clean-tls-srtp.pcap",
    ),
    (
        "media.sdes-key-exposed",
        "sdes-call-udp.pcap",
        "basic-call-rtp.pcap",
    ),
    ("media.srtp", "sdes-call-udp.pcap", "basic-call-rtp.pcap"),
    (
        "transport.cleartext-sip",
        "basic-call-rtp.pcap",
        "clean-tls-srtp.pcap",
    ),
    (
        "transport.sips-downgrade",
        "sips-identity-smime.pcap",
        "basic-call-rtp.pcap",
    ),
    ("transport.tls", "tls-srtp-call.pcap", "basic-call-rtp.pcap"),
    (
        "transport.tls-weak",
        "tls-srtp-call.pcap",
        "clean-tls-srtp.pcap",
    ),
    (
        "e2e.identity",
        "sips-identity-smime.pcap",
        "basic-call-rtp.pcap",
    ),
    (
        "e2e.smime",
        "sips-identity-smime.pcap",
        "basic-call-rtp.pcap",
    ),
    (
        "scan.user-agent",
        "scanner-svmap.pcap",
        "kamailio-auth.pcap",
    ),
    (
        "scan.sweep",
        "sipvicious-attack.pcap",
        "options-keepalive.pcap",
    ),
    (
        "scan.enumeration",
        "sipvicious-attack.pcap",
        "kamailio-auth.pcap",
    ),
    (
        "dos.flood",
        "toll-fraud-flood.pcap",
        "options-keepalive.pcap",
    ),
    ("fraud.toll", "toll-fraud-flood.pcap", "basic-call-rtp.pcap"),
    ("nat.stun", "stun-binding.pcap", "basic-call-rtp.pcap"),
    // NAT: real captures through an nftables masquerade (wan side unless named -lan).
    (
        "nat.via-mismatch",
        "nat-latching-wan.pcap",
        "public-call.pcap",
    ),
    (
        "nat.rport-missing",
        "nat-no-rport-wan.pcap",
        "nat-latching-wan.pcap",
    ),
    (
        "nat.contact-private",
        "nat-latching-wan.pcap",
        "public-call.pcap",
    ),
    (
        "nat.contact-private",
        "nat-latching-lan.pcap",
        "basic-call-rtp.pcap",
    ),
    (
        "nat.sdp-private",
        "nat-one-way-wan.pcap",
        "public-call.pcap",
    ),
    (
        "nat.media-latching",
        "nat-latching-wan.pcap",
        "public-call.pcap",
    ),
    (
        "media.one-way",
        "nat-one-way-wan.pcap",
        "nat-latching-wan.pcap",
    ),
    (
        "media.one-way",
        "nat-one-way-lan.pcap",
        "nat-latching-lan.pcap",
    ),
    (
        "nat.register-expiry",
        "nat-register-expiry-wan.pcap",
        "register-digest.pcap",
    ),
    (
        "nat.ack-timeout",
        "nat-ack-timeout-wan.pcap",
        "public-call.pcap",
    ),
    (
        "nat.ack-timeout",
        "nat-ack-timeout-lan.pcap",
        "nat-latching-wan.pcap",
    ),
    ("media.no-rtp", "nat-no-rtp.pcap", "public-call.pcap"),
];

/// A clean call between public hosts through the same kamailio: nothing NAT-related above
/// info (`nat.*`, `media.one-way`, `media.no-rtp`).
#[test]
fn public_call_has_no_nat_trouble() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/public-call.pcap");
    let mut src = capture::open_path(&path).expect("sample");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    let loud: Vec<String> = an
        .findings()
        .into_iter()
        .filter(|f| {
            (f.rule.0.starts_with("nat.")
                || f.rule.0.starts_with("media.one-way")
                || f.rule.0 == "media.no-rtp")
                && f.severity > Severity::Info
        })
        .map(|f| f.summary)
        .collect();
    assert!(loud.is_empty(), "{loud:?}");
}

/// Findings of one sample, counted by rule, and the most severe one.
fn rules_of(name: &str) -> (BTreeMap<String, usize>, Option<Severity>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    let mut src = capture::open_path(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    let mut by_rule = BTreeMap::new();
    let mut worst = None;
    for f in an.findings() {
        *by_rule.entry(f.rule.0.to_string()).or_insert(0) += 1;
        worst = worst.max(Some(f.severity));
    }
    (by_rule, worst)
}

#[test]
fn every_rule_fires_on_its_sample_and_not_on_its_clean_one() {
    let mut cache: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    let mut failures = Vec::new();
    for (rule, fires, clean) in RULES {
        for (sample, want) in [(fires, true), (clean, false)] {
            let found = cache
                .entry(sample)
                .or_insert_with(|| rules_of(sample).0)
                .contains_key(*rule);
            if found != want {
                failures.push(format!(
                    "{rule}: {} on {sample}",
                    if want { "missing" } else { "fired" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn clean_capture_has_nothing_above_low() {
    // TLS-protected signaling, SRTP media and strong authentication: what a well-run
    // deployment looks like must not raise an alarm.
    let (by_rule, worst) = rules_of("clean-tls-srtp.pcap");
    assert!(
        worst.is_none_or(|s| s < Severity::Medium),
        "clean capture raised {worst:?}: {by_rule:?}"
    );
}

/// `auth.weak-password` needs a wordlist, so it is checked apart: the bundled wordlist
/// holds alice's `password1` (kamailio-auth) and extension 101's `dragon` (svcrack's
/// find), not bob's or carol's random passwords.
#[test]
fn weak_passwords_of_the_samples_fall_to_the_bundled_wordlist() {
    use siplens::crack::{self, Cracker};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let words = std::fs::read(dir.join("wordlist.txt")).expect("wordlist");
    let weak = |name: &str| -> Vec<String> {
        let mut src = capture::open_path(&dir.join(name)).expect("sample");
        let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
        an.run_source(&mut src, &mut |_, _| {});
        let (targets, _) = crack::targets_of(
            an.dialogs()
                .flat_map(|d| d.auth().iter().map(move |a| (d.call_id.as_str(), a))),
        );
        let list: Vec<crack::DigestTarget> = targets.iter().map(|t| t.target.clone()).collect();
        let outcome = Cracker::new(&list).run(&words, 2, &Default::default());
        crack::weak_password_findings(&targets, &outcome.hits, true)
            .into_iter()
            .inspect(|f| assert_eq!(f.rule.0, "auth.weak-password"))
            .map(|f| f.summary)
            .collect()
    };
    let kam = weak("kamailio-auth.pcap");
    assert_eq!(kam.len(), 1, "{kam:?}");
    assert!(
        kam[0].contains("'alice'") && kam[0].contains("'password1'"),
        "{kam:?}"
    );
    let sv = weak("sipvicious-attack.pcap");
    assert_eq!(sv.len(), 1, "{sv:?}");
    assert!(
        sv[0].contains("'101'") && sv[0].contains("'dragon'"),
        "{sv:?}"
    );
    assert!(weak("clean-tls-srtp.pcap").is_empty());
}
