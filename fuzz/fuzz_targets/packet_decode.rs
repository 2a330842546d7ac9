//! Fuzz the network decoder: the first byte picks the link type, the rest is split into a
//! few frames (so that fragment and TCP state carries over between them) and decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::net::{Decoder, NetLimits};

const LINK_TYPES: [LinkType; 11] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW_BSD12,
    LinkType::RAW_BSD14,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType(147),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(selector) % LINK_TYPES.len()];
    // Small limits so that eviction and overflow paths are reached quickly.
    let mut dec = Decoder::new(NetLimits {
        max_fragment_buffers: 4,
        max_fragment_bytes: 4096,
        max_tcp_streams: 4,
        max_buffered_bytes: 2048,
        max_out_of_order: 4,
        ..NetLimits::default()
    });
    // Frames are separated by the byte 0xfe so that the fuzzer can build several; the whole
    // sequence is decoded a few times (retransmissions, duplicate fragments).
    let mut number = 0u64;
    for _round in 0..3 {
        for chunk in rest.split(|&b| b == 0xfe) {
            number += 1;
            let frame = Frame {
                number,
                ts: Timestamp::from_parts(number * 7, 0),
                link_type,
                data: chunk.to_vec(),
                orig_len: chunk.len() as u32,
                interface: 0,
            };
            let mut out = Vec::new();
            dec.decode(&frame, &mut out);
            for seg in &out {
                assert!(!seg.payload.is_empty());
            }
        }
    }
    let _ = dec.stats();
});
