//! One limits tree: `--max-memory` scales the rule tables too, not only dialogs and
//! streams. A scan from many distinct source addresses at the 16 MiB floor must stay
//! within the scaled attack-source table and show its evictions in
//! `summary.evictions.attack_sources` (before, the table kept its fixed 16,384 sources
//! whatever the budget, and nothing of it reached `summary.evictions`).

use std::process::Command;

use siplens::capture::{Frame, LinkType, Timestamp};
use siplens::engine::Limits;
use siplens::report::Report;

/// Distinct scanner sources sent: far more than the 16 MiB budget pays for.
const SOURCES: u32 = 1_200;

fn ip_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An Ethernet/IPv4/UDP frame from `src` to 192.0.2.10, port 5060 both sides.
fn udp_bytes(src: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let ulen = 8 + payload.len();
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + ulen) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&[192, 0, 2, 10]);
    let c = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&5060u16.to_be_bytes());
    f.extend_from_slice(&5060u16.to_be_bytes());
    f.extend_from_slice(&(ulen as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Source `i`: 10.x.y.z, one address per scanner.
fn src_of(i: u32) -> [u8; 4] {
    let v = i + 1;
    [10, (v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// One OPTIONS probe from source `i`, with a scanner User-Agent.
fn probe(i: u32) -> Vec<u8> {
    let [a, b, c, d] = src_of(i);
    let src = format!("{a}.{b}.{c}.{d}");
    format!(
        "OPTIONS sip:100@192.0.2.10 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bKsc{i:08x}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:100@{src}>;tag=sc{i:08x}\r\n\
         To: <sip:100@192.0.2.10>\r\n\
         Call-ID: scan-{i:08x}@{src}\r\n\
         CSeq: 1 OPTIONS\r\n\
         User-Agent: friendly-scanner\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Nanoseconds of frame `i`: 10 ms apart.
fn ts_ns(i: u32) -> u64 {
    1_700_000_000_000_000_000 + u64::from(i) * 10_000_000
}

fn frames() -> Vec<Frame> {
    (0..SOURCES)
        .map(|i| {
            let data = udp_bytes(src_of(i), &probe(i));
            Frame {
                number: u64::from(i) + 1,
                ts: Timestamp(ts_ns(i)),
                link_type: LinkType::ETHERNET,
                orig_len: data.len() as u32,
                data,
                interface: 0,
            }
        })
        .collect()
}

/// The same frames as a classic pcap file (microsecond timestamps, Ethernet).
fn pcap() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..SOURCES {
        let data = udp_bytes(src_of(i), &probe(i));
        let ns = ts_ns(i);
        out.extend_from_slice(&((ns / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(((ns % 1_000_000_000) / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
    }
    out
}

#[test]
fn a_16_mib_budget_bounds_the_attack_source_table_and_counts_its_evictions() {
    let limits = Limits::default().for_memory(16, false);
    let max = limits.rules.attack_sources;
    assert!(
        max < SOURCES as usize,
        "16 MiB should pay for fewer than {SOURCES} attack sources, got {max}"
    );
    let mut an = siplens::rules::analyzer(limits);
    assert_eq!(an.limits().rules.attack_sources, max);
    for f in &frames() {
        an.process(f);
    }
    let stats = an.stats();
    assert!(
        stats.attack.source_evictions >= u64::from(SOURCES) - max as u64,
        "{} evictions for {SOURCES} sources in a table of {max}",
        stats.attack.source_evictions
    );
    let report = Report::build(&an, 0);
    let mut json = Vec::new();
    report.write_json(&mut json, false).expect("json");
    let v: serde_json::Value = serde_json::from_slice(&json).expect("parse");
    let ev = &v["summary"]["evictions"];
    assert_eq!(
        ev["attack_sources"].as_u64(),
        Some(stats.attack.source_evictions),
        "{ev}"
    );
}

#[test]
fn report_max_memory_16_counts_rule_table_evictions_in_the_json() {
    let dir = std::env::temp_dir().join(format!("siplens-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("scan.pcap");
    std::fs::write(&file, pcap()).expect("write pcap");
    let run = |mb: &str| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
            .args(["report", "--max-memory", mb, "--format", "json"])
            .arg(&file)
            .output()
            .expect("run siplens");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json report")
    };
    let small = run("16");
    let ev = &small["summary"]["evictions"];
    let max = Limits::default().for_memory(16, false).rules.attack_sources as u64;
    let evicted = ev["attack_sources"].as_u64().unwrap_or(0);
    assert!(
        evicted >= u64::from(SOURCES) - max,
        "summary.evictions: {ev}"
    );
    // The default file budget pays for every source: nothing evicted, and the counter is
    // absent from the JSON (goldens unchanged).
    let default = run("256");
    assert!(
        default["summary"]["evictions"]
            .get("attack_sources")
            .is_none(),
        "{}",
        default["summary"]["evictions"]
    );
    // The text report names the table too.
    let text = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(["report", "--max-memory", "16"])
        .arg(&file)
        .output()
        .expect("run siplens");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("table evictions") && l.contains("attack sources")),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
