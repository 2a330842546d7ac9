//! A streaming writer (and a reader for its own files) of 16-bit PCM WAV: the RIFF
//! header (Microsoft "Multimedia Programming Interface and Data Specifications 1.0",
//! WAVE `fmt ` chunk with format tag 1, PCM) written with zero sizes, the samples as
//! they come, the two sizes patched in at the end. Nothing is held but a `BufWriter`.
//!
//! A file can be closed between writes and reopened (see [`WavWriter::suspend`]), so a
//! capture with more concurrent streams than open files allowed still writes them all.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
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

/// A WAV file being written.
#[derive(Debug)]
pub struct WavWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    rate: u32,
    channels: u16,
    data_bytes: u64,
    /// Samples dropped past [`MAX_DATA_BYTES`].
    pub dropped: u64,
}

impl WavWriter {
    /// Creates (truncates) `path` and writes the header.
    pub fn create(path: &Path, rate: u32, channels: u16) -> io::Result<WavWriter> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(&header(rate, channels, 0))?;
        Ok(WavWriter {
            path: path.to_path_buf(),
            out: Some(out),
            rate,
            channels,
            data_bytes: 0,
            dropped: 0,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames (samples per channel) written so far.
    pub fn frames(&self) -> u64 {
        self.data_bytes / (2 * u64::from(self.channels))
    }

    /// Its sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// True while the file is open.
    pub fn is_open(&self) -> bool {
        self.out.is_some()
    }

    /// Flushes and closes the file; the next write reopens it.
    pub fn suspend(&mut self) -> io::Result<()> {
        if let Some(mut o) = self.out.take() {
            o.flush()?;
        }
        Ok(())
    }

    fn open(&mut self) -> io::Result<&mut BufWriter<File>> {
        if self.out.is_none() {
            let f = OpenOptions::new().append(true).open(&self.path)?;
            self.out = Some(BufWriter::new(f));
        }
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other("wav writer not open"))
    }

    /// Appends interleaved samples.
    pub fn write(&mut self, samples: &[i16]) -> io::Result<()> {
        let room = (MAX_DATA_BYTES - self.data_bytes) / 2;
        let n = samples
            .len()
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        self.dropped += (samples.len() - n) as u64;
        let out = self.open()?;
        for s in samples.iter().take(n) {
            out.write_all(&s.to_le_bytes())?;
        }
        self.data_bytes += 2 * n as u64;
        Ok(())
    }

    /// Appends `n` zero samples (silence).
    pub fn write_silence(&mut self, n: u64) -> io::Result<()> {
        const ZEROS: [i16; 1024] = [0; 1024];
        let mut left = n;
        while left > 0 {
            let k = left.min(ZEROS.len() as u64) as usize;
            self.write(ZEROS.get(..k).unwrap_or_default())?;
            left -= k as u64;
            if self.data_bytes >= MAX_DATA_BYTES {
                self.dropped += left;
                break;
            }
        }
        Ok(())
    }

    /// Writes the sizes into the header and closes the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.suspend()?;
        let mut f = OpenOptions::new().write(true).open(&self.path)?;
        let size = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&header(self.rate, self.channels, size))?;
        f.flush()
    }
}

/// Reads the samples of a mono file [`WavWriter`] wrote, one at a time, in order.
#[derive(Debug)]
pub struct WavReader {
    input: BufReader<File>,
    left: u64,
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
        if h.get(..4) != Some(b"RIFF")
            || h.get(36..40) != Some(b"data")
            || h != header(rate, 1, bytes)
        {
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
        let mut b = [0u8; 2];
        self.input.read_exact(&mut b)?;
        self.left -= 1;
        Ok(i16::from_le_bytes(b))
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
        let mut w = WavWriter::create(&p, 16000, 1).unwrap();
        w.write(&[1, -2, 3]).unwrap();
        w.suspend().unwrap();
        assert!(!w.is_open());
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
