//! Fuzz SRTP/SRTCP decryption (`siplens::media::srtp`): arbitrary packets, in sequence,
//! through one context per input (so the rollover counter state carries over), under a
//! fixed key for each suite, with or without an MKI; and the SDES key parser on
//! arbitrary text. Nothing may panic, and a packet that does not authenticate leaves the
//! output empty.
//!
//! Input: a selector byte (suite, MKI length, or SDES text mode), then packets
//! separated by 0xfe. Seeding with the RTP of `samples/sdes-call-udp.pcap` under its
//! key (selector 0) gives inputs that authenticate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::media::srtp::{MasterKey, SrtpContext, Suite};

/// The caller's key of `samples/sdes-call-udp.pcap` (scripts/make-samples.sh ALICE_SDES).
const SAMPLE_KEY: &str = "911Pl6d0weBq97MVtIwRqvpDXpgdX1FyZiflObLS";

const SUITES: [&str; 6] = [
    "AES_CM_128_HMAC_SHA1_80",
    "AES_CM_128_HMAC_SHA1_32",
    "AES_256_CM_HMAC_SHA1_80",
    "AES_256_CM_HMAC_SHA1_32",
    "AEAD_AES_128_GCM",
    "AEAD_AES_256_GCM",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel == 0xff {
        // SDES key text: any suite name, key and MKI length.
        if let Ok(text) = std::str::from_utf8(rest) {
            let (suite, key) = text.split_once(' ').unwrap_or((text, ""));
            let _ = MasterKey::from_sdes(suite, key, rest.len() as u8);
        }
        return;
    }
    let suite = usize::from(sel % 6);
    let mki = (sel / 6) % 5;
    let key = if suite == 0 {
        MasterKey::from_sdes(SUITES[0], SAMPLE_KEY, mki)
    } else {
        Suite::from_sdes(SUITES[suite]).and_then(|s| {
            let key: Vec<u8> = (1..=s.key_len() as u8).collect();
            let salt: Vec<u8> = (0x80..0x80 + s.salt_len() as u8).collect();
            MasterKey::new(s, &key, &salt, mki)
        })
    };
    let Some(key) = key else {
        panic!("fixed key for {} refused", SUITES[suite]);
    };
    let mut ctx = SrtpContext::new(&key).expect("fixed key derives");
    let mut out = Vec::new();
    for p in rest.split(|b| *b == 0xfe) {
        if ctx.unprotect_rtp(p, &mut out).is_err() {
            assert!(out.is_empty());
        }
        if ctx.unprotect_rtcp(p, &mut out).is_err() {
            assert!(out.is_empty());
        }
    }
});
