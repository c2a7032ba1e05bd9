//! `govc fmt [PATHS]... [--check] [--stdin]`: print `.gov` files in the one
//! canonical layout (LANGUAGE.md section 6, `govc::fmt`).
//!
//! PATHS are files or directories (every `*.gov` file below, nested projects
//! included, but not `generated/`, `target/` or hidden directories); without
//! PATHS, the project found from the current directory. A file is rewritten,
//! atomically and with its permissions, only when its text changes. `--check`
//! writes nothing: it prints a unified diff (stdout) of each file that would
//! change and exits 1. `--stdin` formats standard input to standard output. A
//! file with syntax errors is left untouched and its diagnostics are printed
//! (in the `--message-format` chosen); the exit code is then 1.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use govc::{FileId, Sources};
use miette::{miette, IntoDiagnostic, WrapErr};
use similar::TextDiff;

use super::output::Output;
use super::project::{self, LoadError};
use super::{print_stderr, print_stdout, GlobalArgs};

/// The arguments of `govc fmt`.
#[derive(Debug, clap::Args)]
pub(crate) struct FmtArgs {
    /// Files or directories to format (default: the project of the current directory).
    #[arg(conflicts_with = "stdin")]
    pub(crate) paths: Vec<PathBuf>,
    /// Write nothing: print a diff of each file that would change, and exit 1 if any would.
    #[arg(long)]
    pub(crate) check: bool,
    /// Format standard input to standard output.
    #[arg(long)]
    pub(crate) stdin: bool,
}

/// What the summary line says failed.
const ACTION: &str = "format";

/// The path diagnostics of standard input are reported under.
const STDIN_PATH: &str = "<stdin>";

pub(crate) fn run(args: &FmtArgs, global: &GlobalArgs) -> miette::Result<ExitCode> {
    let output = Output::new(global);
    if args.stdin {
        return run_stdin(args.check, &output);
    }
    let cwd = std::env::current_dir().into_diagnostic().wrap_err("could not read the current directory")?;
    let files = match targets(&args.paths, &cwd) {
        Ok(files) => files,
        Err(LoadError::NotFound(d)) => return Ok(output.report(&[*d], &Sources::new(), ACTION)),
        Err(LoadError::BadPath(d)) => {
            output.report(&[*d], &Sources::new(), ACTION);
            return Ok(ExitCode::from(super::EXIT_USAGE));
        }
        Err(LoadError::Io(report)) => return Err(report),
    };
    let mut sources = Sources::new();
    let mut on_disk = std::collections::BTreeMap::new();
    for (shown, full) in files {
        let bytes =
            fs::read(&full).into_diagnostic().wrap_err_with(|| format!("could not read `{}`", full.display()))?;
        sources.add_bytes(shown.clone(), bytes);
        on_disk.insert(shown, full);
    }
    let mut diagnostics = Vec::new();
    let (mut changed, mut total) = (0usize, 0usize);
    let ids: Vec<FileId> = sources.iter().map(|(id, _)| id).collect();
    for id in ids {
        let file = sources.get(id);
        total += 1;
        let formatted = match govc::fmt::format_file(&sources, id) {
            Ok(formatted) => formatted,
            Err(diags) => {
                diagnostics.extend(diags);
                continue;
            }
        };
        if formatted == file.text {
            continue;
        }
        changed += 1;
        if args.check {
            print_stdout(&diff(&file.text, &formatted, &file.path));
        } else {
            let full = &on_disk[&file.path];
            write_atomically(full, &formatted)
                .into_diagnostic()
                .wrap_err_with(|| format!("could not write `{}`; it was left as it was", full.display()))?;
        }
    }
    let code = if diagnostics.is_empty() { ExitCode::SUCCESS } else { output.report(&diagnostics, &sources, ACTION) };
    if !global.quiet {
        let files = |n: usize| format!("{n} file{}", if n == 1 { "" } else { "s" });
        let line = match (args.check, changed) {
            (true, 0) => format!("govc: {} already formatted\n", files(total)),
            (true, n) => format!("govc: {} of {} would be reformatted; run `govc fmt`\n", files(n), total),
            (false, n) => format!("govc: formatted {}: {n} changed\n", files(total)),
        };
        print_stderr(&line);
    }
    if args.check && changed > 0 {
        return Ok(ExitCode::FAILURE);
    }
    Ok(code)
}

/// `--stdin`: the formatted text on stdout (or, with `--check`, the diff).
fn run_stdin(check: bool, output: &Output) -> miette::Result<ExitCode> {
    let mut bytes = Vec::new();
    std::io::stdin().lock().read_to_end(&mut bytes).into_diagnostic().wrap_err("could not read standard input")?;
    let mut sources = Sources::new();
    sources.add_bytes(STDIN_PATH, bytes);
    let (id, file) = sources.iter().next().ok_or_else(|| miette!("standard input was not read"))?;
    match govc::fmt::format_file(&sources, id) {
        Err(diags) => Ok(output.report(&diags, &sources, ACTION)),
        Ok(formatted) if check => {
            if formatted == file.text {
                return Ok(ExitCode::SUCCESS);
            }
            print_stdout(&diff(&file.text, &formatted, STDIN_PATH));
            Ok(ExitCode::FAILURE)
        }
        Ok(formatted) => {
            print_stdout(&formatted);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The files to format: (path as shown, path on disk), from `paths` or the current project.
fn targets(paths: &[PathBuf], cwd: &Path) -> Result<Vec<(String, PathBuf)>, LoadError> {
    let mut out = Vec::new();
    if paths.is_empty() {
        let root = project::find_root(None, cwd)?;
        for rel in project::collect_files(&root).map_err(LoadError::Io)? {
            let full = root.join(&rel);
            out.push((shown(&full, cwd), full));
        }
        return Ok(out);
    }
    for path in paths {
        let full = if path.is_relative() { cwd.join(path) } else { path.clone() };
        if full.is_dir() {
            for rel in project::collect_all_files(&full).map_err(LoadError::Io)? {
                let file = full.join(&rel);
                out.push((shown(&file, cwd), file));
            }
        } else if full.is_file() {
            out.push((shown(&full, cwd), full));
        } else {
            return Err(LoadError::Io(miette!(
                help = "give `.gov` files or directories holding them",
                "`{}` does not exist",
                path.display()
            )));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `path` relative to `cwd` when below it, with `/` separators.
fn shown(path: &Path, cwd: &Path) -> String {
    let rel = path.strip_prefix(cwd).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// A unified diff from `old` to `new` of the file shown as `path`.
fn diff(old: &str, new: &str, path: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{path} (as written)"), &format!("{path} (formatted)"))
        .to_string()
}

/// Replaces `path` with `text` through a temporary file in its directory,
/// keeping its permissions: a reader never sees half a file.
pub(crate) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let permissions = fs::metadata(path)?.permissions();
    let mut tmp = tempfile::Builder::new().prefix(".govc-fmt-").tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.as_file().set_permissions(permissions)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_names_the_file_and_shows_the_change() {
        let out = diff("a {x=1}\n", "a { x = 1 }\n", "envs/a.gov");
        assert!(out.contains("--- envs/a.gov (as written)"), "{out}");
        assert!(out.contains("+++ envs/a.gov (formatted)"), "{out}");
        assert!(out.contains("-a {x=1}\n+a { x = 1 }\n"), "{out}");
    }

    #[test]
    fn writing_keeps_permissions_and_replaces_the_text() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("a.gov");
        fs::write(&path, "old\n").expect("write");
        write_atomically(&path, "new\n").expect("written");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new\n");
        let left: Vec<_> = fs::read_dir(tmp.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, [std::ffi::OsString::from("a.gov")], "no temporary file is left");
    }
}
