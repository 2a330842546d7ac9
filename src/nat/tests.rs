use super::*;

fn c(s: &str) -> AddrClass {
    classify(s.parse().expect("ip"))
}

#[test]
fn classifies_ipv4_ranges() {
    assert_eq!(c("8.8.8.8"), AddrClass::Public);
    assert_eq!(c("10.1.2.3"), AddrClass::Private);
    assert_eq!(c("172.16.0.1"), AddrClass::Private);
    assert_eq!(c("172.31.255.255"), AddrClass::Private);
    assert_eq!(c("172.32.0.1"), AddrClass::Public);
    assert_eq!(c("192.168.1.10"), AddrClass::Private);
    assert_eq!(c("100.64.0.1"), AddrClass::Cgnat);
    assert_eq!(c("100.127.255.254"), AddrClass::Cgnat);
    assert_eq!(c("100.128.0.1"), AddrClass::Public);
    assert_eq!(c("100.63.255.255"), AddrClass::Public);
    assert_eq!(c("169.254.3.4"), AddrClass::LinkLocal);
    assert_eq!(c("127.0.0.1"), AddrClass::Loopback);
    assert_eq!(c("0.0.0.0"), AddrClass::Unspecified);
    assert_eq!(c("224.0.0.1"), AddrClass::Multicast);
    for d in ["192.0.2.1", "198.51.100.7", "203.0.113.5"] {
        assert_eq!(c(d), AddrClass::Documentation, "{d}");
    }
    assert_eq!(c("198.51.101.1"), AddrClass::Public);
}

#[test]
fn classifies_ipv6_ranges() {
    assert_eq!(c("2a00:1450::1"), AddrClass::Public);
    assert_eq!(c("fd00:5eed::1"), AddrClass::UniqueLocal);
    assert_eq!(c("fc00::1"), AddrClass::UniqueLocal);
    assert_eq!(c("fe80::1"), AddrClass::LinkLocal);
    assert_eq!(c("::1"), AddrClass::Loopback);
    assert_eq!(c("::"), AddrClass::Unspecified);
    assert_eq!(c("2001:db8::5"), AddrClass::Documentation);
    assert_eq!(c("ff02::1"), AddrClass::Multicast);
    // IPv4-mapped addresses take their IPv4 class.
    assert_eq!(c("::ffff:192.168.1.1"), AddrClass::Private);
}

#[test]
fn internal_and_routable_classes() {
    let internal: Vec<AddrClass> = [
        AddrClass::Private,
        AddrClass::Cgnat,
        AddrClass::LinkLocal,
        AddrClass::UniqueLocal,
    ]
    .to_vec();
    for k in internal {
        assert!(k.is_internal() && !k.is_routable(), "{k:?}");
    }
    for k in [AddrClass::Public, AddrClass::Documentation] {
        assert!(!k.is_internal() && k.is_routable(), "{k:?}");
    }
    // Loopback is neither: 127.0.0.1 on both sides is one host, not a NAT.
    assert!(!AddrClass::Loopback.is_internal() && !AddrClass::Loopback.is_routable());
    assert_eq!(AddrClass::Documentation.as_str(), "documentation");
}

#[test]
fn host_ips_from_sip_hosts() {
    assert_eq!(host_ip(b"192.168.1.10"), "192.168.1.10".parse().ok());
    assert_eq!(host_ip(b"[fd00::1]"), "fd00::1".parse().ok());
    assert_eq!(host_ip(b"fd00::1"), "fd00::1".parse().ok());
    assert_eq!(host_ip(b"pbx.example.com"), None);
    assert_eq!(host_ip(b"\xff\xfe"), None);
    assert_eq!(host_ip(b""), None);
}

#[test]
fn nat_suspect_needs_another_class() {
    let src: SocketAddr = "203.0.113.5:40000".parse().expect("addr");
    let lan: SocketAddr = "10.0.0.9:5060".parse().expect("addr");
    let ip = |s: &str| s.parse::<IpAddr>().ok();
    assert!(assess::nat_suspect(ip("192.168.1.10"), src));
    assert!(assess::nat_suspect(
        ip("192.168.1.10"),
        "100.64.1.1:5060".parse().expect("a")
    ));
    // Private seen from private: a proxy relaying, not a NAT we can prove.
    assert!(!assess::nat_suspect(ip("192.168.1.10"), lan));
    assert!(!assess::nat_suspect(ip("203.0.113.5"), src));
    assert!(!assess::nat_suspect(ip("127.0.0.1"), src));
    assert!(!assess::nat_suspect(None, src));
    // A loopback capture never crossed a NAT (private addresses inside SIP notwithstanding).
    assert!(!assess::nat_suspect(
        ip("10.0.20.151"),
        "127.0.0.1:5060".parse().expect("a")
    ));
}

#[test]
fn keepalive_table_is_bounded() {
    let mut t = KeepaliveTable::default();
    let a: SocketAddr = "203.0.113.5:40000".parse().expect("addr");
    t.note(a, Timestamp(1));
    t.note(a, Timestamp(2));
    assert_eq!(t.count(a), 2);
    for i in 0..(MAX_KEEPALIVE_SOURCES as u32 + 3) {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        t.note(SocketAddr::new(ip, 5060), Timestamp(3));
    }
    assert_eq!(t.overflow, 4);
    assert_eq!(t.count(a), 2);
}

#[test]
fn keepalive_table_takes_its_bound_from_nat_limits() {
    let limits = NatLimits {
        max_keepalive_sources: 3,
    };
    let mut t = KeepaliveTable::new(limits.max_keepalive_sources);
    for i in 0..10u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        t.note(SocketAddr::new(ip, 5060), Timestamp(1));
    }
    assert_eq!(t.overflow, 7);
    // Zero means one: the table always works.
    let mut one = KeepaliveTable::new(0);
    one.note("203.0.113.5:5060".parse().expect("addr"), Timestamp(1));
    assert_eq!(one.overflow, 0);
}

#[test]
fn media_to_private_from_public_is_undeliverable() {
    let f = |s: &str, d: &str| MediaFlow {
        src: s.parse().expect("a"),
        dst: d.parse().expect("a"),
        packets: 1,
        first_frame: 1,
    };
    assert!(!f("198.51.100.7:20000", "192.168.1.10:4000").deliverable());
    assert!(f("192.168.1.11:20000", "192.168.1.10:4000").deliverable());
    assert!(f("198.51.100.7:20000", "203.0.113.5:41000").deliverable());
    assert!(f("127.0.0.1:20000", "127.0.0.1:4000").deliverable());
    // Captured inside the LAN: the private host's own packets are in the capture, so
    // what reached its address was delivered (the NAT let it in).
    let inbound = f("198.51.100.7:20000", "192.168.1.10:4000");
    let outbound = f("192.168.1.10:4000", "198.51.100.7:20000");
    assert!(inbound.deliverable_in(&[inbound, outbound]));
    assert!(!inbound.deliverable_in(&[inbound]));
}

proptest::proptest! {
    /// Whatever the headers hold, observing a message never panics and stays bounded.
    #[test]
    fn observe_never_panics(heads in proptest::collection::vec(
        proptest::sample::select(vec![
            "Via: ", "Contact: ", "CSeq: ", "From: ", "Expires: ", "Record-Route: ", "Path: ",
        ]), 1..12),
        vals in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 12),
        start in 0usize..3)
    {
        let mut raw: Vec<u8> = match start {
            0 => b"INVITE sip:a@b SIP/2.0\r\n".to_vec(),
            1 => b"SIP/2.0 200 OK\r\n".to_vec(),
            _ => b"REGISTER sip:b SIP/2.0\r\n".to_vec(),
        };
        for (h, v) in heads.iter().zip(vals.iter()) {
            raw.extend_from_slice(h.as_bytes());
            raw.extend(v.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"Call-ID: x\r\nContent-Length: 0\r\n\r\n");
        let symbols = Symbols::new(16);
        let mut nat = DialogNat::default();
        if let Ok(msg) = crate::sip::parse_message(&raw) {
            for i in 0..(MAX_PARTIES as u16 + 2) {
                let cx = MessageCtx {
                    frame: u64::from(i),
                    ts: Timestamp(u64::from(i)),
                    src: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)), 1000 + i),
                    dst: "198.51.100.7:5060".parse().expect("addr"),
                    transport: Transport::Udp,
                    repeat: i % 3 == 2,
                    duplicate: false,
                    dialog_src: "203.0.113.1:1000".parse().expect("addr"),
                    dialog_from_tag: Some("t"),
                    initial_cseq: Some(1),
                    sdp: None,
                };
                nat.observe(&crate::sip::MessageView::new(msg.clone()), &cx, &symbols);
            }
            proptest::prop_assert!(nat.parties.len() <= MAX_PARTIES);
            let _ = assess(&nat, &[], &KeepaliveTable::default(), true, true);
        }
    }
}

#[test]
fn host_text_keeps_short_hosts_in_place_and_reads_as_written() {
    let short = HostText::new(b"192.168.1.10");
    assert!(matches!(short.0, HostRepr::Inline(..)));
    assert_eq!(short.as_str(), "192.168.1.10");
    assert_eq!(short, "192.168.1.10");
    assert_eq!(short.to_string(), "192.168.1.10");
    assert_eq!(format!("{short:?}"), format!("{:?}", "192.168.1.10"));
    // Exactly the in-place size, then one more byte.
    let edge = "a".repeat(HOST_INLINE);
    assert!(matches!(
        HostText::new(edge.as_bytes()).0,
        HostRepr::Inline(..)
    ));
    let long = format!("{edge}b");
    let h = HostText::new(long.as_bytes());
    assert!(matches!(h.0, HostRepr::Heap(_)));
    assert_eq!(h.as_str(), long);
    // Cut at MAX_HOST_TEXT bytes, invalid UTF-8 replaced, as the String it replaces was.
    let huge = "h".repeat(MAX_HOST_TEXT + 10);
    assert_eq!(HostText::new(huge.as_bytes()).len(), MAX_HOST_TEXT);
    let bad = HostText::new(b"ex\xffmple");
    assert_eq!(bad.as_str(), String::from_utf8_lossy(b"ex\xffmple"));
    assert_eq!(bad.as_bytes(), bad.as_str().as_bytes());
    // The same text compares equal whatever its length.
    assert_eq!(HostText::new(long.as_bytes()), h);
    assert_ne!(HostText::new(b"a"), HostText::new(b"b"));
    assert_eq!(HostText::new(b""), "");
    // Short non-ASCII text goes through the lossy conversion and may stay in place.
    let e = HostText::new("é.example".as_bytes());
    assert!(matches!(e.0, HostRepr::Inline(..)));
    assert_eq!(e, "é.example");
    assert_eq!(e, HostText::new("é.example".as_bytes()));
}
