//! Environment isolation (E302–E305): no two environments share a state bucket,
//! a production AWS account, a secret path or an ingress host. (E301 is found during
//! resolution, E306 while lowering; [`literals`] finds E301 written as text.)

mod literals;

pub use literals::literal_references;

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Tier;
use crate::model::{Environment, Model};
use crate::source::Span;

/// A value written in some environments, with where.
struct Uses<'a> {
    by_value: BTreeMap<String, Vec<(&'a Environment, Span)>>,
}

impl<'a> Uses<'a> {
    fn new() -> Uses<'a> {
        Uses { by_value: BTreeMap::new() }
    }

    fn add(&mut self, value: &str, env: &'a Environment, span: Span) {
        self.by_value.entry(value.to_string()).or_default().push((env, span));
    }

    /// Every value used by two or more environments: `(value, uses)`.
    fn shared(&self) -> impl Iterator<Item = (&String, &Vec<(&'a Environment, Span)>)> {
        self.by_value.iter().filter(|(_, uses)| {
            let mut names: Vec<&str> = uses.iter().map(|(e, _)| e.name.as_str()).collect();
            names.dedup();
            names.len() > 1
        })
    }
}

/// One diagnostic per shared value: at the second place it is written (or the
/// stack's one place, naming the environments).
fn report(code: Code, what: &str, value: &str, uses: &[(&Environment, Span)], help: &str, sink: &mut Diagnostics) {
    let names: Vec<String> = uses.iter().map(|(e, _)| format!("`{}`", e.name)).collect();
    let first = uses[0].1;
    let other = uses.iter().find(|(_, s)| *s != first).map(|(_, s)| *s);
    let message = format!("{what} `{value}` is shared by environments {}", names.join(", "));
    let d = match other {
        Some(second) => Diagnostic::new(code, second, message, format!("used by `{}` here", env_of(uses, second)))
            .with_label(first, format!("and by `{}` here", uses[0].0.name)),
        None => Diagnostic::new(code, first, message, "written once for every environment using the stack")
            .with_note("the stack gives every environment the same value"),
    };
    sink.push(d.with_help(help.to_string()));
}

fn env_of<'a>(uses: &'a [(&Environment, Span)], span: Span) -> &'a str {
    uses.iter().find(|(_, s)| *s == span).map(|(e, _)| e.name.as_str()).unwrap_or_default()
}

fn block_str<'a>(env: &'a Environment, block: &str, field: &str) -> Option<(&'a str, Span)> {
    let f = env.body.block(block)?.body.field(field)?;
    match &f.value {
        crate::model::values::Val::Str(s) => Some((s, f.value_span)),
        _ => None,
    }
}

/// E302: two environments share a state bucket (whatever their keys). Seed 000 asks
/// for an isolated state backend per environment: a shared bucket is one policy, one
/// encryption key and one set of readers for all of them. The state is locked by a
/// lock file beside it in the bucket (`use_lockfile`), so an own bucket is also an
/// own lock.
pub fn state_shared(model: &Model, sink: &mut Diagnostics) {
    let mut buckets = Uses::new();
    for env in &model.environments {
        if let Some((bucket, span)) = block_str(env, "state", "bucket") {
            buckets.add(bucket, env, span);
        }
    }
    for (value, uses) in buckets.shared() {
        report(
            Code::E302,
            "state bucket",
            value,
            uses,
            "give each environment its own state `bucket`: a shared bucket shares its policy and its readers, whatever the keys",
            sink,
        );
    }
}

/// E303: a production-tier environment shares its AWS account with another environment.
pub fn production_account_shared(model: &Model, sink: &mut Diagnostics) {
    let mut accounts = Uses::new();
    for env in &model.environments {
        if let Some((account, span)) = block_str(env, "aws", "account") {
            accounts.add(account, env, span);
        }
    }
    for (account, uses) in &accounts.by_value {
        for (prod, span) in uses.iter().filter(|(e, _)| e.tier == Some(Tier::Production)) {
            let Some((other, other_span)) = uses.iter().find(|(e, _)| e.name != prod.name) else { continue };
            sink.push(
                Diagnostic::new(
                    Code::E303,
                    *span,
                    format!(
                        "production environment `{}` shares AWS account `{account}` with `{}`",
                        prod.name, other.name
                    ),
                    "production account",
                )
                .with_label(*other_span, format!("also the account of `{}`", other.name))
                .with_note("an account is a blast-radius boundary: production must have one of its own")
                .with_help(format!("give environment `{}` an AWS account that no other environment uses", prod.name)),
            );
        }
    }
}

/// E304: two environments use the same secret `path`.
pub fn secret_path_shared(model: &Model, sink: &mut Diagnostics) {
    let mut paths = Uses::new();
    for env in &model.environments {
        for (_, res) in env.of_kind("secret") {
            if let Some(f) = res.body.field("path") {
                if let crate::model::values::Val::Str(path) = &f.value {
                    paths.add(path, env, f.value_span);
                }
            }
        }
    }
    for (value, uses) in paths.shared() {
        report(
            Code::E304,
            "secret path",
            value,
            uses,
            "give each environment its own secret path, e.g. `app/<env>/db-password`, set in the environment",
            sink,
        );
    }
}

/// E305: two environments serve the same ingress `host`.
pub fn host_shared(model: &Model, sink: &mut Diagnostics) {
    let mut hosts = Uses::new();
    for env in &model.environments {
        for (_, res) in env.of_kind("ingress") {
            if let Some(f) = res.body.field("host") {
                if let crate::model::values::Val::Str(host) = &f.value {
                    hosts.add(&host.to_ascii_lowercase(), env, f.value_span);
                }
            }
        }
    }
    for (value, uses) in hosts.shared() {
        report(
            Code::E305,
            "ingress host",
            value,
            uses,
            "give each environment its own host name, set in the environment",
            sink,
        );
    }
}
