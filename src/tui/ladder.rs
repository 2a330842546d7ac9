//! The call-flow ladder as plain text: hosts as columns, one arrow per message. Shared by
//! the flow view and by "save ladder as text", so both show the same thing.

use super::snapshot::{DtmfRow, MsgRow, Snapshot, StreamRow};

/// Width of the time and delta columns left of the ladder.
pub const GUTTER: usize = 24;

/// One row of a ladder: a message, an RTP stream or a DTMF digit, with the position in
/// [`Snapshot::calls`] of the call it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowRef {
    /// (call, index in its messages).
    Msg(usize, usize),
    /// (call, index in [`Snapshot::streams`]).
    Stream(usize, usize),
    /// (call, index in its DTMF digits).
    Dtmf(usize, usize),
}

impl FlowRef {
    /// The call this row belongs to.
    pub fn call(self) -> usize {
        match self {
            FlowRef::Msg(c, _) | FlowRef::Stream(c, _) | FlowRef::Dtmf(c, _) => c,
        }
    }
}

/// The message a flow entry points at (None for a stream).
pub fn message(snap: &Snapshot, r: FlowRef) -> Option<&MsgRow> {
    match r {
        FlowRef::Msg(c, m) => snap.calls.get(c)?.messages.get(m),
        FlowRef::Stream(..) | FlowRef::Dtmf(..) => None,
    }
}

/// The stream a flow entry points at (None for a message).
pub fn stream(snap: &Snapshot, r: FlowRef) -> Option<&StreamRow> {
    match r {
        FlowRef::Stream(_, s) => snap.streams.get(s),
        FlowRef::Msg(..) | FlowRef::Dtmf(..) => None,
    }
}

/// The DTMF digit a flow entry points at (None for a message or a stream).
pub fn dtmf(snap: &Snapshot, r: FlowRef) -> Option<&DtmfRow> {
    match r {
        FlowRef::Dtmf(c, i) => snap.calls.get(c)?.dtmf.get(i),
        FlowRef::Msg(..) | FlowRef::Stream(..) => None,
    }
}

/// Frame that places an entry in capture order.
fn frame(snap: &Snapshot, r: FlowRef) -> u64 {
    match r {
        FlowRef::Msg(..) => message(snap, r).map_or(0, |m| m.frame),
        FlowRef::Stream(..) => stream(snap, r).map_or(0, |s| s.first_frame),
        FlowRef::Dtmf(..) => dtmf(snap, r).map_or(0, |d| d.frame),
    }
}

/// The messages, RTP streams and DTMF digits of `calls` merged in capture order (a stream
/// or a digit sits where its first packet was captured; a digit sent by INFO right under
/// its request): several legs of a B2BUA in one ladder.
pub fn merge(snap: &Snapshot, calls: &[usize]) -> Vec<FlowRef> {
    let mut v: Vec<FlowRef> = Vec::new();
    for &c in calls {
        if let Some(row) = snap.calls.get(c) {
            v.extend((0..row.messages.len()).map(|m| FlowRef::Msg(c, m)));
            v.extend(row.streams.iter().map(|&s| FlowRef::Stream(c, s)));
            v.extend((0..row.dtmf.len()).map(|i| FlowRef::Dtmf(c, i)));
        }
    }
    // Stable: messages of one frame keep their order.
    v.sort_by_key(|r| frame(snap, *r));
    v
}

/// The IP part of "ip:port" / "[v6]:port".
fn ip_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(ip, _)| ip)
}

/// Hosts in order of first appearance: the ladder's columns. Signaling addresses first;
/// an RTP endpoint shares the column of its IP when one exists, else gets its own.
pub fn hosts<'s>(snap: &'s Snapshot, flow: &[FlowRef]) -> Vec<&'s str> {
    let mut v: Vec<&str> = Vec::new();
    for m in flow.iter().filter_map(|r| message(snap, *r)) {
        for h in [&*m.src, &*m.dst] {
            if !v.contains(&h) {
                v.push(h);
            }
        }
    }
    for s in flow.iter().filter_map(|r| stream(snap, *r)) {
        let by_ip = !same_ip(s);
        for h in [s.src.as_str(), s.dst.as_str()] {
            let known = if by_ip {
                v.iter().any(|x| ip_of(x) == ip_of(h))
            } else {
                v.contains(&h)
            };
            if !known {
                v.push(h);
            }
        }
    }
    v
}

/// Both ends of a stream on one IP (a loopback test, one media server): the IP alone
/// cannot place it, so its endpoints get columns of their own.
fn same_ip(s: &StreamRow) -> bool {
    ip_of(&s.src) == ip_of(&s.dst)
}

/// The column of an address: its own, else (when `by_ip`) the first with the same IP.
fn column_of(hosts: &[&str], addr: &str, by_ip: bool) -> Option<usize> {
    hosts.iter().position(|x| *x == addr).or_else(|| {
        by_ip
            .then(|| hosts.iter().position(|x| ip_of(x) == ip_of(addr)))
            .flatten()
    })
}

/// Column width for `hosts` in a ladder `width` characters wide (the gutter included).
pub fn column_width(width: usize, hosts: usize) -> usize {
    (width.saturating_sub(GUTTER) / hosts.max(1)).max(8)
}

/// The header line: the gutter title, then each host (or its alias) centred over its
/// lifeline.
pub fn header(snap: &Snapshot, hosts: &[&str], colw: usize) -> String {
    let mut head = format!("{:<w$}", "time / delta", w = GUTTER);
    for h in hosts {
        let name = match snap.alias(h) {
            Some(a) => format!("{a} ({h})"),
            None => h.to_string(),
        };
        // Too narrow for both: the alias alone.
        let name = if name.chars().count() >= colw {
            snap.alias(h).unwrap_or(h).to_string()
        } else {
            name
        };
        let h: String = name.chars().take(colw.saturating_sub(1)).collect();
        head.push_str(&format!("{h:^colw$}"));
    }
    head
}

/// One message's line: time, delta, then the arrow between lifelines with the label.
/// `mark` is put in front of the label (the call number when several calls share the
/// ladder).
pub fn row(hosts: &[&str], colw: usize, m: &MsgRow, mark: &str) -> String {
    let mut label = format!("{mark}{}", m.label);
    if m.retransmission {
        label.push_str(" (retr)");
    }
    if m.sdp.is_some() {
        label.push_str(" +SDP");
    }
    format!(
        "{:<12} {:>+10.3} {}",
        m.time(),
        m.delta_s,
        arrow(
            hosts,
            colw,
            (&m.src, &m.dst, false),
            &label,
            ('─', '►', '◄')
        )
    )
}

/// One RTP stream's line: start time, duration, then a double bar from sender to
/// receiver with codec, packets and loss.
pub fn stream_row(hosts: &[&str], colw: usize, s: &StreamRow, mark: &str) -> String {
    let label = format!(
        "{mark}RTP {} {} pkts {:.1}% lost{}",
        s.codec,
        s.packets,
        s.lost_pct,
        if s.encrypted { " SRTP" } else { "" }
    );
    let dur = format!("{:.1}s", s.duration_s);
    format!(
        "{:<12} {dur:>10} {}",
        s.start,
        arrow(
            hosts,
            colw,
            (&s.src, &s.dst, !same_ip(s)),
            &label,
            ('═', '►', '◄')
        )
    )
}

/// One DTMF digit's line: its time, its duration, then a dotted arrow from sender to
/// receiver with the digit (masked unless `--show-secrets`) and how it was sent.
pub fn dtmf_row(hosts: &[&str], colw: usize, d: &DtmfRow, mark: &str) -> String {
    let label = format!("{mark}DTMF {} {}", d.digit, d.via);
    let dur = d
        .duration_ms
        .map_or_else(String::new, |ms| format!("{ms}ms"));
    let by_ip = ip_of(&d.src) != ip_of(&d.dst);
    format!(
        "{:<12} {dur:>10} {}",
        d.start,
        arrow(
            hosts,
            colw,
            (&d.src, &d.dst, by_ip),
            &label,
            ('┄', '►', '◄')
        )
    )
}

/// Lifelines `│` at every host column, an arrow drawn with `line` from the source column
/// to the destination column with the label inside (`by_ip`: an address without a column
/// of its own takes the column of its IP).
fn arrow(
    hosts: &[&str],
    colw: usize,
    (src, dst, by_ip): (&str, &str, bool),
    label: &str,
    (line, right, left): (char, char, char),
) -> String {
    let width = colw * hosts.len();
    let mut cells: Vec<char> = vec![' '; width];
    let center = |i: usize| i * colw + colw / 2;
    for i in 0..hosts.len() {
        if let Some(c) = cells.get_mut(center(i)) {
            *c = '│';
        }
    }
    if let (Some(a), Some(b)) = (column_of(hosts, src, by_ip), column_of(hosts, dst, by_ip)) {
        let (l, r) = (center(a.min(b)), center(a.max(b)));
        if r > l + 1 {
            for c in cells.iter_mut().take(r).skip(l + 1) {
                *c = line;
            }
            if a < b {
                if let Some(c) = cells.get_mut(r - 1) {
                    *c = right;
                }
            } else if let Some(c) = cells.get_mut(l + 1) {
                *c = left;
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
    out.push_str(header(snap, &hosts, colw).trim_end());
    out.push('\n');
    for r in flow {
        let mark = call_mark(snap, flow_calls, r.call());
        if let Some(m) = message(snap, *r) {
            out.push_str(&row(&hosts, colw, m, &mark));
            out.push('\n');
            if let Some(sdp) = &m.sdp {
                out.push_str(&format!("{:GUTTER$} SDP: {sdp}\n", ""));
            }
        } else if let Some(s) = stream(snap, *r) {
            out.push_str(&stream_row(&hosts, colw, s, &mark));
            out.push('\n');
        } else if let Some(d) = dtmf(snap, *r) {
            out.push_str(&dtmf_row(&hosts, colw, d, &mark));
            out.push('\n');
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
        use FlowRef::Msg;
        assert_eq!(flow, vec![Msg(0, 0), Msg(1, 0), Msg(1, 1), Msg(0, 1)]);
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
    fn streams_sit_at_their_first_packet_on_the_columns_of_their_ips() {
        let mut s = snap();
        s.streams = vec![StreamRow {
            src: "10.0.0.1:4000".into(),
            dst: "10.0.0.9:5004".into(),
            codec: "PCMU".into(),
            packets: 250,
            lost_pct: 2.0,
            first_frame: 5,
            call: Some(0),
            ..StreamRow::default()
        }];
        s.calls[0].streams = vec![0];
        let flow = merge(&s, &[0]);
        assert_eq!(flow.last(), Some(&FlowRef::Stream(0, 0)));
        let hosts = hosts(&s, &flow);
        // 10.0.0.1 shares the signaling column; 10.0.0.9 gets its own.
        assert_eq!(
            hosts,
            vec!["10.0.0.1:5060", "10.0.0.2:5060", "10.0.0.9:5004"]
        );
        let t = text(&s, &[0], &flow, 100);
        let bar = t.lines().last().unwrap_or_default();
        assert!(bar.contains("RTP PCMU 250 pkts 2.0% lost"), "{t}");
        assert!(bar.contains('═') && bar.contains('►'), "{t}");
    }

    #[test]
    fn aliases_name_the_columns() {
        let mut s = snap();
        s.aliases = vec![
            ("10.0.0.1".into(), "alice-phone".into()),
            ("10.0.0.2:5060".into(), "pbx".into()),
        ];
        let flow = merge(&s, &[0]);
        let h = hosts(&s, &flow);
        let head = header(&s, &h, 40);
        assert!(head.contains("alice-phone (10.0.0.1:5060)"), "{head}");
        assert!(head.contains("pbx (10.0.0.2:5060)"), "{head}");
        let narrow = header(&s, &h, 12);
        assert!(
            narrow.contains("alice-phon") && !narrow.contains('('),
            "{narrow}"
        );
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
