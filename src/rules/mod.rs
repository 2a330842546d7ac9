//! Analysis rules, one file per family. Each turns the engine's owned records into
//! [`Finding`](crate::engine::Finding)s; none keeps state of its own or reads a clock.

pub mod attack;
pub mod auth;
pub mod e2e;
pub mod media;
pub mod nat;
pub mod stun;
pub mod tls;
pub mod transport;
