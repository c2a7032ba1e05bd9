//! Printing diagnostics in the chosen format and choosing the exit code.
//!
//! Human reports go to stderr (with a summary line unless `--quiet`); JSON lines
//! and SARIF go to stdout, where tools read them. Shared by every subcommand.

use std::io::IsTerminal;
use std::process::ExitCode;

use govc::diag::render;
use govc::{Diagnostic, Sources};

use super::{print_stderr, print_stdout, ColorChoice, Deny, GlobalArgs, MessageFormat};

/// How diagnostics are printed, decided once from the global options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    format: MessageFormat,
    color: bool,
    deny_warnings: bool,
    quiet: bool,
}

impl Output {
    /// Resolves `--color auto` against the terminal and `NO_COLOR`.
    pub(crate) fn new(args: &GlobalArgs) -> Output {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Output {
            format: args.message_format,
            color: use_color(args.color, std::io::stderr().is_terminal(), no_color),
            deny_warnings: args.deny.contains(&Deny::Warnings),
            quiet: args.quiet,
        }
    }

    /// Prints `diags` and returns the exit code: 1 with errors, or with warnings
    /// under `--deny warnings`; 0 otherwise. `action` names what failed in the
    /// summary line: "could not {action}".
    pub(crate) fn report(&self, diags: &[Diagnostic], sources: &Sources, action: &str) -> ExitCode {
        let (errors, warnings) = render::counts(diags);
        let failed = errors > 0 || (self.deny_warnings && warnings > 0);
        match self.format {
            MessageFormat::Json => print_stdout(&render::json_lines(diags, sources)),
            MessageFormat::Sarif => print_stdout(&render::sarif(diags, sources)),
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

/// Colour is on for `always`, off for `never`, and for `auto` only on a
/// terminal with `NO_COLOR` unset or empty.
pub(crate) fn use_color(choice: ColorChoice, is_terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && !no_color,
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
        assert!(use_color(ColorChoice::Always, false, true));
        assert!(!use_color(ColorChoice::Never, true, false));
        assert!(use_color(ColorChoice::Auto, true, false));
        assert!(!use_color(ColorChoice::Auto, true, true));
        assert!(!use_color(ColorChoice::Auto, false, false));
    }
}
