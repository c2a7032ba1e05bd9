//! Rendering of [`Diagnostic`]s: for people ([`human`], ariadne), for editors
//! ([`json_lines`], LSP positions) and for CI code scanning ([`sarif`]).
//!
//! Pure functions from diagnostics and [`Sources`] to a `String`: no IO, no
//! terminal detection (the caller decides on colour), no summary line.

mod human;
mod json;
mod sarif;

pub use human::human;
pub use json::{json_explanations, json_lines, json_lines_in};
pub use sarif::{sarif, sarif_in, sarif_rules};

use super::{Diagnostic, Label, Severity};
use crate::source::{SourceFile, Sources};

/// Where the project lives on disk, for the renderers that tell tools where a
/// file is: JSON lines add absolute paths, SARIF resolves its URIs against it.
/// The library never reads the disk; the CLI fills this in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Root {
    /// The project root (the directory holding `project.gov`), absolute, with `/` separators.
    pub project: Option<String>,
    /// SARIF only: the directory its URIs are relative to (`--sarif-root`, such as
    /// the repository root), absolute, with `/` separators; `None` for the project root.
    /// It must hold the project root.
    pub sarif: Option<String>,
}

impl Root {
    /// The absolute path of a project file (`None` for the stdlib or an unknown root).
    fn absolute(&self, file: &SourceFile) -> Option<String> {
        let project = self.project.as_deref()?;
        (file.origin == crate::source::Origin::Project)
            .then(|| format!("{}/{}", project.trim_end_matches('/'), file.path))
    }
}

/// The web page of a code's explanation (the same text as `govc explain CODE`).
pub fn explanation_url(code: super::Code) -> String {
    format!("{REPOSITORY}/blob/main/compiler/src/diag/explain/{code}.md")
}

/// The project's home page, named in SARIF's `informationUri` and the explanation URLs.
pub const REPOSITORY: &str = "https://github.com/zenthea/govc";

/// Counts of errors and warnings in `diags`, as `(errors, warnings)`.
pub fn counts(diags: &[Diagnostic]) -> (usize, usize) {
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    (errors, diags.len() - errors)
}

/// The byte range of `label` in `file`, clamped to the text and snapped to
/// character boundaries, so that a stale or out-of-range span (or a file
/// whose bytes were not UTF-8, kept empty) never makes a renderer panic.
fn clamped_range(file: &SourceFile, label: &Label) -> std::ops::Range<usize> {
    let text = &file.text;
    let mut start = (label.span.start as usize).min(text.len());
    let mut end = (label.span.end as usize).clamp(start, text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// The file that `label` points into, if `sources` has it.
fn label_file<'a>(sources: &'a Sources, label: &Label) -> Option<&'a SourceFile> {
    let id = label.span.file;
    sources.iter().find(|(it, _)| *it == id).map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;

    /// Every explanation follows one shape: the SARIF rules and `govc explain` rely on it.
    #[test]
    fn every_explanation_has_the_documented_shape() {
        for &code in Code::ALL {
            let text = code.explanation();
            let heading = format!("# {}: {}\n\n", code, code.title());
            assert!(text.starts_with(&heading), "{code}: heading must be `{heading}`");
            let lines = text.lines().count();
            assert!((20..=50).contains(&lines), "{code}: {lines} lines");
            let mut at = 0;
            for section in ["\n## Why\n", "\n## Example\n", "```gov\n", "\n## Fix\n", "```gov\n"] {
                let found = text[at..].find(section);
                assert!(found.is_some(), "{code}: missing `{}` in order", section.trim());
                at += found.unwrap_or(0) + section.len();
            }
            assert!(!super::sarif::first_paragraph(text).is_empty(), "{code}: no first paragraph");
        }
    }
}
