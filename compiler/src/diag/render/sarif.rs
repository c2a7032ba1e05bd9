//! SARIF 2.1.0 for CI code scanning: one log, one run, one rule per code used.
//!
//! Regions are 1-based with columns in UTF-16 code units (SARIF's default
//! `columnKind`), plus character and byte offsets. Keys are sorted (serde_json's
//! default map), so the log is byte-identical from run to run.

use serde_json::{json, Value};

use super::{clamped_range, label_file};
use crate::diag::{Code, Diagnostic, Label, Severity};
use crate::source::Sources;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Every artifact URI is relative to this base: the project root.
const URI_BASE: &str = "PROJECTROOT";
const INFORMATION_URI: &str = "https://github.com/zenthea/govc";

/// Renders `diags` as one pretty-printed SARIF 2.1.0 log with a trailing newline.
///
/// `tool.driver.rules` holds one rule per code used, in code order, described
/// by [`Code::title`] and the first paragraph of [`Code::explanation`]; each
/// result has the primary label as its location and the secondary labels as
/// `relatedLocations`. Global diagnostics have no location.
pub fn sarif(diags: &[Diagnostic], sources: &Sources) -> String {
    let (diags, sources) = crate::diag::redact::redact(diags, sources);
    let (diags, sources) = (&*diags, &*sources);
    let mut codes: Vec<Code> = diags.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes.iter().map(|&code| rule(code)).collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|diag| {
            let rule_index = codes.iter().position(|&c| c == diag.code).unwrap_or(0);
            result(diag, rule_index, sources)
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "govc",
                "informationUri": INFORMATION_URI,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "utf16CodeUnits",
            "originalUriBaseIds": {
                URI_BASE: { "description": { "text": "the project root: the directory holding project.gov" } },
            },
            "results": results,
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
        "defaultConfiguration": { "level": level(code.severity()) },
    })
}

fn result(diag: &Diagnostic, rule_index: usize, sources: &Sources) -> Value {
    let mut text = diag.message.clone();
    if let Some(help) = &diag.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let mut labels = diag.labels.iter();
    let locations: Vec<Value> = labels.next().and_then(|l| location(l, sources, None)).into_iter().collect();
    let related: Vec<Value> = labels.enumerate().filter_map(|(i, l)| location(l, sources, Some(i + 1))).collect();
    let mut it = json!({
        "ruleId": diag.code.as_str(),
        "ruleIndex": rule_index,
        "level": level(diag.severity),
        "message": { "text": text },
        "locations": locations,
    });
    if !related.is_empty() {
        it["relatedLocations"] = Value::Array(related);
    }
    it
}

/// A SARIF location for a label; `id` is set for related locations.
fn location(label: &Label, sources: &Sources, id: Option<usize>) -> Option<Value> {
    let file = label_file(sources, label)?;
    let range = clamped_range(file, label);
    let (start_line, start_col) = file.lsp_position(range.start);
    let (end_line, end_col) = file.lsp_position(range.end);
    let char_offset = file.text[..range.start].encode_utf16().count();
    let char_length = file.text[range.clone()].encode_utf16().count();
    let mut it = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(&file.path), "uriBaseId": URI_BASE },
            "region": {
                "startLine": start_line + 1,
                "startColumn": start_col + 1,
                "endLine": end_line + 1,
                "endColumn": end_col + 1,
                "charOffset": char_offset,
                "charLength": char_length,
                "byteOffset": range.start,
                "byteLength": range.len(),
            },
        },
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
        assert_eq!(first["message"]["text"], "unresolved reference `mian`\nhelp: did you mean `main`?");
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
