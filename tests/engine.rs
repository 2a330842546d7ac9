//! Engine behaviour on the bundled samples: states, transports, media binding, duplicate
//! captures, bounded tables and determinism.

use std::path::Path;

use siplens::capture;
use siplens::engine::{Analyzer, Limits};
use siplens::report::Report;

mod common;
use common::rtp_packet as rtp;

fn analyse(name: &str, limits: Limits) -> Analyzer {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    let mut src = capture::open_path(&path).expect("sample opens");
    let mut an = siplens::rules::analyzer(limits);
    let info = an.run_source(&mut src, &mut |_, _| {});
    assert!(info.warning.is_none(), "{name}: {:?}", info.warning);
    an
}

#[test]
fn basic_call_binds_both_rtp_streams_to_the_call() {
    let an = analyse("basic-call-rtp.pcap", Limits::default());
    let r = Report::build(&an, 0);
    assert_eq!(r.dialogs.len(), 1);
    let d = &r.dialogs[0];
    assert_eq!(
        (d.method, d.state, d.final_status),
        ("INVITE", "completed", Some(200))
    );
    assert_eq!(d.media.len(), 1);
    let m = &d.media[0];
    assert_eq!(m.proto, "RTP/AVP");
    assert!(m.offer.is_some() && m.answer.is_some());
    assert_eq!(r.streams.len(), 2);
    for s in &r.streams {
        assert_eq!(s.call_id, Some(d.call_id));
        assert_eq!(s.codec, Some("PCMA"));
        assert_eq!(s.packets, 90);
        assert_eq!(s.lost, 0);
        assert!(s.announced && !s.encrypted);
        // Each stream goes to an address one of the SDPs announced.
        assert!(Some(s.dst) == m.offer || Some(s.dst) == m.answer);
    }
    assert_ne!(r.streams[0].ssrc, r.streams[1].ssrc);
    assert_eq!(d.stream_ids, vec![1, 2]);
    let rules: Vec<&str> = r.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["media.cleartext-rtp", "transport.cleartext-sip"]);
}

#[test]
fn proxy_challenge_then_answered_call() {
    let an = analyse("invite-407.pcap", Limits::default());
    let r = Report::build(&an, 0);
    let d = &r.dialogs[0];
    assert_eq!(d.state, "completed");
    assert_eq!(d.final_status, Some(200));
    let labels: Vec<&str> = d.flow.entries().map(|e| e.label).collect();
    assert_eq!(labels.iter().filter(|l| **l == "INVITE").count(), 2);
    assert!(labels.iter().any(|l| l.starts_with("407")));
    assert_eq!(d.retransmissions, 0);
}

#[test]
fn register_challenge_and_options_pings() {
    let an = analyse("register-digest.pcap", Limits::default());
    let r = Report::build(&an, 0);
    assert_eq!(r.dialogs[0].method, "REGISTER");
    assert_eq!(r.dialogs[0].state, "completed");
    assert_eq!(r.summary.calls, 0);
    let an = analyse("options-keepalive.pcap", Limits::default());
    let r = Report::build(&an, 0);
    assert_eq!(r.dialogs.len(), 5);
    assert!(r
        .dialogs
        .iter()
        .all(|d| d.method == "OPTIONS" && d.state == "completed"));
}

#[test]
fn tcp_fragments_and_link_types() {
    let an = analyse("tcp-call.pcap", Limits::default());
    let r = Report::build(&an, 0);
    assert_eq!(r.dialogs[0].transport, "TCP");
    assert_eq!(r.dialogs[0].messages, 7);
    assert_eq!(r.summary.net.tcp_gaps, 0);

    for f in ["fragmented-invite.pcap", "fragmented-invite-v6.pcap"] {
        let an = analyse(f, Limits::default());
        let r = Report::build(&an, 0);
        assert!(r.summary.net.datagrams_reassembled >= 1, "{f}");
        assert_eq!(r.dialogs[0].state, "completed", "{f}");
    }
    for (f, lt) in [
        ("vlan-call.pcap", "ethernet"),
        ("cooked-any.pcap", "linux-sll"),
        ("cooked-any-sll2.pcap", "linux-sll2"),
        ("ipv6-call.pcap", "ethernet"),
    ] {
        let an = analyse(f, Limits::default());
        let r = Report::build(&an, 0);
        assert!(r.summary.link_types.contains_key(lt), "{f}");
        assert_eq!(r.dialogs[0].state, "completed", "{f}");
    }
}

#[test]
fn the_same_packet_on_two_interfaces_is_a_duplicate_not_a_retransmission() {
    let an = analyse("two-interfaces.pcapng", Limits::default());
    let r = Report::build(&an, 0);
    let d = &r.dialogs[0];
    assert_eq!(d.messages, 14);
    assert_eq!(d.duplicates, 7);
    assert_eq!(d.retransmissions, 0);
    assert!(r.findings.iter().all(|f| f.rule != "sip.retransmission"));
    assert_eq!(d.state, "completed");
}

#[test]
fn full_tables_evict_and_count() {
    let limits = Limits {
        max_dialogs: 2,
        max_streams: 1,
        ..Limits::default()
    };
    let an = analyse("options-keepalive.pcap", limits.clone());
    let r = Report::build(&an, 0);
    assert_eq!(r.dialogs.len(), 2);
    assert_eq!(r.summary.evictions.dialogs, 3);
    // The survivors are the newest ones.
    let all = Report::build(&analyse("options-keepalive.pcap", Limits::default()), 0)
        .dialogs
        .iter()
        .map(|d| d.call_id.to_string())
        .collect::<Vec<_>>();
    let kept: Vec<String> = r.dialogs.iter().map(|d| d.call_id.to_string()).collect();
    assert_eq!(kept, all[3..].to_vec());

    let an = analyse("basic-call-rtp.pcap", limits);
    let r = Report::build(&an, 0);
    assert_eq!(r.streams.len(), 1);
    assert!(r.summary.evictions.streams >= 1);
}

#[test]
fn reports_are_deterministic() {
    let json = |name| {
        let an = analyse(name, Limits::default());
        let mut v = Vec::new();
        Report::build(&an, 0)
            .write_json(&mut v, true)
            .expect("json");
        v
    };
    for f in [
        "basic-call-rtp.pcap",
        "tcp-call.pcap",
        "two-interfaces.pcapng",
    ] {
        assert_eq!(json(f), json(f), "{f}");
    }
}

/// A UDP frame from 192.0.2.1 to 192.0.2.2.
fn udp_frame(
    number: u64,
    ms: u64,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> siplens::capture::Frame {
    common::udp_frame(
        number,
        ms,
        ([192, 0, 2, 1], sport),
        ([192, 0, 2, 2], dport),
        payload,
    )
}

#[test]
fn malformed_messages_and_unannounced_rtp() {
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    // No Call-ID, CSeq method differs from the request method.
    let bad = b"OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:bob@192.0.2.2>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    an.process(&udp_frame(1, 0, 5060, 5060, bad));
    // Not SIP at all on port 5060: ignored, not malformed SIP.
    an.process(&udp_frame(2, 1, 5060, 5060, b"GET / HTTP/1.1\r\n\r\n"));
    // RTP nobody announced: 10 packets in one stream, 3 in another.
    for i in 0..10u16 {
        an.process(&udp_frame(
            3 + u64::from(i),
            20 * u64::from(i),
            40000,
            50000,
            &rtp(100 + i, 7),
        ));
    }
    for i in 0..3u16 {
        an.process(&udp_frame(
            20 + u64::from(i),
            20 * u64::from(i),
            40002,
            50002,
            &rtp(i, 9),
        ));
    }
    let r = Report::build(&an, 0);
    assert_eq!(r.summary.sip_messages, 1);
    assert_eq!(r.summary.engine.sip_without_call_id, 1);
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "sip.malformed")
        .expect("malformed finding");
    assert_eq!(f.evidence, vec![1]);
    assert!(f.summary.contains("Call-ID"), "{}", f.summary);
    assert!(f.summary.contains("CSeq"), "{}", f.summary);
    // The malformed message and its cleartext hop; the HTTP datagram is not a finding.
    let rules: Vec<&str> = r.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["sip.malformed", "transport.cleartext-sip"]);
    assert_eq!(
        r.streams.len(),
        1,
        "3 packets are below the heuristic threshold"
    );
    let s = &r.streams[0];
    assert_eq!((s.ssrc, s.packets, s.lost), (7, 10, 0));
    assert!(!s.announced && s.call_id.is_none());
    assert_eq!(s.codec, Some("PCMU"));
}

#[test]
fn unknown_link_types_are_counted_and_named() {
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    for n in 1..=3 {
        an.process(&siplens::capture::Frame {
            number: n,
            ts: siplens::capture::Timestamp(n),
            link_type: siplens::capture::LinkType(147),
            data: vec![0; 40],
            orig_len: 40,
            interface: 0,
        });
    }
    an.process(&udp_frame(4, 0, 1000, 2000, b"hello"));
    let r = Report::build(&an, 0);
    assert_eq!(r.summary.link_types.get("linktype-147"), Some(&3));
    assert_eq!(r.summary.link_types.get("ethernet"), Some(&1));
    assert_eq!(r.summary.net.unknown_link_types.get(&147), Some(&3));
    assert_eq!(r.summary.packets, 4);
}

#[test]
fn long_dialogs_stay_bounded_and_keep_detecting_retransmissions() {
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    let mut frame = 0;
    // A day-long keepalive dialog: 400 OPTIONS in one Call-ID, 30 s apart, each sent twice
    // (the copy 500 ms later, as Timer E would).
    for n in 1..=400u64 {
        let msg = format!(
            "OPTIONS sip:b@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{n}\r\n\
             From: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: keepalive@192.0.2.1\r\n\
             CSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        for delay in [0, 500] {
            frame += 1;
            an.process(&udp_frame(
                frame,
                n * 30_000 + delay,
                5060,
                5060,
                msg.as_bytes(),
            ));
        }
    }
    let r = Report::build(&an, 0);
    assert_eq!(r.dialogs.len(), 1);
    let d = &r.dialogs[0];
    assert_eq!(d.messages, 800);
    assert_eq!(
        d.retransmissions, 400,
        "every copy found, before and after pruning"
    );
    assert_eq!(d.duplicates, 0);
}

#[test]
fn digest_exchanges_become_auth_findings() {
    let an = analyse("register-digest.pcap", Limits::default());
    let r = Report::build(&an, 0);
    let rules: Vec<&str> = r
        .findings
        .iter()
        .map(|f| f.rule)
        .filter(|r| !r.starts_with("transport."))
        .collect();
    assert_eq!(
        rules,
        ["auth.cleartext-transport", "auth.digest-md5", "auth.digest"],
        "most severe first"
    );
    let digest = r
        .findings
        .iter()
        .find(|f| f.rule == "auth.digest")
        .expect("auth.digest");
    // Challenge, answer with credentials, 200 OK.
    assert_eq!(digest.evidence, vec![2, 3, 4]);
    assert!(
        digest.summary.contains("user 'alice'"),
        "{}",
        digest.summary
    );
    assert!(
        digest.summary.contains("accepted (200)"),
        "{}",
        digest.summary
    );
    assert_eq!(r.dialogs[0].finding_ids.len(), 3);

    // The 407 flow: Proxy-Authorization on the second INVITE.
    let an = analyse("invite-407.pcap", Limits::default());
    let r = Report::build(&an, 0);
    let digest = r
        .findings
        .iter()
        .find(|f| f.rule == "auth.digest")
        .expect("auth.digest");
    assert!(digest.summary.contains("for INVITE"), "{}", digest.summary);
    assert_eq!(digest.evidence.len(), 3);
}

#[test]
fn sipvicious_is_flagged_once_per_source() {
    let an = analyse("scanner-svmap.pcap", Limits::default());
    let r = Report::build(&an, 0);
    let scans: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "scan.user-agent")
        .collect();
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0].severity, siplens::engine::Severity::High);
    assert!(
        scans[0].summary.contains("SIPVicious"),
        "{}",
        scans[0].summary
    );
    assert!(
        scans[0].summary.contains("3 request(s) to 3 target(s)"),
        "{}",
        scans[0].summary
    );
    assert_eq!(scans[0].evidence, vec![1, 3, 4]);
}

fn options(call_id: &str, branch: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:100@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{branch}\r\n\
         From: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:100@192.0.2.2>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn request_floods_count_new_requests_only() {
    // 250 distinct requests in half a second: a flood.
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    for i in 0..250u64 {
        let p = options(&format!("flood{i}"), &i.to_string());
        an.process(&udp_frame(i + 1, i * 2, 5060, 5060, &p));
    }
    let r = Report::build(&an, 0);
    let flood: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "dos.flood")
        .collect();
    assert_eq!(flood.len(), 1, "{:?}", r.findings);
    assert!(
        flood[0].summary.contains("192.0.2.1 sent up to"),
        "{}",
        flood[0].summary
    );
    // The same request sent 250 times (a retransmission storm, captured twice) is not.
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    for i in 0..250u64 {
        let p = options("storm", "1");
        an.process(&udp_frame(i + 1, i * 3, 5060, 5060, &p));
    }
    assert_eq!(
        an.stats().sip_retransmissions + an.stats().sip_duplicates,
        249
    );
    let r = Report::build(&an, 0);
    assert!(!r.findings.iter().any(|f| f.rule == "dos.flood"));
    // A configured threshold applies.
    let mut c = siplens::config::Config::default();
    c.flood.requests = 300;
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.set_config(&c);
    for i in 0..250u64 {
        let p = options(&format!("flood{i}"), &i.to_string());
        an.process(&udp_frame(i + 1, i * 2, 5060, 5060, &p));
    }
    let r = Report::build(&an, 0);
    assert!(!r.findings.iter().any(|f| f.rule == "dos.flood"));
}

#[test]
fn svwar_enumeration_names_the_extensions_that_exist() {
    let an = analyse("scanner-svwar.pcap", Limits::default());
    let r = Report::build(&an, 0);
    let e: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "scan.enumeration")
        .collect();
    assert_eq!(e.len(), 1, "{:?}", r.findings);
    assert_eq!(e[0].severity, siplens::engine::Severity::High);
    assert!(
        e[0].summary
            .contains("tried 32 user names that drew 404 ×30, 401 ×2"),
        "{}",
        e[0].summary
    );
    assert!(
        e[0].summary.contains("'105' (401), '120' (401)"),
        "{}",
        e[0].summary
    );
    // One target: not a sweep; a few dozen requests: not a flood.
    assert!(!r
        .findings
        .iter()
        .any(|f| f.rule == "scan.sweep" || f.rule == "dos.flood"));
}

/// Dialogs are found by Call-ID whether it is UTF-8 or not (the dialog keeps a lossy copy
/// then), before and after evictions make room: each Call-ID's messages stay in one dialog.
#[test]
fn call_ids_utf8_or_not_find_their_dialog() {
    let limits = siplens::engine::Limits {
        max_dialogs: 4,
        ..siplens::engine::Limits::default()
    };
    let mut an = siplens::rules::analyzer(limits);
    let msg = |call_id: &[u8], seq: u32| {
        let mut m =
            b"OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK"
                .to_vec();
        m.extend_from_slice(seq.to_string().as_bytes());
        m.extend_from_slice(
            b"\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: ",
        );
        m.extend_from_slice(call_id);
        m.extend_from_slice(
            format!("\r\nCSeq: {seq} OPTIONS\r\nContent-Length: 0\r\n\r\n").as_bytes(),
        );
        m
    };
    // Two Call-IDs whose lossy copies are the same text, and plain ones.
    let ids: [&[u8]; 4] = [b"a\xffb", b"a\xfeb", b"plain-1", b"plain-2"];
    let mut n = 0;
    for round in 0..2u32 {
        for id in ids {
            n += 1;
            an.process(&udp_frame(n, n, 5060, 5060, &msg(id, round + 1)));
        }
    }
    assert_eq!(an.stats().dialogs_created, 4);
    assert!(an.dialogs().all(|d| d.message_count == 2));
    // Past the bound: the oldest go, and a returning Call-ID starts a new dialog.
    for (i, id) in [&b"plain-3"[..], b"plain-4", b"a\xffb"]
        .into_iter()
        .enumerate()
    {
        n += 1;
        an.process(&udp_frame(n, n, 5060, 5060, &msg(id, 10 + i as u32)));
    }
    assert_eq!(an.stats().dialogs_created, 7);
    assert_eq!(an.dialog_count(), 4);
    assert_eq!(
        an.dialog_id("plain-4")
            .map(|id| an.dialog(id).map(|d| d.message_count)),
        Some(Some(1))
    );
    assert!(an.dialog_id("plain-1").is_none());
}

/// An RTP packet of payload type `pt` with its own timestamp.
fn rtp_at(seq: u16, ts: u32, pt: u8, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xff; 160]);
    p
}

/// The Wireshark figures take each packet's clock rate from its own payload type: the
/// SDP's `telephone-event` has none (RFC 4733 §2.2.1, its timestamp stands still), so the
/// speech after an event is measured against the speech before it.
#[test]
fn telephone_event_from_the_sdp_has_no_clock_rate() {
    let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
               m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
               a=rtpmap:101 telephone-event/8000\r\n";
    let invite = format!(
        "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK77\r\n\
         From: <sip:alice@192.0.2.1>;tag=1\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: dtmf-1\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let mut an = siplens::rules::analyzer(Limits::default());
    an.process(&udp_frame(1, 0, 5060, 5060, invite.as_bytes()));
    // (arrival ms, seq, timestamp, payload type): speech, an event holding its timestamp,
    // speech again on time.
    let pkts: [(u64, u16, u32, u8); 10] = [
        (20, 0, 0, 0),
        (40, 1, 160, 0),
        (60, 2, 320, 0),
        (80, 3, 480, 0),
        (100, 4, 640, 0),
        (120, 5, 800, 101),
        (140, 6, 800, 101),
        (160, 7, 800, 101),
        (180, 8, 1280, 0),
        (200, 9, 1440, 0),
    ];
    for (i, (ms, seq, ts, pt)) in pkts.into_iter().enumerate() {
        an.process(&udp_frame(
            2 + i as u64,
            ms,
            40000,
            50000,
            &rtp_at(seq, ts, pt, 0x1234),
        ));
    }
    let r = Report::build(&an, 0);
    let s = &r.streams[0];
    assert_eq!((s.call_id, s.packets), (Some("dtmf-1"), 10));
    // Packet 8 arrives 20 ms after packet 7, and its timestamp is 80 ms past packet 4's,
    // the last with a clock rate (the event's do not count): D = |20 - 80| = 60 and
    // J = 60/16 = 3.75; packet 9 then D = 0. Had the event been taken at 8000 Hz, the
    // largest J would have been 4.77.
    assert_eq!(s.jitter_max_ms, 3.75);
    assert_eq!(s.jitter_min_ms, Some(0.0));
    assert_eq!(s.delta_max_ms, 20.0);
    assert_eq!((s.sequence_errors, s.duplicates, s.lost), (0, 0, 0));
}
