//! Graph and parity (E801–E803, W801, W802): mirrored environments have the same
//! topology, environment-only resources are visible, promotion goes towards
//! production, and every secret is used.

use std::collections::BTreeSet;

use foldhash::HashSet;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Tier;
use crate::model::{report_once, EdgeKind, Environment, Model};

pub fn run(model: &Model, sink: &mut Diagnostics) {
    let mut per_env = Vec::new();
    for env in &model.environments {
        let mut local = Diagnostics::new();
        environment_only(env, &mut local);
        if !env.unresolved && super::authorized(model, crate::model::schema::Capability::Secrets) {
            unused_secrets(env, &mut local);
        }
        per_env.push((env.name.clone(), env.span, local));
    }
    report_once(per_env, sink);
    for env in &model.environments {
        if let Some(target) = env.mirrors {
            topology_differs(env, &model.environments[target], sink);
        }
    }
    promotion_order(model, sink);
}

/// A topology element: a resource or an edge between two resources.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Element {
    Resource { kind: String, name: String },
    Edge { from: String, label: String, to: String },
}

impl Element {
    fn describe(&self) -> String {
        match self {
            Element::Resource { kind, name } => format!("{kind} `{name}`"),
            Element::Edge { from, label, to } => format!("`{from}` —{label}→ `{to}`"),
        }
    }
}

/// The label an edge carries in topologies and graphs.
pub fn edge_label(kind: &EdgeKind, attr: Option<&str>) -> String {
    match kind {
        EdgeKind::Connects => "connects".to_string(),
        EdgeKind::Route { path } => format!("route {path}"),
        EdgeKind::Env { key } => match attr {
            Some(attr) => format!("env {key} (.{attr})"),
            None => format!("env {key}"),
        },
        EdgeKind::Network => "network".to_string(),
    }
}

/// The topology of an environment (CHECKS.md E801): resources by (kind, name) and
/// the edges `connects`, `route`, `env` references and `network`. With
/// `skip_env_only`, resources only this environment declares are left out (E802
/// reports them instead).
pub fn topology(env: &Environment, skip_env_only: bool) -> BTreeSet<Element> {
    let skip = |i: usize| skip_env_only && env.stack.is_some() && !env.resources[i].from_stack;
    let mut out = BTreeSet::new();
    for (i, res) in env.resources.iter().enumerate() {
        if skip(i) {
            continue;
        }
        out.insert(Element::Resource { kind: res.kind.clone(), name: res.name.clone() });
        for edge in res.edges.iter().filter(|e| !skip(e.target)) {
            out.insert(Element::Edge {
                from: res.name.clone(),
                label: edge_label(&edge.kind, edge.attr.as_deref()),
                to: env.resources[edge.target].name.clone(),
            });
        }
    }
    out
}

/// E801: `mirrors = X` but the topology differs from X's.
fn topology_differs(env: &Environment, target: &Environment, sink: &mut Diagnostics) {
    if env.stack_missing || target.stack_missing {
        return;
    }
    // A resource whose reference failed (already reported) has incomplete edges in
    // that environment: compare its edges in neither.
    let incomplete: BTreeSet<&str> =
        env.resources.iter().chain(&target.resources).filter(|r| r.unresolved).map(|r| r.name.as_str()).collect();
    let complete = |e: &Element| !matches!(e, Element::Edge { from, .. } if incomplete.contains(from.as_str()));
    let mine: BTreeSet<Element> = topology(env, true).into_iter().filter(complete).collect();
    let theirs: BTreeSet<Element> = topology(target, false).into_iter().filter(complete).collect();
    let missing: Vec<&Element> = theirs.difference(&mine).collect();
    let extra: Vec<&Element> = mine.difference(&theirs).collect();
    if missing.is_empty() && extra.is_empty() {
        return;
    }
    let span = env.body.field("mirrors").map_or(env.head_span, |f| f.value_span);
    let mut d = Diagnostic::new(
        Code::E801,
        span,
        format!("environment `{}` mirrors `{}` but its topology differs", env.name, target.name),
        format!("{} missing, {} extra", missing.len(), extra.len()),
    )
    .with_label(target.head_span, format!("the topology of `{}`", target.name));
    const MAX: usize = 20;
    let lines: Vec<String> = missing
        .iter()
        .map(|e| format!("missing in `{}`: {}", env.name, e.describe()))
        .chain(extra.iter().map(|e| format!("extra in `{}`: {}", env.name, e.describe())))
        .collect();
    for line in lines.iter().take(MAX) {
        d = d.with_note(line.clone());
    }
    if lines.len() > MAX {
        d = d.with_note(format!("and {} more differences", lines.len() - MAX));
    }
    sink.push(d.with_help(format!(
        "declare the same resources and edges in both (through their stack); only sizes, counts, images, hosts and literal values may differ between `{}` and `{}`",
        env.name, target.name
    )));
}

/// E802 and W801: resources that only this environment declares.
fn environment_only(env: &Environment, sink: &mut Diagnostics) {
    if env.stack.is_none() {
        return;
    }
    for res in env.resources.iter().filter(|r| !r.from_stack && !env.reserved.contains(&r.name)) {
        if env.mirrors.is_some() {
            sink.push(
                Diagnostic::new(
                    Code::E802,
                    res.head(),
                    format!(
                        "{} `{}` exists only in environment `{}`, which mirrors another",
                        res.kind, res.name, env.name
                    ),
                    "environment-only resource",
                )
                .with_note("a mirror rehearses the other environment: it may not add resources of its own")
                .with_help(format!("declare `{}` in the stack, or remove it", res.name)),
            );
        } else if env.tier.is_some_and(|t| t != Tier::Local) {
            sink.push(
                Diagnostic::new(
                    Code::W801,
                    res.head(),
                    format!("{} `{}` exists only in environment `{}`", res.kind, res.name, env.name),
                    "not in the stack",
                )
                .with_note("environment-only resources make environments drift apart")
                .with_help(format!("declare `{}` in the stack if every environment needs it", res.name)),
            );
        }
    }
}

/// W802: a secret that nothing references.
fn unused_secrets(env: &Environment, sink: &mut Diagnostics) {
    // Every referenced resource, in one pass over the edges (not one per secret).
    let referenced: HashSet<usize> = env.resources.iter().flat_map(|r| &r.edges).map(|e| e.target).collect();
    for (i, secret) in env.of_kind("secret") {
        if !referenced.contains(&i) {
            sink.push(
                Diagnostic::new(
                    Code::W802,
                    secret.head(),
                    format!("nothing references secret `{}`", secret.name),
                    "unused secret",
                )
                .with_help(format!("reference it from a service's `env` (`NAME = {}`), or remove it", secret.name)),
            );
        }
    }
}

/// E803: a production-tier environment before a non-production one in the promotion order.
fn promotion_order(model: &Model, sink: &mut Diagnostics) {
    let Some((listed, _)) = model.project.as_ref().and_then(|p| p.environments.as_ref()) else { return };
    let tier = |name: &str| model.environment(name).and_then(|e| e.tier);
    for (i, r) in listed.iter().enumerate() {
        if tier(&r.name) != Some(Tier::Production) {
            continue;
        }
        let Some(later) = listed[i + 1..].iter().find(|l| tier(&l.name).is_some_and(|t| t != Tier::Production)) else {
            continue;
        };
        sink.push(
            Diagnostic::new(
                Code::E803,
                r.span,
                format!("production environment `{}` comes before `{}` in the promotion order", r.name, later.name),
                "promoted too early",
            )
            .with_label(later.span, "a non-production environment after it")
            .with_note("changes are promoted in the order of `environments`: production comes last")
            .with_help(format!("move `{}` after `{}`", r.name, later.name)),
        );
    }
}
