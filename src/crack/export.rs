//! Export of Digest responses for hashcat (mode 11400, "SIP digest authentication (MD5)")
//! and John the Ripper (jumbo `SIP` format, the line `sipdump` writes).
//!
//! Both read the same 15-field line
//! `$sip$*server*client*user*realm*method*uri_prefix*uri_resource*uri_suffix*nonce*cnonce*nc*qop*MD5*response`
//! and rebuild the digest-uri as `prefix:resource[:suffix]` (hashcat's `module_11400.c`,
//! John's `sip_fmt_plug.c`). Both hash plain MD5 only: no `-sess` HA1, no SHA-2, and an
//! `auth-int` HA2 is computed without the body, so such responses are not exported.

use super::{Algorithm, DigestTarget, Qop};

/// Output flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// hashcat `-m 11400`: the bare `$sip$*...` line.
    Hashcat,
    /// John the Ripper `--format=sip`: `user:$sip$*...` (the login before the hash).
    John,
}

/// Why a response cannot be written in the `$sip$` format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportSkip {
    /// hashcat and John compute plain MD5 only.
    #[error("algorithm {0}: hashcat and John support MD5 only")]
    Algorithm(String),
    /// hashcat and John ignore the body of an auth-int response.
    #[error("qop=auth-int: hashcat and John do not hash the body")]
    AuthInt,
    /// A field holds `*`, the format's separator.
    #[error("the {0} contains '*', the $sip$ field separator")]
    Separator(&'static str),
    /// The digest-uri has no `scheme:rest` shape to split into the format's uri fields.
    #[error("digest-uri {0:?} cannot be split into prefix:resource[:suffix]")]
    Uri(String),
    /// Longer than hashcat's buffers (user+realm 117 octets, method:uri 255, nonce 1024).
    #[error("field lengths exceed hashcat's limits")]
    TooLong,
}

/// Splits a digest-uri into the format's prefix, resource and suffix so that
/// `prefix:resource[:suffix]` gives it back exactly (as sipdump does: `sip`,
/// `192.0.2.1`, `5060`).
fn split_uri(uri: &str) -> Option<(&str, &str, &str)> {
    let (prefix, rest) = uri.split_once(':')?;
    let (resource, suffix) = match rest.rsplit_once(':') {
        Some((r, s)) if !s.is_empty() && !r.is_empty() => (r, s),
        _ => (rest, ""),
    };
    // An empty resource, or one ending the uri with ':', would not round-trip.
    if prefix.is_empty() || resource.is_empty() || (suffix.is_empty() && rest.ends_with(':')) {
        return None;
    }
    Some((prefix, resource, suffix))
}

/// The export line for one response; `server` and `client` are informational (the
/// addresses of the registrar and the user agent).
pub fn line(
    t: &DigestTarget,
    server: &str,
    client: &str,
    format: Format,
) -> Result<String, ExportSkip> {
    if t.algorithm != Algorithm::Md5 {
        return Err(ExportSkip::Algorithm(t.algorithm.as_str().to_string()));
    }
    if t.qop == Qop::AuthInt {
        return Err(ExportSkip::AuthInt);
    }
    let fields: [(&'static str, &str); 10] = [
        ("server address", server),
        ("client address", client),
        ("username", &t.user),
        ("realm", &t.realm),
        ("method", &t.method),
        ("uri", &t.uri),
        ("nonce", &t.nonce),
        ("cnonce", &t.cnonce),
        ("nonce count", &t.nc),
        ("response", &t.response),
    ];
    if let Some((name, _)) = fields.iter().find(|(_, v)| v.contains('*')) {
        return Err(ExportSkip::Separator(name));
    }
    let (prefix, resource, suffix) =
        split_uri(&t.uri).ok_or_else(|| ExportSkip::Uri(t.uri.clone()))?;
    // hashcat's module_11400 limits (its salt and esalt buffers).
    if t.user.len() + t.realm.len() + 2 > 119
        || t.method.len() + t.uri.len() + 1 >= 256
        || t.nonce.is_empty()
        || t.nonce.len() + t.cnonce.len() + t.nc.len() + 48 > 1024
        || server.len() > 512
        || client.len() > 512
    {
        return Err(ExportSkip::TooLong);
    }
    let hash = format!(
        "$sip$*{server}*{client}*{}*{}*{}*{prefix}*{resource}*{suffix}*{}*{}*{}*{}*MD5*{}",
        t.user,
        t.realm,
        t.method,
        t.nonce,
        t.cnonce,
        t.nc,
        t.qop.as_str(),
        t.response.to_ascii_lowercase()
    );
    Ok(match format {
        Format::Hashcat => hash,
        // John splits `login:hash` at the first ':'; a user with one goes without login.
        Format::John if t.user.contains(':') || t.user.is_empty() => hash,
        Format::John => format!("{}:{hash}", t.user),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_split_round_trips() {
        for uri in [
            "sip:127.0.0.1:5060",
            "sip:192.168.1.104",
            "sips:10.0.1.20:5061",
            "sip:alice@[2001:db8::1]:5060",
            "sip:bob@example.com;transport=tcp",
        ] {
            let (p, r, s) = split_uri(uri).expect(uri);
            let back = if s.is_empty() {
                format!("{p}:{r}")
            } else {
                format!("{p}:{r}:{s}")
            };
            assert_eq!(back, uri);
        }
        assert_eq!(
            split_uri("sip:127.0.0.1:5060"),
            Some(("sip", "127.0.0.1", "5060"))
        );
        assert_eq!(split_uri("nocolon"), None);
        assert_eq!(split_uri("sip:"), None);
        assert_eq!(split_uri("sip:a:"), None);
        assert_eq!(split_uri(":a"), None);
    }
}
