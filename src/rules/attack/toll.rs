//! `fraud.toll`: bursts of failing calls to international numbers from one source.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct TollAttempt {
    pub(super) call: u64,
    pub(super) ts: Timestamp,
    pub(super) frame: u64,
    /// "+" and the digits after the international prefix.
    pub(super) number: Number,
    /// Latest final answer (a 2xx sticks).
    pub(super) status: Option<u16>,
    pub(super) ok: bool,
}

/// E.164 country codes of one and two digits (ITU-T E.164 assignments); all others have
/// three. Only used to group destinations in a summary.
const CC2: &[&[u8; 2]] = &[
    b"20", b"27", b"30", b"31", b"32", b"33", b"34", b"36", b"39", b"40", b"41", b"43", b"44",
    b"45", b"46", b"47", b"48", b"49", b"51", b"52", b"53", b"54", b"55", b"56", b"57", b"58",
    b"60", b"61", b"62", b"63", b"64", b"65", b"66", b"81", b"82", b"84", b"86", b"90", b"91",
    b"92", b"93", b"94", b"95", b"98",
];

/// The country code of an international number ("+" and digits): "+972".
pub fn country_code(number: &str) -> &str {
    let digits = number.strip_prefix('+').unwrap_or(number).as_bytes();
    let len = match digits {
        [b'1' | b'7', ..] => 1,
        [a, b, ..] if CC2.contains(&&[*a, *b]) => 2,
        _ => 3,
    };
    let end = (len + usize::from(number.starts_with('+'))).min(number.len());
    number.get(..end).unwrap_or(number)
}

/// The international number a dialled user part names, as "+" and digits, or None.
///
/// Heuristic (documented in docs/report-format.md): visual separators `-.()` are dropped and the
/// user part must then be digits only, after either
/// - `+` and at least 8 digits, or
/// - an international prefix `00` (ITU-T E.164 / most of the world) or `011` (NANP)
///   followed by at least 7 digits, optionally after one outside-line digit (PBXs dial
///   `9` or `0` first: `9011...`, `000...`).
///
/// The country code must not start with 0. `011` also begins some national numbers (UK
/// 0114 Sheffield): a deliberate false-positive risk, as toll fraud mostly dials NANP-style.
pub fn international_number(user: &[u8]) -> Option<String> {
    international(user).map(|n| n.as_str().to_string())
}

/// An international number as [`international_number`] writes it ("+" and at most 31
/// digits), held in place: kept per toll attempt, and a flood of calls to +1... numbers
/// from one-request sources made a string allocation per INVITE (freed, cold, when the
/// source was evicted).
#[derive(Clone, Copy)]
pub(super) struct Number {
    len: u8,
    buf: [u8; 32],
}

impl Number {
    /// The number, "+" and digits.
    pub(super) fn as_str(&self) -> &str {
        // ASCII by construction; the fallback is never taken.
        self.buf
            .get(..usize::from(self.len))
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// "+" then `digits` (ASCII digits), when it fits.
    fn plus(digits: &[u8]) -> Option<Number> {
        let mut n = Number {
            len: 0,
            buf: [0; 32],
        };
        let end = digits.len().checked_add(1)?;
        *n.buf.first_mut()? = b'+';
        n.buf.get_mut(1..end)?.copy_from_slice(digits);
        n.len = u8::try_from(end).ok()?;
        Some(n)
    }
}

impl std::fmt::Debug for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::ops::Deref for Number {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// [`international_number`] without the allocation.
pub(super) fn international(user: &[u8]) -> Option<Number> {
    // Numbers are nearly always written without separators: then the digits are the
    // user part itself, checked in the pass that finds its end (a `;` parameter) and not
    // copied byte by byte.
    let mut end = user.len();
    let mut plain = true;
    for (i, &c) in user.iter().enumerate() {
        match c {
            b'0'..=b'9' => {}
            b';' => {
                end = i;
                break;
            }
            b'+' if i == 0 => {}
            b'+' | b'-' | b'.' | b'(' | b')' => plain = false,
            // Before any `;`: the copying loop below would refuse it too (a user name,
            // not a number), so the scan stops here.
            _ => return None,
        }
    }
    let user = user.get(..end).unwrap_or(user);
    let mut buf = [0u8; 32];
    let s = if plain && user.len() <= buf.len() {
        user
    } else {
        let mut n = 0;
        for &c in user {
            if matches!(c, b'-' | b'.' | b'(' | b')') {
                continue;
            }
            if !(c.is_ascii_digit() || (c == b'+' && n == 0)) {
                return None;
            }
            *buf.get_mut(n)? = c;
            n += 1;
        }
        buf.get(..n)?
    };
    tail(s)
}

/// [`international`] of the digits (and leading `+`) of a user part.
fn tail(s: &[u8]) -> Option<Number> {
    let plus = |rest: &[u8]| -> Option<Number> {
        if rest.first() == Some(&b'0') {
            return None;
        }
        Number::plus(rest)
    };
    if let Some(rest) = s.strip_prefix(b"+") {
        return if rest.len() >= 8 { plus(rest) } else { None };
    }
    for skip in 0..=1 {
        let t = s.get(skip..)?;
        for prefix in [&b"011"[..], &b"00"[..]] {
            if let Some(rest) = t.strip_prefix(prefix) {
                if rest.len() >= 7 {
                    if let Some(n) = plus(rest) {
                        return Some(n);
                    }
                }
            }
        }
    }
    None
}

/// [`international`] as it was before the separator-free path: the oracle of the
/// `international_is_the_reference` proptest.
#[cfg(test)]
pub(super) fn international_reference(user: &[u8]) -> Option<Number> {
    let mut buf = [0u8; 32];
    let mut n = 0;
    let user = user.split(|&c| c == b';').next().unwrap_or(user);
    for &c in user {
        if matches!(c, b'-' | b'.' | b'(' | b')') {
            continue;
        }
        if !(c.is_ascii_digit() || (c == b'+' && n == 0)) {
            return None;
        }
        *buf.get_mut(n)? = c;
        n += 1;
    }
    tail(buf.get(..n)?)
}

/// `fraud.toll`: the densest burst of international calls that failed.
pub(super) fn toll(
    ip: IpAddr,
    s: &SourceState,
    th: &Thresholds,
    _methods: &str,
    ua: &str,
) -> Option<(usize, Finding)> {
    // fraud.toll: only calls the packets show failing (a final non-2xx answer). An INVITE
    // with no final answer seen did not fail as far as the capture knows (a flood of
    // unanswered INVITEs is dos.flood's business).
    let mut failed: Vec<&TollAttempt> = s
        .toll
        .iter()
        .filter(|t| !t.ok && t.status.is_some())
        .collect();
    failed.sort_by_key(|t| (t.ts, t.frame));
    let times: Vec<Timestamp> = failed.iter().map(|t| t.ts).collect();
    let (n, i, j) = densest(&times, th.toll_window);
    if n >= th.toll_attempts {
        let win = failed.get(i..=j).unwrap_or_default();
        let first = win.first();
        let examples = {
            let mut v: Vec<&str> = win.iter().map(|t| &*t.number).collect();
            v.dedup();
            v.truncate(4);
            v.join(", ")
        };
        let span = match (win.first(), win.last()) {
            (Some(a), Some(b)) => b.ts.since(a.ts),
            _ => 0,
        };
        return Some((
            n,
            Finding::new(FRAUD_TOLL, Severity::Medium, first.map_or(Timestamp(0), |t| t.ts))
                .flow_opt(Some(s.first_src), s.targets.first().map(|t| t.addr))
                .summary(format!(
                "{ip} made {n} failed call(s) to international numbers in {}: {} (e.g. {examples}); \
                 answers {}{ua}",
                secs(span),
                tally(win.iter().map(|t| country_code(&t.number))),
                tally(win.iter().map(|t| t.status.map_or("none".to_string(), |c| c.to_string()))),
            ))
                .evidence(win.iter().map(|t| t.frame).take(MAX_EVIDENCE).collect())
                .advice("Bursts of failing international calls are how toll fraud looks for a dial \
                     plan that lets calls out: require authentication for every INVITE, \
                     restrict international destinations per account, and alert on spend."),
        ));
    }
    None
}
