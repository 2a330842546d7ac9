//! Unit tests for the file reader, over hand-built pcap / pcapng bytes.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;

use super::*;

// ---------- builders ----------

/// A classic pcap file: `magic` as the writer's native u32, `big` picks the byte order.
fn pcap(big: bool, magic: u32, link: u32, recs: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let w16 = |v: &mut Vec<u8>, x: u16| {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let mut v = Vec::new();
    w32(&mut v, magic);
    w16(&mut v, 2);
    w16(&mut v, 4);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, 65535);
    w32(&mut v, link);
    for &(s, f, data, orig) in recs {
        w32(&mut v, s);
        w32(&mut v, f);
        w32(&mut v, data.len() as u32);
        w32(&mut v, orig);
        v.extend_from_slice(data);
    }
    v
}

const US: u32 = 0xa1b2_c3d4;
const NS: u32 = 0xa1b2_3c4d;

/// A pcapng writer in either byte order.
struct Ng {
    big: bool,
    out: Vec<u8>,
}

impl Ng {
    fn new(big: bool) -> Self {
        let mut ng = Ng {
            big,
            out: Vec::new(),
        };
        ng.shb();
        ng
    }
    fn u16(&self, x: u16) -> [u8; 2] {
        if self.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn u32(&self, x: u32) -> [u8; 4] {
        if self.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        let (t, l) = (self.u32(btype), self.u32(len));
        self.out.extend_from_slice(&t);
        self.out.extend_from_slice(&l);
        self.out.extend_from_slice(body);
        self.out.extend(std::iter::repeat_n(0, pad));
        self.out.extend_from_slice(&l);
        self
    }
    fn shb(&mut self) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(0x1a2b_3c4d));
        body.extend_from_slice(&self.u16(1));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&[0xff; 8]); // section length unknown
        self.block(0x0a0d_0d0a, &body)
    }
    /// IDB with options `(code, value)`.
    fn idb(&mut self, link: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16(link));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.u32(snaplen));
        for (code, val) in opts {
            body.extend_from_slice(&self.u16(*code));
            body.extend_from_slice(&self.u16(val.len() as u16));
            body.extend_from_slice(val);
            body.extend(std::iter::repeat_n(0, (4 - val.len() % 4) % 4));
        }
        if !opts.is_empty() {
            body.extend_from_slice(&[0; 4]); // opt_endofopt
        }
        self.block(1, &body)
    }
    fn epb(&mut self, iface: u32, ts: u64, data: &[u8], orig: u32) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(iface));
        body.extend_from_slice(&self.u32((ts >> 32) as u32));
        body.extend_from_slice(&self.u32(ts as u32));
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(&self.u32(orig));
        body.extend_from_slice(data);
        body.extend(std::iter::repeat_n(0, (4 - data.len() % 4) % 4));
        // an epb_flags option, to be skipped
        body.extend_from_slice(&self.u16(2));
        body.extend_from_slice(&self.u16(4));
        body.extend_from_slice(&self.u32(1));
        body.extend_from_slice(&[0; 4]);
        self.block(6, &body)
    }
    fn spb(&mut self, orig: u32, data: &[u8]) -> &mut Self {
        let mut body = self.u32(orig).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body)
    }
    fn pb(&mut self, iface: u16, ts: u64, data: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16(iface));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&self.u32((ts >> 32) as u32));
        body.extend_from_slice(&self.u32(ts as u32));
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(data);
        self.block(2, &body)
    }
    fn bytes(&self) -> Vec<u8> {
        self.out.clone()
    }
}

fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(p).unwrap();
        out.extend(enc.finish().unwrap());
    }
    out
}

/// Reads every frame; returns them and the terminating error, if any.
fn drain(src: &mut FileSource) -> (Vec<Frame>, Option<CaptureError>) {
    let mut frames = Vec::new();
    loop {
        match src.next_frame() {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return (frames, None),
            Err(e) => {
                // After an error the source is finished.
                assert!(matches!(src.next_frame(), Ok(None)));
                return (frames, Some(e));
            }
        }
    }
}

fn read_all(bytes: Vec<u8>) -> Vec<Frame> {
    let mut src = open_bytes("t", bytes).unwrap();
    let (frames, err) = drain(&mut src);
    assert!(err.is_none(), "unexpected error: {}", err.unwrap());
    frames
}

fn open_err(bytes: Vec<u8>) -> CaptureError {
    open_bytes("t.pcap", bytes).unwrap_err()
}

// ---------- pcap ----------

#[test]
fn pcap_microseconds_both_byte_orders() {
    for big in [false, true] {
        let bytes = pcap(
            big,
            US,
            1,
            &[
                (10, 500_000, b"abc", 60),
                (11, 1, b"", 0),
                (12, 999_999, b"xy", 2),
            ],
        );
        let mut src = open_bytes("t", bytes).unwrap();
        assert_eq!(src.format(), CaptureFormat::Pcap { nanos: false });
        assert_eq!(src.link_types(), vec![LinkType::ETHERNET]);
        let (f, err) = drain(&mut src);
        assert!(err.is_none());
        assert_eq!(f.len(), 3, "big={big}");
        assert_eq!(f[0].number, 1);
        assert_eq!(f[0].ts, Timestamp(10_500_000_000));
        assert_eq!(f[0].data, b"abc");
        assert_eq!(f[0].orig_len, 60);
        assert_eq!(f[0].link_type, LinkType::ETHERNET);
        assert_eq!(f[0].interface, 0);
        // zero-length packets are frames too
        assert_eq!(f[1].number, 2);
        assert!(f[1].data.is_empty());
        assert_eq!(f[1].ts, Timestamp(11_000_001_000));
        assert_eq!(f[2].number, 3);
        assert_eq!(f[2].ts, Timestamp(12_999_999_000));
        assert_eq!(src.frames_read(), 3);
    }
}

/// A recycled buffer carries the next frame (no allocation per frame), with exactly that
/// frame's bytes, shorter or longer than the one before.
#[test]
fn recycled_buffer_is_reused_for_the_next_frame() {
    let bytes = pcap(
        false,
        US,
        1,
        &[
            (1, 0, b"abcdef", 6),
            (2, 0, b"xy", 2),
            (3, 0, b"0123456789", 10),
        ],
    );
    let mut src = open_bytes("t", bytes).unwrap();
    let f1 = src.next_frame().unwrap().unwrap();
    assert_eq!(f1.data, b"abcdef");
    let at = f1.data.as_ptr() as usize;
    src.recycle(f1.data);
    let f2 = src.next_frame().unwrap().unwrap();
    assert_eq!(f2.data, b"xy");
    assert_eq!(
        f2.data.as_ptr() as usize,
        at,
        "the recycled buffer is reused"
    );
    src.recycle(f2.data);
    let f3 = src.next_frame().unwrap().unwrap();
    assert_eq!(f3.data, b"0123456789");
    assert_eq!(f3.number, 3);
    assert!(src.next_frame().unwrap().is_none());
}

#[test]
fn pcap_nanoseconds_both_byte_orders() {
    for big in [false, true] {
        let bytes = pcap(big, NS, 228, &[(7, 123_456_789, b"\x45", 1)]);
        let mut src = open_bytes("t", bytes).unwrap();
        assert_eq!(src.format(), CaptureFormat::Pcap { nanos: true });
        let (f, _) = drain(&mut src);
        assert_eq!(f[0].ts, Timestamp(7_123_456_789));
        assert_eq!(f[0].link_type, LinkType::IPV4);
    }
}

#[test]
fn pcap_link_type_ignores_fcs_bits() {
    let bytes = pcap(false, US, 0x1400_0001, &[]);
    let src = open_bytes("t", bytes).unwrap();
    assert_eq!(src.link_types(), vec![LinkType::ETHERNET]);
}

#[test]
fn modified_pcap_records_skip_extra_fields() {
    let mut v = pcap(false, 0xa1b2_cd34, 1, &[]);
    for (i, data) in [&b"one"[..], b"two!"].iter().enumerate() {
        v.extend_from_slice(&(i as u32).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(data);
    }
    let f = read_all(v);
    assert_eq!(f.len(), 2);
    assert_eq!(f[1].data, b"two!");
    assert_eq!(f[1].ts, Timestamp(1_000_000_000));
}

#[test]
fn pcap_truncated_last_record_keeps_earlier_frames() {
    let mut bytes = pcap(
        false,
        US,
        1,
        &[(1, 0, &[1; 100], 100), (2, 0, &[2; 100], 100)],
    );
    bytes.truncate(24 + 116 + 16 + 30);
    let mut src = open_bytes("cut.pcap", bytes).unwrap();
    let (f, err) = drain(&mut src);
    assert_eq!(f.len(), 1);
    let err = err.unwrap();
    assert!(err.is_truncation());
    assert_eq!(err.record(), Some(2));
    assert!(matches!(
        err.kind,
        CaptureErrorKind::TruncatedRecord {
            record: 2,
            expected: 100,
            got: 30
        }
    ));
    assert_eq!(
        err.to_string(),
        "cut.pcap: truncated record 2 at byte 140: expected 100 bytes, got 30"
    );
}

#[test]
fn pcap_cut_inside_record_header() {
    let mut bytes = pcap(false, US, 1, &[(1, 0, b"a", 1), (2, 0, b"b", 1)]);
    bytes.truncate(bytes.len() - 10);
    let mut src = open_bytes("t", bytes).unwrap();
    let (f, err) = drain(&mut src);
    assert_eq!(f.len(), 1);
    let err = err.unwrap();
    assert!(err.is_truncation());
    assert!(matches!(
        err.kind,
        CaptureErrorKind::TruncatedRecord {
            expected: 16,
            got: 7,
            ..
        }
    ));
}

#[test]
fn pcap_absurd_caplen_is_rejected_before_reading() {
    let mut bytes = pcap(false, US, 1, &[(1, 0, b"ok", 2)]);
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    let mut src = open_bytes("big.pcap", bytes).unwrap();
    let (f, err) = drain(&mut src);
    assert_eq!(f.len(), 1);
    let err = err.unwrap();
    assert!(err.is_truncation());
    assert!(matches!(
        err.kind,
        CaptureErrorKind::AbsurdLength {
            record: 2,
            length: 4_294_967_295,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "big.pcap: absurd length 4294967295 in record 2 at byte 42: captured length above 262144"
    );
}

#[test]
fn pcap_caplen_at_limit_is_accepted() {
    let data = vec![7u8; MAX_PCAP_CAPLEN as usize];
    let f = read_all(pcap(false, US, 1, &[(0, 0, &data, MAX_PCAP_CAPLEN)]));
    assert_eq!(f[0].data.len(), MAX_PCAP_CAPLEN as usize);
}

#[test]
fn pcap_truncated_header_is_an_open_error() {
    let bytes = pcap(false, US, 1, &[]);
    let err = open_err(bytes[..10].to_vec());
    assert!(!err.is_truncation());
    assert!(matches!(
        err.kind,
        CaptureErrorKind::TruncatedHeader {
            expected: 24,
            got: 10
        }
    ));
    assert_eq!(
        err.to_string(),
        "t.pcap: truncated file header: expected 24 bytes, got 10"
    );
    // A prefix of a magic is a truncated header too, not garbage.
    let err = open_err(vec![0xd4, 0xc3]);
    assert!(matches!(
        err.kind,
        CaptureErrorKind::TruncatedHeader { got: 2, .. }
    ));
}

// ---------- open errors ----------

#[test]
fn not_a_capture_shows_first_bytes() {
    let err = open_err(b"hello world".to_vec());
    assert!(!err.is_truncation());
    assert!(matches!(err.kind, CaptureErrorKind::NotACapture { .. }));
    assert_eq!(
        err.to_string(),
        "t.pcap: not a pcap or pcapng file (starts with 68 65 6c 6c 6f 20 77 6f)"
    );
    let err = open_err(vec![0x00]);
    assert_eq!(
        err.to_string(),
        "t.pcap: not a pcap or pcapng file (starts with 00)"
    );
}

#[test]
fn empty_input() {
    let err = open_err(Vec::new());
    assert!(matches!(err.kind, CaptureErrorKind::Empty));
    assert!(!err.is_truncation());
    assert_eq!(err.to_string(), "t.pcap: empty file (0 bytes)");
    // gzip of nothing is empty too
    let err = open_err(gzip(&[b""]));
    assert!(matches!(err.kind, CaptureErrorKind::Empty));
}

#[test]
fn missing_file_keeps_io_kind() {
    let path = std::path::Path::new("/nonexistent-dir/capture.pcap");
    let err = open_path(path).unwrap_err();
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
    assert!(!err.is_truncation());
    let msg = err.to_string();
    assert!(
        msg.starts_with("/nonexistent-dir/capture.pcap: cannot open: "),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn empty_and_real_files_on_disk() {
    let dir = std::env::temp_dir().join(format!("siplens-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let err = open_path(&empty).unwrap_err();
    assert!(matches!(err.kind, CaptureErrorKind::Empty));
    let good = dir.join("x.cap");
    let bytes = gzip(&[&pcap(false, US, 1, &[(1, 0, b"abcd", 4)])]);
    std::fs::write(&good, &bytes).unwrap();
    let mut src = open_path(&good).unwrap();
    assert_eq!(src.name(), good.display().to_string());
    assert!(src.is_gzip());
    let (f, err) = drain(&mut src);
    assert!(err.is_none());
    assert_eq!(f.len(), 1);
    assert_eq!(
        src.progress(),
        (bytes.len() as u64, Some(bytes.len() as u64))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------- pcapng ----------

#[test]
fn pcapng_two_interfaces_resolutions_and_offset() {
    for big in [false, true] {
        let mut ng = Ng::new(big);
        let plus100 = ng.u64_bytes(100);
        ng.idb(1, 0, &[(9, &[9])]) // ethernet, nanoseconds
            .idb(101, 0, &[(9, &[0x80 | 20]), (14, &plus100)]) // raw, 2^-20 s, +100 s
            .epb(0, 1_234_567_890_123, b"eth", 3)
            .epb(1, (3 << 20) | (1 << 19), b"raw!", 40)
            .epb(0, 5, b"", 0);
        let mut src = open_bytes("t", ng.bytes()).unwrap();
        assert_eq!(src.format(), CaptureFormat::PcapNg);
        let (f, err) = drain(&mut src);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].ts, Timestamp(1_234_567_890_123));
        assert_eq!(f[0].link_type, LinkType::ETHERNET);
        assert_eq!(f[0].interface, 0);
        assert_eq!(f[0].data, b"eth");
        assert_eq!(f[1].ts, Timestamp(103_500_000_000));
        assert_eq!(f[1].link_type, LinkType::RAW);
        assert_eq!(f[1].interface, 1);
        assert_eq!(f[1].orig_len, 40);
        assert_eq!(f[1].data, b"raw!");
        assert_eq!(f[2].number, 3);
        assert!(f[2].data.is_empty());
        assert_eq!(src.link_types(), vec![LinkType::ETHERNET, LinkType::RAW]);
    }
}

impl Ng {
    fn u64_bytes(&self, x: u64) -> [u8; 8] {
        if self.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
}

#[test]
fn pcapng_default_resolution_is_microseconds_and_negative_offset() {
    let mut ng = Ng::new(false);
    let minus = ng.u64_bytes((-10i64) as u64);
    ng.idb(1, 0, &[]).idb(1, 0, &[(14, &minus)]);
    ng.epb(0, 1_500_000, b"a", 1).epb(1, 1_500_000, b"b", 1);
    let f = read_all(ng.bytes());
    assert_eq!(f[0].ts, Timestamp(1_500_000_000));
    // 1.5 s - 10 s clamps at the epoch rather than wrapping
    assert_eq!(f[1].ts, Timestamp(0));
}

#[test]
fn pcapng_simple_and_obsolete_packet_blocks() {
    let mut ng = Ng::new(false);
    ng.idb(1, 4, &[])
        .epb(0, 42, b"abcd", 4)
        .spb(6, b"123456") // snaplen 4 cuts it
        .pb(0, 43, b"old");
    let f = read_all(ng.bytes());
    assert_eq!(f.len(), 3);
    assert_eq!(f[1].data, b"1234");
    assert_eq!(f[1].orig_len, 6);
    assert_eq!(f[1].interface, 0);
    // SPB has no timestamp: it inherits the previous frame's.
    assert_eq!(f[1].ts, Timestamp(42_000));
    assert_eq!(f[2].data, b"old");
    assert_eq!(f[2].ts, Timestamp(43_000));
    assert_eq!(f[2].number, 3);
}

#[test]
fn pcapng_spb_length_bounded_by_block() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).spb(1000, b"xyz");
    let f = read_all(ng.bytes());
    // original length 1000 but the block holds 4 padded bytes
    assert_eq!(f[0].data, b"xyz\0");
    assert_eq!(f[0].orig_len, 1000);
}

#[test]
fn pcapng_skips_other_blocks() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[])
        .block(4, b"\x01\x00\x06\x00name\0\0\0\0\0\0") // NRB
        .epb(0, 1, b"1", 1)
        .block(5, &[0; 12]) // ISB
        .block(0x0A, b"secrets") // DSB
        .block(0x4000_0BAD, b"\x00\x00\x00\x01custom") // custom
        .block(0x1234_5678, &[]) // unknown, empty body
        .epb(0, 2, b"2", 1);
    let f = read_all(ng.bytes());
    assert_eq!(f.len(), 2);
    assert_eq!(f[1].number, 2);
    assert_eq!(f[1].data, b"2");
}

#[test]
fn pcapng_several_sections_with_own_byte_order_and_interfaces() {
    let mut a = Ng::new(false);
    a.idb(1, 0, &[]).epb(0, 1, b"le", 2);
    let mut b = Ng::new(true);
    b.idb(113, 0, &[(9, &[3])]).epb(0, 7, b"be", 2);
    let mut bytes = a.bytes();
    bytes.extend(b.bytes());
    let mut src = open_bytes("t", bytes).unwrap();
    let (f, err) = drain(&mut src);
    assert!(err.is_none());
    assert_eq!(f.len(), 2);
    assert_eq!(f[1].link_type, LinkType::LINUX_SLL);
    assert_eq!(f[1].ts, Timestamp(7_000_000));
    assert_eq!(f[1].number, 2);
    assert_eq!(
        src.link_types(),
        vec![LinkType::ETHERNET, LinkType::LINUX_SLL]
    );
}

#[test]
fn pcapng_new_section_forgets_interfaces() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[])
        .idb(1, 0, &[])
        .shb()
        .idb(1, 0, &[])
        .epb(1, 0, b"x", 1);
    let mut src = open_bytes("t", ng.bytes()).unwrap();
    let (f, err) = drain(&mut src);
    assert!(f.is_empty());
    let err = err.unwrap();
    assert!(err.is_truncation());
    assert!(matches!(
        err.kind,
        CaptureErrorKind::BadBlock {
            record: 6,
            block_type: 6,
            problem: BlockProblem::UndefinedInterface(1)
        }
    ));
}

#[test]
fn pcapng_undefined_interface_stops_after_good_frames() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).epb(0, 0, b"ok", 2).epb(3, 0, b"bad", 3);
    let mut src = open_bytes("n.pcapng", ng.bytes()).unwrap();
    let (f, err) = drain(&mut src);
    assert_eq!(f.len(), 1);
    let err = err.unwrap();
    assert!(err.is_truncation());
    assert_eq!(
        err.to_string(),
        format!(
            "n.pcapng: bad pcapng block (type 0x00000006) in record 4 at byte {}: packet for undefined interface 3",
            28 + 20 + 48
        )
    );
}

#[test]
fn pcapng_spb_without_interface_is_bad() {
    let mut ng = Ng::new(false);
    ng.spb(1, b"x");
    let mut src = open_bytes("t", ng.bytes()).unwrap();
    let (_, err) = drain(&mut src);
    assert!(matches!(
        err.unwrap().kind,
        CaptureErrorKind::BadBlock {
            problem: BlockProblem::UndefinedInterface(0),
            ..
        }
    ));
}

#[test]
fn pcapng_truncated_epb() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[])
        .epb(0, 0, b"first", 5)
        .epb(0, 0, &[9; 64], 64);
    let mut bytes = ng.bytes();
    let full = bytes.len();
    bytes.truncate(full - 50);
    let mut src = open_bytes("t", bytes).unwrap();
    let (f, err) = drain(&mut src);
    assert_eq!(f.len(), 1);
    let err = err.unwrap();
    assert!(err.is_truncation());
    let epb_len = 12 + 20 + 64 + 12;
    assert!(
        matches!(err.kind, CaptureErrorKind::TruncatedRecord { record: 4, expected, got }
            if expected == epb_len && got == epb_len - 50),
        "{err}"
    );
}

#[test]
fn pcapng_absurd_block_lengths() {
    for (len, reason) in [
        (0x7fff_fff0u32, "block length above 16 MiB"),
        (30, "block length not a multiple of 4"),
        (8, "below the minimum block length"),
    ] {
        let mut bytes = Ng::new(false).bytes();
        bytes.extend_from_slice(&6u32.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&[0; 32]);
        let mut src = open_bytes("t", bytes).unwrap();
        let (_, err) = drain(&mut src);
        let err = err.unwrap();
        assert!(err.is_truncation());
        assert!(
            matches!(err.kind, CaptureErrorKind::AbsurdLength { record: 2, length, reason: r }
                if length == u64::from(len) && r == reason),
            "{err}"
        );
    }
}

#[test]
fn pcapng_epb_caplen_beyond_block() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).epb(0, 0, b"abcd", 4);
    let mut bytes = ng.bytes();
    // caplen field of the EPB: SHB 28 + IDB 20 + 8 header + 12
    let at = 28 + 20 + 8 + 12;
    bytes[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
    let mut src = open_bytes("t", bytes).unwrap();
    let (_, err) = drain(&mut src);
    assert!(matches!(
        err.unwrap().kind,
        CaptureErrorKind::BadBlock {
            problem: BlockProblem::CaptureBeyondBlock {
                caplen: 1000,
                room: 16
            },
            ..
        }
    ));
}

#[test]
fn pcapng_trailer_mismatch() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]);
    let mut bytes = ng.bytes();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&24u32.to_le_bytes());
    let mut src = open_bytes("t", bytes).unwrap();
    let (_, err) = drain(&mut src);
    assert!(matches!(
        err.unwrap().kind,
        CaptureErrorKind::BadBlock {
            problem: BlockProblem::TrailerMismatch {
                header: 20,
                trailer: 24
            },
            ..
        }
    ));
}

#[test]
fn pcapng_bad_first_section_is_open_error() {
    let mut bytes = Ng::new(false).bytes();
    bytes[8..12].copy_from_slice(b"XXXX");
    let err = open_err(bytes);
    assert!(!err.is_truncation());
    assert!(matches!(err.kind, CaptureErrorKind::NotACapture { .. }));
    let bytes = Ng::new(false).bytes();
    let err = open_err(bytes[..10].to_vec());
    assert!(matches!(
        err.kind,
        CaptureErrorKind::TruncatedHeader {
            expected: 28,
            got: 10
        }
    ));
    let mut bytes = Ng::new(false).bytes();
    bytes[4..8].copy_from_slice(&(1u32 << 30).to_le_bytes());
    let err = open_err(bytes);
    assert!(!err.is_truncation());
    assert!(matches!(
        err.kind,
        CaptureErrorKind::AbsurdLength { record: 0, .. }
    ));
}

#[test]
fn pcapng_bad_later_section_magic() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).epb(0, 0, b"a", 1);
    let mut bytes = ng.bytes();
    let at = bytes.len();
    bytes.extend(Ng::new(false).bytes());
    bytes[at + 8..at + 12].copy_from_slice(&[1, 2, 3, 4]);
    let mut src = open_bytes("t", bytes).unwrap();
    let (f, err) = drain(&mut src);
    assert_eq!(f.len(), 1);
    assert!(matches!(
        err.unwrap().kind,
        CaptureErrorKind::BadBlock {
            problem: BlockProblem::ByteOrderMagic(0x0102_0304),
            ..
        }
    ));
}

// ---------- gzip ----------

#[test]
fn gzip_pcap_and_pcapng_detected_by_magic() {
    let plain = pcap(true, NS, 1, &[(1, 2, b"gz", 2), (3, 4, b"zip", 3)]);
    let mut src = open_bytes("noext", gzip(&[&plain])).unwrap();
    assert!(src.is_gzip());
    let (f, err) = drain(&mut src);
    assert!(err.is_none());
    assert_eq!(f, read_all(plain));

    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).epb(0, 9, b"ng", 2);
    let plain = ng.bytes();
    // Split over two gzip members, as `cat a.gz b.gz` makes.
    let (a, b) = plain.split_at(30);
    let f = read_all(gzip(&[a, b]));
    assert_eq!(f, read_all(plain));
}

#[test]
fn corrupt_gzip() {
    // Garbage right after the gzip magic: fails while opening.
    let err = open_err(vec![0x1f, 0x8b, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0]);
    assert!(!err.is_truncation());
    assert!(matches!(err.kind, CaptureErrorKind::Gzip { record: 0, .. }));
    assert!(err.to_string().starts_with("t.pcap: corrupt gzip stream"));

    // A gzip stream cut in the middle: frames before are kept.
    let recs: Vec<(u32, u32, Vec<u8>, u32)> = (0..200u32)
        .map(|i| (i, 0, (0..200).map(|j| (i * j) as u8).collect(), 200))
        .collect();
    let recs: Vec<(u32, u32, &[u8], u32)> = recs
        .iter()
        .map(|(a, b, d, o)| (*a, *b, &d[..], *o))
        .collect();
    let mut gz = gzip(&[&pcap(false, US, 1, &recs)]);
    gz.truncate(gz.len() / 2);
    let mut src = open_bytes("t", gz).unwrap();
    let (f, err) = drain(&mut src);
    let err = err.unwrap();
    assert!(!f.is_empty() && f.len() < 200, "{}", f.len());
    assert!(err.is_truncation(), "{err}");
}

// ---------- misc ----------

#[test]
fn progress_and_name() {
    let bytes = pcap(false, US, 1, &[(1, 0, b"abc", 3)]);
    let total = bytes.len() as u64;
    let mut src = open_bytes("mem", bytes).unwrap();
    assert_eq!(src.name(), "mem");
    assert_eq!(src.progress(), (24, Some(total)));
    drain(&mut src);
    assert_eq!(src.progress(), (total, Some(total)));
}

#[test]
fn sources_are_send() {
    fn is_send<T: Send>() {}
    is_send::<FileSource>();
    is_send::<CaptureError>();
    #[cfg(feature = "live")]
    is_send::<LiveSource>();
}

#[test]
fn frame_source_is_object_safe() {
    let bytes = pcap(false, US, 1, &[(1, 0, b"abc", 3)]);
    let mut src: Box<dyn FrameSource + Send> = Box::new(open_bytes("t", bytes).unwrap());
    assert!(src.next_frame().unwrap().is_some());
    assert!(src.next_frame().unwrap().is_none());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(mut src) = open_bytes("p", bytes) {
            let (frames, _) = drain(&mut src);
            for (i, f) in frames.iter().enumerate() {
                prop_assert_eq!(f.number, i as u64 + 1);
            }
        }
    }

    #[test]
    fn arbitrary_records_after_valid_headers_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..512),
        which in 0u8..4,
    ) {
        let mut bytes = match which {
            0 => pcap(false, US, 1, &[]),
            1 => pcap(true, NS, 1, &[]),
            2 => { let mut ng = Ng::new(false); ng.idb(1, 0, &[(9, &[0x85])]); ng.bytes() }
            _ => { let mut ng = Ng::new(true); ng.idb(1, 64, &[]); ng.bytes() }
        };
        bytes.extend(tail);
        let mut src = open_bytes("p", bytes).unwrap();
        let (frames, err) = drain(&mut src);
        if let Some(e) = err {
            prop_assert!(e.is_truncation());
            prop_assert!(!e.to_string().contains('\n'));
        }
        for f in &frames {
            prop_assert!(f.data.len() <= 512);
        }
    }

    #[test]
    fn pcap_round_trip(recs in proptest::collection::vec(
        (any::<u32>(), 0u32..1_000_000, proptest::collection::vec(any::<u8>(), 0..64)), 0..20)) {
        let refs: Vec<(u32, u32, &[u8], u32)> =
            recs.iter().map(|(s, f, d, )| (*s, *f, &d[..], d.len() as u32)).collect();
        let frames = read_all(pcap(false, US, 1, &refs));
        prop_assert_eq!(frames.len(), recs.len());
        for (f, (s, us, d)) in frames.iter().zip(&recs) {
            prop_assert_eq!(f.ts, Timestamp(u64::from(*s) * 1_000_000_000 + u64::from(*us) * 1000));
            prop_assert_eq!(&f.data, d);
        }
    }
}

#[test]
fn first_section_errors_name_the_file_header() {
    // SHB with an option, cut inside it: an open error, not a truncated record.
    let mut ng = Ng::new(false);
    ng.out.clear();
    let mut body = ng.u32(0x1a2b_3c4d).to_vec();
    body.extend_from_slice(&[1, 0, 0, 0]);
    body.extend_from_slice(&[0xff; 8]);
    body.extend_from_slice(&[4, 0, 4, 0]); // shb_userappl
    body.extend_from_slice(b"test");
    body.extend_from_slice(&[0; 4]);
    ng.block(0x0a0d_0d0a, &body);
    let bytes = ng.bytes();
    assert_eq!(bytes.len(), 40);
    let err = open_err(bytes[..30].to_vec());
    assert!(!err.is_truncation());
    assert!(matches!(
        err.kind,
        CaptureErrorKind::TruncatedHeader {
            expected: 40,
            got: 30
        }
    ));
    let mut bytes = bytes;
    bytes[36..].copy_from_slice(&44u32.to_le_bytes());
    let err = open_err(bytes);
    assert!(!err.is_truncation());
    assert_eq!(
        err.to_string(),
        "t.pcap: bad pcapng block (type 0x0a0d0d0a) in file header at byte 0: trailing length 44 differs from leading length 40"
    );
}

#[cfg(feature = "live")]
mod live_tests {
    use super::super::*;

    #[test]
    fn unknown_device_is_an_open_error() {
        let err = LiveSource::open("siplens-nosuchdev0", None, 65535, false).unwrap_err();
        assert_eq!(err.interface, "siplens-nosuchdev0");
        assert!(
            matches!(err.kind, LiveErrorKind::NoSuchDevice { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("siplens-nosuchdev0: no such interface"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
    }

    /// Needs CAP_NET_RAW: `cargo test --features live -- --ignored live_loopback`.
    #[test]
    #[ignore]
    fn live_loopback_sees_a_udp_datagram() {
        let mut src = LiveSource::open("lo", Some("udp and dst port 45999"), 65535, false).unwrap();
        assert_eq!(src.name(), "lo");
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.send_to(b"siplens-live", "127.0.0.1:45999").unwrap();
        let f = src.next_frame().unwrap().unwrap();
        assert_eq!(f.number, 1);
        assert!(f.data.ends_with(b"siplens-live"));
        assert_eq!(src.link_types(), vec![LinkType::ETHERNET]);
        src.stop_handle()
            .store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(src.next_frame().unwrap().is_none());
    }
}

// ---------- reading ahead on a second thread ----------

/// Frames and terminating error (as text) of `bytes` read through `open_reader` (the
/// reader thread) and through `open_bytes` (this thread).
fn both_ways(bytes: Vec<u8>) -> [(Vec<Frame>, Option<String>); 2] {
    let mut ahead =
        open_reader("t", Box::new(std::io::Cursor::new(bytes.clone())), None).expect("opens ahead");
    let mut here = open_bytes("t", bytes).expect("opens here");
    let a = drain(&mut ahead);
    let b = drain(&mut here);
    [
        (a.0, a.1.map(|e| e.to_string())),
        (b.0, b.1.map(|e| e.to_string())),
    ]
}

#[test]
fn read_ahead_gives_the_same_frames_and_errors() {
    // Records of every size from 0 to 1499 bytes: over 750 KB, so they straddle the reader
    // thread's 256 KiB buffers at many offsets.
    let datas: Vec<Vec<u8>> = (0..1500u32)
        .map(|i| vec![(i % 251) as u8; i as usize])
        .collect();
    let recs: Vec<(u32, u32, &[u8], u32)> = datas
        .iter()
        .enumerate()
        .map(|(i, d)| (i as u32, 0, d.as_slice(), d.len() as u32))
        .collect();
    let whole = pcap(false, US, 1, &recs);
    assert!(whole.len() > 3 * readahead::CHUNK);
    let [ahead, here] = both_ways(whole.clone());
    assert_eq!(ahead.0.len(), 1500);
    assert_eq!(ahead, here);

    // Cut inside a record past the first buffer: everything before the cut, same error.
    let mut cut = whole.clone();
    cut.truncate(readahead::CHUNK + 12_345);
    let [ahead, here] = both_ways(cut);
    assert!(ahead
        .1
        .as_deref()
        .is_some_and(|e| e.contains("truncated record")));
    assert!(!ahead.0.is_empty());
    assert_eq!(ahead, here);

    // gzip is decompressed on the reader thread.
    let [ahead, here] = both_ways(gzip(&[&whole]));
    assert_eq!(ahead.0.len(), 1500);
    assert_eq!(ahead, here);
}

#[test]
fn pcapng_decryption_secrets_block_carries_a_tls_key_log() {
    let log = b"CLIENT_RANDOM 00 11\n";
    let dsb = |ng: &Ng, kind: u32, data: &[u8]| {
        let mut body = ng.u32(kind).to_vec();
        body.extend(ng.u32(data.len() as u32));
        body.extend_from_slice(data);
        body
    };
    for big in [false, true] {
        let mut ng = Ng::new(big);
        let tls = dsb(&ng, 0x544c_534b, log);
        let wg = dsb(&ng, 0x5747_4b4c, b"wireguard keys");
        let lying = dsb(&ng, 0x544c_534b, b"x")[..8].to_vec(); // length 1, no room
        ng.idb(1, 0, &[])
            .epb(0, 1, b"1", 1)
            .block(0x0A, &tls)
            .block(0x0A, &wg)
            .block(0x0A, &lying)
            .epb(0, 2, b"2", 1);
        let mut src = open_bytes("t", ng.bytes()).unwrap();
        let f1 = src.next_frame().unwrap().unwrap();
        assert_eq!(f1.data, b"1");
        assert!(src.take_secrets().is_empty(), "the DSB comes after frame 1");
        let f2 = src.next_frame().unwrap().unwrap();
        assert_eq!(f2.data, b"2");
        // Taken before frame 2 is processed; padding is not part of the key log.
        assert_eq!(src.take_secrets(), vec![log.to_vec()]);
        assert!(src.take_secrets().is_empty());
        assert_eq!(src.secrets_skipped(), 2);
        assert!(src.next_frame().unwrap().is_none());
    }
}

#[test]
fn pcapng_truncated_decryption_secrets_block_keeps_earlier_frames() {
    let mut ng = Ng::new(false);
    let mut body = ng.u32(0x544c_534b).to_vec();
    body.extend(ng.u32(64));
    body.extend([b'C'; 64]);
    ng.idb(1, 0, &[]).epb(0, 1, b"1", 1).block(0x0A, &body);
    let mut bytes = ng.bytes();
    bytes.truncate(bytes.len() - 40);
    let mut src = open_bytes("t", bytes).unwrap();
    let (f, err) = drain(&mut src);
    assert_eq!(f.len(), 1);
    assert!(err.unwrap().to_string().contains("truncated"));
    assert!(src.take_secrets().is_empty());
}

// ---------- lent frames ----------

/// What a reader saw of one input: each frame with the key logs taken just before it, and
/// the error that ended it.
type Seen = (Vec<(Frame, Vec<Vec<u8>>)>, Option<String>);

/// Reads `src` with `lend_frame`, turning lent frames into owned ones.
fn drain_lent(src: &mut FileSource) -> (Seen, usize) {
    let mut out = Vec::new();
    let mut lent = 0;
    loop {
        let frame = match src.lend_frame() {
            Ok(Some(Lent::Owned(f))) => f,
            Ok(Some(Lent::Borrowed { frame, origin })) => {
                assert!(origin.is_none(), "bytes in memory have no file to re-read");
                lent += 1;
                Frame {
                    number: frame.number,
                    ts: frame.ts,
                    link_type: frame.link_type,
                    data: frame.data.to_vec(),
                    orig_len: frame.orig_len,
                    interface: frame.interface,
                }
            }
            Ok(None) => return ((out, None), lent),
            Err(e) => {
                assert!(matches!(src.lend_frame(), Ok(None)));
                return ((out, Some(e.to_string())), lent);
            }
        };
        out.push((frame, src.take_secrets()));
    }
}

/// Reads `src` with `next_frame`, as the engine did before frames were lent.
fn drain_owned(src: &mut FileSource) -> Seen {
    let mut out = Vec::new();
    loop {
        match src.next_frame() {
            Ok(Some(f)) => out.push((f, src.take_secrets())),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e.to_string())),
        }
    }
}

/// Lending is only a way of reading: for any input and wherever the read buffer's
/// chunks end (inside a record header, the data, the options or a trailer), the frames,
/// their numbers and times, the key logs taken before each and the final error are those
/// of copying every frame; and frames whole in a chunk are indeed lent.
#[test]
fn lent_frames_equal_copied_frames_at_every_chunking() {
    let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    let recs: Vec<(u32, u32, Vec<u8>, u32)> = (0..40u8)
        .map(|i| (u32::from(i), 7, vec![i; 1 + usize::from(i) * 13 % 200], 900))
        .collect();
    let recs_ref: Vec<(u32, u32, &[u8], u32)> = recs
        .iter()
        .map(|(a, b, d, o)| (*a, *b, d.as_slice(), *o))
        .collect();
    inputs.push(("pcap", pcap(false, US, 1, &recs_ref)));
    inputs.push(("pcap-be", pcap(true, NS, 101, &recs_ref)));
    let mut cut = pcap(false, US, 1, &recs_ref);
    cut.truncate(cut.len() - 57);
    inputs.push(("pcap-cut", cut));
    for big in [false, true] {
        let mut ng = Ng::new(big);
        let log = b"CLIENT_RANDOM 00 11\n";
        let mut dsb = ng.u32(0x544c_534b).to_vec();
        dsb.extend_from_slice(&ng.u32(log.len() as u32));
        dsb.extend_from_slice(log);
        dsb.extend(std::iter::repeat_n(0, (4 - log.len() % 4) % 4));
        ng.idb(1, 0, &[]).idb(101, 0, &[(9, &[9])]);
        for (i, (_, _, d, _)) in recs.iter().enumerate() {
            match i % 5 {
                0 => ng.epb(0, i as u64, d, 1000),
                1 => ng.epb(1, i as u64 * 3, d, d.len() as u32),
                2 => ng.spb(d.len() as u32, d),
                3 => ng.pb(1, i as u64, d),
                _ => ng.block(0x0A, &dsb).epb(0, i as u64, d, 77),
            };
        }
        let whole = ng.bytes();
        inputs.push((if big { "pcapng-be" } else { "pcapng" }, whole.clone()));
        let mut cut = whole.clone();
        cut.truncate(cut.len() - 9);
        inputs.push(("pcapng-cut", cut));
        // A trailer that does not match its header: the copying path names it.
        let mut bad = whole;
        let n = bad.len();
        if let Some(b) = bad.get_mut(n - 1) {
            *b ^= 0x40;
        }
        inputs.push(("pcapng-bad-trailer", bad));
    }
    inputs.push(("gzip", gzip(&[&pcap(false, US, 1, &recs_ref)])));
    for (name, bytes) in &inputs {
        let want = drain_owned(&mut open_bytes("t", bytes.clone()).unwrap());
        assert!(want.0.len() >= 30, "{name}: {} frames", want.0.len());
        let (got, lent) = drain_lent(&mut open_bytes("t", bytes.clone()).unwrap());
        assert_eq!(got, want, "{name}, one buffer");
        assert!(lent > 0, "{name}: nothing was lent");
        for chunk in [1, 3, 16, 17, 64, 100, 333, 4096] {
            let mut src = file::open_bytes_chunked("t", bytes.clone(), chunk).unwrap();
            let (got, _) = drain_lent(&mut src);
            assert_eq!(got, want, "{name}, chunks of {chunk}");
        }
    }
}

/// A file opened by path lends each frame with where its bytes are in the file, as
/// `frame_origin` says of a copied frame.
#[test]
fn lent_frames_carry_their_file_offset() {
    let recs: Vec<(u32, u32, &[u8], u32)> = vec![(1, 0, b"abc", 3), (2, 0, b"defgh", 5)];
    let bytes = pcap(false, US, 1, &recs);
    let dir = std::env::temp_dir().join(format!("siplens-lend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("two.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let mut src = open_path(&path).unwrap();
    let mut offsets = Vec::new();
    while let Some(l) = src.lend_frame().unwrap() {
        match l {
            Lent::Borrowed { frame, origin } => {
                let (p, at) = origin.unwrap();
                assert_eq!(p, path.as_path());
                let at = usize::try_from(at).unwrap();
                assert_eq!(bytes.get(at..at + frame.data.len()), Some(frame.data));
                offsets.push(at);
            }
            Lent::Owned(_) => panic!("a small file lies whole in the first chunk"),
        }
    }
    assert_eq!(offsets, vec![24 + 16, 24 + 16 + 3 + 16]);
    std::fs::remove_dir_all(&dir).unwrap();
}
