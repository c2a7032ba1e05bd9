//! `govc diff A B [PROJECT] [--format text|json]`: what differs between two
//! environments after the merge — topology, values and images — for reviewers
//! (text) and tools (JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use govc::envdiff;
use miette::{miette, IntoDiagnostic};

use super::doc::checked_program;
use super::{print_stdout, GlobalArgs};

/// The output format of `govc diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    Text,
    Json,
}

/// The arguments of `govc diff`.
#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The environment to compare from (for example `staging`).
    pub(crate) a: String,
    /// The environment to compare to (for example `production`).
    pub(crate) b: String,
    /// The project directory (default: the nearest directory holding `project.gov`).
    pub(crate) path: Option<PathBuf>,
    /// Text for people, or one JSON object for tools.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub(crate) format: DiffFormat,
    /// Exit 1 when the environments differ (as `git diff --exit-code`).
    #[arg(long)]
    pub(crate) exit_code: bool,
}

pub(crate) fn run(args: &DiffArgs, global: &GlobalArgs) -> miette::Result<ExitCode> {
    let program = match checked_program(args.path.as_deref(), global, "compare environments")? {
        Ok(program) => program,
        Err(code) => return Ok(code),
    };
    let find = |name: &str| {
        program.environments.iter().find(|e| e.name == name).ok_or_else(|| {
            let names: Vec<&str> = program.environments.iter().map(|e| e.name.as_str()).collect();
            miette!("unknown environment `{name}`; the environments are {}", names.join(", "))
        })
    };
    let diff = envdiff::diff(find(&args.a)?, find(&args.b)?);
    print_stdout(&match args.format {
        DiffFormat::Text => envdiff::render_text(&diff),
        DiffFormat::Json => serde_json::to_string_pretty(&diff).into_diagnostic()? + "\n",
    });
    Ok(if args.exit_code && !diff.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
