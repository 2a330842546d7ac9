//! A compact JSON serializer that writes the bytes `serde_json::to_writer` writes, faster.
//!
//! The JSON report of a signaling capture is mostly short strings (keys, addresses,
//! labels, Call-IDs) and small integers. `serde_json` escapes strings one byte at a time
//! through a table and writes integers through `itoa` behind several layers of generic
//! writer calls; on a 45,500-message capture its string escaping alone was 9% of all the
//! instructions of `siplens report --format json`. This serializer checks a whole string
//! for bytes that need escaping in one branch-free pass (the compiler vectorises it) and
//! copies it at once when there are none, which is nearly always.
//!
//! The output is byte-for-byte that of `serde_json`'s compact serializer (same escapes,
//! same number formats: floats are written by `serde_json` itself), which the tests below
//! and `report::tests::compact_parallel_matches_serde` check.

use crate::bytes::{splat, zero_bytes, HI};
use serde::ser::{self, Serialize};
use std::io::Write;

/// The error type: `serde_json`'s, so callers map it to `io::Error` as before.
pub type Error = serde_json::Error;

/// Writes `value` as compact JSON to `w`: the bytes of `serde_json::to_writer(w, value)`.
/// The text is gathered in a buffer of its own and handed to `w` in pieces of about
/// 64 KiB (see [`append`] to write into a `Vec` directly).
pub fn to_writer<W: Write, T: Serialize + ?Sized>(w: W, value: &T) -> Result<(), Error> {
    let mut ser = Serializer {
        w: Flushing {
            buf: Vec::with_capacity(4096),
            w,
        },
    };
    value.serialize(&mut ser)?;
    ser.w.flush_all()
}

/// Appends `value` as compact JSON to `buf`: the bytes of `serde_json::to_writer(buf, value)`.
pub fn append<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Serializer { w: buf })
}

/// Buffered text handed to the writer when it reaches this size.
const FLUSH_AT: usize = 1 << 16;

/// Where the text goes: a byte buffer written to directly (each string is one reserve and
/// one copy, where `io::Write` for a `Vec` or a `BufWriter` checks and copies piece by
/// piece), handed on now and then.
trait Sink {
    /// The buffer to append to.
    fn buf(&mut self) -> &mut Vec<u8>;
    /// Hands the buffered text on if there is enough of it (between values).
    fn maybe_flush(&mut self) -> Result<(), Error>;
}

impl Sink for &mut Vec<u8> {
    #[inline]
    fn buf(&mut self) -> &mut Vec<u8> {
        self
    }
    #[inline]
    fn maybe_flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// A buffer in front of an `io::Write`.
struct Flushing<W> {
    buf: Vec<u8>,
    w: W,
}

impl<W: Write> Flushing<W> {
    fn flush_all(&mut self) -> Result<(), Error> {
        self.w.write_all(&self.buf).map_err(io)?;
        self.buf.clear();
        Ok(())
    }
}

impl<W: Write> Sink for Flushing<W> {
    #[inline]
    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
    #[inline]
    fn maybe_flush(&mut self) -> Result<(), Error> {
        if self.buf.len() >= FLUSH_AT {
            self.flush_all()?;
        }
        Ok(())
    }
}

/// The serializer (compact formatting only).
struct Serializer<W> {
    w: W,
}

fn io(e: std::io::Error) -> Error {
    Error::io(e)
}

/// Whether `b` must be escaped in a JSON string (as `serde_json` escapes it: controls,
/// the quote and the backslash; DEL and non-ASCII are written as they are).
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any byte of `bytes` must be escaped (strings needing an escape are rare: a
/// CR/LF in a header value, a quote in a display name). Sixteen bytes or more go by SSE2
/// blocks ([`any_needs_escape_long`]); shorter strings (most keys, labels, transports,
/// methods, tags) are checked in one or two words (SWAR, see
/// [`crate::bytes::zero_bytes`]) put together without a loop from overlapping pieces:
/// the first and last eight bytes, the first and last four, or for one to three bytes
/// the first, middle and last, which between them are every byte. The per-byte padding
/// loop this replaced was half of the cost of writing a short string. A mark is only ever
/// set above a byte that truly matches, and every byte of a word is one of the string's
/// (or a padding `a`), so "any mark" is exact.
#[inline]
fn any_needs_escape(bytes: &[u8]) -> bool {
    #[inline(always)]
    fn marks(w: u64) -> u64 {
        // Bytes below 0x20 (a byte >= 0x80 keeps its high bit out through `!w`), the
        // quote, the backslash.
        (w.wrapping_sub(splat(0x20)) & !w & HI)
            | zero_bytes(w ^ splat(b'"'))
            | zero_bytes(w ^ splat(b'\\'))
    }
    #[inline(always)]
    fn word(b: Option<&[u8]>) -> u64 {
        b.and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_le_bytes)
    }
    #[inline(always)]
    fn half(b: Option<&[u8]>) -> u64 {
        b.and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0x6161_6161, |h| u64::from(u32::from_le_bytes(h)))
    }
    let n = bytes.len();
    if n >= 16 {
        return any_needs_escape_long(bytes);
    }
    if n >= 8 {
        return (marks(word(bytes.get(..8))) | marks(word(bytes.get(n - 8..)))) != 0;
    }
    if n >= 4 {
        let w = half(bytes.get(..4)) | half(bytes.get(n - 4..)) << 32;
        return marks(w) != 0;
    }
    let (Some(&a), Some(&b), Some(&c)) = (bytes.first(), bytes.get(n / 2), bytes.last()) else {
        return false;
    };
    marks(u64::from_le_bytes([a, b, c, b'a', b'a', b'a', b'a', b'a'])) != 0
}

/// [`any_needs_escape`] for 16 bytes or more (summaries, advice, URIs): sixteen bytes a
/// step with SSE2 compares (`wide`, safe; other targets get its portable fallback), the
/// last block overlapping the one before. A byte below 0x20 is one the unsigned minimum
/// with 0x1f leaves unchanged.
#[inline]
fn any_needs_escape_long(bytes: &[u8]) -> bool {
    use wide::u8x16;
    #[inline(always)]
    fn block(c: &[u8]) -> bool {
        let Ok(b) = <[u8; 16]>::try_from(c) else {
            return false;
        };
        let v = u8x16::new(b);
        let m = v.min(u8x16::splat(0x1f)).cmp_eq(v)
            | v.cmp_eq(u8x16::splat(b'"'))
            | v.cmp_eq(u8x16::splat(b'\\'));
        m.any()
    }
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        if block(c) {
            return true;
        }
    }
    !chunks.remainder().is_empty()
        && bytes
            .len()
            .checked_sub(16)
            .and_then(|from| bytes.get(from..))
            .is_some_and(block)
}

/// The newtype name through which a value writes its own compact JSON text into this
/// serializer's buffer (see [`write_direct`]). Any other serializer (`serde_json`, its
/// pretty form) treats the newtype as transparent and gets the value's ordinary
/// serialization; this one lends its buffer for the duration of the inner call. A dialog's
/// flow entries went field by field through the generic serializer (a third of each
/// field's cost) and validated texts they had built themselves as UTF-8.
pub(crate) const DIRECT: &str = "$siplens::report::json::Direct";

thread_local! {
    /// The buffer lent to the value inside a [`DIRECT`] newtype (none outside one).
    static LENT: std::cell::Cell<Option<Vec<u8>>> = const { std::cell::Cell::new(None) };
}

/// For the value inside a [`DIRECT`] newtype: when this module's serializer is the one
/// writing it (it has lent its buffer), appends the value's compact text with `write`
/// and gives `Some` (the value then ends with `serialize_unit_struct(DIRECT)`, which this
/// serializer ignores); `None` under any other serializer (serialize normally).
pub(crate) fn write_direct(
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
) -> Option<Result<(), Error>> {
    LENT.with(|c| {
        let mut buf = c.take()?;
        let r = write(&mut buf);
        c.set(Some(buf));
        Some(r)
    })
}

/// Writes `s` as a JSON string with its quotes.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if any_needs_escape(bytes) {
        out.push(b'"');
        write_escaped(out, bytes);
        out.push(b'"');
        return;
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// The contents of a string with escapes, as `serde_json` writes them.
#[cold]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// Writes the contents of `s` as a JSON string, escaped, without the quotes.
#[inline]
pub(crate) fn write_str_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if any_needs_escape(bytes) {
        write_escaped(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
}

/// Writes `v` as `serde_json` writes an `f64` (shortest representation, `null` when not
/// finite).
#[inline]
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) -> Result<(), Error> {
    serde_json::to_writer(out, &v)
}

/// Writes `n` in decimal.
#[inline]
pub(crate) fn write_u64(out: &mut Vec<u8>, n: u64) {
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    out.extend_from_slice(crate::bytes::decimal(n, &mut [0u8; 20]));
}

#[inline]
fn write_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    write_u64(out, n.unsigned_abs())
}

/// A sequence, map or struct being written: whether its first element is still to come.
struct Compound<'a, W> {
    ser: &'a mut Serializer<W>,
    first: bool,
}

impl<W: Sink> Compound<'_, W> {
    fn comma(&mut self) -> Result<(), Error> {
        if self.first {
            self.first = false;
        } else {
            self.ser.w.buf().push(b',');
        }
        Ok(())
    }
}

impl<'a, W: Sink> ser::Serializer for &'a mut Serializer<W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, W>;
    type SerializeTuple = Compound<'a, W>;
    type SerializeTupleStruct = Compound<'a, W>;
    type SerializeTupleVariant = Compound<'a, W>;
    type SerializeMap = Compound<'a, W>;
    type SerializeStruct = Compound<'a, W>;
    type SerializeStructVariant = Compound<'a, W>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        let t: &[u8] = if v { b"true" } else { b"false" };
        self.w.buf().extend_from_slice(t);
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        write_i64(self.w.buf(), i64::from(v));
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        write_i64(self.w.buf(), i64::from(v));
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        write_i64(self.w.buf(), i64::from(v));
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        write_i64(self.w.buf(), v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        write!(self.w.buf(), "{v}").map_err(io)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        write_u64(self.w.buf(), u64::from(v));
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        write_u64(self.w.buf(), u64::from(v));
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        write_u64(self.w.buf(), u64::from(v));
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write_u64(self.w.buf(), v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        write!(self.w.buf(), "{v}").map_err(io)
    }
    // Floats (and their `null` when not finite) exactly as `serde_json` writes them.
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.w.buf(), &v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.w.buf(), &v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        let mut b = [0u8; 4];
        write_str(self.w.buf(), v.encode_utf8(&mut b));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.w.buf(), v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        // An array of numbers, as `serde_json` writes bytes.
        serde_json::to_writer(&mut *self.w.buf(), v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.w.buf().extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.w.buf().extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), Error> {
        if name == DIRECT {
            // The end of a value that wrote itself into the lent buffer.
            return Ok(());
        }
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.w.buf(), variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        if name != DIRECT {
            return value.serialize(self);
        }
        // Lend the buffer; a value that does not take it serializes into the (empty)
        // buffer left in its place, appended after whatever the lent one received.
        let lent = std::mem::take(self.w.buf());
        let outer = LENT.with(|c| c.replace(Some(lent)));
        let r = value.serialize(&mut *self);
        let left = std::mem::take(self.w.buf());
        let mut back = LENT.with(|c| c.replace(outer)).unwrap_or_default();
        back.extend_from_slice(&left);
        *self.w.buf() = back;
        r
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.w.buf().extend_from_slice(b"{");
        write_str(self.w.buf(), variant);
        self.w.buf().extend_from_slice(b":");
        value.serialize(&mut *self)?;
        self.w.buf().extend_from_slice(b"}");
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, W>, Error> {
        self.w.buf().extend_from_slice(b"[");
        Ok(Compound {
            ser: self,
            first: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, W>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, Error> {
        self.w.buf().extend_from_slice(b"{");
        write_str(self.w.buf(), variant);
        self.w.buf().extend_from_slice(b":");
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, W>, Error> {
        self.w.buf().extend_from_slice(b"{");
        Ok(Compound {
            ser: self,
            first: true,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, W>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, Error> {
        self.w.buf().extend_from_slice(b"{");
        write_str(self.w.buf(), variant);
        self.w.buf().extend_from_slice(b":");
        self.serialize_map(Some(len))
    }
}

impl<W: Sink> ser::SerializeSeq for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma()?;
        value.serialize(&mut *self.ser)?;
        self.ser.w.maybe_flush()
    }
    fn end(self) -> Result<(), Error> {
        self.ser.w.buf().extend_from_slice(b"]");
        Ok(())
    }
}

impl<W: Sink> ser::SerializeTuple for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl<W: Sink> ser::SerializeTupleStruct for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl<W: Sink> ser::SerializeTupleVariant for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        self.ser.w.buf().extend_from_slice(b"]}");
        Ok(())
    }
}

impl<W: Sink> ser::SerializeMap for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma()?;
        key.serialize(MapKey {
            w: self.ser.w.buf(),
        })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.w.buf().extend_from_slice(b":");
        value.serialize(&mut *self.ser)?;
        self.ser.w.maybe_flush()
    }
    fn end(self) -> Result<(), Error> {
        self.ser.w.buf().extend_from_slice(b"}");
        Ok(())
    }
}

impl<W: Sink> ser::SerializeStruct for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // Field names are the code's own (never in need of an escape in practice, but
        // checked like any string): the comma, quotes and colon go with one reserve.
        let out = self.ser.w.buf();
        if any_needs_escape(key.as_bytes()) {
            self.comma()?;
            write_str(self.ser.w.buf(), key);
            self.ser.w.buf().push(b':');
        } else {
            out.reserve(key.len() + 4);
            if !std::mem::take(&mut self.first) {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
        }
        value.serialize(&mut *self.ser)?;
        self.ser.w.maybe_flush()
    }
    fn end(self) -> Result<(), Error> {
        self.ser.w.buf().extend_from_slice(b"}");
        Ok(())
    }
}

impl<W: Sink> ser::SerializeStructVariant for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.ser.w.buf().extend_from_slice(b"}}");
        Ok(())
    }
}

/// A map key: strings as they are, numbers and booleans quoted (as `serde_json` writes
/// keys); anything else is the error `serde_json` gives.
struct MapKey<'a> {
    w: &'a mut Vec<u8>,
}

impl MapKey<'_> {
    fn not_a_string() -> Error {
        ser::Error::custom("key must be a string")
    }
}

/// Integer keys: the digits in quotes.
macro_rules! quoted_key {
    ($($f:ident: $t:ty => $via:ident as $w:ty),*) => {
        $(fn $f(self, v: $t) -> Result<(), Error> {
            self.w.extend_from_slice(b"\"");
            $via(self.w, <$w>::from(v));
            self.w.extend_from_slice(b"\"");
            Ok(())
        })*
    };
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.w, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        let mut b = [0u8; 4];
        write_str(self.w, v.encode_utf8(&mut b));
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        let t: &[u8] = if v { b"\"true\"" } else { b"\"false\"" };
        self.w.extend_from_slice(t);
        Ok(())
    }
    quoted_key!(
        serialize_i8: i8 => write_i64 as i64,
        serialize_i16: i16 => write_i64 as i64,
        serialize_i32: i32 => write_i64 as i64,
        serialize_i64: i64 => write_i64 as i64,
        serialize_u8: u8 => write_u64 as u64,
        serialize_u16: u16 => write_u64 as u64,
        serialize_u32: u32 => write_u64 as u64,
        serialize_u64: u64 => write_u64 as u64
    );
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        write!(self.w, "\"{v}\"").map_err(io)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        write!(self.w, "\"{v}\"").map_err(io)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.w.extend_from_slice(b"\"");
        serde_json::to_writer(&mut *self.w, &v)?;
        self.w.extend_from_slice(b"\"");
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.w.extend_from_slice(b"\"");
        serde_json::to_writer(&mut *self.w, &v)?;
        self.w.extend_from_slice(b"\"");
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.w, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(Self::not_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(Self::not_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(Self::not_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(Self::not_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(Self::not_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(Self::not_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Self::not_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Self::not_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Self::not_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Self::not_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Self::not_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(Self::not_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Self::not_a_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    proptest::proptest! {
        /// The word-at-a-time escape test answers as the byte-by-byte one, on any bytes
        /// (weighted towards the bytes at the edges of each class) and every length.
        #[test]
        fn any_needs_escape_is_bytewise(
            v in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![0u8, 0x1f, 0x20, 0x21, b'"', b'\\', 0x5b, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xdc, 0xe2, 0xff]),
                    proptest::num::u8::ANY,
                ],
                0..80,
            )
        ) {
            let want = v.iter().any(|&b| needs_escape(b));
            proptest::prop_assert_eq!(any_needs_escape(&v), want);
            // Every suffix too, so each match lands at every position of a word.
            for i in 0..v.len() {
                let s = &v[i..];
                proptest::prop_assert_eq!(any_needs_escape(s), s.iter().any(|&b| needs_escape(b)));
            }
        }
    }
    use std::collections::BTreeMap;

    fn same<T: Serialize + ?Sized>(v: &T) {
        let mut ours = Vec::new();
        to_writer(&mut ours, v).unwrap();
        let theirs = serde_json::to_vec(v).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tup(u8, i64),
        Rec { a: bool, b: Option<f64> },
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Wrap(String);

    #[derive(Serialize)]
    struct All<'a> {
        s: &'a str,
        c: char,
        i: [i64; 5],
        u: [u64; 4],
        f: [f64; 7],
        g: f32,
        big: (u128, i128),
        bytes: &'a [u8],
        none: Option<u8>,
        unit: (),
        unit_struct: Unit,
        wrap: Wrap,
        e: [E; 4],
        nested: Vec<Vec<u16>>,
        empty: Vec<u8>,
        keys_u16: BTreeMap<u16, &'a str>,
        keys_i32: BTreeMap<i32, u8>,
        keys_bool: BTreeMap<bool, u8>,
        keys_str: BTreeMap<&'a str, Option<&'a str>>,
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let mut tricky = String::new();
        for b in 0u8..0x80 {
            tricky.push(char::from(b));
        }
        tricky.push_str("é\u{2028}😀 \"q\" \\b");
        let all = All {
            s: &tricky,
            c: '"',
            i: [0, -1, i64::MIN, i64::MAX, 42],
            u: [0, 9, 10, u64::MAX],
            f: [
                0.0,
                -0.0,
                1.5,
                1e300,
                f64::NAN,
                f64::INFINITY,
                1796577257.7895732,
            ],
            g: 0.1,
            big: (u128::MAX, i128::MIN),
            bytes: b"\x00\xff",
            none: None,
            unit: (),
            unit_struct: Unit,
            wrap: Wrap("w\n".into()),
            e: [
                E::Unit,
                E::New(7),
                E::Tup(1, -2),
                E::Rec {
                    a: true,
                    b: Some(2.25),
                },
            ],
            nested: vec![vec![], vec![1, 2], vec![3]],
            empty: vec![],
            keys_u16: [(100, "a"), (65535, "b")].into_iter().collect(),
            keys_i32: [(-5, 1), (7, 2)].into_iter().collect(),
            keys_bool: [(false, 1), (true, 2)].into_iter().collect(),
            keys_str: [("k\"\n", Some("v")), ("", None)].into_iter().collect(),
        };
        same(&all);
        for s in [
            "",
            "a",
            "\u{7f}",
            "\u{1f}",
            &tricky[..40],
            "plain text of some length",
        ] {
            same(s);
        }
    }

    #[test]
    fn bad_keys_are_errors_as_in_serde_json() {
        let m: BTreeMap<Option<u8>, u8> = [(None, 1)].into_iter().collect();
        assert!(to_writer(Vec::new(), &m).is_err());
        assert!(serde_json::to_vec(&m).is_err());
    }

    /// A value inside a DIRECT newtype that writes itself (here a number as its text) and
    /// one that does not take the lent buffer (serialized in place) both land where they
    /// belong, nested in sequences and maps, and `serde_json` sees plain values.
    #[test]
    fn direct_newtype_lends_the_buffer() {
        struct Writes(u32);
        impl Serialize for Writes {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                struct Inner<'a>(&'a Writes);
                impl Serialize for Inner<'_> {
                    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        if let Some(r) = write_direct(|out| {
                            write_u64(out, u64::from(self.0 .0));
                            Ok(())
                        }) {
                            r.map_err(ser::Error::custom)?;
                            return s.serialize_unit_struct(DIRECT);
                        }
                        s.serialize_u32(self.0 .0)
                    }
                }
                s.serialize_newtype_struct(DIRECT, &Inner(self))
            }
        }
        /// Uses the name but never takes the buffer.
        struct Ignores(&'static str);
        impl Serialize for Ignores {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_newtype_struct(DIRECT, self.0)
            }
        }
        #[derive(Serialize)]
        struct Row {
            a: Writes,
            b: Ignores,
            c: Vec<Writes>,
            d: BTreeMap<&'static str, Ignores>,
        }
        let row = Row {
            a: Writes(7),
            b: Ignores("x\"y"),
            c: vec![Writes(0), Writes(4_294_967_295)],
            d: [("k", Ignores("v"))].into_iter().collect(),
        };
        let want = r#"{"a":7,"b":"x\"y","c":[0,4294967295],"d":{"k":"v"}}"#;
        assert_eq!(serde_json::to_string(&row).unwrap(), want);
        same(&row);
        let mut buf = b"[1,".to_vec();
        append(&mut buf, &row).unwrap();
        assert_eq!(buf, [&b"[1,"[..], want.as_bytes()].concat());
        // Nothing stays lent afterwards.
        assert!(write_direct(|_| Ok(())).is_none());
    }
}
