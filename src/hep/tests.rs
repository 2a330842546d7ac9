use super::*;
use proptest::prelude::*;

/// A HEPv3 packet laid out like hepgen's (the corpus capture hep-wireshark__hep.pcap):
/// IPv4 192.168.1.1:5060 -> 192.168.1.2:5060, time 1481455196.000100, SIP, capture id 2001,
/// auth key "myHep".
const V3: &[u8] = b"HEP3\x00\x89\
\x00\x00\x00\x01\x00\x07\x02\
\x00\x00\x00\x02\x00\x07\x11\
\x00\x00\x00\x03\x00\x0a\xc0\xa8\x01\x01\
\x00\x00\x00\x04\x00\x0a\xc0\xa8\x01\x02\
\x00\x00\x00\x07\x00\x08\x13\xc4\
\x00\x00\x00\x08\x00\x08\x13\xc4\
\x00\x00\x00\x09\x00\x0a\x58\x4d\x36\x5c\
\x00\x00\x00\x0a\x00\x0a\x00\x00\x00\x64\
\x00\x00\x00\x0b\x00\x07\x01\
\x00\x00\x00\x0c\x00\x0a\x00\x00\x07\xd1\
\x00\x00\x00\x0e\x00\x0bmyHep\
\x00\x00\x00\x0f\x00\x21OPTIONS sip:a@b SIP/2.0\r\n\r\n";

#[test]
fn v3_all_generic_chunks() {
    assert_eq!(V3.len(), 0x89);
    let p = parse(V3).unwrap();
    assert_eq!(p.version, 3);
    assert_eq!(p.family, Some(AF_INET));
    assert_eq!(p.ip_proto, Some(17));
    assert_eq!(p.src(), Some("192.168.1.1:5060".parse().unwrap()));
    assert_eq!(p.dst(), Some("192.168.1.2:5060".parse().unwrap()));
    assert_eq!(p.ts, Some(Timestamp::from_parts(1_481_455_196, 100_000)));
    assert_eq!(p.proto_type, Some(ProtoType::SIP));
    assert_eq!(p.capture_id, Some(2001));
    assert_eq!(p.auth_key, Some(&b"myHep"[..]));
    assert_eq!(&*p.payload, b"OPTIONS sip:a@b SIP/2.0\r\n\r\n");
    assert_eq!(p.payload_offset, Some(0x89 - 27));
    assert!(matches!(p.payload, Cow::Borrowed(_)));
    assert_eq!((p.unknown_chunks, p.vendor_chunks), (0, 0));
    assert_eq!(v3_frame_len(V3), Some(0x89));
}

#[test]
fn v3_trailing_bytes_past_total_length_are_ignored() {
    let mut d = V3.to_vec();
    d.extend_from_slice(b"HEP3junk");
    assert_eq!(parse(&d).unwrap().payload, parse(V3).unwrap().payload);
}

#[test]
fn v3_unknown_and_vendor_chunks_are_skipped_and_counted() {
    // Insert a vendor chunk (vendor 0x0030, type 1) and an unknown generic chunk (type 99)
    // after the header.
    let mut d = b"HEP3\x00\x00".to_vec();
    d.extend_from_slice(b"\x00\x30\x00\x01\x00\x08\xaa\xbb");
    d.extend_from_slice(b"\x00\x00\x00\x63\x00\x07\x01");
    d.extend_from_slice(V3.get(6..).unwrap());
    let total = d.len() as u16;
    d[4..6].copy_from_slice(&total.to_be_bytes());
    let p = parse(&d).unwrap();
    assert_eq!((p.unknown_chunks, p.vendor_chunks), (1, 1));
    assert_eq!(p.capture_id, Some(2001));
}

#[test]
fn v3_two_byte_capture_id_and_sngrep_quirk() {
    // heplify-style u16 id; and sngrep 1.x writing htons(2002) into a u32 field.
    let d = b"HEP3\x00\x1e\x00\x00\x00\x0c\x00\x08\x07\xd2\x00\x00\x00\x0f\x00\x0a\x01\x02\x03\x04";
    assert_eq!(
        parse(&d[..]).unwrap_err(),
        HepError::BadTotalLength {
            declared: 30,
            available: 24
        }
    );
    let d = b"HEP3\x00\x18\x00\x00\x00\x0c\x00\x08\x07\xd2\x00\x00\x00\x0f\x00\x0a\x01\x02\x03\x04";
    assert_eq!(parse(&d[..]).unwrap().capture_id, Some(2002));
    let d = b"HEP3\x00\x1a\x00\x00\x00\x0c\x00\x0a\x07\xd2\x00\x00\x00\x00\x00\x0f\x00\x0a\x01\x02\x03\x04";
    assert_eq!(parse(&d[..]).unwrap().capture_id, Some(0x07d2_0000));
}

#[test]
fn v3_malformed_chunks_are_errors_with_offsets() {
    // Chunk length 5 (< header).
    let d = b"HEP3\x00\x0c\x00\x00\x00\x0f\x00\x05";
    assert_eq!(
        parse(&d[..]),
        Err(HepError::BadChunkLength {
            offset: 6,
            chunk_type: 15,
            length: 5
        })
    );
    // Chunk reaching past the total length.
    let d = b"HEP3\x00\x0e\x00\x00\x00\x0f\x00\x20ab";
    assert_eq!(
        parse(&d[..]),
        Err(HepError::BadChunkLength {
            offset: 6,
            chunk_type: 15,
            length: 32
        })
    );
    // A 3-byte IPv4 address.
    let d = b"HEP3\x00\x0f\x00\x00\x00\x03\x00\x09\x01\x02\x03";
    assert_eq!(
        parse(&d[..]),
        Err(HepError::BadChunkValue {
            offset: 6,
            chunk_type: 3,
            length: 3
        })
    );
    // Half a chunk header at the end.
    let d = b"HEP3\x00\x09\x00\x00\x00";
    assert_eq!(
        parse(&d[..]),
        Err(HepError::Truncated { offset: 6, need: 6 })
    );
    // No payload.
    let d = b"HEP3\x00\x0d\x00\x00\x00\x02\x00\x07\x11";
    assert_eq!(parse(&d[..]), Err(HepError::NoPayload));
    // Total length below the header.
    assert!(matches!(
        parse(b"HEP3\x00\x02"),
        Err(HepError::BadTotalLength { .. })
    ));
    assert_eq!(parse(b""), Err(HepError::NotHep { first: 0 }));
    assert_eq!(parse(b"\x80\x00"), Err(HepError::NotHep { first: 0x80 }));
}

fn with_compressed(payload: &[u8], gzip: bool) -> Vec<u8> {
    use flate2::write::{GzEncoder, ZlibEncoder};
    use std::io::Write;
    let z = if gzip {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(payload).unwrap();
        e.finish().unwrap()
    } else {
        let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(payload).unwrap();
        e.finish().unwrap()
    };
    let mut d = b"HEP3\x00\x00\x00\x00\x00\x10".to_vec();
    d.extend_from_slice(&(6 + z.len() as u16).to_be_bytes());
    d.extend_from_slice(&z);
    let total = d.len() as u16;
    d[4..6].copy_from_slice(&total.to_be_bytes());
    d
}

#[test]
fn v3_compressed_payload_inflates_within_the_cap() {
    for gzip in [true, false] {
        let d = with_compressed(b"BYE sip:x SIP/2.0\r\n\r\n", gzip);
        let p = parse(&d).unwrap();
        assert_eq!(&*p.payload, b"BYE sip:x SIP/2.0\r\n\r\n");
        assert_eq!(p.payload_offset, None);
    }
    // 64 KiB + 1 of zeros compresses to a few hundred bytes: refused, not allocated.
    let d = with_compressed(&vec![0u8; MAX_INFLATED + 1], true);
    assert_eq!(
        parse(&d),
        Err(HepError::Inflate {
            offset: 6,
            limit: MAX_INFLATED
        })
    );
    let d = with_compressed(&vec![0u8; MAX_INFLATED], true);
    assert_eq!(parse(&d).unwrap().payload.len(), MAX_INFLATED);
    // Garbage in a compressed chunk.
    let d = b"HEP3\x00\x0e\x00\x00\x00\x10\x00\x08\x1f\x8b";
    assert!(matches!(parse(&d[..]), Err(HepError::Inflate { .. })));
}

/// Kamailio-style HEPv2, IPv4: hp_l 16, time header 12 bytes little-endian.
const V2: &[u8] = b"\x02\x10\x02\x11\x13\xc4\x13\xc5\
\x0a\x00\x00\x01\x0a\x00\x00\x02\
\x5c\x36\x4d\x58\x40\x42\x0f\x00\xd1\x07\x00\x00\
INVITE sip:b SIP/2.0\r\n\r\n";

#[test]
fn v2_and_v1() {
    let p = parse(V2).unwrap();
    assert_eq!(p.version, 2);
    assert_eq!(p.src(), Some("10.0.0.1:5060".parse().unwrap()));
    assert_eq!(p.dst(), Some("10.0.0.2:5061".parse().unwrap()));
    assert_eq!(p.ip_proto, Some(17));
    assert_eq!(
        p.ts,
        Some(Timestamp::from_parts(1_481_455_196, 999_999_000))
    );
    assert_eq!(p.capture_id, Some(2001));
    assert_eq!(&*p.payload, b"INVITE sip:b SIP/2.0\r\n\r\n");
    assert_eq!(p.payload_offset, Some(28));

    let mut v1 = V2.get(..16).unwrap().to_vec();
    v1[0] = 1;
    v1.extend_from_slice(b"ACK sip:b SIP/2.0\r\n\r\n");
    let p = parse(&v1).unwrap();
    assert_eq!((p.version, p.ts, p.capture_id), (1, None, None));
    assert_eq!(&*p.payload, b"ACK sip:b SIP/2.0\r\n\r\n");

    // IPv6: hp_l 40.
    let mut v6 = b"\x01\x28\x0a\x06\x13\xc4\x13\xc4".to_vec();
    v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    v6.extend_from_slice(b"x");
    let p = parse(&v6).unwrap();
    assert_eq!(p.src(), Some("[::1]:5060".parse().unwrap()));
    assert_eq!(p.ip_proto, Some(6));
}

#[test]
fn v2_strict_header_checks() {
    let mut d = V2.to_vec();
    d[1] = 26; // time header counted in hp_l: not what Kamailio sends
    assert_eq!(
        parse(&d),
        Err(HepError::BadHeaderLength {
            version: 2,
            declared: 26,
            family: 2
        })
    );
    let mut d = V2.to_vec();
    d[2] = 7;
    assert!(matches!(
        parse(&d),
        Err(HepError::BadChunkValue { offset: 2, .. })
    ));
    assert_eq!(
        parse(V2.get(..20).unwrap()),
        Err(HepError::Truncated {
            offset: 16,
            need: 12
        })
    );
    assert_eq!(parse(V2.get(..28).unwrap()), Err(HepError::NoPayload));
}

fn out<'a>(payload: &'a [u8], key: Option<&'a [u8]>) -> HepOut<'a> {
    HepOut {
        src: "192.0.2.1:5060".parse().unwrap(),
        dst: "198.51.100.7:5070".parse().unwrap(),
        ip_proto: 17,
        ts: Timestamp::from_parts(1_700_000_000, 123_456_000),
        proto_type: ProtoType::SIP,
        capture_id: Some(2001),
        auth_key: key,
        correlation_id: None,
        payload,
    }
}

#[test]
fn encode_v3_bytes() {
    let mut buf = b"prefix".to_vec();
    let n = encode_v3(&out(b"X", Some(b"pw")), &mut buf).unwrap();
    assert_eq!(n, buf.len() - 6);
    let expect: &[u8] = b"HEP3\x00\x6c\
\x00\x00\x00\x01\x00\x07\x02\
\x00\x00\x00\x02\x00\x07\x11\
\x00\x00\x00\x07\x00\x08\x13\xc4\
\x00\x00\x00\x08\x00\x08\x13\xce\
\x00\x00\x00\x09\x00\x0a\x65\x53\xf1\x00\
\x00\x00\x00\x0a\x00\x0a\x00\x01\xe2\x40\
\x00\x00\x00\x0b\x00\x07\x01\
\x00\x00\x00\x0c\x00\x0a\x00\x00\x07\xd1\
\x00\x00\x00\x03\x00\x0a\xc0\x00\x02\x01\
\x00\x00\x00\x04\x00\x0a\xc6\x33\x64\x07\
\x00\x00\x00\x0e\x00\x08pw\
\x00\x00\x00\x0f\x00\x07X";
    assert_eq!(buf.get(6..).unwrap(), expect);
}

#[test]
fn encode_v3_mixed_families_and_size_limit() {
    let mut o = out(b"y", None);
    o.dst = "[2001:db8::1]:5060".parse().unwrap();
    let mut buf = Vec::new();
    encode_v3(&o, &mut buf).unwrap();
    let p = parse(&buf).unwrap();
    assert_eq!(p.family, Some(AF_INET6));
    assert_eq!(
        p.src_ip,
        Some(IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()))
    );
    assert_eq!(p.dst(), Some(o.dst));
    let big = vec![b'a'; 65_535];
    let mut buf = Vec::new();
    assert!(matches!(
        encode_v3(&out(&big, None), &mut buf),
        Err(HepEncodeError::TooLarge(_))
    ));
    assert!(buf.is_empty());
}

fn any_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::new(IpAddr::from(a), p)),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::new(IpAddr::from(a), p)),
    ]
}

proptest! {
    #[test]
    fn encode_parse_round_trip(
        src in any_addr(),
        dst in any_addr(),
        tcp in any::<bool>(),
        secs in any::<u32>(),
        usec in 0u32..1_000_000,
        ty in any::<u8>(),
        capture_id in proptest::option::of(any::<u32>()),
        key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        corr in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        payload in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let o = HepOut {
            src, dst,
            ip_proto: if tcp { 6 } else { 17 },
            ts: Timestamp::from_parts(u64::from(secs), usec * 1000),
            proto_type: ProtoType(ty),
            capture_id,
            auth_key: key.as_deref(),
            correlation_id: corr.as_deref(),
            payload: &payload,
        };
        let mut buf = Vec::new();
        let n = encode_v3(&o, &mut buf).unwrap();
        prop_assert_eq!(n, buf.len());
        let p = parse(&buf).unwrap();
        let same_family = src.is_ipv4() == dst.is_ipv4();
        if same_family {
            prop_assert_eq!(p.src(), Some(src));
            prop_assert_eq!(p.dst(), Some(dst));
        }
        prop_assert_eq!(p.ip_proto, Some(o.ip_proto));
        prop_assert_eq!(p.ts, Some(o.ts));
        prop_assert_eq!(p.proto_type, Some(ProtoType(ty)));
        prop_assert_eq!(p.capture_id, capture_id);
        prop_assert_eq!(p.auth_key, key.as_deref());
        prop_assert_eq!(p.correlation_id, corr.as_deref());
        prop_assert_eq!(&*p.payload, &payload[..]);
        prop_assert_eq!((p.unknown_chunks, p.vendor_chunks), (0, 0));
    }

    #[test]
    fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&data);
        let _ = v3_frame_len(&data);
    }

    #[test]
    fn parse_never_panics_on_mutated_v3(
        pos in 0usize..0x89,
        byte in any::<u8>(),
        cut in 0usize..=0x89,
    ) {
        let mut d = V3.to_vec();
        d[pos] = byte;
        d.truncate(cut);
        if let Ok(p) = parse(&d) {
            // Whatever parsed lies inside the input.
            prop_assert!(p.payload.len() <= d.len());
        }
    }
}

/// Decapsulation by `net::Decoder` (HEP found in captures).
mod decode {
    use super::*;
    use crate::capture::{Frame, LinkType};
    use crate::net::{Decoder, Segment, Transport};
    use etherparse::PacketBuilder;

    fn raw(data: Vec<u8>) -> Frame {
        Frame {
            number: 7,
            ts: Timestamp::from_parts(5, 0),
            link_type: LinkType::RAW,
            orig_len: data.len() as u32,
            data,
            interface: 0,
        }
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Frame {
        let mut v = Vec::new();
        PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .udp(sport, dport)
            .write(&mut v, payload)
            .unwrap();
        raw(v)
    }

    fn tcp(seq: u32, syn: bool, payload: &[u8]) -> Frame {
        let mut b =
            PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64).tcp(40000, 9061, seq, 1000);
        if syn {
            b = b.syn();
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        raw(v)
    }

    fn run(frames: &[Frame]) -> (Vec<Segment<'static>>, crate::net::NetStats) {
        let mut d = Decoder::default();
        let mut all = Vec::new();
        for f in frames {
            let mut out = Vec::new();
            d.decode(f, &mut out);
            all.extend(out.into_iter().map(|s| Segment {
                payload: Cow::Owned(s.payload.into_owned()),
                ..s
            }));
        }
        (all, d.stats().clone())
    }

    #[test]
    fn v3_on_any_port_with_inner_addresses_and_time() {
        let (segs, st) = run(&[udp(40000, 12345, V3)]);
        assert_eq!(segs.len(), 1);
        let s = &segs[0];
        assert_eq!(s.src, "192.168.1.1:5060".parse().unwrap());
        assert_eq!(s.dst, "192.168.1.2:5060".parse().unwrap());
        assert_eq!(s.transport, Transport::Udp);
        assert_eq!(s.ts, Timestamp::from_parts(1_481_455_196, 100_000));
        assert_eq!(s.frame, 7);
        assert_eq!(
            s.hep,
            Some(HepMeta {
                version: 3,
                capture_id: Some(2001),
                agent: "127.0.0.1:40000".parse().unwrap()
            })
        );
        assert_eq!((st.hep_packets, st.hep_malformed, st.udp), (1, 0, 1));
    }

    #[test]
    fn v2_needs_the_hep_port_or_a_strict_sip_payload() {
        // On 9060: decapsulated.
        let (segs, st) = run(&[udp(40000, HEP_PORT, V2)]);
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].src, "10.0.0.1:5060".parse().unwrap());
        assert_eq!(st.hep_packets, 1);
        // Elsewhere: also, since the header is exact and the payload is SIP.
        let (segs, _) = run(&[udp(40000, 5000, V2)]);
        assert_eq!(segs[0].hep.map(|h| h.version), Some(2));
        // A payload starting with 0x02 that is not SIP is left alone off the HEP ports ...
        let mut not_sip = V2.get(..28).unwrap().to_vec();
        not_sip.extend_from_slice(b"\x80\x00binary");
        let (segs, st) = run(&[udp(40000, 5000, &not_sip)]);
        assert_eq!((segs.len(), segs[0].hep, st.hep_packets), (1, None, 0));
        assert_eq!(segs[0].payload.len(), not_sip.len());
        // ... and malformed HEP on the HEP port is counted, not passed on.
        let (segs, st) = run(&[udp(HEP_PORT, 40000, b"\x02\x1a\x02\x11")]);
        assert_eq!(
            (segs.len(), st.hep_malformed, st.decode_errors()),
            (0, 1, 1)
        );
    }

    #[test]
    fn malformed_v3_and_other_proto_types_are_counted() {
        let mut bad = V3.to_vec();
        bad[11] = 0x02; // first chunk length 2
        let mut log = V3.to_vec();
        let at = V3.windows(3).position(|w| w == b"\x0b\x00\x07").unwrap() + 3;
        log[at] = 100;
        let (segs, st) = run(&[udp(1, 2, &bad), udp(1, 2, &log)]);
        assert!(segs.is_empty());
        assert_eq!((st.hep_packets, st.hep_malformed, st.hep_other), (1, 1, 1));
    }

    proptest! {
        /// HEP-looking UDP payloads (v3 magic, or a v1/v2 first byte on the HEP port) never
        /// make the decoder panic, and every segment it makes is marked HEP.
        #[test]
        fn decoder_never_panics_on_hep_like_payloads(
            first in prop_oneof![Just(b"HEP3".to_vec()), Just(vec![1u8]), Just(vec![2u8])],
            rest in proptest::collection::vec(any::<u8>(), 0..200),
            tcp_stream in any::<bool>(),
        ) {
            let mut p = first;
            p.extend_from_slice(&rest);
            let frames = if tcp_stream {
                vec![tcp(1, true, b""), tcp(2, false, &p)]
            } else {
                vec![udp(40000, HEP_PORT, &p)]
            };
            let (segs, _) = run(&frames);
            prop_assert!(segs.iter().all(|s| s.hep.is_some()));
        }
    }

    #[test]
    fn sip_over_tcp_in_hep_is_a_tcp_message() {
        let mut buf = Vec::new();
        let mut o = out(b"INVITE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n", None);
        o.ip_proto = 6;
        encode_v3(&o, &mut buf).unwrap();
        let (segs, _) = run(&[udp(1, 2, &buf)]);
        assert_eq!(segs[0].transport, Transport::Tcp);
    }

    #[test]
    fn hep3_over_a_tcp_stream_is_framed_and_decapsulated() {
        let mut a = Vec::new();
        encode_v3(&out(b"INVITE sip:x SIP/2.0\r\n\r\n", None), &mut a).unwrap();
        let mut b = Vec::new();
        encode_v3(&out(b"BYE sip:x SIP/2.0\r\n\r\n", None), &mut b).unwrap();
        let mut stream = a.clone();
        stream.extend_from_slice(&b);
        let cut = a.len() + 10;
        let frames = [
            tcp(100, true, b""),
            tcp(101, false, stream.get(..cut).unwrap()),
            tcp(101 + cut as u32, false, stream.get(cut..).unwrap()),
        ];
        let frames: Vec<Frame> = frames
            .into_iter()
            .zip(1..)
            .map(|(f, number)| Frame { number, ..f })
            .collect();
        let (segs, st) = run(&frames);
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert!(segs[0].payload.starts_with(b"INVITE") && segs[1].payload.starts_with(b"BYE"));
        assert!(segs
            .iter()
            .all(|s| s.hep.map(|h| h.agent) == Some("127.0.0.1:40000".parse().unwrap())));
        assert_eq!(segs[1].frame, 3);
        assert_eq!((st.hep_packets, st.tcp_non_sip_streams), (2, 0));
    }
}

#[test]
fn tcp_hep_payload_with_two_messages_gives_two_segments() {
    use crate::capture::{Frame, LinkType};
    let two = b"BYE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n\r\n\r\nACK sip:x SIP/2.0\r\nContent-Length: 2\r\n\r\nab";
    let mut o = out(two, None);
    o.ip_proto = 6;
    let mut hep = Vec::new();
    encode_v3(&o, &mut hep).unwrap();
    let mut v = Vec::new();
    etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .udp(1000, HEP_PORT)
        .write(&mut v, &hep)
        .unwrap();
    let f = Frame {
        number: 1,
        ts: Timestamp::default(),
        link_type: LinkType::RAW,
        orig_len: v.len() as u32,
        data: v,
        interface: 0,
    };
    let mut out = Vec::new();
    crate::net::Decoder::default().decode(&f, &mut out);
    let p: Vec<&[u8]> = out.iter().map(|s| &*s.payload).collect();
    assert_eq!(
        p,
        vec![
            &b"BYE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"[..],
            &b"ACK sip:x SIP/2.0\r\nContent-Length: 2\r\n\r\nab"[..]
        ]
    );
    assert!(out
        .iter()
        .all(|s| s.transport == crate::net::Transport::Tcp && s.hep.is_some()));
}
