//! NAT troubleshooting rules on synthetic calls fed through `Analyzer::process`: each
//! scenario is the wire view of a classic NAT failure (or of a clean call).

use std::net::SocketAddr;

use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::engine::{Analyzer, Finding, Severity};
use siplens::report::Report;

const T0: u64 = 1_700_000_000_000_000_000;

struct Cap {
    an: Analyzer,
    n: u64,
}

impl Cap {
    fn new() -> Self {
        Cap {
            an: siplens::rules::analyzer(siplens::engine::Limits::default()),
            n: 0,
        }
    }

    fn udp(&mut self, ms: u64, src: &str, dst: &str, payload: &[u8]) {
        let s: SocketAddr = src.parse().expect("src");
        let d: SocketAddr = dst.parse().expect("dst");
        let (SocketAddr::V4(s), SocketAddr::V4(d)) = (s, d) else {
            panic!("v4 only");
        };
        let b = etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
            .ipv4(s.ip().octets(), d.ip().octets(), 64)
            .udp(s.port(), d.port());
        let mut data = Vec::new();
        b.write(&mut data, payload).expect("build");
        self.n += 1;
        self.an.process(&Frame {
            number: self.n,
            ts: Timestamp(T0 + ms * 1_000_000),
            link_type: LinkType::ETHERNET,
            orig_len: data.len() as u32,
            data,
            interface: 0,
        });
    }

    /// `count` RTP packets every 20 ms from `start_ms`.
    fn rtp(&mut self, start_ms: u64, count: u16, src: &str, dst: &str, ssrc: u32) {
        for i in 0..count {
            let mut p = vec![0x80, 0x00];
            p.extend_from_slice(&(100 + i).to_be_bytes());
            p.extend_from_slice(&(u32::from(i) * 160).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.extend_from_slice(&[0xd5; 160]);
            self.udp(start_ms + u64::from(i) * 20, src, dst, &p);
        }
    }

    fn findings(&self) -> Vec<Finding> {
        self.an.findings()
    }
}

fn sdp(ip: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )
}

#[allow(clippy::too_many_arguments)]
fn msg(
    start: &str,
    via: &str,
    cseq: &str,
    to_tag: bool,
    contact: Option<&str>,
    extra: &str,
    body: Option<&str>,
) -> Vec<u8> {
    let mut m = format!(
        "{start}\r\nVia: {via}\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>{}\r\n\
         Call-ID: call-1@example.com\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n",
        if to_tag { ";tag=b1" } else { "" }
    );
    if let Some(c) = contact {
        m.push_str(&format!("Contact: {c}\r\n"));
    }
    m.push_str(extra);
    match body {
        Some(b) => m.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => m.push_str("Content-Length: 0\r\n\r\n"),
    }
    m.into_bytes()
}

const INV: &str = "INVITE sip:bob@example.com SIP/2.0";
const OK: &str = "SIP/2.0 200 OK";

/// Caller 192.168.1.10 behind a NAT whose public side is 203.0.113.5; callee public at
/// 198.51.100.7. `callee_rtp_to` is where the callee sends its RTP.
fn natted_call(rport: bool, callee_rtp_to: &str) -> Cap {
    let mut c = Cap::new();
    let nat = "203.0.113.5:40000";
    let bob = "198.51.100.7:5060";
    let via_req = format!(
        "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1{}",
        if rport { ";rport" } else { "" }
    );
    let via_resp = format!(
        "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1;received=203.0.113.5{}",
        if rport { ";rport=40000" } else { "" }
    );
    let alice_contact = "<sip:alice@192.168.1.10:5060>";
    c.udp(
        0,
        nat,
        bob,
        &msg(
            INV,
            &via_req,
            "1 INVITE",
            false,
            Some(alice_contact),
            "",
            Some(&sdp("192.168.1.10", 4000)),
        ),
    );
    c.udp(
        100,
        bob,
        nat,
        &msg(
            OK,
            &via_resp,
            "1 INVITE",
            true,
            Some("<sip:bob@198.51.100.7:5060>"),
            "",
            Some(&sdp("198.51.100.7", 20000)),
        ),
    );
    let ack_via = format!(
        "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK2{}",
        if rport { ";rport" } else { "" }
    );
    c.udp(
        150,
        nat,
        bob,
        &msg(
            "ACK sip:bob@198.51.100.7 SIP/2.0",
            &ack_via,
            "1 ACK",
            true,
            None,
            "",
            None,
        ),
    );
    // The caller's RTP leaves through the NAT from another port than its SDP said.
    c.rtp(200, 150, "203.0.113.5:41000", "198.51.100.7:20000", 0x1111);
    c.rtp(210, 150, "198.51.100.7:20000", callee_rtp_to, 0x2222);
    let bye_via = format!(
        "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK3{}",
        if rport { ";rport" } else { "" }
    );
    c.udp(
        5000,
        nat,
        bob,
        &msg(
            "BYE sip:bob@198.51.100.7 SIP/2.0",
            &bye_via,
            "2 BYE",
            true,
            None,
            "",
            None,
        ),
    );
    c.udp(
        5050,
        bob,
        nat,
        &msg(OK, &bye_via, "2 BYE", true, None, "", None),
    );
    c
}

fn rules(f: &[Finding]) -> Vec<(&'static str, Severity)> {
    let mut v: Vec<(&'static str, Severity)> = f
        .iter()
        .filter(|f| {
            f.rule.as_str().starts_with("nat.")
                || f.rule.as_str().starts_with("media.o")
                || f.rule.as_str().starts_with("media.no")
        })
        .map(|f| (f.rule.as_str(), f.severity))
        .collect();
    v.sort();
    v
}

fn get<'a>(f: &'a [Finding], rule: &str) -> &'a Finding {
    f.iter()
        .find(|x| x.rule.as_str() == rule)
        .unwrap_or_else(|| panic!("{rule} missing in {:?}", rules(f)))
}

#[test]
fn caller_behind_nat_with_latching_media() {
    let c = natted_call(true, "203.0.113.5:41000");
    let f = c.findings();
    assert_eq!(
        rules(&f),
        vec![
            ("nat.contact-private", Severity::Medium),
            ("nat.media-latching", Severity::Info),
            ("nat.sdp-private", Severity::Medium),
            ("nat.via-mismatch", Severity::Info),
        ]
    );
    let cp = get(&f, "nat.contact-private");
    assert!(
        cp.summary.contains("192.168.1.10:5060") && cp.summary.contains("203.0.113.5:40000"),
        "{}",
        cp.summary
    );
    assert_eq!(cp.evidence, vec![1]);
    let sp = get(&f, "nat.sdp-private");
    assert!(
        sp.summary.contains("192.168.1.10:4000") && sp.summary.contains("still arrives"),
        "{}",
        sp.summary
    );
    let l = get(&f, "nat.media-latching");
    assert!(
        l.summary.contains("203.0.113.5:41000") && l.summary.contains("192.168.1.10:4000"),
        "{}",
        l.summary
    );

    // The report: a `nat` object with both parties, advertised vs observed.
    let r = Report::build(&c.an, 0);
    let nat = r.dialogs[0].nat.as_ref().expect("nat view");
    let caller = &nat.parties[0];
    assert_eq!(caller.role.as_str(), "caller");
    assert!(caller.behind_nat);
    assert_eq!(
        caller.issues,
        vec!["via-mismatch", "contact-private", "sdp-private"]
    );
    let rp = caller.rport.as_ref().expect("rport");
    assert!(rp.requested);
    assert_eq!(rp.filled, Some(40000));
    assert_eq!(rp.received, "203.0.113.5".parse().ok());
    assert_eq!(
        caller.observed.media_from,
        vec!["203.0.113.5:41000".parse::<SocketAddr>().expect("a")]
    );
    assert!(caller.observed.packets_received > 0);
    let callee = &nat.parties[1];
    assert!(
        !callee.behind_nat && callee.issues.is_empty(),
        "{:?}",
        callee
    );
    let json = serde_json::to_value(&r.dialogs[0].nat).expect("json");
    assert_eq!(
        json["parties"][0]["advertised"]["contact"]["class"],
        "private"
    );
    assert_eq!(
        json["parties"][1]["advertised"]["sdp"][0]["class"],
        "documentation"
    );
    let text = siplens::report::text::render(&r);
    assert!(
        text.contains("\nNAT (1 dialogs)") && text.contains("fix_nated_sdp"),
        "{text}"
    );
}

#[test]
fn one_way_audio_when_the_far_end_sends_to_the_private_sdp_address() {
    let c = natted_call(true, "192.168.1.10:4000");
    let f = c.findings();
    let r = rules(&f);
    assert!(r.contains(&("media.one-way", Severity::High)), "{r:?}");
    assert!(r.contains(&("nat.sdp-private", Severity::High)), "{r:?}");
    let ow = get(&f, "media.one-way");
    if std::env::var_os("NAT_SHOW").is_some() {
        let rep = Report::build(&c.an, 0);
        println!("{}", siplens::report::text::render(&rep));
    }
    assert!(
        ow.summary.contains("the caller hears nothing"),
        "{}",
        ow.summary
    );
    assert!(
        ow.summary.contains("192.168.1.10:4000") && ow.summary.contains("private"),
        "{}",
        ow.summary
    );
    let mut rep = Report::build(&c.an, 0);
    rep.retain_nat();
    assert_eq!(rep.dialogs.len(), 1);
    assert!(rep
        .findings
        .iter()
        .all(|f| f.rule.starts_with("nat.") || f.rule.starts_with("media.")));
}

#[test]
fn missing_rport_behind_nat() {
    let c = natted_call(false, "203.0.113.5:41000");
    let f = c.findings();
    let rp = get(&f, "nat.rport-missing");
    assert_eq!(rp.severity, Severity::Low);
    assert!(
        rp.summary.contains("port 5060") && rp.summary.contains("40000"),
        "{}",
        rp.summary
    );
    // With rport there is no such finding.
    let c = natted_call(true, "203.0.113.5:41000");
    assert!(c
        .findings()
        .iter()
        .all(|f| f.rule.as_str() != "nat.rport-missing"));
}

fn register(keepalive: bool, granted: u32) -> Cap {
    let mut c = Cap::new();
    let nat = "203.0.113.5:40000";
    let reg = "198.51.100.7:5060";
    let via = "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKr1;rport";
    // A challenge first: the REGISTER that answers it is not a refresh.
    let via0 = "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKr0;rport";
    c.udp(
        0,
        nat,
        reg,
        &msg(
            "REGISTER sip:example.com SIP/2.0",
            via0,
            "0 REGISTER",
            false,
            Some("<sip:alice@192.168.1.10:5060>;expires=3600"),
            "",
            None,
        ),
    );
    c.udp(
        20,
        reg,
        nat,
        &msg(
            "SIP/2.0 401 Unauthorized",
            &format!("{via0}=40000;received=203.0.113.5"),
            "0 REGISTER",
            true,
            None,
            "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n1\"\r\n",
            None,
        ),
    );
    c.udp(
        30,
        nat,
        reg,
        &msg(
            "REGISTER sip:example.com SIP/2.0",
            via,
            "1 REGISTER",
            false,
            Some("<sip:alice@192.168.1.10:5060>;expires=3600"),
            "",
            None,
        ),
    );
    c.udp(
        50,
        reg,
        nat,
        &msg(
            OK,
            &format!("{via}=40000;received=203.0.113.5"),
            "1 REGISTER",
            true,
            Some(&format!("<sip:alice@192.168.1.10:5060>;expires={granted}")),
            "",
            None,
        ),
    );
    if keepalive {
        c.udp(30_000, nat, reg, b"\r\n\r\n");
    }
    c
}

#[test]
fn long_registration_behind_nat_without_keepalives() {
    let f = register(false, 3600).findings();
    let e = get(&f, "nat.register-expiry");
    assert_eq!(e.severity, Severity::Medium);
    assert!(
        e.summary.contains("3600 s") && e.summary.contains("203.0.113.5:40000"),
        "{}",
        e.summary
    );
    assert_eq!(e.evidence, vec![1, 4]);
    // CRLF keepalives from the UA keep the binding: no finding.
    assert!(register(true, 3600)
        .findings()
        .iter()
        .all(|f| f.rule.as_str() != "nat.register-expiry"));
    // A short granted expiry refreshes the binding often enough.
    assert!(register(false, 60)
        .findings()
        .iter()
        .all(|f| f.rule.as_str() != "nat.register-expiry"));
}

fn clean_call(a: &str, b: &str, a_ip: &str, b_ip: &str) -> Vec<Finding> {
    let mut c = Cap::new();
    let via = format!("SIP/2.0/UDP {a};branch=z9hG4bK1;rport");
    c.udp(
        0,
        a,
        b,
        &msg(
            INV,
            &via,
            "1 INVITE",
            false,
            Some(&format!("<sip:alice@{a}>")),
            "",
            Some(&sdp(a_ip, 4000)),
        ),
    );
    c.udp(
        100,
        b,
        a,
        &msg(
            OK,
            &via,
            "1 INVITE",
            true,
            Some(&format!("<sip:bob@{b}>")),
            "",
            Some(&sdp(b_ip, 20000)),
        ),
    );
    c.udp(
        150,
        a,
        b,
        &msg(
            "ACK sip:bob SIP/2.0",
            &format!("SIP/2.0/UDP {a};branch=z9hG4bK2"),
            "1 ACK",
            true,
            None,
            "",
            None,
        ),
    );
    c.rtp(
        200,
        150,
        &format!("{a_ip}:4000"),
        &format!("{b_ip}:20000"),
        1,
    );
    c.rtp(
        200,
        150,
        &format!("{b_ip}:20000"),
        &format!("{a_ip}:4000"),
        2,
    );
    c.udp(
        5000,
        a,
        b,
        &msg(
            "BYE sip:bob SIP/2.0",
            &format!("SIP/2.0/UDP {a};branch=z9hG4bK3"),
            "2 BYE",
            true,
            None,
            "",
            None,
        ),
    );
    c.findings()
}

#[test]
fn clean_calls_have_no_nat_trouble() {
    for (a, b, ai, bi) in [
        (
            "203.0.113.5:5060",
            "198.51.100.7:5060",
            "203.0.113.5",
            "198.51.100.7",
        ),
        ("127.0.0.1:5070", "127.0.0.1:5060", "127.0.0.1", "127.0.0.1"),
        ("10.0.0.1:5060", "10.0.0.2:5060", "10.0.0.1", "10.0.0.2"),
    ] {
        let f = clean_call(a, b, ai, bi);
        let above: Vec<_> = rules(&f)
            .into_iter()
            .filter(|(_, s)| *s > Severity::Info)
            .collect();
        assert!(above.is_empty(), "{a}: {above:?}");
        assert!(rules(&f).is_empty(), "{a}: {:?}", rules(&f));
    }
}

#[test]
fn answered_call_without_rtp_while_the_capture_has_some() {
    let mut c = Cap::new();
    let (a, b) = ("203.0.113.5:5060", "198.51.100.7:5060");
    let via = format!("SIP/2.0/UDP {a};branch=z9hG4bK1;rport");
    c.udp(
        0,
        a,
        b,
        &msg(
            INV,
            &via,
            "1 INVITE",
            false,
            Some("<sip:a@203.0.113.5>"),
            "",
            Some(&sdp("203.0.113.5", 4000)),
        ),
    );
    c.udp(
        100,
        b,
        a,
        &msg(
            OK,
            &via,
            "1 INVITE",
            true,
            Some("<sip:b@198.51.100.7>"),
            "",
            Some(&sdp("198.51.100.7", 20000)),
        ),
    );
    // Unrelated RTP elsewhere: the capture is not signaling-only.
    c.rtp(200, 10, "192.0.2.50:7000", "192.0.2.51:7000", 9);
    c.udp(
        10_000,
        a,
        b,
        &msg(
            "BYE sip:b SIP/2.0",
            &format!("SIP/2.0/UDP {a};branch=z9hG4bK3"),
            "2 BYE",
            true,
            None,
            "",
            None,
        ),
    );
    let f = c.findings();
    assert_eq!(get(&f, "media.no-rtp").severity, Severity::Medium);
}

#[test]
fn ack_timeout_to_a_private_contact() {
    let mut c = Cap::new();
    let caller = "198.51.100.7:5060";
    let callee_nat = "203.0.113.9:5070";
    let via = "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKi;rport";
    c.udp(
        0,
        caller,
        callee_nat,
        &msg(
            INV,
            via,
            "1 INVITE",
            false,
            Some("<sip:a@198.51.100.7>"),
            "",
            Some(&sdp("198.51.100.7", 4000)),
        ),
    );
    let ok = msg(
        OK,
        via,
        "1 INVITE",
        true,
        Some("<sip:b@192.168.1.20:5060>"),
        "",
        Some(&sdp("192.168.1.20", 30000)),
    );
    c.udp(1000, callee_nat, caller, &ok);
    // The caller sends the ACK to the Contact, a private address that never arrives.
    c.udp(
        1050,
        caller,
        "192.168.1.20:5060",
        &msg(
            "ACK sip:b@192.168.1.20:5060 SIP/2.0",
            "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKa",
            "1 ACK",
            true,
            None,
            "",
            None,
        ),
    );
    for t in [
        1500, 2500, 4500, 8500, 12_500, 16_500, 20_500, 24_500, 28_500, 32_500,
    ] {
        c.udp(t, callee_nat, caller, &ok);
    }
    c.udp(
        33_000,
        callee_nat,
        caller,
        &msg(
            "BYE sip:a@198.51.100.7 SIP/2.0",
            "SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKb",
            "1 BYE",
            true,
            None,
            "",
            None,
        ),
    );
    let f = c.findings();
    let a = get(&f, "nat.ack-timeout");
    assert_eq!(a.severity, Severity::High);
    assert!(
        a.summary.contains("retransmitted 10 times"),
        "{}",
        a.summary
    );
    assert!(
        a.summary.contains("torn down by BYE 32.0 s later"),
        "{}",
        a.summary
    );
    assert!(
        a.summary.contains("192.168.1.20:5060") && a.summary.contains("frame 3"),
        "{}",
        a.summary
    );
    assert!(a.evidence.contains(&2) && a.evidence.contains(&3));
}

#[test]
fn a_proxy_relaying_the_private_contact_is_not_reported_twice() {
    let mut c = Cap::new();
    let nat = "203.0.113.5:40000";
    let proxy = "198.51.100.1:5060";
    let bob = "198.51.100.7:5060";
    let alice_via = "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1;rport";
    let contact = Some("<sip:alice@192.168.1.10:5060>");
    let body = sdp("192.168.1.10", 4000);
    c.udp(
        0,
        nat,
        proxy,
        &msg(INV, alice_via, "1 INVITE", false, contact, "", Some(&body)),
    );
    // The proxy forwards it: its own Via on top, the caller's below with received/rport.
    let fwd_via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKp1\r\nVia: SIP/2.0/UDP \
                   192.168.1.10:5060;branch=z9hG4bK1;rport=40000;received=203.0.113.5";
    c.udp(
        10,
        proxy,
        bob,
        &msg(
            INV,
            fwd_via,
            "1 INVITE",
            false,
            contact,
            "Record-Route: <sip:198.51.100.1;lr>\r\n",
            Some(&body),
        ),
    );
    let f = c.findings();
    let count = |r: &str| f.iter().filter(|x| x.rule.as_str() == r).count();
    assert_eq!(count("nat.contact-private"), 1, "{:?}", rules(&f));
    assert_eq!(count("nat.sdp-private"), 1, "{:?}", rules(&f));
    let cp = get(&f, "nat.contact-private");
    assert_eq!(cp.src.map(|a| a.get()), nat.parse().ok());
    assert!(
        cp.summary.contains("Record-Route present"),
        "{}",
        cp.summary
    );
    let r = Report::build(&c.an, 0);
    let v = r.dialogs[0].nat.as_ref().expect("nat view");
    let caller = &v.parties[0];
    // received/rport read from the lower Via of the forwarded request.
    assert_eq!(caller.rport.as_ref().and_then(|r| r.filled), Some(40000));
    assert!(
        v.parties[1].issues.contains(&"relayed"),
        "{:?}",
        v.parties[1]
    );
    assert!(!v.parties[1].behind_nat);
}

#[test]
fn in_dialog_request_answered_481() {
    let mut c = natted_call(true, "203.0.113.5:41000");
    c.udp(
        6000,
        "198.51.100.7:5060",
        "203.0.113.5:40000",
        &msg(
            "SIP/2.0 481 Call/Transaction Does Not Exist",
            "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK9;rport=40000",
            "3 INFO",
            true,
            None,
            "",
            None,
        ),
    );
    let f = c.findings();
    let a = get(&f, "nat.ack-timeout");
    assert!(a.summary.contains("481 to INFO"), "{}", a.summary);
    assert!(
        a.summary.contains("private Contact 192.168.1.10:5060"),
        "{}",
        a.summary
    );
}

#[test]
fn lan_side_capture_sees_the_nat_through_received() {
    // Captured inside the LAN: the phone sends from what it advertises, but the
    // registrar writes the NAT's public address into received=.
    let mut c = Cap::new();
    let phone = "192.168.1.2:5060";
    let reg = "198.51.100.7:5060";
    let via = "SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKl1";
    let contact = Some("<sip:alice@192.168.1.2:5060>");
    c.udp(
        0,
        phone,
        reg,
        &msg(
            "REGISTER sip:example.com SIP/2.0",
            via,
            "1 REGISTER",
            false,
            contact,
            "Expires: 1200\r\n",
            None,
        ),
    );
    c.udp(
        40,
        reg,
        phone,
        &msg(
            OK,
            &format!("{via};received=80.230.219.70"),
            "1 REGISTER",
            true,
            Some("<sip:alice@192.168.1.2:5060>;expires=1200"),
            "",
            None,
        ),
    );
    let f = c.findings();
    let r = rules(&f);
    assert!(
        r.contains(&("nat.contact-private", Severity::Medium)),
        "{r:?}"
    );
    assert!(r.contains(&("nat.rport-missing", Severity::Low)), "{r:?}");
    assert!(
        r.contains(&("nat.register-expiry", Severity::Medium)),
        "{r:?}"
    );
    assert!(get(&f, "nat.contact-private")
        .summary
        .contains("80.230.219.70"));
    let rep = Report::build(&c.an, 0);
    let v = rep.dialogs[0].nat.as_ref().expect("nat view");
    assert!(v.parties[0].behind_nat);
    assert!(
        v.parties[0].verdict.contains("inside its NAT"),
        "{}",
        v.parties[0].verdict
    );
    assert_eq!(
        v.parties[0].register.as_ref().and_then(|r| r.granted),
        Some(1200)
    );
}

#[test]
fn loopback_capture_with_private_addresses_inside_sip_is_not_nat() {
    let mut c = Cap::new();
    let (a, b) = ("127.0.0.1:5070", "127.0.0.1:5060");
    let via = "SIP/2.0/UDP 10.0.20.151:5070;branch=z9hG4bK1";
    c.udp(
        0,
        a,
        b,
        &msg(
            INV,
            via,
            "1 INVITE",
            false,
            Some("<sip:a@10.0.20.151:5070>"),
            "",
            Some(&sdp("10.0.20.151", 4000)),
        ),
    );
    c.udp(
        100,
        b,
        a,
        &msg(
            OK,
            via,
            "1 INVITE",
            true,
            Some("<sip:b@10.0.20.151:5060>"),
            "",
            Some(&sdp("10.0.20.151", 6000)),
        ),
    );
    let f = c.findings();
    assert!(
        rules(&f).iter().all(|(_, s)| *s == Severity::Info),
        "{:?}",
        rules(&f)
    );
    assert!(Report::build(&c.an, 0).dialogs[0].nat.is_none());
}

#[test]
fn report_nat_flag_keeps_only_calls_with_nat_trouble() {
    let bin = env!("CARGO_BIN_EXE_siplens");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/basic-call-rtp.pcap");
    let out = std::process::Command::new(bin)
        .args(["report", "--nat", "--no-progress", "-F", "json", sample])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["dialogs"].as_array().map(|a| a.len()), Some(0));
    assert_eq!(v["findings"].as_array().map(|a| a.len()), Some(0));
    assert_eq!(v["schema_version"], 1);
    let out = std::process::Command::new(bin)
        .args(["report", "--nat", "--no-progress", sample])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("DIALOGS (0)") && !text.contains("\nNAT ("),
        "{text}"
    );
}
