//! SRTP decryption on the bundled SDES sample (`samples/sdes-call-udp.pcap`, made by
//! `scripts/make-samples.sh sdes_call_udp` with `scripts/srtp-protect.py`: SIPp's G.711
//! A-law audio protected as AES_CM_128_HMAC_SHA1_80 under the keys its SDP carries).
//!
//! Read through the pure API (`media::srtp`) with the keys parsed from the capture's own
//! SDP: every packet must authenticate, and decrypt to the audio SIPp played. That audio
//! (`/usr/share/sip-tester/g711a.pcap`, or `$AUDIO_SRC` as make-samples.sh names it) is
//! compared payload by payload when present; without it the decrypted payloads must at
//! least read as A-law speech, not as ciphertext (byte histogram).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use siplens::capture::{self, FrameSource};
use siplens::media::srtp::{MasterKey, SrtpContext, SrtpError};
use siplens::net::{Decoder, NetLimits, Transport};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Every UDP payload of a capture with its source and destination.
fn udp_payloads(path: &Path) -> Vec<(SocketAddr, SocketAddr, Vec<u8>)> {
    let mut src = capture::open_path(path).expect("capture opens");
    let mut dec = Decoder::new(NetLimits::default());
    let mut out = Vec::new();
    while let Some(frame) = src.next_frame().expect("frame reads") {
        let mut segs = Vec::new();
        dec.decode(&frame, &mut segs);
        for s in segs.drain(..) {
            if s.transport == Transport::Udp {
                out.push((s.src, s.dst, s.payload.into_owned()));
            }
        }
    }
    out
}

/// The SDES keys of the capture's SDP bodies, by the media address each SDP announced
/// (where its sender receives, and sends from: symmetric RTP).
fn sdes_keys(udp: &[(SocketAddr, SocketAddr, Vec<u8>)]) -> HashMap<SocketAddr, MasterKey> {
    let mut keys = HashMap::new();
    for (_, _, p) in udp {
        let Some(at) = p.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        if !p.starts_with(b"INVITE ") && !p.starts_with(b"SIP/2.0 200") {
            continue;
        }
        let sdp = siplens::sdp::parse(&p[at + 4..]);
        for m in &sdp.media {
            let Some(ip) = m.connection_address(&sdp) else {
                continue;
            };
            for c in m.crypto() {
                let k = &c.key_params[0];
                let mki = k.mki.map_or(0, |m| m.length);
                let key = MasterKey::from_sdes(c.suite, k.key_salt, mki).expect("supported key");
                keys.insert(SocketAddr::new(ip, m.rtp_port()), key);
            }
        }
    }
    keys
}

/// RTP packets (version 2, not RTCP) of the capture by sender.
fn rtp_by_sender(udp: &[(SocketAddr, SocketAddr, Vec<u8>)]) -> HashMap<SocketAddr, Vec<&[u8]>> {
    let mut by = HashMap::<SocketAddr, Vec<&[u8]>>::new();
    for (src, _, p) in udp {
        if p.len() >= 12 && p[0] >> 6 == 2 && !(200..=207).contains(&p[1]) {
            by.entry(*src).or_default().push(p);
        }
    }
    by
}

/// The RTP payloads of the audio SIPp played, by sequence number.
fn original_audio() -> Option<HashMap<u16, Vec<u8>>> {
    let path = std::env::var_os("AUDIO_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/sip-tester/g711a.pcap"));
    if !path.exists() {
        return None;
    }
    let mut out = HashMap::new();
    for (_, _, p) in udp_payloads(&path) {
        if let Some(h) = siplens::media::rtp::parse(&p) {
            let payload = &p[h.payload_offset..h.payload_offset + h.payload_len];
            out.entry(h.sequence).or_insert_with(|| payload.to_vec());
        }
    }
    Some(out)
}

/// Shannon entropy in bits per byte.
fn entropy(bytes: &[u8]) -> f64 {
    let mut n = [0u64; 256];
    for b in bytes {
        n[usize::from(*b)] += 1;
    }
    let total = bytes.len() as f64;
    n.iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

#[test]
fn sdes_sample_decrypts_to_the_audio_sipp_played() {
    let udp = udp_payloads(&sample("sdes-call-udp.pcap"));
    let keys = sdes_keys(&udp);
    assert_eq!(keys.len(), 2, "the offer's and the answer's key");
    let rtp = rtp_by_sender(&udp);
    assert_eq!(rtp.len(), 2, "one stream each way");
    let original = original_audio();
    if original.is_none() {
        eprintln!("note: SIPp's g711a.pcap is not installed: payloads checked by histogram");
    }
    let mut buf = Vec::new();
    let (mut clear, mut cipher) = (Vec::new(), Vec::new());
    for (sender, packets) in &rtp {
        // RFC 4568 §6.1: the key of an SDP encrypts what that SDP's sender sends.
        let key = keys
            .get(sender)
            .expect("the sender's SDP announced its address");
        let mut ctx = SrtpContext::new(key).unwrap();
        assert_eq!(packets.len(), 90);
        for p in packets {
            let u = ctx
                .unprotect_rtp(p, &mut buf)
                .unwrap_or_else(|e| panic!("{sender}: {e}"));
            let h = siplens::media::rtp::parse(&buf).expect("clear RTP header");
            assert_eq!(u.index, u64::from(h.sequence), "ROC 0 in a short call");
            let payload = &buf[u.payload_start..];
            assert!(!payload.is_empty());
            assert_eq!(h.payload_type, 8, "PCMA");
            if let Some(orig) = &original {
                assert_eq!(
                    orig.get(&h.sequence).map(Vec::as_slice),
                    Some(payload),
                    "{sender} seq {}",
                    h.sequence
                );
            }
            clear.extend_from_slice(payload);
            cipher.extend_from_slice(&p[u.payload_start..u.payload_start + payload.len()]);
        }
        // The other side's key authenticates none of these packets.
        let other = keys.iter().find(|(a, _)| *a != sender).unwrap().1;
        let mut wrong = SrtpContext::new(other).unwrap();
        for p in packets {
            assert_eq!(wrong.unprotect_rtp(p, &mut buf), Err(SrtpError::AuthFailed));
            assert!(buf.is_empty());
        }
    }
    // AES-CM output is uniform (~8 bits/byte over 28,800 bytes); A-law speech is not.
    let (hc, hx) = (entropy(&clear), entropy(&cipher));
    eprintln!("entropy: decrypted {hc:.2}, ciphertext {hx:.2} bits/byte");
    assert!(hx > 7.9, "ciphertext entropy {hx}");
    assert!(hc < hx - 0.5, "decrypted entropy {hc} vs ciphertext {hx}");
}

/// The report counts what the engine decrypted on each stream (all 180 packets), and the
/// exposed-key finding says so.
#[test]
fn report_counts_decrypted_packets() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json"])
        .arg(sample("sdes-call-udp.pcap"))
        .output()
        .expect("siplens runs");
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let streams = r["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2);
    for s in streams {
        assert_eq!(s["srtp_decrypted"], 90, "{s}");
        assert_eq!(s["srtp_auth_failed"], 0, "{s}");
    }
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "media.sdes-key-exposed")
        .expect("media.sdes-key-exposed");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.contains(
            "180 of 180 SRTP packets decrypted and authenticated with the key from the SDP"
        ),
        "{summary}"
    );
    // SDES over TLS without the TLS keys: no key seen, nothing tried, no field.
    for name in ["tls-srtp-call.pcap", "clean-tls-srtp.pcap"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_siplens"))
            .args(["report", "--format", "json"])
            .arg(sample(name))
            .output()
            .expect("siplens runs");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for s in r["streams"].as_array().unwrap() {
            assert!(s.get("srtp_decrypted").is_none(), "{name}: {s}");
        }
    }
}

/// One byte of the caller's SDES key changed in the SDP ("911P" -> "911Q"): the
/// caller's stream authenticates nothing, stops trying after 64 failures in a row, and
/// the callee's stream still decrypts; the finding counts only what was proven.
#[test]
fn a_wrong_sdp_key_decrypts_nothing() {
    let mut bytes = std::fs::read(sample("sdes-call-udp.pcap")).unwrap();
    let needle = b"inline:911Pl6d0";
    let mut hits = 0;
    for i in 0..bytes.len() - needle.len() {
        if &bytes[i..i + needle.len()] == needle {
            bytes[i + 10] = b'Q';
            hits += 1;
        }
    }
    assert!(hits > 0, "the caller's key is in the sample");
    let dir = std::env::temp_dir().join(format!("siplens-srtp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wrong-key.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--format", "json"])
        .arg(&path)
        .output()
        .expect("siplens runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_src = |src: &str| {
        r["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["src"] == src)
            .cloned()
            .unwrap()
    };
    let caller = by_src("10.254.4.1:17000");
    assert_eq!(caller["srtp_decrypted"], 0, "{caller}");
    assert_eq!(caller["srtp_auth_failed"], 64, "{caller}");
    let callee = by_src("10.254.4.2:16000");
    assert_eq!(callee["srtp_decrypted"], 90, "{callee}");
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "media.sdes-key-exposed")
        .unwrap();
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.contains("90 of 180 SRTP packets decrypted"),
        "{summary}"
    );
    assert!(summary.contains("(1 stream(s))"), "{summary}");
}
