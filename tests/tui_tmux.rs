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
    start_on(name, tools, "basic-call-rtp.pcap", (160, 40), "")
}

/// [`start`] on any sample, terminal size and extra arguments.
fn start_on(
    name: &str,
    tools: &[&str],
    sample: &str,
    (w, h): (u16, u16),
    args: &str,
) -> Option<Tmux> {
    if let Some(t) = tools
        .iter()
        .find(|t| Command::new(t).arg("-V").output().is_err())
    {
        println!("{t} not installed: skipping the {name} test of the dashboard");
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_siplens");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(sample);
    start_cmd(name, &format!("{bin} {args} {}", sample.display()), (w, h))
}

/// A tmux session of its own running `cmd` (then the exit status, then a pause).
fn start_cmd(name: &str, cmd: &str, (w, h): (u16, u16)) -> Option<Tmux> {
    let tmux = Tmux {
        socket: format!("siplens-{name}-{}", std::process::id()),
    };
    let line = format!("{cmd}; echo siplens-exited-$?; sleep 30");
    let (w, h) = (w.to_string(), h.to_string());
    let out = tmux.cmd(&["new-session", "-d", "-s", "t", "-x", &w, "-y", &h, &line]);
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

/// At 80x24 with the sngrep-like keys: filter, save of the filtered calls to a pcap that
/// reads back as that one call, findings → jump to the evidence, stats.
#[test]
fn filter_findings_stats_and_save_at_80x24() {
    let Some(tmux) = start_on("save", &["tmux"], "kamailio-auth.pcap", (80, 24), "") else {
        return;
    };
    tmux.wait_for(&["Calls (4/4)", "REGISTER"]);

    tmux.keys(&["/"]);
    tmux.keys(&["-l", "method = INVITE"]);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for(&["Calls (1/4)", "filter: method = INVITE"]);
    assert!(!s.contains("REGISTER"), "{s}");

    let dir = std::env::temp_dir().join(format!("siplens-tmux-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("invite.pcap");
    tmux.keys(&["w"]);
    tmux.wait_for(&["save to: siplens-calls.pcap"]);
    for _ in 0.."siplens-calls.pcap".len() {
        tmux.keys(&["BSpace"]);
    }
    tmux.keys(&["-l", &out.display().to_string()]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(&["saved", "SIP"]);

    let report = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json"])
        .arg(&out)
        .output()
        .expect("siplens runs");
    assert!(report.status.success(), "{report:?}");
    let json: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    let dialogs = json["dialogs"].as_array().expect("dialogs");
    assert_eq!(dialogs.len(), 1, "only the filtered call was saved");
    assert_eq!(dialogs[0]["method"], "INVITE");
    let _ = std::fs::remove_dir_all(&dir);

    // A finding of a call the filter hides clears the filter to show it.
    tmux.keys(&["f"]);
    tmux.wait_for(&["Findings (", "auth.digest"]);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for(&["Call #", "Esc back"]);
    assert!(s.contains('►') || s.contains('◄'), "ladder:\n{s}");
    tmux.keys(&["Escape"]);
    tmux.wait_for(&["Findings ("]);
    tmux.keys(&["Escape"]);
    tmux.wait_for(&["Calls ("]);

    tmux.keys(&["i"]);
    tmux.wait_for(&["Statistics", "Requests by method", "INVITE"]);
    tmux.keys(&["Escape"]);

    tmux.keys(&["q"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["siplens-exited-0"]);
}

/// Live mode: `siplens tui -i lo` while SIPp places calls on loopback; the calls appear
/// while the capture runs, the stats view shows the capture counters, `q` stops it all.
/// Needs the `live` feature, root (capture rights) and SIPp; skipped otherwise.
#[cfg(feature = "live")]
#[test]
fn live_dashboard_shows_calls_as_they_happen() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !root || Command::new("sipp").arg("-v").output().is_err() {
        println!("not root or no sipp: skipping the live dashboard test");
        return;
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("tmux not installed: skipping the live dashboard test");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_siplens");
    let cmd = format!("{bin} tui -i lo -f 'udp port 15180 or udp port 15181'");
    let Some(tmux) = start_cmd("live", &cmd, (120, 30)) else {
        return;
    };
    tmux.wait_for(&["[LIVE, following]", "Calls (0/0)"]);
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _uas = Kill(
        Command::new("timeout")
            .args([
                "60",
                "sipp",
                "-sn",
                "uas",
                "-p",
                "15180",
                "-i",
                "127.0.0.1",
                "-nostdin",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sipp uas"),
    );
    std::thread::sleep(Duration::from_millis(500));
    let uac = Command::new("timeout")
        .args([
            "30",
            "sipp",
            "-sn",
            "uac",
            "127.0.0.1:15180",
            "-p",
            "15181",
            "-i",
            "127.0.0.1",
            "-m",
            "3",
            "-r",
            "3",
            "-d",
            "300",
            "-nostdin",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("sipp uac");
    assert!(uac.success(), "sipp uac: {uac:?}");
    let s = tmux.wait_for(&["Calls (3/3)", "completed 200"]);
    assert!(s.contains("INVITE"), "{s}");
    tmux.keys(&["i"]);
    tmux.wait_for(&["Capture lo", "dropped by siplens"]);
    tmux.keys(&["Escape"]);
    tmux.keys(&["p"]);
    tmux.wait_for(&["[LIVE, paused]"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["siplens-exited-0"]);
}
