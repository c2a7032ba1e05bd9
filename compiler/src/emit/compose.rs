//! Local parity: a Docker Compose file per `tier = local` environment, so that
//! `docker compose up` starts the same system the local Kubernetes overlay describes.
//!
//! Paths: `compose/docker-compose.yml` when the program has one local environment,
//! `compose/<env>/docker-compose.yml` for each when it has several (as
//! `kubernetes/base/` becomes `kubernetes/base/<stack>/` with several stacks), and
//! `compose/.gitignore`, which keeps the developer's `secrets/` out of git.
//!
//! What a file holds, built from the environment's view like the overlay:
//! - per postgres: the image of the local StatefulSet (`postgres:<version>`), the same
//!   init script (one `LOGIN` role per connecting service, `trust` for exactly that
//!   database and user, no password but the superuser's), the superuser password read
//!   from a file (`POSTGRES_PASSWORD_FILE`, a Compose secret), a named volume, a
//!   `pg_isready` health check; it is alone on an `internal` network with the services
//!   that connect to it (what its NetworkPolicy admits);
//! - per service: its image, exactly the environment variables of its Deployment, with
//!   attribute references resolved to Compose host names (`main.host` → `main`,
//!   `api.url` → `http://api:8080`); its secret variables from `secrets/<service>.env`,
//!   never a value; `depends_on` its databases (`service_healthy`); its port published
//!   on `127.0.0.1` when the ingress routes to it; the pod's security context (non-root
//!   UID, read-only root with a `/tmp` tmpfs, no capabilities, no privilege escalation)
//!   and its CPU and memory limits. Services get no health check: images need not ship
//!   a client (`curl`, `grpc_health_probe`) to run one, and Compose cannot probe from
//!   outside the container as the kubelet does.
//!
//! - with a bucket: the local object store as the overlay runs it ([`storage`]): MinIO
//!   ([`STORE`], the same image, its root credentials from the files
//!   `secrets/minio-root-user` and `secrets/minio-root-password`), a one-shot
//!   `<STORE>-buckets` that runs the bucket Job's script (each bucket with versioning,
//!   Object Lock and its default retention), both alone on an internal network with the
//!   services that connect to a bucket; those get the overlay's `AWS_ENDPOINT_URL_S3`
//!   and `AWS_REGION`, the credentials from `secrets/minio.env`, and start once the
//!   buckets exist.
//!
//! - with `telemetry`: the OpenTelemetry Collector as the overlay runs it (the same
//!   image and configuration, [`telemetry::config`]) on the runtime network, and every
//!   service with the overlay's `OTEL_*` variables, the endpoint being the Compose host
//!   `otel-collector`.
//!
//! Every string Compose would interpolate (`$`) is escaped (`$$`). The writer is the
//! Kustomize one ([`super::kustomize::yaml`]).
//!
//! Adding a kind is one function beside [`postgres`] and [`service`]: it pushes its
//! Compose service (and volumes, secrets, configs) into [`File`], and [`host_of`]
//! resolves its attributes; an object store or a telemetry collector each fits there.

use super::kustomize::postgres::init_script;
use super::kustomize::yaml::{self, map, map_of, Key, Yaml};
use super::kustomize::View;
use super::kustomize::{storage, telemetry};
use crate::emit::versions;
use crate::ir::{self, EnvValue};

/// The directory of the Compose files, under the output directory.
pub const DIR: &str = "compose";

/// The UID and GID the services run as (the pods' `runAsUser`).
const RUN_AS: i64 = super::kustomize::object::RUN_AS;

/// The path of the Compose file of `env`, given the number of local environments.
pub fn file_path(env: &str, local_envs: usize) -> String {
    if local_envs > 1 {
        format!("{DIR}/{env}/docker-compose.yml")
    } else {
        format!("{DIR}/docker-compose.yml")
    }
}

/// True for a file the developer puts beside a Compose file (`compose/secrets/*`,
/// `compose/<env>/secrets/*`): govc never reads, writes or reports them.
pub fn is_developer_secret(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("compose/") else { return false };
    rest.starts_with("secrets/") || rest.split_once('/').is_some_and(|(_, r)| r.starts_with("secrets/"))
}

/// `secrets/<service>.env`: the variables of a service that come from the secret store.
pub fn service_env_file(svc: &str) -> String {
    format!("secrets/{svc}.env")
}

/// The local object store's Compose service (the overlay's name for it).
pub const STORE: &str = storage::NAME;

/// `secrets/minio.env`: the object store's credentials, for the services that connect
/// to a bucket (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
pub const STORE_ENV_FILE: &str = "secrets/minio.env";

/// `secrets/<postgres>-password`: the superuser password of a postgres.
pub fn password_file(pg: &str) -> String {
    format!("secrets/{pg}-password")
}

/// Renders the Compose files of every local environment (none without one).
pub fn emit(program: &ir::Program) -> Result<Vec<(String, String)>, String> {
    let locals: Vec<&ir::Environment> = program.environments.iter().filter(|e| e.tier == ir::Tier::Local).collect();
    let mut files = Vec::new();
    for env in &locals {
        let view = View::new(&program.project, Some(env), &env.resources);
        let path = file_path(&env.name, locals.len());
        files.push((path.clone(), render(&view, env, &path)?));
    }
    if !files.is_empty() {
        files.push((
            format!("{DIR}/.gitignore"),
            "# written by govc build: the developer's secret files beside each Compose file stay out of git\nsecrets/\n"
                .to_string(),
        ));
    }
    Ok(files)
}

/// The top-level sections of a Compose file, in the order written.
#[derive(Default)]
struct File {
    services: Vec<(Key, Yaml)>,
    networks: Vec<(Key, Yaml)>,
    volumes: Vec<(Key, Yaml)>,
    secrets: Vec<(Key, Yaml)>,
    configs: Vec<(Key, Yaml)>,
    /// The header's lines naming the files the developer provides.
    provided: Vec<String>,
}

/// The network every service joins.
const RUNTIME: &str = "runtime";

/// `persistence-<postgres>`: the internal network of a database and its connectors.
fn persistence(pg: &str) -> String {
    format!("persistence-{pg}")
}

fn render(view: &View, env: &ir::Environment, path: &str) -> Result<String, String> {
    let mut file = File::default();
    file.networks.push((RUNTIME.into(), Yaml::Map(Vec::new())));
    for pg in &view.resources.databases {
        postgres(view, pg, &mut file);
    }
    if !view.resources.buckets.is_empty() {
        object_store(view, &mut file);
    }
    if let Some(t) = env.telemetry.as_ref() {
        collector(env, t, &mut file);
    }
    for svc in &view.resources.services {
        service(view, svc, &mut file)?;
    }
    let mut top = vec![("name".into(), Yaml::from(format!("{}-{}", view.project, env.name)))];
    for (key, section) in [
        ("services", file.services),
        ("networks", file.networks),
        ("volumes", file.volumes),
        ("secrets", file.secrets),
        ("configs", file.configs),
    ] {
        if !section.is_empty() {
            top.push((key.into(), Yaml::Map(section)));
        }
    }
    let mut out = format!(
        "# generated by govc build from environment `{}`: do not edit, govc rewrites it.\n\
         # Start it from the output directory: docker compose -f {path} up\n",
        env.name
    );
    if file.provided.is_empty() {
        out.push_str("# No secret files: nothing here reads one.\n");
    } else {
        out.push_str(
            "# Secrets are read from files beside this one, never written here (.gitignore keeps them out of git):\n",
        );
        for line in &file.provided {
            out.push_str(&format!("#   {line}\n"));
        }
    }
    out.push_str(&yaml::to_document(&Yaml::Map(top)));
    Ok(out)
}

/// `$` → `$$`: Compose interpolates `${VAR}` in every string of the file.
fn literal(s: &str) -> Yaml {
    Yaml::from(s.replace('$', "$$"))
}

/// One postgres: the local StatefulSet's image, init script and password, as Compose parts.
fn postgres(view: &View, pg: &ir::Postgres, file: &mut File) {
    let secret = format!("{}-password", pg.name);
    let config = format!("{}-init", pg.name);
    let volume = format!("{}-data", pg.name);
    let network = persistence(&pg.name);
    let service = map([
        ("image", format!("postgres:{}", pg.version).into()),
        ("restart", "unless-stopped".into()),
        (
            "environment",
            map([
                ("POSTGRES_DB", literal(&pg.database)),
                ("POSTGRES_PASSWORD_FILE", format!("/run/secrets/{secret}").into()),
            ]),
        ),
        ("secrets", Yaml::Seq(vec![Yaml::text(&secret)])),
        (
            "configs",
            Yaml::Seq(vec![map([
                ("source", Yaml::text(&config)),
                ("target", "/docker-entrypoint-initdb.d/users.sh".into()),
            ])]),
        ),
        ("volumes", vec![format!("{volume}:/var/lib/postgresql/data")].into()),
        ("networks", Yaml::Seq(vec![Yaml::text(&network)])),
        (
            "healthcheck",
            map([
                ("test", vec!["CMD", "pg_isready", "-U", "postgres", "-h", "127.0.0.1"].into()),
                ("interval", "10s".into()),
                ("timeout", "5s".into()),
                ("retries", 5i64.into()),
                ("start_period", "30s".into()),
            ]),
        ),
    ]);
    file.services.push((pg.name.clone().into(), service));
    file.networks.push((network.to_string().into(), map([("internal", true.into())])));
    file.volumes.push((volume.into(), Yaml::Map(Vec::new())));
    file.secrets.push((secret.to_string().into(), map([("file", format!("./{}", password_file(&pg.name)).into())])));
    file.configs.push((config.to_string().into(), map([("content", literal(&init_script(view, pg)))])));
    file.provided.push(format!("{}  the superuser password of postgres `{}`", password_file(&pg.name), pg.name));
}

/// The pods' security context as Compose says it: the non-root UID, a read-only root
/// (with a `/tmp` tmpfs where the pod has an `emptyDir` there), no capabilities, no
/// privilege escalation.
fn harden(out: &mut Vec<(Key, Yaml)>, tmpfs: bool) {
    out.push(("user".into(), format!("{RUN_AS}:{RUN_AS}").into()));
    out.push(("read_only".into(), true.into()));
    if tmpfs {
        out.push(("tmpfs".into(), vec!["/tmp"].into()));
    }
    out.push(("cap_drop".into(), vec!["ALL"].into()));
    out.push(("security_opt".into(), vec!["no-new-privileges:true"].into()));
}

/// The internal network of the object store and the services that connect to a bucket.
fn storage_network() -> String {
    format!("storage-{STORE}")
}

/// The local object store: MinIO, and a one-shot run of the overlay's bucket Job script.
fn object_store(view: &View, file: &mut File) {
    let network = storage_network();
    let volume = format!("{STORE}-data");
    let credentials = || Yaml::from(vec!["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"]);
    let mut server: Vec<(Key, Yaml)> = vec![
        ("image".into(), versions::MINIO_IMAGE.into()),
        ("restart".into(), "unless-stopped".into()),
        ("command".into(), Yaml::from(vec!["server", "/data", "--address", ":9000", "--certs-dir", "/tmp/certs"])),
        (
            "environment".into(),
            map([
                ("MINIO_ROOT_USER_FILE", "MINIO_ROOT_USER".into()),
                ("MINIO_ROOT_PASSWORD_FILE", "MINIO_ROOT_PASSWORD".into()),
                ("HOME", "/tmp".into()),
            ]),
        ),
        ("secrets".into(), credentials()),
        ("volumes".into(), vec![format!("{volume}:/data")].into()),
        ("networks".into(), Yaml::Seq(vec![Yaml::text(&network)])),
        (
            "healthcheck".into(),
            map([
                ("test", vec!["CMD", "mc", "ready", "local"].into()),
                ("interval", "10s".into()),
                ("timeout", "5s".into()),
                ("retries", 5i64.into()),
                ("start_period", "10s".into()),
            ]),
        ),
    ];
    harden(&mut server, true);
    let mut buckets: Vec<(Key, Yaml)> = vec![
        ("image".into(), versions::MINIO_CLIENT_IMAGE.into()),
        ("restart".into(), "no".into()),
        ("entrypoint".into(), Yaml::from(vec!["/bin/sh", "-c"])),
        ("command".into(), Yaml::Seq(vec![literal(&storage::script(&view.resources.buckets))])),
        (
            "environment".into(),
            map([
                ("MINIO_URL", format!("http://{STORE}:{}", storage::PORT).into()),
                ("MC_CONFIG_DIR", "/tmp/.mc".into()),
                ("HOME", "/tmp".into()),
            ]),
        ),
        ("secrets".into(), credentials()),
        ("depends_on".into(), map([(STORE, map([("condition", "service_healthy".into())]))])),
        ("networks".into(), Yaml::Seq(vec![Yaml::text(&network)])),
    ];
    harden(&mut buckets, true);
    file.services.push((STORE.into(), Yaml::Map(server)));
    file.services.push((format!("{STORE}-buckets").into(), Yaml::Map(buckets)));
    file.networks.push((network.to_string().into(), map([("internal", true.into())])));
    file.volumes.push((volume.into(), Yaml::Map(Vec::new())));
    for (secret, path) in
        [("MINIO_ROOT_USER", "secrets/minio-root-user"), ("MINIO_ROOT_PASSWORD", "secrets/minio-root-password")]
    {
        file.secrets.push((secret.to_string().into(), map([("file", format!("./{path}").into())])));
    }
    file.provided
        .push("secrets/minio-root-user  secrets/minio-root-password  the object store's root credentials".into());
    if view.resources.services.iter().any(|s| s.buckets().next().is_some()) {
        file.provided.push(format!(
            "{STORE_ENV_FILE}  AWS_ACCESS_KEY_ID=<the root user> AWS_SECRET_ACCESS_KEY=<the root password>"
        ));
    }
}

/// The environment's OpenTelemetry Collector, with the overlay's configuration.
fn collector(env: &ir::Environment, t: &ir::Telemetry, file: &mut File) {
    let config = format!("{}-config", ir::Telemetry::COLLECTOR);
    let mut out: Vec<(Key, Yaml)> = vec![
        ("image".into(), versions::OTEL_COLLECTOR_IMAGE.into()),
        ("restart".into(), "unless-stopped".into()),
        ("command".into(), Yaml::from(vec!["--config=/conf/collector.yaml"])),
        (
            "configs".into(),
            Yaml::Seq(vec![map([("source", Yaml::text(&config)), ("target", "/conf/collector.yaml".into())])]),
        ),
        ("networks".into(), vec![RUNTIME].into()),
    ];
    harden(&mut out, false);
    file.services.push((ir::Telemetry::COLLECTOR.into(), Yaml::Map(out)));
    file.configs.push((config.to_string().into(), map([("content", literal(&telemetry::config(env, t)))])));
}

/// The Compose host name that serves `resource.attribute`, or `None` to keep the value
/// the IR resolved (ports, database names, users).
fn host_of(view: &View, resource: &str, attribute: &str) -> Option<String> {
    if view.database(resource).is_some() {
        return (attribute == "host").then(|| resource.to_string());
    }
    let svc = view.service(resource)?;
    match attribute {
        "host" => Some(svc.name.clone()),
        "url" => Some(format!("http://{}:{}", svc.name, svc.port)),
        _ => None,
    }
}

/// The variables of the service's Deployment that are not secrets, by key (as the
/// ConfigMap holds them), resolved for Compose.
fn environment(view: &View, svc: &ir::Service) -> Vec<(String, Yaml)> {
    svc.env
        .iter()
        .filter_map(|var| {
            let value = match &var.value {
                EnvValue::Literal(s) => s.clone(),
                EnvValue::Attribute { resource, attribute, value } => {
                    host_of(view, resource, attribute).unwrap_or_else(|| value.clone())
                }
                EnvValue::Secret { .. } => return None,
            };
            Some((var.key.clone(), literal(&value)))
        })
        .collect()
}

/// `0.25` for 250 millicores.
fn cpus(millis: u32) -> String {
    let whole = millis / 1000;
    let frac = millis % 1000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
    }
}

/// One service, as its Deployment runs it.
fn service(view: &View, svc: &ir::Service, file: &mut File) -> Result<(), String> {
    let image = svc.image.as_ref().ok_or_else(|| format!("service `{}` has no image", svc.name))?;
    let mut out: Vec<(Key, Yaml)> =
        vec![("image".into(), Yaml::text(&image.reference)), ("restart".into(), "unless-stopped".into())];
    let mut vars = environment(view, svc);
    let stores = svc.buckets().next().is_some();
    if stores {
        vars.push(("AWS_ENDPOINT_URL_S3".into(), format!("http://{STORE}:{}", storage::PORT).into()));
        vars.push(("AWS_REGION".into(), storage::REGION.into()));
    }
    if let Some(env) = view.env.filter(|e| e.telemetry.is_some()) {
        let endpoint = format!("http://{}:{}", ir::Telemetry::COLLECTOR, ir::Telemetry::OTLP_HTTP_PORT);
        for (key, value) in telemetry::service_variables(view.project, env, svc, &endpoint) {
            vars.push((key, literal(&value)));
        }
    }
    if !vars.is_empty() {
        out.push(("environment".into(), map_of(vars)));
    }
    let secret_keys: Vec<String> = svc
        .env
        .iter()
        .filter_map(|v| match &v.value {
            EnvValue::Secret { secret, .. } => Some(format!("{}=<secret {secret}>", v.key)),
            _ => None,
        })
        .collect();
    let mut env_files = Vec::new();
    if !secret_keys.is_empty() {
        env_files.push(format!("./{}", service_env_file(&svc.name)));
        file.provided.push(format!("{}  {}", service_env_file(&svc.name), secret_keys.join(" ")));
    }
    if stores {
        env_files.push(format!("./{STORE_ENV_FILE}"));
    }
    if !env_files.is_empty() {
        out.push(("env_file".into(), env_files.into()));
    }
    let databases: Vec<&str> = svc
        .connects
        .iter()
        .filter_map(|c| match c {
            ir::Connection::Postgres(db) if view.database(db).is_some() => Some(db.as_str()),
            _ => None,
        })
        .collect();
    let mut deps: Vec<(String, Yaml)> =
        databases.iter().map(|db| (db.to_string(), map([("condition", "service_healthy".into())]))).collect();
    if stores {
        deps.push((format!("{STORE}-buckets"), map([("condition", "service_completed_successfully".into())])));
    }
    if !deps.is_empty() {
        out.push(("depends_on".into(), map_of(deps)));
    }
    let mut networks = vec![RUNTIME.to_string()];
    networks.extend(databases.iter().map(|db| persistence(db)));
    if stores {
        networks.push(storage_network());
    }
    out.push(("networks".into(), networks.into()));
    if let Some(port) = published_port(view, svc) {
        out.push(("ports".into(), vec![port].into()));
    }
    harden(&mut out, true);
    let limits = map([("cpus", cpus(svc.cpu_millis).into()), ("memory", format!("{}b", svc.memory_bytes).into())]);
    out.push(("deploy".into(), map([("resources", map([("limits", limits)]))])));
    file.services.push((svc.name.clone().into(), Yaml::Map(out)));
    Ok(())
}

/// `127.0.0.1:<port>:<port>` for a service the ingress routes to, the first (in
/// declaration order) of those listening on that port; a later one on the same port
/// gets an ephemeral host port (`127.0.0.1::<port>`, see `docker compose port`).
/// Services the ingress does not route to are not published, as in the cluster.
fn published_port(view: &View, svc: &ir::Service) -> Option<String> {
    let routed =
        |s: &ir::Service| view.resources.ingress().is_some_and(|i| i.routes.iter().any(|r| r.service == s.name));
    if !routed(svc) || svc.protocol == ir::Protocol::Tcp {
        return None;
    }
    let first =
        view.resources.services.iter().find(|s| s.port == svc.port && routed(s) && s.protocol != ir::Protocol::Tcp);
    Some(if first.is_some_and(|f| f.name == svc.name) {
        format!("127.0.0.1:{}:{}", svc.port, svc.port)
    } else {
        format!("127.0.0.1::{}", svc.port)
    })
}

#[cfg(test)]
#[path = "compose_tests.rs"]
mod tests;
