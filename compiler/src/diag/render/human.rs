//! Human-readable diagnostics: a rustc-like header, an ariadne source excerpt
//! with the primary and secondary labels (possibly across files), then the
//! `note:` and `help:` lines.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Range;

use ariadne::{CharSet, Color, Config, IndexType, Label as AriadneLabel, Report, ReportKind, Source};

use super::{clamped_range, label_file};
use crate::diag::{Diagnostic, Severity};
use crate::source::{SourceFile, Sources};

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
    let mut shared = Shared::of(diags, sources);
    for (i, diag) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_one(&mut out, diag, sources, &mut shared, color);
    }
    out
}

/// The ariadne [`Source`] of each file that several reports show, built once per call
/// of [`human`] and shared by them: building one per report made many reports
/// quadratic. A file only one report shows gets an excerpt of its own instead
/// ([`group`]): building the whole file's source costs as much as reading it.
struct Shared<'a> {
    /// The files shown by more than one report, by path.
    several: BTreeSet<&'a str>,
    sources: BTreeMap<&'a str, Source<Cow<'a, str>>>,
}

impl<'a> Shared<'a> {
    fn of(diags: &[Diagnostic], sources: &'a Sources) -> Shared<'a> {
        let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
        for diag in diags {
            for file in files_shown(diag.labels.iter().filter_map(|l| label_file(sources, l))) {
                *shown.entry(file.path.as_str()).or_default() += 1;
            }
        }
        let several = shown.into_iter().filter(|&(_, n)| n > 1).map(|(file, _)| file).collect();
        Shared { several, sources: BTreeMap::new() }
    }

    /// Builds the source of `file` if several reports show it and it has none yet.
    fn prepare(&mut self, file: &'a SourceFile) {
        let path = file.path.as_str();
        if self.several.contains(path) {
            self.sources.entry(path).or_insert_with(|| Source::from(Cow::Borrowed(file.text.as_str())));
        }
    }

    /// The shared source of `file`, once [`Shared::prepare`]d.
    fn get(&self, file: &SourceFile) -> Option<&Source<Cow<'a, str>>> {
        self.sources.get(file.path.as_str())
    }
}

fn render_one<'a>(out: &mut String, diag: &Diagnostic, sources: &'a Sources, shared: &mut Shared<'a>, color: bool) {
    let (kind, kind_color) = match diag.severity {
        Severity::Error => ("error", RED),
        Severity::Warning => ("warning", YELLOW),
    };
    if color {
        let _ = writeln!(out, "{kind_color}{kind}[{}]{RESET}{BOLD}: {}{RESET}", diag.code, diag.message);
    } else {
        let _ = writeln!(out, "{kind}[{}]: {}", diag.code, diag.message);
    }
    out.push_str(&excerpt(diag, sources, shared, color));
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

/// Lines longer than this many bytes are cropped around their labels.
const MAX_LINE: usize = 160;
/// Bytes of context kept on each side of the labels of a cropped line.
const CONTEXT: usize = 48;
/// The marker ariadne prints for a group's file name; replaced by our own header.
const MARK: char = '\u{1}';

/// One label resolved against its file.
struct Resolved<'a, 'd> {
    file: &'a SourceFile,
    range: Range<usize>,
    message: &'d str,
    primary: bool,
}

/// The labels of one file and their spans in its source: the shared one, or an
/// excerpt of its own, with a line longer than [`MAX_LINE`] cropped.
struct Group<'a, 's> {
    source: GroupSource<'a, 's>,
    spans: Vec<(usize, Range<usize>)>,
}

enum GroupSource<'a, 's> {
    Shared(&'s Source<Cow<'a, str>>),
    Cropped(Source<Cow<'a, str>>),
}

/// The ariadne cache of one report: its groups by index, each displayed as a
/// marker that [`excerpt`] replaces with the real `path:line:col`.
struct Groups<'a, 's>(Vec<Group<'a, 's>>);

impl<'a> ariadne::Cache<usize> for Groups<'a, '_> {
    type Storage = Cow<'a, str>;

    fn fetch(&mut self, id: &usize) -> Result<&Source<Cow<'a, str>>, impl std::fmt::Debug> {
        match self.0.get(*id).map(|g| &g.source) {
            Some(GroupSource::Shared(source)) => Ok(*source),
            Some(GroupSource::Cropped(source)) => Ok(source),
            None => Err("no such excerpt"),
        }
    }

    fn display<'b>(&self, id: &'b usize) -> Option<impl std::fmt::Display + 'b> {
        Some(format!("{MARK}{id}{MARK}"))
    }
}

/// The ariadne excerpt without its own header line (the header is ours), or
/// an empty string when the diagnostic has no label in a known file.
///
/// Ariadne is handed the lines the labels cover (after empty lines up to them), or
/// the whole file once for all the reports that show it, and lines longer than
/// [`MAX_LINE`] are cropped around their labels with `…`: the cost and size of the
/// reports grow with the files once, not with the files times the reports, and never
/// with a line.
fn excerpt<'a>(diag: &Diagnostic, sources: &'a Sources, shared: &mut Shared<'a>, color: bool) -> String {
    let resolved: Vec<Resolved> = diag
        .labels
        .iter()
        .enumerate()
        .filter_map(|(i, label)| {
            let file = label_file(sources, label)?;
            Some(Resolved { file, range: clamped_range(file, label), message: &label.message, primary: i == 0 })
        })
        .collect();
    if resolved.is_empty() {
        return String::new();
    }
    let files = files_shown(resolved.iter().map(|r| r.file));
    for file in &files {
        shared.prepare(file);
    }
    let groups: Vec<Group> = files.iter().map(|file| group(file, &resolved, shared.get(file))).collect();
    // Our headers: the primary label's start in its file, else the file's first label's.
    let headers: Vec<String> = files
        .iter()
        .map(|file| {
            let at = resolved.iter().find(|r| std::ptr::eq(r.file, *file)).map_or(0, |r| r.range.start);
            let (line, col) = file.line_col(at);
            format!("{}:{line}:{col}", file.path)
        })
        .collect();
    let kind = match diag.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let config = Config::default().with_color(color).with_index_type(IndexType::Byte).with_char_set(CharSet::Unicode);
    let primary_span = (0, groups[0].spans[0].1.clone());
    let mut report = Report::build(kind, primary_span).with_config(config);
    let mut order = 0;
    for (gi, g) in groups.iter().enumerate() {
        for (ri, range) in &g.spans {
            let r = &resolved[*ri];
            let label_color = if r.primary { primary_color(diag.severity) } else { Color::Blue };
            let mut label = AriadneLabel::new((gi, range.clone())).with_order(order).with_color(label_color);
            order += 1;
            if r.primary {
                label = label.with_priority(1);
            }
            if !r.message.is_empty() {
                label = label.with_message(r.message);
            }
            report.add_label(label);
        }
    }
    let mut buf = Vec::new();
    if report.finish().write(Groups(groups), &mut buf).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&buf);
    // Drop ariadne's header line (ours says `error[E206]: ...` instead)
    // and the trailing blanks that ariadne pads label lines with.
    let body = text.split_once('\n').map(|(_, rest)| rest).unwrap_or_default();
    body.lines().map(|line| format!("{}\n", replace_header(line.trim_end(), &headers))).collect()
}

/// The files of a report's labels (`labelled`, a file per label), each once, in order
/// of their first label: the primary label's file comes first.
fn files_shown<'a>(labelled: impl Iterator<Item = &'a SourceFile>) -> Vec<&'a SourceFile> {
    let mut files: Vec<&SourceFile> = Vec::new();
    for file in labelled {
        if !files.iter().any(|f| std::ptr::eq(*f, file)) {
            files.push(file);
        }
    }
    files
}

/// Replaces ariadne's `MARK idx MARK:line:col` (which it computes wrongly for a
/// secondary file, and which would count cropped columns) with our header.
fn replace_header(line: &str, headers: &[String]) -> String {
    let Some(start) = line.find(MARK) else {
        return line.to_string();
    };
    let rest = &line[start + MARK.len_utf8()..];
    let Some(close) = rest.find(MARK) else {
        return line.to_string();
    };
    let Some(header) = rest[..close].parse::<usize>().ok().and_then(|i| headers.get(i)) else {
        return line.to_string();
    };
    // Skip ariadne's `:line:col`.
    let after = &rest[close + MARK.len_utf8()..];
    let tail = after.trim_start_matches(|c: char| c == ':' || c == '?' || c.is_ascii_digit());
    format!("{}{header}{tail}", &line[..start])
}

/// The group of `file`'s labels: over the `shared` source, when there is one
/// and every label's lines are short; else over an excerpt holding empty lines
/// up to the first label's line (ariadne numbers lines from the start of its
/// source), then the lines from the first label's to the last label's, where a
/// line longer than [`MAX_LINE`] that no multi-line label crosses is cropped to
/// its labels plus [`CONTEXT`] bytes each side, with `…`.
fn group<'a, 's>(
    file: &'a SourceFile,
    resolved: &[Resolved<'_, '_>],
    shared: Option<&'s Source<Cow<'a, str>>>,
) -> Group<'a, 's> {
    let mine: Vec<(usize, &Resolved<'_, '_>)> =
        resolved.iter().enumerate().filter(|(_, r)| std::ptr::eq(r.file, file)).collect();
    let last_line = |r: &Resolved| file.line_index(if r.range.is_empty() { r.range.start } else { r.range.end - 1 });
    let long = |line: usize| file.line_range(line).len() > MAX_LINE;
    if let Some(shared) =
        shared.filter(|_| !mine.iter().any(|(_, r)| long(file.line_index(r.range.start)) || long(last_line(r))))
    {
        let spans = mine.iter().map(|(i, r)| (*i, r.range.clone())).collect();
        return Group { source: GroupSource::Shared(shared), spans };
    }
    let first = mine.iter().map(|(_, r)| file.line_index(r.range.start)).min().unwrap_or(0);
    let last = mine.iter().map(|(_, r)| last_line(r)).max().unwrap_or(first);
    let text = &file.text;
    let mut out = "\n".repeat(first);
    // Per excerpted line: where it starts in `out`, the length of its `…` prefix, its window.
    let mut lines: Vec<(usize, usize, Range<usize>)> = Vec::with_capacity(last - first + 1);
    for line in first..=last {
        let span = file.line_range(line);
        let crosses = |r: &Resolved| {
            let (a, b) = (file.line_index(r.range.start), last_line(r));
            a != b && a <= line && line <= b
        };
        let window = if span.len() <= MAX_LINE || mine.iter().any(|(_, r)| crosses(r)) {
            span.clone()
        } else {
            let on_line = mine.iter().map(|(_, r)| r).filter(|r| file.line_index(r.range.start) == line);
            let lo = on_line.clone().map(|r| r.range.start).min();
            let hi = on_line.map(|r| r.range.end).max();
            let (lo, hi) = match (lo, hi) {
                (Some(lo), Some(hi)) => (lo.saturating_sub(CONTEXT).max(span.start), (hi + CONTEXT).min(span.end)),
                _ => (span.start, span.start + MAX_LINE),
            };
            floor_boundary(text, lo)..ceil_boundary(text, hi)
        };
        let prefix = if window.start > span.start { "…" } else { "" };
        lines.push((out.len(), prefix.len(), window.clone()));
        out.push_str(prefix);
        out.push_str(&text[window.clone()]);
        if window.end < span.end {
            out.push('…');
        }
        out.push('\n');
    }
    let map = |line: usize, offset: usize| {
        let (at, prefix, window) = &lines[line - first];
        at + prefix + offset.clamp(window.start, window.end) - window.start
    };
    let spans = mine
        .iter()
        .map(|(i, r)| {
            let start = map(file.line_index(r.range.start), r.range.start);
            let end = if r.range.is_empty() { start } else { map(last_line(r), r.range.end).max(start) };
            (*i, start..end)
        })
        .collect();
    Group { source: GroupSource::Cropped(Source::from(Cow::Owned(out))), spans }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
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
            .with_help("did you mean `main`?")
            .with_replacement("replace with `main`", Span::new(app, 60, 64), "main"),
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
    fn a_secondary_file_header_shows_its_own_label() {
        let mut sources = Sources::new();
        sources.add("a.gov", "x = 1\ny = 2\n");
        sources.add("b.gov", "# ééééé\n# ééé\nname = z\n");
        let z = "# ééééé\n# ééé\nname = ".len();
        let diags = vec![Diagnostic::new(Code::E206, Span::new(FileId(0), 10, 11), "primary", "here")
            .with_label(Span::new(FileId(1), z, z + 1), "there")];
        let out = human(&diags, &sources, false);
        assert!(out.contains("╭─[ a.gov:2:5 ]"), "{out}");
        assert!(out.contains("├─[ b.gov:3:8 ]"), "{out}");
        assert!(out.contains(" 3 │ name = z"), "{out}");
    }

    #[test]
    fn long_lines_are_cropped_around_the_label() {
        let mut sources = Sources::new();
        let line = format!("{}bad{}", "a".repeat(5000), "b".repeat(5000));
        sources.add("long.gov", format!("first\n{line}\n"));
        let at = "first\n".len() + 5000;
        let diags = vec![Diagnostic::new(Code::E101, Span::new(FileId(0), at, at + 3), "unexpected `bad`", "here")];
        let out = human(&diags, &sources, false);
        assert!(out.contains("╭─[ long.gov:2:5001 ]"), "{out}");
        assert!(out.contains(&format!(" 2 │ …{}bad{}…", "a".repeat(CONTEXT), "b".repeat(CONTEXT))), "{out}");
        assert!(out.lines().all(|l| l.chars().count() < 3 * CONTEXT + 40), "{out}");
    }

    /// Many reports on one long line: the output grows with the number of
    /// reports, not with the length of the line (was 309 MB for 4,000 errors on 39 KB).
    #[test]
    fn output_size_does_not_grow_with_the_line() {
        let mut sources = Sources::new();
        let words: Vec<String> = (0..4000).map(|i| format!("w{i:05}")).collect();
        let line = words.join(" ");
        assert!(line.len() > 27_000);
        sources.add("one.gov", format!("{line}\n"));
        let diags: Vec<Diagnostic> = (0..4000)
            .map(|i| {
                let at = i * 7;
                Diagnostic::new(Code::E206, Span::new(FileId(0), at, at + 6), "unresolved reference", "here")
            })
            .collect();
        let out = human(&diags, &sources, false);
        assert_eq!(out.matches("error[E206]").count(), 4000);
        assert!(out.len() < 4000 * 700, "{} bytes for 4,000 reports", out.len());
    }

    /// Many reports over one large file with short lines: every report is small.
    #[test]
    fn output_size_is_linear_in_the_number_of_reports() {
        let mut sources = Sources::new();
        let text: String = (0..5000).map(|i| format!("x{i} = y{i}\n")).collect();
        sources.add("many.gov", text.clone());
        let mut at = 0;
        let mut diags = Vec::new();
        for line in text.lines() {
            diags.push(Diagnostic::new(Code::E206, Span::new(FileId(0), at, at + 2), "unresolved reference", "here"));
            at += line.len() + 1;
        }
        let out = human(&diags, &sources, false);
        assert!(out.contains("4999 │ x4998 = y4998"), "line numbers are the file's");
        assert!(out.len() < 5000 * 250, "{} bytes", out.len());
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
