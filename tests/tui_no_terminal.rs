//! `siplens tui` without a terminal (pipes, as in a script or CI): it says that the
//! dashboard needs one and points at `siplens report`, instead of an OS error about
//! /dev/tty, and never draws anywhere.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn siplens(args: &[&str]) -> Output {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/basic-call-rtp.pcap");
    Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(args)
        .arg(sample)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("siplens runs")
}

#[test]
fn tui_without_a_terminal_says_so() {
    let out = siplens(&["tui"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        err.contains("the dashboard needs a terminal")
            && err.contains("use `siplens report FILE` for a text or JSON report"),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
    assert!(out.stdout.is_empty(), "nothing drawn: {out:?}");
}

/// A bad initial filter is reported as such, before the terminal check.
#[test]
fn bad_display_filter_is_named() {
    let out = siplens(&["tui", "--display-filter", "method =="]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(err.contains("--display-filter: "), "{err}");
    assert!(!err.contains("needs a terminal"), "{err}");
}
