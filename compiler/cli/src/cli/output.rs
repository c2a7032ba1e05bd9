//! Printing diagnostics in the chosen format and choosing the exit code.
//!
//! Human reports go to stderr (with a summary line unless `--quiet`); JSON lines
//! and SARIF go to stdout, where tools read them. Shared by every subcommand.

use std::io::IsTerminal;
use std::process::ExitCode;

use std::path::Path;

use govc::diag::render::{self, Root};
use govc::{Diagnostic, Sources};

use super::{print_stderr, print_stdout, ColorChoice, Deny, GlobalArgs, MessageFormat};

/// How diagnostics are printed, decided once from the global options.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    format: MessageFormat,
    color: bool,
    deny_warnings: bool,
    quiet: bool,
    /// The project root and `--sarif-root`, once the project is found.
    root: Root,
    sarif_root: Option<String>,
}

impl Output {
    /// Resolves `--color auto` against the terminal and the environment.
    pub(crate) fn new(args: &GlobalArgs) -> Output {
        Output {
            format: args.message_format,
            color: use_color(args.color, std::io::stderr().is_terminal(), &ColorEnv::from_env()),
            deny_warnings: args.deny.contains(&Deny::Warnings),
            quiet: args.quiet,
            root: Root::default(),
            sarif_root: args.sarif_root.as_deref().map(absolute),
        }
    }

    /// Names the project root, so that JSON gives absolute paths and SARIF URIs resolve.
    pub(crate) fn set_root(&mut self, root: &Path) {
        self.root = Root { project: Some(absolute(root)), sarif: self.sarif_root.clone() };
    }

    /// True for human output (on stderr); false for JSON lines and SARIF (on stdout).
    pub(crate) fn is_human(&self) -> bool {
        self.format == MessageFormat::Human
    }

    /// True when human output should print its summary and progress lines.
    pub(crate) fn chatty(&self) -> bool {
        self.is_human() && !self.quiet
    }

    /// Prints `diags` and returns the exit code: 1 with errors, or with warnings
    /// under `--deny warnings`; 0 otherwise. `action` names what failed in the
    /// summary line: "could not {action}".
    pub(crate) fn report(&self, diags: &[Diagnostic], sources: &Sources, action: &str) -> ExitCode {
        let (errors, warnings) = render::counts(diags);
        let failed = errors > 0 || (self.deny_warnings && warnings > 0);
        match self.format {
            MessageFormat::Json => print_stdout(&render::json_lines_in(diags, sources, &self.root)),
            MessageFormat::Sarif => print_stdout(&render::sarif_in(diags, sources, &self.root)),
            MessageFormat::Human => {
                let mut text = render::human(diags, sources, self.color);
                if !self.quiet {
                    if let Some(line) = summary(errors, warnings, failed, action, self.deny_warnings) {
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(&self.paint_summary(&line, failed));
                        text.push('\n');
                    }
                }
                print_stderr(&text);
            }
        }
        if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }

    fn paint_summary(&self, line: &str, failed: bool) -> String {
        if !self.color {
            return line.to_string();
        }
        let (tag, rest) = line.split_once(':').unwrap_or((line, ""));
        let color = if failed { "\x1b[1;31m" } else { "\x1b[1;33m" };
        format!("{color}{tag}\x1b[0m\x1b[1m:{rest}\x1b[0m")
    }
}

/// An absolute path with `/` separators (relative paths are joined to the current directory).
fn absolute(path: &Path) -> String {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    path.to_string_lossy().replace('\\', "/")
}

/// The environment variables that decide `--color auto`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ColorEnv {
    /// `NO_COLOR` set and non-empty (no-color.org).
    pub(crate) no_color: bool,
    /// `CLICOLOR_FORCE` set, non-empty and not `0` (bixense.com/clicolors).
    pub(crate) force: bool,
    /// `TERM=dumb`: a terminal that cannot show escapes.
    pub(crate) dumb: bool,
}

impl ColorEnv {
    fn from_env() -> ColorEnv {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        ColorEnv {
            no_color: var("NO_COLOR").is_some(),
            force: var("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
            dumb: var("TERM").is_some_and(|v| v == "dumb"),
        }
    }
}

/// Colour is on for `always`, off for `never`; for `auto`, `NO_COLOR` turns it
/// off, then `CLICOLOR_FORCE` turns it on (even in a pipe), then it is on only
/// on a terminal whose `TERM` is not `dumb`.
pub(crate) fn use_color(choice: ColorChoice, is_terminal: bool, env: &ColorEnv) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if env.no_color => false,
        ColorChoice::Auto if env.force => true,
        ColorChoice::Auto => is_terminal && !env.dumb,
    }
}

/// `error: could not check project: 2 errors, 1 warning emitted`, or
/// `warning: 1 warning emitted`; `None` when there is nothing to say.
fn summary(errors: usize, warnings: usize, failed: bool, action: &str, denied: bool) -> Option<String> {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let counts = match (errors, warnings) {
        (0, 0) => return None,
        (0, w) => plural(w, "warning"),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    };
    Some(if !failed {
        format!("warning: {counts} emitted")
    } else if errors == 0 && denied {
        format!("error: could not {action}: {counts} emitted (denied by `--deny warnings`)")
    } else {
        format!("error: could not {action}: {counts} emitted")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines() {
        assert_eq!(summary(0, 0, false, "check project", false), None);
        assert_eq!(summary(0, 1, false, "check project", false).as_deref(), Some("warning: 1 warning emitted"));
        assert_eq!(
            summary(2, 1, true, "check project", false).as_deref(),
            Some("error: could not check project: 2 errors, 1 warning emitted")
        );
        assert_eq!(
            summary(0, 2, true, "check project", true).as_deref(),
            Some("error: could not check project: 2 warnings emitted (denied by `--deny warnings`)")
        );
    }

    #[test]
    fn color_choice() {
        let none = ColorEnv::default();
        let no_color = ColorEnv { no_color: true, ..ColorEnv::default() };
        let force = ColorEnv { force: true, ..ColorEnv::default() };
        let dumb = ColorEnv { dumb: true, ..ColorEnv::default() };
        assert!(use_color(ColorChoice::Always, false, &no_color));
        assert!(!use_color(ColorChoice::Never, true, &force));
        assert!(use_color(ColorChoice::Auto, true, &none));
        assert!(!use_color(ColorChoice::Auto, true, &no_color));
        assert!(!use_color(ColorChoice::Auto, false, &none));
        assert!(use_color(ColorChoice::Auto, false, &force), "CLICOLOR_FORCE colours a pipe");
        assert!(!use_color(ColorChoice::Auto, true, &dumb), "TERM=dumb has no colour");
        assert!(use_color(ColorChoice::Auto, true, &ColorEnv { force: true, dumb: true, no_color: false }));
        assert!(!use_color(ColorChoice::Auto, true, &ColorEnv { force: true, dumb: false, no_color: true }));
    }
}
