//! Dashboard screens drawn into ratatui's `TestBackend` from real captures: each view
//! shows what it must (rows, ladder arrows, raw text, findings, streams, help).

use std::path::Path;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use siplens::capture;
use siplens::engine::Limits;
use siplens::tui::render::draw;
use siplens::tui::{update, Action, App, Snapshot, View};

fn snapshot(name: &str) -> Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    let mut src = capture::open_path(&path).expect("sample opens");
    let mut an = siplens::rules::analyzer(Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    Snapshot::build(&an)
}

/// Draws the app and returns the screen as text lines.
fn screen(app: &App, w: u16, h: u16) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| draw(f, app)).expect("draws");
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf.cell((x, y)).map_or(" ", |c| c.symbol()))
                .collect::<String>()
        })
        .collect()
}

fn has(lines: &[String], what: &[&str]) -> bool {
    lines.iter().any(|l| what.iter().all(|w| l.contains(w)))
}

fn run(app: &mut App, actions: &[Action]) {
    for a in actions {
        update(app, *a);
    }
}

#[test]
fn calls_view_lists_every_dialog_with_badges() {
    let app = App::new(snapshot("kamailio-auth.pcap"));
    let s = screen(&app, 160, 20);
    assert!(has(&s, &["Calls (4/4)"]), "{s:#?}");
    assert!(
        has(
            &s,
            &[
                "INVITE",
                "sip:alice@10.254.1.1",
                "sip:bob@10.254.1.1",
                "completed 200"
            ]
        ),
        "{s:#?}"
    );
    assert!(has(&s, &["REGISTER", "rejected 401", "medium"]), "{s:#?}");
    assert!(has(&s, &["q quit"]), "footer: {s:#?}");
}

#[test]
fn flow_view_draws_the_ladder_and_the_selected_message() {
    let mut app = App::new(snapshot("basic-call-rtp.pcap"));
    run(&mut app, &[Action::Open]);
    assert_eq!(app.view, View::Flow);
    let s = screen(&app, 160, 30);
    // The INVITE goes right, its answers come back left.
    assert!(has(&s, &["INVITE", "►"]), "{s:#?}");
    assert!(has(&s, &["200 OK", "◄"]), "{s:#?}");
    assert!(has(&s, &["BYE"]), "{s:#?}");
    // The raw pane beside the ladder shows the selected (first) message.
    assert!(has(&s, &["Frame "]), "{s:#?}");
    assert!(has(&s, &["INVITE sip:", "SIP/2.0"]), "{s:#?}");
    // A narrow terminal stacks the panes and still draws arrows.
    let s = screen(&app, 90, 40);
    assert!(has(&s, &["INVITE", "►"]), "{s:#?}");
    assert!(has(&s, &["Call-ID:"]), "{s:#?}");
}

#[test]
fn raw_view_shows_the_message_text() {
    let mut app = App::new(snapshot("basic-call-rtp.pcap"));
    run(&mut app, &[Action::Open, Action::Down, Action::Open]);
    assert_eq!(app.view, View::Raw);
    let s = screen(&app, 120, 30);
    let label = app
        .selected_message()
        .map(|m| m.label.clone())
        .unwrap_or_default();
    assert!(!label.is_empty());
    assert!(has(&s, &["SIP/2.0", &label]), "{label}: {s:#?}");
    assert!(has(&s, &["CSeq:"]), "{s:#?}");
}

#[test]
fn findings_view_and_jump_to_evidence() {
    let mut app = App::new(snapshot("kamailio-auth.pcap"));
    run(&mut app, &[Action::Findings]);
    let s = screen(&app, 160, 30);
    assert!(has(&s, &["medium", "auth.cleartext-transport"]), "{s:#?}");
    assert!(has(&s, &["auth.nonce-reuse"]), "{s:#?}");
    // The selected (first) finding's summary is shown whole below the list.
    let first = app.snap.findings[0].summary.clone();
    let words: Vec<&str> = first.split_whitespace().collect();
    let tail = words[words.len().saturating_sub(3)..].join(" ");
    assert!(has(&s, &[&tail]), "{tail}: {s:#?}");
    // Enter on the media finding opens call #4 at its first evidence frame (17).
    let pos = app
        .snap
        .findings
        .iter()
        .position(|f| f.rule == "media.cleartext-rtp")
        .expect("media finding");
    app.finding_sel = pos;
    run(&mut app, &[Action::Open]);
    assert_eq!(app.view, View::Flow);
    assert_eq!(app.selected_message().map(|m| m.frame), Some(17));
    let s = screen(&app, 160, 30);
    assert!(has(&s, &["Call #4"]), "{s:#?}");
    assert!(has(&s, &["Frame 17"]), "{s:#?}");
    // Frame 17 is the INVITE offer: its SDP is summarised under the ladder.
    assert!(has(&s, &["SDP: audio", "PCMA/8000"]), "{s:#?}");
}

#[test]
fn streams_view_lists_rtp() {
    let mut app = App::new(snapshot("basic-call-rtp.pcap"));
    run(&mut app, &[Action::Streams]);
    let s = screen(&app, 160, 20);
    assert!(has(&s, &["RTP streams (2)"]), "{s:#?}");
    assert!(has(&s, &["0x", "→", "#1"]), "{s:#?}");
}

/// The selected stream's RTCP: what the endpoint reported, beside our own figures, in a
/// pane under the list; a stream no RTCP named has none.
#[test]
fn streams_view_shows_the_endpoint_reports() {
    let mut app = App::new(snapshot("rtcp-xr.pcap"));
    run(&mut app, &[Action::Streams]);
    let callee = app
        .snap
        .streams
        .iter()
        .position(|s| s.ssrc == "0xb0b0b002")
        .expect("callee stream");
    app.stream_sel = callee;
    let s = screen(&app, 200, 20);
    assert!(has(&s, &["Endpoint reports (RTCP), stream #"]), "{s:#?}");
    assert!(
        has(
            &s,
            &[
                "loss 1.2%, 3 cumulative",
                "XR loss 2.0% MOS-LQ 4.2 MOS-CQ 4.1 R 88"
            ]
        ),
        "{s:#?}"
    );
    assert!(has(&s, &["ours: loss 1.9%"]), "{s:#?}");
    let mut plain = App::new(snapshot("basic-call-rtp.pcap"));
    run(&mut plain, &[Action::Streams]);
    assert!(!has(&screen(&plain, 200, 20), &["Endpoint reports"]));
}

#[test]
fn help_overlay_lists_the_keys() {
    let mut app = App::new(snapshot("basic-call-rtp.pcap"));
    run(&mut app, &[Action::Help]);
    let s = screen(&app, 100, 30);
    assert!(has(&s, &["Keys"]), "{s:#?}");
    assert!(has(&s, &["/ F3 F7", "display filter"]), "{s:#?}");
    assert!(has(&s, &["any key closes"]), "{s:#?}");
}

#[test]
fn search_prompt_and_filtered_title() {
    let mut app = App::new(snapshot("kamailio-auth.pcap"));
    run(&mut app, &[Action::SearchStart]);
    for c in "invite".chars() {
        update(&mut app, Action::PromptChar(c));
    }
    let s = screen(&app, 160, 12);
    assert!(has(&s, &["filter: invite_"]), "{s:#?}");
    run(&mut app, &[Action::PromptApply]);
    let s = screen(&app, 160, 12);
    assert!(has(&s, &["Calls (1/4)"]), "{s:#?}");
    assert!(has(&s, &["filter: invite"]), "{s:#?}");
    assert!(!has(&s, &["REGISTER"]), "{s:#?}");
}

#[test]
fn nat_view_shows_advertised_against_observed() {
    // The one-way-audio capture from behind a real NAT (see README, Troubleshooting NAT).
    let mut app = App::new(snapshot("nat-one-way-wan.pcap"));
    let call = (0..app.snap.calls.len())
        .find(|&i| app.snap.calls[i].method == "INVITE")
        .expect("the call");
    app.call_sel = call;
    run(&mut app, &[Action::Nat]);
    assert_eq!(app.view, View::Nat);
    let s = screen(&app, 200, 30);
    assert!(has(&s, &["NAT: call #"]), "{s:#?}");
    assert!(
        has(&s, &["one-way audio: nothing reached the caller"]),
        "{s:#?}"
    );
    assert!(
        has(&s, &["caller", "192.168.1.10:5060 (private)"]),
        "{s:#?}"
    );
    assert!(has(&s, &["n NAT"]) || has(&s, &["Esc back"]), "{s:#?}");
    // Back returns to the call list; from the flow view it returns to the flow.
    run(&mut app, &[Action::Back]);
    assert_eq!(app.view, View::Calls);
    run(&mut app, &[Action::Open, Action::Nat, Action::Back]);
    assert_eq!(app.view, View::Flow);
    // A call without NAT trouble says so.
    let mut clean = App::new(snapshot("public-call.pcap"));
    run(&mut clean, &[Action::Nat]);
    let s = screen(&clean, 160, 12);
    assert!(has(&s, &["No NAT trouble seen in this call"]), "{s:#?}");
}

#[test]
fn every_view_survives_tiny_terminals() {
    let snap = snapshot("kamailio-auth.pcap");
    let paths: [&[Action]; 7] = [
        &[],
        &[Action::End, Action::Nat],
        &[Action::End, Action::Open],
        &[Action::End, Action::Open, Action::End, Action::Open],
        &[Action::Findings],
        &[Action::Streams],
        &[Action::Help],
    ];
    for p in paths {
        let mut app = App::new(snap.clone());
        run(&mut app, p);
        for (w, h) in [(1, 1), (2, 3), (10, 4), (30, 6), (200, 3)] {
            let _ = screen(&app, w, h);
        }
    }
}

#[test]
fn snapshot_carries_rows_messages_and_badges() {
    let snap = snapshot("kamailio-auth.pcap");
    assert_eq!(snap.calls.len(), 4);
    let call = &snap.calls[3];
    assert_eq!((call.index, call.method.as_str()), (4, "INVITE"));
    assert_eq!(call.messages.len() as u64, call.msgs);
    // Every message kept its text, in capture order with non-negative deltas.
    assert!(call.messages.iter().all(|m| m.text().contains("SIP/2.0")));
    assert!(call.messages.iter().all(|m| m.delta_s >= 0.0));
    assert!(call.messages.windows(2).all(|w| w[0].frame < w[1].frame));
    let offer = call
        .messages
        .iter()
        .find(|m| m.frame == 17)
        .expect("frame 17");
    assert!(offer
        .sdp
        .as_deref()
        .is_some_and(|s| s.starts_with("audio ")));
    // Badge: the highest severity of the call's findings and their count.
    let mine: Vec<_> = snap.findings.iter().filter(|f| f.call == Some(3)).collect();
    let top = mine.iter().map(|f| f.severity).max();
    assert_eq!(call.badge, top.map(|s| (s, mine.len())));
    assert!(!mine.is_empty());
    assert!(snap.streams.iter().all(|s| s.call == Some(3)));
}

#[test]
fn stats_view_counts_methods_codes_and_states() {
    let mut app = App::new(snapshot("kamailio-auth.pcap"));
    run(&mut app, &[Action::Stats]);
    assert_eq!(app.view, View::Stats);
    let s = screen(&app, 120, 60);
    assert!(has(&s, &["Statistics"]), "{s:#?}");
    assert!(has(&s, &["Requests by method"]), "{s:#?}");
    assert!(has(&s, &["REGISTER"]), "{s:#?}");
    assert!(has(&s, &["Responses by code"]), "{s:#?}");
    assert!(has(&s, &["401"]), "{s:#?}");
    assert!(has(&s, &["Dialogs by state"]), "{s:#?}");
    assert!(has(&s, &["Limits (evictions)"]), "{s:#?}");
    // The counts are the report's: every request method row sums to the requests line.
    let snap = &app.snap;
    let methods = snap
        .stats
        .iter()
        .find(|s| s.title == "Requests by method")
        .expect("section");
    let sum: u64 = methods
        .rows
        .iter()
        .map(|(_, v)| v.parse::<u64>().unwrap_or(0))
        .sum();
    let requests = snap.stats[0]
        .rows
        .iter()
        .find(|(k, _)| k == "requests")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    assert_eq!(Some(sum), requests);
}

#[test]
fn diff_view_compares_two_marked_messages() {
    let mut app = App::new(snapshot("basic-call-rtp.pcap"));
    // INVITE (first) against the 200 OK that answers it.
    run(&mut app, &[Action::Open, Action::Mark]);
    let ok = app
        .flow
        .iter()
        .position(|r| {
            siplens::tui::ladder::message(&app.snap, *r).is_some_and(|m| m.label == "200 OK")
        })
        .expect("a 200 OK");
    for _ in 0..ok {
        update(&mut app, Action::Down);
    }
    run(&mut app, &[Action::Diff]);
    assert_eq!(app.view, View::Diff);
    let s = screen(&app, 160, 40);
    assert!(has(&s, &["INVITE sip:", "SIP/2.0 200 OK"]), "{s:#?}");
    assert!(has(&s, &["CSeq:"]), "{s:#?}");
    let s80 = screen(&app, 80, 24);
    assert!(has(&s80, &["frame"]), "{s80:#?}");
}

#[test]
fn user_columns_show_a_header_and_sort_descending() {
    let mut app = App::new(snapshot("kamailio-auth.pcap"));
    app.set_columns(
        siplens::tui::columns::Column::parse_list("index,method,msgs,User-Agent").expect("valid"),
    );
    // Sort on msgs, most first.
    while app.sort != siplens::tui::columns::Column::Msgs {
        update(&mut app, Action::SortNext);
    }
    run(&mut app, &[Action::SortReverse]);
    let s = screen(&app, 160, 20);
    assert!(has(&s, &["User-Agent"]), "{s:#?}");
    assert!(has(&s, &["Msgs ▼"]), "{s:#?}");
    let msgs: Vec<u64> = app
        .visible
        .iter()
        .map(|&c| app.snap.calls[c].msgs)
        .collect();
    assert!(msgs.windows(2).all(|w| w[0] >= w[1]), "{msgs:?}");
    // The UA column shows the header's value from the capture.
    let ua = app.snap.calls[app.visible[0]].user_agents.first().cloned();
    if let Some(ua) = ua {
        let cut: String = ua.chars().take(10).collect();
        assert!(has(&s, &[&cut]), "{cut}: {s:#?}");
    }
}

#[test]
fn marked_calls_share_one_ladder() {
    let mut app = App::new(snapshot("kamailio-auth.pcap"));
    run(&mut app, &[Action::Mark, Action::Mark, Action::MarkedFlow]);
    assert_eq!(app.flow_calls.len(), 2);
    let s = screen(&app, 160, 40);
    assert!(has(&s, &["Calls #1 #2"]), "{s:#?}");
    // Messages of both calls, each prefixed with its call number.
    assert!(has(&s, &["#1 "]) && has(&s, &["#2 "]), "{s:#?}");
    let frames: Vec<u64> = app
        .flow
        .iter()
        .filter_map(|r| siplens::tui::ladder::message(&app.snap, *r).map(|m| m.frame))
        .collect();
    assert!(frames.windows(2).all(|w| w[0] < w[1]), "capture order");
}

#[test]
fn every_view_fits_80x24() {
    let snap = snapshot("kamailio-auth.pcap");
    let cases: [(&[Action], &str); 7] = [
        (&[], "q quit"),
        (&[Action::End, Action::Open], "Esc back"),
        (&[Action::End, Action::Open, Action::Open], "CSeq:"),
        (&[Action::Findings], "Findings ("),
        (&[Action::Streams], "RTP streams"),
        (&[Action::Stats], "Requests by method"),
        (&[Action::End, Action::Nat], "NAT"),
    ];
    for (path, want) in cases {
        let mut app = App::new(snap.clone());
        app.set_area(ratatui::layout::Rect::new(0, 0, 80, 24));
        run(&mut app, path);
        let s = screen(&app, 80, 24);
        assert!(has(&s, &[want]), "{path:?} → {want}: {s:#?}");
    }
}

#[test]
fn no_color_theme_draws_without_colours() {
    let mut app = App::new(snapshot("kamailio-auth.pcap"));
    app.theme = siplens::tui::theme::Theme::mono();
    let mut t = Terminal::new(TestBackend::new(120, 30)).expect("test terminal");
    for actions in [&[][..], &[Action::Open][..], &[Action::Findings][..]] {
        run(&mut app, actions);
        t.draw(|f| draw(f, &app)).expect("draws");
        let buf = t.backend().buffer();
        for c in buf.content() {
            assert_eq!(c.fg, ratatui::style::Color::Reset, "{:?}", c);
            assert_eq!(c.bg, ratatui::style::Color::Reset, "{:?}", c);
        }
    }
}

/// The dashboard screenshots of docs/dashboard.md are text captures of these screens at 100x24:
/// each sits between `<!-- screen:NAME -->` and `<!-- /screen -->`. This test fails when a
/// screen changed and docs/dashboard.md was not updated; `UPDATE_SCREENS=1 cargo test --test tui`
/// rewrites them.
#[test]
fn readme_screens_are_current() {
    type Setup = fn(&mut App);
    let screens: [(&str, &str, Setup); 9] = [
        ("calls", "kamailio-auth.pcap", |_| {}),
        ("flow", "basic-call-rtp.pcap", |a| {
            run(a, &[Action::Open, Action::Down, Action::Down])
        }),
        ("raw", "basic-call-rtp.pcap", |a| {
            run(a, &[Action::Open, Action::Open])
        }),
        ("diff", "basic-call-rtp.pcap", |a| {
            run(a, &[Action::Open, Action::Mark, Action::End, Action::Diff])
        }),
        ("findings", "kamailio-auth.pcap", |a| {
            run(a, &[Action::Findings])
        }),
        ("streams", "nat-one-way-wan.pcap", |a| {
            run(a, &[Action::Streams])
        }),
        ("nat", "nat-one-way-wan.pcap", |a| {
            a.call_sel = (0..a.visible.len())
                .find(|&i| a.snap.calls[a.visible[i]].method == "INVITE")
                .unwrap_or(0);
            run(a, &[Action::Nat]);
        }),
        ("stats", "kamailio-auth.pcap", |a| run(a, &[Action::Stats])),
        ("help", "kamailio-auth.pcap", |a| run(a, &[Action::Help])),
    ];
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.md");
    let mut readme = std::fs::read_to_string(&readme_path).expect("docs/dashboard.md");
    let update = std::env::var_os("UPDATE_SCREENS").is_some();
    for (name, sample, setup) in screens {
        let mut app = App::new(snapshot(sample));
        app.set_area(ratatui::layout::Rect::new(0, 0, 100, 24));
        setup(&mut app);
        let text: String = screen(&app, 100, 24)
            .iter()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        let open = format!("<!-- screen:{name} -->\n");
        let close = "<!-- /screen -->";
        let block = format!("{open}```text\n{text}```\n{close}");
        let start = readme.find(&open);
        let end = start.and_then(|s| readme[s..].find(close).map(|e| s + e + close.len()));
        match (start, end) {
            (Some(s), Some(e)) if update => readme.replace_range(s..e, &block),
            (Some(s), Some(e)) => assert_eq!(
                readme[s..e],
                block,
                "docs/dashboard.md screen '{name}' is stale: UPDATE_SCREENS=1 cargo test --test tui"
            ),
            _ => panic!("docs/dashboard.md has no <!-- screen:{name} --> block"),
        }
    }
    if update {
        std::fs::write(&readme_path, readme).expect("docs/dashboard.md written");
    }
}

#[test]
fn decrypted_tls_calls_show_their_session_and_the_stats_their_decryption() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut keys = siplens::net::tls_decrypt::KeyLog::new();
    let text = std::fs::read(path.join("tls13-call.keys")).expect("keys");
    keys.add_nss(&text, "tls13-call.keys").expect("parses");
    let mut src = capture::open_path(&path.join("tls13-call.pcap")).expect("sample opens");
    let mut an = siplens::rules::analyzer(Limits::default());
    an.set_tls_keys(keys);
    an.run_source(&mut src, &mut |_, _| {});
    let mut app = App::new(Snapshot::build(&an));
    let s = screen(&app, 160, 20);
    assert!(has(&s, &["Calls (3/3)"]), "{s:#?}");
    assert!(has(&s, &["INVITE", "sip:bob@10.254.1.1"]), "{s:#?}");
    // The call's ladder names the TLS session its messages were decrypted from.
    run(&mut app, &[Action::Down, Action::Open]);
    let s = screen(&app, 160, 30);
    assert!(
        has(&s, &["decrypted TLS 1.3 TLS_CHACHA20_POLY1305_SHA256"]),
        "{s:#?}"
    );
    assert!(has(&s, &["INVITE", "►"]), "{s:#?}");
    run(&mut app, &[Action::Back, Action::Stats]);
    let s = screen(&app, 120, 80);
    assert!(has(&s, &["TLS decryption"]), "{s:#?}");
    assert!(has(&s, &["sessions decrypted", "4"]), "{s:#?}");
}
