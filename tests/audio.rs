//! `siplens audio` on the baresip tone samples (`scripts/make-samples.sh baresip-*`: the
//! caller sends a 1000 Hz sine, the callee a 600 Hz one): the decoded audio of each
//! direction holds the frequency that was sent, found with a Goertzel filter, for plain
//! RTP (PCMU), SDES-SRTP decrypted with the SDP's keys (PCMA) and G.722; durations match
//! the streams; lost packets become silence of their length; a codec it cannot decode is
//! refused by name; `--call-id` picks calls; tshark's view of each PCMU packet (timestamp,
//! payload) is found in the WAV where its timestamp puts it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use siplens::capture::{self, FrameSink, FrameSource, PcapWriter};

mod common;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("siplens-audio-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir
}

fn siplens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `siplens audio -o DIR ARGS...`; returns the output and the WAV files written.
fn audio(dir: &Path, args: &[&str]) -> (Output, Vec<PathBuf>) {
    let d = dir.to_string_lossy().into_owned();
    let mut a = vec!["audio", "-o", d.as_str()];
    a.extend_from_slice(args);
    let o = siplens(&a);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    files.sort();
    (o, files)
}

/// A 16-bit PCM WAV read independently of siplens: (rate, channels, samples of each).
fn read_wav(path: &Path) -> (u32, usize, Vec<Vec<i16>>) {
    let b = std::fs::read(path).expect("wav");
    assert_eq!(&b[..4], b"RIFF", "{}", path.display());
    assert_eq!(&b[8..16], b"WAVEfmt ");
    let le16 = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
    let le32 = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    assert_eq!(le16(20), 1, "PCM");
    assert_eq!(le16(34), 16, "16-bit");
    let channels = usize::from(le16(22));
    let rate = le32(24);
    assert_eq!(&b[36..40], b"data");
    let len = le32(40) as usize;
    assert_eq!(b.len(), 44 + len, "data size in the header");
    assert_eq!(le32(4) as usize, 36 + len, "RIFF size");
    let mut ch = vec![Vec::new(); channels];
    for (i, s) in b[44..].chunks_exact(2).enumerate() {
        ch[i % channels].push(i16::from_le_bytes([s[0], s[1]]));
    }
    (rate, channels, ch)
}

/// Power at `freq` (Goertzel's algorithm: one DFT bin, at any frequency).
fn goertzel(x: &[i16], rate: u32, freq: f64) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - k * s1 * s2
}

const PROBES: [f64; 8] = [300.0, 450.0, 600.0, 800.0, 1000.0, 1250.0, 1600.0, 2400.0];

/// The tone at `freq` dominates: at least 1000 times the power of every other probe.
fn assert_tone(x: &[i16], rate: u32, freq: f64, what: &str) {
    assert!(x.len() > rate as usize, "{what}: {} samples", x.len());
    let p = goertzel(x, rate, freq);
    for f in PROBES.iter().filter(|f| (**f - freq).abs() > 1.0) {
        let q = goertzel(x, rate, *f);
        assert!(
            p > 1000.0 * q,
            "{what}: {freq} Hz power {p:.3e} not >> {f} Hz power {q:.3e}"
        );
    }
}

fn named<'a>(files: &'a [PathBuf], part: &str) -> Vec<&'a PathBuf> {
    files
        .iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(part))
        })
        .collect()
}

/// The report's streams of `file`: (ssrc, start, end, packets).
fn streams(file: &Path) -> Vec<(u64, f64, f64, u64)> {
    let o = siplens(&["report", "-F", "json", &file.to_string_lossy()]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    v["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            (
                s["ssrc"].as_u64().expect("ssrc"),
                s["start"].as_f64().expect("start"),
                s["end"].as_f64().expect("end"),
                s["packets"].as_u64().expect("packets"),
            )
        })
        .collect()
}

fn ssrc_of(path: &Path) -> u64 {
    let n = path
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    u64::from_str_radix(n.rsplit('_').next().expect("ssrc part"), 16).expect("hex ssrc")
}

/// Each direction's file holds its sender's tone at the codec's rate, the stereo file
/// both (caller left), and each lasts as long as its stream (capture span + one packet).
fn check_tone_sample(name: &str, codec: &str, rate: u32) {
    let dir = tmp(name);
    let (o, files) = audio(&dir, &[&sample(name).to_string_lossy()]);
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    assert_eq!(files.len(), 3, "{name}: {files:?}");
    let spans = streams(&sample(name));
    for (part, freq) in [("_caller_", 1000.0), ("_callee_", 600.0)] {
        let f = named(&files, part);
        assert_eq!(f.len(), 1, "{name} {part}: {files:?}");
        let (r, channels, x) = read_wav(f[0]);
        assert_eq!((r, channels), (rate, 1), "{name} {part}");
        assert_tone(&x[0], r, freq, &format!("{name} {part}"));
        let (_, start, end, _) = *spans
            .iter()
            .find(|s| s.0 == ssrc_of(f[0]))
            .expect("the file's SSRC is a stream of the report");
        let secs = x[0].len() as f64 / f64::from(r);
        let media = end - start + 0.020;
        assert!(
            (secs - media).abs() < 0.06,
            "{name} {part}: WAV {secs:.3} s, media {media:.3} s"
        );
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains(&format!("{codec} {rate} Hz")), "{stdout}");
    }
    let st = named(&files, "_stereo");
    assert_eq!(st.len(), 1);
    let (r, channels, x) = read_wav(st[0]);
    assert_eq!((r, channels), (rate, 2));
    assert_tone(&x[0], r, 1000.0, &format!("{name} stereo left"));
    assert_tone(&x[1], r, 600.0, &format!("{name} stereo right"));
    // Aligned by the capture time of each side's first packet: the later side's channel
    // is silent until its first packet, then sounds within 5 ms (the sine's first
    // samples are near zero).
    let start = |part: &str| {
        let ssrc = ssrc_of(named(&files, part)[0]);
        spans.iter().find(|s| s.0 == ssrc).expect("stream").1
    };
    let (left, right) = (start("_caller_"), start("_callee_"));
    let t0 = left.min(right);
    for (ch, t, side) in [(0, left, "caller"), (1, right, "callee")] {
        let offset = ((t - t0) * f64::from(r)).round() as usize;
        let first = x[ch].iter().position(|&v| v != 0).expect("sound");
        assert!(
            first + 1 >= offset && first <= offset + r as usize / 200,
            "{name} {side}: first sound at {first}, its first packet at {offset}"
        );
    }
}

#[test]
fn plain_rtp_pcmu_carries_each_sides_tone() {
    check_tone_sample("baresip-pcmu.pcap", "PCMU", 8000);
}

#[test]
fn decrypted_srtp_carries_each_sides_tone() {
    // SDES keys in the SDP (RFC 4568): the engine authenticates and decrypts every
    // packet, and the audio is the tone that was sent.
    check_tone_sample("baresip-srtp.pcap", "PCMA", 8000);
}

#[test]
fn g722_decodes_to_16_khz_with_each_sides_tone() {
    check_tone_sample("baresip-g722.pcap", "G722", 16_000);
}

#[test]
fn lost_packets_keep_the_duration() {
    // 15 % of the caller's packets dropped before the capture point: its file lasts as
    // long as the callee's (both sent for the same time), with silence where they were.
    let dir = tmp("loss15");
    let (o, files) = audio(&dir, &[&sample("quality-loss15.pcap").to_string_lossy()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let spans = streams(&sample("quality-loss15.pcap"));
    let caller = named(&files, "_caller_");
    let (rate, _, x) = read_wav(caller[0]);
    let (ssrc, start, end, packets) = *spans
        .iter()
        .find(|s| s.0 == ssrc_of(caller[0]))
        .expect("stream");
    // sip-tester's g711a.pcap: 30 ms packets (240 samples).
    let secs = x[0].len() as f64 / f64::from(rate);
    let media = end - start + 0.030;
    assert!(
        (secs - media).abs() < 0.1,
        "WAV {secs:.3} s, media {media:.3} s"
    );
    // Fewer packets than the span holds (loss): the difference is silence.
    let sent = (media / 0.030).round() as u64;
    assert!(
        packets < sent * 9 / 10,
        "ssrc {ssrc:x}: {packets} of {sent}"
    );
    let zeros = x[0].iter().filter(|&&v| v == 0).count();
    assert!(
        zeros as f64 >= 0.9 * (sent - packets) as f64 * 240.0,
        "{zeros} zero samples for {} lost packets",
        sent - packets
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("of silence filled"), "{stdout}");
    let callee = named(&files, "_callee_");
    let (_, _, y) = read_wav(callee[0]);
    assert!((x[0].len() as f64 - y[0].len() as f64).abs() < 0.1 * f64::from(rate));
}

/// Copies the sample `name` frame by frame into `NAME.pcap` under a new temporary
/// directory `dir`, each frame's bytes changed by `edit`; returns that file and an empty
/// output directory beside it.
fn rewritten(name: &str, dir: &str, edit: impl Fn(&mut Vec<u8>)) -> (PathBuf, PathBuf) {
    let dir = tmp(dir);
    let pcap = dir.join(name);
    let mut input = capture::open_path(&sample(name)).expect("opens");
    let mut w = PcapWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&pcap).expect("create")),
        capture::LinkType::ETHERNET,
    )
    .expect("writer");
    while let Some(mut f) = input.next_frame().expect("reads") {
        edit(&mut f.data);
        w.write_frame(&f).expect("write");
    }
    w.flush().expect("flush");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("out");
    (pcap, out)
}

#[test]
fn an_undecodable_codec_is_refused_by_name_and_the_rest_written() {
    // The caller's RTP relabelled G.729 (static PT 18, RFC 3551): siplens names the
    // codec, writes the callee's stream and exits 1.
    let (pcap, out) = rewritten("baresip-pcmu.pcap", "g729", |d| {
        // Ethernet + IPv4 (20 bytes) + UDP: RTP from the caller's 10.254.x.1, PT 0.
        let rtp = d.len() > 54 && d[23] == 17 && d[29] == 1 && d[42] == 0x80;
        if rtp && d[43] & 0x7f == 0 {
            d[43] = (d[43] & 0x80) | 18;
        }
    });
    let (o, files) = audio(&out, &[&pcap.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("codec G729/8000 cannot be decoded"),
        "{}",
        stderr(&o)
    );
    assert_eq!(named(&files, "_callee_").len(), 1, "{files:?}");
    assert!(named(&files, "_caller_").is_empty(), "{files:?}");
    let (r, _, x) = read_wav(named(&files, "_callee_")[0]);
    assert_tone(&x[0], r, 600.0, "callee beside a refused caller");
}

#[test]
fn call_id_picks_calls_and_an_unknown_one_fails() {
    let o = siplens(&[
        "report",
        "-F",
        "json",
        &sample("baresip-srtp.pcap").to_string_lossy(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let id = v["dialogs"][0]["call_id"]
        .as_str()
        .expect("call id")
        .to_string();
    let dir = tmp("callid");
    let pcmu = sample("baresip-pcmu.pcap").to_string_lossy().into_owned();
    let srtp = sample("baresip-srtp.pcap").to_string_lossy().into_owned();
    let (o, files) = audio(&dir, &[&pcmu, &srtp, "--call-id", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files.len(), 3, "{files:?}");
    for f in &files {
        let n = f.file_name().expect("name").to_string_lossy().into_owned();
        assert!(n.starts_with(&format!("{id}_")), "{n} is not of call {id}");
    }
    let (all, files) = audio(&tmp("all"), &[&pcmu, &srtp]);
    assert!(all.status.success());
    assert_eq!(files.len(), 6, "{files:?}");
    let (o, _) = audio(&tmp("unknown"), &[&pcmu, "--call-id", "no-such-call"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown call id: no-such-call"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn srtp_without_keys_is_refused_as_not_decrypted() {
    // The same SRTP sample with every a=crypto key changed (same length): no packet
    // authenticates, and siplens says so instead of writing noise.
    let (pcap, out) = rewritten("baresip-srtp.pcap", "badkey", |d| {
        if let Some(at) = d.windows(7).position(|w| w == b"inline:") {
            let k = at + 7;
            d[k] = if d[k] == b'A' { b'B' } else { b'A' };
        }
    });
    let (o, files) = audio(&out, &[&pcap.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(files.is_empty(), "{files:?}");
    assert_eq!(
        stderr(&o).matches("SRTP not decrypted").count(),
        2,
        "{}",
        stderr(&o)
    );
}

/// µ-law to linear as G.711 §4.2 defines it, written out again here (not siplens's table).
fn ulaw(code: u8) -> i16 {
    let u = !code;
    let sign = u & 0x80;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

#[test]
fn pcmu_samples_sit_where_tshark_puts_their_packets() {
    // tshark reads each RTP packet's timestamp and payload; every payload, decoded
    // independently, must be in the WAV at (timestamp - first timestamp), byte for byte.
    if !common::tool(
        "tshark",
        "-v",
        "pcmu_samples_sit_where_tshark_puts_their_packets",
    ) {
        return;
    }
    let file = sample("baresip-pcmu.pcap");
    let dir = tmp("tshark");
    let (o, files) = audio(&dir, &[&file.to_string_lossy()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&file)
        .args([
            "-Y",
            "rtp",
            "-T",
            "fields",
            "-e",
            "rtp.ssrc",
            "-e",
            "rtp.timestamp",
        ])
        .args(["-e", "rtp.payload"])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut checked = 0;
    for part in ["_caller_", "_callee_"] {
        let f = named(&files, part)[0];
        let ssrc = ssrc_of(f);
        let (_, _, x) = read_wav(f);
        let mut first: Option<u32> = None;
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let [s, ts, payload] = cols[..] else { continue };
            if u64::from_str_radix(s.trim_start_matches("0x"), 16).ok() != Some(ssrc) {
                continue;
            }
            let ts: u32 = ts.parse().expect("timestamp");
            let at = ts.wrapping_sub(*first.get_or_insert(ts)) as usize;
            let bytes: Vec<u8> = (0..payload.len() / 2)
                .map(|i| u8::from_str_radix(&payload[2 * i..2 * i + 2], 16).expect("hex"))
                .collect();
            let want: Vec<i16> = bytes.iter().map(|&b| ulaw(b)).collect();
            assert_eq!(
                &x[0][at..at + want.len()],
                &want[..],
                "{part} timestamp {ts}"
            );
            checked += 1;
        }
    }
    assert!(checked > 250, "{checked} packets compared");
}

#[test]
fn a_stream_of_telephone_events_only_is_named_not_failed() {
    // samples/dtmf-rfc4733.pcap: the caller sends RFC 4733 events and no audio.
    let (o, files) = audio(
        &tmp("dtmf"),
        &[&sample("dtmf-rfc4733.pcap").to_string_lossy()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not written: no audio: only telephone events or comfort noise"),
        "{}",
        stderr(&o)
    );
    assert_eq!(named(&files, "_callee_").len(), 1, "{files:?}");
    assert!(named(&files, "_caller_").is_empty(), "{files:?}");
    let (_, channels, x) = read_wav(named(&files, "_stereo")[0]);
    assert_eq!(channels, 2);
    assert!(
        x[0].iter().all(|&v| v == 0),
        "the caller's channel is silent"
    );
    assert!(x[1].iter().any(|&v| v != 0));
}

/// The DTLS-SRTP sample (`dtls-srtp-call`): its streams decode with the keys derived from
/// the DTLS handshake and the key log, and with the same keys given by hand
/// (`--srtp-key`, each side's from the exporter output both OpenSSL peers printed) to
/// the same samples; with only the caller's key, the callee's stream is refused.
#[test]
fn dtls_srtp_decodes_with_the_key_log_or_keys_given_by_hand() {
    use base64::Engine as _;
    let pcap = sample("dtls-srtp-call.pcap");
    let pcap = pcap.to_string_lossy().into_owned();
    let keys = sample("dtls-srtp-call.keys").to_string_lossy().into_owned();
    let hex = std::fs::read_to_string(sample("dtls-srtp-call.exporter")).expect("exporter");
    let e: Vec<u8> = (0..hex.trim().len() / 2)
        .map(|i| u8::from_str_radix(&hex.trim()[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    // RFC 5764 §4.2: client key, server key, client salt, server salt (16, 16, 14, 14).
    let b64 =
        |k: &[u8], s: &[u8]| base64::engine::general_purpose::STANDARD.encode([k, s].concat());
    let client = format!(
        "AES_CM_128_HMAC_SHA1_80:{}@10.254.200.1:17000",
        b64(&e[0..16], &e[32..46])
    );
    let server = format!(
        "AES_CM_128_HMAC_SHA1_80:{}@10.254.200.2:16000",
        b64(&e[16..32], &e[46..60])
    );

    let by_log = tmp("dtls-keylog");
    let (o, files) = audio(&by_log, &[&pcap, "--tls-keylog", &keys]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files.len(), 3, "two streams and the stereo file: {files:?}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("not decrypted"));

    let by_hand = tmp("dtls-srtp-key");
    let (o, hand) = audio(
        &by_hand,
        &[&pcap, "--srtp-key", &client, "--srtp-key", &server],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(hand.len(), 3);
    for (a, b) in files.iter().zip(&hand) {
        assert_eq!(a.file_name(), b.file_name());
        let (ra, ca, sa) = read_wav(a);
        assert_eq!(
            (ra, ca, &sa),
            (read_wav(b).0, read_wav(b).1, &read_wav(b).2)
        );
        // Speech, not the silence an undecrypted stream would leave.
        let loud = sa[0].iter().filter(|x| x.unsigned_abs() > 1000).count();
        assert!(loud > 1000, "{}: {loud} loud samples", a.display());
    }

    let half = tmp("dtls-one-key");
    let (o, files) = audio(&half, &[&pcap, "--srtp-key", &client]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(named(&files, "_caller_").len(), 1, "{files:?}");
    assert!(named(&files, "_callee_").is_empty(), "{files:?}");
    assert!(stderr(&o).contains("SRTP not decrypted"), "{}", stderr(&o));
}
