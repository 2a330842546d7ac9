//! Helpers shared by the integration tests (each test file that needs them says
//! `mod common;`).
//!
//! Tests that drive an outside program (tshark, tmux, sngrep, SIPp, ...) call [`tool`]
//! first: on a machine with only Rust the test skips with a printed reason, so `cargo test`
//! passes there; under CI (the `CI` variable set, as `.ci/run` is run) a missing program
//! is a failure, since CI installs them all.

#![allow(dead_code)]

use std::process::{Command, Stdio};

/// Whether the outside program `name` can be run (probed as `name probe_arg`, which must
/// not block: `-V`, `--version`, ...). When it cannot: under CI this panics (CI installs
/// every tool its tests drive); elsewhere it prints why the test `test` is skipped and
/// returns false.
pub fn tool(name: &str, probe_arg: &str, test: &str) -> bool {
    // Only whether it starts matters: a missing file (NotFound) and one that may not be
    // executed (PermissionDenied) both mean the program is not there to drive.
    let err = match Command::new(name)
        .arg(probe_arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => return true,
        Err(e) => e,
    };
    if in_ci() {
        panic!("{name} cannot be run ({err}), and CI must run {test}: install it in .ci/run");
    }
    // Some tests only skip their checks through `name` and still run the rest: say so.
    println!(
        "skipping {test} (or its part that needs {name}): {name} cannot be run ({err}); \
         CI installs it and runs this test"
    );
    false
}

/// Whether the tests run under CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether the tests run as root (live capture and network namespaces need it). Under CI,
/// which runs as root, not being root is a failure.
pub fn root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    if in_ci() {
        panic!("CI runs as root, but {test} is not running as root");
    }
    println!("skipping {test}: it needs root");
    false
}

/// Whether the tests run as root, for a test that runs either way (no skip, no panic).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Stops a child started as `timeout N PROGRAM ...`: SIGTERM first, which `timeout` passes
/// on to PROGRAM, then SIGKILL if it is still there after 2 s, and reaps it. A plain
/// `Child::kill` sends SIGKILL to `timeout` alone and leaves PROGRAM running with no bound
/// (a SIPp UAS then held its port for the rest of the session).
#[allow(dead_code)] // not every test binary that includes this module stops children
pub fn stop(child: &mut std::process::Child) {
    if let Ok(None) = child.try_wait() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_secs(2) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// True while a process whose command line contains `pattern` runs (`pgrep -f`).
#[allow(dead_code)]
pub fn running(pattern: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// An Ethernet/IPv4/UDP frame carrying `payload` from `src` to `dst` (address, port),
/// captured `ms` milliseconds after a fixed epoch.
pub fn udp_frame(
    number: u64,
    ms: u64,
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    payload: &[u8],
) -> siplens::capture::Frame {
    let builder = etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
        .ipv4(src.0, dst.0, 64)
        .udp(src.1, dst.1);
    let mut data = Vec::new();
    builder.write(&mut data, payload).expect("build");
    siplens::capture::Frame {
        number,
        ts: siplens::capture::Timestamp(1_700_000_000_000_000_000 + ms * 1_000_000),
        link_type: siplens::capture::LinkType::ETHERNET,
        orig_len: data.len() as u32,
        data,
        interface: 0,
    }
}

/// A 20 ms PCMU RTP packet (PT 0, timestamp seq × 160, 160 payload bytes).
pub fn rtp_packet(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xff; 160]);
    p
}
