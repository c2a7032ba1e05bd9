//! Command-line interface: clap types, dispatch to one module per subcommand,
//! and the mapping of failures to exit codes.
//!
//! Exit codes: 0 clean, 1 diagnostics with errors (or denied warnings), 2 usage
//! or I/O errors. Failures without a `.gov` span (an unreadable file, an unknown
//! code) are `miette` reports printed here, at the edge; nothing panics.
//!
//! To add a subcommand (`build`, `graph`, `fmt`): add a variant to [`Command`],
//! a module `cli/<name>.rs` with `pub(crate) fn run(args, &GlobalArgs) -> miette::Result<ExitCode>`,
//! and one arm in [`run`]. Reuse [`project::load`] to read the project and
//! [`output::Output`] to print diagnostics.

mod build;
mod check;
mod diff;
mod doc;
mod explain;
mod fmt;
mod graph;
mod output;
mod project;
mod promote;
mod record;
mod tree;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit code for usage and I/O errors.
pub(crate) const EXIT_USAGE: u8 = 2;

/// The governance compiler: proves platform rules over `.gov` programs, then
/// emits Terraform JSON and Kustomize overlays.
#[derive(Debug, Parser)]
#[command(name = "govc", version, arg_required_else_help = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options accepted by every subcommand.
#[derive(Debug, Args, Clone)]
pub(crate) struct GlobalArgs {
    /// How to print diagnostics: human (to stderr), json lines or sarif (to stdout).
    #[arg(long, value_enum, global = true, default_value_t = MessageFormat::Human)]
    pub(crate) message_format: MessageFormat,
    /// When to colour human output (`auto`: stderr is a terminal and `NO_COLOR` is unset or empty).
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Treat warnings as errors for the exit code (`--deny warnings`).
    #[arg(long, value_enum, global = true, value_name = "LINT")]
    pub(crate) deny: Vec<Deny>,
    /// Do not print the summary line of human output.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Make SARIF artifact URIs relative to DIR (such as the repository root, as
    /// code scanning expects) instead of the project root; DIR must hold the project.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) sarif_root: Option<PathBuf>,
}

/// The output format of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MessageFormat {
    Human,
    Json,
    Sarif,
}

/// The `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// What `--deny` can turn into errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Deny {
    /// Every warning fails the command.
    Warnings,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a project: parse, resolve and prove every governance rule; write nothing.
    Check {
        /// The project directory (default: the nearest directory holding
        /// `project.gov`, from the current directory up).
        path: Option<PathBuf>,
    },
    /// Compile a project and write `generated/` atomically; with `--check`, write
    /// nothing and fail when `generated/` is stale or hand-edited.
    Build(build::BuildArgs),
    /// Print the dependency graph of a project (DOT, Mermaid or JSON).
    Graph(graph::GraphArgs),
    /// Format `.gov` files in the canonical layout, in place; with `--check`,
    /// write nothing and print the diff; with `--stdin`, format stdin to stdout.
    Fmt(fmt::FmtArgs),
    /// Promote TO's images to FROM's, in the order of `project.environments`, as a
    /// minimal edit of the sources; `--dry-run` prints the diff only.
    Promote(promote::PromoteArgs),
    /// Compare two environments after the merge: topology, values and images.
    Diff(diff::DiffArgs),
    /// Render the documentation page of each environment (what `build` writes to `docs/`).
    Doc(doc::DocArgs),
    /// Print the long explanation of a diagnostic code (`govc explain E206`), or list every code.
    Explain {
        /// A code such as `E206` (case-insensitive); omit it to list every code.
        code: Option<String>,
    },
    /// Print a shell completion script (`govc completions bash > /etc/bash_completion.d/govc`).
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Run the language server on stdin/stdout (for editors; see compiler/lsp/README.md).
    Lsp,
}

/// Parses the arguments, runs the subcommand and turns any failure into exit code 2.
pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints help/version (exit 0) or a usage error (exit 2) itself.
        Err(err) => err.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(report) => {
            let _ = writeln!(std::io::stderr().lock(), "{report:?}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Dispatches to the subcommand.
fn run(cli: Cli) -> miette::Result<ExitCode> {
    // A one-shot command splits its work from this thread only; the language server
    // also splits from its checking thread, which must not wait for this one.
    if !matches!(cli.command, Command::Lsp) {
        govc::par::share_this_thread();
    }
    if !cli.command.wants_huge_pages() {
        no_huge_pages();
    }
    match cli.command {
        Command::Check { path } => check::run(path.as_deref(), &cli.global),
        Command::Explain { code } => explain::run(code.as_deref(), &cli.global),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "govc", &mut script);
            print_stdout(&String::from_utf8_lossy(&script));
            Ok(ExitCode::SUCCESS)
        }
        Command::Build(args) => build::run(&args, &cli.global),
        Command::Graph(args) => graph::run(&args, &cli.global),
        Command::Fmt(args) => fmt::run(&args, &cli.global),
        Command::Promote(args) => promote::run(&args, &cli.global),
        Command::Diff(args) => diff::run(&args, &cli.global),
        Command::Doc(args) => doc::run(&args, &cli.global),
        Command::Lsp => Ok(govc_lsp::run()),
    }
}

impl Command {
    /// Whether the process keeps transparent huge pages, which the allocator asks for
    /// (`madvise`) on the memory it maps: a page fault per 2 MiB instead of per 4 KiB,
    /// a fifth to a quarter less CPU and wall time for `check` at fleet scale, for a
    /// peak of 29 instead of 20 MiB at a thousand services and a few MiB more at any
    /// size (`docs/decisions.md`). Not for the language server, which lives for hours
    /// and whose footprint matters more than its faults, nor for `build`, whose
    /// fleet-1000 peak (about 38 MiB) would reach its 45 MiB bound (43 to 47 measured).
    fn wants_huge_pages(&self) -> bool {
        !matches!(self, Command::Lsp | Command::Build(_))
    }
}

/// Turns transparent huge pages off for this process (see [`Command::wants_huge_pages`]).
/// A kernel that refuses is left as it is.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

/// Writes `text` to stdout, ignoring a closed pipe (`govc explain | head`).
pub(crate) fn print_stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Writes `text` to stderr, ignoring write failures.
pub(crate) fn print_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_parse_after_the_subcommand() {
        let cli = Cli::try_parse_from(["govc", "check", "--message-format", "json", "--deny", "warnings", "-q"])
            .expect("valid arguments");
        assert_eq!(cli.global.message_format, MessageFormat::Json);
        assert_eq!(cli.global.deny, [Deny::Warnings]);
        assert!(cli.global.quiet);
    }

    /// `build` holds to its memory bound and the language server to its footprint with
    /// 4 KiB pages; the other commands keep huge pages. The kernel's side is
    /// read back in `tests/cli.rs`.
    #[test]
    fn build_and_the_language_server_alone_go_without_huge_pages() {
        let wants = |args: &[&str]| Cli::try_parse_from(args).expect("valid arguments").command.wants_huge_pages();
        assert!(!wants(&["govc", "build"]));
        assert!(!wants(&["govc", "build", "--check"]));
        assert!(!wants(&["govc", "lsp"]));
        assert!(wants(&["govc", "check"]));
        assert!(wants(&["govc", "fmt", "--stdin"]));
        assert!(wants(&["govc", "graph"]));
    }

    #[test]
    fn deny_accepts_only_warnings() {
        assert!(Cli::try_parse_from(["govc", "check", "--deny", "errors"]).is_err());
    }
}
