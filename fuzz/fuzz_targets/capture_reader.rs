//! Fuzz the capture reader: any bytes, opened in memory, drained to the end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::capture::{open_bytes, FrameSource};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut src) = open_bytes("fuzz", data.to_vec()) {
        // Every record consumes at least 8 input bytes, so this loop ends; after an error
        // next_frame returns Ok(None).
        while let Ok(Some(frame)) = src.next_frame() {
            assert!(frame.number >= 1);
        }
        assert!(matches!(src.next_frame(), Ok(None)));
    }
});
