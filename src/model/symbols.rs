//! Interned short strings: methods and start-line labels ("INVITE", "200 OK") repeat for
//! every message, so the engine stores a 4-byte [`Sym`] per message and each text once.

use rustc_hash::FxHashMap;

/// An interned string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sym(u32);

/// Well-known symbols, interned first so that they have fixed ids.
impl Sym {
    /// Stands for every string past the table's bound.
    pub const OTHER: Sym = Sym(0);
    /// The empty string.
    pub const EMPTY: Sym = Sym(1);
    /// INVITE.
    pub const INVITE: Sym = Sym(2);
    /// ACK.
    pub const ACK: Sym = Sym(3);
    /// BYE.
    pub const BYE: Sym = Sym(4);
    /// CANCEL.
    pub const CANCEL: Sym = Sym(5);
}

const PRESET: [&str; 6] = ["(other)", "", "INVITE", "ACK", "BYE", "CANCEL"];

/// A bounded string interner. Past `max` distinct strings (reason phrases are free text a
/// sender chooses), new strings map to [`Sym::OTHER`] and are counted.
#[derive(Debug, Clone)]
pub struct Symbols {
    names: Vec<Box<str>>,
    index: FxHashMap<Box<str>, Sym>,
    max: usize,
    /// Strings not interned because the table was full.
    pub overflow: u64,
    /// Recently interned symbols by [`recent_slot`] (0: none). Nearly every call interns
    /// one of a handful of strings (methods, status lines, codec and media names): one
    /// compare with the cached text answers those without hashing it.
    recent: [u32; RECENT],
}

/// Slots of [`Symbols::recent`].
const RECENT: usize = 64;

/// The slot of `text` in [`Symbols::recent`]: its length and its first and last bytes,
/// which tell apart the strings interned together in practice.
fn recent_slot(text: &str) -> usize {
    let b = text.as_bytes();
    let first = usize::from(b.first().copied().unwrap_or(0));
    let last = usize::from(b.last().copied().unwrap_or(0));
    (first ^ (last << 2) ^ b.len().wrapping_mul(11)) % RECENT
}

impl Symbols {
    /// A table holding at most `max` strings (at least the presets).
    pub fn new(max: usize) -> Self {
        let mut s = Symbols {
            names: Vec::new(),
            index: FxHashMap::default(),
            max: max.max(PRESET.len()),
            overflow: 0,
            recent: [0; RECENT],
        };
        for p in PRESET {
            let id = Sym(s.names.len() as u32);
            s.names.push(p.into());
            s.index.insert(p.into(), id);
        }
        s
    }

    /// The symbol for `text`, interning it when there is room.
    pub fn intern(&mut self, text: &str) -> Sym {
        let slot = recent_slot(text);
        let cached = self.recent.get(slot).copied().unwrap_or(0);
        if cached != 0
            && self
                .names
                .get(cached as usize)
                .is_some_and(|n| **n == *text)
        {
            return Sym(cached);
        }
        let id = match self.index.get(text) {
            Some(s) => *s,
            None if self.names.len() >= self.max => {
                self.overflow += 1;
                return Sym::OTHER;
            }
            None => {
                let id = Sym(self.names.len() as u32);
                self.names.push(text.into());
                self.index.insert(text.into(), id);
                id
            }
        };
        if let Some(r) = self.recent.get_mut(slot) {
            *r = id.0;
        }
        id
    }

    /// The text of a symbol.
    pub fn name(&self, s: Sym) -> &str {
        self.names.get(s.0 as usize).map(|b| &**b).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_bound() {
        let mut s = Symbols::new(8);
        assert_eq!(s.intern("INVITE"), Sym::INVITE);
        assert_eq!(s.name(Sym::BYE), "BYE");
        let ok = s.intern("200 OK");
        assert_eq!(s.intern("200 OK"), ok);
        assert_eq!(s.name(ok), "200 OK");
        s.intern("a");
        assert_eq!(s.intern("b"), Sym::OTHER);
        assert_eq!(s.overflow, 1);
        assert_eq!(s.name(Sym::OTHER), "(other)");
    }

    #[test]
    fn recent_cache_agrees_with_the_table() {
        // Strings sharing a slot (same length, first and last bytes) and repeats: every
        // answer is the table's, the overflow counts only strings never interned.
        let mut s = Symbols::new(10);
        let words = [
            "200 OK", "2xx OK", "200 OK", "INVITE", "ACK", "", "(other)", "aXb",
        ];
        let mut first = Vec::new();
        for w in words {
            first.push(s.intern(w));
        }
        for (w, id) in words.iter().zip(&first) {
            assert_eq!(s.intern(w), *id, "{w}");
            assert_eq!(s.name(*id), if *id == Sym::OTHER { "(other)" } else { w });
        }
        assert_eq!(s.intern(""), Sym::EMPTY);
        assert_eq!(s.intern("(other)"), Sym::OTHER);
        assert_eq!(s.overflow, 0);
        s.intern("full");
        assert_eq!(s.intern("past"), Sym::OTHER);
        assert_eq!(s.intern("past"), Sym::OTHER);
        assert_eq!(s.overflow, 2);
        assert_eq!(s.intern("aXb"), first[7]);
    }
}
