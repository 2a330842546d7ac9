//! A file read, decoded and its SIP parsed on a second thread, ahead of the analysis.
//!
//! The analysis of a frame is in two parts of about equal cost on a signaling capture.
//! The first is a pure function of the frame's bytes, or of the decoder's own state:
//! reading the record out of the file, decoding link, IP and transport (with IP and TCP
//! reassembly), splitting each SIP message into its headers, and parsing the fields every
//! message is read for (From, To, Via, Contact). The second is everything that reads the
//! engine's tables: dialogs, transactions, media bindings, rules. `stage` runs the first
//! part on a thread of its own over batches of frames; the engine runs the second on the
//! caller's thread ([`super::Analyzer::run_source`]), so a run uses both cores.
//!
//! A batch owns a copy of its frames' bytes, and the decoded segments and parsed messages
//! borrow them: `Batch` keeps the two together ([`self_cell`]) so that they cross the
//! thread boundary as one value. The frames are still analysed in their order, by one
//! decoder and one engine, so a report is the one the serial loop gives (tests pin it on
//! every bundled sample and across batch boundaries).
//!
//! Memory stays bounded: at most `DEPTH` batches wait, each of at most `BATCH_BYTES`
//! of frame data (one frame more when a large frame crosses the line) and `BATCH_FRAMES`
//! frames; the buffers, lists and header lists of a finished batch go back to the reader
//! for the next one.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};

use crate::capture::{CaptureError, FrameRef, FrameSource, Lent, LinkType, Timestamp};
use crate::net::{self, Decoder, Segment, Transport};
use crate::sip::{self, Header, MessageView, ParseError};

/// Frame bytes per batch: large enough that the hand-over costs nothing per frame, small
/// enough that the analysis starts early and a batch stays in the caches.
pub(crate) const BATCH_BYTES: usize = 256 * 1024;

/// Frames per batch at most (small frames: RTP, keepalives).
pub(crate) const BATCH_FRAMES: usize = 2048;

/// Filled batches waiting for the engine.
pub(crate) const DEPTH: usize = 2;

/// Header lists kept for reuse between the two threads (a batch holds one per message).
pub(crate) const MAX_POOLED_HEADERS: usize = 4 * BATCH_FRAMES;

/// A frame in a batch, as the source gave it.
#[derive(Debug)]
pub(crate) struct Meta {
    /// Global frame number (the engine's base already added).
    number: u64,
    ts: Timestamp,
    link_type: LinkType,
    orig_len: u32,
    interface: u32,
    /// Where its bytes lie in [`Owner::bytes`].
    start: usize,
    end: usize,
    /// Offset of its data in the input file, when the file can be read again.
    pub(crate) origin: Option<u64>,
    /// Key logs of pcapng Decryption Secrets Blocks read just before this frame.
    pub(crate) secrets: Vec<Vec<u8>>,
}

impl Meta {
    /// A frame about to be copied to `start` in the batch's bytes.
    fn of(frame: &FrameRef<'_>, base: u64, start: usize, origin: Option<u64>) -> Meta {
        Meta {
            number: frame.number + base,
            ts: frame.ts,
            link_type: frame.link_type,
            orig_len: frame.orig_len,
            interface: frame.interface,
            start,
            end: start + frame.data.len(),
            origin,
            secrets: Vec::new(),
        }
    }
}

/// What a batch owns: its frames' bytes and where each frame lies.
#[derive(Debug, Default)]
pub(crate) struct Owner {
    bytes: Vec<u8>,
    pub(crate) metas: Vec<Meta>,
    /// The input file, when its frames carry an origin.
    pub(crate) path: Option<PathBuf>,
    /// The source's progress after the batch's last frame.
    pub(crate) progress: (u64, Option<u64>),
}

/// One frame decoded: its bytes and how many segments (in [`Decoded::segs`]) it gave.
#[derive(Debug)]
pub(crate) struct Pre<'a> {
    pub(crate) frame: FrameRef<'a>,
    pub(crate) segments: u32,
}

/// What the reader thread made of a batch's frames, borrowing their bytes.
#[derive(Debug, Default)]
pub(crate) struct Decoded<'a> {
    /// One per [`Owner::metas`], in order.
    pub(crate) frames: Vec<Pre<'a>>,
    /// The segments of every frame, in frame order, as the decoder wrote them (a segment
    /// is moved nowhere: ~170 bytes, three moves each cost an RTP-heavy run 7 %).
    pub(crate) segs: Vec<Segment<'a>>,
    /// For each of `segs`, where its parsed SIP message is in `views`, when the engine
    /// will read it as SIP (a view is ~2 KB: kept out of the segment list).
    pub(crate) sips: Vec<Option<u32>>,
    /// The SIP messages of those segments, parsed.
    pub(crate) views: Vec<Result<MessageView<'a>, ParseError>>,
}

self_cell::self_cell!(
    /// A batch of frames and what the reader thread decoded and parsed of them.
    pub(crate) struct Batch {
        owner: Owner,
        #[not_covariant]
        dependent: Decoded,
    }
);

/// What the reader thread sends: a batch, or the end of the input (with the error that
/// ended it, if any).
pub(crate) enum Msg {
    /// Frames ready for the engine.
    Batch(Batch),
    /// No frame follows; the source's error, if it stopped on one.
    End(Option<CaptureError>),
}

/// A batch the engine is done with, sent back to the reader thread with the header
/// lists of its messages. The reader empties it: what the reader thread allocated is
/// freed there (glibc frees another thread's blocks under its arena's lock).
pub(crate) struct Done {
    pub(crate) batch: Batch,
    pub(crate) headers: Vec<Vec<Header<'static>>>,
}

/// The emptied lists of a finished batch, for the next one.
#[derive(Default)]
pub(crate) struct Lists {
    frames: Vec<Pre<'static>>,
    segs: Vec<Segment<'static>>,
    sips: Vec<Option<u32>>,
    views: Vec<Result<MessageView<'static>, ParseError>>,
}

/// The allocations of a finished batch, for the next one.
#[derive(Default)]
struct Spare {
    owner: Owner,
    lists: Lists,
    headers: Vec<Vec<Header<'static>>>,
}

impl Batch {
    /// Empties the batch into its reusable allocations; `headers` are the header lists
    /// the engine gave back.
    fn into_spare(mut self, headers: Vec<Vec<Header<'static>>>) -> Spare {
        let lists = self.with_dependent_mut(|_, d| {
            d.sips.clear();
            Lists {
                frames: relifetime(std::mem::take(&mut d.frames)),
                segs: relifetime(std::mem::take(&mut d.segs)),
                sips: std::mem::take(&mut d.sips),
                views: relifetime(std::mem::take(&mut d.views)),
            }
        });
        Spare {
            owner: self.into_owner(),
            lists,
            headers,
        }
    }
}

/// Frames decoded and parsed ahead of the analysis, as the reader thread hands them to
/// the engine ([`super::Analyzer::prepare`], [`super::Analyzer::analyze`]).
pub struct Prepared(pub(crate) Batch);

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("frames", &self.0.borrow_owner().metas.len())
            .finish()
    }
}

/// Decodes the frames `owner` holds with `decoder` (feeding it the key logs of pcapng
/// secrets blocks first, `name` saying where they came from), and splits and parses the
/// SIP messages the engine will read, into `lists` emptied by an earlier batch.
pub(crate) fn decode_batch(
    owner: Owner,
    lists: Lists,
    decoder: &mut Decoder,
    pool: &mut Vec<Vec<Header<'static>>>,
    name: &str,
) -> Batch {
    Batch::new(owner, |o| {
        let mut d = Decoded {
            frames: relifetime(lists.frames),
            segs: relifetime(lists.segs),
            sips: lists.sips,
            views: relifetime(lists.views),
        };
        for m in &o.metas {
            for text in &m.secrets {
                // The engine reports a bad key log (it reads the same text).
                let _ = decoder.add_tls_keylog(text, name);
            }
            let frame = FrameRef {
                number: m.number,
                ts: m.ts,
                link_type: m.link_type,
                data: o.bytes.get(m.start..m.end).unwrap_or_default(),
                orig_len: m.orig_len,
                interface: m.interface,
            };
            let first = d.segs.len();
            decoder.decode_ref(frame, &mut d.segs);
            let added = d.segs.get(first..).unwrap_or_default();
            let segments = u32::try_from(added.len()).unwrap_or(u32::MAX);
            for seg in added {
                d.sips.push(presplit(seg, pool, &mut d.views));
            }
            d.frames.push(Pre { frame, segments });
        }
        d
    })
}

/// An emptied list with another lifetime: only the allocation is kept (std collects an
/// empty `Vec` of a same-layout type in place).
// `filter` cannot change the item type, which is the point here.
#[allow(clippy::unnecessary_filter_map)]
pub(super) fn relifetime<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// The reader thread: reads `source` in batches, decodes every frame with `decoder`, and
/// splits and parses the SIP messages the engine will read, until the input ends, an
/// error stops it, or the engine hangs up. `base` is added to every frame number (frames
/// of earlier inputs); `batch_bytes` bounds a batch (tests use tiny batches).
pub(crate) fn stage(
    source: &mut (dyn FrameSource + Send),
    decoder: &mut Decoder,
    base: u64,
    batch_bytes: usize,
    filled: SyncSender<Msg>,
    done: Receiver<Done>,
) {
    let name = format!("{}: decryption secrets block", source.name());
    let mut pool: Vec<Vec<Header<'static>>> = Vec::new();
    loop {
        let mut spare = match done.try_recv() {
            Ok(d) => d.batch.into_spare(d.headers),
            Err(_) => Spare::default(),
        };
        pool.append(&mut spare.headers);
        pool.truncate(MAX_POOLED_HEADERS);
        let mut owner = spare.owner;
        owner.bytes.clear();
        owner.metas.clear();
        let end = fill(source, base, batch_bytes, &mut owner);
        if !owner.metas.is_empty() {
            let batch = decode_batch(owner, spare.lists, decoder, &mut pool, &name);
            if filled.send(Msg::Batch(batch)).is_err() {
                return; // the engine stopped reading
            }
        }
        if let Some(end) = end {
            let _ = filled.send(Msg::End(end));
            return;
        }
    }
}

/// Copies frames from `source` into `owner` until the batch is full; returns
/// `Some(error or None)` when the input ended.
fn fill(
    source: &mut (dyn FrameSource + Send),
    base: u64,
    batch_bytes: usize,
    owner: &mut Owner,
) -> Option<Option<CaptureError>> {
    let end = loop {
        if owner.bytes.len() >= batch_bytes || owner.metas.len() >= BATCH_FRAMES {
            break None;
        }
        match source.lend_frame() {
            Ok(Some(Lent::Borrowed { frame, origin })) => owner.push(&frame, base, origin),
            Ok(Some(Lent::Owned(f))) => {
                // Key logs of pcapng Decryption Secrets Blocks read before this frame.
                let secrets = source.take_secrets();
                owner.push(&f.borrowed(), base, source.frame_origin());
                if let Some(m) = owner.metas.last_mut() {
                    m.secrets = secrets;
                }
                source.recycle(f.data);
            }
            Ok(None) => break Some(None),
            Err(e) => break Some(Some(e)),
        }
    };
    owner.progress = source.progress();
    end
}

impl Owner {
    /// A batch holding copies of `frames`, numbered as given (no input, no origin).
    pub(crate) fn of_frames(frames: &[crate::capture::Frame]) -> Owner {
        let mut owner = Owner::default();
        for f in frames {
            owner.push(&f.borrowed(), 0, None);
        }
        owner
    }

    /// Copies a frame in, with where it lies in the input file (the file noted once).
    fn push(&mut self, frame: &FrameRef<'_>, base: u64, origin: Option<(&Path, u64)>) {
        if self.path.is_none() {
            self.path = origin.map(|(p, _)| p.to_path_buf());
        }
        let start = self.bytes.len();
        self.metas
            .push(Meta::of(frame, base, start, origin.map(|(_, o)| o)));
        self.bytes.extend_from_slice(frame.data);
    }
}

/// The message the engine's `on_sip` would parse out of this segment, parsed here: a
/// payload borrowed from the frame on a transport the engine reads as SIP (UDP only when
/// it starts like SIP). Reassembled payloads are owned by the segment and parsed by the
/// engine itself.
fn presplit<'a>(
    seg: &Segment<'a>,
    pool: &mut Vec<Vec<Header<'static>>>,
    views: &mut Vec<Result<MessageView<'a>, ParseError>>,
) -> Option<u32> {
    if seg.icmp.is_some() {
        return None;
    }
    let Cow::Borrowed(payload) = seg.payload else {
        return None;
    };
    let sip = match seg.transport {
        Transport::Tcp | Transport::Sctp | Transport::Ws | Transport::Tls | Transport::Wss => true,
        Transport::Udp => net::sipframe::looks_like_sip_start(payload),
        Transport::TlsRecords => false,
    };
    if !sip {
        return None;
    }
    let at = u32::try_from(views.len()).ok()?;
    let headers = sip::recycle_headers(pool.pop().unwrap_or_default());
    // Built where it stays: the split message is moved into the list's slot once, and
    // its fields are parsed there (moving a whole view costs ~100 instructions a time).
    views.push(Err(ParseError::Empty));
    let slot = views.last_mut()?;
    *slot = sip::parse_message_in(payload, headers).map(MessageView::new);
    if let Ok(v) = slot {
        v.parse_fields();
        v.parse_sdp_ahead();
    }
    Some(at)
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::capture::{self, FrameSource};
    use crate::engine::{Analyzer, InputInfo, Limits};
    use crate::report::Report;
    use std::path::{Path, PathBuf};

    fn samples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
    }

    /// An analyzer with the keys the sample comes with, as `report` is given them.
    fn analyzer_for(inputs: &[PathBuf]) -> Analyzer {
        analyzer_with(inputs, Limits::default())
    }

    /// [`analyzer_for`] with these limits.
    fn analyzer_with(inputs: &[PathBuf], limits: Limits) -> Analyzer {
        let mut an = crate::rules::analyzer(limits);
        for path in inputs {
            let stem = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let stem = stem.split('.').next().unwrap_or("");
            let keys = path.with_file_name(format!("{stem}.keys"));
            if let Ok(text) = std::fs::read(&keys) {
                an.add_tls_keylog(&text, "keys").expect("key log");
            }
            let pem = path.with_file_name(format!("{stem}.key.pem"));
            if let Ok(text) = std::fs::read_to_string(&pem) {
                an.add_tls_rsa_key(&text, "pem").expect("rsa key");
            }
        }
        an
    }

    /// The JSON report and the inputs' accounts after reading `inputs` in turn, serially
    /// (`batch` None) or through the reader thread in batches of `batch` bytes. `open`
    /// opens an input.
    fn run(
        inputs: &[PathBuf],
        batch: Option<usize>,
        open: &dyn Fn(&Path) -> capture::FileSource,
    ) -> (String, Vec<InputInfo>) {
        let mut an = analyzer_for(inputs);
        for path in inputs {
            let mut src = open(path);
            match batch {
                None => {
                    an.run_serial(&mut src, &mut |_, _| {}, &mut |_, _| true);
                }
                Some(bytes) => {
                    let src = src.as_send().expect("a file can move to a thread");
                    an.run_pipelined(src, &mut |_, _| {}, &mut |_, _| true, bytes);
                }
            }
        }
        let report = Report::build(&an, 0);
        let json = serde_json::to_string(&report).expect("report serializes");
        (json, an.inputs().to_vec())
    }

    fn open_path(path: &Path) -> capture::FileSource {
        capture::open_path(path).expect("sample opens")
    }

    /// Every bundled capture (pcap, pcapng, gzip), sorted.
    pub(crate) fn sample_files() -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(samples())
            .expect("samples")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = p.to_string_lossy();
                n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".pcap.gz")
            })
            .collect();
        files.sort();
        files
    }

    /// Every bundled sample (pcap, pcapng with two interfaces and with a secrets block,
    /// gzip, TCP, TLS, fragments, HEP, RTP) gives the same report read ahead on the
    /// reader thread as read on one thread, whatever the batch size: one frame per
    /// batch, a few, or the default.
    #[test]
    fn reading_ahead_gives_the_serial_report_on_every_sample() {
        let files = sample_files();
        assert!(files.len() > 20, "{} samples", files.len());
        for file in &files {
            let one = std::slice::from_ref(file);
            let want = run(one, None, &open_path);
            for batch in [1, 3000, super::BATCH_BYTES] {
                let got = run(one, Some(batch), &open_path);
                assert!(got.1 == want.1, "{file:?} batch {batch}: inputs differ");
                assert!(got.0 == want.0, "{file:?} batch {batch}: report differs");
            }
        }
    }

    /// What the NDJSON stream asks for at each tick ([`Analyzer::findings_changed`]) is,
    /// at every tick of every sample (every 1, 5 or 40 frames, and with dialogs evicted
    /// as they go, two kept, and with their findings summarised): the findings drawn over
    /// everything, or those of the calls
    /// it names and every call-less one, where every other call's findings are those of
    /// the tick before. Some ticks must answer for part of the calls, or the cache was
    /// never exercised.
    #[test]
    fn changed_findings_are_the_findings_at_every_tick_of_every_sample() {
        let mut partial = 0usize;
        for file in &sample_files() {
            let two = Limits {
                max_dialogs: 2,
                ..Limits::default()
            };
            // Findings of evicted dialogs past the first summarised: a call's findings
            // leave with its dialog.
            let summarised = Limits {
                max_evicted_findings: 1,
                ..two.clone()
            };
            // Streams evicted as they go: flows leave other calls' NAT views.
            let few_streams = Limits {
                max_streams: 3,
                ..Limits::default()
            };
            for (every, limits) in [
                (1, Limits::default()),
                (5, Limits::default()),
                (40, two),
                (3, summarised),
                (2, few_streams),
            ] {
                let mut an = analyzer_with(std::slice::from_ref(file), limits);
                an.track_conclusions(true);
                let mut cache = crate::engine::ConclusionCache::default();
                let mut src = open_path(file);
                let mut n = 0u64;
                let mut before = Vec::new();
                while let Ok(Some(mut f)) = src.next_frame() {
                    n += 1;
                    f.number = n;
                    an.process(&f);
                    if n % every != 0 {
                        continue;
                    }
                    let ch = an.take_conclusion_changes();
                    assert!(ch.is_some(), "tracking is on");
                    let got = an.findings_changed(&mut cache, ch.as_ref());
                    let all = an.findings();
                    let at = format!("{file:?} every {every}: frame {n}");
                    let (named, rest): (Vec<_>, Vec<_>) = all
                        .iter()
                        .cloned()
                        .partition(|f| got.has_all_of(f.call_id.as_deref()));
                    assert!(got.findings == named, "{at}");
                    if got.calls.is_some() {
                        partial += 1;
                        let kept: Vec<_> = before
                            .iter()
                            .filter(|f: &&crate::model::Finding| {
                                !got.has_all_of(f.call_id.as_deref())
                            })
                            .cloned()
                            .collect();
                        assert!(rest == kept, "{at}: a call left out changed");
                    }
                    before = all;
                }
            }
        }
        assert!(
            partial > 500,
            "only {partial} ticks answered for part of the calls"
        );
    }

    /// Frames decoded and parsed apart ([`Analyzer::prepare`]) then analysed
    /// ([`Analyzer::analyze`]) give the report frame-by-frame processing gives, on every
    /// sample, in batches of one frame, a few, or many.
    #[test]
    fn prepared_batches_give_the_process_report_on_every_sample() {
        for file in &sample_files() {
            let one = std::slice::from_ref(file);
            let mut src = open_path(file);
            let mut frames = Vec::new();
            while let Ok(Some(f)) = src.next_frame() {
                frames.push(f);
            }
            let mut want = analyzer_for(one);
            for f in &frames {
                want.process(f);
            }
            let want = serde_json::to_string(&Report::build(&want, 0)).expect("json");
            for size in [1, 7, super::BATCH_FRAMES] {
                let mut an = analyzer_for(one);
                for chunk in frames.chunks(size) {
                    let mut prepared = an.prepare(chunk);
                    an.analyze(&mut prepared);
                }
                let got = serde_json::to_string(&Report::build(&an, 0)).expect("json");
                assert!(got == want, "{file:?} batches of {size}: report differs");
            }
        }
    }

    /// Inputs read one after the other number their frames on from the last one's, and
    /// dialogs spanning them are one: the same with the reader thread.
    #[test]
    fn reading_ahead_numbers_frames_across_inputs() {
        let inputs = [
            samples().join("invite-407.pcap"),
            samples().join("basic-call-rtp.pcap"),
            samples().join("tls13-call-dsb.pcapng"),
        ];
        let want = run(&inputs, None, &open_path);
        let got = run(&inputs, Some(5000), &open_path);
        assert_eq!(got.1, want.1);
        assert!(got.0 == want.0, "report differs");
        let frames: u64 = want.1.iter().map(|i| i.frames).sum();
        assert!(frames > 100, "{frames} frames");
    }

    /// A capture cut anywhere keeps everything before the cut and reports the cut as the
    /// serial loop does.
    #[test]
    fn reading_ahead_keeps_what_precedes_a_cut() {
        let whole = std::fs::read(samples().join("basic-call-rtp.pcap")).expect("sample");
        for cut in [
            30,
            100,
            whole.len() / 3,
            whole.len() / 2 + 7,
            whole.len() - 1,
        ] {
            let bytes = whole.get(..cut).expect("cut").to_vec();
            let open = |_: &Path| capture::open_bytes("cut.pcap", bytes.clone()).expect("opens");
            let inputs = [PathBuf::from("cut.pcap")];
            let want = run(&inputs, None, &open);
            let got = run(&inputs, Some(2000), &open);
            assert_eq!(got.1, want.1, "cut at {cut}");
            assert!(got.0 == want.0, "cut at {cut}: report differs");
            assert!(want.1[0].warning.is_some(), "cut at {cut}: no warning");
        }
    }
}

#[cfg(test)]
mod before_tests {
    use crate::capture::{self, FrameSource};
    use crate::engine::{Analyzer, InputInfo, Limits};
    use crate::report::Report;
    use std::path::Path;

    /// Reads the sample, stopping when `before` sees frame `stop`; gives the frames
    /// `before` saw, the input's account and the report's dialogs.
    fn stopped_at(stop: u64, batch: Option<usize>) -> (Vec<u64>, InputInfo, serde_json::Value) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/basic-call-rtp.pcap");
        let mut src = capture::open_path(&path).expect("sample");
        let mut an: Analyzer = crate::rules::analyzer(Limits::default());
        let mut seen = Vec::new();
        let mut before = |_: &Analyzer, f: &capture::FrameRef<'_>| {
            seen.push(f.number);
            f.number < stop
        };
        let info = match batch {
            None => an.run_serial(&mut src, &mut |_, _| {}, &mut before).clone(),
            Some(bytes) => {
                let src = src.as_send().expect("a file can move to a thread");
                an.run_pipelined(src, &mut |_, _| {}, &mut before, bytes)
                    .clone()
            }
        };
        let report = serde_json::to_value(Report::build(&an, 0)).expect("report");
        (seen, info, report["dialogs"].clone())
    }

    /// `before` (the NDJSON event stream's tick) sees the same frames, in order, and
    /// stops the run at the same frame, read on one thread or ahead on two.
    #[test]
    fn before_sees_and_stops_at_the_same_frames_either_way() {
        for stop in [1, 4, 9, 60, 1_000_000] {
            let want = stopped_at(stop, None);
            assert!(!want.0.is_empty());
            for batch in [1, 700, super::BATCH_BYTES] {
                let got = stopped_at(stop, Some(batch));
                assert_eq!(got.0, want.0, "stop {stop} batch {batch}: frames seen");
                assert_eq!(got.1, want.1, "stop {stop} batch {batch}: input");
                assert_eq!(got.2, want.2, "stop {stop} batch {batch}: dialogs");
            }
        }
    }
}
