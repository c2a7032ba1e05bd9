//! Delimiter balancing: one linear pass over the tokens before the parser runs.
//!
//! It drops a stray `}` at the top level (E101), replaces what is nested deeper
//! than [`MAX_NESTING`] by one [`Token::Error`] (E103, so the recursive parser can
//! never overflow the stack), and closes what is still open at the end of the file
//! with zero-width closers (one E101). The parser then always sees balanced `{ }`.

use chumsky::span::SimpleSpan;

use super::lexer::{shorten, Token};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Span};

/// The deepest nesting of blocks and lists together; one level deeper is E103.
/// The parser recurses once per level, so this bounds its stack use.
pub const MAX_NESTING: usize = 64;

/// What balancing found, for the parser's error reporting.
pub struct Balanced {
    /// The tokens, with balanced `{ }` and nothing nested deeper than [`MAX_NESTING`].
    pub tokens: Vec<(Token, SimpleSpan)>,
    /// Closers were added at the end of the file (already reported, or covered
    /// by an E103 region reaching the end): parse errors there are follow-ons.
    pub closed_at_eof: bool,
}

/// Balances `tokens` of the file `text` (see the module docs).
/// What is open at the end of the file is closed without a diagnostic when an
/// unclosed string after its opener swallowed the closer (`brace_eaters`, from the lexer).
pub fn balance(
    mut tokens: Vec<(Token, SimpleSpan)>,
    text: &str,
    brace_eaters: &[usize],
    file: FileId,
    diags: &mut Diagnostics,
) -> Balanced {
    // In place: each step reads one token or more and writes one at most, so the
    // write index `w` never passes the read index `i` (a fleet's file has millions
    // of tokens; a second vector of them would double the parser's peak memory).
    let mut w = 0;
    // Indices (below `w`) of the open `{` and `[`.
    let mut open: Vec<usize> = Vec::new();
    let mut deep_to_eof = false;
    let mut stray: Option<SimpleSpan> = None;
    let mut i = 0;
    while i < tokens.len() {
        let (token, span) = tokens[i];
        if token != Token::RBrace {
            flush_stray(&mut stray, file, diags);
        }
        match token {
            Token::LBrace | Token::LBracket if open.len() >= MAX_NESTING => {
                let (end, closed) = matching_close(&tokens, i);
                let region = SimpleSpan::from(span.start..tokens[end].1.end);
                too_deep(span, file, diags);
                tokens[w] = (Token::Error, region);
                w += 1;
                deep_to_eof |= !closed;
                i = end + 1;
                continue;
            }
            Token::LBrace | Token::LBracket => open.push(w),
            Token::RBrace => {
                let Some(at) = open.iter().rposition(|&o| tokens[o].0 == Token::LBrace) else {
                    // Consecutive stray braces are one mistake: one diagnostic.
                    stray = Some(stray.map_or(span, |s| SimpleSpan::from(s.start..span.end)));
                    i += 1;
                    continue;
                };
                // A `[` left open inside the block is closed by it; the parser reports it.
                open.truncate(at);
            }
            Token::RBracket if open.last().is_some_and(|&o| tokens[o].0 == Token::LBracket) => {
                open.pop();
            }
            _ => {}
        }
        tokens[w] = (token, span);
        w += 1;
        i += 1;
    }
    tokens.truncate(w);
    flush_stray(&mut stray, file, diags);
    let closed_at_eof = !open.is_empty();
    let eaten = open.first().is_some_and(|&o| brace_eaters.iter().any(|&at| at > tokens[o].1.start));
    if closed_at_eof && !deep_to_eof && !eaten {
        diags.push(unclosed(&tokens, &open, text, file));
    }
    let eof = SimpleSpan::from(text.len()..text.len());
    for &o in open.iter().rev() {
        let closer = if tokens[o].0 == Token::LBrace { Token::RBrace } else { Token::RBracket };
        tokens.push((closer, eof));
    }
    Balanced { tokens, closed_at_eof }
}

/// The index of the token closing the opener at `start` (any kind of bracket
/// counts), and whether one exists; otherwise the last token.
fn matching_close(tokens: &[(Token, SimpleSpan)], start: usize) -> (usize, bool) {
    let mut depth = 0usize;
    for (i, (token, _)) in tokens.iter().enumerate().skip(start) {
        match token {
            Token::LBrace | Token::LBracket => depth += 1,
            Token::RBrace | Token::RBracket => {
                depth -= 1;
                if depth == 0 {
                    return (i, true);
                }
            }
            _ => {}
        }
    }
    (tokens.len() - 1, false)
}

fn too_deep(span: SimpleSpan, file: FileId, diags: &mut Diagnostics) {
    diags.push(
        Diagnostic::new(
            Code::E103,
            Span::new(file, span.start, span.end),
            format!("nesting too deep: more than {MAX_NESTING} levels of blocks and lists"),
            "this opens one level too many",
        )
        .with_help(format!("flatten the structure; at most {MAX_NESTING} blocks and lists may be nested")),
    );
}

fn flush_stray(stray: &mut Option<SimpleSpan>, file: FileId, diags: &mut Diagnostics) {
    let Some(span) = stray.take() else { return };
    diags.push(
        Diagnostic::new(Code::E101, Span::new(file, span.start, span.end), "unexpected `}`", "no block is open here")
            .with_help("remove it, or add the `{` it was meant to close"),
    );
}

/// One E101 for everything open at the end of the file, at the innermost opener.
fn unclosed(out: &[(Token, SimpleSpan)], open: &[usize], text: &str, file: FileId) -> Diagnostic {
    let describe = |o: usize| {
        if out[o].0 == Token::LBracket {
            return ("unclosed list".to_string(), "add `]`");
        }
        let slice = |j: usize| shorten(&text[out[j].1.start..out[j].1.end]);
        let name = match (o.checked_sub(2).map(|j| out[j].0), o.checked_sub(1).map(|j| out[j].0)) {
            (Some(Token::Ident), Some(Token::Ident | Token::Str(_))) => {
                format!(" `{} {}`", slice(o - 2), slice(o - 1))
            }
            (_, Some(Token::Ident)) => format!(" `{}`", slice(o - 1)),
            _ => String::new(),
        };
        (format!("unclosed block{name}"), "add `}`")
    };
    let span = |o: usize| Span::new(file, out[o].1.start, out[o].1.end);
    let inner = *open.last().expect("called with at least one open delimiter");
    let (message, help) = describe(inner);
    let mut diag = Diagnostic::new(Code::E101, span(inner), message, "opened here and never closed");
    for &o in open.iter().rev().skip(1) {
        diag = diag.with_label(span(o), "also never closed");
    }
    let help = match open.len() {
        1 => help.to_string(),
        n => format!("{help} here and close the {} enclosing blocks or lists", n - 1),
    };
    diag.with_help(help)
}
