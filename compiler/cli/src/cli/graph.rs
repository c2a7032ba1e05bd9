//! `govc graph [PROJECT] [--env NAME] --format dot|mermaid|json`: the dependency
//! graph of the project, for people and tools. Each declared egress entry is an edge
//! from the service to an `external host:port` node, labelled with how it is enforced
//! (`govc::checks::graph::egress_enforcement`: the Network Firewall's TLS SNI / HTTP
//! Host allowlist or its exact address in a cloud environment, the NetworkPolicy alone
//! in a local one); DOT draws it dashed, Mermaid dotted, JSON adds `enforcement`.

use std::path::PathBuf;
use std::process::ExitCode;

use govc::checks::graph::ProjectGraph;
use govc::Options;
use miette::{miette, IntoDiagnostic, WrapErr};

use super::output::Output;
use super::project;
use super::{print_stdout, GlobalArgs};

/// The output format of `govc graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

/// The arguments of `govc graph`.
#[derive(Debug, clap::Args)]
pub(crate) struct GraphArgs {
    /// The project directory (default: the nearest directory holding `project.gov`).
    pub(crate) path: Option<PathBuf>,
    /// Only this environment (and its stack).
    #[arg(long = "env", value_name = "NAME")]
    pub(crate) env: Option<String>,
    /// The output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub(crate) format: GraphFormat,
}

pub(crate) fn run(args: &GraphArgs, global: &GlobalArgs) -> miette::Result<ExitCode> {
    let mut output = Output::new(global);
    let action = "graph project";
    let cwd = std::env::current_dir().into_diagnostic().wrap_err("could not read the current directory")?;
    let project = match project::load_for(args.path.as_deref(), &cwd, &mut output, action) {
        Ok(project) => project,
        Err(done) => return done,
    };
    let (model, sink) = govc::analyze(&project.sources, &Options::default());
    let diagnostics = sink.into_sorted();
    let code = output.report(&diagnostics, &project.sources, action);
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    if let Some(env) = &args.env {
        if model.environment(env).is_none() {
            let names: Vec<&str> = model.environments.iter().map(|e| e.name.as_str()).collect();
            return Err(miette!("unknown environment `{env}`; the environments are {}", names.join(", ")));
        }
    }
    let graph = ProjectGraph::build(&model, args.env.as_deref());
    print_stdout(&match args.format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
        GraphFormat::Json => graph.to_json(),
    });
    Ok(ExitCode::SUCCESS)
}
