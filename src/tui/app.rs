//! Dashboard state and its transitions: `update(&mut App, Action)` is pure, so every
//! navigation path is unit-tested without a terminal.

use super::keys::{Action, Mode};
use super::snapshot::Snapshot;

/// The screen on show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Call list.
    Calls,
    /// One call's ladder with the selected message beside it.
    Flow,
    /// The selected message's text, full screen.
    Raw,
    /// Findings list.
    Findings,
    /// RTP streams list.
    Streams,
    /// The selected call's NAT section: advertised against observed, verdicts, advice.
    Nat,
}

/// Which pane of the flow view takes the arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The ladder: arrows move the selected message.
    Ladder,
    /// The raw message: arrows scroll it.
    Raw,
}

/// Dashboard state.
#[derive(Debug, Clone)]
pub struct App {
    /// What is drawn.
    pub snap: Snapshot,
    /// Current view.
    pub view: View,
    /// Where Back from the flow view returns (the call list or the findings).
    pub flow_parent: View,
    /// Where Back from the NAT view returns (the call list or the flow).
    pub nat_parent: View,
    /// Help overlay open.
    pub help: bool,
    /// The filter being typed (Some while in search mode).
    pub search: Option<String>,
    /// The applied filter (empty: every call).
    pub filter: String,
    /// Positions in `snap.calls` of the calls the filter keeps, in order.
    pub visible: Vec<usize>,
    /// Selected row of `visible`.
    pub call_sel: usize,
    /// Selected message of the open call.
    pub msg_sel: usize,
    /// Selected finding.
    pub finding_sel: usize,
    /// Selected stream.
    pub stream_sel: usize,
    /// Flow view focus.
    pub pane: Pane,
    /// First line of the raw message shown.
    pub raw_scroll: u16,
    /// Rows a page moves (set from the terminal height by the event loop).
    pub page: usize,
    /// Set by Quit (or Back from the call list): the event loop ends.
    pub quit: bool,
}

impl App {
    /// A dashboard on the call list, every call shown.
    pub fn new(snap: Snapshot) -> App {
        let visible = (0..snap.calls.len()).collect();
        App {
            snap,
            view: View::Calls,
            flow_parent: View::Calls,
            nat_parent: View::Calls,
            help: false,
            search: None,
            filter: String::new(),
            visible,
            call_sel: 0,
            msg_sel: 0,
            finding_sel: 0,
            stream_sel: 0,
            pane: Pane::Ladder,
            raw_scroll: 0,
            page: 10,
            quit: false,
        }
    }

    /// What the keyboard drives now.
    pub fn mode(&self) -> Mode {
        if self.help {
            Mode::Help
        } else if self.search.is_some() {
            Mode::Search
        } else {
            Mode::Browse
        }
    }

    /// Position in `snap.calls` of the selected call.
    pub fn selected_call(&self) -> Option<usize> {
        self.visible.get(self.call_sel).copied()
    }

    /// The selected call's selected message.
    pub fn selected_message(&self) -> Option<&super::snapshot::MsgRow> {
        let c = self.snap.calls.get(self.selected_call()?)?;
        c.messages.get(self.msg_sel)
    }

    /// Recomputes `visible` from `filter` (case-insensitive substring of From, To,
    /// Call-ID or method), keeping the selection in range.
    fn apply_filter(&mut self) {
        let needle = self.filter.to_lowercase();
        self.visible = self
            .snap
            .calls
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                needle.is_empty()
                    || [&c.from, &c.to, &c.call_id, &c.method]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&needle))
            })
            .map(|(i, _)| i)
            .collect();
        self.call_sel = 0;
    }

    fn rows(&self) -> usize {
        match self.view {
            View::Calls => self.visible.len(),
            View::Flow => self
                .selected_call()
                .and_then(|c| self.snap.calls.get(c))
                .map_or(0, |c| c.messages.len()),
            View::Raw | View::Nat => 0,
            View::Findings => self.snap.findings.len(),
            View::Streams => self.snap.streams.len(),
        }
    }

    /// The selection the arrow keys move, or None when they scroll the raw text.
    fn cursor(&mut self) -> Option<&mut usize> {
        match (self.view, self.pane) {
            (View::Calls, _) => Some(&mut self.call_sel),
            (View::Flow, Pane::Ladder) => Some(&mut self.msg_sel),
            (View::Flow, Pane::Raw) | (View::Raw, _) | (View::Nat, _) => None,
            (View::Findings, _) => Some(&mut self.finding_sel),
            (View::Streams, _) => Some(&mut self.stream_sel),
        }
    }

    fn open_call(&mut self, call: usize, frame: Option<u64>) {
        // A finding's call may be hidden by the filter: clear it rather than open nothing.
        if !self.visible.contains(&call) {
            self.filter.clear();
            self.apply_filter();
        }
        self.call_sel = self.visible.iter().position(|&c| c == call).unwrap_or(0);
        self.msg_sel = frame
            .and_then(|f| {
                self.snap
                    .calls
                    .get(call)?
                    .messages
                    .iter()
                    .position(|m| m.frame == f)
            })
            .unwrap_or(0);
        self.raw_scroll = 0;
        self.pane = Pane::Ladder;
        self.view = View::Flow;
    }
}

/// Applies one action.
pub fn update(app: &mut App, action: Action) {
    match action {
        Action::Quit => app.quit = true,
        Action::Help => app.help = !app.help,
        Action::SearchStart => app.search = Some(app.filter.clone()),
        Action::SearchChar(c) => {
            if let Some(s) = &mut app.search {
                s.push(c);
            }
        }
        Action::SearchBackspace => {
            if let Some(s) = &mut app.search {
                s.pop();
            }
        }
        Action::SearchApply => {
            if let Some(s) = app.search.take() {
                app.filter = s;
                app.apply_filter();
                app.view = View::Calls;
            }
        }
        Action::SearchCancel => app.search = None,
        Action::SwitchPane => {
            if app.view == View::Flow {
                app.pane = match app.pane {
                    Pane::Ladder => Pane::Raw,
                    Pane::Raw => Pane::Ladder,
                };
            }
        }
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Home
        | Action::End => move_cursor(app, action),
        Action::Open => match app.view {
            View::Calls => {
                if app.selected_call().is_some() {
                    app.msg_sel = 0;
                    app.raw_scroll = 0;
                    app.pane = Pane::Ladder;
                    app.flow_parent = View::Calls;
                    app.view = View::Flow;
                }
            }
            View::Flow => {
                if app.selected_message().is_some() {
                    app.raw_scroll = 0;
                    app.view = View::Raw;
                }
            }
            View::Findings => {
                if let Some(f) = app.snap.findings.get(app.finding_sel) {
                    if let Some(call) = f.call {
                        let frame = f.frame;
                        app.open_call(call, frame);
                        app.flow_parent = View::Findings;
                    }
                }
            }
            View::Streams => {
                if let Some(call) = app.snap.streams.get(app.stream_sel).and_then(|s| s.call) {
                    app.open_call(call, None);
                    app.flow_parent = View::Streams;
                }
            }
            View::Raw | View::Nat => {}
        },
        Action::Back => match app.view {
            View::Calls => app.quit = true,
            View::Flow => {
                app.view = app.flow_parent;
                app.pane = Pane::Ladder;
            }
            View::Raw => app.view = View::Flow,
            View::Nat => app.view = app.nat_parent,
            View::Findings | View::Streams => app.view = View::Calls,
        },
        Action::Nat => {
            if matches!(app.view, View::Calls | View::Flow) && app.selected_call().is_some() {
                app.nat_parent = app.view;
                app.raw_scroll = 0;
                app.view = View::Nat;
            }
        }
        Action::Findings => app.view = View::Findings,
        Action::Streams => app.view = View::Streams,
    }
}

fn move_cursor(app: &mut App, action: Action) {
    let rows = app.rows();
    let page = app.page.max(1);
    match app.cursor() {
        Some(sel) => {
            let last = rows.saturating_sub(1);
            *sel = match action {
                Action::Up => sel.saturating_sub(1),
                Action::Down => (*sel + 1).min(last),
                Action::PageUp => sel.saturating_sub(page),
                Action::PageDown => (*sel + page).min(last),
                Action::Home => 0,
                _ => last,
            };
            if app.view == View::Flow {
                app.raw_scroll = 0;
            }
        }
        None => {
            let page = u16::try_from(page).unwrap_or(u16::MAX);
            app.raw_scroll = match action {
                Action::Up => app.raw_scroll.saturating_sub(1),
                Action::Down => app.raw_scroll.saturating_add(1),
                Action::PageUp => app.raw_scroll.saturating_sub(page),
                Action::PageDown => app.raw_scroll.saturating_add(page),
                Action::Home => 0,
                _ => {
                    let lines = if app.view == View::Nat {
                        app.selected_call()
                            .and_then(|c| app.snap.calls.get(c))
                            .and_then(|c| c.nat.as_ref())
                            .map_or(0, |n| n.lines().count())
                    } else {
                        app.selected_message().map_or(0, |m| m.raw.lines().count())
                    };
                    u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX)
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Severity;
    use crate::tui::snapshot::{CallRow, FindingRow, MsgRow, StreamRow};

    fn msg(frame: u64, label: &str) -> MsgRow {
        MsgRow {
            frame,
            label: label.to_string(),
            src: "10.0.0.1:5060".into(),
            dst: "10.0.0.2:5060".into(),
            raw: format!("{label} sip:x SIP/2.0\r\nCall-ID: c\r\n\r\n"),
            ..MsgRow::default()
        }
    }

    fn snap() -> Snapshot {
        let call = |i: usize, from: &str, method: &str| CallRow {
            index: i + 1,
            call_id: format!("call-{i}@host"),
            method: method.to_string(),
            from: from.to_string(),
            to: "sip:bob@example.com".to_string(),
            messages: vec![
                msg(10 * i as u64 + 1, method),
                msg(10 * i as u64 + 2, "200 OK"),
            ],
            ..CallRow::default()
        };
        Snapshot {
            calls: vec![
                call(0, "sip:alice@example.com", "REGISTER"),
                call(1, "sip:carol@example.com", "INVITE"),
                call(2, "sip:alice@example.com", "INVITE"),
            ],
            findings: vec![FindingRow {
                severity: Severity::High,
                rule: "auth.weak-password",
                summary: "weak".into(),
                call: Some(2),
                frame: Some(22),
            }],
            streams: vec![StreamRow {
                call: Some(1),
                ..StreamRow::default()
            }],
            summary: String::new(),
        }
    }

    fn run(app: &mut App, actions: &[Action]) {
        for a in actions {
            update(app, *a);
        }
    }

    #[test]
    fn calls_flow_raw_and_back() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::Down, Action::Open]);
        assert_eq!(app.view, View::Flow);
        assert_eq!(app.selected_call(), Some(1));
        run(&mut app, &[Action::Down, Action::Down]);
        assert_eq!(app.msg_sel, 1, "clamped to the last message");
        run(&mut app, &[Action::Open]);
        assert_eq!(app.view, View::Raw);
        assert_eq!(app.selected_message().map(|m| m.frame), Some(12));
        run(&mut app, &[Action::Back, Action::Back]);
        assert_eq!(app.view, View::Calls);
        assert!(!app.quit);
        run(&mut app, &[Action::Back]);
        assert!(app.quit);
    }

    #[test]
    fn paging_clamps() {
        let mut app = App::new(snap());
        app.page = 2;
        run(&mut app, &[Action::PageDown, Action::PageDown]);
        assert_eq!(app.call_sel, 2);
        run(&mut app, &[Action::PageUp]);
        assert_eq!(app.call_sel, 0);
        run(&mut app, &[Action::End]);
        assert_eq!(app.call_sel, 2);
        run(&mut app, &[Action::Home, Action::Up]);
        assert_eq!(app.call_sel, 0);
    }

    #[test]
    fn search_filters_and_cancel_keeps_previous_filter() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::SearchStart]);
        assert_eq!(app.mode(), Mode::Search);
        for c in "ALICE".chars() {
            update(&mut app, Action::SearchChar(c));
        }
        run(&mut app, &[Action::SearchApply]);
        assert_eq!(app.visible, vec![0, 2]);
        assert_eq!(app.mode(), Mode::Browse);
        run(&mut app, &[Action::SearchStart, Action::SearchChar('x')]);
        run(&mut app, &[Action::SearchCancel]);
        assert_eq!(app.filter, "ALICE");
        assert_eq!(app.visible, vec![0, 2]);
        // Backspace to empty shows every call again; method matches too.
        run(&mut app, &[Action::SearchStart]);
        for _ in 0..5 {
            update(&mut app, Action::SearchBackspace);
        }
        run(&mut app, &[Action::SearchApply]);
        assert_eq!(app.visible, vec![0, 1, 2]);
        run(&mut app, &[Action::SearchStart, Action::SearchChar('r')]);
        run(
            &mut app,
            &[Action::SearchChar('e'), Action::SearchChar('g')],
        );
        run(&mut app, &[Action::SearchApply]);
        assert_eq!(app.visible, vec![0]);
    }

    #[test]
    fn finding_opens_its_call_at_the_evidence_even_when_filtered_out() {
        let mut app = App::new(snap());
        app.filter = "carol".into();
        app.apply_filter();
        run(&mut app, &[Action::Findings]);
        assert_eq!(app.view, View::Findings);
        run(&mut app, &[Action::Open]);
        assert_eq!(app.view, View::Flow);
        assert_eq!(app.selected_call(), Some(2));
        assert_eq!(app.selected_message().map(|m| m.frame), Some(22));
        run(&mut app, &[Action::Back]);
        assert_eq!(app.view, View::Findings);
    }

    #[test]
    fn streams_open_their_call() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::Streams, Action::Open]);
        assert_eq!(app.view, View::Flow);
        assert_eq!(app.selected_call(), Some(1));
        run(&mut app, &[Action::Back, Action::Back]);
        assert_eq!(app.view, View::Calls);
    }

    #[test]
    fn tab_moves_arrows_to_the_raw_pane() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::Open, Action::SwitchPane, Action::Down]);
        assert_eq!(app.pane, Pane::Raw);
        assert_eq!(app.msg_sel, 0);
        assert_eq!(app.raw_scroll, 1);
        run(&mut app, &[Action::SwitchPane, Action::Down]);
        assert_eq!(app.msg_sel, 1);
        assert_eq!(app.raw_scroll, 0);
    }

    #[test]
    fn help_toggles_and_empty_snapshot_is_safe() {
        let mut app = App::new(Snapshot::default());
        run(&mut app, &[Action::Help]);
        assert_eq!(app.mode(), Mode::Help);
        run(&mut app, &[Action::Help]);
        assert_eq!(app.mode(), Mode::Browse);
        for a in [
            Action::Down,
            Action::End,
            Action::Open,
            Action::Findings,
            Action::Open,
            Action::Streams,
            Action::Open,
            Action::PageDown,
        ] {
            update(&mut app, a);
        }
        assert_eq!(app.view, View::Streams);
        assert_eq!(app.stream_sel, 0);
    }
}
