//! Handshakes captured from `openssl s_server`/`s_client` on loopback
//! (scripts/make-tls-fixtures.sh), decoded through the real network layer.

use super::*;
use crate::capture::{self, FrameSource};
use crate::model::Finding;
use crate::net::{Decoder, Transport};
use crate::rules::tls::{weaknesses, TLS, TLS_WEAK};

/// What the TLS rule concludes from a tracker used on its own: every ended session, then
/// every live one.
trait Findings {
    fn findings(&self) -> Vec<Finding>;
}

impl Findings for TlsTracker {
    fn findings(&self) -> Vec<Finding> {
        let mut sessions: Vec<&TlsSession> = self.ended().iter().collect();
        sessions.extend(self.sessions());
        sessions
            .into_iter()
            .flat_map(|s| crate::rules::tls::findings(s, self.sip_tls_ports()))
            .collect()
    }
}
use proptest::prelude::*;

const TLS12_SELF: &[u8] = include_bytes!("../../tests/data/tls12-selfsigned.pcap");
const TLS12_CA: &[u8] = include_bytes!("../../tests/data/tls12-ca.pcap");
const TLS13_ALPN: &[u8] = include_bytes!("../../tests/data/tls13-alpn.pcap");
const TLS10_CBC: &[u8] = include_bytes!("../../tests/data/tls10-cbc.pcap");
const TLS12_EXPIRED: &[u8] = include_bytes!("../../tests/data/tls12-expired.pcap");

/// The TLS segments of a capture, owned: (frame, ts, src, dst, payload).
fn tls_segments(pcap: &[u8]) -> Vec<Segment<'static>> {
    let mut src = capture::open_bytes("fixture", pcap.to_vec()).unwrap();
    let mut dec = Decoder::default();
    let mut all = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        let mut out = Vec::new();
        dec.decode(&f, &mut out);
        for s in out {
            assert_eq!(s.transport, Transport::TlsRecords, "frame {}", s.frame);
            all.push(Segment {
                payload: std::borrow::Cow::Owned(s.payload.into_owned()),
                ..s
            });
        }
    }
    assert_eq!(dec.stats().tls_streams, 2);
    assert_eq!(dec.stats().tcp_non_sip_streams, 0);
    all
}

fn track(pcap: &[u8]) -> TlsTracker {
    let mut t = TlsTracker::default();
    for s in tls_segments(pcap) {
        t.on_segment(&s);
    }
    t
}

fn only_session(t: &TlsTracker) -> &TlsSession {
    let v = t.sessions();
    assert_eq!(v.len(), 1);
    v.first().copied().unwrap()
}

fn rules(t: &TlsTracker) -> Vec<&'static str> {
    t.findings().iter().map(|f| f.rule.as_str()).collect()
}

fn cert(s: &TlsSession) -> &CertInfo {
    match &s.cert {
        CertState::Parsed(c) => c,
        other => panic!("certificate not parsed: {other:?}"),
    }
}

#[test]
fn tls12_self_signed_gcm() {
    let t = track(TLS12_SELF);
    let s = only_session(&t);
    assert_eq!(s.server.port(), 5061);
    let ch = s.client_hello.as_ref().unwrap();
    assert_eq!(ch.sni.as_deref(), Some("sip.example.com"));
    assert_eq!(ch.cipher_count, 28);
    let sh = s.server_hello.as_ref().unwrap();
    assert_eq!(sh.version, version::TLS12);
    assert_eq!(
        sh.cipher_name(),
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
    let c = cert(s);
    assert!(c.self_signed);
    assert_eq!(c.subject, c.issuer);
    assert!(c.subject.contains("CN=sip.example.com"), "{}", c.subject);
    assert_eq!((c.key_type.as_str(), c.key_bits), ("RSA", 2048));
    assert_eq!(c.signature, "sha256WithRSAEncryption");
    assert_eq!(c.chain_len, 1);
    assert_eq!(weaknesses(s), ["self-signed certificate"]);
    assert_eq!(rules(&t), [TLS.as_str(), TLS_WEAK.as_str()]);
    // Evidence: ClientHello frame first, then the server flight.
    assert_eq!(s.evidence.first(), Some(&4));
    assert!(s.evidence.contains(&6));
    let f = t.findings();
    assert!(f[0].summary.contains("TLS 1.2"), "{}", f[0].summary);
    assert!(
        f[0].summary.contains("SNI sip.example.com"),
        "{}",
        f[0].summary
    );
}

#[test]
fn tls12_ca_signed_is_not_weak() {
    let t = track(TLS12_CA);
    let s = only_session(&t);
    let c = cert(s);
    assert!(!c.self_signed);
    assert!(c.issuer.contains("siplens Test CA"), "{}", c.issuer);
    assert!(c.subject.contains("proxy.example.com"), "{}", c.subject);
    assert_eq!(
        s.server_hello.as_ref().unwrap().cipher_name(),
        Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    );
    assert!(weaknesses(s).is_empty(), "{:?}", weaknesses(s));
    assert_eq!(rules(&t), [TLS.as_str()]);
    // The OPTIONS sent by the client travelled encrypted.
    assert!(s.app_records[0] >= 1);
}

#[test]
fn tls13_alpn_sip_cert_encrypted() {
    let t = track(TLS13_ALPN);
    let s = only_session(&t);
    // Not on 5061: SIP because the client offered ALPN "sip".
    assert_eq!(s.server.port(), 15061);
    let ch = s.client_hello.as_ref().unwrap();
    assert_eq!(ch.alpn, ["sip"]);
    assert!(ch.offered_versions.contains(&version::TLS13));
    let sh = s.server_hello.as_ref().unwrap();
    assert_eq!(sh.version, version::TLS13);
    assert_eq!(sh.cipher_name(), Some("TLS_AES_256_GCM_SHA384"));
    assert_eq!(s.cert, CertState::Encrypted);
    assert!(s.app_records.iter().sum::<u64>() > 2);
    assert_eq!(rules(&t), [TLS.as_str()]);
    assert!(t.findings()[0]
        .summary
        .contains("certificate encrypted (TLS 1.3)"));
    // Without the ALPN and off the SIP-TLS ports it is not SIP: no finding.
    let mut other = TlsTracker::default();
    other.set_sip_tls_ports(&[]);
    for mut seg in tls_segments(TLS13_ALPN) {
        // Drop ALPN by rewriting "sip" into "xyz" in the ClientHello and ServerHello.
        let p = seg.payload.to_mut();
        let mut i = 0;
        while let Some(w) = p.get(i..i + 4) {
            if w == b"\x03sip" {
                p[i + 1..i + 4].copy_from_slice(b"xyz");
            }
            i += 1;
        }
        other.on_segment(&seg);
    }
    assert!(other.findings().is_empty());
}

#[test]
fn tls10_cbc_weak_cert_lists_every_weakness() {
    let t = track(TLS10_CBC);
    let s = only_session(&t);
    assert_eq!(s.version(), Some(version::TLS10));
    assert_eq!(
        weaknesses(s),
        [
            "TLS 1.0 (below TLS 1.2)",
            "CBC (non-AEAD) cipher suite",
            "self-signed certificate",
            "RSA key of 1024 bits (< 2048)",
            "SHA-1 certificate signature (sha1WithRSAEncryption)",
        ]
    );
    let f = t.findings();
    assert_eq!(rules(&t), [TLS.as_str(), TLS_WEAK.as_str()]);
    assert_eq!(f[1].severity, crate::engine::Severity::Medium);
    assert!(f[1].summary.contains("TLS 1.0"), "{}", f[1].summary);
}

#[test]
fn expired_certificate_judged_at_capture_time() {
    let t = track(TLS12_EXPIRED);
    let s = only_session(&t);
    let c = cert(s);
    assert_eq!(c.not_after, 1_609_459_200); // 2021-01-01T00:00:00Z
    assert_eq!(weaknesses(s), ["certificate expired on 2021-01-01"]);
    // The same handshake captured in 2020 is valid: time comes from the packet.
    let mut early = TlsTracker::default();
    for mut seg in tls_segments(TLS12_EXPIRED) {
        seg.ts = Timestamp::from_parts(1_590_000_000, 0);
        early.on_segment(&seg);
    }
    assert!(weaknesses(only_session(&early)).is_empty());
    // And before 2020 it is not valid yet.
    let mut before = TlsTracker::default();
    for mut seg in tls_segments(TLS12_EXPIRED) {
        seg.ts = Timestamp::from_parts(1_500_000_000, 0);
        before.on_segment(&seg);
    }
    assert_eq!(
        weaknesses(only_session(&before)),
        ["certificate not valid before 2020-01-01"]
    );
}

#[test]
fn truncated_handshake_keeps_what_parsed() {
    let segs = tls_segments(TLS12_SELF);
    let mut t = TlsTracker::default();
    // ClientHello whole, then the server flight cut in the middle of the Certificate.
    let server = segs.iter().position(|s| s.src.port() == 5061).unwrap();
    for s in segs.get(..server).unwrap() {
        t.on_segment(s);
    }
    let mut cut = segs[server].clone();
    let half = cut.payload.len() / 2;
    cut.payload.to_mut().truncate(half);
    t.on_segment(&cut);
    let s = only_session(&t);
    assert!(s.client_hello.is_some());
    assert!(s.server_hello.is_some());
    assert_eq!(s.cert, CertState::NotSeen);
    assert!(s.parse_errors >= 1);
    assert_eq!(rules(&t), [TLS.as_str()]);
}

#[test]
fn handshake_message_spanning_records() {
    // The ClientHello of the fixture split into two handshake records.
    let segs = tls_segments(TLS12_SELF);
    let ch: &[u8] = &segs[0].payload;
    let body = &ch[5..];
    let (a, b) = body.split_at(body.len() / 3);
    let mut p = Vec::new();
    for part in [a, b] {
        p.extend_from_slice(&[22, 3, 1]);
        p.extend_from_slice(&(part.len() as u16).to_be_bytes());
        p.extend_from_slice(part);
    }
    let mut seg = segs[0].clone();
    seg.payload = p.into();
    let mut t = TlsTracker::default();
    t.on_segment(&seg);
    let s = only_session(&t);
    assert_eq!(
        s.client_hello.as_ref().unwrap().sni.as_deref(),
        Some("sip.example.com")
    );
    assert_eq!(s.parse_errors, 0);
}

#[test]
fn session_table_is_bounded() {
    let segs = tls_segments(TLS12_SELF);
    let mut t = TlsTracker::new(4);
    for i in 0..10u16 {
        let mut s = segs[0].clone();
        s.src.set_port(40_000 + i);
        t.on_segment(&s);
    }
    assert!(t.sessions().len() <= 4);
    assert_eq!(t.sessions_created(), 10);
    assert_eq!(t.evictions(), 6);
    // Evicted sessions keep their finding.
    assert_eq!(t.findings().len(), 10);
}

#[test]
fn new_connection_on_same_addresses_starts_a_new_session() {
    let segs = tls_segments(TLS12_SELF);
    let mut t = TlsTracker::default();
    for s in &segs {
        t.on_segment(s);
    }
    for s in &segs {
        t.on_segment(s);
    }
    assert_eq!(t.sessions_created(), 2);
    assert_eq!(t.sessions().len(), 1);
    // Both sessions reported: tls + tls-weak each.
    assert_eq!(rules(&t).len(), 4);
}

#[test]
fn grease_is_recognised() {
    assert!(is_grease(0x0a0a) && is_grease(0xfafa));
    assert!(!is_grease(0x0303) && !is_grease(0x0a1a));
}

/// Raw IPv4 frames of one TCP direction 10.0.0.1:40000 -> 10.0.0.2:5061 carrying `stream`
/// from its SYN, cut at `cuts`.
fn tcp_frames(stream: &[u8], cuts: &[usize]) -> Vec<capture::Frame> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(stream.len())).collect();
    cuts.push(0);
    cuts.push(stream.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mk = |n: u64, seq: u32, syn: bool, data: &[u8]| {
        let mut b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 5061, seq, 1000);
        if syn {
            b = b.syn();
        }
        let mut v = Vec::new();
        b.write(&mut v, data).unwrap();
        capture::Frame {
            number: n,
            ts: Timestamp::from_parts(1_700_000_000, 0),
            link_type: capture::LinkType::RAW,
            orig_len: v.len() as u32,
            data: v,
            interface: 0,
        }
    };
    let mut frames = vec![mk(1, 999, true, b"")];
    for (i, w) in cuts.windows(2).enumerate() {
        let data = &stream[w[0]..w[1]];
        frames.push(mk(i as u64 + 2, 1000 + w[0] as u32, false, data));
    }
    frames
}

proptest! {
    #[test]
    fn tracker_never_panics(records in proptest::collection::vec(
        (any::<bool>(), 20u8..25, proptest::collection::vec(any::<u8>(), 0..300)), 0..12),
        raw in proptest::collection::vec(any::<u8>(), 0..600)) {
        let segs = tls_segments(TLS12_SELF);
        let mut t = TlsTracker::default();
        for (from_client, ctype, body) in &records {
            // Well-framed records with arbitrary bodies, and handshake messages headers.
            let mut p = vec![*ctype, 3, 3];
            p.extend_from_slice(&(body.len() as u16).to_be_bytes());
            p.extend_from_slice(body);
            let mut s = segs[0].clone();
            if !from_client {
                std::mem::swap(&mut s.src, &mut s.dst);
            }
            s.payload = p.into();
            t.on_segment(&s);
        }
        let mut s = segs[1].clone();
        s.payload = raw.clone().into();
        t.on_segment(&s);
        let _ = t.findings();
    }

    #[test]
    fn tls_stream_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..3000),
                               cuts in proptest::collection::vec(0usize..3000, 0..6)) {
        // Arbitrary bytes after a ClientHello header, through TCP reassembly and the tracker.
        let mut stream = vec![22, 3, 1, 0, 40];
        stream.extend_from_slice(&raw);
        let frames = tcp_frames(&stream, &cuts);
        let mut dec = Decoder::default();
        let mut t = TlsTracker::default();
        for f in &frames {
            let mut out = Vec::new();
            dec.decode(f, &mut out);
            for s in &out {
                prop_assert_eq!(s.transport, Transport::TlsRecords);
                t.on_segment(s);
            }
        }
        let _ = t.findings();
    }
}

/// `Limits::for_memory` prices a session at `TLS_SESSION_COST_BYTES`: the struct with room
/// for its parsed hello and certificate names.
#[test]
fn a_session_fits_its_documented_cost() {
    let size = std::mem::size_of::<(Key, TlsSession)>() as u64;
    assert!(
        size * 2 <= crate::engine::limits::TLS_SESSION_COST_BYTES,
        "{size}"
    );
}

#[test]
fn limits_bound_sessions_and_the_ended_queue() {
    let t = TlsTracker::with_limits(TlsLimits {
        max_sessions: 0,
        max_ended: 0,
        max_pending_bytes: 0,
    });
    // Zero means one: a tracker always works.
    assert_eq!(t.limits.max_sessions, 1);
    assert_eq!(t.limits.max_ended, 1);
}

#[test]
fn tls13_certificate_message_layout() {
    // type 11, length, context "", list of two entries (leaf "LEAF" with one extension
    // of 1 byte, then "CA" without extensions): RFC 8446 §4.4.2.
    let mut body = vec![0u8]; // empty certificate_request_context
    let mut list = Vec::new();
    list.extend([0, 0, 4]);
    list.extend(b"LEAF");
    list.extend([0, 5, 0, 1, 0, 1, 7]); // extensions: type 1, length 1, value 7
    list.extend([0, 0, 2]);
    list.extend(b"CA");
    list.extend([0, 0]);
    body.extend([0, 0, list.len() as u8]);
    body.extend(&list);
    let mut msg = vec![11, 0, 0, body.len() as u8];
    msg.extend(&body);
    assert_eq!(super::tls13_certificate(&msg), Some((2, &b"LEAF"[..])));
    // Empty chain.
    let empty = [11, 0, 0, 4, 0, 0, 0, 0];
    assert_eq!(super::tls13_certificate(&empty), Some((0, &b""[..])));
    // Every cut is refused, never a panic.
    for cut in 0..msg.len() {
        let mut m = msg[..cut].to_vec();
        assert_eq!(super::tls13_certificate(&m), None, "cut {cut}");
        m.extend(std::iter::repeat_n(0xff, msg.len() - cut));
        let _ = super::tls13_certificate(&m);
    }
}
