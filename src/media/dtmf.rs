//! DTMF digits as calls carry them: RFC 4733 telephone-events in RTP, and the SIP INFO
//! (`application/dtmf-relay`, `application/dtmf`) and KPML (RFC 4730) bodies that carry
//! them in signaling. Pure functions over `&[u8]`; nothing here keeps state: merging the
//! packets of one event is the engine's job (it knows the stream).

/// One RFC 4733 §2.3 named-event payload: the first 4 bytes of the RTP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (RFC 4733 §3.2: 0-9 digits, 10 `*`, 11 `#`, 12-15 `A`-`D`).
    pub event: u8,
    /// E bit: the event has ended (the last packet, sent three times, §2.5.1.4).
    pub end: bool,
    /// Volume in -dBm0 (0..=63), meaningful for DTMF only.
    pub volume: u8,
    /// Duration so far in timestamp units, counted from the event's RTP timestamp
    /// (§2.5.1.3: each update carries the cumulative duration).
    pub duration: u16,
}

/// Parses the named-event payload (RFC 4733 §2.3): event, E bit, R bit, volume,
/// duration. `None` when fewer than 4 bytes. A packet may carry more blocks after the
/// first (RFC 2198 redundancy); only the first is read, which is the current event.
pub fn parse_event(payload: &[u8]) -> Option<TelephoneEvent> {
    let (&event, &flags, &hi, &lo) = (
        payload.first()?,
        payload.get(1)?,
        payload.get(2)?,
        payload.get(3)?,
    );
    Some(TelephoneEvent {
        event,
        end: flags & 0x80 != 0,
        // The R bit (0x40) is reserved and ignored by receivers (§2.3).
        volume: flags & 0x3f,
        duration: u16::from_be_bytes([hi, lo]),
    })
}

/// The DTMF digit of event code `event` (RFC 4733 §3.2, table 7): 0-9, `*`, `#`, `A`-`D`.
/// `None` for every other event (flash, fax and modem tones: RFC 4734).
pub fn digit_of(event: u8) -> Option<u8> {
    match event {
        0..=9 => Some(b'0' + event),
        10 => Some(b'*'),
        11 => Some(b'#'),
        12..=15 => Some(b'A' + (event - 12)),
        _ => None,
    }
}

/// A DTMF digit written as text: `0`-`9`, `*`, `#`, `A`-`D` (lower case accepted), or
/// the event code 10-15 as a number, as some devices send `Signal=11` for `#`.
fn digit_text(v: &[u8]) -> Option<u8> {
    let v = v.trim_ascii();
    match v {
        [c @ (b'0'..=b'9' | b'*' | b'#')] => Some(*c),
        [c @ (b'A'..=b'D' | b'a'..=b'd')] => Some(c.to_ascii_uppercase()),
        [b'1', c @ b'0'..=b'5'] => digit_of(10 + (c - b'0')),
        _ => None,
    }
}

/// A digit from a SIP INFO body of type `application/dtmf-relay` (the de-facto format of
/// Cisco gateways, never standardised: `Signal=5\r\nDuration=160\r\n`), with the
/// duration in milliseconds when given. Lenient: keys are case-insensitive, lines may end
/// with LF only, spaces around `=` are allowed, unknown lines are skipped.
pub fn parse_dtmf_relay(body: &[u8]) -> Option<(u8, Option<u32>)> {
    let mut digit = None;
    let mut duration = None;
    for line in body.split(|&b| b == b'\n') {
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (key, value) = (line.get(..eq)?.trim_ascii(), line.get(eq + 1..)?);
        if key.eq_ignore_ascii_case(b"signal") {
            digit = digit.or_else(|| digit_text(value));
        } else if key.eq_ignore_ascii_case(b"duration") {
            duration = std::str::from_utf8(value.trim_ascii())
                .ok()
                .and_then(|s| s.parse::<u32>().ok());
        }
    }
    digit.map(|d| (d, duration))
}

/// A digit from a SIP INFO body of type `application/dtmf`: the body is the digit itself
/// (`5`, `#`, or the event code `11`). A body in the dtmf-relay form is read as that,
/// since some devices label one with the other's type.
pub fn parse_dtmf_body(body: &[u8]) -> Option<u8> {
    digit_text(body).or_else(|| parse_dtmf_relay(body).map(|(d, _)| d))
}

/// The digits of a KPML response (RFC 4730 §6.2: `<kpml-response version="1.0"
/// code="200" text="OK" digits="1234" tag="..."/>`, the body of a NOTIFY of type
/// `application/kpml-response+xml`): the value of its `digits` attribute, keeping only
/// DTMF characters. Lenient: no XML parser, the attribute is found by name, quoted with
/// `"` or `'`. `None` when there is no such attribute or it holds no digit.
pub fn parse_kpml_digits(body: &[u8]) -> Option<Vec<u8>> {
    let mut rest = body;
    while let Some(at) = find(rest, b"digits") {
        let before = at.checked_sub(1).and_then(|i| rest.get(i)).copied();
        let after = rest.get(at + b"digits".len()..)?;
        rest = after;
        // An attribute name starts after white space (not inside `xdigits=`).
        if before.is_some_and(|b| !b.is_ascii_whitespace()) {
            continue;
        }
        let after = after.trim_ascii_start();
        let Some(after) = after.strip_prefix(b"=") else {
            continue;
        };
        let after = after.trim_ascii_start();
        let (&quote, value) = after.split_first()?;
        if quote != b'"' && quote != b'\'' {
            continue;
        }
        let end = value.iter().position(|&b| b == quote)?;
        let digits: Vec<u8> = value
            .get(..end)?
            .iter()
            .filter_map(|&c| digit_text(&[c]))
            .collect();
        return (!digits.is_empty()).then_some(digits);
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_payload_fields() {
        // SIPp's dtmf_2833_1.pcap: digit 1, volume 10, duration 320, then the end packet.
        assert_eq!(
            parse_event(b"\x01\x0a\x01\x40"),
            Some(TelephoneEvent {
                event: 1,
                end: false,
                volume: 10,
                duration: 320
            })
        );
        let end = parse_event(b"\x0b\x8a\x08\xc0").unwrap();
        assert!(end.end);
        assert_eq!((end.event, end.volume, end.duration), (11, 10, 2240));
        // The reserved R bit is not the volume.
        assert_eq!(parse_event(b"\x05\x40\x00\xa0").unwrap().volume, 0);
        assert_eq!(parse_event(b"\x01\x0a\x01"), None);
        assert_eq!(parse_event(b""), None);
    }

    #[test]
    fn event_codes_map_to_digits() {
        let all: Vec<u8> = (0..=15).filter_map(digit_of).collect();
        assert_eq!(all, b"0123456789*#ABCD");
        assert_eq!(digit_of(16), None); // flash (RFC 4734)
        assert_eq!(digit_of(255), None);
    }

    #[test]
    fn dtmf_relay_bodies() {
        assert_eq!(
            parse_dtmf_relay(b"Signal=5\r\nDuration=160\r\n"),
            Some((b'5', Some(160)))
        );
        assert_eq!(
            parse_dtmf_relay(b"signal = #\nduration= 250"),
            Some((b'#', Some(250)))
        );
        assert_eq!(parse_dtmf_relay(b"Signal=11\r\n"), Some((b'#', None)));
        assert_eq!(parse_dtmf_relay(b"Signal=d\r\n"), Some((b'D', None)));
        assert_eq!(
            parse_dtmf_relay(b"Duration=x\r\nSignal=*\r\n"),
            Some((b'*', None))
        );
        assert_eq!(parse_dtmf_relay(b"Signal=16\r\n"), None);
        assert_eq!(parse_dtmf_relay(b"Signal=\r\n"), None);
        assert_eq!(parse_dtmf_relay(b"Duration=160\r\n"), None);
        assert_eq!(parse_dtmf_relay(b"=\r\n==\n\xff"), None);
    }

    #[test]
    fn dtmf_bodies() {
        assert_eq!(parse_dtmf_body(b"7"), Some(b'7'));
        assert_eq!(parse_dtmf_body(b" #\r\n"), Some(b'#'));
        assert_eq!(parse_dtmf_body(b"10"), Some(b'*'));
        assert_eq!(parse_dtmf_body(b"Signal=3\r\n"), Some(b'3'));
        assert_eq!(parse_dtmf_body(b"77"), None);
        assert_eq!(parse_dtmf_body(b""), None);
    }

    #[test]
    fn kpml_digits() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
            <kpml-response version=\"1.0\" code=\"200\" text=\"OK\" digits=\"12#\" tag=\"pin\"/>\r\n";
        assert_eq!(parse_kpml_digits(body), Some(b"12#".to_vec()));
        assert_eq!(
            parse_kpml_digits(b"<kpml-response digits = '4a' code='200'/>"),
            Some(b"4A".to_vec())
        );
        // `xdigits` is not `digits`; a later real attribute is found.
        assert_eq!(
            parse_kpml_digits(b"<r xdigits=\"9\" digits=\"8\"/>"),
            Some(b"8".to_vec())
        );
        assert_eq!(
            parse_kpml_digits(b"<kpml-response code=\"423\" text=\"Timer Expired\"/>"),
            None
        );
        assert_eq!(parse_kpml_digits(b"<r digits=\"\"/>"), None);
        assert_eq!(parse_kpml_digits(b"<r digits=\"12"), None);
        assert_eq!(parse_kpml_digits(b"digits"), None);
        assert_eq!(parse_kpml_digits(b""), None);
    }
}
