//! siplens command-line entry point: parses arguments, runs the engine, prints a report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use siplens::capture::{self, FrameSource};
use siplens::config::Config;
use siplens::engine::{Analyzer, Limits, Severity};
use siplens::report::{text, Report};

mod crack_cmd;
mod export_cmd;
mod hep_cmd;
mod live_loop;
mod tui_cmd;

/// Passive SIP traffic analyzer: dialogs, SDP, RTP streams and findings from captures.
#[derive(Parser, Debug)]
#[command(
    name = "siplens",
    version,
    about,
    args_conflicts_with_subcommands = true,
    after_help = "With no subcommand, `siplens FILE...` opens the dashboard (`siplens tui`) on a terminal\n\
                  and behaves like `siplens report FILE...` otherwise (or with --format json, --fail-on, --nat).\n\
                  Exit status: 0 on success, 1 when --fail-on found a finding at or above its severity,\n\
                  2 when an input cannot be read or the arguments are wrong."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse capture files and print a report (text or JSON).
    Report(ReportArgs),
    /// Analyse capture files and browse them in the terminal dashboard.
    Tui(ReportArgs),
    /// Print the default configuration (`--default`) or check a configuration file.
    Config(ConfigArgs),
    /// Export captured Digest responses for hashcat (-m 11400) or John the Ripper (sip).
    Hashes(crack_cmd::HashesArgs),
    /// Test a wordlist against every captured Digest response.
    Crack(crack_cmd::CrackArgs),
    /// Write the SIP messages and RTP/RTCP of chosen calls to a new pcap/pcapng.
    Export(export_cmd::ExportArgs),
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("what").required(true))]
struct ConfigArgs {
    /// Print the default configuration as commented TOML (a starting point for --config).
    #[arg(long, group = "what")]
    default: bool,
    /// Check a configuration file: exit 0 when it is valid, 2 with the error otherwise.
    #[arg(long, value_name = "FILE.toml", group = "what")]
    check: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// Capture files: pcap or pcapng, optionally gzip-compressed; `-` reads stdin.
    #[arg(
        required_unless_present_any = ["interface", "list_interfaces", "hep_listen"],
        value_name = "FILE"
    )]
    files: Vec<PathBuf>,
    /// HEP in and out (--hep-send, --hep-listen).
    #[command(flatten)]
    hep: hep_cmd::HepArgs,
    /// Live capture (`-i`) and memory budget.
    #[command(flatten)]
    live: live_loop::LiveArgs,
    /// Output format.
    #[arg(long, short = 'F', value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Indent the JSON output (the default on a terminal; compact when piped).
    #[arg(long)]
    pretty: bool,
    /// Never draw a progress bar (it is drawn only on a terminal, after one second).
    #[arg(long)]
    no_progress: bool,
    /// Most dialogs kept at once; the oldest finished ones are evicted first.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_dialogs)]
    max_dialogs: usize,
    /// Most RTP streams kept at once.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_streams)]
    max_streams: usize,
    /// Print recovered secrets (Basic and cracked Digest passwords) in findings; by default a report only says
    /// that one was exposed.
    #[arg(long)]
    show_secrets: bool,
    /// Rule thresholds and scanner signatures from a TOML file (see `siplens config
    /// --default`).
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Failed credential attempts (401/407 again, or 403) from one source address that make
    /// an `auth.bruteforce` finding [default: 10, or `[bruteforce] threshold` of --config].
    #[arg(long, value_name = "N")]
    bruteforce_threshold: Option<u64>,
    /// Exit with status 1 when a finding of this severity or above is reported (a CI gate).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
    /// Offline password audit: test this wordlist against every Digest response; a hit is
    /// an `auth.weak-password` finding.
    #[arg(long, value_name = "W")]
    wordlist: Option<PathBuf>,
    /// Show only the calls with NAT trouble (a `nat.*`, `media.one-way` or `media.no-rtp`
    /// finding above info), with their NAT section, findings and streams.
    #[arg(long)]
    nat: bool,
    /// Threads of the password audit (default: all cores).
    #[arg(long, value_name = "N", requires = "wordlist")]
    threads: Option<usize>,
    #[command(flatten)]
    tui: tui_cmd::TuiArgs,
}

/// Severity threshold for `--fail-on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Any finding.
    Info,
    /// Low, medium, high or critical findings.
    Low,
    /// Medium, high or critical findings.
    Medium,
    /// High or critical findings.
    High,
    /// Critical findings only.
    Critical,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Human-readable summary.
    Text,
    /// One JSON object (schema_version 1, see README).
    Json,
    /// A stream of events, one JSON object per line (see README, "Live capture").
    Ndjson,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Report(a)) => a,
        Some(Command::Tui(a)) => return run_report(&a, true),
        Some(Command::Config(c)) => return run_config(&c),
        Some(Command::Hashes(a)) => return crack_cmd::run_hashes(&a),
        Some(Command::Crack(a)) => return crack_cmd::run_crack(&a),
        Some(Command::Export(a)) => return export_cmd::run_export(&a),
        None => cli.report,
    };
    // Dashboard: `siplens FILE` on a terminal, unless the options ask for a report.
    let tui = args.format == Format::Text
        && args.fail_on.is_none()
        && !args.nat
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal();
    run_report(&args, tui)
}

fn run_config(args: &ConfigArgs) -> ExitCode {
    if let Some(path) = &args.check {
        return match Config::load(path) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("siplens: error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let mut out = std::io::stdout().lock();
    match out
        .write_all(Config::default_toml().as_bytes())
        .and_then(|_| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("siplens: error: writing the configuration: {e}");
            ExitCode::from(2)
        }
    }
}

/// Reads the inputs, then prints the report, or opens the dashboard when `tui` is set.
fn run_report(args: &ReportArgs, tui: bool) -> ExitCode {
    let started = Instant::now();
    if args.live.list_interfaces {
        return live_loop::list_interfaces();
    }
    if let Err(code) = args.live.check(!args.hep.hep_listen.is_empty()) {
        return code;
    }
    // The configuration first: a bad file stops the run before any work.
    let config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("siplens: error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    // Open everything first: a missing file stops the run before any output.
    let mut sources = Vec::new();
    for path in &args.files {
        match capture::open_path(path) {
            Ok(s) => sources.push(s),
            Err(e) => {
                eprintln!("siplens: error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let listeners = match hep_cmd::bind_listeners(&args.hep) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let wordlist = match args.wordlist.as_deref().map(crack_cmd::read_wordlist) {
        Some(Ok(w)) => Some(w),
        Some(Err(code)) => return code,
        None => None,
    };
    let limits = args.live.limits(Limits {
        max_dialogs: args.max_dialogs.max(1),
        max_streams: args.max_streams.max(1),
        // The report prints no message text: keeping it would only double memory. The
        // dashboard shows it (raw view), within the default budget.
        max_raw_bytes: if tui {
            Limits::default().max_raw_bytes
        } else {
            0
        },
        ..Limits::default()
    });
    let mut analyzer = Analyzer::new(limits);
    analyzer.set_show_secrets(args.show_secrets);
    analyzer.set_config(&config);
    if let Some(n) = args.bruteforce_threshold {
        analyzer.set_bruteforce_threshold(n);
    }
    let hep_sender = match hep_cmd::install_sender(&args.hep, &mut analyzer) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let want_bar = !args.no_progress && std::io::stderr().is_terminal();
    let mut events = (args.format == Format::Ndjson).then(live_loop::Events::new);
    let streaming = args.live.is_live() || !listeners.inputs.is_empty();
    let hep_stats = listeners.stats.clone();
    if streaming && tui {
        return live_dashboard(args, listeners.inputs, &mut analyzer);
    }
    if streaming {
        if let Err(code) =
            live_loop::run(&args.live, listeners.inputs, &mut analyzer, events.as_mut())
        {
            return code;
        }
        hep_cmd::report_listeners(&hep_stats);
    }
    for source in &mut sources {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_prefix(source.name().to_string());
        let t0 = Instant::now();
        let mut shown = false;
        let mut tick = |done: u64, total: Option<u64>| {
            if !want_bar {
                return;
            }
            if !shown && t0.elapsed() > Duration::from_secs(1) {
                // A file has a size to measure against; a pipe only has a count.
                let template = match total {
                    Some(t) => {
                        bar.set_length(t);
                        "{prefix} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
                    }
                    None => "{prefix} {spinner} {bytes} read, {bytes_per_sec}",
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style);
                }
                bar.set_draw_target(ProgressDrawTarget::stderr());
                shown = true;
            }
            bar.set_position(done);
        };
        let info = match events.as_mut() {
            Some(ev) => {
                ev.run_file(&mut analyzer, source as &mut dyn FrameSource, &mut tick);
                analyzer.inputs().last()
            }
            None => Some(analyzer.run_source(source as &mut dyn FrameSource, &mut tick)),
        };
        bar.finish_and_clear();
        if let Some((w, frames)) = info.and_then(|i| Some((i.warning.as_ref()?, i.frames))) {
            eprintln!("siplens: warning: {w}; reporting the {frames} frames read before it");
        }
    }
    if let Some(s) = &hep_sender {
        hep_cmd::report_sender(s);
    }
    if let Some(w) = &wordlist {
        let threads = crack_cmd::threads(args.threads);
        let found = crack_cmd::audit(&analyzer, w, threads, args.show_secrets, want_bar);
        analyzer.add_findings(found);
    }
    if tui {
        let saver = tui_cmd::FileSaver {
            analyzer: &analyzer,
            inputs: &args.files,
        };
        let opts = args.tui.options(Some(Box::new(saver)));
        return match siplens::tui::run(siplens::tui::Snapshot::build(&analyzer), opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("siplens: error: terminal: {e}");
                ExitCode::from(2)
            }
        };
    }
    let mut report = Report::build(&analyzer, started.elapsed().as_millis() as u64);
    report.hep_listeners = hep_cmd::listener_stats(&hep_stats);
    if args.nat {
        report.retain_nat();
    }
    let stdout = std::io::stdout().lock();
    let written = match args.format {
        Format::Text => {
            let mut out = stdout;
            out.write_all(text::render(&report).as_bytes())
                .and_then(|_| out.flush())
        }
        Format::Json => {
            let pretty = args.pretty || stdout.is_terminal();
            report.write_json(stdout, pretty)
        }
        Format::Ndjson => {
            drop(stdout);
            let elapsed = started.elapsed().as_millis() as u64;
            match events.take() {
                Some(ev) => ev.finish(&analyzer, streaming, elapsed),
                None => Ok(()),
            }
        }
    };
    let gate_failed = args
        .fail_on
        .is_some_and(|t| report.findings.iter().any(|f| f.severity >= t.severity()));
    // Everything is printed: hand the memory back to the OS at exit instead of freeing
    // hundreds of thousands of dialog records one by one (about 5% of a large run).
    drop(report);
    std::mem::forget(analyzer);
    match written {
        Ok(()) if gate_failed => ExitCode::from(1),
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(u8::from(gate_failed))
        }
        Err(e) => {
            eprintln!("siplens: error: writing the report: {e}");
            ExitCode::from(2)
        }
    }
}

/// The dashboard over a live capture (`-i`, `--hep-listen`): the capture and the engine
/// run on a thread of their own and send a snapshot twice a second; the dashboard (this
/// thread, which owns the terminal) draws the newest one. Quitting stops the capture.
fn live_dashboard(
    args: &ReportArgs,
    extra: Vec<siplens::live::LiveInput>,
    analyzer: &mut Analyzer,
) -> ExitCode {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    // Errors (no such interface, permission) are printed before the screen changes.
    let opened = match live_loop::open(&args.live, extra) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let stop = Arc::new(AtomicBool::new(false));
    let link = live_loop::UiLink {
        tx,
        stop: Arc::clone(&stop),
    };
    let mut opts = args.tui.options(None);
    opts.live = Some(rx);
    let shown = std::thread::scope(|s| {
        let capture =
            s.spawn(|| live_loop::run_opened(&args.live, opened, analyzer, None, Some(&link)));
        let shown = siplens::tui::run(siplens::tui::Snapshot::default(), opts);
        stop.store(true, Ordering::Relaxed);
        let _ = capture.join();
        shown
    });
    match shown {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("siplens: error: terminal: {e}");
            ExitCode::from(2)
        }
    }
}
