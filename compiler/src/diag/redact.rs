//! Masking secrets before anything is rendered: CI logs are public, so no
//! diagnostic, in any format, prints a secret in full.
//!
//! A diagnostic marks secrets with [`Diagnostic::redact`] spans (E502 does). Every
//! renderer first calls [`redact`], which returns
//! - the sources with every redacted range masked, so that a source excerpt
//!   (ariadne, or any snippet a format carries) shows `ghp_*****...`, whichever
//!   diagnostic's excerpt covers the line;
//! - the diagnostics with every occurrence of a redacted text masked in their
//!   message, labels, notes, help and fixes, so that a message quoting a value
//!   (an unresolved name, a type mismatch) cannot print it either.
//!
//! A mask has the secret's length in bytes and in UTF-16 units (`*` for an ASCII
//! character, a masking character of the same UTF-8 length otherwise) and keeps
//! line breaks, so every span, line and column stays valid. The detector leaves a
//! token's public prefix (`ghp_`, `AKIA`, `-----BEGIN RSA PRIVATE KEY-----`)
//! outside the redacted range. With no redaction, nothing is copied.

use std::borrow::Cow;

use super::Diagnostic;
use crate::source::{FileId, Sources, Span};

/// `diags` and `sources` with every secret masked (borrowed when none is marked).
pub fn redact<'a>(diags: &'a [Diagnostic], sources: &'a Sources) -> (Cow<'a, [Diagnostic]>, Cow<'a, Sources>) {
    let mut spans: Vec<Span> = diags.iter().flat_map(|d| d.redact.iter().copied()).collect();
    if spans.is_empty() {
        return (Cow::Borrowed(diags), Cow::Borrowed(sources));
    }
    spans.sort();
    spans.dedup();
    let mut secrets: Vec<String> = Vec::new();
    let mut masked = sources.clone();
    let files: Vec<FileId> = {
        let mut it: Vec<FileId> = spans.iter().map(|s| s.file).collect();
        it.dedup();
        it
    };
    for id in files {
        if id.0 as usize >= sources.len() {
            continue;
        }
        let mut text = sources.get(id).text.clone();
        for span in spans.iter().filter(|s| s.file == id) {
            let Some(range) = char_range(&text, *span) else { continue };
            secrets.push(sources.get(id).text[range.clone()].to_string());
            let mask = mask(&text[range.clone()]);
            text.replace_range(range, &mask);
        }
        masked.replace_text(id, text);
    }
    // Longest first, so that a secret containing another is masked whole.
    secrets.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    secrets.dedup();
    let diags = diags.iter().map(|d| mask_diagnostic(d, &secrets)).collect();
    (Cow::Owned(diags), Cow::Owned(masked))
}

/// The span's byte range, clamped to the text and to character boundaries.
fn char_range(text: &str, span: Span) -> Option<std::ops::Range<usize>> {
    let mut start = (span.start as usize).min(text.len());
    let mut end = (span.end as usize).min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    (start < end).then_some(start..end)
}

/// The mask of `secret`: same UTF-8 length per character, line breaks kept.
pub fn mask(secret: &str) -> String {
    secret
        .chars()
        .map(|c| match c {
            '\n' | '\r' => c,
            _ => match c.len_utf8() {
                1 => '*',
                2 => '\u{00B7}',
                3 => '\u{2217}',
                _ => '\u{1F512}',
            },
        })
        .collect()
}

fn mask_diagnostic(d: &Diagnostic, secrets: &[String]) -> Diagnostic {
    let mut d = d.clone();
    let m = |s: &mut String| mask_in(s, secrets);
    m(&mut d.message);
    d.labels.iter_mut().for_each(|l| m(&mut l.message));
    d.notes.iter_mut().for_each(m);
    if let Some(help) = &mut d.help {
        m(help);
    }
    for fix in &mut d.fixes {
        m(&mut fix.message);
        fix.edits.iter_mut().for_each(|e| m(&mut e.text));
    }
    d
}

/// Secrets at least this long are masked wherever they occur in a text; shorter
/// ones only where they are not part of a longer word.
const MASK_ANYWHERE: usize = 6;

/// Masks each occurrence of a secret in `text` (a short one only as a whole word:
/// a one-letter password must not mask every `x` of a message).
fn mask_in(text: &mut String, secrets: &[String]) {
    for secret in secrets {
        if secret.trim().is_empty() || !text.contains(secret.as_str()) {
            continue;
        }
        let short = secret.chars().count() < MASK_ANYWHERE;
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let first_word = short && word(secret.chars().next());
        let last_word = short && word(secret.chars().last());
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(secret.as_str()) {
            let before = rest[..at].chars().last();
            let after = rest[at + secret.len()..].chars().next();
            let inside_word = (first_word && word(before)) || (last_word && word(after));
            out.push_str(&rest[..at]);
            if !inside_word {
                out.push_str(&mask(secret));
            } else {
                out.push_str(secret);
            }
            rest = &rest[at + secret.len()..];
        }
        out.push_str(rest);
        *text = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    #[test]
    fn masks_keep_lengths_and_lines() {
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("é\n😀"), "\u{00B7}\n\u{1F512}");
        assert_eq!(mask("é😀").len(), "é😀".len());
        assert_eq!(mask("é😀").encode_utf16().count(), "é😀".encode_utf16().count());
    }

    #[test]
    fn masks_sources_and_every_text_of_every_diagnostic() {
        let mut sources = Sources::new();
        sources.add("a.gov", "x = \"hunter2\"\ny = hunter2\nz = \"pw\"\n");
        let file = FileId(0);
        let diags = vec![
            Diagnostic::new(Code::E502, Span::new(file, 4, 13), "a secret", "here")
                .with_redaction(Span::new(file, 5, 12))
                .with_redaction(Span::new(file, 31, 33)),
            Diagnostic::new(Code::E206, Span::new(file, 18, 25), "unresolved reference `hunter2`", "`hunter2`?")
                .with_note("ghp_hunter2 again")
                .with_help("pwned by pw, not hunter2x")
                .with_replacement("replace `hunter2`", Span::new(file, 18, 25), "hunter2"),
        ];
        let (diags, sources) = redact(&diags, &sources);
        assert_eq!(sources.get(file).text, "x = \"*******\"\ny = hunter2\nz = \"**\"\n");
        let d = &diags[1];
        assert_eq!(d.message, "unresolved reference `*******`");
        assert_eq!(d.labels[0].message, "`*******`?");
        assert_eq!(d.notes, ["ghp_******* again"]);
        assert_eq!(d.help.as_deref(), Some("pwned by **, not *******x"));
        assert_eq!(d.fixes[0].message, "replace `*******`");
        assert_eq!(d.fixes[0].edits[0].text, "*******");
    }

    #[test]
    fn nothing_is_copied_without_redactions() {
        let sources = Sources::new();
        let diags = vec![Diagnostic::global(Code::E210, "no project")];
        let (d, s) = redact(&diags, &sources);
        assert!(matches!(d, Cow::Borrowed(_)) && matches!(s, Cow::Borrowed(_)));
    }
}
