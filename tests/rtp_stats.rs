//! Per-stream RTP statistics against Wireshark's RTP Stream Analysis.
//!
//! For every capture below, `tshark -q -n -r FILE --enable-heuristic rtp_udp -z rtp,streams`
//! lists the streams with Wireshark's packets, lost, min/mean/max delta and min/mean/max
//! jitter; each stream is found in siplens' report by SSRC, source and destination, and its
//! figures must agree within 0.01 ms or 1% (tshark prints three decimals). The heuristic
//! RTP dissector is on everywhere: siplens finds RTP by a heuristic too, and some captures
//! have no SDP for their streams (docs/report-format.md#rtp-stream-statistics defines the
//! fields).
//!
//! Deliberate differences, checked as such:
//! - `lost` never goes below 0 in siplens (RFC 3550 A.3 as reported); Wireshark's Lost does
//!   with repeated packets (RFC 4733 end-of-event packets) or a late first packet, so a
//!   negative tshark value is compared as 0;
//! - Wireshark's Min Delta/Min Jitter print -1 when there is no regular packet; siplens
//!   says `null`.
//!
//! The bundled samples are always there; the public corpus (`../shared/corpus`, see its
//! MANIFEST.md) is checked when present and skipped with a notice otherwise. Without tshark
//! the test skips (under CI, where tshark is installed, a missing tshark fails).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Bundled samples with RTP (tshark finds at least one stream in each).
const SAMPLES: &[&str] = &[
    "basic-call-rtp.pcap",
    "clean-tls-srtp.pcap",
    "cooked-any.pcap",
    "gtpu-ims-call.pcap",
    "ipv6-call.pcap",
    "kamailio-auth.pcap",
    "nat-latching-lan.pcap",
    "nat-latching-wan.pcap",
    "nat-no-rtp.pcap",
    "nat-one-way-lan.pcap",
    "nat-one-way-wan.pcap",
    "public-call.pcap",
    "quality-jitter.pcap",
    "sdes-call-udp.pcap",
    "stun-binding.pcap",
    "tls-srtp-call.pcap",
    "tls12-call.pcap",
    "tls12-rsa-call.pcap",
    "tls13-call.pcap",
    "tls13-call-dsb.pcapng",
    "vlan-call.pcap",
];

/// Corpus captures with RTP (MANIFEST.md §1, column RTP), in `../shared/corpus/pcaps`.
const CORPUS: &[&str] = &[
    "goffinet__RTP-Protocol.pcap",
    "goffinet__private-test-sip-2.pcapng",
    "goffinet__sip-2phones-B2BUA-Asterisk.pcapng",
    "goffinet__voip-extension.pcap",
    "goffinet__voip1b.pcapng",
    "heplify__rtp_rtcp_sip_ipv4_udp.pcap",
    "heplify__sip_ipv4_tcp.pcap",
    "ndpi__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap",
    "ndpi__rtp.pcapng",
    "ndpi__stun_dtls_rtp.pcapng",
    "rtpproxy__alice_srtp.pcap",
    "sipp__g711a.pcap",
    "sngrep__aaa.pcap",
];

/// tshark streams siplens does not report as tshark does, (capture, SSRC, why). These are
/// differences in which packets form a stream, not in the statistics.
const NOT_COMPARED: &[(&str, u32, &str)] = &[
    (
        "ndpi__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap",
        0x0EAF_0EAF,
        "after the re-INVITE to T.38 tshark decodes 27 packets on these ports as UDPTL; \
         siplens' RTP heuristic takes them for RTP (159 packets against 132)",
    ),
    (
        "heplify__rtp_rtcp_sip_ipv4_udp.pcap",
        0x0000_2E3D,
        "6 packets with no SDP: siplens' heuristic does not take them for a stream",
    ),
    (
        "ndpi__rtp.pcapng",
        0x001A_757D,
        "6 packets of an unannounced dynamic type: not taken for a stream by siplens",
    ),
    (
        "ndpi__rtp.pcapng",
        0x001A_7E73,
        "7 packets of an unannounced dynamic type: not taken for a stream by siplens",
    ),
];

/// One row of `tshark -z rtp,streams`.
#[derive(Debug, Clone, PartialEq)]
struct WsStream {
    src: SocketAddr,
    dst: SocketAddr,
    ssrc: u32,
    packets: u64,
    lost: i64,
    /// Min, mean, max delta, then min, mean, max jitter (ms; -1 for "none").
    figures: [f64; 6],
}

/// Parses the rows of `tshark -q -z rtp,streams` (Wireshark 4.0 layout): start, end, source
/// address and port, destination address and port, SSRC, payload (possibly several words,
/// "g711A, CN"), packets, "lost (pct%)", six figures, and an optional "X" for problems.
fn parse_rtp_streams(text: &str) -> Vec<WsStream> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 16 || !t[6].starts_with("0x") {
            continue;
        }
        if t.last() == Some(&"X") {
            t.pop();
        }
        let n = t.len();
        let addr = |ip: &str, port: &str| -> Option<SocketAddr> {
            Some(SocketAddr::new(
                ip.parse::<IpAddr>().ok()?,
                port.parse().ok()?,
            ))
        };
        let figures: Vec<f64> = t[n - 6..].iter().filter_map(|x| x.parse().ok()).collect();
        let row = (|| {
            Some(WsStream {
                src: addr(t[2], t[3])?,
                dst: addr(t[4], t[5])?,
                ssrc: u32::from_str_radix(t[6].trim_start_matches("0x"), 16).ok()?,
                packets: t[n - 9].parse().ok()?,
                lost: t[n - 8].parse().ok()?,
                figures: figures.try_into().ok()?,
            })
        })();
        out.push(row.unwrap_or_else(|| panic!("unparsed tshark row: {line}")));
    }
    out
}

fn tshark_streams(path: &Path) -> Vec<WsStream> {
    let out = Command::new("tshark")
        .args(["-q", "-n", "-r"])
        .arg(path)
        .args(["--enable-heuristic", "rtp_udp", "-z", "rtp,streams"])
        .output()
        .expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {path:?}");
    parse_rtp_streams(&String::from_utf8_lossy(&out.stdout))
}

/// The `streams` array of siplens' JSON report.
fn siplens_streams(path: &Path) -> Vec<Value> {
    let mut src = siplens::capture::open_path(path).expect("capture opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    let report = siplens::report::Report::build(&an, 0);
    let v = serde_json::to_value(&report).expect("report serialises");
    v["streams"].as_array().cloned().unwrap_or_default()
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn corpus_dir() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    [local, PathBuf::from("/work/shared/corpus")]
        .into_iter()
        .find(|p| p.join("MANIFEST.md").is_file())
        .map(|p| p.join("pcaps"))
}

/// Within 0.01 ms or 1%: tshark prints three decimals, siplens rounds to three.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.0105_f64.max(b.abs() * 0.01)
}

/// What one capture's comparison found.
#[derive(Default)]
struct Tally {
    streams: usize,
    failures: Vec<String>,
    /// Largest |siplens - tshark| over the delta and jitter figures, ms.
    max_diff: f64,
}

fn compare(name: &str, path: &Path, tally: &mut Tally) {
    let ours = siplens_streams(path);
    for w in tshark_streams(path) {
        if NOT_COMPARED
            .iter()
            .any(|(n, ssrc, _)| *n == name && *ssrc == w.ssrc)
        {
            continue;
        }
        let found = ours.iter().find(|s| {
            s["ssrc"].as_u64() == Some(u64::from(w.ssrc))
                && s["src"].as_str() == Some(&w.src.to_string())
                && s["dst"].as_str() == Some(&w.dst.to_string())
        });
        let what = format!("{name} {:#010x} {} -> {}", w.ssrc, w.src, w.dst);
        let Some(s) = found else {
            tally
                .failures
                .push(format!("{what}: not in siplens' report"));
            continue;
        };
        tally.streams += 1;
        let num = |k: &str| s[k].as_f64();
        if s["packets"].as_u64() != Some(w.packets) {
            tally.failures.push(format!(
                "{what}: packets {} (tshark {})",
                s["packets"], w.packets
            ));
        }
        if s["lost"].as_i64() != Some(w.lost.max(0)) {
            tally
                .failures
                .push(format!("{what}: lost {} (tshark {})", s["lost"], w.lost));
        }
        let keys = [
            "delta_min_ms",
            "delta_mean_ms",
            "delta_max_ms",
            "jitter_min_ms",
            "jitter_mean_ms",
            "jitter_max_ms",
        ];
        for (k, want) in keys.iter().zip(w.figures) {
            // -1: Wireshark saw no regular packet (with a clock rate, for jitter).
            let got = num(k).unwrap_or(-1.0);
            tally.max_diff = tally.max_diff.max((got - want).abs());
            if !close(got, want) {
                tally
                    .failures
                    .push(format!("{what}: {k} {got} (tshark {want})"));
            }
        }
    }
}

#[test]
fn parses_tshark_rows() {
    let text = "\
========================= RTP Streams ========================
   Start time      End time     Src IP addr  Port    Dest IP addr  Port       SSRC          Payload  Pkts         Lost   Min Delta(ms)  Mean Delta(ms)   Max Delta(ms)  Min Jitter(ms) Mean Jitter(ms)  Max Jitter(ms) Problems?
     0.000000      1.180840        10.0.0.1 40000        10.0.0.2 40002 0x11223344  g711U, telephone-event    58    -2 (-3.3%)  1.000  20.693  79.891  -1.000  1.959  4.742 X
     0.212110      2.881432  fd00:5eed:2::2 16000  fd00:5eed:2::1 17000 0x5151AB1E            g711A    90     0 (0.0%)          28.169          29.992          31.829           0.005           0.253           0.495 
==============================================================
";
    let rows = parse_rtp_streams(text);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].src, "10.0.0.1:40000".parse::<SocketAddr>().unwrap());
    assert_eq!(
        (rows[0].ssrc, rows[0].packets, rows[0].lost),
        (0x1122_3344, 58, -2)
    );
    assert_eq!(rows[0].figures, [1.0, 20.693, 79.891, -1.0, 1.959, 4.742]);
    assert_eq!(
        rows[1].dst,
        "[fd00:5eed:2::1]:17000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(rows[1].figures[5], 0.495);
}

#[test]
fn streams_match_tshark_rtp_analysis() {
    if !common::tool("tshark", "-v", "streams_match_tshark_rtp_analysis") {
        return;
    }
    let mut tally = Tally::default();
    for name in SAMPLES {
        compare(name, &samples_dir().join(name), &mut tally);
    }
    let samples = tally.streams;
    assert!(samples >= 35, "only {samples} sample streams compared");
    match corpus_dir() {
        Some(dir) => {
            for name in CORPUS {
                compare(name, &dir.join(name), &mut tally);
            }
            assert!(
                tally.streams - samples >= 20,
                "only {} corpus streams compared",
                tally.streams - samples
            );
        }
        None => println!("NOTICE: ../shared/corpus not found; corpus part of the test skipped"),
    }
    println!(
        "{} streams agree with tshark (largest difference {:.4} ms)",
        tally.streams, tally.max_diff
    );
    assert!(tally.failures.is_empty(), "{}", tally.failures.join("\n"));
}

/// The case that started it: a stream with RFC 4733 events, where the RFC 3550 estimate at
/// the end (`jitter_ms`) matches neither of Wireshark's figures, and the Wireshark fields
/// match both. Figures from `tshark -z rtp,streams` 4.0.17.
#[test]
fn telephone_event_stream_matches_wireshark_where_the_single_jitter_did_not() {
    let Some(dir) = corpus_dir() else {
        println!("NOTICE: ../shared/corpus not found; test skipped");
        return;
    };
    let streams = siplens_streams(&dir.join("goffinet__voip-extension.pcap"));
    let s = streams
        .iter()
        .find(|s| s["ssrc_hex"] == "0x3edd3882")
        .expect("the stream with DTMF events");
    // The RFC 3550 running estimate after the last packet: 0.203 ms.
    assert_eq!(s["jitter_ms"], 0.203);
    // Wireshark: Mean Jitter 2.504, Max Jitter 18.014, Max Delta 33.079.
    assert_eq!(s["jitter_mean_ms"], 2.504);
    assert_eq!(s["jitter_max_ms"], 18.014);
    assert_eq!(s["delta_max_ms"], 33.079);
    // The event's end packet is sent three times (RFC 4733 §2.5.1.4): repeats, counted as
    // such, and Wireshark's Lost of -6 is 0 here.
    assert_eq!(s["lost"], 0);
    assert!(s["duplicates"].as_u64() > Some(0));
    assert!(s["sequence_errors"].as_u64() >= s["duplicates"].as_u64());
}
