//! The syntax tree: it mirrors the text, not the meaning.
//!
//! `.gov` has one uniform shape: blocks (`KIND [LABEL] { entries }`) holding fields
//! (`name = value`), nested blocks and routes (`route "PATH" -> SERVICE[:PORT]`).
//! What a block *means* (an environment, a service, a segment, `env { }`) is decided
//! later, by lowering against the stdlib schemas. Every node carries a [`Span`].

use crate::source::{FileId, Span};

/// A parsed file. Parsing never fails: what could not be parsed is reported and skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub file: FileId,
    pub items: Vec<Block>,
}

/// An identifier: `[A-Za-z_][A-Za-z0-9_-]*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal with its escapes resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Str {
    pub value: String,
    pub span: Span,
}

/// The label after a block's kind: `service api { }` or `phase "build" { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockLabel {
    Name(Ident),
    Str(Str),
}

impl BlockLabel {
    pub fn text(&self) -> &str {
        match self {
            BlockLabel::Name(it) => &it.name,
            BlockLabel::Str(it) => &it.value,
        }
    }

    pub fn span(&self) -> Span {
        match self {
            BlockLabel::Name(it) => it.span,
            BlockLabel::Str(it) => it.span,
        }
    }
}

/// `KIND [LABEL] { entries }`, at the top level or nested.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The `##` doc comment lines before the block, joined with `\n`.
    pub doc: Option<String>,
    pub kind: Ident,
    pub label: Option<BlockLabel>,
    pub entries: Vec<Entry>,
    /// From the kind to the closing brace (or to the end of the file if unclosed).
    pub span: Span,
}

impl Block {
    /// The span that names the block: its kind and label.
    pub fn head_span(&self) -> Span {
        match &self.label {
            Some(label) => self.kind.span.to(label.span()),
            None => self.kind.span,
        }
    }
}

/// One entry of a block body.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Field(Field),
    Block(Block),
    Route(Route),
}

impl Entry {
    /// Sets the `##` doc comment written before the entry.
    pub fn set_doc(&mut self, doc: Option<String>) {
        match self {
            Entry::Field(it) => it.doc = doc,
            Entry::Block(it) => it.doc = doc,
            Entry::Route(it) => it.doc = doc,
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Entry::Field(it) => it.span,
            Entry::Block(it) => it.span,
            Entry::Route(it) => it.span,
        }
    }
}

/// `name = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub doc: Option<String>,
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

/// `route "PATH" -> SERVICE[:PORT]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub doc: Option<String>,
    pub path: Str,
    pub target: Ident,
    pub port: Option<(u64, Span)>,
    pub span: Span,
}

/// A value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

/// An exact decimal number: `mantissa / 10^scale` (`0.5` is `5 / 10^1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Number {
    pub mantissa: u64,
    pub scale: u32,
}

impl Number {
    pub fn integer(value: u64) -> Number {
        Number { mantissa: value, scale: 0 }
    }

    /// `Some` when the number is a whole number.
    pub fn as_integer(self) -> Option<u64> {
        let div = 10u64.checked_pow(self.scale)?;
        (self.mantissa % div == 0).then_some(self.mantissa / div)
    }

    /// `self * factor` when the result is a whole number (`0.5 * 1024`).
    pub fn times_exact(self, factor: u64) -> Option<u64> {
        let div = 10u128.checked_pow(self.scale)?;
        let product = self.mantissa as u128 * factor as u128;
        if product % div != 0 {
            return None;
        }
        u64::try_from(product / div).ok()
    }
}

/// What a value is, as written.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    Str(String),
    /// `8080`, `1_000`.
    Int(u64),
    /// `0.5`.
    Decimal(Number),
    /// A number immediately followed by a unit: `100GiB`, `250m`, `14d`. The unit is
    /// one of the known units (an unknown one is E102 in the parser).
    Quantity {
        number: Number,
        unit: String,
    },
    /// `10.30.0.0/16`, with its host bits zero (otherwise E102 and `Invalid`).
    Cidr {
        addr: u32,
        prefix: u8,
    },
    /// `3..12`.
    Range {
        min: u64,
        max: u64,
    },
    /// A bare word or a reference: `production`, `true`, `main`, `main.host`.
    /// Enum values and booleans are bare words too; the field's type decides.
    Path(Vec<Ident>),
    /// `[a, b, c]`.
    List(Vec<Value>),
    /// A literal already reported as invalid (E102). It still counts as present.
    Invalid,
}
