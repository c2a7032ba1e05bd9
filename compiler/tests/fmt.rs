//! The lossless tree and the formatter, on the repository's `.gov` files and on
//! random and mutated inputs:
//! - the tree prints back its input byte for byte, whatever the input;
//! - on every text the compiler's parser accepts, the tree has the same blocks,
//!   fields, routes and values, with the same spans, as the AST;
//! - formatting is idempotent, keeps every token (but `,`/`;` separators) and
//!   every comment in order, and never changes meaning: the compilation of the
//!   formatted project has the same diagnostics and emits the same files.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use govc::diag::Diagnostics;
use govc::syntax::ast::{self, BlockLabel, Entry, ValueKind};
use govc::syntax::cst::{self, NodeKind, SyntaxTree, TokenKind};
use govc::syntax::parse_file;
use govc::{compile, Code, FileId, Options, Sources};
use proptest::prelude::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.gov` file below `dir`, as (path relative to `dir`, text), sorted.
fn gov_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("the corpus exists").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "gov") {
                let rel = p.strip_prefix(dir).expect("below").to_string_lossy().into_owned();
                out.push((rel, fs::read_to_string(&p).expect("readable")));
            }
        }
    }
    out.sort();
    out
}

/// The projects of the corpus: the reference system, each example, the stdlib
/// and each test case (a file, or a directory of files).
fn projects() -> Vec<(String, Vec<(String, String)>)> {
    let root = repo();
    let mut out = vec![("envs".to_string(), gov_files(&root.join("envs")))];
    let mut examples: Vec<_> =
        fs::read_dir(root.join("examples")).expect("examples").flatten().map(|e| e.path()).collect();
    examples.sort();
    for example in examples.iter().filter(|p| p.is_dir()) {
        let name = example.strip_prefix(&root).expect("below").to_string_lossy().into_owned();
        out.push((name, gov_files(example)));
    }
    out.push(("stdlib".to_string(), gov_files(&root.join("stdlib"))));
    let cases = root.join("tests/cases");
    let mut families: Vec<_> = fs::read_dir(&cases).expect("cases").flatten().map(|e| e.path()).collect();
    families.sort();
    for family in families {
        let mut entries: Vec<_> = fs::read_dir(&family).expect("family").flatten().map(|e| e.path()).collect();
        entries.sort();
        for entry in entries {
            let name = entry.strip_prefix(&root).expect("below").to_string_lossy().into_owned();
            if entry.is_dir() {
                out.push((name, gov_files(&entry)));
            } else if entry.extension().is_some_and(|x| x == "gov") {
                out.push((name, vec![("project.gov".to_string(), fs::read_to_string(&entry).expect("readable"))]));
            }
        }
    }
    out
}

/// Whether the compiler's parser reports a syntax error (E101, E103) in `text`.
fn parse_errors(text: &str) -> (ast::File, bool) {
    let mut sources = Sources::new();
    sources.add("x.gov", text);
    let mut diags = Diagnostics::new();
    let file = parse_file(&sources, FileId(0), &mut diags);
    let errors = diags.into_sorted().iter().any(|d| d.is_error() && d.code != Code::E102);
    (file, errors)
}

fn assert_lossless(text: &str) {
    let tree = SyntaxTree::parse(text);
    assert_eq!(tree.print(), text);
    let mut pos = 0;
    for token in tree.root().descendant_tokens() {
        assert_eq!(token.start as usize, pos, "tokens tile the text");
        assert!(token.end > token.start, "no empty token");
        pos = token.end as usize;
    }
    assert_eq!(pos, text.len());
}

/// The tree and the AST agree on everything the AST holds.
fn assert_agrees(text: &str) {
    let (file, errors) = parse_errors(text);
    if errors {
        return;
    }
    let tree = SyntaxTree::parse(text);
    assert!(!tree.has_errors(), "the tree rejects what the parser accepts: {:?} in {text:?}", tree.errors());
    let items = tree.items();
    assert_eq!(items.len(), file.items.len(), "items of {text:?}");
    for (c, a) in items.iter().zip(&file.items) {
        same_block(c, a);
    }
}

fn same_block(c: &cst::Block<'_>, a: &ast::Block) {
    assert_eq!(c.range(), a.span.range());
    assert_eq!(c.kind(), a.kind.name);
    match &a.label {
        None => assert_eq!(c.label_token(), None),
        Some(BlockLabel::Name(n)) => assert_eq!(c.label(), Some(n.name.as_str())),
        Some(BlockLabel::Str(s)) => assert_eq!(c.label_token().map(|t| t.range()), Some(s.span.range())),
    }
    let entries = c.entries();
    assert_eq!(entries.len(), a.entries.len(), "entries of `{}`", a.kind.name);
    for (ce, ae) in entries.iter().zip(&a.entries) {
        assert_eq!(ce.range(), ae.span().range());
        match (ce, ae) {
            (cst::Entry::Block(cb), Entry::Block(ab)) => same_block(cb, ab),
            (cst::Entry::Field(cf), Entry::Field(af)) => {
                assert_eq!(cf.name(), af.name.name);
                same_value(&cf.value().expect("a value"), &af.value);
            }
            (cst::Entry::Route(cr), Entry::Route(ar)) => {
                assert_eq!(cr.target(), Some(ar.target.name.as_str()));
                assert_eq!(cr.path_token().map(|t| t.range()), Some(ar.path.span.range()));
                assert_eq!(cr.port_token().map(|t| t.range()), ar.port.map(|(_, s)| s.range()));
            }
            (c, a) => panic!("different entries: {c:?} and {a:?}"),
        }
    }
}

fn same_value(c: &cst::Value<'_>, a: &ast::Value) {
    assert_eq!(c.range(), a.span.range(), "value {:?}", c.text());
    match &a.kind {
        ValueKind::List(items) => {
            assert_eq!(c.kind(), NodeKind::List);
            let elements = c.elements();
            assert_eq!(elements.len(), items.len());
            for (ce, ae) in elements.iter().zip(items) {
                same_value(ce, ae);
            }
        }
        ValueKind::Path(_) => assert_eq!(c.kind(), NodeKind::Path),
        ValueKind::Range { .. } => assert_eq!(c.kind(), NodeKind::Range),
        _ => assert!(matches!(c.kind(), NodeKind::Literal | NodeKind::Range), "{:?}", c.kind()),
    }
}

/// The significant tokens (but separators) and the comments, in order.
fn meaningful_tokens(text: &str) -> Vec<(TokenKind, String)> {
    let tree = SyntaxTree::parse(text);
    tree.root()
        .descendant_tokens()
        .filter(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::Newline | TokenKind::Comma | TokenKind::Semi))
        .map(|t| (t.kind, tree.token_text(t).trim_end().to_string()))
        .collect()
}

/// Formats one file; checks idempotence and that only layout changed.
fn format_checked(text: &str) -> Option<String> {
    let out = govc::fmt::format(text).ok()?;
    assert_eq!(govc::fmt::format(&out).as_deref(), Ok(out.as_str()), "not idempotent on {text:?}");
    assert_eq!(meaningful_tokens(&out), meaningful_tokens(text), "tokens changed in {text:?}");
    Some(out)
}

/// What a compilation means: its diagnostics (code, severity, message) and its
/// files but the lock, whose source digest hashes the text.
fn meaning(files: &[(String, String)]) -> (Vec<String>, BTreeMap<String, String>) {
    let mut sources = Sources::with_stdlib();
    for (path, text) in files {
        sources.add(path.clone(), text.clone());
    }
    let compilation = compile(&sources, &Options { emit: true });
    let diags =
        compilation.diagnostics.iter().map(|d| format!("{:?}[{:?}] {}", d.severity, d.code, d.message)).collect();
    let mut out = compilation.files;
    out.remove(govc::lock::LOCK_FILE);
    (diags, out)
}

/// Formats every file of a project; when all format, the meaning is unchanged.
fn check_project(files: &[(String, String)]) {
    let formatted: Option<Vec<(String, String)>> =
        files.iter().map(|(p, t)| format_checked(t).map(|out| (p.clone(), out))).collect();
    if let Some(formatted) = formatted {
        assert_eq!(meaning(&formatted), meaning(files), "meaning changed");
    }
}

#[test]
fn the_tree_is_lossless_and_agrees_with_the_ast_on_the_corpus() {
    let mut files = 0;
    for (_, project) in projects() {
        for (_, text) in project {
            assert_lossless(&text);
            assert_agrees(&text);
            files += 1;
        }
    }
    assert!(files > 50, "the corpus was found: {files} files");
}

#[test]
fn formatting_the_corpus_is_idempotent_and_keeps_meaning() {
    let mut formatted = 0;
    for (name, project) in projects() {
        if name == "stdlib" {
            for (_, text) in &project {
                format_checked(text).expect("the stdlib formats");
            }
            continue;
        }
        check_project(&project);
        formatted += project.iter().filter(|(_, t)| govc::fmt::format(t).is_ok()).count();
    }
    assert!(formatted > 50, "{formatted} files formatted");
}

#[test]
fn the_repository_is_formatted() {
    for dir in ["envs", "examples", "stdlib"] {
        for (path, text) in gov_files(&repo().join(dir)) {
            assert_eq!(govc::fmt::format(&text).as_deref(), Ok(text.as_str()), "{dir}/{path} is not formatted");
        }
    }
}

/// One edit of a text: delete, duplicate or insert a range of bytes.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, &'static str),
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out = text.to_string();
    let at = |out: &String, n: usize| {
        let mut at = n % (out.len() + 1);
        while !out.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    for edit in edits {
        match edit {
            Edit::Delete(a, n) => {
                let start = at(&out, *a);
                let end = at(&out, start + n % 48);
                out.replace_range(start..end.max(start), "");
            }
            Edit::Duplicate(a, n) => {
                let start = at(&out, *a);
                let end = at(&out, start + n % 96).max(start);
                let piece = out[start..end].to_string();
                out.insert_str(start, &piece);
            }
            Edit::Insert(a, s) => {
                let start = at(&out, *a);
                out.insert_str(start, s);
            }
        }
    }
    out
}

fn edit() -> impl Strategy<Value = Edit> {
    let pieces: Vec<&'static str> = vec![
        "{",
        "}",
        "[",
        "]",
        "=",
        "\"",
        "->",
        "..",
        ".",
        ":",
        ",",
        ";",
        "#",
        "## doc\n",
        "# note\n",
        "\n",
        "\n\n",
        "  ",
        "\t",
        "\r\n",
        "service x { }",
        "env { A = b }",
        "route \"/\" -> x",
        "route \"/\" -> x:80",
        "10.0.0.0/8",
        "5GiB",
        "1..3",
        "[a, b]",
        "[\n  a, # c\n  b\n]",
        "x = [1, [2, 3]]",
        "true",
        "# c",
        "  # t\n",
        "\u{feff}",
        "é",
        "@",
    ];
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Edit::Duplicate(a, n)),
        (any::<usize>(), proptest::sample::select(pieces)).prop_map(|(a, t)| Edit::Insert(a, t)),
    ]
}

/// A project of the corpus: its name and its files.
type Project = (String, Vec<(String, String)>);

/// The corpus as one list of projects, read once.
fn corpus() -> &'static [Project] {
    static CORPUS: std::sync::OnceLock<Vec<Project>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(projects)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_tree_is_lossless_on_random_text(text in "(?s).{0,400}") {
        assert_lossless(&text);
        assert_agrees(&text);
        let _ = format_checked(&text);
    }

    #[test]
    fn the_tree_is_lossless_on_random_tokens(parts in proptest::collection::vec(
        proptest::sample::select(vec!["a", "b", "route", "\"s\"", "\"", "1", "..", ".", "=", "{", "}", "[", "]", ",", ";", ":", "->", " ", "\n", "# c\n", "## d\n", "5GiB", "10.0.0.0/8", "@"]), 0..80)) {
        let text: String = parts.concat();
        assert_lossless(&text);
        assert_agrees(&text);
        let _ = format_checked(&text);
    }

    #[test]
    fn mutated_files_round_trip_format_idempotently_and_keep_meaning(
        which in any::<usize>(),
        edits in proptest::collection::vec((any::<usize>(), edit()), 1..5),
    ) {
        let corpus = corpus();
        let (_, project) = &corpus[which % corpus.len()];
        let mut files = project.clone();
        for (target, e) in &edits {
            let i = target % files.len();
            files[i].1 = apply(&files[i].1, std::slice::from_ref(e));
        }
        for (_, text) in &files {
            assert_lossless(text);
            assert_agrees(text);
        }
        check_project(&files);
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    for text in ["a {".repeat(20_000), format!("x {{ y = {} }}", "[".repeat(50_000)), "}".repeat(10_000)] {
        assert_lossless(&text);
        assert!(SyntaxTree::parse(&text).has_errors());
        assert!(govc::fmt::format(&text).is_err());
    }
}
