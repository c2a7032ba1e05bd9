//! Minimal text edits over the lossless tree: replace a field's value, insert an
//! entry into a block, set a field (replace or insert). Every edit touches only
//! the bytes it must, so comments, blank lines and the layout of everything else
//! survive; the inserted text follows the canonical layout of `govc fmt` (the
//! block's indentation, one entry a line, or `  ` between entries of a block
//! written on one line), so editing a formatted file leaves it formatted.

use std::ops::Range;

use super::cst::{Block, Field};

/// Replace the bytes of `range` with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub range: Range<usize>,
    pub text: String,
}

/// Applies non-overlapping `edits` to `text` (in any order).
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> String {
    let mut sorted: Vec<&TextEdit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for edit in sorted {
        let start = edit.range.start.clamp(pos, text.len());
        out.push_str(&text[pos..start]);
        out.push_str(&edit.text);
        pos = edit.range.end.clamp(start, text.len());
    }
    out.push_str(&text[pos..]);
    out
}

impl Field<'_> {
    /// Replaces the value with `value` (written as it should appear, such as
    /// `"db.t4g.large"` or `3..6`); inserts it after `=` when the value is missing.
    pub fn replace_value(&self, value: &str) -> TextEdit {
        match (self.value(), self.eq_token()) {
            (Some(old), _) => TextEdit { range: old.range(), text: value.to_string() },
            (None, Some(eq)) => TextEdit { range: eq.range().end..eq.range().end, text: format!(" {value}") },
            (None, None) => {
                let end = self.range().end;
                TextEdit { range: end..end, text: format!(" = {value}") }
            }
        }
    }
}

impl Block<'_> {
    /// Inserts `name = value` as the block's last entry; `None` when the block is left open.
    pub fn insert_field(&self, name: &str, value: &str) -> Option<TextEdit> {
        self.insert_entry(&format!("{name} = {value}"))
    }

    /// Replaces the value of the field `name`, or inserts the field when it is absent.
    pub fn set_field(&self, name: &str, value: &str) -> Option<TextEdit> {
        match self.field(name) {
            Some(field) => Some(field.replace_value(value)),
            None => self.insert_field(name, value),
        }
    }

    /// Inserts `entry` (a field, route or block, written at column 0; its later
    /// lines are indented with it) after the block's last entry; `None` when the
    /// block is left open.
    pub fn insert_entry(&self, entry: &str) -> Option<TextEdit> {
        let text = self.tree().text();
        let (l_brace, r_brace) = (self.l_brace()?, self.r_brace()?);
        let entries = self.entries();
        if self.is_one_line() && !entry.contains('\n') {
            return Some(match entries.last() {
                Some(last) => TextEdit { range: last.range().end..last.range().end, text: format!("  {entry}") },
                None => TextEdit { range: l_brace.range().end..r_brace.range().start, text: format!(" {entry} ") },
            });
        }
        let block_indent = line_indent(text, self.range().start);
        let inner = format!("{block_indent}  ");
        let indented = entry.replace('\n', &format!("\n{inner}"));
        // After the last entry's line (its trailing comment included), or after the `{` line.
        let (after, indent) = match entries.last() {
            Some(last) => {
                let start = last.range().start;
                let first_on_line = text[..start].rsplit('\n').next().is_some_and(|p| p.trim().is_empty());
                (last.range().end, if first_on_line { line_indent(text, start).to_string() } else { inner })
            }
            None => (l_brace.range().end, inner),
        };
        let line_end = text[after..r_brace.range().start].find('\n').map(|n| after + n);
        Some(match line_end {
            Some(at) => TextEdit { range: at..at, text: format!("\n{indent}{indented}") },
            // The closer is on the same line: break before it.
            None => {
                let at = r_brace.range().start;
                let before = text[..at].trim_end_matches([' ', '\t']).len();
                TextEdit { range: before..at, text: format!("\n{indent}{indented}\n{block_indent}") }
            }
        })
    }
}

/// The whitespace at the start of the line holding `offset`.
fn line_indent(text: &str, offset: usize) -> &str {
    let line_start = text[..offset].rfind('\n').map_or(0, |n| n + 1);
    let rest = &text[line_start..];
    let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..n]
}
