use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;

use super::rtcp::{self, RtcpPacket};
use super::stun::{self, StunClass, StunMethod};
use super::*;
use crate::capture::Timestamp;

/// RFC 5769 §2.2 sample IPv4 response (software "test vector", 192.0.2.1:32853).
pub(crate) const STUN_V4: [u8; 80] = [
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
];

/// RFC 5769 §2.3 sample IPv6 response (2001:db8:1234:5678:11:2233:4455:6677 port 32853).
pub(crate) const STUN_V6: [u8; 92] = [
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
];

/// PCMU packet header: V=2, M=1, PT 0, seq 23838, ts 160000, SSRC 0x2b4f7c16.
const RTP_PCMU: [u8; 12] = [
    0x80, 0x80, 0x5d, 0x1e, 0x00, 0x02, 0x71, 0x00, 0x2b, 0x4f, 0x7c, 0x16,
];

/// SR with one report block, then SDES with CNAME "alice@host".
const RTCP_SR_SDES: [u8; 76] = [
    // SR: V=2 RC=1 PT=200 length=12
    0x81, 0xc8, 0x00, 0x0c, 0x2b, 0x4f, 0x7c, 0x16, // sender SSRC
    0xe5, 0x4d, 0x1c, 0x5a, 0x8f, 0x5c, 0x28, 0xf5, // NTP
    0x00, 0x02, 0x71, 0x00, // RTP ts
    0x00, 0x00, 0x00, 0x32, // packets 50
    0x00, 0x00, 0x1f, 0x40, // octets 8000
    0x11, 0x22, 0x33, 0x44, // report block SSRC
    0x10, 0xff, 0xff, 0xfe, // fraction 16/256, cumulative -2
    0x00, 0x01, 0x00, 0x05, // highest seq (1 cycle, 5)
    0x00, 0x00, 0x00, 0x0c, // jitter 12
    0x4d, 0x1c, 0x5a, 0x8f, // LSR
    0x00, 0x01, 0x00, 0x00, // DLSR
    // SDES: V=2 SC=1 PT=202 length=5
    0x81, 0xca, 0x00, 0x05, 0x2b, 0x4f, 0x7c, 0x16, // chunk SSRC
    0x01, 0x0a, b'a', b'l', b'i', b'c', b'e', b'@', b'h', b'o', b's', b't', // CNAME
    0x00, 0x00, 0x00, 0x00, // end + pad
];

#[test]
fn rtp_fixed_header() {
    let mut pkt = RTP_PCMU.to_vec();
    pkt.extend_from_slice(&[0xff; 160]);
    let h = rtp::parse(&pkt).expect("rtp");
    assert_eq!(
        (h.version, h.padding, h.extension, h.csrc_count),
        (2, false, false, 0)
    );
    assert!(h.marker);
    assert_eq!(
        (h.payload_type, h.sequence, h.timestamp, h.ssrc),
        (0, 23838, 160000, 0x2b4f7c16)
    );
    assert_eq!(
        (h.payload_offset, h.payload_len, h.packet_len),
        (12, 160, 172)
    );
    assert_eq!(h.csrcs(&pkt).count(), 0);
}

#[test]
fn rtp_csrc_extension_padding() {
    let pkt = [
        0xb2, 0x60, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2, // V=2 P X CC=2, PT 96
        0, 0, 0, 0xaa, 0, 0, 0, 0xbb, // CSRCs
        0xbe, 0xde, 0x00, 0x01, 0x10, 0x01, 0x00, 0x00, // one-byte ext, 1 word
        1, 2, 3, 4, 5, 0, 0, 3, // payload 5 bytes + 3 padding
    ];
    let h = rtp::parse(&pkt).expect("rtp");
    assert!(h.padding && h.extension);
    assert_eq!(h.csrcs(&pkt).collect::<Vec<_>>(), [0xaa, 0xbb]);
    assert_eq!((h.extension_profile, h.extension_words), (Some(0xbede), 1));
    assert_eq!((h.payload_offset, h.payload_len, h.padding_len), (28, 5, 3));
    // Truncations: CSRC list, extension header, extension body.
    assert_eq!(rtp::parse(&pkt[..16]), None);
    assert_eq!(rtp::parse(&pkt[..22]), None);
    assert_eq!(rtp::parse(&pkt[..26]), None);
    // Version 1, too short.
    assert_eq!(rtp::parse(&[0x40; 12]), None);
    assert_eq!(rtp::parse(&RTP_PCMU[..11]), None);
}

#[test]
fn rtcp_sr_sdes_compound() {
    let pkts = rtcp::parse_compound(&RTCP_SR_SDES).expect("rtcp");
    assert_eq!(pkts.len(), 2);
    let RtcpPacket::SenderReport(sr) = &pkts[0] else {
        panic!("not SR")
    };
    assert_eq!(sr.ssrc, 0x2b4f7c16);
    assert_eq!(sr.ntp_timestamp, 0xe54d1c5a8f5c28f5);
    assert_eq!(
        (sr.rtp_timestamp, sr.packet_count, sr.octet_count),
        (160000, 50, 8000)
    );
    let b = pkts[0].report_blocks();
    assert_eq!(b.len(), 1);
    assert_eq!(
        (
            b[0].ssrc,
            b[0].fraction_lost,
            b[0].cumulative_lost,
            b[0].highest_seq,
            b[0].jitter
        ),
        (0x11223344, 16, -2, 0x10005, 12)
    );
    assert_eq!((b[0].lsr, b[0].dlsr), (0x4d1c5a8f, 0x10000));
    let RtcpPacket::SourceDescription(chunks) = &pkts[1] else {
        panic!("not SDES")
    };
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].cname(), Some(&b"alice@host"[..]));
    assert_eq!(pkts[1].sender_ssrc(), Some(0x2b4f7c16));
    assert_eq!(classify_udp(&RTCP_SR_SDES), MediaKind::Rtcp);
    // A trailing SRTCP E-flag + index + tag (RFC 3711 §3.4) is ignored even though its
    // first byte looks like version 2; a first packet that overruns is not RTCP.
    let mut srtcp = RTCP_SR_SDES.to_vec();
    srtcp.extend_from_slice(&[0x80, 0, 0, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
    assert_eq!(rtcp::parse_compound(&srtcp).map(|p| p.len()), Some(2));
    assert_eq!(rtcp::parse_compound(&RTCP_SR_SDES[..40]), None);
    assert_eq!(classify_udp(&RTCP_SR_SDES[..40]), MediaKind::Unknown);
}

#[test]
fn rtcp_rr_bye_app_feedback_xr() {
    let data = [
        0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 7, // RR, no blocks
        0x81, 0xcb, 0x00, 0x03, 0, 0, 0, 7, 4, b'g', b'o', b'n', b'e', 0, 0,
        0, // BYE + reason
        0x81, 0xcc, 0x00, 0x02, 0, 0, 0, 7, b'Q', b'O', b'S', b'!', // APP subtype 1, no data
        0x81, 0xcd, 0x00, 0x03, 0, 0, 0, 7, 0, 0, 0, 8, 0, 5, 0, 0, // RTPFB NACK
        0x81, 0xce, 0x00, 0x02, 0, 0, 0, 7, 0, 0, 0, 8, // PSFB PLI
        0x80, 0xcf, 0x00, 0x01, 0, 0, 0, 7, // XR no blocks
    ];
    let p = rtcp::parse_compound(&data).expect("rtcp");
    assert_eq!(p.len(), 6);
    assert!(matches!(&p[0], RtcpPacket::ReceiverReport(r) if r.ssrc == 7 && r.reports.is_empty()));
    assert!(
        matches!(&p[1], RtcpPacket::Bye(b) if b.ssrcs == [7] && b.reason == Some(&b"gone"[..]))
    );
    assert!(matches!(&p[2], RtcpPacket::App(a) if a.subtype == 1 && &a.name == b"QOS!"));
    assert!(
        matches!(&p[3], RtcpPacket::TransportFeedback(f) if f.fmt == 1 && f.media_ssrc == 8 && f.fci.len() == 4)
    );
    assert!(matches!(&p[4], RtcpPacket::PayloadFeedback(f) if f.fmt == 1 && f.fci.is_empty()));
    assert!(matches!(&p[5], RtcpPacket::ExtendedReport(x) if x.ssrc == 7));
    assert!(p.iter().all(|x| x.sender_ssrc() == Some(7)));
    // RR claiming a block it does not carry is malformed, with its reason.
    let short = [0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 7];
    let p = rtcp::parse_compound(&short).expect("rtcp");
    assert!(matches!(
        p[0],
        RtcpPacket::Malformed {
            packet_type: 201,
            error: rtcp::RtcpError::ReportsTruncated,
        }
    ));
}

#[test]
fn stun_rfc5769_ipv4_response() {
    let m = stun::parse(&STUN_V4).expect("stun");
    assert_eq!(
        (m.class, m.method, m.length),
        (StunClass::SuccessResponse, StunMethod::BINDING, 60)
    );
    assert_eq!(
        m.transaction_id,
        [0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae]
    );
    assert_eq!(m.attributes.len(), 4);
    assert_eq!(m.software(), Some("test vector"));
    assert_eq!(
        m.xor_mapped_address(),
        Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            32853
        ))
    );
    assert_eq!(m.mapped_address(), None);
    assert_eq!(classify_udp(&STUN_V4), MediaKind::Stun);
    // Wrong length field is not STUN for the classifier.
    assert_eq!(classify_udp(&STUN_V4[..76]), MediaKind::Unknown);
}

#[test]
fn stun_rfc5769_ipv6_response() {
    let m = stun::parse(&STUN_V6).expect("stun");
    let ip: Ipv6Addr = "2001:db8:1234:5678:11:2233:4455:6677".parse().expect("ip");
    assert_eq!(
        m.xor_mapped_address(),
        Some(SocketAddr::new(IpAddr::V6(ip), 32853))
    );
    assert_eq!(classify_udp(&STUN_V6), MediaKind::Stun);
}

#[test]
fn stun_class_method_and_mapped_address() {
    // Error response to Allocate (0x0113) with ERROR-CODE 401 and MAPPED-ADDRESS.
    let msg = [
        0x01, 0x13, 0x00, 0x14, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x04, 0x01, // ERROR-CODE 401
        0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x13, 0x88, 10, 0, 0, 1, // MAPPED 10.0.0.1:5000
    ];
    let m = stun::parse(&msg).expect("stun");
    assert_eq!(
        (m.class, m.method),
        (StunClass::ErrorResponse, StunMethod::ALLOCATE)
    );
    assert_eq!(m.error_code(), Some(401));
    assert_eq!(
        m.mapped_address(),
        Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            5000
        ))
    );
    // Data indication 0x0017.
    let mut ind = msg;
    ind[0] = 0x00;
    ind[1] = 0x17;
    let m = stun::parse(&ind).expect("stun");
    assert_eq!(
        (m.class, m.method),
        (StunClass::Indication, StunMethod::DATA)
    );
    // No cookie, top bits set, length not multiple of 4.
    let mut bad = msg;
    bad[4] = 0;
    assert_eq!(stun::parse(&bad), None);
    let mut bad = msg;
    bad[0] = 0x41;
    assert_eq!(stun::parse(&bad), None);
    let mut bad = msg;
    bad[3] = 0x13;
    assert_eq!(stun::parse(&bad), None);
}

#[test]
fn classify_kinds() {
    let mut pkt = RTP_PCMU.to_vec();
    pkt.extend_from_slice(&[0xd5; 160]);
    assert!(matches!(classify_udp(&pkt), MediaKind::Rtp(h) if h.sequence == 23838));
    // DTLS 1.2 handshake record.
    let mut dtls = vec![0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
    dtls.extend_from_slice(&[1; 16]);
    assert_eq!(classify_udp(&dtls), MediaKind::Dtls);
    // Record length beyond the datagram.
    assert_eq!(classify_udp(&dtls[..20]), MediaKind::Unknown);
    // Short text starting with a digit is not a DTLS 1.3 record.
    assert_eq!(classify_udp(b"200 OK"), MediaKind::Unknown);
    assert_eq!(
        classify_udp(&[0x16, 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        MediaKind::Unknown
    );
    // ZRTP Hello (RFC 6189 §5).
    let zrtp = [0x10, 0x00, 0x00, 0x01, b'Z', b'R', b'T', b'P', 0, 0, 0, 1];
    assert_eq!(classify_udp(&zrtp), MediaKind::Zrtp);
    // RTP header with PT 72 (RFC 5761 §4 conflict range) is not RTP.
    let mut conflict = pkt.clone();
    conflict[1] = 72;
    assert_eq!(classify_udp(&conflict), MediaKind::Unknown);
    assert_eq!(classify_udp(b"SIP/2.0 200 OK\r\n"), MediaKind::Unknown);
    assert_eq!(classify_udp(b""), MediaKind::Unknown);
    assert_eq!(classify_udp(&[0x80, 0x00]), MediaKind::Unknown);
}

fn hdr(seq: u16, ts: u32) -> RtpHeader {
    let mut p = [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    rtp::parse(&p).expect("rtp")
}

fn ms(n: u64) -> Timestamp {
    Timestamp(1_000_000_000 + n * 1_000_000)
}

fn feed(seqs: &[u16]) -> StreamStats {
    let mut s = StreamStats::new();
    for (i, &seq) in seqs.iter().enumerate() {
        s.update(&hdr(seq, i as u32 * 160), ms(i as u64 * 20), 8000);
    }
    s
}

#[test]
fn loss_with_sequence_wrap() {
    // 65533 is probation, 65534 validates (base); then 65535, 0, [1 lost], 2, 3.
    let s = feed(&[65533, 65534, 65535, 0, 2, 3]);
    assert_eq!(s.packets(), 6);
    assert_eq!(s.extended_max_seq(), 65536 + 3);
    assert_eq!((s.expected(), s.received(), s.lost()), (6, 5, 1));
    assert_eq!((s.duplicates(), s.out_of_order()), (0, 0));
}

#[test]
fn reorder_and_duplicates() {
    let s = feed(&[10, 11, 13, 12, 14]);
    assert_eq!(
        (s.expected(), s.received(), s.lost(), s.out_of_order()),
        (4, 4, 0, 1)
    );
    // RFC 3550 A.3: duplicates count as received, so loss goes negative.
    let s = feed(&[10, 11, 12, 12, 13, 11]);
    assert_eq!((s.expected(), s.received(), s.lost()), (3, 5, -2));
    assert_eq!((s.duplicates(), s.out_of_order()), (2, 0));
}

#[test]
fn big_jump_restarts_and_keeps_totals() {
    let s = feed(&[1, 2, 3, 10000, 10001, 10002]);
    assert_eq!(s.restarts(), 1);
    assert_eq!((s.expected(), s.received(), s.lost()), (4, 4, 0));
    assert_eq!(s.packets(), 6);
    // A single stray packet far away is ignored, not a restart.
    let s = feed(&[1, 2, 3, 40000, 4, 5]);
    assert_eq!(
        (s.restarts(), s.expected(), s.received(), s.lost()),
        (0, 4, 4, 0)
    );
}

#[test]
fn jitter_hand_computed() {
    // 8 kHz, 20 ms packets; packet 2 arrives 10 ms (80 units) late.
    // Transit deltas |D|: 0, 80, 80, 0 -> J = 0, 5, 9.6875, 9.08203125.
    let mut s = StreamStats::new();
    let arrivals = [0, 20, 50, 60, 80];
    for (i, &t) in arrivals.iter().enumerate() {
        s.update(&hdr(100 + i as u16, 1000 + i as u32 * 160), ms(t), 8000);
    }
    assert!((s.jitter() - 9.08203125).abs() < 1e-9, "{}", s.jitter());
    assert!((s.jitter_ms(8000) - 1.13525390625).abs() < 1e-9);
    assert_eq!(s.jitter_ms(0), 0.0);
    assert_eq!(s.max_delta_ns(), 30_000_000);
    assert_eq!(s.first_seen(), Some(ms(0)));
    assert_eq!(s.last_seen(), Some(ms(80)));
    assert_eq!(s.bytes(), 5 * 12);
    assert_eq!(s.payload_types(), vec![0]);
}

#[test]
fn jitter_zero_across_timestamp_wrap() {
    let mut s = StreamStats::new();
    for i in 0..10u32 {
        let ts = (u32::MAX - 500).wrapping_add(i * 160);
        s.update(&hdr(i as u16, ts), ms(u64::from(i) * 20), 8000);
    }
    assert_eq!(s.jitter(), 0.0);
    assert_eq!((s.expected(), s.lost()), (9, 0));
}

proptest! {
    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let kind = classify_udp(&data);
        if let Some(h) = rtp::parse(&data) {
            prop_assert!(h.payload_offset + h.payload_len <= data.len());
            prop_assert_eq!(h.csrcs(&data).count(), usize::from(h.csrc_count));
        }
        if let Some(pkts) = rtcp::parse_compound(&data) {
            for p in &pkts {
                let _ = (p.sender_ssrc(), p.report_blocks());
                if let RtcpPacket::ExtendedReport(x) = p {
                    // A packet that parsed as XR has only readable blocks.
                    prop_assert_eq!(x.report_blocks().1, None);
                }
            }
        }
        let _ = rtcp::xr::parse_blocks(&data);
        if let Some(m) = stun::parse(&data) {
            let _ = (m.xor_mapped_address(), m.mapped_address(), m.software(), m.username(), m.error_code());
        }
        if kind == MediaKind::Stun { prop_assert!(stun::parse(&data).is_some()); }
        if kind == MediaKind::Rtcp { prop_assert!(rtcp::parse_compound(&data).is_some()); }
    }

    #[test]
    fn rtp_like_never_panics(mut data in proptest::collection::vec(any::<u8>(), 12..128)) {
        data[0] = 0x80 | (data[0] & 0x3f);
        let _ = classify_udp(&data);
        let _ = rtp::parse(&data);
    }

    #[test]
    fn stats_invariants(steps in proptest::collection::vec((any::<u16>(), any::<u32>(), 0u64..1_000_000_000), 0..200)) {
        let mut s = StreamStats::new();
        let mut t = 0u64;
        for (seq, ts, dt) in steps.iter().copied() {
            t += dt;
            s.update(&hdr(seq, ts), Timestamp(t), 8000);
        }
        prop_assert_eq!(s.packets(), steps.len() as u64);
        prop_assert!(s.received() <= s.packets());
        prop_assert!(s.jitter() >= 0.0 && s.jitter().is_finite());
    }

    #[test]
    fn one_drop_is_one_loss(start in any::<u16>(), n in 4usize..300, k in 2usize..1000) {
        // Sequential stream from any start (so across the 65535 wrap), packet k dropped.
        let k = 2 + k % (n - 3);
        let mut s = StreamStats::new();
        for i in (0..n).filter(|&i| i != k) {
            s.update(&hdr(start.wrapping_add(i as u16), i as u32 * 160), ms(i as u64 * 20), 8000);
        }
        // The first packet is probation only (A.1): counting starts at the second.
        prop_assert_eq!(s.expected(), n as u64 - 1);
        prop_assert_eq!(s.received(), n as u64 - 2);
        prop_assert_eq!(s.lost(), 1);
        prop_assert_eq!(s.jitter(), 0.0);
    }
}

// Wireshark's RTP Stream Analysis figures (stats::Analysis). Each sequence below was also
// written to a pcap and run through `tshark -z rtp,streams` (4.0.17), which printed the same
// figures to its three decimals.

/// An RTP header with payload type `pt` and the M bit `marker`.
fn hdr_pt(seq: u16, ts: u32, pt: u8, marker: bool) -> RtpHeader {
    let mut p = [0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    if marker {
        p[1] |= 0x80;
    }
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    rtp::parse(&p).expect("rtp")
}

/// Feeds (arrival ms, seq, timestamp) packets of PCMU (8 kHz).
fn feed_at(pkts: &[(u64, u16, u32)]) -> StreamStats {
    let mut s = StreamStats::new();
    for &(t, seq, ts) in pkts {
        s.update(&hdr(seq, ts), ms(t), 8000);
    }
    s
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn wireshark_jitter_hand_computed() {
    // The packets of jitter_hand_computed, in ms: deltas 20, 30, 10, 20 against a nominal
    // 20, so D = 0, 10, 10, 0 and J = 0, 0.625, 1.2109375, 1.13525390625.
    let s = feed_at(&[
        (0, 100, 1000),
        (20, 101, 1160),
        (50, 102, 1320),
        (60, 103, 1480),
        (80, 104, 1640),
    ]);
    // No packet skipped: the running estimate ends where RFC 3550's does.
    assert!(near(s.jitter_ms(8000), 1.13525390625));
    assert!(near(s.jitter_max_ms(), 1.2109375));
    assert_eq!(s.jitter_min_ms(), Some(0.0));
    // The mean of the running estimate over the 4 packets after the first.
    let mean = (0.0 + 0.625 + 1.2109375 + 1.13525390625) / 4.0;
    assert!(near(s.jitter_mean_ms(), mean), "{}", s.jitter_mean_ms());
    assert_eq!(s.delta_min_ms(), Some(10.0));
    assert!(near(s.delta_mean_ms(), 20.0));
    assert!(near(s.delta_max_ms(), 30.0));
    assert_eq!(s.sequence_errors(), 0);
}

#[test]
fn wireshark_reordered_packet_is_regular() {
    // 3 arrives 1 ms after 4. Its timestamp is after the first packet's, so Wireshark 4.0
    // takes it as in time and regular: delta 1 ms, nominal step -20 ms, D = 21; then 5:
    // delta 19, nominal step +40 (from 3), D = 21. tshark: 1.000 20.000 40.000 / 0.000
    // 0.964 2.543.
    let s = feed_at(&[
        (0, 1, 160),
        (20, 2, 320),
        (60, 4, 640),
        (61, 3, 480),
        (80, 5, 800),
    ]);
    assert_eq!(s.delta_min_ms(), Some(1.0));
    assert!(near(s.delta_mean_ms(), 20.0));
    assert!(near(s.delta_max_ms(), 40.0));
    assert!(near(s.jitter_max_ms(), 2.54296875));
    assert!(near(s.jitter_mean_ms(), 0.9638671875));
    // The gap to 4 and the late 3, each once; A.1 sees one late packet, no loss.
    assert_eq!(s.sequence_errors(), 2);
    assert_eq!((s.out_of_order(), s.duplicates(), s.lost()), (1, 0, 0));
}

#[test]
fn wireshark_duplicate_and_gap() {
    // 2 again 1 ms later (same timestamp: D = 1), then 3 and 4 lost. tshark: 1.000 25.000
    // 59.000 / 0.000 0.074 0.121, lost 1 (6 expected, 5 packets).
    let s = feed_at(&[
        (0, 1, 160),
        (20, 2, 320),
        (21, 2, 320),
        (80, 5, 800),
        (100, 6, 960),
    ]);
    assert_eq!(s.delta_min_ms(), Some(1.0));
    assert!(near(s.delta_mean_ms(), 25.0));
    assert!(near(s.delta_max_ms(), 59.0));
    assert!(near(s.jitter_max_ms(), 0.12109375));
    assert!((s.jitter_mean_ms() - 0.0742797851).abs() < 1e-9);
    // The repeat and the gap (once, for two packets).
    assert_eq!(s.sequence_errors(), 2);
    assert_eq!((s.duplicates(), s.lost()), (1, 1));
}

#[test]
fn wireshark_packet_before_the_first_is_not_in_time() {
    // 1 arrives after 2: its timestamp is before the first packet's, so it moves no
    // reference and is not regular, but it still counts in the running mean's n: the mean
    // delta is (0 + 20)/2 then (10*2 + 20)/3 = 13.333 where every regular delta is 20, as
    // tshark prints it (20.000 13.333 20.000).
    let s = feed_at(&[(0, 2, 320), (1, 1, 160), (20, 3, 480), (40, 4, 640)]);
    assert_eq!(s.delta_min_ms(), Some(20.0));
    assert!(near(s.delta_max_ms(), 20.0));
    assert!(near(s.delta_mean_ms(), 40.0 / 3.0));
    assert!(near(s.jitter_max_ms(), 0.0));
    assert_eq!(s.sequence_errors(), 1);
}

#[test]
fn wireshark_marker_comfort_noise_and_events_are_not_regular() {
    // PCMU, then an RFC 4733 event (PT 101, no clock rate: its timestamp stands still),
    // then a talk spurt with the M bit, comfort noise (PT 13) and speech again.
    let pkts: [(u64, u16, u32, u8, bool); 9] = [
        (0, 1, 0, 0, false),
        (20, 2, 160, 0, false),
        (40, 3, 320, 101, false),
        (60, 4, 320, 101, false),
        (80, 5, 320, 101, false),
        (100, 6, 800, 0, true),
        (120, 7, 960, 13, false),
        (140, 8, 1120, 0, false),
        (160, 9, 1280, 0, false),
    ];
    let mut s = StreamStats::new();
    for (t, seq, ts, pt, m) in pkts {
        let rate = if pt == 101 { 0 } else { 8000 };
        s.update_rates(&hdr_pt(seq, ts, pt, m), ms(t), 8000, rate);
    }
    // The event has no clock rate: 6 is measured against 2, the last packet with one
    // (nominal 100 - 20 = 80 ms in 20 ms: D = 60, J = 3.75). 6 is marked, 7 is comfort
    // noise, 8 follows it: only 9 counts, J = 3.75 * (15/16)^3.
    let j9 = 3.75 * (15.0f64 / 16.0).powi(3);
    assert!(near(s.jitter_max_ms(), j9), "{}", s.jitter_max_ms());
    assert_eq!(s.jitter_min_ms(), Some(0.0));
    // Wireshark's running mean divides by every packet before: 9 is the 8th, so the mean
    // of the two jitter samples (0 and j9) comes out as j9 / 8.
    assert!(near(s.jitter_mean_ms(), j9 / 8.0));
    assert!(near(s.delta_max_ms(), 20.0));
    assert_eq!(s.max_delta_ns(), 20_000_000);
    assert_eq!(s.sequence_errors(), 0);
}

#[test]
fn wireshark_clock_in_whole_khz() {
    // L16 mono at 44100 Hz (PT 11): 20 ms is 882 units, which Wireshark reads with 44 kHz
    // as 20.045 ms; arriving exactly 20 ms apart gives D = 882/44 - 20.
    let mut s = StreamStats::new();
    for i in 0..2u16 {
        let h = hdr_pt(i, u32::from(i) * 882, 11, false);
        s.update(&h, ms(u64::from(i) * 20), 44100);
    }
    assert!(near(s.jitter_max_ms(), (882.0 / 44.0 - 20.0) / 16.0));
    // Below 1 kHz there is no whole kHz: no jitter, as for an unknown rate.
    let mut s = StreamStats::new();
    for i in 0..3u16 {
        s.update(
            &hdr(i, u32::from(i) * 10),
            ms(u64::from(i) * 20 + 3 * u64::from(i % 2)),
            500,
        );
    }
    assert_eq!((s.jitter_max_ms(), s.jitter_min_ms()), (0.0, None));
    assert_eq!(s.delta_max_ms(), 23.0);
}

#[test]
fn analysis_clock_rates() {
    assert_eq!(analysis_clock_rate(0, None), 8000);
    assert_eq!(analysis_clock_rate(9, None), 8000); // G722: 8000 Hz RTP clock
    assert_eq!(analysis_clock_rate(11, None), 44100);
    assert_eq!(analysis_clock_rate(19, None), 8000); // old comfort noise
    assert_eq!(analysis_clock_rate(34, None), 90000);
    assert_eq!(analysis_clock_rate(35, Some(("opus", 48000))), 0); // static range
    assert_eq!(analysis_clock_rate(111, None), 0);
    assert_eq!(analysis_clock_rate(111, Some(("opus", 48000))), 48000);
    assert_eq!(analysis_clock_rate(101, Some(("telephone-event", 8000))), 0);
    assert_eq!(
        analysis_clock_rate(101, Some(("TELEPHONE-EVENT", 16000))),
        0
    );
}

#[test]
fn one_packet_has_no_wireshark_figures() {
    let s = feed_at(&[(0, 1, 160)]);
    assert_eq!((s.delta_min_ms(), s.jitter_min_ms()), (None, None));
    assert_eq!((s.delta_mean_ms(), s.delta_max_ms()), (0.0, 0.0));
    assert_eq!((s.jitter_mean_ms(), s.jitter_max_ms()), (0.0, 0.0));
}

proptest! {
    /// Whatever the packets (times going back, any sequence, timestamp and type), the
    /// Wireshark figures stay finite and ordered.
    #[test]
    fn wireshark_figures_stay_finite(
        pkts in proptest::collection::vec(
            (0u64..10_000_000_000, any::<u16>(), any::<u32>(), 0u8..128, any::<bool>(),
             prop_oneof![Just(0u32), Just(500), Just(8000), Just(44100), Just(90000), any::<u32>()]),
            0..64)
    ) {
        let mut s = StreamStats::new();
        for (t, seq, ts, pt, m, rate) in pkts {
            s.update_rates(&hdr_pt(seq, ts, pt, m), Timestamp(t), 8000, rate);
        }
        let figures = [s.delta_mean_ms(), s.delta_max_ms(), s.jitter_mean_ms(), s.jitter_max_ms()];
        prop_assert!(figures.iter().all(|x| x.is_finite()));
        if let Some(min) = s.jitter_min_ms() {
            prop_assert!(min.is_finite() && min >= 0.0 && min <= s.jitter_max_ms());
        }
        if let Some(min) = s.delta_min_ms() {
            prop_assert!(min.is_finite());
        }
        prop_assert!(s.sequence_errors() < s.packets().max(1));
    }
}

#[test]
fn rtcp_round_trip() {
    assert_eq!(rtcp::ntp_middle(0xe54d_1c5a_8f5c_28f5), 0x1c5a_8f5c);
    // SR seen at 1 s, its echo at 1.3 s after a stated 0.1 s (6553.6 units): 200 ms.
    let rtt = rtcp::round_trip_ns(1_000_000_000, 1_300_000_000, 6554).expect("rtt");
    assert_eq!(rtt, 300_000_000 - 6554 * 1_000_000_000 / 65_536);
    // An echo arriving before the SR plus its delay: nothing to measure.
    assert_eq!(
        rtcp::round_trip_ns(1_000_000_000, 1_050_000_000, 6554),
        None
    );
    assert_eq!(rtcp::round_trip_ns(2_000_000_000, 1_000_000_000, 0), None);
}
