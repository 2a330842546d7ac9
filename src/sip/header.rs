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

impl HeaderName {
    /// Classifies a wire header name (case-insensitive, compact forms folded).
    pub fn from_bytes(name: &[u8]) -> HeaderName {
        // Hot path (every header line of every message): the canonical spellings up to
        // 16 bytes, as they are on the wire nearly always, by whole-word compares; the
        // rest (longer names, other cases, compact forms) by the general match.
        match canonical(name) {
            Some(h) => h,
            None => Self::from_bytes_general(name),
        }
    }

    /// [`HeaderName::from_bytes`] without the word-compare fast path ([`canonical`]):
    /// the reference it must agree with. Out of line: the fast path stays small.
    #[inline(never)]
    fn from_bytes_general(name: &[u8]) -> HeaderName {
        // First the canonical spellings, then a lower-cased copy in a stack buffer. The
        // compiler turns each `match` into a length switch plus short compares.
        match name {
            b"Accept" => return HeaderName::Accept,
            b"Accept-Encoding" => return HeaderName::AcceptEncoding,
            b"Accept-Language" => return HeaderName::AcceptLanguage,
            b"Alert-Info" => return HeaderName::AlertInfo,
            b"Allow" => return HeaderName::Allow,
            b"Allow-Events" => return HeaderName::AllowEvents,
            b"Authentication-Info" => return HeaderName::AuthenticationInfo,
            b"Authorization" => return HeaderName::Authorization,
            b"Call-ID" => return HeaderName::CallId,
            b"Call-Info" => return HeaderName::CallInfo,
            b"Contact" => return HeaderName::Contact,
            b"Content-Disposition" => return HeaderName::ContentDisposition,
            b"Content-Encoding" => return HeaderName::ContentEncoding,
            b"Content-Language" => return HeaderName::ContentLanguage,
            b"Content-Length" => return HeaderName::ContentLength,
            b"Content-Type" => return HeaderName::ContentType,
            b"CSeq" => return HeaderName::CSeq,
            b"Date" => return HeaderName::Date,
            b"Error-Info" => return HeaderName::ErrorInfo,
            b"Event" => return HeaderName::Event,
            b"Expires" => return HeaderName::Expires,
            b"From" => return HeaderName::From,
            b"Identity" => return HeaderName::Identity,
            b"In-Reply-To" => return HeaderName::InReplyTo,
            b"Max-Forwards" => return HeaderName::MaxForwards,
            b"MIME-Version" => return HeaderName::MimeVersion,
            b"Min-Expires" => return HeaderName::MinExpires,
            b"Organization" => return HeaderName::Organization,
            b"P-Asserted-Identity" => return HeaderName::PAssertedIdentity,
            b"P-Preferred-Identity" => return HeaderName::PPreferredIdentity,
            b"Path" => return HeaderName::Path,
            b"Priority" => return HeaderName::Priority,
            b"Privacy" => return HeaderName::Privacy,
            b"Proxy-Authenticate" => return HeaderName::ProxyAuthenticate,
            b"Proxy-Authorization" => return HeaderName::ProxyAuthorization,
            b"Proxy-Require" => return HeaderName::ProxyRequire,
            b"RAck" => return HeaderName::RAck,
            b"Reason" => return HeaderName::Reason,
            b"Record-Route" => return HeaderName::RecordRoute,
            b"Refer-To" => return HeaderName::ReferTo,
            b"Referred-By" => return HeaderName::ReferredBy,
            b"Reply-To" => return HeaderName::ReplyTo,
            b"Require" => return HeaderName::Require,
            b"Retry-After" => return HeaderName::RetryAfter,
            b"Route" => return HeaderName::Route,
            b"RSeq" => return HeaderName::RSeq,
            b"Server" => return HeaderName::Server,
            b"Service-Route" => return HeaderName::ServiceRoute,
            b"Session-Expires" => return HeaderName::SessionExpires,
            b"Subject" => return HeaderName::Subject,
            b"Subscription-State" => return HeaderName::SubscriptionState,
            b"Supported" => return HeaderName::Supported,
            b"Timestamp" => return HeaderName::Timestamp,
            b"To" => return HeaderName::To,
            b"Unsupported" => return HeaderName::Unsupported,
            b"User-Agent" => return HeaderName::UserAgent,
            b"Via" => return HeaderName::Via,
            b"Warning" => return HeaderName::Warning,
            b"WWW-Authenticate" => return HeaderName::WwwAuthenticate,
            _ => {}
        }
        let mut buf = [0u8; 20];
        let Some(dst) = buf.get_mut(..name.len()) else {
            return HeaderName::Other;
        };
        for (d, s) in dst.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        match &*dst {
            b"accept" => HeaderName::Accept,
            b"accept-encoding" => HeaderName::AcceptEncoding,
            b"accept-language" => HeaderName::AcceptLanguage,
            b"alert-info" => HeaderName::AlertInfo,
            b"allow" => HeaderName::Allow,
            b"allow-events" | b"u" => HeaderName::AllowEvents,
            b"authentication-info" => HeaderName::AuthenticationInfo,
            b"authorization" => HeaderName::Authorization,
            b"call-id" | b"i" => HeaderName::CallId,
            b"call-info" => HeaderName::CallInfo,
            b"contact" | b"m" => HeaderName::Contact,
            b"content-disposition" => HeaderName::ContentDisposition,
            b"content-encoding" | b"e" => HeaderName::ContentEncoding,
            b"content-language" => HeaderName::ContentLanguage,
            b"content-length" | b"l" => HeaderName::ContentLength,
            b"content-type" | b"c" => HeaderName::ContentType,
            b"cseq" => HeaderName::CSeq,
            b"date" => HeaderName::Date,
            b"error-info" => HeaderName::ErrorInfo,
            b"event" | b"o" => HeaderName::Event,
            b"expires" => HeaderName::Expires,
            b"from" | b"f" => HeaderName::From,
            b"identity" | b"y" => HeaderName::Identity,
            b"in-reply-to" => HeaderName::InReplyTo,
            b"max-forwards" => HeaderName::MaxForwards,
            b"mime-version" => HeaderName::MimeVersion,
            b"min-expires" => HeaderName::MinExpires,
            b"organization" => HeaderName::Organization,
            b"p-asserted-identity" => HeaderName::PAssertedIdentity,
            b"p-preferred-identity" => HeaderName::PPreferredIdentity,
            b"path" => HeaderName::Path,
            b"priority" => HeaderName::Priority,
            b"privacy" => HeaderName::Privacy,
            b"proxy-authenticate" => HeaderName::ProxyAuthenticate,
            b"proxy-authorization" => HeaderName::ProxyAuthorization,
            b"proxy-require" => HeaderName::ProxyRequire,
            b"rack" => HeaderName::RAck,
            b"reason" => HeaderName::Reason,
            b"record-route" => HeaderName::RecordRoute,
            b"refer-to" | b"r" => HeaderName::ReferTo,
            b"referred-by" | b"b" => HeaderName::ReferredBy,
            b"reply-to" => HeaderName::ReplyTo,
            b"require" => HeaderName::Require,
            b"retry-after" => HeaderName::RetryAfter,
            b"route" => HeaderName::Route,
            b"rseq" => HeaderName::RSeq,
            b"server" => HeaderName::Server,
            b"service-route" => HeaderName::ServiceRoute,
            b"session-expires" | b"x" => HeaderName::SessionExpires,
            b"subject" | b"s" => HeaderName::Subject,
            b"subscription-state" => HeaderName::SubscriptionState,
            b"supported" | b"k" => HeaderName::Supported,
            b"timestamp" => HeaderName::Timestamp,
            b"to" | b"t" => HeaderName::To,
            b"unsupported" => HeaderName::Unsupported,
            b"user-agent" => HeaderName::UserAgent,
            b"via" | b"v" => HeaderName::Via,
            b"warning" => HeaderName::Warning,
            b"www-authenticate" => HeaderName::WwwAuthenticate,
            _ => HeaderName::Other,
        }
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

/// The bytes of a 1- to 16-byte name packed so that two names of the same length
/// have the same key exactly when they are equal: up to 3 bytes as they are, 4 to 7
/// as the first and last 4 (overlapping), 8 to 16 as the first and last 8. Other
/// lengths key to 0: [`canonical`] only compares keys within one length.
#[inline(always)]
const fn key(s: &[u8]) -> u128 {
    match s.len() {
        1..=3 => key_short(s),
        4..=7 => key_mid(s),
        8..=16 => key_long(s),
        _ => 0,
    }
}

/// [`key`] of a name of 1 to 3 bytes.
#[inline(always)]
const fn key_short(s: &[u8]) -> u128 {
    match s {
        [a] => *a as u128,
        [a, b] => *a as u128 | (*b as u128) << 8,
        [a, b, c] => *a as u128 | (*b as u128) << 8 | (*c as u128) << 16,
        _ => 0,
    }
}

/// [`key`] of a name of 4 to 7 bytes.
#[inline(always)]
const fn key_mid(s: &[u8]) -> u128 {
    match (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        (Some(a), Some(z)) => {
            u32::from_le_bytes(*a) as u128 | (u32::from_le_bytes(*z) as u128) << 64
        }
        _ => 0,
    }
}

/// [`key`] of a name of 8 to 16 bytes.
#[inline(always)]
const fn key_long(s: &[u8]) -> u128 {
    match (s.first_chunk::<8>(), s.last_chunk::<8>()) {
        (Some(a), Some(z)) => {
            u64::from_le_bytes(*a) as u128 | (u64::from_le_bytes(*z) as u128) << 64
        }
        _ => 0,
    }
}

/// The header a name spelled exactly as in RFC 3261 (up to 16 bytes) is, or `None`
/// for anything else (which [`HeaderName::from_bytes`] hands to the general match):
/// a length switch, then one key compare per name of that length, commonest first.
#[inline(always)]
fn canonical(name: &[u8]) -> Option<HeaderName> {
    macro_rules! pick {
        ($key:ident; $($lit:literal => $v:ident),+ $(,)?) => {{
            let k = $key(name);
            $(
                if k == const { key($lit) } {
                    return Some(HeaderName::$v);
                }
            )+
            None
        }};
    }
    match name.len() {
        2 => pick!(key_short; b"To" => To),
        3 => pick!(key_short; b"Via" => Via),
        4 => pick!(key_mid;
            b"From" => From, b"CSeq" => CSeq, b"Date" => Date, b"Path" => Path,
            b"RAck" => RAck, b"RSeq" => RSeq,
        ),
        5 => pick!(key_mid; b"Allow" => Allow, b"Event" => Event, b"Route" => Route),
        6 => pick!(key_mid; b"Accept" => Accept, b"Reason" => Reason, b"Server" => Server),
        7 => pick!(key_mid;
            b"Call-ID" => CallId, b"Contact" => Contact, b"Expires" => Expires,
            b"Subject" => Subject, b"Require" => Require, b"Privacy" => Privacy,
            b"Warning" => Warning,
        ),
        8 => pick!(key_long;
            b"Identity" => Identity, b"Priority" => Priority, b"Refer-To" => ReferTo,
            b"Reply-To" => ReplyTo,
        ),
        9 => {
            pick!(key_long; b"Supported" => Supported, b"Call-Info" => CallInfo, b"Timestamp" => Timestamp)
        }
        10 => {
            pick!(key_long; b"User-Agent" => UserAgent, b"Alert-Info" => AlertInfo, b"Error-Info" => ErrorInfo)
        }
        11 => pick!(key_long;
            b"Min-Expires" => MinExpires, b"Unsupported" => Unsupported,
            b"Referred-By" => ReferredBy, b"Retry-After" => RetryAfter,
            b"In-Reply-To" => InReplyTo,
        ),
        12 => pick!(key_long;
            b"Max-Forwards" => MaxForwards, b"Content-Type" => ContentType,
            b"Record-Route" => RecordRoute, b"Allow-Events" => AllowEvents,
            b"MIME-Version" => MimeVersion, b"Organization" => Organization,
        ),
        13 => pick!(key_long;
            b"Authorization" => Authorization, b"Proxy-Require" => ProxyRequire,
            b"Service-Route" => ServiceRoute,
        ),
        14 => pick!(key_long; b"Content-Length" => ContentLength),
        15 => pick!(key_long;
            b"Session-Expires" => SessionExpires, b"Accept-Encoding" => AcceptEncoding,
            b"Accept-Language" => AcceptLanguage,
        ),
        16 => pick!(key_long;
            b"WWW-Authenticate" => WwwAuthenticate, b"Content-Encoding" => ContentEncoding,
            b"Content-Language" => ContentLanguage,
        ),
        _ => None,
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
        assert_eq!(H::from_bytes(b"Viaa"), H::Other);
        assert_eq!(H::from_bytes(b"Vi"), H::Other);
        assert_eq!(H::from_bytes(b"CONTENT-LENGTH"), H::ContentLength);
        assert_eq!(H::from_bytes(b"-"), H::Other);
        assert_eq!(H::from_bytes("é".as_bytes()), H::Other);
        // parse_message skips its token check for the names classified here: every
        // one must be a token (RFC 3261 §25.1).
        for (long, c, _) in super::TABLE {
            assert!(crate::sip::text::all_token(long.as_bytes()), "{long}");
            assert!(c.is_none_or(crate::sip::text::is_token));
        }
        for (long, c, v) in super::TABLE {
            assert_eq!(H::from_bytes(long.as_bytes()), *v);
            if let Some(c) = c {
                assert_eq!(H::from_bytes(&[*c]), *v);
                assert_eq!(H::from_bytes(&[c.to_ascii_uppercase()]), *v);
            }
        }
    }

    /// Every canonical name up to 16 bytes takes the fast path to its own header.
    #[test]
    fn canonical_names_take_the_fast_path() {
        for (long, _, v) in super::TABLE {
            let got = super::canonical(long.as_bytes());
            if long.len() <= 16 {
                assert_eq!(got, Some(*v), "{long}");
            } else {
                assert_eq!(got, None, "{long}");
            }
        }
        assert_eq!(super::canonical(b"via"), None);
        assert_eq!(super::canonical(b"Content-Lengt"), None);
        assert_eq!(super::canonical(b"Content-Lengthh"), None);
        assert_eq!(super::canonical(b"Call-Id"), None);
    }

    /// The fast path agrees with the general match on every name of the table, its
    /// case variants, one-byte edits of each, and every string of up to 2 bytes.
    #[test]
    fn fast_path_agrees_with_the_general_match() {
        let same = |n: &[u8]| assert_eq!(H::from_bytes(n), H::from_bytes_general(n), "{n:?}");
        for (long, _, _) in super::TABLE {
            let b = long.as_bytes();
            same(b);
            same(&b.to_ascii_lowercase());
            same(&b.to_ascii_uppercase());
            for i in 0..b.len() {
                for x in [
                    0u8,
                    b' ',
                    b'-',
                    b'a',
                    b'Z',
                    0x80,
                    0xff,
                    b[i] ^ 0x20,
                    b[i] + 1,
                ] {
                    let mut e = b.to_vec();
                    e[i] = x;
                    same(&e);
                }
                same(&b[..i]);
                same(&b[i..]);
            }
        }
        same(b"");
        for a in 0..=255u8 {
            same(&[a]);
            for c in 0..=255u8 {
                same(&[a, c]);
            }
        }
    }

    proptest::proptest! {
        /// Any bytes: the fast path and the general match classify alike.
        #[test]
        fn fast_path_agrees_on_any_bytes(n in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24)) {
            proptest::prop_assert_eq!(H::from_bytes(&n), H::from_bytes_general(&n));
        }

        /// Names drawn from the table's letters: near misses of the real names.
        #[test]
        fn fast_path_agrees_on_name_like_bytes(n in "[A-Za-z-]{1,20}") {
            proptest::prop_assert_eq!(H::from_bytes(n.as_bytes()), H::from_bytes_general(n.as_bytes()));
        }
    }
}
