//! Audio export (`siplens audio`): one 16-bit PCM WAV per RTP stream of the chosen
//! calls, and one stereo WAV per call (caller left, callee right), decoded from RTP or
//! from SRTP the engine decrypted with its SDP's SDES keys (RFC 4568).
//!
//! One pass: the engine runs over the inputs with a media tap
//! ([`Analyzer::set_media_tap`]) that hands every RTP packet of a bound stream, its
//! payload in clear, to a [`Collector`]. Each stream's [`stream::Timeline`] puts its
//! packets in order within a small window, decodes them ([`g711`], [`g722`]) and
//! writes them at the place their RTP timestamp gives, silence filling what was lost or
//! not sent, straight into the stream's file ([`wav::WavWriter`]). Nothing else is kept:
//! memory per stream is the window (at most [`stream::REORDER_WINDOW`] payloads of
//! [`stream::MAX_PAYLOAD`] bytes), a decode buffer and a file buffer; at most
//! [`crate::engine::limits::ReportLimits::max_audio_streams`] streams are written, and at
//! most [`MAX_OPEN_FILES`] files are open at once (the least recently written is closed
//! and reopened when its stream speaks again).
//!
//! At the end each file gets its final name, `<call>_<caller|callee|other>_<SSRC>.wav`
//! (the Call-ID with every character outside `[A-Za-z0-9._@-]` replaced by `_`, cut at
//! 64), and each call with a stream on at least one side gets `<call>_stereo.wav`: its
//! streams placed by the capture time of their first packet, caller's on the left,
//! callee's on the right, at the higher of their rates (a lower rate repeated up when it
//! divides it). Which side a stream is comes from the dialog's SDP: a stream from an
//! address the caller's SDP announced, or to one the callee's announced, is the caller's.
//!
//! Streams that cannot be decoded are refused, each with the reason ([`Refusal`]):
//! a codec other than PCMU, PCMA and G722; SRTP that was never decrypted (no SDES key in
//! the capture, DTLS-SRTP); the stream bound exceeded.

pub mod g711;
pub mod g722;
pub mod stream;
pub mod wav;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use thiserror::Error;

use crate::capture::{self, CaptureError, FrameSource};
use crate::engine::{Analyzer, Limits, MediaPacket};
use stream::{Codec, PcmSink, Timeline, TimelineStats, PT_CN};
use wav::WavWriter;

/// Samples a stream file gathers before they are appended (8 KiB: 0.5 s at 8 kHz).
pub const STREAM_CHUNK: usize = 4096;
/// Samples the stereo file gathers before they are appended (64 KiB).
pub const STEREO_CHUNK: usize = 32 * 1024;
/// Longest Call-ID part of a file name.
pub const MAX_NAME_CHARS: usize = 64;

/// Why an audio export failed.
#[derive(Debug, Error)]
pub enum AudioError {
    /// An input could not be opened.
    #[error("{source}")]
    Input {
        /// The input.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: CaptureError,
    },
    /// The output directory or a file in it could not be written.
    #[error("{}: {source}", .path.display())]
    Output {
        /// The file or directory.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },
}

/// A party of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The party that sent the initial INVITE.
    Caller,
    /// The other party.
    Callee,
    /// Neither SDP names the stream's addresses.
    Other,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Caller => "caller",
            Side::Callee => "callee",
            Side::Other => "other",
        })
    }
}

/// A stream that was not written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Its call.
    pub call_id: String,
    /// Its SSRC.
    pub ssrc: u32,
    /// Source and destination.
    pub src: SocketAddr,
    /// Destination.
    pub dst: SocketAddr,
    /// Why (names the codec when it is the codec).
    pub reason: String,
    /// The stream carried no audio at all (telephone events or comfort noise only): a
    /// note, not a failure.
    pub no_audio: bool,
}

/// A file written.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// Its call.
    pub call_id: String,
    /// Its path.
    pub path: PathBuf,
    /// The stream's SSRC (None for the stereo file).
    pub ssrc: Option<u32>,
    /// Side of the stream (None for the stereo file).
    pub side: Option<Side>,
    /// Source and destination of the stream.
    pub flow: Option<(SocketAddr, SocketAddr)>,
    /// Codec decoded (the stereo file: the left and right codecs joined by `+`).
    pub codec: String,
    /// Sample rate.
    pub rate: u32,
    /// Samples per channel.
    pub frames: u64,
    /// What happened to the stream's packets (zero for the stereo file).
    pub stats: TimelineStats,
}

impl Written {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.rate.max(1))
    }
}

/// What an audio export did.
#[derive(Debug, Clone, Default)]
pub struct AudioSummary {
    /// Files written: every stream's, then the stereo files.
    pub written: Vec<Written>,
    /// Streams not written.
    pub refused: Vec<Refusal>,
    /// Call-IDs asked for that no dialog of the inputs has.
    pub unknown_call_ids: Vec<String>,
    /// Inputs that yielded no frame or ended early: (name, frames, warning).
    pub inputs: Vec<crate::engine::InputInfo>,
}

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct AudioOptions {
    /// Output directory (created when missing).
    pub dir: PathBuf,
    /// Only these calls (empty: every call with RTP).
    pub call_ids: Vec<String>,
    /// Streams written at most ([`crate::engine::limits::ReportLimits::max_audio_streams`]).
    pub max_streams: usize,
    /// SRTP master keys given by the user (`--srtp-key`), for streams the capture gives
    /// no key for.
    pub srtp_keys: Vec<crate::engine::srtp::UserKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: SocketAddr,
    dst: SocketAddr,
    ssrc: u32,
}

/// A stream being written.
struct Active {
    call_id: String,
    dialog: u64,
    timeline: Timeline,
    /// Created at its first decoded packet.
    wav: Option<WavWriter>,
    part: PathBuf,
    encrypted: bool,
}

enum Entry {
    Active(Box<Active>),
    /// Refused (and named in the refusals); its packets are ignored.
    Refused,
}

/// The media tap's side: the streams being written. A stream is created at its first
/// audio packet (comfort noise and events before it are skipped: the codec shows with the
/// audio) and refused at once when its codec cannot be decoded.
pub struct Collector {
    opts: AudioOptions,
    wanted: HashSet<String>,
    streams: HashMap<Key, Entry>,
    order: Vec<Key>,
    refused: Vec<Refusal>,
    /// Streams whose packets so far were all events or comfort noise, with their call.
    events: HashMap<Key, String>,
    error: Option<AudioError>,
}

/// A [`PcmSink`] over an optional lazily created WAV file.
struct FileSink<'a> {
    wav: &'a mut Option<WavWriter>,
    part: &'a Path,
    rate: u32,
}

impl FileSink<'_> {
    fn writer(&mut self) -> io::Result<&mut WavWriter> {
        if self.wav.is_none() {
            *self.wav = Some(WavWriter::create(self.part, self.rate, 1, STREAM_CHUNK)?);
        }
        self.wav
            .as_mut()
            .ok_or_else(|| io::Error::other("no writer"))
    }
}

impl PcmSink for FileSink<'_> {
    fn silence(&mut self, n: u64) -> io::Result<()> {
        self.writer()?.write_silence(n)
    }

    fn samples(&mut self, s: &[i16]) -> io::Result<()> {
        self.writer()?.write(s)
    }
}

/// Keeps `[A-Za-z0-9._@-]`, replaces the rest with `_`, at most [`MAX_NAME_CHARS`].
pub fn sanitize(call_id: &str) -> String {
    let s: String = call_id
        .chars()
        .take(MAX_NAME_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // No hidden file, no "." or "..".
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

impl Collector {
    /// A collector writing into `opts.dir` (which must exist).
    pub fn new(opts: AudioOptions) -> Collector {
        Collector {
            wanted: opts.call_ids.iter().cloned().collect(),
            opts,
            streams: HashMap::new(),
            order: Vec::new(),
            refused: Vec::new(),
            events: HashMap::new(),
            error: None,
        }
    }

    fn refuse(&mut self, key: Key, call_id: &str, reason: String) {
        self.streams.insert(key, Entry::Refused);
        self.refused.push(Refusal {
            call_id: call_id.to_string(),
            ssrc: key.ssrc,
            src: key.src,
            dst: key.dst,
            reason,
            no_audio: false,
        });
    }

    /// One packet from the media tap.
    pub fn on_packet(&mut self, p: &MediaPacket<'_>) {
        if self.error.is_some() || (!self.wanted.is_empty() && !self.wanted.contains(p.call_id)) {
            return;
        }
        let key = Key {
            src: p.src,
            dst: p.dst,
            ssrc: p.header.ssrc,
        };
        if !self.streams.contains_key(&key) {
            let event = p.header.payload_type == PT_CN || Some(p.header.payload_type) == p.dtmf_pt;
            if event {
                // The codec shows with the first audio packet; a stream that never sends
                // one is named at the end (bounded like the streams).
                if self.events.len() < self.opts.max_streams {
                    self.events
                        .entry(key)
                        .or_insert_with(|| p.call_id.to_string());
                }
                return;
            }
            if self.order.len() >= self.opts.max_streams {
                let max = self.opts.max_streams;
                self.refuse(
                    key,
                    p.call_id,
                    format!("more than {max} streams (the audio stream bound)"),
                );
                return;
            }
            let pt = p.header.payload_type;
            let (codec, name) = if pt == p.stream_pt {
                let name = p.codec.map_or_else(
                    || {
                        crate::media::codec::static_payload_type(pt)
                            .map_or(format!("payload type {pt}"), |c| c.name.to_string())
                    },
                    |n| format!("{n}/{}", p.clock_rate),
                );
                let codec = match p.codec {
                    Some(n) => Codec::from_name(n),
                    None => Codec::from_static_pt(pt),
                };
                (codec, name)
            } else {
                let c = Codec::from_static_pt(pt);
                (
                    c,
                    c.map_or(format!("payload type {pt}"), |c| c.name().to_string()),
                )
            };
            let Some(codec) = codec else {
                self.refuse(
                    key,
                    p.call_id,
                    format!("codec {name} cannot be decoded (siplens decodes PCMU, PCMA and G722)"),
                );
                return;
            };
            let n = self.order.len();
            let part = self.opts.dir.join(format!(".siplens-audio-{n}.part"));
            self.order.push(key);
            self.streams.insert(
                key,
                Entry::Active(Box::new(Active {
                    call_id: p.call_id.to_string(),
                    dialog: p.dialog,
                    timeline: Timeline::new(codec, pt, p.dtmf_pt),
                    wav: None,
                    part,
                    encrypted: p.encrypted,
                })),
            );
        }
        let Some(Entry::Active(a)) = self.streams.get_mut(&key) else {
            return;
        };
        let rate = a.timeline.codec().sample_rate();
        let mut sink = FileSink {
            wav: &mut a.wav,
            part: &a.part,
            rate,
        };
        let h = p.header;
        let r = a.timeline.push(
            h.payload_type,
            h.sequence,
            h.timestamp,
            p.ts.0,
            p.payload,
            &mut sink,
        );
        if let Err(e) = r {
            self.error = Some(AudioError::Output {
                path: a.part.clone(),
                source: e,
            });
        }
    }

    /// Finishes every stream and writes the stereo files: the files written and the
    /// streams refused. `side` tells a stream's side in its dialog.
    pub fn finish(
        mut self,
        side: &dyn Fn(u64, SocketAddr, SocketAddr) -> Side,
    ) -> Result<(Vec<Written>, Vec<Refusal>), AudioError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut silent: Vec<(Key, String)> = std::mem::take(&mut self.events)
            .into_iter()
            .filter(|(k, _)| !self.streams.contains_key(k))
            .collect();
        silent.sort_by_key(|(k, c)| (c.clone(), k.src, k.dst, k.ssrc));
        for (key, call_id) in silent {
            self.refused.push(Refusal {
                call_id,
                ssrc: key.ssrc,
                src: key.src,
                dst: key.dst,
                reason: "no audio: only telephone events or comfort noise".to_string(),
                no_audio: true,
            });
        }
        let mut written = Vec::new();
        let mut used_names: HashSet<String> = HashSet::new();
        // Per call (in order of first stream): (stream file index, side, start ns).
        let mut calls: Vec<(String, Vec<Placed>)> = Vec::new();
        for key in std::mem::take(&mut self.order) {
            let Some(Entry::Active(mut a)) = self.streams.remove(&key) else {
                continue;
            };
            let rate = a.timeline.codec().sample_rate();
            let mut sink = FileSink {
                wav: &mut a.wav,
                part: &a.part,
                rate,
            };
            let out = |e| AudioError::Output {
                path: a.part.clone(),
                source: e,
            };
            a.timeline.finish(&mut sink).map_err(out)?;
            let Some(w) = a.wav.take() else {
                let reason = if a.timeline.stats.undecrypted > 0 || a.encrypted {
                    "SRTP not decrypted (no key authenticated it: SDES keys of the capture, DTLS-SRTP keys from --tls-keylog, --srtp-key)".to_string()
                } else {
                    "no audio packet (only events, comfort noise or other payload types)"
                        .to_string()
                };
                self.refused.push(Refusal {
                    call_id: a.call_id.clone(),
                    ssrc: key.ssrc,
                    src: key.src,
                    dst: key.dst,
                    reason,
                    no_audio: false,
                });
                continue;
            };
            let frames = w.frames();
            w.finish().map_err(|e| AudioError::Output {
                path: a.part.clone(),
                source: e,
            })?;
            let s = side(a.dialog, key.src, key.dst);
            let base = format!("{}_{s}_{:08X}", sanitize(&a.call_id), key.ssrc);
            let name = unique(&mut used_names, &base);
            let path = self.opts.dir.join(&name);
            std::fs::rename(&a.part, &path).map_err(|e| AudioError::Output {
                path: path.clone(),
                source: e,
            })?;
            let index = written.len();
            written.push(Written {
                call_id: a.call_id.clone(),
                path,
                ssrc: Some(key.ssrc),
                side: Some(s),
                flow: Some((key.src, key.dst)),
                codec: a.timeline.codec().name().to_string(),
                rate,
                frames,
                stats: a.timeline.stats,
            });
            let start = a.timeline.start_ns().unwrap_or(0);
            match calls.iter_mut().find(|(c, _)| *c == a.call_id) {
                Some((_, v)) => v.push((index, s, start)),
                None => calls.push((a.call_id.clone(), vec![(index, s, start)])),
            }
        }
        for (call_id, tracks) in calls {
            let tracks: Vec<Placed> = tracks.into_iter().filter(|t| t.1 != Side::Other).collect();
            if tracks.is_empty() {
                continue;
            }
            let name = unique(&mut used_names, &format!("{}_stereo", sanitize(&call_id)));
            let path = self.opts.dir.join(&name);
            if let Some(w) = stereo(&written, &tracks, &path, &call_id)? {
                written.push(w);
            }
        }
        Ok((written, self.refused))
    }
}

/// A stream file of a call for its stereo file: its index in the files written, its
/// side, and the capture time (ns) its audio starts at.
type Placed = (usize, Side, u64);

/// `base.wav`, or `base-2.wav` and so on when taken.
fn unique(used: &mut HashSet<String>, base: &str) -> String {
    let mut name = format!("{base}.wav");
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}.wav");
        n += 1;
    }
    name
}

/// One channel's source while mixing: a mono file placed at `offset` (output frames),
/// each of its samples repeated `factor` times.
struct Track {
    reader: wav::WavReader,
    offset: u64,
    factor: u64,
    /// Output frames it covers.
    len: u64,
    cur: i16,
    left_in_cur: u64,
    left_channel: bool,
}

impl Track {
    fn sample_at(&mut self, i: u64) -> io::Result<i16> {
        if i < self.offset || i >= self.offset + self.len {
            return Ok(0);
        }
        if self.left_in_cur == 0 {
            self.cur = self.reader.next_sample()?;
            self.left_in_cur = self.factor;
        }
        self.left_in_cur -= 1;
        Ok(self.cur)
    }
}

/// Writes the stereo file of a call from its streams' files; None when their rates
/// cannot be matched by repetition (one does not divide the other).
fn stereo(
    written: &[Written],
    tracks: &[Placed],
    path: &Path,
    call_id: &str,
) -> Result<Option<Written>, AudioError> {
    let err = |p: &Path| {
        let p = p.to_path_buf();
        move |e| AudioError::Output { path: p, source: e }
    };
    let rate = tracks
        .iter()
        .filter_map(|t| written.get(t.0))
        .map(|w| w.rate)
        .max()
        .unwrap_or(8000);
    if tracks
        .iter()
        .filter_map(|t| written.get(t.0))
        .any(|w| w.rate == 0 || rate % w.rate != 0)
    {
        return Ok(None);
    }
    let t0 = tracks.iter().map(|t| t.2).min().unwrap_or(0);
    let mut open = Vec::new();
    let mut end = 0u64;
    let mut codecs: [Vec<&str>; 2] = [Vec::new(), Vec::new()];
    for &(i, side, start) in tracks {
        let Some(w) = written.get(i) else { continue };
        let (reader, r) = wav::WavReader::open(&w.path).map_err(err(&w.path))?;
        let factor = u64::from(rate / r.max(1));
        let offset = u64::try_from(u128::from(start - t0) * u128::from(rate) / 1_000_000_000)
            .unwrap_or(u64::MAX / 4);
        let len = reader.remaining() * factor;
        end = end.max(offset + len);
        let left_channel = side == Side::Caller;
        let c = &mut codecs[usize::from(!left_channel)];
        if !c.contains(&w.codec.as_str()) {
            c.push(&w.codec);
        }
        open.push(Track {
            reader,
            offset,
            factor,
            len,
            cur: 0,
            left_in_cur: 0,
            left_channel,
        });
    }
    let mut out = WavWriter::create(path, rate, 2, STEREO_CHUNK).map_err(err(path))?;
    let mut buf: Vec<i16> = Vec::with_capacity(8192);
    for i in 0..end {
        let (mut l, mut r) = (0i32, 0i32);
        for t in &mut open {
            let s = i32::from(t.sample_at(i).map_err(err(path))?);
            if t.left_channel {
                l += s;
            } else {
                r += s;
            }
        }
        buf.push(l.clamp(-32768, 32767) as i16);
        buf.push(r.clamp(-32768, 32767) as i16);
        if buf.len() >= 8192 {
            out.write(&buf).map_err(err(path))?;
            buf.clear();
        }
    }
    out.write(&buf).map_err(err(path))?;
    let frames = out.frames();
    out.finish().map_err(err(path))?;
    let codec = codecs
        .iter()
        .map(|c| {
            if c.is_empty() {
                "-".to_string()
            } else {
                c.join(",")
            }
        })
        .collect::<Vec<_>>()
        .join("+");
    Ok(Some(Written {
        call_id: call_id.to_string(),
        path: path.to_path_buf(),
        ssrc: None,
        side: None,
        flow: None,
        codec,
        rate,
        frames,
        stats: TimelineStats::default(),
    }))
}

/// The side of the stream `src` -> `dst` in dialog `id` of `an`: from the addresses its
/// SDP bodies announced (a stream comes from where its sender's SDP said it receives,
/// symmetric RTP, RFC 4961, or goes to where the other's said), else from the caller's
/// signaling address.
pub fn stream_side(an: &Analyzer, id: u64, src: SocketAddr, dst: SocketAddr) -> Side {
    let Some(d) = an.dialog(id) else {
        return Side::Other;
    };
    let announced = |a: SocketAddr| {
        d.sdp.iter().find_map(|r| {
            r.media
                .iter()
                .any(|m| m.addr.map(|x| x.get()) == Some(a))
                .then_some(r.from_caller)
        })
    };
    match (announced(src), announced(dst)) {
        (Some(true), _) | (_, Some(false)) => Side::Caller,
        (Some(false), _) | (_, Some(true)) => Side::Callee,
        _ if src.ip() == d.src.get().ip() => Side::Caller,
        _ if src.ip() == d.dst.get().ip() => Side::Callee,
        _ => Side::Other,
    }
}

/// Reads `inputs` once (a `-` is standard input) and writes the audio of their calls
/// into `opts.dir`, decrypting TLS with `keys`.
pub fn export(
    inputs: &[PathBuf],
    keys: crate::net::tls_decrypt::KeyLog,
    opts: &AudioOptions,
) -> Result<AudioSummary, AudioError> {
    std::fs::create_dir_all(&opts.dir).map_err(|e| AudioError::Output {
        path: opts.dir.clone(),
        source: e,
    })?;
    let mut an = Analyzer::new(Limits {
        max_raw_bytes: 0,
        ..Limits::default()
    });
    an.set_tls_keys(keys);
    an.set_srtp_keys(opts.srtp_keys.clone());
    let collector = Arc::new(Mutex::new(Collector::new(opts.clone())));
    let tap = Arc::clone(&collector);
    an.set_media_tap(Box::new(move |p| {
        tap.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .on_packet(p);
    }));
    for path in inputs {
        let mut src: Box<dyn FrameSource> = if path.as_os_str() == "-" {
            Box::new(
                capture::open_reader("-", Box::new(io::stdin()), None).map_err(|source| {
                    AudioError::Input {
                        path: path.clone(),
                        source,
                    }
                })?,
            )
        } else {
            Box::new(
                capture::open_path(path).map_err(|source| AudioError::Input {
                    path: path.clone(),
                    source,
                })?,
            )
        };
        an.run_source(src.as_mut(), &mut |_, _| {});
    }
    // The tap holds the other reference: drop it to take the collector back.
    an.set_media_tap(Box::new(|_| {}));
    let collector = Arc::try_unwrap(collector)
        .map_err(|_| AudioError::Output {
            path: opts.dir.clone(),
            source: io::Error::other("audio collector still shared"),
        })?
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let (written, refused) = collector.finish(&|id, s, d| stream_side(&an, id, s, d))?;
    let unknown_call_ids = opts
        .call_ids
        .iter()
        .filter(|c| an.dialog_id(c).is_none())
        .cloned()
        .collect();
    Ok(AudioSummary {
        written,
        refused,
        unknown_call_ids,
        inputs: an.inputs().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// Feeds `n` 20 ms PCMU packets of `byte` from `src` starting at `t0_ms`.
    fn feed(c: &mut Collector, src: &str, dst: &str, ssrc: u32, t0_ms: u64, n: u16, byte: u8) {
        for i in 0..n {
            let bytes = rtp(0, 100 + i, 1000 + 160 * u32::from(i), ssrc, &[byte; 160]);
            let h = crate::media::rtp::parse(&bytes).expect("rtp");
            let p = MediaPacket {
                frame: u64::from(i),
                ts: Timestamp((t0_ms + 20 * u64::from(i)) * 1_000_000),
                src: src.parse().expect("addr"),
                dst: dst.parse().expect("addr"),
                dialog: 1,
                call_id: "a/b c@x",
                header: &h,
                stream_pt: 0,
                codec: Some("PCMU"),
                clock_rate: 8000,
                dtmf_pt: None,
                encrypted: false,
                payload: bytes.get(12..),
            };
            c.on_packet(&p);
        }
    }

    #[test]
    fn stereo_places_each_side_by_its_first_packet() {
        let dir = std::env::temp_dir().join(format!("siplens-audio-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let mut c = Collector::new(AudioOptions {
            dir: dir.clone(),
            call_ids: Vec::new(),
            max_streams: 8,
            srtp_keys: Vec::new(),
        });
        // The caller speaks from 0 for 1 s; the callee from 500 ms for 0.5 s.
        feed(&mut c, "10.0.0.1:4000", "10.0.0.2:5000", 7, 0, 50, 0x80);
        feed(&mut c, "10.0.0.2:5000", "10.0.0.1:4000", 9, 500, 25, 0x00);
        let side = |_: u64, s: SocketAddr, _: SocketAddr| {
            if s.port() == 4000 {
                Side::Caller
            } else {
                Side::Callee
            }
        };
        let (written, refused) = c.finish(&side).expect("finish");
        assert!(refused.is_empty());
        let names: Vec<String> = written
            .iter()
            .map(|w| {
                w.path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "a_b_c@x_caller_00000007.wav",
                "a_b_c@x_callee_00000009.wav",
                "a_b_c@x_stereo.wav"
            ]
        );
        let st = &written[2];
        assert_eq!((st.frames, st.rate), (8000, 8000));
        let bytes = std::fs::read(&st.path).expect("stereo");
        let samples: Vec<i16> = bytes[44..]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let (left, right): (Vec<i16>, Vec<i16>) =
            samples.chunks_exact(2).map(|f| (f[0], f[1])).unzip();
        assert!(left.iter().all(|&v| v == 32124));
        assert!(right[..4000].iter().all(|&v| v == 0));
        assert!(right[4000..].iter().all(|&v| v == -32124));
        std::fs::remove_dir_all(&dir).expect("clean");
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("abc-1@host.example"), "abc-1@host.example");
        assert_eq!(sanitize("../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize(&"x".repeat(100)).len(), MAX_NAME_CHARS);
    }
}
