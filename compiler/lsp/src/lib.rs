//! `govc lsp`: the govc language server, over stdio.
//!
//! Built on `lsp-server` (the transport and JSON-RPC loop) and `lsp-types`; the
//! meaning of the sources comes from the library's pure queries (`govc::query`).
//! The compiler crate itself has no LSP dependency.
//!
//! - [`workspace`]: open buffers over the files on disk, per project, with a
//!   generation counter bumped on every change;
//! - [`diagnostics`]: the debounced worker thread that re-checks a project after
//!   changes and publishes diagnostics, dropping results that are already stale;
//! - [`handlers`]: hover, definition, references, completion, symbols, folding,
//!   formatting and code actions;
//! - [`position`]: UTF-16 positions to and from byte offsets.
//!
//! The server's features and settings are listed in `compiler/lsp/README.md`.

pub mod diagnostics;
pub mod handlers;
pub mod position;
pub mod server;
pub mod workspace;

use std::process::ExitCode;

pub use handlers::Formatter;
pub use server::{capabilities, serve};

/// The formatter behind `textDocument/formatting`: `govc fmt`'s canonical layout
/// (LANGUAGE.md section 6); a file with syntax errors is left alone.
pub const FORMATTER: Option<Formatter> = Some(format_gov);

fn format_gov(text: &str) -> Result<String, String> {
    govc::fmt::format(text).map_err(|errors| errors.first().map(|d| d.message.clone()).unwrap_or_default())
}

/// Serves the protocol on stdin/stdout until the client asks to exit.
pub fn run() -> ExitCode {
    let (connection, io_threads) = lsp_server::Connection::stdio();
    let served = serve(connection, FORMATTER);
    let joined = io_threads.join();
    match (served, joined) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(err), _) => {
            eprintln!("govc lsp: {err}");
            ExitCode::FAILURE
        }
        (_, Err(err)) => {
            eprintln!("govc lsp: {err}");
            ExitCode::FAILURE
        }
    }
}
