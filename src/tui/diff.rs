//! Side-by-side line diff of two SIP messages (the `d` key): which headers changed between
//! an INVITE and its retransmission, a re-INVITE, or the same request on both sides of a
//! proxy. The diff is `similar`'s Myers over lines; drawing is a pure function.

use std::time::{Duration, Instant};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use similar::{capture_diff_slices_deadline, Algorithm, DiffOp};

use super::highlight::sanitize;
use super::theme::Theme;

/// Most bytes of each message that are diffed; the rest is cut off (and [`column_title`]
/// says so). A SIP message over UDP fits in 64 KiB (RFC 3261 §18.1.1), and this bounds the
/// O(N·D) diff.
pub const MAX_DIFF_BYTES: usize = 64 * 1024;

/// Backstop on the diff's running time: past it, `similar` returns a correct but coarser
/// diff (larger changed blocks), so a pathological pair never freezes the dashboard.
const DIFF_DEADLINE: Duration = Duration::from_millis(200);

/// How a row of the side-by-side view differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// The same line on both sides.
    Same,
    /// A line of the left message replaced by a line of the right one.
    Changed,
    /// A line only in the left message.
    Removed,
    /// A line only in the right message.
    Added,
}

/// One row of the side-by-side view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow<'a> {
    /// How the two sides differ.
    pub kind: RowKind,
    /// The left message's line (`None` for [`RowKind::Added`]), without its line ending.
    pub left: Option<&'a str>,
    /// The right message's line (`None` for [`RowKind::Removed`]), without its line ending.
    pub right: Option<&'a str>,
    /// 1-based line number of `left`.
    pub left_no: Option<usize>,
    /// 1-based line number of `right`.
    pub right_no: Option<usize>,
}

/// How many rows of each kind a diff has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiffSummary {
    /// Rows equal on both sides.
    pub same: usize,
    /// Rows paired as changed.
    pub changed: usize,
    /// Rows only on the left.
    pub removed: usize,
    /// Rows only on the right.
    pub added: usize,
}

/// Whether `text` is longer than [`MAX_DIFF_BYTES`] and so only partly diffed.
pub fn is_cut(text: &str) -> bool {
    text.len() > MAX_DIFF_BYTES
}

/// A column title for [`render_diff`]: `label`, plus a note when the message was cut.
pub fn column_title(label: &str, text: &str) -> String {
    if is_cut(text) {
        format!("{label} (first {} KiB)", MAX_DIFF_BYTES / 1024)
    } else {
        label.to_string()
    }
}

/// The first [`MAX_DIFF_BYTES`] of `s`, cut back to a character boundary.
fn cut(s: &str) -> &str {
    let mut end = s.len().min(MAX_DIFF_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Lines without their `\n` / `\r\n` endings.
fn lines(s: &str) -> Vec<&str> {
    s.lines().map(|l| l.trim_end_matches('\r')).collect()
}

/// Line diff of `a` (left) and `b` (right), each cut to [`MAX_DIFF_BYTES`]. Within each run
/// of differing lines, removed and added lines pair up in order as [`RowKind::Changed`]
/// rows; the surplus of either side follows as Removed or Added rows.
pub fn side_by_side<'a>(a: &'a str, b: &'a str) -> Vec<DiffRow<'a>> {
    let (la, lb) = (lines(cut(a)), lines(cut(b)));
    let deadline = Instant::now().checked_add(DIFF_DEADLINE);
    let ops = capture_diff_slices_deadline(Algorithm::Myers, &la, &lb, deadline);
    let mut rows = Vec::with_capacity(la.len().max(lb.len()));
    // Pending run of differing lines (indices into la / lb), flushed at the next equal run.
    let mut removed: Vec<usize> = Vec::new();
    let mut added: Vec<usize> = Vec::new();
    let row = |kind, l: Option<usize>, r: Option<usize>| DiffRow {
        kind,
        left: l.and_then(|i| la.get(i).copied()),
        right: r.and_then(|i| lb.get(i).copied()),
        left_no: l.map(|i| i + 1),
        right_no: r.map(|i| i + 1),
    };
    let flush = |rows: &mut Vec<DiffRow<'a>>, removed: &mut Vec<usize>, added: &mut Vec<usize>| {
        let n = removed.len().max(added.len());
        for k in 0..n {
            let (l, r) = (removed.get(k).copied(), added.get(k).copied());
            let kind = match (l, r) {
                (Some(_), Some(_)) => RowKind::Changed,
                (Some(_), None) => RowKind::Removed,
                _ => RowKind::Added,
            };
            rows.push(row(kind, l, r));
        }
        removed.clear();
        added.clear();
    };
    for op in ops {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                flush(&mut rows, &mut removed, &mut added);
                for k in 0..len {
                    rows.push(row(RowKind::Same, Some(old_index + k), Some(new_index + k)));
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => removed.extend(old_index..old_index + old_len),
            DiffOp::Insert {
                new_index, new_len, ..
            } => added.extend(new_index..new_index + new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                removed.extend(old_index..old_index + old_len);
                added.extend(new_index..new_index + new_len);
            }
        }
    }
    flush(&mut rows, &mut removed, &mut added);
    rows
}

/// Counts the rows of each kind.
pub fn summary(rows: &[DiffRow<'_>]) -> DiffSummary {
    let mut s = DiffSummary::default();
    for r in rows {
        match r.kind {
            RowKind::Same => s.same += 1,
            RowKind::Changed => s.changed += 1,
            RowKind::Removed => s.removed += 1,
            RowKind::Added => s.added += 1,
        }
    }
    s
}

/// Draws the diff in two bordered columns (left = first message), each titled, each line
/// with its line number and a marker (`~` changed, `-` removed, `+` added) so the view
/// reads without colour too. `scroll` is the first row shown, clamped so the last page
/// stays full; the summary sits on the left column's bottom border.
pub fn render_diff(
    frame: &mut Frame<'_>,
    area: Rect,
    rows: &[DiffRow<'_>],
    scroll: usize,
    titles: (&str, &str),
    theme: &Theme,
) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let height = usize::from(area.height.saturating_sub(2));
    let scroll = scroll.min(rows.len().saturating_sub(height));
    let visible = rows.get(scroll..).unwrap_or_default();
    let visible = visible.get(..height.min(visible.len())).unwrap_or_default();
    // One gutter width for both columns, from the largest line number on screen.
    let max_no = visible
        .iter()
        .flat_map(|r| [r.left_no, r.right_no])
        .flatten()
        .max()
        .unwrap_or(0);
    let width = max_no.to_string().len().max(3);
    let s = summary(rows);
    let totals = format!(
        " {} same, {} changed, {} removed, {} added ",
        s.same, s.changed, s.removed, s.added
    );
    for (side, col, title) in [(Side::Left, left, titles.0), (Side::Right, right, titles.1)] {
        let lines: Vec<Line<'_>> = visible
            .iter()
            .map(|r| side_line(r, side, width, room(col, width), theme))
            .collect();
        let mut block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(format!(" {title} "), theme.title));
        if side == Side::Left {
            block = block.title_bottom(Span::styled(totals.clone(), theme.dim));
        }
        frame.render_widget(Paragraph::new(lines).style(theme.text).block(block), col);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// Text columns left in a bordered column after the `NNN m ` gutter.
fn room(col: Rect, num_width: usize) -> usize {
    usize::from(col.width.saturating_sub(2)).saturating_sub(num_width + 3)
}

/// One column's half of a row: `  12 ~ text`, or dim filler where this side has no line.
fn side_line<'a>(
    r: &DiffRow<'a>,
    side: Side,
    width: usize,
    room: usize,
    theme: &Theme,
) -> Line<'a> {
    let (text, other, no) = match side {
        Side::Left => (r.left, r.right, r.left_no),
        Side::Right => (r.right, r.left, r.right_no),
    };
    let (marker, style): (&str, Style) = match r.kind {
        RowKind::Same => (" ", theme.text),
        RowKind::Changed => ("~", theme.diff_changed),
        RowKind::Removed => ("-", theme.diff_removed),
        RowKind::Added => ("+", theme.diff_added),
    };
    let (Some(text), Some(no)) = (text, no) else {
        return Line::from(Span::styled(format!("{:>width$} {marker}", ""), theme.dim));
    };
    let mut spans = vec![
        Span::styled(format!("{no:>width$} "), theme.dim),
        Span::styled(format!("{marker} "), style),
    ];
    match other {
        Some(other) if r.kind == RowKind::Changed => {
            spans.extend(changed_spans(
                &sanitize(text),
                &sanitize(other),
                room,
                style,
            ));
        }
        _ => spans.push(Span::styled(sanitize(text), style)),
    }
    Line::from(spans)
}

/// Context kept before the first difference when the line has to be elided.
const CONTEXT: usize = 8;

/// A changed line with the part from its first difference on in bold. When that difference
/// would fall past the column's edge (a Via branch at the end of a long Via), the middle is
/// elided — `Via: …z9hG4bK-bbb` — so the change is always on screen.
fn changed_spans(text: &str, other: &str, room: usize, style: Style) -> Vec<Span<'static>> {
    let chars: Vec<char> = text.chars().collect();
    let common = chars
        .iter()
        .zip(other.chars())
        .take_while(|(a, b)| *a == b)
        .count();
    let bold = style.add_modifier(Modifier::BOLD);
    let at = |r: std::ops::Range<usize>| -> String {
        chars.get(r).map(|c| c.iter().collect()).unwrap_or_default()
    };
    if common < room.saturating_sub(CONTEXT) || common <= CONTEXT {
        return vec![
            Span::styled(at(0..common), style),
            Span::styled(at(common..chars.len()), bold),
        ];
    }
    // Keep a header name (with its colon and blanks) when it is short, then the ellipsis.
    let name = chars
        .iter()
        .position(|c| *c == ':')
        .filter(|p| *p < room / 3)
        .map_or(0, |p| p + 1);
    let name = name + chars.iter().skip(name).take_while(|c| **c == ' ').count();
    let from = common.saturating_sub(CONTEXT).max(name);
    vec![
        Span::styled(at(0..name), style),
        Span::styled("…", style.add_modifier(Modifier::DIM)),
        Span::styled(at(from..common), style),
        Span::styled(at(common..chars.len()), bold),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    const A: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-aaa\r\n\
        From: <sip:alice@example.com>;tag=1\r\n\
        To: <sip:bob@example.com>\r\n\
        Call-ID: c1@192.0.2.1\r\n\
        CSeq: 1 INVITE\r\n\
        User-Agent: phone/1.0\r\n\
        Content-Length: 0\r\n\r\n";

    fn b_of(a: &str) -> String {
        a.replace("branch=z9hG4bK-aaa", "branch=z9hG4bK-bbb")
            .replace("CSeq: 1 INVITE", "CSeq: 2 INVITE")
    }

    #[test]
    fn via_branch_and_cseq_changes_are_changed_rows() {
        let b = b_of(A);
        let rows = side_by_side(A, &b);
        let changed: Vec<&DiffRow<'_>> =
            rows.iter().filter(|r| r.kind == RowKind::Changed).collect();
        assert_eq!(changed.len(), 2);
        assert_eq!(
            changed[0].left,
            Some("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-aaa")
        );
        assert_eq!(
            changed[0].right,
            Some("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-bbb")
        );
        assert_eq!(
            (changed[0].left_no, changed[0].right_no),
            (Some(2), Some(2))
        );
        assert_eq!(changed[1].left, Some("CSeq: 1 INVITE"));
        assert_eq!(changed[1].right, Some("CSeq: 2 INVITE"));
        assert_eq!(
            (changed[1].left_no, changed[1].right_no),
            (Some(6), Some(6))
        );
        assert_eq!(
            summary(&rows),
            DiffSummary {
                same: 7,
                changed: 2,
                removed: 0,
                added: 0
            }
        );
    }

    #[test]
    fn a_removed_header_is_a_removed_row() {
        let b = A.replace("User-Agent: phone/1.0\r\n", "");
        let rows = side_by_side(A, &b);
        let removed: Vec<&DiffRow<'_>> =
            rows.iter().filter(|r| r.kind == RowKind::Removed).collect();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].left, Some("User-Agent: phone/1.0"));
        assert_eq!((removed[0].left_no, removed[0].right), (Some(7), None));
        assert_eq!(summary(&rows).changed, 0);
        // And the other way round it is added.
        let rows = side_by_side(&b, A);
        assert_eq!(summary(&rows).added, 1);
        assert_eq!(summary(&rows).removed, 0);
    }

    #[test]
    fn identical_input_is_all_same_with_matching_numbers() {
        let rows = side_by_side(A, A);
        assert_eq!(rows.len(), A.lines().count());
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.kind, RowKind::Same);
            assert_eq!((r.left_no, r.right_no), (Some(i + 1), Some(i + 1)));
            assert_eq!(r.left, r.right);
        }
        assert!(side_by_side("", "").is_empty());
    }

    #[test]
    fn surplus_lines_of_a_run_follow_the_pairs() {
        let rows = side_by_side("a\nX\nz\n", "a\nY1\nY2\nz\n");
        let kinds: Vec<RowKind> = rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                RowKind::Same,
                RowKind::Changed,
                RowKind::Added,
                RowKind::Same
            ]
        );
        assert_eq!(rows[2].right, Some("Y2"));
        assert_eq!(rows[2].right_no, Some(3));
    }

    #[test]
    fn long_messages_are_cut_to_the_bound() {
        let big = "x: y\n".repeat(MAX_DIFF_BYTES / 5 + 100);
        assert!(is_cut(&big));
        let rows = side_by_side(&big, "x: y\n");
        let max_left = rows.iter().filter_map(|r| r.left_no).max().unwrap_or(0);
        assert_eq!(max_left, MAX_DIFF_BYTES / 5 + 1);
        assert!(column_title("Frame 3", &big).ends_with("(first 64 KiB)"));
        assert_eq!(column_title("Frame 3", "short"), "Frame 3");
        // A cut inside a multi-byte character backs off to its start.
        let wide = "é".repeat(MAX_DIFF_BYTES);
        assert_eq!(cut(&wide).len(), MAX_DIFF_BYTES);
        let odd = format!("a{wide}");
        assert_eq!(cut(&odd).len(), MAX_DIFF_BYTES - 1);
    }

    fn screen(rows: &[DiffRow<'_>], scroll: usize) -> String {
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        term.draw(|f| {
            render_diff(
                f,
                f.area(),
                rows,
                scroll,
                ("Frame 1", "Frame 5"),
                &Theme::dark(),
            )
        })
        .unwrap();
        let buf = term.backend().buffer();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    #[test]
    fn render_diff_shows_both_columns() {
        let b = b_of(A);
        let rows = side_by_side(A, &b);
        let s = screen(&rows, 0);
        let lines: Vec<&str> = s.lines().collect();
        assert!(
            lines[0].contains(" Frame 1 ") && lines[0].contains(" Frame 5 "),
            "{s}"
        );
        let cseq = lines.iter().find(|l| l.contains("CSeq: 1 INVITE")).unwrap();
        assert!(cseq.contains("6 ~ CSeq: 1 INVITE"), "{s}");
        // The branch differs past the column edge: the middle of the Via is elided.
        assert!(lines[2].contains("2 ~ Via: …z9hG4bK-aaa"), "{s}");
        assert!(lines[2].contains("2 ~ Via: …z9hG4bK-bbb"), "{s}");
        assert!(cseq.contains("6 ~ CSeq: 2 INVITE"), "{s}");
        // The right column starts at the middle.
        assert!(cseq.find("CSeq: 2").unwrap() > 40, "{s}");
        assert!(s.contains("Call-ID: c1@192.0.2.1"), "{s}");
        assert!(s.contains("7 same, 2 changed, 0 removed, 0 added"), "{s}");
    }

    #[test]
    fn changed_spans_bold_the_difference_and_elide_when_it_is_off_screen() {
        let st = Style::new();
        let b = st.add_modifier(Modifier::BOLD);
        let texts = |v: Vec<Span<'static>>| -> Vec<(String, Style)> {
            v.into_iter()
                .map(|s| (s.content.into_owned(), s.style))
                .collect()
        };
        assert_eq!(
            texts(changed_spans("CSeq: 1 INVITE", "CSeq: 2 INVITE", 30, st)),
            vec![("CSeq: ".to_string(), st), ("1 INVITE".to_string(), b)]
        );
        let long = texts(changed_spans(
            "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-aaa",
            "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-bbb",
            30,
            st,
        ));
        let joined: String = long.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(joined, "Via: …z9hG4bK-aaa");
        assert_eq!(long.last(), Some(&("aaa".to_string(), b)));
        // Wholly different, empty, and tiny columns do not panic.
        assert_eq!(texts(changed_spans("", "x", 0, st)).len(), 2);
        assert_eq!(
            texts(changed_spans("abcdefghijklmnop", "abcdefghijklmnoq", 0, st)).len(),
            4
        );
    }

    #[test]
    fn render_diff_colours_by_kind_and_clamps_scroll() {
        let b = A.replace("User-Agent: phone/1.0\r\n", "");
        let rows = side_by_side(A, &b);
        let theme = Theme::dark();
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        term.draw(|f| render_diff(f, f.area(), &rows, 0, ("a", "b"), &theme))
            .unwrap();
        let buf = term.backend().buffer();
        // Row 7 of the diff is on screen line 7 (after the border); its text starts after
        // the border, a 3-wide number, a space and the marker.
        assert_eq!(buf[(7, 7)].symbol(), "U");
        assert_eq!(buf[(7, 7)].fg, theme.diff_removed.fg.unwrap());
        // Scrolling far past the end still shows the last rows.
        let s = screen(&rows, 1000);
        assert!(s.contains("Content-Length: 0"), "{s}");
    }

    proptest::proptest! {
        #[test]
        fn every_line_appears_once_in_order(
            a in "([a-c]{0,2}\\r?\\n){0,12}",
            b in "([a-c]{0,2}\\r?\\n){0,12}",
            w in 0u16..50,
            h in 0u16..8,
            scroll in 0usize..20,
        ) {
            let rows = side_by_side(&a, &b);
            let left: Vec<usize> = rows.iter().filter_map(|r| r.left_no).collect();
            let right: Vec<usize> = rows.iter().filter_map(|r| r.right_no).collect();
            proptest::prop_assert_eq!(left, (1..=a.lines().count()).collect::<Vec<_>>());
            proptest::prop_assert_eq!(right, (1..=b.lines().count()).collect::<Vec<_>>());
            for r in &rows {
                match r.kind {
                    RowKind::Same => proptest::prop_assert_eq!(r.left, r.right),
                    RowKind::Changed => proptest::prop_assert!(r.left.is_some() && r.right.is_some()),
                    RowKind::Removed => proptest::prop_assert!(r.right.is_none()),
                    RowKind::Added => proptest::prop_assert!(r.left.is_none()),
                }
            }
            let s = summary(&rows);
            proptest::prop_assert_eq!(s.same + s.changed + s.removed + s.added, rows.len());
            // Drawing never panics, however small the area.
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            term.draw(|f| render_diff(f, f.area(), &rows, scroll, ("l", "r"), &Theme::mono()))
                .unwrap();
        }
    }
}
