//! Header names (RFC 3261 §7.3, §20) with compact forms (§7.3.3).

/// Well-known SIP header field names. Matching is case-insensitive (§7.3.1) and compact
/// forms are folded to the long name (§7.3.3; `o`, `u`, `r`, `b`, `y`, `x` come from
/// RFC 3265, RFC 3515, RFC 3892, RFC 8224 and RFC 4028).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variant names are the header names themselves
pub enum HeaderName {
    Accept,
    AcceptEncoding,
    AcceptLanguage,
    AlertInfo,
    Allow,
    AllowEvents,
    AuthenticationInfo,
    Authorization,
    CallId,
    CallInfo,
    Contact,
    ContentDisposition,
    ContentEncoding,
    ContentLanguage,
    ContentLength,
    ContentType,
    CSeq,
    Date,
    ErrorInfo,
    Event,
    Expires,
    From,
    Identity,
    InReplyTo,
    MaxForwards,
    MimeVersion,
    MinExpires,
    Organization,
    PAssertedIdentity,
    PPreferredIdentity,
    Path,
    Priority,
    Privacy,
    ProxyAuthenticate,
    ProxyAuthorization,
    ProxyRequire,
    RAck,
    Reason,
    RecordRoute,
    ReferTo,
    ReferredBy,
    ReplyTo,
    Require,
    RetryAfter,
    Route,
    RSeq,
    Server,
    ServiceRoute,
    SessionExpires,
    Subject,
    SubscriptionState,
    Supported,
    Timestamp,
    To,
    Unsupported,
    UserAgent,
    Via,
    Warning,
    WwwAuthenticate,
    /// Any other (extension) header; the wire name is kept in [`super::Header::name`].
    Other,
}

/// (long name, compact form, variant); the table drives both lookup and `as_str`.
const TABLE: &[(&str, Option<u8>, HeaderName)] = &[
    ("Accept", None, HeaderName::Accept),
    ("Accept-Encoding", None, HeaderName::AcceptEncoding),
    ("Accept-Language", None, HeaderName::AcceptLanguage),
    ("Alert-Info", None, HeaderName::AlertInfo),
    ("Allow", None, HeaderName::Allow),
    ("Allow-Events", Some(b'u'), HeaderName::AllowEvents),
    ("Authentication-Info", None, HeaderName::AuthenticationInfo),
    ("Authorization", None, HeaderName::Authorization),
    ("Call-ID", Some(b'i'), HeaderName::CallId),
    ("Call-Info", None, HeaderName::CallInfo),
    ("Contact", Some(b'm'), HeaderName::Contact),
    ("Content-Disposition", None, HeaderName::ContentDisposition),
    ("Content-Encoding", Some(b'e'), HeaderName::ContentEncoding),
    ("Content-Language", None, HeaderName::ContentLanguage),
    ("Content-Length", Some(b'l'), HeaderName::ContentLength),
    ("Content-Type", Some(b'c'), HeaderName::ContentType),
    ("CSeq", None, HeaderName::CSeq),
    ("Date", None, HeaderName::Date),
    ("Error-Info", None, HeaderName::ErrorInfo),
    ("Event", Some(b'o'), HeaderName::Event),
    ("Expires", None, HeaderName::Expires),
    ("From", Some(b'f'), HeaderName::From),
    ("Identity", Some(b'y'), HeaderName::Identity),
    ("In-Reply-To", None, HeaderName::InReplyTo),
    ("Max-Forwards", None, HeaderName::MaxForwards),
    ("MIME-Version", None, HeaderName::MimeVersion),
    ("Min-Expires", None, HeaderName::MinExpires),
    ("Organization", None, HeaderName::Organization),
    ("P-Asserted-Identity", None, HeaderName::PAssertedIdentity),
    ("P-Preferred-Identity", None, HeaderName::PPreferredIdentity),
    ("Path", None, HeaderName::Path),
    ("Priority", None, HeaderName::Priority),
    ("Privacy", None, HeaderName::Privacy),
    ("Proxy-Authenticate", None, HeaderName::ProxyAuthenticate),
    ("Proxy-Authorization", None, HeaderName::ProxyAuthorization),
    ("Proxy-Require", None, HeaderName::ProxyRequire),
    ("RAck", None, HeaderName::RAck),
    ("Reason", None, HeaderName::Reason),
    ("Record-Route", None, HeaderName::RecordRoute),
    ("Refer-To", Some(b'r'), HeaderName::ReferTo),
    ("Referred-By", Some(b'b'), HeaderName::ReferredBy),
    ("Reply-To", None, HeaderName::ReplyTo),
    ("Require", None, HeaderName::Require),
    ("Retry-After", None, HeaderName::RetryAfter),
    ("Route", None, HeaderName::Route),
    ("RSeq", None, HeaderName::RSeq),
    ("Server", None, HeaderName::Server),
    ("Service-Route", None, HeaderName::ServiceRoute),
    ("Session-Expires", Some(b'x'), HeaderName::SessionExpires),
    ("Subject", Some(b's'), HeaderName::Subject),
    ("Subscription-State", None, HeaderName::SubscriptionState),
    ("Supported", Some(b'k'), HeaderName::Supported),
    ("Timestamp", None, HeaderName::Timestamp),
    ("To", Some(b't'), HeaderName::To),
    ("Unsupported", None, HeaderName::Unsupported),
    ("User-Agent", None, HeaderName::UserAgent),
    ("Via", Some(b'v'), HeaderName::Via),
    ("Warning", None, HeaderName::Warning),
    ("WWW-Authenticate", None, HeaderName::WwwAuthenticate),
];

/// Compact forms (§7.3.3), given the lower-cased letter.
fn compact_form(c: u8) -> HeaderName {
    match c {
        b'b' => HeaderName::ReferredBy,
        b'c' => HeaderName::ContentType,
        b'e' => HeaderName::ContentEncoding,
        b'f' => HeaderName::From,
        b'i' => HeaderName::CallId,
        b'k' => HeaderName::Supported,
        b'l' => HeaderName::ContentLength,
        b'm' => HeaderName::Contact,
        b'o' => HeaderName::Event,
        b'r' => HeaderName::ReferTo,
        b's' => HeaderName::Subject,
        b't' => HeaderName::To,
        b'u' => HeaderName::AllowEvents,
        b'v' => HeaderName::Via,
        b'x' => HeaderName::SessionExpires,
        b'y' => HeaderName::Identity,
        _ => HeaderName::Other,
    }
}

/// Lower-case long names grouped by first letter (same entries as `TABLE`).
fn by_first_letter(c: u8) -> &'static [(&'static [u8], HeaderName)] {
    match c {
        b'a' => &[
            (b"accept", HeaderName::Accept),
            (b"accept-encoding", HeaderName::AcceptEncoding),
            (b"accept-language", HeaderName::AcceptLanguage),
            (b"alert-info", HeaderName::AlertInfo),
            (b"allow", HeaderName::Allow),
            (b"allow-events", HeaderName::AllowEvents),
            (b"authentication-info", HeaderName::AuthenticationInfo),
            (b"authorization", HeaderName::Authorization),
        ],
        b'c' => &[
            (b"call-id", HeaderName::CallId),
            (b"call-info", HeaderName::CallInfo),
            (b"contact", HeaderName::Contact),
            (b"content-disposition", HeaderName::ContentDisposition),
            (b"content-encoding", HeaderName::ContentEncoding),
            (b"content-language", HeaderName::ContentLanguage),
            (b"content-length", HeaderName::ContentLength),
            (b"content-type", HeaderName::ContentType),
            (b"cseq", HeaderName::CSeq),
        ],
        b'd' => &[(b"date", HeaderName::Date)],
        b'e' => &[
            (b"error-info", HeaderName::ErrorInfo),
            (b"event", HeaderName::Event),
            (b"expires", HeaderName::Expires),
        ],
        b'f' => &[(b"from", HeaderName::From)],
        b'i' => &[
            (b"identity", HeaderName::Identity),
            (b"in-reply-to", HeaderName::InReplyTo),
        ],
        b'm' => &[
            (b"max-forwards", HeaderName::MaxForwards),
            (b"mime-version", HeaderName::MimeVersion),
            (b"min-expires", HeaderName::MinExpires),
        ],
        b'o' => &[(b"organization", HeaderName::Organization)],
        b'p' => &[
            (b"p-asserted-identity", HeaderName::PAssertedIdentity),
            (b"p-preferred-identity", HeaderName::PPreferredIdentity),
            (b"path", HeaderName::Path),
            (b"priority", HeaderName::Priority),
            (b"privacy", HeaderName::Privacy),
            (b"proxy-authenticate", HeaderName::ProxyAuthenticate),
            (b"proxy-authorization", HeaderName::ProxyAuthorization),
            (b"proxy-require", HeaderName::ProxyRequire),
        ],
        b'r' => &[
            (b"rack", HeaderName::RAck),
            (b"reason", HeaderName::Reason),
            (b"record-route", HeaderName::RecordRoute),
            (b"refer-to", HeaderName::ReferTo),
            (b"referred-by", HeaderName::ReferredBy),
            (b"reply-to", HeaderName::ReplyTo),
            (b"require", HeaderName::Require),
            (b"retry-after", HeaderName::RetryAfter),
            (b"route", HeaderName::Route),
            (b"rseq", HeaderName::RSeq),
        ],
        b's' => &[
            (b"server", HeaderName::Server),
            (b"service-route", HeaderName::ServiceRoute),
            (b"session-expires", HeaderName::SessionExpires),
            (b"subject", HeaderName::Subject),
            (b"subscription-state", HeaderName::SubscriptionState),
            (b"supported", HeaderName::Supported),
        ],
        b't' => &[
            (b"timestamp", HeaderName::Timestamp),
            (b"to", HeaderName::To),
        ],
        b'u' => &[
            (b"unsupported", HeaderName::Unsupported),
            (b"user-agent", HeaderName::UserAgent),
        ],
        b'v' => &[(b"via", HeaderName::Via)],
        b'w' => &[
            (b"warning", HeaderName::Warning),
            (b"www-authenticate", HeaderName::WwwAuthenticate),
        ],
        _ => &[],
    }
}

impl HeaderName {
    /// Classifies a wire header name (case-insensitive, compact forms folded).
    pub fn from_bytes(name: &[u8]) -> HeaderName {
        // Hot path (every header line of every message): the first byte picks a short
        // bucket of candidates, the length rules out most of them, and only one
        // case-insensitive compare runs; no lower-cased copy.
        let Some(first) = name.first().map(u8::to_ascii_lowercase) else {
            return HeaderName::Other;
        };
        if name.len() == 1 {
            return compact_form(first);
        }
        by_first_letter(first)
            .iter()
            .find(|(long, _)| long.len() == name.len() && long.eq_ignore_ascii_case(name))
            .map_or(HeaderName::Other, |&(_, kind)| kind)
    }

    /// Canonical long name (`"Other"` for [`HeaderName::Other`]).
    pub fn as_str(self) -> &'static str {
        TABLE.iter().find(|e| e.2 == self).map_or("Other", |e| e.0)
    }

    /// Compact form letter, if the header has one (§7.3.3).
    pub fn compact(self) -> Option<char> {
        TABLE
            .iter()
            .find(|e| e.2 == self)
            .and_then(|e| e.1)
            .map(char::from)
    }
}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::HeaderName as H;

    #[test]
    fn long_compact_and_case() {
        assert_eq!(H::from_bytes(b"Via"), H::Via);
        assert_eq!(H::from_bytes(b"vIA"), H::Via);
        assert_eq!(H::from_bytes(b"V"), H::Via);
        assert_eq!(H::from_bytes(b"i"), H::CallId);
        assert_eq!(H::from_bytes(b"call-id"), H::CallId);
        assert_eq!(H::from_bytes(b"l"), H::ContentLength);
        assert_eq!(H::from_bytes(b"y"), H::Identity);
        assert_eq!(H::from_bytes(b"C%6Fntact"), H::Other);
        assert_eq!(H::from_bytes(b"z"), H::Other);
        assert_eq!(H::from_bytes(b""), H::Other);
        assert_eq!(H::WwwAuthenticate.as_str(), "WWW-Authenticate");
        assert_eq!(H::Contact.compact(), Some('m'));
        let bucketed: usize = (b'a'..=b'z').map(|c| super::by_first_letter(c).len()).sum();
        assert_eq!(bucketed, super::TABLE.len());
        for c in b'a'..=b'z' {
            for (long, v) in super::by_first_letter(c) {
                assert_eq!(long.first(), Some(&c));
                assert!(super::TABLE
                    .iter()
                    .any(|e| e.0.as_bytes().eq_ignore_ascii_case(long) && e.2 == *v));
            }
        }
        assert_eq!(H::from_bytes(b"Viaa"), H::Other);
        assert_eq!(H::from_bytes(b"Vi"), H::Other);
        assert_eq!(H::from_bytes(b"CONTENT-LENGTH"), H::ContentLength);
        assert_eq!(H::from_bytes(b"-"), H::Other);
        assert_eq!(H::from_bytes("é".as_bytes()), H::Other);
        for (long, c, v) in super::TABLE {
            assert_eq!(H::from_bytes(long.as_bytes()), *v);
            if let Some(c) = c {
                assert_eq!(H::from_bytes(&[*c]), *v);
                assert_eq!(H::from_bytes(&[c.to_ascii_uppercase()]), *v);
            }
        }
    }
}
