//! Media, transport and end-to-end security findings on synthetic calls run through
//! `Analyzer::process`: each rule with a case that must fire and one that must not.

use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::engine::{Analyzer, Finding, Severity};

const CALLER: [u8; 4] = [192, 0, 2, 1];
const CALLEE: [u8; 4] = [192, 0, 2, 2];

/// An Ethernet/IPv4/UDP frame from `src` to `dst`.
fn frame(number: u64, src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8]) -> Frame {
    let mut data = Vec::new();
    etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
        .ipv4(src.0, dst.0, 64)
        .udp(src.1, dst.1)
        .write(&mut data, payload)
        .expect("build");
    Frame {
        number,
        ts: Timestamp(1_700_000_000_000_000_000 + number * 20_000_000),
        link_type: LinkType::ETHERNET,
        orig_len: data.len() as u32,
        data,
        interface: 0,
    }
}

fn sdp(ip: [u8; 4], port: u16, proto: &str, extra: &str) -> String {
    let ip = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} {proto} 0\r\n\
         a=rtpmap:0 PCMU/8000\r\n{extra}"
    )
}

/// A request or response with the usual headers, `extra` headers and an optional body.
fn message(
    start: &str,
    call_id: &str,
    cseq: &str,
    extra: &str,
    body: Option<(&str, &str)>,
) -> Vec<u8> {
    let (ct, body) = match body {
        Some((ct, b)) => (format!("Content-Type: {ct}\r\n"), b),
        None => (String::new(), ""),
    };
    format!(
        "{start}\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-{call_id}-{cseq}\r\n\
         From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>{}\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq}\r\n{extra}{ct}Content-Length: {}\r\n\r\n{body}",
        if start.starts_with("SIP/2.0") {
            ";tag=b1"
        } else {
            ""
        },
        body.len()
    )
    .into_bytes()
}

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xd5; 160]);
    p
}

/// INVITE with `offer`, 200 OK with `answer`, then 10 RTP packets each way.
fn call(an: &mut Analyzer, call_id: &str, offer: &str, answer: &str, media: Option<&[u8]>) {
    an.process(&frame(
        1,
        (CALLER, 5060),
        (CALLEE, 5060),
        &message(
            "INVITE sip:bob@example.com SIP/2.0",
            call_id,
            "1 INVITE",
            "",
            Some(("application/sdp", offer)),
        ),
    ));
    an.process(&frame(
        2,
        (CALLEE, 5060),
        (CALLER, 5060),
        &message(
            "SIP/2.0 200 OK",
            call_id,
            "1 INVITE",
            "",
            Some(("application/sdp", answer)),
        ),
    ));
    for i in 0..10u16 {
        let n = 3 + 2 * u64::from(i);
        let (a, b) = match media {
            Some(p) => (p.to_vec(), p.to_vec()),
            None => (rtp(i, 11), rtp(i, 22)),
        };
        an.process(&frame(n, (CALLER, 4000), (CALLEE, 5000), &a));
        an.process(&frame(n + 1, (CALLEE, 5000), (CALLER, 4000), &b));
    }
}

fn with<'a>(f: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    f.iter().filter(|f| f.rule.0 == rule).collect()
}

#[test]
fn cleartext_rtp_call_and_unbound_streams() {
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    call(
        &mut an,
        "clear@x",
        &sdp(CALLER, 4000, "RTP/AVP", ""),
        &sdp(CALLEE, 5000, "RTP/AVP", ""),
        None,
    );
    let f = an.findings();
    let c = with(&f, "media.cleartext-rtp");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].severity, Severity::Medium);
    assert_eq!(c[0].call_id.as_deref(), Some("clear@x"));
    assert!(
        c[0].summary.contains("2 unencrypted RTP stream(s)")
            && c[0].summary.contains("192.0.2.1:4000→192.0.2.2:5000 PCMU"),
        "{}",
        c[0].summary
    );
    assert_eq!(c[0].evidence, vec![1, 2, 3, 4]);
    let hop = with(&f, "transport.cleartext-sip");
    assert_eq!(hop.len(), 1);
    assert!(hop[0]
        .summary
        .starts_with("2 SIP message(s) in clear over UDP"));
    assert_eq!(hop[0].call_id, None);

    // Negative: RTP no SDP announced (it may be SRTP whose SDP went over TLS).
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    for i in 0..20u16 {
        an.process(&frame(
            u64::from(i) + 1,
            (CALLER, 4000),
            (CALLEE, 5000),
            &rtp(i, 33),
        ));
    }
    assert!(an.findings().is_empty());
}

#[test]
fn sdes_keys_over_udp_are_exposed_and_masked() {
    let crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n";
    let run = |show| {
        let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
        an.set_show_secrets(show);
        call(
            &mut an,
            "sdes@x",
            &sdp(CALLER, 4000, "RTP/SAVP", crypto),
            &sdp(CALLEE, 5000, "RTP/SAVP", crypto),
            None,
        );
        an.findings()
    };
    let f = run(false);
    let k = with(&f, "media.sdes-key-exposed");
    assert_eq!(k.len(), 1);
    assert_eq!(k[0].severity, Severity::High);
    assert_eq!(k[0].evidence, vec![1, 2]);
    assert!(
        k[0].summary.contains("AES_CM_128_HMAC_SHA1_80"),
        "{}",
        k[0].summary
    );
    assert!(k[0].summary.contains("over UDP"), "{}", k[0].summary);
    assert!(!k[0].summary.contains("PS1uQCVee"), "{}", k[0].summary);
    assert_eq!(with(&f, "media.srtp").len(), 1);
    assert!(
        with(&f, "media.cleartext-rtp").is_empty(),
        "SRTP streams are not cleartext"
    );
    let f = run(true);
    let k = with(&f, "media.sdes-key-exposed");
    assert!(
        k[0].summary
            .contains("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
        "{}",
        k[0].summary
    );
}

#[test]
fn dtls_srtp_call_is_recorded_not_cleartext() {
    let dtls = "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3A:73:E9:87:9A:60:3C:93:BA:AE:52:F6\r\na=setup:actpass\r\n";
    let answer = dtls.replace("actpass", "active");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    call(
        &mut an,
        "dtls@x",
        &sdp(CALLER, 4000, "UDP/TLS/RTP/SAVPF", dtls),
        &sdp(CALLEE, 5000, "UDP/TLS/RTP/SAVPF", &answer),
        None,
    );
    let f = an.findings();
    let d = with(&f, "media.dtls-srtp");
    assert_eq!(d.len(), 1);
    assert!(
        d[0].summary.contains("fingerprint sha-256 setup active"),
        "{}",
        d[0].summary
    );
    assert!(with(&f, "media.cleartext-rtp").is_empty());
    assert!(with(&f, "media.sdes-key-exposed").is_empty());
}

#[test]
fn zrtp_packets_on_the_call_replace_cleartext_rtp() {
    let z = "a=zrtp-hash:1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df\r\n";
    // ZRTP packet: 0x10, sequence, magic cookie "ZRTP" (RFC 6189 §5).
    let mut zrtp = vec![0x10, 0x00, 0x00, 0x01];
    zrtp.extend_from_slice(b"ZRTP");
    zrtp.extend_from_slice(&[0u8; 24]);
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    call(
        &mut an,
        "zrtp@x",
        &sdp(CALLER, 4000, "RTP/AVP", z),
        &sdp(CALLEE, 5000, "RTP/AVP", z),
        Some(&zrtp),
    );
    assert_eq!(an.stats().zrtp_packets, 20);
    let f = an.findings();
    let zf = with(&f, "media.zrtp");
    assert_eq!(zf.len(), 1);
    assert!(
        zf[0].summary.contains("20 ZRTP packet(s)"),
        "{}",
        zf[0].summary
    );
    assert!(with(&f, "media.cleartext-rtp").is_empty());
}

#[test]
fn sips_over_udp_is_a_downgrade() {
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.process(&frame(
        1,
        (CALLER, 5060),
        (CALLEE, 5060),
        &message(
            "INVITE sips:bob@example.com SIP/2.0",
            "sips@x",
            "1 INVITE",
            "Record-Route: <sip:proxy.example.com;transport=tls;lr>\r\n",
            None,
        ),
    ));
    // Negative: a plain sip: call in another dialog.
    an.process(&frame(
        2,
        (CALLER, 5060),
        (CALLEE, 5060),
        &message(
            "INVITE sip:bob@example.com SIP/2.0",
            "plain@x",
            "1 INVITE",
            "",
            None,
        ),
    ));
    let f = an.findings();
    let d = with(&f, "transport.sips-downgrade");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].severity, Severity::High);
    assert_eq!(d[0].call_id.as_deref(), Some("sips@x"));
    assert_eq!(d[0].evidence, vec![1]);
    assert!(
        d[0].summary
            .contains("Request-URI sips:bob@example.com in frame 1 over UDP"),
        "{}",
        d[0].summary
    );
    assert!(
        d[0].summary
            .contains("Record-Route sip:proxy.example.com;transport=tls;lr"),
        "{}",
        d[0].summary
    );
}

#[test]
fn identity_header_is_decoded() {
    let identity = "Identity: eyJhbGciOiJFUzI1NiIsInR5cCI6InBhc3Nwb3J0IiwicHB0Ijoic2hha2VuIiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9.eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjE1NTU1MTIxMyJdfSwiaWF0IjoxNDQzMjA4MzQ1LCJvcmlnIjp7InRuIjoiMTIxNTU1NTEyMTIifSwib3JpZ2lkIjoiMTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjU1NDQwMDAwIn0.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw;info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken\r\n";
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.process(&frame(
        1,
        (CALLER, 5060),
        (CALLEE, 5060),
        &message(
            "INVITE sip:+12155551213@example.com SIP/2.0",
            "id@x",
            "1 INVITE",
            identity,
            None,
        ),
    ));
    an.process(&frame(
        2,
        (CALLER, 5060),
        (CALLEE, 5060),
        &message(
            "INVITE sip:bob@example.com SIP/2.0",
            "bad-id@x",
            "1 INVITE",
            "Identity: not-a-passport;info=<https://x>\r\n",
            None,
        ),
    ));
    // The same INVITE relayed on a second captured hop: the same PASSporT, one finding.
    an.process(&frame(
        4,
        (CALLEE, 5060),
        ([192, 0, 2, 3], 5060),
        &message(
            "INVITE sip:+12155551213@example.com SIP/2.0",
            "id@x",
            "1 INVITE",
            identity,
            None,
        ),
    ));
    // Negative: no Identity header.
    an.process(&frame(
        3,
        (CALLER, 5060),
        (CALLEE, 5060),
        &message(
            "INVITE sip:bob@example.com SIP/2.0",
            "none@x",
            "1 INVITE",
            "",
            None,
        ),
    ));
    let f = an.findings();
    let ids = with(&f, "e2e.identity");
    assert_eq!(ids.len(), 2);
    let good = ids
        .iter()
        .find(|f| f.call_id.as_deref() == Some("id@x"))
        .unwrap();
    for want in [
        "attestation A",
        "orig 12155551212",
        "dest 12155551213",
        "iat 1443208345",
        "x5u https://cert.example.org/passport.cer",
        "signature not verified",
    ] {
        assert!(good.summary.contains(want), "{want}: {}", good.summary);
    }
    let bad = ids
        .iter()
        .find(|f| f.call_id.as_deref() == Some("bad-id@x"))
        .unwrap();
    assert!(bad.summary.contains("could not decode"), "{}", bad.summary);
}

#[test]
fn smime_signed_body_is_recorded() {
    let body = "--sig\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--sig\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\nMIIB\r\n--sig--\r\n";
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.process(&frame(
        1,
        (CALLER, 5060),
        (CALLEE, 5060),
        &message(
            "INVITE sip:bob@example.com SIP/2.0",
            "smime@x",
            "1 INVITE",
            "",
            Some((
                "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha1; boundary=sig",
                body,
            )),
        ),
    ));
    // Negative: multipart/mixed carrying only SDP.
    let mixed = "--m\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--m--\r\n";
    an.process(&frame(
        2,
        (CALLER, 5060),
        (CALLEE, 5060),
        &message(
            "INVITE sip:bob@example.com SIP/2.0",
            "mixed@x",
            "1 INVITE",
            "",
            Some(("multipart/mixed; boundary=m", mixed)),
        ),
    ));
    let f = an.findings();
    let s = with(&f, "e2e.smime");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].call_id.as_deref(), Some("smime@x"));
    assert!(
        s[0].summary
            .starts_with("S/MIME signed body (multipart/signed) in INVITE frame 1"),
        "{}",
        s[0].summary
    );
}
