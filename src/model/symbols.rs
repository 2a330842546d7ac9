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
}

impl Symbols {
    /// A table holding at most `max` strings (at least the presets).
    pub fn new(max: usize) -> Self {
        let mut s = Symbols {
            names: Vec::new(),
            index: FxHashMap::default(),
            max: max.max(PRESET.len()),
            overflow: 0,
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
        if let Some(s) = self.index.get(text) {
            return *s;
        }
        if self.names.len() >= self.max {
            self.overflow += 1;
            return Sym::OTHER;
        }
        let id = Sym(self.names.len() as u32);
        self.names.push(text.into());
        self.index.insert(text.into(), id);
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
}
