//! A memo of clean name-addr, Via and Request-URI parses, keyed by the exact value bytes.
//!
//! The messages of one dialog repeat their From, To, Contact and Via values byte for
//! byte (From in every message of a call, a Via in every message of its transaction), and
//! each was parsed strictly (RFC 3261 §25.1 grammar) once per message: 15% of the
//! instructions of a whole signaling report. Parsing is a pure function of the bytes and
//! every field of a [`NameAddr`] or [`Via`] is a sub-slice of its input, so the result for
//! bytes seen before is the old result's *shape* (the offsets of each field) laid over the
//! new bytes.
//!
//! Only values the strict grammar accepted are remembered (their verdict is "no
//! problem"), keyed by their bytes, which are compared in full on lookup: a hit gives
//! exactly what parsing would. A display name that had to be unescaped (an owned copy)
//! or a URI with `?headers` is not remembered. The memo is a small direct-mapped table
//! per thread: a bounded size whatever the capture, and a value pushed out is simply
//! parsed again.
//!
//! A second table serves the first message of each call and of each transaction: their
//! From/To `tag` and Via `branch` are new, but the rest of the value is what the previous
//! call carried (`"sipp" <sip:sipp@10.0.0.1:5061>;tag=`, `SIP/2.0/UDP 10.0.0.1:5061;branch=`).
//! It is keyed by the value up to and including its last `=`, and is used only when what
//! follows that `=` (the *tail*) is a non-empty run of `token` characters (§25.1) and, in
//! the remembered parse, the tail was exactly the `tag` (the `branch`) and every other field
//! ended before it. Token characters are none of the bytes the parsers branch on (`;` `,`
//! `=` `"` `\` `<` `>` `?` LWS), so the parse of the same prefix with another such tail
//! takes the same path and differs only in the fields that end at the value's end: the
//! parameter list and the tag (branch), which are stretched to the new end. A tag or branch
//! is kept as bytes, never interpreted, so its verdict does not depend on its text.

use std::cell::{Cell, RefCell};
use std::hash::BuildHasher;

use super::addr::NameAddr;
use super::text::{all_token, Params};
use super::uri::{Scheme, Uri};
use super::via::Via;

/// Slots of each table (a power of two). Calls in flight at once share it: a capture with
/// more than this many calls interleaved hits less often, never wrongly.
const SLOTS: usize = 512;

/// Longest value remembered (longer ones are rare and parsed every time).
const MAX_LEN: usize = 240;

/// Where a field is in the value: `at..at + len` (an empty field is `0..0`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    at: u8,
    len: u8,
}

/// The span of `sub` within `base`, None when it is not a non-empty sub-slice of it (an
/// empty slice need not point into `base`; every empty slice reads the same).
fn span(base: &[u8], sub: &[u8]) -> Option<Span> {
    if sub.is_empty() {
        return Some(Span::default());
    }
    // Addresses compared, nothing dereferenced.
    let at = (sub.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
    if at.checked_add(sub.len())? > base.len() {
        return None;
    }
    Some(Span {
        at: u8::try_from(at).ok()?,
        len: u8::try_from(sub.len()).ok()?,
    })
}

/// The bytes of `s` in `base` (in bounds: `base` equals the bytes `s` was taken from).
#[inline(always)]
fn at(base: &[u8], s: Span) -> &[u8] {
    let start = usize::from(s.at);
    base.get(start..start + usize::from(s.len)).unwrap_or(&[])
}

fn opt_span(base: &[u8], sub: Option<&[u8]>) -> Option<Option<Span>> {
    match sub {
        None => Some(None),
        Some(s) => span(base, s).map(Some),
    }
}

/// Where the tail of `value` starts (see the module doc): just after its last `=`, when
/// what follows is a non-empty run of token characters.
#[inline]
fn tail_start(value: &[u8]) -> Option<usize> {
    let start = memchr::memrchr(b'=', value)? + 1;
    let tail = value.get(start..)?;
    (!tail.is_empty() && all_token(tail)).then_some(start)
}

/// The bytes of `s` in `base`, or from its start to the end of `base` when `tail` (a
/// field that ends at the end of a value served by the tail table, see the module doc).
#[inline(always)]
fn at_or_tail(base: &[u8], s: Span, tail: bool) -> &[u8] {
    if tail {
        base.get(usize::from(s.at)..).unwrap_or(&[])
    } else {
        at(base, s)
    }
}

/// `s` ends at or before `end`.
fn ends_by(s: Span, end: usize) -> bool {
    usize::from(s.at) + usize::from(s.len) <= end
}

fn opt_ends_by(s: Option<Span>, end: usize) -> bool {
    s.is_none_or(|s| ends_by(s, end))
}

/// `params` runs from before the tail `start..end` to the end, and `tail` is exactly the
/// tail.
fn tail_fits(params: Span, tail: Option<Span>, start: usize, end: usize) -> bool {
    let runs_to_end = |s: Span| usize::from(s.at) + usize::from(s.len) == end;
    usize::from(params.at) < start
        && runs_to_end(params)
        && tail.is_some_and(|t| usize::from(t.at) == start && runs_to_end(t))
}

/// A [`Scheme`] without its lifetime.
#[derive(Debug, Clone, Copy)]
enum SchemeShape {
    Sip,
    Sips,
    Tel,
    Other(Span),
}

/// A [`Uri`] without `?headers`, as spans.
#[derive(Debug, Clone, Copy)]
struct UriShape {
    scheme: SchemeShape,
    user: Option<Span>,
    password: Option<Span>,
    host: Span,
    port: Option<u16>,
    params: Span,
    opaque: Span,
    transport: Option<Span>,
}

impl UriShape {
    fn of(base: &[u8], u: &Uri<'_>) -> Option<UriShape> {
        if !u.headers.is_empty() {
            return None;
        }
        Some(UriShape {
            scheme: match u.scheme {
                Scheme::Sip => SchemeShape::Sip,
                Scheme::Sips => SchemeShape::Sips,
                Scheme::Tel => SchemeShape::Tel,
                Scheme::Other(s) => SchemeShape::Other(span(base, s)?),
            },
            user: opt_span(base, u.user)?,
            password: opt_span(base, u.password)?,
            host: span(base, u.host)?,
            port: u.port,
            params: span(base, u.params.raw())?,
            opaque: span(base, u.opaque)?,
            transport: opt_span(base, u.transport())?,
        })
    }

    /// Every field ends at or before `end`.
    fn ends_by(&self, end: usize) -> bool {
        let scheme = match self.scheme {
            SchemeShape::Other(s) => ends_by(s, end),
            _ => true,
        };
        scheme
            && opt_ends_by(self.user, end)
            && opt_ends_by(self.password, end)
            && ends_by(self.host, end)
            && ends_by(self.params, end)
            && ends_by(self.opaque, end)
            && opt_ends_by(self.transport, end)
    }

    #[inline(always)]
    fn build<'a>(&self, base: &'a [u8]) -> Uri<'a> {
        Uri {
            scheme: match self.scheme {
                SchemeShape::Sip => Scheme::Sip,
                SchemeShape::Sips => Scheme::Sips,
                SchemeShape::Tel => Scheme::Tel,
                SchemeShape::Other(s) => Scheme::Other(at(base, s)),
            },
            user: self.user.map(|s| at(base, s)),
            password: self.password.map(|s| at(base, s)),
            host: at(base, self.host),
            port: self.port,
            params: Params::uri(at(base, self.params)),
            headers: Vec::new(),
            opaque: at(base, self.opaque),
            transport: self.transport.map(|s| at(base, s)),
        }
    }
}

/// A [`NameAddr`] whose display name, if any, is borrowed.
#[derive(Debug, Clone, Copy)]
struct NameAddrShape {
    display_name: Option<Span>,
    uri_raw: Span,
    uri: UriShape,
    params: Span,
    tag: Option<Span>,
}

impl NameAddrShape {
    fn of(base: &[u8], n: &NameAddr<'_>) -> Option<NameAddrShape> {
        let display_name = match &n.display_name {
            None => None,
            Some(std::borrow::Cow::Borrowed(d)) => Some(span(base, d)?),
            // Unescaped or unfolded: not a slice of the value.
            Some(std::borrow::Cow::Owned(_)) => return None,
        };
        Some(NameAddrShape {
            display_name,
            uri_raw: span(base, n.uri_raw)?,
            uri: UriShape::of(base, &n.uri)?,
            params: span(base, n.params.raw())?,
            tag: opt_span(base, n.tag())?,
        })
    }

    /// The shape of a parse whose tag is the tail `start..` of its value (see the module
    /// doc), every other field but the parameter list ending before it.
    fn of_tail(base: &[u8], n: &NameAddr<'_>, start: usize) -> Option<NameAddrShape> {
        let s = NameAddrShape::of(base, n)?;
        let ok = tail_fits(s.params, s.tag, start, base.len())
            && opt_ends_by(s.display_name, start)
            && ends_by(s.uri_raw, start)
            && s.uri.ends_by(start);
        ok.then_some(s)
    }

    #[inline(always)]
    /// The value over `base`; `tail`: the shape is from the tail table, its parameter list
    /// and tag run to the end of `base`.
    fn build<'a>(&self, base: &'a [u8], tail: bool) -> NameAddr<'a> {
        NameAddr {
            display_name: self
                .display_name
                .map(|s| std::borrow::Cow::Borrowed(at(base, s))),
            uri_raw: at(base, self.uri_raw),
            uri: self.uri.build(base),
            params: Params::generic(at_or_tail(base, self.params, tail)),
            tag: self.tag.map(|s| at_or_tail(base, s, tail)),
        }
    }
}

/// A [`Via`] as spans.
#[derive(Debug, Clone, Copy)]
struct ViaShape {
    protocol: Span,
    version: Span,
    transport: Span,
    host: Span,
    port: Option<u16>,
    branch: Option<Span>,
    received: Option<Span>,
    rport: Option<Option<u16>>,
    maddr: Option<Span>,
    ttl: Option<u8>,
    params: Span,
}

impl ViaShape {
    fn of(base: &[u8], v: &Via<'_>) -> Option<ViaShape> {
        Some(ViaShape {
            protocol: span(base, v.protocol)?,
            version: span(base, v.version)?,
            transport: span(base, v.transport)?,
            host: span(base, v.host)?,
            port: v.port,
            branch: opt_span(base, v.branch)?,
            received: opt_span(base, v.received)?,
            rport: v.rport,
            maddr: opt_span(base, v.maddr)?,
            ttl: v.ttl,
            params: span(base, v.params.raw())?,
        })
    }

    /// The shape of a parse whose branch is the tail `start..` of its value (see the
    /// module doc), every other field but the parameter list ending before it.
    fn of_tail(base: &[u8], v: &Via<'_>, start: usize) -> Option<ViaShape> {
        let s = ViaShape::of(base, v)?;
        let ok = tail_fits(s.params, s.branch, start, base.len())
            && ends_by(s.protocol, start)
            && ends_by(s.version, start)
            && ends_by(s.transport, start)
            && ends_by(s.host, start)
            && opt_ends_by(s.received, start)
            && opt_ends_by(s.maddr, start);
        ok.then_some(s)
    }

    #[inline(always)]
    /// The value over `base`; `tail`: the shape is from the tail table, its parameter list
    /// and branch run to the end of `base`.
    fn build<'a>(&self, base: &'a [u8], tail: bool) -> Via<'a> {
        Via {
            protocol: at(base, self.protocol),
            version: at(base, self.version),
            transport: at(base, self.transport),
            host: at(base, self.host),
            port: self.port,
            branch: self.branch.map(|s| at_or_tail(base, s, tail)),
            received: self.received.map(|s| at(base, s)),
            rport: self.rport,
            maddr: self.maddr.map(|s| at(base, s)),
            ttl: self.ttl,
            params: Params::generic(at_or_tail(base, self.params, tail)),
        }
    }
}

/// One direct-mapped table: slot `hash % SLOTS` holds the last value stored there.
struct Table<S> {
    slots: Vec<Option<(Vec<u8>, S)>>,
}

impl<S: Copy> Table<S> {
    const fn new() -> Self {
        Table { slots: Vec::new() }
    }

    #[inline(always)]
    fn index(value: &[u8]) -> usize {
        // FxHash: no random seed, and collisions only cost a miss (bytes are compared).
        let h = rustc_hash::FxBuildHasher.hash_one(value);
        // Top bits: FxHash mixes upward.
        (h >> (64 - SLOTS.trailing_zeros())) as usize
    }

    /// The shape remembered for `value` (borrowed: the caller builds from it in place).
    #[inline(always)]
    fn get(&self, value: &[u8]) -> Option<&S> {
        match self.slots.get(Self::index(value))? {
            Some((key, shape)) if key.as_slice() == value => Some(shape),
            _ => None,
        }
    }

    fn put(&mut self, value: &[u8], shape: S) {
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        if let Some(slot) = self.slots.get_mut(Self::index(value)) {
            match slot {
                // Reuse the key's allocation.
                Some((key, s)) => {
                    key.clear();
                    key.extend_from_slice(value);
                    *s = shape;
                }
                None => *slot = Some((value.to_vec(), shape)),
            }
        }
    }
}

/// Misses between two looks at how well remembering pays ([`Adapt`]).
const WINDOW: u32 = 64;

/// Longest remembering stride: at most one miss in this many is remembered.
const MAX_STRIDE: u32 = 64;

/// When to remember a miss, per kind of value.
///
/// Remembering a parse costs about half a parse again (its shape, the key copied into the
/// table), and pays only when the value comes back. In a dialog it does, many times; in a
/// flood of new calls (every From, To, Via and Request-URI new) nothing ever comes back
/// and remembering was a third of the strict parse's cost. So every [`WINDOW`] misses the
/// hits served since are weighed against the values remembered: when they fall below one
/// hit for two values remembered, only every `stride`-th miss is remembered from then on,
/// `stride` doubling each window up to [`MAX_STRIDE`]; when they reach two hits per value
/// the stride halves back towards 1. A value a dialog repeats still gets remembered
/// within a few misses at any stride (each of its misses ticks the countdown), and the
/// hits it then brings pull the stride back down.
///
/// The counters are per thread and depend only on the sequence of lookups, so the
/// behaviour is deterministic; and since the memo is a pure cache (a hit gives exactly
/// what parsing would), what is remembered never changes a result, only its cost.
#[derive(Debug)]
struct Adapt {
    /// Hits served in this window (a `Cell`: lookups hold the memo shared). Wrapping, one
    /// add on the hit path: 2^64 hits in one window do not happen.
    hits: Cell<u64>,
    /// Misses seen in this window.
    misses: u32,
    /// Misses remembered in this window.
    puts: u32,
    /// Remember one miss in this many (1: every miss).
    stride: u32,
    /// Misses still to skip before the next one remembered.
    countdown: u32,
}

impl Adapt {
    const fn new() -> Self {
        Adapt {
            hits: Cell::new(0),
            misses: 0,
            puts: 0,
            stride: 1,
            countdown: 0,
        }
    }

    /// A lookup was served.
    #[inline(always)]
    fn hit(&self) {
        self.hits.set(self.hits.get().wrapping_add(1));
    }

    /// A clean value missed: whether to remember it (and account for the choice).
    fn admit(&mut self) -> bool {
        let take = self.countdown == 0;
        if take {
            self.countdown = self.stride - 1;
            self.puts += 1;
        } else {
            self.countdown -= 1;
        }
        self.misses += 1;
        if self.misses >= WINDOW {
            let hits = self.hits.get();
            let puts = u64::from(self.puts);
            if hits < puts.div_ceil(2) {
                self.stride = (self.stride * 2).min(MAX_STRIDE);
            } else if hits >= puts * 2 {
                self.stride = (self.stride / 2).max(1);
            }
            self.countdown = self.countdown.min(self.stride - 1);
            self.hits.set(0);
            self.misses = 0;
            self.puts = 0;
        }
        take
    }
}

struct Memo {
    /// When to remember name-addrs (both tables), Vias (both tables), URIs.
    name_addr_adapt: Adapt,
    via_adapt: Adapt,
    uri_adapt: Adapt,
    name_addrs: Table<NameAddrShape>,
    vias: Table<ViaShape>,
    uris: Table<UriShape>,
    /// Keyed by the value up to its tail (see the module doc).
    name_addr_tails: Table<NameAddrShape>,
    /// Keyed by the value up to its tail (see the module doc).
    via_tails: Table<ViaShape>,
}

thread_local! {
    static MEMO: RefCell<Memo> = const {
        RefCell::new(Memo {
            name_addr_adapt: Adapt::new(),
            via_adapt: Adapt::new(),
            uri_adapt: Adapt::new(),
            name_addrs: Table::new(),
            vias: Table::new(),
            uris: Table::new(),
            name_addr_tails: Table::new(),
            via_tails: Table::new(),
        })
    };
}

/// The parse of `value` as a URI, when it was remembered (any successful parse of a URI
/// without `?headers`: [`Uri::parse`] has one mode, its host check is separate).
#[inline]
pub(crate) fn uri(value: &[u8]) -> Option<Uri<'_>> {
    if value.len() > MAX_LEN {
        return None;
    }
    MEMO.with(|m| {
        let m = m.try_borrow().ok()?;
        let shape = m.uris.get(value)?;
        m.uri_adapt.hit();
        Some(shape.build(value))
    })
}

/// Remembers the parse `u` of `value` (which missed), when remembering pays ([`Adapt`]).
pub(crate) fn remember_uri(value: &[u8], u: &Uri<'_>) {
    if value.len() > MAX_LEN {
        return;
    }
    MEMO.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            if !m.uri_adapt.admit() {
                return;
            }
            if let Some(shape) = UriShape::of(value, u) {
                m.uris.put(value, shape);
            }
        }
    });
}

/// The strict parse of `value` as a name-addr, when it was remembered clean.
#[inline]
pub(crate) fn name_addr(value: &[u8]) -> Option<NameAddr<'_>> {
    if value.len() > MAX_LEN {
        return None;
    }
    MEMO.with(|m| {
        let m = m.try_borrow().ok()?;
        // A value with a tail is remembered in the tail table when its parse allows.
        if let Some(start) = tail_start(value) {
            if let Some(shape) = value.get(..start).and_then(|p| m.name_addr_tails.get(p)) {
                m.name_addr_adapt.hit();
                return Some(shape.build(value, true));
            }
        }
        let shape = m.name_addrs.get(value)?;
        m.name_addr_adapt.hit();
        Some(shape.build(value, false))
    })
}

/// Remembers the clean strict parse `n` of `value` (which missed), when remembering pays
/// ([`Adapt`]).
pub(crate) fn remember_name_addr(value: &[u8], n: &NameAddr<'_>) {
    if value.len() > MAX_LEN {
        return;
    }
    MEMO.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            if !m.name_addr_adapt.admit() {
                return;
            }
            let Some(shape) = NameAddrShape::of(value, n) else {
                return;
            };
            let tail = tail_start(value).and_then(|start| {
                let shape = NameAddrShape::of_tail(value, n, start)?;
                Some((value.get(..start)?, shape))
            });
            // One table or the other: a value with a tail is looked up there first.
            match tail {
                Some((prefix, shape)) => m.name_addr_tails.put(prefix, shape),
                None => m.name_addrs.put(value, shape),
            }
        }
    });
}

/// The strict parse of `value` as a via-parm, when it was remembered clean.
#[inline]
pub(crate) fn via(value: &[u8]) -> Option<Via<'_>> {
    if value.len() > MAX_LEN {
        return None;
    }
    MEMO.with(|m| {
        let m = m.try_borrow().ok()?;
        // A value with a tail is remembered in the tail table when its parse allows.
        if let Some(start) = tail_start(value) {
            if let Some(shape) = value.get(..start).and_then(|p| m.via_tails.get(p)) {
                m.via_adapt.hit();
                return Some(shape.build(value, true));
            }
        }
        let shape = m.vias.get(value)?;
        m.via_adapt.hit();
        Some(shape.build(value, false))
    })
}

/// Remembers the clean strict parse `v` of `value` (which missed), when remembering pays
/// ([`Adapt`]).
pub(crate) fn remember_via(value: &[u8], v: &Via<'_>) {
    if value.len() > MAX_LEN {
        return;
    }
    MEMO.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            if !m.via_adapt.admit() {
                return;
            }
            let Some(shape) = ViaShape::of(value, v) else {
                return;
            };
            let tail = tail_start(value).and_then(|start| {
                let shape = ViaShape::of_tail(value, v, start)?;
                Some((value.get(..start)?, shape))
            });
            // One table or the other: a value with a tail is looked up there first.
            match tail {
                Some((prefix, shape)) => m.via_tails.put(prefix, shape),
                None => m.vias.put(value, shape),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::addr::parse_name_addr;
    use super::super::via::parse_via;
    use super::*;

    /// A remembered value is rebuilt equal to its parse, over a copy of the bytes (other
    /// addresses), and a value differing in one byte is not taken for it.
    #[test]
    fn rebuilt_equals_parsed() {
        let addrs: &[&[u8]] = &[
            b"\"Alice\" <sip:alice@127.0.0.1:5070>;tag=7281SIPpTag001",
            b"<sip:service@127.0.0.1:5060>",
            b"<sip:alice@127.0.0.1:5070;transport=UDP>",
            b"sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
            b"Bob <sips:bob:pw@[2001:db8::1]:5061;lr>;expires=60;q=0.5",
            b"tel:+1-201-555-0123;phone-context=example.com",
            b"<urn:service:sos>",
            b"\"J Rosenberg \\\\\\\"\" <sip:jdrosen@example.com>;tag=98asjd8",
            b"<sip:u@h?Subject=x>",
        ];
        for a in addrs {
            let Ok(parsed) = parse_name_addr(a, true) else {
                panic!("{a:?}")
            };
            remember_name_addr(a, &parsed);
            let copy = a.to_vec();
            let cached = name_addr(&copy);
            // Escaped display names and URI headers are not remembered.
            let remembered = !a.starts_with(b"\"J") && !a.ends_with(b"x>");
            assert_eq!(cached.is_some(), remembered, "{a:?}");
            if let Some(c) = cached {
                assert_eq!(c, parsed);
                assert_eq!(c.tag(), parsed.tag());
                assert_eq!(c.uri.transport(), parsed.uri.transport());
            }
            let u = Uri::parse(parsed.uri_raw).ok();
            if let Some(u) = &u {
                remember_uri(parsed.uri_raw, u);
            }
            let raw_copy = parsed.uri_raw.to_vec();
            // A URI with `?headers` is not remembered (an escaped display name is no
            // matter for the URI alone).
            assert_eq!(uri(&raw_copy).is_some(), !a.ends_with(b"x>"), "{a:?}");
            if let Some(c) = uri(&raw_copy) {
                assert_eq!(Some(c), u);
            }
            // A value differing in its first byte is not taken for it.
            let mut other = a.to_vec();
            if let Some(b) = other.first_mut() {
                *b ^= 1;
            }
            assert!(name_addr(&other).is_none());
            // One differing in its last byte may be served by the tail table, and then as
            // its own parse.
            let mut other = a.to_vec();
            if let Some(b) = other.last_mut() {
                *b ^= 1;
            }
            if let Some(c) = name_addr(&other) {
                assert_eq!(Ok(c), parse_name_addr(&other, true), "{other:?}");
            }
        }
        let vias: &[&[u8]] = &[
            b"SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-7281-1-0",
            b"SIP/2.0/TCP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKas3;rport=5;ttl=3;maddr=h",
            b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw;rport",
        ];
        for v in vias {
            let Ok(parsed) = parse_via(v, true) else {
                panic!("{v:?}")
            };
            remember_via(v, &parsed);
            let copy = v.to_vec();
            assert_eq!(via(&copy), Some(parsed));
        }
    }

    /// A new tag (branch) after a remembered prefix is served by the tail table, exactly
    /// as parsing it gives; a tail that is not all token characters, or a tag that is not
    /// the last thing in the value, is not.
    #[test]
    fn tails() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (
                b"\"sipp\" <sip:sipp@10.0.0.1:5061>;tag=",
                b"1234SIPpTag01",
                true,
            ),
            (b"<sip:service@10.0.0.1:5060>;tag=", b"99-x.y", true),
            (b"sip:a@h;tag=", b"z", true),
            (b"Bob <sip:b@h;transport=tcp>;q=1;tag=", b"abc", true),
            (b"<sip:b@h>;tag=", b"a;b=c", false),
            (b"<sip:b@h>;tag=", b"a b", false),
            (b"<sip:b@h>;tag=1;x=", b"abc", false),
            (b"<sip:b@h>;x=1;tag=a;tag=", b"abc", false),
            (b"<sip:b@h>;tag=", b"", false),
            (b"<sip:b@h;maddr=x>;tag=", b"y>", false),
        ];
        for &(prefix, tail, served) in cases {
            let first = [prefix, b"first0"].concat();
            let Ok(parsed) = parse_name_addr(&first, true) else {
                panic!("{first:?}")
            };
            remember_name_addr(&first, &parsed);
            let new = [prefix, tail].concat();
            let got = name_addr(&new);
            assert_eq!(got.is_some(), served, "{new:?}");
            if let Some(got) = got {
                assert_eq!(Ok(got.clone()), parse_name_addr(&new, true));
                assert_eq!(got.tag(), Some(tail));
            }
        }
        let vias: &[(&[u8], &[u8], bool)] = &[
            (b"SIP/2.0/UDP 10.0.0.1:5061;branch=", b"z9hG4bK-1-2-3", true),
            (
                b"SIP/2.0/TCP [2001:db8::1];rport=5;received=h;branch=",
                b"z9hG4bKx",
                true,
            ),
            (b"SIP/2.0/UDP h;branch=", b"z9hG4bK;rport", false),
            (b"SIP/2.0/UDP h;branch=z9hG4bK1;ttl=", b"3", false),
            (b"SIP/2.0/UDP h;branch=z9hG4bK1;rport=", b"5", false),
        ];
        for &(prefix, tail, served) in vias {
            let first = [prefix, b"1"].concat();
            let Ok(parsed) = parse_via(&first, true) else {
                panic!("{first:?}")
            };
            remember_via(&first, &parsed);
            let new = [prefix, tail].concat();
            let got = via(&new);
            assert_eq!(got.is_some(), served, "{new:?}");
            if let Some(got) = got {
                assert_eq!(Ok(got.clone()), parse_via(&new, true));
                assert_eq!(got.branch, Some(tail));
            }
        }
    }

    /// Misses that bring no hits back off to one remembered value in [`MAX_STRIDE`];
    /// hits bring the stride back to 1.
    #[test]
    fn adapt_backs_off_and_recovers() {
        let mut a = Adapt::new();
        let taken = (0..WINDOW).filter(|_| a.admit()).count();
        assert_eq!(taken, WINDOW as usize, "every miss remembered at first");
        for _ in 0..10 * WINDOW {
            a.admit();
        }
        assert_eq!(a.stride, MAX_STRIDE);
        let taken = (0..4 * WINDOW).filter(|_| a.admit()).count();
        assert_eq!(taken, 4 * WINDOW as usize / MAX_STRIDE as usize);
        // Hits come back (a dialog's values repeat): a few windows and every miss is
        // remembered again.
        for _ in 0..20 {
            for _ in 0..WINDOW {
                a.hit();
                a.hit();
                a.admit();
            }
        }
        assert_eq!(a.stride, 1);
        assert!((0..WINDOW).all(|_| a.admit()));
        // One hit per value remembered holds the stride where it is.
        let mut a = Adapt::new();
        for _ in 0..3 * WINDOW {
            a.admit();
        }
        let stride = a.stride;
        assert!(stride > 1 && stride < MAX_STRIDE);
        for _ in 0..5 * WINDOW {
            if a.admit() {
                a.hit();
            }
        }
        assert_eq!(a.stride, stride);
    }

    /// After a flood of values that never come back, a value that does is still
    /// remembered within a stride of misses, then served as its own parse.
    #[test]
    fn flood_then_dialog() {
        for i in 0..20 * WINDOW {
            let v = format!("<sip:u{i}@10.0.{}.{}>;tag=fl{i}", i / 250, i % 250);
            let n = parse_name_addr(v.as_bytes(), true);
            assert!(name_addr(v.as_bytes()).is_none());
            if let Ok(n) = n {
                remember_name_addr(v.as_bytes(), &n);
            }
        }
        MEMO.with(|m| assert_eq!(m.borrow().name_addr_adapt.stride, MAX_STRIDE));
        let v: &[u8] = b"Bob <sip:bob@biloxi.example.com>";
        let Ok(parsed) = parse_name_addr(v, true) else {
            panic!("{v:?}")
        };
        let mut misses = 0;
        while name_addr(v).is_none() {
            misses += 1;
            assert!(misses <= MAX_STRIDE, "never remembered");
            remember_name_addr(v, &parsed);
        }
        assert_eq!(name_addr(v), Some(parsed));
    }

    proptest::proptest! {
        /// Whatever was remembered, a value the memo serves is exactly its strict parse.
        #[test]
        fn served_values_are_their_parse(
            prefix in proptest::sample::select(vec![
                &b"\"A\" <sip:a@10.0.0.1:5061>;tag="[..],
                b"<sip:b@h>;tag=",
                b"sip:b@h;tag=",
                b"<sip:b@h>;x=\"q;tag=\";tag=",
                b"<sip:b@h>;expires=",
                b"SIP/2.0/UDP 10.0.0.1:5061;branch=",
                b"SIP/2.0/UDP h;branch=z9hG4bK1;rport=",
                b"SIP/2.0/UDP h:5060;ttl=",
            ]),
            first in proptest::collection::vec(proptest::sample::select(b"az09-.!%*_+`'~;=,\" <>?\\\t".to_vec()), 0..6),
            tail in proptest::collection::vec(proptest::sample::select(b"az09-.!%*_+`'~;=,\" <>?\\\t".to_vec()), 0..6),
        ) {
            let first = [prefix, &first[..]].concat();
            let new = [prefix, &tail[..]].concat();
            if let Ok(n) = parse_name_addr(&first, true) {
                remember_name_addr(&first, &n);
            }
            if let Ok(v) = parse_via(&first, true) {
                remember_via(&first, &v);
            }
            if let Some(got) = name_addr(&new) {
                proptest::prop_assert_eq!(Ok(got), parse_name_addr(&new, true));
            }
            if let Some(got) = via(&new) {
                proptest::prop_assert_eq!(Ok(got), parse_via(&new, true));
            }
        }
    }
}
