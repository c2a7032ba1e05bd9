//! Hover: what the name, kind or field under the cursor is, in Markdown.
//!
//! A kind or field shows its stdlib doc comment, type, default, range, unit and
//! capability; a name shows what it resolves to; a field of a resource shows its
//! merged value in each environment and where that value comes from (the stack,
//! the environment or the default).

use std::fmt::Write;

use super::{block_schema, enclosing_blocks, scope_of, Analysis, Occurrence, Role, Scope, Target};
use crate::model::body::Body;
use crate::model::schema::{BlockSchema, FieldSchema, Required};
use crate::model::values::Val;
use crate::model::Environment;
use crate::source::{FileId, Span};
use crate::syntax::ast;

/// The hover text at `offset` in `file` and the span it describes.
pub fn hover(analysis: &Analysis, file: FileId, offset: usize) -> Option<(Span, String)> {
    if let Some(occurrence) = analysis.index().at(file, offset) {
        return Some(name(analysis, occurrence, offset));
    }
    let tree = analysis.files.get(file.0 as usize)?;
    let chain = enclosing_blocks(tree, offset);
    let innermost = chain.last()?;
    let covers = |s: Span| s.start as usize <= offset && offset <= s.end as usize;
    if covers(innermost.kind.span) {
        let schema = block_schema(&analysis.model.schema, &chain)?;
        return Some((innermost.kind.span, block_doc(&innermost.kind.name, schema)));
    }
    let field = innermost.entries.iter().find_map(|e| match e {
        ast::Entry::Field(f) if covers(f.name.span) => Some(f),
        _ => None,
    })?;
    let schema = block_schema(&analysis.model.schema, &chain)?.field(&field.name.name)?;
    let mut text = field_doc(schema);
    merged_values(analysis, &chain, &field.name.name, &mut text);
    Some((field.name.span, text))
}

/// The markdown of a kind or nested block.
fn block_doc(name: &str, schema: &BlockSchema) -> String {
    let mut text = format!("```gov\n{name}\n```\n");
    if let Some(doc) = &schema.doc {
        let _ = write!(text, "\n{doc}\n");
    }
    let _ = write!(text, "\n- capability: `{}`", schema.own_capability());
    if let Some(required) = schema.required.filter(|r| *r != Required::No) {
        let _ = write!(text, "\n- required: {}", required_text(required));
    }
    if !schema.attributes.is_empty() {
        let names: Vec<String> = schema.attributes.iter().map(|(n, _)| format!("`{n}`")).collect();
        let _ = write!(text, "\n- attributes: {}", names.join(", "));
    }
    text
}

fn required_text(required: Required) -> &'static str {
    match required {
        Required::No => "no",
        Required::Always => "yes",
        Required::Cloud => "outside `tier = local`",
    }
}

/// The markdown of a field's schema.
fn field_doc(schema: &FieldSchema) -> String {
    let mut text = format!("```gov\n{}\n```\n", schema.name);
    if let Some(doc) = &schema.doc {
        let _ = write!(text, "\n{doc}\n");
    }
    let _ = write!(text, "\n- type: {}", schema.ty.describe());
    if let Some(default) = &schema.default {
        let _ = write!(text, "\n- default: `{}`", val_text(default));
    }
    match (&schema.min, &schema.max) {
        (Some(min), Some(max)) => {
            let _ = write!(text, "\n- range: `{}` to `{}`", val_text(min), val_text(max));
        }
        (Some(min), None) => {
            let _ = write!(text, "\n- minimum: `{}`", val_text(min));
        }
        (None, Some(max)) => {
            let _ = write!(text, "\n- maximum: `{}`", val_text(max));
        }
        (None, None) => {}
    }
    if let Some((_, unit)) = &schema.unit {
        let _ = write!(text, "\n- in whole multiples of `1{unit}`");
    }
    let _ = write!(text, "\n- capability: `{}`", schema.capability);
    if schema.required != Required::No {
        let _ = write!(text, "\n- required: {}", required_text(schema.required));
    }
    text
}

/// A typed value as it would be written.
pub fn val_text(value: &Val) -> String {
    fn scaled(n: u64, units: &[(&str, u64)]) -> String {
        units
            .iter()
            .find(|(_, size)| n != 0 && n % size == 0)
            .map(|(u, size)| format!("{}{u}", n / size))
            .unwrap_or_else(|| format!("{n}{}", units.last().map(|(u, _)| *u).unwrap_or("")))
    }
    match value {
        Val::Str(s) => format!("{s:?}"),
        Val::Int(n) => n.to_string(),
        Val::Bool(b) => b.to_string(),
        Val::Bytes(n) => {
            scaled(*n, &[("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)])
        }
        Val::Seconds(n) => scaled(*n, &[("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)]),
        Val::Millicores(n) if n % 1000 == 0 => (n / 1000).to_string(),
        Val::Millicores(n) => format!("{n}m"),
        Val::Cidr(net) => net.to_string(),
        Val::Range(min, max) if min == max => min.to_string(),
        Val::Range(min, max) => format!("{min}..{max}"),
        Val::Enum(s) => s.clone(),
        Val::Ref(r) => r.name.clone(),
        Val::Refs(refs) => format!("[{}]", refs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")),
        Val::Strings(items) => {
            format!("[{}]", items.iter().map(|(s, _)| format!("{s:?}")).collect::<Vec<_>>().join(", "))
        }
        Val::Env(entries) => format!("{{ {} entries }}", entries.len()),
        Val::Caps(caps) => format!("[{}]", caps.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")),
        Val::Invalid => "(invalid)".to_string(),
    }
}

/// The body a chain of blocks denotes in one environment after the merge: the
/// environment's own body, a resource's or a nested block of either.
fn merged_body<'a>(env: &'a Environment, chain: &[&ast::Block]) -> Option<&'a Body> {
    let (_, rest) = chain.split_first()?;
    let mut body = &env.body;
    for (i, block) in rest.iter().enumerate() {
        body = match (&block.label, i) {
            (Some(label), 0) => &env.resource(label.text())?.1.body,
            _ => &body.block(&block.kind.name)?.body,
        };
    }
    Some(body)
}

/// Appends the field's value in every environment the chain's scope reaches.
fn merged_values(analysis: &Analysis, chain: &[&ast::Block], field: &str, text: &mut String) {
    let envs: Vec<String> = match scope_of(chain) {
        Some(Scope::Environment(e)) => vec![e],
        Some(Scope::Stack(s)) => {
            analysis.index().env_stack.iter().filter(|(_, stack)| **stack == s).map(|(e, _)| e.clone()).collect()
        }
        None => return,
    };
    let default =
        block_schema(&analysis.model.schema, chain).and_then(|b| b.field(field)).and_then(|f| f.default.clone());
    let mut lines = Vec::new();
    for name in envs {
        let Some(env) = analysis.model.environment(&name) else { continue };
        let Some(body) = merged_body(env, chain) else { continue };
        let line = match body.field(field) {
            Some(f) => {
                let origin = if env.owns(f.span) { "set by the environment" } else { "from the stack" };
                format!("- `{name}`: `{}` ({origin})", analysis.sources.slice(f.value_span))
            }
            None => match &default {
                Some(d) => format!("- `{name}`: `{}` (default)", val_text(d)),
                None => format!("- `{name}`: not set"),
            },
        };
        lines.push(line);
    }
    if !lines.is_empty() {
        let _ = write!(text, "\n\n**Merged value**\n{}", lines.join("\n"));
    }
}

/// Finds the block whose span is `span` (a definition's `full_span`).
fn block_at(analysis: &Analysis, span: Span) -> Option<&ast::Block> {
    fn find<'a>(blocks: &mut dyn Iterator<Item = &'a ast::Block>, span: Span) -> Option<&'a ast::Block> {
        for b in blocks {
            if b.span == span {
                return Some(b);
            }
            if b.span.start <= span.start && span.end <= b.span.end {
                let mut inner = b.entries.iter().filter_map(|e| match e {
                    ast::Entry::Block(b) => Some(b),
                    _ => None,
                });
                return find(&mut inner, span);
            }
        }
        None
    }
    find(&mut analysis.files.get(span.file.0 as usize)?.items.iter(), span)
}

fn describe(target: &Target, kind: Option<&str>) -> String {
    match target {
        Target::Project => "project".to_string(),
        Target::Phase(p) => format!("phase `{p}`"),
        Target::Stack(s) => format!("stack `{s}`"),
        Target::Environment(e) => format!("environment `{e}`"),
        Target::Resource { scope, name } => {
            let where_ = match scope {
                Scope::Stack(s) => format!("stack `{s}`"),
                Scope::Environment(e) => format!("environment `{e}`"),
            };
            format!("{} `{name}` (declared in {where_})", kind.unwrap_or("resource"))
        }
    }
}

/// Hover on a name: what it denotes and, for a resource, its merged fields.
fn name(analysis: &Analysis, occurrence: &Occurrence, offset: usize) -> (Span, String) {
    let index = &analysis.index();
    let definition = index.occurrences.iter().find(|o| o.target == occurrence.target && o.role == Role::Definition);
    let kind = definition.and_then(|d| d.kind.clone()).or_else(|| occurrence.kind.clone());
    if let Some((attr, span)) = &occurrence.attr {
        if span.start as usize <= offset {
            let doc = kind
                .as_deref()
                .and_then(|k| analysis.model.schema.kind(k))
                .and_then(|k| k.attributes.iter().find(|(n, _)| n == attr))
                .and_then(|(_, d)| d.clone())
                .unwrap_or_default();
            let text = format!("attribute `{attr}` of {}\n\n{doc}", describe(&occurrence.target, kind.as_deref()));
            return (*span, text);
        }
    }
    let mut text = match occurrence.role {
        Role::Reference => {
            format!("`{}` → {}", analysis.sources.slice(occurrence.span), describe(&occurrence.target, kind.as_deref()))
        }
        Role::Refinement => format!("refines {}", describe(&occurrence.target, kind.as_deref())),
        Role::Definition => describe(&occurrence.target, kind.as_deref()),
    };
    if let Some(doc) = definition.and_then(|d| block_at(analysis, d.full_span)).and_then(|b| b.doc.as_ref()) {
        let _ = write!(text, "\n\n{doc}");
    }
    let envs = index.environments_of(&occurrence.target);
    if !envs.is_empty() {
        let names: Vec<String> = envs.iter().map(|e| format!("`{e}`")).collect();
        let _ = write!(text, "\n\nin environments {}", names.join(", "));
    }
    // In an environment, the resource after the merge: each field and its origin.
    let tree = &analysis.files[occurrence.span.file.0 as usize];
    let chain = enclosing_blocks(tree, occurrence.span.start as usize);
    if let (Some(Scope::Environment(e)), Target::Resource { name, .. }) = (scope_of(&chain), &occurrence.target) {
        if let Some((_, res)) = analysis.model.environment(&e).and_then(|env| env.resource(name).map(|r| (env, r))) {
            let env = analysis.model.environment(&e).expect("found above");
            let lines: Vec<String> = res
                .1
                .body
                .fields
                .iter()
                .map(|f| {
                    let origin = if env.owns(f.span) { "environment" } else { "stack" };
                    format!("- `{} = {}` ({origin})", f.name, analysis.sources.slice(f.value_span))
                })
                .collect();
            if !lines.is_empty() {
                let _ = write!(text, "\n\n**In `{e}`**\n{}", lines.join("\n"));
            }
        }
    }
    (occurrence.span, text)
}
