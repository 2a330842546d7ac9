//! Byte-literal tests of the RTCP parser: XR blocks laid out as RFC 3611 §4 draws them,
//! reduced-size packets (RFC 5506), a compound SR+SDES+BYE, and truncated or garbage
//! input counted as malformed with its reason.

use super::endpoint::{units_to_ms, EndpointReports};
use super::xr::{self, XrBlock, XrError};
use super::*;

/// XR (PT 207) from SSRC 0x01020304 with one VoIP Metrics block (RFC 3611 §4.7) about
/// SSRC 0xaabbccdd.
const XR_VOIP: [u8; 44] = [
    0x80, 0xcf, 0x00, 0x0a, // V=2, PT=207, length 10 (44 bytes)
    0x01, 0x02, 0x03, 0x04, // sender SSRC
    0x07, 0x00, 0x00, 0x08, // BT=7, reserved, block length 8 (36 bytes)
    0xaa, 0xbb, 0xcc, 0xdd, // SSRC of source
    0x0d, 0x03, 0x40, 0x02, // loss rate 13/256, discard 3/256, burst 64/256, gap 2/256
    0x00, 0x78, 0x13, 0x88, // burst duration 120 ms, gap duration 5000 ms
    0x00, 0x2a, 0x00, 0x50, // round trip delay 42 ms, end system delay 80 ms
    0xe2, 0xb5, 0x7f, 0x10, // signal -30 dBm, noise -75 dBm, RERL unavailable, Gmin 16
    0x57, 0x7f, 0x29, 0x7f, // R 87, ext R unavailable, MOS-LQ 4.1, MOS-CQ unavailable
    0x57, 0x00, 0x00, 0x3c, // RX config 0x57, reserved, JB nominal 60 ms
    0x00, 0x78, 0x00, 0xc8, // JB maximum 120 ms, JB abs max 200 ms
];

#[test]
fn xr_voip_metrics_rfc3611_4_7_layout() {
    let p = parse_compound(&XR_VOIP).expect("rtcp");
    assert_eq!(p.len(), 1);
    let RtcpPacket::ExtendedReport(x) = &p[0] else {
        panic!("not XR: {p:?}")
    };
    assert_eq!(x.ssrc, 0x0102_0304);
    let (blocks, err) = x.report_blocks();
    assert_eq!(err, None);
    let [XrBlock::VoipMetrics(m)] = blocks.as_slice() else {
        panic!("{blocks:?}")
    };
    assert_eq!(m.ssrc, 0xaabb_ccdd);
    assert_eq!(
        (m.loss_rate, m.discard_rate, m.burst_density, m.gap_density),
        (13, 3, 64, 2)
    );
    assert!((m.loss_pct() - 5.078).abs() < 0.001);
    assert_eq!((m.burst_duration, m.gap_duration), (120, 5000));
    assert_eq!((m.round_trip_delay, m.end_system_delay), (42, 80));
    assert_eq!(
        (m.signal_dbm(), m.noise_dbm(), m.rerl_db()),
        (Some(-30), Some(-75), None)
    );
    assert_eq!(m.gmin, 16);
    assert_eq!((m.r(), m.ext_r()), (Some(87), None));
    assert_eq!((m.mos_lq(), m.mos_cq()), (Some(4.1), None));
    assert_eq!(m.rx_config, 0x57);
    assert_eq!((m.jb_nominal, m.jb_maximum, m.jb_abs_max), (60, 120, 200));
    // Reduced-size: a lone XR does not start with SR/RR (RFC 5506 §3.1), and the
    // classifier takes it for RTCP.
    assert!(!p[0].is_report());
    assert_eq!(
        crate::media::classify_udp(&XR_VOIP),
        crate::media::MediaKind::Rtcp
    );
}

#[test]
fn xr_rrtr_dlrr_summary_and_loss_rle() {
    let data = [
        0x80, 0xcf, 0x00, 0x19, 0, 0, 0, 9, // XR, length 25 (104 bytes), sender 9
        // §4.4 RRTR: BT 4, length 2, NTP
        0x04, 0x00, 0x00, 0x02, 0xe5, 0x4d, 0x1c, 0x5a, 0x8f, 0x5c, 0x28, 0xf5,
        // §4.5 DLRR: BT 5, length 3, one sub-block
        0x05, 0x00, 0x00, 0x03, 0, 0, 0, 7, 0x1c, 0x5a, 0x8f, 0x5c, 0x00, 0x01, 0x00, 0x00,
        // §4.6 Statistics Summary: BT 6, L D J set, length 9
        0x06, 0xe0, 0x00, 0x09, 0, 0, 0, 7, 0x00, 0x10, 0x00, 0x64, // seq 16..100
        0, 0, 0, 3, 0, 0, 0, 1, // lost 3, dup 1
        0, 0, 0, 8, 0, 0, 0, 80, 0, 0, 0, 24, 0, 0, 0, 10, // jitter min/max/mean/dev
        0, 0, 0, 0, // TTL (not flagged)
        // §4.1 Loss RLE: BT 1, T=0, length 4: seq 0..40, run of 20 received, bit
        // vector with 2 zeros, run of 5 lost, null chunk
        0x01, 0x00, 0x00, 0x04, 0, 0, 0, 7, 0x00, 0x00, 0x00, 0x28, //
        0x40, 0x14, 0xff, 0xf3, 0x00, 0x05, 0x00, 0x00, // unknown BT 42, length 1
        0x2a, 0x01, 0x00, 0x01, 1, 2, 3, 4,
    ];
    let p = parse_compound(&data).expect("rtcp");
    let RtcpPacket::ExtendedReport(x) = &p[0] else {
        panic!("{p:?}")
    };
    let (b, err) = x.report_blocks();
    assert_eq!(err, None);
    assert_eq!(b.len(), 5);
    assert_eq!(
        b[0],
        XrBlock::ReceiverReferenceTime {
            ntp: 0xe54d_1c5a_8f5c_28f5
        }
    );
    assert_eq!(
        b[1],
        XrBlock::Dlrr(vec![xr::DlrrItem {
            ssrc: 7,
            lrr: 0x1c5a_8f5c,
            dlrr: 0x10000
        }])
    );
    let XrBlock::StatisticsSummary(s) = &b[2] else {
        panic!("{:?}", b[2])
    };
    assert_eq!((s.ssrc, s.begin_seq, s.end_seq), (7, 16, 100));
    assert_eq!((s.lost_packets, s.dup_packets), (Some(3), Some(1)));
    assert_eq!(s.jitter, Some([8, 80, 24, 10]));
    let XrBlock::LossRle(l) = &b[3] else {
        panic!("{:?}", b[3])
    };
    assert_eq!((l.ssrc, l.begin_seq, l.end_seq, l.thinning), (7, 0, 40, 0));
    // 2 zero bits in 0x7ff3 + 5 lost in the run.
    assert_eq!(l.lost(), 7);
    assert!(matches!(
        b[4],
        XrBlock::Other {
            block_type: 42,
            type_specific: 1,
            body: [1, 2, 3, 4]
        }
    ));
}

#[test]
fn compound_sr_sdes_bye() {
    let data = [
        // SR, one block
        0x81, 0xc8, 0x00, 0x0c, 0x2b, 0x4f, 0x7c, 0x16, // SSRC
        0xe5, 0x4d, 0x1c, 0x5a, 0x8f, 0x5c, 0x28, 0xf5, // NTP
        0x00, 0x02, 0x71, 0x00, 0, 0, 0, 50, 0, 0, 0x1f, 0x40, // RTP ts, 50 pkts, 8000 B
        0x11, 0x22, 0x33, 0x44, 0x20, 0x00, 0x00, 0x07, // block: 32/256 lost, 7 cumul.
        0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0xa0, // highest seq, jitter 160
        0x4d, 0x1c, 0x5a, 0x8f, 0x00, 0x01, 0x00, 0x00, // LSR, DLSR
        // SDES: CNAME "a@b", NAME "Al", TOOL "x\0" (a C string), end, pad
        0x81, 0xca, 0x00, 0x05, 0x2b, 0x4f, 0x7c, 0x16, 0x01, 0x03, b'a', b'@', b'b', 0x02, 0x02,
        b'A', b'l', 0x06, 0x02, b'x', 0, 0, 0, 0, // BYE with reason
        0x81, 0xcb, 0x00, 0x02, 0x2b, 0x4f, 0x7c, 0x16, 0x03, b'b', b'y', b'e',
    ];
    let p = parse_compound(&data).expect("rtcp");
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p[0].is_report());
    assert_eq!(first_error(&p), None);
    let mut e = EndpointReports::default();
    let RtcpPacket::SenderReport(sr) = &p[0] else {
        panic!()
    };
    e.on_sender(sr);
    for b in p[0].report_blocks() {
        e.on_block(b);
    }
    let RtcpPacket::SourceDescription(c) = &p[1] else {
        panic!("{:?}", p[1])
    };
    e.on_sdes(&c[0]);
    assert!(matches!(&p[2], RtcpPacket::Bye(b) if b.reason == Some(&b"bye"[..])));
    assert_eq!((e.sender_packets, e.sender_octets), (Some(50), Some(8000)));
    assert_eq!((e.reports, e.cumulative_lost), (1, Some(7)));
    assert_eq!(e.fraction_lost_pct(), Some(12.5));
    assert_eq!(e.jitter_last.and_then(|j| units_to_ms(j, 8000)), Some(20.0));
    assert_eq!(
        (e.cname.as_deref(), e.name.as_deref(), e.tool.as_deref()),
        (Some("a@b"), Some("Al"), Some("x"))
    );
    // A later block with less loss: last follows it, max keeps the worst.
    e.on_block(&ReportBlock {
        fraction_lost: 0,
        jitter: 8,
        ..p[0].report_blocks()[0]
    });
    assert_eq!(
        (e.fraction_lost_pct(), e.fraction_lost_max_pct()),
        (Some(0.0), Some(12.5))
    );
    assert_eq!((e.jitter_last, e.jitter_max), (Some(8), Some(160)));
}

#[test]
fn reduced_size_feedback_alone() {
    // RFC 5506 §3: a PSFB PLI on its own, no SR/RR first.
    let pli = [0x81, 0xce, 0x00, 0x02, 0, 0, 0, 7, 0, 0, 0, 8];
    let p = parse_compound(&pli).expect("rtcp");
    assert_eq!(p.len(), 1);
    assert!(!p[0].is_report());
    assert_eq!(p[0].sender_ssrc(), Some(7));
}

#[test]
fn truncated_and_garbage_are_malformed_with_a_reason() {
    // SR announcing 2 blocks, carrying none.
    let sr = [
        0x82, 0xc8, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ];
    let p = parse_compound(&sr).expect("rtcp");
    assert_eq!(first_error(&p), Some(RtcpError::ReportsTruncated));
    assert_eq!(p[0].sender_ssrc(), None);
    // XR whose block claims 8 words in a 2-word packet.
    let mut xr = XR_VOIP;
    xr[2..4].copy_from_slice(&[0x00, 0x03]);
    let p = parse_compound(&xr[..16]).expect("rtcp");
    assert_eq!(
        first_error(&p),
        Some(RtcpError::XrBlock(XrError::BlockOverrun))
    );
    assert_eq!(
        first_error(&p).map(RtcpError::as_str),
        Some("xr block overruns packet")
    );
    // VoIP Metrics block too short for its layout (length 1).
    let short = [
        0x80, 0xcf, 0x00, 0x03, 0, 0, 0, 1, 0x07, 0, 0x00, 0x01, 0, 0, 0, 2,
    ];
    let p = parse_compound(&short).expect("rtcp");
    assert_eq!(
        first_error(&p),
        Some(RtcpError::XrBlock(XrError::ShortBlock))
    );
    // XR with 2 stray bytes: no room for a block header.
    let (b, e) = xr::parse_blocks(&[1, 2]);
    assert!(b.is_empty());
    assert_eq!(e, Some(XrError::TruncatedHeader));
    // SDES item running past the packet; BYE shorter than its count.
    let sdes = [0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, b'a', 0];
    assert_eq!(
        first_error(&parse_compound(&sdes).expect("rtcp")),
        Some(RtcpError::SdesTruncated)
    );
    let bye = [0x83, 0xcb, 0x00, 0x01, 0, 0, 0, 1];
    assert_eq!(
        first_error(&parse_compound(&bye).expect("rtcp")),
        Some(RtcpError::ByeTruncated)
    );
    // Not RTCP at all.
    assert_eq!(parse_compound(&[0x45, 0, 0, 0, 1, 2, 3, 4]), None);
    assert_eq!(parse_compound(&[]), None);
    // Every prefix of every literal: no panic.
    for d in [&XR_VOIP[..], &sr[..], &short[..], &sdes[..]] {
        for n in 0..=d.len() {
            if let Some(p) = parse_compound(&d[..n]) {
                for x in &p {
                    if let RtcpPacket::ExtendedReport(x) = x {
                        let _ = x.report_blocks();
                    }
                }
            }
        }
    }
}

#[test]
fn loss_rle_never_counts_past_its_range() {
    // Range of 3 packets, a run of 16383 lost claimed.
    let l = xr::LossRle {
        ssrc: 1,
        thinning: 0,
        begin_seq: 10,
        end_seq: 13,
        chunks: &[0x3f, 0xff],
    };
    assert_eq!(l.lost(), 3);
}
