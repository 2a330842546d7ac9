//! Key map: terminal key events to dashboard actions, close to sngrep's keys.
//!
//! Pure (no terminal), so the whole map is unit-tested.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

/// What the keyboard currently drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Moving through lists and views.
    Browse,
    /// Typing in the prompt line (filter, columns, file name).
    Prompt,
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
    /// Open the filter prompt (display filter expression).
    SearchStart,
    /// Open the columns prompt.
    ColumnsStart,
    /// Open the save prompt.
    SaveStart,
    /// A character typed in the prompt.
    PromptChar(char),
    /// Delete the last character of the prompt.
    PromptBackspace,
    /// Apply the prompt.
    PromptApply,
    /// Close the prompt; a filter goes back to the one applied before.
    PromptCancel,
    /// Move the focus to the other pane (ladder ↔ raw message).
    SwitchPane,
    /// Statistics view.
    Stats,
    /// Mark or unmark the selected call (call list) or message (ladder).
    Mark,
    /// Side-by-side diff of the two marked messages (or the marked and the selected one).
    Diff,
    /// One ladder for the marked calls (or the selected one).
    MarkedFlow,
    /// Sort by the next column (findings: next family).
    SortNext,
    /// Sort by the previous column (findings: previous family).
    SortPrev,
    /// Reverse the sort order.
    SortReverse,
    /// Next colour theme (dark, light, no colour).
    Theme,
    /// Live: stop or resume applying new data to the screen.
    Pause,
    /// Live: keep the newest call selected.
    Follow,
    /// Mouse click at (column, row).
    Click(u16, u16),
    /// Mouse wheel up.
    WheelUp,
    /// Mouse wheel down.
    WheelDown,
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
        Mode::Prompt => match key.code {
            KeyCode::Enter => Some(Action::PromptApply),
            KeyCode::Esc => Some(Action::PromptCancel),
            KeyCode::Backspace => Some(Action::PromptBackspace),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                Some(Action::PromptChar(c))
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
            KeyCode::Char('/') | KeyCode::F(3) | KeyCode::F(7) => Some(Action::SearchStart),
            KeyCode::Char('c') | KeyCode::F(10) => Some(Action::ColumnsStart),
            KeyCode::Char('w') | KeyCode::F(2) => Some(Action::SaveStart),
            KeyCode::Tab => Some(Action::SwitchPane),
            KeyCode::Char('i') => Some(Action::Stats),
            KeyCode::Char(' ') => Some(Action::Mark),
            KeyCode::Char('d') => Some(Action::Diff),
            KeyCode::Char('x') | KeyCode::F(4) => Some(Action::MarkedFlow),
            KeyCode::Char('>') => Some(Action::SortNext),
            KeyCode::Char('<') => Some(Action::SortPrev),
            KeyCode::Char('o') => Some(Action::SortReverse),
            KeyCode::Char('T') => Some(Action::Theme),
            KeyCode::Char('p') => Some(Action::Pause),
            KeyCode::Char('a') => Some(Action::Follow),
            _ => None,
        },
    }
}

/// The action for a mouse event: left click selects (a second click opens), the wheel
/// scrolls. Nothing while the help or a prompt is open.
pub fn action_for_mouse(ev: MouseEvent, mode: &Mode) -> Option<Action> {
    if *mode != Mode::Browse {
        return None;
    }
    match ev.kind {
        MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
            Some(Action::Click(ev.column, ev.row))
        }
        MouseEventKind::ScrollUp => Some(Action::WheelUp),
        MouseEventKind::ScrollDown => Some(Action::WheelDown),
        _ => None,
    }
}

/// Key table shown by the help overlay and docs/dashboard.md: (keys, what they do).
pub const KEY_HELP: &[(&str, &str)] = &[
    (
        "↑/↓ j/k",
        "move (mouse: click selects, click again opens, wheel scrolls)",
    ),
    ("PgUp/PgDn", "page"),
    ("Home/End g/G", "first / last"),
    ("Enter", "open: call → flow → raw; finding → its call"),
    ("Esc q", "back (call list: clear marks, then quit)"),
    ("Q Ctrl-C", "quit"),
    (
        "/ F3 F7",
        "display filter, applied as typed (see docs/dashboard.md)",
    ),
    (
        "< >",
        "sort by the previous / next column (findings: family)",
    ),
    ("o", "reverse the sort order"),
    ("c F10", "choose columns (any SIP header name works)"),
    ("space", "mark a call (list) or a message (flow)"),
    ("x F4", "one ladder for the marked calls"),
    ("d", "diff the two marked messages"),
    ("Tab", "flow: switch ladder / raw pane"),
    (
        "w F2",
        "save: .pcap calls with RTP, .txt ladder, .json report",
    ),
    ("f", "findings"),
    ("s", "RTP streams"),
    ("n", "NAT view of the selected call"),
    ("i", "statistics"),
    ("T", "theme: dark, light, no colour"),
    ("p a", "live: pause / follow the newest call"),
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
            (KeyCode::F(7), Action::SearchStart),
            (KeyCode::Tab, Action::SwitchPane),
            (KeyCode::F(2), Action::SaveStart),
            (KeyCode::Char('w'), Action::SaveStart),
            (KeyCode::F(10), Action::ColumnsStart),
            (KeyCode::Char(' '), Action::Mark),
            (KeyCode::Char('d'), Action::Diff),
            (KeyCode::Char('x'), Action::MarkedFlow),
            (KeyCode::F(4), Action::MarkedFlow),
            (KeyCode::Char('>'), Action::SortNext),
            (KeyCode::Char('<'), Action::SortPrev),
            (KeyCode::Char('o'), Action::SortReverse),
            (KeyCode::Char('i'), Action::Stats),
            (KeyCode::Char('T'), Action::Theme),
            (KeyCode::Char('p'), Action::Pause),
            (KeyCode::Char('a'), Action::Follow),
        ];
        for (code, want) in cases {
            assert_eq!(action_for(key(code), &m), Some(want), "{code:?}");
        }
        assert_eq!(action_for(key(KeyCode::Char('y')), &m), None);
    }

    #[test]
    fn prompt_mode_types_letters_that_browse_would_bind() {
        let m = Mode::Prompt;
        assert_eq!(
            action_for(key(KeyCode::Char('q')), &m),
            Some(Action::PromptChar('q'))
        );
        assert_eq!(
            action_for(key(KeyCode::Char('j')), &m),
            Some(Action::PromptChar('j'))
        );
        assert_eq!(
            action_for(key(KeyCode::Enter), &m),
            Some(Action::PromptApply)
        );
        assert_eq!(
            action_for(key(KeyCode::Esc), &m),
            Some(Action::PromptCancel)
        );
        assert_eq!(
            action_for(key(KeyCode::Backspace), &m),
            Some(Action::PromptBackspace)
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
        for m in [Mode::Browse, Mode::Prompt, Mode::Help] {
            assert_eq!(action_for(ctrl_c, &m), Some(Action::Quit));
        }
    }

    #[test]
    fn mouse_clicks_and_wheel() {
        use crossterm::event::MouseButton;
        let ev = |kind| MouseEvent {
            kind,
            column: 7,
            row: 4,
            modifiers: KeyModifiers::NONE,
        };
        let m = Mode::Browse;
        assert_eq!(
            action_for_mouse(ev(MouseEventKind::Down(MouseButton::Left)), &m),
            Some(Action::Click(7, 4))
        );
        assert_eq!(
            action_for_mouse(ev(MouseEventKind::ScrollDown), &m),
            Some(Action::WheelDown)
        );
        assert_eq!(
            action_for_mouse(ev(MouseEventKind::ScrollUp), &m),
            Some(Action::WheelUp)
        );
        assert_eq!(action_for_mouse(ev(MouseEventKind::Moved), &m), None);
        assert_eq!(
            action_for_mouse(ev(MouseEventKind::ScrollUp), &Mode::Prompt),
            None
        );
    }

    #[test]
    fn releases_are_ignored() {
        let mut k = key(KeyCode::Down);
        k.kind = KeyEventKind::Release;
        assert_eq!(action_for(k, &Mode::Browse), None);
    }
}
