//! sip module (in progress).
