//! The dialog table: dialogs by id, with their creation order.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use super::Dialog;

/// Dialogs by [`Dialog::id`], iterated in creation (id) order.
///
/// Every message looks its dialog up several times (engine, validation memo, rules'
/// context); in a `BTreeMap<u64, _>` of tens of thousands of dialogs each lookup walked
/// four nodes comparing keys, about 5% of a signaling run. A hash map answers lookups; the
/// ordered set of ids, touched only when a dialog comes or goes, keeps the order reports
/// and eviction (oldest first) need. Boxed: growing the map moves pointers, not dialogs.
#[derive(Default)]
pub(super) struct DialogTable {
    by_id: FxHashMap<u64, Box<Dialog>>,
    order: BTreeSet<u64>,
}

impl DialogTable {
    pub(super) fn get(&self, id: &u64) -> Option<&Dialog> {
        self.by_id.get(id).map(|d| &**d)
    }

    pub(super) fn get_mut(&mut self, id: &u64) -> Option<&mut Dialog> {
        self.by_id.get_mut(id).map(|d| &mut **d)
    }

    pub(super) fn contains_key(&self, id: &u64) -> bool {
        self.by_id.contains_key(id)
    }

    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(super) fn insert(&mut self, id: u64, d: Box<Dialog>) {
        self.order.insert(id);
        self.by_id.insert(id, d);
    }

    pub(super) fn remove(&mut self, id: &u64) -> Option<Box<Dialog>> {
        self.order.remove(id);
        self.by_id.remove(id)
    }

    /// The oldest dialog kept.
    pub(super) fn first_id(&self) -> Option<u64> {
        self.order.first().copied()
    }

    /// Dialogs in creation order.
    pub(super) fn values(&self) -> impl Iterator<Item = &Dialog> {
        self.order.iter().filter_map(|id| self.get(id))
    }
}
