//! Fuzz the transports that carry SIP inside another protocol: the fuzzer's bytes become the
//! payloads of well-formed outer headers, so every case reaches the inner parser (random
//! frames would almost never form a valid IPv4 header with protocol 132 or UDP port 2152).
//! The first byte picks the carrier: SCTP chunks (IP protocol 132) or a GTP-U datagram
//! (UDP port 2152). Frames are separated by 0xfe and decoded three times over (fragment
//! reassembly, retransmissions), with small limits so eviction paths are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::net::{Decoder, NetLimits};

/// An IPv4 header (no options, checksum left zero: the decoder does not verify it) for
/// `payload_len` bytes of protocol `proto`.
fn ipv4(proto: u8, payload_len: usize) -> Vec<u8> {
    let total = (20 + payload_len).min(usize::from(u16::MAX)) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    h
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut dec = Decoder::new(NetLimits {
        max_tcp_streams: 4,
        max_buffered_bytes: 2048,
        max_tcp_total_bytes: 4096,
        ..NetLimits::default()
    });
    let mut number = 0u64;
    for _round in 0..3 {
        for chunk in rest.split(|&b| b == 0xfe) {
            number += 1;
            let packet = if selector % 2 == 0 {
                // SCTP: common header from ports 5060 to 5060, then the fuzzer's chunks.
                let mut sctp = vec![0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0];
                sctp.extend_from_slice(chunk);
                let mut p = ipv4(132, sctp.len());
                p.extend_from_slice(&sctp);
                p
            } else {
                // GTP-U: UDP to port 2152, then the fuzzer's GTP-U header and inner packet.
                let len = (8 + chunk.len()).min(usize::from(u16::MAX)) as u16;
                let mut udp = vec![0x08, 0x68, 0x08, 0x68];
                udp.extend_from_slice(&len.to_be_bytes());
                udp.extend_from_slice(&[0, 0]);
                udp.extend_from_slice(chunk);
                let mut p = ipv4(17, udp.len());
                p.extend_from_slice(&udp);
                p
            };
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
                assert!(seg.payload.len() <= 65_535);
            }
        }
    }
    let _ = dec.stats();
});
