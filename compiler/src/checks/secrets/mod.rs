//! E502: literal secrets, in every string the language accepts.
//!
//! The check reads the syntax tree of every project file, not the merged model,
//! so that each literal is looked at once, whatever the environments using it,
//! and so that nothing the model drops escapes it: field values and list items
//! (`env` values, `image`, `host`, `egress`, `path`, ...), block labels (`phase
//! "build"`), route paths, bare words (a token pasted without quotes) and
//! comments (`##` doc comments and plain `#` ones).
//!
//! What is looked for depends on where the text sits (see [`detect::Scope`]):
//! every string gets the token formats, private key blocks, credentials in URLs
//! and `password=`-style assignments; free-form strings (everything but the
//! identifier fields) also get the entropy test; a string under a key that names
//! a secret (`DB_PASSWORD = "x"`) is a secret whatever its length. Bare words and
//! plain comments get only the formats, key blocks and URL credentials; doc
//! comments also get strict assignments.
//!
//! Every diagnostic carries the secrets' spans as redactions, so no renderer
//! ever prints them ([`crate::diag::redact`]).

mod detect;
mod formats;
pub(crate) mod keys;
#[cfg(test)]
mod tests;

pub use detect::{entropy, scan, Assignments, Scope};
pub use keys::secret_named;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Origin, Sources, Span};
use crate::syntax::ast::{self, BlockLabel, Entry, ValueKind};

/// One secret found in a text: what it is and the byte range to mask (relative to
/// the text scanned; a format's public prefix is outside the range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
}

/// Fields whose values are identifiers of some kind: spared the entropy test only
/// (`lock_table` is deprecated, W201, but still written by older projects).
const IDENTIFIER_FIELDS: &[&str] = &[
    "image",
    "host",
    "path",
    "bucket",
    "key",
    "lock_table",
    "account",
    "region",
    "class",
    "egress",
    "phase",
    "after",
    // A Route 53 hosted zone id (`Z0123456789ABCDEFGHIJ`) and an IAM role ARN are
    // high-entropy identifiers, not secrets; token formats are still looked for.
    "zone",
    "role",
];

const FREE_FORM: Scope = Scope { entropy: true, assignments: Assignments::Full };
const IDENTIFIER: Scope = Scope { entropy: false, assignments: Assignments::Full };
const BARE: Scope = Scope { entropy: false, assignments: Assignments::Off };
const DOC: Scope = Scope { entropy: false, assignments: Assignments::Strict };

/// E502 over every project file.
pub fn literal_secrets(sources: &Sources, files: &[ast::File], sink: &mut Diagnostics) {
    // An environment's file repeats the images and values of the others (the same
    // digest is promoted from one to the next): each text is scanned once.
    let mut scans = Scans::default();
    for file in files {
        literal_secrets_of(sources, file, &mut scans, sink);
    }
}

/// [`literal_secrets`] of one file: what it reports depends on that file alone (an
/// editor re-checking after a keystroke keeps the findings of unchanged files). The
/// findings are in the order of their primary spans.
pub fn literal_secrets_in(sources: &Sources, file: &ast::File, sink: &mut Diagnostics) {
    literal_secrets_of(sources, file, &mut Scans::default(), sink);
}

fn literal_secrets_of<'a>(sources: &'a Sources, file: &ast::File, scans: &mut Scans<'a>, sink: &mut Diagnostics) {
    if sources.get(file.file).origin != Origin::Project {
        return;
    }
    let mut literals = Diagnostics::new();
    let mut walk = Walk { sources, file: file.file, sink: &mut literals, scans };
    for item in &file.items {
        walk.block(item);
    }
    let mut comments = Diagnostics::new();
    Walk { sources, file: file.file, sink: &mut comments, scans }.comments(0..sources.get(file.file).text.len());
    merge_in_order(literals.into_reported(), comments.into_reported(), sink);
}

/// The findings of the texts already scanned, by text and scope. Only texts of at
/// least [`Scans::CACHED_LEN`] bytes are kept: a shorter one costs less to scan
/// again than to look up.
#[derive(Default)]
struct Scans<'a>(foldhash::HashMap<(&'a str, Scope), Vec<Finding>>);

impl<'a> Scans<'a> {
    const CACHED_LEN: usize = 32;

    fn scan(&mut self, text: &'a str, scope: Scope) -> Vec<Finding> {
        if text.len() < Self::CACHED_LEN {
            return scan(text, scope);
        }
        self.0.entry((text, scope)).or_insert_with(|| scan(text, scope)).clone()
    }
}

/// [`literal_secrets_in`] of a file after [`crate::syntax::reparse`], from the
/// findings of the file before the edit (`before`, in the text before it): those
/// of the re-parsed block, and of comments on the lines it touches, are found again;
/// the others are kept, moved by the change in length when after the block.
pub fn literal_secrets_reparsed(
    sources: &Sources,
    tree: &ast::File,
    changed: &crate::syntax::Changed,
    old_text: &str,
    before: &[Diagnostic],
    sink: &mut Diagnostics,
) {
    let file = tree.file;
    if sources.get(file).origin != Origin::Project {
        return;
    }
    let text = &sources.get(file).text;
    let (start, old_end, new_end) = (changed.old.start, changed.old.end, changed.new.end);
    let delta = new_end as i64 - old_end as i64;
    // The lines the block touches: the text before the block and after it is unchanged.
    let line_start = text[..start as usize].rfind('\n').map_or(0, |i| i + 1) as u32;
    let new_line_end = text[new_end as usize..].find('\n').map_or(text.len(), |i| new_end as usize + i + 1) as u32;
    let old_line_end = (new_line_end as i64 - delta) as u32;
    let (mut literals, mut comments) = (Vec::new(), Vec::new());
    let moved = |d: &Diagnostic| {
        let mut d = d.clone();
        d.shift(file, old_end, delta);
        d
    };
    // Literal findings lie inside their block; comment findings start at their `#`.
    let (comment, literal): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
        before.iter().partition(|d| old_text.as_bytes().get(d.span().start as usize) == Some(&b'#'));
    literals.extend(literal.iter().filter(|d| d.span().start < start).map(|d| (*d).clone()));
    let mut again = Diagnostics::new();
    let scans = &mut Scans::default();
    Walk { sources, file, sink: &mut again, scans }.block(changed.block(tree));
    literals.extend(again.into_reported());
    literals.extend(literal.iter().filter(|d| d.span().start >= old_end).map(|d| moved(d)));
    comments.extend(comment.iter().filter(|d| d.span().start < line_start).map(|d| (*d).clone()));
    let mut again = Diagnostics::new();
    Walk { sources, file, sink: &mut again, scans }.comments(line_start as usize..new_line_end as usize);
    comments.extend(again.into_reported());
    comments.extend(comment.iter().filter(|d| d.span().start >= old_line_end).map(|d| moved(d)));
    merge_in_order(literals, comments, sink);
}

/// The findings of literals and of comments, in the order of their primary spans
/// (each list is in that order already; a literal and a comment never start together).
fn merge_in_order(literals: Vec<Diagnostic>, comments: Vec<Diagnostic>, sink: &mut Diagnostics) {
    let mut comments = comments.into_iter().peekable();
    for d in literals {
        while let Some(c) = comments.next_if(|c| c.span().start < d.span().start) {
            sink.push(c);
        }
        sink.push(d);
    }
    sink.extend(comments);
}

struct Walk<'a, 'w> {
    sources: &'a Sources,
    file: FileId,
    sink: &'w mut Diagnostics,
    scans: &'w mut Scans<'a>,
}

impl<'a> Walk<'a, '_> {
    fn text(&self) -> &'a str {
        &self.sources.get(self.file).text
    }

    fn block(&mut self, block: &ast::Block) {
        if let Some(BlockLabel::Str(label)) = &block.label {
            self.string(label.span, label.span, None, What::Label(&block.kind.name), IDENTIFIER);
        }
        let env = block.kind.name == "env";
        for entry in &block.entries {
            match entry {
                Entry::Field(field) => self.field(field, env),
                Entry::Block(inner) => self.block(inner),
                Entry::Route(route) => {
                    self.string(route.path.span, route.path.span, None, What::Plain("the route path"), IDENTIFIER)
                }
            }
        }
    }

    fn field(&mut self, field: &ast::Field, in_env: bool) {
        let name = field.name.name.as_str();
        let scope = if in_env || !IDENTIFIER_FIELDS.contains(&name) { FREE_FORM } else { IDENTIFIER };
        let what = What::Field(name);
        let primary = |span: Span| if in_env { field.span } else { span };
        let values = match &field.value.kind {
            ValueKind::List(items) => items.as_slice(),
            _ => std::slice::from_ref(&field.value),
        };
        for value in values {
            match &value.kind {
                ValueKind::Str(s) => self.string(primary(value.span), value.span, Some((name, s)), what, scope),
                ValueKind::Path(_) => self.bare(primary(value.span), value.span, what),
                _ => {}
            }
        }
    }

    /// A string literal at `span` (quotes included); `named` is the key it is
    /// assigned to and its resolved value, for the secret-named-key rule.
    fn string(&mut self, primary: Span, span: Span, named: Option<(&str, &str)>, what: What, scope: Scope) {
        let text = self.text();
        let (start, mut end) = (span.start as usize + 1, span.end as usize);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'"') {
            end -= 1;
        }
        let Some(raw) = text.get(start..end) else { return };
        let mut findings = self.scans.scan(raw, scope);
        if let Some((key, value)) = named {
            if secret_named(key) && keys::secret_value(value) {
                findings.push(Finding { kind: "a literal value under a secret-named key", start: 0, end: raw.len() });
            }
        }
        self.report(primary, start, findings, what);
    }

    /// A bare word or reference: only a token pasted without quotes is looked for.
    fn bare(&mut self, primary: Span, span: Span, what: What) {
        let Some(raw) = self.text().get(span.range()) else { return };
        let findings = self.scans.scan(raw, BARE);
        self.report(primary, span.start as usize, findings, what);
    }

    /// `#` comments (doc comments get strict assignments too) on the lines of `lines`
    /// (a range of whole lines).
    fn comments(&mut self, lines: std::ops::Range<usize>) {
        let mut found = Vec::new();
        let mut offset = lines.start;
        for line in self.text()[lines].split_inclusive('\n') {
            if let Some(at) = comment_start(line) {
                let comment = line[at..].trim_end_matches(['\n', '\r']);
                let doc = comment.starts_with("##");
                let findings = scan(comment, if doc { DOC } else { BARE });
                if !findings.is_empty() {
                    found.push((offset + at, comment.len(), doc, findings));
                }
            }
            offset += line.len();
        }
        for (at, len, doc, findings) in found {
            let what = What::Plain(if doc { "a doc comment" } else { "a comment" });
            self.report(Span::new(self.file, at, at + len), at, findings, what);
        }
    }

    fn report(&mut self, primary: Span, base: usize, findings: Vec<Finding>, what: What) {
        let Some(first) = findings.first() else { return };
        let mut d = Diagnostic::new(
            Code::E502,
            primary,
            format!("{what} holds what looks like a secret: {}", first.kind),
            "looks like a secret",
        )
        .with_note("no secret ever sits in a repository: a committed secret must be revoked and replaced")
        .with_help("declare a `secret` with the store's `path` and reference it from `env`: `NAME = my-secret`");
        for f in &findings {
            if f.start < f.end {
                d = d.with_redaction(Span::new(self.file, base + f.start, base + f.end));
            }
        }
        self.sink.push(d);
    }
}

/// What holds a literal, for the message (written only when something is found).
#[derive(Clone, Copy)]
enum What<'a> {
    /// A field, by name.
    Field(&'a str),
    /// A block's string label, by the block's kind.
    Label(&'a str),
    Plain(&'static str),
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Field(name) => write!(f, "`{name}`"),
            What::Label(kind) => write!(f, "the label of `{kind}`"),
            What::Plain(text) => f.write_str(text),
        }
    }
}

/// Where the comment of a line starts: the first `#` outside a string literal.
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    // Most lines hold no `#` at all: one fast search rules them out.
    if !bytes.contains(&b'#') {
        return None;
    }
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'#' if !in_string => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}
