//! Tests: RFC 8448's TLS 1.3 trace, loopback captures of OpenSSL (TLS 1.3 and 1.2, every
//! record protection, RSA key exchange with and without extended master secret and
//! encrypt-then-MAC; `scripts/make-tls-decrypt-fixtures.sh`), key log parsing, and arbitrary
//! bytes.

use proptest::prelude::*;

use super::*;

const REQ: &[u8] =
    b"OPTIONS sip:bob@example.com SIP/2.0\r\nCall-ID: tls-decrypt-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
const RESP: &[u8] =
    b"SIP/2.0 200 OK\r\nCall-ID: tls-decrypt-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

const SERVER_KEY: &str = include_str!("testdata/server.key");
const SERVER_KEY_PKCS1: &str = include_str!("testdata/server-pkcs1.key");
const RFC8448: &str = include_str!("testdata/rfc8448-1rtt.txt");
const RFC8448_KEYLOG: &str = include_str!("testdata/rfc8448-1rtt.keylog");

fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// "c HEX" / "s HEX" lines (`#` comments skipped) as (from client?, bytes).
fn segments(text: &str) -> Vec<(bool, Vec<u8>)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (d, h) = l.split_once(' ').unwrap();
            (d == "c", unhex(h))
        })
        .collect()
}

/// Cuts each direction's TCP byte stream into records, in capture order.
fn records(segs: &[(bool, Vec<u8>)]) -> Vec<(bool, Vec<u8>)> {
    let mut bufs: [Vec<u8>; 2] = Default::default();
    let mut out = Vec::new();
    for (client, data) in segs {
        let buf = &mut bufs[usize::from(*client)];
        buf.extend_from_slice(data);
        while buf.len() >= 5 {
            let len = 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]));
            if buf.len() < len {
                break;
            }
            out.push((*client, buf.drain(..len).collect()));
        }
    }
    assert!(
        bufs.iter().all(|b| b.is_empty()),
        "a partial record is left"
    );
    out
}

/// What a run gave: per record (from client?, result), then client and server plaintext.
struct Run {
    results: Vec<(bool, RecordResult)>,
    from_client: Vec<u8>,
    from_server: Vec<u8>,
    info: SessionInfo,
}

/// Feeds the records with the client as `client_dir`.
fn run_dir(keys: &KeyLog, recs: &[(bool, Vec<u8>)], client_dir: Dir) -> Run {
    let server_dir = if client_dir == Dir::A { Dir::B } else { Dir::A };
    let mut s = Session::new();
    let mut run = Run {
        results: Vec::new(),
        from_client: Vec::new(),
        from_server: Vec::new(),
        info: SessionInfo::default(),
    };
    for (client, rec) in recs {
        let (dir, out) = if *client {
            (client_dir, &mut run.from_client)
        } else {
            (server_dir, &mut run.from_server)
        };
        let before = out.len();
        let r = s.record(keys, dir, rec, out);
        if !matches!(r, RecordResult::Decrypted { content_type: 23 }) {
            assert_eq!(out.len(), before, "{r:?} appended");
        }
        run.results.push((*client, r));
    }
    run.info = s.info();
    assert_eq!(run.info.client_dir, Some(client_dir));
    run
}

fn run(keys: &KeyLog, recs: &[(bool, Vec<u8>)]) -> Run {
    run_dir(keys, recs, Dir::A)
}

fn keylog(text: &str) -> KeyLog {
    let mut k = KeyLog::new();
    k.add_nss(text.as_bytes(), "test").unwrap();
    k
}

fn rsa_only() -> KeyLog {
    let mut k = KeyLog::new();
    k.add_rsa_pem(SERVER_KEY, "server.key").unwrap();
    k
}

/// The key log with one hex digit of every secret changed.
fn corrupt(text: &str) -> String {
    text.lines()
        .map(|l| {
            let mut l = l.to_string();
            if !l.starts_with('#') && !l.is_empty() {
                let last = l.pop().unwrap();
                l.push(if last == '0' { '1' } else { '0' });
            }
            l + "\n"
        })
        .collect()
}

const DEC_HS: RecordResult = RecordResult::Decrypted { content_type: 22 };
const DEC_APP: RecordResult = RecordResult::Decrypted { content_type: 23 };
const DEC_ALERT: RecordResult = RecordResult::Decrypted { content_type: 21 };
const CLEAR: RecordResult = RecordResult::Cleartext;

// ---- RFC 8448 -------------------------------------------------------------------------

#[test]
fn rfc8448_simple_1rtt() {
    let recs = segments(RFC8448);
    let keys = keylog(RFC8448_KEYLOG);
    assert_eq!(keys.sessions(), 1);
    for dir in [Dir::A, Dir::B] {
        let r = run_dir(&keys, &recs, dir);
        let results: Vec<_> = r.results.iter().map(|x| x.1).collect();
        assert_eq!(
            results,
            [CLEAR, CLEAR, DEC_HS, DEC_HS, DEC_HS, DEC_APP, DEC_APP, DEC_ALERT, DEC_ALERT]
        );
        let payload: Vec<u8> = (0u8..50).collect();
        assert_eq!(r.from_client, payload);
        assert_eq!(r.from_server, payload);
        assert_eq!(r.info.version, Some(0x0304));
        assert_eq!(r.info.cipher_suite, Some(0x1301));
        assert!(r.info.keys_found);
        assert_eq!(r.info.records_decrypted, 7);
        assert_eq!(r.info.records_failed, 0);
        assert_eq!(r.info.unsupported, None);
    }
}

#[test]
fn rfc8448_application_secrets_only() {
    // Without the handshake secrets, the handshake records fail and each direction falls
    // back to its application keys.
    let app_only: String = RFC8448_KEYLOG
        .lines()
        .filter(|l| !l.contains("HANDSHAKE"))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = run(&keylog(&app_only), &segments(RFC8448));
    let results: Vec<_> = r.results.iter().map(|x| x.1).collect();
    let failed = RecordResult::Failed;
    assert_eq!(
        results,
        [CLEAR, CLEAR, failed, failed, DEC_HS, DEC_APP, DEC_APP, DEC_ALERT, DEC_ALERT]
    );
    assert_eq!(r.from_client, (0u8..50).collect::<Vec<_>>());
    assert_eq!(r.from_server, (0u8..50).collect::<Vec<_>>());
}

#[test]
fn rfc8448_missed_handshake_tail() {
    // The server flight and the client Finished are not in the capture: the application
    // records decrypt with the application keys all the same.
    let mut recs = segments(RFC8448);
    recs.remove(3);
    recs.remove(2);
    let r = run(&keylog(RFC8448_KEYLOG), &recs);
    let results: Vec<_> = r.results.iter().map(|x| x.1).collect();
    assert_eq!(
        results,
        [CLEAR, CLEAR, DEC_HS, DEC_APP, DEC_APP, DEC_ALERT, DEC_ALERT]
    );
    assert_eq!(r.from_server, (0u8..50).collect::<Vec<_>>());
}

#[test]
fn rfc8448_corrupt_record_advances_sequence() {
    // The client's first application record is corrupt: it fails, and the alert after it
    // (sequence number 1) still decrypts.
    let mut recs = segments(RFC8448);
    recs[5].1[20] ^= 0x40;
    let r = run(&keylog(RFC8448_KEYLOG), &recs);
    assert_eq!(r.results[5], (true, RecordResult::Failed));
    assert_eq!(r.results[7], (true, DEC_ALERT));
    assert!(r.from_client.is_empty());
}

#[test]
fn rfc8448_client_hello_split_over_records() {
    let mut recs = segments(RFC8448);
    let ch = recs.remove(0).1;
    let body = &ch[5..];
    for (i, part) in [&body[..3], &body[3..100], &body[100..]]
        .into_iter()
        .enumerate()
    {
        let mut rec = vec![22, 3, 1];
        rec.extend_from_slice(&(part.len() as u16).to_be_bytes());
        rec.extend_from_slice(part);
        recs.insert(i, (true, rec));
    }
    let r = run(&keylog(RFC8448_KEYLOG), &recs);
    assert_eq!(r.from_client, (0u8..50).collect::<Vec<_>>());
    assert_eq!(r.info.records_failed, 0);
}

#[test]
fn rfc8448_after_hello_retry_request() {
    // A HelloRetryRequest (RFC 8446 §4.1.4) and a second ClientHello come first: the session
    // waits for the real ServerHello and keeps the random.
    let mut recs = segments(RFC8448);
    let mut hrr_body = vec![0x03, 0x03];
    hrr_body.extend_from_slice(&handshake::HRR_RANDOM);
    hrr_body.extend_from_slice(&[0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 3, 4]);
    let mut hrr = vec![22, 3, 3, 0, 0, 2, 0, 0, hrr_body.len() as u8];
    hrr.extend_from_slice(&hrr_body);
    let n = (hrr.len() - 5) as u16;
    hrr[3..5].copy_from_slice(&n.to_be_bytes());
    let ch = recs[0].clone();
    recs.insert(1, (false, hrr));
    recs.insert(2, ch);
    let r = run(&keylog(RFC8448_KEYLOG), &recs);
    assert_eq!(r.from_server, (0u8..50).collect::<Vec<_>>());
    assert_eq!(r.info.records_failed, 0);
}

#[test]
fn rfc8448_wrong_secret_fails_then_stops() {
    let keys = keylog(&corrupt(RFC8448_KEYLOG));
    let r = run(&keys, &segments(RFC8448));
    assert!(r.info.keys_found);
    assert_eq!(r.info.records_decrypted, 0);
    assert_eq!(r.info.records_failed, 7);
    assert!(r.from_client.is_empty() && r.from_server.is_empty());
    assert!(r.results[2..].iter().all(|x| x.1 == RecordResult::Failed));
    // Past the bound a direction is not tried: still Failed, still nothing out.
    let mut s = Session::new();
    let recs = segments(RFC8448);
    let mut out = Vec::new();
    s.record(&keys, Dir::A, &recs[0].1, &mut out);
    s.record(&keys, Dir::B, &recs[1].1, &mut out);
    for _ in 0..3 * MAX_CONSECUTIVE_FAILURES {
        assert_eq!(
            s.record(&keys, Dir::B, &recs[6].1, &mut out),
            RecordResult::Failed
        );
    }
    assert!(out.is_empty());
}

#[test]
fn no_client_hello_or_no_secret_is_no_keys() {
    let keys = keylog(RFC8448_KEYLOG);
    let recs = segments(RFC8448);
    // Capture started after the handshake.
    let mut s = Session::new();
    let mut out = Vec::new();
    assert_eq!(
        s.record(&keys, Dir::A, &recs[5].1, &mut out),
        RecordResult::NoKeys
    );
    // ServerHello seen but not the ClientHello.
    let r = run_dir(&keys, &recs[1..], Dir::A);
    assert!(r.results[1..].iter().all(|x| x.1 == RecordResult::NoKeys));
    assert_eq!(r.info.version, Some(0x0304));
    assert!(!r.info.keys_found);
    // Key log without this session.
    let r = run(&KeyLog::new(), &recs);
    assert!(r.results[2..].iter().all(|x| x.1 == RecordResult::NoKeys));
    assert!(r.from_client.is_empty() && r.from_server.is_empty());
}

// ---- OpenSSL loopback captures --------------------------------------------------------

struct Fixture {
    name: &'static str,
    txt: &'static str,
    keylog: &'static str,
    version: u16,
    suite: u16,
}

macro_rules! fixture {
    ($name:literal, $version:expr, $suite:expr) => {
        Fixture {
            name: $name,
            txt: include_str!(concat!("testdata/", $name, ".txt")),
            keylog: include_str!(concat!("testdata/", $name, ".keylog")),
            version: $version,
            suite: $suite,
        }
    };
}

fn fixtures() -> Vec<Fixture> {
    vec![
        fixture!("tls13-aes128gcm", 0x0304, 0x1301),
        fixture!("tls13-aes256gcm", 0x0304, 0x1302),
        fixture!("tls13-chacha20", 0x0304, 0x1303),
        fixture!("tls12-ecdhe-aes128gcm", 0x0303, 0xc02f),
        fixture!("tls12-ecdhe-aes256gcm", 0x0303, 0xc030),
        fixture!("tls12-ecdhe-chacha20", 0x0303, 0xcca8),
        fixture!("tls12-ecdhe-aes128sha-etm", 0x0303, 0xc013),
        fixture!("tls12-ecdhe-aes128sha-mte", 0x0303, 0xc013),
        fixture!("tls12-rsa-aes256sha256-ems-etm", 0x0303, 0x003d),
        fixture!("tls12-rsa-aes256sha256-noems-mte", 0x0303, 0x003d),
    ]
}

/// Checks a successful run: exactly the sent text each way, nothing failed.
fn check_ok(f: &Fixture, r: &Run) {
    assert_eq!(r.from_client, REQ, "{}", f.name);
    assert_eq!(r.from_server, RESP, "{}", f.name);
    assert_eq!(r.info.version, Some(f.version), "{}", f.name);
    assert_eq!(r.info.cipher_suite, Some(f.suite), "{}", f.name);
    assert!(r.info.keys_found, "{}", f.name);
    assert_eq!(r.info.records_failed, 0, "{}", f.name);
    assert_eq!(r.info.unsupported, None, "{}", f.name);
    assert!(suite_name(f.suite).is_some());
    // The records in the clear come first, then only decrypted ones.
    let first_enc = r.results.iter().position(|x| x.1 != CLEAR).unwrap();
    assert!(
        r.results[first_enc..]
            .iter()
            .all(|x| matches!(x.1, RecordResult::Decrypted { .. }) || x.1 == CLEAR),
        "{}: {:?}",
        f.name,
        r.results
    );
    assert_eq!(r.results[0], (true, CLEAR), "{}: ClientHello", f.name);
    // OpenSSL may write the answer in more than one record.
    let apps = r.results.iter().filter(|x| x.1 == DEC_APP).count();
    assert!(apps >= 2, "{}: {:?}", f.name, r.results);
}

#[test]
fn openssl_captures_with_key_log() {
    for f in fixtures() {
        let recs = records(&segments(f.txt));
        let keys = keylog(f.keylog);
        for dir in [Dir::A, Dir::B] {
            let r = run_dir(&keys, &recs, dir);
            check_ok(&f, &r);
            if f.version == 0x0303 {
                // The client's and the server's Finished are the only handshake records
                // under the new keys.
                let dec_hs = r.results.iter().filter(|x| x.1 == DEC_HS).count();
                assert_eq!(dec_hs, 2, "{}: {:?}", f.name, r.results);
            }
        }
    }
}

#[test]
fn openssl_captures_with_rsa_key() {
    for f in fixtures().iter().filter(|f| f.name.contains("-rsa-")) {
        let recs = records(&segments(f.txt));
        check_ok(f, &run(&rsa_only(), &recs));
        let mut k = KeyLog::new();
        k.add_rsa_pem(SERVER_KEY_PKCS1, "server-pkcs1.key").unwrap();
        check_ok(f, &run(&k, &recs));
    }
}

#[test]
fn rsa_key_cannot_decrypt_ecdhe() {
    for f in fixtures().iter().filter(|f| !f.name.contains("-rsa-")) {
        let r = run(&rsa_only(), &records(&segments(f.txt)));
        assert!(!r.info.keys_found, "{}", f.name);
        assert!(r.from_client.is_empty() && r.from_server.is_empty());
        assert!(r.results.iter().any(|x| x.1 == RecordResult::NoKeys));
        assert!(r
            .results
            .iter()
            .all(|x| matches!(x.1, CLEAR | RecordResult::NoKeys)));
    }
}

#[test]
fn openssl_captures_wrong_key_log_fail_without_output() {
    for f in fixtures() {
        let recs = records(&segments(f.txt));
        let r = run(&keylog(&corrupt(f.keylog)), &recs);
        assert!(r.info.keys_found, "{}", f.name);
        assert_eq!(r.info.records_decrypted, 0, "{}", f.name);
        assert!(r.info.records_failed > 0, "{}", f.name);
        assert!(
            r.from_client.is_empty() && r.from_server.is_empty(),
            "{}",
            f.name
        );
        assert!(r
            .results
            .iter()
            .all(|x| matches!(x.1, CLEAR | RecordResult::Failed)));
    }
}

#[test]
fn openssl_captures_other_sessions_key_log_is_no_keys() {
    let all = fixtures();
    for (i, f) in all.iter().enumerate() {
        let other = &all[(i + 1) % all.len()];
        let r = run(&keylog(other.keylog), &records(&segments(f.txt)));
        assert!(!r.info.keys_found, "{}", f.name);
        assert!(r
            .results
            .iter()
            .all(|x| matches!(x.1, CLEAR | RecordResult::NoKeys)));
        assert!(r.from_client.is_empty() && r.from_server.is_empty());
    }
}

#[test]
fn oversized_handshake_message_stops_parsing() {
    let mut s = Session::new();
    let mut out = Vec::new();
    let keys = KeyLog::new();
    // A ClientHello announcing 16 MiB - 1: not buffered.
    let rec = [22, 3, 1, 0, 8, 1, 0xff, 0xff, 0xff, 3, 3, 0, 0];
    assert_eq!(s.record(&keys, Dir::A, &rec, &mut out), CLEAR);
    assert_eq!(s.record(&keys, Dir::A, &rec, &mut out), CLEAR);
    assert_eq!(s.handshake_overflows(), 1);
    assert_eq!(s.info().client_dir, None);
}

#[test]
fn unsupported_version_is_reported() {
    // A TLS 1.0 ServerHello (AES128-SHA), then encrypted records.
    let recs = segments(RFC8448);
    let mut sh = unhex(
        "160301002a020000260301a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800002f00",
    );
    let n = (sh.len() - 5) as u16;
    sh[3..5].copy_from_slice(&n.to_be_bytes());
    let mut s = Session::new();
    let mut out = Vec::new();
    let keys = keylog(RFC8448_KEYLOG);
    assert_eq!(s.record(&keys, Dir::A, &recs[0].1, &mut out), CLEAR);
    assert_eq!(s.record(&keys, Dir::B, &sh, &mut out), CLEAR);
    assert_eq!(
        s.record(&keys, Dir::B, &[20, 3, 1, 0, 1, 1], &mut out),
        CLEAR
    );
    let app = [23, 3, 1, 0, 32]
        .iter()
        .copied()
        .chain([0u8; 32])
        .collect::<Vec<_>>();
    assert_eq!(
        s.record(&keys, Dir::B, &app, &mut out),
        RecordResult::Unsupported
    );
    assert_eq!(
        s.record(&keys, Dir::A, &app, &mut out),
        RecordResult::Unsupported
    );
    let info = s.info();
    assert_eq!(info.version, Some(0x0301));
    assert_eq!(info.cipher_suite, Some(0x002f));
    assert!(info.unsupported.unwrap().contains("TLS 1.0"));
    assert!(out.is_empty());
}

// ---- Key log -----------------------------------------------------------------------------

#[test]
fn key_log_parsing() {
    let r = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";
    let s48 = "ab".repeat(48);
    let text = format!(
        "# comment\r\n\r\nCLIENT_RANDOM {r} {s48}\r\nEXPORTER_SECRET {r} {}\nRSA 0011 2233\n\
         CLIENT_EARLY_TRAFFIC_SECRET {r} zz\nSERVER_TRAFFIC_SECRET_0 {} {}\n",
        "cd".repeat(32),
        "11".repeat(32),
        "ef".repeat(48)
    );
    let mut k = KeyLog::new();
    assert!(k.is_empty());
    assert_eq!(k.add_nss(text.as_bytes(), "a.log").unwrap(), 2);
    assert_eq!(k.sessions(), 2);
    assert_eq!(k.rsa_keys(), 0);
    let dbg = format!("{k:?}");
    assert!(!dbg.contains("171") && !dbg.contains("ab, ab"), "{dbg}");
    assert!(!k.is_empty());

    let err = |t: String| KeyLog::new().add_nss(t.as_bytes(), "f.log").unwrap_err();
    let e = err(format!("# x\nCLIENT_RANDOM {r} {}\n", "ab".repeat(32)));
    assert_eq!(
        e,
        KeyLogError::BadLength {
            source: "f.log".into(),
            line: 2,
            label: "CLIENT_RANDOM",
            len: 32
        }
    );
    assert!(e.to_string().starts_with("f.log:2: CLIENT_RANDOM"));
    let e = err(format!(
        "\n\nCLIENT_TRAFFIC_SECRET_0 {r} {}x\n",
        "ab".repeat(31)
    ));
    assert!(matches!(e, KeyLogError::BadHex { line: 3, .. }), "{e:?}");
    let e = err(format!("CLIENT_TRAFFIC_SECRET_0 {r} {}\n", "ab".repeat(40)));
    assert!(matches!(e, KeyLogError::BadLength { len: 40, .. }), "{e:?}");
    let e = err(format!("CLIENT_RANDOM abcd {s48}\n"));
    assert!(
        matches!(
            e,
            KeyLogError::BadLength {
                len: 2,
                line: 1,
                ..
            }
        ),
        "{e:?}"
    );
    let e = err(format!("CLIENT_RANDOM {r}\n"));
    assert!(matches!(e, KeyLogError::BadLength { len: 2, .. }), "{e:?}");
}

#[test]
fn rsa_keys() {
    let mut k = KeyLog::new();
    k.add_rsa_pem(SERVER_KEY, "server.key").unwrap();
    k.add_rsa_pem(SERVER_KEY_PKCS1, "server-pkcs1.key").unwrap();
    assert_eq!(k.rsa_keys(), 2);
    assert_eq!(k.sessions(), 0);
    // Debug output shows no secret.
    let dbg = format!("{k:?}");
    assert!(
        dbg.contains("RsaKey(2048 bits)") && dbg.len() < 200,
        "{dbg}"
    );
    assert!(!k.is_empty());
    let e = k.add_rsa_pem(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "bad.pem",
    );
    assert!(
        matches!(&e, Err(KeyLogError::RsaKey { source, .. }) if source == "bad.pem"),
        "{e:?}"
    );
    assert!(e
        .unwrap_err()
        .to_string()
        .starts_with("bad.pem: not an RSA private key"));
}

#[test]
fn suite_names() {
    assert_eq!(suite_name(0x1301), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(
        suite_name(0xc02f),
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
    assert_eq!(suite_name(0x003d), Some("TLS_RSA_WITH_AES_256_CBC_SHA256"));
    assert_eq!(suite_name(0x1304), None); // AES-CCM
    assert_eq!(suite_name(0x000a), None); // 3DES
}

// ---- Arbitrary bytes ------------------------------------------------------------------------

fn arb_record() -> impl Strategy<Value = (bool, Vec<u8>)> {
    (
        any::<bool>(),
        prop::sample::select(vec![20u8, 21, 22, 23, 24, 0, 255]),
        prop::collection::vec(any::<u8>(), 0..300),
        any::<bool>(),
    )
        .prop_map(|(client, ct, body, good_len)| {
            let mut r = vec![ct, 3, 3];
            let len = if good_len {
                body.len() as u16
            } else {
                body.len() as u16 ^ 5
            };
            r.extend_from_slice(&len.to_be_bytes());
            r.extend_from_slice(&body);
            (client, r)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary records, after a real handshake prefix or not, never panic; nothing comes
    /// out but what decrypted as application data.
    #[test]
    fn arbitrary_records_never_panic(
        prefix in 0usize..4,
        recs in prop::collection::vec(arb_record(), 0..24),
        cut in any::<prop::sample::Index>(),
    ) {
        let keys = keylog(RFC8448_KEYLOG);
        let real = segments(RFC8448);
        let mut s = Session::new();
        let mut out = Vec::new();
        for (client, rec) in real.iter().take(prefix).chain(recs.iter()) {
            let dir = if *client { Dir::A } else { Dir::B };
            let before = out.len();
            let r = s.record(&keys, dir, rec, &mut out);
            if r != DEC_APP {
                prop_assert_eq!(out.len(), before);
            }
            // Truncated records too.
            let n = cut.index(rec.len() + 1);
            let _ = s.record(&keys, dir, &rec[..n], &mut out);
        }
        let _ = s.info();
    }

    /// Real records with one byte changed never panic and never give output under a
    /// corrupted record (AEAD and MAC checks).
    #[test]
    fn flipped_byte_in_real_records(which in 0usize..9, at in any::<prop::sample::Index>(), x in 1u8..=255) {
        let keys = keylog(RFC8448_KEYLOG);
        let mut recs = segments(RFC8448);
        let rec = &mut recs[which].1;
        let i = at.index(rec.len());
        rec[i] ^= x;
        let mut s = Session::new();
        let mut out = Vec::new();
        for (client, rec) in &recs {
            let _ = s.record(&keys, if *client { Dir::A } else { Dir::B }, rec, &mut out);
        }
        // A changed content type of a protected TLS 1.3 record reads as a cleartext
        // record; any other change fails authentication (or the length check).
        if which >= 2 && i > 0 {
            prop_assert!(s.info().records_failed >= 1);
        }
        // A corrupt application record gives nothing (both directions' 50 bytes otherwise).
        if (5..=6).contains(&which) && i > 0 {
            prop_assert_eq!(out.len(), 50);
        }
    }
}

#[test]
fn openssl_tls13_key_update() {
    // The client sends REQ, a KeyUpdate asking for the server's (RFC 8446 §4.6.3), REQ again
    // under its next keys; the server updates and answers under its own next keys.
    let recs = records(&segments(include_str!("testdata/tls13-keyupdate.txt")));
    let keys = keylog(include_str!("testdata/tls13-keyupdate.keylog"));
    let mut s = Session::new();
    let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
    for (client, rec) in &recs {
        let (dir, out) = if *client {
            (Dir::B, &mut from_client)
        } else {
            (Dir::A, &mut from_server)
        };
        let r = s.record(&keys, dir, rec, out);
        assert!(matches!(r, CLEAR | RecordResult::Decrypted { .. }), "{r:?}");
    }
    assert_eq!(from_client, [REQ, REQ].concat());
    assert_eq!(from_server, RESP);
    assert_eq!(s.key_updates(), 2);
    assert_eq!(s.info().records_failed, 0);
    assert_eq!(s.info().client_dir, Some(Dir::B));
}

#[test]
fn shareable_across_threads() {
    // The reassembler may keep sessions in a table that moves between threads; the key log is
    // shared read-only.
    fn send<T: Send>() {}
    fn sync<T: Send + Sync>() {}
    send::<Session>();
    sync::<KeyLog>();
}

#[test]
fn openssl_tls12_renegotiation() {
    // REQ, a client-initiated renegotiation (a full handshake under the first keys, RFC 5746;
    // the key log has both master secrets), REQ again under the new keys.
    let recs = records(&segments(include_str!("testdata/tls12-renegotiation.txt")));
    let text = include_str!("testdata/tls12-renegotiation.keylog");
    let r = run(&keylog(text), &recs);
    assert_eq!(r.from_client, [REQ, REQ].concat());
    assert_eq!(r.from_server, RESP);
    assert_eq!(r.info.records_failed, 0);
    assert_eq!(r.info.version, Some(0x0303));
    assert_eq!(r.info.cipher_suite, Some(0xc02f));
    // Without the second master secret, what follows the renegotiation is NoKeys.
    let first_only: String = text.lines().take(1).map(|l| format!("{l}\n")).collect();
    let r = run(&keylog(&first_only), &recs);
    assert_eq!(r.from_client, REQ);
    assert!(r.from_server.is_empty());
    assert_eq!(r.info.records_failed, 0);
    assert!(r.results.iter().any(|x| x.1 == RecordResult::NoKeys));
}

#[test]
fn openssl_tls12_record_sequence() {
    // ECDHE-RSA-AES128-GCM-SHA256: the whole sequence, record by record.
    let recs = records(&segments(include_str!(
        "testdata/tls12-ecdhe-aes128gcm.txt"
    )));
    let r = run(
        &keylog(include_str!("testdata/tls12-ecdhe-aes128gcm.keylog")),
        &recs,
    );
    let (c, s) = (true, false);
    assert_eq!(
        r.results,
        [
            (c, CLEAR),     // ClientHello
            (s, CLEAR),     // ServerHello
            (s, CLEAR),     // Certificate
            (s, CLEAR),     // ServerKeyExchange
            (s, CLEAR),     // ServerHelloDone
            (c, CLEAR),     // ClientKeyExchange
            (c, CLEAR),     // ChangeCipherSpec
            (c, DEC_HS),    // Finished, sequence number 0
            (s, CLEAR),     // NewSessionTicket
            (s, CLEAR),     // ChangeCipherSpec
            (s, DEC_HS),    // Finished
            (c, DEC_APP),   // OPTIONS
            (s, DEC_APP),   // 200 OK
            (s, DEC_ALERT), // close_notify
            (c, DEC_ALERT),
        ]
    );
}
