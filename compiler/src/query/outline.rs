//! The outline of a file: its symbols (items, resources, nested blocks) and the
//! regions an editor may fold (multi-line blocks and runs of comment lines).

use crate::source::SourceFile;
use crate::syntax::ast;
use crate::Span;

/// One symbol of a file's outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutlineSymbol {
    /// `shop`, `storefront`, or the kind of an unlabelled block (`aws`).
    pub name: String,
    /// The block's kind: `stack`, `service`, `aws` ...
    pub kind: String,
    /// The whole block.
    pub span: Span,
    /// The name (or the kind of an unlabelled block).
    pub selection: Span,
    pub children: Vec<OutlineSymbol>,
}

/// The blocks of `file` as a tree of symbols.
pub fn symbols(file: &ast::File) -> Vec<OutlineSymbol> {
    fn symbol(block: &ast::Block) -> OutlineSymbol {
        let (name, selection) = match &block.label {
            Some(label) => (label.text().to_string(), label.span()),
            None => (block.kind.name.clone(), block.kind.span),
        };
        let children = block
            .entries
            .iter()
            .filter_map(|e| match e {
                ast::Entry::Block(b) => Some(symbol(b)),
                _ => None,
            })
            .collect();
        OutlineSymbol { name, kind: block.kind.name.clone(), span: block.span, selection, children }
    }
    file.items.iter().map(symbol).collect()
}

/// Foldable regions as 0-based `(first line, last line)`: every block spanning
/// several lines and every run of two or more comment lines.
pub fn folding_ranges(source: &SourceFile, file: &ast::File) -> Vec<(u32, u32)> {
    fn blocks(source: &SourceFile, block: &ast::Block, out: &mut Vec<(u32, u32)>) {
        let (start, _) = source.lsp_position(block.span.start as usize);
        let (end, _) = source.lsp_position(block.span.end as usize);
        if end > start {
            out.push((start, end));
        }
        for entry in &block.entries {
            if let ast::Entry::Block(b) = entry {
                blocks(source, b, out);
            }
        }
    }
    let mut out = Vec::new();
    for item in &file.items {
        blocks(source, item, &mut out);
    }
    let mut run: Option<(u32, u32)> = None;
    for (i, line) in source.text.lines().enumerate().map(|(i, l)| (i as u32, l)) {
        if line.trim_start().starts_with('#') {
            run = Some(run.map_or((i, i), |(s, _)| (s, i)));
            continue;
        }
        if let Some((s, e)) = run.take().filter(|(s, e)| e > s) {
            out.push((s, e));
        }
    }
    if let Some((s, e)) = run.filter(|(s, e)| e > s) {
        out.push((s, e));
    }
    out.sort_unstable();
    out
}
