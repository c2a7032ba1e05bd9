//! SARIF 2.1.0 for CI code scanning: one log, one run, one rule per code used.
//!
//! Regions are 1-based with columns in UTF-16 code units (SARIF's default
//! `columnKind`), plus character and byte offsets. Keys are sorted (serde_json's
//! default map), so the log is byte-identical from run to run.
//!
//! Artifact URIs are relative to a `uriBaseId`: `PROJECTROOT` (the project root),
//! or `SRCROOT` when [`Root::sarif`] names another directory (`--sarif-root`,
//! typically the repository root, which code scanning expects); the base
//! resolves to an absolute `file://` URI whenever the root is known. Each result
//! carries `partialFingerprints` so that repeated uploads update alerts instead
//! of duplicating them. Documented in docs/diagnostics.md.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{clamped_range, explanation_url, label_file, Root, REPOSITORY};
use crate::diag::{Code, Diagnostic, Label, Severity};
use crate::source::{Origin, SourceFile, Sources};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of govc's fingerprint in `partialFingerprints` (versioned: a new
/// recipe gets a new key, so old alerts are not matched against it).
const FINGERPRINT: &str = "govcFingerprint/v1";

/// Where artifact URIs are relative to.
struct Base {
    /// `PROJECTROOT` or `SRCROOT`.
    id: &'static str,
    /// The absolute `file://` URI of the base, ending in `/`, when known.
    uri: Option<String>,
    /// The project root relative to the base (`""` or `dir/sub/`), prefixed to every project path.
    prefix: String,
}

impl Base {
    fn new(root: &Root) -> Base {
        // `/srv/repo` -> `file:///srv/repo/`; `C:/repo` -> `file:///C:/repo/`.
        let file_uri = |dir: &str| {
            let dir = dir.trim_end_matches('/');
            let slash = if dir.starts_with('/') { "" } else { "/" };
            format!("file://{slash}{}/", uri(dir).replacen("%3A", ":", 1))
        };
        match (&root.sarif, &root.project) {
            (Some(base), project) => {
                let base = base.trim_end_matches('/');
                let prefix = project
                    .as_deref()
                    .and_then(|p| p.strip_prefix(base))
                    .map(|rest| rest.trim_matches('/'))
                    .map_or(String::new(), |rest| if rest.is_empty() { String::new() } else { format!("{rest}/") });
                Base { id: "SRCROOT", uri: Some(file_uri(base)), prefix }
            }
            (None, project) => Base { id: "PROJECTROOT", uri: project.as_deref().map(file_uri), prefix: String::new() },
        }
    }

    /// The `artifactLocation` of a file: stdlib files (embedded in govc, not on disk) have no base.
    fn artifact(&self, file: &SourceFile) -> Value {
        match file.origin {
            Origin::Project => json!({ "uri": uri(&format!("{}{}", self.prefix, file.path)), "uriBaseId": self.id }),
            Origin::Stdlib => json!({ "uri": uri(&file.path) }),
        }
    }

    fn original_uri_base_ids(&self) -> Value {
        let description = match self.id {
            "SRCROOT" => "the directory given by --sarif-root (the repository root), which holds the project",
            _ => "the project root: the directory holding project.gov",
        };
        let mut it = json!({ "description": { "text": description } });
        if let Some(uri) = &self.uri {
            it["uri"] = json!(uri);
        }
        json!({ self.id: it })
    }
}

/// Renders `diags` as one pretty-printed SARIF 2.1.0 log with a trailing newline.
///
/// `tool.driver.rules` holds one rule per code used, in code order, described
/// by [`Code::title`] and the first paragraph of [`Code::explanation`]; each
/// result has the primary label as its location and the secondary labels as
/// `relatedLocations`. Global diagnostics have no location.
pub fn sarif(diags: &[Diagnostic], sources: &Sources) -> String {
    sarif_in(diags, sources, &Root::default())
}

/// [`sarif`] with artifact URIs resolved against `root` (see the module docs).
pub fn sarif_in(diags: &[Diagnostic], sources: &Sources, root: &Root) -> String {
    let (diags, sources) = crate::diag::redact::redact(diags, sources);
    let (diags, sources) = (&*diags, &*sources);
    let base = Base::new(root);
    let mut codes: Vec<Code> = diags.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes.iter().map(|&code| rule(code)).collect();
    let run = Run {
        base_ids: base.original_uri_base_ids(),
        results: Results { diags, codes: &codes, sources, base: &base, seen: RefCell::new(BTreeMap::new()) },
        tool: tool(rules),
    };
    let mut out = Vec::with_capacity(4096);
    let mut serializer = serde_json::Serializer::pretty(&mut out);
    let log = Log { run: &run };
    if log.serialize(&mut serializer).is_err() {
        return "{}\n".to_string();
    }
    let mut out = String::from_utf8(out).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}

/// The log, written as it is serialized, one result at a time: a tree of thousands of
/// results (a project with a mass error) took several times the memory of its text.
/// The keys go in the order serde_json's map sorts them, as in a log built as a tree.
struct Log<'r, 'a> {
    run: &'r Run<'a>,
}

impl Serialize for Log<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut log = serializer.serialize_map(Some(3))?;
        log.serialize_entry("$schema", SCHEMA)?;
        log.serialize_entry("runs", &[self.run])?;
        log.serialize_entry("version", "2.1.0")?;
        log.end()
    }
}

/// The one run of the log.
struct Run<'a> {
    base_ids: Value,
    results: Results<'a>,
    tool: Value,
}

impl Serialize for Run<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut run = serializer.serialize_map(Some(4))?;
        run.serialize_entry("columnKind", "utf16CodeUnits")?;
        run.serialize_entry("originalUriBaseIds", &self.base_ids)?;
        run.serialize_entry("results", &self.results)?;
        run.serialize_entry("tool", &self.tool)?;
        run.end()
    }
}

/// The results, each built as it is written and dropped.
struct Results<'a> {
    diags: &'a [Diagnostic],
    /// The codes used, in order: a result's rule is its code's index.
    codes: &'a [Code],
    sources: &'a Sources,
    base: &'a Base,
    /// The fingerprints given so far (see [`fingerprint`]).
    seen: RefCell<BTreeMap<String, usize>>,
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seen = self.seen.borrow_mut();
        serializer.collect_seq(self.diags.iter().map(|diag| {
            let rule_index = self.codes.iter().position(|&c| c == diag.code).unwrap_or(0);
            result(diag, rule_index, self.sources, self.base, &mut seen)
        }))
    }
}

/// The `tool` of a run: govc, with `rules`.
fn tool(rules: Vec<Value>) -> Value {
    json!({ "driver": {
        "name": "govc",
        "informationUri": REPOSITORY,
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    }})
}

/// A SARIF log that describes `codes` as rules and has no results, for
/// `govc explain --message-format sarif`.
pub fn sarif_rules(codes: &[Code]) -> String {
    let rules: Vec<Value> = codes.iter().map(|&code| rule(code)).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": tool(rules),
            "results": [],
        }],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The first paragraph of a code's explanation: the text after the `#` heading,
/// up to the first blank line, joined into one line.
pub(crate) fn first_paragraph(explanation: &str) -> String {
    explanation
        .lines()
        .skip_while(|l| l.trim().is_empty() || l.starts_with('#'))
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

fn rule(code: Code) -> Value {
    let paragraph = first_paragraph(code.explanation());
    let description = if paragraph.is_empty() { code.title().to_string() } else { paragraph };
    json!({
        "id": code.as_str(),
        "name": code.as_str(),
        "shortDescription": { "text": code.title() },
        "fullDescription": { "text": description },
        "help": { "text": description, "markdown": code.explanation() },
        "helpUri": explanation_url(code),
        "defaultConfiguration": { "level": level(code.severity()) },
    })
}

/// One result: the message with the notes and the help (SARIF has no place of
/// its own for them), the primary label as location, the others as related
/// locations, the fixes, and a fingerprint.
fn result(
    diag: &Diagnostic,
    rule_index: usize,
    sources: &Sources,
    base: &Base,
    seen: &mut BTreeMap<String, usize>,
) -> Value {
    let mut text = diag.message.clone();
    for note in &diag.notes {
        text.push_str("\nnote: ");
        text.push_str(note);
    }
    if let Some(help) = &diag.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let mut labels = diag.labels.iter();
    let primary = labels.next();
    let locations: Vec<Value> = primary.and_then(|l| location(l, sources, base, None)).into_iter().collect();
    let related: Vec<Value> = labels.enumerate().filter_map(|(i, l)| location(l, sources, base, Some(i + 1))).collect();
    let fingerprint = fingerprint(diag, primary, sources, base, seen);
    let mut it = json!({
        "ruleId": diag.code.as_str(),
        "ruleIndex": rule_index,
        "level": level(diag.severity),
        "message": { "text": text },
        "locations": locations,
        "partialFingerprints": { FINGERPRINT: fingerprint },
    });
    if !related.is_empty() {
        it["relatedLocations"] = Value::Array(related);
    }
    let fixes: Vec<Value> = diag.fixes.iter().filter_map(|fix| sarif_fix(fix, sources, base)).collect();
    if !fixes.is_empty() {
        it["fixes"] = Value::Array(fixes);
    }
    it
}

/// A fingerprint that survives edits elsewhere in the file (it holds no line
/// number): the SHA-256 of the code, the primary file's URI, the message and the
/// trimmed text of the primary line (up to 80 bytes each side of the label), then `:N` for the N-th result with the same
/// hash (as GitHub's own `primaryLocationLineHash` does).
fn fingerprint(
    diag: &Diagnostic,
    primary: Option<&Label>,
    sources: &Sources,
    base: &Base,
    seen: &mut BTreeMap<String, usize>,
) -> String {
    let mut hasher = Sha256::new();
    for part in [diag.code.as_str(), "\0", &diag.message, "\0"] {
        hasher.update(part.as_bytes());
    }
    if let Some((label, file)) = primary.and_then(|l| label_file(sources, l).map(|f| (l, f))) {
        let range = clamped_range(file, label);
        let line = file.line_range(file.line_index(range.start));
        // At most 80 bytes each side of the label: long lines cost no more than short ones.
        let mut from = range.start.saturating_sub(80).max(line.start);
        let mut to = (range.end + 80).min(line.end).max(from);
        while !file.text.is_char_boundary(from) {
            from -= 1;
        }
        while !file.text.is_char_boundary(to) {
            to += 1;
        }
        hasher.update(base.artifact(file)["uri"].as_str().unwrap_or_default().as_bytes());
        hasher.update(b"\0");
        hasher.update(file.text[from..to].trim().as_bytes());
    }
    let hash = crate::lock::hex(&hasher.finalize()[..16]);
    let n = seen.entry(hash.clone()).or_insert(0);
    *n += 1;
    format!("{hash}:{n}")
}

/// A SARIF fix: one `artifactChange` per file, each edit a replacement.
fn sarif_fix(fix: &crate::diag::Fix, sources: &Sources, base: &Base) -> Option<Value> {
    let mut changes: Vec<(&SourceFile, Vec<Value>)> = Vec::new();
    for edit in &fix.edits {
        let label = Label { span: edit.span, message: String::new() };
        let file = label_file(sources, &label)?;
        let replacement = json!({
            "deletedRegion": region(file, clamped_range(file, &label)),
            "insertedContent": { "text": edit.text },
        });
        match changes.iter_mut().find(|(f, _)| std::ptr::eq(*f, file)) {
            Some((_, replacements)) => replacements.push(replacement),
            None => changes.push((file, vec![replacement])),
        }
    }
    let changes: Vec<Value> = changes
        .into_iter()
        .map(|(file, replacements)| json!({ "artifactLocation": base.artifact(file), "replacements": replacements }))
        .collect();
    Some(json!({ "description": { "text": fix.message }, "artifactChanges": changes }))
}

/// A SARIF region: 1-based lines and UTF-16 columns, plus character and byte offsets.
fn region(file: &SourceFile, range: std::ops::Range<usize>) -> Value {
    let (start_line, start_col) = file.lsp_position(range.start);
    let (end_line, end_col) = file.lsp_position(range.end);
    let char_offset = file.utf16_offset(range.start);
    let char_length = file.utf16_offset(range.end) - char_offset;
    json!({
        "startLine": start_line + 1,
        "startColumn": start_col + 1,
        "endLine": end_line + 1,
        "endColumn": end_col + 1,
        "charOffset": char_offset,
        "charLength": char_length,
        "byteOffset": range.start,
        "byteLength": range.len(),
    })
}

/// A SARIF location for a label; `id` is set for related locations.
fn location(label: &Label, sources: &Sources, base: &Base, id: Option<usize>) -> Option<Value> {
    let file = label_file(sources, label)?;
    let range = clamped_range(file, label);
    let mut it = json!({
        "physicalLocation": { "artifactLocation": base.artifact(file), "region": region(file, range) },
    });
    if !label.message.is_empty() {
        it["message"] = json!({ "text": label.message });
    }
    if let Some(id) = id {
        it["id"] = json!(id);
    }
    Some(it)
}

/// A relative URI reference for a `/`-separated path: bytes outside the URI
/// unreserved set (and `/`) are percent-encoded, so `<stdlib>/kinds.gov` is valid.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::render::human::tests::fixture;

    #[test]
    fn renders_a_sarif_log() {
        let (diags, sources) = fixture();
        let out = sarif(&diags, &sources);
        assert!(out.ends_with("}\n"));
        let log: Value = serde_json::from_str(&out).expect("valid JSON");
        // Written a result at a time, the log is the text of its tree: keys sorted,
        // serde_json's pretty layout.
        assert_eq!(out, serde_json::to_string_pretty(&log).expect("a tree prints") + "\n");
        assert_eq!(log["version"], "2.1.0");
        assert!(log["$schema"].as_str().expect("schema").contains("sarif-2.1.0"));
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "govc");
        assert_eq!(run["tool"]["driver"]["version"], env!("CARGO_PKG_VERSION"));
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().expect("id")).collect();
        assert_eq!(ids, ["E206", "E210", "W801"]);
        assert_eq!(rules[0]["shortDescription"]["text"], Code::E206.title());
        assert_eq!(rules[2]["defaultConfiguration"]["level"], "warning");

        let results = run["results"].as_array().expect("results");
        assert_eq!(results.len(), 3);
        let first = &results[0];
        assert_eq!(first["ruleId"], "E206");
        assert_eq!(first["ruleIndex"], 0);
        assert_eq!(first["level"], "error");
        assert_eq!(
            first["message"]["text"],
            "unresolved reference `mian`\nnote: the stack `app` is used by `staging`\nhelp: did you mean `main`?"
        );
        let fix = &first["fixes"][0];
        assert_eq!(fix["description"]["text"], "replace with `main`");
        let replacement = &fix["artifactChanges"][0]["replacements"][0];
        assert_eq!(replacement["insertedContent"]["text"], "main");
        assert_eq!(replacement["deletedRegion"]["startColumn"], 17);
        assert_eq!(fix["artifactChanges"][0]["artifactLocation"]["uri"], "app.gov");
        let region = &first["locations"][0]["physicalLocation"]["region"];
        assert_eq!(first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "app.gov");
        assert_eq!(
            (region["startLine"].as_u64(), region["startColumn"].as_u64(), region["endColumn"].as_u64()),
            (Some(4), Some(17), Some(21))
        );
        assert_eq!((region["charOffset"].as_u64(), region["charLength"].as_u64()), (Some(60), Some(4)));
        let related = first["relatedLocations"].as_array().expect("related");
        assert_eq!(related.len(), 2);
        assert_eq!(related[1]["physicalLocation"]["artifactLocation"]["uri"], "envs/staging.gov");

        // A global diagnostic has no location.
        assert_eq!(results[2]["ruleId"], "E210");
        assert_eq!(results[2]["locations"], json!([]));
    }

    #[test]
    fn fingerprints_are_stable_distinct_and_ignore_line_moves() {
        let (diags, sources) = fixture();
        let prints = |log: &str| -> Vec<String> {
            let log: Value = serde_json::from_str(log).expect("json");
            let results = log["runs"][0]["results"].as_array().expect("results").clone();
            results.iter().map(|r| r["partialFingerprints"][FINGERPRINT].as_str().expect("print").to_string()).collect()
        };
        let first = prints(&sarif(&diags, &sources));
        assert_eq!(first, prints(&sarif(&diags, &sources)));
        assert_eq!(first.len(), 3);
        assert!(first[0] != first[1] && first[1] != first[2]);
        assert!(first.iter().all(|p| p.ends_with(":1")));
        // The same problem two lines further down keeps its fingerprint.
        let mut moved = Sources::new();
        moved.add("a.gov", "x = mian\n");
        let mut later = Sources::new();
        later.add("a.gov", "\n\nx = mian\n");
        let one = |sources: &Sources, at: usize| {
            let d =
                Diagnostic::new(Code::E206, crate::source::Span::new(crate::source::FileId(0), at, at + 4), "m", "l");
            prints(&sarif(&[d.clone(), d], sources))
        };
        let (a, b) = (one(&moved, 4), one(&later, 6));
        assert_eq!(a, b);
        assert_eq!((a[0].ends_with(":1"), a[1].ends_with(":2")), (true, true), "{a:?}");
    }

    #[test]
    fn uri_base_resolves_to_the_project_or_the_sarif_root() {
        let mut sources = Sources::with_stdlib();
        sources.add("envs/a.gov", "x = 1\n");
        let file = crate::source::FileId(sources.len() as u32 - 1);
        let diags = vec![Diagnostic::new(Code::E206, crate::source::Span::new(file, 0, 1), "m", "l")];
        let run = |root: Root| -> Value {
            let log: Value = serde_json::from_str(&sarif_in(&diags, &sources, &root)).expect("json");
            log["runs"][0].clone()
        };
        let project = run(Root { project: Some("/repo/infra gov".into()), sarif: None });
        assert_eq!(project["originalUriBaseIds"]["PROJECTROOT"]["uri"], "file:///repo/infra%20gov/");
        let artifact = &project["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(*artifact, json!({"uri": "envs/a.gov", "uriBaseId": "PROJECTROOT"}));

        let repo = run(Root { project: Some("/repo/infra".into()), sarif: Some("/repo".into()) });
        assert_eq!(repo["originalUriBaseIds"]["SRCROOT"]["uri"], "file:///repo/");
        let artifact = &repo["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(*artifact, json!({"uri": "infra/envs/a.gov", "uriBaseId": "SRCROOT"}));

        let windows = run(Root { project: Some("C:/repo".into()), sarif: None });
        assert_eq!(windows["originalUriBaseIds"]["PROJECTROOT"]["uri"], "file:///C:/repo/");

        // Unknown root: the base is described but has no URI.
        let unknown = run(Root::default());
        assert_eq!(unknown["originalUriBaseIds"]["PROJECTROOT"].get("uri"), None);
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("envs/staging.gov"), "envs/staging.gov");
        assert_eq!(uri("<stdlib>/kinds.gov"), "%3Cstdlib%3E/kinds.gov");
        assert_eq!(uri("a b/é.gov"), "a%20b/%C3%A9.gov");
    }

    #[test]
    fn first_paragraph_skips_the_heading() {
        let md = "# E206: title\n\nA reference\nthat fails.\n\n## Why\nBecause.\n";
        assert_eq!(first_paragraph(md), "A reference that fails.");
    }
}
