//! `media.quality`: a speech stream whose estimated MOS (ITU-T G.107 E-model, see
//! [`crate::media::quality`]) is below the configured threshold, with the impairment
//! that weighs most.
//!
//! The rule keeps no state: streams outlive their dialogs in the engine, so concluding
//! over the streams still held at [`Rule::finish`] loses nothing to dialog eviction (a
//! stream evicted by the stream limit is counted in `summary.evictions.streams`).

use crate::config::{Config, DEFAULT_MOS_THRESHOLD};
use crate::engine::{Analyzer, RtpStream, Rule};
use crate::media::quality::{ie_eff, Score};
use crate::model::{Finding, RuleId, Severity};

/// `media.quality`: estimated MOS below the threshold.
pub const QUALITY: RuleId = RuleId("media.quality");

/// MOS below which the finding is high rather than medium: R = 50, the bottom of
/// G.109's "poor" category ("nearly all users dissatisfied").
const POOR_MOS: f64 = 2.58;

/// The impairment that costs a stream most R points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Random network loss.
    Loss,
    /// Loss in bursts (the Gilbert burst ratio above 1).
    BurstLoss,
    /// Packets the jitter buffer discarded for arriving late.
    Jitter,
    /// Mouth-to-ear delay.
    Delay,
    /// The codec itself (its Ie).
    Codec,
}

impl Cause {
    /// The word used in the finding.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Loss => "loss",
            Cause::BurstLoss => "burst loss",
            Cause::Jitter => "jitter (jitter-buffer loss)",
            Cause::Delay => "delay",
            Cause::Codec => "codec",
        }
    }
}

/// Loss whose burst ratio reaches this is called burst loss (the Gilbert model's mean
/// loss run is then clearly longer than random loss at the same rate would give).
const BURSTY: f64 = 1.5;

/// Splits the R points a stream lost among the causes and returns the largest. The
/// loss term Ie,eff − Ie is split between network loss and jitter-buffer discards in
/// proportion to their counts; network loss is called burst loss when its burst ratio
/// is at least 1.5 or when the burst excess (Ie,eff at the measured BurstR minus at
/// BurstR = 1) is most of the term.
pub fn main_cause(q: &Score, ie: f64, bpl: f64, lost: u32, late: u32) -> Cause {
    let loss_term = (q.ie_eff - ie).max(0.0);
    let burst = (q.ie_eff - ie_eff(ie, bpl, q.ppl, 1.0)).clamp(0.0, loss_term);
    let late_share = if lost > 0 {
        f64::from(late.min(lost)) / f64::from(lost)
    } else {
        0.0
    };
    let network = if q.burst_r >= BURSTY || burst * 2.0 > loss_term {
        Cause::BurstLoss
    } else {
        Cause::Loss
    };
    let candidates = [
        (network, loss_term * (1.0 - late_share)),
        (Cause::Jitter, loss_term * late_share),
        (Cause::Delay, q.id),
        (Cause::Codec, ie),
    ];
    candidates
        .iter()
        .fold((Cause::Codec, f64::MIN), |best, (c, v)| {
            if *v > best.1 {
                (*c, *v)
            } else {
                best
            }
        })
        .0
}

/// The `media.quality` rule.
#[derive(Debug, Clone)]
pub struct QualityRule {
    threshold: f64,
    min_packets: u64,
}

impl Default for QualityRule {
    fn default() -> Self {
        QualityRule {
            threshold: DEFAULT_MOS_THRESHOLD,
            min_packets: crate::config::QualityConfig::default().min_packets,
        }
    }
}

impl QualityRule {
    fn conclude(&self, an: &Analyzer, s: &RtpStream, out: &mut Vec<Finding>) {
        if s.stats.packets() < self.min_packets {
            return;
        }
        let Some((codec, rtt)) = an.quality_inputs(s) else {
            return;
        };
        let qt = s.stats.quality();
        let totals = qt.totals();
        let q = crate::media::quality::score(&totals, &codec, rtt);
        if q.mos >= self.threshold {
            return;
        }
        let cause = main_cause(&q, codec.ie, codec.bpl, totals.lost, totals.late);
        let worst = qt
            .intervals()
            .map(|i| {
                (
                    i.start_s,
                    crate::media::quality::score(&i.counts, &codec, rtt).mos,
                )
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let name = s.codec.map_or("?", |c| an.name(c));
        let severity = if q.mos < POOR_MOS {
            Severity::High
        } else {
            Severity::Medium
        };
        let ts = s.stats.first_seen().unwrap_or_default();
        let mut f = Finding::new(QUALITY, severity, ts)
            .flow(s.src, s.dst)
            .summary(format!(
                "estimated MOS {:.2} (R {:.1}) below {:.2} on {}→{} {name}: main cause {}; \
                 loss {:.2}% ({} of {} expected, {} of them late for a 50 ms jitter \
                 buffer), burst ratio {:.2}, jitter {:.1} ms, one-way delay {:.0} ms{}{}",
                q.mos,
                q.r,
                self.threshold,
                s.src,
                s.dst,
                cause.as_str(),
                q.ppl,
                totals.lost,
                totals.expected,
                totals.late,
                q.burst_r,
                s.stats.jitter_ms(s.clock_rate),
                q.delay_ms,
                if rtt.is_some() {
                    " (RTCP round trip)"
                } else {
                    " (assumed: no RTCP round trip)"
                },
                worst
                    .map(|(t, m)| format!("; worst 5 s from +{t} s: MOS {m:.2}"))
                    .unwrap_or_default(),
            ))
            .evidence(vec![s.first_frame])
            .advice(match cause {
                Cause::Loss | Cause::BurstLoss => {
                    "Packets are lost on the way: check the links and queues on the media \
                     path (interface errors, congestion, Wi-Fi), mark RTP with DSCP EF and \
                     give it priority; bursts point to congestion or route flaps."
                }
                Cause::Jitter => {
                    "Packets arrive too unevenly for the jitter buffer: prioritise RTP \
                     (DSCP EF, QoS queues), find the congested hop, or enlarge or make \
                     adaptive the endpoints' jitter buffer."
                }
                Cause::Delay => {
                    "The mouth-to-ear delay is high: shorten the media path (media relays, \
                     transcoders, far-away SBCs), reduce buffering (ITU-T G.114: keep \
                     one-way delay under 150 ms)."
                }
                Cause::Codec => {
                    "The codec limits the quality: prefer G.711 or a wideband codec \
                     (G.722, Opus) where bandwidth allows."
                }
            });
        if let Some(c) = &s.call_id {
            f = f.call(c.clone());
        }
        out.push(f);
    }
}

impl Rule for QualityRule {
    fn name(&self) -> &'static str {
        "media.quality"
    }

    fn configure(&mut self, config: &Config) {
        self.threshold = config.quality.mos_threshold;
        self.min_packets = config.quality.min_packets;
    }

    fn finish(&self, an: &Analyzer, out: &mut Vec<Finding>) {
        for s in an.streams() {
            self.conclude(an, s, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::quality::{codec_impairment, score, LossCounts};

    fn counts(expected: u32, lost: u32, late: u32, bursty: bool) -> LossCounts {
        let (rl, lr, ll) = if bursty {
            (lost / 5, lost / 5, lost - lost / 5)
        } else {
            (lost, lost, 0)
        };
        LossCounts {
            expected,
            lost,
            late,
            rr: expected - lost - rl,
            rl,
            lr,
            ll,
        }
    }

    #[test]
    fn causes() {
        let g711 = codec_impairment("PCMU");
        let c = counts(1000, 150, 0, false);
        let q = score(&c, &g711, None);
        assert_eq!(main_cause(&q, 0.0, 25.1, 150, 0), Cause::Loss);
        let c = counts(1000, 150, 0, true);
        let q = score(&c, &g711, None);
        assert!(q.burst_r > 1.5, "{q:?}");
        assert_eq!(main_cause(&q, 0.0, 25.1, 150, 0), Cause::BurstLoss);
        let c = counts(1000, 150, 120, false);
        let q = score(&c, &g711, None);
        assert_eq!(main_cause(&q, 0.0, 25.1, 150, 120), Cause::Jitter);
        let q = score(&counts(1000, 0, 0, false), &g711, Some(800.0));
        assert_eq!(main_cause(&q, 0.0, 25.1, 0, 0), Cause::Delay);
        let gsm = codec_impairment("GSM");
        let q = score(&counts(1000, 0, 0, false), &gsm, None);
        assert_eq!(main_cause(&q, gsm.ie, gsm.bpl, 0, 0), Cause::Codec);
    }
}
