//! `siplens audio`: writes the audio of chosen calls to WAV files (see
//! [`siplens::audio`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use siplens::audio::{self, AudioOptions};
use siplens::engine::Limits;

/// Arguments of `siplens audio`.
#[derive(Args, Debug)]
pub struct AudioArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed; `-` for stdin).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Directory for the WAV files (created when missing).
    #[arg(long, short = 'o', value_name = "DIR", required = true)]
    output: PathBuf,
    /// Only this call (repeat, or give several after one flag); default: every call.
    #[arg(long = "call-id", value_name = "ID", num_args = 1..)]
    call_ids: Vec<String>,
    /// TLS decryption, to find calls (and their SDES keys) carried over TLS.
    #[command(flatten)]
    tls: super::tls::TlsArgs,
}

/// Runs `siplens audio`: exit 0 when every stream of the chosen calls was written (a
/// stream of telephone events or comfort noise only is named, not counted), 1 when some
/// could not be (codec, SRTP not decrypted, stream bound) or there was no stream at all, 2 on an error (unreadable input, unwritable directory, unknown
/// Call-ID).
pub fn run_audio(args: &AudioArgs) -> ExitCode {
    let keys = match args.tls.load() {
        Ok(k) => k,
        Err(code) => return code,
    };
    let opts = AudioOptions {
        dir: args.output.clone(),
        call_ids: args.call_ids.clone(),
        max_streams: Limits::default().report.max_audio_streams,
        srtp_keys: args.tls.srtp_key.clone(),
    };
    let summary = match audio::export(&args.files, keys, &opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("siplens: error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut empty = false;
    for input in &summary.inputs {
        empty |= !crate::input_yielded(input, "reading audio from");
    }
    for w in &summary.written {
        let what = match (w.side, w.ssrc, w.flow) {
            (Some(side), Some(ssrc), Some((src, dst))) => {
                let st = &w.stats;
                let mut extra = String::new();
                if st.silence_samples > 0 {
                    extra.push_str(&format!(
                        ", {:.2} s of silence filled",
                        st.silence_samples as f64 / f64::from(w.rate)
                    ));
                }
                if st.undecrypted > 0 {
                    extra.push_str(&format!(", {} packets not decrypted", st.undecrypted));
                }
                if st.late_or_duplicate > 0 {
                    extra.push_str(&format!(", {} late or duplicate", st.late_or_duplicate));
                }
                format!("{side} {src} -> {dst}, SSRC 0x{ssrc:08X}{extra}")
            }
            _ => "stereo: caller left, callee right".to_string(),
        };
        println!(
            "{}: {} {} Hz, {:.2} s ({what}; call {})",
            w.path.display(),
            w.codec,
            w.rate,
            w.seconds(),
            w.call_id
        );
    }
    for r in &summary.refused {
        eprintln!(
            "siplens: call {}: stream {} -> {} SSRC 0x{:08X} not written: {}",
            r.call_id, r.src, r.dst, r.ssrc, r.reason
        );
    }
    let failed = summary.refused.iter().any(|r| !r.no_audio);
    if !summary.unknown_call_ids.is_empty() {
        eprintln!(
            "siplens: error: unknown call id{}: {}",
            if summary.unknown_call_ids.len() == 1 {
                ""
            } else {
                "s"
            },
            summary.unknown_call_ids.join(", ")
        );
        return ExitCode::from(2);
    }
    if empty {
        return ExitCode::from(2);
    }
    if summary.written.is_empty() && summary.refused.is_empty() {
        eprintln!("siplens: no RTP stream bound to a call: no audio written");
        return ExitCode::from(1);
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
