//! Fuzz SIP over WebSocket (RFC 7118): the frame and handshake parsers of
//! `siplens::net::websocket` (RFC 6455 §4, §5.2) on the raw bytes, then the stream layer
//! through the decoder: the fuzzer's bytes, split at 0xfe, become consecutive TCP segments
//! of one direction that opened with an upgrade request, a 101 response, or nothing (a
//! direction seen mid-stream). The first byte picks the opening, whether the SYN is seen,
//! and whether a segment is dropped (a hole), with small limits so the oversize, overflow
//! and resynchronisation paths are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::net::websocket::{self, FrameParse, HandshakeParse};
use siplens::net::{Decoder, NetLimits, Transport};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Protocol: sip\r\n\r\n";
const MAX: usize = 2048;

/// IPv4 + TCP 10.0.0.1:50000 -> 10.0.0.2:8080 with `payload`.
fn tcp(seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let total = (40 + payload.len()).min(usize::from(u16::MAX)) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&[0xc3, 0x50, 0x1f, 0x90]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0x50, if syn { 0x02 } else { 0x18 }, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

fuzz_target!(|data: &[u8]| {
    // The parsers alone, on the raw bytes.
    if let FrameParse::Frame(f) = websocket::parse_frame(data, MAX) {
        assert!(f.len() <= data.len() && f.payload.len() <= MAX);
        let mut out = Vec::new();
        websocket::payload_into(&f, &mut out);
        assert_eq!(out.len(), f.payload.len());
    }
    let _ = websocket::parse_header(data);
    let _ = websocket::find_sip_frame(data, data.len(), MAX);
    if let HandshakeParse::Head(h) = websocket::handshake(data) {
        assert!(h.len <= data.len());
    }

    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut dec = Decoder::new(NetLimits {
        max_tcp_streams: 4,
        max_buffered_bytes: MAX,
        max_tcp_total_bytes: 4 * MAX,
        max_out_of_order: 4,
        ..NetLimits::default()
    });
    let mut seq = 1000u32;
    let mut number = 0u64;
    let mut frames = Vec::new();
    if selector & 4 != 0 {
        frames.push(tcp(seq, true, b""));
        seq = seq.wrapping_add(1);
    }
    let opening: &[u8] = match selector % 4 {
        0 => REQUEST,
        1 => RESPONSE,
        _ => b"",
    };
    if !opening.is_empty() {
        frames.push(tcp(seq, false, opening));
        seq = seq.wrapping_add(opening.len() as u32);
    }
    let hole = usize::from(selector >> 4);
    for (i, chunk) in rest.split(|&b| b == 0xfe).enumerate() {
        if i != hole || selector & 8 == 0 {
            frames.push(tcp(seq, false, chunk));
        }
        seq = seq.wrapping_add(chunk.len() as u32);
    }
    for packet in frames {
        number += 1;
        let frame = Frame {
            number,
            ts: Timestamp::from_parts(number, 0),
            link_type: LinkType::RAW,
            orig_len: packet.len() as u32,
            data: packet,
            interface: 0,
        };
        let mut out = Vec::new();
        dec.decode(&frame, &mut out);
        for seg in &out {
            assert!(!seg.payload.is_empty());
            // SIP out of WebSocket messages never passes the buffer bound (HEP packets
            // framed from the stream, decapsulated as TCP or UDP, are bounded by the frame).
            match seg.transport {
                Transport::Ws => assert!(seg.payload.len() <= MAX),
                Transport::Tcp | Transport::Udp | Transport::TlsRecords => {}
                other => panic!("unexpected transport {other:?}"),
            }
        }
    }
    let st = dec.stats();
    assert!(st.websocket.fragmented_messages <= st.websocket.messages);
});
