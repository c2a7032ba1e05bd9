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
    no_huge_pages();
    cli::main()
}

/// Turns transparent huge pages off for this process, where the kernel backs every
/// anonymous mapping with them ("always"): the allocator's arenas then grow 2 MiB at a
/// time and each page is cleared whole. Without them a fleet-1000 `check` peaks at
/// 35 MiB instead of 55 and a build at 97 MiB instead of 143, for a few percent more
/// CPU in page faults (see `bench/README.md`). A kernel that refuses is left as it is.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}
