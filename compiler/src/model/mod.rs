//! The model: the AST lowered against the stdlib schemas, merged per environment
//! and resolved (E1xx-E2xx, E701).
//!
//! `lower` types every declaration once; `phases` validates the ladder and what the
//! phase authorizes; `env` merges stacks into environments, resolves references
//! inside each environment and checks required fields. `to_ir` builds the emitters'
//! input from a model without errors.

pub mod body;
pub mod env;
pub mod formats;
pub mod image;
pub mod lower;
pub mod phases;
pub mod schema;
pub mod suggest;
mod to_ir;
pub mod values;

use std::borrow::Borrow;
use std::collections::BTreeMap;

pub use env::{Edge, EdgeKind, Environment, Resource};
pub use to_ir::{bucket_account, to_ir};

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{Origin, Sources, Span};
use crate::syntax::ast;
use lower::{Project, StackDecl};
use phases::Ladder;
use schema::{CapSet, Schema};

/// Everything the checks and `to_ir` read.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub schema: Schema,
    pub project: Option<Project>,
    pub ladder: Ladder,
    /// What the phase in force authorizes; `None` while the phase is unknown or the
    /// ladder invalid (E703).
    pub authorized: Option<CapSet>,
    pub stacks: Vec<StackDecl>,
    pub environments: Vec<Environment>,
}

impl Model {
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The span of the project's `phase` value.
    pub fn phase_span(&self) -> Option<Span> {
        self.project.as_ref()?.phase.as_ref().map(|(_, s)| *s)
    }
}

/// Builds the model from every parsed file (stdlib files included).
///
/// The trees may be owned or shared (`Arc`): an editor keeps the trees of the
/// files an edit did not touch.
pub fn build(sources: &Sources, files: &[impl Borrow<ast::File>], sink: &mut Diagnostics) -> Model {
    let declared = declare(sources, files, sink);
    build_declared(sources, declared, sink)
}

/// What [`declare`] reads of the trees: the schemas and every declaration, typed.
pub struct Declared {
    schema: Schema,
    decls: lower::Declarations,
}

/// The first step of [`build`], the only one that reads the trees: the stdlib's
/// schemas, and every declaration lowered against them.
pub fn declare(sources: &Sources, files: &[impl Borrow<ast::File>], sink: &mut Diagnostics) -> Declared {
    let stdlib: Vec<&ast::File> =
        files.iter().map(Borrow::borrow).filter(|f| sources.get(f.file).origin == Origin::Stdlib).collect();
    let schema = Schema::load(&stdlib, sink);
    let decls = lower::lower(sources, files, &schema, sink);
    Declared { schema, decls }
}

/// The rest of [`build`]: phases, merge, resolution, from the declarations alone.
pub fn build_declared(sources: &Sources, declared: Declared, sink: &mut Diagnostics) -> Model {
    let Declared { schema, mut decls } = declared;
    let ladder = phases::ladder(&decls, sink);
    let authorized = phases::authorized(&ladder, &decls, sink);
    project_file_problems(sources, &decls, sink);
    if let (Some(caps), Some(project)) = (authorized, &decls.project) {
        let (phase, phase_span) = project.phase.clone().expect("an authorized phase is named");
        let auth = phases::Authorization { ladder: &ladder, caps, phase: &phase, phase_span };
        // Each stack and environment side by side, each into its own sink, reported in order.
        let stacks = crate::par::map(&decls.stacks, |stack| {
            let mut local = Diagnostics::new();
            for d in &stack.resources {
                auth.declaration(&d.kind, &d.name, d.capability, d.head_span, &d.body, &mut local);
            }
            local
        });
        let environments = crate::par::map(&decls.environments, |env| {
            let mut local = Diagnostics::new();
            auth.body(&env.body, &mut local);
            for d in &env.resources {
                auth.declaration(&d.kind, &d.name, d.capability, d.head_span, &d.body, &mut local);
            }
            local
        });
        for local in stacks.into_iter().chain(environments) {
            sink.extend(local.into_reported());
        }
    }
    let mut environments = env::merge(&decls, &schema, sink);
    // The environments' declarations are merged: freed beside the resolution rather
    // than after it (a fleet's are a hundred thousand resources).
    let merged = std::mem::take(&mut decls.environments);
    // References resolve reading every environment (E301 names the one that declares
    // what this one lacks), then each environment takes its edges.
    let elsewhere = env::Elsewhere::new(&environments);
    let (resolved, ()) = crate::par::join(
        || {
            crate::par::map(&environments, |env| {
                let mut local = Diagnostics::new();
                let resolved = env::references(env, &schema, &elsewhere, &mut local);
                env::required(env, &schema, authorized, &mut local);
                (resolved, local)
            })
        },
        || drop(merged),
    );
    let mut resolved = resolved;
    env::report_unknown(
        environments.iter().zip(&mut resolved).map(|(env, (r, local))| (env, std::mem::take(&mut r.unknown), local)),
    );
    let mut per_env = Vec::with_capacity(environments.len());
    for (env, (resolved, local)) in environments.iter_mut().zip(resolved) {
        env::apply(env, resolved);
        per_env.push((env.name.clone(), env.span, local));
    }
    report_once(per_env, sink);
    Model { schema, project: decls.project, ladder, authorized, stacks: decls.stacks, environments }
}

/// Diagnostics about a stack's text are found once per environment using the stack;
/// report each once, naming the environments in a note.
pub(crate) fn report_once(per_env: Vec<(String, Span, Diagnostics)>, sink: &mut Diagnostics) {
    let mut groups: BTreeMap<(Span, Code, String), (Diagnostic, Vec<String>)> = BTreeMap::new();
    let mut order = Vec::new();
    for (env, env_span, diags) in per_env {
        for d in diags.into_sorted() {
            let span = d.span();
            let in_env = span.file == env_span.file && span.start >= env_span.start && span.end <= env_span.end;
            if in_env {
                sink.push(d);
                continue;
            }
            let key = (span, d.code, d.message.clone());
            match groups.get_mut(&key) {
                Some((_, envs)) => envs.push(env.clone()),
                None => {
                    order.push(key.clone());
                    groups.insert(key, (d, vec![env.clone()]));
                }
            }
        }
    }
    for key in order {
        let (d, envs) = groups.remove(&key).expect("every key was inserted");
        let names: Vec<String> = envs.iter().map(|e| format!("`{e}`")).collect();
        let noun = if names.len() == 1 { "environment" } else { "environments" };
        sink.push(d.with_note(format!("in {noun} {}", names.join(", "))));
    }
}

/// E210: the project item, and environments listed but not defined or defined but
/// not listed.
fn project_file_problems(sources: &Sources, decls: &lower::Declarations, sink: &mut Diagnostics) {
    let Some(project) = &decls.project else {
        let file = sources.iter().find(|(_, f)| {
            f.origin == Origin::Project && (f.path == "project.gov" || f.path.ends_with("/project.gov"))
        });
        let d = match file {
            Some((id, _)) => Diagnostic::new(
                Code::E210,
                Span::new(id, 0, 0),
                "`project.gov` declares no `project`",
                "no `project` item",
            ),
            None => Diagnostic::global(Code::E210, "no `project.gov`: this is not a govc project"),
        };
        sink.push(d.with_help("write `project NAME { phase = \"concept\"  environments = [...] }` in `project.gov`"));
        return;
    };
    let Some((listed, _)) = &project.environments else { return };
    for r in listed {
        if decls.environments.iter().any(|e| e.name == r.name) || decls.reserved_items.contains(&r.name) {
            continue;
        }
        let names: Vec<&str> = decls.environments.iter().map(|e| e.name.as_str()).collect();
        let d = Diagnostic::new(
            Code::E210,
            r.span,
            format!("environment `{}` is listed but not defined", r.name),
            "no such environment",
        );
        sink.push(match suggest::closest(&r.name, names.iter().copied()) {
            Some(s) => suggest::did_you_mean(d, r.span, s),
            None => d.with_help(format!("define `environment {} {{ tier = ... }}` or remove it from the list", r.name)),
        });
    }
    for env in &decls.environments {
        if !listed.iter().any(|r| r.name == env.name) {
            sink.push(
                Diagnostic::new(
                    Code::E210,
                    env.head_span,
                    format!("environment `{}` is not listed in `environments`", env.name),
                    "not in the promotion order",
                )
                .with_label(
                    project.environments.as_ref().map(|(_, s)| *s).unwrap_or(project.head_span),
                    "the promotion order",
                )
                .with_help(format!("add `{}` to `environments` in `project.gov`", env.name)),
            );
        }
    }
}
