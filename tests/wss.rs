//! SIP over secure WebSocket (RFC 7118 WSS): the wss-call sample (kamailio's websocket
//! module behind tls.so, the Python websockets client on TLS 1.3 writing the key log,
//! a SIPp UAS behind kamailio over UDP) decrypted with its key log and cross-checked
//! with tshark given the same keys, frame by frame; the NAT assessment of its `*.invalid`
//! client; and what is left without keys.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use siplens::capture;
use siplens::engine::Analyzer;
use siplens::net::tls_decrypt::KeyLog;
use siplens::net::Transport;
use siplens::report::Report;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn pcap() -> PathBuf {
    sample("wss-call.pcap")
}

fn keys() -> KeyLog {
    let mut k = KeyLog::new();
    let text = std::fs::read(sample("wss-call.keys")).expect("key log");
    k.add_nss(&text, "wss-call.keys").expect("key log parses");
    k
}

fn analyze(keys: KeyLog) -> Analyzer {
    let mut src = capture::open_path(&pcap()).expect("capture opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.set_tls_keys(keys);
    let info = an.run_source(&mut src, &mut |_, _| {});
    assert!(info.warning.is_none(), "{:?}", info.warning);
    an
}

fn report(an: &Analyzer) -> Value {
    serde_json::to_value(Report::build(an, 0)).expect("json")
}

/// Frame numbers of the SIP messages siplens recorded per transport, a frame once per
/// message.
fn message_frames(an: &Analyzer) -> BTreeMap<&'static str, Vec<u64>> {
    let mut m: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    for d in an.dialogs() {
        for r in &d.messages {
            m.entry(r.transport.as_str()).or_default().push(r.frame);
        }
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}

/// tshark's output lines for a display filter, with `opts` (the key log) before it.
fn tshark(opts: &[&str], filter: &str, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(pcap()).args(opts);
    cmd.args(["-Y", filter, "-T", "fields", "-E", "occurrence=a", "-E"]);
    cmd.arg("aggregator=,");
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(out.status.success(), "tshark failed ({filter})");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Frames matching `filter`, once each.
fn tshark_frames(opts: &[&str], filter: &str) -> Vec<u64> {
    tshark(opts, filter, &["frame.number"])
        .iter()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Frames of the SIP messages matching `filter`, a frame once per SIP message in it.
fn tshark_sip_frames(opts: &[&str], filter: &str) -> Vec<u64> {
    let mut v = Vec::new();
    for line in tshark(opts, filter, &["frame.number", "sip.CSeq.method"]) {
        let mut cols = line.split('\t');
        let frame: u64 = cols.next().and_then(|f| f.parse().ok()).expect("frame");
        let n = cols.next().map_or(0, |m| m.split(',').count());
        v.extend(std::iter::repeat_n(frame, n));
    }
    v.sort_unstable();
    v
}

fn keylog_opt() -> String {
    format!("tls.keylog_file:{}", sample("wss-call.keys").display())
}

#[test]
fn wss_call_decrypts_into_the_ws_call_exchange() {
    let an = analyze(keys());
    let r = report(&an);
    let t = &r["summary"]["net"]["tls_decrypt"];
    assert_eq!(t["sessions_decrypted"], 1, "{t}");
    for k in [
        "sessions_without_keys",
        "sessions_failed",
        "sessions_unsupported",
        "records_failed",
    ] {
        assert_eq!(t[k], 0, "{k}: {t}");
    }
    // What the sample holds without asking tshark: the ws-call exchange, 9 SIP messages
    // over WSS (the fragmented INVITE counted once) and 7 over UDP, two Call-IDs.
    let frames = message_frames(&an);
    assert_eq!(frames.get("WSS").map(Vec::len), Some(9), "{frames:?}");
    assert_eq!(frames.get("UDP").map(Vec::len), Some(7), "{frames:?}");
    assert_eq!(frames.len(), 2, "no other transport: {frames:?}");
    let mut ids: Vec<String> = an.dialogs().map(|d| d.call_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, vec!["call-ws-1", "reg-ws-1"]);
    // The dialogs name the WebSocket leg's transport and its TLS session.
    for d in r["dialogs"].as_array().expect("dialogs") {
        assert_eq!(d["transport"], "WSS", "{d}");
        assert_eq!(d["tls"]["version"], "TLS 1.3", "{d}");
        assert_eq!(d["tls"]["cipher"], "TLS_AES_256_GCM_SHA384", "{d}");
        assert_eq!(d["tls"]["server"], "127.0.0.1:443", "{d}");
    }
    let call = an
        .dialogs()
        .find(|d| d.call_id == "call-ws-1")
        .expect("the call");
    let transports: Vec<Transport> = call.messages.iter().map(|m| m.transport).collect();
    assert!(transports.contains(&Transport::Wss) && transports.contains(&Transport::Udp));
    // The WebSocket layer inside TLS: as in ws-call.
    let ws = &an.net_stats().websocket;
    assert_eq!((ws.streams, ws.handshakes, ws.other_protocols), (2, 2, 0));
    assert_eq!(
        (ws.messages, ws.sip_messages, ws.fragmented_messages),
        (9, 9, 1)
    );
    assert_eq!((ws.bad_frames, ws.desyncs, ws.cut_sip_messages), (0, 0, 0));
}

#[test]
fn wss_call_messages_are_the_ones_tshark_decrypts() {
    if !common::tool(
        "tshark",
        "-v",
        "wss_call_messages_are_the_ones_tshark_decrypts",
    ) {
        return;
    }
    let an = analyze(keys());
    let frames = message_frames(&an);
    let opt = keylog_opt();
    let k = ["-o", opt.as_str()];
    // tshark 4.0 does not reassemble fragmented WebSocket messages: the frame with the
    // continuation carrying FIN completes one SIP message it does not see.
    let fragmented = tshark_frames(&k, "websocket.opcode == 0 && websocket.fin == 1");
    assert_eq!(fragmented.len(), 1, "the sample's fragmented INVITE");
    let mut want_wss = tshark_sip_frames(&k, "sip && websocket");
    want_wss.extend(&fragmented);
    want_wss.sort_unstable();
    assert_eq!(frames["WSS"], want_wss, "SIP over WSS, per frame");
    assert_eq!(
        frames["UDP"],
        tshark_sip_frames(&k, "sip && udp"),
        "SIP over UDP, per frame"
    );
    let mut all: Vec<u64> = frames.values().flatten().copied().collect();
    all.sort_unstable();
    let mut want = tshark_sip_frames(&k, "sip");
    want.extend(&fragmented);
    want.sort_unstable();
    assert_eq!(all, want, "every SIP message");
    // Call-IDs = dialogs.
    let mut ids: Vec<String> = an.dialogs().map(|d| d.call_id.clone()).collect();
    ids.sort();
    let mut tshark_ids = tshark(&k, "sip", &["sip.Call-ID"]);
    tshark_ids.sort();
    tshark_ids.dedup();
    assert_eq!(ids, tshark_ids);
    // The WebSocket frames, control frames and upgrades tshark finds once decrypted.
    let ws = &an.net_stats().websocket;
    assert_eq!(ws.frames, tshark_frames(&k, "websocket").len() as u64);
    assert_eq!(
        ws.control_frames,
        tshark_frames(&k, "websocket.opcode >= 8").len() as u64
    );
    assert_eq!(
        ws.handshakes,
        tshark_frames(&k, "http.upgrade contains \"websocket\"").len() as u64
    );
    // The Via of the WebSocket leg says WSS (RFC 7118 §5.2), on every request there.
    let vias = tshark(&k, "websocket && sip.Method", &["sip.Via"]);
    assert!(!vias.is_empty());
    assert!(
        vias.iter().all(|v| v.starts_with("SIP/2.0/WSS ")),
        "{vias:?}"
    );
}

#[test]
fn the_invalid_host_of_the_wss_client_is_no_nat_evidence() {
    // RFC 7118 §5.2: Via and Contact name df7jal23ls0d.invalid, never the client's
    // address; kamailio adds received/rport. No NAT finding, no NAT view of either dialog.
    let an = analyze(keys());
    let nat: Vec<String> = an
        .findings()
        .into_iter()
        .map(|f| f.rule.0.to_string())
        .filter(|r| r.starts_with("nat."))
        .collect();
    assert_eq!(nat, Vec::<String>::new());
    let ix = an.nat_flow_index();
    for d in an.dialogs() {
        assert!(an.nat_view(d, &ix).is_none(), "{}", d.call_id);
    }
    let r = report(&an);
    assert!(r["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .all(|d| d["nat"].is_null()));
}

#[test]
fn without_keys_no_sip_over_websocket_and_the_session_is_counted() {
    let an = analyze(KeyLog::new());
    let frames = message_frames(&an);
    // Only kamailio's UDP leg to the SIPp UAS is readable.
    assert_eq!(frames.keys().copied().collect::<Vec<_>>(), vec!["UDP"]);
    assert_eq!(frames["UDP"].len(), 7);
    let ws = &an.net_stats().websocket;
    assert_eq!((ws.streams, ws.handshakes, ws.sip_messages), (0, 0, 0));
    let r = report(&an);
    let t = &r["summary"]["net"]["tls_decrypt"];
    assert_eq!(t["sessions_without_keys"], 1, "{t}");
    assert_eq!(t["sessions_decrypted"], 0, "{t}");
    assert_eq!(t["records_decrypted"], 0, "{t}");
    assert!(r["summary"]["net"].get("websocket").is_none());
    if common::tool(
        "tshark",
        "-v",
        "without_keys_no_sip_over_websocket_and_the_session_is_counted",
    ) {
        // tshark agrees: no HTTP upgrade, no WebSocket, SIP only on UDP.
        assert!(tshark_frames(&[], "websocket || http || (sip && tcp)").is_empty());
        assert_eq!(frames["UDP"], tshark_sip_frames(&[], "sip"));
    }
}
