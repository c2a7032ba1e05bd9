//! Request handlers: each takes the current analysis of the document's project
//! and the document's path relative to the root, and returns the protocol answer.
//! They are pure over the analysis, so the tests call them directly.

use std::path::Path;

use govc::query::{self, Analysis, CompletionKind, OutlineSymbol, Role};
use govc::source::Origin;
use govc::FileId;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CompletionItem, CompletionItemKind, DocumentSymbol, Documentation,
    FoldingRange, FoldingRangeKind, GotoDefinitionResponse, Hover, HoverContents, Location, MarkupContent, MarkupKind,
    Position, Range, SymbolKind, TextEdit, Url, WorkspaceEdit,
};

use crate::position::{offset, position, span_range};

/// A formatter: the formatted text, or an error when the text does not parse.
pub type Formatter = fn(&str) -> Result<String, String>;

/// The file of `rel` in the analysis.
pub fn file_id(analysis: &Analysis, rel: &str) -> Option<FileId> {
    analysis.sources.iter().find(|(_, f)| f.origin == Origin::Project && f.path == rel).map(|(id, _)| id)
}

fn byte_offset(analysis: &Analysis, file: FileId, at: Position) -> usize {
    offset(&analysis.sources.get(file).text, at)
}

fn location(analysis: &Analysis, root: &Path, span: govc::Span) -> Option<Location> {
    let file = analysis.sources.get(span.file);
    if file.origin != Origin::Project {
        return None; // The stdlib has no file to open.
    }
    let uri = Url::from_file_path(root.join(&file.path)).ok()?;
    Some(Location { uri, range: span_range(&analysis.sources, span) })
}

pub fn hover(analysis: &Analysis, file: FileId, at: Position) -> Option<Hover> {
    let (span, text) = query::hover(analysis, file, byte_offset(analysis, file, at))?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text }),
        range: Some(span_range(&analysis.sources, span)),
    })
}

pub fn definition(analysis: &Analysis, root: &Path, file: FileId, at: Position) -> Option<GotoDefinitionResponse> {
    let occurrence = analysis.index().at(file, byte_offset(analysis, file, at))?;
    let locations: Vec<Location> =
        analysis.index().definition(occurrence).iter().filter_map(|o| location(analysis, root, o.span)).collect();
    (!locations.is_empty()).then_some(GotoDefinitionResponse::Array(locations))
}

pub fn references(analysis: &Analysis, root: &Path, file: FileId, at: Position, declarations: bool) -> Vec<Location> {
    let Some(occurrence) = analysis.index().at(file, byte_offset(analysis, file, at)) else { return Vec::new() };
    analysis
        .index()
        .references(&occurrence.target, declarations)
        .into_iter()
        .filter(|o| declarations || o.role == Role::Reference)
        .filter_map(|o| location(analysis, root, o.span))
        .collect()
}

pub fn completion(analysis: &Analysis, file: FileId, at: Position) -> Vec<CompletionItem> {
    query::completions(analysis, file, byte_offset(analysis, file, at))
        .into_iter()
        .map(|c| CompletionItem {
            kind: Some(match c.kind {
                CompletionKind::Kind => CompletionItemKind::CLASS,
                CompletionKind::Field => CompletionItemKind::FIELD,
                CompletionKind::Block => CompletionItemKind::STRUCT,
                CompletionKind::Name => CompletionItemKind::REFERENCE,
                CompletionKind::Value => CompletionItemKind::ENUM_MEMBER,
                CompletionKind::Phase => CompletionItemKind::CONSTANT,
                CompletionKind::Attribute => CompletionItemKind::PROPERTY,
            }),
            detail: c.detail,
            documentation: c
                .doc
                .map(|d| Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value: d })),
            label: c.label,
            ..Default::default()
        })
        .collect()
}

fn symbol_kind(kind: &str) -> SymbolKind {
    match kind {
        "project" => SymbolKind::PACKAGE,
        "phase" => SymbolKind::EVENT,
        "stack" => SymbolKind::CLASS,
        "environment" => SymbolKind::NAMESPACE,
        "network" | "postgres" | "service" | "ingress" | "secret" => SymbolKind::OBJECT,
        _ => SymbolKind::STRUCT,
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written.
fn document_symbol(analysis: &Analysis, s: OutlineSymbol) -> DocumentSymbol {
    DocumentSymbol {
        name: s.name,
        detail: Some(s.kind.clone()),
        kind: symbol_kind(&s.kind),
        tags: None,
        deprecated: None,
        range: span_range(&analysis.sources, s.span),
        selection_range: span_range(&analysis.sources, s.selection),
        children: Some(s.children.into_iter().map(|c| document_symbol(analysis, c)).collect()),
    }
}

pub fn document_symbols(analysis: &Analysis, file: FileId) -> Vec<DocumentSymbol> {
    let tree = &analysis.files[file.0 as usize];
    query::symbols(tree).into_iter().map(|s| document_symbol(analysis, s)).collect()
}

pub fn folding_ranges(analysis: &Analysis, file: FileId) -> Vec<FoldingRange> {
    let source = analysis.sources.get(file);
    let is_comment =
        |line: u32| source.text.lines().nth(line as usize).is_some_and(|l| l.trim_start().starts_with('#'));
    query::folding_ranges(source, &analysis.files[file.0 as usize])
        .into_iter()
        .map(|(start, end)| FoldingRange {
            start_line: start,
            end_line: end,
            kind: Some(if is_comment(start) { FoldingRangeKind::Comment } else { FoldingRangeKind::Region }),
            ..Default::default()
        })
        .collect()
}

/// The whole-document edit that formats `text`; `None` when it does not parse,
/// no edit when it is already formatted.
pub fn formatting(text: &str, formatter: Formatter) -> Option<Vec<TextEdit>> {
    let formatted = formatter(text).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    let range = Range { start: Position::default(), end: position(text, text.len()) };
    Some(vec![TextEdit { range, new_text: formatted }])
}

fn overlaps(a: Range, b: Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// A quick fix for every fix of every diagnostic of `file` touching `range`.
pub fn code_actions(analysis: &Analysis, root: &Path, file: FileId, range: Range) -> Vec<CodeActionOrCommand> {
    let Some(uri) = Url::from_file_path(root.join(&analysis.sources.get(file).path)).ok() else { return Vec::new() };
    let mut actions = Vec::new();
    for d in analysis.diagnostics.iter().filter(|d| !d.fixes.is_empty() && d.span().file == file) {
        let diagnostic = crate::diagnostics::to_lsp(analysis, root, d);
        if !overlaps(diagnostic.range, range) {
            continue;
        }
        for (i, fix) in d.fixes.iter().enumerate() {
            let edits: Vec<TextEdit> = fix
                .edits
                .iter()
                .map(|e| TextEdit { range: span_range(&analysis.sources, e.span), new_text: e.text.clone() })
                .collect();
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: fix.message.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic.clone()]),
                edit: Some(WorkspaceEdit {
                    changes: Some([(uri.clone(), edits)].into_iter().collect()),
                    ..Default::default()
                }),
                is_preferred: Some(i == 0),
                ..Default::default()
            }));
        }
    }
    actions
}

#[cfg(test)]
mod tests;
