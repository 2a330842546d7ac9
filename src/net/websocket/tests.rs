//! Byte-literal tests of the frame and handshake parsers (RFC 6455 §5.2, §5.3, §4).

use super::*;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn frame(b: &[u8]) -> Frame<'_> {
    match parse_frame(b, 1 << 20) {
        FrameParse::Frame(f) => f,
        other => panic!("expected a frame, got {other:?}"),
    }
}

#[test]
fn unmasked_text_frame_rfc6455_example() {
    // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
    let b = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let f = frame(&b);
    assert!(f.header.fin);
    assert_eq!(f.header.opcode, opcode::TEXT);
    assert_eq!(
        (f.header.rsv, f.header.mask, f.header.header_len),
        (0, None, 2)
    );
    assert_eq!(f.payload, b"Hello");
    assert_eq!(f.len(), 7);
    assert_eq!(f.header.problem(), None);
}

#[test]
fn masked_text_frame_rfc6455_example() {
    // RFC 6455 §5.7: a single-frame masked text message "Hello".
    let b = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let f = frame(&b);
    assert_eq!(f.header.mask, Some(KEY));
    assert_eq!(f.header.header_len, 6);
    let mut out = Vec::new();
    payload_into(&f, &mut out);
    assert_eq!(out, b"Hello");
    // Masking is its own inverse, over lengths that are not multiples of 4 too.
    for n in 0..11 {
        let plain: Vec<u8> = (0..n as u8).collect();
        let mut m = Vec::new();
        unmask_into(&plain, KEY, &mut m);
        let mut back = Vec::new();
        unmask_into(&m, KEY, &mut back);
        assert_eq!(back, plain, "length {n}");
        if n > 0 {
            assert_ne!(m, plain);
        }
    }
}

#[test]
fn sixteen_and_sixty_four_bit_lengths() {
    // 126 + 16-bit length: 256 bytes (RFC 6455 §5.7 example header 0x82 0x7E 0x0100).
    let mut b = vec![0x82, 0x7e, 0x01, 0x00];
    b.extend(std::iter::repeat_n(0xab, 256));
    let f = frame(&b);
    assert_eq!((f.header.opcode, f.header.header_len), (opcode::BINARY, 4));
    assert_eq!(f.payload.len(), 256);
    // 127 + 64-bit length: 65536 bytes (RFC 6455 §5.7 example 0x82 0x7F 0x0000000000010000).
    let mut b = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
    b.extend(std::iter::repeat_n(0xcd, 65536));
    let f = frame(&b);
    assert_eq!((f.header.header_len, f.payload.len()), (10, 65536));
    // 64-bit length with a masking key: a 14-byte header.
    let mut b = vec![0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 3];
    b.extend_from_slice(&KEY);
    b.extend_from_slice(&[1, 2, 3]);
    let f = frame(&b);
    assert_eq!(
        (f.header.header_len, f.payload),
        (MAX_HEADER_LEN, &[1u8, 2, 3][..])
    );
    // A non-minimal length encoding is accepted.
    let f = frame(&[0x81, 0x7e, 0x00, 0x02, b'h', b'i']);
    assert_eq!(f.payload, b"hi");
}

#[test]
fn truncated_frames_need_more() {
    let whole = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    for cut in 0..whole.len() {
        assert_eq!(
            parse_frame(&whole[..cut], 1000),
            FrameParse::NeedMore,
            "cut at {cut}"
        );
    }
    assert_eq!(parse_header(&[0x82, 0x7e, 0x01]), Header::NeedMore);
    assert_eq!(
        parse_header(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0]),
        Header::NeedMore
    );
    assert_eq!(
        parse_header(&[0x82, 0xfe, 0x01, 0x00, 1, 2]),
        Header::NeedMore
    );
}

#[test]
fn oversize_and_forbidden_lengths() {
    // A declared 2^62-byte payload is refused by the bound before any slicing.
    let b = [0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0];
    match parse_frame(&b, 1024) {
        FrameParse::Oversize(h) => {
            assert_eq!(h.payload_len, 1 << 62);
            assert_eq!(h.total_len(), (1 << 62) + 10);
        }
        other => panic!("{other:?}"),
    }
    // Exactly at the bound is fine, one over is not.
    let mut b = vec![0x82, 0x7e, 0x04, 0x00];
    b.resize(4 + 1024, 0);
    assert!(matches!(parse_frame(&b, 1024), FrameParse::Frame(_)));
    assert!(matches!(parse_frame(&b, 1023), FrameParse::Oversize(_)));
    // The most significant bit of a 64-bit length must be 0 (RFC 6455 §5.2).
    let b = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1];
    assert_eq!(
        parse_frame(&b, 1024),
        FrameParse::Bad(Problem::LengthTooLarge)
    );
    let b = [0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(parse_header(&b), Header::Bad(Problem::LengthTooLarge));
}

#[test]
fn opcodes_and_control_frame_rules() {
    let h = |b: &[u8]| match parse_header(b) {
        Header::Header(h) => h,
        other => panic!("{other:?}"),
    };
    // Ping with "Hello" (RFC 6455 §5.7), unmasked.
    let ping = h(&[0x89, 0x05]);
    assert!(ping.is_control());
    assert_eq!((ping.opcode, ping.problem()), (opcode::PING, None));
    let pong = h(&[0x8a, 0x00]);
    assert_eq!((pong.opcode, pong.problem()), (opcode::PONG, None));
    let close = h(&[0x88, 0x02]);
    assert_eq!((close.opcode, close.problem()), (opcode::CLOSE, None));
    // A first fragment (no FIN) and a final continuation are data frames.
    let first = h(&[0x01, 0x03]);
    assert!(!first.fin && !first.is_control() && first.problem().is_none());
    let cont = h(&[0x80, 0x03]);
    assert_eq!((cont.opcode, cont.fin), (opcode::CONTINUATION, true));
    // Reserved opcodes, non-data and control.
    for op in [0x3u8, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf] {
        assert_eq!(
            h(&[0x80 | op, 0x00]).problem(),
            Some(Problem::ReservedOpcode),
            "opcode {op:#x}"
        );
    }
    // A fragmented ping and a 126-byte close break RFC 6455 §5.5.
    assert_eq!(h(&[0x09, 0x00]).problem(), Some(Problem::FragmentedControl));
    assert_eq!(
        h(&[0x88, 0x7e, 0x00, 0x7e]).problem(),
        Some(Problem::LongControl)
    );
    assert_eq!(h(&[0x88, 0x7d]).problem(), None);
    // RSV1 (permessage-deflate) is not decoded here.
    let rsv = h(&[0xc1, 0x01]);
    assert_eq!((rsv.rsv, rsv.problem()), (4, Some(Problem::Reserved)));
    assert_eq!(h(&[0x91, 0x01]).rsv, 1);
}

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![first];
    match payload.len() {
        n if n < 126 => v.push(0x80 | n as u8),
        n => {
            v.push(0x80 | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    v.extend_from_slice(&KEY);
    unmask_into(payload, KEY, &mut v);
    v
}

#[test]
fn probes_find_frames_carrying_sip() {
    let sip = b"REGISTER sip:example.invalid SIP/2.0\r\nVia: SIP/2.0/WSS x.invalid\r\n\r\n";
    let m = masked(0x81, sip);
    assert_eq!(probe_sip_frame(&m, 65536), Probe::Sip);
    let mut plain = vec![0x81, sip.len() as u8];
    plain.extend_from_slice(sip);
    assert_eq!(probe_sip_frame(&plain, 65536), Probe::Sip);
    // Cut inside the start line: maybe; cut after it: yes.
    assert_eq!(probe_sip_frame(&m[..12], 65536), Probe::NeedMore);
    assert_eq!(probe_sip_frame(&m[..6 + 38], 65536), Probe::Sip);
    assert_eq!(probe_sip_frame(&m[..1], 65536), Probe::NeedMore);
    // A frame with other text, a control frame, a first fragment of a binary message.
    assert_eq!(
        probe_sip_frame(&masked(0x81, b"{\"json\":1}"), 65536),
        Probe::No
    );
    assert_eq!(probe_sip_frame(&masked(0x89, b"INVITE"), 65536), Probe::No);
    assert_eq!(probe_sip_frame(&masked(0x02, sip), 65536), Probe::Sip);
    // Too long for the bound.
    assert_eq!(probe_sip_frame(&m, 10), Probe::No);
    // Found after junk, not before the limit.
    let mut junk = b"\x81\x00zz\x82".to_vec();
    junk.extend_from_slice(&m);
    assert_eq!(find_sip_frame(&junk, junk.len(), 65536), Found::At(5));
    assert_eq!(find_sip_frame(&junk, 5, 65536), Found::None);
    assert_eq!(find_sip_frame(&junk[..12], 12, 65536), Found::Maybe(5));
}

#[test]
fn upgrade_request_and_response() {
    let req = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: WebSocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Protocol: chat, SIP\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x85";
    let HandshakeParse::Head(h) = handshake(req) else {
        panic!("request head");
    };
    assert_eq!(h.kind, HandshakeKind::Request);
    assert_eq!(h.len, req.len() - 2);
    assert!(h.websocket && h.sip && h.upgrades());
    let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
    let HandshakeParse::Head(h) = handshake(resp) else {
        panic!("response head");
    };
    assert_eq!((h.kind, h.len), (HandshakeKind::Response(101), resp.len()));
    assert!(h.websocket && h.sip && h.upgrades());
    // Every cut of either head waits for more.
    for cut in 0..resp.len() {
        assert_eq!(
            handshake(&resp[..cut]),
            HandshakeParse::NeedMore,
            "cut {cut}"
        );
    }
    for cut in 0..req.len() - 2 {
        assert_eq!(
            handshake(&req[..cut]),
            HandshakeParse::NeedMore,
            "cut {cut}"
        );
    }
}

#[test]
fn non_upgrades_and_other_protocols() {
    let refused = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    let HandshakeParse::Head(h) = handshake(refused) else {
        panic!("head");
    };
    assert_eq!(h.kind, HandshakeKind::Response(400));
    assert!(!h.upgrades());
    // An upgrade header with a 200 status does not switch.
    let odd = b"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n\r\n";
    assert!(matches!(handshake(odd), HandshakeParse::Head(h) if !h.upgrades()));
    let plain_get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert!(matches!(handshake(plain_get), HandshakeParse::Head(h) if !h.upgrades()));
    // A WebSocket for another subprotocol upgrades, without sip.
    let chat =
        b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat, sipx\r\n\r\n";
    assert!(matches!(handshake(chat), HandshakeParse::Head(h) if h.upgrades() && !h.sip));
    // Not HTTP at all, or not a GET.
    assert_eq!(handshake(b"INVITE sip:a SIP/2.0\r\n"), HandshakeParse::No);
    assert_eq!(handshake(b"POST / HTTP/1.1\r\n\r\n"), HandshakeParse::No);
    assert_eq!(handshake(b"HTTP/1.1 2x0 OK\r\n\r\n"), HandshakeParse::No);
    assert_eq!(handshake(b"HTTP/1.1x200 OK\r\n\r\n"), HandshakeParse::No);
    assert_eq!(handshake(b"\x16\x03\x01"), HandshakeParse::No);
    assert_eq!(handshake(b""), HandshakeParse::NeedMore);
    // LF-only line ends are accepted.
    let lf = b"GET / HTTP/1.1\nUpgrade: websocket\nSec-WebSocket-Protocol: sip\n\n";
    assert!(
        matches!(handshake(lf), HandshakeParse::Head(h) if h.upgrades() && h.sip && h.len == lf.len())
    );
    // A head that never ends is given up at the bound, not buffered forever.
    let mut long = b"GET / HTTP/1.1\r\n".to_vec();
    while long.len() <= MAX_HANDSHAKE_LEN {
        long.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert_eq!(handshake(&long), HandshakeParse::No);
    assert_eq!(
        handshake(&long[..MAX_HANDSHAKE_LEN - 1]),
        HandshakeParse::NeedMore
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), max in 0usize..400) {
        let _ = parse_header(&data);
        if let FrameParse::Frame(f) = parse_frame(&data, max) {
            proptest::prop_assert!(f.len() <= data.len());
            proptest::prop_assert!(f.payload.len() <= max);
            let mut out = Vec::new();
            payload_into(&f, &mut out);
            proptest::prop_assert_eq!(out.len(), f.payload.len());
        }
        let _ = probe_sip_frame(&data, max);
        let _ = find_sip_frame(&data, data.len(), max);
        if let HandshakeParse::Head(h) = handshake(&data) {
            proptest::prop_assert!(h.len <= data.len());
        }
    }
}
