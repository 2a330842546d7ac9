//! What changed in the engine since someone last asked: the live dashboard's feed.
//!
//! The dashboard used to rebuild its whole model (through the report) every tick, which
//! at 100k dialogs kept a core busy with no packet arriving. With tracking on
//! ([`crate::engine::Analyzer::track_changes`]) the engine records which dialogs it
//! touched and evicted, and whether any RTP or RTCP arrived; the analysis thread takes
//! that record each tick ([`crate::engine::Analyzer::take_changes`]) and sends the
//! dashboard only those rows. An empty record means there is nothing to redo.
//!
//! The record sits behind a mutex so that it can be taken through `&Analyzer` (the live
//! observers only see the engine shared); the engine itself writes through
//! [`Mutex::get_mut`], which takes no lock: tracking costs a flag test when off and one
//! set insert per SIP message when on.

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
    /// Some RTP or RTCP packet arrived: streams (and the NAT views built on them) moved.
    pub media: bool,
    /// Addresses that sent or received a keepalive (CRLF, STUN, OPTIONS ping): the NAT
    /// view of every dialog with a party at one of them counts it.
    pub keepalives: FxHashSet<SocketAddr>,
    /// More evictions happened than the record keeps (`Limits::report.max_evicted_ids`,
    /// default [`MAX_EVICTED_IDS`]), or keepalive addresses than [`MAX_KEEPALIVE_ADDRS`]:
    /// the record is incomplete.
    pub overflowed: bool,
}

impl Changes {
    /// True when nothing happened at all (not even a frame the engine ignored).
    pub fn is_empty(&self) -> bool {
        self.frames == 0
            && self.dialogs.is_empty()
            && self.evicted.is_empty()
            && !self.media
            && self.keepalives.is_empty()
            && !self.overflowed
    }
}

/// The engine's change record (off until [`ChangeLog::set_enabled`]).
#[derive(Debug)]
pub struct ChangeLog {
    enabled: bool,
    max_evicted: usize,
    pending: Mutex<Changes>,
}

impl Default for ChangeLog {
    fn default() -> Self {
        ChangeLog::new(MAX_EVICTED_IDS)
    }
}

impl ChangeLog {
    /// A change record keeping at most `max_evicted` evicted ids (at least 1) between two
    /// takes (`Limits::report.max_evicted_ids`).
    pub fn new(max_evicted: usize) -> Self {
        ChangeLog {
            enabled: false,
            max_evicted: max_evicted.max(1),
            pending: Mutex::default(),
        }
    }

    /// Turns tracking on or off; turning it off drops what was recorded.
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
        *self.pending_mut() = Changes::default();
    }

    /// True when tracking is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn pending_mut(&mut self) -> &mut Changes {
        // A poisoned lock only means a reader panicked mid-take; the record is still whole.
        self.pending
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A frame was processed.
    pub fn frame(&mut self) {
        if self.enabled {
            self.pending_mut().frames += 1;
        }
    }

    /// Dialog `id` was created or updated.
    pub fn dialog(&mut self, id: u64) {
        if self.enabled {
            self.pending_mut().dialogs.insert(id);
        }
    }

    /// Dialog `id` was evicted.
    pub fn evicted(&mut self, id: u64) {
        if !self.enabled {
            return;
        }
        let max = self.max_evicted;
        let p = self.pending_mut();
        p.dialogs.remove(&id);
        if p.evicted.len() < max {
            p.evicted.push(id);
        } else {
            p.overflowed = true;
        }
    }

    /// An RTP or RTCP packet was counted.
    pub fn media(&mut self) {
        if self.enabled {
            self.pending_mut().media = true;
        }
    }

    /// A keepalive from or to `addr` was counted.
    pub fn keepalive(&mut self, addr: SocketAddr) {
        if !self.enabled {
            return;
        }
        let p = self.pending_mut();
        if p.keepalives.len() < MAX_KEEPALIVE_ADDRS {
            p.keepalives.insert(addr);
        } else if !p.keepalives.contains(&addr) {
            p.overflowed = true;
        }
    }

    /// What changed since the last take, leaving the record empty.
    pub fn take(&self) -> Changes {
        let mut p = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *p)
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
        log.evicted(2);
        log.media();
        assert!(log.take().is_empty());
        log.set_enabled(true);
        log.frame();
        log.dialog(1);
        log.dialog(1);
        log.dialog(3);
        log.evicted(3);
        let c = log.take();
        assert_eq!(c.frames, 1);
        assert_eq!(c.dialogs.iter().copied().collect::<Vec<_>>(), vec![1]);
        assert_eq!(c.evicted, vec![3], "an evicted dialog is not also dirty");
        assert!(log.take().is_empty(), "a take empties the record");
    }
}
