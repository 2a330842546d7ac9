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
use siplens::tui::filter::Filter;

mod cli;

/// Passive SIP traffic analyzer: dialogs, SDP, RTP streams and findings from captures.
#[derive(Parser, Debug)]
#[command(
    name = "siplens",
    version,
    about,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true,
    after_help = "`siplens FILE`: the dashboard on a terminal, else the report. \
                  `siplens COMMAND -h`: its options.",
    after_long_help = "With no subcommand, `siplens FILE...` opens the dashboard on a terminal and prints the\n\
                  report otherwise (or with --format, --fail-on, --nat). Exit status: 0 on success,\n\
                  1 when --fail-on found a finding at or above its severity, 2 when an input cannot be\n\
                  read or yields no frame, or the arguments are wrong."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten, next_help_heading = "Dashboard")]
    filter: FilterArgs,
    #[command(flatten)]
    dashboard: cli::dashboard::TuiArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse capture files (or a live capture) and print a report: text, JSON or NDJSON.
    Report(ReportCmd),
    /// Analyse capture files (or a live capture) and browse them in the terminal dashboard.
    Tui(TuiCmd),
    /// Print the default configuration (`--default`) or check a configuration file.
    Config(ConfigArgs),
    /// Export captured Digest responses for hashcat (-m 11400) or John the Ripper (sip).
    Hashes(cli::crack::HashesArgs),
    /// Test a wordlist against every captured Digest response.
    Crack(cli::crack::CrackArgs),
    /// Write the SIP messages and RTP/RTCP of chosen calls to a new pcap/pcapng.
    Export(cli::export::ExportArgs),
    /// Write each call's audio (G.711, G.722; RTP or SDES-SRTP) to WAV files.
    Audio(cli::audio::AudioArgs),
}

/// `siplens report`: the analysis options and the output ones; no dashboard options.
#[derive(Args, Debug)]
struct ReportCmd {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten, next_help_heading = "Output")]
    filter: FilterArgs,
}

/// `siplens tui`: the analysis options and the dashboard ones; no report formats.
#[derive(Args, Debug)]
struct TuiCmd {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten, next_help_heading = "Dashboard")]
    filter: FilterArgs,
    #[command(flatten)]
    dashboard: cli::dashboard::TuiArgs,
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

/// What to read and how to analyse it: shared by `report`, `tui` and `siplens FILE`.
#[derive(Args, Debug)]
#[command(next_help_heading = "Input")]
struct InputArgs {
    /// Capture files: pcap or pcapng, optionally gzip-compressed; `-` reads stdin.
    #[arg(
        required_unless_present_any = ["interface", "list_interfaces", "hep_listen"],
        value_name = "FILE"
    )]
    files: Vec<PathBuf>,
    /// Never draw a progress bar (it is drawn only on a terminal, after one second).
    #[arg(long, hide_short_help = true)]
    no_progress: bool,
    /// Rule thresholds and scanner signatures (TOML).
    ///
    /// See `siplens config --default` for every key and its default.
    #[arg(long, value_name = "FILE.toml", help_heading = "Analysis")]
    config: Option<PathBuf>,
    /// Print recovered passwords in findings.
    ///
    /// Basic and cracked Digest passwords; by default a report only says that one was
    /// exposed.
    #[arg(long, help_heading = "Analysis")]
    show_secrets: bool,
    /// Offline password audit with this wordlist.
    ///
    /// Every candidate is tested against every Digest response; a hit is an
    /// `auth.weak-password` finding.
    #[arg(long, value_name = "W", help_heading = "Analysis")]
    wordlist: Option<PathBuf>,
    /// Threads of the password audit (default: all cores).
    #[arg(
        long,
        value_name = "N",
        requires = "wordlist",
        help_heading = "Analysis",
        hide_short_help = true
    )]
    threads: Option<usize>,
    /// Failed credential attempts (401/407 again, or 403) from one source address that
    /// make an `auth.bruteforce` finding [default: 10, or `[bruteforce] threshold` of
    /// --config].
    #[arg(
        long,
        value_name = "N",
        help_heading = "Analysis",
        hide_short_help = true
    )]
    bruteforce_threshold: Option<u64>,
    /// Most dialogs kept at once; the oldest finished ones are evicted first.
    #[arg(
        long,
        value_name = "N",
        default_value_t = Limits::default().max_dialogs,
        help_heading = "Analysis",
        hide_short_help = true
    )]
    max_dialogs: usize,
    /// Most RTP streams kept at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = Limits::default().max_streams,
        help_heading = "Analysis",
        hide_short_help = true
    )]
    max_streams: usize,
    /// Live capture (`-i`) and memory budget.
    #[command(flatten, next_help_heading = "Live capture")]
    live: cli::live::LiveArgs,
    /// HEP in and out (--hep-send, --hep-listen).
    #[command(flatten, next_help_heading = "HEP")]
    hep: cli::hep::HepArgs,
    /// TLS decryption (--tls-keylog, --tls-key).
    #[command(flatten, next_help_heading = "Analysis")]
    tls: cli::tls::TlsArgs,
}

/// How the report is written: `report` and `siplens FILE` off a terminal.
#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Output")]
struct OutputArgs {
    /// Output format: text, json, ndjson or csv [default: text].
    ///
    /// json is one object; ndjson a stream of events, one per line; csv one row per
    /// dialog.
    #[arg(
        long,
        short = 'F',
        value_enum,
        value_name = "FORMAT",
        hide_possible_values = true
    )]
    format: Option<Format>,
    /// Indent the JSON output (the default on a terminal; compact when piped).
    #[arg(long, hide_short_help = true)]
    pretty: bool,
    /// Exit 1 when a finding of this severity or above is reported.
    ///
    /// A gate for CI: info, low, medium, high or critical.
    #[arg(long, value_enum, value_name = "SEVERITY", hide_possible_values = true)]
    fail_on: Option<FailOn>,
    /// Show only the calls with NAT trouble.
    ///
    /// Calls with a `nat.*`, `media.one-way` or `media.no-rtp` finding above info, with
    /// their NAT section, findings and streams.
    #[arg(long)]
    nat: bool,
}

/// The display filter: narrows the report (`report -Y`) or starts the dashboard with it.
#[derive(Args, Debug, Default)]
pub struct FilterArgs {
    /// Display filter over calls, e.g. 'status >= 400'.
    ///
    /// Syntax in docs/dashboard.md, e.g. `status >= 400 and ua ~ friendly`: the report
    /// shows the calls it keeps (with their streams and findings); the dashboard starts
    /// with it. `-Y` as in tshark.
    #[arg(short = 'Y', long, value_name = "EXPR")]
    pub display_filter: Option<String>,
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
    /// One JSON object (schema_version 1, see docs/report-format.md).
    Json,
    /// A stream of events, one JSON object per line (see README, "Live capture").
    Ndjson,
    /// One row per dialog (RFC 4180; columns in docs/report-format.md).
    Csv,
}

fn main() -> ExitCode {
    let cli = parse_cli();
    match cli.command {
        Some(Command::Report(a)) => run_report(&Run {
            input: &a.input,
            output: &a.output,
            filter: a.filter.display_filter.as_deref(),
            dashboard: None,
        }),
        Some(Command::Tui(a)) => run_report(&Run {
            input: &a.input,
            output: &OutputArgs::default(),
            filter: a.filter.display_filter.as_deref(),
            dashboard: Some(&a.dashboard),
        }),
        Some(Command::Config(c)) => run_config(&c),
        Some(Command::Hashes(a)) => cli::crack::run_hashes(&a),
        Some(Command::Crack(a)) => cli::crack::run_crack(&a),
        Some(Command::Export(a)) => cli::export::run_export(&a),
        Some(Command::Audio(a)) => cli::audio::run_audio(&a),
        None => {
            // Dashboard: `siplens FILE` on a terminal, unless the options ask for a report.
            let o = &cli.output;
            let report = o.format.is_some() || o.fail_on.is_some() || o.nat || o.pretty;
            let tui = !report && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
            if !tui {
                if let Some(flag) = cli.dashboard.given() {
                    eprintln!(
                        "siplens: error: {flag} is a dashboard option, but this run prints a report \
                         ({}); open the dashboard with `siplens tui` on a terminal, or drop {flag}",
                        if report {
                            "--format, --fail-on, --nat or --pretty was given"
                        } else {
                            "stdin or stdout is not a terminal"
                        }
                    );
                    return ExitCode::from(2);
                }
            }
            run_report(&Run {
                input: &cli.input,
                output: &cli.output,
                filter: cli.filter.display_filter.as_deref(),
                dashboard: tui.then_some(&cli.dashboard),
            })
        }
    }
}

/// Parses the command line; on an option the chosen subcommand does not have, clap's
/// error is followed by the subcommands that do have it (`report --theme` is a dashboard
/// option, `crack -w` is `report`'s capture writer), so a user is not left guessing.
fn parse_cli() -> Cli {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::CommandFactory;
    let err = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(e) => e,
    };
    let hint = match (err.kind(), err.get(ContextKind::InvalidArg)) {
        (ErrorKind::UnknownArgument, Some(ContextValue::String(arg))) => {
            let argv: Vec<String> = std::env::args().skip(1).collect();
            owners_hint(&Cli::command(), &argv, arg)
        }
        _ => None,
    };
    let _ = err.print();
    if let Some(h) = hint {
        eprintln!("\n{h}");
    }
    std::process::exit(err.exit_code());
}

/// "note: --theme is not an option of `siplens report`; it is one of `siplens tui`, ..."
/// for an unknown `arg`, or None when no subcommand has it either.
fn owners_hint(cli: &clap::Command, argv: &[String], arg: &str) -> Option<String> {
    let flag = arg.split('=').next().unwrap_or(arg);
    let has = |c: &clap::Command| {
        c.get_arguments().any(|a| match flag.strip_prefix("--") {
            Some(long) => a.get_long() == Some(long),
            None => {
                let mut chars = flag.trim_start_matches('-').chars();
                matches!((chars.next(), chars.next()), (Some(ch), None) if a.get_short() == Some(ch))
            }
        })
    };
    // Top-level options cannot precede a subcommand, so the subcommand is the first word.
    let used = argv
        .first()
        .filter(|w| cli.find_subcommand(w.as_str()).is_some())
        .map(String::as_str);
    let mut owners: Vec<String> = cli
        .get_subcommands()
        .filter(|c| Some(c.get_name()) != used && has(c))
        .map(|c| format!("`siplens {}`", c.get_name()))
        .collect();
    if used.is_some() && has(cli) {
        owners.push("`siplens FILE...`".to_string());
    }
    if owners.is_empty() {
        return None;
    }
    let here = match used {
        Some(u) => format!("`siplens {u}`"),
        None => "`siplens FILE...`".to_string(),
    };
    Some(format!(
        "note: {flag} is not an option of {here}; it is one of {}",
        owners.join(", ")
    ))
}

/// The dashboard takes over the terminal: without one, say so and point at `report`
/// before any work is done.
fn needs_terminal() -> Result<(), ExitCode> {
    if siplens::tui::term::terminals() {
        return Ok(());
    }
    eprintln!("siplens: error: {}", siplens::tui::RunError::NoTerminal);
    Err(ExitCode::from(2))
}

/// One analysis run's options: the subcommand's groups, borrowed.
struct Run<'a> {
    input: &'a InputArgs,
    output: &'a OutputArgs,
    filter: Option<&'a str>,
    /// Dashboard options when the run opens the dashboard.
    dashboard: Option<&'a cli::dashboard::TuiArgs>,
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

/// Reads the inputs, then prints the report, or opens the dashboard when the run has
/// dashboard options.
fn run_report(run: &Run<'_>) -> ExitCode {
    let started = Instant::now();
    let args = run.input;
    let tui = run.dashboard.is_some();
    let format = run.output.format.unwrap_or(Format::Text);
    if args.live.list_interfaces {
        return cli::live::list_interfaces();
    }
    if let Err(code) = args.live.check(!args.hep.hep_listen.is_empty()) {
        return code;
    }
    // The configuration and the filter first: a bad one stops the run before any work.
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
    let filter = match run.filter.map(Filter::parse) {
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            eprintln!("siplens: error: --display-filter: {e}");
            return ExitCode::from(2);
        }
        None => None,
    };
    // The dashboard needs a terminal: say so before reading a large capture.
    if tui {
        if let Err(code) = needs_terminal() {
            return code;
        }
    }
    if filter.is_some() && format == Format::Ndjson {
        eprintln!(
            "siplens: error: --display-filter narrows a report (text or JSON) or the \
             dashboard; the NDJSON stream carries every event"
        );
        return ExitCode::from(2);
    }
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
    let listeners = match cli::hep::bind_listeners(&args.hep) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let tls_keys = match args.tls.load() {
        Ok(k) => k,
        Err(code) => return code,
    };
    let wordlist = match args.wordlist.as_deref().map(cli::crack::read_wordlist) {
        Some(Ok(w)) => Some(w),
        Some(Err(code)) => return code,
        None => None,
    };
    // A header in a display filter is read from the message text, so a filtered report
    // keeps it; otherwise the report prints no message text and keeping it would only
    // double memory. The dashboard shows it (raw view), within the default budget.
    let keep_raw = tui
        || filter
            .as_ref()
            .is_some_and(|f| !f.header_names_in().is_empty());
    let limits = args.live.limits(
        Limits {
            max_dialogs: args.max_dialogs.max(1),
            max_streams: args.max_streams.max(1),
            max_raw_bytes: if keep_raw {
                Limits::default().max_raw_bytes
            } else {
                0
            },
            ..Limits::default()
        },
        !listeners.inputs.is_empty(),
    );
    let mut analyzer = siplens::rules::analyzer(limits);
    analyzer.set_tls_keys(tls_keys);
    analyzer.set_srtp_keys(args.tls.srtp_key.clone());
    analyzer.set_show_secrets(args.show_secrets);
    analyzer.set_config(&config);
    if let Some(n) = args.bruteforce_threshold {
        analyzer.set_bruteforce_threshold(n);
    }
    let hep_sender = match cli::hep::install_sender(&args.hep, &mut analyzer) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let want_bar = !args.no_progress && std::io::stderr().is_terminal();
    let mut events = (format == Format::Ndjson).then(cli::live::Events::new);
    // The stream's ticks conclude again only on the dialogs that moved.
    analyzer.track_conclusions(events.is_some());
    let streaming = args.live.is_live() || !listeners.inputs.is_empty();
    let hep_stats = listeners.stats.clone();
    if let (true, Some(dash)) = (streaming, run.dashboard) {
        return live_dashboard(args, dash, run.filter, listeners.inputs, &mut analyzer);
    }
    if streaming {
        if let Err(code) =
            cli::live::run(&args.live, listeners.inputs, &mut analyzer, events.as_mut())
        {
            return code;
        }
        cli::hep::report_listeners(&hep_stats);
    }
    let mut empty_inputs = 0usize;
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
                analyzer.inputs().last().cloned()
            }
            None => Some(
                analyzer
                    .run_source(source as &mut dyn FrameSource, &mut tick)
                    .clone(),
            ),
        };
        bar.finish_and_clear();
        if let Some(info) = &info {
            if !input_yielded(info, "reporting") {
                empty_inputs += 1;
            }
        }
    }
    // An input that yields nothing is an error (exit 2) a script or a --fail-on gate must
    // see; the dashboard is not opened on it, and the report still covers the others.
    if empty_inputs > 0 && tui {
        return ExitCode::from(2);
    }
    if let Some(s) = &hep_sender {
        cli::hep::report_sender(s);
    }
    if let Some(w) = &wordlist {
        let threads = cli::crack::threads(args.threads);
        let found = cli::crack::audit(&analyzer, w, threads, args.show_secrets, want_bar);
        analyzer.add_findings(found);
    }
    if let Some(dash) = run.dashboard {
        let saver = cli::dashboard::FileSaver {
            analyzer: &analyzer,
            inputs: &args.files,
        };
        let opts = dash.options(run.filter, Some(Box::new(saver)));
        return match siplens::tui::run(siplens::tui::Snapshot::build(&analyzer), opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("siplens: error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // Unfiltered JSON renders each dialog as it is written, and NDJSON reads only the
    // counts (its events came from the stream); text and the filters read the whole list
    // (and `retain` builds it when asked).
    let mut report =
        if matches!(format, Format::Json | Format::Ndjson) && filter.is_none() && !run.output.nat {
            Report::build_streaming(&analyzer, elapsed_ms)
        } else {
            Report::build(&analyzer, elapsed_ms)
        };
    report.hep_listeners = cli::hep::listener_stats(&hep_stats);
    if let (Some(f), Some(expr)) = (&filter, run.filter) {
        let keep = siplens::tui::app::matching_calls(&siplens::tui::Snapshot::build(&analyzer), f);
        report.retain_dialogs(&keep, expr);
    }
    if run.output.nat {
        report.retain_nat();
    }
    let stdout = std::io::stdout().lock();
    let written = match format {
        Format::Text => {
            let mut out = stdout;
            out.write_all(text::render(&report).as_bytes())
                .and_then(|_| out.flush())
        }
        Format::Json => {
            let pretty = run.output.pretty || stdout.is_terminal();
            let mut stdout = stdout;
            // The report comes in 64 KiB pieces; stdout's line buffering would search
            // each piece for its last newline (a compact document has one, at the end):
            // 1.6% of a signaling run. Written to the same descriptor, without it, while
            // the lock is held.
            match stdout.flush().ok().and_then(|()| unbuffered(&stdout)) {
                Some(file) => report.write_json(file, pretty),
                None => report.write_json(stdout, pretty),
            }
        }
        Format::Csv => {
            let mut out = stdout;
            out.write_all(siplens::report::csv::render(&report).as_bytes())
                .and_then(|_| out.flush())
        }
        Format::Ndjson => {
            drop(stdout);
            let elapsed = started.elapsed().as_millis() as u64;
            match events.take() {
                Some(ev) => ev.finish(&analyzer, streaming, elapsed, report.hep_listeners.clone()),
                None => Ok(()),
            }
        }
    };
    let gate_failed = run
        .output
        .fail_on
        // The counts, not the list: a streaming report keeps no finding DTOs (the counts
        // follow the filters).
        .is_some_and(|t| {
            report
                .summary
                .findings_by_severity
                .iter()
                .any(|(s, n)| n > 0 && s >= t.severity())
        });
    // Everything is printed: hand the memory back to the OS at exit instead of freeing
    // hundreds of thousands of dialog records one by one (about 5% of a large run).
    drop(report);
    std::mem::forget(analyzer);
    let code = match written {
        Ok(()) if gate_failed => 1,
        Ok(()) => 0,
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => u8::from(gate_failed),
        Err(e) => {
            eprintln!("siplens: error: writing the report: {e}");
            2
        }
    };
    // An unreadable input outranks the gate: the report is incomplete.
    ExitCode::from(if empty_inputs > 0 { 2 } else { code })
}

/// Says on stderr what went wrong with one input: a warning when it stopped early after
/// some frames, an error when it yielded none. False for the latter.
fn input_yielded(info: &siplens::engine::InputInfo, doing: &str) -> bool {
    match (&info.warning, info.frames) {
        (_, 0) => {
            eprintln!(
                "siplens: error: {}: no frame could be read{}",
                info.name,
                info.warning
                    .as_ref()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_else(|| " (the capture holds none)".to_string())
            );
            false
        }
        (Some(w), frames) => {
            eprintln!("siplens: warning: {w}; {doing} the {frames} frames read before it");
            true
        }
        (None, _) => true,
    }
}

/// The dashboard over a live capture (`-i`, `--hep-listen`): the capture and the engine
/// run on a thread of their own and send a snapshot twice a second; the dashboard (this
/// thread, which owns the terminal) draws the newest one. Quitting stops the capture.
fn live_dashboard(
    args: &InputArgs,
    dash: &cli::dashboard::TuiArgs,
    filter: Option<&str>,
    extra: Vec<siplens::live::LiveInput>,
    analyzer: &mut Analyzer,
) -> ExitCode {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    // Errors (no such interface, permission) are printed before the screen changes.
    let opened = match cli::live::open(&args.live, extra) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let stop = Arc::new(AtomicBool::new(false));
    let link = cli::live::UiLink {
        tx,
        stop: Arc::clone(&stop),
    };
    let mut opts = dash.options(filter, None);
    opts.live = Some(rx);
    let shown = std::thread::scope(|s| {
        let capture =
            s.spawn(|| cli::live::run_opened(&args.live, opened, analyzer, None, Some(&link)));
        let shown = siplens::tui::run(siplens::tui::Snapshot::default(), opts);
        stop.store(true, Ordering::Relaxed);
        let _ = capture.join();
        shown
    });
    match shown {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("siplens: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The descriptor behind a locked stdout, to write to without stdout's line buffering
/// (`None` where descriptors cannot be duplicated).
fn unbuffered(out: &std::io::StdoutLock<'_>) -> Option<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        out.as_fd()
            .try_clone_to_owned()
            .ok()
            .map(std::fs::File::from)
    }
    #[cfg(not(unix))]
    {
        let _ = out;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap's own consistency checks over every subcommand (ids, groups, requires,
    /// conflicts, value parsers); each option is also run once in tests/cli_options.rs.
    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_misplaced_flag_names_the_subcommands_that_have_it() {
        let cli = Cli::command();
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let hint = owners_hint(&cli, &argv(&["report", "--theme"]), "--theme=dark");
        assert_eq!(
            hint.as_deref(),
            Some("note: --theme is not an option of `siplens report`; it is one of `siplens tui`, `siplens FILE...`")
        );
        let hint = owners_hint(&cli, &argv(&["crack", "-w", "x"]), "-w");
        assert!(hint.is_some_and(|h| h.contains("`siplens report`")));
        assert_eq!(
            owners_hint(&cli, &argv(&["report"]), "--no-such-flag"),
            None
        );
    }
}
