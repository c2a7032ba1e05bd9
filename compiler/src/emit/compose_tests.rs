//! Tests of the Compose files on the Kustomize fixtures: snapshots, parity of the
//! variables with the local overlay's ConfigMaps, secrets never as values, paths with
//! one and several local environments, and (when `check-jsonschema` is on PATH or
//! `GOVC_CHECK_JSONSCHEMA` names it) the Compose specification's schema.

use std::collections::BTreeMap;

use serde_json::Value;

use super::*;
use crate::emit::kustomize::{self, fixture};

fn files(program: &ir::Program) -> BTreeMap<String, String> {
    emit(program).expect("the fixture emits").into_iter().collect()
}

fn parse(text: &str) -> Value {
    let yaml: serde_norway::Value = serde_norway::from_str(text).expect("the Compose file parses");
    serde_norway::from_value(yaml).expect("it converts to JSON")
}

fn local_file(program: &ir::Program) -> Value {
    parse(&files(program)["compose/docker-compose.yml"])
}

#[test]
fn snapshot_zenthea() {
    insta::assert_snapshot!(files(&fixture::zenthea())["compose/docker-compose.yml"]);
}

#[test]
fn snapshot_protocols() {
    insta::assert_snapshot!(files(&fixture::protocols())["compose/docker-compose.yml"]);
}

#[test]
fn output_is_deterministic() {
    assert_eq!(files(&fixture::zenthea()), files(&fixture::zenthea()));
}

#[test]
fn one_local_environment_one_file_and_the_gitignore() {
    let paths: Vec<String> = files(&fixture::zenthea()).into_keys().collect();
    assert_eq!(paths, ["compose/.gitignore", "compose/docker-compose.yml"]);
    assert!(files(&fixture::zenthea())["compose/.gitignore"].lines().any(|l| l == "secrets/"));
    assert!(files(&fixture::no_stack()).is_empty(), "no local environment, no Compose file");
}

#[test]
fn several_local_environments_one_directory_each() {
    let mut program = fixture::zenthea();
    let mut other = program.environments[0].clone();
    other.name = "laptop".into();
    other.namespace = "zenthea-laptop".into();
    program.environments.push(other);
    let files = files(&program);
    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(paths, ["compose/.gitignore", "compose/laptop/docker-compose.yml", "compose/local/docker-compose.yml"]);
    assert_eq!(parse(&files["compose/laptop/docker-compose.yml"])["name"], "zenthea-laptop");
    assert_eq!(parse(&files["compose/local/docker-compose.yml"])["name"], "zenthea-local");
}

/// The `data` of each ConfigMap of the local overlay, by service.
fn config_maps(program: &ir::Program) -> BTreeMap<String, Value> {
    let tree = kustomize::emit(program).expect("the fixture emits");
    let mut out = BTreeMap::new();
    for path in ["kubernetes/base/configmaps.yaml", "kubernetes/overlays/local/configmaps.yaml"] {
        let Some(text) = tree.get(path) else { continue };
        for doc in serde_norway::Deserializer::from_str(text) {
            let yaml: serde_norway::Value = serde::Deserialize::deserialize(doc).expect("parses");
            let v: Value = serde_norway::from_value(yaml).expect("converts");
            if let Some(svc) = v["metadata"]["name"].as_str().and_then(|n| n.strip_suffix("-config")) {
                out.insert(svc.to_string(), v["data"].clone());
            }
        }
    }
    out
}

#[test]
fn variables_are_the_deployments_with_compose_hosts() {
    let program = fixture::zenthea();
    let compose = local_file(&program);
    let env = &program.environments[0];
    for svc in &env.resources.services {
        let vars = &compose["services"][&svc.name]["environment"];
        let plain: Vec<&str> =
            svc.env.iter().filter(|v| !matches!(v.value, EnvValue::Secret { .. })).map(|v| v.key.as_str()).collect();
        let written: Vec<&str> = vars.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        assert_eq!(written, plain, "{}: the non-secret variables of the Deployment, in its order", svc.name);
        for var in &svc.env {
            if let EnvValue::Literal(text) = &var.value {
                assert_eq!(vars[&var.key], text.replace('$', "$$"), "{}.{}", svc.name, var.key);
            }
        }
    }
    // Hosts are Compose service names: what the cluster names by DNS, Compose names by service.
    assert_eq!(compose["services"]["api"]["environment"]["DATABASE_HOST"], "main");
    assert_eq!(compose["services"]["web"]["environment"]["API_URL"], "http://api:8080");
    // Literals equal the local ConfigMap's (the cluster's copy of the same variables).
    let cms = config_maps(&program);
    assert_eq!(cms["api"]["GREETING"], compose["services"]["api"]["environment"]["GREETING"]);
}

#[test]
fn secrets_come_from_files_never_values() {
    let program = fixture::zenthea();
    let text = &files(&program)["compose/docker-compose.yml"];
    let compose = parse(text);
    assert_eq!(compose["services"]["api"]["env_file"], serde_json::json!(["./secrets/api.env"]));
    assert_eq!(compose["services"]["worker"]["env_file"], serde_json::json!(["./secrets/worker.env"]));
    assert!(compose["services"]["web"].get("env_file").is_none(), "web reads no secret");
    assert!(text.contains("#   secrets/api.env  DATABASE_PASSWORD=<secret db-password>"), "the header lists the files");
    for key in ["DATABASE_PASSWORD", "STRIPE_KEY"] {
        assert!(text.lines().filter(|l| !l.starts_with('#')).all(|l| !l.contains(key)), "{key} is no variable here");
    }
    assert_eq!(compose["secrets"]["main-password"]["file"], "./secrets/main-password");
    assert_eq!(compose["services"]["main"]["environment"]["POSTGRES_PASSWORD_FILE"], "/run/secrets/main-password");
    assert!(compose["services"]["main"]["environment"].get("POSTGRES_PASSWORD").is_none());
}

#[test]
fn postgres_is_the_local_statefulsets_and_reachable_only_by_its_connectors() {
    let program = fixture::zenthea();
    let compose = local_file(&program);
    let pg = &program.environments[0].resources.databases[0];
    let main = &compose["services"]["main"];
    assert_eq!(main["image"], format!("postgres:{}", pg.version));
    assert_eq!(main["healthcheck"]["test"][1], "pg_isready");
    assert_eq!(compose["networks"]["persistence-main"]["internal"], true);
    assert_eq!(main["networks"], serde_json::json!(["persistence-main"]));
    let on_persistence: Vec<&str> = compose["services"]
        .as_object()
        .expect("services")
        .iter()
        .filter(|(_, s)| s["networks"].as_array().is_some_and(|n| n.iter().any(|n| n == "persistence-main")))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(on_persistence, ["api", "main"], "only the database and the service that connects to it");
    assert_eq!(compose["services"]["api"]["depends_on"]["main"]["condition"], "service_healthy");
    // The same init script as the local overlay's ConfigMap, escaped for Compose.
    let tree = kustomize::emit(&program).expect("emits");
    let cm = &tree["kubernetes/overlays/local/configmaps.yaml"];
    let script = compose["configs"]["main-init"]["content"].as_str().expect("content").replace("$$", "$");
    assert!(cm.contains("CREATE ROLE \"api\" LOGIN;") && script.contains("CREATE ROLE \"api\" LOGIN;"));
    assert!(script.contains("\"$PGDATA/pg_hba.conf\""), "{script}");
    assert_eq!(compose["volumes"]["main-data"], serde_json::json!({}));
}

#[test]
fn only_routed_services_are_published_on_loopback() {
    let compose = local_file(&fixture::protocols());
    let services = &compose["services"];
    // `/` → web and `/api` → api both listen on 8080: the first declared gets the port.
    assert_eq!(services["web"]["ports"], serde_json::json!(["127.0.0.1:8080:8080"]));
    assert_eq!(services["api"]["ports"], serde_json::json!(["127.0.0.1::8080"]));
    assert_eq!(services["temporal"]["ports"], serde_json::json!(["127.0.0.1:7233:7233"]));
    assert!(services["worker"].get("ports").is_none(), "no route, not published");
    assert!(services["broker"].get("ports").is_none(), "tcp: never routed");
}

#[test]
fn services_run_as_their_pods() {
    let compose = local_file(&fixture::zenthea());
    let api = &compose["services"]["api"];
    assert_eq!(api["user"], "10001:10001");
    assert_eq!(api["read_only"], true);
    assert_eq!(api["cap_drop"], serde_json::json!(["ALL"]));
    assert_eq!(api["deploy"]["resources"]["limits"]["cpus"], "0.25");
    assert_eq!(api["deploy"]["resources"]["limits"]["memory"], "268435456b");
    assert!(api.get("healthcheck").is_none(), "images need not ship a probe client");
}

#[test]
fn dollars_are_escaped() {
    let mut program = fixture::zenthea();
    program.environments[0].resources.services[0]
        .env
        .push(ir::EnvVar { key: "TEMPLATE".into(), value: EnvValue::Literal("${HOME} costs $5".into()) });
    let compose = local_file(&program);
    assert_eq!(compose["services"]["web"]["environment"]["TEMPLATE"], "$${HOME} costs $$5");
}

#[test]
fn cpus_are_decimal_cores() {
    assert_eq!(cpus(250), "0.25");
    assert_eq!(cpus(1000), "1");
    assert_eq!(cpus(1500), "1.5");
    assert_eq!(cpus(1), "0.001");
}

#[test]
fn developer_secrets_are_recognized() {
    assert!(is_developer_secret("compose/secrets/api.env"));
    assert!(is_developer_secret("compose/local/secrets/main-password"));
    assert!(!is_developer_secret("compose/docker-compose.yml"));
    assert!(!is_developer_secret("terraform/secrets/x"));
    assert!(!is_developer_secret("compose/local/sub/secrets/x"));
}

/// `check-jsonschema`: `GOVC_CHECK_JSONSCHEMA`, else on PATH, else the venv `scripts/validate`
/// installs in the tools cache (`GOVC_TOOLS_CACHE`, default `~/.cache/govc-tools`).
fn check_jsonschema() -> Option<String> {
    let works =
        |tool: &str| std::process::Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if let Ok(tool) = std::env::var("GOVC_CHECK_JSONSCHEMA") {
        return Some(tool);
    }
    let cache = std::env::var("GOVC_TOOLS_CACHE").ok().or_else(|| {
        let base = std::env::var("XDG_CACHE_HOME")
            .ok()
            .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cache")))?;
        Some(format!("{base}/govc-tools"))
    });
    let cached = cache.map(|c| format!("{c}/py-check-jsonschema/bin/check-jsonschema"));
    std::iter::once("check-jsonschema".to_string()).chain(cached).find(|t| works(t))
}

/// The Compose specification's JSON schema, through `check-jsonschema --builtin-schema
/// vendor.compose-spec`; skipped (visibly) when the tool is not there.
#[test]
fn files_match_the_compose_specification() {
    let Some(tool) = check_jsonschema() else {
        assert!(
            std::env::var("GOVC_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "check-jsonschema not found and GOVC_REQUIRE_TOOLS=1"
        );
        eprintln!("skipped: check-jsonschema not found (set GOVC_CHECK_JSONSCHEMA)");
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut paths = Vec::new();
    let mut with_telemetry = fixture::zenthea();
    with_telemetry.environments[0].telemetry = Some(ir::Telemetry::default());
    let programs = [fixture::zenthea(), fixture::protocols(), fixture::variants(), with_buckets(), with_telemetry];
    for (i, program) in programs.iter().enumerate() {
        for (path, text) in files(program) {
            if path.ends_with(".yml") {
                let file = dir.path().join(format!("{i}-docker-compose.yml"));
                std::fs::write(&file, text).expect("write");
                paths.push(file);
            }
        }
    }
    let out = std::process::Command::new(&tool)
        .args(["--builtin-schema", "vendor.compose-spec"])
        .args(&paths)
        .output()
        .expect("check-jsonschema runs");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// The project with buckets (`tests/cases/storage/evidence_store`), compiled.
fn with_buckets() -> ir::Program {
    crate::emit::flow_tests::compile(crate::emit::identity_tests::envs_with_buckets()).expect("builds").0
}

/// The object store runs as the overlay runs it: MinIO with the same image and
/// credentials from files, the bucket Job's script once, on a network of its own that
/// only the services connecting to a bucket join; those get the overlay's variables and
/// start once the buckets exist.
#[test]
fn the_object_store_is_the_overlays_and_reachable_only_by_its_connectors() {
    let program = with_buckets();
    let compose = local_file(&program);
    let env = program.environments.iter().find(|e| e.tier == ir::Tier::Local).expect("local");
    let services = &compose["services"];
    let store = &services[STORE];
    assert_eq!(store["image"], versions::MINIO_IMAGE);
    assert_eq!(store["environment"]["MINIO_ROOT_USER_FILE"], "MINIO_ROOT_USER");
    assert_eq!(store["secrets"], serde_json::json!(["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"]));
    let network = format!("storage-{STORE}");
    assert_eq!(compose["networks"][&network]["internal"], true);
    assert_eq!(compose["secrets"]["MINIO_ROOT_PASSWORD"]["file"], "./secrets/minio-root-password");
    let job = &services[format!("{STORE}-buckets")];
    assert_eq!(job["image"], versions::MINIO_CLIENT_IMAGE);
    let script = job["command"][0].as_str().expect("the script");
    assert_eq!(script, storage::script(&env.resources.buckets).replace('$', "$$"), "the overlay Job's script");
    assert!(script.contains("--with-lock"), "the evidence bucket has Object Lock");
    assert_eq!(job["depends_on"][STORE]["condition"], "service_healthy");
    for svc in &env.resources.services {
        let entry = &services[&svc.name];
        let joined = entry["networks"].as_array().expect("networks").iter().any(|n| n == network.as_str());
        let connects = svc.buckets().next().is_some();
        assert_eq!(joined, connects, "{}: on the store's network exactly when it connects to a bucket", svc.name);
        assert_eq!(entry["environment"]["AWS_ENDPOINT_URL_S3"].is_string(), connects, "{}", svc.name);
        let env_files = entry["env_file"].as_array().cloned().unwrap_or_default();
        assert_eq!(env_files.iter().any(|f| f == "./secrets/minio.env"), connects, "{}", svc.name);
        if connects {
            let waits = &entry["depends_on"][format!("{STORE}-buckets")]["condition"];
            assert_eq!(waits, "service_completed_successfully", "{}", svc.name);
            assert_eq!(entry["environment"]["AWS_ENDPOINT_URL_S3"], format!("http://{STORE}:9000"));
        }
    }
    // The bucket's name is what the cluster names it: the environment variable reads it.
    let api = &services["api"]["environment"];
    assert_eq!(api["EVIDENCE_BUCKET"], "zenthea-local-evidence");
    // No credential value anywhere in the file.
    let text = &files(&program)["compose/docker-compose.yml"];
    assert!(text.contains("secrets/minio-root-user") && text.contains("secrets/minio.env"));
    assert!(!text.contains("AWS_SECRET_ACCESS_KEY:"), "credentials come from the env file only");
}

/// With `telemetry`, the collector runs with the overlay's configuration and every
/// service gets the overlay's `OTEL_*` variables, the endpoint being the Compose host.
#[test]
fn the_collector_runs_with_the_overlays_configuration() {
    let mut program = fixture::zenthea();
    let telemetry = ir::Telemetry { traces: None, metrics: None, logs: None };
    program.environments[0].telemetry = Some(telemetry.clone());
    let env = &program.environments[0];
    assert_eq!(env.tier, ir::Tier::Local);
    let compose = local_file(&program);
    let collector = &compose["services"][ir::Telemetry::COLLECTOR];
    assert_eq!(collector["image"], versions::OTEL_COLLECTOR_IMAGE);
    let config = &compose["configs"][format!("{}-config", ir::Telemetry::COLLECTOR)]["content"];
    assert_eq!(config, &telemetry::config(env, &telemetry).replace('$', "$$"));
    assert!(config.as_str().expect("text").contains("debug"), "no backend locally: the debug exporter");
    let view = View::new(&program.project, Some(env), &env.resources);
    for svc in &env.resources.services {
        let vars = &compose["services"][&svc.name]["environment"];
        assert_eq!(vars["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector:4318", "{}", svc.name);
        assert_eq!(vars["OTEL_SERVICE_NAME"], svc.name.as_str());
        for (key, value) in telemetry::service_variables(view.project, env, svc, &telemetry::endpoint(env)) {
            if key != "OTEL_EXPORTER_OTLP_ENDPOINT" {
                assert_eq!(vars[&key], value.as_str(), "{}: {key} as in the overlay", svc.name);
            }
        }
    }
    // Without telemetry: no collector and no variable.
    let plain = local_file(&fixture::zenthea());
    assert!(plain["services"][ir::Telemetry::COLLECTOR].is_null());
    assert!(plain["services"]["api"]["environment"]["OTEL_SERVICE_NAME"].is_null());
}
