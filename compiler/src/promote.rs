//! `govc promote FROM TO`: rewrite TO's promotable values to FROM's, as a
//! minimal edit of the `.gov` sources, on the lossless tree ([`crate::syntax::cst`]).
//!
//! The promotable values are the services' container images (`image`, a digest
//! or a tag). A value is edited where TO's merged value comes from: the field in
//! TO's own `service` block when it sets one there; otherwise the field is added
//! to TO's `service` block (created in TO's environment block when only the stack
//! declares the service), so a stack shared with other environments is never
//! changed. Everything else (comments, blank lines, layout) is kept byte for byte.
//!
//! Refusals, each a diagnostic, and then nothing is edited:
//! - E805: TO does not come after FROM in `project.environments`, or an
//!   environment lies between them and skipping was not asked for;
//! - E806: FROM does not check clean (an error inside its block, or in what every
//!   environment shares: the project, the stacks), or TO's block does not parse;
//! - E807: a service's image in FROM has another repository than in TO.
//!
//! [`plan`] computes the edits; the caller checks the result and writes it.

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic};
use crate::model::{image, values::Val, Environment, Model};
use crate::source::{FileId, Sources, Span};
use crate::syntax::cst::SyntaxTree;
use crate::syntax::{apply_edits, TextEdit};

/// What to promote.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub from: String,
    pub to: String,
    /// Only these services (all when empty).
    pub services: Vec<String>,
    /// Allow environments between FROM and TO in the promotion order.
    pub skip_order: bool,
}

/// One promoted value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub service: String,
    pub field: String,
    /// TO's value before, when it had one.
    pub old: Option<String>,
    pub new: String,
    /// The file edited (a project path).
    pub file: String,
    /// Whether the field was added to TO's block rather than replaced in it.
    pub inserted: bool,
}

/// The edits of a promotion.
#[derive(Clone, Debug, Default)]
pub struct Promotion {
    pub changes: Vec<Change>,
    /// The environments skipped between FROM and TO (only with `skip_order`).
    pub skipped: Vec<String>,
    /// The new text of every edited file, by project path.
    pub files: BTreeMap<String, String>,
}

/// The fields promoted, for each service.
pub const PROMOTABLE: &[&str] = &["image"];

/// Plans the promotion of `request` over the analysed `model` of `sources`,
/// whose diagnostics are `diagnostics`. An environment missing from the promotion
/// order is refused with E805 as well; services TO does not have are ignored.
pub fn plan(
    sources: &Sources,
    model: &Model,
    diagnostics: &[Diagnostic],
    request: &Request,
) -> Result<Promotion, Vec<Diagnostic>> {
    let (from, to, skipped) = order(model, request)?;
    let from_errors: Vec<&Diagnostic> =
        diagnostics.iter().filter(|d| d.is_error() && concerns(d, from, model)).collect();
    if !from_errors.is_empty() {
        let d = Diagnostic::new(
            Code::E806,
            from.name_span,
            format!("cannot promote from `{}`: it does not check clean", from.name),
            format!("{} error{} here or in what it shares", from_errors.len(), plural(from_errors.len())),
        )
        .with_note(format!("the first: error[{}] {}", from_errors[0].code, from_errors[0].message))
        .with_help(format!("fix the errors of `{}` (`govc check`), then promote", from.name));
        return Err(vec![d]);
    }
    let mut trees: BTreeMap<FileId, SyntaxTree> = BTreeMap::new();
    let mut edits: BTreeMap<FileId, Vec<TextEdit>> = BTreeMap::new();
    let mut changes = Vec::new();
    let mut refusals = Vec::new();
    for (_, svc) in to.of_kind("service") {
        if !request.services.is_empty() && !request.services.contains(&svc.name) {
            continue;
        }
        let Some((_, source)) = from.resource(&svc.name).filter(|(_, r)| r.kind == "service") else { continue };
        for &field in PROMOTABLE {
            let Some(Val::Str(new)) = source.body.field(field).map(|f| &f.value) else { continue };
            let current = svc.body.field(field);
            let old = current.and_then(|f| if let Val::Str(s) = &f.value { Some(s.clone()) } else { None });
            if old.as_deref() == Some(new.as_str()) {
                continue;
            }
            if let (Some(old), Some(f)) = (&old, current) {
                let (a, b) = (image::parse(new).repository, image::parse(old).repository);
                if a != b {
                    let from_span = source.body.field(field).map(|f| f.value_span).unwrap_or(from.name_span);
                    refusals.push(
                        Diagnostic::new(
                            Code::E807,
                            f.value_span,
                            format!("service `{}` runs `{b}` in `{}` but `{a}` in `{}`", svc.name, to.name, from.name),
                            "another repository",
                        )
                        .with_label(from_span, "what would be promoted")
                        .with_note(
                            "promotion moves one artifact between environments; another repository is another artifact",
                        )
                        .with_help(format!(
                            "make both environments run the same repository, or leave `{}` out with `--service`",
                            svc.name
                        )),
                    );
                    continue;
                }
            }
            let env_file = to.span.file;
            let tree = trees.entry(env_file).or_insert_with(|| SyntaxTree::parse(&sources.get(env_file).text));
            let Some(edit) = edit_for(tree, to, &svc.name, field, current.map(|f| f.value_span), new) else {
                refusals.push(
                    Diagnostic::new(
                        Code::E806,
                        to.name_span,
                        format!(
                            "cannot write `{field}` of service `{}` into `{}`: its block does not parse",
                            svc.name, to.name
                        ),
                        "this environment",
                    )
                    .with_help(format!("fix the syntax errors of `{}` (`govc check`), then promote", to.name)),
                );
                continue;
            };
            edits.entry(env_file).or_default().push(edit.0);
            changes.push(Change {
                service: svc.name.clone(),
                field: field.to_string(),
                old,
                new: new.clone(),
                file: sources.get(env_file).path.clone(),
                inserted: edit.1,
            });
        }
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    // Several fields added to one service block that did not exist: one block.
    let files = edits
        .into_iter()
        .map(|(file, edits)| (sources.get(file).path.clone(), apply_edits(&sources.get(file).text, &merge(edits))))
        .collect();
    Ok(Promotion { changes, skipped, files })
}

/// FROM, TO and the environments between them, checked against the order.
fn order<'m>(
    model: &'m Model,
    request: &Request,
) -> Result<(&'m Environment, &'m Environment, Vec<String>), Vec<Diagnostic>> {
    let listed: Vec<&str> = model
        .project
        .as_ref()
        .and_then(|p| p.environments.as_ref())
        .map(|(names, _)| names.iter().map(|n| n.name.as_str()).collect())
        .unwrap_or_default();
    let list_span = model.project.as_ref().and_then(|p| p.environments.as_ref()).map(|(_, s)| *s);
    let global = |message: String| {
        let d = match list_span {
            Some(span) => Diagnostic::new(Code::E805, span, message, "the promotion order"),
            None => Diagnostic::global(Code::E805, message),
        };
        d.with_note(format!("the promotion order (`project.environments`) is [{}]", listed.join(", ")))
    };
    let position = |name: &str| listed.iter().position(|n| *n == name);
    let (Some(a), Some(b)) = (position(&request.from), position(&request.to)) else {
        let unknown = if position(&request.from).is_none() { &request.from } else { &request.to };
        return Err(vec![global(format!("`{unknown}` is not in the promotion order"))
            .with_help("promote between environments listed in `project.environments`")]);
    };
    let (Some(from), Some(to)) = (model.environment(&request.from), model.environment(&request.to)) else {
        return Err(vec![global(format!("`{}` or `{}` is not defined", request.from, request.to))]);
    };
    if b <= a {
        return Err(vec![global(format!(
            "cannot promote from `{}` to `{}`: `{}` does not come after `{}`",
            request.from, request.to, request.to, request.from
        ))
        .with_help(format!("promote in order: from an environment listed before `{}`", request.to))]);
    }
    let skipped: Vec<String> = listed[a + 1..b].iter().map(|s| s.to_string()).collect();
    if !skipped.is_empty() && !request.skip_order {
        let names: Vec<String> = skipped.iter().map(|s| format!("`{s}`")).collect();
        return Err(vec![global(format!(
            "promoting from `{}` to `{}` skips {}",
            request.from,
            request.to,
            names.join(", ")
        ))
        .with_help(format!("promote to {} first, or pass `--skip-order` to skip on purpose", names[0]))]);
    }
    Ok((from, to, skipped))
}

/// Whether a diagnostic concerns `env`: it points into `env`'s block, or outside
/// every environment block (the project, a stack: what all environments share).
pub fn concerns(d: &Diagnostic, env: &Environment, model: &Model) -> bool {
    let Some(label) = d.labels.first() else { return true };
    let span: Span = label.span;
    env.owns(span) || !model.environments.iter().any(|e| e.owns(span))
}

/// The edit that sets `field` of service `service` in environment `to` to `value`,
/// and whether it inserts the field. `current` is the span of TO's merged value.
fn edit_for(
    tree: &SyntaxTree,
    to: &Environment,
    service: &str,
    field: &str,
    current: Option<Span>,
    value: &str,
) -> Option<(TextEdit, bool)> {
    let range = to.span.start as usize..to.span.end as usize;
    let env = tree.items().into_iter().find(|b| b.range() == range)?;
    let literal = quote(value);
    match env.block("service", Some(service)) {
        Some(block) => match block.field(field) {
            // The value in TO's own block (the merged value comes from there).
            Some(f) if current.is_some_and(|s| to.owns(s)) => Some((f.replace_value(&literal), false)),
            Some(_) => None,
            None => Some((block.insert_field(field, &literal)?, true)),
        },
        None => Some((env.insert_entry(&format!("service {service} {{ {field} = {literal} }}"))?, true)),
    }
}

/// Edits at one place (several fields of one new service block) joined into one.
fn merge(edits: Vec<TextEdit>) -> Vec<TextEdit> {
    let mut out: Vec<TextEdit> = Vec::new();
    for edit in edits {
        match out.iter_mut().find(|e| e.range == edit.range && e.range.is_empty()) {
            Some(e) => e.text.push_str(&edit.text),
            None => out.push(edit),
        }
    }
    out
}

/// A string literal holding `value`.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
