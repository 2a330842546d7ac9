//! siplens command-line entry point.
fn main() {}
