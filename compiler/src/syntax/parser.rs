//! Parser: tokens to [`ast::File`] with chumsky, never failing.
//!
//! The lexer and [`delims::balance`] run first, so the grammar here always sees
//! balanced `{ }` and a bounded nesting depth. Recovery happens at entry, block and
//! list boundaries; chumsky's errors become one E101 per contiguous error region.
//! The parser does not know what a block means: that is lowering's job.

use chumsky::input::ValueInput;
use chumsky::label::LabelError;
use chumsky::prelude::*;

use super::ast::{self, Block, BlockLabel, Entry, Field, Ident, Route, Str, Value, ValueKind};
use super::delims;
use super::lexer::{self, doc_text, shorten, Token};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Sources, Span};

pub use super::delims::MAX_NESTING;

/// The largest file accepted, in bytes (16 MiB); a larger one is E103 and parses
/// as empty. Real `.gov` files are a few hundred kilobytes at most.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

// Parsers are generic over their `extra`, so that valid files parse with the
// cheap `EmptyErr` and only files with errors pay for `Rich` errors.
type RichExtra<'t> = extra::Err<Rich<'t, Token, SimpleSpan>>;

/// What the grammar needs besides tokens: the text (identifier names are spans of
/// it), the file id for spans and the resolved string literals.
pub(super) struct Ctx<'t> {
    pub(super) text: &'t str,
    pub(super) file: FileId,
    pub(super) strings: &'t [String],
}

impl Ctx<'_> {
    /// A token span as a file span. Tokens added at the end of the file (the braces
    /// that close unclosed blocks) stand past its last byte, and an empty recovery
    /// may end before it starts: clamp both.
    pub(super) fn span(&self, span: SimpleSpan) -> Span {
        let len = self.text.len();
        let start = span.start.min(len);
        Span::new(self.file, start, span.end.clamp(start, len))
    }

    pub(super) fn slice(&self, span: SimpleSpan) -> &str {
        &self.text[span.start..span.end]
    }

    pub(super) fn ident(&self, span: SimpleSpan) -> Ident {
        Ident { name: self.slice(span).to_string(), span: self.span(span) }
    }

    pub(super) fn string(&self, idx: u32, span: SimpleSpan) -> Str {
        Str { value: self.strings[idx as usize].clone(), span: self.span(span) }
    }

    /// The doc comment lines before an item, joined with `\n`.
    pub(super) fn doc(&self, lines: Vec<SimpleSpan>) -> Option<String> {
        if lines.is_empty() {
            return None;
        }
        Some(lines.iter().map(|s| doc_text(self.slice(*s))).collect::<Vec<_>>().join("\n"))
    }
}

/// Whether a file can be compiled at all: UTF-8 and within [`MAX_FILE_BYTES`]. A
/// file that cannot gets one E101 or E103 from [`parse_file`] and nothing else.
pub fn is_compilable(source: &crate::source::SourceFile) -> bool {
    source.invalid_utf8_at.is_none() && source.text.len() <= MAX_FILE_BYTES
}

/// Parses one file; never fails. Problems are reported into `diags` and what could
/// not be parsed is skipped.
pub fn parse_file(sources: &Sources, file: FileId, diags: &mut Diagnostics) -> ast::File {
    let source = sources.get(file);
    if let Some(at) = source.invalid_utf8_at {
        diags.push(
            Diagnostic::new(
                Code::E101,
                Span::new(file, at, at),
                "file is not valid UTF-8",
                "invalid UTF-8 starts here",
            )
            .with_help("save the file as UTF-8"),
        );
        return ast::File { file, items: Vec::new() };
    }
    let text = source.text.as_str();
    if text.len() > MAX_FILE_BYTES {
        diags.push(
            Diagnostic::new(
                Code::E103,
                Span::new(file, 0, 0),
                format!("file too large: {} bytes, the limit is {MAX_FILE_BYTES} (16 MiB)", text.len()),
                "this file is too large to compile",
            )
            .with_help("split the program over several `.gov` files"),
        );
        return ast::File { file, items: Vec::new() };
    }
    ast::File { file, items: parse_text(text, file, diags) }
}

/// The items of `text` (a whole file, or one block of it for [`super::reparse`]),
/// with spans from the start of `text`.
pub(super) fn parse_text(text: &str, file: FileId, diags: &mut Diagnostics) -> Vec<Block> {
    // Most files are valid: try the fast path, then chumsky with its cheap error type.
    let mut lexed_once = Diagnostics::new();
    if let Some(items) = super::fast::parse(text, file, &mut lexed_once) {
        diags.extend(lexed_once.into_reported());
        return items;
    }
    let lexed = lexer::lex(text, file, diags);
    let balanced = delims::balance(lexed.tokens, text, &lexed.brace_eaters, file, diags);
    let ctx = Ctx { text, file, strings: &lexed.strings };
    let eoi = SimpleSpan::from(text.len()..text.len());
    let input = balanced.tokens.as_slice().split_token_span(eoi);
    let fast = file_parser::<_, extra::Default>(&ctx).parse(input);
    if !fast.has_errors() {
        if let Some(items) = fast.into_output() {
            return items;
        }
    }
    let input = balanced.tokens.as_slice().split_token_span(eoi);
    let (items, errors) = file_parser::<_, RichExtra>(&ctx).parse(input).into_output_errors();
    report(&ctx, errors, &balanced, diags);
    items.unwrap_or_default()
}

/// The two parsers over `text`, for the differential test: the fast path's tree,
/// chumsky's when it parses without an error, and whether lexing and balancing
/// reported anything (a file the fast path may leave to chumsky: an invalid
/// literal, a reported region, a stray `}`, a block left open).
#[cfg(test)]
pub(super) fn both_parsers(text: &str) -> (Option<Vec<Block>>, Option<Vec<Block>>, bool) {
    let (file, mut diags) = (FileId(0), Diagnostics::new());
    let fast = super::fast::parse(text, file, &mut Diagnostics::new());
    let lexed = lexer::lex(text, file, &mut diags);
    let balanced = delims::balance(lexed.tokens, text, &lexed.brace_eaters, file, &mut diags);
    let ctx = Ctx { text, file, strings: &lexed.strings };
    let input = balanced.tokens.as_slice().split_token_span(SimpleSpan::from(text.len()..text.len()));
    let slow = file_parser::<_, extra::Default>(&ctx).parse(input);
    let slow = if slow.has_errors() { None } else { slow.into_output() };
    let reported = balanced.closed_at_eof
        || !diags.is_empty()
        || balanced.tokens.iter().any(|(t, _)| matches!(t, Token::Invalid | Token::Error));
    (fast, slow, reported)
}

/// Parses a file: `block*`.
fn file_parser<'t, I, E>(ctx: &'t Ctx<'t>) -> impl Parser<'t, I, Vec<Block>, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    let docs = docs();
    let item = docs
        .clone()
        .then(block(ctx))
        .map(|(doc, mut block)| {
            block.doc = ctx.doc(doc);
            Some(block)
        })
        .labelled("a block")
        .recover_with(skip_then_retry_until(skip_unit(), docs.clone().then(end()).ignored()))
        .recover_with(via_parser(garbage(docs.clone().then(end()).ignored())));
    item.repeated().collect::<Present<_>>().then_ignore(docs).then_ignore(end()).map(|items| items.0)
}

/// `## doc` lines, as the spans of the comments.
fn docs<'t, I, E>() -> impl Parser<'t, I, Vec<SimpleSpan>, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    select! { Token::Doc = e => e.span() }.repeated().collect::<Vec<_>>()
}

/// What recovery skips over as one unit: a whole `{ ... }` or a single token.
fn skip_unit<'t, I, E>() -> impl Parser<'t, I, (), E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    let no_others: [(Token, Token); 0] = [];
    nested_delimiters(Token::LBrace, Token::RBrace, no_others, |_| ()).or(any().ignored())
}

/// A non-empty run of skip units up to `stop` (not consumed): a broken entry or item.
fn garbage<'t, I, E, S, T: Clone>(stop: S) -> impl Parser<'t, I, Option<T>, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
    S: Parser<'t, I, (), E> + Clone,
{
    stop.not().ignore_then(skip_unit()).repeated().at_least(1).to(None)
}

/// An identifier: `[A-Za-z_][A-Za-z0-9_-]*`.
fn ident<'t, I, E>(ctx: &'t Ctx<'t>) -> impl Parser<'t, I, Ident, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    select! { Token::Ident = e => ctx.ident(e.span()) }.labelled("a name")
}

/// A string literal: `"text"`.
fn string<'t, I, E>(ctx: &'t Ctx<'t>) -> impl Parser<'t, I, Str, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    select! { Token::Str(idx) = e => ctx.string(idx, e.span()) }.labelled("a string")
}

/// A block without its doc comment: `KIND [LABEL] { entries }`.
fn block<'t, I, E>(ctx: &'t Ctx<'t>) -> impl Parser<'t, I, Block, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    let body = body(ctx);
    ident(ctx).then(label(ctx).or_not()).then(body).map(move |((kind, label), (entries, end))| Block {
        doc: None,
        span: kind.span.to(ctx.span(end)),
        kind,
        label,
        entries,
    })
}

/// The items that parsed, of a repetition whose broken items are `None`.
struct Present<T>(Vec<T>);

impl<T> FromIterator<Option<T>> for Present<T> {
    fn from_iter<It: IntoIterator<Item = Option<T>>>(iter: It) -> Self {
        Present(iter.into_iter().flatten().collect())
    }
}

/// What follows an entry's first name: `= value` or `[LABEL] { entries }`.
enum Tail {
    Field(Value),
    Block(Option<BlockLabel>, (Vec<Entry>, SimpleSpan)),
}

/// A block label: a name or a string.
fn label<'t, I, E>(ctx: &'t Ctx<'t>) -> impl Parser<'t, I, BlockLabel, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    ident(ctx).map(BlockLabel::Name).or(string(ctx).map(BlockLabel::Str))
}

/// A block body, `{ entries }`, with its span. Entries are `name = value`,
/// `route "PATH" -> SERVICE[:PORT]` or nested blocks, optionally separated by `,` or `;`.
fn body<'t, I, E>(ctx: &'t Ctx<'t>) -> impl Parser<'t, I, (Vec<Entry>, SimpleSpan), E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    recursive(|body| {
        let sep = one_of([Token::Comma, Token::Semi]).repeated();
        let body_end = docs().then(just(Token::RBrace)).ignored();
        // The first name is parsed once; what follows it decides the entry's kind.
        // A field whose value is broken still counts as present (no E204 follows): its
        // value becomes `Invalid`, up to where the next entry or the block's end starts.
        let next_entry =
            just(Token::RBrace).ignored().or(ident(ctx).then(one_of([Token::Eq, Token::LBrace])).ignored());
        let tail = just(Token::Eq)
            .ignore_then(
                value(ctx).recover_with(via_parser(
                    any()
                        .and_is(next_entry.not())
                        .repeated()
                        .to_span()
                        .map(|span| Value { kind: ValueKind::Invalid, span: ctx.span(span) }),
                )),
            )
            .map(Tail::Field)
            .or(label(ctx).or_not().then(body).map(|(label, body)| Tail::Block(label, body)));
        let named = ident(ctx).then(tail).map(move |(name, tail)| match tail {
            Tail::Field(value) => Entry::Field(Field { doc: None, span: name.span.to(value.span), name, value }),
            Tail::Block(label, (entries, end)) => {
                Entry::Block(Block { doc: None, span: name.span.to(ctx.span(end)), kind: name, label, entries })
            }
        });
        let entry = docs()
            .then(route(ctx).or(named))
            .map(|(doc, mut entry)| {
                entry.set_doc(ctx.doc(doc));
                Some(entry)
            })
            .labelled("a field name")
            .recover_with(skip_then_retry_until(skip_unit(), body_end.clone()))
            .recover_with(via_parser(garbage(body_end.clone())));
        // Looking for the end first keeps recovery out of the normal end of a body.
        let entries = body_end.not().ignore_then(entry).then_ignore(sep).repeated().collect::<Present<_>>();
        sep.ignore_then(entries)
            .then_ignore(docs())
            .delimited_by(just(Token::LBrace), just(Token::RBrace))
            .map_with(|entries, e| (entries.0, e.span()))
    })
}

/// The label of the `->` a route expects where it found `=`.
const ROUTE_ARROW: &str = "a route arrow";

/// A route: `route "PATH" -> SERVICE[:PORT]`.
fn route<'t, I, E>(ctx: &'t Ctx<'t>) -> impl Parser<'t, I, Entry, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    let keyword = select! { Token::Ident = e => ctx.slice(e.span()) == "route" }.filter(|is_route| *is_route);
    let port = select! { Token::Int(n) = e => (n, ctx.span(e.span())) }.labelled("a port number");
    // `route "/" = api` is a route with a mistyped arrow: reported (one E101 whose
    // help shows the arrow) and kept, so that no E204 "no route" follows.
    let mistyped_arrow = just(Token::Eq).validate(|token, e, emitter| {
        emitter.emit(E::Error::expected_found([ROUTE_ARROW], Some(token.into()), e.span()));
    });
    keyword
        .ignore_then(string(ctx))
        .then_ignore(just(Token::Arrow).ignored().or(mistyped_arrow.ignored()))
        .then(ident(ctx))
        .then(just(Token::Colon).ignore_then(port).or_not())
        .map_with(|((path, target), port), e| {
            Entry::Route(Route { doc: None, path, target, port, span: ctx.span(e.span()) })
        })
}

/// A value: a literal, `MIN..MAX`, a path `a.b` or a list `[v, v]`.
fn value<'t, I, E>(ctx: &'t Ctx<'t>) -> impl Parser<'t, I, Value, E> + Clone
where
    I: ValueInput<'t, Token = Token, Span = SimpleSpan>,
    E: extra::ParserExtra<'t, I, Context = (), State = ()> + 't,
    E::Error: LabelError<'t, I, &'static str>,
{
    recursive(|value| {
        // An endpoint already reported as invalid still makes a range, an invalid one.
        let endpoint = select! {
            Token::Int(n) => Some(n),
            Token::Invalid => None,
            Token::Error => None,
        }
        .labelled("a number");
        let int_or_range =
            endpoint.then(just(Token::DotDot).ignore_then(endpoint).or_not()).map(|(min, max)| match (min, max) {
                (Some(n), None) => ValueKind::Int(n),
                (Some(min), Some(Some(max))) => ValueKind::Range { min, max },
                _ => ValueKind::Invalid,
            });
        let scalar = select! {
            Token::Str(idx) => ValueKind::Str(ctx.strings[idx as usize].clone()),
            Token::Decimal(number) => ValueKind::Decimal(number),
            Token::Quantity(number, unit) => ValueKind::Quantity { number, unit: lexer::UNITS[unit as usize].to_string() },
            Token::Cidr(addr, prefix) => ValueKind::Cidr { addr, prefix },
        };
        let path = ident(ctx).separated_by(just(Token::Dot)).at_least(1).collect::<Vec<_>>().map(ValueKind::Path);
        let no_others: [(Token, Token); 0] = [];
        // Doc comments between list elements document nothing the AST keeps: skip them.
        let list = docs()
            .ignore_then(value)
            .then_ignore(just(Token::Comma).or_not())
            .repeated()
            .collect::<Vec<_>>()
            .then_ignore(docs())
            .delimited_by(just(Token::LBracket), just(Token::RBracket))
            .map(ValueKind::List)
            .recover_with(via_parser(nested_delimiters(Token::LBracket, Token::RBracket, no_others, |_| {
                ValueKind::Invalid
            })));
        choice((scalar, int_or_range, path, list))
            .map_with(|kind, e| Value { kind, span: ctx.span(e.span()) })
            .labelled("a value")
    })
}

/// Turns chumsky's errors into E101s: follow-on errors are dropped, and of several
/// errors in one region only the first is kept.
fn report(
    ctx: &Ctx<'_>,
    mut errors: Vec<Rich<'_, Token, SimpleSpan>>,
    balanced: &delims::Balanced,
    diags: &mut Diagnostics,
) {
    errors.sort_by_key(|e| (e.span().start, e.span().end));
    let mut last_end = None;
    for error in errors {
        let span = *error.span();
        // Already reported: a bad character or a too-deep region (lexer, balancing)
        // at or just before the error, so this is a follow-on.
        let at = balanced.tokens.partition_point(|(_, s)| s.start < span.start);
        let window = &balanced.tokens[at.saturating_sub(FOLLOW_ON_WINDOW)..(at + 1).min(balanced.tokens.len())];
        if window.iter().any(|(token, _)| *token == Token::Error) {
            continue;
        }
        // A closer added at the end of the file; the unclosed block is reported.
        if balanced.closed_at_eof && span.start == ctx.text.len() {
            continue;
        }
        if last_end.is_some_and(|end| span.start < end) {
            continue;
        }
        last_end = Some(span.end.max(span.start + 1));
        diags.push(to_diagnostic(ctx, &error));
    }
}

/// How many tokens after an already reported bad region a parse error counts as
/// its follow-on (`tier = @ dev` must not also complain about `dev`).
const FOLLOW_ON_WINDOW: usize = 4;

fn to_diagnostic(ctx: &Ctx<'_>, error: &Rich<'_, Token, SimpleSpan>) -> Diagnostic {
    let span = *error.span();
    let found = match error.found() {
        None => "end of file".to_string(),
        Some(Token::Doc) => "doc comment".to_string(),
        Some(_) if span.start == span.end => "end of file".to_string(),
        Some(_) => format!("`{}`", shorten(ctx.slice(span))),
    };
    if error.expected().any(|p| matches!(p, chumsky::error::RichPattern::Label(l) if l.as_ref() == ROUTE_ARROW)) {
        return mistyped_route_arrow(ctx, span);
    }
    let mut expected: Vec<&str> = error.expected().filter_map(describe_pattern).collect();
    expected.sort_unstable();
    expected.dedup();
    // Separators and continuations are always possible somewhere; listing them is noise.
    if expected.iter().any(|e| !NOISE.contains(e)) {
        expected.retain(|e| !NOISE.contains(e));
    }
    if expected.is_empty() {
        return Diagnostic::new(Code::E101, ctx.span(span), format!("unexpected {found}"), "not valid here")
            .with_help(GENERIC_HELP);
    }
    let list = join_or(&expected);
    let help = if expected.contains(&"a value") {
        "write a value: a string, number, quantity (`1GiB`), CIDR, range (`1..3`), name or list"
    } else if expected.contains(&"a field name") {
        GENERIC_HELP
    } else if expected.contains(&"a block") {
        "a file holds blocks such as `service api { ... }`"
    } else if expected.contains(&"a number") {
        "a range is written `MIN..MAX`, such as `3..12`"
    } else if expected == ["a name"] {
        "write a name, such as `api` or `main.host`"
    } else if expected.contains(&"`=`") {
        "a field is written `name = value`, a block `kind name { ... }`"
    } else if expected.contains(&"`{`") {
        "a block is written `kind name { ... }` or `kind \"label\" { ... }`"
    } else if expected.contains(&"`->`") || expected.contains(&"a port number") {
        "a route is written `route \"PATH\" -> SERVICE` or `route \"PATH\" -> SERVICE:PORT`"
    } else {
        "check the syntax just before this point"
    };
    Diagnostic::new(
        Code::E101,
        ctx.span(span),
        format!("unexpected {found}, expected {list}"),
        format!("expected {list}"),
    )
    .with_help(help)
}

/// E101 for `route "/" = api`: the help shows the route as it should be written,
/// and the fix replaces `=` with `->`.
fn mistyped_route_arrow(ctx: &Ctx<'_>, span: SimpleSpan) -> Diagnostic {
    let before = ctx.text[..span.start].trim_end();
    let head = before.rfind("route").map(|at| &before[at..]).unwrap_or("route \"PATH\"");
    let after = ctx.text[span.end..].trim_start();
    let target = &after[..after.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-').count()];
    let target = if target.is_empty() { "SERVICE" } else { target };
    Diagnostic::new(Code::E101, ctx.span(span), "unexpected `=` in a route, expected `->`", "expected `->`")
        .with_help(format!("a route is written `{head} -> {target}`, with an arrow"))
        .with_replacement("write `->`", ctx.span(span), "->")
}

/// Expected tokens not worth listing when anything else is expected.
const NOISE: &[&str] = &["`,`", "`;`", "`.`", "`..`"];

const GENERIC_HELP: &str =
    "a block holds `name = value` fields, `route \"PATH\" -> SERVICE` and nested `kind name { }` blocks";

/// A readable name for an expected token or label; `None` for what is never worth listing.
fn describe_pattern(pattern: &chumsky::error::RichPattern<'_, Token>) -> Option<&'static str> {
    use chumsky::error::RichPattern;
    Some(match pattern {
        RichPattern::Label(label) => match label.as_ref() {
            "a value" => "a value",
            "a field name" => "a field name",
            "a name" => "a name",
            "a string" => "a string",
            "a block" => "a block",
            "a port number" => "a port number",
            "a number" => "a number",
            ROUTE_ARROW => "`->`",
            _ => return None,
        },
        RichPattern::Token(token) => match **token {
            Token::LBrace => "`{`",
            Token::RBrace => "`}`",
            Token::LBracket => "`[`",
            Token::RBracket => "`]`",
            Token::Eq => "`=`",
            Token::Comma => "`,`",
            Token::Semi => "`;`",
            Token::Colon => "`:`",
            Token::Dot => "`.`",
            Token::DotDot => "`..`",
            Token::Arrow => "`->`",
            Token::Ident => "a name",
            Token::Str(_) => "a string",
            Token::Int(_) => "a number",
            Token::Decimal(_) | Token::Quantity(..) | Token::Cidr(..) | Token::Invalid => "a value",
            Token::Doc | Token::Error => return None,
        },
        RichPattern::EndOfInput => "end of file",
        _ => return None,
    })
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
