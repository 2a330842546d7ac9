//! report module (in progress).
