//! Pure-Rust reader for pcap and pcapng files, plain or gzip-compressed.
//!
//! Formats follow draft-ietf-opsawg-pcap (classic pcap, §4 file header, §5 packet record)
//! and draft-ietf-opsawg-pcapng (§4 block structure, §4.1 SHB, §4.2 IDB, §4.3 EPB,
//! §4.4 SPB, Appendix A obsolete Packet Block). The reader streams: it holds one buffered
//! reader and never more than one record in memory.

use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use super::error::{BlockProblem, CaptureError, CaptureErrorKind};
use super::readahead::{self, ReadAhead};
use super::{Frame, FrameRef, FrameSource, Lent, LinkType, Timestamp};

/// Read buffer size: large enough that small records cost a memcpy, not a syscall.
const BUF_CAP: usize = 256 * 1024;

/// Largest captured length accepted in a pcap record. libpcap's own limit
/// (`MAXIMUM_SNAPLEN`) is 262144; a larger value means a corrupt or hostile file.
pub const MAX_PCAP_CAPLEN: u32 = 262_144;

/// Largest pcapng block accepted (Wireshark uses the same 16 MiB bound).
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// Packet data up to this size is reserved at once at its final size; larger (pcapng
/// only, bounded by [`MAX_BLOCK_LEN`]) grows as bytes actually arrive, so a truncated file
/// cannot make us allocate 16 MiB for nothing.
const EAGER_DATA_LEN: usize = 262_144;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
/// Decryption Secrets Block (pcapng §4.7, draft-ietf-opsawg-pcapng).
const PCAPNG_DSB: u32 = 0x0000_000A;
/// DSB secrets type of a TLS key log in the NSS `SSLKEYLOGFILE` format ("TLSK").
const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;
/// Most key log bytes kept from all the DSBs of one input: 16 MiB holds ~100k TLS 1.3
/// sessions; what is beyond is skipped (and counted in [`FileSource::secrets_skipped`]).
const MAX_SECRETS_BYTES: usize = 16 * 1024 * 1024;
/// Smallest block: type, length, trailing length.
const PCAPNG_MIN_BLOCK: u32 = 12;
/// Smallest SHB: block framing plus byte-order magic, versions and section length.
const PCAPNG_MIN_SHB: u32 = 28;

/// The container format of an opened capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic pcap; `nanos` for the nanosecond-resolution magic.
    Pcap {
        /// Timestamps are in nanoseconds (magic `a1b23c4d`).
        nanos: bool,
    },
    /// pcapng.
    PcapNg,
}

/// Byte order of the current file or pcapng section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
    fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
    fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }
    /// `N` bytes at `at`, if the slice holds them.
    fn bytes<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
        b.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    /// u16 at `at`. Callers read fixed fields of buffers whose length they checked first
    /// (stack headers, the IDB body after its length test), so the 0 fallback only keeps
    /// the function panic-free; it never stands in for a real field.
    fn u16_at(self, b: &[u8], at: usize) -> u16 {
        Self::bytes::<2>(b, at).map_or(0, |a| self.u16(a))
    }
    /// u32 at `at`; same contract as [`Endian::u16_at`].
    fn u32_at(self, b: &[u8], at: usize) -> u32 {
        Self::bytes::<4>(b, at).map_or(0, |a| self.u32(a))
    }
}

/// How raw pcapng timestamp units become nanoseconds (`if_tsresol`, pcapng §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// Units coarser than or equal to 1 ns: multiply.
    Mul(u64),
    /// Units finer than 1 ns (10^-k, k > 9): divide.
    Div(u64),
    /// Units of 2^-k seconds.
    Pow2(u32),
    /// A resolution so fine every realistic value is 0 ns.
    Zero,
}

impl Scale {
    /// Decodes an `if_tsresol` byte: MSB clear = 10^-v s, MSB set = 2^-v s.
    fn from_tsresol(v: u8) -> Scale {
        let exp = u32::from(v & 0x7f);
        if v & 0x80 != 0 {
            return Scale::Pow2(exp);
        }
        if exp <= 9 {
            Scale::Mul(10u64.pow(9 - exp))
        } else {
            10u64.checked_pow(exp - 9).map_or(Scale::Zero, Scale::Div)
        }
    }

    fn to_nanos(self, raw: u64) -> u64 {
        match self {
            Scale::Mul(m) => raw.saturating_mul(m),
            Scale::Div(d) => raw / d,
            Scale::Pow2(k) => {
                let ns = (u128::from(raw) * 1_000_000_000u128)
                    .checked_shr(k)
                    .unwrap_or(0);
                u64::try_from(ns).unwrap_or(u64::MAX)
            }
            Scale::Zero => 0,
        }
    }
}

/// One pcapng interface (IDB) of the current section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    /// 0 = unlimited.
    snaplen: u32,
    scale: Scale,
    /// `if_tsoffset`: seconds added to every timestamp of the interface.
    offset_secs: i64,
}

impl Interface {
    fn timestamp(&self, hi: u32, lo: u32) -> Timestamp {
        let raw = (u64::from(hi) << 32) | u64::from(lo);
        let ns = self.scale.to_nanos(raw);
        if self.offset_secs == 0 {
            return Timestamp(ns);
        }
        let shifted = i128::from(ns) + i128::from(self.offset_secs) * 1_000_000_000;
        Timestamp(u64::try_from(shifted.max(0)).unwrap_or(u64::MAX))
    }
}

#[derive(Debug)]
enum Layout {
    Pcap {
        endian: Endian,
        nanos: bool,
        /// Extra bytes per record header (8 for Kuznetsov's "modified" pcap, `a1b2cd34`).
        extra: u64,
        link_type: LinkType,
    },
    PcapNg {
        endian: Endian,
        interfaces: Vec<Interface>,
        /// Timestamp of the last packet, given to Simple Packet Blocks, which have none:
        /// engine time then never jumps back to 1970 (pcapng §4.4 leaves it unspecified).
        last_ts: Timestamp,
    },
}

/// The framing of one pcapng block being read (pcapng §3.1).
#[derive(Debug, Clone, Copy)]
struct Block {
    /// Offset of the block's first byte.
    start: u64,
    /// 1-based block number in the input (0 for the first SHB, read while opening).
    record: u64,
    block_type: u32,
    /// Block total length, validated by `check_block_len` before use.
    len: u32,
    endian: Endian,
}

impl Block {
    /// Bytes between the 8-byte header and the 4-byte trailer.
    fn body_len(&self) -> u32 {
        self.len.saturating_sub(PCAPNG_MIN_BLOCK)
    }
}

/// Counts bytes pulled from the underlying input, for progress on compressed input.
struct Counting {
    inner: Box<dyn Read + Send>,
    count: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where a [`FileSource`] reads its bytes from.
///
/// An uncompressed input read on the reader's own thread (a file under the engine's
/// pipeline, bytes in memory) goes through one buffer with no indirection: a pcap record
/// takes a few `fill_buf`/`consume` calls, and through the boxed layers (the sniffed bytes
/// chained back in front, a trait object) they cost more than decoding an RTP packet.
enum Input {
    /// One buffer over the input, nothing consumed by the format sniffing.
    Plain(BufReader<Counting>),
    /// Anything else: gzip, the sniffed bytes chained back in front of a short first
    /// read, the read-ahead thread.
    Other(Box<dyn BufRead + Send>),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(buf),
            Input::Other(r) => r.read(buf),
        }
    }
}

impl BufRead for Input {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Input::Plain(r) => r.fill_buf(),
            Input::Other(r) => r.fill_buf(),
        }
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        match self {
            Input::Plain(r) => r.consume(n),
            Input::Other(r) => r.consume(n),
        }
    }
}

/// The gzip member magic (RFC 1952 §2.3.1) at the start of `head`.
fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(rest) = buf.get_mut(n..) else { break };
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A capture file (or stdin, or bytes in memory) read frame by frame.
pub struct FileSource {
    name: String,
    reader: Input,
    /// Chunk size of the read-ahead thread still to start ([`ReadAhead`]): started at the
    /// first frame, unless the source was moved to a thread of its own first
    /// ([`FrameSource::as_send`]), where it reads for itself.
    ahead: Option<usize>,
    raw_read: Arc<AtomicU64>,
    total: Option<u64>,
    gzip: bool,
    /// Logical (decompressed) position in the capture structure.
    offset: u64,
    frames: u64,
    records: u64,
    done: bool,
    layout: Layout,
    link_types: Vec<LinkType>,
    scratch: Vec<u8>,
    /// A frame buffer given back by [`FrameSource::recycle`], reused by the next frame.
    spare: Vec<u8>,
    /// The file, when the input can be read again by seeking (an uncompressed file opened
    /// by path): messages then keep where they are instead of a copy.
    path: Option<std::path::PathBuf>,
    /// Offset in the file of the last frame's packet data.
    data_at: u64,
    /// Bytes at the front of the reader's buffer lent out as the last frame
    /// ([`FrameSource::lend_frame`]), consumed at the next read.
    lent: usize,
    /// TLS key logs read from Decryption Secrets Blocks, not yet taken.
    secrets: Vec<Vec<u8>>,
    /// Key log bytes kept so far (bounded by [`MAX_SECRETS_BYTES`]).
    secrets_bytes: usize,
    /// DSBs skipped: another secrets type, or past [`MAX_SECRETS_BYTES`].
    secrets_skipped: u64,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("name", &self.name)
            .field("gzip", &self.gzip)
            .field("offset", &self.offset)
            .field("frames", &self.frames)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// Opens a capture file; `-` reads standard input.
pub fn open_path(path: &Path) -> Result<FileSource, CaptureError> {
    if path.as_os_str() == "-" {
        return open_reader("<stdin>", Box::new(io::stdin()), None);
    }
    let name = path.display().to_string();
    let io_err = |source| CaptureError::new(&name, 0, CaptureErrorKind::Io { record: 0, source });
    let file = std::fs::File::open(path).map_err(io_err)?;
    let total = file.metadata().map_err(io_err)?.len();
    let mut src = open_stream(&name, Box::new(file), Some(total), Some(readahead::CHUNK))?;
    if !src.gzip {
        src.path = Some(path.to_path_buf());
    }
    Ok(src)
}

/// Opens a capture from in-memory bytes (tests, fuzzing, HEP payloads). Read on the
/// caller's thread: there is no kernel copy to move elsewhere.
pub fn open_bytes(name: &str, bytes: Vec<u8>) -> Result<FileSource, CaptureError> {
    let total = bytes.len() as u64;
    open_stream(name, Box::new(Cursor::new(bytes)), Some(total), None)
}

/// As [`open_bytes`], read ahead on a thread in chunks of `chunk` bytes: tests put chunk
/// boundaries anywhere in a record.
#[cfg(test)]
pub(crate) fn open_bytes_chunked(
    name: &str,
    bytes: Vec<u8>,
    chunk: usize,
) -> Result<FileSource, CaptureError> {
    let total = bytes.len() as u64;
    open_stream(name, Box::new(Cursor::new(bytes)), Some(total), Some(chunk))
}

/// Opens a capture from any reader. The format is detected from the first bytes: gzip
/// (`1f 8b`, decompressed transparently, several members allowed), then pcap or pcapng;
/// never from the name. `total` is the input size for [`FrameSource::progress`].
///
/// The input is read, and decompressed, ahead on a second thread ([`ReadAhead`]).
pub fn open_reader(
    name: &str,
    reader: Box<dyn Read + Send>,
    total: Option<u64>,
) -> Result<FileSource, CaptureError> {
    open_stream(name, reader, total, Some(readahead::CHUNK))
}

fn open_stream(
    name: &str,
    reader: Box<dyn Read + Send>,
    total: Option<u64>,
    ahead: Option<usize>,
) -> Result<FileSource, CaptureError> {
    let count = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: reader,
        count: Arc::clone(&count),
    };
    let mut plain = BufReader::with_capacity(BUF_CAP, counting);
    // Sniffed in place when the first read gives the four bytes (a file always does):
    // nothing consumed, nothing to put back.
    let peeked = match plain.fill_buf() {
        Ok(b) => b.get(..4).map(is_gzip),
        Err(_) => None,
    };
    if peeked == Some(false) {
        return FileSource::new(name, Input::Plain(plain), count, total, false, ahead);
    }
    let mut stream: Box<dyn BufRead + Send> = Box::new(plain);
    let mut head = [0u8; 4];
    let n = read_full(&mut stream, &mut head)
        .map_err(|source| CaptureError::new(name, 0, CaptureErrorKind::Io { record: 0, source }))?;
    let mut first = head.get(..n).unwrap_or_default().to_vec();
    if first.is_empty() {
        return Err(CaptureError::new(name, 0, CaptureErrorKind::Empty));
    }
    let gzip = is_gzip(&first);
    // Put the sniffed bytes back in front so the header parsers see the whole file.
    stream = Box::new(Cursor::new(first).chain(stream));
    if gzip {
        stream = Box::new(BufReader::with_capacity(
            BUF_CAP,
            MultiGzDecoder::new(stream),
        ));
        let n = read_full(&mut stream, &mut head).map_err(|source| {
            CaptureError::new(name, 0, CaptureErrorKind::Gzip { record: 0, source })
        })?;
        first = head.get(..n).unwrap_or_default().to_vec();
        if first.is_empty() {
            return Err(CaptureError::new(name, 0, CaptureErrorKind::Empty));
        }
        stream = Box::new(Cursor::new(first).chain(stream));
    }
    FileSource::new(name, Input::Other(stream), count, total, gzip, ahead)
}

impl FileSource {
    /// A source over `reader`, its file header not read yet.
    fn new(
        name: &str,
        reader: Input,
        count: Arc<AtomicU64>,
        total: Option<u64>,
        gzip: bool,
        ahead: Option<usize>,
    ) -> Result<FileSource, CaptureError> {
        let mut src = FileSource {
            name: name.to_owned(),
            reader,
            ahead,
            raw_read: count,
            total,
            gzip,
            offset: 0,
            frames: 0,
            records: 0,
            done: false,
            layout: Layout::Pcap {
                endian: Endian::Little,
                nanos: false,
                extra: 0,
                link_type: LinkType::ETHERNET,
            },
            link_types: Vec::new(),
            scratch: Vec::new(),
            spare: Vec::new(),
            path: None,
            data_at: 0,
            lent: 0,
            secrets: Vec::new(),
            secrets_bytes: 0,
            secrets_skipped: 0,
        };
        src.read_file_header()?;
        Ok(src)
    }
}

/// A packet read: copied into a frame, or lent from the read buffer (the first `caplen`
/// bytes of the lent span).
enum Packet {
    Owned(Frame),
    Lent(LentPacket),
}

/// A lent packet's fields; its bytes are at the front of the read buffer.
struct LentPacket {
    number: u64,
    ts: Timestamp,
    link_type: LinkType,
    caplen: usize,
    orig_len: u32,
    interface: u32,
}

/// A pcap record header read, its packet data next in the input.
struct PcapRecord {
    /// Offset of the record header.
    start: u64,
    /// 1-based record number, for errors.
    record: u64,
    ts: Timestamp,
    caplen: usize,
    orig_len: u32,
}

/// Known first-four-byte magics (as they appear on disk).
const PCAP_MAGICS: [[u8; 4]; 7] = [
    [0xd4, 0xc3, 0xb2, 0xa1], // µs, little endian
    [0xa1, 0xb2, 0xc3, 0xd4], // µs, big endian
    [0x4d, 0x3c, 0xb2, 0xa1], // ns, little endian
    [0xa1, 0xb2, 0x3c, 0x4d], // ns, big endian
    [0x34, 0xcd, 0xb2, 0xa1], // modified pcap, little endian
    [0xa1, 0xb2, 0xcd, 0x34], // modified pcap, big endian
    [0x0a, 0x0d, 0x0d, 0x0a], // pcapng SHB
];

impl FileSource {
    /// The container format.
    pub fn format(&self) -> CaptureFormat {
        match self.layout {
            Layout::Pcap { nanos, .. } => CaptureFormat::Pcap { nanos },
            Layout::PcapNg { .. } => CaptureFormat::PcapNg,
        }
    }

    /// True when the input was gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Frames returned so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    fn error(&mut self, offset: u64, kind: CaptureErrorKind) -> CaptureError {
        self.done = true;
        CaptureError::new(self.name.clone(), offset, kind)
    }

    /// Maps a read failure: on gzip input, anything but an OS error is the decompressor
    /// complaining about the stream.
    fn io_error(&mut self, offset: u64, record: u64, source: io::Error) -> CaptureError {
        let kind = if self.gzip && source.raw_os_error().is_none() {
            CaptureErrorKind::Gzip { record, source }
        } else {
            CaptureErrorKind::Io { record, source }
        };
        self.error(offset, kind)
    }

    /// Reads into `buf` as far as the input goes, advancing the offset.
    fn fill(&mut self, buf: &mut [u8], at: u64, record: u64) -> Result<usize, CaptureError> {
        let mut n = 0;
        while n < buf.len() {
            // Straight from the reader's buffer: one copy, no `Read` layer per call.
            let avail = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(at, record, e)),
            };
            let k = avail.len().min(buf.len() - n);
            if k == 0 {
                break;
            }
            if let (Some(dst), Some(src)) = (buf.get_mut(n..n + k), avail.get(..k)) {
                dst.copy_from_slice(src);
            }
            self.reader.consume(k);
            n += k;
        }
        self.offset += n as u64;
        Ok(n)
    }

    /// Skips up to `n` bytes without copying; returns how many were there.
    fn skip(&mut self, n: u64, at: u64, record: u64) -> Result<u64, CaptureError> {
        let mut left = n;
        while left > 0 {
            let avail = match self.reader.fill_buf() {
                Ok(b) => b.len() as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(at, record, e)),
            };
            if avail == 0 {
                break;
            }
            let k = avail.min(left);
            // k <= avail, which came from a usize.
            self.reader.consume(usize::try_from(k).unwrap_or(0));
            left -= k;
        }
        self.offset += n - left;
        Ok(n - left)
    }

    /// Reads `len` bytes of packet data (fewer if the input ends).
    fn read_data(&mut self, len: usize, at: u64, record: u64) -> Result<Vec<u8>, CaptureError> {
        self.data_at = self.offset;
        let mut data = std::mem::take(&mut self.spare);
        data.clear();
        // Appended as the bytes come, so a record claiming more than the file holds costs
        // no more than what is there (up front, at most EAGER_DATA_LEN), and nothing is
        // zeroed first (that was a memset per frame).
        data.reserve(len.min(EAGER_DATA_LEN));
        while data.len() < len {
            let avail = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.offset += data.len() as u64;
                    return Err(self.io_error(at, record, e));
                }
            };
            let k = avail.len().min(len - data.len());
            if k == 0 {
                break;
            }
            data.extend_from_slice(avail.get(..k).unwrap_or_default());
            self.reader.consume(k);
        }
        self.offset += data.len() as u64;
        Ok(data)
    }

    fn note_link_type(&mut self, lt: LinkType) {
        if !self.link_types.contains(&lt) {
            self.link_types.push(lt);
        }
    }

    fn read_file_header(&mut self) -> Result<(), CaptureError> {
        let mut magic = [0u8; 4];
        let n = self.fill(&mut magic, 0, 0)?;
        let have = magic.get(..n).unwrap_or_default();
        if !PCAP_MAGICS.iter().any(|m| m.starts_with(have)) {
            let mut more = [0u8; 4];
            let k = self.fill(&mut more, 0, 0).unwrap_or(0);
            let mut first_bytes = have.to_vec();
            first_bytes.extend_from_slice(more.get(..k).unwrap_or_default());
            return Err(self.error(0, CaptureErrorKind::NotACapture { first_bytes }));
        }
        if n < 4 {
            return Err(self.error(
                0,
                CaptureErrorKind::TruncatedHeader {
                    expected: 24,
                    got: n as u64,
                },
            ));
        }
        if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
            self.records = 1;
            let mut len_raw = [0u8; 4];
            let k = self.fill(&mut len_raw, 0, 0)?;
            if k < len_raw.len() {
                return Err(self.error(
                    0,
                    CaptureErrorKind::TruncatedHeader {
                        expected: u64::from(PCAPNG_MIN_SHB),
                        got: 4 + k as u64,
                    },
                ));
            }
            return self.read_section(0, 0, len_raw);
        }
        let mut hdr = [0u8; 20];
        let k = self.fill(&mut hdr, 0, 0)?;
        if k < hdr.len() {
            return Err(self.error(
                0,
                CaptureErrorKind::TruncatedHeader {
                    expected: 24,
                    got: 4 + k as u64,
                },
            ));
        }
        let (endian, nanos, extra) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (Endian::Little, false, 0),
            [0xa1, 0xb2, 0xc3, 0xd4] => (Endian::Big, false, 0),
            [0x4d, 0x3c, 0xb2, 0xa1] => (Endian::Little, true, 0),
            [0xa1, 0xb2, 0x3c, 0x4d] => (Endian::Big, true, 0),
            [0x34, 0xcd, 0xb2, 0xa1] => (Endian::Little, false, 8),
            _ => (Endian::Big, false, 8),
        };
        // draft-ietf-opsawg-pcap §4: the link type is the low 16 bits of the last field;
        // the upper bits carry FCS information we do not need.
        let link_type = LinkType(endian.u32_at(&hdr, 16) & 0xffff);
        self.layout = Layout::Pcap {
            endian,
            nanos,
            extra,
            link_type,
        };
        self.note_link_type(link_type);
        Ok(())
    }

    /// Reads a Section Header Block (pcapng §4.1) whose type and length fields were already
    /// consumed at `start`; `len_raw` is the length field, still in unknown byte order.
    /// `record` is 0 for the first section (errors there are open errors).
    fn read_section(
        &mut self,
        start: u64,
        record: u64,
        len_raw: [u8; 4],
    ) -> Result<(), CaptureError> {
        let mut bom = [0u8; 4];
        let n = self.fill(&mut bom, start, record)?;
        if n < bom.len() {
            let got = 8 + n as u64;
            let expected = u64::from(PCAPNG_MIN_SHB);
            let kind = if record == 0 {
                CaptureErrorKind::TruncatedHeader { expected, got }
            } else {
                CaptureErrorKind::TruncatedRecord {
                    record,
                    expected,
                    got,
                }
            };
            return Err(self.error(start, kind));
        }
        let endian = match bom {
            [0x1a, 0x2b, 0x3c, 0x4d] => Endian::Big,
            [0x4d, 0x3c, 0x2b, 0x1a] => Endian::Little,
            _ if record == 0 => {
                let mut first_bytes = vec![0x0a, 0x0d, 0x0d, 0x0a];
                first_bytes.extend_from_slice(&len_raw);
                first_bytes.extend_from_slice(&bom);
                return Err(self.error(start, CaptureErrorKind::NotACapture { first_bytes }));
            }
            _ => {
                let b = Block {
                    start,
                    record,
                    block_type: PCAPNG_SHB,
                    len: 0,
                    endian: Endian::Big,
                };
                return Err(
                    self.bad_block(b, BlockProblem::ByteOrderMagic(u32::from_be_bytes(bom)))
                );
            }
        };
        let b = Block {
            start,
            record,
            block_type: PCAPNG_SHB,
            len: endian.u32(len_raw),
            endian,
        };
        self.check_block_len(b, PCAPNG_MIN_SHB)?;
        // Interfaces are numbered per section (pcapng §4.1): a new section starts afresh.
        let last_ts = match self.layout {
            Layout::PcapNg { last_ts, .. } => last_ts,
            Layout::Pcap { .. } => Timestamp(0),
        };
        self.layout = Layout::PcapNg {
            endian,
            interfaces: Vec::new(),
            last_ts,
        };
        // Versions, section length and options are not needed.
        self.finish_block(b)
    }

    fn check_block_len(&mut self, b: Block, min: u32) -> Result<(), CaptureError> {
        let reason = if b.len < min {
            "below the minimum block length"
        } else if b.len % 4 != 0 {
            "block length not a multiple of 4"
        } else if b.len > MAX_BLOCK_LEN {
            "block length above 16 MiB"
        } else {
            return Ok(());
        };
        Err(self.error(
            b.start,
            CaptureErrorKind::AbsurdLength {
                record: b.record,
                length: u64::from(b.len),
                reason,
            },
        ))
    }

    /// Skips what is left of the block body, then checks the trailing length.
    fn finish_block(&mut self, b: Block) -> Result<(), CaptureError> {
        let body_end = b.start + u64::from(b.len) - 4;
        let left = body_end.saturating_sub(self.offset);
        let skipped = self.skip(left, b.start, b.record)?;
        let mut trailer = [0u8; 4];
        let n = if skipped == left {
            self.fill(&mut trailer, b.start, b.record)?
        } else {
            0
        };
        if n < trailer.len() {
            return Err(self.truncated_block(b));
        }
        let trailer = b.endian.u32(trailer);
        if trailer != b.len {
            return Err(self.bad_block(
                b,
                BlockProblem::TrailerMismatch {
                    header: b.len,
                    trailer,
                },
            ));
        }
        Ok(())
    }

    fn truncated_block(&mut self, b: Block) -> CaptureError {
        let got = self.offset - b.start;
        let expected = u64::from(b.len);
        let kind = if b.record == 0 {
            CaptureErrorKind::TruncatedHeader { expected, got }
        } else {
            CaptureErrorKind::TruncatedRecord {
                record: b.record,
                expected,
                got,
            }
        };
        self.error(b.start, kind)
    }

    fn bad_block(&mut self, b: Block, problem: BlockProblem) -> CaptureError {
        self.error(
            b.start,
            CaptureErrorKind::BadBlock {
                record: b.record,
                block_type: b.block_type,
                problem,
            },
        )
    }

    /// Reads the fixed-size header of record `record`: None at a clean end of input (no
    /// byte of a new record), an error when the input stops inside the header.
    fn record_header<const N: usize>(
        &mut self,
        start: u64,
        record: u64,
    ) -> Result<Option<[u8; N]>, CaptureError> {
        let mut hdr = [0u8; N];
        let n = self.fill(&mut hdr, start, record)?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        self.records = record;
        if n < N {
            return Err(self.error(
                start,
                CaptureErrorKind::TruncatedRecord {
                    record,
                    expected: N as u64,
                    got: n as u64,
                },
            ));
        }
        Ok(Some(hdr))
    }

    /// Reads a pcap record header (and a modified pcap's extra bytes), checking the
    /// captured length; the packet data is next in the input.
    fn pcap_record(
        &mut self,
        endian: Endian,
        nanos: bool,
        extra: u64,
    ) -> Result<Option<PcapRecord>, CaptureError> {
        let start = self.offset;
        let record = self.records + 1;
        let Some(hdr) = self.record_header::<16>(start, record)? else {
            return Ok(None);
        };
        if extra > 0 {
            // Modified pcap: ifindex, protocol, pkt_type, pad (unused).
            let got = self.skip(extra, start, record)?;
            if got < extra {
                return Err(self.error(
                    start,
                    CaptureErrorKind::TruncatedRecord {
                        record,
                        expected: 16 + extra,
                        got: 16 + got,
                    },
                ));
            }
        }
        let secs = u64::from(endian.u32_at(&hdr, 0));
        let frac = u64::from(endian.u32_at(&hdr, 4));
        let caplen = endian.u32_at(&hdr, 8);
        let orig_len = endian.u32_at(&hdr, 12);
        if caplen > MAX_PCAP_CAPLEN {
            return Err(self.error(
                start,
                CaptureErrorKind::AbsurdLength {
                    record,
                    length: u64::from(caplen),
                    reason: "captured length above 262144",
                },
            ));
        }
        let nanos_part = if nanos {
            frac
        } else {
            frac.saturating_mul(1000)
        };
        Ok(Some(PcapRecord {
            start,
            record,
            ts: Timestamp(
                secs.saturating_mul(1_000_000_000)
                    .saturating_add(nanos_part),
            ),
            caplen: caplen as usize,
            orig_len,
        }))
    }

    /// The packet data of `rec`: lent where it lies in the read buffer when `lend` and
    /// the whole packet is there, else copied into a frame of its own.
    fn pcap_packet(
        &mut self,
        rec: &PcapRecord,
        link_type: LinkType,
        lend: bool,
    ) -> Result<Packet, CaptureError> {
        if lend && self.buffered() >= rec.caplen {
            self.frames += 1;
            self.lend(rec.caplen);
            return Ok(Packet::Lent(LentPacket {
                number: self.frames,
                ts: rec.ts,
                link_type,
                caplen: rec.caplen,
                orig_len: rec.orig_len,
                interface: 0,
            }));
        }
        let data = self.read_data(rec.caplen, rec.start, rec.record)?;
        if data.len() < rec.caplen {
            return Err(self.error(
                rec.start,
                CaptureErrorKind::TruncatedRecord {
                    record: rec.record,
                    expected: rec.caplen as u64,
                    got: data.len() as u64,
                },
            ));
        }
        self.frames += 1;
        Ok(Packet::Owned(Frame {
            number: self.frames,
            ts: rec.ts,
            link_type,
            data,
            orig_len: rec.orig_len,
            interface: 0,
        }))
    }

    fn next_pcap(
        &mut self,
        endian: Endian,
        nanos: bool,
        extra: u64,
        link_type: LinkType,
        lend: bool,
    ) -> Result<Option<Packet>, CaptureError> {
        match self.pcap_record(endian, nanos, extra)? {
            Some(rec) => self.pcap_packet(&rec, link_type, lend).map(Some),
            None => Ok(None),
        }
    }

    /// Bytes in the reader's buffer now (0 when it cannot say: the copying path then
    /// reads, and reports any error).
    fn buffered(&mut self) -> usize {
        self.reader.fill_buf().map_or(0, <[u8]>::len)
    }

    /// Marks the next `n` buffered bytes as lent: they stay in the buffer until the next
    /// read, and count as read from here on.
    fn lend(&mut self, n: usize) {
        self.data_at = self.offset;
        self.offset += n as u64;
        self.lent = n;
    }

    /// Gives the bytes of the frame lent last back to the reader.
    fn release_lent(&mut self) {
        if self.lent > 0 {
            self.reader.consume(std::mem::take(&mut self.lent));
        }
    }

    fn next_pcapng(&mut self, lend: bool) -> Result<Option<Packet>, CaptureError> {
        loop {
            let start = self.offset;
            let record = self.records + 1;
            let Some(hdr) = self.record_header::<8>(start, record)? else {
                return Ok(None);
            };
            let [t0, t1, t2, t3, l0, l1, l2, l3] = hdr;
            // The SHB type reads the same in both byte orders, so a new section is found
            // before its byte order is known.
            if [t0, t1, t2, t3] == [0x0a, 0x0d, 0x0d, 0x0a] {
                self.read_section(start, record, [l0, l1, l2, l3])?;
                continue;
            }
            let endian = match &self.layout {
                Layout::PcapNg { endian, .. } => *endian,
                Layout::Pcap { .. } => Endian::Little,
            };
            let b = Block {
                start,
                record,
                block_type: endian.u32([t0, t1, t2, t3]),
                len: endian.u32([l0, l1, l2, l3]),
                endian,
            };
            self.check_block_len(b, PCAPNG_MIN_BLOCK)?;
            match b.block_type {
                PCAPNG_IDB => self.read_idb(b)?,
                PCAPNG_EPB | PCAPNG_PB => return self.read_packet_block(b, lend).map(Some),
                PCAPNG_SPB => return self.read_spb(b, lend).map(Some),
                PCAPNG_DSB => self.read_dsb(b)?,
                // NRB, ISB, journal, custom and unknown blocks carry no packets.
                _ => self.finish_block(b)?,
            }
        }
    }

    /// Interface Description Block (pcapng §4.2).
    fn read_idb(&mut self, b: Block) -> Result<(), CaptureError> {
        let body_len = b.body_len();
        let mut body = std::mem::take(&mut self.scratch);
        body.clear();
        // Grows as bytes arrive: the length field (up to 16 MiB) is not trusted for sizing.
        let res = (&mut self.reader)
            .take(u64::from(body_len))
            .read_to_end(&mut body);
        self.offset += body.len() as u64;
        let parsed = match res {
            Err(e) => Err(self.io_error(b.start, b.record, e)),
            Ok(_) if body.len() < body_len as usize => Err(self.truncated_block(b)),
            Ok(_) => parse_idb(&body, b.endian)
                .ok_or_else(|| self.bad_block(b, BlockProblem::TooShort(body_len))),
        };
        self.scratch = body;
        let iface = parsed?;
        self.finish_block(b)?;
        if let Layout::PcapNg { interfaces, .. } = &mut self.layout {
            interfaces.push(iface);
        }
        self.note_link_type(iface.link_type);
        Ok(())
    }

    /// Decryption Secrets Block (pcapng §4.7): secrets type, secrets length, the secrets
    /// (padded to 32 bits), options. TLS key logs are kept for [`FrameSource::take_secrets`];
    /// the block precedes the packets it decrypts, so they are taken before the next frame
    /// is processed.
    fn read_dsb(&mut self, b: Block) -> Result<(), CaptureError> {
        let body_len = b.body_len();
        // A DSB that does not hold what it says is skipped like an unknown block: the
        // packets around it are still good.
        if body_len < 8 {
            self.secrets_skipped += 1;
            return self.finish_block(b);
        }
        let mut fixed = [0u8; 8];
        if self.fill(&mut fixed, b.start, b.record)? < fixed.len() {
            return Err(self.truncated_block(b));
        }
        let kind = b.endian.u32_at(&fixed, 0);
        let len = b.endian.u32_at(&fixed, 4);
        if len > body_len - 8 {
            self.secrets_skipped += 1;
            return self.finish_block(b);
        }
        let len = len as usize;
        if kind != DSB_TLS_KEY_LOG || self.secrets_bytes + len > MAX_SECRETS_BYTES {
            self.secrets_skipped += 1;
            return self.finish_block(b);
        }
        let mut data = Vec::new();
        // Grows as bytes arrive: the length (up to 16 MiB) is checked against the block,
        // whose own length is not trusted for sizing either.
        let res = (&mut self.reader).take(len as u64).read_to_end(&mut data);
        self.offset += data.len() as u64;
        if let Err(e) = res {
            return Err(self.io_error(b.start, b.record, e));
        }
        if data.len() < len {
            return Err(self.truncated_block(b));
        }
        self.finish_block(b)?;
        self.secrets_bytes += len;
        self.secrets.push(data);
        Ok(())
    }

    /// Decryption Secrets Blocks skipped: not a TLS key log, or past the 16 MiB kept.
    pub fn secrets_skipped(&self) -> u64 {
        self.secrets_skipped
    }

    fn interface(&self, id: u32) -> Option<Interface> {
        match &self.layout {
            Layout::PcapNg { interfaces, .. } => interfaces.get(id as usize).copied(),
            Layout::Pcap { .. } => None,
        }
    }

    /// Enhanced Packet Block (§4.3) or obsolete Packet Block (Appendix A); both have 20
    /// bytes of fixed fields and the same layout apart from the interface id width.
    fn read_packet_block(&mut self, b: Block, lend: bool) -> Result<Packet, CaptureError> {
        let body = b.body_len();
        if body < 20 {
            return Err(self.bad_block(b, BlockProblem::TooShort(body)));
        }
        let mut fixed = [0u8; 20];
        if self.fill(&mut fixed, b.start, b.record)? < fixed.len() {
            return Err(self.truncated_block(b));
        }
        let e = b.endian;
        let id = if b.block_type == PCAPNG_EPB {
            e.u32_at(&fixed, 0)
        } else {
            u32::from(e.u16_at(&fixed, 0))
        };
        let caplen = e.u32_at(&fixed, 12);
        let orig_len = e.u32_at(&fixed, 16);
        let room = body - 20;
        if caplen > room {
            return Err(self.bad_block(b, BlockProblem::CaptureBeyondBlock { caplen, room }));
        }
        let Some(iface) = self.interface(id) else {
            return Err(self.bad_block(b, BlockProblem::UndefinedInterface(id)));
        };
        let ts = iface.timestamp(e.u32_at(&fixed, 4), e.u32_at(&fixed, 8));
        self.packet(b, caplen, orig_len, id, iface, ts, lend)
    }

    /// Simple Packet Block (§4.4): interface 0, no timestamp, captured length implied.
    fn read_spb(&mut self, b: Block, lend: bool) -> Result<Packet, CaptureError> {
        let body = b.body_len();
        if body < 4 {
            return Err(self.bad_block(b, BlockProblem::TooShort(body)));
        }
        let mut fixed = [0u8; 4];
        if self.fill(&mut fixed, b.start, b.record)? < fixed.len() {
            return Err(self.truncated_block(b));
        }
        let orig_len = b.endian.u32(fixed);
        let Some(iface) = self.interface(0) else {
            return Err(self.bad_block(b, BlockProblem::UndefinedInterface(0)));
        };
        let mut caplen = orig_len.min(body - 4);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen);
        }
        let ts = match self.layout {
            Layout::PcapNg { last_ts, .. } => last_ts,
            Layout::Pcap { .. } => Timestamp(0),
        };
        self.packet(b, caplen, orig_len, 0, iface, ts, lend)
    }

    /// Reads the packet data of a packet block and the rest of the block. With `lend`,
    /// a block whose rest (data, options, trailer) is whole in the read buffer, with a
    /// trailer that matches, and with no key log waiting to be taken before it, is lent
    /// instead; anything else takes the copying path, which reports what is wrong.
    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        b: Block,
        caplen: u32,
        orig_len: u32,
        interface: u32,
        iface: Interface,
        ts: Timestamp,
        lend: bool,
    ) -> Result<Packet, CaptureError> {
        // The block's end: its length was checked against the minimum, and the captured
        // length against the room in it.
        let rest = (b.start + u64::from(b.len)).saturating_sub(self.offset);
        let caplen_n = caplen as usize;
        if lend && self.secrets.is_empty() && rest >= 4 + u64::from(caplen) {
            let rest = usize::try_from(rest).unwrap_or(usize::MAX);
            let trailer = match self.reader.fill_buf() {
                Ok(buf) if buf.len() >= rest => Some(b.endian.u32_at(buf, rest - 4)),
                _ => None,
            };
            if trailer == Some(b.len) {
                self.lend(rest);
                if let Layout::PcapNg { last_ts, .. } = &mut self.layout {
                    *last_ts = ts;
                }
                self.frames += 1;
                return Ok(Packet::Lent(LentPacket {
                    number: self.frames,
                    ts,
                    link_type: iface.link_type,
                    caplen: caplen_n,
                    orig_len,
                    interface,
                }));
            }
        }
        let data = self.read_data(caplen_n, b.start, b.record)?;
        if data.len() < caplen as usize {
            return Err(self.truncated_block(b));
        }
        self.finish_block(b)?;
        if let Layout::PcapNg { last_ts, .. } = &mut self.layout {
            *last_ts = ts;
        }
        self.frames += 1;
        Ok(Packet::Owned(Frame {
            number: self.frames,
            ts,
            link_type: iface.link_type,
            data,
            orig_len,
            interface,
        }))
    }
}

/// Parses an IDB body; `None` if shorter than its 8 fixed bytes. Options (pcapng §3.5) are
/// code, length, value padded to 32 bits; a malformed option list ends the walk and the
/// interface keeps the defaults (µs, no offset) for what was not read.
fn parse_idb(body: &[u8], e: Endian) -> Option<Interface> {
    if body.len() < 8 {
        return None;
    }
    let mut iface = Interface {
        link_type: LinkType(u32::from(e.u16_at(body, 0))),
        snaplen: e.u32_at(body, 4),
        scale: Scale::Mul(1000),
        offset_secs: 0,
    };
    let mut pos = 8usize;
    while let Some(opt) = Endian::bytes::<4>(body, pos) {
        let [c0, c1, n0, n1] = opt;
        let code = e.u16([c0, c1]);
        let olen = usize::from(e.u16([n0, n1]));
        let Some(value) = body.get(pos + 4..pos + 4 + olen) else {
            break;
        };
        match code {
            0 => break,
            9 => {
                if let Some(&v) = value.first() {
                    iface.scale = Scale::from_tsresol(v);
                }
            }
            14 => {
                if let Some(v) = Endian::bytes::<8>(value, 0) {
                    // if_tsoffset is a signed 64-bit count of seconds.
                    iface.offset_secs = i64::from_ne_bytes(e.u64(v).to_ne_bytes());
                }
            }
            _ => {}
        }
        pos += 4 + olen.div_ceil(4) * 4;
    }
    Some(iface)
}

impl FrameSource for FileSource {
    fn as_send(&mut self) -> Option<&mut (dyn FrameSource + Send)> {
        // Whoever reads it on another thread reads for itself: a read-ahead thread beside
        // it would only add a hand-over per chunk on a machine with two cores.
        self.ahead = None;
        Some(self)
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        // Never lent, so always a frame of its own.
        Ok(match self.next_packet(false)? {
            Some(Packet::Owned(f)) => Some(f),
            Some(Packet::Lent(_)) | None => None,
        })
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn progress(&self) -> (u64, Option<u64>) {
        let consumed = if self.gzip {
            self.raw_read.load(Ordering::Relaxed)
        } else {
            self.offset
        };
        (consumed, self.total)
    }

    fn link_types(&self) -> Vec<LinkType> {
        self.link_types.clone()
    }

    fn frame_origin(&self) -> Option<(&std::path::Path, u64)> {
        Some((self.path.as_deref()?, self.data_at))
    }

    fn recycle(&mut self, data: Vec<u8>) {
        self.spare = data;
    }

    fn take_secrets(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.secrets)
    }

    fn lend_frame(&mut self) -> Result<Option<Lent<'_>>, CaptureError> {
        let Some(packet) = self.next_packet(true)? else {
            return Ok(None);
        };
        Ok(Some(match packet {
            Packet::Owned(f) => Lent::Owned(f),
            Packet::Lent(p) => {
                let origin = self.path.as_deref().map(|path| (path, self.data_at));
                // The bytes were found whole in the buffer, which nothing read since.
                let data = match self.reader.fill_buf() {
                    Ok(b) => b.get(..p.caplen).unwrap_or_default(),
                    Err(_) => &[],
                };
                Lent::Borrowed {
                    frame: FrameRef {
                        number: p.number,
                        ts: p.ts,
                        link_type: p.link_type,
                        data,
                        orig_len: p.orig_len,
                        interface: p.interface,
                    },
                    origin,
                }
            }
        }))
    }
}

impl FileSource {
    /// Moves the reading (and decompression) of what is left of the input to a reader
    /// thread, in chunks of `chunk` bytes; bytes already buffered are read first, through
    /// the thread. Fails only when the system refuses the thread.
    fn read_ahead(&mut self, chunk: usize) -> Result<(), CaptureError> {
        let inner = std::mem::replace(&mut self.reader, Input::Other(Box::new(io::empty())));
        let ahead = ReadAhead::with_sizes(Box::new(inner), chunk, readahead::DEPTH);
        self.reader = Input::Other(Box::new(ahead.map_err(|source| {
            self.done = true;
            CaptureError::new(
                &self.name,
                self.offset,
                CaptureErrorKind::Io { record: 0, source },
            )
        })?));
        Ok(())
    }

    /// The next packet, lent when `lend` allows and the bytes are whole in the buffer.
    fn next_packet(&mut self, lend: bool) -> Result<Option<Packet>, CaptureError> {
        self.release_lent();
        if let Some(chunk) = self.ahead.take() {
            self.read_ahead(chunk)?;
        }
        if self.done {
            return Ok(None);
        }
        match self.layout {
            Layout::Pcap {
                endian,
                nanos,
                extra,
                link_type,
            } => self.next_pcap(endian, nanos, extra, link_type, lend),
            Layout::PcapNg { .. } => self.next_pcapng(lend),
        }
    }
}

#[cfg(test)]
mod scale_tests {
    use super::Scale;

    #[test]
    fn tsresol_forms() {
        assert_eq!(Scale::from_tsresol(6), Scale::Mul(1000));
        assert_eq!(Scale::from_tsresol(0), Scale::Mul(1_000_000_000));
        assert_eq!(Scale::from_tsresol(12), Scale::Div(1000));
        assert_eq!(Scale::from_tsresol(127), Scale::Zero);
        assert_eq!(Scale::from_tsresol(0x80 | 10), Scale::Pow2(10));
        assert_eq!(Scale::Div(1000).to_nanos(5_000_000), 5000);
        assert_eq!(Scale::Pow2(10).to_nanos(1536), 1_500_000_000);
        assert_eq!(Scale::Pow2(127).to_nanos(u64::MAX), 0);
        // 2^0 s units: seconds, saturating rather than wrapping
        assert_eq!(Scale::Pow2(0).to_nanos(u64::MAX), u64::MAX);
        assert_eq!(Scale::Mul(1_000_000_000).to_nanos(u64::MAX), u64::MAX);
    }
}
