//! TLS record framing over a reassembled TCP direction (SIP over TLS, RFC 3261 §26.2.1,
//! RFC 5630).
//!
//! A direction whose first bytes are a TLS handshake record header is classified TLS. Its
//! cleartext handshake-phase records are passed up whole, as [`Transport::TlsRecords`](super::Transport)
//! segments, until the direction sends change_cipher_spec (TLS ≤ 1.2: everything after it is
//! encrypted), its first application_data record (TLS 1.3 encrypts the rest of the handshake
//! under content type 23, RFC 8446 §5.1), or [`MAX_HANDSHAKE_BYTES`]. After that only record
//! headers are read: application_data records are counted and passed up as their 5-byte
//! header, their bodies dropped without being buffered. SIP messages inside TLS are invisible
//! to a passive observer without keys.

use std::borrow::Cow;

use super::{NetStats, Segment, Transport};

/// Most cleartext handshake bytes (record headers included) passed up per direction. A
/// handshake with a certificate chain fits in a few KiB; 32 KiB leaves room for long chains.
pub const MAX_HANDSHAKE_BYTES: usize = 32 * 1024;

/// TLS record content types (RFC 8446 §5.1, RFC 6520 for heartbeat).
pub mod content_type {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
    /// heartbeat (RFC 6520).
    pub const HEARTBEAT: u8 = 24;
}

/// Record header length: type (1), legacy version (2), length (2).
pub const RECORD_HEADER_LEN: usize = 5;

/// Largest record body accepted as sane: 2^14 plaintext plus the 2048 bytes of expansion
/// TLS 1.2 allows for ciphertext (RFC 5246 §6.2.3).
const MAX_RECORD_BODY: usize = 16_384 + 2_048;

/// A parsed record header: content type and body length, if `h` is a plausible TLS record
/// header (known content type, major version 3, minor 0 (SSLv3) to 4, sane length).
pub fn record_header(h: &[u8]) -> Option<(u8, usize)> {
    let h: &[u8; RECORD_HEADER_LEN] = h.get(..RECORD_HEADER_LEN)?.try_into().ok()?;
    let [ctype, major, minor, hi, lo] = *h;
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    let known = (content_type::CHANGE_CIPHER_SPEC..=content_type::HEARTBEAT).contains(&ctype);
    (known && major == 3 && minor <= 4 && len <= MAX_RECORD_BODY).then_some((ctype, len))
}

/// Whether `s` starts like a TLS stream: a non-empty handshake record header (RFC 8446 §5.1;
/// a ClientHello or, when the capture misses the client side, a ServerHello).
pub fn looks_like_tls_start(s: &[u8]) -> bool {
    matches!(record_header(s), Some((content_type::HANDSHAKE, len)) if len >= 4)
}

/// Whether `h`, shorter than a record header, could be the start of a handshake record
/// header (content type 22, major version 3, minor 0 to 4); SIP never starts with 0x16.
pub fn could_start_tls(h: &[u8]) -> bool {
    let ok = |i: usize, f: fn(u8) -> bool| h.get(i).is_none_or(|&b| f(b));
    !h.is_empty()
        && ok(0, |b| b == content_type::HANDSHAKE)
        && ok(1, |b| b == 3)
        && ok(2, |b| b <= 4)
}

/// Record framing state of one TLS direction.
#[derive(Debug, Default)]
pub(crate) struct TlsDir {
    /// The cleartext handshake phase of this direction is over.
    done: bool,
    /// Framing is lost: every later byte is dropped.
    lost: bool,
    /// Body bytes of an elided record still to skip.
    skip: usize,
    /// Handshake-phase bytes passed up so far.
    sent: usize,
    /// The record being buffered whole (for decryption) was counted already.
    counted: bool,
}

impl TlsDir {
    /// Framing is lost after a hole in the stream: the next byte is not known to start a
    /// record.
    pub(crate) fn lose_sync(&mut self, stats: &mut NetStats) {
        if !self.lost {
            self.lost = true;
            stats.tls_desyncs += 1;
        }
    }
}

/// Where one direction's records go.
pub(crate) struct Sink<'s, 'o, 'a> {
    pub(crate) stats: &'s mut NetStats,
    pub(crate) out: &'o mut Vec<Segment<'a>>,
    pub(crate) proto: Segment<'static>,
}

/// Feeds in-order bytes of a TLS direction. `buf` holds a pending record header or
/// handshake-phase record (at most [`MAX_HANDSHAKE_BYTES`]); whatever records complete are
/// pushed as one segment.
///
/// With `whole` (keys to decrypt with are at hand), every record completed, encrypted
/// ones included, is also appended to it whole, header and body: `buf` then holds at most
/// one record (5 + 2^14 + 2048 bytes).
pub(crate) fn deliver(
    st: &mut TlsDir,
    buf: &mut Vec<u8>,
    data: &[u8],
    sink: Sink<'_, '_, '_>,
    mut whole: Option<&mut Vec<u8>>,
) {
    let Sink { stats, out, proto } = sink;
    let mut rest = data;
    let mut up: Vec<u8> = Vec::new();
    while !rest.is_empty() {
        if st.lost {
            stats.tls_unsynced_bytes += rest.len() as u64;
            buf.clear();
            break;
        }
        if st.skip > 0 {
            let n = st.skip.min(rest.len());
            st.skip -= n;
            rest = rest.get(n..).unwrap_or_default();
            continue;
        }
        let need_hdr = RECORD_HEADER_LEN.saturating_sub(buf.len());
        if need_hdr > 0 {
            let (a, b) = rest.split_at(need_hdr.min(rest.len()));
            buf.extend_from_slice(a);
            rest = b;
            if buf.len() < RECORD_HEADER_LEN {
                break;
            }
        }
        let Some((ctype, len)) = record_header(buf) else {
            st.lose_sync(stats);
            stats.tls_unsynced_bytes += buf.len() as u64;
            buf.clear();
            continue;
        };
        let total = RECORD_HEADER_LEN + len;
        if st.done || ctype == content_type::APPLICATION_DATA {
            // Encrypted: count, pass the header of application data; drop the body unless
            // it is to be decrypted, then counted once however it arrives.
            if ctype == content_type::APPLICATION_DATA && !st.counted {
                stats.tls_app_records += 1;
                stats.tls_app_bytes += len as u64;
                up.extend_from_slice(buf.get(..RECORD_HEADER_LEN).unwrap_or_default());
            }
            st.done = true;
            if let Some(w) = whole.as_deref_mut() {
                let (a, b) = rest.split_at(total.saturating_sub(buf.len()).min(rest.len()));
                buf.extend_from_slice(a);
                rest = b;
                if buf.len() < total {
                    st.counted = true;
                    break;
                }
                st.counted = false;
                w.extend_from_slice(buf);
                buf.clear();
                continue;
            }
            st.skip = total.saturating_sub(buf.len());
            buf.clear();
            continue;
        }
        if st.sent + total > MAX_HANDSHAKE_BYTES {
            stats.tls_handshake_truncated += 1;
            st.done = true;
            continue;
        }
        let (a, b) = rest.split_at(total.saturating_sub(buf.len()).min(rest.len()));
        buf.extend_from_slice(a);
        rest = b;
        if buf.len() < total {
            break;
        }
        up.extend_from_slice(buf);
        if let Some(w) = whole.as_deref_mut() {
            w.extend_from_slice(buf);
        }
        buf.clear();
        st.sent += total;
        stats.tls_handshake_records += 1;
        if ctype == content_type::CHANGE_CIPHER_SPEC {
            // TLS ≤ 1.2: what follows in this direction is encrypted (RFC 5246 §7.1). In
            // TLS 1.3 this is the middlebox-compatibility record (RFC 8446 §D.4) and the
            // encrypted records that follow are type 23, so stopping here loses nothing.
            st.done = true;
        }
    }
    if !up.is_empty() {
        out.push(Segment {
            transport: Transport::TlsRecords,
            payload: Cow::Owned(up),
            ..proto
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use std::net::SocketAddr;

    fn run(chunks: &[&[u8]]) -> (NetStats, Vec<Vec<u8>>) {
        let (stats, out, _) = run_whole(chunks, false);
        (stats, out)
    }

    /// Runs `chunks` through [`deliver`]; with `keep`, also returns the whole records.
    fn run_whole(chunks: &[&[u8]], keep: bool) -> (NetStats, Vec<Vec<u8>>, Vec<u8>) {
        let mut whole = Vec::new();
        let mut stats = NetStats::default();
        let mut st = TlsDir::default();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:5061".parse().unwrap();
        for c in chunks {
            let proto = Segment {
                frame: 1,
                ts: Timestamp::default(),
                src: a,
                dst: b,
                transport: Transport::TlsRecords,
                payload: Cow::Borrowed(&[]),
                hep: None,
                icmp: None,
            };
            deliver(
                &mut st,
                &mut buf,
                c,
                Sink {
                    stats: &mut stats,
                    out: &mut out,
                    proto,
                },
                keep.then_some(&mut whole),
            );
        }
        let out = out.into_iter().map(|s| s.payload.to_vec()).collect();
        (stats, out, whole)
    }

    const HS: &[u8] = &[22, 3, 1, 0, 4, 1, 0, 0, 0];
    const CCS: &[u8] = &[20, 3, 3, 0, 1, 1];

    #[test]
    fn classifies_handshake_start() {
        assert!(looks_like_tls_start(HS));
        assert!(!looks_like_tls_start(b"INVITE sip:a SIP/2.0\r\n"));
        assert!(!looks_like_tls_start(&[23, 3, 3, 0, 10]));
        assert!(!looks_like_tls_start(&[22, 3, 5, 0, 10]));
        assert!(!looks_like_tls_start(&[22, 3, 3, 0xff, 0xff]));
        assert!(could_start_tls(&[22]) && could_start_tls(&[22, 3, 4, 0]));
        assert!(!could_start_tls(b"") && !could_start_tls(b"INV") && !could_start_tls(&[22, 2]));
    }

    #[test]
    fn records_split_anywhere_and_app_data_elided() {
        let mut all = HS.to_vec();
        all.extend_from_slice(CCS);
        all.extend_from_slice(&[22, 3, 3, 0, 2, 9, 9]); // encrypted Finished: dropped
        all.extend_from_slice(&[23, 3, 3, 0, 3, 7, 7, 7]);
        for cut in 0..all.len() {
            let (a, b) = all.split_at(cut);
            let (stats, out) = run(&[a, b]);
            let joined: Vec<u8> = out.concat();
            let mut want = HS.to_vec();
            want.extend_from_slice(CCS);
            want.extend_from_slice(&[23, 3, 3, 0, 3]);
            assert_eq!(joined, want, "cut {cut}");
            assert_eq!(stats.tls_handshake_records, 2);
            assert_eq!((stats.tls_app_records, stats.tls_app_bytes), (1, 3));
        }
    }

    #[test]
    fn whole_records_kept_for_decryption_split_anywhere() {
        let mut all = HS.to_vec();
        all.extend_from_slice(CCS);
        all.extend_from_slice(&[22, 3, 3, 0, 2, 9, 9]); // encrypted Finished
        all.extend_from_slice(&[23, 3, 3, 0, 3, 7, 7, 7]);
        all.extend_from_slice(&[23, 3, 3, 0, 1, 5]);
        let (want_stats, want_out) = run(&[&all]);
        for cut in 0..all.len() {
            for cut2 in cut..all.len() {
                let (a, rest) = all.split_at(cut);
                let (b, c) = rest.split_at(cut2 - cut);
                let (stats, out, whole) = run_whole(&[a, b, c], true);
                // Every record whole, in order; the audit's view and counters unchanged.
                assert_eq!(whole, all, "cuts {cut} {cut2}");
                assert_eq!(out.concat(), want_out.concat(), "cuts {cut} {cut2}");
                assert_eq!(stats, want_stats, "cuts {cut} {cut2}");
            }
        }
    }

    #[test]
    fn handshake_bound_truncates() {
        let big = [22u8, 3, 3, 0x40, 0x00];
        let mut rec = big.to_vec();
        rec.resize(5 + 0x4000, 0);
        let (stats, out) = run(&[HS, &rec, &rec, &rec]);
        // HS + one 16 KiB record fit; the second would pass 32 KiB.
        assert_eq!(out.concat().len(), HS.len() + rec.len());
        assert_eq!(stats.tls_handshake_truncated, 1);
    }

    #[test]
    fn garbage_loses_sync() {
        let (stats, out) = run(&[HS, b"GET / HTTP/1.1\r\n"]);
        assert_eq!(out.concat(), HS);
        assert_eq!(stats.tls_desyncs, 1);
        assert_eq!(stats.tls_unsynced_bytes, 16);
    }
}
