//! HEP interop with a real peer, sngrep 1.x (Debian package): sngrep sends HEP to a
//! `siplens --hep-listen`, and sngrep (`-L ... -O OUT.pcap`) receives what
//! `siplens report --hep-send` forwards. Skips with a notice when sngrep is not installed
//! (CI installs it).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use siplens::capture;
use siplens::engine::Analyzer;
use siplens::report::Report;

const SAMPLE: &str = "samples/invite-407.pcap";

fn sngrep() -> bool {
    let ok = Command::new("sngrep")
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("NOTICE: sngrep not installed; HEP interop test skipped");
    }
    ok
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE)
}

/// (SIP messages, sorted Call-IDs) of a capture, read by siplens itself.
fn calls_in(path: &Path) -> (u64, Vec<String>) {
    let mut src = capture::open_path(path).expect("capture opens");
    let mut an = Analyzer::default();
    an.run_source(&mut src, &mut |_, _| {});
    let r = Report::build(&an, 0);
    let mut ids: Vec<String> = r.dialogs.iter().map(|d| d.call_id.to_string()).collect();
    ids.sort();
    (r.summary.sip_messages, ids)
}

/// A UDP port free right now on 127.0.0.1.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("ephemeral port")
        .port()
}

/// Waits until someone has bound `port` (our own bind attempt fails).
fn wait_bound(port: u16, timeout: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if UdpSocket::bind(("127.0.0.1", port)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits for `child` at most `timeout`, killing it past that.
fn wait_output(mut child: Child, timeout: Duration) -> Output {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("process did not end within {timeout:?}");
}

#[test]
fn siplens_reads_what_sngrep_sends() {
    if !sngrep() {
        return;
    }
    let (want_msgs, want_ids) = calls_in(&sample());
    assert!(!want_ids.is_empty());
    let port = free_port();
    let listen = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--hep-listen"])
        .arg(format!("udp:127.0.0.1:{port}"))
        .args(["--duration", "5", "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("siplens runs");
    assert!(
        wait_bound(port, Duration::from_secs(10)),
        "siplens never bound {port}"
    );
    let sent = wait_output(
        Command::new("sngrep")
            .args(["-N", "-q", "-I"])
            .arg(sample())
            .arg("-H")
            .arg(format!("udp:127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sngrep runs"),
        Duration::from_secs(10),
    );
    assert!(sent.status.success(), "sngrep: {:?}", sent);
    let out = wait_output(listen, Duration::from_secs(15));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let mut ids: Vec<String> = v["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .map(|d| d["call_id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, want_ids);
    assert_eq!(v["summary"]["sip_messages"], want_msgs);
    assert_eq!(v["summary"]["net"]["hep_packets"], want_msgs);
    let flow = v["dialogs"][0]["flow"].as_array().expect("flow");
    for e in flow {
        assert_eq!(e["hep"]["version"], 3, "{e}");
        assert!(e["hep"]["agent"]
            .as_str()
            .unwrap_or_default()
            .starts_with("127.0.0.1:"));
        // Inner addresses, not the HEP socket's.
        assert!(
            e["src"].as_str().unwrap_or_default().ends_with(":5070")
                || e["src"].as_str().unwrap_or_default().ends_with(":5060"),
            "{e}"
        );
    }
}

#[test]
fn sngrep_receives_what_siplens_sends() {
    if !sngrep() {
        return;
    }
    let (want_msgs, want_ids) = calls_in(&sample());
    let dir = std::env::temp_dir().join(format!("siplens-hep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pcap = dir.join("received.pcap");
    let _ = std::fs::remove_file(&pcap);
    let port = free_port();
    let mut listener = Command::new("sngrep")
        .args(["-N", "-q", "-L"])
        .arg(format!("udp:127.0.0.1:{port}"))
        .arg("-O")
        .arg(&pcap)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sngrep runs");
    if !wait_bound(port, Duration::from_secs(10)) {
        let _ = listener.kill();
        panic!("sngrep never bound {port}");
    }
    let out = wait_output(
        Command::new(env!("CARGO_BIN_EXE_siplens"))
            .args(["report", "--format", "json", "--hep-send"])
            .arg(format!("udp:127.0.0.1:{port}"))
            .arg(sample())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("siplens runs"),
        Duration::from_secs(15),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{want_msgs} packets, 0 errors")),
        "{err}"
    );
    // Let sngrep write what it got, then end it as a user would (SIGTERM).
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-TERM", &listener.id().to_string()])
        .status();
    let t0 = Instant::now();
    while listener.try_wait().ok().flatten().is_none() {
        if t0.elapsed() > Duration::from_secs(5) {
            let _ = listener.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (msgs, ids) = calls_in(&pcap);
    assert_eq!(ids, want_ids);
    assert_eq!(msgs, want_msgs);
    let _ = std::fs::remove_dir_all(&dir);
}

fn hep_packet(call_id: &str) -> Vec<u8> {
    use siplens::capture::Timestamp;
    use siplens::hep::{encode_v3, HepOut, ProtoType};
    let msg = format!(
        "OPTIONS sip:b@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{call_id}\r\n\
         From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    let mut v = Vec::new();
    encode_v3(
        &HepOut {
            src: "192.0.2.1:5060".parse().unwrap(),
            dst: "192.0.2.2:5060".parse().unwrap(),
            ip_proto: 17,
            ts: Timestamp::from_parts(1_700_000_000, 0),
            proto_type: ProtoType::SIP,
            capture_id: Some(99),
            auth_key: None,
            correlation_id: None,
            payload: msg.as_bytes(),
        },
        &mut v,
    )
    .unwrap();
    v
}

fn report_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// `--count` ends a UDP listener after that many packets; no peer needed.
#[test]
fn listen_stops_after_count() {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json", "--count", "2", "--hep-listen"])
        .arg(format!("udp:127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("siplens runs");
    assert!(
        wait_bound(port, Duration::from_secs(10)),
        "never bound {port}"
    );
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"junk", ("127.0.0.1", port)).unwrap();
    for id in ["c1", "c2", "c3"] {
        tx.send_to(&hep_packet(id), ("127.0.0.1", port)).unwrap();
    }
    let out = wait_output(child, Duration::from_secs(10));
    let v = report_of(&out);
    assert_eq!(v["summary"]["sip_messages"], 2);
    assert_eq!(v["dialogs"][0]["flow"][0]["hep"]["capture_id"], 99);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 malformed HEP packets skipped"));
}

/// SIGINT ends a TCP listener with the normal report.
#[test]
fn listen_stops_on_sigint_over_tcp() {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json", "--hep-listen"])
        .arg(format!("tcp:127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("siplens runs");
    let t0 = Instant::now();
    let mut conn = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(c) => break c,
            Err(_) if t0.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("never listened on {port}: {e}"),
        }
    };
    use std::io::Write;
    let mut both = hep_packet("t1");
    both.extend_from_slice(&hep_packet("t2"));
    conn.write_all(&both).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let v = report_of(&wait_output(child, Duration::from_secs(10)));
    assert_eq!(v["summary"]["sip_messages"], 2);
    assert_eq!(v["summary"]["net"]["hep_packets"], 2);
}

/// Spawns `siplens report --format json --hep-listen SPEC EXTRA...`.
fn listen_json(spec: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json", "--hep-listen", spec])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("siplens runs")
}

/// Connects to the listener on `port`, retrying while it starts.
fn connect_tcp(port: u16) -> std::net::TcpStream {
    let t0 = Instant::now();
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(c) => return c,
            Err(_) if t0.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("never listened on {port}: {e}"),
        }
    }
}

/// Ends `child` with SIGINT and returns its output.
fn interrupt(child: Child) -> Output {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    wait_output(child, Duration::from_secs(10))
}

/// Idle TCP connections from one address (more than the old fixed cap of 16) must not
/// lock out a real agent from that address for the whole run.
#[test]
fn idle_tcp_connections_do_not_lock_out_an_agent() {
    use std::io::Write;
    let port = free_port();
    let child = listen_json(&format!("tcp:127.0.0.1:{port}"), &[]);
    let mut idle = vec![connect_tcp(port)];
    for _ in 0..19 {
        idle.push(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    }
    // Long enough for the idle ones to count as idle.
    std::thread::sleep(Duration::from_millis(1500));
    let mut agent = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut all = Vec::new();
    for id in ["a1", "a2", "a3"] {
        all.extend_from_slice(&hep_packet(id));
    }
    // A refused connection is closed by the listener: the write may fail, which is the bug.
    let _ = agent.write_all(&all);
    std::thread::sleep(Duration::from_millis(700));
    let v = report_of(&interrupt(child));
    assert_eq!(v["summary"]["sip_messages"], 3, "{}", v["hep_listeners"]);
    drop(idle);
}
