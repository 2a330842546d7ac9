//! The benchmark scripts of `benches/` (workloads.sh, compare.sh and their generators
//! flood.py, repeat.py), in their small modes: each answers `--help` and `--dry-run`, the
//! generators write captures siplens reads as intended (every flood INVITE its own call,
//! every repeated copy its own Call-IDs), and compare.sh turns a run into its table. The
//! full-size runs (SIPp, tcpdump, root, minutes) are documented in docs/benchmarks.md.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siplens-bench-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(root().join("benches").join(script))
        .args(args)
        .output()
        .expect("python3");
    ok(out, script)
}

/// The summary of siplens' JSON report on `file`.
fn summary(file: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json"])
        .arg(file)
        .output()
        .expect("siplens");
    let text = ok(out, "siplens report");
    let v: Value = serde_json::from_str(&text).expect("json report");
    v["summary"].clone()
}

#[test]
fn scripts_answer_help_and_dry_run() {
    if !common::tool("bash", "--version", "scripts_answer_help_and_dry_run") {
        return;
    }
    for script in ["workloads.sh", "compare.sh"] {
        let path = root().join("benches").join(script);
        let help = ok(
            Command::new("bash")
                .arg(&path)
                .arg("--help")
                .output()
                .expect("bash"),
            script,
        );
        assert!(
            help.starts_with("Usage: benches/"),
            "{script} --help: {help}"
        );
        let bad = Command::new("bash")
            .arg(&path)
            .arg("--no-such-option")
            .output()
            .expect("bash");
        assert_eq!(
            bad.status.code(),
            Some(2),
            "{script} takes an unknown option"
        );
    }
    // The dry runs print the generators' and the timed commands without running them.
    let dir = scratch("dry");
    let plan = ok(
        Command::new("bash")
            .arg(root().join("benches/workloads.sh"))
            .args(["--dry-run", "--small"])
            .env("WL_OUT", &dir)
            .output()
            .expect("bash"),
        "workloads.sh --dry-run",
    );
    for want in [
        "uac-call-signal.xml",
        "-m 300 ",
        "flood.py --count 3000",
        "repeat.py --copies 10",
        "editcap -F pcap -r",
    ] {
        assert!(plan.contains(want), "the dry run lacks {want:?}: {plan}");
    }
    let plan = ok(
        Command::new("bash")
            .arg(root().join("benches/compare.sh"))
            .arg("--dry-run")
            .env("WL_OUT", &dir)
            .output()
            .expect("bash"),
        "compare.sh --dry-run",
    );
    assert!(
        plan.contains("tshark -n -r") && plan.contains("sngrep -F -N -q -l"),
        "{plan}"
    );
    assert!(plan.contains("flood-q4.pcap") && plan.contains("cargo bench --bench pipeline"));
    assert!(
        !dir.join("compare.md").exists(),
        "a dry run must not measure"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flood_and_repeat_make_distinct_calls() {
    if !common::tool(
        "python3",
        "--version",
        "flood_and_repeat_make_distinct_calls",
    ) {
        return;
    }
    let dir = scratch("gen");
    let flood = dir.join("flood.pcap");
    python(
        "flood.py",
        &["--count", "300", "-o", flood.to_str().unwrap()],
    );
    let s = summary(&flood);
    assert_eq!(s["sip_messages"], 300, "{s}");
    assert_eq!(s["dialogs"], 300, "every INVITE its own call: {s}");
    assert_eq!(s["engine"]["sip_requests"], 300, "{s}");
    assert_eq!(s["engine"]["sdp_bodies"], 300, "{s}");
    assert_eq!(s["decode_errors"], 0, "{s}");
    // Bounded: a count past --max is refused, nothing written.
    let refused = Command::new("python3")
        .arg(root().join("benches/flood.py"))
        .args(["--count", "11", "--max", "10", "-o"])
        .arg(dir.join("no.pcap"))
        .output()
        .expect("python3");
    assert!(!refused.status.success() && !dir.join("no.pcap").exists());

    // Three copies: three times the calls (the Call-IDs differ per copy), not one call
    // seen three times over (which plain mergecap copies would give).
    let x3 = dir.join("x3.pcap");
    python(
        "repeat.py",
        &[
            flood.to_str().unwrap(),
            x3.to_str().unwrap(),
            "--copies",
            "3",
        ],
    );
    let s = summary(&x3);
    assert_eq!(s["sip_messages"], 900, "{s}");
    assert_eq!(s["dialogs"], 900, "{s}");
    assert_eq!(s["engine"]["sip_retransmissions"], 0, "{s}");
    assert_eq!(s["decode_errors"], 0, "{s}");
    // The copies follow one another in time.
    let span = s["duration_s"].as_f64().unwrap_or_default();
    assert!(span > 2.0, "three copies 1 s apart span more than 2 s: {s}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_prints_its_table() {
    let test = "compare_prints_its_table";
    if !common::tool("python3", "--version", test) || !common::tool("bash", "--version", test) {
        return;
    }
    // /usr/bin/time (Debian's `time` package) is not one of the programs CI installs for
    // the other tests: without it this test has nothing to drive.
    if !Path::new("/usr/bin/time").exists() {
        println!("skipping {test}: no /usr/bin/time (apt-get install time)");
        return;
    }
    let dir = scratch("compare");
    python(
        "flood.py",
        &[
            "--count",
            "200",
            "-o",
            dir.join("flood.pcap").to_str().unwrap(),
        ],
    );
    std::fs::write(dir.join("flood.counts"), "200 200\n").expect("counts");
    let table = ok(
        Command::new("bash")
            .arg(root().join("benches/compare.sh"))
            .env("WL_OUT", &dir)
            .env("SIPLENS", env!("CARGO_BIN_EXE_siplens"))
            .env("TOOLS", "siplens")
            .env("WORKLOADS", "flood")
            .env("REPEAT", "2")
            .env("QUARTERS", "0")
            .env("CRITERION", "0")
            .output()
            .expect("bash"),
        "compare.sh",
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("| **siplens** | flood |"))
        .unwrap_or_else(|| panic!("no siplens row: {table}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // | tool | workload | packets | SIP msgs | wall | CPU | packets/s | msgs/s | RSS |
    assert_eq!(cells[3], "200", "{row}");
    assert_eq!(cells[4], "200", "{row}");
    let wall: f64 = cells[5].parse().expect("wall seconds");
    let rss: f64 = cells[9].parse().expect("RSS MiB");
    assert!(wall > 0.0 && wall < 60.0, "{row}");
    assert!(rss > 1.0, "{row}");
    let runs = std::fs::read_to_string(dir.join("compare-runs.tsv")).expect("runs");
    assert_eq!(runs.lines().count(), 3, "a header and two runs: {runs}");
    assert_eq!(
        std::fs::read_to_string(dir.join("compare.md")).expect("compare.md"),
        table
    );
    // --table prints the same tables again from the run's files, measuring nothing.
    let again = ok(
        Command::new("bash")
            .arg(root().join("benches/compare.sh"))
            .arg("--table")
            .env("WL_OUT", &dir)
            .output()
            .expect("bash"),
        "compare.sh --table",
    );
    assert_eq!(again, table);
    assert_eq!(
        std::fs::read_to_string(dir.join("compare-runs.tsv")).expect("runs"),
        runs,
        "--table must not run anything"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
