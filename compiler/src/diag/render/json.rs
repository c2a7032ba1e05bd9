//! JSON lines for editors and scripts: one `{"type":"diagnostic",...}` object per
//! diagnostic, then one `{"type":"summary",...}` line (the `type` key plays the
//! part of cargo's `reason`). Positions are 0-based lines and UTF-16 characters,
//! as the LSP counts them; spans are byte offsets. The format is documented in
//! docs/diagnostics.md.

use serde::Serialize;

use super::{clamped_range, counts, explanation_url, label_file, Root};
use crate::diag::{Code, Diagnostic, Label};
use crate::source::{SourceFile, Sources};

/// What every record names as its producer, as LSP's `Diagnostic.source`.
const SOURCE: &str = "govc";

/// One diagnostic, keys in this order.
#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    r#type: &'static str,
    source: &'static str,
    code: &'a str,
    severity: &'a str,
    message: &'a str,
    /// The primary label's path relative to the project root, or `null` for a global diagnostic.
    file: Option<&'a str>,
    /// The primary label's absolute path (`null` for the stdlib, a global diagnostic or an unknown root).
    path: Option<String>,
    /// The primary label's span and range (`null` for a global diagnostic).
    span: Option<JsonSpan>,
    range: Option<JsonRange>,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
    notes: &'a [String],
    fixes: Vec<JsonFix<'a>>,
    /// The long explanation: a web page, and the command that prints it.
    url: String,
    explain: String,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    path: Option<String>,
    message: &'a str,
    primary: bool,
    span: JsonSpan,
    range: JsonRange,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    message: &'a str,
    edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    file: &'a str,
    path: Option<String>,
    span: JsonSpan,
    range: JsonRange,
    text: &'a str,
}

#[derive(Serialize, Clone, Copy)]
struct JsonSpan {
    start: usize,
    end: usize,
}

#[derive(Serialize, Clone, Copy)]
struct JsonRange {
    start: JsonPosition,
    end: JsonPosition,
}

#[derive(Serialize, Clone, Copy)]
struct JsonPosition {
    line: u32,
    character: u32,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    r#type: &'static str,
    source: &'static str,
    /// The absolute project root that every `file` is relative to (`null` when unknown).
    root: Option<&'a str>,
    errors: usize,
    warnings: usize,
}

/// [`json_lines_in`] without a known project root: every `path` and the
/// summary's `root` are `null`.
pub fn json_lines(diags: &[Diagnostic], sources: &Sources) -> String {
    json_lines_in(diags, sources, &Root::default())
}

/// Renders `diags` as JSON lines: one object per diagnostic with the keys `type`
/// (`"diagnostic"`), `source`, `code`, `severity`, `message`, `file`, `path`,
/// `span`, `range`, `labels`, `help`, `notes`, `fixes`, `url`, `explain` (in that
/// order), then `{"type":"summary","source":"govc","root":...,"errors":N,"warnings":N}`.
/// Every line ends with `\n`. Labels and edits pointing at a file that `sources`
/// does not hold are left out.
pub fn json_lines_in(diags: &[Diagnostic], sources: &Sources, root: &Root) -> String {
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
                let (span, range) = locate(file, label);
                Some(JsonLabel {
                    file: &file.path,
                    path: root.absolute(file),
                    message: &label.message,
                    primary: i == 0,
                    span,
                    range,
                })
            })
            .collect();
        let fixes = diag
            .fixes
            .iter()
            .map(|fix| JsonFix {
                message: &fix.message,
                edits: fix
                    .edits
                    .iter()
                    .filter_map(|edit| {
                        let label = Label { span: edit.span, message: String::new() };
                        let file = label_file(sources, &label)?;
                        let (span, range) = locate(file, &label);
                        Some(JsonEdit { file: &file.path, path: root.absolute(file), span, range, text: &edit.text })
                    })
                    .collect(),
            })
            .collect();
        let primary = labels.first().filter(|l| l.primary);
        let it = JsonDiagnostic {
            r#type: "diagnostic",
            source: SOURCE,
            code: diag.code.as_str(),
            severity: diag.severity.as_str(),
            message: &diag.message,
            file: primary.map(|l| l.file),
            path: primary.and_then(|l| l.path.clone()),
            span: primary.map(|l| l.span),
            range: primary.map(|l| l.range),
            labels,
            help: diag.help.as_deref(),
            notes: &diag.notes,
            fixes,
            url: explanation_url(diag.code),
            explain: format!("govc explain {}", diag.code),
        };
        push_line(&mut out, &it);
    }
    let (errors, warnings) = counts(diags);
    let summary = JsonSummary { r#type: "summary", source: SOURCE, root: root.project.as_deref(), errors, warnings };
    push_line(&mut out, &summary);
    out
}

/// One JSON line per code for `govc explain --message-format json`:
/// `{"type":"explanation","source":"govc","code","severity","title","url","explain","text"}`,
/// where `text` is the Markdown explanation (the same as `govc explain CODE`),
/// `null` when `with_text` is false (the list of every code).
pub fn json_explanations(codes: &[Code], with_text: bool) -> String {
    #[derive(Serialize)]
    struct JsonExplanation {
        r#type: &'static str,
        source: &'static str,
        code: &'static str,
        severity: &'static str,
        title: &'static str,
        url: String,
        explain: String,
        text: Option<&'static str>,
    }
    let mut out = String::new();
    for &code in codes {
        let it = JsonExplanation {
            r#type: "explanation",
            source: SOURCE,
            code: code.as_str(),
            severity: code.severity().as_str(),
            title: code.title(),
            url: explanation_url(code),
            explain: format!("govc explain {code}"),
            text: with_text.then(|| code.explanation()),
        };
        push_line(&mut out, &it);
    }
    out
}

/// The byte span and LSP range of `label` in `file`.
fn locate(file: &SourceFile, label: &Label) -> (JsonSpan, JsonRange) {
    let range = clamped_range(file, label);
    let position = |offset: usize| {
        let (line, character) = file.lsp_position(offset);
        JsonPosition { line, character }
    };
    (
        JsonSpan { start: range.start, end: range.end },
        JsonRange { start: position(range.start), end: position(range.end) },
    )
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
        assert_eq!(first["range"], first["labels"][0]["range"], "the top-level range is the primary label's");
        assert_eq!(first["file"], "a.gov");
        let summary: serde_json::Value = serde_json::from_str(out.lines().last().expect("summary")).expect("json");
        assert_eq!(
            summary,
            serde_json::json!({"type": "summary", "source": "govc", "root": null, "errors": 1, "warnings": 0})
        );
    }

    #[test]
    fn records_are_typed_and_carry_source_explanation_paths_and_fixes() {
        let mut sources = Sources::with_stdlib();
        sources.add("app.gov", "x = mian\n");
        let file = FileId(sources.len() as u32 - 1);
        let diags = vec![Diagnostic::new(Code::E206, Span::new(file, 4, 8), "unresolved reference `mian`", "here")
            .with_help("did you mean `main`?")
            .with_replacement("replace with `main`", Span::new(file, 4, 8), "main")];
        let root = Root { project: Some("/work/demo".into()), sarif: None };
        let out = json_lines_in(&diags, &sources, &root);
        let lines: Vec<serde_json::Value> =
            out.lines().map(|l| serde_json::from_str(l).expect("one JSON value per line")).collect();
        let d = &lines[0];
        assert_eq!((d["type"].as_str(), d["source"].as_str()), (Some("diagnostic"), Some("govc")));
        assert_eq!(d["path"], "/work/demo/app.gov");
        assert_eq!(d["labels"][0]["path"], "/work/demo/app.gov");
        assert_eq!(d["span"], serde_json::json!({"start": 4, "end": 8}));
        assert_eq!(d["explain"], "govc explain E206");
        assert!(d["url"].as_str().expect("url").ends_with("/explain/E206.md"));
        let edit = &d["fixes"][0]["edits"][0];
        assert_eq!(d["fixes"][0]["message"], "replace with `main`");
        assert_eq!((edit["file"].as_str(), edit["text"].as_str()), (Some("app.gov"), Some("main")));
        assert_eq!(edit["range"]["start"], serde_json::json!({"line": 0, "character": 4}));
        assert_eq!(lines[1]["type"], "summary");
        assert_eq!(lines[1]["root"], "/work/demo");
        // A stdlib file has no absolute path.
        let stdlib = FileId(0);
        let diags = vec![Diagnostic::new(Code::E206, Span::new(stdlib, 0, 1), "m", "l")];
        let out = json_lines_in(&diags, &sources, &root);
        let d: serde_json::Value = serde_json::from_str(out.lines().next().expect("line")).expect("json");
        assert!(d["file"].as_str().expect("file").starts_with("<stdlib>/"));
        assert_eq!(d["path"], serde_json::Value::Null);
    }
}
