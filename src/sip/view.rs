//! [`MessageView`]: one parsed SIP message whose fields are parsed once, on first use,
//! and kept for every later reader.
//!
//! The engine, the validator, the NAT model and every rule read the same message. The
//! accessors on [`SipMessage`] parse on each call (that keeps the parser a pure function
//! over the bytes), so before this view a message's CSeq was parsed three to five times,
//! its From and top Via two to four times. The view parses each field at most once.
//!
//! Fields that [`super::validate`] checks with the strict grammar (From, To, Via, Contact)
//! are parsed strictly first: a value the strict grammar accepts is the value the lenient
//! parse gives (pinned by this module's tests), so one parse both fills the field and
//! answers the validator. Only a value the strict grammar rejects is parsed a second time,
//! leniently, to keep what can be kept (RFC 4475 §1, "liberal recovery").

use std::cell::{OnceCell, RefCell};
use std::ops::Deref;

use super::access::CSeq;
use super::addr::{parse_name_addr, NameAddr};
use super::auth::{AuthValue, Challenge, Credentials};
use super::header::HeaderName;
use super::message::{Header, SipMessage};
use super::mime::{find_sdp_in_multipart, MediaType};
use super::shape;
use super::text::{find_byte, split_top, trim_lws};
use super::uri::{FieldError, Uri};
use super::via::{parse_via, Via};
use crate::sdp::Sdp;

/// Number of [`HeaderName`] kinds (`Other` is the last).
pub(crate) const KINDS: usize = HeaderName::Other as usize + 1;

/// A single-valued field and the strict grammar's verdict on it.
#[derive(Debug, Clone)]
pub(crate) struct Checked<T> {
    /// The value as the lenient parse reads it (None when absent or unparsable).
    pub(crate) value: Option<T>,
    /// Why the strict grammar rejects it (None when absent or clean).
    pub(crate) problem: Option<&'static str>,
}

/// A comma-list field (§7.3.1) over every header line of its kind.
#[derive(Debug, Clone)]
pub(crate) struct Listed<'a, T> {
    /// The element of a list of one accepted element (nearly every Via and Contact list),
    /// with its wire text: kept inline, so such a list allocates nothing.
    single: Option<(T, &'a [u8])>,
    /// Elements the lenient parse accepts, in wire order, when there are two or more.
    many: Vec<T>,
    /// The wire text of each of `many` (trimmed element).
    many_texts: Vec<&'a [u8]>,
    /// True when the first non-empty element parsed (so `values[0]` is the top one).
    pub(crate) first_ok: bool,
    /// `Contact: *` (§10.2.2) was among the elements.
    pub(crate) wildcard: bool,
    /// Strict-grammar problems, in wire order.
    pub(crate) problems: Vec<&'static str>,
}

/// A parsed message plus its fields, each parsed on first use and cached.
///
/// It dereferences to the [`SipMessage`], so the start line, the header list, the body and
/// the cheap accessors (`call_id()`, `is_request()`, ...) read as before; the accessors
/// that parse (`cseq()`, `from()`, `to()`, `vias()`, `contacts()`, `request_uri_parsed()`,
/// `content_type()`, `authorization()`, `sdp_body()`, ...) are shadowed by cached ones
/// that return references.
#[derive(Debug)]
pub struct MessageView<'a> {
    msg: SipMessage<'a>,
    /// Index + 1 in `msg.headers` of the first header of each kind (0: absent).
    first: [u32; KINDS],
    /// Header lines of each kind (saturating).
    count: [u8; KINDS],
    cseq: OnceCell<Option<Result<CSeq<'a>, FieldError>>>,
    from: OnceCell<Checked<NameAddr<'a>>>,
    to: OnceCell<Checked<NameAddr<'a>>>,
    vias: OnceCell<Listed<'a, Via<'a>>>,
    contacts: OnceCell<Listed<'a, NameAddr<'a>>>,
    request_uri: OnceCell<Option<Result<Uri<'a>, FieldError>>>,
    content_type: OnceCell<Option<Result<MediaType<'a>, FieldError>>>,
    authorization: OnceCell<Vec<Credentials<'a>>>,
    proxy_authorization: OnceCell<Vec<Credentials<'a>>>,
    sdp_body: OnceCell<Option<&'a [u8]>>,
    /// The SDP body parsed ahead of its reader ([`Self::parse_sdp_ahead`]), until the
    /// one reader that keeps it takes it ([`Self::take_sdp`]).
    sdp: RefCell<Option<Sdp<'a>>>,
}

impl<'a> Deref for MessageView<'a> {
    type Target = SipMessage<'a>;

    fn deref(&self) -> &SipMessage<'a> {
        &self.msg
    }
}

impl<'a> From<SipMessage<'a>> for MessageView<'a> {
    fn from(msg: SipMessage<'a>) -> Self {
        MessageView::new(msg)
    }
}

impl<'a> MessageView<'a> {
    /// Wraps a parsed message; indexes its headers by kind in one pass, parses nothing.
    pub fn new(msg: SipMessage<'a>) -> Self {
        let mut first = [0u32; KINDS];
        let mut count = [0u8; KINDS];
        for (i, h) in msg.headers.iter().enumerate() {
            let k = h.kind as usize;
            if let (Some(c), Some(f)) = (count.get_mut(k), first.get_mut(k)) {
                if *c == 0 {
                    *f = u32::try_from(i + 1).unwrap_or(u32::MAX);
                }
                *c = c.saturating_add(1);
            }
        }
        MessageView {
            msg,
            first,
            count,
            cseq: OnceCell::new(),
            from: OnceCell::new(),
            to: OnceCell::new(),
            vias: OnceCell::new(),
            contacts: OnceCell::new(),
            request_uri: OnceCell::new(),
            content_type: OnceCell::new(),
            authorization: OnceCell::new(),
            proxy_authorization: OnceCell::new(),
            sdp_body: OnceCell::new(),
            sdp: RefCell::new(None),
        }
    }

    /// The message itself.
    pub fn message(&self) -> &SipMessage<'a> {
        &self.msg
    }

    /// Gives the message back.
    pub fn into_message(self) -> SipMessage<'a> {
        self.msg
    }

    /// Takes the header list out (for [`super::recycle_headers`]) when the message is done
    /// with: the fields already parsed stay (they borrow the input, not the list), the
    /// headers read as absent from then on. Unlike [`Self::into_message`] it does not move
    /// the view (~1.8 KB) to get at them.
    pub fn take_headers(&mut self) -> Vec<Header<'a>> {
        self.first = [0; KINDS];
        self.count = [0; KINDS];
        std::mem::take(&mut self.msg.headers)
    }

    /// First value of a header, from the index (no scan).
    pub fn header(&self, name: HeaderName) -> Option<&'a [u8]> {
        let i = *self.first.get(name as usize)?;
        let i = usize::try_from(i).ok()?.checked_sub(1)?;
        self.msg.headers.get(i).map(|h| h.value)
    }

    /// Header lines of this kind (saturates at 255).
    pub fn header_count(&self, name: HeaderName) -> u8 {
        self.count.get(name as usize).copied().unwrap_or(0)
    }

    /// All values of a header, in wire order (one per header line), as
    /// [`SipMessage::headers_named`] gives them, from the index: the scan starts at the
    /// first line of the kind and stops after the last, and an absent kind reads nothing
    /// (most messages carry no Authorization, and one Via, From, To and Contact each).
    pub fn headers_named(&self, name: HeaderName) -> impl Iterator<Item = &'a [u8]> + '_ {
        named(&self.msg.headers, &self.first, &self.count, name)
    }

    /// Parses From, To, Contact and Via, the fields the engine reads of every message
    /// (the validator, the dialog, the transaction key), into their cells in place.
    ///
    /// What the lazy accessors give is the same; they build each field on the stack and
    /// the cell moves it in (~250 bytes a field). Fields already parsed are kept.
    pub fn parse_fields(&mut self) {
        let MessageView {
            msg,
            first,
            count,
            from,
            to,
            vias,
            contacts,
            ..
        } = self;
        let header = |name: HeaderName| named(&msg.headers, first, count, name).next();
        if from.get().is_none() {
            let _ = from.set(Checked::default());
            if let Some(c) = from.get_mut() {
                fill_name_addr(c, header(HeaderName::From));
            }
        }
        if to.get().is_none() {
            let _ = to.set(Checked::default());
            if let Some(c) = to.get_mut() {
                fill_name_addr(c, header(HeaderName::To));
            }
        }
        if contacts.get().is_none() {
            let _ = contacts.set(Listed::default());
            if let Some(l) = contacts.get_mut() {
                fill_contacts(l, named(&msg.headers, first, count, HeaderName::Contact));
            }
        }
        if vias.get().is_none() {
            let _ = vias.set(Listed::default());
            if let Some(l) = vias.get_mut() {
                fill_vias(l, named(&msg.headers, first, count, HeaderName::Via));
            }
        }
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&'a [u8]> {
        self.header(HeaderName::CallId)
    }

    /// User-Agent.
    pub fn user_agent(&self) -> Option<&'a [u8]> {
        self.header(HeaderName::UserAgent)
    }

    /// Server.
    pub fn server(&self) -> Option<&'a [u8]> {
        self.header(HeaderName::Server)
    }

    pub(crate) fn cseq_result(&self) -> Option<&Result<CSeq<'a>, FieldError>> {
        self.cseq
            .get_or_init(|| self.header(HeaderName::CSeq).map(CSeq::parse))
            .as_ref()
    }

    /// CSeq (None when absent or unparsable).
    pub fn cseq(&self) -> Option<CSeq<'a>> {
        self.cseq_result().and_then(|r| r.ok())
    }

    pub(crate) fn field_from(&self) -> &Checked<NameAddr<'a>> {
        self.from
            .get_or_init(|| checked_name_addr(self.header(HeaderName::From)))
    }

    pub(crate) fn field_to(&self) -> &Checked<NameAddr<'a>> {
        self.to
            .get_or_init(|| checked_name_addr(self.header(HeaderName::To)))
    }

    /// From.
    pub fn from(&self) -> Option<&NameAddr<'a>> {
        self.field_from().value.as_ref()
    }

    /// To.
    pub fn to(&self) -> Option<&NameAddr<'a>> {
        self.field_to().value.as_ref()
    }

    pub(crate) fn vias_listed(&self) -> &Listed<'a, Via<'a>> {
        self.vias.get_or_init(|| {
            let mut out = Listed::default();
            fill_vias(&mut out, self.headers_named(HeaderName::Via));
            out
        })
    }

    /// Every Via value, top first; unparsable ones are skipped.
    pub fn vias(&self) -> &[Via<'a>] {
        self.vias_listed().values()
    }

    /// Every Via value with its wire text (one comma-list element, trimmed), top first.
    pub fn vias_with_text(&self) -> impl Iterator<Item = (&'a [u8], &Via<'a>)> + '_ {
        let l = self.vias_listed();
        l.texts().iter().copied().zip(l.values())
    }

    /// The top Via, the one that names the transaction (§17.1.3, §17.2.3); None when the
    /// first element does not parse (a later one is not the top one).
    pub fn top_via(&self) -> Option<&Via<'a>> {
        self.vias_listed().top()
    }

    pub(crate) fn contacts_listed(&self) -> &Listed<'a, NameAddr<'a>> {
        self.contacts.get_or_init(|| {
            let mut out = Listed::default();
            fill_contacts(&mut out, self.headers_named(HeaderName::Contact));
            out
        })
    }

    /// Every Contact value (the `*` wildcard of REGISTER is skipped, see
    /// [`Self::contact_wildcard`]).
    pub fn contacts(&self) -> &[NameAddr<'a>] {
        self.contacts_listed().values()
    }

    /// The first Contact element, when it parses (None for `*` or a bad first one).
    pub fn top_contact(&self) -> Option<&NameAddr<'a>> {
        self.contacts_listed().top()
    }

    /// `Contact: *` (§10.2.2).
    pub fn contact_wildcard(&self) -> bool {
        self.contacts_listed().wildcard
    }

    /// The Request-URI is byte for byte the To URI and the To header passed the strict
    /// grammar, whose name-addr check includes [`Uri::check_host`] for SIP URIs: the
    /// validator need not check the same host again.
    pub(crate) fn request_uri_host_checked(&self) -> bool {
        let to = self.field_to();
        match (self.msg.request_uri(), to.value.as_ref()) {
            (Some(raw), Some(n)) => to.problem.is_none() && n.uri_raw == raw,
            _ => false,
        }
    }

    /// Parsed Request-URI (None for responses).
    pub fn request_uri_parsed(&self) -> Option<&Result<Uri<'a>, FieldError>> {
        self.request_uri
            .get_or_init(|| {
                let raw = self.msg.request_uri()?;
                // An initial request's Request-URI is nearly always its To URI (RFC 3261
                // §8.1.1.1, a flood's INVITEs every one), which `parse_fields` parsed:
                // the same bytes give the same parse.
                if let Some(to) = self.to.get().and_then(|c| c.value.as_ref()) {
                    if to.uri_raw == raw {
                        return Some(Ok(to.uri.clone()));
                    }
                }
                Some(memo_uri(raw))
            })
            .as_ref()
    }

    pub(crate) fn content_type_result(&self) -> Option<&Result<MediaType<'a>, FieldError>> {
        self.content_type
            .get_or_init(|| self.header(HeaderName::ContentType).map(MediaType::parse))
            .as_ref()
    }

    /// Content-Type (None when absent or unparsable).
    pub fn content_type(&self) -> Option<&MediaType<'a>> {
        self.content_type_result().and_then(|r| r.as_ref().ok())
    }

    /// Authorization credentials.
    pub fn authorization(&self) -> &[Credentials<'a>] {
        self.authorization
            .get_or_init(|| auth_values(self.headers_named(HeaderName::Authorization)))
    }

    /// Proxy-Authorization credentials.
    pub fn proxy_authorization(&self) -> &[Credentials<'a>] {
        self.proxy_authorization
            .get_or_init(|| auth_values(self.headers_named(HeaderName::ProxyAuthorization)))
    }

    /// WWW-Authenticate challenges (read by few: not cached).
    pub fn www_authenticate(&self) -> Vec<Challenge<'a>> {
        auth_values(self.headers_named(HeaderName::WwwAuthenticate))
    }

    /// Proxy-Authenticate challenges (read by few: not cached).
    pub fn proxy_authenticate(&self) -> Vec<Challenge<'a>> {
        auth_values(self.headers_named(HeaderName::ProxyAuthenticate))
    }

    /// Parses the SDP body now ([`crate::sdp::parse`]), for [`Self::take_sdp`] to give
    /// later: the reader thread does this work ahead of the engine (`engine::pipeline`).
    /// Nothing when the message carries no SDP.
    pub fn parse_sdp_ahead(&mut self) {
        let parsed = self.sdp_body().map(crate::sdp::parse);
        *self.sdp.get_mut() = parsed;
    }

    /// The SDP body parsed: the description [`Self::parse_sdp_ahead`] made, taken out,
    /// else parsed now. None without an SDP body.
    pub fn take_sdp(&self) -> Option<Sdp<'a>> {
        let ahead = self.sdp.try_borrow_mut().ok().and_then(|mut s| s.take());
        ahead.or_else(|| self.sdp_body().map(crate::sdp::parse))
    }

    /// Gives a description [`Self::take_sdp`] gave back when its reader is done with it,
    /// so that it is freed with the view: on the thread that allocated it, when the
    /// reader thread parsed it (freeing another thread's blocks costs glibc a lock).
    pub fn give_back_sdp(&mut self, sdp: Sdp<'a>) {
        *self.sdp.get_mut() = Some(sdp);
    }

    /// The SDP body: the whole body for `application/sdp`, or the first
    /// `application/sdp` part of a `multipart/*` body (RFC 2046 §5.1; RFC 5621).
    pub fn sdp_body(&self) -> Option<&'a [u8]> {
        *self.sdp_body.get_or_init(|| {
            let ct = self.content_type()?;
            if ct.is("application", "sdp") {
                return (!self.msg.body.is_empty()).then_some(self.msg.body);
            }
            if ct.type_.eq_ignore_ascii_case(b"multipart") {
                return find_sdp_in_multipart(self.msg.body, ct.param("boundary")?, 0);
            }
            None
        })
    }
}

impl<T> Default for Checked<T> {
    fn default() -> Self {
        Checked {
            value: None,
            problem: None,
        }
    }
}

impl<T> Default for Listed<'_, T> {
    fn default() -> Self {
        Listed {
            single: None,
            many: Vec::new(),
            many_texts: Vec::new(),
            first_ok: false,
            wildcard: false,
            problems: Vec::new(),
        }
    }
}

impl<'a, T> Listed<'a, T> {
    /// The first element, when it parsed (a later one is not the top one).
    fn top(&self) -> Option<&T> {
        if self.first_ok {
            self.values().first()
        } else {
            None
        }
    }

    /// Elements the lenient parse accepts, in wire order.
    pub(crate) fn values(&self) -> &[T] {
        match &self.single {
            Some((v, _)) => std::slice::from_ref(v),
            None => &self.many,
        }
    }

    /// The wire text of each of [`Self::values`] (trimmed element).
    pub(crate) fn texts(&self) -> &[&'a [u8]] {
        match &self.single {
            Some((_, t)) => std::slice::from_ref(t),
            None => &self.many_texts,
        }
    }

    /// Appends the value of a lenient parse when there is one; says whether there was.
    fn push_ok<E>(&mut self, value: Result<T, E>, text: &'a [u8]) -> bool {
        match value {
            Ok(v) => {
                self.push(v, text);
                true
            }
            Err(_) => false,
        }
    }

    /// Appends an accepted element; the first stays inline until a second one comes.
    fn push(&mut self, value: T, text: &'a [u8]) {
        if self.many.is_empty() && self.single.is_none() {
            self.single = Some((value, text));
            return;
        }
        if let Some((v, t)) = self.single.take() {
            self.many.push(v);
            self.many_texts.push(t);
        }
        self.many.push(value);
        self.many_texts.push(text);
    }
}

/// The values of the `name` lines of `headers`, through the index of [`MessageView`]:
/// from the first line of the kind, and only that line when there is one.
fn named<'h, 'a>(
    headers: &'h [Header<'a>],
    first: &[u32; KINDS],
    count: &[u8; KINDS],
    name: HeaderName,
) -> impl Iterator<Item = &'a [u8]> + 'h {
    let at = first
        .get(name as usize)
        .and_then(|&f| usize::try_from(f).ok())
        .and_then(|f| f.checked_sub(1));
    let lines = match at {
        // One line (nearly every Via, From, To, Contact): just it, no filter over the rest.
        Some(f) if count.get(name as usize) == Some(&1) => headers.get(f..=f),
        Some(f) => headers.get(f..),
        None => None,
    };
    lines
        .unwrap_or(&[])
        .iter()
        .filter(move |h| h.kind == name)
        .map(|h| h.value)
}

/// The field of a single-valued name-addr header (From, To) written into `out` (empty
/// before): a memo hit lands in place, without a `Checked` on the stack to move.
fn fill_name_addr<'a>(out: &mut Checked<NameAddr<'a>>, v: Option<&'a [u8]>) {
    let Some(v) = v else {
        return;
    };
    out.value = shape::name_addr(v);
    if out.value.is_none() {
        *out = checked_name_addr_parse(v);
    }
}

/// Every Via element of `values` (§20.42) into `out`, with the strict grammar's problems.
fn fill_vias<'a>(out: &mut Listed<'a, Via<'a>>, values: impl Iterator<Item = &'a [u8]>) {
    listed_into(out, values, |el, out| match strict_via(el) {
        Ok(via) => {
            let p = (!via.version.eq_ignore_ascii_case(b"2.0")
                || !via.protocol.eq_ignore_ascii_case(b"SIP"))
            .then_some("unsupported Via sent-protocol");
            out.push(via, el);
            (true, p)
        }
        Err(_) if el.is_empty() => (false, Some("empty list element")),
        Err(e) => (out.push_ok(parse_via(el, false), el), Some(e.reason)),
    });
}

/// Every Contact element of `values` (§20.10) into `out`, with the strict grammar's
/// problems; `*` (§10.2.2) sets the wildcard and counts as the first element.
fn fill_contacts<'a>(out: &mut Listed<'a, NameAddr<'a>>, values: impl Iterator<Item = &'a [u8]>) {
    let mut wildcard = false;
    listed_into(out, values, |el, out| {
        if el.is_empty() {
            (false, Some("empty list element"))
        } else if el == b"*" {
            wildcard = true;
            (false, None)
        } else {
            match strict_name_addr(el) {
                Ok(n) => {
                    out.push(n, el);
                    (true, None)
                }
                Err(e) => (out.push_ok(parse_name_addr(el, false), el), Some(e.reason)),
            }
        }
    });
    out.wildcard = wildcard;
}

/// Every element of the header `values` (§7.3.1 comma lists, every line of one kind),
/// trimmed, through `parse`, which pushes the lenient value of one element onto the list
/// itself (no value moved out through a return: ~160 to 240 bytes) and says whether it
/// did and the strict grammar's problem, into `out` (empty before).
fn listed_into<'a, T>(
    out: &mut Listed<'a, T>,
    values: impl Iterator<Item = &'a [u8]>,
    mut parse: impl FnMut(&'a [u8], &mut Listed<'a, T>) -> (bool, Option<&'static str>),
) {
    let mut seen_first = false;
    let mut one = |el: &'a [u8]| {
        let el = trim_lws(el);
        let (pushed, problem) = parse(el, out);
        out.problems.extend(problem);
        if !el.is_empty() && !seen_first {
            seen_first = true;
            out.first_ok = pushed;
        }
    };
    for v in values {
        // No comma: the value is its one element (what `split_top` yields), without the
        // iterator (nearly every Via and Contact line).
        if find_byte(b',', v).is_none() {
            one(v);
        } else {
            split_top(v, b',').for_each(&mut one);
        }
    }
}

/// The strict parse of a name-addr, through the memo of clean values ([`super::shape`]):
/// the From, To and Contact of a dialog's messages repeat byte for byte.
#[inline]
fn strict_name_addr(v: &[u8]) -> Result<NameAddr<'_>, FieldError> {
    if let Some(n) = shape::name_addr(v) {
        return Ok(n);
    }
    strict_name_addr_parse(v)
}

/// The memo missed: parse, and remember a clean result. Kept out of line so that the hit
/// path of the callers stays small.
#[inline(never)]
fn strict_name_addr_parse(v: &[u8]) -> Result<NameAddr<'_>, FieldError> {
    let r = parse_name_addr(v, true);
    if let Ok(n) = &r {
        shape::remember_name_addr(v, n);
    }
    r
}

/// The strict parse of a via-parm, through the memo of clean values ([`super::shape`]):
/// every message of a transaction carries the same Via.
#[inline]
fn strict_via(v: &[u8]) -> Result<Via<'_>, FieldError> {
    if let Some(via) = shape::via(v) {
        return Ok(via);
    }
    strict_via_parse(v)
}

/// The memo missed: parse, and remember a clean result (out of line, see
/// [`strict_name_addr_parse`]).
#[inline(never)]
fn strict_via_parse(v: &[u8]) -> Result<Via<'_>, FieldError> {
    let r = parse_via(v, true);
    if let Ok(via) = &r {
        shape::remember_via(v, via);
    }
    r
}

/// [`Uri::parse`] through the memo of earlier parses ([`super::shape`]): the requests of a
/// dialog repeat their Request-URI.
fn memo_uri(v: &[u8]) -> Result<Uri<'_>, FieldError> {
    if let Some(u) = shape::uri(v) {
        return Ok(u);
    }
    let r = Uri::parse(v);
    if let Ok(u) = &r {
        shape::remember_uri(v, u);
    }
    r
}

/// The field of a single-valued name-addr header (From, To): a memo hit is built straight
/// into the result (no intermediate `Result` to move it out of).
#[inline]
fn checked_name_addr(v: Option<&[u8]>) -> Checked<NameAddr<'_>> {
    let Some(v) = v else {
        return Checked {
            value: None,
            problem: None,
        };
    };
    if let Some(n) = shape::name_addr(v) {
        return Checked {
            value: Some(n),
            problem: None,
        };
    }
    checked_name_addr_parse(v)
}

/// [`checked_name_addr`] when the memo missed.
#[inline(never)]
fn checked_name_addr_parse(v: &[u8]) -> Checked<NameAddr<'_>> {
    match strict_name_addr_parse(v) {
        Ok(n) => Checked {
            value: Some(n),
            problem: None,
        },
        Err(e) => Checked {
            value: parse_name_addr(v, false).ok(),
            problem: Some(e.reason),
        },
    }
}

/// The auth values of every line of one header kind, in wire order.
fn auth_values<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> Vec<AuthValue<'a>> {
    // Most messages carry none: no iterator chain to set up and collect.
    let Some(first) = values.next() else {
        return Vec::new();
    };
    std::iter::once(first)
        .chain(values)
        .flat_map(AuthValue::parse_all)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::message::parse_message;
    use super::super::validate::{validate, validate_view, ValueMemo};
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds, SIP/2.0/TCP p2.example.com:5070;rport\r\n\
v: SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKx\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
f: \"Alice, A.\" <sip:alice@atlanta.com>;tag=1928301774\r\n\
i: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.com>, \"B\" <sip:b@h;transport=tcp>\r\n\
Authorization: Digest username=\"alice\", realm=\"atlanta.com\", nonce=\"n\", uri=\"sip:bob@biloxi.com\", response=\"0123456789abcdef0123456789abcdef\"\r\n\
User-Agent: test/1\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\r\nv=0\n";

    /// Every cached field equals what the uncached accessor of [`SipMessage`] returns,
    /// and validation through the view equals [`validate`].
    pub(crate) fn assert_view_agrees(bytes: &[u8]) {
        let Ok(m) = parse_message(bytes) else {
            return;
        };
        let v = MessageView::new(m.clone());
        assert_eq!(v.cseq(), m.cseq());
        assert_eq!(v.from(), m.from().as_ref());
        assert_eq!(v.to(), m.to().as_ref());
        assert_eq!(v.vias(), m.vias().as_slice());
        let top = m
            .list_values(HeaderName::Via)
            .next()
            .and_then(|s| Via::parse(s).ok());
        assert_eq!(v.top_via(), top.as_ref());
        assert_eq!(v.contacts(), m.contacts().as_slice());
        assert_eq!(v.contact_wildcard(), m.contact_wildcard());
        let top = m
            .list_values(HeaderName::Contact)
            .next()
            .and_then(|s| NameAddr::parse(s).ok());
        assert_eq!(v.top_contact(), top.as_ref());
        assert_eq!(v.request_uri_parsed(), m.request_uri_parsed().as_ref());
        assert_eq!(v.content_type(), m.content_type().as_ref());
        assert_eq!(v.authorization(), m.authorization().as_slice());
        assert_eq!(v.proxy_authorization(), m.proxy_authorization().as_slice());
        assert_eq!(v.www_authenticate(), m.www_authenticate());
        assert_eq!(v.sdp_body(), m.sdp_body());
        assert_eq!(v.user_agent(), m.user_agent());
        assert_eq!(v.server(), m.server());
        assert_eq!(v.call_id(), m.call_id());
        for name in [HeaderName::Via, HeaderName::Expires, HeaderName::Other] {
            assert_eq!(v.header(name), m.header(name));
        }
        for name in [
            HeaderName::Via,
            HeaderName::Contact,
            HeaderName::From,
            HeaderName::To,
            HeaderName::Route,
            HeaderName::Authorization,
            HeaderName::ProxyAuthorization,
            HeaderName::WwwAuthenticate,
            HeaderName::Other,
        ] {
            let from_index: Vec<_> = v.headers_named(name).collect();
            let scanned: Vec<_> = m.headers_named(name).collect();
            assert_eq!(from_index, scanned, "{name:?}");
        }
        assert_eq!(validate_view(&v, &mut ValueMemo::default()), validate(&m));
        // Parsed in place, the fields are the ones the lazy cells give.
        let mut primed = MessageView::new(m.clone());
        primed.parse_fields();
        assert_same_fields(&primed, &v);
        assert_eq!(
            validate_view(&primed, &mut ValueMemo::default()),
            validate(&m)
        );
    }

    /// The parsed fields of two views of one message agree.
    fn assert_same_fields(a: &MessageView<'_>, b: &MessageView<'_>) {
        assert_eq!(a.from(), b.from());
        assert_eq!(a.to(), b.to());
        assert_eq!(a.field_from().problem, b.field_from().problem);
        assert_eq!(a.field_to().problem, b.field_to().problem);
        for (x, y) in [
            (
                a.vias_listed().problems.clone(),
                b.vias_listed().problems.clone(),
            ),
            (
                a.contacts_listed().problems.clone(),
                b.contacts_listed().problems.clone(),
            ),
        ] {
            assert_eq!(x, y);
        }
        assert_eq!(a.vias(), b.vias());
        assert_eq!(a.vias_listed().texts(), b.vias_listed().texts());
        assert_eq!(a.top_via(), b.top_via());
        assert_eq!(a.contacts(), b.contacts());
        assert_eq!(a.contacts_listed().texts(), b.contacts_listed().texts());
        assert_eq!(a.top_contact(), b.top_contact());
        assert_eq!(a.contact_wildcard(), b.contact_wildcard());
    }

    #[test]
    fn headers_named_reads_the_index_and_past_a_saturated_count() {
        let mut m = b"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n"
            .to_vec();
        // 300 Route lines: the count saturates at 255, every line is still read.
        for i in 0..300 {
            m.extend_from_slice(format!("Route: <sip:p{i}@h;lr>\r\nX-{i}: y\r\n").as_bytes());
        }
        m.extend_from_slice(b"Contact: <sip:a@h>\r\nv: SIP/2.0/TCP h2\r\n\r\n");
        assert_view_agrees(&m);
        let v = MessageView::new(parse_message(&m).unwrap());
        assert_eq!(v.header_count(HeaderName::Route), u8::MAX);
        assert_eq!(v.headers_named(HeaderName::Route).count(), 300);
        assert_eq!(v.headers_named(HeaderName::Via).count(), 2);
        assert_eq!(v.headers_named(HeaderName::Contact).count(), 1);
        assert_eq!(v.headers_named(HeaderName::Authorization).count(), 0);
        assert_eq!(v.vias().len(), 2);
    }

    #[test]
    fn parse_fields_fills_the_cells_the_accessors_then_read() {
        let m =
            b"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1, , SIP/3.0/UDP h2\r\n\
To: sip:b@h?x=y\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n\
Contact: *, <sip:c@h>\r\n\r\n";
        let lazy = MessageView::new(parse_message(m).unwrap());
        let mut v = MessageView::new(parse_message(m).unwrap());
        v.parse_fields();
        assert_same_fields(&v, &lazy);
        assert!(v.field_to().problem.is_some());
        assert!(v.contact_wildcard());
        // A second call keeps what the first parsed (same cells, nothing parsed again).
        let before = v.vias().as_ptr();
        v.parse_fields();
        assert_eq!(v.vias().as_ptr(), before);
        // A message without the fields: empty cells, as the lazy accessors give.
        let bare = b"OPTIONS sip:b@h SIP/2.0\r\nCall-ID: x@y\r\n\r\n";
        let mut v = MessageView::new(parse_message(bare).unwrap());
        v.parse_fields();
        assert_same_fields(&v, &MessageView::new(parse_message(bare).unwrap()));
        assert!(v.from().is_none() && v.vias().is_empty() && v.top_contact().is_none());
    }

    #[test]
    fn take_headers_leaves_the_parsed_fields() {
        let mut v = MessageView::new(parse_message(INVITE).unwrap());
        v.parse_fields();
        let n = v.headers.len();
        let headers = v.take_headers();
        assert_eq!(headers.len(), n);
        assert!(v.headers.is_empty());
        assert_eq!(v.header(HeaderName::Via), None);
        assert_eq!(v.header_count(HeaderName::Via), 0);
        assert_eq!(v.headers_named(HeaderName::Via).count(), 0);
        assert_eq!(v.vias().len(), 3, "parsed before: kept");
    }

    /// The description parsed ahead is the one parsed on demand; it is given once, and
    /// one given back is the one the next reader gets.
    #[test]
    fn sdp_parsed_ahead_equals_sdp_parsed_on_demand() {
        const OFFER: &[u8] = b"INVITE sip:b@h SIP/2.0\r\nCall-ID: c\r\n\
Content-Type: application/sdp\r\nContent-Length: 61\r\n\r\n\
v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
        let on_demand = MessageView::new(parse_message(OFFER).expect("parses"));
        let want = crate::sdp::parse(on_demand.sdp_body().expect("an SDP body"));
        assert_eq!(want.media.len(), 1);
        assert_eq!(on_demand.take_sdp().as_ref(), Some(&want));
        let mut ahead = MessageView::new(parse_message(OFFER).expect("parses"));
        ahead.parse_sdp_ahead();
        let got = ahead.take_sdp().expect("parsed ahead");
        assert_eq!(got, want);
        assert_eq!(ahead.take_sdp().as_ref(), Some(&want), "then parsed again");
        let mut other = crate::sdp::parse(b"v=0\r\ns=x\r\n");
        other.session_name = Some("given back");
        ahead.give_back_sdp(other.clone());
        assert_eq!(ahead.take_sdp(), Some(other));
        let mut none =
            MessageView::new(parse_message(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n").expect("parses"));
        none.parse_sdp_ahead();
        assert_eq!(none.take_sdp(), None);
    }

    #[test]
    fn the_view_stays_small() {
        // Pinned so that a field added to the view is a choice: it is on the stack of
        // every message (on_sip). It was 1,856 bytes before P7; the SDP parsed ahead on
        // the reader thread (~330 bytes) is kept in it since.
        assert!(
            std::mem::size_of::<MessageView<'_>>() <= 2240,
            "{}",
            std::mem::size_of::<MessageView<'_>>()
        );
    }

    #[test]
    fn fields_parse_once_and_agree_with_the_accessors() {
        assert_view_agrees(INVITE);
        let v = MessageView::new(parse_message(INVITE).unwrap());
        assert_eq!(v.cseq().map(|c| c.seq), Some(314159));
        assert_eq!(v.vias().len(), 3);
        assert_eq!(
            v.top_via().and_then(|t| t.branch),
            Some(&b"z9hG4bK776asdhds"[..])
        );
        assert_eq!(v.from().and_then(|f| f.tag()), Some(&b"1928301774"[..]));
        assert_eq!(v.contacts().len(), 2);
        assert_eq!(v.authorization().len(), 1);
        assert_eq!(v.sdp_body(), Some(&b"v=0\n"[..]));
        // Cached: the second call hands out the same allocation, not a new parse.
        assert!(std::ptr::eq(v.vias(), v.vias()));
        assert!(std::ptr::eq(v.from().unwrap(), v.from().unwrap()));
        assert!(std::ptr::eq(v.authorization(), v.authorization()));
    }

    #[test]
    fn a_field_the_strict_grammar_rejects_keeps_its_lenient_value() {
        let m = b"OPTIONS sip:b@h SIP/2.0\r\n\
Via: SIP/2.0/UDP h;branch=z9hG4bK1, , SIP/3.0/UDP h2\r\n\
To: sip:b@h?x=y\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n\
Contact: *, <sip:c@h>\r\n\r\n";
        assert_view_agrees(m);
        let v = MessageView::new(parse_message(m).unwrap());
        let vias = v.vias_listed();
        assert_eq!(vias.values().len(), 2);
        assert_eq!(vias.texts().len(), 2);
        assert_eq!(
            vias.problems,
            ["empty list element", "unsupported Via sent-protocol"]
        );
        assert!(v.field_to().problem.is_some());
        assert!(v.to().is_some(), "the lenient value is kept");
        assert!(v.contact_wildcard());
        assert_eq!(v.contacts().len(), 1);
    }

    #[test]
    fn a_top_via_that_does_not_parse_is_not_replaced_by_the_next() {
        let m = b"OPTIONS sip:b@h SIP/2.0\r\nVia: garbage, SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n\r\n";
        assert_view_agrees(m);
        let v = MessageView::new(parse_message(m).unwrap());
        assert!(v.top_via().is_none());
        assert_eq!(v.vias().len(), 1);
    }
}
