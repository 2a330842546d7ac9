//! `media.dtmf-exposed`: DTMF digits a call carried where a passive observer reads them.
//!
//! Digits keyed in during a call are often secrets: voicemail and conference PINs, card
//! numbers read to an IVR. RFC 4733 §6 says telephone-events reveal them to anyone who
//! sees the RTP unless it is SRTP (RFC 3711); digits in SIP INFO bodies or KPML reports
//! (RFC 4730 §9) are as readable as the SIP that carries them. The engine records every
//! digit in its dialog ([`Dialog::dtmf`], bounded by `Limits::max_dtmf_per_dialog`); this
//! rule says, per dialog, how many went over cleartext RTP or SIP. SRTP payloads are
//! never decoded (the engine cannot read them), and SIP read from TLS or WSS with keys
//! was encrypted on the wire, so neither counts.

use crate::engine::{Analyzer, Dialog, Rule};
use crate::model::{DtmfEvent, DtmfVia, Finding, RuleId, Severity};

use super::media::is_cleartext;

/// DTMF digits sent over cleartext RTP (RFC 4733) or cleartext SIP (INFO, KPML).
pub const DTMF_EXPOSED: RuleId = RuleId("media.dtmf-exposed");

/// What a masked digit shows without `--show-secrets`.
pub const MASK: &str = "•";

/// One `media.dtmf-exposed` finding per dialog that sent digits in the clear; keeps no
/// state of its own (the dialog holds the bounded digit list).
#[derive(Debug, Default)]
pub struct DtmfRule;

/// True when `e` could be read by whoever captured its packet.
pub fn is_exposed(e: &DtmfEvent) -> bool {
    // RTP events are decoded only from cleartext streams; SIP depends on its hop.
    e.via == DtmfVia::Rfc4733 || is_cleartext(e.transport)
}

/// The digits of `events` as text, each masked unless `show_secrets`.
pub fn digits_text<'e>(
    events: impl IntoIterator<Item = &'e DtmfEvent>,
    show_secrets: bool,
) -> String {
    events
        .into_iter()
        .map(|e| {
            if show_secrets {
                char::from(e.digit).to_string()
            } else {
                MASK.to_string()
            }
        })
        .collect()
}

/// The finding for one dialog, when it exposed digits. `show_secrets` puts the digits in
/// the summary (masked otherwise).
pub fn finding(d: &Dialog, show_secrets: bool) -> Option<Finding> {
    let exposed: Vec<&DtmfEvent> = d.dtmf().iter().filter(|e| is_exposed(e)).collect();
    let first = exposed.first()?;
    let mut means: Vec<&str> = Vec::new();
    for e in &exposed {
        let m = match e.via {
            DtmfVia::Rfc4733 => "RTP telephone-events (RFC 4733)",
            DtmfVia::Info => "SIP INFO",
            DtmfVia::Kpml => "KPML NOTIFY (RFC 4730)",
        };
        if !means.contains(&m) {
            means.push(m);
        }
    }
    let mut evidence: Vec<u64> = exposed.iter().map(|e| e.frame).collect();
    evidence.dedup();
    Some(
        Finding::new(DTMF_EXPOSED, Severity::Medium, first.ts)
            .call(d.call_id.as_str())
            .flow(first.src.get(), first.dst.get())
            .summary(format!(
                "{} DTMF digit(s) exposed over cleartext {}: {}{}",
                exposed.len(),
                means.join(" and "),
                digits_text(exposed.iter().copied(), show_secrets),
                if show_secrets {
                    ""
                } else {
                    " (digits hidden; --show-secrets prints them)"
                }
            ))
            .evidence(evidence)
            .advice(
                "Digits keyed in a call (PINs, card numbers) are readable by anyone on the \
                 path: protect the media with SRTP (RFC 3711, keyed by DTLS-SRTP, RFC 5763) \
                 and the signaling with TLS (RFC 3261 §26.2) so telephone-events (RFC 4733 \
                 §6) and INFO or KPML bodies (RFC 4730 §9) are encrypted.",
            ),
    )
}

impl Rule for DtmfRule {
    fn name(&self) -> &'static str {
        "media.dtmf-exposed"
    }

    fn on_dialog_evicted(&mut self, d: &Dialog, an: &Analyzer, out: &mut Vec<Finding>) {
        out.extend(finding(d, an.show_secrets()));
    }

    fn finish(&self, an: &Analyzer, out: &mut Vec<Finding>) {
        crate::engine::conclude_every_dialog(self, an, out);
    }

    fn conclude_dialogs<'a>(
        &self,
        an: &'a Analyzer,
        dialogs: &mut dyn Iterator<Item = &'a crate::engine::Dialog>,
        each: &mut dyn FnMut(u64, &mut Vec<Finding>),
    ) -> bool {
        let mut v = Vec::new();
        for d in dialogs {
            v.extend(finding(d, an.show_secrets()));
            each(d.id, &mut v);
        }
        true
    }
}
