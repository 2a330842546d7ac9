//! RTCP against tshark: on every public capture with RTCP (and the bundled RTCP
//! samples), the RTCP datagrams siplens finds are the frames tshark dissects as RTCP
//! (`-o rtcp.heuristic_rtcp:TRUE`), and in each, every SR/RR report block's SSRC,
//! fraction lost, cumulative lost and jitter, every SDES item's text and every XR VoIP
//! Metrics block's R factor and MOS-LQ/MOS-CQ are tshark's (`rtcp.ssrc.*`,
//! `rtcp.sdes.text`, `rtcp.xr.voipmetrics.*`). Then the report's `streams[].rtcp` must
//! hold, for each stream, the last block tshark shows for its SSRC on its path.
//!
//! The corpus (`../shared/corpus`, see its MANIFEST.md) is checked when present and
//! skipped with a notice otherwise; without tshark the test skips (fails under CI).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use siplens::media::rtcp::{self, xr::XrBlock, RtcpPacket};

/// Corpus captures in which tshark finds RTCP.
const CORPUS: &[&str] = &[
    "goffinet__RTP-Protocol.pcap",
    "goffinet__voip-extension.pcap",
    "heplify__rtp_rtcp_sip_ipv4_udp.pcap",
    "heplify__sip_ipv4_tcp.pcap",
    "ndpi__rtcp_multiple_pkts_in_the_same_datagram.pcap",
    "sngrep__aaa.pcap",
];

/// Bundled samples with RTCP.
const SAMPLES: &[&str] = &["rtcp-call.pcap", "rtcp-xr.pcap"];

/// RTCP frames tshark does not dissect as RTCP, (capture, frame, why).
const NOT_TSHARK: &[(&str, u64, &str)] = &[
    (
        "heplify__rtp_rtcp_sip_ipv4_udp.pcap",
        531,
        "SR+RR+SDES (116 bytes) and 2 bytes of zeros in a 118-byte datagram, relayed to a \
         port no SDP announced: tshark's heuristic wants the compound to fill the \
         datagram; the same bytes towards the announced port (frame 529) it dissects",
    ),
    (
        "heplify__rtp_rtcp_sip_ipv4_udp.pcap",
        2646,
        "as frame 531 (the relayed copy of frame 2644)",
    ),
];

fn corpus_dir() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    [local, PathBuf::from("/work/shared/corpus")]
        .into_iter()
        .find(|p| p.join("MANIFEST.md").is_file())
        .map(|p| p.join("pcaps"))
}

/// What one RTCP datagram holds, in the form both sides can print.
#[derive(Debug, Default, Clone, PartialEq)]
struct Datagram {
    /// SSRCs in the order of the packets: report blocks, SDES chunks, BYE sources, APP
    /// senders, XR DLRR sub-blocks, VoIP Metrics and Statistics Summary sources (tshark's
    /// `rtcp.ssrc.identifier` names them all).
    ids: Vec<u32>,
    /// Fraction lost of each report block, then the loss rate of each XR VoIP Metrics
    /// block (tshark names both `rtcp.ssrc.fraction`).
    fractions: Vec<u8>,
    /// (cumulative lost, jitter) of each report block.
    blocks: Vec<(i64, u32)>,
    /// SDES item texts.
    sdes: Vec<String>,
    /// (R factor, MOS-LQ, MOS-CQ) of each XR VoIP Metrics block (raw wire values).
    voip: Vec<(u8, u8, u8)>,
}

/// RTCP payloads by frame number, as the tap saw them.
type Frames = Vec<(u64, Vec<u8>)>;

/// siplens: the RTCP datagrams the engine classified (its tap), parsed, by frame.
fn siplens_rtcp(path: &Path) -> (BTreeMap<u64, Datagram>, serde_json::Value) {
    let seen: Arc<Mutex<Frames>> = Arc::default();
    let sink = Arc::clone(&seen);
    let mut src = siplens::capture::open_path(path).expect("capture opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.set_tap(Box::new(move |kind, seg| {
        if kind == siplens::engine::TapKind::Rtcp {
            if let Ok(mut v) = sink.lock() {
                v.push((seg.frame, seg.payload.to_vec()));
            }
        }
    }));
    an.run_source(&mut src, &mut |_, _| {});
    let report = siplens::report::Report::build(&an, 0);
    let json = serde_json::to_value(&report).expect("report serialises");
    let mut out = BTreeMap::new();
    for (frame, payload) in seen.lock().expect("tap lock").iter() {
        let mut d = Datagram::default();
        for p in rtcp::parse_compound(payload).unwrap_or_default() {
            for b in p.report_blocks() {
                d.ids.push(b.ssrc);
                d.fractions.push(b.fraction_lost);
                d.blocks.push((i64::from(b.cumulative_lost), b.jitter));
            }
            match &p {
                RtcpPacket::App(a) => d.ids.push(a.ssrc),
                RtcpPacket::Bye(b) => {
                    d.ids.extend(&b.ssrcs);
                    // tshark shows the reason as an SDES text.
                    d.sdes.extend(b.reason.map(|r| {
                        String::from_utf8_lossy(r)
                            .trim_end_matches('\0')
                            .to_string()
                    }));
                }
                RtcpPacket::SourceDescription(chunks) => {
                    for c in chunks {
                        d.ids.push(c.ssrc);
                        for i in &c.items {
                            d.sdes.push(String::from_utf8_lossy(i.text()).into_owned());
                        }
                    }
                }
                RtcpPacket::ExtendedReport(x) => {
                    for b in x.report_blocks().0 {
                        match b {
                            XrBlock::VoipMetrics(m) => {
                                d.ids.push(m.ssrc);
                                d.fractions.push(m.loss_rate);
                                d.voip.push((m.r_factor, m.mos_lq, m.mos_cq));
                            }
                            XrBlock::Dlrr(items) => d.ids.extend(items.iter().map(|i| i.ssrc)),
                            XrBlock::StatisticsSummary(s) => d.ids.push(s.ssrc),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        out.insert(*frame, d);
    }
    (out, json)
}

/// tshark: frame, then one field each, its values joined by `;`.
fn tshark_rtcp(path: &Path) -> BTreeMap<u64, Datagram> {
    let fields = [
        "frame.number",
        "rtcp.ssrc.identifier",
        "rtcp.ssrc.fraction",
        "rtcp.ssrc.cum_nr",
        "rtcp.ssrc.jitter",
        "rtcp.sdes.text",
        "rtcp.xr.voipmetrics.rfactor",
        "rtcp.xr.voipmetrics.moslq",
        "rtcp.xr.voipmetrics.moscq",
    ];
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-o", "rtcp.heuristic_rtcp:TRUE", "-Y", "rtcp", "-r"])
        .arg(path)
        .args(["-T", "fields", "-E", "aggregator=;", "-E", "separator=\t"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {path:?}");
    let mut map = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let list = |i: usize| -> Vec<&str> {
            cols.get(i)
                .map(|c| c.split(';').filter(|x| !x.is_empty()).collect())
                .unwrap_or_default()
        };
        let frame: u64 = cols[0].parse().expect("frame number");
        let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).expect("ssrc");
        let mut d = Datagram {
            ids: list(1).into_iter().map(hex).collect(),
            ..Datagram::default()
        };
        d.fractions = list(2)
            .iter()
            .map(|f| f.parse().expect("fraction"))
            .collect();
        let (cum, jit) = (list(3), list(4));
        for (i, c) in cum.iter().enumerate() {
            d.blocks.push((
                c.parse().expect("cumulative"),
                jit.get(i).and_then(|x| x.parse().ok()).unwrap_or(u32::MAX),
            ));
        }
        d.sdes = list(5).iter().map(|s| s.to_string()).collect();
        let (r, lq, cq) = (list(6), list(7), list(8));
        for (i, rf) in r.iter().enumerate() {
            let n = |v: Option<&&str>| -> u8 {
                // tshark prints MOS as the decoded value (4.1) or the raw byte.
                v.map(|s| {
                    s.parse::<u8>()
                        .unwrap_or_else(|_| (s.parse::<f64>().unwrap_or(-1.0) * 10.0).round() as u8)
                })
                .unwrap_or(0)
            };
            d.voip.push((n(Some(rf)), n(lq.get(i)), n(cq.get(i))));
        }
        map.insert(frame, d);
    }
    map
}

fn compare(name: &str, path: &Path, failures: &mut Vec<String>) -> (usize, usize) {
    let (ours, json) = siplens_rtcp(path);
    let theirs = tshark_rtcp(path);
    let count = json["summary"]["rtcp_packets"].as_u64().unwrap_or(0) as usize;
    if count != ours.len() {
        failures.push(format!(
            "{name}: summary {count} RTCP, tap saw {}",
            ours.len()
        ));
    }
    for (frame, t) in &theirs {
        match ours.get(frame) {
            None => failures.push(format!("{name}: frame {frame} is RTCP for tshark only")),
            Some(o) if o != t => failures.push(format!(
                "{name}: frame {frame}: siplens {o:?}, tshark {t:?}"
            )),
            Some(_) => {}
        }
    }
    for frame in ours.keys().filter(|f| !theirs.contains_key(f)) {
        if !NOT_TSHARK.iter().any(|(n, f, _)| *n == name && f == frame) {
            failures.push(format!("{name}: frame {frame} is RTCP for siplens only"));
        }
    }
    // Every stream's rtcp object: its last block must be one tshark shows for the SSRC.
    for s in json["streams"].as_array().into_iter().flatten() {
        let Some(r) = s.get("rtcp") else { continue };
        let ssrc = s["ssrc"].as_u64().unwrap_or(0) as u32;
        if let Some(cum) = r["cumulative_lost"].as_i64() {
            // The stream's SSRC and cumulative loss in one tshark block (blocks come
            // first among a datagram's SSRCs).
            let known = theirs.values().any(|d| {
                d.blocks
                    .iter()
                    .zip(&d.ids)
                    .any(|(b, id)| *id == ssrc && b.0 == cum)
            });
            if !known {
                failures.push(format!(
                    "{name}: stream 0x{ssrc:08x} cumulative_lost {cum} in no tshark block"
                ));
            }
        }
        if let Some(c) = r["cname"].as_str() {
            if !theirs.values().any(|d| d.sdes.iter().any(|t| t == c)) {
                failures.push(format!("{name}: CNAME {c:?} not in tshark's SDES"));
            }
        }
    }
    let blocks = theirs.values().map(|d| d.blocks.len()).sum();
    (theirs.len(), blocks)
}

#[test]
fn rtcp_matches_tshark() {
    if !common::tool("tshark", "-v", "rtcp_matches_tshark") {
        return;
    }
    let mut files: Vec<(String, PathBuf)> = SAMPLES
        .iter()
        .map(|n| {
            (
                n.to_string(),
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("samples")
                    .join(n),
            )
        })
        .collect();
    match corpus_dir() {
        Some(dir) => files.extend(CORPUS.iter().map(|n| (n.to_string(), dir.join(n)))),
        None => println!("rtcp_matches_tshark: corpus absent, bundled samples only"),
    }
    let mut failures = Vec::new();
    let (mut datagrams, mut blocks) = (0, 0);
    for (name, path) in &files {
        let (d, b) = compare(name, path, &mut failures);
        assert!(d > 0, "{name}: tshark found no RTCP");
        datagrams += d;
        blocks += b;
    }
    println!("rtcp_matches_tshark: {datagrams} RTCP datagrams, {blocks} report blocks");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn sample_report(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    siplens_rtcp(&path).1
}

fn stream(json: &serde_json::Value, ssrc: u64) -> &serde_json::Value {
    json["streams"]
        .as_array()
        .and_then(|v| v.iter().find(|s| s["ssrc"].as_u64() == Some(ssrc)))
        .unwrap_or_else(|| panic!("no stream 0x{ssrc:08x}"))
}

fn close(v: &serde_json::Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 0.01)
}

/// samples/rtcp-xr.pcap (scripts/make-rtcp-xr.py says what it holds): the endpoints'
/// figures land on the stream they describe, beside ours.
#[test]
fn xr_sample_reports_the_endpoints_figures() {
    let j = sample_report("rtcp-xr.pcap");
    let caller = &stream(&j, 0xA11C_E001)["rtcp"];
    let callee_stream = stream(&j, 0xB0B0_B002);
    let callee = &callee_stream["rtcp"];
    // The caller's report blocks on the callee's stream: the 3 packets the script
    // dropped, which our own count finds too.
    assert_eq!(callee["cumulative_lost"], 3);
    assert_eq!(callee_stream["lost"], 3);
    assert_eq!(callee["reports"], 2);
    assert!(close(&callee["fraction_lost_pct"], 3.0 * 100.0 / 256.0));
    assert!(close(&callee["fraction_lost_max_pct"], 7.0 * 100.0 / 256.0));
    assert!(close(&callee["jitter_ms"], 4.0), "{callee}");
    assert!(close(&callee["rtt_ms"], 20.0), "{callee}");
    let m = &callee["voip_metrics"];
    assert_eq!(
        (m["r_factor"].as_u64(), m["ext_r_factor"].is_null()),
        (Some(88), true)
    );
    assert!(close(&m["mos_lq"], 4.2) && close(&m["mos_cq"], 4.1), "{m}");
    assert_eq!(
        (m["signal_level_dbm"].as_i64(), m["rerl_db"].is_null()),
        (Some(-20), true)
    );
    assert_eq!(m["jb_abs_max_ms"], 200);
    assert_eq!(callee["statistics_summary"]["lost_packets"], 3);
    assert!(close(&callee["statistics_summary"]["jitter_dev_ms"], 0.75));
    // The callee's view of the caller: RTT from SR/RR and from XR RRTR/DLRR, SDES items,
    // the reduced-size NACK the caller sent.
    assert!(
        close(&caller["rtt_ms"], 20.0) && close(&caller["xr_rtt_ms"], 20.0),
        "{caller}"
    );
    assert_eq!(caller["cname"], "alice@10.254.99.1");
    assert_eq!(
        (caller["name"].as_str(), caller["tool"].as_str()),
        (Some("Alice"), Some("make-rtcp-xr.py"))
    );
    assert_eq!(
        (
            caller["reduced_size"].as_u64(),
            caller["sender_packets"].as_u64()
        ),
        (Some(1), Some(160))
    );
    assert!(caller["voip_metrics"].is_null());
    // The XR whose block overruns its packet is counted, with its reason.
    assert_eq!(
        j["summary"]["engine"]["rtcp_malformed"]["xr block overruns packet"],
        1
    );
    // The text report: one line per stream, the endpoint's figures beside ours.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rtcp-xr.pcap");
    let mut src = siplens::capture::open_path(&path).expect("sample opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    let text = siplens::report::text::render(&siplens::report::Report::build(&an, 0));
    assert!(
        text.contains("#2 0xb0b0b002: endpoint reports: loss 1.2%, 3 cumulative, jitter 4.00 ms, RTT 20.0 ms, XR loss 2.0% MOS-LQ 4.2 MOS-CQ 4.1 R 88"),
        "{text}"
    );
    assert!(text.contains("; ours: loss 1.9%"), "{text}");
    // The malformed XR is counted in the text's counters too, with its reason.
    assert!(
        text.contains("\nrtcp malformed: xr block overruns packet 1\n"),
        "{text}"
    );
}

/// samples/rtcp-call.pcap (two baresip user agents): each stream carries its receiver's
/// report and its sender's CNAME, and what the receiver reports lost is what we count.
#[test]
fn baresip_sample_reports_sr_and_cname() {
    let j = sample_report("rtcp-call.pcap");
    let streams = j["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 2);
    for s in streams {
        let r = &s["rtcp"];
        assert!(r["reports"].as_u64() >= Some(1), "{s}");
        assert!(
            r["cname"].as_str().is_some_and(|c| c.starts_with("sip:")),
            "{r}"
        );
        assert!(r["sender_packets"].as_u64() <= s["packets"].as_u64(), "{s}");
        assert_eq!(r["cumulative_lost"].as_u64(), s["lost"].as_u64(), "{s}");
        assert!(r["jitter_ms"].as_f64().is_some_and(|x| x < 20.0), "{r}");
    }
    // Every RTCP datagram of baresip reads: no malformed line in the text report.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rtcp-call.pcap");
    let mut src = siplens::capture::open_path(&path).expect("sample opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    let text = siplens::report::text::render(&siplens::report::Report::build(&an, 0));
    assert!(!text.contains("rtcp malformed"), "{text}");
}
