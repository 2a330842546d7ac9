//! The dashboard on a real terminal: `siplens FILE` inside a detached tmux session, driven
//! with send-keys and read with capture-pane. Skipped (with a notice) when tmux is absent,
//! a failure under CI.

mod common;

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
    /// Kills the server, and first any dashboard still running in it: one that outlived
    /// its terminal would spin until SIGKILL.
    fn drop(&mut self) {
        let left: Vec<Reaper> = self.siplens_pids().into_iter().map(Reaper).collect();
        let _ = self.cmd(&["kill-server"]);
        drop(left);
    }
}

/// Starts `siplens` on the basic sample in a 160x40 session of a tmux server of its own;
/// the shell prints the exit status afterwards, so a test sees the normal screen return.
/// None (with a notice) when tmux or one of `tools` (each with the argument that probes
/// it) is not installed.
fn start(name: &str, tools: &[(&str, &str)]) -> Option<Tmux> {
    start_on(name, tools, "basic-call-rtp.pcap", (160, 40), "")
}

/// [`start`] on any sample, terminal size and extra arguments.
fn start_on(
    name: &str,
    tools: &[(&str, &str)],
    sample: &str,
    (w, h): (u16, u16),
    args: &str,
) -> Option<Tmux> {
    start_cmd(
        name,
        tools,
        &format!("{} {args} {}", bin(), sample_path(sample)),
        (w, h),
    )
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_siplens")
}

fn sample_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
        .display()
        .to_string()
}

/// A tmux session of its own running `cmd` (then the exit status, then a pause); None
/// (with a notice) when tmux or one of `tools` is not installed.
fn start_cmd(name: &str, tools: &[(&str, &str)], cmd: &str, (w, h): (u16, u16)) -> Option<Tmux> {
    let all = [("tmux", "-V")].into_iter().chain(tools.iter().copied());
    for (tool, probe) in all {
        if !common::tool(tool, probe, name) {
            return None;
        }
    }
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
    let Some(tmux) = start("dashboard_in_tmux", &[]) else {
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

impl Tmux {
    /// The `siplens` processes under the pane's shell (possibly behind a `setsid`).
    fn siplens_pids(&self) -> Vec<u32> {
        let panes = self.cmd(&["list-panes", "-a", "-F", "#{pane_pid}"]).stdout;
        let mut todo: Vec<String> = String::from_utf8_lossy(&panes)
            .split_whitespace()
            .map(String::from)
            .collect();
        let mut found = Vec::new();
        while let Some(p) = todo.pop() {
            if comm(&p).as_deref() == Some("siplens") {
                found.extend(p.parse::<u32>().ok());
            }
            // Without pgrep (a test skipped for want of it) there is nothing to find.
            if let Ok(out) = Command::new("pgrep").args(["-P", &p]).output() {
                let children = String::from_utf8_lossy(&out.stdout);
                todo.extend(children.split_whitespace().map(String::from));
            }
        }
        found
    }

    /// The pid of the dashboard, waiting for it a moment.
    fn dashboard_pid(&self) -> u32 {
        let t0 = Instant::now();
        loop {
            if let Some(&pid) = self.siplens_pids().first() {
                return pid;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no siplens process in the tmux session"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The command name of a process.
fn comm(pid: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Whether the process has ended (gone, or a zombie its parent has not reaped yet).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name, which is in parentheses and may hold any
        // character: read after the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// SIGKILLs a process left running when dropped, so that a failed test leaves no dashboard
/// spinning on a dead terminal.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        if !ended(self.0) {
            let _ = Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
}

/// How long the process `pid` takes to end, up to `limit` (None: still running then).
fn time_to_end(pid: u32, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    loop {
        if ended(pid) {
            return Some(t0.elapsed());
        }
        if t0.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGTERM, SIGHUP and SIGINT each end the dashboard within a second, with the terminal
/// restored (the shell's screen is back) and exit status 0, as `q` would.
#[test]
fn stop_signals_end_it_and_restore_the_terminal() {
    for sig in ["TERM", "HUP", "INT"] {
        let name = format!("stop_signals_{sig}");
        let Some(tmux) = start(&name, &[("pgrep", "-V"), ("kill", "-V")]) else {
            return;
        };
        tmux.wait_for(&["Calls (1/1)", "INVITE"]);
        let pid = tmux.dashboard_pid();
        let _reaper = Reaper(pid);
        let killed = Command::new("kill")
            .args([&format!("-{sig}"), &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let took = time_to_end(pid, Duration::from_secs(1));
        assert!(took.is_some(), "SIG{sig}: still running after 1 s");
        let s = tmux.wait_for(&["siplens-exited-0"]);
        assert!(
            !s.contains("Calls (1/1)"),
            "alternate screen left after SIG{sig}:\n{s}"
        );
    }
}

/// Killing the tmux session under the dashboard (as a dropped SSH connection does) ends
/// it within 2 s; it used to spin on the dead terminal until SIGKILL.
#[test]
fn killed_session_ends_the_dashboard() {
    let Some(tmux) = start("killed_session_ends_the_dashboard", &[("pgrep", "-V")]) else {
        return;
    };
    tmux.wait_for(&["Calls (1/1)", "INVITE"]);
    let pid = tmux.dashboard_pid();
    let _reaper = Reaper(pid);
    assert!(tmux.cmd(&["kill-session", "-t", "t"]).status.success());
    let took = time_to_end(pid, Duration::from_secs(2));
    assert!(
        took.is_some(),
        "still running 2 s after its terminal went away"
    );
}

/// The same without a SIGHUP: the dashboard in a session of its own (`setsid`), which the
/// hangup of the tmux pane signals neither from the kernel nor from tmux. It has to see by
/// itself that its terminal is gone (it reads end of file forever).
#[test]
fn hung_up_terminal_ends_the_dashboard_without_sighup() {
    let name = "hung_up_terminal_ends_the_dashboard_without_sighup";
    let cmd = format!("setsid -w {} {}", bin(), sample_path("basic-call-rtp.pcap"));
    let tools = [("pgrep", "-V"), ("setsid", "-V")];
    let Some(tmux) = start_cmd(name, &tools, &cmd, (160, 40)) else {
        return;
    };
    tmux.wait_for(&["Calls (1/1)", "INVITE"]);
    let pid = tmux.dashboard_pid();
    let _reaper = Reaper(pid);
    assert!(tmux.cmd(&["kill-server"]).status.success());
    let took = time_to_end(pid, Duration::from_secs(2));
    assert!(
        took.is_some(),
        "still running 2 s after its terminal hung up"
    );
}

/// On a terminal but with stdin not one (`< /dev/null`): `siplens tui` refuses at once
/// with the no-terminal message, `siplens FILE` prints the text report; neither waits on
/// the empty stdin.
#[test]
fn stdin_not_a_terminal() {
    let sample = sample_path("basic-call-rtp.pcap");
    let cmd = format!(
        "{bin} tui {sample} < /dev/null; echo tui-exited-$?; {bin} {sample} < /dev/null",
        bin = bin()
    );
    let Some(tmux) = start_cmd("stdin_not_a_terminal", &[], &cmd, (200, 50)) else {
        return;
    };
    let s = tmux.wait_for(&["tui-exited-2", "siplens-exited-0"]);
    assert!(s.contains("the dashboard needs a terminal"), "{s}");
    assert!(s.contains("siplens report FILE"), "{s}");
    assert!(
        s.contains("siplens 0.1.0 report") || s.contains("input:"),
        "{s}"
    );
    assert!(!s.contains("Calls (1/1)"), "a dashboard was drawn:\n{s}");
}

/// At 80x24 with the sngrep-like keys: filter, save of the filtered calls to a pcap that
/// reads back as that one call, findings → jump to the evidence, stats.
#[test]
fn filter_findings_stats_and_save_at_80x24() {
    let Some(tmux) = start_on(
        "filter_findings_stats_and_save_at_80x24",
        &[],
        "kamailio-auth.pcap",
        (80, 24),
        "",
    ) else {
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
    // An Escape read together with the next key is Alt+key: wait for it to land alone.
    tmux.wait_for(&["sorted by"]);

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
    let name = "live_dashboard_shows_calls_as_they_happen";
    if !common::root(name) {
        return;
    }
    let cmd = format!("{} tui -i lo -f 'udp port 15180 or udp port 15181'", bin());
    let tools = [("sipp", "-v"), ("timeout", "--version")];
    let Some(tmux) = start_cmd(name, &tools, &cmd, (120, 30)) else {
        return;
    };
    tmux.wait_for(&["[LIVE, following]", "Calls (0/0)"]);
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            common::stop(&mut self.0);
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
    // An Escape read together with the next key is Alt+key: wait for it to land alone.
    tmux.wait_for(&["sorted by"]);
    tmux.keys(&["p"]);
    tmux.wait_for(&["[LIVE, paused]"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["siplens-exited-0"]);
}

/// A live dashboard whose terminal goes away (the tmux session killed) ends, capture and
/// all, within 2 s, with or without the SIGHUP. The filter matches nothing, so the capture
/// sits in libpcap: only the dashboard's return can stop it. Needs the `live` feature and
/// root (capture rights).
#[cfg(feature = "live")]
#[test]
fn live_dashboard_ends_with_its_terminal() {
    let name = "live_dashboard_ends_with_its_terminal";
    if !common::root(name) {
        return;
    }
    for prefix in ["", "setsid -w "] {
        let cmd = format!("{prefix}{} tui -i lo -f 'udp port 15997'", bin());
        let tools = [("pgrep", "-V"), ("setsid", "-V")];
        let Some(tmux) = start_cmd(name, &tools, &cmd, (120, 30)) else {
            return;
        };
        tmux.wait_for(&["[LIVE, following]"]);
        let pid = tmux.dashboard_pid();
        let _reaper = Reaper(pid);
        assert!(tmux.cmd(&["kill-session", "-t", "t"]).status.success());
        let took = time_to_end(pid, Duration::from_secs(2));
        assert!(
            took.is_some(),
            "{prefix}live dashboard still running 2 s after its terminal went away"
        );
    }
}

/// The dashboard options on a real terminal: `--columns` (which once panicked before the
/// screen opened), `--alias`, `--theme` and `-Y`, in `siplens FILE` and `siplens tui FILE`.
#[test]
fn columns_alias_theme_and_filter_reach_the_dashboard() {
    for sub in ["", "tui"] {
        let args = format!(
            "{sub} --columns index,method,from,User-Agent --alias 10.254.1.1=pbx \
             --theme light -Y 'method = INVITE'"
        );
        let name = format!("options{sub}");
        let Some(tmux) = start_on(&name, &[], "kamailio-auth.pcap", (160, 40), &args) else {
            return;
        };
        // The chosen columns (a header name among them), one call of four kept.
        let s = tmux.wait_for(&["User-Agent", "(1/4"]);
        assert!(!s.contains("STATE"), "state is not a chosen column:\n{s}");
        // Its ladder names the aliased address.
        tmux.keys(&["Enter"]);
        tmux.wait_for(&["pbx", "10.254.1.2:5060"]);
        tmux.keys(&["Q"]);
        tmux.wait_for(&["siplens-exited-0"]);
    }
}
