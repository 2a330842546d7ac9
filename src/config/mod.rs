//! The TOML configuration file (`siplens report --config FILE.toml`): rule thresholds,
//! extra scanner signatures and TLS ports.
//!
//! Every key is optional: a missing key keeps its default, an unknown key is an error
//! (so that a typo does not silently keep a default). `siplens config --default` prints
//! [`Config::default_toml`], the defaults as commented TOML.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

/// Longest scanner pattern accepted: User-Agents are matched in a 256-byte stack buffer
/// and real tool names are short.
pub const MAX_PATTERN_LEN: usize = 64;
/// Most signatures a config may add (every request's User-Agent is checked against all).
pub const MAX_SIGNATURES: usize = 256;

/// Default `[bruteforce] threshold` (also `rules::auth::DEFAULT_BRUTEFORCE_THRESHOLD`).
pub const DEFAULT_BRUTEFORCE_THRESHOLD: u64 = 10;

/// The whole configuration. `Config::default()` is what siplens uses without a file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `auth.bruteforce` threshold.
    pub bruteforce: BruteforceConfig,
    /// `scan.sweep` threshold and window.
    pub sweep: SweepConfig,
    /// `scan.enumeration` threshold and window.
    pub enumeration: EnumerationConfig,
    /// `dos.flood` threshold and window.
    pub flood: FloodConfig,
    /// `fraud.toll` threshold and window.
    pub toll: TollConfig,
    /// `scan.user-agent` signatures.
    pub scanners: ScannersConfig,
    /// TLS recognition.
    pub tls: TlsConfig,
    /// `media.quality` threshold.
    pub quality: QualityConfig,
}

/// Default `[quality] mos_threshold`: G.107 Annex B maps R = 70, the lower edge of
/// G.109's "medium" category (some users dissatisfied), to MOS 3.6.
pub const DEFAULT_MOS_THRESHOLD: f64 = 3.6;

/// `[quality]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualityConfig {
    /// `media.quality` fires for a speech stream whose estimated MOS is below this
    /// (1.0 to 4.5).
    #[serde(deserialize_with = "mos_value")]
    pub mos_threshold: f64,
    /// Streams with fewer packets are not judged (a second of 20 ms packets is 50).
    #[serde(deserialize_with = "at_least_one")]
    pub min_packets: u64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            mos_threshold: DEFAULT_MOS_THRESHOLD,
            min_packets: 50,
        }
    }
}

fn mos_value<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(1.0..=4.5).contains(&v) {
        return Err(serde::de::Error::custom("must be between 1.0 and 4.5"));
    }
    Ok(v)
}

/// `[bruteforce]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BruteforceConfig {
    /// Failed credential attempts (401/407 again, or 403) from one source address that
    /// make an `auth.bruteforce` finding (default 10). `--bruteforce-threshold` overrides it.
    #[serde(deserialize_with = "at_least_one")]
    pub threshold: u64,
}

impl Default for BruteforceConfig {
    fn default() -> Self {
        BruteforceConfig {
            threshold: DEFAULT_BRUTEFORCE_THRESHOLD,
        }
    }
}

/// `[sweep]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepConfig {
    /// Distinct destinations (IP:port) one source must send requests to (default 10).
    #[serde(deserialize_with = "at_least_one")]
    pub targets: u64,
    /// Within this many seconds (default 60).
    #[serde(deserialize_with = "at_least_one")]
    pub window_secs: u64,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            targets: 10,
            window_secs: 60,
        }
    }
}

/// `[enumeration]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnumerationConfig {
    /// Distinct user names one source must try that only draw 404/403/401/407/480/484
    /// (default 10).
    #[serde(deserialize_with = "at_least_one")]
    pub users: u64,
    /// Within this many seconds (default 60).
    #[serde(deserialize_with = "at_least_one")]
    pub window_secs: u64,
}

impl Default for EnumerationConfig {
    fn default() -> Self {
        EnumerationConfig {
            users: 10,
            window_secs: 60,
        }
    }
}

/// `[flood]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloodConfig {
    /// Requests (retransmissions excluded) from one source address (default 200)...
    #[serde(deserialize_with = "at_least_one")]
    pub requests: u64,
    /// ...within this many milliseconds (default 1000).
    #[serde(deserialize_with = "at_least_one")]
    pub window_ms: u64,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig {
            requests: 200,
            window_ms: 1000,
        }
    }
}

/// `[toll]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TollConfig {
    /// Failed calls to international-looking numbers from one source (default 5)...
    #[serde(deserialize_with = "at_least_one")]
    pub attempts: u64,
    /// ...within this many seconds (default 60).
    #[serde(deserialize_with = "at_least_one")]
    pub window_secs: u64,
}

impl Default for TollConfig {
    fn default() -> Self {
        TollConfig {
            attempts: 5,
            window_secs: 60,
        }
    }
}

/// `[scanners]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScannersConfig {
    /// Signatures added after the built-in table (first match wins).
    #[serde(deserialize_with = "signature_list")]
    pub signatures: Vec<SignatureConfig>,
    /// Use only `signatures`, not the built-in table (default false).
    pub replace_builtin: bool,
}

/// One `{ pattern = "...", tool = "..." }` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureConfig {
    /// Case-insensitive substring of the User-Agent (1 to [`MAX_PATTERN_LEN`] bytes, no
    /// control characters); patterns of 4 characters or fewer match whole words only.
    #[serde(deserialize_with = "pattern")]
    pub pattern: String,
    /// Tool name shown in the finding.
    pub tool: String,
}

/// `[tls]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// TCP ports whose traffic is taken for SIP over TLS (default [5061], RFC 3261 §26.2).
    pub sip_ports: Vec<u16>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            sip_ports: vec![5061],
        }
    }
}

fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v == 0 {
        return Err(serde::de::Error::custom("must be at least 1"));
    }
    Ok(v)
}

fn pattern<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() || s.len() > MAX_PATTERN_LEN {
        return Err(serde::de::Error::custom(format!(
            "pattern must be 1 to {MAX_PATTERN_LEN} bytes long"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(serde::de::Error::custom(
            "pattern must not contain control characters",
        ));
    }
    Ok(s)
}

fn signature_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SignatureConfig>, D::Error> {
    let v = Vec::<SignatureConfig>::deserialize(d)?;
    if v.len() > MAX_SIGNATURES {
        return Err(serde::de::Error::custom(format!(
            "at most {MAX_SIGNATURES} signatures"
        )));
    }
    Ok(v)
}

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the config file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key or value is wrong.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending text (0 when the parser gave no position).
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses TOML text; `path` only names the origin in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_column(text, s.start))
                .unwrap_or((0, 0));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })
    }

    /// The default configuration as commented TOML (what `siplens config --default`
    /// prints). Parsing it gives `Config::default()`.
    pub fn default_toml() -> String {
        let d = Config::default();
        format!(
            r#"# siplens configuration (TOML). Use it with `siplens report --config FILE.toml`.
# Every key is optional: a missing key keeps the default shown here; an unknown key
# is an error. Windows are sliding and measured in packet time.

[bruteforce]
# auth.bruteforce: failed credential attempts (401/407 again, or 403) from one
# source address. The --bruteforce-threshold flag overrides it.
threshold = {bf}

[sweep]
# scan.sweep: one source sends requests to at least `targets` distinct destinations
# (IP:port) within `window_secs`. Destinations that sent requests to that source
# first (phones registered to a proxy) are not counted.
targets = {st}
window_secs = {sw}

[enumeration]
# scan.enumeration: one source tries at least `users` distinct user names (To or
# Request-URI user) within `window_secs`, each drawing only 404/403/401/407/480/484
# and never a 2xx, and those are at least half of the users it tried.
users = {eu}
window_secs = {ew}

[flood]
# dos.flood: at least `requests` requests (retransmissions excluded) from one source
# within `window_ms` milliseconds.
requests = {fr}
window_ms = {fw}

[toll]
# fraud.toll: at least `attempts` INVITEs from one source to international-looking
# numbers ('+' and 8+ digits, or 00 / 011 and 7+ digits, optionally after one
# outside-line digit) that fail (a final non-2xx answer) within `window_secs`.
attempts = {ta}
window_secs = {tw}

[scanners]
# scan.user-agent: extra signatures, checked after the built-in table. `pattern` is a
# case-insensitive substring of the User-Agent (1 to {maxp} bytes); patterns of 4
# characters or fewer match whole words only.
# signatures = [{{ pattern = "my-scanner", tool = "My scanner" }}]
signatures = []
# true: use only the signatures above, not the built-in table.
replace_builtin = {rb}

[tls]
# TCP ports whose traffic is taken for SIP over TLS (RFC 3261 §26.2: 5061).
sip_ports = [{tp}]

[quality]
# media.quality: a speech stream whose estimated MOS (ITU-T G.107 E-model) is below
# `mos_threshold` (1.0 to 4.5; 3.6 is R = 70). Streams with fewer than `min_packets`
# packets are not judged.
mos_threshold = {qm:?}
min_packets = {qp}
"#,
            bf = d.bruteforce.threshold,
            st = d.sweep.targets,
            sw = d.sweep.window_secs,
            eu = d.enumeration.users,
            ew = d.enumeration.window_secs,
            fr = d.flood.requests,
            fw = d.flood.window_ms,
            ta = d.toll.attempts,
            tw = d.toll.window_secs,
            maxp = MAX_PATTERN_LEN,
            rb = d.scanners.replace_builtin,
            qm = d.quality.mos_threshold,
            qp = d.quality.min_packets,
            tp = d
                .tls
                .sip_ports
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config, ConfigError> {
        Config::parse(s, Path::new("test.toml"))
    }

    #[test]
    fn default_toml_parses_back_to_default() {
        let text = Config::default_toml();
        assert_eq!(parse(&text).expect("default parses"), Config::default());
        assert_eq!(parse("").expect("empty parses"), Config::default());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = parse(
            "[sweep]\ntargets = 50\n[scanners]\nsignatures = [{ pattern = \"evil\", tool = \"Evil\" }]\n",
        )
        .expect("parses");
        assert_eq!(c.sweep.targets, 50);
        assert_eq!(c.sweep.window_secs, 60);
        assert_eq!(c.flood, FloodConfig::default());
        assert_eq!(c.scanners.signatures.len(), 1);
        assert_eq!(c.scanners.signatures[0].tool, "Evil");
        assert!(!c.scanners.replace_builtin);
        assert_eq!(c.tls.sip_ports, vec![5061]);
    }

    #[test]
    fn unknown_key_names_file_line_and_column() {
        let e = parse("[sweep]\ntargets = 5\ntargetz = 6\n").expect_err("unknown key");
        let ConfigError::Parse {
            line,
            column,
            ref message,
            ..
        } = e
        else {
            panic!("{e:?}");
        };
        assert_eq!((line, column), (3, 1), "{message}");
        assert!(message.contains("targetz"), "{message}");
        let shown = e.to_string();
        assert!(shown.starts_with("test.toml:3:1: "), "{shown}");
        let e = parse("[sweeps]\n").expect_err("unknown table");
        assert!(e.to_string().contains("sweeps"), "{e}");
    }

    #[test]
    fn bad_values_are_errors_with_position() {
        let e = parse("[flood]\nrequests = 0\n").expect_err("zero");
        assert!(e.to_string().starts_with("test.toml:2:12: "), "{e}");
        assert!(e.to_string().contains("at least 1"), "{e}");
        let e = parse("[toll]\nattempts = \"five\"\n").expect_err("type");
        assert!(e.to_string().starts_with("test.toml:2:"), "{e}");
        let e = parse("[scanners]\nsignatures = [{ pattern = \"\", tool = \"x\" }]\n")
            .expect_err("empty pattern");
        assert!(e.to_string().contains("pattern"), "{e}");
        let e = parse("[scanners]\nsignatures = [{ pattern = \"x\" }]\n").expect_err("no tool");
        assert!(e.to_string().contains("tool"), "{e}");
        let e = parse("[tls]\nsip_ports = [70000]\n").expect_err("port range");
        assert!(e.to_string().starts_with("test.toml:2:"), "{e}");
        let e = parse("[sweep\n").expect_err("syntax");
        assert!(e.to_string().starts_with("test.toml:1:"), "{e}");
    }

    #[test]
    fn load_names_a_missing_file() {
        let e = Config::load(Path::new("/nonexistent/siplens.toml")).expect_err("missing");
        assert!(e.to_string().contains("/nonexistent/siplens.toml"), "{e}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé=x", 7), (2, 4));
        assert_eq!(line_column("", 5), (1, 1));
    }
}
