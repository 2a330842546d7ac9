//! `--tls-keylog` and `--tls-key`: the secrets that open SIP over TLS (see
//! [`siplens::net::tls_decrypt`]) and DTLS-SRTP media (see [`siplens::engine::dtls`]);
//! `--srtp-key`: SRTP master keys the capture does not carry.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use siplens::engine::srtp::UserKey;
use siplens::net::tls_decrypt::KeyLog;

/// Largest key log or key file read: a key log line is ~180 bytes, so 256 MiB is over a
/// million sessions; a larger file is more likely a wrong path than a key log.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// TLS decryption options, shared by `report`, `tui` and `siplens FILE`.
#[derive(Args, Debug, Default)]
pub struct TlsArgs {
    /// Decrypt SIP over TLS with this key log (SSLKEYLOGFILE).
    ///
    /// The NSS key log format: CLIENT_RANDOM lines for TLS 1.2, traffic secrets for TLS
    /// 1.3. Repeat for several files. Keys in a pcapng Decryption Secrets Block (`editcap --inject-secrets`) are used
    /// without this option.
    #[arg(long, value_name = "FILE")]
    pub tls_keylog: Vec<PathBuf>,
    /// Decrypt TLS 1.2 RSA key exchange with this server key (PEM).
    ///
    /// PKCS#1 or PKCS#8, unencrypted. Repeat for several servers.
    #[arg(long, value_name = "KEY.pem", hide_short_help = true)]
    pub tls_key: Vec<PathBuf>,
    /// Decrypt SRTP with this master key: SUITE:BASE64_KEY[@ADDR:PORT].
    ///
    /// SUITE as SDES names it (AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32,
    /// AES_256_CM_HMAC_SHA1_80/32, AEAD_AES_128_GCM, AEAD_AES_256_GCM), BASE64_KEY the master
    /// key and salt as an a=crypto inline: value. With @ADDR:PORT ([v6]:PORT) it is tried on
    /// the streams from or to that address, signalled or not; without, on every SRTP stream
    /// the capture gives no key for and every stream no SDP announced. Repeatable.
    #[arg(long, value_name = "SPEC", hide_short_help = true, value_parser = parse_srtp_key)]
    pub srtp_key: Vec<UserKey>,
}

/// A `--srtp-key` SPEC (see [`UserKey::parse`]); clap prints the error and exits 2.
fn parse_srtp_key(spec: &str) -> Result<UserKey, String> {
    UserKey::parse(spec).map_err(|e| e.to_string())
}

fn read_bounded(path: &Path, what: &str) -> Result<Vec<u8>, ExitCode> {
    let fail = |msg: String| {
        eprintln!("siplens: error: {what} {}: {msg}", path.display());
        ExitCode::from(2)
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(format!(
            "{} bytes, more than the {} MiB a key file may have",
            meta.len(),
            MAX_FILE_BYTES >> 20
        )));
    }
    std::fs::read(path).map_err(|e| fail(e.to_string()))
}

impl TlsArgs {
    /// Reads every key log and key file given; the first that cannot be read or parsed
    /// stops the run (exit 2) with the file and line named.
    pub fn load(&self) -> Result<KeyLog, ExitCode> {
        let mut keys = KeyLog::new();
        for path in &self.tls_keylog {
            let text = read_bounded(path, "--tls-keylog")?;
            let name = path.display().to_string();
            match keys.add_nss(&text, &name) {
                Ok(0) => {
                    eprintln!(
                        "siplens: warning: --tls-keylog {name}: no CLIENT_RANDOM or TLS 1.3 \
                         traffic secret line in it"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("siplens: error: --tls-keylog {e}");
                    return Err(ExitCode::from(2));
                }
            }
        }
        for path in &self.tls_key {
            let bytes = read_bounded(path, "--tls-key")?;
            let name = path.display().to_string();
            let Ok(pem) = String::from_utf8(bytes) else {
                eprintln!("siplens: error: --tls-key {name}: not a PEM file (not text)");
                return Err(ExitCode::from(2));
            };
            if let Err(e) = keys.add_rsa_pem(&pem, &name) {
                eprintln!("siplens: error: --tls-key {e}");
                return Err(ExitCode::from(2));
            }
        }
        Ok(keys)
    }
}
