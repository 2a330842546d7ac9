//! SIP-over-TLS rules: `transport.tls` (what each session negotiated) and
//! `transport.tls-weak` (what is weak about it), from the handshake that
//! [`TlsTracker`](crate::tls::TlsTracker) keeps. The SIP messages inside are encrypted and not
//! analysed.

use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherSuite};

use crate::engine::{Finding, RuleId, Severity};
use crate::model::time::format_utc;
use crate::tls::{version, version_name, CertState, TlsSession};

/// `transport.tls`: one SIP-over-TLS session: version, cipher suite, SNI, certificate (info).
pub const TLS: RuleId = RuleId("transport.tls");
/// `transport.tls-weak`: a SIP-over-TLS session with a weak version, cipher suite or
/// certificate (medium).
pub const TLS_WEAK: RuleId = RuleId("transport.tls-weak");

pub use crate::tls::DEFAULT_SIP_TLS_PORTS;

/// The ALPN protocol id for SIP (IANA ALPN registry).
pub const ALPN_SIP: &str = "sip";

/// Whether the session carries SIP: a SIP-TLS port on either side, or ALPN "sip".
pub fn is_sip(s: &TlsSession, ports: &[u16]) -> bool {
    ports.contains(&s.server.port())
        || ports.contains(&s.client.port())
        || s.client_hello
            .as_ref()
            .is_some_and(|c| c.alpn.iter().any(|a| a == ALPN_SIP))
        || s.server_hello
            .as_ref()
            .is_some_and(|h| h.alpn.as_deref() == Some(ALPN_SIP))
}

/// Why a cipher suite is weak (empty when it is not, or is unknown): EXPORT, NULL, anon,
/// RC4, DES, 3DES, and non-AEAD (CBC) modes (RFC 7525 §4.2 recommends AEAD suites only).
pub fn cipher_weaknesses(id: u16) -> Vec<&'static str> {
    let Some(c) = TlsCipherSuite::from_id(id) else {
        return Vec::new();
    };
    let mut w = Vec::new();
    if c.name.contains("EXPORT") {
        w.push("EXPORT cipher suite");
    }
    if c.enc == TlsCipherEnc::Null {
        w.push("NULL encryption");
    }
    if c.au == TlsCipherAu::Null && c.kx != TlsCipherKx::Tls13 || c.name.contains("anon") {
        w.push("anonymous key exchange (no server authentication)");
    }
    match c.enc {
        TlsCipherEnc::Rc4 => w.push("RC4 cipher"),
        TlsCipherEnc::Des => w.push("DES cipher"),
        TlsCipherEnc::TripleDes => w.push("3DES cipher"),
        _ => {}
    }
    if c.enc_mode == TlsCipherEncMode::Cbc {
        w.push("CBC (non-AEAD) cipher suite");
    }
    w
}

fn date(secs: i64) -> String {
    let s = format_utc(secs as f64);
    s.get(..10).map(str::to_string).unwrap_or(s)
}

/// Every weakness of a session, in a fixed order: version, cipher suite, certificate.
pub fn weaknesses(s: &TlsSession) -> Vec<String> {
    let mut w: Vec<String> = Vec::new();
    if let Some(h) = &s.server_hello {
        if h.version < version::TLS12 {
            w.push(format!("{} (below TLS 1.2)", version_name(h.version)));
        }
        w.extend(cipher_weaknesses(h.cipher).into_iter().map(String::from));
    }
    if let CertState::Parsed(c) = &s.cert {
        let now = i64::try_from(c.seen.secs()).unwrap_or(i64::MAX);
        if now > c.not_after {
            w.push(format!("certificate expired on {}", date(c.not_after)));
        }
        if now < c.not_before {
            w.push(format!(
                "certificate not valid before {}",
                date(c.not_before)
            ));
        }
        if c.self_signed {
            w.push("self-signed certificate".into());
        }
        if c.key_type == "RSA" && c.key_bits > 0 && c.key_bits < 2048 {
            w.push(format!("RSA key of {} bits (< 2048)", c.key_bits));
        }
        let sig = c.signature.to_ascii_lowercase();
        if sig.contains("md5") {
            w.push(format!("MD5 certificate signature ({})", c.signature));
        } else if sig.contains("sha1") || sig.contains("sha-1") {
            w.push(format!("SHA-1 certificate signature ({})", c.signature));
        }
    }
    w
}

/// One-line description of a session: version, suite, SNI, certificate.
pub fn describe(s: &TlsSession) -> String {
    let mut parts: Vec<String> = Vec::new();
    match &s.server_hello {
        Some(h) => {
            parts.push(version_name(h.version));
            parts.push(
                h.cipher_name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("cipher 0x{:04x}", h.cipher)),
            );
        }
        None => parts.push("no ServerHello seen".into()),
    }
    if let Some(c) = &s.client_hello {
        if let Some(sni) = &c.sni {
            parts.push(format!("SNI {sni}"));
        }
    }
    match &s.cert {
        CertState::Parsed(c) => parts.push(format!(
            "certificate subject \"{}\" issuer \"{}\" valid {}..{} {} {} bits, {}",
            c.subject,
            c.issuer,
            date(c.not_before),
            date(c.not_after),
            c.key_type,
            c.key_bits,
            c.signature
        )),
        CertState::Encrypted => parts.push("certificate encrypted (TLS 1.3)".into()),
        CertState::Empty => parts.push("empty certificate chain".into()),
        CertState::Unparsable { .. } => parts.push("certificate did not parse".into()),
        CertState::NotSeen => parts.push("certificate not seen".into()),
    }
    parts.join(", ")
}

/// `transport.tls` for every SIP-over-TLS session with a parsed ClientHello or ServerHello,
/// and `transport.tls-weak` when it has weaknesses.
pub fn findings(s: &TlsSession, ports: &[u16]) -> Vec<Finding> {
    if !is_sip(s, ports) || (s.client_hello.is_none() && s.server_hello.is_none()) {
        return Vec::new();
    }
    let what = describe(s);
    let (inside, advice) = if s.sip_decrypted > 0 {
        (
            format!(
                "decrypted with the keys given: {} SIP messages analysed",
                s.sip_decrypted
            ),
            "Informational: the SIP messages of this hop are encrypted on the wire; siplens \
             read them with the keys given (--tls-keylog, --tls-key or the capture's own).",
        )
    } else {
        (
            "SIP inside not visible".to_string(),
            "Informational: the SIP messages of this hop are encrypted; siplens analyses \
             its handshake only (give the session keys with --tls-keylog to read them).",
        )
    };
    let mut out = vec![Finding::new(TLS, Severity::Info, s.first_ts)
        .flow(s.client, s.server)
        .summary(format!(
            "SIP over TLS {} -> {}: {what}; {} encrypted records ({inside})",
            s.client,
            s.server,
            s.app_records.iter().sum::<u64>()
        ))
        .evidence(s.evidence.clone())
        .advice(advice)];
    let weak = weaknesses(s);
    if !weak.is_empty() {
        out.push(
            Finding::new(TLS_WEAK, Severity::Medium, s.first_ts)
                .flow(s.client, s.server)
                .summary(format!(
                    "weak SIP over TLS {} -> {}: {}",
                    s.client,
                    s.server,
                    weak.join("; ")
                ))
                .evidence(s.evidence.clone())
                .advice(
                    "Offer TLS 1.2 or 1.3 only with AEAD cipher suites (RFC 7525), and serve \
                     a currently valid certificate from a trusted CA with an RSA key of at \
                     least 2048 bits (or ECDSA) signed with SHA-256 or better.",
                ),
        );
    }
    out
}

/// Most findings kept from TLS sessions that left the tracker; more are counted in
/// [`TlsRule::findings_dropped`].
pub const MAX_RETIRED_FINDINGS: usize = 65_536;

/// The SIP-over-TLS rule (`transport.tls`, `transport.tls-weak`): concludes on each
/// session when it leaves the tracker (kept, bounded) and on those still tracked.
#[derive(Debug)]
pub struct TlsRule {
    ports: Vec<u16>,
    retired: Vec<Finding>,
    max_retired: usize,
    findings_dropped: u64,
}

impl Default for TlsRule {
    fn default() -> Self {
        TlsRule {
            ports: DEFAULT_SIP_TLS_PORTS.to_vec(),
            retired: Vec::new(),
            max_retired: MAX_RETIRED_FINDINGS,
            findings_dropped: 0,
        }
    }
}

impl TlsRule {
    /// The TLS rule keeping at most `limits.tls_retired_findings` findings of ended
    /// sessions.
    pub fn new(limits: &crate::engine::limits::RuleLimits) -> Self {
        TlsRule {
            max_retired: limits.tls_retired_findings,
            ..TlsRule::default()
        }
    }

    /// Findings of ended sessions not kept because of `RuleLimits::tls_retired_findings`
    /// (default [`MAX_RETIRED_FINDINGS`]).
    pub fn findings_dropped(&self) -> u64 {
        self.findings_dropped
    }
}

impl crate::engine::Rule for TlsRule {
    fn name(&self) -> &'static str {
        "tls"
    }

    fn configure(&mut self, config: &crate::config::Config) {
        // The same setting the engine gives its tracker (`[tls] sip_ports`).
        self.ports = config.tls.sip_ports.clone();
    }

    fn on_tls_session_end(&mut self, s: &TlsSession, stats: &mut crate::engine::EngineStats) {
        for f in findings(s, &self.ports) {
            if self.retired.len() < self.max_retired {
                self.retired.push(f);
            } else {
                self.findings_dropped += 1;
            }
        }
        stats.tls_findings_dropped = self.findings_dropped;
    }

    fn finish(&self, an: &crate::engine::Analyzer, out: &mut Vec<Finding>) {
        out.extend(self.retired.iter().cloned());
        let t = an.tls();
        for s in t.sessions() {
            out.extend(findings(s, t.sip_tls_ports()));
        }
    }
}
