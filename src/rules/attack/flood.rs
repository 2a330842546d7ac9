//! `dos.flood`: one source sending requests above a rate.

use super::*;

impl Flood {
    pub(super) fn add(&mut self, ts: Timestamp, frame: u64, th: &Thresholds) {
        let bucket_ns = (th.flood_window / FLOOD_BUCKETS).max(1);
        let b = ts.0 / bucket_ns;
        if self.sum == 0 || b > self.head {
            // Clear the buckets that slid out of the window (all of them after a gap).
            let gap = if self.sum == 0 {
                FLOOD_BUCKETS
            } else {
                (b - self.head).min(FLOOD_BUCKETS)
            };
            for k in 1..=gap {
                let i = ((self.head + k) % FLOOD_BUCKETS) as usize;
                if let Some(c) = self.ring.get_mut(i) {
                    self.sum -= u64::from(*c);
                    *c = 0;
                }
            }
            self.head = b;
        } else if self.head - b >= FLOOD_BUCKETS {
            // Older than the window (out-of-order capture): not counted.
            return;
        }
        if let Some(c) = self.ring.get_mut((b % FLOOD_BUCKETS) as usize) {
            *c = c.saturating_add(1);
            self.sum += 1;
        }
        if self.sum >= th.flood_requests {
            self.start.get_or_insert(ts);
            self.last = self.last.max(ts);
            self.over += 1;
            if self.sum > self.peak {
                self.peak = self.sum;
                self.peak_ts = ts;
            }
            if self.frames.len() < MAX_EVIDENCE {
                self.frames.push(frame);
            }
        }
    }
}

/// `dos.flood`: the peak rate of one source, when it went over the threshold.
pub(super) fn flood(
    ip: IpAddr,
    s: &SourceState,
    th: &Thresholds,
    methods: &str,
    ua: &str,
) -> Option<(usize, Finding)> {
    let f = &s.flood;
    if let Some(start) = f.start {
        let targets = s.targets.len();
        return Some((
            usize::try_from(f.peak).unwrap_or(usize::MAX),
            Finding::new(DOS_FLOOD, Severity::Medium, start)
                .flow_opt(Some(s.first_src), s.targets.first().map(|t| t.addr))
                .summary(format!(
                "{ip} sent up to {} requests per {} ms (threshold {}) for {}: {} requests \
                 above the threshold, {} in all, methods {methods}, to {targets}{} destination(s){ua}",
                f.peak,
                th.flood_window / 1_000_000,
                th.flood_requests,
                secs(f.last.since(start)),
                f.over,
                s.requests,
                if targets >= MAX_TARGETS_PER_SOURCE { "+" } else { "" },
            ))
                .evidence(f.frames.clone())
                .advice("A request flood can exhaust a SIP server or hide an attack: rate-limit per \
                     source (Kamailio pike, Asterisk/fail2ban, SBC policies) and block the \
                     address if it is not a known trunk."),
        ));
    }
    None
}
