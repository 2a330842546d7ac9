//! SIP over TLS decrypted with keys: the bundled TLS 1.3 and TLS 1.2 samples (made by SIPp,
//! Kamailio and stunnel, keys logged by OpenSSL) against tshark given the same keys, frame
//! by frame; a wrong key log, no keys, keys inside a pcapng, an RSA key; the findings of
//! decrypted SIP; damaged records; export of decrypted calls.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use siplens::capture;
use siplens::engine::Analyzer;
use siplens::net::tls_decrypt::KeyLog;
use siplens::net::Transport;
use siplens::report::Report;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn keylog(name: &str) -> KeyLog {
    let mut k = KeyLog::new();
    let text = std::fs::read(sample(name)).expect("key log");
    k.add_nss(&text, name).expect("key log parses");
    k
}

fn rsa(name: &str) -> KeyLog {
    let mut k = KeyLog::new();
    let pem = std::fs::read_to_string(sample(name)).expect("key");
    k.add_rsa_pem(&pem, name).expect("key parses");
    k
}

fn analyze(path: &Path, keys: KeyLog) -> Analyzer {
    let mut src = capture::open_path(path).expect("capture opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.set_tls_keys(keys);
    let info = an.run_source(&mut src, &mut |_, _| {});
    assert!(info.warning.is_none(), "{:?}", info.warning);
    an
}

fn report(an: &Analyzer) -> Value {
    serde_json::to_value(Report::build(an, 0)).expect("json")
}

fn tls_stats(an: &Analyzer) -> Value {
    report(an)["summary"]["net"]["tls_decrypt"].clone()
}

/// Frame numbers of the SIP messages siplens recorded (a frame once per message), with
/// the transports seen.
fn message_frames(an: &Analyzer) -> (Vec<u64>, BTreeMap<&'static str, usize>) {
    let mut frames = Vec::new();
    let mut transports = BTreeMap::new();
    for d in an.dialogs() {
        for m in &d.messages {
            frames.push(m.frame);
            *transports.entry(m.transport.as_str()).or_insert(0) += 1;
        }
    }
    frames.sort_unstable();
    (frames, transports)
}

/// Frame numbers of the SIP messages tshark decrypts with `opts`, a frame once per message.
fn tshark_frames(path: &Path, opts: &[&str]) -> Vec<u64> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(opts)
        .args(["-Y", "sip", "-T", "fields", "-E", "occurrence=a", "-E"])
        .args([
            "aggregator=,",
            "-e",
            "frame.number",
            "-e",
            "sip.CSeq.method",
        ])
        .output()
        .expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut cols = line.split('\t');
        let frame: u64 = cols.next().and_then(|f| f.parse().ok()).expect("frame");
        let n = cols.next().map_or(0, |m| m.split(',').count());
        v.extend(std::iter::repeat_n(frame, n));
    }
    v.sort_unstable();
    v
}

const SAMPLES: &[(&str, &str)] = &[
    ("tls13-call.pcap", "tls13-call.keys"),
    ("tls12-call.pcap", "tls12-call.keys"),
    ("tls12-rsa-call.pcap", "tls12-rsa-call.key.pem"),
];

fn keys_for(file: &str) -> KeyLog {
    if file.ends_with(".pem") {
        rsa(file)
    } else {
        keylog(file)
    }
}

#[test]
fn every_sample_decrypts_fully() {
    for (pcap, keys) in SAMPLES {
        let an = analyze(&sample(pcap), keys_for(keys));
        let t = tls_stats(&an);
        assert_eq!(t["sessions_decrypted"], 4, "{pcap}: {t}");
        for k in [
            "sessions_failed",
            "sessions_without_keys",
            "sessions_unsupported",
        ] {
            assert_eq!(t[k], 0, "{pcap}: {k}: {t}");
        }
        assert_eq!(t["records_failed"], 0, "{pcap}: {t}");
        let (frames, transports) = message_frames(&an);
        // 4 REGISTER/401/REGISTER/200, 10 of alice's INVITE transaction, 7 on bob's leg,
        // 4 of the un-REGISTER: what the SIPp logs show.
        assert_eq!(frames.len(), 25, "{pcap}");
        assert_eq!(transports.get("TLS"), Some(&25), "{pcap}: {transports:?}");
        assert_eq!(an.dialogs().count(), 3, "{pcap}");
    }
}

#[test]
fn decrypted_messages_are_the_ones_tshark_decrypts() {
    if !common::tool(
        "tshark",
        "-v",
        "decrypted_messages_are_the_ones_tshark_decrypts",
    ) {
        return;
    }
    for (pcap, keys) in SAMPLES {
        let key_path = sample(keys).display().to_string();
        let opt = if keys.ends_with(".pem") {
            format!("uat:rsa_keys:\"{key_path}\",\"\"")
        } else {
            format!("tls.keylog_file:{key_path}")
        };
        let want = tshark_frames(&sample(pcap), &["-o", &opt]);
        let (got, _) = message_frames(&analyze(&sample(pcap), keys_for(keys)));
        assert_eq!(got, want, "{pcap}: SIP message frames, siplens vs tshark");
        // And without keys neither sees any.
        assert!(tshark_frames(&sample(pcap), &[]).is_empty(), "{pcap}");
    }
}

#[test]
fn without_keys_nothing_is_read_and_the_report_says_how_to_supply_them() {
    let an = analyze(&sample("tls13-call.pcap"), KeyLog::new());
    assert_eq!(an.dialogs().count(), 0);
    let t = tls_stats(&an);
    assert_eq!(t["sessions_without_keys"], 4, "{t}");
    assert_eq!(t["sessions_decrypted"], 0, "{t}");
    let text = siplens::report::text::render(&Report::build(&an, 0));
    assert!(
        text.contains(
            "4 TLS sessions carried encrypted SIP not read: give their keys with --tls-keylog"
        ),
        "{text}"
    );
}

#[test]
fn a_wrong_key_log_decrypts_nothing_and_says_so() {
    let an = analyze(&sample("tls13-call.pcap"), keylog("tls13-call.wrong.keys"));
    assert_eq!(an.dialogs().count(), 0, "no garbage parsed as SIP");
    assert_eq!(an.stats().sip_malformed, 0);
    let t = tls_stats(&an);
    assert_eq!(t["sessions_failed"], 4, "{t}");
    assert_eq!(t["records_decrypted"], 0, "{t}");
    assert_eq!(t["plaintext_bytes"], 0, "{t}");
    let text = siplens::report::text::render(&Report::build(&an, 0));
    assert!(
        text.contains("did not decrypt with the keys given"),
        "{text}"
    );
}

#[test]
fn keys_inside_a_pcapng_need_no_option() {
    let with_dsb = analyze(&sample("tls13-call-dsb.pcapng"), KeyLog::new());
    let with_file = analyze(&sample("tls13-call.pcap"), keylog("tls13-call.keys"));
    assert_eq!(message_frames(&with_dsb).0, message_frames(&with_file).0);
    let t = tls_stats(&with_dsb);
    assert_eq!(t["sessions_decrypted"], 4, "{t}");
    assert!(t["keylog_sessions"].as_u64() >= Some(4), "{t}");
}

#[test]
fn decrypted_dialogs_name_their_tls_session() {
    let an = analyze(&sample("tls13-call.pcap"), keylog("tls13-call.keys"));
    let r = report(&an);
    let dialogs = r["dialogs"].as_array().expect("dialogs");
    assert_eq!(dialogs.len(), 3);
    let mut ciphers = Vec::new();
    for d in dialogs {
        assert_eq!(d["transport"], "TLS", "{d}");
        let tls = &d["tls"];
        assert_eq!(tls["version"], "TLS 1.3", "{tls}");
        // TLS 1.3 encrypts the certificate: it is read from the decrypted handshake.
        assert_eq!(tls["certificate"], "CN=kamailio.siplens.test", "{tls}");
        ciphers.push(tls["cipher"].as_str().expect("cipher").to_string());
    }
    ciphers.sort();
    // REGISTER on AES-128-GCM, the call on ChaCha20 (alice's leg first), the
    // un-REGISTER on AES-256-GCM: see samples/README.md.
    assert_eq!(
        ciphers,
        [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256"
        ]
    );
    let text = siplens::report::text::render(&Report::build(&an, 0));
    assert!(text.contains("DECRYPTED TLS DIALOGS (3)"), "{text}");
    // The audit of each session now sees its certificate (self-signed here) and says its
    // SIP was read.
    let weak = an
        .findings()
        .iter()
        .filter(|f| f.rule.as_str() == "transport.tls-weak")
        .filter(|f| f.summary.contains("self-signed certificate"))
        .count();
    assert_eq!(weak, 4, "every TLS 1.3 leg");
    assert!(an
        .findings()
        .iter()
        .filter(|f| f.rule.as_str() == "transport.tls")
        .all(|f| f.summary.contains("decrypted with the keys given")));
    // TLS 1.2 sends the certificate in the clear: the link names it.
    let an12 = analyze(&sample("tls12-call.pcap"), keylog("tls12-call.keys"));
    let r12 = report(&an12);
    let d = &r12["dialogs"][0]["tls"];
    assert_eq!(d["version"], "TLS 1.2", "{d}");
    assert!(d["certificate"].as_str().is_some(), "{d}");
}

#[test]
fn a_digest_inside_tls_is_audited_but_not_called_cleartext() {
    let an = analyze(&sample("tls12-call.pcap"), keylog("tls12-call.keys"));
    let rules: Vec<&str> = an.findings().iter().map(|f| f.rule.as_str()).collect();
    assert!(rules.contains(&"auth.digest"), "{rules:?}");
    assert!(!rules.contains(&"auth.cleartext-transport"), "{rules:?}");
    assert!(an
        .dialogs()
        .flat_map(|d| d.messages.iter())
        .all(|m| m.transport == Transport::Tls));
    // The responses are still there for the offline audit.
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .arg("hashes")
        .arg(sample("tls12-call.pcap"))
        .arg("--tls-keylog")
        .arg(sample("tls12-call.keys"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(lines >= 2, "REGISTER and INVITE responses: {lines}");
}

/// The sample with every byte of TLS application data at `at` (an offset into the file)
/// flipped.
fn damaged(at: &[usize]) -> PathBuf {
    let mut bytes = std::fs::read(sample("tls13-call.pcap")).expect("sample");
    for &i in at {
        if let Some(b) = bytes.get_mut(i) {
            *b ^= 0x5a;
        }
    }
    let p = std::env::temp_dir().join(format!("siplens-tls-damaged-{}.pcap", std::process::id()));
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn damaged_and_truncated_records_are_counted_never_parsed() {
    let whole = analyze(&sample("tls13-call.pcap"), keylog("tls13-call.keys"));
    let (all, _) = message_frames(&whole);
    // Flip bytes all over the file: the records they hit fail authentication; the rest
    // decrypts; nothing panics and no damaged plaintext is parsed.
    let len = std::fs::metadata(sample("tls13-call.pcap"))
        .expect("meta")
        .len() as usize;
    let hits: Vec<usize> = (0..40).map(|i| 200 + i * (len - 400) / 40).collect();
    let p = damaged(&hits);
    let an = analyze(&p, keylog("tls13-call.keys"));
    let t = tls_stats(&an);
    let (frames, _) = message_frames(&an);
    assert!(
        t["records_failed"].as_u64() > Some(0),
        "some records were hit: {t}"
    );
    assert!(
        frames.len() < all.len(),
        "the messages of the records hit are gone"
    );
    assert!(!frames.is_empty(), "the records not hit still decrypt");
    assert!(
        frames.iter().all(|f| all.contains(f)),
        "only messages the clean capture has: {frames:?}"
    );
    assert_eq!(an.stats().sip_malformed, 0, "{t}");
    let _ = std::fs::remove_file(&p);
    // Cut the capture anywhere: what came before the cut is read, the rest is not.
    let bytes = std::fs::read(sample("tls13-call.pcap")).expect("sample");
    for cut in [100, len / 3, len / 2, len - 7] {
        let p = std::env::temp_dir().join(format!("siplens-tls-cut-{}.pcap", std::process::id()));
        std::fs::write(&p, &bytes[..cut]).expect("write");
        let mut src = capture::open_path(&p).expect("opens");
        let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
        an.set_tls_keys(keylog("tls13-call.keys"));
        an.run_source(&mut src, &mut |_, _| {});
        let (frames, _) = message_frames(&an);
        assert!(frames.iter().all(|f| all.contains(f)), "cut {cut}");
        let _ = std::fs::remove_file(&p);
    }
}

#[test]
fn export_keeps_what_decrypts_the_calls() {
    let out = std::env::temp_dir().join(format!("siplens-tls-export-{}.pcap", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .arg("export")
        .arg(sample("tls13-call.pcap"))
        .args(["--all", "-o"])
        .arg(&out)
        .arg("--tls-keylog")
        .arg(sample("tls13-call.keys"))
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The exported file holds the handshakes too: decrypted again, every message is there.
    let again = analyze(&out, keylog("tls13-call.keys"));
    let whole = analyze(&sample("tls13-call.pcap"), keylog("tls13-call.keys"));
    assert_eq!(message_frames(&again).0.len(), 25);
    assert_eq!(message_frames(&whole).0.len(), 25);
    assert_eq!(tls_stats(&again)["sessions_decrypted"], 4);
    let _ = std::fs::remove_file(&out);
}

#[test]
fn bad_key_files_are_refused_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("siplens-tls-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.keys");
    std::fs::write(&bad, "# comment\nCLIENT_RANDOM zz 00\n").expect("write");
    let pem = dir.join("bad.pem");
    std::fs::write(&pem, "not a key\n").expect("write");
    let empty = dir.join("empty.keys");
    std::fs::write(&empty, "EXPORTER_SECRET 00 11\n").expect("write");
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_siplens"))
            .arg("report")
            .arg(sample("basic-call-rtp.pcap"))
            .args(args)
            .output()
            .expect("runs")
    };
    let o = run(&["--tls-keylog".as_ref(), bad.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("--tls-keylog {}:2: CLIENT_RANDOM", bad.display())),
        "{err}"
    );
    let o = run(&["--tls-key".as_ref(), pem.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "--tls-key {}: not an RSA private key",
            pem.display()
        )),
        "{err}"
    );
    // A key log without any line siplens uses is a warning, not an error.
    let o = run(&["--tls-keylog".as_ref(), empty.as_os_str()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no CLIENT_RANDOM or TLS 1.3"));
    let _ = std::fs::remove_dir_all(&dir);
}
