use super::*;
use crate::media::stun::parse;
use crate::media::tests::{STUN_V4 as RFC5769_RESPONSE_V4, STUN_V6 as RFC5769_RESPONSE_V6};
use crate::net::Transport;

fn seen(frame: u64, src: &str, dst: &str) -> Seen {
    Seen {
        frame,
        ts: Timestamp(frame * 1_000_000),
        src: crate::model::Addr::new(src.parse().unwrap()),
        dst: crate::model::Addr::new(dst.parse().unwrap()),
        transport: Transport::Udp,
    }
}

/// RFC 5769 §2.1: sample request (ICE: PRIORITY, ICE-CONTROLLED, USERNAME).
const RFC5769_REQUEST: [u8; 108] = [
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
];

/// A STUN message: `typ` (0x0001 request, 0x0101 success, 0x0111 error), transaction id
/// byte `t` repeated, attributes padded to 4 bytes.
pub(crate) fn stun_msg(typ: u16, t: u8, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
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

/// XOR-MAPPED-ADDRESS value for an IPv4 address (RFC 8489 §14.2).
pub(crate) fn xor_v4(a: SocketAddr) -> (u16, Vec<u8>) {
    let SocketAddr::V4(a) = a else {
        panic!("v4 only")
    };
    let mut v = vec![0, 1];
    v.extend_from_slice(&(a.port() ^ 0x2112).to_be_bytes());
    let ip = u32::from(*a.ip()) ^ 0x2112_A442;
    v.extend_from_slice(&ip.to_be_bytes());
    (0x0020, v)
}

fn feed(t: &mut StunTracker, bytes: &[u8], at: Seen) {
    let m = parse(bytes).expect("valid STUN");
    t.observe(&m, &at);
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn rfc5769_ice_request_and_v4_response_pair() {
    let mut t = StunTracker::default();
    feed(
        &mut t,
        &RFC5769_REQUEST,
        seen(1, "10.0.0.5:40000", "192.0.2.9:3478"),
    );
    // Response captured on the way back, addresses swapped.
    feed(
        &mut t,
        &RFC5769_RESPONSE_V4,
        seen(2, "192.0.2.9:3478", "10.0.0.5:40000"),
    );
    let b = t.bindings();
    assert_eq!(b.len(), 1);
    let b = b[0];
    assert!(b.ice_check, "PRIORITY/ICE-CONTROLLED make it an ICE check");
    assert!(!b.nominated);
    assert_eq!((b.requests, b.successes, b.errors), (1, 1, 0));
    assert_eq!(b.mapped, Some(sa("192.0.2.1:32853")));
    assert_eq!(b.behind_nat(), Some(true));
    assert_eq!(b.port_preserved(), Some(false));
    assert_eq!(b.frames, vec![1, 2]);
    assert_eq!(t.stats().unmatched_responses, 0);
    assert_eq!(t.pending.len(), 0);
}

#[test]
fn rfc5769_v6_response() {
    let m = parse(&RFC5769_RESPONSE_V6).unwrap();
    assert_eq!(
        m.xor_mapped_address(),
        Some(sa("[2001:db8:1234:5678:11:2233:4455:6677]:32853"))
    );
    let mut t = StunTracker::default();
    feed(
        &mut t,
        &RFC5769_REQUEST,
        seen(1, "[fd00::5]:40000", "[2001:db8::9]:3478"),
    );
    feed(
        &mut t,
        &RFC5769_RESPONSE_V6,
        seen(2, "[2001:db8::9]:3478", "[fd00::5]:40000"),
    );
    let b = t.bindings()[0];
    assert_eq!(b.client, sa("[fd00::5]:40000"));
    assert_eq!(
        b.mapped,
        Some(sa("[2001:db8:1234:5678:11:2233:4455:6677]:32853"))
    );
}

#[test]
fn server_binding_behind_nat_finding() {
    let mut t = StunTracker::default();
    let req = stun_msg(0x0001, 7, &[]);
    // Retransmitted request: same transaction id, counted, paired once.
    feed(&mut t, &req, seen(1, "10.0.0.5:40000", "198.51.100.1:3478"));
    feed(&mut t, &req, seen(2, "10.0.0.5:40000", "198.51.100.1:3478"));
    let ok = stun_msg(0x0101, 7, &[xor_v4(sa("203.0.113.7:61234"))]);
    feed(&mut t, &ok, seen(3, "198.51.100.1:3478", "10.0.0.5:40000"));
    let b = t.bindings()[0];
    assert!(!b.ice_check);
    assert_eq!((b.requests, b.successes), (2, 1));
    let f = findings(&t, std::iter::empty(), std::iter::empty(), &|_| None);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, NAT_STUN);
    assert_eq!(f[0].severity, Severity::Info);
    assert_eq!(
        f[0].summary,
        "10.0.0.5:40000 learned its public address 203.0.113.7:61234 from STUN server \
         198.51.100.1:3478 (behind NAT, port not preserved)"
    );
    assert_eq!(f[0].evidence, vec![1, 2, 3]);
    assert_eq!(f[0].call_id, None);
}

#[test]
fn port_preserved_and_no_nat() {
    let mut t = StunTracker::default();
    feed(
        &mut t,
        &stun_msg(0x0001, 1, &[]),
        seen(1, "10.0.0.5:4000", "198.51.100.1:3478"),
    );
    feed(
        &mut t,
        &stun_msg(0x0101, 1, &[xor_v4(sa("203.0.113.7:4000"))]),
        seen(2, "198.51.100.1:3478", "10.0.0.5:4000"),
    );
    feed(
        &mut t,
        &stun_msg(0x0001, 2, &[]),
        seen(3, "203.0.113.8:5000", "198.51.100.1:3478"),
    );
    feed(
        &mut t,
        &stun_msg(0x0101, 2, &[xor_v4(sa("203.0.113.8:5000"))]),
        seen(4, "198.51.100.1:3478", "203.0.113.8:5000"),
    );
    let f = findings(&t, std::iter::empty(), std::iter::empty(), &|_| None);
    assert!(
        f[0].summary.contains("(behind NAT, port preserved)"),
        "{}",
        f[0].summary
    );
    assert!(
        f[1].summary.contains("(no NAT: same as its source)"),
        "{}",
        f[1].summary
    );
}

#[test]
fn error_response_and_unmatched() {
    let mut t = StunTracker::default();
    feed(
        &mut t,
        &stun_msg(0x0001, 3, &[]),
        seen(1, "10.0.0.5:40000", "198.51.100.1:3478"),
    );
    let mut code = vec![0, 0, 4, 1];
    code.extend_from_slice(b"Unauthorized");
    let err = stun_msg(0x0111, 3, &[(0x0009, code)]);
    feed(&mut t, &err, seen(2, "198.51.100.1:3478", "10.0.0.5:40000"));
    // A success whose request the capture missed still tells the pair.
    let ok = stun_msg(0x0101, 9, &[xor_v4(sa("203.0.113.9:1000"))]);
    feed(&mut t, &ok, seen(3, "198.51.100.2:3478", "10.0.0.6:2000"));
    assert_eq!(t.stats().binding_errors, 1);
    assert_eq!(t.stats().unmatched_responses, 1);
    let f = findings(&t, std::iter::empty(), std::iter::empty(), &|_| None);
    assert_eq!(
        f[0].summary,
        "10.0.0.5:40000 asked STUN server 198.51.100.1:3478 for its public address: \
         1 error response(s) (ERROR-CODE 401)"
    );
    assert!(f[1]
        .summary
        .starts_with("10.0.0.6:2000 learned its public address 203.0.113.9:1000"));
}

#[test]
fn unanswered_requests() {
    let mut t = StunTracker::default();
    for i in 0..3 {
        feed(
            &mut t,
            &stun_msg(0x0001, i, &[]),
            seen(u64::from(i) + 1, "10.0.0.5:1", "198.51.100.1:3478"),
        );
    }
    let f = findings(&t, std::iter::empty(), std::iter::empty(), &|_| None);
    assert!(
        f[0].summary.contains("sent 3 STUN Binding request(s)"),
        "{}",
        f[0].summary
    );
    assert!(f[0].summary.contains("no answer"));
}

#[test]
fn non_binding_methods_ignored() {
    let mut t = StunTracker::default();
    // TURN Allocate request (method 0x003).
    feed(
        &mut t,
        &stun_msg(0x0003, 1, &[]),
        seen(1, "10.0.0.5:1", "198.51.100.1:3478"),
    );
    assert!(t.bindings().is_empty());
    assert_eq!(t.stats().binding_requests, 0);
}

#[test]
fn tables_are_bounded() {
    let mut t = StunTracker::default();
    // Distinct transaction ids from one client: pending grows to the cap, then evicts.
    for i in 0..(MAX_PENDING as u32 + 100) {
        let mut m = stun_msg(0x0001, 0, &[]);
        m[8..12].copy_from_slice(&i.to_be_bytes());
        feed(&mut t, &m, seen(1, "10.0.0.5:1", "198.51.100.1:3478"));
    }
    assert!(t.pending.len() <= MAX_PENDING);
    assert!(t.stats().pending_evictions > 0);
    // Expired entries go first and are not counted as evictions.
    let mut t2 = StunTracker::default();
    for i in 0..MAX_PENDING as u32 {
        let mut m = stun_msg(0x0001, 0, &[]);
        m[8..12].copy_from_slice(&i.to_be_bytes());
        feed(&mut t2, &m, seen(1, "10.0.0.5:1", "198.51.100.1:3478"));
    }
    let late = Seen {
        ts: Timestamp(PENDING_TIMEOUT_NS * 2),
        ..seen(2, "10.0.0.5:1", "198.51.100.1:3478")
    };
    feed(&mut t2, &stun_msg(0x0001, 0xEE, &[]), late);
    assert_eq!(t2.pending.len(), 1);
    assert_eq!(t2.stats().pending_evictions, 0);
    // Distinct clients: the pair table stops at its cap, overflow counted.
    let mut t3 = StunTracker::default();
    for i in 0..(MAX_CLIENTS as u32 + 5) {
        let client = SocketAddr::new(std::net::Ipv4Addr::from(0x0A00_0000 + i).into(), 1000);
        let at = Seen {
            src: client.into(),
            ..seen(1, "10.0.0.5:1", "198.51.100.1:3478")
        };
        let mut m = stun_msg(0x0001, 0, &[]);
        m[8..12].copy_from_slice(&i.to_be_bytes());
        feed(&mut t3, &m, at);
    }
    assert_eq!(t3.bindings().len(), MAX_CLIENTS);
    assert_eq!(t3.stats().client_overflow, 5);
}

#[test]
fn candidates_bounded_and_owned() {
    let mut sdp = String::from("v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n");
    sdp.push_str("a=candidate:1 2 UDP 100 10.0.0.5 40001 typ host\r\n");
    sdp.push_str("a=candidate:1 1 UDP 200 10.0.0.5 40000 typ host\r\n");
    sdp.push_str(
        "a=candidate:2 1 UDP 150 203.0.113.7 61234 typ srflx raddr 10.0.0.5 rport 40000\r\n",
    );
    sdp.push_str("a=candidate:3 1 UDP 10 abc.local 9 typ host\r\n");
    for i in 0..10 {
        sdp.push_str(&format!(
            "a=candidate:9{i} 1 TCP 5 198.51.100.{i} 3000 typ relay\r\n"
        ));
    }
    let parsed = crate::sdp::parse(sdp.as_bytes());
    let c = candidates_of(&parsed.media[0]);
    assert_eq!(c.len(), MAX_CANDIDATES);
    // RTP component first, mDNS name skipped.
    assert_eq!(c[0].addr, sa("10.0.0.5:40000"));
    assert_eq!(c[1].kind, CandidateKind::Srflx);
    assert_eq!(c[1].related, Some(sa("10.0.0.5:40000")));
    assert!(c[1].udp);
    assert_eq!(c[2].kind, CandidateKind::Relay);
    assert!(!c[2].udp);
    assert!(c.iter().all(|x| x.component == 1));
}

proptest::proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let mut t = StunTracker::default();
        let mut b = bytes.clone();
        // Give arbitrary bytes the cookie so that they reach the tracker.
        if b.len() >= 20 {
            b[4..8].copy_from_slice(&0x2112_A442u32.to_be_bytes());
        }
        if let Some(m) = parse(&b) {
            t.observe(&m, &seen(1, "10.0.0.5:1", "198.51.100.1:3478"));
            let _ = findings(&t, std::iter::empty(), std::iter::empty(), &|_| None);
        }
    }
}

#[test]
fn request_seen_again_behind_the_nat_is_not_a_second_client() {
    let mut t = StunTracker::default();
    let req = stun_msg(0x0001, 4, &[]);
    feed(&mut t, &req, seen(1, "10.0.0.5:40000", "198.51.100.1:3478"));
    feed(
        &mut t,
        &req,
        seen(2, "203.0.113.7:61234", "198.51.100.1:3478"),
    );
    let ok = stun_msg(0x0101, 4, &[xor_v4(sa("203.0.113.7:61234"))]);
    feed(
        &mut t,
        &ok,
        seen(3, "198.51.100.1:3478", "203.0.113.7:61234"),
    );
    let b = t.bindings();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].client, sa("10.0.0.5:40000"));
    assert_eq!(b[0].mapped, Some(sa("203.0.113.7:61234")));
}

#[test]
fn limits_bound_clients_and_a_binding_fits_its_documented_cost() {
    let size = std::mem::size_of::<((SocketAddr, SocketAddr), StunBinding)>() as u64;
    assert!(
        size <= crate::engine::limits::STUN_CLIENT_COST_BYTES,
        "{size}"
    );
    let limits = crate::engine::limits::RuleLimits {
        stun_clients: 2,
        ..Default::default()
    };
    let t = StunTracker::new(&limits);
    assert_eq!(t.limits.stun_clients, 2);
}
