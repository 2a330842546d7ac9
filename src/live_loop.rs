//! The run loop for endless frame sources (HEP listeners; live interfaces can share it):
//! one thread per source feeds a bounded channel, the engine runs on the calling thread,
//! and `--duration`, `--count`, SIGINT or SIGTERM end the run cleanly so the final report
//! can be printed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use siplens::capture::{Frame, FrameSource};
use siplens::engine::Analyzer;

/// Frames queued between the sources and the engine. When the engine falls behind, sources
/// drop (and count) frames rather than block: a capture socket must keep draining.
pub const CHANNEL_FRAMES: usize = 8192;
/// How long stopped sources get to return before the run ends without them.
const JOIN_GRACE: Duration = Duration::from_secs(2);

/// When to stop (besides SIGINT/SIGTERM and every source ending).
#[derive(Debug, Clone, Copy, Default)]
pub struct StopWhen {
    /// Wall-clock run time.
    pub duration: Option<Duration>,
    /// Frames processed.
    pub count: Option<u64>,
}

/// What happened during the run.
#[derive(Debug, Default)]
pub struct LiveOutcome {
    /// Frames handed to the engine.
    pub frames: u64,
    /// Frames dropped because the engine fell behind.
    pub dropped: u64,
    /// Sources that ended with an error: "name: error".
    pub errors: Vec<String>,
    /// Ended by SIGINT or SIGTERM.
    pub interrupted: bool,
}

enum Msg {
    Frame(Frame),
    End(Option<String>),
}

/// Runs `sources` into `analyzer` until a stop condition. `stops` are the sources' stop
/// flags (set when the run ends, so their threads return). Frames are numbered after the
/// frames the analyzer has read already.
pub fn run_live_sources(
    sources: Vec<Box<dyn FrameSource + Send>>,
    stops: Vec<Arc<AtomicBool>>,
    analyzer: &mut Analyzer,
    until: StopWhen,
) -> LiveOutcome {
    let mut out = LiveOutcome::default();
    let signal = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Without the handler the default action (exit) applies: no report, but no hang.
        let _ = signal_hook::flag::register(sig, Arc::clone(&signal));
    }
    let (tx, rx) = sync_channel::<Msg>(CHANNEL_FRAMES);
    let dropped = Arc::new(AtomicU64::new(0));
    let n_sources = sources.len();
    let handles: Vec<JoinHandle<()>> = sources
        .into_iter()
        .map(|mut src| {
            let tx = tx.clone();
            let dropped = Arc::clone(&dropped);
            std::thread::spawn(move || {
                let end = loop {
                    match src.next_frame() {
                        Ok(Some(f)) => match tx.try_send(Msg::Frame(f)) {
                            Ok(()) => {}
                            Err(TrySendError::Full(_)) => {
                                dropped.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(TrySendError::Disconnected(_)) => break None,
                        },
                        Ok(None) => break None,
                        Err(e) => break Some(format!("{}: {e}", src.name())),
                    }
                };
                let _ = tx.send(Msg::End(end));
            })
        })
        .collect();
    drop(tx);
    let base: u64 = analyzer.inputs().iter().map(|i| i.frames).sum();
    let started = Instant::now();
    let mut ended = 0usize;
    let count_reached = |n: u64| until.count.is_some_and(|c| n >= c);
    let mut process = |f: Frame, out: &mut LiveOutcome| {
        out.frames += 1;
        let mut f = f;
        f.number = base + out.frames;
        analyzer.process(&f);
    };
    while ended < n_sources && !count_reached(out.frames) {
        if signal.load(Ordering::Relaxed) {
            out.interrupted = true;
            break;
        }
        let wait = match until.duration {
            Some(d) => match d.checked_sub(started.elapsed()) {
                Some(left) if !left.is_zero() => left.min(Duration::from_millis(100)),
                _ => break,
            },
            None => Duration::from_millis(100),
        };
        match rx.recv_timeout(wait) {
            Ok(Msg::Frame(f)) => process(f, &mut out),
            Ok(Msg::End(e)) => {
                ended += 1;
                out.errors.extend(e);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    for s in &stops {
        s.store(true, Ordering::Relaxed);
    }
    // Frames received before the stop are still analysed, unless --count is met.
    let deadline = Instant::now() + JOIN_GRACE;
    while ended < n_sources && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Msg::Frame(f)) if !count_reached(out.frames) => process(f, &mut out),
            Ok(Msg::Frame(_)) => {}
            Ok(Msg::End(e)) => {
                ended += 1;
                out.errors.extend(e);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    for h in handles {
        // A source that ignored its stop flag is left behind; the process exits anyway.
        if h.is_finished() {
            let _ = h.join();
        }
    }
    out.dropped = dropped.load(Ordering::Relaxed);
    out
}
