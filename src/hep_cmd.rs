//! `--hep-send` and `--hep-listen`: siplens as a HEP capture agent and as a HEP collector.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use clap::Args;

use siplens::engine::{Analyzer, TapKind};
use siplens::hep::{HepListener, HepSender};
use siplens::live::{LiveInput, Stopper};

/// HEP options of `report` (and of `siplens FILE`).
#[derive(Args, Debug, Default)]
pub struct HepArgs {
    /// Forward the SIP (and RTCP) analysed as HEPv3 to this collector.
    ///
    /// HOMER, sngrep -L, or another siplens: udp:HOST:PORT.
    #[arg(long, value_name = "udp:HOST:PORT")]
    pub hep_send: Option<String>,
    /// Capture agent id sent with --hep-send.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2001,
        requires = "hep_send",
        hide_short_help = true
    )]
    pub hep_id: u32,
    /// Password (HEP auth key) sent with --hep-send.
    #[arg(long, value_name = "P", requires = "hep_send", hide_short_help = true)]
    pub hep_password: Option<String>,
    /// Receive HEP from capture agents here (repeatable).
    ///
    /// HEP v1, v2 and v3 on exactly this address (no wildcard unless given):
    /// udp:ADDR:PORT or tcp:ADDR:PORT. FILE arguments become optional; the report is
    /// printed when --duration, --count or Ctrl-C ends the run.
    #[arg(long, value_name = "udp|tcp:ADDR:PORT")]
    pub hep_listen: Vec<String>,
}

/// The sender behind the engine's tap, kept to print its counters at the end.
pub type SharedSender = Arc<Mutex<HepSender>>;

/// Opens the sender of --hep-send and taps the analyzer into it.
pub fn install_sender(
    args: &HepArgs,
    analyzer: &mut Analyzer,
) -> Result<Option<SharedSender>, ExitCode> {
    let Some(spec) = &args.hep_send else {
        return Ok(None);
    };
    let sender = match HepSender::connect(spec, args.hep_id, args.hep_password.clone()) {
        Ok(s) => Arc::new(Mutex::new(s)),
        Err(e) => {
            eprintln!("siplens: error: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let tap = Arc::clone(&sender);
    analyzer.set_tap(Box::new(move |kind, seg| {
        if let Ok(mut s) = tap.lock() {
            match kind {
                TapKind::Sip => s.send_sip(seg),
                TapKind::Rtcp => s.send_rtcp(seg),
            }
        }
    }));
    Ok(Some(sender))
}

/// Prints what the sender did (stderr).
pub fn report_sender(sender: &SharedSender) {
    if let Ok(s) = sender.lock() {
        eprintln!(
            "siplens: HEP sent to {}: {} packets, {} errors",
            s.destination(),
            s.sent(),
            s.errors()
        );
    }
}

/// Listeners of --hep-listen, bound before anything is read so a bad address stops the run.
pub struct Listeners {
    /// One live input per listener, for `siplens::live::run`.
    pub inputs: Vec<LiveInput>,
    /// Their malformed-packet counters.
    pub malformed: Vec<Arc<AtomicU64>>,
}

/// Binds every --hep-listen address.
pub fn bind_listeners(args: &HepArgs) -> Result<Listeners, ExitCode> {
    let mut l = Listeners {
        inputs: Vec::new(),
        malformed: Vec::new(),
    };
    for spec in &args.hep_listen {
        match HepListener::bind(spec) {
            Ok(h) => {
                l.malformed.push(h.malformed_counter());
                l.inputs.push(LiveInput {
                    stop: Stopper::flag(h.stop_handle()),
                    source: Box::new(h),
                });
            }
            Err(e) => {
                eprintln!("siplens: error: {e}");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(l)
}

/// Warns about the malformed HEP packets the listeners skipped.
pub fn report_malformed(counters: &[Arc<AtomicU64>]) {
    let malformed: u64 = counters.iter().map(|m| m.load(Ordering::Relaxed)).sum();
    if malformed > 0 {
        eprintln!("siplens: warning: {malformed} malformed HEP packets skipped");
    }
}
