//! `govc check [PATH]`: load the project, compile it without emitting, print
//! the diagnostics.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::process::ExitCode;

use govc::{Code, Compilation, Diagnostic, Options, Sources};
use miette::{IntoDiagnostic, WrapErr};

use super::output::Output;
use super::project;
use super::{print_stderr, GlobalArgs};

/// What the summary line says failed.
const ACTION: &str = "check project";

/// Runs `govc check`: exit 0 clean, 1 with errors (or denied warnings), 2 on I/O errors.
pub(crate) fn run(path: Option<&Path>, args: &GlobalArgs) -> miette::Result<ExitCode> {
    let mut output = Output::new(args);
    let cwd = std::env::current_dir().into_diagnostic().wrap_err("could not read the current directory")?;
    let project = match project::load_for(path, &cwd, &mut output, ACTION) {
        Ok(project) => project,
        Err(done) => return done,
    };
    let compilation = compile_or_e901(&project.sources, &Options::default());
    let code = output.report(&compilation.diagnostics, &project.sources, ACTION);
    if compilation.diagnostics.is_empty() && output.chatty() {
        print_stderr(&clean_summary(&project.sources));
    }
    // The process ends here: freeing what is left would only cost time.
    std::mem::forget((compilation, project));
    Ok(code)
}

/// The one line of a clean `govc check` (human output, without `-q`).
fn clean_summary(sources: &Sources) -> String {
    let files = sources.iter().filter(|(_, f)| f.origin == govc::source::Origin::Project).count();
    format!("govc: checked {files} file{}: no errors, no warnings\n", if files == 1 { "" } else { "s" })
}

/// Compiles, turning a panic in the library (a bug in govc: it must never
/// panic) into an E901 diagnostic, so that the exit code is never 101.
pub(crate) fn compile_or_e901(sources: &Sources, options: &Options) -> Compilation {
    compile_each_or_e901(sources, options, &[], |_| String::new())
}

/// [`govc::compile_each`] (of the environments in `only`, or all of them:
/// [`govc::compile_environments_with_scaffolding`]), with a panic turned into E901 like
/// [`compile_or_e901`].
/// The trees and the model it built are not freed: the process ends soon, and
/// freeing a large project piece by piece costs a tenth of a `check`. The pool's
/// threads poll for work meanwhile ([`govc::par::keep_awake`]): the compilation splits
/// its work a dozen times in a few tens of milliseconds.
pub(crate) fn compile_each_or_e901<R: govc::emit::out::Receive>(
    sources: &Sources,
    options: &Options,
    only: &[String],
    open: impl Fn(&str) -> R + Sync,
) -> Compilation<R::Kept>
where
    R::Kept: Send,
{
    let compiled = govc::par::keep_awake(|| {
        panic::catch_unwind(AssertUnwindSafe(|| {
            govc::compile_environments_with_scaffolding(sources, options, only, open)
        }))
    });
    match compiled {
        Ok((compilation, scaffolding)) => {
            std::mem::forget(scaffolding);
            compilation
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            let diagnostics = vec![Diagnostic::global(Code::E901, format!("internal compiler error: {what}"))
                .with_note("this is a bug in govc, not in your `.gov` files; nothing was written")
                .with_help(format!(
                    "please report it with `govc --version` ({}) and the smallest `.gov` files that reproduce it; see `govc explain E901`",
                    env!("CARGO_PKG_VERSION")
                ))];
            Compilation { diagnostics, ..Compilation::default() }
        }
    }
}
