//! ICMP errors quoting SIP, cross-checked with tshark on every sample: the messages
//! siplens counts as undelivered are the ICMP frames tshark dissects SIP in, and each
//! `sip.undelivered` finding cites exactly those frames.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use siplens::capture;

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("samples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    v
}

/// (undelivered SIP messages counted, frames cited by `sip.undelivered` findings).
fn siplens(path: &Path) -> (u64, BTreeSet<u64>) {
    let mut src = capture::open_path(path).expect("sample opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    let frames = an
        .findings()
        .into_iter()
        .filter(|f| f.rule.0 == "sip.undelivered")
        .flat_map(|f| f.evidence)
        .collect();
    (an.stats().sip_undelivered, frames)
}

#[test]
fn undelivered_messages_are_the_icmp_errors_tshark_finds_sip_in() {
    // Independent of tshark: the SIPVicious sample has the unreachable hosts' errors.
    let attack = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/sipvicious-attack.pcap");
    let (n, frames) = siplens(&attack);
    assert_eq!(n, 8);
    assert_eq!(frames.len(), 8);

    if !common::tool(
        "tshark",
        "-v",
        "undelivered_messages_are_the_icmp_errors_tshark_finds_sip_in",
    ) {
        return;
    }
    let mut with_errors = 0;
    for path in samples() {
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&path)
            .args([
                "-Y",
                "(icmp.type == 3 || icmpv6.type == 1) && sip",
                "-T",
                "fields",
                "-e",
                "frame.number",
            ])
            .output()
            .expect("tshark runs");
        assert!(out.status.success(), "tshark failed on {}", path.display());
        let want: BTreeSet<u64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let (n, frames) = siplens(&path);
        assert_eq!(
            n,
            want.len() as u64,
            "{}: undelivered count",
            path.display()
        );
        assert_eq!(frames, want, "{}: frames cited", path.display());
        with_errors += usize::from(!want.is_empty());
    }
    assert!(
        with_errors >= 2,
        "only {with_errors} samples have ICMP errors quoting SIP"
    );
}
