//! DTLS-SRTP keying from a key log (RFC 5764 §4.2) and user-given SRTP keys (`--srtp-key`).
//!
//! `samples/dtls-srtp-call.pcap` (`scripts/make-samples.sh dtls_srtp_call`): a real DTLS 1.2
//! handshake between OpenSSL's s_client and s_server with `use_srtp`, then a SIPp call
//! whose SRTP (90 packets each way) is protected with the keys both OpenSSL peers
//! exported. Its key log is `samples/dtls-srtp-call.keys`; what OpenSSL exported,
//! `samples/dtls-srtp-call.exporter`. With the key log every SRTP packet decrypts and
//! authenticates; without it none does.
//!
//! `--srtp-key` is checked on the same sample (the exported client key given by hand) and,
//! when the public corpus is present, on an SRTP-only capture without SIP.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;
use siplens::capture;
use siplens::engine::srtp::UserKey;
use siplens::engine::Analyzer;
use siplens::net::tls_decrypt::KeyLog;
use siplens::report::Report;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn corpus() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    [local, PathBuf::from("/work/shared/corpus")]
        .into_iter()
        .find(|p| p.join("MANIFEST.md").is_file())
}

fn analyze(path: &Path, keys: KeyLog, srtp: Vec<UserKey>) -> Value {
    let mut src = capture::open_path(path).expect("capture opens");
    let mut an: Analyzer = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.set_tls_keys(keys);
    an.set_srtp_keys(srtp);
    an.run_source(&mut src, &mut |_, _| {});
    serde_json::to_value(Report::build(&an, 0)).expect("json")
}

fn sample_keylog() -> KeyLog {
    let mut k = KeyLog::new();
    let text = std::fs::read(sample("dtls-srtp-call.keys")).expect("key log");
    assert_eq!(k.add_nss(&text, "dtls-srtp-call.keys").expect("parses"), 1);
    k
}

/// (decrypted, auth failed, key source) of each stream.
fn srtp_of(r: &Value) -> Vec<(u64, u64, String)> {
    r["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            (
                s["srtp_decrypted"].as_u64().unwrap_or(0),
                s["srtp_auth_failed"].as_u64().unwrap_or(0),
                s["srtp_keys"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// SRTP packets of the capture as tshark counts them (its RTP dissector, set up by the
/// SDP, shows an SRTP authentication tag on each).
fn tshark_srtp_packets(path: &Path) -> Option<u64> {
    if !common::tool("tshark", "-v", "dtls_srtp") {
        return None;
    }
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-Y", "srtp.auth_tag", "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark runs");
    Some(String::from_utf8_lossy(&out.stdout).lines().count() as u64)
}

#[test]
fn key_log_decrypts_every_srtp_packet() {
    let path = sample("dtls-srtp-call.pcap");
    let r = analyze(&path, sample_keylog(), Vec::new());
    let dtls = &r["summary"]["engine"]["dtls"];
    assert_eq!(dtls["sessions"], 1, "{dtls}");
    assert_eq!(dtls["with_keys"], 1, "{dtls}");
    assert_eq!(dtls["without_keys"], 0, "{dtls}");
    assert_eq!(dtls["malformed"], 0, "{dtls}");
    let streams = srtp_of(&r);
    assert_eq!(streams.len(), 2, "{streams:?}");
    for (dec, failed, src) in &streams {
        assert_eq!((*dec, *failed, src.as_str()), (90, 0, "dtls"));
    }
    let total: u64 = streams.iter().map(|s| s.0).sum();
    if let Some(n) = tshark_srtp_packets(&path) {
        assert_eq!(total, n, "tshark sees {n} SRTP packets");
    }
    // The finding states the proof, as the SDES one does.
    let finding = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "media.dtls-srtp")
        .expect("media.dtls-srtp");
    let summary = finding["summary"].as_str().unwrap();
    assert!(
        summary.contains("180 of 180 SRTP packets decrypted and authenticated"),
        "{summary}"
    );
}

#[test]
fn without_the_key_log_nothing_decrypts() {
    let r = analyze(&sample("dtls-srtp-call.pcap"), KeyLog::new(), Vec::new());
    let dtls = &r["summary"]["engine"]["dtls"];
    assert_eq!(
        (dtls["with_keys"].as_u64(), dtls["without_keys"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(srtp_of(&r).iter().all(|s| s.0 == 0 && s.2.is_empty()));
    let finding = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "media.dtls-srtp")
        .expect("media.dtls-srtp");
    assert!(!finding["summary"].as_str().unwrap().contains("decrypted"));
    // Another session's key log (the TLS 1.2 sample's) gives nothing either.
    let mut other = KeyLog::new();
    other
        .add_nss(&std::fs::read(sample("tls12-call.keys")).unwrap(), "tls12")
        .unwrap();
    let r = analyze(&sample("dtls-srtp-call.pcap"), other, Vec::new());
    assert_eq!(r["summary"]["engine"]["dtls"]["without_keys"], 1);
}

/// The DTLS client's exported key and salt (RFC 5764 §4.2 layout: client key, server key,
/// client salt, server salt) as an SDES inline value, from OpenSSL's output.
fn exported_inline(client: bool) -> String {
    let hex = std::fs::read_to_string(sample("dtls-srtp-call.exporter")).expect("exporter");
    let b: Vec<u8> = (0..hex.trim().len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(b.len(), 60);
    let (key, salt) = if client {
        (&b[0..16], &b[32..46])
    } else {
        (&b[16..32], &b[46..60])
    };
    base64::engine::general_purpose::STANDARD.encode([key, salt].concat())
}

#[test]
fn user_key_with_a_selector_on_the_sample() {
    // The DTLS client (alice, 10.254.200.1:17000) sends with the client key: given by hand
    // for alice's address, it decrypts her 90 packets and is not tried on bob's.
    let spec = format!(
        "AES_CM_128_HMAC_SHA1_80:{}@10.254.200.1:17000",
        exported_inline(true)
    );
    let k = UserKey::parse(&spec).expect("spec");
    let r = analyze(&sample("dtls-srtp-call.pcap"), KeyLog::new(), vec![k]);
    let mut streams = srtp_of(&r);
    streams.sort();
    // Both streams touch alice's address: hers decrypts, bob's (to her) fails.
    assert_eq!(streams[1], (90, 0, "user".to_string()), "{streams:?}");
    assert_eq!(streams[0].0, 0, "{streams:?}");
    assert!(streams[0].1 > 0, "{streams:?}");
    // The server's key for bob's stream: both keys given, every packet decrypts.
    let both = [true, false].map(|c| {
        UserKey::parse(&format!("AES_CM_128_HMAC_SHA1_80:{}", exported_inline(c))).unwrap()
    });
    let r = analyze(&sample("dtls-srtp-call.pcap"), KeyLog::new(), both.to_vec());
    for s in srtp_of(&r) {
        assert_eq!(s, (90, 0, "user".to_string()));
    }
}

#[test]
fn user_key_on_the_corpus_srtp_capture() {
    let Some(dir) = corpus() else {
        eprintln!("skipped: public corpus absent");
        return;
    };
    let path = dir.join("pcaps/rtpproxy__alice_srtp.pcap");
    let key = "AES_CM_128_HMAC_SHA1_80:9sOd+W72ilwfNgNt0FzlGYj6YZPMqN1sJJx43UuS";
    let r = analyze(&path, KeyLog::new(), vec![UserKey::parse(key).unwrap()]);
    let streams = srtp_of(&r);
    let dec: u64 = streams.iter().map(|s| s.0).sum();
    let failed: u64 = streams.iter().map(|s| s.1).sum();
    assert_eq!((dec, failed), (1556, 0), "{streams:?}");
    // With the stream's destination as selector: the same, and a selector naming another
    // address leaves the (unsignalled) stream alone.
    let at = format!("{key}@192.168.1.81:43830");
    let r = analyze(&path, KeyLog::new(), vec![UserKey::parse(&at).unwrap()]);
    assert_eq!(srtp_of(&r).iter().map(|s| s.0).sum::<u64>(), 1556);
    let elsewhere = format!("{key}@192.168.1.81:43832");
    let r = analyze(
        &path,
        KeyLog::new(),
        vec![UserKey::parse(&elsewhere).unwrap()],
    );
    assert!(srtp_of(&r).iter().all(|s| s == &(0, 0, String::new())));
    // A wrong key (one bit flipped): nothing authenticates, the failures are counted and
    // the stream stops trying.
    let wrong = "AES_CM_128_HMAC_SHA1_80:9sOd+W72ilwfNgNt0FzlGYj6YZPMqN1sJJx43UuT";
    let r = analyze(&path, KeyLog::new(), vec![UserKey::parse(wrong).unwrap()]);
    let streams = srtp_of(&r);
    assert!(streams.iter().all(|s| s.0 == 0), "{streams:?}");
    assert!(
        streams.iter().map(|s| s.1).sum::<u64>() >= 64,
        "{streams:?}"
    );
    // The binary takes the same option.
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json", "--srtp-key", key])
        .arg(&path)
        .output()
        .expect("siplens runs");
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(srtp_of(&r).iter().map(|s| s.0).sum::<u64>(), 1556);
}

#[test]
fn bad_srtp_key_spec_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--srtp-key", "AES_CM_128_HMAC_SHA1_80:short"])
        .arg(sample("dtls-srtp-call.pcap"))
        .output()
        .expect("siplens runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--srtp-key"));
}

/// tshark, given the same key log, reads the same randoms and profile.
#[test]
fn randoms_and_profile_match_tshark() {
    if !common::tool("tshark", "-v", "randoms_and_profile_match_tshark") {
        return;
    }
    let keys = sample("dtls-srtp-call.keys");
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(sample("dtls-srtp-call.pcap"))
        .args(["-o", &format!("tls.keylog_file:{}", keys.display())])
        .args([
            "-Y",
            "dtls.handshake.type == 1 || dtls.handshake.type == 2",
            "-T",
            "fields",
            "-e",
            "dtls.handshake.type",
            "-e",
            "dtls.handshake.random",
            "-e",
            "dtls.use_srtp.protection_profile",
        ])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // One line per hello frame: types (a flight may carry several: "2,11"), random, profile.
    let field = |ty: &str, n: usize| -> String {
        text.lines()
            .find(|l| {
                l.split('\t')
                    .next()
                    .is_some_and(|t| t.split(',').next() == Some(ty))
            })
            .and_then(|l| l.split('\t').nth(n))
            .unwrap_or_else(|| panic!("hello {ty} in {text}"))
            .to_string()
    };
    // siplens's own reading of the hellos (media::dtls), datagram by datagram.
    let mut src = capture::open_path(&sample("dtls-srtp-call.pcap")).unwrap();
    let mut dec = siplens::net::Decoder::new(siplens::net::NetLimits::default());
    let mut hs = siplens::media::dtls::Handshake::new();
    use siplens::capture::FrameSource;
    while let Some(frame) = src.next_frame().unwrap() {
        let mut segs = Vec::new();
        dec.decode(&frame, &mut segs);
        for s in &segs {
            if siplens::media::classify_udp(&s.payload) == siplens::media::MediaKind::Dtls {
                let side = if s.src < s.dst {
                    siplens::media::dtls::Side::Lo
                } else {
                    siplens::media::dtls::Side::Hi
                };
                hs.on_datagram(side, &s.payload);
            }
        }
    }
    let hex = |b: [u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(hex(hs.client_random.unwrap()), field("1", 1));
    assert_eq!(hex(hs.server_random.unwrap()), field("2", 1));
    assert_eq!(format!("0x{:04x}", hs.profile.unwrap()), field("2", 2));
    assert_eq!(hs.malformed, 0);
    // The key log line siplens keys the session with names that client random.
    let log = std::fs::read_to_string(&keys).unwrap();
    assert!(
        log.contains(&format!("CLIENT_RANDOM {} ", field("1", 1))),
        "{text}"
    );
}

/// Public WebRTC captures (no SIP, no key log): each DTLS association's hellos are read
/// (tshark shows a ServerHello with `use_srtp` in each: 0x0008 AEAD_AES_256_GCM and
/// 0x0001), so each counts as "without keys", none as malformed or unsupported.
#[test]
fn corpus_webrtc_handshakes_are_read() {
    let Some(dir) = corpus() else {
        eprintln!("skipped: public corpus absent");
        return;
    };
    for f in ["ndpi__stun_dtls_rtp.pcapng", "zeek__webrtc-stun.pcap"] {
        let r = analyze(&dir.join("pcaps").join(f), KeyLog::new(), Vec::new());
        let d = &r["summary"]["engine"]["dtls"];
        assert_eq!(d["sessions"], 1, "{f}: {d}");
        assert_eq!(d["without_keys"], 1, "{f}: {d}");
        assert_eq!(d["malformed"], 0, "{f}: {d}");
        assert_eq!(d["unsupported_profile"], 0, "{f}: {d}");
    }
}

/// The text report says what the DTLS associations gave, and how to key them.
#[test]
fn text_report_names_the_missing_key_log() {
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
            .arg("report")
            .arg(sample("dtls-srtp-call.pcap"))
            .args(extra)
            .output()
            .expect("siplens runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let without = run(&[]);
    assert!(
        without.contains("1 DTLS-SRTP handshakes without keys"),
        "{without}"
    );
    let keys = sample("dtls-srtp-call.keys");
    let with = run(&["--tls-keylog", keys.to_str().unwrap()]);
    assert!(
        with.contains("1 keyed from the key log, 0 without keys"),
        "{with}"
    );
    assert!(!with.contains("handshakes without keys"), "{with}");
}
