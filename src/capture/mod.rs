//! Capture sources: everything that yields link-layer frames.
//!
//! A [`FrameSource`] hands out owned [`Frame`]s one by one (or lends their bytes out of its
//! own buffer, [`FrameSource::lend_frame`]). File reading (pcap, pcapng,
//! gzip-compressed either way, stdin) implements it in pure Rust; live capture through
//! libpcap (cargo feature `live`) and HEP listeners implement the same trait later.

use std::fmt;

mod error;
mod file;
#[cfg(feature = "live")]
mod live;
mod readahead;
mod stats;
#[cfg(test)]
mod tests;
mod writer;

pub use error::{BlockProblem, CaptureError, CaptureErrorKind};
pub use file::{
    open_bytes, open_path, open_reader, CaptureFormat, FileSource, MAX_BLOCK_LEN, MAX_PCAP_CAPLEN,
};
#[cfg(feature = "live")]
pub use live::{
    list_interfaces, InterfaceInfo, LiveError, LiveErrorKind, LiveOptions, LiveSource,
    DEFAULT_BUFFER_MB, MAX_BUFFER_MB,
};
pub use stats::{CaptureStats, SourceCounters};
pub use writer::{
    parse_rotate, FrameSink, PcapWriter, PcapngWriter, Rotate, RotateParseError, RotatingWriter,
};

/// Anything that yields captured frames one by one: files, stdin, live interfaces.
pub trait FrameSource {
    /// Next frame; `Ok(None)` at the clean end of the input. After an error every later
    /// call returns `Ok(None)`.
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError>;
    /// Name of the input for messages (`-` shown as `<stdin>`).
    fn name(&self) -> &str;
    /// (bytes consumed so far, total bytes if known) for a progress bar. For gzip input both
    /// count compressed bytes.
    fn progress(&self) -> (u64, Option<u64>);
    /// Distinct link types of the interfaces seen so far, in first-seen order (pcapng may
    /// have several).
    fn link_types(&self) -> Vec<LinkType>;
    /// The source's own counters (libpcap `pcap_stats` for live capture); None for files
    /// and sources that keep none.
    fn counters(&mut self) -> Option<SourceCounters> {
        None
    }
    /// Where the bytes of the frame last returned can be read again: the file and the
    /// offset of the frame's data in it. Only inputs that can be re-read by seeking answer
    /// (uncompressed files opened by path); gzip, stdin and live capture return None, and
    /// the engine then keeps copies of the messages it shows.
    fn frame_origin(&self) -> Option<(&std::path::Path, u64)> {
        None
    }
    /// Gives back the data buffer of a frame the caller is done with, for the next frame
    /// to reuse: a fresh allocation per frame (and the page faults of fresh memory) was
    /// 4% of a signaling run. Sources that cannot reuse it drop it.
    fn recycle(&mut self, data: Vec<u8>) {
        drop(data);
    }
    /// As [`Self::next_frame`], but the frame's bytes may be lent straight out of the
    /// source's own read buffer instead of copied into a [`Frame`] of their own: copying
    /// every frame was the second pass over every byte of a capture file (2% of a
    /// signaling run, more of an RTP-heavy one). A lent frame comes with its
    /// [`Self::frame_origin`], and is only lent when [`Self::take_secrets`] has nothing
    /// new for it; its bytes are the source's again at the next call. Sources without a
    /// buffer of their own return owned frames (this default).
    fn lend_frame(&mut self) -> Result<Option<Lent<'_>>, CaptureError> {
        Ok(self.next_frame()?.map(Lent::Owned))
    }
    /// TLS key logs (NSS `SSLKEYLOGFILE` text) the input carried since the last call: a
    /// pcapng Decryption Secrets Block (pcapng §4.7, made by `editcap --inject-secrets`)
    /// precedes the packets it decrypts. Sources without any return nothing.
    fn take_secrets(&mut self) -> Vec<Vec<u8>> {
        Vec::new()
    }
    /// This source as one that may be read on another thread, if it is one (files): the
    /// engine then reads, decodes and parses it ahead on a second core while it analyses.
    /// Sources tied to their thread, or read frame by frame as they come (live capture),
    /// return None (this default).
    fn as_send(&mut self) -> Option<&mut (dyn FrameSource + Send)> {
        None
    }
}

/// A packet timestamp in nanoseconds since the Unix epoch.
///
/// All engine time comes from these values, never from the wall clock, so a replay of the
/// same capture gives the same report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Builds a timestamp from seconds and nanoseconds.
    pub fn from_parts(secs: u64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(u64::from(nanos)),
        )
    }
    /// Whole seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }
    /// Nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        (self.0 % 1_000_000_000) as u32
    }
    /// Seconds since the epoch as a float (for display and JSON).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Nanoseconds elapsed from `earlier` to `self` (0 if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.secs(), self.subsec_nanos() / 1000)
    }
}

/// A link-layer header type, as numbered by the tcpdump.org LINKTYPE registry.
///
/// Open newtype: unknown values are kept and named in the report, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback (`DLT_NULL`): 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP on some BSDs (`DLT_RAW` = 12).
    pub const RAW_BSD12: LinkType = LinkType(12);
    /// Raw IP on OpenBSD (`DLT_RAW` = 14).
    pub const RAW_BSD14: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6 (`LINKTYPE_RAW`).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: like NULL but the family is big-endian.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`tcpdump -i any`).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// A short human name for reports ("ethernet", "linux-sll", ... or "linktype-N").
    pub fn name(self) -> String {
        match self.known_name() {
            Some(n) => n.to_string(),
            None => format!("linktype-{}", self.0),
        }
    }

    /// The name of a link type this crate decodes, without allocating; None for others.
    pub fn known_name(self) -> Option<&'static str> {
        Some(match self {
            LinkType::NULL => "null",
            LinkType::ETHERNET => "ethernet",
            LinkType::RAW_BSD12 | LinkType::RAW_BSD14 | LinkType::RAW => "raw",
            LinkType::LOOP => "loop",
            LinkType::LINUX_SLL => "linux-sll",
            LinkType::IPV4 => "ipv4",
            LinkType::IPV6 => "ipv6",
            LinkType::LINUX_SLL2 => "linux-sll2",
            _ => return None,
        })
    }
}

/// A frame from [`FrameSource::lend_frame`]: its own, or lent by the source.
#[derive(Debug)]
pub enum Lent<'a> {
    /// A frame of its own (give its buffer back with [`FrameSource::recycle`]).
    Owned(Frame),
    /// Bytes still in the source's buffer, with where they lie in the input file (as
    /// [`FrameSource::frame_origin`] says).
    Borrowed {
        /// The frame.
        frame: FrameRef<'a>,
        /// The input file and the offset of the frame's data in it, if it can be re-read.
        origin: Option<(&'a std::path::Path, u64)>,
    },
}

/// A captured frame whose bytes are borrowed: from a [`Frame`] ([`Frame::borrowed`]) or
/// from a source's read buffer ([`FrameSource::lend_frame`]). The engine and the decoder
/// read frames through this view, so either kind is analysed without a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    /// 1-based position of the frame in its input, as Wireshark numbers frames.
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Link-layer type of `data` (per interface in pcapng).
    pub link_type: LinkType,
    /// The captured bytes (possibly shorter than `orig_len` when a snaplen cut it).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// pcapng interface id (0 for pcap and live captures).
    pub interface: u32,
}

impl Frame {
    /// The frame as a borrowed view.
    pub fn borrowed(&self) -> FrameRef<'_> {
        FrameRef {
            number: self.number,
            ts: self.ts,
            link_type: self.link_type,
            data: &self.data,
            orig_len: self.orig_len,
            interface: self.interface,
        }
    }
}

/// One captured frame, owned so that it may cross a thread boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 1-based position of the frame in its input, as Wireshark numbers frames.
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Link-layer type of `data` (per interface in pcapng).
    pub link_type: LinkType,
    /// The captured bytes (possibly shorter than `orig_len` when a snaplen cut it).
    pub data: Vec<u8>,
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// pcapng interface id (0 for pcap and live captures).
    pub interface: u32,
}
