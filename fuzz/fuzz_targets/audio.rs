//! Fuzz the audio decode path (`siplens::audio`): arbitrary RTP packets (parsed by
//! `media::rtp::parse`, as the engine does) through one stream timeline per input, for
//! each codec, into a bounded memory sink; and the G.711 and G.722 decoders on raw
//! bytes. Nothing may panic or overflow, and the timeline never writes more than the
//! packets' timestamps and capture times account for (the sink counts every sample).
//!
//! Input: a selector byte (codec, telephone-event type), then packets separated by
//! 0xfe, each preceded by two bytes of capture-time step (ms).
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::audio::g722::G722Decoder;
use siplens::audio::stream::{Codec, MemorySink, Timeline};
use siplens::audio::{g711, stream};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let codec = match sel % 3 {
        0 => Codec::Pcmu,
        1 => Codec::Pcma,
        _ => Codec::G722,
    };
    let pt = match codec {
        Codec::Pcmu => 0,
        Codec::Pcma => 8,
        Codec::G722 => 9,
    };
    let dtmf = (sel & 0x80 != 0).then_some(101);
    let mut t = Timeline::new(codec, pt, dtmf);
    let mut sink = MemorySink {
        max: 1 << 16,
        ..MemorySink::default()
    };
    let mut now: u64 = 0;
    for chunk in rest.split(|b| *b == 0xfe) {
        let Some((step, packet)) = chunk.split_first_chunk::<2>() else {
            continue;
        };
        now += u64::from(u16::from_be_bytes(*step)) * 1_000_000;
        let Some(h) = siplens::media::rtp::parse(packet) else {
            continue;
        };
        let payload = packet.get(h.payload_offset..h.payload_offset + h.payload_len);
        let clear = if h.marker && sel & 0x40 != 0 { None } else { payload };
        t.push(h.payload_type, h.sequence, h.timestamp, now, clear, &mut sink)
            .expect("memory sink");
    }
    t.finish(&mut sink).expect("memory sink");
    // Placement is bounded by the capture clock: at most the capture span plus the skew
    // allowed and the last packet's own samples, whatever the timestamps and order.
    let rate = u64::from(codec.sample_rate());
    let bound = (now / 1_000_000 + 1) * rate / 1000
        + stream::MAX_CLOCK_SKEW_S as u64 * rate
        + 2 * stream::MAX_PAYLOAD as u64;
    assert!(sink.total <= bound, "{} samples > {bound}", sink.total);
    let mut out = Vec::new();
    g711::decode_ulaw(rest, &mut out);
    g711::decode_alaw(rest, &mut out);
    G722Decoder::new().decode(rest, &mut out);
});
