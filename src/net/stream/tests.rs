//! Stream layer tests: classification, SIP framing, WebSocket (RFC 6455 §5, RFC 7118 §5).

use std::borrow::Cow;

use super::*;
use crate::capture::Timestamp;
use crate::net::websocket::unmask_into;
use crate::net::WsStats;

const KEY: [u8; 4] = [0xa1, 0x02, 0xc3, 0x44];

const REQ: &[u8] = b"GET /ws HTTP/1.1\r\nHost: proxy.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";

const RESP: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: sip\r\n\r\n";

const REGISTER: &[u8] = b"REGISTER sip:proxy.example.com SIP/2.0\r\n\
Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKasudf;rport\r\n\
From: <sip:alice@example.com>;tag=65bnmj\r\nTo: <sip:alice@example.com>\r\n\
Call-ID: aiuy7k9njasd\r\nCSeq: 1 REGISTER\r\n\
Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>\r\nContent-Length: 0\r\n\r\n";

const OK: &[u8] = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKasudf\r\n\
Call-ID: aiuy7k9njasd\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";

/// A frame with `first` as its first byte, masked with [`KEY`] or not.
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut v = vec![first];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => v.push(m | n as u8),
        n if n <= 0xffff => {
            v.push(m | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(m | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        v.extend_from_slice(&KEY);
        unmask_into(payload, KEY, &mut v);
    } else {
        v.extend_from_slice(payload);
    }
    v
}

struct Run {
    framer: StreamFramer,
    limits: NetLimits,
    stats: NetStats,
    /// (transport, payload, borrowed from the fed bytes)
    out: Vec<(Transport, Vec<u8>, bool)>,
}

impl Run {
    fn new(from_start: bool) -> Self {
        Run {
            framer: StreamFramer::new(from_start, true),
            limits: NetLimits::default(),
            stats: NetStats::default(),
            out: Vec::new(),
        }
    }

    /// Feeds `chunks` in order, as frame-borrowed bytes, stamped `transport`.
    fn feed_as(&mut self, chunks: &[&[u8]], transport: Transport) {
        for c in chunks {
            let mut segs = Vec::new();
            let mut sink = Sink {
                limits: &self.limits,
                stats: &mut self.stats,
                ctx: Ctx {
                    frame: 1,
                    ts: Timestamp::default(),
                },
                src: "192.0.2.1:50000".parse().expect("addr"),
                dst: "192.0.2.2:8080".parse().expect("addr"),
                out: &mut segs,
            };
            let fed = self.framer.feed(&mut sink, Bytes::Frame(c), transport);
            assert!(matches!(fed, Fed::Taken), "no TLS here");
            for s in segs {
                let borrowed = matches!(s.payload, Cow::Borrowed(_));
                self.out.push((s.transport, s.payload.to_vec(), borrowed));
            }
        }
    }

    fn feed(&mut self, chunks: &[&[u8]]) {
        self.feed_as(chunks, Transport::Tcp);
    }

    fn payloads(&self) -> Vec<Vec<u8>> {
        self.out.iter().map(|o| o.1.clone()).collect()
    }
}

#[test]
fn upgrade_request_split_anywhere_then_masked_frames() {
    let mut all = REQ.to_vec();
    all.extend_from_slice(&frame(0x81, REGISTER, true));
    for cut in 1..all.len() {
        let mut r = Run::new(true);
        r.feed(&[&all[..cut], &all[cut..]]);
        assert_eq!(r.payloads(), vec![REGISTER.to_vec()], "cut {cut}");
        assert_eq!(r.out[0].0, Transport::Ws);
        let ws = &r.stats.websocket;
        assert_eq!(
            (ws.streams, ws.handshakes, ws.frames, ws.messages),
            (1, 1, 1, 1)
        );
        assert_eq!(
            (ws.sip_messages, r.stats.tcp_non_sip_bytes),
            (1, 0),
            "cut {cut}"
        );
        assert_eq!(r.framer.held(), 0);
    }
}

#[test]
fn response_direction_borrows_unmasked_payloads() {
    // The 101 and two SIP messages in one unmasked frame (lenient: RFC 7118 §5 says one).
    let two = [OK, OK].concat();
    let mut all = RESP.to_vec();
    all.extend_from_slice(&frame(0x81, &two, false));
    let mut r = Run::new(true);
    r.feed(&[&all]);
    assert_eq!(r.payloads(), vec![OK.to_vec(), OK.to_vec()]);
    assert!(
        r.out.iter().all(|o| o.0 == Transport::Ws && o.2),
        "borrowed, WS"
    );
    assert_eq!(r.stats.websocket.sip_messages, 2);
    assert_eq!(r.stats.websocket.messages, 1);
}

#[test]
fn one_sip_message_across_fragments_with_control_frames_between() {
    let (a, rest) = REGISTER.split_at(40);
    let (b, c) = rest.split_at(100);
    let mut all = REQ.to_vec();
    all.extend_from_slice(&frame(0x01, a, true)); // text, no FIN
    all.extend_from_slice(&frame(0x89, b"ka", true)); // ping between fragments
    all.extend_from_slice(&frame(0x00, b, true)); // continuation
    all.extend_from_slice(&frame(0x8a, b"", true)); // pong
    all.extend_from_slice(&frame(0x80, c, true)); // continuation + FIN
    all.extend_from_slice(&frame(0x88, &[0x03, 0xe8], true)); // close 1000
    for cut in (1..all.len()).step_by(7) {
        let mut r = Run::new(true);
        r.feed(&[&all[..cut], &all[cut..]]);
        assert_eq!(r.payloads(), vec![REGISTER.to_vec()], "cut {cut}");
        let ws = &r.stats.websocket;
        assert_eq!((ws.frames, ws.control_frames), (6, 3));
        assert_eq!(
            (ws.messages, ws.fragmented_messages, ws.bad_frames),
            (1, 1, 0)
        );
    }
}

#[test]
fn message_without_content_length_takes_the_rest_of_its_payload() {
    let msg = b"MESSAGE sip:bob@example.com SIP/2.0\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n\r\nhello\r\nbob";
    let mut all = RESP.to_vec();
    all.extend_from_slice(&frame(0x81, msg, false));
    // Keepalive frames (CRLF) are counted, not handed up.
    all.extend_from_slice(&frame(0x81, b"\r\n\r\n", false));
    let mut r = Run::new(true);
    r.feed(&[&all]);
    assert_eq!(r.payloads(), vec![msg.to_vec()]);
    assert_eq!(r.stats.sip_keepalives, 1);
    // One cut short by its own Content-Length is handed up as it is, and counted.
    let cut = b"SIP/2.0 200 OK\r\nCSeq: 1 MESSAGE\r\nContent-Length: 50\r\n\r\nshort";
    let mut r = Run::new(true);
    r.feed(&[RESP, &frame(0x82, cut, false)]);
    assert_eq!(r.payloads(), vec![cut.to_vec()]);
    assert_eq!(r.stats.websocket.cut_sip_messages, 1);
}

#[test]
fn other_subprotocol_is_read_and_its_data_counted() {
    let chat = b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";
    let json = b"{\"hello\": \"world\"}";
    let mut r = Run::new(true);
    r.feed(&[chat, &frame(0x81, json, true), &frame(0x81, REGISTER, true)]);
    // What frames as SIP is SIP; the rest is counted.
    assert_eq!(r.payloads(), vec![REGISTER.to_vec()]);
    let ws = &r.stats.websocket;
    assert_eq!(
        (ws.other_protocols, ws.non_sip_bytes),
        (1, json.len() as u64)
    );
}

#[test]
fn plain_get_is_still_not_sip() {
    let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut r = Run::new(true);
    r.feed(&[get, REGISTER]);
    assert!(r.out.is_empty());
    assert!(r.framer.is_not_sip());
    assert_eq!(r.stats.websocket, WsStats::default());
    assert_eq!(r.stats.tcp_non_sip_streams, 1);
}

#[test]
fn mid_stream_direction_found_by_a_frame_carrying_sip() {
    // The capture starts after the handshake, inside a frame.
    let mut all = b"\x13\x99junk tail of a frame".to_vec();
    all.extend_from_slice(&frame(0x81, REGISTER, true));
    all.extend_from_slice(&frame(0x89, b"", true));
    all.extend_from_slice(&frame(0x81, REGISTER, true));
    let mut r = Run::new(false);
    r.feed(&[&all]);
    assert_eq!(r.payloads(), vec![REGISTER.to_vec(), REGISTER.to_vec()]);
    assert_eq!(r.out[0].0, Transport::Ws);
    let ws = &r.stats.websocket;
    assert_eq!((ws.streams, ws.resyncs, ws.handshakes), (1, 1, 0));
    assert_eq!(r.stats.tcp_non_sip_bytes, 22);
    // Seen from its SYN, the same bytes are not SIP: no guessing.
    let mut r = Run::new(true);
    r.feed(&[&all]);
    assert!(r.out.is_empty() && r.framer.is_not_sip());
}

#[test]
fn hole_loses_framing_until_a_frame_carrying_sip() {
    let f = frame(0x81, REGISTER, true);
    let mut r = Run::new(true);
    r.feed(&[REQ, &f[..30]]);
    assert_eq!(r.framer.held(), 30);
    r.framer.gap(&mut r.stats);
    assert_eq!(r.stats.tcp_incomplete_bytes, 30);
    // After the hole: the end of some frame, then whole frames.
    let mut after = f[50..].to_vec();
    after.extend_from_slice(&f);
    r.feed(&[&after]);
    assert_eq!(r.payloads(), vec![REGISTER.to_vec()]);
    let ws = &r.stats.websocket;
    assert_eq!((ws.desyncs, ws.resyncs), (1, 1));
    assert_eq!(ws.unsynced_bytes, (f.len() - 50) as u64);
    // A fragmented message open at the hole is dropped and counted.
    let mut r = Run::new(true);
    r.feed(&[REQ, &frame(0x01, &REGISTER[..20], true)]);
    r.framer.gap(&mut r.stats);
    assert_eq!(r.stats.websocket.dropped_messages, 1);
    assert_eq!(r.stats.tcp_incomplete_bytes, 20);
}

#[test]
fn bad_frames_are_counted_and_framing_recovers() {
    let mut r = Run::new(true);
    r.feed(&[
        REQ,
        &frame(0x83, b"xx", true),       // reserved opcode: framing lost
        &frame(0x81, REGISTER, true),    // found again
        &frame(0xc1, b"deflated", true), // RSV1: not decoded, skipped
        &frame(0x80, b"orphan", true),   // continuation with no message
        &frame(0x09, b"", true),         // fragmented ping
        &frame(0x81, REGISTER, true),
    ]);
    assert_eq!(r.payloads(), vec![REGISTER.to_vec(), REGISTER.to_vec()]);
    let ws = &r.stats.websocket;
    assert_eq!((ws.bad_frames, ws.desyncs, ws.resyncs), (4, 1, 1));
    // A data frame inside an unfinished message drops that message.
    let mut r = Run::new(true);
    r.feed(&[
        REQ,
        &frame(0x01, b"INVITE sip:x SIP/2.0\r\n", true),
        &frame(0x81, REGISTER, true),
    ]);
    assert_eq!(r.payloads(), vec![REGISTER.to_vec()]);
    assert_eq!(
        (
            r.stats.websocket.bad_frames,
            r.stats.websocket.dropped_messages
        ),
        (1, 1)
    );
}

#[test]
fn oversize_frames_and_messages_are_skipped_not_buffered() {
    let mut r = Run::new(true);
    r.limits.max_buffered_bytes = 1000;
    let big = vec![b'a'; 5000];
    let f = frame(0x82, &big, true);
    r.feed(&[REQ]);
    for c in f.chunks(700) {
        r.feed(&[c]);
        assert!(r.framer.held() <= 1000);
    }
    r.feed(&[&frame(0x81, OK, true)]);
    assert_eq!(r.payloads(), vec![OK.to_vec()]);
    let ws = &r.stats.websocket;
    assert_eq!((ws.oversize_frames, ws.oversize_bytes), (1, f.len() as u64));
    // Fragments adding up past the bound: the message is dropped, the next one read.
    let mut r = Run::new(true);
    r.limits.max_buffered_bytes = 1000;
    let part = vec![b'b'; 600];
    r.feed(&[
        REQ,
        &frame(0x01, &part, true),
        &frame(0x00, &part, true),
        &frame(0x80, &part, true),
    ]);
    r.feed(&[&frame(0x81, OK, true)]);
    assert_eq!(r.payloads(), vec![OK.to_vec()]);
    assert_eq!(r.stats.websocket.oversize_messages, 1);
    // A huge length behind a reserved opcode is no frame: framing is lost, not skipped.
    let mut r = Run::new(true);
    r.feed(&[
        REQ,
        &[0x83, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0],
        &frame(0x81, OK, true),
    ]);
    assert_eq!(r.payloads(), vec![OK.to_vec()]);
    assert_eq!(
        (
            r.stats.websocket.bad_frames,
            r.stats.websocket.oversize_bytes
        ),
        (1, 0)
    );
    // A forged 2^62-byte length is refused by the bound and skipped as it streams by.
    let mut r = Run::new(true);
    r.feed(&[REQ, &[0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0], &[0u8; 3000]]);
    assert_eq!(r.framer.held(), 0);
    assert_eq!(r.stats.websocket.oversize_bytes, 3010);
}

#[test]
fn decrypted_tls_plaintext_stamps_wss_and_plain_sip_keeps_its_transport() {
    let mut r = Run::new(true);
    r.framer = StreamFramer::new(true, false);
    r.feed_as(&[REQ, &frame(0x81, REGISTER, true)], Transport::Tls);
    assert_eq!(r.out[0].0, Transport::Wss);
    let mut r = Run::new(true);
    r.feed(&[REGISTER, OK]);
    assert!(r.out.iter().all(|o| o.0 == Transport::Tcp));
    assert_eq!(r.stats.tcp_sip_messages, 2);
    assert_eq!(r.stats.websocket, WsStats::default());
}

#[test]
fn tls_start_is_handed_back_to_the_caller() {
    let mut framer = StreamFramer::new(true, true);
    let limits = NetLimits::default();
    let mut stats = NetStats::default();
    let mut out = Vec::new();
    let mut sink = Sink {
        limits: &limits,
        stats: &mut stats,
        ctx: Ctx {
            frame: 1,
            ts: Timestamp::default(),
        },
        src: "192.0.2.1:50000".parse().expect("addr"),
        dst: "192.0.2.2:5061".parse().expect("addr"),
        out: &mut out,
    };
    assert!(matches!(
        framer.feed(&mut sink, Bytes::Frame(&[22, 3]), Transport::Tcp),
        Fed::Taken
    ));
    match framer.feed(&mut sink, Bytes::Frame(&[1, 0, 9, 1]), Transport::Tcp) {
        Fed::Tls(held) => assert_eq!(held, vec![22, 3]),
        Fed::Taken => panic!("a TLS start"),
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_chunks_never_panic(
        head in proptest::prop_oneof![proptest::strategy::Just(REQ.to_vec()), proptest::strategy::Just(RESP.to_vec()), proptest::strategy::Just(Vec::new())],
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), 0..8),
        from_start: bool,
        gap_at in 0usize..10,
    ) {
        let mut r = Run::new(from_start);
        r.limits.max_buffered_bytes = 512;
        r.feed(&[&head]);
        for (i, c) in chunks.iter().enumerate() {
            if i == gap_at {
                r.framer.gap(&mut r.stats);
            }
            r.feed(&[c]);
            proptest::prop_assert!(r.framer.held() <= 512 + 200);
        }
    }
}
