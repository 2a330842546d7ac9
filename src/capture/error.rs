//! Typed capture errors: which input, where in it, and what went wrong.

use std::fmt;
use std::io;

/// An error while opening or reading a capture input.
///
/// Displays as one line naming the input and the problem, e.g.
/// `capture.pcap: truncated record 42 at byte 8123: expected 1514 bytes, got 300`.
#[derive(Debug)]
pub struct CaptureError {
    /// Name of the input (`<stdin>` for standard input, the interface name for live capture).
    pub input: String,
    /// Byte offset where the failing header or record starts. For gzip-compressed input this
    /// counts decompressed bytes, as the pcap structure does.
    pub offset: u64,
    /// What went wrong.
    pub kind: CaptureErrorKind,
}

/// What went wrong while reading a capture.
///
/// Variants with a `record` field stop a stream that has already opened: `record` is the
/// 1-based number of the failing record in the input (pcap: packet records, which are the
/// frame numbers; pcapng: blocks of any type, the first Section Header Block being 1).
/// `record == 0` means the header, i.e. the error happened while opening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureErrorKind {
    /// Open or read failure of the underlying file or device; the `io::ErrorKind` is kept.
    #[error("I/O error: {source}")]
    Io {
        /// Failing record (0: while opening).
        record: u64,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },
    /// The input holds no byte at all.
    #[error("empty file (0 bytes)")]
    Empty,
    /// The first bytes match neither pcap nor pcapng (nor gzip around either).
    #[error("not a pcap or pcapng file")]
    NotACapture {
        /// Up to the first 8 bytes of the (decompressed) input.
        first_bytes: Vec<u8>,
    },
    /// The file header (pcap global header, pcapng first Section Header Block) is cut short.
    #[error("truncated file header: expected {expected} bytes, got {got}")]
    TruncatedHeader {
        /// Bytes the header needs.
        expected: u64,
        /// Bytes that were there.
        got: u64,
    },
    /// A record or block is cut short (typically the last one of an interrupted capture).
    #[error("truncated record {record}: expected {expected} bytes, got {got}")]
    TruncatedRecord {
        /// Failing record.
        record: u64,
        /// Bytes the record needs (from its header to the end of the part being read).
        expected: u64,
        /// Bytes that were there.
        got: u64,
    },
    /// A length field no sane writer produces; nothing is allocated from it.
    #[error("absurd length {length} in record {record}: {reason}")]
    AbsurdLength {
        /// Failing record.
        record: u64,
        /// The length field's value.
        length: u64,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A pcapng block whose structure is inconsistent.
    #[error("bad block (type {block_type:#010x}) in record {record}: {problem}")]
    BadBlock {
        /// Failing record (block number).
        record: u64,
        /// The block type field.
        block_type: u32,
        /// What is inconsistent.
        problem: BlockProblem,
    },
    /// The gzip stream around the capture is corrupt.
    #[error("corrupt gzip stream in record {record}: {source}")]
    Gzip {
        /// Failing record (0: while opening).
        record: u64,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
}

/// Structural problems of a pcapng block (draft-ietf-opsawg-pcapng §4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockProblem {
    /// A packet block names an interface no Interface Description Block defined in this section.
    #[error("packet for undefined interface {0}")]
    UndefinedInterface(u32),
    /// The block body is shorter than the block type's fixed fields.
    #[error("block too short for its fixed fields ({0} body bytes)")]
    TooShort(u32),
    /// The captured length does not fit in the block.
    #[error("captured length {caplen} exceeds the {room} bytes left in the block")]
    CaptureBeyondBlock {
        /// Captured length field.
        caplen: u32,
        /// Bytes available for packet data.
        room: u32,
    },
    /// Leading and trailing block-total-length fields differ.
    #[error("trailing length {trailer} differs from leading length {header}")]
    TrailerMismatch {
        /// Leading block total length.
        header: u32,
        /// Trailing block total length.
        trailer: u32,
    },
    /// A Section Header Block's byte-order magic is neither 0x1A2B3C4D nor its swap.
    #[error("bad byte-order magic {0:#010x} in section header")]
    ByteOrderMagic(u32),
}

impl CaptureError {
    /// Builds an error for `input` at `offset`.
    pub fn new(input: impl Into<String>, offset: u64, kind: CaptureErrorKind) -> Self {
        CaptureError {
            input: input.into(),
            offset,
            kind,
        }
    }

    /// The failing record for errors after opening (see [`CaptureErrorKind`]), `None` for
    /// errors while opening.
    pub fn record(&self) -> Option<u64> {
        let r = match &self.kind {
            CaptureErrorKind::Io { record, .. }
            | CaptureErrorKind::TruncatedRecord { record, .. }
            | CaptureErrorKind::AbsurdLength { record, .. }
            | CaptureErrorKind::BadBlock { record, .. }
            | CaptureErrorKind::Gzip { record, .. } => *record,
            CaptureErrorKind::Empty
            | CaptureErrorKind::NotACapture { .. }
            | CaptureErrorKind::TruncatedHeader { .. } => 0,
        };
        (r > 0).then_some(r)
    }

    /// True when the input opened and the frames returned before this error are good (a
    /// capture cut mid-record, or a corrupt record later in the file): the caller warns and
    /// keeps what it read. False for errors while opening.
    pub fn is_truncation(&self) -> bool {
        self.record().is_some()
    }

    /// The operating-system error kind, for `Io` errors.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match &self.kind {
            CaptureErrorKind::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (input, at) = (&self.input, self.offset);
        match &self.kind {
            CaptureErrorKind::Io { record: 0, source } => write!(f, "{input}: cannot open: {source}"),
            CaptureErrorKind::Io { record, source } => {
                write!(f, "{input}: read error in record {record} at byte {at}: {source}")
            }
            CaptureErrorKind::Empty => write!(f, "{input}: empty file (0 bytes)"),
            CaptureErrorKind::NotACapture { first_bytes } => {
                write!(f, "{input}: not a pcap or pcapng file (starts with")?;
                if first_bytes.is_empty() {
                    write!(f, " nothing")?;
                }
                for b in first_bytes {
                    write!(f, " {b:02x}")?;
                }
                write!(f, ")")
            }
            CaptureErrorKind::TruncatedHeader { expected, got } => write!(
                f,
                "{input}: truncated file header: expected {expected} bytes, got {got}"
            ),
            CaptureErrorKind::TruncatedRecord {
                record,
                expected,
                got,
            } => write!(
                f,
                "{input}: truncated record {record} at byte {at}: expected {expected} bytes, got {got}"
            ),
            CaptureErrorKind::AbsurdLength {
                record,
                length,
                reason,
            } => write!(
                f,
                "{input}: absurd length {length} in {} at byte {at}: {reason}",
                Rec(*record)
            ),
            CaptureErrorKind::BadBlock {
                record,
                block_type,
                problem,
            } => write!(
                f,
                "{input}: bad pcapng block (type {block_type:#010x}) in {} at byte {at}: {problem}",
                Rec(*record)
            ),
            CaptureErrorKind::Gzip { record: 0, source } => {
                write!(f, "{input}: corrupt gzip stream: {source}")
            }
            CaptureErrorKind::Gzip { record, source } => write!(
                f,
                "{input}: corrupt gzip stream in record {record} at byte {at}: {source}"
            ),
        }
    }
}

/// "record N", or "file header" for record 0 (errors while opening).
struct Rec(u64);

impl fmt::Display for Rec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => write!(f, "file header"),
            n => write!(f, "record {n}"),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            CaptureErrorKind::Io { source, .. } | CaptureErrorKind::Gzip { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}
