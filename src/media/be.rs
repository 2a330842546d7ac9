//! Big-endian (network order) integers read from wire bytes: `None` past the end, never a
//! panic. Shared by the RTP, RTCP and DTLS readers.

/// The 16-bit value at `at`.
pub(crate) fn be16(p: &[u8], at: usize) -> Option<u16> {
    let b = p.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// The 24-bit value at `at` (DTLS handshake lengths and offsets, RFC 6347 §4.2.2).
pub(crate) fn be24(p: &[u8], at: usize) -> Option<u32> {
    let b = p.get(at..at.checked_add(3)?)?;
    Some(u32::from_be_bytes([0, *b.first()?, *b.get(1)?, *b.get(2)?]))
}

/// The 32-bit value at `at`.
pub(crate) fn be32(p: &[u8], at: usize) -> Option<u32> {
    let b = p.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}
