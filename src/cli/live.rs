//! Live capture on the command line (`-i IFACE`, `--list-interfaces`) and the NDJSON event
//! stream (`--format ndjson`, for files and live). The loop itself is `siplens::live`; this
//! file opens the devices, drops privileges, installs the signal handlers and writes events.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;

use siplens::capture::{FrameSink, FrameSource, Timestamp};
use siplens::engine::{Analyzer, Limits};
use siplens::live::{self, LiveObserver};
use siplens::report::events::{write_events, EventTracker, PacketClock, StreamEvent, TICK_NS};

/// Live capture options (cargo feature `live`).
#[derive(Args, Debug, Clone)]
pub struct LiveArgs {
    /// Capture live on this interface (repeatable; `any` on Linux).
    ///
    /// Needs the `live` feature and capture rights (root, or `setcap
    /// cap_net_raw,cap_net_admin=eip`).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        conflicts_with = "files"
    )]
    pub interface: Vec<String>,
    /// BPF capture filter (tcpdump syntax).
    ///
    /// E.g. "udp port 5060 or portrange 10000-20000".
    #[arg(short = 'f', long, value_name = "BPF")]
    pub filter: Option<String>,
    /// Bytes captured per packet.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 65535,
        hide_short_help = true
    )]
    pub snaplen: u32,
    /// Kernel capture buffer per interface, in MiB [default: 32].
    #[arg(long, value_name = "MB", hide_short_help = true)]
    pub buffer: Option<u32>,
    /// Promiscuous mode: also capture traffic not addressed to this host (mirror ports).
    #[arg(long, hide_short_help = true)]
    pub promisc: bool,
    /// Stop the live capture (or HEP listener) after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Stop the live capture after this many frames.
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub count: Option<u64>,
    /// When started as root, switch to this user once the interfaces are open.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "nobody",
        hide_short_help = true
    )]
    pub user: String,
    /// List the interfaces live capture can open, and exit.
    #[arg(long, exclusive = true)]
    pub list_interfaces: bool,
    /// Write the captured frames to this pcapng file.
    ///
    /// All of them, or only SIP and its media with --sip-only.
    #[arg(short = 'w', long = "write", value_name = "FILE.pcapng")]
    pub write: Option<std::path::PathBuf>,
    /// Start a new -w file after this much data or packet time: `100MB`, `1GiB`, `1h`,
    /// `30m`, `90s` (files are named FILE-00001.pcapng, FILE-00002.pcapng, ...).
    #[arg(
        long,
        value_name = "SIZE|TIME",
        requires = "write",
        value_parser = parse_rotate,
        hide_short_help = true
    )]
    pub rotate: Option<siplens::capture::Rotate>,
    /// With -w, write only SIP messages and the RTP/RTCP the engine bound to them.
    #[arg(long, requires = "write", hide_short_help = true)]
    pub sip_only: bool,
    /// Memory budget in MiB: lowers the dialog, stream, binding, message-text and TCP
    /// buffer limits to fit it (see docs/configuration.md); finished dialogs are evicted
    /// first. 0: no budget (the built-in limits alone).
    /// [default: 1024 for live capture, 256 for files]
    #[arg(long, value_name = "MB", hide_short_help = true)]
    pub max_memory: Option<u64>,
}

fn parse_rotate(s: &str) -> Result<siplens::capture::Rotate, String> {
    siplens::capture::parse_rotate(s).map_err(|e| e.to_string())
}

impl LiveArgs {
    /// True when `-i` was given.
    pub fn is_live(&self) -> bool {
        !self.interface.is_empty()
    }

    /// The live-only options given without `-i` (clap's `requires` does not see through
    /// the flattened struct, so this is checked by hand). `listening`: HEP listeners run,
    /// which take --duration, --count and -w too.
    pub fn check(&self, listening: bool) -> Result<(), ExitCode> {
        if self.is_live() {
            return Ok(());
        }
        let given = [
            ("--filter", self.filter.is_some()),
            ("--buffer", self.buffer.is_some()),
            ("--promisc", self.promisc),
            ("--duration", self.duration.is_some() && !listening),
            ("--count", self.count.is_some() && !listening),
            ("--write", self.write.is_some() && !listening),
        ];
        match given.iter().find(|(_, on)| *on) {
            Some((flag, _)) => Err(fail(format_args!(
                "{flag} applies to live capture: add --interface IFACE (-i) or --hep-listen"
            ))),
            None => Ok(()),
        }
    }

    /// `limits` lowered to fit `--max-memory` (or its default for streams, live capture or
    /// HEP listeners, or for files).
    pub fn limits(&self, limits: Limits, streaming: bool) -> Limits {
        let keep_raw = limits.max_raw_bytes > 0;
        // A file is bounded too: a capture ten times larger must not need ten times the
        // memory. The live default is larger: nothing else runs beside a capture host's
        // analyzer, and a day of traffic has many open dialogs.
        let default = if streaming || self.is_live() {
            live::DEFAULT_MAX_MEMORY_MB
        } else {
            siplens::engine::limits::DEFAULT_FILE_MAX_MEMORY_MB
        };
        match self.max_memory.unwrap_or(default) {
            0 => limits,
            mb => limits.for_memory(mb, keep_raw),
        }
    }
}

/// The NDJSON event writer, when `--format ndjson` is on.
pub struct Events {
    tracker: EventTracker,
    out: io::BufWriter<io::Stdout>,
    clock: PacketClock,
    last_ts: Timestamp,
    failed: Option<io::Error>,
}

impl Events {
    /// A writer on stdout.
    pub fn new() -> Self {
        Events {
            tracker: EventTracker::new(),
            out: io::BufWriter::new(io::stdout()),
            clock: PacketClock::new(TICK_NS),
            last_ts: Timestamp(0),
            failed: None,
        }
    }

    fn write(&mut self, ev: &[StreamEvent<'_>]) -> bool {
        if self.failed.is_some() {
            return false;
        }
        if let Err(e) = write_events(&mut self.out, ev).and_then(|_| self.out.flush()) {
            self.failed = Some(e);
            return false;
        }
        true
    }

    /// Reads a file source frame by frame, ticking every second of packet time (what
    /// `Analyzer::run_source` does, plus the ticks).
    pub fn run_file(
        &mut self,
        an: &mut Analyzer,
        source: &mut dyn FrameSource,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Option<String> {
        let info = an.run_source_with(source, progress, &mut |an, f| {
            if let Some(t) = self.clock.due(f.ts) {
                let ev = self.tracker.tick(an, t);
                if !self.write(&ev) {
                    return false;
                }
            }
            self.last_ts = self.last_ts.max(f.ts);
            true
        });
        info.warning.clone()
    }

    /// Writes the last tick and the summary line. Live runs stamp it with the wall clock,
    /// files with the last packet's time. `hep_listeners` go into the summary line.
    pub fn finish(
        mut self,
        an: &Analyzer,
        live_run: bool,
        elapsed_ms: u64,
        hep_listeners: Vec<siplens::hep::HepListenerStats>,
    ) -> io::Result<()> {
        let now = if live_run {
            live::wall_now()
        } else {
            self.last_ts
        };
        let ev = self.tracker.finish(an, now, elapsed_ms, hep_listeners);
        self.write(&ev);
        match self.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl LiveObserver for Events {
    fn on_tick(&mut self, an: &Analyzer, now: Timestamp) -> bool {
        let ev = self.tracker.tick(an, now);
        self.write(&ev)
    }
}

/// The live dashboard's end of a run: what changed goes out on `tx` every tick (nothing
/// when nothing did), and the dashboard sets `stop` when the user quits.
pub struct UiLink {
    /// Changes for the dashboard (capacity 1: while the dashboard has not taken the last
    /// one, the next ones are merged into it here).
    pub tx: std::sync::mpsc::SyncSender<siplens::tui::delta::Delta>,
    /// Set by the dashboard on quit.
    pub stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Forwards to the NDJSON writer, the capture writer (`-w`) and the dashboard, when
/// there are.
struct Observer<'a> {
    events: Option<&'a mut Events>,
    ui: Option<&'a UiLink>,
    /// Builds the dashboard's changes from the engine's (with `ui`).
    feed: siplens::tui::delta::LiveFeed,
    /// Changes the dashboard has not taken yet.
    unsent: Option<siplens::tui::delta::Delta>,
    writer: Option<Box<dyn FrameSink + Send>>,
    sip_only: bool,
    written: u64,
    write_error: Option<io::Error>,
}

impl LiveObserver for Observer<'_> {
    fn on_frame(
        &mut self,
        _an: &Analyzer,
        frame: &siplens::capture::Frame,
        class: live::FrameClass,
    ) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        if self.sip_only && !(class.sip || class.rtp || class.rtcp) {
            return;
        }
        match w.write_frame(frame) {
            Ok(()) => self.written += 1,
            Err(e) => {
                // A full disk must not stop the analysis: stop writing, say why at the end.
                self.write_error = Some(e);
                self.writer = None;
            }
        }
    }

    fn on_tick(&mut self, an: &Analyzer, now: Timestamp) -> bool {
        if let Some(ui) = self.ui {
            // Built here, on the capture side, from the engine's public model and only
            // for what changed; the dashboard patches its copy and draws it.
            if let Some(d) = self.feed.tick(an) {
                match self.unsent.as_mut() {
                    Some(u) => u.merge(d),
                    None => self.unsent = Some(d),
                }
            }
            if let Some(d) = self.unsent.take() {
                if let Err(std::sync::mpsc::TrySendError::Full(d)) = ui.tx.try_send(d) {
                    self.unsent = Some(d);
                }
            }
        }
        if let Some(w) = self.writer.as_mut() {
            // Whatever was captured so far is on disk within a tick.
            if let Err(e) = w.flush() {
                self.write_error = Some(e);
                self.writer = None;
            }
        }
        match self.events.as_deref_mut() {
            Some(e) => e.on_tick(an, now),
            None => true,
        }
    }
}

/// The `-w` writer: one pcapng file, or rotated files with `--rotate`.
fn open_writer(args: &LiveArgs) -> Result<Option<Box<dyn FrameSink + Send>>, ExitCode> {
    use siplens::capture::{PcapngWriter, RotatingWriter};
    let Some(path) = &args.write else {
        return Ok(None);
    };
    if let Some(r) = args.rotate {
        return Ok(Some(Box::new(RotatingWriter::new(path, r))));
    }
    let file = std::fs::File::create(path)
        .map_err(|e| fail(format_args!("cannot create {}: {e}", path.display())))?;
    let w = PcapngWriter::new(io::BufWriter::new(file))
        .map_err(|e| fail(format_args!("cannot write {}: {e}", path.display())))?;
    Ok(Some(Box::new(w)))
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("siplens: error: {msg}");
    ExitCode::from(2)
}

#[cfg(not(feature = "live"))]
const NOT_BUILT: &str = "built without live capture; rebuild with --features live";

/// `--list-interfaces`.
#[cfg(not(feature = "live"))]
pub fn list_interfaces() -> ExitCode {
    fail(NOT_BUILT)
}

/// Without the `live` feature there is no interface to open.
#[cfg(not(feature = "live"))]
fn open_interfaces(args: &LiveArgs) -> Result<Vec<live::LiveInput>, ExitCode> {
    if args.is_live() {
        return Err(fail(NOT_BUILT));
    }
    Ok(Vec::new())
}

/// Without the `live` feature (no `nix`) root is kept; only HEP listeners run then.
#[cfg(not(feature = "live"))]
fn drop_privileges(_user: &str) -> Result<(), String> {
    Ok(())
}

/// `--list-interfaces`.
#[cfg(feature = "live")]
pub fn list_interfaces() -> ExitCode {
    let list = match siplens::capture::list_interfaces() {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let mut out = io::stdout().lock();
    for i in list {
        let mut flags = vec![if i.up { "up" } else { "down" }];
        if i.running {
            flags.push("running");
        }
        if i.loopback {
            flags.push("loopback");
        }
        let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
        let line = format!(
            "{}\t{}\t{}\t{}\n",
            i.name,
            flags.join(","),
            if addrs.is_empty() {
                "-".to_string()
            } else {
                addrs.join(" ")
            },
            i.description.as_deref().unwrap_or("-"),
        );
        if out.write_all(line.as_bytes()).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// Opens every `-i` interface (one bad interface stops the run before any capture).
#[cfg(feature = "live")]
fn open_interfaces(args: &LiveArgs) -> Result<Vec<live::LiveInput>, ExitCode> {
    use siplens::capture::{LiveOptions, LiveSource};
    let opts = LiveOptions {
        filter: args.filter.clone(),
        snaplen: i32::try_from(args.snaplen.clamp(64, 262_144)).unwrap_or(65535),
        promisc: args.promisc,
        buffer_mb: args.buffer,
    };
    let mut inputs = Vec::new();
    for name in &args.interface {
        let src = LiveSource::open_with(name, &opts).map_err(fail)?;
        inputs.push(live::LiveInput {
            stop: live::Stopper::new(src.stopper()),
            source: Box::new(src),
        });
    }
    Ok(inputs)
}

/// Live run: opens every interface, adds the HEP listeners (`extra`), opens the `-w`
/// file, drops root, and runs until --duration, --count or a signal.
pub fn run(
    args: &LiveArgs,
    extra: Vec<live::LiveInput>,
    an: &mut Analyzer,
    events: Option<&mut Events>,
) -> Result<(), ExitCode> {
    let inputs = open(args, extra)?;
    run_opened(args, inputs, an, events, None)
}

/// What [`open`] opened: the inputs and the `-w` writer.
pub type Opened = (Vec<live::LiveInput>, Option<Box<dyn FrameSink + Send>>);

/// Opens the interfaces and the `-w` file, adds the HEP listeners, then drops root: the
/// first half of [`run`], separate so a failure is reported before the dashboard starts.
pub fn open(args: &LiveArgs, extra: Vec<live::LiveInput>) -> Result<Opened, ExitCode> {
    let mut inputs = open_interfaces(args)?;
    inputs.extend(extra);
    // Before dropping root: the file is created where root may write.
    let writer = open_writer(args)?;
    drop_privileges(&args.user).map_err(fail)?;
    Ok((inputs, writer))
}

/// The second half of [`run`]: captures until --duration, --count, a signal, or (with a
/// dashboard) the user quitting.
pub fn run_opened(
    args: &LiveArgs,
    (inputs, writer): Opened,
    an: &mut Analyzer,
    events: Option<&mut Events>,
    ui: Option<&UiLink>,
) -> Result<(), ExitCode> {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    let stop = ui.map_or_else(|| Arc::new(AtomicBool::new(false)), |u| Arc::clone(&u.stop));
    // The dashboard handles SIGTERM itself (terminal restore); the capture follows its
    // stop flag.
    let signals: &[i32] = if ui.is_some() {
        &[]
    } else {
        &[signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
    };
    for &sig in signals {
        // A second signal ends the process at once, in case the drain hangs.
        let registered =
            signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))
                .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&stop)));
        if let Err(e) = registered {
            return Err(fail(format_args!("cannot install the signal handler: {e}")));
        }
    }
    if args.is_live() && ui.is_none() {
        eprintln!(
            "siplens: capturing on {}{}; Ctrl-C stops and prints the report",
            args.interface.join(", "),
            args.filter
                .as_deref()
                .map(|f| format!(" (filter: {f})"))
                .unwrap_or_default()
        );
    }
    let config = live::LiveConfig {
        // The dashboard shows a new snapshot twice a second.
        tick: if ui.is_some() {
            Duration::from_millis(500)
        } else {
            live::LiveConfig::default().tick
        },
        duration: args
            .duration
            .filter(|d| d.is_finite() && *d > 0.0)
            .map(Duration::from_secs_f64),
        count: args.count,
        ..live::LiveConfig::default()
    };
    if ui.is_some() {
        an.track_changes(true);
    }
    let mut observer = Observer {
        events,
        ui,
        feed: siplens::tui::delta::LiveFeed::new(),
        unsent: None,
        writer,
        sip_only: args.sip_only,
        written: 0,
        write_error: None,
    };
    live::run(an, inputs, &config, &stop, &mut observer);
    if let Some(mut w) = observer.writer.take() {
        if let Err(e) = w.flush() {
            observer.write_error = Some(e);
        }
    }
    if let Some(path) = &args.write {
        match &observer.write_error {
            Some(e) => eprintln!(
                "siplens: warning: writing {} stopped after {} frames: {e}",
                path.display(),
                observer.written
            ),
            None => eprintln!(
                "siplens: {} frames written to {}",
                observer.written,
                path.display()
            ),
        }
    }
    for i in an.inputs() {
        if let Some(w) = &i.warning {
            eprintln!("siplens: warning: {}: {w}", i.name);
        }
    }
    Ok(())
}

/// Switches from root to `user` (setgroups, setgid, setuid) once the devices are open:
/// the capture handles stay usable, nothing else runs as root. A missing user is a
/// warning, not an error, so that minimal containers without `nobody` still capture; a
/// failing switch is an error (never run on half-dropped).
#[cfg(feature = "live")]
fn drop_privileges(user: &str) -> Result<(), String> {
    use nix::unistd::{setgid, setgroups, setuid, Uid, User};
    if !Uid::effective().is_root() {
        return Ok(());
    }
    let u = match User::from_name(user) {
        Ok(Some(u)) => u,
        Ok(None) => {
            eprintln!("siplens: warning: user {user:?} does not exist; still running as root");
            return Ok(());
        }
        Err(e) => {
            eprintln!("siplens: warning: looking up user {user:?}: {e}; still running as root");
            return Ok(());
        }
    };
    // Groups first: after setuid the process may no longer change them.
    setgroups(&[u.gid])
        .and_then(|_| setgid(u.gid))
        .and_then(|_| setuid(u.uid))
        .map_err(|e| format!("cannot switch to user {user:?} (--user): {e}"))
}
