//! The printer: a lossless tree without errors to its canonical text.
//!
//! A container (the file, a block body, a list) is read as a sequence of
//! [`Piece`]s: entries with their trailing comment, comments on their own line,
//! and blank lines. Entries print on one line, except blocks and lists, which
//! print on one line when [`flat_block`] or [`flat_value`] allows it and the line
//! fits in [`WIDTH`], and otherwise one piece a line. A comment inside an entry
//! (between `=` and the value, say) ends its line, and the entry continues on the
//! next line one level deeper.

use super::WIDTH;
use crate::syntax::cst::{Element, Node, NodeKind, SyntaxTree, Token, TokenKind};

/// One level of indentation.
const INDENT: &str = "  ";

/// Prints `tree` in the canonical layout.
pub(super) fn print(tree: &SyntaxTree) -> String {
    let mut printer = Printer { tree, out: String::with_capacity(tree.text().len() + 16) };
    printer.file();
    printer.out
}

/// One line's worth of a container.
enum Piece<'a> {
    /// An entry (or list element) and the comment after it on its line.
    Item(&'a Node, Option<&'a Token>),
    /// A comment on its own line.
    Comment(&'a Token),
    /// One blank line (of one or more in the source).
    Blank,
}

/// A container's pieces, and the comment on the line of its opener (`{  # note`).
struct Sequence<'a> {
    opener_comment: Option<&'a Token>,
    pieces: Vec<Piece<'a>>,
}

/// The pieces of `children`, the elements between an opener and its closer (or
/// the whole file, which starts at the start of a line).
fn sequence(children: &[Element], file: bool) -> Sequence<'_> {
    let mut seq = Sequence { opener_comment: None, pieces: Vec::new() };
    let mut newlines = usize::from(file);
    for child in children {
        match child {
            Element::Token(token) if token.kind == TokenKind::Newline => newlines += 1,
            Element::Token(token) if token.kind.is_comment() => {
                let same_line = newlines == 0;
                match seq.pieces.last_mut() {
                    Some(Piece::Item(_, slot @ None)) if same_line => *slot = Some(token),
                    None if same_line && seq.opener_comment.is_none() => seq.opener_comment = Some(token),
                    _ => {
                        if newlines >= 2 && !seq.pieces.is_empty() {
                            seq.pieces.push(Piece::Blank);
                        }
                        seq.pieces.push(Piece::Comment(token));
                    }
                }
                newlines = 0;
            }
            // Whitespace, separators (they become line breaks), a byte-order mark.
            Element::Token(_) => {}
            Element::Node(node) => {
                if newlines >= 2 && !seq.pieces.is_empty() {
                    seq.pieces.push(Piece::Blank);
                }
                seq.pieces.push(Piece::Item(node, None));
                newlines = 0;
            }
        }
    }
    seq
}

struct Printer<'a> {
    tree: &'a SyntaxTree,
    out: String,
}

impl Printer<'_> {
    fn text(&self, token: &Token) -> &str {
        self.tree.token_text(token)
    }

    fn file(&mut self) {
        let root = self.tree.root();
        if let Some(Element::Token(bom)) = root.children().first() {
            if bom.kind == TokenKind::Unknown && self.text(bom) == "\u{feff}" {
                self.out.push('\u{feff}');
            }
        }
        let seq = sequence(root.children(), true);
        if let Some(comment) = seq.opener_comment {
            self.comment(comment);
            self.out.push('\n');
        }
        for piece in seq.pieces {
            match piece {
                Piece::Blank => {}
                Piece::Item(node, trailing) => {
                    self.entry(node, 0);
                    self.trailing(trailing);
                }
                Piece::Comment(comment) => self.comment(comment),
            }
            self.out.push('\n');
        }
    }

    /// A comment without trailing whitespace.
    fn comment(&mut self, token: &Token) {
        let text = self.tree.token_text(token).trim_end();
        self.out.push_str(text);
    }

    fn trailing(&mut self, comment: Option<&Token>) {
        if let Some(comment) = comment {
            self.out.push_str("  ");
            self.comment(comment);
        }
    }

    fn newline(&mut self, indent: usize) {
        self.out.push('\n');
        for _ in 0..indent {
            self.out.push_str(INDENT);
        }
    }

    /// The column (in characters) where the next character goes.
    fn column(&self) -> usize {
        let line_start = self.out.rfind('\n').map_or(0, |n| n + 1);
        self.out[line_start..].chars().count()
    }

    /// Whether the current line holds only indentation.
    fn at_line_start(&self) -> bool {
        let line_start = self.out.rfind('\n').map_or(0, |n| n + 1);
        self.out[line_start..].trim().is_empty()
    }

    /// Prints `flat` when it fits on the current line.
    fn try_flat(&mut self, flat: Option<String>) -> bool {
        match flat {
            Some(flat) if self.column() + flat.chars().count() <= WIDTH => {
                self.out.push_str(&flat);
                true
            }
            _ => false,
        }
    }

    fn entry(&mut self, node: &Node, indent: usize) {
        match node.kind {
            NodeKind::Block => self.block(node, indent),
            _ => self.inline(node.children(), node.kind, indent),
        }
    }

    fn block(&mut self, node: &Node, indent: usize) {
        if self.try_flat(flat_block(self.tree, node)) {
            return;
        }
        let children = node.children();
        let open = position(children, TokenKind::LBrace).unwrap_or(children.len());
        let close = position(children, TokenKind::RBrace).filter(|&c| c > open).unwrap_or(children.len());
        self.inline(&children[..open], NodeKind::Block, indent);
        if !self.at_line_start() {
            self.out.push(' ');
        }
        self.out.push('{');
        self.body(children.get(open + 1..close).unwrap_or(&[]), indent, '}');
    }

    /// The pieces of a block body or a list (`closer` `]`), one a line.
    fn body(&mut self, children: &[Element], indent: usize, closer: char) {
        let seq = sequence(children, false);
        self.trailing(seq.opener_comment);
        for piece in seq.pieces {
            match piece {
                Piece::Blank => self.out.push('\n'),
                Piece::Item(node, trailing) => {
                    self.newline(indent + 1);
                    if closer == ']' {
                        self.value(node, indent + 1);
                        self.out.push(',');
                    } else {
                        self.entry(node, indent + 1);
                    }
                    self.trailing(trailing);
                }
                Piece::Comment(comment) => {
                    self.newline(indent + 1);
                    self.comment(comment);
                }
            }
        }
        self.newline(indent);
        self.out.push(closer);
    }

    /// Tokens and values of one entry on one line, spaced for the kind of `parent`.
    fn inline(&mut self, children: &[Element], parent: NodeKind, indent: usize) {
        let mut prev: Option<Option<TokenKind>> = None;
        for child in children {
            match child {
                Element::Token(token) if token.kind.is_comment() => {
                    self.out.push_str("  ");
                    self.comment(token);
                    self.newline(indent + 1);
                    prev = None;
                }
                Element::Token(token) if token.kind.is_trivia() => {}
                Element::Token(token) => {
                    if let Some(prev) = prev {
                        self.out.push_str(space(parent, prev, Some(token.kind)));
                    }
                    let text = self.tree.token_text(token);
                    self.out.push_str(text);
                    prev = Some(Some(token.kind));
                }
                Element::Node(node) => {
                    if let Some(prev) = prev {
                        self.out.push_str(space(parent, prev, None));
                    }
                    self.value(node, indent);
                    prev = Some(None);
                }
            }
        }
    }

    fn value(&mut self, node: &Node, indent: usize) {
        if node.kind != NodeKind::List {
            return self.inline(node.children(), node.kind, indent);
        }
        let empty = node.nodes().next().is_none();
        let flat = flat_value(self.tree, node);
        if empty && flat.is_some() {
            return self.out.push_str("[]");
        }
        if self.try_flat(flat) {
            return;
        }
        let children = node.children();
        let open = position(children, TokenKind::LBracket).unwrap_or(children.len());
        let close = position(children, TokenKind::RBracket).filter(|&c| c > open).unwrap_or(children.len());
        self.out.push('[');
        self.body(children.get(open + 1..close).unwrap_or(&[]), indent, ']');
    }
}

/// The index of the last child token of `kind`.
fn position(children: &[Element], kind: TokenKind) -> Option<usize> {
    children.iter().rposition(|c| matches!(c, Element::Token(t) if t.kind == kind))
}

/// The space between two elements of an entry (`None`: a value node).
fn space(parent: NodeKind, prev: Option<TokenKind>, next: Option<TokenKind>) -> &'static str {
    match parent {
        NodeKind::Path | NodeKind::Range => "",
        NodeKind::Route if prev == Some(TokenKind::Colon) || next == Some(TokenKind::Colon) => "",
        _ => " ",
    }
}

/// The one-line form of a value; `None` when it holds a comment.
fn flat_value(tree: &SyntaxTree, node: &Node) -> Option<String> {
    if node.kind == NodeKind::List {
        if node.children().iter().any(|c| matches!(c, Element::Token(t) if t.kind.is_comment())) {
            return None;
        }
        let elements = node.nodes().map(|n| flat_value(tree, n)).collect::<Option<Vec<_>>>()?;
        return Some(format!("[{}]", elements.join(", ")));
    }
    flat_tokens(tree, node.children(), node.kind)
}

/// The one-line form of the tokens and values of an entry; `None` with a comment inside.
fn flat_tokens(tree: &SyntaxTree, children: &[Element], parent: NodeKind) -> Option<String> {
    let mut out = String::new();
    let mut prev: Option<Option<TokenKind>> = None;
    for child in children {
        let (text, kind) = match child {
            Element::Token(token) if token.kind.is_comment() => return None,
            Element::Token(token) if token.kind.is_trivia() => continue,
            Element::Token(token) => (tree.token_text(token).to_string(), Some(token.kind)),
            Element::Node(node) if node.kind == NodeKind::Block => (flat_block(tree, node)?, None),
            Element::Node(node) => (flat_value(tree, node)?, None),
        };
        if let Some(prev) = prev {
            out.push_str(space(parent, prev, kind));
        }
        out.push_str(&text);
        prev = Some(kind);
    }
    Some(out)
}

/// The one-line form of a block written on one line without separators:
/// `kind label { a = 1  b = 2 }`, or `kind label { }`.
fn flat_block(tree: &SyntaxTree, node: &Node) -> Option<String> {
    let children = node.children();
    let open = position(children, TokenKind::LBrace)?;
    let close = position(children, TokenKind::RBrace).filter(|&c| c > open)?;
    let inside = &children[open + 1..close];
    let one_line = node.descendant_tokens().all(|t| t.kind != TokenKind::Newline && !t.kind.is_comment());
    let separated =
        inside.iter().any(|c| matches!(c, Element::Token(t) if matches!(t.kind, TokenKind::Comma | TokenKind::Semi)));
    if !one_line || separated {
        return None;
    }
    let head = flat_tokens(tree, &children[..open], NodeKind::Block)?;
    let entries = inside
        .iter()
        .filter_map(|c| match c {
            Element::Node(n) if n.kind == NodeKind::Block => Some(flat_block(tree, n)),
            Element::Node(n) => Some(flat_tokens(tree, n.children(), n.kind)),
            Element::Token(_) => None,
        })
        .collect::<Option<Vec<_>>>()?;
    if entries.is_empty() {
        return Some(format!("{head} {{ }}"));
    }
    Some(format!("{head} {{ {} }}", entries.join("  ")))
}
