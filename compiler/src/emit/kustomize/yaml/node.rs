//! A view of the text the writer wrote, walked without building its tree: a value is
//! the rest of its line and the lines below it, so two values compare as text, and a
//! map's entries or a sequence's items are found by their indentation. What is needed
//! as a tree (an operation's value) is read back ([`super::read_value`]).

use super::Yaml;

/// A document's lines, indexed once: where each starts and how far it is indented, so
/// that a walk finds a value's extent by comparing numbers, not by reading its text again
/// at every level.
pub struct Lines<'t> {
    text: &'t str,
    /// The offset of each line, then the text's length.
    starts: Vec<usize>,
    /// The indentation of each line; [`EMPTY`] for an empty line (inside a literal
    /// block, where it belongs to the value above it, whatever its indentation).
    indents: Vec<u16>,
}

/// The indentation of an empty line: deeper than any value.
const EMPTY: u16 = u16::MAX;

impl<'t> Lines<'t> {
    /// The lines of `text`; `None` when a line is indented past what the writer writes.
    pub fn new(text: &'t str) -> Option<Lines<'t>> {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(text.len() / 24 + 2);
        let mut indents = Vec::with_capacity(text.len() / 24 + 2);
        let mut start = 0;
        while start < text.len() {
            let indent = bytes[start..].iter().take_while(|&&b| b == b' ').count();
            let empty = bytes[start] == b'\n';
            starts.push(start);
            indents.push(if empty { EMPTY } else { u16::try_from(indent).ok().filter(|&n| n < EMPTY)? });
            start = memchr::memchr(b'\n', &bytes[start..]).map_or(text.len(), |at| start + at + 1);
        }
        starts.push(text.len());
        Some(Lines { text, starts, indents })
    }

    /// Line `i` past its indentation, without its line break.
    fn line(&self, i: usize) -> &'t str {
        let end = self.starts[i + 1];
        let line = &self.text[self.starts[i]..end];
        let line = line.strip_suffix('\n').unwrap_or(line);
        &line[usize::from(self.indents[i]).min(line.len())..]
    }

    /// Lines `first..end`, whole.
    fn span(&self, first: usize, end: usize) -> &'t str {
        &self.text[self.starts[first]..self.starts[end]]
    }

    /// The first line from `i` on (before `end`) that is not indented deeper than `indent`.
    fn below(&self, mut i: usize, end: usize, indent: usize) -> usize {
        while i < end && usize::from(self.indents[i]) > indent {
            i += 1;
        }
        i
    }
}

/// A value in the writer's text: what follows its `key: ` or `- ` on its line, and the
/// whole lines below that belong to it.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    lines: &'a Lines<'a>,
    /// The rest of the value's line: a scalar, `{}`, `[]`, a literal block's header,
    /// nothing (a map or sequence below), or the first entry of a map item.
    head: &'a str,
    /// The lines below that belong to it: `first..end`.
    first: usize,
    end: usize,
    /// The indentation of the value's entries, items or literal lines.
    indent: usize,
    /// An item of a sequence that is a map: `head` is its first entry.
    item_map: bool,
}

/// Two values are equal when their texts are: the writer writes a value the same way
/// wherever it stands, and two different values differently.
impl PartialEq for Node<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head
            && self.item_map == other.item_map
            && self.indent == other.indent
            && self.lines.span(self.first, self.end) == other.lines.span(other.first, other.end)
    }
}

/// What a [`Node`] holds.
#[derive(PartialEq)]
pub enum Shape {
    Map,
    Seq,
    Scalar,
}

impl<'a> Node<'a> {
    /// The map a document holds, `---` first (an object is a map; a document that is a
    /// scalar or `{}` is not one).
    pub fn document(lines: &'a Lines<'a>) -> Option<Node<'a>> {
        let end = lines.indents.len();
        let first_line = (end > 1).then(|| lines.line(1))?;
        let is_map = lines.line(0) == "---" && lines.indents[1] == 0 && split_entry(first_line).is_some();
        is_map.then_some(Node { lines, head: "", first: 1, end, indent: 0, item_map: false })
    }

    /// The value of the entry `key` (a key the writer writes plain) of a map.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        self.entries()?.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn shape(&self) -> Shape {
        match self.head {
            _ if self.item_map => Shape::Map,
            "{}" => Shape::Map,
            "[]" => Shape::Seq,
            "" if self.first < self.end && self.lines.line(self.first).starts_with('-') => Shape::Seq,
            "" => Shape::Map,
            _ => Shape::Scalar,
        }
    }

    /// The value of one of this node's entries or items: `head`, the rest of its line,
    /// and the lines from `first` on that are indented deeper than it; and the line after.
    fn child(&self, head: &'a str, first: usize, item_map: bool) -> (Node<'a>, usize) {
        let end = self.lines.below(first, self.end, self.indent);
        (Node { lines: self.lines, head, first, end, indent: self.indent + 2, item_map }, end)
    }

    /// The entries of a map, as `(key as written, value)`.
    pub fn entries(&self) -> Option<Vec<(&'a str, Node<'a>)>> {
        let mut out = Vec::new();
        let mut i = self.first;
        if self.item_map {
            let (key, head) = split_entry(self.head)?;
            let (value, next) = self.child(head, i, false);
            out.push((key, value));
            i = next;
        } else if self.head == "{}" {
            return Some(out);
        }
        while i < self.end {
            if usize::from(self.lines.indents[i]) != self.indent {
                return None;
            }
            let (key, head) = split_entry(self.lines.line(i))?;
            let (value, next) = self.child(head, i + 1, false);
            out.push((key, value));
            i = next;
        }
        Some(out)
    }

    /// The items of a sequence.
    pub fn items(&self) -> Option<Vec<Node<'a>>> {
        let mut out = Vec::new();
        if self.head == "[]" {
            return Some(out);
        }
        let mut i = self.first;
        while i < self.end {
            if usize::from(self.lines.indents[i]) != self.indent {
                return None;
            }
            let head = match self.lines.line(i) {
                "-" => "",
                line => line.strip_prefix("- ")?,
            };
            let (item, next) = self.child(head, i + 1, split_entry(head).is_some());
            out.push(item);
            i = next;
        }
        Some(out)
    }

    /// The value, read back.
    pub fn value(&self) -> Option<Yaml> {
        super::read_value(self.head, self.lines.span(self.first, self.end), self.indent, self.item_map)
    }
}

/// `key: head` or `key:` as `(key as written, head)`: a plain key (which never holds a
/// `:`) or a double-quoted one; `None` for a line that is not a map entry.
pub(super) fn split_entry(text: &str) -> Option<(&str, &str)> {
    let end = if text.starts_with('"') {
        let bytes = text.as_bytes();
        let mut at = 1;
        while *bytes.get(at)? != b'"' {
            at += if bytes[at] == b'\\' { 2 } else { 1 };
        }
        at + 1
    } else {
        text.find(':')?
    };
    let rest = text.get(end..)?.strip_prefix(':')?;
    match rest {
        "" => Some((&text[..end], "")),
        _ => rest.strip_prefix(' ').map(|head| (&text[..end], head)),
    }
}
