//! The `govc` binary: a thin shell around the `govc` library.
//!
//! All of the work lives in [`cli`]: argument parsing, reading the project from
//! disk, printing diagnostics and choosing the exit code. The compiler itself
//! (`govc::compile`) never touches the file system.

mod cli;

use std::process::ExitCode;

/// A compilation allocates many small strings and vectors: mimalloc makes that, and
/// the frees, markedly cheaper than the system allocator (see `bench/`). Its version 2
/// (the `v2` feature): less CPU and memory than version 3 (`docs/decisions.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
