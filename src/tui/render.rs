//! Pure render functions: one per panel, each drawing `&App` into an area of a frame.
//! They allocate only what the visible rows need.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::app::{App, Pane, View};
use super::keys::KEY_HELP;
use super::snapshot::{CallRow, MsgRow};
use crate::engine::Severity;

const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);
const HEADER: Style = Style::new().add_modifier(Modifier::BOLD);

/// A selectable list: bold header, reversed selection, a bordered block with `title`.
fn list_table<'a, R, W>(rows: R, widths: W, header: Row<'a>, title: String) -> Table<'a>
where
    R: IntoIterator<Item = Row<'a>>,
    W: IntoIterator,
    W::Item: Into<Constraint>,
{
    Table::new(rows, widths)
        .header(header)
        .row_highlight_style(SELECTED)
        .block(Block::default().borders(Borders::ALL).title(title))
}

/// Draws the whole screen: title, the current view, footer, and the help overlay.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let [title, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let filter = if app.filter.is_empty() {
        String::new()
    } else {
        format!("  filter: {}", app.filter)
    };
    frame.render_widget(
        Paragraph::new(format!("siplens — {}{filter}", app.snap.summary)).style(HEADER),
        title,
    );
    match app.view {
        View::Calls => render_calls(frame, body, app),
        View::Flow => render_flow(frame, body, app),
        View::Raw => render_raw(frame, body, app),
        View::Findings => render_findings(frame, body, app),
        View::Streams => render_streams(frame, body, app),
        View::Nat => render_nat(frame, body, app),
    }
    render_footer(frame, footer, app);
    if app.help {
        render_help(frame, frame.area(), app);
    }
}

/// Colour of a severity.
pub fn severity_style(s: Severity) -> Style {
    let c = match s {
        Severity::Info => Color::Gray,
        Severity::Low => Color::Cyan,
        Severity::Medium => Color::Yellow,
        Severity::High => Color::LightRed,
        Severity::Critical => Color::Red,
    };
    Style::new().fg(c)
}

fn badge(c: &CallRow) -> Cell<'static> {
    match c.badge {
        Some((s, n)) => Cell::from(format!("{} {n}", s.as_str())).style(severity_style(s)),
        None => Cell::from("-"),
    }
}

fn table_state(sel: usize, rows: usize) -> TableState {
    TableState::default().with_selected((rows > 0).then_some(sel))
}

/// The call list.
pub fn render_calls(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let header = Row::new([
        "#",
        "Start",
        "Method",
        "From",
        "To",
        "Src → Dst",
        "Msgs",
        "State",
        "Dur",
        "Proto",
        "Findings",
    ])
    .style(HEADER);
    let rows = app
        .visible
        .iter()
        .filter_map(|&i| app.snap.calls.get(i))
        .map(|c| {
            let state = match c.status {
                Some(s) => format!("{} {s}", c.state),
                None => c.state.clone(),
            };
            Row::new([
                Cell::from(c.index.to_string()),
                Cell::from(c.start.clone()),
                Cell::from(c.method.clone()),
                Cell::from(c.from.clone()),
                Cell::from(c.to.clone()),
                Cell::from(format!("{} → {}", c.src, c.dst)),
                Cell::from(c.msgs.to_string()),
                Cell::from(state),
                Cell::from(format!("{:.1}s", c.duration_s)),
                Cell::from(c.transport),
                badge(c),
            ])
        });
    let widths = [
        Constraint::Length(4),
        Constraint::Length(12),
        Constraint::Length(9),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Length(5),
        Constraint::Length(14),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(10),
    ];
    let title = format!(" Calls ({}/{}) ", app.visible.len(), app.snap.calls.len());
    let table = list_table(rows, widths, header, title);
    let mut st = table_state(app.call_sel, app.visible.len());
    frame.render_stateful_widget(table, area, &mut st);
}

/// Hosts of a call in order of first appearance (ladder columns).
fn hosts(c: &CallRow) -> Vec<&str> {
    let mut v: Vec<&str> = Vec::new();
    for m in &c.messages {
        for h in [m.src.as_str(), m.dst.as_str()] {
            if !v.contains(&h) {
                v.push(h);
            }
        }
    }
    v
}

/// Width of the time and delta columns left of the ladder.
const LADDER_GUTTER: usize = 24;

/// One ladder row: lifelines `│` at every host column, an arrow from the source column
/// to the destination column with the label inside.
fn ladder_row(hosts: &[&str], colw: usize, m: &MsgRow) -> String {
    let width = colw * hosts.len();
    let mut cells: Vec<char> = vec![' '; width];
    let center = |i: usize| i * colw + colw / 2;
    for i in 0..hosts.len() {
        if let Some(c) = cells.get_mut(center(i)) {
            *c = '│';
        }
    }
    let pos = |h: &str| hosts.iter().position(|x| *x == h);
    let mut label = m.label.clone();
    if m.retransmission {
        label.push_str(" (retr)");
    }
    if m.sdp.is_some() {
        label.push_str(" +SDP");
    }
    if let (Some(a), Some(b)) = (pos(&m.src), pos(&m.dst)) {
        let (l, r) = (center(a.min(b)), center(a.max(b)));
        if r > l + 1 {
            for c in cells.iter_mut().take(r).skip(l + 1) {
                *c = '─';
            }
            if a < b {
                if let Some(c) = cells.get_mut(r - 1) {
                    *c = '►';
                }
            } else if let Some(c) = cells.get_mut(l + 1) {
                *c = '◄';
            }
            let span = (r - l).saturating_sub(3);
            let text: Vec<char> = label.chars().take(span).collect();
            let start = l + 2 + (span - text.len()) / 2;
            for (i, ch) in text.into_iter().enumerate() {
                if let Some(c) = cells.get_mut(start + i) {
                    *c = ch;
                }
            }
        }
    }
    cells.into_iter().collect::<String>().trim_end().to_string()
}

/// A call's ladder (hosts as columns, one row per message) with the selected message
/// beside it (wide terminals) or below it.
pub fn render_flow(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let Some(call) = app.selected_call().and_then(|c| app.snap.calls.get(c)) else {
        return;
    };
    let dir = if area.width >= 140 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let [ladder, raw] = Layout::default()
        .direction(dir)
        .constraints([Constraint::Percentage(60), Constraint::Percentage(40)])
        .areas(area);
    let hosts = hosts(call);
    let inner_w = usize::from(ladder.width.saturating_sub(2));
    let colw = (inner_w.saturating_sub(LADDER_GUTTER) / hosts.len().max(1)).max(8);
    let mut head = format!("{:<w$}", "time / delta", w = LADDER_GUTTER);
    for h in &hosts {
        let h: String = h.chars().take(colw.saturating_sub(1)).collect();
        head.push_str(&format!("{h:^colw$}"));
    }
    let body_h = usize::from(ladder.height.saturating_sub(3)).max(1);
    let offset = app.msg_sel.saturating_sub(body_h - 1);
    let mut lines = vec![Line::styled(head, HEADER)];
    for (i, m) in call.messages.iter().enumerate().skip(offset).take(body_h) {
        let text = format!(
            "{:<12} {:>+10.3} {}",
            m.time,
            m.delta_s,
            ladder_row(&hosts, colw, m)
        );
        let style = if i == app.msg_sel {
            SELECTED
        } else if m.retransmission || m.duplicate {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    let focus = |p: Pane| {
        if app.pane == p {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        }
    };
    let title = format!(" Call #{} {} ", call.index, call.call_id);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(focus(Pane::Ladder));
    // The selected message's SDP, summarised on the bottom border.
    if let Some(sdp) = app.selected_message().and_then(|m| m.sdp.as_deref()) {
        block = block.title_bottom(format!(" SDP: {sdp} "));
    }
    frame.render_widget(Paragraph::new(lines).block(block), ladder);
    raw_pane(frame, raw, app, focus(Pane::Raw));
}

fn raw_pane(frame: &mut Frame<'_>, area: Rect, app: &App, border: Style) {
    let Some(m) = app.selected_message() else {
        return;
    };
    let title = format!(" Frame {}: {} → {} ", m.frame, m.src, m.dst);
    let text = if m.raw.is_empty() {
        "(message text not kept)".to_string()
    } else {
        m.raw.replace('\r', "")
    };
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .scroll((app.raw_scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(title)
                    .border_style(border),
            ),
        area,
    );
}

/// The selected message, full screen.
pub fn render_raw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    raw_pane(frame, area, app, Style::new());
}

/// The selected call's NAT section, scrollable.
pub fn render_nat(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let call = app.selected_call().and_then(|c| app.snap.calls.get(c));
    let title = call.map_or(" NAT ".to_string(), |c| {
        format!(" NAT: call #{} {} ", c.index, c.call_id)
    });
    let text = match call.and_then(|c| c.nat.as_deref()) {
        Some(t) => t.to_string(),
        None => "No NAT trouble seen in this call: every party advertises (Via, Contact, SDP) \
                 the address its packets come from."
            .to_string(),
    };
    frame.render_widget(
        Paragraph::new(text)
            .scroll((app.raw_scroll, 0))
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The findings list.
pub fn render_findings(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let header = Row::new(["Severity", "Rule", "Call", "Frame", "Summary"]).style(HEADER);
    let rows = app.snap.findings.iter().map(|f| {
        let call = f
            .call
            .and_then(|c| app.snap.calls.get(c))
            .map_or("-".to_string(), |c| format!("#{}", c.index));
        Row::new([
            Cell::from(f.severity.as_str()).style(severity_style(f.severity)),
            Cell::from(f.rule),
            Cell::from(call),
            Cell::from(f.frame.map_or("-".to_string(), |n| n.to_string())),
            Cell::from(f.summary.clone()),
        ])
    });
    let widths = [
        Constraint::Length(9),
        Constraint::Length(26),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    let title = format!(" Findings ({}) ", app.snap.findings.len());
    let table = list_table(rows, widths, header, title);
    // Summaries are long: the selected one is shown whole below the table.
    let [list, detail] = Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    let mut st = table_state(app.finding_sel, app.snap.findings.len());
    frame.render_stateful_widget(table, list, &mut st);
    if let Some(f) = app.snap.findings.get(app.finding_sel) {
        frame.render_widget(
            Paragraph::new(f.summary.as_str())
                .wrap(Wrap { trim: true })
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(format!(" {} ", f.rule)),
                ),
            detail,
        );
    }
}

/// The RTP streams list.
pub fn render_streams(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let header = Row::new([
        "#",
        "SSRC",
        "Src → Dst",
        "Codec",
        "Pkts",
        "Lost%",
        "Jitter",
        "MaxΔ",
        "SRTP",
        "Call",
    ])
    .style(HEADER);
    let rows = app.snap.streams.iter().map(|s| {
        let call = s
            .call
            .and_then(|c| app.snap.calls.get(c))
            .map_or("-".to_string(), |c| format!("#{}", c.index));
        Row::new([
            s.index.to_string(),
            s.ssrc.clone(),
            format!("{} → {}", s.src, s.dst),
            s.codec.clone(),
            s.packets.to_string(),
            format!("{:.1}", s.lost_pct),
            format!("{:.2}ms", s.jitter_ms),
            format!("{:.0}ms", s.max_delta_ms),
            if s.encrypted { "yes" } else { "no" }.to_string(),
            call,
        ])
    });
    let widths = [
        Constraint::Length(4),
        Constraint::Length(11),
        Constraint::Fill(1),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(6),
    ];
    let title = format!(" RTP streams ({}) ", app.snap.streams.len());
    let table = list_table(rows, widths, header, title);
    let mut st = table_state(app.stream_sel, app.snap.streams.len());
    frame.render_stateful_widget(table, area, &mut st);
}

/// The help overlay, centred over `area`.
pub fn render_help(frame: &mut Frame<'_>, area: Rect, _app: &App) {
    let w = area.width.min(72);
    let h = area.height.min(KEY_HELP.len() as u16 + 4);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let mut lines: Vec<Line> = KEY_HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<14}"), HEADER),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw("any key closes this help"));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Keys ")),
        popup,
    );
}

/// The footer: the keys of the current view, or the search prompt.
pub fn render_footer(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let text = match &app.search {
        Some(s) => format!("/ {s}_   Enter apply  Esc cancel"),
        None => match app.view {
            View::Calls => "Enter flow  / search  f findings  s streams  n NAT  ? help  q quit",
            View::Flow => "↑↓ message  Enter raw  Tab pane  n NAT  Esc back  ? help",
            View::Raw => "↑↓ scroll  Esc back  ? help",
            View::Findings => "Enter open call at evidence  Esc back  ? help",
            View::Streams => "Enter open call  Esc back  ? help",
            View::Nat => "↑↓ scroll  Esc back  ? help",
        }
        .to_string(),
    };
    frame.render_widget(
        Paragraph::new(text).style(Style::new().fg(Color::Black).bg(Color::Cyan)),
        area,
    );
}
