//! Network decode over the public corpus and property tests through the public API.

use std::borrow::Cow;
use std::path::PathBuf;

use proptest::prelude::*;
use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::net::{looks_like_sip_start, Decoder, NetLimits, Segment, Transport};

/// Locates the shared corpus, or `None` (tests then print a notice and pass).
fn corpus_dir() -> Option<PathBuf> {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pcaps");
    [local, PathBuf::from("/work/shared/corpus/pcaps")]
        .into_iter()
        .find(|p| p.is_dir())
}

fn u16_at(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(a)
    } else {
        u16::from_be_bytes(a)
    })
}

fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    })
}

/// A minimal classic pcap / pcapng reader for these tests only (the real reader lives in
/// `siplens::capture`). Timestamps are approximate (microsecond resolution assumed).
fn read_capture(bytes: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    let magic = u32_at(bytes, 0, true).unwrap_or(0);
    match magic {
        0xa1b2c3d4 | 0xd4c3b2a1 | 0xa1b23c4d | 0x4d3cb2a1 => {
            let le = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
            let link = u32_at(bytes, 20, le).unwrap_or(0) & 0x0fff_ffff;
            let mut pos = 24;
            while let (Some(secs), Some(sub), Some(caplen), Some(orig)) = (
                u32_at(bytes, pos, le),
                u32_at(bytes, pos + 4, le),
                u32_at(bytes, pos + 8, le),
                u32_at(bytes, pos + 12, le),
            ) {
                let start = pos + 16;
                let Some(data) = bytes.get(start..start + caplen as usize) else {
                    break;
                };
                frames.push(Frame {
                    number: frames.len() as u64 + 1,
                    ts: Timestamp::from_parts(u64::from(secs), sub.saturating_mul(1000)),
                    link_type: LinkType(link),
                    data: data.to_vec(),
                    orig_len: orig,
                    interface: 0,
                });
                pos = start + caplen as usize;
            }
        }
        0x0a0d0d0a => {
            let mut le = true;
            let mut links: Vec<u32> = Vec::new();
            let mut pos = 0;
            loop {
                if u32_at(bytes, pos, true) == Some(0x0a0d0d0a) {
                    le = u32_at(bytes, pos + 8, true) == Some(0x1a2b3c4d);
                    links.clear();
                }
                let (Some(kind), Some(len)) = (u32_at(bytes, pos, le), u32_at(bytes, pos + 4, le))
                else {
                    break;
                };
                let len = len as usize;
                if len < 12 {
                    break;
                }
                let Some(body) = bytes.get(pos + 8..pos + len - 4) else {
                    break;
                };
                match kind {
                    1 => links.push(u32::from(u16_at(body, 0, le).unwrap_or(0))),
                    6 => {
                        let iface = u32_at(body, 0, le).unwrap_or(0);
                        let ts = (u64::from(u32_at(body, 4, le).unwrap_or(0)) << 32)
                            | u64::from(u32_at(body, 8, le).unwrap_or(0));
                        let caplen = u32_at(body, 12, le).unwrap_or(0) as usize;
                        let orig = u32_at(body, 16, le).unwrap_or(0);
                        if let Some(data) = body.get(20..20 + caplen) {
                            frames.push(Frame {
                                number: frames.len() as u64 + 1,
                                ts: Timestamp(ts.saturating_mul(1000)),
                                link_type: LinkType(
                                    links.get(iface as usize).copied().unwrap_or(1),
                                ),
                                data: data.to_vec(),
                                orig_len: orig,
                                interface: iface,
                            });
                        }
                    }
                    _ => {}
                }
                pos += len;
            }
        }
        _ => {}
    }
    frames
}

/// Decodes a corpus file; `None` when the corpus is absent.
fn decode_file(name: &str) -> Option<(Vec<Segment<'static>>, Decoder)> {
    let Some(dir) = corpus_dir() else {
        eprintln!("corpus not found: skipping {name}");
        return None;
    };
    let bytes = std::fs::read(dir.join(name)).ok()?;
    let frames = read_capture(&bytes);
    assert!(!frames.is_empty(), "{name}: no frames read");
    let mut dec = Decoder::new(NetLimits::default());
    let mut segs = Vec::new();
    for f in &frames {
        let mut out = Vec::new();
        dec.decode(f, &mut out);
        segs.extend(out.into_iter().map(|s| Segment {
            payload: Cow::Owned(s.payload.into_owned()),
            ..s
        }));
    }
    Some((segs, dec))
}

fn sip_segments(segs: &[Segment<'_>]) -> Vec<String> {
    segs.iter()
        .filter(|s| looks_like_sip_start(&s.payload))
        .map(|s| {
            let line = s.payload.split(|&b| b == b'\r').next().unwrap_or_default();
            String::from_utf8_lossy(line).into_owned()
        })
        .collect()
}

#[test]
fn ipv6_fragmented_sip_is_reassembled() {
    let Some((segs, dec)) = decode_file("sngrep__ipv6frag.pcap") else {
        return;
    };
    let st = dec.stats();
    assert!(st.datagrams_reassembled >= 1, "{st:?}");
    assert!(st.fragments >= 2);
    // A reassembled datagram is an owned SIP message larger than one fragment.
    assert!(segs.iter().any(|s| s.transport == Transport::Udp
        && s.src.is_ipv6()
        && looks_like_sip_start(&s.payload)
        && s.payload.len() > 1232));
    // Wireshark shows SIP in frames 2, 3 and 5..=34 (1 and 4 are first fragments).
    let frames: Vec<u64> = segs
        .iter()
        .filter(|s| looks_like_sip_start(&s.payload))
        .map(|s| s.frame)
        .collect();
    let expected: Vec<u64> = [2, 3].into_iter().chain(5..=34).collect();
    assert_eq!(frames, expected);
}

#[test]
fn large_body_over_tcp_on_null_link() {
    let Some((segs, dec)) = decode_file("suricata-verify__sip-body-large.pcap") else {
        return;
    };
    let sip: Vec<&Segment<'_>> = segs
        .iter()
        .filter(|s| s.transport == Transport::Tcp)
        .collect();
    assert_eq!(sip.len(), 2, "{:?}", sip_segments(&segs));
    assert!(sip[0].payload.starts_with(b"INVITE "));
    assert!(sip[0].payload.len() > 65536);
    assert!(sip[1].payload.starts_with(b"SIP/2.0 100"));
    assert_eq!(dec.stats().tcp_gaps, 0);
}

#[test]
fn http_on_sip_port_yields_no_sip() {
    let Some((segs, dec)) = decode_file("ndpi__http_on_sip_port.pcap") else {
        return;
    };
    assert!(segs.iter().all(|s| s.transport != Transport::Tcp));
    assert!(sip_segments(&segs).is_empty());
    assert!(dec.stats().tcp_non_sip_bytes > 0);
}

#[test]
fn sip_over_tcp_register() {
    let Some((segs, _)) = decode_file("suricata-verify__sip-tcp-method.pcap") else {
        return;
    };
    let tcp: Vec<String> = sip_segments(&segs);
    assert_eq!(tcp.len(), 2, "{tcp:?}");
    assert!(tcp[0].starts_with("REGISTER "));
    assert!(tcp[1].starts_with("SIP/2.0 200"));
}

#[test]
fn whole_corpus_decodes_without_panic() {
    let Some(dir) = corpus_dir() else {
        eprintln!("corpus not found: skipping");
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(bytes) = std::fs::read(e.path()) else {
            continue;
        };
        let mut dec = Decoder::new(NetLimits::default());
        for f in read_capture(&bytes) {
            let mut out = Vec::new();
            dec.decode(&f, &mut out);
        }
        assert!(
            dec.stats().frames > 0 || bytes.len() < 100,
            "{:?}",
            e.path()
        );
    }
}

const LINK_TYPES: [u32; 12] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147, 9999];

/// TCP/IPv4 raw frame carrying `payload` at sequence `seq`.
fn tcp_frame(number: u64, seq: u32, payload: &[u8]) -> Frame {
    let mut data = Vec::new();
    etherparse::PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .tcp(5060, 5060, seq, 65535)
        .write(&mut data, payload)
        .unwrap_or_default();
    Frame {
        number,
        ts: Timestamp::from_parts(number, 0),
        link_type: LinkType::RAW,
        orig_len: data.len() as u32,
        data,
        interface: 0,
    }
}

fn sip_message() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            Just("INVITE"),
            Just("BYE"),
            Just("MESSAGE"),
            Just("X-CUSTOM")
        ],
        "[a-z]{1,12}",
        prop::collection::vec(any::<u8>(), 0..300),
        any::<bool>(),
    )
        .prop_map(|(method, user, body, compact)| {
            let cl = if compact { "l" } else { "Content-Length" };
            let mut m = format!(
                "{method} sip:{user}@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n{cl}: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            m.extend_from_slice(&body);
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        lt in prop::sample::select(LINK_TYPES.to_vec()),
        frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..8),
    ) {
        let mut dec = Decoder::new(NetLimits::default());
        for (i, data) in frames.into_iter().enumerate() {
            let f = Frame {
                number: i as u64 + 1,
                ts: Timestamp::from_parts(i as u64, 0),
                link_type: LinkType(lt),
                orig_len: data.len() as u32,
                data,
                interface: 0,
            };
            let mut out = Vec::new();
            dec.decode(&f, &mut out);
        }
        prop_assert!(dec.stats().frames >= 1);
    }

    #[test]
    fn arbitrary_ip_payloads_never_panic(
        head in prop::sample::select(vec![0x45u8, 0x46, 0x60]),
        proto in prop::sample::select(vec![0u8, 4, 6, 17, 41, 43, 44, 51, 60]),
        rest in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        // Plausible IP headers with random tails exercise the deeper layers.
        let mut data = vec![head];
        data.extend_from_slice(&rest);
        if let Some(b) = data.get_mut(if head == 0x60 { 6 } else { 9 }) {
            *b = proto;
        }
        let f = Frame {
            number: 1,
            ts: Timestamp(0),
            link_type: LinkType::RAW,
            orig_len: data.len() as u32,
            data,
            interface: 0,
        };
        let mut dec = Decoder::new(NetLimits::default());
        let mut out = Vec::new();
        dec.decode(&f, &mut out);
        dec.decode(&f, &mut out);
    }

    #[test]
    fn tcp_framing_round_trip(
        msgs in prop::collection::vec(sip_message(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        start in any::<u32>(),
    ) {
        let stream = msgs.concat();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len())).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        points.dedup();
        let mut dec = Decoder::new(NetLimits::default());
        let mut got: Vec<Vec<u8>> = Vec::new();
        let frames: Vec<Frame> = points
            .windows(2)
            .enumerate()
            .map(|(i, w)| tcp_frame(i as u64 + 1, start.wrapping_add(w[0] as u32), &stream[w[0]..w[1]]))
            .collect();
        for f in &frames {
            let mut out = Vec::new();
            dec.decode(f, &mut out);
            for s in out {
                prop_assert_eq!(s.transport, Transport::Tcp);
                got.push(s.payload.into_owned());
            }
        }
        prop_assert_eq!(got, msgs);
    }
}
