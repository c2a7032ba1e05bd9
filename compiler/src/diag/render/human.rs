//! Human-readable diagnostics: a rustc-like header, an ariadne source excerpt
//! with the primary and secondary labels (possibly across files), then the
//! `note:` and `help:` lines.

use std::fmt::Write as _;
use std::ops::Range;

use ariadne::{CharSet, Color, Config, IndexType, Label as AriadneLabel, Report, ReportKind};

use super::{clamped_range, label_file};
use crate::diag::{Diagnostic, Severity};
use crate::source::Sources;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[1;36m";

/// Renders `diags` for a terminal, one report after another, separated by a
/// blank line. With `color == false` the output holds no ANSI escape at all.
///
/// A report is `error[E206]: message` (or `warning[W801]: ...`), then the
/// source excerpt with every label when the diagnostic has any, then one
/// `note: ...` line per note and a `help: ...` line. The summary line
/// (`error: could not check ...`) is the CLI's business, not this function's.
pub fn human(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let (diags, sources) = crate::diag::redact::redact(diags, sources);
    let (diags, sources) = (&*diags, &*sources);
    let mut out = String::new();
    for (i, diag) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_one(&mut out, diag, sources, color);
    }
    out
}

fn render_one(out: &mut String, diag: &Diagnostic, sources: &Sources, color: bool) {
    let (kind, kind_color) = match diag.severity {
        Severity::Error => ("error", RED),
        Severity::Warning => ("warning", YELLOW),
    };
    if color {
        let _ = writeln!(out, "{kind_color}{kind}[{}]{RESET}{BOLD}: {}{RESET}", diag.code, diag.message);
    } else {
        let _ = writeln!(out, "{kind}[{}]: {}", diag.code, diag.message);
    }
    out.push_str(&excerpt(diag, sources, color));
    for note in &diag.notes {
        push_tagged(out, "note", note, color);
    }
    if let Some(help) = &diag.help {
        push_tagged(out, "help", help, color);
    }
}

/// `note: text`, with continuation lines indented under the text.
fn push_tagged(out: &mut String, tag: &str, text: &str, color: bool) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    if color {
        let _ = writeln!(out, "{CYAN}{tag}{RESET}: {first}");
    } else {
        let _ = writeln!(out, "{tag}: {first}");
    }
    for line in lines {
        let _ = writeln!(out, "{:width$}{line}", "", width = tag.len() + 2);
    }
}

type AriadneSpan = (String, Range<usize>);

/// The ariadne excerpt without its own header line (the header is ours), or
/// an empty string when the diagnostic has no label in a known file.
fn excerpt(diag: &Diagnostic, sources: &Sources, color: bool) -> String {
    let mut labels: Vec<(AriadneSpan, &str, bool)> = Vec::new();
    let mut files: Vec<(String, String)> = Vec::new();
    for (i, label) in diag.labels.iter().enumerate() {
        let Some(file) = label_file(sources, label) else {
            continue;
        };
        if !files.iter().any(|(p, _)| *p == file.path) {
            files.push((file.path.clone(), file.text.clone()));
        }
        labels.push(((file.path.clone(), clamped_range(file, label)), label.message.as_str(), i == 0));
    }
    let Some((primary, _, _)) = labels.first().cloned() else {
        return String::new();
    };
    let kind = match diag.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let config = Config::default().with_color(color).with_index_type(IndexType::Byte).with_char_set(CharSet::Unicode);
    let mut report = Report::build(kind, primary).with_config(config);
    for (order, (span, message, is_primary)) in labels.into_iter().enumerate() {
        let label_color = if is_primary { primary_color(diag.severity) } else { Color::Blue };
        let mut label = AriadneLabel::new(span).with_order(order as i32).with_color(label_color);
        if is_primary {
            label = label.with_priority(1);
        }
        if !message.is_empty() {
            label = label.with_message(message);
        }
        report.add_label(label);
    }
    let mut buf = Vec::new();
    if report.finish().write(ariadne::sources(files), &mut buf).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&buf);
    // Drop ariadne's header line (ours says `error[E206]: ...` instead)
    // and the trailing blanks that ariadne pads label lines with.
    let body = text.split_once('\n').map(|(_, rest)| rest).unwrap_or_default();
    body.lines().map(|line| format!("{}\n", line.trim_end())).collect()
}

fn primary_color(severity: Severity) -> Color {
    match severity {
        Severity::Error => Color::Red,
        Severity::Warning => Color::Yellow,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::diag::{Code, Diagnostic};
    use crate::source::{FileId, Span};

    pub(crate) fn fixture() -> (Vec<Diagnostic>, Sources) {
        let mut sources = Sources::new();
        sources.add("envs/staging.gov", "environment staging {\n  tier = staging\n  stack = app\n}\n");
        sources.add(
            "app.gov",
            "stack app {\n  service api {\n    port = 8080\n    connects = [mian]\n  }\n  postgres main { }\n}\n",
        );
        // Sorted by path: app.gov is FileId(0), envs/staging.gov FileId(1).
        let app = FileId(0);
        let staging = FileId(1);
        let diags = vec![
            Diagnostic::new(
                Code::E206,
                Span::new(app, 60, 64),
                "unresolved reference `mian`",
                "no resource named `mian`",
            )
            .with_label(Span::new(app, 72, 89), "a postgres with a similar name")
            .with_label(Span::new(staging, 12, 19), "in environment `staging`")
            .with_note("the stack `app` is used by `staging`")
            .with_help("did you mean `main`?"),
            Diagnostic::new(Code::W801, Span::new(staging, 24, 38), "environment-only resource", "declared here"),
            Diagnostic::global(Code::E210, "no `project.gov` found in `/tmp/x` or any parent directory")
                .with_help("create a `project.gov` holding a `project NAME { ... }` block"),
        ];
        (diags, sources)
    }

    #[test]
    fn renders_without_color() {
        let (diags, sources) = fixture();
        let out = human(&diags, &sources, false);
        assert!(!out.contains('\x1b'), "no ANSI escape without colour");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn renders_with_color() {
        let (diags, sources) = fixture();
        let out = human(&diags, &sources, true);
        assert!(out.contains("\x1b[1;31merror[E206]"));
    }

    #[test]
    fn survives_out_of_range_spans_and_invalid_utf8() {
        let mut sources = Sources::new();
        sources.add_bytes("bad.gov", vec![b'a', 0xff, b'b']);
        let diags = vec![
            Diagnostic::new(Code::E101, Span::new(FileId(0), 1, 2), "file is not UTF-8", "invalid byte"),
            Diagnostic::new(Code::E101, Span::new(FileId(7), 1, 2), "unknown file", "here"),
        ];
        let out = human(&diags, &sources, false);
        assert!(out.contains("error[E101]: file is not UTF-8"));
        assert!(out.contains("error[E101]: unknown file"));
    }
}
