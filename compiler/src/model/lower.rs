//! Lowering: the files' top-level items to declarations (project, phases, stacks,
//! environments and their resources), with every field typed (E2xx).
//!
//! Names are checked here (E208) and duplicates resolved: of two declarations of one
//! name in one scope the first in (file path, byte offset) order is kept and the
//! later one is E205. A rejected declaration *reserves* its name so that nothing
//! is reported that only its absence causes.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};

use super::body::{self, lower_body, Body, What};
use super::schema::{BlockSchema, Capability, Schema};
use super::suggest::closest;
use super::values::{Reference, Val};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{Origin, Sources, Span};
use crate::syntax::ast::{self, BlockLabel};

/// A resource declaration in a stack or an environment.
#[derive(Clone, Debug)]
pub struct Decl {
    pub kind: String,
    pub name: String,
    pub name_span: Span,
    pub head_span: Span,
    pub span: Span,
    pub doc: Option<String>,
    pub capability: Capability,
    pub body: Body,
}

/// The `project` item.
#[derive(Clone, Debug)]
pub struct Project {
    pub name: String,
    pub name_span: Span,
    pub head_span: Span,
    pub phase: Option<(String, Span)>,
    pub environments: Option<(Vec<Reference>, Span)>,
    /// `immutable_promotion`, when written (E804 or W803).
    pub immutable_promotion: Option<(bool, Span)>,
}

/// A `phase` item.
#[derive(Clone, Debug)]
pub struct PhaseDecl {
    pub name: String,
    pub head_span: Span,
    pub doc: Option<String>,
    pub after: Option<(String, Span)>,
    pub authorizes: Vec<(Capability, Span)>,
    pub origin: Origin,
}

/// A `stack` item.
#[derive(Clone, Debug)]
pub struct StackDecl {
    pub name: String,
    pub head_span: Span,
    pub doc: Option<String>,
    pub resources: Vec<Decl>,
    /// Names of resources whose declaration was rejected (E201).
    pub reserved: BTreeSet<String>,
}

/// An `environment` item, before the merge.
#[derive(Clone, Debug)]
pub struct EnvDecl {
    pub name: String,
    pub name_span: Span,
    pub head_span: Span,
    pub span: Span,
    pub doc: Option<String>,
    pub body: Body,
    pub resources: Vec<Decl>,
    pub reserved: BTreeSet<String>,
}

/// Everything declared in the project's files.
#[derive(Clone, Debug, Default)]
pub struct Declarations {
    pub project: Option<Project>,
    pub phases: Vec<PhaseDecl>,
    pub stacks: Vec<StackDecl>,
    pub environments: Vec<EnvDecl>,
    /// Names of stacks and environments whose declaration was rejected.
    pub reserved_items: BTreeSet<String>,
}

/// Is `name` a DNS-1123 label: `[a-z]([a-z0-9-]*[a-z0-9])?`, at most 63 characters?
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[bytes.len() - 1] != b'-'
}

/// E208 unless `name` is a DNS-1123 label.
pub fn check_name(name: &str, span: Span, what: &str, sink: &mut Diagnostics) -> bool {
    if is_dns_label(name) {
        return true;
    }
    let fixed: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .chars()
        .take(63)
        .collect();
    let why = if name.len() > 63 {
        "longer than 63 characters".to_string()
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        "has uppercase letters".to_string()
    } else if name.contains('_') {
        "has an underscore".to_string()
    } else {
        "is not a DNS-1123 label".to_string()
    };
    let mut d = Diagnostic::new(Code::E208, span, format!("{what} name `{name}` {why}"), "not a DNS-1123 label")
        .with_note("names become Kubernetes and AWS names: lowercase letters, digits and `-`, starting with a letter, at most 63 characters");
    if is_dns_label(&fixed) {
        d = d.with_help(format!("rename it `{fixed}`"));
    } else {
        d = d.with_help("use lowercase letters, digits and `-`, starting with a letter");
    }
    sink.push(d);
    false
}

fn label_name(block: &ast::Block) -> Option<(&str, Span)> {
    block.label.as_ref().map(|l| (l.text(), l.span()))
}

fn missing_label(block: &ast::Block, sink: &mut Diagnostics) {
    sink.push(
        Diagnostic::new(
            Code::E101,
            block.kind.span,
            format!("`{}` needs a name", block.kind.name),
            "expected a name after this",
        )
        .with_help(format!("write `{} NAME {{ ... }}`", block.kind.name)),
    );
}

/// Lowers every item of every project file (stdlib `item`/`kind` schemas excluded;
/// stdlib phases are lowered so that the default ladder is known).
pub fn lower(
    sources: &Sources,
    files: &[impl Borrow<ast::File>],
    schema: &Schema,
    sink: &mut Diagnostics,
) -> Declarations {
    let mut decls = Declarations::default();
    let mut stack_index: HashMap<String, Span> = HashMap::new();
    let mut env_index: HashMap<String, Span> = HashMap::new();
    let top_kinds = ["project", "phase", "stack", "environment"];
    // The `project` of `project.gov` is the project, whatever other files sort before it.
    for file in files.iter().map(Borrow::borrow) {
        let path = &sources.get(file.file).path;
        if sources.get(file.file).origin == Origin::Project && path == "project.gov" {
            for item in file.items.iter().filter(|i| i.kind.name == "project") {
                lower_project(item, path, schema, &mut decls, sink);
            }
        }
    }
    for file in files.iter().map(Borrow::borrow) {
        let source = sources.get(file.file);
        let origin = source.origin;
        for item in &file.items {
            let kind = item.kind.name.as_str();
            if origin == Origin::Stdlib {
                if kind == "phase" {
                    decls.phases.push(lower_phase(item, schema, origin, sink));
                }
                continue;
            }
            match kind {
                "project" if source.path == "project.gov" => {}
                "project" => lower_project(item, &source.path, schema, &mut decls, sink),
                "phase" => decls.phases.push(lower_phase(item, schema, origin, sink)),
                "stack" => {
                    let Some((name, span)) = label_name(item) else {
                        missing_label(item, sink);
                        continue;
                    };
                    let valid = check_name(name, span, "stack", sink);
                    let stack = lower_stack(item, name, schema, sink);
                    if !valid {
                        decls.reserved_items.insert(name.to_string());
                    } else if let Some(first) = stack_index.get(name) {
                        sink.push(duplicate(name, "stack", item.head_span(), *first));
                    } else {
                        stack_index.insert(name.to_string(), item.head_span());
                        decls.stacks.push(stack);
                    }
                }
                "environment" => {
                    let Some((name, span)) = label_name(item) else {
                        missing_label(item, sink);
                        continue;
                    };
                    let valid = check_name(name, span, "environment", sink);
                    let env = lower_environment(item, name, span, schema, sink);
                    if !valid {
                        decls.reserved_items.insert(name.to_string());
                    } else if let Some(first) = env_index.get(name) {
                        sink.push(
                            Diagnostic::new(Code::E306, item.head_span(), format!("environment `{name}` is defined twice"), "defined again here")
                                .with_label(*first, "first defined here")
                                .with_help("each environment is one isolated target: give it one definition, or rename one of them"),
                        );
                    } else {
                        env_index.insert(name.to_string(), item.head_span());
                        decls.environments.push(env);
                    }
                }
                "item" | "kind" => sink.push(
                    Diagnostic::new(
                        Code::E211,
                        item.head_span(),
                        format!("a project cannot declare a `{kind}`"),
                        "stdlib definition",
                    )
                    .with_note(
                        "resource kinds are defined by govc's stdlib: network, postgres, service, ingress, secret",
                    )
                    .with_help("remove this declaration; use the stdlib kinds in a `stack` or `environment`"),
                ),
                _ => {
                    if let Some((name, _)) = label_name(item) {
                        decls.reserved_items.insert(name.to_string());
                    }
                    let mut d = Diagnostic::new(
                        Code::E201,
                        item.kind.span,
                        format!("unknown item `{kind}`"),
                        "unknown item kind",
                    );
                    d = if schema.kind(kind).is_some() {
                        d.with_help(format!("a `{kind}` is declared inside a `stack` or an `environment`"))
                    } else if let Some(s) = closest(kind, top_kinds) {
                        super::suggest::did_you_mean(d, item.kind.span, s)
                    } else {
                        d.with_help("top-level items are `project`, `phase`, `stack` and `environment`")
                    };
                    sink.push(d);
                }
            }
        }
    }
    decls
}

fn duplicate(name: &str, what: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(Code::E205, span, format!("duplicate {what} `{name}`"), "declared again here")
        .with_label(first, "first declared here")
        .with_help(format!("rename or remove one of the two `{name}` declarations"))
}

fn lower_project(item: &ast::Block, path: &str, schema: &Schema, decls: &mut Declarations, sink: &mut Diagnostics) {
    let Some((name, name_span)) = label_name(item) else {
        missing_label(item, sink);
        return;
    };
    if let Some(first) = &decls.project {
        sink.push(
            Diagnostic::new(Code::E210, item.head_span(), "more than one `project`", "another project declared here")
                .with_label(first.head_span, "the project is declared here")
                .with_help("a project has exactly one `project` item, in `project.gov`"),
        );
        return;
    }
    if path != "project.gov" && !path.ends_with("/project.gov") {
        sink.push(
            Diagnostic::new(
                Code::E210,
                item.head_span(),
                format!("`project` is declared in `{path}`"),
                "not in project.gov",
            )
            .with_help("move the `project` item to `project.gov` at the project root"),
        );
    }
    check_name(name, name_span, "project", sink);
    let schema = schema.item("project").expect("the stdlib declares `item project`");
    let body = lower_body(&item.entries, schema, What::of("project"), sink, &mut |b, sink| {
        sink.push(body::unexpected_block(b, What::of("project")))
    });
    let phase = body.field("phase").and_then(|f| match &f.value {
        Val::Str(s) => Some((s.clone(), f.value_span)),
        _ => None,
    });
    let environments = body.field("environments").and_then(|f| match &f.value {
        Val::Refs(refs) => Some((refs.clone(), f.value_span)),
        _ => None,
    });
    let immutable_promotion = body.field("immutable_promotion").and_then(|f| match f.value {
        Val::Bool(b) => Some((b, f.value_span)),
        _ => None,
    });
    for required in ["phase", "environments"] {
        if body.field(required).is_none() {
            sink.push(
                Diagnostic::new(
                    Code::E204,
                    item.head_span(),
                    format!("project `{name}` has no `{required}`"),
                    format!("`{required}` missing"),
                )
                .with_help(if required == "phase" {
                    "add `phase = \"concept\"` (or the phase in force)"
                } else {
                    "add `environments = [...]` listing every environment in promotion order"
                }),
            );
        }
    }
    decls.project = Some(Project {
        name: name.to_string(),
        name_span,
        head_span: item.head_span(),
        phase,
        environments,
        immutable_promotion,
    });
}

fn lower_phase(item: &ast::Block, schema: &Schema, origin: Origin, sink: &mut Diagnostics) -> PhaseDecl {
    let schema = schema.item("phase").expect("the stdlib declares `item phase`");
    let body = lower_body(&item.entries, schema, What::of("phase"), sink, &mut |b, sink| {
        sink.push(body::unexpected_block(b, What::of("phase")))
    });
    let name = match &item.label {
        Some(BlockLabel::Str(s)) => s.value.clone(),
        Some(BlockLabel::Name(i)) => i.name.clone(),
        None => {
            missing_label(item, sink);
            String::new()
        }
    };
    PhaseDecl {
        name,
        head_span: item.head_span(),
        doc: item.doc.clone(),
        after: body.field("after").and_then(|f| match &f.value {
            Val::Str(s) => Some((s.clone(), f.value_span)),
            _ => None,
        }),
        authorizes: match body.value("authorizes") {
            Some(Val::Caps(caps)) => caps.clone(),
            _ => Vec::new(),
        },
        origin,
    }
}

/// One resource block, lowered on its own.
enum Lowered<'a> {
    /// No usable label (already reported by the parser).
    Unlabelled,
    /// An unknown kind (E201) or an invalid name (E208): the name stays reserved.
    Rejected(&'a str),
    Resource {
        name: &'a str,
        name_span: Span,
        kind: &'a BlockSchema,
        body: Body,
    },
}

fn lower_block<'a>(block: &'a ast::Block, scope: &str, schema: &'a Schema, sink: &mut Diagnostics) -> Lowered<'a> {
    let kind = block.kind.name.as_str();
    let Some((name, name_span)) = label_name(block) else { return Lowered::Unlabelled };
    let Some(kind_schema) = schema.kind(kind) else {
        let mut d =
            Diagnostic::new(Code::E201, block.kind.span, format!("unknown resource kind `{kind}`"), "unknown kind");
        let kinds: Vec<&str> = schema.kinds.iter().map(|k| k.name.as_str()).collect();
        d = match closest(kind, kinds.iter().copied()) {
            Some(s) => super::suggest::did_you_mean(d, block.kind.span, s),
            None if schema.item(kind).is_some() => d.with_help(format!("a `{kind}` cannot be nested in {scope}")),
            None => d.with_help(format!(
                "resource kinds are {}",
                super::values::backticked(&kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>())
            )),
        };
        sink.push(d);
        return Lowered::Rejected(name);
    };
    let valid = check_name(name, name_span, kind, sink);
    let what = What::named(kind, name);
    let body =
        lower_body(&block.entries, kind_schema, what, sink, &mut |b, sink| sink.push(body::unexpected_block(b, what)));
    if valid {
        Lowered::Resource { name, name_span, kind: kind_schema, body }
    } else {
        Lowered::Rejected(name)
    }
}

/// Lowers the resource blocks of a stack or environment. Returns the kept
/// declarations and the reserved names.
fn lower_resources(
    blocks: &[&ast::Block],
    scope: &str,
    schema: &Schema,
    sink: &mut Diagnostics,
) -> (Vec<Decl>, BTreeSet<String>) {
    // Each block lowers on its own (side by side, each into its own sink); names are
    // then claimed in order, and the diagnostics reported in the order of the blocks.
    let lowered = crate::par::map(blocks, |block| {
        let mut local = Diagnostics::new();
        let body = lower_block(block, scope, schema, &mut local);
        (body, local)
    });
    let mut decls: Vec<Decl> = Vec::with_capacity(blocks.len());
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(blocks.len());
    let mut reserved = BTreeSet::new();
    for (block, (lowered, local)) in blocks.iter().zip(lowered) {
        sink.extend(local.into_reported());
        let (name, name_span, kind_schema, body) = match lowered {
            Lowered::Unlabelled => continue,
            Lowered::Rejected(name) => {
                reserved.insert(name.to_string());
                continue;
            }
            Lowered::Resource { name, name_span, kind, body } => (name, name_span, kind, body),
        };
        if let Some(first) = index.get(name).map(|i| &decls[*i]) {
            sink.push(
                Diagnostic::new(
                    Code::E205,
                    block.head_span(),
                    format!("duplicate name `{name}` in {scope}"),
                    "declared again here",
                )
                .with_label(first.head_span, format!("first declared here as a {}", first.kind))
                .with_note("names are unique within an environment across all kinds")
                .with_help(format!("rename one of the two `{name}` declarations")),
            );
            continue;
        }
        index.insert(name, decls.len());
        decls.push(Decl {
            kind: block.kind.name.clone(),
            name: name.to_string(),
            name_span,
            head_span: block.head_span(),
            span: block.span,
            doc: block.doc.clone(),
            capability: kind_schema.own_capability(),
            body,
        });
    }
    for (service, postgres) in bootstrap_clashes(&decls, &decls) {
        sink.push(bootstrap_clash(
            service.name.as_str(),
            service.head_span,
            postgres.name.as_str(),
            postgres.head_span,
        ));
    }
    (decls, reserved)
}

/// The name a postgres's bootstrap gives its objects in the environment's namespace: its
/// Job's pods, ServiceAccount and ConfigMap (`emit::names::bootstrap_name`).
pub fn bootstrap_name(postgres: &str) -> String {
    format!("{postgres}-bootstrap")
}

/// The pairs of a service of `services` and a postgres of `databases` whose bootstrap's
/// objects would take the service's name.
pub(super) fn bootstrap_clashes<'a>(
    services: impl IntoIterator<Item = &'a Decl>,
    databases: impl IntoIterator<Item = &'a Decl>,
) -> Vec<(&'a Decl, &'a Decl)> {
    let databases: HashMap<String, &Decl> =
        databases.into_iter().filter(|d| d.kind == "postgres").map(|d| (bootstrap_name(&d.name), d)).collect();
    if databases.is_empty() {
        return Vec::new();
    }
    services
        .into_iter()
        .filter(|s| s.kind == "service")
        .filter_map(|s| databases.get(&s.name).map(|d| (s, *d)))
        .collect()
}

/// E205: a service named like a postgres's bootstrap objects.
pub(super) fn bootstrap_clash(service: &str, service_span: Span, postgres: &str, postgres_span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::E205,
        service_span,
        format!("service `{service}` takes the name of postgres `{postgres}`'s bootstrap"),
        "named like the bootstrap's objects",
    )
    .with_label(postgres_span, format!("its bootstrap Job, ServiceAccount and ConfigMap are named `{service}`"))
    .with_note("the bootstrap creates the services' database users; its objects share the namespace with the services'")
    .with_help(format!("rename the service, or the postgres `{postgres}`"))
}

fn lower_stack(item: &ast::Block, name: &str, schema: &Schema, sink: &mut Diagnostics) -> StackDecl {
    let what = What::named("stack", name);
    let stack_schema = schema.item("stack").expect("the stdlib declares `item stack`");
    let mut blocks = Vec::new();
    let _ = lower_body(&item.entries, stack_schema, what, sink, &mut |b, _| blocks.push(b));
    let (resources, reserved) = lower_resources(&blocks, &what.to_string(), schema, sink);
    StackDecl { name: name.to_string(), head_span: item.head_span(), doc: item.doc.clone(), resources, reserved }
}

fn lower_environment(
    item: &ast::Block,
    name: &str,
    name_span: Span,
    schema: &Schema,
    sink: &mut Diagnostics,
) -> EnvDecl {
    let what = What::named("environment", name);
    let env_schema = schema.item("environment").expect("the stdlib declares `item environment`");
    let mut blocks = Vec::new();
    let body = lower_body(&item.entries, env_schema, what, sink, &mut |b, _| blocks.push(b));
    let (resources, reserved) = lower_resources(&blocks, &what.to_string(), schema, sink);
    EnvDecl {
        name: name.to_string(),
        name_span,
        head_span: item.head_span(),
        span: item.span,
        doc: item.doc.clone(),
        body,
        resources,
        reserved,
    }
}
