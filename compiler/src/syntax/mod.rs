//! Syntax: text to [`ast::File`], never failing.
//!
//! The lexer turns text into tokens (reporting E101/E102 for malformed literals);
//! delimiter balancing enforces the nesting limit and closes what is left open;
//! the chumsky parser turns tokens into a partial AST, recovering at block and
//! entry boundaries so that one mistake gives one diagnostic. A valid file takes
//! a hand-written fast path first ([`fast`]), which lexes as it parses (a window
//! of tokens, never the whole file's), builds the same tree and leaves any file it
//! cannot parse to the lexer, balancing and chumsky.
//! `syntax` knows nothing about the model or the stdlib schemas.
//!
//! [`cst`] is a second, lossless view of the same text for tools (the formatter,
//! the language server, source rewriting): every token, whitespace and comment
//! kept, built on the same lexer.

pub mod ast;
pub mod cst;
mod cst_edit;
mod cst_parser;
mod delims;
mod fast;
mod lexer;
mod parser;
mod reparse;

pub use cst_edit::{apply_edits, TextEdit};
pub use lexer::UNITS;
pub use parser::{is_compilable, parse_file, MAX_FILE_BYTES, MAX_NESTING};
pub use reparse::{reparse, Changed, Reparsed};
