//! `--format csv` against `--format json` on the bundled samples: the same dialogs, the
//! same values, findings counted and ranked the same, and RFC 4180 framing that a strict
//! reader accepts.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

fn report(sample: &str, format: &str, extra: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(sample);
    let out = Command::new(env!("CARGO_BIN_EXE_siplens"))
        .arg("report")
        .arg(&path)
        .args(["--format", format])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{sample}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 report")
}

/// A strict RFC 4180 reader: records end with CRLF, quoted fields double their quotes.
fn parse(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => panic!("bare quote inside a field: {text}"),
            ',' => {
                record.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_start = true;
            }
            '\n' => panic!("LF without CR outside quotes"),
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    assert!(!quoted, "unterminated quote");
    assert!(
        field.is_empty() && record.is_empty(),
        "last record without CRLF"
    );
    records
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

fn check(sample: &str, extra: &[&str]) -> usize {
    let csv = parse(&report(sample, "csv", extra));
    let json: Value = serde_json::from_str(&report(sample, "json", extra)).expect("JSON report");
    let (header, rows) = csv.split_first().expect("a header line");
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let dialogs = json["dialogs"].as_array().expect("dialogs");
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(rows.len(), dialogs.len(), "{sample}: one row per dialog");
    for (row, d) in rows.iter().zip(dialogs) {
        assert_eq!(row.len(), header.len(), "{sample}: {row:?}");
        for name in [
            "index",
            "call_id",
            "method",
            "from",
            "to",
            "state",
            "final_status",
            "messages",
            "retransmissions",
            "duplicates",
            "transport",
            "src",
            "dst",
        ] {
            let want = text_of(&d[name]);
            let got = &row[col(name)];
            // Wire text that looks like a formula carries a leading quote mark.
            let got = if want.starts_with(['=', '+', '-', '@']) {
                got.strip_prefix('\'').unwrap_or(got)
            } else {
                got
            };
            assert_eq!(got, &want, "{sample}: {name}");
        }
        for name in ["start", "end", "duration_s"] {
            let got: f64 = row[col(name)].parse().expect("a number");
            let want = d[name].as_f64().expect("a number");
            // serde_json's default float parsing may land one ulp off the written value.
            assert!((got - want).abs() <= 1e-6, "{sample}: {name} {got} {want}");
        }
        let ids: Vec<usize> = d["finding_ids"]
            .as_array()
            .expect("finding_ids")
            .iter()
            .filter_map(Value::as_u64)
            .map(|i| i as usize)
            .collect();
        assert_eq!(row[col("findings")], ids.len().to_string(), "{sample}");
        let mine: Vec<&Value> = ids.iter().filter_map(|i| findings.get(i - 1)).collect();
        let mut rules: Vec<String> = mine.iter().map(|f| text_of(&f["rule"])).collect();
        rules.sort();
        rules.dedup();
        assert_eq!(row[col("rules")], rules.join(" "), "{sample}");
        let rank = |s: &str| {
            ["info", "low", "medium", "high", "critical"]
                .iter()
                .position(|x| *x == s)
        };
        let worst = mine
            .iter()
            .map(|f| text_of(&f["severity"]))
            .max_by_key(|s| rank(s));
        assert_eq!(
            row[col("worst_severity")],
            worst.unwrap_or_default(),
            "{sample}"
        );
    }
    rows.len()
}

#[test]
fn csv_rows_agree_with_the_json_report() {
    let mut rows = 0;
    for sample in [
        "basic-call-rtp.pcap",
        "kamailio-auth.pcap",
        "sipvicious-attack.pcap",
        "nat-no-rtp.pcap",
        "tls13-call.pcap",
        "fragmented-invite-v6.pcap",
    ] {
        rows += check(sample, &[]);
    }
    assert!(rows > 10, "the samples hold dialogs ({rows} rows)");
}

#[test]
fn csv_follows_the_filters() {
    let all = check("sipvicious-attack.pcap", &[]);
    let kept = check("sipvicious-attack.pcap", &["-Y", "method = INVITE"]);
    assert!(kept < all, "the filter keeps fewer rows ({kept} of {all})");
}
