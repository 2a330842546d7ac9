//! Export: the frames of chosen calls (SIP messages, their RTP and RTCP) into a new capture.
//!
//! Three passes over the inputs, all deterministic:
//! 1. the normal analysis ([`analyze`], an [`Analyzer`] over every input) tells which
//!    frames carried each dialog's messages and which RTP streams are bound to it;
//! 2. [`plan`] re-reads the inputs, numbering frames exactly as
//!    [`Analyzer::run_source`] does (1-based, continuing across inputs), and decides for
//!    each frame whether a [`Selection`] wants it;
//! 3. [`write_plan`] reads them a third time and writes the chosen frames, untouched, in
//!    capture order, to a [`FrameSink`].
//!
//! What a selection takes for each dialog:
//! - **SIP**: every frame that completed one of its messages (`MessageRecord::frame`,
//!   retransmissions and duplicates included) and its malformed frames. A UDP datagram cut
//!   into IP fragments comes with all its fragments. Over TCP, the frames that carried the
//!   earlier bytes of a chosen message come too (the payload-carrying segments of that
//!   direction since the previous message completed), and the payload-less segments (SYN,
//!   ACK, FIN) of the connection from 2 s before the dialog's first message to 2 s after
//!   its last, so Wireshark can reassemble the messages.
//! - **RTP**: the UDP frames between the source and destination address of each stream
//!   bound to the dialog ([`RtpStream::dialog`]), from the stream's first to its last
//!   packet time.
//! - **RTCP**: UDP frames from or to an RTCP address of the dialog (each SDP `rtcp`
//!   address that is not the RTP address, and port + 1 of each stream endpoint), from the
//!   dialog's start to 5 s after the later of its end and its streams' last packet.
//!
//! Limits: matching is on the IP/UDP/TCP headers the decoder sees (tunnels included for
//! UDP; TCP connections are matched on the outer IP header only). A TCP segment that ends
//! another call's message and starts a chosen one is left out (its bytes of the chosen
//! message are then missing); over a connection shared by several calls, Wireshark shows
//! "previous segment not captured" where other calls' segments were. Fragment groups are
//! tracked up to [`MAX_FRAG_GROUPS`] at once. Messages beyond the engine's per-dialog
//! message limit are not exported. Standard input cannot be read twice, so it cannot be
//! exported from.

use std::collections::hash_map::Entry;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use thiserror::Error;

use crate::capture::{
    self, CaptureError, Frame, FrameSink, FrameSource, LinkType, PcapWriter, PcapngWriter,
    Timestamp,
};
use crate::engine::{Analyzer, Dialog, Limits};
use crate::net::{ip, link, websocket, Decoder, NetLimits, Segment, Transport};

/// Payload-less TCP segments are taken this long before a dialog's first message and after
/// its last (the handshake usually comes just before the first request).
pub const TCP_SLACK_NS: u64 = 2_000_000_000;
/// RTCP is taken until this long after the later of the dialog's end and its last RTP
/// packet (RTCP reports come every 5 s, RFC 3550 §6.2).
pub const RTCP_SLACK_NS: u64 = 5_000_000_000;
/// IP fragment groups tracked at once; the oldest is settled when more arrive.
pub const MAX_FRAG_GROUPS: usize = 4096;
/// Fragments kept per group (a 64 KiB datagram in 1280-byte fragments needs 52).
pub const MAX_FRAGS_PER_GROUP: usize = 64;
/// A fragment group older than this (packet time) is settled; a later fragment with the
/// same key starts a new group (IPv4 identifications wrap).
pub const FRAG_TIMEOUT_NS: u64 = 30_000_000_000;
/// Payload-carrying TCP segments kept per direction while a message is incomplete.
pub const MAX_TCP_PENDING: usize = 4096;
/// Selections handled by one [`split`] pass (each keeps an output file open).
pub const SPLIT_BATCH: usize = 128;

/// Why an export failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// Call-IDs that name no dialog of the analysis.
    #[error("unknown call id{}: {}", if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    UnknownCallIds(Vec<String>),
    /// An input could not be opened (the capture error names the file).
    #[error("{source}")]
    Input {
        /// The input.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: CaptureError,
    },
    /// Standard input (`-`) was given: an export reads its inputs more than once.
    #[error("cannot export from standard input: the inputs are read again to pick the frames; save the capture to a file first")]
    Stdin,
    /// An output could not be created or written.
    #[error("{}: {source}", .path.display())]
    Output {
        /// The output file (or a description of the sink).
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },
}

/// Why a frame is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FrameClass {
    /// A SIP message frame (or a fragment or TCP segment that carries one).
    Sip,
    /// A frame of a bound RTP stream's address pair.
    Rtp,
    /// A frame to or from an RTCP address of the call.
    Rtcp,
}

/// A time window, inclusive, in packet time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    from: Timestamp,
    to: Timestamp,
}

impl Window {
    fn contains(self, t: Timestamp) -> bool {
        self.from <= t && t <= self.to
    }
}

/// What to export: the frames of some dialogs, built from a finished analysis.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    call_ids: Vec<String>,
    /// Frames that completed a message (or were malformed), sorted, deduplicated.
    sip: Vec<u64>,
    /// TCP connections (canonical order) of the dialogs, with their window.
    tcp: Vec<((SocketAddr, SocketAddr), Window)>,
    /// RTP address pairs (src, dst) with the stream span.
    media: Vec<((SocketAddr, SocketAddr), Window)>,
    /// RTCP addresses with the dialog's window.
    rtcp: Vec<(SocketAddr, Window)>,
    with_media: bool,
    /// The TLS secrets the analysis decrypted with (options and pcapng Decryption Secrets
    /// Blocks): pass 2 decrypts the same way, so messages read from TLS are found again.
    keys: crate::net::tls_decrypt::KeyLog,
}

/// Whether a TCP payload belongs to a WebSocket connection as a whole: the HTTP/1.1
/// upgrade that opens it (RFC 6455 §4) or control frames only (ping, pong, close,
/// RFC 6455 §5.5); and whether it holds more (bytes of messages, which go pending like any
/// TCP payload). A SIP message never starts like either.
fn websocket_connection(p: &[u8]) -> (bool, bool) {
    if p.is_empty() {
        return (false, false);
    }
    if let websocket::HandshakeParse::Head(h) = websocket::handshake(p) {
        return if h.upgrades() {
            (true, h.len < p.len())
        } else {
            (false, true)
        };
    }
    let mut rest = p;
    while !rest.is_empty() {
        match websocket::parse_frame(rest, websocket::MAX_CONTROL_PAYLOAD as usize) {
            websocket::FrameParse::Frame(f) if f.header.is_control() => {
                rest = rest.get(f.len()..).unwrap_or_default();
            }
            _ => return (false, true),
        }
    }
    (true, false)
}

fn canonical(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

fn plus_one(a: SocketAddr) -> Option<SocketAddr> {
    a.port().checked_add(1).map(|p| SocketAddr::new(a.ip(), p))
}

impl Selection {
    /// The dialogs with these Call-IDs; every id must name a dialog of `an` (compared
    /// exactly), else [`ExportError::UnknownCallIds`] lists those that do not.
    pub fn for_calls(an: &Analyzer, call_ids: &[&str]) -> Result<Selection, ExportError> {
        let mut ids = Vec::new();
        let mut unknown = Vec::new();
        for &c in call_ids {
            let found: Vec<u64> = an
                .dialogs()
                .filter(|d| d.call_id == c)
                .map(|d| d.id)
                .collect();
            if found.is_empty() {
                unknown.push(c.to_string());
            }
            ids.extend(found);
        }
        if !unknown.is_empty() {
            return Err(ExportError::UnknownCallIds(unknown));
        }
        Ok(Selection::for_dialog_ids(an, &ids))
    }

    /// The dialogs with these engine ids ([`Dialog::id`]); ids not found are ignored.
    /// Media is included (see [`Selection::with_media`]).
    pub fn for_dialog_ids(an: &Analyzer, ids: &[u64]) -> Selection {
        let mut sel = Selection {
            with_media: true,
            keys: an.tls_keys().clone(),
            ..Selection::default()
        };
        let streams = an.streams();
        for d in an.dialogs().filter(|d| ids.contains(&d.id)) {
            sel.add_dialog(d, &streams);
        }
        sel.sip.sort_unstable();
        sel.sip.dedup();
        sel
    }

    fn add_dialog(&mut self, d: &Dialog, streams: &[&crate::engine::RtpStream]) {
        if !self.call_ids.contains(&d.call_id) {
            self.call_ids.push(d.call_id.clone());
        }
        let tcp_window = Window {
            from: Timestamp(d.start.0.saturating_sub(TCP_SLACK_NS)),
            to: Timestamp(d.end.0.saturating_add(TCP_SLACK_NS)),
        };
        for m in &d.messages {
            self.sip.push(m.frame);
            // WebSocket messages ride on TCP segments the same way.
            if matches!(
                m.transport,
                Transport::Tcp | Transport::Ws | Transport::Tls | Transport::Wss
            ) {
                let key = canonical(d.src_of(m), d.dst_of(m));
                match self.tcp.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, w)) => {
                        w.from = w.from.min(tcp_window.from);
                        w.to = w.to.max(tcp_window.to);
                    }
                    None => self.tcp.push((key, tcp_window)),
                }
            }
        }
        self.sip.extend_from_slice(d.malformed_frames());
        let mut last = d.end;
        let mut rtcp_addrs: Vec<SocketAddr> = Vec::new();
        for s in streams.iter().filter(|s| s.dialog == Some(d.id)) {
            let (Some(first), Some(end)) = (s.stats.first_seen(), s.stats.last_seen()) else {
                continue;
            };
            last = last.max(end);
            self.media.push((
                (s.src, s.dst),
                Window {
                    from: first,
                    to: end,
                },
            ));
            rtcp_addrs.extend(plus_one(s.src));
            rtcp_addrs.extend(plus_one(s.dst));
        }
        for line in d.sdp.iter().flat_map(|r| r.media.iter()) {
            if let Some(r) = line.rtcp.filter(|r| Some(*r) != line.addr).map(|r| r.get()) {
                rtcp_addrs.push(r);
            }
        }
        rtcp_addrs.sort_unstable();
        rtcp_addrs.dedup();
        let w = Window {
            from: d.start,
            to: Timestamp(last.0.saturating_add(RTCP_SLACK_NS)),
        };
        self.rtcp.extend(rtcp_addrs.into_iter().map(|a| (a, w)));
    }

    /// Includes RTP and RTCP (`true`, the default) or only SIP.
    pub fn with_media(mut self, on: bool) -> Selection {
        self.with_media = on;
        self
    }

    /// The Call-IDs selected, in the order first met.
    pub fn call_ids(&self) -> &[String] {
        &self.call_ids
    }

    /// Number of frames that completed a selected SIP message (fragments and TCP segments
    /// that carried earlier parts are found while planning).
    pub fn frames_sip(&self) -> usize {
        self.sip.len()
    }

    /// Number of RTP address pairs selected (0 when media is off).
    pub fn media_flows(&self) -> usize {
        if self.with_media {
            self.media.len()
        } else {
            0
        }
    }

    /// True when nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.sip.is_empty() && self.media_flows() == 0
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Frames written.
    pub frames: u64,
    /// Of which SIP (messages, their fragments and TCP segments).
    pub sip: u64,
    /// Of which RTP stream frames.
    pub rtp: u64,
    /// Of which RTCP frames.
    pub rtcp: u64,
    /// Captured bytes written (frame data, without file headers).
    pub bytes: u64,
}

impl fmt::Display for ExportStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} frames ({} SIP, {} RTP, {} RTCP)",
            self.frames, self.sip, self.rtp, self.rtcp
        )
    }
}

/// The frames one selection takes, found by [`plan`]: sorted by frame number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// (frame number, why, link type), sorted by frame number, one entry per frame.
    pub frames: Vec<(u64, FrameClass, LinkType)>,
}

impl Plan {
    /// Distinct link types of the planned frames, in first-frame order.
    pub fn link_types(&self) -> Vec<LinkType> {
        let mut v: Vec<LinkType> = Vec::new();
        for &(_, _, lt) in &self.frames {
            if !v.contains(&lt) {
                v.push(lt);
            }
        }
        v
    }

    fn finish(&mut self) {
        // Sorting by (frame, class) puts the strongest reason (Sip < Rtp < Rtcp) first.
        self.frames.sort_unstable_by_key(|&(n, c, _)| (n, c));
        self.frames.dedup_by_key(|&mut (n, _, _)| n);
    }
}

/// Opens every input, refusing standard input.
fn open_all(inputs: &[PathBuf]) -> Result<Vec<capture::FileSource>, ExportError> {
    inputs
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                return Err(ExportError::Stdin);
            }
            capture::open_path(p).map_err(|source| ExportError::Input {
                path: p.clone(),
                source,
            })
        })
        .collect()
}

/// Calls `f` with every frame of the inputs, numbered as [`Analyzer::run_source`] numbers
/// them. A read error ends that input (as in the analysis, which reports it as a warning
/// and keeps the frames before it), so numbers stay aligned.
fn each_frame(
    inputs: &[PathBuf],
    f: &mut dyn FnMut(Frame) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut base = 0u64;
    for mut src in open_all(inputs)? {
        let mut frames = 0u64;
        while let Ok(Some(mut frame)) = src.next_frame() {
            frames += 1;
            frame.number += base;
            f(frame)?;
        }
        base += frames;
    }
    Ok(())
}

/// Analyses the inputs as `siplens report` does (default limits, no message text kept):
/// pass 1 of an export.
pub fn analyze(inputs: &[PathBuf]) -> Result<Analyzer, ExportError> {
    analyze_keeping_text(inputs, false)
}

/// [`analyze`], keeping each message's text when `keep_text` is set (a display filter on
/// a header reads it).
pub fn analyze_keeping_text(inputs: &[PathBuf], keep_text: bool) -> Result<Analyzer, ExportError> {
    analyze_with(inputs, keep_text, crate::net::tls_decrypt::KeyLog::new())
}

/// [`analyze_keeping_text`], decrypting TLS with `keys` (`--tls-keylog`, `--tls-key`).
pub fn analyze_with(
    inputs: &[PathBuf],
    keep_text: bool,
    keys: crate::net::tls_decrypt::KeyLog,
) -> Result<Analyzer, ExportError> {
    analyze_with_srtp(inputs, keep_text, keys, Vec::new())
}

/// [`analyze_with`], also trying the user's SRTP master keys (`--srtp-key`).
pub fn analyze_with_srtp(
    inputs: &[PathBuf],
    keep_text: bool,
    keys: crate::net::tls_decrypt::KeyLog,
    srtp_keys: Vec<crate::engine::srtp::UserKey>,
) -> Result<Analyzer, ExportError> {
    let mut an = crate::rules::analyzer(Limits {
        max_raw_bytes: if keep_text {
            Limits::default().max_raw_bytes
        } else {
            0
        },
        ..Limits::default()
    });
    an.set_tls_keys(keys);
    an.set_srtp_keys(srtp_keys);
    for mut src in open_all(inputs)? {
        an.run_source(&mut src as &mut dyn FrameSource, &mut |_, _| {});
    }
    Ok(an)
}

type FragKey = (IpAddr, IpAddr, u32, u8);

struct FragGroup {
    first: Timestamp,
    frames: Vec<(u64, LinkType)>,
    chosen: Vec<(usize, FrameClass)>,
}

/// Lookup tables over several selections, and the per-connection state of planning.
struct Matcher {
    sip: FxHashMap<u64, Vec<usize>>,
    tcp: FxHashMap<(SocketAddr, SocketAddr), Vec<(usize, Window)>>,
    media: FxHashMap<(SocketAddr, SocketAddr), Vec<(usize, Window)>>,
    rtcp: FxHashMap<SocketAddr, Vec<(usize, Window)>>,
    /// Payload segments per TCP direction since its last completed message.
    pending: FxHashMap<(SocketAddr, SocketAddr), Vec<(u64, LinkType)>>,
    frags: FxHashMap<FragKey, FragGroup>,
    plans: Vec<Plan>,
}

impl Matcher {
    fn new(sels: &[&Selection]) -> Matcher {
        let mut m = Matcher {
            sip: FxHashMap::default(),
            tcp: FxHashMap::default(),
            media: FxHashMap::default(),
            rtcp: FxHashMap::default(),
            pending: FxHashMap::default(),
            frags: FxHashMap::default(),
            plans: vec![Plan::default(); sels.len()],
        };
        for (i, s) in sels.iter().enumerate() {
            for &n in &s.sip {
                m.sip.entry(n).or_default().push(i);
            }
            for &(k, w) in &s.tcp {
                m.tcp.entry(k).or_default().push((i, w));
            }
            if s.with_media {
                for &(k, w) in &s.media {
                    m.media.entry(k).or_default().push((i, w));
                }
                for &(a, w) in &s.rtcp {
                    m.rtcp.entry(a).or_default().push((i, w));
                }
            }
        }
        m
    }

    /// Decides for one frame; `segs` are the decoder's segments for it.
    fn frame(&mut self, frame: &Frame, segs: &[Segment<'_>]) {
        let n = frame.number;
        let lt = frame.link_type;
        let mut chosen: Vec<(usize, FrameClass)> = Vec::new();
        if let Some(v) = self.sip.get(&n) {
            chosen.extend(v.iter().map(|&i| (i, FrameClass::Sip)));
        }
        // The outer headers first: a TCP segment goes pending before the messages it
        // completes take the pending ones.
        let frag = self.outer(frame, &mut chosen);
        for seg in segs {
            match seg.transport {
                Transport::Udp => {
                    if let Some(v) = self.media.get(&(seg.src, seg.dst)) {
                        chosen.extend(
                            v.iter()
                                .filter(|(_, w)| w.contains(frame.ts))
                                .map(|&(i, _)| (i, FrameClass::Rtp)),
                        );
                    }
                    for a in [seg.src, seg.dst] {
                        if let Some(v) = self.rtcp.get(&a) {
                            chosen.extend(
                                v.iter()
                                    .filter(|(_, w)| w.contains(frame.ts))
                                    .map(|&(i, _)| (i, FrameClass::Rtcp)),
                            );
                        }
                    }
                }
                // Decrypted TLS (and WSS inside it): the TCP segments that carried the
                // records, the handshake's first, go with the message they complete.
                Transport::Tcp | Transport::Ws | Transport::Tls | Transport::Wss => {
                    // A message completed here: the segments that carried its earlier
                    // bytes go with it when it is chosen.
                    let pend = self.pending.remove(&(seg.src, seg.dst)).unwrap_or_default();
                    if let Some(v) = self.sip.get(&n) {
                        for &i in v {
                            if self
                                .tcp
                                .get(&canonical(seg.src, seg.dst))
                                .is_some_and(|c| c.iter().any(|&(j, _)| j == i))
                            {
                                if let Some(p) = self.plans.get_mut(i) {
                                    p.frames
                                        .extend(pend.iter().map(|&(f, l)| (f, FrameClass::Sip, l)));
                                }
                            }
                        }
                    }
                }
                // An SCTP message's earlier fragments (other frames) are not followed:
                // the frame completing it is chosen above (docs/export.md, limits).
                // Handshake records are not SIP: they are taken as pending segments of
                // the connection.
                Transport::TlsRecords | Transport::Sctp => {}
            }
        }
        if let Some(key) = frag {
            self.fragment(key, frame, &chosen);
            // The decoder hands out a reassembled datagram on the fragment that completes
            // it: the group is whole, settle it now so the table stays small.
            if !segs.is_empty() {
                if let Some(g) = self.frags.remove(&key) {
                    self.settle(g);
                }
            }
        }
        for (i, c) in chosen {
            if let Some(p) = self.plans.get_mut(i) {
                p.frames.push((n, c, lt));
            }
        }
    }

    /// Looks at the outer IP header: TCP segments of chosen connections (payload ones go
    /// pending, the others are taken inside the window); returns the fragment key when
    /// the frame is an IP fragment.
    fn outer(&mut self, frame: &Frame, chosen: &mut Vec<(usize, FrameClass)>) -> Option<FragKey> {
        let link::Link::Ip(data) = link::decapsulate(frame.link_type, &frame.data) else {
            return None;
        };
        let pkt = match ip::parse(data) {
            ip::Parsed::V4(p) | ip::Parsed::V6(p) => p,
            _ => return None,
        };
        if let Some(f) = pkt.frag {
            return Some((pkt.src, pkt.dst, f.id, pkt.proto));
        }
        if pkt.proto != ip::proto::TCP || self.tcp.is_empty() {
            return None;
        }
        let b = pkt.payload;
        let port =
            |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?])) };
        let (Some(sp), Some(dp), Some(off)) = (port(0), port(2), b.get(12)) else {
            return None;
        };
        let src = SocketAddr::new(pkt.src, sp);
        let dst = SocketAddr::new(pkt.dst, dp);
        let conns = self.tcp.get(&canonical(src, dst))?;
        let header = usize::from(off >> 4) * 4;
        let (connection, more) = websocket_connection(b.get(header..).unwrap_or_default());
        if connection {
            // The WebSocket upgrade and control frames belong to the connection, not to
            // one message: every chosen call on it takes them, as it takes the SYN.
            chosen.extend(
                conns
                    .iter()
                    .filter(|(_, w)| w.contains(frame.ts))
                    .map(|&(i, _)| (i, FrameClass::Sip)),
            );
        }
        if more {
            let p = self.pending.entry((src, dst)).or_default();
            if p.len() < MAX_TCP_PENDING {
                p.push((frame.number, frame.link_type));
            }
        } else if !connection {
            chosen.extend(
                conns
                    .iter()
                    .filter(|(_, w)| w.contains(frame.ts))
                    .map(|&(i, _)| (i, FrameClass::Sip)),
            );
        }
        None
    }

    fn fragment(&mut self, key: FragKey, frame: &Frame, chosen: &[(usize, FrameClass)]) {
        if let Some(g) = self.frags.get(&key) {
            if frame.ts.since(g.first) > FRAG_TIMEOUT_NS {
                if let Some(g) = self.frags.remove(&key) {
                    self.settle(g);
                }
            }
        }
        if !self.frags.contains_key(&key) && self.frags.len() >= MAX_FRAG_GROUPS {
            let oldest = self
                .frags
                .iter()
                .min_by_key(|(k, g)| (g.first, **k))
                .map(|(k, _)| *k);
            if let Some(g) = oldest.and_then(|k| self.frags.remove(&k)) {
                self.settle(g);
            }
        }
        let g = match self.frags.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(FragGroup {
                first: frame.ts,
                frames: Vec::new(),
                chosen: Vec::new(),
            }),
        };
        if g.frames.len() < MAX_FRAGS_PER_GROUP {
            g.frames.push((frame.number, frame.link_type));
        }
        g.chosen.extend_from_slice(chosen);
    }

    /// A finished fragment group: if its datagram was chosen, every fragment is.
    fn settle(&mut self, g: FragGroup) {
        for &(i, c) in &g.chosen {
            if let Some(p) = self.plans.get_mut(i) {
                p.frames.extend(g.frames.iter().map(|&(n, l)| (n, c, l)));
            }
        }
    }

    fn finish(mut self) -> Vec<Plan> {
        let groups: Vec<FragGroup> = self.frags.drain().map(|(_, g)| g).collect();
        for g in groups {
            self.settle(g);
        }
        for p in &mut self.plans {
            p.finish();
        }
        self.plans
    }
}

/// Pass 2: the frames each selection takes, one [`Plan`] per selection, in the same order.
pub fn plan_many(inputs: &[PathBuf], sels: &[&Selection]) -> Result<Vec<Plan>, ExportError> {
    let mut m = Matcher::new(sels);
    let mut decoder = Decoder::new(NetLimits::default());
    // The selections come from one analysis, so they hold the same keys.
    if let Some(sel) = sels.iter().find(|s| !s.keys.is_empty()) {
        decoder.set_tls_keys(sel.keys.clone());
    }
    each_frame(inputs, &mut |frame| {
        // Segments borrow the frame, so the buffer lives per frame (no allocation when
        // the decoder pushes nothing).
        let mut segs: Vec<Segment<'_>> = Vec::new();
        decoder.decode(&frame, &mut segs);
        m.frame(&frame, &segs);
        Ok(())
    })?;
    Ok(m.finish())
}

/// Pass 2 for one selection.
pub fn plan(inputs: &[PathBuf], sel: &Selection) -> Result<Plan, ExportError> {
    Ok(plan_many(inputs, &[sel])?.pop().unwrap_or_default())
}

fn sink_err(path: &Path) -> impl Fn(io::Error) -> ExportError + '_ {
    move |source| ExportError::Output {
        path: path.to_path_buf(),
        source,
    }
}

/// Pass 3 for several plans at once: writes each plan's frames to its sink, in capture
/// order. `names` name the sinks in errors.
pub fn write_plans(
    inputs: &[PathBuf],
    plans: &[Plan],
    sinks: &mut [&mut dyn FrameSink],
    names: &[PathBuf],
) -> Result<Vec<ExportStats>, ExportError> {
    let mut stats = vec![ExportStats::default(); plans.len()];
    let mut next = vec![0usize; plans.len()];
    let unnamed = PathBuf::from("<output>");
    each_frame(inputs, &mut |frame| {
        for (i, plan) in plans.iter().enumerate() {
            let Some(at) = next.get_mut(i) else { continue };
            // Both sides are in frame order: advance a cursor instead of searching.
            while plan
                .frames
                .get(*at)
                .is_some_and(|&(n, _, _)| n < frame.number)
            {
                *at += 1;
            }
            let Some(&(n, class, _)) = plan.frames.get(*at) else {
                continue;
            };
            if n != frame.number {
                continue;
            }
            let name = names.get(i).unwrap_or(&unnamed);
            if let Some(sink) = sinks.get_mut(i) {
                sink.write_frame(&frame).map_err(sink_err(name))?;
            }
            if let Some(s) = stats.get_mut(i) {
                s.frames += 1;
                s.bytes += frame.data.len() as u64;
                match class {
                    FrameClass::Sip => s.sip += 1,
                    FrameClass::Rtp => s.rtp += 1,
                    FrameClass::Rtcp => s.rtcp += 1,
                }
            }
        }
        Ok(())
    })?;
    for (i, sink) in sinks.iter_mut().enumerate() {
        sink.flush()
            .map_err(sink_err(names.get(i).unwrap_or(&unnamed)))?;
    }
    Ok(stats)
}

/// Pass 3: writes the planned frames to `sink`, in capture order.
pub fn write_plan(
    inputs: &[PathBuf],
    plan: &Plan,
    sink: &mut dyn FrameSink,
) -> Result<ExportStats, ExportError> {
    let mut v = write_plans(
        inputs,
        std::slice::from_ref(plan),
        &mut [sink],
        &[PathBuf::from("<output>")],
    )?;
    Ok(v.pop().unwrap_or_default())
}

/// Passes 2 and 3: writes the frames of `sel` to `sink`.
pub fn write_selection(
    inputs: &[PathBuf],
    sel: &Selection,
    sink: &mut dyn FrameSink,
) -> Result<ExportStats, ExportError> {
    let p = plan(inputs, sel)?;
    write_plan(inputs, &p, sink)
}

/// An output file: pcap when every frame has one link type and the name does not end in
/// `.pcapng`, pcapng otherwise.
enum FileSink {
    Pcap(PcapWriter<BufWriter<File>>),
    Pcapng(PcapngWriter<BufWriter<File>>),
}

impl FrameSink for FileSink {
    fn write_frame(&mut self, f: &Frame) -> io::Result<()> {
        match self {
            FileSink::Pcap(w) => w.write_frame(f),
            FileSink::Pcapng(w) => w.write_frame(f),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            FileSink::Pcap(w) => w.flush(),
            FileSink::Pcapng(w) => w.flush(),
        }
    }
}

/// True when `path` ends in `.pcapng` (any case).
fn wants_pcapng(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"))
}

fn create_sink(path: &Path, plan: &Plan) -> Result<FileSink, ExportError> {
    let file = File::create(path).map_err(sink_err(path))?;
    let out = BufWriter::new(file);
    let lts = plan.link_types();
    Ok(match lts.as_slice() {
        [one] if !wants_pcapng(path) => {
            FileSink::Pcap(PcapWriter::new(out, *one).map_err(sink_err(path))?)
        }
        // No frame at all: an empty pcap of Ethernet still opens everywhere.
        [] if !wants_pcapng(path) => {
            FileSink::Pcap(PcapWriter::new(out, LinkType::ETHERNET).map_err(sink_err(path))?)
        }
        _ => FileSink::Pcapng(PcapngWriter::new(out).map_err(sink_err(path))?),
    })
}

/// Passes 2 and 3 into a file: pcap when the chosen frames share one link type (and `out`
/// does not end in `.pcapng`), pcapng otherwise.
pub fn export_to_file(
    inputs: &[PathBuf],
    sel: &Selection,
    out: &Path,
) -> Result<ExportStats, ExportError> {
    let p = plan(inputs, sel)?;
    let mut sink = create_sink(out, &p)?;
    let mut v = write_plans(
        inputs,
        std::slice::from_ref(&p),
        &mut [&mut sink],
        &[out.to_path_buf()],
    )?;
    Ok(v.pop().unwrap_or_default())
}

/// A file name for a Call-ID: ASCII letters, digits, `.`, `-`, `_` kept, anything else
/// `_`, at most 100 characters, never starting with a dot.
pub fn file_stem(call_id: &str) -> String {
    let mut s: String = call_id
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') || s.is_empty() {
        s.insert(0, '_');
    }
    s
}

/// One file per call in `dir` (created if missing): `<file_stem(call id)>.pcap` (or
/// `.pcapng` when its frames have several link types; `-2`, `-3`... appended when two ids
/// give the same name). Returns (Call-ID, file, what was written) per call, in the order
/// given. Inputs are read twice per [`SPLIT_BATCH`] calls.
pub fn split(
    inputs: &[PathBuf],
    an: &Analyzer,
    call_ids: &[&str],
    dir: &Path,
    with_media: bool,
) -> Result<Vec<(String, PathBuf, ExportStats)>, ExportError> {
    let sels = call_ids
        .iter()
        .map(|c| Selection::for_calls(an, &[c]).map(|s| s.with_media(with_media)))
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(dir).map_err(sink_err(dir))?;
    let mut used: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (batch_ids, batch) in call_ids.chunks(SPLIT_BATCH).zip(sels.chunks(SPLIT_BATCH)) {
        let refs: Vec<&Selection> = batch.iter().collect();
        let plans = plan_many(inputs, &refs)?;
        let mut paths = Vec::new();
        let mut sinks = Vec::new();
        for p in &plans {
            let ext = if p.link_types().len() > 1 {
                "pcapng"
            } else {
                "pcap"
            };
            let stem = file_stem(batch_ids.get(paths.len()).copied().unwrap_or(""));
            let mut name = format!("{stem}.{ext}");
            let mut k = 2;
            while used.contains(&name) {
                name = format!("{stem}-{k}.{ext}");
                k += 1;
            }
            used.push(name.clone());
            let path = dir.join(name);
            sinks.push(create_sink(&path, p)?);
            paths.push(path);
        }
        let mut dyn_sinks: Vec<&mut dyn FrameSink> =
            sinks.iter_mut().map(|s| s as &mut dyn FrameSink).collect();
        let stats = write_plans(inputs, &plans, &mut dyn_sinks, &paths)?;
        for ((id, path), st) in batch_ids.iter().zip(paths).zip(stats) {
            out.push((id.to_string(), path, st));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("abc-123@host.example"), "abc-123_host.example");
        assert_eq!(file_stem("../../etc/passwd"), "_.._.._etc_passwd");
        assert_eq!(file_stem(""), "_");
        assert_eq!(file_stem("a/b\\c d"), "a_b_c_d");
        assert_eq!(file_stem(&"x".repeat(300)).len(), 100);
    }

    #[test]
    fn stdin_is_refused() {
        let e = analyze(&[PathBuf::from("-")]).err().expect("stdin refused");
        assert!(matches!(e, ExportError::Stdin));
    }

    #[test]
    fn missing_input_names_the_file() {
        let e = analyze(&[PathBuf::from("/nonexistent/x.pcap")])
            .err()
            .expect("missing input refused");
        assert!(e.to_string().contains("/nonexistent/x.pcap"), "{e}");
    }

    #[test]
    fn unknown_ids_are_listed() {
        let an = crate::rules::analyzer(crate::engine::Limits::default());
        let e = Selection::for_calls(&an, &["a", "b"]).expect_err("unknown");
        assert_eq!(e.to_string(), "unknown call ids: a, b");
    }
}
