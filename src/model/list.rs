//! A short list holding its first item in place ([`List`]).

/// A list holding its first item in place, for per-dialog or per-source records that
/// nearly always have one item: a `Vec` for one item was an allocation each, freed cold
/// when its dialog or source was evicted (a flood makes one per INVITE, and glibc then
/// reused those chunks with a cache miss per allocation). Reads as a slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum List<T> {
    /// No item, or one.
    One(Option<T>),
    /// Two or more (or fewer, after a removal).
    Many(Vec<T>),
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List::One(None)
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            List::One(None) => &[],
            List::One(Some(x)) => std::slice::from_ref(x),
            List::Many(v) => v,
        }
    }
}

impl<T> std::ops::DerefMut for List<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            List::One(None) => &mut [],
            List::One(Some(x)) => std::slice::from_mut(x),
            List::Many(v) => v,
        }
    }
}

impl<T> List<T> {
    /// Appends `x`.
    pub fn push(&mut self, x: T) {
        match self {
            List::One(slot @ None) => *slot = Some(x),
            List::One(Some(_)) => {
                if let List::One(Some(first)) = std::mem::take(self) {
                    let mut v = Vec::with_capacity(4);
                    v.push(first);
                    v.push(x);
                    *self = List::Many(v);
                }
            }
            List::Many(v) => v.push(x),
        }
    }

    /// Appends `x`: the second item starts a list of two, and later ones go through
    /// `grow` (the caller's growth policy for the `Vec`).
    pub fn push_with(&mut self, x: T, grow: impl FnOnce(&mut Vec<T>, T)) {
        self.push_reserving(x, 2, grow);
    }

    /// [`Self::push_with`], the second item starting a list with room for `room` items
    /// (two at least): for lists whose usual length is known (a call's transactions).
    pub fn push_reserving(&mut self, x: T, room: usize, grow: impl FnOnce(&mut Vec<T>, T)) {
        match self {
            List::One(slot @ None) => *slot = Some(x),
            List::One(Some(_)) => {
                if let List::One(Some(first)) = std::mem::take(self) {
                    let mut v = Vec::with_capacity(room.max(2));
                    v.push(first);
                    v.push(x);
                    *self = List::Many(v);
                }
            }
            List::Many(v) => grow(v, x),
        }
    }

    /// Frees the spare room of a longer list.
    pub fn shrink_to_fit(&mut self) {
        if let List::Many(v) = self {
            v.shrink_to_fit();
        }
    }

    /// Frees the spare room of a longer list when more than `keep` slots are spare.
    pub fn shrink_keeping(&mut self, keep: usize) {
        if let List::Many(v) = self {
            if v.capacity() > v.len().saturating_add(keep) {
                v.shrink_to_fit();
            }
        }
    }

    /// Keeps the items `keep` says yes to, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            List::One(slot) => {
                if slot.as_ref().is_some_and(|x| !keep(x)) {
                    *slot = None;
                }
            }
            List::Many(v) => v.retain(|x| keep(x)),
        }
    }
}

impl<T> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut it = iter.into_iter();
        let Some(first) = it.next() else {
            return List::default();
        };
        match it.next() {
            None => List::One(Some(first)),
            Some(second) => {
                let mut v = Vec::with_capacity(2 + it.size_hint().0);
                v.push(first);
                v.push(second);
                v.extend(it);
                List::Many(v)
            }
        }
    }
}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T> IntoIterator for List<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        match self {
            List::One(x) => IntoIter::One(x),
            List::Many(v) => IntoIter::Many(v.into_iter()),
        }
    }
}

/// The items of a [`List`], by value, in order.
#[derive(Debug)]
pub enum IntoIter<T> {
    /// What a list of none or one gives.
    One(Option<T>),
    /// What a longer list gives.
    Many(std::vec::IntoIter<T>),
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            IntoIter::One(x) => x.take(),
            IntoIter::Many(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_keeps_its_first_item_in_place_then_grows() {
        let mut l: List<u32> = List::default();
        assert!(l.is_empty());
        l.push(1);
        assert!(matches!(l, List::One(Some(1))));
        assert_eq!(&*l, &[1]);
        l.push(2);
        l.push(3);
        assert_eq!(&*l, &[1, 2, 3]);
        l.retain(|x| *x != 2);
        assert_eq!(&*l, &[1, 3]);
        if let Some(x) = l.first_mut() {
            *x = 7;
        }
        assert_eq!(&*l, &[7, 3]);
        let mut one: List<u32> = List::default();
        one.push(5);
        one.retain(|x| *x != 5);
        assert!(one.is_empty());
        one.push(6);
        assert_eq!(&*one, &[6]);
        assert_eq!((&one).into_iter().count(), 1);
    }

    #[test]
    fn push_with_grows_through_the_callers_policy_past_two() {
        let mut l: List<u32> = List::default();
        let mut grown = 0;
        for x in 0..5 {
            l.push_with(x, |v, x| {
                grown += 1;
                v.push(x);
            });
        }
        assert_eq!((&*l, grown), (&[0, 1, 2, 3, 4][..], 3));
        l.shrink_to_fit();
        assert!(matches!(&l, List::Many(v) if v.capacity() == 5));
        let mut two: List<u32> = List::default();
        two.push_with(1, |_, _| unreachable!());
        assert!(matches!(two, List::One(Some(1))));
        two.push_with(2, |_, _| unreachable!());
        assert!(matches!(&two, List::Many(v) if v.capacity() == 2));
    }

    #[test]
    fn push_reserving_sizes_the_list_at_its_second_item() {
        let mut l: List<u32> = List::default();
        for x in 0..6 {
            l.push_reserving(x, 6, |v, x| {
                assert!(v.len() < v.capacity(), "grew past the room asked for");
                v.push(x);
            });
        }
        assert!(matches!(&l, List::Many(v) if v.capacity() == 6 && v.len() == 6));
        let mut small: List<u32> = List::default();
        small.push_reserving(1, 0, |_, _| unreachable!());
        small.push_reserving(2, 0, |_, _| unreachable!());
        assert!(matches!(&small, List::Many(v) if v.capacity() == 2));
        // One spare slot kept, more freed.
        let mut spare: List<u32> = List::default();
        for x in 0..3 {
            spare.push_reserving(x, 4, |v, x| v.push(x));
        }
        spare.shrink_keeping(1);
        assert!(matches!(&spare, List::Many(v) if v.capacity() == 4));
        spare.push(9);
        spare.push(10);
        spare.shrink_keeping(1);
        assert!(matches!(&spare, List::Many(v) if v.capacity() >= 5 && v.len() == 5));
        let mut wide: List<u32> = List::default();
        for x in 0..2 {
            wide.push_reserving(x, 8, |v, x| v.push(x));
        }
        wide.shrink_keeping(1);
        assert!(matches!(&wide, List::Many(v) if v.capacity() == 2));
    }

    #[test]
    fn a_list_gives_its_items_by_value_in_order() {
        let none: List<String> = List::default();
        assert_eq!(none.into_iter().count(), 0);
        let one: List<String> = ["a".to_string()].into_iter().collect();
        assert_eq!(one.into_iter().collect::<Vec<_>>(), ["a"]);
        let mut many: List<String> = List::default();
        for x in ["a", "b", "c"] {
            many.push(x.to_string());
        }
        assert_eq!(many.into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn collected_lists_hold_one_in_place() {
        assert_eq!(
            std::iter::empty::<u8>().collect::<List<u8>>(),
            List::One(None)
        );
        assert_eq!([4u8].into_iter().collect::<List<u8>>(), List::One(Some(4)));
        assert_eq!(
            [4u8, 5, 6].into_iter().collect::<List<u8>>(),
            List::Many(vec![4, 5, 6])
        );
    }
}
