//! `govc doc [PROJECT] [--env NAME]... [--out DIR]`: the documentation page of each
//! environment (the same pages `govc build` writes to `generated/docs/`), printed
//! for a quick look or written to a directory, in any phase that checks clean.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use govc::{ir, Options};
use miette::{miette, IntoDiagnostic, WrapErr};

use super::output::Output;
use super::project;
use super::{print_stdout, GlobalArgs};

/// The arguments of `govc doc`.
#[derive(Debug, clap::Args)]
pub(crate) struct DocArgs {
    /// The project directory (default: the nearest directory holding `project.gov`).
    pub(crate) path: Option<PathBuf>,
    /// Only these environments (repeatable; default: all).
    #[arg(long = "env", value_name = "NAME")]
    pub(crate) envs: Vec<String>,
    /// Write `<env>.md` files into this directory instead of printing them.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

pub(crate) fn run(args: &DocArgs, global: &GlobalArgs) -> miette::Result<ExitCode> {
    let program = match checked_program(args.path.as_deref(), global, "document the project")? {
        Ok(program) => program,
        Err(code) => return Ok(code),
    };
    let known: Vec<&str> = program.environments.iter().map(|e| e.name.as_str()).collect();
    if let Some(unknown) = args.envs.iter().find(|e| !known.contains(&e.as_str())) {
        return Err(miette!("unknown environment `{unknown}`; the environments are {}", known.join(", ")));
    }
    let pages = govc::emit::docs::emit(&program).map_err(|e| miette!("could not render the documentation: {e}"))?;
    let chosen = pages
        .iter()
        .filter(|(path, _)| args.envs.is_empty() || args.envs.iter().any(|e| **path == format!("docs/{e}.md")));
    match &args.out {
        None => {
            let texts: Vec<&str> = chosen.map(|(_, text)| text.as_str()).collect();
            print_stdout(&texts.join("\n---\n\n"));
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .into_diagnostic()
                .wrap_err_with(|| format!("could not create {}", dir.display()))?;
            for (path, text) in chosen {
                let name = Path::new(path).file_name().expect("docs/<env>.md has a file name");
                let to = dir.join(name);
                std::fs::write(&to, text)
                    .into_diagnostic()
                    .wrap_err_with(|| format!("could not write {}", to.display()))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads and checks the project; the checked program when it is clean (warnings
/// allowed unless denied), else the exit code of the reported diagnostics.
pub(crate) fn checked_program(
    path: Option<&Path>,
    global: &GlobalArgs,
    action: &str,
) -> miette::Result<Result<ir::Program, ExitCode>> {
    let mut output = Output::new(global);
    let cwd = std::env::current_dir().into_diagnostic().wrap_err("could not read the current directory")?;
    let project = match project::load_for(path, &cwd, &mut output, action) {
        Ok(project) => project,
        Err(exit) => return exit.map(Err),
    };
    let (model, sink) = govc::analyze(&project.sources, &Options::default());
    let diagnostics = sink.into_sorted();
    let code = output.report(&diagnostics, &project.sources, action);
    if code != ExitCode::SUCCESS {
        return Ok(Err(code));
    }
    Ok(Ok(govc::model::to_ir(&model)))
}
