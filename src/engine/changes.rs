//! What changed in the engine since someone last asked.
//!
//! Two readers keep a record each ([`Reader`]):
//!
//! - The live dashboard used to rebuild its whole model (through the report) every tick,
//!   which at 100k dialogs kept a core busy with no packet arriving. With tracking on
//!   ([`crate::engine::Analyzer::track_changes`]) the engine records which dialogs it
//!   touched and evicted, and whether any RTP or RTCP arrived; the analysis thread takes
//!   that record each tick ([`crate::engine::Analyzer::take_changes`]) and sends the
//!   dashboard only those rows. An empty record means there is nothing to redo.
//! - The NDJSON stream asks for every finding at every tick. With its record on
//!   ([`crate::engine::Analyzer::track_conclusions`]) it also names the streams RTP and
//!   RTCP moved and the streams evicted, and the rules conclude again only on the calls
//!   that may have changed, unless something else happened ([`Changes::other`]; see
//!   [`crate::engine::Analyzer::findings_changed`]).
//!
//! A record sits behind a mutex so that it can be taken through `&Analyzer` (the live
//! observers only see the engine shared); the engine itself writes through
//! [`Mutex::get_mut`], which takes no lock: tracking costs a flag test per reader when
//! off, and one set insert per SIP message and reader (per RTP or RTCP packet too, for
//! the conclusions' record) when on.

use std::sync::Mutex;

use std::net::SocketAddr;

use rustc_hash::FxHashSet;

/// Most evicted ids kept between two takes. Past it the record says so
/// ([`Changes::overflowed`]) and the reader rebuilds everything: a flood evicting faster
/// than the dashboard ticks must not grow this list without bound.
pub const MAX_EVICTED_IDS: usize = 1 << 20;

/// Most keepalive addresses kept between two takes; past it the record overflows (the
/// reader rebuilds everything), as for evictions.
pub const MAX_KEEPALIVE_ADDRS: usize = 1 << 16;

/// Most media streams, dialogs and addresses kept (each) between two takes of the
/// conclusions' record; past it the record overflows, as for evictions.
pub const MAX_MEDIA_MARKS: usize = 1 << 16;

/// The changes recorded since the last [`ChangeLog::take`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Frames processed.
    pub frames: u64,
    /// Dialogs created or updated by a SIP message (ids, unordered; evicted ones left
    /// out).
    pub dialogs: FxHashSet<u64>,
    /// Dialogs evicted, in eviction order.
    pub evicted: Vec<u64>,
    /// The Call-IDs of the dialogs in `evicted`, in the same order (the conclusions'
    /// record only: the dashboard's stays empty).
    pub evicted_calls: Vec<String>,
    /// Some RTP or RTCP packet arrived: streams (and the NAT views built on them) moved.
    pub media: bool,
    /// Addresses that sent or received a keepalive (CRLF, STUN, OPTIONS ping): the NAT
    /// view of every dialog with a party at one of them counts it.
    pub keepalives: FxHashSet<SocketAddr>,
    /// Something happened besides SIP messages on dialogs and RTP or RTCP on streams: a
    /// STUN, ZRTP or DTLS packet, an ICMP error quoting SIP, TLS records, a malformed
    /// message, a configuration change. Conclusions drawn over one dialog may then have
    /// moved without the dialog being named here.
    pub other: bool,
    /// The streams (source, destination, SSRC) that RTP or RTCP moved (the conclusions'
    /// record only).
    pub media_streams: FxHashSet<(SocketAddr, SocketAddr, u32)>,
    /// Dialogs whose media moved otherwise: an evicted stream's, the one an RTCP packet's
    /// address was announced by (the conclusions' record only).
    pub media_dialogs: FxHashSet<u64>,
    /// Addresses of evicted streams (the conclusions' record only).
    pub media_addrs: FxHashSet<SocketAddr>,
    /// More evictions happened than the record keeps (`Limits::report.max_evicted_ids`,
    /// default [`MAX_EVICTED_IDS`]), keepalive addresses than [`MAX_KEEPALIVE_ADDRS`], or
    /// media streams, dialogs or addresses than [`MAX_MEDIA_MARKS`]: the record is
    /// incomplete.
    pub overflowed: bool,
}

impl Changes {
    /// True when nothing happened at all (not even a frame the engine ignored).
    pub fn is_empty(&self) -> bool {
        self.frames == 0
            && self.dialogs.is_empty()
            && self.evicted.is_empty()
            && !self.media
            && !self.other
            && self.media_streams.is_empty()
            && self.media_dialogs.is_empty()
            && self.media_addrs.is_empty()
            && self.keepalives.is_empty()
            && !self.overflowed
    }
}

/// Who reads a change record. Each reader has its own record, so that one taking its
/// changes does not hide them from the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The live dashboard ([`crate::engine::Analyzer::take_changes`]).
    Dashboard,
    /// The NDJSON stream's ticks ([`crate::engine::Analyzer::findings_changed`]).
    Conclusions,
}

/// One reader's record.
#[derive(Debug, Default)]
struct Record {
    enabled: bool,
    pending: Mutex<Changes>,
}

impl Record {
    fn pending_mut(&mut self) -> &mut Changes {
        // A poisoned lock only means a reader panicked mid-take; the record is still whole.
        self.pending
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The engine's change records, one per [`Reader`] (each off until
/// [`ChangeLog::set_enabled`]).
#[derive(Debug)]
pub struct ChangeLog {
    max_evicted: usize,
    records: [Record; 2],
}

impl Default for ChangeLog {
    fn default() -> Self {
        ChangeLog::new(MAX_EVICTED_IDS)
    }
}

impl ChangeLog {
    /// Change records keeping at most `max_evicted` evicted ids (at least 1) between two
    /// takes (`Limits::report.max_evicted_ids`).
    pub fn new(max_evicted: usize) -> Self {
        ChangeLog {
            max_evicted: max_evicted.max(1),
            records: Default::default(),
        }
    }

    // One record per `Reader` variant, in declaration order: the index is in range.
    fn record(&self, reader: Reader) -> &Record {
        &self.records[reader as usize]
    }

    fn record_mut(&mut self, reader: Reader) -> &mut Record {
        &mut self.records[reader as usize]
    }

    /// Turns `reader`'s record on or off; turning it off drops what was recorded.
    pub fn set_enabled(&mut self, reader: Reader, on: bool) {
        let r = self.record_mut(reader);
        r.enabled = on;
        *r.pending_mut() = Changes::default();
    }

    /// True when `reader`'s record is on.
    pub fn enabled(&self, reader: Reader) -> bool {
        self.record(reader).enabled
    }

    /// The records that are on (tracking costs a flag test per record when off).
    fn each(&mut self, mut f: impl FnMut(&mut Changes)) {
        for r in &mut self.records {
            if r.enabled {
                f(r.pending_mut());
            }
        }
    }

    /// A frame was processed.
    pub fn frame(&mut self) {
        self.each(|p| p.frames += 1);
    }

    /// Dialog `id` was created or updated.
    pub fn dialog(&mut self, id: u64) {
        self.each(|p| {
            p.dialogs.insert(id);
        });
    }

    /// Dialog `id` was evicted.
    pub fn evicted(&mut self, id: u64, call_id: &str) {
        let max = self.max_evicted;
        // Records are in `Reader` order.
        let readers = [Reader::Dashboard, Reader::Conclusions];
        for (reader, r) in readers.into_iter().zip(&mut self.records) {
            if !r.enabled {
                continue;
            }
            let p = r.pending_mut();
            p.dialogs.remove(&id);
            if p.evicted.len() < max {
                p.evicted.push(id);
                if reader == Reader::Conclusions {
                    p.evicted_calls.push(call_id.to_owned());
                }
            } else {
                p.overflowed = true;
            }
        }
    }

    /// An RTP or RTCP packet was counted.
    pub fn media(&mut self) {
        self.each(|p| p.media = true);
    }

    /// The conclusions' record, when it is on.
    fn conclusions(&mut self) -> Option<&mut Changes> {
        let r = &mut self.records[Reader::Conclusions as usize];
        if r.enabled {
            Some(r.pending_mut())
        } else {
            None
        }
    }

    /// RTP or RTCP moved the stream `src` -> `dst` of `ssrc` (conclusions only: the
    /// dashboard redraws every stream row when media moved).
    pub fn media_stream(&mut self, src: SocketAddr, dst: SocketAddr, ssrc: u32) {
        if let Some(p) = self.conclusions() {
            mark(&mut p.media_streams, (src, dst, ssrc), &mut p.overflowed);
        }
    }

    /// The media of dialog `id` moved (conclusions only).
    pub fn media_dialog(&mut self, id: u64) {
        if let Some(p) = self.conclusions() {
            mark(&mut p.media_dialogs, id, &mut p.overflowed);
        }
    }

    /// A flow from or to `addr` left (conclusions only).
    pub fn media_addr(&mut self, addr: SocketAddr) {
        if let Some(p) = self.conclusions() {
            mark(&mut p.media_addrs, addr, &mut p.overflowed);
        }
    }

    /// Something besides SIP messages on their dialogs happened (see [`Changes::other`]).
    pub fn other(&mut self) {
        self.each(|p| p.other = true);
    }

    /// A keepalive from or to `addr` was counted.
    pub fn keepalive(&mut self, addr: SocketAddr) {
        self.each(|p| {
            if p.keepalives.len() < MAX_KEEPALIVE_ADDRS {
                p.keepalives.insert(addr);
            } else if !p.keepalives.contains(&addr) {
                p.overflowed = true;
            }
        });
    }

    /// What changed since `reader`'s last take, leaving its record empty.
    pub fn take(&self, reader: Reader) -> Changes {
        let mut p = self
            .record(reader)
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *p)
    }
}

/// Adds `v` to `set`, or says the record overflowed when the set is full.
fn mark<T: std::hash::Hash + Eq>(set: &mut FxHashSet<T>, v: T, overflowed: &mut bool) {
    if set.len() < MAX_MEDIA_MARKS {
        set.insert(v);
    } else if !set.contains(&v) {
        *overflowed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_recorded_until_enabled() {
        let mut log = ChangeLog::default();
        log.frame();
        log.dialog(1);
        log.evicted(2, "b");
        log.media();
        log.other();
        assert!(log.take(Reader::Dashboard).is_empty());
        assert!(log.take(Reader::Conclusions).is_empty());
        log.set_enabled(Reader::Dashboard, true);
        log.frame();
        log.dialog(1);
        log.dialog(1);
        log.dialog(3);
        log.evicted(3, "c");
        let c = log.take(Reader::Dashboard);
        assert_eq!(c.frames, 1);
        assert_eq!(c.dialogs.iter().copied().collect::<Vec<_>>(), vec![1]);
        assert_eq!(c.evicted, vec![3], "an evicted dialog is not also dirty");
        assert!(
            c.evicted_calls.is_empty(),
            "the dashboard needs no Call-IDs"
        );
        assert!(!c.other);
        assert!(
            log.take(Reader::Dashboard).is_empty(),
            "a take empties the record"
        );
        assert!(log.take(Reader::Conclusions).is_empty(), "still off");
    }

    #[test]
    fn each_reader_takes_its_own_record() {
        let mut log = ChangeLog::default();
        log.set_enabled(Reader::Dashboard, true);
        log.set_enabled(Reader::Conclusions, true);
        log.dialog(7);
        log.evicted(5, "five");
        let dash = log.take(Reader::Dashboard);
        log.other();
        let conc = log.take(Reader::Conclusions);
        assert_eq!(dash.dialogs.len(), 1);
        assert!(!dash.other);
        assert_eq!(conc.dialogs.len(), 1, "the dashboard's take left it there");
        assert_eq!(
            (conc.evicted, conc.evicted_calls),
            (vec![5], vec!["five".to_string()])
        );
        assert!(conc.other);
        let dash = log.take(Reader::Dashboard);
        assert!(dash.other && dash.dialogs.is_empty());
        log.set_enabled(Reader::Conclusions, false);
        log.dialog(8);
        assert!(log.take(Reader::Conclusions).is_empty());
        assert_eq!(log.take(Reader::Dashboard).dialogs.len(), 1);
    }
}
