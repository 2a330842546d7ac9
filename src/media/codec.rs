//! Static RTP payload types (RFC 3551 §6, Tables 4 and 5).

/// A codec as negotiated by `a=rtpmap` or assigned statically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Codec<'a> {
    /// Encoding name (`PCMU`, `opus`, ...).
    pub name: &'a str,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels (1 unless stated; 1 for video, where it has no meaning).
    pub channels: u16,
}

/// The RFC 3551 static assignment for a payload type (`None` for reserved, unassigned and
/// dynamic types). PT 2 (formerly G721) is reserved by RFC 3551 and returns `None`.
pub fn static_payload_type(pt: u8) -> Option<Codec<'static>> {
    let (name, clock_rate, channels) = match pt {
        0 => ("PCMU", 8000, 1),
        3 => ("GSM", 8000, 1),
        4 => ("G723", 8000, 1),
        5 => ("DVI4", 8000, 1),
        6 => ("DVI4", 16000, 1),
        7 => ("LPC", 8000, 1),
        8 => ("PCMA", 8000, 1),
        // RFC 3551 §4.5.2: G722 is sampled at 16 kHz but its RTP clock is 8000 Hz.
        9 => ("G722", 8000, 1),
        10 => ("L16", 44100, 2),
        11 => ("L16", 44100, 1),
        12 => ("QCELP", 8000, 1),
        13 => ("CN", 8000, 1),
        14 => ("MPA", 90000, 1),
        15 => ("G728", 8000, 1),
        16 => ("DVI4", 11025, 1),
        17 => ("DVI4", 22050, 1),
        18 => ("G729", 8000, 1),
        25 => ("CelB", 90000, 1),
        26 => ("JPEG", 90000, 1),
        28 => ("nv", 90000, 1),
        31 => ("H261", 90000, 1),
        32 => ("MPV", 90000, 1),
        33 => ("MP2T", 90000, 1),
        34 => ("H263", 90000, 1),
        _ => return None,
    };
    Some(Codec {
        name,
        clock_rate,
        channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(
            static_payload_type(0),
            Some(Codec {
                name: "PCMU",
                clock_rate: 8000,
                channels: 1
            })
        );
        assert_eq!(static_payload_type(8).map(|c| c.name), Some("PCMA"));
        assert_eq!(static_payload_type(9).map(|c| c.clock_rate), Some(8000));
        assert_eq!(static_payload_type(10).map(|c| c.channels), Some(2));
        assert_eq!(static_payload_type(18).map(|c| c.name), Some("G729"));
        assert_eq!(static_payload_type(34).map(|c| c.clock_rate), Some(90000));
        for pt in [1, 2, 19, 20, 24, 27, 35, 72, 96, 127, 200] {
            assert_eq!(static_payload_type(pt), None, "pt {pt}");
        }
    }
}
