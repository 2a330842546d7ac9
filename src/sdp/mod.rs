//! sdp module (in progress).
