//! The call-flow ladder as plain text: hosts as columns, one arrow per message. Shared by
//! the flow view and by "save ladder as text", so both show the same thing.

use super::snapshot::{MsgRow, Snapshot};

/// Width of the time and delta columns left of the ladder.
pub const GUTTER: usize = 24;

/// The messages of a flow: (position in [`Snapshot::calls`], message index), in order.
pub type FlowRef = (usize, usize);

/// The message a flow entry points at.
pub fn message(snap: &Snapshot, r: FlowRef) -> Option<&MsgRow> {
    snap.calls.get(r.0)?.messages.get(r.1)
}

/// The messages of `calls` merged in capture order (frame number, then time): several
/// legs of a B2BUA in one ladder.
pub fn merge(snap: &Snapshot, calls: &[usize]) -> Vec<FlowRef> {
    let mut v: Vec<FlowRef> = calls
        .iter()
        .filter_map(|&c| snap.calls.get(c).map(|row| (c, row)))
        .flat_map(|(c, row)| (0..row.messages.len()).map(move |m| (c, m)))
        .collect();
    if calls.len() > 1 {
        v.sort_by(|a, b| {
            let (x, y) = (message(snap, *a), message(snap, *b));
            let key = |m: Option<&MsgRow>| m.map(|m| m.frame);
            key(x).cmp(&key(y))
        });
    }
    v
}

/// Hosts in order of first appearance: the ladder's columns.
pub fn hosts<'s>(snap: &'s Snapshot, flow: &[FlowRef]) -> Vec<&'s str> {
    let mut v: Vec<&str> = Vec::new();
    for m in flow.iter().filter_map(|r| message(snap, *r)) {
        for h in [m.src.as_str(), m.dst.as_str()] {
            if !v.contains(&h) {
                v.push(h);
            }
        }
    }
    v
}

/// Column width for `hosts` in a ladder `width` characters wide (the gutter included).
pub fn column_width(width: usize, hosts: usize) -> usize {
    (width.saturating_sub(GUTTER) / hosts.max(1)).max(8)
}

/// The header line: the gutter title, then each host centred over its lifeline.
pub fn header(hosts: &[&str], colw: usize) -> String {
    let mut head = format!("{:<w$}", "time / delta", w = GUTTER);
    for h in hosts {
        let h: String = h.chars().take(colw.saturating_sub(1)).collect();
        head.push_str(&format!("{h:^colw$}"));
    }
    head
}

/// One message's line: time, delta, then the arrow between lifelines with the label.
/// `mark` is put in front of the label (the call number when several calls share the
/// ladder).
pub fn row(hosts: &[&str], colw: usize, m: &MsgRow, mark: &str) -> String {
    format!(
        "{:<12} {:>+10.3} {}",
        m.time,
        m.delta_s,
        arrow(hosts, colw, m, mark)
    )
}

/// Lifelines `│` at every host column, an arrow from the source column to the
/// destination column with the label inside.
fn arrow(hosts: &[&str], colw: usize, m: &MsgRow, mark: &str) -> String {
    let width = colw * hosts.len();
    let mut cells: Vec<char> = vec![' '; width];
    let center = |i: usize| i * colw + colw / 2;
    for i in 0..hosts.len() {
        if let Some(c) = cells.get_mut(center(i)) {
            *c = '│';
        }
    }
    let pos = |h: &str| hosts.iter().position(|x| *x == h);
    let mut label = format!("{mark}{}", m.label);
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

/// Label prefix for a message of call `c` when a ladder shows several calls.
pub fn call_mark(snap: &Snapshot, flow_calls: &[usize], c: usize) -> String {
    if flow_calls.len() > 1 {
        snap.calls
            .get(c)
            .map_or(String::new(), |row| format!("#{} ", row.index))
    } else {
        String::new()
    }
}

/// The whole ladder as text, `width` characters wide, with each message's SDP summary
/// under its arrow: what "save ladder" writes.
pub fn text(snap: &Snapshot, flow_calls: &[usize], flow: &[FlowRef], width: usize) -> String {
    let hosts = hosts(snap, flow);
    let colw = column_width(width, hosts.len());
    let mut out = String::new();
    for &c in flow_calls {
        if let Some(row) = snap.calls.get(c) {
            out.push_str(&format!(
                "Call #{} {}  {} → {}  {}\n",
                row.index, row.call_id, row.from, row.to, row.state
            ));
        }
    }
    out.push('\n');
    out.push_str(header(&hosts, colw).trim_end());
    out.push('\n');
    for r in flow {
        let Some(m) = message(snap, *r) else {
            continue;
        };
        out.push_str(&row(&hosts, colw, m, &call_mark(snap, flow_calls, r.0)));
        out.push('\n');
        if let Some(sdp) = &m.sdp {
            out.push_str(&format!("{:GUTTER$} SDP: {sdp}\n", ""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::snapshot::CallRow;

    fn msg(frame: u64, src: &str, dst: &str, label: &str) -> MsgRow {
        MsgRow {
            frame,
            src: src.into(),
            dst: dst.into(),
            label: label.into(),
            ..MsgRow::default()
        }
    }

    fn snap() -> Snapshot {
        let a = "10.0.0.1:5060";
        let b = "10.0.0.2:5060";
        let c = "10.0.0.3:5060";
        Snapshot {
            calls: vec![
                CallRow {
                    index: 1,
                    messages: vec![msg(1, a, b, "INVITE"), msg(4, b, a, "200 OK")],
                    ..CallRow::default()
                },
                CallRow {
                    index: 2,
                    messages: vec![msg(2, b, c, "INVITE"), msg(3, c, b, "200 OK")],
                    ..CallRow::default()
                },
            ],
            ..Snapshot::default()
        }
    }

    #[test]
    fn two_legs_merge_in_frame_order_with_three_hosts() {
        let s = snap();
        let flow = merge(&s, &[0, 1]);
        assert_eq!(flow, vec![(0, 0), (1, 0), (1, 1), (0, 1)]);
        assert_eq!(hosts(&s, &flow).len(), 3);
        let t = text(&s, &[0, 1], &flow, 100);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines
            .iter()
            .any(|l| l.contains("#2 INVITE") && l.contains('►')));
        assert!(lines
            .iter()
            .any(|l| l.contains("#1 200 OK") && l.contains('◄')));
    }

    #[test]
    fn narrow_widths_never_panic() {
        let s = snap();
        let flow = merge(&s, &[0, 1]);
        for w in 0..40 {
            let _ = text(&s, &[0, 1], &flow, w);
        }
    }
}
