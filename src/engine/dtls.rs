//! DTLS-SRTP keying (RFC 5764) of media flows: the DTLS associations seen on UDP, and the
//! SRTP master keys derived for them from the key log (`--tls-keylog`).
//!
//! Each association (the unordered address pair of a flow) gets a
//! [`crate::media::dtls::Handshake`] that reads the hellos in the clear. Once both are
//! read, the key log's `CLIENT_RANDOM` line for the client random gives the master secret
//! and the exporter (RFC 5705 §4) with the label `EXTRACTOR-dtls_srtp` gives
//! `2 * (key_len + salt_len)` bytes (RFC 5764 §4.2): client_write_SRTP_master_key,
//! server_write_SRTP_master_key, client salt, server salt. The DTLS client's key protects
//! what the DTLS client sends (SRTP and SRTCP), the server's what the server sends.
//!
//! Bounded: at most `Limits::max_dtls_sessions` associations; past it the least recently
//! active one is evicted (`engine.dtls.evictions`) with its keys.

use std::collections::HashMap;
use std::net::SocketAddr;

use serde::Serialize;

use crate::media::dtls::{profile_suite, Handshake, Side, DTLS_1_3};
use crate::media::srtp::MasterKey;
use crate::net::tls_decrypt::{export_keying_material, ExportError, KeyLog, DTLS_SRTP_LABEL};

/// Estimated cost of one DTLS association: the handshake state with a hello being
/// reassembled (a few hundred bytes, at most `media::dtls::MAX_HELLO`; freed once read),
/// the keys and the address index entries.
pub const DTLS_SESSION_COST_BYTES: u64 = 4096;

/// What the DTLS associations on media flows gave (`engine.dtls` in the JSON; absent
/// while no DTLS was seen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DtlsStats {
    /// DTLS associations seen (address pairs with a DTLS record).
    pub sessions: u64,
    /// Associations whose SRTP keys were derived from the key log.
    pub with_keys: u64,
    /// Associations with both hellos and a supported profile, but no `CLIENT_RANDOM`
    /// line for their client random in the key log.
    pub without_keys: u64,
    /// Associations whose ServerHello chose no SRTP profile this build reads (no
    /// `use_srtp` at all, a NULL-cipher profile or an unknown one).
    pub unsupported_profile: u64,
    /// DTLS 1.3 associations (RFC 9147: the profile travels encrypted; its exporter needs
    /// `EXPORTER_SECRET` and the handshake transcript), or a cipher suite whose PRF is
    /// not known: counted, not keyed.
    pub unsupported_version: u64,
    /// Records or handshake fragments that were malformed.
    pub malformed: u64,
    /// Associations evicted by `Limits::max_dtls_sessions`.
    pub evictions: u64,
}

impl DtlsStats {
    /// Nothing counted (the JSON leaves the object out).
    pub fn is_empty(&self) -> bool {
        *self == DtlsStats::default()
    }
}

/// Where an association stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Hellos not both read yet.
    Pending,
    /// Keys derived.
    Keyed,
    /// Decided without keys (counted once).
    Done,
}

/// The SRTP keys of one association, by sender.
#[derive(Debug, Clone)]
struct Keys {
    client: SocketAddr,
    client_key: MasterKey,
    server: SocketAddr,
    server_key: MasterKey,
}

#[derive(Debug)]
struct Session {
    hs: Handshake,
    outcome: Outcome,
    keys: Option<Keys>,
    /// Last datagram, in arrival order (for eviction).
    last: u64,
    malformed_counted: u64,
}

/// The DTLS associations of media flows and their SRTP keys.
#[derive(Debug, Default)]
pub struct DtlsTable {
    sessions: HashMap<(SocketAddr, SocketAddr), Session>,
    /// Address -> the association whose keys cover what it sends or receives.
    by_addr: HashMap<SocketAddr, (SocketAddr, SocketAddr)>,
    max: usize,
    tick: u64,
    /// Counters.
    pub stats: DtlsStats,
}

fn pair(a: SocketAddr, b: SocketAddr) -> ((SocketAddr, SocketAddr), Side) {
    if a <= b {
        ((a, b), Side::Lo)
    } else {
        ((b, a), Side::Hi)
    }
}

impl DtlsTable {
    /// A table keeping at most `max` associations (at least one).
    pub fn new(max: usize) -> DtlsTable {
        DtlsTable {
            max: max.max(1),
            ..DtlsTable::default()
        }
    }

    /// True once some association has keys (the engine then looks streams up here).
    pub fn has_keys(&self) -> bool {
        !self.by_addr.is_empty()
    }

    /// One DTLS datagram from `src` to `dst`; derives the keys with `keys` once both
    /// hellos are read.
    pub fn on_datagram(&mut self, src: SocketAddr, dst: SocketAddr, payload: &[u8], keys: &KeyLog) {
        let (k, from) = pair(src, dst);
        self.tick += 1;
        if !self.sessions.contains_key(&k) {
            if self.sessions.len() >= self.max {
                self.evict();
            }
            self.stats.sessions += 1;
            self.sessions.insert(
                k,
                Session {
                    hs: Handshake::new(),
                    outcome: Outcome::Pending,
                    keys: None,
                    last: 0,
                    malformed_counted: 0,
                },
            );
        }
        let Some(s) = self.sessions.get_mut(&k) else {
            return;
        };
        s.last = self.tick;
        if s.outcome != Outcome::Pending {
            // Encrypted records after the handshake: nothing left to read.
            return;
        }
        s.hs.on_datagram(from, payload);
        self.stats.malformed += s.hs.malformed - s.malformed_counted;
        s.malformed_counted = s.hs.malformed;
        if !s.hs.hellos_seen() {
            return;
        }
        let (Some(cr), Some(sr), Some(suite_id), Some(client)) = (
            s.hs.client_random,
            s.hs.server_random,
            s.hs.cipher_suite,
            s.hs.client,
        ) else {
            return;
        };
        let (version, profile) = (s.hs.version, s.hs.profile);
        s.outcome = Outcome::Done;
        // Decided: the reassembly state is no longer needed.
        s.hs = Handshake::new();
        s.malformed_counted = 0;
        if version == Some(DTLS_1_3) {
            self.stats.unsupported_version += 1;
            return;
        }
        let Some(suite) = profile.and_then(profile_suite) else {
            self.stats.unsupported_profile += 1;
            return;
        };
        let (kl, sl) = (suite.key_len(), suite.salt_len());
        let mut km = [0u8; 2 * (32 + 14)];
        let Some(out) = km.get_mut(..2 * (kl + sl)) else {
            return;
        };
        match export_keying_material(keys, &cr, &sr, suite_id, DTLS_SRTP_LABEL, out) {
            Ok(()) => {}
            Err(ExportError::NoSecret) => {
                self.stats.without_keys += 1;
                return;
            }
            Err(ExportError::UnknownSuite(_)) => {
                self.stats.unsupported_version += 1;
                return;
            }
        }
        // RFC 5764 §4.2: client key, server key, client salt, server salt.
        let part = |from: usize, len: usize| km.get(from..from + len).unwrap_or_default();
        let (Some(client_key), Some(server_key)) = (
            MasterKey::new(suite, part(0, kl), part(2 * kl, sl), 0),
            MasterKey::new(suite, part(kl, kl), part(2 * kl + sl, sl), 0),
        ) else {
            return;
        };
        let (client, server) = match client {
            Side::Lo => (k.0, k.1),
            Side::Hi => (k.1, k.0),
        };
        s.outcome = Outcome::Keyed;
        s.keys = Some(Keys {
            client,
            client_key,
            server,
            server_key,
        });
        self.stats.with_keys += 1;
        self.by_addr.insert(client, k);
        self.by_addr.insert(server, k);
    }

    /// The key protecting packets from `src` to `dst`, if a keyed association covers
    /// them: the sender's key when the sender is one of its ends, else the key of the
    /// receiver's peer (a sender seen from another port, e.g. behind a NAT).
    pub fn key_for(&self, src: SocketAddr, dst: SocketAddr) -> Option<&MasterKey> {
        let by = |a: &SocketAddr| {
            self.by_addr
                .get(a)
                .and_then(|k| self.sessions.get(k))
                .and_then(|s| s.keys.as_ref())
        };
        if let Some(k) = by(&src) {
            if k.client == src {
                return Some(&k.client_key);
            }
            if k.server == src {
                return Some(&k.server_key);
            }
        }
        let k = by(&dst)?;
        if k.client == dst {
            Some(&k.server_key)
        } else {
            Some(&k.client_key)
        }
    }

    fn evict(&mut self) {
        let Some(old) = self
            .sessions
            .iter()
            .min_by_key(|(_, s)| s.last)
            .map(|(k, _)| *k)
        else {
            return;
        };
        self.sessions.remove(&old);
        self.by_addr.retain(|_, k| *k != old);
        self.stats.evictions += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exporter over the bundled sample's key log gives what OpenSSL's s_client and
    /// s_server printed for it (`-keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 60`,
    /// samples/dtls-srtp-call.exporter): an independent oracle for the RFC 5705 exporter
    /// with the SHA-384 PRF (the sample's suite is ECDHE-ECDSA-AES256-GCM-SHA384).
    #[test]
    fn exporter_matches_openssl() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let keylog = std::fs::read(root.join("dtls-srtp-call.keys")).unwrap();
        let expected = std::fs::read_to_string(root.join("dtls-srtp-call.exporter")).unwrap();
        let mut keys = KeyLog::new();
        assert_eq!(keys.add_nss(&keylog, "sample").unwrap(), 1);
        // The randoms of the sample's hellos, read from the capture.
        use crate::capture::FrameSource;
        let mut frames = crate::capture::open_path(&root.join("dtls-srtp-call.pcap")).unwrap();
        let mut hs = Handshake::new();
        let mut dec = crate::net::Decoder::default();
        while let Some(f) = frames.next_frame().unwrap() {
            let mut segs = Vec::new();
            dec.decode(&f, &mut segs);
            for s in &segs {
                if crate::media::classify_udp(&s.payload) == crate::media::MediaKind::Dtls {
                    let (_, side) = pair(s.src, s.dst);
                    hs.on_datagram(side, &s.payload);
                }
            }
        }
        let (cr, sr) = (hs.client_random.unwrap(), hs.server_random.unwrap());
        assert_eq!(hs.profile, Some(1));
        let mut out = [0u8; 60];
        export_keying_material(
            &keys,
            &cr,
            &sr,
            hs.cipher_suite.unwrap(),
            DTLS_SRTP_LABEL,
            &mut out,
        )
        .unwrap();
        let hex: String = out.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex, expected.trim());
        // Another label gives other bytes; an unknown client random gives no secret.
        let mut other = [0u8; 60];
        export_keying_material(
            &keys,
            &cr,
            &sr,
            hs.cipher_suite.unwrap(),
            b"EXTRACTOR-other",
            &mut other,
        )
        .unwrap();
        assert_ne!(other, out);
        assert_eq!(
            export_keying_material(
                &keys,
                &sr,
                &cr,
                hs.cipher_suite.unwrap(),
                DTLS_SRTP_LABEL,
                &mut other
            ),
            Err(ExportError::NoSecret)
        );
    }
}
