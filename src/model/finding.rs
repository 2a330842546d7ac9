//! Findings: what the analysis has to say about a capture, each backed by evidence.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

use serde::Serialize;

use crate::capture::Timestamp;

use super::Addr;

/// How much a finding matters, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Minor hygiene or interoperability problem.
    Low,
    /// A real weakness or fault that deserves attention.
    Medium,
    /// A serious exposure or failure.
    High,
    /// Act now (e.g. a recovered password).
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Lower-case name as used in the JSON contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable rule identifier such as `sip.malformed` (documented in docs/report-format.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RuleId(pub &'static str);

impl RuleId {
    /// A SIP message that does not parse, or parses but breaks RFC 3261 rules.
    pub const SIP_MALFORMED: RuleId = RuleId("sip.malformed");
    /// Requests or responses sent more than once (RFC 3261 §17 timers fired).
    pub const SIP_RETRANSMISSION: RuleId = RuleId("sip.retransmission");

    /// The id as a string.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Most evidence frames kept per finding; the count of all of them is kept separately.
pub const MAX_EVIDENCE: usize = 32;

/// One finding: a rule that fired, where, and the frames that prove it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Which rule fired.
    pub rule: RuleId,
    /// How much it matters.
    pub severity: Severity,
    /// Time of the first evidence packet.
    pub ts: Timestamp,
    /// The call it concerns, if any.
    pub call_id: Option<String>,
    /// Source of the first evidence packet (packed: a big capture has a finding per
    /// call, all held at the report's peak).
    pub src: Option<Addr>,
    /// Destination of the first evidence packet.
    pub dst: Option<Addr>,
    /// One line saying what was seen.
    pub summary: String,
    /// Frame numbers (1-based) that prove it; at most [`MAX_EVIDENCE`].
    pub evidence: Vec<u64>,
    /// What to do about it: borrowed when a rule's advice is fixed text (most are, and a
    /// big capture has a finding per call, so a copy each was an allocation per call).
    pub advice: Cow<'static, str>,
}

impl Finding {
    /// A finding of `rule` at `ts` with nothing else said yet; the other methods fill it:
    /// `Finding::new(rule, severity, ts).call(id).flow(src, dst).summary(..).evidence(..)
    /// .advice(..)`.
    pub fn new(rule: RuleId, severity: Severity, ts: Timestamp) -> Finding {
        Finding {
            rule,
            severity,
            ts,
            call_id: None,
            src: None,
            dst: None,
            summary: String::new(),
            evidence: Vec::new(),
            advice: Cow::Borrowed(""),
        }
    }

    /// The call it concerns.
    pub fn call(mut self, call_id: impl Into<String>) -> Finding {
        self.call_id = Some(call_id.into());
        self
    }

    /// The call it concerns, when there is one.
    pub fn call_opt(mut self, call_id: Option<String>) -> Finding {
        self.call_id = call_id;
        self
    }

    /// Source and destination of the first evidence packet.
    pub fn flow(mut self, src: impl Into<SocketAddr>, dst: impl Into<SocketAddr>) -> Finding {
        self.src = Some(Addr::new(src.into()));
        self.dst = Some(Addr::new(dst.into()));
        self
    }

    /// Source and destination of the first evidence packet, when known.
    pub fn flow_opt(mut self, src: Option<SocketAddr>, dst: Option<SocketAddr>) -> Finding {
        self.src = src.map(Addr::new);
        self.dst = dst.map(Addr::new);
        self
    }

    /// What was seen, in one line.
    pub fn summary(mut self, summary: impl Into<String>) -> Finding {
        self.summary = summary.into();
        // Written into generous buffers (a call's summary into 160 bytes): a big capture
        // keeps one per call until the report is written, so only the text is kept.
        self.summary.shrink_to_fit();
        self
    }

    /// The frames that prove it, cut to [`MAX_EVIDENCE`].
    pub fn evidence(mut self, mut frames: Vec<u64>) -> Finding {
        frames.truncate(MAX_EVIDENCE);
        // Kept until the report is written, one list per finding: only the frames.
        frames.shrink_to_fit();
        self.evidence = frames;
        self
    }

    /// What to do about it.
    pub fn advice(mut self, advice: impl Into<Cow<'static, str>>) -> Finding {
        self.advice = advice.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_fills_every_field_and_bounds_evidence() {
        let a: SocketAddr = "10.0.0.1:5060".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:5060".parse().unwrap();
        let f = Finding::new(
            RuleId::SIP_MALFORMED,
            Severity::Low,
            Timestamp::from_parts(1, 0),
        )
        .call("c1")
        .flow(a, b)
        .summary("s")
        .evidence((1..100).collect())
        .advice("do");
        assert_eq!(f.call_id.as_deref(), Some("c1"));
        assert_eq!(
            (f.src.map(|x| x.get()), f.dst.map(|x| x.get())),
            (Some(a), Some(b))
        );
        assert_eq!((f.summary.as_str(), f.advice.as_ref()), ("s", "do"));
        assert_eq!(f.evidence.len(), MAX_EVIDENCE);
    }
}
