//! Criterion benches: the SIP and SDP parsers on their own, and the whole pipeline
//! (capture read, decode, engine, report) over a bundled sample.
//!
//! Whole-capture throughput on ~1M-packet captures, with tshark and sngrep measured in the
//! same run, is `benches/bench.sh`.

// criterion_group!/criterion_main! expand to undocumented public functions.
#![allow(missing_docs)]

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use siplens::capture::{self, Frame, FrameSource};

use siplens::report::Report;

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 151\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

fn sip(c: &mut Criterion) {
    let mut g = c.benchmark_group("sip");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_message", |b| {
        b.iter(|| siplens::sip::parse_message(black_box(INVITE)).map(|m| m.headers.len()))
    });
    g.bench_function("parse+accessors+validate", |b| {
        b.iter(|| {
            let m = siplens::sip::parse_message(black_box(INVITE)).ok()?;
            let n = m.call_id()?.len() + m.vias().len() + m.cseq()?.seq as usize;
            let t = m.from()?.tag().map(|t| t.len()).unwrap_or(0);
            let p = siplens::sip::validate(&m).len();
            Some(n + t + p + m.sdp_body()?.len())
        })
    });
    g.bench_function("validate", |b| {
        let m = siplens::sip::parse_message(INVITE).ok();
        b.iter(|| {
            m.as_ref()
                .map(|m| siplens::sip::validate(black_box(m)).len())
        })
    });
    // What the engine calls per message besides parse_message and validate.
    g.bench_function("engine_accessors", |b| {
        let m = siplens::sip::parse_message(INVITE).ok();
        b.iter(|| {
            let m = black_box(m.as_ref())?;
            let via = m
                .list_values(siplens::sip::HeaderName::Via)
                .next()
                .and_then(|v| siplens::sip::Via::parse(v).ok());
            let n = m.call_id()?.len() + m.cseq()?.seq as usize;
            let f = m.from()?.tag().map_or(0, <[u8]>::len) + m.to()?.uri_raw.len();
            let v = via.and_then(|v| v.branch).map_or(0, <[u8]>::len);
            let ua = m.user_agent().map_or(0, <[u8]>::len) + m.server().map_or(0, <[u8]>::len);
            Some(n + f + v + ua + m.sdp_body()?.len())
        })
    });
    g.finish();
}

fn sdp(c: &mut Criterion) {
    let body = siplens::sip::parse_message(INVITE)
        .ok()
        .and_then(|m| m.sdp_body())
        .unwrap_or_default()
        .to_vec();
    c.bench_function("sdp/parse", |b| {
        b.iter(|| siplens::sdp::parse(black_box(&body)).media.len())
    });
}

fn pipeline(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/basic-call-rtp.pcap");
    let Ok(mut src) = capture::open_path(&path) else {
        eprintln!("sample missing: {path:?}");
        return;
    };
    let mut frames: Vec<Frame> = Vec::new();
    while let Ok(Some(f)) = src.next_frame() {
        frames.push(f);
    }
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("basic-call-rtp (engine + report)", |b| {
        b.iter(|| {
            let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
            for f in &frames {
                an.process(f);
            }
            Report::build(&an, 0).summary.rtp_packets
        })
    });
    g.finish();
}

/// The frames of `name` from the bench captures' folder (`SIPLENS_BENCH_DIR`, else
/// `bench-out/`) held in memory, and the limits the engine benches run with (no raw
/// message kept); None, said on stderr, when the capture is absent.
fn bench_capture(name: &str) -> Option<(Vec<Frame>, siplens::engine::Limits)> {
    let dir = std::env::var_os("SIPLENS_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-out"));
    let Ok(mut src) = capture::open_path(&dir.join(name)) else {
        eprintln!("{name} not found in {dir:?}: run benches/bench.sh first");
        return None;
    };
    let mut frames: Vec<Frame> = Vec::new();
    while let Ok(Some(f)) = src.next_frame() {
        frames.push(f);
    }
    let limits = siplens::engine::Limits {
        max_raw_bytes: 0,
        ..Default::default()
    };
    Some((frames, limits))
}

/// Runs `bench` in group `group` over each bench capture held in memory (see
/// [`bench_capture`]), counting frames.
fn on_bench_captures(
    c: &mut Criterion,
    group: &str,
    bench: impl Fn(&mut criterion::Bencher<'_>, &[Frame], &siplens::engine::Limits),
) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for name in ["sig-heavy.pcap", "rtp-heavy.pcap"] {
        let Some((frames, limits)) = bench_capture(name) else {
            continue;
        };
        g.throughput(Throughput::Elements(frames.len() as u64));
        g.bench_function(name, |b| bench(b, &frames, &limits));
    }
    g.finish();
}

/// The engine alone (decode, SIP/SDP parsing, dialogs, streams; no output) over the large
/// captures `benches/bench.sh` generates, frames held in memory. Skipped when they are
/// absent; `SIPLENS_BENCH_DIR` points elsewhere than `bench-out/`.
fn engine_on_bench_captures(c: &mut Criterion) {
    on_bench_captures(c, "engine", |b, frames, limits| {
        b.iter_with_large_drop(|| {
            let mut an = siplens::rules::analyzer(limits.clone());
            for f in frames {
                an.process(f);
            }
            an
        })
    });
}

/// The engine's analysis alone, on the same captures: frames decoded and their SIP
/// messages parsed beforehand in batches of the reader thread's size
/// (`Analyzer::prepare`, not timed), then analysed (`Analyzer::analyze`, timed). In a file
/// run the first half runs on the reader thread: this is the work of the engine's own
/// thread, on one core. `engine/` above times both halves on one core.
fn engine_stage_on_bench_captures(c: &mut Criterion) {
    on_bench_captures(c, "engine_stage", |b, frames, limits| {
        b.iter_custom(|iters| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..iters {
                let mut an = siplens::rules::analyzer(limits.clone());
                for chunk in frames.chunks(2048) {
                    let mut prepared = an.prepare(chunk);
                    let t = std::time::Instant::now();
                    an.analyze(&mut prepared);
                    spent += t.elapsed();
                    // Dropped untimed: a file run empties its batches on the reader
                    // thread.
                    drop(prepared);
                }
                black_box(&an);
            }
            spent
        })
    });
}

criterion_group!(
    benches,
    sip,
    sdp,
    pipeline,
    engine_on_bench_captures,
    engine_stage_on_bench_captures
);
criterion_main!(benches);
