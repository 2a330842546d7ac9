//! Key map: terminal key events to dashboard actions, close to sngrep's keys.
//!
//! Pure (no terminal), so the whole map is unit-tested.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What the keyboard currently drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Moving through lists and views.
    Browse,
    /// Typing a search filter.
    Search,
    /// The help overlay is open: any key closes it.
    Help,
}

/// One user intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Selection one row up.
    Up,
    /// Selection one row down.
    Down,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// First row.
    Home,
    /// Last row.
    End,
    /// Open the selected row (call → flow → raw; finding → its call).
    Open,
    /// Leave the current view (quits from the call list).
    Back,
    /// Quit from anywhere.
    Quit,
    /// Toggle the help overlay.
    Help,
    /// Findings view.
    Findings,
    /// Streams view.
    Streams,
    /// The selected call's NAT view.
    Nat,
    /// Start typing a search filter.
    SearchStart,
    /// A character of the search filter.
    SearchChar(char),
    /// Delete the last character of the search filter.
    SearchBackspace,
    /// Apply the typed filter.
    SearchApply,
    /// Drop the typed filter and keep the previous one.
    SearchCancel,
    /// Move the focus to the other pane (ladder ↔ raw message).
    SwitchPane,
}

/// The action for a key in a mode, or None when the key means nothing there.
pub fn action_for(key: KeyEvent, mode: &Mode) -> Option<Action> {
    // Windows reports releases too; only presses (and auto-repeat) act.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Help => Some(Action::Help),
        Mode::Search => match key.code {
            KeyCode::Enter => Some(Action::SearchApply),
            KeyCode::Esc => Some(Action::SearchCancel),
            KeyCode::Backspace => Some(Action::SearchBackspace),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                Some(Action::SearchChar(c))
            }
            _ => None,
        },
        Mode::Browse => match key.code {
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::PageDown => Some(Action::PageDown),
            KeyCode::Home | KeyCode::Char('g') => Some(Action::Home),
            KeyCode::End | KeyCode::Char('G') => Some(Action::End),
            KeyCode::Enter => Some(Action::Open),
            KeyCode::Esc | KeyCode::Char('q') => Some(Action::Back),
            KeyCode::Char('Q') => Some(Action::Quit),
            KeyCode::Char('?') | KeyCode::F(1) => Some(Action::Help),
            KeyCode::Char('f') => Some(Action::Findings),
            KeyCode::Char('s') => Some(Action::Streams),
            KeyCode::Char('n') => Some(Action::Nat),
            KeyCode::Char('/') | KeyCode::F(3) => Some(Action::SearchStart),
            KeyCode::Tab => Some(Action::SwitchPane),
            _ => None,
        },
    }
}

/// Key table shown by the help overlay and the README: (keys, what they do).
pub const KEY_HELP: &[(&str, &str)] = &[
    ("↑/↓ j/k", "move"),
    ("PgUp/PgDn", "page"),
    ("Home/End g/G", "first / last"),
    ("Enter", "open: call → flow → raw; finding → its call"),
    ("Esc q", "back (quit from the call list)"),
    ("Q Ctrl-C", "quit"),
    ("Tab", "flow: switch ladder / raw pane"),
    (
        "/ F3",
        "search From/To/Call-ID/method (Enter apply, Esc cancel)",
    ),
    ("f", "findings"),
    ("s", "RTP streams"),
    (
        "n",
        "NAT view of the selected call (advertised vs observed)",
    ),
    ("? F1", "this help"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn browse_keys() {
        let m = Mode::Browse;
        let cases = [
            (KeyCode::Up, Action::Up),
            (KeyCode::Char('k'), Action::Up),
            (KeyCode::Down, Action::Down),
            (KeyCode::Char('j'), Action::Down),
            (KeyCode::PageUp, Action::PageUp),
            (KeyCode::PageDown, Action::PageDown),
            (KeyCode::Home, Action::Home),
            (KeyCode::End, Action::End),
            (KeyCode::Enter, Action::Open),
            (KeyCode::Esc, Action::Back),
            (KeyCode::Char('q'), Action::Back),
            (KeyCode::Char('?'), Action::Help),
            (KeyCode::Char('f'), Action::Findings),
            (KeyCode::Char('s'), Action::Streams),
            (KeyCode::Char('n'), Action::Nat),
            (KeyCode::Char('/'), Action::SearchStart),
            (KeyCode::F(3), Action::SearchStart),
            (KeyCode::Tab, Action::SwitchPane),
        ];
        for (code, want) in cases {
            assert_eq!(action_for(key(code), &m), Some(want), "{code:?}");
        }
        assert_eq!(action_for(key(KeyCode::Char('x')), &m), None);
    }

    #[test]
    fn search_mode_types_letters_that_browse_would_bind() {
        let m = Mode::Search;
        assert_eq!(
            action_for(key(KeyCode::Char('q')), &m),
            Some(Action::SearchChar('q'))
        );
        assert_eq!(
            action_for(key(KeyCode::Char('j')), &m),
            Some(Action::SearchChar('j'))
        );
        assert_eq!(
            action_for(key(KeyCode::Enter), &m),
            Some(Action::SearchApply)
        );
        assert_eq!(
            action_for(key(KeyCode::Esc), &m),
            Some(Action::SearchCancel)
        );
        assert_eq!(
            action_for(key(KeyCode::Backspace), &m),
            Some(Action::SearchBackspace)
        );
        assert_eq!(action_for(key(KeyCode::Up), &m), None);
    }

    #[test]
    fn help_closes_on_any_key_and_ctrl_c_quits_everywhere() {
        assert_eq!(
            action_for(key(KeyCode::Char('x')), &Mode::Help),
            Some(Action::Help)
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for m in [Mode::Browse, Mode::Search, Mode::Help] {
            assert_eq!(action_for(ctrl_c, &m), Some(Action::Quit));
        }
    }

    #[test]
    fn releases_are_ignored() {
        let mut k = key(KeyCode::Down);
        k.kind = KeyEventKind::Release;
        assert_eq!(action_for(k, &Mode::Browse), None);
    }
}
