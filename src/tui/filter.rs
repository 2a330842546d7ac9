//! Display filter of the call list (issue 5): a small expression language parsed once per
//! keystroke into a [`Filter`] and applied to every call through [`FilterFields`].
//!
//! ```text
//! filter  := or?                              (empty input: every call)
//! or      := and (("or" | "||") and)*
//! and     := unary (("and" | "&&") unary)*
//! unary   := ("not" | "!") unary | primary
//! primary := "(" or ")" | FIELD OP VALUE | WORD | QUOTED    (WORD, QUOTED: quick search)
//! OP      := "=" | "==" | "!=" | "~" | "!~" | "contains" | "<" | "<=" | ">" | ">="
//! ```
//!
//! The syntax follows sngrep's display filter and Wireshark's operators. Evaluation is pure
//! and allocation-free apart from the caller's reused `Vec` ([`Filter::matches_with`]):
//! regexes are compiled and constants lower-cased at parse time, because the filter is
//! re-applied to every call (100,000 of them) on each keystroke.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

use regex::{Regex, RegexBuilder};
use thiserror::Error;

use crate::engine::Severity;
use crate::sip::contains_ci;

/// Most comparisons (quick-search words included) in one filter.
pub const MAX_COMPARISONS: usize = 64;
/// Deepest nesting of `(` and `not` in one filter (bounds the parser's recursion).
pub const MAX_DEPTH: usize = 32;
/// Compiled size limit of one regex: a hostile pattern such as `\w{1000}{1000}` is
/// rejected instead of taking the memory of the dashboard.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lazy-DFA cache limit of one regex (search stays linear, the cache bounded).
const REGEX_DFA_LIMIT: usize = 1 << 20;

/// Built-in text fields a call exposes to the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    /// From header (as shown in the call list).
    From,
    /// To header.
    To,
    /// Call-ID.
    CallId,
    /// Method of the dialog-creating request.
    Method,
    /// Dialog state as the call list shows it.
    State,
    /// Every User-Agent and Server value of the call.
    Ua,
    /// Source address as `ip:port` (`[v6]:port` for IPv6, as `SocketAddr` displays).
    Src,
    /// Destination address as `ip:port`.
    Dst,
    /// Transport (UDP, TCP, TLS, WS, ...).
    Transport,
    /// Rule ids of the call's findings (`nat.one_way_audio`, ...).
    Finding,
}

/// Built-in numeric fields a call exposes to the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumField {
    /// Final status code.
    Status,
    /// Message count.
    Msgs,
    /// Duration in seconds.
    Duration,
}

/// What a call exposes to the filter. The dashboard's CallRow implements it.
pub trait FilterFields {
    /// Text values of a built-in text field (from, to, call-id, method, state, ua, src, dst,
    /// transport, finding). Several values allowed (ua, finding). Push into out.
    fn text<'s>(&'s self, field: TextField, out: &mut Vec<&'s str>);
    /// Numeric value of status/msgs/duration (None when absent, e.g. no final status: then
    /// every comparison is false except !=).
    fn number(&self, field: NumField) -> Option<f64>;
    /// Highest finding severity, None when no finding.
    fn severity(&self) -> Option<Severity>;
    /// Values of a SIP header (name as the user typed it; compare case-insensitively)
    /// across the call's messages.
    fn header<'s>(&'s self, name: &str, out: &mut Vec<&'s str>);
}

/// A filter that does not parse, with the byte offset in the input where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at {pos}: {kind}")]
pub struct FilterError {
    /// Byte offset in the input.
    pub pos: usize,
    /// What is wrong there.
    pub kind: FilterErrorKind,
}

/// Why a filter does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterErrorKind {
    /// Nothing usable where a term must start (end of input, `)`, an operator).
    #[error("expected a comparison, a search word, 'not' or '('")]
    ExpectedTerm,
    /// An operator with nothing after it.
    #[error("expected a value after '{op}'")]
    ExpectedValue {
        /// The operator as typed (`~`, `>=`, `contains`, ...).
        op: &'static str,
    },
    /// A numeric field compared with something that is not a finite number.
    #[error("expected a number after '{op}', found '{found}'")]
    ExpectedNumber {
        /// The operator.
        op: &'static str,
        /// The value given.
        found: String,
    },
    /// `severity` compared with an unknown name.
    #[error("unknown severity '{found}' (info, low, medium, high, critical or none)")]
    UnknownSeverity {
        /// The value given.
        found: String,
    },
    /// `<`, `<=`, `>`, `>=` on a text field or a header.
    #[error("'{op}' compares numbers (status, msgs, duration) or severity, and '{field}' is text")]
    NotOrdered {
        /// The operator.
        op: &'static str,
        /// The field as typed.
        field: String,
    },
    /// The regex after `~` or `!~` does not compile (or exceeds the size limit).
    #[error("invalid regex: {message}")]
    InvalidRegex {
        /// The regex crate's message, on one line.
        message: String,
    },
    /// A quote without its closing quote.
    #[error("unterminated quoted string")]
    UnterminatedString,
    /// The input ends inside parentheses.
    #[error("expected ')' to close the '(' at {open}")]
    UnclosedParen {
        /// Byte offset of the `(`.
        open: usize,
    },
    /// A `)` with no `(` before it.
    #[error("')' without a matching '('")]
    UnmatchedParen,
    /// A complete term followed by something that is no connective.
    #[error("expected 'and', 'or', ')' or the end of the filter")]
    ExpectedConnective,
    /// More than [`MAX_COMPARISONS`] comparisons.
    #[error("more than {MAX_COMPARISONS} comparisons")]
    TooManyComparisons,
    /// Nesting of `(` and `not` deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels of '(' and 'not'")]
    TooDeep,
}

/// A parsed display filter. `Filter::default()` matches every call.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { root: Node::All }
    }
}

#[derive(Debug, Clone)]
enum Node {
    All,
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Cmp(Box<Cmp>),
    Quick(Needle),
}

/// One `FIELD OP VALUE`; `negate` turns `!=`/`!~` into "no value matches".
#[derive(Debug, Clone)]
struct Cmp {
    subject: Subject,
    test: Test,
    negate: bool,
}

#[derive(Debug, Clone)]
enum Subject {
    Text(TextField),
    Num(NumField),
    Severity,
    Header(Box<str>),
}

#[derive(Debug, Clone)]
enum Test {
    /// ASCII case-insensitive equality.
    Eq(Box<str>),
    /// src/dst equality: the whole `ip:port` or the ip alone.
    AddrEq(Box<str>),
    Contains(Needle),
    Regex(Regex),
    Num(Rel, f64),
    Sev(Rel, Option<Severity>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Rel {
    fn holds(self, ord: Option<Ordering>) -> bool {
        match (self, ord) {
            (_, None) => false,
            (Rel::Eq, Some(o)) => o == Ordering::Equal,
            (Rel::Lt, Some(o)) => o == Ordering::Less,
            (Rel::Le, Some(o)) => o != Ordering::Greater,
            (Rel::Gt, Some(o)) => o == Ordering::Greater,
            (Rel::Ge, Some(o)) => o != Ordering::Less,
        }
    }
}

/// A substring to find ignoring ASCII case, lower-cased once at parse time.
#[derive(Debug, Clone)]
struct Needle(Box<[u8]>);

impl Needle {
    fn new(s: &str) -> Self {
        Needle(s.to_ascii_lowercase().into_bytes().into_boxed_slice())
    }

    fn found_in(&self, hay: &str) -> bool {
        contains_ci(hay.as_bytes(), &self.0)
    }
}

/// Fields a quick search looks at (sngrep's display filter covers the same columns).
const QUICK_FIELDS: [TextField; 7] = [
    TextField::From,
    TextField::To,
    TextField::CallId,
    TextField::Method,
    TextField::Ua,
    TextField::Src,
    TextField::Dst,
];

impl Filter {
    /// Parses a filter; empty or blank input gives the match-everything filter.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        let mut p = Parser {
            s: input,
            pos: 0,
            depth: 0,
            comparisons: 0,
        };
        p.skip_ws();
        if p.peek().is_none() {
            return Ok(Filter::default());
        }
        let root = p.or()?;
        p.skip_ws();
        match p.peek() {
            None => Ok(Filter { root }),
            Some(b')') => Err(p.err(p.pos, FilterErrorKind::UnmatchedParen)),
            Some(_) => Err(p.err(p.pos, FilterErrorKind::ExpectedConnective)),
        }
    }

    /// Whether `call` passes the filter. Allocates at most one small scratch `Vec`; loops
    /// over many calls should use [`Filter::matches_with`].
    pub fn matches(&self, call: &dyn FilterFields) -> bool {
        let mut scratch = Vec::new();
        self.matches_with(call, &mut scratch)
    }

    /// Whether `call` passes the filter, using `scratch` (cleared before each use) for the
    /// field values, so a loop over many calls allocates nothing once it has grown.
    pub fn matches_with<'s>(&self, call: &'s dyn FilterFields, scratch: &mut Vec<&'s str>) -> bool {
        eval(&self.root, call, scratch)
    }

    /// True for the match-everything filter (empty input).
    pub fn is_empty(&self) -> bool {
        matches!(self.root, Node::All)
    }

    /// Names of the SIP headers the filter compares (as typed, each once ignoring case),
    /// so the dashboard extracts only those.
    pub fn header_names_in(&self) -> Vec<&str> {
        let mut out = Vec::new();
        collect_headers(&self.root, &mut out);
        out
    }
}

fn collect_headers<'f>(node: &'f Node, out: &mut Vec<&'f str>) {
    match node {
        Node::All | Node::Quick(_) => {}
        Node::Not(n) => collect_headers(n, out),
        Node::And(ns) | Node::Or(ns) => ns.iter().for_each(|n| collect_headers(n, out)),
        Node::Cmp(c) => {
            if let Subject::Header(name) = &c.subject {
                if !out.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    out.push(name);
                }
            }
        }
    }
}

fn eval<'s>(node: &Node, call: &'s dyn FilterFields, buf: &mut Vec<&'s str>) -> bool {
    match node {
        Node::All => true,
        Node::Not(n) => !eval(n, call, buf),
        Node::And(ns) => ns.iter().all(|n| eval(n, call, buf)),
        Node::Or(ns) => ns.iter().any(|n| eval(n, call, buf)),
        Node::Quick(needle) => {
            needle.0.is_empty()
                || QUICK_FIELDS.iter().any(|&f| {
                    buf.clear();
                    call.text(f, buf);
                    buf.iter().any(|v| needle.found_in(v))
                })
        }
        Node::Cmp(c) => {
            let hit = match &c.subject {
                Subject::Text(f) => {
                    buf.clear();
                    call.text(*f, buf);
                    buf.iter().any(|v| c.test.text(v))
                }
                Subject::Header(name) => {
                    buf.clear();
                    call.header(name, buf);
                    buf.iter().any(|v| c.test.text(v))
                }
                Subject::Num(f) => call.number(*f).is_some_and(|x| c.test.number(x)),
                Subject::Severity => c.test.severity(call.severity()),
            };
            hit != c.negate
        }
    }
}

impl Test {
    fn text(&self, v: &str) -> bool {
        match self {
            Test::Eq(want) => v.eq_ignore_ascii_case(want),
            Test::AddrEq(want) => addr_eq(v, want),
            Test::Contains(n) => n.found_in(v),
            Test::Regex(re) => re.is_match(v),
            // The parser pairs these only with numeric fields and severity.
            Test::Num(..) | Test::Sev(..) => false,
        }
    }

    fn number(&self, x: f64) -> bool {
        match self {
            Test::Num(rel, y) => rel.holds(x.partial_cmp(y)),
            // `status ~ ^4`: the number as text, formatted on the stack.
            _ => {
                let mut t = StackText::default();
                write!(t, "{x}").is_ok() && self.text(t.as_str())
            }
        }
    }

    fn severity(&self, s: Option<Severity>) -> bool {
        match self {
            // `none` (no finding) orders below info: Option's order puts None first.
            Test::Sev(rel, want) => rel.holds(Some(s.cmp(want))),
            _ => self.text(s.map_or("none", Severity::as_str)),
        }
    }
}

/// `src = 10.0.0.1` matches `10.0.0.1:5060`: equality on the whole `ip:port` or on the ip
/// alone (with or without the brackets of an IPv6 address).
fn addr_eq(v: &str, want: &str) -> bool {
    if v.eq_ignore_ascii_case(want) {
        return true;
    }
    let Some((host, _port)) = v.rsplit_once(':') else {
        return false;
    };
    host.eq_ignore_ascii_case(want)
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.eq_ignore_ascii_case(want))
}

/// A number's text without a heap allocation; longer output than the buffer fails the
/// write (the comparison is then false).
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    EqEq,
    Ne,
    Match,
    NotMatch,
    Contains,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::EqEq => "==",
            Op::Ne => "!=",
            Op::Match => "~",
            Op::NotMatch => "!~",
            Op::Contains => "contains",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    fn rel(self) -> Option<Rel> {
        match self {
            Op::Lt => Some(Rel::Lt),
            Op::Le => Some(Rel::Le),
            Op::Gt => Some(Rel::Gt),
            Op::Ge => Some(Rel::Ge),
            _ => None,
        }
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn subject_for(name: &str) -> Subject {
    match name.to_ascii_lowercase().as_str() {
        "from" => Subject::Text(TextField::From),
        "to" => Subject::Text(TextField::To),
        "call-id" | "callid" => Subject::Text(TextField::CallId),
        "method" => Subject::Text(TextField::Method),
        "state" => Subject::Text(TextField::State),
        "ua" => Subject::Text(TextField::Ua),
        "src" => Subject::Text(TextField::Src),
        "dst" => Subject::Text(TextField::Dst),
        "transport" => Subject::Text(TextField::Transport),
        "finding" => Subject::Text(TextField::Finding),
        "status" => Subject::Num(NumField::Status),
        "msgs" => Subject::Num(NumField::Msgs),
        "duration" => Subject::Num(NumField::Duration),
        "severity" => Subject::Severity,
        _ => Subject::Header(name.into()),
    }
}

/// The regex crate's message is several lines with a caret diagram; the status line has
/// room for one.
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Recursive descent over the input; `pos` always sits on a char boundary (it only moves
/// past ASCII syntax or whole chars).
struct Parser<'a> {
    s: &'a str,
    pos: usize,
    depth: usize,
    comparisons: usize,
}

type PResult<T> = Result<T, FilterError>;

impl<'a> Parser<'a> {
    fn err(&self, pos: usize, kind: FilterErrorKind) -> FilterError {
        FilterError { pos, kind }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.rest().as_bytes().first().copied()
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// `kw` (ASCII case-insensitive) not followed by an identifier byte.
    fn at_keyword(&self, kw: &str) -> bool {
        let b = self.rest().as_bytes();
        b.get(..kw.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(kw.as_bytes()))
            && !b.get(kw.len()).is_some_and(|&c| is_ident(c))
    }

    fn eat(&mut self, sym: &str, keyword: bool) -> bool {
        let hit = if keyword {
            self.at_keyword(sym)
        } else {
            self.rest().starts_with(sym)
        };
        if hit {
            self.pos += sym.len();
        }
        hit
    }

    fn enter(&mut self, at: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(at, FilterErrorKind::TooDeep));
        }
        Ok(())
    }

    fn count(&mut self, at: usize) -> PResult<()> {
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(self.err(at, FilterErrorKind::TooManyComparisons));
        }
        Ok(())
    }

    fn or(&mut self) -> PResult<Node> {
        let mut items = vec![self.and()?];
        loop {
            self.skip_ws();
            if self.eat("||", false) || self.eat("or", true) {
                items.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(one_or(items, Node::Or))
    }

    fn and(&mut self) -> PResult<Node> {
        let mut items = vec![self.unary()?];
        loop {
            self.skip_ws();
            if self.eat("&&", false) || self.eat("and", true) {
                items.push(self.unary()?);
            } else {
                break;
            }
        }
        Ok(one_or(items, Node::And))
    }

    fn unary(&mut self) -> PResult<Node> {
        self.skip_ws();
        let start = self.pos;
        if self.eat("!", false) || self.eat("not", true) {
            self.enter(start)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Node> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None | Some(b')' | b'=' | b'<' | b'>' | b'~' | b'&' | b'|') => {
                Err(self.err(start, FilterErrorKind::ExpectedTerm))
            }
            Some(b'(') => {
                self.enter(start)?;
                self.pos += 1;
                let node = self.or()?;
                self.skip_ws();
                match self.peek() {
                    Some(b')') => {
                        self.pos += 1;
                        self.depth -= 1;
                        Ok(node)
                    }
                    None => Err(self.err(self.pos, FilterErrorKind::UnclosedParen { open: start })),
                    Some(_) => Err(self.err(self.pos, FilterErrorKind::ExpectedConnective)),
                }
            }
            Some(b'"' | b'\'') => {
                let text = self.quoted()?;
                self.count(start)?;
                Ok(Node::Quick(Needle::new(&text)))
            }
            Some(_) => self.word_or_comparison(start),
        }
    }

    /// An identifier followed by an operator is a comparison; anything else is a bare
    /// word to search for (`alice@example.com`, `10.0.0.1`).
    fn word_or_comparison(&mut self, start: usize) -> PResult<Node> {
        let ident_len = self.rest().bytes().take_while(|&b| is_ident(b)).count();
        if ident_len > 0 {
            let name = self.rest().get(..ident_len).unwrap_or("");
            self.pos += ident_len;
            self.skip_ws();
            let op_pos = self.pos;
            if let Some(op) = self.operator() {
                return self.comparison(start, name, op, op_pos).map(Node::from);
            }
            self.pos = start;
        }
        let word = self.bare_word();
        self.count(start)?;
        Ok(Node::Quick(Needle::new(word)))
    }

    fn operator(&mut self) -> Option<Op> {
        let b = self.rest().as_bytes();
        let op = match (b.first(), b.get(1)) {
            (Some(b'='), Some(b'=')) => Op::EqEq,
            (Some(b'='), _) => Op::Eq,
            (Some(b'!'), Some(b'=')) => Op::Ne,
            (Some(b'!'), Some(b'~')) => Op::NotMatch,
            (Some(b'~'), _) => Op::Match,
            (Some(b'<'), Some(b'=')) => Op::Le,
            (Some(b'<'), _) => Op::Lt,
            (Some(b'>'), Some(b'=')) => Op::Ge,
            (Some(b'>'), _) => Op::Gt,
            _ if self.at_keyword("contains") => Op::Contains,
            _ => return None,
        };
        self.pos += op.as_str().len();
        Some(op)
    }

    fn comparison(&mut self, start: usize, name: &str, op: Op, op_pos: usize) -> PResult<Cmp> {
        self.count(start)?;
        let subject = subject_for(name);
        let ordered = matches!(subject, Subject::Num(_) | Subject::Severity);
        if op.rel().is_some() && !ordered {
            return Err(self.err(
                op_pos,
                FilterErrorKind::NotOrdered {
                    op: op.as_str(),
                    field: name.to_owned(),
                },
            ));
        }
        self.skip_ws();
        let vpos = self.pos;
        let quoted;
        let value: &str = match self.peek() {
            None | Some(b')') => {
                return Err(self.err(vpos, FilterErrorKind::ExpectedValue { op: op.as_str() }))
            }
            Some(b'"' | b'\'') => {
                quoted = self.quoted()?;
                &quoted
            }
            Some(_) => self.bare_word(),
        };
        let (test, negate) = match op {
            Op::Match | Op::NotMatch => (self.regex(value, vpos)?, op == Op::NotMatch),
            Op::Contains => (Test::Contains(Needle::new(value)), false),
            Op::Eq | Op::EqEq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let rel = op.rel().unwrap_or(Rel::Eq);
                let test = match &subject {
                    Subject::Num(_) => Test::Num(rel, self.number(value, vpos, op)?),
                    Subject::Severity => Test::Sev(rel, self.severity(value, vpos)?),
                    Subject::Text(TextField::Src | TextField::Dst) => Test::AddrEq(value.into()),
                    Subject::Text(_) | Subject::Header(_) => Test::Eq(value.into()),
                };
                (test, op == Op::Ne)
            }
        };
        Ok(Cmp {
            subject,
            test,
            negate,
        })
    }

    fn regex(&self, pattern: &str, at: usize) -> PResult<Test> {
        RegexBuilder::new(pattern)
            .case_insensitive(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_DFA_LIMIT)
            .build()
            .map(Test::Regex)
            .map_err(|e| {
                self.err(
                    at,
                    FilterErrorKind::InvalidRegex {
                        message: regex_message(&e),
                    },
                )
            })
    }

    fn number(&self, value: &str, at: usize, op: Op) -> PResult<f64> {
        value
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                self.err(
                    at,
                    FilterErrorKind::ExpectedNumber {
                        op: op.as_str(),
                        found: value.to_owned(),
                    },
                )
            })
    }

    fn severity(&self, value: &str, at: usize) -> PResult<Option<Severity>> {
        if value.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value))
            .map(Some)
            .ok_or_else(|| {
                self.err(
                    at,
                    FilterErrorKind::UnknownSeverity {
                        found: value.to_owned(),
                    },
                )
            })
    }

    /// Up to whitespace or `)`.
    fn bare_word(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| c.is_whitespace() || c == ')')
            .unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).unwrap_or("")
    }

    /// A single- or double-quoted string. `\` before the opening quote character stands for
    /// that quote; every other backslash is kept as written (so `"^nat\."` and `'\\d'`
    /// reach the regex unchanged).
    fn quoted(&mut self) -> PResult<String> {
        let start = self.pos;
        let rest = self.rest();
        let mut chars = rest.char_indices();
        let Some((_, q)) = chars.next() else {
            return Err(self.err(start, FilterErrorKind::UnterminatedString));
        };
        let mut out = String::new();
        let mut chars = chars.peekable();
        while let Some((i, c)) = chars.next() {
            if c == q {
                self.pos += i + c.len_utf8();
                return Ok(out);
            }
            if c == '\\' {
                match chars.peek() {
                    Some(&(_, n)) if n == q => {
                        out.push(q);
                        chars.next();
                    }
                    Some(&(_, '\\')) => {
                        out.push_str("\\\\");
                        chars.next();
                    }
                    _ => out.push('\\'),
                }
                continue;
            }
            out.push(c);
        }
        Err(self.err(start, FilterErrorKind::UnterminatedString))
    }
}

fn one_or(mut items: Vec<Node>, many: fn(Vec<Node>) -> Node) -> Node {
    if items.len() == 1 {
        if let Some(n) = items.pop() {
            return n;
        }
    }
    many(items)
}

impl From<Cmp> for Node {
    fn from(c: Cmp) -> Self {
        Node::Cmp(Box::new(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A call as the dashboard would expose it.
    #[derive(Default)]
    struct Call {
        from: &'static str,
        to: &'static str,
        call_id: &'static str,
        method: &'static str,
        state: &'static str,
        ua: Vec<&'static str>,
        src: &'static str,
        dst: &'static str,
        transport: &'static str,
        findings: Vec<&'static str>,
        status: Option<f64>,
        msgs: Option<f64>,
        duration: Option<f64>,
        severity: Option<Severity>,
        headers: Vec<(&'static str, &'static str)>,
    }

    impl FilterFields for Call {
        fn text<'s>(&'s self, field: TextField, out: &mut Vec<&'s str>) {
            match field {
                TextField::From => out.push(self.from),
                TextField::To => out.push(self.to),
                TextField::CallId => out.push(self.call_id),
                TextField::Method => out.push(self.method),
                TextField::State => out.push(self.state),
                TextField::Ua => out.extend(&self.ua),
                TextField::Src => out.push(self.src),
                TextField::Dst => out.push(self.dst),
                TextField::Transport => out.push(self.transport),
                TextField::Finding => out.extend(&self.findings),
            }
        }
        fn number(&self, field: NumField) -> Option<f64> {
            match field {
                NumField::Status => self.status,
                NumField::Msgs => self.msgs,
                NumField::Duration => self.duration,
            }
        }
        fn severity(&self) -> Option<Severity> {
            self.severity
        }
        fn header<'s>(&'s self, name: &str, out: &mut Vec<&'s str>) {
            out.extend(
                self.headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| *v),
            );
        }
    }

    fn alice() -> Call {
        Call {
            from: "\"Alice\" <sip:alice@example.com>;tag=1",
            to: "<sip:bob@example.org>",
            call_id: "a84b4c76e66710@pc33.example.com",
            method: "INVITE",
            state: "Confirmed",
            ua: vec!["Friendly-Phone/1.2", "Acme-SBC 4.0"],
            src: "10.0.0.1:5060",
            dst: "[2001:db8::1]:5061",
            transport: "UDP",
            findings: vec!["nat.one_way_audio", "sip.retransmission"],
            status: Some(200.0),
            msgs: Some(7.0),
            duration: Some(12.5),
            severity: Some(Severity::Medium),
            headers: vec![("X-Account-ID", "42"), ("Contact", "<sip:a@1.2.3.4>")],
        }
    }

    /// A call without final status, findings or User-Agent.
    fn bare() -> Call {
        Call {
            from: "<sip:carol@example.net>",
            method: "REGISTER",
            src: "192.168.1.5:40000",
            dst: "10.0.0.1:5060",
            transport: "TCP",
            msgs: Some(1.0),
            ..Call::default()
        }
    }

    #[track_caller]
    fn hit(filter: &str, call: &Call) -> bool {
        match Filter::parse(filter) {
            Ok(f) => f.matches(call),
            Err(e) => panic!("{filter:?}: {e}"),
        }
    }

    #[track_caller]
    fn err(filter: &str) -> FilterError {
        match Filter::parse(filter) {
            Ok(f) => panic!("{filter:?} parsed: {f:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_input_matches_everything() {
        for input in ["", "   ", "\t\n"] {
            let f = Filter::parse(input).unwrap_or_else(|e| panic!("{e}"));
            assert!(f.is_empty());
            assert!(f.matches(&alice()) && f.matches(&bare()));
        }
        assert!(Filter::default().is_empty());
        assert!(!Filter::parse("alice").is_ok_and(|f| f.is_empty()));
    }

    #[test]
    fn equality_ignores_case_and_inequality_negates() {
        let a = alice();
        assert!(hit("method = invite", &a));
        assert!(hit("METHOD == Invite", &a));
        assert!(!hit("method = invit", &a));
        assert!(hit("method != register", &a));
        assert!(!hit("method != INVITE", &a));
        assert!(hit("callid = A84B4C76E66710@pc33.example.com", &a));
        assert!(hit("call-id contains 66710@", &a));
        assert!(hit("transport=udp", &a));
        assert!(hit("state = confirmed", &a));
    }

    #[test]
    fn regex_is_case_insensitive_and_negatable() {
        let a = alice();
        assert!(hit("from ~ ^\"alice", &a));
        assert!(hit("to ~ 'BOB@example\\.org'", &a));
        assert!(!hit("to ~ 'bob@example\\.com'", &a));
        assert!(hit("to !~ carol", &a));
        assert!(!hit("to !~ bob", &a));
        // The crate's inline flags turn case folding off.
        assert!(!hit("method ~ '(?-i)invite'", &a));
        assert!(hit("method ~ '(?-i)INVITE'", &a));
        // A bare value ends at ')': a pattern with one is quoted.
        assert!(Filter::parse("method ~ (?-i)invite").is_err());
        assert!(hit("finding ~ ^nat\\.", &a));
        assert!(!hit("finding ~ ^nat\\.", &bare()));
    }

    #[test]
    fn contains_is_a_case_insensitive_substring() {
        let a = alice();
        assert!(hit("from contains ALICE@", &a));
        assert!(
            hit("from CONTAINS 'alice\"'", &a),
            "quote inside single quotes"
        );
        assert!(!hit("from contains bob", &a));
    }

    #[test]
    fn multi_valued_fields_match_any_and_negations_need_none() {
        let a = alice();
        assert!(hit("ua ~ ^acme", &a));
        assert!(hit("ua = 'friendly-phone/1.2'", &a));
        assert!(hit("ua contains sbc", &a));
        assert!(!hit("ua !~ acme", &a), "one of the values matches");
        assert!(hit("ua !~ linphone", &a));
        assert!(hit("ua !~ linphone", &bare()), "no value at all");
        assert!(!hit("ua ~ .", &bare()));
        assert!(hit("finding = sip.retransmission", &a));
    }

    #[test]
    fn src_and_dst_equality_accepts_the_ip_alone() {
        let a = alice();
        assert!(hit("src = 10.0.0.1", &a));
        assert!(hit("src = 10.0.0.1:5060", &a));
        assert!(!hit("src = 10.0.0.1:5061", &a));
        assert!(!hit("src = 10.0.0.10", &a));
        assert!(!hit("src = 10.0.0", &a));
        assert!(hit("dst = 2001:DB8::1", &a));
        assert!(hit("dst = [2001:db8::1]", &a));
        assert!(hit("dst = [2001:db8::1]:5061", &a));
        assert!(!hit("dst = 2001:db8::", &a));
        assert!(hit("src != 10.0.0.2", &a));
        assert!(!hit("src != 10.0.0.1", &a));
        assert!(hit("dst = 10.0.0.1", &bare()));
        assert!(hit("src ~ ^10\\.0\\.0\\.1:", &a));
    }

    #[test]
    fn numeric_comparisons() {
        let a = alice();
        for (f, want) in [
            ("status = 200", true),
            ("status == 200.0", true),
            ("status != 200", false),
            ("status < 300", true),
            ("status <= 200", true),
            ("status > 200", false),
            ("status >= 200", true),
            ("status>=400", false),
            ("msgs > 5", true),
            ("duration > 12.4", true),
            ("duration < 12.5", false),
            ("duration <= 12.5", true),
            ("status ~ ^2", true),
            ("status contains 00", true),
            ("duration ~ ^12\\.5$", true),
        ] {
            assert_eq!(hit(f, &a), want, "{f}");
        }
    }

    #[test]
    fn missing_status_is_false_except_for_inequality() {
        let b = bare();
        for f in [
            "status = 200",
            "status < 1000",
            "status <= 1000",
            "status > 0",
            "status >= 0",
            "status ~ .",
            "status contains 2",
            "duration >= 0",
        ] {
            assert!(!hit(f, &b), "{f}");
        }
        assert!(hit("status != 200", &b));
        assert!(hit("not status = 200", &b));
    }

    #[test]
    fn severity_is_ordered_with_none_lowest() {
        let a = alice(); // medium
        let b = bare(); // none
        for (f, a_want, b_want) in [
            ("severity = medium", true, false),
            ("severity >= medium", true, false),
            ("severity > medium", false, false),
            ("severity >= low", true, false),
            ("severity < high", true, true),
            ("severity <= info", false, true),
            ("severity = none", false, true),
            ("severity > none", true, false),
            ("severity != none", true, false),
            ("severity >= CRITICAL", false, false),
            ("severity ~ ^med", true, false),
            ("severity ~ ^no", false, true),
        ] {
            assert_eq!(hit(f, &a), a_want, "{f} on alice");
            assert_eq!(hit(f, &b), b_want, "{f} on bare");
        }
        let mut c = alice();
        c.severity = Some(Severity::Critical);
        assert!(hit("severity > high", &c));
        c.severity = Some(Severity::Info);
        assert!(hit("severity < low and severity > none", &c));
    }

    #[test]
    fn headers_are_looked_up_by_name_ignoring_case() {
        let a = alice();
        assert!(hit("X-Account-ID = 42", &a));
        assert!(hit("x-account-id = 42", &a));
        assert!(!hit("x-account-id = 43", &a));
        assert!(hit("contact ~ 1\\.2\\.3\\.4", &a));
        assert!(!hit("x_missing = 1", &a));
        assert!(hit("x_missing != 1", &a));
        assert!(!hit("x-account-id contains 4", &bare()));
    }

    #[test]
    fn header_names_in_lists_each_header_once() {
        let f = Filter::parse(
            "X-Account-ID = 1 or (user-agent ~ x and not x-account-id = 2) or from = a or alice",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.header_names_in(), vec!["X-Account-ID", "user-agent"]);
        assert!(Filter::default().header_names_in().is_empty());
    }

    #[test]
    fn quick_search_covers_the_call_list_columns() {
        let a = alice();
        for (f, want) in [
            ("ALICE", true),
            ("bob@example.org", true),
            ("e66710", true),
            ("invite", true),
            ("friendly", true),
            ("10.0.0.1", true),
            ("2001:db8", true),
            ("'sip:alice@'", true),
            ("\"Alice\\\" <sip\"", true),
            ("confirmed", false), // state is not searched
            ("udp", false),       // transport is not searched
            ("42", false),        // headers are not searched
            ("carol", false),
            ("alice and not bob", false),
            ("alice or carol", true),
            ("\"\"", true),
        ] {
            assert_eq!(hit(f, &a), want, "{f}");
        }
        assert!(hit("carol", &bare()));
        assert!(hit("register", &bare()));
    }

    #[test]
    fn boolean_precedence_not_over_and_over_or() {
        let a = alice();
        // or binds loosest: (false and false) or true.
        assert!(hit("method = bye and status = 200 or msgs = 7", &a));
        // and binds tighter than or: true or (false and ...).
        assert!(hit("msgs = 7 or method = bye and status = 200", &a));
        // Parentheses override.
        assert!(!hit("(msgs = 7 or method = bye) and status = 404", &a));
        // not applies to the next term only.
        assert!(hit("not method = bye and status = 200", &a));
        assert!(!hit("not (method = invite and status = 200)", &a));
        assert!(hit("! method = bye && status = 200 || carol", &a));
        assert!(hit("!!alice", &a));
        assert!(hit("not not alice", &a));
        assert!(hit("NOT carol AND alice", &a));
        assert!(hit("((alice))", &a));
        // Keywords need a boundary: `notify` and `oracle` are search words.
        assert!(!hit("notify", &a));
        assert!(!hit("alice and oracle", &a));
    }

    #[test]
    fn quoted_values_and_escapes() {
        let mut c = alice();
        c.headers.push(("Subject", "say \"hi\" (now)"));
        c.headers.push(("X-Path", "C:\\dir"));
        assert!(hit(r#"subject = "say \"hi\" (now)""#, &c));
        assert!(hit(r#"subject = 'say "hi" (now)'"#, &c));
        assert!(!hit(r"subject contains 'hi\' (' or no_such_header = 1", &c));
        assert!(hit(r#"subject contains 'hi" (' or no_such_header = 1"#, &c));
        c.headers.push(("X-Note", "it's"));
        assert!(hit(r"x-note = 'it\'s'", &c));
        // Inside double quotes, \' is not an escape: the backslash stays.
        assert!(!hit(r#"x-note = "it\'s""#, &c));
        assert!(hit(r"x-path ~ '^c:\\dir$'", &c));
        assert!(hit(r#"x-path ~ "\\d""#, &c));
        // A bare value ends at ')'.
        assert!(hit("(method = invite)", &c));
    }

    #[test]
    fn errors_carry_byte_positions() {
        for (input, pos, kind) in [
            ("from ~", 6, FilterErrorKind::ExpectedValue { op: "~" }),
            ("(from ~ )", 8, FilterErrorKind::ExpectedValue { op: "~" }),
            (
                "from < 3",
                5,
                FilterErrorKind::NotOrdered {
                    op: "<",
                    field: "from".into(),
                },
            ),
            (
                "X-A >= 3",
                4,
                FilterErrorKind::NotOrdered {
                    op: ">=",
                    field: "X-A".into(),
                },
            ),
            (
                "status > abc",
                9,
                FilterErrorKind::ExpectedNumber {
                    op: ">",
                    found: "abc".into(),
                },
            ),
            (
                "status = nan",
                9,
                FilterErrorKind::ExpectedNumber {
                    op: "=",
                    found: "nan".into(),
                },
            ),
            (
                "severity >= urgent",
                12,
                FilterErrorKind::UnknownSeverity {
                    found: "urgent".into(),
                },
            ),
            ("a and 'bc", 6, FilterErrorKind::UnterminatedString),
            ("(a or (b)", 9, FilterErrorKind::UnclosedParen { open: 0 }),
            ("a)", 1, FilterErrorKind::UnmatchedParen),
            ("a b", 2, FilterErrorKind::ExpectedConnective),
            ("(a b)", 3, FilterErrorKind::ExpectedConnective),
            ("a and", 5, FilterErrorKind::ExpectedTerm),
            ("a or ()", 6, FilterErrorKind::ExpectedTerm),
            ("= 3", 0, FilterErrorKind::ExpectedTerm),
            ("not", 3, FilterErrorKind::ExpectedTerm),
            (
                "é and from = ",
                14,
                FilterErrorKind::ExpectedValue { op: "=" },
            ),
        ] {
            let e = err(input);
            assert_eq!((e.pos, &e.kind), (pos, &kind), "{input:?}: {e}");
        }
    }

    #[test]
    fn error_display() {
        assert_eq!(
            err("from = a and ~").to_string(),
            "at 13: expected a comparison, a search word, 'not' or '('"
        );
        assert_eq!(
            err("from = x or ua ~").to_string(),
            "at 16: expected a value after '~'"
        );
        assert_eq!(
            err("from <= 3").to_string(),
            "at 5: '<=' compares numbers (status, msgs, duration) or severity, and 'from' is text"
        );
    }

    /// The examples of the "Display filter" section of docs/dashboard.md.
    #[test]
    fn readme_examples() {
        for input in [
            "status >= 400 and not method = REGISTER",
            "src = 10.0.0.1 && (ua ~ friendly || X-Account-ID = 42)",
            r"severity >= high or finding ~ ^nat\.",
            "duration > 60 and transport = tls",
            r#"from = "Alice Smith""#,
            "ua ~ '(?-i)Acme'",
            r#"finding ~ "^nat\.""#,
            "status ~ ^4",
            "severity ~ ^h",
        ] {
            assert!(Filter::parse(input).is_ok(), "{input}");
        }
        assert!(hit(
            "src = 10.0.0.1 && (ua ~ friendly || X-Account-ID = 42)",
            &alice()
        ));
        assert!(hit(r#"finding ~ "^nat\.""#, &alice()));
        assert_eq!(err("ua ~").to_string(), "at 4: expected a value after '~'");
        assert_eq!(
            err("from < 3").to_string(),
            "at 5: '<' compares numbers (status, msgs, duration) or severity, and 'from' is text"
        );
        assert_eq!(
            err("ua ~ (abc").to_string(),
            "at 5: invalid regex: unclosed group"
        );
    }

    #[test]
    fn invalid_regex_reports_the_regex_message() {
        let e = err("ua ~ (abc");
        assert_eq!(e.pos, 5);
        let FilterErrorKind::InvalidRegex { message } = &e.kind else {
            panic!("{e:?}");
        };
        assert!(message.contains("unclosed group"), "{message}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }

    #[test]
    fn hostile_regex_hits_the_size_limit() {
        let e = err(r"ua ~ \w{1000}{1000}");
        assert!(
            matches!(&e.kind, FilterErrorKind::InvalidRegex { message } if message.contains("size limit")),
            "{e:?}"
        );
    }

    #[test]
    fn expression_size_is_bounded() {
        let ok = vec!["a"; MAX_COMPARISONS].join(" or ");
        assert!(Filter::parse(&ok).is_ok());
        let too_many = vec!["a"; MAX_COMPARISONS + 1].join(" or ");
        let e = err(&too_many);
        assert_eq!(e.kind, FilterErrorKind::TooManyComparisons);
        assert_eq!(e.pos, too_many.len() - 1);

        let deep_ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(Filter::parse(&deep_ok).is_ok());
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            err(&deep),
            FilterError {
                pos: MAX_DEPTH,
                kind: FilterErrorKind::TooDeep
            }
        );
        let nots = format!("{}a", "not ".repeat(MAX_DEPTH + 1));
        assert_eq!(err(&nots).kind, FilterErrorKind::TooDeep);
        // Depth is nesting, not a total: many shallow groups are fine.
        let wide = vec!["(not a)"; MAX_COMPARISONS].join(" and ");
        assert!(Filter::parse(&wide).is_ok());
    }

    #[test]
    fn matches_with_reuses_the_scratch_vec() {
        let f = Filter::parse("ua ~ acme and x-account-id = 42 or alice")
            .unwrap_or_else(|e| panic!("{e}"));
        let calls = [alice(), bare()];
        let mut scratch = Vec::new();
        let kept: Vec<bool> = calls
            .iter()
            .map(|c| f.matches_with(c, &mut scratch))
            .collect();
        assert_eq!(kept, vec![true, false]);
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in ".{0,80}") {
            if let Ok(f) = Filter::parse(&input) {
                let _ = f.matches(&alice());
                let _ = f.matches(&bare());
            }
        }

        #[test]
        fn parse_never_panics_on_filter_like_text(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "(", ")", "not ", "!", " and ", "&&", " or ", "||", "from", "status",
                    "severity", "src", "X-H", "=", "==", "!=", "~", "!~", " contains ", "<",
                    "<=", ">", ">=", "'", "\"", "\\", "200", "high", "10.0.0.1", "a(b", " ",
                    "é", "[", "*", "+", "{9}",
                ]),
                0..24,
            )
        ) {
            let input: String = parts.concat();
            if let Ok(f) = Filter::parse(&input) {
                let _ = f.matches(&alice());
                let _ = f.matches(&bare());
                let _ = f.header_names_in();
            }
        }
    }
}
