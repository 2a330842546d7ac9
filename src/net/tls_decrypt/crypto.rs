//! Key derivation (TLS 1.2 PRF, TLS 1.3 HKDF-Expand-Label) and record decryption, all on
//! RustCrypto primitives: nothing cryptographic is written here, only the TLS framing
//! around them (nonces, additional data, MAC input, padding check).

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use super::suite::{Bulk, MacAlg, Suite};

/// AEAD tag length (GCM and Poly1305 alike).
const TAG: usize = 16;
/// AES block (and TLS 1.2 CBC explicit IV) length.
const BLOCK: usize = 16;

/// P_hash of RFC 5246 §5 with HMAC-`M`, filling `out`:
/// A(0) = seed, A(i) = HMAC(secret, A(i-1)), output = HMAC(secret, A(1) ‖ seed) ‖ ...
fn p_hash<M: Mac + KeyInit + Clone>(secret: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let Ok(base) = <M as Mac>::new_from_slice(secret) else {
        return; // HMAC takes keys of any length: unreachable
    };
    let mut a = {
        let mut m = base.clone();
        for s in seed {
            m.update(s);
        }
        m.finalize().into_bytes()
    };
    for chunk in out.chunks_mut(a.len()) {
        let mut m = base.clone();
        m.update(&a);
        for s in seed {
            m.update(s);
        }
        let block = m.finalize().into_bytes();
        let n = chunk.len();
        chunk.copy_from_slice(block.get(..n).unwrap_or_default());
        let mut m = base.clone();
        m.update(&a);
        a = m.finalize().into_bytes();
    }
}

/// TLS 1.2 PRF (RFC 5246 §5): P_SHA384 for the `_SHA384` suites, else P_SHA256.
pub(crate) fn prf(sha384: bool, secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 1);
    parts.push(label);
    parts.extend_from_slice(seed);
    if sha384 {
        p_hash::<Hmac<Sha384>>(secret, &parts, out);
    } else {
        p_hash::<Hmac<Sha256>>(secret, &parts, out);
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, the only kind record keys and
/// key updates use: HKDF-Expand(secret, HkdfLabel{length, "tls13 " + label, ""}, length).
/// `None` if the secret is shorter than the hash (cannot happen with key log secrets of the
/// suite's hash length, checked by the caller).
pub(crate) fn hkdf_expand_label(
    sha384: bool,
    secret: &[u8],
    label: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let len16 = u16::try_from(len).ok()?.to_be_bytes();
    let label_len = [u8::try_from(6 + label.len()).ok()?];
    let info: [&[u8]; 5] = [&len16, &label_len, b"tls13 ", label, &[0]];
    let mut out = vec![0u8; len];
    let ok = if sha384 {
        Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand_multi_info(&info, &mut out)
            .is_ok()
    } else {
        Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand_multi_info(&info, &mut out)
            .is_ok()
    };
    ok.then_some(out)
}

/// The keyed record protection of one direction.
enum Engine {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha20(Box<ChaCha20Poly1305>),
    Cbc {
        key: Vec<u8>,
        mac_key: Vec<u8>,
        mac: MacAlg,
        /// Encrypt-then-MAC negotiated (RFC 7366).
        etm: bool,
    },
}

/// Decryption state of one direction's records under one set of keys. The sequence number
/// is kept by the caller (it advances on failures too).
pub(crate) struct RecordCipher {
    engine: Engine,
    /// TLS 1.3 and TLS 1.2 ChaCha20: the 12-byte IV XORed with the sequence number; TLS 1.2
    /// GCM: the 4-byte implicit salt in the first bytes.
    iv: [u8; 12],
    tls13: bool,
}

// Keys stay out of debug output.
impl fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.engine {
            Engine::Aes128Gcm(_) => "AES-128-GCM",
            Engine::Aes256Gcm(_) => "AES-256-GCM",
            Engine::ChaCha20(_) => "ChaCha20-Poly1305",
            Engine::Cbc { etm: true, .. } => "AES-CBC (encrypt-then-MAC)",
            Engine::Cbc { .. } => "AES-CBC",
        };
        write!(f, "RecordCipher({kind}, tls13: {})", self.tls13)
    }
}

/// One decrypted record.
pub(crate) struct Plain {
    /// Content type: the header's in TLS 1.2, the inner one in TLS 1.3.
    pub(crate) content_type: u8,
    pub(crate) data: Vec<u8>,
}

fn aead_engine(bulk: Bulk, key: &[u8]) -> Option<Engine> {
    Some(match bulk {
        Bulk::Aes128Gcm => Engine::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
        Bulk::Aes256Gcm => Engine::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
        Bulk::ChaCha20 => Engine::ChaCha20(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?)),
        Bulk::Cbc { .. } => return None,
    })
}

/// nonce = iv XOR seq, the sequence number left-padded to 12 bytes (RFC 8446 §5.3, and
/// RFC 7905 §2 for ChaCha20 in TLS 1.2).
fn xor_nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (b, s) in n.iter_mut().skip(4).zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    n
}

/// Verifies HMAC-`alg`(key, parts) against `tag` (constant time, by the hmac crate).
fn mac_ok(alg: MacAlg, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    fn check<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
        let Ok(mut m) = <M as Mac>::new_from_slice(key) else {
            return false;
        };
        for p in parts {
            m.update(p);
        }
        m.verify_slice(tag).is_ok()
    }
    match alg {
        MacAlg::Sha1 => check::<Hmac<Sha1>>(key, parts, tag),
        MacAlg::Sha256 => check::<Hmac<Sha256>>(key, parts, tag),
        MacAlg::Sha384 => check::<Hmac<Sha384>>(key, parts, tag),
    }
}

/// AES-CBC decryption of `buf` in place with `iv`, no padding removed (the TLS padding is
/// checked by the caller: it is not PKCS#7).
fn cbc_decrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> bool {
    let res = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .ok()
            .map(|d| d.decrypt_padded_mut::<NoPadding>(buf).is_ok()),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .ok()
            .map(|d| d.decrypt_padded_mut::<NoPadding>(buf).is_ok()),
        _ => None,
    };
    res.unwrap_or(false)
}

/// Length of the TLS padding (RFC 5246 §6.2.3.2: `padding_length + 1` bytes all equal to
/// `padding_length`) at the end of `dec`, leaving at least `min_rest` bytes before it; `None`
/// if malformed. Every byte of the last 256 is looked at whatever the padding length, so the
/// work does not depend on where the check fails (constant-ish: this is offline analysis,
/// not an oracle, but there is no reason to branch on secret data either).
fn tls_padding(dec: &[u8], min_rest: usize) -> Option<usize> {
    let n = dec.len();
    let pad = usize::from(*dec.last()?);
    let mut bad = u8::from(pad + 1 + min_rest > n);
    let pad_eff = if bad == 0 { pad } else { 0 };
    for (i, &b) in dec.iter().rev().take(256).enumerate() {
        let in_pad = u8::from(i <= pad_eff);
        bad |= in_pad & u8::from(b != pad_eff as u8);
    }
    (bad == 0).then_some(pad + 1)
}

impl RecordCipher {
    /// TLS 1.2 keys of one direction (from the key block, RFC 5246 §6.3): `mac_key` (CBC
    /// only), `key`, `iv` (GCM: the 4-byte salt, RFC 5288 §3; ChaCha20: 12 bytes, RFC 7905;
    /// CBC: unused, each record carries its IV).
    pub(crate) fn tls12(
        suite: &Suite,
        mac_key: &[u8],
        key: &[u8],
        iv: &[u8],
        etm: bool,
    ) -> Option<Self> {
        let engine = match suite.bulk {
            Bulk::Cbc { mac, .. } => Engine::Cbc {
                key: key.to_vec(),
                mac_key: mac_key.to_vec(),
                mac,
                etm,
            },
            bulk => aead_engine(bulk, key)?,
        };
        let mut fixed = [0u8; 12];
        for (d, s) in fixed.iter_mut().zip(iv) {
            *d = *s;
        }
        Some(RecordCipher {
            engine,
            iv: fixed,
            tls13: false,
        })
    }

    /// TLS 1.3 keys from a traffic secret (RFC 8446 §7.3): key = HKDF-Expand-Label(secret,
    /// "key", "", key_len), iv = HKDF-Expand-Label(secret, "iv", "", 12).
    pub(crate) fn tls13(suite: &Suite, secret: &[u8]) -> Option<Self> {
        if secret.len() != suite.hash_len() {
            return None;
        }
        let key = hkdf_expand_label(suite.sha384, secret, b"key", suite.key_len())?;
        let iv = hkdf_expand_label(suite.sha384, secret, b"iv", 12)?;
        Some(RecordCipher {
            engine: aead_engine(suite.bulk, &key)?,
            iv: iv.as_slice().try_into().ok()?,
            tls13: true,
        })
    }

    /// Decrypts one record (`header` is its 5 bytes, `body` the rest) with sequence number
    /// `seq`. `None` if authentication, MAC or padding fails, or the record is too short.
    pub(crate) fn decrypt(&self, seq: u64, header: &[u8; 5], body: &[u8]) -> Option<Plain> {
        let [ct, v0, v1, _, _] = *header;
        if self.tls13 {
            // RFC 8446 §5.2: AAD is the record header; the plaintext ends with the inner
            // content type followed by zero padding.
            let nonce = xor_nonce(&self.iv, seq);
            let mut data = self.aead_open(&nonce, header, body)?;
            let end = data.iter().rposition(|&b| b != 0)?;
            let content_type = *data.get(end)?;
            data.truncate(end);
            return Some(Plain { content_type, data });
        }
        // TLS 1.2: the MAC/AAD covers seq ‖ type ‖ version ‖ length (RFC 5246 §6.2.3.1-3).
        let seq_b = seq.to_be_bytes();
        match &self.engine {
            Engine::Cbc {
                key,
                mac_key,
                mac,
                etm,
            } => {
                let mac_len = mac.len();
                if *etm {
                    // RFC 7366 §3: IV ‖ ciphertext ‖ MAC, the MAC over the IV and ciphertext.
                    let (enc, tag) = body.split_at_checked(body.len().checked_sub(mac_len)?)?;
                    if enc.len() < 2 * BLOCK || enc.len() % BLOCK != 0 {
                        return None;
                    }
                    let len = u16::try_from(enc.len()).ok()?.to_be_bytes();
                    if !mac_ok(*mac, mac_key, &[&seq_b, &[ct, v0, v1], &len, enc], tag) {
                        return None;
                    }
                    let (iv, ct_bytes) = enc.split_at_checked(BLOCK)?;
                    let mut dec = ct_bytes.to_vec();
                    if !cbc_decrypt(key, iv, &mut dec) {
                        return None;
                    }
                    let pad = tls_padding(&dec, 0)?;
                    dec.truncate(dec.len() - pad);
                    Some(Plain {
                        content_type: ct,
                        data: dec,
                    })
                } else {
                    // RFC 5246 §6.2.3.2: IV ‖ E(content ‖ MAC ‖ padding ‖ padding_length).
                    let (iv, ct_bytes) = body.split_at_checked(BLOCK)?;
                    if ct_bytes.is_empty() || ct_bytes.len() % BLOCK != 0 {
                        return None;
                    }
                    let mut dec = ct_bytes.to_vec();
                    if !cbc_decrypt(key, iv, &mut dec) {
                        return None;
                    }
                    // A bad padding still gets a MAC computed (over a zero-padding reading),
                    // so both failures cost the same.
                    let pad_res = tls_padding(&dec, mac_len);
                    let pad = pad_res.unwrap_or(1).min(dec.len());
                    let rest = dec.len() - pad;
                    let content_len = rest.checked_sub(mac_len)?;
                    let (content, tag) = dec.get(..rest)?.split_at_checked(content_len)?;
                    let len = u16::try_from(content_len).ok()?.to_be_bytes();
                    let ok = mac_ok(*mac, mac_key, &[&seq_b, &[ct, v0, v1], &len, content], tag);
                    if !(ok && pad_res.is_some()) {
                        return None;
                    }
                    dec.truncate(content_len);
                    Some(Plain {
                        content_type: ct,
                        data: dec,
                    })
                }
            }
            Engine::ChaCha20(_) => {
                // RFC 7905 §2: no explicit nonce, nonce = IV XOR seq.
                let plain_len = body.len().checked_sub(TAG)?;
                let len = u16::try_from(plain_len).ok()?.to_be_bytes();
                let aad = [&seq_b[..], &[ct, v0, v1], &len].concat();
                let nonce = xor_nonce(&self.iv, seq);
                let data = self.aead_open(&nonce, &aad, body)?;
                Some(Plain {
                    content_type: ct,
                    data,
                })
            }
            Engine::Aes128Gcm(_) | Engine::Aes256Gcm(_) => {
                // RFC 5288 §3: nonce = 4-byte salt ‖ 8-byte explicit nonce from the record.
                let (explicit, sealed) = body.split_at_checked(8)?;
                let plain_len = sealed.len().checked_sub(TAG)?;
                let len = u16::try_from(plain_len).ok()?.to_be_bytes();
                let aad = [&seq_b[..], &[ct, v0, v1], &len].concat();
                let mut nonce = self.iv;
                for (d, s) in nonce.iter_mut().skip(4).zip(explicit) {
                    *d = *s;
                }
                let data = self.aead_open(&nonce, &aad, sealed)?;
                Some(Plain {
                    content_type: ct,
                    data,
                })
            }
        }
    }

    fn aead_open(&self, nonce: &[u8; 12], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg: sealed, aad };
        let nonce = nonce.into();
        match &self.engine {
            Engine::Aes128Gcm(c) => c.decrypt(nonce, payload).ok(),
            Engine::Aes256Gcm(c) => c.decrypt(nonce, payload).ok(),
            Engine::ChaCha20(c) => c.decrypt(nonce, payload).ok(),
            Engine::Cbc { .. } => None,
        }
    }
}
