//! govc: the governance compiler.
//!
//! The pipeline, pure (no IO: [`Sources`] in, [`Compilation`] out):
//! 1. `syntax` parses every file into a partial AST, never failing;
//! 2. `model` lowers the AST against the stdlib schemas, merges stacks into
//!    environments, resolves names and checks types (E1xx, E2xx);
//! 3. `checks` proves the governance rules over the dependency graph (E3xx–E8xx);
//! 4. only when no error exists, `ir` is built and `emit` renders Terraform JSON,
//!    Kustomize overlays and the rest, a piece at a time (both beside the checks, once
//!    the model is free of errors; stopped and thrown away if they find one).

pub mod carve;
pub mod checks;
pub mod diag;
pub mod emit;
pub mod envdiff;
pub mod fmt;
pub mod ir;
pub mod lock;
pub mod model;
pub mod par;
pub mod promote;
pub mod query;
pub mod source;
pub mod stdlib;
pub mod syntax;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use diag::{Code, Diagnostic, Severity};
pub use source::{FileId, Sources, Span};

/// What to do beyond checking.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Render the output files (`govc build`); requires the `iac` capability (E702).
    pub emit: bool,
}

/// The result of a compilation: `F` is what is kept of each rendered file, its text
/// unless [`compile_each`] was asked otherwise.
#[derive(Clone, Debug)]
pub struct Compilation<F = String> {
    /// Every diagnostic, sorted by (file, offset, code).
    pub diagnostics: Vec<Diagnostic>,
    /// The checked program, when `emit` was asked for and no error was found.
    pub program: Option<ir::Program>,
    /// The rendered files (paths relative to the output directory, `/`-separated),
    /// `govc.lock.json` included, when `emit` was asked for and no error was found.
    pub files: BTreeMap<String, F>,
}

impl<F> Default for Compilation<F> {
    fn default() -> Self {
        Compilation { diagnostics: Vec::new(), program: None, files: BTreeMap::new() }
    }
}

impl<F> Compilation<F> {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and models `sources` and runs every check: the model plus diagnostics.
pub fn analyze(sources: &Sources, options: &Options) -> (model::Model, diag::Diagnostics) {
    let (model, mut sink, checkable) = parse_and_model(sources);
    if checkable {
        checks::run(&model, options, &mut sink);
    }
    (model, sink)
}

/// Parses and models `sources`: the model, the diagnostics so far, and whether the
/// checks may run (no file hides its declarations).
fn parse_and_model(sources: &Sources) -> (model::Model, diag::Diagnostics, bool) {
    let mut sink = diag::Diagnostics::new();
    // Files parse independently: side by side, each into its own sink (the sink is
    // sorted at the end, so the order they are merged in does not matter), the largest
    // first, so that the last to be parsed is a small one.
    let mut ids: Vec<FileId> = sources.iter().map(|(id, _)| id).collect();
    ids.sort_by_key(|&id| std::cmp::Reverse(sources.get(id).text.len()));
    let mut parsed = par::map_each(&ids, |&id| {
        let mut local = diag::Diagnostics::new();
        let file = syntax::parse_file(sources, id, &mut local);
        (id, file, local)
    });
    parsed.sort_unstable_by_key(|(id, ..)| *id);
    let mut files = Vec::with_capacity(parsed.len());
    for (_, file, local) in parsed {
        sink.extend(local.into_sorted());
        files.push(file);
    }
    if sources.iter().any(|(_, f)| f.origin == source::Origin::Project && !syntax::is_compilable(f)) {
        // A file that could not be read at all (not UTF-8, too large) hides its
        // declarations: whatever the model reported would echo that one E101/E103.
        let model = model::build(sources, &files, &mut diag::Diagnostics::new());
        return (model, sink, false);
    }
    // The literal-secret scan reads the trees alone: it runs beside the lowering.
    let (secrets, (declared, lowered)) = par::join(
        || {
            let mut local = diag::Diagnostics::new();
            checks::secrets::literal_secrets(sources, &files, &mut local);
            local
        },
        || {
            let mut local = diag::Diagnostics::new();
            (model::declare(sources, &files, &mut local), local)
        },
    );
    sink.extend(secrets.into_reported());
    sink.extend(lowered.into_reported());
    // Nothing reads the trees any more: they are freed beside the rest of the model,
    // which takes their memory as it is freed (at fleet scale, a third of the peak).
    let ((), (model, modelled)) = par::join(
        || drop(files),
        || {
            let mut local = diag::Diagnostics::new();
            (model::build_declared(sources, declared, &mut local), local)
        },
    );
    sink.extend(modelled.into_reported());
    (model, sink, true)
}

/// What a compilation built on the way and no longer needs: the model, when nothing
/// was to be emitted (a build frees it as it renders). Dropping it frees it. A process
/// about to exit may [`std::mem::forget`] it instead: freeing a project of tens of
/// thousands of services piece by piece takes a good part of its `govc check`.
pub struct Scaffolding {
    _model: Option<model::Model>,
}

/// Compiles `sources`: parse, model, check and, with `options.emit`, render.
pub fn compile(sources: &Sources, options: &Options) -> Compilation {
    compile_each(sources, options, |_| String::new())
}

/// [`compile`], handing each rendered file a piece at a time to the receiver `open`
/// makes for its path (on the thread that renders it, the lock last) and keeping what
/// the receiver keeps instead of the text: see [`emit::emit_each`].
pub fn compile_each<R: emit::out::Receive>(
    sources: &Sources,
    options: &Options,
    open: impl Fn(&str) -> R + Sync,
) -> Compilation<R::Kept>
where
    R::Kept: Send,
{
    compile_each_with_scaffolding(sources, options, open).0
}

/// [`compile_each`], also returning what was built on the way, for the caller to free
/// or not ([`Scaffolding`]).
pub fn compile_each_with_scaffolding<R: emit::out::Receive>(
    sources: &Sources,
    options: &Options,
    open: impl Fn(&str) -> R + Sync,
) -> (Compilation<R::Kept>, Scaffolding)
where
    R::Kept: Send,
{
    compile_environments_with_scaffolding(sources, options, &[], open)
}

/// [`compile_each_with_scaffolding`], rendering only the files of the environments named
/// in `only` (their roots, overlays and pages), the shared files and the lock over what
/// was rendered; every environment when `only` is empty. Everything is checked
/// whatever `only` says.
pub fn compile_environments_with_scaffolding<R: emit::out::Receive>(
    sources: &Sources,
    options: &Options,
    only: &[String],
    open: impl Fn(&str) -> R + Sync,
) -> (Compilation<R::Kept>, Scaffolding)
where
    R::Kept: Send,
{
    let (model, mut sink, checkable) = parse_and_model(sources);
    if !options.emit || !checkable || sink.has_errors() {
        if checkable {
            checks::run(&model, options, &mut sink);
        }
        let compilation = Compilation { diagnostics: sink.into_sorted(), ..Compilation::default() };
        return (compilation, Scaffolding { _model: Some(model) });
    }
    // The model is free of errors, so it lowers (`model::to_ir`): the IR is lowered
    // and rendered while the checks run, on the cores they leave idle, and thrown away
    // if they find an error (which stops the rendering at the next file it starts).
    // Whichever side is done with the model last frees it, while the other goes on.
    let for_checks = Arc::new(model);
    let for_emit = Arc::clone(&for_checks);
    let (failed, open) = (&AtomicBool::new(false), &open);
    let ((checked, source_digest), (program, emitted)) = par::join(
        move || {
            let mut local = diag::Diagnostics::new();
            checks::run(&for_checks, options, &mut local);
            if local.has_errors() {
                failed.store(true, Ordering::Release);
            }
            drop(for_checks);
            // The lock's digest of the sources, here: the checks are done long before
            // the rendering, and the lock is written once it is.
            (local, lock::source_digest(sources))
        },
        move || {
            let program = model::to_ir(&for_emit);
            // The model is freed by the other core, when it is free, or the checks still
            // read it and this only counts that it is no longer read here.
            let (emitted, ()) = par::join(|| emit::emit_each_unless(&program, only, open, failed), || drop(for_emit));
            (program, emitted)
        },
    );
    sink.extend(checked.into_reported());
    if sink.has_errors() {
        let compilation = Compilation { diagnostics: sink.into_sorted(), ..Compilation::default() };
        return (compilation, Scaffolding { _model: None });
    }
    let mut compilation = Compilation::default();
    match emitted {
        Ok(rendered) => {
            let digests = rendered.iter().map(|(p, (sha, _))| (p.as_str(), sha.as_str()));
            let lock = lock::render_with_source_digest(digests, &source_digest);
            let mut files: BTreeMap<String, R::Kept> = rendered.into_iter().map(|(p, (_, kept))| (p, kept)).collect();
            // (The lock's own digest is listed nowhere.)
            files.insert(lock::LOCK_FILE.to_string(), open(lock::LOCK_FILE).whole(&lock).0);
            compilation.files = files;
        }
        Err(diagnostic) => sink.push(*diagnostic),
    }
    compilation.program = Some(program);
    compilation.diagnostics = sink.into_sorted();
    (compilation, Scaffolding { _model: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A build whose model is clean lowers the IR beside the checks: when a check finds
    /// an error, it is reported as a `check` reports it and nothing is emitted.
    #[test]
    fn an_error_of_the_checks_stops_the_build_though_the_ir_was_lowered() {
        let text = include_str!("../../tests/cases/network/egress_not_public.gov");
        let mut sources = Sources::with_stdlib();
        sources.add_bytes("project.gov".to_string(), text.as_bytes().to_vec());
        let built = compile(&sources, &Options { emit: true });
        assert!(built.diagnostics.iter().any(|d| d.code == Code::E408), "{:?}", built.diagnostics);
        assert!(built.files.is_empty() && built.program.is_none(), "nothing is emitted");
        let (_, checked) = analyze(&sources, &Options { emit: true });
        assert_eq!(built.diagnostics, checked.into_sorted(), "the diagnostics of a check with emit");
    }

    /// Rendering started beside the checks stops once they fail: told before it
    /// starts, it renders nothing; never told, it renders what [`emit::emit_each`] does.
    #[test]
    fn rendering_stops_once_told() {
        let mut sources = Sources::with_stdlib();
        let text = include_str!("../../examples/three-envs/project.gov");
        sources.add_bytes("project.gov".to_string(), text.as_bytes().to_vec());
        let (model, sink, checkable) = parse_and_model(&sources);
        assert!(checkable && !sink.has_errors(), "{:?}", sink.into_sorted());
        let program = model::to_ir(&model);
        let keep = |_: &str| String::new();
        let told = emit::emit_each_unless(&program, &[], keep, &AtomicBool::new(true)).expect("renders");
        assert!(told.is_empty(), "nothing is rendered once told to stop: {:?}", told.keys());
        let untold = emit::emit_each_unless(&program, &[], keep, &AtomicBool::new(false)).expect("renders");
        assert!(untold.len() > 10, "a project of three environments has its files");
        assert_eq!(untold, emit::emit_each(&program, keep).expect("renders"));
    }
}
