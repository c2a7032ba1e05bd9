//! The RFC 6902 operations that turn a base object into an environment's: the text of
//! an overlay's inline patch. Maps are compared by key, sequences of equal length item
//! by item; anything else that differs is replaced whole.
//!
//! Two objects written as text ([`Body::Text`]) are compared as text: both come from the
//! same writer, which writes a value the same way wherever it stands (so equal values are
//! equal text, and the other way round), so a key or an item whose text is the same on
//! both sides is skipped whole, and only the lines that differ are walked into. A value
//! that an operation carries is read back from its lines. Objects of which one is a tree
//! are compared as trees.

use std::borrow::Cow;

use super::object::{Body, Object};
use super::yaml::{self, Field, Lines, Node, Shape, Yaml};

/// Appends the operations turning `base` into `obj`, as the items of a YAML sequence
/// (the text of an embedded document).
pub(super) fn diff_objects(base: &Object, obj: &Object, ops: &mut String) -> Result<(), String> {
    if let (Body::Text(from), Body::Text(to)) = (&base.body, &obj.body) {
        if from == to {
            return Ok(());
        }
        let mark = ops.len();
        if diff_texts(from, to, ops).is_some() {
            return Ok(());
        }
        // Not of the writer's style after all: the trees decide.
        ops.truncate(mark);
    }
    let (from, to) = (base.tree()?, obj.tree()?);
    diff_trees(&mut Vec::with_capacity(8), &from, &to, ops);
    Ok(())
}

/// Appends the operations turning `from` into `to`, the values at `path` (a path of map
/// keys) of two objects that are equal everywhere else.
pub(super) fn diff_at(path: &[&str], from: &Yaml, to: &Yaml, ops: &mut String) {
    let mut segments: Vec<Segment> = Vec::with_capacity(path.len() + 6);
    segments.extend(path.iter().map(|key| Segment::Key(key)));
    diff_trees(&mut segments, from, to, ops);
}

/// [`diff_at`] of an entry at `path` that either side may not have: its `add` or its
/// `remove` whole, else the walk into both values. What a diff of the two maps holding
/// it writes for it, when it is their only entry; beside others, the caller puts its
/// operations where that diff would (an added key's after the walk of the rest).
pub(super) fn diff_optional(path: &[&str], from: Option<&Yaml>, to: Option<&Yaml>, ops: &mut String) {
    let segments = || path.iter().map(|key| Segment::Key(key)).collect::<Vec<_>>();
    match (from, to) {
        (None, None) => {}
        (None, Some(to)) => push_op(ops, "add", &segments(), Some(to)),
        (Some(_), None) => push_op(ops, "remove", &segments(), None),
        (Some(from), Some(to)) => diff_at(path, from, to, ops),
    }
}

/// Appends the operations turning `from` into `to`. Collections are walked, not
/// compared whole first (a deep comparison at every level would cost the tree's size
/// times its depth on every object of a fleet), and `path` is a stack of the keys and
/// indexes walked, written as a JSON pointer only for an operation.
fn diff_trees<'a>(path: &mut Vec<Segment<'a>>, from: &'a Yaml, to: &'a Yaml, ops: &mut String) {
    match (from, to) {
        (Yaml::Map(a), Yaml::Map(b)) => {
            // Both sides are built by the same functions, so keys are usually at the same
            // index: try it first, and skip the search for added keys when all lined up.
            let mut aligned = a.len() == b.len();
            for (i, (key, old)) in a.iter().enumerate() {
                let found = match b.get(i) {
                    Some((k, v)) if same_key(k, key) => Some(v),
                    _ => {
                        aligned = false;
                        b.iter().find(|(k, _)| k == key).map(|(_, v)| v)
                    }
                };
                path.push(Segment::Key(key));
                match found {
                    Some(new) => diff_trees(path, old, new, ops),
                    None => push_op(ops, "remove", path, None),
                }
                path.pop();
            }
            if aligned {
                return;
            }
            for (key, new) in b {
                if !a.iter().any(|(k, _)| k == key) {
                    path.push(Segment::Key(key));
                    push_op(ops, "add", path, Some(new));
                    path.pop();
                }
            }
        }
        (Yaml::Seq(a), Yaml::Seq(b)) if a.len() == b.len() => {
            for (i, (old, new)) in a.iter().zip(b).enumerate() {
                path.push(Segment::Index(i));
                diff_trees(path, old, new, ops);
                path.pop();
            }
        }
        _ if from == to => {}
        _ => push_op(ops, "replace", path, Some(to)),
    }
}

/// [`diff_trees`] of the trees of two documents the writer wrote, walking their text;
/// `None` when a text is not of the writer's style.
fn diff_texts(from: &str, to: &str, ops: &mut String) -> Option<()> {
    let (from, to) = (Lines::new(from)?, Lines::new(to)?);
    diff_nodes(&mut Vec::with_capacity(8), Node::document(&from)?, Node::document(&to)?, ops)
}

/// [`diff_trees`] of two nodes at `path`.
fn diff_nodes<'t>(path: &mut Vec<Segment<'t>>, from: Node<'t>, to: Node<'t>, ops: &mut String) -> Option<()> {
    if from == to {
        return Some(());
    }
    match (from.shape(), to.shape()) {
        (Shape::Map, Shape::Map) => {
            let (a, b) = (from.entries()?, to.entries()?);
            let mut aligned = a.len() == b.len();
            for (i, (key, old)) in a.iter().enumerate() {
                let found = match b.get(i) {
                    Some((k, v)) if k == key => Some(v),
                    _ => {
                        aligned = false;
                        b.iter().find(|(k, _)| k == key).map(|(_, v)| v)
                    }
                };
                path.push(Segment::Written(key));
                match found {
                    Some(new) => diff_nodes(path, *old, *new, ops)?,
                    None => push_op(ops, "remove", path, None),
                }
                path.pop();
            }
            if !aligned {
                for (key, new) in &b {
                    if !a.iter().any(|(k, _)| k == key) {
                        path.push(Segment::Written(key));
                        push_op(ops, "add", path, Some(&new.value()?));
                        path.pop();
                    }
                }
            }
        }
        (Shape::Seq, Shape::Seq) => {
            let (a, b) = (from.items()?, to.items()?);
            if a.len() != b.len() {
                push_op(ops, "replace", path, Some(&to.value()?));
                return Some(());
            }
            for (i, (old, new)) in a.into_iter().zip(b).enumerate() {
                path.push(Segment::Index(i));
                diff_nodes(path, old, new, ops)?;
                path.pop();
            }
        }
        _ => push_op(ops, "replace", path, Some(&to.value()?)),
    }
    Some(())
}

/// One step of a JSON pointer: a map key, a key as the writer wrote it (plain or
/// double-quoted), or a sequence index.
#[derive(Clone, Copy)]
enum Segment<'a> {
    Key(&'a str),
    Written(&'a str),
    Index(usize),
}

/// Where the operations' lines start: they are written as an overlay's
/// `kustomization.yaml` holds them, the lines of the literal block of `patch:` in an
/// item of `patches:`, which takes them as they are (a fleet's overlay has thousands).
/// The writer's text indented is its text at this indentation, line by line, and is
/// always a literal block's: see `overlay::push_patch`.
pub(super) const INDENT: usize = 6;

/// Appends the operation `op` at `path`, with its value when it has one.
fn push_op(ops: &mut String, op: &str, path: &[Segment], value: Option<&Yaml>) {
    let pointer = pointer(path);
    let op = ("op", Field::Text(op));
    let at = ("path", Field::Text(&pointer));
    match value {
        Some(value) => yaml::push_map_item(ops, &[op, at, ("value", Field::Value(value))], INDENT),
        None => yaml::push_map_item(ops, &[op, at], INDENT),
    }
}

/// The JSON pointer of `path`: `/spec/template/0`.
fn pointer(path: &[Segment]) -> String {
    // Room for the usual pointer (`/spec/template/metadata/annotations/...`) at once.
    let mut out = String::with_capacity(64);
    for segment in path {
        match segment {
            Segment::Key(key) => push_pointer(&mut out, key),
            Segment::Written(key) => push_pointer(&mut out, &unquoted(key)),
            Segment::Index(i) => {
                out.push('/');
                crate::emit::push_decimal(&mut out, *i as u64);
            }
        }
    }
    out
}

/// A key as the writer wrote it, unquoted.
fn unquoted(key: &str) -> Cow<'_, str> {
    match yaml::read_value(key, "", 0, false) {
        Some(Yaml::Str(text)) if key.starts_with('"') => Cow::Owned(text.into_owned()),
        _ => Cow::Borrowed(key),
    }
}

/// Key equality, first by address: both sides' keys are mostly the same literals.
fn same_key(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// Appends `/key` with JSON pointer escaping: `~` → `~0`, `/` → `~1`.
fn push_pointer(path: &mut String, key: &str) {
    path.push('/');
    // Runs between the two ASCII characters to escape are pushed whole.
    let mut start = 0;
    for (at, b) in key.bytes().enumerate() {
        let escaped = match b {
            b'~' => "~0",
            b'/' => "~1",
            _ => continue,
        };
        path.push_str(&key[start..at]);
        path.push_str(escaped);
        start = at + 1;
    }
    path.push_str(&key[start..]);
}

/// Operations as a document of their own: their lines without [`INDENT`].
#[cfg(test)]
pub(super) fn flush_left(ops: &str) -> String {
    let pad = " ".repeat(INDENT);
    let lines = ops.split_inclusive('\n').map(|line| match line {
        "\n" => line,
        _ => line.strip_prefix(&pad).unwrap_or_else(|| panic!("`{line}` is indented {INDENT}")),
    });
    lines.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::kustomize::yaml::map;
    use proptest::prelude::*;

    /// An object written as text is compared like its tree, whichever side is text.
    #[test]
    fn objects_written_as_text_are_diffed_as_their_trees() {
        let written = |replicas: i64, label: &str| {
            let label = label.to_string();
            Object::written(
                "apps/v1",
                "Deployment",
                "web".to_string(),
                |m| {
                    m.map("labels", |l| {
                        l.str("tier", &label);
                    });
                },
                |doc| {
                    doc.map("spec", |s| {
                        s.int("replicas", replicas).seq("args", |a| {
                            a.str("--serve").str("two\nlines");
                        });
                    });
                },
            )
        };
        let tree =
            |obj: &Object| Object { body: Body::Tree(obj.tree().expect("reads back").into_owned()), ..obj.clone() };
        let (base, env) = (written(1, "dev"), written(3, "prod"));
        let mut expected = String::new();
        diff_trees(
            &mut Vec::new(),
            &tree(&base).tree().expect("a tree"),
            &tree(&env).tree().expect("a tree"),
            &mut expected,
        );
        assert_eq!(
            flush_left(&expected),
            "- op: replace\n  path: /metadata/labels/tier\n  value: prod\n- op: replace\n  path: /spec/replicas\n  value: 3\n"
        );
        for (from, to) in [(&base, &env), (&tree(&base), &env), (&base, &tree(&env))] {
            let mut ops = String::new();
            diff_objects(from, to, &mut ops).expect("diffs");
            assert_eq!(ops, expected);
        }
        let mut ops = String::new();
        diff_objects(&base, &written(1, "dev"), &mut ops).expect("diffs");
        assert_eq!(ops, "", "equal texts");
    }

    /// Trees with few keys and values, so that two of them share much and differ a little.
    fn similar_yaml() -> impl Strategy<Value = Yaml> {
        let leaf = prop_oneof![
            prop::sample::select(vec!["a", "b", "two\nlines", "x: y", "", "true"]).prop_map(Yaml::from),
            (0i64..3).prop_map(Yaml::Int),
            any::<bool>().prop_map(Yaml::Bool),
        ];
        leaf.prop_recursive(4, 40, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Yaml::Seq),
                prop::collection::vec((prop::sample::select(vec!["k", "l", "m/n", "o~p", "q r", "-"]), inner), 0..4)
                    .prop_map(|entries| {
                        let mut seen = Vec::new();
                        let entries = entries.into_iter().filter(|(k, _)| {
                            let fresh = !seen.contains(k);
                            seen.push(*k);
                            fresh
                        });
                        Yaml::Map(entries.map(|(k, v)| (Cow::Borrowed(k), v)).collect())
                    }),
            ]
        })
    }

    fn object(body: Yaml) -> Yaml {
        map([("kind", "Thing".into()), ("body", body)])
    }

    proptest! {
        /// Two documents' texts give the operations their trees give.
        #[test]
        fn texts_diff_as_their_trees(a in similar_yaml(), b in similar_yaml()) {
            let (a, b) = (object(a), object(b));
            let mut by_tree = String::new();
            diff_trees(&mut Vec::new(), &a, &b, &mut by_tree);
            let mut by_text = String::new();
            let read = diff_texts(&yaml::to_document(&a), &yaml::to_document(&b), &mut by_text);
            prop_assert!(read.is_some(), "{}\n{}", yaml::to_document(&a), yaml::to_document(&b));
            prop_assert_eq!(by_text, by_tree);
        }
    }

    #[test]
    fn diff_emits_minimal_operations() {
        let a = map([("spec", map([("replicas", 1i64.into()), ("x/y", "a".into())])), ("l", vec!["a", "b"].into())]);
        let b = map([("spec", map([("x/y", "b".into()), ("new", true.into())])), ("l", vec!["a", "c", "d"].into())]);
        let mut ops = String::new();
        diff_trees(&mut Vec::new(), &a, &b, &mut ops);
        assert_eq!(
            flush_left(&ops),
            "- op: remove\n  path: /spec/replicas\n- op: replace\n  path: \"/spec/x~1y\"\n  value: b\n- op: add\n  path: /spec/new\n  value: true\n- op: replace\n  path: /l\n  value:\n    - a\n    - c\n    - d\n"
        );
    }
}
