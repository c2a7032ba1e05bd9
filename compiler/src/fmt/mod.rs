//! `govc fmt`: the one canonical layout of a `.gov` file (LANGUAGE.md section 6).
//!
//! Two-space indentation, one entry a line, `name = value` and
//! `route "PATH" -> SERVICE` with single spaces, `;` and `,` between entries
//! turned into line breaks, blank lines kept (at most one, none at the start or
//! end of a block), comments and doc comments kept where they were, a trailing
//! comment two spaces after its line's code. Literals are printed exactly as
//! written. A block written on one line stays on one line (`aws { a = 1  b = 2 }`)
//! when it holds no separator and fits in [`WIDTH`] columns; a list is printed on
//! one line (`[a, b]`) when it holds no comment and fits, otherwise one element a
//! line with a trailing comma. The layout is a function of the tokens, the
//! comments, the blank lines and which blocks were written on one line, so
//! formatting is idempotent.
//!
//! The formatter works on the lossless tree ([`crate::syntax::cst`]) and refuses
//! a file with syntax errors (E101, E103): the diagnostics are returned and the
//! text is left alone. Invalid literals (E102) are printed as written.

mod printer;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Sources};
use crate::syntax::cst::{SyntaxTree, TokenKind};
use crate::syntax::parse_file;

/// The column a block or a list printed on one line may not exceed (as rustfmt.toml).
pub const WIDTH: usize = 120;

/// Formats `text`. On syntax errors, returns their diagnostics, whose spans are
/// in [`FileId`] 0: the file of a [`Sources`] holding only `text`.
pub fn format(text: &str) -> Result<String, Vec<Diagnostic>> {
    let mut sources = Sources::new();
    sources.add("<input>", text);
    format_file(&sources, FileId(0))
}

/// Formats one file of `sources`; on syntax errors (or a file that is not UTF-8),
/// returns their diagnostics.
pub fn format_file(sources: &Sources, file: FileId) -> Result<String, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new();
    let _ = parse_file(sources, file, &mut diags);
    let errors: Vec<Diagnostic> =
        diags.into_sorted().into_iter().filter(|d| d.is_error() && d.code != Code::E102).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let text = sources.get(file).text.as_str();
    let tree = SyntaxTree::parse(text);
    // The compiler's parser accepted what this tree did not, or the lexer skipped
    // something unknown: never guess, leave the text as written.
    let unknown = tree
        .root()
        .descendant_tokens()
        .any(|t| t.kind == TokenKind::Unknown && !(t.start == 0 && tree.token_text(t) == "\u{feff}"));
    if tree.has_errors() || unknown {
        return Ok(text.to_string());
    }
    Ok(printer::print(&tree))
}

#[cfg(test)]
mod tests;
