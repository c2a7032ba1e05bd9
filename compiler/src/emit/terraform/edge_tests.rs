//! The edge resources read back from the emitted Terraform JSON: the controller's role
//! and policy against the vendored upstream policy, the CI access entry, the DNS records.

use std::collections::BTreeSet;

use serde_json::Value;

use super::edge::{controller_policy, CI_ACCESS_POLICY, CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT};
use super::emit;
use super::tests::{zenthea, CI_ROLE, HOSTED_ZONE};
use crate::emit::registries::{self, Upstream};
use crate::emit::{names, versions};

fn parse(files: &std::collections::BTreeMap<String, String>, path: &str) -> Value {
    serde_json::from_str(files.get(path).unwrap_or_else(|| panic!("{path} emitted"))).expect("valid JSON")
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_controller_policy_is_upstream_tightened_to_its_cluster() {
    let files = emit(&zenthea()).expect("emits");
    let compute = parse(&files, "terraform/production/compute.tf.json");
    let policy = &compute["resource"]["aws_iam_role_policy"]["aws_load_balancer_controller"];
    assert_eq!(policy["role"], "${aws_iam_role.aws_load_balancer_controller.id}");
    let text = policy["policy"].as_str().expect("a policy document");
    assert!(text.len() < 10_240, "an inline role policy holds at most 10,240 characters: {}", text.len());
    let doc: Value = serde_json::from_str(text).expect("policy JSON");
    let statements = doc["Statement"].as_array().expect("statements");
    let upstream: Value = serde_json::from_str(versions::AWS_LOAD_BALANCER_CONTROLLER_IAM_POLICY).expect("upstream");
    let granted: BTreeSet<String> = statements.iter().flat_map(actions).collect();
    let offered: BTreeSet<String> =
        upstream["Statement"].as_array().expect("upstream").iter().flat_map(actions).collect();
    let removed: BTreeSet<&str> = offered.difference(&granted).map(String::as_str).collect();
    assert!(granted.is_subset(&offered), "nothing beyond upstream");
    for action in &removed {
        assert!(
            [
                "waf-regional:",
                "wafv2:",
                "shield:",
                "cognito-idp:",
                "iam:ListServerCertificates",
                "iam:GetServerCertificate",
                "elasticloadbalancing:SetWebAcl"
            ]
            .iter()
            .any(|p| action.starts_with(p)),
            "only actions the controller's flags and govc's annotations never use are dropped: {action}"
        );
    }
    assert!(granted.contains("elasticloadbalancing:CreateLoadBalancer") && granted.contains("acm:DescribeCertificate"));
    for st in statements {
        let acts = actions(st);
        let unconditioned = st.get("Condition").is_none();
        assert!(
            !(unconditioned && acts.iter().any(|a| a == "ec2:AuthorizeSecurityGroupIngress")),
            "rule changes only on groups tagged with this cluster: {st}"
        );
        let condition = st["Condition"].to_string();
        assert!(!condition.contains(r#""aws:ResourceTag/elbv2.k8s.aws/cluster":"false""#), "{condition}");
        assert!(!condition.contains(r#""aws:RequestTag/elbv2.k8s.aws/cluster":"false""#), "{condition}");
        if condition.contains("elbv2.k8s.aws/cluster") {
            for (key, value) in st["Condition"]["StringEquals"].as_object().into_iter().flatten() {
                if key.ends_with("elbv2.k8s.aws/cluster") {
                    assert_eq!(value, "zenthea-production");
                }
            }
        }
        assert!(!st["Resource"].to_string().contains(":*:*:"), "ARNs name the region and account: {st}");
    }
    // Every upstream tag condition survived, now as equality.
    let equal =
        statements.iter().filter(|st| st["Condition"]["StringEquals"].to_string().contains("elbv2.k8s.aws/cluster"));
    assert_eq!(equal.count(), 7);
    // The same function, asked directly, agrees with the file.
    assert_eq!(controller_policy("zenthea-production", "eu-west-1", "123456789012").expect("policy"), doc);
    let association = &compute["resource"]["aws_eks_pod_identity_association"]["aws_load_balancer_controller"];
    assert_eq!(association["namespace"], CONTROLLER_NAMESPACE);
    assert_eq!(association["service_account"], CONTROLLER_SERVICE_ACCOUNT);
    assert_eq!(association["role_arn"], "${aws_iam_role.aws_load_balancer_controller.arn}");
    let trust = &compute["data"]["aws_iam_policy_document"]["assume_aws_load_balancer_controller"]["statement"][0];
    assert_eq!(trust["principals"][0]["identifiers"][0], "pods.eks.amazonaws.com");
    let cert_manager = &compute["resource"]["aws_eks_addon"]["cert_manager"];
    assert_eq!(cert_manager["addon_name"], "cert-manager");
    // The image comes through the environment's pull-through cache of ECR Public, and the
    // nodes may create and fill only the caches' repositories.
    let cache = registries::cache_prefix("zenthea", "production", Upstream::EcrPublic);
    let rule = &compute["resource"]["aws_ecr_pull_through_cache_rule"]["ecr_public"];
    assert_eq!(rule["ecr_repository_prefix"], cache.as_str());
    assert_eq!(rule["upstream_registry_url"], "public.ecr.aws");
    let pull = &compute["data"]["aws_iam_policy_document"]["policy_eks_nodes_pull_through"]["statement"][0];
    let expected: Vec<String> = registries::upstreams(&zenthea().environments[2])
        .into_iter()
        .map(|up| {
            let cache = registries::cache_prefix("zenthea", "production", up);
            format!("arn:aws:ecr:eu-west-1:123456789012:repository/{cache}/*")
        })
        .collect();
    assert_eq!(pull["resources"], serde_json::json!(expected));
    assert_eq!(
        compute["resource"]["aws_iam_role_policy"]["eks_nodes_pull_through"]["role"],
        "${aws_iam_role.eks_nodes.id}"
    );
}

#[test]
fn the_ci_role_gets_an_access_entry_only_where_declared() {
    let files = emit(&zenthea()).expect("emits");
    let prod = parse(&files, "terraform/production/compute.tf.json");
    let entry = &prod["resource"]["aws_eks_access_entry"]["ci"];
    assert_eq!(entry["principal_arn"], CI_ROLE);
    assert_eq!(entry["type"], "STANDARD");
    let association = &prod["resource"]["aws_eks_access_policy_association"]["ci"];
    assert_eq!(association["policy_arn"], CI_ACCESS_POLICY);
    assert_eq!(association["access_scope"]["type"], "cluster");
    assert_eq!(association["principal_arn"], "${aws_eks_access_entry.ci.principal_arn}");
    assert_eq!(prod["resource"]["aws_eks_cluster"]["main"]["access_config"]["authentication_mode"], "API");
    let staging = parse(&files, "terraform/staging/compute.tf.json");
    assert!(staging["resource"]["aws_eks_access_entry"].is_null(), "staging declares no ci block");
}

#[test]
fn a_declared_zone_validates_the_certificate_and_aliases_the_host() {
    let program = zenthea();
    let files = emit(&program).expect("emits");
    let prod = parse(&files, "terraform/production/ingress.tf.json");
    let resources = &prod["resource"];
    let validation = &resources["aws_route53_record"]["certificate_validation"];
    assert_eq!(validation["zone_id"], HOSTED_ZONE);
    assert_eq!(
        validation["name"],
        "${tolist(aws_acm_certificate.ingress.domain_validation_options)[0].resource_record_name}"
    );
    assert_eq!(
        resources["aws_acm_certificate_validation"]["ingress"]["validation_record_fqdns"][0],
        "${aws_route53_record.certificate_validation.fqdn}"
    );
    let alias = &resources["aws_route53_record"]["ingress"];
    assert_eq!(alias["name"], "app.zenthea.com");
    assert_eq!(alias["type"], "A");
    assert_eq!(alias["count"], "${var.load_balancer_ready ? 1 : 0}");
    assert_eq!(alias["alias"]["name"], "${data.aws_lb.ingress[0].dns_name}");
    let lb = &prod["data"]["aws_lb"]["ingress"];
    assert_eq!(lb["count"], "${var.load_balancer_ready ? 1 : 0}", "no AWS read in the default (offline) plan");
    assert_eq!(lb["name"], names::load_balancer_name("zenthea", "production"), "the Ingress's load-balancer-name");
    assert_eq!(prod["variable"]["load_balancer_ready"]["default"], false);

    let staging = parse(&files, "terraform/staging/ingress.tf.json");
    assert!(staging["resource"]["aws_route53_record"].is_null(), "no zone: nothing in Route 53");
    assert!(staging["resource"]["aws_acm_certificate_validation"].is_null());
    assert_eq!(staging["output"]["load_balancer"]["value"]["name"], names::load_balancer_name("zenthea", "staging"));
    let outputs = parse(&files, "terraform/staging/outputs.tf.json");
    assert!(outputs["output"]["certificate_validation_records"].is_object(), "the records to create by hand");
}

/// Every image of a public registry in a cloud environment's Kubernetes trees (the load
/// balancer controller, the External Secrets operator, the Cluster Autoscaler, the
/// database bootstrap Jobs) is pulled through the environment's own cache of that
/// registry; Terraform creates exactly the cache rules those images use, the one that
/// needs credentials with its secret: also in an environment without an ingress.
#[test]
fn public_images_come_through_the_environments_caches() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let envs = crate::emit::flow_tests::project(&root.join("envs"));
    let (mut program, _) = crate::emit::flow_tests::compile(envs).expect("envs/ builds");
    for env in &mut program.environments {
        if env.name == "staging" {
            env.resources.ingresses.clear();
        }
    }
    let terraform = emit(&program).expect("emits");
    let kubernetes = crate::emit::kustomize::emit(&program).expect("emits");
    for env in program.environments.iter().filter(|e| e.tier != crate::ir::Tier::Local) {
        let aws = env.aws.as_ref().expect("aws");
        let ecr = format!(
            "{}.dkr.ecr.{}.amazonaws.com/",
            aws.account.as_deref().expect("account"),
            aws.region.as_deref().expect("region")
        );
        let trees = [format!("kubernetes/overlays/{}/", env.name), format!("kubernetes/platform/{}/", env.name)];
        let mut used = std::collections::BTreeSet::new();
        for (path, text) in kubernetes.iter().filter(|(p, _)| trees.iter().any(|t| p.starts_with(t.as_str()))) {
            for line in text.lines().map(str::trim) {
                let image = line.strip_prefix("image: ").or_else(|| line.strip_prefix("newName: "));
                let Some(image) = image.map(|i| i.trim_matches('"')) else { continue };
                assert!(Upstream::of(image).is_none(), "{path}: {image} bypasses the caches");
                for up in [Upstream::EcrPublic, Upstream::Kubernetes, Upstream::GitHub] {
                    let cache = registries::cache_prefix(&program.project, &env.name, up);
                    if image.starts_with(&format!("{ecr}{cache}/")) {
                        used.insert(up);
                    }
                }
            }
        }
        assert!(used.contains(&Upstream::Kubernetes), "{}: the Cluster Autoscaler runs everywhere", env.name);
        assert!(used.contains(&Upstream::GitHub), "{}: envs/ has secrets, so the operator runs", env.name);
        assert_eq!(used, registries::upstreams(env), "{}: the rules Terraform creates", env.name);
        let compute = parse(&terraform, &format!("terraform/{}/compute.tf.json", env.name));
        let rules = compute["resource"]["aws_ecr_pull_through_cache_rule"].as_object().expect("rules");
        assert_eq!(rules.len(), used.len(), "{}: no rule without an image", env.name);
        for up in used {
            let rule = &rules[up.ident()];
            assert_eq!(rule["upstream_registry_url"], up.host(), "{}", env.name);
            let secret = &compute["resource"]["aws_secretsmanager_secret"][format!("{}_cache", up.ident())];
            if up.needs_credentials() {
                assert_eq!(rule["credential_arn"], format!("${{aws_secretsmanager_secret.{}_cache.arn}}", up.ident()));
                let name = secret["name"].as_str().expect("secret name");
                assert!(name.starts_with("ecr-pullthroughcache/"), "ECR requires the prefix: {name}");
            } else {
                assert!(rule["credential_arn"].is_null() && secret.is_null(), "{}", env.name);
            }
        }
    }
}
