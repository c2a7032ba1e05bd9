//! Tests of the whole Kustomize tree on the fixtures: snapshots, parse-back checks,
//! ExternalSecret shape, NetworkPolicy flows against the declared ones, and (when
//! `kubectl` is on PATH) `kubectl kustomize` over every overlay.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{emit, fixture};
use crate::ir::{self, Connection};

fn tree(program: &ir::Program) -> BTreeMap<String, String> {
    emit(program).expect("the fixture emits")
}

/// Every fixture program.
fn programs() -> [ir::Program; 4] {
    [fixture::zenthea(), fixture::no_stack(), fixture::variants(), fixture::protocols()]
}

/// Every file, but the vendored upstream manifest by its path only: it is upstream's
/// text, checked byte for byte by `platform_tests`.
fn overview(files: &BTreeMap<String, String>) -> String {
    files
        .iter()
        .map(|(path, text)| {
            if super::platform::is_vendored_upstream(path) {
                format!("//// {path}\n(vendored upstream manifest, {} bytes)\n", text.len())
            } else {
                format!("//// {path}\n{text}")
            }
        })
        .collect()
}

fn parse(text: &str) -> Value {
    let yaml: serde_norway::Value = serde_norway::from_str(text).expect("emitted YAML parses");
    serde_norway::from_value(yaml).expect("emitted YAML converts to JSON")
}

/// Every document of a (multi-document) file.
fn parse_all(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| {
            let yaml: serde_norway::Value = serde::Deserialize::deserialize(doc).expect("emitted YAML parses");
            serde_norway::from_value(yaml).expect("emitted YAML converts to JSON")
        })
        .collect()
}

/// The inline patches of an overlay's kustomization: `(target, parsed patch)`.
fn inline_patches(kustomization: &Value) -> Vec<(Value, Value)> {
    let patches = kustomization["patches"].as_array().into_iter().flatten();
    patches
        .map(|p| {
            assert!(p.get("path").is_none(), "patches are inline: {p}");
            (p["target"].clone(), parse(p["patch"].as_str().expect("an inline patch string")))
        })
        .collect()
}

#[test]
fn snapshot_zenthea() {
    insta::assert_snapshot!(overview(&tree(&fixture::zenthea())));
}

#[test]
fn snapshot_environment_without_stack() {
    insta::assert_snapshot!(overview(&tree(&fixture::no_stack())));
}

#[test]
fn snapshot_variants() {
    insta::assert_snapshot!(overview(&tree(&fixture::variants())));
}

#[test]
fn several_stacks_get_their_own_base_and_fixed_replicas_delete_the_autoscaler() {
    let files = tree(&fixture::variants());
    assert!(files.contains_key("kubernetes/base/app/kustomization.yaml"));
    assert!(files.contains_key("kubernetes/base/jobs/kustomization.yaml"));
    let batch = parse(&files["kubernetes/overlays/batch/kustomization.yaml"]);
    assert_eq!(batch["resources"][0], "../../base/jobs");
    let local = parse(&files["kubernetes/overlays/local/kustomization.yaml"]);
    let deletes: Vec<_> = inline_patches(&local).into_iter().filter(|(_, p)| p["$patch"] == "delete").collect();
    for (target, patch) in &deletes {
        assert_eq!((&target["kind"], &target["name"]), (&patch["kind"], &patch["metadata"]["name"]));
    }
    let deleted: Vec<_> = deletes.iter().map(|(t, _)| (t["kind"].as_str(), t["name"].as_str())).collect();
    assert!(deleted.contains(&(Some("HorizontalPodAutoscaler"), Some("api"))), "{deleted:?}");
    let staging = parse_all(&files["kubernetes/overlays/staging/deployments.yaml"]);
    assert!(staging.iter().any(|d| d["metadata"]["name"] == "debug"));
    assert!(!files.keys().any(|p| p.contains("/patches/")), "no patch files");
}

/// One file per kind, named by the lowercase plural kind, listed in `resources:`.
#[test]
fn objects_are_grouped_per_kind() {
    for program in programs() {
        let files = tree(&program);
        for (path, text) in &files {
            let Some((dir, name)) = path.rsplit_once('/') else { continue };
            // The vendored upstream manifest keeps upstream's one file (platform_tests).
            if name == "kustomization.yaml" || super::platform::is_vendored_upstream(path) {
                continue;
            }
            let docs = parse_all(text);
            assert!(!docs.is_empty(), "{path}");
            for doc in &docs {
                let kind = doc["kind"].as_str().expect("a kind");
                assert_eq!(super::object::kind_file(kind), name, "{path}");
            }
            let kustomization = parse(&files[&format!("{dir}/kustomization.yaml")]);
            assert!(kustomization["resources"].as_array().expect("resources").iter().any(|r| r == name), "{path}");
        }
    }
}

#[test]
fn output_is_deterministic() {
    assert_eq!(tree(&fixture::zenthea()), tree(&fixture::zenthea()));
}

/// Writes the emitted trees to `$GOVC_DUMP_DIR/{zenthea,no-stack}` for the external tools.
#[test]
fn dump_when_asked() {
    let Ok(dir) = std::env::var("GOVC_DUMP_DIR") else {
        return;
    };
    for (name, program) in ["zenthea", "no-stack", "variants"].into_iter().zip(programs()) {
        for (path, text) in tree(&program) {
            let path = std::path::Path::new(&dir).join(name).join(path);
            std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("create dump dir");
            std::fs::write(&path, text).expect("write dump file");
        }
    }
}

#[test]
fn every_file_parses_and_no_secret_holds_a_value() {
    for program in programs() {
        for (path, text) in tree(&program) {
            for doc in parse_all(&text) {
                assert_ne!(doc["kind"], "Secret", "{path} is a Secret");
            }
            assert!(!text.contains("stringData"), "{path} holds secret data");
        }
    }
}

/// The required fields of the `external-secrets.io/v1` ExternalSecret CRD, and every
/// `secretKeyRef` of a workload backed by an ExternalSecret's target and key.
#[test]
fn external_secrets_match_the_crd_and_the_workloads() {
    let files = tree(&fixture::zenthea());
    for env in ["local", "staging", "production"] {
        let dir = format!("kubernetes/overlays/{env}/");
        let mut provided = BTreeSet::new();
        let mut wanted = BTreeSet::new();
        let docs = files.iter().filter(|(p, _)| p.starts_with(&dir) || p.starts_with("kubernetes/base/"));
        for (path, doc) in docs.flat_map(|(p, t)| parse_all(t).into_iter().map(move |d| (p, d))) {
            if doc["kind"] == "ExternalSecret" {
                assert_eq!(doc["apiVersion"], "external-secrets.io/v1", "{path}");
                let spec = &doc["spec"];
                let store = &spec["secretStoreRef"];
                assert_eq!(store["kind"], "ClusterSecretStore", "{path}");
                let expected = if env == "local" { "local" } else { "aws-secrets-manager" };
                assert_eq!(store["name"], expected, "{path}");
                let target = spec["target"]["name"].as_str().expect("target.name");
                assert!(matches!(
                    spec["target"]["creationPolicy"].as_str(),
                    Some("Owner" | "Orphan" | "Merge" | "None")
                ));
                for item in spec["data"].as_array().expect("data is a list") {
                    let key = item["secretKey"].as_str().expect("data[].secretKey is required");
                    assert!(
                        item["remoteRef"]["key"].as_str().is_some_and(|k| !k.is_empty()),
                        "data[].remoteRef.key is required"
                    );
                    provided.insert((target.to_string(), key.to_string()));
                }
            }
            collect_secret_refs(&doc, &mut wanted);
        }
        let missing: Vec<_> = wanted.difference(&provided).collect();
        assert!(missing.is_empty(), "{env}: secretKeyRefs without an ExternalSecret: {missing:?}");
    }
}

/// Every store an ExternalSecret of a cloud overlay names is defined in that overlay:
/// the `ClusterSecretStore` for AWS Secrets Manager in the environment's region,
/// authenticated by the operator's Pod Identity (no `auth`), usable from the
/// environment's namespace only, and taken out of that namespace by a transformer.
/// `tier = local` gets none (the developer provides the `local` store).
#[test]
fn cloud_overlays_define_the_secret_store_their_external_secrets_use() {
    for program in programs() {
        let files = tree(&program);
        for env in &program.environments {
            let dir = format!("kubernetes/overlays/{}/", env.name);
            let stores: Vec<Value> =
                files.get(&format!("{dir}clustersecretstores.yaml")).map(|t| parse_all(t)).unwrap_or_default();
            let named: BTreeSet<String> = files
                .iter()
                .filter(|(p, _)| p.starts_with(&dir))
                .flat_map(|(_, t)| parse_all(t))
                .filter(|d| d["kind"] == "ExternalSecret")
                .map(|d| d["spec"]["secretStoreRef"]["name"].as_str().expect("a store").to_string())
                .collect();
            let kustomization = parse(&files[&format!("{dir}kustomization.yaml")]);
            let transformers: Vec<Value> = kustomization["transformers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| parse(t.as_str().expect("an inline transformer")))
                .collect();
            if env.tier == ir::Tier::Local {
                assert!(stores.is_empty() && transformers.is_empty(), "{}: the developer's store", env.name);
                continue;
            }
            let secrets = env.resources.secrets.iter().any(|s| s.path.is_some());
            assert_eq!(stores.len(), usize::from(secrets), "{}: one store when there are secrets", env.name);
            for store in &stores {
                assert_eq!(store["apiVersion"], "external-secrets.io/v1");
                assert_eq!(named, BTreeSet::from([store["metadata"]["name"].as_str().expect("name").to_string()]));
                let aws = &store["spec"]["provider"]["aws"];
                assert_eq!(aws["service"], "SecretsManager");
                assert_eq!(aws["region"].as_str(), env.aws.as_ref().and_then(|a| a.region.as_deref()));
                assert!(aws.get("auth").is_none(), "Pod Identity: no auth block");
                assert_eq!(store["spec"]["conditions"], serde_json::json!([{ "namespaces": [env.namespace] }]));
                let unscoped = transformers.iter().any(|t| {
                    t["target"]["kind"] == "ClusterSecretStore"
                        && parse(t["patch"].as_str().expect("a patch"))
                            == serde_json::json!([{ "op": "remove", "path": "/metadata/namespace" }])
                });
                assert!(unscoped, "{}: the store is cluster-scoped after `namespace:`", env.name);
            }
        }
    }
}

fn collect_secret_refs(v: &Value, out: &mut BTreeSet<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("secretKeyRef") {
                out.insert((
                    r["name"].as_str().unwrap_or_default().into(),
                    r["key"].as_str().unwrap_or_default().into(),
                ));
            }
            m.values().for_each(|x| collect_secret_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_secret_refs(x, out)),
        _ => {}
    }
}

/// One allowed connection: `(from, to, port/protocol)`. Endpoints are pod names,
/// `ingress` (the controller), `dns`, a postgres name (local: its pods), `persistence`
/// (cloud: the persistence subnets, where every RDS instance lives), `ip <addr>` (an IP
/// egress entry, exactly its `/32`) or `internet` (a host name egress entry).
pub(crate) type Flow = (String, String, String);

/// The NetworkPolicies an overlay renders: the base's plus the overlay's own, minus the
/// deleted ones. Patches to policies are not applied here, so the test refuses them.
pub(crate) fn policies(files: &BTreeMap<String, String>, env: &str) -> Vec<Value> {
    let dir = format!("kubernetes/overlays/{env}/");
    let kustomization = parse(&files[&format!("{dir}kustomization.yaml")]);
    let mut out = Vec::new();
    for res in kustomization["resources"].as_array().expect("resources") {
        let res = res.as_str().expect("a path");
        if let Some(base) = res.strip_prefix("../../") {
            let prefix = format!("kubernetes/{base}/");
            let base = parse(&files[&format!("{prefix}kustomization.yaml")]);
            for file in base["resources"].as_array().expect("resources") {
                out.extend(parse_all(&files[&format!("{prefix}{}", file.as_str().expect("a file"))]));
            }
        } else {
            out.extend(parse_all(&files[&format!("{dir}{res}")]));
        }
    }
    for (target, doc) in inline_patches(&kustomization) {
        if doc["$patch"] == "delete" {
            out.retain(|o| !(o["kind"] == doc["kind"] && o["metadata"]["name"] == doc["metadata"]["name"]));
        } else {
            assert_ne!(target["kind"], "NetworkPolicy", "the flow test does not apply patches to policies");
        }
    }
    out.retain(|o| o["kind"] == "NetworkPolicy");
    out
}

fn pods(env: &ir::Environment) -> Vec<String> {
    let mut pods: Vec<String> = env.resources.services.iter().map(|s| s.name.clone()).collect();
    if env.tier == ir::Tier::Local {
        pods.extend(env.resources.databases.iter().map(|d| d.name.clone()));
        if !env.resources.buckets.is_empty() {
            pods.push(super::storage::NAME.to_string());
            pods.push(super::storage::job_label());
        }
    }
    pods.extend(bootstraps(env).into_iter().map(|(pods, _)| pods));
    if env.telemetry.is_some() {
        pods.push(ir::Telemetry::COLLECTOR.to_string());
    }
    pods
}

/// The bootstrap Jobs of a cloud environment: `(pods, postgres)` for each postgres that
/// some service connects to.
pub(crate) fn bootstraps(env: &ir::Environment) -> Vec<(String, &ir::Postgres)> {
    if env.tier == ir::Tier::Local {
        return Vec::new();
    }
    let res = &env.resources;
    let connected = |db: &str| res.services.iter().any(|s| s.connects.contains(&Connection::Postgres(db.into())));
    res.databases
        .iter()
        .filter(|d| connected(&d.name))
        .map(|d| (crate::emit::names::bootstrap_name(&d.name), d))
        .collect()
}

fn selected(selector: &Value, pods: &[String]) -> Vec<String> {
    match selector["matchLabels"]["app.kubernetes.io/name"].as_str() {
        Some(name) => vec![name.to_string()],
        None => {
            assert!(selector.as_object().is_none_or(|m| m.is_empty()), "unexpected selector {selector}");
            pods.to_vec()
        }
    }
}

/// Names a policy peer from the program's point of view.
fn peer(p: &Value, env: &ir::Environment, pods: &[String]) -> Vec<String> {
    if let Some(block) = p.get("ipBlock") {
        let cidr = block["cidr"].as_str().expect("cidr");
        if cidr == "0.0.0.0/0" {
            assert!(block.get("except").is_some(), "an open ipBlock excludes the internal ranges: {block}");
            return vec!["internet".into()];
        }
        assert!(block.get("except").is_none(), "only the open ipBlock has exceptions: {block}");
        let net = &env.resources.networks[0];
        for role in ir::SegmentRole::ALL {
            let segment = net.segment(role);
            let subnet = segment.subnets.iter().any(|s| s.to_string() == cidr);
            if segment.cidr.is_some_and(|c| c.to_string() == cidr) || subnet {
                let whole = segment.cidr.is_some_and(|c| c.to_string() == cidr);
                return match role {
                    ir::SegmentRole::Ingress if whole => vec!["ingress".into()],
                    ir::SegmentRole::Persistence if subnet => vec!["persistence".into()],
                    _ => vec![format!("{} {cidr}", role.as_str())],
                };
            }
        }
        if let Some(ip) = cidr.strip_suffix("/32") {
            return vec![format!("ip {ip}")];
        }
        return vec![format!("unknown {cidr}")];
    }
    let ns = p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str();
    match ns {
        Some("kube-system") => vec!["dns".into()],
        Some("ingress-nginx") => vec!["ingress".into()],
        Some(other) => vec![format!("namespace {other}")],
        None => selected(&p["podSelector"], pods),
    }
}

fn port_list(rule: &Value) -> Vec<String> {
    rule["ports"].as_array().map_or_else(
        || vec!["any".into()],
        |ps| ps.iter().map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP"))).collect(),
    )
}

/// `(egress flows, ingress flows)` allowed by the policies.
pub(crate) fn allowed(policies: &[Value], env: &ir::Environment) -> (BTreeSet<Flow>, BTreeSet<Flow>) {
    let pods = pods(env);
    let (mut egress, mut ingress) = (BTreeSet::new(), BTreeSet::new());
    for pol in policies {
        let spec = &pol["spec"];
        let subjects = selected(&spec["podSelector"], &pods);
        for rule in spec["egress"].as_array().into_iter().flatten() {
            let peers = rule["to"].as_array().expect("egress rules name their peers");
            for to in peers.iter().flat_map(|p| peer(p, env, &pods)) {
                for port in port_list(rule) {
                    for from in &subjects {
                        egress.insert((from.clone(), to.clone(), port.clone()));
                    }
                }
            }
        }
        for rule in spec["ingress"].as_array().into_iter().flatten() {
            let peers = rule["from"].as_array().expect("ingress rules name their peers");
            for from in peers.iter().flat_map(|p| peer(p, env, &pods)) {
                for port in port_list(rule) {
                    for to in &subjects {
                        ingress.insert((from.clone(), to.clone(), port.clone()));
                    }
                }
            }
        }
    }
    (egress, ingress)
}

/// `(egress flows, ingress flows)` the program declares.
pub(crate) fn declared(env: &ir::Environment) -> (BTreeSet<Flow>, BTreeSet<Flow>) {
    let local = env.tier == ir::Tier::Local;
    let (mut egress, mut ingress) = (BTreeSet::new(), BTreeSet::new());
    let f = |a: &str, b: &str, port: u16, proto: &str| (a.to_string(), b.to_string(), format!("{port}/{proto}"));
    for pod in pods(env) {
        egress.insert(f(&pod, "dns", 53, "UDP"));
        egress.insert(f(&pod, "dns", 53, "TCP"));
    }
    for svc in &env.resources.services {
        for conn in &svc.connects {
            match conn {
                Connection::Service(to) => {
                    let port = env.resources.service(to).expect("resolved").port;
                    egress.insert(f(&svc.name, to, port, "TCP"));
                    ingress.insert(f(&svc.name, to, port, "TCP"));
                }
                Connection::Postgres(pg) => {
                    let port = env.resources.database(pg).expect("resolved").port;
                    if local {
                        egress.insert(f(&svc.name, pg, port, "TCP"));
                        ingress.insert(f(&svc.name, pg, port, "TCP"));
                    } else {
                        egress.insert(f(&svc.name, "persistence", port, "TCP"));
                    }
                }
                // Local: the in-cluster MinIO. Cloud: S3's public addresses on 443 (the
                // NetworkPolicy cannot name the S3 prefix list; the security group does).
                Connection::Bucket(b) => {
                    env.resources.bucket(b).expect("resolved");
                    if local {
                        let (minio, port) = (super::storage::NAME, super::storage::PORT);
                        egress.insert(f(&svc.name, minio, port, "TCP"));
                        ingress.insert(f(&svc.name, minio, port, "TCP"));
                    } else {
                        egress.insert(f(&svc.name, "internet", 443, "TCP"));
                    }
                }
            }
        }
        for eg in &svc.egress {
            let to = match eg.host.parse::<std::net::Ipv4Addr>() {
                Ok(ip) => format!("ip {ip}"),
                Err(_) => "internet".to_string(),
            };
            egress.insert(f(&svc.name, &to, eg.port, "TCP"));
        }
    }
    // A service with an IAM role (cloud, connects to a postgres): STS through the VPC
    // endpoint (the runtime subnets, on 443).
    if !local {
        for svc in env.resources.services.iter().filter(|s| env.resources.has_role(s)) {
            let network = env.resources.network(&svc.network).expect("resolved");
            for subnet in &network.segment(ir::SegmentRole::Runtime).subnets {
                egress.insert(f(&svc.name, &format!("runtime {subnet}"), 443, "TCP"));
            }
        }
    }
    // The local object store's Job creates the buckets in MinIO.
    if local && !env.resources.buckets.is_empty() {
        let (minio, port, job) = (super::storage::NAME, super::storage::PORT, super::storage::job_label());
        egress.insert(f(&job, minio, port, "TCP"));
        ingress.insert(f(&job, minio, port, "TCP"));
    }
    // A bootstrap Job: its database (the persistence subnets) and the Secrets Manager
    // endpoint (the runtime subnets, on 443).
    for (pods, db) in bootstraps(env) {
        egress.insert(f(&pods, "persistence", db.port, "TCP"));
        let network = env.resources.network(&db.network).expect("resolved");
        for subnet in &network.segment(ir::SegmentRole::Runtime).subnets {
            egress.insert(f(&pods, &format!("runtime {subnet}"), 443, "TCP"));
        }
    }
    for ing in &env.resources.ingresses {
        for r in &ing.routes {
            ingress.insert(f("ingress", &r.service, r.port, "TCP"));
        }
    }
    // The collector: OTLP (gRPC and HTTP) from every service, and out to its backends.
    if let Some(telemetry) = &env.telemetry {
        let collector = ir::Telemetry::COLLECTOR;
        for svc in &env.resources.services {
            for port in [ir::Telemetry::OTLP_GRPC_PORT, ir::Telemetry::OTLP_HTTP_PORT] {
                egress.insert(f(&svc.name, collector, port, "TCP"));
                ingress.insert(f(&svc.name, collector, port, "TCP"));
            }
        }
        for (_, eg) in telemetry.backends() {
            let to = match eg.host.parse::<std::net::Ipv4Addr>() {
                Ok(ip) => format!("ip {ip}"),
                Err(_) => "internet".to_string(),
            };
            egress.insert(f(collector, &to, eg.port, "TCP"));
        }
    }
    (egress, ingress)
}

#[test]
fn network_policies_allow_exactly_the_declared_flows() {
    for program in programs() {
        flows_match(&program);
    }
}

/// An IP egress entry is exactly its `/32` on the declared port; a host name is any public
/// address on the port.
#[test]
fn ip_egress_is_exactly_its_address() {
    let files = tree(&fixture::variants());
    let pols = policies(&files, "batch");
    let rule = |name: &str| {
        let pol = pols.iter().find(|p| p["metadata"]["name"] == name).unwrap_or_else(|| panic!("{name}"));
        pol["spec"]["egress"][0].clone()
    };
    let ip = rule("allow-cron-egress-203-0-113-7-8443");
    assert_eq!(ip["to"], serde_json::json!([{ "ipBlock": { "cidr": "203.0.113.7/32" } }]));
    assert_eq!(ip["ports"], serde_json::json!([{ "protocol": "TCP", "port": 8443 }]));
    let host = rule("allow-cron-egress-hooks-slack-com-443");
    assert_eq!(host["to"][0]["ipBlock"]["cidr"], "0.0.0.0/0");
    assert!(host["to"][0]["ipBlock"]["except"].as_array().is_some_and(|e| e.iter().any(|c| c == "10.0.0.0/8")));
}

pub(crate) fn flows_match(program: &ir::Program) {
    let files = tree(program);
    for env in &program.environments {
        let pols = policies(&files, &env.name);
        let deny = pols.iter().find(|p| p["metadata"]["name"] == "default-deny").expect("a default deny");
        assert_eq!(deny["spec"]["podSelector"], serde_json::json!({}));
        assert_eq!(deny["spec"]["policyTypes"], serde_json::json!(["Ingress", "Egress"]));
        let (egress, ingress) = allowed(&pols, env);
        let (want_egress, want_ingress) = declared(env);
        assert_eq!(egress, want_egress, "egress of {}", env.name);
        assert_eq!(ingress, want_ingress, "ingress of {}", env.name);
    }
}

/// Renders every overlay with `kubectl kustomize`; skipped (visibly) without kubectl,
/// unless `GOVC_REQUIRE_TOOLS=1`.
#[test]
fn overlays_render_with_kubectl() {
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let found =
        std::process::Command::new(&kubectl).arg("version").arg("--client").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("GOVC_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "kubectl not found and GOVC_REQUIRE_TOOLS=1"
        );
        eprintln!("skipped: kubectl not found");
        return;
    }
    for program in programs() {
        let dir = tempfile::tempdir().expect("a temp dir");
        for (path, text) in tree(&program) {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        for env in &program.environments {
            let overlay = dir.path().join("kubernetes/overlays").join(&env.name);
            let out =
                std::process::Command::new(&kubectl).arg("kustomize").arg(&overlay).output().expect("kubectl runs");
            assert!(out.status.success(), "kubectl kustomize {}: {}", env.name, String::from_utf8_lossy(&out.stderr));
            let rendered = String::from_utf8_lossy(&out.stdout);
            assert!(rendered.contains(&format!("namespace: {}", env.namespace)), "{} has its namespace", env.name);
            assert!(!rendered.contains("\nkind: Secret\n"), "{} renders a Secret", env.name);
            assert_renders_the_environment(&program, env, &rendered);
        }
    }
}

/// Base + overlay, as Kustomize renders them, are exactly the objects built from the
/// environment's own view (with the namespace, the overlay labels and the pinned image).
fn assert_renders_the_environment(program: &ir::Program, env: &ir::Environment, rendered: &str) {
    let mut got = BTreeMap::new();
    for doc in serde_norway::Deserializer::from_str(rendered) {
        let yaml: serde_norway::Value = serde::Deserialize::deserialize(doc).expect("rendered YAML parses");
        let mut obj: Value = serde_norway::from_value(yaml).expect("converts");
        let meta = obj["metadata"].as_object_mut().expect("metadata");
        let namespace = meta.remove("namespace").and_then(|n| n.as_str().map(str::to_string)).unwrap_or_default();
        if let Some(Value::Object(labels)) = meta.get_mut("labels") {
            labels.remove("environment");
            labels.remove("tier");
        }
        let key = format!(
            "{namespace}/{}/{}",
            obj["kind"].as_str().unwrap_or_default(),
            obj["metadata"]["name"].as_str().unwrap_or_default()
        );
        got.insert(key, obj);
    }
    let view = super::View::new(&program.project, Some(env), &env.resources);
    let mut want = BTreeMap::new();
    // The cluster's objects keep their own namespace (`kube-system`) or none.
    for obj in super::cluster::objects(&view).expect("cluster objects") {
        let mut value = parse(&obj.to_document());
        let namespace = value["metadata"].as_object_mut().and_then(|m| m.remove("namespace"));
        let namespace = namespace.and_then(|n| n.as_str().map(str::to_string)).unwrap_or_default();
        want.insert(format!("{namespace}/{}/{}", obj.kind, obj.name), value);
    }
    for obj in super::objects(&view).expect("objects") {
        let mut value = parse(&obj.to_document());
        if obj.kind == "Deployment" {
            let svc = env.resources.service(&obj.name).expect("a Deployment per service");
            if let Some(image) = &svc.image {
                let pinned = match (&image.digest, &image.tag) {
                    (Some(d), _) => format!("{}@{d}", image.name),
                    (None, Some(t)) => format!("{}:{t}", image.name),
                    (None, None) => image.name.clone(),
                };
                value["spec"]["template"]["spec"]["containers"][0]["image"] = pinned.into();
            }
        }
        let namespace = if obj.kind == "Namespace" { "" } else { env.namespace.as_str() };
        want.insert(format!("{namespace}/{}/{}", obj.kind, obj.name), value);
    }
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "objects of {}", env.name);
    for (key, value) in &want {
        assert_eq!(&got[key], value, "{key} in {}", env.name);
    }
}

/// The project of `tests/cases/values/long_names.gov`: every name at its 63-character
/// limit, so `<project>-<env>` and other derived names overflow theirs.
const LONG_NAMES: &str = include_str!("../../../../tests/cases/values/long_names.gov");

/// Whether `name` is a DNS-1123 label of at most `max` characters.
fn is_label(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    !name.is_empty()
        && name.len() <= max
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Every Kubernetes name limit an object of the rendered overlay must meet: Namespace and
/// Service names are DNS-1123 labels (63), a StatefulSet's name leaves room for its pods'
/// `controller-revision-hash` (52), any other name is a subdomain (253), label values
/// and container names fit in 63.
fn assert_kubernetes_limits(obj: &Value) {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let max = match kind {
        "Namespace" | "Service" => 63,
        "StatefulSet" => crate::emit::names::STATEFUL_SET_MAX,
        _ => 253,
    };
    assert!(is_label(&name.replace('.', "-"), max), "{kind} name `{name}` ({} characters) exceeds {max}", name.len());
    if let Some(ns) = obj["metadata"]["namespace"].as_str() {
        assert!(is_label(ns, 63), "{kind} `{name}`: namespace `{ns}` is not a DNS-1123 label");
    }
    fn labels(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if let ("labels" | "matchLabels", Value::Object(labels)) = (k.as_str(), v) {
                        out.extend(labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())));
                    }
                    labels(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| labels(i, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    labels(obj, &mut found);
    for (key, value) in found {
        assert!(value.len() <= 63, "{kind} `{name}`: label {key}={value} has {} characters", value.len());
    }
    for c in obj["spec"]["template"]["spec"]["containers"].as_array().into_iter().flatten() {
        assert!(is_label(c["name"].as_str().unwrap_or_default(), 63), "{kind} `{name}`: container name {c}");
    }
}

/// Long project, environment and resource names build, every derived Kubernetes name
/// meets its limit in `kubectl kustomize`'s rendering, and the shortened names are the
/// ones every reference uses: the Service and Ingress backends, the selectors, the
/// NetworkPolicies and the SecurityGroupPolicies of Terraform's `security_group_policies`.
#[test]
fn long_names_are_shortened_consistently_and_render_with_kubectl() {
    let mut sources = crate::Sources::with_stdlib();
    sources.add("project.gov", LONG_NAMES);
    let compiled = crate::compile(&sources, &crate::Options { emit: true });
    assert!(compiled.diagnostics.is_empty(), "{:?}", compiled.diagnostics);
    let program = compiled.program.expect("a program");
    let files = compiled.files;
    for env in &program.environments {
        assert!(is_label(&env.namespace, 63), "namespace `{}`", env.namespace);
        assert!(format!("{}-{}", program.project, env.name).len() > 63, "the fixture overflows the namespace");
        let kustomization = parse(&files[&format!("kubernetes/overlays/{}/kustomization.yaml", env.name)]);
        assert_eq!(kustomization["namespace"], env.namespace.as_str());
        // Attributes read the same namespace: `WORKER_URL = worker.url`.
        let worker = &env.resources.services[1];
        let api = &env.resources.services[0];
        let url = api.env.iter().find(|e| e.key == "WORKER_URL").expect("WORKER_URL");
        let ir::EnvValue::Attribute { value, .. } = &url.value else { panic!("an attribute: {:?}", url.value) };
        assert_eq!(value, &format!("http://{}.{}.svc.cluster.local:9090", worker.name, env.namespace));
        if env.tier == ir::Tier::Local {
            continue;
        }
        // Terraform's SecurityGroupPolicies select the pods the Deployments label, in the
        // namespace the overlay sets.
        let outputs: Value =
            serde_json::from_str(&files[&format!("terraform/{}/outputs.tf.json", env.name)]).expect("JSON");
        let policies = outputs["output"]["security_group_policies"]["value"]["items"].as_array().expect("items");
        assert_eq!(policies.len(), env.resources.services.len() + bootstraps(env).len());
        for (policy, svc) in policies.iter().zip(&env.resources.services) {
            assert_eq!(policy["metadata"]["namespace"], env.namespace.as_str());
            let want: Value = parse(&super::yaml::to_embedded(&super::selector(&program.project, &svc.name)));
            assert_eq!(policy["spec"]["podSelector"]["matchLabels"], want, "{}", svc.name);
            assert_kubernetes_limits(policy);
        }
    }

    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let found =
        std::process::Command::new(&kubectl).arg("version").arg("--client").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("GOVC_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "kubectl not found and GOVC_REQUIRE_TOOLS=1"
        );
        eprintln!("skipped: kubectl not found (the kustomize rendering of long names is not checked)");
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    for (path, text) in &files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    for env in &program.environments {
        let overlay = dir.path().join("kubernetes/overlays").join(&env.name);
        let out = std::process::Command::new(&kubectl).arg("kustomize").arg(&overlay).output().expect("kubectl runs");
        assert!(out.status.success(), "kubectl kustomize: {}", String::from_utf8_lossy(&out.stderr));
        let rendered = String::from_utf8_lossy(&out.stdout);
        assert_renders_the_environment(&program, env, &rendered);
        let objects = parse_all(&rendered);
        for obj in &objects {
            assert_kubernetes_limits(obj);
        }
        let named = |kind: &str| -> BTreeSet<String> {
            objects
                .iter()
                .filter(|o| o["kind"] == kind)
                .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        };
        let services = named("Service");
        // Every Ingress backend names a rendered Service.
        for ing in objects.iter().filter(|o| o["kind"] == "Ingress") {
            for path in ing["spec"]["rules"][0]["http"]["paths"].as_array().expect("paths") {
                let backend = path["backend"]["service"]["name"].as_str().expect("a backend");
                assert!(services.contains(backend), "backend `{backend}` is not a Service");
            }
        }
        // Every selector (Services, NetworkPolicies, PDBs) selects pods some workload labels.
        let pod_labels: Vec<&Value> = objects
            .iter()
            .filter(|o| ["Deployment", "StatefulSet", "Job"].contains(&o["kind"].as_str().unwrap_or_default()))
            .map(|o| &o["spec"]["template"]["metadata"]["labels"])
            .collect();
        let selects = |selector: &Value| {
            let want = selector.as_object().expect("a selector");
            pod_labels.iter().any(|labels| want.iter().all(|(k, v)| &labels[k] == v))
        };
        for obj in &objects {
            let selector = match obj["kind"].as_str() {
                Some("Service") => obj["spec"]["selector"].clone(),
                Some("NetworkPolicy" | "PodDisruptionBudget") => obj["spec"]["podSelector"]["matchLabels"].clone(),
                _ => continue,
            };
            if selector.as_object().is_some_and(|s| !s.is_empty()) {
                assert!(selects(&selector), "{} `{}` selects no pods", obj["kind"], obj["metadata"]["name"]);
            }
        }
        if env.tier == ir::Tier::Local {
            assert_eq!(named("StatefulSet").len(), 1, "the local postgres");
        }
    }
}

/// Every volume a container mounts is a volume of its pod (the local Postgres once
/// mounted its password without declaring the volume), and every ConfigMap or Secret
/// volume names an object of the tree (a ConfigMap) or one the ExternalSecrets or the
/// cert-manager Certificates (the load balancer controller's webhook) create.
#[test]
fn mounted_volumes_exist() {
    for program in programs() {
        let files = tree(&program);
        let objects: Vec<Value> = files.values().flat_map(|t| parse_all(t)).collect();
        let names = |kind: &str| -> BTreeSet<String> {
            objects
                .iter()
                .filter(|o| o["kind"] == kind)
                .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        };
        let config_maps = names("ConfigMap");
        let targets: BTreeSet<String> = objects
            .iter()
            .filter_map(|o| match o["kind"].as_str() {
                Some("ExternalSecret") => o["spec"]["target"]["name"].as_str(),
                Some("Certificate") => o["spec"]["secretName"].as_str(),
                _ => None,
            })
            .map(str::to_string)
            .collect();
        let mut pods = 0;
        for obj in &objects {
            let pod = &obj["spec"]["template"]["spec"];
            if pod.is_null() {
                continue;
            }
            pods += 1;
            let volumes = pod["volumes"].as_array().cloned().unwrap_or_default();
            let mut declared: BTreeSet<&str> = volumes.iter().filter_map(|v| v["name"].as_str()).collect();
            let claims = obj["spec"]["volumeClaimTemplates"].as_array().cloned().unwrap_or_default();
            let claims: Vec<String> =
                claims.iter().filter_map(|c| c["metadata"]["name"].as_str().map(str::to_string)).collect();
            declared.extend(claims.iter().map(String::as_str));
            let containers =
                ["initContainers", "containers"].iter().flat_map(|k| pod[k].as_array().cloned().unwrap_or_default());
            for c in containers {
                for m in c["volumeMounts"].as_array().cloned().unwrap_or_default() {
                    let name = m["name"].as_str().expect("a mount name");
                    assert!(
                        declared.contains(name),
                        "{} `{}` mounts undeclared volume `{name}`",
                        obj["kind"],
                        obj["metadata"]["name"]
                    );
                }
            }
            for v in &volumes {
                if let Some(cm) = v["configMap"]["name"].as_str() {
                    assert!(config_maps.contains(cm), "volume of ConfigMap `{cm}` that the tree lacks");
                }
                if let Some(secret) = v["secret"]["secretName"].as_str() {
                    assert!(targets.contains(secret), "volume of Secret `{secret}` that nothing creates");
                }
            }
        }
        assert!(pods > 0);
    }
}

/// The documents of `file` in the tree, parsed.
fn docs_of(files: &BTreeMap<String, String>, file: &str) -> Vec<Value> {
    parse_all(files.get(file).unwrap_or_else(|| panic!("{file} is emitted")))
}

/// The object of `kind` named `name` in `docs`.
fn object<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} is emitted"))
}

#[test]
fn probes_services_and_ingresses_follow_the_protocol() {
    let files = tree(&fixture::protocols());
    let deployments = docs_of(&files, "kubernetes/base/deployments.yaml");
    let container =
        |name: &str| object(&deployments, "Deployment", name)["spec"]["template"]["spec"]["containers"][0].clone();
    let (api, temporal, broker) = (container("api"), container("temporal"), container("broker"));
    assert_eq!(api["readinessProbe"]["httpGet"]["path"], "/api/health");
    assert_eq!(api["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(temporal["readinessProbe"]["grpc"]["port"], 7233, "the grpc probe takes a number: {temporal}");
    assert!(temporal["readinessProbe"].get("httpGet").is_none());
    assert_eq!(temporal["ports"][0]["name"], "grpc");
    assert_eq!(broker["livenessProbe"]["tcpSocket"]["port"], "tcp");
    assert_eq!(broker["ports"][0]["name"], "tcp");

    let services = docs_of(&files, "kubernetes/base/services.yaml");
    let annotations = |name: &str| object(&services, "Service", name)["metadata"]["annotations"].clone();
    let port = |name: &str| object(&services, "Service", name)["spec"]["ports"][0].clone();
    assert_eq!(annotations("api")["alb.ingress.kubernetes.io/healthcheck-path"], "/api/health");
    assert!(annotations("api").get("alb.ingress.kubernetes.io/backend-protocol-version").is_none());
    let grpc = annotations("temporal");
    assert_eq!(grpc["alb.ingress.kubernetes.io/backend-protocol-version"], "GRPC");
    assert_eq!(grpc["alb.ingress.kubernetes.io/healthcheck-path"], "/grpc.health.v1.Health/Check");
    assert_eq!(grpc["alb.ingress.kubernetes.io/success-codes"], "0");
    assert!(annotations("broker").is_null(), "a tcp service has no target group");
    assert_eq!(port("api")["appProtocol"], "http");
    assert_eq!(port("temporal")["appProtocol"], "kubernetes.io/h2c");
    assert_eq!(port("temporal")["targetPort"], "grpc");
    assert!(port("broker").get("appProtocol").is_none());

    // Cloud: one Ingress (the ALB reads the protocol per Service); its gRPC backend names the `grpc` port.
    let staging = docs_of(&files, "kubernetes/overlays/staging/ingresses.yaml");
    assert_eq!(staging.len(), 1);
    let paths = staging[0]["spec"]["rules"][0]["http"]["paths"].as_array().expect("paths").clone();
    let temporal_path = paths.iter().find(|p| p["path"] == "/temporal").expect("the grpc route");
    assert_eq!(temporal_path["backend"]["service"]["port"]["name"], "grpc");
    // Local: ingress-nginx reads the backend protocol per Ingress, so the gRPC routes have their own.
    let local = docs_of(&files, "kubernetes/overlays/local/ingresses.yaml");
    assert_eq!(local.len(), 2, "{local:?}");
    let http = object(&local, "Ingress", "edge");
    assert!(http["metadata"].get("annotations").is_none());
    let routed: Vec<&Value> = http["spec"]["rules"][0]["http"]["paths"].as_array().expect("paths").iter().collect();
    assert!(routed.iter().all(|p| p["backend"]["service"]["name"] != "temporal"));
    let grpc = object(&local, "Ingress", "edge-grpc");
    assert_eq!(grpc["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"], "GRPC");
    assert_eq!(grpc["spec"]["tls"], http["spec"]["tls"], "one host, one TLS Secret");
    let grpc_paths = grpc["spec"]["rules"][0]["http"]["paths"].as_array().expect("paths");
    assert_eq!(grpc_paths.len(), 1);
    assert_eq!(grpc_paths[0]["backend"]["service"]["name"], "temporal");
}

/// Policy names are made of resource names, which may hold `-to-`: `x` → `y-to-z` and
/// `x-to-y` → `z` would both be `allow-x-to-y-to-z-*`. Each keeps a policy of its own
/// (the shared name gets a hash of the policy), every other name is unchanged, and the
/// overlay still renders.
#[test]
fn policies_of_flows_with_coinciding_names_keep_their_own_names() {
    let mut program = fixture::zenthea();
    let before = tree(&program);
    for env in &mut program.environments {
        let mut x = fixture::service("x", 8080);
        x.connects = vec![ir::Connection::Service("y-to-z".into())];
        let mut x_to_y = fixture::service("x-to-y", 8080);
        x_to_y.connects = vec![ir::Connection::Service("z".into())];
        let services = &mut env.resources.services;
        services.extend([x, x_to_y, fixture::service("y-to-z", 8080), fixture::service("z", 8080)]);
    }
    let files = tree(&program);
    let mut flows = BTreeMap::new();
    let overlays = files.iter().filter(|(p, _)| p.starts_with("kubernetes/overlays/"));
    for (path, text) in overlays.filter(|(p, _)| p.ends_with("networkpolicies.yaml")) {
        let mut names = BTreeSet::new();
        for doc in parse_all(text) {
            let name = doc["metadata"]["name"].as_str().expect("a name").to_string();
            assert!(names.insert(name.clone()), "{path}: two policies named {name}");
            let flow = doc["metadata"]["annotations"][super::netpol::FLOW_ANNOTATION].as_str().map(str::to_string);
            flows.entry(path.clone()).or_insert_with(BTreeSet::new).insert(flow);
        }
        assert!(names.iter().filter(|n| n.starts_with("allow-x-to-y-to-z-egress-")).count() == 2, "{path}: {names:?}");
    }
    // Names without a collision are the ones the program had before.
    let unchanged = |files: &BTreeMap<String, String>| -> BTreeSet<String> {
        files
            .iter()
            .filter(|(p, _)| p.ends_with("networkpolicies.yaml"))
            .flat_map(|(_, t)| parse_all(t))
            .filter_map(|d| d["metadata"]["name"].as_str().map(str::to_string))
            .filter(|n| !n.contains("x-to") && !n.contains("-x-") && !n.contains("to-z") && !n.contains("-z-"))
            .collect()
    };
    assert_eq!(unchanged(&before), unchanged(&files));
    if std::process::Command::new("kubectl").arg("version").arg("--client").output().is_ok() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in &files {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
            std::fs::write(&file, text).expect("write");
        }
        let out = std::process::Command::new("kubectl")
            .args(["kustomize", &dir.path().join("kubernetes/overlays/production").to_string_lossy()])
            .output()
            .expect("kubectl runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
