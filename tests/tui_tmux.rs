//! The dashboard on a real terminal: `siplens FILE` inside a detached tmux session, driven
//! with send-keys and read with capture-pane. Skipped (with a notice) when tmux is absent.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success(), "send-keys {keys:?}");
    }

    /// Waits until the screen contains every string, or panics with the screen.
    fn wait_for(&self, what: &[&str]) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if what.iter().all(|w| s.contains(w)) {
                return s;
            }
            if t0.elapsed() > Duration::from_secs(15) {
                panic!("screen never showed {what:?}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// Starts `siplens` on the basic sample in a 160x40 session of a tmux server of its own;
/// the shell prints the exit status afterwards, so a test sees the normal screen return.
/// None (with a notice) when `tools` are not all installed.
fn start(name: &str, tools: &[&str]) -> Option<Tmux> {
    if let Some(t) = tools
        .iter()
        .find(|t| Command::new(t).arg("-V").output().is_err())
    {
        println!("{t} not installed: skipping the {name} test of the dashboard");
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_siplens");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/basic-call-rtp.pcap");
    let tmux = Tmux {
        socket: format!("siplens-{name}-{}", std::process::id()),
    };
    let line = format!(
        "{bin} {}; echo siplens-exited-$?; sleep 30",
        sample.display()
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "160",
        "-y",
        "40",
        &line,
    ]);
    assert!(out.status.success(), "{out:?}");
    Some(tmux)
}

#[test]
fn dashboard_in_tmux() {
    let Some(tmux) = start("dashboard", &["tmux"]) else {
        return;
    };

    let s = tmux.wait_for(&["Calls (1/1)", "INVITE", "q quit"]);
    assert!(s.contains("completed 200"), "{s}");

    tmux.keys(&["Enter"]);
    let s = tmux.wait_for(&["Call #1", "Tab pane"]);
    assert!(s.contains('►') && s.contains('◄'), "ladder arrows:\n{s}");
    assert!(s.contains("INVITE sip:"), "raw pane:\n{s}");

    tmux.keys(&["Down"]);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for(&["scroll", "CSeq:"]);
    assert!(!s.contains("Tab pane"), "raw view is full screen:\n{s}");

    tmux.keys(&["Escape"]);
    tmux.wait_for(&["Call #1", "Tab pane"]);

    tmux.keys(&["q"]);
    tmux.wait_for(&["Calls (1/1)"]);

    tmux.keys(&["q"]);
    let s = tmux.wait_for(&["siplens-exited-0"]);
    assert!(!s.contains("Calls (1/1)"), "alternate screen left:\n{s}");
}

#[test]
fn sigterm_restores_the_terminal() {
    let Some(tmux) = start("sigterm", &["tmux", "pgrep"]) else {
        return;
    };
    tmux.wait_for(&["Calls (1/1)", "INVITE"]);
    // The dashboard is the child of the pane's shell.
    let shell = String::from_utf8_lossy(
        &tmux
            .cmd(&["list-panes", "-t", "t", "-F", "#{pane_pid}"])
            .stdout,
    )
    .trim()
    .to_string();
    let child = Command::new("pgrep")
        .args(["-P", &shell])
        .output()
        .expect("pgrep runs");
    let pid = String::from_utf8_lossy(&child.stdout).trim().to_string();
    assert!(!pid.is_empty(), "no dashboard process under shell {shell}");
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let s = tmux.wait_for(&["siplens-exited-0"]);
    assert!(
        !s.contains("Calls (1/1)"),
        "alternate screen left after SIGTERM:\n{s}"
    );
}
