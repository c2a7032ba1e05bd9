//! Persistence (E601, W601, W602): production databases are protected, backed up and
//! replicated; a database nothing connects to is a warning, and so is a password secret
//! handed to a service for a database it connects to (services log in as their own user,
//! `<postgres>.user`, without a password).

use foldhash::HashSet;

use super::authorized;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Tier;
use crate::model::schema::Capability;
use crate::model::values::{EnvVal, Val};
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
        for (_, svc) in env.of_kind("service") {
            database_password(env, svc, &mut local);
        }
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

/// Words of an `env` key that name a password.
const PASSWORD_WORDS: &[&str] = &["password", "passwd", "pass", "pwd", "pw", "passphrase"];

/// Words of an `env` key that name a database.
const DATABASE_WORDS: &[&str] = &["database", "db", "pg", "postgres", "postgresql", "sql"];

/// The lowercase words of a key, split on non-alphanumerics and lower-to-upper changes.
fn words(key: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            out.push(String::new());
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            out.push(String::new());
        }
        prev_lower = c.is_ascii_lowercase();
        out.last_mut().expect("never empty").push(c.to_ascii_lowercase());
    }
    out.retain(|w| !w.is_empty());
    out
}

/// Whether `key` names the password of a database: a key that says secret (not a
/// setting such as `DB_PASSWORD_MIN_LENGTH`) with a password word and a database word (or
/// the name of a database the service connects to), or one word joining the two
/// (`PGPASSWORD`, `DBPASS`).
fn names_database_password(key: &str, databases: &[String]) -> bool {
    if !super::secrets::keys::secret_named(key) {
        return false;
    }
    let words = words(key);
    let dbs: Vec<&str> = DATABASE_WORDS.iter().copied().chain(databases.iter().map(String::as_str)).collect();
    let password = words.iter().any(|w| PASSWORD_WORDS.contains(&w.as_str()));
    let database = words.iter().any(|w| dbs.contains(&w.as_str()));
    let joined =
        words.iter().any(|w| dbs.iter().any(|d| w.strip_prefix(d).is_some_and(|rest| PASSWORD_WORDS.contains(&rest))));
    (password && database) || joined
}

/// W602: a service that connects to a postgres and binds a secret to an `env` key that
/// names a database password. Its database logs it in without a password: with an IAM
/// authentication token in the cloud, by its own pods in a local cluster.
fn database_password(env: &Environment, svc: &Resource, sink: &mut Diagnostics) {
    let databases: Vec<String> = svc
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Connects)
        .map(|e| &env.resources[e.target])
        .filter(|r| r.kind == "postgres")
        .map(|r| r.name.to_ascii_lowercase().replace('-', "_"))
        .collect();
    let Some(first) = databases.first() else { return };
    let parts: Vec<String> = databases.iter().flat_map(|d| d.split('_').map(str::to_string)).collect();
    for entry in svc.body.env() {
        let EnvVal::Ref(r) = &entry.value else { continue };
        if r.attr.is_some() || !names_database_password(&entry.key, &parts) {
            continue;
        }
        let user_key = entry.key.to_ascii_uppercase().replace("PASSWORD", "USER").replace("PASSWD", "USER");
        sink.push(
            Diagnostic::new(
                Code::W602,
                entry.span,
                format!(
                    "service `{}` gets a database password `{}`, but its database logs it in without one",
                    svc.name, entry.key
                ),
                "a password no database checks",
            )
            .with_help(format!(
                "remove `{} = {}` and bind `{user_key} = {first}.user`: the service connects as that user with an IAM authentication token (cloud) or from its own pods (local)",
                entry.key, r.name
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::names_database_password;

    #[test]
    fn database_password_keys() {
        let dbs = ["main".to_string(), "orders".to_string()];
        for key in [
            "DATABASE_PASSWORD",
            "DB_PASS",
            "PGPASSWORD",
            "dbPassword",
            "ORDERS_PASSWORD",
            "POSTGRES_PASSWORD",
            "MAIN_DB_PWD",
        ] {
            assert!(names_database_password(key, &dbs), "{key}");
        }
        for key in ["STRIPE_API_KEY", "PASSWORD", "DATABASE_USER", "DB_HOST", "SMTP_PASSWORD", "DB_PASSWORD_MIN_LENGTH"]
        {
            assert!(!names_database_password(key, &dbs), "{key}");
        }
    }
}
