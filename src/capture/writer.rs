//! Capture writers: classic pcap, pcapng, and a rotating pcapng writer.
//!
//! Frames are written as captured: timestamp, captured bytes and original length are kept,
//! so that a file written here and read back with [`super::open_bytes`] gives the same
//! frames (frame numbers restart at 1 and, for pcapng, interface ids are those this writer
//! assigned). Both formats write timestamps in nanoseconds, the resolution of
//! [`Timestamp`].

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{Frame, LinkType, Timestamp, MAX_PCAP_CAPLEN};

/// Anything that accepts frames for writing: a pcap or pcapng file, a rotating set of
/// files.
pub trait FrameSink {
    /// Writes one frame (in the order given: callers pass capture order).
    fn write_frame(&mut self, f: &Frame) -> io::Result<()>;
    /// Pushes buffered bytes to the underlying writer.
    fn flush(&mut self) -> io::Result<()>;
}

/// Classic pcap magic for nanosecond timestamps, written in our (little-endian) byte order.
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
/// pcapng block types (draft-ietf-opsawg-pcapng §4).
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Option codes (pcapng §3.5, §4.1, §4.2).
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_TSRESOL: u16 = 9;

fn le16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn le32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Padding that brings `len` to a multiple of 4 (pcapng §3.1).
fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Appends one pcapng option (code, length, value, padding).
fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    le16(out, code);
    // Options longer than 64 KiB cannot be written; callers pass short strings.
    let len = value.len().min(usize::from(u16::MAX));
    le16(out, len as u16);
    out.extend_from_slice(value.get(..len).unwrap_or_default());
    out.extend(std::iter::repeat_n(0u8, pad4(len)));
}

/// Wraps a block body into a whole block (type, total length, body, total length).
fn block(block_type: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len()) as u32;
    let mut out = Vec::with_capacity(12 + body.len());
    le32(&mut out, block_type);
    le32(&mut out, total);
    out.extend_from_slice(body);
    le32(&mut out, total);
    out
}

/// Classic libpcap writer (one link type per file; nanosecond timestamps (seconds past
/// 2106 do not fit the 32-bit field and are clamped), magic
/// `a1b23c4d`, snaplen [`MAX_PCAP_CAPLEN`]).
///
/// Frames longer than [`MAX_PCAP_CAPLEN`] are cut to it (their original length is kept), as
/// readers, this crate's included, refuse longer records.
pub struct PcapWriter<W: Write> {
    out: W,
    link_type: LinkType,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for `link_type` and returns the writer.
    pub fn new(mut out: W, link_type: LinkType) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        le32(&mut h, PCAP_MAGIC_NS);
        le16(&mut h, 2);
        le16(&mut h, 4);
        le32(&mut h, 0); // thiszone
        le32(&mut h, 0); // sigfigs
        le32(&mut h, MAX_PCAP_CAPLEN);
        le32(&mut h, link_type.0);
        out.write_all(&h)?;
        Ok(PcapWriter { out, link_type })
    }

    /// The link type of the file.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> FrameSink for PcapWriter<W> {
    /// Fails with `InvalidInput` when the frame's link type is not the file's: a pcap file
    /// has one link type (use [`PcapngWriter`] for mixed inputs).
    fn write_frame(&mut self, f: &Frame) -> io::Result<()> {
        if f.link_type != self.link_type {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame {} has link type {}, the pcap file {}",
                    f.number,
                    f.link_type.name(),
                    self.link_type.name()
                ),
            ));
        }
        let data = f.data.get(..MAX_PCAP_CAPLEN as usize).unwrap_or(&f.data);
        let secs = u32::try_from(f.ts.secs()).unwrap_or(u32::MAX);
        let mut h = Vec::with_capacity(16);
        le32(&mut h, secs);
        le32(&mut h, f.ts.subsec_nanos());
        le32(&mut h, data.len() as u32);
        le32(&mut h, f.orig_len.max(data.len() as u32));
        self.out.write_all(&h)?;
        self.out.write_all(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// pcapng writer: one Section Header Block (with a comment naming siplens), one Interface
/// Description Block per distinct link type, in order of first appearance (interface ids
/// 0, 1, ...), `if_tsresol` = 9 (nanoseconds), and one Enhanced Packet Block per frame.
///
/// Interfaces are keyed by link type only: frames of two input interfaces of the same
/// link type share one interface in the output.
pub struct PcapngWriter<W: Write> {
    out: W,
    interfaces: Vec<LinkType>,
    buf: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the Section Header Block and returns the writer.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut body = Vec::with_capacity(64);
        le32(&mut body, BYTE_ORDER_MAGIC);
        le16(&mut body, 1);
        le16(&mut body, 0);
        // Section length unknown (we stream): -1 (pcapng §4.1).
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        option(
            &mut body,
            OPT_COMMENT,
            b"written by siplens (passive SIP analyzer)",
        );
        let appl = format!("siplens {}", env!("CARGO_PKG_VERSION"));
        option(&mut body, SHB_USERAPPL, appl.as_bytes());
        option(&mut body, OPT_END, b"");
        out.write_all(&block(SHB, &body))?;
        Ok(PcapngWriter {
            out,
            interfaces: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// Link types of the interfaces written so far; the index is the interface id.
    pub fn interfaces(&self) -> &[LinkType] {
        &self.interfaces
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// The interface id for `lt`, writing its IDB the first time.
    fn interface(&mut self, lt: LinkType) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|&l| l == lt) {
            return Ok(i as u32);
        }
        let mut body = Vec::with_capacity(20);
        // Link type is 16 bits in an IDB; higher values cannot be written.
        let code = u16::try_from(lt.0).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("link type {} does not fit a pcapng IDB", lt.0),
            )
        })?;
        le16(&mut body, code);
        le16(&mut body, 0);
        le32(&mut body, 0); // snaplen: no limit
        option(&mut body, IF_TSRESOL, &[9]);
        option(&mut body, OPT_END, b"");
        self.out.write_all(&block(IDB, &body))?;
        self.interfaces.push(lt);
        Ok((self.interfaces.len() - 1) as u32)
    }
}

impl<W: Write> FrameSink for PcapngWriter<W> {
    fn write_frame(&mut self, f: &Frame) -> io::Result<()> {
        let iface = self.interface(f.link_type)?;
        let ts = f.ts.0;
        let len = f.data.len();
        self.buf.clear();
        le32(&mut self.buf, EPB);
        let total = (32 + len + pad4(len)) as u32;
        le32(&mut self.buf, total);
        le32(&mut self.buf, iface);
        le32(&mut self.buf, (ts >> 32) as u32);
        le32(&mut self.buf, ts as u32);
        le32(&mut self.buf, len as u32);
        le32(&mut self.buf, f.orig_len.max(len as u32));
        self.out.write_all(&self.buf)?;
        self.out.write_all(&f.data)?;
        self.buf.clear();
        self.buf.extend(std::iter::repeat_n(0u8, pad4(len)));
        le32(&mut self.buf, total);
        self.out.write_all(&self.buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// When a [`RotatingWriter`] starts a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotate {
    /// Never: one file.
    Never,
    /// Before a frame that would take the file past this many bytes (a file always
    /// holds at least one frame).
    Size(u64),
    /// When a frame's timestamp is this many nanoseconds or more after the first frame
    /// of the current file. Packet time, not wall-clock time, so a replay rotates the
    /// same way.
    Time(u64),
}

/// Why a `--rotate` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RotateParseError {
    /// Nothing given.
    #[error("empty rotation value (expected e.g. 100MB, 1h, 30m, 90s)")]
    Empty,
    /// The number part is missing or not a number.
    #[error("bad number in rotation value {0:?} (expected e.g. 100MB, 1h, 30m, 90s)")]
    Number(String),
    /// The unit is none of B, KB, MB, GB, s, m, h, d.
    #[error("unknown unit {unit:?} in rotation value {value:?} (use B, KB, MB, GB, s, m, h or d)")]
    Unit {
        /// The whole value.
        value: String,
        /// The unit as written.
        unit: String,
    },
    /// Zero or a value that overflows.
    #[error("rotation value {0:?} must be above zero and below 2^64 bytes or nanoseconds")]
    Range(String),
}

/// Parses a `--rotate` value: a size (`100MB`, `1GB`, `500KB`, `4096B`; KB/MB/GB are powers
/// of 1000, KiB/MiB/GiB of 1024) or a duration (`90s`, `30m`, `1h`, `1d`). Case-insensitive.
pub fn parse_rotate(s: &str) -> Result<Rotate, RotateParseError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(RotateParseError::Empty);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| RotateParseError::Number(s.to_string()))?;
    let unit_l = unit.trim().to_ascii_lowercase();
    let (mul, size) = match unit_l.as_str() {
        "b" => (1, true),
        "k" | "kb" => (1_000, true),
        "mb" => (1_000_000, true),
        "g" | "gb" => (1_000_000_000, true),
        "kib" => (1 << 10, true),
        "mib" => (1 << 20, true),
        "gib" => (1 << 30, true),
        "s" => (1_000_000_000, false),
        // `30m` is minutes, as in every tool that takes durations; megabytes are `MB`.
        "m" | "min" => (60_000_000_000, false),
        "h" => (3_600_000_000_000, false),
        "d" => (86_400_000_000_000, false),
        _ => {
            return Err(RotateParseError::Unit {
                value: s.to_string(),
                unit: unit.trim().to_string(),
            })
        }
    };
    let v = n
        .checked_mul(mul)
        .filter(|&v| v > 0)
        .ok_or_else(|| RotateParseError::Range(s.to_string()))?;
    Ok(if size {
        Rotate::Size(v)
    } else {
        Rotate::Time(v)
    })
}

impl fmt::Display for Rotate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rotate::Never => f.write_str("never"),
            Rotate::Size(b) => write!(f, "{b} bytes"),
            Rotate::Time(ns) => write!(f, "{}s", ns / 1_000_000_000),
        }
    }
}

/// Counts bytes written through it (for size rotation).
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes pcapng files that rotate by size or packet time.
///
/// With base `DIR/cap`, files are `DIR/cap-00001.pcapng`, `DIR/cap-00002.pcapng`, ... (five
/// digits, more when needed); a `.pcapng` extension on the base is dropped first. The first
/// file is created with the first frame, so no frame means no file. Each file is a
/// complete pcapng (its own SHB and IDBs).
pub struct RotatingWriter {
    base: PathBuf,
    rotate: Rotate,
    current: Option<PcapngWriter<Counted<BufWriter<File>>>>,
    file_start: Timestamp,
    files: Vec<PathBuf>,
}

impl RotatingWriter {
    /// A writer that will create files named after `base`.
    pub fn new(base: &Path, rotate: Rotate) -> Self {
        let base = if base.extension().is_some_and(|e| e == "pcapng") {
            base.with_extension("")
        } else {
            base.to_path_buf()
        };
        RotatingWriter {
            base,
            rotate,
            current: None,
            file_start: Timestamp(0),
            files: Vec::new(),
        }
    }

    /// The files created so far, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The name of file number `n` (1-based).
    pub fn file_name(&self, n: usize) -> PathBuf {
        let mut name = self.base.as_os_str().to_owned();
        name.push(format!("-{n:05}.pcapng"));
        PathBuf::from(name)
    }

    fn open_next(&mut self, ts: Timestamp) -> io::Result<()> {
        if let Some(mut w) = self.current.take() {
            FrameSink::flush(&mut w)?;
        }
        let path = self.file_name(self.files.len() + 1);
        let file = File::create(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let counted = Counted {
            inner: BufWriter::new(file),
            bytes: 0,
        };
        self.current = Some(PcapngWriter::new(counted)?);
        self.files.push(path);
        self.file_start = ts;
        Ok(())
    }

    /// Bytes an EPB for `f` takes.
    fn epb_len(f: &Frame) -> u64 {
        (32 + f.data.len() + pad4(f.data.len())) as u64
    }
}

impl FrameSink for RotatingWriter {
    fn write_frame(&mut self, f: &Frame) -> io::Result<()> {
        let rotate = match (&self.current, self.rotate) {
            (None, _) => true,
            (Some(_), Rotate::Never) => false,
            (Some(w), Rotate::Size(max)) => {
                // A file holds at least one frame: the SHB alone never triggers.
                let has_frames = !w.interfaces().is_empty();
                has_frames && w.out.bytes + Self::epb_len(f) > max
            }
            (Some(_), Rotate::Time(ns)) => f.ts.since(self.file_start) >= ns,
        };
        if rotate {
            self.open_next(f.ts)?;
        }
        match self.current.as_mut() {
            Some(w) => w.write_frame(f),
            None => Err(io::Error::other("no output file")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.current.as_mut() {
            Some(w) => FrameSink::flush(w),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{open_bytes, FrameSource};

    fn frame(number: u64, ts: u64, lt: LinkType, data: &[u8]) -> Frame {
        Frame {
            number,
            ts: Timestamp(ts),
            link_type: lt,
            data: data.to_vec(),
            orig_len: data.len() as u32 + 3,
            interface: 0,
        }
    }

    fn read_all(bytes: Vec<u8>) -> Vec<Frame> {
        let mut src = open_bytes("t", bytes).expect("opens");
        let mut v = Vec::new();
        while let Some(f) = src.next_frame().expect("reads") {
            v.push(f);
        }
        v
    }

    #[test]
    fn pcap_round_trip() {
        let frames = vec![
            frame(1, 1_700_000_000_123_456_789, LinkType::ETHERNET, b"abcdefg"),
            frame(2, 1_700_000_001_000_000_001, LinkType::ETHERNET, b""),
            frame(
                3,
                1_700_000_002_999_999_999,
                LinkType::ETHERNET,
                &[7u8; 1500],
            ),
        ];
        let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET).expect("header");
        for f in &frames {
            w.write_frame(f).expect("write");
        }
        let back = read_all(w.into_inner().expect("flush"));
        assert_eq!(back, frames);
    }

    #[test]
    fn pcap_refuses_other_link_type() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET).expect("header");
        let e = w
            .write_frame(&frame(1, 1, LinkType::RAW, b"x"))
            .expect_err("mixed");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn pcapng_round_trip_two_link_types() {
        let frames = vec![
            frame(1, 1_700_000_000_123_456_789, LinkType::ETHERNET, b"abcde"),
            frame(2, 1_700_000_000_223_456_789, LinkType::LINUX_SLL, b"abcdef"),
            frame(3, 1_700_000_000_323_456_789, LinkType::ETHERNET, b"abcdefg"),
            frame(4, 1_700_000_000_423_456_789, LinkType::RAW, b"ab"),
        ];
        let mut w = PcapngWriter::new(Vec::new()).expect("shb");
        for f in &frames {
            w.write_frame(f).expect("write");
        }
        assert_eq!(
            w.interfaces(),
            &[LinkType::ETHERNET, LinkType::LINUX_SLL, LinkType::RAW]
        );
        let back = read_all(w.into_inner().expect("flush"));
        let ifaces: Vec<u32> = back.iter().map(|f| f.interface).collect();
        assert_eq!(ifaces, vec![0, 1, 0, 2]);
        let strip = |v: &[Frame]| -> Vec<Frame> {
            v.iter()
                .map(|f| Frame {
                    interface: 0,
                    ..f.clone()
                })
                .collect()
        };
        assert_eq!(strip(&back), frames);
    }

    #[test]
    fn parse_rotate_forms() {
        assert_eq!(parse_rotate("100MB"), Ok(Rotate::Size(100_000_000)));
        assert_eq!(parse_rotate("1gib"), Ok(Rotate::Size(1 << 30)));
        assert_eq!(parse_rotate("4096B"), Ok(Rotate::Size(4096)));
        assert_eq!(parse_rotate("1h"), Ok(Rotate::Time(3_600_000_000_000)));
        assert_eq!(parse_rotate("30m"), Ok(Rotate::Time(1_800_000_000_000)));
        assert_eq!(parse_rotate("90s"), Ok(Rotate::Time(90_000_000_000)));
        assert_eq!(parse_rotate(" 2d "), Ok(Rotate::Time(172_800_000_000_000)));
        assert_eq!(parse_rotate(""), Err(RotateParseError::Empty));
        assert!(matches!(
            parse_rotate("MB"),
            Err(RotateParseError::Number(_))
        ));
        assert!(matches!(
            parse_rotate("10parsecs"),
            Err(RotateParseError::Unit { .. })
        ));
        assert!(matches!(
            parse_rotate("0s"),
            Err(RotateParseError::Range(_))
        ));
        assert!(matches!(
            parse_rotate("99999999999999d"),
            Err(RotateParseError::Range(_))
        ));
    }

    proptest::proptest! {
        /// Any frames survive a pcapng round trip, and a pcap one when of one link type.
        #[test]
        fn round_trips_arbitrary_frames(
            raw in proptest::collection::vec(
                (0u64..u64::MAX / 2, 0usize..3, proptest::collection::vec(proptest::num::u8::ANY, 0..300), 0u32..5),
                0..20,
            )
        ) {
            let lts = [LinkType::ETHERNET, LinkType::RAW, LinkType::LINUX_SLL2];
            let frames: Vec<Frame> = raw
                .iter()
                .enumerate()
                .map(|(i, (ts, lt, data, extra))| Frame {
                    number: i as u64 + 1,
                    ts: Timestamp(*ts),
                    link_type: lts[*lt],
                    data: data.clone(),
                    orig_len: data.len() as u32 + extra,
                    interface: 0,
                })
                .collect();
            let mut w = PcapngWriter::new(Vec::new()).expect("shb");
            for f in &frames {
                w.write_frame(f).expect("write");
            }
            let ids: Vec<u32> = frames
                .iter()
                .map(|f| w.interfaces().iter().position(|&l| l == f.link_type).unwrap_or(99) as u32)
                .collect();
            let back = read_all(w.into_inner().expect("flush"));
            let want: Vec<Frame> = frames
                .iter()
                .zip(&ids)
                .map(|(f, &i)| Frame { interface: i, ..f.clone() })
                .collect();
            proptest::prop_assert_eq!(&back, &want);

            // pcap: seconds are 32 bits, so keep timestamps below 2^32 s.
            let mut p = PcapWriter::new(Vec::new(), LinkType::RAW).expect("header");
            let one: Vec<Frame> = frames
                .iter()
                .map(|f| Frame {
                    link_type: LinkType::RAW,
                    ts: Timestamp(f.ts.0 % (u64::from(u32::MAX) * 1_000_000_000)),
                    ..f.clone()
                })
                .collect();
            for f in &one {
                p.write_frame(f).expect("write");
            }
            proptest::prop_assert_eq!(read_all(p.into_inner().expect("flush")), one);
        }
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("siplens-writer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tmp dir");
        d
    }

    #[test]
    fn rotates_by_packet_time() {
        let dir = tmpdir("time");
        let mut w = RotatingWriter::new(&dir.join("cap.pcapng"), Rotate::Time(10_000_000_000));
        let s = 1_000_000_000u64;
        let frames: Vec<Frame> = [0, 5, 9, 10, 19, 35]
            .iter()
            .enumerate()
            .map(|(i, t)| frame(i as u64 + 1, 1_700_000_000 * s + t * s, LinkType::RAW, b"x"))
            .collect();
        for f in &frames {
            w.write_frame(f).expect("write");
        }
        FrameSink::flush(&mut w).expect("flush");
        let files = w.files().to_vec();
        assert_eq!(
            files,
            vec![
                dir.join("cap-00001.pcapng"),
                dir.join("cap-00002.pcapng"),
                dir.join("cap-00003.pcapng")
            ]
        );
        let counts: Vec<usize> = files
            .iter()
            .map(|p| read_all(std::fs::read(p).expect("file")).len())
            .collect();
        assert_eq!(counts, vec![3, 2, 1]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rotates_by_size_and_keeps_every_frame() {
        let dir = tmpdir("size");
        let mut w = RotatingWriter::new(&dir.join("cap"), Rotate::Size(1000));
        let frames: Vec<Frame> = (1..=20)
            .map(|i| frame(i, i * 1000, LinkType::ETHERNET, &[i as u8; 200]))
            .collect();
        for f in &frames {
            w.write_frame(f).expect("write");
        }
        FrameSink::flush(&mut w).expect("flush");
        let mut back = Vec::new();
        for p in w.files() {
            let bytes = std::fs::read(p).expect("file");
            assert!(
                bytes.len() <= 1000,
                "{} is {} bytes",
                p.display(),
                bytes.len()
            );
            back.extend(read_all(bytes));
        }
        assert!(w.files().len() > 1);
        let payloads: Vec<Vec<u8>> = back.into_iter().map(|f| f.data).collect();
        let want: Vec<Vec<u8>> = frames.into_iter().map(|f| f.data).collect();
        assert_eq!(payloads, want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
