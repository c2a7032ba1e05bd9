//! The `govc` binary (to be written).
fn main() {}
