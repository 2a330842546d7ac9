//! The command front ends of the `siplens` binary: each file turns one subcommand's parsed
//! options into library calls and prints what they return. The library (`siplens::*`) knows
//! nothing of them; `main.rs` holds the clap tree and dispatches here.

pub mod audio;
pub mod crack;
pub mod dashboard;
pub mod export;
pub mod hep;
pub mod live;
pub mod tls;
