//! nat.stun end to end: STUN Binding exchanges, ICE candidates in SDP and the media that
//! really flowed, fed to the engine as frames.

use std::net::SocketAddr;

use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::engine::Finding;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Ethernet/IPv4/UDP frame from `src` to `dst`.
fn frame(number: u64, src: &str, dst: &str, payload: &[u8]) -> Frame {
    let (SocketAddr::V4(s), SocketAddr::V4(d)) = (sa(src), sa(dst)) else {
        panic!("v4 only")
    };
    let builder = etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
        .ipv4(s.ip().octets(), d.ip().octets(), 64)
        .udp(s.port(), d.port());
    let mut data = Vec::new();
    builder.write(&mut data, payload).expect("build");
    Frame {
        number,
        ts: Timestamp(1_700_000_000_000_000_000 + number * 20_000_000),
        link_type: LinkType::ETHERNET,
        orig_len: data.len() as u32,
        data,
        interface: 0,
    }
}

/// STUN message: `typ` 0x0001 request / 0x0101 success, transaction id byte `t`.
fn stun(typ: u16, t: u8, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in attrs {
        body.extend_from_slice(&k.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        while body.len() % 4 != 0 {
            body.push(0);
        }
    }
    let mut m = typ.to_be_bytes().to_vec();
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    m.extend_from_slice(&[t; 12]);
    m.extend_from_slice(&body);
    m
}

fn xor_mapped(a: &str) -> (u16, Vec<u8>) {
    let SocketAddr::V4(a) = sa(a) else { panic!() };
    let mut v = vec![0, 1];
    v.extend_from_slice(&(a.port() ^ 0x2112).to_be_bytes());
    v.extend_from_slice(&(u32::from(*a.ip()) ^ 0x2112_A442).to_be_bytes());
    (0x0020, v)
}

fn sip(start: &str, from_tag: &str, to_tag: &str, cseq: &str, sdp: &str) -> Vec<u8> {
    format!(
        "{start}\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKstun1\r\n\
         From: <sip:alice@example.com>;tag={from_tag}\r\nTo: <sip:bob@example.com>{to_tag}\r\n\
         Call-ID: stun-call-1\r\nCSeq: {cseq}\r\nContact: <sip:alice@10.0.0.5:5060>\r\n\
         Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

fn sdp(ip: &str, port: u16, candidates: &[&str]) -> String {
    let mut s = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    for c in candidates {
        s.push_str(&format!("a=candidate:{c}\r\n"));
    }
    s
}

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xff; 160]);
    p
}

const CLIENT: &str = "10.0.0.5:40000";
const PUBLIC: &str = "203.0.113.7:61234";
const SERVER: &str = "198.51.100.1:3478";
const PEER: &str = "198.51.100.9:5000";

/// A call behind NAT: STUN to a server, INVITE/200 with SDP, ICE checks, RTP both ways.
fn run(with_stun: bool, caller_candidates: &[&str], callee_candidates: &[&str]) -> Vec<Finding> {
    let mut frames = Vec::new();
    let mut n = 0u64;
    let mut push = |src: &str, dst: &str, p: Vec<u8>| {
        n += 1;
        frames.push(frame(n, src, dst, &p));
    };
    if with_stun {
        push(CLIENT, SERVER, stun(0x0001, 1, &[]));
        push(SERVER, CLIENT, stun(0x0101, 1, &[xor_mapped(PUBLIC)]));
    }
    let offer = sdp("10.0.0.5", 40000, caller_candidates);
    push(
        "10.0.0.5:5060",
        "198.51.100.9:5060",
        sip(
            "INVITE sip:bob@example.com SIP/2.0",
            "a1",
            "",
            "1 INVITE",
            &offer,
        ),
    );
    let answer = sdp("198.51.100.9", 5000, callee_candidates);
    push(
        "198.51.100.9:5060",
        "10.0.0.5:5060",
        sip("SIP/2.0 200 OK", "a1", ";tag=b1", "1 INVITE", &answer),
    );
    if !caller_candidates.is_empty() {
        // ICE connectivity check with PRIORITY and USE-CANDIDATE (RFC 8445 §7.1).
        let prio = (0x0024, vec![0x6e, 0, 1, 0xff]);
        push(PUBLIC, PEER, stun(0x0001, 2, &[prio, (0x0025, vec![])]));
        push(PEER, PUBLIC, stun(0x0101, 2, &[xor_mapped(PUBLIC)]));
    }
    let (a, b) = if caller_candidates.is_empty() {
        (CLIENT, PEER)
    } else {
        (PUBLIC, PEER)
    };
    for i in 0..10 {
        push(a, b, rtp(i, 0x1111));
        push(b, a, rtp(i, 0x2222));
    }
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    for f in &frames {
        an.process(f);
    }
    an.findings()
        .into_iter()
        .filter(|f| f.rule.as_str() == "nat.stun")
        .collect()
}

const CALLER_ICE: &[&str] = &[
    "1 1 UDP 2130706431 10.0.0.5 40000 typ host",
    "2 1 UDP 1694498815 203.0.113.7 61234 typ srflx raddr 10.0.0.5 rport 40000",
];
const CALLEE_ICE: &[&str] = &[
    "1 1 UDP 2130706431 192.168.1.9 5000 typ host",
    "2 1 UDP 1694498815 198.51.100.9 5000 typ srflx raddr 192.168.1.9 rport 5000",
];

#[test]
fn stun_and_ice_call() {
    let f = run(true, CALLER_ICE, CALLEE_ICE);
    assert_eq!(f.len(), 2, "{f:#?}");
    let stun = f
        .iter()
        .find(|x| x.src.map(|a| a.get()) == Some(sa(CLIENT)))
        .expect("binding finding");
    assert_eq!(stun.call_id.as_deref(), Some("stun-call-1"));
    assert_eq!(
        stun.summary,
        "10.0.0.5:40000 learned its public address 203.0.113.7:61234 from STUN server \
         198.51.100.1:3478 (behind NAT, port not preserved); the SDP (frame 3) offers it as \
         a srflx ICE candidate"
    );
    assert_eq!(stun.evidence, vec![1, 2, 3]);
    let ice = f
        .iter()
        .find(|x| x.summary.starts_with("ICE"))
        .expect("ICE finding");
    assert_eq!(ice.call_id.as_deref(), Some("stun-call-1"));
    let s = &ice.summary;
    assert!(
        s.contains("caller offered 1 host, 1 srflx, callee offered 1 host, 1 srflx"),
        "{s}"
    );
    assert!(
        s.contains("203.0.113.7:61234 (caller srflx)")
            && s.contains("198.51.100.9:5000 (callee srflx)"),
        "{s}"
    );
    assert!(s.contains("(no relay)"), "{s}");
    assert!(
        s.contains("caller default c= 10.0.0.5:40000 differs from the used 203.0.113.7:61234"),
        "{s}"
    );
    assert!(!s.contains("callee default"), "{s}");
    assert!(
        s.contains("srflx 203.0.113.7:61234 confirmed by STUN server 198.51.100.1:3478"),
        "{s}"
    );
    assert!(s.contains("1 connectivity check pair(s), 1 answered, nominated 203.0.113.7:61234 -> 198.51.100.9:5000"), "{s}");
    // SDP frames, the STUN success, the nominated check and first RTP packet.
    for fr in [2, 3, 4, 5, 6] {
        assert!(ice.evidence.contains(&fr), "{:?}", ice.evidence);
    }
}

#[test]
fn relay_candidate_used() {
    let callee = ["1 1 UDP 5 198.51.100.9 5000 typ relay raddr 192.168.1.9 rport 5000"];
    let f = run(false, CALLER_ICE, &callee);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].summary.contains("198.51.100.9:5000 (callee relay)"),
        "{}",
        f[0].summary
    );
    assert!(f[0].summary.contains("(relay needed)"), "{}", f[0].summary);
}

#[test]
fn learned_public_address_but_advertised_private() {
    let f = run(true, &[], &[]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].call_id.as_deref(), Some("stun-call-1"));
    assert!(
        f[0].summary.ends_with(
            "; but the SDP (frame 3) advertises 10.0.0.5:40000 instead: the UA did not use \
             the address it learned"
        ),
        "{}",
        f[0].summary
    );
}

#[test]
fn no_stun_no_candidates_no_finding() {
    assert!(run(false, &[], &[]).is_empty());
}

#[test]
fn one_sided_candidates_without_checks_say_nothing() {
    // The callee answered without candidates: ICE is not used (RFC 8445 §5.1.1), and the
    // connectivity check in the run names no candidate of the call (it is reported apart).
    let f = run(false, &["1 1 UDP 1 10.9.9.9 1 typ host"], &[]);
    assert!(f.iter().all(|x| !x.summary.starts_with("ICE")), "{f:#?}");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0]
        .summary
        .starts_with("1 ICE connectivity check pair(s) with no SDP candidates"));
}
