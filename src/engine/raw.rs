//! Message text without a copy per message: for a capture file that can be re-read, a
//! message keeps where its bytes are (input, offset, length) and the views read them again
//! when they are shown; copies remain for what cannot be re-read (gzip, stdin, live
//! capture) and for messages rebuilt from several packets (TCP reassembly, IP fragments),
//! bounded by `Limits::max_raw_bytes`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Where a message's bytes are in an input file: 16 bytes instead of a copy of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAt {
    /// Index of the input (in [`super::Analyzer::inputs`] order).
    pub input: u32,
    /// Length of the message.
    pub len: u32,
    /// Offset of its first byte in the file.
    pub offset: u64,
}

/// The text of a message as the engine keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum RawText {
    /// Nothing kept (the report prints no message text, or the copy budget was spent).
    #[default]
    None,
    /// A copy, shared with the dashboard's snapshots.
    Copy(Arc<[u8]>),
    /// Where to read it again ([`RawFiles::read`]).
    At(RawAt),
}

impl RawText {
    /// Bytes of the copy this record holds (0 for a locator): what the raw budget counts.
    pub fn copied_len(&self) -> usize {
        match self {
            RawText::Copy(b) => b.len(),
            _ => 0,
        }
    }
}

/// The input files messages point into, with the files opened so far (a header filter
/// reads every message: one open per input, not per message).
#[derive(Debug, Default)]
pub struct RawFiles {
    paths: Vec<Option<(PathBuf, Identity)>>,
    open: Mutex<Vec<Option<File>>>,
}

/// Size and modification time of an input when it was read: a file replaced or rewritten
/// since is not read back (its offsets would show other bytes).
type Identity = (u64, Option<std::time::SystemTime>);

fn identity(path: &Path) -> Option<Identity> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()))
}

impl Clone for RawFiles {
    fn clone(&self) -> Self {
        RawFiles {
            paths: self.paths.clone(),
            open: Mutex::new(Vec::new()),
        }
    }
}

/// Largest message read back: a locator longer than this is not trusted.
const MAX_READ: u32 = 1 << 20;

impl RawFiles {
    /// Records the file of input `input` (nothing is read back from a file whose size and
    /// time cannot be read).
    pub fn set(&mut self, input: u32, path: &Path) {
        let i = input as usize;
        if self.paths.len() <= i {
            self.paths.resize(i + 1, None);
        }
        if let Some(slot) = self.paths.get_mut(i) {
            *slot = identity(path).map(|id| (path.to_path_buf(), id));
        }
    }

    /// Reads a message again from its input. None when the file is gone, shorter or
    /// unreadable (the views then show no text, as when none was kept).
    pub fn read(&self, at: RawAt) -> Option<Vec<u8>> {
        if at.len > MAX_READ {
            return None;
        }
        let i = at.input as usize;
        let (path, id) = self.paths.get(i)?.as_ref()?;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() <= i {
            open.resize_with(i + 1, || None);
        }
        let slot = open.get_mut(i)?;
        if slot.is_none() {
            if identity(path).as_ref() != Some(id) {
                return None;
            }
            *slot = File::open(path).ok();
        }
        let file = slot.as_mut()?;
        let mut buf = vec![0u8; at.len as usize];
        file.seek(SeekFrom::Start(at.offset)).ok()?;
        file.read_exact(&mut buf).ok()?;
        Some(buf)
    }

    /// The bytes of `text`: the copy, or the file read again.
    pub fn bytes(&self, text: &RawText) -> Option<Arc<[u8]>> {
        match text {
            RawText::None => None,
            RawText::Copy(b) => Some(Arc::clone(b)),
            RawText::At(at) => self.read(*at).map(Arc::from),
        }
    }
}

/// A message's text for a view: a copy, or read from the input the first time it is
/// asked for and kept by this value (a view shows a few messages at a time).
#[derive(Debug, Clone, Default)]
pub struct LazyRaw {
    text: RawText,
    files: Option<Arc<RawFiles>>,
    loaded: OnceLock<Option<Arc<[u8]>>>,
}

impl LazyRaw {
    /// The text of a message record, read from `files` when it is a locator.
    pub fn new(text: RawText, files: &Arc<RawFiles>) -> Self {
        let files = matches!(text, RawText::At(_)).then(|| Arc::clone(files));
        LazyRaw {
            text,
            files,
            loaded: OnceLock::new(),
        }
    }

    /// A copy already in memory (tests, synthetic snapshots).
    pub fn copied(bytes: Arc<[u8]>) -> Self {
        LazyRaw {
            text: RawText::Copy(bytes),
            files: None,
            loaded: OnceLock::new(),
        }
    }

    /// The bytes, None when the engine kept none (or the file cannot be read again).
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.text {
            RawText::None => None,
            RawText::Copy(b) => Some(b),
            RawText::At(at) => self
                .loaded
                .get_or_init(|| self.files.as_ref()?.read(*at).map(Arc::from))
                .as_deref(),
        }
    }

    /// True when the text lives in the input file rather than in memory.
    pub fn is_located(&self) -> bool {
        matches!(self.text, RawText::At(_))
    }
}
