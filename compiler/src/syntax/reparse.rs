//! Re-parsing one block after an edit, for editors: a keystroke inside a block
//! changes that block's text alone, so only that block is parsed again and the
//! tree around it is kept, its later spans moved by the change in length.
//!
//! The result is the tree a full parse of the new text gives, or nothing (the
//! caller then parses the whole file). It is used only when that is certain:
//! - the old tree came from a parse without any diagnostic;
//! - the changed bytes lie inside one block, after its first byte and before its
//!   closing `}`, so the text before and after the block lexes as before;
//! - the block's new text parses on its own, without any diagnostic, as exactly one
//!   block spanning all of it (a block parses alike at the top level and nested:
//!   `KIND [LABEL] { entries }`);
//! - it stays clear of the nesting limit, counted from the top of the file.

use super::ast::{Block, BlockLabel, Entry, File, Value, ValueKind};
use super::parser::{parse_text, MAX_NESTING};
use crate::diag::Diagnostics;
use crate::source::Span;

/// A tree made by [`reparse`]: the old tree with one block parsed again.
pub struct Reparsed {
    pub tree: File,
    pub changed: Changed,
}

/// The block that [`reparse`] parsed again.
#[derive(Clone, Debug)]
pub struct Changed {
    /// The replaced block's span in the old text.
    pub old: Span,
    /// The new block's span in the new text (the same start; everything after the
    /// old block's end moved by the change in length).
    pub new: Span,
    /// Where the block is: an index into the items, then into entries.
    path: Vec<usize>,
}

impl Changed {
    /// The block parsed again, in the new tree.
    pub fn block<'a>(&self, tree: &'a File) -> &'a Block {
        at(&tree.items, &self.path)
    }
}

/// The tree of `new_text`, from `old` (the tree of `old_text`, parsed without
/// diagnostics) and one re-parsed block; `None` when the edit is not inside one block
/// or the block does not parse cleanly on its own.
pub fn reparse(old: &File, old_text: &str, new_text: &str) -> Option<Reparsed> {
    let (old_bytes, new_bytes) = (old_text.as_bytes(), new_text.as_bytes());
    let prefix = old_bytes.iter().zip(new_bytes).take_while(|(a, b)| a == b).count();
    let room = old_bytes.len().min(new_bytes.len()) - prefix;
    let suffix = old_bytes.iter().rev().zip(new_bytes.iter().rev()).take(room).take_while(|(a, b)| a == b).count();
    let changed_end = old_bytes.len() - suffix;
    // The innermost block holding the change, with how many blocks and lists enclose it.
    let (path, depth) = innermost(&old.items, prefix, changed_end)?;
    let block = at(&old.items, &path);
    let (start, end) = (block.span.start as usize, block.span.end as usize);
    let delta = new_bytes.len() as i64 - old_bytes.len() as i64;
    let new_end = usize::try_from(end as i64 + delta).ok()?;
    let text = new_text.get(start..new_end)?;
    let mut diags = Diagnostics::new();
    let mut items = parse_text(text, old.file, &mut diags);
    if !diags.is_empty() || items.len() != 1 {
        return None;
    }
    let mut fresh = items.pop()?;
    if fresh.span.start != 0 || fresh.span.end as usize != text.len() || fresh.kind.name == "route" {
        return None;
    }
    if depth + nesting(&fresh) >= MAX_NESTING {
        return None;
    }
    shift_block(&mut fresh, 0, start as i64);
    fresh.doc = block.doc.clone();
    let (old_span, new_span) = (block.span, fresh.span);
    let mut tree = old.clone();
    for item in &mut tree.items {
        shift_block(item, end as u32, delta);
    }
    *at_mut(&mut tree.items, &path) = fresh;
    Some(Reparsed { tree, changed: Changed { old: old_span, new: new_span, path } })
}

/// The path (indexes into items, then into entries) of the innermost block whose
/// text strictly holds `[from, to)`: after its first byte, before its closing `}`.
fn innermost(items: &[Block], from: usize, to: usize) -> Option<(Vec<usize>, usize)> {
    let holds = |b: &Block| (b.span.start as usize) < from && to < b.span.end as usize;
    let i = items.iter().position(holds)?;
    let mut path = vec![i];
    let mut block = &items[i];
    loop {
        let inner = block.entries.iter().enumerate().find_map(|(k, e)| match e {
            Entry::Block(b) if holds(b) => Some((k, b)),
            _ => None,
        });
        match inner {
            Some((k, b)) => {
                path.push(k);
                block = b;
            }
            None => break,
        }
    }
    // The blocks enclosing the innermost one.
    let depth = path.len() - 1;
    Some((path, depth))
}

fn at<'a>(items: &'a [Block], path: &[usize]) -> &'a Block {
    let mut block = &items[path[0]];
    for &k in &path[1..] {
        let Entry::Block(b) = &block.entries[k] else { unreachable!("a path names blocks only") };
        block = b;
    }
    block
}

fn at_mut<'a>(items: &'a mut [Block], path: &[usize]) -> &'a mut Block {
    let mut block = &mut items[path[0]];
    for &k in &path[1..] {
        let Entry::Block(b) = &mut block.entries[k] else { unreachable!("a path names blocks only") };
        block = b;
    }
    block
}

/// How deep blocks and lists nest in `block`, itself included.
fn nesting(block: &Block) -> usize {
    fn value(v: &Value) -> usize {
        match &v.kind {
            ValueKind::List(items) => 1 + items.iter().map(value).max().unwrap_or(0),
            _ => 0,
        }
    }
    let inner = block
        .entries
        .iter()
        .map(|e| match e {
            Entry::Block(b) => nesting(b),
            Entry::Field(f) => value(&f.value),
            Entry::Route(_) => 0,
        })
        .max()
        .unwrap_or(0);
    1 + inner
}

fn shift_block(block: &mut Block, from: u32, delta: i64) {
    block.span.shift(from, delta);
    block.kind.span.shift(from, delta);
    match &mut block.label {
        Some(BlockLabel::Name(it)) => it.span.shift(from, delta),
        Some(BlockLabel::Str(it)) => it.span.shift(from, delta),
        None => {}
    }
    for entry in &mut block.entries {
        match entry {
            Entry::Block(b) => shift_block(b, from, delta),
            Entry::Field(f) => {
                f.span.shift(from, delta);
                f.name.span.shift(from, delta);
                shift_value(&mut f.value, from, delta);
            }
            Entry::Route(r) => {
                r.span.shift(from, delta);
                r.path.span.shift(from, delta);
                r.target.span.shift(from, delta);
                if let Some((_, span)) = &mut r.port {
                    span.shift(from, delta);
                }
            }
        }
    }
}

fn shift_value(value: &mut Value, from: u32, delta: i64) {
    value.span.shift(from, delta);
    match &mut value.kind {
        ValueKind::Path(parts) => parts.iter_mut().for_each(|p| p.span.shift(from, delta)),
        ValueKind::List(items) => items.iter_mut().for_each(|v| shift_value(v, from, delta)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Sources;

    fn parse(text: &str) -> (File, usize) {
        let mut sources = Sources::new();
        sources.add("a.gov", text);
        let id = sources.iter().next().expect("a file").0;
        let mut diags = Diagnostics::new();
        let file = super::super::parse_file(&sources, id, &mut diags);
        (file, diags.len())
    }

    /// The re-parsed tree equals a full parse, or there is none.
    fn check(old: &str, new: &str) -> bool {
        let (before, errors) = parse(old);
        assert_eq!(errors, 0, "the old text parses cleanly");
        let (full, new_errors) = parse(new);
        match reparse(&before, old, new) {
            Some(reparsed) => {
                assert_eq!(new_errors, 0, "a re-parse only ever stands for a clean parse: {new:?}");
                assert_eq!(reparsed.tree, full, "{old:?} -> {new:?}");
                let changed = &reparsed.changed;
                assert_eq!(changed.block(&reparsed.tree).span, changed.new, "the block is where it says");
                assert_eq!(changed.new.start, changed.old.start);
                assert_eq!(changed.new.end as i64 - changed.old.end as i64, new.len() as i64 - old.len() as i64);
                true
            }
            None => false,
        }
    }

    const OLD: &str = "project p { phase = \"build\" }\n\nstack s {\n  ## the api\n  service api {\n    port = 8080\n    env { A = \"x\"  B = [1, 2] }\n  }\n  service web { port = 80 }\n}\n\nenvironment dev { stack = s }\n";

    #[test]
    fn an_edit_inside_a_block_reparses_that_block_alone() {
        assert!(check(OLD, &OLD.replace("8080", "8081")));
        assert!(check(OLD, &OLD.replace("8080", "80800")));
        assert!(check(OLD, &OLD.replace("8080", "1")));
        assert!(check(OLD, &OLD.replace("A = \"x\"", "A = \"xyz\"  C = api.host")));
        assert!(check(OLD, &OLD.replace("port = 80 }", "port = 80  replicas = 2..4 }")));
        assert!(check(OLD, &OLD.replace("phase = \"build\"", "phase = \"wire\"")));
    }

    #[test]
    fn edits_that_cross_blocks_or_break_them_parse_the_whole_file() {
        // A new brace, an unterminated string, a comment eating the closing brace.
        assert!(!check(OLD, &OLD.replace("port = 80 }", "port = 80 } }")));
        assert!(!check(OLD, &OLD.replace("\"x\"", "\"x")));
        assert!(!check(OLD, &OLD.replace("port = 80 }", "port = 80 # }")));
        // Outside any block, at an item's first byte or in a doc comment before an item.
        assert!(!check(OLD, &OLD.replace("\n\nenvironment", "\n\n\nenvironment")));
        assert!(!check(OLD, &OLD.replace("stack s", "xstack s")));
        assert!(!check(OLD, &OLD.replace("environment dev { stack = s }", "environment dev { stack = s }}")));
        // At a nested block's first byte, or in its doc comment: the enclosing block.
        assert!(check(OLD, &OLD.replace("service web", "xservice web")));
        assert!(check(OLD, &OLD.replace("## the api", "## the API")));
        // Broken inside: the full parse reports it.
        assert!(!check(OLD, &OLD.replace("port = 8080", "port = ")));
    }

    #[test]
    fn spans_after_the_block_move_and_spans_before_stay() {
        let new = OLD.replace("8080", "80800");
        let (before, _) = parse(OLD);
        let tree = reparse(&before, OLD, &new).expect("a block re-parse").tree;
        let (full, _) = parse(&new);
        assert_eq!(tree.items[2].span, full.items[2].span);
        assert_eq!(tree.items[0].span, before.items[0].span);
        assert_eq!(tree.items[2].span.start, before.items[2].span.start + 1);
    }
}
