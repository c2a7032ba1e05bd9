//! The flow read-back at both layers, on real projects: `envs/`, every example that
//! builds and a generated fleet-100. For every cloud environment the security group rules
//! (Terraform) and the NetworkPolicies (Kustomize, base + overlay) are read back from the
//! emitted files and compared with the program's flows, nothing more and nothing less;
//! then the two layers are intersected, which must give exactly the program's flows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::kustomize::tests as k8s;
use super::terraform::tests as tf;
use crate::ir::{self, Connection, Tier};

/// Compiles a project from `(path, text)` files; `None` when it does not build.
pub(super) fn compile(files: Vec<(String, String)>) -> Option<(ir::Program, BTreeMap<String, String>)> {
    let mut sources = crate::Sources::with_stdlib();
    for (path, text) in files {
        sources.add(path, text);
    }
    let out = crate::compile(&sources, &crate::Options { emit: true });
    if out.has_errors() {
        return None;
    }
    Some((out.program?, out.files))
}

/// The `.gov` files under `dir`: paths relative to it, `/`-separated, sorted.
pub(crate) fn project(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "gov") {
                let rel = path.strip_prefix(dir).expect("below").to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).expect("utf-8")));
            }
        }
    }
    out.sort();
    out
}

/// The program's own flows, as `(from, to, port/TCP)`: ingress → service on route ports,
/// service → service and service → postgres by `connects`, service → egress destination.
fn program_flows(env: &ir::Environment) -> BTreeSet<(String, String, String)> {
    let res = &env.resources;
    let f = |a: &str, b: &str, port: u16| (a.to_string(), b.to_string(), format!("{port}/TCP"));
    let mut out = BTreeSet::new();
    for r in res.ingresses.iter().flat_map(|i| &i.routes) {
        out.insert(f("ingress", &r.service, r.port));
    }
    for svc in &res.services {
        for conn in &svc.connects {
            match conn {
                Connection::Service(to) => out.insert(f(&svc.name, to, res.service(to).expect("resolved").port)),
                Connection::Postgres(pg) => out.insert(f(&svc.name, pg, res.database(pg).expect("resolved").port)),
                // S3 through the VPC's gateway endpoint (cloud environments only here).
                Connection::Bucket(_) => out.insert(f(&svc.name, "s3", 443)),
            };
        }
        for eg in &svc.egress {
            let to = eg.host.parse::<std::net::Ipv4Addr>().map_or_else(|_| "internet".into(), |ip| format!("ip {ip}"));
            out.insert(f(&svc.name, &to, eg.port));
        }
    }
    // What the program implies: the bootstrap Job of a connected cloud database reaches
    // the database and the Secrets Manager endpoint (its master secret); a service with
    // an IAM role reaches STS.
    for (pods, db) in k8s::bootstraps(env) {
        out.insert(f(&pods, &db.name, db.port));
        out.insert(f(&pods, "endpoints", 443));
    }
    // A cloud service that connects to a postgres has an IAM role: STS, by the endpoint.
    if env.tier != Tier::Local {
        for svc in res.services.iter().filter(|s| res.has_role(s)) {
            out.insert(f(&svc.name, "endpoints", 443));
        }
    }
    // `telemetry`: every service sends OTLP (gRPC, HTTP) to the collector, which exports
    // to the declared backends.
    if let Some(telemetry) = &env.telemetry {
        let collector = ir::Telemetry::COLLECTOR;
        for svc in &res.services {
            out.insert(f(&svc.name, collector, ir::Telemetry::OTLP_GRPC_PORT));
            out.insert(f(&svc.name, collector, ir::Telemetry::OTLP_HTTP_PORT));
        }
        for (_, eg) in telemetry.backends() {
            let to = eg.host.parse::<std::net::Ipv4Addr>().map_or_else(|_| "internet".into(), |ip| format!("ip {ip}"));
            out.insert(f(collector, &to, eg.port));
        }
    }
    out
}

/// Both layers of every cloud environment of a built project; returns how many flows
/// were checked.
fn check_project(what: &str, program: &ir::Program, files: &BTreeMap<String, String>) -> usize {
    let mut checked = 0;
    for env in &program.environments {
        // The NetworkPolicy layer, every environment (the existing read-back).
        let pols = k8s::policies(files, &env.name);
        let (np_egress, np_ingress) = k8s::allowed(&pols, env);
        let (want_egress, want_ingress) = k8s::declared(env);
        assert_eq!(np_egress, want_egress, "{what}: NetworkPolicy egress of {}", env.name);
        assert_eq!(np_ingress, want_ingress, "{what}: NetworkPolicy ingress of {}", env.name);
        if env.tier == Tier::Local {
            continue;
        }
        // The security group layer.
        let sg = tf::security_group_flows(files, env);
        assert_eq!(sg, tf::expected_security_group_flows(env), "{what}: security groups of {}", env.name);
        // Both layers: a flow passes when the sender's egress policy and the receiver's
        // ingress policy (if the receiver is a pod) and both security groups allow it.
        let runtime_subnets = &env.resources.networks[0].segment(ir::SegmentRole::Runtime).subnets;
        let np_allows = |(from, to, port): &(String, String, String)| {
            if to == "endpoints" {
                // The endpoint's addresses are in the runtime subnets, each one allowed.
                return runtime_subnets
                    .iter()
                    .all(|s| np_egress.contains(&(from.clone(), format!("runtime {s}"), port.clone())));
            }
            if to == "s3" {
                // S3's addresses are public: the NetworkPolicy allows any address outside
                // the VPC and the private ranges on 443; the security group narrows it to
                // the S3 prefix list.
                return np_egress.contains(&(from.clone(), "internet".to_string(), port.clone()));
            }
            let is_db = env.resources.database(to).is_some();
            let np_to = if is_db { "persistence" } else { to.as_str() };
            let key = (from.clone(), np_to.to_string(), port.clone());
            let out_ok = from == "ingress" || np_egress.contains(&key);
            let in_ok = is_db || to.starts_with("ip ") || to == "internet" || np_ingress.contains(&key);
            out_ok && in_ok
        };
        let program = program_flows(env);
        let effective: BTreeSet<_> = sg.iter().filter(|t| np_allows(t)).cloned().collect();
        let effective: BTreeSet<_> = effective.into_iter().filter(|(a, b, _)| a != "nodes" && b != "nodes").collect();
        assert_eq!(effective, program, "{what}: both layers together in {}", env.name);
        checked += program.len();
        // The SecurityGroupPolicy selects exactly the pods of its service's Deployment.
        sgp_selects_the_deployment(what, files, env);
    }
    checked
}

fn sgp_selects_the_deployment(what: &str, files: &BTreeMap<String, String>, env: &ir::Environment) {
    let outputs: serde_json::Value =
        serde_json::from_str(&files[&format!("terraform/{}/outputs.tf.json", env.name)]).expect("JSON");
    let items = outputs["output"]["security_group_policies"]["value"]["items"].as_array().cloned().unwrap_or_default();
    let mut labels = BTreeMap::new();
    for (path, text) in files.iter().filter(|(p, _)| p.ends_with("/deployments.yaml") || p.ends_with("/jobs.yaml")) {
        let in_scope =
            path.starts_with("kubernetes/base/") || path.starts_with(&format!("kubernetes/overlays/{}/", env.name));
        if !in_scope {
            continue;
        }
        for doc in serde_norway::Deserializer::from_str(text) {
            let yaml: serde_norway::Value = serde::Deserialize::deserialize(doc).expect("YAML");
            let d: serde_json::Value = serde_norway::from_value(yaml).expect("JSON");
            let pod = d["spec"]["template"]["metadata"]["labels"].clone();
            let name = pod["app.kubernetes.io/name"].as_str().expect("a name label").to_string();
            labels.insert(name, pod);
        }
    }
    let bootstraps = k8s::bootstraps(env).len();
    let collector = usize::from(env.telemetry.is_some());
    assert_eq!(
        items.len(),
        env.resources.services.len() + bootstraps + collector,
        "{what}: one SecurityGroupPolicy per service, bootstrap Job and collector"
    );
    for sgp in &items {
        let selector = sgp["spec"]["podSelector"]["matchLabels"].as_object().expect("matchLabels");
        let name = selector["app.kubernetes.io/name"].as_str().expect("name label");
        let pod = &labels[name];
        for (k, v) in selector {
            assert_eq!(&pod[k], v, "{what}: {name}'s pods carry {k}");
        }
    }
}

#[test]
fn flows_of_the_reference_system_and_the_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (program, files) = compile(project(&root.join("envs"))).expect("envs/ builds");
    let mut checked = check_project("envs", &program, &files);
    let mut examples = 0;
    for entry in std::fs::read_dir(root.join("examples")).expect("examples/").flatten() {
        if let Some((program, files)) = compile(project(&entry.path())) {
            checked += check_project(&entry.path().display().to_string(), &program, &files);
            examples += 1;
        }
    }
    assert!(examples >= 1, "at least one example builds");
    assert!(checked > 0, "some flows were checked");
}

/// `envs/` bent to every flow kind at once: a second database that only the worker
/// connects to (the API must not reach it at either layer) and an IP egress entry.
#[test]
fn flows_of_a_second_database_and_an_ip_egress() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files: Vec<(String, String)> = project(&root.join("envs"))
        .into_iter()
        .map(|(path, text)| {
            if path != "stack.gov" {
                return (path, with_ledger_settings(&text));
            }
            let bent = text
                .replacen(
                    "  postgres main {\n    version = 16\n  }\n",
                    "  postgres main {\n    version = 16\n  }\n  postgres ledger { version = 16 }\n",
                    1,
                )
                .replacen(
                    "connects = [main]\n    egress = [\"api.stripe.com:443\"]",
                    "connects = [main, ledger]\n    egress = [\"api.stripe.com:443\", \"203.0.113.7:8443\"]",
                    1,
                );
            assert_ne!(bent, text, "the stack was bent");
            (path, bent)
        })
        .collect();
    let (program, files) = compile(files).expect("the bent envs/ builds");
    check_project("envs + ledger + IP egress", &program, &files);
    let staging = program.environments.iter().find(|e| e.name == "staging").expect("staging");
    let sg = tf::security_group_flows(&files, staging);
    let flow = |a: &str, b: &str, p: &str| (a.to_string(), b.to_string(), p.to_string());
    assert!(sg.contains(&flow("worker", "ledger", "5432/TCP")));
    assert!(sg.contains(&flow("worker", "ip 203.0.113.7", "8443/TCP")));
    assert!(!sg.contains(&flow("api", "ledger", "5432/TCP")), "api does not connect to ledger");
}

/// An environment file with a copy of its settings of `main` for `ledger`.
fn with_ledger_settings(text: &str) -> String {
    let Some(start) = text.find("  postgres main {") else { return text.to_string() };
    let end = start + text[start..].find("\n  }\n").expect("the block of main ends") + "\n  }\n".len();
    let ledger = text[start..end].replacen("postgres main", "postgres ledger", 1);
    format!("{}{ledger}{}", &text[..end], &text[end..])
}

#[test]
fn flows_of_fleet_100() {
    let (program, files) = compile(govc_bench::fleet(100)).expect("fleet-100 builds");
    let checked = check_project("fleet-100", &program, &files);
    // Per cloud environment: 100 routes + 100 connects, 100 services to STS (each has an
    // IAM role), and main's bootstrap Job to main and to Secrets Manager.
    assert_eq!(checked, 3 * (200 + 100 + 2));
}

/// `envs/` with buckets (see `identity_tests::envs_with_buckets`): the API reaches S3 (its
/// evidence bucket) and the worker too (uploads), at both layers; the web, which connects
/// to no bucket, gets neither the security group rule to the S3 prefix list nor the
/// NetworkPolicy egress on 443. Locally, exactly those services and the bucket Job reach
/// MinIO.
#[test]
fn flows_with_buckets() {
    let (program, files) = compile(super::identity_tests::envs_with_buckets()).expect("envs/ with buckets builds");
    check_project("envs + buckets", &program, &files);
    let flow = |a: &str, b: &str, p: &str| (a.to_string(), b.to_string(), p.to_string());
    for env in program.environments.iter().filter(|e| e.tier != Tier::Local) {
        let sg = tf::security_group_flows(&files, env);
        assert!(sg.contains(&flow("api", "s3", "443/TCP")), "{}", env.name);
        assert!(sg.contains(&flow("worker", "s3", "443/TCP")), "{}", env.name);
        assert!(!sg.iter().any(|(a, b, _)| a == "web" && b == "s3"), "web reaches no bucket in {}", env.name);
        let (np_egress, _) = k8s::allowed(&k8s::policies(&files, &env.name), env);
        assert!(np_egress.contains(&flow("api", "internet", "443/TCP")));
        assert!(!np_egress.iter().any(|(a, b, _)| a == "web" && b == "internet"), "web has no way out in {}", env.name);
    }
    let local = program.environments.iter().find(|e| e.tier == Tier::Local).expect("local");
    let (np_egress, np_ingress) = k8s::allowed(&k8s::policies(&files, &local.name), local);
    let minio = super::kustomize::storage::NAME;
    for from in ["api", "worker", super::kustomize::storage::job_label().as_str()] {
        assert!(np_egress.contains(&flow(from, minio, "9000/TCP")), "{from}");
        assert!(np_ingress.contains(&flow(from, minio, "9000/TCP")), "{from}");
    }
    assert!(!np_egress.iter().any(|(a, b, _)| a == "web" && b == minio));
}

/// `envs/` with `telemetry` in every environment: the collector's flows (OTLP from every
/// service, its backends by name and by address) hold at both layers, and no other
/// workload reaches the collector or its backends.
#[test]
fn flows_of_the_collector() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files: Vec<(String, String)> = project(&root.join("envs"))
        .into_iter()
        .map(|(path, text)| {
            if !text.contains("\nenvironment ") {
                return (path, text);
            }
            let start = text.find("\nenvironment ").expect("an environment") + 1;
            let open = start + text[start..].find("{\n").expect("its block") + 2;
            let telemetry =
                "  telemetry {\n    traces = \"otlp.example.com:4317\"\n    logs = \"203.0.113.9:4317\"\n  }\n";
            (path, format!("{}{telemetry}{}", &text[..open], &text[open..]))
        })
        .collect();
    let (program, files) = compile(files).expect("envs/ with telemetry builds");
    assert!(program.environments.iter().all(|e| e.telemetry.is_some()), "every environment has telemetry");
    let checked = check_project("envs + telemetry", &program, &files);
    assert!(checked > 0);
    let staging = program.environments.iter().find(|e| e.name == "staging").expect("staging");
    let sg = tf::security_group_flows(&files, staging);
    let flow = |a: &str, b: &str, p: &str| (a.to_string(), b.to_string(), p.to_string());
    for svc in &staging.resources.services {
        assert!(sg.contains(&flow(&svc.name, "otel-collector", "4317/TCP")), "{} -> collector", svc.name);
        assert!(sg.contains(&flow(&svc.name, "otel-collector", "4318/TCP")), "{} -> collector", svc.name);
        assert!(!sg.contains(&flow(&svc.name, "ip 203.0.113.9", "4317/TCP")), "only the collector exports");
    }
    assert!(sg.contains(&flow("otel-collector", "ip 203.0.113.9", "4317/TCP")));
    assert!(sg.contains(&flow("otel-collector", "internet", "4317/TCP")));
    assert!(!sg.iter().any(|(a, b, _)| a == "otel-collector" && env_has(staging, b)), "the collector calls no service");
}

fn env_has(env: &ir::Environment, name: &str) -> bool {
    env.resources.service(name).is_some() || env.resources.database(name).is_some()
}
