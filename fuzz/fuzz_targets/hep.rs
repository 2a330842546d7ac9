//! Fuzz the HEP v1/v2/v3 parser, and the encoder on what it parsed: any bytes either parse
//! or give a typed error; what parses re-encodes and parses back to the same payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::capture::Timestamp;
use siplens::hep::{self, HepOut, ProtoType};

fuzz_target!(|data: &[u8]| {
    let _ = hep::is_v3(data);
    let _ = hep::v3_frame_len(data);
    match hep::parse(data) {
        Ok(p) => {
            let (Some(src_ip), Some(dst_ip)) = (p.src_ip, p.dst_ip) else {
                return;
            };
            let out = HepOut {
                src: (src_ip, p.src_port.unwrap_or(0)).into(),
                dst: (dst_ip, p.dst_port.unwrap_or(0)).into(),
                ip_proto: p.ip_proto.unwrap_or(17),
                ts: p.ts.unwrap_or(Timestamp(0)),
                proto_type: p.proto_type.unwrap_or(ProtoType::SIP),
                capture_id: p.capture_id,
                auth_key: p.auth_key,
                correlation_id: p.correlation_id,
                payload: &p.payload,
            };
            let mut buf = Vec::new();
            if hep::encode_v3(&out, &mut buf).is_ok() {
                let back = hep::parse(&buf).expect("an encoded packet parses");
                assert_eq!(back.payload, p.payload);
                assert_eq!(back.capture_id, p.capture_id);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
