//! CSV rendering of a [`Report`]: one row per dialog, for spreadsheets and scripts.
//!
//! The grammar is RFC 4180: a header line, then one record per dialog, fields separated
//! by commas, records ended by CRLF (RFC 4180 §2 rule 1), a field quoted when it holds a
//! comma, a double quote, CR or LF, and a quote inside a quoted field doubled (§2 rules
//! 5-7). The columns are fixed and documented in docs/report-format.md; lists inside one
//! field (To tags, user agents, rule ids) are joined by a space or by ` | `.
//!
//! Deliberate deviation for spreadsheets: text taken from the wire (Call-ID, URIs, tags,
//! user agents) that starts with `=`, `+`, `-`, `@`, a tab or CR is prefixed with `'`
//! and quoted, so a spreadsheet shows it as text instead of evaluating it as a formula
//! (CSV injection: a scanner's User-Agent is attacker-chosen). Columns the tool writes
//! itself (numbers, addresses, states, rule ids) are never altered.

use super::{DialogDto, FindingDto, Report};
use crate::model::Severity;
use std::fmt::Write as _;

/// The header line's column names, in order.
pub const COLUMNS: [&str; 24] = [
    "index",
    "call_id",
    "method",
    "from",
    "to",
    "state",
    "final_status",
    "start",
    "end",
    "duration_s",
    "talk_s",
    "messages",
    "retransmissions",
    "duplicates",
    "transport",
    "src",
    "dst",
    "from_tag",
    "to_tags",
    "user_agents",
    "mos",
    "findings",
    "worst_severity",
    "rules",
];

/// Renders the report's dialogs (after any filter) as CSV text, header line first.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(128 * (r.dialogs.len() + 1));
    for (i, c) in COLUMNS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(c);
    }
    out.push_str("\r\n");
    for d in &r.dialogs {
        row(&mut out, d, &r.findings);
    }
    out
}

/// One dialog's record.
fn row(out: &mut String, d: &DialogDto<'_>, findings: &[FindingDto]) {
    // `finding_ids` are 1-based indexes into the report's findings.
    let mine: Vec<&FindingDto> = d
        .finding_ids
        .iter()
        .filter_map(|&id| findings.get(id.wrapping_sub(1)))
        .collect();
    let worst: Option<Severity> = mine.iter().map(|f| f.severity).max();
    let mut rules: Vec<&str> = mine.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();

    let _ = write!(out, "{}", d.index);
    wire(out, d.call_id);
    wire(out, d.method);
    wire(out, d.from);
    wire(out, d.to);
    plain(out, d.state);
    out.push(',');
    if let Some(s) = d.final_status {
        let _ = write!(out, "{s}");
    }
    number(out, Some(d.start));
    number(out, Some(d.end));
    number(out, Some(d.duration_s));
    number(out, d.talk_s);
    let _ = write!(
        out,
        ",{},{},{}",
        d.messages, d.retransmissions, d.duplicates
    );
    plain(out, d.transport);
    plain(out, &d.src.to_string());
    plain(out, &d.dst.to_string());
    wire(out, d.from_tag.unwrap_or(""));
    wire(out, &d.to_tags.join(" "));
    wire(out, &d.user_agents.join(" | "));
    number(out, d.mos);
    let _ = write!(out, ",{}", mine.len());
    plain(out, worst.map_or("", Severity::as_str));
    plain(out, &rules.join(" "));
    out.push_str("\r\n");
}

/// A comma, then a float in Rust's shortest round-trip form; empty when absent or not
/// finite (CSV has no null).
fn number(out: &mut String, v: Option<f64>) {
    out.push(',');
    if let Some(v) = v.filter(|v| v.is_finite()) {
        let _ = write!(out, "{v}");
    }
}

/// A comma, then a field the tool wrote itself, quoted only when RFC 4180 needs it.
fn plain(out: &mut String, s: &str) {
    out.push(',');
    field(out, s, false);
}

/// A comma, then a field taken from the wire: quoted when needed, and defused when a
/// spreadsheet would read it as a formula.
fn wire(out: &mut String, s: &str) {
    out.push(',');
    field(out, s, true);
}

/// Writes one field (RFC 4180 §2 rules 5-7).
fn field(out: &mut String, s: &str, from_wire: bool) {
    let formula = from_wire && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || s.contains([',', '"', '\r', '\n']);
    if !quote {
        out.push_str(s);
        return;
    }
    out.push('"');
    if formula {
        out.push('\'');
    }
    for c in s.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str, from_wire: bool) -> String {
        let mut out = String::new();
        field(&mut out, s, from_wire);
        out
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(f("abc@host", true), "abc@host");
        assert_eq!(f("a,b", false), "\"a,b\"");
        assert_eq!(f("say \"hi\"", true), "\"say \"\"hi\"\"\"");
        assert_eq!(f("two\r\nlines", true), "\"two\r\nlines\"");
        assert_eq!(f("", true), "");
    }

    #[test]
    fn wire_text_that_looks_like_a_formula_is_defused() {
        assert_eq!(f("=HYPERLINK(\"x\")", true), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(f("+15551234", true), "\"'+15551234\"");
        assert_eq!(f("-x", true), "\"'-x\"");
        assert_eq!(f("@SUM(A1)", true), "\"'@SUM(A1)\"");
        // The tool's own texts are left alone.
        assert_eq!(f("-", false), "-");
    }

    #[test]
    fn numbers_are_empty_when_absent_or_not_finite() {
        let mut out = String::new();
        number(&mut out, None);
        number(&mut out, Some(f64::NAN));
        number(&mut out, Some(1.5));
        assert_eq!(out, ",,,1.5");
    }

    #[test]
    fn header_names_every_column_once() {
        let mut seen = std::collections::BTreeSet::new();
        assert!(COLUMNS.iter().all(|c| seen.insert(*c)));
    }
}
