//! HEP, the HOMER Encapsulation Protocol (also "EEP"): capture agents (heplify, Kamailio
//! siptrace, OpenSIPS, FreeSWITCH, Asterisk, sngrep) wrap each captured SIP message (or
//! RTCP report, log line...) with its original addresses, ports and capture time and send
//! it to a collector over UDP or TCP, usually port 9060.
//!
//! Two wire formats exist (reference: sipcapture/HEP, `docs/HEP3_Network_Protocol_Specification`,
//! and the Kamailio `sipcapture` module for v1/v2):
//!
//! * **HEPv3**: `"HEP3"`, a 16-bit total length, then chunks of
//!   `vendor id (u16) | type id (u16) | length (u16, header included) | value`, all big-endian.
//! * **HEPv1/v2**: a fixed header `version | header length | family | protocol | sport | dport`,
//!   the two addresses, for v2 a time header (`tv_sec`, `tv_usec`, capture id), then the payload.
//!
//! [`parse`] is a pure function over the bytes of one HEP packet; [`encode_v3`] builds one.
//! The listener ([`listen`]) and sender ([`send`]) are the only parts touching sockets.

use std::borrow::Cow;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::Serialize;

use crate::capture::Timestamp;

pub mod listen;
pub mod send;

pub use listen::{
    HepListenError, HepListener, HepListenerStats, ListenOptions, StatsHandle, TcpStats,
};
pub use send::{HepSendError, HepSender, TapPacket};

/// The 4-byte magic opening every HEPv3 packet.
pub const HEP3_MAGIC: &[u8; 4] = b"HEP3";
/// The usual collector port (HOMER, heplify-server).
pub const HEP_PORT: u16 = 9060;
/// The second port some collectors use for HEP (heplify-server's "HEP over TLS/TCP" default).
pub const HEP_ALT_PORT: u16 = 9063;
/// Largest payload inflated from a compressed payload chunk (type 16). A HEP packet is at
/// most 64 KiB, and what it carries was one packet: more is refused, not allocated.
pub const MAX_INFLATED: usize = 64 * 1024;
/// Bytes in a chunk header (vendor, type, length).
const CHUNK_HEADER: usize = 6;
/// Bytes in the HEPv3 packet header (magic and total length).
const V3_HEADER: usize = 6;
/// Size of the v2 time header as the C senders write it: `struct hep_timehdr { u32 tv_sec;
/// u32 tv_usec; u16 captid; }` padded to 12 bytes by the compiler (Kamailio, OpenSIPS).
const V2_TIME_HEADER: usize = 12;

/// Linux `AF_INET`, as HEP carries address families.
pub const AF_INET: u8 = 2;
/// Linux `AF_INET6`, as HEP carries address families.
pub const AF_INET6: u8 = 10;

/// The HEP "protocol type" (chunk 11): what the payload is. Open newtype; the values are
/// those of the sipcapture/HEP registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ProtoType(pub u8);

impl ProtoType {
    /// SIP message.
    pub const SIP: ProtoType = ProtoType(1);
    /// XMPP.
    pub const XMPP: ProtoType = ProtoType(2);
    /// SDP.
    pub const SDP: ProtoType = ProtoType(3);
    /// RTP packet.
    pub const RTP: ProtoType = ProtoType(4);
    /// RTCP report (captagent and heplify send it as JSON; a raw RTCP packet also occurs).
    pub const RTCP: ProtoType = ProtoType(5);
    /// MGCP.
    pub const MGCP: ProtoType = ProtoType(6);
    /// MEGACO (H.248).
    pub const MEGACO: ProtoType = ProtoType(7);
    /// M2UA.
    pub const M2UA: ProtoType = ProtoType(8);
    /// M3UA.
    pub const M3UA: ProtoType = ProtoType(9);
    /// IAX.
    pub const IAX: ProtoType = ProtoType(10);
    /// Log line (type 100).
    pub const LOG: ProtoType = ProtoType(100);
}

/// Generic chunk type ids (vendor 0) of HEPv3.
pub mod chunk {
    /// IP family (u8: 2 IPv4, 10 IPv6).
    pub const IP_FAMILY: u16 = 1;
    /// IP protocol (u8: 17 UDP, 6 TCP...).
    pub const IP_PROTO: u16 = 2;
    /// IPv4 source address.
    pub const IPV4_SRC: u16 = 3;
    /// IPv4 destination address.
    pub const IPV4_DST: u16 = 4;
    /// IPv6 source address.
    pub const IPV6_SRC: u16 = 5;
    /// IPv6 destination address.
    pub const IPV6_DST: u16 = 6;
    /// Source port (u16).
    pub const SRC_PORT: u16 = 7;
    /// Destination port (u16).
    pub const DST_PORT: u16 = 8;
    /// Capture time, seconds since the epoch (u32).
    pub const TS_SEC: u16 = 9;
    /// Capture time, microseconds within the second (u32).
    pub const TS_USEC: u16 = 10;
    /// Protocol type of the payload (u8, see [`super::ProtoType`]).
    pub const PROTO_TYPE: u16 = 11;
    /// Capture agent id (u32; some agents send u16).
    pub const CAPTURE_ID: u16 = 12;
    /// Keep-alive timer (u16), ignored.
    pub const KEEP_ALIVE: u16 = 13;
    /// Authentication key (password), octets.
    pub const AUTH_KEY: u16 = 14;
    /// Payload, octets.
    pub const PAYLOAD: u16 = 15;
    /// Payload compressed with gzip (or zlib), octets.
    pub const COMPRESSED_PAYLOAD: u16 = 16;
    /// Correlation id (for example the Call-ID of the call an RTCP report belongs to).
    pub const CORRELATION_ID: u16 = 17;
}

/// Why a HEP packet was refused. Offsets are from the first byte of the packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HepError {
    /// Neither `"HEP3"` nor version 1 or 2.
    #[error("not HEP: first byte {first:#04x}")]
    NotHep {
        /// The first byte seen (0 for empty input).
        first: u8,
    },
    /// The input ends before a header does.
    #[error("HEP header truncated at offset {offset}: {need} bytes needed")]
    Truncated {
        /// Where the missing header starts.
        offset: usize,
        /// Bytes the header needs.
        need: usize,
    },
    /// The HEPv3 total length is below the header or past the input.
    #[error("HEP3 total length {declared} invalid for {available} bytes")]
    BadTotalLength {
        /// The length field.
        declared: usize,
        /// Bytes available.
        available: usize,
    },
    /// A chunk length below 6 or reaching past the packet end.
    #[error("HEP3 chunk type {chunk_type} at offset {offset}: bad length {length}")]
    BadChunkLength {
        /// Offset of the chunk header.
        offset: usize,
        /// Its type id.
        chunk_type: u16,
        /// Its length field.
        length: usize,
    },
    /// A generic chunk whose value has the wrong size or meaning (an IPv4 address that is
    /// not 4 bytes, an unknown family...).
    #[error("HEP chunk type {chunk_type} at offset {offset}: bad value of {length} bytes")]
    BadChunkValue {
        /// Offset of the chunk header (or of the v1/v2 field).
        offset: usize,
        /// Its type id (for v1/v2: the equivalent v3 chunk type).
        chunk_type: u16,
        /// Value length.
        length: usize,
    },
    /// A compressed payload that does not inflate, or inflates past [`MAX_INFLATED`].
    #[error("HEP3 compressed payload at offset {offset} does not inflate within {limit} bytes")]
    Inflate {
        /// Offset of the chunk header.
        offset: usize,
        /// The inflate bound.
        limit: usize,
    },
    /// A v1/v2 header length that does not match its address family.
    #[error("HEPv{version} header length {declared} does not match family {family}")]
    BadHeaderLength {
        /// 1 or 2.
        version: u8,
        /// The header length field.
        declared: u8,
        /// The family field.
        family: u8,
    },
    /// No payload (nor compressed payload) chunk.
    #[error("HEP packet without payload")]
    NoPayload,
}

/// One parsed HEP packet, borrowing from the input (except an inflated payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HepPacket<'a> {
    /// HEP version: 1, 2 or 3.
    pub version: u8,
    /// Address family as sent (2 IPv4, 10 IPv6), if given.
    pub family: Option<u8>,
    /// IP protocol of the captured packet (17 UDP, 6 TCP...), if given.
    pub ip_proto: Option<u8>,
    /// Original source address, if given.
    pub src_ip: Option<IpAddr>,
    /// Original destination address, if given.
    pub dst_ip: Option<IpAddr>,
    /// Original source port, if given.
    pub src_port: Option<u16>,
    /// Original destination port, if given.
    pub dst_port: Option<u16>,
    /// Capture time, if given (v2, or v3 chunks 9/10).
    pub ts: Option<Timestamp>,
    /// What the payload is (v3 chunk 11; v1/v2 carry SIP only).
    pub proto_type: Option<ProtoType>,
    /// Capture agent id (v2 time header, v3 chunk 12).
    pub capture_id: Option<u32>,
    /// Authentication key (password) as sent, chunk 14.
    pub auth_key: Option<&'a [u8]>,
    /// Correlation id, chunk 17.
    pub correlation_id: Option<&'a [u8]>,
    /// The captured payload: borrowed, or owned when inflated from chunk 16.
    pub payload: Cow<'a, [u8]>,
    /// Offset of `payload` in the input when borrowed (None when inflated), so a caller
    /// holding the input with a longer lifetime can re-borrow it.
    pub payload_offset: Option<usize>,
    /// Generic (vendor 0) chunks of unknown type, skipped.
    pub unknown_chunks: u32,
    /// Vendor-specific chunks (vendor id not 0), skipped.
    pub vendor_chunks: u32,
}

impl HepPacket<'_> {
    /// Original source as ip:port (port 0 when only the address was given).
    pub fn src(&self) -> Option<SocketAddr> {
        self.src_ip
            .map(|ip| SocketAddr::new(ip, self.src_port.unwrap_or(0)))
    }
    /// Original destination as ip:port (port 0 when only the address was given).
    pub fn dst(&self) -> Option<SocketAddr> {
        self.dst_ip
            .map(|ip| SocketAddr::new(ip, self.dst_port.unwrap_or(0)))
    }
}

/// What a decoder keeps about the HEP envelope of a message: who captured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct HepMeta {
    /// HEP version (1, 2 or 3).
    pub version: u8,
    /// Capture agent id, when the packet carried one.
    pub capture_id: Option<u32>,
    /// Address the HEP packet came from (the capture agent).
    pub agent: SocketAddr,
}

/// True when `data` starts like a HEPv3 packet (the magic).
pub fn is_v3(data: &[u8]) -> bool {
    data.starts_with(HEP3_MAGIC)
}

/// Length of the HEPv3 packet at the start of `data`, from its header: for framing a TCP
/// stream. None when fewer than 6 bytes are there or they are not a HEPv3 header.
pub fn v3_frame_len(data: &[u8]) -> Option<usize> {
    let h = data.get(..V3_HEADER)?;
    if !is_v3(h) {
        return None;
    }
    Some(usize::from(be16(h, 4)?))
}

/// Parses one HEP packet (v1, v2 or v3).
///
/// HEPv3: bytes past the total length are ignored; chunks of unknown type are skipped and
/// counted; a chunk whose length or value is wrong stops parsing with an error, and
/// nothing of the packet is returned (a half-parsed envelope would misattribute the
/// payload). Later copies of a chunk replace earlier ones.
pub fn parse(data: &[u8]) -> Result<HepPacket<'_>, HepError> {
    match data.first() {
        None => Err(HepError::NotHep { first: 0 }),
        Some(_) if is_v3(data) => parse_v3(data),
        Some(&v @ (1 | 2)) => parse_v12(data, v),
        Some(&first) => Err(HepError::NotHep { first }),
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn be32(d: &[u8]) -> Option<u32> {
    let b: [u8; 4] = d.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

fn empty(version: u8) -> HepPacket<'static> {
    HepPacket {
        version,
        family: None,
        ip_proto: None,
        src_ip: None,
        dst_ip: None,
        src_port: None,
        dst_port: None,
        ts: None,
        proto_type: None,
        capture_id: None,
        auth_key: None,
        correlation_id: None,
        payload: Cow::Borrowed(&[]),
        payload_offset: None,
        unknown_chunks: 0,
        vendor_chunks: 0,
    }
}

fn parse_v3(data: &[u8]) -> Result<HepPacket<'_>, HepError> {
    let total = v3_frame_len(data).ok_or(HepError::Truncated {
        offset: 0,
        need: V3_HEADER,
    })?;
    if total < V3_HEADER || total > data.len() {
        return Err(HepError::BadTotalLength {
            declared: total,
            available: data.len(),
        });
    }
    let data = data.get(..total).unwrap_or_default();
    let mut p = empty(3);
    let (mut sec, mut usec) = (None, None);
    let mut have_payload = false;
    let mut off = V3_HEADER;
    while off < total {
        let (Some(vendor), Some(ty), Some(len)) =
            (be16(data, off), be16(data, off + 2), be16(data, off + 4))
        else {
            return Err(HepError::Truncated {
                offset: off,
                need: CHUNK_HEADER,
            });
        };
        let len = usize::from(len);
        let bad_len = HepError::BadChunkLength {
            offset: off,
            chunk_type: ty,
            length: len,
        };
        if len < CHUNK_HEADER {
            return Err(bad_len);
        }
        let Some(value) = data.get(off + CHUNK_HEADER..off + len) else {
            return Err(bad_len);
        };
        let value_at = off + CHUNK_HEADER;
        let bad_value = HepError::BadChunkValue {
            offset: off,
            chunk_type: ty,
            length: value.len(),
        };
        off += len;
        if vendor != 0 {
            p.vendor_chunks += 1;
            continue;
        }
        let u8v = || match value {
            [b] => Ok(*b),
            _ => Err(bad_value.clone()),
        };
        match ty {
            chunk::IP_FAMILY => p.family = Some(u8v()?),
            chunk::IP_PROTO => p.ip_proto = Some(u8v()?),
            chunk::IPV4_SRC | chunk::IPV4_DST => {
                let a: [u8; 4] = value.try_into().map_err(|_| bad_value.clone())?;
                let ip = Some(IpAddr::V4(Ipv4Addr::from(a)));
                if ty == chunk::IPV4_SRC {
                    p.src_ip = ip;
                } else {
                    p.dst_ip = ip;
                }
            }
            chunk::IPV6_SRC | chunk::IPV6_DST => {
                let a: [u8; 16] = value.try_into().map_err(|_| bad_value.clone())?;
                let ip = Some(IpAddr::V6(Ipv6Addr::from(a)));
                if ty == chunk::IPV6_SRC {
                    p.src_ip = ip;
                } else {
                    p.dst_ip = ip;
                }
            }
            chunk::SRC_PORT | chunk::DST_PORT => {
                let port = match value {
                    [a, b] => u16::from_be_bytes([*a, *b]),
                    _ => return Err(bad_value),
                };
                if ty == chunk::SRC_PORT {
                    p.src_port = Some(port);
                } else {
                    p.dst_port = Some(port);
                }
            }
            chunk::TS_SEC | chunk::TS_USEC => {
                let v = match value.len() {
                    4 => be32(value).ok_or(bad_value)?,
                    _ => return Err(bad_value),
                };
                if ty == chunk::TS_SEC {
                    sec = Some(v);
                } else {
                    usec = Some(v);
                }
            }
            chunk::PROTO_TYPE => p.proto_type = Some(ProtoType(u8v()?)),
            chunk::CAPTURE_ID => {
                // The registry says u32; older agents send u16. sngrep 1.x writes its u16
                // id in network order into the u32 field (2002 arrives as 0x07d20000):
                // kept as sent, as HOMER shows it.
                p.capture_id = Some(match value {
                    [a, b] => u32::from(u16::from_be_bytes([*a, *b])),
                    _ if value.len() == 4 => be32(value).ok_or(bad_value)?,
                    _ => return Err(bad_value),
                });
            }
            chunk::AUTH_KEY => p.auth_key = Some(value),
            chunk::CORRELATION_ID => p.correlation_id = Some(value),
            chunk::PAYLOAD => {
                p.payload = Cow::Borrowed(value);
                p.payload_offset = Some(value_at);
                have_payload = true;
            }
            chunk::COMPRESSED_PAYLOAD => {
                let limit = MAX_INFLATED;
                let inflated = inflate(value, limit).ok_or(HepError::Inflate {
                    offset: value_at - CHUNK_HEADER,
                    limit,
                })?;
                p.payload = Cow::Owned(inflated);
                p.payload_offset = None;
                have_payload = true;
            }
            chunk::KEEP_ALIVE => {}
            _ => p.unknown_chunks += 1,
        }
    }
    if !have_payload {
        return Err(HepError::NoPayload);
    }
    if let Some(s) = sec {
        // Microseconds past a second are clamped rather than carried: a broken agent.
        let us = usec.unwrap_or(0).min(999_999);
        p.ts = Some(Timestamp::from_parts(u64::from(s), us * 1000));
    }
    Ok(p)
}

/// Inflates gzip (RFC 1952) or zlib (RFC 1950) data, up to `limit` bytes; None on error or
/// when the output would be larger.
fn inflate(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).ok()?.saturating_add(1);
    let read = if data.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(data)
            .take(cap)
            .read_to_end(&mut out)
    } else {
        flate2::read::ZlibDecoder::new(data)
            .take(cap)
            .read_to_end(&mut out)
    };
    match read {
        Ok(n) if n <= limit => Some(out),
        _ => None,
    }
}

/// HEPv1/v2 (Kamailio `sipcapture` `hep_hdr`): the header length covers the fixed header and
/// the addresses, not the v2 time header; checked strictly, since v1/v2 has no magic.
fn parse_v12(data: &[u8], version: u8) -> Result<HepPacket<'_>, HepError> {
    let h = data
        .get(..8)
        .ok_or(HepError::Truncated { offset: 0, need: 8 })?;
    let (hl, family, proto) = (
        h.get(1).copied().unwrap_or(0),
        h.get(2).copied().unwrap_or(0),
        h.get(3).copied().unwrap_or(0),
    );
    let addr_len = match family {
        AF_INET => 8,
        AF_INET6 => 32,
        _ => {
            return Err(HepError::BadChunkValue {
                offset: 2,
                chunk_type: chunk::IP_FAMILY,
                length: 1,
            })
        }
    };
    if usize::from(hl) != 8 + addr_len {
        return Err(HepError::BadHeaderLength {
            version,
            declared: hl,
            family,
        });
    }
    let addrs = data.get(8..8 + addr_len).ok_or(HepError::Truncated {
        offset: 8,
        need: addr_len,
    })?;
    let (src, dst) = if family == AF_INET {
        let s: [u8; 4] = addrs
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 4]);
        let d: [u8; 4] = addrs
            .get(4..8)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 4]);
        (IpAddr::from(s), IpAddr::from(d))
    } else {
        let s: [u8; 16] = addrs
            .get(..16)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 16]);
        let d: [u8; 16] = addrs
            .get(16..32)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 16]);
        (IpAddr::from(s), IpAddr::from(d))
    };
    let mut p = empty(version);
    p.family = Some(family);
    p.ip_proto = Some(proto);
    p.src_ip = Some(src);
    p.dst_ip = Some(dst);
    p.src_port = be16(h, 4);
    p.dst_port = be16(h, 6);
    p.proto_type = Some(ProtoType::SIP);
    let mut start = 8 + addr_len;
    if version == 2 {
        let t = data
            .get(start..start + V2_TIME_HEADER)
            .ok_or(HepError::Truncated {
                offset: start,
                need: V2_TIME_HEADER,
            })?;
        // The C senders copy the struct in host byte order, little-endian on every platform
        // that runs them; a deliberate deviation from network order.
        let le32 = |i: usize| -> u32 {
            let b: [u8; 4] = t
                .get(i..i + 4)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 4]);
            u32::from_le_bytes(b)
        };
        let (sec, usec) = (le32(0), le32(4));
        let capt = u16::from_le_bytes([
            t.get(8).copied().unwrap_or(0),
            t.get(9).copied().unwrap_or(0),
        ]);
        p.ts = Some(Timestamp::from_parts(
            u64::from(sec),
            usec.min(999_999) * 1000,
        ));
        p.capture_id = Some(u32::from(capt));
        start += V2_TIME_HEADER;
    }
    let payload = data.get(start..).unwrap_or_default();
    if payload.is_empty() {
        return Err(HepError::NoPayload);
    }
    p.payload = Cow::Borrowed(payload);
    p.payload_offset = Some(start);
    Ok(p)
}

/// What to encapsulate with [`encode_v3`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HepOut<'a> {
    /// Original source.
    pub src: SocketAddr,
    /// Original destination.
    pub dst: SocketAddr,
    /// IP protocol of the original packet (17 UDP, 6 TCP).
    pub ip_proto: u8,
    /// Capture time.
    pub ts: Timestamp,
    /// What the payload is.
    pub proto_type: ProtoType,
    /// Capture agent id (chunk 12, u32), if any.
    pub capture_id: Option<u32>,
    /// Authentication key (chunk 14), if any.
    pub auth_key: Option<&'a [u8]>,
    /// Correlation id (chunk 17), if any.
    pub correlation_id: Option<&'a [u8]>,
    /// The payload.
    pub payload: &'a [u8],
}

/// Why [`encode_v3`] could not build a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HepEncodeError {
    /// The packet would pass the 65535 bytes its 16-bit length can describe.
    #[error("HEP3 packet of {0} bytes exceeds 65535")]
    TooLarge(usize),
}

fn put_chunk(out: &mut Vec<u8>, ty: u16, value: &[u8]) {
    // Callers bound the total length first, so every value fits in u16.
    let len = u16::try_from(CHUNK_HEADER + value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
}

/// Appends one HEPv3 packet for `pkt` to `out`; returns its length.
///
/// Chunks go in the order sngrep and hep-c write them (family, protocol, ports, time,
/// protocol type, capture id, addresses, auth key, correlation id, payload), so receivers
/// that expect that layout read it too. Mixed families are sent as IPv6, the IPv4 side
/// mapped (`::ffff:a.b.c.d`).
pub fn encode_v3(pkt: &HepOut<'_>, out: &mut Vec<u8>) -> Result<usize, HepEncodeError> {
    let (src, dst, family) = match (pkt.src.ip(), pkt.dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (IpAddr::V4(s), IpAddr::V4(d), AF_INET),
        (s, d) => (IpAddr::V6(v6(s)), IpAddr::V6(v6(d)), AF_INET6),
    };
    let addr_len = if family == AF_INET { 4 } else { 16 };
    let total = V3_HEADER
        + (CHUNK_HEADER + 1) * 3 // family, ip proto, proto type
        + (CHUNK_HEADER + 2) * 2 // ports
        + (CHUNK_HEADER + 4) * 2 // time
        + pkt.capture_id.map_or(0, |_| CHUNK_HEADER + 4)
        + (CHUNK_HEADER + addr_len) * 2
        + pkt.auth_key.map_or(0, |k| CHUNK_HEADER + k.len())
        + pkt.correlation_id.map_or(0, |c| CHUNK_HEADER + c.len())
        + CHUNK_HEADER
        + pkt.payload.len();
    let Ok(total16) = u16::try_from(total) else {
        return Err(HepEncodeError::TooLarge(total));
    };
    let start = out.len();
    out.reserve(total);
    out.extend_from_slice(HEP3_MAGIC);
    out.extend_from_slice(&total16.to_be_bytes());
    put_chunk(out, chunk::IP_FAMILY, &[family]);
    put_chunk(out, chunk::IP_PROTO, &[pkt.ip_proto]);
    put_chunk(out, chunk::SRC_PORT, &pkt.src.port().to_be_bytes());
    put_chunk(out, chunk::DST_PORT, &pkt.dst.port().to_be_bytes());
    // HEP time is 32-bit seconds: past 2106 it wraps, as in every other agent.
    let secs = (pkt.ts.secs() & u64::from(u32::MAX)) as u32;
    put_chunk(out, chunk::TS_SEC, &secs.to_be_bytes());
    put_chunk(
        out,
        chunk::TS_USEC,
        &(pkt.ts.subsec_nanos() / 1000).to_be_bytes(),
    );
    put_chunk(out, chunk::PROTO_TYPE, &[pkt.proto_type.0]);
    if let Some(id) = pkt.capture_id {
        put_chunk(out, chunk::CAPTURE_ID, &id.to_be_bytes());
    }
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            put_chunk(out, chunk::IPV4_SRC, &s.octets());
            put_chunk(out, chunk::IPV4_DST, &d.octets());
        }
        (s, d) => {
            put_chunk(out, chunk::IPV6_SRC, &v6(s).octets());
            put_chunk(out, chunk::IPV6_DST, &v6(d).octets());
        }
    }
    if let Some(k) = pkt.auth_key {
        put_chunk(out, chunk::AUTH_KEY, k);
    }
    if let Some(c) = pkt.correlation_id {
        put_chunk(out, chunk::CORRELATION_ID, c);
    }
    put_chunk(out, chunk::PAYLOAD, pkt.payload);
    Ok(out.len() - start)
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

#[cfg(test)]
mod tests;
