#[cfg(test)]
mod scanner_tests {
    use super::super::*;

    #[test]
    fn signatures() {
        assert_eq!(
            scanner(b"friendly-scanner"),
            Some("SIPVicious (svmap/svwar/svcrack)")
        );
        assert_eq!(scanner(b"SIPVicious 0.3.4"), Some("SIPVicious"));
        assert_eq!(
            scanner(b"VaxSIPUserAgent/3.1"),
            Some("VaxSIP-based scanner")
        );
        assert_eq!(scanner(b"smap 0.6.0"), Some("smap"));
        assert_eq!(scanner(b"bismapper/1.0"), None);
        assert_eq!(scanner(b"Linphone/3.6.1 (belle-sip/1.2.4)"), None);
        assert_eq!(scanner(b"\xff\xfe"), None);
    }

    #[test]
    fn one_finding_per_source_and_tool() {
        let mut t = ScannerTracker::default();
        let src: SocketAddr = "203.0.113.5:5070".parse().unwrap();
        for i in 0..50u64 {
            let dst = SocketAddr::from(([192, 0, 2, (i % 10) as u8], 5060));
            t.request(b"friendly-scanner", i + 1, Timestamp(i), src, dst);
        }
        t.request(b"Asterisk PBX", 99, Timestamp(99), src, src);
        let f = t.findings();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule.as_str(), "scan.user-agent");
        assert!(
            f[0].summary.contains("50 request(s) to 10 target(s)"),
            "{}",
            f[0].summary
        );
        assert_eq!(f[0].evidence.len(), MAX_EVIDENCE);
        assert_eq!(f[0].evidence[0], 1);
    }
}

#[cfg(test)]
mod behaviour_tests {
    use super::super::*;
    use crate::config::{ScannersConfig, SignatureConfig};

    const S: u64 = 1_000_000_000;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    struct Feed {
        t: AttackTracker,
        frame: u64,
    }

    impl Feed {
        fn new() -> Self {
            Feed::with(&Config::default())
        }
        fn with(c: &Config) -> Self {
            Feed {
                t: AttackTracker::new(c),
                frame: 0,
            }
        }
        #[allow(clippy::too_many_arguments)]
        fn req(
            &mut self,
            ns: u64,
            src: SocketAddr,
            dst: SocketAddr,
            method: &str,
            call_id: &str,
            cseq: u32,
            user: Option<&str>,
        ) {
            self.frame += 1;
            self.t.request(&Request {
                frame: self.frame,
                ts: Timestamp(ns),
                src,
                dst,
                method,
                call_id: call_id.as_bytes(),
                cseq: Some(cseq),
                user: user.map(str::as_bytes),
                dialled: user.map(str::as_bytes),
                user_agent: Some(b"test-ua"),
            });
        }
        fn resp(&mut self, src: SocketAddr, call_id: &str, cseq: u32, method: &str, status: u16) {
            self.frame += 1;
            self.t
                .response(call_id.as_bytes(), cseq, method, status, src);
        }
        fn rules(&self) -> Vec<&'static str> {
            self.t.findings().iter().map(|f| f.rule.as_str()).collect()
        }
        fn find(&self, rule: RuleId) -> Option<Finding> {
            self.t.findings().into_iter().find(|f| f.rule == rule)
        }
    }

    fn host(i: u32) -> SocketAddr {
        SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 5060))
    }

    #[test]
    fn sweep_fires_at_threshold_within_window() {
        let scanner = addr("203.0.113.9:5070");
        let mut f = Feed::new();
        for i in 0..10 {
            f.req(
                i as u64 * S,
                scanner,
                host(i),
                "OPTIONS",
                &format!("c{i}"),
                1,
                None,
            );
        }
        let x = f.find(SCAN_SWEEP).expect("sweep");
        assert_eq!(x.severity, Severity::Medium);
        assert!(
            x.summary
                .contains("203.0.113.9 sent OPTIONS to 10 distinct destinations in 9.000 s"),
            "{}",
            x.summary
        );
        assert!(
            x.summary.contains("10.0.0.0:5060 .. 10.0.0.9:5060"),
            "{}",
            x.summary
        );
        assert!(x.summary.contains("User-Agent 'test-ua'"), "{}", x.summary);
        assert_eq!(x.evidence.first(), Some(&1));
        assert_eq!(x.evidence.len(), 10);
        assert_eq!(x.src.map(|a| a.get()), Some(scanner));
    }

    #[test]
    fn sweep_needs_n_targets_inside_the_window() {
        let scanner = addr("203.0.113.9:5070");
        let mut f = Feed::new();
        for i in 0..9 {
            f.req(i as u64 * S, scanner, host(i), "OPTIONS", "c", 1, None);
        }
        assert!(f.find(SCAN_SWEEP).is_none());
        // Ten targets, but one every 70 s: never ten within 60 s.
        let mut f = Feed::new();
        for i in 0..10 {
            f.req(i as u64 * 70 * S, scanner, host(i), "OPTIONS", "c", 1, None);
        }
        assert!(f.find(SCAN_SWEEP).is_none());
    }

    #[test]
    fn busy_trunk_to_one_destination_fires_nothing() {
        // 5 calls/s for 100 s from a proxy to one carrier, 20% to unknown numbers.
        let proxy = addr("192.0.2.10:5060");
        let carrier = addr("198.51.100.1:5060");
        let mut f = Feed::new();
        for i in 0..500u32 {
            let cid = format!("call{i}");
            let user = format!("49301234{i:04}");
            let ns = u64::from(i) * S / 5;
            f.req(ns, proxy, carrier, "INVITE", &cid, 1, Some(&user));
            let status = if i % 5 == 0 { 404 } else { 200 };
            f.resp(proxy, &cid, 1, "INVITE", status);
        }
        assert_eq!(f.rules(), Vec::<&str>::new());
    }

    #[test]
    fn registrar_pinging_its_phones_is_not_a_sweep() {
        let registrar = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for i in 0..30 {
            let phone = SocketAddr::from(([198, 51, 100, i as u8], 40000 + i as u16));
            let cid = format!("reg{i}");
            let user = format!("{}", 100 + i);
            f.req(
                i as u64 * S,
                phone,
                registrar,
                "REGISTER",
                &cid,
                1,
                Some(&user),
            );
            f.resp(phone, &cid, 1, "REGISTER", 401);
            f.req(
                i as u64 * S + 1000,
                phone,
                registrar,
                "REGISTER",
                &cid,
                2,
                Some(&user),
            );
            f.resp(phone, &cid, 2, "REGISTER", 200);
        }
        for i in 0..30 {
            let phone = SocketAddr::from(([198, 51, 100, i as u8], 40000 + i as u16));
            f.req(40 * S + i as u64, registrar, phone, "OPTIONS", "q", 1, None);
        }
        assert_eq!(f.rules(), Vec::<&str>::new());
    }

    fn svwar(users: u32, exists: &[u32]) -> Feed {
        let scanner = addr("203.0.113.7:5061");
        let pbx = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for u in 0..users {
            let cid = format!("svwar{u}");
            let user = format!("{}", 100 + u);
            f.req(
                u64::from(u) * S / 10,
                scanner,
                pbx,
                "REGISTER",
                &cid,
                1,
                Some(&user),
            );
            let status = if exists.contains(&(100 + u)) {
                401
            } else {
                404
            };
            f.resp(scanner, &cid, 1, "REGISTER", status);
        }
        f
    }

    #[test]
    fn enumeration_fires_and_names_existing_users() {
        let f = svwar(30, &[105, 120]);
        let x = f.find(SCAN_ENUMERATION).expect("enumeration");
        assert_eq!(x.severity, Severity::High);
        assert!(x.summary.contains("tried 30 user names"), "{}", x.summary);
        assert!(x.summary.contains("404 ×28, 401 ×2"), "{}", x.summary);
        assert!(x.summary.contains("e.g. '100', '101'"), "{}", x.summary);
        assert!(
            x.summary.contains(
                "likely existing (answer differs from the usual 404): '105' (401), '120' (401)"
            ),
            "{}",
            x.summary
        );
        assert_eq!(x.evidence.len(), 30);
        assert_eq!(x.evidence.first(), Some(&1));
        // One source, one destination: not a sweep.
        assert!(f.find(SCAN_SWEEP).is_none());
    }

    #[test]
    fn nine_users_do_not_make_an_enumeration() {
        assert!(svwar(9, &[]).find(SCAN_ENUMERATION).is_none());
        assert!(svwar(10, &[]).find(SCAN_ENUMERATION).is_some());
    }

    #[test]
    fn users_that_register_after_a_challenge_are_not_probes() {
        // A proxy registering 50 users on behalf of phones: 401, then 200.
        let proxy = addr("192.0.2.10:5060");
        let registrar = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for u in 0..50u64 {
            let cid = format!("r{u}");
            let user = format!("user{u}");
            f.req(
                u * S / 10,
                proxy,
                registrar,
                "REGISTER",
                &cid,
                1,
                Some(&user),
            );
            f.resp(proxy, &cid, 1, "REGISTER", 401);
            f.req(
                u * S / 10 + 5,
                proxy,
                registrar,
                "REGISTER",
                &cid,
                2,
                Some(&user),
            );
            f.resp(proxy, &cid, 2, "REGISTER", 200);
        }
        assert_eq!(f.rules(), Vec::<&str>::new());
    }

    #[test]
    fn flood_fires_above_rate_and_not_at_normal_rate() {
        let src = addr("203.0.113.66:5060");
        let dst = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        // 300 requests in one second.
        for i in 0..300u64 {
            f.req(
                10 * S + i * S / 300,
                src,
                dst,
                "INVITE",
                &format!("f{i}"),
                1,
                None,
            );
        }
        let x = f.find(DOS_FLOOD).expect("flood");
        assert!(
            x.summary.contains("per 1000 ms (threshold 200)"),
            "{}",
            x.summary
        );
        assert!(x.summary.contains("methods INVITE"), "{}", x.summary);
        assert_eq!(x.evidence.len(), MAX_EVIDENCE);
        // 10 requests per second for 100 s.
        let mut f = Feed::new();
        for i in 0..1000u64 {
            f.req(i * S / 10, src, dst, "OPTIONS", &format!("n{i}"), 1, None);
        }
        assert!(f.find(DOS_FLOOD).is_none());
        // 199 per second, for a minute: still under.
        let mut f = Feed::new();
        for i in 0..(199 * 60u64) {
            f.req(i * S / 199, src, dst, "OPTIONS", "x", 1, None);
        }
        assert!(f.find(DOS_FLOOD).is_none());
    }

    #[test]
    fn flood_threshold_is_configurable() {
        let mut c = Config::default();
        c.flood.requests = 20;
        let src = addr("203.0.113.66:5060");
        let dst = addr("192.0.2.1:5060");
        let mut f = Feed::with(&c);
        for i in 0..25u64 {
            f.req(i * S / 100, src, dst, "OPTIONS", "x", 1, None);
        }
        assert!(f.find(DOS_FLOOD).is_some());
    }

    fn toll(numbers: &[&str], status: Option<u16>) -> Feed {
        let src = addr("203.0.113.50:5060");
        let pbx = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for (i, n) in numbers.iter().enumerate() {
            let cid = format!("t{i}");
            f.req(i as u64 * 5 * S, src, pbx, "INVITE", &cid, 1, Some(n));
            if let Some(s) = status {
                f.resp(src, &cid, 1, "INVITE", s);
            }
        }
        f
    }

    const INTL: [&str; 6] = [
        "00972599123456",
        "+441632960123",
        "011972599123457",
        "9011447700900123",
        "000972599123458",
        "00537123456",
    ];

    #[test]
    fn toll_fires_on_failing_international_bursts() {
        let f = toll(&INTL, Some(404));
        let x = f.find(FRAUD_TOLL).expect("toll");
        assert_eq!(x.severity, Severity::Medium);
        assert!(
            x.summary
                .contains("made 6 failed call(s) to international numbers in 25.0 s"),
            "{}",
            x.summary
        );
        assert!(
            x.summary.contains("+972 ×3, +44 ×2, +53 ×1"),
            "{}",
            x.summary
        );
        assert!(x.summary.contains("answers 404 ×6"), "{}", x.summary);
        assert!(x.summary.contains("e.g. +972599123456"), "{}", x.summary);
        // Unanswered calls did not fail as far as the packets show: no finding.
        assert!(toll(&INTL, None).find(FRAUD_TOLL).is_none());
    }

    #[test]
    fn toll_needs_failures_international_numbers_and_a_burst() {
        assert!(toll(&INTL, Some(200)).find(FRAUD_TOLL).is_none());
        assert!(toll(&INTL[..4], Some(404)).find(FRAUD_TOLL).is_none());
        let national = ["0301234567", "030123456", "5551234", "1001", "0114960000"];
        assert!(toll(&national, Some(404)).find(FRAUD_TOLL).is_none());
        // Same numbers, one every 20 s: never 5 within 60 s.
        let src = addr("203.0.113.50:5060");
        let pbx = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for (i, n) in INTL.iter().enumerate() {
            let cid = format!("t{i}");
            f.req(i as u64 * 20 * S, src, pbx, "INVITE", &cid, 1, Some(n));
            f.resp(src, &cid, 1, "INVITE", 403);
        }
        assert!(f.find(FRAUD_TOLL).is_none());
    }

    #[test]
    fn a_toll_burst_is_not_also_an_enumeration() {
        // Twelve international numbers refused 403 within a minute: a dial-plan probe,
        // reported once as fraud.toll, not again as a user-name enumeration.
        let numbers: Vec<String> = (0..12).map(|i| format!("0044163296{i:04}")).collect();
        let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let f = toll(&numbers, Some(403));
        assert!(f.find(FRAUD_TOLL).is_some());
        assert!(f.find(SCAN_ENUMERATION).is_none());
    }

    #[test]
    fn toll_challenge_then_success_is_not_a_failure() {
        let src = addr("192.0.2.20:5060");
        let pbx = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for (i, n) in INTL.iter().enumerate() {
            let cid = format!("t{i}");
            f.req(i as u64 * S, src, pbx, "INVITE", &cid, 1, Some(n));
            f.resp(src, &cid, 1, "INVITE", 407);
            f.req(i as u64 * S + 10, src, pbx, "INVITE", &cid, 2, Some(n));
            f.resp(src, &cid, 2, "INVITE", 200);
            // A later re-INVITE refused does not turn the answered call into a failure.
            f.req(i as u64 * S + 20, src, pbx, "INVITE", &cid, 3, Some(n));
            f.resp(src, &cid, 3, "INVITE", 491);
        }
        assert_eq!(f.rules(), Vec::<&str>::new());
    }

    #[test]
    fn international_heuristic() {
        let i = |s: &str| international_number(s.as_bytes());
        assert_eq!(i("+4930123456").as_deref(), Some("+4930123456"));
        assert_eq!(i("+49-30-123456").as_deref(), Some("+4930123456"));
        assert_eq!(i("+4930123"), None); // 7 digits after '+'
        assert_eq!(i("0049301234").as_deref(), Some("+49301234"));
        assert_eq!(i("00493012"), None); // 6 digits after 00
        assert_eq!(i("01197259912").as_deref(), Some("+97259912"));
        assert_eq!(i("9011972599123").as_deref(), Some("+972599123"));
        assert_eq!(i("000972599123").as_deref(), Some("+972599123"));
        assert_eq!(i("0301234567"), None);
        assert_eq!(i("+0123456789"), None);
        assert_eq!(i("00abc12345678"), None);
        assert_eq!(i("alice"), None);
        assert_eq!(
            i("+4930123456;phone-context=x").as_deref(),
            Some("+4930123456")
        );
        assert_eq!(i(&"0".repeat(100)), None);
        // Separator-free and 32 bytes at most: read in place; 33 and more: never a number.
        assert_eq!(
            i(&format!("+1{}", "5".repeat(30))).map(|n| n.len()),
            Some(32)
        );
        assert_eq!(i(&format!("+1{}", "5".repeat(31))), None);
        assert_eq!(i("+-15551000000").as_deref(), Some("+15551000000"));
        assert_eq!(i("-+15551000000").as_deref(), Some("+15551000000"));
        assert_eq!(i("1+5551000000"), None);
        assert_eq!(country_code("+12125550100"), "+1");
        assert_eq!(country_code("+4930123"), "+49");
        assert_eq!(country_code("+972599"), "+972");
        assert_eq!(country_code("+"), "+");
    }

    #[test]
    fn configured_signatures() {
        let c = ScannersConfig {
            signatures: vec![
                SignatureConfig {
                    pattern: "EvilDialer".into(),
                    tool: "Evil".into(),
                },
                SignatureConfig {
                    pattern: "zap".into(),
                    tool: "Zap".into(),
                },
            ],
            replace_builtin: false,
        };
        let s = Signatures::from_config(&c);
        assert_eq!(s.len(), SIGNATURES.len() + 2);
        assert_eq!(s.find(b"x evildialer/2").map(|i| s.tool(i)), Some("Evil"));
        assert_eq!(s.find(b"zap 1.0").map(|i| s.tool(i)), Some("Zap"));
        assert_eq!(s.find(b"zapper"), None); // short pattern: whole words only
        assert_eq!(
            s.find(b"friendly-scanner").map(|i| s.tool(i)),
            Some("SIPVicious (svmap/svwar/svcrack)")
        );
        let s = Signatures::from_config(&ScannersConfig {
            replace_builtin: true,
            ..c
        });
        assert_eq!(s.len(), 2);
        assert_eq!(s.find(b"friendly-scanner"), None);
        let mut t = ScannerTracker::new(s);
        let a = addr("203.0.113.1:5060");
        t.request(b"EvilDialer", 1, Timestamp(1), a, a);
        assert!(t.findings()[0].summary.starts_with("Evil from 203.0.113.1"));
    }

    #[test]
    fn tables_are_bounded_and_evictions_counted() {
        let flooder = addr("203.0.113.66:5060");
        let dst = addr("192.0.2.1:5060");
        let mut f = Feed::new();
        for i in 0..250u64 {
            f.req(i * S / 1000, flooder, dst, "OPTIONS", "x", 1, Some("u"));
        }
        // Then many one-off sources push the flooder out of the table.
        for i in 0..(MAX_SOURCES as u32 + 10) {
            let src = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 5060));
            f.req(S, src, dst, "REGISTER", &format!("r{i}"), 1, Some("u"));
        }
        assert!(f.t.sources.len() <= MAX_SOURCES);
        assert!(f.t.stats.source_evictions > 0);
        assert!(f.t.pending.len() <= MAX_PENDING);
        assert!(f.t.stats.pending_evictions > 0);
        // Its finding was kept when it was evicted.
        let x = f.find(DOS_FLOOD).expect("flood kept");
        assert_eq!(x.src.map(|a| a.get()), Some(flooder));
        // Per-source lists are bounded too.
        let mut f = Feed::new();
        // All within a microsecond: nothing is old enough to be pruned.
        for i in 0..(MAX_USERS_PER_SOURCE as u32 + 5) {
            f.req(
                u64::from(i),
                flooder,
                host(i),
                "REGISTER",
                "c",
                i,
                Some(&i.to_string()),
            );
        }
        let s =
            f.t.sources
                .get(&flooder.ip())
                .and_then(Source::state)
                .expect("source");
        assert_eq!(s.users.len(), MAX_USERS_PER_SOURCE);
        assert_eq!(s.targets.len(), MAX_TARGETS_PER_SOURCE);
        assert!(f.t.stats.overflow > 0);
    }

    #[test]
    fn on_message_reads_users_from_sip() {
        let mut t = AttackTracker::default();
        let src = addr("203.0.113.7:5061");
        let pbx = addr("192.0.2.1:5060");
        for u in 0..12 {
            let req = format!(
                "REGISTER sip:192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.7:5061;branch=z9hG4bK{u}\r\n\
                 From: <sip:{u}@192.0.2.1>;tag=a\r\nTo: <sip:{u}@192.0.2.1>\r\nCall-ID: e{u}\r\n\
                 CSeq: 1 REGISTER\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n"
            );
            let m = crate::sip::MessageView::new(
                crate::sip::parse_message(req.as_bytes()).expect("parses"),
            );
            t.on_message(&m, 2 * u + 1, Timestamp(u), src, pbx);
            let resp = format!(
                "SIP/2.0 404 Not Found\r\nVia: SIP/2.0/UDP 203.0.113.7:5061;branch=z9hG4bK{u}\r\n\
                 From: <sip:{u}@192.0.2.1>;tag=a\r\nTo: <sip:{u}@192.0.2.1>;tag=b\r\nCall-ID: e{u}\r\n\
                 CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
            );
            let m = crate::sip::MessageView::new(
                crate::sip::parse_message(resp.as_bytes()).expect("parses"),
            );
            t.on_message(&m, 2 * u + 2, Timestamp(u + 1), pbx, src);
        }
        let f = t.findings();
        let e = f
            .iter()
            .find(|f| f.rule == SCAN_ENUMERATION)
            .expect("enumeration");
        assert!(
            e.summary
                .contains("tried 12 user names that drew 404 ×12, e.g. '0', '1', '2'"),
            "{}",
            e.summary
        );
        assert!(
            e.summary.contains("User-Agent 'friendly-scanner'"),
            "{}",
            e.summary
        );
    }

    #[test]
    fn long_lived_sources_keep_detecting_and_remember_episodes() {
        let pbx = addr("192.0.2.30:5060");
        let carrier = addr("198.51.100.1:5060");
        let mut f = Feed::new();
        // Hours of answered international calls fill the toll list...
        for i in 0..400u64 {
            let cid = format!("ok{i}");
            f.req(
                i * 30 * S,
                pbx,
                carrier,
                "INVITE",
                &cid,
                1,
                Some("+441632960123"),
            );
            f.resp(pbx, &cid, 1, "INVITE", 200);
        }
        assert!(f.find(FRAUD_TOLL).is_none());
        // ...and a burst of failing ones afterwards is still seen.
        for i in 0..6u64 {
            let cid = format!("bad{i}");
            f.req(
                13_000 * S + i * S,
                pbx,
                carrier,
                "INVITE",
                &cid,
                1,
                Some("00972599123456"),
            );
            f.resp(pbx, &cid, 1, "INVITE", 403);
        }
        let x = f.find(FRAUD_TOLL).expect("toll after hours");
        assert!(x.summary.contains("made 6 failed"), "{}", x.summary);
        // An enumeration burst, then hours of other names: the burst is remembered.
        let mut f = svwar(20, &[]);
        let scanner = addr("203.0.113.7:5061");
        let pbx = addr("192.0.2.1:5060");
        for u in 0..(MAX_USERS_PER_SOURCE as u64 + 10) {
            let cid = format!("later{u}");
            f.req(
                100 * S + u * 10 * S,
                scanner,
                pbx,
                "REGISTER",
                &cid,
                1,
                Some(&format!("x{u}")),
            );
            f.resp(scanner, &cid, 1, "REGISTER", 200);
        }
        let s =
            f.t.sources
                .get(&scanner.ip())
                .and_then(Source::state)
                .expect("source");
        assert!(s.users.len() < MAX_USERS_PER_SOURCE);
        let x = f.find(SCAN_ENUMERATION).expect("remembered");
        assert!(x.summary.contains("tried 20 user names"), "{}", x.summary);
        assert_eq!(
            f.rules()
                .iter()
                .filter(|r| **r == "scan.enumeration")
                .count(),
            1
        );
    }

    proptest::proptest! {
        #[test]
        fn international_number_is_total(user in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            if let Some(n) = international_number(&user) {
                proptest::prop_assert!(n.starts_with('+'));
                proptest::prop_assert!(n.len() >= 8);
                proptest::prop_assert!(n[1..].bytes().all(|b| b.is_ascii_digit()));
                proptest::prop_assert!(!n[1..].starts_with('0'));
                proptest::prop_assert!(country_code(&n).len() <= 4);
            }
        }

        /// The separator-free path reads every user part as the copying loop did:
        /// digits, `+` anywhere, separators, `;` parameters, 32 bytes and beyond.
        #[test]
        fn international_is_the_reference(
            user in proptest::collection::vec(
                proptest::sample::select(&b"+0123456789-.()x;"[..]), 0..40),
            digits in "[+]?(00|011|9011|0)?[1-9][0-9]{0,34}",
        ) {
            for u in [&user[..], digits.as_bytes()] {
                proptest::prop_assert_eq!(
                    toll::international(u).map(|n| n.as_str().to_string()),
                    toll::international_reference(u).map(|n| n.as_str().to_string())
                );
            }
        }

        #[test]
        fn any_message_order_keeps_tables_bounded(
            events in proptest::collection::vec(
                (0u8..4, 0u64..5_000_000_000, 0u8..6, 0u8..6, 0u16..700), 0..300)
        ) {
            // Out-of-order times, unknown answers, answers without requests: never a panic.
            let mut f = Feed::new();
            for (kind, ns, a, b, status) in events {
                let src = SocketAddr::from(([10, 0, 0, a], 5060));
                let dst = SocketAddr::from(([10, 0, 1, b], 5060));
                let cid = format!("c{b}");
                match kind {
                    0 => f.req(ns, src, dst, "INVITE", &cid, 1, Some("0097259912345")),
                    1 => f.req(ns, src, dst, "REGISTER", &cid, 1, Some(&format!("u{status}"))),
                    2 => f.req(ns, src, dst, "OPTIONS", &cid, 1, None),
                    _ => {
                        let m = if status % 2 == 0 { "INVITE" } else { "REGISTER" };
                        f.resp(src, &cid, 1, m, status);
                    }
                }
            }
            for x in f.t.findings() {
                proptest::prop_assert!(x.evidence.len() <= MAX_EVIDENCE);
            }
            proptest::prop_assert!(f.t.pending.len() <= MAX_PENDING);
        }
    }
}

/// The per-entry costs `Limits::for_memory` divides the budget by cover the structs
/// themselves with room for their heap parts.
#[test]
fn source_and_pending_fit_their_documented_costs() {
    use crate::engine::limits::{ATTACK_PENDING_COST_BYTES, ATTACK_SOURCE_COST_BYTES};
    let source =
        std::mem::size_of::<(std::net::IpAddr, crate::rules::attack::SourceState)>() as u64;
    let pending = std::mem::size_of::<(u64, crate::rules::attack::Pending)>() as u64;
    assert!(source * 2 <= ATTACK_SOURCE_COST_BYTES, "{source}");
    assert!(pending <= ATTACK_PENDING_COST_BYTES, "{pending}");
}

/// The compact first sight of a one-request source stands for the full record exactly:
/// promoted on the second request it gives the state the full record had, and it draws
/// the same findings.
#[cfg(test)]
mod first_sight_tests {
    use super::super::*;

    const S: u64 = 1_000_000_000;

    fn req<'a>(
        frame: u64,
        src: SocketAddr,
        dst: SocketAddr,
        method: &'a str,
        call_id: &'a str,
        user: Option<&'a str>,
        user_agent: Option<&'a [u8]>,
    ) -> Request<'a> {
        Request {
            frame,
            ts: Timestamp(frame * S / 10),
            src,
            dst,
            method,
            call_id: call_id.as_bytes(),
            cseq: Some(1),
            user: user.map(str::as_bytes),
            dialled: user.map(str::as_bytes),
            user_agent,
        }
    }

    /// Two trackers: `first` as it runs, `full` with the source's record made full before
    /// its first request (the path every request took before first sights).
    fn pair(config: &Config, src: SocketAddr) -> (AttackTracker, AttackTracker) {
        let first = AttackTracker::new(config);
        let mut full = AttackTracker::new(config);
        full.sources
            .insert(src.ip(), Source::Full(Box::new(SourceState::new(src, 0))));
        (first, full)
    }

    fn state(t: &AttackTracker, src: SocketAddr) -> String {
        format!("{:?}", t.sources.get(&src.ip()).and_then(Source::state))
    }

    fn findings(t: &AttackTracker) -> String {
        format!("{:?}", t.findings())
    }

    #[test]
    fn a_second_request_promotes_to_the_state_the_full_record_had() {
        let src: SocketAddr = "203.0.113.20:5070".parse().expect("address");
        let pbx: SocketAddr = "192.0.2.1:5060".parse().expect("address");
        let other: SocketAddr = "192.0.2.2:5060".parse().expect("address");
        // (first request, answer to it, second request): a user tried, an international
        // call, a request with neither, with and without a User-Agent.
        type Case<'a> = (Request<'a>, Option<(&'a str, u16)>, Request<'a>);
        let cases: Vec<Case<'_>> = vec![
            (
                req(1, src, pbx, "REGISTER", "a", Some("alice"), Some(b"ua-1")),
                Some(("REGISTER", 404)),
                req(2, src, other, "REGISTER", "b", Some("bob"), Some(b"ua-2")),
            ),
            (
                req(1, src, pbx, "INVITE", "c", Some("0097259912345"), None),
                Some(("INVITE", 403)),
                req(
                    2,
                    src,
                    pbx,
                    "INVITE",
                    "d",
                    Some("0097259912346"),
                    Some(b"ua"),
                ),
            ),
            (
                req(1, src, pbx, "INVITE", "e", Some("+15551000000"), None),
                None,
                req(2, src, pbx, "INVITE", "e", Some("+15551000000"), None),
            ),
            (
                req(1, src, pbx, "OPTIONS", "f", None, None),
                None,
                req(2, src, pbx, "OPTIONS", "f", Some("carol"), None),
            ),
            (
                req(1, src, pbx, "REGISTER", "g", Some("dave"), None),
                Some(("REGISTER", 200)),
                req(2, src, pbx, "REGISTER", "g", Some("dave"), None),
            ),
        ];
        for (i, (r1, answer, r2)) in cases.iter().enumerate() {
            let (mut first, mut full) = pair(&Config::default(), src);
            for t in [&mut first, &mut full] {
                t.request(r1);
                if let Some((method, status)) = answer {
                    let cid = std::str::from_utf8(r1.call_id).expect("text");
                    t.response(cid.as_bytes(), 1, method, *status, src);
                }
            }
            assert!(
                matches!(first.sources.get(&src.ip()), Some(Source::First(_))),
                "case {i}: one request makes a first sight"
            );
            assert_eq!(findings(&first), findings(&full), "case {i}");
            for t in [&mut first, &mut full] {
                t.request(r2);
            }
            assert!(
                matches!(first.sources.get(&src.ip()), Some(Source::Full(_))),
                "case {i}: the second request promotes"
            );
            assert_eq!(state(&first, src), state(&full, src), "case {i}");
            assert_eq!(findings(&first), findings(&full), "case {i}");
        }
    }

    #[test]
    fn a_first_sight_fires_like_the_full_record_with_thresholds_of_one() {
        let mut c = Config::default();
        c.sweep.targets = 1;
        c.enumeration.users = 1;
        c.flood.requests = 1;
        c.toll.attempts = 1;
        let src: SocketAddr = "203.0.113.21:5070".parse().expect("address");
        let pbx: SocketAddr = "192.0.2.1:5060".parse().expect("address");
        for (method, user, status) in [
            ("REGISTER", Some("alice"), 404),
            ("INVITE", Some("0097259912345"), 403),
            ("OPTIONS", None, 200),
        ] {
            let (mut first, mut full) = pair(&c, src);
            let r = req(1, src, pbx, method, "x", user, Some(b"friendly-scanner"));
            for t in [&mut first, &mut full] {
                t.request(&r);
                t.response(b"x", 1, method, status, src);
            }
            assert!(matches!(
                first.sources.get(&src.ip()),
                Some(Source::First(_))
            ));
            let f = findings(&first);
            assert!(f.contains("dos.flood"), "{method}: {f}");
            assert_eq!(f, findings(&full), "{method}");
        }
    }

    #[test]
    fn unusual_requests_make_a_full_record_at_once() {
        let pbx: SocketAddr = "192.0.2.1:5060".parse().expect("address");
        let mut t = AttackTracker::default();
        let src: SocketAddr = "203.0.113.22:5070".parse().expect("address");
        t.request(&req(1, src, pbx, "FOO", "x", None, None));
        assert!(matches!(t.sources.get(&src.ip()), Some(Source::Full(_))));
        // A scope the table's key and a port would not give back.
        let v6 = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::1".parse().expect("address"),
            5060,
            0,
            3,
        ));
        t.request(&req(2, v6, pbx, "OPTIONS", "y", None, None));
        let s = t
            .sources
            .get(&v6.ip())
            .and_then(Source::state)
            .expect("full");
        assert_eq!(s.first_src, v6);
    }

    #[test]
    fn a_first_sight_is_smaller_than_a_full_record() {
        let slot = std::mem::size_of::<(IpAddr, Source)>();
        let full = std::mem::size_of::<(IpAddr, SourceState)>();
        assert!(slot * 2 < full, "{slot} vs {full}");
    }
}

/// The first sight's method table is the SIP parser's list of standard methods: each
/// entry is one, and none is missing (what `method_name` borrows is what it can number).
#[test]
fn methods_are_the_sip_standard_methods() {
    use crate::sip::Method;
    for m in super::METHODS {
        assert_eq!(Method::from_bytes(m.as_bytes()).static_name(), Some(m));
    }
    let standard = [
        Method::Invite,
        Method::Ack,
        Method::Bye,
        Method::Cancel,
        Method::Register,
        Method::Options,
        Method::Info,
        Method::Prack,
        Method::Update,
        Method::Subscribe,
        Method::Notify,
        Method::Publish,
        Method::Refer,
        Method::Message,
    ];
    for m in standard {
        let name = m.static_name().unwrap_or_default();
        assert!(super::METHODS.contains(&name), "{name} missing");
    }
}
