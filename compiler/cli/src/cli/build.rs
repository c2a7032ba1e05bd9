//! `govc build [PROJECT] [--out DIR] [--env NAME]... [--check]`: compile, then write
//! the output tree atomically, or with `--check` compare it and write nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use govc::emit::compose;
use govc::{lock, Options};
use miette::{miette, IntoDiagnostic, WrapErr};
use similar::TextDiff;

use super::check::compile_each_or_e901;
use super::output::Output;
use super::project;
use super::tree::{self, Change, Early, Plan, Rendered};
use super::{print_stderr, print_stdout, GlobalArgs};

/// The arguments of `govc build`.
#[derive(Debug, clap::Args)]
pub(crate) struct BuildArgs {
    /// The project directory (default: the nearest directory holding `project.gov`).
    pub(crate) path: Option<PathBuf>,
    /// Where to write (default: `generated/` under the project root).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Build only these environments (repeatable); the others' files are left as they are.
    #[arg(long = "env", value_name = "NAME")]
    pub(crate) envs: Vec<String>,
    /// Write nothing: exit 0 when the output directory is up to date, 1 with a
    /// per-file summary when it is stale or hand-edited.
    #[arg(long)]
    pub(crate) check: bool,
}

/// Lines of unified diff shown per changed file with `--check`.
const DIFF_LINES: usize = 40;

pub(crate) fn run(args: &BuildArgs, global: &GlobalArgs) -> miette::Result<ExitCode> {
    let started = Instant::now();
    let mut output = Output::new(global);
    let action = if args.check { "check the generated files" } else { "build" };
    let cwd = std::env::current_dir().into_diagnostic().wrap_err("could not read the current directory")?;
    let project = match project::load_for(args.path.as_deref(), &cwd, &mut output, action) {
        Ok(project) => project,
        Err(done) => return done,
    };
    let out = match &args.out {
        Some(out) if out.is_absolute() => out.clone(),
        Some(out) => cwd.join(out),
        None => project.root.join("generated"),
    };
    // Each file is compared with the directory as soon as it is rendered: a file that
    // differs is written into the new tree as it arrives (`--check` keeps the start of
    // its diff). A build of some environments renders only theirs and the shared files,
    // drops the shared ones it does not rewrite as they come (it carries them over from
    // the directory, like the other environments' files), keeps the lock to read the
    // digests of the files it keeps, and keeps the Compose files, which it sorts out once
    // it knows the local environments (see `only_environments`).
    let shown = display_path(&out, &project.root, &cwd);
    let excerpt = |path: &str, old: &str, new: &str| diff_excerpt(&shown, path, old, new);
    let early = if args.check { Early::reporting(&out, &excerpt) } else { Early::writing(&out) };
    let compilation = compile_each_or_e901(&project.sources, &Options { emit: true }, &args.envs, |path| {
        if args.envs.is_empty() || of_environments(path, &args.envs) {
            early.open(path)
        } else if path == lock::LOCK_FILE || path.starts_with(&format!("{}/", compose::DIR)) {
            Early::keep()
        } else {
            Early::unwanted()
        }
    });
    let code = output.report(&compilation.diagnostics, &project.sources, action);
    if code != ExitCode::SUCCESS || compilation.files.is_empty() {
        return Ok(code);
    }
    let mut files = compilation.files;
    if !args.envs.is_empty() {
        let known: Vec<&str> =
            compilation.program.iter().flat_map(|p| p.environments.iter().map(|e| e.name.as_str())).collect();
        if let Some(unknown) = args.envs.iter().find(|e| !known.contains(&e.as_str())) {
            return Err(miette!("unknown environment `{unknown}`; the environments are {}", known.join(", ")));
        }
        let compose: Vec<String> = compilation
            .program
            .iter()
            .flat_map(|p| {
                let locals: Vec<&str> = p
                    .environments
                    .iter()
                    .filter(|e| e.tier == govc::ir::Tier::Local)
                    .map(|e| e.name.as_str())
                    .collect();
                let n = locals.len();
                locals.into_iter().filter(|e| args.envs.iter().any(|a| a == e)).map(move |e| compose::file_path(e, n))
            })
            .collect();
        files = only_environments(files, &args.envs, &compose, &early, &project.sources)?;
    }
    let unwritable = files.iter().find_map(|(path, file)| match file {
        Rendered::Unwritable(e) => Some((path, e)),
        _ => None,
    });
    if let Some((path, e)) = unwritable {
        return Err(miette!("could not write {shown} (`{path}`): {e}; the previous files were left as they were"));
    }
    let plan =
        Plan::new(&out, &files).into_diagnostic().wrap_err_with(|| format!("could not read {}", out.display()))?;
    // The developer's secret files beside a Compose file are expected there: kept like
    // every foreign file, but not reported.
    let foreign: Vec<String> = plan.foreign.iter().filter(|p| !compose::is_developer_secret(p)).cloned().collect();
    if !foreign.is_empty() && !global.quiet {
        print_stderr(&foreign_warning(&shown, &foreign));
    }
    if !plan.untrusted.is_empty() {
        print_stderr(&untrusted_warning(&shown, &plan.untrusted));
    }
    let n_envs = compilation.program.as_ref().map_or(0, |p| p.environments.len());
    if args.check {
        if plan.changes.is_empty() {
            if !global.quiet {
                print_stderr(&format!("govc: {shown} is up to date ({} files)\n", plan.unchanged));
            }
            return Ok(ExitCode::SUCCESS);
        }
        // The report is for people: on stdout in human mode (it is the command's
        // answer), on stderr beside JSON lines or SARIF, which own stdout.
        let report = stale_report(&shown, &plan, &files);
        if output.is_human() {
            print_stdout(&report);
        } else {
            print_stderr(&report);
        }
        return Ok(ExitCode::from(1));
    }
    if !plan.changes.is_empty() {
        tree::apply(&out, &files, &plan, early.into_staging())
            .into_diagnostic()
            .wrap_err_with(|| format!("could not write {shown}; the previous files were left as they were"))?;
    }
    if !global.quiet {
        let written = plan.count(|c| !matches!(c, Change::Removed { .. }));
        let removed = plan.count(|c| matches!(c, Change::Removed { .. }));
        print_stderr(&format!(
            "govc: built {n_envs} environment{} into {shown}: {written} written, {} unchanged, {removed} removed ({} ms)\n",
            if n_envs == 1 { "" } else { "s" },
            plan.unchanged,
            started.elapsed().as_millis()
        ));
    }
    // The process ends here: skip freeing a large project piece by piece.
    std::mem::forget((project, files, plan, compilation.program, compilation.diagnostics));
    Ok(ExitCode::SUCCESS)
}

/// Whether `path` is one of the files a build of `envs` renders for them: their roots,
/// overlays and pages, and the shared base.
fn of_environments(path: &str, envs: &[String]) -> bool {
    path.starts_with("kubernetes/base/")
        || envs.iter().any(|e| {
            let page = path.strip_prefix("docs/").and_then(|p| p.strip_suffix(".md")) == Some(e.as_str());
            let under = |dir: &str| {
                path.strip_prefix(dir).and_then(|p| p.strip_prefix(e.as_str())).is_some_and(|p| p.starts_with('/'))
            };
            page || under("terraform/") || under("kubernetes/overlays/")
        })
}

/// Keeps the files of the chosen environments (and the shared base), compared with the
/// directory as they were rendered; every other file govc owns stays as it is on disk,
/// and the lock is made anew over the result: the digests of the files kept are those of
/// the lock rendered with them, those of the files carried over are read from the disk.
fn only_environments(
    files: BTreeMap<String, Rendered>,
    envs: &[String],
    compose: &[String],
    early: &Early,
    sources: &govc::Sources,
) -> miette::Result<BTreeMap<String, Rendered>> {
    let selected = |path: &str| {
        of_environments(path, envs)
            || path == format!("{}/.gitignore", compose::DIR)
            || compose.iter().any(|c| c == path)
    };
    let rendered = files.get(lock::LOCK_FILE).and_then(Rendered::text).and_then(lock::parse).unwrap_or_default();
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    let mut kept: BTreeMap<String, Rendered> = BTreeMap::new();
    for (path, file) in files.into_iter().filter(|(path, _)| path != lock::LOCK_FILE && selected(path)) {
        let digest = rendered.get(&path).ok_or_else(|| miette!("internal error: `{path}` is not in the lock"))?;
        digests.insert(path.clone(), digest.clone());
        kept.insert(path, file);
    }
    // The other environments' files are carried over from disk: only paths the lock
    // may own, and never through a link.
    let out = early.dir();
    let mut links = tree::LinkGuard::new(out);
    let previous = match links.check(lock::LOCK_FILE) {
        Ok(()) => std::fs::read_to_string(out.join(lock::LOCK_FILE)).ok().and_then(|t| lock::parse(&t)),
        Err(e) => return Err(miette!("{e}")),
    }
    .unwrap_or_default();
    for path in previous.keys().filter(|p| !selected(p) && lock::is_owned_path(p)) {
        links.check(path).map_err(|e| miette!("{e}"))?;
        let Ok(file) = std::fs::File::open(out.join(path)) else { continue };
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            continue;
        }
        let digest = early.digest_of(file).into_diagnostic().wrap_err_with(|| format!("could not read `{path}`"))?;
        digests.insert(path.clone(), digest);
        kept.insert(path.clone(), Rendered::Same);
    }
    let lock_text = lock::render_hashed(digests.iter().map(|(p, d)| (p.as_str(), d.as_str())), sources);
    let lock_file = govc::emit::out::Receive::whole(early.open(lock::LOCK_FILE), &lock_text).0;
    kept.insert(lock::LOCK_FILE.to_string(), lock_file);
    Ok(kept)
}

fn display_path(out: &Path, root: &Path, cwd: &Path) -> String {
    let rel = out.strip_prefix(cwd).or_else(|_| out.strip_prefix(root)).unwrap_or(out);
    let shown = rel.display().to_string();
    if shown.is_empty() {
        ".".into()
    } else {
        format!("{shown}/")
    }
}

fn foreign_warning(shown: &str, foreign: &[String]) -> String {
    let mut out = format!(
        "warning: {shown} holds {} file{} that govc does not own; they are kept\n",
        foreign.len(),
        if foreign.len() == 1 { "" } else { "s" }
    );
    for path in foreign.iter().take(10) {
        out += &format!("  {path}\n");
    }
    if foreign.len() > 10 {
        out += &format!("  and {} more\n", foreign.len() - 10);
    }
    out
}

fn untrusted_warning(shown: &str, paths: &[String]) -> String {
    let mut out = format!(
        "warning: {shown}{} lists {} path{} outside the output directory; they are ignored (never read or removed)\n",
        lock::LOCK_FILE,
        paths.len(),
        if paths.len() == 1 { "" } else { "s" }
    );
    for path in paths.iter().take(10) {
        out += &format!("  {path:?}\n");
    }
    out
}

/// The `--check` report: one line per file, then a short unified diff of each change.
fn stale_report(shown: &str, plan: &Plan, files: &BTreeMap<String, Rendered>) -> String {
    let mut out = format!(
        "{shown} is stale: {} added, {} changed, {} removed\n",
        plan.count(|c| *c == Change::Added),
        plan.count(|c| matches!(c, Change::Changed { .. })),
        plan.count(|c| matches!(c, Change::Removed { .. })),
    );
    for (path, change) in &plan.changes {
        let word = match change {
            Change::Added => "added",
            Change::Changed { .. } => "changed",
            Change::Removed { .. } => "removed",
        };
        out += &format!("  {word:<8} {path}\n");
    }
    for (path, change) in &plan.changes {
        let rendered = files.get(path);
        out += "\n";
        out += &match (change, rendered) {
            // Made when the file was rendered.
            (_, Some(Rendered::Stale { excerpt, .. })) => excerpt.clone(),
            (Change::Added, _) => diff_excerpt(shown, path, "", rendered.and_then(Rendered::text).unwrap_or_default()),
            (Change::Changed { old }, _) => diff_excerpt(
                shown,
                path,
                old.as_deref().unwrap_or_default(),
                rendered.and_then(Rendered::text).unwrap_or_default(),
            ),
            (Change::Removed { old }, _) => diff_excerpt(shown, path, old, ""),
        };
    }
    out + "\nrun `govc build` to bring it up to date\n"
}

/// The start of a short unified diff of `path` (in `shown`) from `old` to `new`: at most
/// [`DIFF_LINES`] lines, then how many more there are.
fn diff_excerpt(shown: &str, path: &str, old: &str, new: &str) -> String {
    let diff = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{shown}{path} (on disk)"), &format!("{shown}{path} (from sources)"))
        .to_string();
    let mut out = String::new();
    let mut lines = diff.lines();
    for line in lines.by_ref().take(DIFF_LINES) {
        out += line;
        out += "\n";
    }
    let more = lines.count();
    if more > 0 {
        out += &format!("... {more} more diff lines\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment's files are its root and its overlay (and the shared base), not
    /// those of an environment whose name starts with its name.
    #[test]
    fn the_files_of_an_environment_are_under_its_own_directories() {
        let dev = ["dev".to_string()];
        for path in [
            "terraform/dev/network.tf.json",
            "kubernetes/overlays/dev/kustomization.yaml",
            "kubernetes/base/x.yaml",
            "docs/dev.md",
        ] {
            assert!(of_environments(path, &dev), "{path}");
        }
        for path in [
            "terraform/dev2/network.tf.json",
            "kubernetes/overlays/devel/kustomization.yaml",
            "terraform/dev",
            "docs/dev2.md",
            "docs/dev.md.orig",
            "govc.lock.json",
            "compose/docker-compose.yml",
        ] {
            assert!(!of_environments(path, &dev), "{path}");
        }
    }
}
