//! The shapes `bench/shapes` times are what they claim: the clean ones check and build
//! with no diagnostic, and the two of mass errors give exactly their errors, each
//! misspelt service name with its suggestion.

use govc::{compile, Code, Options, Sources};
use govc_bench::shapes::{shape, Shape};

fn compiled(kind: Shape, n: usize, k: usize, envs: usize) -> govc::Compilation {
    let mut sources = Sources::with_stdlib();
    for (path, text) in shape(kind, n, k, envs) {
        sources.add(path, text);
    }
    compile(&sources, &Options { emit: true })
}

#[test]
fn the_clean_shapes_build_without_a_diagnostic() {
    for kind in Shape::ALL.into_iter().filter(|s| !matches!(s, Shape::Errors | Shape::Typos)) {
        let out = compiled(kind, 12, 4, 4);
        let found: Vec<String> = out.diagnostics.iter().map(|d| format!("{:?} {}", d.code, d.message)).collect();
        assert!(found.is_empty(), "{}: {found:?}", kind.name());
        assert!(out.files.keys().any(|f| f.starts_with("kubernetes/overlays/stg1/")), "{}", kind.name());
    }
}

#[test]
fn the_error_shapes_give_their_errors_once_each() {
    let out = compiled(Shape::Errors, 30, 0, 3);
    let codes = |code: Code| out.diagnostics.iter().filter(|d| d.code == code).count();
    assert_eq!((codes(Code::E206), codes(Code::E202), out.diagnostics.len()), (30, 30, 60));

    let out = compiled(Shape::Typos, 30, 0, 3);
    assert_eq!(out.diagnostics.len(), 30, "{:?}", out.diagnostics);
    for d in out.diagnostics.iter() {
        assert_eq!(d.code, Code::E206);
        let name = d.message.split('`').nth(1).expect("the name in backticks");
        let meant = name.strip_suffix('x').expect("a misspelt service");
        assert_eq!(d.help.as_deref(), Some(format!("did you mean `{meant}`?").as_str()), "{}", d.message);
    }
}
