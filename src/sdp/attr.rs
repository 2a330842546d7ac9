//! Typed `a=` attributes (RFC 8866 §5.13, §6 and the RFCs that define each attribute).
//!
//! Every attribute parser is lenient: when a known attribute's value does not parse, the
//! caller keeps it as [`Attribute::Other`] and records a problem, so nothing is lost.

use std::net::IpAddr;

use nom::IResult;

use crate::bytes::{find2, find_byte};

/// One `a=` line, typed where siplens understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// `a=rtpmap` (RFC 8866 §6.6).
    Rtpmap(Rtpmap<'a>),
    /// `a=fmtp` (RFC 8866 §6.15).
    Fmtp(Fmtp<'a>),
    /// `a=crypto` (SDES, RFC 4568 §9.1). Boxed, as the candidate: the rarer, larger
    /// attributes would make every attribute of a parsed SDP their size.
    Crypto(Box<Crypto<'a>>),
    /// `a=fingerprint` (RFC 8122 §5).
    Fingerprint(Fingerprint<'a>),
    /// `a=setup` (RFC 4145 §4).
    Setup(Setup<'a>),
    /// `a=candidate` (RFC 8839 §5.1, grammar from RFC 8445 §5.1).
    Candidate(Box<Candidate<'a>>),
    /// `a=rtcp` (RFC 3605 §2.1).
    Rtcp(RtcpAttr<'a>),
    /// `a=rtcp-mux` (RFC 5761 §5.1.1).
    RtcpMux,
    /// `a=ptime` in milliseconds (RFC 8866 §6.4).
    Ptime(u32),
    /// `a=maxptime` in milliseconds (RFC 8866 §6.5).
    Maxptime(u32),
    /// `a=sendrecv` / `a=sendonly` / `a=recvonly` / `a=inactive` (RFC 8866 §6.7).
    Direction(Direction),
    /// `a=zrtp-hash` (RFC 6189 §8.1).
    ZrtpHash(ZrtpHash<'a>),
    /// `a=ice-ufrag` (RFC 8839 §5.4).
    IceUfrag(&'a str),
    /// `a=ice-pwd` (RFC 8839 §5.4).
    IcePwd(&'a str),
    /// `a=mid` (RFC 9143 §6).
    Mid(&'a str),
    /// Any other attribute, or a known one whose value did not parse.
    Other {
        /// Attribute name (text before the first `:`).
        name: &'a str,
        /// Value after the first `:`, if any.
        value: Option<&'a str>,
    },
}

impl<'a> Attribute<'a> {
    /// The attribute name as it would appear on the wire (`"rtpmap"`, `"sendonly"`, ...).
    pub fn name(&self) -> &'a str {
        match self {
            Attribute::Rtpmap(_) => "rtpmap",
            Attribute::Fmtp(_) => "fmtp",
            Attribute::Crypto(_) => "crypto",
            Attribute::Fingerprint(_) => "fingerprint",
            Attribute::Setup(_) => "setup",
            Attribute::Candidate(_) => "candidate",
            Attribute::Rtcp(_) => "rtcp",
            Attribute::RtcpMux => "rtcp-mux",
            Attribute::Ptime(_) => "ptime",
            Attribute::Maxptime(_) => "maxptime",
            Attribute::Direction(d) => d.as_str(),
            Attribute::ZrtpHash(_) => "zrtp-hash",
            Attribute::IceUfrag(_) => "ice-ufrag",
            Attribute::IcePwd(_) => "ice-pwd",
            Attribute::Mid(_) => "mid",
            Attribute::Other { name, .. } => name,
        }
    }
}

/// Media direction (RFC 8866 §6.7; default `sendrecv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `a=sendrecv` (the default when no direction attribute is present).
    #[default]
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtpmap<'a> {
    /// RTP payload type (0..=127).
    pub payload_type: u8,
    /// Encoding name as written (`PCMU`, `opus`, `telephone-event`).
    pub encoding: &'a str,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count for audio (the encoding parameters), when given and numeric.
    pub channels: Option<u16>,
}

/// `a=fmtp:<format> <format specific parameters>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'a> {
    /// The format (payload type for RTP) the parameters apply to.
    pub format: &'a str,
    /// The raw parameter text.
    pub params: &'a str,
}

impl<'a> Fmtp<'a> {
    /// The payload type, when the format is a number.
    pub fn payload_type(&self) -> Option<u8> {
        self.format.parse().ok()
    }
    /// Parameters split on `;` into `(name, value)` pairs (the common `k=v;k=v` convention).
    pub fn pairs(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        self.params
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (p, None),
            })
    }
}

/// `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` (RFC 4568 §9.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto<'a> {
    /// Tag (1*9DIGIT) identifying this line in offer/answer.
    pub tag: u32,
    /// Crypto suite name (`AES_CM_128_HMAC_SHA1_80`, ...).
    pub suite: &'a str,
    /// Key parameters (separated by `;` on the wire).
    pub key_params: Vec<KeyParam<'a>>,
    /// Session parameters (`UNENCRYPTED_SRTP`, `KDR=...`, ...), as written.
    pub session_params: Vec<&'a str>,
}

/// One key parameter: `<key-method>:<key-info>`; for `inline` the key info is
/// `<base64 key||salt>[|<lifetime>][|<MKI>:<length>]` (RFC 4568 §9.2, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParam<'a> {
    /// Key method (always `inline` in RFC 4568).
    pub method: &'a str,
    /// Base64 concatenated master key and salt. A secret: print only when asked.
    pub key_salt: &'a str,
    /// Lifetime as written (decimal or `2^n`).
    pub lifetime: Option<&'a str>,
    /// MKI value and its length in bytes.
    pub mki: Option<Mki>,
}

/// Master Key Identifier of an SDES key parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mki {
    /// MKI value (decimal on the wire).
    pub value: u64,
    /// Byte length of the MKI field in SRTP packets (1..=128).
    pub length: u8,
}

impl KeyParam<'_> {
    /// Lifetime in packets: decimal, or `2^n` as RFC 4568 §6.1 allows.
    pub fn lifetime_packets(&self) -> Option<u64> {
        let l = self.lifetime?;
        match l.strip_prefix("2^") {
            Some(exp) => 1u64.checked_shl(exp.parse().ok()?),
            None => l.parse().ok(),
        }
    }
}

/// `a=fingerprint:<hash-func> <fingerprint>` (RFC 8122 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    /// Hash function name (`sha-256`, ...).
    pub hash_func: &'a str,
    /// Colon-separated upper-case hex digest, as written.
    pub value: &'a str,
}

/// `a=setup` role (RFC 4145 §4, used by DTLS-SRTP per RFC 5763 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup<'a> {
    /// `active`: this side opens the connection (DTLS client).
    Active,
    /// `passive`: this side waits (DTLS server).
    Passive,
    /// `actpass`: either (offers only).
    Actpass,
    /// `holdconn`: not now.
    Holdconn,
    /// Any other value.
    Other(&'a str),
}

/// ICE candidate type (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateType<'a> {
    /// `host`.
    Host,
    /// `srflx` (server reflexive: the address a NAT mapped).
    Srflx,
    /// `prflx` (peer reflexive).
    Prflx,
    /// `relay` (TURN).
    Relay,
    /// Any other token.
    Other(&'a str),
}

/// `a=candidate` (RFC 8839 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Foundation.
    pub foundation: &'a str,
    /// Component id (1 = RTP, 2 = RTCP).
    pub component: u16,
    /// Transport (`UDP`, `TCP`), as written.
    pub transport: &'a str,
    /// Priority.
    pub priority: u32,
    /// Connection address: IP, FQDN or mDNS name.
    pub address: &'a str,
    /// Port.
    pub port: u16,
    /// Candidate type (`typ`).
    pub typ: CandidateType<'a>,
    /// Related address (`raddr`).
    pub raddr: Option<&'a str>,
    /// Related port (`rport`).
    pub rport: Option<u16>,
    /// Extension attributes (`generation 0`, `tcptype active`, ...).
    pub extensions: Vec<(&'a str, &'a str)>,
}

impl Candidate<'_> {
    /// The connection address parsed as an IP address (None for FQDN / mDNS names).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpAttr<'a> {
    /// RTCP port.
    pub port: u16,
    /// Network type, when the address part is present.
    pub nettype: Option<&'a str>,
    /// Address type, when present.
    pub addrtype: Option<&'a str>,
    /// Address, when present.
    pub address: Option<&'a str>,
}

/// `a=zrtp-hash:<version> <hash>` (RFC 6189 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZrtpHash<'a> {
    /// ZRTP protocol version (`1.10`).
    pub version: &'a str,
    /// Hex hash of the Hello message.
    pub hash: &'a str,
}

type Res<'a, T> = IResult<&'a str, T>;

/// Runs a nom parser with the default error type, as an `Option` (we only need "did it
/// parse"; the caller turns failure into a typed problem with the line number).
pub(crate) fn run<'a, O>(
    mut p: impl FnMut(&'a str) -> Res<'a, O>,
    i: &'a str,
) -> Option<(&'a str, O)> {
    p(i).ok()
}

/// The longest non-empty run of bytes not `stop` at the start of `i`, as nom's
/// `take_till1` (`kind` is the error it reports on an empty run).
///
/// Scanned as bytes: nom's character parsers over `&str` decoded every character, and
/// `o=`, `c=`, `m=` and most attributes are read token by token. `stop` only ever
/// matches ASCII, so the split is on a character boundary.
fn till1(i: &str, stop: impl Fn(u8) -> bool, kind: nom::error::ErrorKind) -> Res<'_, &str> {
    let n = i.bytes().position(stop).unwrap_or(i.len());
    match (i.get(..n), i.get(n..)) {
        (Some(tok), Some(rest)) if n > 0 => Ok((rest, tok)),
        _ => Err(nom::Err::Error(nom::error::Error::new(i, kind))),
    }
}

/// The end of the run of bytes matching `keep` that starts at `from` (an index loop: the
/// iterator `position` it replaces cost several times more per byte on these short runs).
#[inline(always)]
fn run_len(b: &[u8], mut from: usize, keep: impl Fn(u8) -> bool) -> usize {
    while let Some(&c) = b.get(from) {
        if !keep(c) {
            break;
        }
        from += 1;
    }
    from
}

/// A run of characters up to the next space or tab (nom's `take_till1`: at least one
/// character, the whole input when no blank follows).
pub(crate) fn token(i: &str) -> Res<'_, &str> {
    let n = find2(b' ', b'\t', i.as_bytes()).unwrap_or(i.len());
    match (i.get(..n), i.get(n..)) {
        (Some(tok), Some(rest)) if n > 0 => Ok((rest, tok)),
        _ => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::TakeTill1,
        ))),
    }
}

/// One or more spaces or tabs (nom's `space1`).
pub(crate) fn space1(i: &str) -> Res<'_, &str> {
    till1(i, |b| b != b' ' && b != b'\t', nom::error::ErrorKind::Space)
}

/// Succeeds only when nothing but blanks remain.
pub(crate) fn end(i: &str) -> Option<()> {
    // Nearly always nothing remains at all: the Unicode trim only runs when something does.
    (i.is_empty() || i.trim().is_empty()).then_some(())
}

/// `str::trim`, answering without the Unicode whitespace tables when both ends are
/// visible ASCII, as nearly every SDP value is (the trim ran several times per line).
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&f), Some(&l)) if solid(f) && solid(l) => s,
        (None, _) => s,
        _ => s.trim(),
    }
}

/// An ASCII byte that is not whitespace for `char::is_whitespace` (which, unlike
/// `u8::is_ascii_whitespace`, counts U+000B): a string starting or ending with one has
/// nothing to trim at that end.
fn solid(b: u8) -> bool {
    b.is_ascii() && !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `s` split at its first `:` (the separator dropped), as `str::split_once(':')` but
/// with a byte scan: the `char` searcher cost more than the rest of a short attribute.
pub(crate) fn split_colon(s: &str) -> Option<(&str, &str)> {
    let i = find_byte(b':', s.as_bytes())?;
    Some((s.get(..i)?, s.get(i.checked_add(1)?..)?))
}

/// Leading decimal digits as nom's unsigned parsers read them (`u8` to `u64` of
/// `nom::character::complete`): at least one ASCII digit, no sign, failure (not
/// truncation) when the value exceeds `max`; returns the rest and the value.
pub(crate) fn dec(i: &str, max: u64) -> Option<(&str, u64)> {
    // One pass: an overflow anywhere in the run fails the whole, as a scan of the run
    // followed by its conversion did.
    let b = i.as_bytes();
    let mut n = 0usize;
    let mut v = 0u64;
    while let Some(&c) = b.get(n) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
        if v > max {
            return None;
        }
        n += 1;
    }
    if n == 0 {
        return None;
    }
    Some((i.get(n..)?, v))
}

/// [`dec`] as a `u8`.
pub(crate) fn dec_u8(i: &str) -> Option<(&str, u8)> {
    let (r, v) = dec(i, u64::from(u8::MAX))?;
    Some((r, u8::try_from(v).ok()?))
}

/// [`dec`] as a `u16`.
pub(crate) fn dec_u16(i: &str) -> Option<(&str, u16)> {
    let (r, v) = dec(i, u64::from(u16::MAX))?;
    Some((r, u16::try_from(v).ok()?))
}

/// [`dec`] as a `u32`.
pub(crate) fn dec_u32(i: &str) -> Option<(&str, u32)> {
    let (r, v) = dec(i, u64::from(u32::MAX))?;
    Some((r, u32::try_from(v).ok()?))
}

/// A space or a tab: what separates the fields of SDP lines (nom's `space1` set).
#[inline(always)]
fn blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `i` split after its leading run of bytes matching `keep`: (the run, the rest). The
/// callers' runs are of ASCII bytes or end at one, so both halves are whole text.
#[inline(always)]
fn split_run(i: &str, keep: impl Fn(u8) -> bool) -> (&str, &str) {
    let n = run_len(i.as_bytes(), 0, keep);
    match (i.get(..n), i.get(n..)) {
        (Some(run), Some(rest)) => (run, rest),
        _ => ("", i),
    }
}

/// The rest of `i` after one or more blanks at its start (nom's `space1`, as an option).
#[inline]
pub(crate) fn after_blanks(i: &str) -> Option<&str> {
    let (run, rest) = split_run(i, blank);
    (!run.is_empty()).then_some(rest)
}

/// The run of characters up to the next blank and the rest (nom's `take_till1` of
/// [`token`], as an option): a byte loop, the fields read with it being a few bytes long.
#[inline]
pub(crate) fn word(i: &str) -> Option<(&str, &str)> {
    let (run, rest) = split_run(i, |c| !blank(c));
    (!run.is_empty()).then_some((run, rest))
}

/// `N` tokens separated by runs of blanks, as the nom sequence `token space1 token ...`
/// did: the text after the last token (blanks included) is returned untouched.
///
/// A byte loop: the fields of `o=` and `c=` lines are one to fifteen bytes, where the
/// vector search per field (set up for each) cost more than the bytes it skipped.
pub(crate) fn tokens<const N: usize>(i: &str) -> Option<(&str, [&str; N])> {
    // Byte offsets throughout, the text cut once per field (each cut checks its ends).
    let b = i.as_bytes();
    let mut out = [""; N];
    let mut pos = 0;
    for (k, slot) in out.iter_mut().enumerate() {
        if k > 0 {
            let end = run_len(b, pos, blank);
            if end == pos {
                return None;
            }
            pos = end;
        }
        let end = run_len(b, pos, |c| !blank(c));
        if end == pos {
            return None;
        }
        *slot = i.get(pos..end)?;
        pos = end;
    }
    Some((i.get(pos..)?, out))
}

/// The end of the field (a run of one or more non-blanks) at `pos` of a value of `len`
/// bytes whose blanks are the bits of `blanks` (bit i set when byte i is a space or a
/// tab, no bit at or past the end; values below 64 bytes): one count of trailing zeros
/// instead of a byte loop.
#[inline(always)]
pub(crate) fn field_end(len: usize, blanks: u64, pos: usize) -> Option<usize> {
    let ahead = blanks.checked_shr(u32::try_from(pos).ok()?).unwrap_or(0);
    let run = (ahead.trailing_zeros() as usize).min(len.checked_sub(pos)?);
    (run > 0).then_some(pos + run)
}

/// The end of the run of one or more blanks at `pos` (see [`field_end`]); no bit past
/// the end, so a run stops there at the latest.
#[inline(always)]
pub(crate) fn gap_end(blanks: u64, pos: usize) -> Option<usize> {
    let ahead = blanks.checked_shr(u32::try_from(pos).ok()?).unwrap_or(0);
    let run = (!ahead).trailing_zeros() as usize;
    (run > 0).then_some(pos + run)
}

/// [`tokens`] over a value whose blanks are given as bits (see [`field_end`]).
#[inline]
pub(crate) fn tokens_in<const N: usize>(i: &str, blanks: u64) -> Option<(&str, [&str; N])> {
    let mut out = [""; N];
    let mut pos = 0usize;
    for (k, slot) in out.iter_mut().enumerate() {
        // `pos` never passes the end, and the end is below 64 (the mask's lines are).
        let ahead = blanks.checked_shr(u32::try_from(pos).ok()?).unwrap_or(0);
        let ahead = if k > 0 {
            // The run of blanks: no bit past the end, so it stops there at the latest.
            let run = (!ahead).trailing_zeros();
            if run == 0 {
                return None;
            }
            pos += run as usize;
            ahead.checked_shr(run).unwrap_or(0)
        } else {
            ahead
        };
        // The field: up to the next blank, or the end.
        let run = (ahead.trailing_zeros() as usize).min(i.len().checked_sub(pos)?);
        if run == 0 {
            return None;
        }
        *slot = i.get(pos..pos + run)?;
        pos += run;
    }
    Some((i.get(pos..)?, out))
}

/// The attributes [`parse_attribute`] types, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Rtpmap,
    Fmtp,
    Crypto,
    Fingerprint,
    Setup,
    Candidate,
    Rtcp,
    RtcpMux,
    Ptime,
    Maxptime,
    Direction(Direction),
    ZrtpHash,
    IceUfrag,
    IcePwd,
    Mid,
}

/// Which typed attribute `name` is (case-insensitively, see [`parse_attribute`]).
fn known(name: &str) -> Option<Known> {
    use Known as K;
    // The lower-case spellings endpoints write: a `match` compares each as words of a
    // known size (the table's compares below called `memcmp` per name tried).
    let exact = match name {
        "rtpmap" => Some(K::Rtpmap),
        "fmtp" => Some(K::Fmtp),
        "sendrecv" => Some(K::Direction(Direction::SendRecv)),
        "sendonly" => Some(K::Direction(Direction::SendOnly)),
        "recvonly" => Some(K::Direction(Direction::RecvOnly)),
        "inactive" => Some(K::Direction(Direction::Inactive)),
        "ptime" => Some(K::Ptime),
        "maxptime" => Some(K::Maxptime),
        "rtcp" => Some(K::Rtcp),
        "rtcp-mux" => Some(K::RtcpMux),
        "crypto" => Some(K::Crypto),
        "fingerprint" => Some(K::Fingerprint),
        "setup" => Some(K::Setup),
        "candidate" => Some(K::Candidate),
        "zrtp-hash" => Some(K::ZrtpHash),
        "ice-ufrag" => Some(K::IceUfrag),
        "ice-pwd" => Some(K::IcePwd),
        "mid" => Some(K::Mid),
        _ => None,
    };
    if exact.is_some() {
        return exact;
    }
    // Only the names of the same length are compared (`eq_ignore_ascii_case` needs equal
    // lengths anyway): no walk down the whole list for every `a=` line.
    let same_length: &[(&str, Known)] = match name.len() {
        3 => &[("mid", K::Mid)],
        4 => &[("fmtp", K::Fmtp), ("rtcp", K::Rtcp)],
        5 => &[("setup", K::Setup), ("ptime", K::Ptime)],
        6 => &[("rtpmap", K::Rtpmap), ("crypto", K::Crypto)],
        7 => &[("ice-pwd", K::IcePwd)],
        8 => &[
            ("sendrecv", K::Direction(Direction::SendRecv)),
            ("rtcp-mux", K::RtcpMux),
            ("maxptime", K::Maxptime),
            ("sendonly", K::Direction(Direction::SendOnly)),
            ("recvonly", K::Direction(Direction::RecvOnly)),
            ("inactive", K::Direction(Direction::Inactive)),
        ],
        9 => &[
            ("candidate", K::Candidate),
            ("zrtp-hash", K::ZrtpHash),
            ("ice-ufrag", K::IceUfrag),
        ],
        11 => &[("fingerprint", K::Fingerprint)],
        _ => &[],
    };
    same_length
        .iter()
        // Endpoints write the names in lower case: one byte compare answers those, the
        // per-byte case folding only runs for the others.
        .find(|(n, _)| *n == name || n.eq_ignore_ascii_case(name))
        .map(|(_, k)| *k)
}

/// Parses the text after `a=` into a typed attribute.
///
/// `Err(name)` means a known attribute whose value is malformed; the caller keeps it as
/// [`Attribute::Other`] and reports the name.
pub(crate) fn parse_attribute(text: &str) -> Result<Attribute<'_>, &'static str> {
    let (name, value) = match split_colon(text) {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    let v = trim(value.unwrap_or(""));
    // Attribute names are compared case-insensitively: RFC 8866 §9 says they are
    // case-sensitive, but real endpoints send `a=SendRecv` and we lose nothing by accepting.
    let Some(kind) = known(name) else {
        return Ok(Attribute::Other { name, value });
    };
    let attr = match kind {
        Known::Rtpmap => Attribute::Rtpmap(rtpmap(v).ok_or("rtpmap")?),
        Known::Fmtp => {
            let (format, params) = word(v).ok_or("fmtp")?;
            Attribute::Fmtp(Fmtp {
                format,
                params: trim(params),
            })
        }
        Known::Crypto => Attribute::Crypto(Box::new(crypto(v).ok_or("crypto")?)),
        Known::Fingerprint => {
            let (r, [hash_func, value]) = tokens(v).ok_or("fingerprint")?;
            end(r).ok_or("fingerprint")?;
            Attribute::Fingerprint(Fingerprint { hash_func, value })
        }
        Known::Setup => Attribute::Setup(match v {
            "" => return Err("setup"),
            s if s.eq_ignore_ascii_case("active") => Setup::Active,
            s if s.eq_ignore_ascii_case("passive") => Setup::Passive,
            s if s.eq_ignore_ascii_case("actpass") => Setup::Actpass,
            s if s.eq_ignore_ascii_case("holdconn") => Setup::Holdconn,
            s => Setup::Other(s),
        }),
        Known::Candidate => Attribute::Candidate(Box::new(candidate(v).ok_or("candidate")?)),
        Known::Rtcp => Attribute::Rtcp(rtcp(v).ok_or("rtcp")?),
        Known::RtcpMux => Attribute::RtcpMux,
        Known::Ptime => Attribute::Ptime(millis(v).ok_or("ptime")?),
        Known::Maxptime => Attribute::Maxptime(millis(v).ok_or("maxptime")?),
        Known::Direction(d) => Attribute::Direction(d),
        Known::ZrtpHash => {
            let (r, [version, hash]) = tokens(v).ok_or("zrtp-hash")?;
            end(r).ok_or("zrtp-hash")?;
            Attribute::ZrtpHash(ZrtpHash { version, hash })
        }
        Known::IceUfrag => Attribute::IceUfrag(non_empty(v).ok_or("ice-ufrag")?),
        Known::IcePwd => Attribute::IcePwd(non_empty(v).ok_or("ice-pwd")?),
        Known::Mid => Attribute::Mid(non_empty(v).ok_or("mid")?),
    };
    Ok(attr)
}

fn non_empty(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

/// Milliseconds; RFC 8866 §6.4 allows a fraction for ptime, which we truncate.
fn millis(v: &str) -> Option<u32> {
    let int = v.split_once('.').map_or(v, |(i, _)| i);
    int.parse().ok()
}

fn rtpmap(v: &str) -> Option<Rtpmap<'_>> {
    // `<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`, read by hand:
    // the nom sequence it replaces cost most of an SDP's parse (two or more per body).
    let (r, payload_type) = dec_u8(v)?;
    let (encoding, r) = split_run(after_blanks(r)?, |c| c != b'/' && !blank(c));
    if encoding.is_empty() {
        return None;
    }
    let (r, clock_rate) = dec_u32(r.strip_prefix('/')?)?;
    let (r, params) = match r.strip_prefix('/') {
        Some(p) => ("", Some(p)),
        None => (r, None),
    };
    end(r)?;
    if payload_type > 127 {
        return None;
    }
    let channels = params.and_then(|p: &str| trim(p).parse().ok());
    Some(Rtpmap {
        payload_type,
        encoding,
        clock_rate,
        channels,
    })
}

fn crypto(v: &str) -> Option<Crypto<'_>> {
    let (r, tag) = dec_u32(v)?;
    let (r, _) = run(space1, r)?;
    let (r, [suite, keys]) = tokens(r)?;
    let mut key_params = Vec::new();
    for kp in keys.split(';') {
        key_params.push(key_param(kp)?);
    }
    let session_params = r.split_ascii_whitespace().collect();
    Some(Crypto {
        tag,
        suite,
        key_params,
        session_params,
    })
}

fn key_param(kp: &str) -> Option<KeyParam<'_>> {
    let (method, info) = kp.split_once(':')?;
    let mut parts = info.split('|');
    let key_salt = parts.next().filter(|k| !k.is_empty())?;
    let mut lifetime = None;
    let mut mki = None;
    for part in parts {
        // RFC 4568 §9.2: the lifetime comes first and has no ':'; the MKI is `value:length`.
        match part.split_once(':') {
            Some((value, length)) if mki.is_none() => {
                mki = Some(Mki {
                    value: value.parse().ok()?,
                    length: length.parse().ok()?,
                });
            }
            None if lifetime.is_none() && mki.is_none() => lifetime = Some(part),
            _ => return None,
        }
    }
    Some(KeyParam {
        method,
        key_salt,
        lifetime,
        mki,
    })
}

fn candidate(v: &str) -> Option<Candidate<'_>> {
    let (r, foundation) = run(token, v)?;
    let (r, component) = dec_u16(run(space1, r)?.0)?;
    let (r, transport) = run(token, run(space1, r)?.0)?;
    let (r, priority) = dec_u32(run(space1, r)?.0)?;
    let (r, address) = run(token, run(space1, r)?.0)?;
    let (r, port) = dec_u16(run(space1, r)?.0)?;
    let mut words = r.split_ascii_whitespace();
    if !words.next()?.eq_ignore_ascii_case("typ") {
        return None;
    }
    let typ = match words.next()? {
        "host" => CandidateType::Host,
        "srflx" => CandidateType::Srflx,
        "prflx" => CandidateType::Prflx,
        "relay" => CandidateType::Relay,
        other => CandidateType::Other(other),
    };
    let mut c = Candidate {
        foundation,
        component,
        transport,
        priority,
        address,
        port,
        typ,
        raddr: None,
        rport: None,
        extensions: Vec::new(),
    };
    while let Some(name) = words.next() {
        let value = words.next()?;
        match name {
            "raddr" => c.raddr = Some(value),
            "rport" => c.rport = Some(value.parse().ok()?),
            _ => c.extensions.push((name, value)),
        }
    }
    Some(c)
}

fn rtcp(v: &str) -> Option<RtcpAttr<'_>> {
    let (r, port) = dec_u16(v)?;
    // nom's `space0`: any run of blanks, possibly empty.
    let r = r.trim_start_matches([' ', '\t']);
    let mut words = r.split_ascii_whitespace();
    let a = RtcpAttr {
        port,
        nettype: words.next(),
        addrtype: words.next(),
        address: words.next(),
    };
    if a.nettype.is_some() && a.address.is_none() || words.next().is_some() {
        return None;
    }
    Some(a)
}
