//! Tests of the Terraform emitter: a hand-built IR fixture (`zenthea`), structure and
//! determinism checks, per-file snapshots of a small case, and, when the real tools are
//! present, `terraform console` (escaping), `terraform validate` and an offline
//! `terraform plan` whose resource counts must match the program.
//!
//! Set `GOVC_DUMP_DIR` to write the fixture's files there; set `GOVC_REQUIRE_TOOLS=1` to
//! turn "tool not found" skips into failures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use ipnet::Ipv4Net;

use super::emit;
use super::json::{escape, lit};
use crate::carve;
use crate::ir::*;

/// The CI role and hosted zone the production fixture declares.
pub(crate) const CI_ROLE: &str = "arn:aws:iam::123456789012:role/ci/zenthea-deployer";
pub(crate) const HOSTED_ZONE: &str = "Z0123456789ABCDEFGHIJ";

fn network(cidr: &str, zones: u8, ingress: Exposure) -> Network {
    let cidr: Ipv4Net = cidr.parse().expect("fixture CIDR");
    let segments = SegmentRole::ALL
        .iter()
        .enumerate()
        .map(|(i, &role)| {
            let block = carve::segment_block(cidr, i).expect("fixture network splits");
            Segment {
                role,
                cidr: Some(block),
                exposure: if role == SegmentRole::Ingress { ingress } else { Exposure::Private },
                subnets: carve::zone_subnets(block, zones).expect("fixture subnets fit"),
            }
        })
        .collect();
    Network { name: "main".into(), doc: None, cidr: Some(cidr), zones, segments, from_stack: true }
}

fn service(name: &str, port: u16, replicas: (u32, u32)) -> Service {
    Service {
        name: name.into(),
        doc: None,
        image: None,
        port,
        replicas: Replicas { min: replicas.0, max: replicas.1 },
        cpu_millis: 500,
        memory_bytes: 512 << 20,
        protocol: Default::default(),
        health: "/healthz".into(),
        connects: vec![],
        egress: vec![],
        env: vec![],
        network: "main".into(),
        from_stack: true,
    }
}

fn postgres(env: &str, production: bool) -> Postgres {
    Postgres {
        name: "main".into(),
        doc: None,
        version: 16,
        class: Some(if production { "db.r6g.large" } else { "db.t4g.medium" }.into()),
        storage_gib: if production { 100 } else { 20 },
        backup_retention_days: if production { 14 } else { 7 },
        deletion_protection: production,
        multi_az: production,
        replicas: u8::from(production),
        network: "main".into(),
        host: format!("main.{env}.zenthea.internal"),
        database: "main".into(),
        port: 5432,
        from_stack: true,
    }
}

fn cloud_env(name: &str, tier: Tier, cidr: &str, host: &str) -> Environment {
    let production = tier == Tier::Production;
    let mut api = service("api", 8000, if production { (3, 10) } else { (1, 3) });
    api.connects = vec![Connection::Postgres("main".into())];
    api.env = vec![
        EnvVar {
            key: "DATABASE_HOST".into(),
            value: EnvValue::Attribute {
                resource: "main".into(),
                attribute: "host".into(),
                value: format!("main.{name}.zenthea.internal"),
            },
        },
        EnvVar { key: "STRIPE_KEY".into(), value: EnvValue::Secret { secret: "stripe-key".into(), path: None } },
    ];
    let mut worker = service("worker", 9000, (1, 2));
    worker.egress = vec![Egress { host: "api.stripe.com".into(), port: 443 }];
    worker.connects = vec![Connection::Service("api".into())];
    let secret = |n: &str, doc: Option<&str>| Secret {
        name: n.into(),
        doc: doc.map(str::to_string),
        path: Some(format!("zenthea/{name}/{n}")),
        from_stack: true,
    };
    Environment {
        name: name.into(),
        doc: None,
        tier,
        namespace: format!("zenthea-{name}"),
        stack: Some("app".into()),
        mirrors: None,
        aws: Some(Aws { account: Some("123456789012".into()), region: Some("eu-west-1".into()) }),
        state: Some(State { bucket: Some("zenthea-tfstate".into()), key: format!("{name}.tfstate"), region: None }),
        kubernetes_version: crate::emit::versions::EKS_DEFAULT_KUBERNETES_VERSION.into(),
        ci: production.then(|| Ci { role: Some(CI_ROLE.into()) }),
        telemetry: None,
        resources: Resources {
            networks: vec![network(cidr, 3, Exposure::Public)],
            databases: vec![postgres(name, production)],
            buckets: vec![],
            services: vec![service("web", 8080, if production { (2, 6) } else { (1, 2) }), api, worker],
            ingresses: vec![Ingress {
                name: "edge".into(),
                doc: None,
                host: Some(host.into()),
                zone: production.then(|| HOSTED_ZONE.into()),
                tls: Tls::Managed,
                routes: vec![
                    Route { path: "/".into(), service: "web".into(), port: 8080 },
                    Route { path: "/api".into(), service: "api".into(), port: 8000 },
                ],
                network: "main".into(),
                from_stack: true,
            }],
            secrets: vec![
                secret("session-key", None),
                secret("stripe-key", Some("Stripe API key: never ${interpolated} nor %{ if x }\"quoted\"\\")),
            ],
        },
    }
}

/// The `zenthea` fixture: local, staging and production.
pub(crate) fn zenthea() -> Program {
    let mut local = cloud_env("local", Tier::Local, "10.10.0.0/16", "zenthea.localhost");
    local.aws = None;
    local.state = None;
    Program {
        project: "zenthea".into(),
        phase: "launch".into(),
        capabilities: Vec::new(),
        stacks: vec![],
        environments: vec![
            local,
            cloud_env("staging", Tier::Staging, "10.30.0.0/16", "staging.zenthea.com"),
            cloud_env("production", Tier::Production, "10.40.0.0/16", "app.zenthea.com"),
        ],
    }
}

/// A small case for snapshots: one dev environment, 2 zones, private ingress, no egress.
fn small() -> Program {
    let mut env = cloud_env("dev", Tier::Dev, "10.50.0.0/20", "dev.example.internal");
    env.resources.networks = vec![network("10.50.0.0/20", 2, Exposure::Private)];
    env.resources.services.retain(|s| s.name != "worker");
    env.resources.secrets.truncate(1);
    env.resources.databases[0].host = "main.dev.demo.internal".into();
    Program {
        project: "demo".into(),
        phase: "launch".into(),
        capabilities: Vec::new(),
        stacks: vec![],
        environments: vec![env],
    }
}

/// A project and environment whose names exceed the AWS limits unless shortened.
fn long_names() -> Program {
    let mut program = small();
    program.project = "a-very-long-project-name-for-a-platform-team".into();
    let env = &mut program.environments[0];
    env.name = "integration-testing-eu".into();
    let zone = format!("{}.{}.internal", env.name, program.project);
    env.resources.databases[0].host = format!("main.{zone}");
    env.resources.databases[0].name = "orders-and-invoices-primary-database".into();
    program
}

fn parse(files: &BTreeMap<String, String>, path: &str) -> serde_json::Value {
    serde_json::from_str(files.get(path).unwrap_or_else(|| panic!("{path} emitted"))).expect("valid JSON")
}

fn count(files: &BTreeMap<String, String>, env: &str, ty: &str) -> usize {
    files
        .iter()
        .filter(|(p, _)| p.starts_with(&format!("terraform/{env}/")))
        .map(|(_, text)| {
            let doc: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
            doc["resource"][ty].as_object().map_or(0, |m| m.len())
        })
        .sum()
}

#[test]
fn escapes_template_syntax_only() {
    assert_eq!(escape("a ${b} %{c} $d %e"), "a $${b} %%{c} $d %e");
    assert_eq!(lit("x\"\\\n${y}"), super::json::Value::String("x\"\\\n$${y}".into()));
}

#[test]
fn local_gets_nothing_and_cloud_envs_get_their_files() {
    let files = emit(&zenthea()).expect("emits");
    assert!(files.keys().all(|p| !p.starts_with("terraform/local/")));
    let prod: Vec<&str> = files.keys().filter_map(|p| p.strip_prefix("terraform/production/")).collect();
    assert_eq!(
        prod,
        [
            "backend.tf.json",
            "compute.tf.json",
            "firewall.tf.json",
            "identity.tf.json",
            "ingress.tf.json",
            "network.tf.json",
            "outputs.tf.json",
            "postgres.tf.json",
            "providers.tf.json",
            "secrets.tf.json"
        ]
    );
    for text in files.values() {
        assert!(text.starts_with("{\n  \"//\": \"generated by govc from project zenthea"), "{text}");
        assert!(text.ends_with("}\n"));
    }
    assert_eq!(files, emit(&zenthea()).expect("emits again"), "deterministic");
}

#[test]
fn production_counts_follow_the_program() {
    let files = emit(&zenthea()).expect("emits");
    assert_eq!(count(&files, "production", "aws_subnet"), 12, "3 segments and the firewall x 3 zones");
    assert_eq!(
        count(&files, "production", "aws_security_group"),
        4 + 1 + 1 + 3,
        "4 platform + 1 postgres + its bootstrap Job + 3 services"
    );
    assert_eq!(count(&files, "production", "aws_internet_gateway"), 1);
    assert_eq!(count(&files, "production", "aws_nat_gateway"), 3, "a NAT per zone");
    assert_eq!(count(&files, "staging", "aws_nat_gateway"), 1, "one NAT elsewhere");
    assert_eq!(
        count(&files, "production", "aws_route_table"),
        9,
        "ingress and runtime per zone, persistence, firewall, edge"
    );
    assert_eq!(count(&files, "production", "aws_db_instance"), 2, "writer + one replica");
    assert_eq!(
        count(&files, "production", "aws_route53_record"),
        3,
        "the database's private name, the certificate's validation record, the host's alias"
    );
    assert_eq!(
        count(&files, "production", "aws_secretsmanager_secret"),
        3,
        "two of the program, the credentials of the ghcr.io pull-through cache"
    );
    let net = parse(&files, "terraform/production/network.tf.json");
    let sg = &net["resource"]["aws_security_group"];
    assert_eq!(sg["ingress"]["name"], "zenthea-production-ingress");
    assert_eq!(sg["runtime"]["name"], "zenthea-production-runtime");
    for role in [SegmentRole::Ingress, SegmentRole::Runtime] {
        let name = super::security_group_name("zenthea", "production", role);
        assert_eq!(sg[role.as_str()]["name"], name.as_str(), "the contract helper agrees");
    }
    let names = crate::emit::names::service_security_group_name("zenthea", "production", "api");
    assert_eq!(sg["svc_api"]["name"], names.as_str());
    assert_eq!(names, "zenthea-production-svc-api");
    let pg_name = crate::emit::names::postgres_security_group_name("zenthea", "production", "main");
    assert_eq!(sg["pg_main"]["name"], pg_name.as_str());
    assert!(sg.get("persistence").is_none(), "no group shared by every database");
    let subnet = &net["resource"]["aws_subnet"]["ingress_a"];
    assert_eq!(subnet["tags"]["kubernetes.io/role/elb"], "1");
    assert_eq!(subnet["tags"]["kubernetes.io/cluster/zenthea-production"], "shared");
    assert_eq!(subnet["availability_zone"], "eu-west-1a");
    let https = &net["resource"]["aws_vpc_security_group_ingress_rule"]["ingress_in_https_tcp_443"];
    assert_eq!(https["cidr_ipv4"], "0.0.0.0/0");
    let routes = net["resource"]["aws_route"].as_object().expect("routes");
    assert_eq!(
        routes.keys().collect::<Vec<_>>(),
        [
            "edge_ingress_a",
            "edge_ingress_b",
            "edge_ingress_c",
            "firewall_default",
            "ingress_a_default",
            "ingress_b_default",
            "ingress_c_default",
            "runtime_a_default",
            "runtime_b_default",
            "runtime_c_default"
        ]
    );
    let pg = parse(&files, "terraform/production/postgres.tf.json");
    assert_eq!(pg["resource"]["aws_route53_record"]["main"]["name"], "main.production.zenthea.internal");
    let secrets = parse(&files, "terraform/production/secrets.tf.json");
    let doc = secrets["resource"]["aws_secretsmanager_secret"]["stripe-key"]["description"].as_str().expect("doc");
    assert!(doc.contains("$${interpolated}") && doc.contains("%%{ if x }"), "{doc}");
}

#[test]
fn incomplete_cloud_environments_are_internal_errors() {
    let mut program = small();
    program.environments[0].aws = None;
    assert!(emit(&program).expect_err("no aws").contains("`aws` block"));
    let mut program = small();
    let extra = program.environments[0].resources.networks[0].clone();
    program.environments[0].resources.networks.push(extra);
    assert!(emit(&program).expect_err("two networks").contains("several networks"));
}

#[test]
fn long_names_are_shortened_within_aws_limits() {
    let files = emit(&long_names()).expect("emits");
    let limits = [
        ("aws_db_instance", "identifier", 63),
        ("aws_iam_role", "name", 64),
        ("aws_eks_cluster", "name", 100),
        ("aws_security_group", "name", 255),
        ("aws_db_subnet_group", "name", 255),
        ("aws_eks_node_group", "node_group_name", 63),
        ("aws_launch_template", "name", 128),
    ];
    for text in files.values() {
        let doc: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        for (ty, field, max) in limits {
            for body in doc["resource"][ty].as_object().into_iter().flat_map(|m| m.values()) {
                let name = body[field].as_str().expect("a name");
                assert!(name.len() <= max, "{ty}.{field} `{name}` longer than {max}");
                assert!(!name.ends_with('-') && !name.contains("--"), "{name}");
            }
        }
    }
}

#[test]
fn nodes_follow_the_sizing_rule() {
    let program = zenthea();
    for (env, expected) in [("staging", (3, 3, 4)), ("production", (3, 3, 7))] {
        let env = program.environments.iter().find(|e| e.name == env).expect("fixture env");
        let ctx = super::context(&program, env).expect("context");
        let n = super::compute::node_count(&ctx);
        // production max: (6 + 10 + 2) x 500m = 9000m -> 6 nodes of 1500m, + 1 for updates.
        assert_eq!((n.min, n.desired, n.max), expected, "{}", env.name);
    }
}

/// Many small pods: the nodes are counted by branch interfaces (one per pod with its own
/// security group), not by CPU or memory.
#[test]
fn nodes_have_a_branch_interface_per_service_pod() {
    let mut program = small();
    let env = &mut program.environments[0];
    env.resources.ingresses.clear();
    env.resources.services = (0..20)
        .map(|i| {
            let mut s = service(&format!("s{i}"), 8080, (2, 3));
            s.cpu_millis = 100;
            s.memory_bytes = 64 << 20;
            s.connects.clear();
            s
        })
        .collect();
    let env = &program.environments[0];
    let ctx = super::context(&program, env).expect("context");
    let n = super::compute::node_count(&ctx);
    // min: 40 pods / 9 per node = 5 (CPU alone: 4000m / 1500m = 3); max: 60 / 9 = 7, + 1.
    assert_eq!((n.min, n.max), (5, 8));
    assert_eq!(super::compute::BRANCH_ENIS_PER_NODE, 9);
}

#[test]
fn private_ingress_without_egress_has_no_way_out() {
    let files = emit(&small()).expect("emits");
    assert_eq!(count(&files, "dev", "aws_internet_gateway"), 0);
    assert_eq!(count(&files, "dev", "aws_nat_gateway"), 0);
    assert_eq!(count(&files, "dev", "aws_route"), 0);
    let net = parse(&files, "terraform/dev/network.tf.json");
    let https = &net["resource"]["aws_vpc_security_group_ingress_rule"]["ingress_in_https_tcp_443"];
    assert_eq!(https["cidr_ipv4"], "10.50.0.0/20");
    assert_eq!(net["resource"]["aws_subnet"]["ingress_b"]["tags"]["kubernetes.io/role/internal-elb"], "1");
}

#[test]
fn snapshots_of_a_small_case() {
    let files = emit(&small()).expect("emits");
    for (path, text) in &files {
        let name = path.replace('/', "__");
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn dump_when_asked() {
    let Some(dir) = std::env::var_os("GOVC_DUMP_DIR") else {
        return;
    };
    for (path, text) in emit(&zenthea()).expect("emits") {
        let out = Path::new(&dir).join(path);
        std::fs::create_dir_all(out.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(out, text).expect("write");
    }
}

// ---- the real tools -------------------------------------------------------------

const PLUGIN_DIR: &str = "/opt/tf-plugins";

/// `terraform` and the provider mirror, or a visible skip (a failure under
/// `GOVC_REQUIRE_TOOLS=1`).
fn terraform(what: &str, needs_plugins: bool) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("terraform"))
        .find(|p| p.is_file());
    let ok = found.is_some() && (!needs_plugins || Path::new(PLUGIN_DIR).is_dir());
    if !ok {
        let msg = format!("skipped {what}: terraform or {PLUGIN_DIR} not found");
        assert!(std::env::var("GOVC_REQUIRE_TOOLS").as_deref() != Ok("1"), "{msg} (GOVC_REQUIRE_TOOLS=1)");
        eprintln!("{msg}");
        return None;
    }
    found
}

fn tf(bin: &Path, dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .arg(format!("-chdir={}", dir.display()))
        .args(args)
        .env("TF_DATA_DIR", dir.join(".tfdata"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env("TF_INPUT", "0")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("AWS_ACCESS_KEY_ID", "AKIAGOVCOFFLINE00000")
        .env("AWS_SECRET_ACCESS_KEY", "govc-offline-fake-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("terraform runs")
}

fn check(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_root(files: &BTreeMap<String, String>, env: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        if let Some(name) = path.strip_prefix(&format!("terraform/{env}/")) {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
    }
    dir
}

#[test]
fn terraform_reads_escaped_literals_back() {
    let Some(bin) = terraform("escaping round trip", false) else {
        return;
    };
    let raw = "a ${b} %{ if c }d%{ endif } \"q\" back\\slash\nnew line $ % {}";
    let dir = tempfile::tempdir().expect("temp dir");
    let doc = serde_json::json!({ "locals": { "x": escape(raw) } });
    std::fs::write(dir.path().join("main.tf.json"), doc.to_string()).expect("write");
    let out = Command::new(&bin)
        .arg(format!("-chdir={}", dir.path().display()))
        .args(["console"])
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_DATA_DIR", dir.path().join(".tfdata"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(b"jsonencode(local.x)\n")?;
            child.wait_with_output()
        })
        .expect("terraform console runs");
    check(&out, "terraform console");
    // The console prints the HCL string quoting of the JSON text: decode both layers.
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let json_text: String = serde_json::from_str(&printed).expect("console prints a quoted string");
    let back: String = serde_json::from_str(&json_text).expect("jsonencode output");
    assert_eq!(back, raw);
}

#[test]
fn terraform_validates_every_root() {
    let Some(bin) = terraform("terraform validate", true) else {
        return;
    };
    let files = emit(&zenthea()).expect("emits");
    let long = emit(&long_names()).expect("emits");
    let roots = [(&files, "staging"), (&files, "production"), (&long, "integration-testing-eu")];
    for (files, env) in roots {
        let dir = write_root(files, env);
        let init = ["init", "-backend=false", "-input=false", "-no-color", &format!("-plugin-dir={PLUGIN_DIR}")];
        check(&tf(&bin, dir.path(), &init), &format!("init {env}"));
        check(&tf(&bin, dir.path(), &["validate", "-no-color"]), &format!("validate {env}"));
    }
}

#[test]
fn offline_plan_matches_the_program() {
    let Some(bin) = terraform("offline plan", true) else {
        return;
    };
    let files = emit(&zenthea()).expect("emits");
    let dir = write_root(&files, "production");
    // What tf-plan-offline does: a local backend and a provider that asks AWS nothing.
    let over = serde_json::json!({
        "terraform": { "backend": { "local": {} } },
        "provider": { "aws": {
            "skip_credentials_validation": true, "skip_requesting_account_id": true,
            "skip_metadata_api_check": true, "skip_region_validation": true,
            // The account guard needs the account id, which an offline plan never asks for.
            "allowed_account_ids": null } }
    });
    std::fs::write(dir.path().join("zz_override.tf.json"), over.to_string()).expect("write");
    let init = ["init", "-input=false", "-no-color", &format!("-plugin-dir={PLUGIN_DIR}")];
    check(&tf(&bin, dir.path(), &init), "init");
    let plan = ["plan", "-json", "-refresh=false", "-lock=false", "-no-color", "-out=govc.tfplan"];
    let out = tf(&bin, dir.path(), &plan);
    check(&out, "plan");
    let shown = tf(&bin, dir.path(), &["show", "-json", "govc.tfplan"]);
    check(&shown, "show");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("show -json");
    let changes = shown["resource_changes"].as_array().expect("resource_changes");
    let cni = changes.iter().find(|c| c["address"] == "aws_eks_addon.vpc-cni").expect("the vpc-cni add-on is planned");
    let config = cni["change"]["after"]["configuration_values"].as_str().expect("planned configuration_values");
    let config: serde_json::Value = serde_json::from_str(config).expect("JSON");
    assert_eq!(config["enableNetworkPolicy"], "true", "the plan enables NetworkPolicy enforcement");
    assert_eq!(config["env"]["ENABLE_POD_ENI"], "true", "the plan enables security groups for pods");
    let mut planned: BTreeMap<String, usize> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let msg: serde_json::Value = serde_json::from_str(line).expect("plan -json line");
        if msg["type"] == "planned_change" && msg["change"]["action"] != "read" {
            let ty = msg["change"]["resource"]["resource_type"].as_str().expect("type").to_string();
            *planned.entry(ty).or_default() += 1;
        }
    }
    let get = |ty: &str| planned.get(ty).copied().unwrap_or(0);
    assert_eq!(get("aws_subnet"), 12, "{planned:?}");
    assert_eq!(get("aws_security_group"), 4 + 1 + 1 + 3);
    // Pod Identity: the operators without a security group of their own (External
    // Secrets, the load balancer controller, the Cluster Autoscaler). IAM roles for
    // service accounts: api (the fixture's only service on main) and main's bootstrap.
    assert_eq!(get("aws_eks_pod_identity_association"), 3, "{planned:?}");
    assert_eq!(get("aws_iam_openid_connect_provider"), 1, "{planned:?}");
    assert_eq!(
        get("aws_iam_role"),
        4 + 3 + 2,
        "cluster, nodes, RDS monitoring, flow logs; External Secrets, the controller, the autoscaler; api, bootstrap"
    );
    assert_eq!(get("aws_db_instance"), 2);
    assert_eq!(get("aws_eks_cluster"), 1);
    assert_eq!(get("aws_vpc_endpoint"), 1 + super::network::INTERFACE_ENDPOINTS.len() + 1, "s3 + acm + the rest");
    for ty in ["aws_subnet", "aws_security_group", "aws_db_instance", "aws_kms_key"] {
        assert_eq!(get(ty), count(&files, "production", ty), "{ty}");
    }
    // The host's alias waits for `-var load_balancer_ready=true` (count 0 by default).
    assert_eq!(get("aws_route53_record"), count(&files, "production", "aws_route53_record") - 1);
    assert_eq!(get("aws_acm_certificate_validation"), 1);
    assert_eq!(get("aws_eks_access_entry"), 1);
    assert_eq!(get("aws_eks_access_policy_association"), 1);
    eprintln!("planned: {planned:?}");
}

/// Every string in `value`, recursively (keys included).
fn strings<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k);
                strings(v, out);
            }
        }
        _ => {}
    }
}

#[test]
fn only_references_are_interpolated() {
    let files = emit(&zenthea()).expect("emits");
    for (path, text) in &files {
        let doc: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        let mut all = Vec::new();
        strings(&doc, &mut all);
        for s in all {
            let bytes = s.as_bytes();
            for (i, w) in bytes.windows(2).enumerate() {
                let escaped = i > 0 && bytes[i - 1] == w[0];
                if escaped || w[1] != b'{' {
                    continue;
                }
                if w[0] == b'%' {
                    panic!("{path}: stray template directive in {s:?}");
                }
                if w[0] == b'$' {
                    let rest = &s[i + 2..];
                    assert!(
                        rest.starts_with("aws_")
                            || rest.starts_with("data.aws_")
                            || rest.starts_with("local.")
                            || rest.starts_with("var.load_balancer_ready")
                            || rest.starts_with("tolist(aws_")
                            || rest.starts_with(" {for s in aws_")
                            || rest.starts_with("replace(aws_"),
                        "{path}: stray interpolation in {s:?}"
                    );
                }
            }
        }
    }
}

// ---- the flows the security groups allow, read back --------------------------------

/// One allowed connection at the security group layer: `(from, to, port/PROTOCOL)`.
/// Endpoints: `ingress` (the load balancer), service and postgres names, `nodes` (the
/// runtime group: DNS, kubelet), `ip <addr>` (a `/32`) and `internet` (`0.0.0.0/0`).
pub(crate) type SgFlow = (String, String, String);

/// A rule's peer: a group's Terraform identifier or a CIDR.
#[derive(Debug, PartialEq)]
enum SgPeer {
    Group(String),
    Cidr(Ipv4Net),
}

/// Where a workload sits: its group and the CIDR its addresses come from.
struct Entity {
    name: String,
    group: String,
    cidr: Ipv4Net,
}

fn group_of(reference: &serde_json::Value) -> String {
    let r = reference.as_str().expect("a group reference");
    let id = r.strip_prefix("${aws_security_group.").and_then(|r| r.strip_suffix(".id}"));
    id.unwrap_or_else(|| panic!("a group id: {r}")).to_string()
}

/// `(group, peer, port/PROTOCOL)` of every rule of one direction.
fn rules(net: &serde_json::Value, ty: &str) -> Vec<(String, SgPeer, String)> {
    let all = net["resource"][ty].as_object().into_iter().flat_map(|m| m.values());
    all.map(|r| {
        assert_eq!(r["from_port"], r["to_port"], "one port per rule: {r}");
        let port = format!("{}/{}", r["from_port"], r["ip_protocol"].as_str().expect("protocol").to_uppercase());
        let peer = if let Some(g) = r.get("referenced_security_group_id") {
            SgPeer::Group(group_of(g))
        } else if let Some(c) = r.get("cidr_ipv4") {
            SgPeer::Cidr(c.as_str().expect("cidr").parse().expect("a CIDR"))
        } else {
            SgPeer::Group(format!("prefix list {}", r["prefix_list_id"].as_str().expect("a prefix list")))
        };
        (group_of(&r["security_group_id"]), peer, port)
    })
    .collect()
}

/// The flows the security groups of `env` allow between the program's workloads and to
/// declared destinations: a flow passes when the sender's group lets it out and the
/// receiver's group lets it in. Services are found through the `SecurityGroupPolicy`
/// output (pod labels → group), databases through their instances' groups.
pub(crate) fn security_group_flows(files: &BTreeMap<String, String>, env: &Environment) -> BTreeSet<SgFlow> {
    let net = parse(files, &format!("terraform/{}/network.tf.json", env.name));
    let network = &env.resources.networks[0];
    let segment = |role: SegmentRole| network.segment(role).cidr.expect("carved");
    let mut entities = vec![
        Entity { name: "ingress".into(), group: "ingress".into(), cidr: segment(SegmentRole::Ingress) },
        Entity { name: "nodes".into(), group: "runtime".into(), cidr: segment(SegmentRole::Runtime) },
        Entity { name: "endpoints".into(), group: "endpoints".into(), cidr: segment(SegmentRole::Runtime) },
    ];
    if !env.resources.services.is_empty() {
        let outputs = parse(files, &format!("terraform/{}/outputs.tf.json", env.name));
        let list = &outputs["output"]["security_group_policies"]["value"];
        for sgp in list["items"].as_array().expect("items") {
            let name = sgp["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str().expect("a name");
            let groups = sgp["spec"]["securityGroups"]["groupIds"].as_array().expect("groupIds");
            assert_eq!(groups.len(), 1, "one group per service");
            let cidr = segment(SegmentRole::Runtime);
            entities.push(Entity { name: name.into(), group: group_of(&groups[0]), cidr });
        }
    }
    if !env.resources.databases.is_empty() {
        let pg = parse(files, &format!("terraform/{}/postgres.tf.json", env.name));
        for db in &env.resources.databases {
            let id = super::json::ident(&db.name);
            let instance = &pg["resource"]["aws_db_instance"][&id];
            let groups = instance["vpc_security_group_ids"].as_array().expect("the instance's groups");
            assert_eq!(groups.len(), 1, "one group per database");
            let cidr = segment(SegmentRole::Persistence);
            entities.push(Entity { name: db.name.clone(), group: group_of(&groups[0]), cidr });
        }
    }
    let outbound = rules(&net, "aws_vpc_security_group_egress_rule");
    let inbound = rules(&net, "aws_vpc_security_group_ingress_rule");
    let matches = |peer: &SgPeer, e: &Entity| match peer {
        SgPeer::Group(g) => *g == e.group,
        SgPeer::Cidr(c) => c.contains(&e.cidr),
    };
    let internal = [SegmentRole::Ingress, SegmentRole::Runtime, SegmentRole::Persistence].map(segment);
    let mut out = BTreeSet::new();
    for from in &entities {
        for (_, peer, port) in outbound.iter().filter(|(g, _, _)| *g == from.group) {
            for to in &entities {
                let admitted = inbound.iter().any(|(g, p, q)| *g == to.group && q == port && matches(p, from));
                if matches(peer, to) && admitted {
                    out.insert((from.name.clone(), to.name.clone(), port.clone()));
                }
            }
            // S3 through the gateway endpoint, by its prefix list (the nodes' is ECR's).
            if *peer == SgPeer::Group("prefix list ${aws_vpc_endpoint.s3.prefix_list_id}".into())
                && from.name != "nodes"
            {
                out.insert((from.name.clone(), "s3".into(), port.clone()));
            }
            if let SgPeer::Cidr(c) = peer {
                if !internal.iter().any(|i| c.contains(i) || i.contains(c)) || c.prefix_len() == 0 {
                    let to = if c.prefix_len() == 32 { format!("ip {}", c.addr()) } else { c.to_string() };
                    let to = if c.prefix_len() == 0 { "internet".to_string() } else { to };
                    out.insert((from.name.clone(), to, port.clone()));
                }
            }
        }
    }
    // Infrastructure among the platform's own groups is not a program flow.
    let infra = ["ingress", "nodes", "endpoints"];
    out.retain(|(a, b, _)| !(infra.contains(&a.as_str()) && infra.contains(&b.as_str())));
    out
}

/// The flows the security groups must allow for `env`: the program's, plus DNS from each
/// service to the nodes and kubelet probes from the nodes to each service on its port.
pub(crate) fn expected_security_group_flows(env: &Environment) -> BTreeSet<SgFlow> {
    let res = &env.resources;
    let f = |a: &str, b: &str, port: u16, proto: &str| (a.to_string(), b.to_string(), format!("{port}/{proto}"));
    let mut out = BTreeSet::new();
    for r in res.ingresses.iter().flat_map(|i| &i.routes) {
        out.insert(f("ingress", &r.service, r.port, "TCP"));
    }
    for svc in &res.services {
        if res.has_role(svc) {
            out.insert(f(&svc.name, "endpoints", 443, "TCP"));
        }
        out.insert(f(&svc.name, "nodes", 53, "TCP"));
        out.insert(f(&svc.name, "nodes", 53, "UDP"));
        out.insert(f("nodes", &svc.name, svc.port, "TCP"));
        for conn in &svc.connects {
            match conn {
                Connection::Service(to) => out.insert(f(&svc.name, to, res.service(to).expect("resolved").port, "TCP")),
                Connection::Postgres(pg) => {
                    out.insert(f(&svc.name, pg, res.database(pg).expect("resolved").port, "TCP"))
                }
                Connection::Bucket(b) => {
                    res.bucket(b).expect("resolved");
                    out.insert(f(&svc.name, "s3", 443, "TCP"))
                }
            };
        }
        for eg in &svc.egress {
            let to = match eg.host.parse::<std::net::Ipv4Addr>() {
                Ok(ip) => format!("ip {ip}"),
                Err(_) => "internet".to_string(),
            };
            out.insert(f(&svc.name, &to, eg.port, "TCP"));
            // Any address on 443 includes the load balancer, which admits every client on
            // 443: at this layer such a service reaches it as the internet does. The
            // NetworkPolicy (private ranges excepted) cuts the path inside the VPC.
            if to == "internet" && eg.port == 443 && !res.ingresses.is_empty() {
                out.insert(f(&svc.name, "ingress", 443, "TCP"));
            }
        }
    }
    // Each bootstrap Job: DNS, the Secrets Manager endpoint, its database.
    for (pods, db) in crate::emit::kustomize::tests::bootstraps(env) {
        out.insert(f(&pods, "nodes", 53, "TCP"));
        out.insert(f(&pods, "nodes", 53, "UDP"));
        out.insert(f(&pods, "endpoints", 443, "TCP"));
        out.insert(f(&pods, &db.name, db.port, "TCP"));
    }
    // The collector: DNS, probes on its health port, OTLP from every service, its backends.
    if let Some(telemetry) = &env.telemetry {
        let collector = crate::ir::Telemetry::COLLECTOR;
        out.insert(f(collector, "nodes", 53, "TCP"));
        out.insert(f(collector, "nodes", 53, "UDP"));
        out.insert(f("nodes", collector, crate::ir::Telemetry::HEALTH_PORT, "TCP"));
        for svc in &res.services {
            for port in [crate::ir::Telemetry::OTLP_GRPC_PORT, crate::ir::Telemetry::OTLP_HTTP_PORT] {
                out.insert(f(&svc.name, collector, port, "TCP"));
            }
        }
        for (_, eg) in telemetry.backends() {
            let to = match eg.host.parse::<std::net::Ipv4Addr>() {
                Ok(ip) => format!("ip {ip}"),
                Err(_) => "internet".to_string(),
            };
            out.insert(f(collector, &to, eg.port, "TCP"));
            if to == "internet" && eg.port == 443 && !res.ingresses.is_empty() {
                out.insert(f(collector, "ingress", 443, "TCP"));
            }
        }
    }
    out
}

#[test]
fn security_groups_allow_exactly_the_declared_flows() {
    let mut program = zenthea();
    // Flow kinds the fixture lacks otherwise: an IP egress entry, two databases.
    for env in &mut program.environments {
        let res = &mut env.resources;
        let mut other = res.databases[0].clone();
        other.name = "audit".into();
        res.databases.push(other);
        let worker = res.services.iter_mut().find(|s| s.name == "worker").expect("worker");
        worker.egress.push(Egress { host: "203.0.113.7".into(), port: 8443 });
        worker.connects.push(Connection::Postgres("audit".into()));
    }
    let files = emit(&program).expect("emits");
    for env in program.environments.iter().filter(|e| e.tier != Tier::Local) {
        let got = security_group_flows(&files, env);
        assert_eq!(got, expected_security_group_flows(env), "{}", env.name);
        assert!(got.contains(&("worker".into(), "ip 203.0.113.7".into(), "8443/TCP".into())));
        assert!(!got.contains(&("api".into(), "audit".into(), "5432/TCP".into())), "api does not connect to audit");
    }
}

#[test]
fn vpc_cni_enforces_network_policies_and_pod_security_groups() {
    let files = emit(&zenthea()).expect("emits");
    for env in ["staging", "production"] {
        let compute = parse(&files, &format!("terraform/{env}/compute.tf.json"));
        let addon = &compute["resource"]["aws_eks_addon"]["vpc-cni"];
        let config: serde_json::Value =
            serde_json::from_str(addon["configuration_values"].as_str().expect("a JSON string")).expect("JSON");
        assert_eq!(config["enableNetworkPolicy"], "true");
        assert_eq!(config["env"]["ENABLE_POD_ENI"], "true");
        assert_eq!(config["env"]["POD_SECURITY_GROUP_ENFORCING_MODE"], "strict");
        assert_eq!(config["init"]["env"]["DISABLE_TCP_EARLY_DEMUX"], "true");
        let attached: Vec<&str> = compute["resource"]["aws_iam_role_policy_attachment"]
            .as_object()
            .expect("attachments")
            .values()
            .filter(|a| a["role"] == "${aws_iam_role.eks_cluster.name}")
            .filter_map(|a| a["policy_arn"].as_str())
            .collect();
        assert!(attached.contains(&"arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"), "{attached:?}");
        let group = &compute["resource"]["aws_eks_node_group"]["main"];
        let types = group["instance_types"].as_array().expect("types");
        assert!(types.iter().all(|t| !t.as_str().expect("a type").starts_with('t')), "no t family: {types:?}");
    }
}

/// The `SecurityGroupPolicy` objects of the output against the CRD
/// (`vpcresources.k8s.aws/v1beta1`: exactly one of `podSelector`/`serviceAccountSelector`,
/// `securityGroups.groupIds` 1 to 5 items) and against the pods the Kubernetes emitter makes.
#[test]
fn security_group_policies_match_the_crd_and_the_pods() {
    let program = zenthea();
    let files = emit(&program).expect("emits");
    for env in program.environments.iter().filter(|e| e.tier != Tier::Local) {
        let outputs = parse(&files, &format!("terraform/{}/outputs.tf.json", env.name));
        let list = &outputs["output"]["security_group_policies"]["value"];
        assert_eq!((&list["apiVersion"], &list["kind"]), (&"v1".into(), &"List".into()));
        let items = list["items"].as_array().expect("items");
        // One per service, then one per bootstrap Job (a database that services connect to).
        assert_eq!(items.len(), env.resources.services.len() + crate::emit::kustomize::tests::bootstraps(env).len());
        for (sgp, svc) in items.iter().zip(&env.resources.services) {
            assert_eq!(sgp["apiVersion"], "vpcresources.k8s.aws/v1beta1");
            assert_eq!(sgp["kind"], "SecurityGroupPolicy");
            assert_eq!(sgp["metadata"]["namespace"], env.namespace.as_str());
            assert!(sgp["metadata"]["name"].as_str().is_some_and(|n| !n.is_empty() && n.len() <= 253));
            let spec = &sgp["spec"];
            assert!(spec.get("podSelector").is_some() != spec.get("serviceAccountSelector").is_some());
            let ids = spec["securityGroups"]["groupIds"].as_array().expect("groupIds");
            assert!((1..=5).contains(&ids.len()));
            assert_eq!(group_of(&ids[0]), super::security::service_group(&svc.name));
            let want: serde_json::Map<String, serde_json::Value> =
                crate::emit::names::pod_selector("zenthea", &svc.name)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.into_owned().into()))
                    .collect();
            assert_eq!(spec["podSelector"]["matchLabels"], serde_json::Value::Object(want));
        }
    }
}

/// Every EKS add-on is pinned to the version of [`crate::emit::versions`] for the
/// environment's Kubernetes version, which is the cluster's; `OVERWRITE` on create and
/// update; the metrics server (HPAs) is one of them; no EBS CSI driver (no volume).
#[test]
fn addons_are_pinned_for_the_environments_kubernetes_version() {
    use crate::emit::versions;
    let mut program = zenthea();
    program.environments[1].kubernetes_version = "1.36".into();
    let files = emit(&program).expect("emits");
    for env in ["staging", "production"] {
        let k8s = program.environments.iter().find(|e| e.name == env).expect("env").kubernetes_version.clone();
        let row = versions::kubernetes(&k8s).expect("accepted");
        let compute = parse(&files, &format!("terraform/{env}/compute.tf.json"));
        assert_eq!(compute["resource"]["aws_eks_cluster"]["main"]["version"], k8s.as_str());
        let addons = compute["resource"]["aws_eks_addon"].as_object().expect("add-ons");
        let names: Vec<&str> = addons.values().filter_map(|a| a["addon_name"].as_str()).collect();
        // `cert-manager` serves the load balancer controller's webhook (both have an ingress).
        assert_eq!(
            names,
            ["cert-manager", "coredns", "eks-pod-identity-agent", "kube-proxy", "metrics-server", "vpc-cni"]
        );
        for addon in addons.values() {
            let name = addon["addon_name"].as_str().expect("a name");
            let want = match name {
                // Not pinned: its versions can only be listed online (emit/versions.rs).
                "cert-manager" => versions::CERT_MANAGER_ADDON_VERSION,
                "coredns" => Some(row.coredns),
                "kube-proxy" => Some(row.kube_proxy),
                "metrics-server" => Some(versions::ADDON_METRICS_SERVER),
                "vpc-cni" => Some(versions::ADDON_VPC_CNI),
                "eks-pod-identity-agent" => Some(versions::ADDON_POD_IDENTITY_AGENT),
                other => panic!("unexpected add-on {other}"),
            };
            assert_eq!(addon["addon_version"].as_str(), want, "{name} in {env}");
            assert_eq!(addon["resolve_conflicts_on_create"], "OVERWRITE", "{name}");
            assert_eq!(addon["resolve_conflicts_on_update"], "OVERWRITE", "{name}");
        }
    }
    // Two environments, two Kubernetes versions: staging 1.36, production the default.
    let staging = parse(&files, "terraform/staging/compute.tf.json");
    assert_eq!(staging["resource"]["aws_eks_addon"]["kube-proxy"]["addon_version"], "v1.36.0-eksbuild.2");
    let production = parse(&files, "terraform/production/compute.tf.json");
    assert_eq!(production["resource"]["aws_eks_cluster"]["main"]["version"], versions::EKS_DEFAULT_KUBERNETES_VERSION);
    assert_eq!(count(&files, "production", "aws_eks_addon"), 6);
    // An unknown version is an internal error (the model refuses it first, E209).
    program.environments[1].kubernetes_version = "1.30".into();
    assert!(emit(&program).expect_err("refused").contains("1.30"));
}

/// The Cluster Autoscaler's role, read back: assumable by EKS Pod Identity only,
/// associated with `kube-system/cluster-autoscaler`, describing with `*` (no resource
/// level exists for those actions), scaling only groups tagged as this cluster's, and
/// the node group carries the discovery tags the manifest's auto-discovery names.
#[test]
fn cluster_autoscaler_role_scales_only_its_own_node_group() {
    let program = zenthea();
    let files = emit(&program).expect("emits");
    for env in ["staging", "production"] {
        let compute = parse(&files, &format!("terraform/{env}/compute.tf.json"));
        let cluster = compute["resource"]["aws_eks_cluster"]["main"]["name"].as_str().expect("name").to_string();
        let owner = format!("k8s.io/cluster-autoscaler/{cluster}");
        let assume = &compute["data"]["aws_iam_policy_document"]["assume_cluster_autoscaler"]["statement"][0];
        assert_eq!(assume["principals"][0]["identifiers"], serde_json::json!(["pods.eks.amazonaws.com"]));
        let assoc = &compute["resource"]["aws_eks_pod_identity_association"]["cluster_autoscaler"];
        assert_eq!(
            (assoc["namespace"].as_str(), assoc["service_account"].as_str()),
            (Some("kube-system"), Some("cluster-autoscaler"))
        );
        assert_eq!(assoc["role_arn"], "${aws_iam_role.cluster_autoscaler.arn}");
        let statements = compute["data"]["aws_iam_policy_document"]["policy_cluster_autoscaler"]["statement"]
            .as_array()
            .expect("statements");
        let mut writes = 0;
        for st in statements {
            for action in st["actions"].as_array().expect("actions") {
                let action = action.as_str().expect("an action");
                let verb = action.split(':').nth(1).expect("service:verb");
                if verb.starts_with("Describe") || verb.starts_with("Get") {
                    continue;
                }
                writes += 1;
                assert!(action.starts_with("autoscaling:"), "{action}");
                assert_eq!(st["condition"][0]["test"], "StringEquals", "{action}");
                assert_eq!(st["condition"][0]["variable"], format!("aws:ResourceTag/{owner}"), "{action}");
                assert_eq!(st["condition"][0]["values"], serde_json::json!(["owned"]), "{action}");
            }
            if st["sid"] == "DescribeOwnNodeGroup" {
                assert_eq!(st["resources"], serde_json::json!(["${aws_eks_node_group.main.arn}"]));
            }
        }
        assert_eq!(writes, 2, "SetDesiredCapacity and TerminateInstanceInAutoScalingGroup only");
        let tags = &compute["resource"]["aws_eks_node_group"]["main"]["tags"];
        assert_eq!(tags[&owner], "owned");
        assert_eq!(tags["k8s.io/cluster-autoscaler/enabled"], "true");
        // The manifest in the overlay discovers exactly these tags.
        let environment = program.environments.iter().find(|e| e.name == env).expect("env");
        let view = crate::emit::kustomize::View::new(&program.project, Some(environment), &environment.resources);
        let objects = crate::emit::kustomize::cluster::objects(&view).expect("cluster objects");
        let deployment = objects.iter().find(|o| o.kind == "Deployment").expect("the autoscaler");
        // The pods run as the service account the Pod Identity association names.
        let account = objects.iter().find(|o| o.kind == "ServiceAccount").expect("its service account");
        let account =
            serde_json::to_value(serde_norway::from_str::<serde_norway::Value>(&account.to_document()).expect("YAML"))
                .expect("JSON");
        assert_eq!(account["metadata"]["namespace"], assoc["namespace"]);
        assert_eq!(account["metadata"]["name"], assoc["service_account"]);
        let pod: serde_norway::Value = serde_norway::from_str(&deployment.to_document()).expect("YAML");
        let pod = serde_json::to_value(pod).expect("JSON");
        assert_eq!(pod["spec"]["template"]["spec"]["serviceAccountName"], assoc["service_account"]);
        assert_eq!(pod["metadata"]["namespace"], assoc["namespace"]);
        // No wildcard in its RBAC.
        for role in objects.iter().filter(|o| o.kind.ends_with("Role")) {
            assert!(!role.to_document().contains('*'), "{}: no wildcard", role.kind);
        }
        assert!(
            deployment
                .to_document()
                .contains(&format!("--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,{owner}")),
            "{env}: the autoscaler discovers its node group"
        );
    }
}
