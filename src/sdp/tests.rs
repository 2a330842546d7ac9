use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;

fn one_attr(line: &[u8]) -> Attribute<'_> {
    let sdp = parse(line);
    assert!(
        sdp.problems
            .iter()
            .all(|p| matches!(p.kind, ProblemKind::Missing(_))),
        "{:?}",
        sdp.problems
    );
    assert_eq!(sdp.attributes.len(), 1, "{sdp:?}");
    sdp.attributes
        .into_iter()
        .next()
        .unwrap_or(Attribute::RtcpMux)
}

#[test]
fn version_origin_session_name() {
    let sdp = parse(b"v=0\r\no=alice 2890844526 2890844527 IN IP4 host.example.com\r\ns=Talk\r\n");
    assert_eq!(sdp.version, Some(0));
    assert_eq!(
        sdp.origin,
        Some(Origin {
            username: "alice",
            session_id: "2890844526",
            session_version: "2890844527",
            nettype: "IN",
            addrtype: "IP4",
            address: "host.example.com",
        })
    );
    assert_eq!(sdp.origin.and_then(|o| o.ip()), None);
    assert_eq!(sdp.session_name, Some("Talk"));
    assert!(sdp.problems.is_empty(), "{:?}", sdp.problems);
}

#[test]
fn missing_mandatory_lines_are_reported() {
    let sdp = parse(b"c=IN IP4 10.0.0.1\r\n");
    let kinds: Vec<_> = sdp.problems.iter().map(|p| (p.line, p.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (0, ProblemKind::Missing("v=")),
            (0, ProblemKind::Missing("o=")),
            (0, ProblemKind::Missing("s="))
        ]
    );
}

#[test]
fn connection_lines() {
    let c = parse(b"c=IN IP4 192.0.2.101\r\n").connection;
    assert_eq!(
        c.and_then(|c| c.ip()),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101)))
    );
    let c = parse(b"c=IN IP4 224.2.36.42/127/3\r\n").connection;
    assert_eq!(
        c.map(|c| (c.address, c.ttl, c.count)),
        Some(("224.2.36.42", Some(127), Some(3)))
    );
    let c = parse(b"c=IN IP6 ff15::101/3\r\n").connection;
    assert_eq!(c.map(|c| (c.ttl, c.count)), Some((None, Some(3))));
    assert!(c.and_then(|c| c.ip()).is_some_and(|ip| ip.is_ipv6()));
    // Mismatched address type, host name, other network type: no IP.
    assert_eq!(
        parse(b"c=IN IP6 192.0.2.1\r\n")
            .connection
            .and_then(|c| c.ip()),
        None
    );
    assert_eq!(
        parse(b"c=IN IP4 pc33.example.com\r\n")
            .connection
            .and_then(|c| c.ip()),
        None
    );
    assert_eq!(
        parse(b"c=ATM NSAP 47.0091\r\n")
            .connection
            .and_then(|c| c.ip()),
        None
    );
    let bad = parse(b"c=IN IP4\r\n");
    assert_eq!(bad.connection, None);
    assert!(bad.problems.contains(&Problem {
        line: 1,
        kind: ProblemKind::Malformed("c=")
    }));
    assert_eq!(
        bad.other_lines,
        vec![RawLine {
            line: 1,
            raw: b"c=IN IP4"
        }]
    );
}

#[test]
fn timing_bandwidth_and_untyped_lines() {
    let sdp = parse(b"t=3034423619 3042462419\r\nb=AS:64\r\ni=info\r\nu=http://x\r\nt=0 x\r\n");
    assert_eq!(
        sdp.timing,
        vec![Timing {
            start: 3034423619,
            stop: 3042462419
        }]
    );
    assert_eq!(
        sdp.bandwidths,
        vec![Bandwidth {
            bwtype: "AS",
            value: 64
        }]
    );
    assert_eq!(sdp.other_lines.len(), 3);
    assert_eq!(sdp.other_lines.first().map(|l| l.raw), Some(&b"i=info"[..]));
    assert!(sdp.problems.contains(&Problem {
        line: 5,
        kind: ProblemKind::Malformed("t=")
    }));
}

#[test]
fn media_line_variants() {
    let sdp = parse(b"m=audio 49170/2 RTP/AVP 0 8 97\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\n");
    let m = &sdp.media;
    assert_eq!(m.len(), 2);
    let a = &m[0];
    assert_eq!(
        (a.line, a.media, a.port, a.port_count),
        (1, MediaType::Audio, 49170, Some(2))
    );
    assert_eq!(a.proto, Proto::RtpAvp);
    assert_eq!(a.formats, vec!["0", "8", "97"]);
    assert_eq!(a.payload_types().collect::<Vec<_>>(), vec![0, 8, 97]);
    assert_eq!(m[1].proto, Proto::UdpTlsRtpSavpf);
    assert_eq!(m[1].rtcp_port(), None);
}

#[test]
fn malformed_media_line_still_opens_a_section() {
    let sdp = parse(b"m=audio notaport RTP/AVP 0\r\na=sendonly\r\n");
    assert_eq!(sdp.media.len(), 1);
    assert_eq!(sdp.media[0].media, MediaType::Audio);
    assert_eq!(
        sdp.media[0].attributes,
        vec![Attribute::Direction(Direction::SendOnly)]
    );
    assert!(sdp.attributes.is_empty());
    assert!(sdp.problems.contains(&Problem {
        line: 1,
        kind: ProblemKind::Malformed("m=")
    }));
}

#[test]
fn proto_classification() {
    let cases: &[(&str, bool, bool, bool)] = &[
        ("RTP/AVP", true, false, false),
        ("RTP/SAVP", true, true, false),
        ("RTP/AVPF", true, false, false),
        ("RTP/SAVPF", true, true, false),
        ("UDP/TLS/RTP/SAVP", true, true, true),
        ("UDP/TLS/RTP/SAVPF", true, true, true),
        ("TCP/RTP/AVP", true, false, false),
        ("TCP/TLS/RTP/SAVP", true, true, false),
        ("TCP/DTLS/RTP/SAVPF", true, true, true),
        ("udptl", false, false, false),
        ("TCP/MSRP", false, false, false),
        ("UDP/DTLS/SCTP", false, false, true),
        ("FOO/RTP/SAVP", true, true, false),
    ];
    for &(s, rtp, srtp, dtls) in cases {
        let p = Proto::parse(s);
        assert_eq!(
            (p.is_rtp(), p.is_srtp(), p.is_dtls()),
            (rtp, srtp, dtls),
            "{s}"
        );
        assert_eq!(p.as_str(), s);
    }
    assert_eq!(Proto::parse("rtp/avp"), Proto::RtpAvp);
    assert_eq!(Proto::parse("FOO/RTP/SAVP"), Proto::Other("FOO/RTP/SAVP"));
    assert_eq!(Proto::parse("TCP/TLS/RTP/SAVP"), Proto::TcpTlsRtpSavp);
    assert_eq!(Proto::parse("udptl"), Proto::Udptl);
}

#[test]
fn rtpmap_and_fmtp() {
    assert_eq!(
        one_attr(b"a=rtpmap:111 opus/48000/2"),
        Attribute::Rtpmap(Rtpmap {
            payload_type: 111,
            encoding: "opus",
            clock_rate: 48000,
            channels: Some(2)
        })
    );
    assert_eq!(
        one_attr(b"a=rtpmap:101 telephone-event/8000"),
        Attribute::Rtpmap(Rtpmap {
            payload_type: 101,
            encoding: "telephone-event",
            clock_rate: 8000,
            channels: None
        })
    );
    let Attribute::Fmtp(f) = one_attr(b"a=fmtp:111 minptime=10; useinbandfec=1") else {
        panic!("not fmtp");
    };
    assert_eq!(f.payload_type(), Some(111));
    assert_eq!(
        f.pairs().collect::<Vec<_>>(),
        vec![("minptime", Some("10")), ("useinbandfec", Some("1"))]
    );
    let bad = parse(b"a=rtpmap:200 foo/8000\r\n");
    assert!(bad
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::MalformedAttribute("rtpmap")));
    assert_eq!(
        bad.attributes,
        vec![Attribute::Other {
            name: "rtpmap",
            value: Some("200 foo/8000")
        }]
    );
}

#[test]
fn crypto_sdes() {
    let a = one_attr(
        b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4 KDR=1 UNENCRYPTED_SRTCP",
    );
    let Attribute::Crypto(c) = a else {
        panic!("not crypto")
    };
    assert_eq!(c.tag, 1);
    assert_eq!(c.suite, "AES_CM_128_HMAC_SHA1_80");
    assert_eq!(
        c.key_params,
        vec![KeyParam {
            method: "inline",
            key_salt: "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            lifetime: Some("2^20"),
            mki: Some(Mki {
                value: 1,
                length: 4
            }),
        }]
    );
    assert_eq!(c.key_params[0].lifetime_packets(), Some(1 << 20));
    assert_eq!(c.session_params, vec!["KDR=1", "UNENCRYPTED_SRTCP"]);

    // Two keys, MKI without lifetime, no session params.
    let Attribute::Crypto(c) =
        one_attr(b"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:AAAA|1:1;inline:BBBB|1000")
    else {
        panic!("not crypto")
    };
    assert_eq!(c.key_params.len(), 2);
    assert_eq!(
        c.key_params[0].mki,
        Some(Mki {
            value: 1,
            length: 1
        })
    );
    assert_eq!(c.key_params[0].lifetime, None);
    assert_eq!(c.key_params[1].lifetime_packets(), Some(1000));
    assert!(c.session_params.is_empty());

    let bad = parse(b"a=crypto:x AES inline:k\r\n");
    assert!(bad
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::MalformedAttribute("crypto")));
}

#[test]
fn fingerprint_setup_candidate_ice() {
    assert_eq!(
        one_attr(b"a=fingerprint:sha-256 4A:AD:B9:B1:3F:82"),
        Attribute::Fingerprint(Fingerprint {
            hash_func: "sha-256",
            value: "4A:AD:B9:B1:3F:82"
        })
    );
    assert_eq!(
        one_attr(b"a=setup:actpass"),
        Attribute::Setup(Setup::Actpass)
    );
    assert_eq!(one_attr(b"a=setup:active"), Attribute::Setup(Setup::Active));
    assert_eq!(
        one_attr(b"a=setup:passive"),
        Attribute::Setup(Setup::Passive)
    );
    assert_eq!(
        one_attr(b"a=setup:holdconn"),
        Attribute::Setup(Setup::Holdconn)
    );
    assert_eq!(
        one_attr(b"a=setup:weird"),
        Attribute::Setup(Setup::Other("weird"))
    );
    let Attribute::Candidate(c) = one_attr(
        b"a=candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 192.168.1.2 rport 61665 generation 0",
    ) else {
        panic!("not candidate")
    };
    assert_eq!(
        (
            c.foundation,
            c.component,
            c.transport,
            c.priority,
            c.address,
            c.port
        ),
        ("842163049", 1, "udp", 1677729535, "203.0.113.7", 61665)
    );
    assert_eq!(c.typ, CandidateType::Srflx);
    assert_eq!((c.raddr, c.rport), (Some("192.168.1.2"), Some(61665)));
    assert_eq!(c.extensions, vec![("generation", "0")]);
    assert_eq!(c.ip(), Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))));
    assert_eq!(one_attr(b"a=ice-ufrag:F7gI"), Attribute::IceUfrag("F7gI"));
    assert_eq!(
        one_attr(b"a=ice-pwd:x9cml/YzichV2+XlhiMu8g"),
        Attribute::IcePwd("x9cml/YzichV2+XlhiMu8g")
    );
    assert_eq!(one_attr(b"a=mid:0"), Attribute::Mid("0"));
    let bad = parse(b"a=candidate:1 1 udp 5 10.0.0.1 9 host\r\n");
    assert!(bad
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::MalformedAttribute("candidate")));
}

#[test]
fn rtcp_ptime_direction_zrtp_other() {
    assert_eq!(
        one_attr(b"a=rtcp:53020 IN IP4 126.16.64.4"),
        Attribute::Rtcp(RtcpAttr {
            port: 53020,
            nettype: Some("IN"),
            addrtype: Some("IP4"),
            address: Some("126.16.64.4")
        })
    );
    assert_eq!(
        one_attr(b"a=rtcp:53020"),
        Attribute::Rtcp(RtcpAttr {
            port: 53020,
            nettype: None,
            addrtype: None,
            address: None
        })
    );
    assert_eq!(one_attr(b"a=rtcp-mux"), Attribute::RtcpMux);
    assert_eq!(one_attr(b"a=ptime:20"), Attribute::Ptime(20));
    assert_eq!(one_attr(b"a=ptime:20.0"), Attribute::Ptime(20));
    assert_eq!(one_attr(b"a=maxptime:150"), Attribute::Maxptime(150));
    assert_eq!(
        one_attr(b"a=sendrecv"),
        Attribute::Direction(Direction::SendRecv)
    );
    assert_eq!(
        one_attr(b"a=sendonly"),
        Attribute::Direction(Direction::SendOnly)
    );
    assert_eq!(
        one_attr(b"a=recvonly"),
        Attribute::Direction(Direction::RecvOnly)
    );
    assert_eq!(
        one_attr(b"a=inactive"),
        Attribute::Direction(Direction::Inactive)
    );
    assert_eq!(
        one_attr(
            b"a=zrtp-hash:1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df"
        ),
        Attribute::ZrtpHash(ZrtpHash {
            version: "1.10",
            hash: "fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df"
        })
    );
    assert_eq!(
        one_attr(b"a=ssrc:1 cname:x"),
        Attribute::Other {
            name: "ssrc",
            value: Some("1 cname:x")
        }
    );
    assert_eq!(
        one_attr(b"a=ice-lite"),
        Attribute::Other {
            name: "ice-lite",
            value: None
        }
    );
    assert_eq!(one_attr(b"a=ice-lite").name(), "ice-lite");
    assert!(parse(b"a=ptime:abc\r\n")
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::MalformedAttribute("ptime")));
}

#[test]
fn accessors_connection_ports_direction_codecs() {
    let sdp = parse(
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=recvonly\r\n\
m=audio 4000 RTP/AVP 0 18 101 96\r\na=rtpmap:101 telephone-event/8000\r\n\
m=audio 5000 RTP/AVP 8\r\nc=IN IP4 10.0.0.2\r\na=rtcp:5009\r\na=sendrecv\r\n\
m=video 6000 RTP/AVP 96\r\na=rtcp-mux\r\nc=IN IP4 media.example.com\r\n",
    );
    assert!(sdp.problems.is_empty(), "{:?}", sdp.problems);
    let [m0, m1, m2] = &sdp.media[..] else {
        panic!("3 media")
    };
    assert_eq!(
        m0.connection_address(&sdp),
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
    );
    assert_eq!(
        m1.connection_address(&sdp),
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))
    );
    assert_eq!(m2.connection_address(&sdp), None);
    assert_eq!((m0.rtp_port(), m0.rtcp_port()), (4000, Some(4001)));
    assert_eq!(m1.rtcp_port(), Some(5009));
    assert_eq!(m2.rtcp_port(), Some(6000));
    assert_eq!(m0.direction(&sdp), Direction::RecvOnly);
    assert_eq!(m1.direction(&sdp), Direction::SendRecv);
    assert_eq!(
        m0.codec_for(0).map(|c| (c.name, c.clock_rate)),
        Some(("PCMU", 8000))
    );
    assert_eq!(m0.codec_for(18).map(|c| c.name), Some("G729"));
    assert_eq!(
        m0.codec_for(101).map(|c| (c.name, c.clock_rate)),
        Some(("telephone-event", 8000))
    );
    assert_eq!(m0.codec_for(96), None);
    assert_eq!(m1.codec_for(8).map(|c| c.name), Some("PCMA"));
    let plain = parse(b"m=audio 4000 RTP/AVP 0\r\n");
    assert_eq!(plain.media[0].direction(&plain), Direction::SendRecv);
}

#[test]
fn webrtc_offer() {
    let sdp = parse(
        b"v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=fingerprint:sha-256 19:E2:1C:3B:4B:9F:81:E6:B8:5C:F4:A5:A8:D8:73:04:BB:05:2F:70:9F:04:A9:0E:05:E9:26:33:E8:70:88:A2\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=candidate:1 1 udp 2122260223 192.168.1.10 54321 typ host generation 0\r\n\
a=candidate:2 1 udp 1686052607 198.51.100.4 40000 typ srflx raddr 192.168.1.10 rport 54321\r\n\
a=candidate:3 1 udp 41885439 203.0.113.9 3478 typ relay raddr 198.51.100.4 rport 40000\r\n\
a=ice-ufrag:EsAw\r\n\
a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sendrecv\r\n\
a=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n",
    );
    assert!(sdp.problems.is_empty(), "{:?}", sdp.problems);
    let m = &sdp.media[0];
    assert!(m.proto.is_dtls() && m.proto.is_srtp());
    assert_eq!(m.candidates().count(), 3);
    let types: Vec<_> = m.candidates().map(|c| c.typ).collect();
    assert_eq!(
        types,
        vec![
            CandidateType::Host,
            CandidateType::Srflx,
            CandidateType::Relay
        ]
    );
    assert_eq!(m.fingerprint(&sdp).map(|f| f.hash_func), Some("sha-256"));
    assert_eq!(m.setup(&sdp), Some(Setup::Actpass));
    assert_eq!(m.rtcp_port(), Some(9));
    assert!(m.rtcp_mux());
    assert_eq!(
        m.codec_for(111).map(|c| (c.name, c.channels)),
        Some(("opus", 2))
    );
    assert_eq!(sdp.attributes_named("group").count(), 1);
    assert_eq!(m.attributes_named("candidate").count(), 3);
}

#[test]
fn lf_only_and_garbage_lines() {
    let sdp = parse(
        b"v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\n\nthis is garbage\nx=unknown\n\xff\xfe=bad\nm=audio 4000 RTP/AVP 0\nzz\n\xc3\n",
    );
    assert_eq!(sdp.version, Some(0));
    assert_eq!(sdp.media.len(), 1);
    let kinds: Vec<_> = sdp.problems.iter().map(|p| (p.line, p.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (5, ProblemKind::NotTypeValue),
            (6, ProblemKind::UnknownLineType('x')),
            (7, ProblemKind::InvalidUtf8),
            (9, ProblemKind::NotTypeValue),
            (10, ProblemKind::InvalidUtf8),
        ]
    );
    assert_eq!(sdp.other_lines.len(), 3);
    assert_eq!(sdp.media[0].other_lines.len(), 2);
    assert_eq!(
        sdp.problems[0].to_string(),
        "SDP line 5: line is not of the form <type>=<value>"
    );
}

#[test]
fn session_lines_in_media_and_duplicates() {
    let sdp = parse(b"v=0\r\nv=1\r\ns=a\r\ns=b\r\nm=audio 1 RTP/AVP 0\r\ns=c\r\n");
    assert_eq!(sdp.version, Some(0));
    assert_eq!(sdp.session_name, Some("a"));
    assert!(sdp.problems.contains(&Problem {
        line: 2,
        kind: ProblemKind::Duplicate("v=")
    }));
    assert!(sdp.problems.contains(&Problem {
        line: 4,
        kind: ProblemKind::Duplicate("s=")
    }));
    assert!(sdp.problems.contains(&Problem {
        line: 6,
        kind: ProblemKind::SessionLineInMedia("s=")
    }));
}

/// Extracts the SDP body (after the blank line) of a SIP message.
fn body_of(msg: &[u8]) -> Option<&[u8]> {
    let pos = msg.windows(4).position(|w| w == b"\r\n\r\n")?;
    msg.get(pos + 4..)
}

#[test]
fn rfc3665_invites() {
    // CI keeps the corpus beside the checkout; a developer machine at /work/shared.
    let sub = "corpus/vectors/callflows/rfc3665";
    let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(sub);
    let Some(dir) = [local, std::path::Path::new("/work/shared").join(sub)]
        .into_iter()
        .find(|d| d.is_dir())
    else {
        eprintln!("NOTICE: corpus missing, skipping the RFC 3665 SDP test");
        return;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("NOTICE: corpus unreadable, skipping the RFC 3665 SDP test");
        return;
    };
    let mut checked = 0;
    for e in entries.flatten() {
        let path = e.path();
        if !path.to_string_lossy().ends_with("INVITE.sip") {
            continue;
        }
        let Ok(msg) = std::fs::read(&path) else {
            continue;
        };
        let Some(body) = body_of(&msg).filter(|b| b.starts_with(b"v=")) else {
            continue;
        };
        let sdp = parse(body);
        assert!(
            sdp.problems.is_empty(),
            "{}: {:?}",
            path.display(),
            sdp.problems
        );
        assert!(
            sdp.origin.is_some() && !sdp.media.is_empty(),
            "{}",
            path.display()
        );
        for m in &sdp.media {
            assert!(m.proto.is_rtp());
            assert!(m.connection_address(&sdp).is_some(), "{}", path.display());
        }
        checked += 1;
    }
    assert!(checked > 0, "no INVITE with SDP found");
    // One known body, field by field (RFC 3665 §3.1 F1).
    let f1 = dir.join("rfc3665_s3_1_F1_INVITE.sip");
    if let Ok(msg) = std::fs::read(f1) {
        let sdp = parse(body_of(&msg).unwrap_or_default());
        assert_eq!(sdp.origin.map(|o| o.username), Some("alice"));
        assert_eq!(
            sdp.media[0].connection_address(&sdp),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101)))
        );
        assert_eq!(sdp.media[0].rtp_port(), 49172);
        assert_eq!(sdp.media[0].codec_for(0).map(|c| c.name), Some("PCMU"));
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let sdp = parse(&data);
        for m in &sdp.media {
            let _ = (m.connection_address(&sdp), m.rtcp_port(), m.direction(&sdp));
            for pt in 0..=127u8 { let _ = m.codec_for(pt); }
            let _ = (m.fingerprint(&sdp), m.setup(&sdp), m.candidates().count(), m.crypto().count());
        }
        for p in &sdp.problems { let _ = p.to_string(); }
    }

    #[test]
    fn sdp_like_lines_never_panic(lines in proptest::collection::vec(
        ("[vosctbam]", "[ -~]{0,40}"), 0..20)) {
        let text: String = lines.iter().map(|(t, v)| format!("{t}={v}\r\n")).collect();
        let sdp = parse(text.as_bytes());
        prop_assert_eq!(sdp.problems.iter().filter(|p| p.kind == ProblemKind::NotTypeValue).count(), 0);
    }

    #[test]
    fn generated_sdp_round_trips(
        user in "[a-z]{1,8}",
        sess in 0u64..u64::MAX,
        ip in any::<[u8; 4]>(),
        port in 1u16..65535,
        pts in proptest::collection::vec(0u8..128, 1..5),
        rate in 1u32..200_000,
        lf_only in any::<bool>(),
    ) {
        let addr = Ipv4Addr::from(ip);
        let eol = if lf_only { "\n" } else { "\r\n" };
        let fmts: Vec<String> = pts.iter().map(u8::to_string).collect();
        let text = format!(
            "v=0{eol}o={user} {sess} {sess} IN IP4 {addr}{eol}s=-{eol}c=IN IP4 {addr}{eol}t=0 0{eol}\
             m=audio {port} RTP/AVP {}{eol}a=rtpmap:{} X{}/{rate}{eol}a=sendonly{eol}",
            fmts.join(" "), pts[0], pts[0]
        );
        let sdp = parse(text.as_bytes());
        prop_assert!(sdp.problems.is_empty(), "{:?}", sdp.problems);
        let sess_s = sess.to_string();
        prop_assert_eq!(sdp.origin.map(|o| (o.username, o.session_id)), Some((user.as_str(), sess_s.as_str())));
        let m = &sdp.media[0];
        prop_assert_eq!(m.connection_address(&sdp), Some(IpAddr::V4(addr)));
        prop_assert_eq!(m.rtp_port(), port);
        prop_assert_eq!(m.payload_types().collect::<Vec<_>>(), pts.clone());
        let name = format!("X{}", pts[0]);
        prop_assert_eq!(m.codec_for(pts[0]).map(|c| (c.name, c.clock_rate)), Some((name.as_str(), rate)));
        prop_assert_eq!(m.direction(&sdp), Direction::SendOnly);
    }
}

#[test]
fn line_type_read_as_bytes_or_chars() {
    // `<ASCII>=` takes the byte path; a non-ASCII type letter still reads as a char.
    let sdp = parse("v=0\r\n\u{e9}=x\r\na\u{e9}\r\nx=1\r\n=\r\nm\r\n".as_bytes());
    let kinds: Vec<_> = sdp.problems.iter().map(|p| (p.line, p.kind)).collect();
    assert_eq!(
        kinds[..4],
        [
            (2, ProblemKind::UnknownLineType('\u{e9}')),
            (3, ProblemKind::NotTypeValue),
            (4, ProblemKind::UnknownLineType('x')),
            (5, ProblemKind::NotTypeValue),
        ]
    );
    assert_eq!(sdp.version, Some(0));
    // Invalid UTF-8 keeps its own problem, before any type check.
    let sdp = parse(b"v=0\r\na=\xff\r\n");
    assert_eq!(
        sdp.problems.first().map(|p| (p.line, p.kind)),
        Some((2, ProblemKind::InvalidUtf8))
    );
}

#[test]
fn hand_read_values_edge_cases() {
    // Overflowing numbers fail the line as nom's parsers did; the rest keeps parsing.
    let sdp = parse(b"m=audio 65536 RTP/AVP 0\r\na=rtpmap:256 X/8000\r\nm=audio 5/70000 RTP/AVP 0\r\nm=video 5/2 RTP/AVP 0\r\nt=18446744073709551615 0\r\nc=IN IP4 224.2.1.1/127/3\r\n");
    assert_eq!(sdp.media.len(), 3);
    assert_eq!(sdp.media[0].port, 0, "malformed m= keeps an empty section");
    assert!(matches!(
        sdp.media[0].attributes.first(),
        Some(Attribute::Other { name: "rtpmap", .. })
    ));
    assert_eq!(sdp.media[1].port_count, None);
    assert_eq!((sdp.media[2].port, sdp.media[2].port_count), (5, Some(2)));
    let c = sdp.media[2].connections.first().copied();
    assert_eq!(
        c.map(|c| (c.address, c.ttl, c.count)),
        Some(("224.2.1.1", Some(127), Some(3)))
    );
    assert!(sdp
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::Malformed("m=")));
    let one = one_attr(b"a=rtpmap:96 opus/48000/2\r\n");
    assert_eq!(
        one,
        Attribute::Rtpmap(Rtpmap {
            payload_type: 96,
            encoding: "opus",
            clock_rate: 48000,
            channels: Some(2)
        })
    );
    assert_eq!(
        one_attr(b"a=SENDONLY\r\n"),
        Attribute::Direction(Direction::SendOnly)
    );
}
