//! Strings cut from one shared allocation ([`Text`]).

use std::sync::Arc;

/// A piece of a string shared with other pieces: the texts a dialog keeps from its first
/// message (From URI, To URI, From tag) are one allocation instead of one each (a flood
/// creates and drops a dialog per INVITE). Reads as `&str`; as big as a `String`.
#[derive(Clone)]
pub struct Text {
    all: Arc<str>,
    start: u32,
    end: u32,
}

impl Text {
    /// The pieces `parts`, copied into one shared allocation (built in `buf`, a scratch
    /// buffer the caller keeps between calls).
    pub fn shared<const N: usize>(parts: [&str; N], buf: &mut String) -> [Text; N] {
        buf.clear();
        let mut bounds = [(0u32, 0u32); N];
        for (b, p) in bounds.iter_mut().zip(parts) {
            let start = buf.len();
            buf.push_str(p);
            // A SIP message is far below 4 GiB; past it a piece would read as empty.
            let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            *b = (at(start), at(buf.len()));
        }
        let all: Arc<str> = Arc::from(buf.as_str());
        bounds.map(|(start, end)| Text {
            all: Arc::clone(&all),
            start,
            end,
        })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.all
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        let [t] = Text::shared([s], &mut String::new());
        t
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_read_back_from_one_allocation() {
        let mut buf = String::from("left over");
        let [a, b, c, d] = Text::shared(["sip:a@b", "", "é😀", "tag"], &mut buf);
        assert_eq!((&*a, &*b, &*c, &*d), ("sip:a@b", "", "é😀", "tag"));
        assert!(Arc::ptr_eq(&a.all, &d.all));
        assert_eq!(a.to_string(), "sip:a@b");
        assert_eq!(format!("{c:?}"), format!("{:?}", "é😀"));
        assert_eq!(a, "sip:a@b");
        assert_eq!(Text::from("tag"), d);
        assert_eq!(Text::from(""), b);
        let none: [Text; 0] = Text::shared([], &mut buf);
        assert!(none.is_empty());
    }
}
