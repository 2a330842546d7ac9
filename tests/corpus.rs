//! Every public capture in the shared corpus through the whole engine: no panic, and the SIP
//! message, dialog and call counts that tshark found (MANIFEST.md §1, column
//! "SIP msgs / dialogs") are found again.
//!
//! Skips with a notice when the corpus is absent (the README's `cargo test` must pass
//! without it); CI has it.

use std::path::{Path, PathBuf};

use siplens::capture;
use siplens::engine::Analyzer;
use siplens::report::Report;

fn corpus() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    [local, PathBuf::from("/work/shared/corpus")]
        .into_iter()
        .find(|p| p.join("MANIFEST.md").is_file())
}

/// Captures whose SIP is carried in something this version does not decode yet; tshark's
/// count for them is not comparable. Each names the reason.
const NOT_YET: &[(&str, &str)] = &[];

/// Captures where siplens deliberately differs from tshark: (name, expected counts, why).
const DIFFERENT: &[(&str, (u64, u64, u64), &str)] = &[
    (
        "ndpi__http_on_sip_port.pcap",
        (0, 0, 0),
        "tshark dissects HTTP on port 5060 as SIP by port; siplens requires a SIP start line",
    ),
    (
        "hep-wireshark__hep.pcap",
        (6, 1, 1),
        "tshark 4.0 has no HEP dissector (MANIFEST gives HEP packet counts); the SIP inside \
         as sngrep -E decapsulates it: 6 messages, one Call-ID, an INVITE",
    ),
];

/// Parses "16 / 2 (1 INVITE)" or "0" into (messages, dialogs, invite dialogs).
fn parse_counts(cell: &str) -> Option<Counts> {
    let cell = cell.trim();
    if cell == "0" {
        return Some((0, 0, 0));
    }
    let (msgs, rest) = cell.split_once('/')?;
    let rest = rest.trim();
    let (dialogs, inv) = rest.split_once('(')?;
    let invites = inv.split_whitespace().next()?;
    Some((
        msgs.trim().parse().ok()?,
        dialogs.trim().parse().ok()?,
        invites.parse().ok()?,
    ))
}

/// (SIP messages, dialogs, INVITE dialogs) as tshark counted them.
type Counts = (u64, u64, u64);

fn manifest_rows(dir: &Path) -> Vec<(String, Option<Counts>)> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.md")).expect("MANIFEST readable");
    text.lines()
        .filter(|l| l.starts_with("| `") && l.contains(".pcap"))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('|').collect();
            let name = cols.get(1)?.trim().trim_matches('`').to_string();
            if !name.ends_with(".pcap") && !name.ends_with(".pcapng") {
                return None;
            }
            Some((name, cols.get(6).and_then(|c| parse_counts(c))))
        })
        .collect()
}

#[test]
fn counts_match_tshark_on_every_public_capture() {
    let Some(dir) = corpus() else {
        println!("NOTICE: ../shared/corpus not found; corpus test skipped");
        return;
    };
    let rows = manifest_rows(&dir);
    assert!(rows.len() >= 30, "MANIFEST table not found");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, counts) in rows {
        let path = dir.join("pcaps").join(&name);
        if !path.is_file() {
            continue;
        }
        let mut src = capture::open_path(&path).expect("corpus capture opens");
        let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
        let info = an.run_source(&mut src, &mut |_, _| {});
        assert!(info.warning.is_none(), "{name}: {:?}", info.warning);
        let report = Report::build(&an, 0);
        let s = &report.summary;
        if NOT_YET.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let counts = DIFFERENT
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, c, _)| *c)
            .or(counts);
        let Some((msgs, dialogs, calls)) = counts else {
            continue;
        };
        let got = (s.sip_messages, s.dialogs, s.calls);
        if got != (msgs, dialogs, calls) {
            failures.push(format!(
                "{name}: siplens (messages, dialogs, calls) = {got:?}, tshark = {:?}",
                (msgs, dialogs, calls)
            ));
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} captures compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rtp_and_malformed_expectations_on_known_captures() {
    let Some(dir) = corpus() else {
        println!("NOTICE: ../shared/corpus not found; corpus test skipped");
        return;
    };
    let run = |name: &str| {
        let mut src = capture::open_path(&dir.join("pcaps").join(name)).expect("opens");
        let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
        an.run_source(&mut src, &mut |_, _| {});
        an
    };
    // MANIFEST: ~248 RTP + 2 RTCP packets, one call with 100rel/PRACK.
    let an_rtp_protocol = run("goffinet__RTP-Protocol.pcap");
    let r = Report::build(&an_rtp_protocol, 0);
    assert_eq!(r.summary.rtp_packets, 248);
    assert_eq!(r.summary.rtcp_packets, 2);
    assert_eq!(
        r.dialogs[0].rtcp_packets, 2,
        "RTCP bound to the call by its SDP"
    );
    assert_eq!(r.streams.len(), 2);
    assert!(r.streams.iter().all(|s| s.call_id.is_some() && s.announced));
    assert_eq!(r.dialogs[0].state, "completed");
    // Non-numeric Content-Length (zeek) is malformed, reported with a reason.
    let an_invalid_content_length = run("zeek__invalid-content-length.pcap");
    let r = Report::build(&an_invalid_content_length, 0);
    // (transport.cleartext-sip findings aside: every capture in clear has them.)
    let malformed: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule != "transport.cleartext-sip")
        .collect();
    assert_eq!(malformed.len(), 2);
    assert!(malformed.iter().all(|f| f.rule == "sip.malformed"));
    assert!(
        malformed[0].summary.contains("Content-Length"),
        "{}",
        malformed[0].summary
    );
    // HTTP on port 5060 is not SIP and not malformed SIP.
    let an_http_on_sip_port = run("ndpi__http_on_sip_port.pcap");
    let r = Report::build(&an_http_on_sip_port, 0);
    assert_eq!(r.summary.sip_messages, 0);
    assert!(r.findings.is_empty());
    // IPv6 fragments reassembled into the INVITE (sngrep's sample).
    let an_ipv6frag = run("sngrep__ipv6frag.pcap");
    let r = Report::build(&an_ipv6frag, 0);
    assert!(r.summary.net.datagrams_reassembled > 0);
    assert_eq!(r.dialogs[0].method, "INVITE");
    // sngrep's aaa.pcap: two users re-challenged 8 times from one phone.
    let mut src = capture::open_path(&dir.join("pcaps/sngrep__aaa.pcap")).expect("opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    let brute = |an: &Analyzer| {
        Report::build(an, 0)
            .findings
            .iter()
            .filter(|f| f.rule == "auth.bruteforce")
            .map(|f| f.summary.clone())
            .collect::<Vec<_>>()
    };
    assert!(brute(&an).is_empty(), "default threshold 10");
    an.set_bruteforce_threshold(3);
    let b = brute(&an);
    assert_eq!(b.len(), 1);
    assert!(
        b[0].starts_with("8 failed authentication attempts from 192.168.1.2"),
        "{}",
        b[0]
    );
    // Asterisk accepting one nonce for INVITE, ACK and BYE without qop: replayable.
    let an_b2bua = run("goffinet__sip-2phones-B2BUA-Asterisk.pcapng");
    let r = Report::build(&an_b2bua, 0);
    let reuse: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "auth.nonce-reuse")
        .collect();
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0].evidence, vec![22, 36, 404]);
    // 64 KiB body over TCP, reassembled from many segments.
    let an_sip_body_large = run("suricata-verify__sip-body-large.pcap");
    let r = Report::build(&an_sip_body_large, 0);
    assert_eq!(r.summary.sip_messages, 2);
    assert_eq!(r.dialogs[0].transport, "TCP");
}

/// HEPv3 in a capture (hepgen's sample, UDP 9060): the SIP inside is decapsulated with the
/// envelope's addresses, time, capture id and agent. Cross-checked with sngrep 1.6
/// (`sngrep -N -q -E -I hep.pcap -O out.pcap`, then tshark on out.pcap): 6 SIP messages,
/// Call-ID qgf3dm9rudi@127.0.0.1, 192.168.1.1:5060 <-> 192.168.1.2:5060, first at
/// 1481455196.000100; plus a log line (type 100) and an RTCP report as JSON (type 5).
#[test]
fn hep_capture_is_decapsulated() {
    let Some(dir) = corpus() else {
        println!("NOTICE: ../shared/corpus not found; corpus test skipped");
        return;
    };
    let mut src = capture::open_path(&dir.join("pcaps/hep-wireshark__hep.pcap")).expect("opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    let net = an.net_stats();
    assert_eq!(
        (net.hep_packets, net.hep_malformed, net.hep_other),
        (8, 0, 2)
    );
    let r = Report::build(&an, 0);
    assert_eq!(r.summary.sip_messages, 6);
    assert_eq!(r.dialogs.len(), 1);
    let d = &r.dialogs[0];
    assert_eq!(d.call_id, "qgf3dm9rudi@127.0.0.1");
    assert_eq!(d.method, "INVITE");
    assert_eq!(d.src.to_string(), "192.168.1.1:5060");
    assert_eq!(d.dst.to_string(), "192.168.1.2:5060");
    let flow: Vec<_> = d.flow.entries().collect();
    let labels: Vec<_> = flow.iter().map(|e| e.label).collect();
    assert_eq!(labels.len(), 6, "{labels:?}");
    assert!(
        labels[0].starts_with("INVITE") && labels[5].starts_with("PUBLISH"),
        "{labels:?}"
    );
    assert_eq!(flow[0].frame, 1);
    assert!(
        (flow[0].ts - 1_481_455_196.000_1).abs() < 1e-6,
        "{}",
        flow[0].ts
    );
    for e in &flow {
        let h = e.hep.expect("HEP envelope kept");
        assert_eq!(h.version, 3);
        assert_eq!(h.capture_id, Some(2001));
        assert_eq!(h.agent.to_string(), "127.0.0.1:51160");
    }
    // The report carries it per message, additively.
    let mut json = Vec::new();
    r.write_json(&mut json, false).expect("json");
    let v: serde_json::Value = serde_json::from_slice(&json).expect("valid json");
    assert_eq!(v["dialogs"][0]["flow"][0]["hep"]["capture_id"], 2001);
    assert_eq!(
        v["dialogs"][0]["flow"][0]["hep"]["agent"],
        "127.0.0.1:51160"
    );
}
