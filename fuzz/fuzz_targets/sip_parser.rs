//! Fuzz the SIP parser: arbitrary bytes through `parse_message`, every accessor,
//! `validate` and the stream framer. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::net::frame_stream;
use siplens::sip::parse_message;

fuzz_target!(|data: &[u8]| {
    let _ = frame_stream(data);
    let Ok(m) = parse_message(data) else { return };
    assert!(m.len <= data.len());
    siplens::sip::exercise(&m);
    if let Some(rest) = data.get(m.len..) {
        let _ = parse_message(rest);
    }
});
