//! `siplens export`: writes the frames of chosen calls to a new capture (see
//! [`siplens::export`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args};

use siplens::export::{self, ExportError, Selection};
use siplens::tui::filter::Filter;

/// Arguments of `siplens export`.
#[derive(Args, Debug)]
#[command(
    group = ArgGroup::new("calls").required(true),
    group = ArgGroup::new("out").required(true),
)]
pub struct ExportArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed); not stdin: they are
    /// read three times.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Call-ID of a call to export (repeat, or give several after one flag).
    #[arg(long = "call-id", value_name = "ID", num_args = 1.., group = "calls")]
    call_ids: Vec<String>,
    /// Export every Call-ID of the capture (registrations and pings included).
    #[arg(long, group = "calls")]
    all: bool,
    /// Export the calls this display filter keeps (the dashboard's and `report -Y`'s
    /// syntax), e.g. `-Y 'status >= 400'`.
    #[arg(short = 'Y', long, value_name = "EXPR", group = "calls")]
    display_filter: Option<String>,
    /// Output file: pcap when the frames share one link type, pcapng when they do not or
    /// when the name ends in .pcapng.
    #[arg(long, short = 'o', value_name = "OUT", group = "out")]
    output: Option<PathBuf>,
    /// Write one file per call into this directory, named after the Call-ID.
    #[arg(long, value_name = "DIR", group = "out")]
    split: Option<PathBuf>,
    /// Include each call's RTP and RTCP (the default).
    #[arg(long, overrides_with = "no_rtp")]
    with_rtp: bool,
    /// Only the SIP messages.
    #[arg(long, overrides_with = "with_rtp")]
    no_rtp: bool,
    /// TLS decryption, to find calls carried over TLS.
    #[command(flatten)]
    tls: super::tls::TlsArgs,
}

fn fail(e: &ExportError) -> ExitCode {
    eprintln!("siplens: error: {e}");
    ExitCode::from(2)
}

/// Runs `siplens export`: exit 0 when every output is written, 2 on any error (unknown
/// Call-ID, unreadable input, unwritable output).
pub fn run_export(args: &ExportArgs) -> ExitCode {
    let filter = match args.display_filter.as_deref().map(Filter::parse) {
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            eprintln!("siplens: error: --display-filter: {e}");
            return ExitCode::from(2);
        }
        None => None,
    };
    let keep_text = filter
        .as_ref()
        .is_some_and(|f| !f.header_names_in().is_empty());
    let keys = match args.tls.load() {
        Ok(k) => k,
        Err(code) => return code,
    };
    let an =
        match export::analyze_with_srtp(&args.files, keep_text, keys, args.tls.srtp_key.clone()) {
            Ok(a) => a,
            Err(e) => return fail(&e),
        };
    let mut empty = false;
    for input in an.inputs() {
        empty |= !crate::input_yielded(input, "exporting from");
    }
    if empty {
        return ExitCode::from(2);
    }
    let with_media = !args.no_rtp;
    let ids: Vec<String> = if let Some(f) = &filter {
        let snap = siplens::tui::Snapshot::build(&an);
        let keep = siplens::tui::app::matching_calls(&snap, f);
        let ids: Vec<String> = keep
            .iter()
            .filter_map(|&i| snap.calls.get(i))
            .map(|c| c.call_id.clone())
            .collect();
        if ids.is_empty() {
            eprintln!("siplens: error: the display filter keeps no call: nothing to export");
            return ExitCode::from(2);
        }
        ids
    } else if args.all {
        let mut v: Vec<String> = Vec::new();
        for d in an.dialogs() {
            if !v.contains(&d.call_id) {
                v.push(d.call_id.clone());
            }
        }
        v
    } else {
        args.call_ids.clone()
    };
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    if let Some(dir) = &args.split {
        return match export::split(&args.files, &an, &refs, dir, with_media) {
            Ok(files) => {
                for (id, path, stats) in &files {
                    eprintln!("siplens: {}: {stats} (call {id})", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    let Some(out) = &args.output else {
        return ExitCode::from(2);
    };
    let sel = match Selection::for_calls(&an, &refs) {
        Ok(s) => s.with_media(with_media),
        Err(e) => return fail(&e),
    };
    match export::export_to_file(&args.files, &sel, out) {
        Ok(stats) => {
            eprintln!(
                "siplens: {}: {stats} ({} call{})",
                out.display(),
                sel.call_ids().len(),
                if sel.call_ids().len() == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
