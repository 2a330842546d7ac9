//! Dashboard redraw cost with 100,000 dialogs (issue target: under 20 ms per view).
//!
//! A synthetic snapshot (100k calls of 7 messages each, every message with its raw text,
//! findings on every tenth call) is drawn into ratatui's `TestBackend` at 200×50 for each
//! view; the filter and sort benches measure what one keystroke costs on the call list.

// criterion_group!/criterion_main! expand to undocumented public functions.
#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use siplens::engine::Severity;
use siplens::tui::render::draw;
use siplens::tui::snapshot::{CallRow, FindingRow, MsgRow, StatSection, StreamRow};
use siplens::tui::{update, Action, App, Snapshot};

const CALLS: usize = 100_000;

fn message(call: usize, i: usize, label: &str) -> MsgRow {
    let raw = format!(
        "{label} sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{call}x{i}\r\n\
         From: <sip:user{call}@10.0.0.1>;tag={call}\r\nTo: <sip:bob@10.0.0.2>\r\n\
         Call-ID: {call}@bench\r\nCSeq: 1 INVITE\r\nX-Account-ID: {}\r\nContent-Length: 0\r\n\r\n",
        call % 977
    );
    MsgRow {
        frame: (call * 7 + i) as u64 + 1,
        ts: call as f64 + i as f64 * 0.1,
        delta_s: 0.1,
        src: if i % 2 == 0 {
            "10.0.0.1:5060"
        } else {
            "10.0.0.2:5060"
        }
        .into(),
        dst: if i % 2 == 0 {
            "10.0.0.2:5060"
        } else {
            "10.0.0.1:5060"
        }
        .into(),
        label: label.into(),
        sdp: (i == 0).then(|| "audio 10.0.0.1:4000 PCMU/8000".to_string()),
        retransmission: false,
        duplicate: false,
        raw: siplens::engine::LazyRaw::copied(Arc::from(raw.as_bytes())),
    }
}

fn snapshot() -> Snapshot {
    let labels = [
        "INVITE",
        "100 Trying",
        "180 Ringing",
        "200 OK",
        "ACK",
        "BYE",
        "200 OK",
    ];
    let mut findings = Vec::new();
    let calls = (0..CALLS)
        .map(|c| {
            let mut fs = Vec::new();
            if c % 10 == 0 {
                fs.push(findings.len());
                findings.push(FindingRow {
                    severity: Severity::Medium,
                    rule: "media.cleartext-rtp",
                    summary: format!("call {c} sends RTP in clear"),
                    call: Some(c),
                    frame: Some((c * 7) as u64 + 1),
                });
            }
            CallRow {
                index: c + 1,
                id: c as u64 + 1,
                start: "12:00:00.000".into(),
                start_ts: c as f64,
                call_id: format!("{c}@bench"),
                method: "INVITE".into(),
                from: format!("sip:user{c}@10.0.0.1"),
                to: "sip:bob@10.0.0.2".into(),
                src: format!("10.0.{}.{}:5060", c / 250 % 250, c % 250),
                dst: "10.0.0.2:5060".into(),
                msgs: 7,
                state: "completed".into(),
                status: Some(if c % 3 == 0 { 486 } else { 200 }),
                duration_s: (c % 600) as f64,
                transport: "UDP",
                tls: None,
                badge: (c % 10 == 0).then_some((Severity::Medium, 1)),
                findings: fs,
                user_agents: vec!["bench-ua".into()],
                streams: vec![c],
                dtmf: Vec::new(),
                mos: Some(4.37),
                messages: labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| message(c, i, l))
                    .collect(),
                nat: None,
            }
        })
        .collect();
    let streams = (0..CALLS)
        .map(|c| StreamRow {
            index: c + 1,
            ssrc: format!("0x{c:08x}"),
            src: "10.0.0.1:4000".into(),
            dst: "10.0.0.2:4000".into(),
            codec: "PCMU".into(),
            packets: 1500,
            call: Some(c),
            first_frame: (c * 7 + 5) as u64,
            start: "12:00:00.500".into(),
            ..StreamRow::default()
        })
        .collect();
    Snapshot {
        calls,
        findings,
        streams,
        summary: "bench".into(),
        aliases: vec![("10.0.0.2".into(), "pbx".into())],
        stats: vec![StatSection {
            title: "Requests by method".into(),
            rows: vec![("INVITE".into(), CALLS.to_string())],
        }],
    }
}

fn redraw(c: &mut Criterion) {
    let base = App::new(snapshot());
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("test terminal");
    let mut g = c.benchmark_group("tui_redraw_100k");
    let views: [(&str, &[Action]); 7] = [
        ("calls", &[Action::End]),
        ("flow", &[Action::End, Action::Open, Action::Down]),
        ("raw", &[Action::End, Action::Open, Action::Open]),
        ("findings", &[Action::Findings, Action::End]),
        ("streams", &[Action::Streams, Action::End]),
        ("stats", &[Action::Stats]),
        (
            "diff",
            &[
                Action::End,
                Action::Open,
                Action::Mark,
                Action::Down,
                Action::Diff,
            ],
        ),
    ];
    for (name, actions) in views {
        let mut app = base.clone();
        app.area = Rect::new(0, 0, 200, 50);
        for a in actions {
            update(&mut app, *a);
        }
        g.bench_function(name, |b| {
            b.iter(|| term.draw(|f| draw(f, &app)).map(|_| ()));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("tui_keystroke_100k");
    g.sample_size(10);
    // The app lives across samples: a keystroke re-applies the filter to an app that
    // already has its header cache, as in the dashboard.
    let mut app = base.clone();
    g.bench_function("filter_expression", |b| {
        b.iter(|| {
            app.set_filter("status >= 400 and from ~ user1.*7$")
                .map(|_| app.visible.len())
        });
    });
    let mut app = base.clone();
    g.bench_function("filter_header", |b| {
        b.iter(|| {
            app.set_filter("x-account-id = 42")
                .map(|_| app.visible.len())
        });
    });
    // The first filter on a header scans every message of every call once.
    g.bench_function("filter_header_first", |b| {
        b.iter_batched(
            || base.clone(),
            |mut app| {
                app.set_filter("x-account-id = 42")
                    .map(|_| app.visible.len())
            },
            criterion::BatchSize::LargeInput,
        );
    });
    let mut app = base.clone();
    g.bench_function("sort_by_source", |b| {
        b.iter(|| {
            update(&mut app, Action::SortNext);
            app.visible.len()
        });
    });
    g.finish();
}

criterion_group!(benches, redraw);
criterion_main!(benches);
