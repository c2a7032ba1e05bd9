//! JSON lines for editors and scripts: one object per diagnostic, then one
//! summary line. Positions are 0-based lines and UTF-16 characters, as the
//! LSP counts them; spans are byte offsets.

use serde::Serialize;

use super::{clamped_range, counts, label_file};
use crate::diag::Diagnostic;
use crate::source::Sources;

/// One diagnostic, keys in this order.
#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: &'a str,
    message: &'a str,
    /// The primary label's path, or `null` for a global diagnostic.
    file: Option<&'a str>,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    message: &'a str,
    primary: bool,
    span: JsonSpan,
    range: JsonRange,
}

#[derive(Serialize)]
struct JsonSpan {
    start: usize,
    end: usize,
}

#[derive(Serialize)]
struct JsonRange {
    start: JsonPosition,
    end: JsonPosition,
}

#[derive(Serialize)]
struct JsonPosition {
    line: u32,
    character: u32,
}

#[derive(Serialize)]
struct JsonSummary {
    summary: JsonCounts,
}

#[derive(Serialize)]
struct JsonCounts {
    errors: usize,
    warnings: usize,
}

/// Renders `diags` as JSON lines: one object per diagnostic with the keys
/// `code`, `severity`, `message`, `file`, `labels`, `help`, `notes` (in that
/// order), then `{"summary":{"errors":N,"warnings":N}}`. Every line ends
/// with `\n`. Labels pointing at a file that `sources` does not hold are left out.
pub fn json_lines(diags: &[Diagnostic], sources: &Sources) -> String {
    let (diags, sources) = crate::diag::redact::redact(diags, sources);
    let (diags, sources) = (&*diags, &*sources);
    let mut out = String::new();
    for diag in diags {
        let labels: Vec<JsonLabel> = diag
            .labels
            .iter()
            .enumerate()
            .filter_map(|(i, label)| {
                let file = label_file(sources, label)?;
                let range = clamped_range(file, label);
                let position = |offset: usize| {
                    let (line, character) = file.lsp_position(offset);
                    JsonPosition { line, character }
                };
                Some(JsonLabel {
                    file: &file.path,
                    message: &label.message,
                    primary: i == 0,
                    span: JsonSpan { start: range.start, end: range.end },
                    range: JsonRange { start: position(range.start), end: position(range.end) },
                })
            })
            .collect();
        let it = JsonDiagnostic {
            code: diag.code.as_str(),
            severity: diag.severity.as_str(),
            message: &diag.message,
            file: labels.first().filter(|l| l.primary).map(|l| l.file),
            labels,
            help: diag.help.as_deref(),
            notes: &diag.notes,
        };
        push_line(&mut out, &it);
    }
    let (errors, warnings) = counts(diags);
    push_line(&mut out, &JsonSummary { summary: JsonCounts { errors, warnings } });
    out
}

fn push_line(out: &mut String, value: &impl Serialize) {
    // Serialising these plain structs cannot fail; an empty object keeps the line count right if it ever did.
    out.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string()));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::render::human::tests::fixture;
    use crate::diag::Code;
    use crate::source::{FileId, Span};

    #[test]
    fn renders_json_lines() {
        let (diags, sources) = fixture();
        let out = json_lines(&diags, &sources);
        for line in out.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("every line is one JSON value");
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn positions_count_utf16_units() {
        let mut sources = Sources::new();
        sources.add("a.gov", "# é😀\nx = \"😀\" y\n");
        let start = "# é😀\nx = \"😀\" ".len();
        let diags =
            vec![Diagnostic::new(Code::E202, Span::new(FileId(0), start, start + 1), "unknown field `y`", "here")];
        let out = json_lines(&diags, &sources);
        let first: serde_json::Value = serde_json::from_str(out.lines().next().expect("one line")).expect("json");
        assert_eq!(first["labels"][0]["range"]["start"], serde_json::json!({"line": 1, "character": 9}));
        assert_eq!(first["file"], "a.gov");
        let summary: serde_json::Value = serde_json::from_str(out.lines().last().expect("summary")).expect("json");
        assert_eq!(summary, serde_json::json!({"summary": {"errors": 1, "warnings": 0}}));
    }
}
