//! Call quality (ITU-T G.107 E-model) on real captures: the clean samples score a good
//! MOS, and the loss samples (`scripts/make-samples.sh quality_loss5 quality_loss15`: a
//! G.711 call whose caller RTP loses 5 % / 15 % of its packets at random) score lower
//! as the loss grows, with `media.quality` naming loss on the bad one. The jitter sample
//! (`quality_jitter`: the same call, the answerer's RTP delayed 20–50 ms, 6 % of it up to
//! 110 ms, nothing lost) scores lower through the jitter buffer's discards alone.

use std::path::{Path, PathBuf};

use serde_json::Value;
use siplens::report::Report;

mod common;
use common::rtp_packet as rtp;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn report_with(name: &str, config: &siplens::config::Config) -> Value {
    let mut src = siplens::capture::open_path(&sample(name)).expect("sample opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.set_config(config);
    an.run_source(&mut src, &mut |_, _| {});
    serde_json::to_value(Report::build(&an, 0)).expect("serialises")
}

fn report(name: &str) -> Value {
    report_with(name, &siplens::config::Config::default())
}

fn streams(r: &Value) -> &Vec<Value> {
    r["streams"].as_array().expect("streams")
}

/// The stream going to UDP port `port` (the loss samples impair the one to 16000).
fn stream_to(r: &Value, port: u16) -> &Value {
    streams(r)
        .iter()
        .find(|s| {
            s["dst"]
                .as_str()
                .is_some_and(|d| d.ends_with(&format!(":{port}")))
        })
        .expect("stream to port")
}

fn quality_findings(r: &Value) -> Vec<&Value> {
    r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "media.quality")
        .collect()
}

fn tshark_rtp_packets(name: &str) -> u64 {
    let text = std::fs::read_to_string(sample(&format!("{name}.tshark.json"))).expect("counts");
    let v: Value = serde_json::from_str(&text).expect("json");
    v["rtp_packets"].as_u64().expect("rtp_packets")
}

/// Every bundled sample with RTP but the impaired ones (their loss is deliberate).
const CLEAN_WITH_RTP: &[&str] = &[
    "basic-call-rtp.pcap",
    "clean-tls-srtp.pcap",
    "cooked-any.pcap",
    "gtpu-ims-call.pcap",
    "ipv6-call.pcap",
    "kamailio-auth.pcap",
    "nat-latching-lan.pcap",
    "nat-one-way-wan.pcap",
    "public-call.pcap",
    "sdes-call-udp.pcap",
    "stun-binding.pcap",
    "tls13-call-dsb.pcapng",
    "vlan-call.pcap",
];

#[test]
fn clean_samples_score_well() {
    for name in CLEAN_WITH_RTP {
        let r = report(name);
        let scored: Vec<f64> = streams(&r)
            .iter()
            .filter_map(|s| s["mos"].as_f64())
            .collect();
        assert!(!scored.is_empty(), "{name}: no stream scored");
        for m in &scored {
            assert!(*m >= 4.0, "{name}: MOS {m}");
        }
        for s in streams(&r) {
            if s["mos"].is_f64() {
                assert!(s["r_factor"].as_f64().expect("r") > 85.0, "{name}: {s}");
                assert!(!s["quality"].as_array().expect("intervals").is_empty());
            }
        }
        assert!(quality_findings(&r).is_empty(), "{name}");
        for d in r["dialogs"].as_array().expect("dialogs") {
            if let Some(m) = d["mos"].as_f64() {
                assert!(m >= 4.0, "{name}: dialog MOS {m}");
            }
        }
    }
}

#[test]
fn mos_falls_as_loss_rises() {
    let r5 = report("quality-loss5.pcap");
    let r15 = report("quality-loss15.pcap");
    let (s5, s15) = (stream_to(&r5, 16000), stream_to(&r15, 16000));
    let (m5, m15) = (
        s5["mos"].as_f64().expect("mos"),
        s15["mos"].as_f64().expect("mos"),
    );
    // The clean direction of each call scores as a clean call.
    for r in [&r5, &r15] {
        assert!(stream_to(r, 17000)["mos"].as_f64().expect("mos") >= 4.0);
    }
    assert!(m5 < 4.3, "5 % loss: MOS {m5}");
    assert!(m15 < m5, "15 % loss ({m15}) not worse than 5 % ({m5})");
    assert!(m15 < 3.6, "15 % loss: MOS {m15}");
    assert!(s15["r_factor"].as_f64() < s5["r_factor"].as_f64());
    // The call's MOS is its worse direction.
    assert_eq!(r15["dialogs"][0]["mos"].as_f64(), Some(m15));
    // The loss the E-model saw is the loss on the wire (no packet was late).
    for s in [s5, s15] {
        let expected = s["expected"].as_f64().expect("expected");
        let packets = s["packets"].as_f64().expect("packets");
        let pct = s["quality_loss_pct"].as_f64().expect("loss");
        assert_eq!(s["jitter_buffer_discards"], 0);
        // A.1's expected count leaves out the probation packets: allow that slack.
        assert!(
            (pct - (expected - packets) * 100.0 / expected).abs() < 1.5,
            "{s}"
        );
        // 7 s of audio: intervals at 0 and 5 s.
        let t: Vec<u64> = s["quality"]
            .as_array()
            .expect("intervals")
            .iter()
            .map(|i| i["t"].as_u64().expect("t"))
            .collect();
        assert_eq!(t, [0, 5]);
    }
}

#[test]
fn jitter_alone_lowers_the_mos_through_buffer_discards() {
    let r = report("quality-jitter.pcap");
    let (clean, jittered) = (stream_to(&r, 16000), stream_to(&r, 17000));
    for s in [clean, jittered] {
        // Nothing was lost on the wire: the bridge only delays.
        assert_eq!(s["packets"], 236, "{s}");
        assert_eq!(s["lost"], 0, "{s}");
    }
    assert_eq!(clean["jitter_buffer_discards"], 0);
    assert!(clean["mos"].as_f64().expect("mos") >= 4.3, "{clean}");
    // Delays of 20-110 ms reorder packets and push some past the 50 ms buffer.
    assert!(
        jittered["out_of_order"].as_u64().expect("ooo") > 0,
        "{jittered}"
    );
    assert!(jittered["jitter_mean_ms"].as_f64().expect("jitter") > 5.0);
    let discards = jittered["jitter_buffer_discards"]
        .as_f64()
        .expect("discards");
    assert!(discards > 0.0, "{jittered}");
    // Every loss the E-model counts is a discard, overtaken packets included.
    let expected = jittered["expected"].as_f64().expect("expected") + 1.0;
    let pct = jittered["quality_loss_pct"].as_f64().expect("loss");
    assert!(
        (pct - discards * 100.0 / expected).abs() < 0.6,
        "loss {pct} % against {discards} discards of {expected}"
    );
    let m = jittered["mos"].as_f64().expect("mos");
    assert!(m < clean["mos"].as_f64().expect("mos") - 0.2, "{m}");
    assert_eq!(r["dialogs"][0]["mos"].as_f64(), Some(m));
}

#[test]
fn packet_counts_agree_with_tshark() {
    for name in [
        "quality-loss5.pcap",
        "quality-loss15.pcap",
        "quality-jitter.pcap",
    ] {
        let r = report(name);
        let ours: u64 = streams(&r)
            .iter()
            .map(|s| s["packets"].as_u64().expect("packets"))
            .sum();
        assert_eq!(ours, tshark_rtp_packets(name), "{name}");
        // Nothing lost on the clean direction: all 236 packets of the stock audio.
        assert_eq!(stream_to(&r, 17000)["packets"], 236, "{name}");
        assert_eq!(stream_to(&r, 17000)["lost"], 0, "{name}");
        // The impaired direction sent the same 236: the E-model's loss is exactly what
        // did not arrive (Wireshark's RTP analysis counts the same: 39 lost of 236 in
        // quality-loss15; RFC 3550 A.1's `lost` misses losses while on probation).
        let s = stream_to(&r, 16000);
        let packets = s["packets"].as_f64().expect("packets");
        let pct = s["quality_loss_pct"].as_f64().expect("loss");
        assert!(
            (pct - (236.0 - packets) * 100.0 / 236.0).abs() < 0.006,
            "{name}: {s}"
        );
    }
}

#[test]
fn media_quality_fires_on_the_bad_call_only() {
    let r15 = report("quality-loss15.pcap");
    let f = quality_findings(&r15);
    assert_eq!(f.len(), 1, "{f:?}");
    let summary = f[0]["summary"].as_str().expect("summary");
    assert!(summary.contains("main cause loss"), "{summary}");
    assert!(f[0]["dst"].as_str().is_some_and(|d| d.ends_with(":16000")));
    assert!(f[0]["call_id"].is_string());
    assert!(quality_findings(&report("quality-loss5.pcap")).is_empty());

    // A stricter threshold from the configuration catches the 5 % call too.
    let strict: siplens::config::Config = siplens::config::Config::parse(
        "[quality]\nmos_threshold = 4.2\n",
        Path::new("strict.toml"),
    )
    .expect("config");
    let r5 = report_with("quality-loss5.pcap", &strict);
    assert_eq!(quality_findings(&r5).len(), 1);
}

/// A UDP frame between 192.0.2.1 and 192.0.2.2: from .1 when `a_to_b`, else from .2.
fn udp_frame(
    number: u64,
    ms: u64,
    a_to_b: bool,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> siplens::capture::Frame {
    let (a, b) = ([192, 0, 2, 1], [192, 0, 2, 2]);
    let (src, dst) = if a_to_b { (a, b) } else { (b, a) };
    common::udp_frame(number, ms, (src, sport), (dst, dport), payload)
}

#[test]
fn rtcp_round_trip_feeds_the_delay() {
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    let mut n = 0;
    let mut frame = |ms: u64, a_to_b: bool, sport: u16, dport: u16, p: &[u8]| {
        n += 1;
        udp_frame(n, ms, a_to_b, sport, dport, p)
    };
    for i in 0..60u16 {
        let ms = 20 * u64::from(i);
        an.process(&frame(ms, true, 40000, 50000, &rtp(100 + i, 7)));
        an.process(&frame(ms, false, 50000, 40000, &rtp(900 + i, 8)));
    }
    // SR from SSRC 7 (no report block) at 1000 ms, NTP 0x0000_1234_5678_0000.
    let mut sr = vec![0x80, 200, 0, 6, 0, 0, 0, 7];
    sr.extend_from_slice(&0x0000_1234_5678_0000u64.to_be_bytes());
    sr.extend_from_slice(&[0; 12]);
    an.process(&frame(1000, true, 40001, 50001, &sr));
    // RR from SSRC 8 at 1300 ms about SSRC 7: LSR = the SR's middle bits, DLSR 100 ms.
    let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 8, 0, 0, 0, 7];
    rr.extend_from_slice(&[0; 12]); // fraction, cumulative, highest seq, jitter
    rr.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    rr.extend_from_slice(&6554u32.to_be_bytes()); // 6554/65536 s = 100.006 ms
    an.process(&frame(1300, false, 50001, 40001, &rr));

    let r = serde_json::to_value(Report::build(&an, 0)).expect("json");
    let s7 = streams(&r)
        .iter()
        .find(|s| s["ssrc"] == 7)
        .expect("stream 7");
    let rtt = s7["rtt_ms"].as_f64().expect("rtt");
    assert!((rtt - 199.994).abs() < 0.002, "{rtt}");
    // One way: half the round trip + 50 ms buffer + 20 ms packetisation + G.711's 0.125.
    let delay = s7["delay_ms"].as_f64().expect("delay");
    assert!((delay - 170.12).abs() < 0.01, "{delay}");
    // Past 100 ms the absolute delay term costs R points: below the 91.28 of 70 ms.
    assert!(s7["r_factor"].as_f64().expect("r") < 91.0);
    // The other stream's SR was never answered: no round trip of its own, no call.
    let s8 = streams(&r)
        .iter()
        .find(|s| s["ssrc"] == 8)
        .expect("stream 8");
    assert!(s8["rtt_ms"].is_null());
}
