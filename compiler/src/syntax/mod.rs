//! Syntax: text to [`ast::File`], never failing.
//!
//! The lexer turns text into tokens (reporting E101/E102 for malformed literals);
//! delimiter balancing enforces the nesting limit and closes what is left open;
//! the chumsky parser turns tokens into a partial AST, recovering at block and
//! entry boundaries so that one mistake gives one diagnostic.
//! `syntax` knows nothing about the model or the stdlib schemas.

pub mod ast;
mod delims;
mod lexer;
mod parser;

pub use lexer::UNITS;
pub use parser::{is_compilable, parse_file, MAX_FILE_BYTES, MAX_NESTING};
