//! The rule layer's contract: what a rule family sees and when it speaks.
//!
//! The engine owns a list of [`Rule`]s and knows none by name (the front ends register
//! them, see `rules::default_set`). Each rule keeps its own bounded state, observes SIP
//! messages, STUN/ZRTP packets and TLS sessions as the engine classifies them, and emits
//! findings twice: for a dialog the engine is about to evict ([`Rule::on_dialog_evicted`],
//! so that eviction loses no conclusion) and over everything still held
//! ([`Rule::finish`]). RTP packets are not shown one by one (that path carries most of
//! the traffic): rules read the engine's per-stream statistics when they conclude.

use crate::config::Config;
use crate::media::stun::StunMessage;
use crate::model::{Finding, Seen};
use crate::sdp;
use crate::sip::MessageView;
use crate::tls::TlsSession;

use super::{Analyzer, Dialog, EngineStats};

/// One SIP message as the rules see it, after the engine updated its dialog.
///
/// A context of its own, so that what the engine shows a rule can grow without touching
/// every rule's signature.
pub struct MessageCtx<'a, 'm> {
    /// The parsed message, as the per-message view: each field is parsed on first use and
    /// kept, so rules reading the same header do not parse it again.
    pub msg: &'a MessageView<'m>,
    /// Its bytes as captured (start line to the end of the body).
    pub raw: &'a [u8],
    /// Frame, time, addresses and transport of the segment that carried it.
    pub seen: Seen,
    /// The dialog it belongs to (None without a Call-ID).
    pub dialog: Option<&'a Dialog>,
    /// "INVITE" or "200 OK" style label of the start line (empty without a dialog).
    pub label: &'a str,
    /// True for a request, false for a response.
    pub is_request: bool,
    /// True when the dialog already saw this transaction message (a retransmission or a
    /// duplicate capture): most rules look at each message once.
    pub repeat: bool,
    /// The SDP body, when the message carried one and it was not a repeat.
    pub sdp: Option<SdpCtx<'a, 'm>>,
}

/// An SDP body and where it stands in the dialog's offer/answer exchanges (RFC 3264).
pub struct SdpCtx<'a, 'm> {
    /// The parsed body.
    pub sdp: &'a sdp::Sdp<'m>,
    /// True when the party that started the dialog sent it.
    pub from_caller: bool,
    /// True when it repeats the last exchange on another hop (a relayed copy).
    pub copy: bool,
}

/// A media-plane packet a rule may care about.
pub enum MediaEvent<'a, 'm> {
    /// A STUN message (RFC 8489).
    Stun {
        /// The parsed message.
        msg: &'a StunMessage<'m>,
        /// Where it was seen.
        seen: Seen,
    },
    /// A ZRTP packet (RFC 6189) on media an SDP of `dialog` announced.
    Zrtp {
        /// The dialog whose SDP announced the address.
        dialog: u64,
        /// Where it was seen.
        seen: Seen,
    },
}

/// A SIP message that does not parse, or parses but breaks RFC 3261 rules.
pub struct Malformed<'a> {
    /// Where it was seen.
    pub seen: Seen,
    /// Its Call-ID, when one could be read.
    pub call_id: Option<&'a [u8]>,
    /// What is wrong with it.
    pub reason: &'a str,
}

/// A datagram that never arrived: an ICMP Destination Unreachable came back quoting it
/// (see [`crate::net::icmp`]). When the quote starts like SIP, `msg` is what of it parses
/// (the quote may stop mid-message).
pub struct Undelivered<'a, 'm> {
    /// Frame and time of the ICMP error; sender and intended receiver of the datagram.
    pub seen: Seen,
    /// Who reported it (the unreachable host, or a router or firewall on the way).
    pub reporter: std::net::IpAddr,
    /// Why it was not delivered.
    pub reason: crate::net::icmp::Unreachable,
    /// The quoted bytes (the UDP payload as far as the error quoted it).
    pub quote: &'a [u8],
    /// The quoted SIP message, when it parses.
    pub msg: Option<&'a MessageView<'m>>,
    /// The dialog of its Call-ID, when the engine holds it.
    pub dialog: Option<&'a Dialog>,
}

/// One rule family. Every hook but [`Rule::finish`] has an empty default, so a rule
/// implements only what it watches. Hooks that count what a bounded table could not keep
/// get the engine's counters (`stats`) to update.
pub trait Rule: Send + Sync {
    /// A short stable name (the rule family), for diagnostics.
    fn name(&self) -> &'static str;

    /// Applies a configuration (thresholds, signatures); called before the first frame.
    fn configure(&mut self, _config: &Config) {}

    /// A parsed SIP message.
    fn on_message(&mut self, _cx: &MessageCtx<'_, '_>, _stats: &mut EngineStats) {}

    /// A SIP message that is malformed (see [`Malformed`]).
    fn on_malformed(&mut self, _m: &Malformed<'_>, _stats: &mut EngineStats) {}

    /// A SIP datagram quoted in an ICMP error: it never reached its destination.
    fn on_undelivered(&mut self, _u: &Undelivered<'_, '_>, _stats: &mut EngineStats) {}

    /// A STUN or ZRTP packet.
    fn on_media(&mut self, _ev: &MediaEvent<'_, '_>, _stats: &mut EngineStats) {}

    /// A TLS session leaving the tracker's table (a new connection on its address pair,
    /// or eviction): conclude on it now, it will not be seen again.
    fn on_tls_session_end(&mut self, _s: &TlsSession, _stats: &mut EngineStats) {}

    /// Dialog `d` is being evicted (it is already out of the engine's table; its streams
    /// are still there, see [`Analyzer::streams_of`]). Push its findings to `out` and drop
    /// the state kept for it.
    fn on_dialog_evicted(&mut self, _d: &Dialog, _an: &Analyzer, _out: &mut Vec<Finding>) {}

    /// Pushes the findings over everything the engine still holds. May be called many
    /// times (the live dashboard asks every tick), so it changes nothing.
    fn finish(&self, an: &Analyzer, out: &mut Vec<Finding>);

    /// For a rule whose conclusions are drawn one dialog at a time: the findings of each
    /// of `dialogs` (in the order given), handed to `each` with the dialog's id (it takes
    /// them out of the list); returns true. Such a rule's [`Rule::finish`] must be exactly
    /// this over [`Analyzer::dialogs`]. A dialog's findings must be about its call (their
    /// Call-ID is the dialog's) and may depend only on the dialog, its media streams, the
    /// keepalives seen and what the rule kept about that dialog:
    /// [`Analyzer::findings_changed`] then draws them again only for the dialogs that
    /// moved. Called with no dialog, it only says whether the rule is one of these. The
    /// default, for every other rule, does nothing and returns false.
    fn conclude_dialogs<'a>(
        &self,
        _an: &'a Analyzer,
        _dialogs: &mut dyn Iterator<Item = &'a Dialog>,
        _each: &mut dyn FnMut(u64, &mut Vec<Finding>),
    ) -> bool {
        false
    }
}

/// [`Rule::finish`] of a rule that concludes one dialog at a time: its
/// [`Rule::conclude_dialogs`] over every dialog held, in order.
pub fn conclude_every_dialog<R: Rule + ?Sized>(rule: &R, an: &Analyzer, out: &mut Vec<Finding>) {
    rule.conclude_dialogs(an, &mut an.dialogs(), &mut |_, v| out.append(v));
}

/// What [`Analyzer::findings_changed`] keeps between two calls: the calls that the rules
/// concluding over everything spoke of at the last call (None before a first call that
/// could be built on), and how many findings the engine held then.
#[derive(Debug, Default)]
pub struct ConclusionCache {
    pub(super) global_calls: Option<rustc_hash::FxHashSet<String>>,
    /// How many of the engine's own findings there were at the last call.
    pub(super) engine_seen: usize,
    /// Whether any RTP had been seen at the last call.
    pub(super) rtp_seen: bool,
}

/// What [`Analyzer::findings_changed`] answers: findings in report order, all of them or
/// those of some calls.
#[derive(Debug)]
pub struct FindingsDelta {
    /// The findings: every one (`calls` None), or every one tied to no call or to a call
    /// in `calls`.
    pub findings: Vec<Finding>,
    /// None: `findings` is the whole list. Some: the Call-IDs whose findings are all in
    /// `findings`; any other call's findings are those of the previous answer.
    pub calls: Option<rustc_hash::FxHashSet<String>>,
}

impl FindingsDelta {
    /// True when every finding about `call` (None: tied to no call) is in `findings`.
    pub fn has_all_of(&self, call: Option<&str>) -> bool {
        match (call, &self.calls) {
            (None, _) | (_, None) => true,
            (Some(c), Some(calls)) => calls.contains(c),
        }
    }
}
