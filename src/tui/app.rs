//! Dashboard state and its transitions: `update(&mut App, Action)` is pure, so every
//! navigation path is unit-tested without a terminal. Side effects (saving a file) are
//! requests left in [`App::save`] for the event loop to carry out.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ratatui::layout::{Constraint, Direction, Layout, Rect};

use super::columns::{default_columns, Column};
use super::delta::{Delta, LiveLinks};
use super::filter::{Filter, FilterFields, NumField, TextField};
use super::keys::{Action, Mode};
use super::ladder::{self, FlowRef};
use super::snapshot::{CallRow, MsgRow, Snapshot};
use super::theme::Theme;
use crate::engine::Severity;

/// The screen on show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Call list.
    Calls,
    /// The ladder of one call (or of the marked calls) with the selected message beside it.
    Flow,
    /// The selected message's text, full screen.
    Raw,
    /// Findings list.
    Findings,
    /// RTP streams list.
    Streams,
    /// The selected call's NAT section: advertised against observed, verdicts, advice.
    Nat,
    /// Counters: methods, response codes, states, decode errors, evictions, drops.
    Stats,
    /// Two messages side by side, differences marked.
    Diff,
}

/// Which pane of the flow view takes the arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The ladder: arrows move the selected message.
    Ladder,
    /// The raw message: arrows scroll it.
    Raw,
}

/// What the prompt line is typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// A display filter expression (applied as it is typed).
    Filter,
    /// The call-list columns, comma-separated.
    Columns,
    /// A file name to save to (the extension picks what is saved).
    Save,
}

/// The prompt line being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What it is for.
    pub kind: PromptKind,
    /// Text typed so far.
    pub text: String,
    /// Why the text is not valid yet (filter syntax, unknown column, bad extension).
    pub error: Option<String>,
}

/// What a save writes, from the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveKind {
    /// `.pcap` / `.pcapng`: the calls' SIP messages and their RTP/RTCP.
    Pcap,
    /// `.txt`: the ladder as plain text.
    Ladder,
    /// `.json`: the whole report.
    Json,
}

/// A save the event loop must carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRequest {
    /// Where.
    pub path: PathBuf,
    /// What.
    pub kind: SaveKind,
    /// Call-IDs to export (pcap): the marked calls, else every call the filter shows.
    pub call_ids: Vec<String>,
    /// The text to write (ladder).
    pub text: Option<String>,
}

/// Live-capture state shown by the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveState {
    /// New snapshots are not applied while paused (the capture goes on).
    pub paused: bool,
    /// The call-list selection follows the newest call.
    pub follow: bool,
}

/// First row of each list and how many rows scrolled off the top.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offsets {
    /// Call list.
    pub calls: usize,
    /// Ladder.
    pub msgs: usize,
    /// Findings.
    pub findings: usize,
    /// Streams.
    pub streams: usize,
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
    /// Where Back from the NAT, stats or diff view returns.
    pub side_parent: View,
    /// Help overlay open.
    pub help: bool,
    /// The prompt line, while one is open.
    pub prompt: Option<Prompt>,
    /// The applied filter expression as typed (empty: every call).
    pub filter_text: String,
    filter: Filter,
    /// Positions in `snap.calls` of the calls the filter keeps, in sort order.
    pub visible: Vec<usize>,
    /// Call-list columns.
    pub columns: Vec<Column>,
    /// Sort column (one of `columns`, or the index).
    pub sort: Column,
    /// Descending order.
    pub sort_desc: bool,
    /// Calls marked with space (positions in `snap.calls`).
    pub marked: BTreeSet<usize>,
    /// Calls in the open ladder.
    pub flow_calls: Vec<usize>,
    /// The open ladder's messages in order.
    pub flow: Vec<FlowRef>,
    /// Messages marked with space in the ladder, for the diff (at most two).
    pub msg_marks: Vec<FlowRef>,
    /// The two messages the diff view compares.
    pub diff: Option<(FlowRef, FlowRef)>,
    /// Selected row of `visible`.
    pub call_sel: usize,
    /// Selected message of the open ladder.
    pub msg_sel: usize,
    /// Selected row of `finding_rows`.
    pub finding_sel: usize,
    /// Selected stream.
    pub stream_sel: usize,
    /// Finding family shown (`auth`, `nat`...; None: all).
    pub family: Option<String>,
    /// Positions in `snap.findings` shown (family filter applied).
    pub finding_rows: Vec<usize>,
    /// Scroll offsets of the lists.
    pub offsets: Offsets,
    /// Flow view focus.
    pub pane: Pane,
    /// First line of the raw message, NAT text, stats or diff shown.
    pub raw_scroll: u16,
    /// The terminal area (set by the event loop before drawing; mouse and paging use it).
    pub area: Rect,
    /// Colours.
    pub theme: Theme,
    /// A one-line message for the footer (save done, error), cleared by the next key.
    pub status: Option<String>,
    /// A save for the event loop to carry out.
    pub save: Option<SaveRequest>,
    /// Live capture (None when reading files).
    pub live: Option<LiveState>,
    /// Header values the filter has asked for (cleared with a new snapshot).
    header_cache: HeaderCache,
    /// Address aliases, put on every new snapshot (live).
    pub aliases: Vec<(String, String)>,
    /// Call ids of the live snapshot's findings and streams (see [`Delta::apply_to`]).
    live_links: LiveLinks,
    /// Set by Quit (or Back from the call list): the event loop ends.
    pub quit: bool,
}

/// The title line, body and footer of the screen.
pub fn screen_areas(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The call list and, when there is room, the selected call's findings pane below it.
pub fn calls_areas(body: Rect) -> (Rect, Option<Rect>) {
    if body.height >= 16 {
        let [list, detail] =
            Layout::vertical([Constraint::Min(8), Constraint::Length(6)]).areas(body);
        (list, Some(detail))
    } else {
        (body, None)
    }
}

/// The ladder and the raw pane: side by side on wide terminals, stacked otherwise.
pub fn flow_areas(body: Rect) -> (Rect, Rect) {
    let dir = if body.width >= 140 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let [ladder, raw] = Layout::default()
        .direction(dir)
        .constraints([Constraint::Percentage(60), Constraint::Percentage(40)])
        .areas(body);
    (ladder, raw)
}

/// The findings list and the selected finding's full text below it.
pub fn findings_areas(body: Rect) -> (Rect, Rect) {
    let [list, detail] = Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(body);
    (list, detail)
}

/// Rows of a bordered list with one header line that fit in `area`.
pub fn list_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3)).max(1)
}

/// The offset that keeps `sel` visible in `rows` rows, scrolling as little as possible.
pub fn keep_visible(off: usize, sel: usize, rows: usize) -> usize {
    if sel < off {
        sel
    } else if sel >= off + rows {
        sel + 1 - rows
    } else {
        off
    }
}

/// Header values per call, by header name as the filter spells it (the filter asks with
/// that same spelling, so a lookup needs no lower-cased copy per call): a filter on a
/// header is re-applied on every keystroke, so each message is scanned once per name.
pub type HeaderCache = std::collections::HashMap<String, Vec<Vec<Box<str>>>>;

/// A call as the filter sees it.
struct CallView<'a> {
    call: &'a CallRow,
    snap: &'a Snapshot,
    /// Its position in `snap.calls` (index into the header cache).
    pos: usize,
    headers: &'a HeaderCache,
}

impl FilterFields for CallView<'_> {
    fn text<'s>(&'s self, field: TextField, out: &mut Vec<&'s str>) {
        let c = self.call;
        match field {
            TextField::From => out.push(&c.from),
            TextField::To => out.push(&c.to),
            TextField::CallId => out.push(&c.call_id),
            TextField::Method => out.push(&c.method),
            TextField::State => out.push(&c.state),
            TextField::Ua => out.extend(c.user_agents.iter().map(String::as_str)),
            TextField::Src => out.push(&c.src),
            TextField::Dst => out.push(&c.dst),
            TextField::Transport => out.push(c.transport),
            TextField::Finding => out.extend(
                c.findings
                    .iter()
                    .filter_map(|&f| self.snap.findings.get(f))
                    .map(|f| f.rule),
            ),
        }
    }

    fn number(&self, field: NumField) -> Option<f64> {
        let c = self.call;
        match field {
            NumField::Status => c.status.map(f64::from),
            NumField::Msgs => Some(c.msgs as f64),
            NumField::Duration => Some(c.duration_s),
        }
    }

    fn severity(&self) -> Option<Severity> {
        self.call.badge.map(|b| b.0)
    }

    fn header<'s>(&'s self, name: &str, out: &mut Vec<&'s str>) {
        match self.headers.get(name).and_then(|calls| calls.get(self.pos)) {
            Some(values) => out.extend(values.iter().map(|v| &**v)),
            None => self.call.header_values(name, out),
        }
    }
}

/// Positions in `snap.calls` of the calls `filter` keeps, in order. The calls follow the
/// report's dialogs one to one, so these are positions in [`crate::report::Report::dialogs`]
/// too: `report -Y` and `export -Y` select with the dashboard's own filter, never a copy.
pub fn matching_calls(snap: &Snapshot, filter: &Filter) -> Vec<usize> {
    let headers = HeaderCache::new();
    snap.calls
        .iter()
        .enumerate()
        .filter(|&(pos, call)| {
            filter.matches(&CallView {
                call,
                snap,
                pos,
                headers: &headers,
            })
        })
        .map(|(pos, _)| pos)
        .collect()
}

/// A finding's family: the rule id up to the first dot (`auth.digest` → `auth`).
pub fn family(rule: &str) -> &str {
    rule.split('.').next().unwrap_or(rule)
}

impl App {
    /// A dashboard on the call list, every call shown, dark theme.
    pub fn new(snap: Snapshot) -> App {
        let mut app = App {
            snap,
            view: View::Calls,
            flow_parent: View::Calls,
            side_parent: View::Calls,
            help: false,
            prompt: None,
            filter_text: String::new(),
            filter: Filter::default(),
            visible: Vec::new(),
            columns: default_columns(),
            sort: Column::Index,
            sort_desc: false,
            marked: BTreeSet::new(),
            flow_calls: Vec::new(),
            flow: Vec::new(),
            msg_marks: Vec::new(),
            diff: None,
            call_sel: 0,
            msg_sel: 0,
            finding_sel: 0,
            stream_sel: 0,
            family: None,
            finding_rows: Vec::new(),
            offsets: Offsets::default(),
            pane: Pane::Ladder,
            raw_scroll: 0,
            area: Rect::new(0, 0, 80, 24),
            theme: Theme::dark(),
            status: None,
            save: None,
            live: None,
            header_cache: HeaderCache::new(),
            aliases: Vec::new(),
            live_links: LiveLinks::default(),
            quit: false,
        };
        app.refresh();
        app
    }

    /// What the keyboard drives now.
    pub fn mode(&self) -> Mode {
        if self.help {
            Mode::Help
        } else if self.prompt.is_some() {
            Mode::Prompt
        } else {
            Mode::Browse
        }
    }

    /// Sets the call-list columns (e.g. from `--columns`); the sort column is kept when
    /// it is still shown.
    pub fn set_columns(&mut self, cols: Vec<Column>) {
        if !cols.contains(&self.sort) {
            self.sort = Column::Index;
        }
        self.columns = cols;
        self.refresh();
    }

    /// Applies a filter expression, as the prompt does.
    pub fn set_filter(&mut self, text: &str) -> Result<(), super::filter::FilterError> {
        self.filter = Filter::parse(text)?;
        self.filter_text = text.to_string();
        self.refresh();
        Ok(())
    }

    /// Replaces the snapshot (live mode), keeping the selected call, filter, sort and
    /// marks by Call-ID.
    pub fn replace_snapshot(&mut self, mut snap: Snapshot) {
        snap.aliases = self.aliases.clone();
        let id = |a: &App, c: usize| a.snap.calls.get(c).map(|r| r.call_id.clone());
        let selected = self.selected_call().and_then(|c| id(self, c));
        let marked: Vec<String> = self.marked.iter().filter_map(|&c| id(self, c)).collect();
        let flow: Vec<String> = self
            .flow_calls
            .iter()
            .filter_map(|&c| id(self, c))
            .collect();
        self.snap = snap;
        self.header_cache.clear();
        let pos = |cid: &str, s: &Snapshot| s.calls.iter().position(|r| r.call_id == cid);
        self.marked = marked.iter().filter_map(|c| pos(c, &self.snap)).collect();
        let flow_calls: Vec<usize> = flow.iter().filter_map(|c| pos(c, &self.snap)).collect();
        self.flow = ladder::merge(&self.snap, &flow_calls);
        self.flow_calls = flow_calls;
        self.msg_sel = self.msg_sel.min(self.flow.len().saturating_sub(1));
        self.msg_marks.clear();
        self.refresh();
        let follow = self.live.is_some_and(|l| l.follow);
        if follow {
            self.call_sel = self.visible.len().saturating_sub(1);
        } else if let Some(c) = selected.and_then(|c| pos(&c, &self.snap)) {
            self.call_sel = self.visible.iter().position(|&v| v == c).unwrap_or(0);
        }
        self.fix_offsets();
    }

    /// Applies a live update, keeping the selected call, marks and open ladder (by
    /// dialog id), filter and sort. Returns true when the screen must be redrawn. Only
    /// what changed is redone: counters alone touch no list, and rows are filtered and
    /// sorted again only when some row changed.
    pub fn apply_delta(&mut self, delta: Delta) -> bool {
        if delta.is_empty() {
            return false;
        }
        if !delta.touches_rows() {
            let _ = delta.apply_to(&mut self.snap, &mut self.live_links);
            return true;
        }
        // Positions move when calls go or the whole list is replaced; the ids do not.
        let moves = delta.full || !delta.evicted.is_empty();
        let id = |a: &App, c: usize| a.snap.calls.get(c).map(|r| r.id);
        let selected = self.selected_call().and_then(|c| id(self, c));
        let marked: Vec<u64> = self.marked.iter().filter_map(|&c| id(self, c)).collect();
        let flow: Vec<u64> = self
            .flow_calls
            .iter()
            .filter_map(|&c| id(self, c))
            .collect();
        let applied = delta.apply_to(&mut self.snap, &mut self.live_links);
        if applied.moved {
            self.header_cache.clear();
        } else {
            // A header filter scans every message once; under load only the changed
            // calls are scanned again, not all of them every tick.
            let mut scratch = Vec::new();
            for (name, per_call) in &mut self.header_cache {
                for &p in &applied.changed {
                    let Some(call) = self.snap.calls.get(p) else {
                        continue;
                    };
                    scratch.clear();
                    call.header_values(name, &mut scratch);
                    let values = scratch.iter().map(|v| Box::from(*v)).collect();
                    if p < per_call.len() {
                        per_call[p] = values;
                    } else if p == per_call.len() {
                        per_call.push(values);
                    }
                }
            }
            // Appended out of order (cannot happen: positions come ascending) would leave
            // a gap; drop such a cache rather than read a wrong call's values.
            let n = self.snap.calls.len();
            self.header_cache.retain(|_, per_call| per_call.len() == n);
        }
        let pos = |id: u64, s: &Snapshot| s.calls.binary_search_by_key(&id, |r| r.id).ok();
        self.marked = marked.iter().filter_map(|&c| pos(c, &self.snap)).collect();
        if !flow.is_empty() {
            let flow_calls: Vec<usize> = flow.iter().filter_map(|&c| pos(c, &self.snap)).collect();
            self.flow = ladder::merge(&self.snap, &flow_calls);
            self.flow_calls = flow_calls;
            self.msg_sel = self.msg_sel.min(self.flow.len().saturating_sub(1));
        }
        if moves {
            self.msg_marks.clear();
        }
        self.refresh();
        let follow = self.live.is_some_and(|l| l.follow);
        if follow {
            self.call_sel = self.visible.len().saturating_sub(1);
        } else if let Some(c) = selected.and_then(|c| pos(c, &self.snap)) {
            self.call_sel = self.visible.iter().position(|&v| v == c).unwrap_or(0);
        }
        self.fix_offsets();
        true
    }

    /// Sets the terminal size (the event loop calls it before drawing and on resize).
    pub fn set_area(&mut self, area: Rect) {
        self.area = area;
        self.fix_offsets();
    }

    /// Position in `snap.calls` of the selected call.
    pub fn selected_call(&self) -> Option<usize> {
        self.visible.get(self.call_sel).copied()
    }

    /// The selected message of the open ladder.
    pub fn selected_message(&self) -> Option<&MsgRow> {
        ladder::message(&self.snap, *self.flow.get(self.msg_sel)?)
    }

    /// Recomputes the visible calls (filter, then sort) and the findings rows, keeping
    /// the selection in range.
    fn refresh(&mut self) {
        for name in self.filter.header_names_in() {
            if !self.header_cache.contains_key(name) {
                let mut scratch = Vec::new();
                let per_call = self
                    .snap
                    .calls
                    .iter()
                    .map(|c| {
                        scratch.clear();
                        c.header_values(name, &mut scratch);
                        scratch.iter().map(|v| Box::from(*v)).collect()
                    })
                    .collect();
                self.header_cache.insert(name.to_string(), per_call);
            }
        }
        let snap = &self.snap;
        let filter = &self.filter;
        let headers = &self.header_cache;
        let mut visible: Vec<usize> = if filter.is_empty() {
            (0..snap.calls.len()).collect()
        } else {
            let mut v = Vec::new();
            for (pos, call) in snap.calls.iter().enumerate() {
                let view = CallView {
                    call,
                    snap,
                    pos,
                    headers,
                };
                if filter.matches(&view) {
                    v.push(pos);
                }
            }
            v
        };
        if self.sort != Column::Index || self.sort_desc {
            // Keys once per call, not once per comparison (header columns parse messages).
            let mut keyed: Vec<_> = visible
                .iter()
                .map(|&i| (self.sort.sort_key(&snap.calls[i]), i))
                .collect();
            keyed.sort();
            if self.sort_desc {
                // Most first, ties still in capture order.
                keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            }
            visible = keyed.into_iter().map(|(_, i)| i).collect();
        }
        self.visible = visible;
        self.call_sel = self.call_sel.min(self.visible.len().saturating_sub(1));
        self.finding_rows = self
            .snap
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                self.family
                    .as_deref()
                    .is_none_or(|fam| family(f.rule) == fam)
            })
            .map(|(i, _)| i)
            .collect();
        self.finding_sel = self
            .finding_sel
            .min(self.finding_rows.len().saturating_sub(1));
        self.fix_offsets();
    }

    fn rows(&self) -> usize {
        match self.view {
            View::Calls => self.visible.len(),
            View::Flow => self.flow.len(),
            View::Raw | View::Nat | View::Stats | View::Diff => 0,
            View::Findings => self.finding_rows.len(),
            View::Streams => self.snap.streams.len(),
        }
    }

    /// Rows a page moves in the current view.
    pub fn page(&self) -> usize {
        let [_, body, _] = screen_areas(self.area);
        match self.view {
            View::Calls => list_rows(calls_areas(body).0),
            View::Flow => list_rows(flow_areas(body).0),
            View::Findings => list_rows(findings_areas(body).0),
            _ => list_rows(body),
        }
    }

    /// Keeps every list's selection on screen.
    fn fix_offsets(&mut self) {
        let [_, body, _] = screen_areas(self.area);
        let o = &mut self.offsets;
        o.calls = keep_visible(o.calls, self.call_sel, list_rows(calls_areas(body).0));
        o.msgs = keep_visible(o.msgs, self.msg_sel, list_rows(flow_areas(body).0));
        o.findings = keep_visible(
            o.findings,
            self.finding_sel,
            list_rows(findings_areas(body).0),
        );
        o.streams = keep_visible(o.streams, self.stream_sel, list_rows(body));
    }

    /// The selection the arrow keys move, or None when they scroll text.
    fn cursor(&mut self) -> Option<&mut usize> {
        match (self.view, self.pane) {
            (View::Calls, _) => Some(&mut self.call_sel),
            (View::Flow, Pane::Ladder) => Some(&mut self.msg_sel),
            (View::Findings, _) => Some(&mut self.finding_sel),
            (View::Streams, _) => Some(&mut self.stream_sel),
            _ => None,
        }
    }

    fn open_flow(&mut self, calls: Vec<usize>, frame: Option<u64>) {
        self.flow = ladder::merge(&self.snap, &calls);
        self.flow_calls = calls;
        self.msg_sel = frame
            .and_then(|f| {
                self.flow
                    .iter()
                    .position(|r| ladder::message(&self.snap, *r).is_some_and(|m| m.frame == f))
            })
            .unwrap_or(0);
        self.msg_marks.clear();
        self.raw_scroll = 0;
        self.pane = Pane::Ladder;
        self.view = View::Flow;
        self.fix_offsets();
    }

    fn open_call(&mut self, call: usize, frame: Option<u64>) {
        // A finding's call may be hidden by the filter: clear it rather than open nothing.
        if !self.visible.contains(&call) {
            self.filter = Filter::default();
            self.filter_text.clear();
            self.refresh();
        }
        self.call_sel = self.visible.iter().position(|&c| c == call).unwrap_or(0);
        self.open_flow(vec![call], frame);
    }

    fn prompt_changed(&mut self) {
        let Some(p) = &mut self.prompt else {
            return;
        };
        p.error = None;
        match p.kind {
            // Applied as it is typed; an incomplete expression keeps the last good one.
            // `filter_text` stays the applied one until Enter, so Esc can go back to it.
            PromptKind::Filter => match Filter::parse(&p.text) {
                Ok(f) => {
                    self.filter = f;
                    self.view = View::Calls;
                    self.refresh();
                }
                Err(e) => p.error = Some(e.to_string()),
            },
            PromptKind::Columns => {
                if let Err(e) = Column::parse_list(&p.text) {
                    p.error = Some(e.to_string());
                }
            }
            PromptKind::Save => {
                if let Err(e) = save_kind(&p.text) {
                    p.error = Some(e.to_string());
                }
            }
        }
    }

    fn prompt_apply(&mut self) {
        let Some(p) = self.prompt.take() else {
            return;
        };
        match p.kind {
            PromptKind::Filter => {
                if let Err(e) = self.set_filter(&p.text) {
                    self.prompt = Some(Prompt {
                        error: Some(e.to_string()),
                        ..p
                    });
                }
            }
            PromptKind::Columns => match Column::parse_list(&p.text) {
                Ok(cols) => self.set_columns(cols),
                Err(e) => {
                    self.prompt = Some(Prompt {
                        error: Some(e.to_string()),
                        ..p
                    })
                }
            },
            PromptKind::Save => match save_kind(&p.text) {
                Ok(kind) => self.request_save(PathBuf::from(p.text.trim()), kind),
                Err(e) => {
                    self.prompt = Some(Prompt {
                        error: Some(e.to_string()),
                        ..p
                    })
                }
            },
        }
    }

    fn request_save(&mut self, path: PathBuf, kind: SaveKind) {
        let calls: Vec<usize> = if !self.marked.is_empty() {
            self.marked.iter().copied().collect()
        } else {
            self.visible.clone()
        };
        let text = (kind == SaveKind::Ladder).then(|| {
            let (calls, flow) = if self.view == View::Flow {
                (self.flow_calls.clone(), self.flow.clone())
            } else {
                let c: Vec<usize> = self.selected_call().into_iter().collect();
                let f = ladder::merge(&self.snap, &c);
                (c, f)
            };
            ladder::text(&self.snap, &calls, &flow, 120)
        });
        self.save = Some(SaveRequest {
            path,
            kind,
            call_ids: calls
                .iter()
                .filter_map(|&c| self.snap.calls.get(c))
                .map(|c| c.call_id.clone())
                .collect(),
            text,
        });
    }

    fn toggle_mark(&mut self) {
        match self.view {
            View::Calls => {
                if let Some(c) = self.selected_call() {
                    if !self.marked.remove(&c) {
                        self.marked.insert(c);
                    }
                    move_cursor(self, Action::Down);
                }
            }
            View::Flow => {
                // Only messages can be diffed: a stream bar is not marked.
                let msg = self
                    .flow
                    .get(self.msg_sel)
                    .filter(|r| matches!(r, FlowRef::Msg(..)));
                if let Some(&r) = msg {
                    if let Some(i) = self.msg_marks.iter().position(|&m| m == r) {
                        self.msg_marks.remove(i);
                    } else {
                        // The two latest marks are the diff pair.
                        if self.msg_marks.len() == 2 {
                            self.msg_marks.remove(0);
                        }
                        self.msg_marks.push(r);
                    }
                }
            }
            _ => {}
        }
    }

    fn open_diff(&mut self) {
        if self.view != View::Flow {
            return;
        }
        let current = self
            .flow
            .get(self.msg_sel)
            .copied()
            .filter(|r| matches!(r, FlowRef::Msg(..)));
        let pair = match self.msg_marks.as_slice() {
            [a, b] => Some((*a, *b)),
            [a] => current.filter(|c| c != a).map(|c| (*a, c)),
            _ => None,
        };
        match pair {
            Some((a, b)) => {
                // Earlier message on the left.
                let frame = |r: FlowRef| ladder::message(&self.snap, r).map(|m| m.frame);
                let (a, b) = if frame(a) <= frame(b) { (a, b) } else { (b, a) };
                self.diff = Some((a, b));
                self.raw_scroll = 0;
                self.side_parent = View::Flow;
                self.view = View::Diff;
            }
            None => {
                self.status = Some("mark a message with space, then d on another".to_string());
            }
        }
    }

    fn cycle_family(&mut self, forward: bool) {
        let mut fams: Vec<&str> = self.snap.findings.iter().map(|f| family(f.rule)).collect();
        fams.sort_unstable();
        fams.dedup();
        // None (all) sits before the first family.
        let pos = self
            .family
            .as_deref()
            .and_then(|f| fams.iter().position(|x| *x == f));
        let n = fams.len() + 1;
        let cur = pos.map_or(0, |p| p + 1);
        let next = if forward {
            (cur + 1) % n
        } else {
            (cur + n - 1) % n
        };
        self.family = next
            .checked_sub(1)
            .and_then(|i| fams.get(i))
            .map(|s| s.to_string());
        self.finding_sel = 0;
        self.refresh();
    }

    fn move_sort(&mut self, right: bool) {
        let pos = self.columns.iter().position(|c| *c == self.sort);
        let n = self.columns.len();
        if n == 0 {
            return;
        }
        let next = match pos {
            None => 0,
            Some(p) if right => (p + 1) % n,
            Some(p) => (p + n - 1) % n,
        };
        if let Some(c) = self.columns.get(next) {
            self.sort = c.clone();
        }
        self.refresh();
    }

    fn click(&mut self, x: u16, y: u16) {
        let [_, body, _] = screen_areas(self.area);
        let inside = |r: Rect| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
        // Data rows start under the top border and the header line.
        let row_at = |r: Rect, off: usize| -> Option<usize> {
            let first = r.y + 2;
            (inside(r) && y >= first && y + 1 < r.y + r.height)
                .then(|| off + usize::from(y - first))
        };
        let (target, rows): (Option<usize>, usize) = match self.view {
            View::Calls => (
                row_at(calls_areas(body).0, self.offsets.calls),
                self.visible.len(),
            ),
            View::Flow => {
                let (ladder, raw) = flow_areas(body);
                if inside(raw) {
                    self.pane = Pane::Raw;
                    return;
                }
                self.pane = Pane::Ladder;
                (row_at(ladder, self.offsets.msgs), self.flow.len())
            }
            View::Findings => (
                row_at(findings_areas(body).0, self.offsets.findings),
                self.finding_rows.len(),
            ),
            View::Streams => (row_at(body, self.offsets.streams), self.snap.streams.len()),
            _ => (None, 0),
        };
        let Some(row) = target.filter(|&r| r < rows) else {
            return;
        };
        let Some(sel) = self.cursor() else {
            return;
        };
        if *sel == row {
            // A click on the selected row opens it, like Enter (a double click).
            update(self, Action::Open);
        } else {
            *sel = row;
            self.raw_scroll = 0;
            self.fix_offsets();
        }
    }
}

/// Why a save file name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveNameError {
    /// Nothing typed.
    #[error("type a file name")]
    Empty,
    /// An extension that picks nothing.
    #[error("end the name in .pcap, .pcapng (calls with RTP), .txt (ladder) or .json (report)")]
    Extension,
}

/// What a file name saves, from its extension.
pub fn save_kind(name: &str) -> Result<SaveKind, SaveNameError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(SaveNameError::Empty);
    }
    let ext = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("pcap" | "pcapng") => Ok(SaveKind::Pcap),
        Some("txt") => Ok(SaveKind::Ladder),
        Some("json") => Ok(SaveKind::Json),
        _ => Err(SaveNameError::Extension),
    }
}

fn open_prompt(app: &mut App, kind: PromptKind) {
    let text = match kind {
        PromptKind::Filter => app.filter_text.clone(),
        PromptKind::Columns => app
            .columns
            .iter()
            .map(Column::name)
            .collect::<Vec<_>>()
            .join(","),
        PromptKind::Save => "siplens-calls.pcap".to_string(),
    };
    app.prompt = Some(Prompt {
        kind,
        text,
        error: None,
    });
}

/// Applies one action.
pub fn update(app: &mut App, action: Action) {
    app.status = None;
    match action {
        Action::Quit => app.quit = true,
        Action::Help => app.help = !app.help,
        Action::SearchStart => open_prompt(app, PromptKind::Filter),
        Action::ColumnsStart => {
            if app.view == View::Calls {
                open_prompt(app, PromptKind::Columns);
            }
        }
        Action::SaveStart => open_prompt(app, PromptKind::Save),
        Action::PromptChar(c) => {
            if let Some(p) = &mut app.prompt {
                p.text.push(c);
            }
            app.prompt_changed();
        }
        Action::PromptBackspace => {
            if let Some(p) = &mut app.prompt {
                p.text.pop();
            }
            app.prompt_changed();
        }
        Action::PromptApply => app.prompt_apply(),
        Action::PromptCancel => {
            // A filter typed and cancelled goes back to the one applied before.
            if app
                .prompt
                .take()
                .is_some_and(|p| p.kind == PromptKind::Filter)
            {
                if let Ok(f) = Filter::parse(&app.filter_text) {
                    app.filter = f;
                }
                app.refresh();
            }
        }
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
        Action::WheelUp | Action::WheelDown => {
            let a = if action == Action::WheelUp {
                Action::Up
            } else {
                Action::Down
            };
            for _ in 0..3 {
                move_cursor(app, a);
            }
        }
        Action::Click(x, y) => app.click(x, y),
        Action::Open => match app.view {
            View::Calls => {
                if let Some(c) = app.selected_call() {
                    app.flow_parent = View::Calls;
                    app.open_flow(vec![c], None);
                }
            }
            View::Flow => match app.flow.get(app.msg_sel) {
                Some(FlowRef::Msg(..)) => {
                    app.raw_scroll = 0;
                    app.view = View::Raw;
                }
                // A stream bar opens the streams list on that stream.
                Some(FlowRef::Stream(_, s)) => {
                    app.stream_sel = *s;
                    app.view = View::Streams;
                }
                // A digit has nothing more to show than its row.
                Some(FlowRef::Dtmf(..)) | None => {}
            },
            View::Findings => {
                let f = app
                    .finding_rows
                    .get(app.finding_sel)
                    .and_then(|&i| app.snap.findings.get(i));
                if let Some((call, frame)) = f.and_then(|f| Some((f.call?, f.frame))) {
                    app.open_call(call, frame);
                    app.flow_parent = View::Findings;
                }
            }
            View::Streams => {
                if let Some(call) = app.snap.streams.get(app.stream_sel).and_then(|s| s.call) {
                    app.open_call(call, None);
                    app.flow_parent = View::Streams;
                }
            }
            View::Raw | View::Nat | View::Stats | View::Diff => {}
        },
        Action::Back => match app.view {
            View::Calls => {
                if app.marked.is_empty() {
                    app.quit = true;
                } else {
                    // Esc first clears the marks, as sngrep does.
                    app.marked.clear();
                }
            }
            View::Flow => {
                app.view = app.flow_parent;
                app.pane = Pane::Ladder;
            }
            View::Raw => app.view = View::Flow,
            View::Nat | View::Stats | View::Diff => app.view = app.side_parent,
            View::Findings | View::Streams => app.view = View::Calls,
        },
        Action::Nat => {
            if matches!(app.view, View::Calls | View::Flow) && app.selected_call().is_some() {
                app.side_parent = app.view;
                app.raw_scroll = 0;
                app.view = View::Nat;
            }
        }
        Action::Stats => {
            if app.view != View::Stats {
                app.side_parent = app.view;
                app.raw_scroll = 0;
                app.view = View::Stats;
            }
        }
        Action::Findings => app.view = View::Findings,
        Action::Streams => app.view = View::Streams,
        Action::Mark => app.toggle_mark(),
        Action::Diff => app.open_diff(),
        Action::MarkedFlow => {
            if app.view == View::Calls {
                let calls: Vec<usize> = if app.marked.is_empty() {
                    app.selected_call().into_iter().collect()
                } else {
                    app.marked.iter().copied().collect()
                };
                if !calls.is_empty() {
                    app.flow_parent = View::Calls;
                    app.open_flow(calls, None);
                }
            }
        }
        Action::SortNext | Action::SortPrev => {
            if app.view == View::Calls {
                app.move_sort(action == Action::SortNext);
            } else if app.view == View::Findings {
                app.cycle_family(action == Action::SortNext);
            }
        }
        Action::SortReverse => {
            if app.view == View::Calls {
                app.sort_desc = !app.sort_desc;
                app.refresh();
            }
        }
        Action::Theme => app.theme = next_theme(&app.theme),
        Action::Pause => {
            if let Some(l) = &mut app.live {
                l.paused = !l.paused;
            }
        }
        Action::Follow => {
            if let Some(l) = &mut app.live {
                l.follow = !l.follow;
                if l.follow {
                    app.call_sel = app.visible.len().saturating_sub(1);
                }
            }
        }
    }
    app.fix_offsets();
}

/// The theme after `t` in the cycle dark → light → no colour → dark.
fn next_theme(t: &Theme) -> Theme {
    if *t == Theme::dark() {
        Theme::light()
    } else if *t == Theme::light() {
        Theme::mono()
    } else {
        Theme::dark()
    }
}

fn move_cursor(app: &mut App, action: Action) {
    let rows = app.rows();
    let page = app.page();
    let view = app.view;
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
            if view == View::Flow {
                app.raw_scroll = 0;
            }
            // Moving up leaves follow mode: the user is reading an older call.
            if view == View::Calls && action != Action::End {
                if let Some(l) = &mut app.live {
                    l.follow = false;
                }
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
                _ => u16::try_from(text_lines(app).saturating_sub(1)).unwrap_or(u16::MAX),
            };
        }
    }
}

/// Lines of the text the current view scrolls (End jumps to the last one).
fn text_lines(app: &App) -> usize {
    match app.view {
        View::Nat => app
            .selected_call()
            .and_then(|c| app.snap.calls.get(c))
            .and_then(|c| c.nat.as_ref())
            .map_or(0, |n| n.lines().count()),
        View::Stats => app.snap.stats.iter().map(|s| s.rows.len() + 2).sum(),
        View::Diff => app
            .diff
            .and_then(|(a, b)| {
                let a = ladder::message(&app.snap, a)?;
                let b = ladder::message(&app.snap, b)?;
                Some(a.text().lines().count().max(b.text().lines().count()))
            })
            .unwrap_or(0),
        _ => app
            .selected_message()
            .map_or(0, |m| m.text().lines().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::snapshot::{CallRow, FindingRow, MsgRow, StreamRow};
    use std::sync::Arc;

    fn msg(frame: u64, label: &str) -> MsgRow {
        let raw = format!("{label} sip:x SIP/2.0\r\nCall-ID: c\r\nX-Account-ID: {frame}\r\n\r\n");
        MsgRow {
            frame,
            label: label.into(),
            src: "10.0.0.1:5060".into(),
            dst: "10.0.0.2:5060".into(),
            raw: crate::engine::LazyRaw::copied(Arc::from(raw.as_bytes())),
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
            msgs: 2 + i as u64,
            messages: vec![
                msg(10 * i as u64 + 1, method),
                msg(10 * i as u64 + 2, "200 OK"),
            ],
            ..CallRow::default()
        };
        let mut calls = vec![
            call(0, "sip:alice@example.com", "REGISTER"),
            call(1, "sip:carol@example.com", "INVITE"),
            call(2, "sip:alice@example.com", "INVITE"),
        ];
        calls[2].badge = Some((Severity::High, 1));
        calls[2].findings = vec![0];
        Snapshot {
            calls,
            findings: vec![
                FindingRow {
                    severity: Severity::High,
                    rule: "auth.weak-password",
                    summary: "weak".into(),
                    call: Some(2),
                    frame: Some(22),
                },
                FindingRow {
                    severity: Severity::Low,
                    rule: "nat.rport-missing",
                    summary: "rport".into(),
                    call: Some(1),
                    frame: Some(11),
                },
            ],
            streams: vec![StreamRow {
                call: Some(1),
                ..StreamRow::default()
            }],
            ..Snapshot::default()
        }
    }

    fn run(app: &mut App, actions: &[Action]) {
        for a in actions {
            update(app, *a);
        }
    }

    fn type_in(app: &mut App, s: &str) {
        for c in s.chars() {
            update(app, Action::PromptChar(c));
        }
    }

    #[test]
    fn calls_flow_raw_and_back() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::Down, Action::Open]);
        assert_eq!(app.view, View::Flow);
        assert_eq!(app.flow_calls, vec![1]);
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
    fn filter_applies_while_typing_and_cancel_restores() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::SearchStart]);
        assert_eq!(app.mode(), Mode::Prompt);
        type_in(&mut app, "from ~ alice");
        assert_eq!(app.visible, vec![0, 2], "applied as typed");
        run(&mut app, &[Action::PromptApply]);
        assert_eq!(app.filter_text, "from ~ alice");
        assert_eq!(app.mode(), Mode::Browse);
        run(&mut app, &[Action::SearchStart]);
        type_in(&mut app, " and method = INVITE");
        assert_eq!(app.visible, vec![2]);
        run(&mut app, &[Action::PromptCancel]);
        assert_eq!(
            app.visible,
            vec![0, 2],
            "cancel goes back to the applied filter"
        );
        // An incomplete expression shows an error and keeps the last good filter.
        run(&mut app, &[Action::SearchStart]);
        type_in(&mut app, " and (");
        let err = app.prompt.as_ref().and_then(|p| p.error.clone());
        assert!(err.is_some(), "syntax error shown");
        run(&mut app, &[Action::PromptApply]);
        assert!(app.prompt.is_some(), "an invalid filter is not applied");
        run(&mut app, &[Action::PromptCancel]);
        assert_eq!(app.visible, vec![0, 2]);
    }

    #[test]
    fn filter_on_header_severity_and_finding() {
        let mut app = App::new(snap());
        app.set_filter("x-account-id = 21").expect("valid");
        assert_eq!(app.visible, vec![2]);
        app.set_filter("severity >= high").expect("valid");
        assert_eq!(app.visible, vec![2]);
        app.set_filter("not finding ~ ^auth").expect("valid");
        assert_eq!(app.visible, vec![0, 1]);
    }

    #[test]
    fn sort_by_column_and_reverse() {
        let mut app = App::new(snap());
        // Index → Start → Method: REGISTER sorts after INVITE.
        run(&mut app, &[Action::SortNext, Action::SortNext]);
        assert_eq!(app.sort, Column::Method);
        assert_eq!(app.visible, vec![1, 2, 0]);
        run(&mut app, &[Action::SortReverse]);
        assert_eq!(
            app.visible,
            vec![0, 1, 2],
            "descending, ties in capture order"
        );
        // Sort by findings, most severe first.
        app.sort = Column::Findings;
        app.refresh();
        assert_eq!(app.visible.first(), Some(&2));
        run(&mut app, &[Action::SortPrev]);
        assert_eq!(app.sort, Column::Mos, "the column left of Findings");
    }

    #[test]
    fn columns_prompt_with_header_column() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::ColumnsStart]);
        let p = app.prompt.clone().expect("prompt");
        assert!(p.text.starts_with("index,start,method"));
        app.prompt = Some(Prompt {
            text: "index,from,X-Account-ID".into(),
            ..p
        });
        run(&mut app, &[Action::PromptApply]);
        assert_eq!(app.columns.len(), 3);
        assert_eq!(app.columns[2].text(&app.snap.calls[1]), "11");
        run(&mut app, &[Action::ColumnsStart]);
        type_in(&mut app, ",bad:name");
        assert!(app.prompt.as_ref().is_some_and(|p| p.error.is_some()));
    }

    #[test]
    fn marked_calls_share_one_ladder_and_save_uses_them() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::Mark, Action::Mark]);
        assert_eq!(app.marked.iter().copied().collect::<Vec<_>>(), vec![0, 1]);
        run(&mut app, &[Action::MarkedFlow]);
        assert_eq!(app.view, View::Flow);
        assert_eq!(app.flow.len(), 4);
        assert_eq!(app.flow_calls, vec![0, 1]);
        run(&mut app, &[Action::SaveStart]);
        app.prompt.as_mut().expect("prompt").text = "out.pcap".into();
        run(&mut app, &[Action::PromptApply]);
        let req = app.save.take().expect("save requested");
        assert_eq!(req.kind, SaveKind::Pcap);
        assert_eq!(req.call_ids, vec!["call-0@host", "call-1@host"]);
        run(&mut app, &[Action::SaveStart]);
        app.prompt.as_mut().expect("prompt").text = "ladder.txt".into();
        run(&mut app, &[Action::PromptApply]);
        let req = app.save.take().expect("save requested");
        assert!(req.text.is_some_and(|t| t.contains("REGISTER")));
        run(&mut app, &[Action::SaveStart]);
        app.prompt.as_mut().expect("prompt").text = "x.doc".into();
        run(&mut app, &[Action::PromptApply]);
        assert!(app.save.is_none(), "bad extension refused");
        assert!(app.prompt.as_ref().is_some_and(|p| p.error.is_some()));
        // Esc in the call list first clears the marks, then quits.
        run(
            &mut app,
            &[Action::PromptCancel, Action::Back, Action::Back],
        );
        assert!(app.marked.is_empty());
        assert!(!app.quit);
        run(&mut app, &[Action::Back]);
        assert!(app.quit);
    }

    #[test]
    fn diff_of_two_marked_messages() {
        let mut app = App::new(snap());
        run(&mut app, &[Action::Open, Action::Diff]);
        assert_eq!(app.view, View::Flow, "nothing marked: no diff");
        assert!(app.status.is_some());
        run(&mut app, &[Action::Mark, Action::Down, Action::Diff]);
        assert_eq!(app.view, View::Diff);
        assert_eq!(app.diff, Some((FlowRef::Msg(0, 0), FlowRef::Msg(0, 1))));
        run(&mut app, &[Action::Back]);
        assert_eq!(app.view, View::Flow);
    }

    #[test]
    fn stream_bars_open_the_stream_and_cannot_be_marked() {
        let mut s = snap();
        s.streams[0].first_frame = 13;
        s.calls[1].streams = vec![0];
        let mut app = App::new(s);
        run(&mut app, &[Action::Down, Action::Open, Action::End]);
        assert_eq!(app.flow.last(), Some(&FlowRef::Stream(1, 0)));
        run(&mut app, &[Action::Mark]);
        assert!(app.msg_marks.is_empty());
        run(&mut app, &[Action::Open]);
        assert_eq!(app.view, View::Streams);
        assert_eq!(app.stream_sel, 0);
    }

    #[test]
    fn finding_opens_its_call_at_the_evidence_even_when_filtered_out() {
        let mut app = App::new(snap());
        app.set_filter("carol").expect("quick search");
        run(&mut app, &[Action::Findings]);
        assert_eq!(app.view, View::Findings);
        run(&mut app, &[Action::Open]);
        assert_eq!(app.view, View::Flow);
        assert_eq!(app.selected_call(), Some(2));
        assert_eq!(app.selected_message().map(|m| m.frame), Some(22));
        run(&mut app, &[Action::Back]);
        assert_eq!(app.view, View::Findings);
        // Family filter: → shows auth only, then nat only, then all again.
        run(&mut app, &[Action::SortNext]);
        assert_eq!(app.finding_rows, vec![0]);
        run(&mut app, &[Action::SortNext]);
        assert_eq!(app.finding_rows, vec![1]);
        run(&mut app, &[Action::SortNext]);
        assert_eq!(app.finding_rows, vec![0, 1]);
    }

    #[test]
    fn mouse_click_selects_then_opens_and_wheel_scrolls() {
        let mut app = App::new(snap());
        // Title line, table border, header: the first call is on row 3.
        run(&mut app, &[Action::Click(10, 4)]);
        assert_eq!(app.call_sel, 1);
        run(&mut app, &[Action::Click(10, 4)]);
        assert_eq!(app.view, View::Flow, "second click opens");
        run(&mut app, &[Action::Back, Action::WheelDown]);
        assert_eq!(app.call_sel, 2);
        run(&mut app, &[Action::Click(10, 20)]);
        assert_eq!(app.call_sel, 2, "a click below the rows changes nothing");
    }

    #[test]
    fn offsets_follow_the_selection() {
        let mut s = snap();
        let one = s.calls[0].clone();
        s.calls = (0..100)
            .map(|i| CallRow {
                index: i + 1,
                ..one.clone()
            })
            .collect();
        let mut app = App::new(s);
        run(&mut app, &[Action::End]);
        let rows = list_rows(calls_areas(screen_areas(app.area)[1]).0);
        assert_eq!(app.offsets.calls, 100 - rows);
        run(&mut app, &[Action::Up]);
        assert_eq!(app.offsets.calls, 100 - rows, "no scroll while on screen");
        run(&mut app, &[Action::Home]);
        assert_eq!(app.offsets.calls, 0);
    }

    #[test]
    fn live_snapshot_replacement_keeps_the_selection_and_follow() {
        let mut app = App::new(snap());
        app.live = Some(LiveState::default());
        run(&mut app, &[Action::Down]);
        let mut s = snap();
        s.calls.insert(0, s.calls[0].clone());
        s.calls[0].call_id = "new@host".into();
        app.replace_snapshot(s.clone());
        assert_eq!(
            app.selected_call()
                .map(|c| app.snap.calls[c].call_id.as_str()),
            Some("call-1@host")
        );
        run(&mut app, &[Action::Follow]);
        app.replace_snapshot(s);
        assert_eq!(app.call_sel, 3);
        run(&mut app, &[Action::Pause]);
        assert!(app.live.is_some_and(|l| l.paused));
    }

    #[test]
    fn live_delta_keeps_the_selection_and_marks_by_dialog_id() {
        use crate::tui::delta::Delta;
        let mut s = snap();
        for (i, c) in s.calls.iter_mut().enumerate() {
            c.id = i as u64 + 1;
        }
        let mut app = App::new(Snapshot::default());
        app.live = Some(LiveState::default());
        assert!(app.apply_delta(Delta {
            full: true,
            calls: s.calls.clone(),
            ..Delta::default()
        }));
        run(&mut app, &[Action::Down, Action::Mark, Action::Down]);
        let selected = app.selected_call().map(|c| app.snap.calls[c].id);
        assert_eq!(selected, Some(3));
        assert!(app.apply_delta(Delta {
            evicted: vec![1],
            ..Delta::default()
        }));
        assert_eq!(app.snap.calls.len(), 2);
        assert_eq!(
            app.snap.calls.iter().map(|c| c.index).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let selected = app.selected_call().map(|c| app.snap.calls[c].id);
        assert_eq!(selected, Some(3), "the same call stays selected");
        let marked: Vec<u64> = app.marked.iter().map(|&c| app.snap.calls[c].id).collect();
        assert_eq!(marked, vec![2], "marks follow their call");
        // A header filter: its cached values follow the calls a delta updates or adds.
        app.set_filter("x-account-id = 99").expect("valid");
        assert!(app.visible.is_empty());
        let mut updated = app.snap.calls[1].clone();
        updated.messages.push(msg(99, "BYE"));
        let mut added = app.snap.calls[0].clone();
        added.id = 7;
        added.messages = vec![msg(99, "INVITE")];
        let shown =
            |app: &App| -> Vec<u64> { app.visible.iter().map(|&c| app.snap.calls[c].id).collect() };
        assert!(app.apply_delta(Delta {
            calls: vec![updated],
            ..Delta::default()
        }));
        assert_eq!(shown(&app), vec![3], "an updated call is scanned again");
        assert!(app.apply_delta(Delta {
            calls: vec![added],
            ..Delta::default()
        }));
        assert_eq!(shown(&app), vec![3, 7], "an added call is scanned");
        app.set_filter("").expect("valid");
        // Counters alone: a redraw, nothing else moves; nothing at all: no redraw.
        assert!(app.apply_delta(Delta {
            summary: Some("1 packets".into()),
            ..Delta::default()
        }));
        assert_eq!(app.snap.summary, "1 packets");
        assert!(!app.apply_delta(Delta::default()));
    }

    #[test]
    fn stats_and_help_toggle_and_empty_snapshot_is_safe() {
        let mut app = App::new(Snapshot::default());
        run(&mut app, &[Action::Help]);
        assert_eq!(app.mode(), Mode::Help);
        run(&mut app, &[Action::Help, Action::Stats]);
        assert_eq!(app.view, View::Stats);
        run(&mut app, &[Action::Back]);
        assert_eq!(app.view, View::Calls);
        for a in [
            Action::Down,
            Action::End,
            Action::Open,
            Action::Mark,
            Action::MarkedFlow,
            Action::Findings,
            Action::Open,
            Action::SortNext,
            Action::Streams,
            Action::Open,
            Action::PageDown,
            Action::Click(5, 5),
            Action::Diff,
        ] {
            update(&mut app, a);
        }
        assert_eq!(app.view, View::Streams);
        assert_eq!(app.stream_sel, 0);
    }
}
