//! Syntax: text to [`ast::File`], never failing.
//!
//! The lexer turns text into tokens (reporting E101/E102 for malformed literals);
//! the chumsky parser turns tokens into a partial AST, recovering at block and
//! entry boundaries so that one mistake gives one diagnostic.
//! `syntax` knows nothing about the model or the stdlib schemas.

pub mod ast;
mod lexer;
mod parser;

pub use parser::parse_file;
