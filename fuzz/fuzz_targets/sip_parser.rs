//! Fuzz the SIP parser: arbitrary bytes through `parse_message`, every accessor,
//! `validate` and the stream framer. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::net::frame_stream;
use siplens::sip::{parse_message, validate, HeaderName};

fuzz_target!(|data: &[u8]| {
    let _ = frame_stream(data);
    let Ok(m) = parse_message(data) else { return };
    assert!(m.len <= data.len());
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
    for p in validate(&m) {
        let _ = (p.code(), p.to_string());
    }
    if let Some(rest) = data.get(m.len..) {
        let _ = parse_message(rest);
    }
});
