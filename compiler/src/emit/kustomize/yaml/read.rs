//! Reads back what the writer wrote: the text of one document of this module's own
//! block style (two spaces per level, sequences indented under their key, plain scalars
//! only for safe tokens, literal blocks, JSON-style double quotes) into the tree that
//! writes it. Not a YAML parser: it trusts its input, and text of another style reads
//! as some other tree or as `None`.
//!
//! An object written straight to text ([`super::MapWriter`]) is read back only where a
//! tree is needed: compared with an object that is a tree, renamed, or the value of a
//! patch's operation.

use std::borrow::Cow;

use super::Yaml;

/// The tree of a document [`super::push_map_document`] or [`super::push_document`]
/// wrote (`---` first), or `None` when the text is not of the writer's style.
pub fn document(text: &str) -> Option<Yaml> {
    let body = text.strip_prefix("---\n")?;
    let mut lines: Vec<Line> = body.split_inclusive('\n').map(Line::new).collect();
    if lines.is_empty() {
        return None;
    }
    let mut reader = Reader { lines: &mut lines, at: 0 };
    let value = if reader.lines[0].indent == 0 && is_scalar_line(reader.lines[0].text) {
        let text = reader.lines[0].text;
        reader.at = 1;
        reader.inline(text, 2)?
    } else {
        reader.block(0)?
    };
    (reader.at == reader.lines.len()).then_some(value)
}

/// A value the writer wrote below a map key or after a sequence's `- `: `head` is the
/// rest of its line, `block` the whole lines below that belong to it, `indent` the
/// indentation of its entries, items or literal lines; `item_map`: a sequence item that
/// is a map, whose first entry is `head`.
pub fn value(head: &str, block: &str, indent: usize, item_map: bool) -> Option<Yaml> {
    let mut lines: Vec<Line> = Vec::new();
    if item_map {
        lines.push(Line { indent, text: head, raw: head });
    }
    lines.extend(block.split_inclusive('\n').map(Line::new));
    let mut reader = Reader { lines: &mut lines, at: 0 };
    let value = if item_map {
        reader.map(indent)?
    } else if head.is_empty() {
        reader.block(indent)?
    } else {
        reader.inline(head, indent)?
    };
    (reader.at == reader.lines.len()).then_some(value)
}

/// One line: its indentation and what follows it, without the line break.
#[derive(Clone, Copy)]
struct Line<'t> {
    indent: usize,
    text: &'t str,
    /// The whole line (a literal block keeps the spaces past its indentation).
    raw: &'t str,
}

impl<'t> Line<'t> {
    fn new(raw: &'t str) -> Line<'t> {
        let raw = raw.strip_suffix('\n').unwrap_or(raw);
        let text = raw.trim_start_matches(' ');
        Line { indent: raw.len() - text.len(), text, raw }
    }
}

/// A top-level value written on one line: a scalar or `{}`/`[]`, not a map entry or item.
fn is_scalar_line(text: &str) -> bool {
    !text.starts_with("- ") && text != "-" && split_key(text).is_none()
}

struct Reader<'l, 't> {
    lines: &'l mut [Line<'t>],
    at: usize,
}

impl<'t> Reader<'_, 't> {
    fn peek(&self) -> Option<Line<'t>> {
        self.lines.get(self.at).copied()
    }

    /// The map or sequence whose first line is at `indent`.
    fn block(&mut self, indent: usize) -> Option<Yaml> {
        let first = self.peek().filter(|l| l.indent == indent)?;
        if first.text == "-" || first.text.starts_with("- ") {
            self.seq(indent)
        } else {
            self.map(indent)
        }
    }

    fn map(&mut self, indent: usize) -> Option<Yaml> {
        let mut entries = Vec::new();
        while let Some(line) = self.peek().filter(|l| l.indent == indent && !l.text.starts_with('-')) {
            let (key, rest) = split_key(line.text)?;
            self.at += 1;
            let value = match rest {
                "" => self.block(indent + 2)?,
                rest => self.inline(rest, indent + 2)?,
            };
            entries.push((Cow::Owned(key), value));
        }
        Some(Yaml::Map(entries))
    }

    fn seq(&mut self, indent: usize) -> Option<Yaml> {
        let mut items = Vec::new();
        while let Some(line) = self.peek().filter(|l| l.indent == indent) {
            let item = if line.text == "-" {
                self.at += 1;
                self.block(indent + 2)?
            } else {
                let rest = line.text.strip_prefix("- ")?;
                if split_key(rest).is_some() {
                    // A map item: its first entry follows `- `, the others line up with it.
                    self.lines[self.at] = Line { indent: indent + 2, text: rest, raw: line.raw };
                    self.map(indent + 2)?
                } else {
                    self.at += 1;
                    self.inline(rest, indent + 2)?
                }
            };
            items.push(item);
        }
        Some(Yaml::Seq(items))
    }

    /// A value written after `key: ` or `- `: a scalar, `{}`, `[]`, or the header of a
    /// literal block whose lines are at `indent`.
    fn inline(&mut self, text: &str, indent: usize) -> Option<Yaml> {
        Some(match text {
            "{}" => Yaml::Map(Vec::new()),
            "[]" => Yaml::Seq(Vec::new()),
            "|" | "|-" => Yaml::Str(Cow::Owned(self.literal(indent, text == "|"))),
            "true" => Yaml::Bool(true),
            "false" => Yaml::Bool(false),
            _ if text.starts_with('"') => match quoted(text)? {
                (s, "") => Yaml::Str(Cow::Owned(s)),
                _ => return None,
            },
            _ => match text.parse::<i64>() {
                Ok(n) => Yaml::Int(n),
                Err(_) => Yaml::Str(Cow::Owned(text.to_string())),
            },
        })
    }

    /// The lines of a literal block at `indent` (empty lines have no indentation),
    /// joined, with the final line break when `keep`.
    fn literal(&mut self, indent: usize, keep: bool) -> String {
        let mut lines = Vec::new();
        while let Some(line) = self.peek().filter(|l| l.raw.is_empty() || l.indent >= indent) {
            lines.push(line.raw.get(indent..).unwrap_or(""));
            self.at += 1;
        }
        let mut out = lines.join("\n");
        if keep {
            out.push('\n');
        }
        out
    }
}

/// `key: value` or `key:` as `(key, value)` ([`super::node::split_entry`]), the key
/// unquoted.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (written, value) = super::node::split_entry(text)?;
    let key = if written.starts_with('"') { quoted(written)?.0 } else { written.to_string() };
    Some((key, value))
}

/// A double-quoted string at the start of `text`, unescaped, and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.strip_prefix('"')?.char_indices();
    let body = &text[1..];
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[at + 1..])),
            '\\' => {
                let escaped = match chars.next()?.1 {
                    '"' => '"',
                    '\\' => '\\',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'u' => hex(&mut chars, 4)?,
                    'U' => hex(&mut chars, 8)?,
                    _ => return None,
                };
                out.push(escaped);
            }
            c => out.push(c),
        }
    }
    None
}

/// The character of the next `digits` hexadecimal digits.
fn hex(chars: &mut std::str::CharIndices, digits: usize) -> Option<char> {
    let mut n = 0u32;
    for _ in 0..digits {
        n = n * 16 + chars.next()?.1.to_digit(16)?;
    }
    char::from_u32(n)
}
