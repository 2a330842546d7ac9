//! Headless event stream (`--format ndjson`): one JSON object per line for log pipelines.
//!
//! An [`EventTracker`] is handed the engine at each tick (every second of packet time for
//! files, so the stream of a file is deterministic; every second of wall time for live
//! capture) and returns what changed since the previous tick:
//!
//! - `dialog_started`: a dialog (Call-ID) appeared;
//! - `dialog_updated`: its state, message count or final status changed (at most once per
//!   dialog per tick);
//! - `dialog_ended`: it reached a terminal state (`reason: "terminal"`) or the engine evicted
//!   it while still open (`reason: "evicted"`); the tracker then forgets it;
//! - `finding`: each finding once, with the report's finding DTO. Findings about a dialog
//!   still open are held until it ends (or the stream ends): until then they may still
//!   change (a `media.no-rtp` that later RTP disproves, a retransmission count);
//! - `summary`: last line, the report's summary counters ([`EventTracker::finish`]).
//!
//! The tracker only reads the engine's public model: no engine state is duplicated beyond
//! one small record per open dialog (bounded by [`MAX_TRACKED_DIALOGS`]) and one key per
//! finding still present in the engine.

use std::net::SocketAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use serde::Serialize;

use super::{finding_dto, CaptureStats, FindingDto, Report, Summary};
use crate::capture::Timestamp;
use crate::engine::changes::Changes;
use crate::engine::{
    Analyzer, ConclusionCache, Dialog, DialogState, Finding, FindingsDelta, InputInfo,
};

/// Default tick: one second (of packet time for files, of wall time live).
pub const TICK_NS: u64 = 1_000_000_000;

/// Default of open dialogs tracked at once (`Limits::report.max_tracked_dialogs`, scaled
/// by `--max-memory`). The engine bounds its own dialogs (`Limits::max_dialogs`); this
/// only guards the tracker against a misconfigured engine. Dialogs past it get no
/// events and are counted in [`EventCounts::untracked`].
pub const MAX_TRACKED_DIALOGS: usize = 1 << 20;

/// One line of the stream.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StreamEvent<'a> {
    /// A new dialog.
    DialogStarted(DialogEvent),
    /// A dialog changed.
    DialogUpdated(DialogEvent),
    /// A dialog ended or was evicted.
    DialogEnded(DialogEvent),
    /// A finding, reported once.
    Finding(FindingDto),
    /// Final counters.
    Summary(Box<SummaryEvent<'a>>),
}

/// A dialog as the stream shows it at a tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DialogEvent {
    /// Tick time (seconds since the epoch): packet time for files, wall time live.
    pub ts: f64,
    /// Engine dialog id (unique within a run).
    pub id: u64,
    /// Call-ID.
    pub call_id: String,
    /// Initial method.
    pub method: String,
    /// From URI.
    pub from: String,
    /// To URI.
    pub to: String,
    /// State (`trying`, `in_call`, `completed`...).
    pub state: &'static str,
    /// Final status of the initial transaction.
    pub final_status: Option<u16>,
    /// Messages so far.
    pub messages: u64,
    /// Transport of the first message.
    pub transport: &'static str,
    /// Source of the first message.
    pub src: SocketAddr,
    /// Destination of the first message.
    pub dst: SocketAddr,
    /// First message (seconds since the epoch).
    pub start: f64,
    /// Last message.
    pub end: f64,
    /// `dialog_ended` only: `terminal` or `evicted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Events emitted so far, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    /// `dialog_started` lines.
    pub dialog_started: u64,
    /// `dialog_updated` lines.
    pub dialog_updated: u64,
    /// `dialog_ended` lines.
    pub dialog_ended: u64,
    /// `finding` lines.
    pub finding: u64,
    /// Dialogs not tracked because [`MAX_TRACKED_DIALOGS`] were open.
    pub untracked: u64,
}

/// The last line: the report's summary, the inputs and live capture counters.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryEvent<'a> {
    /// Time of the last tick.
    pub ts: f64,
    /// Inputs read.
    pub inputs: Vec<InputInfo>,
    /// Live capture counters (omitted for files).
    #[serde(skip_serializing_if = "<[CaptureStats]>::is_empty")]
    pub capture: &'a [CaptureStats],
    /// Dialogs still open at the end (they got no `dialog_ended`).
    pub open_dialogs: u64,
    /// Lines emitted before this one.
    pub events: EventCounts,
    /// The report's summary counters.
    #[serde(flatten)]
    pub summary: Summary,
    /// What each HEP listener received, skipped and lost, as in the JSON report's
    /// `hep_listeners` (omitted without listeners).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hep_listeners: Vec<crate::hep::HepListenerStats>,
}

#[derive(Debug, Clone)]
struct Tracked {
    state: DialogState,
    messages: u64,
    final_status: Option<u16>,
    /// Last tick that saw it in the engine (a missing one was evicted).
    seen: u64,
    /// Kept for the `dialog_ended` of an evicted dialog, which the engine no longer has.
    last: DialogEvent,
}

/// What identifies a finding across ticks besides its Call-ID: its summary may change
/// (counts grow), these do not.
type Rest = (
    &'static str,
    Option<SocketAddr>,
    Option<SocketAddr>,
    Option<u64>,
);

fn rest_of(f: &Finding) -> Rest {
    (
        f.rule.as_str(),
        f.src.map(|a| a.get()),
        f.dst.map(|a| a.get()),
        f.evidence.first().copied(),
    )
}

/// Findings emitted and still present in the engine, with their multiplicity. Keyed by
/// call first, so that a tick looks a finding up through its borrowed Call-ID: a big
/// capture has a finding per call, all looked up at every tick, and copying each Call-ID
/// to look it up was most of the stream's cost.
#[derive(Debug, Default)]
struct Emitted {
    by_call: FxHashMap<String, Vec<(Rest, u32)>>,
    no_call: FxHashMap<Rest, u32>,
}

impl Emitted {
    /// How many findings of this key were emitted (an entry made at 0 when new).
    fn count_mut(&mut self, call: Option<&str>, rest: Rest) -> Option<&mut u32> {
        let Some(call) = call else {
            return Some(self.no_call.entry(rest).or_insert(0));
        };
        if !self.by_call.contains_key(call) {
            self.by_call.insert(call.to_owned(), Vec::new());
        }
        let list = self.by_call.get_mut(call)?;
        let at = match list.iter().position(|(r, _)| *r == rest) {
            Some(at) => at,
            None => {
                list.push((rest, 0));
                list.len() - 1
            }
        };
        list.get_mut(at).map(|(_, n)| n)
    }
}

/// Diffs the engine against what was already emitted. See the module documentation.
#[derive(Debug, Default)]
pub struct EventTracker {
    open: FxHashMap<u64, Tracked>,
    /// Largest dialog id seen: ids grow, so an absent id at or below it already ended.
    high_water: u64,
    tick_no: u64,
    /// Findings emitted and still present in the engine, with their multiplicity.
    emitted: Emitted,
    counts: EventCounts,
    last_ts: Timestamp,
    /// [`Analyzer::generation`] at the last tick: when it has not moved, nothing changed.
    generation: Option<u64>,
    /// What [`Analyzer::findings_changed`] keeps between ticks (with
    /// [`Analyzer::track_conclusions`] off, every tick asks for every finding).
    cache: ConclusionCache,
}

impl EventTracker {
    /// A tracker that has emitted nothing.
    pub fn new() -> Self {
        EventTracker::default()
    }

    /// Lines emitted so far, by kind.
    pub fn counts(&self) -> EventCounts {
        self.counts
    }

    /// Events since the previous tick, stamped `now`. Findings of open dialogs are held.
    ///
    /// A tick with no frame processed since the previous one (an idle live capture) has
    /// nothing to say and costs nothing: the engine is not walked. Dialogs refused by the
    /// tracking bound ([`EventCounts::untracked`]) are reported again at every tick, so
    /// once one was refused every tick walks the engine.
    pub fn tick<'a>(&mut self, an: &'a Analyzer, now: Timestamp) -> Vec<StreamEvent<'a>> {
        let generation = an.generation();
        if self.generation == Some(generation) && self.counts.untracked == 0 {
            self.last_ts = now;
            return Vec::new();
        }
        self.generation = Some(generation);
        self.step(an, now, false)
    }

    /// The last tick (every finding not yet emitted, open dialogs included) followed by the
    /// `summary` line. `elapsed_ms` is the run's wall time, as in the report;
    /// `hep_listeners` the listeners' counters (empty without listeners).
    pub fn finish<'a>(
        &mut self,
        an: &'a Analyzer,
        now: Timestamp,
        elapsed_ms: u64,
        hep_listeners: Vec<crate::hep::HepListenerStats>,
    ) -> Vec<StreamEvent<'a>> {
        let mut out = self.step(an, now, true);
        // Only the summary and the inputs are read: the streaming build skips the DTO of
        // every dialog and finding, which the full one makes and this would drop.
        let report = Report::build_streaming(an, elapsed_ms);
        out.push(StreamEvent::Summary(Box::new(SummaryEvent {
            ts: now.as_secs_f64(),
            inputs: report.inputs,
            capture: an.capture_stats(),
            open_dialogs: self.open.len() as u64,
            events: self.counts,
            summary: report.summary,
            hep_listeners,
        })));
        out
    }

    fn step<'a>(&mut self, an: &'a Analyzer, now: Timestamp, last: bool) -> Vec<StreamEvent<'a>> {
        self.tick_no += 1;
        self.last_ts = now;
        let ts = now.as_secs_f64();
        let mut out = Vec::new();
        // Taken at every step, so that it covers exactly the time since the last one.
        let changes = an.take_conclusion_changes();
        // A dialog's events depend only on its state, messages and final status, which
        // only a SIP message on it changes: the dialogs the record names are all that can
        // speak (in id order, the order of the full walk), and the evicted ones all that
        // can vanish. Dialogs refused by the tracking bound speak at every tick: the full
        // walk then, as when the record overflowed.
        let moved: Option<(Vec<u64>, Vec<u64>)> = changes
            .as_ref()
            .filter(|ch| !ch.overflowed && self.counts.untracked == 0)
            .map(|ch| {
                let mut touched: Vec<u64> = ch.dialogs.iter().copied().collect();
                touched.sort_unstable();
                let mut gone = ch.evicted.clone();
                gone.sort_unstable();
                (touched, gone)
            });
        let walked: Box<dyn Iterator<Item = &Dialog>> = match &moved {
            Some((touched, _)) => Box::new(touched.iter().filter_map(|id| an.dialog(*id))),
            None => Box::new(an.dialogs()),
        };
        for d in walked {
            let finished = d.state.is_finished();
            if let Some(t) = self.open.get_mut(&d.id) {
                t.seen = self.tick_no;
                let changed = t.state != d.state
                    || t.messages != d.message_count
                    || t.final_status != d.final_status;
                if finished {
                    // The end carries the last state: no separate update in the same tick.
                    self.open.remove(&d.id);
                    out.push(StreamEvent::DialogEnded(event(an, d, ts, Some("terminal"))));
                } else if changed {
                    t.state = d.state;
                    t.messages = d.message_count;
                    t.final_status = d.final_status;
                    t.last = event(an, d, ts, None);
                    out.push(StreamEvent::DialogUpdated(t.last.clone()));
                }
                continue;
            }
            let new = d.id > self.high_water;
            self.high_water = self.high_water.max(d.id);
            if new {
                out.push(StreamEvent::DialogStarted(event(an, d, ts, None)));
                if finished {
                    out.push(StreamEvent::DialogEnded(event(an, d, ts, Some("terminal"))));
                    continue;
                }
            } else if finished {
                // Ended at an earlier tick and forgotten.
                continue;
            } else {
                // Ended earlier, then a new attempt reopened it (a REGISTER re-sent after
                // a failure): an update, then tracked again.
                out.push(StreamEvent::DialogUpdated(event(an, d, ts, None)));
            }
            if self.open.len() >= an.limits().report.max_tracked_dialogs.max(1) {
                self.counts.untracked += 1;
                continue;
            }
            self.open.insert(
                d.id,
                Tracked {
                    state: d.state,
                    messages: d.message_count,
                    final_status: d.final_status,
                    seen: self.tick_no,
                    last: event(an, d, ts, None),
                },
            );
        }
        // Open dialogs the engine no longer has were evicted.
        let tick_no = self.tick_no;
        let mut evicted: Vec<(u64, DialogEvent)> = Vec::new();
        let mut gone = |id: u64, t: Tracked| {
            let mut e = t.last;
            e.ts = ts;
            e.reason = Some("evicted");
            evicted.push((id, e));
        };
        match &moved {
            Some((_, ids)) => {
                for id in ids {
                    if let Some(t) = self.open.remove(id) {
                        gone(*id, t);
                    }
                }
            }
            None => {
                let mut missing: Vec<u64> = self
                    .open
                    .iter()
                    .filter(|(_, t)| t.seen != tick_no)
                    .map(|(id, _)| *id)
                    .collect();
                missing.sort_unstable();
                for id in missing {
                    if let Some(t) = self.open.remove(&id) {
                        gone(id, t);
                    }
                }
            }
        }
        out.extend(
            evicted
                .into_iter()
                .map(|(_, e)| StreamEvent::DialogEnded(e)),
        );

        self.emit_findings(an, last, changes.as_ref(), &mut out);
        for e in &out {
            match e {
                StreamEvent::DialogStarted(_) => self.counts.dialog_started += 1,
                StreamEvent::DialogUpdated(_) => self.counts.dialog_updated += 1,
                StreamEvent::DialogEnded(_) => self.counts.dialog_ended += 1,
                StreamEvent::Finding(_) => self.counts.finding += 1,
                StreamEvent::Summary(_) => {}
            }
        }
        out
    }

    fn emit_findings<'a>(
        &mut self,
        an: &'a Analyzer,
        last: bool,
        changes: Option<&Changes>,
        out: &mut Vec<StreamEvent<'a>>,
    ) {
        let open_calls: FxHashSet<&str> = if last {
            Default::default()
        } else {
            self.open
                .values()
                .map(|t| t.last.call_id.as_str())
                .collect()
        };
        // The last tick asks once more over everything, as the report does. Otherwise
        // only the findings of the calls that may have changed come, with every finding
        // tied to no call: a call left out holds what it held at the last tick, which is
        // what was emitted for it then (after a tick, the count written of each key of a
        // call not open is the count present), so it has nothing to say.
        let delta = if last {
            FindingsDelta {
                findings: an.findings(),
                calls: None,
            }
        } else {
            an.findings_changed(&mut self.cache, changes)
        };
        let findings = delta.findings;
        // How many of each key the engine holds now (findings of open calls left out).
        let mut present: FxHashMap<(Option<&str>, Rest), u32> = FxHashMap::default();
        let mut emit = Vec::new();
        for (i, f) in findings.iter().enumerate() {
            let call = f.call_id.as_deref();
            if call.is_some_and(|c| open_calls.contains(c)) {
                continue;
            }
            let rest = rest_of(f);
            let n = present.entry((call, rest)).or_insert(0);
            *n += 1;
            if let Some(done) = self.emitted.count_mut(call, rest) {
                if *n > *done {
                    *done += 1;
                    emit.push(i);
                }
            }
        }
        // Forget findings the engine no longer has (their dialog was evicted): the table
        // stays as small as the engine's own. A key of a call still open is never in
        // `present`; it is kept as it is.
        self.emitted
            .no_call
            .retain(|rest, n| match present.get(&(None, *rest)) {
                Some(p) => {
                    *n = (*n).min(*p);
                    true
                }
                None => false,
            });
        let prune = |call: &str, list: &mut Vec<(Rest, u32)>| {
            list.retain_mut(|(rest, n)| match present.get(&(Some(call), *rest)) {
                Some(p) => {
                    *n = (*n).min(*p);
                    true
                }
                None => false,
            });
            !list.is_empty()
        };
        match &delta.calls {
            None => self
                .emitted
                .by_call
                .retain(|call, list| open_calls.contains(call.as_str()) || prune(call, list)),
            Some(calls) => {
                for call in calls {
                    if open_calls.contains(call.as_str()) {
                        continue;
                    }
                    if let Some(list) = self.emitted.by_call.get_mut(call) {
                        if !prune(call, list) {
                            self.emitted.by_call.remove(call);
                        }
                    }
                }
            }
        }
        drop(present);
        // The findings to emit, moved out in order (`emit` is ascending).
        let mut emit = emit.into_iter().peekable();
        let mut id = self.counts.finding as usize;
        for (i, f) in findings.into_iter().enumerate() {
            if emit.next_if_eq(&i).is_some() {
                id += 1;
                out.push(StreamEvent::Finding(finding_dto(id, f)));
            }
        }
    }
}

fn event(an: &Analyzer, d: &Dialog, ts: f64, reason: Option<&'static str>) -> DialogEvent {
    DialogEvent {
        ts,
        id: d.id,
        call_id: d.call_id.clone(),
        method: an.name(d.method).to_string(),
        from: d.from.as_str().to_owned(),
        to: d.to.as_str().to_owned(),
        state: d.state.as_str(),
        final_status: d.final_status,
        messages: d.message_count,
        transport: d.transport.as_str(),
        src: d.src.get(),
        dst: d.dst.get(),
        start: d.start.as_secs_f64(),
        end: d.end.as_secs_f64(),
        reason,
    }
}

/// Decides when a tick is due in packet time: at the first frame at or past each whole
/// interval boundary (quiet stretches of a capture produce no empty ticks).
#[derive(Debug, Clone, Copy)]
pub struct PacketClock {
    interval_ns: u64,
    next: Option<u64>,
}

impl PacketClock {
    /// A clock ticking every `interval_ns` nanoseconds of packet time (at least 1 ms).
    pub fn new(interval_ns: u64) -> Self {
        PacketClock {
            interval_ns: interval_ns.max(1_000_000),
            next: None,
        }
    }

    /// Called with each frame's time before the frame is processed: the boundary just
    /// crossed when a tick is due (events then describe everything before that frame).
    pub fn due(&mut self, ts: Timestamp) -> Option<Timestamp> {
        let boundary = |t: u64| (t / self.interval_ns).saturating_add(1) * self.interval_ns;
        match self.next {
            None => {
                self.next = Some(boundary(ts.0));
                None
            }
            Some(n) if ts.0 >= n => {
                self.next = Some(boundary(ts.0));
                Some(Timestamp(n))
            }
            Some(_) => None,
        }
    }
}

/// Writes events as NDJSON lines.
pub fn write_events<W: std::io::Write>(
    w: &mut W,
    events: &[StreamEvent<'_>],
) -> std::io::Result<()> {
    // One buffer for the batch, handed on in pieces: a buffer of its own per line (what
    // `json::to_writer` gathers in) cost more than the line's text.
    const PIECE: usize = 1 << 16;
    let mut buf = Vec::with_capacity(PIECE.min(events.len().saturating_mul(256)));
    for e in events {
        super::json::append(&mut buf, e).map_err(std::io::Error::from)?;
        buf.push(b'\n');
        if buf.len() >= PIECE {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{open_path, FrameSource};
    use crate::engine::Limits;

    /// Runs a sample through the engine with packet-time ticks, as `--format ndjson` does.
    fn stream(path: &str) -> (Vec<serde_json::Value>, usize) {
        stream_every(path, TICK_NS)
    }

    fn stream_every(path: &str, interval_ns: u64) -> (Vec<serde_json::Value>, usize) {
        stream_with(path, interval_ns, Limits::default())
    }

    fn stream_with(
        path: &str,
        interval_ns: u64,
        limits: Limits,
    ) -> (Vec<serde_json::Value>, usize) {
        stream_checked(path, interval_ns, limits, false, true)
    }

    /// [`stream_with`]; with `idle`, each tick is followed by a second one with nothing
    /// processed in between, which must say nothing and leave the engine as it was. With
    /// `track`, the engine records what moved between ticks (as `--format ndjson` has
    /// it), and ticks walk and conclude on only that.
    fn stream_checked(
        path: &str,
        interval_ns: u64,
        limits: Limits,
        idle: bool,
        track: bool,
    ) -> (Vec<serde_json::Value>, usize) {
        let mut src = open_path(std::path::Path::new(path)).expect("sample");
        let mut an = crate::rules::analyzer(limits);
        an.track_conclusions(track);
        let mut tr = EventTracker::new();
        let mut clock = PacketClock::new(interval_ns);
        let mut lines = Vec::new();
        let mut last = Timestamp(0);
        let mut frames = 0;
        while let Ok(Some(mut f)) = src.next_frame() {
            frames += 1;
            f.number = frames;
            if let Some(t) = clock.due(f.ts) {
                for e in tr.tick(&an, t) {
                    lines.push(serde_json::to_value(&e).expect("json"));
                }
                if idle {
                    let before = an.generation();
                    assert!(tr.tick(&an, t).is_empty(), "{path}: idle tick spoke");
                    assert_eq!(an.generation(), before);
                }
            }
            last = f.ts;
            an.process(&f);
        }
        for e in tr.finish(&an, last, 0, Vec::new()) {
            lines.push(serde_json::to_value(&e).expect("json"));
        }
        let report_findings = Report::build(&an, 0).findings.len();
        (lines, report_findings)
    }

    /// Ticks that walk only the dialogs that moved, and conclude again only on them, give
    /// the stream that walking and concluding over everything gives: on every sample,
    /// with ticks of a second and of a millisecond, and with two dialogs kept (evictions
    /// between ticks).
    #[test]
    fn ticks_on_what_moved_give_the_full_stream_on_every_sample() {
        let files = crate::engine::pipeline::tests::sample_files();
        assert!(files.len() > 20, "{} samples", files.len());
        let two = Limits {
            max_dialogs: 2,
            ..Limits::default()
        };
        for f in &files {
            let path = f.to_str().expect("utf-8 path");
            for (tick, limits) in [
                (TICK_NS, Limits::default()),
                (1_000_000, Limits::default()),
                (1_000_000, two.clone()),
            ] {
                let full = stream_checked(path, tick, limits.clone(), false, false);
                let moved = stream_checked(path, tick, limits, false, true);
                assert!(full == moved, "{path}: tick {tick} ns");
            }
        }
    }

    /// A tick with nothing processed since the last one (an idle live capture) skips the
    /// engine and says nothing; the stream around it is the one without it.
    #[test]
    fn idle_ticks_say_nothing_and_change_nothing() {
        for sample in [
            "samples/basic-call-rtp.pcap",
            "samples/nat-one-way-wan.pcap",
        ] {
            let (want, _) = stream(sample);
            let (got, _) = stream_checked(sample, TICK_NS, Limits::default(), true, true);
            assert_eq!(got, want, "{sample}");
        }
    }

    fn kinds(lines: &[serde_json::Value], call: &str) -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["call_id"] == call && l["event"] != "finding")
            .map(|l| l["event"].as_str().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn basic_call_started_ended_then_findings_and_summary() {
        let (lines, report_findings) = stream("samples/basic-call-rtp.pcap");
        let calls: Vec<&str> = lines
            .iter()
            .filter(|l| l["event"] == "dialog_started")
            .filter_map(|l| l["call_id"].as_str())
            .collect();
        assert!(!calls.is_empty());
        for c in &calls {
            let k = kinds(&lines, c);
            assert_eq!(
                k.first().map(String::as_str),
                Some("dialog_started"),
                "{k:?}"
            );
            assert_eq!(k.last().map(String::as_str), Some("dialog_ended"), "{k:?}");
            assert_eq!(k.iter().filter(|e| *e == "dialog_ended").count(), 1);
        }
        // Set up within 3 ms, hung up 2.8 s later: with 1 s ticks it starts in call and ends.
        assert_eq!(kinds(&lines, calls[0]), ["dialog_started", "dialog_ended"]);
        let findings = lines.iter().filter(|l| l["event"] == "finding").count();
        assert_eq!(findings, report_findings);
        let ids: Vec<u64> = lines
            .iter()
            .filter(|l| l["event"] == "finding")
            .filter_map(|l| l["id"].as_u64())
            .collect();
        assert_eq!(ids, (1..=findings as u64).collect::<Vec<_>>());
        let summary = lines.last().expect("summary");
        assert_eq!(summary["event"], "summary");
        assert_eq!(summary["events"]["finding"], findings as u64);
        assert!(summary["packets"].as_u64().unwrap_or(0) > 0);
    }

    #[test]
    fn millisecond_ticks_show_each_state_change_once() {
        let (lines, _) = stream_every("samples/basic-call-rtp.pcap", 1_000_000);
        let call = lines
            .iter()
            .find(|l| l["event"] == "dialog_started")
            .and_then(|l| l["call_id"].as_str())
            .expect("a call")
            .to_string();
        let states: Vec<(String, String)> = lines
            .iter()
            .filter(|l| l["call_id"] == call.as_str() && l["event"] != "finding")
            .map(|l| {
                (
                    l["event"].as_str().unwrap_or("").to_string(),
                    l["state"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let first = states.first().cloned().unwrap_or_default();
        assert_eq!(first.0, "dialog_started");
        assert!(
            states.contains(&("dialog_updated".into(), "in_call".into())),
            "{states:?}"
        );
        assert_eq!(
            states.last().cloned().unwrap_or_default(),
            ("dialog_ended".into(), "completed".into())
        );
        // An update only when something changed: never the same state and count twice.
        let updates: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|l| l["event"] == "dialog_updated")
            .collect();
        for w in updates.windows(2) {
            assert!(
                w[0]["state"] != w[1]["state"] || w[0]["messages"] != w[1]["messages"],
                "{updates:?}"
            );
        }
    }

    #[test]
    fn every_sample_reports_each_finding_once() {
        for s in [
            "samples/register-digest.pcap",
            "samples/sipvicious-attack.pcap",
            "samples/nat-one-way-wan.pcap",
            "samples/toll-fraud-flood.pcap",
        ] {
            let (lines, report_findings) = stream(s);
            let findings = lines.iter().filter(|l| l["event"] == "finding").count();
            assert_eq!(findings, report_findings, "{s}");
            // Started and ended once per dialog, and never before started.
            let mut started = std::collections::HashSet::new();
            for l in &lines {
                let id = l["id"].as_u64();
                match l["event"].as_str() {
                    Some("dialog_started") => assert!(started.insert(id), "{s}"),
                    Some("dialog_updated") | Some("dialog_ended") => {
                        assert!(started.contains(&id), "{s}: {l}")
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn evicted_open_dialogs_end_with_reason_evicted() {
        // Two dialogs at most: open calls of the toll-fraud flood are evicted between ticks.
        let limits = Limits {
            max_dialogs: 2,
            ..Limits::default()
        };
        let (lines, _) = stream_with("samples/toll-fraud-flood.pcap", TICK_NS, limits);
        let mut ended = std::collections::HashMap::new();
        for l in lines.iter().filter(|l| l["event"] == "dialog_ended") {
            *ended.entry(l["id"].as_u64()).or_insert(0) += 1;
        }
        assert!(ended.values().all(|n| *n == 1), "{ended:?}");
        assert!(
            lines
                .iter()
                .any(|l| l["event"] == "dialog_ended" && l["reason"] == "evicted"),
            "no eviction seen"
        );
        let summary = lines.last().expect("summary");
        assert!(summary["evictions"]["dialogs"].as_u64() > Some(0));
    }

    #[test]
    fn packet_clock_ticks_at_boundaries() {
        let mut c = PacketClock::new(TICK_NS);
        assert_eq!(c.due(Timestamp(1_500_000_000)), None);
        assert_eq!(c.due(Timestamp(1_900_000_000)), None);
        assert_eq!(
            c.due(Timestamp(2_000_000_000)),
            Some(Timestamp(2_000_000_000))
        );
        assert_eq!(c.due(Timestamp(2_100_000_000)), None);
        // A quiet stretch: one tick, at the boundary first crossed.
        assert_eq!(
            c.due(Timestamp(9_000_000_000)),
            Some(Timestamp(3_000_000_000))
        );
        assert_eq!(c.due(Timestamp(9_500_000_000)), None);
    }

    #[test]
    fn ndjson_lines_are_one_object_each() {
        let mut out = Vec::new();
        let mut an = crate::rules::analyzer(Limits::default());
        let mut tr = EventTracker::new();
        let mut src = open_path(std::path::Path::new("samples/invite-407.pcap")).expect("sample");
        while let Ok(Some(f)) = src.next_frame() {
            an.process(&f);
        }
        let ev = tr.finish(&an, Timestamp(0), 0, Vec::new());
        write_events(&mut out, &ev).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(text.lines().count(), ev.len());
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).expect("one object per line");
            assert!(v["event"].is_string());
        }
    }
}
