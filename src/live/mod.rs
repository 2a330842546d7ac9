//! The live run loop: capture threads feeding the engine through a bounded queue.
//!
//! Each input (a libpcap interface, a HEP listener: anything that is a
//! `FrameSource + Send`) is read on its own thread. Frames go to the analysis thread (the
//! caller's) through one bounded `sync_channel`; a capture thread never waits for the
//! engine: when the queue is full (too many frames or too many bytes queued) the frame is
//! dropped and counted for its input (`dropped_by_siplens`). libpcap's own counters are
//! polled about once a second by each capture thread. The analysis thread numbers frames
//! globally in arrival order, calls [`Analyzer::process`], and ticks every
//! [`LiveConfig::tick`] of wall time. The run stops on `duration`, `count`, the external
//! stop flag (SIGINT/SIGTERM) or when every input has ended; inputs are then stopped
//! through their stop flags and the queue is drained before returning.
//!
//! This module has no libpcap dependency: it is built without the `live` feature too, so
//! that a HEP listener can use it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::capture::{CaptureStats, Frame, FrameSource, Timestamp};
use crate::engine::{Analyzer, InputInfo, Limits};

/// Frames the queue between capture threads and the engine holds at most.
pub const QUEUE_FRAMES: usize = 65_536;
/// Bytes of frame data the queue holds at most (bounds memory when frames are large).
pub const QUEUE_BYTES: usize = 64 << 20;
/// How often capture threads read libpcap's counters.
const COUNTER_POLL: Duration = Duration::from_secs(1);

/// How the loop stops one input from the analysis thread: afterwards the source's
/// `next_frame` must return `Ok(None)` promptly, even when it is blocked waiting.
pub struct Stopper(Box<dyn Fn() + Send + Sync>);

impl Stopper {
    /// Any stopping action (`LiveSource::stopper`, which also wakes libpcap).
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Self {
        Stopper(Box::new(f))
    }

    /// A source that looks at a flag often enough by itself (a listener with a read
    /// timeout: `HepListener::stop_handle`).
    pub fn flag(flag: Arc<AtomicBool>) -> Self {
        Stopper::new(move || flag.store(true, Ordering::Relaxed))
    }

    fn stop(&self) {
        (self.0)()
    }
}

/// One input of a live run.
pub struct LiveInput {
    /// The source, moved to its capture thread.
    pub source: Box<dyn FrameSource + Send>,
    /// How to stop it.
    pub stop: Stopper,
}

impl std::fmt::Debug for LiveInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveInput")
            .field("source", &self.source.name())
            .finish_non_exhaustive()
    }
}

/// When to stop and how often to tick.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Stop after this much wall time.
    pub duration: Option<Duration>,
    /// Stop after this many frames were analysed.
    pub count: Option<u64>,
    /// Wall time between ticks (statistics refresh, NDJSON events).
    pub tick: Duration,
    /// Queue bound in frames (see [`QUEUE_FRAMES`]).
    pub queue_frames: usize,
    /// Queue bound in bytes of frame data (see [`QUEUE_BYTES`]).
    pub queue_bytes: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            duration: None,
            count: None,
            tick: Duration::from_secs(1),
            queue_frames: QUEUE_FRAMES,
            queue_bytes: QUEUE_BYTES,
        }
    }
}

/// Why a live run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `duration` elapsed.
    Duration,
    /// `count` frames were analysed.
    Count,
    /// The external stop flag was set (a signal).
    Stopped,
    /// Every input ended (or failed: see the inputs' warnings).
    InputsEnded,
}

/// What the engine made of a frame, for a writer that keeps only SIP and its media
/// (`-w --sip-only`): derived from the engine's counters around `process`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameClass {
    /// At least one SIP message was parsed from it (a TCP segment may complete one).
    pub sip: bool,
    /// An RTP packet.
    pub rtp: bool,
    /// An RTCP packet.
    pub rtcp: bool,
}

/// Hooks into the loop, called on the analysis thread.
pub trait LiveObserver {
    /// After each analysed frame (global number already set): where a pcap writer goes.
    fn on_frame(&mut self, _an: &Analyzer, _frame: &Frame, _class: FrameClass) {}
    /// Every tick, with the wall time; the capture counters are fresh in
    /// [`Analyzer::capture_stats`]. Returning false stops the run (e.g. stdout closed).
    fn on_tick(&mut self, _an: &Analyzer, _now: Timestamp) -> bool {
        true
    }
}

/// An observer that does nothing.
#[derive(Debug, Default)]
pub struct NoObserver;

impl LiveObserver for NoObserver {}

/// Counters one capture thread shares with the analysis thread.
#[derive(Debug, Default)]
struct Shared {
    received: AtomicU64,
    dropped: AtomicU64,
    if_dropped: AtomicU64,
    dropped_ours: AtomicU64,
    warning: Mutex<Option<String>>,
}

/// The wall clock as a packet-style timestamp (live ticks only: engine time stays packet time).
pub fn wall_now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(d.as_secs(), d.subsec_nanos())
}

fn capture_thread(
    index: u32,
    mut source: Box<dyn FrameSource + Send>,
    tx: SyncSender<Frame>,
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
    shared: Arc<Shared>,
) {
    let mut polled = Instant::now();
    let poll = |source: &mut Box<dyn FrameSource + Send>| {
        if let Some(c) = source.counters() {
            shared.received.store(c.received, Ordering::Relaxed);
            shared.dropped.store(c.dropped, Ordering::Relaxed);
            shared.if_dropped.store(c.if_dropped, Ordering::Relaxed);
        }
    };
    loop {
        match source.next_frame() {
            Ok(Some(mut f)) => {
                f.interface = index;
                let len = f.data.len();
                if queued.fetch_add(len, Ordering::AcqRel) + len > max_bytes {
                    queued.fetch_sub(len, Ordering::AcqRel);
                    shared.dropped_ours.fetch_add(1, Ordering::Relaxed);
                } else {
                    match tx.try_send(f) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            queued.fetch_sub(len, Ordering::AcqRel);
                            shared.dropped_ours.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => break,
                    }
                }
                if polled.elapsed() >= COUNTER_POLL {
                    poll(&mut source);
                    polled = Instant::now();
                }
            }
            Ok(None) => break,
            Err(e) => {
                if let Ok(mut w) = shared.warning.lock() {
                    *w = Some(e.to_string());
                }
                break;
            }
        }
    }
    poll(&mut source);
}

struct Input {
    name: String,
    link_types: Vec<String>,
    stop: Stopper,
    shared: Arc<Shared>,
    frames: u64,
    thread: Option<JoinHandle<()>>,
}

fn capture_stats(inputs: &[Input]) -> Vec<CaptureStats> {
    inputs
        .iter()
        .map(|i| CaptureStats {
            interface: i.name.clone(),
            received: i.shared.received.load(Ordering::Relaxed),
            dropped_by_kernel: i.shared.dropped.load(Ordering::Relaxed),
            dropped_by_interface: i.shared.if_dropped.load(Ordering::Relaxed),
            dropped_by_siplens: i.shared.dropped_ours.load(Ordering::Relaxed),
            frames: i.frames,
        })
        .collect()
}

/// Numbers, analyses and classifies one frame, then hands it to the observer.
fn analyse(
    an: &mut Analyzer,
    inputs: &mut [Input],
    mut f: Frame,
    number: u64,
    observer: &mut dyn LiveObserver,
) {
    f.number = number;
    if let Some(i) = inputs.get_mut(f.interface as usize) {
        i.frames += 1;
    }
    let s = an.stats();
    let before = (s.sip_messages, s.rtp_packets, s.rtcp_packets);
    an.process(&f);
    let s = an.stats();
    let class = FrameClass {
        sip: s.sip_messages > before.0,
        rtp: s.rtp_packets > before.1,
        rtcp: s.rtcp_packets > before.2,
    };
    observer.on_frame(an, &f, class);
}

/// Runs the inputs until a stop condition (see the module documentation), feeding
/// `an`. Frames are numbered after those `an` already read; each input is recorded with
/// [`Analyzer::push_input`] and the capture counters with [`Analyzer::set_capture_stats`].
pub fn run(
    an: &mut Analyzer,
    sources: Vec<LiveInput>,
    config: &LiveConfig,
    stop: &AtomicBool,
    observer: &mut dyn LiveObserver,
) -> StopReason {
    let (tx, rx) = mpsc::sync_channel::<Frame>(config.queue_frames.max(1));
    let queued = Arc::new(AtomicUsize::new(0));
    let mut inputs: Vec<Input> = Vec::with_capacity(sources.len());
    for (i, s) in sources.into_iter().enumerate() {
        let shared = Arc::new(Shared::default());
        let name = s.source.name().to_string();
        let link_types = s.source.link_types().iter().map(|l| l.name()).collect();
        let (tx, queued, sh) = (tx.clone(), Arc::clone(&queued), Arc::clone(&shared));
        let max_bytes = config.queue_bytes.max(1);
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        let thread = std::thread::Builder::new()
            .name(format!("capture-{name}"))
            .spawn(move || capture_thread(index, s.source, tx, queued, max_bytes, sh));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                if let Ok(mut w) = shared.warning.lock() {
                    *w = Some(format!("cannot start its capture thread: {e}"));
                }
                None
            }
        };
        inputs.push(Input {
            name,
            link_types,
            stop: s.stop,
            shared,
            frames: 0,
            thread,
        });
    }
    // Only the capture threads hold senders now: the channel disconnects when all end.
    drop(tx);

    let base = an.frame_base();
    let mut analysed = 0u64;
    let started = Instant::now();
    let deadline = config.duration.map(|d| started + d);
    let tick = config.tick.max(Duration::from_millis(10));
    let mut next_tick = started + tick;
    let mut reason = StopReason::InputsEnded;
    let mut stopping = false;
    loop {
        let now = Instant::now();
        if !stopping {
            if stop.load(Ordering::Relaxed) {
                reason = StopReason::Stopped;
            } else if deadline.is_some_and(|d| now >= d) {
                reason = StopReason::Duration;
            }
            if reason != StopReason::InputsEnded {
                stopping = true;
                for i in &inputs {
                    i.stop.stop();
                }
            }
        }
        let mut wait = next_tick.saturating_duration_since(now);
        if let Some(d) = deadline {
            wait = wait.min(d.saturating_duration_since(now));
        }
        // Look at the stop flag at least every 100 ms.
        wait = wait.min(Duration::from_millis(100));
        match rx.recv_timeout(wait) {
            Ok(f) => {
                queued.fetch_sub(f.data.len(), Ordering::AcqRel);
                // Past --count, queued frames are only drained.
                let counted_out = config.count.is_some_and(|c| analysed >= c);
                if !counted_out {
                    analysed += 1;
                    let n = analysed;
                    analyse(an, &mut inputs, f, base + n, observer);
                    if config.count.is_some_and(|c| n >= c) && !stopping {
                        reason = StopReason::Count;
                        stopping = true;
                        for i in &inputs {
                            i.stop.stop();
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if !stopping && Instant::now() >= next_tick {
            next_tick += tick;
            // Falling far behind (a long pause): skip the missed ticks, keep one.
            if next_tick < Instant::now() {
                next_tick = Instant::now() + tick;
            }
            an.set_capture_stats(capture_stats(&inputs));
            if !observer.on_tick(an, wall_now()) {
                reason = StopReason::Stopped;
                stopping = true;
                for i in &inputs {
                    i.stop.stop();
                }
            }
        }
    }
    for i in &mut inputs {
        if let Some(t) = i.thread.take() {
            // A capture thread only ends by returning: a panic there is a bug to surface.
            if t.join().is_err() {
                if let Ok(mut w) = i.shared.warning.lock() {
                    *w = Some("its capture thread panicked".to_string());
                }
            }
        }
    }
    an.set_capture_stats(capture_stats(&inputs));
    for i in inputs {
        let warning = i.shared.warning.lock().ok().and_then(|mut w| w.take());
        an.push_input(InputInfo {
            name: i.name,
            frames: i.frames,
            link_types: i.link_types,
            warning,
        });
    }
    reason
}

/// Default `--max-memory` of a live run, in MiB.
pub const DEFAULT_MAX_MEMORY_MB: u64 = crate::engine::limits::DEFAULT_LIVE_MAX_MEMORY_MB;

/// Engine limits for a memory budget of `mb` MiB (`--max-memory`): see
/// [`Limits::for_memory`], the one function that maps a budget to every table bound.
pub fn limits_for_memory(mb: u64, keep_raw: bool, base: Limits) -> Limits {
    base.for_memory(mb, keep_raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::open_path;

    /// A source that replays a sample then ends (or waits for its stop flag).
    struct Replay {
        inner: crate::capture::FileSource,
        stop: Arc<AtomicBool>,
        hold: bool,
    }

    impl FrameSource for Replay {
        fn next_frame(&mut self) -> Result<Option<Frame>, crate::capture::CaptureError> {
            match self.inner.next_frame()? {
                Some(f) => Ok(Some(f)),
                None => {
                    while self.hold && !self.stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Ok(None)
                }
            }
        }
        fn name(&self) -> &str {
            self.inner.name()
        }
        fn progress(&self) -> (u64, Option<u64>) {
            self.inner.progress()
        }
        fn link_types(&self) -> Vec<crate::capture::LinkType> {
            self.inner.link_types()
        }
    }

    fn input(path: &str, hold: bool) -> LiveInput {
        let stop = Arc::new(AtomicBool::new(false));
        let inner = open_path(std::path::Path::new(path)).expect("sample");
        LiveInput {
            source: Box::new(Replay {
                inner,
                stop: Arc::clone(&stop),
                hold,
            }),
            stop: Stopper::flag(stop),
        }
    }

    #[derive(Default)]
    struct Seen {
        frames: Vec<u64>,
        sip: u64,
        rtp: u64,
    }

    impl LiveObserver for Seen {
        fn on_frame(&mut self, _an: &Analyzer, f: &Frame, c: FrameClass) {
            self.frames.push(f.number);
            self.sip += u64::from(c.sip);
            self.rtp += u64::from(c.rtp);
        }
    }

    #[test]
    fn two_inputs_are_numbered_globally_and_recorded() {
        let mut an = crate::rules::analyzer(Limits::default());
        let stop = AtomicBool::new(false);
        let mut seen = Seen::default();
        let reason = run(
            &mut an,
            vec![
                input("samples/basic-call-rtp.pcap", false),
                input("samples/register-digest.pcap", false),
            ],
            &LiveConfig::default(),
            &stop,
            &mut seen,
        );
        assert_eq!(reason, StopReason::InputsEnded);
        let total = seen.frames.len() as u64;
        assert_eq!(seen.frames, (1..=total).collect::<Vec<_>>());
        assert_eq!(an.inputs().len(), 2);
        assert_eq!(an.inputs().iter().map(|i| i.frames).sum::<u64>(), total);
        assert_eq!(an.frame_base(), total);
        assert_eq!(an.stats().sip_messages, seen.sip);
        assert_eq!(an.stats().rtp_packets, seen.rtp);
        assert!(seen.rtp > 0);
        let cs = an.capture_stats();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs.iter().map(|c| c.frames).sum::<u64>(), total);
        assert!(cs.iter().all(|c| c.dropped_by_siplens == 0));
    }

    #[test]
    fn count_stops_and_the_stop_flag_ends_waiting_inputs() {
        let mut an = crate::rules::analyzer(Limits::default());
        let stop = AtomicBool::new(false);
        let config = LiveConfig {
            count: Some(5),
            ..LiveConfig::default()
        };
        let reason = run(
            &mut an,
            vec![input("samples/basic-call-rtp.pcap", true)],
            &config,
            &stop,
            &mut NoObserver,
        );
        assert_eq!(reason, StopReason::Count);
        assert_eq!(an.stats().packets, 5);

        let mut an = crate::rules::analyzer(Limits::default());
        let stop = AtomicBool::new(true);
        let t0 = Instant::now();
        let reason = run(
            &mut an,
            vec![input("samples/basic-call-rtp.pcap", true)],
            &LiveConfig::default(),
            &stop,
            &mut NoObserver,
        );
        assert_eq!(reason, StopReason::Stopped);
        assert!(t0.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn duration_stops_a_quiet_input() {
        let mut an = crate::rules::analyzer(Limits::default());
        let stop = AtomicBool::new(false);
        let config = LiveConfig {
            duration: Some(Duration::from_millis(300)),
            tick: Duration::from_millis(50),
            ..LiveConfig::default()
        };
        struct Ticks(u32);
        impl LiveObserver for Ticks {
            fn on_tick(&mut self, _an: &Analyzer, _now: Timestamp) -> bool {
                self.0 += 1;
                true
            }
        }
        let mut ticks = Ticks(0);
        let reason = run(
            &mut an,
            vec![input("samples/invite-407.pcap", true)],
            &config,
            &stop,
            &mut ticks,
        );
        assert_eq!(reason, StopReason::Duration);
        assert!(ticks.0 >= 2, "{}", ticks.0);
        // Everything read before the stop is analysed.
        assert!(an.stats().sip_messages > 0);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let mut an = crate::rules::analyzer(Limits::default());
        let stop = AtomicBool::new(false);
        // One byte of queue: every frame but the ones the engine takes at once is dropped.
        let config = LiveConfig {
            queue_bytes: 1,
            ..LiveConfig::default()
        };
        run(
            &mut an,
            vec![input("samples/basic-call-rtp.pcap", false)],
            &config,
            &stop,
            &mut NoObserver,
        );
        let c = &an.capture_stats()[0];
        assert!(c.dropped_by_siplens > 0);
        assert_eq!(c.frames, an.stats().packets);
    }

    #[test]
    fn memory_budget_scales_and_only_lowers_limits() {
        let base = Limits::default();
        let small = limits_for_memory(64, false, base.clone());
        assert!(small.max_dialogs < base.max_dialogs);
        assert!(small.max_dialogs > 1000);
        assert_eq!(small.max_raw_bytes, 0);
        let big = limits_for_memory(1 << 20, true, base.clone());
        assert_eq!(big.max_dialogs, base.max_dialogs);
        assert_eq!(big.max_raw_bytes, base.max_raw_bytes);
        let tui = limits_for_memory(256, true, base);
        assert_eq!(tui.max_raw_bytes, 64 << 20);
    }
}
