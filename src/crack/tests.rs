//! Known-answer vectors (RFC 2617 §3.5, RFC 7616 §3.9.1) and vectors computed
//! independently with Python's hashlib for the -sess, auth-int and SHA-512-256 forms.

use std::sync::atomic::{AtomicU64, Ordering};

use super::export::{line, Format};
use super::*;
use crate::sip::AuthValue;

/// `f`: user, realm, method, uri, nonce, cnonce, response.
fn target(alg: Algorithm, f: [&str; 7], qop: Qop) -> DigestTarget {
    let [user, realm, method, uri, nonce, cnonce, response] = f;
    DigestTarget {
        user: user.into(),
        realm: realm.into(),
        method: method.into(),
        uri: uri.into(),
        nonce: nonce.into(),
        cnonce: cnonce.into(),
        nc: if qop == Qop::None {
            String::new()
        } else {
            "00000001".into()
        },
        qop,
        algorithm: alg,
        response: response.into(),
        body_hash: String::new(),
    }
}

#[test]
fn rfc2617_section_3_5() {
    let t = target(
        Algorithm::Md5,
        [
            "Mufasa",
            "testrealm@host.com",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "0a4f113b",
            "6629fae49393a05397450978507c4ef1",
        ],
        Qop::Auth,
    );
    assert_eq!(response_for(&t, b"Circle Of Life"), t.response);
    assert_ne!(response_for(&t, b"Circle of Life"), t.response);
}

#[test]
fn rfc7616_section_3_9_1() {
    let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    for (alg, want) in [
        (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
        (
            Algorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
        // Not in the RFC: hashlib.new("sha512_256").
        (
            Algorithm::Sha512_256,
            "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0",
        ),
    ] {
        let t = target(
            alg,
            [
                "Mufasa",
                "http-auth@example.org",
                "GET",
                "/dir/index.html",
                nonce,
                cnonce,
                want,
            ],
            Qop::Auth,
        );
        assert_eq!(response_for(&t, b"Circle of Life"), want, "{}", t.algorithm);
        assert_eq!(Cracker::new(&[t]).check(b"Circle of Life"), [0]);
    }
}

/// Every algorithm x qop combination for one SIP REGISTER, password "secret"; the body is
/// the auth-int entity (python3 hashlib, see the module doc).
const BODY: &[u8] = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";
const VECTORS: [(&str, &str, &str); 18] = [
    ("MD5", "", "0fa5024dd9f77f57ca131d66b45b6653"),
    ("MD5", "auth", "793359bbf5c2e96173d4465cbd1400cd"),
    ("MD5", "auth-int", "a26f0e75e925ae5370d21d58cc71dfd0"),
    ("MD5-sess", "", "0c18ecaaab29b590543f106c0ff71628"),
    ("MD5-sess", "auth", "a28d33e779de04a1b941846ac6c7bd1a"),
    ("MD5-sess", "auth-int", "68d7db293324ad0254b8f90074d8ddb4"),
    (
        "SHA-256",
        "",
        "851a912ac3145eee3a676530a2d8a54c79547f044195c6ded2740b2b41ecd3ba",
    ),
    (
        "SHA-256",
        "auth",
        "f9d385927eab0ab08553f53bd8941ad8d1237c434b9230ba5f644816fc602c16",
    ),
    (
        "SHA-256",
        "auth-int",
        "c9f5c09501b5e9fd0e204076d7187a01ae54772142a71dc84e8eff167cf44b7b",
    ),
    (
        "SHA-256-sess",
        "",
        "bb018d3c45f51adca17a334c8d871f81ca4c7382426738fde85e40cb50462f23",
    ),
    (
        "SHA-256-sess",
        "auth",
        "4d204ad5e75a878d70882145b0db2bc48b36d094bb2bdb80c162a81f7ffea296",
    ),
    (
        "SHA-256-sess",
        "auth-int",
        "a26d174f0732531d736924ec2db01c02be94dc8a1f146add28c26df69144dfdc",
    ),
    (
        "SHA-512-256",
        "",
        "aa6aa5efe59cdebae843a4926c1c2b7e3cf7fe745d61f82e3299addeb11d19cf",
    ),
    (
        "SHA-512-256",
        "auth",
        "1dff389e46618dac299e76f2c403f97834f915b6febf585094d7c30a986a8837",
    ),
    (
        "SHA-512-256",
        "auth-int",
        "fe01b8c7f8b2e8ce46ee41f7044b4c91bdb02184718a15912eb0122cc765273d",
    ),
    (
        "SHA-512-256-sess",
        "",
        "2ce4110c99d50bfc14423d1c914ce170d9e033b2a29e1d5087cb70cd8629f447",
    ),
    (
        "SHA-512-256-sess",
        "auth",
        "efb65e9d90b753bbc1880aa845c98355d0d3fd08a2d7954c6410a39bd7df4972",
    ),
    (
        "SHA-512-256-sess",
        "auth-int",
        "030620a4b9ff575c01d67a9454f00e56658bdd467087386e8ff508a93871f4ce",
    ),
];

/// A recorded attempt as the engine builds it, body included.
fn attempt(alg: &str, qop: &str, response: &str) -> AuthAttempt {
    let qop_params = if qop.is_empty() {
        String::new()
    } else {
        format!(", qop={qop}, nc=00000001")
    };
    let h = format!(
        r#"Digest username="alice", realm="siplens.test", nonce="4f2d9c1e8b7a6053a1c2d3e4f5061728", uri="sip:127.0.0.1:5060", response="{response}", algorithm={alg}, cnonce="6b8b4567"{qop_params}"#
    );
    let v = AuthValue::parse_all(h.as_bytes());
    let mut a = AuthAttempt::from_credentials(&v[0], false);
    a.method = "REGISTER".into();
    a.frame = 7;
    a.set_body(BODY);
    a
}

#[test]
fn every_algorithm_and_qop_matches_python_and_cracks() {
    for (alg, qop, want) in VECTORS {
        let a = attempt(alg, qop, want);
        let t = DigestTarget::from_attempt(&a).expect(alg);
        assert_eq!(t.algorithm.as_str(), alg);
        assert_eq!(response_for(&t, b"secret"), want, "{alg} qop={qop}");
        // A planted password among decoys, over several threads.
        let mut words = String::new();
        for i in 0..5000 {
            words.push_str(&format!("pw{i}\r\n"));
        }
        words.push_str("secret\n");
        for i in 0..5000 {
            words.push_str(&format!("x{i}\n"));
        }
        let progress = AtomicU64::new(0);
        let out = Cracker::new(std::slice::from_ref(&t)).run(words.as_bytes(), 3, &progress);
        assert_eq!(
            out.hits,
            [Hit {
                target: 0,
                password: b"secret".to_vec()
            }],
            "{alg} qop={qop}"
        );
        assert!(out.tested >= 5001 && out.tested <= 10001, "{}", out.tested);
        assert_eq!(progress.load(Ordering::Relaxed), out.tested);
    }
}

#[test]
fn auth_int_body_hash_uses_the_algorithm() {
    let a = attempt("SHA-256", "auth-int", VECTORS[8].2);
    assert_eq!(
        a.body_hash.as_deref(),
        Some("95df22c27672cd673e9695e8167e8d280b8429f22dc9632587066b3730b87877")
    );
    assert_eq!(
        attempt("MD5", "auth-int", "x").body_hash.as_deref(),
        Some("34caea8a346966555843e471dc73b81a")
    );
    assert_eq!(attempt("MD5", "auth", "x").body_hash, None);
}

#[test]
fn many_targets_one_pass_and_accounts_shared() {
    let mut targets: Vec<DigestTarget> = VECTORS
        .iter()
        .map(|(alg, qop, want)| DigestTarget::from_attempt(&attempt(alg, qop, want)).expect(alg))
        .collect();
    // Another account with another password; and one that the wordlist lacks.
    let mut bob = targets[1].clone();
    bob.user = "bob".into();
    bob.response = response_for(&bob, b"hunter2");
    targets.push(bob);
    let mut carol = targets[1].clone();
    carol.user = "carol".into();
    carol.response = response_for(&carol, b"not in the list");
    targets.push(carol);
    let c = Cracker::new(&targets);
    // alice x 3 hash functions, bob, carol.
    assert_eq!(c.accounts(), 5);
    let out = c.run(
        b"123456\nhunter2\nsecret\npassword\n",
        2,
        &AtomicU64::new(0),
    );
    let found: Vec<(usize, &[u8])> = out
        .hits
        .iter()
        .map(|h| (h.target, h.password.as_slice()))
        .collect();
    let mut want: Vec<(usize, &[u8])> = (0..18).map(|i| (i, &b"secret"[..])).collect();
    want.push((18, b"hunter2"));
    assert_eq!(found, want);
    assert_eq!(out.tested, 4);
    assert!(c.check(b"wrong").is_empty());
}

#[test]
fn unattackable_attempts_say_why() {
    let mut a = attempt("MD5", "auth", VECTORS[1].2);
    a.userhash = true;
    assert_eq!(DigestTarget::from_attempt(&a), Err(Skip::UserHash));
    let a = attempt("SHA-1", "auth", VECTORS[1].2);
    assert_eq!(
        DigestTarget::from_attempt(&a),
        Err(Skip::UnknownAlgorithm("SHA-1".into()))
    );
    let a = attempt("SHA-256", "auth", VECTORS[1].2);
    assert_eq!(DigestTarget::from_attempt(&a), Err(Skip::BadResponse(64)));
    let mut a = attempt("MD5", "auth", VECTORS[1].2);
    a.cnonce = None;
    assert_eq!(DigestTarget::from_attempt(&a), Err(Skip::Missing("cnonce")));
    let mut a = attempt("MD5", "auth", VECTORS[1].2);
    a.qop = Some("auth-conf".into());
    assert_eq!(
        DigestTarget::from_attempt(&a),
        Err(Skip::UnknownQop("auth-conf".into()))
    );
}

#[test]
fn hashcat_and_john_lines() {
    let t = DigestTarget::from_attempt(&attempt("MD5", "auth", VECTORS[1].2)).expect("md5");
    let want = "$sip$*127.0.0.1*127.0.0.2*alice*siplens.test*REGISTER*sip*127.0.0.1*5060*4f2d9c1e8b7a6053a1c2d3e4f5061728*6b8b4567*00000001*auth*MD5*793359bbf5c2e96173d4465cbd1400cd";
    assert_eq!(
        line(&t, "127.0.0.1", "127.0.0.2", Format::Hashcat).as_deref(),
        Ok(want)
    );
    assert_eq!(
        line(&t, "127.0.0.1", "127.0.0.2", Format::John),
        Ok(format!("alice:{want}"))
    );
    // No qop: empty cnonce, nc and qop fields, as sipdump writes them.
    let t = DigestTarget::from_attempt(&attempt("MD5", "", VECTORS[0].2)).expect("md5");
    let l = line(&t, "s", "c", Format::Hashcat).expect("line");
    assert!(
        l.ends_with("*4f2d9c1e8b7a6053a1c2d3e4f5061728****MD5*0fa5024dd9f77f57ca131d66b45b6653"),
        "{l}"
    );
    for (alg, qop, want) in VECTORS {
        let t = DigestTarget::from_attempt(&attempt(alg, qop, want)).expect(alg);
        let r = line(&t, "s", "c", Format::Hashcat);
        assert_eq!(
            r.is_ok(),
            alg == "MD5" && qop != "auth-int",
            "{alg} {qop}: {r:?}"
        );
    }
    let mut t = DigestTarget::from_attempt(&attempt("MD5", "auth", VECTORS[1].2)).expect("md5");
    t.realm = "a*b".into();
    assert_eq!(
        line(&t, "s", "c", Format::John),
        Err(export::ExportSkip::Separator("realm"))
    );
}

#[test]
fn weak_password_finding_hides_the_secret() {
    let a = attempt("MD5", "auth", VECTORS[1].2);
    let (targets, skipped) = targets_of([("call-1", &a), ("call-1", &a)].into_iter());
    assert!(skipped.is_empty());
    assert_eq!(targets.len(), 1, "identical responses merge");
    let hits = [Hit {
        target: 0,
        password: b"secret".to_vec(),
    }];
    let f = weak_password_findings(&targets, &hits, false);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, crate::rules::auth::WEAK_PASSWORD);
    assert_eq!(f[0].severity, crate::engine::Severity::Critical);
    assert_eq!(f[0].evidence, vec![7]);
    assert!(
        f[0].summary.contains("user 'alice' realm 'siplens.test'"),
        "{}",
        f[0].summary
    );
    assert!(f[0].summary.contains("MD5"), "{}", f[0].summary);
    assert!(!f[0].summary.contains("secret'"), "{}", f[0].summary);
    let f = weak_password_findings(&targets, &hits, true);
    assert!(
        f[0].summary.contains("password 'secret'"),
        "{}",
        f[0].summary
    );
}

#[test]
fn algorithm_names() {
    assert_eq!(Algorithm::parse(None), Algorithm::Md5);
    assert_eq!(
        Algorithm::parse(Some("sha-256-SESS")),
        Algorithm::Sha256Sess
    );
    assert_eq!(Algorithm::parse(Some("x")), Algorithm::Other("x".into()));
    assert_eq!(Algorithm::Other("x".into()).hash_hex(&[b"a"]), None);
}

#[test]
fn md5_lanes_take_every_candidate_length() {
    // One-block, two-block and over-two-block (scalar path) passwords, at every position
    // of a batch, with a long prefix that spills past the first block.
    for user in ["alice", &"u".repeat(70)] {
        for pw_len in [0usize, 1, 30, 44, 45, 60, 100, 119, 150] {
            let pw: Vec<u8> = (0..pw_len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut t =
                DigestTarget::from_attempt(&attempt("MD5", "auth", VECTORS[1].2)).expect("md5");
            t.user = user.to_string();
            t.response = response_for(&t, &pw);
            let mut sess = t.clone();
            sess.algorithm = Algorithm::Md5Sess;
            sess.response = response_for(&sess, &pw);
            for pos in [0usize, 3, 7, 8, 12] {
                let mut list = Vec::new();
                for i in 0..pos {
                    list.extend_from_slice(format!("decoy{i}\n").as_bytes());
                }
                list.extend_from_slice(&pw);
                list.extend_from_slice(b"\nlast\n");
                let out =
                    Cracker::new(&[t.clone(), sess.clone()]).run(&list, 1, &AtomicU64::new(0));
                let got: Vec<(usize, Vec<u8>)> = out
                    .hits
                    .into_iter()
                    .map(|h| (h.target, h.password))
                    .collect();
                assert_eq!(
                    got,
                    [(0, pw.clone()), (1, pw.clone())],
                    "user {} pw {pw_len} pos {pos}",
                    user.len()
                );
            }
        }
    }
}
