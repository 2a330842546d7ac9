//! SRTP and SRTCP decryption with a known master key (RFC 3711), for keys an SDP carried
//! in clear (SDES, RFC 4568): proof that media "could be decrypted" really was.
//!
//! Pure functions over `&[u8]`: an [`SrtpContext`] holds the session keys derived from
//! one master key and salt (RFC 3711 §4.3) and the rollover counter of the one stream it
//! reads (§3.3.1); [`SrtpContext::unprotect_rtp`] authenticates a packet and writes the
//! decrypted RTP packet (header and payload) into a caller-owned buffer, so a stream
//! reuses one allocation for all its packets.
//!
//! Suites: AES_CM_128_HMAC_SHA1_80/32 (RFC 3711 §4.1.1, §4.2.1, RFC 4568 §6.2),
//! AES_256_CM_HMAC_SHA1_80/32 (RFC 6188), AEAD_AES_128_GCM and AEAD_AES_256_GCM
//! (RFC 7714). Every primitive is RustCrypto's: AES in counter mode (`ctr`) for AES-CM and
//! the key derivation PRF, HMAC-SHA1 (`hmac`, `sha1`), AES-GCM (`aes-gcm`). No cipher,
//! mode or MAC is written here; this module only lays out IVs, AADs and packet fields.
//!
//! Not handled (each reads as an authentication failure, never as a wrong decryption):
//! a key derivation rate other than 0 (RFC 4568 `KDR=`), the `UNENCRYPTED_SRTP` /
//! `UNAUTHENTICATED_SRTP` session parameters, and a stream joined after its rollover
//! counter left 0 (over 65,536 packets, about 22 minutes of 20 ms audio).

use aes::cipher::{InnerIvInit, KeyInit, KeyIvInit, StreamCipher};
use aes::{Aes128, Aes256};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// An SRTP crypto suite as SDES names it (RFC 4568 §6.2, RFC 6188 §7, RFC 7714 §14.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// `AES_CM_128_HMAC_SHA1_80`: AES-128 counter mode, 80-bit HMAC-SHA1 tag.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: as above, 32-bit SRTP tag (SRTCP keeps 80 bits,
    /// RFC 4568 §6.2.2).
    AesCm128HmacSha1_32,
    /// `AES_256_CM_HMAC_SHA1_80` (RFC 6188 §7.1).
    AesCm256HmacSha1_80,
    /// `AES_256_CM_HMAC_SHA1_32` (RFC 6188 §7.1).
    AesCm256HmacSha1_32,
    /// `AEAD_AES_128_GCM` (RFC 7714 §14.1): 16-byte tag, 96-bit salt.
    AeadAes128Gcm,
    /// `AEAD_AES_256_GCM` (RFC 7714 §14.1).
    AeadAes256Gcm,
}

impl Suite {
    /// The suite an `a=crypto` line names (case as registered; `None` when unsupported,
    /// such as the F8 and 192-bit suites).
    pub fn from_sdes(name: &str) -> Option<Suite> {
        Some(match name {
            "AES_CM_128_HMAC_SHA1_80" => Suite::AesCm128HmacSha1_80,
            "AES_CM_128_HMAC_SHA1_32" => Suite::AesCm128HmacSha1_32,
            "AES_256_CM_HMAC_SHA1_80" => Suite::AesCm256HmacSha1_80,
            "AES_256_CM_HMAC_SHA1_32" => Suite::AesCm256HmacSha1_32,
            "AEAD_AES_128_GCM" => Suite::AeadAes128Gcm,
            "AEAD_AES_256_GCM" => Suite::AeadAes256Gcm,
            _ => return None,
        })
    }

    /// The SDES name (RFC 4568 §6.2 and the registrations above).
    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            Suite::AesCm256HmacSha1_80 => "AES_256_CM_HMAC_SHA1_80",
            Suite::AesCm256HmacSha1_32 => "AES_256_CM_HMAC_SHA1_32",
            Suite::AeadAes128Gcm => "AEAD_AES_128_GCM",
            Suite::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }

    /// Master (and session encryption) key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Suite::AesCm128HmacSha1_80 | Suite::AesCm128HmacSha1_32 | Suite::AeadAes128Gcm => 16,
            _ => 32,
        }
    }

    /// Master (and session) salt length in bytes: 112 bits for AES-CM (RFC 3711 §8.2),
    /// 96 bits for AES-GCM (RFC 7714 §14.2: cipher_salt_length).
    pub fn salt_len(self) -> usize {
        if self.is_aead() {
            12
        } else {
            14
        }
    }

    fn is_aead(self) -> bool {
        matches!(self, Suite::AeadAes128Gcm | Suite::AeadAes256Gcm)
    }

    /// SRTP authentication tag length (the AEAD tag for GCM, RFC 7714 §8.2).
    fn rtp_tag_len(self) -> usize {
        match self {
            Suite::AesCm128HmacSha1_32 | Suite::AesCm256HmacSha1_32 => 4,
            Suite::AeadAes128Gcm | Suite::AeadAes256Gcm => 16,
            _ => 10,
        }
    }

    /// SRTCP tag length: always 80 bits with HMAC-SHA1 (RFC 3711 §5.2, RFC 4568 §6.2.2).
    fn rtcp_tag_len(self) -> usize {
        if self.is_aead() {
            16
        } else {
            10
        }
    }
}

/// Why a packet was not decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    /// Shorter than its header, MKI and tag.
    #[error("packet too short for SRTP")]
    TooShort,
    /// Not an RTP (version 2) or RTCP header.
    #[error("not an RTP/RTCP header")]
    NotRtp,
    /// The tag did not verify: wrong key, wrong rollover counter, or a damaged packet.
    #[error("authentication failed")]
    AuthFailed,
    /// Master key or salt of the wrong length for the suite.
    #[error("key or salt length does not match the suite")]
    KeyLength,
}

/// A master key and salt for one suite, with the MKI length its packets carry.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    /// The suite.
    pub suite: Suite,
    key: [u8; 32],
    salt: [u8; 14],
    /// Bytes of Master Key Identifier in each packet (RFC 3711 §3.1; 0: none).
    pub mki_len: u8,
}

impl std::fmt::Debug for MasterKey {
    // A secret: never in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("suite", &self.suite)
            .field("mki_len", &self.mki_len)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A master key from its parts; `None` when a length does not fit the suite.
    pub fn new(suite: Suite, key: &[u8], salt: &[u8], mki_len: u8) -> Option<MasterKey> {
        if key.len() != suite.key_len() || salt.len() != suite.salt_len() {
            return None;
        }
        let mut k = MasterKey {
            suite,
            key: [0; 32],
            salt: [0; 14],
            mki_len,
        };
        k.key.get_mut(..key.len())?.copy_from_slice(key);
        k.salt.get_mut(..salt.len())?.copy_from_slice(salt);
        Some(k)
    }

    /// The key of an SDES `inline:` key parameter (RFC 4568 §6.1, §9.2): `suite` as
    /// written, `key_salt` the base64 concatenated master key and salt, `mki_len` the
    /// MKI length of its `|value:length` part (0 without one). `None` for an unsupported
    /// suite or a key of the wrong length.
    pub fn from_sdes(suite: &str, key_salt: &str, mki_len: u8) -> Option<MasterKey> {
        let suite = Suite::from_sdes(suite)?;
        // Padding is optional in practice (RFC 4568 §9.2 uses base64 from RFC 4648 §4,
        // but 46-byte AES-256 keys are seen both with and without `==`).
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        let mut buf = [0u8; 64];
        let n = engine.decode_slice(key_salt.as_bytes(), &mut buf).ok()?;
        let raw = buf.get(..n)?;
        let (key, salt) = raw.split_at_checked(suite.key_len())?;
        MasterKey::new(suite, key, salt, mki_len)
    }

    fn key(&self) -> &[u8] {
        self.key.get(..self.suite.key_len()).unwrap_or(&[])
    }

    /// The salt padded to 112 bits: the key derivation works on 112-bit values, and an
    /// AEAD suite's 96-bit salt takes two zero bytes at the end (RFC 7714 §11, as libsrtp).
    fn salt14(&self) -> &[u8; 14] {
        &self.salt
    }
}

/// RFC 3711 §4.3.3 PRF: the AES-CM keystream under the master key, IV = x * 2^16.
fn prf(master_key: &[u8], x: &[u8; 14], out: &mut [u8]) -> Result<(), SrtpError> {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(x);
    out.fill(0);
    match master_key.len() {
        16 => ctr::Ctr128BE::<Aes128>::new_from_slices(master_key, &iv)
            .map_err(|_| SrtpError::KeyLength)?
            .apply_keystream(out),
        32 => ctr::Ctr128BE::<Aes256>::new_from_slices(master_key, &iv)
            .map_err(|_| SrtpError::KeyLength)?
            .apply_keystream(out),
        _ => return Err(SrtpError::KeyLength),
    }
    Ok(())
}

/// RFC 3711 §4.3.1 with a key derivation rate of 0 (r = 0): x = (label || 0^48) XOR
/// master salt, the label in the 8th byte of the 112-bit value.
fn derive(master: &MasterKey, label: u8, out: &mut [u8]) -> Result<(), SrtpError> {
    let mut x = *master.salt14();
    x[7] ^= label;
    prf(master.key(), &x, out)
}

/// Key derivation labels (RFC 3711 §4.3.2).
const LABEL_RTP_ENC: u8 = 0;
const LABEL_RTCP_ENC: u8 = 3;

/// The session keys of one direction of SRTP or SRTCP, as cipher instances (key
/// schedules computed once, cloned per packet). The key schedules are boxed (an AES
/// key schedule with its runtime-detected AES-NI twin is 700-960 bytes), so a context
/// that is moved or kept per stream stays small.
#[derive(Clone)]
enum Transform {
    /// AES-CM with HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1).
    Cm {
        cipher: CmCipher,
        auth: Box<HmacSha1>,
        salt: [u8; 14],
    },
    /// AES-GCM (RFC 7714).
    Gcm { aead: GcmCipher, salt: [u8; 12] },
}

#[derive(Clone)]
enum CmCipher {
    A128(Box<Aes128>),
    A256(Box<Aes256>),
}

#[derive(Clone)]
enum GcmCipher {
    A128(Box<Aes128Gcm>),
    A256(Box<Aes256Gcm>),
}

impl CmCipher {
    /// XORs `data` with the AES-CM keystream from `iv` (RFC 3711 §4.1.1: a 128-bit
    /// counter, big-endian, starting at the IV).
    fn apply(&self, iv: &[u8; 16], data: &mut [u8]) {
        match self {
            // The key schedule is computed once per context and cloned here.
            CmCipher::A128(c) => ctr::Ctr128BE::<Aes128>::from_core(ctr::CtrCore::inner_iv_init(
                Aes128::clone(c),
                iv.into(),
            ))
            .apply_keystream(data),
            CmCipher::A256(c) => ctr::Ctr128BE::<Aes256>::from_core(ctr::CtrCore::inner_iv_init(
                Aes256::clone(c),
                iv.into(),
            ))
            .apply_keystream(data),
        }
    }
}

impl GcmCipher {
    fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), SrtpError> {
        let r = match self {
            GcmCipher::A128(c) => c.decrypt_in_place_detached(nonce.into(), aad, data, tag.into()),
            GcmCipher::A256(c) => c.decrypt_in_place_detached(nonce.into(), aad, data, tag.into()),
        };
        r.map_err(|_| SrtpError::AuthFailed)
    }
}

impl Transform {
    /// The session keys of labels `base`, `base + 1` (auth) and `base + 2` (salt).
    fn derive(master: &MasterKey, base: u8) -> Result<Transform, SrtpError> {
        let mut enc = [0u8; 32];
        let enc = enc
            .get_mut(..master.suite.key_len())
            .ok_or(SrtpError::KeyLength)?;
        derive(master, base, enc)?;
        if master.suite.is_aead() {
            let mut salt = [0u8; 12];
            derive(master, base + 2, &mut salt)?;
            let aead = match enc.len() {
                16 => GcmCipher::A128(Box::new(
                    Aes128Gcm::new_from_slice(enc).map_err(|_| SrtpError::KeyLength)?,
                )),
                _ => GcmCipher::A256(Box::new(
                    Aes256Gcm::new_from_slice(enc).map_err(|_| SrtpError::KeyLength)?,
                )),
            };
            Ok(Transform::Gcm { aead, salt })
        } else {
            // 160-bit HMAC-SHA1 session authentication key (RFC 3711 §4.2.1, §8.2).
            let mut auth = [0u8; 20];
            derive(master, base + 1, &mut auth)?;
            let mut salt = [0u8; 14];
            derive(master, base + 2, &mut salt)?;
            Transform::cm(enc, &auth, salt)
        }
    }

    fn cm(enc: &[u8], auth: &[u8], salt: [u8; 14]) -> Result<Transform, SrtpError> {
        let cipher = match enc.len() {
            16 => CmCipher::A128(Box::new(
                Aes128::new_from_slice(enc).map_err(|_| SrtpError::KeyLength)?,
            )),
            32 => CmCipher::A256(Box::new(
                Aes256::new_from_slice(enc).map_err(|_| SrtpError::KeyLength)?,
            )),
            _ => return Err(SrtpError::KeyLength),
        };
        let auth =
            Box::new(<HmacSha1 as Mac>::new_from_slice(auth).map_err(|_| SrtpError::KeyLength)?);
        Ok(Transform::Cm { cipher, auth, salt })
    }
}

/// The AES-CM IV (RFC 3711 §4.1.1): (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), `i`
/// the 48-bit packet index (SRTP) or the 31-bit SRTCP index.
fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (d, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *d ^= s;
    }
    // The low 48 bits of the index, in bytes 8..14.
    for (d, s) in iv[8..14]
        .iter_mut()
        .zip(index.to_be_bytes().into_iter().skip(2))
    {
        *d ^= s;
    }
    iv
}

/// The AES-GCM IV (RFC 7714 §8.1 for SRTP, §9.1 for SRTCP): 00 00 || SSRC || `hi` ||
/// `lo` XOR the 96-bit salt, where SRTP puts ROC (4 bytes) || SEQ (2 bytes) and SRTCP
/// 00 00 || SRTCP index (4 bytes, E bit clear).
fn gcm_iv(salt: &[u8; 12], ssrc: u32, tail: [u8; 6]) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..12].copy_from_slice(&tail);
    for (d, s) in iv.iter_mut().zip(salt) {
        *d ^= s;
    }
    iv
}

/// The RTP header length (RFC 3550 §5.1, §5.3.1): fixed part, CSRC list, extension.
/// SRTP leaves all of it in clear (RFC 3711 §3.1).
fn rtp_header_len(p: &[u8]) -> Result<usize, SrtpError> {
    let b0 = *p.first().ok_or(SrtpError::TooShort)?;
    if b0 >> 6 != 2 {
        return Err(SrtpError::NotRtp);
    }
    let mut len = 12 + 4 * usize::from(b0 & 0x0f);
    if b0 & 0x10 != 0 {
        let ext = p.get(len + 2..len + 4).ok_or(SrtpError::TooShort)?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    if len > p.len() {
        return Err(SrtpError::TooShort);
    }
    Ok(len)
}

fn be32(p: &[u8], at: usize) -> Result<u32, SrtpError> {
    let b = p.get(at..at + 4).ok_or(SrtpError::TooShort)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// What [`SrtpContext::unprotect_rtp`] decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unprotected {
    /// The packet index (ROC * 2^16 + SEQ, RFC 3711 §3.3.1); for SRTCP the SRTCP index.
    pub index: u64,
    /// Where the payload starts in the output (after the RTP header or the RTCP
    /// header and sender SSRC).
    pub payload_start: usize,
}

/// The SRTP/SRTCP state of one stream under one master key: session keys for both
/// (RFC 3711 §4.3.2 labels 0-2 and 3-5) and the rollover counter of the SRTP stream.
#[derive(Clone)]
pub struct SrtpContext {
    suite: Suite,
    mki_len: usize,
    rtp: Transform,
    rtcp: Transform,
    /// Rollover counter and highest sequence number authenticated (RFC 3711 §3.3.1);
    /// None before the first authenticated packet.
    roc_sl: Option<(u32, u16)>,
}

impl std::fmt::Debug for SrtpContext {
    // Session keys are secrets: only the suite and counters.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("suite", &self.suite)
            .field("mki_len", &self.mki_len)
            .field("roc_sl", &self.roc_sl)
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// Derives the session keys of a master key (RFC 3711 §4.3, key derivation rate 0).
    pub fn new(master: &MasterKey) -> Result<SrtpContext, SrtpError> {
        Ok(SrtpContext {
            suite: master.suite,
            mki_len: usize::from(master.mki_len),
            rtp: Transform::derive(master, LABEL_RTP_ENC)?,
            rtcp: Transform::derive(master, LABEL_RTCP_ENC)?,
            roc_sl: None,
        })
    }

    /// A context from session keys given directly (the RFC 3711 B.2 and RFC 7714 §16/17
    /// vectors give session keys, not master keys); the same keys for SRTP and SRTCP.
    #[cfg(test)]
    fn from_session_keys(suite: Suite, enc: &[u8], auth: &[u8], salt: &[u8]) -> SrtpContext {
        let t = if suite.is_aead() {
            let mut s = [0u8; 12];
            s.copy_from_slice(salt);
            let aead = match enc.len() {
                16 => GcmCipher::A128(Box::new(Aes128Gcm::new_from_slice(enc).unwrap())),
                _ => GcmCipher::A256(Box::new(Aes256Gcm::new_from_slice(enc).unwrap())),
            };
            Transform::Gcm { aead, salt: s }
        } else {
            let mut s = [0u8; 14];
            s.copy_from_slice(salt);
            Transform::cm(enc, auth, s).unwrap()
        };
        SrtpContext {
            suite,
            mki_len: 0,
            rtp: t.clone(),
            rtcp: t,
            roc_sl: None,
        }
    }

    #[cfg(test)]
    /// Test-only sender: AES-CM + HMAC-SHA1 (or GCM) protection with the same session keys,
    /// to drive the receiver through rollovers, MKIs and the other suites.
    pub(crate) fn protect_rtp_for_tests(&self, plain: &[u8], roc: u32, mki: &[u8]) -> Vec<u8> {
        let ctx = self;
        let hlen = rtp_header_len(plain).unwrap();
        let seq = u16::from_be_bytes([plain[2], plain[3]]);
        let ssrc = u32::from_be_bytes([plain[8], plain[9], plain[10], plain[11]]);
        let index = (u64::from(roc) << 16) | u64::from(seq);
        let mut p = plain.to_vec();
        match &ctx.rtp {
            Transform::Cm { cipher, auth, salt } => {
                cipher.apply(&cm_iv(salt, ssrc, index), &mut p[hlen..]);
                let mut mac = HmacSha1::clone(auth);
                mac.update(&p);
                mac.update(&roc.to_be_bytes());
                let tag = mac.finalize().into_bytes();
                p.extend_from_slice(mki);
                p.extend_from_slice(&tag[..ctx.suite.rtp_tag_len()]);
            }
            Transform::Gcm { aead, salt } => {
                let mut tail = [0u8; 6];
                tail[..4].copy_from_slice(&roc.to_be_bytes());
                tail[4..].copy_from_slice(&seq.to_be_bytes());
                let nonce = gcm_iv(salt, ssrc, tail);
                let (h, body) = p.split_at_mut(hlen);
                let tag = match aead {
                    GcmCipher::A128(c) => c.encrypt_in_place_detached((&nonce).into(), h, body),
                    GcmCipher::A256(c) => c.encrypt_in_place_detached((&nonce).into(), h, body),
                }
                .unwrap();
                p.extend_from_slice(&tag);
                p.extend_from_slice(mki);
            }
        }
        p
    }

    /// The suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The rollover counter guess for `seq` (RFC 3711 §3.3.1): the index closest to the
    /// highest one authenticated so far; 0 before any.
    fn estimate_roc(&self, seq: u16) -> u32 {
        let Some((roc, s_l)) = self.roc_sl else {
            return 0;
        };
        if s_l < 32_768 {
            if i32::from(seq) - i32::from(s_l) > 32_768 {
                roc.wrapping_sub(1)
            } else {
                roc
            }
        } else if i32::from(s_l) - 32_768 > i32::from(seq) {
            roc.wrapping_add(1)
        } else {
            roc
        }
    }

    /// After an authenticated packet: RFC 3711 §3.3.1 updates ROC and s_l only forward.
    fn update_roc(&mut self, v: u32, seq: u16) {
        match self.roc_sl {
            None => self.roc_sl = Some((v, seq)),
            Some((roc, s_l)) => {
                if v == roc.wrapping_add(1) || (v == roc && seq > s_l) {
                    self.roc_sl = Some((v, seq));
                }
            }
        }
    }

    /// Authenticates and decrypts one SRTP packet (RFC 3711 §3.3; RFC 7714 §8 for GCM).
    /// On success `out` holds the RTP packet in clear (header then payload, without MKI
    /// and tag) and the rollover counter moves on; on failure `out` is left empty and
    /// the context unchanged.
    pub fn unprotect_rtp(
        &mut self,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Unprotected, SrtpError> {
        out.clear();
        let hlen = rtp_header_len(packet)?;
        let seq_b = packet.get(2..4).ok_or(SrtpError::TooShort)?;
        let seq = u16::from_be_bytes([seq_b[0], seq_b[1]]);
        let ssrc = be32(packet, 8)?;
        let tag_len = self.suite.rtp_tag_len();
        // The MKI sits before the HMAC tag (RFC 3711 §3.1) and after the AEAD
        // ciphertext and tag (RFC 7714 §8.1): either way `mki_len` bytes at the end
        // of the protected part, which the tag does not cover.
        let body_end = packet
            .len()
            .checked_sub(self.mki_len + tag_len)
            .filter(|e| *e >= hlen)
            .ok_or(SrtpError::TooShort)?;
        let v = self.estimate_roc(seq);
        let index = (u64::from(v) << 16) | u64::from(seq);
        match &self.rtp {
            Transform::Cm { cipher, auth, salt } => {
                let tag = packet
                    .get(packet.len() - tag_len..)
                    .ok_or(SrtpError::TooShort)?;
                let authenticated = packet.get(..body_end).ok_or(SrtpError::TooShort)?;
                // RFC 3711 §4.2: the tag covers the authenticated portion || ROC.
                let mut mac = HmacSha1::clone(auth);
                mac.update(authenticated);
                mac.update(&v.to_be_bytes());
                mac.verify_truncated_left(tag)
                    .map_err(|_| SrtpError::AuthFailed)?;
                out.extend_from_slice(authenticated);
                if let Some(payload) = out.get_mut(hlen..) {
                    cipher.apply(&cm_iv(salt, ssrc, index), payload);
                }
            }
            Transform::Gcm { aead, salt } => {
                let aad = packet.get(..hlen).ok_or(SrtpError::TooShort)?;
                let sealed = packet.get(hlen..body_end + 16).ok_or(SrtpError::TooShort)?;
                let (ct, tag) = sealed.split_at(sealed.len() - 16);
                let tag: &[u8; 16] = tag.try_into().map_err(|_| SrtpError::TooShort)?;
                let mut tail = [0u8; 6];
                tail[..4].copy_from_slice(&v.to_be_bytes());
                tail[4..].copy_from_slice(&seq.to_be_bytes());
                out.extend_from_slice(aad);
                out.extend_from_slice(ct);
                let nonce = gcm_iv(salt, ssrc, tail);
                let r = aead.open(&nonce, aad, out.get_mut(hlen..).unwrap_or(&mut []), tag);
                if let Err(e) = r {
                    out.clear();
                    return Err(e);
                }
            }
        }
        self.update_roc(v, seq);
        Ok(Unprotected {
            index,
            payload_start: hlen,
        })
    }

    /// Authenticates and decrypts one SRTCP packet (RFC 3711 §3.4; RFC 7714 §9 for GCM):
    /// `out` gets the compound RTCP packet in clear. SRTCP carries its own index (E flag
    /// and 31 bits), so no state is kept.
    pub fn unprotect_rtcp(
        &self,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Unprotected, SrtpError> {
        out.clear();
        if packet.first().is_none_or(|b| b >> 6 != 2) {
            return Err(SrtpError::NotRtp);
        }
        let ssrc = be32(packet, 4)?;
        let tag_len = self.suite.rtcp_tag_len();
        // ... | E || SRTCP index (4) | MKI | tag   (HMAC, RFC 3711 §3.4)
        // ... | ciphertext || tag | E || SRTCP index (4) | MKI   (AEAD, RFC 7714 §9)
        match &self.rtcp {
            Transform::Cm { cipher, auth, salt } => {
                let index_end = packet
                    .len()
                    .checked_sub(self.mki_len + tag_len)
                    .filter(|e| *e >= 12)
                    .ok_or(SrtpError::TooShort)?;
                let e_index = be32(packet, index_end - 4)?;
                let tag = packet
                    .get(packet.len() - tag_len..)
                    .ok_or(SrtpError::TooShort)?;
                let authenticated = packet.get(..index_end).ok_or(SrtpError::TooShort)?;
                let mut mac = HmacSha1::clone(auth);
                mac.update(authenticated);
                mac.verify_truncated_left(tag)
                    .map_err(|_| SrtpError::AuthFailed)?;
                let index = u64::from(e_index & 0x7fff_ffff);
                out.extend_from_slice(packet.get(..index_end - 4).ok_or(SrtpError::TooShort)?);
                if e_index & 0x8000_0000 != 0 {
                    if let Some(body) = out.get_mut(8..) {
                        cipher.apply(&cm_iv(salt, ssrc, index), body);
                    }
                }
                Ok(Unprotected {
                    index,
                    payload_start: 8,
                })
            }
            Transform::Gcm { aead, salt } => {
                let index_end = packet
                    .len()
                    .checked_sub(self.mki_len)
                    .filter(|e| *e >= 8 + 16 + 4)
                    .ok_or(SrtpError::TooShort)?;
                let e_index_b = packet
                    .get(index_end - 4..index_end)
                    .ok_or(SrtpError::TooShort)?;
                let e_index = be32(packet, index_end - 4)?;
                let index = e_index & 0x7fff_ffff;
                let sealed = packet.get(8..index_end - 4).ok_or(SrtpError::TooShort)?;
                let (body, tag) = sealed.split_at(sealed.len() - 16);
                let tag: &[u8; 16] = tag.try_into().map_err(|_| SrtpError::TooShort)?;
                let header = packet.get(..8).ok_or(SrtpError::TooShort)?;
                let mut tail = [0u8; 6];
                tail[2..].copy_from_slice(&index.to_be_bytes());
                let nonce = gcm_iv(salt, ssrc, tail);
                out.extend_from_slice(header);
                out.extend_from_slice(body);
                let r = if e_index & 0x8000_0000 != 0 {
                    // AAD: the RTCP header and sender SSRC, then E || index (§9.1).
                    let mut aad = [0u8; 12];
                    aad[..8].copy_from_slice(header);
                    aad[8..].copy_from_slice(e_index_b);
                    aead.open(&nonce, &aad, out.get_mut(8..).unwrap_or(&mut []), tag)
                } else {
                    // Unencrypted SRTCP (§9.2): all of it is AAD, the plaintext empty.
                    let mut aad = Vec::with_capacity(body.len() + 12);
                    aad.extend_from_slice(header);
                    aad.extend_from_slice(body);
                    aad.extend_from_slice(e_index_b);
                    aead.open(&nonce, &aad, &mut [], tag)
                };
                if let Err(e) = r {
                    out.clear();
                    return Err(e);
                }
                Ok(Unprotected {
                    index: u64::from(index),
                    payload_start: 8,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
