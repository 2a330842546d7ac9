//! Call-list columns: the built-in ones and any SIP header by name (`X-Account-ID`), each
//! with its title, width, cell text and sort order.

use ratatui::layout::Constraint;

use super::snapshot::CallRow;

/// One column of the call list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// 1-based call number.
    Index,
    /// Start time of day.
    Start,
    /// Initial method.
    Method,
    /// From URI.
    From,
    /// To URI.
    To,
    /// Source of the first message.
    Src,
    /// Destination of the first message.
    Dst,
    /// "src → dst" in one column.
    SrcDst,
    /// Message count.
    Msgs,
    /// State and final status.
    State,
    /// Duration.
    Duration,
    /// Transport.
    Transport,
    /// Findings badge (highest severity, count).
    Findings,
    /// Call-ID.
    CallId,
    /// First User-Agent / Server.
    Ua,
    /// Estimated MOS of the call (E-model, worse direction).
    Mos,
    /// A SIP header, by name as the user typed it (first value in the call).
    Header(String),
}

/// The columns shown by default, close to sngrep's call list plus the findings badge.
pub fn default_columns() -> Vec<Column> {
    vec![
        Column::Index,
        Column::Start,
        Column::Method,
        Column::From,
        Column::To,
        Column::SrcDst,
        Column::Msgs,
        Column::State,
        Column::Duration,
        Column::Transport,
        Column::Mos,
        Column::Findings,
    ]
}

/// Most columns in one list (a header column scans messages: bound the work per row).
pub const MAX_COLUMNS: usize = 24;

/// Why a column list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnsError {
    /// Nothing but separators.
    #[error("no column named")]
    Empty,
    /// More than [`MAX_COLUMNS`].
    #[error("at most {MAX_COLUMNS} columns")]
    TooMany,
    /// A name that is neither a built-in column nor a header token (RFC 3261 §25.1).
    #[error("'{0}' is not a column or a header name")]
    BadName(String),
}

impl Column {
    /// The column for a name: a built-in one, else a header (any RFC 3261 `token`).
    pub fn parse(name: &str) -> Result<Column, ColumnsError> {
        let lower = name.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "#" | "index" => Column::Index,
            "start" | "time" => Column::Start,
            "method" => Column::Method,
            "from" => Column::From,
            "to" => Column::To,
            "src" => Column::Src,
            "dst" => Column::Dst,
            "addr" | "src-dst" => Column::SrcDst,
            "msgs" | "messages" => Column::Msgs,
            "state" | "status" => Column::State,
            "duration" | "dur" => Column::Duration,
            "transport" | "proto" => Column::Transport,
            "findings" => Column::Findings,
            "call-id" | "callid" => Column::CallId,
            "ua" => Column::Ua,
            "mos" => Column::Mos,
            _ => {
                // RFC 3261 §25.1 token characters: what a header name may contain.
                let token = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
                if !token {
                    return Err(ColumnsError::BadName(name.to_string()));
                }
                Column::Header(name.to_string())
            }
        })
    }

    /// Parses a comma- or space-separated list ("index,start,from,X-Account-ID").
    pub fn parse_list(s: &str) -> Result<Vec<Column>, ColumnsError> {
        let cols = s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(Column::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if cols.is_empty() {
            return Err(ColumnsError::Empty);
        }
        if cols.len() > MAX_COLUMNS {
            return Err(ColumnsError::TooMany);
        }
        Ok(cols)
    }

    /// The name [`Column::parse`] reads back.
    pub fn name(&self) -> &str {
        match self {
            Column::Index => "index",
            Column::Start => "start",
            Column::Method => "method",
            Column::From => "from",
            Column::To => "to",
            Column::Src => "src",
            Column::Dst => "dst",
            Column::SrcDst => "addr",
            Column::Msgs => "msgs",
            Column::State => "state",
            Column::Duration => "duration",
            Column::Transport => "transport",
            Column::Findings => "findings",
            Column::CallId => "call-id",
            Column::Ua => "ua",
            Column::Mos => "mos",
            Column::Header(h) => h,
        }
    }

    /// Header cell text.
    pub fn title(&self) -> &str {
        match self {
            Column::Index => "#",
            Column::Start => "Start",
            Column::Method => "Method",
            Column::From => "From",
            Column::To => "To",
            Column::Src => "Src",
            Column::Dst => "Dst",
            Column::SrcDst => "Src → Dst",
            Column::Msgs => "Msgs",
            Column::State => "State",
            Column::Duration => "Dur",
            Column::Transport => "Proto",
            Column::Findings => "Findings",
            Column::CallId => "Call-ID",
            Column::Ua => "User-Agent",
            Column::Mos => "MOS",
            Column::Header(h) => h,
        }
    }

    /// Width: fixed for short values, a share of the rest for addresses and URIs.
    pub fn width(&self) -> Constraint {
        match self {
            Column::Index => Constraint::Length(5),
            Column::Start => Constraint::Length(12),
            Column::Method => Constraint::Length(9),
            Column::Msgs => Constraint::Length(5),
            Column::State => Constraint::Length(14),
            Column::Duration => Constraint::Length(7),
            Column::Transport => Constraint::Length(5),
            Column::Findings => Constraint::Length(10),
            Column::Mos => Constraint::Length(4),
            Column::SrcDst => Constraint::Fill(3),
            Column::From | Column::To | Column::CallId => Constraint::Fill(2),
            Column::Src | Column::Dst | Column::Ua | Column::Header(_) => Constraint::Fill(1),
        }
    }

    /// The cell text for a call.
    pub fn text(&self, c: &CallRow) -> String {
        match self {
            Column::Index => c.index.to_string(),
            Column::Start => c.start.clone(),
            Column::Method => c.method.clone(),
            Column::From => c.from.clone(),
            Column::To => c.to.clone(),
            Column::Src => c.src.clone(),
            Column::Dst => c.dst.clone(),
            Column::SrcDst => format!("{} → {}", c.src, c.dst),
            Column::Msgs => c.msgs.to_string(),
            Column::State => match c.status {
                Some(s) => format!("{} {s}", c.state),
                None => c.state.clone(),
            },
            Column::Duration => format!("{:.1}s", c.duration_s),
            Column::Transport => c.transport.to_string(),
            Column::Findings => match c.badge {
                Some((s, n)) => format!("{} {n}", s.as_str()),
                None => "-".to_string(),
            },
            Column::CallId => c.call_id.clone(),
            Column::Ua => c.user_agents.first().cloned().unwrap_or_default(),
            Column::Mos => c.mos.map_or_else(|| "-".to_string(), |m| format!("{m:.2}")),
            Column::Header(h) => {
                let mut v = Vec::new();
                c.header_values(h, &mut v);
                v.first().map(|s| s.to_string()).unwrap_or_default()
            }
        }
    }

    /// The sort key of a call for this column: numbers as numbers, addresses as
    /// addresses (10.0.0.9 before 10.0.0.10), findings by severity then count.
    pub fn sort_key(&self, c: &CallRow) -> SortKey {
        let addr = |s: &str| s.parse::<std::net::SocketAddr>().ok();
        match self {
            Column::Index => SortKey::Int(c.index as i64),
            Column::Start => SortKey::Int((c.start_ts * 1e6) as i64),
            Column::Msgs => SortKey::Int(i64::try_from(c.msgs).unwrap_or(i64::MAX)),
            Column::Duration => SortKey::Int((c.duration_s * 1e3) as i64),
            // Calls without a MOS (no speech) sort below every scored call.
            Column::Mos => SortKey::Int(c.mos.map_or(-1, |m| (m * 100.0).round() as i64)),
            Column::State => SortKey::State(c.state.clone(), c.status),
            Column::Findings => SortKey::Badge(c.badge),
            Column::Src | Column::SrcDst => SortKey::Addr(addr(&c.src), addr(&c.dst)),
            Column::Dst => SortKey::Addr(addr(&c.dst), addr(&c.src)),
            _ => SortKey::Text(self.text(c).to_lowercase()),
        }
    }
}

/// A call's position under one column's order (see [`Column::sort_key`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    /// Integers (index, counts, scaled times).
    Int(i64),
    /// Text, lower-cased.
    Text(String),
    /// Addresses; unparsable ones first.
    Addr(Option<std::net::SocketAddr>, Option<std::net::SocketAddr>),
    /// Severity then count; calls without findings lowest.
    Badge(Option<(crate::engine::Severity, usize)>),
    /// State name then final status.
    State(String, Option<u16>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Severity;
    use std::cmp::Ordering;

    fn call(index: usize, src: &str, msgs: u64) -> CallRow {
        CallRow {
            index,
            src: src.to_string(),
            dst: "10.0.0.1:5060".into(),
            msgs,
            ..CallRow::default()
        }
    }

    #[test]
    fn lists_parse_with_headers_and_errors() {
        let cols = Column::parse_list("index, from X-Account-ID,msgs").expect("valid");
        assert_eq!(
            cols,
            vec![
                Column::Index,
                Column::From,
                Column::Header("X-Account-ID".into()),
                Column::Msgs
            ]
        );
        assert_eq!(Column::parse_list(" , "), Err(ColumnsError::Empty));
        assert_eq!(
            Column::parse_list("from,a b:c"),
            Err(ColumnsError::BadName("b:c".into()))
        );
        let many = vec!["from"; MAX_COLUMNS + 1].join(",");
        assert_eq!(Column::parse_list(&many), Err(ColumnsError::TooMany));
        for c in default_columns() {
            assert_eq!(Column::parse(c.name()), Ok(c.clone()), "{c:?} round trip");
        }
    }

    #[test]
    fn addresses_sort_numerically_and_findings_by_severity() {
        let a = call(1, "10.0.0.10:5060", 3);
        let b = call(2, "10.0.0.9:5060", 3);
        let cmp = |col: Column, x: &CallRow, y: &CallRow| col.sort_key(x).cmp(&col.sort_key(y));
        assert_eq!(cmp(Column::Src, &a, &b), Ordering::Greater);
        assert_eq!(cmp(Column::Msgs, &a, &b), Ordering::Equal);
        let mut hi = call(3, "x", 1);
        hi.badge = Some((Severity::High, 1));
        let mut lo = call(4, "x", 1);
        lo.badge = Some((Severity::Low, 5));
        assert_eq!(cmp(Column::Findings, &hi, &lo), Ordering::Greater);
        assert_eq!(cmp(Column::Findings, &a, &lo), Ordering::Less);
    }
}
