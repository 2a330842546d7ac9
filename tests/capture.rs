//! Reads the public corpus captures (shared/corpus/pcaps) and checks them against what
//! capinfos/tshark report (see shared/corpus/MANIFEST.md).

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use siplens::capture::{
    open_bytes, open_path, open_reader, CaptureFormat, FileSource, Frame, FrameSource, LinkType,
    Timestamp,
};

/// The corpus in the `shared` directory beside the checkout, else `/work/shared/corpus`.
/// `None` (with a notice) when neither exists, so the suite still runs elsewhere.
fn corpus() -> Option<PathBuf> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pcaps");
    let fixed = PathBuf::from("/work/shared/corpus/pcaps");
    for dir in [beside, fixed] {
        if dir.is_dir() {
            return Some(dir);
        }
    }
    println!("notice: shared corpus not found (../shared or /work/shared); corpus tests skipped");
    None
}

fn drain(src: &mut FileSource) -> Vec<Frame> {
    let mut frames = Vec::new();
    loop {
        match src.next_frame() {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return frames,
            Err(e) => panic!("{e}"),
        }
    }
}

/// (file, frames, link types) as capinfos 4.0 reports them.
const EXPECTED: &[(&str, usize, &[u32])] = &[
    ("aflnet-kamailio__sip-1.pcap", 16, &[1]),
    ("goffinet__RTP-Protocol.pcap", 259, &[1]),
    ("goffinet__private-test-sip-2.pcapng", 1012, &[1]),
    ("goffinet__sip-2phones-B2BUA-Asterisk.pcapng", 416, &[1]),
    (
        "goffinet__sip-488-Not-Acceptable-Here-codec-null.pcapng",
        13,
        &[1],
    ),
    ("goffinet__sip-cme-zoiper-register.pcapng", 9, &[1]),
    (
        "goffinet__sip-register-publish-subscribe-489-401.pcapng",
        60,
        &[1],
    ),
    (
        "goffinet__sip-register-wrong_user-401-403-404.pcapng",
        6,
        &[1],
    ),
    ("goffinet__voip-extension.pcap", 609, &[1]),
    ("goffinet__voip1b.pcapng", 715, &[1]),
    ("hep-wireshark__hep.pcap", 8, &[1]),
    ("heplify__ipip0.pcap", 8, &[101]),
    ("heplify__rtp_rtcp_sip_ipv4_udp.pcap", 4269, &[1]),
    ("heplify__sip_ipv4_tcp.pcap", 84, &[1]),
    ("heplify__sip_ipv4_tcp_retrans.pcap", 196, &[113]),
    ("heplify__sip_ipv6_udp.pcap", 6, &[1]),
    ("heplify__sip_sctp.pcap", 5, &[113]),
    ("ndpi__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", 1552, &[1]),
    ("ndpi__gre.pcapng", 1, &[1]),
    ("ndpi__http_on_sip_port.pcap", 4, &[1]),
    (
        "ndpi__rtcp_multiple_pkts_in_the_same_datagram.pcap",
        5,
        &[113],
    ),
    ("ndpi__rtp.pcapng", 112, &[1]),
    ("ndpi__sip_hello.pcapng", 30, &[1]),
    ("ndpi__stun_dtls_rtp.pcapng", 102, &[1]),
    ("rtpproxy__alice_srtp.pcap", 1556, &[1]),
    ("sipp__g711a.pcap", 236, &[1]),
    ("sngrep__aaa.pcap", 691, &[1]),
    ("sngrep__ipip.pcap", 4, &[1]),
    ("sngrep__ipv6frag.pcap", 34, &[113]),
    ("sngrep__tlssaved.pcap", 12, &[1]),
    ("suricata-verify__public-cloudshark-sip-s0.pcap", 10, &[1]),
    ("suricata-verify__sip-body-large.pcap", 16, &[0]),
    ("suricata-verify__sip-options-method.pcap", 2, &[1]),
    ("suricata-verify__sip-pattern-matching.pcap", 2, &[1]),
    ("suricata-verify__sip-sdp.pcap", 2, &[1]),
    ("suricata-verify__sip-tcp-method.pcap", 11, &[1]),
    ("suricata-verify__sip-tcp-pattern-matching.pcap", 7, &[1]),
    ("suricata-verify__sip_compact_form.pcap", 1, &[1]),
    ("suricata-verify__sip_header_multi_val.pcap", 1, &[1]),
    ("zeek__invalid-content-length.pcap", 2, &[1]),
    ("zeek__sip-long-request-response-paths.pcap", 2, &[228]),
    ("zeek__webrtc-stun.pcap", 14, &[1]),
];

#[test]
fn corpus_frame_counts_and_link_types() {
    let Some(dir) = corpus() else { return };
    for (name, count, links) in EXPECTED {
        let path = dir.join(name);
        if !path.exists() {
            println!("notice: {name} not in the corpus, skipped");
            continue;
        }
        let mut src = open_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let frames = drain(&mut src);
        assert_eq!(frames.len(), *count, "{name}");
        let want: Vec<LinkType> = links.iter().map(|&l| LinkType(l)).collect();
        assert_eq!(src.link_types(), want, "{name}");
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.number, i as u64 + 1, "{name}");
            assert!(
                f.data.len() as u64 <= u64::from(f.orig_len),
                "{name} frame {}",
                f.number
            );
        }
        let total = std::fs::metadata(&path).unwrap().len();
        assert_eq!(src.progress(), (total, Some(total)), "{name}");
    }
}

#[test]
fn every_corpus_capture_reads_cleanly() {
    let Some(dir) = corpus() else { return };
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "pcap" | "pcapng" | "cap" | "gz") {
            continue;
        }
        let mut src = open_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let frames = drain(&mut src);
        assert!(!frames.is_empty(), "{}", path.display());
        n += 1;
    }
    assert!(n > 0);
}

/// First and last frames as tshark shows them (time_epoch, cap_len, interface).
#[test]
fn corpus_timestamps_match_tshark() {
    let Some(dir) = corpus() else { return };
    /// (epoch nanoseconds, captured length, interface id)
    type Seen = (u64, usize, u32);
    let cases: &[(&str, Seen, Seen)] = &[
        (
            "goffinet__sip-cme-zoiper-register.pcapng",
            (1_462_132_701_605_468_000, 710, 0),
            (1_462_132_710_221_424_000, 491, 0),
        ),
        (
            "ndpi__stun_dtls_rtp.pcapng",
            (1_669_989_925_164_266_971, 158, 0),
            (1_710_679_657_948_817_353, 54, 1),
        ),
        (
            "suricata-verify__sip-body-large.pcap",
            (1_782_243_452_934_517_000, 68, 0),
            (1_782_243_452_936_081_000, 56, 0),
        ),
        (
            "zeek__sip-long-request-response-paths.pcap",
            (1_786_134_717_096_083_000, 9591, 0),
            (1_786_134_717_096_223_000, 9576, 0),
        ),
    ];
    for (name, first, last) in cases {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        let frames = drain(&mut open_path(&path).unwrap());
        for (f, (ts, len, iface)) in [(frames.first(), first), (frames.last(), last)] {
            let f = f.unwrap();
            assert_eq!(f.ts, Timestamp(*ts), "{name} frame {}", f.number);
            assert_eq!(f.data.len(), *len, "{name} frame {}", f.number);
            assert_eq!(f.interface, *iface, "{name} frame {}", f.number);
        }
    }
}

#[test]
fn format_detected_by_magic_not_extension() {
    let Some(dir) = corpus() else { return };
    let path = dir.join("ndpi__http_on_sip_port.pcap");
    if !path.exists() {
        return;
    }
    let src = open_path(&path).unwrap();
    assert_eq!(src.format(), CaptureFormat::PcapNg);
}

#[test]
fn gzip_and_reader_inputs_match_plain_file() {
    let Some(dir) = corpus() else { return };
    for name in [
        "goffinet__voip1b.pcapng",
        "sngrep__aaa.pcap",
        "ndpi__stun_dtls_rtp.pcapng",
    ] {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        let plain = std::fs::read(&path).unwrap();
        let want = drain(&mut open_path(&path).unwrap());

        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&plain).unwrap();
        let gz = enc.finish().unwrap();
        let mut src = open_bytes("x.gz", gz.clone()).unwrap();
        assert!(src.is_gzip());
        assert_eq!(drain(&mut src), want, "{name} gzip");
        assert_eq!(src.progress(), (gz.len() as u64, Some(gz.len() as u64)));

        // A reader that hands out tiny chunks, like a slow pipe on stdin.
        struct Trickle(std::io::Cursor<Vec<u8>>);
        impl std::io::Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(3);
                self.0.read(&mut buf[..n])
            }
        }
        let mut src = open_reader(
            "<stdin>",
            Box::new(Trickle(std::io::Cursor::new(plain))),
            None,
        )
        .unwrap();
        assert_eq!(drain(&mut src), want, "{name} trickle");
        assert_eq!(src.progress().1, None);
    }
}

/// Cutting a real capture anywhere yields a prefix of its frames, then (unless the cut
/// falls between records) a truncation error, never a panic or a wrong frame.
#[test]
fn truncated_corpus_files_keep_a_prefix() {
    let Some(dir) = corpus() else { return };
    for name in [
        "goffinet__sip-cme-zoiper-register.pcapng",
        "suricata-verify__sip-tcp-method.pcap",
    ] {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let full = drain(&mut open_path(&path).unwrap());
        for cut in (40..bytes.len()).step_by(37) {
            let mut src = match open_bytes(name, bytes[..cut].to_vec()) {
                Ok(src) => src,
                Err(e) => {
                    // Only a cut inside the file header may fail the open.
                    assert!(!e.is_truncation(), "{e}");
                    assert!(cut < 200, "{e}");
                    continue;
                }
            };
            let mut got = Vec::new();
            let err = loop {
                match src.next_frame() {
                    Ok(Some(f)) => got.push(f),
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            };
            assert_eq!(got[..], full[..got.len()], "{name} cut at {cut}");
            if let Some(e) = err {
                assert!(e.is_truncation(), "{e}");
                assert!(e.to_string().starts_with(name), "{e}");
            }
        }
    }
}

/// Throughput of the buffered path: `cargo test --release --test capture -- --ignored`.
/// Ignored by default: timing on a shared 2-core CI machine is not a pass/fail signal.
#[test]
#[ignore]
fn throughput_over_a_million_frames_per_second() {
    const N: u32 = 2_000_000;
    let mut bytes = Vec::with_capacity(24 + N as usize * 116);
    bytes.extend_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..N {
        for v in [i / 1000, (i % 1000) * 1000, 100, 100] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.extend_from_slice(&[0x5a; 100]);
    }
    let path = std::env::temp_dir().join(format!("siplens-throughput-{}.pcap", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    drop(bytes);
    let start = std::time::Instant::now();
    let mut src = open_path(&path).unwrap();
    let mut n = 0u64;
    while let Some(f) = src.next_frame().unwrap() {
        n += f.data.len() as u64 / 100;
    }
    let secs = start.elapsed().as_secs_f64();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(n, u64::from(N));
    let rate = f64::from(N) / secs;
    println!(
        "pcap: {N} frames in {secs:.3} s = {:.2} M frames/s",
        rate / 1e6
    );
    if !cfg!(debug_assertions) {
        assert!(rate > 1e6, "{rate}");
    }

    // The same frames as pcapng EPBs.
    let mut ng = Vec::with_capacity(48 + N as usize * 132);
    ng.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a]);
    ng.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    ng.extend_from_slice(&[28, 0, 0, 0, 1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    ng.extend_from_slice(&[20, 0, 0, 0]);
    for i in 0..N {
        for v in [6, 132, 0, 0, i, 100, 100] {
            ng.extend_from_slice(&u32::to_le_bytes(v));
        }
        ng.extend_from_slice(&[0x5a; 100]);
        ng.extend_from_slice(&132u32.to_le_bytes());
    }
    let start = std::time::Instant::now();
    let mut src = open_bytes("ng", ng).unwrap();
    let mut n = 0u64;
    while let Some(f) = src.next_frame().unwrap() {
        n += f.data.len() as u64 / 100;
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(n, u64::from(N));
    let rate = f64::from(N) / secs;
    println!(
        "pcapng: {N} frames in {secs:.3} s = {:.2} M frames/s",
        rate / 1e6
    );
    if !cfg!(debug_assertions) {
        assert!(rate > 1e6, "{rate}");
    }
}
