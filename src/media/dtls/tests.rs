use super::*;

/// A DTLS 1.2 handshake record holding one fragment.
fn record(
    epoch: u16,
    seq: u8,
    msg_type: u8,
    message_seq: u16,
    msg: &[u8],
    off: usize,
    n: usize,
) -> Vec<u8> {
    let len = msg.len() as u32;
    let body = &msg[off..off + n];
    let mut hs = vec![msg_type];
    hs.extend_from_slice(&len.to_be_bytes()[1..]);
    hs.extend_from_slice(&message_seq.to_be_bytes());
    hs.extend_from_slice(&(off as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&(n as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    let mut r = vec![22, 0xfe, 0xfd];
    r.extend_from_slice(&epoch.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0, 0, seq]);
    r.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    r.extend_from_slice(&hs);
    r
}

/// ClientHello: version, random 0x11.., empty session id, empty cookie, one suite,
/// null compression, use_srtp offering profiles 1 and 2 with an empty MKI.
fn client_hello() -> Vec<u8> {
    let mut m = vec![0xfe, 0xfd];
    m.extend_from_slice(&[0x11; 32]);
    m.extend_from_slice(&[0, 0, 0, 2, 0xc0, 0x2b, 1, 0]);
    m.extend_from_slice(&[0, 11, 0, 14, 0, 7, 0, 4, 0, 1, 0, 2, 0]);
    m
}

/// ServerHello: random 0x22.., suite 0xc02b, use_srtp choosing profile 1.
fn server_hello(profile: u16) -> Vec<u8> {
    let mut m = vec![0xfe, 0xfd];
    m.extend_from_slice(&[0x22; 32]);
    m.extend_from_slice(&[0, 0xc0, 0x2b, 0]);
    m.extend_from_slice(&[0, 9, 0, 14, 0, 5, 0, 2]);
    m.extend_from_slice(&profile.to_be_bytes());
    m.push(0);
    m
}

#[test]
fn record_header_literal() {
    // A ChangeCipherSpec record then an encrypted handshake record in one datagram.
    let d = [
        20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 1, //
        22, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0xaa, 0xbb,
    ];
    let mut it = records(&d);
    let a = it.next().unwrap();
    assert_eq!(
        (a.content_type, a.version, a.epoch, a.sequence),
        (20, DTLS_1_2, 0, 5)
    );
    assert_eq!(a.fragment, &[1]);
    let b = it.next().unwrap();
    assert_eq!(
        (b.content_type, b.epoch, b.fragment),
        (22, 1, &[0xaa, 0xbb][..])
    );
    assert!(it.next().is_none() && !it.malformed);
    // Cut short: the length says 5, 2 bytes follow.
    let mut it = records(&[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 5, 1, 2]);
    assert!(it.next().is_none() && it.malformed);
    // Not DTLS (TLS version).
    let mut it = records(&[22, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(it.next().is_none() && it.malformed);
}

#[test]
fn hellos_in_one_piece() {
    let mut h = Handshake::new();
    h.on_datagram(
        Side::Hi,
        &record(0, 0, 1, 0, &client_hello(), 0, client_hello().len()),
    );
    assert_eq!(h.client, Some(Side::Hi));
    assert_eq!(h.client_random, Some([0x11; 32]));
    assert!(!h.hellos_seen());
    let sh = server_hello(1);
    h.on_datagram(Side::Lo, &record(0, 0, 2, 0, &sh, 0, sh.len()));
    assert!(h.hellos_seen());
    assert_eq!(h.server_random, Some([0x22; 32]));
    assert_eq!(h.cipher_suite, Some(0xc02b));
    assert_eq!(h.profile, Some(1));
    assert_eq!(h.version, Some(DTLS_1_2));
    assert_eq!(h.malformed, 0);
    assert_eq!(profile_suite(1), Some(Suite::AesCm128HmacSha1_80));
    assert_eq!(profile_suite(5), None);
}

#[test]
fn fragmented_out_of_order_and_retransmitted() {
    let ch = client_hello();
    let n = ch.len();
    let mut h = Handshake::new();
    // Three fragments, the last first, the middle one twice, overlapping.
    h.on_datagram(Side::Lo, &record(0, 2, 1, 0, &ch, 40, n - 40));
    assert_eq!(h.client_random, None);
    h.on_datagram(Side::Lo, &record(0, 1, 1, 0, &ch, 10, 35));
    h.on_datagram(Side::Lo, &record(0, 1, 1, 0, &ch, 10, 35));
    assert_eq!(h.client_random, None);
    h.on_datagram(Side::Lo, &record(0, 0, 1, 0, &ch, 0, 10));
    assert_eq!(h.client_random, Some([0x11; 32]));
    assert_eq!(h.client, Some(Side::Lo));
    // A whole retransmission changes nothing.
    h.on_datagram(Side::Lo, &record(0, 3, 1, 0, &ch, 0, n));
    assert_eq!(h.client_random, Some([0x11; 32]));
    // The ClientHello again with a cookie (message_seq 1), same random (RFC 6347 §4.2.1).
    let mut ch2 = ch.clone();
    ch2[35] = 0; // session id still empty
    h.on_datagram(Side::Lo, &record(0, 4, 1, 1, &ch2, 0, n));
    assert_eq!(h.client_random, Some([0x11; 32]));
    // The ServerHello in two records of one datagram.
    let sh = server_hello(7);
    let mut d = record(0, 0, 2, 1, &sh, 0, 20);
    d.extend(record(0, 1, 2, 1, &sh, 20, sh.len() - 20));
    h.on_datagram(Side::Hi, &d);
    assert_eq!(h.profile, Some(7));
    assert_eq!(profile_suite(7), Some(Suite::AeadAes128Gcm));
    assert_eq!(h.malformed, 0);
}

#[test]
fn garbage_is_counted_not_a_panic() {
    let mut h = Handshake::new();
    // Fragment overrunning its message length.
    let mut bad = record(0, 0, 1, 0, &client_hello(), 0, 10);
    bad[14..17].copy_from_slice(&[0, 0, 5]);
    h.on_datagram(Side::Lo, &bad);
    // A hello whose length field claims more than MAX_HELLO.
    let mut huge = record(0, 0, 1, 0, &client_hello(), 0, 10);
    huge[14..17].copy_from_slice(&[0x10, 0, 0]);
    h.on_datagram(Side::Lo, &huge);
    // A complete but truncated ClientHello body.
    let short = &client_hello()[..20];
    h.on_datagram(Side::Lo, &record(0, 0, 1, 0, short, 0, short.len()));
    assert_eq!(h.malformed, 3);
    assert_eq!(h.client_random, None);
    for n in 0..40 {
        h.on_datagram(Side::Hi, &[22u8; 40][..n]);
    }
    assert!(h.malformed > 3);
    assert!(parse_server_hello(&[0xfe]).is_none());
    assert!(parse_client_hello(&[]).is_none());
}

#[test]
fn dtls13_selected_version() {
    let mut sh = vec![0xfe, 0xfd];
    sh.extend_from_slice(&[0x33; 32]);
    sh.extend_from_slice(&[0, 0x13, 0x01, 0]);
    sh.extend_from_slice(&[0, 6, 0, 43, 0, 2, 0xfe, 0xfc]);
    let h = parse_server_hello(&sh).unwrap();
    assert_eq!(h.selected_version, Some(DTLS_1_3));
    assert!(!h.use_srtp);
}

#[test]
fn dtls13_ciphertext_is_not_malformed() {
    // Unified header (RFC 9147 §4): 001CSLEE, sequence, length, then ciphertext.
    let mut d = vec![0x2c, 0x01, 0x00, 0x12];
    d.extend_from_slice(&[0x5a; 18]);
    let mut it = records(&d);
    assert!(it.next().is_none() && !it.malformed);
    let mut h = Handshake::new();
    h.on_datagram(Side::Lo, &d);
    assert_eq!((h.records, h.malformed), (0, 0));
}
