//! Fuzz RTCP (`siplens::media::rtcp`): compound and reduced-size packets, every XR
//! report block (RFC 3611 §4), and the per-stream endpoint reports they update, first as
//! parser calls, then through the engine: the input's chunks (split at 0xfe) become RTCP
//! datagrams on the RTCP ports beside two RTP streams whose SSRCs the first 8 bytes
//! give, in both directions, so SR/RR blocks, SDES, XR VoIP metrics, RRTR/DLRR round
//! trips reach those streams; then the JSON report is built. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::media::rtcp::{self, endpoint::EndpointReports, xr::XrBlock, RtcpPacket};

/// An IPv4/UDP packet from 10.0.0.`a`:`sport` to 10.0.0.`b`:`dport`.
fn udp(a: u8, b: u8, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let ulen = (8 + payload.len()).min(usize::from(u16::MAX) - 20) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&(ulen + 20).to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, a, 10, 0, 0, b]);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&ulen.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload.get(..usize::from(ulen) - 8).unwrap_or(payload));
    p
}

fn parse(data: &[u8]) {
    let Some(packets) = rtcp::parse_compound(data) else {
        return;
    };
    let _ = rtcp::first_error(&packets);
    let mut e = EndpointReports::default();
    for p in &packets {
        let _ = (p.sender_ssrc(), p.is_report());
        for b in p.report_blocks() {
            e.on_block(b);
        }
        match p {
            RtcpPacket::SenderReport(sr) => e.on_sender(sr),
            RtcpPacket::SourceDescription(chunks) => {
                for c in chunks {
                    e.on_sdes(c);
                    let _ = c.cname();
                }
            }
            RtcpPacket::ExtendedReport(x) => {
                for b in x.report_blocks().0 {
                    match b {
                        XrBlock::VoipMetrics(m) => {
                            e.on_voip_metrics(&m);
                            let _ = (m.loss_pct(), m.mos_lq(), m.mos_cq(), m.r(), m.signal_dbm());
                        }
                        XrBlock::StatisticsSummary(s) => e.on_summary(&s),
                        XrBlock::LossRle(l) => {
                            let span = l.end_seq.wrapping_sub(l.begin_seq);
                            assert!(l.lost() <= u32::from(span));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let _ = (e.fraction_lost_pct(), e.fraction_lost_max_pct());
}

fuzz_target!(|data: &[u8]| {
    parse(data);
    let (Some(s1), Some(s2)) = (data.get(..4), data.get(4..8)) else {
        return;
    };
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    let mut number = 0u64;
    let mut feed = |an: &mut siplens::engine::Analyzer, packet: Vec<u8>| {
        number += 1;
        an.process(&Frame {
            number,
            ts: Timestamp::from_parts(number, 0),
            link_type: LinkType::RAW,
            orig_len: packet.len() as u32,
            data: packet,
            interface: 0,
        });
    };
    // Two RTP streams (PCMU), one each way, on ports 4000.
    for (a, b, ssrc) in [(1, 2, s1), (2, 1, s2)] {
        for seq in 0u8..3 {
            let mut rtp = vec![0x80, 0, 0, seq];
            rtp.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            rtp.extend_from_slice(ssrc);
            rtp.extend_from_slice(&[0xff; 160]);
            feed(&mut an, udp(a, b, 4000, 4000, &rtp));
        }
    }
    for (i, chunk) in data.get(8..).unwrap_or(&[]).split(|&b| b == 0xfe).enumerate() {
        parse(chunk);
        let (a, b) = if i % 2 == 0 { (1, 2) } else { (2, 1) };
        // RTCP beside RTP (port + 1), or muxed on the RTP port (RFC 5761).
        let port = if i % 3 == 2 { 4000 } else { 4001 };
        feed(&mut an, udp(a, b, port, port, chunk));
    }
    let report = siplens::report::Report::build(&an, 0);
    let mut json = Vec::new();
    let _ = siplens::report::json::append(&mut json, &report);
    let _ = siplens::report::text::render(&report);
});
