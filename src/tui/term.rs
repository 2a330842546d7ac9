//! What ties the dashboard's life to its terminal: stop signals, a terminal that went away,
//! terminal events read on a thread of their own, and a watchdog.
//!
//! crossterm 0.28 never returns from `event::poll`/`event::read` once its terminal has hung
//! up (a killed tmux session, a dropped SSH connection): a hung-up tty reads as end of file
//! forever and its read loop only leaves on data or "would block". An event loop blocked
//! there never looks at its stop flag, so the process spun on a core on the dead terminal,
//! deaf to SIGTERM and SIGHUP. Here the terminal library is read on a thread of its own,
//! and the event loop waits on a channel with a timeout, so it checks the signals and the
//! terminal every [`TICK`] whatever the library does; a [`Watchdog`] ends the process if
//! the loop itself is stuck.

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The longest the event loop waits before it looks again at the signals, the terminal
/// and (live) a new snapshot.
pub const TICK: Duration = Duration::from_millis(100);

/// How long after a stop signal or a lost terminal the [`Watchdog`] lets the dashboard
/// return before it ends the process itself.
pub const GRACE: Duration = Duration::from_millis(500);

/// Signals that end the dashboard the way `q` does. SIGINT is among them because in raw
/// mode Ctrl-C is a key, so a SIGINT comes from `kill` and means "stop".
pub const STOP_SIGNALS: [i32; 3] = [SIGTERM, SIGHUP, SIGINT];

/// Whether stdin and stdout are both usable terminals. A terminal that hung up answers
/// every terminal request with an error (EIO), so it stops counting as one: this is how a
/// lost terminal is seen even when no SIGHUP reaches the process (another session, or the
/// signal ignored).
pub fn terminals() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// Why the dashboard ends without the user asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A stop signal arrived (its number).
    Signal(i32),
    /// The terminal hung up.
    Hangup,
}

impl Stop {
    /// The signal whose default action stands for this stop (a lost terminal is a hangup).
    pub fn signal(self) -> i32 {
        match self {
            Stop::Signal(s) => s,
            Stop::Hangup => SIGHUP,
        }
    }
}

/// The stop signals, caught while the dashboard runs.
///
/// Dropping it does not remove the handlers (signal-hook would leave the signal ignored);
/// it arms them instead: from then on each of these signals takes its default action, as
/// it would without a dashboard. A second signal while the dashboard is still closing
/// takes its default action too, in case the closing hangs.
pub struct StopSignals {
    received: Arc<AtomicUsize>,
    armed: Arc<AtomicBool>,
}

impl StopSignals {
    /// Installs the handlers.
    pub fn install() -> io::Result<Self> {
        let received = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(AtomicBool::new(false));
        for sig in STOP_SIGNALS {
            // signal-hook runs the actions in this order: the default action must come
            // first so that it fires only when an earlier signal (or the end of the
            // dashboard) has already armed it.
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&armed))?;
            signal_hook::flag::register_usize(sig, Arc::clone(&received), signal_slot(sig))?;
            signal_hook::flag::register(sig, Arc::clone(&armed))?;
        }
        Ok(StopSignals { received, armed })
    }

    /// Why the dashboard must stop now: a signal arrived or the terminal is gone.
    pub fn stop(&self) -> Option<Stop> {
        stop_now(&self.received)
    }
}

impl Drop for StopSignals {
    fn drop(&mut self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

/// The value a signal leaves in the `received` slot (signal numbers are small positive
/// integers; 0 stays "none").
fn signal_slot(sig: i32) -> usize {
    usize::try_from(sig).unwrap_or(0)
}

fn received(slot: &AtomicUsize) -> Option<Stop> {
    match slot.load(Ordering::SeqCst) {
        0 => None,
        n => i32::try_from(n).ok().map(Stop::Signal),
    }
}

fn stop_now(slot: &AtomicUsize) -> Option<Stop> {
    received(slot).or_else(|| (!terminals()).then_some(Stop::Hangup))
}

/// What the reader thread hands over: an event, or the error that ended it.
pub type Read = io::Result<Event>;

/// Terminal events read by a thread of its own, so that a terminal library stuck in its
/// read (see the module doc) cannot hold the event loop. The thread leaves after an
/// error or, on a live terminal, within [`TICK`] of the reader being dropped; stuck in
/// the library, it ends with the process.
pub struct EventReader {
    rx: Receiver<Read>,
    done: Arc<AtomicBool>,
}

/// Why [`EventReader::next`] has no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoEvent {
    /// Nothing arrived in time.
    Timeout,
    /// The reader thread is gone (it panicked: it always sends its error before leaving).
    Gone,
}

impl EventReader {
    /// Starts the reader thread.
    pub fn spawn() -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let done = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&done);
        thread::Builder::new()
            .name("tui-events".into())
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let read = match event::poll(TICK) {
                        Ok(false) => continue,
                        Ok(true) => event::read(),
                        Err(e) => Err(e),
                    };
                    let failed = read.is_err();
                    if tx.send(read).is_err() || failed {
                        break;
                    }
                }
            })?;
        Ok(EventReader { rx, done })
    }

    /// The next event, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Result<Read, NoEvent> {
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => NoEvent::Timeout,
            RecvTimeoutError::Disconnected => NoEvent::Gone,
        })
    }

    /// An event already waiting, if any.
    pub fn ready(&self) -> Option<Read> {
        self.rx.try_recv().ok()
    }
}

impl Drop for EventReader {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// The last resort: a thread that, once a stop signal has arrived or the terminal is gone
/// and the dashboard has not returned within [`GRACE`], restores what it can of the
/// terminal and ends the process with the signal's default action (a lost terminal counts
/// as SIGHUP), so that a stuck event loop or a blocked write cannot keep the process, and
/// a live capture, running. Dropping it (the dashboard returned) stops it.
pub struct Watchdog {
    done: Arc<AtomicBool>,
}

impl Watchdog {
    /// Starts the watchdog over the signals of `signals`; `restore` puts the terminal back.
    pub fn spawn(signals: &StopSignals, restore: fn()) -> io::Result<Self> {
        let done = Arc::new(AtomicBool::new(false));
        let returned = Arc::clone(&done);
        let slot = Arc::clone(&signals.received);
        thread::Builder::new()
            .name("tui-watchdog".into())
            .spawn(move || {
                let mut since: Option<(Instant, Stop)> = None;
                while !returned.load(Ordering::SeqCst) {
                    thread::sleep(TICK);
                    if returned.load(Ordering::SeqCst) {
                        return;
                    }
                    match since {
                        None => since = stop_now(&slot).map(|s| (Instant::now(), s)),
                        Some((t0, stop)) if t0.elapsed() >= GRACE => end_process(stop, restore),
                        Some(_) => {}
                    }
                }
            })?;
        Ok(Watchdog { done })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// Restores the terminal (on a thread of its own, given a moment: the stuck loop may hold
/// stdout) and ends the process as `stop`'s signal would; 128 + the signal if that fails.
fn end_process(stop: Stop, restore: fn()) -> ! {
    let (tx, rx) = mpsc::channel();
    let restorer = thread::Builder::new().spawn(move || {
        restore();
        let _ = tx.send(());
    });
    if restorer.is_ok() {
        let _ = rx.recv_timeout(Duration::from_millis(200));
    }
    let sig = stop.signal();
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig)
}
