//! Pure render functions: one per panel, each drawing `&App` into an area of a frame.
//! They allocate only what the visible rows need, so a redraw costs the same with ten
//! calls or a hundred thousand.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, TableState, Wrap,
};
use ratatui::Frame;

use super::app::{
    calls_areas, findings_areas, flow_areas, keep_visible, list_rows, screen_areas, App, Pane,
    PromptKind, View,
};
use super::columns::Column;
use super::keys::KEY_HELP;
use super::ladder;
use super::snapshot::MsgRow;
use super::theme::Theme;

/// A selectable list: header row, highlighted selection, a bordered block with `title`.
fn list_table<'a, R, W>(rows: R, widths: W, header: Row<'a>, title: String, t: &Theme) -> Table<'a>
where
    R: IntoIterator<Item = Row<'a>>,
    W: IntoIterator,
    W::Item: Into<Constraint>,
{
    Table::new(rows, widths)
        .header(header.style(t.table_header))
        .row_highlight_style(t.selected)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, t.title)),
        )
}

/// Draws the whole screen: title, the current view, footer, and the help overlay.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let [title, body, footer] = screen_areas(frame.area());
    let filter = if app.filter_text.is_empty() {
        String::new()
    } else {
        format!(" [filter: {}]", app.filter_text)
    };
    let live = match app.live {
        Some(l) if l.paused => " [LIVE, paused]",
        Some(l) if l.follow => " [LIVE, following]",
        Some(_) => " [LIVE]",
        None => "",
    };
    // Mode and filter first: a narrow terminal cuts the end of the line.
    frame.render_widget(
        Paragraph::new(format!("siplens{live}{filter} — {}", app.snap.summary))
            .style(app.theme.title),
        title,
    );
    match app.view {
        View::Calls => render_calls(frame, body, app),
        View::Flow => render_flow(frame, body, app),
        View::Raw => render_raw(frame, body, app),
        View::Findings => render_findings(frame, body, app),
        View::Streams => render_streams(frame, body, app),
        View::Nat => render_nat(frame, body, app),
        View::Stats => render_stats(frame, body, app),
        View::Diff => render_diff(frame, body, app),
    }
    render_footer(frame, footer, app);
    if app.help {
        render_help(frame, frame.area(), app);
    }
}

/// Only the rows on screen are built: `offset` is the first one.
fn window<T>(items: &[T], offset: usize, rows: usize) -> impl Iterator<Item = (usize, &T)> {
    items.iter().enumerate().skip(offset).take(rows)
}

/// A table state for a list drawn from `offset` whose selected row is `sel` (both
/// positions in the whole list); the table gets only the visible rows.
fn window_state(sel: usize, offset: usize, rows: usize) -> TableState {
    TableState::default().with_selected((rows > 0 && sel >= offset).then(|| sel - offset))
}

/// Narrowest a From/To/address column may get before fixed-width columns give way.
const MIN_FILL_WIDTH: u16 = 14;

/// The columns that fit in `width`: on a narrow terminal the least useful fixed-width
/// columns (transport, start, duration, index, message count) are hidden, in that order,
/// so that From, To and the addresses stay readable. The sort column is never hidden.
pub fn fit_columns<'c>(cols: &'c [Column], sort: &Column, width: u16) -> Vec<&'c Column> {
    const DROP: [Column; 5] = [
        Column::Transport,
        Column::Start,
        Column::Duration,
        Column::Index,
        Column::Msgs,
    ];
    let mut shown: Vec<&Column> = cols.iter().collect();
    for victim in DROP.iter() {
        let (fixed, fills) = shown
            .iter()
            .fold((0u16, 0u16), |(f, n), c| match c.width() {
                Constraint::Length(l) => (f.saturating_add(l), n),
                _ => (f, n + 1),
            });
        // One space between columns, two border columns.
        let need = fixed
            .saturating_add(fills.saturating_mul(MIN_FILL_WIDTH))
            .saturating_add(shown.len() as u16 + 2);
        if need <= width || fills == 0 {
            break;
        }
        if victim != sort {
            shown.retain(|c| *c != victim);
        }
    }
    shown
}

/// The call list, and the selected call's findings below it when there is room.
pub fn render_calls(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let (list, detail) = calls_areas(area);
    let rows_fit = list_rows(list);
    let columns = fit_columns(&app.columns, &app.sort, list.width);
    let header = Row::new(columns.iter().map(|c| {
        let arrow = if **c == app.sort {
            if app.sort_desc {
                " ▼"
            } else {
                " ▲"
            }
        } else {
            ""
        };
        format!("{}{arrow}", c.title())
    }));
    // The offset the app keeps, corrected for this area (a test may draw at any size).
    let off = keep_visible(app.offsets.calls, app.call_sel, rows_fit);
    let rows = window(&app.visible, off, rows_fit).filter_map(|(_, &i)| {
        let c = app.snap.calls.get(i)?;
        let cells = columns.iter().map(|col| {
            let cell = Cell::from(col.text(c));
            match (col, c.badge) {
                (Column::Findings, Some((s, _))) => cell.style(t.severity(s)),
                _ => cell,
            }
        });
        let row = Row::new(cells);
        Some(if app.marked.contains(&i) {
            row.style(t.selected_mark)
        } else {
            row
        })
    });
    let widths: Vec<Constraint> = columns.iter().map(|c| c.width()).collect();
    let marked = if app.marked.is_empty() {
        String::new()
    } else {
        format!(", {} marked", app.marked.len())
    };
    let title = format!(
        " Calls ({}/{}{marked}) sorted by {}{} ",
        app.visible.len(),
        app.snap.calls.len(),
        app.sort.title(),
        if app.sort_desc { " ▼" } else { " ▲" }
    );
    let table = list_table(rows, widths, header, title, t);
    let mut st = window_state(app.call_sel, off, app.visible.len());
    frame.render_stateful_widget(table, list, &mut st);
    if let Some(detail) = detail {
        render_call_findings(frame, detail, app);
    }
}

/// The selected call's findings, most severe first, one line each.
fn render_call_findings(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let call = app.selected_call().and_then(|c| app.snap.calls.get(c));
    let lines: Vec<Line> = match call {
        Some(c) if !c.findings.is_empty() => c
            .findings
            .iter()
            .take(usize::from(area.height.saturating_sub(2)))
            .filter_map(|&f| app.snap.findings.get(f))
            .map(|f| {
                Line::from(vec![
                    Span::styled(
                        format!("{:<9}", f.severity.as_str()),
                        t.severity(f.severity),
                    ),
                    Span::styled(format!("{:<26} ", f.rule), t.dim),
                    Span::styled(f.summary.as_str(), t.text),
                ])
            })
            .collect(),
        Some(_) => vec![Line::styled("no findings for this call", t.dim)],
        None => Vec::new(),
    };
    let title = call.map_or(" Findings ".to_string(), |c| {
        format!(" Findings of call #{} ({}) ", c.index, c.findings.len())
    });
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, t.title)),
        ),
        area,
    );
}

/// Style of a ladder line: requests, successes and errors apart, repeats dimmed.
fn message_style(t: &Theme, m: &MsgRow) -> Style {
    if m.retransmission || m.duplicate {
        return t.retransmission;
    }
    match m.label.as_bytes().first() {
        Some(b'1' | b'2') => t.response_ok,
        Some(b'3'..=b'6') => t.response_err,
        _ => t.request,
    }
}

/// The ladder of the open call (or marked calls), with the selected message beside it
/// (wide terminals) or below it.
pub fn render_flow(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let (ladder_area, raw) = flow_areas(area);
    let hosts = ladder::hosts(&app.snap, &app.flow);
    let inner_w = usize::from(ladder_area.width.saturating_sub(2));
    let colw = ladder::column_width(inner_w, hosts.len());
    let body_h = list_rows(ladder_area);
    let off = keep_visible(app.offsets.msgs, app.msg_sel, body_h);
    let mut lines = vec![Line::styled(
        ladder::header(&app.snap, &hosts, colw),
        t.table_header,
    )];
    for (i, r) in window(&app.flow, off, body_h) {
        let mark = ladder::call_mark(&app.snap, &app.flow_calls, r.call());
        let marked = if app.msg_marks.contains(r) { "*" } else { " " };
        let (text, style) = if let Some(m) = ladder::message(&app.snap, *r) {
            (ladder::row(&hosts, colw, m, &mark), message_style(t, m))
        } else if let Some(s) = ladder::stream(&app.snap, *r) {
            let style = if s.lost_pct >= 1.0 {
                t.response_err
            } else {
                t.sdp
            };
            (ladder::stream_row(&hosts, colw, s, &mark), style)
        } else if let Some(d) = ladder::dtmf(&app.snap, *r) {
            (ladder::dtmf_row(&hosts, colw, d, &mark), t.sdp)
        } else {
            continue;
        };
        let style = if i == app.msg_sel { t.selected } else { style };
        lines.push(Line::styled(format!("{marked}{text}"), style));
    }
    let focus = |p: Pane| {
        if app.pane == p {
            t.footer_key
        } else {
            t.dim
        }
    };
    let title = match app.flow_calls.as_slice() {
        [one] => app
            .snap
            .calls
            .get(*one)
            .map_or(String::new(), |c| match &c.tls {
                // A call read from decrypted TLS names the session it came over.
                Some(tls) => format!(" Call #{} {} · decrypted {tls} ", c.index, c.call_id),
                None => format!(" Call #{} {} ", c.index, c.call_id),
            }),
        many => format!(
            " Calls {} ",
            many.iter()
                .filter_map(|&c| app.snap.calls.get(c))
                .map(|c| format!("#{}", c.index))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, t.title))
        .border_style(focus(Pane::Ladder));
    // The selected message's SDP, summarised on the bottom border.
    if let Some(sdp) = app.selected_message().and_then(|m| m.sdp.as_deref()) {
        block = block.title_bottom(Span::styled(format!(" SDP: {sdp} "), t.sdp));
    }
    frame.render_widget(Paragraph::new(lines).block(block), ladder_area);
    raw_pane(frame, raw, app, focus(Pane::Raw));
}

fn raw_pane(frame: &mut Frame<'_>, area: Rect, app: &App, border: Style) {
    let t = &app.theme;
    let Some(m) = app.selected_message() else {
        return;
    };
    let title = format!(" Frame {}: {} → {} ", m.frame, m.src, m.dst);
    let text = m.text();
    // Colour only what can be on screen: the lines above the scroll position and one
    // screenful (wrapping makes lines only longer, never more numerous than this bound).
    let shown: String = text
        .lines()
        .take(usize::from(app.raw_scroll) + usize::from(area.height))
        .collect::<Vec<_>>()
        .join("\n");
    let lines = if shown.is_empty() {
        vec![Line::styled("(message text not kept)", t.dim)]
    } else {
        super::highlight::sip_lines(&shown, t)
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.raw_scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(title, t.title))
                    .border_style(border),
            ),
        area,
    );
}

/// The selected message, full screen.
pub fn render_raw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    raw_pane(frame, area, app, app.theme.dim);
}

/// The selected call's NAT section, scrollable.
pub fn render_nat(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
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
            .style(t.text)
            .scroll((app.raw_scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(title, t.title)),
            ),
        area,
    );
}

/// The findings list (family filter applied) and the selected finding in full.
pub fn render_findings(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let (list, detail) = findings_areas(area);
    let header = Row::new(["Severity", "Rule", "Call", "Frame", "Summary"]);
    let off = keep_visible(app.offsets.findings, app.finding_sel, list_rows(list));
    let rows = window(&app.finding_rows, off, list_rows(list)).filter_map(|(_, &i)| {
        let f = app.snap.findings.get(i)?;
        let call = f
            .call
            .and_then(|c| app.snap.calls.get(c))
            .map_or("-".to_string(), |c| format!("#{}", c.index));
        Some(Row::new([
            Cell::from(f.severity.as_str()).style(t.severity(f.severity)),
            Cell::from(f.rule),
            Cell::from(call),
            Cell::from(f.frame.map_or("-".to_string(), |n| n.to_string())),
            Cell::from(f.summary.as_str()),
        ]))
    });
    let widths = [
        Constraint::Length(9),
        Constraint::Length(26),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    let family = app
        .family
        .as_deref()
        .map_or(String::new(), |f| format!(" family {f}.*,"));
    let title = format!(
        " Findings ({}{family} of {}; < > family) ",
        app.finding_rows.len(),
        app.snap.findings.len()
    );
    let table = list_table(rows, widths, header, title, t);
    let mut st = window_state(app.finding_sel, off, app.finding_rows.len());
    frame.render_stateful_widget(table, list, &mut st);
    let selected = app
        .finding_rows
        .get(app.finding_sel)
        .and_then(|&i| app.snap.findings.get(i));
    if let Some(f) = selected {
        frame.render_widget(
            Paragraph::new(f.summary.as_str())
                .style(t.text)
                .wrap(Wrap { trim: true })
                .block(Block::default().borders(Borders::ALL).title(Span::styled(
                    format!(" {} ", f.rule),
                    t.severity(f.severity),
                ))),
            detail,
        );
    }
}

/// The RTP streams list, with the selected stream's MOS per 5-second interval as a
/// sparkline under it when it has at least two intervals and the terminal has room, and
/// under that what the endpoints reported about it in RTCP, beside our own figures.
pub fn render_streams(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let selected = app.snap.streams.get(app.stream_sel);
    let area = match selected.and_then(|s| s.rtcp.as_ref().map(|r| (s, r))) {
        Some((s, r)) if area.height >= 10 => {
            let [list, pane] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(3)]).areas(area);
            let ours = format!(
                "ours: loss {:.1}%, jitter {:.2} ms, MOS {}",
                s.lost_pct,
                s.jitter_ms,
                s.mos.map_or("-".to_string(), |m| format!("{m:.2}"))
            );
            frame.render_widget(
                Paragraph::new(format!("{r}; {ours}")).style(t.text).block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(format!(" Endpoint reports (RTCP), stream #{} ", s.index)),
                ),
                pane,
            );
            list
        }
        _ => area,
    };
    let area = match selected {
        Some(s) if s.quality.len() >= 2 && area.height >= 12 => {
            let [list, spark] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(4)]).areas(area);
            // MOS 1..4.5 scaled to hundredths above 1, so that 1.0 draws as empty.
            let data: Vec<u64> = s
                .quality
                .iter()
                .map(|m| ((m - 1.0).max(0.0) * 100.0).round() as u64)
                .collect();
            let min = s.quality.iter().copied().fold(f64::MAX, f64::min);
            frame.render_widget(
                Sparkline::default()
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .title(format!(" MOS per 5 s, stream #{} (min {min:.2}) ", s.index)),
                    )
                    .data(&data)
                    .max(350)
                    .style(t.text),
                spark,
            );
            list
        }
        _ => area,
    };
    let header = Row::new([
        "#",
        "SSRC",
        "Src → Dst",
        "Codec",
        "Pkts",
        "Lost%",
        "Jitter mean/max",
        "MaxΔ",
        "MOS",
        "SRTP",
        "Call",
    ]);
    let off = keep_visible(app.offsets.streams, app.stream_sel, list_rows(area));
    let rows = window(&app.snap.streams, off, list_rows(area)).map(|(_, s)| {
        let call = s
            .call
            .and_then(|c| app.snap.calls.get(c))
            .map_or("-".to_string(), |c| format!("#{}", c.index));
        let lost = Cell::from(format!("{:.1}", s.lost_pct));
        Row::new([
            Cell::from(s.index.to_string()),
            Cell::from(s.ssrc.clone()),
            Cell::from(format!("{} → {}", s.src, s.dst)),
            Cell::from(s.codec.clone()),
            Cell::from(s.packets.to_string()),
            if s.lost_pct >= 1.0 {
                lost.style(t.response_err)
            } else {
                lost
            },
            Cell::from(format!("{:.2}/{:.2}ms", s.jitter_mean_ms, s.jitter_max_ms)),
            Cell::from(format!("{:.0}ms", s.max_delta_ms)),
            match s.mos {
                // G.107 Annex B: below 3.6 (R 70) many users are dissatisfied.
                Some(m) if m < 3.6 => Cell::from(format!("{m:.2}")).style(t.response_err),
                Some(m) => Cell::from(format!("{m:.2}")),
                None => Cell::from("-"),
            },
            Cell::from(if s.encrypted { "yes" } else { "no" }),
            Cell::from(call),
        ])
    });
    let widths = [
        Constraint::Length(4),
        Constraint::Length(11),
        Constraint::Fill(1),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(15),
        Constraint::Length(7),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(6),
    ];
    let title = format!(" RTP streams ({}) ", app.snap.streams.len());
    let table = list_table(rows, widths, header, title, t);
    let mut st = window_state(app.stream_sel, off, app.snap.streams.len());
    frame.render_stateful_widget(table, area, &mut st);
}

/// The stats view: every section as a titled block of right-aligned counters, laid out
/// in two columns when the terminal is wide enough.
pub fn render_stats(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let mut lines: Vec<Line> = Vec::new();
    for s in &app.snap.stats {
        lines.push(Line::styled(s.title.clone(), t.table_header));
        if s.rows.is_empty() {
            lines.push(Line::styled("  (none)", t.dim));
        }
        for (k, v) in &s.rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {k:<24}"), t.text),
                Span::styled(format!("{v:>12}"), t.text.add_modifier(Modifier::BOLD)),
            ]));
        }
        lines.push(Line::raw(""));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Statistics ", t.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let half = lines.len().div_ceil(2);
    if inner.width >= 90 && lines.len() > usize::from(inner.height) {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(inner);
        // Split between sections, never inside one.
        let split = lines
            .iter()
            .enumerate()
            .skip(half)
            .find(|(_, l)| l.spans.is_empty() || l.width() == 0)
            .map_or(half, |(i, _)| i + 1);
        let right = lines.split_off(split.min(lines.len()));
        frame.render_widget(Paragraph::new(lines).scroll((app.raw_scroll, 0)), l);
        frame.render_widget(Paragraph::new(right).scroll((app.raw_scroll, 0)), r);
    } else {
        frame.render_widget(Paragraph::new(lines).scroll((app.raw_scroll, 0)), inner);
    }
}

/// The two marked messages side by side.
pub fn render_diff(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let Some((a, b)) = app.diff else {
        return;
    };
    let (Some(ma), Some(mb)) = (ladder::message(&app.snap, a), ladder::message(&app.snap, b))
    else {
        return;
    };
    let (ta, tb) = (ma.text(), mb.text());
    let rows = super::diff::side_by_side(&ta, &tb);
    let titles = (
        super::diff::column_title(&format!("frame {} {}", ma.frame, ma.label), &ta),
        super::diff::column_title(&format!("frame {} {}", mb.frame, mb.label), &tb),
    );
    super::diff::render_diff(
        frame,
        area,
        &rows,
        usize::from(app.raw_scroll),
        (&titles.0, &titles.1),
        &app.theme,
    );
}

/// The help overlay, centred over `area`.
pub fn render_help(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let w = area.width.min(78);
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
                Span::styled(format!("{k:<14}"), t.footer_key),
                Span::styled(*what, t.help),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled("any key closes this help", t.dim));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Keys ", t.title)),
        ),
        popup,
    );
}

/// The footer: the prompt being typed, a status message, or the keys of the view.
pub fn render_footer(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let text = if let Some(p) = &app.prompt {
        let what = match p.kind {
            PromptKind::Filter => "filter",
            PromptKind::Columns => "columns",
            PromptKind::Save => "save to",
        };
        let err = p
            .error
            .as_deref()
            .map_or(String::new(), |e| format!("   ✗ {e}"));
        format!("{what}: {}_{err}   Enter apply  Esc cancel", p.text)
    } else if let Some(s) = &app.status {
        s.clone()
    } else {
        match app.view {
            // Most used first: a narrow terminal cuts the end of the line.
            View::Calls => {
                "Enter flow  / filter  f findings  ? help  q quit  < > sort  c columns  space mark  x ladder  w save  s streams  n NAT  i stats"
            }
            View::Flow => {
                "↑↓ message  Enter raw  Esc back  ? help  Tab pane  space mark  d diff  w save  n NAT"
            }
            View::Raw | View::Nat | View::Stats | View::Diff => "↑↓ scroll  Esc back  ? help",
            View::Findings => "Enter open call at evidence  < > family  Esc back  ? help",
            View::Streams => "Enter open call  Esc back  ? help",
        }
        .to_string()
    };
    let style = if app.prompt.as_ref().is_some_and(|p| p.error.is_some()) {
        t.error
    } else {
        t.footer
    };
    frame.render_widget(Paragraph::new(text).style(style), area);
}
