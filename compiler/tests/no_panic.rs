//! govc never panics, whatever the input: the whole pipeline (parse, model, every
//! check and, when the input is clean, both emitters, then the diagnostics in every
//! format) runs on random bytes and on the reference system and examples mutated at
//! random.

use std::fs;
use std::path::Path;

use govc::diag::render;
use govc::{compile, Options, Sources};
use proptest::prelude::*;

/// The `.gov` files of the reference system and the examples: `(project, path, text)`.
fn corpus() -> Vec<(&'static str, String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in ["envs", "examples/three-envs", "examples/phased-ladder", "examples/minimal"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).expect("the corpus exists").flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "gov") {
                    let rel = p.strip_prefix(root.join(dir)).expect("below").to_string_lossy().into_owned();
                    out.push((dir, rel, fs::read_to_string(&p).expect("readable")));
                }
            }
        }
    }
    out.sort();
    out
}

fn compile_all(files: &[(String, Vec<u8>)]) {
    if let Ok(dir) = std::env::var("GOVC_FUZZ_DUMP") {
        let _ = fs::remove_dir_all(&dir);
        for (path, bytes) in files {
            let p = Path::new(&dir).join(path);
            let _ = fs::create_dir_all(p.parent().expect("parent"));
            let _ = fs::write(p, bytes);
        }
    }
    let mut sources = Sources::with_stdlib();
    for (path, bytes) in files {
        sources.add_bytes(path.clone(), bytes.clone());
    }
    let compilation = compile(&sources, &Options { emit: true });
    // The diagnostics render in every format, whatever they say and wherever they point.
    let diags = &compilation.diagnostics;
    let _ = render::human(diags, &sources, true);
    for line in render::json_lines(diags, &sources).lines() {
        assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "a JSON line that does not parse: {line}");
    }
    // The SARIF log is written a result at a time: the text its tree prints.
    let sarif = render::sarif(diags, &sources);
    let log: serde_json::Value = serde_json::from_str(&sarif).expect("the SARIF log parses");
    assert_eq!(sarif, serde_json::to_string_pretty(&log).expect("a tree prints") + "\n");
}

/// One edit of a text: delete, duplicate or insert a range of bytes.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, Vec<u8>),
}

fn apply(text: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = text.to_vec();
    for edit in edits {
        let len = out.len().max(1);
        match edit {
            Edit::Delete(at, n) => {
                let at = at % len;
                let end = (at + n % 64).min(out.len());
                out.drain(at.min(out.len())..end);
            }
            Edit::Duplicate(at, n) => {
                let at = (at % len).min(out.len());
                let end = (at + n % 128).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            Edit::Insert(at, bytes) => {
                let at = (at % len).min(out.len());
                out.splice(at..at, bytes.iter().copied());
            }
        }
    }
    out
}

fn edit() -> impl Strategy<Value = Edit> {
    let tokens: Vec<&'static [u8]> = vec![
        b"{",
        b"}",
        b"[",
        b"]",
        b"=",
        b"\"",
        b"->",
        b"..",
        b".",
        b":",
        b",",
        b"#",
        b"##",
        b"\n",
        b"service x { }",
        b"env { A = b }",
        b"route \"/\" -> x",
        b"10.0.0.0/8",
        b"5GiB",
        b"1..0",
        b"true",
        b"mirrors = staging",
        b"stack = app",
        b"\\u{110000}",
        b"\xff",
        b"99999999999999999999",
        b"\x0c",
        b"\x0b",
    ];
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Edit::Duplicate(a, n)),
        (any::<usize>(), proptest::sample::select(tokens)).prop_map(|(a, t)| Edit::Insert(a, t.to_vec())),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(a, b)| Edit::Insert(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        compile_all(&[("project.gov".to_string(), bytes)]);
    }

    #[test]
    fn mutated_projects_never_panic(which in 0usize..4, edits in proptest::collection::vec((any::<usize>(), edit()), 1..6)) {
        let corpus = corpus();
        let projects = ["envs", "examples/three-envs", "examples/phased-ladder", "examples/minimal"];
        let mut files: Vec<(String, Vec<u8>)> = corpus
            .iter()
            .filter(|(project, _, _)| *project == projects[which])
            .map(|(_, path, text)| (path.clone(), text.as_bytes().to_vec()))
            .collect();
        for (target, e) in &edits {
            let i = target % files.len();
            files[i].1 = apply(&files[i].1, std::slice::from_ref(e));
        }
        compile_all(&files);
    }
}
