//! Queries for editors: what a position in the sources means.
//!
//! [`analyze`] runs the pipeline like [`crate::analyze`] but keeps the syntax trees;
//! [`Index`] lists every occurrence of a name (definitions, refinements,
//! references) with the [`Target`] it denotes, so that "go to definition", "find
//! references", hover and completion are lookups. Everything here is pure: the
//! language server (package `govc-lsp`) converts spans to protocol positions.
//!
//! Name resolution follows LANGUAGE.md: a resource of a stack is one target in
//! every environment using the stack (its refinements in environments are
//! occurrences of that target); a resource declared only in an environment is that
//! environment's; `stack =`, `mirrors =` and `environments =` name items; `phase =`
//! and `after =` name phases.

mod complete;
mod fixes;
mod hover;
mod outline;

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

pub use complete::{completions, Completion, CompletionKind};
pub use hover::hover;
pub use outline::{folding_ranges, symbols, OutlineSymbol};

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::schema::{BlockSchema, FieldType, Schema};
use crate::model::{self, Model};
use crate::source::{FileId, Origin, Sources, Span};
use crate::syntax::{self, ast};

/// The pipeline's results, syntax trees included.
#[derive(Debug)]
pub struct Analysis {
    pub sources: Sources,
    /// One tree per file, indexed like `sources`; shared with the analyses after it
    /// while the file does not change.
    pub files: Vec<Arc<ast::File>>,
    /// The syntax diagnostics of each file, indexed like `sources` (also in `diagnostics`).
    pub syntax: Vec<Vec<Diagnostic>>,
    /// The literal-secret findings of each file, indexed like `sources`, in the
    /// order reported (in `diagnostics` unless a file could not be read).
    pub secrets: Vec<Vec<Diagnostic>>,
    pub model: Model,
    /// Sorted by (file, offset, code), with the editor-only fixes of [`fixes`] added (missing fields).
    pub diagnostics: Vec<Diagnostic>,
    /// Built on the first request that needs it ([`Analysis::index`]): a burst of
    /// keystrokes publishes diagnostics without indexing every name at each one.
    index: OnceLock<Index>,
}

impl Analysis {
    /// Every name of the project, with where it is declared, refined and used.
    pub fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::build(&self.sources, &self.files, &self.model.schema))
    }
}

/// Parses, models and checks `sources` (no emission); names are indexed on first use.
pub fn analyze(sources: Sources) -> Analysis {
    analyze_reusing(sources, None)
}

/// Like [`analyze`], but a file whose path and text are those of the same file
/// of `previous` (same [`FileId`]) is not parsed again: its tree, syntax
/// diagnostics and literal-secret findings (which depend on the file alone) are
/// reused. An editor re-checking after a keystroke re-parses only the edited file,
/// and of it only the edited block when the file parsed cleanly ([`syntax::reparse`]).
///
/// The diagnostics are those of [`crate::analyze`] (a full `govc check`), with the
/// editor fixes added: the same phases report in the same order.
pub fn analyze_reusing(sources: Sources, previous: Option<&Analysis>) -> Analysis {
    let mut files = Vec::with_capacity(sources.len());
    let mut syntax = Vec::with_capacity(sources.len());
    // How each file's literal-secret findings are found below.
    let mut found_secrets = Vec::with_capacity(sources.len());
    for (id, file) in sources.iter() {
        // The same file in the previous analysis (same id, path and origin), read alike.
        let before = previous.filter(|p| p.sources.len() > id.0 as usize).and_then(|p| {
            let i = id.0 as usize;
            let before = p.sources.get(id);
            (before.path == file.path && before.origin == file.origin && before.invalid_utf8_at == file.invalid_utf8_at)
                .then(|| (before, &p.files[i], &p.syntax[i], &p.secrets[i]))
        });
        match before {
            Some((old, tree, diagnostics, found)) if old.text == file.text => {
                files.push(Arc::clone(tree));
                syntax.push(diagnostics.clone());
                found_secrets.push(Secrets::Reused(found));
            }
            _ => {
                // An edit inside one block of a file that parsed cleanly re-parses that block.
                let reparsed = before
                    .filter(|(_, _, diagnostics, _)| diagnostics.is_empty() && syntax::is_compilable(file))
                    .and_then(|(old, tree, ..)| syntax::reparse(tree, &old.text, &file.text));
                match (reparsed, before) {
                    (Some(reparsed), Some((old, _, _, found))) => {
                        files.push(Arc::new(reparsed.tree));
                        syntax.push(Vec::new());
                        found_secrets.push(Secrets::Reparsed(reparsed.changed, &old.text, found));
                    }
                    _ => {
                        let mut sink = Diagnostics::new();
                        files.push(Arc::new(syntax::parse_file(&sources, id, &mut sink)));
                        syntax.push(sink.into_sorted());
                        found_secrets.push(Secrets::Scan);
                    }
                }
            }
        }
    }
    let compilable = sources.iter().all(|(_, f)| f.origin != Origin::Project || syntax::is_compilable(f));
    // The new files' literal scan reads the trees alone: it runs beside the model and
    // the checks.
    let (secrets, (model, checked)) = crate::par::join(
        || -> Vec<Vec<Diagnostic>> {
            use crate::checks::secrets::{literal_secrets_in, literal_secrets_reparsed};
            let found = found_secrets.into_iter().zip(&files).map(|(how, tree)| {
                let mut sink = Diagnostics::new();
                match how {
                    Secrets::Reused(found) => return found.to_vec(),
                    Secrets::Reparsed(changed, old_text, before) => {
                        literal_secrets_reparsed(&sources, tree, &changed, old_text, before, &mut sink)
                    }
                    Secrets::Scan => literal_secrets_in(&sources, tree, &mut sink),
                }
                sink.into_reported()
            });
            found.collect()
        },
        || {
            let mut sink = Diagnostics::new();
            let model = model::build(&sources, &files, &mut sink);
            if compilable {
                crate::checks::run(&model, &crate::Options::default(), &mut sink);
                (model, sink)
            } else {
                // As `govc check`: a file that could not be read hides its declarations.
                (model, Diagnostics::new())
            }
        },
    );
    // In the order of `govc check`: syntax, literal secrets, the model and the checks.
    let mut sink = Diagnostics::new();
    sink.extend(syntax.iter().flatten().cloned());
    if compilable {
        sink.extend(secrets.iter().flatten().cloned());
        sink.extend(checked.into_reported());
    }
    let mut diagnostics = sink.into_sorted();
    fixes::add_missing_field_fixes(&sources, &files, &model.schema, &mut diagnostics);
    Analysis { sources, files, syntax, secrets, model, diagnostics, index: OnceLock::new() }
}

/// How [`analyze_reusing`] finds a file's literal secrets.
enum Secrets<'a> {
    /// The file is unchanged: its findings before.
    Reused(&'a [Diagnostic]),
    /// One block was parsed again: the findings before, in the text before.
    Reparsed(syntax::Changed, &'a str, &'a [Diagnostic]),
    /// The whole file.
    Scan,
}

/// What a name denotes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Project,
    Phase(String),
    Stack(String),
    Environment(String),
    /// A resource, by the scope that declares it first (its stack, or the
    /// environment that alone declares it) and its name.
    Resource {
        scope: Scope,
        name: String,
    },
}

/// Where a resource is declared.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Stack(String),
    Environment(String),
}

/// How a name occurs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The declaration.
    Definition,
    /// An environment's refinement of its stack's resource (`service api { ... }`
    /// in an environment whose stack declares `api`).
    Refinement,
    /// A use: `connects = [db]`, `route "/" -> api`, `stack = shop`, `phase = "build"`.
    Reference,
}

/// One occurrence of a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub target: Target,
    pub role: Role,
    /// The name itself (a string label or value includes its quotes).
    pub span: Span,
    /// For a definition or refinement, the whole block; otherwise the name.
    pub full_span: Span,
    /// For a resource definition or refinement, its kind.
    pub kind: Option<String>,
    /// For a reference `x.attr`, the attribute and its span.
    pub attr: Option<(String, Span)>,
}

/// Every occurrence of every name in the project's files (and the stdlib's phases).
#[derive(Clone, Debug, Default)]
pub struct Index {
    pub occurrences: Vec<Occurrence>,
    /// The stack each environment uses.
    pub env_stack: BTreeMap<String, String>,
    /// The resources each scope declares, with their kinds.
    pub declared: BTreeMap<Scope, BTreeMap<String, String>>,
}

impl Index {
    /// Indexes `files` against `schema`.
    pub fn build(sources: &Sources, files: &[impl Borrow<ast::File>], schema: &Schema) -> Index {
        let mut index = Index::default();
        let items = || {
            files.iter().map(Borrow::borrow).flat_map(|f| f.items.iter().map(move |i| (sources.get(f.file).origin, i)))
        };
        for (origin, item) in items() {
            let Some(label) = &item.label else { continue };
            if origin == Origin::Stdlib && item.kind.name != "phase" {
                continue;
            }
            match item.kind.name.as_str() {
                "stack" => {
                    let scope = Scope::Stack(label.text().to_string());
                    let names = index.declared.entry(scope).or_default();
                    for b in resource_blocks(item) {
                        names
                            .entry(b.label.as_ref().map(|l| l.text().to_string()).unwrap_or_default())
                            .or_insert(b.kind.name.clone());
                    }
                }
                "environment" => {
                    let scope = Scope::Environment(label.text().to_string());
                    if let Some(stack) = field(item, "stack").and_then(single_word) {
                        index.env_stack.entry(label.text().to_string()).or_insert(stack.name.clone());
                    }
                    let names = index.declared.entry(scope).or_default();
                    for b in resource_blocks(item) {
                        names
                            .entry(b.label.as_ref().map(|l| l.text().to_string()).unwrap_or_default())
                            .or_insert(b.kind.name.clone());
                    }
                }
                _ => {}
            }
        }
        for (origin, item) in items() {
            index.item(origin, item, schema);
        }
        index
    }

    fn push(&mut self, target: Target, role: Role, span: Span, full_span: Span) {
        self.occurrences.push(Occurrence { target, role, span, full_span, kind: None, attr: None });
    }

    fn item(&mut self, origin: Origin, item: &ast::Block, schema: &Schema) {
        let label = item.label.as_ref();
        match (item.kind.name.as_str(), label) {
            ("phase", Some(l)) => {
                self.push(Target::Phase(l.text().to_string()), Role::Definition, l.span(), item.span);
                if let Some((name, span)) = field(item, "after").and_then(string) {
                    self.push(Target::Phase(name), Role::Reference, span, span);
                }
            }
            _ if origin == Origin::Stdlib => {}
            ("project", Some(l)) => {
                self.push(Target::Project, Role::Definition, l.span(), item.span);
                if let Some((name, span)) = field(item, "phase").and_then(string) {
                    self.push(Target::Phase(name), Role::Reference, span, span);
                }
                for r in field(item, "environments").map(words).unwrap_or_default() {
                    self.push(Target::Environment(r.name.clone()), Role::Reference, r.span, r.span);
                }
            }
            ("stack", Some(l)) => {
                let name = l.text().to_string();
                self.push(Target::Stack(name.clone()), Role::Definition, l.span(), item.span);
                self.resources(item, &Scope::Stack(name), schema);
            }
            ("environment", Some(l)) => {
                let name = l.text().to_string();
                self.push(Target::Environment(name.clone()), Role::Definition, l.span(), item.span);
                if let Some(s) = field(item, "stack").and_then(single_word) {
                    self.push(Target::Stack(s.name.clone()), Role::Reference, s.span, s.span);
                }
                if let Some(m) = field(item, "mirrors").and_then(single_word) {
                    self.push(Target::Environment(m.name.clone()), Role::Reference, m.span, m.span);
                }
                self.resources(item, &Scope::Environment(name), schema);
            }
            _ => {}
        }
    }

    fn resources(&mut self, item: &ast::Block, scope: &Scope, schema: &Schema) {
        for block in resource_blocks(item) {
            let Some(label) = &block.label else { continue };
            let name = label.text();
            let (target, role) = match self.resolve(scope, name) {
                Some(t @ Target::Resource { scope: Scope::Stack(_), .. }) if matches!(scope, Scope::Environment(_)) => {
                    (t, Role::Refinement)
                }
                _ => (Target::Resource { scope: scope.clone(), name: name.to_string() }, Role::Definition),
            };
            self.occurrences.push(Occurrence {
                target,
                role,
                span: label.span(),
                full_span: block.span,
                kind: Some(block.kind.name.clone()),
                attr: None,
            });
            if let Some(kind) = schema.kind(&block.kind.name) {
                self.body_references(&block.entries, kind, scope);
            }
        }
    }

    /// The references inside a resource body: `ref`/`refs` fields, `env` values, routes.
    fn body_references(&mut self, entries: &[ast::Entry], schema: &BlockSchema, scope: &Scope) {
        for entry in entries {
            let refs: Vec<&[ast::Ident]> = match entry {
                ast::Entry::Field(f) => match schema.field(&f.name.name).map(|s| &s.ty) {
                    Some(FieldType::Ref(_) | FieldType::Refs(_)) => paths(&f.value),
                    _ => Vec::new(),
                },
                ast::Entry::Block(b) if b.label.is_none() => match schema.field(&b.kind.name).map(|s| &s.ty) {
                    Some(FieldType::Env) => b
                        .entries
                        .iter()
                        .filter_map(|e| match e {
                            ast::Entry::Field(f) => Some(paths(&f.value)),
                            _ => None,
                        })
                        .flatten()
                        .collect(),
                    _ => Vec::new(),
                },
                ast::Entry::Route(r) => vec![std::slice::from_ref(&r.target)],
                ast::Entry::Block(_) => Vec::new(),
            };
            for path in refs {
                let Some(first) = path.first() else { continue };
                let Some(target) = self.resolve(scope, &first.name) else { continue };
                let attr = path.get(1).map(|a| (a.name.clone(), a.span));
                self.occurrences.push(Occurrence {
                    target,
                    role: Role::Reference,
                    span: first.span,
                    full_span: first.span,
                    kind: None,
                    attr,
                });
            }
        }
    }

    /// The resource `name` written in `scope`: the stack's when the scope's stack
    /// declares it, else the scope's own.
    pub fn resolve(&self, scope: &Scope, name: &str) -> Option<Target> {
        let stack = match scope {
            Scope::Stack(s) => Some(s.clone()),
            Scope::Environment(e) => self.env_stack.get(e).cloned(),
        };
        if let Some(stack) = stack {
            let scope = Scope::Stack(stack);
            if self.declared.get(&scope).is_some_and(|names| names.contains_key(name)) {
                return Some(Target::Resource { scope, name: name.to_string() });
            }
        }
        let own = self.declared.get(scope).is_some_and(|names| names.contains_key(name));
        own.then(|| Target::Resource { scope: scope.clone(), name: name.to_string() })
    }

    /// The resources visible in `scope` (its stack's and its own), with their kinds.
    pub fn in_scope(&self, scope: &Scope) -> BTreeMap<String, String> {
        let mut names = BTreeMap::new();
        if let Scope::Environment(e) = scope {
            if let Some(stack) = self.env_stack.get(e) {
                names.extend(self.declared.get(&Scope::Stack(stack.clone())).cloned().unwrap_or_default());
            }
        }
        names.extend(self.declared.get(scope).cloned().unwrap_or_default());
        names
    }

    /// The occurrence whose name (or attribute) covers `offset` in `file`.
    pub fn at(&self, file: FileId, offset: usize) -> Option<&Occurrence> {
        let covers = |s: Span| s.file == file && s.start as usize <= offset && offset <= s.end as usize;
        self.occurrences.iter().find(|o| covers(o.span) || o.attr.as_ref().is_some_and(|(_, s)| covers(*s)))
    }

    /// Where `occurrence` leads: a reference or refinement to the declaration; a
    /// stack resource's declaration to its refinements in environments.
    pub fn definition(&self, occurrence: &Occurrence) -> Vec<&Occurrence> {
        let of_role = |role: Role| -> Vec<&Occurrence> {
            self.occurrences.iter().filter(|o| o.target == occurrence.target && o.role == role).collect()
        };
        match occurrence.role {
            Role::Definition => {
                let refinements = of_role(Role::Refinement);
                if refinements.is_empty() {
                    of_role(Role::Definition)
                } else {
                    refinements
                }
            }
            Role::Refinement | Role::Reference => of_role(Role::Definition),
        }
    }

    /// Every occurrence of `target`, declarations included when asked.
    pub fn references(&self, target: &Target, declarations: bool) -> Vec<&Occurrence> {
        self.occurrences.iter().filter(|o| &o.target == target && (declarations || o.role == Role::Reference)).collect()
    }

    /// Every environment whose resources include `target` (a stack's resource is in
    /// every environment using the stack).
    pub fn environments_of(&self, target: &Target) -> BTreeSet<String> {
        match target {
            Target::Resource { scope: Scope::Environment(e), .. } => BTreeSet::from([e.clone()]),
            Target::Resource { scope: Scope::Stack(s), .. } => {
                self.env_stack.iter().filter(|(_, stack)| *stack == s).map(|(e, _)| e.clone()).collect()
            }
            _ => BTreeSet::new(),
        }
    }
}

/// The labelled blocks (resources) of a stack or environment.
fn resource_blocks(item: &ast::Block) -> impl Iterator<Item = &ast::Block> {
    item.entries.iter().filter_map(|e| match e {
        ast::Entry::Block(b) if b.label.is_some() => Some(b),
        _ => None,
    })
}

fn field<'a>(block: &'a ast::Block, name: &str) -> Option<&'a ast::Value> {
    block.entries.iter().find_map(|e| match e {
        ast::Entry::Field(f) if f.name.name == name => Some(&f.value),
        _ => None,
    })
}

fn single_word(value: &ast::Value) -> Option<&ast::Ident> {
    match &value.kind {
        ast::ValueKind::Path(p) if p.len() == 1 => p.first(),
        _ => None,
    }
}

fn words(value: &ast::Value) -> Vec<&ast::Ident> {
    match &value.kind {
        ast::ValueKind::List(items) => items.iter().filter_map(single_word).collect(),
        _ => single_word(value).into_iter().collect(),
    }
}

fn paths(value: &ast::Value) -> Vec<&[ast::Ident]> {
    match &value.kind {
        ast::ValueKind::Path(p) => vec![p.as_slice()],
        ast::ValueKind::List(items) => items.iter().flat_map(paths).collect(),
        _ => Vec::new(),
    }
}

fn string(value: &ast::Value) -> Option<(String, Span)> {
    match &value.kind {
        ast::ValueKind::Str(s) => Some((s.clone(), value.span)),
        _ => None,
    }
}

/// The chain of blocks containing `offset` in `file`, outermost first.
pub fn enclosing_blocks(file: &ast::File, offset: usize) -> Vec<&ast::Block> {
    let inside = |b: &ast::Block| b.span.start as usize <= offset && offset <= b.span.end as usize;
    let mut chain = Vec::new();
    let mut current = file.items.iter().find(|b| inside(b));
    while let Some(block) = current {
        chain.push(block);
        current = block.entries.iter().find_map(|e| match e {
            ast::Entry::Block(b) if inside(b) && b.kind.span.start as usize <= offset => Some(b),
            _ => None,
        });
    }
    chain
}

/// What a chain of blocks is, against the schema: the item, the resource kind or
/// the nested block whose fields may be written in the innermost block.
pub fn block_schema<'a>(schema: &'a Schema, chain: &[&ast::Block]) -> Option<&'a BlockSchema> {
    let (first, rest) = chain.split_first()?;
    let mut current = schema.item(&first.kind.name)?;
    let mut in_item = true;
    for block in rest {
        let name = block.kind.name.as_str();
        current = match current.block(name) {
            Some(inner) => inner,
            None if in_item && block.label.is_some() => schema.kind(name)?,
            None => return None,
        };
        in_item = false;
    }
    Some(current)
}

/// The scope (stack or environment) a chain of blocks is written in.
pub fn scope_of(chain: &[&ast::Block]) -> Option<Scope> {
    let first = chain.first()?;
    let name = first.label.as_ref()?.text().to_string();
    match first.kind.name.as_str() {
        "stack" => Some(Scope::Stack(name)),
        "environment" => Some(Scope::Environment(name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
