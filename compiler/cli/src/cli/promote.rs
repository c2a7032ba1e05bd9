//! `govc promote FROM TO [PROJECT] [--service NAME]... [--dry-run] [--skip-order]`:
//! rewrite TO's images to FROM's as a minimal edit of the sources
//! ([`govc::promote`]), check the result, then write the edited files atomically
//! and print a summary; `--dry-run` prints the diff only and writes nothing.
//!
//! Refusals (E805 order, E806 FROM not clean, E807 another repository) and a
//! result that does not check clean are diagnostics, exit 1, nothing written.

use std::path::PathBuf;
use std::process::ExitCode;

use govc::promote::{self, Request};
use govc::source::Origin;
use govc::{Options, Sources};
use miette::{miette, IntoDiagnostic, WrapErr};
use similar::TextDiff;

use super::fmt::write_atomically;
use super::output::Output;
use super::project;
use super::{print_stdout, GlobalArgs};

/// The arguments of `govc promote`.
#[derive(Debug, clap::Args)]
pub(crate) struct PromoteArgs {
    /// The environment whose images are promoted (for example `staging`).
    pub(crate) from: String,
    /// The environment that receives them (for example `production`).
    pub(crate) to: String,
    /// The project directory (default: the nearest directory holding `project.gov`).
    pub(crate) path: Option<PathBuf>,
    /// Promote only these services (repeatable; default: every service of TO).
    #[arg(long = "service", value_name = "NAME")]
    pub(crate) services: Vec<String>,
    /// Print the diff of the sources and write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Allow environments between FROM and TO in the promotion order (the summary names them).
    #[arg(long)]
    pub(crate) skip_order: bool,
}

const ACTION: &str = "promote";

pub(crate) fn run(args: &PromoteArgs, global: &GlobalArgs) -> miette::Result<ExitCode> {
    let mut output = Output::new(global);
    let cwd = std::env::current_dir().into_diagnostic().wrap_err("could not read the current directory")?;
    let project = match project::load_for(args.path.as_deref(), &cwd, &mut output, ACTION) {
        Ok(project) => project,
        Err(exit) => return exit,
    };
    let (model, diags) = govc::analyze(&project.sources, &Options::default());
    let diagnostics = diags.into_sorted();
    if let Some(to) = model.environment(&args.to) {
        if let Some(unknown) = args.services.iter().find(|s| to.of_kind("service").all(|(_, r)| &r.name != *s)) {
            let names: Vec<&str> = to.of_kind("service").map(|(_, r)| r.name.as_str()).collect();
            return Err(miette!("`{}` has no service `{unknown}`; its services are {}", args.to, names.join(", ")));
        }
    }
    let request = Request {
        from: args.from.clone(),
        to: args.to.clone(),
        services: args.services.clone(),
        skip_order: args.skip_order,
    };
    let promotion = match promote::plan(&project.sources, &model, &diagnostics, &request) {
        Ok(promotion) => promotion,
        Err(refusals) => return Ok(output.report(&refusals, &project.sources, ACTION)),
    };
    let skipped = if promotion.skipped.is_empty() {
        String::new()
    } else {
        format!(" (skipping {} with --skip-order)", promotion.skipped.join(", "))
    };
    if promotion.changes.is_empty() {
        print_stdout(&format!("`{}` already runs what `{}` runs: nothing to promote{skipped}\n", args.to, args.from));
        return Ok(ExitCode::SUCCESS);
    }

    // The result must check clean where it concerns TO (its block, or what it shares).
    let mut after = Sources::with_stdlib();
    for (_, file) in project.sources.iter().filter(|(_, f)| f.origin == Origin::Project) {
        let text = promotion.files.get(&file.path).unwrap_or(&file.text);
        after.add(file.path.clone(), text.clone());
    }
    let (after_model, after_diags) = govc::analyze(&after, &Options::default());
    let after_diags = after_diags.into_sorted();
    if let Some(to) = after_model.environment(&args.to) {
        let errors: Vec<_> =
            after_diags.iter().filter(|d| d.is_error() && promote::concerns(d, to, &after_model)).cloned().collect();
        if !errors.is_empty() {
            let code = output.report(
                &errors,
                &after,
                "promote (the promoted sources do not check clean; nothing was written)",
            );
            return Ok(code);
        }
    }

    if args.dry_run {
        for (path, text) in &promotion.files {
            let old = project.sources.iter().find(|(_, f)| &f.path == path).map_or("", |(_, f)| f.text.as_str());
            print_stdout(
                &TextDiff::from_lines(old, text.as_str())
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{path}"), &format!("b/{path}"))
                    .to_string(),
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    for (path, text) in &promotion.files {
        let full = project.root.join(path);
        write_atomically(&full, text)
            .into_diagnostic()
            .wrap_err_with(|| format!("could not write `{}`; it was left as it was", full.display()))?;
    }
    let mut summary = format!(
        "promoted `{}` to `{}`{skipped}: {} value{} in {} file{}\n",
        args.from,
        args.to,
        promotion.changes.len(),
        if promotion.changes.len() == 1 { "" } else { "s" },
        promotion.files.len(),
        if promotion.files.len() == 1 { "" } else { "s" },
    );
    for change in &promotion.changes {
        let old = change.old.as_deref().map_or("(none)".to_string(), |o| format!("\"{o}\""));
        let how = if change.inserted { "added to" } else { "in" };
        summary += &format!(
            "  service {}: {} {old} -> \"{}\" ({how} {})\n",
            change.service, change.field, change.new, change.file
        );
    }
    print_stdout(&summary);
    Ok(ExitCode::SUCCESS)
}
