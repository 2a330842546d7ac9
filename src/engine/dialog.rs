//! What one SIP message does to its dialog, by concern: transaction identity
//! (retransmissions and duplicate captures), credentials, User-Agents, the dialog state
//! machine and the SDP offer/answer. [`Analyzer::update_dialog`](super::Analyzer) calls
//! them in this order.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::model::{
    Addr, AuthAttempt, DtmfEvent, DtmfVia, List, MediaSession, SdpRecord, Sym, Symbols,
    MAX_EVIDENCE,
};
use crate::net::Segment;
use crate::sdp;
use crate::sip::MessageView;

use super::state::{self, DialogState, Event};
use super::{
    lossy, push_small, push_tight, sdp_action, summarize_sdp, Dialog, EngineStats, SdpAction,
    DUPLICATE_WINDOW_NS, MAX_SDP_PER_DIALOG, MAX_TO_TAGS, RETRANSMISSION_HORIZON_NS, SEEN_PRUNE_AT,
};

/// How a message relates to the transactions the dialog already saw.
#[derive(Debug, Clone, Copy)]
pub(super) struct Repeat {
    /// The same packet captured again within [`DUPLICATE_WINDOW_NS`].
    pub duplicate: bool,
    /// Sent again by its sender (RFC 3261 §17 timers).
    pub retransmission: bool,
}

impl Repeat {
    /// Either: the dialog saw this transaction message before.
    pub fn any(self) -> bool {
        self.duplicate || self.retransmission
    }
}

/// What an SDP body added to the dialog.
pub(super) struct SdpSeen<'m> {
    /// Index into [`Dialog::sdp`] (None once the per-dialog cap is reached).
    pub index: Option<u32>,
    /// RTP and RTCP addresses to bind to the dialog (SDP lines and ICE candidates): in
    /// place when one, as a body with one media line and no candidates has.
    pub announced: List<(Option<SocketAddr>, Option<SocketAddr>)>,
    /// The parsed body, its side, and whether it is a relayed copy (for the rules).
    pub parsed: (sdp::Sdp<'m>, bool, bool),
}

/// Most User-Agent and Server values shared, and most lists of them.
const MAX_AGENTS: usize = 1024;

/// What a dialog keeps of its User-Agent and Server headers ([`Dialog::user_agents`]).
pub type AgentList = Arc<[Arc<str>]>;

/// User-Agent and Server values, and the lists of them dialogs keep, each kept once for
/// every dialog that names it: a capture has a handful of products across thousands of
/// calls, and a copy per dialog was an allocation each, in a list allocated and grown
/// for the callee's Server (four allocations per call). Bounded by [`MAX_AGENTS`]: past
/// it (a scanner naming itself anew each time), values and lists are no longer shared.
#[derive(Debug)]
pub(super) struct Agents {
    shared: rustc_hash::FxHashMap<Box<[u8]>, Arc<str>>,
    lists: rustc_hash::FxHashMap<AgentList, ()>,
    empty: AgentList,
    /// The last append to a list of each length: the list (the same allocation, kept
    /// alive here), the value and the result. Calls repeat the same one or two (the
    /// caller's product, then the callee's), answered without hashing the texts.
    last: [Option<(AgentList, Arc<str>, AgentList)>; MAX_LIST],
}

impl Default for Agents {
    fn default() -> Self {
        Agents {
            shared: Default::default(),
            lists: Default::default(),
            empty: Arc::from([]),
            last: Default::default(),
        }
    }
}

impl Agents {
    /// The text of `ua` (a lossy copy, as the dialog kept it before), shared when known.
    pub fn get(&mut self, ua: &[u8]) -> Arc<str> {
        if let Some(a) = self.shared.get(ua) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(crate::bytes::lossy(ua).as_ref());
        if self.shared.len() < MAX_AGENTS {
            self.shared.insert(ua.into(), Arc::clone(&a));
        }
        a
    }

    /// The list of no value, for a new dialog.
    pub fn empty(&self) -> AgentList {
        Arc::clone(&self.empty)
    }

    /// `list` with `ua` appended (at most [`MAX_LIST`] values), shared when known.
    pub fn with(&mut self, list: &AgentList, ua: &[u8]) -> AgentList {
        let at = list.len().min(MAX_LIST - 1);
        if let Some(Some((from, a, to))) = self.last.get(at) {
            if Arc::ptr_eq(from, list) && a.as_bytes() == ua {
                return Arc::clone(to);
            }
        }
        let a = self.get(ua);
        let l = self.append(list, &a);
        if let Some(slot) = self.last.get_mut(at) {
            *slot = Some((Arc::clone(list), a, Arc::clone(&l)));
        }
        l
    }

    /// `list` with `a` appended, shared when known (the work of [`Self::with`]).
    fn append(&mut self, list: &[Arc<str>], a: &Arc<str>) -> AgentList {
        // The longer list, on the stack: lists are compared by their texts.
        let mut items: [Arc<str>; MAX_LIST] = std::array::from_fn(|_| Arc::clone(a));
        let n = list.len().min(MAX_LIST - 1);
        for (slot, x) in items.iter_mut().zip(list.iter().take(n)) {
            *slot = Arc::clone(x);
        }
        let key = items.get(..=n).unwrap_or_default();
        if let Some((l, ())) = self.lists.get_key_value(key) {
            return Arc::clone(l);
        }
        let l: AgentList = Arc::from(key);
        if self.lists.len() < MAX_AGENTS {
            self.lists.insert(Arc::clone(&l), ());
        }
        l
    }
}

/// Most User-Agent and Server values a dialog keeps.
pub(super) const MAX_LIST: usize = 4;

impl Dialog {
    /// Records the transaction identity `key` (a hash of top Via branch, CSeq, direction
    /// and addresses, RFC 3261 §17.1.3 / §17.2.3) and says whether the message repeats one.
    pub(super) fn note_transaction(
        &mut self,
        key: u64,
        seg: &Segment<'_>,
        label: Sym,
        stats: &mut EngineStats,
    ) -> Repeat {
        // A copy within DUPLICATE_WINDOW_NS cannot be a SIP retransmission (the first timer
        // fires after T1 = 500 ms, RFC 3261 §17.1.1.2): it is the same packet captured twice
        // (two interfaces, a SPAN port seeing both directions). Count it apart.
        let first_seen = self.seen.iter().find(|(k, _)| *k == key).map(|(_, t)| *t);
        if first_seen.is_none() {
            if self.seen.len() >= SEEN_PRUNE_AT {
                // A transaction is retransmitted for 64*T1 = 32 s at most (RFC 3261
                // §17.1.1.2, Timer B/F): older keys can go, so a days-long dialog stays small.
                self.seen
                    .retain(|(_, t)| seg.ts.since(*t) <= RETRANSMISSION_HORIZON_NS);
            }
            // The first key in place: most dialogs (a flood's INVITEs, OPTIONS pings) see
            // one transaction, and a list of one was an allocation per dialog.
            let finished = self.finished_seq != 0;
            // Each message of a call is a transaction key of its own (status and
            // direction are part of it): room for a call's seven at the second (the list
            // then holds the first too: room for six grew it again at the BYE's 200 OK).
            self.seen
                .push_reserving((key, seg.ts), super::CALL_MESSAGES, |v, x| {
                    push_tight(v, x, finished)
                });
        }
        let duplicate = first_seen.is_some_and(|t| seg.ts.since(t) < DUPLICATE_WINDOW_NS);
        let retransmission = first_seen.is_some() && !duplicate;
        if duplicate {
            self.duplicates += 1;
            stats.sip_duplicates += 1;
        }
        if retransmission {
            self.retransmissions += 1;
            stats.sip_retransmissions += 1;
            let rare = self.rare_mut();
            if rare.retransmission_frames.len() < MAX_EVIDENCE {
                rare.retransmission_frames.push(seg.frame);
            }
            *rare.retransmitted.entry(label).or_insert(0) += 1;
        }
        Repeat {
            duplicate,
            retransmission,
        }
    }

    /// Records the DTMF digits a request's body carries: SIP INFO with
    /// `application/dtmf-relay` (`Signal=5`, `Duration=160`) or `application/dtmf` (the
    /// digit), and KPML reports (RFC 4730 §6.2, `application/kpml-response+xml` in a
    /// NOTIFY, `digits="..."`). Read from the body type, whatever the method, since
    /// devices are lax about which request carries which body. A first sighting only.
    pub(super) fn note_dtmf_signal(
        &mut self,
        msg: &MessageView<'_>,
        seg: &Segment<'_>,
        max: usize,
        stats: &mut EngineStats,
    ) {
        use crate::media::dtmf;
        let Some(ct) = msg.content_type() else {
            return;
        };
        // Every DTMF body is application/*: the type is compared once, then the subtype
        // (as `MediaType::is` does, case-insensitively), where three full comparisons ran
        // for every SDP body.
        if !ct.type_.eq_ignore_ascii_case(b"application") {
            return;
        }
        let sub = |s: &str| ct.subtype.eq_ignore_ascii_case(s.as_bytes());
        let body = msg.body;
        let (via, digits): (DtmfVia, Vec<(u8, Option<u32>)>) = if sub("dtmf-relay") {
            (
                DtmfVia::Info,
                dtmf::parse_dtmf_relay(body).into_iter().collect(),
            )
        } else if sub("dtmf") {
            let d = dtmf::parse_dtmf_body(body);
            (DtmfVia::Info, d.map(|d| (d, None)).into_iter().collect())
        } else if sub("kpml-response+xml") {
            let d = dtmf::parse_kpml_digits(body).unwrap_or_default();
            (DtmfVia::Kpml, d.into_iter().map(|d| (d, None)).collect())
        } else {
            return;
        };
        for (digit, duration_ms) in digits {
            let ev = DtmfEvent {
                digit,
                ts: seg.ts,
                duration_ms,
                via,
                frame: seg.frame,
                src: Addr::new(seg.src),
                dst: Addr::new(seg.dst),
                transport: seg.transport,
                ended: true,
            };
            self.note_dtmf(ev, max, stats);
        }
    }

    /// Remembers a response's To tag (forks and legs), bounded by [`MAX_TO_TAGS`].
    pub(super) fn note_to_tag(&mut self, to_tag: Option<&[u8]>, is_request: bool) {
        if let Some(t) = to_tag {
            if !is_request
                && self.to_tags.len() < MAX_TO_TAGS
                && !self.to_tags.iter().any(|x| x.as_bytes() == t)
            {
                self.to_tags.push(lossy(t));
            }
        }
    }

    /// Records the credentials a request carried, and the outcome a final response gives
    /// to the attempts of its transaction (a first sighting only).
    pub(super) fn note_auth(
        &mut self,
        msg: &MessageView<'_>,
        seg: &Segment<'_>,
        method: &str,
        cseq: Option<(u32, &str)>,
        status: u16,
        stats: &mut EngineStats,
    ) {
        if status == 0 {
            let creds = msg
                .authorization()
                .iter()
                .map(|c| (c, false))
                .chain(msg.proxy_authorization().iter().map(|c| (c, true)));
            for (c, proxy) in creds {
                if self.auth().len() >= crate::model::auth::MAX_ATTEMPTS {
                    stats.auth_attempts_dropped += 1;
                    continue;
                }
                let mut a = AuthAttempt::from_credentials(c, proxy);
                a.frame = seg.frame;
                a.ts = seg.ts;
                a.src = seg.src;
                a.dst = seg.dst;
                a.transport = seg.transport;
                a.method = method.to_string();
                a.cseq = cseq.map(|c| c.0).unwrap_or(0);
                a.challenge_frame = self.last_challenge();
                a.set_body(msg.body);
                self.rare_mut().auth.push(a);
            }
        } else if status >= 200 {
            if status == 401 || status == 407 {
                self.rare_mut().last_challenge = Some(seg.frame);
            }
            // The final answer to a request that carried credentials is its outcome.
            if let (Some((num, method)), Some(rare)) = (cseq, self.rare.as_mut()) {
                for a in rare
                    .auth
                    .iter_mut()
                    .filter(|a| a.outcome.is_none() && a.cseq == num && a.method == method)
                {
                    a.outcome = Some((status, seg.frame));
                }
            }
        }
    }

    /// Keeps the caller's User-Agent and the callee's Server (or User-Agent), at most 4,
    /// shared through `agents`.
    pub(super) fn note_user_agent(
        &mut self,
        msg: &MessageView<'_>,
        is_request: bool,
        agents: &mut Agents,
    ) {
        let ua = if is_request {
            msg.user_agent()
        } else {
            msg.server().or_else(|| msg.user_agent())
        };
        if let Some(ua) = ua {
            if self.user_agents.len() < MAX_LIST
                && !self.user_agents.iter().any(|u| u.as_bytes() == ua)
            {
                self.user_agents = agents.with(&self.user_agents, ua);
            }
        }
    }

    /// Moves the dialog state machine ([`state::next_state`]) for a message seen for the
    /// first time. `status` is 0 for requests.
    pub(super) fn advance_state(
        &mut self,
        label: Sym,
        status: u16,
        cseq: Option<(u32, Sym)>,
        ts: crate::capture::Timestamp,
    ) {
        let invite = self.is_call();
        let cseq_method = cseq.map(|c| c.1).unwrap_or(Sym::EMPTY);
        let cseq_num = cseq.map(|c| c.0);
        let initial_method = self.method;
        if status == 0 {
            if label == Sym::INVITE {
                self.invite_seen = true;
            }
            // An INVITE in a Call-ID that began with another method (REGISTER then
            // INVITE, as some UAs do) turns the dialog into a call.
            if label == Sym::INVITE && !invite && self.state.is_finished() {
                self.method = label;
                self.state = DialogState::Trying;
                self.initial_cseq = cseq_num;
            } else if label == initial_method && label != Sym::ACK && label != Sym::CANCEL {
                let before_answer =
                    !matches!(self.state, DialogState::InCall | DialogState::Completed);
                if before_answer || !invite {
                    self.initial_cseq = cseq_num;
                    self.state = state::next_state(self.state, invite, Event::NewAttempt);
                }
            } else if label == Sym::BYE {
                self.state = state::next_state(self.state, invite, Event::Bye);
            } else if label == Sym::CANCEL {
                self.state = state::next_state(self.state, invite, Event::Cancel);
            }
        } else {
            let initial = cseq_method == initial_method
                && (self.initial_cseq.is_none() || self.initial_cseq == cseq_num);
            let ev = if initial {
                if status >= 200 {
                    self.final_status = Some(status);
                }
                if (200..300).contains(&status) && invite && self.answered.is_none() {
                    self.answered = Some(ts);
                }
                Event::InitialResponse(status)
            } else {
                Event::LaterResponse {
                    bye: cseq_method == Sym::BYE,
                    cancel: cseq_method == Sym::CANCEL,
                    status,
                }
            };
            self.state = state::next_state(self.state, invite, ev);
        }
    }

    /// Keeps the SDES master keys of an SDP body (RFC 4568 §9.1 `a=crypto` inline keys)
    /// for decrypting the streams bound to this dialog: each media line's keys with the
    /// address it announced (`media` is `parsed` summarised, line for line). A key seen
    /// before (a relayed copy of the SDP) is kept once; past [`super::srtp::MAX_SDES_KEYS`]
    /// keys are counted as dropped security records.
    fn note_sdes_keys(
        &mut self,
        parsed: &sdp::Sdp<'_>,
        media: &[crate::model::MediaLine],
        from_caller: bool,
        frame: u64,
        stats: &mut EngineStats,
    ) {
        for (m, line) in parsed.media.iter().zip(media) {
            for key in m.crypto().filter_map(super::srtp::master_key) {
                let sdes = &mut self.rare_mut().sdes;
                if sdes.iter().any(|k| k.key == key) {
                    continue;
                }
                if sdes.len() >= super::srtp::MAX_SDES_KEYS {
                    stats.security_records_dropped += 1;
                    continue;
                }
                push_small(
                    sdes,
                    super::srtp::SdesKey {
                        from_caller,
                        addr: line.addr.map(|a| a.get()),
                        rtcp: line.rtcp.map(|a| a.get()),
                        frame,
                        key,
                    },
                );
            }
        }
    }

    /// Records an SDP body (RFC 3264 offer/answer), bounded by [`MAX_SDP_PER_DIALOG`];
    /// None when the message carries none.
    pub(super) fn note_sdp<'m>(
        &mut self,
        msg: &MessageView<'m>,
        seg: &Segment<'_>,
        is_request: bool,
        cseq_num: Option<u32>,
        symbols: &mut Symbols,
        stats: &mut EngineStats,
    ) -> Option<SdpSeen<'m>> {
        // Parsed ahead on the reader thread when there is one (engine::pipeline).
        let parsed = msg.take_sdp()?;
        stats.sdp_bodies += 1;
        // The side comes from the From tag, not the address: a proxy relaying the
        // caller's INVITE to the callee sends it from its own address. Requests
        // carry their sender's tag in From, responses their recipient's.
        let from_caller = match (msg.from().and_then(|n| n.tag()), self.from_tag.as_deref()) {
            (Some(t), Some(caller)) => (t == caller.as_bytes()) == is_request,
            _ => self.src == seg.src,
        };
        let action = sdp_action(&self.sessions, &self.sdp, from_caller, cseq_num);
        let media = summarize_sdp(&parsed, symbols);
        let mut announced: List<(Option<SocketAddr>, Option<SocketAddr>)> = media
            .iter()
            .map(|m| (m.addr.map(|a| a.get()), m.rtcp.map(|a| a.get())))
            .collect();
        // ICE candidates are where media may really flow (rules::stun).
        for c in media.iter().flat_map(|m| m.candidates.iter()) {
            announced.push(match c.component {
                1 => (Some(c.addr), None),
                _ => (None, Some(c.addr)),
            });
        }
        self.note_sdes_keys(&parsed, &media, from_caller, seg.frame, stats);
        let idx = self.sdp.len();
        let mut index = None;
        if idx >= MAX_SDP_PER_DIALOG {
            // Days of session-timer re-INVITEs: keep binding media, stop recording.
            stats.sdp_records_dropped += 1;
        } else {
            push_small(
                &mut self.sdp,
                SdpRecord {
                    frame: seg.frame,
                    from_caller,
                    media,
                },
            );
            index = Some(idx as u32);
            match (action, self.sessions.last_mut()) {
                (SdpAction::Answer, Some(s)) => s.answer = Some(idx),
                (SdpAction::Copy, _) => {}
                _ => self.sessions.push_with(
                    MediaSession {
                        offer: idx,
                        answer: None,
                        cseq: cseq_num,
                    },
                    push_small,
                ),
            }
        }
        Some(SdpSeen {
            index,
            announced,
            parsed: (parsed, from_caller, action == SdpAction::Copy),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared value is the lossy copy the dialog kept before, the same allocation for
    /// every dialog; past the bound values are still given, just not shared.
    #[test]
    fn agents_share_the_lossy_copy() {
        let mut a = Agents::default();
        let x = a.get(b"PolycomVVX/6.3");
        let y = a.get(b"PolycomVVX/6.3");
        assert!(Arc::ptr_eq(&x, &y));
        assert_eq!(&*x, "PolycomVVX/6.3");
        assert_eq!(&*a.get(b"bad\xffua"), &*lossy(b"bad\xffua"));
        for i in 0..MAX_AGENTS {
            a.get(format!("ua{i}").as_bytes());
        }
        let p = a.get(b"past the bound");
        let q = a.get(b"past the bound");
        assert_eq!((&*p, &*q), ("past the bound", "past the bound"));
        assert!(!Arc::ptr_eq(&p, &q));
    }

    /// A list is the values in the order given, shared by the dialogs naming the same
    /// ones in the same order; past the bound, lists are still right, just not shared.
    #[test]
    fn agent_lists_are_shared_in_order() {
        let mut a = Agents::default();
        let texts = |l: &AgentList| l.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        let e = a.empty();
        assert!(e.is_empty());
        let one = a.with(&e, b"caller");
        let two = a.with(&one, b"server");
        assert_eq!(texts(&two), ["caller", "server"]);
        let again = a.with(&e, b"caller");
        assert!(Arc::ptr_eq(&two, &a.with(&again, b"server")));
        let first = a.with(&e, b"server");
        let other = a.with(&first, b"caller");
        assert_eq!(texts(&other), ["server", "caller"]);
        assert!(!Arc::ptr_eq(&two, &other));
        let three = a.with(&two, b"x");
        let four = a.with(&three, b"y");
        assert_eq!(texts(&four), ["caller", "server", "x", "y"]);
        for i in 0..MAX_AGENTS {
            a.with(&e, format!("ua{i}").as_bytes());
        }
        let p = a.with(&one, b"late");
        // The same append again is answered by the memo; after another, not shared.
        assert!(Arc::ptr_eq(&p, &a.with(&one, b"late")));
        assert_eq!(texts(&a.with(&one, b"other")), ["caller", "other"]);
        let q = a.with(&one, b"late");
        assert_eq!(texts(&p), ["caller", "late"]);
        assert_eq!(texts(&q), ["caller", "late"]);
        assert!(!Arc::ptr_eq(&p, &q));
    }

    /// The formats of a media line: the first [`super::super::MAX_FORMATS`] payload types
    /// in order, with their codecs, in a list of their exact size.
    #[test]
    fn summarized_formats_are_exact() {
        let pts: Vec<String> = (0..40).map(|p| p.to_string()).collect();
        let body = format!(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP {} x 200\r\na=rtpmap:101 telephone-event/8000\r\n\
             m=audio 4002 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
            pts.join(" ")
        );
        let mut symbols = Symbols::new(100);
        let parsed = sdp::parse(body.as_bytes());
        let media = summarize_sdp(&parsed, &mut symbols);
        let first = &media[0].formats;
        assert_eq!(first.len(), super::super::MAX_FORMATS);
        assert_eq!(first.capacity(), first.len());
        let want: Vec<u8> = (0..32).collect();
        assert_eq!(first.iter().map(|f| f.0).collect::<Vec<_>>(), want);
        assert_eq!(symbols.name(first[0].1), "PCMU");
        assert_eq!(first[0].2, 8000);
        let second = &media[1].formats;
        assert_eq!(second.capacity(), 2);
        assert_eq!(symbols.name(second[1].1), "telephone-event");
        assert_eq!(second[1].2, 8000);
        // Around the few kept on the stack.
        for n in [7u8, 8, 9, 17] {
            let pts: Vec<String> = (0..n).map(|p| p.to_string()).collect();
            let body = format!(
                "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP {}\r\n",
                pts.join(" ")
            );
            let parsed = sdp::parse(body.as_bytes());
            let media = summarize_sdp(&parsed, &mut symbols);
            let f = &media[0].formats;
            assert_eq!(
                f.iter().map(|f| f.0).collect::<Vec<_>>(),
                (0..n).collect::<Vec<_>>()
            );
            assert_eq!(f.capacity(), usize::from(n));
        }
    }
}
