//! The `govc` binary: a thin shell around the `govc` library.
//!
//! All of the work lives in [`cli`]: argument parsing, reading the project from
//! disk, printing diagnostics and choosing the exit code. The compiler itself
//! (`govc::compile`) never touches the file system.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
