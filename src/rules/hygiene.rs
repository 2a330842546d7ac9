//! Message hygiene rules: `sip.malformed` (a message that does not parse or breaks
//! RFC 3261 rules) and `sip.retransmission` (RFC 3261 §17 timers fired).

use crate::engine::{Analyzer, Dialog, EngineStats, Malformed, Rule};
use crate::model::{Finding, RuleId, Severity};

/// `sip.malformed`: one finding per malformed message, up to a bound.
#[derive(Debug)]
pub struct MalformedRule {
    max: usize,
    findings: Vec<Finding>,
}

impl MalformedRule {
    /// Keeps at most `max` findings (the engine's `Limits::max_malformed_findings`); the
    /// others are counted in `EngineStats::malformed_findings_dropped`.
    pub fn new(max: usize) -> Self {
        MalformedRule {
            max,
            findings: Vec::new(),
        }
    }
}

impl Rule for MalformedRule {
    fn name(&self) -> &'static str {
        "sip.malformed"
    }

    fn on_malformed(&mut self, m: &Malformed<'_>, stats: &mut EngineStats) {
        if self.findings.len() >= self.max {
            stats.malformed_findings_dropped += 1;
            return;
        }
        let s = m.seen;
        self.findings.push(
            Finding::new(RuleId::SIP_MALFORMED, Severity::Low, s.ts)
                .call_opt(m.call_id.map(|c| String::from_utf8_lossy(c).into_owned()))
                .flow(s.src, s.dst)
                .summary(format!(
                    "malformed SIP message in frame {}: {}",
                    s.frame, m.reason
                ))
                .evidence(vec![s.frame])
                .advice(
                    "Check the sending implementation against RFC 3261 §7 and §20; \
                     strict peers answer such messages with 400 Bad Request or drop them.",
                ),
        );
    }

    fn finish(&self, _an: &Analyzer, out: &mut Vec<Finding>) {
        out.extend(self.findings.iter().cloned());
    }
}

/// `sip.retransmission`: one finding per dialog whose messages were sent again.
#[derive(Debug, Default)]
pub struct RetransmissionRule;

impl RetransmissionRule {
    fn conclude(d: &Dialog, an: &Analyzer, out: &mut Vec<Finding>) {
        if d.retransmissions == 0 {
            return;
        }
        let what = d
            .retransmitted()
            .iter()
            .map(|(l, n)| format!("{} ×{n}", an.name(*l)))
            .collect::<Vec<_>>()
            .join(", ");
        let first = d.retransmission_frames().first().copied().unwrap_or(0);
        let rec = d.messages.iter().find(|m| m.frame == first);
        out.push(
            Finding::new(
                RuleId::SIP_RETRANSMISSION,
                Severity::Info,
                rec.map(|m| m.ts).unwrap_or(d.start),
            )
            .call(d.call_id.clone())
            .flow_opt(rec.map(|m| d.src_of(m)), rec.map(|m| d.dst_of(m)))
            .summary(format!(
                "{} retransmission(s) in {} dialog: {what}",
                d.retransmissions,
                an.name(d.method)
            ))
            .evidence(d.retransmission_frames().to_vec())
            .advice(
                "Retransmissions mean a message or its answer was lost or late \
                 (RFC 3261 §17 timers): check packet loss, firewalls and NAT bindings \
                 on the path, or a peer that is slow to answer.",
            ),
        );
    }
}

impl Rule for RetransmissionRule {
    fn name(&self) -> &'static str {
        "sip.retransmission"
    }

    fn on_dialog_evicted(&mut self, d: &Dialog, an: &Analyzer, out: &mut Vec<Finding>) {
        Self::conclude(d, an, out);
    }

    fn finish(&self, an: &Analyzer, out: &mut Vec<Finding>) {
        crate::engine::conclude_every_dialog(self, an, out);
    }

    fn conclude_dialogs<'a>(
        &self,
        an: &'a Analyzer,
        dialogs: &mut dyn Iterator<Item = &'a Dialog>,
        each: &mut dyn FnMut(u64, &mut Vec<Finding>),
    ) -> bool {
        let mut v = Vec::new();
        for d in dialogs {
            Self::conclude(d, an, &mut v);
            each(d.id, &mut v);
        }
        true
    }
}
