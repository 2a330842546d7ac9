//! The TLS 1.2 keying material exporter (RFC 5705 §4) over a key log's master secret, the
//! way DTLS-SRTP keys its media (RFC 5764 §4.2): the SRTP master keys and salts are not on
//! the wire, both DTLS peers compute them with the label `EXTRACTOR-dtls_srtp`.

use super::crypto::prf;
use super::suite;
use super::KeyLog;

/// The exporter label of DTLS-SRTP (RFC 5764 §4.2).
pub const DTLS_SRTP_LABEL: &[u8] = b"EXTRACTOR-dtls_srtp";

/// Why no keying material was exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The key log has no `CLIENT_RANDOM` line (TLS 1.2 master secret) for this client random.
    #[error("no CLIENT_RANDOM line for this session in the key log")]
    NoSecret,
    /// The cipher suite is not one whose PRF hash is known here (the PRF is that of the
    /// negotiated suite, RFC 5246 §5), so the exporter cannot be computed.
    #[error("cipher suite {0:#06x}: PRF hash not known")]
    UnknownSuite(u16),
}

/// Fills `out` with the exporter output of a TLS 1.2 / DTLS 1.2 session (RFC 5705 §4, no
/// context): `PRF(master_secret, label, client_random || server_random)`, the PRF being
/// that of `cipher_suite` (P_SHA384 for the `_SHA384` suites, else P_SHA256). The master
/// secret is the key log's `CLIENT_RANDOM` line for `client_random`.
pub fn export_keying_material(
    keys: &KeyLog,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    cipher_suite: u16,
    label: &[u8],
    out: &mut [u8],
) -> Result<(), ExportError> {
    let suite = suite::find(cipher_suite).ok_or(ExportError::UnknownSuite(cipher_suite))?;
    if suite.tls13 {
        // A TLS 1.3 suite in a 1.2 handshake is a protocol error: not this exporter.
        return Err(ExportError::UnknownSuite(cipher_suite));
    }
    let master = keys
        .lookup(client_random)
        .and_then(|s| s.master)
        .ok_or(ExportError::NoSecret)?;
    prf(
        suite.sha384,
        master.get(),
        label,
        &[client_random, server_random],
        out,
    );
    Ok(())
}
