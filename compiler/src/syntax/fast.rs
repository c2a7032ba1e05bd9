//! The parser's fast path: a recursive descent over the tokens of a valid file,
//! lexed as it goes, building exactly the tree the chumsky grammar in
//! [`super::parser`] builds.
//!
//! It knows only valid input. At the first token where that grammar would report
//! an error, recover or take an invalid literal, where delimiter balancing would
//! step in (a stray `}`, a block left open, nesting deeper than [`MAX_NESTING`]),
//! it gives up (`None`), and the file is lexed again, balanced and parsed by
//! chumsky, which reports. Most files are valid, and this path costs a fraction of
//! chumsky's combinators on them, and holds a window of tokens rather than all of
//! them: fleet-scale projects parse several times faster. The grammar is written
//! once more here, so a differential test (`parser_tests.rs`) holds the two to the
//! same trees over every `.gov` file of the repository and generated programs,
//! valid and broken.

use chumsky::span::SimpleSpan;

use super::ast::{Block, BlockLabel, Entry, Field, Ident, Route, Str, Value, ValueKind};
use super::delims::MAX_NESTING;
use super::lexer::{self, Stream, Token};
use super::parser::Ctx;
use crate::diag::Diagnostics;
use crate::source::FileId;

/// The items of `text`, or `None` where it is not valid. What the lexer reports
/// goes into `diags` either way (a string left unclosed at the end of a line is
/// reported, and still parses as a string).
pub(super) fn parse(text: &str, file: FileId, diags: &mut Diagnostics) -> Option<Vec<Block>> {
    // The strings' values come from the stream (`Stream::take_string`), never from
    // the context.
    let ctx = Ctx { text, file, strings: &[] };
    let mut cursor = Cursor {
        ctx: &ctx,
        stream: Stream::new(text, file, diags),
        at: 0,
        depth: 0,
        entries: Vec::new(),
        values: Vec::new(),
        idents: Vec::new(),
    };
    cursor.file()
}

struct Cursor<'a, 't> {
    ctx: &'a Ctx<'t>,
    stream: Stream<'a>,
    /// The next token's index in the stream's window.
    at: usize,
    /// How many `{` and `[` are open.
    depth: usize,
    /// Scratch stacks: a body, list or path collects its items on top of its stack and
    /// moves them into a vector of exactly their number when it ends. A tree holds
    /// hundreds of thousands of small bodies, and a vector grown a push at a time would
    /// keep room for four entries where most bodies have two or three.
    entries: Vec<Entry>,
    values: Vec<Value>,
    idents: Vec<Ident>,
}

impl Cursor<'_, '_> {
    /// The token `ahead` after the next one (0: the next), lexing more when the
    /// window ends before it. The window keeps the token last consumed.
    fn token(&mut self, ahead: usize) -> Option<(Token, SimpleSpan)> {
        loop {
            if let Some(&token) = self.stream.window().get(self.at + ahead) {
                return Some(token);
            }
            let keep = self.at.min(1);
            let grew = self.stream.advance(self.at - keep);
            self.at = keep;
            if !grew {
                return None;
            }
        }
    }

    fn peek(&mut self) -> Option<Token> {
        self.token(0).map(|(token, _)| token)
    }

    fn peek_at(&mut self, ahead: usize) -> Option<Token> {
        self.token(ahead).map(|(token, _)| token)
    }

    /// The span of the token just consumed.
    fn last_span(&self) -> SimpleSpan {
        self.stream.window()[self.at - 1].1
    }

    /// Consumes the next token when it is `token`.
    #[inline]
    fn eat(&mut self, token: Token) -> Option<SimpleSpan> {
        let (next, span) = self.token(0)?;
        if next != token {
            return None;
        }
        self.at += 1;
        Some(span)
    }

    /// Consumes the `{` or `[` that comes next, unless it would nest deeper than
    /// [`MAX_NESTING`] (balancing reports that, and the recursion stays bounded).
    fn open(&mut self, token: Token) -> Option<SimpleSpan> {
        if self.depth == MAX_NESTING {
            return None;
        }
        let span = self.eat(token)?;
        self.depth += 1;
        Some(span)
    }

    /// Consumes the `}` or `]` that comes next.
    fn close(&mut self, token: Token) -> Option<SimpleSpan> {
        let span = self.eat(token)?;
        self.depth -= 1;
        Some(span)
    }

    /// `## doc` lines, as the spans of the comments.
    fn docs(&mut self) -> Vec<SimpleSpan> {
        let mut lines = Vec::new();
        while let Some(span) = self.eat(Token::Doc) {
            lines.push(span);
        }
        lines
    }

    /// `,` and `;` between entries.
    fn separators(&mut self) {
        while matches!(self.peek(), Some(Token::Comma | Token::Semi)) {
            self.at += 1;
        }
    }

    /// `block*`, doc comments before each; those after the last are dropped.
    fn file(&mut self) -> Option<Vec<Block>> {
        let mut items = Vec::new();
        loop {
            let docs = self.docs();
            if self.peek().is_none() {
                return Some(items);
            }
            let kind = self.ident()?;
            let mut block = self.block(kind)?;
            block.doc = self.ctx.doc(docs);
            items.push(block);
        }
    }

    fn ident(&mut self) -> Option<Ident> {
        let span = self.eat(Token::Ident)?;
        Some(self.ctx.ident(span))
    }

    fn string(&mut self) -> Option<Str> {
        let (Token::Str(idx), span) = self.token(0)? else { return None };
        self.at += 1;
        Some(Str { value: self.stream.take_string(idx), span: self.ctx.span(span) })
    }

    /// What follows a block's kind: `[LABEL] { entries }`.
    fn block(&mut self, kind: Ident) -> Option<Block> {
        let label = match self.peek()? {
            Token::Ident => Some(BlockLabel::Name(self.ident()?)),
            Token::Str(_) => Some(BlockLabel::Str(self.string()?)),
            _ => None,
        };
        let (entries, end) = self.body()?;
        Some(Block { doc: None, span: kind.span.to(self.ctx.span(end)), kind, label, entries })
    }

    /// `{ entries }` with its span; entries optionally separated by `,` or `;`.
    fn body(&mut self) -> Option<(Vec<Entry>, SimpleSpan)> {
        let open = self.open(Token::LBrace)?;
        self.separators();
        let base = self.entries.len();
        loop {
            let docs = self.docs();
            if let Some(close) = self.close(Token::RBrace) {
                return Some((self.entries.drain(base..).collect(), SimpleSpan::from(open.start..close.end)));
            }
            let mut entry = self.entry()?;
            entry.set_doc(self.ctx.doc(docs));
            self.entries.push(entry);
            self.separators();
        }
    }

    /// `name = value`, `route "PATH" -> SERVICE[:PORT]` or a nested block.
    fn entry(&mut self) -> Option<Entry> {
        let is_route = matches!(self.token(0), Some((Token::Ident, span)) if self.ctx.slice(span) == "route")
            && matches!(self.peek_at(1), Some(Token::Str(_)))
            && self.peek_at(2) == Some(Token::Arrow);
        if is_route {
            return self.route();
        }
        let name = self.ident()?;
        if self.eat(Token::Eq).is_some() {
            let value = self.value()?;
            return Some(Entry::Field(Field { doc: None, span: name.span.to(value.span), name, value }));
        }
        Some(Entry::Block(self.block(name)?))
    }

    fn route(&mut self) -> Option<Entry> {
        let start = self.token(0)?.1.start;
        self.at += 1;
        let path = self.string()?;
        self.eat(Token::Arrow)?;
        let target = self.ident()?;
        let port = match self.eat(Token::Colon) {
            Some(_) => {
                let (Token::Int(n), span) = self.token(0)? else { return None };
                self.at += 1;
                Some((n, self.ctx.span(span)))
            }
            None => None,
        };
        let span = self.ctx.span(SimpleSpan::from(start..self.last_span().end));
        Some(Entry::Route(Route { doc: None, path, target, port, span }))
    }

    /// A literal, `MIN..MAX`, a path `a.b` or a list `[v, v]`.
    fn value(&mut self) -> Option<Value> {
        let (token, first) = self.token(0)?;
        let kind = match token {
            Token::Str(idx) => {
                self.at += 1;
                ValueKind::Str(self.stream.take_string(idx))
            }
            Token::Decimal(number) => {
                self.at += 1;
                ValueKind::Decimal(number)
            }
            Token::Quantity(number, unit) => {
                self.at += 1;
                ValueKind::Quantity { number, unit: lexer::UNITS[unit as usize].to_string() }
            }
            Token::Cidr(addr, prefix) => {
                self.at += 1;
                ValueKind::Cidr { addr, prefix }
            }
            Token::Int(min) => {
                self.at += 1;
                if self.eat(Token::DotDot).is_some() {
                    let Some(Token::Int(max)) = self.peek() else { return None };
                    self.at += 1;
                    ValueKind::Range { min, max }
                } else {
                    ValueKind::Int(min)
                }
            }
            Token::Ident => {
                let base = self.idents.len();
                let first = self.ident()?;
                self.idents.push(first);
                while self.eat(Token::Dot).is_some() {
                    let next = self.ident()?;
                    self.idents.push(next);
                }
                ValueKind::Path(self.idents.drain(base..).collect())
            }
            Token::LBracket => {
                self.open(Token::LBracket)?;
                let base = self.values.len();
                loop {
                    self.docs();
                    if self.close(Token::RBracket).is_some() {
                        break;
                    }
                    let item = self.value()?;
                    self.values.push(item);
                    self.eat(Token::Comma);
                }
                ValueKind::List(self.values.drain(base..).collect())
            }
            _ => return None,
        };
        let span = self.ctx.span(SimpleSpan::from(first.start..self.last_span().end));
        Some(Value { kind, span })
    }
}
