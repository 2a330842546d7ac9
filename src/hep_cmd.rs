//! `--hep-send` and `--hep-listen`: siplens as a HEP capture agent and as a HEP collector.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;

use siplens::capture::FrameSource;
use siplens::engine::{Analyzer, TapKind};
use siplens::hep::{HepListener, HepSender};

use crate::live_loop::{run_live_sources, StopWhen};

/// HEP options of `report` (and of `siplens FILE`).
#[derive(Args, Debug, Default)]
pub struct HepArgs {
    /// Forward every SIP message (and RTCP packet) analysed as HEPv3 to this collector
    /// (HOMER, sngrep -L): udp:HOST:PORT.
    #[arg(long, value_name = "udp:HOST:PORT")]
    pub hep_send: Option<String>,
    /// Capture agent id sent with --hep-send.
    #[arg(long, value_name = "N", default_value_t = 2001, requires = "hep_send")]
    pub hep_id: u32,
    /// Password (HEP auth key) sent with --hep-send.
    #[arg(long, value_name = "P", requires = "hep_send")]
    pub hep_password: Option<String>,
    /// Receive HEP (v1, v2, v3) from capture agents on this address, exactly (no wildcard
    /// unless given): udp:ADDR:PORT or tcp:ADDR:PORT. Repeatable. FILE arguments become
    /// optional; the report is printed when --duration, --count or Ctrl-C ends the run.
    #[arg(long, value_name = "udp|tcp:ADDR:PORT")]
    pub hep_listen: Vec<String>,
    /// Stop listening after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Stop listening after this many packets.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
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
    sources: Vec<Box<dyn FrameSource + Send>>,
    stops: Vec<Arc<AtomicBool>>,
    malformed: Vec<Arc<AtomicU64>>,
}

/// Binds every --hep-listen address.
pub fn bind_listeners(args: &HepArgs) -> Result<Listeners, ExitCode> {
    let mut l = Listeners {
        sources: Vec::new(),
        stops: Vec::new(),
        malformed: Vec::new(),
    };
    for spec in &args.hep_listen {
        match HepListener::bind(spec) {
            Ok(h) => {
                l.stops.push(h.stop_handle());
                l.malformed.push(h.malformed_counter());
                l.sources.push(Box::new(h));
            }
            Err(e) => {
                eprintln!("siplens: error: {e}");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(l)
}

/// Runs the listeners into the analyzer until --duration, --count or a signal.
pub fn run_listeners(l: Listeners, args: &HepArgs, analyzer: &mut Analyzer) {
    if l.sources.is_empty() {
        return;
    }
    let until = StopWhen {
        duration: args
            .duration
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(Duration::from_secs_f64),
        count: args.count,
    };
    let out = run_live_sources(l.sources, l.stops, analyzer, until);
    let malformed: u64 = l.malformed.iter().map(|m| m.load(Ordering::Relaxed)).sum();
    if malformed > 0 {
        eprintln!("siplens: warning: {malformed} malformed HEP packets skipped");
    }
    for e in &out.errors {
        eprintln!("siplens: warning: {e}");
    }
    if out.dropped > 0 {
        eprintln!(
            "siplens: warning: {} HEP packets dropped (analysis fell behind)",
            out.dropped
        );
    }
}
