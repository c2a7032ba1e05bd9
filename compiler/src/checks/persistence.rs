//! Persistence (E601, W601): production databases are protected, backed up and
//! replicated; a database nothing connects to is a warning.

use std::collections::HashSet;

use super::authorized;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Tier;
use crate::model::schema::Capability;
use crate::model::values::Val;
use crate::model::{report_once, EdgeKind, Environment, Model, Resource};

pub fn run(model: &Model, sink: &mut Diagnostics) {
    let replication = authorized(model, Capability::Replication);
    let mut per_env = Vec::new();
    for env in &model.environments {
        let mut local = Diagnostics::new();
        // Which resources some service connects to: one pass over the edges, not one per database.
        let connected: HashSet<usize> = env
            .resources
            .iter()
            .flat_map(|r| &r.edges)
            .filter(|e| e.kind == EdgeKind::Connects)
            .map(|e| e.target)
            .collect();
        for (i, db) in env.of_kind("postgres") {
            if env.tier == Some(Tier::Production) {
                production_safety(env, db, replication, &mut local);
            }
            if !env.unresolved {
                unused_database(connected.contains(&i), db, &mut local);
            }
        }
        per_env.push((env.name.clone(), env.span, local));
    }
    report_once(per_env, sink);
}

/// E601: a production postgres without deletion protection, with short backups, or
/// (once `replication` is authorized) without Multi-AZ.
fn production_safety(env: &Environment, db: &Resource, replication: bool, sink: &mut Diagnostics) {
    let field_span = |name: &str| db.body.field(name).map_or(db.head(), |f| f.value_span);
    let mut problem = |name: &str, what: String, fix: &str| {
        sink.push(
            Diagnostic::new(
                Code::E601,
                field_span(name),
                format!("production postgres `{}` in `{}` {what}", db.name, env.name),
                format!("`{name}`"),
            )
            .with_help(format!("set `{fix}` in environment `{}`", env.name)),
        );
    };
    match db.body.value("deletion_protection") {
        Some(Val::Bool(true)) | Some(Val::Invalid) => {}
        _ => problem("deletion_protection", "has no deletion protection".into(), "deletion_protection = true"),
    }
    match db.body.value("backup_retention") {
        Some(Val::Seconds(s)) if *s < 7 * 86_400 => {
            problem("backup_retention", format!("keeps backups for only {} days", s / 86_400), "backup_retention = 7d")
        }
        _ => {}
    }
    if replication {
        match db.body.value("multi_az") {
            Some(Val::Bool(true)) | Some(Val::Invalid) => {}
            _ => problem("multi_az", "is not Multi-AZ".into(), "multi_az = true"),
        }
    }
}

/// W601: a postgres that no service connects to.
fn unused_database(used: bool, db: &Resource, sink: &mut Diagnostics) {
    if !used {
        sink.push(
            Diagnostic::new(
                Code::W601,
                db.head(),
                format!("no service connects to postgres `{}`", db.name),
                "unused database",
            )
            .with_help(format!("add `connects = [{}]` to the service that uses it, or remove it", db.name)),
        );
    }
}
