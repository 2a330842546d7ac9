//! Fuzz the security decoders with arbitrary bytes: the STIR/SHAKEN Identity header
//! (PASSporT base64url + JSON), the TLS handshake tracker (records as the TCP layer hands
//! them up, split at a byte the input chooses), the Digest response recomputation and
//! the TOML configuration parser.
#![no_main]

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use siplens::capture::Timestamp;
use siplens::config::Config;
use siplens::crack::{self, export, Algorithm, Cracker, DigestTarget, Qop};
use siplens::net::{Segment, Transport};
use siplens::rules::e2e;
use siplens::tls::TlsTracker;

fuzz_target!(|data: &[u8]| {
    let id = e2e::parse_identity(data);
    let _ = format!("{id:?}");

    let client: SocketAddr = ([192, 0, 2, 1], 40000).into();
    let server: SocketAddr = ([192, 0, 2, 2], 5061).into();
    let cut = data.first().map_or(0, |&b| b as usize).min(data.len());
    let (a, b) = data.split_at(cut);
    let mut tls = TlsTracker::default();
    for (i, (part, from_client)) in [(a, true), (b, false), (a, false)].into_iter().enumerate() {
        let (src, dst) = if from_client { (client, server) } else { (server, client) };
        tls.on_segment(&Segment {
            frame: i as u64 + 1,
            ts: Timestamp(i as u64 * 1_000_000),
            src,
            dst,
            transport: Transport::TlsRecords,
            payload: Cow::Borrowed(part),
            hep: None,
            icmp: None,
        });
    }
    for s in tls.sessions() {
        let _ = siplens::rules::tls::findings(s, tls.sip_tls_ports());
    }

    // Digest fields separated by 0xff: any lengths (blocks crossed anywhere), any bytes.
    let f: Vec<String> = data
        .split(|&b| b == 0xff)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let field = |i: usize| f.get(i).cloned().unwrap_or_default();
    let target = DigestTarget {
        user: field(0),
        realm: field(1),
        method: field(2),
        uri: field(3),
        nonce: field(4),
        cnonce: field(5),
        nc: field(6),
        qop: match data.last().map(|b| b % 3) {
            Some(0) => Qop::None,
            Some(1) => Qop::Auth,
            _ => Qop::AuthInt,
        },
        algorithm: Algorithm::parse(f.get(7).map(String::as_str)),
        response: field(8),
        body_hash: field(9),
    };
    let password = field(10);
    let expected = crack::response_for(&target, password.as_bytes());
    let cracker = Cracker::new(std::slice::from_ref(&target));
    let _ = cracker.check(password.as_bytes());
    // A response computed by the slow path must be found by the fast one.
    let mut echo = target.clone();
    echo.response = expected.clone();
    if !expected.is_empty() {
        let hits = Cracker::new(std::slice::from_ref(&echo)).check(password.as_bytes());
        assert_eq!(hits, vec![0], "{echo:?}");
    }
    let _ = export::line(&echo, "192.0.2.2", "192.0.2.1", export::Format::Hashcat);

    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text, Path::new("fuzz.toml")).map_err(|e| e.to_string());
    }
});
