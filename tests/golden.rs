//! Golden tests: every capture in `samples/` against its stored JSON report, and against the
//! counts tshark gave when the sample was made (`samples/<name>.tshark.json`).
//!
//! A sample's keys (`X.keys`, `X.key.pem`) are given as `--tls-keylog` and `--tls-key`
//! would give them, so TLS samples are compared decrypted, as tshark counted them.
//!
//! Regenerate the golden files after an intended change with
//! `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

use std::path::{Path, PathBuf};

use serde_json::Value;
use siplens::capture;

use siplens::report::Report;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn sample_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".pcap.gz")
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The keys bundled beside a sample: `X.keys` (NSS key log) and `X.key.pem` (RSA key) for
/// `X.pcap`, as `siplens X.pcap --tls-keylog X.keys` reads them.
fn sample_keys(path: &Path) -> siplens::net::tls_decrypt::KeyLog {
    let mut keys = siplens::net::tls_decrypt::KeyLog::new();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.split('.').next().unwrap_or(name);
    let dir = path.parent().expect("sample dir");
    if let Ok(text) = std::fs::read(dir.join(format!("{stem}.keys"))) {
        keys.add_nss(&text, stem).expect("sample key log parses");
    }
    if let Ok(pem) = std::fs::read_to_string(dir.join(format!("{stem}.key.pem"))) {
        keys.add_rsa_pem(&pem, stem).expect("sample RSA key parses");
    }
    keys
}

fn analyse(path: &Path) -> Value {
    let mut src = capture::open_path(path).expect("sample opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.set_tls_keys(sample_keys(path));
    an.run_source(&mut src, &mut |_, _| {});
    let report = Report::build(&an, 0);
    let mut v = serde_json::to_value(&report).expect("serialises");
    // Normalise what legitimately varies between runs and machines.
    v["summary"]["elapsed_ms"] = Value::from(0);
    v["tool"]["version"] = Value::from("x");
    if let Some(inputs) = v["inputs"].as_array_mut() {
        for i in inputs {
            let name = i["name"].as_str().unwrap_or("").to_string();
            let base = Path::new(&name)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            i["name"] = Value::from(base);
        }
    }
    v
}

#[test]
fn samples_match_golden_reports() {
    let files = sample_files();
    assert!(
        files.len() >= 10,
        "expected the bundled samples in {:?}",
        samples_dir()
    );
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let golden = samples_dir().join("golden").join(format!("{name}.json"));
        let got = analyse(f);
        let pretty = serde_json::to_string_pretty(&got).expect("pretty");
        if update {
            std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
            std::fs::write(&golden, pretty + "\n").expect("write golden");
            continue;
        }
        // Compare text, not parsed values: serde_json's default float parsing is not
        // always correctly rounded, the printed form is exact.
        let want = match std::fs::read_to_string(&golden) {
            Ok(s) => s,
            Err(_) => {
                failures.push(format!("{name}: no golden file {golden:?}"));
                continue;
            }
        };
        if want.trim_end() != pretty.trim_end() {
            let first = want
                .lines()
                .zip(pretty.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            failures.push(format!(
                "{name}: report differs from {golden:?} at line {} (run with UPDATE_GOLDEN=1 and diff)",
                first + 1
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn samples_agree_with_tshark_counts() {
    let mut checked = 0;
    for f in sample_files() {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let base = name.trim_end_matches(".gz");
        let counts = samples_dir().join(format!("{base}.tshark.json"));
        let Ok(text) = std::fs::read_to_string(&counts) else {
            continue;
        };
        let want: Value = serde_json::from_str(&text).expect("tshark counts parse");
        let got = analyse(&f);
        let s = &got["summary"];
        assert_eq!(s["packets"], want["frames"], "{name}: frames");
        // tshark 4.0 does not reassemble fragmented WebSocket messages, so the SIP
        // message each carries (one per message, RFC 7118 §5) is missing from its count;
        // scripts/tshark-stats.py counts those messages from tshark's frames.
        let ws_fragmented = want["ws_fragmented_messages"].as_u64().unwrap_or(0);
        assert_eq!(
            s["sip_messages"].as_u64(),
            want["sip_messages"].as_u64().map(|n| n + ws_fragmented),
            "{name}: SIP messages (tshark counts each reassembled message once)"
        );
        assert_eq!(s["dialogs"], want["call_ids"], "{name}: dialogs = Call-IDs");
        assert_eq!(
            s["calls"], want["invite_call_ids"],
            "{name}: INVITE dialogs"
        );
        if let Some(rtp) = want["rtp_packets"].as_u64() {
            assert_eq!(s["rtp_packets"].as_u64(), Some(rtp), "{name}: RTP packets");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} samples had tshark counts");
}
