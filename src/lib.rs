//! siplens: a passive SIP traffic analyzer.
//!
//! Data flows one way through the pipeline (see `DESIGN.md` in the shared folder):
//!
//! ```text
//! capture  -> Frame            (pcap / pcapng / gzip / stdin; live with feature `live`)
//! net      -> Segment          (link, IP, defrag, UDP, TCP reassembly + SIP framing)
//! sip, sdp -> borrowed views   (nom parsers, pure functions over &[u8])
//! media    -> RTP/RTCP views and per-stream statistics
//! model    -> shared records   (Finding, symbols, SDP media lines, auth attempts, ...)
//! engine   -> Analyzer         (dialogs, transactions, media sessions, streams, rule list)
//! rules    -> Finding          (one `engine::Rule` per family: auth, media, ...)
//! report   -> DTOs             (text and JSON renderers)
//! ```
//!
//! Each module imports only from the layers below it (docs/architecture.md, "Layers";
//! checked by `tests/layers.rs`). Only `capture` touches the outside world; everything after it is deterministic and
//! takes time from packet timestamps only.
#![forbid(unsafe_code)]

pub mod audio;
pub mod bytes;
pub mod capture;
pub mod config;
pub mod crack;
pub mod engine;
pub mod export;
pub mod hep;
pub mod live;
pub mod media;
pub mod model;
pub mod nat;
pub mod net;
pub mod report;
pub mod rules;
pub mod sdp;
pub mod sip;
pub mod tls;
pub mod tui;
