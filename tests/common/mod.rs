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
    let ran = Command::new(name)
        .arg(probe_arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if ran {
        return true;
    }
    if in_ci() {
        panic!("{name} is not installed, and CI must run {test}: install it in .ci/run");
    }
    println!("skipping {test}: {name} is not installed (CI installs it and runs this test)");
    false
}

/// Whether the tests run under CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether the tests run as root (live capture and network namespaces need it). Under CI,
/// which runs as root, not being root is a failure.
pub fn root(test: &str) -> bool {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string());
    if uid.as_deref() == Some("0") {
        return true;
    }
    if in_ci() {
        panic!("CI runs as root, but {test} is not running as root");
    }
    println!("skipping {test}: it needs root");
    false
}
