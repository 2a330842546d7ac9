//! Message text kept as locators into the capture file (P7 item 5): what the raw view, the
//! diff and header filters read back must be exactly the bytes the copy-based path keeps,
//! including messages rebuilt from several TCP segments or IP fragments (those keep copies).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use siplens::capture;
use siplens::engine::{Analyzer, Limits, RawText};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Every message's bytes, in dialog and message order.
type Texts = Vec<Option<Arc<[u8]>>>;

/// Every message's bytes, and how many were locators and copies.
fn texts(an: &Analyzer) -> (Texts, usize, usize) {
    let mut out = Vec::new();
    let (mut at, mut copies) = (0, 0);
    for d in an.dialogs() {
        for m in &d.messages {
            match m.raw {
                RawText::At(_) => at += 1,
                RawText::Copy(_) => copies += 1,
                RawText::None => {}
            }
            out.push(an.message_bytes(m));
        }
    }
    (out, at, copies)
}

/// By path (locators where possible) and from memory (copies only, the reference).
fn both(name: &str) -> ((Texts, usize, usize), Texts) {
    let path = sample(name);
    let mut by_path = Analyzer::new(Limits::default());
    let mut src = capture::open_path(&path).expect("opens");
    by_path.run_source(&mut src, &mut |_, _| {});
    let bytes = std::fs::read(&path).expect("reads");
    let mut in_memory = Analyzer::new(Limits::default());
    let mut src = capture::open_bytes(name, bytes).expect("opens");
    in_memory.run_source(&mut src, &mut |_, _| {});
    let (reference, at, copies) = texts(&in_memory);
    assert_eq!(at, 0, "{name}: bytes in memory cannot be read again");
    assert_eq!(copies, reference.len(), "{name}");
    (texts(&by_path), reference)
}

#[test]
fn located_messages_read_back_exactly_as_copied() {
    for name in [
        "basic-call-rtp.pcap",
        "two-interfaces.pcapng",
        "vlan-call.pcap",
        "sips-identity-smime.pcap",
        "ipv6-call.pcap",
    ] {
        let ((got, at, copies), want) = both(name);
        assert!(!want.is_empty(), "{name}");
        assert_eq!(got, want, "{name}");
        assert!(want.iter().all(Option::is_some), "{name}");
        assert_eq!(
            (at, copies),
            (want.len(), 0),
            "{name}: every message located"
        );
    }
}

#[test]
fn reassembled_messages_keep_copies_and_the_same_bytes() {
    for name in [
        "tcp-call.pcap",
        "fragmented-invite.pcap",
        "fragmented-invite-v6.pcap",
    ] {
        let ((got, _, copies), want) = both(name);
        assert!(!want.is_empty(), "{name}");
        assert_eq!(got, want, "{name}");
        assert!(
            copies > 0,
            "{name}: a message rebuilt from several packets is copied"
        );
    }
}

#[test]
fn gzip_input_keeps_copies() {
    let mut an = Analyzer::new(Limits::default());
    let mut src = capture::open_path(&sample("basic-call-rtp.pcap.gz")).expect("opens");
    an.run_source(&mut src, &mut |_, _| {});
    let (gz, at, _) = texts(&an);
    assert_eq!(at, 0, "gzip cannot be read again by seeking");
    let ((plain, _, _), _) = both("basic-call-rtp.pcap");
    assert_eq!(gz, plain);
}

#[test]
fn the_dashboard_reads_located_text_on_demand() {
    let path = sample("basic-call-rtp.pcap");
    let mut an = Analyzer::new(Limits {
        max_raw_bytes: 0,
        ..Limits::default()
    });
    let mut src = capture::open_path(&path).expect("opens");
    an.run_source(&mut src, &mut |_, _| {});
    let d = an.dialogs().next().expect("a dialog");
    let m = &d.messages[0];
    let lazy = siplens::engine::LazyRaw::new(m.raw.clone(), an.raw_files());
    assert!(lazy.is_located());
    let text = lazy.bytes().expect("read back");
    assert!(
        text.starts_with(b"INVITE "),
        "{:?}",
        String::from_utf8_lossy(text)
    );
    assert_eq!(Some(text), an.message_bytes(m).as_deref());
}

#[test]
fn a_rewritten_file_is_not_read_back() {
    // Offsets into a file that changed since would show other bytes: none are shown.
    let dir = std::env::temp_dir().join(format!("siplens-raw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let copy = dir.join("call.pcap");
    std::fs::copy(sample("basic-call-rtp.pcap"), &copy).expect("copy");
    let mut an = Analyzer::new(Limits::default());
    let mut src = capture::open_path(&copy).expect("opens");
    an.run_source(&mut src, &mut |_, _| {});
    let m = an.dialogs().next().expect("a dialog").messages[0].clone();
    let mut bytes = std::fs::read(&copy).expect("reads");
    bytes.extend_from_slice(b"more");
    std::fs::write(&copy, bytes).expect("rewrites");
    assert_eq!(an.message_bytes(&m), None);
    std::fs::remove_dir_all(&dir).ok();
}
