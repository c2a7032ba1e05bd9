//! Finding a project on disk and reading its files into [`Sources`].
//!
//! Discovery: the given directory, or the nearest directory holding
//! `project.gov` from the current directory up (like cargo and `Cargo.toml`).
//! Loading: every `*.gov` file under the root, read in sorted order, except under
//! `generated/`, `target/`, hidden directories and nested projects. Shared by
//! every subcommand that compiles (`check`, and later `build` and `graph`).

use std::fs;
use std::path::{Path, PathBuf};

use govc::source::SourceFile;
use govc::{Code, Diagnostic, Sources};
use std::process::ExitCode;

use miette::{IntoDiagnostic, WrapErr};

use super::output::Output;
use super::EXIT_USAGE;

/// The file that marks a project root.
pub(crate) const PROJECT_FILE: &str = "project.gov";

/// Directories never read, wherever they are: build output and cargo's target.
const SKIPPED_DIRS: &[&str] = &["generated", "target"];

/// A project read from disk.
#[derive(Debug)]
pub(crate) struct Project {
    /// The project root: the directory holding `project.gov`.
    // Read by `govc build` (the default output directory is `<root>/generated`).
    #[allow(dead_code)]
    pub(crate) root: PathBuf,
    /// The stdlib plus every project file, by path relative to `root` with `/` separators.
    pub(crate) sources: Sources,
}

/// Why a project could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// No project was found: an E210 diagnostic (exit 1).
    NotFound(Box<Diagnostic>),
    /// The given path is not a directory: an E210 diagnostic, but a usage error (exit 2).
    BadPath(Box<Diagnostic>),
    /// A usage or I/O problem without a `.gov` span (exit 2).
    Io(miette::Report),
}

/// Finds the project (from `path`, or walking up from `cwd`) and reads it.
pub(crate) fn load(path: Option<&Path>, cwd: &Path) -> Result<Project, LoadError> {
    let root = find_root(path, cwd)?;
    let mut sources = Sources::with_stdlib();
    // The files are read, decoded and their lines indexed side by side: a large
    // project's files hold tens of megabytes.
    let read = govc::par::map_each(&collect_files(&root).map_err(LoadError::Io)?, |rel| {
        let full = root.join(rel);
        let bytes =
            fs::read(&full).into_diagnostic().wrap_err_with(|| format!("could not read `{}`", full.display()))?;
        Ok(SourceFile::project(rel.clone(), bytes))
    });
    for file in read {
        sources.add_file(file.map_err(LoadError::Io)?);
    }
    Ok(Project { root, sources })
}

/// [`load`] for a subcommand: on success names the project root in `output`;
/// else prints the E210 diagnostic in the chosen format and gives the exit code
/// to return (1 when no project was found, 2 for a path that is not a
/// directory), or the I/O error.
pub(crate) fn load_for(
    path: Option<&Path>,
    cwd: &Path,
    output: &mut Output,
    action: &str,
) -> Result<Project, miette::Result<ExitCode>> {
    match load(path, cwd) {
        Ok(project) => {
            output.set_root(&project.root);
            Ok(project)
        }
        Err(LoadError::NotFound(d)) => Err(Ok(output.report(&[*d], &Sources::new(), action))),
        Err(LoadError::BadPath(d)) => {
            output.report(&[*d], &Sources::new(), action);
            Err(Ok(ExitCode::from(EXIT_USAGE)))
        }
        Err(LoadError::Io(report)) => Err(Err(report)),
    }
}

/// The project root: `path` itself when given (a directory, or a `project.gov`
/// file), else the nearest ancestor of `cwd` (inclusive) holding `project.gov`.
pub(crate) fn find_root(path: Option<&Path>, cwd: &Path) -> Result<PathBuf, LoadError> {
    let Some(path) = path else {
        return cwd
            .ancestors()
            .find(|dir| dir.join(PROJECT_FILE).is_file())
            .map(Path::to_path_buf)
            .ok_or_else(|| LoadError::NotFound(Box::new(not_found(cwd, true))));
    };
    let path = if path.is_relative() { cwd.join(path) } else { path.to_path_buf() };
    if path.is_file() && path.file_name().is_some_and(|n| n == PROJECT_FILE) {
        return Ok(path.parent().map(Path::to_path_buf).unwrap_or(path));
    }
    if !path.is_dir() {
        let what = if path.exists() { "is not a directory" } else { "does not exist" };
        return Err(LoadError::BadPath(Box::new(
            Diagnostic::global(Code::E210, format!("`{}` {what}", path.display()))
                .with_help("give the directory that holds `project.gov`, or run govc from inside it"),
        )));
    }
    if path.join(PROJECT_FILE).is_file() {
        Ok(path)
    } else {
        Err(LoadError::NotFound(Box::new(not_found(&path, false))))
    }
}

fn not_found(dir: &Path, walked_up: bool) -> Diagnostic {
    let message = if walked_up {
        format!("no `{PROJECT_FILE}` found in `{}` or any parent directory", dir.display())
    } else {
        format!("no `{PROJECT_FILE}` in `{}`", dir.display())
    };
    Diagnostic::global(Code::E210, message)
        .with_note("a govc project is a directory holding a `project.gov` file")
        .with_help("create `project.gov` with a `project NAME { phase = \"concept\"  environments = [...] }` block, or pass the project directory: `govc check DIR`")
}

/// Every `*.gov` file under `root`, as sorted `/`-separated paths relative to it.
pub(crate) fn collect_files(root: &Path) -> miette::Result<Vec<String>> {
    let mut acc = Vec::new();
    walk(root, "", false, &mut acc)?;
    acc.sort();
    Ok(acc)
}

/// Every `*.gov` file under `dir`, nested projects included (what `govc fmt DIR`
/// formats), as sorted `/`-separated paths relative to it.
pub(crate) fn collect_all_files(dir: &Path) -> miette::Result<Vec<String>> {
    let mut acc = Vec::new();
    walk(dir, "", true, &mut acc)?;
    acc.sort();
    Ok(acc)
}

fn walk(dir: &Path, prefix: &str, nested: bool, acc: &mut Vec<String>) -> miette::Result<()> {
    let read_err = || format!("could not read directory `{}`", dir.display());
    let mut entries = fs::read_dir(dir)
        .into_diagnostic()
        .wrap_err_with(read_err)?
        .collect::<Result<Vec<_>, _>>()
        .into_diagnostic()
        .wrap_err_with(read_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        // `file_type` does not follow symlinks, so a link to a directory is never
        // walked (no loops); a link to a file is read like a file.
        let file_type = entry.file_type().into_diagnostic().wrap_err_with(read_err)?;
        if file_type.is_dir() {
            if is_skipped_dir(&name) || (!nested && path.join(PROJECT_FILE).is_file()) {
                continue;
            }
            walk(&path, &rel, nested, acc)?;
        } else if name.ends_with(".gov") && path.is_file() {
            acc.push(rel);
        }
    }
    Ok(())
}

fn is_skipped_dir(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        fs::write(path, "# test\n").expect("write");
    }

    #[test]
    fn walks_up_to_the_nearest_project() {
        let tmp = tempfile::tempdir().expect("tempdir");
        touch(tmp.path(), "project.gov");
        touch(tmp.path(), "envs/deep/x.txt");
        let root = find_root(None, &tmp.path().join("envs/deep")).expect("found");
        assert_eq!(root, tmp.path());
    }

    #[test]
    fn a_missing_project_is_e210() {
        let tmp = tempfile::tempdir().expect("tempdir");
        match find_root(Some(tmp.path()), tmp.path()) {
            Err(LoadError::NotFound(d)) => assert_eq!(d.code, Code::E210),
            other => panic!("expected E210, got {other:?}"),
        }
        match find_root(Some(Path::new("no-such-dir")), tmp.path()) {
            Err(LoadError::BadPath(d)) => {
                assert_eq!(d.code, Code::E210);
                assert!(d.message.ends_with("no-such-dir` does not exist"), "{}", d.message);
            }
            other => panic!("expected a bad path, got {other:?}"),
        }
    }

    #[test]
    fn collects_gov_files_and_skips_what_is_not_the_project() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        for rel in [
            "project.gov",
            "app.gov",
            "envs/staging.gov",
            "envs/production.gov",
            "envs/notes.txt",
            "generated/terraform/x.gov",
            "target/y.gov",
            ".hidden/z.gov",
            "nested/project.gov",
            "nested/inner.gov",
            "a/generated/w.gov",
        ] {
            touch(root, rel);
        }
        let files = collect_files(root).expect("readable");
        assert_eq!(files, ["app.gov", "envs/production.gov", "envs/staging.gov", "project.gov"]);
        let all = collect_all_files(root).expect("readable");
        assert_eq!(
            all,
            [
                "app.gov",
                "envs/production.gov",
                "envs/staging.gov",
                "nested/inner.gov",
                "nested/project.gov",
                "project.gov"
            ]
        );
    }

    #[test]
    fn loads_non_utf8_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        touch(tmp.path(), "project.gov");
        fs::write(tmp.path().join("bad.gov"), [0x66, 0xff, 0xfe]).expect("write");
        let project = load(None, tmp.path()).expect("loads");
        let bad = project.sources.iter().find(|(_, f)| f.path == "bad.gov").expect("bad.gov is read");
        assert_eq!(bad.1.invalid_utf8_at, Some(1));
    }
}
