//! Export of chosen calls (`siplens::export`, `siplens export`) and the capture writers,
//! checked by reading the output back with siplens and with tshark (skipped with a
//! notice when tshark is not installed, except under CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use siplens::capture::{
    self, Frame, FrameSink, FrameSource, LinkType, PcapWriter, PcapngWriter, Rotate, RotatingWriter,
};
use siplens::engine::Analyzer;
use siplens::export::{self, ExportError, Selection};

const KAMAILIO_CALL: &str = "1-1067@10.254.1.2";

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siplens-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

fn frames_of(path: &Path) -> Vec<Frame> {
    let mut src = capture::open_path(path).expect("opens");
    let mut v = Vec::new();
    while let Some(f) = src.next_frame().expect("reads") {
        v.push(f);
    }
    v
}

fn analyze(path: &Path) -> Analyzer {
    export::analyze(&[path.to_path_buf()]).expect("analysis")
}

/// (call id, message count) per dialog.
fn dialogs(an: &Analyzer) -> Vec<(String, usize)> {
    an.dialogs()
        .map(|d| (d.call_id.clone(), d.messages.len()))
        .collect()
}

/// (src, dst, ssrc, packets, call id) per stream, sorted.
fn streams(an: &Analyzer) -> Vec<(String, String, u32, u64, Option<String>)> {
    let mut v: Vec<_> = an
        .streams()
        .iter()
        .map(|s| {
            (
                s.src.to_string(),
                s.dst.to_string(),
                s.ssrc,
                s.stats.packets(),
                s.call_id.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

/// tshark, once [`common::tool`] found it runnable: the read-back checks of a test run
/// only with one in hand, so a machine without tshark skips them (with the reason printed)
/// while CI, which installs tshark, fails instead.
struct Tshark;

impl Tshark {
    /// tshark for the test `test`, or None (skip printed; a panic under CI) without it.
    fn for_test(test: &str) -> Option<Tshark> {
        common::tool("tshark", "-v", test).then_some(Tshark)
    }

    /// tshark's output for `args` on `file`; a failing tshark fails the test.
    fn run(&self, file: &Path, args: &[&str]) -> String {
        let o = Command::new("tshark")
            .arg("-r")
            .arg(file)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tshark on {}: {e}", file.display()));
        assert!(
            o.status.success(),
            "tshark failed on {}: {}",
            file.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Frames of `file` matching the display filter `filter`.
    fn count(&self, file: &Path, filter: &str) -> usize {
        self.run(
            file,
            &[
                "-o",
                "rtp.heuristic_rtp:TRUE",
                "-Y",
                filter,
                "-T",
                "fields",
                "-e",
                "frame.number",
            ],
        )
        .lines()
        .filter(|l| !l.is_empty())
        .count()
    }

    /// The distinct SIP Call-IDs of `file`, sorted.
    fn call_ids(&self, file: &Path) -> Vec<String> {
        let mut v: Vec<String> = self
            .run(file, &["-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"])
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[test]
fn writers_round_trip_samples_and_tshark_reads_them() {
    let tshark = Tshark::for_test("writers_round_trip_samples_and_tshark_reads_them");
    // Classic pcap (one link type) and pcapng (two link types).
    for (name, ng) in [
        ("basic-call-rtp.pcap", false),
        ("two-interfaces.pcapng", true),
        ("cooked-any-sll2.pcap", false),
    ] {
        let frames = frames_of(&sample(name));
        let out = tmp(&format!("rt-{name}"));
        let file = std::io::BufWriter::new(std::fs::File::create(&out).expect("create"));
        if ng {
            let mut w = PcapngWriter::new(file).expect("shb");
            for f in &frames {
                w.write_frame(f).expect("write");
            }
            w.into_inner().expect("flush");
        } else {
            let mut w = PcapWriter::new(file, frames[0].link_type).expect("header");
            for f in &frames {
                w.write_frame(f).expect("write");
            }
            w.into_inner().expect("flush");
        }
        let back = frames_of(&out);
        assert_eq!(back.len(), frames.len(), "{name}");
        for (a, b) in frames.iter().zip(&back) {
            assert_eq!(
                (a.number, a.ts, a.link_type, &a.data, a.orig_len),
                (b.number, b.ts, b.link_type, &b.data, b.orig_len),
                "{name}"
            );
        }
        if let Some(t) = &tshark {
            assert_eq!(
                t.count(&out, "frame"),
                frames.len(),
                "tshark frames of {name}"
            );
            assert_eq!(
                t.count(&out, "sip"),
                t.count(&sample(name), "sip"),
                "tshark SIP of {name}"
            );
        }
    }
}

#[test]
fn rotating_files_open_in_tshark() {
    let tshark = Tshark::for_test("rotating_files_open_in_tshark");
    let frames = frames_of(&sample("basic-call-rtp.pcap"));
    let dir = tmp("rotate");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    // The call lasts about 3 s of packet time: one file per second.
    let mut w = RotatingWriter::new(&dir.join("cap.pcapng"), Rotate::Time(1_000_000_000));
    for f in &frames {
        w.write_frame(f).expect("write");
    }
    w.flush().expect("flush");
    let files = w.files().to_vec();
    assert!(files.len() >= 3, "{files:?}");
    assert_eq!(files[0], dir.join("cap-00001.pcapng"));
    let mut total = 0;
    for f in &files {
        let n = frames_of(f).len();
        if let Some(t) = &tshark {
            assert_eq!(t.count(f, "frame"), n, "{}", f.display());
        }
        total += n;
    }
    assert_eq!(total, frames.len());
}

#[test]
fn one_call_of_many_with_its_rtp() {
    let tshark = Tshark::for_test("one_call_of_many_with_its_rtp");
    let input = sample("kamailio-auth.pcap");
    let full = analyze(&input);
    assert!(full.dialogs().count() > 1, "the sample has several calls");
    let want_msgs = full
        .dialogs()
        .find(|d| d.call_id == KAMAILIO_CALL)
        .map(|d| d.messages.len())
        .expect("call in sample");
    let want_streams: Vec<_> = streams(&full)
        .into_iter()
        .filter(|s| s.4.as_deref() == Some(KAMAILIO_CALL))
        .collect();
    assert_eq!(want_streams.len(), 2);

    let sel = Selection::for_calls(&full, &[KAMAILIO_CALL]).expect("known id");
    assert_eq!(sel.call_ids(), &[KAMAILIO_CALL.to_string()]);
    assert_eq!(sel.frames_sip(), want_msgs);
    assert_eq!(sel.media_flows(), 2);
    let out = tmp("kamailio-call.pcap");
    let stats = export::export_to_file(std::slice::from_ref(&input), &sel, &out).expect("export");
    let rtp: u64 = want_streams.iter().map(|s| s.3).sum();
    assert_eq!(stats.sip, want_msgs as u64);
    assert_eq!(stats.rtp, rtp);
    assert_eq!(stats.frames, stats.sip + stats.rtp + stats.rtcp);

    // Read back with siplens: exactly that call, same messages, same streams.
    let back = analyze(&out);
    assert_eq!(dialogs(&back), vec![(KAMAILIO_CALL.to_string(), want_msgs)]);
    assert_eq!(streams(&back), want_streams);
    // Pcap (one link type), frames in capture order.
    let frames = frames_of(&out);
    assert!(frames.windows(2).all(|w| w[0].ts <= w[1].ts));
    assert!(frames.iter().all(|f| f.link_type == LinkType::ETHERNET));

    // And with tshark.
    if let Some(t) = &tshark {
        assert_eq!(t.call_ids(&out), vec![KAMAILIO_CALL.to_string()]);
        assert_eq!(t.count(&out, "rtp"), rtp as usize);
        assert_eq!(t.count(&out, "sip"), want_msgs);
    }
}

#[test]
fn without_media_only_sip() {
    let input = sample("kamailio-auth.pcap");
    let full = analyze(&input);
    let sel = Selection::for_calls(&full, &[KAMAILIO_CALL])
        .expect("known id")
        .with_media(false);
    assert_eq!(sel.media_flows(), 0);
    let out = tmp("kamailio-sip-only.pcap");
    let stats = export::export_to_file(&[input], &sel, &out).expect("export");
    assert_eq!((stats.rtp, stats.rtcp), (0, 0));
    assert_eq!(stats.frames, stats.sip);
    assert!(analyze(&out).streams().is_empty());
}

#[test]
fn tcp_call_keeps_segments_and_handshake() {
    let tshark = Tshark::for_test("tcp_call_keeps_segments_and_handshake");
    let input = sample("tcp-call.pcap");
    let full = analyze(&input);
    let ids: Vec<String> = full.dialogs().map(|d| d.call_id.clone()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let sel = Selection::for_calls(&full, &refs).expect("ids");
    let out = tmp("tcp-call.pcap");
    let stats = export::export_to_file(std::slice::from_ref(&input), &sel, &out).expect("export");
    // The INVITE spans 4 segments: more frames than messages.
    assert!(stats.sip > sel.frames_sip() as u64, "{stats}");
    assert_eq!(dialogs(&analyze(&out)), dialogs(&full));
    if let Some(t) = &tshark {
        assert_eq!(t.count(&out, "sip"), t.count(&input, "sip"));
        // SYN, SYN-ACK and the FINs came along: tshark sees the whole conversation.
        assert_eq!(t.count(&out, "tcp.flags.syn == 1"), 2);
        assert_eq!(t.count(&out, "tcp.analysis.lost_segment"), 0);
    }
}

#[test]
fn fragmented_datagrams_come_whole() {
    let tshark = Tshark::for_test("fragmented_datagrams_come_whole");
    for name in ["fragmented-invite.pcap", "fragmented-invite-v6.pcap"] {
        let input = sample(name);
        let full = analyze(&input);
        let id = full.dialogs().next().expect("a call").call_id.clone();
        let sel = Selection::for_calls(&full, &[&id]).expect("id");
        let out = tmp(&format!("frag-{name}"));
        let stats =
            export::export_to_file(std::slice::from_ref(&input), &sel, &out).expect("export");
        // Three fragments for one message: two more frames than messages.
        assert_eq!(stats.sip, sel.frames_sip() as u64 + 2, "{name}: {stats}");
        assert_eq!(dialogs(&analyze(&out)), dialogs(&full), "{name}");
        if let Some(t) = &tshark {
            assert_eq!(t.count(&out, "sip"), t.count(&input, "sip"), "{name}");
        }
    }
}

#[test]
fn frame_numbers_continue_across_inputs() {
    // The call is in the second input: its frame numbers are offset by the first's.
    let inputs = vec![
        sample("register-digest.pcap"),
        sample("basic-call-rtp.pcap"),
    ];
    let an = export::analyze(&inputs).expect("analysis");
    let id = an
        .dialogs()
        .find(|d| d.is_call())
        .expect("the call")
        .call_id
        .clone();
    let sel = Selection::for_calls(&an, &[&id]).expect("id");
    let out = tmp("two-inputs.pcap");
    let stats = export::export_to_file(&inputs, &sel, &out).expect("export");
    let alone = analyze(&sample("basic-call-rtp.pcap"));
    let back = analyze(&out);
    assert_eq!(dialogs(&back), dialogs(&alone));
    assert_eq!(streams(&back), streams(&alone));
    assert_eq!(stats.rtp, 180);
}

#[test]
fn mixed_link_types_give_pcapng() {
    let input = sample("two-interfaces.pcapng");
    let full = analyze(&input);
    let id = full.dialogs().next().expect("a call").call_id.clone();
    let sel = Selection::for_calls(&full, &[&id]).expect("id");
    let out = tmp("two-link-types.pcap");
    export::export_to_file(&[input], &sel, &out).expect("export");
    let bytes = std::fs::read(&out).expect("written");
    assert_eq!(
        bytes.get(..4),
        Some(&[0x0a, 0x0d, 0x0d, 0x0a][..]),
        "pcapng SHB"
    );
    let lts: Vec<LinkType> = frames_of(&out).iter().map(|f| f.link_type).collect();
    assert!(lts.contains(&LinkType::ETHERNET) && lts.contains(&LinkType::LINUX_SLL));
    assert_eq!(dialogs(&analyze(&out)), dialogs(&full));
}

#[test]
fn library_errors_are_typed() {
    let an = analyze(&sample("basic-call-rtp.pcap"));
    match Selection::for_calls(&an, &["nope@x", "1-8873@127.0.0.1"]) {
        Err(ExportError::UnknownCallIds(v)) => assert_eq!(v, vec!["nope@x".to_string()]),
        other => panic!("expected UnknownCallIds, got {other:?}"),
    }
    let sel = Selection::for_calls(&an, &["1-8873@127.0.0.1"]).expect("id");
    let e = export::export_to_file(
        &[sample("basic-call-rtp.pcap")],
        &sel,
        Path::new("/nonexistent-dir/out.pcap"),
    )
    .expect_err("unwritable");
    assert!(matches!(e, ExportError::Output { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent-dir/out.pcap"), "{e}");
    let e = export::plan(&[PathBuf::from("/nonexistent/in.pcap")], &sel).expect_err("input");
    assert!(matches!(e, ExportError::Input { .. }), "{e}");
}

// --- the command line ---

fn siplens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn cli_exports_one_call() {
    let input = sample("kamailio-auth.pcap");
    let out = tmp("cli-one.pcap");
    let o = siplens(&[
        "export",
        s(&input),
        "--call-id",
        KAMAILIO_CALL,
        "-o",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("cli-one.pcap: 197 frames (17 SIP, 180 RTP, 0 RTCP)"),
        "{err}"
    );
    assert_eq!(
        dialogs(&analyze(&out)),
        vec![(KAMAILIO_CALL.to_string(), 17)]
    );
    let out2 = tmp("cli-no-rtp.pcap");
    let o = siplens(&[
        "export",
        s(&input),
        "--call-id",
        KAMAILIO_CALL,
        "--no-rtp",
        "-o",
        s(&out2),
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("(17 SIP, 0 RTP, 0 RTCP)"));
}

#[test]
fn cli_split_writes_one_file_per_call() {
    let tshark = Tshark::for_test("cli_split_writes_one_file_per_call");
    let input = sample("kamailio-auth.pcap");
    let dir = tmp("split");
    let _ = std::fs::remove_dir_all(&dir);
    let o = siplens(&["export", s(&input), "--all", "--split", s(&dir)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let full = analyze(&input);
    let mut want = dialogs(&full);
    want.sort();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expect_names: Vec<String> = want
        .iter()
        .map(|(id, _)| format!("{}.pcap", export::file_stem(id)))
        .collect();
    expect_names.sort();
    assert_eq!(names, expect_names);
    for (id, msgs) in &want {
        let f = dir.join(format!("{}.pcap", export::file_stem(id)));
        assert_eq!(dialogs(&analyze(&f)), vec![(id.clone(), *msgs)]);
        if let Some(t) = &tshark {
            assert_eq!(t.call_ids(&f), vec![id.clone()]);
        }
    }
    // One summary line per file.
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).lines().count(),
        want.len()
    );
}

#[test]
fn cli_unknown_call_id_exits_2_naming_it() {
    let input = sample("basic-call-rtp.pcap");
    let out = tmp("never.pcap");
    let _ = std::fs::remove_file(&out);
    let o = siplens(&[
        "export",
        s(&input),
        "--call-id",
        "no-such-call@example",
        "-o",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no-such-call@example"), "{err}");
    assert!(!out.exists(), "no output for a failed export");
}

#[test]
fn cli_refuses_stdin_and_missing_arguments() {
    let out = tmp("stdin.pcap");
    let o = siplens(&["export", "-", "--all", "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("standard input"));
    // Neither --call-id nor --all, or no output: a usage error.
    let input = sample("basic-call-rtp.pcap");
    assert_eq!(
        siplens(&["export", s(&input), "-o", s(&out)]).status.code(),
        Some(2)
    );
    assert_eq!(
        siplens(&["export", s(&input), "--all"]).status.code(),
        Some(2)
    );
}

fn corpus(name: &str) -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pcaps");
    let found = [local, PathBuf::from("/work/shared/corpus/pcaps")]
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!("skipping: corpus capture {name} not found");
    }
    found
}

/// Public captures with RTCP (MANIFEST.md): a TCP call with RTP and RTCP over UDP, and two
/// calls of which one has media and RTCP. Every RTCP packet of the capture belongs to a
/// chosen call here, so the export must hold all of them.
#[test]
fn corpus_calls_keep_their_rtcp() {
    let tshark = Tshark::for_test("corpus_calls_keep_their_rtcp");
    for (name, call, rtcp) in [
        (
            "heplify__sip_ipv4_tcp.pcap",
            "158936656982201062716@10.33.6.100",
            2,
        ),
        (
            "goffinet__voip-extension.pcap",
            "673b0437-dc3f99dd-699f99a7-92fd8066@192.168.5.10",
            5,
        ),
    ] {
        let Some(input) = corpus(name) else { continue };
        let full = analyze(&input);
        let sel = Selection::for_calls(&full, &[call]).expect("known id");
        let out = tmp(&format!("corpus-{name}"));
        let stats =
            export::export_to_file(std::slice::from_ref(&input), &sel, &out).expect("export");
        assert_eq!(stats.rtcp, rtcp, "{name}: {stats}");
        let want: Vec<_> = streams(&full)
            .into_iter()
            .filter(|s| s.4.as_deref() == Some(call))
            .collect();
        let back = analyze(&out);
        assert_eq!(streams(&back), want, "{name}");
        let msgs = full
            .dialogs()
            .find(|d| d.call_id == call)
            .map(|d| d.messages.len());
        assert_eq!(dialogs(&back), vec![(call.to_string(), msgs.unwrap_or(0))]);
        if let Some(t) = &tshark {
            assert_eq!(t.call_ids(&out), vec![call.to_string()], "{name}");
            assert_eq!(t.count(&out, "rtcp"), rtcp as usize, "{name}");
            let rtp: u64 = want.iter().map(|s| s.3).sum();
            assert_eq!(t.count(&out, "rtp"), rtp as usize, "{name}");
        }
    }
}
