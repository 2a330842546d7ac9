//! Terminal dashboard (ratatui over crossterm): a [`Snapshot`] of the analysis, pure key
//! mapping ([`keys::action_for`]), pure state transitions ([`app::update`]) and pure render
//! functions ([`render`]); only [`run`] touches the terminal.

pub mod app;
pub mod diff;
pub mod filter;
pub mod highlight;
pub mod keys;
pub mod render;
pub mod snapshot;
pub mod theme;

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{self, Event};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub use app::{update, App, View};
pub use keys::{action_for, Action, Mode};
pub use snapshot::Snapshot;

/// Leaves raw mode and the alternate screen. Safe to call twice (on drop after a panic
/// hook already ran it).
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
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
pub fn run(snapshot: Snapshot) -> io::Result<()> {
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
    execute!(io::stdout(), EnterAlternateScreen)?;
    let mut terminal: Terminal<CrosstermBackend<Stdout>> =
        Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let mut app = App::new(snapshot);
    // Draw only when something changed: an idle dashboard over 100k dialogs costs nothing.
    let mut dirty = true;
    while !app.quit {
        if dirty {
            // Header, footer and borders take 5 lines; a page moves by what stays visible.
            let size = terminal.size()?;
            app.page = usize::from(size.height.saturating_sub(6)).max(1);
            terminal.draw(|f| render::draw(f, &app))?;
            dirty = false;
        }
        // Wake up now and then to see whether a signal asked us to stop.
        if event::poll(Duration::from_millis(200))? {
            match event::read()? {
                Event::Key(key) => {
                    if let Some(a) = action_for(key, &app.mode()) {
                        update(&mut app, a);
                        dirty = true;
                    }
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(())
}
