//! Fuzz TLS record decryption (`siplens::net::tls_decrypt`): a session is fed arbitrary
//! records in both directions, after a real handshake prefix or none, with a key log and an
//! RSA key that fit the prefixes (RFC 8448's TLS 1.3 trace; an OpenSSL TLS 1.2 RSA key
//! exchange with AES-CBC MAC-then-encrypt), so the handshake parser, the key derivations and
//! every decryption path (AEAD, CBC padding and MAC) see hostile bytes.
//!
//! Input: a selector byte (prefix: none, TLS 1.3, or the TLS 1.2 records up to some point),
//! then records separated by 0xfe; each record's first byte picks the direction and whether
//! the header length is fixed up to match the body (so the body is processed rather than
//! refused as malformed).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use siplens::net::tls_decrypt::{Dir, KeyLog, RecordResult, Session, MAX_RECORD_BODY};

const RFC8448: &str = include_str!("../../src/net/tls_decrypt/testdata/rfc8448-1rtt.txt");
const RFC8448_KEYLOG: &str = include_str!("../../src/net/tls_decrypt/testdata/rfc8448-1rtt.keylog");
const TLS12: &str =
    include_str!("../../src/net/tls_decrypt/testdata/tls12-rsa-aes256sha256-noems-mte.txt");
const TLS12_KEYLOG: &str =
    include_str!("../../src/net/tls_decrypt/testdata/tls12-rsa-aes256sha256-noems-mte.keylog");
const SERVER_KEY: &str = include_str!("../../src/net/tls_decrypt/testdata/server.key");

struct Fixed {
    keys: KeyLog,
    tls13: Vec<(bool, Vec<u8>)>,
    tls12: Vec<(bool, Vec<u8>)>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect()
}

/// "c HEX"/"s HEX" lines cut into records per direction, in order.
fn records(text: &str) -> Vec<(bool, Vec<u8>)> {
    let mut bufs: [Vec<u8>; 2] = Default::default();
    let mut out = Vec::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((d, h)) = l.split_once(' ') else {
            continue;
        };
        let client = d == "c";
        let buf = &mut bufs[usize::from(client)];
        buf.extend_from_slice(&unhex(h.trim()));
        while buf.len() >= 5 {
            let len = 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]));
            if buf.len() < len {
                break;
            }
            out.push((client, buf.drain(..len).collect()));
        }
    }
    out
}

fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| {
        let mut keys = KeyLog::new();
        keys.add_nss(RFC8448_KEYLOG.as_bytes(), "rfc8448").unwrap();
        // The TLS 1.2 prefix's master secret too: with it the RSA private-key operation
        // (tens of milliseconds under the sanitizer) is skipped, and the fuzzer runs fast;
        // the RSA path is still reached by inputs that build their own handshake.
        keys.add_nss(TLS12_KEYLOG.as_bytes(), "tls12").unwrap();
        keys.add_rsa_pem(SERVER_KEY, "server.key").unwrap();
        Fixed {
            keys,
            tls13: records(RFC8448).into_iter().take(2).collect(),
            tls12: records(TLS12),
        }
    })
}

fn dir(client: bool) -> Dir {
    if client {
        Dir::A
    } else {
        Dir::B
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let f = fixed();
    let prefix: &[(bool, Vec<u8>)] = match selector % 3 {
        0 => &[],
        1 => &f.tls13,
        _ => {
            let n = usize::from(selector >> 2) % (f.tls12.len() + 1);
            &f.tls12[..n]
        }
    };
    let mut s = Session::new();
    let mut out = Vec::new();
    for (client, rec) in prefix {
        s.record(&f.keys, dir(*client), rec, &mut out);
    }
    for chunk in rest.split(|&b| b == 0xfe) {
        let Some((&flags, rec)) = chunk.split_first() else {
            continue;
        };
        let mut rec = rec.to_vec();
        if flags & 2 != 0 && rec.len() >= 5 {
            let n = (rec.len() - 5).min(usize::from(u16::MAX)) as u16;
            rec[3..5].copy_from_slice(&n.to_be_bytes());
        }
        let before = out.len();
        let r = s.record(&f.keys, dir(flags & 1 != 0), &rec, &mut out);
        if r != (RecordResult::Decrypted { content_type: 23 }) {
            assert_eq!(out.len(), before, "{r:?} appended");
        }
        assert!(out.len() - before <= MAX_RECORD_BODY);
    }
    let info = s.info();
    assert!(info.records_decrypted + info.records_failed <= (data.len() + 32) as u64);
});
