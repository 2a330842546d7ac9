//! SIP over WebSocket (RFC 7118): the ws-call sample cross-checked with tshark (SIP
//! messages per transport and frame, Call-IDs, WebSocket frames), its export, and the NAT
//! assessment of WebSocket clients, whose Via and Contact carry a `*.invalid` host
//! (RFC 7118 §5.2).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use siplens::capture::{self, Frame, LinkType, Timestamp};
use siplens::engine::Analyzer;
use siplens::export::{self, Selection};
use siplens::net::Transport;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/ws-call.pcap")
}

fn analyze(path: &Path) -> Analyzer {
    let mut src = capture::open_path(path).expect("sample opens");
    let mut an = siplens::rules::analyzer(siplens::engine::Limits::default());
    an.run_source(&mut src, &mut |_, _| {});
    an
}

/// Frame numbers of the SIP messages siplens recorded, per transport (a frame once per
/// message it completed).
fn message_frames(an: &Analyzer) -> BTreeMap<&'static str, Vec<u64>> {
    let mut m: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    for d in an.dialogs() {
        for r in &d.messages {
            m.entry(r.transport.as_str()).or_default().push(r.frame);
        }
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}

fn tshark(path: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(args)
        .output()
        .expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Frame numbers tshark shows for a display filter.
fn tshark_frames(path: &Path, filter: &str) -> Vec<u64> {
    tshark(path, &["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .iter()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn ws_call_sample_agrees_with_tshark() {
    let an = analyze(&sample());
    let frames = message_frames(&an);
    let ws = frames.get("WS").cloned().unwrap_or_default();
    let udp = frames.get("UDP").cloned().unwrap_or_default();
    // Without tshark, what the sample holds: 9 SIP messages over WebSocket (the INVITE
    // completed by its last fragment, frame 19), 7 over UDP, 2 Call-IDs.
    assert_eq!(ws, vec![8, 9, 19, 20, 24, 27, 28, 31, 35]);
    assert_eq!(udp.len(), 7);
    let mut ids: Vec<String> = an.dialogs().map(|d| d.call_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, vec!["call-ws-1", "reg-ws-1"]);
    let net = &an.net_stats().websocket;
    assert_eq!(
        (net.streams, net.handshakes, net.other_protocols),
        (2, 2, 0)
    );
    assert_eq!(
        (net.bad_frames, net.desyncs, net.cut_sip_messages),
        (0, 0, 0)
    );

    if !common::tool("tshark", "-v", "ws_call_sample_agrees_with_tshark") {
        return;
    }
    let p = sample();
    // tshark finds SIP in every unfragmented WebSocket message; it does not reassemble
    // fragmented ones (4.0), whose last frame (continuation with FIN) completes a message
    // carrying one SIP message (RFC 7118 §5).
    let mut want_ws = tshark_frames(&p, "sip && websocket");
    let fragmented = tshark_frames(&p, "websocket.opcode == 0 && websocket.fin == 1");
    assert_eq!(fragmented, vec![19], "the sample's fragmented INVITE");
    want_ws.extend(&fragmented);
    want_ws.sort_unstable();
    assert_eq!(ws, want_ws, "SIP over WebSocket, per frame");
    assert_eq!(
        udp,
        tshark_frames(&p, "sip && udp"),
        "SIP over UDP, per frame"
    );
    let mut tshark_ids: Vec<String> =
        tshark(&p, &["-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"]);
    tshark_ids.sort();
    tshark_ids.dedup();
    assert_eq!(ids, tshark_ids, "dialogs = Call-IDs");
    // The frames themselves.
    assert_eq!(net.frames, tshark_frames(&p, "websocket").len() as u64);
    assert_eq!(
        net.control_frames,
        tshark_frames(&p, "websocket.opcode >= 8").len() as u64
    );
    assert_eq!(net.fragmented_messages, fragmented.len() as u64);
    assert_eq!(
        net.handshakes,
        tshark_frames(&p, "http.upgrade contains \"websocket\"").len() as u64
    );
}

#[test]
fn ws_call_export_keeps_the_websocket_frames() {
    let input = sample();
    let full = export::analyze(std::slice::from_ref(&input)).expect("analysis");
    let sel = Selection::for_calls(&full, &["call-ws-1"]).expect("known id");
    let dir = std::env::temp_dir().join(format!("siplens-ws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let out = dir.join("ws-call-invite.pcap");
    export::export_to_file(std::slice::from_ref(&input), &sel, &out).expect("export");
    let back = analyze(&out);
    // (transport, CSeq number, retransmission) of the call's messages, sorted: the registration's frames
    // on the same connection are left out (docs/export.md, limits), so the WebSocket
    // messages after that hole come out when the FIN closes it, after the UDP leg.
    let msgs = |an: &Analyzer| -> Vec<(Transport, Option<u32>, bool)> {
        let mut v: Vec<(Transport, Option<u32>, bool)> = an
            .dialogs()
            .filter(|d| d.call_id == "call-ws-1")
            .flat_map(|d| {
                d.messages
                    .iter()
                    .map(|m| (m.transport, m.cseq.map(|c| c.0), m.retransmission))
            })
            .collect();
        v.sort();
        v
    };
    // Every message of the call comes back, the fragmented INVITE included: the frames
    // carrying its earlier fragments were written with the one completing it.
    assert_eq!(msgs(&back).len(), 14);
    assert_eq!(msgs(&back), msgs(&full));
    assert_eq!(back.net_stats().websocket.fragmented_messages, 1);
    if common::tool("tshark", "-v", "ws_call_export_keeps_the_websocket_frames") {
        assert_eq!(tshark_frames(&out, "websocket.opcode == 0").len(), 3);
        // The upgrade and the pings came along.
        assert_eq!(tshark_frames(&out, "http.upgrade").len(), 2);
        assert_eq!(tshark_frames(&out, "websocket.opcode == 9").len(), 2);
        assert_eq!(
            tshark_frames(&out, "sip && websocket").len(),
            tshark_frames(&input, "sip && websocket && sip.Call-ID == \"call-ws-1\"").len()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A browser behind NAT talking to a proxy over WebSocket, built segment by segment.
struct Conn {
    an: Analyzer,
    n: u64,
    seq: [u32; 2],
    client: SocketAddr,
    proxy: SocketAddr,
}

const T0: u64 = 1_700_000_000_000_000_000;
const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

impl Conn {
    fn new() -> Self {
        Conn {
            an: siplens::rules::analyzer(siplens::engine::Limits::default()),
            n: 0,
            seq: [1000, 9000],
            client: "198.51.100.7:50312".parse().expect("addr"),
            proxy: "203.0.113.10:8080".parse().expect("addr"),
        }
    }

    /// One TCP segment from the client (`up`) or the proxy.
    fn send(&mut self, up: bool, payload: &[u8]) {
        let (s, d, i) = if up {
            (self.client, self.proxy, 0)
        } else {
            (self.proxy, self.client, 1)
        };
        let (SocketAddr::V4(s), SocketAddr::V4(d)) = (s, d) else {
            panic!("v4 only");
        };
        let b = etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
            .ipv4(s.ip().octets(), d.ip().octets(), 64)
            .tcp(s.port(), d.port(), self.seq[i], 65535);
        let mut data = Vec::new();
        b.write(&mut data, payload).expect("build");
        self.seq[i] = self.seq[i].wrapping_add(payload.len() as u32);
        self.n += 1;
        self.an.process(&Frame {
            number: self.n,
            ts: Timestamp(T0 + self.n * 10_000_000),
            link_type: LinkType::ETHERNET,
            orig_len: data.len() as u32,
            data,
            interface: 0,
        });
    }

    /// A SIP message in one WebSocket text frame: masked from the client (RFC 6455 §5.3).
    fn sip(&mut self, up: bool, msg: &str) {
        let p = msg.as_bytes();
        let mut f = vec![0x81];
        let mask = if up { 0x80 } else { 0 };
        if p.len() < 126 {
            f.push(mask | p.len() as u8);
        } else {
            f.push(mask | 126);
            f.extend_from_slice(&(p.len() as u16).to_be_bytes());
        }
        if up {
            f.extend_from_slice(&KEY);
            f.extend(p.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
        } else {
            f.extend_from_slice(p);
        }
        self.send(up, &f);
    }

    /// Upgrade, INVITE with SDP c= `sdp_ip`, 200 OK, ACK.
    fn call(sdp_ip: &str) -> Self {
        let mut c = Conn::new();
        c.send(
            true,
            b"GET / HTTP/1.1\r\nHost: 203.0.113.10:8080\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
        c.send(
            false,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n",
        );
        let sdp = |ip: &str, port: u16| {
            format!(
                "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
m=audio {port} RTP/AVP 0\r\na=sendrecv\r\n"
            )
        };
        let offer = sdp(sdp_ip, 50006);
        let via = "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks;rport";
        let head = "From: <sip:alice@example.com>;tag=asdyka899\r\nCall-ID: asidkj3ss\r\n";
        c.sip(
            true,
            &format!(
                "INVITE sip:bob@example.com SIP/2.0\r\n{via}\r\n{head}To: <sip:bob@example.com>\r\n\
CSeq: 1 INVITE\r\nContact: <sip:alice@df7jal23ls0d.invalid;transport=ws;ob>\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{offer}",
                offer.len()
            ),
        );
        let answer = sdp("203.0.113.20", 40000);
        c.sip(
            false,
            &format!(
                "SIP/2.0 200 OK\r\n{via};received=198.51.100.7;rport=50312\r\n{head}\
To: <sip:bob@example.com>;tag=bob1\r\nCSeq: 1 INVITE\r\n\
Record-Route: <sip:203.0.113.10:8080;transport=ws;lr>\r\n\
Contact: <sip:bob@203.0.113.20:5060>\r\nContent-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{answer}",
                answer.len()
            ),
        );
        c.sip(
            true,
            &format!(
                "ACK sip:bob@203.0.113.20:5060 SIP/2.0\r\n{via}\r\n{head}\
To: <sip:bob@example.com>;tag=bob1\r\nRoute: <sip:203.0.113.10:8080;transport=ws;lr>\r\n\
CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
            ),
        );
        c
    }

    fn nat_rules(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .an
            .findings()
            .into_iter()
            .map(|f| f.rule.0.to_string())
            .filter(|r| r.starts_with("nat."))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[test]
fn invalid_via_and_contact_hosts_are_no_nat_evidence() {
    // RFC 7118 §5.2: the client's Via and Contact name a random *.invalid host, never
    // its address. With an SDP address that is its source, nothing is wrong.
    let c = Conn::call("198.51.100.7");
    let d = c.an.dialogs().next().expect("the call");
    assert_eq!(d.messages.len(), 3);
    assert!(d.messages.iter().all(|m| m.transport == Transport::Ws));
    assert_eq!(c.nat_rules(), Vec::<String>::new());
}

#[test]
fn websocket_client_behind_nat_is_still_flagged_by_its_sdp() {
    // The same client advertising its LAN address in SDP: a real mismatch, flagged;
    // its *.invalid Via and Contact still are not.
    let c = Conn::call("192.168.1.20");
    let rules = c.nat_rules();
    assert!(rules.iter().any(|r| r == "nat.sdp-private"), "{rules:?}");
    assert!(
        !rules
            .iter()
            .any(|r| r == "nat.via-mismatch" || r == "nat.contact-private"),
        "{rules:?}"
    );
}

#[test]
fn reports_and_the_display_filter_name_the_ws_transport() {
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "-F", "json", "-Y", "transport = ws"])
        .arg(sample())
        .output()
        .expect("siplens runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let dialogs = v["dialogs"].as_array().expect("dialogs");
    assert_eq!(dialogs.len(), 2);
    assert!(dialogs.iter().all(|d| d["transport"] == "WS"));
    let flow = dialogs
        .iter()
        .flat_map(|d| d["flow"].as_array().cloned().unwrap_or_default())
        .map(|m| m["transport"].as_str().unwrap_or("").to_string())
        .collect::<Vec<_>>();
    assert_eq!(flow.iter().filter(|t| *t == "WS").count(), 9);
    assert_eq!(flow.iter().filter(|t| *t == "UDP").count(), 7);
    assert_eq!(v["summary"]["net"]["websocket"]["fragmented_messages"], 1);
    // The text report has one line about it.
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .arg("report")
        .arg(sample())
        .output()
        .expect("siplens runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l
            == "websocket: 2 streams (2 upgrades), 18 frames (6 control), 9 messages (1 fragmented) → 9 SIP, 0 bad frames, 0 resyncs"),
        "{text}"
    );
    // A capture without WebSocket has no websocket object.
    let plain = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tcp-call.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "-F", "json"])
        .arg(plain)
        .output()
        .expect("siplens runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(v["summary"]["net"].get("websocket").is_none());
    assert_eq!(v["summary"]["net"]["tcp_sip_messages"], 7);
}
