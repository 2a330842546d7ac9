//! Fuzz the SDP parser and the media parsers (RTP, RTCP, STUN, UDP classifier, DTMF
//! events and INFO/KPML bodies) with arbitrary bytes, calling every accessor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::capture::Timestamp;
use siplens::media::{self, dtmf, rtcp, rtp, stun, StreamStats};
use siplens::sdp::{self, Attribute};

fuzz_target!(|data: &[u8]| {
    let sdp = sdp::parse(data);
    let _ = sdp.direction();
    let _ = sdp.origin.map(|o| o.ip());
    let _ = sdp.connection.map(|c| c.ip());
    for p in &sdp.problems {
        let _ = p.to_string();
    }
    for m in &sdp.media {
        let _ = (m.connection_address(&sdp), m.rtp_port(), m.rtcp_port(), m.rtcp_mux());
        let _ = (m.direction(&sdp), m.fingerprint(&sdp), m.setup(&sdp));
        let _ = (m.proto.is_rtp(), m.proto.is_srtp(), m.proto.is_dtls(), m.proto.as_str());
        let _ = m.media.as_str();
        for pt in m.payload_types() {
            let _ = m.codec_for(pt);
        }
        for c in m.crypto() {
            for k in &c.key_params {
                let _ = k.lifetime_packets();
            }
        }
        for c in m.candidates() {
            let _ = c.ip();
        }
        for a in &m.attributes {
            let _ = a.name();
            if let Attribute::Fmtp(f) = a {
                let _ = (f.payload_type(), f.pairs().count());
            }
        }
    }

    let _ = media::classify_udp(data);
    if let Some(h) = rtp::parse(data) {
        assert_eq!(h.csrcs(data).count(), usize::from(h.csrc_count));
        let mut stats = StreamStats::new();
        stats.update(&h, Timestamp(0), 8000);
        stats.update(&h, Timestamp(20_000_000), 8000);
        let _ = (stats.lost(), stats.jitter_ms(8000), stats.payload_types());
    }
    if let Some(pkts) = rtcp::parse_compound(data) {
        for p in &pkts {
            let _ = (p.sender_ssrc(), p.report_blocks());
        }
    }
    if let Some(m) = stun::parse(data) {
        let _ = (m.xor_mapped_address(), m.mapped_address(), m.software(), m.username());
        let _ = m.error_code();
    }
    if let Some(ev) = dtmf::parse_event(data) {
        let _ = dtmf::digit_of(ev.event);
    }
    let _ = dtmf::parse_dtmf_relay(data);
    let _ = dtmf::parse_dtmf_body(data);
    let _ = dtmf::parse_kpml_digits(data);
});
