//! Editor fixes the model cannot compute without the source layout: E204 ("add a
//! missing required field") becomes an edit inserting the help's entry as a new
//! line before the closing brace of the block the diagnostic points at, indented
//! like its siblings.
//!
//! Only diagnostics without fixes are touched, and only when the help is exactly
//! ``add `ENTRY` `` and `ENTRY` names a field or block of that block's schema (so
//! a field of a stack's resource reported at an environment's head gets no fix).
//!
//! A "did you mean `NAME`?" needs nothing here: the library attaches its
//! replacement wherever it suggests a name (`model::suggest`).

use super::{block_schema, enclosing_blocks};
use crate::diag::{Code, Diagnostic, Edit};
use std::borrow::Borrow;

use crate::model::schema::{FieldType, Schema};
use crate::source::{Sources, Span};
use crate::syntax::ast;

pub(super) fn add_missing_field_fixes(
    sources: &Sources,
    files: &[impl Borrow<ast::File>],
    schema: &Schema,
    diagnostics: &mut [Diagnostic],
) {
    for d in diagnostics.iter_mut().filter(|d| d.code == Code::E204 && d.fixes.is_empty()) {
        let Some(entry) = d.help.as_deref().and_then(|h| h.strip_prefix("add `")).and_then(|h| h.strip_suffix('`'))
        else {
            continue;
        };
        if entry.contains('`') {
            continue;
        }
        if let Some(edit) = insertion(sources, files, schema, d.span(), entry) {
            d.fixes.push(crate::diag::Fix { message: format!("add `{entry}`"), edits: vec![edit] });
        }
    }
}

/// The edit adding `entry` to the block whose head is `head`.
fn insertion(
    sources: &Sources,
    files: &[impl Borrow<ast::File>],
    schema: &Schema,
    head: Span,
    entry: &str,
) -> Option<Edit> {
    let tree = files.get(head.file.0 as usize)?.borrow();
    let chain = enclosing_blocks(tree, head.start as usize);
    let depth = chain.iter().position(|b| b.head_span() == head)?;
    let chain = &chain[..=depth];
    let block = chain[depth];
    let member = entry.split([' ', '=']).next().unwrap_or_default();
    let block_schema = block_schema(schema, chain)?;
    let known = block_schema.member_names().any(|m| m == member)
        && (member != "route" || block_schema.fields.iter().any(|f| f.ty == FieldType::Route));
    if !known {
        return None;
    }
    let text = &sources.get(head.file).text;
    let end = block.span.end as usize;
    if end == 0 || text.as_bytes().get(end - 1) != Some(&b'}') {
        return None;
    }
    let close = end - 1;
    let head_line = text[..block.span.start as usize].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[head_line..].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    let body = &text[block.span.start as usize..close];
    if body.contains('\n') {
        let close_line = text[..close].rfind('\n').map_or(0, |i| i + 1);
        if !text[close_line..close].trim().is_empty() {
            // `... }` on a line of its own content: insert on a new line before the brace.
            return Some(Edit {
                span: Span::new(head.file, close, close),
                text: format!("\n{indent}  {entry}\n{indent}"),
            });
        }
        return Some(Edit { span: Span::new(head.file, close_line, close_line), text: format!("{indent}  {entry}\n") });
    }
    // One line: `service api { port = 1 }` → `service api { port = 1  image = ... }`.
    let content_end = text[..close].trim_end().len();
    let sep = if text[..content_end].ends_with('{') { " " } else { "  " };
    Some(Edit { span: Span::new(head.file, content_end, content_end), text: format!("{sep}{entry}") })
}
