//! media module (in progress).
