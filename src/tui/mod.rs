//! Terminal dashboard (ratatui over crossterm): a [`Snapshot`] of the analysis, pure key
//! mapping ([`keys::action_for`]), pure state transitions ([`app::update`]) and pure render
//! functions ([`render`]); only [`run`] touches the terminal.

pub mod app;
pub mod columns;
pub mod diff;
pub mod filter;
pub mod highlight;
pub mod keys;
pub mod ladder;
pub mod render;
pub mod snapshot;
pub mod theme;

use std::io::{self, Stdout};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
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
    /// Live mode: fresh snapshots from the capture thread, applied unless paused.
    pub live: Option<Receiver<Snapshot>>,
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

/// Runs the dashboard on the terminal until the user quits.
///
/// Errors from `opts.filter` are returned before the terminal is touched.
pub fn run(snapshot: Snapshot, opts: Options<'_>) -> io::Result<()> {
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
        app.set_filter(f).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("--display-filter: {e}"),
            )
        })?;
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
    // SIGTERM (kill, systemd) and SIGHUP (terminal closed) end the loop like `q`, so the
    // guard restores the terminal; without this the process would die in raw mode.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    enable_raw_mode()?;
    let _guard = Guard;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let mut terminal: Terminal<CrosstermBackend<Stdout>> =
        Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    // Draw only when something changed: an idle dashboard over 100k dialogs costs nothing.
    let mut dirty = true;
    while !app.quit {
        if dirty {
            let size = terminal.size()?;
            app.set_area(ratatui::layout::Rect::new(0, 0, size.width, size.height));
            terminal.draw(|f| render::draw(f, &app))?;
            dirty = false;
        }
        // Wake up now and then to see whether a signal asked us to stop or a live
        // snapshot arrived.
        if event::poll(Duration::from_millis(200))? {
            let action = match event::read()? {
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
                update(&mut app, a);
                dirty = true;
            }
            if let Some(req) = app.save.take() {
                app.status = Some(do_save(&req, opts.saver.as_deref()));
            }
        }
        if let Some(rx) = &opts.live {
            // Keep only the newest snapshot; older ones are already stale.
            if let Some(s) = rx.try_iter().last() {
                if !app.live.is_some_and(|l| l.paused) {
                    app.replace_snapshot(s);
                    dirty = true;
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(())
}
