//! The `govc` binary: a thin shell around the `govc` library.
//!
//! All of the work lives in [`cli`]: argument parsing, reading the project from
//! disk, printing diagnostics and choosing the exit code. The compiler itself
//! (`govc::compile`) never touches the file system.

mod cli;

use std::process::ExitCode;

/// A compilation allocates many small strings and vectors: mimalloc makes that, and
/// the frees, markedly cheaper than the system allocator (see `bench/`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
