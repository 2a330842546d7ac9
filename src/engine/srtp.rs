//! SRTP decryption of streams whose keys an SDP carried (SDES, RFC 4568): which key
//! decrypts which stream, and what each stream's attempts gave.
//!
//! A dialog keeps the SDES master keys of its SDP bodies ([`SdesKey`], at most
//! [`MAX_SDES_KEYS`]); a stream bound to an SRTP media line of that dialog gets an
//! [`SrtpState`] that tries them. The key of an `a=crypto` line is the one its SDP's
//! sender encrypts with (RFC 4568 §6.1: "the key is used by the offerer to encrypt the
//! SRTP it sends", and the answerer's likewise), so a stream from the address an SDP
//! announced is tried with that SDP's key first, then with the keys of the party
//! opposite the one that announced the destination. Only authentication decides (a wrong
//! key cannot pass HMAC-SHA1 or GCM), so the order only saves work.
//!
//! Bounded: a few contexts per stream, one reused output buffer for the whole engine,
//! and a stream stops trying after [`MAX_CONSECUTIVE_FAILURES`] packets in a row fail
//! (wrong key, or keys the capture never showed), unless its dialog brings new keys.

use std::net::SocketAddr;

use crate::media::srtp::{MasterKey, SrtpContext};

/// SDES keys kept per dialog (an offer listing several suites, its answer, re-INVITEs
/// with new keys); past it, keys are counted in `EngineStats::security_records_dropped`.
pub const MAX_SDES_KEYS: usize = 8;
/// Keys (contexts) one stream tries.
pub const MAX_CANDIDATES: usize = 4;
/// Consecutive packets failing to authenticate before a stream stops trying.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 64;

/// One SDES master key of a dialog's SDP (RFC 4568 §9.1 `a=crypto` inline key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesKey {
    /// True when the SDP came from the party that started the dialog.
    pub from_caller: bool,
    /// Where that SDP's media line receives RTP (and, symmetric RTP, sends from).
    pub addr: Option<SocketAddr>,
    /// Its RTCP address.
    pub rtcp: Option<SocketAddr>,
    /// Frame of the SDP.
    pub frame: u64,
    /// The master key and salt (a secret, never printed).
    pub key: MasterKey,
}

/// Where a stream's SRTP keys came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeySource {
    /// The dialog's SDP (SDES `a=crypto`, RFC 4568).
    #[default]
    Sdes,
    /// Derived from a DTLS handshake and the key log (DTLS-SRTP, RFC 5764 §4.2).
    Dtls,
    /// Given by the user (`--srtp-key`).
    User,
}

impl KeySource {
    /// The name the report uses (`srtp_keys` of a stream row).
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Sdes => "sdes",
            KeySource::Dtls => "dtls",
            KeySource::User => "user",
        }
    }
}

/// Most `--srtp-key` keys kept: each is tried on every stream lacking keys.
pub const MAX_USER_KEYS: usize = 64;

/// A master key the user gave (`--srtp-key SUITE:KEY[@ADDR:PORT]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKey {
    /// The key and salt (a secret, never printed).
    pub key: MasterKey,
    /// Only streams from or to this address (`None`: every SRTP stream lacking keys, and
    /// every stream no SDP announced).
    pub addr: Option<SocketAddr>,
}

/// Why a `--srtp-key` SPEC was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserKeyError {
    /// No `:` between the suite and the key.
    #[error("expected SUITE:BASE64_KEY[@ADDR:PORT], e.g. AES_CM_128_HMAC_SHA1_80:<40 base64 characters>@192.0.2.1:4000")]
    Syntax,
    /// The suite is not one SRTP decryption supports.
    #[error("unknown suite {0:?} (AES_CM_128_HMAC_SHA1_80/32, AES_256_CM_HMAC_SHA1_80/32, AEAD_AES_128_GCM, AEAD_AES_256_GCM)")]
    Suite(String),
    /// The key is not base64 of the suite's key and salt lengths.
    #[error("the key is not base64 of the {0} master key and salt ({1} bytes)")]
    Key(&'static str, usize),
    /// The selector is not an `ADDR:PORT` (`[v6]:PORT` for IPv6).
    #[error("{0:?} is not ADDR:PORT ([ADDR]:PORT for IPv6)")]
    Addr(String),
}

impl UserKey {
    /// Parses `SUITE:BASE64_KEY[@ADDR:PORT]`: the SDES suite name (RFC 4568 §6.2, RFC 6188,
    /// RFC 7714), the base64 master key || salt as an SDES `inline:` value carries it
    /// (an `inline:` prefix is accepted, so a key can be pasted from an `a=crypto` line),
    /// and optionally the address a stream must come from or go to.
    pub fn parse(spec: &str) -> Result<UserKey, UserKeyError> {
        let (suite, rest) = spec.split_once(':').ok_or(UserKeyError::Syntax)?;
        let rest = rest.strip_prefix("inline:").unwrap_or(rest);
        let (key, addr) = match rest.split_once('@') {
            Some((k, a)) => (
                k,
                Some(
                    a.parse::<SocketAddr>()
                        .map_err(|_| UserKeyError::Addr(a.to_string()))?,
                ),
            ),
            None => (rest, None),
        };
        let s = crate::media::srtp::Suite::from_sdes(suite)
            .ok_or_else(|| UserKeyError::Suite(suite.to_string()))?;
        // An SDES lifetime or MKI part (`|2^31|1:4`) is not part of the key here.
        let key = key.split('|').next().unwrap_or_default();
        let key = MasterKey::from_sdes(suite, key, 0)
            .ok_or(UserKeyError::Key(s.name(), s.key_len() + s.salt_len()))?;
        Ok(UserKey { key, addr })
    }

    /// The key applies to the stream `src` -> `dst` (its selector names either end, or it
    /// has none).
    pub fn selects(&self, src: SocketAddr, dst: SocketAddr) -> bool {
        self.addr.is_none_or(|a| a == src || a == dst)
    }
}

/// One key a stream tries.
#[derive(Debug, Clone)]
struct Candidate {
    ctx: SrtpContext,
}

/// A stream's SRTP decryption: the keys it tries, the one that authenticated, counts.
#[derive(Debug, Clone, Default)]
pub struct SrtpState {
    candidates: Vec<Candidate>,
    /// The candidate that authenticated a packet (tried first from then on).
    locked: Option<usize>,
    /// How many of the dialog's keys the candidates were chosen from (new keys, as a
    /// re-INVITE brings, make a stalled stream choose again).
    keys_seen: usize,
    consecutive_failures: u32,
    /// Where the keys came from; only SDES states look for new keys in their dialog.
    source: KeySource,
    /// Packets met while stalled (see [`Self::note_stalled_packet`]).
    stalled_packets: u64,
    /// SRTP packets authenticated and decrypted.
    pub decrypted: u64,
    /// SRTP packets tried that no key authenticated.
    pub auth_failed: u64,
    /// SRTCP packets authenticated and decrypted.
    pub rtcp_decrypted: u64,
    /// SRTCP packets tried that no key authenticated.
    pub rtcp_auth_failed: u64,
}

impl SrtpState {
    /// A state trying the dialog's `keys` on the stream `src` -> `dst`.
    pub fn new(keys: &[SdesKey], src: SocketAddr, dst: SocketAddr) -> SrtpState {
        let mut s = SrtpState::default();
        s.choose(keys, src, dst);
        s
    }

    /// A state trying fixed `keys` (derived from DTLS, or given by the user), at most
    /// [`MAX_CANDIDATES`] of them.
    pub fn with_keys<'a>(
        keys: impl Iterator<Item = &'a MasterKey>,
        source: KeySource,
    ) -> SrtpState {
        let candidates: Vec<Candidate> = keys
            .filter_map(|k| SrtpContext::new(k).ok())
            .take(MAX_CANDIDATES)
            .map(|ctx| Candidate { ctx })
            .collect();
        SrtpState {
            keys_seen: candidates.len(),
            candidates,
            source,
            ..SrtpState::default()
        }
    }

    /// Where its keys came from.
    pub fn source(&self) -> KeySource {
        self.source
    }

    /// Picks the candidates: keys of the SDP that announced the sender first, then keys
    /// of the party opposite the one that announced the receiver, then the others.
    fn choose(&mut self, keys: &[SdesKey], src: SocketAddr, dst: SocketAddr) {
        let receiver_side = keys
            .iter()
            .find(|k| k.addr == Some(dst) || k.rtcp == Some(dst))
            .map(|k| k.from_caller);
        let rank = |k: &SdesKey| -> u8 {
            if k.addr == Some(src) || k.rtcp == Some(src) {
                0
            } else if receiver_side.is_some_and(|r| r != k.from_caller) {
                1
            } else {
                2
            }
        };
        let mut order: Vec<&SdesKey> = keys.iter().collect();
        // Stable: within a rank, the later SDP (a re-INVITE's new key) first.
        order.reverse();
        order.sort_by_key(|k| rank(k));
        self.candidates = order
            .into_iter()
            .filter_map(|k| SrtpContext::new(&k.key).ok())
            .take(MAX_CANDIDATES)
            .map(|ctx| Candidate { ctx })
            .collect();
        self.locked = None;
        self.keys_seen = keys.len();
        self.consecutive_failures = 0;
        self.stalled_packets = 0;
    }

    /// True when it stopped trying (too many failures in a row, or no key) and the
    /// dialog now holds `keys` keys, more than it chose from: choose again.
    pub fn wants_keys(&self, keys: usize) -> bool {
        self.source == KeySource::Sdes && self.stalled() && keys != self.keys_seen
    }

    /// Re-chooses its candidates among the dialog's `keys` (see [`Self::wants_keys`]).
    pub fn refresh(&mut self, keys: &[SdesKey], src: SocketAddr, dst: SocketAddr) {
        self.choose(keys, src, dst);
    }

    /// Counts a packet met while stalled; returns how many came before it.
    pub fn note_stalled_packet(&mut self) -> u64 {
        self.stalled_packets += 1;
        self.stalled_packets - 1
    }

    /// True once a key of the dialog was tried on the stream (what the report shows).
    pub fn applied(&self) -> bool {
        self.keys_seen > 0
    }

    /// No key left to try.
    pub fn stalled(&self) -> bool {
        self.candidates.is_empty() || self.consecutive_failures >= MAX_CONSECUTIVE_FAILURES
    }

    /// The candidates in the order to try them: the locked one first.
    fn order(&self) -> impl Iterator<Item = usize> + '_ {
        self.locked
            .into_iter()
            .chain((0..self.candidates.len()).filter(move |i| Some(*i) != self.locked))
    }

    /// One SRTP packet: authenticated and decrypted into `out` (true) or counted as a
    /// failure. A stalled state does nothing.
    pub fn on_rtp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> bool {
        if self.stalled() {
            return false;
        }
        // Indexes, not an iterator over `self`: the context tried is borrowed mutably
        // (its rollover counter moves), and a per-packet list would allocate.
        for n in 0..self.candidates.len() {
            let i = match (self.locked, n) {
                (Some(l), 0) => l,
                (Some(l), n) if n <= l => n - 1,
                (_, n) => n,
            };
            let Some(c) = self.candidates.get_mut(i) else {
                continue;
            };
            if c.ctx.unprotect_rtp(packet, out).is_ok() {
                self.locked = Some(i);
                self.decrypted += 1;
                self.consecutive_failures = 0;
                return true;
            }
        }
        self.auth_failed += 1;
        self.consecutive_failures += 1;
        false
    }

    /// One SRTCP packet of the stream's SSRC (RFC 3711 §3.4): tried with the key that
    /// authenticated its SRTP, else with every candidate.
    pub fn on_rtcp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> bool {
        if self.candidates.is_empty() {
            return false;
        }
        let ok = self.order().any(|i| {
            self.candidates
                .get(i)
                .is_some_and(|c| c.ctx.unprotect_rtcp(packet, out).is_ok())
        });
        if ok {
            self.rtcp_decrypted += 1;
        } else {
            self.rtcp_auth_failed += 1;
        }
        ok
    }
}

/// The master key of an `a=crypto` line (RFC 4568 §9.1): its first `inline` key
/// parameter, when the suite is one [`crate::media::srtp`] reads and no session
/// parameter changes the transform (a key derivation rate other than 0, unencrypted or
/// unauthenticated SRTP, RFC 4568 §6.3): those would only fail to authenticate.
pub fn master_key(c: &crate::sdp::Crypto<'_>) -> Option<MasterKey> {
    let transform_changed = c.session_params.iter().any(|p| {
        let p = p.to_ascii_uppercase();
        match p.strip_prefix("KDR=") {
            Some(rate) => rate != "0",
            None => p.starts_with("UNENCRYPTED_SRTP") || p.starts_with("UNAUTHENTICATED_SRTP"),
        }
    });
    if transform_changed {
        return None;
    }
    let k = c
        .key_params
        .iter()
        .find(|k| k.method.eq_ignore_ascii_case("inline"))?;
    MasterKey::from_sdes(c.suite, k.key_salt, k.mki.map_or(0, |m| m.length))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::srtp::Suite;

    fn key(fill: u8, from_caller: bool, addr: &str) -> SdesKey {
        SdesKey {
            from_caller,
            addr: Some(addr.parse().unwrap()),
            rtcp: None,
            frame: 1,
            key: MasterKey::new(Suite::AesCm128HmacSha1_80, &[fill; 16], &[fill; 14], 0).unwrap(),
        }
    }

    fn packet(k: &SdesKey, seq: u16) -> Vec<u8> {
        let mut plain = vec![0x80, 8, (seq >> 8) as u8, seq as u8, 0, 0, 0, 0, 1, 2, 3, 4];
        plain.extend_from_slice(&[0xd5; 160]);
        SrtpContext::new(&k.key)
            .unwrap()
            .protect_rtp_for_tests(&plain, 0, &[])
    }

    const A: &str = "192.0.2.1:4000";
    const B: &str = "192.0.2.2:5000";

    /// The sender's own SDP key is tried first (RFC 4568 §6.1), whatever the order the
    /// SDP bodies came in; either way every packet decrypts.
    #[test]
    fn the_senders_key_first() {
        let (ka, kb) = (key(1, true, A), key(2, false, B));
        let st = SrtpState::new(
            &[ka.clone(), kb.clone()],
            A.parse().unwrap(),
            B.parse().unwrap(),
        );
        assert_eq!(st.candidates.len(), 2);
        let mut out = Vec::new();
        // Candidate 0 is A's key: it authenticates A's packets on its own.
        let mut first = st.candidates[0].ctx.clone();
        assert!(first.unprotect_rtp(&packet(&ka, 1), &mut out).is_ok());
        let st = SrtpState::new(
            &[ka.clone(), kb.clone()],
            B.parse().unwrap(),
            A.parse().unwrap(),
        );
        let mut first = st.candidates[0].ctx.clone();
        assert!(first.unprotect_rtp(&packet(&kb, 1), &mut out).is_ok());
        // A sender behind NAT (its source announced by no SDP): the key of the party
        // opposite the receiver comes first.
        let mut st = SrtpState::new(
            &[kb.clone(), ka.clone()],
            "198.51.100.7:3000".parse().unwrap(),
            B.parse().unwrap(),
        );
        let mut first = st.candidates[0].ctx.clone();
        assert!(first.unprotect_rtp(&packet(&ka, 1), &mut out).is_ok());
        for seq in 1..20 {
            assert!(st.on_rtp(&packet(&ka, seq), &mut out));
        }
        assert_eq!((st.decrypted, st.auth_failed), (19, 0));
    }

    /// Wrong keys: counted, then the stream stops trying; new keys in the dialog (a
    /// re-INVITE) make it try again.
    #[test]
    fn wrong_keys_stall_until_new_keys_come() {
        let (ka, kb, right) = (key(1, true, A), key(2, false, B), key(3, true, A));
        let mut st = SrtpState::new(
            &[ka.clone(), kb.clone()],
            A.parse().unwrap(),
            B.parse().unwrap(),
        );
        let mut out = Vec::new();
        for seq in 0..100 {
            st.on_rtp(&packet(&right, seq), &mut out);
        }
        assert_eq!(
            (st.decrypted, st.auth_failed),
            (0, u64::from(MAX_CONSECUTIVE_FAILURES))
        );
        assert!(st.stalled() && out.is_empty());
        assert!(!st.wants_keys(2));
        let keys = [ka, kb, right.clone()];
        assert!(st.wants_keys(keys.len()));
        st.refresh(&keys, A.parse().unwrap(), B.parse().unwrap());
        assert!(st.on_rtp(&packet(&right, 100), &mut out));
        assert_eq!(st.decrypted, 1);
        // No key at all: stalled from the start, nothing counted.
        let mut none = SrtpState::new(&[], A.parse().unwrap(), B.parse().unwrap());
        assert!(none.stalled() && !none.applied());
        assert!(!none.on_rtp(&packet(&right, 1), &mut out));
        assert_eq!(none.auth_failed, 0);
    }

    /// Fixed keys (DTLS, --srtp-key) never look at the dialog's SDES keys.
    #[test]
    fn fixed_keys() {
        let (ka, kb) = (key(1, true, A), key(2, false, B));
        let mut st = SrtpState::with_keys([&kb.key, &ka.key].into_iter(), KeySource::User);
        assert!(st.applied() && st.source() == KeySource::User);
        let mut out = Vec::new();
        for seq in 1..10 {
            assert!(st.on_rtp(&packet(&ka, seq), &mut out));
        }
        assert_eq!(st.decrypted, 9);
        for seq in 10..100 {
            st.on_rtp(&packet(&key(9, true, A), seq), &mut out);
        }
        assert!(st.stalled() && !st.wants_keys(5));
    }

    #[test]
    fn user_key_spec() {
        let k = UserKey::parse(
            "AES_CM_128_HMAC_SHA1_80:9sOd+W72ilwfNgNt0FzlGYj6YZPMqN1sJJx43UuS@192.0.2.1:4000",
        )
        .unwrap();
        assert_eq!(k.key.suite, Suite::AesCm128HmacSha1_80);
        assert_eq!(k.addr, Some(A.parse().unwrap()));
        assert!(k.selects(A.parse().unwrap(), B.parse().unwrap()));
        assert!(!k.selects(B.parse().unwrap(), B.parse().unwrap()));
        let k = UserKey::parse(
            "AES_CM_128_HMAC_SHA1_32:inline:9sOd+W72ilwfNgNt0FzlGYj6YZPMqN1sJJx43UuS|2^31",
        )
        .unwrap();
        assert!(k.addr.is_none() && k.selects(A.parse().unwrap(), B.parse().unwrap()));
        assert!(UserKey::parse("[2001:db8::1]:5").is_err());
        assert!(UserKey::parse(
            "AES_CM_128_HMAC_SHA1_80:9sOd+W72ilwfNgNt0FzlGYj6YZPMqN1sJJx43UuS@[2001:db8::1]:5"
        )
        .is_ok());
        assert!(matches!(
            UserKey::parse("nocolon"),
            Err(UserKeyError::Syntax)
        ));
        assert!(matches!(
            UserKey::parse("F8_128_HMAC_SHA1_80:AAAA"),
            Err(UserKeyError::Suite(_))
        ));
        assert!(matches!(
            UserKey::parse("AEAD_AES_256_GCM:9sOd+W72ilwfNgNt0FzlGYj6YZPMqN1sJJx43UuS"),
            Err(UserKeyError::Key(_, 44))
        ));
        assert!(matches!(
            UserKey::parse(
                "AES_CM_128_HMAC_SHA1_80:9sOd+W72ilwfNgNt0FzlGYj6YZPMqN1sJJx43UuS@nowhere"
            ),
            Err(UserKeyError::Addr(_))
        ));
    }
}
