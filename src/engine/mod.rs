//! engine module (in progress).
