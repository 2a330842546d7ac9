//! A streaming writer (and a reader for its own files) of 16-bit PCM WAV: the RIFF
//! header (Microsoft "Multimedia Programming Interface and Data Specifications 1.0",
//! WAVE `fmt ` chunk with format tag 1, PCM) written with zero sizes, the samples as
//! they come, the two sizes patched in at the end. Nothing is held but one buffer.
//!
//! Samples are appended a buffer at a time with the file opened only for that (see
//! [`WavWriter`]), so any number of concurrent streams fits the open-file limit.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Size of the header [`WavWriter`] writes.
pub const HEADER_LEN: u64 = 44;
/// Largest data chunk: RIFF sizes are 32-bit; past it samples are dropped and counted
/// (about 74 hours of 8 kHz mono).
pub const MAX_DATA_BYTES: u64 = u32::MAX as u64 - HEADER_LEN;

/// The canonical 44-byte header for `data_bytes` of 16-bit PCM.
pub fn header(rate: u32, channels: u16, data_bytes: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    let block = channels * 2;
    let fields: [&[u8]; 13] = [
        b"RIFF",
        &data_bytes.saturating_add(36).to_le_bytes(),
        b"WAVE",
        b"fmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &channels.to_le_bytes(),
        &rate.to_le_bytes(),
        &(rate * u32::from(block)).to_le_bytes(),
        &block.to_le_bytes(),
        &16u16.to_le_bytes(),
        b"data",
        &data_bytes.to_le_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        if let Some(dst) = h.get_mut(at..at + f.len()) {
            dst.copy_from_slice(f);
        }
        at += f.len();
    }
    h
}

/// A WAV file being written. Samples gather in a buffer of `chunk` samples; each full
/// buffer is appended to the file, which is opened for that and closed again, so a
/// capture with thousands of concurrent streams never holds more than one file open at a
/// time, and memory per file is the buffer.
#[derive(Debug)]
pub struct WavWriter {
    path: PathBuf,
    pending: Vec<i16>,
    chunk: usize,
    rate: u32,
    channels: u16,
    /// Samples accepted (written or pending).
    samples: u64,
    /// Samples dropped past [`MAX_DATA_BYTES`].
    pub dropped: u64,
}

impl WavWriter {
    /// Creates (truncates) `path` and writes the header; samples are appended `chunk` at
    /// a time.
    pub fn create(path: &Path, rate: u32, channels: u16, chunk: usize) -> io::Result<WavWriter> {
        let mut f = File::create(path)?;
        f.write_all(&header(rate, channels, 0))?;
        let chunk = chunk.max(1);
        Ok(WavWriter {
            path: path.to_path_buf(),
            pending: Vec::with_capacity(chunk),
            chunk,
            rate,
            channels,
            samples: 0,
            dropped: 0,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames (samples per channel) accepted so far.
    pub fn frames(&self) -> u64 {
        self.samples / u64::from(self.channels.max(1))
    }

    /// Its sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Appends the pending samples to the file.
    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // A buffer per flush (every `chunk` samples), not one kept per stream.
        let bytes: Vec<u8> = self.pending.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.pending.clear();
        let mut f = OpenOptions::new().append(true).open(&self.path)?;
        f.write_all(&bytes)
    }

    /// Appends interleaved samples.
    pub fn write(&mut self, samples: &[i16]) -> io::Result<()> {
        let room = (MAX_DATA_BYTES / 2).saturating_sub(self.samples);
        let n = samples
            .len()
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        self.dropped += (samples.len() - n) as u64;
        let mut rest = samples.get(..n).unwrap_or_default();
        self.samples += n as u64;
        while !rest.is_empty() {
            let k = (self.chunk - self.pending.len()).min(rest.len());
            let (now, later) = rest.split_at(k);
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() >= self.chunk {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Appends `n` zero samples (silence).
    pub fn write_silence(&mut self, n: u64) -> io::Result<()> {
        const ZEROS: [i16; 1024] = [0; 1024];
        let room = (MAX_DATA_BYTES / 2).saturating_sub(self.samples);
        self.dropped += n.saturating_sub(room);
        let mut left = n.min(room);
        while left > 0 {
            let k = left.min(ZEROS.len() as u64) as usize;
            self.write(ZEROS.get(..k).unwrap_or_default())?;
            left -= k as u64;
        }
        Ok(())
    }

    /// Writes what is pending, then the sizes into the header.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        let mut f = OpenOptions::new().write(true).open(&self.path)?;
        let size = u32::try_from(self.samples * 2).unwrap_or(u32::MAX);
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&header(self.rate, self.channels, size))?;
        f.flush()
    }
}

/// Reads the samples of a mono file [`WavWriter`] wrote, in order, a buffer at a time.
#[derive(Debug)]
pub struct WavReader {
    input: BufReader<File>,
    left: u64,
    buf: Vec<u8>,
    at: usize,
}

impl WavReader {
    /// Opens `path`, checks the header is one [`header`] writes (16-bit PCM, mono) and
    /// returns the reader with the sample rate.
    pub fn open(path: &Path) -> io::Result<(WavReader, u32)> {
        let mut input = BufReader::new(File::open(path)?);
        let mut h = [0u8; 44];
        input.read_exact(&mut h)?;
        let le32 = |at: usize| {
            h.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_le_bytes)
        };
        let rate = le32(24);
        let bytes = le32(40);
        if h != header(rate, 1, bytes) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: not a 16-bit mono WAV written by siplens",
                    path.display()
                ),
            ));
        }
        Ok((
            WavReader {
                input,
                left: u64::from(bytes) / 2,
                buf: Vec::new(),
                at: 0,
            },
            rate,
        ))
    }

    /// Samples left.
    pub fn remaining(&self) -> u64 {
        self.left
    }

    /// The next sample; 0 past the end.
    pub fn next_sample(&mut self) -> io::Result<i16> {
        if self.left == 0 {
            return Ok(0);
        }
        if self.at + 2 > self.buf.len() {
            let n = self.left.min(4096) as usize * 2;
            self.buf.resize(n, 0);
            self.input.read_exact(&mut self.buf)?;
            self.at = 0;
        }
        let s = match self.buf.get(self.at..self.at + 2) {
            Some(&[a, b]) => i16::from_le_bytes([a, b]),
            _ => 0,
        };
        self.at += 2;
        self.left -= 1;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_the_canonical_layout() {
        let h = header(8000, 1, 16000);
        assert_eq!(&h[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 16036);
        assert_eq!(&h[8..16], b"WAVEfmt ");
        assert_eq!(u32::from_le_bytes([h[28], h[29], h[30], h[31]]), 16000);
        assert_eq!(u16::from_le_bytes([h[32], h[33]]), 2);
        assert_eq!(&h[36..40], b"data");
    }

    #[test]
    fn write_suspend_reopen_and_read_back() {
        let dir = std::env::temp_dir().join(format!("siplens-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.wav");
        // A chunk of 2: the samples reach the file in several appends.
        let mut w = WavWriter::create(&p, 16000, 1, 2).unwrap();
        w.write(&[1, -2, 3]).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 44 + 4);
        w.write_silence(2).unwrap();
        w.write(&[i16::MIN, i16::MAX]).unwrap();
        assert_eq!(w.frames(), 7);
        w.finish().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 44 + 14);
        let (mut r, rate) = WavReader::open(&p).unwrap();
        assert_eq!(rate, 16000);
        let got: Vec<i16> = (0..8).map(|_| r.next_sample().unwrap()).collect();
        assert_eq!(got, [1, -2, 3, 0, 0, i16::MIN, i16::MAX, 0]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
