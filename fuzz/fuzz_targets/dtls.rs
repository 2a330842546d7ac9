//! Fuzz the DTLS record and handshake reader (`siplens::media::dtls`): arbitrary
//! datagrams from either side of one association through a `Handshake` (fragment
//! reassembly, hello parsing), and the hello parsers and iterators on the raw input.
//! Nothing may panic, and what the handshake keeps stays bounded.
//!
//! Input: datagrams, each a side byte (even: the lower address), a 2-byte length, and
//! that many bytes (the last one takes what is left).
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::media::dtls::{
    handshake_fragments, parse_client_hello, parse_server_hello, records, Handshake, Side,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_client_hello(data);
    let _ = parse_server_hello(data);
    for r in records(data) {
        for f in handshake_fragments(r.fragment) {
            assert!(f.body.len() <= r.fragment.len());
        }
    }
    let mut hs = Handshake::new();
    let mut rest = data;
    while let [side, hi, lo, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (d, next) = tail.split_at(n);
        let side = if side % 2 == 0 { Side::Lo } else { Side::Hi };
        hs.on_datagram(side, d);
        rest = next;
    }
    if let Some(p) = hs.profile {
        let _ = siplens::media::dtls::profile_suite(p);
    }
});
