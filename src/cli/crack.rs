//! `siplens hashes`, `siplens crack` and `report --wordlist`: the offline password audit
//! commands over [`siplens::crack`].

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use siplens::capture::{self, FrameSource};
use siplens::crack::export::{self, Format};
use siplens::crack::{self, AuditTarget, CrackOutcome, Cracker};
use siplens::engine::{Analyzer, Finding, Limits};

/// Export format of `siplens hashes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HashFormat {
    /// hashcat `-m 11400` (`$sip$*...`).
    Hashcat,
    /// John the Ripper `--format=sip` (`user:$sip$*...`).
    John,
}

/// Arguments of `siplens hashes`.
#[derive(Args, Debug)]
pub struct HashesArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Line format.
    #[arg(long, value_enum, default_value_t = HashFormat::Hashcat)]
    format: HashFormat,
    /// Write the lines to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "OUT")]
    output: Option<PathBuf>,
    /// TLS decryption, for Digest exchanges carried over TLS.
    #[command(flatten)]
    tls: super::tls::TlsArgs,
}

/// Arguments of `siplens crack`.
#[derive(Args, Debug)]
pub struct CrackArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Wordlist: one candidate password per line. (No `-w`: across siplens `-w` writes a
    /// capture, as in tcpdump.)
    #[arg(long, value_name = "WORDLIST")]
    wordlist: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Never draw a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// TLS decryption, for Digest exchanges carried over TLS.
    #[command(flatten)]
    tls: super::tls::TlsArgs,
}

/// Threads to use: the request, or every core.
pub fn threads(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Reads a whole wordlist; a clear error naming the file otherwise.
pub fn read_wordlist(path: &Path) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!("siplens: error: wordlist {}: {e}", path.display());
        ExitCode::from(2)
    })
}

/// Runs the captures through the engine (no progress bar, no message text kept).
fn load(files: &[PathBuf], tls: &super::tls::TlsArgs) -> Result<Analyzer, ExitCode> {
    let keys = tls.load()?;
    let mut sources = Vec::new();
    for path in files {
        match capture::open_path(path) {
            Ok(s) => sources.push(s),
            Err(e) => {
                eprintln!("siplens: error: {e}");
                return Err(ExitCode::from(2));
            }
        }
    }
    let mut analyzer = siplens::rules::analyzer(Limits {
        max_raw_bytes: 0,
        ..Limits::default()
    });
    analyzer.set_tls_keys(keys);
    analyzer.set_srtp_keys(tls.srtp_key.clone());
    let mut empty = false;
    for source in &mut sources {
        let info = analyzer.run_source(source as &mut dyn FrameSource, &mut |_, _| {});
        empty |= !crate::input_yielded(info, "using");
    }
    if empty {
        return Err(ExitCode::from(2));
    }
    Ok(analyzer)
}

/// Every Digest response of the analysed captures, with notes on stderr for the ones
/// that cannot be attacked.
fn targets(analyzer: &Analyzer) -> Vec<AuditTarget> {
    let (targets, skipped) = crack::targets_of(
        analyzer
            .dialogs()
            .flat_map(|d| d.auth().iter().map(move |a| (d.call_id.as_str(), a))),
    );
    for (frame, user, why) in skipped {
        eprintln!(
            "siplens: note: frame {frame}, user '{}': Digest response skipped: {why}",
            user.as_deref().unwrap_or("?")
        );
    }
    targets
}

/// `siplens hashes`.
pub fn run_hashes(args: &HashesArgs) -> ExitCode {
    let analyzer = match load(&args.files, &args.tls) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let targets = targets(&analyzer);
    let format = match args.format {
        HashFormat::Hashcat => Format::Hashcat,
        HashFormat::John => Format::John,
    };
    let mut lines: Vec<String> = Vec::new();
    let mut skipped = 0usize;
    for t in &targets {
        let frame = t.frames.first().copied().unwrap_or(0);
        match export::line(
            &t.target,
            &t.dst.ip().to_string(),
            &t.src.ip().to_string(),
            format,
        ) {
            Ok(l) if !lines.contains(&l) => lines.push(l),
            Ok(_) => {}
            Err(why) => {
                skipped += 1;
                eprintln!(
                    "siplens: note: frame {frame}, user '{}' ({}): not exported: {why}",
                    t.target.user, t.target.algorithm
                );
            }
        }
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    let written = match &args.output {
        Some(p) => std::fs::write(p, &text).map_err(|e| (p.display().to_string(), e)),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| ("stdout".to_string(), e))
        }
    };
    match written {
        Err((_, e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err((what, e)) => {
            eprintln!("siplens: error: writing {what}: {e}");
            return ExitCode::from(2);
        }
        Ok(()) => {}
    }
    eprintln!(
        "siplens: {} Digest response(s), {} line(s) written ({}), {skipped} not exportable",
        targets.len(),
        lines.len(),
        match args.format {
            HashFormat::Hashcat => "hashcat -m 11400",
            HashFormat::John => "john --format=sip",
        }
    );
    ExitCode::SUCCESS
}

/// Runs the cracker, drawing a progress bar on stderr when `bar` (after one second).
fn crack_with_progress(
    targets: &[AuditTarget],
    wordlist: &[u8],
    threads: usize,
    bar: bool,
) -> CrackOutcome {
    let list: Vec<crack::DigestTarget> = targets.iter().map(|t| t.target.clone()).collect();
    let cracker = Cracker::new(&list);
    if list.is_empty() {
        return CrackOutcome::default();
    }
    let progress = AtomicU64::new(0);
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    let t0 = Instant::now();
    let outcome = std::thread::scope(|s| {
        let worker = s.spawn(|| cracker.run(wordlist, threads, &progress));
        let mut shown = false;
        while !worker.is_finished() {
            std::thread::sleep(Duration::from_millis(10));
            if bar && !shown && t0.elapsed() > Duration::from_secs(1) {
                pb.set_length(memchr::memchr_iter(b'\n', wordlist).count() as u64);
                if let Ok(style) = ProgressStyle::with_template(
                    "cracking {bar:40} {human_pos}/{human_len} {per_sec} eta {eta}",
                ) {
                    pb.set_style(style);
                }
                pb.set_draw_target(ProgressDrawTarget::stderr());
                shown = true;
            }
            pb.set_position(progress.load(Ordering::Relaxed));
        }
        worker.join().unwrap_or_default()
    });
    pb.finish_and_clear();
    outcome
}

/// `siplens crack`.
pub fn run_crack(args: &CrackArgs) -> ExitCode {
    let wordlist = match read_wordlist(&args.wordlist) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let analyzer = match load(&args.files, &args.tls) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let targets = targets(&analyzer);
    let threads = threads(args.threads);
    let started = Instant::now();
    let bar = !args.no_progress && std::io::stderr().is_terminal();
    let outcome = crack_with_progress(&targets, &wordlist, threads, bar);
    let elapsed = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    for h in &outcome.hits {
        let Some(t) = targets.get(h.target) else {
            continue;
        };
        let frames: Vec<String> = t.frames.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "user '{}' realm '{}' password '{}' algorithm {} frame {}{}",
            t.target.user,
            t.target.realm,
            String::from_utf8_lossy(&h.password),
            t.target.algorithm,
            frames.join(","),
            match t.outcome {
                Some(s) if t.rejected() => format!(" (refused by the server, {s}: a wrong guess)"),
                _ => String::new(),
            }
        );
    }
    let wrong = outcome
        .hits
        .iter()
        .filter(|h| targets.get(h.target).is_some_and(|t| t.rejected()))
        .count();
    let _ = writeln!(
        out,
        "{} of {} Digest response(s) cracked{}; {} candidates tested in {elapsed:.3} s ({:.0} candidates/s, {threads} thread(s))",
        outcome.hits.len(),
        targets.len(),
        if wrong > 0 {
            format!(" ({wrong} of them wrong guesses the server refused)")
        } else {
            String::new()
        },
        outcome.tested,
        outcome.tested as f64 / elapsed.max(1e-9)
    );
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// `report --wordlist`: the `auth.weak-password` findings of the analysed captures.
pub fn audit(
    analyzer: &Analyzer,
    wordlist: &[u8],
    threads: usize,
    show_secrets: bool,
    bar: bool,
) -> Vec<Finding> {
    let targets = targets(analyzer);
    let outcome = crack_with_progress(&targets, wordlist, threads, bar);
    crack::weak_password_findings(&targets, &outcome.hits, show_secrets)
}
