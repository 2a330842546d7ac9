//! SIP message parser (RFC 3261 §7, §20, §25).
//!
//! [`parse_message`] does one memchr pass over the bytes: start line, a `Vec` of
//! [`Header`] views in wire order (compact forms folded, duplicates kept) and the body
//! framed by Content-Length. Nothing else is interpreted until asked: the typed
//! accessors on [`SipMessage`] (`vias()`, `cseq()`, `from()`, `authorization()`,
//! `sdp_body()`, ...) parse on demand and borrow from the input.
//! Parameter lists (URI, name-addr, Via) are [`Params`] views over the wire bytes,
//! read lazily: the accessors and [`validate`] allocate nothing for a typical message.
//!
//! The parse is lenient ("liberal recovery", RFC 4475 §1): what it tolerated is kept
//! in [`SipMessage::warnings`]. [`validate`] applies the strict grammar and reports
//! every [`Problem`]; a message is malformed when `parse_message` fails or `validate`
//! returns anything. Valid RFC 4475 torture messages yield no problem.

mod access;
mod addr;
mod auth;
mod header;
mod message;
mod mime;
#[cfg(test)]
mod proptests;
mod shape;
mod text;
mod uri;
mod validate;
mod via;
mod view;

pub use access::CSeq;
pub use addr::NameAddr;
pub use auth::{AuthScheme, AuthValue, Challenge, Credentials};
pub use header::HeaderName;
pub use message::{
    parse_message, parse_message_in, recycle_headers, Header, Method, ParseError, ParseWarning,
    SipMessage, StartLine, StatusCode,
};
pub use mime::{multipart_part_types, MediaType};
pub(crate) use text::contains_ci;
pub use text::{Params, ParamsIter};
pub use uri::{FieldError, Scheme, Uri};
pub use validate::{validate, validate_view, validate_with, Problem, ValueMemo};
pub use via::Via;
pub use view::MessageView;

/// Calls every accessor and `validate` on a message, so that a panic anywhere in the
/// on-demand parsers shows up. Shared by the proptests and the `sip_parser` fuzz target
/// (cargo-fuzz builds with `--cfg fuzzing`); not part of the library's API otherwise.
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub fn exercise(m: &SipMessage<'_>) {
    let _ = (
        m.is_request(),
        m.method(),
        m.status(),
        m.request_uri_parsed(),
    );
    let _ = (
        m.call_id(),
        m.cseq(),
        m.from(),
        m.to(),
        m.vias(),
        m.contacts(),
    );
    let _ = (m.contact_wildcard(), m.routes(), m.record_routes());
    let _ = (
        m.content_length(),
        m.content_type(),
        m.max_forwards(),
        m.expires(),
    );
    let _ = (m.user_agent(), m.server(), m.sdp_body());
    let _ = (m.www_authenticate(), m.proxy_authenticate());
    let _ = (m.authorization(), m.proxy_authorization());
    let _ = m.has_option_tag(HeaderName::Supported, "100rel");
    let _ = m.headers_named(HeaderName::Via).count();
    let _ = m.header_by_name(b"X-Foo");
    for p in validate(m) {
        let _ = (p.code(), p.to_string());
    }
}
