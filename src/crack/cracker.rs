//! Wordlist attack on many Digest responses at once, in parallel.
//!
//! Everything that does not depend on the candidate is computed once: HA2 and the
//! `:nonce:nc:cnonce:qop:HA2` suffix per response, and per account (user, realm, hash) a
//! hasher state that has already absorbed `user:realm:`. A candidate then costs one HA1
//! per account and one final hash per response still unfound, with hex written into stack
//! buffers and digests compared as raw bytes: no allocation per candidate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::Digest;

use super::hash::{hex_into, unhex};
use super::md5x::{self, HexThenConst, LANES, V};
use super::{DigestTarget, HashKind};

/// Candidates a thread tests between two updates of the shared progress counter.
const BATCH: u64 = 4096;

/// One recovered password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the target in the list given to [`Cracker::new`].
    pub target: usize,
    /// The password, as the wordlist line held it (without `\r`).
    pub password: Vec<u8>,
}

/// What one pass over a wordlist found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrackOutcome {
    /// Recovered passwords, in target order.
    pub hits: Vec<Hit>,
    /// Candidates tested (all lines, unless every target fell early).
    pub tested: u64,
}

struct Member {
    target: usize,
    /// `:nonce:cnonce` for -sess algorithms.
    sess: Option<Vec<u8>>,
    suffix: Vec<u8>,
    expected: Vec<u8>,
}

struct Group<D> {
    /// State after `user:realm:`.
    prefix: D,
    members: Vec<Member>,
}

/// An MD5 account, tested [`LANES`] candidates at a time.
struct Md5Group {
    /// State after the whole 64-byte blocks of `user:realm:`.
    midstate: [u32; 4],
    /// The rest of `user:realm:` (under 64 bytes).
    tail: Vec<u8>,
    /// Length of `user:realm:`.
    prefix_len: usize,
    /// Same members one candidate at a time, for candidates too long for two blocks.
    scalar: Group<md5::Md5>,
    members: Vec<Md5Member>,
}

struct Md5Member {
    target: usize,
    sess: Option<HexThenConst>,
    response: HexThenConst,
    expected: [u32; 4],
}

impl Md5Group {
    fn new(user: &str, realm: &str) -> Self {
        let prefix = format!("{user}:{realm}:").into_bytes();
        let full = prefix.len() / 64 * 64;
        let mut st = md5x::splat_state(md5x::INIT);
        for blk in prefix.get(..full).unwrap_or(&[]).chunks_exact(64) {
            let mut m = [V::ZERO; 16];
            for (w, c) in m.iter_mut().zip(blk.chunks_exact(4)) {
                *w = md5x::splat(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            }
            md5x::compress(&mut st, &m);
        }
        Md5Group {
            midstate: st.map(|v| v.to_array()[0]),
            tail: prefix.get(full..).unwrap_or(&[]).to_vec(),
            prefix_len: prefix.len(),
            scalar: Group::new(user, realm),
            members: Vec::new(),
        }
    }

    fn push(&mut self, m: Member) {
        let mut expected = [0u32; 4];
        for (e, c) in expected.iter_mut().zip(m.expected.chunks_exact(4)) {
            *e = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        self.members.push(Md5Member {
            target: m.target,
            sess: m.sess.as_deref().map(HexThenConst::new),
            response: HexThenConst::new(&m.suffix),
            expected,
        });
        self.scalar.members.push(m);
    }

    /// Tests `cands[..n]` together.
    #[inline]
    fn test_batch(&self, cands: &[&[u8]; LANES], n: usize, shared: &Shared) {
        if self.members.iter().all(|m| shared.is_found(m.target)) {
            return;
        }
        let mut m0 = [[0u32; LANES]; 16];
        let mut m1 = [[0u32; LANES]; 16];
        let mut two = [false; LANES];
        let mut valid = [false; LANES];
        for (l, cand) in cands.iter().enumerate().take(n) {
            let len = self.tail.len() + cand.len();
            if len + 9 > 128 {
                // Too long for two blocks: the scalar path takes it.
                self.scalar.test(cand, shared);
                continue;
            }
            let mut buf = [0u8; 128];
            let blocks = if len + 9 > 64 { 2 } else { 1 };
            if let Some(d) = buf.get_mut(..self.tail.len()) {
                d.copy_from_slice(&self.tail);
            }
            if let Some(d) = buf.get_mut(self.tail.len()..len) {
                d.copy_from_slice(cand);
            }
            if let Some(b) = buf.get_mut(len) {
                *b = 0x80;
            }
            let bits = ((self.prefix_len + cand.len()) as u64).wrapping_mul(8);
            if let Some(d) = buf.get_mut(blocks * 64 - 8..blocks * 64) {
                d.copy_from_slice(&bits.to_le_bytes());
            }
            let (lo, hi) = buf.split_at(64);
            for (w, c) in m0.iter_mut().zip(lo.chunks_exact(4)) {
                w[l] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
            if blocks == 2 {
                for (w, c) in m1.iter_mut().zip(hi.chunks_exact(4)) {
                    w[l] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
            two[l] = blocks == 2;
            valid[l] = true;
        }
        let mut ha1 = md5x::splat_state(self.midstate);
        md5x::compress(&mut ha1, &m0.map(V::new));
        if two.iter().any(|&t| t) {
            let mut second = ha1;
            md5x::compress(&mut second, &m1.map(V::new));
            for (w, s) in ha1.iter_mut().zip(second) {
                let mut lanes = w.to_array();
                for ((x, y), t) in lanes.iter_mut().zip(s.to_array()).zip(two) {
                    if t {
                        *x = y;
                    }
                }
                *w = V::new(lanes);
            }
        }
        for m in &self.members {
            if shared.is_found(m.target) {
                continue;
            }
            let r = match &m.sess {
                Some(sess) => m.response.hash(&sess.hash(&ha1)),
                None => m.response.hash(&ha1),
            };
            // Full 128-bit comparison, lanes at once; a lane is looked at only on a match.
            let eq = r[0].cmp_eq(md5x::splat(m.expected[0]))
                & r[1].cmp_eq(md5x::splat(m.expected[1]))
                & r[2].cmp_eq(md5x::splat(m.expected[2]))
                & r[3].cmp_eq(md5x::splat(m.expected[3]));
            if !eq.any() {
                continue;
            }
            for ((cand, hit), ok) in cands.iter().zip(eq.to_array()).zip(valid).take(n) {
                if ok && hit != 0 {
                    shared.record(m.target, cand);
                }
            }
        }
    }
}

enum AnyGroup {
    Md5(Md5Group),
    Sha256(Group<sha2::Sha256>),
    Sha512_256(Group<sha2::Sha512_256>),
}

/// A prepared wordlist attack on a set of [`DigestTarget`]s.
pub struct Cracker {
    groups: Vec<AnyGroup>,
    targets: usize,
}

/// Shared state of one run.
struct Shared {
    found: Vec<AtomicBool>,
    remaining: AtomicUsize,
    hits: Mutex<Vec<Hit>>,
}

impl Shared {
    fn record(&self, target: usize, password: &[u8]) {
        let Some(f) = self.found.get(target) else {
            return;
        };
        // Only the first thread to find a target records it.
        if f.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.remaining.fetch_sub(1, Ordering::AcqRel);
            if let Ok(mut h) = self.hits.lock() {
                h.push(Hit {
                    target,
                    password: password.to_vec(),
                });
            }
        }
    }

    fn is_found(&self, target: usize) -> bool {
        self.found
            .get(target)
            .is_none_or(|f| f.load(Ordering::Relaxed))
    }
}

impl<D: Digest + Clone> Group<D> {
    fn new(user: &str, realm: &str) -> Self {
        let mut prefix = D::new();
        prefix.update(user.as_bytes());
        prefix.update(b":");
        prefix.update(realm.as_bytes());
        prefix.update(b":");
        Group {
            prefix,
            members: Vec::new(),
        }
    }

    /// Tests one candidate against every unfound member.
    #[inline]
    fn test(&self, candidate: &[u8], shared: &Shared) {
        if self.members.iter().all(|m| shared.is_found(m.target)) {
            return;
        }
        let mut h = self.prefix.clone();
        h.update(candidate);
        let ha1 = h.finalize();
        // Digests here are at most 32 bytes (MD5, SHA-256, SHA-512/256).
        let mut ha1_buf = [0u8; 64];
        let ha1_hex = hex_into(&ha1, &mut ha1_buf);
        for m in &self.members {
            if shared.is_found(m.target) {
                continue;
            }
            let mut r = D::new();
            match &m.sess {
                Some(sess) => {
                    let mut s = D::new();
                    s.update(ha1_hex);
                    s.update(sess);
                    let sess_ha1 = s.finalize();
                    let mut buf = [0u8; 64];
                    r.update(hex_into(&sess_ha1, &mut buf));
                }
                None => r.update(ha1_hex),
            }
            r.update(&m.suffix);
            if r.finalize().as_slice() == m.expected.as_slice() {
                shared.record(m.target, candidate);
            }
        }
    }
}

impl Cracker {
    /// Prepares the attack. Targets of an unknown algorithm or with a response that is not
    /// hex are kept in the numbering but never match ([`DigestTarget::from_attempt`]
    /// refuses them already).
    pub fn new(targets: &[DigestTarget]) -> Cracker {
        let mut index: HashMap<(HashKind, &str, &str), usize> = HashMap::new();
        let mut groups: Vec<AnyGroup> = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let (Some(kind), Some(expected)) = (t.algorithm.kind(), unhex(&t.response)) else {
                continue;
            };
            let member = Member {
                target: i,
                sess: t.algorithm.is_sess().then(|| t.sess_suffix()),
                suffix: t.response_suffix(kind),
                expected,
            };
            let g = *index
                .entry((kind, t.user.as_str(), t.realm.as_str()))
                .or_insert_with(|| {
                    groups.push(match kind {
                        HashKind::Md5 => AnyGroup::Md5(Md5Group::new(&t.user, &t.realm)),
                        HashKind::Sha256 => AnyGroup::Sha256(Group::new(&t.user, &t.realm)),
                        HashKind::Sha512_256 => AnyGroup::Sha512_256(Group::new(&t.user, &t.realm)),
                    });
                    groups.len() - 1
                });
            if let Some(group) = groups.get_mut(g) {
                match group {
                    AnyGroup::Md5(g) => g.push(member),
                    AnyGroup::Sha256(g) => g.members.push(member),
                    AnyGroup::Sha512_256(g) => g.members.push(member),
                }
            }
        }
        Cracker {
            groups,
            targets: targets.len(),
        }
    }

    /// Accounts (distinct user, realm and hash function) the attack computes an HA1 for.
    pub fn accounts(&self) -> usize {
        self.groups.len()
    }

    fn shared(&self) -> Shared {
        let crackable = self
            .groups
            .iter()
            .map(|g| match g {
                AnyGroup::Md5(g) => g.members.len(),
                AnyGroup::Sha256(g) => g.members.len(),
                AnyGroup::Sha512_256(g) => g.members.len(),
            })
            .sum();
        Shared {
            found: (0..self.targets).map(|_| AtomicBool::new(false)).collect(),
            remaining: AtomicUsize::new(crackable),
            hits: Mutex::new(Vec::new()),
        }
    }

    /// Tests `cands[..n]` against every account.
    fn test_batch(&self, cands: &[&[u8]; LANES], n: usize, shared: &Shared) {
        for g in &self.groups {
            match g {
                AnyGroup::Md5(g) => g.test_batch(cands, n, shared),
                AnyGroup::Sha256(g) => cands.iter().take(n).for_each(|c| g.test(c, shared)),
                AnyGroup::Sha512_256(g) => cands.iter().take(n).for_each(|c| g.test(c, shared)),
            }
        }
    }

    /// Targets that `candidate` opens (single candidate; for tests and spot checks).
    pub fn check(&self, candidate: &[u8]) -> Vec<usize> {
        let shared = self.shared();
        let mut batch: [&[u8]; LANES] = [&[]; LANES];
        batch[0] = candidate;
        self.test_batch(&batch, 1, &shared);
        let mut v: Vec<usize> = shared
            .hits
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.target)
            .collect();
        v.sort_unstable();
        v
    }

    /// Tests every line of `wordlist` (split on `\n`, a trailing `\r` removed) with
    /// `threads` threads (at least 1), adding the candidates done to `progress` as it goes.
    /// A target found is no longer tested; the run ends early when all are found.
    pub fn run(&self, wordlist: &[u8], threads: usize, progress: &AtomicU64) -> CrackOutcome {
        let shared = self.shared();
        let chunks = split_lines(wordlist, threads.max(1));
        let tested: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| {
                    let shared = &shared;
                    s.spawn(move || self.run_chunk(chunk, shared, progress))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        let mut hits = shared.hits.into_inner().unwrap_or_default();
        hits.sort_by_key(|h| h.target);
        CrackOutcome { hits, tested }
    }

    fn run_chunk(&self, chunk: &[u8], shared: &Shared, progress: &AtomicU64) -> u64 {
        let mut tested = 0u64;
        let mut batch = 0u64;
        let mut cands: [&[u8]; LANES] = [&[]; LANES];
        let mut n = 0;
        for line in lines(chunk) {
            if let Some(c) = cands.get_mut(n) {
                *c = line;
            }
            n += 1;
            if n < LANES {
                continue;
            }
            self.test_batch(&cands, n, shared);
            n = 0;
            batch += LANES as u64;
            if batch >= BATCH {
                tested += batch;
                progress.fetch_add(batch, Ordering::Relaxed);
                batch = 0;
                if shared.remaining.load(Ordering::Acquire) == 0 {
                    return tested;
                }
            }
        }
        self.test_batch(&cands, n, shared);
        batch += n as u64;
        progress.fetch_add(batch, Ordering::Relaxed);
        tested + batch
    }
}

/// The lines of a wordlist: split on `\n`, one trailing `\r` dropped, no empty last line
/// after a final newline.
pub(crate) fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(p) => (rest.get(..p)?, rest.get(p + 1..)?),
            None => (rest, &[][..]),
        };
        rest = next;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// Splits a buffer into about `n` pieces that each end at a line end.
fn split_lines(buf: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..n {
        let guess = (buf.len() * i / n).max(start);
        let end = match buf.get(guess..).and_then(|r| memchr::memchr(b'\n', r)) {
            Some(p) => guess + p + 1,
            None => buf.len(),
        };
        if let Some(piece) = buf.get(start..end) {
            if !piece.is_empty() {
                out.push(piece);
            }
        }
        start = end;
    }
    if let Some(piece) = buf.get(start..) {
        if !piece.is_empty() {
            out.push(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_split() {
        let all: Vec<&[u8]> = lines(b"a\r\nb\n\nc").collect();
        assert_eq!(all, [&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(lines(b"a\n").count(), 1);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").collect::<Vec<_>>(), [&b""[..]]);
        let buf = b"one\ntwo\nthree\nfour\nfive\n";
        for n in 1..8 {
            let pieces = split_lines(buf, n);
            assert_eq!(pieces.concat(), buf.to_vec(), "n={n}");
            let count: usize = pieces.iter().map(|p| lines(p).count()).sum();
            assert_eq!(count, 5, "n={n}");
        }
    }
}
