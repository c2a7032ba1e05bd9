//! `govc check [PATH]`: load the project, compile it without emitting, print
//! the diagnostics.

use std::path::Path;
use std::process::ExitCode;

use govc::{Options, Sources};
use miette::{IntoDiagnostic, WrapErr};

use super::output::Output;
use super::project::{self, LoadError};
use super::GlobalArgs;

/// What the summary line says failed.
const ACTION: &str = "check project";

/// Runs `govc check`: exit 0 clean, 1 with errors (or denied warnings), 2 on I/O errors.
pub(crate) fn run(path: Option<&Path>, args: &GlobalArgs) -> miette::Result<ExitCode> {
    let output = Output::new(args);
    let cwd = std::env::current_dir()
        .into_diagnostic()
        .wrap_err("could not read the current directory")?;
    let project = match project::load(path, &cwd) {
        Ok(project) => project,
        Err(LoadError::NotFound(diagnostic)) => {
            return Ok(output.report(&[diagnostic], &Sources::new(), ACTION));
        }
        Err(LoadError::Io(report)) => return Err(report),
    };
    let compilation = govc::compile(&project.sources, &Options::default());
    Ok(output.report(&compilation.diagnostics, &project.sources, ACTION))
}
