//! Every `siplens` command shown in README.md and docs/*.md is run, so the documentation
//! cannot drift from the program.
//!
//! Each line of a ```sh block that calls siplens (or `cargo run --release --`) runs through
//! `sh` in a scratch directory holding the samples, with `siplens` on the PATH being the
//! binary under test. A command must not be refused by the argument parser nor panic; it
//! must succeed, except for what this machine cannot do (live capture without the `live`
//! feature or rights, a file the example names as the user's own). A ```text output block
//! right after a ```sh block must be exactly what the block's last command prints.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One ```sh block: its commands (continuations joined) and the ```text output block after
/// it, if any.
struct Block {
    file: String,
    line: usize,
    commands: Vec<String>,
    output: Option<String>,
}

fn blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).expect("doc readable");
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    let mut out: Vec<Block> = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    let mut last_closed_sh: Option<usize> = None;
    while let Some((i, l)) = lines.next() {
        let fence = l.trim_start();
        if !fence.starts_with("```") {
            if !l.trim().is_empty() {
                last_closed_sh = None;
            }
            continue;
        }
        let info = fence.trim_start_matches('`').trim();
        let mut body = Vec::new();
        for (_, b) in lines.by_ref() {
            if b.trim_start().starts_with("```") {
                break;
            }
            body.push(b.to_string());
        }
        match info {
            "sh" => {
                let mut commands = Vec::new();
                let mut cur = String::new();
                for b in &body {
                    match b.strip_suffix('\\') {
                        Some(part) => cur.push_str(part),
                        None => {
                            cur.push_str(b);
                            commands.push(std::mem::take(&mut cur));
                        }
                    }
                }
                out.push(Block {
                    file: name.clone(),
                    line: i + 1,
                    commands,
                    output: None,
                });
                last_closed_sh = Some(out.len() - 1);
                continue;
            }
            "text output" => {
                let at = last_closed_sh.unwrap_or_else(|| {
                    panic!("{name}:{}: a text output block follows no sh block", i + 1)
                });
                out[at].output = Some(body.join("\n") + "\n");
            }
            "" => {
                // A command block must say it is one, or it would escape this test.
                let commandish = body.iter().any(|b| runnable(b).is_some());
                assert!(
                    !commandish,
                    "{name}:{}: a code block of commands has no `sh` tag",
                    i + 1
                );
            }
            _ => {}
        }
        last_closed_sh = None;
    }
    out
}

fn doc_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The shell command to run for a documented one, or None when it does not call siplens.
fn runnable(cmd: &str) -> Option<String> {
    let trimmed = cmd.trim();
    let cmd = trimmed.strip_prefix("sudo ").unwrap_or(trimmed);
    let cmd = match cmd.strip_prefix("cargo run --release -- ") {
        Some(rest) => format!("siplens {rest}"),
        None => cmd.to_string(),
    };
    // Leading variable assignments (`NO_COLOR=1 siplens ...`) stay in the command.
    let bare = cmd
        .split_whitespace()
        .find(|w| !w.contains('='))
        .unwrap_or_default();
    (bare == "siplens" || cmd.contains("| siplens ")).then_some(cmd)
}

/// A scratch directory with `samples` linked in and `bin/siplens` the binary under test.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siplens-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).expect("scratch");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::os::unix::fs::symlink(root.join("samples"), dir.join("samples")).expect("link");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_siplens"), dir.join("bin/siplens"))
        .expect("link");
    dir
}

/// What this machine cannot do, as siplens words it: an example that hits one of these
/// still proves its arguments parse.
const CANNOT_HERE: &[&str] = &[
    "built without live capture",
    "capture permission",
    "permission denied",
    "needs a terminal",
];

#[test]
fn every_documented_command_runs() {
    let dir = scratch();
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in doc_files() {
        for block in blocks(&file) {
            let n = block.commands.len();
            for (k, cmd) in block.commands.iter().enumerate() {
                let Some(sh) = runnable(cmd) else { continue };
                let whole = format!("set -o pipefail; {sh}");
                let mut child = Command::new("bash")
                    .args(["-c", &whole])
                    .current_dir(&dir)
                    .env("PATH", &path)
                    .env("NO_COLOR", "1")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("bash");
                // Bounded: a documented live run without --duration is stopped here.
                let t0 = Instant::now();
                let status = loop {
                    match child.try_wait().expect("wait") {
                        Some(s) => break Some(s),
                        None if t0.elapsed() > Duration::from_secs(20) => {
                            let _ = child.kill();
                            break None;
                        }
                        None => std::thread::sleep(Duration::from_millis(20)),
                    }
                };
                let out = child.wait_with_output().expect("output");
                ran += 1;
                let err = String::from_utf8_lossy(&out.stderr).into_owned();
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                let at = format!("{}:{}: `{}`", block.file, block.line, cmd.trim());
                let code = status.and_then(|s| s.code());
                // An example of a refusal shows it in a text output block, compared below.
                let shows_output = k + 1 == n && block.output.is_some();
                if err.contains("panicked") || (err.contains("Usage:") && !shows_output) {
                    failures.push(format!("{at}: refused or panicked: {err}"));
                    continue;
                }
                let ok = match code {
                    Some(0) => true,
                    Some(1) => cmd.contains("--fail-on"),
                    None => sh.contains(" -i ") || sh.contains("--hep-listen"),
                    Some(_) => CANNOT_HERE.iter().any(|c| err.contains(c)),
                };
                if !ok {
                    failures.push(format!("{at}: exit {code:?}: {err}"));
                    continue;
                }
                // A capture the example names must be there once it ran: a sample that
                // exists, or a file the command wrote (not a live capture's -w output, which
                // this machine may not be able to make).
                let words: Vec<&str> = sh.split_whitespace().collect();
                for (i, w) in words.iter().enumerate() {
                    let w = w.trim_matches(|c| c == '\'' || c == '"');
                    let after_write = i > 0 && matches!(words[i - 1], "-w" | "--write");
                    let capture = [".pcap", ".pcapng", ".pcap.gz"]
                        .iter()
                        .any(|x| w.ends_with(x));
                    if capture && !after_write && !dir.join(w).exists() {
                        failures.push(format!("{at}: names {w}, which does not exist"));
                    }
                }
                if k + 1 == n {
                    if let Some(want) = &block.output {
                        if &stdout != want {
                            failures.push(format!(
                                "{at}: output differs from the text output block:\n{stdout}"
                            ));
                        }
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 20, "only {ran} documented commands found");
}

#[test]
fn docs_name_no_file_outside_the_repository() {
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).expect("doc");
        assert!(
            !text.contains("../shared") && !text.contains("DESIGN.md"),
            "{} cites a file that is not in the repository",
            file.display()
        );
    }
}
