//! End-to-end tests of the `siplens` binary: arguments, bad input, output contract.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_siplens"))
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siplens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

#[test]
fn help_and_version() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("report"), "{text}");
    assert!(text.contains("--format"), "{text}");
    let out = run(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn missing_file_is_a_clear_error_with_exit_2() {
    let out = run(&["report", "/nonexistent/dir/call.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/dir/call.pcap"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn not_a_capture_is_rejected_with_exit_2() {
    let p = tmp("notes.txt");
    std::fs::write(&p, b"INVITE sip:bob@example.com SIP/2.0\r\n\r\n").expect("write");
    let out = run(&["report", p.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("notes.txt"), "{err}");
    let empty = tmp("empty.pcap");
    std::fs::write(&empty, b"").expect("write");
    let out = run(&[empty.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty.pcap"));
}

#[test]
fn truncated_capture_reports_everything_before_the_cut() {
    let full = std::fs::read(sample("basic-call-rtp.pcap")).expect("sample");
    let whole = json_of(&run(&[
        "--format",
        "json",
        sample("basic-call-rtp.pcap").to_str().expect("utf8"),
    ]));
    let total = whole["summary"]["packets"].as_u64().expect("packets");
    // Cut in the middle of a record: everything before the cut must still be reported.
    let cut = tmp("cut.pcap");
    std::fs::write(&cut, &full[..full.len() * 2 / 3 + 7]).expect("write");
    let out = run(&["report", "--format", "json", cut.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("cut.pcap") && err.contains("warning"), "{err}");
    let v = json_of(&out);
    let got = v["summary"]["packets"].as_u64().expect("packets");
    assert!(got > 0 && got < total, "{got} of {total}");
    assert!(v["inputs"][0]["warning"].is_string());
    assert!(v["summary"]["sip_messages"].as_u64().expect("sip") > 0);
}

#[test]
fn json_report_follows_the_contract() {
    let v = json_of(&run(&[
        "report",
        "--format",
        "json",
        sample("basic-call-rtp.pcap").to_str().expect("utf8"),
    ]));
    assert_eq!(v["schema_version"], 1);
    for key in [
        "packets",
        "sip_messages",
        "dialogs",
        "rtp_streams",
        "findings_by_severity",
        "decode_errors",
        "elapsed_ms",
    ] {
        assert!(!v["summary"][key].is_null(), "summary.{key}");
    }
    let d = &v["dialogs"][0];
    for key in [
        "call_id",
        "from",
        "to",
        "method",
        "state",
        "final_status",
        "start",
        "end",
        "messages",
        "transport",
        "media",
        "finding_ids",
    ] {
        assert!(d.get(key).is_some(), "dialog.{key}");
    }
    assert_eq!(d["method"], "INVITE");
    assert_eq!(d["state"], "completed");
    let s = &v["streams"][0];
    for key in [
        "ssrc",
        "src",
        "dst",
        "payload_type",
        "codec",
        "packets",
        "lost",
        "jitter_ms",
        "jitter_mean_ms",
        "jitter_max_ms",
        "delta_mean_ms",
        "delta_max_ms",
        "sequence_errors",
        "call_id",
        "encrypted",
    ] {
        assert!(s.get(key).is_some(), "stream.{key}");
    }
    assert_eq!(s["call_id"], d["call_id"]);
    assert!(v["findings"].is_array());
}

#[test]
fn stdin_gzip_and_several_files() {
    let gz = std::fs::read(sample("basic-call-rtp.pcap.gz")).expect("gz sample");
    let mut child = bin()
        .args(["report", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&gz)
        .expect("feed stdin");
    let out = child.wait_with_output().expect("wait");
    let from_stdin = json_of(&out);
    let plain = json_of(&run(&[
        "--format",
        "json",
        sample("basic-call-rtp.pcap").to_str().expect("utf8"),
    ]));
    assert_eq!(
        from_stdin["summary"]["packets"],
        plain["summary"]["packets"]
    );
    assert_eq!(
        from_stdin["dialogs"][0]["call_id"],
        plain["dialogs"][0]["call_id"]
    );

    let two = json_of(&run(&[
        "--format",
        "json",
        sample("basic-call-rtp.pcap").to_str().expect("utf8"),
        sample("register-digest.pcap").to_str().expect("utf8"),
    ]));
    let a = plain["summary"]["packets"].as_u64().expect("n");
    let b = json_of(&run(&[
        "--format",
        "json",
        sample("register-digest.pcap").to_str().expect("utf8"),
    ]))["summary"]["packets"]
        .as_u64()
        .expect("n");
    assert_eq!(two["summary"]["packets"].as_u64(), Some(a + b));
    assert_eq!(two["inputs"].as_array().map(|x| x.len()), Some(2));
    // Frame numbers continue across inputs, so evidence stays unambiguous.
    let last_dialog = two["dialogs"]
        .as_array()
        .and_then(|d| d.last())
        .expect("dialog");
    assert!(last_dialog["first_frame"].as_u64().expect("frame") > a);
}

#[test]
fn text_report_has_every_section() {
    let out = run(&[sample("basic-call-rtp.pcap").to_str().expect("utf8")]);
    assert!(out.status.success());
    let t = String::from_utf8_lossy(&out.stdout);
    for s in [
        "DIALOGS (1)",
        "RTP STREAMS (2)",
        "FINDINGS",
        "INVITE",
        "completed",
    ] {
        assert!(t.contains(s), "missing {s:?} in:\n{t}");
    }
}

#[test]
fn json_is_compact_when_piped_and_indented_with_pretty() {
    let s = sample("invite-407.pcap");
    let path = s.to_str().expect("utf8");
    let compact = run(&["report", "--format", "json", path]);
    let pretty = run(&["report", "--format", "json", "--pretty", path]);
    assert_eq!(String::from_utf8_lossy(&compact.stdout).lines().count(), 1);
    assert!(String::from_utf8_lossy(&pretty.stdout).lines().count() > 50);
    // Same document apart from the wall time each run took.
    let (mut a, mut b) = (json_of(&compact), json_of(&pretty));
    a["summary"]["elapsed_ms"] = Value::from(0);
    b["summary"]["elapsed_ms"] = Value::from(0);
    assert_eq!(a, b);
}

/// Writes a one-packet pcap (Ethernet/IPv4/UDP 5060) carrying `sip` and returns its path.
fn one_packet_pcap(name: &str, sip: &[u8]) -> PathBuf {
    let mut pkt = Vec::new();
    etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
        .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .udp(5060, 5060)
        .write(&mut pkt, sip)
        .expect("build");
    let mut file = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        // magic, version 2.4 (as two u16 LE), thiszone, sigfigs, snaplen, Ethernet
        file.extend_from_slice(&v.to_le_bytes());
    }
    for v in [1_700_000_000u32, 0, pkt.len() as u32, pkt.len() as u32] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    file.extend_from_slice(&pkt);
    let p = tmp(name);
    std::fs::write(&p, file).expect("write");
    p
}

/// A one-packet pcap whose SIP message lacks its Call-ID (a `sip.malformed`, severity low).
fn malformed_capture() -> PathBuf {
    one_packet_pcap(
        "malformed.pcap",
        b"OPTIONS sip:b@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
    )
}

#[test]
fn fail_on_gates_the_exit_status() {
    let bad = malformed_capture();
    let bad = bad.to_str().expect("utf8");
    let out = run(&["report", "--format", "json", bad]);
    let v = json_of(&out);
    assert_eq!(v["findings"][0]["rule"], "sip.malformed");
    assert_eq!(
        run(&["report", "--fail-on", "low", bad]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&["report", "--fail-on", "info", bad]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&["report", "--fail-on", "medium", bad]).status.code(),
        Some(0)
    );
    // Any SIP in clear is a finding now (transport.cleartext-sip): a capture without SIP
    // is the clean one; the sample call fails from medium (media.cleartext-rtp).
    let sample_call = sample("basic-call-rtp.pcap");
    let sample_call = sample_call.to_str().expect("utf8");
    assert_eq!(
        run(&["--fail-on", "medium", sample_call]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&["--fail-on", "high", sample_call]).status.code(),
        Some(0)
    );
    let clean = one_packet_pcap("clean.pcap", b"not sip");
    let clean = clean.to_str().expect("utf8");
    assert_eq!(run(&["--fail-on", "info", clean]).status.code(), Some(0));
    assert_eq!(run(&["--fail-on", "bogus", clean]).status.code(), Some(2));
}

#[test]
fn basic_passwords_only_with_show_secrets() {
    // REGISTER with "Authorization: Basic" for alice:s3cret.
    let sip = b"REGISTER sip:192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK9\r\nFrom: <sip:alice@192.0.2.2>;tag=1\r\nTo: <sip:alice@192.0.2.2>\r\nCall-ID: basic@192.0.2.1\r\nCSeq: 2 REGISTER\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\nContent-Length: 0\r\n\r\n";
    let p = one_packet_pcap("basic.pcap", sip);
    let path = p.to_str().expect("utf8");
    let hidden = String::from_utf8_lossy(&run(&["report", path]).stdout).to_string();
    assert!(hidden.contains("auth.basic"), "{hidden}");
    assert!(hidden.contains("user 'alice'"), "{hidden}");
    assert!(!hidden.contains("s3cret"), "{hidden}");
    let shown =
        String::from_utf8_lossy(&run(&["report", "--show-secrets", path]).stdout).to_string();
    assert!(shown.contains("password 's3cret'"), "{shown}");
    assert_eq!(
        run(&["report", "--fail-on", "high", path]).status.code(),
        Some(1)
    );
}

fn rules_of(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn config_default_round_trips_and_config_changes_thresholds() {
    let out = run(&["config", "--default"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("[sweep]") && text.contains("targets = 10"),
        "{text}"
    );
    let parsed =
        siplens::config::Config::parse(&text, Path::new("stdout")).expect("printed default parses");
    assert_eq!(parsed, siplens::config::Config::default());
    let dflt = tmp("default.toml");
    std::fs::write(&dflt, &text).expect("write");
    let svmap = sample("scanner-svmap.pcap");
    let svmap = svmap.to_str().expect("utf8");
    let plain = json_of(&run(&["report", "--format", "json", svmap]));
    let with_default = json_of(&run(&[
        "report",
        "--format",
        "json",
        "--config",
        dflt.to_str().expect("utf8"),
        svmap,
    ]));
    assert_eq!(rules_of(&plain), rules_of(&with_default));
    assert!(!rules_of(&plain).contains(&"scan.sweep".to_string()));
    // svmap probed three ports: a sweep once the threshold is three targets.
    let low = tmp("low.toml");
    std::fs::write(
        &low,
        "[sweep]\ntargets = 3\n[scanners]\nreplace_builtin = true\n",
    )
    .expect("write");
    let v = json_of(&run(&[
        "report",
        "--format",
        "json",
        "--config",
        low.to_str().expect("utf8"),
        svmap,
    ]));
    let rules = rules_of(&v);
    assert!(rules.contains(&"scan.sweep".to_string()), "{rules:?}");
    // replace_builtin with no signatures: the User-Agent is no longer recognised.
    assert!(!rules.contains(&"scan.user-agent".to_string()), "{rules:?}");
}

#[test]
fn bad_config_is_a_clear_error_with_exit_2() {
    let bad = tmp("bad.toml");
    std::fs::write(&bad, "[flood]\nrequests = 100\nrate = 5\n").expect("write");
    let bad = bad.to_str().expect("utf8");
    let out = run(&[
        "report",
        "--config",
        bad,
        sample("scanner-svmap.pcap").to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{bad}:3:1:")), "{err}");
    assert!(err.contains("rate"), "{err}");
    let out = run(&["config", "--check", bad]);
    assert_eq!(out.status.code(), Some(2));
    let good = tmp("good.toml");
    std::fs::write(&good, "[toll]\nattempts = 3\n").expect("write");
    let out = run(&["config", "--check", good.to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- Offline password audit: `hashes`, `crack`, `report --wordlist` ----

/// The REGISTER response of samples/register-digest.pcap (password "secret", see
/// scripts/make-samples.sh), as hashcat -m 11400 reads it (checked with hashcat 6.2.6).
const REGISTER_SIP_HASH: &str = "$sip$*127.0.0.1*127.0.0.1*alice*siplens.test*REGISTER*sip*127.0.0.1*5060*4f2d9c1e8b7a6053a1c2d3e4f5061728*6b8b4567*00000001*auth*MD5*793359bbf5c2e96173d4465cbd1400cd";

fn wordlist(name: &str, with_password: bool) -> PathBuf {
    let p = tmp(name);
    let mut words: String = (0..2000).map(|i| format!("guess{i}\r\n")).collect();
    if with_password {
        words.push_str("secret\n");
    }
    words.push_str("123456\n");
    std::fs::write(&p, words).expect("write wordlist");
    p
}

#[test]
fn hashes_exports_hashcat_and_john_lines() {
    let pcap = sample("register-digest.pcap");
    let pcap = pcap.to_str().expect("utf8");
    let out = run(&["hashes", pcap]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{REGISTER_SIP_HASH}\n")
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 line(s) written"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["hashes", "--format", "john", pcap]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("alice:{REGISTER_SIP_HASH}\n")
    );
    // The same capture twice: identical lines once; -o writes a file, stdout stays empty.
    let file = tmp("hashes.txt");
    let out = run(&["hashes", pcap, pcap, "-o", file.to_str().expect("utf8")]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&file).expect("output"),
        format!("{REGISTER_SIP_HASH}\n")
    );
    // The INVITE's Proxy-Authorization of the 407 sample.
    let out = run(&["hashes", sample("invite-407.pcap").to_str().expect("utf8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "$sip$*127.0.0.1*127.0.0.1*alice*siplens.test*INVITE*sip*service@127.0.0.1*5060*"
        ) && text
            .trim_end()
            .ends_with("*auth*MD5*d37b60b6c5f68c7f50b38847bed7204f"),
        "{text}"
    );
}

#[test]
fn crack_recovers_the_sample_password() {
    let words = wordlist("words.txt", true);
    let out = run(&[
        "crack",
        sample("register-digest.pcap").to_str().expect("utf8"),
        sample("invite-407.pcap").to_str().expect("utf8"),
        "--wordlist",
        words.to_str().expect("utf8"),
        "--threads",
        "2",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(
            "user 'alice' realm 'siplens.test' password 'secret' algorithm MD5 frame "
        ),
        "{text}"
    );
    assert!(
        lines[2].starts_with("2 of 2 Digest response(s) cracked;"),
        "{text}"
    );
    assert!(lines[2].contains("candidates/s"), "{text}");
    // Not in the list: nothing found, every candidate tested, still exit 0.
    let words = wordlist("words-without.txt", false);
    let out = run(&[
        "crack",
        sample("register-digest.pcap").to_str().expect("utf8"),
        "--wordlist",
        words.to_str().expect("utf8"),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("0 of 1 Digest response(s) cracked; 2001 candidates tested"),
        "{text}"
    );
    // Unreadable wordlist: exit 2 naming it.
    let out = run(&[
        "crack",
        sample("register-digest.pcap").to_str().expect("utf8"),
        "--wordlist",
        "/nonexistent/words.txt",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/words.txt"));
}

#[test]
fn report_wordlist_flags_the_weak_password() {
    let words = wordlist("words-report.txt", true);
    let pcap = sample("register-digest.pcap");
    let args = [
        "report",
        pcap.to_str().expect("utf8"),
        "--format",
        "json",
        "--wordlist",
        words.to_str().expect("utf8"),
    ];
    let v = json_of(&run(&args));
    let weak: Vec<&Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "auth.weak-password")
        .collect();
    assert_eq!(weak.len(), 1, "{v}");
    assert_eq!(weak[0]["severity"], "critical");
    let summary = weak[0]["summary"].as_str().expect("summary");
    assert!(
        summary.contains("user 'alice' realm 'siplens.test'"),
        "{summary}"
    );
    assert!(!summary.contains("'secret'"), "{summary}");
    assert!(
        v["findings"][0]["rule"] == "auth.weak-password",
        "most severe first"
    );
    let mut shown = args.to_vec();
    shown.push("--show-secrets");
    let v = json_of(&run(&shown));
    assert!(
        v["findings"][0]["summary"]
            .as_str()
            .expect("summary")
            .contains("password 'secret'"),
        "{v}"
    );
    // Without the password in the list: no finding.
    let words = wordlist("words-report-none.txt", false);
    let v = json_of(&run(&[
        "report",
        pcap.to_str().expect("utf8"),
        "--format",
        "json",
        "--wordlist",
        words.to_str().expect("utf8"),
    ]));
    assert!(!v.to_string().contains("auth.weak-password"));
}

/// `--format ndjson` on a file: one event per line, in packet time, so two runs print the
/// same lines (but the wall-time `elapsed_ms` of the summary), and one `finding` line per
/// finding of the JSON report.
#[test]
fn ndjson_events_of_a_file_are_deterministic_and_match_the_report() {
    let file = sample("sipvicious-attack.pcap");
    let file = file.to_str().expect("utf-8 path");
    let lines = |out: Output| -> Vec<Value> {
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    };
    let mut a = lines(run(&["--format", "ndjson", file]));
    let mut b = lines(run(&["report", "--format", "ndjson", file]));
    for v in [&mut a, &mut b] {
        if let Some(s) = v.last_mut() {
            assert_eq!(s["event"], "summary");
            s["elapsed_ms"] = Value::Null;
        }
    }
    assert_eq!(a, b);
    let report = json_of(&run(&["report", "--format", "json", file]));
    let findings = a.iter().filter(|l| l["event"] == "finding").count();
    assert_eq!(
        findings,
        report["findings"].as_array().map_or(0, Vec::len),
        "{a:?}"
    );
    let started = a.iter().filter(|l| l["event"] == "dialog_started").count();
    assert_eq!(Some(started as u64), report["summary"]["dialogs"].as_u64());
    assert!(a.first().is_some_and(|l| l["event"] == "dialog_started"));
    // A file report has no live capture counters.
    assert!(report.get("capture").is_none());
    assert!(a.last().is_some_and(|s| s.get("capture").is_none()));
}

#[cfg(not(feature = "live"))]
#[test]
fn live_capture_without_the_feature_is_a_clear_error() {
    for args in [&["-i", "lo"][..], &["--list-interfaces"][..]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("built without live capture; rebuild with --features live"),
            "{err}"
        );
    }
}

#[test]
fn live_flags_need_an_interface() {
    let out = run(&[
        "--duration",
        "3",
        &sample("invite-407.pcap").to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--interface"), "{err}");
    // A small memory budget still reports (limits are lowered, never zero).
    let out = run(&[
        "--max-memory",
        "16",
        "--format",
        "json",
        &sample("invite-407.pcap").to_string_lossy(),
    ]);
    assert!(json_of(&out)["summary"]["dialogs"].as_u64() > Some(0));
}

#[test]
fn a_zero_memory_budget_means_the_built_in_limits() {
    // Files get a default budget; 0 turns it off and still reports everything.
    let out = run(&[
        "--max-memory",
        "0",
        "--format",
        "json",
        &sample("options-keepalive.pcap").to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let j = json_of(&out);
    assert_eq!(j["summary"]["dialogs"].as_u64(), Some(5));
    assert_eq!(j["summary"]["evictions"]["dialogs"].as_u64(), Some(0));
}

/// The per-severity counts of the text report's FINDINGS line, in the order printed.
fn findings_line(text: &str) -> (usize, Vec<(String, usize)>) {
    let line = text
        .lines()
        .find(|l| l.starts_with("FINDINGS ("))
        .expect("FINDINGS line");
    let inner = line.trim_start_matches("FINDINGS (").trim_end_matches(')');
    let (total, rest) = inner.split_once(": ").unwrap_or((inner, ""));
    let counts = rest
        .split(", ")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, n) = p.split_once(' ').expect("name count");
            (k.to_string(), n.parse().expect("count"))
        })
        .collect();
    (total.parse().expect("total"), counts)
}

#[test]
fn nat_filter_counts_describe_the_findings_shown() {
    // Before the fix the header kept the whole capture's counts: "FINDINGS (0: medium 1,
    // low 1)" over "(none)".
    for (name, filtered_out) in [("basic-call-rtp.pcap", true), ("nat-no-rtp.pcap", false)] {
        let out = run(&["report", "--nat", sample(name).to_str().expect("utf8")]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let (total, counts) = findings_line(&text);
        let shown = text.lines().filter(|l| l.starts_with('[')).count();
        assert_eq!(total, shown, "{text}");
        assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), shown, "{text}");
        assert_eq!(filtered_out, shown == 0, "{text}");
        assert!(text.contains("filter: --nat"), "{text}");
        let v = json_of(&run(&[
            "report",
            "--nat",
            "-F",
            "json",
            sample(name).to_str().expect("utf8"),
        ]));
        let by: u64 = v["summary"]["findings_by_severity"]
            .as_object()
            .expect("object")
            .values()
            .map(|n| n.as_u64().expect("count"))
            .sum();
        let listed = v["findings"].as_array().expect("findings").len() as u64;
        assert_eq!(by, listed, "{}", v["summary"]);
        assert_eq!(v["filter"]["findings_shown"], listed);
        assert_eq!(
            v["filter"]["dialogs_shown"],
            v["dialogs"].as_array().expect("d").len()
        );
    }
}

#[test]
fn severities_run_from_critical_to_info() {
    let order = ["critical", "high", "medium", "low", "info"];
    let rank = |k: &str| order.iter().position(|o| *o == k).expect("severity");
    // Text: a capture with high, medium, low and info findings.
    let out = run(&["report", sample("nat-no-rtp.pcap").to_str().expect("utf8")]);
    let (_, counts) = findings_line(&String::from_utf8_lossy(&out.stdout));
    let ranks: Vec<usize> = counts.iter().map(|(k, _)| rank(k)).collect();
    assert!(ranks.len() >= 4, "{counts:?}");
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    // JSON: the object's keys in the document, in order.
    let out = run(&[
        "report",
        "-F",
        "json",
        sample("nat-no-rtp.pcap").to_str().expect("utf8"),
    ]);
    let doc = String::from_utf8_lossy(&out.stdout);
    let at = doc.find("\"findings_by_severity\"").expect("key");
    let obj = &doc[at..at + doc[at..].find('}').expect("end")];
    let pos: Vec<usize> = order
        .iter()
        .map(|k| obj.find(&format!("\"{k}\"")).expect("every severity"))
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{obj}");
}

#[test]
fn an_input_that_yields_no_frame_exits_2() {
    // A pcap header, then a record whose length no capture has: corrupt from the first
    // record. Before the fix: a warning and exit 0.
    let mut bytes = std::fs::read(sample("basic-call-rtp.pcap")).expect("sample");
    bytes.truncate(24);
    bytes.extend_from_slice(&[0u8; 8]);
    bytes.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    bytes.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let corrupt = tmp("corrupt-first.pcap");
    std::fs::write(&corrupt, &bytes).expect("write");
    let header_only = tmp("header-only.pcap");
    std::fs::write(&header_only, &bytes[..24]).expect("write");
    for bad in [&corrupt, &header_only] {
        let bad = bad.to_str().expect("utf8");
        for args in [
            vec!["report", bad],
            vec!["report", "--fail-on", "critical", bad],
            vec!["report", "-F", "json", bad],
            vec!["hashes", bad],
        ] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(bad) && err.contains("no frame could be read"),
                "{err}"
            );
        }
        // Next to a good input the report covers the good one, and still exits 2.
        let out = run(&[
            "report",
            "-F",
            "json",
            sample("basic-call-rtp.pcap").to_str().expect("utf8"),
            bad,
        ]);
        assert_eq!(out.status.code(), Some(2));
        let v: Value = serde_json::from_slice(&out.stdout).expect("report printed");
        assert_eq!(v["summary"]["dialogs"], 1);
    }
}
