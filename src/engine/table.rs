//! The dialog table: dialogs by id, with their creation order.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::Dialog;

/// Dialogs by [`Dialog::id`], iterated in creation (id) order.
///
/// Every message looks its dialog up several times (engine, validation memo, rules'
/// context); in a `BTreeMap<u64, _>` of tens of thousands of dialogs each lookup walked
/// four nodes comparing keys, about 5% of a signaling run. A hash map answers lookups; the
/// list of ids, touched only when a dialog comes or goes, keeps the order reports and
/// eviction (oldest first) need. Boxed: growing the map moves pointers, not dialogs.
#[derive(Default)]
pub(super) struct DialogTable {
    by_id: FxHashMap<u64, Box<Dialog>>,
    /// Creation order (see [`IdOrder`]).
    order: IdOrder,
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
        if self.by_id.insert(id, d).is_none() {
            self.order.add(id);
        }
    }

    pub(super) fn remove(&mut self, id: &u64) -> Option<Box<Dialog>> {
        let d = self.by_id.remove(id)?;
        let by_id = &self.by_id;
        self.order.prune(|x| by_id.contains_key(x), by_id.len());
        Some(d)
    }

    /// The oldest dialog kept.
    pub(super) fn first_id(&self) -> Option<u64> {
        self.order.ids.front().copied()
    }

    /// Dialogs in creation order.
    pub(super) fn values(&self) -> impl Iterator<Item = &Dialog> {
        self.order.ids.iter().filter_map(|id| self.get(id))
    }
}

/// Ids in increasing order. Ids are handed out increasing, so a new one goes at the back:
/// a queue, where an ordered set allocated and freed tree nodes as a flood added and
/// evicted a dialog per message. The ids of removed dialogs stay until met: dropped from
/// the front at once (so the front is the oldest id kept), from elsewhere when they
/// outnumber the live ones.
#[derive(Default)]
struct IdOrder {
    ids: VecDeque<u64>,
}

impl IdOrder {
    /// Lists a new id.
    fn add(&mut self, id: u64) {
        match self.ids.back() {
            Some(last) if *last >= id => {
                // Not the newest (the engine never does this): keep the list sorted.
                let at = self.ids.partition_point(|x| *x < id);
                if self.ids.get(at) != Some(&id) {
                    self.ids.insert(at, id);
                }
            }
            _ => self.ids.push_back(id),
        }
    }

    /// After a removal: drops the ids no longer `live` from the front, and from anywhere
    /// once the list is over twice the `len` live ones (amortised O(1) per removal).
    fn prune(&mut self, live: impl Fn(&u64) -> bool, len: usize) {
        while self.ids.front().is_some_and(|f| !live(f)) {
            self.ids.pop_front();
        }
        if self.ids.len() > 2 * len + 64 {
            self.ids.retain(|x| live(x));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_survives_removals_anywhere() {
        let mut live = std::collections::BTreeSet::new();
        let mut o = IdOrder::default();
        for id in 0..300 {
            live.insert(id);
            o.add(id);
        }
        // Removals from the middle and the front: the list compacts and stays sorted.
        for id in (0..300).filter(|i| i % 3 != 0 || *i < 30) {
            live.remove(&id);
            o.prune(|x| live.contains(x), live.len());
        }
        let kept: Vec<u64> = o.ids.iter().copied().filter(|x| live.contains(x)).collect();
        assert_eq!(kept, live.iter().copied().collect::<Vec<_>>());
        assert_eq!(o.ids.front(), Some(&30));
        assert!(o.ids.len() <= 2 * live.len() + 64);
        // An id older than the newest still lands in order, once.
        o.add(31);
        o.add(31);
        assert_eq!(o.ids.iter().filter(|x| **x == 31).count(), 1);
        assert!(o.ids.iter().zip(o.ids.iter().skip(1)).all(|(a, b)| a < b));
    }
}
