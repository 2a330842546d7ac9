//! `--hep-send` and `--hep-listen`: siplens as a HEP capture agent and as a HEP collector.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;

use siplens::engine::{Analyzer, TapKind};
use siplens::hep::listen::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNS, DEFAULT_MAX_PER_PEER, DEFAULT_RCVBUF,
};
use siplens::hep::{
    HepListener, HepListenerStats, HepSender, ListenOptions, StatsHandle, TapPacket,
};
use siplens::live::{LiveInput, Stopper};
use siplens::net::Transport;

/// HEP options of `report` (and of `siplens FILE`).
#[derive(Args, Debug, Default)]
pub struct HepArgs {
    /// Forward analysed SIP and RTCP as HEPv3 to this collector.
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
    /// TCP listeners: close a connection that sent nothing for this many seconds (0:
    /// never). Long by default: the agent only learns of the close by losing its next
    /// message.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs(),
        requires = "hep_listen",
        help_heading = "HEP",
        hide_short_help = true,
    )]
    pub hep_idle_timeout: u64,
    /// TCP listeners: connections served at once from one IP address. A newcomer past it
    /// replaces that address's longest-idle connection (silent for 1 s at least), or is
    /// refused.
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_MAX_PER_PEER as u32,
        value_parser = clap::value_parser!(u32).range(1..),
        requires = "hep_listen",
        help_heading = "HEP",
        hide_short_help = true,
    )]
    pub hep_max_per_peer: u32,
    /// TCP listeners: connections served at once in all. A newcomer past it replaces the
    /// longest-idle connection (silent for 1 s at least), or is refused.
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_MAX_CONNS as u32,
        value_parser = clap::value_parser!(u32).range(1..=65_536),
        requires = "hep_listen",
        help_heading = "HEP",
        hide_short_help = true,
    )]
    pub hep_max_conns: u32,
    /// UDP listeners: socket receive buffer in MiB (fractions allowed; 0 keeps the system
    /// default), to hold a burst while the reader is busy. Above net.core.rmem_max only
    /// as root; the size granted is in the report.
    #[arg(
        long,
        value_name = "MB",
        default_value_t = (DEFAULT_RCVBUF >> 20) as f64,
        value_parser = parse_rcvbuf,
        requires = "hep_listen",
        help_heading = "HEP",
        hide_short_help = true,
    )]
    pub hep_rcvbuf: f64,
}

/// `--hep-rcvbuf`: MiB, at most 1 GiB (the kernel takes an int, and doubles it).
fn parse_rcvbuf(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(mb) if (0.0..=1024.0).contains(&mb) => Ok(mb),
        _ => Err(format!("{s:?}: expected MiB from 0 to 1024")),
    }
}

impl HepArgs {
    /// The listener bounds the flags give.
    pub fn listen_options(&self) -> ListenOptions {
        ListenOptions {
            idle_timeout: (self.hep_idle_timeout > 0)
                .then(|| Duration::from_secs(self.hep_idle_timeout)),
            max_per_peer: self.hep_max_per_peer as usize,
            max_conns: self.hep_max_conns as usize,
            rcvbuf: (self.hep_rcvbuf * f64::from(1u32 << 20)) as usize,
        }
    }
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
            let p = TapPacket {
                ts: seg.ts,
                src: seg.src,
                dst: seg.dst,
                tcp: seg.transport != Transport::Udp,
                payload: &seg.payload,
            };
            match kind {
                TapKind::Sip => s.send_sip(&p),
                TapKind::Rtcp => s.send_rtcp(&p),
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
    /// Their counters, readable once the inputs moved to their threads.
    pub stats: Vec<StatsHandle>,
}

/// Binds every --hep-listen address.
pub fn bind_listeners(args: &HepArgs) -> Result<Listeners, ExitCode> {
    let mut l = Listeners {
        inputs: Vec::new(),
        stats: Vec::new(),
    };
    let opts = args.listen_options();
    for spec in &args.hep_listen {
        match HepListener::bind_with(spec, opts) {
            Ok(h) => {
                l.stats.push(h.stats_handle());
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

/// The listeners' counters for the report (`hep_listeners`; empty without listeners).
pub fn listener_stats(stats: &[StatsHandle]) -> Vec<HepListenerStats> {
    stats.iter().map(StatsHandle::snapshot).collect()
}

/// Warns (stderr) about what the listeners skipped or lost; the same counters are in the
/// report's `hep_listeners`.
pub fn report_listeners(stats: &[StatsHandle]) {
    let all = listener_stats(stats);
    let malformed: u64 = all.iter().map(|s| s.malformed).sum();
    if malformed > 0 {
        // Named after its JSON field: the decoder's own count of HEP it could not use
        // (summary.net.hep_malformed) is another one, of packets that got past this check.
        eprintln!(
            "siplens: warning: {malformed} malformed HEP packets skipped by the listeners (hep_listeners[].malformed)"
        );
    }
    for s in &all {
        if let Some(n) = s.kernel_drops.filter(|&n| n > 0) {
            eprintln!(
                "siplens: warning: {}: {n} HEP datagrams dropped by the kernel (receive buffer full; raise --hep-rcvbuf)",
                s.listen
            );
        }
        if let Some(t) = s.tcp.filter(|t| t.refused_per_peer + t.refused_total > 0) {
            eprintln!(
                "siplens: warning: {}: {} HEP connections refused ({} past --hep-max-per-peer, {} past --hep-max-conns)",
                s.listen,
                t.refused_per_peer + t.refused_total,
                t.refused_per_peer,
                t.refused_total
            );
        }
    }
}
