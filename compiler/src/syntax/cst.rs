//! The lossless syntax tree: every byte of a `.gov` file, comments and whitespace
//! included, in a tree of [`Node`]s and [`Token`]s, so that printing the tree
//! gives back the text exactly ([`SyntaxTree::print`]), even for broken input.
//!
//! It is a second view of the text, for tools: the formatter (`crate::fmt`), the
//! language server and source rewriting (`promote`). The compiler's front end
//! stays the chumsky parser and its AST ([`super::ast`]); on every text that
//! parser accepts, this tree has the same blocks, fields, routes and values with
//! the same spans (a property test checks it).
//!
//! Shape: a [`NodeKind::File`] holds blocks; a [`NodeKind::Block`] holds its kind,
//! its label, `{`, entries (fields, routes, blocks), separators and `}`; a
//! [`NodeKind::Field`] holds its name, `=` and one value node ([`NodeKind::Literal`],
//! [`NodeKind::Path`], [`NodeKind::Range`] or [`NodeKind::List`]). What cannot be
//! parsed is kept in [`NodeKind::Error`] nodes. Trivia (whitespace, newlines,
//! comments, doc comments) are tokens like the others; a node always starts and
//! ends at a significant token, so trivia between two entries belong to the
//! enclosing block, and a node's range equals the AST span of what it holds.
//! The typed views ([`Block`], [`Field`], [`Route`], [`Value`]) and the edits of
//! `cst_edit` read this tree.

use std::ops::Range;

/// What a token is. Trivia ([`TokenKind::is_trivia`]) carry no meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Spaces, tabs, `\r`, form feeds: never a newline.
    Whitespace,
    /// One `\n`.
    Newline,
    /// `# text`, up to the end of its line (without the `\n`).
    Comment,
    /// `## text`, up to the end of its line.
    DocComment,
    /// Text the lexer skipped that is neither whitespace nor a comment (a byte-order mark).
    Unknown,
    /// A name: `service`, `db-password`.
    Ident,
    /// A string literal, quotes included, as written.
    String,
    /// `8080`, `1_000`.
    Int,
    /// `0.5`.
    Decimal,
    /// `100GiB`.
    Quantity,
    /// `10.30.0.0/16`.
    Cidr,
    /// A literal the lexer reported as invalid (E102).
    Invalid,
    /// Characters the lexer reported as unexpected (E101).
    Error,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Eq,
    Comma,
    Semi,
    Colon,
    Dot,
    DotDot,
    Arrow,
}

impl TokenKind {
    /// Whitespace, newlines and comments: what the grammar skips.
    pub fn is_trivia(self) -> bool {
        matches!(
            self,
            TokenKind::Whitespace
                | TokenKind::Newline
                | TokenKind::Comment
                | TokenKind::DocComment
                | TokenKind::Unknown
        )
    }

    /// `#` and `##` comments.
    pub fn is_comment(self) -> bool {
        matches!(self, TokenKind::Comment | TokenKind::DocComment)
    }
}

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// The whole file: blocks and the trivia between them.
    File,
    /// `KIND [LABEL] { entries }`.
    Block,
    /// `name = value`.
    Field,
    /// `route "PATH" -> SERVICE[:PORT]`.
    Route,
    /// One literal token: a string, number, quantity, CIDR, or an invalid literal.
    Literal,
    /// `a` or `a.b`.
    Path,
    /// `MIN..MAX`.
    Range,
    /// `[v, v]`.
    List,
    /// Tokens that do not parse, kept as they are.
    Error,
}

/// A token: its kind and byte range in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: u32,
    pub end: u32,
}

impl Token {
    /// The byte range of the token.
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A child of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    Node(Node),
    Token(Token),
}

impl Element {
    /// The byte range of the element.
    pub fn range(&self) -> Range<usize> {
        match self {
            Element::Node(node) => node.range(),
            Element::Token(token) => token.range(),
        }
    }
}

/// A node: its kind, byte range and children in text order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) children: Vec<Element>,
}

impl Node {
    /// The byte range of the node, from its first to its last token.
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The children, in text order.
    pub fn children(&self) -> &[Element] {
        &self.children
    }

    /// The child nodes.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.children.iter().filter_map(|c| match c {
            Element::Node(n) => Some(n),
            Element::Token(_) => None,
        })
    }

    /// The child tokens (not those of child nodes).
    pub fn tokens(&self) -> impl Iterator<Item = &Token> {
        self.children.iter().filter_map(|c| match c {
            Element::Token(t) => Some(t),
            Element::Node(_) => None,
        })
    }

    /// The first child token of `kind`.
    pub fn token(&self, kind: TokenKind) -> Option<&Token> {
        self.tokens().find(|t| t.kind == kind)
    }

    /// Every token of the subtree, in text order, walked as it is asked for: a test
    /// that stops at the first newline of a block of thousands of lines reads one line.
    pub fn descendant_tokens(&self) -> DescendantTokens<'_> {
        DescendantTokens { stack: vec![self.children.iter()] }
    }
}

/// The tokens of a subtree in text order ([`Node::descendant_tokens`]): a stack of the
/// children still to visit, one level per node entered.
pub struct DescendantTokens<'a> {
    stack: Vec<std::slice::Iter<'a, Element>>,
}

impl<'a> Iterator for DescendantTokens<'a> {
    type Item = &'a Token;

    fn next(&mut self) -> Option<&'a Token> {
        while let Some(top) = self.stack.last_mut() {
            match top.next() {
                None => {
                    self.stack.pop();
                }
                Some(Element::Token(t)) => return Some(t),
                Some(Element::Node(n)) => self.stack.push(n.children.iter()),
            }
        }
        None
    }
}

/// A parsed file: its text and the tree over it.
#[derive(Clone, Debug)]
pub struct SyntaxTree {
    pub(crate) text: String,
    pub(crate) root: Node,
    pub(crate) errors: Vec<Range<usize>>,
}

impl SyntaxTree {
    /// Parses `text`; never fails. What does not parse is kept in error nodes.
    pub fn parse(text: &str) -> SyntaxTree {
        super::cst_parser::parse(text)
    }

    /// The text the tree was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The [`NodeKind::File`] node.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The text of a range of the file.
    pub fn slice(&self, range: Range<usize>) -> &str {
        self.text.get(range).unwrap_or("")
    }

    /// The text of a token.
    pub fn token_text(&self, token: &Token) -> &str {
        self.slice(token.range())
    }

    /// The text of the tree, token by token: always equal to [`SyntaxTree::text`].
    pub fn print(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        for token in self.root.descendant_tokens() {
            out.push_str(self.token_text(token));
        }
        out
    }

    /// Where the tree found something it could not parse (empty for a valid file).
    pub fn errors(&self) -> &[Range<usize>] {
        &self.errors
    }

    /// Whether anything did not parse.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The top-level blocks.
    pub fn items(&self) -> Vec<Block<'_>> {
        self.root.nodes().filter(|n| n.kind == NodeKind::Block).map(|node| Block { tree: self, node }).collect()
    }

    /// The first top-level block of `kind` with `label` (`None`: any label or none).
    pub fn item(&self, kind: &str, label: Option<&str>) -> Option<Block<'_>> {
        self.items().into_iter().find(|b| b.kind() == kind && (label.is_none() || b.label() == label))
    }

    /// The token holding the byte at `offset` (the last token when `offset` is the end).
    pub fn token_at(&self, offset: usize) -> Option<Token> {
        let mut node = &self.root;
        loop {
            let i = node.children.partition_point(|c| c.range().end <= offset);
            let child = node.children.get(i).or_else(|| node.children.last())?;
            match child {
                Element::Token(t) => return Some(*t),
                Element::Node(n) => node = n,
            }
        }
    }

    /// The nodes whose range holds `offset`, outermost (the file) first.
    pub fn ancestors_at(&self, offset: usize) -> Vec<&Node> {
        let mut out = vec![&self.root];
        let mut node = &self.root;
        while let Some(inner) = node.nodes().find(|n| n.range().contains(&offset) || n.range().end == offset) {
            out.push(inner);
            node = inner;
        }
        out
    }
}

/// A block: `KIND [LABEL] { entries }`.
#[derive(Clone, Copy, Debug)]
pub struct Block<'a> {
    pub(crate) tree: &'a SyntaxTree,
    pub(crate) node: &'a Node,
}

/// One entry of a block body.
#[derive(Clone, Copy, Debug)]
pub enum Entry<'a> {
    Field(Field<'a>),
    Block(Block<'a>),
    Route(Route<'a>),
}

impl<'a> Entry<'a> {
    /// The entry's node.
    pub fn node(&self) -> &'a Node {
        match self {
            Entry::Field(it) => it.node,
            Entry::Block(it) => it.node,
            Entry::Route(it) => it.node,
        }
    }

    /// The entry's byte range.
    pub fn range(&self) -> Range<usize> {
        self.node().range()
    }
}

impl<'a> Block<'a> {
    /// The block's node.
    pub fn node(&self) -> &'a Node {
        self.node
    }

    /// From the kind to the closing brace.
    pub fn range(&self) -> Range<usize> {
        self.node.range()
    }

    /// The kind: `service`, `network`, `env`.
    pub fn kind(&self) -> &'a str {
        self.node.token(TokenKind::Ident).map_or("", |t| self.tree.token_text(t))
    }

    /// The token of the kind.
    pub fn kind_token(&self) -> Option<Token> {
        self.node.token(TokenKind::Ident).copied()
    }

    /// The label token, a name or a string, if any.
    pub fn label_token(&self) -> Option<Token> {
        let mut head = self.node.tokens().take_while(|t| t.kind != TokenKind::LBrace).filter(|t| !t.kind.is_trivia());
        head.nth(1).filter(|t| matches!(t.kind, TokenKind::Ident | TokenKind::String)).copied()
    }

    /// The label as written, without the quotes of a string label (`api`, `build`).
    pub fn label(&self) -> Option<&'a str> {
        let token = self.label_token()?;
        let text = self.tree.token_text(&token);
        Some(text.strip_prefix('"').map_or(text, |t| t.strip_suffix('"').unwrap_or(t)))
    }

    /// The kind and label.
    pub fn head_range(&self) -> Range<usize> {
        let start = self.node.start as usize;
        let end = self.label_token().or(self.kind_token()).map_or(start, |t| t.end as usize);
        start..end
    }

    /// The `{` token.
    pub fn l_brace(&self) -> Option<Token> {
        self.node.token(TokenKind::LBrace).copied()
    }

    /// The `}` token; `None` when the block is left open.
    pub fn r_brace(&self) -> Option<Token> {
        self.node.token(TokenKind::RBrace).copied()
    }

    /// The entries, in order.
    pub fn entries(&self) -> Vec<Entry<'a>> {
        let tree = self.tree;
        self.node
            .nodes()
            .filter_map(|node| match node.kind {
                NodeKind::Field => Some(Entry::Field(Field { tree, node })),
                NodeKind::Block => Some(Entry::Block(Block { tree, node })),
                NodeKind::Route => Some(Entry::Route(Route { tree, node })),
                _ => None,
            })
            .collect()
    }

    /// The fields, in order.
    pub fn fields(&self) -> Vec<Field<'a>> {
        self.entries().into_iter().filter_map(|e| if let Entry::Field(f) = e { Some(f) } else { None }).collect()
    }

    /// The first field named `name`.
    pub fn field(&self, name: &str) -> Option<Field<'a>> {
        self.fields().into_iter().find(|f| f.name() == name)
    }

    /// The nested blocks, in order.
    pub fn blocks(&self) -> Vec<Block<'a>> {
        self.entries().into_iter().filter_map(|e| if let Entry::Block(b) = e { Some(b) } else { None }).collect()
    }

    /// The first nested block of `kind` with `label` (`None`: any label or none).
    pub fn block(&self, kind: &str, label: Option<&str>) -> Option<Block<'a>> {
        self.blocks().into_iter().find(|b| b.kind() == kind && (label.is_none() || b.label() == label))
    }

    /// The routes, in order.
    pub fn routes(&self) -> Vec<Route<'a>> {
        self.entries().into_iter().filter_map(|e| if let Entry::Route(r) = e { Some(r) } else { None }).collect()
    }

    /// Whether `{` and `}` are on one line.
    pub fn is_one_line(&self) -> bool {
        match (self.l_brace(), self.r_brace()) {
            (Some(l), Some(r)) => !self.tree.slice(l.start as usize..r.end as usize).contains('\n'),
            _ => false,
        }
    }

    /// The tree this block belongs to.
    pub fn tree(&self) -> &'a SyntaxTree {
        self.tree
    }
}

/// A field: `name = value`.
#[derive(Clone, Copy, Debug)]
pub struct Field<'a> {
    pub(crate) tree: &'a SyntaxTree,
    pub(crate) node: &'a Node,
}

impl<'a> Field<'a> {
    /// The field's node.
    pub fn node(&self) -> &'a Node {
        self.node
    }

    /// From the name to the end of the value.
    pub fn range(&self) -> Range<usize> {
        self.node.range()
    }

    /// The name.
    pub fn name(&self) -> &'a str {
        self.node.token(TokenKind::Ident).map_or("", |t| self.tree.token_text(t))
    }

    /// The byte range of the name.
    pub fn name_range(&self) -> Range<usize> {
        self.node.token(TokenKind::Ident).map_or(self.range(), Token::range)
    }

    /// The `=` token.
    pub fn eq_token(&self) -> Option<Token> {
        self.node.token(TokenKind::Eq).copied()
    }

    /// The value; `None` when it is missing (a syntax error).
    pub fn value(&self) -> Option<Value<'a>> {
        let node = self.node.nodes().find(|n| n.kind != NodeKind::Error)?;
        Some(Value { tree: self.tree, node })
    }
}

/// A route: `route "PATH" -> SERVICE[:PORT]`.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    pub(crate) tree: &'a SyntaxTree,
    pub(crate) node: &'a Node,
}

impl<'a> Route<'a> {
    /// The route's node.
    pub fn node(&self) -> &'a Node {
        self.node
    }

    /// From `route` to the target or port.
    pub fn range(&self) -> Range<usize> {
        self.node.range()
    }

    /// The path token, quotes included.
    pub fn path_token(&self) -> Option<Token> {
        self.node.token(TokenKind::String).copied()
    }

    /// The target service's name token.
    pub fn target_token(&self) -> Option<Token> {
        self.node.tokens().filter(|t| t.kind == TokenKind::Ident).nth(1).copied()
    }

    /// The target service's name.
    pub fn target(&self) -> Option<&'a str> {
        self.target_token().map(|t| self.tree.token_text(&t))
    }

    /// The port token, if any.
    pub fn port_token(&self) -> Option<Token> {
        self.node.token(TokenKind::Int).copied()
    }
}

/// A value: a literal, a path, a range or a list.
#[derive(Clone, Copy, Debug)]
pub struct Value<'a> {
    pub(crate) tree: &'a SyntaxTree,
    pub(crate) node: &'a Node,
}

impl<'a> Value<'a> {
    /// The value's node.
    pub fn node(&self) -> &'a Node {
        self.node
    }

    /// What the value is: [`NodeKind::Literal`], `Path`, `Range` or `List`.
    pub fn kind(&self) -> NodeKind {
        self.node.kind
    }

    /// The byte range of the value.
    pub fn range(&self) -> Range<usize> {
        self.node.range()
    }

    /// The value as written.
    pub fn text(&self) -> &'a str {
        self.tree.slice(self.range())
    }

    /// The kind of a literal's token (`None` for other values).
    pub fn literal_kind(&self) -> Option<TokenKind> {
        (self.node.kind == NodeKind::Literal)
            .then(|| self.node.tokens().find(|t| !t.kind.is_trivia()).map(|t| t.kind))?
    }

    /// The elements of a list (empty for other values).
    pub fn elements(&self) -> Vec<Value<'a>> {
        if self.node.kind != NodeKind::List {
            return Vec::new();
        }
        self.node.nodes().filter(|n| n.kind != NodeKind::Error).map(|node| Value { tree: self.tree, node }).collect()
    }
}
