//! The diagnostic model: data, not rendering.
//!
//! Every phase reports [`Diagnostic`]s into a [`Diagnostics`] sink; only
//! `diag::render` turns them into text, JSON or SARIF.

use super::codes::{Code, Severity};
use crate::source::{FileId, Span};

/// A labelled span. In [`Diagnostic::labels`] the first label is the primary one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One replacement in the sources: the text of `span` becomes `text` (an empty
/// span inserts, an empty text deletes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

/// A machine-applicable change that resolves a diagnostic, offered to tools as
/// a code action (editors) or a suggested fix (JSON, SARIF). Its edits never
/// overlap and all lie in the file of the diagnostic's primary span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// What the fix does, imperative: "replace with `main`", "add `port = ...`".
    pub message: String,
    pub edits: Vec<Edit>,
}

/// One problem found in the sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// One terse phrase, lowercase, no final period, DSL names in backticks.
    pub message: String,
    /// `labels[0]` is primary; the rest point at related places.
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    /// Machine-applicable fixes, best first (empty when none is certain enough).
    pub fixes: Vec<Fix>,
    /// Spans of secrets (E502) that no renderer may print: every renderer masks
    /// them in the source it shows and in every text of every diagnostic
    /// (see [`super::redact`]).
    pub redact: Vec<Span>,
}

impl Diagnostic {
    /// Moves every span in `file` at or after `from` by `delta`: the diagnostic of a
    /// text that an edit before `from` made longer or shorter.
    pub fn shift(&mut self, file: FileId, from: u32, delta: i64) {
        let spans = self.labels.iter_mut().map(|l| &mut l.span).chain(self.redact.iter_mut());
        let edits = self.fixes.iter_mut().flat_map(|f| f.edits.iter_mut()).map(|e| &mut e.span);
        for span in spans.chain(edits).filter(|s| s.file == file) {
            span.shift(from, delta);
        }
    }

    /// A diagnostic with the code's own severity and a primary label.
    pub fn new(code: Code, span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: vec![Label { span, message: label.into() }],
            notes: Vec::new(),
            help: None,
            fixes: Vec::new(),
            redact: Vec::new(),
        }
    }

    /// A diagnostic about the project as a whole, with no source location
    /// (for example E210 when no `project.gov` exists).
    pub fn global(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
            fixes: Vec::new(),
            redact: Vec::new(),
        }
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a machine-applicable fix.
    pub fn with_fix(mut self, message: impl Into<String>, edits: Vec<Edit>) -> Diagnostic {
        self.fixes.push(Fix { message: message.into(), edits });
        self
    }

    /// Adds a fix that replaces `span` with `text`.
    pub fn with_replacement(self, message: impl Into<String>, span: Span, text: impl Into<String>) -> Diagnostic {
        self.with_fix(message, vec![Edit { span, text: text.into() }])
    }

    /// Marks `span` as a secret that renderers must mask.
    pub fn with_redaction(mut self, span: Span) -> Diagnostic {
        self.redact.push(span);
        self
    }

    /// The primary span (the default span for a [`Diagnostic::global`] one).
    pub fn span(&self) -> Span {
        self.labels.first().map(|l| l.span).unwrap_or_default()
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The sink every phase reports into.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, it: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(it);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The diagnostics in the order they were reported.
    pub fn into_reported(self) -> Vec<Diagnostic> {
        self.items
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sorted by (file, start, code, message) and deduplicated: the order never depends
    /// on the order in which checks ran.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (a.span().file, a.span().start, a.code, &a.message, a.span().end).cmp(&(
                b.span().file,
                b.span().start,
                b.code,
                &b.message,
                b.span().end,
            ))
        });
        self.items.dedup();
        self.items
    }
}
