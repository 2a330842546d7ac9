//! The dashboard options on a real terminal: `--columns` (which once panicked before the
//! screen opened), `--alias`, `--theme` and `-Y`, in `siplens FILE` and `siplens tui FILE`
//! inside a detached tmux session of its own.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

/// A tmux server on its own socket, killed when dropped.
struct Session(String);

impl Session {
    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.0])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn wait_for(&self, what: &[&str]) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if what.iter().all(|w| s.contains(w)) {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "screen never showed {what:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn columns_alias_theme_and_filter_reach_the_dashboard() {
    if !common::tool("tmux", "-V", "the dashboard options test") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_siplens");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/kamailio-auth.pcap");
    for (i, sub) in ["", "tui"].iter().enumerate() {
        let s = Session(format!("siplens-opts-{}-{i}", std::process::id()));
        let line = format!(
            "{bin} {sub} --columns index,method,from,User-Agent --alias 10.254.1.1=pbx \
             --theme light -Y 'method = INVITE' {}; echo siplens-exited-$?; sleep 30",
            sample.display()
        );
        let out = s.tmux(&[
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
        // The chosen columns (a header name among them), one call of four kept.
        let screen = s.wait_for(&["User-Agent", "(1/4"]);
        assert!(!screen.contains("siplens-exited-101"), "{screen}");
        assert!(
            !screen.contains("STATE"),
            "state is not a chosen column:\n{screen}"
        );
        // Its ladder names the aliased address.
        s.tmux(&["send-keys", "-t", "t", "Enter"]);
        s.wait_for(&["pbx", "10.254.1.2:5060"]);
        s.tmux(&["send-keys", "-t", "t", "Q"]);
        s.wait_for(&["siplens-exited-0"]);
    }
}
