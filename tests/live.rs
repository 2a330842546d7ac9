//! Live capture end to end (cargo feature `live`): the binary on `lo`, with SIPp placing
//! calls on loopback. Tests that need root (or SIPp) print why they skip.
#![cfg(feature = "live")]

mod common;

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The payload of the junk datagrams the live run must keep out of `--sip-only` files.
const JUNK: &[u8; 16] = b"not sip, not rtp";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_siplens"))
}

/// A child process killed (and reaped) when dropped, so that a failing assertion never
/// leaves SIPp or siplens running.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        common::stop(&mut self.0);
    }
}

impl Guard {
    /// Waits at most `limit` for the exit, then kills; returns stdout, stderr and status.
    fn finish(mut self, limit: Duration) -> (String, String, Option<i32>) {
        let t0 = Instant::now();
        let status = loop {
            match self.0.try_wait() {
                Ok(Some(s)) => break s.code(),
                Ok(None) if t0.elapsed() < limit => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    common::stop(&mut self.0);
                    break None;
                }
            }
        };
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut o) = self.0.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
        if let Some(mut e) = self.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (out, err, status)
    }
}

fn spawn(cmd: &mut Command) -> Guard {
    Guard(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    )
}

fn skip(why: &str) {
    eprintln!("skipped: {why}");
}

#[test]
fn list_interfaces_shows_loopback() {
    let out = bin().arg("--list-interfaces").output().expect("runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lo = text
        .lines()
        .find(|l| l.split('\t').next() == Some("lo"))
        .unwrap_or_else(|| panic!("no lo in {text}"));
    assert!(lo.contains("loopback"), "{lo}");
    assert!(lo.contains("127.0.0.1"), "{lo}");
}

#[test]
fn unknown_interface_is_one_line_and_exit_2() {
    let out = bin()
        .args(["-i", "siplens-nodev9", "--duration", "1"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("siplens-nodev9: no such interface"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_filter_names_the_interface_and_the_filter() {
    // Without root, opening lo fails before the filter is compiled.
    if !common::root("bad_filter_names_the_interface_and_the_filter") {
        return;
    }
    let out = bin()
        .args(["-i", "lo", "-f", "udp port", "--duration", "1"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("lo: bad capture filter \"udp port\""), "{err}");
}

#[test]
fn permission_error_as_an_unprivileged_user() {
    // Not root: whether a non-root id is a failure under CI is the business of the tests
    // that need root; this one then runs as the unprivileged user it already is.
    let out: Output = if common::is_root() {
        if !common::tool(
            "setpriv",
            "--version",
            "permission_error_as_an_unprivileged_user",
        ) {
            return;
        }
        Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_siplens"))
            .args(["-i", "lo", "--duration", "1"])
            .output()
            .expect("runs")
    } else {
        bin()
            .args(["-i", "lo", "--duration", "1"])
            .output()
            .expect("runs")
    };
    if out.status.success() {
        return skip("this user may capture (file capabilities?)");
    }
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("lo: permission denied"), "{err}");
    assert!(
        err.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "{err}"
    );
}

#[test]
fn sigint_stops_with_a_report_and_count_stops_early() {
    if !common::root("sigint_stops_with_a_report_and_count_stops_early") {
        return;
    }
    // SIGINT: a clean stop with the report.
    let g = spawn(bin().args(["-i", "lo", "-f", "udp port 15999", "--format", "json"]));
    std::thread::sleep(Duration::from_millis(800));
    let pid = g.0.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()));
    let (out, err, code) = g.finish(Duration::from_secs(10));
    assert_eq!(code, Some(0), "{err}");
    let r: Value = serde_json::from_str(&out).expect("a JSON report");
    assert_eq!(r["capture"][0]["interface"], "lo");
    assert_eq!(r["inputs"][0]["name"], "lo");

    // --count 3: three datagrams analysed, the run ends by itself.
    let g = spawn(bin().args([
        "-i",
        "lo",
        "-f",
        "udp port 15998",
        "--count",
        "3",
        "--duration",
        "20",
        "--format",
        "json",
    ]));
    std::thread::sleep(Duration::from_millis(800));
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    for _ in 0..6 {
        let _ = sock.send_to(b"siplens live count", "127.0.0.1:15998");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t0 = Instant::now();
    let (out, err, code) = g.finish(Duration::from_secs(10));
    assert_eq!(code, Some(0), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(10));
    let r: Value = serde_json::from_str(&out).expect("a JSON report");
    assert_eq!(r["summary"]["packets"], 3, "{out}");
}

/// Five SIPp calls with RTP on loopback, captured by two siplens at once (JSON report and
/// NDJSON stream): every call and both streams of each must be named.
#[test]
fn sipp_calls_on_loopback_are_all_reported() {
    let test = "sipp_calls_on_loopback_are_all_reported";
    if !common::root(test) || !common::tool("sipp", "-v", test) {
        return;
    }
    // uac_pcap plays pcap/g711a.pcap (and DTMF files) relative to its working directory.
    let dir = std::env::temp_dir().join(format!("siplens-live-{}", std::process::id()));
    let pcaps = dir.join("pcap");
    std::fs::create_dir_all(&pcaps).expect("tmp dir");
    let share = std::path::Path::new("/usr/share/sip-tester");
    let with_rtp = share.join("g711a.pcap").exists();
    if with_rtp {
        for e in std::fs::read_dir(share)
            .expect("sip-tester files")
            .flatten()
        {
            let _ = std::os::unix::fs::symlink(e.path(), pcaps.join(e.file_name()));
        }
    }
    let filter = "udp portrange 15070-15071 or udp portrange 16000-16099";
    let json = spawn(bin().args([
        "-i",
        "lo",
        "-f",
        filter,
        "--duration",
        "14",
        "--format",
        "json",
    ]));
    let ndjson = spawn(bin().args([
        "-i",
        "lo",
        "-f",
        filter,
        "--duration",
        "14",
        "--format",
        "ndjson",
    ]));
    // -w: only SIP and its media, and everything in files rotated every 2 s of packet
    // time (rotated files are created after the switch to --user: keep root here).
    let sip_only = dir.join("sip-only.pcapng");
    let all = dir.join("all.pcapng");
    let writers = spawn(
        bin()
            .args([
                "-i",
                "lo",
                "-f",
                filter,
                "--duration",
                "14",
                "--sip-only",
                "--format",
                "json",
                "-w",
            ])
            .arg(&sip_only),
    );
    let rotated = spawn(
        bin()
            .args([
                "-i",
                "lo",
                "-f",
                filter,
                "--duration",
                "14",
                "--user",
                "root",
                "--rotate",
                "2s",
                "--format",
                "json",
                "-w",
            ])
            .arg(&all),
    );
    std::thread::sleep(Duration::from_millis(1000));
    // Junk in the filter's port range: not SIP, not media of any call. Sent once all
    // four captures surely run (opening and dropping root take a moment).
    std::thread::sleep(Duration::from_millis(1500));
    let junk = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
    for _ in 0..20 {
        let _ = junk.send_to(JUNK, "127.0.0.1:16090");
    }
    let _uas = spawn(Command::new("timeout").current_dir(&dir).args([
        "14",
        "sipp",
        "-sn",
        "uas",
        "-p",
        "15070",
        "-i",
        "127.0.0.1",
        "-mi",
        "127.0.0.1",
        "-mp",
        "16010",
        "-rtp_echo",
        "-nostdin",
    ]));
    std::thread::sleep(Duration::from_millis(500));
    let scenario = if with_rtp { "uac_pcap" } else { "uac" };
    let uac = spawn(Command::new("timeout").current_dir(&dir).args([
        "12",
        "sipp",
        "-sn",
        scenario,
        "127.0.0.1:15070",
        "-p",
        "15071",
        "-mp",
        "16020",
        "-m",
        "5",
        "-r",
        "5",
        "-i",
        "127.0.0.1",
        "-mi",
        "127.0.0.1",
        "-nostdin",
    ]));
    let (uac_out, _, uac_code) = uac.finish(Duration::from_secs(13));
    let (out, err, code) = json.finish(Duration::from_secs(20));
    let (nd, nd_err, nd_code) = ndjson.finish(Duration::from_secs(20));
    let (w_out, w_err, w_code) = writers.finish(Duration::from_secs(20));
    let (r_out, r_err, r_code) = rotated.finish(Duration::from_secs(20));
    assert_eq!(w_code, Some(0), "{w_err}");
    assert_eq!(r_code, Some(0), "{r_err}");
    let read_back = |files: &[std::path::PathBuf]| -> Value {
        let o = bin()
            .args(["report", "--format", "json"])
            .args(files)
            .output()
            .expect("siplens runs");
        assert!(o.status.success(), "{o:?}");
        serde_json::from_slice(&o.stdout).expect("json")
    };
    let live_w: Value = serde_json::from_str(&w_out).expect("json");
    let back = read_back(std::slice::from_ref(&sip_only));
    let ids = |r: &Value| -> Vec<String> {
        let mut v: Vec<String> = r["dialogs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["call_id"].as_str().map(String::from))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&back), ids(&live_w), "the -w file holds every call");
    assert_eq!(
        back["streams"].as_array().map(Vec::len),
        live_w["streams"].as_array().map(Vec::len),
        "and every stream"
    );
    let live_r: Value = serde_json::from_str(&r_out).expect("json");
    let mut parts: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.to_string_lossy().contains("all.pcapng-") || p.to_string_lossy().contains("all-")
        })
        .collect();
    parts.sort();
    assert!(parts.len() >= 2, "rotated every 2 s: {parts:?}");
    let back_all = read_back(&parts);
    assert_eq!(
        back_all["summary"]["packets"], live_r["summary"]["packets"],
        "the rotated files hold every frame captured"
    );
    // The junk is in the full capture only. Counted in the files' bytes, not as a frame
    // difference: the two captures start and stop a moment apart, so their call traffic
    // at the edges differs (a busy machine once gave the SIP-only one more frames).
    let junk_in = |files: &[std::path::PathBuf]| -> usize {
        files
            .iter()
            .map(|f| {
                let bytes = std::fs::read(f).expect("capture file reads");
                bytes
                    .windows(JUNK.len())
                    .filter(|w| *w == JUNK.as_slice())
                    .count()
            })
            .sum()
    };
    assert_eq!(
        junk_in(std::slice::from_ref(&sip_only)),
        0,
        "--sip-only left the junk out"
    );
    assert_eq!(
        junk_in(&parts),
        20,
        "the full capture has every junk datagram"
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(nd_code, Some(0), "{nd_err}");
    assert_eq!(uac_code, Some(0), "sipp uac failed:\n{uac_out}");

    let r: Value = serde_json::from_str(&out).expect("a JSON report");
    let calls: Vec<&Value> = r["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .filter(|d| d["method"] == "INVITE")
        .collect();
    // SIPp numbers its Call-IDs 1-PID@IP .. 5-PID@IP.
    for n in 1..=5 {
        let prefix = format!("{n}-");
        let d = calls
            .iter()
            .find(|d| {
                d["call_id"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(&prefix))
            })
            .unwrap_or_else(|| panic!("call {n} missing: {out}"));
        assert_eq!(d["final_status"], 200, "{d}");
        assert_eq!(d["state"], "completed", "{d}");
        if with_rtp {
            // The played audio and its echo (and uac_pcap's RFC 2833 digit, a stream of its own).
            let n = d["stream_ids"].as_array().map_or(0, Vec::len);
            assert!(n >= 2, "{d}");
        }
    }
    assert_eq!(calls.len(), 5, "{out}");
    if with_rtp {
        let streams = r["streams"].as_array().expect("streams");
        assert!(streams.len() >= 10, "{out}");
        assert!(streams.iter().all(|s| s["call_id"].is_string()), "{out}");
        // Audio both ways for every call (DTMF streams are short).
        let audio = streams
            .iter()
            .filter(|s| s["packets"].as_u64() > Some(100))
            .count();
        assert!(audio >= 10, "{out}");
    }
    let c = &r["capture"][0];
    assert_eq!(c["interface"], "lo");
    assert_eq!(c["frames"], r["summary"]["packets"]);
    assert_eq!(c["dropped_by_siplens"], 0);

    // The NDJSON stream: each call started and ended once, then a summary.
    let lines: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).expect("one object per line"))
        .collect();
    for ev in ["dialog_started", "dialog_ended"] {
        let n = lines
            .iter()
            .filter(|l| l["event"] == ev && l["method"] == "INVITE")
            .count();
        assert_eq!(n, 5, "{ev}: {nd}");
    }
    let last = lines.last().expect("lines");
    assert_eq!(last["event"], "summary");
    assert_eq!(last["calls"], 5);
    assert_eq!(last["capture"][0]["interface"], "lo");
    // Stopping the `timeout` wrapper stops SIPp too (a SIGKILL to the wrapper alone left
    // the UAS running, holding its port, after the test).
    drop(_uas);
    assert!(
        !common::running("sipp -sn uas -p 15070"),
        "the SIPp UAS outlived its test"
    );
}
