//! Decoder tests over hand-built frames.

use super::*;
use crate::capture::LinkType;
use etherparse::PacketBuilder;

const A4: [u8; 4] = [10, 0, 0, 1];
const B4: [u8; 4] = [10, 0, 0, 2];

fn frame(number: u64, secs: u64, link_type: LinkType, data: Vec<u8>) -> Frame {
    Frame {
        number,
        ts: Timestamp::from_parts(secs, 0),
        link_type,
        orig_len: data.len() as u32,
        data,
        interface: 0,
    }
}

/// IPv4/UDP packet 10.0.0.1:5060 -> 10.0.0.2:5060.
fn udp4(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .udp(5060, 5060)
        .write(&mut v, payload)
        .unwrap();
    v
}

fn udp6(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv6([1; 16], [2; 16], 64)
        .udp(5060, 5060)
        .write(&mut v, payload)
        .unwrap();
    v
}

#[derive(Clone, Copy, Default)]
struct F {
    syn: bool,
    fin: bool,
    rst: bool,
}

/// IPv4/TCP packet 10.0.0.1:40000 -> 10.0.0.2:5060 (or reversed).
fn tcp4(seq: u32, f: F, payload: &[u8], reverse: bool) -> Vec<u8> {
    let (s, d, sp, dp) = if reverse {
        (B4, A4, 5060, 40000)
    } else {
        (A4, B4, 40000, 5060)
    };
    let mut b = PacketBuilder::ipv4(s, d, 64).tcp(sp, dp, seq, 1000);
    if f.syn {
        b = b.syn();
    }
    if f.fin {
        b = b.fin();
    }
    if f.rst {
        b = b.rst();
    }
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn ether(ethertypes: &[u16], ip: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 12];
    for (i, t) in ethertypes.iter().enumerate() {
        v.extend_from_slice(&t.to_be_bytes());
        if i + 1 < ethertypes.len() {
            v.extend_from_slice(&[0x00, 0x64]); // TCI: VLAN 100
        }
    }
    v.extend_from_slice(ip);
    v
}

fn payloads(segs: &[Segment<'_>]) -> Vec<Vec<u8>> {
    segs.iter().map(|s| s.payload.to_vec()).collect()
}

fn decode_all(dec: &mut Decoder, frames: &[Frame]) -> Vec<(u64, Transport, Vec<u8>, bool)> {
    let mut res = Vec::new();
    for f in frames {
        let mut out = Vec::new();
        dec.decode(f, &mut out);
        for s in out {
            let owned = matches!(s.payload, Cow::Owned(_));
            res.push((s.frame, s.transport, s.payload.to_vec(), owned));
        }
    }
    res
}

const SIP: &[u8] = b"OPTIONS sip:b SIP/2.0\r\nContent-Length: 0\r\n\r\n";

#[test]
fn every_link_type_yields_the_udp_payload() {
    let ip4 = udp4(SIP);
    let ip6 = udp6(SIP);
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip4);
    let mut sll2 = vec![
        0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    sll2.extend_from_slice(&ip6);
    let with = |prefix: &[u8], ip: &[u8]| [prefix, ip].concat();
    let cases = vec![
        (LinkType::ETHERNET, ether(&[0x0800], &ip4)),
        (LinkType::ETHERNET, ether(&[0x86dd], &ip6)),
        (LinkType::LINUX_SLL, sll),
        (LinkType::LINUX_SLL2, sll2),
        (LinkType::RAW, ip4.clone()),
        (LinkType::RAW, ip6.clone()),
        (LinkType::RAW_BSD12, ip4.clone()),
        (LinkType::RAW_BSD14, ip6.clone()),
        (LinkType::IPV4, ip4.clone()),
        (LinkType::IPV6, ip6.clone()),
        (LinkType::NULL, with(&[2, 0, 0, 0], &ip4)),
        (LinkType::NULL, with(&[0, 0, 0, 2], &ip4)),
        (LinkType::NULL, with(&[24, 0, 0, 0], &ip6)),
        (LinkType::NULL, with(&[0, 0, 0, 28], &ip6)),
        (LinkType::NULL, with(&[30, 0, 0, 0], &ip6)),
        (LinkType::LOOP, with(&[0, 0, 0, 2], &ip4)),
        (LinkType::LOOP, with(&[0, 0, 0, 30], &ip6)),
    ];
    for (i, (lt, data)) in cases.into_iter().enumerate() {
        let mut dec = Decoder::default();
        let f = frame(i as u64 + 1, 1, lt, data);
        let mut out = Vec::new();
        dec.decode(&f, &mut out);
        assert_eq!(payloads(&out), vec![SIP.to_vec()], "case {i} {lt:?}");
        assert_eq!(out[0].transport, Transport::Udp);
        assert!(matches!(out[0].payload, Cow::Borrowed(_)));
        assert_eq!(out[0].dst.port(), 5060);
        assert_eq!(out[0].frame, i as u64 + 1);
    }
}

#[test]
fn unknown_link_type_and_non_ip_are_counted() {
    let mut dec = Decoder::default();
    let frames = [
        frame(1, 1, LinkType(147), udp4(SIP)),
        frame(2, 1, LinkType(147), udp4(SIP)),
        frame(3, 1, LinkType::ETHERNET, ether(&[0x0806], &[0; 28])),
        frame(4, 1, LinkType::ETHERNET, vec![]),
        frame(5, 1, LinkType::ETHERNET, vec![0; 10]),
    ];
    assert!(decode_all(&mut dec, &frames).is_empty());
    let s = dec.stats();
    assert_eq!(s.unknown_link_types.get(&147), Some(&2));
    assert_eq!(s.non_ip, 1);
    assert_eq!(s.zero_length, 1);
    assert_eq!(s.truncated, 1);
    assert_eq!(s.frames, 5);
}

#[test]
fn vlan_qinq_and_deep_tags() {
    let ip = udp4(SIP);
    for types in [
        vec![0x8100, 0x0800],
        vec![0x88a8, 0x8100, 0x0800],
        vec![0x9100, 0x8100, 0x0800],
        vec![0x88a8, 0x88a8, 0x8100, 0x8100, 0x0800],
    ] {
        let mut dec = Decoder::default();
        let got = decode_all(
            &mut dec,
            &[frame(1, 1, LinkType::ETHERNET, ether(&types, &ip))],
        );
        assert_eq!(got.len(), 1, "{types:x?}");
        assert_eq!(got[0].2, SIP);
    }
}

/// IPv6 header (40 bytes) + `rest`, with `next` as first next-header.
fn ipv6_raw(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(rest.len() as u16).to_be_bytes());
    v.push(next);
    v.push(64);
    v.extend_from_slice(&[1; 16]);
    v.extend_from_slice(&[2; 16]);
    v.extend_from_slice(rest);
    v
}

fn udp_header(len_payload: usize) -> Vec<u8> {
    let mut v = vec![0x13, 0xc4, 0x13, 0xc4];
    v.extend_from_slice(&((len_payload + 8) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v
}

#[test]
fn ipv6_extension_headers() {
    let mut rest = vec![43, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop -> routing
    rest.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]); // routing -> dest opts
    rest.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // -> UDP
    rest.extend_from_slice(&udp_header(SIP.len()));
    rest.extend_from_slice(SIP);
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &[frame(1, 1, LinkType::RAW, ipv6_raw(0, &rest))]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, SIP);
}

/// IPv4 fragment: raw IPv4 header + data.
fn ipv4_frag(id: u16, offset: usize, more: bool, proto: u8, data: &[u8]) -> Vec<u8> {
    let total = (20 + data.len()) as u16;
    let ff = ((offset / 8) as u16) | if more { 0x2000 } else { 0 };
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&ff.to_be_bytes());
    v.extend_from_slice(&[64, proto, 0, 0]);
    v.extend_from_slice(&A4);
    v.extend_from_slice(&B4);
    v.extend_from_slice(data);
    v
}

fn big_sip(body: usize) -> Vec<u8> {
    let mut m = format!("INVITE sip:b SIP/2.0\r\nContent-Length: {body}\r\n\r\n").into_bytes();
    m.extend((0..body).map(|i| b'a' + (i % 26) as u8));
    m
}

fn udp_datagram(payload: &[u8]) -> Vec<u8> {
    [udp_header(payload.len()).as_slice(), payload].concat()
}

#[test]
fn ipv4_fragments_out_of_order_with_overlap() {
    let sip = big_sip(3000);
    let dgram = udp_datagram(&sip);
    let pieces: Vec<(usize, &[u8])> = dgram
        .chunks(1480)
        .enumerate()
        .map(|(i, c)| (i * 1480, c))
        .collect();
    let n = pieces.len();
    assert_eq!(n, 3);
    let mk = |i: usize, fnum: u64| {
        let (off, data) = pieces[i];
        frame(
            fnum,
            1,
            LinkType::RAW,
            ipv4_frag(7, off, i + 1 < n, 17, data),
        )
    };
    // last, first, an overlapping copy of the first, then the middle completes it.
    let frames = [mk(2, 1), mk(0, 2), mk(0, 3), mk(1, 4)];
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &frames);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 4, "frame of the completing fragment");
    assert_eq!(got[0].2, sip);
    assert!(got[0].3, "owned payload");
    let s = dec.stats();
    assert_eq!(
        (s.fragments, s.datagrams_reassembled, s.fragment_overlaps),
        (4, 1, 1)
    );
    assert_eq!(dec.defrag.len(), 0);
}

fn ipv6_frag(id: u32, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let om = ((offset / 8) as u16) << 3 | u16::from(more);
    let mut rest = vec![17, 0];
    rest.extend_from_slice(&om.to_be_bytes());
    rest.extend_from_slice(&id.to_be_bytes());
    rest.extend_from_slice(data);
    ipv6_raw(44, &rest)
}

#[test]
fn ipv6_fragments() {
    let sip = big_sip(2000);
    let dgram = udp_datagram(&sip);
    let (a, b) = dgram.split_at(1232);
    let frames = [
        frame(1, 1, LinkType::RAW, ipv6_frag(99, 1232, false, b)),
        frame(2, 1, LinkType::RAW, ipv6_frag(99, 0, true, a)),
    ];
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &frames);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0, got[0].1), (2, Transport::Udp));
    assert_eq!(got[0].2, sip);
}

#[test]
fn fragment_timeout_and_eviction() {
    let data = [0u8; 16];
    // Timeout: the second half arrives 31 s after the first.
    let mut dec = Decoder::default();
    let frames = [
        frame(1, 100, LinkType::RAW, ipv4_frag(1, 0, true, 17, &data)),
        frame(2, 131, LinkType::RAW, ipv4_frag(1, 16, false, 17, &data)),
    ];
    assert!(decode_all(&mut dec, &frames).is_empty());
    assert_eq!(dec.stats().fragment_timeouts, 1);
    assert_eq!(dec.stats().datagrams_reassembled, 0);

    // Eviction: only 2 buffers; the oldest (id 1) goes when id 3 starts, so its tail alone
    // completes nothing while id 3 completes.
    let mut dec = Decoder::new(NetLimits {
        max_fragment_buffers: 2,
        ..NetLimits::default()
    });
    let first = udp_datagram(b"0123456789abcdef");
    let (a, b) = first.split_at(16);
    let frames = [
        frame(1, 1, LinkType::RAW, ipv4_frag(1, 0, true, 17, a)),
        frame(2, 1, LinkType::RAW, ipv4_frag(2, 0, true, 17, a)),
        frame(3, 1, LinkType::RAW, ipv4_frag(3, 0, true, 17, a)),
        frame(4, 1, LinkType::RAW, ipv4_frag(3, 16, false, 17, b)),
        frame(5, 1, LinkType::RAW, ipv4_frag(1, 16, false, 17, b)),
    ];
    let got = decode_all(&mut dec, &frames);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 4);
    assert_eq!(dec.stats().fragment_evictions, 1);

    // Memory bound: total bytes.
    let mut dec = Decoder::new(NetLimits {
        max_fragment_bytes: 20,
        ..NetLimits::default()
    });
    let frames = [
        frame(1, 1, LinkType::RAW, ipv4_frag(1, 0, true, 17, &data)),
        frame(2, 1, LinkType::RAW, ipv4_frag(2, 0, true, 17, &data)),
    ];
    decode_all(&mut dec, &frames);
    assert_eq!(dec.stats().fragment_evictions, 1);
    assert_eq!(dec.defrag.len(), 1);
}

#[test]
fn ip_in_ip() {
    let inner = udp4(SIP);
    let outer = ipv4_frag(5, 0, false, 4, &inner);
    let inner6 = udp6(SIP);
    let outer6 = ipv4_frag(6, 0, false, 41, &inner6);
    let mut dec = Decoder::default();
    let got = decode_all(
        &mut dec,
        &[
            frame(1, 1, LinkType::RAW, outer.clone()),
            frame(2, 1, LinkType::RAW, outer6),
            // two levels deep is not followed
            frame(3, 1, LinkType::RAW, ipv4_frag(7, 0, false, 4, &outer)),
        ],
    );
    assert_eq!(got.len(), 2);
    assert_eq!(dec.stats().ip_in_ip, 3);
    assert_eq!(dec.stats().other_ip_protocol, 1);
}

#[test]
fn udp_zero_length_skipped_and_truncated_kept() {
    let mut dec = Decoder::default();
    let mut cut = udp4(SIP);
    cut.truncate(cut.len() - 10);
    let got = decode_all(
        &mut dec,
        &[
            frame(1, 1, LinkType::RAW, udp4(b"")),
            frame(2, 1, LinkType::RAW, cut),
        ],
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, &SIP[..SIP.len() - 10]);
    assert_eq!(dec.stats().udp_empty, 1);
    assert!(dec.stats().truncated >= 1);
}

fn raw(n: u64, data: Vec<u8>) -> Frame {
    frame(n, 1, LinkType::RAW, data)
}

#[test]
fn tcp_two_messages_in_one_segment() {
    let both = [SIP, SIP].concat();
    let frames = [
        raw(
            1,
            tcp4(
                1000,
                F {
                    syn: true,
                    ..F::default()
                },
                b"",
                false,
            ),
        ),
        raw(2, tcp4(1001, F::default(), &both, false)),
    ];
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &frames);
    assert_eq!(got.len(), 2);
    for g in &got {
        assert_eq!(
            (g.0, g.1, g.2.as_slice(), g.3),
            (2, Transport::Tcp, SIP, false)
        );
    }
}

#[test]
fn tcp_message_split_across_three_segments() {
    let m = big_sip(100);
    let (a, rest) = m.split_at(10);
    let (b, c) = rest.split_at(60);
    let frames = [
        raw(1, tcp4(5, F::default(), a, false)),
        raw(2, tcp4(15, F::default(), b, false)),
        raw(3, tcp4(75, F::default(), c, false)),
    ];
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &frames);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0, &got[0].2, got[0].3), (3, &m, true));
}

#[test]
fn tcp_out_of_order_and_retransmission() {
    let m = [big_sip(50), SIP.to_vec()].concat();
    let (a, rest) = m.split_at(30);
    let c = &rest[40..];
    let s = 4_000_000_000u32;
    let frames = [
        raw(1, tcp4(s, F::default(), a, false)),
        raw(2, tcp4(s + 70, F::default(), c, false)), // ahead
        raw(3, tcp4(s, F::default(), a, false)),      // full retransmission
        raw(4, tcp4(s + 20, F::default(), &m[20..70], false)), // partial overlap fills hole
        raw(5, tcp4(s + 70, F::default(), c, false)), // retransmission of buffered data
    ];
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &frames);
    assert_eq!(payloads_of(&got), vec![big_sip(50), SIP.to_vec()]);
    assert_eq!(got[0].0, 4);
    let st = dec.stats();
    assert_eq!(st.tcp_out_of_order, 1);
    assert_eq!(st.tcp_retransmissions, 3);
    assert_eq!(st.tcp_gaps, 0);
}

fn payloads_of(got: &[(u64, Transport, Vec<u8>, bool)]) -> Vec<Vec<u8>> {
    got.iter().map(|g| g.2.clone()).collect()
}

#[test]
fn tcp_gap_skipped_on_overflow_and_on_fin() {
    // Overflow: max 2 pending segments; the lost bytes are skipped and framing resyncs.
    let mut dec = Decoder::new(NetLimits {
        max_out_of_order: 2,
        ..NetLimits::default()
    });
    let l = SIP.len() as u32;
    let frames = [
        raw(1, tcp4(0, F::default(), SIP, false)),
        // SIP at l is lost
        raw(2, tcp4(2 * l, F::default(), SIP, false)),
        raw(3, tcp4(3 * l, F::default(), SIP, false)),
        raw(4, tcp4(4 * l, F::default(), SIP, false)),
    ];
    let got = decode_all(&mut dec, &frames);
    assert_eq!(got.len(), 4);
    assert_eq!(dec.stats().tcp_gaps, 1);
    assert_eq!(dec.stats().tcp_gap_bytes, u64::from(l));

    // FIN with a hole: pending data is flushed past the hole.
    let mut dec = Decoder::default();
    let frames = [
        raw(1, tcp4(0, F::default(), SIP, false)),
        raw(2, tcp4(2 * l, F::default(), SIP, false)),
        raw(
            3,
            tcp4(
                3 * l,
                F {
                    fin: true,
                    ..F::default()
                },
                b"",
                false,
            ),
        ),
        // after close, data is ignored
        raw(4, tcp4(3 * l, F::default(), SIP, false)),
    ];
    let got = decode_all(&mut dec, &frames);
    assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(dec.stats().tcp_gaps, 1);

    // A new SYN on the same 4-tuple reopens the direction.
    let frames = [
        raw(
            5,
            tcp4(
                900,
                F {
                    syn: true,
                    ..F::default()
                },
                b"",
                false,
            ),
        ),
        raw(6, tcp4(901, F::default(), SIP, false)),
    ];
    assert_eq!(decode_all(&mut dec, &frames).len(), 1);
}

#[test]
fn tcp_keepalives() {
    let data = [b"\r\n\r\n".as_slice(), SIP, b"\r\n", SIP].concat();
    let frames = [
        raw(1, tcp4(7, F::default(), &data, false)),
        raw(2, tcp4(9, F::default(), b"\r\n", true)),
    ];
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &frames);
    assert_eq!(payloads_of(&got), vec![SIP.to_vec(), SIP.to_vec()]);
    assert_eq!(dec.stats().sip_keepalives, 3);
}

#[test]
fn http_on_5060_is_ignored_and_not_buffered() {
    let req = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    let frames = [
        raw(
            1,
            tcp4(
                0,
                F {
                    syn: true,
                    ..F::default()
                },
                b"",
                false,
            ),
        ),
        raw(2, tcp4(1, F::default(), &req[..20], false)),
        raw(3, tcp4(21, F::default(), &req[20..], false)),
        // Even a SIP-looking message later on this direction is not framed.
        raw(4, tcp4(1 + req.len() as u32, F::default(), SIP, false)),
    ];
    let mut dec = Decoder::default();
    assert!(decode_all(&mut dec, &frames).is_empty());
    let st = dec.stats();
    assert_eq!(st.tcp_non_sip_streams, 1);
    assert_eq!(st.tcp_non_sip_bytes, (req.len() + SIP.len()) as u64);
}

#[test]
fn tcp_mid_stream_start_resyncs() {
    let data = [b"tail of a body\r\n".as_slice(), SIP].concat();
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &[raw(1, tcp4(77, F::default(), &data, false))]);
    assert_eq!(payloads_of(&got), vec![SIP.to_vec()]);
    assert_eq!(dec.stats().tcp_non_sip_bytes, 16);
}

#[test]
fn tcp_sequence_wraparound() {
    let m = big_sip(40);
    let (a, b) = m.split_at(20);
    let start = u32::MAX - 9;
    let frames = [
        raw(1, tcp4(start, F::default(), a, false)),
        raw(2, tcp4(start.wrapping_add(20), F::default(), b, false)),
        raw(
            3,
            tcp4(start.wrapping_add(m.len() as u32), F::default(), SIP, false),
        ),
    ];
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &frames);
    assert_eq!(payloads_of(&got), vec![m.clone(), SIP.to_vec()]);
    assert_eq!(dec.stats().tcp_retransmissions, 0);
}

#[test]
fn tcp_oversize_message_skipped() {
    let mut dec = Decoder::new(NetLimits {
        max_buffered_bytes: 100,
        ..NetLimits::default()
    });
    let big = big_sip(300);
    let frames = [
        raw(1, tcp4(0, F::default(), &big[..150], false)),
        raw(2, tcp4(150, F::default(), &big[150..], false)),
        raw(3, tcp4(big.len() as u32, F::default(), SIP, false)),
    ];
    let got = decode_all(&mut dec, &frames);
    assert_eq!(payloads_of(&got), vec![SIP.to_vec()]);
    assert_eq!(dec.stats().tcp_oversize_messages, 1);
    assert_eq!(dec.stats().tcp_oversize_bytes, big.len() as u64);
}

#[test]
fn tcp_stream_table_is_bounded() {
    let mut dec = Decoder::new(NetLimits {
        max_tcp_streams: 2,
        ..NetLimits::default()
    });
    for port in 0..5u16 {
        let mut v = Vec::new();
        PacketBuilder::ipv4(A4, B4, 64)
            .tcp(1000 + port, 5060, 1, 100)
            .write(&mut v, b"INVITE sip:")
            .unwrap();
        let mut out = Vec::new();
        let f = raw(u64::from(port) + 1, v);
        dec.decode(&f, &mut out);
    }
    assert_eq!(dec.tcp.len(), 2);
    assert_eq!(dec.stats().tcp_stream_evictions, 3);
    assert_eq!(dec.stats().tcp_streams, 5);
}

#[test]
fn tcp_buffers_together_are_bounded() {
    let mut dec = Decoder::new(NetLimits {
        max_tcp_total_bytes: 1000,
        ..NetLimits::default()
    });
    // Five connections each leave 400 bytes of an unfinished message buffered.
    let mut partial = b"INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nX: ".to_vec();
    partial.resize(400, b'a');
    for port in 0..5u16 {
        let mut v = Vec::new();
        PacketBuilder::ipv4(A4, B4, 64)
            .tcp(1000 + port, 5060, 1, 100)
            .write(&mut v, &partial)
            .unwrap();
        let mut out = Vec::new();
        let f = raw(u64::from(port) + 1, v);
        dec.decode(&f, &mut out);
        assert!(out.is_empty());
        assert!(dec.tcp.total <= 1000, "{} bytes held", dec.tcp.total);
    }
    // Two directions fit; the three oldest were evicted as they pushed the total over.
    assert_eq!(dec.stats().tcp_memory_evictions, 3);
    assert_eq!(dec.tcp.len(), 2);
    assert_eq!(dec.stats().tcp_incomplete_bytes, 3 * 400);
}

#[test]
fn vxlan_and_gre_bridged_ethernet_are_followed() {
    // The inner frame: Ethernet / IPv4 / UDP 5060 with a SIP message.
    let mut inner = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([192, 0, 2, 10], [192, 0, 2, 11], 64)
        .udp(5060, 5060)
        .write(&mut inner, SIP)
        .unwrap();
    // VXLAN: UDP to port 4789, header with the I flag and VNI 42.
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
    vx.extend_from_slice(&inner);
    let mut outer = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .udp(40000, 4789)
        .write(&mut outer, &vx)
        .unwrap();
    let mut dec = Decoder::new(NetLimits::default());
    let mut out = Vec::new();
    let f = raw(1, outer);
    dec.decode(&f, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.as_ref(), SIP);
    // The inner addresses, not the tunnel's.
    assert_eq!(out[0].src.to_string(), "192.0.2.10:5060");
    assert_eq!(dec.stats().vxlan, 1);

    // GRE transparent Ethernet bridging (0x6558) with a key.
    let mut gre = vec![0x20, 0x00, 0x65, 0x58, 0, 0, 0, 7];
    gre.extend_from_slice(&inner);
    let mut ip = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .write(&mut ip, etherparse::IpNumber(47), &gre)
        .unwrap();
    let f = raw(2, ip);
    let mut out = Vec::new();
    dec.decode(&f, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.as_ref(), SIP);
    assert_eq!(out[0].dst.to_string(), "192.0.2.11:5060");
    assert_eq!(dec.stats().gre, 1);
}

#[test]
fn tcp_tls_stream_handshake_records_up_app_data_elided() {
    // ClientHello-like record split over two segments (second one out of order), then
    // change_cipher_spec, an encrypted handshake record and application data.
    let hs: &[u8] = &[22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3];
    let ccs: &[u8] = &[20, 3, 3, 0, 1, 1];
    let enc: &[u8] = &[22, 3, 3, 0, 3, 9, 9, 9];
    let app: &[u8] = &[23, 3, 3, 0, 4, 7, 7, 7, 7];
    let rest = [ccs, enc, app].concat();
    let syn = F {
        syn: true,
        ..F::default()
    };
    let frames = [
        raw(1, tcp4(1000, syn, b"", false)),
        raw(2, tcp4(1005, F::default(), &hs[4..], false)),
        raw(3, tcp4(1001, F::default(), &hs[..4], false)),
        raw(4, tcp4(1001 + hs.len() as u32, F::default(), &rest, false)),
        // SIP in the other direction is framed as before.
        raw(5, tcp4(5000, F::default(), SIP, true)),
    ];
    let mut dec = Decoder::default();
    let got = decode_all(&mut dec, &frames);
    let app_hdr: &[u8] = &[23, 3, 3, 0, 4];
    assert_eq!(
        got,
        [
            (3, Transport::TlsRecords, hs.to_vec(), true),
            (4, Transport::TlsRecords, [ccs, app_hdr].concat(), true),
            (5, Transport::Tcp, SIP.to_vec(), false),
        ]
    );
    let st = dec.stats();
    assert_eq!(st.tls_streams, 1);
    assert_eq!(st.tls_handshake_records, 2);
    assert_eq!((st.tls_app_records, st.tls_app_bytes), (1, 4));
    assert_eq!(st.tcp_non_sip_streams, 0);
    assert_eq!(st.tcp_sip_messages, 1);
    assert_eq!(Transport::Tls.as_str(), "TLS");
}

#[test]
fn gtpu_user_plane_is_decapsulated() {
    // What an IMS phone sends: IPv6 / UDP 5060 / SIP, inside a G-PDU on the S1-U link.
    let mut inner = Vec::new();
    PacketBuilder::ipv6([0x20; 16], [0x30; 16], 64)
        .udp(5060, 5060)
        .write(&mut inner, SIP)
        .unwrap();
    // GTP-U with the S flag (sequence number), TEID 0x1234; the length covers the
    // optional fields and the inner packet.
    let mut gtp = vec![0x32, 0xff];
    gtp.extend_from_slice(&((4 + inner.len()) as u16).to_be_bytes());
    gtp.extend_from_slice(&[0, 0, 0x12, 0x34, 0, 9, 0, 0]);
    gtp.extend_from_slice(&inner);
    let mut outer = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .udp(2152, 2152)
        .write(&mut outer, &gtp)
        .unwrap();
    let mut dec = Decoder::new(NetLimits::default());
    let mut out = Vec::new();
    let f = raw(1, outer);
    dec.decode(&f, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.as_ref(), SIP);
    assert_eq!(out[0].src.ip(), std::net::IpAddr::from([0x20u8; 16]));
    assert_eq!(out[0].dst.port(), 5060);
    assert_eq!(dec.stats().gtpu, 1);
    assert_eq!(dec.stats().ipv6, 1);

    // An echo request on the same port: GTP-U signalling, counted, no segment.
    let mut echo = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .udp(2152, 2152)
        .write(&mut echo, &[0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0])
        .unwrap();
    let mut out = Vec::new();
    let f = raw(2, echo);
    dec.decode(&f, &mut out);
    assert!(out.is_empty());
    assert_eq!(dec.stats().gtpu_other, 1);

    // SIP sent to port 2152 is not GTP-U: an ordinary datagram.
    let mut sip = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .udp(5060, 2152)
        .write(&mut sip, SIP)
        .unwrap();
    let mut out = Vec::new();
    let f = raw(3, sip);
    dec.decode(&f, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(dec.stats().gtpu, 1);
}

/// IPv4 / SCTP frame number `n` from A4 to B4 with these chunks.
fn sctp4(n: u64, chunks: &[(u8, u8, Vec<u8>)]) -> Frame {
    let mut v = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .write(
            &mut v,
            etherparse::IpNumber(132),
            &sctp::build::packet(chunks),
        )
        .unwrap();
    raw(n, v)
}

#[test]
fn sctp_messages_bundled_fragmented_and_retransmitted() {
    use sctp::build::{data, WHOLE};
    let mut dec = Decoder::new(NetLimits::default());
    let big = big_sip(3000);
    let (head, tail) = big.split_at(1400);
    let frames = [
        // Two whole messages bundled in one packet, behind a SACK.
        sctp4(
            1,
            &[
                (3, 0, vec![0; 12]),
                (0, WHOLE, data(1, 0, 0, SIP)),
                (0, WHOLE, data(2, 0, 1, SIP)),
            ],
        ),
        // A large message in two fragments (B, then E), with the first one retransmitted.
        sctp4(2, &[(0, 0x02, data(3, 0, 2, head))]),
        sctp4(3, &[(0, 0x02, data(3, 0, 2, head))]),
        sctp4(4, &[(0, 0x01, data(4, 0, 2, tail))]),
        // An ending fragment whose beginning was not captured: dropped, counted.
        sctp4(5, &[(0, 0x01, data(9, 0, 5, tail))]),
        // A whole message retransmitted: delivered once.
        sctp4(6, &[(0, WHOLE, data(10, 0, 6, SIP))]),
        sctp4(7, &[(0, WHOLE, data(10, 0, 6, SIP))]),
    ];
    let got = decode_all(&mut dec, &frames);
    let msgs: Vec<(u64, usize)> = got.iter().map(|g| (g.0, g.2.len())).collect();
    assert_eq!(
        msgs,
        vec![
            (1, SIP.len()),
            (1, SIP.len()),
            (4, big.len()),
            (6, SIP.len())
        ]
    );
    assert!(got.iter().all(|g| g.1 == Transport::Sctp));
    assert_eq!(got[2].2, big);
    let s = dec.stats();
    assert_eq!(s.sctp, 7);
    assert_eq!(s.sctp_data_chunks, 8);
    assert_eq!(s.sctp_other_chunks, 1);
    assert_eq!(s.sctp_messages, 4);
    assert_eq!(s.sctp_fragments, 3);
    assert_eq!(s.sctp_reassembled, 1);
    assert_eq!(s.sctp_duplicates, 2);
    assert_eq!(s.sctp_gaps, 1);
    // SSN 2 was followed by 6 (5 never completed).
    assert_eq!(s.sctp_out_of_order, 1);
}

#[test]
fn sctp_bounds_hold() {
    use sctp::build::data;
    let limits = NetLimits {
        max_buffered_bytes: 1000,
        max_tcp_streams: 2,
        ..NetLimits::default()
    };
    let mut dec = Decoder::new(limits);
    // A fragment over the per-message bound is refused.
    let f = sctp4(1, &[(0, 0x02, data(1, 0, 0, &[b'x'; 1200]))]);
    decode_all(&mut dec, &[f]);
    assert_eq!(dec.stats().sctp_oversize_messages, 1);
    // Partial messages on several streams of one direction, then growing past the bound.
    let f = sctp4(2, &[(0, 0x02, data(2, 1, 0, &[b'x'; 600]))]);
    let g = sctp4(3, &[(0, 0x00, data(3, 1, 0, &[b'x'; 600]))]);
    let got = decode_all(&mut dec, &[f, g]);
    assert!(got.is_empty());
    assert_eq!(dec.stats().sctp_oversize_messages, 2);
    assert_eq!(dec.stats().decode_errors(), 2);
}

/// An ICMP(v6) Destination Unreachable from `reporter` quoting `quoted` (an IP packet).
fn icmp_error(v6: bool, code: u8, quoted: &[u8]) -> Vec<u8> {
    let mut icmp = vec![if v6 { 1 } else { 3 }, code, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(quoted);
    let mut v = Vec::new();
    if v6 {
        PacketBuilder::ipv6([0x30; 16], [0x20; 16], 64)
            .write(&mut v, etherparse::IpNumber(58), &icmp)
            .unwrap();
    } else {
        PacketBuilder::ipv4(B4, A4, 64)
            .write(&mut v, etherparse::IpNumber(1), &icmp)
            .unwrap();
    }
    v
}

#[test]
fn icmp_unreachable_quotes_become_marked_segments() {
    let mut dec = Decoder::new(NetLimits::default());
    // IPv4: the whole request quoted, port unreachable from its destination.
    let f = raw(1, icmp_error(false, 3, &udp4(SIP)));
    let mut out = Vec::new();
    dec.decode(&f, &mut out);
    assert_eq!(out.len(), 1);
    let q = out[0].icmp.as_deref().expect("marked");
    assert_eq!(q.reason, icmp::Unreachable::Port);
    assert_eq!(q.reporter, std::net::IpAddr::from(B4));
    assert_eq!(out[0].payload.as_ref(), SIP);
    // The quoted datagram's addresses: the request's sender and its destination.
    assert_eq!(out[0].src.ip(), std::net::IpAddr::from(A4));
    assert_eq!(out[0].dst.ip(), std::net::IpAddr::from(B4));

    // IPv6, the quote cut after 20 bytes of SIP (as a router quoting little would).
    let mut v6 = udp6(SIP);
    v6.truncate(40 + 8 + 20);
    let f = raw(2, icmp_error(true, 1, &v6));
    let mut out = Vec::new();
    dec.decode(&f, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.as_ref(), &SIP[..20]);
    assert_eq!(
        out[0].icmp.as_deref().map(|q| q.reason),
        Some(icmp::Unreachable::Prohibited)
    );

    // Quoting TCP, quoting nothing past the UDP header, an echo request: no segment.
    let mut tcp = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .tcp(5060, 5060, 1, 100)
        .write(&mut tcp, SIP)
        .unwrap();
    let mut udp_only = udp4(SIP);
    udp_only.truncate(28);
    let mut echo = Vec::new();
    PacketBuilder::ipv4(B4, A4, 64)
        .write(
            &mut echo,
            etherparse::IpNumber(1),
            &[8, 0, 0, 0, 0, 1, 0, 1],
        )
        .unwrap();
    let frames = [
        raw(3, icmp_error(false, 3, &tcp)),
        raw(4, icmp_error(false, 1, &udp_only)),
        raw(5, echo),
    ];
    assert!(decode_all(&mut dec, &frames).is_empty());
    let s = dec.stats();
    assert_eq!((s.icmp_unreachable, s.icmp_quoted_udp), (4, 2));
    assert_eq!(s.other_ip_protocol, 1);
}
