//! The workload identity read-back, on real projects: `envs/`, every example that builds,
//! fleet-100 and a bent `envs/`. For every cloud environment the IAM roles, their trust
//! policies (IAM roles for service accounts), inline policies and attachments are read back
//! from the emitted Terraform JSON and compared with the program: each service's role
//! grants exactly `rds-db:connect` as its own user on every instance of every database it
//! connects to, each database bootstrap role exactly the reading of that database's
//! master secret; nothing more, nothing less. The Kubernetes side is read back too: exactly
//! the granted ServiceAccounts carry their role's ARN, and their pods are the service's
//! Deployment (or the Job).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::flow_tests::{compile, project};
use super::names;
use crate::ir::{self, Tier};

/// `(action, resource)` pairs a role grants.
type Grants = BTreeSet<(String, String)>;

/// What the program grants one workload identity.
#[derive(Debug)]
struct Expected {
    /// The ServiceAccount (in the environment's namespace).
    service_account: String,
    grants: Grants,
    /// The kind of the workload whose pods run as that ServiceAccount.
    workload: &'static str,
    /// The role's name is `<prefix>-<role_suffix>`.
    role_suffix: String,
}

fn expected(project: &str, env: &ir::Environment) -> BTreeMap<String, Expected> {
    let res = &env.resources;
    let aws = env.aws.as_ref().expect("a cloud environment has aws");
    let (region, account) = (aws.region.clone().expect("region"), aws.account.clone().expect("account"));
    let _ = project;
    let mut out = BTreeMap::new();
    for svc in &res.services {
        let mut grants = Grants::new();
        let mut dbs: Vec<&str> = svc
            .connects
            .iter()
            .filter_map(|c| match c {
                ir::Connection::Postgres(db) => Some(db.as_str()),
                ir::Connection::Service(_) | ir::Connection::Bucket(_) => None,
            })
            .collect();
        dbs.dedup();
        for db in dbs {
            let pg = res.database(db).expect("resolved");
            let id = pg.name.replace('-', "_");
            let mut instances = vec![id.clone()];
            instances.extend((1..=pg.replicas).map(|n| format!("{id}_replica_{n}")));
            for i in instances {
                let user = svc.name.replace('-', "_");
                let arn =
                    format!("arn:aws:rds-db:{region}:{account}:dbuser:${{aws_db_instance.{i}.resource_id}}/{user}");
                grants.insert(("rds-db:connect".to_string(), arn));
            }
        }
        // Per bucket: list it, read and write its objects (delete only where it is not
        // evidence; read-only retention and legal holds where it is), use its key.
        for bucket in svc.connects.iter().filter_map(|c| match c {
            ir::Connection::Bucket(b) => res.bucket(b),
            _ => None,
        }) {
            let arn = format!("${{aws_s3_bucket.{}.arn}}", bucket.name);
            for action in ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions"] {
                grants.insert((action.to_string(), arn.clone()));
            }
            let mut object_actions = vec![
                "s3:AbortMultipartUpload",
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ];
            if bucket.evidence {
                object_actions.extend(["s3:GetObjectLegalHold", "s3:GetObjectRetention"]);
            } else {
                object_actions.push("s3:DeleteObject");
            }
            for action in object_actions {
                grants.insert((action.to_string(), format!("{arn}/*")));
            }
            for action in ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] {
                grants.insert((action.to_string(), format!("${{aws_kms_key.s3_{}.arn}}", bucket.name)));
            }
        }
        if !grants.is_empty() {
            let sa = svc.name.clone();
            out.insert(
                format!("service {}", svc.name),
                Expected {
                    service_account: sa,
                    grants,
                    workload: "Deployment",
                    role_suffix: format!("svc-{}", svc.name),
                },
            );
        }
    }
    for db in &res.databases {
        if !res.services.iter().any(|s| s.connects.contains(&ir::Connection::Postgres(db.name.clone()))) {
            continue;
        }
        let id = db.name.replace('-', "_");
        let secret = format!("${{aws_db_instance.{id}.master_user_secret[0].secret_arn}}");
        let grants: Grants = [
            ("secretsmanager:ListSecrets", "*".to_string()),
            ("secretsmanager:DescribeSecret", secret.clone()),
            ("secretsmanager:GetSecretValue", secret),
            ("kms:Decrypt", format!("${{aws_kms_key.db_{id}.arn}}")),
        ]
        .into_iter()
        .map(|(a, r)| (a.to_string(), r))
        .collect();
        let sa = names::bootstrap_name(&db.name);
        out.insert(
            format!("bootstrap {}", db.name),
            Expected { service_account: sa, grants, workload: "Job", role_suffix: format!("bootstrap-{}", db.name) },
        );
    }
    out
}

/// The resources and data sources of every `.tf.json` of an environment, merged by type.
fn merged(files: &BTreeMap<String, String>, env: &str) -> (Value, Value) {
    let (mut resources, mut data) = (serde_json::Map::new(), serde_json::Map::new());
    let dir = format!("terraform/{env}/");
    for (_, text) in files.iter().filter(|(p, _)| p.starts_with(&dir) && p.ends_with(".tf.json")) {
        let v: Value = serde_json::from_str(text).expect("JSON");
        for (into, key) in [(&mut resources, "resource"), (&mut data, "data")] {
            for (ty, items) in v[key].as_object().into_iter().flatten() {
                let slot = into.entry(ty.clone()).or_insert_with(|| Value::Object(serde_json::Map::new()));
                for (name, body) in items.as_object().expect("items") {
                    assert!(slot.get(name).is_none(), "{env}: {ty}.{name} defined twice");
                    slot[name] = body.clone();
                }
            }
        }
    }
    (Value::Object(resources), Value::Object(data))
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("a string: {v}"))
}

/// `${a.b.c}` → `a.b`.
fn address(reference: &Value, attr: &str) -> String {
    let s = str_of(reference);
    let inner = s.strip_prefix("${").and_then(|s| s.strip_suffix('}')).unwrap_or_else(|| panic!("a reference: {s}"));
    inner.strip_suffix(&format!(".{attr}")).unwrap_or_else(|| panic!("{s} names .{attr}")).to_string()
}

/// The statements of the policy document a role or policy references.
fn statements<'a>(data: &'a Value, reference: &Value) -> &'a Vec<Value> {
    let doc = address(reference, "json");
    let name = doc.strip_prefix("data.aws_iam_policy_document.").unwrap_or_else(|| panic!("a policy document: {doc}"));
    data["aws_iam_policy_document"][name]["statement"].as_array().expect("statements")
}

/// The condition key of a claim of the cluster's tokens, as the roles write it.
fn claim(name: &str) -> String {
    format!("${{replace(aws_iam_openid_connect_provider.eks.url, \"https://\", \"\")}}:{name}")
}

/// Reads back every workload role of a cloud environment and compares it with the
/// program: the roles that only one ServiceAccount's token may assume, their grants, and
/// the ServiceAccounts' role annotations. Returns the number of grants checked.
fn verify(project: &str, env: &ir::Environment, files: &BTreeMap<String, String>) -> Result<usize, String> {
    let (resources, data) = merged(files, &env.name);
    let aws = env.aws.as_ref().expect("aws");
    let account = aws.account.clone().expect("account");
    let namespace = &env.namespace;
    let want = expected(project, env);
    let empty = serde_json::Map::new();
    let roles = resources["aws_iam_role"].as_object().unwrap_or(&empty);
    let attachments = resources["aws_iam_role_policy_attachment"].as_object().unwrap_or(&empty);
    let inline = resources["aws_iam_role_policy"].as_object().unwrap_or(&empty);
    let providers = resources["aws_iam_openid_connect_provider"].as_object().unwrap_or(&empty);
    if !want.is_empty() {
        let eks = providers.get("eks").ok_or_else(|| format!("{}: no OIDC provider", env.name))?;
        let want_provider = serde_json::json!(["sts.amazonaws.com"]);
        if eks["url"] != "${aws_eks_cluster.main.identity[0].oidc[0].issuer}" || eks["client_id_list"] != want_provider
        {
            return Err(format!("{}: the OIDC provider is not the cluster's for STS: {eks}", env.name));
        }
    }
    // Every role whose trust names the OIDC provider is one the program grants.
    let web_identity: BTreeSet<&String> = roles
        .iter()
        .filter(|(_, body)| {
            statements(&data, &body["assume_role_policy"])
                .iter()
                .any(|st| st["principals"].to_string().contains("openid_connect_provider"))
        })
        .map(|(name, _)| name)
        .collect();
    let mut checked = 0;
    let mut annotations = BTreeMap::new();
    for (what, exp) in &want {
        let name = names::role_name(project, &env.name, &exp.role_suffix);
        let (role, body) = roles
            .iter()
            .find(|(_, b)| b["name"] == name.as_str())
            .ok_or_else(|| format!("{what}: no role named {name}"))?;
        for key in ["managed_policy_arns", "inline_policy", "permissions_boundary"] {
            if body.get(key).is_some() {
                return Err(format!("{what}: role {role} sets {key}"));
            }
        }
        // Trust: the cluster's OIDC provider only, for exactly this service account's token.
        let trust = statements(&data, &body["assume_role_policy"]);
        let [st] = trust.as_slice() else { return Err(format!("{what}: {} trust statements", trust.len())) };
        let principals = &st["principals"];
        let want_principals =
            serde_json::json!([{"identifiers": ["${aws_iam_openid_connect_provider.eks.arn}"], "type": "Federated"}]);
        if st["effect"] != "Allow" || *principals != want_principals {
            return Err(format!("{what}: trust principals {principals}"));
        }
        let actions: BTreeSet<&str> = st["actions"].as_array().expect("actions").iter().map(str_of).collect();
        if actions != BTreeSet::from(["sts:AssumeRoleWithWebIdentity"]) {
            return Err(format!("{what}: trust actions {actions:?}"));
        }
        let conditions: BTreeSet<(String, String, String)> = st["condition"]
            .as_array()
            .ok_or_else(|| format!("{what}: an unconditioned trust"))?
            .iter()
            .map(|c| {
                let values = c["values"].as_array().expect("values");
                assert_eq!(values.len(), 1, "{what}: one value per condition");
                (str_of(&c["test"]).to_string(), str_of(&c["variable"]).to_string(), str_of(&values[0]).to_string())
            })
            .collect();
        let sub = format!("system:serviceaccount:{namespace}:{}", exp.service_account);
        let want_conditions: BTreeSet<(String, String, String)> = [
            ("StringEquals".to_string(), claim("aud"), "sts.amazonaws.com".to_string()),
            ("StringEquals".to_string(), claim("sub"), sub),
        ]
        .into_iter()
        .collect();
        if conditions != want_conditions {
            return Err(format!("{what}: trust conditions {conditions:?}, want {want_conditions:?}"));
        }
        // Permissions: no managed policy, inline policies granting exactly the program's.
        let role_ref = |v: &Value, attr: &str| address(v, attr) == format!("aws_iam_role.{role}");
        if let Some((att, _)) = attachments.iter().find(|(_, a)| role_ref(&a["role"], "name")) {
            return Err(format!("{what}: managed policy attachment {att}"));
        }
        let mut grants = Grants::new();
        for (_, pol) in inline.iter().filter(|(_, p)| role_ref(&p["role"], "id")) {
            for st in statements(&data, &pol["policy"]) {
                if st["effect"] != "Allow" || st.get("condition").is_some() || st.get("not_actions").is_some() {
                    return Err(format!("{what}: a statement that is not a plain allow: {st}"));
                }
                if st.get("not_resources").is_some() || st.get("principals").is_some() {
                    return Err(format!("{what}: a statement with not_resources or principals: {st}"));
                }
                for action in st["actions"].as_array().expect("actions") {
                    for resource in st["resources"].as_array().expect("resources") {
                        grants.insert((str_of(action).to_string(), str_of(resource).to_string()));
                    }
                }
            }
        }
        if let Some(bad) = grants.iter().find(|(action, _)| forbidden_on_objects(action)) {
            return Err(format!("{what}: grants {bad:?}, which no workload ever gets"));
        }
        for bucket in env.resources.buckets.iter().filter(|b| b.evidence) {
            let objects = format!("${{aws_s3_bucket.{}.arn}}/*", bucket.name);
            if let Some(bad) = grants.iter().find(|(a, r)| *r == objects && a.starts_with("s3:Delete")) {
                return Err(format!("{what}: deletes on evidence bucket {}: {bad:?}", bucket.name));
            }
        }
        if grants != exp.grants {
            let more: Vec<_> = grants.difference(&exp.grants).collect();
            let less: Vec<_> = exp.grants.difference(&grants).collect();
            return Err(format!("{what}: grants {more:?} beyond the program and misses {less:?}"));
        }
        checked += grants.len();
        pods_run_as(files, env, exp.workload, &exp.service_account).map_err(|e| format!("{what}: {e}"))?;
        annotations.insert(exp.service_account.clone(), format!("arn:aws:iam::{account}:role/{name}"));
        if !web_identity.contains(role) {
            return Err(format!("{what}: role {role} is not assumed by web identity"));
        }
    }
    let granted = want.len();
    if web_identity.len() != granted {
        return Err(format!("{}: {} web identity roles, the program grants {granted}", env.name, web_identity.len()));
    }
    // The Kubernetes side: exactly the granted ServiceAccounts name exactly their roles.
    let got = role_annotations(files, &env.name);
    if got != annotations {
        return Err(format!("{}: ServiceAccount role annotations {got:?}, want {annotations:?}", env.name));
    }
    // IAM authentication on every instance.
    let instances = resources["aws_db_instance"].as_object().unwrap_or(&empty);
    for (name, db) in instances {
        if db["iam_database_authentication_enabled"] != true {
            return Err(format!("{}: aws_db_instance.{name} without IAM database authentication", env.name));
        }
    }
    Ok(checked)
}

/// Actions no workload role is ever granted: version deletes, governance bypass, retention
/// and legal hold changes, and any change to a bucket's own configuration or policy.
fn forbidden_on_objects(action: &str) -> bool {
    matches!(
        action,
        "s3:DeleteObjectVersion"
            | "s3:BypassGovernanceRetention"
            | "s3:PutObjectRetention"
            | "s3:PutObjectLegalHold"
            | "s3:DeleteBucket"
            | "s3:DeleteBucketPolicy"
            | "s3:PutBucketPolicy"
            | "s3:PutBucketObjectLockConfiguration"
            | "s3:PutBucketVersioning"
            | "s3:PutLifecycleConfiguration"
            | "s3:PutBucketPublicAccessBlock"
            | "s3:PutBucketOwnershipControls"
            | "s3:PutEncryptionConfiguration"
    )
}

/// Reads back every bucket of a cloud environment and compares it with the program:
/// exactly the program's buckets, each with its S3 name, Object Lock as declared (always
/// for evidence), the default retention, versioning, SSE-KMS with its own rotated key,
/// all four public access blocks, owner-enforced objects, and a policy that denies
/// non-TLS requests and allows nothing. Returns the number of buckets checked.
fn verify_buckets(env: &ir::Environment, files: &BTreeMap<String, String>) -> Result<usize, String> {
    let (resources, data) = merged(files, &env.name);
    let empty = serde_json::Map::new();
    let of = |ty: &str| resources[ty].as_object().cloned().unwrap_or_else(|| empty.clone());
    let buckets = of("aws_s3_bucket");
    let names: BTreeSet<&str> = buckets.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = env.resources.buckets.iter().map(|b| b.name.as_str()).collect();
    if names != want {
        return Err(format!("{}: buckets {names:?}, the program declares {want:?}", env.name));
    }
    for b in &env.resources.buckets {
        let id = &b.name;
        let what = format!("{}: bucket {id}", env.name);
        let body = &buckets[id];
        let bucket_ref = format!("${{aws_s3_bucket.{id}.id}}");
        if body["bucket"] != b.bucket_name.as_str() || body["object_lock_enabled"] != b.object_lock() {
            return Err(format!("{what}: {body}"));
        }
        if b.evidence && body["object_lock_enabled"] != true {
            return Err(format!("{what}: an evidence bucket without Object Lock"));
        }
        let versioning = &of("aws_s3_bucket_versioning")[id];
        if versioning["bucket"] != bucket_ref.as_str()
            || versioning["versioning_configuration"][0]["status"] != "Enabled"
        {
            return Err(format!("{what}: versioning {versioning}"));
        }
        let lock = of("aws_s3_bucket_object_lock_configuration").get(id).cloned();
        let want_lock = b.lock.and_then(|l| l.retention_days.map(|d| (l.mode.as_s3(), d)));
        let got_lock = lock.as_ref().map(|l| {
            let r = &l["rule"][0]["default_retention"][0];
            (r["mode"].as_str().unwrap_or_default().to_string(), r["days"].as_u64().unwrap_or_default())
        });
        if got_lock != want_lock.map(|(m, d)| (m.to_string(), u64::from(d))) {
            return Err(format!("{what}: default retention {got_lock:?}, want {want_lock:?}"));
        }
        let pab = &of("aws_s3_bucket_public_access_block")[id];
        for key in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] {
            if pab[key] != true || pab["bucket"] != bucket_ref.as_str() {
                return Err(format!("{what}: public access block {pab}"));
            }
        }
        let owner = &of("aws_s3_bucket_ownership_controls")[id];
        if owner["rule"][0]["object_ownership"] != "BucketOwnerEnforced" {
            return Err(format!("{what}: ownership {owner}"));
        }
        let sse = &of("aws_s3_bucket_server_side_encryption_configuration")[id]["rule"][0];
        let by_default = &sse["apply_server_side_encryption_by_default"][0];
        let key = format!("s3_{id}");
        if by_default["sse_algorithm"] != "aws:kms"
            || by_default["kms_master_key_id"] != format!("${{aws_kms_key.{key}.arn}}").as_str()
            || sse["bucket_key_enabled"] != true
            || of("aws_kms_key")[&key]["enable_key_rotation"] != true
        {
            return Err(format!("{what}: encryption {sse}"));
        }
        let policy = &of("aws_s3_bucket_policy")[id];
        let statements = statements(&data, &policy["policy"]);
        if statements.iter().any(|st| st["effect"] != "Deny") {
            return Err(format!("{what}: a bucket policy that allows something"));
        }
        let tls = statements.iter().any(|st| {
            st["condition"][0]["variable"] == "aws:SecureTransport"
                && st["condition"][0]["values"][0] == "false"
                && st["actions"] == serde_json::json!(["s3:*"])
        });
        if !tls {
            return Err(format!("{what}: the policy does not deny requests without TLS"));
        }
    }
    Ok(env.resources.buckets.len())
}

fn parse_yaml_all(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| {
            let yaml: serde_norway::Value = serde::Deserialize::deserialize(doc).expect("YAML");
            serde_norway::from_value(yaml).expect("JSON")
        })
        .collect()
}

/// The `eks.amazonaws.com/role-arn` of every ServiceAccount an overlay renders: from its
/// base and its own objects, then its patches (an `add` of the annotations or of the
/// one annotation).
fn role_annotations(files: &BTreeMap<String, String>, env: &str) -> BTreeMap<String, String> {
    let key = names::ROLE_ARN_ANNOTATION;
    let mut out = BTreeMap::new();
    for (path, text) in files {
        let in_scope = path.starts_with("kubernetes/base/") || path.starts_with(&format!("kubernetes/overlays/{env}/"));
        if in_scope && path.ends_with("/serviceaccounts.yaml") {
            for sa in parse_yaml_all(text) {
                if let Some(arn) = sa["metadata"]["annotations"][key].as_str() {
                    out.insert(str_of(&sa["metadata"]["name"]).to_string(), arn.to_string());
                }
            }
        }
    }
    let kustomization = &parse_yaml_all(&files[&format!("kubernetes/overlays/{env}/kustomization.yaml")])[0];
    for patch in kustomization["patches"].as_array().into_iter().flatten() {
        if patch["target"]["kind"] != "ServiceAccount" {
            continue;
        }
        let sa = str_of(&patch["target"]["name"]).to_string();
        for op in parse_yaml_all(str_of(&patch["patch"])).iter().flat_map(|d| d.as_array().cloned().unwrap_or_default())
        {
            let path = str_of(&op["path"]);
            let value = if path == "/metadata/annotations" {
                op["value"][key].as_str().map(str::to_string)
            } else if path == format!("/metadata/annotations/{}", key.replace('/', "~1")) {
                op["value"].as_str().map(str::to_string)
            } else {
                None
            };
            match (str_of(&op["op"]), value) {
                ("add" | "replace", Some(arn)) => {
                    out.insert(sa.clone(), arn);
                }
                ("remove", _) if path.starts_with("/metadata/annotations") => {
                    out.remove(&sa);
                }
                _ => {}
            }
        }
    }
    out
}

/// The pods of ServiceAccount `sa` are those of a `kind` (Deployment, Job) in the
/// environment's overlay or its base, and of nothing else.
fn pods_run_as(files: &BTreeMap<String, String>, env: &ir::Environment, kind: &str, sa: &str) -> Result<(), String> {
    let mut found = Vec::new();
    for (path, text) in files {
        let in_scope =
            path.starts_with("kubernetes/base/") || path.starts_with(&format!("kubernetes/overlays/{}/", env.name));
        if !in_scope || !(path.ends_with("/deployments.yaml") || path.ends_with("/jobs.yaml")) {
            continue;
        }
        for doc in serde_norway::Deserializer::from_str(text) {
            let yaml: serde_norway::Value = serde::Deserialize::deserialize(doc).expect("YAML");
            let d: Value = serde_norway::from_value(yaml).expect("JSON");
            if d["spec"]["template"]["spec"]["serviceAccountName"] == sa {
                found.push(d["kind"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    if found != [kind] {
        return Err(format!("the pods of ServiceAccount {sa} are {found:?}, want one {kind}"));
    }
    Ok(())
}

fn check_project(what: &str, program: &ir::Program, files: &BTreeMap<String, String>) -> usize {
    let mut checked = 0;
    for env in program.environments.iter().filter(|e| e.tier != Tier::Local) {
        checked += verify(&program.project, env, files).unwrap_or_else(|e| panic!("{what}: {e}"));
        verify_buckets(env, files).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    checked
}

#[test]
fn identities_of_the_reference_system_and_the_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (program, files) = compile(project(&root.join("envs"))).expect("envs/ builds");
    // staging and production: api and worker connect to main; production has a replica.
    assert_eq!(check_project("envs", &program, &files), 2 + (2 * 2) + 2 * 4);
    let mut examples = 0;
    for entry in std::fs::read_dir(root.join("examples")).expect("examples/").flatten() {
        if let Some((program, files)) = compile(project(&entry.path())) {
            check_project(&entry.path().display().to_string(), &program, &files);
            examples += 1;
        }
    }
    assert!(examples >= 1, "at least one example builds");
}

#[test]
fn identities_of_fleet_100() {
    let (program, files) = compile(govc_bench::fleet(100)).expect("fleet-100 builds");
    // Per cloud environment: 100 services × 1 instance (no replicas), one bootstrap (4).
    assert_eq!(check_project("fleet-100", &program, &files), 3 * (100 + 4));
}

/// `envs/` bent: a second database with two replicas that only the worker connects to, a
/// service with a `-` in its name that connects to both, and the web (no database): the
/// API must get nothing on `ledger`, the web no role at all.
#[test]
fn identities_of_a_bent_reference_system() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files: Vec<(String, String)> = project(&root.join("envs"))
        .into_iter()
        .map(|(path, text)| {
            let image = "  service audit-log { image = \"registry.zenthea.example/zenthea/audit@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"  replicas = 2 }\n";
            if path == "production.gov" || path == "staging.gov" {
                let protect = if path == "production.gov" { "    multi_az = true\n    deletion_protection = true\n" } else { "" };
                let ledger = format!("  postgres ledger {{\n    class = \"db.t4g.medium\"\n    replicas = 2\n{protect}  }}\n{image}  service web {{");
                return (path, text.replacen("  service web {", &ledger, 1));
            }
            if path == "local.gov" {
                let local = "  service audit-log { image = \"registry.zenthea.example/zenthea/audit:dev\" }\n  service web {";
                return (path, text.replacen("  service web {", local, 1));
            }
            if path != "stack.gov" {
                return (path, text);
            }
            let bent = text
                .replacen("  ## The single entry point.", "  postgres ledger { }\n  service audit-log {\n    port = 7000\n    connects = [main, ledger, main]\n  }\n\n  ## The single entry point.", 1)
                .replacen("connects = [main]\n    egress", "connects = [main, ledger]\n    egress", 1);
            (path, bent)
        })
        .collect();
    let (program, files) = compile(files).expect("the bent envs/ builds");
    check_project("bent envs", &program, &files);
    let production = program.environments.iter().find(|e| e.name == "production").expect("production");
    let want = expected(&program.project, production);
    assert!(!want.contains_key("service web"), "web connects to no database");
    let audit = &want["service audit-log"].grants;
    assert_eq!(audit.len(), 2 + 3, "main (writer + replica) and ledger (writer + 2 replicas), main once");
    assert!(audit.iter().all(|(_, arn)| arn.ends_with("/audit_log")));
    assert!(!want["service api"].grants.iter().any(|(_, arn)| arn.contains("ledger")));
}

/// The read-back fails on one grant too many, a widened trust, a managed policy, a role
/// the program does not grant, a missing role, or a ServiceAccount annotated with a role
/// the program does not grant it.
#[test]
fn the_identity_read_back_refuses_what_the_program_does_not_grant() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (program, files) = compile(project(&root.join("envs"))).expect("envs/ builds");
    let staging = program.environments.iter().find(|e| e.name == "staging").expect("staging");
    let path = "terraform/staging/identity.tf.json".to_string();
    assert!(verify(&program.project, staging, &files).is_ok());
    let bend = |f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_str(&files[&path]).expect("JSON");
        f(&mut v);
        let mut bent = files.clone();
        bent.insert(path.clone(), serde_json::to_string(&v).expect("JSON"));
        verify(&program.project, staging, &bent).expect_err("the read-back refuses it")
    };
    let worker = "/data/aws_iam_policy_document/policy_svc_worker/statement/0";
    let err = bend(&|v| {
        v.pointer_mut(&format!("{worker}/actions"))
            .expect("actions")
            .as_array_mut()
            .expect("array")
            .push("rds-db:*".into())
    });
    assert!(err.contains("beyond the program"), "{err}");
    let err = bend(&|v| {
        let arn = "arn:aws:rds-db:eu-west-1:222222222222:dbuser:${aws_db_instance.main.resource_id}/api";
        v.pointer_mut(&format!("{worker}/resources"))
            .expect("resources")
            .as_array_mut()
            .expect("array")
            .push(arn.into());
    });
    assert!(err.contains("beyond the program"), "{err}");
    let err = bend(&|v| {
        let statements = v.pointer_mut("/data/aws_iam_policy_document/policy_svc_api/statement").expect("statements");
        let extra = serde_json::json!({"actions": ["secretsmanager:GetSecretValue"], "effect": "Allow", "resources": ["*"], "sid": "More"});
        statements.as_array_mut().expect("array").push(extra);
    });
    assert!(err.contains("beyond the program"), "{err}");
    let err = bend(&|v| {
        let conditions =
            v.pointer_mut("/data/aws_iam_policy_document/assume_svc_api/statement/0/condition").expect("conditions");
        conditions.as_array_mut().expect("array").pop();
    });
    assert!(err.contains("trust conditions"), "{err}");
    let err = bend(&|v| {
        let sub = "/data/aws_iam_policy_document/assume_svc_api/statement/0/condition/1/values/0";
        *v.pointer_mut(sub).expect("sub") = "system:serviceaccount:zenthea-staging:*".into();
    });
    assert!(err.contains("trust conditions"), "{err}");
    let err = bend(&|v| {
        let att = serde_json::json!({"policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "role": "${aws_iam_role.svc_api.name}"});
        v["resource"]["aws_iam_role_policy_attachment"] = serde_json::json!({"svc_api_0": att});
    });
    assert!(err.contains("managed policy attachment"), "{err}");
    let err = bend(&|v| {
        let mut web = v["resource"]["aws_iam_role"]["svc_api"].clone();
        web["name"] = "zenthea-staging-svc-web".into();
        v["resource"]["aws_iam_role"]["svc_web"] = web;
    });
    assert!(err.contains("web identity roles"), "{err}");
    let err = bend(&|v| {
        v["resource"]["aws_iam_role"].as_object_mut().expect("roles").remove("svc_worker");
    });
    assert!(err.contains("no role named"), "{err}");
    // The Kubernetes side: a role annotation on a ServiceAccount the program grants nothing.
    let mut bent = files.clone();
    let base = "kubernetes/base/serviceaccounts.yaml".to_string();
    let annotated = bent[&base].replacen(
        "  name: web\n",
        "  name: web\n  annotations:\n    eks.amazonaws.com/role-arn: \"arn:aws:iam::222222222222:role/zenthea-staging-svc-api\"\n",
        1,
    );
    assert_ne!(annotated, bent[&base], "the base has the ServiceAccount web");
    bent.insert(base, annotated);
    let err = verify(&program.project, staging, &bent).expect_err("an annotation the program does not grant");
    assert!(err.contains("role annotations"), "{err}");
}

/// `tests/cases/storage/evidence_store`: `envs/` with two buckets, `evidence` (evidence,
/// compliance lock in production and staging, none locally) that only the API connects
/// to, and `uploads` that the worker and `archiver` (no database: a role for its bucket
/// alone) connect to. Each gets exactly its bucket's grants
/// (write-once on evidence), the web nothing; then the read-back refuses a delete on
/// evidence, a governance bypass, a grant on the other bucket and a public bucket.
pub(super) fn envs_with_buckets() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = project(&root.join("tests/cases/storage/evidence_store"));
    let stack = files.iter().find(|(p, _)| p == "stack.gov").expect("a stack");
    assert!(stack.1.contains("connects = [uploads]"), "the archiver connects to uploads only");
    files
}

#[test]
fn identities_with_buckets() {
    let (program, files) = compile(envs_with_buckets()).expect("envs/ with buckets builds");
    check_project("envs + buckets", &program, &files);
    let staging = program.environments.iter().find(|e| e.name == "staging").expect("staging");
    let want = expected(&program.project, staging);
    assert!(!want.contains_key("service web"), "web connects to no database and no bucket");
    let api = &want["service api"].grants;
    assert!(api.iter().any(|(a, r)| a == "s3:PutObject" && r == "${aws_s3_bucket.evidence.arn}/*"));
    assert!(!api.iter().any(|(a, _)| a.starts_with("s3:Delete")), "write-once on evidence");
    assert!(!api.iter().any(|(_, r)| r.contains("uploads")), "the API does not connect to uploads");
    let worker = &want["service worker"].grants;
    assert!(worker.iter().any(|(a, r)| a == "s3:DeleteObject" && r == "${aws_s3_bucket.uploads.arn}/*"));
    assert!(!worker.iter().any(|(_, r)| r.contains("evidence")));
    // A service whose only grant is its bucket still gets its own role (and STS, flows).
    let archiver = &want["service archiver"].grants;
    assert_eq!(archiver.len(), 3 + 6 + 3, "list, objects with delete, key");
    assert!(archiver.iter().all(|(_, r)| r.contains("uploads")));
    assert_eq!(verify_buckets(staging, &files), Ok(2));
    // Per environment: main's bootstrap (4); api: main's instances + evidence (3 + 7 + 3);
    // worker: main's instances + uploads (3 + 6 + 3); archiver: uploads (12). Staging has
    // one instance of main, production two.
    assert_eq!(
        check_project("envs + buckets", &program, &files),
        (4 + 1 + 13 + 1 + 12 + 12) + (4 + 2 + 13 + 2 + 12 + 12)
    );
    // The bucket's name is the one the API reads.
    let name = &staging.resources.bucket("evidence").expect("evidence").bucket_name;
    assert_eq!(name, "zenthea-staging-evidence-222222222222");
    let api_svc = staging.resources.service("api").expect("api");
    assert!(api_svc
        .env
        .iter()
        .any(|v| v.key == "EVIDENCE_BUCKET"
            && matches!(&v.value, ir::EnvValue::Attribute { value, .. } if value == name)));

    let identity = "terraform/staging/identity.tf.json".to_string();
    let storage = "terraform/staging/storage.tf.json".to_string();
    let bend = |path: &String, f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_str(&files[path]).expect("JSON");
        f(&mut v);
        let mut bent = files.clone();
        bent.insert(path.clone(), serde_json::to_string(&v).expect("JSON"));
        bent
    };
    let push_action = |action: &'static str| {
        move |v: &mut Value| {
            let statements =
                v.pointer_mut("/data/aws_iam_policy_document/policy_svc_api/statement").expect("statements");
            let objects = statements
                .as_array_mut()
                .expect("array")
                .iter_mut()
                .find(|s| s["sid"] == "ObjectsEvidence")
                .expect("the evidence objects statement");
            objects["actions"].as_array_mut().expect("actions").push(action.into());
        }
    };
    for action in ["s3:DeleteObject", "s3:BypassGovernanceRetention", "s3:PutObjectRetention"] {
        let err = verify(&program.project, staging, &bend(&identity, &push_action(action))).expect_err(action);
        assert!(err.contains("which no workload ever gets") || err.contains("evidence bucket"), "{action}: {err}");
    }
    let err = verify(
        &program.project,
        staging,
        &bend(&identity, &|v| {
            let statements = v.pointer_mut("/data/aws_iam_policy_document/policy_svc_api/statement").expect("statements");
            let extra = serde_json::json!({"actions": ["s3:GetObject"], "effect": "Allow", "resources": ["${aws_s3_bucket.uploads.arn}/*"], "sid": "More"});
            statements.as_array_mut().expect("array").push(extra);
        }),
    )
    .expect_err("a grant on a bucket the API does not connect to");
    assert!(err.contains("beyond the program"), "{err}");
    let err = verify_buckets(
        staging,
        &bend(&storage, &|v| {
            v["resource"]["aws_s3_bucket_public_access_block"]["uploads"]["block_public_policy"] = false.into()
        }),
    )
    .expect_err("a public bucket");
    assert!(err.contains("public access block"), "{err}");
    let err = verify_buckets(
        staging,
        &bend(&storage, &|v| v["resource"]["aws_s3_bucket"]["evidence"]["object_lock_enabled"] = false.into()),
    )
    .expect_err("evidence without Object Lock");
    assert!(err.contains("bucket evidence"), "{err}");
    let err = verify_buckets(
        staging,
        &bend(&storage, &|v| {
            let st = v.pointer_mut("/data/aws_iam_policy_document/bucket_uploads/statement/0/effect").expect("effect");
            *st = "Allow".into();
        }),
    )
    .expect_err("a bucket policy that allows");
    assert!(err.contains("allows something"), "{err}");
}
