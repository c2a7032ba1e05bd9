//! The lossless parser: text to [`SyntaxTree`], never failing, every byte kept.
//!
//! Tokens come from the compiler's own lexer ([`super::lexer`]), so both views
//! agree on what a token is; the gaps between its tokens (whitespace and `#`
//! comments, which it skips) become trivia tokens. A hand-written recursive
//! descent then mirrors the grammar of [`super::parser`]: trivia are attached to
//! the innermost open node when the next significant token is consumed, and a node
//! is opened only after pending trivia were flushed to its parent, so nodes start
//! and end at significant tokens. Whatever does not parse becomes an
//! [`NodeKind::Error`] node; recursion deeper than [`MAX_NESTING`] is kept flat in
//! one error node, so no input can overflow the stack.

use std::ops::Range;

use super::cst::{Element, Node, NodeKind, SyntaxTree, Token, TokenKind};
use super::delims::MAX_NESTING;
use super::lexer::{self, Token as Lex};
use crate::diag::Diagnostics;
use crate::source::FileId;

/// Parses `text` into a lossless tree.
pub(crate) fn parse(text: &str) -> SyntaxTree {
    let mut parser = Parser {
        text,
        tokens: tokens(text),
        pos: 0,
        stack: vec![Node { kind: NodeKind::File, start: 0, end: text.len() as u32, children: Vec::new() }],
        errors: Vec::new(),
    };
    parser.file();
    let mut root = parser.stack.pop().expect("the file node is never popped");
    root.start = 0;
    root.end = text.len() as u32;
    SyntaxTree { text: text.to_string(), root, errors: parser.errors }
}

/// Every token of `text`, trivia included: the tokens tile the text.
pub(crate) fn tokens(text: &str) -> Vec<Token> {
    let mut diags = Diagnostics::new();
    let lexed = lexer::lex(text, FileId(0), &mut diags);
    let mut out = Vec::with_capacity(lexed.tokens.len() * 2 + 1);
    let mut pos = 0;
    for (token, span) in lexed.tokens {
        if span.start < pos || span.end < span.start {
            continue;
        }
        gap(text, pos, span.start, &mut out);
        out.push(Token { kind: kind_of(token), start: span.start as u32, end: span.end as u32 });
        pos = span.end;
    }
    gap(text, pos, text.len(), &mut out);
    out
}

fn kind_of(token: Lex) -> TokenKind {
    match token {
        Lex::Ident => TokenKind::Ident,
        Lex::Str(_) => TokenKind::String,
        Lex::Int(_) => TokenKind::Int,
        Lex::Decimal(_) => TokenKind::Decimal,
        Lex::Quantity(..) => TokenKind::Quantity,
        Lex::Cidr(..) => TokenKind::Cidr,
        Lex::Invalid => TokenKind::Invalid,
        Lex::Error => TokenKind::Error,
        Lex::Doc => TokenKind::DocComment,
        Lex::LBrace => TokenKind::LBrace,
        Lex::RBrace => TokenKind::RBrace,
        Lex::LBracket => TokenKind::LBracket,
        Lex::RBracket => TokenKind::RBracket,
        Lex::Eq => TokenKind::Eq,
        Lex::Comma => TokenKind::Comma,
        Lex::Semi => TokenKind::Semi,
        Lex::Colon => TokenKind::Colon,
        Lex::Dot => TokenKind::Dot,
        Lex::DotDot => TokenKind::DotDot,
        Lex::Arrow => TokenKind::Arrow,
    }
}

/// The trivia tokens of `text[pos..end]`, a gap between two lexer tokens.
fn gap(text: &str, mut pos: usize, end: usize, out: &mut Vec<Token>) {
    let bytes = text.as_bytes();
    while pos < end {
        let start = pos;
        let b = bytes[pos];
        pos += 1;
        let kind = if b == b'\n' {
            TokenKind::Newline
        } else if b.is_ascii_whitespace() {
            while pos < end && bytes[pos].is_ascii_whitespace() && bytes[pos] != b'\n' {
                pos += 1;
            }
            TokenKind::Whitespace
        } else if b == b'#' {
            while pos < end && bytes[pos] != b'\n' {
                pos += 1;
            }
            TokenKind::Comment
        } else {
            while pos < end && !bytes[pos].is_ascii_whitespace() && bytes[pos] != b'#' {
                pos += 1;
            }
            while pos < end && !text.is_char_boundary(pos) {
                pos += 1;
            }
            TokenKind::Unknown
        };
        out.push(Token { kind, start: start as u32, end: pos as u32 });
    }
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    /// The open nodes; the file at the bottom.
    stack: Vec<Node>,
    errors: Vec<Range<usize>>,
}

impl Parser<'_> {
    /// The kind of the `n`th significant token from here.
    fn peek(&self, n: usize) -> Option<TokenKind> {
        self.tokens[self.pos..].iter().filter(|t| !t.kind.is_trivia()).nth(n).map(|t| t.kind)
    }

    /// The text of the next significant token.
    fn peek_text(&self) -> &str {
        match self.tokens[self.pos..].iter().find(|t| !t.kind.is_trivia()) {
            Some(t) => &self.text[t.range()],
            None => "",
        }
    }

    /// The start of the next significant token (the end of the file if none).
    fn here(&self) -> usize {
        self.tokens[self.pos..].iter().find(|t| !t.kind.is_trivia()).map_or(self.text.len(), |t| t.start as usize)
    }

    fn top(&mut self) -> &mut Node {
        self.stack.last_mut().expect("the file node is always open")
    }

    fn flush_trivia(&mut self) {
        while let Some(&token) = self.tokens.get(self.pos).filter(|t| t.kind.is_trivia()) {
            self.top().children.push(Element::Token(token));
            self.pos += 1;
        }
    }

    /// Consumes the next significant token into the innermost open node.
    fn bump(&mut self) {
        self.flush_trivia();
        if let Some(&token) = self.tokens.get(self.pos) {
            if token.kind == TokenKind::Error {
                self.errors.push(token.range());
            }
            self.top().children.push(Element::Token(token));
            self.pos += 1;
        }
    }

    fn start(&mut self, kind: NodeKind) {
        self.flush_trivia();
        let at = self.here() as u32;
        self.stack.push(Node { kind, start: at, end: at, children: Vec::new() });
    }

    fn finish(&mut self) {
        let mut node = self.stack.pop().expect("a node is open");
        if let (Some(first), Some(last)) = (node.children.first(), node.children.last()) {
            node.start = first.range().start as u32;
            node.end = last.range().end as u32;
        }
        if node.kind == NodeKind::Error {
            self.errors.push(node.range());
        }
        self.top().children.push(Element::Node(node));
    }

    fn error_here(&mut self) {
        let at = self.here();
        self.errors.push(at..at);
    }

    /// `KIND [LABEL] {`, at the next token.
    fn at_block(&self) -> bool {
        self.peek(0) == Some(TokenKind::Ident)
            && match self.peek(1) {
                Some(TokenKind::LBrace) => true,
                Some(TokenKind::Ident | TokenKind::String) => self.peek(2) == Some(TokenKind::LBrace),
                _ => false,
            }
    }

    /// `route "PATH" ->`, at the next token.
    fn at_route(&self) -> bool {
        self.peek(0) == Some(TokenKind::Ident)
            && self.peek_text() == "route"
            && self.peek(1) == Some(TokenKind::String)
            && self.peek(2) == Some(TokenKind::Arrow)
    }

    /// The start of an entry: a field, a route or a block.
    fn at_entry(&self) -> bool {
        self.at_route()
            || (self.peek(0) == Some(TokenKind::Ident) && self.peek(1) == Some(TokenKind::Eq))
            || self.at_block()
    }

    fn file(&mut self) {
        while self.peek(0).is_some() {
            if self.at_block() {
                self.block(0);
            } else {
                self.garbage(|p| p.at_block());
            }
        }
        self.flush_trivia();
    }

    /// A run of tokens that do not parse, up to `stop` (at least one unit).
    fn garbage(&mut self, stop: impl Fn(&Self) -> bool) {
        self.start(NodeKind::Error);
        loop {
            self.unit();
            if self.peek(0).is_none() || stop(self) {
                break;
            }
        }
        self.finish();
    }

    /// One [`Parser::unit`] in an error node: a region nested too deep.
    fn error_unit(&mut self) {
        self.start(NodeKind::Error);
        self.unit();
        self.finish();
    }

    /// One token, or a whole bracketed region when it is an opener.
    fn unit(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek(0) {
                None => return,
                Some(TokenKind::LBrace | TokenKind::LBracket) => depth += 1,
                Some(TokenKind::RBrace | TokenKind::RBracket) => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.bump();
            if depth == 0 {
                return;
            }
        }
    }

    /// A block, at [`Parser::at_block`].
    fn block(&mut self, depth: usize) {
        self.start(NodeKind::Block);
        self.bump();
        if self.peek(0) != Some(TokenKind::LBrace) {
            self.bump();
        }
        if depth >= MAX_NESTING {
            self.error_unit();
            return self.finish();
        }
        self.bump();
        self.body(depth + 1);
        self.finish();
    }

    /// The entries of a block after its `{`, and the `}`.
    fn body(&mut self, depth: usize) {
        loop {
            match self.peek(0) {
                None => return self.error_here(),
                Some(TokenKind::RBrace) => return self.bump(),
                Some(TokenKind::Comma | TokenKind::Semi) => self.bump(),
                _ if self.at_route() => self.route(),
                Some(TokenKind::Ident) if self.peek(1) == Some(TokenKind::Eq) => self.field(depth),
                _ if self.at_block() => self.block(depth),
                _ => self.garbage(|p| p.peek(0) == Some(TokenKind::RBrace) || p.at_entry()),
            }
        }
    }

    /// `route "PATH" -> SERVICE[:PORT]`, at [`Parser::at_route`].
    fn route(&mut self) {
        self.start(NodeKind::Route);
        self.bump();
        self.bump();
        self.bump();
        if self.peek(0) == Some(TokenKind::Ident) {
            self.bump();
            if self.peek(0) == Some(TokenKind::Colon) && self.peek(1) == Some(TokenKind::Int) {
                self.bump();
                self.bump();
            }
        } else {
            self.error_here();
        }
        self.finish();
    }

    /// `name = value`.
    fn field(&mut self, depth: usize) {
        self.start(NodeKind::Field);
        self.bump();
        self.bump();
        if self.at_value() {
            self.value(depth);
        } else {
            self.error_here();
        }
        self.finish();
    }

    fn at_value(&self) -> bool {
        matches!(
            self.peek(0),
            Some(
                TokenKind::String
                    | TokenKind::Int
                    | TokenKind::Decimal
                    | TokenKind::Quantity
                    | TokenKind::Cidr
                    | TokenKind::Invalid
                    | TokenKind::Error
                    | TokenKind::Ident
                    | TokenKind::LBracket
            )
        )
    }

    /// A value, at [`Parser::at_value`].
    fn value(&mut self, depth: usize) {
        let endpoint = |k: Option<TokenKind>| matches!(k, Some(TokenKind::Int | TokenKind::Invalid | TokenKind::Error));
        match self.peek(0) {
            Some(TokenKind::LBracket) => self.list(depth),
            Some(TokenKind::Ident) => {
                self.start(NodeKind::Path);
                self.bump();
                while self.peek(0) == Some(TokenKind::Dot) && self.peek(1) == Some(TokenKind::Ident) {
                    self.bump();
                    self.bump();
                }
                self.finish();
            }
            first if endpoint(first) && self.peek(1) == Some(TokenKind::DotDot) && endpoint(self.peek(2)) => {
                self.start(NodeKind::Range);
                self.bump();
                self.bump();
                self.bump();
                self.finish();
            }
            _ => {
                self.start(NodeKind::Literal);
                self.bump();
                self.finish();
            }
        }
    }

    /// `[v, v]`, at `[`.
    fn list(&mut self, depth: usize) {
        self.start(NodeKind::List);
        if depth >= MAX_NESTING {
            self.error_unit();
            return self.finish();
        }
        self.bump();
        loop {
            match self.peek(0) {
                None | Some(TokenKind::RBrace) => {
                    self.error_here();
                    break;
                }
                Some(TokenKind::RBracket) => {
                    self.bump();
                    break;
                }
                _ if self.at_value() => {
                    self.value(depth + 1);
                    if self.peek(0) == Some(TokenKind::Comma) {
                        self.bump();
                    }
                }
                _ => {
                    self.garbage(|p| p.at_value() || matches!(p.peek(0), Some(TokenKind::RBracket | TokenKind::RBrace)))
                }
            }
        }
        self.finish();
    }
}
