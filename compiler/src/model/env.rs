//! Environments after the merge: each environment's resources (its stack's, refined,
//! plus its own), with every reference resolved inside the environment (E205, E206,
//! E207, E301) and every required field present (E204, E306).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt};

use super::body::Body;
use super::lower::{Declarations, EnvDecl};
use super::schema::{BlockSchema, CapSet, Capability, FieldType, Required, Schema};
use super::suggest::{closest, Names};
use super::values::{EnvVal, Reference, Val};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Tier;
use crate::source::Span;

/// What kind of dependency an edge is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// `connects = [x]`.
    Connects,
    /// `route "PATH" -> x`.
    Route { path: String },
    /// `env { KEY = x }` or `KEY = x.attr`.
    Env { key: String },
    /// `network = x`, or the default network.
    Network,
}

/// A resolved reference from one resource to another in the same environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub kind: EdgeKind,
    /// Index into the environment's resources.
    pub target: usize,
    pub attr: Option<String>,
    /// Where the reference is written (the default network: the resource's head).
    pub span: Span,
}

/// One resource of an environment after the merge.
#[derive(Clone, Debug)]
pub struct Resource {
    pub kind: String,
    pub name: String,
    pub doc: Option<String>,
    pub body: Body,
    /// Declared by the environment's stack (and maybe refined), rather than by the
    /// environment alone.
    pub from_stack: bool,
    pub stack_head: Option<Span>,
    pub env_head: Option<Span>,
    pub edges: Vec<Edge>,
    /// Some reference of this resource failed to resolve (already reported): its
    /// edges are incomplete, so topology comparisons (E801) leave them out.
    pub unresolved: bool,
}

impl Resource {
    /// A stack's declaration as a resource of an environment using the stack.
    pub fn from_stack(d: &super::lower::Decl) -> Resource {
        Resource {
            kind: d.kind.clone(),
            name: d.name.clone(),
            doc: d.doc.clone(),
            body: d.body.clone(),
            from_stack: true,
            stack_head: Some(d.head_span),
            env_head: None,
            edges: Vec::new(),
            unresolved: false,
        }
    }

    /// Where to point at this resource in this environment: its refinement, or the
    /// stack's declaration.
    pub fn head(&self) -> Span {
        self.env_head.or(self.stack_head).unwrap_or_default()
    }

    pub fn network(&self) -> Option<usize> {
        self.edges.iter().find(|e| e.kind == EdgeKind::Network).map(|e| e.target)
    }
}

/// An environment after the merge.
#[derive(Clone, Debug)]
pub struct Environment {
    pub name: String,
    pub name_span: Span,
    pub head_span: Span,
    pub span: Span,
    pub doc: Option<String>,
    pub tier: Option<Tier>,
    pub stack: Option<usize>,
    pub mirrors: Option<usize>,
    /// The environment's own fields (`tier`, `aws { }`, `state { }` ...).
    pub body: Body,
    pub resources: Vec<Resource>,
    /// Names that must not be reported as missing (rejected declarations).
    pub reserved: BTreeSet<String>,
    pub listed: bool,
    /// Some reference failed to resolve (E206, E301): rules about what is *not*
    /// referenced (W601, W802) stay quiet rather than echo that mistake.
    pub unresolved: bool,
    /// `stack = X` names no stack (reported once, E206/E207): what the stack would
    /// have declared is unknown, so references to it, required fields of refined
    /// resources and usage rules stay quiet.
    pub stack_missing: bool,
}

impl Environment {
    pub fn resource(&self, name: &str) -> Option<(usize, &Resource)> {
        self.resources.iter().enumerate().find(|(_, r)| r.name == name)
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (usize, &'a Resource)> + 'a {
        self.resources.iter().enumerate().filter(move |(_, r)| r.kind == kind)
    }

    /// Is `span` written inside this environment's own block (rather than in its stack)?
    pub fn owns(&self, span: Span) -> bool {
        span.file == self.span.file && span.start >= self.span.start && span.end <= self.span.end
    }
}

/// Blocks of the environment schema refused for `tier = local` (E202).
fn cloud_only(schema: &Schema) -> Vec<String> {
    schema
        .item("environment")
        .map(|e| e.blocks.iter().filter(|b| b.cloud_only).map(|b| b.name.clone()).collect())
        .unwrap_or_default()
}

fn tier_of(body: &Body) -> Option<Tier> {
    match body.value("tier")? {
        Val::Enum(t) => Some(match t.as_str() {
            "local" => Tier::Local,
            "dev" => Tier::Dev,
            "staging" => Tier::Staging,
            _ => Tier::Production,
        }),
        _ => None,
    }
}

/// Resolves the item references of environments (`stack`, `mirrors`) and merges
/// each environment with its stack.
pub fn merge(decls: &Declarations, schema: &Schema, sink: &mut Diagnostics) -> Vec<Environment> {
    let listed: BTreeSet<&str> = decls
        .project
        .as_ref()
        .and_then(|p| p.environments.as_ref())
        .map(|(refs, _)| refs.iter().map(|r| r.name.as_str()).collect())
        .unwrap_or_default();
    // Environments merge side by side, each into its own sink, reported in order.
    let merged = crate::par::map(&decls.environments, |d| {
        let mut local = Diagnostics::new();
        let env = merge_one(d, decls, schema, listed.contains(d.name.as_str()), &mut local);
        (env, local)
    });
    let mut envs = Vec::with_capacity(merged.len());
    for (env, local) in merged {
        sink.extend(local.into_reported());
        envs.push(env);
    }
    resolve_mirrors(decls, &mut envs, sink);
    envs
}

fn item_kind(decls: &Declarations, name: &str) -> Option<&'static str> {
    if decls.stacks.iter().any(|s| s.name == name) {
        Some("stack")
    } else if decls.environments.iter().any(|e| e.name == name) {
        Some("environment")
    } else if decls.environments.iter().any(|e| e.resources.iter().any(|r| r.name == name))
        || decls.stacks.iter().any(|s| s.resources.iter().any(|r| r.name == name))
    {
        Some("resource")
    } else {
        None
    }
}

fn unresolved_item(r: &Reference, want: &str, candidates: Vec<&str>, decls: &Declarations) -> Option<Diagnostic> {
    if r.attr.is_some() {
        return Some(
            Diagnostic::new(
                Code::E207,
                r.span,
                format!("expected the name of a {want}, found an attribute reference"),
                format!("not a {want}"),
            )
            .with_help(format!("write the {want}'s name alone")),
        );
    }
    if decls.reserved_items.contains(&r.name) {
        return None;
    }
    match item_kind(decls, &r.name) {
        Some(kind) => {
            let d = Diagnostic::new(
                Code::E207,
                r.span,
                format!("`{}` is a {kind}, not a {want}", r.name),
                format!("expected a {want}"),
            );
            Some(match closest(&r.name, candidates.iter().copied()) {
                // `r.attr` is `None` here: the span is the name alone.
                Some(s) => super::suggest::did_you_mean(d, r.span, s),
                None => d.with_help(format!("name a {want} here")),
            })
        }
        None => {
            let d = Diagnostic::new(
                Code::E206,
                r.span,
                format!("unknown {want} `{}`", r.name),
                format!("no {want} with this name"),
            );
            Some(match closest(&r.name, candidates.iter().copied()) {
                Some(s) => super::suggest::did_you_mean(d, r.span, s),
                None if candidates.is_empty() => d.with_help(format!("declare `{want} {} {{ ... }}`", r.name)),
                None => d.with_help(format!(
                    "the {want}s are {}",
                    candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                )),
            })
        }
    }
}

fn merge_one(
    decl: &EnvDecl,
    decls: &Declarations,
    schema: &Schema,
    listed: bool,
    sink: &mut Diagnostics,
) -> Environment {
    let tier = tier_of(&decl.body);
    if decl.body.field("tier").is_none() {
        sink.push(
            Diagnostic::new(
                Code::E306,
                decl.head_span,
                format!("environment `{}` has no `tier`", decl.name),
                "tier missing",
            )
            .with_help("add `tier = local`, `dev`, `staging` or `production`"),
        );
    }
    if tier == Some(Tier::Local) {
        let refused = cloud_only(schema);
        for block in &decl.body.blocks {
            if refused.contains(&block.name) {
                sink.push(
                    Diagnostic::new(
                        Code::E202,
                        block.head,
                        format!("`{}` is not allowed in a `tier = local` environment", block.name),
                        "local environments have no cloud",
                    )
                    .with_help(format!(
                        "remove `{} {{ }}`: a local environment has no AWS account, Terraform state or EKS cluster",
                        block.name
                    )),
                );
            }
        }
    }
    let mut stack = None;
    let mut stack_missing = false;
    if let Some(field) = decl.body.field("stack") {
        stack_missing = true;
        if let Val::Ref(r) = &field.value {
            stack = decls.stacks.iter().position(|s| s.name == r.name && r.attr.is_none());
            stack_missing = stack.is_none();
            if stack.is_none() {
                let names = decls.stacks.iter().map(|s| s.name.as_str()).collect();
                sink.extend(unresolved_item(r, "stack", names, decls));
            }
        }
    }
    let mut resources: Vec<Resource> = Vec::new();
    let mut reserved = decl.reserved.clone();
    let stack_decl = stack.map(|i| &decls.stacks[i]);
    if let Some(stack) = stack_decl {
        reserved.extend(stack.reserved.iter().cloned());
        // A fleet's stack has thousands of resources: copied on both cores.
        resources = crate::par::map(&stack.resources, Resource::from_stack);
    }
    // Names borrowed from the declarations: no copy of every name per environment.
    let mut index: HashMap<&str, usize> = stack_decl
        .map(|s| s.resources.iter().enumerate().map(|(i, d)| (d.name.as_str(), i)).collect())
        .unwrap_or_default();
    for d in &decl.resources {
        if stack_decl.is_some_and(|s| s.reserved.contains(&d.name)) {
            continue;
        }
        match index.get(d.name.as_str()).map(|i| &mut resources[*i]) {
            Some(base) if base.kind == d.kind => {
                base.body.merge(&d.body);
                base.env_head = Some(d.head_span);
                base.doc = d.doc.clone().or(base.doc.take());
            }
            Some(base) => sink.push(
                Diagnostic::new(
                    Code::E205,
                    d.head_span,
                    format!("`{}` is a {} in the stack but a {} here", d.name, base.kind, d.kind),
                    format!("declared as a {} here", d.kind),
                )
                .with_label(base.stack_head.unwrap_or_default(), format!("declared as a {} in the stack", base.kind))
                .with_help(format!(
                    "refine it as `{} {} {{ ... }}`, or give the new resource another name",
                    base.kind, d.name
                )),
            ),
            None => {
                index.insert(&d.name, resources.len());
                resources.push(Resource {
                    kind: d.kind.clone(),
                    name: d.name.clone(),
                    doc: d.doc.clone(),
                    body: d.body.clone(),
                    from_stack: false,
                    stack_head: None,
                    env_head: Some(d.head_span),
                    edges: Vec::new(),
                    unresolved: false,
                })
            }
        }
    }
    // A service and a postgres both of the stack, or both of the environment, were
    // reported with their scope (`lower`); here only a pair across the two.
    if let Some(stack) = stack_decl {
        let own =
            || decl.resources.iter().filter(|d| index.get(d.name.as_str()).is_some_and(|&i| !resources[i].from_stack));
        let across = super::lower::bootstrap_clashes(own(), &stack.resources)
            .into_iter()
            .chain(super::lower::bootstrap_clashes(&stack.resources, own()));
        for (service, postgres) in across {
            sink.push(super::lower::bootstrap_clash(
                &service.name,
                service.head_span,
                &postgres.name,
                postgres.head_span,
            ));
        }
    }
    Environment {
        name: decl.name.clone(),
        name_span: decl.name_span,
        head_span: decl.head_span,
        span: decl.span,
        doc: decl.doc.clone(),
        tier,
        stack,
        mirrors: None,
        body: decl.body.clone(),
        resources,
        reserved,
        listed,
        unresolved: false,
        stack_missing,
    }
}

fn resolve_mirrors(decls: &Declarations, envs: &mut [Environment], sink: &mut Diagnostics) {
    let names: Vec<String> = envs.iter().map(|e| e.name.clone()).collect();
    for (i, env) in envs.iter_mut().enumerate() {
        let Some(field) = env.body.field("mirrors") else { continue };
        let Val::Ref(r) = &field.value else { continue };
        let mut mirrors = None;
        match names.iter().position(|n| *n == r.name && r.attr.is_none()) {
            Some(t) if t == i => sink.push(
                Diagnostic::new(
                    Code::E207,
                    r.span,
                    format!("environment `{}` mirrors itself", r.name),
                    "mirrors its own environment",
                )
                .with_help("`mirrors` names another environment, such as the production one this one rehearses"),
            ),
            Some(t) => mirrors = Some(t),
            None => {
                let others = names.iter().filter(|n| **n != env.name).map(String::as_str).collect();
                sink.extend(unresolved_item(r, "environment", others, decls));
            }
        }
        env.mirrors = mirrors;
    }
    // A cycle of `mirrors`: report it once, at the first environment of the cycle.
    for start in 0..envs.len() {
        let mut seen = vec![start];
        let mut at = envs[start].mirrors;
        while let Some(next) = at {
            if next == start {
                let field = envs[start].body.field("mirrors").expect("a mirrors edge has its field");
                let path: Vec<String> =
                    seen.iter().chain(std::iter::once(&start)).map(|i| format!("`{}`", envs[*i].name)).collect();
                if seen.iter().min() == Some(&start) {
                    sink.push(
                        Diagnostic::new(Code::E207, field.value_span, "`mirrors` forms a cycle", "closes a cycle")
                            .with_note(format!("cycle: {}", path.join(" → ")))
                            .with_help("remove `mirrors` from one of these environments: mirroring goes one way, towards production"),
                    );
                }
                envs[start].mirrors = None;
                break;
            }
            if seen.contains(&next) {
                break;
            }
            seen.push(next);
            at = envs[next].mirrors;
        }
    }
}

/// Where every environment's resources live, for E301: indexed on the first name
/// that does not resolve (a project without that mistake, the usual case, never pays
/// for an index of every name).
pub struct Elsewhere<'e> {
    envs: &'e [Environment],
    by_name: OnceLock<HashMap<&'e str, Vec<(&'e str, Span)>>>,
}

impl<'e> Elsewhere<'e> {
    pub fn new(envs: &'e [Environment]) -> Elsewhere<'e> {
        Elsewhere { envs, by_name: OnceLock::new() }
    }

    /// The first environment other than `env` that declares a resource `name`, and
    /// where.
    pub fn other(&self, name: &str, env: &str) -> Option<(&'e str, Span)> {
        let by_name = self.by_name.get_or_init(|| {
            let mut by_name: HashMap<&str, Vec<(&str, Span)>> = HashMap::new();
            for env in self.envs {
                for r in &env.resources {
                    by_name.entry(&r.name).or_default().push((&env.name, r.head()));
                }
            }
            by_name
        });
        by_name.get(name)?.iter().find(|(e, _)| *e != env).copied()
    }
}

/// What resolving an environment's references gives each of its resources, in order:
/// its edges, and whether some reference failed; and the names it found nowhere, whose
/// E206 waits for its suggestion ([`report_unknown`]).
pub struct Resolved {
    edges: Vec<Vec<Edge>>,
    unresolved: Vec<bool>,
    /// Some reference failed to resolve (E206, E301).
    failed: bool,
    pub unknown: Vec<Unknown>,
}

/// A reference to a name the environment does not declare: its E206, without the
/// suggestion yet.
pub struct Unknown {
    diag: Diagnostic,
    name: String,
    span: Span,
}

/// Resolves every reference of every resource in `env` (E206, E207, E301, E503).
pub fn resolve(env: &mut Environment, schema: &Schema, elsewhere: &Elsewhere, sink: &mut Diagnostics) {
    let mut resolved = references(env, schema, elsewhere, sink);
    report_unknown([(&*env, std::mem::take(&mut resolved.unknown), &mut *sink)]);
    apply(env, resolved);
}

/// Reports each environment's unknown names (E206), each with the nearest name it
/// declares when one is near enough ([`Names::closest`]). Environments that declare the
/// same names in the same order (those of one stack) search them once: a misspelt name
/// in a stack is unknown in every environment using it, and its diagnostics are merged
/// afterwards ([`super::report_once`]); each environment searched them on its own before,
/// the same names in the same trie.
pub fn report_unknown<'e, 's>(each: impl IntoIterator<Item = (&'e Environment, Vec<Unknown>, &'s mut Diagnostics)>) {
    // The environments searched so far, each with its trie (and the trie's memo).
    let mut searched: Vec<(&'e Environment, Names<'e>)> = Vec::new();
    for (env, unknown, sink) in each {
        if unknown.is_empty() {
            continue;
        }
        let same = |other: &Environment| {
            other.resources.len() == env.resources.len()
                && other.resources.iter().zip(&env.resources).all(|(a, b)| a.name == b.name)
        };
        let at = match searched.iter().position(|(other, _)| same(other)) {
            Some(at) => at,
            None => {
                searched.push((env, Names::new(env.resources.iter().map(|r| r.name.as_str()))));
                searched.len() - 1
            }
        };
        let names = &searched[at].1;
        // The searches split over the cores, a name at a time; the reports then read
        // the answers in order.
        let mut distinct: Vec<&str> = unknown.iter().map(|u| u.name.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > 1 {
            crate::par::map(&distinct, |name| names.closest(name));
        }
        for Unknown { diag, name, span } in unknown {
            sink.push(match names.closest(&name) {
                Some(s) => super::suggest::did_you_mean(diag, span, s),
                None => diag.with_help(format!("declare a resource named `{name}` in the stack or the environment")),
            });
        }
    }
}

/// Gives each resource of `env` its edges ([`references`]).
pub fn apply(env: &mut Environment, resolved: Resolved) {
    for ((res, edges), unresolved) in env.resources.iter_mut().zip(resolved.edges).zip(resolved.unresolved) {
        res.edges = edges;
        res.unresolved = unresolved;
    }
    env.unresolved = env.stack_missing || resolved.failed;
}

/// Resolves every reference of every resource in `env`, reading only: [`apply`] gives
/// the resources their edges.
pub fn references(env: &Environment, schema: &Schema, elsewhere: &Elsewhere, sink: &mut Diagnostics) -> Resolved {
    let index: HashMap<&str, usize> = env.resources.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect();
    let networks: Vec<usize> = env.of_kind("network").map(|(i, _)| i).collect();
    let mut all_edges = Vec::with_capacity(env.resources.len());
    let errors_before = sink.len();
    let mut all_unresolved = Vec::with_capacity(env.resources.len());
    // Each resource's edges are gathered here, then moved into a vector of exactly
    // their number: a fleet has hundreds of thousands of resources with a few edges.
    let mut edges = Vec::new();
    // The names found nowhere: their suggestions are searched once the environments
    // that share their names are all resolved (`report_unknown`).
    let unknown = std::cell::RefCell::new(Vec::new());
    for res in &env.resources {
        let failed = std::cell::Cell::new(false);
        let find = |r: &Reference, sink: &mut Diagnostics| -> Option<usize> {
            if let Some(i) = index.get(r.name.as_str()) {
                return Some(*i);
            }
            failed.set(true);
            // A rejected declaration, or a stack that does not exist, may declare it.
            if env.reserved.contains(&r.name) || env.stack_missing {
                return None;
            }
            if let Some((other, span)) = elsewhere.other(&r.name, &env.name) {
                sink.push(
                    Diagnostic::new(
                        Code::E301,
                        r.name_span,
                        format!("`{}` exists only in environment `{other}`", r.name),
                        format!("not in environment `{}`", env.name),
                    )
                    .with_label(span, format!("`{}` lives in environment `{other}`", r.name))
                    .with_note("environments are isolated: a reference always resolves inside its own environment")
                    .with_help(format!(
                        "declare `{}` in environment `{}` (or its stack), or remove the reference",
                        r.name, env.name
                    )),
                );
                return None;
            }
            let d = Diagnostic::new(
                Code::E206,
                r.name_span,
                format!("unknown name `{}`", r.name),
                "not declared in this environment",
            );
            unknown.borrow_mut().push(Unknown { diag: d, name: r.name.clone(), span: r.name_span });
            None
        };
        let attribute = |r: &Reference, target: &Resource, sink: &mut Diagnostics| -> bool {
            let Some((attr, span)) = &r.attr else { return true };
            let kind = schema.kind(&target.kind);
            if kind.is_some_and(|k| k.has_attribute(attr)) {
                return true;
            }
            let names: Vec<&str> =
                kind.map(|k| k.attributes.iter().map(|(n, _)| n.as_str()).collect()).unwrap_or_default();
            let d = Diagnostic::new(
                Code::E206,
                *span,
                format!("{} `{}` has no attribute `{attr}`", target.kind, target.name),
                "unknown attribute",
            );
            sink.push(match closest(attr, names.iter().copied()) {
                Some(s) => super::suggest::did_you_mean(d, *span, s),
                None if names.is_empty() => d.with_help(format!("a {} has no attributes", target.kind)),
                None => d.with_help(format!(
                    "its attributes are {}",
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                )),
            });
            false
        };
        // connects: postgres or service; ingress and secret targets are flows (E403).
        for r in res.body.refs("connects") {
            let Some(t) = find(r, sink) else { continue };
            let target = &env.resources[t];
            if r.attr.is_some() {
                sink.push(
                    Diagnostic::new(
                        Code::E207,
                        r.span,
                        "`connects` takes resource names, not attributes",
                        "attribute reference",
                    )
                    .with_help(format!("write `{}`", r.name)),
                );
                continue;
            }
            if target.kind == "network" {
                sink.push(
                    Diagnostic::new(
                        Code::E207,
                        r.span,
                        format!("`{}` is a network; `connects` takes a postgres or a service", r.name),
                        "a network",
                    )
                    .with_help(
                        "resources live in a network through `network = ...`; `connects` names what a service talks to",
                    ),
                );
                continue;
            }
            edges.push(Edge { kind: EdgeKind::Connects, target: t, attr: None, span: r.span });
        }
        for route in &res.body.routes {
            let Some(t) = find(&route.target, sink) else { continue };
            if env.resources[t].kind == "network" {
                sink.push(
                    Diagnostic::new(
                        Code::E207,
                        route.target.span,
                        format!("`{}` is a network; a route targets a service", route.target.name),
                        "a network",
                    )
                    .with_help("route to a service: `route \"/\" -> api`"),
                );
                continue;
            }
            edges.push(Edge {
                kind: EdgeKind::Route { path: route.path.clone() },
                target: t,
                attr: None,
                span: route.target.span,
            });
        }
        for entry in res.body.env() {
            let EnvVal::Ref(r) = &entry.value else { continue };
            let Some(t) = find(r, sink) else { continue };
            let target = &env.resources[t];
            if r.attr.is_none() && target.kind != "secret" {
                let mut d = Diagnostic::new(
                    Code::E207,
                    r.span,
                    format!("`{}` is a {}; a bare reference in `env` must name a secret", r.name, target.kind),
                    "not a secret",
                );
                let attrs: Vec<String> = schema
                    .kind(&target.kind)
                    .map(|k| k.attributes.iter().map(|(n, _)| format!("`{}.{n}`", r.name)).collect())
                    .unwrap_or_default();
                d = if attrs.is_empty() {
                    d.with_help("reference a secret, or write a string literal")
                } else {
                    d.with_help(format!("reference one of its attributes: {}", attrs.join(", ")))
                };
                sink.push(d);
                continue;
            }
            if !attribute(r, target, sink) {
                continue;
            }
            edges.push(Edge {
                kind: EdgeKind::Env { key: entry.key.clone() },
                target: t,
                attr: r.attr.as_ref().map(|(a, _)| a.clone()),
                span: r.span,
            });
        }
        let has_network_field = schema.kind(&res.kind).is_some_and(|k| k.field("network").is_some());
        match res.body.field("network") {
            Some(field) => {
                if let Val::Ref(r) = &field.value {
                    if let Some(t) = find(r, sink) {
                        let target = &env.resources[t];
                        if target.kind == "network" && r.attr.is_none() {
                            edges.push(Edge { kind: EdgeKind::Network, target: t, attr: None, span: r.span });
                        } else if target.kind == "secret" {
                            sink.push(
                                Diagnostic::new(
                                    Code::E503,
                                    r.span,
                                    format!("secret `{}` is referenced outside `env`", r.name),
                                    "secret used as a network",
                                )
                                .with_help("secrets reach a service only as `env` entries; name a network here"),
                            );
                        } else {
                            sink.push(
                                Diagnostic::new(
                                    Code::E207,
                                    r.span,
                                    format!("`{}` is a {}, not a network", r.name, target.kind),
                                    "expected a network",
                                )
                                .with_help(match networks.first() {
                                    Some(n) => format!("name a network, such as `{}`", env.resources[*n].name),
                                    None => "declare a `network` and name it here".to_string(),
                                }),
                            );
                        }
                    }
                }
            }
            None if has_network_field && networks.len() == 1 => {
                edges.push(Edge { kind: EdgeKind::Network, target: networks[0], attr: None, span: res.head() });
            }
            None => {}
        }
        let mut exact = Vec::with_capacity(edges.len());
        exact.append(&mut edges);
        all_edges.push(exact);
        all_unresolved.push(failed.get());
    }
    let unknown = unknown.into_inner();
    let failed =
        !unknown.is_empty() || sink.iter().skip(errors_before).any(|d| matches!(d.code, Code::E206 | Code::E301));
    Resolved { edges: all_edges, unresolved: all_unresolved, failed, unknown }
}

/// Required fields (E204): LANGUAGE.md section 4, "When a field is required".
pub fn required(env: &Environment, schema: &Schema, caps: Option<CapSet>, sink: &mut Diagnostics) {
    let cloud = env.tier.is_some_and(|t| t != Tier::Local);
    let tier_known = env.tier.is_some();
    let applies = |required: Required, cap: Capability| {
        let authorized = match caps {
            Some(caps) => caps.contains(cap),
            None => cap == Capability::Model,
        };
        authorized
            && match required {
                Required::No => false,
                Required::Always => true,
                Required::Cloud => cloud,
            }
    };
    let env_schema = schema.item("environment").expect("the stdlib declares `item environment`");
    for block in &env_schema.blocks {
        let present = env.body.block(&block.name);
        let cap = block.own_capability();
        match present {
            None if tier_known && applies(block.required.unwrap_or(Required::No), cap) => sink.push(
                Diagnostic::new(
                    Code::E204,
                    env.head_span,
                    format!("environment `{}` has no `{}` block", env.name, block.name),
                    format!("`{}` missing", block.name),
                )
                .with_help(format!("add `{} {{ {} }}`", block.name, example_fields(block))),
            ),
            Some(present) if tier_known => {
                for field in &block.fields {
                    if present.body.field(field.name).is_none() && applies(field.required, field.capability) {
                        sink.push(
                            Diagnostic::new(
                                Code::E204,
                                present.head,
                                format!("`{}` of environment `{}` has no `{}`", block.name, env.name, field.name),
                                format!("`{}` missing", field.name),
                            )
                            .with_help(format!(
                                "add `{} = {}`",
                                field.name,
                                example(&field.ty, field.name)
                            )),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    if env.stack_missing {
        // The stack would declare the resources' missing fields (and maybe a network).
        return;
    }
    let n_networks = env.of_kind("network").count();
    let mut homeless = Vec::new();
    for res in &env.resources {
        if env.reserved.contains(&res.name) {
            continue;
        }
        let Some(kind) = schema.kind(&res.kind) else { continue };
        if caps.is_some_and(|c| !c.contains(kind.own_capability())) {
            continue;
        }
        for field in &kind.fields {
            if field.name == "network" {
                if res.body.field("network").is_none() && n_networks != 1 {
                    homeless.push(res);
                }
                continue;
            }
            if !applies(field.required, field.capability) {
                continue;
            }
            let present = if field.ty == FieldType::Route {
                !res.body.routes.is_empty()
            } else {
                res.body.field(field.name).is_some()
            };
            if present {
                continue;
            }
            let what =
                if field.ty == FieldType::Route { "no `route`".to_string() } else { format!("no `{}`", field.name) };
            let mut d = Diagnostic::new(
                Code::E204,
                res.env_head.unwrap_or(env.head_span),
                format!("{} `{}` in environment `{}` has {what}", res.kind, res.name, env.name),
                format!("`{}` missing", field.name),
            );
            if let (None, Some(stack)) = (res.env_head, res.stack_head) {
                d = d.with_label(stack, "declared in the stack");
            }
            let help = if field.ty == FieldType::Route {
                "add `route \"/\" -> SERVICE`".to_string()
            } else {
                format!("add `{} = {}`", field.name, example(&field.ty, field.name))
            };
            sink.push(d.with_help(help));
        }
    }
    if homeless.is_empty() {
        return;
    }
    if n_networks == 0 {
        let names: Vec<String> = homeless.iter().map(|r| format!("`{}`", r.name)).collect();
        sink.push(
            Diagnostic::new(
                Code::E204,
                env.head_span,
                format!("environment `{}` has no network", env.name),
                "no network",
            )
            .with_note(format!("{} must live in a network", names.join(", ")))
            .with_help("add `network core { }` to the environment or its stack"),
        );
    } else {
        for res in homeless {
            sink.push(
                Diagnostic::new(
                    Code::E204,
                    res.head(),
                    format!("{} `{}` has no `network` and environment `{}` has several", res.kind, res.name, env.name),
                    "which network?",
                )
                .with_help("add `network = NAME`"),
            );
        }
    }
}

fn example_fields(block: &BlockSchema) -> String {
    block
        .fields
        .iter()
        .filter(|f| f.required != Required::No)
        .map(|f| format!("{} = {}", f.name, example(&f.ty, f.name)))
        .collect::<Vec<_>>()
        .join("  ")
}

fn example(ty: &FieldType, name: &str) -> String {
    match (ty, name) {
        (_, "account") => "\"111111111111\"".into(),
        (_, "region") => "\"eu-west-1\"".into(),
        (_, "image") => "\"registry.example.com/app@sha256:...\"".into(),
        (_, "host") => "\"app.example.com\"".into(),
        (_, "class") => "\"db.t4g.medium\"".into(),
        (FieldType::String, _) => "\"...\"".into(),
        (FieldType::Int, "port") => "8080".into(),
        (FieldType::Int, _) => "1".into(),
        (FieldType::Cidr, _) => "10.0.0.0/16".into(),
        (FieldType::Size, _) => "20GiB".into(),
        (FieldType::Duration, _) => "7d".into(),
        (FieldType::Bool, _) => "true".into(),
        _ => "...".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Each resource's edges are a vector of exactly their number (`resolve` gathers
    /// them in one scratch vector): a fleet holds hundreds of thousands of resources
    /// with three or so edges, and a vector grown a push at a time keeps room for four.
    #[test]
    fn a_resource_holds_its_edges_without_spare_room() {
        let mut sources = crate::Sources::with_stdlib();
        for (path, text) in crate::emit::flow_tests::project(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../envs")) {
            sources.add(path, text);
        }
        let (model, sink) = crate::analyze(&sources, &crate::Options::default());
        assert!(!sink.has_errors(), "envs/ compiles");
        let mut edges = 0;
        for env in &model.environments {
            for r in &env.resources {
                assert_eq!(r.edges.capacity(), r.edges.len(), "edges of `{}` in `{}`", r.name, env.name);
                edges += r.edges.len();
            }
        }
        assert!(edges > 20, "envs/ has edges to check ({edges})");
    }

    /// Environments search an unknown name's suggestion once per set of names
    /// (`report_unknown`): two that declare as many resources under other names each
    /// get the nearest of their own.
    #[test]
    fn each_environment_suggests_from_its_own_names() {
        let env = |name: &str, db: &str| {
            format!(
                "environment {name} {{\n  tier = dev\n  aws {{ account = \"111111111111\"  region = \"eu-west-1\" }}\n  \
                 state {{ bucket = \"p-state-{name}\" }}\n  network core {{ cidr = 10.0.0.0/16 }}\n  \
                 postgres {db} {{ class = \"db.t4g.micro\" }}\n  service api {{\n    port = 8080\n    \
                 image = \"registry.example.com/api:1\"\n    connects = [mian]\n  }}\n}}\n"
            )
        };
        let mut sources = crate::Sources::with_stdlib();
        sources.add("project.gov", "project p {\n  phase = \"wire\"\n  environments = [dev, qa, dev2]\n}\n");
        sources.add("envs/dev.gov", env("dev", "main"));
        sources.add("envs/qa.gov", env("qa", "mia"));
        sources.add("envs/dev2.gov", env("dev2", "main"));
        let (_, sink) = crate::analyze(&sources, &crate::Options::default());
        let helps: Vec<(String, Option<String>)> = sink
            .iter()
            .filter(|d| d.code == crate::Code::E206 && d.message == "unknown name `mian`")
            .map(|d| (sources.get(d.span().file).path.clone(), d.help.clone()))
            .collect();
        assert_eq!(
            helps,
            [
                ("envs/dev.gov".to_string(), Some("did you mean `main`?".to_string())),
                ("envs/dev2.gov".to_string(), Some("did you mean `main`?".to_string())),
                ("envs/qa.gov".to_string(), Some("did you mean `mia`?".to_string())),
            ],
            "{:#?}",
            sink.iter().collect::<Vec<_>>()
        );
    }
}
