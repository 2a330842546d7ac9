//! Every option of every subcommand, run at least once.
//!
//! One table of runs; each names the subcommand, its arguments and what must come out.
//! `every_option_is_exercised` reads the options from the binary's own `--help` and fails
//! when one is missing from the table, so an option added later without a run is caught.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siplens-opts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

fn run(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siplens"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

/// What a run must show.
enum Expect {
    /// Exit 0 and this check on the output.
    Ok(fn(&Output)),
    /// This exit code and this text on stderr.
    Fails(i32, &'static str),
    /// This exit code and this check.
    Code(i32, fn(&Output)),
}

/// One run: the subcommand ("" for `siplens FILE`), its arguments, what must come out.
struct Case {
    sub: &'static str,
    args: Vec<String>,
    expect: Expect,
}

fn case(sub: &'static str, args: &[&str], expect: Expect) -> Case {
    Case {
        sub,
        args: args.iter().map(|s| s.to_string()).collect(),
        expect,
    }
}

fn findings_with(o: &Output, rule: &str) -> usize {
    json(o)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule)
        .count()
}

/// Runs of the live-capture options: with the `live` feature as root, real captures on
/// lo bounded by --duration; otherwise the clear error each gives.
fn live_cases(cases: &mut Vec<Case>, pcapng: &str) {
    let live = cfg!(feature = "live");
    let root = live && common::root("the live-capture option runs");
    for sub in ["", "report"] {
        let args: Vec<&str> = vec![
            "-i",
            "lo",
            "-f",
            "udp port 5999",
            "--snaplen",
            "256",
            "--buffer",
            "2",
            "--promisc",
            "--duration",
            "0.5",
            "--count",
            "10",
            "--user",
            "nobody",
            "--max-memory",
            "64",
            "-w",
            pcapng,
            "--rotate",
            "1MB",
            "--sip-only",
            "-F",
            "json",
        ];
        let expect = if root {
            Expect::Ok(|o| {
                let v = json(o);
                assert_eq!(v["capture"][0]["interface"], "lo", "{v}");
            })
        } else if live {
            Expect::Code(2, |o| {
                assert!(stderr(o).contains("permission"), "{}", stderr(o))
            })
        } else {
            Expect::Fails(
                2,
                "built without live capture; rebuild with --features live",
            )
        };
        cases.push(case(sub, &args, expect));
        let expect = if live {
            Expect::Ok(|o| assert!(stdout(o).contains("lo"), "{}", stdout(o)))
        } else {
            Expect::Fails(2, "built without live capture")
        };
        cases.push(case(sub, &["--list-interfaces"], expect));
    }
    // Not a terminal: the dashboard refuses before opening any interface.
    let expect = Expect::Fails(2, "the dashboard needs a terminal");
    cases.push(case(
        "tui",
        &[
            "-i",
            "lo",
            "-f",
            "udp",
            "--snaplen",
            "256",
            "--buffer",
            "2",
            "--promisc",
            "--duration",
            "1",
            "--count",
            "1",
            "--user",
            "nobody",
            "--max-memory",
            "64",
            "-w",
            pcapng,
            "--rotate",
            "1MB",
            "--sip-only",
        ],
        expect,
    ));
    // Listing interfaces needs no terminal, in any command.
    let expect = if live {
        Expect::Ok(|o| assert!(stdout(o).contains("lo"), "{}", stdout(o)))
    } else {
        Expect::Fails(2, "built without live capture")
    };
    cases.push(case("tui", &["--list-interfaces"], expect));
}

fn cases() -> Vec<Case> {
    let basic = sample("basic-call-rtp.pcap");
    let kam = sample("kamailio-auth.pcap");
    let nat = sample("nat-no-rtp.pcap");
    let basic_auth = sample("register-basic.pcap");
    let attack = sample("sipvicious-attack.pcap");
    let words = sample("wordlist.txt");
    let tls13 = sample("tls13-call.pcap");
    let tls13_keys = sample("tls13-call.keys");
    let tls12_rsa = sample("tls12-rsa-call.pcap");
    let tls12_rsa_key = sample("tls12-rsa-call.key.pem");
    let dtls = sample("dtls-srtp-call.pcap");
    // The DTLS client's SRTP key and salt as OpenSSL exported them (RFC 5764 §4.2 layout:
    // client key, server key, client salt, server salt), as an SDES inline value.
    let exported = std::fs::read_to_string(sample("dtls-srtp-call.exporter")).expect("exporter");
    let exported: Vec<u8> = (0..60)
        .map(|i| u8::from_str_radix(&exported[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    let srtp_spec = {
        use base64::Engine as _;
        let inline = base64::engine::general_purpose::STANDARD
            .encode([&exported[0..16], &exported[32..46]].concat());
        format!("AES_CM_128_HMAC_SHA1_80:{inline}@10.254.200.1:17000")
    };
    let cfg = tmp("strict.toml");
    std::fs::write(&cfg, "[bruteforce]\nthreshold = 1\n").expect("config");
    let cfg = cfg.to_string_lossy().into_owned();
    let pcapng = tmp("live.pcapng").to_string_lossy().into_owned();
    let out_pcap = tmp("export.pcap").to_string_lossy().into_owned();
    let split = tmp("split").to_string_lossy().into_owned();
    let hashes = tmp("hashes.txt").to_string_lossy().into_owned();
    let (b, k, n) = (basic.as_str(), kam.as_str(), nat.as_str());

    let mut c = vec![
        // Help and version everywhere.
        case(
            "",
            &["-h"],
            Expect::Ok(|o| assert!(stdout(o).contains("Dashboard:"))),
        ),
        case(
            "",
            &["--help"],
            Expect::Ok(|o| assert!(stdout(o).contains("--max-dialogs"))),
        ),
        case(
            "",
            &["-V"],
            Expect::Ok(|o| assert!(stdout(o).contains(env!("CARGO_PKG_VERSION")))),
        ),
        case(
            "",
            &["--version"],
            Expect::Ok(|o| assert!(stdout(o).starts_with("siplens "))),
        ),
    ];
    for sub in [
        "report", "tui", "config", "hashes", "crack", "export", "audio",
    ] {
        c.push(case(
            sub,
            &["-h"],
            Expect::Ok(|o| assert!(stdout(o).contains("Usage: siplens"))),
        ));
        c.push(case(
            sub,
            &["--help"],
            Expect::Ok(|o| assert!(stdout(o).contains("Usage: siplens"))),
        ));
    }
    // Analysis options: `siplens FILE` off a terminal, and `report`.
    for sub in ["", "report"] {
        c.extend([
            case(
                sub,
                &[b, "--no-progress"],
                Expect::Ok(|o| assert!(stdout(o).contains("DIALOGS (1)"))),
            ),
            case(
                sub,
                &[k, "--config", &cfg, "-F", "json"],
                Expect::Ok(|o| {
                    assert!(
                        findings_with(o, "auth.bruteforce") > 0,
                        "threshold 1 from the config"
                    )
                }),
            ),
            case(
                sub,
                &[&basic_auth, "--show-secrets"],
                Expect::Ok(|o| {
                    assert!(stdout(o).contains("password 'password1'"), "{}", stdout(o))
                }),
            ),
            case(
                sub,
                &[k, "--wordlist", &words, "--threads", "1", "-F", "json"],
                Expect::Ok(|o| assert!(findings_with(o, "auth.weak-password") > 0)),
            ),
            case(
                sub,
                &[&tls13, "--tls-keylog", &tls13_keys, "-F", "json"],
                Expect::Ok(|o| {
                    let v = json(o);
                    let t = &v["summary"]["net"]["tls_decrypt"];
                    assert!(t["sessions_decrypted"].as_u64() > Some(0), "{t}");
                    assert!(v["summary"]["sip_messages"].as_u64() > Some(0));
                }),
            ),
            case(
                sub,
                &[&dtls, "--srtp-key", &srtp_spec, "-F", "json"],
                Expect::Ok(|o| {
                    let v = json(o);
                    let dec: Vec<u64> = v["streams"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|s| s["srtp_decrypted"].as_u64())
                        .collect();
                    assert!(dec.contains(&90), "{dec:?}");
                }),
            ),
            case(
                sub,
                &[&tls12_rsa, "--tls-key", &tls12_rsa_key, "-F", "json"],
                Expect::Ok(|o| {
                    let t = &json(o)["summary"]["net"]["tls_decrypt"];
                    assert!(t["sessions_decrypted"].as_u64() > Some(0), "{t}");
                    assert_eq!(t["rsa_keys"].as_u64(), Some(1), "{t}");
                }),
            ),
            case(
                sub,
                &[k, "--bruteforce-threshold", "1", "-F", "json"],
                Expect::Ok(|o| assert!(findings_with(o, "auth.bruteforce") > 0)),
            ),
            case(
                sub,
                &[&attack, "--max-dialogs", "5", "-F", "json"],
                Expect::Ok(|o| {
                    let v = json(o);
                    assert!(
                        v["summary"]["evictions"]["dialogs"].as_u64() > Some(0),
                        "{}",
                        v["summary"]
                    );
                }),
            ),
            case(
                sub,
                &[b, "--max-streams", "1", "-F", "json"],
                Expect::Ok(|o| {
                    let v = json(o);
                    assert!(
                        v["summary"]["evictions"]["streams"].as_u64() > Some(0),
                        "{}",
                        v["summary"]
                    );
                }),
            ),
            // Output options.
            case(
                sub,
                &[b, "-F", "text"],
                Expect::Ok(|o| assert!(stdout(o).starts_with("siplens "))),
            ),
            case(
                sub,
                &[b, "--format", "ndjson"],
                Expect::Ok(|o| {
                    let last = stdout(o)
                        .lines()
                        .last()
                        .map(str::to_string)
                        .unwrap_or_default();
                    let v: Value = serde_json::from_str(&last).expect("NDJSON line");
                    assert_eq!(v["event"], "summary", "{last}");
                }),
            ),
            case(
                sub,
                &[b, "--format", "csv"],
                Expect::Ok(|o| {
                    let text = stdout(o);
                    let mut lines = text.split("\r\n");
                    let header = lines.next().unwrap_or_default();
                    assert!(header.starts_with("index,call_id,method,"), "{header}");
                    let columns = header.split(',').count();
                    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
                    assert!(!rows.is_empty(), "no dialog rows: {text}");
                    for r in &rows {
                        // The sample's fields hold no quotes or commas.
                        assert_eq!(r.split(',').count(), columns, "{r}");
                        assert!(r.contains("UDP"), "{r}");
                    }
                }),
            ),
            case(
                sub,
                &[b, "-F", "json", "--pretty"],
                Expect::Ok(|o| {
                    assert!(stdout(o).starts_with("{\n  \""), "indented");
                    json(o);
                }),
            ),
            case(
                sub,
                &[b, "--fail-on", "medium"],
                Expect::Code(1, |o| {
                    assert!(stdout(o).contains("[MEDIUM] media.cleartext-rtp"))
                }),
            ),
            case(sub, &[b, "--fail-on", "high"], Expect::Ok(|_| {})),
            case(
                sub,
                &[n, "--nat", "-F", "json"],
                Expect::Ok(|o| {
                    let v = json(o);
                    assert_eq!(v["filter"]["nat"], true, "{}", v["filter"]);
                }),
            ),
            case(
                sub,
                &[k, "-Y", "method = REGISTER", "-F", "json"],
                Expect::Ok(|o| {
                    let v = json(o);
                    assert_eq!(v["filter"]["expression"], "method = REGISTER");
                    assert!(v["dialogs"]
                        .as_array()
                        .expect("dialogs")
                        .iter()
                        .all(|d| d["method"] == "REGISTER"));
                }),
            ),
            case(
                sub,
                &[k, "--display-filter", "method = INVITE and status = 200"],
                Expect::Ok(|o| assert!(stdout(o).contains("DIALOGS (1)"), "{}", stdout(o))),
            ),
            // HEP.
            case(
                sub,
                &[
                    "--hep-listen",
                    "tcp:127.0.0.1:0",
                    "--hep-idle-timeout",
                    "5",
                    "--hep-max-per-peer",
                    "2",
                    "--hep-max-conns",
                    "8",
                    "--duration",
                    "0.2",
                    "-F",
                    "json",
                ],
                Expect::Ok(|o| {
                    let v = json(o);
                    assert_eq!(v["hep_listeners"][0]["tcp"]["accepted"], 0, "{v}");
                }),
            ),
            case(
                sub,
                &[
                    "--hep-listen",
                    "udp:127.0.0.1:0",
                    "--hep-rcvbuf",
                    "1",
                    "--duration",
                    "0.2",
                    "-F",
                    "json",
                ],
                Expect::Ok(|o| {
                    let v = json(o);
                    assert!(
                        v["hep_listeners"][0]["rcvbuf_bytes"].as_u64() >= Some(1 << 20),
                        "{v}"
                    );
                }),
            ),
            case(
                sub,
                &[
                    "--hep-listen",
                    "udp:127.0.0.1:0",
                    "--duration",
                    "0.2",
                    "-F",
                    "json",
                ],
                Expect::Ok(|o| {
                    let v = json(o);
                    assert!(
                        v["inputs"][0]["name"]
                            .as_str()
                            .is_some_and(|n| n.starts_with("hep:udp:127.0.0.1:")),
                        "{v}"
                    );
                }),
            ),
            case(
                sub,
                &[
                    b,
                    "--hep-send",
                    "udp:127.0.0.1:9",
                    "--hep-id",
                    "7",
                    "--hep-password",
                    "pw",
                ],
                Expect::Ok(|o| {
                    assert!(
                        stderr(o).contains("HEP sent to 127.0.0.1:9"),
                        "{}",
                        stderr(o)
                    )
                }),
            ),
        ]);
    }
    // Dashboard options: `siplens FILE` off a terminal refuses them by name; `report`
    // does not know them; `tui` takes them and then says it needs a terminal.
    for (flag, value) in [
        ("--theme", "light"),
        ("--columns", "index,from,X-Foo"),
        ("--alias", "127.0.0.1=pbx"),
    ] {
        c.push(case(
            "",
            &[b, flag, value],
            Expect::Fails(2, "is a dashboard option"),
        ));
        c.push(case(
            "report",
            &[b, flag, value],
            Expect::Fails(2, "it is one of `siplens tui`"),
        ));
        c.push(case(
            "tui",
            &[b, flag, value],
            Expect::Fails(2, "the dashboard needs a terminal"),
        ));
    }
    c.extend([
        case(
            "tui",
            &[
                b,
                "-Y",
                "status = 200",
                "--no-progress",
                "--config",
                &cfg,
                "--show-secrets",
                "--wordlist",
                &words,
                "--threads",
                "1",
                "--bruteforce-threshold",
                "3",
                "--max-dialogs",
                "9",
                "--max-streams",
                "9",
                "--tls-keylog",
                &tls13_keys,
                "--tls-key",
                &tls12_rsa_key,
            ],
            Expect::Fails(2, "use `siplens report FILE`"),
        ),
        case(
            "tui",
            &[b, "--display-filter", "status ="],
            Expect::Fails(2, "--display-filter: at 8: expected a value"),
        ),
        case(
            "tui",
            &[
                "--hep-listen",
                "udp:127.0.0.1:0",
                "--hep-send",
                "udp:127.0.0.1:9",
                "--hep-id",
                "1",
                "--hep-password",
                "x",
                "--hep-idle-timeout",
                "1",
                "--hep-max-per-peer",
                "1",
                "--hep-max-conns",
                "1",
                "--hep-rcvbuf",
                "1",
            ],
            Expect::Fails(2, "the dashboard needs a terminal"),
        ),
        // config
        case(
            "config",
            &["--default"],
            Expect::Ok(|o| assert!(stdout(o).contains("[bruteforce]"))),
        ),
        case("config", &["--check", &cfg], Expect::Ok(|_| {})),
        // hashes
        case(
            "hashes",
            &[k, "--format", "john", "-o", &hashes],
            Expect::Ok(|_| {}),
        ),
        case(
            "hashes",
            &[k, "--output", &hashes, "--format", "hashcat"],
            Expect::Ok(|_| {}),
        ),
        // TLS keys on the other commands that read captures: the Digest exchanges and calls
        // inside TLS are found.
        // --srtp-key is parsed and handed to the engine by every analysing subcommand
        // (the TLS samples carry no SRTP lacking keys: what they find is unchanged).
        case(
            "tui",
            &[&dtls, "--srtp-key", &srtp_spec],
            Expect::Fails(2, "use `siplens report FILE`"),
        ),
        case(
            "hashes",
            &[
                &tls13,
                "--tls-keylog",
                &tls13_keys,
                "--srtp-key",
                &srtp_spec,
            ],
            Expect::Ok(|o| assert_eq!(stdout(o).lines().count(), 3, "{}", stdout(o))),
        ),
        case(
            "crack",
            &[
                &tls13,
                "--tls-keylog",
                &tls13_keys,
                "--srtp-key",
                &srtp_spec,
                "--wordlist",
                &words,
            ],
            Expect::Ok(|o| assert!(stdout(o).contains("3 of 3 Digest"), "{}", stdout(o))),
        ),
        case(
            "export",
            &[&dtls, "--all", "--srtp-key", &srtp_spec, "-o", &out_pcap],
            Expect::Ok(|o| assert!(stderr(o).contains("(1 call"), "{}", stderr(o))),
        ),
        case(
            "hashes",
            &[&tls13, "--tls-keylog", &tls13_keys],
            Expect::Ok(|o| assert_eq!(stdout(o).lines().count(), 3, "{}", stdout(o))),
        ),
        case(
            "hashes",
            &[&tls12_rsa, "--tls-key", &tls12_rsa_key],
            Expect::Ok(|o| assert_eq!(stdout(o).lines().count(), 3, "{}", stdout(o))),
        ),
        case(
            "crack",
            &[&tls13, "--tls-keylog", &tls13_keys, "--wordlist", &words],
            Expect::Ok(|o| assert!(stdout(o).contains("3 of 3 Digest"), "{}", stdout(o))),
        ),
        case(
            "crack",
            &[
                &tls12_rsa,
                "--tls-key",
                &tls12_rsa_key,
                "--wordlist",
                &words,
            ],
            Expect::Ok(|o| assert!(stdout(o).contains("3 of 3 Digest"), "{}", stdout(o))),
        ),
        case(
            "export",
            &[
                &tls13,
                "--all",
                "--tls-keylog",
                &tls13_keys,
                "-o",
                &out_pcap,
            ],
            Expect::Ok(|o| assert!(stderr(o).contains("(3 calls)"), "{}", stderr(o))),
        ),
        case(
            "export",
            &[
                &tls12_rsa,
                "--all",
                "--tls-key",
                &tls12_rsa_key,
                "-o",
                &out_pcap,
            ],
            Expect::Ok(|o| assert!(stderr(o).contains("(3 calls)"), "{}", stderr(o))),
        ),
        case(
            "report",
            &[b, "--srtp-key", "AES_CM_128_HMAC_SHA1_80:tooshort"],
            Expect::Fails(2, "--srtp-key"),
        ),
        case(
            "report",
            &[b, "--tls-keylog", "/nonexistent/keys.log"],
            Expect::Fails(2, "--tls-keylog /nonexistent/keys.log"),
        ),
        // crack
        case(
            "crack",
            &[k, "--wordlist", &words, "--threads", "1", "--no-progress"],
            Expect::Ok(|o| assert!(stdout(o).contains("password '"), "{}", stdout(o))),
        ),
        case(
            "crack",
            &[k, "-w", &words],
            Expect::Fails(2, "-w is not an option of `siplens crack`"),
        ),
        // export
        case(
            "export",
            &[b, "--all", "-o", &out_pcap],
            Expect::Ok(|o| assert!(stderr(o).contains("1 call"))),
        ),
        case(
            "export",
            &[
                b,
                "--call-id",
                "1-8873@127.0.0.1",
                "--output",
                &out_pcap,
                "--no-rtp",
            ],
            Expect::Ok(|o| assert!(stderr(o).contains("1 call"), "{}", stderr(o))),
        ),
        case(
            "export",
            &[
                k,
                "-Y",
                "method = REGISTER",
                "--split",
                &split,
                "--with-rtp",
            ],
            Expect::Ok(|o| assert_eq!(stderr(o).matches("(call ").count(), 3, "{}", stderr(o))),
        ),
        case(
            "export",
            &[k, "--display-filter", "status = 999", "-o", &out_pcap],
            Expect::Fails(2, "keeps no call"),
        ),
    ]);
    // audio
    let audio_dir = tmp("audio").to_string_lossy().into_owned();
    let srtp = sample("baresip-srtp.pcap");
    let pcmu = sample("baresip-pcmu.pcap");
    c.extend([
        case(
            "audio",
            &[&srtp, "-o", &audio_dir],
            Expect::Ok(|o| {
                let out = stdout(o);
                assert_eq!(out.matches(".wav: PCMA 8000 Hz").count(), 2, "{out}");
                assert_eq!(out.matches("_stereo.wav: PCMA+PCMA").count(), 1, "{out}");
            }),
        ),
        case(
            "audio",
            &[
                &pcmu,
                &srtp,
                "--output",
                &audio_dir,
                "--call-id",
                "no-such-call",
            ],
            Expect::Fails(2, "unknown call id: no-such-call"),
        ),
        case(
            "audio",
            &[&tls13, "--tls-keylog", &tls13_keys, "-o", &audio_dir],
            Expect::Ok(|o| {
                assert_eq!(stdout(o).matches("_stereo.wav").count(), 1, "{}", stdout(o))
            }),
        ),
        case(
            "audio",
            &[&tls12_rsa, "--tls-key", &tls12_rsa_key, "-o", &audio_dir],
            Expect::Ok(|o| {
                assert_eq!(stdout(o).matches("_stereo.wav").count(), 1, "{}", stdout(o))
            }),
        ),
        case(
            "audio",
            &[&dtls, "--srtp-key", &srtp_spec, "-o", &audio_dir],
            // The caller's key only (SRTP_AES128_CM_SHA1_80 client key): its stream is
            // written, the callee's refused as not decrypted.
            Expect::Fails(1, "SRTP not decrypted"),
        ),
        case(
            "audio",
            &[b, "-o", &audio_dir],
            Expect::Ok(|o| assert!(stdout(o).contains("_caller_"), "{}", stdout(o))),
        ),
    ]);
    live_cases(&mut c, &pcapng);
    c
}

/// The options a subcommand's `--help` lists, one set of spellings (`-w`, `--write`) each.
fn options_of(sub: &str) -> Vec<BTreeSet<String>> {
    let mut args: Vec<String> = Vec::new();
    if !sub.is_empty() {
        args.push(sub.to_string());
    }
    args.push("--help".to_string());
    let help = stdout(&run(&args));
    let is_flag = |w: &str| {
        let name = w.trim_start_matches('-');
        (w.starts_with("--") || w.len() == 2)
            && w.starts_with('-')
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    help.lines()
        .filter(|l| l.starts_with("  ") && l.trim_start().starts_with('-'))
        .map(|l| {
            let head = l.trim_start().split("  ").next().unwrap_or_default();
            head.split([',', ' '])
                .filter(|w| is_flag(w))
                .map(str::to_string)
                .collect::<BTreeSet<String>>()
        })
        .filter(|set| !set.is_empty())
        .collect()
}

#[test]
fn every_option_of_every_subcommand_runs() {
    let mut used: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for c in cases() {
        let out = run(&{
            let mut a: Vec<String> = Vec::new();
            if !c.sub.is_empty() {
                a.push(c.sub.to_string());
            }
            a.extend(c.args.iter().cloned());
            a
        });
        let what = format!("siplens {} {}", c.sub, c.args.join(" "));
        assert!(
            !stderr(&out).contains("panicked"),
            "{what} panicked: {}",
            stderr(&out)
        );
        match c.expect {
            Expect::Ok(check) => {
                assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
                check(&out);
            }
            Expect::Fails(code, text) => {
                assert_eq!(out.status.code(), Some(code), "{what}: {}", stderr(&out));
                assert!(stderr(&out).contains(text), "{what}: {}", stderr(&out));
            }
            Expect::Code(code, check) => {
                if code >= 0 {
                    assert_eq!(out.status.code(), Some(code), "{what}: {}", stderr(&out));
                }
                check(&out);
            }
        }
        let set = used.entry(c.sub).or_default();
        for a in &c.args {
            if a.starts_with('-') {
                set.insert(a.split('=').next().unwrap_or(a).to_string());
            }
        }
    }
    let mut missing = Vec::new();
    for sub in [
        "", "report", "tui", "config", "hashes", "crack", "export", "audio",
    ] {
        let runs = used.get(sub).cloned().unwrap_or_default();
        for spellings in options_of(sub) {
            if spellings.is_disjoint(&runs) {
                missing.push(format!("siplens {sub} {spellings:?}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "options with no run in this table: {missing:?}"
    );
}

#[test]
fn short_help_fits_a_screen_and_groups_options() {
    for sub in ["", "report", "tui"] {
        let mut args = vec![];
        if !sub.is_empty() {
            args.push(sub.to_string());
        }
        args.push("-h".to_string());
        let help = stdout(&run(&args));
        assert!(
            help.lines().count() <= 50,
            "siplens {sub} -h: {} lines\n{help}",
            help.lines().count()
        );
        for heading in ["Input:", "Analysis:", "Live capture:", "HEP:"] {
            assert!(
                help.contains(heading),
                "siplens {sub} -h lacks {heading}\n{help}"
            );
        }
    }
    let report = stdout(&run(&["report".into(), "-h".into()]));
    assert!(
        report.contains("Output:") && !report.contains("Dashboard:"),
        "{report}"
    );
    let tui = stdout(&run(&["tui".into(), "-h".into()]));
    assert!(
        tui.contains("Dashboard:") && !tui.contains("Output:"),
        "{tui}"
    );
}

#[test]
fn one_meaning_per_short_flag_across_subcommands() {
    // Each short flag's long name, per subcommand: a short flag names one option only.
    let mut meaning: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sub in [
        "", "report", "tui", "config", "hashes", "crack", "export", "audio",
    ] {
        let mut args = vec![];
        if !sub.is_empty() {
            args.push(sub.to_string());
        }
        args.push("--help".to_string());
        for line in stdout(&run(&args)).lines() {
            let t = line.trim_start();
            let mut words = t.split([',', ' ']).filter(|w| !w.is_empty());
            if let (Some(s), Some(l)) = (words.next(), words.next()) {
                if s.len() == 2 && s.starts_with('-') && l.starts_with("--") {
                    meaning
                        .entry(s.to_string())
                        .or_default()
                        .insert(l.to_string());
                }
            }
        }
    }
    for (short, longs) in &meaning {
        assert_eq!(longs.len(), 1, "{short} means {longs:?}");
    }
    assert_eq!(
        meaning.get("-w").map(|l| l.iter().next().cloned()),
        Some(Some("--write".into()))
    );
}
