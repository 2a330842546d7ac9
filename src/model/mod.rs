//! The model layer: plain records every stage above the parsers shares (findings,
//! interned symbols, SDP media lines and offer/answer exchanges, ICE candidates,
//! credentials, DTMF digits, rule counters).
//!
//! It sits right above the wire parsers and imports nothing above `capture`, `net`,
//! `sip`, `sdp` and `media` (checked by `tests/layers.rs`), so the engine, the trackers
//! (`nat`, `tls`) and the rules can all depend on it without depending on each other.

pub mod addr;
pub mod auth;
pub mod dtmf;
pub mod finding;
pub mod ice;
pub mod list;
pub mod seen;
pub mod session;
pub mod stats;
pub mod symbols;
pub mod text;
pub mod time;

pub use addr::Addr;
pub use auth::{Algorithm, AuthAttempt, Scheme};
pub use dtmf::{DtmfEvent, DtmfVia};
pub use finding::{Finding, RuleId, Severity, MAX_EVIDENCE};
pub use ice::{CandidateKind, IceCandidate};
pub use list::List;
pub use seen::Seen;
pub use session::{MediaLine, MediaSession, SdpRecord};
pub use stats::{AttackStats, StunStats};
pub use symbols::{Sym, Symbols};
pub use text::Text;
