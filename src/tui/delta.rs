//! The live dashboard's updates: what changed since the last tick, not a new snapshot.
//!
//! On the analysis thread a [`LiveFeed`] turns the engine's change record
//! ([`crate::engine::Analyzer::take_changes`]) into a [`Delta`]: the rows of the dialogs
//! that were created or updated, the ids of those evicted, and (only when they moved) the
//! streams, findings, header line and counters. On the dashboard's thread
//! [`Delta::apply_to`] patches the dashboard's own [`Snapshot`]. Nothing changed, nothing
//! is built, sent or redrawn: an idle dashboard over 100k dialogs costs no CPU, where a
//! full rebuild every tick used to keep a core busy. Message bytes are shared with the
//! engine (`Arc`), not copied.
//!
//! Findings are the one part still computed over the whole engine (many rules are
//! cross-dialog); the feed recomputes them only after a change, and paces itself so that
//! computing them takes at most a small share of the analysis thread
//! ([`LiveFeed::with_findings_pacing`]).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use super::snapshot::{
    call_row, stats_sections, stream_row, summary_line, CallRow, FindingRow, Names, Snapshot,
    StatSection, StreamRow, Totals,
};
use crate::engine::{Analyzer, Finding};
use crate::report::{dialog_dto, stream_dto, SeverityCounts};

/// Default findings pacing: after a recomputation that took `t`, the next waits `20 × t`
/// (at most 5 % of the analysis thread on findings, whatever the number of dialogs).
pub const DEFAULT_FINDINGS_PACING: u32 = 20;

/// What changed in the dashboard's model since the previous delta.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// `calls` holds every call: replace the whole list (the first delta, or after the
    /// engine lost track of its evictions).
    pub full: bool,
    /// New or updated calls, by ascending [`CallRow::id`]. Their `index`, `badge`,
    /// `findings` and `streams` are set when applied.
    pub calls: Vec<CallRow>,
    /// Ids of evicted calls.
    pub evicted: Vec<u64>,
    /// Every stream, when any moved; each with the [`CallRow::id`] of its call.
    pub streams: Option<Vec<(StreamRow, Option<u64>)>>,
    /// Every finding, when they changed; each with the [`CallRow::id`] of its call.
    pub findings: Option<Vec<(FindingRow, Option<u64>)>>,
    /// The header line, when it changed.
    pub summary: Option<String>,
    /// The stats view, when it changed.
    pub stats: Option<Vec<StatSection>>,
}

impl Delta {
    /// True when the call list, streams or findings change (the list must be filtered
    /// and sorted again); false when only the header and counters do.
    pub fn touches_rows(&self) -> bool {
        self.full
            || !self.calls.is_empty()
            || !self.evicted.is_empty()
            || self.streams.is_some()
            || self.findings.is_some()
    }

    /// True when applying it changes nothing.
    pub fn is_empty(&self) -> bool {
        !self.touches_rows() && self.summary.is_none() && self.stats.is_none()
    }

    /// Folds a later delta into this one, as if both had been applied in turn (the
    /// dashboard keeps the deltas it receives while paused, and the feed those the
    /// dashboard was too busy to take).
    pub fn merge(&mut self, newer: Delta) {
        if newer.full {
            *self = newer;
            return;
        }
        if !newer.evicted.is_empty() {
            let gone: FxHashSet<u64> = newer.evicted.iter().copied().collect();
            self.calls.retain(|c| !gone.contains(&c.id));
            if !self.full {
                self.evicted.extend(newer.evicted);
            }
        }
        for row in newer.calls {
            upsert(&mut self.calls, row);
        }
        if newer.streams.is_some() {
            self.streams = newer.streams;
        }
        if newer.findings.is_some() {
            self.findings = newer.findings;
        }
        if newer.summary.is_some() {
            self.summary = newer.summary;
        }
        if newer.stats.is_some() {
            self.stats = newer.stats;
        }
    }

    /// Applies it to `snap`; `links` keeps the call ids of `snap`'s findings and streams
    /// between deltas (positions move when calls are evicted). Says which calls changed,
    /// so that what the dashboard derives from them is redone for those only.
    pub fn apply_to(self, snap: &mut Snapshot, links: &mut LiveLinks) -> Applied {
        let mut applied = Applied::default();
        let mut relink = self.full
            || !self.evicted.is_empty()
            || self.findings.is_some()
            || self.streams.is_some();
        let mut renumber = self.full || !self.evicted.is_empty();
        if self.full {
            snap.calls = self.calls;
        } else {
            if !self.evicted.is_empty() {
                let gone: FxHashSet<u64> = self.evicted.iter().copied().collect();
                snap.calls.retain(|c| !gone.contains(&c.id));
            }
            for mut row in self.calls {
                let pos = snap.calls.binary_search_by_key(&row.id, |c| c.id);
                match pos {
                    Ok(p) => {
                        // Links unchanged unless the findings or streams are replaced
                        // below (which relinks every call).
                        let old = &mut snap.calls[p];
                        set_index(&mut row, old.index);
                        row.badge = old.badge;
                        row.findings = std::mem::take(&mut old.findings);
                        row.streams = std::mem::take(&mut old.streams);
                        *old = row;
                        applied.changed.push(p);
                    }
                    Err(p) if p == snap.calls.len() => {
                        set_index(&mut row, p + 1);
                        snap.calls.push(row);
                        applied.changed.push(p);
                    }
                    Err(p) => {
                        snap.calls.insert(p, row);
                        relink = true;
                        renumber = true;
                    }
                }
            }
        }
        if renumber {
            for (i, c) in snap.calls.iter_mut().enumerate() {
                set_index(c, i + 1);
            }
        }
        if let Some(f) = self.findings {
            let (rows, ids) = f.into_iter().unzip();
            snap.findings = rows;
            links.findings = ids;
        }
        if let Some(s) = self.streams {
            let (rows, ids) = s.into_iter().unzip();
            snap.streams = rows;
            links.streams = ids;
        }
        if relink {
            links.relink(snap);
        }
        if let Some(s) = self.summary {
            snap.summary = s;
        }
        if let Some(s) = self.stats {
            snap.stats = s;
        }
        applied.moved = renumber;
        applied
    }
}

/// What [`Delta::apply_to`] did to the calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Calls moved (evicted, inserted before others, or all replaced): positions taken
    /// before are void.
    pub moved: bool,
    /// Otherwise, the positions of the calls updated or appended.
    pub changed: Vec<usize>,
}

/// Numbers a call: its 1-based position, which its NAT section's first line repeats
/// (`#3 INVITE ...`, see [`crate::report::text::nat_section`]).
fn set_index(row: &mut CallRow, index: usize) {
    if row.index == index {
        return;
    }
    row.index = index;
    if let Some(nat) = row.nat.as_mut() {
        if let Some(rest) = nat.strip_prefix('#').and_then(|r| r.split_once(' ')) {
            *nat = format!("#{index} {}", rest.1);
        }
    }
}

/// Inserts or replaces `row` in `rows`, kept in ascending id order.
fn upsert(rows: &mut Vec<CallRow>, row: CallRow) {
    match rows.last() {
        Some(last) if last.id >= row.id => match rows.binary_search_by_key(&row.id, |c| c.id) {
            Ok(p) => rows[p] = row,
            Err(p) => rows.insert(p, row),
        },
        _ => rows.push(row),
    }
}

/// The call ids of a live snapshot's findings and streams, in their order: the rows
/// themselves hold positions in [`Snapshot::calls`], which evictions shift.
#[derive(Debug, Clone, Default)]
pub struct LiveLinks {
    findings: Vec<Option<u64>>,
    streams: Vec<Option<u64>>,
}

impl LiveLinks {
    /// Recomputes the positions in `snap` of every finding's and stream's call, and each
    /// call's badge, findings and streams (as [`Snapshot::build`] sets them).
    fn relink(&self, snap: &mut Snapshot) {
        for c in &mut snap.calls {
            c.badge = None;
            c.findings.clear();
            c.streams.clear();
        }
        let calls = &mut snap.calls;
        let pos = |calls: &[CallRow], id: Option<u64>| {
            id.and_then(|id| calls.binary_search_by_key(&id, |c| c.id).ok())
        };
        for (fi, (f, &id)) in snap.findings.iter_mut().zip(&self.findings).enumerate() {
            f.call = pos(calls, id);
            if let Some(c) = f.call.and_then(|p| calls.get_mut(p)) {
                let b = c.badge.get_or_insert((f.severity, 0));
                b.0 = b.0.max(f.severity);
                b.1 += 1;
                c.findings.push(fi);
            }
        }
        for (si, (s, &id)) in snap.streams.iter_mut().zip(&self.streams).enumerate() {
            s.call = pos(calls, id);
            if let Some(c) = s.call.and_then(|p| calls.get_mut(p)) {
                c.streams.push(si);
            }
        }
    }
}

/// A stream's identity across ticks.
type StreamKey = (u32, SocketAddr, SocketAddr);

/// The analysis thread's side: turns the engine's changes into deltas, tick after tick.
#[derive(Debug)]
pub struct LiveFeed {
    started: bool,
    pacing: u32,
    findings_pending: bool,
    findings_due: Option<Instant>,
    findings_hash: Option<u64>,
    severities: SeverityCounts,
    streams_shown: u64,
    stream_packets: FxHashMap<StreamKey, u64>,
    capture: Vec<crate::capture::CaptureStats>,
    rtp_seen: bool,
    totals: Option<(u64, u64, BTreeMap<&'static str, u64>)>,
    names: Names,
    rebuilds: u64,
    full_rebuilds: u64,
}

impl Default for LiveFeed {
    fn default() -> Self {
        LiveFeed::new()
    }
}

impl LiveFeed {
    /// A feed whose first delta is the whole model.
    pub fn new() -> LiveFeed {
        LiveFeed {
            started: false,
            pacing: DEFAULT_FINDINGS_PACING,
            findings_pending: false,
            findings_due: None,
            findings_hash: None,
            severities: SeverityCounts::default(),
            streams_shown: 0,
            stream_packets: FxHashMap::default(),
            capture: Vec::new(),
            rtp_seen: false,
            totals: None,
            names: Names::default(),
            rebuilds: 0,
            full_rebuilds: 0,
        }
    }

    /// After computing the findings took `t`, wait `factor × t` before the next time
    /// (0: recompute them on every tick that follows a change, as tests want).
    pub fn with_findings_pacing(mut self, factor: u32) -> LiveFeed {
        self.pacing = factor;
        self
    }

    /// Ticks that built something (a delta, even a small one).
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds
    }

    /// Ticks that rebuilt every call.
    pub fn full_rebuilds(&self) -> u64 {
        self.full_rebuilds
    }

    /// The changes since the previous tick, None when nothing changed. `an` must track
    /// its changes ([`Analyzer::track_changes`]) and nobody else may take them.
    pub fn tick(&mut self, an: &Analyzer) -> Option<Delta> {
        self.tick_at(an, Instant::now())
    }

    fn tick_at(&mut self, an: &Analyzer, now: Instant) -> Option<Delta> {
        let changes = an.take_changes();
        let capture_moved = an.capture_stats() != self.capture.as_slice();
        let findings_ready =
            self.findings_pending && self.findings_due.is_none_or(|due| now >= due);
        if self.started && changes.is_empty() && !capture_moved && !findings_ready {
            return None;
        }
        self.rebuilds += 1;
        if capture_moved {
            self.capture = an.capture_stats().to_vec();
        }
        let rtp_seen = an.stats().rtp_packets > 0;
        // The first RTP packet changes every call's NAT verdict (media seen or not).
        let full = !self.started || changes.overflowed || rtp_seen != self.rtp_seen;
        self.started = true;
        self.rtp_seen = rtp_seen;
        let mut delta = Delta {
            full,
            evicted: changes.evicted,
            ..Delta::default()
        };
        let mut dirty: Vec<u64> = changes.dialogs.into_iter().collect();
        if full || changes.media {
            let (rows, moved) = self.streams(an);
            dirty.extend(moved);
            delta.streams = Some(rows);
        }
        if !full && !changes.keepalives.is_empty() {
            // A keepalive moves the NAT view (its count) of the dialogs with a party at
            // that address; one pass over the dialogs, only in ticks that saw keepalives.
            dirty.extend(
                an.dialogs()
                    .filter(|d| {
                        d.nat
                            .parties
                            .iter()
                            .any(|p| changes.keepalives.contains(&p.source.get()))
                    })
                    .map(|d| d.id),
            );
        }
        if full {
            self.full_rebuilds += 1;
            dirty = an.dialogs().map(|d| d.id).collect();
        }
        dirty.sort_unstable();
        dirty.dedup();
        if !dirty.is_empty() {
            let ix = an.nat_flow_index();
            delta.calls = dirty
                .iter()
                .filter_map(|&id| an.dialog(id))
                .map(|d| call_row(an, &dialog_dto(an, d, 0, &ix), d, &mut self.names))
                .collect();
        }
        let calls_moved = full || changes.frames > 0 || !delta.evicted.is_empty();
        if calls_moved {
            self.findings_pending = true;
        }
        if self.findings_pending && (full || self.findings_due.is_none_or(|due| now >= due)) {
            let started = Instant::now();
            let findings = an.findings();
            let hash = findings_hash(&findings);
            if full || self.findings_hash != Some(hash) {
                self.findings_hash = Some(hash);
                self.severities = SeverityCounts::default();
                for f in &findings {
                    self.severities.add(f.severity);
                }
                delta.findings = Some(finding_rows(an, findings));
            }
            self.findings_pending = false;
            // At least a millisecond a time: pacing stays a pacing on a fast machine.
            let cost = started.elapsed().max(std::time::Duration::from_millis(1));
            self.findings_due = Some(now + cost * self.pacing);
        }
        if calls_moved || self.totals.is_none() {
            let mut states: BTreeMap<&'static str, u64> = BTreeMap::new();
            let mut calls = 0;
            for d in an.dialogs() {
                *states.entry(d.state.as_str()).or_insert(0) += 1;
                calls += u64::from(d.invite_seen);
            }
            self.totals = Some((an.dialog_count() as u64, calls, states));
        }
        if let Some((dialogs, calls, states)) = &self.totals {
            let totals = Totals {
                dialogs: *dialogs,
                calls: *calls,
                rtp_streams: self.streams_shown,
                findings_by_severity: self.severities,
                states: states.clone(),
            };
            delta.summary = Some(summary_line(an, &totals));
            delta.stats = Some(stats_sections(an, &totals));
        }
        Some(delta)
    }

    /// Every stream's row with its call id, and the calls whose streams moved since the
    /// last time (their NAT view depends on them).
    fn streams(&mut self, an: &Analyzer) -> (Vec<(StreamRow, Option<u64>)>, Vec<u64>) {
        let streams = an.streams();
        let mut moved = Vec::new();
        let mut seen: FxHashMap<StreamKey, u64> = FxHashMap::default();
        let rows = streams
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let packets = s.stats.packets();
                let key = (s.ssrc, s.src, s.dst);
                if self.stream_packets.get(&key) != Some(&packets) {
                    moved.extend(s.dialog);
                }
                seen.insert(key, packets);
                // By Call-ID, as the report links them: a stream outlives its dialog's
                // eviction, and a later dialog may take the Call-ID up again.
                let call = s.call_id.as_deref().and_then(|c| an.dialog_id(c));
                (stream_row(&stream_dto(an, i + 1, s), None), call)
            })
            .collect();
        self.streams_shown = streams.len() as u64;
        self.stream_packets = seen;
        (rows, moved)
    }
}

/// A fingerprint of the findings list: unchanged findings are not sent again.
fn findings_hash(findings: &[Finding]) -> u64 {
    let mut h = FxHasher::default();
    for f in findings {
        f.rule.hash(&mut h);
        f.severity.hash(&mut h);
        f.ts.0.hash(&mut h);
        f.call_id.hash(&mut h);
        f.summary.hash(&mut h);
        f.evidence.hash(&mut h);
    }
    findings.len().hash(&mut h);
    h.finish()
}

fn finding_rows(an: &Analyzer, findings: Vec<Finding>) -> Vec<(FindingRow, Option<u64>)> {
    findings
        .into_iter()
        .map(|f| {
            let id = f.call_id.as_deref().and_then(|c| an.dialog_id(c));
            let row = FindingRow {
                severity: f.severity,
                rule: f.rule.as_str(),
                summary: f.summary,
                call: None,
                frame: f.evidence.first().copied(),
            };
            (row, id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{self, FrameSource};
    use crate::engine::Limits;
    use std::path::Path;
    use std::time::Duration;

    fn source(name: &str) -> capture::FileSource {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name);
        capture::open_path(&path).expect("sample opens")
    }

    fn debug(s: &Snapshot) -> String {
        format!("{s:#?}")
    }

    /// Fails on the first line where the two snapshots differ (the whole text of a
    /// snapshot with its raw bytes is too long to read).
    fn same(got: &Snapshot, want: &Snapshot, what: &str) {
        let (g, w) = (debug(got), debug(want));
        for (i, (a, b)) in g.lines().zip(w.lines()).enumerate() {
            assert_eq!(a, b, "{what}: line {i}");
        }
        assert_eq!(g.lines().count(), w.lines().count(), "{what}");
    }

    /// Feeds `name` a few frames at a time, applying each tick's delta to a dashboard
    /// snapshot, and checks after every tick that it equals a full build of the engine.
    /// Returns the engine, the feed and the dashboard's snapshot.
    fn replay(name: &str, limits: Limits, every: usize) -> (Analyzer, LiveFeed, Snapshot) {
        let mut an = crate::rules::analyzer(limits);
        an.track_changes(true);
        let mut feed = LiveFeed::new().with_findings_pacing(0);
        let mut snap = Snapshot::default();
        let mut links = LiveLinks::default();
        let mut src = source(name);
        let mut n = 0;
        loop {
            let frame = src.next_frame().expect("sample reads");
            if let Some(f) = &frame {
                an.process(f);
                n += 1;
            }
            if frame.is_none() || n % every == 0 {
                if let Some(d) = feed.tick(&an) {
                    d.apply_to(&mut snap, &mut links);
                }
                same(
                    &snap,
                    &Snapshot::build(&an),
                    &format!("{name}: after frame {n}"),
                );
            }
            if frame.is_none() {
                return (an, feed, snap);
            }
        }
    }

    #[test]
    fn deltas_applied_in_turn_equal_a_full_build() {
        for name in [
            "kamailio-auth.pcap",
            "basic-call-rtp.pcap",
            "nat-one-way-wan.pcap",
            "tls-srtp-call.pcap",
            "sipvicious-attack.pcap",
            "options-keepalive.pcap",
            "nat-register-expiry-wan.pcap",
            "nat-latching-wan.pcap",
            "toll-fraud-flood.pcap",
        ] {
            // A full build per frame is slow on the larger sample.
            let ticks: &[usize] = if name.starts_with("toll") {
                &[50]
            } else {
                &[1, 7]
            };
            for &every in ticks {
                let (an, _, snap) = replay(name, Limits::default(), every);
                assert_eq!(snap.calls.len(), an.dialog_count(), "{name}");
            }
        }
    }

    #[test]
    fn eviction_removes_calls_from_the_dashboard() {
        let limits = Limits {
            max_dialogs: 3,
            ..Limits::default()
        };
        let (an, _, snap) = replay("sipvicious-attack.pcap", limits, 5);
        assert!(an.stats().dialog_evictions > 0, "the sample must evict");
        assert_eq!(snap.calls.len(), an.dialog_count());
        let kept: Vec<u64> = an.dialogs().map(|d| d.id).collect();
        let shown: Vec<u64> = snap.calls.iter().map(|c| c.id).collect();
        assert_eq!(shown, kept);
        let numbers: Vec<usize> = snap.calls.iter().map(|c| c.index).collect();
        assert_eq!(numbers, (1..=kept.len()).collect::<Vec<_>>());
    }

    #[test]
    fn an_idle_tick_builds_nothing() {
        let (an, mut feed, _) = replay("kamailio-auth.pcap", Limits::default(), 3);
        let (rebuilds, full) = (feed.rebuilds(), feed.full_rebuilds());
        assert!(rebuilds > full, "later ticks were incremental");
        for _ in 0..3 {
            assert!(feed.tick(&an).is_none(), "nothing changed, nothing sent");
        }
        assert_eq!(feed.rebuilds(), rebuilds, "no rebuild when idle");
        assert_eq!(feed.full_rebuilds(), full);
    }

    #[test]
    fn paced_findings_follow_once_due() {
        let mut an = crate::rules::analyzer(Limits::default());
        an.track_changes(true);
        // A pacing so long that only the first tick computes findings in time.
        let mut feed = LiveFeed::new().with_findings_pacing(1_000_000);
        let mut snap = Snapshot::default();
        let mut links = LiveLinks::default();
        assert!(
            feed.tick(&an).is_some(),
            "the first delta is the whole model"
        );
        // No RTP in it: the first RTP packet would rebuild everything, findings included.
        an.run_source(&mut source("invite-407.pcap"), &mut |_, _| {});
        let d = feed.tick(&an).expect("calls changed");
        assert!(d.findings.is_none(), "findings wait for their turn");
        d.apply_to(&mut snap, &mut links);
        assert!(snap.findings.is_empty());
        let later = Instant::now() + Duration::from_secs(100_000_000);
        let d = feed.tick_at(&an, later).expect("findings are due");
        assert!(d.findings.is_some());
        d.apply_to(&mut snap, &mut links);
        assert!(!snap.findings.is_empty());
        same(&snap, &Snapshot::build(&an), "after the findings");
        assert!(feed.tick_at(&an, later).is_none());
    }

    #[test]
    fn merged_deltas_apply_as_the_sequence() {
        let mut an = crate::rules::analyzer(Limits {
            max_dialogs: 4,
            ..Limits::default()
        });
        an.track_changes(true);
        let mut feed = LiveFeed::new().with_findings_pacing(0);
        let mut src = source("sipvicious-attack.pcap");
        let mut merged: Option<Delta> = None;
        let (mut one, mut one_links) = (Snapshot::default(), LiveLinks::default());
        while let Some(f) = src.next_frame().expect("sample reads") {
            an.process(&f);
            if f.number % 4 == 0 {
                if let Some(d) = feed.tick(&an) {
                    d.clone().apply_to(&mut one, &mut one_links);
                    match merged.as_mut() {
                        Some(m) => m.merge(d),
                        None => merged = Some(d),
                    }
                }
            }
        }
        if let Some(d) = feed.tick(&an) {
            d.clone().apply_to(&mut one, &mut one_links);
            if let Some(m) = merged.as_mut() {
                m.merge(d);
            }
        }
        let (mut all, mut all_links) = (Snapshot::default(), LiveLinks::default());
        merged.expect("deltas").apply_to(&mut all, &mut all_links);
        same(&all, &one, "merged against one by one");
        same(&all, &Snapshot::build(&an), "merged against a full build");
    }

    /// A UDP frame from 192.0.2.1:5060 (a UA behind NAT, as the proxy sees it) to the
    /// proxy at 198.51.100.2:5060.
    fn ua_frame(number: u64, payload: &[u8]) -> crate::capture::Frame {
        let builder = etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
            .ipv4([192, 0, 2, 1], [198, 51, 100, 2], 64)
            .udp(5060, 5060);
        let mut data = Vec::new();
        builder.write(&mut data, payload).expect("frame builds");
        crate::capture::Frame {
            number,
            ts: crate::capture::Timestamp(1_700_000_000_000_000_000 + number * 1_000_000_000),
            link_type: crate::capture::LinkType::ETHERNET,
            orig_len: data.len() as u32,
            data,
            interface: 0,
        }
    }

    /// A CRLF keepalive changes the NAT view of the registration it keeps open (its
    /// keepalive count): the dashboard row must follow although no SIP message touched
    /// the dialog (it used to stay stale until the dialog's next message).
    #[test]
    fn keepalives_refresh_the_nat_view_of_their_party() {
        let mut an = crate::rules::analyzer(Limits::default());
        an.track_changes(true);
        let mut feed = LiveFeed::new().with_findings_pacing(0);
        let mut snap = Snapshot::default();
        let mut links = LiveLinks::default();
        let register = b"REGISTER sip:198.51.100.2 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKka1\r\n\
From: <sip:alice@198.51.100.2>;tag=ka1\r\n\
To: <sip:alice@198.51.100.2>\r\n\
Call-ID: keepalive-refresh@10.0.0.5\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:alice@10.0.0.5:5060>\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n";
        an.process(&ua_frame(1, register));
        feed.tick(&an)
            .expect("the first delta")
            .apply_to(&mut snap, &mut links);
        same(&snap, &Snapshot::build(&an), "after the REGISTER");
        for n in 2..5 {
            an.process(&ua_frame(n, b"\r\n\r\n"));
            if let Some(d) = feed.tick(&an) {
                d.apply_to(&mut snap, &mut links);
            }
            same(
                &snap,
                &Snapshot::build(&an),
                &format!("after keepalive {n}"),
            );
        }
        assert_eq!(
            an.nat_keepalives()
                .count("192.0.2.1:5060".parse().expect("addr")),
            3
        );
    }
}
