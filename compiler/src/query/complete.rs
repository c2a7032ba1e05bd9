//! Completion: what may be written at the cursor.
//!
//! The line before the cursor decides the context (the syntax tree of a line being
//! typed is often incomplete): after `NAME.` the attributes of `NAME`'s kind; after
//! `->` the services in scope; after `FIELD =` the values of the field's type (enum
//! values, names in scope of the right kind, phase names, capabilities); at the
//! start of an entry the fields and blocks of the enclosing block and, in a stack
//! or environment, the resource kinds; at the top level the item kinds.

use super::{block_schema, enclosing_blocks, scope_of, Analysis, Scope};
use crate::model::schema::{Capability, FieldType};
use crate::source::FileId;
use crate::syntax::ast;

/// What a completion item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    /// A top-level item kind or a resource kind.
    Kind,
    Field,
    /// A nested block such as `aws` or `ingress`.
    Block,
    /// A resource, stack or environment name.
    Name,
    /// An enum value, `true`/`false` or a capability.
    Value,
    Phase,
    Attribute,
}

/// One completion item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    /// A short description: the type of a field, the kind of a name.
    pub detail: Option<String>,
    /// The stdlib doc comment, Markdown.
    pub doc: Option<String>,
}

impl Completion {
    fn new(label: impl Into<String>, kind: CompletionKind, detail: Option<String>, doc: Option<String>) -> Completion {
        Completion { label: label.into(), kind, detail, doc }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The completions at `offset` in `file`, sorted by label.
pub fn completions(analysis: &Analysis, file: FileId, offset: usize) -> Vec<Completion> {
    let text = &analysis.sources.get(file).text;
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..offset];
    let Some(tree) = analysis.files.get(file.0 as usize) else { return Vec::new() };
    let mut chain = enclosing_blocks(tree, offset);
    if chain.len() > 1 && chain.last().is_some_and(|b| b.kind.span.start as usize >= offset) {
        chain.pop(); // The cursor is before the block's head, in its parent.
    }
    let scope = scope_of(&chain);
    // The word being typed, and what precedes it.
    let before = prefix.trim_end_matches(is_name_char);
    let mut items = if let Some(owner) = before.strip_suffix('.') {
        let name = &owner[owner.trim_end_matches(is_name_char).len()..];
        attributes(analysis, scope.as_ref(), name)
    } else if before.trim_end().ends_with("->") {
        names(analysis, scope.as_ref(), |kind| kind == "service")
    } else if let Some(field) = value_context(before) {
        values(analysis, &chain, scope.as_ref(), field)
    } else if before.trim().is_empty() || before.trim_end().ends_with('{') {
        members(analysis, &chain)
    } else {
        Vec::new()
    };
    items.sort_by(|a, b| a.label.cmp(&b.label));
    items.dedup_by(|a, b| a.label == b.label);
    items
}

/// `NAME = ` or `NAME = [a, ` before the cursor: the field's name.
fn value_context(before: &str) -> Option<&str> {
    let (lhs, rhs) = before.rsplit_once('=')?;
    let rhs = rhs.trim_start();
    let in_value = rhs.is_empty()
        || rhs == "\""
        || (rhs.starts_with('[') && !rhs.contains(']') && rhs.trim_end().ends_with([',', '[']));
    let name = lhs.trim_end();
    let name = &name[name.trim_end_matches(is_name_char).len()..];
    (in_value && !name.is_empty()).then_some(name)
}

fn attributes(analysis: &Analysis, scope: Option<&Scope>, name: &str) -> Vec<Completion> {
    let Some(scope) = scope else { return Vec::new() };
    let Some(kind) = analysis.index().in_scope(scope).remove(name) else { return Vec::new() };
    let Some(schema) = analysis.model.schema.kind(&kind) else { return Vec::new() };
    schema
        .attributes
        .iter()
        .map(|(attr, doc)| {
            Completion::new(attr, CompletionKind::Attribute, Some(format!("{kind} attribute")), doc.clone())
        })
        .collect()
}

fn names(analysis: &Analysis, scope: Option<&Scope>, keep: impl Fn(&str) -> bool) -> Vec<Completion> {
    let Some(scope) = scope else { return Vec::new() };
    analysis
        .index()
        .in_scope(scope)
        .into_iter()
        .filter(|(_, kind)| keep(kind))
        .map(|(name, kind)| Completion::new(name, CompletionKind::Name, Some(kind), None))
        .collect()
}

fn item_names(analysis: &Analysis, stacks: bool) -> Vec<Completion> {
    analysis
        .index()
        .declared
        .keys()
        .filter_map(|s| match (s, stacks) {
            (Scope::Stack(n), true) => Some(Completion::new(n, CompletionKind::Name, Some("stack".into()), None)),
            (Scope::Environment(n), false) => {
                Some(Completion::new(n, CompletionKind::Name, Some("environment".into()), None))
            }
            _ => None,
        })
        .collect()
}

fn phases(analysis: &Analysis) -> Vec<Completion> {
    analysis
        .model
        .ladder
        .chain
        .iter()
        .map(|(name, _)| Completion::new(format!("\"{name}\""), CompletionKind::Phase, Some("phase".into()), None))
        .collect()
}

fn values(analysis: &Analysis, chain: &[&ast::Block], scope: Option<&Scope>, field: &str) -> Vec<Completion> {
    let innermost = chain.last().map(|b| b.kind.name.as_str());
    if innermost == Some("env") && chain.len() > 2 {
        // `env { KEY = ... }`: secrets, or resources whose attribute is read.
        return names(analysis, scope, |_| true);
    }
    if matches!((innermost, field), (Some("project"), "phase") | (Some("phase"), "after")) {
        return phases(analysis);
    }
    let Some(schema) = block_schema(&analysis.model.schema, chain).and_then(|b| b.field(field)) else {
        return Vec::new();
    };
    let value = |v: &str| Completion::new(v, CompletionKind::Value, Some(field.to_string()), None);
    match &schema.ty {
        FieldType::Enum(values) => values.iter().map(|v| value(v)).collect(),
        FieldType::Bool => vec![value("true"), value("false")],
        FieldType::Capabilities => Capability::ALL.iter().map(|c| value(c.as_str())).collect(),
        FieldType::Ref(kinds) | FieldType::Refs(kinds) => {
            let mut items = Vec::new();
            if kinds.iter().any(|k| k == "stack") {
                items.extend(item_names(analysis, true));
            }
            if kinds.iter().any(|k| k == "environment") {
                items.extend(item_names(analysis, false));
            }
            items.extend(names(analysis, scope, |kind| kinds.iter().any(|k| k == kind)));
            items
        }
        _ => Vec::new(),
    }
}

fn members(analysis: &Analysis, chain: &[&ast::Block]) -> Vec<Completion> {
    let schema = &analysis.model.schema;
    if chain.is_empty() {
        return schema
            .items
            .iter()
            .map(|i| Completion::new(&i.name, CompletionKind::Kind, Some("item".into()), i.doc.clone()))
            .collect();
    }
    let Some(block) = block_schema(schema, chain) else { return Vec::new() };
    let mut items: Vec<Completion> = block
        .fields
        .iter()
        .filter(|f| f.ty != FieldType::Route)
        .map(|f| Completion::new(f.name, CompletionKind::Field, Some(f.ty.describe()), f.doc.clone()))
        .collect();
    if block.fields.iter().any(|f| f.ty == FieldType::Route) {
        items.push(Completion::new("route", CompletionKind::Field, Some(FieldType::Route.describe()), None));
    }
    items.extend(
        block
            .blocks
            .iter()
            .map(|b| Completion::new(&b.name, CompletionKind::Block, Some("block".into()), b.doc.clone())),
    );
    if chain.len() == 1 && matches!(chain[0].kind.name.as_str(), "stack" | "environment") {
        items.extend(
            schema
                .kinds
                .iter()
                .map(|k| Completion::new(&k.name, CompletionKind::Kind, Some("kind".into()), k.doc.clone())),
        );
    }
    items
}
