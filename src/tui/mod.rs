//! Terminal dashboard (ratatui over crossterm): a [`Snapshot`] of the analysis, pure key
//! mapping ([`keys::action_for`]), pure state transitions ([`app::update`]) and pure render
//! functions ([`render`]); only [`run`] touches the terminal.

pub mod app;
pub mod columns;
pub mod delta;
pub mod diff;
pub mod filter;
pub mod highlight;
pub mod keys;
pub mod ladder;
pub mod render;
pub mod snapshot;
pub mod term;
pub mod theme;

use std::io::{self, Stdout};
use std::path::Path;
use std::sync::mpsc::Receiver;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub use app::{update, App, SaveKind, SaveRequest, View};
pub use keys::{action_for, action_for_mouse, Action, Mode};
pub use snapshot::Snapshot;

/// An error from a save, shown in the footer.
pub type SaveError = Box<dyn std::error::Error + Send + Sync>;

/// What the dashboard cannot do from its snapshot alone: re-reading the capture for a
/// pcap of chosen calls, and the full JSON report. The binary implements it over the
/// analyzer and the input files.
pub trait Saver {
    /// Writes the SIP messages and RTP/RTCP of `call_ids` to `path` (pcap or pcapng by
    /// extension); returns a one-line summary for the footer.
    fn save_pcap(&self, call_ids: &[String], path: &Path) -> Result<String, SaveError>;
    /// Writes the JSON report to `path`; returns a one-line summary.
    fn save_json(&self, path: &Path) -> Result<String, SaveError>;
}

/// How the dashboard starts.
#[derive(Default)]
pub struct Options<'a> {
    /// Colours (NO_COLOR is honoured whatever this says).
    pub theme: Option<theme::Theme>,
    /// Call-list columns (default: [`columns::default_columns`]).
    pub columns: Option<Vec<columns::Column>>,
    /// An initial display filter.
    pub filter: Option<String>,
    /// Address aliases for the ladder (`ip` or `ip:port`, name).
    pub aliases: Vec<(String, String)>,
    /// Carries out pcap and JSON saves (None: those saves say why they cannot be made).
    pub saver: Option<Box<dyn Saver + 'a>>,
    /// Live mode: changes from the capture thread, applied unless paused (the first is
    /// the whole model).
    pub live: Option<Receiver<delta::Delta>>,
}

/// Carries out a save request, returning the footer message.
fn do_save(req: &SaveRequest, saver: Option<&dyn Saver>) -> String {
    let result: Result<String, SaveError> = match req.kind {
        SaveKind::Ladder => std::fs::write(&req.path, req.text.as_deref().unwrap_or(""))
            .map(|()| "ladder written".to_string())
            .map_err(Into::into),
        SaveKind::Pcap if req.call_ids.is_empty() => Err("no call to save".into()),
        SaveKind::Pcap => match saver {
            Some(s) => s.save_pcap(&req.call_ids, &req.path),
            None => Err("saving calls needs the capture file (live: use -w)".into()),
        },
        SaveKind::Json => match saver {
            Some(s) => s.save_json(&req.path),
            None => Err("no report to save here".into()),
        },
    };
    match result {
        Ok(m) => format!("saved {}: {m}", req.path.display()),
        Err(e) => format!("not saved: {}: {e}", req.path.display()),
    }
}

/// Leaves raw mode and the alternate screen. Safe to call twice (on drop after a panic
/// hook already ran it).
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped: on quit, on an error returned by `?`, and while a
/// panic unwinds.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Why the dashboard could not run (or ended on an error).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Stdin or stdout is not a terminal (a pipe, a file, no terminal at all).
    #[error(
        "the dashboard needs a terminal (stdin and stdout are not both terminals); \
         use `siplens report FILE` for a text or JSON report"
    )]
    NoTerminal,
    /// The initial display filter does not parse.
    #[error("--display-filter: {0}")]
    Filter(#[from] filter::FilterError),
    /// The terminal failed (setting it up, drawing, reading events).
    #[error("terminal: {0}")]
    Io(#[from] io::Error),
    /// The thread that reads terminal events died.
    #[error("terminal: the event reader stopped")]
    ReaderGone,
}

/// Runs the dashboard on the terminal until the user quits, a stop signal arrives
/// (SIGTERM, SIGHUP, SIGINT) or the terminal goes away; the last two end it within
/// [`term::TICK`] with the terminal restored, and return `Ok`.
///
/// The filter and terminal checks come before the terminal is touched: a bad
/// `opts.filter` gives [`RunError::Filter`], and stdin or stdout not being a terminal
/// gives [`RunError::NoTerminal`].
pub fn run(snapshot: Snapshot, opts: Options<'_>) -> Result<(), RunError> {
    let mut snapshot = snapshot;
    snapshot.aliases = opts.aliases.clone();
    let mut app = App::new(snapshot);
    app.aliases = opts.aliases.clone();
    if let Some(t) = opts.theme {
        app.theme = t;
    }
    if let Some(c) = opts.columns {
        app.set_columns(c);
    }
    if let Some(f) = &opts.filter {
        app.set_filter(f)?;
    }
    // Without this, crossterm falls back on /dev/tty: "No such device or address" with no
    // terminal at all, or a dashboard drawn on a terminal the user did not point us at.
    if !term::terminals() {
        return Err(RunError::NoTerminal);
    }
    if opts.live.is_some() {
        app.live = Some(app::LiveState {
            paused: false,
            follow: true,
        });
    }
    // The panic message must land on the normal screen, not the alternate one that is
    // about to be discarded: restore first, then let the previous hook print.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    // Stop signals end the loop like `q`, so the guard restores the terminal; without
    // this the process would die in raw mode.
    let signals = term::StopSignals::install()?;
    enable_raw_mode()?;
    let _guard = Guard;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let mut terminal: Terminal<CrosstermBackend<Stdout>> =
        Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let parts = Parts {
        saver: opts.saver.as_deref(),
        live: opts.live.as_ref(),
        signals: &signals,
    };
    let ended = event_loop(&mut terminal, &mut app, &parts);
    // ratatui's Terminal shows the cursor when dropped and `eprintln!`s if it cannot, and
    // `eprintln!` panics on a hung-up terminal: a panic that (live) skipped stopping the
    // capture. On a lost terminal there is no cursor to show; forget it instead.
    if !term::terminals() {
        std::mem::forget(terminal);
    }
    ended
}

/// What the event loop needs besides the terminal and the app.
struct Parts<'a> {
    saver: Option<&'a dyn Saver>,
    live: Option<&'a Receiver<delta::Delta>>,
    signals: &'a term::StopSignals,
}

/// The dashboard proper, from the first draw until it ends.
fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    parts: &Parts<'_>,
) -> Result<(), RunError> {
    let signals = parts.signals;
    terminal.clear()?;
    let events = term::EventReader::spawn()?;
    let _watchdog = term::Watchdog::spawn(signals, restore)?;
    // Draw only when something changed: an idle dashboard over 100k dialogs costs nothing.
    let mut dirty = true;
    // Live changes received while paused, applied on resume.
    let mut held: Option<delta::Delta> = None;
    while !app.quit {
        // Checked before every draw: drawing on a hung-up terminal fails, and its size
        // query would fall back on running `tput`.
        if signals.stop().is_some() {
            return Ok(());
        }
        if dirty {
            let drawn = terminal.size().and_then(|size| {
                app.set_area(ratatui::layout::Rect::new(0, 0, size.width, size.height));
                terminal.draw(|f| render::draw(f, app)).map(|_| ())
            });
            if let Err(e) = drawn {
                return lost_or(e);
            }
            dirty = false;
        }
        let first = match events.next(term::TICK) {
            Ok(read) => Some(read),
            Err(term::NoEvent::Timeout) => None,
            Err(term::NoEvent::Gone) => return Err(RunError::ReaderGone),
        };
        // What is already waiting (a paste, a burst of mouse moves) before one redraw;
        // bounded, so that a flood of events still lets the loop draw and check signals.
        let waiting = std::iter::from_fn(|| events.ready()).take(64);
        for read in first.into_iter().chain(waiting) {
            let event = match read {
                Ok(e) => e,
                Err(e) => return lost_or(e),
            };
            let action = match event {
                Event::Key(key) => action_for(key, &app.mode()),
                Event::Mouse(m) => action_for_mouse(m, &app.mode()),
                Event::Resize(w, h) => {
                    app.set_area(ratatui::layout::Rect::new(0, 0, w, h));
                    dirty = true;
                    None
                }
                _ => None,
            };
            if let Some(a) = action {
                update(app, a);
                dirty = true;
            }
            if let Some(req) = app.save.take() {
                app.status = Some(do_save(&req, parts.saver));
            }
            if app.quit {
                break;
            }
        }
        if let Some(rx) = parts.live {
            // Every delta counts (each carries only its own changes): fold them into one.
            for d in rx.try_iter() {
                match held.as_mut() {
                    Some(h) => h.merge(d),
                    None => held = Some(d),
                }
            }
            if !app.live.is_some_and(|l| l.paused) {
                if let Some(d) = held.take() {
                    dirty |= app.apply_delta(d);
                }
            }
        }
    }
    Ok(())
}

/// A terminal error is the end of the dashboard, not an error, when the terminal hung up
/// meanwhile (the write or read raced the hangup).
fn lost_or(e: io::Error) -> Result<(), RunError> {
    if term::terminals() {
        Err(RunError::Io(e))
    } else {
        Ok(())
    }
}
