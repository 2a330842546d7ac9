//! DTMF: the digits siplens reads from the bundled samples are the ones the programs sent
//! and the ones tshark decodes; they are masked unless secrets are shown; only cleartext
//! ones raise `media.dtmf-exposed`; the per-dialog bound counts what it drops.
//!
//! `samples/dtmf-rfc4733.pcap`: SIPp keys in 3114# as RFC 4733 events (its stock
//! recordings, `scripts/sipp/uac-call-dtmf.xml`); `samples/dtmf-info.pcap`: 1, 2, 3 by SIP
//! INFO `application/dtmf-relay` (Duration=160), # by `application/dtmf`, and 42 in a
//! KPML NOTIFY (`scripts/sipp/uac-call-dtmf-info.xml`).

mod common;
use common::udp_frame as udp;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use siplens::capture::{self, Timestamp};
use siplens::engine::{Analyzer, Limits};
use siplens::report::Report;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn analyze(name: &str, limits: Limits, show_secrets: bool) -> Analyzer {
    let mut src = capture::open_path(&sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut an = siplens::rules::analyzer(limits);
    an.set_show_secrets(show_secrets);
    an.run_source(&mut src, &mut |_, _| {});
    an
}

fn report(an: &Analyzer) -> Value {
    serde_json::to_value(Report::build(an, 0)).expect("json")
}

/// The `dtmf` list of the only dialog of `r`.
fn dtmf_of(r: &Value) -> Vec<Value> {
    let dialogs = r["dialogs"].as_array().expect("dialogs");
    assert_eq!(dialogs.len(), 1, "one call");
    dialogs[0]["dtmf"].as_array().cloned().unwrap_or_default()
}

fn digits(list: &[Value]) -> String {
    list.iter()
        .map(|e| e["digit"].as_str().expect("digit").to_string())
        .collect()
}

fn findings_of<'r>(r: &'r Value, rule: &str) -> Vec<&'r Value> {
    r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

#[test]
fn rfc4733_digits_are_what_sipp_sent_and_what_tshark_decodes() {
    let an = analyze("dtmf-rfc4733.pcap", Limits::default(), true);
    let r = report(&an);
    let list = dtmf_of(&r);
    assert_eq!(digits(&list), "3114#");
    for e in &list {
        assert_eq!(e["via"], "rfc4733");
        // SIPp's recordings: 2240 timestamp units at 8000 Hz in the end packet.
        assert_eq!(e["duration_ms"], 280);
        assert_eq!(e["cleartext"], true);
        assert_eq!(e["src"], "127.0.0.1:17000");
    }
    let f = findings_of(&r, "media.dtmf-exposed");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "medium");
    let summary = f[0]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("5 DTMF digit(s)") && summary.contains("3114#"),
        "{summary}"
    );

    if !common::tool(
        "tshark",
        "-v",
        "rfc4733_digits_are_what_sipp_sent_and_what_tshark_decodes",
    ) {
        return;
    }
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(sample("dtmf-rfc4733.pcap"))
        .args(["-Y", "rtpevent", "-T", "fields", "-E", "separator=,"])
        .args(["-e", "frame.number", "-e", "rtpevent.event_id"])
        .args(["-e", "rtpevent.end_of_event", "-e", "rtp.timestamp"])
        .args(["-e", "rtpevent.duration"])
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One digit per event: a new RTP timestamp or code, or (a replayed recording) a
    // packet without the E bit after the end packets of the same timestamp.
    let mut events: Vec<(u64, u8, u64)> = Vec::new(); // (first frame, code, end duration)
    let mut prev: Option<(String, String, bool)> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let c: Vec<&str> = line.split(',').collect();
        let [frame, code, end, ts, dur] = c[..] else {
            panic!("tshark line {line:?}");
        };
        let end = end == "1" || end == "True";
        let new = match &prev {
            Some((pts, pcode, pend)) => pts != ts || pcode != code || (*pend && !end),
            None => true,
        };
        if new {
            events.push((frame.parse().unwrap(), code.parse().unwrap(), 0));
        }
        if let Some(last) = events.last_mut() {
            last.2 = last.2.max(dur.parse().unwrap());
        }
        prev = Some((ts.to_string(), code.to_string(), end));
    }
    let tshark_digits: String = events
        .iter()
        .map(|(_, code, _)| char::from(b"0123456789*#ABCD"[usize::from(*code)]))
        .collect();
    assert_eq!(tshark_digits, "3114#");
    let frames: Vec<u64> = list.iter().map(|e| e["frame"].as_u64().unwrap()).collect();
    assert_eq!(frames, events.iter().map(|e| e.0).collect::<Vec<_>>());
    for (e, (_, _, dur)) in list.iter().zip(&events) {
        assert_eq!(e["duration_ms"].as_u64(), Some(dur * 1000 / 8000));
    }
}

#[test]
fn info_and_kpml_digits_are_what_the_scenario_sent() {
    let an = analyze("dtmf-info.pcap", Limits::default(), true);
    let r = report(&an);
    let list = dtmf_of(&r);
    assert_eq!(digits(&list), "123#42");
    let via: Vec<&str> = list.iter().map(|e| e["via"].as_str().unwrap()).collect();
    assert_eq!(via, ["info", "info", "info", "info", "kpml", "kpml"]);
    let durations: Vec<Option<u64>> = list.iter().map(|e| e["duration_ms"].as_u64()).collect();
    assert_eq!(
        durations,
        [Some(160), Some(160), Some(160), None, None, None]
    );
    // The frames of the INFO and NOTIFY requests, as tshark numbers them.
    let frames: Vec<u64> = list.iter().map(|e| e["frame"].as_u64().unwrap()).collect();
    assert_eq!(frames, [6, 8, 10, 12, 16, 16]);
    let f = findings_of(&r, "media.dtmf-exposed");
    assert_eq!(f.len(), 1);
    let summary = f[0]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("6 DTMF digit(s)") && summary.contains("123#42"),
        "{summary}"
    );
    assert_eq!(r["summary"]["engine"]["dtmf_events"], 6);
}

#[test]
fn digits_are_masked_without_show_secrets() {
    for name in ["dtmf-rfc4733.pcap", "dtmf-info.pcap"] {
        let an = analyze(name, Limits::default(), false);
        let r = report(&an);
        let list = dtmf_of(&r);
        assert!(!list.is_empty());
        // Count, times and durations stay; the digits do not.
        assert!(
            list.iter().all(|e| e["digit"] == "•" && e["ts"].is_f64()),
            "{name}"
        );
        let f = findings_of(&r, "media.dtmf-exposed");
        let summary = f[0]["summary"].as_str().unwrap_or_default();
        assert!(summary.contains("hidden"), "{summary}");
        for secret in ["3114#", "123#42", "#"] {
            assert!(!summary.contains(secret), "{name}: {summary}");
        }
        let text = siplens::report::text::render(&Report::build(&an, 0));
        assert!(text.contains("DTMF ("), "{name}");
        assert!(!text.contains("3114#") && !text.contains("123#42"));
    }
}

#[test]
fn the_per_dialog_bound_counts_what_it_drops() {
    let limits = Limits {
        max_dtmf_per_dialog: 2,
        ..Limits::default()
    };
    let an = analyze("dtmf-info.pcap", limits.clone(), true);
    let r = report(&an);
    assert_eq!(digits(&dtmf_of(&r)), "12");
    assert_eq!(r["summary"]["evictions"]["dtmf_events"], 4);
    assert_eq!(r["summary"]["engine"]["dtmf_events_dropped"], 4);
    // RFC 4733 updates of a dropped digit change nothing.
    let an = analyze("dtmf-rfc4733.pcap", limits, true);
    let r = report(&an);
    assert_eq!(digits(&dtmf_of(&r)), "31");
    assert_eq!(r["summary"]["evictions"]["dtmf_events"], 3);
}

// ---------------------------------------------------------------- synthetic calls ---

const A: [u8; 4] = [192, 0, 2, 1];
const B: [u8; 4] = [192, 0, 2, 2];

fn sip(start: &str, cseq: &str, to_tag: &str, media: &str) -> Vec<u8> {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.{}\r\nt=0 0\r\n{media}",
        if start.starts_with("SIP/") { 2 } else { 1 }
    );
    format!(
        "{start}\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
         From: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>{to_tag}\r\nCall-ID: dtmf-1\r\n\
         CSeq: {cseq}\r\nContact: <sip:a@192.0.2.1:5060>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

/// RTP packet: payload type `pt`, sequence `seq`, timestamp `ts`, telephone-event
/// payload for `code` with the E bit and `duration`.
fn event(pt: u8, seq: u16, ts: u32, code: u8, end: bool, duration: u16) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    p.extend_from_slice(&[code, if end { 0x8a } else { 0x0a }]);
    p.extend_from_slice(&duration.to_be_bytes());
    p
}

/// A call whose SDP offers `media_offer` and answers `media_answer`, then the caller
/// sends digits 7 and 8 as events of payload type `pt` (3 updates, 3 end packets each).
fn call_with_events(media_offer: &str, media_answer: &str, pt: u8) -> Analyzer {
    let mut an = siplens::rules::analyzer(Limits::default());
    an.set_show_secrets(true);
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    an.process(&udp(
        next(),
        0,
        (A, 5060),
        (B, 5060),
        &sip(
            "INVITE sip:b@192.0.2.2 SIP/2.0",
            "1 INVITE",
            "",
            media_offer,
        ),
    ));
    an.process(&udp(
        next(),
        10,
        (B, 5060),
        (A, 5060),
        &sip("SIP/2.0 200 OK", "1 INVITE", ";tag=2", media_answer),
    ));
    let mut seq = 100;
    for (i, (code, ts)) in [(7u8, 1000u32), (8, 3000)].into_iter().enumerate() {
        let base = 100 + i as u64 * 500;
        for k in 0..6u16 {
            let end = k >= 3;
            let duration = 160 * (k.min(3) + 1);
            an.process(&udp(
                next(),
                base + u64::from(k) * 20,
                (A, 20000),
                (B, 30000),
                &event(pt, seq, ts, code, end, duration),
            ));
            seq += 1;
        }
    }
    an
}

#[test]
fn the_sdp_names_the_event_payload_type() {
    // telephone-event on 96 at 16000 Hz: decoded from 96, durations at 16 kHz.
    let an = call_with_events(
        "m=audio 20000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/16000\r\n",
        "m=audio 30000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/16000\r\n",
        96,
    );
    let r = report(&an);
    let list = dtmf_of(&r);
    assert_eq!(digits(&list), "78");
    // 4 * 160 units at 16000 Hz.
    assert!(list.iter().all(|e| e["duration_ms"] == 40), "{list:?}");
    assert_eq!(findings_of(&r, "media.dtmf-exposed").len(), 1);

    // 101 without an rtpmap naming it is not taken for telephone-event when the SDP is
    // known.
    let an = call_with_events(
        "m=audio 20000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n",
        "m=audio 30000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n",
        101,
    );
    let r = report(&an);
    assert!(dtmf_of(&r).is_empty());
    assert!(findings_of(&r, "media.dtmf-exposed").is_empty());
}

#[test]
fn srtp_events_are_not_read_nor_exposed() {
    let key =
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
    let an = call_with_events(
        &format!("m=audio 20000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{key}"),
        &format!("m=audio 30000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{key}"),
        101,
    );
    let r = report(&an);
    // The stream is bound to the call (as SRTP), its events are not read.
    let streams = r["streams"].as_array().expect("streams");
    assert!(streams
        .iter()
        .any(|s| s["encrypted"] == true && s["call_id"] == "dtmf-1"));
    assert!(dtmf_of(&r).is_empty());
    assert!(findings_of(&r, "media.dtmf-exposed").is_empty());
}

#[test]
fn digits_over_tls_are_not_exposed() {
    use siplens::model::{Addr, DtmfEvent, DtmfVia};
    use siplens::net::Transport;
    let ev = |via, transport| DtmfEvent {
        digit: b'5',
        ts: Timestamp(0),
        duration_ms: None,
        via,
        frame: 1,
        src: Addr::new(([192, 0, 2, 1], 5061).into()),
        dst: Addr::new(([192, 0, 2, 2], 5061).into()),
        transport,
        ended: true,
    };
    use siplens::rules::dtmf::is_exposed;
    assert!(!is_exposed(&ev(DtmfVia::Info, Transport::Tls)));
    assert!(!is_exposed(&ev(DtmfVia::Kpml, Transport::Wss)));
    assert!(is_exposed(&ev(DtmfVia::Info, Transport::Udp)));
    assert!(is_exposed(&ev(DtmfVia::Kpml, Transport::Ws)));
    assert!(is_exposed(&ev(DtmfVia::Rfc4733, Transport::Udp)));
}

#[test]
fn the_dashboard_ladder_shows_a_row_per_digit() {
    use siplens::tui::{ladder, snapshot::Snapshot};
    for (name, show, want) in [
        ("dtmf-info.pcap", false, vec!["DTMF • info"; 4]),
        (
            "dtmf-rfc4733.pcap",
            true,
            vec!["DTMF 3 rfc4733", "DTMF 1 rfc4733"],
        ),
    ] {
        let an = analyze(name, Limits::default(), show);
        let snap = Snapshot::build(&an);
        assert_eq!(snap.calls.len(), 1);
        let flow = ladder::merge(&snap, &[0]);
        let text = ladder::text(&snap, &[0], &flow, 160);
        let rows: Vec<&str> = text.lines().filter(|l| l.contains("DTMF")).collect();
        assert_eq!(rows.len(), snap.calls[0].dtmf.len(), "{text}");
        for w in want {
            assert!(text.contains(w), "{name}: {w} missing in\n{text}");
        }
        if name == "dtmf-info.pcap" {
            // Each INFO digit sits right under its request.
            let lines: Vec<&str> = text.lines().collect();
            let at = lines
                .iter()
                .position(|l| l.contains("DTMF"))
                .expect("a digit");
            assert!(lines[at - 1].contains("INFO"), "{text}");
            assert!(rows.iter().all(|r| !r.contains("DTMF 1")), "masked: {text}");
        }
    }
}

#[test]
fn a_late_packet_of_an_ended_event_is_no_new_digit() {
    // 5 as the SIPp recordings send it, with one update arriving after the end packets
    // (reordered, 10 ms late): still one digit, whose duration is the end packet's.
    let mut an = siplens::rules::analyzer(Limits::default());
    an.set_show_secrets(true);
    let media = "m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    let answer = "m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    an.process(&udp(
        1,
        0,
        (A, 5060),
        (B, 5060),
        &sip("INVITE sip:b@192.0.2.2 SIP/2.0", "1 INVITE", "", media),
    ));
    an.process(&udp(
        2,
        10,
        (B, 5060),
        (A, 5060),
        &sip("SIP/2.0 200 OK", "1 INVITE", ";tag=2", answer),
    ));
    let packets = [
        (100, 0, false, 160),
        (120, 1, false, 320),
        (140, 3, true, 640),
        (141, 3, true, 640),
        (150, 2, false, 480),
        (151, 3, true, 640),
    ];
    for (i, (ms, seq, end, dur)) in packets.into_iter().enumerate() {
        let p = event(101, 500 + seq, 4000, 5, end, dur);
        an.process(&udp(3 + i as u64, ms, (A, 20000), (B, 30000), &p));
    }
    let r = report(&an);
    let list = dtmf_of(&r);
    assert_eq!(digits(&list), "5");
    assert_eq!(list[0]["duration_ms"], 80);
    assert_eq!(list[0]["frame"], 3);
}
