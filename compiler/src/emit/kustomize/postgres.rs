//! In-cluster PostgreSQL for `tier = local`: a StatefulSet with a volume claim template,
//! a headless Service named like the postgres (so `<pg>.<namespace>.svc.cluster.local`
//! resolves), a ServiceAccount, and an ExternalSecret for the password from the
//! developer's `local` store. Cloud tiers use the RDS instance Terraform creates instead.
//!
//! The official `postgres` image runs under any UID when `PGDATA` is a subdirectory of
//! the volume (initdb creates it) and `/var/run/postgresql` and `/tmp` are writable, so
//! the same non-root, read-only-root security context as the services applies.

use super::object::{self, Object};
use super::service::external_secret_spec;
use super::yaml::{map, Yaml};
use super::{labels, selector, View};
use crate::emit::names;
use crate::ir;

/// Where the password Secret is mounted: a file, not an environment variable, which the
/// image reads through `POSTGRES_PASSWORD_FILE`.
const PASSWORD_DIR: &str = "/run/secrets/postgres";

/// `<pg>-postgres`: the Secret holding `POSTGRES_PASSWORD`, created by the ExternalSecret.
pub fn password_secret(pg: &str) -> String {
    format!("{pg}-postgres")
}

/// The local store key of the password: `<project>/<env>/<pg>/password`.
pub fn password_key(project: &str, env: &str, pg: &str) -> String {
    format!("{project}/{env}/{pg}/password")
}

/// Every object of an in-cluster postgres.
pub fn objects(view: &View, pg: &ir::Postgres) -> Vec<Object> {
    let meta = || vec![("labels", labels(view.project, &pg.name, "database"))];
    let env_name = view.env.map_or("", |e| e.name.as_str());
    let data = vec![map([
        ("secretKey", "POSTGRES_PASSWORD".into()),
        ("remoteRef", map([("key", password_key(view.project, env_name, &pg.name).into())])),
    ])];
    let secret = external_secret_spec(view, &password_secret(&pg.name), data);
    let service = map([
        ("clusterIP", "None".into()),
        ("selector", selector(view.project, &pg.name)),
        (
            "ports",
            Yaml::Seq(vec![map([
                ("name", "postgres".into()),
                ("port", pg.port.into()),
                ("targetPort", "postgres".into()),
                ("protocol", "TCP".into()),
            ])]),
        ),
    ]);
    vec![
        Object::new("v1", "ServiceAccount", &pg.name, meta(), vec![("automountServiceAccountToken", false.into())]),
        Object::new(
            "external-secrets.io/v1",
            "ExternalSecret",
            &password_secret(&pg.name),
            meta(),
            vec![("spec", secret)],
        ),
        Object::new("v1", "Service", &pg.name, meta(), vec![("spec", service)]),
        // Shortened so that its pods' `controller-revision-hash` label fits in 63.
        Object::new(
            "apps/v1",
            "StatefulSet",
            &names::shorten(&pg.name, names::STATEFUL_SET_MAX),
            meta(),
            vec![("spec", stateful_set(view, pg))],
        ),
    ]
}

fn stateful_set(view: &View, pg: &ir::Postgres) -> Yaml {
    let probe = |extra: Vec<(&'static str, Yaml)>| {
        let cmd = Yaml::from(vec!["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]);
        let mut p = vec![("exec".into(), map([("command", cmd)]))];
        p.extend(extra.into_iter().map(|(k, v)| (k.into(), v)));
        Yaml::Map(p)
    };
    let env = Yaml::Seq(vec![
        map([("name", "POSTGRES_DB".into()), ("value", (&pg.database).into())]),
        map([("name", "PGDATA".into()), ("value", "/var/lib/postgresql/data/pgdata".into())]),
        map([("name", "POSTGRES_PASSWORD_FILE".into()), ("value", format!("{PASSWORD_DIR}/POSTGRES_PASSWORD").into())]),
    ]);
    let container = map([
        ("name", "postgres".into()),
        ("image", format!("postgres:{}", pg.version).into()),
        ("imagePullPolicy", "IfNotPresent".into()),
        (
            "ports",
            Yaml::Seq(vec![map([
                ("name", "postgres".into()),
                ("containerPort", pg.port.into()),
                ("protocol", "TCP".into()),
            ])]),
        ),
        ("env", env),
        ("resources", object::resources(500, 512 << 20)),
        ("readinessProbe", probe(vec![("periodSeconds", 10i64.into())])),
        ("livenessProbe", probe(vec![("initialDelaySeconds", 30i64.into()), ("periodSeconds", 20i64.into())])),
        ("securityContext", object::container_security_context()),
        (
            "volumeMounts",
            Yaml::Seq(vec![
                object::mount("data", "/var/lib/postgresql/data"),
                object::mount("run", "/var/run/postgresql"),
                object::mount("tmp", "/tmp"),
                map([("name", "password".into()), ("mountPath", PASSWORD_DIR.into()), ("readOnly", true.into())]),
            ]),
        ),
    ]);
    let pod = map([
        ("serviceAccountName", (&pg.name).into()),
        ("automountServiceAccountToken", false.into()),
        ("securityContext", object::pod_security_context()),
        ("containers", Yaml::Seq(vec![container])),
        ("volumes", Yaml::Seq(vec![object::empty_dir("run"), object::empty_dir("tmp")])),
    ]);
    let claim = map([
        ("metadata", map([("name", "data".into())])),
        (
            "spec",
            map([
                ("accessModes", vec!["ReadWriteOnce"].into()),
                ("resources", map([("requests", map([("storage", format!("{}Gi", pg.storage_gib).into())]))])),
            ]),
        ),
    ]);
    map([
        ("serviceName", (&pg.name).into()),
        ("replicas", 1i64.into()),
        ("selector", map([("matchLabels", selector(view.project, &pg.name))])),
        ("template", map([("metadata", map([("labels", labels(view.project, &pg.name, "database"))])), ("spec", pod)])),
        ("volumeClaimTemplates", Yaml::Seq(vec![claim])),
    ])
}
