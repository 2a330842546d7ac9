//! [`Few`]: a list holding its first `N` items in place, for the lists of a parsed SDP.
//!
//! Nearly every session description has one `t=` line: as a `Vec` it was an allocation
//! (and a free) per body. In place, it costs a copy into the value instead; a longer list
//! moves to the heap once, as a `Vec` would have grown anyway. Reads as a slice.
//!
//! Only for small items: holding the media lines or their attributes in place made the
//! parsed value near a kilobyte, and its moves cost more than the allocations saved.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A value that fills the unused places of a [`Few`] (never read through the slice).
pub trait Vacant {
    /// The filler.
    const VACANT: Self;
}

/// A list of `T` holding its first `N` items in place (see the module documentation).
/// Dereferences to the slice of its items; compares, prints and iterates as that slice.
#[derive(Clone)]
pub struct Few<T, const N: usize> {
    /// Items in `inline`, while `spill` is empty.
    len: usize,
    inline: [T; N],
    /// Every item, once there were more than `N` (never emptied again).
    spill: Vec<T>,
}

impl<T: Vacant, const N: usize> Few<T, N> {
    /// The empty list (no allocation).
    pub const fn new() -> Self {
        Few {
            len: 0,
            inline: [const { T::VACANT }; N],
            spill: Vec::new(),
        }
    }

    /// Appends `x`.
    #[inline]
    pub fn push(&mut self, x: T) {
        if self.spill.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = x;
                self.len += 1;
                return;
            }
            // Full: every item moves to the heap, with room for as many again.
            self.spill.reserve_exact(2 * N + 1);
            for slot in &mut self.inline {
                self.spill.push(std::mem::replace(slot, T::VACANT));
            }
            self.len = 0;
        }
        self.spill.push(x);
    }
}

impl<T: Vacant, const N: usize> Default for Few<T, N> {
    fn default() -> Self {
        Few::new()
    }
}

impl<T, const N: usize> Deref for Few<T, N> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        if self.spill.is_empty() {
            self.inline.get(..self.len).unwrap_or(&[])
        } else {
            &self.spill
        }
    }
}

impl<T, const N: usize> DerefMut for Few<T, N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        if self.spill.is_empty() {
            self.inline.get_mut(..self.len).unwrap_or(&mut [])
        } else {
            &mut self.spill
        }
    }
}

impl<'s, T, const N: usize> IntoIterator for &'s Few<T, N> {
    type Item = &'s T;
    type IntoIter = std::slice::Iter<'s, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Vacant, const N: usize> FromIterator<T> for Few<T, N> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut f = Few::new();
        for x in iter {
            f.push(x);
        }
        f
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Few<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq, const N: usize> PartialEq for Few<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq, const N: usize> Eq for Few<T, N> {}

impl<T: PartialEq, const N: usize> PartialEq<Vec<T>> for Few<T, N> {
    fn eq(&self, other: &Vec<T>) -> bool {
        **self == **other
    }
}

impl<T: PartialEq, const N: usize> PartialEq<[T]> for Few<T, N> {
    fn eq(&self, other: &[T]) -> bool {
        **self == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Vacant for u32 {
        const VACANT: Self = u32::MAX;
    }

    /// Every push sequence reads back as the `Vec` it would have built, across the move
    /// to the heap, and mutation through the slice reaches the items.
    #[test]
    fn reads_as_the_vec() {
        for n in 0..12u32 {
            let mut f: Few<u32, 3> = Few::new();
            let mut v = Vec::new();
            for i in 0..n {
                f.push(i);
                v.push(i);
                assert_eq!(f, v);
                assert_eq!(f.len(), v.len());
            }
            assert_eq!(format!("{f:?}"), format!("{v:?}"));
            assert_eq!((&f).into_iter().count(), v.len());
            if let Some(x) = f.last_mut() {
                *x += 100;
            }
            if let Some(x) = v.last_mut() {
                *x += 100;
            }
            assert_eq!(f, v);
            assert_eq!(f.clone(), f);
            assert_eq!(v.iter().copied().collect::<Few<u32, 3>>(), f);
        }
        let empty: Few<u32, 2> = Few::default();
        assert!(empty.is_empty());
        assert_eq!(empty, Few::<u32, 2>::new());
        let spilled: Few<u32, 1> = [1, 2].into_iter().collect();
        let inline: Few<u32, 1> = [1].into_iter().collect();
        assert_ne!(spilled, inline);
    }
}
