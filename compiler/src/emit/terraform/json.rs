//! A tiny typed builder for Terraform JSON: literals versus references.
//!
//! Every string that comes from the program goes through [`lit`], which escapes
//! Terraform template syntax (`${` → `$${`, `%{` → `%%{`); only [`reference`] and
//! [`template`] produce `${...}` on purpose. [`TfFile`] collects blocks and renders a
//! file with a `"//"` header, keys sorted, in serde_json's pretty layout, written by this
//! module straight into the file's text.
//!
//! A block is a [`Value`] of this module, not serde_json's: its objects are vectors kept
//! sorted by key, and govc's own keys are borrowed. A fleet's roots have tens of thousands
//! of blocks, and serde_json's map allocates a tree node and a copy of every key.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Number;

use crate::emit::out::{Files, Out};

/// A JSON value of a Terraform file.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, written as serde_json writes it.
    Number(Number),
    /// A string, already escaped for Terraform when it is a literal ([`lit`]).
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, its keys sorted.
    Object(Map),
}

/// A key of a [`Map`]: govc's own keys are literals, borrowed.
pub type Key = Cow<'static, str>;

/// The entries of a JSON object, sorted by key (byte order, as serde_json's map sorts
/// them), each key once: a vector, searched by bisection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    entries: Vec<(Key, Value)>,
}

impl Map {
    /// An empty object.
    pub fn new() -> Map {
        Map::default()
    }

    /// Sets `key` to `value`, replacing the value it had.
    pub fn insert(&mut self, key: impl Into<Key>, value: Value) {
        let key = key.into();
        match self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(key.as_ref())) {
            Ok(at) => self.entries[at].1 = value,
            Err(at) => self.entries.insert(at, (key, value)),
        }
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<K: Into<Key>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(items: I) -> Map {
        let mut map = Map::new();
        for (key, value) in items {
            map.insert(key, value);
        }
        map
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Number(Number::from(n))
            }
        }
    )*};
}
numbers!(u8, u16, u32, u64, usize, i32, i64);

/// serde_json's values (a vendored policy read from JSON, tests) as this module's.
impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Value {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

/// Escapes a literal for a Terraform template string: `${` → `$${`, `%{` → `%%{`.
/// JSON string escaping (quotes, backslashes, newlines) is the writer's job, as serde_json's.
pub fn escape(s: &str) -> String {
    escaped(s).into_owned()
}

/// [`escape`], borrowing `s` when there is nothing to escape (nearly always: a
/// literal rarely holds `$` or `%`).
fn escaped(s: &str) -> Cow<'_, str> {
    // Every value is asked: one pass of `memchr` over the bytes (both are ASCII).
    if memchr::memchr2(b'$', b'%', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace("${", "$${").replace("%{", "%%{"))
}

/// A literal string from the program (or from govc itself), escaped.
pub fn lit(s: impl AsRef<str>) -> Value {
    Value::String(escape(s.as_ref()))
}

/// A Terraform expression meant as such: `reference("aws_vpc.main.id")` is `"${aws_vpc.main.id}"`.
pub fn reference(expr: impl AsRef<str>) -> Value {
    Value::String(["${", expr.as_ref(), "}"].concat())
}

/// [`reference`] of an expression given in pieces, joined in place:
/// `reference_of(&["aws_iam_role.", ident, ".arn"])` is `"${aws_iam_role.<ident>.arn}"`.
pub fn reference_of(parts: &[&str]) -> Value {
    let mut expr = String::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 3);
    expr.push_str("${");
    for part in parts {
        expr.push_str(part);
    }
    expr.push('}');
    Value::String(expr)
}

/// One piece of a [`template`]: an escaped literal or a Terraform expression.
pub enum Part<'a> {
    /// Literal text, escaped.
    Lit(&'a str),
    /// An expression, interpolated as `${expr}`.
    Ref(&'a str),
}

/// A string template mixing literals and references, e.g. `${aws_x.y.arn}:*`.
pub fn template(parts: &[Part<'_>]) -> Value {
    let len = parts.iter().map(|part| match part {
        Part::Lit(s) => s.len(),
        Part::Ref(e) => e.len() + "${}".len(),
    });
    let mut out = String::with_capacity(len.sum());
    for part in parts {
        match part {
            Part::Lit(s) => out.push_str(&escaped(s)),
            Part::Ref(e) => {
                out.push_str("${");
                out.push_str(e);
                out.push('}');
            }
        }
    }
    Value::String(out)
}

/// A list of escaped literals.
pub fn lits<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::Array(items.into_iter().map(lit).collect())
}

/// A list of references.
pub fn refs<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::Array(items.into_iter().map(reference).collect())
}

/// A field of a block written by [`write_fields`].
pub enum Scalar<'a> {
    /// A literal, escaped like [`lit`].
    Lit(&'a str),
    /// An expression, like [`reference`]: `Ref("var.region")` is `"${var.region}"`.
    Ref(&'a str),
    /// An attribute of a resource: `Attr("aws_vpc", "main", "id")` is `"${aws_vpc.main.id}"`.
    /// The type and the attribute are govc's own.
    Attr(&'static str, &'a str, &'static str),
    /// A whole number.
    Int(u64),
}

/// Builds a JSON object from `(key, value)` pairs; keys are govc's own (not escaped).
pub fn obj<const N: usize>(pairs: [(&'static str, Value); N]) -> Value {
    let mut map = Map { entries: Vec::with_capacity(N) };
    for (key, value) in pairs {
        map.insert(key, value);
    }
    Value::Object(map)
}

/// A tags map `{Name = <name>}` plus extra pairs, all values escaped literals.
pub fn tags(name: &str, extra: &[(String, String)]) -> Value {
    let mut map = Map { entries: Vec::with_capacity(1 + extra.len()) };
    map.insert("Name", lit(name));
    for (k, v) in extra {
        map.insert(escape(k), lit(v));
    }
    Value::Object(map)
}

/// Turns a program name into a Terraform identifier (letters, digits, `_`, `-`;
/// starting with a letter or `_`).
pub fn ident(name: &str) -> String {
    prefixed_ident("", name)
}

/// `prefix` followed by [`ident`] of `name`, in one string: `svc_<service>` and the like,
/// made for every service.
pub fn prefixed_ident(prefix: &str, name: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + name.len() + 1);
    out.push_str(prefix);
    // An identifier starts with a letter or `_`: the ones that start with a character
    // kept as it is but not allowed first (a digit, `-`), or empty, get a `_` before.
    if name.chars().next().is_none_or(|c| c.is_ascii_digit() || c == '-') {
        out.push('_');
    }
    // Names are mostly identifiers already: copied whole.
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        out.push_str(name);
    } else {
        out.extend(name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }));
    }
    out
}

/// One `.tf.json` file being built: resources, data sources, outputs, top-level blocks.
///
/// Each value is rendered to text when it is added, into buffers the whole file shares:
/// a fleet's root has tens of thousands of blocks, and holds neither their trees nor a
/// string or a map node each. The values are put in key order once, when the file is
/// rendered. Values [`Later`] holds are rendered only then, straight into the file.
#[derive(Default)]
pub struct TfFile {
    /// The paths values were added under, each once (a file has a few).
    paths: Vec<Vec<String>>,
    /// The indexes of the two paths used last, the last first.
    recent: [Option<usize>; 2],
    /// Every value added, in the order added.
    values: Vec<Placed>,
    /// The keys and texts of the values, one after another, in buffers of about
    /// [`CHUNK`] bytes: a file of megabytes is never one buffer grown and copied.
    chunks: Vec<String>,
    /// The sources of the values rendered when the file is written.
    later: Vec<Box<dyn Later>>,
}

/// Values of a file kept as records and rendered only when the file is written, in key
/// order, straight into its text: for the blocks a root has thousands of (security group
/// rules), whose texts would otherwise be held from the moment they are added until the
/// file is written, and copied then. Value `id`'s path, key and text never change.
pub trait Later: Send {
    /// How many values there are (their ids are `0..len`).
    fn len(&self) -> usize;
    /// The path and key of value `id`.
    fn place(&self, id: usize) -> (&[&'static str], &str);
    /// Writes value `id` as [`write_value`] writes a value at `depth`.
    fn write(&self, id: usize, out: &mut String, depth: usize);
}

/// The size a [`TfFile`]'s buffer is filled to before the next value starts another.
const CHUNK: usize = 64 * 1024;

/// A value of a [`TfFile`]: the index of its path, where its key stands in the file's
/// buffers, and its text.
#[derive(Clone, Copy)]
struct Placed {
    path: usize,
    chunk: usize,
    /// The key's first bytes, big-endian, zeros after its end: two keys are ordered by
    /// their prefixes unless those are equal, without reading the buffer.
    prefix: u128,
    key: (usize, usize),
    value: Text,
}

/// Where a value's text is.
#[derive(Clone, Copy)]
enum Text {
    /// In the key's buffer, at this range.
    Written(usize, usize),
    /// Value `.1` of the file's [`Later`] `.0`, rendered when the file is written.
    Later(usize, usize),
}

impl Placed {
    /// The prefix of `key` kept in [`Placed::prefix`].
    fn prefix(key: &str) -> u128 {
        let mut bytes = [0u8; 16];
        let n = key.len().min(16);
        bytes[..n].copy_from_slice(&key.as_bytes()[..n]);
        u128::from_be_bytes(bytes)
    }

    fn key<'t>(&self, chunks: &'t [String]) -> &'t str {
        &chunks[self.chunk][self.key.0..self.key.1]
    }
}

impl TfFile {
    /// An empty file whose `"//"` comment is `header`.
    pub fn new(header: &str) -> Self {
        let mut file = TfFile::default();
        file.insert(&[], "//", &Value::String(header.to_string()));
        file
    }

    /// Renders `value` under `path` then `key`, at the depth it will have in the file.
    fn insert(&mut self, path: &[&str], key: &str, value: &Value) {
        self.place(path, key, |out| write_value(out, value, path.len() + 1));
    }

    /// Puts under `path` then `key` the value `write` writes (at the depth of `path`
    /// plus one).
    fn place(&mut self, path: &[&str], key: &str, write: impl FnOnce(&mut String)) {
        self.place_text(path, key, |text| {
            let at = text.len();
            write(text);
            Text::Written(at, text.len())
        });
    }

    /// Puts `key` under `path`, its key in the last buffer, then whatever `value` writes
    /// after it there: where the value's text is.
    fn place_text(&mut self, path: &[&str], key: &str, value: impl FnOnce(&mut String) -> Text) {
        let path = self.path_index(path);
        if self.chunks.last().is_none_or(|last| last.len() >= CHUNK) {
            self.chunks.push(String::with_capacity(CHUNK + CHUNK / 4));
        }
        let chunk = self.chunks.len() - 1;
        let text = &mut self.chunks[chunk];
        let key_at = text.len();
        text.push_str(key);
        let key = (key_at, text.len());
        let value = value(text);
        self.values.push(Placed { path, chunk, prefix: Placed::prefix(&text[key.0..key.1]), key, value });
    }

    /// Adds the values `later` holds, in the order of their ids, after those added so far:
    /// their texts are written only when the file is.
    pub fn add_later(&mut self, later: Box<dyn Later>) {
        let source = self.later.len();
        for id in 0..later.len() {
            let (path, key) = later.place(id);
            self.place_text(path, key, |_| Text::Later(source, id));
        }
        self.later.push(later);
    }

    /// The index of `path` in `paths`, added when new. Values mostly come a kind at a
    /// time, or two kinds in turn (a security group's egress and ingress rules): the two
    /// paths used last are tried first.
    fn path_index(&mut self, path: &[&str]) -> usize {
        let same = |known: &Vec<String>| known.iter().map(String::as_str).eq(path.iter().copied());
        let at = match self.recent.into_iter().flatten().find(|&at| same(&self.paths[at])) {
            Some(at) => at,
            None => match self.paths.iter().position(same) {
                Some(at) => at,
                None => {
                    self.paths.push(path.iter().map(|segment| segment.to_string()).collect());
                    self.paths.len() - 1
                }
            },
        };
        if self.recent[0] != Some(at) {
            self.recent = [Some(at), self.recent[0]];
        }
        at
    }

    /// Adds `resource.<ty>.<name> = body`.
    pub fn resource(&mut self, ty: &str, name: &str, body: Value) {
        self.insert(&["resource", ty], name, &body);
    }

    /// Adds `resource.<ty>.<name>` whose body `body` writes straight to text (no tree):
    /// the same text as [`TfFile::resource`] with the equivalent value. For the blocks a
    /// fleet has thousands of that nest objects and lists, such as workload roles.
    pub fn resource_with(&mut self, ty: &str, name: &str, body: impl FnOnce(&mut ObjectWriter)) {
        let path = ["resource", ty];
        self.place(&path, name, |out| write_object_with(out, path.len() + 1, body));
    }

    /// Adds `data.<ty>.<name>`, its body written like [`TfFile::resource_with`]'s.
    pub fn data_with(&mut self, ty: &str, name: &str, body: impl FnOnce(&mut ObjectWriter)) {
        let path = ["data", ty];
        self.place(&path, name, |out| write_object_with(out, path.len() + 1, body));
    }

    /// Adds `data.<ty>.<name> = body`.
    pub fn data(&mut self, ty: &str, name: &str, body: Value) {
        self.insert(&["data", ty], name, &body);
    }

    /// Adds `output.<name>` with its value and a description saying why it exists.
    pub fn output(&mut self, name: &str, value: Value, description: &str) {
        let body = obj([("description", lit(description)), ("value", value)]);
        self.insert(&["output"], name, &body);
    }

    /// Adds `output.<name>` like [`TfFile::output`], its value an object whose entries
    /// `value` writes straight to text.
    pub fn output_with(&mut self, name: &str, description: &str, value: impl FnOnce(&mut ObjectWriter)) {
        let path = ["output"];
        self.place(&path, name, |out| {
            write_object_with(out, path.len() + 1, |body| {
                body.lit("description", description).object("value", value);
            });
        });
    }

    /// Sets a top-level key (`terraform`, `provider`).
    pub fn top(&mut self, key: &str, value: Value) {
        self.insert(&[], key, &value);
    }

    /// Writes pretty JSON (serde_json's layout: two-space indent, sorted keys) with a
    /// trailing newline into `out`, handing it on a piece at a time.
    pub fn write(self, out: &mut Out, files: &mut dyn Files) {
        let TfFile { paths, values, chunks, later, .. } = self;
        // Each path's values in key order; of a path and key, the value added last wins,
        // as in a map.
        let mut values = sorted(&values, &chunks);
        values.dedup_by(|later, earlier| {
            let same = later.path == earlier.path && later.key(&chunks) == earlier.key(&chunks);
            if same {
                *earlier = *later;
            }
            same
        });
        Level::of(&paths, &values).write(out, files, &Texts { chunks: &chunks, later: &later }, 0);
        out.text.push('\n');
    }

    /// The text [`TfFile::write`] writes.
    #[cfg(test)]
    pub fn render(self) -> String {
        let written = crate::emit::out::collect(|files| {
            let mut out = Out::open(files, String::new());
            self.write(&mut out, files);
            out.close(files);
            Ok(())
        });
        written.ok().and_then(|mut files| files.pop()).map(|(_, text)| text).unwrap_or_default()
    }
}

/// `values` by path, then key, then in the order they were added (equal keys stay in
/// that order, which ends every tie: an unstable sort gives the stable sort's order).
///
/// What is sorted is each value's path, index and key prefix, not the values: a fleet's
/// root has tens of thousands, which a sort would move a dozen times each, and most pairs
/// are told apart by their path and prefix alone.
fn sorted(values: &[Placed], chunks: &[String]) -> Vec<Placed> {
    // The path in the high half, the index (the order added) in the low one: a file has
    // far fewer than 2^32 of either (a fleet-40k root, about 600,000 values).
    let mut order: Vec<(u128, u64)> =
        values.iter().enumerate().map(|(i, v)| (v.prefix, (v.path as u64) << 32 | i as u64)).collect();
    order.sort_unstable_by(|a, b| {
        (a.1 >> 32, a.0).cmp(&(b.1 >> 32, b.0)).then_with(|| {
            let (x, y) = (&values[a.1 as u32 as usize], &values[b.1 as u32 as usize]);
            x.key(chunks).cmp(y.key(chunks)).then((a.1 as u32).cmp(&(b.1 as u32)))
        })
    });
    order.iter().map(|&(_, at)| values[at as u32 as usize]).collect()
}

/// What a file's values' texts are read from: its buffers, and its [`Later`] values.
struct Texts<'f> {
    chunks: &'f [String],
    later: &'f [Box<dyn Later>],
}

/// One object of a file being rendered: the values placed at its path, in key order,
/// and the objects below it by key.
#[derive(Default)]
struct Level<'f> {
    values: &'f [Placed],
    below: BTreeMap<&'f str, Level<'f>>,
}

/// An entry of a [`Level`]: a value, or an object below.
enum Entry<'l, 'f> {
    Value(&'f Placed),
    Below(&'l Level<'f>),
}

impl<'f> Level<'f> {
    /// The levels of `values`, sorted by path then key: each path's values are one run.
    fn of(paths: &'f [Vec<String>], values: &'f [Placed]) -> Level<'f> {
        let mut root = Level::default();
        let mut rest = values;
        while let Some(first) = rest.first() {
            let (run, after) = rest.split_at(rest.iter().take_while(|v| v.path == first.path).count());
            let mut level = &mut root;
            for segment in &paths[first.path] {
                level = level.below.entry(segment.as_str()).or_default();
            }
            level.values = run;
            rest = after;
        }
        root
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty() && self.below.is_empty()
    }

    /// Hands `f` the entries in key order. A key that is both a value and an object
    /// below is the object, as a map whose key was made a block would hold.
    fn each<'l>(&'l self, text: &'f [String], mut f: impl FnMut(&'f str, Entry<'l, 'f>)) {
        let mut values = self.values.iter().peekable();
        let mut below = self.below.iter().peekable();
        loop {
            let value_first = match (values.peek(), below.peek()) {
                (None, None) => break,
                (Some(value), Some((key, _))) => value.key(text) < **key,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if value_first {
                if let Some(value) = values.next() {
                    f(value.key(text), Entry::Value(value));
                }
            } else if let Some((key, level)) = below.next() {
                if values.peek().is_some_and(|value| value.key(text) == *key) {
                    values.next();
                }
                f(key, Entry::Below(level));
            }
        }
    }

    /// Writes the level as [`write_object`] writes an object at `depth`.
    /// The text is handed on after each value, once it holds a piece.
    fn write(&self, out: &mut Out, files: &mut dyn Files, texts: &Texts<'f>, depth: usize) {
        let text = texts.chunks;
        if self.is_empty() {
            out.text.push_str("{}");
            return;
        }
        out.text.push('{');
        let mut first = true;
        self.each(text, |key, entry| {
            out.text.push_str(if first { "\n" } else { ",\n" });
            first = false;
            indent(&mut out.text, depth + 1);
            write_string(&mut out.text, key);
            out.text.push_str(": ");
            match entry {
                Entry::Value(value) => {
                    match value.value {
                        Text::Written(from, to) => out.text.push_str(&text[value.chunk][from..to]),
                        Text::Later(source, id) => texts.later[source].write(id, &mut out.text, depth + 1),
                    }
                    out.spill(files);
                }
                Entry::Below(level) => level.write(out, files, texts, depth + 1),
            }
        });
        out.text.push('\n');
        indent(&mut out.text, depth);
        out.text.push('}');
    }
}

/// Writes `value` as serde_json's pretty printer would, its first line already
/// indented, its inner lines indented for `depth`.
fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        Value::Object(map) => write_object(out, map.iter(), depth, write_value),
    }
}

/// `{ "key": value, ... }` across lines; `{}` when empty.
fn write_object<'a, K: WriteKey, V: 'a>(
    out: &mut String,
    entries: impl ExactSizeIterator<Item = (K, &'a V)>,
    depth: usize,
    mut write: impl FnMut(&mut String, &V, usize),
) {
    if entries.len() == 0 {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (key, value)) in entries.enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        indent(out, depth + 1);
        key.write(out);
        out.push_str(": ");
        write(out, value, depth + 1);
    }
    out.push('\n');
    indent(out, depth);
    out.push('}');
}

/// Writes an object of `fields` at `depth` as [`write_value`] writes the equivalent
/// [`obj`] (sorted first), straight to text: for the blocks a fleet has thousands of,
/// such as security group rules. The keys are govc's own, unique and plain, like
/// [`ObjectWriter`]'s: written as they are.
pub fn write_fields(out: &mut String, fields: &mut [(&'static str, Scalar<'_>)], depth: usize) {
    fields.sort_unstable_by_key(|(key, _)| *key);
    debug_assert!(fields.windows(2).all(|w| w[0].0 != w[1].0), "a block's keys are unique");
    debug_assert!(fields.iter().all(|(key, _)| !needs_escape(key.as_bytes())), "keys are plain");
    let keys = fields.iter().map(|(k, v)| (PlainKey(k), v));
    write_object(out, keys, depth, |out, scalar, _| match scalar {
        Scalar::Lit(s) => write_string(out, &escaped(s)),
        Scalar::Ref(expr) => write_reference(out, &[expr]),
        Scalar::Attr(ty, name, attr) => write_attribute(out, ty, name, attr),
        Scalar::Int(n) => crate::emit::push_decimal(out, *n),
    })
}

/// A key of [`write_object`]: any string, escaped, or one of govc's own, as it is.
trait WriteKey {
    fn write(&self, out: &mut String);
}

impl<T: AsRef<str>> WriteKey for T {
    fn write(&self, out: &mut String) {
        write_string(out, self.as_ref());
    }
}

/// A key that needs no escape (govc's own field names): written as it is.
struct PlainKey<'k>(&'k str);

impl WriteKey for PlainKey<'_> {
    fn write(&self, out: &mut String) {
        out.push('"');
        out.push_str(self.0);
        out.push('"');
    }
}

/// The entries of a JSON object written straight to text, in serde_json's pretty
/// layout, as [`write_value`] writes the equivalent [`Value::Object`]: keys are govc's
/// own (not escaped) and must come in sorted order, as a [`Map`] would hold them.
pub struct ObjectWriter<'o> {
    out: &'o mut String,
    /// The depth of the object: its entries are one level deeper.
    depth: usize,
    /// Nothing written yet: the object is still `{}`.
    empty: bool,
    /// The key written last, to hold the caller to the order of a [`Map`].
    #[cfg(debug_assertions)]
    last: Option<String>,
}

/// The items of a JSON array written straight to text, like [`ObjectWriter`]'s entries.
pub struct ArrayWriter<'o> {
    out: &'o mut String,
    depth: usize,
    empty: bool,
}

/// Writes the object whose entries `f` writes, at `depth`, its first line already
/// indented: `{}` when `f` writes none.
fn write_object_with(out: &mut String, depth: usize, f: impl FnOnce(&mut ObjectWriter)) {
    let mut w = ObjectWriter {
        out,
        depth,
        empty: true,
        #[cfg(debug_assertions)]
        last: None,
    };
    f(&mut w);
    close(w.out, w.empty, depth, "{}", '}');
}

/// Writes the array whose items `f` writes, like [`write_object_with`].
fn write_array_with(out: &mut String, depth: usize, f: impl FnOnce(&mut ArrayWriter)) {
    let mut w = ArrayWriter { out, depth, empty: true };
    f(&mut w);
    close(w.out, w.empty, depth, "[]", ']');
}

/// Ends a collection: `empty` as a whole when nothing was written, else the closing
/// bracket on a line of its own.
fn close(out: &mut String, was_empty: bool, depth: usize, empty: &str, closing: char) {
    if was_empty {
        out.push_str(empty);
    } else {
        out.push('\n');
        indent(out, depth);
        out.push(closing);
    }
}

/// Starts the next entry or item of a collection opened by `opening`.
fn next_line(out: &mut String, empty: &mut bool, opening: &str, depth: usize) {
    out.push_str(if *empty { opening } else { ",\n" });
    *empty = false;
    indent(out, depth + 1);
}

impl ObjectWriter<'_> {
    /// Starts the entry of `key`.
    fn key(&mut self, key: &str) -> &mut String {
        #[cfg(debug_assertions)]
        {
            debug_assert!(
                self.last.as_deref().is_none_or(|last| last < key),
                "keys in order: {key} after {:?}",
                self.last
            );
            self.last = Some(key.to_string());
        }
        next_line(self.out, &mut self.empty, "{\n", self.depth);
        write_string(self.out, key);
        self.out.push_str(": ");
        self.out
    }

    /// `key: value`, any value.
    pub fn value(&mut self, key: &str, value: &Value) -> &mut Self {
        let depth = self.depth + 1;
        write_value(self.key(key), value, depth);
        self
    }

    /// `key: "<s>"`, a literal, escaped like [`lit`].
    pub fn lit(&mut self, key: &str, s: &str) -> &mut Self {
        write_string(self.key(key), &escaped(s));
        self
    }

    /// `key: "${<expr>}"` of an expression given in pieces, like [`reference_of`].
    pub fn reference(&mut self, key: &str, parts: &[&str]) -> &mut Self {
        let out = self.key(key);
        write_reference(out, parts);
        self
    }

    /// `key:` the object whose entries `f` writes.
    pub fn object(&mut self, key: &str, f: impl FnOnce(&mut ObjectWriter)) -> &mut Self {
        let depth = self.depth + 1;
        write_object_with(self.key(key), depth, f);
        self
    }

    /// `key:` the array whose items `f` writes.
    pub fn array(&mut self, key: &str, f: impl FnOnce(&mut ArrayWriter)) -> &mut Self {
        let depth = self.depth + 1;
        write_array_with(self.key(key), depth, f);
        self
    }
}

impl ArrayWriter<'_> {
    /// Starts the next item.
    fn item(&mut self) -> &mut String {
        next_line(self.out, &mut self.empty, "[\n", self.depth);
        self.out
    }

    /// Any value.
    pub fn value(&mut self, value: &Value) -> &mut Self {
        let depth = self.depth + 1;
        write_value(self.item(), value, depth);
        self
    }

    /// A literal, escaped like [`lit`].
    pub fn lit(&mut self, s: &str) -> &mut Self {
        write_string(self.item(), &escaped(s));
        self
    }

    /// `"${<expr>}"` of an expression given in pieces, like [`reference_of`].
    pub fn reference(&mut self, parts: &[&str]) -> &mut Self {
        write_reference(self.item(), parts);
        self
    }

    /// The object whose entries `f` writes.
    pub fn object(&mut self, f: impl FnOnce(&mut ObjectWriter)) -> &mut Self {
        let depth = self.depth + 1;
        write_object_with(self.item(), depth, f);
        self
    }
}

/// Integers digit by digit (ports, sizes, counts: most numbers of a file); anything
/// else through `Number`'s Display, which is the serializer's own text (ryu).
fn write_number(out: &mut String, n: &Number) {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => crate::emit::push_decimal(out, u),
        (None, Some(i)) => {
            out.push('-');
            crate::emit::push_decimal(out, i.unsigned_abs());
        }
        (None, None) => {
            let _ = write!(out, "{n}");
        }
    }
}

/// The indent of a line at `depth`: two spaces a level, as serde_json writes it.
fn indent(out: &mut String, depth: usize) {
    crate::emit::push_spaces(out, depth * 2);
}

/// A JSON string as serde_json writes it: `"` and `\` escaped, control characters as
/// `\n`-style escapes or `\u00xx`; everything else (non-ASCII included) as is.
fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    write_escaped(out, s);
    out.push('"');
}

/// The JSON string of the reference `${<parts joined>}` ([`reference_of`]), its
/// constant pieces (`"${`, a lone `.`, `}"`) written as they are, not searched for
/// characters to escape: a fleet's rules hold a hundred thousand of them.
fn write_reference(out: &mut String, parts: &[&str]) {
    out.push_str("\"${");
    for &part in parts {
        match part {
            "." => out.push('.'),
            _ => write_escaped(out, part),
        }
    }
    out.push_str("}\"");
}

/// The JSON string of the reference `${<ty>.<name>.<attr>}`: the type and the attribute
/// are govc's own, written as they are (a fleet's rules hold tens of thousands); only the
/// name is searched for characters to escape.
fn write_attribute(out: &mut String, ty: &'static str, name: &str, attr: &'static str) {
    debug_assert!(!needs_escape(ty.as_bytes()) && !needs_escape(attr.as_bytes()), "{ty}.{attr} is plain");
    out.push_str("\"${");
    out.push_str(ty);
    out.push('.');
    write_escaped(out, name);
    out.push('.');
    out.push_str(attr);
    out.push_str("}\"");
}

/// The bytes a JSON string escapes: `"`, `\\` and the control characters.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether some byte of `bytes` is one JSON escapes ([`ESCAPED`]): eight bytes at a time
/// (a file is mostly strings, and nearly none holds such a byte), the rest one by one.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = ONES << 7;
    // A byte of `x` below `n` (n ≤ 0x80) sets the high bit of its byte in the result.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = below(w, 0x20) | below(w ^ (ONES * u64::from(b'"')), 1) | below(w ^ (ONES * u64::from(b'\\')), 1);
        if hits != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| ESCAPED[usize::from(b)])
}

/// `s` escaped as inside a JSON string, as serde_json escapes it.
fn write_escaped(out: &mut String, s: &str) {
    // The common case: nothing to escape.
    if !needs_escape(s.as_bytes()) {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    for (at, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\t' => "\\t",
            b'\r' => "\\r",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..at]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        start = at + 1;
    }
    out.push_str(&s[start..]);
}

/// Adds `(key, value)` to an object value (used to extend a body built with [`obj`]).
pub fn set(body: &mut Value, key: &'static str, value: Value) {
    if let Value::Object(map) = body {
        map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// serde_json's `json!`, made one of this module's values.
    macro_rules! json {
        ($($t:tt)+) => {
            Value::from(serde_json::json!($($t)+))
        };
    }

    /// serde_json's own pretty printer, which the writer must match byte for byte.
    fn serde(value: &serde_json::Value) -> String {
        serde_json::to_string_pretty(value).expect("a JSON value always serializes")
    }

    /// This module's writer, on serde_json's value made one of this module's.
    fn ours(value: &serde_json::Value) -> String {
        let mut out = String::new();
        write_value(&mut out, &Value::from(value.clone()), 0);
        out
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let value = serde_json::json!({
            "": {},
            "a/b": [[], [{}], [1, -2, 3.5, 1e300, 0.1, u64::MAX, i64::MIN]],
            "esc": "quote \" back \\ nl \n tab \t cr \r bs \u{8} ff \u{c} nul \u{0} us \u{1f} del \u{7f}",
            "text": "héllo ☃ ${x} %{y}",
            "z": [null, true, false, {"k": {"deep": ["x"]}}],
        });
        assert_eq!(ours(&value), serde(&value));
    }

    #[test]
    fn a_file_is_its_blocks_rendered_in_key_order() {
        let mut file = TfFile::new("header");
        file.resource("aws_b", "second", obj([("x", lit("1"))]));
        file.resource("aws_a", "only", obj([("tags", json!({}))]));
        file.resource("aws_b", "first", json!({"list": ["a", "b"]}));
        file.data("aws_d", "d", json!({}));
        file.output("o", reference("aws_a.only.id"), "why");
        file.top("terraform", json!({"required_version": ">= 1.6"}));
        let mut root = serde_json::Map::new();
        root.insert("//".into(), "header".into());
        root.insert(
            "resource".into(),
            serde_json::json!({"aws_b": {"second": {"x": "1"}, "first": {"list": ["a", "b"]}}, "aws_a": {"only": {"tags": {}}}}),
        );
        root.insert("data".into(), serde_json::json!({"aws_d": {"d": {}}}));
        root.insert("output".into(), serde_json::json!({"o": {"description": "why", "value": "${aws_a.only.id}"}}));
        root.insert("terraform".into(), serde_json::json!({"required_version": ">= 1.6"}));
        assert_eq!(file.render(), serde(&serde_json::Value::Object(root)) + "\n");
    }

    /// A file of many pieces is the same text as one written at once.
    #[test]
    fn a_large_file_is_written_in_pieces() {
        let mut file = TfFile::new("header");
        let mut resources = serde_json::Map::new();
        for i in 0..3000 {
            let body = serde_json::json!({"cidr_blocks": [format!("10.0.{}.0/24", i % 256)], "port": i, "tags": {"Name": format!("r-{i}")}});
            file.resource("aws_rule", &format!("r-{i:04}"), Value::from(body.clone()));
            resources.insert(format!("r-{i:04}"), body);
        }
        let expected = serde_json::json!({"//": "header", "resource": {"aws_rule": resources}});
        let text = file.render();
        assert!(text.len() > 4 * crate::emit::out::PIECE, "several pieces: {}", text.len());
        assert_eq!(text, serde(&expected) + "\n");
    }

    /// A file holds what a map would: the last value set at a path and key wins, in
    /// whatever order the values came, and a key made a block is the block.
    #[test]
    fn a_file_keeps_the_last_value_of_a_key() {
        let mut file = TfFile::new("header");
        file.resource("aws_b", "z", json!({"v": 1}));
        file.resource("aws_a", "x", json!({"v": 2}));
        file.resource("aws_b", "a", json!({"v": 3}));
        file.resource("aws_b", "z", json!({"v": 4}));
        file.top("resource", json!("a value, then a block"));
        file.resource("aws_a", "x", json!({"v": 5}));
        file.top("output", json!("a value"));
        let expected = serde_json::json!({
            "//": "header",
            "output": "a value",
            "resource": {"aws_a": {"x": {"v": 5}}, "aws_b": {"a": {"v": 3}, "z": {"v": 4}}},
        });
        assert_eq!(file.render(), serde(&expected) + "\n");
    }

    #[test]
    fn a_reference_in_pieces_is_the_reference() {
        assert_eq!(reference_of(&["aws_iam_role.", "svc_a", ".arn"]), reference("aws_iam_role.svc_a.arn"));
        assert_eq!(reference_of(&[]), reference(""));
    }

    /// The word-at-a-time test agrees with the table on every byte, at every position.
    #[test]
    fn a_byte_to_escape_is_found_anywhere() {
        for b in 0..=255u8 {
            for len in [1, 7, 8, 9, 17] {
                for at in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    assert_eq!(needs_escape(&bytes), ESCAPED[usize::from(b)], "{b:#x} at {at} of {len}");
                }
            }
        }
        assert!(!needs_escape(b""));
        assert!(!needs_escape("héllo ☃ wörld, no escape".as_bytes()));
    }

    /// A map keeps its keys in serde_json's order (bytes) and each once, the last value
    /// set winning, as a `BTreeMap` would.
    #[test]
    fn a_map_is_sorted_by_key_and_keeps_the_last_value() {
        let pairs = [("b", 1), ("a/b", 2), ("B", 3), ("b", 4), ("", 5), ("é", 6), ("a", 7)];
        let ours: Map = pairs.iter().map(|(k, v)| (*k, Value::from(*v))).collect();
        let theirs: BTreeMap<&str, Value> = pairs.iter().map(|(k, v)| (*k, Value::from(*v))).collect();
        assert_eq!(ours.iter().collect::<Vec<_>>(), theirs.iter().map(|(k, v)| (*k, v)).collect::<Vec<_>>());
    }

    proptest::proptest! {
        /// An identifier is the name with every other character made `_`, and a `_` first
        /// when the result would not start with a letter or `_`; with a prefix, the prefix
        /// then that.
        #[test]
        fn identifiers_are_made_as_defined(name in "[a-z0-9_.é -]{0,6}", prefix in "(svc_)?") {
            let mut want: String =
                name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
            if !want.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                want.insert(0, '_');
            }
            proptest::prop_assert_eq!(ident(&name), want.clone());
            proptest::prop_assert_eq!(prefixed_ident(&prefix, &name), format!("{prefix}{want}"));
        }
    }

    /// Rules kept as records: a name, a port and a group each, written by [`write_fields`].
    struct Records(Vec<(&'static str, u64, &'static str)>);

    const RULE: [&str; 2] = ["resource", "aws_rule"];

    impl Later for Records {
        fn len(&self) -> usize {
            self.0.len()
        }

        fn place(&self, id: usize) -> (&[&'static str], &str) {
            (&RULE, self.0[id].0)
        }

        fn write(&self, id: usize, out: &mut String, depth: usize) {
            let (_, port, group) = self.0[id];
            let mut fields = [
                ("to_port", Scalar::Int(port)),
                ("description", Scalar::Lit("to \"db\" ${x} %{y}\n")),
                ("security_group_id", Scalar::Attr("aws_security_group", group, "id")),
                ("from_port", Scalar::Int(0)),
                ("prefix_list_id", Scalar::Ref("aws_vpc_endpoint.s3.prefix_list_id")),
            ];
            let fields: &mut [_] = if group.is_empty() { &mut [] } else { &mut fields };
            write_fields(out, fields, depth);
        }
    }

    /// The tree [`Records`] stands for, value `(name, port, group)`.
    fn record_tree(port: u64, group: &str) -> Value {
        if group.is_empty() {
            return json!({});
        }
        obj([
            ("to_port", Value::from(port)),
            ("description", lit("to \"db\" ${x} %{y}\n")),
            ("security_group_id", reference_of(&["aws_security_group.", group, ".id"])),
            ("from_port", Value::from(0)),
            ("prefix_list_id", reference("aws_vpc_endpoint.s3.prefix_list_id")),
        ])
    }

    /// Values written when the file is are the values their trees would be, in key order
    /// among the others of their path, and of one path and key the value added last
    /// wins, whichever way each was added.
    #[test]
    fn later_values_are_written_as_their_objects_would_be() {
        // A name is escaped like any string, though govc's never need it.
        let records =
            vec![("r", 8080, "svc-\"1\\"), ("empty", 1, ""), ("b", 443, "web"), ("a", 5432, "db"), ("b", 444, "web2")];
        let mut fast = TfFile::new("h");
        fast.resource("aws_rule", "c", record_tree(9, "first"));
        fast.resource("aws_rule", "a", record_tree(7, "replaced"));
        fast.resource("aws_other", "x", record_tree(1, "other"));
        fast.add_later(Box::new(Records(records.clone())));
        fast.resource("aws_rule", "r", record_tree(6, "last"));
        let mut tree = TfFile::new("h");
        tree.resource("aws_rule", "c", record_tree(9, "first"));
        tree.resource("aws_rule", "a", record_tree(7, "replaced"));
        tree.resource("aws_other", "x", record_tree(1, "other"));
        for (name, port, group) in records {
            tree.resource("aws_rule", name, record_tree(port, group));
        }
        tree.resource("aws_rule", "r", record_tree(6, "last"));
        let text = fast.render();
        assert_eq!(text, tree.render());
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("the file is JSON");
        let rules = &parsed["resource"]["aws_rule"];
        let names: Vec<&str> = rules.as_object().expect("rules").keys().map(String::as_str).collect();
        assert_eq!(names, ["a", "b", "c", "empty", "r"]);
        assert_eq!(rules["a"]["to_port"], 5432);
        assert_eq!(rules["b"]["to_port"], 444);
        assert_eq!(rules["r"]["security_group_id"], "${aws_security_group.last.id}");
        assert_eq!(rules["empty"], serde_json::json!({}));
    }

    fn any_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value as J;
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::from),
            any::<i64>().prop_map(J::from),
            any::<f64>().prop_map(J::from),
            any::<String>().prop_map(J::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| J::Object(m.into_iter().collect())),
            ]
        })
    }

    /// What may be added to a file: a resource, a data source, an output or a top-level
    /// key (never one of the blocks' own), with few names, so that keys repeat.
    fn any_addition() -> impl Strategy<Value = (u8, &'static str, &'static str, serde_json::Value)> {
        let ty = prop::sample::select(vec!["aws_b", "aws_a", "aws_a_b"]);
        // Keys beyond the 16 bytes of a value's prefix, some equal there, one a prefix of others.
        let long = [
            "svc_service-one_out_dns_tcp_53",
            "svc_service-one_out_dns_udp_53",
            "svc_service-one_",
            "svc_service-one_0",
        ];
        let key =
            prop::sample::select([&["k", "k2", "a-b", "a_b", "aws_a", "zz", "é", "terraform"][..], &long].concat());
        (0u8..4, ty, key, any_value())
    }

    /// `value` with its strings made literals ([`lit`]): what the writers' `lit` writes.
    fn literal(value: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match value {
            J::String(s) => lit(s),
            J::Array(items) => Value::Array(items.iter().map(literal).collect()),
            J::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), literal(v))).collect()),
            other => Value::from(other.clone()),
        }
    }

    /// `value` written through [`ObjectWriter`] and [`ArrayWriter`] at `depth`: its
    /// collections by `object` and `array`, its strings by `lit`, the rest by `value`.
    fn through_writers(value: &serde_json::Value, depth: usize) -> String {
        use serde_json::Value as J;
        fn entries(o: &mut ObjectWriter, map: &serde_json::Map<String, J>) {
            for (key, value) in map {
                match value {
                    J::Object(inner) => o.object(key, |o| entries(o, inner)),
                    J::Array(items) => o.array(key, |a| elements(a, items)),
                    J::String(s) => o.lit(key, s),
                    other => o.value(key, &Value::from(other.clone())),
                };
            }
        }
        fn elements(a: &mut ArrayWriter, items: &[J]) {
            for item in items {
                match item {
                    J::Object(inner) => a.object(|o| entries(o, inner)),
                    J::Array(items) => {
                        let items = items.clone();
                        a.value(&literal(&J::Array(items)))
                    }
                    J::String(s) => a.lit(s),
                    other => a.value(&Value::from(other.clone())),
                };
            }
        }
        let mut out = String::new();
        match value {
            J::Object(map) => write_object_with(&mut out, depth, |o| entries(o, map)),
            J::Array(items) => write_array_with(&mut out, depth, |a| elements(a, items)),
            other => write_value(&mut out, &literal(other), depth),
        }
        out
    }

    /// A reference written in pieces is [`reference_of`]'s value, escaped for JSON
    /// (never for Terraform: `$` stays as it is).
    #[test]
    fn a_reference_is_written_as_reference_of_writes_it() {
        let parts = ["aws_iam_role.", "a\"b", ".arn", "$x\\"];
        let mut through = String::new();
        write_object_with(&mut through, 1, |o| {
            o.reference("k", &parts).array("l", |a| {
                a.reference(&parts);
            });
        });
        let mut tree = String::new();
        let value = obj([("k", reference_of(&parts)), ("l", Value::Array(vec![reference_of(&parts)]))]);
        write_value(&mut tree, &value, 1);
        assert_eq!(through, tree);
    }

    proptest! {
        #[test]
        fn any_value_is_written_as_serde_json_writes_it(value in any_value()) {
            prop_assert_eq!(ours(&value), serde(&value));
        }

        /// The writers write what [`write_value`] writes of the same tree, at any depth.
        #[test]
        fn the_writers_write_what_the_tree_writer_writes(value in any_value(), depth in 0usize..4) {
            let mut tree = String::new();
            write_value(&mut tree, &literal(&value), depth);
            prop_assert_eq!(through_writers(&value, depth), tree);
        }

        /// A file of any additions is the map of them serde_json writes: keys in order at
        /// every level, the last value of a key winning.
        #[test]
        fn a_file_is_the_map_of_its_additions(additions in prop::collection::vec(any_addition(), 0..40)) {
            use serde_json::{Map as JMap, Value as J};
            let mut file = TfFile::new("header");
            let mut root = JMap::new();
            root.insert("//".into(), "header".into());
            for (what, ty, key, value) in additions {
                let (path, body): (Vec<&str>, J) = match what {
                    0 => (vec!["resource", ty], value),
                    1 => (vec!["data", ty], value),
                    2 => (vec!["output"], serde_json::json!({"description": "why", "value": value})),
                    _ => (vec![], value),
                };
                match what {
                    0 => file.resource(ty, key, Value::from(body.clone())),
                    1 => file.data(ty, key, Value::from(body.clone())),
                    2 => file.output(key, Value::from(body["value"].clone()), "why"),
                    _ => file.top(key, Value::from(body.clone())),
                }
                let mut level = &mut root;
                for segment in path {
                    let entry = level.entry(segment).or_insert_with(|| J::Object(JMap::new()));
                    let J::Object(inner) = entry else { unreachable!("blocks are objects") };
                    level = inner;
                }
                level.insert(key.to_string(), body);
            }
            prop_assert_eq!(file.render(), serde(&J::Object(root)) + "\n");
        }
    }
}
