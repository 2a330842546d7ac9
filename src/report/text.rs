//! Plain-text rendering of a [`Report`]: a summary a person reads in a terminal.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::time::{format_time_of_day, format_utc};
use super::Report;

/// A simple left-aligned table with width-limited cells.
struct Table {
    headers: Vec<&'static str>,
    max: Vec<usize>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(cols: &[(&'static str, usize)]) -> Self {
        Table {
            headers: cols.iter().map(|c| c.0).collect(),
            max: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        // Cut long cells as they come in, so a table of 100k rows is held once.
        let cells = cells
            .into_iter()
            .zip(&self.max)
            .map(|(c, &max)| {
                if c.chars().count() <= max {
                    c
                } else {
                    let mut t: String = c.chars().take(max.saturating_sub(1)).collect();
                    t.push('…');
                    t
                }
            })
            .collect();
        self.rows.push(cells);
    }

    fn render(&self, out: &mut String) {
        let rows = &self.rows;
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for r in rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: Vec<&str>, out: &mut String| {
            let mut l = String::new();
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                if i + 1 == cells.len() {
                    l.push_str(c);
                } else {
                    let pad = w.saturating_sub(c.chars().count());
                    l.push_str(c);
                    l.extend(std::iter::repeat_n(' ', pad + 2));
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(self.headers.clone(), out);
        for r in rows {
            line(r.iter().map(|s| s.as_str()).collect(), out);
        }
    }
}

fn or_dash(s: Option<String>) -> String {
    s.filter(|x| !x.is_empty())
        .unwrap_or_else(|| "-".to_string())
}

/// Renders the report as text.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let s = &r.summary;
    let _ = writeln!(o, "siplens {} report", r.tool.version);
    for i in &r.inputs {
        let _ = writeln!(
            o,
            "input: {} ({} frames, {})",
            i.name,
            i.frames,
            if i.link_types.is_empty() {
                "no interface".to_string()
            } else {
                i.link_types.join(", ")
            }
        );
        if let Some(w) = &i.warning {
            let _ = writeln!(o, "  warning: {w} (everything before it is reported)");
        }
    }
    // Live capture: what each interface saw and lost before the engine.
    for c in &r.capture {
        let _ = writeln!(
            o,
            "capture: {}: {} frames analysed, {} received by libpcap, dropped: kernel {}, interface {}, siplens {}",
            c.interface, c.frames, c.received, c.dropped_by_kernel, c.dropped_by_interface, c.dropped_by_siplens
        );
    }
    // HEP listeners: what reached them, and what they skipped or lost before the engine.
    for h in &r.hep_listeners {
        let kernel = match (h.tcp, h.kernel_drops) {
            (Some(_), _) => String::new(),
            (None, Some(n)) => format!(", kernel drops {n}"),
            (None, None) => ", kernel drops unknown".to_string(),
        };
        let rcvbuf = h
            .rcvbuf_bytes
            .map(|b| format!(", receive buffer {b} bytes"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "hep listener: {}: {} packets received, {} malformed{kernel}{rcvbuf}",
            h.listen, h.received, h.malformed
        );
        if let Some(t) = &h.tcp {
            let _ = writeln!(
                o,
                "  tcp: {} accepted, {} open, refused: per peer {}, total {}; closed: by peer {}, idle {}, malformed {}, evicted {}",
                t.accepted, t.open, t.refused_per_peer, t.refused_total, t.closed_by_peer, t.closed_idle, t.closed_malformed, t.evicted
            );
        }
    }
    if let (Some(a), Some(b)) = (s.first_ts, s.last_ts) {
        let _ = writeln!(
            o,
            "time:  {} → {} UTC ({:.3} s)",
            format_utc(a),
            format_time_of_day(b),
            s.duration_s
        );
    }
    let _ = writeln!(
        o,
        "packets: {}  bytes: {}  SIP messages: {}  dialogs: {} ({} calls)  RTP streams: {}  RTP packets: {}  RTCP packets: {}",
        s.packets, s.bytes, s.sip_messages, s.dialogs, s.calls, s.rtp_streams, s.rtp_packets, s.rtcp_packets
    );
    let lt: Vec<String> = s
        .link_types
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(o, "link types: {}", or_dash(Some(lt.join(", "))));
    let e = &s.engine;
    let n = &s.net;
    let _ = writeln!(
        o,
        "decode: {} errors (malformed SIP {}, truncated frames {}), retransmissions {}, duplicate captures {}, IP fragments {} → {} datagrams, TCP streams {} (gaps {}, retransmitted segments {})",
        s.decode_errors,
        e.sip_malformed,
        n.truncated,
        e.sip_retransmissions,
        e.sip_duplicates,
        n.fragments,
        n.datagrams_reassembled,
        n.tcp_streams,
        n.tcp_gaps,
        n.tcp_retransmissions
    );
    let w = &n.websocket;
    if w.streams > 0 {
        // Only when WebSocket was seen: reports of other captures keep their lines.
        let _ = writeln!(
            o,
            "websocket: {} streams ({} upgrades), {} frames ({} control), {} messages ({} fragmented) → {} SIP, {} bad frames, {} resyncs",
            w.streams,
            w.handshakes,
            w.frames,
            w.control_frames,
            w.messages,
            w.fragmented_messages,
            w.sip_messages,
            w.bad_frames,
            w.resyncs
        );
    }
    if !e.rtcp_malformed.is_empty() {
        // Only when some RTCP could not be read: each reason with its count.
        let reasons: Vec<String> = e
            .rtcp_malformed
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(o, "rtcp malformed: {}", reasons.join(", "));
    }
    let d = &e.dtls;
    if !d.is_empty() {
        let _ = writeln!(
            o,
            "dtls-srtp: {} DTLS associations on media flows, {} keyed from the key log, {} without keys, {} unsupported profile, {} unsupported version",
            d.sessions, d.with_keys, d.without_keys, d.unsupported_profile, d.unsupported_version
        );
        if d.without_keys > 0 {
            let _ = writeln!(
                o,
                "  {} DTLS-SRTP handshakes without keys: give the key log of either peer with --tls-keylog FILE (CLIENT_RANDOM lines); see docs/tls.md",
                d.without_keys
            );
        }
    }
    let t = &n.tls_decrypt;
    if !t.is_empty() {
        // Only when TLS carried application data or keys were given.
        let _ = writeln!(
            o,
            "tls decryption: {} sessions decrypted ({} records, {} bytes of SIP), {} without keys, {} failed with the keys given, {} unsupported; keys: {} key log sessions, {} RSA keys",
            t.sessions_decrypted,
            t.records_decrypted,
            t.plaintext_bytes,
            t.sessions_without_keys,
            t.sessions_failed,
            t.sessions_unsupported,
            t.keylog_sessions,
            t.rsa_keys
        );
        if t.sessions_without_keys > 0 {
            let _ = writeln!(
                o,
                "  {} TLS sessions carried encrypted SIP not read: give their keys with --tls-keylog FILE (SSLKEYLOGFILE of the client or server) or --tls-key server.pem (TLS 1.2 RSA key exchange); see docs/tls.md",
                t.sessions_without_keys
            );
        }
        if t.sessions_failed > 0 {
            let _ = writeln!(
                o,
                "  {} TLS sessions did not decrypt with the keys given (wrong or stale key log, or records missing from the capture): nothing of them was parsed",
                t.sessions_failed
            );
        }
    }
    if let Some(f) = &r.filter {
        let what = match (&f.expression, f.nat) {
            (Some(e), true) => format!("-Y '{e}' and --nat"),
            (Some(e), false) => format!("-Y '{e}'"),
            (None, _) => "--nat (calls with NAT trouble)".to_string(),
        };
        let _ = writeln!(
            o,
            "filter: {what}: showing {} of {} dialogs, {} of {} findings",
            f.dialogs_shown, f.dialogs_total, f.findings_shown, f.findings_total
        );
    }
    let ev = &s.evictions;
    if ev.dialogs + ev.streams + ev.media_bindings + ev.fragments + ev.tcp_streams > 0 {
        let _ = writeln!(
            o,
            "evictions (limits reached, report is partial; --max-memory MB raises them): dialogs {}, streams {}, media bindings {}, fragment buffers {}, TCP streams {}",
            ev.dialogs, ev.streams, ev.media_bindings, ev.fragments, ev.tcp_streams
        );
    }
    let more: Vec<String> = ev
        .nonzero()
        .into_iter()
        .filter(|(name, _)| {
            !matches!(
                *name,
                "dialogs" | "streams" | "media bindings" | "fragment buffers" | "TCP streams"
            )
        })
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    if !more.is_empty() {
        let _ = writeln!(
            o,
            "table evictions (limits reached, see docs/usage.md#limits; --max-memory MB raises them): {}",
            more.join(", ")
        );
    }

    let _ = writeln!(o, "\nDIALOGS ({})", r.dialogs.len());
    if r.dialogs.is_empty() {
        o.push_str("(none)\n");
    } else {
        let mut t = Table::new(&[
            ("#", 6),
            ("START", 12),
            ("METHOD", 10),
            ("FROM", 30),
            ("TO", 30),
            ("STATE", 10),
            ("STATUS", 6),
            ("MSGS", 6),
            ("DUR", 9),
            ("PROTO", 5),
            ("SRC -> DST", 49),
            ("MEDIA", 28),
            ("MOS", 4),
            ("CALL-ID", 48),
        ]);
        for d in &r.dialogs {
            let media: Vec<String> = d
                .media
                .iter()
                .map(|m| {
                    format!(
                        "{} {}{}",
                        m.media,
                        m.codecs.first().map(|c| c.to_string()).unwrap_or_default(),
                        if m.encrypted { " srtp" } else { "" }
                    )
                })
                .collect();
            t.row(vec![
                d.index.to_string(),
                format_time_of_day(d.start),
                d.method.to_string(),
                d.from.to_string(),
                d.to.to_string(),
                d.state.to_string(),
                or_dash(d.final_status.map(|c| c.to_string())),
                d.messages.to_string(),
                format!("{:.1}s", d.duration_s),
                d.transport.to_string(),
                format!("{} -> {}", d.src, d.dst),
                or_dash(Some(media.join("; "))),
                or_dash(d.mos.map(|m| format!("{m:.2}"))),
                d.call_id.to_string(),
            ]);
        }
        t.render(&mut o);
    }
    // Dialogs read from decrypted TLS: the session each came over. Only when there are
    // some, so reports of other captures keep their sections.
    let over_tls: Vec<_> = r
        .dialogs
        .iter()
        .filter_map(|d| d.tls.as_ref().map(|t| (d.index, t)))
        .collect();
    if !over_tls.is_empty() {
        let _ = writeln!(o, "\nDECRYPTED TLS DIALOGS ({})", over_tls.len());
        let mut t = Table::new(&[
            ("#", 6),
            ("CLIENT -> SERVER", 49),
            ("VERSION", 8),
            ("CIPHER", 44),
            ("SNI", 24),
            ("CERTIFICATE", 40),
        ]);
        for (i, l) in over_tls {
            t.row(vec![
                i.to_string(),
                format!("{} -> {}", l.client, l.server),
                or_dash(l.version.clone()),
                or_dash(l.cipher.clone()),
                or_dash(l.sni.clone()),
                or_dash(l.certificate.clone()),
            ]);
        }
        t.render(&mut o);
    }

    // DTMF digits per call (masked unless --show-secrets). Only when some call has any,
    // so reports of other captures keep their sections.
    let with_dtmf: Vec<_> = r.dialogs.iter().filter(|d| !d.dtmf.is_empty()).collect();
    if !with_dtmf.is_empty() {
        let n: usize = with_dtmf.iter().map(|d| d.dtmf.len()).sum();
        let _ = writeln!(o, "\nDTMF ({n} digits in {} dialogs)", with_dtmf.len());
        let mut t = Table::new(&[
            ("#", 6),
            ("TIME", 12),
            ("DIGIT", 5),
            ("MS", 6),
            ("VIA", 7),
            ("CLEAR", 5),
            ("SRC -> DST", 49),
            ("FRAME", 8),
        ]);
        for d in with_dtmf {
            for e in &d.dtmf {
                t.row(vec![
                    d.index.to_string(),
                    format_time_of_day(e.ts),
                    e.digit.to_string(),
                    or_dash(e.duration_ms.map(|m| m.to_string())),
                    e.via.to_string(),
                    if e.cleartext { "yes" } else { "no" }.to_string(),
                    format!("{} -> {}", e.src, e.dst),
                    e.frame.to_string(),
                ]);
            }
        }
        t.render(&mut o);
    }

    let _ = writeln!(o, "\nRTP STREAMS ({})", r.streams.len());
    if r.streams.is_empty() {
        o.push_str("(none)\n");
    } else {
        let mut t = Table::new(&[
            ("#", 6),
            ("SSRC", 10),
            ("SRC -> DST", 49),
            ("CODEC", 14),
            ("PKTS", 9),
            ("LOST", 14),
            ("JITTER MEAN/MAX", 20),
            ("MAXΔ", 9),
            ("MOS", 4),
            ("SRTP", 4),
            ("CALL", 10),
        ]);
        let index_of: HashMap<&str, usize> =
            r.dialogs.iter().map(|d| (d.call_id, d.index)).collect();
        for st in &r.streams {
            let call = st
                .call_id
                .and_then(|c| index_of.get(c))
                .map(|i| format!("#{i}"))
                .unwrap_or_else(|| {
                    if st.announced {
                        "-".into()
                    } else {
                        "(heuristic)".into()
                    }
                });
            t.row(vec![
                st.index.to_string(),
                st.ssrc_hex.clone(),
                format!("{} -> {}", st.src, st.dst),
                st.codec
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("pt {}", st.payload_type)),
                st.packets.to_string(),
                format!("{} ({:.1}%)", st.lost, st.lost_pct),
                // Wireshark's Mean/Max Jitter: the figures a Wireshark user compares.
                format!("{:.2}/{:.2}ms", st.jitter_mean_ms, st.jitter_max_ms),
                format!("{:.0}ms", st.max_delta_ms),
                // E-model estimate (G.107): `-` for video and event-only streams.
                or_dash(st.mos.map(|m| format!("{m:.2}"))),
                // SRTP by its SDP, or proven so: keys (--srtp-key on a stream no SDP
                // announced) authenticated its packets.
                if st.encrypted || st.srtp_decrypted.is_some_and(|n| n > 0) {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
                call,
            ]);
        }
        t.render(&mut o);
        render_rtcp(r, &mut o);
    }

    render_nat(r, &mut o);

    // The counts describe the findings listed below (a filter recounts them), most
    // severe first.
    let by: Vec<String> = s
        .findings_by_severity
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    let _ = writeln!(
        o,
        "\nFINDINGS ({}{})",
        r.findings.len(),
        if by.is_empty() {
            String::new()
        } else {
            format!(": {}", by.join(", "))
        }
    );
    if r.findings.is_empty() {
        o.push_str("(none)\n");
    }
    for f in &r.findings {
        let ev: Vec<String> = f.evidence.iter().map(|x| x.to_string()).collect();
        let _ = writeln!(
            o,
            "[{}] {} {}",
            f.severity.as_str().to_uppercase(),
            f.rule,
            f.summary
        );
        if let Some(c) = &f.call_id {
            let _ = writeln!(o, "    call: {c}");
        }
        let _ = writeln!(o, "    frames: {}", ev.join(", "));
        let _ = writeln!(o, "    advice: {}", f.advice);
    }
    o
}

fn addr_cell(a: &Option<crate::nat::assess::AddrText>) -> String {
    a.as_ref()
        .map(|a| match a.class {
            Some(c) => format!("{} ({})", a.addr, c.as_str()),
            None => a.addr.clone(),
        })
        .unwrap_or_else(|| "-".to_string())
}

fn join_addrs(v: &[std::net::SocketAddr]) -> String {
    or_dash(Some(
        v.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

/// NAT section: per affected call, advertised against observed, the verdicts and advice.
/// One line per stream some RTCP spoke of: what the endpoints reported (RFC 3550 report
/// blocks, RFC 3611 XR) next to what siplens measured on the same stream.
fn render_rtcp(r: &Report, o: &mut String) {
    for st in &r.streams {
        let Some(x) = &st.rtcp else { continue };
        let _ = writeln!(o, "  #{} {}: {}", st.index, st.ssrc_hex, rtcp_line(st, x));
    }
}

/// "endpoint reports: loss 1.2%, jitter 3.40 ms, RTT 12.0 ms, XR MOS-LQ 4.1 ...; ours:
/// loss 0.8%, jitter 2.90 ms, MOS 4.32".
pub fn rtcp_line(st: &crate::report::StreamDto<'_>, x: &crate::report::RtcpDto<'_>) -> String {
    format!(
        "endpoint reports: {}; ours: loss {:.1}%, jitter {:.2} ms, MOS {}",
        endpoint_summary(x),
        st.lost_pct,
        st.jitter_ms,
        or_dash(st.mos.map(|m| format!("{m:.2}")))
    )
}

/// What the endpoints reported about a stream, in one line ("loss 1.2%, 3 cumulative,
/// jitter 3.40 ms, RTT 12.0 ms, XR loss 1.0% MOS-LQ 4.1 MOS-CQ 3.9 R 88, ...").
pub fn endpoint_summary(x: &crate::report::RtcpDto<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(l) = x.fraction_lost_pct {
        let cum = x
            .cumulative_lost
            .map_or(String::new(), |c| format!(", {c} cumulative"));
        parts.push(format!("loss {l:.1}%{cum}"));
    }
    if let Some(j) = x.jitter_ms {
        parts.push(format!("jitter {j:.2} ms"));
    }
    if let Some(rtt) = x.rtt_ms {
        parts.push(format!("RTT {rtt:.1} ms"));
    }
    if let Some(m) = &x.voip_metrics {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        parts.push(format!(
            "XR loss {:.1}% MOS-LQ {} MOS-CQ {} R {}",
            m.loss_pct,
            opt(m.mos_lq),
            opt(m.mos_cq),
            m.r_factor.map_or("-".to_string(), |r| r.to_string())
        ));
    }
    if let Some(p) = x.sender_packets {
        parts.push(format!("sender {p} pkts"));
    }
    if let Some(c) = x.cname {
        parts.push(format!("CNAME {c}"));
    }
    if parts.is_empty() {
        parts.push("no report blocks".into());
    }
    parts.join(", ")
}

fn render_nat(r: &Report, o: &mut String) {
    let calls: Vec<_> = r
        .dialogs
        .iter()
        .filter_map(|d| d.nat.as_ref().map(|n| (d, n)))
        .collect();
    if calls.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nNAT ({} dialogs)", calls.len());
    for (d, n) in calls {
        o.push_str(&nat_section(d, n));
    }
}

/// One call's NAT section (the verdict line, the advertised-against-observed table, each
/// party's verdict, media and advice), as the text report and the dashboard print it.
pub fn nat_section(d: &super::DialogDto<'_>, n: &crate::nat::NatView) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(o, "#{} {} {}: {}", d.index, d.method, d.call_id, n.verdict);
    let mut t = Table::new(&[
        ("ROLE", 6),
        ("SIGNALING FROM", 47),
        ("VIA", 60),
        ("CONTACT", 60),
        ("SDP", 70),
        ("RTP FROM", 50),
        ("RTP TO", 50),
        ("RPORT", 44),
    ]);
    for p in &n.parties {
        let sdp: Vec<String> = p
            .advertised
            .sdp
            .iter()
            .map(|a| addr_cell(&Some(a.clone())))
            .collect();
        let rport = match &p.rport {
            None => "-".to_string(),
            Some(rp) if !rp.requested => "not requested".to_string(),
            Some(rp) => match (rp.received, rp.filled) {
                (None, None) => "requested".to_string(),
                (rc, f) => format!(
                    "received={} rport={}",
                    rc.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
                    f.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
                ),
            },
        };
        t.row(vec![
            p.role.as_str().to_string(),
            format!("{} ({})", p.observed.signaling, p.observed.class.as_str()),
            addr_cell(&p.advertised.via),
            addr_cell(&p.advertised.contact),
            or_dash(Some(sdp.join(", "))),
            join_addrs(&p.observed.media_from),
            join_addrs(&p.observed.media_to),
            rport,
        ]);
    }
    let mut table = String::new();
    t.render(&mut table);
    for l in table.lines() {
        let _ = writeln!(o, "  {l}");
    }
    for p in &n.parties {
        let _ = writeln!(
            o,
            "  {} {}: {}",
            p.role.as_str(),
            p.observed.signaling,
            p.verdict
        );
        if let Some(reg) = &p.register {
            let _ = writeln!(
                o,
                "    registration: asked {}, granted {}, {} REGISTER(s), {} keepalive(s) seen",
                reg.requested
                    .map(|x| format!("{x} s"))
                    .unwrap_or_else(|| "-".into()),
                reg.granted
                    .map(|x| format!("{x} s"))
                    .unwrap_or_else(|| "-".into()),
                reg.count,
                reg.keepalives
            );
        }
    }
    if let Some(m) = &n.media {
        let _ = writeln!(
            o,
            "  media: caller sent {} packets ({} could reach the callee), callee sent {} ({} could reach the caller)",
            m.from_caller, m.to_callee_delivered, m.from_callee, m.to_caller_delivered
        );
    }
    for a in crate::nat::advice(n) {
        let _ = writeln!(o, "  advice: {a}");
    }
    out
}
