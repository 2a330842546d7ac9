//! The rule layer's contract seen from outside: a rule registered by the caller sees the
//! messages and its findings reach the report; a dialog's findings survive its eviction.

use std::net::SocketAddr;

use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::engine::{Analyzer, Dialog, EngineStats, Limits, MessageCtx, Rule};
use siplens::model::{Finding, RuleId, Severity};
use siplens::report::Report;

/// Counts INVITEs and says so at the end; remembers the Call-IDs of evicted dialogs.
#[derive(Default)]
struct InviteCounter {
    invites: u64,
    first: Option<(Timestamp, SocketAddr, SocketAddr, u64)>,
    evicted: Vec<String>,
}

const TOY: RuleId = RuleId("toy.invites");

impl Rule for InviteCounter {
    fn name(&self) -> &'static str {
        "toy"
    }

    fn on_message(&mut self, cx: &MessageCtx<'_, '_>, _stats: &mut EngineStats) {
        if cx.is_request && !cx.repeat && cx.label == "INVITE" {
            self.invites += 1;
            let s = cx.seen;
            self.first
                .get_or_insert((s.ts, s.src.get(), s.dst.get(), s.frame));
        }
    }

    fn on_dialog_evicted(&mut self, d: &Dialog, _an: &Analyzer, out: &mut Vec<Finding>) {
        self.evicted.push(d.call_id.clone());
        out.push(
            Finding::new(TOY, Severity::Info, d.start)
                .call(d.call_id.clone())
                .summary("evicted"),
        );
    }

    fn finish(&self, _an: &Analyzer, out: &mut Vec<Finding>) {
        if let Some((ts, src, dst, frame)) = self.first {
            out.push(
                Finding::new(TOY, Severity::Low, ts)
                    .flow(src, dst)
                    .summary(format!("{} INVITE(s)", self.invites))
                    .evidence(vec![frame])
                    .advice("none"),
            );
        }
    }
}

fn udp_frame(number: u64, ms: u64, sport: u16, payload: &[u8]) -> Frame {
    udp_frame_between(
        number,
        ms,
        ([192, 0, 2, 1], sport),
        ([192, 0, 2, 2], 5060),
        payload,
    )
}

fn udp_frame_between(
    number: u64,
    ms: u64,
    (src, sport): ([u8; 4], u16),
    (dst, dport): ([u8; 4], u16),
    payload: &[u8],
) -> Frame {
    let builder = etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let mut data = Vec::new();
    builder.write(&mut data, payload).expect("build");
    Frame {
        number,
        ts: Timestamp(1_700_000_000_000_000_000 + ms * 1_000_000),
        link_type: LinkType::ETHERNET,
        orig_len: data.len() as u32,
        data,
        interface: 0,
    }
}

/// An INVITE offering plain RTP, never answered.
fn invite(i: u64) -> Vec<u8> {
    invite_with(i, "")
}

/// [`invite`] with more media attributes (`a=` lines, each ending in CRLF).
fn invite_with(i: u64, attributes: &str) -> Vec<u8> {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n{attributes}",
        10_000 + 2 * i
    );
    format!(
        "INVITE sip:+15550100{i:03}@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{i}\r\n\
         From: <sip:a@192.0.2.1>;tag={i}\r\nTo: <sip:+15550100{i:03}@192.0.2.2>\r\nCall-ID: call-{i}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1:5060>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

fn run(an: &mut Analyzer, n: u64) {
    for i in 0..n {
        an.process(&udp_frame(i + 1, i * 10, 5060, &invite(i)));
    }
}

#[test]
fn a_registered_toy_rule_reaches_the_report() {
    let mut an = siplens::rules::analyzer(Limits::default());
    an.add_rule(Box::new(InviteCounter::default()));
    assert!(an.rule_names().contains(&"toy"));
    run(&mut an, 3);
    let report = serde_json::to_value(Report::build(&an, 0)).expect("json");
    let toy: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "toy.invites")
        .collect();
    assert_eq!(toy.len(), 1, "{report:#}");
    assert_eq!(toy[0]["summary"], "3 INVITE(s)");
    assert_eq!(toy[0]["severity"], "low");
}

#[test]
fn an_engine_without_rules_has_no_findings() {
    let mut an = Analyzer::new(Limits::default());
    run(&mut an, 3);
    assert!(an.findings().is_empty());
    assert!(an.rule_names().is_empty());
}

#[test]
fn evicted_dialogs_keep_their_findings() {
    let limits = Limits {
        max_dialogs: 4,
        ..Limits::default()
    };
    let mut an = siplens::rules::analyzer(limits);
    an.add_rule(Box::new(InviteCounter::default()));
    run(&mut an, 20);
    assert_eq!(an.stats().dialog_evictions, 16);
    let f = an.findings();
    // Every call offered plain RTP: one media.cleartext-rtp per call, kept or evicted.
    let clear: Vec<&Finding> = f
        .iter()
        .filter(|f| f.rule.as_str() == "media.cleartext-rtp")
        .collect();
    assert_eq!(clear.len(), 20, "{clear:#?}");
    let toy_evicted = f
        .iter()
        .filter(|f| f.rule == TOY && f.summary == "evicted")
        .count();
    assert_eq!(toy_evicted, 16);
}

#[test]
fn evicted_findings_past_the_bound_are_summarised_per_rule() {
    let limits = Limits {
        max_dialogs: 4,
        max_evicted_findings: 5,
        ..Limits::default()
    };
    let mut an = siplens::rules::analyzer(limits);
    run(&mut an, 20);
    let f = an.findings();
    let clear: Vec<&Finding> = f
        .iter()
        .filter(|f| f.rule.as_str() == "media.cleartext-rtp")
        .collect();
    // 4 dialogs still held, 5 evicted ones listed, the rest in one summary finding.
    let summary: Vec<&&Finding> = clear
        .iter()
        .filter(|f| f.summary.contains("in evicted dialogs"))
        .collect();
    assert_eq!(summary.len(), 1, "{clear:#?}");
    assert!(
        summary[0].summary.starts_with("11 more finding(s)"),
        "{}",
        summary[0].summary
    );
    assert_eq!(clear.len(), 4 + 5 + 1);
    assert_eq!(an.stats().evicted_findings_summarised, 11);
}

#[test]
fn unanswered_invites_to_international_numbers_are_not_failed_calls() {
    // Twenty INVITEs to +1555..., none answered: the packets show no failed call.
    let mut an = siplens::rules::analyzer(Limits::default());
    run(&mut an, 20);
    let f = an.findings();
    assert!(
        f.iter().all(|f| f.rule.as_str() != "fraud.toll"),
        "{:#?}",
        f.iter().find(|f| f.rule.as_str() == "fraud.toll")
    );
    // And the unanswered offers are "offered", not "negotiated".
    let clear = f
        .iter()
        .find(|f| f.rule.as_str() == "media.cleartext-rtp")
        .expect("cleartext offer");
    assert!(
        clear.summary.starts_with("call media offered in clear"),
        "{}",
        clear.summary
    );
    assert!(!clear.summary.contains("negotiated"), "{}", clear.summary);
}

/// One finding per dialog with its message count, drawn one dialog at a time; counts the
/// dialogs it concluded on. With `name_call` false its findings name no call, which
/// breaks the per-dialog contract.
struct MessageTally {
    concluded: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    name_call: bool,
}

const TALLY: RuleId = RuleId("toy.tally");

impl Rule for MessageTally {
    fn name(&self) -> &'static str {
        "tally"
    }

    fn finish(&self, an: &Analyzer, out: &mut Vec<Finding>) {
        siplens::engine::conclude_every_dialog(self, an, out);
    }

    fn conclude_dialogs<'a>(
        &self,
        _an: &'a Analyzer,
        dialogs: &mut dyn Iterator<Item = &'a Dialog>,
        each: &mut dyn FnMut(u64, &mut Vec<Finding>),
    ) -> bool {
        let mut v = Vec::new();
        for d in dialogs {
            self.concluded
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let f = Finding::new(TALLY, Severity::Info, d.start)
                .summary(format!("{} message(s)", d.message_count));
            v.push(if self.name_call {
                f.call(d.call_id.clone())
            } else {
                f
            });
            each(d.id, &mut v);
        }
        true
    }
}

/// An engine with the default rules and a [`MessageTally`], recording its conclusions'
/// changes; and the tally's count of dialogs concluded on.
fn tallied(
    limits: Limits,
    name_call: bool,
) -> (Analyzer, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let concluded = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut an = siplens::rules::analyzer(limits);
    an.add_rule(Box::new(MessageTally {
        concluded: concluded.clone(),
        name_call,
    }));
    an.track_conclusions(true);
    (an, concluded)
}

/// One tick of the NDJSON stream's questions, its answer checked against the whole list:
/// the answer is the part of it about the calls named (and no call), and every other
/// call's findings are those of the tick before (`before`, replaced by this tick's).
fn checked_tick(
    an: &Analyzer,
    cache: &mut siplens::engine::ConclusionCache,
    before: &mut Vec<Finding>,
) -> siplens::engine::FindingsDelta {
    let ch = an.take_conclusion_changes();
    assert!(ch.is_some(), "the record is on");
    let got = an.findings_changed(cache, ch.as_ref());
    let all = an.findings();
    let (named, rest): (Vec<Finding>, Vec<Finding>) = all
        .iter()
        .cloned()
        .partition(|f| got.has_all_of(f.call_id.as_deref()));
    assert!(
        got.findings == named,
        "the answer is the named calls' findings"
    );
    if got.calls.is_some() {
        let kept: Vec<Finding> = before
            .iter()
            .filter(|f| !got.has_all_of(f.call_id.as_deref()))
            .cloned()
            .collect();
        assert!(
            rest == kept,
            "a call left out changed: {rest:#?} / {kept:#?}"
        );
    }
    *before = all;
    got
}

/// A rule that concludes one dialog at a time is asked again, between two ticks of the
/// NDJSON stream, only about the dialogs that moved: by a SIP message, or by RTP on a
/// stream bound to them. The first RTP packet of the capture, or a packet that feeds
/// state of its own (here STUN), and it concludes over everything. The answers are
/// checked against the whole list every time.
#[test]
fn per_dialog_rules_conclude_again_only_on_dialogs_that_moved() {
    use std::sync::atomic::Ordering;
    let (mut an, concluded) = tallied(Limits::default(), true);
    let mut cache = siplens::engine::ConclusionCache::default();
    let mut before = Vec::new();
    // (dialogs concluded on, whether the answer is partial)
    let mut tick = |an: &Analyzer| {
        let at = concluded.load(Ordering::Relaxed);
        let got = checked_tick(an, &mut cache, &mut before);
        let asked = concluded.load(Ordering::Relaxed) - at - an.dialog_count();
        let tallies = before.iter().filter(|f| f.rule == TALLY).count();
        assert_eq!(tallies, an.dialog_count(), "one tally per dialog");
        (asked, got.calls.is_some())
    };
    run(&mut an, 10);
    assert_eq!(
        tick(&an),
        (10, false),
        "the first tick concludes on every dialog"
    );
    assert_eq!(tick(&an), (0, true), "nothing moved");
    // Dialog call-3 sees its INVITE again (a retransmission), and a new call starts.
    an.process(&udp_frame(11, 200, 5060, &invite(3)));
    an.process(&udp_frame(12, 210, 5060, &invite(10)));
    assert_eq!(tick(&an), (2, true), "only the two dialogs that moved");
    // RTP to the address call-4's offer announced (192.0.2.1:10008).
    let rtp = |seq: u8| {
        let mut p = vec![0x80, 0, 0, seq, 0, 0, 0, seq, 0, 0, 0x30, 0x39];
        p.extend_from_slice(&[0xd5; 160]);
        p
    };
    let callee = ([192, 0, 2, 2], 20_000);
    let caller = ([192, 0, 2, 1], 10_008);
    an.process(&udp_frame_between(13, 220, callee, caller, &rtp(1)));
    assert_eq!(tick(&an), (11, false), "the first RTP: everything again");
    assert_eq!(tick(&an), (11, false), "filled again");
    an.process(&udp_frame_between(14, 240, callee, caller, &rtp(2)));
    assert_eq!(tick(&an), (1, true), "RTP on call-4's stream: call-4 only");
    let mut stun = vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[7; 12]);
    an.process(&udp_frame_between(
        15,
        260,
        callee,
        ([192, 0, 2, 9], 3478),
        &stun,
    ));
    assert_eq!(tick(&an), (11, false), "STUN: everything again");
    assert_eq!(tick(&an), (11, false), "filled again");
    assert_eq!(tick(&an), (0, true));
}

/// The findings of calls [`Analyzer::findings_changed`] leaves out are those of the last
/// answer: when evicted dialogs' findings are summarised (past
/// `Limits::max_evicted_findings`), their calls' findings leave, so those calls are named.
#[test]
fn calls_whose_findings_leave_with_their_dialogs_are_named() {
    let limits = Limits {
        max_dialogs: 4,
        max_evicted_findings: 1,
        ..Limits::default()
    };
    let (mut an, _) = tallied(limits, true);
    let mut cache = siplens::engine::ConclusionCache::default();
    let mut before = Vec::new();
    // Four calls, each with its cleartext offer; then four more evict them.
    for i in 0..4 {
        an.process(&udp_frame(i + 1, i * 10, 5060, &invite(i)));
    }
    assert!(checked_tick(&an, &mut cache, &mut before).calls.is_none());
    let quiet = checked_tick(&an, &mut cache, &mut before);
    assert!(quiet.calls.is_some());
    assert!(
        !quiet.has_all_of(Some("call-1")),
        "nothing moved for call-1"
    );
    for i in 4..8 {
        an.process(&udp_frame(i + 1, i * 10, 5060, &invite(i)));
    }
    let got = checked_tick(&an, &mut cache, &mut before);
    assert!(got.calls.is_some());
    for i in 0..4 {
        assert!(got.has_all_of(Some(&format!("call-{i}"))), "call-{i} left");
    }
}

/// A per-dialog rule whose findings name no call breaks the contract: the answer is the
/// whole list, every time.
#[test]
fn a_per_dialog_rule_that_names_no_call_gets_the_whole_list() {
    let (mut an, _) = tallied(Limits::default(), false);
    let mut cache = siplens::engine::ConclusionCache::default();
    let mut before = Vec::new();
    run(&mut an, 3);
    for i in 3..6 {
        let got = checked_tick(&an, &mut cache, &mut before);
        assert!(got.calls.is_none(), "tick {i}: partial");
        an.process(&udp_frame(i + 1, i * 10, 5060, &invite(i)));
    }
}

/// Media bound to a call through an address only its ICE candidates announced (RFC 8839)
/// moves that call: the tally is asked about it again, and only about it.
#[test]
fn rtp_to_an_ice_candidate_moves_its_call() {
    use std::sync::atomic::Ordering;
    let (mut an, concluded) = tallied(Limits::default(), true);
    let mut cache = siplens::engine::ConclusionCache::default();
    let mut before = Vec::new();
    run(&mut an, 3);
    let candidate = "a=candidate:1 1 UDP 2130706431 198.51.100.7 40000 typ srflx \
                     raddr 192.0.2.1 rport 10006\r\n";
    an.process(&udp_frame(4, 30, 5060, &invite_with(3, candidate)));
    let rtp = |seq: u8| {
        let mut p = vec![0x80, 0, 0, seq, 0, 0, 0, seq, 0, 0, 0x30, 0x39];
        p.extend_from_slice(&[0xd5; 160]);
        p
    };
    let from = ([192, 0, 2, 2], 20_000);
    let to = ([198, 51, 100, 7], 40_000);
    an.process(&udp_frame_between(5, 40, from, to, &rtp(1)));
    // The first RTP of the capture, then the cache filled again.
    assert!(checked_tick(&an, &mut cache, &mut before).calls.is_none());
    assert!(checked_tick(&an, &mut cache, &mut before).calls.is_none());
    an.process(&udp_frame_between(6, 60, from, to, &rtp(2)));
    let at = concluded.load(Ordering::Relaxed);
    let got = checked_tick(&an, &mut cache, &mut before);
    let asked = concluded.load(Ordering::Relaxed) - at - an.dialog_count();
    assert!(got.has_all_of(Some("call-3")), "call-3's media moved");
    assert_eq!(asked, 1);
}
