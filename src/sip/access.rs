//! Typed accessors on [`SipMessage`], parsed on demand (RFC 3261 §20).

use super::addr::NameAddr;
use super::auth::{AuthValue, Challenge, Credentials};
use super::header::HeaderName;
use super::message::{Method, SipMessage, StartLine, StatusCode};
use super::mime::{find_sdp_in_multipart, MediaType};
use super::text::{is_lws, is_token, parse_u64, run, split_top, trim_lws};
use super::uri::{ferr, FieldError, Uri};
use super::via::Via;
use nom::bytes::complete::take_while;

/// `CSeq: 1*DIGIT LWS Method` (§20.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// Sequence number; RFC 3261 §8.1.1.5 requires it below 2**31.
    pub seq: u32,
    /// Method.
    pub method: Method<'a>,
}

impl<'a> CSeq<'a> {
    /// Parses a CSeq value; fails on a number that does not fit 32 bits (RFC 4475
    /// §3.1.2.4) or a non-token method.
    pub fn parse(s: &'a [u8]) -> Result<CSeq<'a>, FieldError> {
        // `1*DIGIT 1*LWS token`, nothing after: plain runs (this is on every
        // message's path; nom's combinators cost more than the grammar).
        let s = trim_lws(s);
        let nd = run(s, 0, |b| b.is_ascii_digit());
        let nl = run(s, nd, is_lws);
        let nm = run(s, nd + nl, is_token);
        if nd == 0 || nl == 0 || nm == 0 {
            return Err(ferr("bad CSeq"));
        }
        if s.len() != nd + nl + nm {
            return Err(ferr("unexpected text after CSeq method"));
        }
        let num = s.get(..nd).unwrap_or(&[]);
        let method = s.get(nd + nl..).unwrap_or(&[]);
        let seq = parse_u64(num)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(ferr("CSeq number out of range"))?;
        Ok(CSeq {
            seq,
            method: Method::from_bytes(method),
        })
    }
}

/// A single non-negative decimal with optional surrounding LWS.
fn decimal(s: &[u8]) -> Result<u64, FieldError> {
    let r: nom::IResult<&[u8], &[u8]> = take_while(|b: u8| b.is_ascii_digit())(trim_lws(s));
    match r {
        Ok((rest, d)) if rest.is_empty() && !d.is_empty() => {
            parse_u64(d).ok_or(ferr("number too large"))
        }
        _ => Err(ferr("not a decimal number")),
    }
}

/// Content-Length value (§20.14).
pub(crate) fn content_length_value(v: &[u8]) -> Result<usize, FieldError> {
    decimal(v).and_then(|n| usize::try_from(n).map_err(|_| ferr("number too large")))
}

/// Max-Forwards value (§20.22).
pub(crate) fn max_forwards_value(v: &[u8]) -> Result<u8, FieldError> {
    decimal(v).and_then(|n| u8::try_from(n).map_err(|_| ferr("Max-Forwards above 255")))
}

/// Expires value (§20.19), saturating above 2**32-1.
pub(crate) fn expires_value(v: &[u8]) -> Result<u32, FieldError> {
    let t = trim_lws(v);
    if !t.is_empty() && t.iter().all(u8::is_ascii_digit) {
        Ok(parse_u64(t)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(u32::MAX))
    } else {
        Err(ferr("not a decimal number"))
    }
}

impl<'a> SipMessage<'a> {
    /// True for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, or for responses the CSeq method (§8.2.6.2, §17.1.3).
    pub fn method(&self) -> Option<Method<'a>> {
        match &self.start {
            StartLine::Request { method, .. } => Some(*method),
            StartLine::Response { .. } => self.cseq().map(|c| c.method),
        }
    }

    /// Response status code.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.start {
            StartLine::Response { status, .. } => Some(*status),
            StartLine::Request { .. } => None,
        }
    }

    /// Raw Request-URI.
    pub fn request_uri(&self) -> Option<&'a [u8]> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// Parsed Request-URI.
    pub fn request_uri_parsed(&self) -> Option<Result<Uri<'a>, FieldError>> {
        self.request_uri().map(Uri::parse)
    }

    /// First value of a header.
    pub fn header(&self, name: HeaderName) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.kind == name)
            .map(|h| h.value)
    }

    /// All values of a header, in wire order (one per header line).
    pub fn headers_named(&self, name: HeaderName) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.headers
            .iter()
            .filter(move |h| h.kind == name)
            .map(|h| h.value)
    }

    /// First value of a header by wire name (case-insensitive; for extension headers).
    pub fn header_by_name(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// Every comma-separated element of every header of this kind (§7.3.1), trimmed;
    /// commas inside quotes or `<>` do not split; empty elements are skipped.
    pub fn list_values(&self, name: HeaderName) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.headers_named(name)
            .flat_map(|v| split_top(v, b','))
            .map(trim_lws)
            .filter(|v| !v.is_empty())
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&'a [u8]> {
        self.header(HeaderName::CallId)
    }

    /// CSeq (None when absent or unparsable).
    pub fn cseq(&self) -> Option<CSeq<'a>> {
        self.header(HeaderName::CSeq)
            .and_then(|v| CSeq::parse(v).ok())
    }

    /// From.
    pub fn from(&self) -> Option<NameAddr<'a>> {
        self.header(HeaderName::From)
            .and_then(|v| NameAddr::parse(v).ok())
    }

    /// To.
    pub fn to(&self) -> Option<NameAddr<'a>> {
        self.header(HeaderName::To)
            .and_then(|v| NameAddr::parse(v).ok())
    }

    /// Every Via value, top first; unparsable ones are skipped.
    pub fn vias(&self) -> Vec<Via<'a>> {
        self.list_values(HeaderName::Via)
            .filter_map(|v| Via::parse(v).ok())
            .collect()
    }

    /// Every Contact value (the `*` wildcard of REGISTER is skipped, see
    /// [`Self::contact_wildcard`]).
    pub fn contacts(&self) -> Vec<NameAddr<'a>> {
        self.addr_list(HeaderName::Contact)
    }

    /// `Contact: *` (§10.2.2).
    pub fn contact_wildcard(&self) -> bool {
        self.list_values(HeaderName::Contact).any(|v| v == b"*")
    }

    /// Route values.
    pub fn routes(&self) -> Vec<NameAddr<'a>> {
        self.addr_list(HeaderName::Route)
    }

    /// Record-Route values.
    pub fn record_routes(&self) -> Vec<NameAddr<'a>> {
        self.addr_list(HeaderName::RecordRoute)
    }

    fn addr_list(&self, name: HeaderName) -> Vec<NameAddr<'a>> {
        self.list_values(name)
            .filter(|v| *v != b"*")
            .filter_map(|v| NameAddr::parse(v).ok())
            .collect()
    }

    /// Content-Length.
    pub fn content_length(&self) -> Option<Result<usize, FieldError>> {
        self.header(HeaderName::ContentLength)
            .map(content_length_value)
    }

    /// Content-Type.
    pub fn content_type(&self) -> Option<MediaType<'a>> {
        self.header(HeaderName::ContentType)
            .and_then(|v| MediaType::parse(v).ok())
    }

    /// Max-Forwards (§20.22: 0..=255; larger values are an error).
    pub fn max_forwards(&self) -> Option<Result<u8, FieldError>> {
        self.header(HeaderName::MaxForwards).map(max_forwards_value)
    }

    /// Expires in seconds (§20.19). Values above 2**32-1 saturate, as RFC 4475
    /// §3.1.2.4 allows; non-numeric values are an error.
    pub fn expires(&self) -> Option<Result<u32, FieldError>> {
        self.header(HeaderName::Expires).map(expires_value)
    }

    /// User-Agent.
    pub fn user_agent(&self) -> Option<&'a [u8]> {
        self.header(HeaderName::UserAgent)
    }

    /// Server.
    pub fn server(&self) -> Option<&'a [u8]> {
        self.header(HeaderName::Server)
    }

    fn auth(&self, name: HeaderName) -> Vec<AuthValue<'a>> {
        self.headers_named(name)
            .flat_map(AuthValue::parse_all)
            .collect()
    }

    /// WWW-Authenticate challenges.
    pub fn www_authenticate(&self) -> Vec<Challenge<'a>> {
        self.auth(HeaderName::WwwAuthenticate)
    }

    /// Proxy-Authenticate challenges.
    pub fn proxy_authenticate(&self) -> Vec<Challenge<'a>> {
        self.auth(HeaderName::ProxyAuthenticate)
    }

    /// Authorization credentials.
    pub fn authorization(&self) -> Vec<Credentials<'a>> {
        self.auth(HeaderName::Authorization)
    }

    /// Proxy-Authorization credentials.
    pub fn proxy_authorization(&self) -> Vec<Credentials<'a>> {
        self.auth(HeaderName::ProxyAuthorization)
    }

    /// The SDP body: the whole body for `application/sdp`, or the first
    /// `application/sdp` part of a `multipart/*` body (RFC 2046 §5.1; RFC 5621).
    pub fn sdp_body(&self) -> Option<&'a [u8]> {
        let ct = self.content_type()?;
        if ct.is("application", "sdp") {
            return (!self.body.is_empty()).then_some(self.body);
        }
        if ct.type_.eq_ignore_ascii_case(b"multipart") {
            return find_sdp_in_multipart(self.body, ct.param("boundary")?, 0);
        }
        None
    }

    /// Whether a token appears in a comma-list header such as Supported/Require.
    pub fn has_option_tag(&self, name: HeaderName, tag: &str) -> bool {
        self.list_values(name)
            .any(|v| v.eq_ignore_ascii_case(tag.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::parse_message;
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds, SIP/2.0/TCP p2.example.com:5070;rport\r\n\
v: SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKx\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
f: \"Alice, A.\" <sip:alice@atlanta.com>;tag=1928301774\r\n\
i: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:alice@pc33.atlanta.com>;expires=30, \"x,y\" <sip:b@h>\r\n\
Proxy-Authorization: Digest username=\"alice\", realm=\"atlanta.com\", response=\"abc\"\r\n\
Expires: 99999999999\r\n\
User-Agent: Softphone 1.0\r\n\
k: 100rel, timer\r\n\
c: application/sdp\r\n\
l: 5\r\n\r\nv=0\r\n";

    #[test]
    fn accessors() {
        let m = parse_message(INVITE).unwrap();
        assert!(m.is_request());
        assert_eq!(m.method(), Some(Method::Invite));
        assert_eq!(m.call_id(), Some(&b"a84b4c76e66710@pc33.atlanta.com"[..]));
        assert_eq!(
            m.cseq(),
            Some(CSeq {
                seq: 314159,
                method: Method::Invite
            })
        );
        assert_eq!(m.from().unwrap().tag(), Some(&b"1928301774"[..]));
        assert_eq!(
            m.from().unwrap().display_name.as_deref(),
            Some(&b"Alice, A."[..])
        );
        assert_eq!(m.to().unwrap().uri.user, Some(&b"bob"[..]));
        let vias = m.vias();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[1].port, Some(5070));
        assert_eq!(vias[1].rport, Some(None));
        assert_eq!(vias[2].host, b"[2001:db8::1]");
        let c = m.contacts();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].expires(), Some(30));
        assert_eq!(c[1].uri.host, b"h");
        assert_eq!(m.max_forwards(), Some(Ok(70)));
        assert_eq!(m.expires(), Some(Ok(u32::MAX)));
        assert_eq!(m.content_length(), Some(Ok(5)));
        assert_eq!(m.user_agent(), Some(&b"Softphone 1.0"[..]));
        assert_eq!(m.proxy_authorization()[0].username(), Some(&b"alice"[..]));
        assert!(m.authorization().is_empty());
        assert_eq!(m.sdp_body(), Some(&b"v=0\r\n"[..]));
        assert!(m.has_option_tag(HeaderName::Supported, "100REL"));
        assert_eq!(m.body, b"v=0\r\n");
    }

    #[test]
    fn response_method_from_cseq() {
        let m = parse_message(b"SIP/2.0 200 OK\r\nCSeq: 2 REGISTER\r\n\r\n").unwrap();
        assert_eq!(m.method(), Some(Method::Register));
        assert_eq!(m.status(), Some(StatusCode(200)));
        assert_eq!(m.request_uri(), None);
    }

    #[test]
    fn cseq_and_numbers() {
        assert_eq!(CSeq::parse(b"0009\r\n  INVITE").unwrap().seq, 9);
        assert!(CSeq::parse(b"36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse(b"1").is_err());
        assert!(CSeq::parse(b"1 INVITE x").is_err());
        assert_eq!(decimal(b" 0068 "), Ok(68));
        assert!(decimal(b"-999").is_err());
        assert!(decimal(b"bad").is_err());
    }
}
