//! The parser's fast path: a recursive descent over the balanced tokens of a valid
//! file, building exactly the tree the chumsky grammar in [`super::parser`] builds.
//!
//! It knows only valid input. At the first token where that grammar would report
//! an error, recover or take an invalid literal, it gives up (`None`), and the file
//! is parsed again by chumsky, which reports. Most files are valid, and this path
//! costs a fraction of chumsky's combinators on them: fleet-scale projects parse
//! several times faster. The grammar is written once more here, so a differential
//! test (`parser_tests.rs`) holds the two to the same trees over every `.gov` file
//! of the repository and generated programs, valid and broken.

use chumsky::span::SimpleSpan;

use super::ast::{Block, BlockLabel, Entry, Field, Ident, Route, Str, Value, ValueKind};
use super::lexer::{self, Token};
use super::parser::Ctx;

/// The items of a file whose tokens are `tokens`, or `None` where the file is not
/// valid (or holds an already reported literal or region).
pub(super) fn parse(ctx: &Ctx<'_>, tokens: &[(Token, SimpleSpan)]) -> Option<Vec<Block>> {
    Cursor { ctx, tokens, at: 0, entries: Vec::new(), values: Vec::new(), idents: Vec::new() }.file()
}

struct Cursor<'a, 't> {
    ctx: &'a Ctx<'t>,
    tokens: &'a [(Token, SimpleSpan)],
    at: usize,
    /// Scratch stacks: a body, list or path collects its items on top of its stack and
    /// moves them into a vector of exactly their number when it ends. A tree holds
    /// hundreds of thousands of small bodies, and a vector grown a push at a time would
    /// keep room for four entries where most bodies have two or three.
    entries: Vec<Entry>,
    values: Vec<Value>,
    idents: Vec<Ident>,
}

impl Cursor<'_, '_> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.at).map(|(token, _)| *token)
    }

    fn peek_at(&self, ahead: usize) -> Option<Token> {
        self.tokens.get(self.at + ahead).map(|(token, _)| *token)
    }

    /// The span of the token just consumed.
    fn last_span(&self) -> SimpleSpan {
        self.tokens[self.at - 1].1
    }

    /// Consumes the next token when it is `token`.
    fn eat(&mut self, token: Token) -> Option<SimpleSpan> {
        let (next, span) = *self.tokens.get(self.at)?;
        if next != token {
            return None;
        }
        self.at += 1;
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
            if self.at == self.tokens.len() {
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
        let (Token::Str(idx), span) = *self.tokens.get(self.at)? else { return None };
        self.at += 1;
        Some(self.ctx.string(idx, span))
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
        let open = self.eat(Token::LBrace)?;
        self.separators();
        let base = self.entries.len();
        loop {
            let docs = self.docs();
            if let Some(close) = self.eat(Token::RBrace) {
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
        let is_route = self.peek() == Some(Token::Ident)
            && self.ctx.slice(self.tokens[self.at].1) == "route"
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
        let start = self.tokens[self.at].1.start;
        self.at += 1;
        let path = self.string()?;
        self.eat(Token::Arrow)?;
        let target = self.ident()?;
        let port = match self.eat(Token::Colon) {
            Some(_) => {
                let (Token::Int(n), span) = *self.tokens.get(self.at)? else { return None };
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
        let (token, first) = *self.tokens.get(self.at)?;
        let kind = match token {
            Token::Str(idx) => {
                self.at += 1;
                ValueKind::Str(self.ctx.strings[idx as usize].clone())
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
                self.at += 1;
                let base = self.values.len();
                loop {
                    self.docs();
                    if self.eat(Token::RBracket).is_some() {
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
