//! STUN messages (RFC 8489 §5, §6, §14): header, attributes, (XOR-)MAPPED-ADDRESS.
//!
//! Only RFC 5389/8489 messages (with the magic cookie) are recognized; classic RFC 3489
//! STUN has no cookie and cannot be told apart from noise cheaply.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The magic cookie (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// Message class (RFC 8489 §5: bits C1 C0 of the message type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StunClass {
    /// 0b00.
    Request,
    /// 0b01.
    Indication,
    /// 0b10.
    SuccessResponse,
    /// 0b11.
    ErrorResponse,
}

/// Message method (12 bits), open newtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StunMethod(pub u16);

impl StunMethod {
    /// Binding (RFC 8489 §18.2).
    pub const BINDING: StunMethod = StunMethod(0x001);
    /// TURN Allocate (RFC 8656 §17).
    pub const ALLOCATE: StunMethod = StunMethod(0x003);
    /// TURN Refresh.
    pub const REFRESH: StunMethod = StunMethod(0x004);
    /// TURN Send.
    pub const SEND: StunMethod = StunMethod(0x006);
    /// TURN Data.
    pub const DATA: StunMethod = StunMethod(0x007);
    /// TURN CreatePermission.
    pub const CREATE_PERMISSION: StunMethod = StunMethod(0x008);
    /// TURN ChannelBind.
    pub const CHANNEL_BIND: StunMethod = StunMethod(0x009);
}

/// Attribute types siplens reads (RFC 8489 §18.3).
pub mod attr {
    /// MAPPED-ADDRESS.
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// USERNAME.
    pub const USERNAME: u16 = 0x0006;
    /// MESSAGE-INTEGRITY.
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE.
    pub const ERROR_CODE: u16 = 0x0009;
    /// REALM.
    pub const REALM: u16 = 0x0014;
    /// NONCE.
    pub const NONCE: u16 = 0x0015;
    /// XOR-MAPPED-ADDRESS.
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// SOFTWARE.
    pub const SOFTWARE: u16 = 0x8022;
    /// FINGERPRINT.
    pub const FINGERPRINT: u16 = 0x8028;
}

/// One attribute (type-length-value, RFC 8489 §14), value without padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StunAttribute<'a> {
    /// Attribute type.
    pub kind: u16,
    /// Value bytes.
    pub value: &'a [u8],
}

/// A parsed STUN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunMessage<'a> {
    /// Class.
    pub class: StunClass,
    /// Method.
    pub method: StunMethod,
    /// Message length field (bytes after the 20-byte header).
    pub length: u16,
    /// Transaction id.
    pub transaction_id: [u8; 12],
    /// Attributes in wire order (stops at the first one that overruns the message).
    pub attributes: Vec<StunAttribute<'a>>,
}

impl<'a> StunMessage<'a> {
    /// First attribute of this type.
    pub fn attribute(&self, kind: u16) -> Option<&'a [u8]> {
        self.attributes
            .iter()
            .find(|a| a.kind == kind)
            .map(|a| a.value)
    }
    /// XOR-MAPPED-ADDRESS decoded (RFC 8489 §14.2).
    pub fn xor_mapped_address(&self) -> Option<SocketAddr> {
        decode_address(
            self.attribute(attr::XOR_MAPPED_ADDRESS)?,
            Some(&self.transaction_id),
        )
    }
    /// MAPPED-ADDRESS decoded (RFC 8489 §14.1).
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        decode_address(self.attribute(attr::MAPPED_ADDRESS)?, None)
    }
    /// SOFTWARE, when valid UTF-8.
    pub fn software(&self) -> Option<&'a str> {
        std::str::from_utf8(self.attribute(attr::SOFTWARE)?).ok()
    }
    /// USERNAME, when valid UTF-8.
    pub fn username(&self) -> Option<&'a str> {
        std::str::from_utf8(self.attribute(attr::USERNAME)?).ok()
    }
    /// ERROR-CODE as a number (class * 100 + number, RFC 8489 §14.8).
    pub fn error_code(&self) -> Option<u16> {
        let v = self.attribute(attr::ERROR_CODE)?;
        let class = u16::from(*v.get(2)? & 0x07);
        Some(class * 100 + u16::from(*v.get(3)?))
    }
}

/// Decodes an address attribute; `xor` carries the transaction id for XOR-MAPPED-ADDRESS.
fn decode_address(v: &[u8], xor: Option<&[u8; 12]>) -> Option<SocketAddr> {
    let family = *v.get(1)?;
    let mut port = u16::from_be_bytes([*v.get(2)?, *v.get(3)?]);
    let cookie = MAGIC_COOKIE.to_be_bytes();
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match family {
        0x01 => {
            let mut a = [0u8; 4];
            a.copy_from_slice(v.get(4..8)?);
            if xor.is_some() {
                a.iter_mut().zip(cookie).for_each(|(b, k)| *b ^= k);
            }
            IpAddr::V4(Ipv4Addr::from(a))
        }
        0x02 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(v.get(4..20)?);
            if let Some(tid) = xor {
                let key = cookie.iter().chain(tid.iter());
                a.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
            }
            IpAddr::V6(Ipv6Addr::from(a))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The cheap header test (RFC 8489 §5, §6.3): top two bits zero, magic cookie, length a
/// multiple of 4 that matches the datagram exactly.
pub(crate) fn looks_like_stun(p: &[u8]) -> bool {
    header(p).is_some_and(|(_, len, _)| usize::from(len) + 20 == p.len())
}

fn header(p: &[u8]) -> Option<(u16, u16, [u8; 12])> {
    let h = p.get(..20)?;
    let t = u16::from_be_bytes([*h.first()?, *h.get(1)?]);
    let len = u16::from_be_bytes([*h.get(2)?, *h.get(3)?]);
    let cookie = u32::from_be_bytes([*h.get(4)?, *h.get(5)?, *h.get(6)?, *h.get(7)?]);
    if t & 0xC000 != 0 || cookie != MAGIC_COOKIE || len % 4 != 0 {
        return None;
    }
    let mut tid = [0u8; 12];
    tid.copy_from_slice(h.get(8..20)?);
    Some((t, len, tid))
}

/// Parses a STUN message. Requires the magic cookie and a length multiple of 4 that fits
/// in `data` (trailing bytes beyond the length are ignored, as over TCP framing).
pub fn parse(data: &[u8]) -> Option<StunMessage<'_>> {
    let (t, length, transaction_id) = header(data)?;
    let body = data.get(20..20 + usize::from(length))?;
    // Type bits: M11-M7 C1 M6-M4 C0 M3-M0 (RFC 8489 §5, Figure 3).
    let method = (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2);
    let class = match ((t >> 7) & 0b10) | ((t >> 4) & 0b01) {
        0 => StunClass::Request,
        1 => StunClass::Indication,
        2 => StunClass::SuccessResponse,
        _ => StunClass::ErrorResponse,
    };
    let mut attributes = Vec::new();
    let mut rest = body;
    while rest.len() >= 4 {
        let kind = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
        let len = usize::from(u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]));
        let Some(value) = rest.get(4..4 + len) else {
            break;
        };
        attributes.push(StunAttribute { kind, value });
        let padded = 4 + len.div_ceil(4) * 4;
        rest = rest.get(padded..).unwrap_or(&[]);
    }
    Some(StunMessage {
        class,
        method: StunMethod(method),
        length,
        transaction_id,
        attributes,
    })
}
