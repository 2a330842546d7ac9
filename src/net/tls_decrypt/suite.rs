//! The cipher suites this module decrypts, with what each needs: record protection, PRF or
//! HKDF hash, key lengths, and whether the RSA key exchange applies.

/// Record protection of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bulk {
    /// AES-128-GCM (RFC 5288 in TLS 1.2, RFC 8446 §5.2 in TLS 1.3).
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 7905 in TLS 1.2).
    ChaCha20,
    /// AES-CBC with an HMAC (RFC 5246 §6.2.3.2), MAC-then-encrypt or, when negotiated,
    /// encrypt-then-MAC (RFC 7366).
    Cbc {
        /// AES key length: 16 or 32.
        key_len: usize,
        /// The record MAC.
        mac: MacAlg,
    },
}

/// HMAC hash of a CBC suite's record MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacAlg {
    /// HMAC-SHA1 (`_SHA` suites), 20-byte MAC and key.
    Sha1,
    /// HMAC-SHA256, 32 bytes.
    Sha256,
    /// HMAC-SHA384, 48 bytes.
    Sha384,
}

impl MacAlg {
    /// MAC (and MAC key) length in bytes (RFC 5246 Appendix C).
    pub(crate) fn len(self) -> usize {
        match self {
            MacAlg::Sha1 => 20,
            MacAlg::Sha256 => 32,
            MacAlg::Sha384 => 48,
        }
    }
}

/// One supported cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suite {
    /// IANA number.
    pub(crate) id: u16,
    /// IANA name.
    pub(crate) name: &'static str,
    /// A TLS 1.3 suite (RFC 8446 §B.4).
    pub(crate) tls13: bool,
    /// Record protection.
    pub(crate) bulk: Bulk,
    /// The PRF (TLS 1.2, RFC 5246 §5) or HKDF (TLS 1.3) hash is SHA-384; else SHA-256.
    pub(crate) sha384: bool,
    /// Key exchange is RSA (the client encrypts the pre-master secret to the server's key).
    pub(crate) rsa_kex: bool,
}

impl Suite {
    /// Record key length.
    pub(crate) fn key_len(&self) -> usize {
        match self.bulk {
            Bulk::Aes128Gcm => 16,
            Bulk::Aes256Gcm | Bulk::ChaCha20 => 32,
            Bulk::Cbc { key_len, .. } => key_len,
        }
    }

    /// Hash output length (of the key schedule hash).
    pub(crate) fn hash_len(&self) -> usize {
        if self.sha384 {
            48
        } else {
            32
        }
    }
}

const fn s(id: u16, name: &'static str, bulk: Bulk, sha384: bool, rsa_kex: bool) -> Suite {
    Suite {
        id,
        name,
        tls13: false,
        bulk,
        sha384,
        rsa_kex,
    }
}

const fn t13(id: u16, name: &'static str, bulk: Bulk, sha384: bool) -> Suite {
    Suite {
        id,
        name,
        tls13: true,
        bulk,
        sha384,
        rsa_kex: false,
    }
}

const CBC128_SHA: Bulk = Bulk::Cbc {
    key_len: 16,
    mac: MacAlg::Sha1,
};
const CBC256_SHA: Bulk = Bulk::Cbc {
    key_len: 32,
    mac: MacAlg::Sha1,
};
const CBC128_SHA256: Bulk = Bulk::Cbc {
    key_len: 16,
    mac: MacAlg::Sha256,
};
const CBC256_SHA256: Bulk = Bulk::Cbc {
    key_len: 32,
    mac: MacAlg::Sha256,
};
const CBC256_SHA384: Bulk = Bulk::Cbc {
    key_len: 32,
    mac: MacAlg::Sha384,
};

/// Every suite decrypted. Anything else (CCM, NULL, export, RC4, 3DES, Camellia, ARIA,
/// PSK...) is reported unsupported.
const SUITES: &[Suite] = &[
    // TLS 1.3, RFC 8446 §B.4.
    t13(0x1301, "TLS_AES_128_GCM_SHA256", Bulk::Aes128Gcm, false),
    t13(0x1302, "TLS_AES_256_GCM_SHA384", Bulk::Aes256Gcm, true),
    t13(
        0x1303,
        "TLS_CHACHA20_POLY1305_SHA256",
        Bulk::ChaCha20,
        false,
    ),
    // TLS 1.2 AES-GCM, RFC 5288 and RFC 5289.
    s(
        0x009c,
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        Bulk::Aes128Gcm,
        false,
        true,
    ),
    s(
        0x009d,
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        Bulk::Aes256Gcm,
        true,
        true,
    ),
    s(
        0x009e,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        Bulk::Aes128Gcm,
        false,
        false,
    ),
    s(
        0x009f,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        Bulk::Aes256Gcm,
        true,
        false,
    ),
    s(
        0xc02b,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Bulk::Aes128Gcm,
        false,
        false,
    ),
    s(
        0xc02c,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Bulk::Aes256Gcm,
        true,
        false,
    ),
    s(
        0xc02f,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Bulk::Aes128Gcm,
        false,
        false,
    ),
    s(
        0xc030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Bulk::Aes256Gcm,
        true,
        false,
    ),
    // TLS 1.2 ChaCha20-Poly1305, RFC 7905.
    s(
        0xcca8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Bulk::ChaCha20,
        false,
        false,
    ),
    s(
        0xcca9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Bulk::ChaCha20,
        false,
        false,
    ),
    s(
        0xccaa,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Bulk::ChaCha20,
        false,
        false,
    ),
    // TLS 1.2 AES-CBC, RFC 5246 Appendix C, RFC 4492/8422, RFC 5289.
    s(
        0x002f,
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        CBC128_SHA,
        false,
        true,
    ),
    s(
        0x0035,
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        CBC256_SHA,
        false,
        true,
    ),
    s(
        0x003c,
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
        CBC128_SHA256,
        false,
        true,
    ),
    s(
        0x003d,
        "TLS_RSA_WITH_AES_256_CBC_SHA256",
        CBC256_SHA256,
        false,
        true,
    ),
    s(
        0x0033,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        CBC128_SHA,
        false,
        false,
    ),
    s(
        0x0039,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        CBC256_SHA,
        false,
        false,
    ),
    s(
        0x0067,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        CBC128_SHA256,
        false,
        false,
    ),
    s(
        0x006b,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        CBC256_SHA256,
        false,
        false,
    ),
    s(
        0xc009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        CBC128_SHA,
        false,
        false,
    ),
    s(
        0xc00a,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        CBC256_SHA,
        false,
        false,
    ),
    s(
        0xc013,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        CBC128_SHA,
        false,
        false,
    ),
    s(
        0xc014,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        CBC256_SHA,
        false,
        false,
    ),
    s(
        0xc023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        CBC128_SHA256,
        false,
        false,
    ),
    s(
        0xc024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        CBC256_SHA384,
        true,
        false,
    ),
    s(
        0xc027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        CBC128_SHA256,
        false,
        false,
    ),
    s(
        0xc028,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        CBC256_SHA384,
        true,
        false,
    ),
];

/// The suite with this IANA number, if supported.
pub(crate) fn find(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// IANA name of a cipher suite this module knows (for the report), e.g.
/// "TLS_AES_128_GCM_SHA256". `None` for a suite it cannot decrypt.
pub fn suite_name(id: u16) -> Option<&'static str> {
    find(id).map(|s| s.name)
}
