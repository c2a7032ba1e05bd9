//! `govc explain [CODE]`: print a code's long explanation, or list every code;
//! with `--message-format json` one JSON line per code, with `sarif` a log whose
//! rules are the codes.

use std::fmt::Write as _;
use std::process::ExitCode;

use govc::diag::render;
use govc::Code;
use miette::miette;

use super::{print_stdout, GlobalArgs, MessageFormat};

/// Prints the explanation of `code` (case-insensitive), or every code with its
/// title when `code` is `None`, in the chosen message format. An unknown code is
/// an error (exit 2).
pub(crate) fn run(code: Option<&str>, args: &GlobalArgs) -> miette::Result<ExitCode> {
    let Some(code) = code else {
        print_stdout(&match args.message_format {
            MessageFormat::Human => list(),
            MessageFormat::Json => render::json_explanations(Code::ALL, false),
            MessageFormat::Sarif => render::sarif_rules(Code::ALL),
        });
        return Ok(ExitCode::SUCCESS);
    };
    let Ok(code) = code.parse::<Code>() else {
        return Err(miette!(
            help = "run `govc explain` with no code to list every code; codes look like `E206` or `W801`",
            "unknown diagnostic code `{code}`"
        ));
    };
    let mut text = match args.message_format {
        MessageFormat::Human => code.explanation().to_string(),
        MessageFormat::Json => render::json_explanations(&[code], true),
        MessageFormat::Sarif => render::sarif_rules(&[code]),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    print_stdout(&text);
    Ok(ExitCode::SUCCESS)
}

/// One line per code: `E206  error    unresolved reference or unknown attribute`.
fn list() -> String {
    let mut out = String::new();
    for code in Code::ALL {
        let _ = writeln!(out, "{}  {:<8} {}", code, code.severity().as_str(), code.title());
    }
    out.push_str("\nRun `govc explain CODE` for the long explanation of one code.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_code() {
        let out = list();
        assert_eq!(out.lines().filter(|l| l.starts_with('E') || l.starts_with('W')).count(), Code::ALL.len());
        assert!(out.contains("E206  error    unresolved reference or unknown attribute"));
    }
}
