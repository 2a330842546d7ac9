//! Dialog state machine, written as one transition table.
//!
//! States follow what sngrep and Wireshark's VoIP calls dialog show, refined with the
//! RFC 3261 outcome classes (§21): a call is set up (trying, ringing), established (in call),
//! then ends completed (BYE), cancelled (CANCEL/487), rejected (4xx/6xx from the far end),
//! redirected (3xx) or failed (5xx, 408 or no final answer).

use serde::Serialize;

/// Where a dialog stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DialogState {
    /// The initial request was sent; no provisional response other than 100 yet.
    Trying,
    /// A 180/183 (or other 101..199) response arrived.
    Ringing,
    /// A 2xx answered the INVITE; media may flow.
    InCall,
    /// INVITE dialog ended by BYE, or a non-INVITE exchange answered with 2xx.
    Completed,
    /// CANCEL sent or 487 Request Terminated received.
    Cancelled,
    /// Refused with 4xx (other than an auth challenge) or 6xx.
    Rejected,
    /// Answered with 3xx.
    Redirected,
    /// Server failure (5xx) or request timeout (408).
    Failed,
}

impl DialogState {
    /// Name used in reports (`in_call`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DialogState::Trying => "trying",
            DialogState::Ringing => "ringing",
            DialogState::InCall => "in_call",
            DialogState::Completed => "completed",
            DialogState::Cancelled => "cancelled",
            DialogState::Rejected => "rejected",
            DialogState::Redirected => "redirected",
            DialogState::Failed => "failed",
        }
    }

    /// True once nothing more is expected (used to evict finished dialogs first).
    pub fn is_finished(self) -> bool {
        !matches!(
            self,
            DialogState::Trying | DialogState::Ringing | DialogState::InCall
        )
    }
}

/// What happened to a dialog, as seen by the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A response to the dialog-creating transaction (the initial INVITE or the non-INVITE
    /// request, including its authenticated re-sends).
    InitialResponse(u16),
    /// A final response to a later transaction (re-INVITE, BYE, ...), with its method.
    LaterResponse {
        /// True when the response answers a BYE.
        bye: bool,
        /// True when the response answers a CANCEL.
        cancel: bool,
        /// Status code.
        status: u16,
    },
    /// A BYE request was sent within the dialog.
    Bye,
    /// A CANCEL request was sent.
    Cancel,
    /// A new (not retransmitted) initial request: INVITE before the call is up, or the
    /// non-INVITE request re-sent with credentials or after a failure.
    NewAttempt,
}

/// The transition table. `invite` tells INVITE dialogs from non-INVITE exchanges.
pub fn next_state(state: DialogState, invite: bool, event: Event) -> DialogState {
    use DialogState::*;
    match (invite, state, event) {
        (true, Trying | Ringing, Event::InitialResponse(100)) => state,
        (true, Trying | Ringing, Event::InitialResponse(101..=199)) => Ringing,
        // 2xx crossing a CANCEL still establishes the call (RFC 3261 §9.1).
        (true, Trying | Ringing | Cancelled, Event::InitialResponse(200..=299)) => InCall,
        (true, Trying | Ringing | Cancelled, Event::InitialResponse(487)) => Cancelled,
        // A 200 retransmission or a forked 200 after the call ended changes nothing.
        (true, InCall | Completed, Event::InitialResponse(_)) => state,
        (false, Trying | Ringing, Event::InitialResponse(100..=199)) => state,
        (false, _, Event::InitialResponse(200..=299)) => Completed,
        (_, Trying | Ringing | Rejected | Failed | Redirected, Event::InitialResponse(code)) => {
            final_failure(code, state)
        }
        (true, InCall, Event::Bye) => Completed,
        // BYE before any answer (RFC 3261 §15: the caller gives up on an early dialog).
        (true, Trying | Ringing, Event::Bye) => Cancelled,
        (true, Trying | Ringing, Event::Cancel) => Cancelled,
        // A refused BYE still means the call was torn down from the user's view.
        (
            true,
            InCall,
            Event::LaterResponse {
                bye: true,
                status: 200..=699,
                ..
            },
        ) => Completed,
        // An auth challenge (RFC 3261 §22.2/§22.3) rejects the attempt; the client's re-send
        // with credentials is a new attempt that starts over.
        (_, Rejected | Failed | Redirected | Cancelled, Event::NewAttempt) => Trying,
        // A 200 to CANCEL only confirms the CANCEL; the 487 decides.
        _ => state,
    }
}

/// Outcome for a final non-2xx response to the initial request (RFC 3261 §21.3-§21.6).
fn final_failure(code: u16, state: DialogState) -> DialogState {
    match code {
        300..=399 => DialogState::Redirected,
        408 | 500..=599 => DialogState::Failed,
        400..=499 | 600..=699 => DialogState::Rejected,
        _ => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DialogState::*;

    fn run(invite: bool, events: &[Event]) -> DialogState {
        events.iter().fold(Trying, |s, e| next_state(s, invite, *e))
    }

    #[test]
    fn basic_call() {
        let ev = [
            Event::InitialResponse(100),
            Event::InitialResponse(180),
            Event::InitialResponse(200),
        ];
        assert_eq!(run(true, &ev), InCall);
        let mut all = ev.to_vec();
        all.push(Event::Bye);
        assert_eq!(run(true, &all), Completed);
    }

    #[test]
    fn challenge_then_success() {
        let ev = [
            Event::InitialResponse(407),
            Event::NewAttempt,
            Event::InitialResponse(200),
        ];
        assert_eq!(run(true, &ev), InCall);
        let ev = [
            Event::InitialResponse(401),
            Event::NewAttempt,
            Event::InitialResponse(200),
        ];
        assert_eq!(run(false, &ev), Completed);
        // A challenge nobody answered leaves the exchange rejected.
        assert_eq!(run(false, &[Event::InitialResponse(401)]), Rejected);
    }

    #[test]
    fn failures() {
        assert_eq!(run(true, &[Event::InitialResponse(486)]), Rejected);
        assert_eq!(run(true, &[Event::InitialResponse(603)]), Rejected);
        assert_eq!(run(true, &[Event::InitialResponse(503)]), Failed);
        assert_eq!(run(true, &[Event::InitialResponse(408)]), Failed);
        assert_eq!(run(true, &[Event::InitialResponse(302)]), Redirected);
        assert_eq!(run(false, &[Event::InitialResponse(404)]), Rejected);
        // a challenge answered by 403 is a rejection
        assert_eq!(
            run(
                false,
                &[Event::InitialResponse(401), Event::InitialResponse(403)]
            ),
            Rejected
        );
    }

    #[test]
    fn cancel_flow() {
        let ev = [
            Event::InitialResponse(180),
            Event::Cancel,
            Event::LaterResponse {
                bye: false,
                cancel: true,
                status: 200,
            },
            Event::InitialResponse(487),
        ];
        assert_eq!(run(true, &ev), Cancelled);
    }

    #[test]
    fn new_attempt_after_rejection() {
        let ev = [
            Event::InitialResponse(488),
            Event::NewAttempt,
            Event::InitialResponse(180),
            Event::InitialResponse(200),
        ];
        assert_eq!(run(true, &ev), InCall);
        assert_eq!(run(true, &[Event::NewAttempt]), Trying);
    }

    #[test]
    fn late_200_does_not_reopen() {
        let ev = [
            Event::InitialResponse(200),
            Event::Bye,
            Event::InitialResponse(200),
        ];
        assert_eq!(run(true, &ev), Completed);
    }
}
