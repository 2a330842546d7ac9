//! Known answers (RFC 3711 Appendix B, RFC 7714 §16-17, libsrtp's driver packet), the
//! rollover counter, wrong keys, and arbitrary input.

use super::*;
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 3711 B.2: session key and salt, SSRC 0, index 0: the IV and the first three
/// keystream blocks.
#[test]
fn rfc3711_b2_aes_cm_keystream() {
    let key = unhex("2B7E151628AED2A6ABF7158809CF4F3C");
    let mut salt = [0u8; 14];
    salt.copy_from_slice(&unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"));
    let iv = cm_iv(&salt, 0, 0);
    assert_eq!(iv.to_vec(), unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
    let cipher = CmCipher::A128(Box::new(Aes128::new_from_slice(&key).unwrap()));
    let mut ks = [0u8; 48];
    cipher.apply(&iv, &mut ks);
    assert_eq!(
        ks.to_vec(),
        unhex(
            "E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB \
             41E95B3BB0A2E8DD477901E4FCA894C0"
        )
    );
}

const B3_KEY: &str = "E1F97A0D3E018BE0D64FA32C06DE4139";
const B3_SALT: &str = "0EC675AD498AFEEBB6960B3AABE6";

fn b3_master() -> MasterKey {
    MasterKey::new(
        Suite::AesCm128HmacSha1_80,
        &unhex(B3_KEY),
        &unhex(B3_SALT),
        0,
    )
    .unwrap()
}

/// RFC 3711 B.3: the session encryption key, salt and (first 128 bits of the)
/// authentication key derived from a master key and salt.
#[test]
fn rfc3711_b3_key_derivation() {
    let m = b3_master();
    let mut enc = [0u8; 16];
    derive(&m, 0, &mut enc).unwrap();
    assert_eq!(enc.to_vec(), unhex("C61E7A93744F39EE10734AFE3FF7A087"));
    let mut salt = [0u8; 14];
    derive(&m, 2, &mut salt).unwrap();
    assert_eq!(salt.to_vec(), unhex("30CBBC08863D8C85D49DB34A9AE1"));
    let mut auth = [0u8; 20];
    derive(&m, 1, &mut auth).unwrap();
    assert_eq!(
        auth[..16].to_vec(),
        unhex("CEBE321F6FF7716B6FD4AB49AF256A15")
    );
}

/// libsrtp's test/srtp_driver.c packet under the B.3 master key: key derivation, AES-CM
/// and the HMAC-SHA1 80-bit tag together.
#[test]
fn libsrtp_driver_packet_aes_cm_128_hmac_sha1_80() {
    let plain = unhex("800f1234decafbadcafebabeabababababababababababababababab");
    let protected =
        unhex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
    let mut ctx = SrtpContext::new(&b3_master()).unwrap();
    let mut out = Vec::new();
    let u = ctx.unprotect_rtp(&protected, &mut out).unwrap();
    assert_eq!(out, plain);
    assert_eq!(
        u,
        Unprotected {
            index: 0x1234,
            payload_start: 12
        }
    );
    // One bit off anywhere: nothing comes out.
    for i in [0, 5, 12, 20, protected.len() - 1] {
        let mut bad = protected.clone();
        bad[i] ^= 0x01;
        let mut ctx = SrtpContext::new(&b3_master()).unwrap();
        assert_eq!(
            ctx.unprotect_rtp(&bad, &mut out),
            Err(SrtpError::AuthFailed)
        );
        assert!(out.is_empty());
    }
}

const GCM_KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const GCM_KEY_256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// "Quid pro quo".
const GCM_SALT: &str = "517569642070726f2071756f";

fn gcm(suite: Suite, key: &str) -> SrtpContext {
    SrtpContext::from_session_keys(suite, &unhex(key), &[], &unhex(GCM_SALT))
}

/// RFC 7714 §16.1: AEAD_AES_128_GCM SRTP, "Gallia est omnis divisa in partes tres".
#[test]
fn rfc7714_16_1_aes_128_gcm_rtp() {
    assert_eq!(
        gcm_iv(
            &unhex(GCM_SALT).try_into().unwrap(),
            0x5501_a0b2,
            [0, 0, 0, 0, 0xf1, 0x7b]
        )
        .to_vec(),
        unhex("51753c6580c2726f20718414")
    );
    let plain = unhex(
        "8040f17b8041f8d35501a0b2 47616c6c696120657374206f6d6e69732064697669736120 \
         696e207061727465732074726573",
    );
    let protected = unhex(
        "8040f17b8041f8d35501a0b2 f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f \
         42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce",
    );
    let mut ctx = gcm(Suite::AeadAes128Gcm, GCM_KEY_128);
    let mut out = Vec::new();
    let u = ctx.unprotect_rtp(&protected, &mut out).unwrap();
    assert_eq!(out, plain);
    assert_eq!(u.index, 0xf17b);
    let mut bad = protected.clone();
    bad[20] ^= 1;
    let mut ctx = gcm(Suite::AeadAes128Gcm, GCM_KEY_128);
    assert_eq!(
        ctx.unprotect_rtp(&bad, &mut out),
        Err(SrtpError::AuthFailed)
    );
    assert!(out.is_empty());
}

const RTCP_PLAIN: &str = "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61 \
                          deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

/// RFC 7714 §16.2 (AEAD_AES_128_GCM) and §17.2 (AEAD_AES_256_GCM) SRTCP, index 0x5d4.
#[test]
fn rfc7714_17_aes_gcm_rtcp() {
    let cases = [
        (
            Suite::AeadAes128Gcm,
            GCM_KEY_128,
            "81c8000d4d617273 63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda \
             4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade 800005d4",
        ),
        (
            Suite::AeadAes256Gcm,
            GCM_KEY_256,
            "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be \
             8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4",
        ),
    ];
    for (suite, key, protected) in cases {
        let ctx = gcm(suite, key);
        let protected = unhex(protected);
        let mut out = Vec::new();
        let u = ctx.unprotect_rtcp(&protected, &mut out).unwrap();
        assert_eq!(out, unhex(RTCP_PLAIN), "{suite:?}");
        assert_eq!(u.index, 0x5d4);
        let mut bad = protected.clone();
        bad[10] ^= 0x80;
        assert_eq!(
            ctx.unprotect_rtcp(&bad, &mut out),
            Err(SrtpError::AuthFailed)
        );
    }
}

fn protect_rtp(ctx: &SrtpContext, plain: &[u8], roc: u32, mki: &[u8]) -> Vec<u8> {
    ctx.protect_rtp_for_tests(plain, roc, mki)
}

fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 8];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 160, 0x51, 0x51, 0xab, 0x1e]);
    p.extend_from_slice(payload);
    p
}

const ALL: [Suite; 6] = [
    Suite::AesCm128HmacSha1_80,
    Suite::AesCm128HmacSha1_32,
    Suite::AesCm256HmacSha1_80,
    Suite::AesCm256HmacSha1_32,
    Suite::AeadAes128Gcm,
    Suite::AeadAes256Gcm,
];

fn master(suite: Suite, mki_len: u8) -> MasterKey {
    let key: Vec<u8> = (1..=suite.key_len() as u8).collect();
    let salt: Vec<u8> = (0xa0..0xa0 + suite.salt_len() as u8).collect();
    MasterKey::new(suite, &key, &salt, mki_len).unwrap()
}

/// Every suite, with and without an MKI, across a sequence number wrap: the receiver
/// follows the rollover counter (RFC 3711 §3.3.1) and a late packet from before the
/// wrap still decrypts with the old one.
#[test]
fn every_suite_follows_the_rollover_counter() {
    for suite in ALL {
        for mki in [&[][..], &[0, 0, 0, 1][..]] {
            let m = master(suite, mki.len() as u8);
            let tx = SrtpContext::new(&m).unwrap();
            let mut rx = SrtpContext::new(&m).unwrap();
            let mut out = Vec::new();
            let plan: [(u16, u32); 6] = [
                (65_533, 0),
                (65_535, 0),
                (0, 1),
                (1, 1),
                (65_534, 0),
                (2, 1),
            ];
            for (seq, roc) in plan {
                let payload = [seq as u8; 33];
                let plain = rtp(seq, &payload);
                let p = protect_rtp(&tx, &plain, roc, mki);
                let u = rx
                    .unprotect_rtp(&p, &mut out)
                    .unwrap_or_else(|e| panic!("{suite:?} mki {mki:?} seq {seq}: {e}"));
                assert_eq!(out, plain);
                assert_eq!(u.index, (u64::from(roc) << 16) | u64::from(seq));
                assert_eq!(&out[u.payload_start..], &payload);
            }
        }
    }
}

/// SRTCP with the HMAC suites: RFC 3711 §3.4 layout, encrypted (E=1) and not (E=0).
#[test]
fn srtcp_hmac_round_trip() {
    for suite in [Suite::AesCm128HmacSha1_32, Suite::AesCm256HmacSha1_80] {
        let m = master(suite, 0);
        let ctx = SrtpContext::new(&m).unwrap();
        let Transform::Cm { cipher, auth, salt } = &ctx.rtcp else {
            unreachable!()
        };
        let plain = unhex(RTCP_PLAIN);
        for encrypt in [true, false] {
            let mut p = plain.clone();
            let index: u32 = 0x1234;
            if encrypt {
                cipher.apply(&cm_iv(salt, 0x4d61_7273, u64::from(index)), &mut p[8..]);
            }
            p.extend_from_slice(&(index | if encrypt { 0x8000_0000 } else { 0 }).to_be_bytes());
            let mut mac = HmacSha1::clone(auth);
            mac.update(&p);
            p.extend_from_slice(&mac.finalize().into_bytes()[..10]);
            let mut out = Vec::new();
            let u = ctx.unprotect_rtcp(&p, &mut out).unwrap();
            assert_eq!((out.as_slice(), u.index), (plain.as_slice(), 0x1234));
        }
    }
}

/// The SDES key of the bundled sample (`scripts/make-samples.sh`, ALICE_SDES), and a
/// key with one byte flipped: it derives fine but authenticates nothing.
#[test]
fn sdes_keys_parse_and_a_wrong_key_authenticates_nothing() {
    let good = MasterKey::from_sdes(
        "AES_CM_128_HMAC_SHA1_80",
        "911Pl6d0weBq97MVtIwRqvpDXpgdX1FyZiflObLS",
        0,
    )
    .unwrap();
    assert_eq!(good.suite, Suite::AesCm128HmacSha1_80);
    assert!(!format!("{good:?}").contains("911P"));
    // Wrong lengths and unknown suites.
    assert!(MasterKey::from_sdes("AES_CM_128_HMAC_SHA1_80", "AAAA", 0).is_none());
    assert!(MasterKey::from_sdes(
        "F8_128_HMAC_SHA1_80",
        "911Pl6d0weBq97MVtIwRqvpDXpgdX1FyZiflObLS",
        0
    )
    .is_none());
    assert!(MasterKey::from_sdes("AES_CM_128_HMAC_SHA1_80", "not base64!", 0).is_none());
    // 46-byte AES-256 key||salt, with and without padding.
    let k256 = base64::engine::general_purpose::STANDARD.encode([7u8; 46]);
    assert!(MasterKey::from_sdes("AES_256_CM_HMAC_SHA1_80", &k256, 0).is_some());
    assert!(
        MasterKey::from_sdes("AES_256_CM_HMAC_SHA1_80", k256.trim_end_matches('='), 0).is_some()
    );
    // "911P" -> "911Q": the first key byte changes.
    let wrong = MasterKey::from_sdes(
        "AES_CM_128_HMAC_SHA1_80",
        "911Ql6d0weBq97MVtIwRqvpDXpgdX1FyZiflObLS",
        0,
    )
    .unwrap();
    let tx = SrtpContext::new(&good).unwrap();
    let mut rx = SrtpContext::new(&wrong).unwrap();
    let mut out = Vec::new();
    for seq in 0..50u16 {
        let p = protect_rtp(&tx, &rtp(seq, &[0xd5; 160]), 0, &[]);
        assert_eq!(rx.unprotect_rtp(&p, &mut out), Err(SrtpError::AuthFailed));
        assert!(out.is_empty());
    }
    assert_eq!(rx.roc_sl, None);
}

proptest! {
    /// Arbitrary bytes never panic, whatever the suite and MKI length, and what does not
    /// authenticate leaves the output empty.
    #[test]
    fn arbitrary_packets_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        suite in 0usize..6,
        mki in 0u8..5,
    ) {
        let m = master(ALL[suite], mki);
        let mut ctx = SrtpContext::new(&m).unwrap();
        let mut out = Vec::new();
        if ctx.unprotect_rtp(&data, &mut out).is_err() {
            prop_assert!(out.is_empty());
        }
        if ctx.unprotect_rtcp(&data, &mut out).is_err() {
            prop_assert!(out.is_empty());
        }
    }
}
