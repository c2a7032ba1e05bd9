//! A small, deterministic YAML writer for the Kubernetes objects govc emits.
//!
//! Takes a typed [`Yaml`] tree (maps keep insertion order) and writes block-style
//! YAML. Every string that is not a plain, unambiguous token is double-quoted with
//! JSON-compatible escapes, so any string reads back exactly as written; a multi-line
//! string of map values and sequence items is written as a literal block (`|` or `|-`)
//! when that reads back exactly (see [`is_block_safe`]), which keeps embedded YAML (inline
//! Kustomize patches) readable. It reads back only its own style ([`read_document`]); tests use a real parser for
//! YAML.

mod node;
mod read;

use std::borrow::Cow;
use std::fmt::Write as _;

/// A map key: almost always a literal, so borrowed; owned for keys built from data.
pub type Key = Cow<'static, str>;

pub use node::{Lines, Node, Shape};
pub use read::{document as read_document, value as read_value};

/// A YAML value. Maps keep their insertion order, which is the order written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Yaml {
    /// A string scalar (quoted when a plain scalar would read as something else):
    /// borrowed when it is a literal of govc's, like a [`Key`].
    Str(Cow<'static, str>),
    /// An integer scalar.
    Int(i64),
    /// A boolean scalar.
    Bool(bool),
    /// A block sequence (`[]` when empty).
    Seq(Vec<Yaml>),
    /// A block mapping (`{}` when empty), in insertion order.
    Map(Vec<(Key, Yaml)>),
}

impl Yaml {
    /// The value at `key` when `self` is a map.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string at `key` when `self` is a map and the value a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Yaml::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Sets `key` in a map (replacing a present value, appending otherwise).
    pub fn set(&mut self, key: &'static str, value: Yaml) {
        if let Yaml::Map(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => entries.push((Cow::Borrowed(key), value)),
            }
        }
    }
}

impl From<&'static str> for Yaml {
    fn from(s: &'static str) -> Self {
        Yaml::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Yaml {
    fn from(s: String) -> Self {
        Yaml::Str(Cow::Owned(s))
    }
}

impl From<&String> for Yaml {
    fn from(s: &String) -> Self {
        Yaml::Str(Cow::Owned(s.clone()))
    }
}

impl Yaml {
    /// A string scalar copied from `s` (for text that is not a `'static` literal).
    pub fn text(s: &str) -> Yaml {
        Yaml::Str(Cow::Owned(s.to_string()))
    }
}

impl From<bool> for Yaml {
    fn from(b: bool) -> Self {
        Yaml::Bool(b)
    }
}

impl From<i64> for Yaml {
    fn from(n: i64) -> Self {
        Yaml::Int(n)
    }
}

impl From<u32> for Yaml {
    fn from(n: u32) -> Self {
        Yaml::Int(i64::from(n))
    }
}

impl From<u16> for Yaml {
    fn from(n: u16) -> Self {
        Yaml::Int(i64::from(n))
    }
}

impl<T: Into<Yaml>> From<Vec<T>> for Yaml {
    fn from(items: Vec<T>) -> Self {
        Yaml::Seq(items.into_iter().map(Into::into).collect())
    }
}

/// Builds a map from `(key, value)` pairs, in the order given.
pub fn map<const N: usize>(entries: [(&'static str, Yaml); N]) -> Yaml {
    Yaml::Map(entries.into_iter().map(|(k, v)| (Cow::Borrowed(k), v)).collect())
}

/// Builds a map from owned pairs, in the order given.
pub fn map_of(entries: impl IntoIterator<Item = (String, Yaml)>) -> Yaml {
    Yaml::Map(entries.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
}

/// Writes one YAML document, starting with `---` and ending with a newline.
pub fn to_document(value: &Yaml) -> String {
    let mut out = String::from("---\n");
    write_value(&mut out, value, 0);
    out
}

/// Writes a multi-document stream: each value a document starting with `---`, in order.
pub fn to_documents<'a>(values: impl IntoIterator<Item = &'a Yaml>) -> String {
    let mut out = String::new();
    for value in values {
        push_document(&mut out, value);
    }
    out
}

/// Appends one document (`---` first) to a stream.
pub fn push_document(out: &mut String, value: &Yaml) {
    out.push_str("---\n");
    write_value(out, value, 0);
}

/// Writes `value` without the `---` marker: the text of an embedded document (a
/// Kustomize inline patch), with the final newline removed.
pub fn to_embedded(value: &Yaml) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// Writes `value` as the body of a document or of a block at `indent`.
fn write_value(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Map(entries) if !entries.is_empty() => write_map(out, entries, indent),
        Yaml::Seq(items) if !items.is_empty() => write_seq(out, items, indent),
        scalar => {
            crate::emit::push_spaces(out, indent);
            write_inline(out, scalar);
            out.push('\n');
        }
    }
}

fn write_map(out: &mut String, entries: &[(Key, Yaml)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        // The first entry of a map inside a sequence item follows the `- ` marker.
        if i > 0 || !out.ends_with("- ") {
            crate::emit::push_spaces(out, indent);
        }
        write_entry(out, key, value, indent);
    }
}

/// Writes `key: value` of a map at `indent`, the line's indentation already written.
fn write_entry(out: &mut String, key: &str, value: &Yaml, indent: usize) {
    write_scalar(out, key);
    out.push(':');
    match value {
        Yaml::Map(inner) if !inner.is_empty() => {
            out.push('\n');
            write_map(out, inner, indent + 2);
        }
        Yaml::Seq(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, indent + 2);
        }
        Yaml::Str(text) => {
            out.push(' ');
            write_text(out, text, indent + 2);
        }
        scalar => {
            out.push(' ');
            write_inline(out, scalar);
            out.push('\n');
        }
    }
}

/// The value of a map entry written by [`push_map_item`]: a string, or any value;
/// both borrowed, so an item is written without building its tree.
#[derive(Clone, Copy)]
pub enum Field<'a> {
    /// A string scalar, as [`Yaml::Str`] writes it.
    Text(&'a str),
    /// Any value.
    Value(&'a Yaml),
    /// A map of string scalars, as a [`Yaml::Map`] of [`Yaml::Str`] writes it.
    Texts(&'a [(&'a str, &'a str)]),
}

/// Appends one item of a block sequence at `indent` whose value is the map of
/// `entries` (not empty): the text [`Yaml::Seq`] writes for it, line by line. For
/// the items of a long sequence (a kustomization's patches) written as they are found.
pub fn push_map_item(out: &mut String, entries: &[(&str, Field<'_>)], indent: usize) {
    debug_assert!(!entries.is_empty(), "an empty map is written `- {{}}`");
    crate::emit::push_spaces(out, indent);
    out.push_str("- ");
    for (i, (key, field)) in entries.iter().enumerate() {
        if i > 0 {
            crate::emit::push_spaces(out, indent + 2);
        }
        match field {
            Field::Value(value) => write_entry(out, key, value, indent + 2),
            Field::Text(text) => {
                write_scalar(out, key);
                out.push_str(": ");
                write_text(out, text, indent + 4);
            }
            Field::Texts(pairs) => {
                write_scalar(out, key);
                if pairs.is_empty() {
                    out.push_str(": {}\n");
                    continue;
                }
                out.push_str(":\n");
                for (inner, text) in *pairs {
                    crate::emit::push_spaces(out, indent + 4);
                    write_scalar(out, inner);
                    out.push_str(": ");
                    write_text(out, text, indent + 6);
                }
            }
        }
    }
}

/// Writes one document (`---` first) whose value is the map `f` writes: the text
/// [`push_document`] writes for the same tree, without the tree. For objects that are
/// written and never compared, which a fleet has by the thousand.
pub fn push_map_document(out: &mut String, f: impl FnOnce(&mut MapWriter)) {
    out.push_str("---\n");
    let mark = out.len();
    f(&mut MapWriter { out, indent: 0, inline: false });
    if out.len() == mark {
        out.push_str("{}\n");
    }
}

/// The entries of a block map being written, in order: each call writes one. The text
/// is what [`Yaml::Map`] of the same entries writes (an empty map or sequence as `{}` or
/// `[]`), held to it by a test for every tree whose keys are plain. Its keys are
/// govc's own literals (`&'static str`), plain scalars all: written as they are, not
/// asked whether they need quotes at each of the hundreds of thousands of entries of
/// a fleet.
pub struct MapWriter<'o> {
    out: &'o mut String,
    indent: usize,
    /// The next entry follows a sequence's `- ` on the current line.
    inline: bool,
}

impl MapWriter<'_> {
    /// Starts the line of an entry: its indentation, unless it follows `- `.
    fn start(&mut self) {
        if self.inline {
            self.inline = false;
        } else {
            crate::emit::push_spaces(self.out, self.indent);
        }
    }

    /// `key: value`, a string (plain, a literal block or quoted, like [`Yaml::Str`]).
    pub fn str(&mut self, key: &'static str, value: &str) -> &mut Self {
        self.start();
        write_key(self.out, key);
        self.out.push_str(": ");
        write_text(self.out, value, self.indent + 2);
        self
    }

    /// `key: n`.
    pub fn int(&mut self, key: &'static str, n: i64) -> &mut Self {
        self.start();
        write_key(self.out, key);
        self.out.push_str(": ");
        write_inline(self.out, &Yaml::Int(n));
        self.out.push('\n');
        self
    }

    /// `key: true` or `key: false`.
    pub fn bool(&mut self, key: &'static str, b: bool) -> &mut Self {
        self.start();
        write_key(self.out, key);
        self.out.push_str(if b { ": true\n" } else { ": false\n" });
        self
    }

    /// `key:` and any value.
    pub fn value(&mut self, key: &'static str, value: &Yaml) -> &mut Self {
        self.start();
        write_entry(self.out, key, value, self.indent);
        self
    }

    /// `key:` and the map `f` writes (`{}` when it writes nothing).
    pub fn map(&mut self, key: &'static str, f: impl FnOnce(&mut MapWriter)) -> &mut Self {
        self.start();
        write_key(self.out, key);
        self.out.push(':');
        let indent = self.indent + 2;
        below(self.out, " {}", |out| f(&mut MapWriter { out, indent, inline: false }));
        self
    }

    /// `key:` and the sequence `f` writes (`[]` when it writes nothing).
    pub fn seq(&mut self, key: &'static str, f: impl FnOnce(&mut SeqWriter)) -> &mut Self {
        self.start();
        write_key(self.out, key);
        self.out.push(':');
        let indent = self.indent + 2;
        below(self.out, " []", |out| f(&mut SeqWriter { out, indent }));
        self
    }
}

/// The items of a block sequence being written, in order; see [`MapWriter`].
pub struct SeqWriter<'o> {
    out: &'o mut String,
    indent: usize,
}

impl SeqWriter<'_> {
    /// `- value`, a string.
    pub fn str(&mut self, value: &str) -> &mut Self {
        crate::emit::push_spaces(self.out, self.indent);
        self.out.push_str("- ");
        write_text(self.out, value, self.indent + 2);
        self
    }

    /// `- n`.
    pub fn int(&mut self, n: i64) -> &mut Self {
        crate::emit::push_spaces(self.out, self.indent);
        self.out.push_str("- ");
        write_inline(self.out, &Yaml::Int(n));
        self.out.push('\n');
        self
    }

    /// An item of any value.
    pub fn value(&mut self, value: &Yaml) -> &mut Self {
        write_seq(self.out, std::slice::from_ref(value), self.indent);
        self
    }

    /// An item that is the map `f` writes (`{}` when it writes nothing).
    pub fn map(&mut self, f: impl FnOnce(&mut MapWriter)) -> &mut Self {
        crate::emit::push_spaces(self.out, self.indent);
        self.out.push_str("- ");
        let mark = self.out.len();
        f(&mut MapWriter { out: self.out, indent: self.indent + 2, inline: true });
        if self.out.len() == mark {
            self.out.push_str("{}\n");
        }
        self
    }

    /// An item that is the sequence `f` writes (`[]` when it writes nothing).
    pub fn seq(&mut self, f: impl FnOnce(&mut SeqWriter)) -> &mut Self {
        crate::emit::push_spaces(self.out, self.indent);
        self.out.push('-');
        let indent = self.indent + 2;
        below(self.out, " []", |out| f(&mut SeqWriter { out, indent }));
        self
    }
}

/// Ends a header's line (`key:`, `-`) and writes what `f` writes on the lines below it;
/// when `f` writes nothing, the header's line ends with `empty` (` {}`, ` []`) instead.
fn below(out: &mut String, empty: &str, f: impl FnOnce(&mut String)) {
    out.push('\n');
    let mark = out.len();
    f(out);
    if out.len() == mark {
        out.truncate(mark - 1);
        out.push_str(empty);
        out.push('\n');
    }
}

fn write_seq(out: &mut String, items: &[Yaml], indent: usize) {
    for item in items {
        crate::emit::push_spaces(out, indent);
        match item {
            Yaml::Map(inner) if !inner.is_empty() => {
                out.push_str("- ");
                write_map(out, inner, indent + 2);
            }
            Yaml::Seq(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                write_seq(out, inner, indent + 2);
            }
            Yaml::Str(text) => {
                out.push_str("- ");
                write_text(out, text, indent + 2);
            }
            scalar => {
                out.push_str("- ");
                write_inline(out, scalar);
                out.push('\n');
            }
        }
    }
}

/// Writes a string value after its `key: ` or `- ` and ends the line: plain when it
/// can be (most values are: names, labels, kinds; then with no search for a line
/// break, which a plain scalar cannot hold), else a literal block at `indent` when
/// that reads back exactly, else double-quoted.
fn write_text(out: &mut String, text: &str, indent: usize) {
    if is_plain_safe(text) {
        out.push_str(text);
        out.push('\n');
    } else if is_block_safe(text) {
        write_block(out, text, indent);
    } else {
        write_quoted(out, text);
        out.push('\n');
    }
}

/// Writes a scalar or an empty collection on the current line.
fn write_inline(out: &mut String, value: &Yaml) {
    match value {
        Yaml::Str(s) => write_scalar(out, s),
        Yaml::Int(n) => {
            if *n < 0 {
                out.push('-');
            }
            crate::emit::push_decimal(out, n.unsigned_abs());
        }
        Yaml::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Yaml::Seq(_) => out.push_str("[]"),
        Yaml::Map(_) => out.push_str("{}"),
    }
}

/// A literal block reads back exactly as `s` when: `s` has a line break; its first line
/// is not empty and does not start with a space (it sets the block's indentation); no
/// line is made only of spaces (a reader may take it as an empty line); no character
/// other than the line break needs an escape (tabs and carriage returns do); and it ends with at most one line
/// break (kept with `|`, none with `|-`).
///
/// Every string value of a tree is asked: one pass over the bytes (most are ASCII).
fn is_block_safe(s: &str) -> bool {
    let Some(first) = memchr::memchr(b'\n', s.as_bytes()).map(|at| &s[..at]) else {
        return false;
    };
    if first.is_empty() || first.starts_with(' ') || s.ends_with("\n\n") {
        return false;
    }
    if !s.is_ascii() {
        return s.chars().all(|c| c == '\n' || !needs_escape(c))
            && s.split('\n').all(|line| line.is_empty() || !line.bytes().all(|b| b == b' '));
    }
    // `blank`: the line so far is spaces, at least one; `fresh`: nothing of it yet.
    let (mut blank, mut fresh) = (false, true);
    for &b in s.as_bytes() {
        match b {
            b'\n' if blank => return false,
            b'\n' => fresh = true,
            // The ASCII characters that need an escape.
            0..0x20 | 0x7F => return false,
            b' ' if fresh => (blank, fresh) = (true, false),
            b' ' => {}
            _ => (blank, fresh) = (false, false),
        }
    }
    !blank
}

/// Writes the header (`|` or `|-`) and the lines of a block-safe string at `indent`.
fn write_block(out: &mut String, s: &str, indent: usize) {
    let (body, header) = match s.strip_suffix('\n') {
        Some(body) => (body, "|\n"),
        None => (s, "|-\n"),
    };
    out.push_str(header);
    // The lines of `body` (`split('\n')`), found by `memchr`: a block may be a script
    // of thousands of lines.
    let ends = memchr::memchr_iter(b'\n', body.as_bytes()).chain(std::iter::once(body.len()));
    let mut start = 0;
    for end in ends {
        let line = &body[start..end];
        start = end + 1;
        if !line.is_empty() {
            crate::emit::push_spaces(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// Writes a key of govc's own, a literal: written as it is, since every such key is a
/// plain scalar (debug builds check it, and every emitter's test runs them).
fn write_key(out: &mut String, key: &'static str) {
    debug_assert!(is_plain_safe(key), "the key `{key}` is a plain scalar");
    out.push_str(key);
}

/// Writes `s` plain when that is unambiguous, double-quoted otherwise.
pub fn write_scalar(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        write_quoted(out, s);
    }
}

/// Words that YAML 1.1 or 1.2 reads as booleans or null.
const RESERVED: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"];

/// A plain scalar is written only when it starts with a letter or `/`, holds only
/// ASCII letters, digits, `-`, `_`, `.` and `/`, and is not a reserved word. Anything
/// starting with a digit (numbers, octals, `1e3`, `250m`) is quoted: simple and safe.
fn is_plain_safe(s: &str) -> bool {
    // Bytes, not chars: every accepted character is ASCII, and no byte of a non-ASCII
    // character is.
    let Some((&first, rest)) = s.as_bytes().split_first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'/') {
        return false;
    }
    // Eight bytes at a time without a branch per byte: every key and value is asked.
    let mut chunks = rest.chunks_exact(8);
    let plain = chunks.by_ref().all(|chunk| chunk.iter().fold(true, |ok, &b| ok & PLAIN[usize::from(b)]));
    if !plain || !chunks.remainder().iter().all(|&b| PLAIN[usize::from(b)]) {
        return false;
    }
    // The longest reserved word has five characters, and each starts with one of five
    // letters: most short keys (`name`, `kind`, `spec`) are no candidate at all.
    s.len() > 5
        || !matches!(first.to_ascii_lowercase(), b'y' | b'n' | b'o' | b't' | b'f')
        || !RESERVED.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// The bytes a plain scalar may hold after its first: ASCII letters, digits, `-`,
/// `_`, `.` and `/`.
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/');
        b += 1;
    }
    table
};

/// Double-quoted with JSON-compatible escapes; characters outside YAML's printable
/// set (and the line separators some readers normalize) are `\u` escaped.
fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    // The common case: printable ASCII without `"` or `\\`, written as is.
    if s.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'"' && b != b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let n = u32::from(c);
                if n <= 0xFFFF {
                    let _ = write!(out, "\\u{n:04X}");
                } else {
                    let _ = write!(out, "\\U{n:08X}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn needs_escape(c: char) -> bool {
    let n = u32::from(c);
    n < 0x20 || (0x7F..=0x9F).contains(&n) || matches!(n, 0x2028 | 0x2029 | 0xFEFF | 0xFFFE | 0xFFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition of a block-safe string, written plainly: [`is_block_safe`]
    /// must agree with it on every string.
    fn block_safe_by_definition(s: &str) -> bool {
        let Some(first) = s.split_once('\n').map(|(first, _)| first) else { return false };
        !first.is_empty()
            && !first.starts_with(' ')
            && !s.ends_with("\n\n")
            && s.chars().all(|c| c == '\n' || !needs_escape(c))
            && s.split('\n').all(|line| line.is_empty() || !line.bytes().all(|b| b == b' '))
    }

    fn round_trip(s: &str) {
        let doc = to_document(&Yaml::Map(vec![("key".into(), Yaml::text(s)), (s.to_string().into(), Yaml::from("v"))]));
        let parsed: serde_norway::Value = serde_norway::from_str(&doc).expect("the writer's output parses");
        let mapping = parsed.as_mapping().expect("a mapping");
        assert_eq!(mapping.get("key").and_then(|v| v.as_str()), Some(s), "value {s:?} in\n{doc}");
        assert!(mapping.contains_key(s), "key {s:?} in\n{doc}");
    }

    /// An item written by [`push_map_item`] is the text of the same map written as an
    /// item of a sequence, at any indentation, for every kind of value.
    #[test]
    fn a_map_item_is_written_as_its_sequence_would_be() {
        let nested = map([("a", "x".into()), ("b", map([("c", 1i64.into())])), ("d", vec!["e", "f"].into())]);
        let values = [nested, Yaml::Map(vec![]), Yaml::Seq(vec![]), Yaml::Int(-3), Yaml::Bool(true), "2 words".into()];
        for value in &values {
            for text in ["plain", "two\nlines", "\ttab", ""] {
                for indent in [0, 2, 6] {
                    let mut ours = String::new();
                    push_map_item(&mut ours, &[("text", Field::Text(text)), ("value", Field::Value(value))], indent);
                    let item = Yaml::Map(vec![("text".into(), Yaml::text(text)), ("value".into(), value.clone())]);
                    let mut tree = String::new();
                    write_seq(&mut tree, &[item], indent);
                    assert_eq!(ours, tree, "{value:?} {text:?} at {indent}");
                }
            }
        }
    }

    #[test]
    fn integers_are_written_in_decimal() {
        for n in [0, 7, 10, 8080, -1, -42, i64::MIN, i64::MAX] {
            assert_eq!(to_embedded(&map([("count", n.into())])), format!("count: {n}"));
        }
    }

    #[test]
    fn nasty_strings_round_trip() {
        let nasty = [
            "",
            " ",
            "yes",
            "No",
            "ON",
            "off",
            "true",
            "False",
            "null",
            "Null",
            "~",
            "y",
            "n",
            "0755",
            "1e3",
            "0x1F",
            "0o17",
            ".inf",
            "-.inf",
            ".NaN",
            "1_000",
            "12:30",
            "a: b",
            "a #b",
            "#x",
            " lead",
            "trail ",
            "-",
            "- x",
            "-x",
            "?",
            "? x",
            "*a",
            "&a",
            "!tag",
            "|",
            ">",
            "'",
            "\"",
            "%x",
            "@x",
            "`x",
            "{}",
            "[a]",
            "a,b",
            "line\nbreak",
            "tab\tbed",
            "cr\rlf",
            "ünïcødé",
            "日本語",
            "emoji 🚀",
            "\u{85}",
            "\u{2028}",
            "\u{feff}bom",
            "\u{7f}",
            "\u{1}",
            "back\\slash",
            "<<",
            "=",
            "0",
            "-1",
            "+1",
            "1.0",
            "3.14",
            "sha256:abc",
            "http://x:80/y",
            "a:",
            "a:b",
            "\u{10FFFF}",
            "\u{FFFE}",
            "a\nb",
            "a\nb\n",
            "a\nb\n\n",
            "a\n\nb",
            "a\n  b\n c",
            "a\n  \nb",
            "a\n \n",
            " a\nb",
            "\na",
            "a\n#b\n---\n...",
            "a\n- b: |\n    c",
            "a:\n  b",
            "a\n\tb",
            "a\r\nb",
            "a \nb ",
            "- op: add\n  path: /spec/x\n  value: \"q\"",
        ];
        for s in nasty {
            round_trip(s);
        }
    }

    #[test]
    fn safe_tokens_stay_plain() {
        let doc = to_document(&map([("app.kubernetes.io/name", Yaml::from("web")), ("path", Yaml::from("/api"))]));
        assert_eq!(doc, "---\napp.kubernetes.io/name: web\npath: /api\n");
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        let patch = "- op: replace\n  path: /spec/replicas\n  value: 2";
        let doc = to_document(&map([("patches", Yaml::Seq(vec![map([("patch", patch.into())])]))]));
        assert_eq!(
            doc,
            "---\npatches:\n  - patch: |-\n      - op: replace\n        path: /spec/replicas\n        value: 2\n"
        );
        let doc = to_document(&Yaml::Seq(vec!["a\n\nb\n".into()]));
        assert_eq!(doc, "---\n- |\n  a\n\n  b\n");
        round_trip(patch);
    }

    #[test]
    fn documents_are_separated() {
        let doc = to_documents(&[map([("a", 1i64.into())]), map([("b", 2i64.into())])]);
        assert_eq!(doc, "---\na: 1\n---\nb: 2\n");
        let n = serde_norway::Deserializer::from_str(&doc).count();
        assert_eq!(n, 2);
    }

    #[test]
    fn nested_collections_layout() {
        let value = map([
            ("a", Yaml::Seq(vec![map([("x", 1i64.into()), ("yy", Yaml::Seq(vec!["p".into()]))]), "q".into()])),
            ("b", Yaml::Map(vec![])),
            ("c", Yaml::Seq(vec![])),
            ("d", Yaml::Seq(vec![Yaml::Seq(vec![true.into()])])),
        ]);
        let doc = to_document(&value);
        assert_eq!(doc, "---\na:\n  - x: 1\n    yy:\n      - p\n  - q\nb: {}\nc: []\nd:\n  -\n    - true\n");
        let parsed: serde_norway::Value = serde_norway::from_str(&doc).expect("parses");
        let json: serde_json::Value = serde_norway::from_value(parsed).expect("converts");
        assert_eq!(json, serde_json::json!({"a": [{"x": 1, "yy": ["p"]}, "q"], "b": {}, "c": [], "d": [[true]]}));
    }

    /// The JSON value a YAML tree should read back as.
    fn to_json(value: &Yaml) -> serde_json::Value {
        match value {
            Yaml::Str(s) => s.clone().into(),
            Yaml::Int(n) => (*n).into(),
            Yaml::Bool(b) => (*b).into(),
            Yaml::Seq(items) => items.iter().map(to_json).collect(),
            Yaml::Map(entries) => entries.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect(),
        }
    }

    fn any_yaml() -> impl Strategy<Value = Yaml> {
        yaml_keyed_by("[a-z/.:# -]{0,5}".boxed())
    }

    /// Trees whose keys are plain scalars: the keys the streaming writer takes (govc's
    /// own literals, written as they are).
    fn written_yaml() -> impl Strategy<Value = Yaml> {
        yaml_keyed_by("[a-zA-Z/][a-zA-Z0-9/._-]{0,5}".prop_filter("a plain key", |k| is_plain_safe(k)).boxed())
    }

    fn yaml_keyed_by(keys: BoxedStrategy<String>) -> impl Strategy<Value = Yaml> {
        let leaf = prop_oneof![
            any::<String>().prop_map(Yaml::from),
            "[a-z0-9 :#.-]{0,6}".prop_map(Yaml::from),
            any::<i64>().prop_map(Yaml::Int),
            any::<bool>().prop_map(Yaml::Bool),
        ];
        leaf.prop_recursive(4, 32, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Yaml::Seq),
                prop::collection::btree_map(keys.clone(), inner, 0..4)
                    .prop_map(|m| Yaml::Map(m.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())),
            ]
        })
    }

    /// Writes `value`, an entry's or an item's, through the streaming writer, the way a
    /// builder would write the tree's shape. The writer takes literal keys: the tree's
    /// are leaked to last as long.
    fn replay_entry(m: &mut MapWriter, key: &str, value: &Yaml) {
        let key: &'static str = Box::leak(key.to_owned().into_boxed_str());
        match value {
            Yaml::Str(s) => m.str(key, s),
            Yaml::Int(n) => m.int(key, *n),
            Yaml::Bool(b) => m.bool(key, *b),
            Yaml::Map(entries) => m.map(key, |inner| replay_map(inner, entries)),
            Yaml::Seq(items) => m.seq(key, |inner| replay_seq(inner, items)),
        };
    }

    fn replay_map(m: &mut MapWriter, entries: &[(Key, Yaml)]) {
        for (key, value) in entries {
            replay_entry(m, key, value);
        }
    }

    fn replay_seq(s: &mut SeqWriter, items: &[Yaml]) {
        for item in items {
            match item {
                Yaml::Str(text) => s.str(text),
                Yaml::Int(n) => s.int(*n),
                Yaml::Map(entries) => s.map(|inner| replay_map(inner, entries)),
                Yaml::Seq(inner) => s.seq(|s| replay_seq(s, inner)),
                scalar => s.value(scalar),
            };
        }
    }

    #[test]
    fn a_written_document_reads_back_as_its_tree() {
        let value = map([
            ("a", Yaml::Seq(vec![map([("x", 1i64.into()), ("yy", Yaml::Seq(vec!["p".into()]))]), "q".into()])),
            ("b", Yaml::Map(vec![])),
            ("c", Yaml::Seq(vec![Yaml::Map(vec![]), Yaml::Seq(vec![]), "two\nlines\n".into(), "x\ny".into()])),
            ("d", Yaml::Seq(vec![Yaml::Seq(vec![true.into(), (-4i64).into()])])),
            ("\"odd: key\"", map([("block", "a\n  b\n\nc".into()), ("n", "12".into()), ("t", "true".into())])),
        ]);
        let doc = to_document(&value);
        assert_eq!(read_document(&doc), Some(value));
        assert_eq!(read_document("no marker: x\n"), None);
        assert_eq!(read_document("---\na: \"unterminated\n"), None);
    }

    proptest! {
        /// A map of strings in an item is written as the tree of those strings would be.
        #[test]
        fn a_map_of_texts_is_written_as_its_tree(
            pairs in proptest::collection::vec(("[a-z/.-]{1,8}|on|1x", "[a-z: -]{0,8}|\\n|a\\nb|yes"), 0..4),
            indent in 0usize..8,
        ) {
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mut ours = String::new();
            push_map_item(&mut ours, &[("target", Field::Texts(&borrowed)), ("patch", Field::Text("p"))], indent);
            let target = Yaml::Map(pairs.iter().map(|(k, v)| (k.clone().into(), Yaml::text(v))).collect());
            let item = Yaml::Map(vec![("target".into(), target), ("patch".into(), Yaml::text("p"))]);
            let mut tree = String::new();
            write_seq(&mut tree, &[item], indent);
            prop_assert_eq!(ours, tree);
        }

        /// The streaming writer writes what the tree writer writes for the same shape.
        #[test]
        fn the_streaming_writer_writes_the_tree(value in written_yaml()) {
            let mut streamed = String::new();
            match &value {
                Yaml::Map(entries) => push_map_document(&mut streamed, |m| replay_map(m, entries)),
                other => push_document(&mut streamed, other),
            }
            prop_assert_eq!(&streamed, &to_document(&value));
            // Every item shape at once, under a key.
            let wrapped = map([("k", Yaml::Seq(vec![value.clone()])), ("v", value.clone())]);
            let mut streamed = String::new();
            let Yaml::Map(entries) = &wrapped else { unreachable!() };
            push_map_document(&mut streamed, |m| replay_map(m, entries));
            prop_assert_eq!(streamed, to_document(&wrapped));
        }

        /// What the writer writes reads back as the tree it was written from.
        #[test]
        fn any_document_reads_back(value in any_yaml()) {
            let doc = to_document(&value);
            prop_assert_eq!(read_document(&doc), Some(value), "{}", doc);
        }

        #[test]
        fn any_tree_round_trips(value in any_yaml()) {
            let doc = to_document(&value);
            let parsed: serde_norway::Value = serde_norway::from_str(&doc).expect("the writer's output parses");
            let json: serde_json::Value = serde_norway::from_value(parsed).expect("converts to JSON");
            prop_assert_eq!(json, to_json(&value), "{}", doc);
        }

        #[test]
        fn any_string_round_trips(s in any::<String>()) {
            round_trip(&s);
        }

        #[test]
        fn block_safety_is_its_definition(
            s in prop_oneof![any::<String>(), "[a \n\t\r\u{7f}\u{85}é:-]{0,12}", "[a-z]{1,3}\n[ a\n]{0,8}"],
        ) {
            prop_assert_eq!(is_block_safe(&s), block_safe_by_definition(&s), "{:?}", s);
        }

        #[test]
        fn ascii_punctuation_round_trips(s in "[ -~\\t\\n]{0,12}") {
            round_trip(&s);
        }

        #[test]
        fn multi_line_round_trips(s in "[a -:#|>\\n-]{0,16}") {
            round_trip(&s);
            let doc = to_document(&Yaml::Seq(vec![Yaml::text(&s), map([("k", Yaml::Seq(vec![Yaml::text(&s)]))])]));
            let parsed: serde_norway::Value = serde_norway::from_str(&doc).expect("parses");
            let json: serde_json::Value = serde_norway::from_value(parsed).expect("converts");
            prop_assert_eq!(json, serde_json::json!([s, {"k": [s]}]), "{}", doc);
        }
    }
}
