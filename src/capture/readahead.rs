//! Reading ahead on a second thread.
//!
//! A capture file is read by copying it out of the kernel's page cache, and a gzip file is
//! decompressed as well; both cost the analysis thread time it could spend on packets (on an
//! RTP-heavy capture the copy alone was a sixth of the run). [`ReadAhead`] moves that work
//! to a reader thread that fills a few large buffers ahead of the consumer: the consumer
//! reads straight out of those buffers through [`BufRead`], so no byte is copied twice, and
//! empty buffers go back to the reader to be refilled, so memory stays at
//! `depth × chunk` bytes however large the input.
//!
//! Only raw bytes cross the thread boundary (the design's rule: frames are copied before
//! they cross); parsing stays on the consumer's thread and so stays deterministic.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

/// Bytes per buffer: large enough that a syscall moves many packets, small enough that
/// the first packet arrives without waiting for a large read.
pub const CHUNK: usize = 256 * 1024;

/// Buffers in flight (filled and waiting, or being consumed, or being refilled).
pub const DEPTH: usize = 4;

/// What the reader thread sends: a filled buffer, or the error that stopped it. The end of
/// the input is the channel closing after the last buffer.
type Filled = io::Result<Vec<u8>>;

/// A [`BufRead`] whose bytes are read by a background thread.
///
/// Errors are reported once, in order, after every byte read before them; the input then
/// reads as ended. Dropping the reader lets the thread stop at its next send (a thread
/// blocked reading a pipe that never delivers stays parked until the process exits; it
/// holds only its buffers).
pub struct ReadAhead {
    filled: Receiver<Filled>,
    empty: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadAhead")
            .field("buffered", &(self.current.len() - self.pos))
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl ReadAhead {
    /// Starts a reader thread over `inner` with `depth` buffers of `chunk` bytes (the
    /// capture reader uses [`DEPTH`] and [`CHUNK`]; tests use tiny chunks to put record
    /// boundaries everywhere). `chunk` and `depth` are at least 1.
    ///
    /// Fails only when the operating system refuses a thread; the caller then reads on its
    /// own thread instead.
    pub fn with_sizes(
        mut inner: Box<dyn Read + Send>,
        chunk: usize,
        depth: usize,
    ) -> io::Result<ReadAhead> {
        let chunk = chunk.max(1);
        let depth = depth.max(1);
        // `depth` filled buffers can wait while the consumer holds one more, so the reader
        // never blocks on the filled side before the consumer has caught up.
        let (filled_tx, filled) = mpsc::sync_channel::<Filled>(depth);
        let (empty, empty_rx) = mpsc::sync_channel::<Vec<u8>>(depth + 1);
        thread::Builder::new()
            .name("siplens-read".into())
            .spawn(move || {
                let mut fresh = depth + 1;
                loop {
                    // A new buffer while the pool is not yet full, then only recycled ones:
                    // memory is bounded by depth + 1 buffers.
                    let mut buf = if fresh > 0 {
                        fresh -= 1;
                        Vec::with_capacity(chunk)
                    } else {
                        match empty_rx.recv() {
                            Ok(b) => b,
                            Err(_) => return, // consumer gone
                        }
                    };
                    // A recycled buffer comes back at its filled length (a whole chunk but
                    // for the last): `fill` overwrites it, so only bytes it never had are
                    // zeroed (zeroing 256 KiB per chunk was ~9 % of a media run's CPU).
                    buf.resize(chunk, 0);
                    let (n, err) = fill(&mut inner, &mut buf);
                    buf.truncate(n);
                    if n > 0 && filled_tx.send(Ok(buf)).is_err() {
                        return;
                    }
                    if let Some(e) = err {
                        let _ = filled_tx.send(Err(e));
                        return;
                    }
                    if n < chunk {
                        return; // end of input: closing the channel says so
                    }
                }
            })?;
        Ok(ReadAhead {
            filled,
            empty,
            current: Vec::new(),
            pos: 0,
            ended: false,
        })
    }
}

/// Reads until `buf` is full, the input ends, or an error other than an interruption;
/// returns the bytes read and the error, if one stopped it.
fn fill(inner: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) {
        match inner.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // The reader asks several times per record: the common case, bytes left in the
        // current chunk, stays small enough to inline without the channel code's frame.
        if self.pos >= self.current.len() && !self.ended {
            self.next_chunk()?;
        }
        Ok(self.current.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, amt: usize) {
        self.pos = self.pos.saturating_add(amt).min(self.current.len());
    }
}

impl ReadAhead {
    /// Hands the finished chunk back to the reader thread and waits for the next one
    /// (or the end, or the error that stopped the reader).
    #[cold]
    #[inline(never)]
    fn next_chunk(&mut self) -> io::Result<()> {
        while self.pos >= self.current.len() && !self.ended {
            let done = std::mem::take(&mut self.current);
            self.pos = 0;
            if done.capacity() > 0 {
                // The reader may have stopped; a buffer it no longer wants is just freed.
                let _ = self.empty.try_send(done);
            }
            match self.filled.recv() {
                Ok(Ok(buf)) => self.current = buf,
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(_) => self.ended = true,
            }
        }
        Ok(())
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn delivers_every_byte_in_order_for_any_chunking() {
        let data = bytes(10_007);
        for chunk in [1, 2, 7, 64, 4096, 10_007, 20_000] {
            for depth in [1, 2, 4] {
                let mut r =
                    ReadAhead::with_sizes(Box::new(Cursor::new(data.clone())), chunk, depth)
                        .expect("thread");
                let mut got = Vec::new();
                r.read_to_end(&mut got).expect("read");
                assert_eq!(got, data, "chunk {chunk} depth {depth}");
                // The end stays the end.
                assert_eq!(r.fill_buf().expect("end").len(), 0);
            }
        }
    }

    #[test]
    fn empty_input_reads_as_ended() {
        let mut r =
            ReadAhead::with_sizes(Box::new(Cursor::new(Vec::new())), CHUNK, DEPTH).expect("thread");
        assert!(r.fill_buf().expect("end").is_empty());
    }

    /// Gives `good` bytes, then fails.
    struct FailsAfter {
        good: Cursor<Vec<u8>>,
    }

    impl Read for FailsAfter {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.good.read(out)? {
                0 => Err(io::Error::new(io::ErrorKind::InvalidData, "disk on fire")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn an_error_comes_after_the_bytes_before_it_and_once() {
        let data = bytes(1000);
        let src = FailsAfter {
            good: Cursor::new(data.clone()),
        };
        let mut r = ReadAhead::with_sizes(Box::new(src), 300, 2).expect("thread");
        let mut got = Vec::new();
        let err = r.read_to_end(&mut got).expect_err("the error");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "disk on fire");
        assert_eq!(got, data);
        assert_eq!(r.read(&mut [0u8; 8]).expect("ended"), 0);
    }

    #[test]
    fn consume_past_the_buffer_is_clamped() {
        let mut r = ReadAhead::with_sizes(Box::new(Cursor::new(bytes(10))), 4, 2).expect("thread");
        assert_eq!(r.fill_buf().expect("data").len(), 4);
        r.consume(100);
        assert_eq!(r.fill_buf().expect("data"), &bytes(10)[4..8]);
    }

    #[test]
    fn dropping_early_does_not_hang() {
        let r =
            ReadAhead::with_sizes(Box::new(Cursor::new(bytes(1 << 20))), 1024, 2).expect("thread");
        drop(r);
    }
}
