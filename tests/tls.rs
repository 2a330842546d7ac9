//! SIP over TLS through the whole engine: handshake captures made by
//! scripts/make-tls-fixtures.sh.

use std::path::Path;

use siplens::capture;
use siplens::engine::{Analyzer, Severity};

fn analyse(name: &str) -> Analyzer {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let mut src = capture::open_path(&path).expect("fixture opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    let info = an.run_source(&mut src, &mut |_, _| {});
    assert!(info.warning.is_none(), "{name}: {:?}", info.warning);
    an
}

#[test]
fn self_signed_tls12_session_reported_with_weakness() {
    let an = analyse("tls12-selfsigned.pcap");
    let f = an.findings();
    let tls: Vec<_> = f
        .iter()
        .filter(|f| f.rule.as_str().starts_with("transport.tls"))
        .collect();
    assert_eq!(tls.len(), 2, "{tls:#?}");
    let weak = tls
        .iter()
        .find(|f| f.rule.as_str() == "transport.tls-weak")
        .unwrap();
    assert_eq!(weak.severity, Severity::Medium);
    assert!(weak.summary.contains("self-signed"), "{}", weak.summary);
    assert_eq!(weak.dst.map(|a| a.port()), Some(5061));
    assert_eq!(weak.evidence.first(), Some(&4));
    // The TLS bytes are not mistaken for broken SIP.
    assert_eq!(an.stats().sip_messages, 0);
    assert_eq!(an.stats().tls_sessions, 1);
    assert_eq!(an.net_stats().tls_streams, 2);
    assert_eq!(an.net_stats().tcp_non_sip_streams, 0);
}

#[test]
fn tls13_session_is_info_only() {
    let an = analyse("tls13-alpn.pcap");
    let rules: Vec<_> = an.findings().iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["transport.tls"]);
    assert!(an.net_stats().tls_app_records > 0);
}
