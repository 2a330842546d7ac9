//! HEP interop with a real peer, sngrep 1.x (Debian package): sngrep sends HEP to a
//! `siplens --hep-listen`, and sngrep (`-L ... -O OUT.pcap`) receives what
//! `siplens report --hep-send` forwards. Skips with a reason when sngrep is not installed
//! (and fails under CI, which installs it). Then the listener itself: its bounds on TCP
//! connections, the kernel drops of UDP, and its counters in the report.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use siplens::capture;

use siplens::report::Report;

const SAMPLE: &str = "samples/invite-407.pcap";

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE)
}

/// (SIP messages, sorted Call-IDs) of a capture, read by siplens itself.
fn calls_in(path: &Path) -> (u64, Vec<String>) {
    let mut src = capture::open_path(path).expect("capture opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
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

/// Waits for `child` at most `timeout`, killing it past that. Its output is drained as it
/// comes: a report larger than a pipe buffer would otherwise block the child forever.
fn wait_output(mut child: Child, timeout: Duration) -> Output {
    use std::io::Read;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if t0.elapsed() > timeout {
            let _ = child.kill();
            panic!("process did not end within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

#[test]
fn siplens_reads_what_sngrep_sends() {
    if !common::tool("sngrep", "-V", "siplens_reads_what_sngrep_sends") {
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
    if !common::tool("sngrep", "-V", "sngrep_receives_what_siplens_sends") {
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
    assert_eq!(v["hep_listeners"][0]["malformed"], 1);
}

/// The NDJSON summary line carries the listeners' counters, as the JSON report does (it
/// had none: a script reading the stream could not see malformed or dropped HEP packets).
#[test]
fn ndjson_summary_has_the_listener_counters() {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args([
            "report",
            "--format",
            "ndjson",
            "--count",
            "2",
            "--hep-listen",
        ])
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
    for id in ["n1", "n2"] {
        tx.send_to(&hep_packet(id), ("127.0.0.1", port)).unwrap();
    }
    let out = wait_output(child, Duration::from_secs(10));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().expect("a summary line");
    let v: serde_json::Value = serde_json::from_str(last).expect("JSON line");
    assert_eq!(v["event"], "summary", "{last}");
    let h = &v["hep_listeners"][0];
    assert_eq!(h["malformed"], 1, "{last}");
    assert_eq!(h["packets"], 2, "{last}");
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

/// A TCP port free now (the UDP `free_port` says nothing of TCP).
fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("ephemeral port")
        .port()
}

/// Connects to `child`'s listener on `port`, retrying while it starts. A loaded CI machine
/// can take seconds to start it; a listener that exited says why (its stderr).
fn connect_tcp(child: &mut Child, port: u16) -> std::net::TcpStream {
    use std::io::Read;
    let t0 = Instant::now();
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(c) => return c,
            Err(e) => {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut s) = child.stderr.take() {
                        let _ = s.read_to_string(&mut err);
                    }
                    panic!("siplens exited ({status}) before listening on {port}: {err}");
                }
                if t0.elapsed() > Duration::from_secs(60) {
                    panic!("never listened on {port}: {e}");
                }
                std::thread::sleep(Duration::from_millis(50))
            }
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

/// The listener's TCP counters in a JSON report.
fn tcp_stats(v: &serde_json::Value) -> &serde_json::Value {
    let t = &v["hep_listeners"][0]["tcp"];
    assert!(t.is_object(), "no tcp counters: {}", v["hep_listeners"]);
    let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("{k} in {t}"));
    // Every accepted connection is open, or was closed once.
    assert_eq!(
        n("accepted"),
        n("open") + n("closed_by_peer") + n("closed_idle") + n("closed_malformed") + n("evicted"),
        "{t}"
    );
    t
}

/// Three HEP packets in one write.
fn three_messages(prefix: &str) -> Vec<u8> {
    let mut all = Vec::new();
    for i in 1..=3 {
        all.extend_from_slice(&hep_packet(&format!("{prefix}{i}")));
    }
    all
}

/// The connection `r`, or `None` when the listener refused it so fast that the connect
/// call itself saw the reset: on a loaded machine the client can be scheduled after the
/// listener accepted and dropped it (CI saw `connect` fail with ECONNRESET). The listener
/// still counted it, so the counters the tests check are the same either way.
fn connect_or_refused(r: std::io::Result<std::net::TcpStream>) -> Option<std::net::TcpStream> {
    match r {
        Ok(c) => Some(c),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
        Err(e) => panic!("connect: {e}"),
    }
}

/// Idle TCP connections from one address (more than the old fixed cap of 16) must not
/// lock out a real agent from that address for the whole run.
#[test]
fn idle_tcp_connections_do_not_lock_out_an_agent() {
    use std::io::Write;
    let port = free_tcp_port();
    let mut child = listen_json(&format!("tcp:127.0.0.1:{port}"), &[]);
    let mut idle = vec![connect_tcp(&mut child, port)];
    for _ in 0..19 {
        if let Some(c) = connect_or_refused(std::net::TcpStream::connect(("127.0.0.1", port))) {
            idle.push(c);
        }
    }
    // Long enough for the idle ones to count as idle.
    std::thread::sleep(Duration::from_millis(1500));
    let mut agent = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    // A refused connection is closed by the listener: the write may fail, which is the bug.
    let _ = agent.write_all(&three_messages("a"));
    std::thread::sleep(Duration::from_millis(700));
    let v = report_of(&interrupt(child));
    assert_eq!(v["summary"]["sip_messages"], 3, "{}", v["hep_listeners"]);
    let t = tcp_stats(&v);
    // One address holds 4 (the default bound): the rest were refused, the agent evicted one.
    assert_eq!(t["evicted"], 1, "{t}");
    assert_eq!(t["accepted"], 5, "{t}");
    assert_eq!(t["refused_per_peer"], 16, "{t}");
    assert_eq!(v["hep_listeners"][0]["packets"], 3);
    drop(idle);
}

/// A TCP connection to 127.0.0.1:`port` from `src` (any 127/8 address is local on Linux).
#[cfg(target_os = "linux")]
fn connect_from(src: std::net::Ipv4Addr, port: u16) -> std::io::Result<std::net::TcpStream> {
    use rustix::net::{bind_v4, connect_v4, socket, AddressFamily, SocketType};
    use std::net::{Ipv4Addr, SocketAddrV4};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).expect("socket");
    bind_v4(&fd, &SocketAddrV4::new(src, 0)).expect("bind the source address");
    connect_v4(&fd, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))?;
    Ok(std::net::TcpStream::from(fd))
}

/// Idle connections from several addresses filling every slot (the per-address bound
/// does not apply) still give way to a real agent: the longest-idle one is evicted.
#[cfg(target_os = "linux")]
#[test]
fn idle_tcp_connections_from_many_addresses_do_not_lock_out_an_agent() {
    use std::io::Write;
    use std::net::Ipv4Addr;
    let port = free_tcp_port();
    let mut child = listen_json(&format!("tcp:127.0.0.1:{port}"), &["--hep-max-conns", "16"]);
    let mut idle = vec![connect_tcp(&mut child, port)];
    for i in 0..16u8 {
        idle.extend(connect_or_refused(connect_from(
            Ipv4Addr::new(127, 0, 0, 2 + i / 4),
            port,
        )));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let mut agent = connect_from(Ipv4Addr::new(127, 0, 0, 9), port).expect("connect");
    let _ = agent.write_all(&three_messages("m"));
    std::thread::sleep(Duration::from_millis(700));
    let v = report_of(&interrupt(child));
    assert_eq!(v["summary"]["sip_messages"], 3, "{}", v["hep_listeners"]);
    let t = tcp_stats(&v);
    // 17 idle for 16 slots: the 17th waited for one to be idle long enough, else was
    // refused; the agent took the place of the longest-idle.
    assert!(t["evicted"].as_u64() >= Some(1), "{t}");
    assert_eq!(t["open"], 16, "{t}");
    assert_eq!(t["refused_per_peer"], 0, "{t}");
    drop(idle);
}

/// `--hep-idle-timeout` closes connections that send nothing; the agent that talks stays.
#[test]
fn idle_timeout_closes_silent_tcp_connections() {
    use std::io::{Read, Write};
    let port = free_tcp_port();
    let mut child = listen_json(
        &format!("tcp:127.0.0.1:{port}"),
        &["--hep-idle-timeout", "1"],
    );
    let mut quiet = vec![connect_tcp(&mut child, port)];
    for _ in 0..2 {
        quiet.push(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    }
    for c in &mut quiet {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 8];
        // The listener closes it: end of stream, well before the read timeout.
        let t0 = Instant::now();
        assert!(matches!(c.read(&mut b), Ok(0)), "not closed");
        assert!(t0.elapsed() < Duration::from_secs(4));
    }
    let mut agent = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    agent.write_all(&three_messages("q")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let v = report_of(&interrupt(child));
    assert_eq!(v["summary"]["sip_messages"], 3);
    let t = tcp_stats(&v);
    assert_eq!(t["closed_idle"], 3, "{t}");
    assert_eq!(t["open"], 1, "{t}");
}

/// A burst while the reader is frozen (SIGSTOP) overflows a small receive buffer: the
/// kernel's drops are in the report, beside the capture drop counts, and on stderr, and
/// with what was read they account for every datagram sent.
#[cfg(target_os = "linux")]
#[test]
fn udp_kernel_drops_are_reported() {
    let port = free_port();
    let child = listen_json(
        &format!("udp:127.0.0.1:{port}"),
        &["--hep-rcvbuf", "0.01", "--duration", "4"],
    );
    assert!(
        wait_bound(port, Duration::from_secs(10)),
        "never bound {port}"
    );
    let pid = child.id().to_string();
    let signal = |s: &str| {
        assert!(Command::new("kill")
            .args([s, &pid])
            .status()
            .is_ok_and(|st| st.success()));
    };
    signal("-STOP");
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sent = 500u64;
    for i in 0..sent {
        tx.send_to(&hep_packet(&format!("burst{i}")), ("127.0.0.1", port))
            .unwrap();
    }
    signal("-CONT");
    let out = wait_output(child, Duration::from_secs(15));
    let v = report_of(&out);
    let h = &v["hep_listeners"][0];
    let drops = h["kernel_drops"].as_u64().expect("kernel_drops");
    let packets = h["packets"].as_u64().expect("packets");
    assert!(drops > 0 && packets > 0, "{h}");
    assert_eq!(drops + packets, sent, "{h}");
    assert!(h["rcvbuf_bytes"].as_u64() < Some(64 * 1024), "{h}");
    assert_eq!(v["capture"][0]["dropped_by_kernel"], drops);
    assert_eq!(v["summary"]["sip_messages"], packets);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{drops} HEP datagrams dropped by the kernel")),
        "{err}"
    );
}

/// The number of malformed HEP packets the warning prints is the one in the JSON report
/// (it used to be only on stderr, with an unrelated count in the JSON).
#[test]
fn malformed_count_is_the_same_on_stderr_and_in_json() {
    use std::io::Write;
    let (up, tp) = (free_port(), free_tcp_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json"])
        .args(["--hep-listen", &format!("udp:127.0.0.1:{up}")])
        .args(["--hep-listen", &format!("tcp:127.0.0.1:{tp}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("siplens runs");
    let mut conn = connect_tcp(&mut child, tp);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..7 {
        tx.send_to(format!("junk {i}").as_bytes(), ("127.0.0.1", up))
            .unwrap();
    }
    tx.send_to(&hep_packet("ok1"), ("127.0.0.1", up)).unwrap();
    // One good packet, then a stream that is no HEP any more: one more malformed.
    let mut bytes = hep_packet("ok2");
    bytes.extend_from_slice(b"GARBAGE!GARBAGE!");
    conn.write_all(&bytes).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let out = interrupt(child);
    let v = report_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    let printed: u64 = err
        .lines()
        .find(|l| l.contains("malformed HEP packets skipped"))
        .and_then(|l| l.split("warning: ").nth(1))
        .and_then(|w| w.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no malformed warning: {err}"));
    let ls = v["hep_listeners"].as_array().expect("hep_listeners");
    let in_json: u64 = ls.iter().map(|l| l["malformed"].as_u64().unwrap()).sum();
    assert_eq!(printed, in_json, "{err}");
    assert_eq!(in_json, 8);
    assert_eq!(ls[1]["tcp"]["closed_malformed"], 1);
    assert_eq!(v["summary"]["sip_messages"], 2);
}

/// A file run has no listener section: file reports keep their shape.
#[test]
fn file_reports_have_no_listener_section() {
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json"])
        .arg(sample())
        .output()
        .expect("siplens runs");
    let v = report_of(&out);
    assert!(v.get("hep_listeners").is_none());
    assert!(v.get("capture").is_none());
}
