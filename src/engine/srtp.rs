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
        self.stalled() && keys != self.keys_seen
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
}
